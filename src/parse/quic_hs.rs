//! QUIC Handshake packets opened with a key log (RFC 9001 §5, RFC 9369 §3.3).
//!
//! The server's certificate travels in CRYPTO frames of Handshake packets, protected
//! with keys derived from the handshake traffic secrets: the same secrets as TLS 1.3 over
//! TCP (`SERVER_HANDSHAKE_TRAFFIC_SECRET`, …), expanded with the `quic key`/`quic iv`/
//! `quic hp` labels (`quicv2 …` for QUIC v2) in the hash of the negotiated cipher suite.
//! This module derives those keys ([`packet_keys`]), removes header protection
//! (AES-128/AES-256 on a sample, or ChaCha20), decodes the truncated packet number
//! against the largest one seen (RFC 9000 §A.3), decrypts ([`open_packet`]), reads the
//! frames a Handshake packet may hold ([`frames`]) and gathers the CRYPTO stream in
//! order, bounded ([`CryptoStream`]), into handshake messages.
//!
//! A packet that does not authenticate is [`QuicHsError::Authentication`]: counted by
//! the caller, never read.

use std::collections::BTreeMap;

use aes::cipher::{generic_array::GenericArray, BlockEncrypt, KeyInit};
use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};

use super::reader::{Reader, Result as ReadResult, WireError};
use super::tls13::{self, HandshakeBuf, Suite, Tls13Error, TrafficKeys};

/// Why a Handshake packet gave nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuicHsError {
    /// The secret does not fit the suite (see [`Tls13Error::SecretLength`]).
    Keys(Tls13Error),
    /// Too short for a packet number and a header protection sample.
    Short,
    /// The packet did not authenticate: wrong key, or damaged.
    Authentication,
    /// A frame a Handshake packet may not carry, or one cut short.
    Frames,
    /// The CRYPTO stream passed its bound, or a message passed its own.
    OverLimit,
}

/// The header protection key of a suite (RFC 9001 §5.4).
#[derive(Clone, PartialEq, Eq)]
pub enum HeaderKey {
    Aes128([u8; 16]),
    Aes256([u8; 32]),
    ChaCha20([u8; 32]),
}

impl std::fmt::Debug for HeaderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = match self {
            HeaderKey::Aes128(_) => "Aes128",
            HeaderKey::Aes256(_) => "Aes256",
            HeaderKey::ChaCha20(_) => "ChaCha20",
        };
        write!(f, "HeaderKey::{n}")
    }
}

impl HeaderKey {
    /// The 5-byte mask for a 16-byte sample.
    pub fn mask(&self, sample: &[u8]) -> Option<[u8; 5]> {
        let sample = sample.get(..16)?;
        let mut m = [0u8; 5];
        match self {
            HeaderKey::Aes128(k) => {
                let mut block = GenericArray::clone_from_slice(sample);
                aes::Aes128::new(GenericArray::from_slice(k)).encrypt_block(&mut block);
                m.copy_from_slice(block.get(..5)?);
            }
            HeaderKey::Aes256(k) => {
                let mut block = GenericArray::clone_from_slice(sample);
                aes::Aes256::new(GenericArray::from_slice(k)).encrypt_block(&mut block);
                m.copy_from_slice(block.get(..5)?);
            }
            HeaderKey::ChaCha20(k) => {
                // counter = the sample's first 4 bytes (little-endian), nonce the rest.
                let counter = u32::from_le_bytes(sample.get(..4)?.try_into().ok()?);
                let mut c = chacha20::ChaCha20::new(
                    GenericArray::from_slice(k),
                    GenericArray::from_slice(sample.get(4..16)?),
                );
                c.try_seek(u64::from(counter) * 64).ok()?;
                c.apply_keystream(&mut m);
            }
        }
        Some(m)
    }
}

/// Packet protection keys of one direction and one packet number space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketKeys {
    pub aead: TrafficKeys,
    pub hp: HeaderKey,
}

/// QUIC packet keys from a TLS traffic secret (`v2`: QUIC v2's labels).
pub fn packet_keys(suite: Suite, secret: &[u8], v2: bool) -> Result<PacketKeys, QuicHsError> {
    let prefix = if v2 { "quicv2 " } else { "quic " };
    let aead = tls13::keys_with_prefix(suite, secret, prefix).map_err(QuicHsError::Keys)?;
    let hash = suite.hash();
    let label = format!("{prefix}hp");
    let hp = match suite {
        Suite::Aes128GcmSha256 | Suite::Aes128CcmSha256 => {
            let mut k = [0u8; 16];
            tls13::expand_label(hash, secret, &label, &[], &mut k).map_err(QuicHsError::Keys)?;
            HeaderKey::Aes128(k)
        }
        Suite::Aes256GcmSha384 | Suite::Chacha20Poly1305Sha256 => {
            let mut k = [0u8; 32];
            tls13::expand_label(hash, secret, &label, &[], &mut k).map_err(QuicHsError::Keys)?;
            if suite == Suite::Aes256GcmSha384 {
                HeaderKey::Aes256(k)
            } else {
                HeaderKey::ChaCha20(k)
            }
        }
    };
    Ok(PacketKeys { aead, hp })
}

/// The full packet number from its truncated form (RFC 9000 §A.3).
pub fn decode_packet_number(largest: Option<u64>, truncated: u64, pn_len: usize) -> u64 {
    let bits = 8 * u32::try_from(pn_len.clamp(1, 4)).unwrap_or(4);
    let expected = largest.map_or(0, |l| l.saturating_add(1));
    let win = 1u64 << bits;
    let hwin = win / 2;
    let mask = win - 1;
    let candidate = (expected & !mask) | truncated;
    if candidate.saturating_add(hwin) <= expected && candidate < (1u64 << 62) - win {
        candidate + win
    } else if candidate > expected.saturating_add(hwin) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

/// A packet after header protection was removed and the payload decrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedPacket {
    /// The unprotected header (first byte to the end of the packet number).
    pub header: Vec<u8>,
    pub packet_number: u64,
    pub payload: Vec<u8>,
}

/// Removes header protection and decrypts one packet: `pkt` is exactly the packet,
/// `pn_offset` where its packet number starts, `largest` the largest packet number
/// received so far in this space, `long` whether it has a long header.
pub fn open_packet(
    pkt: &[u8],
    pn_offset: usize,
    keys: &PacketKeys,
    largest: Option<u64>,
    long: bool,
) -> Result<OpenedPacket, QuicHsError> {
    let sample = pkt
        .get(pn_offset + 4..pn_offset + 20)
        .ok_or(QuicHsError::Short)?;
    let mask = keys.hp.mask(sample).ok_or(QuicHsError::Short)?;
    let [m0, m1, m2, m3, m4] = mask;
    let first = pkt.first().ok_or(QuicHsError::Short)? ^ (m0 & if long { 0x0f } else { 0x1f });
    let pn_len = usize::from(first & 0x03) + 1;
    let mut header = pkt
        .get(..pn_offset + pn_len)
        .ok_or(QuicHsError::Short)?
        .to_vec();
    if let Some(b) = header.first_mut() {
        *b = first;
    }
    let mut truncated = 0u64;
    for (b, m) in header
        .get_mut(pn_offset..)
        .unwrap_or(&mut [])
        .iter_mut()
        .zip([m1, m2, m3, m4])
    {
        *b ^= m;
        truncated = (truncated << 8) | u64::from(*b);
    }
    let pn = decode_packet_number(largest, truncated, pn_len);
    let body = pkt.get(pn_offset + pn_len..).ok_or(QuicHsError::Short)?;
    let payload = tls13::aead_open(&keys.aead, &tls13::nonce(&keys.aead.iv, pn), &header, body)
        .map_err(|_| QuicHsError::Authentication)?;
    Ok(OpenedPacket {
        header,
        packet_number: pn,
        payload,
    })
}

/// Frames read in a Handshake packet.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    Crypto {
        offset: u64,
        data: &'a [u8],
    },
    Close {
        code: u64,
        frame_type: Option<u64>,
        reason: &'a [u8],
    },
}

/// The CRYPTO and CONNECTION_CLOSE frames of a decrypted Handshake payload (PADDING,
/// PING and ACK skipped); anything else a Handshake packet may not hold (RFC 9000
/// §12.4) is [`QuicHsError::Frames`].
pub fn frames(p: &[u8]) -> Result<Vec<Frame<'_>>, QuicHsError> {
    read_frames(p).map_err(|_| QuicHsError::Frames)
}

fn read_frames(p: &[u8]) -> ReadResult<Vec<Frame<'_>>> {
    let mut out = Vec::new();
    let mut r = Reader::new(p);
    let len = |v: u64| usize::try_from(v).map_err(|_| WireError::Bad("length"));
    while !r.is_empty() {
        let ty = r.varint()?;
        match ty {
            0x00 | 0x01 => {}
            0x02 | 0x03 => {
                r.varint()?; // largest acknowledged
                r.varint()?; // delay
                let ranges = r.varint()?;
                r.varint()?; // first range
                for _ in 0..ranges {
                    r.varint()?;
                    r.varint()?;
                }
                if ty == 0x03 {
                    for _ in 0..3 {
                        r.varint()?;
                    }
                }
            }
            0x06 => {
                let offset = r.varint()?;
                let n = len(r.varint()?)?;
                let data = r.take(n)?;
                out.push(Frame::Crypto { offset, data });
            }
            0x1c | 0x1d => {
                let code = r.varint()?;
                let frame_type = if ty == 0x1c { Some(r.varint()?) } else { None };
                let n = len(r.varint()?)?;
                let reason = r.take(n)?;
                out.push(Frame::Close {
                    code,
                    frame_type,
                    reason,
                });
            }
            _ => return Err(WireError::Bad("a frame a Handshake packet may not carry")),
        }
    }
    Ok(out)
}

/// One direction's CRYPTO stream in one packet number space, put in order: frames ahead
/// of the next expected offset wait (bounded by `max` bytes), the in-order bytes become
/// handshake messages.
#[derive(Clone, Debug, Default)]
pub struct CryptoStream {
    next: u64,
    ahead: BTreeMap<u64, Vec<u8>>,
    ahead_bytes: usize,
    hs: HandshakeBuf,
}

impl CryptoStream {
    /// Bytes held (frames waiting and a partial message).
    pub fn held(&self) -> usize {
        self.ahead_bytes + self.hs.held()
    }

    /// Adds one CRYPTO frame; completed handshake messages go to `out`.
    pub fn insert(
        &mut self,
        offset: u64,
        data: &[u8],
        max: usize,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), QuicHsError> {
        let len = u64::try_from(data.len()).map_err(|_| QuicHsError::OverLimit)?;
        let end = offset.checked_add(len).ok_or(QuicHsError::OverLimit)?;
        if end <= self.next {
            return Ok(()); // a retransmission of what was read
        }
        if offset > self.next {
            if self.held() + data.len() > max {
                return Err(QuicHsError::OverLimit);
            }
            let e = self.ahead.entry(offset).or_default();
            if e.len() < data.len() {
                self.ahead_bytes += data.len() - e.len();
                *e = data.to_vec();
            }
            return Ok(());
        }
        let skip = usize::try_from(self.next - offset).map_err(|_| QuicHsError::OverLimit)?;
        self.push(data.get(skip..).unwrap_or(&[]), out)?;
        while let Some(entry) = self.ahead.first_entry() {
            if *entry.key() > self.next {
                break;
            }
            let (off, d) = entry.remove_entry();
            self.ahead_bytes = self.ahead_bytes.saturating_sub(d.len());
            let dl = u64::try_from(d.len()).map_err(|_| QuicHsError::OverLimit)?;
            if off + dl > self.next {
                let skip = usize::try_from(self.next - off).map_err(|_| QuicHsError::OverLimit)?;
                self.push(d.get(skip..).unwrap_or(&[]), out)?;
            }
        }
        Ok(())
    }

    fn push(&mut self, d: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), QuicHsError> {
        self.next += u64::try_from(d.len()).map_err(|_| QuicHsError::OverLimit)?;
        self.hs.push(d, out).map_err(|_| QuicHsError::OverLimit)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests;
