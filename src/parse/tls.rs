//! TLS records and handshake messages (tls-parser for message structure).
//!
//! Reads one direction's byte stream: record headers, reassembles handshake messages
//! across records, decodes ClientHello / ServerHello / Certificate, notes alerts and
//! application data. Unknown values are kept, never fatal.

use tls_parser::{
    parse_tls_client_hello_extension, parse_tls_message_handshake, TlsExtension, TlsMessage,
    TlsMessageHandshake,
};

use super::cert::{self, CertChain};
use super::reader::{Reader, Result, WireError};
pub use super::tls13::Decrypted;

/// What a ClientHello offers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// supported_versions (GREASE removed); empty when the extension is absent.
    pub versions: Vec<u16>,
    pub legacy_version: u16,
    /// An encrypted_client_hello (0xfe0d) extension is present.
    pub ech: bool,
    /// Cipher suites in the order offered (GREASE included, as on the wire).
    pub ciphers: Vec<u16>,
    /// Extension types in the order offered (GREASE included, as on the wire).
    pub extensions: Vec<u16>,
    /// signature_algorithms (13) values in the order offered.
    pub sig_algs: Vec<u16>,
    /// The first ALPN value, raw bytes (JA4 looks at its first and last character).
    pub alpn_first: Option<Vec<u8>>,
    /// The JA4 fingerprint of this hello (see `ja4.rs`).
    pub ja4: Option<String>,
    /// The client random: the key of the key log (`keylog.rs`).
    pub random: Option<[u8; 32]>,
}

impl ClientHello {
    /// The highest version offered.
    pub fn max_version(&self) -> u16 {
        self.versions
            .iter()
            .copied()
            .max()
            .unwrap_or(self.legacy_version)
    }
}

/// What a ServerHello chose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHello {
    pub version: u16,
    pub cipher: u16,
    /// A HelloRetryRequest (TLS 1.3), not a real ServerHello.
    pub hrr: bool,
    /// The protocol the server chose from the client's ALPN list (TLS 1.2 and older: in
    /// the ServerHello; TLS 1.3 moves it into the encrypted EncryptedExtensions).
    pub alpn: Option<String>,
}

/// Things one direction of a TLS stream said.
#[derive(Clone, Debug)]
pub enum TlsItem {
    ClientHello(ClientHello),
    ServerHello(ServerHello),
    Certificate(CertChain),
    Alert {
        level: u8,
        description: u8,
        encrypted: bool,
    },
    /// An application-data record (the first few are reported), with its length: in TLS
    /// 1.3 every record after the ServerHello is one, and only the length tells a
    /// Finished from an alert.
    AppData {
        len: usize,
    },
    ChangeCipherSpec,
    /// A CertificateRequest in the clear (TLS 1.2): the server asks for a client
    /// certificate (mutual TLS).
    CertificateRequest,
    /// What the key log opened of this direction's encrypted handshake (TLS 1.3).
    Decrypted(Decrypted),
    /// The bytes are not TLS (or the stream lost sync); parsing of this direction stops.
    NotTls,
}

const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Largest handshake message accepted (a 339 KB certificate chain fits).
pub const MAX_HANDSHAKE: usize = 1 << 20;

pub(crate) fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// A 24-bit length as a `usize`.
fn len24(r: &mut Reader<'_>) -> Result<usize> {
    let n = r.u24()?;
    usize::try_from(n).map_err(|_| WireError::Bad("length"))
}

/// Looks like the header of a TLS record of the given handshake type at `at`
/// (content type 22, version 3.x, then the handshake message type).
pub fn looks_like_hello(d: &[u8], at: usize, hs_type: u8) -> bool {
    let mut r = Reader::new(d.get(at..).unwrap_or(&[]));
    let (Ok(ct), Ok(major), Ok(minor), Ok(len), Ok(ty)) = (r.u8(), r.u8(), r.u8(), r.u16(), r.u8())
    else {
        return false;
    };
    ct == 0x16 && major == 0x03 && minor <= 0x04 && (4..=18432).contains(&len) && ty == hs_type
}

/// An SSLv2-format ClientHello (2-byte header with the high bit set, message type 1,
/// version 3.x): old clients and scanners still send it.
pub fn is_sslv2_hello(d: &[u8]) -> bool {
    d.first().is_some_and(|b| b & 0x80 != 0) && d.get(2) == Some(&0x01) && d.get(3) == Some(&0x03)
}

/// A handshake message the stream ended in ([`TlsReader::unfinished`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unfinished {
    /// Its type (1: ClientHello), when its first byte arrived.
    pub msg_type: Option<u8>,
    /// Its bytes seen, header included.
    pub have: u32,
    /// Its whole length, header included, when the header arrived.
    pub need: Option<u32>,
    /// Nothing of the message came, and its record's header only in part.
    pub partial_header: bool,
    /// A ClientHello's SNI, when its server_name extension is whole among the bytes seen.
    pub sni: Option<String>,
    /// The ClientHello offers ECH (its encrypted_client_hello extension came): the SNI is
    /// the public (cover) name.
    pub ech: bool,
}

/// Per-direction TLS reader state.
#[derive(Default)]
pub struct TlsReader {
    buf: Vec<u8>,
    hs: Vec<u8>,
    /// After ChangeCipherSpec (TLS <= 1.2): handshake records are encrypted.
    encrypted: bool,
    pub tls13: bool,
    pub app_records: u64,
    pub records: u64,
    failed: bool,
    /// A handshake message claimed more than [`MAX_HANDSHAKE`] bytes (a bound, not "not
    /// TLS"): reported once through [`TlsReader::take_too_large`].
    too_large: bool,
    /// Handshake messages with a malformed part (read as far as they go), since the last
    /// [`TlsReader::take_malformed`].
    malformed: u64,
    /// Copies of protected records kept for the key log ([`TlsReader::keep_protected`]);
    /// boxed: only a key log makes it.
    protected: Option<Box<Protected>>,
}

/// Protected records (content type 23, header included) kept for the key log's
/// decryption (`tls13.rs`), up to `keep` bytes.
#[derive(Default)]
struct Protected {
    keep: usize,
    records: Vec<Vec<u8>>,
    bytes: usize,
    /// Protected records not kept because `keep` bytes were held.
    over_limit: u64,
}

/// The longest TLS record body read (2^14 plus the expansion a protected record may add).
const MAX_RECORD: usize = 18432 + 2048;

impl TlsReader {
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Bytes held (for the buffer bound).
    pub fn held(&self) -> usize {
        self.buf.len() + self.hs.len()
    }

    /// The handshake message begun and not whole (the stream ended in it): what of it was
    /// seen. `None` when nothing is pending, or the stream was given up.
    pub fn unfinished(&self) -> Option<Unfinished> {
        if self.failed || self.encrypted || (self.hs.is_empty() && self.buf.is_empty()) {
            return None;
        }
        let mut r = Reader::new(&self.buf);
        // The partial record's handshake bytes, when it is one (a record header not whole
        // yet must begin as one: 22, a handshake record).
        let (fragment, partial_header) = match (r.u8(), r.skip(4)) {
            (Ok(22), Ok(())) => (r.rest(), false),
            (Ok(22), Err(_)) => (&[][..], true),
            (Ok(_), _) => return None,
            (Err(_), _) => (&[][..], false),
        };
        let seen: Vec<u8> = self.hs.iter().chain(fragment.iter()).copied().collect();
        let mut r = Reader::new(&seen);
        let msg_type = r.u8().ok();
        let need = len24(&mut r)
            .ok()
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX).saturating_add(4));
        if let Some(n) = need {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if seen.len() >= n {
                // The message is whole, only its record is not: nothing was cut.
                return None;
            }
        }
        let (sni, ech) = match msg_type {
            Some(1) => partial_hello_sni(seen.get(4..).unwrap_or(&[])),
            _ => (None, false),
        };
        let have = u32::try_from(seen.len()).unwrap_or(u32::MAX);
        Some(Unfinished {
            msg_type,
            have,
            need,
            partial_header,
            sni,
            ech,
        })
    }

    /// A handshake message claimed more than [`MAX_HANDSHAKE`] bytes since the last call.
    pub fn take_too_large(&mut self) -> bool {
        std::mem::take(&mut self.too_large)
    }

    /// The protected records kept since the last call.
    pub fn take_protected(&mut self) -> Vec<Vec<u8>> {
        self.protected.as_mut().map_or_else(Vec::new, |p| {
            p.bytes = 0;
            std::mem::take(&mut p.records)
        })
    }

    /// Keep copies of protected records for the key log, up to `bytes`; 0: keep none (and
    /// drop those kept).
    pub fn keep_protected(&mut self, bytes: usize) {
        if bytes == 0 {
            self.protected = None;
        } else {
            self.protected.get_or_insert_with(Box::default).keep = bytes;
        }
    }

    /// Protected records not kept since the last call (over the bytes to keep).
    pub fn take_protected_over_limit(&mut self) -> u64 {
        self.protected
            .as_mut()
            .map_or(0, |p| std::mem::take(&mut p.over_limit))
    }

    /// Malformed handshake messages seen since the last call.
    pub fn take_malformed(&mut self) -> u64 {
        std::mem::take(&mut self.malformed)
    }

    /// Forget partial data after a gap: the stream position is lost.
    pub fn lose_sync(&mut self) {
        // Freed, not only emptied: a gap from the memory budget is there to give it back.
        self.buf = Vec::new();
        self.hs = Vec::new();
        self.failed = true;
    }

    pub fn feed(&mut self, data: &[u8], out: &mut Vec<TlsItem>, certs: &mut cert::CertCache) {
        if self.failed {
            return;
        }
        if self.buf.is_empty() {
            // Nothing held from before: the records are read where they are, and only
            // what follows the last whole one is kept (not every byte copied in, then
            // the rest moved to the front).
            let used = self.read_records(data, out, certs);
            let rest = data.get(used..).unwrap_or_default();
            // Only the bytes that came are held, not room for the record their header
            // announces: the budget across flows counts what is held, and a flood of
            // records begun and never finished must cost what they sent
            // (regression: stalled-hellos went from 93 to 171 MiB with room reserved).
            if !self.failed {
                self.buf.extend_from_slice(rest);
            }
            return;
        }
        self.buf.extend_from_slice(data);
        let buf = std::mem::take(&mut self.buf);
        let used = self.read_records(&buf, out, certs);
        // What follows the records read is kept in a buffer of its own size: the room
        // the held bytes grew into goes (the budget counts the bytes held; 23 KiB of room
        // behind one byte held was a flow's cost it did not see), and a stream given up
        // holds nothing.
        self.buf = match buf.get(used..) {
            _ if self.failed => Vec::new(),
            _ if used == 0 => buf,
            Some(rest) => rest.to_vec(),
            None => Vec::new(),
        };
    }

    /// Reads the whole records at the start of `buf` (the bytes held, then the new ones);
    /// returns how many bytes they took.
    fn read_records(
        &mut self,
        buf: &[u8],
        out: &mut Vec<TlsItem>,
        certs: &mut cert::CertCache,
    ) -> usize {
        let mut pos = 0usize;
        if self.records == 0 && is_sslv2_hello(buf) {
            // An SSLv2-compatible ClientHello: no extensions, so no SNI.
            let mut r = Reader::new(buf);
            let Ok(len) = r.u16().map(|l| usize::from(l & 0x7fff)) else {
                return 0;
            };
            let Ok(mut body) = r.sub(len) else {
                return 0; // not all in yet
            };
            self.records += 1;
            let version = body.skip(1).and_then(|()| body.u16());
            if version.is_err() {
                self.malformed += 1;
            }
            out.push(TlsItem::ClientHello(ClientHello {
                // SSL 3.0 when the hello is too short to say (counted as malformed).
                legacy_version: version.unwrap_or(0x0300),
                ..ClientHello::default()
            }));
            pos = 2 + len;
        }
        while let Some(hdr) = buf.get(pos..pos + 5) {
            let mut r = Reader::new(hdr);
            let (Ok(ct), Ok(major), Ok(_minor), Ok(len)) = (r.u8(), r.u8(), r.u8(), r.u16()) else {
                break;
            };
            let len = usize::from(len);
            if !(20..=24).contains(&ct) || major != 3 || len > MAX_RECORD {
                self.failed = true;
                out.push(TlsItem::NotTls);
                break;
            }
            // The body is read in place (not copied): each arm borrows it from `buf`.
            let span = pos + 5..pos + 5 + len;
            if buf.get(span.clone()).is_none() {
                break;
            }
            pos += 5 + len;
            self.records += 1;
            match ct {
                20 => {
                    if !self.tls13 {
                        self.encrypted = true;
                    }
                    out.push(TlsItem::ChangeCipherSpec);
                }
                21 => {
                    let body = buf.get(span).unwrap_or_default();
                    let mut r = Reader::new(body);
                    let plain = match (self.encrypted, body.len(), r.u8(), r.u8()) {
                        (false, 2, Ok(level), Ok(description)) => Some((level, description)),
                        _ => None,
                    };
                    // An encrypted alert's level and description are not known: 0, 0.
                    let (level, description) = plain.unwrap_or((0, 0));
                    out.push(TlsItem::Alert {
                        level,
                        description,
                        encrypted: plain.is_none(),
                    });
                }
                22 if !self.encrypted => {
                    self.hs.extend_from_slice(buf.get(span).unwrap_or_default());
                    self.handshake_messages(out, certs);
                    if self.failed {
                        break;
                    }
                }
                23 => {
                    self.app_records += 1;
                    if let Some(p) = self.protected.as_mut() {
                        if p.bytes + 5 + len <= p.keep {
                            if let Some(rec) = buf.get(pos - 5 - len..pos) {
                                p.records.push(rec.to_vec());
                                p.bytes += 5 + len;
                            }
                        } else {
                            p.over_limit += 1;
                        }
                    }
                    out.push(TlsItem::AppData { len });
                }
                _ => {}
            }
        }
        pos
    }

    fn handshake_messages(&mut self, out: &mut Vec<TlsItem>, certs: &mut cert::CertCache) {
        let mut pos = 0usize;
        loop {
            let mut r = Reader::new(self.hs.get(pos..).unwrap_or(&[]));
            let (Ok(_ty), Ok(len)) = (r.u8(), len24(&mut r)) else {
                break;
            };
            if len > MAX_HANDSHAKE {
                // Over the bound: the caller gives the direction up as a buffer limit.
                self.failed = true;
                self.too_large = true;
                return;
            }
            let Some(msg) = self.hs.get(pos..pos + 4 + len) else {
                break;
            };
            if let Some(item) = handshake(msg, &mut self.malformed, certs) {
                if let TlsItem::ServerHello(sh) = &item {
                    if sh.version == 0x0304 || (sh.version >> 8) == 0x7f {
                        self.tls13 = true;
                    }
                }
                out.push(item);
            }
            pos += 4 + len;
        }
        // As the record buffer: only what is left, in a buffer of its own size.
        if pos > 0 {
            self.hs = self.hs.get(pos..).map(<[u8]>::to_vec).unwrap_or_default();
        }
    }
}

/// One complete handshake message; malformed parts (read as far as they go) are
/// counted in `malformed`.
fn handshake(msg: &[u8], malformed: &mut u64, certs: &mut cert::CertCache) -> Option<TlsItem> {
    let msg_type = *msg.first()?;
    let parsed = parse_tls_message_handshake(msg);
    match (msg_type, parsed) {
        (1, Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch))))) => {
            let mut hello = ClientHello {
                legacy_version: ch.version.0,
                ciphers: ch.ciphers.iter().map(|c| c.0).collect(),
                random: <[u8; 32]>::try_from(ch.random).ok(),
                ..ClientHello::default()
            };
            if let Some(ext) = ch.ext {
                if client_extensions(ext, &mut hello).is_err() {
                    *malformed += 1;
                }
            }
            hello.ja4 = Some(super::ja4::ja4(&hello));
            Some(TlsItem::ClientHello(hello))
        }
        (2, Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh))))) => {
            let mut version = sh.version.0;
            let mut alpn = None;
            match sh.ext.map(server_extensions) {
                Some(Ok((v, a))) => {
                    version = v.unwrap_or(version);
                    alpn = a;
                }
                Some(Err(_)) => *malformed += 1,
                None => {}
            }
            Some(TlsItem::ServerHello(ServerHello {
                version,
                cipher: sh.cipher.0,
                hrr: sh.random == HRR_RANDOM,
                alpn,
            }))
        }
        (2, Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHelloV13Draft18(sh))))) => {
            Some(TlsItem::ServerHello(ServerHello {
                version: sh.version.0,
                cipher: sh.cipher.0,
                hrr: false,
                alpn: None,
            }))
        }
        (6, Ok((_, TlsMessage::Handshake(TlsMessageHandshake::HelloRetryRequest(h))))) => {
            Some(TlsItem::ServerHello(ServerHello {
                version: h.version.0,
                cipher: h.cipher.0,
                hrr: true,
                alpn: None,
            }))
        }
        (11, Ok((_, TlsMessage::Handshake(TlsMessageHandshake::Certificate(c))))) => {
            let mut chain = CertChain {
                chain_len: c.cert_chain.len(),
                ..CertChain::default()
            };
            for (i, rc) in c.cert_chain.iter().enumerate() {
                chain.add_cached(rc.data, i == 0, certs);
            }
            Some(TlsItem::Certificate(chain))
        }
        (13, _) => Some(TlsItem::CertificateRequest),
        // A TLS 1.3-style Certificate (request context first) seen in cleartext.
        (11, Err(_)) => match certificate_13(msg.get(4..)?, certs) {
            Ok(chain) => Some(TlsItem::Certificate(chain)),
            Err(_) => {
                *malformed += 1;
                None
            }
        },
        _ => None,
    }
}

fn certificate_13(body: &[u8], certs: &mut cert::CertCache) -> Result<CertChain> {
    let mut r = Reader::new(body);
    let ctx_len = usize::from(r.u8()?);
    r.skip(ctx_len)?;
    let list_len = len24(&mut r)?;
    // A list claiming more than the message holds is read as far as it goes.
    let mut list = r.sub(list_len.min(r.remaining()))?;
    let mut chain = CertChain::default();
    while list.remaining() >= 3 {
        let l = len24(&mut list)?;
        let der = list.take(l)?;
        let first = chain.leaf.is_none();
        chain.add_cached(der, first, certs);
        chain.chain_len += 1;
        let ext = usize::from(list.u16()?);
        if list.skip(ext).is_err() {
            break;
        }
    }
    Ok(chain)
}

/// The SNI of a ClientHello body cut short, when its server_name extension is whole in
/// what arrived (the extensions before it are read as far as they go), and whether an
/// ECH extension came.
fn partial_hello_sni(body: &[u8]) -> (Option<String>, bool) {
    let mut hello = ClientHello::default();
    let mut r = Reader::new(body);
    let fixed = r
        .skip(2 + 32)
        .and_then(|()| r.u8())
        .and_then(|sid| r.skip(usize::from(sid)))
        .and_then(|()| r.u16())
        .and_then(|suites| r.skip(usize::from(suites)))
        .and_then(|()| r.u8())
        .and_then(|comp| r.skip(usize::from(comp)))
        // The extensions' length, which the cut makes a promise only.
        .and_then(|()| r.u16());
    if fixed.is_ok() {
        // Stops with an error at the cut extension; what came before it is read.
        let _ = client_extensions(r.rest(), &mut hello);
    }
    (hello.sni.filter(|s| !s.is_empty()), hello.ech)
}

/// Reads the ClientHello extensions into `hello`; a malformed extension list is read as
/// far as it goes (the error says where it stopped).
fn client_extensions(ext: &[u8], hello: &mut ClientHello) -> Result<()> {
    let mut r = Reader::new(ext);
    let mut bad = None;
    while !r.is_empty() {
        let whole = r.peek_rest();
        let ty = r.u16()?;
        let len = usize::from(r.u16()?);
        let body = r.take(len)?;
        let raw = whole.get(..4 + len).ok_or(WireError::Bad("extension"))?;
        hello.extensions.push(ty);
        match ty {
            // Only the outer hello travels in the clear (type 0); an inner one (1) would
            // be inside the encrypted payload.
            0xfe0d => hello.ech = body.first() != Some(&1),
            // A malformed list is left empty; the other extensions are still read.
            13 => match u16_list(body) {
                Ok(v) => hello.sig_algs = v,
                Err(e) => bad = Some(e),
            },
            16 => match first_alpn(body) {
                Ok(v) => hello.alpn_first = v,
                Err(e) => bad = Some(e),
            },
            _ => {}
        }
        if let Ok((_, e)) = parse_tls_client_hello_extension(raw) {
            match e {
                TlsExtension::SNI(names) => {
                    if let Some((_, n)) = names.iter().find(|(t, _)| t.0 == 0) {
                        hello.sni = Some(super::cert::printable_host(&String::from_utf8_lossy(n)));
                    }
                }
                TlsExtension::ALPN(list) => {
                    hello.alpn = list
                        .iter()
                        .map(|p| super::cert::printable(&String::from_utf8_lossy(p)))
                        .collect();
                }
                TlsExtension::SupportedVersions(v) => {
                    hello.versions = v.iter().map(|x| x.0).filter(|x| !is_grease(*x)).collect();
                }
                _ => {}
            }
        }
    }
    bad.map_or(Ok(()), Err)
}

/// A list of 16-bit values behind a 16-bit length (signature_algorithms).
fn u16_list(body: &[u8]) -> Result<Vec<u16>> {
    let mut r = Reader::new(body);
    let n = usize::from(r.u16()?);
    let mut list = r.sub(n)?;
    let mut v = Vec::with_capacity(n / 2);
    while !list.is_empty() {
        v.push(list.u16()?);
    }
    Ok(v)
}

/// The first protocol of an ALPN extension body, raw (`None`: an empty name).
fn first_alpn(body: &[u8]) -> Result<Option<Vec<u8>>> {
    let mut r = Reader::new(body);
    r.skip(2)?;
    let l = usize::from(r.u8()?);
    let name = r.take(l)?;
    Ok((!name.is_empty()).then(|| name.to_vec()))
}

/// Parses one complete handshake message (type, 24-bit length, body), e.g. a
/// ClientHello gathered from QUIC CRYPTO frames.
pub fn parse_handshake(msg: &[u8]) -> Option<TlsItem> {
    handshake(msg, &mut 0, &mut cert::CertCache::default())
}

/// From a ServerHello's extensions: the version its supported_versions extension selects,
/// and the protocol its ALPN extension (16, RFC 7301: exactly one name) chose.
fn server_extensions(ext: &[u8]) -> Result<(Option<u16>, Option<String>)> {
    let mut r = Reader::new(ext);
    let (mut version, mut alpn) = (None, None);
    while !r.is_empty() {
        let ty = r.u16()?;
        let len = usize::from(r.u16()?);
        let mut body = r.sub(len)?;
        match ty {
            43 if len == 2 => version = Some(body.u16()?),
            16 => {
                let list_len = usize::from(body.u16()?);
                let mut list = body.sub(list_len)?;
                let name_len = usize::from(list.u8()?);
                let name = list.take(name_len)?;
                alpn = Some(cert::printable(&String::from_utf8_lossy(name)));
            }
            _ => {}
        }
    }
    Ok((version, alpn))
}

/// Version number as people write it.
pub fn version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        v if v >> 8 == 0x7f => format!("TLS 1.3 (draft {})", v & 0xff),
        v => format!("0x{v:04x}"),
    }
}

/// Cipher suite name (IANA), or its number.
pub fn cipher_name(c: u16) -> String {
    tls_parser::TlsCipherSuite::from_id(c)
        .map(|s| s.name.to_string())
        .unwrap_or_else(|| format!("0x{c:04x}"))
}

/// Alert description name (RFC 8446 §6).
pub fn alert_name(d: u8) -> String {
    let s = match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        _ => return format!("alert_{d}"),
    };
    s.to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_handshake_message_over_the_bound_is_a_limit_not_not_tls() {
        // A ClientHello record whose handshake header claims 2 MiB.
        let mut rec = vec![22, 3, 1, 0, 100, 1, 0x20, 0, 0];
        rec.extend_from_slice(&[0u8; 96]);
        let mut r = TlsReader::default();
        let mut out = Vec::new();
        r.feed(&rec, &mut out, &mut cert::CertCache::default());
        assert!(out.is_empty(), "{out:?}");
        assert!(r.take_too_large());
        assert!(!r.take_too_large(), "reported once");
        assert!(r.failed());
        // One byte under the bound is still waited for.
        let mut rec = vec![22, 3, 1, 0, 100, 1, 0x10, 0, 0];
        rec.extend_from_slice(&[0u8; 96]);
        let mut r = TlsReader::default();
        r.feed(&rec, &mut out, &mut cert::CertCache::default());
        assert!(out.is_empty() && !r.take_too_large() && !r.failed());
    }

    #[test]
    fn a_record_begun_holds_what_came_not_the_room_its_header_announces() {
        // A 16 KB handshake record of which 1,000 bytes came: the reader holds 1,000
        // bytes, as the budget across flows counts (reserving the announced 16 KB let a
        // flood of such flows take 171 MiB under a 16 MiB budget).
        let mut rec = vec![22, 3, 1];
        rec.extend_from_slice(&16_000u16.to_be_bytes());
        rec.extend_from_slice(&[1, 0, 0x3e, 0x7b]);
        rec.resize(1_000, 0);
        let mut r = TlsReader::default();
        let mut out = Vec::new();
        r.feed(&rec, &mut out, &mut cert::CertCache::default());
        assert!(out.is_empty() && !r.failed());
        assert_eq!(r.held(), 1_000);
        assert!(r.buf.capacity() <= 1_024, "{}", r.buf.capacity());
    }

    #[test]
    fn a_record_read_after_pieces_leaves_no_room_behind_what_is_held() {
        // A 16,000-byte record in 1,448-byte segments, then one byte of the next: the
        // buffer the pieces grew into (23 KiB) went, one byte is held, one byte's room.
        let mut rec = vec![22, 3, 3];
        rec.extend_from_slice(&16_000u16.to_be_bytes());
        rec.extend_from_slice(&[99, 0, 0x3e, 0x7c]);
        rec.resize(5 + 16_000, 0);
        rec.push(22);
        let mut r = TlsReader::default();
        let mut out = Vec::new();
        for piece in rec.chunks(1_448) {
            r.feed(piece, &mut out, &mut cert::CertCache::default());
        }
        assert!(!r.failed());
        assert_eq!(r.held(), 1);
        assert!(r.buf.capacity() <= 8, "{}", r.buf.capacity());
        assert!(r.hs.capacity() <= 64, "{}", r.hs.capacity());
    }

    /// Records read where they arrive (nothing held) or after what was held: the same
    /// items, and the same bytes held, however the stream is cut into pieces.
    #[test]
    fn records_read_in_place_or_held_come_out_the_same_for_any_cut() {
        let rec = |ct: u8, body: &[u8]| {
            let mut r = vec![ct, 3, 3];
            r.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
            r.extend_from_slice(body);
            r
        };
        let mut stream = crate::parse::tests::client_hello("in-place.example");
        stream.extend(rec(21, &[1, 0]));
        stream.extend(rec(20, &[1]));
        stream.extend(rec(23, &[9; 300]));
        stream.extend(rec(23, &[8; 5000]));
        // A record begun and not whole at the end.
        stream.extend(&rec(23, &[7; 100])[..60]);
        let read = |sizes: &[usize]| {
            let (mut r, mut out) = (TlsReader::default(), Vec::new());
            let mut certs = cert::CertCache::default();
            let (mut at, mut i) = (0, 0);
            while at < stream.len() {
                let n = sizes[i % sizes.len()].min(stream.len() - at);
                r.feed(&stream[at..at + n], &mut out, &mut certs);
                at += n;
                i += 1;
            }
            (format!("{out:?}"), r.held(), r.failed())
        };
        let whole = read(&[stream.len()]);
        assert!(whole.0.contains("in-place.example"), "{}", whole.0);
        assert_eq!(whole.1, 60);
        for sizes in [
            &[1][..],
            &[2],
            &[3, 1],
            &[5],
            &[7, 100],
            &[1448],
            &[4000, 1],
            &[299, 5],
        ] {
            assert_eq!(read(sizes), whole, "{sizes:?}");
        }
    }
}
