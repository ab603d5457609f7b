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
    /// A wildcard that would cover the name but for a rule.
    WildcardRule(WildcardRule),
    No,
}

/// The rule that keeps a wildcard from covering a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WildcardRule {
    /// Valid only as the whole leftmost label (`f*.example.com`, `www.*.com`).
    LeftmostOnly,
    /// At least two labels must follow it (`*.com`).
    TwoLabelsAfter,
    /// It never covers the apex (`*.example.com` for `example.com`).
    NeverApex,
    /// It matches exactly one label.
    OneLabel,
}

/// How the certificate relates to the name the client asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameFit {
    /// A dNSName SAN equals the name.
    San(String),
    /// A wildcard dNSName SAN covers the name.
    WildcardSan(String),
    /// A wildcard SAN would cover it but for a rule.
    SanRule(String, WildcardRule),
    /// No SAN covers it; the certificate's dNSName SANs.
    NotInSans(Vec<String>),
    /// No dNSName SAN; the subject CN covers it (browsers reject this).
    CnOnly(String),
    /// No dNSName SAN; a wildcard CN would cover it but for a rule.
    CnRule(String, WildcardRule),
    /// No dNSName SAN and the CN does not cover it (`has_san`: there is a subjectAltName,
    /// with no DNS name in it).
    NotCn {
        cn: String,
        self_signed: bool,
        has_san: bool,
    },
    /// No dNSName SAN and no CN.
    NoHostNames,
    /// The name asked for is not a valid host name.
    InvalidName,
    /// The name is an IP address that an IP SAN carries.
    IpSan(IpAddr),
    /// The name is an IP address and no IP SAN carries it; the certificate's IP SANs.
    IpNotInSans(IpAddr, Vec<String>),
    /// The name is an IP address that the certificate writes as a dNSName, which never
    /// matches an address (only an iPAddress SAN does).
    IpAsDnsName(IpAddr),
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
            return Fit::WildcardRule(WildcardRule::LeftmostOnly);
        }
        return Fit::No;
    }
    if rest.split('.').count() < 2 {
        if reference.ends_with(&format!(".{rest}")) || reference == rest {
            return Fit::WildcardRule(WildcardRule::TwoLabelsAfter);
        }
        return Fit::No;
    }
    if reference == rest {
        return Fit::WildcardRule(WildcardRule::NeverApex);
    }
    match reference.strip_suffix(&format!(".{rest}")) {
        Some(label) if !label.is_empty() && !label.contains('.') => Fit::Wildcard,
        Some(label) if !label.is_empty() => Fit::WildcardRule(WildcardRule::OneLabel),
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

/// Decides whether `cert` covers `name`.
pub fn check(name: &str, cert: &CertInfo) -> (Verdict, NameFit) {
    if let Ok(ip) = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return check_ip(ip, cert);
    }
    let Some(reference) = normalize(name) else {
        return (Verdict::Mismatch, NameFit::InvalidName);
    };
    // A name a client asks for is a host name (RFC 6066's HostName): letters, digits,
    // hyphens and dots (underscores, which real names carry). A wildcard is a pattern a
    // certificate presents, never a name asked: `*.example.com` asked is not "covered" by
    // `*.example.com`, nor `<img src=x>.example.com` by it.
    if !reference
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        return (Verdict::Mismatch, NameFit::InvalidName);
    }
    if !cert.san_dns.is_empty() {
        let mut rule: Option<(&String, WildcardRule)> = None;
        for p in &cert.san_dns {
            match fit(&reference, p) {
                Fit::Exact => return (Verdict::Match, NameFit::San(p.clone())),
                Fit::Wildcard => return (Verdict::Match, NameFit::WildcardSan(p.clone())),
                Fit::WildcardRule(r) => {
                    rule.get_or_insert((p, r));
                }
                Fit::No => {}
            }
        }
        let why = match rule {
            Some((p, r)) => NameFit::SanRule(p.clone(), r),
            None => NameFit::NotInSans(cert.san_dns.clone()),
        };
        return (Verdict::Mismatch, why);
    }
    match &cert.subject_cn {
        Some(cn) => match fit(&reference, cn) {
            Fit::Exact | Fit::Wildcard => (Verdict::Match, NameFit::CnOnly(cn.clone())),
            Fit::WildcardRule(r) => (Verdict::Mismatch, NameFit::CnRule(cn.clone(), r)),
            Fit::No => (
                Verdict::Mismatch,
                NameFit::NotCn {
                    cn: cn.clone(),
                    self_signed: cert.self_signed,
                    has_san: cert.has_san,
                },
            ),
        },
        None => (Verdict::Mismatch, NameFit::NoHostNames),
    }
}

/// The certificate names `ip`: as an iPAddress SAN, or (never matching) as a dNSName.
pub fn names_address(ip: IpAddr, cert: &CertInfo) -> bool {
    cert.ip_sans().contains(&ip) || dns_name_is(ip, cert)
}

fn dns_name_is(ip: IpAddr, cert: &CertInfo) -> bool {
    cert.san_dns.iter().any(|n| {
        n.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            == Ok(ip)
    })
}

fn check_ip(ip: IpAddr, cert: &CertInfo) -> (Verdict, NameFit) {
    if cert.ip_sans().contains(&ip) {
        return (Verdict::Match, NameFit::IpSan(ip));
    }
    if dns_name_is(ip, cert) {
        return (Verdict::Mismatch, NameFit::IpAsDnsName(ip));
    }
    (
        Verdict::Mismatch,
        NameFit::IpNotInSans(ip, cert.san_ip.clone()),
    )
}

#[cfg(test)]
#[path = "names/tests.rs"]
mod tests;
