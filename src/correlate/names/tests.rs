//! The verdict table: every rule of RFC 6125 §6.4 as probewatch applies it.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;

/// The verdict and the reason as the report writes it.
fn check_text(label: &str, name: &str, c: &CertInfo) -> (Verdict, String) {
    let (v, fit) = check(name, c);
    (v, crate::report::text::name_fit(label, name, &fit))
}

fn cert(cn: Option<&str>, dns: &[&str], ips: &[&str]) -> CertInfo {
    CertInfo {
        subject_cn: cn.map(str::to_string),
        san_dns: dns.iter().map(|s| s.to_string()).collect(),
        san_ip: ips.iter().map(|s| s.to_string()).collect(),
        ..CertInfo::default()
    }
}

/// (name, CN, SAN dNSNames, SAN IPs, expected verdict, a piece the reason must contain)
type Case = (
    &'static str,
    Option<&'static str>,
    &'static [&'static str],
    &'static [&'static str],
    Verdict,
    &'static str,
);

const M: Verdict = Verdict::Match;
const X: Verdict = Verdict::Mismatch;

const CASES: &[Case] = &[
    // exact names
    (
        "domain.com",
        None,
        &["domain.com"],
        &[],
        M,
        "matches SAN domain.com",
    ),
    (
        "www.domain.com",
        None,
        &["domain.com", "www.domain.com"],
        &[],
        M,
        "matches SAN www.domain.com",
    ),
    (
        "domain.com",
        None,
        &["www.domain.com"],
        &[],
        X,
        "not covered by the certificate's names (www.domain.com)",
    ),
    (
        "mail.domain.com",
        None,
        &["domain.com"],
        &[],
        X,
        "not covered",
    ),
    // case, trailing dot
    ("Domain.COM", None, &["domain.com"], &[], M, "matches SAN"),
    ("domain.com", None, &["DOMAIN.com"], &[], M, "matches SAN"),
    ("domain.com.", None, &["domain.com"], &[], M, "matches SAN"),
    ("domain.com", None, &["domain.com."], &[], M, "matches SAN"),
    (
        "domain.com..",
        None,
        &["domain.com"],
        &[],
        X,
        "not a valid host name",
    ),
    // wildcards: one label, leftmost, never the apex
    (
        "a.domain.com",
        None,
        &["*.domain.com"],
        &[],
        M,
        "matches wildcard SAN *.domain.com",
    ),
    (
        "autodiscover.domain.com",
        None,
        &["*.domain.com"],
        &[],
        M,
        "wildcard",
    ),
    (
        "domain.com",
        None,
        &["*.domain.com"],
        &[],
        X,
        "not covered by *.domain.com (a wildcard never covers the apex)",
    ),
    (
        "a.b.domain.com",
        None,
        &["*.domain.com"],
        &[],
        X,
        "(a wildcard matches exactly one label)",
    ),
    ("A.Domain.Com", None, &["*.DOMAIN.COM"], &[], M, "wildcard"),
    ("a.domain.com.", None, &["*.domain.com"], &[], M, "wildcard"),
    (
        "foo.domain.com",
        None,
        &["f*.domain.com"],
        &[],
        X,
        "a wildcard is valid only as the whole leftmost label",
    ),
    (
        "foo.domain.com",
        None,
        &["*oo.domain.com"],
        &[],
        X,
        "whole leftmost label",
    ),
    (
        "a.b.domain.com",
        None,
        &["a.*.domain.com"],
        &[],
        X,
        "whole leftmost label",
    ),
    (
        "a.b.com",
        None,
        &["*.*.com"],
        &[],
        X,
        "whole leftmost label",
    ),
    (
        "example.com",
        None,
        &["*.com"],
        &[],
        X,
        "at least two labels after it",
    ),
    (
        "com",
        None,
        &["*.com"],
        &[],
        X,
        "at least two labels after it",
    ),
    (
        "a.other.com",
        None,
        &["*.domain.com"],
        &[],
        X,
        "not covered by the certificate's names",
    ),
    (
        "domain.com",
        None,
        &["*.domain.com", "domain.com"],
        &[],
        M,
        "matches SAN domain.com",
    ),
    (
        "x.domain.com",
        None,
        &["www.domain.com", "*.domain.com"],
        &[],
        M,
        "wildcard",
    ),
    (
        "bdomain.com",
        None,
        &["*.domain.com"],
        &[],
        X,
        "not covered",
    ),
    // CN only when there is no DNS SAN at all
    (
        "exch01",
        Some("EXCH01"),
        &[],
        &[],
        M,
        "matches only the subject CN EXCH01",
    ),
    (
        "domain.com",
        Some("EXCH01"),
        &[],
        &[],
        X,
        "not covered by CN EXCH01 (the certificate has no subjectAltName",
    ),
    (
        "domain.com",
        Some("domain.com"),
        &[],
        &[],
        M,
        "current browsers reject",
    ),
    (
        "a.domain.com",
        Some("*.domain.com"),
        &[],
        &[],
        M,
        "matches only the subject CN",
    ),
    (
        "domain.com",
        Some("*.domain.com"),
        &[],
        &[],
        X,
        "a wildcard never covers the apex; the certificate has no DNS SAN",
    ),
    (
        "domain.com",
        Some("domain.com"),
        &["www.domain.com"],
        &[],
        X,
        "not covered by the certificate's names (www.domain.com)",
    ),
    (
        "www.domain.com",
        Some("other.com"),
        &["www.domain.com"],
        &[],
        M,
        "matches SAN www.domain.com",
    ),
    ("domain.com", None, &[], &[], X, "names no host"),
    // IDN: Unicode names compare in A-label form
    (
        "bücher.example",
        None,
        &["xn--bcher-kva.example"],
        &[],
        M,
        "matches SAN xn--bcher-kva.example",
    ),
    (
        "xn--bcher-kva.example",
        None,
        &["xn--bcher-kva.example"],
        &[],
        M,
        "matches SAN",
    ),
    (
        "BÜCHER.example",
        None,
        &["xn--bcher-kva.example"],
        &[],
        M,
        "matches SAN",
    ),
    (
        "bücher.example",
        None,
        &["*.example"],
        &[],
        X,
        "at least two labels",
    ),
    (
        "shop.bücher.example",
        None,
        &["*.xn--bcher-kva.example"],
        &[],
        M,
        "wildcard",
    ),
    (
        "bucher.example",
        None,
        &["xn--bcher-kva.example"],
        &[],
        X,
        "not covered",
    ),
    // IP addresses match only iPAddress SANs
    (
        "192.0.2.37",
        None,
        &["192.0.2.37"],
        &[],
        X,
        "is written in the certificate as a dNSName, which never matches an address",
    ),
    (
        "2001:db8::37",
        None,
        &["www.example.com", "2001:db8::37"],
        &["192.0.2.37"],
        X,
        "written in the certificate as a dNSName",
    ),
    (
        "192.0.2.10",
        None,
        &[],
        &["192.0.2.10"],
        M,
        "matches IP SAN 192.0.2.10",
    ),
    (
        "192.0.2.10",
        Some("192.0.2.10"),
        &["192.0.2.10"],
        &[],
        X,
        "written in the certificate as a dNSName, which never matches an address",
    ),
    (
        "192.0.2.10",
        None,
        &[],
        &["192.0.2.11"],
        X,
        "its IP SANs are 192.0.2.11",
    ),
    (
        "2001:db8::1",
        None,
        &[],
        &["2001:db8::1"],
        M,
        "matches IP SAN",
    ),
    (
        "[2001:db8::1]",
        None,
        &[],
        &["2001:db8::1"],
        M,
        "matches IP SAN",
    ),
    (
        "2001:db8::1",
        None,
        &["*.domain.com"],
        &["192.0.2.1"],
        X,
        "only an IP SAN can match",
    ),
    ("192.0.2.10", None, &["*.0.2.10"], &[], X, "only an IP SAN"),
];

#[test]
fn verdict_table() {
    assert!(CASES.len() >= 40, "the table must cover at least 40 cases");
    let mut failures = Vec::new();
    for (name, cn, dns, ips, want, piece) in CASES {
        let c = cert(*cn, dns, ips);
        let (got, reason) = check_text("SNI", name, &c);
        if got != *want || !reason.contains(piece) {
            failures.push(format!(
                "{name} vs cn={cn:?} dns={dns:?} ip={ips:?}: got {got:?} {reason:?}, want {want:?} containing {piece:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn reason_names_both_sides() {
    let c = cert(Some("*.domain.com"), &["*.domain.com"], &[]);
    let (v, r) = check_text("SNI", "domain.com", &c);
    assert_eq!(v, Verdict::Mismatch);
    assert_eq!(
        r,
        "SNI domain.com not covered by *.domain.com (a wildcard never covers the apex)"
    );
}

#[test]
fn self_signed_cn_only_is_said() {
    let mut c = cert(Some("EXCH01"), &[], &[]);
    c.self_signed = true;
    let (_, r) = check_text("SNI", "autodiscover.domain.com", &c);
    assert_eq!(
        r,
        "SNI autodiscover.domain.com not covered by CN EXCH01 (the certificate has no subjectAltName and is self-signed)"
    );
}
