//! Certificate summaries (x509-parser). The borrowed certificate view stays here; the
//! stage hands on an owned [`CertInfo`].

use std::net::IpAddr;

use sha2::{Digest, Sha256};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
use x509_parser::public_key::PublicKey;

/// What probewatch keeps of a certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertInfo {
    pub subject_cn: Option<String>,
    pub san_dns: Vec<String>,
    pub san_ip: Vec<String>,
    /// The certificate has a subjectAltName extension (maybe with no DNS name or address
    /// in it: only URIs or mail addresses).
    pub has_san: bool,
    pub issuer: String,
    /// Validity, as times (UTC); `None` when the certificate could not be parsed.
    pub not_before: Option<time::OffsetDateTime>,
    pub not_after: Option<time::OffsetDateTime>,
    pub self_signed: bool,
    pub sha256: String,
    /// Set when the certificate or its SAN extension could not be fully parsed.
    pub parse_error: Option<CertError>,
    /// Facts the trust verdict's client-policy notes rest on.
    pub policy: CertPolicy,
}

/// What client policies look at beyond names and the chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertPolicy {
    /// Signed with SHA-1 (sha1WithRSAEncryption, ecdsa-with-SHA1, dsa-with-sha1).
    pub sha1_signature: bool,
    /// The RSA modulus size, for an RSA key.
    pub rsa_bits: Option<u32>,
    /// basicConstraints CA:TRUE.
    pub is_ca: bool,
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
    /// The certificates as sent, in order, for the trust verdict: at most
    /// [`MAX_CHAIN_CERTS`] of them and [`MAX_CHAIN_BYTES`] of DER in all (the correlate
    /// stage drops them once it has judged the chain).
    pub certs: Vec<ChainCert>,
    /// Certificates of the message beyond those bounds, not kept.
    pub certs_dropped: usize,
}

/// Certificates of one chain kept for the trust verdict.
pub const MAX_CHAIN_CERTS: usize = 8;
/// DER bytes of one chain kept for the trust verdict.
pub const MAX_CHAIN_BYTES: usize = 64 * 1024;

/// One certificate of a chain: its DER and the names that link it to the next.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainCert {
    pub der: Vec<u8>,
    /// subject and issuer as DER (the Name SEQUENCE), and as text.
    pub subject_der: Vec<u8>,
    pub issuer_der: Vec<u8>,
    pub subject: String,
    pub issuer: String,
    /// Authority Information Access caIssuers URLs (where the issuer can be fetched).
    pub ca_issuers: Vec<String>,
    /// The SHA-256 of `der` (what the certificate cache keys it by): the trust verdict
    /// knows a chain it has just judged by these.
    pub sha256: [u8; 32],
}

impl CertChain {
    /// Keeps `der` (the next certificate of the message) within the bounds.
    pub fn keep(&mut self, der: &[u8]) {
        if self.room(der) {
            self.certs.push(chain_cert(der));
        }
    }

    /// Whether `der` fits within the bounds (counted as dropped when it does not).
    fn room(&mut self, der: &[u8]) -> bool {
        let held: usize = self.certs.iter().map(|c| c.der.len()).sum();
        if self.certs.len() >= MAX_CHAIN_CERTS || held + der.len() > MAX_CHAIN_BYTES {
            self.certs_dropped += 1;
            return false;
        }
        true
    }

    /// Adds the next certificate of the message through `cache`: the `first` becomes the
    /// leaf summary; each is kept within the bounds, as [`CertChain::keep`] does.
    pub fn add_cached(&mut self, der: &[u8], first: bool, cache: &mut CertCache) {
        let fits = self.room(der);
        if !first && !fits {
            return;
        }
        let (info, link) = cache.get(der);
        if first {
            self.leaf = Some(info);
        }
        if fits {
            self.certs.push(link);
        }
    }
}

/// Certificates parsed once and kept by the SHA-256 of their DER: a server sends the same
/// chain on every handshake, so each certificate is parsed by x509-parser once.
pub const MAX_CACHED_CERTS: usize = 1024;

/// What [`summarize`] and [`chain_cert`] make of one certificate, by the SHA-256 of its
/// DER (at most [`MAX_CACHED_CERTS`]; the least recently used is evicted beyond).
#[derive(Default)]
pub struct CertCache {
    entries: std::collections::HashMap<[u8; 32], Cached, foldhash::fast::RandomState>,
    /// Use count, for least-recently-used eviction.
    clock: u64,
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
}

struct Cached {
    info: CertInfo,
    /// The chain entry without its DER (the DER is the key's preimage: the caller's bytes).
    link: ChainCert,
    used: u64,
}

impl CertCache {
    /// The summary and the chain entry of `der`, parsed now or taken from the cache.
    pub fn get(&mut self, der: &[u8]) -> (CertInfo, ChainCert) {
        let digest: [u8; 32] = Sha256::digest(der).into();
        self.clock += 1;
        if let Some(c) = self.entries.get_mut(&digest) {
            self.hits += 1;
            c.used = self.clock;
            let mut link = c.link.clone();
            link.der = der.to_vec();
            return (c.info.clone(), link);
        }
        self.misses += 1;
        let info = summarize(der);
        let mut link = chain_cert_of(der, digest);
        if self.entries.len() >= MAX_CACHED_CERTS {
            // Evict the least recently used eighth at once (the scan is then rare).
            let mut used: Vec<u64> = self.entries.values().map(|c| c.used).collect();
            used.sort_unstable();
            let cut = used.get(MAX_CACHED_CERTS / 8).copied().unwrap_or(u64::MAX);
            let before = self.entries.len();
            self.entries.retain(|_, c| c.used > cut);
            self.evictions += (before - self.entries.len()) as u64;
        }
        let der_owned = std::mem::take(&mut link.der);
        self.entries.insert(
            digest,
            Cached {
                info: info.clone(),
                link: link.clone(),
                used: self.clock,
            },
        );
        link.der = der_owned;
        (info, link)
    }
}

/// The linking names of one DER certificate (empty names when it cannot be parsed).
pub fn chain_cert(der: &[u8]) -> ChainCert {
    chain_cert_of(der, Sha256::digest(der).into())
}

/// [`chain_cert`] of `der`, whose SHA-256 is `sha256`.
fn chain_cert_of(der: &[u8], sha256: [u8; 32]) -> ChainCert {
    let mut c = ChainCert {
        der: der.to_vec(),
        sha256,
        ..ChainCert::default()
    };
    if let Ok((_, cert)) = X509Certificate::from_der(der) {
        c.subject_der = cert.subject().as_raw().to_vec();
        c.issuer_der = cert.issuer().as_raw().to_vec();
        c.subject = printable(&cert.subject().to_string());
        c.issuer = printable(&cert.issuer().to_string());
        for ext in cert.extensions() {
            if let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() {
                for d in &aia.accessdescs {
                    // id-ad-caIssuers
                    if d.access_method.to_id_string() == "1.3.6.1.5.5.7.48.2" {
                        if let GeneralName::URI(u) = d.access_location {
                            c.ca_issuers.push(printable(u));
                        }
                    }
                }
            }
        }
    }
    c
}

/// A Name given as DER, as text (for trust anchors, whose subject is kept as DER).
pub fn name_text(der: &[u8]) -> Option<String> {
    X509Name::from_der(der)
        .ok()
        .map(|(_, n)| printable(&n.to_string()))
}

/// A host name (an SNI) made printable as [`printable`] does, a space written `\x20` too:
/// a host name has none, and one would split a `-q` line's fields.
pub fn printable_host(s: &str) -> String {
    printable(s).replace(' ', "\\x20")
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
        // The most specific CN, the last (RFC 6125 6.4.4, as NSS takes it).
        .last()
        .map(|cn| match cn.as_str() {
            Ok(s) => printable(s),
            Err(_) => printable(&String::from_utf8_lossy(cn.as_slice())),
        });
    info.issuer = cert.issuer().to_string();
    info.not_before = Some(cert.validity().not_before.to_datetime());
    info.not_after = Some(cert.validity().not_after.to_datetime());
    info.self_signed = cert.subject().as_raw() == cert.issuer().as_raw();
    info.policy.sha1_signature = matches!(
        cert.signature_algorithm.algorithm.to_id_string().as_str(),
        "1.2.840.113549.1.1.5" | "1.2.840.10045.4.1" | "1.2.840.10040.4.3" | "1.3.14.3.2.29"
    );
    if let Ok(PublicKey::RSA(rsa)) = cert.public_key().parsed() {
        info.policy.rsa_bits = u32::try_from(rsa.key_size()).ok();
    }
    info.policy.is_ca = cert.is_ca();
    match cert.subject_alternative_name() {
        Ok(Some(san)) => {
            info.has_san = true;
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
