//! The name verdict: does the certificate cover the name the client asked for?
//!
//! Follows RFC 6125 §6.4 as current clients apply it:
//! - dNSName SANs are the reference identities; the subject CN is used only when the
//!   certificate has no dNSName SAN at all (and the verdict says browsers reject that);
//! - a wildcard is valid only as the whole leftmost label, matches exactly one label and
//!   never the apex; at least two labels must follow it;
//! - comparison is case-insensitive, ignores one trailing dot, IDNs compare as A-labels;
//! - an IP address matches only iPAddress SANs.

use std::net::IpAddr;

use crate::parse::CertInfo;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Match,
    Mismatch,
    Unverified,
    NoName,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::Mismatch => "mismatch",
            Verdict::Unverified => "unverified",
            Verdict::NoName => "no_name",
        }
    }
}

/// Lower-case, one trailing dot removed, IDN to A-labels. `None` when not a valid name.
pub fn normalize(name: &str) -> Option<String> {
    let n = name.strip_suffix('.').unwrap_or(name);
    if n.is_empty() || n.ends_with('.') {
        return None;
    }
    if n.is_ascii() {
        return Some(n.to_ascii_lowercase());
    }
    idna::domain_to_ascii(n).ok()
}

/// How a presented dNSName relates to the reference name.
enum Fit {
    Exact,
    Wildcard,
    /// A wildcard that would cover the name but for a rule; the rule is named.
    WildcardRule(&'static str),
    No,
}

fn fit(reference: &str, presented: &str) -> Fit {
    let Some(p) = normalize(presented) else {
        return Fit::No;
    };
    if p == reference {
        return Fit::Exact;
    }
    if !p.contains('*') {
        return Fit::No;
    }
    let (first, rest) = match p.split_once('.') {
        Some(x) => x,
        None => return Fit::No,
    };
    let covers_shape = reference.ends_with(&format!(".{rest}"));
    if first != "*" || rest.contains('*') {
        // Partial-label (f*.example.com) or non-leftmost wildcards.
        if rest.contains('*')
            || covers_shape
            || wildcard_label_matches(first, reference.split('.').next().unwrap_or(""))
        {
            return Fit::WildcardRule("a wildcard is valid only as the whole leftmost label");
        }
        return Fit::No;
    }
    if rest.split('.').count() < 2 {
        if reference.ends_with(&format!(".{rest}")) || reference == rest {
            return Fit::WildcardRule("a wildcard needs at least two labels after it");
        }
        return Fit::No;
    }
    if reference == rest {
        return Fit::WildcardRule("a wildcard never covers the apex");
    }
    match reference.strip_suffix(&format!(".{rest}")) {
        Some(label) if !label.is_empty() && !label.contains('.') => Fit::Wildcard,
        Some(label) if !label.is_empty() => {
            Fit::WildcardRule("a wildcard matches exactly one label")
        }
        _ => Fit::No,
    }
}

/// `f*` against a label, to explain partial wildcards.
fn wildcard_label_matches(pattern: &str, label: &str) -> bool {
    match pattern.split_once('*') {
        Some((pre, post)) => {
            label.len() >= pre.len() + post.len() && label.starts_with(pre) && label.ends_with(post)
        }
        None => false,
    }
}

fn list(names: &[String], max: usize) -> String {
    let mut s: Vec<String> = names.iter().take(max).cloned().collect();
    if names.len() > max {
        s.push(format!("+{} more", names.len() - max));
    }
    s.join(", ")
}

/// Decides whether `cert` covers `name`. `source` is how the name is introduced in the
/// reason ("SNI", "DNS name", "Host").
pub fn check(source: &str, name: &str, cert: &CertInfo) -> (Verdict, String) {
    if let Ok(ip) = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return check_ip(source, ip, cert);
    }
    let Some(reference) = normalize(name) else {
        return (
            Verdict::Mismatch,
            format!("{source} {name:?} is not a valid host name"),
        );
    };
    if !cert.san_dns.is_empty() {
        let mut rule: Option<(&String, &'static str)> = None;
        for p in &cert.san_dns {
            match fit(&reference, p) {
                Fit::Exact => return (Verdict::Match, format!("{source} {name} matches SAN {p}")),
                Fit::Wildcard => {
                    return (
                        Verdict::Match,
                        format!("{source} {name} matches wildcard SAN {p}"),
                    )
                }
                Fit::WildcardRule(r) => {
                    rule.get_or_insert((p, r));
                }
                Fit::No => {}
            }
        }
        let why = match rule {
            Some((p, r)) => format!("{source} {name} not covered by {p} ({r})"),
            None => format!(
                "{source} {name} not covered by the certificate's names ({})",
                list(&cert.san_dns, 4)
            ),
        };
        return (Verdict::Mismatch, why);
    }
    match &cert.subject_cn {
        Some(cn) => match fit(&reference, cn) {
            Fit::Exact | Fit::Wildcard => (
                Verdict::Match,
                format!(
                    "{source} {name} matches only the subject CN {cn}: the certificate has no DNS SAN, which current browsers reject"
                ),
            ),
            Fit::WildcardRule(r) => (
                Verdict::Mismatch,
                format!("{source} {name} not covered by CN {cn} ({r}; the certificate has no DNS SAN)"),
            ),
            Fit::No => (
                Verdict::Mismatch,
                format!(
                    "{source} {name} not covered by CN {cn} (the certificate has no subjectAltName{})",
                    if cert.self_signed { " and is self-signed" } else { "" }
                ),
            ),
        },
        None => (
            Verdict::Mismatch,
            format!("{source} {name} not covered: the certificate names no host (no DNS SAN, no CN)"),
        ),
    }
}

fn check_ip(source: &str, ip: IpAddr, cert: &CertInfo) -> (Verdict, String) {
    let ips = cert.ip_sans();
    if ips.contains(&ip) {
        return (Verdict::Match, format!("{source} {ip} matches IP SAN {ip}"));
    }
    let listed = if cert.san_ip.is_empty() {
        "the certificate has no IP SAN".to_string()
    } else {
        format!("its IP SANs are {}", list(&cert.san_ip, 4))
    };
    (
        Verdict::Mismatch,
        format!("{source} {ip} is an IP address, which only an IP SAN can match; {listed}"),
    )
}

#[cfg(test)]
#[path = "names/tests.rs"]
mod tests;
