//! Certificate summaries (x509-parser). The borrowed certificate view stays here; the
//! stage hands on an owned [`CertInfo`].

use std::net::IpAddr;

use sha2::{Digest, Sha256};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// What probewatch keeps of a certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertInfo {
    pub subject_cn: Option<String>,
    pub san_dns: Vec<String>,
    pub san_ip: Vec<String>,
    pub issuer: String,
    /// Validity, as times (UTC); `None` when the certificate could not be parsed.
    pub not_before: Option<time::OffsetDateTime>,
    pub not_after: Option<time::OffsetDateTime>,
    pub self_signed: bool,
    pub sha256: String,
    /// Set when the certificate or its SAN extension could not be fully parsed.
    pub parse_error: Option<CertError>,
}

/// What could not be read of a certificate; the text is the x509 parser's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertError {
    /// The certificate itself.
    Certificate(String),
    /// Its subjectAltName extension.
    SubjectAltName(String),
}

impl CertInfo {
    pub fn ip_sans(&self) -> Vec<IpAddr> {
        self.san_ip.iter().filter_map(|s| s.parse().ok()).collect()
    }
}

/// A certificate chain as sent in one Certificate message.
#[derive(Clone, Debug, Default)]
pub struct CertChain {
    /// The first certificate (the end-entity), when it could be parsed.
    pub leaf: Option<CertInfo>,
    pub chain_len: usize,
}

/// Makes a name printable: control and non-ASCII-printable bytes become `\xNN`, so a
/// hostile name (e.g. a NUL inside a SAN) can neither hide text nor drive a terminal.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if ch.is_control() {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            out.push(ch);
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Summarises one DER certificate. Never fails: what cannot be read is said in `parse_error`.
pub fn summarize(der: &[u8]) -> CertInfo {
    let sha256 = hex(&Sha256::digest(der));
    let cert = match X509Certificate::from_der(der) {
        Ok((_, c)) => c,
        Err(e) => {
            return CertInfo {
                sha256,
                parse_error: Some(CertError::Certificate(e.to_string())),
                ..CertInfo::default()
            }
        }
    };
    let mut info = CertInfo {
        sha256,
        ..CertInfo::default()
    };
    info.subject_cn = cert
        .subject()
        .iter_common_name()
        .next()
        .map(|cn| match cn.as_str() {
            Ok(s) => printable(s),
            Err(_) => printable(&String::from_utf8_lossy(cn.as_slice())),
        });
    info.issuer = cert.issuer().to_string();
    info.not_before = Some(cert.validity().not_before.to_datetime());
    info.not_after = Some(cert.validity().not_after.to_datetime());
    info.self_signed = cert.subject().as_raw() == cert.issuer().as_raw();
    match cert.subject_alternative_name() {
        Ok(Some(san)) => {
            for gn in &san.value.general_names {
                match gn {
                    GeneralName::DNSName(n) => info.san_dns.push(printable(n)),
                    GeneralName::IPAddress(b) => {
                        if let Some(ip) = ip_from_bytes(b) {
                            info.san_ip.push(ip.to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(None) => {}
        Err(e) => info.parse_error = Some(CertError::SubjectAltName(e.to_string())),
    }
    info
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    if let Ok(a) = <[u8; 4]>::try_from(b) {
        return Some(IpAddr::from(a));
    }
    if let Ok(a) = <[u8; 16]>::try_from(b) {
        return Some(IpAddr::from(a));
    }
    None
}
