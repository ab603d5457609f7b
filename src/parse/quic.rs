//! QUIC Initial packets: the ClientHello inside them, and what the server answered.
//!
//! QUIC v1 (RFC 9000/9001), v2 (RFC 9369), the drafts 23–34 and Google's T050/T051 (TLS
//! 1.3 in CRYPTO frames, [`Framing::Google`]) protect Initial
//! packets with keys anyone can derive from the client's Destination Connection ID
//! (RFC 9001 §5.2). probewatch derives them (HKDF-SHA256, `hkdf`), removes header
//! protection (AES-128 on a sample, `aes`) and decrypts (AES-128-GCM, `aes-gcm`), then
//! gathers CRYPTO frames, in any order and over any number of Initial packets, until the
//! ClientHello is complete. QUIC is recognised by its long header and version, on any
//! port; client-Initial-sized datagrams of other versions are counted by version
//! (`QuicStats::undecoded_versions`, at most [`MAX_UNDECODED_VERSIONS`] versions).
//!
//! Per client/server address pair a bounded table keeps the keys and the CRYPTO bytes
//! (both bounds are counted when hit), so the server's side can be read too: its Initial
//! (decrypted with the server keys: ServerHello, CONNECTION_CLOSE), Handshake packets,
//! Version Negotiation and Retry. Everything after the Initials is encrypted with keys
//! that only the endpoints have, including the server's certificate.

use std::net::SocketAddr;
use std::num::NonZeroUsize;

use aes::cipher::{generic_array::GenericArray, BlockEncrypt, KeyInit};
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::Aes128Gcm;
use hkdf::Hkdf;
use sha2::Sha256;

use super::keylog::KeyLog;
use super::quic_hs::{self, CryptoStream, Frame as HsFrame, PacketKeys, QuicHsError};
use super::reader::Reader;
use super::tls::{self, ClientHello, ServerHello, TlsItem};
use super::tls13::{self, Decrypted, Suite};
use crate::capture::Timestamp;

pub const VERSION_1: u32 = 0x0000_0001;
pub const VERSION_2: u32 = 0x6b33_43cf;

const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];
const SALT_DRAFT29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0,
    0x43, 0x90, 0xa8, 0x99,
];
/// Drafts 23 to 28 (draft-ietf-quic-tls-23 §5.2 to -28 §5.2; the test vector of
/// draft-ietf-quic-tls-27 Appendix A is in the unit tests). Wireshark uses it for the same
/// range (epan/dissectors/packet-quic.c, `quic_derive_initial_secrets`:
/// `is_quic_draft_max(version, 28)` → `handshake_salt_draft_23`), as does Chromium's
/// quiche (`kDraft27InitialSalt`).
const SALT_DRAFT23: [u8; 20] = [
    0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65,
    0xbe, 0xf9, 0xf5, 0x02,
];
/// Google QUIC T050 and T051 (Google's QUIC with TLS 1.3 in CRYPTO frames): the salts of
/// Chromium's quiche (quic/core/crypto/crypto_utils.cc, `kT050Salt`, `kT051Salt`, used by
/// `CryptoUtils::CreateInitialObfuscators` with the "client in"/"server in" secrets and
/// the "quic key"/"quic iv"/"quic hp" labels of the IETF drafts), the same bytes as
/// Wireshark's `hanshake_salt_draft_t50`/`_t51`.
const SALT_T050: [u8; 20] = [
    0x7f, 0xf5, 0x79, 0xe5, 0xac, 0xd0, 0x72, 0x91, 0x55, 0x80, 0x30, 0x4c, 0x43, 0xa2, 0x36, 0x7c,
    0x60, 0x48, 0x83, 0x10,
];
const SALT_T051: [u8; 20] = [
    0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee, 0x5f, 0xa4, 0x50, 0x6c, 0x19, 0x12, 0x4f, 0xc8, 0xcc,
    0xda, 0x6e, 0x03, 0x3d,
];

/// Google QUIC T050 ("T050") and T051 ("T051").
pub const VERSION_T050: u32 = 0x5430_3530;
pub const VERSION_T051: u32 = 0x5430_3531;

/// How a version's decrypted Initial payload is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// IETF QUIC frames (RFC 9000 §19; the same codepoints since draft 23).
    Ietf,
    /// Google QUIC frames (T050/T051): CRYPTO is type 0x08 (varint offset and length, as
    /// IETF's), PADDING 0x00 runs to the end of the packet, PING 0x07, CONNECTION_CLOSE
    /// 0x02 (a 32-bit code and a 16-bit reason length); ACK (0x40–0x7f) and STREAM
    /// (0x80–0xff) have Google's own layout, not read: the packet's frames after one are
    /// not read. Wireshark reads these versions so (packet-gquic.c,
    /// `dissect_gquic_frame_type`, `FT_CRYPTO` 0x08 for T050/T051).
    Google,
}

/// Salt, label style and framing of a version whose Initials probewatch can read.
#[derive(Clone, Copy, Debug)]
struct VersionInfo {
    salt: &'static [u8; 20],
    v2: bool,
    framing: Framing,
}

fn version_info(v: u32) -> Option<VersionInfo> {
    let ietf = |salt| {
        Some(VersionInfo {
            salt,
            v2: false,
            framing: Framing::Ietf,
        })
    };
    match v {
        VERSION_1 => ietf(&SALT_V1),
        VERSION_2 => Some(VersionInfo {
            salt: &SALT_V2,
            v2: true,
            framing: Framing::Ietf,
        }),
        0xff00_0017..=0xff00_001c => ietf(&SALT_DRAFT23),
        0xff00_001d..=0xff00_0020 => ietf(&SALT_DRAFT29),
        // Drafts 33 and 34 already use the salt of RFC 9001 (draft-ietf-quic-tls-34 §5.2;
        // Wireshark: `is_quic_draft_max(version, 34)` → `handshake_salt_v1`).
        0xff00_0021..=0xff00_0022 => ietf(&SALT_V1),
        VERSION_T050 => Some(VersionInfo {
            salt: &SALT_T050,
            v2: false,
            framing: Framing::Google,
        }),
        VERSION_T051 => Some(VersionInfo {
            salt: &SALT_T051,
            v2: false,
            framing: Framing::Google,
        }),
        _ => None,
    }
}

/// A version as people write it: `v1`, `v2`, `draft-29`, Google's `T051`/`Q050`, or hex.
pub fn version_name(v: u32) -> String {
    let b = v.to_be_bytes();
    match v {
        VERSION_1 => "v1".into(),
        VERSION_2 => "v2".into(),
        0xff00_0000..=0xff00_00ff => format!("draft-{}", v & 0xff),
        _ if matches!(b[0], b'Q' | b'T') && b[1..].iter().all(u8::is_ascii_digit) => {
            String::from_utf8_lossy(&b).into_owned()
        }
        v => format!("0x{v:08x}"),
    }
}

/// Most distinct QUIC versions counted in `QuicStats::undecoded_versions`; datagrams of
/// further versions are counted together (`undecoded_other`).
pub const MAX_UNDECODED_VERSIONS: usize = 16;

/// Initial-sized datagrams (RFC 9000 §14.1: a client pads its Initials to 1200 bytes) with
/// a QUIC long header of a version probewatch does not decode, by version. A fixed array,
/// so that copying the stats allocates nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VersionCounts {
    entries: [(u32, u64); MAX_UNDECODED_VERSIONS],
    len: usize,
    /// Datagrams of versions beyond the bound.
    pub other: u64,
}

impl VersionCounts {
    fn add(&mut self, version: u32) {
        let used = self.entries.get_mut(..self.len).unwrap_or_default();
        if let Some(e) = used.iter_mut().find(|e| e.0 == version) {
            e.1 += 1;
        } else if let Some(e) = self.entries.get_mut(self.len) {
            *e = (version, 1);
            self.len += 1;
        } else {
            self.other += 1;
        }
    }

    /// (version, datagrams), in the order first seen.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.entries.iter().take(self.len).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.other == 0
    }
}

/// A datagram that opens with a QUIC long header (form and fixed bits set, a version
/// other than 0, IETF-sized connection IDs, or Google's `Q`/`T` versions) of a version
/// not decoded, padded like a client Initial: its version, to be counted.
fn undecoded_version(d: &[u8]) -> Option<u32> {
    const MIN_INITIAL: usize = 1200;
    let first = *d.first()?;
    if first & 0xc0 != 0xc0 || d.len() < MIN_INITIAL {
        return None;
    }
    let v = be32(d, 1)?;
    if v == 0 || version_info(v).is_some() {
        return None;
    }
    let google = matches!(v.to_be_bytes()[0], b'Q' | b'T');
    let dcid = *d.get(5)?;
    let scid = usize::from(*d.get(6 + usize::from(dcid))?);
    (google || (dcid <= 20 && scid <= 20)).then_some(v)
}

/// Packet protection keys for one direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    pub key: [u8; 16],
    pub iv: [u8; 12],
    pub hp: [u8; 16],
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label(prk: &[u8], label: &str, out: &mut [u8]) -> Option<()> {
    let hk = Hkdf::<Sha256>::from_prk(prk).ok()?;
    let full = format!("tls13 {label}");
    let mut info = Vec::with_capacity(4 + full.len());
    info.extend_from_slice(&u16::try_from(out.len()).ok()?.to_be_bytes());
    info.push(u8::try_from(full.len()).ok()?);
    info.extend_from_slice(full.as_bytes());
    info.push(0);
    hk.expand(&info, out).ok()
}

/// The client and server Initial secrets for a Destination Connection ID (RFC 9001 §5.2).
pub fn initial_secrets(version: u32, dcid: &[u8]) -> Option<([u8; 32], [u8; 32])> {
    let info = version_info(version)?;
    let (prk, _) = Hkdf::<Sha256>::extract(Some(info.salt), dcid);
    let mut client = [0u8; 32];
    let mut server = [0u8; 32];
    expand_label(&prk, "client in", &mut client)?;
    expand_label(&prk, "server in", &mut server)?;
    Some((client, server))
}

/// key, iv and hp from a secret ("quic key" or, for v2, "quicv2 key", RFC 9369 §3.3.2).
pub fn keys_from_secret(secret: &[u8], v2: bool) -> Option<Keys> {
    let p = if v2 { "quicv2" } else { "quic" };
    let mut k = Keys {
        key: [0; 16],
        iv: [0; 12],
        hp: [0; 16],
    };
    expand_label(secret, &format!("{p} key"), &mut k.key)?;
    expand_label(secret, &format!("{p} iv"), &mut k.iv)?;
    expand_label(secret, &format!("{p} hp"), &mut k.hp)?;
    Some(k)
}

/// Client and server Initial keys for a Destination Connection ID.
pub fn initial_keys(version: u32, dcid: &[u8]) -> Option<(Keys, Keys)> {
    let v2 = version_info(version)?.v2;
    let (c, s) = initial_secrets(version, dcid)?;
    Some((keys_from_secret(&c, v2)?, keys_from_secret(&s, v2)?))
}

/// The header protection mask for a 16-byte sample (AES-128-ECB, RFC 9001 §5.4.3).
pub fn hp_mask(hp: &[u8; 16], sample: &[u8]) -> Option<[u8; 5]> {
    let cipher = aes::Aes128::new(GenericArray::from_slice(hp));
    let mut block = GenericArray::clone_from_slice(sample.get(..16)?);
    cipher.encrypt_block(&mut block);
    let mut m = [0u8; 5];
    for (d, s) in m.iter_mut().zip(block.iter()) {
        *d = *s;
    }
    Some(m)
}

/// A long-header packet after header protection was removed and the payload decrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The unprotected header (first byte to the end of the packet number).
    pub header: Vec<u8>,
    pub packet_number: u64,
    pub payload: Vec<u8>,
}

/// Removes header protection and decrypts one long-header packet; `pkt` is exactly the
/// packet (not the rest of the datagram) and `pn_offset` where its packet number starts.
pub fn open(pkt: &[u8], pn_offset: usize, keys: &Keys) -> Option<Opened> {
    let sample = pkt.get(pn_offset.checked_add(4)?..pn_offset.checked_add(20)?)?;
    let mask = hp_mask(&keys.hp, sample)?;
    let first = pkt.first()? ^ (mask.first()? & 0x0f);
    let pn_len = usize::from(first & 0x03) + 1;
    let mut header = pkt.get(..pn_offset + pn_len)?.to_vec();
    *header.first_mut()? = first;
    let mut pn: u64 = 0;
    for i in 0..pn_len {
        let b = header.get_mut(pn_offset + i)?;
        *b ^= mask.get(1 + i)?;
        pn = (pn << 8) | u64::from(*b);
    }
    let mut nonce = keys.iv;
    for (n, p) in nonce.iter_mut().rev().zip(pn.to_be_bytes().iter().rev()) {
        *n ^= p;
    }
    let aead = Aes128Gcm::new_from_slice(&keys.key).ok()?;
    let payload = aead
        .decrypt(
            GenericArray::from_slice(&nonce),
            Payload {
                msg: pkt.get(pn_offset + pn_len..)?,
                aad: &header,
            },
        )
        .ok()?;
    Some(Opened {
        header,
        packet_number: pn,
        payload,
    })
}

/// A QUIC variable-length integer (RFC 9000 §16) at `*pos`.
fn varint(d: &[u8], pos: &mut usize) -> Option<u64> {
    let mut r = Reader::new(d.get(*pos..)?);
    let v = r.varint().ok()?;
    *pos = d.len() - r.remaining();
    Some(v)
}

fn take<'a>(d: &'a [u8], pos: &mut usize, n: u64) -> Option<&'a [u8]> {
    let mut r = Reader::new(d.get(*pos..)?);
    let s = r.take(usize::try_from(n).ok()?).ok()?;
    *pos = d.len() - r.remaining();
    Some(s)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LongType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

/// The cleartext part of a long header.
struct Long<'a> {
    version: u32,
    ty: LongType,
    dcid: &'a [u8],
    #[allow(dead_code)]
    scid: &'a [u8],
    pn_offset: usize,
    /// Length of this packet within the datagram.
    end: usize,
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Reader::new(d.get(at..)?).u32().ok()
}

/// Reads a long header of a known version (not Version Negotiation).
fn long_header(d: &[u8]) -> Option<Long<'_>> {
    let first = *d.first()?;
    let version = be32(d, 1)?;
    let info = version_info(version)?;
    let mut pos = 5usize;
    let dcid_len = *d.get(pos)?;
    if dcid_len > 20 {
        return None;
    }
    let dcid = take(d, &mut { pos + 1 }, u64::from(dcid_len))?;
    pos += 1 + usize::from(dcid_len);
    let scid_len = *d.get(pos)?;
    if scid_len > 20 {
        return None;
    }
    let scid = take(d, &mut { pos + 1 }, u64::from(scid_len))?;
    pos += 1 + usize::from(scid_len);
    let bits = (first >> 4) & 0x03;
    let ty = match (info.v2, bits) {
        (false, 0) | (true, 1) => LongType::Initial,
        (false, 1) | (true, 2) => LongType::ZeroRtt,
        (false, 2) | (true, 3) => LongType::Handshake,
        _ => LongType::Retry,
    };
    if ty == LongType::Retry {
        return Some(Long {
            version,
            ty,
            dcid,
            scid,
            pn_offset: pos,
            end: d.len(),
        });
    }
    if ty == LongType::Initial {
        let token_len = varint(d, &mut pos)?;
        take(d, &mut pos, token_len)?;
    }
    let length = usize::try_from(varint(d, &mut pos)?).ok()?;
    let end = pos.checked_add(length)?;
    if end > d.len() || length < 20 {
        return None;
    }
    Some(Long {
        version,
        ty,
        dcid,
        scid,
        pn_offset: pos,
        end,
    })
}

/// Frames probewatch reads in Initial packets.
#[derive(Debug, PartialEq, Eq)]
enum Frame<'a> {
    Crypto {
        offset: u64,
        data: &'a [u8],
    },
    Close {
        code: u64,
        frame_type: Option<u64>,
        reason: &'a [u8],
        app: bool,
    },
}

/// The CRYPTO and CONNECTION_CLOSE frames of a decrypted Initial payload; `None` when
/// the payload holds something an Initial may not (RFC 9000 §12.4) or is cut short.
fn frames(p: &[u8], framing: Framing) -> Option<Vec<Frame<'_>>> {
    if framing == Framing::Google {
        return Some(google_frames(p));
    }
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < p.len() {
        let ty = varint(p, &mut pos)?;
        match ty {
            0x00 | 0x01 => {}
            0x02 | 0x03 => {
                varint(p, &mut pos)?; // largest acknowledged
                varint(p, &mut pos)?; // delay
                let ranges = varint(p, &mut pos)?;
                varint(p, &mut pos)?; // first range
                for _ in 0..ranges {
                    varint(p, &mut pos)?;
                    varint(p, &mut pos)?;
                }
                if ty == 0x03 {
                    for _ in 0..3 {
                        varint(p, &mut pos)?;
                    }
                }
            }
            0x06 => {
                let offset = varint(p, &mut pos)?;
                let len = varint(p, &mut pos)?;
                let data = take(p, &mut pos, len)?;
                out.push(Frame::Crypto { offset, data });
            }
            0x1c | 0x1d => {
                let code = varint(p, &mut pos)?;
                let frame_type = if ty == 0x1c {
                    Some(varint(p, &mut pos)?)
                } else {
                    None
                };
                let len = varint(p, &mut pos)?;
                let reason = take(p, &mut pos, len)?;
                out.push(Frame::Close {
                    code,
                    frame_type,
                    reason,
                    app: ty == 0x1d,
                });
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The CRYPTO and CONNECTION_CLOSE frames of a T050/T051 Initial ([`Framing::Google`]),
/// up to the first frame whose layout is Google's own (ACK, STREAM, …) or that is cut
/// short.
fn google_frames(p: &[u8]) -> Vec<Frame<'_>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while let Some(ty) = p.get(pos).copied() {
        pos += 1;
        match ty {
            0x00 => break, // PADDING: the rest of the packet
            0x07 => {}     // PING
            0x08 => {
                let Some(offset) = varint(p, &mut pos) else {
                    break;
                };
                let Some(data) = varint(p, &mut pos).and_then(|n| take(p, &mut pos, n)) else {
                    break;
                };
                out.push(Frame::Crypto { offset, data });
            }
            0x02 => {
                let (Some(code), Some(len)) = (
                    take(p, &mut pos, 4).and_then(|b| Reader::new(b).u32().ok()),
                    take(p, &mut pos, 2).and_then(|b| Reader::new(b).u16().ok()),
                ) else {
                    break;
                };
                let Some(reason) = take(p, &mut pos, u64::from(len)) else {
                    break;
                };
                out.push(Frame::Close {
                    code: u64::from(code),
                    frame_type: None,
                    reason,
                    app: false,
                });
            }
            _ => break,
        }
    }
    out
}

/// CRYPTO stream bytes of one direction, gathered from frames in any order.
#[derive(Clone, Debug, Default)]
struct CryptoBuf {
    data: Vec<u8>,
    /// Received byte ranges, sorted and merged.
    ranges: Vec<(usize, usize)>,
}

/// Most separate holes kept in a CRYPTO stream before giving up on it.
const MAX_CRYPTO_RANGES: usize = 64;

impl CryptoBuf {
    /// Stores a frame; `false` when it would pass the bound.
    fn insert(&mut self, offset: u64, bytes: &[u8], max: usize) -> bool {
        let Ok(start) = usize::try_from(offset) else {
            return false;
        };
        let Some(end) = start.checked_add(bytes.len()) else {
            return false;
        };
        if end > max {
            return false;
        }
        if bytes.is_empty() {
            return true;
        }
        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        if let Some(dst) = self.data.get_mut(start..end) {
            dst.copy_from_slice(bytes);
        }
        self.ranges.push((start, end));
        self.ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.ranges.len());
        for &(s, e) in &self.ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.ranges = merged;
        self.ranges.len() <= MAX_CRYPTO_RANGES
    }

    /// Contiguous bytes from offset 0.
    fn prefix(&self) -> usize {
        match self.ranges.first() {
            Some(&(0, e)) => e,
            _ => 0,
        }
    }

    /// The first handshake message's declared total length, once its header is in.
    fn first_message_len(&self) -> Option<usize> {
        if self.prefix() < 4 {
            return None;
        }
        let d = &self.data;
        Some(
            4 + ((usize::from(*d.get(1)?) << 16)
                | (usize::from(*d.get(2)?) << 8)
                | usize::from(*d.get(3)?)),
        )
    }

    /// The first handshake message, once complete.
    fn first_message(&self) -> Option<&[u8]> {
        let n = self.first_message_len()?;
        if self.prefix() >= n {
            self.data.get(..n)
        } else {
            None
        }
    }
}

/// What the QUIC reader tells the next stage, per client/server pair.
#[derive(Clone, Debug)]
pub enum QuicItem {
    /// A complete ClientHello from the client's Initial packets.
    Hello {
        version: u32,
        /// The Destination Connection ID the Initial keys came from, hex.
        dcid: String,
        hello: Box<ClientHello>,
        /// Initial packets whose CRYPTO frames made up the hello.
        packets: u32,
    },
    /// The server sent an Initial packet we could decrypt.
    ServerInitial,
    /// The ServerHello from the server's Initial packets.
    ServerHello(ServerHello),
    /// The server sent a Handshake packet (encrypted with handshake keys).
    ServerHandshake,
    /// The server does not speak the client's version.
    VersionNegotiation { versions: Vec<u32> },
    /// The server asked the client to prove its address (a new DCID follows).
    Retry,
    /// A CONNECTION_CLOSE readable in an Initial packet.
    Close {
        from_server: bool,
        code: u64,
        frame_type: Option<u64>,
        reason: String,
        app: bool,
    },
    /// The client sent 1-RTT (short header) packets: the handshake completed.
    ClientOneRtt,
    /// What the key log opened of the server's Handshake packets.
    Decrypted(Decrypted),
}

/// Bounds of the QUIC reader.
#[derive(Clone, Copy, Debug)]
pub struct QuicLimits {
    /// Client/server pairs tracked (keys, CRYPTO bytes, answers seen).
    pub max_conns: usize,
    /// CRYPTO bytes buffered per direction of one connection.
    pub max_crypto: usize,
}

impl Default for QuicLimits {
    fn default() -> Self {
        QuicLimits {
            max_conns: 4096,
            max_crypto: 64 * 1024,
        }
    }
}

/// Counters, shown in the stats.
#[derive(Clone, Debug, Default)]
pub struct QuicStats {
    /// UDP datagrams recognised as QUIC.
    pub datagrams: u64,
    /// Initial packets decrypted (client and server).
    pub initials_decrypted: u64,
    /// Initial packets that did not decrypt with any key we could derive.
    pub undecryptable: u64,
    /// Complete ClientHellos read.
    pub hellos: u64,
    /// Packets or frames that are not valid QUIC.
    pub malformed: u64,
    /// Connections dropped from the table because it was full.
    pub conn_evictions: u64,
    /// Connections given up because their CRYPTO data passed the bound.
    pub crypto_over_limit: u64,
    /// Handshake packets opened with the key log.
    pub decrypt: tls13::DecryptStats,
    /// Client-Initial-sized datagrams of QUIC versions not decoded, by version.
    pub undecoded_versions: VersionCounts,
}

#[derive(Clone, Debug)]
struct Conn {
    version: u32,
    dcid: Vec<u8>,
    client_keys: Keys,
    server_keys: Keys,
    crypto: CryptoBuf,
    server_crypto: CryptoBuf,
    packets: u32,
    hello_sent: bool,
    server_hello_sent: bool,
    server_initial: bool,
    server_handshake: bool,
    one_rtt: bool,
    retry: bool,
    /// CRYPTO data passed the bound: nothing more is read.
    given_up: bool,
    client_random: Option<[u8; 32]>,
    /// The cipher suite of the ServerHello.
    cipher: Option<u16>,
    /// The server's Handshake packets under the key log.
    hs: HsDecrypt,
}

/// The key log's work on the server's Handshake packets of one connection.
#[derive(Clone, Debug, Default)]
enum HsDecrypt {
    #[default]
    Waiting,
    /// Packets kept until the secret is found (a live capture); "no key" said once.
    NoKey {
        pending: Vec<(Vec<u8>, usize, bool)>,
    },
    Active {
        keys: Box<PacketKeys>,
        crypto: Box<CryptoStream>,
        largest: Option<u64>,
        cert: bool,
    },
    Done,
}

impl Conn {
    fn new(version: u32, dcid: &[u8], client_keys: Keys, server_keys: Keys) -> Conn {
        Conn {
            version,
            dcid: dcid.to_vec(),
            client_keys,
            server_keys,
            crypto: CryptoBuf::default(),
            server_crypto: CryptoBuf::default(),
            packets: 0,
            hello_sent: false,
            server_hello_sent: false,
            server_initial: false,
            server_handshake: false,
            one_rtt: false,
            retry: false,
            given_up: false,
            client_random: None,
            cipher: None,
            hs: HsDecrypt::Waiting,
        }
    }
}

/// One fact for the next stage: when, between whom, what.
pub type Out = (Timestamp, SocketAddr, SocketAddr, QuicItem);

/// The QUIC reader: recognises QUIC datagrams and follows each client/server pair.
pub struct QuicReader {
    limits: QuicLimits,
    conns: crate::correlate::bounded::Lru<(SocketAddr, SocketAddr), Conn>,
    pub stats: QuicStats,
}

/// Looks like a QUIC long-header packet of a version probewatch reads (or Version
/// Negotiation, version 0).
pub fn looks_like_quic(d: &[u8]) -> bool {
    d.len() >= 7
        && d.first().is_some_and(|b| b & 0x80 != 0)
        && be32(d, 1).is_some_and(|v| v == 0 || version_info(v).is_some())
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

impl QuicReader {
    pub fn new(limits: QuicLimits) -> Self {
        let cap = NonZeroUsize::new(limits.max_conns.max(1)).unwrap_or(NonZeroUsize::MIN);
        QuicReader {
            limits,
            conns: crate::correlate::bounded::Lru::new(cap),
            stats: QuicStats::default(),
        }
    }

    /// Reads one UDP datagram; returns `false` when it is not QUIC (nothing recorded).
    pub fn datagram(
        &mut self,
        ts: Timestamp,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
        keylog: Option<&KeyLog>,
        out: &mut Vec<Out>,
    ) -> bool {
        let from_client = self.conns.contains(&(src, dst));
        let from_server = !from_client && self.conns.contains(&(dst, src));
        if !looks_like_quic(payload) && !from_client && !from_server {
            let Some(v) = undecoded_version(payload) else {
                return false;
            };
            self.stats.datagrams += 1;
            self.stats.undecoded_versions.add(v);
            return true;
        }
        self.stats.datagrams += 1;
        if let Some(log) = keylog {
            // Server Handshake packets held for a key line that was not there yet (a live
            // capture): any later datagram of the connection tries again.
            let key = if from_client { (src, dst) } else { (dst, src) };
            let max = self.limits.max_crypto;
            if let Some(c) = self.conns.get_mut(&key) {
                if matches!(c.hs, HsDecrypt::NoKey { .. }) {
                    let items = server_handshake(c, log, None, max, &mut self.stats.decrypt);
                    out.extend(
                        items
                            .into_iter()
                            .map(|d| (ts, key.0, key.1, QuicItem::Decrypted(d))),
                    );
                }
            }
        }
        let mut pos = 0usize;
        while let Some(rest) = payload.get(pos..).filter(|r| !r.is_empty()) {
            let Ok(first) = Reader::new(rest).u8() else {
                break; // not reached: `rest` is not empty
            };
            if first & 0x80 == 0 {
                // A short header (fixed bit set, long enough for a DCID, a packet number
                // and the AEAD tag): 1-RTT, the handshake is done. It runs to the end.
                // Zero bytes after coalesced packets are padding, not a packet.
                if first & 0x40 != 0 && rest.len() >= 22 {
                    self.short_header(ts, src, dst, out);
                }
                break;
            }
            let Some(version) = be32(rest, 1) else {
                self.stats.malformed += 1;
                break;
            };
            if version == 0 {
                self.version_negotiation(ts, src, dst, rest, out);
                break;
            }
            let Some(h) = long_header(rest) else {
                // An unknown version, or a header cut short. Trailing zero padding after
                // coalesced packets is not an error.
                if rest.iter().any(|b| *b != 0) && pos == 0 {
                    self.stats.malformed += 1;
                }
                break;
            };
            let pkt = rest.get(..h.end).unwrap_or(rest);
            match h.ty {
                LongType::Initial => self.initial(ts, src, dst, &h, pkt, out),
                LongType::Handshake => {
                    if let Some(c) = self.conns.get_mut(&(dst, src)) {
                        if !c.server_handshake {
                            c.server_handshake = true;
                            out.push((ts, dst, src, QuicItem::ServerHandshake));
                        }
                        if let Some(log) = keylog {
                            let v2 = version_info(h.version).is_some_and(|i| i.v2);
                            let max = self.limits.max_crypto;
                            let items = server_handshake(
                                c,
                                log,
                                Some((pkt, h.pn_offset, v2)),
                                max,
                                &mut self.stats.decrypt,
                            );
                            out.extend(
                                items
                                    .into_iter()
                                    .map(|d| (ts, dst, src, QuicItem::Decrypted(d))),
                            );
                        }
                    }
                }
                LongType::ZeroRtt => {}
                LongType::Retry => {
                    self.retry(ts, src, dst, out);
                    break;
                }
            }
            pos += h.end.max(1);
        }
        true
    }

    fn short_header(
        &mut self,
        ts: Timestamp,
        src: SocketAddr,
        dst: SocketAddr,
        out: &mut Vec<Out>,
    ) {
        if let Some(c) = self.conns.get_mut(&(src, dst)) {
            if c.hello_sent && !c.one_rtt {
                c.one_rtt = true;
                out.push((ts, src, dst, QuicItem::ClientOneRtt));
            }
        }
    }

    fn version_negotiation(
        &mut self,
        ts: Timestamp,
        src: SocketAddr,
        dst: SocketAddr,
        d: &[u8],
        out: &mut Vec<Out>,
    ) {
        // Only believed as an answer to a client we follow.
        let Some(c) = self.conns.get_mut(&(dst, src)) else {
            return;
        };
        let mut pos = 5usize;
        let mut ok = (|| {
            let l = usize::from(*d.get(pos)?);
            pos += 1 + l;
            let l = usize::from(*d.get(pos)?);
            pos += 1 + l;
            Some(())
        })()
        .is_some();
        let mut versions = Vec::new();
        while let Some(v) = be32(d, pos) {
            versions.push(v);
            pos += 4;
        }
        ok &= pos == d.len() && !versions.is_empty();
        if !ok {
            self.stats.malformed += 1;
            return;
        }
        if !c.server_initial {
            c.server_initial = true; // counts as an answer; reported once
            out.push((ts, dst, src, QuicItem::VersionNegotiation { versions }));
        }
    }

    fn retry(&mut self, ts: Timestamp, src: SocketAddr, dst: SocketAddr, out: &mut Vec<Out>) {
        if let Some(c) = self.conns.get_mut(&(dst, src)) {
            if !c.retry {
                c.retry = true;
                out.push((ts, dst, src, QuicItem::Retry));
            }
        }
    }

    fn initial(
        &mut self,
        ts: Timestamp,
        src: SocketAddr,
        dst: SocketAddr,
        h: &Long<'_>,
        pkt: &[u8],
        out: &mut Vec<Out>,
    ) {
        if self.conns.contains(&(dst, src)) {
            self.server_initial(ts, src, dst, h, pkt, out);
            return;
        }
        // From the client: the keys we have, else keys from this packet's own DCID (a
        // new connection, or the new DCID after a Retry).
        let known = self
            .conns
            .get(&(src, dst))
            .and_then(|c| open(pkt, h.pn_offset, &c.client_keys));
        let opened = match known {
            Some(o) => o,
            None => {
                let Some((ck, sk)) = initial_keys(h.version, h.dcid) else {
                    return;
                };
                let Some(o) = open(pkt, h.pn_offset, &ck) else {
                    self.stats.undecryptable += 1;
                    return;
                };
                let retried = self.conns.peek(&(src, dst)).filter(|c| c.retry).cloned();
                let conn = match retried {
                    // After a Retry the hello is sent again under keys from the new DCID;
                    // it is the same attempt.
                    Some(mut c) => {
                        c.client_keys = ck;
                        c.server_keys = sk;
                        c.dcid = h.dcid.to_vec();
                        c.crypto = CryptoBuf::default();
                        c.server_crypto = CryptoBuf::default();
                        c.retry = true;
                        c
                    }
                    None => Conn::new(h.version, h.dcid, ck, sk),
                };
                if !self.conns.contains(&(src, dst)) && self.conns.len() >= self.limits.max_conns {
                    self.stats.conn_evictions += 1;
                }
                self.conns.put((src, dst), conn);
                o
            }
        };
        self.stats.initials_decrypted += 1;
        let framing = version_info(h.version).map_or(Framing::Ietf, |i| i.framing);
        let Some(frames) = frames(&opened.payload, framing) else {
            self.stats.malformed += 1;
            return;
        };
        let max = self.limits.max_crypto;
        let Some(c) = self.conns.get_mut(&(src, dst)) else {
            return;
        };
        let mut over = false;
        let mut carried = false;
        for f in frames {
            match f {
                Frame::Crypto { offset, data } => {
                    carried = true;
                    if !c.given_up && !c.crypto.insert(offset, data, max) {
                        over = true;
                    }
                }
                Frame::Close {
                    code,
                    frame_type,
                    reason,
                    app,
                } => out.push((
                    ts,
                    src,
                    dst,
                    QuicItem::Close {
                        from_server: false,
                        code,
                        frame_type,
                        reason: super::cert::printable(&String::from_utf8_lossy(reason)),
                        app,
                    },
                )),
            }
        }
        if c.given_up || c.hello_sent && !c.retry {
            return;
        }
        if carried && !c.hello_sent {
            c.packets += 1;
        }
        if over || c.crypto.first_message_len().is_some_and(|n| n > max) {
            c.given_up = true;
            c.crypto = CryptoBuf::default();
            self.stats.crypto_over_limit += 1;
            return;
        }
        let Some(msg) = c.crypto.first_message() else {
            return;
        };
        if c.hello_sent {
            // The hello re-sent after a Retry: already reported.
            c.crypto = CryptoBuf::default();
            return;
        }
        match tls::parse_handshake(msg) {
            Some(TlsItem::ClientHello(mut hello)) => {
                // JA4's `q` is the transport: a hello read from QUIC Initials is QUIC even
                // when it carries its transport parameters under a draft codepoint
                // (0xffa5 in drafts 23–28 and Google's T050/T051) or none.
                if let Some(j) = hello.ja4.as_mut().filter(|j| j.starts_with('t')) {
                    j.replace_range(..1, "q");
                }
                c.hello_sent = true;
                c.client_random = hello.random;
                c.crypto = CryptoBuf::default();
                self.stats.hellos += 1;
                out.push((
                    ts,
                    src,
                    dst,
                    QuicItem::Hello {
                        version: c.version,
                        dcid: hex(&c.dcid),
                        hello: Box::new(hello),
                        packets: c.packets,
                    },
                ));
            }
            _ => {
                c.given_up = true;
                c.crypto = CryptoBuf::default();
                self.stats.malformed += 1;
            }
        }
    }

    fn server_initial(
        &mut self,
        ts: Timestamp,
        src: SocketAddr,
        dst: SocketAddr,
        h: &Long<'_>,
        pkt: &[u8],
        out: &mut Vec<Out>,
    ) {
        let max = self.limits.max_crypto;
        let Some(c) = self.conns.get_mut(&(dst, src)) else {
            return;
        };
        let Some(opened) = open(pkt, h.pn_offset, &c.server_keys) else {
            self.stats.undecryptable += 1;
            return;
        };
        self.stats.initials_decrypted += 1;
        if !c.server_initial {
            c.server_initial = true;
            out.push((ts, dst, src, QuicItem::ServerInitial));
        }
        let framing = version_info(h.version).map_or(Framing::Ietf, |i| i.framing);
        let Some(frames) = frames(&opened.payload, framing) else {
            self.stats.malformed += 1;
            return;
        };
        for f in frames {
            match f {
                Frame::Crypto { offset, data } => {
                    if !c.server_hello_sent {
                        c.server_crypto.insert(offset, data, max);
                    }
                }
                Frame::Close {
                    code,
                    frame_type,
                    reason,
                    app,
                } => out.push((
                    ts,
                    dst,
                    src,
                    QuicItem::Close {
                        from_server: true,
                        code,
                        frame_type,
                        reason: super::cert::printable(&String::from_utf8_lossy(reason)),
                        app,
                    },
                )),
            }
        }
        if c.server_hello_sent {
            return;
        }
        if let Some(msg) = c.server_crypto.first_message() {
            c.server_hello_sent = true;
            if let Some(TlsItem::ServerHello(sh)) = tls::parse_handshake(msg) {
                c.cipher = Some(sh.cipher);
                out.push((ts, dst, src, QuicItem::ServerHello(sh)));
            }
            c.server_crypto = CryptoBuf::default();
        }
    }
}

/// Server Handshake packets held while the key log has no line for the connection.
pub const MAX_PENDING_PACKETS: usize = 32;

/// One server Handshake packet (`pkt`, its packet number offset, QUIC v2 or not) under
/// the key log: what it showed.
fn server_handshake(
    c: &mut Conn,
    log: &KeyLog,
    pkt: Option<(&[u8], usize, bool)>,
    max: usize,
    st: &mut tls13::DecryptStats,
) -> Vec<Decrypted> {
    let mut out = Vec::new();
    let pending = match (&mut c.hs, pkt) {
        (HsDecrypt::Done, _) | (HsDecrypt::Waiting | HsDecrypt::Active { .. }, None) => return out,
        (HsDecrypt::Active { .. }, Some((bytes, pn_offset, v2))) => {
            vec![(bytes.to_vec(), pn_offset, v2)]
        }
        (HsDecrypt::Waiting | HsDecrypt::NoKey { .. }, _) => {
            let Some(cipher) = c.cipher else {
                return out; // the ServerHello was not read: no suite to derive keys for
            };
            let Some(suite) = Suite::from_id(cipher) else {
                st.unsupported_suite += 1;
                c.hs = HsDecrypt::Done;
                out.push(Decrypted::UnsupportedSuite(cipher));
                return out;
            };
            let mut held = match std::mem::take(&mut c.hs) {
                HsDecrypt::NoKey { pending } => pending,
                _ => Vec::new(),
            };
            let told = !held.is_empty();
            if let Some((bytes, pn_offset, v2)) = pkt {
                if held.len() < MAX_PENDING_PACKETS {
                    held.push((bytes.to_vec(), pn_offset, v2));
                } else {
                    st.over_limit += 1;
                }
            }
            let secret = c
                .client_random
                .as_ref()
                .and_then(|r| log.get(r))
                .and_then(|s| s.server_handshake);
            let Some(secret) = secret else {
                if !told {
                    st.no_key += 1;
                    out.push(Decrypted::NoKey);
                }
                c.hs = HsDecrypt::NoKey { pending: held };
                return out;
            };
            // Handshake packets all have the connection's final version.
            let v2 = held.first().is_some_and(|p| p.2);
            match quic_hs::packet_keys(suite, secret.as_bytes(), v2) {
                Ok(keys) => {
                    c.hs = HsDecrypt::Active {
                        keys: Box::new(keys),
                        crypto: Box::default(),
                        largest: None,
                        cert: false,
                    };
                    held
                }
                Err(_) => {
                    st.auth_failures += 1;
                    c.hs = HsDecrypt::Done;
                    out.push(Decrypted::WrongKey);
                    return out;
                }
            }
        }
    };
    for (p, off, _) in pending {
        let HsDecrypt::Active {
            keys,
            crypto,
            largest,
            cert,
        } = &mut c.hs
        else {
            break;
        };
        let opened = match quic_hs::open_packet(&p, off, keys, *largest, true) {
            Ok(o) => o,
            Err(QuicHsError::Authentication) => {
                st.auth_failures += 1;
                if largest.is_none() {
                    out.push(Decrypted::WrongKey);
                    c.hs = HsDecrypt::Done;
                    break;
                }
                continue; // a damaged copy after good ones
            }
            Err(_) => continue,
        };
        st.decrypted += 1;
        *largest = Some(largest.map_or(opened.packet_number, |l| l.max(opened.packet_number)));
        let Ok(frames) = quic_hs::frames(&opened.payload) else {
            continue;
        };
        let mut msgs = Vec::new();
        for f in frames {
            if let HsFrame::Crypto { offset, data } = f {
                if crypto.insert(offset, data, max, &mut msgs).is_err() {
                    st.over_limit += 1;
                    c.hs = HsDecrypt::Done;
                    return out;
                }
            }
        }
        let mut finished = false;
        for m in &msgs {
            match m.first() {
                Some(11) => {
                    if let Some(chain) = tls13::certificate(m) {
                        *cert = true;
                        st.certificates += 1;
                        out.push(Decrypted::Certificate(Box::new(chain)));
                    }
                }
                Some(13) => out.push(Decrypted::CertificateRequested),
                Some(&tls13::HS_FINISHED) => {
                    if !*cert {
                        out.push(Decrypted::NoCertificate);
                    }
                    finished = true;
                }
                _ => {}
            }
        }
        if finished {
            c.hs = HsDecrypt::Done;
            break;
        }
    }
    out
}

/// What a CONNECTION_CLOSE error code means (RFC 9000 §20; 0x01XX carries a TLS alert).
pub fn error_name(code: u64, app: bool) -> String {
    if app {
        return format!("application error 0x{code:x}");
    }
    let s = match code {
        0x00 => "NO_ERROR",
        0x01 => "INTERNAL_ERROR",
        0x02 => "CONNECTION_REFUSED",
        0x03 => "FLOW_CONTROL_ERROR",
        0x04 => "STREAM_LIMIT_ERROR",
        0x05 => "STREAM_STATE_ERROR",
        0x06 => "FINAL_SIZE_ERROR",
        0x07 => "FRAME_ENCODING_ERROR",
        0x08 => "TRANSPORT_PARAMETER_ERROR",
        0x09 => "CONNECTION_ID_LIMIT_ERROR",
        0x0a => "PROTOCOL_VIOLATION",
        0x0b => "INVALID_TOKEN",
        0x0c => "APPLICATION_ERROR",
        0x0d => "CRYPTO_BUFFER_EXCEEDED",
        0x0e => "KEY_UPDATE_ERROR",
        0x0f => "AEAD_LIMIT_REACHED",
        0x10 => "NO_VIABLE_PATH",
        0x11 => "VERSION_NEGOTIATION_ERROR",
        0x0100..=0x01ff => {
            return format!(
                "CRYPTO_ERROR (TLS alert {})",
                tls::alert_name(u8::try_from(code & 0xff).unwrap_or(0))
            )
        }
        _ => return format!("error 0x{code:x}"),
    };
    s.to_string()
}

#[cfg(test)]
mod tests;
