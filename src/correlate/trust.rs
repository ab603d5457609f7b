//! The trust verdict: would a client accept the server's certificate chain, apart from
//! the name? Validity is judged at the packet's time; the path from the leaf through the
//! certificates the server sent to a trust anchor is built and checked by rustls-webpki,
//! against Mozilla's roots (webpki-roots, the default), the system's PEM bundle, and the
//! `--ca-file` PEM files. Nothing here is English: `src/report/text.rs` writes it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use crate::capture::Timestamp;
use crate::parse::cert::name_text;
use crate::parse::{CertChain, CertInfo, ChainCert};

/// Which built-in store to trust.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TrustBase {
    /// Mozilla's roots, as shipped in webpki-roots.
    #[default]
    Mozilla,
    /// The operating system's PEM bundle.
    System,
    /// None: only the `--ca-file` certificates.
    None,
}

/// Where the system's CA bundle is looked for, first found wins (Debian/Ubuntu, Fedora/
/// RHEL, openSUSE, Alpine, macOS Homebrew).
pub const SYSTEM_BUNDLES: [&str; 5] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/usr/local/etc/openssl/cert.pem",
];

/// The trust anchors probewatch judges chains against.
#[derive(Debug)]
pub struct TrustStore {
    pub base: TrustBase,
    anchors: Vec<TrustAnchor<'static>>,
    /// The files the anchors came from (beyond the built-in store).
    pub files: Vec<PathBuf>,
    /// `--ca-file` files among them.
    pub ca_files: usize,
}

impl Default for TrustStore {
    fn default() -> Self {
        TrustStore {
            base: TrustBase::Mozilla,
            anchors: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            files: Vec::new(),
            ca_files: 0,
        }
    }
}

/// A trust store that could not be loaded.
#[derive(Debug)]
pub enum StoreError {
    /// The file could not be read, or holds no PEM certificate.
    File { path: PathBuf, why: String },
    /// `--trust system` and no bundle in [`SYSTEM_BUNDLES`].
    NoSystemBundle,
}

impl TrustStore {
    /// The `base` store plus every certificate of the `ca_files`.
    pub fn load(base: TrustBase, ca_files: &[PathBuf]) -> Result<TrustStore, StoreError> {
        let mut store = TrustStore {
            base,
            anchors: Vec::new(),
            files: Vec::new(),
            ca_files: 0,
        };
        match base {
            TrustBase::Mozilla => store.anchors = webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            TrustBase::System => {
                let path = SYSTEM_BUNDLES
                    .iter()
                    .map(Path::new)
                    .find(|p| p.is_file())
                    .ok_or(StoreError::NoSystemBundle)?;
                store.add_pem(path)?;
            }
            TrustBase::None => {}
        }
        for f in ca_files {
            store.add_pem(f)?;
            store.ca_files += 1;
        }
        Ok(store)
    }

    fn add_pem(&mut self, path: &Path) -> Result<(), StoreError> {
        let err = |why: String| StoreError::File {
            path: path.to_path_buf(),
            why,
        };
        let iter = CertificateDer::pem_file_iter(path).map_err(|e| err(pem_error(e)))?;
        let mut n = 0usize;
        for der in iter {
            let der = der.map_err(|e| err(pem_error(e)))?;
            // A certificate webpki cannot read as an anchor is skipped, not fatal.
            if let Ok(a) = webpki::anchor_from_trusted_cert(&der) {
                self.anchors.push(a.to_owned());
                n += 1;
            }
        }
        if n == 0 {
            return Err(err("no PEM certificate in it".into()));
        }
        self.files.push(path.to_path_buf());
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    fn anchor_for(&self, name_der: &[u8]) -> Option<&TrustAnchor<'static>> {
        let contents = seq_contents(name_der)?;
        self.anchors.iter().find(|a| a.subject.as_ref() == contents)
    }
}

/// Why a --ca-file could not be read, in words (the parser's own text shows bytes as
/// lists of numbers).
fn pem_error(e: rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error as P;
    match e {
        P::Io(io) => crate::error::io_reason(&io),
        P::MissingSectionEnd { .. } => {
            "not PEM: a -----BEGIN block has no -----END line, the file may be cut short".into()
        }
        P::IllegalSectionStart { .. } => "not PEM: a -----BEGIN line is malformed".into(),
        P::Base64Decode(_) => "not PEM: a block is not valid base64".into(),
        P::SectionTooLarge => "not PEM: a block is over 256 MB".into(),
        P::NoItemsFound => "no PEM certificate in it".into(),
        _ => "not a PEM file".into(),
    }
}

/// The trust verdict of one chain: validity at the packet's time, the path to an anchor,
/// and the client-policy notes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustVerdict {
    pub validity: Validity,
    pub chain: ChainTrust,
    pub notes: Vec<PolicyNote>,
    /// The store it was judged against.
    pub store: TrustBase,
    /// `--ca-file` anchors were added.
    pub ca_files: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    Valid,
    /// `by` seconds after notAfter.
    Expired {
        not_after: time::OffsetDateTime,
        by: i64,
    },
    /// `by` seconds before notBefore.
    NotYetValid {
        not_before: time::OffsetDateTime,
        by: i64,
    },
    /// The leaf's dates could not be read.
    Unknown,
}

/// The path from the leaf to a trust anchor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainTrust {
    /// A path to the anchor named.
    Trusted { anchor: String },
    /// The leaf is its own issuer and is not an anchor.
    SelfSigned { subject: String },
    /// The chain ends at `issuer`, which is not an anchor; `sent_root`: the server sent
    /// that (self-signed) root itself.
    UnknownIssuer { issuer: String, sent_root: bool },
    /// The last certificate sent names an issuer the server did not send, with an AIA
    /// caIssuers URL where clients that fetch can get it.
    IncompleteChain { missing: String, aia: String },
    /// A signature in the chain does not verify.
    BadSignature,
    /// The leaf's extendedKeyUsage does not allow TLS servers.
    NotForServers,
    /// The leaf is a CA certificate.
    CaAsLeaf,
    /// A signature or key webpki does not accept (SHA-1, RSA under 2048 bits), or one it
    /// does not implement (ECDSA P-521): see notes.
    UnsupportedAlgorithm,
    /// A certificate above the leaf (an intermediate, or the root) had expired: the path
    /// is checked at a time the leaf was valid, so this is never the leaf (unix seconds).
    IssuerExpired { not_after: i64 },
    /// The store is empty (`--trust none` without `--ca-file`).
    NotChecked,
    /// The certificates were not kept (over the chain bounds) or could not be read.
    NotKept,
    /// Any other reason webpki gives (its error name).
    Invalid(String),
}

/// What some clients reject beyond the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyNote {
    Sha1Signature,
    RsaUnder2048(u32),
    /// The name is only in the subject CN: no subjectAltName.
    CnOnly,
    /// Valid for more than 398 days though issued after 2020-09-01.
    OverLongValidity {
        days: i64,
    },
}

/// 2020-09-01T00:00:00Z: certificates issued since may be valid for at most 398 days
/// (Apple, Chrome, Mozilla).
const LONG_VALIDITY_FROM: i64 = 1_598_918_400;
const MAX_DAYS: i64 = 398;

/// Judges `chain` (its leaf summarised in `leaf`) at `ts`.
pub fn judge(
    store: &TrustStore,
    last: &mut LastPath,
    chain: &CertChain,
    leaf: &CertInfo,
    ts: Timestamp,
) -> TrustVerdict {
    let now = ts.secs;
    let validity = match (leaf.not_before, leaf.not_after) {
        (Some(nb), Some(na)) => {
            let (nb_s, na_s) = (nb.unix_timestamp(), na.unix_timestamp());
            if now > na_s {
                Validity::Expired {
                    not_after: na,
                    by: now - na_s,
                }
            } else if now < nb_s {
                Validity::NotYetValid {
                    not_before: nb,
                    by: nb_s - now,
                }
            } else {
                Validity::Valid
            }
        }
        _ => Validity::Unknown,
    };
    // The path is checked at a time the leaf was valid, so that an expired leaf still
    // says whether its chain is good.
    // (`clamp` panics when notBefore is after notAfter, as a hostile certificate may say.)
    let at = match (leaf.not_before, leaf.not_after) {
        (Some(nb), Some(na)) => now.max(nb.unix_timestamp()).min(na.unix_timestamp()),
        _ => now,
    };
    let chain_trust = if store.is_empty() {
        ChainTrust::NotChecked
    } else {
        last.path(store, &chain.certs, at)
    };
    TrustVerdict {
        validity,
        chain: chain_trust,
        notes: notes(leaf),
        store: store.base,
        ca_files: store.ca_files > 0,
    }
}

/// The last chain whose path [`judge`] built: its certificates (by their SHA-256, in the
/// order sent), the second it was checked at, and what came of it. A server sends the
/// same chain on every handshake, and the path depends on nothing else (the store is
/// fixed for a run): the same certificates checked at the same second come to the same
/// [`ChainTrust`], so it is taken from here instead of building the path again. One
/// chain is kept (at most [`crate::parse::cert::MAX_CHAIN_CERTS`] digests), replaced by
/// the next one judged.
#[derive(Debug, Default)]
pub struct LastPath {
    sha256: Vec<[u8; 32]>,
    at: i64,
    trust: Option<ChainTrust>,
}

impl LastPath {
    /// [`path`] of `certs` at `at`, from the last chain when it is the same at the same
    /// second.
    fn path(&mut self, store: &TrustStore, certs: &[ChainCert], at: i64) -> ChainTrust {
        if let Some(t) = &self.trust {
            if self.at == at
                && self.sha256.len() == certs.len()
                && self.sha256.iter().zip(certs).all(|(d, c)| *d == c.sha256)
            {
                return t.clone();
            }
        }
        let t = path(store, certs, at);
        self.sha256.clear();
        self.sha256.extend(certs.iter().map(|c| c.sha256));
        self.at = at;
        self.trust = Some(t.clone());
        t
    }
}

fn notes(leaf: &CertInfo) -> Vec<PolicyNote> {
    let mut n = Vec::new();
    if leaf.policy.sha1_signature {
        n.push(PolicyNote::Sha1Signature);
    }
    if let Some(bits) = leaf.policy.rsa_bits.filter(|b| *b < 2048) {
        n.push(PolicyNote::RsaUnder2048(bits));
    }
    if leaf.san_dns.is_empty() && leaf.san_ip.is_empty() && leaf.subject_cn.is_some() {
        n.push(PolicyNote::CnOnly);
    }
    if let (Some(nb), Some(na)) = (leaf.not_before, leaf.not_after) {
        let days = (na.unix_timestamp() - nb.unix_timestamp()) / 86_400;
        if nb.unix_timestamp() >= LONG_VALIDITY_FROM && days > MAX_DAYS {
            n.push(PolicyNote::OverLongValidity { days });
        }
    }
    n
}

fn path(store: &TrustStore, certs: &[ChainCert], at: i64) -> ChainTrust {
    let Some(leaf) = certs.first() else {
        return ChainTrust::NotKept;
    };
    let leaf_der = CertificateDer::from(leaf.der.as_slice());
    let Ok(ee) = EndEntityCert::try_from(&leaf_der) else {
        return ChainTrust::Invalid("BadDer".into());
    };
    let intermediates: Vec<CertificateDer<'_>> = certs
        .iter()
        .skip(1)
        .map(|c| CertificateDer::from(c.der.as_slice()))
        .collect();
    let time = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(at).unwrap_or(0)));
    let result = ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &store.anchors,
        &intermediates,
        time,
        KeyUsage::server_auth(),
        None,
        None,
    );
    match result {
        Ok(p) => ChainTrust::Trusted {
            anchor: anchor_name(p.anchor()),
        },
        Err(e) => from_error(store, certs, &e),
    }
}

fn from_error(store: &TrustStore, certs: &[ChainCert], e: &webpki::Error) -> ChainTrust {
    use webpki::Error as E;
    #[allow(deprecated)]
    match e {
        E::UnknownIssuer => unknown_issuer(store, certs),
        E::InvalidSignatureForPublicKey => ChainTrust::BadSignature,
        E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) => ChainTrust::NotForServers,
        E::CaUsedAsEndEntity => ca_as_leaf(store, certs),
        E::CertExpired { not_after, .. } => ChainTrust::IssuerExpired {
            not_after: i64::try_from(not_after.as_secs()).unwrap_or(i64::MAX),
        },
        E::UnsupportedSignatureAlgorithm
        | E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKey
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            ChainTrust::UnsupportedAlgorithm
        }
        other => ChainTrust::Invalid(format!("{other:?}")),
    }
}

/// webpki found no path: say where the chain stops and what is missing there.
/// A CA certificate (CA:TRUE) as the server's, which `openssl req -x509` makes by default:
/// one that is its own issuer and no anchor is self-signed, what a client says of it
/// first; given as an anchor (`--ca-file`), it is what rustls-webpki refuses and OpenSSL
/// and curl accept: [`ChainTrust::CaAsLeaf`] says that.
fn ca_as_leaf(store: &TrustStore, certs: &[ChainCert]) -> ChainTrust {
    match certs.first() {
        Some(leaf) if self_issued(leaf) && store.anchor_for(&leaf.subject_der).is_none() => {
            ChainTrust::SelfSigned {
                subject: leaf.subject.clone(),
            }
        }
        _ => ChainTrust::CaAsLeaf,
    }
}

/// Its own issuer (subject and issuer the same name): a root, or a self-signed leaf.
fn self_issued(c: &ChainCert) -> bool {
    !c.subject_der.is_empty() && c.subject_der == c.issuer_der
}

fn unknown_issuer(store: &TrustStore, certs: &[ChainCert]) -> ChainTrust {
    let Some(leaf) = certs.first() else {
        return ChainTrust::NotKept;
    };
    if self_issued(leaf) {
        return ChainTrust::SelfSigned {
            subject: leaf.subject.clone(),
        };
    }
    // Follow issuer → subject through what the server sent, as far as it goes.
    let mut top = leaf;
    for _ in 0..certs.len() {
        match certs
            .iter()
            .skip(1)
            .find(|c| c.subject_der == top.issuer_der && !std::ptr::eq(*c, top))
        {
            Some(next) if !self_issued(top) => top = next,
            _ => break,
        }
    }
    if self_issued(top) {
        return ChainTrust::UnknownIssuer {
            issuer: top.subject.clone(),
            sent_root: true,
        };
    }
    if store.anchor_for(&top.issuer_der).is_some() {
        // Its issuer is an anchor, yet no path: something else is wrong on the way.
        return ChainTrust::Invalid("UnknownIssuer".into());
    }
    match top.ca_issuers.first() {
        Some(url) => ChainTrust::IncompleteChain {
            missing: top.issuer.clone(),
            aia: url.clone(),
        },
        None => ChainTrust::UnknownIssuer {
            issuer: top.issuer.clone(),
            sent_root: false,
        },
    }
}

fn anchor_name(a: &TrustAnchor<'_>) -> String {
    let contents = a.subject.as_ref();
    let mut der = vec![0x30];
    let n = contents.len();
    if n < 0x80 {
        der.push(n as u8);
    } else if n < 0x100 {
        der.extend_from_slice(&[0x81, n as u8]);
    } else {
        der.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    der.extend_from_slice(contents);
    name_text(&der).unwrap_or_default()
}

/// The contents of a DER SEQUENCE (a Name without its tag and length).
fn seq_contents(der: &[u8]) -> Option<&[u8]> {
    if *der.first()? != 0x30 {
        return None;
    }
    let first = *der.get(1)?;
    let (len, start) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let k = usize::from(first & 0x7f);
        let mut len = 0usize;
        for i in 0..k {
            len = (len << 8) | usize::from(*der.get(2 + i)?);
        }
        (len, 2 + k)
    };
    der.get(start..start + len)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// An expired intermediate (the path is checked at a time the leaf was valid) was
    /// `invalid` with rustls-webpki's debug text, "CertExpired { time: UnixTime(…),
    /// not_after: UnixTime(…) }", and the advice to replace the leaf (black-box finding):
    /// it is typed, with the day it expired.
    #[test]
    fn an_expired_issuer_is_typed_not_a_debug_dump() {
        let e = webpki::Error::CertExpired {
            time: UnixTime::since_unix_epoch(Duration::from_secs(1_796_224_520)),
            not_after: UnixTime::since_unix_epoch(Duration::from_secs(1_609_459_200)),
        };
        let t = from_error(&TrustStore::default(), &[], &e);
        assert_eq!(
            t,
            ChainTrust::IssuerExpired {
                not_after: 1_609_459_200
            }
        );
    }

    /// A certificate whose notBefore is after its notAfter panicked the trust verdict
    /// (`i64::clamp` with its bounds crossed): it is judged, never valid.
    #[test]
    fn certificate_valid_from_after_until_is_judged_not_a_panic() {
        let at = |secs: i64| time::OffsetDateTime::from_unix_timestamp(secs).unwrap();
        let leaf = CertInfo {
            not_before: Some(at(1_900_000_000)),
            not_after: Some(at(1_700_000_000)),
            ..CertInfo::default()
        };
        let chain = CertChain::default();
        let v = judge(
            &TrustStore::default(),
            &mut LastPath::default(),
            &chain,
            &leaf,
            Timestamp::new(1_800_000_000, 0),
        );
        assert!(
            matches!(v.validity, Validity::Expired { .. }),
            "{:?}",
            v.validity
        );
    }

    /// The last chain's path is taken again only for the same certificates at the same
    /// second: every verdict equals the one a path built afresh gives, whichever chains
    /// and times come one after another.
    #[test]
    fn trust_path_of_the_last_chain_equals_a_fresh_path() {
        let ca =
            CertificateDer::from_pem_slice(include_bytes!("../../samples/trust-ca.pem")).unwrap();
        let real = crate::parse::cert::chain_cert(ca.as_ref());
        let junk = crate::parse::cert::chain_cert(b"not a certificate");
        let store = TrustStore::default();
        let mut last = LastPath::default();
        let chains = [
            vec![real.clone()],
            vec![junk.clone()],
            vec![real.clone(), junk],
            vec![],
        ];
        let mut seen = Vec::new();
        for at in [1_800_000_000, 1_800_000_000, 1_800_000_001, 1_700_000_000] {
            for certs in chains.iter().chain(chains.iter().rev()) {
                let got = last.path(&store, certs, at);
                assert_eq!(got, path(&store, certs, at), "{at}");
                seen.push(got);
            }
        }
        // The chains come to different verdicts, so a verdict taken for the wrong one shows.
        assert!(seen.iter().any(|t| matches!(t, ChainTrust::Invalid(_))));
        assert!(seen.contains(&ChainTrust::NotKept));
        assert!(seen
            .iter()
            .any(|t| !matches!(t, ChainTrust::Invalid(_) | ChainTrust::NotKept)));
    }
}
