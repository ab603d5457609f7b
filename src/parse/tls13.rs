//! TLS 1.3 record protection (RFC 8446 §5.2, §7): the handshake records a key log opens.
//!
//! With a traffic secret from the key log ([`super::keylog`]) and the cipher suite of
//! the ServerHello, [`traffic_keys`] derives the record key and IV with
//! HKDF-Expand-Label (`hkdf`, `sha2`); [`RecordOpener`] decrypts records in order (the
//! nonce is the IV XOR the record's sequence number) with AES-128-GCM, AES-256-GCM
//! (`aes-gcm`), ChaCha20-Poly1305 (`chacha20poly1305`) or AES-128-CCM (`ccm`), and
//! removes the padding to find the inner content type. [`HandshakeDecryptor`] gathers
//! the handshake messages of one direction's encrypted flight, across records and
//! several to a record, until that side's Finished.
//!
//! A record that does not authenticate is [`Tls13Error::Authentication`]: counted by the
//! caller and stated, never read as plaintext.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use sha2::{Sha256, Sha384};

use super::cert::{self, CertChain};
use super::keylog::Secret;
use super::reader::{Reader, Result as ReadResult, WireError};

/// The TLS 1.3 cipher suites probewatch decrypts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// TLS_AES_128_GCM_SHA256 (0x1301)
    Aes128GcmSha256,
    /// TLS_AES_256_GCM_SHA384 (0x1302)
    Aes256GcmSha384,
    /// TLS_CHACHA20_POLY1305_SHA256 (0x1303)
    Chacha20Poly1305Sha256,
    /// TLS_AES_128_CCM_SHA256 (0x1304)
    Aes128CcmSha256,
}

/// The hash of a suite's key schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
}

impl Hash {
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

impl Suite {
    /// The suite for a ServerHello's cipher suite number (TLS_AES_128_CCM_8_SHA256 and
    /// the rest are not decrypted).
    pub fn from_id(id: u16) -> Option<Suite> {
        Some(match id {
            0x1301 => Suite::Aes128GcmSha256,
            0x1302 => Suite::Aes256GcmSha384,
            0x1303 => Suite::Chacha20Poly1305Sha256,
            0x1304 => Suite::Aes128CcmSha256,
            _ => return None,
        })
    }

    pub fn hash(self) -> Hash {
        match self {
            Suite::Aes256GcmSha384 => Hash::Sha384,
            Suite::Aes128GcmSha256 | Suite::Chacha20Poly1305Sha256 | Suite::Aes128CcmSha256 => {
                Hash::Sha256
            }
        }
    }

    /// Length of the AEAD key.
    pub fn key_len(self) -> usize {
        match self {
            Suite::Aes128GcmSha256 | Suite::Aes128CcmSha256 => 16,
            Suite::Aes256GcmSha384 | Suite::Chacha20Poly1305Sha256 => 32,
        }
    }
}

/// Why a record or a secret gave nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls13Error {
    /// The secret's length is not the suite's hash length (a key log line for another
    /// suite, or damaged).
    SecretLength,
    /// HKDF refused the lengths (cannot happen with the suites above).
    Hkdf,
    /// The record did not authenticate: wrong key, wrong sequence number, or damaged.
    Authentication,
    /// The decrypted record is all padding: no content type (RFC 8446 §5.4).
    NoContentType,
    /// Not a protected record (content type 23, a 5-byte header and at least a tag).
    NotProtected,
    /// A handshake message longer than the bound ([`super::tls::MAX_HANDSHAKE`]).
    HandshakeTooLarge,
    /// The records of the flight interleaved non-handshake content with a message cut
    /// in two, or another malformed sequence.
    Malformed,
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with any context.
pub fn expand_label(
    hash: Hash,
    secret: &[u8],
    label: &str,
    context: &[u8],
    out: &mut [u8],
) -> Result<(), Tls13Error> {
    let full_len = 6 + label.len();
    let mut info = Vec::with_capacity(4 + full_len + context.len());
    info.extend_from_slice(
        &u16::try_from(out.len())
            .map_err(|_| Tls13Error::Hkdf)?
            .to_be_bytes(),
    );
    info.push(u8::try_from(full_len).map_err(|_| Tls13Error::Hkdf)?);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label.as_bytes());
    info.push(u8::try_from(context.len()).map_err(|_| Tls13Error::Hkdf)?);
    info.extend_from_slice(context);
    match hash {
        Hash::Sha256 => Hkdf::<Sha256>::from_prk(secret)
            .map_err(|_| Tls13Error::Hkdf)?
            .expand(&info, out)
            .map_err(|_| Tls13Error::Hkdf),
        Hash::Sha384 => Hkdf::<Sha384>::from_prk(secret)
            .map_err(|_| Tls13Error::Hkdf)?
            .expand(&info, out)
            .map_err(|_| Tls13Error::Hkdf),
    }
}

/// A record key and IV (RFC 8446 §7.3), or a QUIC packet key and IV.
#[derive(Clone, PartialEq, Eq)]
pub struct TrafficKeys {
    pub suite: Suite,
    key: [u8; 32],
    pub iv: [u8; 12],
}

impl std::fmt::Debug for TrafficKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrafficKeys({:?})", self.suite)
    }
}

impl TrafficKeys {
    /// The key, as long as the suite's key.
    pub fn key(&self) -> &[u8] {
        self.key.get(..self.suite.key_len()).unwrap_or(&[])
    }
}

/// Keys from a secret with the given label prefix (`""` for TLS: "key"/"iv"; `"quic "`
/// or `"quicv2 "` for QUIC packet protection).
pub fn keys_with_prefix(
    suite: Suite,
    secret: &[u8],
    prefix: &str,
) -> Result<TrafficKeys, Tls13Error> {
    let hash = suite.hash();
    if secret.len() != hash.output_len() {
        return Err(Tls13Error::SecretLength);
    }
    let mut key = [0u8; 32];
    let kl = suite.key_len();
    expand_label(
        hash,
        secret,
        &format!("{prefix}key"),
        &[],
        key.get_mut(..kl).ok_or(Tls13Error::Hkdf)?,
    )?;
    let mut iv = [0u8; 12];
    expand_label(hash, secret, &format!("{prefix}iv"), &[], &mut iv)?;
    Ok(TrafficKeys { suite, key, iv })
}

/// The record key and IV of a TLS 1.3 traffic secret.
pub fn traffic_keys(suite: Suite, secret: &Secret) -> Result<TrafficKeys, Tls13Error> {
    keys_with_prefix(suite, secret.as_bytes(), "")
}

type Aes128Ccm = ccm::Ccm<aes::Aes128, ccm::consts::U16, ccm::consts::U12>;

/// Decrypts `msg` (ciphertext and tag) with `aad` under the suite's AEAD.
pub fn aead_open(
    keys: &TrafficKeys,
    nonce: &[u8; 12],
    aad: &[u8],
    msg: &[u8],
) -> Result<Vec<u8>, Tls13Error> {
    let payload = Payload { msg, aad };
    let n = aes_gcm::Nonce::from_slice(nonce);
    let r = match keys.suite {
        Suite::Aes128GcmSha256 => Aes128Gcm::new_from_slice(keys.key())
            .map_err(|_| Tls13Error::Hkdf)?
            .decrypt(n, payload),
        Suite::Aes256GcmSha384 => Aes256Gcm::new_from_slice(keys.key())
            .map_err(|_| Tls13Error::Hkdf)?
            .decrypt(n, payload),
        Suite::Chacha20Poly1305Sha256 => ChaCha20Poly1305::new_from_slice(keys.key())
            .map_err(|_| Tls13Error::Hkdf)?
            .decrypt(n, payload),
        Suite::Aes128CcmSha256 => Aes128Ccm::new_from_slice(keys.key())
            .map_err(|_| Tls13Error::Hkdf)?
            .decrypt(n, payload),
    };
    r.map_err(|_| Tls13Error::Authentication)
}

/// The per-record nonce: the IV XOR the sequence number, right-aligned.
pub fn nonce(iv: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut n = *iv;
    for (d, s) in n.iter_mut().rev().zip(seq.to_be_bytes().iter().rev()) {
        *d ^= s;
    }
    n
}

/// One decrypted record: its inner content type and content (padding removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inner {
    pub content_type: u8,
    pub content: Vec<u8>,
}

/// AEAD tag length of every suite here.
const TAG: usize = 16;

/// Decrypts one direction's protected records in order.
#[derive(Clone, Debug)]
pub struct RecordOpener {
    keys: TrafficKeys,
    seq: u64,
}

impl RecordOpener {
    pub fn new(keys: TrafficKeys) -> Self {
        RecordOpener { keys, seq: 0 }
    }

    /// The sequence number of the next record.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Decrypts one whole record (5-byte header, then the body). The sequence number
    /// advances only when the record authenticates, so a record not meant for these
    /// keys (0-RTT data, a damaged copy) leaves the opener where it was.
    pub fn open(&mut self, record: &[u8]) -> Result<Inner, Tls13Error> {
        let mut r = Reader::new(record);
        let header = r.take(5).map_err(|_| Tls13Error::NotProtected)?;
        let body = r.rest();
        let mut h = Reader::new(header);
        let (Ok(ct), Ok(_version), Ok(declared)) = (h.u8(), h.u16(), h.u16()) else {
            return Err(Tls13Error::NotProtected);
        };
        if ct != 23 || usize::from(declared) != body.len() || body.len() < TAG {
            return Err(Tls13Error::NotProtected);
        }
        let mut plain = aead_open(&self.keys, &nonce(&self.keys.iv, self.seq), header, body)?;
        self.seq = self.seq.saturating_add(1);
        let end = plain
            .iter()
            .rposition(|b| *b != 0)
            .ok_or(Tls13Error::NoContentType)?;
        let content_type = *plain.get(end).ok_or(Tls13Error::NoContentType)?;
        plain.truncate(end);
        Ok(Inner {
            content_type,
            content: plain,
        })
    }
}

/// Handshake messages gathered from a byte stream (records, or QUIC CRYPTO frames), in
/// order, several to a record or one over several records.
#[derive(Clone, Debug, Default)]
pub struct HandshakeBuf {
    buf: Vec<u8>,
}

impl HandshakeBuf {
    /// Bytes held (for the buffer bound).
    pub fn held(&self) -> usize {
        self.buf.len()
    }

    /// Adds bytes and moves every complete message (type, 24-bit length, body) to `out`.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), Tls13Error> {
        self.buf.extend_from_slice(data);
        let mut pos = 0usize;
        loop {
            let mut r = Reader::new(self.buf.get(pos..).unwrap_or(&[]));
            let (Ok(_ty), Ok(len)) = (r.u8(), len24(&mut r)) else {
                break;
            };
            if len > super::tls::MAX_HANDSHAKE {
                self.buf.clear();
                return Err(Tls13Error::HandshakeTooLarge);
            }
            let Some(msg) = self.buf.get(pos..pos + 4 + len) else {
                break;
            };
            out.push(msg.to_vec());
            pos += 4 + len;
        }
        self.buf.drain(..pos.min(self.buf.len()));
        Ok(())
    }

    /// No partial message is waiting.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Handshake message types read from a decrypted flight.
pub const HS_FINISHED: u8 = 20;

/// What one protected record turned out to hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordContent {
    /// Handshake bytes (the completed messages were added to the output).
    Handshake,
    /// An alert under handshake keys: (level, description).
    Alert(u8, u8),
    /// Another inner content type (application data cannot come under handshake keys).
    Other(u8),
    /// This side's Finished was read: later records use other keys and are not opened.
    AfterFinished,
}

/// One side's encrypted handshake flight: records opened with the handshake traffic
/// secret, messages gathered until that side's Finished.
#[derive(Clone, Debug)]
pub struct HandshakeDecryptor {
    opener: RecordOpener,
    hs: HandshakeBuf,
    finished: bool,
    /// Records that authenticated.
    pub records: u64,
}

impl HandshakeDecryptor {
    pub fn new(suite: Suite, secret: &Secret) -> Result<Self, Tls13Error> {
        Ok(HandshakeDecryptor {
            opener: RecordOpener::new(traffic_keys(suite, secret)?),
            hs: HandshakeBuf::default(),
            finished: false,
            records: 0,
        })
    }

    /// This side's Finished was read.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Bytes held for a message not complete yet.
    pub fn held(&self) -> usize {
        self.hs.held()
    }

    /// Opens one whole protected record; the handshake messages it completes are added
    /// to `out` (whole messages: type, length, body).
    pub fn record(
        &mut self,
        record: &[u8],
        out: &mut Vec<Vec<u8>>,
    ) -> Result<RecordContent, Tls13Error> {
        if self.finished {
            return Ok(RecordContent::AfterFinished);
        }
        let inner = self.opener.open(record)?;
        self.records += 1;
        match inner.content_type {
            22 => {
                let before = out.len();
                self.hs.push(&inner.content, out)?;
                if out
                    .get(before..)
                    .unwrap_or(&[])
                    .iter()
                    .any(|m| m.first() == Some(&HS_FINISHED))
                {
                    self.finished = true;
                }
                Ok(RecordContent::Handshake)
            }
            21 => Ok(RecordContent::Alert(
                inner.content.first().copied().unwrap_or(0),
                inner.content.get(1).copied().unwrap_or(0),
            )),
            t => {
                if self.hs.is_empty() {
                    Ok(RecordContent::Other(t))
                } else {
                    Err(Tls13Error::Malformed)
                }
            }
        }
    }
}

/// What the key log opened of one direction's encrypted handshake, for the next stage.
#[derive(Clone, Debug)]
pub enum Decrypted {
    /// The Certificate message, decrypted (boxed: a chain holds its certificates' DER
    /// until the trust verdict is judged).
    Certificate(Box<CertChain>),
    /// The server asked for a client certificate (CertificateRequest, mutual TLS).
    CertificateRequested,
    /// The flight ended (Finished) without a Certificate: a resumption with a PSK.
    NoCertificate,
    /// The key log has no secret for this connection's client random (or the
    /// ClientHello's random was not seen).
    NoKey,
    /// A record did not authenticate with the key log's secret: wrong key.
    WrongKey,
    /// A cipher suite probewatch does not decrypt (its number).
    UnsupportedSuite(u16),
}

/// The key log's decryption counters, shown in the stats.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecryptStats {
    /// Protected records (TLS) or Handshake packets (QUIC) that authenticated.
    pub decrypted: u64,
    /// Those that did not (wrong key, or damaged).
    pub auth_failures: u64,
    /// Connections whose client random has no line in the key log.
    pub no_key: u64,
    /// Certificates read from a decrypted flight.
    pub certificates: u64,
    /// Connections with a cipher suite that is not decrypted.
    pub unsupported_suite: u64,
    /// Protected records or packets not kept for decryption: over their bound.
    pub over_limit: u64,
}

/// A TLS 1.3 Certificate message (RFC 8446 §4.4.2: request context, then each
/// certificate with its extensions): the chain as the TLS 1.2 one is reported. `None`
/// when it is not a Certificate or its lengths do not hold.
pub fn certificate(msg: &[u8]) -> Option<CertChain> {
    certificate_entries(msg).ok()
}

fn len24(r: &mut Reader<'_>) -> ReadResult<usize> {
    r.u24().map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

fn certificate_entries(msg: &[u8]) -> ReadResult<CertChain> {
    let mut r = Reader::new(msg);
    if r.u8()? != 11 {
        return Err(WireError::Bad("not a Certificate message"));
    }
    let n = len24(&mut r)?;
    let mut body = r.sub(n)?;
    let ctx = usize::from(body.u8()?);
    body.skip(ctx)?;
    let n = len24(&mut body)?;
    let mut list = body.sub(n)?;
    let mut chain = CertChain::default();
    while !list.is_empty() {
        let n = len24(&mut list)?;
        let der = list.take(n)?;
        if chain.leaf.is_none() {
            chain.leaf = Some(cert::summarize(der));
        }
        chain.keep(der);
        chain.chain_len += 1;
        let ext = usize::from(list.u16()?);
        list.skip(ext)?;
    }
    Ok(chain)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests;
