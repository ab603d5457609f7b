//! One entry function per fuzz target (`fuzz/fuzz_targets/*.rs`), shared with the
//! regression test (`tests/regression.rs`) that replays every input a fuzzer ever crashed
//! on. Not a public API: hidden from the docs, may change at any time.
//!
//! Each function takes arbitrary bytes, drives one stage (or the whole pipeline) with them
//! and returns `Err` with a sentence when an invariant that holds for any input was
//! broken (a panic is the other way to fail). The byte layouts are small framings that
//! let a coverage-guided fuzzer mutate sequences of packets, segments or records.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use aes::cipher::generic_array::GenericArray;
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes128Gcm, KeyInit};

use crate::capture::{LinkType, Packet, Timestamp};
use crate::correlate::{Collector, CorrelateLimits};
use crate::decode::{Decoded, Decoder, DefragLimits, Segment, TcpFlags};
use crate::parse::quic::{self, QuicLimits, QuicReader};
use crate::parse::{cert, dns, http, tls, ParseLimits};
use crate::reassemble::{Dir, Event, GapCause, Limits, Reassembler};
use crate::report::{self, Format};
use crate::{Bounds, Pipeline};

/// Link types a packet record can name (index = low 4 bits of its first byte): Ethernet
/// most often, every link type the decoder reads, and one it does not.
pub const LINKS: [i32; 16] = [
    1, 0, 108, 101, 12, 14, 228, 229, 113, 276, 9, 50, 1, 1, 101, 147,
];

/// Reads the records of a framed input: `[selector u8][length u16 BE][bytes]`, the last
/// record taking what is left when it claims more.
pub struct Records<'a> {
    data: &'a [u8],
}

impl<'a> Records<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Records { data }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = (u8, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let (&sel, rest) = self.data.split_first()?;
        let len = match rest {
            [a, b, ..] => usize::from(u16::from_be_bytes([*a, *b])),
            _ => 0,
        };
        let rest = rest.get(2..).unwrap_or(&[]);
        let (body, tail) = rest.split_at(len.min(rest.len()));
        self.data = tail;
        Some((sel, body))
    }
}

/// Appends one record (used to build seeds and hand-made inputs).
pub fn push_record(out: &mut Vec<u8>, sel: u8, body: &[u8]) {
    let body = body.get(..usize::from(u16::MAX)).unwrap_or(body);
    out.push(sel);
    out.extend_from_slice(&u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(body);
}

/// The time step a packet record's selector asks for (high 4 bits), in nanoseconds:
/// mostly small steps, some past the idle, linger and probe timeouts, one backwards.
fn step_nanos(sel: u8) -> i64 {
    const S: i64 = 1_000_000_000;
    match sel >> 4 {
        0 => 1_000_000,
        n @ 1..=9 => i64::from(n) * S / 4,
        10 => 3 * S,
        11 => 11 * S,
        12 => 31 * S,
        13 => 130 * S,
        14 => -S,
        _ => 0,
    }
}

/// The packets of a framed input, with capture timestamps starting at 1 700 000 000 s.
pub fn packets(data: &[u8]) -> Vec<Packet> {
    let mut t: i64 = 1_700_000_000 * 1_000_000_000;
    Records::new(data)
        .map(|(sel, body)| {
            t = t.saturating_add(step_nanos(sel));
            let link = LINKS.get(usize::from(sel & 0x0f)).copied().unwrap_or(1);
            Packet {
                ts: Timestamp::new(
                    t.div_euclid(1_000_000_000),
                    u32::try_from(t.rem_euclid(1_000_000_000)).unwrap_or(0),
                ),
                link: LinkType(link),
                wire_len: u32::try_from(body.len()).unwrap_or(u32::MAX),
                data: body.to_vec(),
            }
        })
        .collect()
}

/// The inverse of [`packets`] for real captures: one record per packet (seeds).
pub fn frame_packets(pkts: &[Packet]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev: Option<Timestamp> = None;
    for p in pkts {
        let idx = LINKS.iter().position(|l| *l == p.link.0).unwrap_or(15);
        let gap = prev.map_or(0.0, |q| p.ts.secs_since(&q));
        let step: u8 = match gap {
            g if g < 0.125 => 0,
            g if g < 2.5 => ((g * 4.0).round() as u8).clamp(1, 9),
            g if g < 7.0 => 10,
            g if g < 21.0 => 11,
            g if g < 80.0 => 12,
            _ => 13,
        };
        prev = Some(p.ts);
        push_record(&mut out, (step << 4) | idx as u8, &p.data);
    }
    out
}

/// Small bounds, so that a fuzzer reaches every eviction and limit path with few bytes.
pub fn tight_bounds() -> Bounds {
    Bounds {
        reassembly: Limits {
            max_flows: 4,
            max_buffer: 3000,
            max_holes: 6,
            idle_secs: 120.0,
            max_buffered_total: 5000,
        },
        defrag: DefragLimits {
            max_datagrams: 3,
            max_bytes: 4000,
            idle_secs: 30.0,
        },
        keylog: crate::parse::keylog::KeyLogLimits { max_randoms: 4 },
        parse: ParseLimits {
            max_plaintext: 2048,
            max_tls_buffer: 8192,
            quic: QuicLimits {
                max_conns: 3,
                max_crypto: 4096,
            },
        },
        correlate: CorrelateLimits {
            max_dns_entries: 4,
            max_pending_dns: 4,
            max_probes: 8,
            max_clients: 3,
            max_names_per_client: 3,
            probe_timeout_secs: 10.0,
            max_quic_pending: 3,
            max_ech_names: 3,
            merge_hosts: true,
            groups: crate::correlate::groups::GroupLimits {
                window_secs: 60.0,
                max_groups: 3,
                max_members: 3,
                max_links: 4,
            },
        },
    }
}

/// Link and IP decoding: every record is one packet through one decoder (fragments of
/// different packets meet in its reassembly table).
pub fn decode(data: &[u8]) -> Result<u64, String> {
    let pkts = packets(data);
    let tight = data.first().is_some_and(|b| b & 0x80 != 0);
    let mut d = Decoder::new(if tight {
        tight_bounds().defrag
    } else {
        DefragLimits::default()
    });
    let mut out = 0u64;
    for p in &pkts {
        match d.decode(p) {
            Some(Decoded::Tcp(s)) => {
                if s.payload.len() > p.data.len() {
                    return Err(format!(
                        "TCP payload of {} bytes from a {}-byte packet",
                        s.payload.len(),
                        p.data.len()
                    ));
                }
                out += 1;
            }
            Some(Decoded::Udp(u)) => {
                // A reassembled datagram may be longer than its last fragment, never
                // longer than the reassembly bound.
                let max = if tight { 4000 } else { 65_535 };
                if u.payload.len() > max.max(p.data.len()) {
                    return Err(format!("UDP payload of {} bytes", u.payload.len()));
                }
                out += 1;
            }
            None => {}
        }
        if p.ts.nanos == 0 {
            d.expire(p.ts);
        }
    }
    if d.stats.packets != pkts.len() as u64 {
        return Err(format!(
            "{} packets counted of {}",
            d.stats.packets,
            pkts.len()
        ));
    }
    Ok(out)
}

/// The byte at sequence number `seq` in [`reassemble`] inputs: every copy of a byte is
/// the same, so the delivered stream can be checked byte by byte. (Both directions use
/// the same pattern: which side the reassembler takes for the client is its own guess.)
fn pattern(seq: u32) -> u8 {
    seq as u8
}

/// TCP reassembly on segment sequences: overlaps, gaps, wraps, duplicates, snaplen cuts,
/// RST/FIN, port reuse, idle expiry, stops, evictions.
///
/// Layout: 8 bytes of initial sequence numbers (client, server), then 10-byte records:
/// `ctl`, `op`, relative seq (u32 BE), relative ack (u16 BE), length, missing tail.
/// `ctl` bits: 0 direction (server → client), 1 SYN, 2 ACK, 3 FIN, 4 RST, 5-6 the client
/// port (of 4), 7 the second server. `op` bits: 0-2 time step, 3 `stop` this direction
/// after the segment, 4 `expire`, 5-7 scale the sequence offset by 2^(4·n).
///
/// Checks that every delivered byte is the byte sent at its sequence number, stream
/// offsets never go back, and no more bytes are held than the bounds allow.
pub fn reassemble(data: &[u8]) -> Result<u64, String> {
    let limits = Limits {
        max_flows: 3,
        max_buffer: 1500,
        max_holes: 5,
        idle_secs: 120.0,
        max_buffered_total: 2500,
    };
    let mut r = Reassembler::new(limits);
    let isn_c = be32(data, 0);
    let isn_s = be32(data, 4);
    let rest = data.get(8..).unwrap_or(&[]);
    let mut events = Vec::new();
    let mut check = StreamCheck::default();
    let mut spare = Vec::new();
    let mut now = Timestamp::new(1_700_000_000, 0);
    for rec in rest.chunks(10) {
        let g = |i: usize| rec.get(i).copied().unwrap_or(0);
        let (ctl, op) = (g(0), g(1));
        let dir = if ctl & 1 == 0 { Dir::Up } else { Dir::Down };
        let client = SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            40_000 + u16::from((ctl >> 5) & 3),
        );
        let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2 + (ctl >> 7))), 443);
        let rel = be32(rec, 2) << (4 * u32::from(op >> 5));
        let ack_rel = u32::from(u16::from_be_bytes([g(6), g(7)]));
        let len = usize::from(g(8));
        let tail = u32::from(g(9) & 0x3f);
        let (isn, peer_isn) = match dir {
            Dir::Up => (isn_c, isn_s),
            Dir::Down => (isn_s, isn_c),
        };
        let seq = isn.wrapping_add(rel);
        // A SYN takes one sequence number before its data (TCP Fast Open, RFC 7413).
        let data_seq = if ctl & 0x02 != 0 {
            seq.wrapping_add(1)
        } else {
            seq
        };
        let payload: Vec<u8> = (0..len)
            .map(|i| pattern(data_seq.wrapping_add(i as u32)))
            .collect();
        let (src, dst) = match dir {
            Dir::Up => (client, server),
            Dir::Down => (server, client),
        };
        now = Timestamp::new(
            now.secs + i64::from(op & 0x07) / 2,
            (now.nanos + 1_000 * u32::from(op & 1)) % 1_000_000_000,
        );
        let seg = Segment {
            ts: now,
            src,
            dst,
            seq,
            ack: peer_isn.wrapping_add(ack_rel),
            flags: TcpFlags {
                syn: ctl & 0x02 != 0,
                ack: ctl & 0x04 != 0,
                fin: ctl & 0x08 != 0,
                rst: ctl & 0x10 != 0,
            },
            payload: payload.into(),
            missing_tail: if g(9) & 0x40 != 0 { tail } else { 0 },
            src_mac: None,
        };
        r.push(Decoded::Tcp(seg), &mut events);
        check.events(&mut events, &mut spare)?;
        spare.drain(..).for_each(|b| r.recycle(b));
        if op & 0x08 != 0 {
            r.stop(client, server, dir);
        }
        if op & 0x10 != 0 {
            now = Timestamp::new(now.secs + 200, now.nanos);
            r.expire(now, &mut events);
            check.events(&mut events, &mut spare)?;
            spare.drain(..).for_each(|b| r.recycle(b));
        }
        if r.over_budget(0) {
            r.shed(&[], &mut events);
            check.events(&mut events, &mut spare)?;
            spare.drain(..).for_each(|b| r.recycle(b));
        }
        if r.buffered() > limits.max_buffered_total {
            return Err(format!(
                "{} bytes buffered after shedding, budget {}",
                r.buffered(),
                limits.max_buffered_total
            ));
        }
        let cap = (limits.max_flows * 2 * limits.max_buffer) as u64;
        if r.stats.peak_buffered_bytes > cap {
            return Err(format!(
                "{} bytes buffered, bound {cap}",
                r.stats.peak_buffered_bytes
            ));
        }
        if r.flows() > limits.max_flows {
            return Err(format!("{} flows, bound {}", r.flows(), limits.max_flows));
        }
    }
    r.finish(&mut events);
    check.events(&mut events, &mut spare)?;
    spare.drain(..).for_each(|b| r.recycle(b));
    if r.flows() != 0 {
        return Err(format!("{} flows left after finish", r.flows()));
    }
    Ok(check.delivered)
}

#[derive(Default)]
struct StreamCheck {
    /// Per flow and direction: (stream offset, expected byte minus offset, mod 256).
    streams: HashMap<(u64, bool), (u64, Option<u8>)>,
    ended: HashSet<u64>,
    delivered: u64,
}

impl StreamCheck {
    /// Checks the events; their data buffers go to `spare`, for the reassembler to reuse.
    fn events(&mut self, events: &mut Vec<Event>, spare: &mut Vec<Vec<u8>>) -> Result<(), String> {
        for ev in events.drain(..) {
            match ev {
                Event::Data {
                    flow, dir, data, ..
                } => {
                    if self.ended.contains(&flow) {
                        return Err(format!("data on flow {flow} after it ended"));
                    }
                    if data.is_empty() {
                        return Err("an empty Data event".into());
                    }
                    let s = self
                        .streams
                        .entry((flow, dir == Dir::Up))
                        .or_insert((0, None));
                    for (i, b) in data.iter().enumerate() {
                        let off = s.0.wrapping_add(i as u64) as u8;
                        // The byte minus its offset is the low byte of the stream's base
                        // sequence number: constant.
                        let raw = *b;
                        let k = raw.wrapping_sub(off);
                        match s.1 {
                            None => s.1 = Some(k),
                            Some(prev) if prev != k => {
                                return Err(format!(
                                    "flow {flow} {dir:?}: byte at stream offset {} is {raw:#04x}, \
                                     expected {:#04x}",
                                    s.0 + i as u64,
                                    prev.wrapping_add(off)
                                ))
                            }
                            Some(_) => {}
                        }
                    }
                    s.0 += data.len() as u64;
                    self.delivered += data.len() as u64;
                    // Handed back, as the parser does: the next data event reuses it (a
                    // reused buffer must hold only its own bytes, checked above).
                    spare.push(data);
                }
                Event::Gap {
                    flow,
                    dir,
                    len,
                    cause,
                    ..
                } => {
                    // A gap of 0 bytes only from the budget across flows (the parser's
                    // partial message dropped, no stream byte skipped).
                    if len == 0 && !matches!(cause, GapCause::MemoryBudget { .. }) {
                        return Err(format!("flow {flow}: a gap of 0 bytes"));
                    }
                    let s = self
                        .streams
                        .entry((flow, dir == Dir::Up))
                        .or_insert((0, None));
                    s.0 = s.0.saturating_add(len);
                }
                Event::Ended { flow, .. } if !self.ended.insert(flow) => {
                    return Err(format!("flow {flow} ended twice"));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// TLS records and handshake messages: the input fed to one reader whole and to another
/// in pieces (the first byte sets their size); both must say the same. The second reader
/// takes its certificates from the cache the first filled, so a cached certificate must
/// read as the parsed one.
pub fn tls(data: &[u8]) -> Result<usize, String> {
    let piece = usize::from(data.first().copied().unwrap_or(0) % 61) + 1;
    let mut certs = crate::parse::cert::CertCache::default();
    let mut whole = tls::TlsReader::default();
    let mut items = Vec::new();
    whole.feed(data, &mut items, &mut certs);
    let mut split = tls::TlsReader::default();
    let mut items2 = Vec::new();
    for chunk in data.chunks(piece) {
        split.feed(chunk, &mut items2, &mut certs);
    }
    let a = format!("{items:?}");
    let b = format!("{items2:?}");
    if a != b {
        return Err(format!("fed whole: {a}\nfed in {piece}-byte pieces: {b}"));
    }
    if whole.held() > data.len() || split.held() > data.len() {
        return Err("holds more than it was fed".into());
    }
    Ok(items.len())
}

/// Certificate summary of one DER blob, and the same blob inside a Certificate message
/// in the TLS 1.2 form (list, entry) and the TLS 1.3 form (context, list, entry, no
/// extensions).
pub fn cert(data: &[u8]) -> Result<usize, String> {
    let info = cert::summarize(data);
    if info.sha256.len() != 64 {
        return Err(format!("sha256 {:?}", info.sha256));
    }
    let names = info.san_dns.len() + info.san_ip.len();
    let n = data.len();
    if n + 9 >= 1 << 24 {
        return Ok(names);
    }
    let mut v12 = vec![11u8];
    v12.extend_from_slice(&be24(n + 6));
    v12.extend_from_slice(&be24(n + 3));
    v12.extend_from_slice(&be24(n));
    v12.extend_from_slice(data);
    match tls::parse_handshake(&v12) {
        Some(tls::TlsItem::Certificate(c)) if c.chain_len == 1 => {}
        other => return Err(format!("TLS 1.2 certificate message read as {other:?}")),
    }
    // The TLS 1.3 form is also a valid TLS 1.2 form of other lengths: no fixed answer.
    let mut v13 = vec![11u8];
    v13.extend_from_slice(&be24(n + 9));
    v13.push(0);
    v13.extend_from_slice(&be24(n + 5));
    v13.extend_from_slice(&be24(n));
    v13.extend_from_slice(data);
    v13.extend_from_slice(&[0, 0]);
    let _ = tls::parse_handshake(&v13);
    Ok(names)
}

fn be24(n: usize) -> [u8; 3] {
    let [_, a, b, c] = (n as u32).to_be_bytes();
    [a, b, c]
}

fn be32(d: &[u8], at: usize) -> u32 {
    let g = |i: usize| d.get(at + i).copied().unwrap_or(0);
    u32::from_be_bytes([g(0), g(1), g(2), g(3)])
}

/// DNS messages.
pub fn dns(data: &[u8]) -> Result<usize, String> {
    Ok(dns::parse(data).map_or(0, |m| m.questions.len() + m.answers.len()))
}

/// HTTP heads and chunked bodies: the input as a request, as a response, and as a
/// chunked body skipped whole and in pieces.
pub fn http(data: &[u8]) -> Result<usize, String> {
    let mut n = 0;
    for (head_len, complete) in [
        match http::request(data) {
            http::Head::Complete(_, l, _) => (l, true),
            _ => (0, false),
        },
        match http::response(data, data.first().is_some_and(|b| b & 1 == 1)) {
            http::Head::Complete(_, l, _) => (l, true),
            _ => (0, false),
        },
    ] {
        if head_len > data.len() {
            return Err(format!("head of {head_len} bytes in {}", data.len()));
        }
        n += usize::from(complete);
    }
    let mut c = http::Chunked::default();
    let (used, _, _) = c.consume(data);
    if used > data.len() {
        return Err(format!("consumed {used} of {}", data.len()));
    }
    // In pieces, as the parser feeds it: what is not consumed is kept and fed again.
    let piece = usize::from(data.first().copied().unwrap_or(0) % 31) + 1;
    let mut c = http::Chunked::default();
    let mut held: Vec<u8> = Vec::new();
    for chunk in data.chunks(piece) {
        held.extend_from_slice(chunk);
        let (used, done, bad) = c.consume(&held);
        if used > held.len() {
            return Err(format!("consumed {used} of {}", held.len()));
        }
        held.drain(..used);
        if done || bad {
            break;
        }
    }
    Ok(n)
}

/// The RFC 9001 A.1 Destination Connection ID: the connection [`quic`] inputs seal
/// their Initial packets for.
pub const QUIC_DCID: [u8; 8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];

/// Builds a protected Initial packet (RFC 9001 §5): `frames` as its plaintext payload,
/// packet number `pn` (4 bytes), for client (`server = false`) or server keys of `dcid`.
pub fn seal_initial(
    version: u32,
    dcid: &[u8],
    server: bool,
    pn: u32,
    frames: &[u8],
) -> Option<Vec<u8>> {
    let (ck, sk) = quic::initial_keys(version, dcid)?;
    let keys = if server { sk } else { ck };
    let v2 = version == quic::VERSION_2;
    let mut h = vec![0xc0 | (u8::from(v2) << 4) | 0x03];
    h.extend_from_slice(&version.to_be_bytes());
    if server {
        h.push(0); // the server's DCID is the client's SCID: empty here
        h.push(u8::try_from(dcid.len()).ok()?);
        h.extend_from_slice(dcid);
    } else {
        h.push(u8::try_from(dcid.len()).ok()?);
        h.extend_from_slice(dcid);
        h.push(0);
    }
    h.push(0); // no token
    let len = u16::try_from(4 + frames.len() + 16)
        .ok()
        .filter(|l| *l < 0x4000)?;
    h.extend_from_slice(&(0x4000 | len).to_be_bytes());
    let pn_offset = h.len();
    h.extend_from_slice(&pn.to_be_bytes());
    let mut nonce = keys.iv;
    for (n, p) in nonce
        .iter_mut()
        .rev()
        .zip(u64::from(pn).to_be_bytes().iter().rev())
    {
        *n ^= p;
    }
    let aead = Aes128Gcm::new_from_slice(&keys.key).ok()?;
    let ct = aead
        .encrypt(
            GenericArray::from_slice(&nonce),
            Payload {
                msg: frames,
                aad: &h,
            },
        )
        .ok()?;
    let mut pkt = h;
    pkt.extend_from_slice(&ct);
    let mask = quic::hp_mask(&keys.hp, pkt.get(pn_offset + 4..pn_offset + 20)?)?;
    *pkt.first_mut()? ^= mask.first()? & 0x0f;
    for i in 0..4 {
        *pkt.get_mut(pn_offset + i)? ^= mask.get(1 + i)?;
    }
    Some(pkt)
}

/// QUIC datagrams between one client and one server. Records (`[kind][len][bytes]`):
/// kind bit 0 the direction (server → client), bit 1 seal `bytes` as the frames of an
/// Initial packet (keys of [`QUIC_DCID`]) instead of sending them raw, bit 2 QUIC v2.
pub fn quic(data: &[u8]) -> Result<usize, String> {
    let limits = QuicLimits {
        max_conns: 2,
        max_crypto: 4096,
    };
    let mut r = QuicReader::new(limits);
    let c = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 50_000);
    let s = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 443);
    let mut out = Vec::new();
    let mut pn = 0u32;
    let mut t = Timestamp::new(1_700_000_000, 0);
    for (kind, body) in Records::new(data) {
        let from_server = kind & 1 != 0;
        let version = if kind & 4 != 0 {
            quic::VERSION_2
        } else {
            quic::VERSION_1
        };
        let sealed;
        let payload = if kind & 2 != 0 {
            pn = pn.wrapping_add(1);
            sealed = seal_initial(version, &QUIC_DCID, from_server, pn, body);
            match &sealed {
                Some(p) => p.as_slice(),
                None => continue,
            }
        } else {
            body
        };
        t = Timestamp::new(t.secs, (t.nanos + 1000) % 1_000_000_000);
        let (src, dst) = if from_server { (s, c) } else { (c, s) };
        r.datagram(t, src, dst, payload, None, &mut out);
    }
    let hellos = out
        .iter()
        .filter(|o| matches!(o.3, quic::QuicItem::Hello { .. }))
        .count();
    if hellos as u64 != r.stats.hellos {
        return Err(format!("{hellos} hellos out, {} counted", r.stats.hellos));
    }
    Ok(out.len())
}

/// The key log parser: the input read whole and in pieces (the first byte sets their
/// size) must index the same secrets and count the same lines, within its bounds.
pub fn keylog(data: &[u8]) -> Result<usize, String> {
    use crate::parse::keylog::{KeyLog, KeyLogLimits, Pending, MAX_LINE};
    let limits = KeyLogLimits { max_randoms: 8 };
    let mut whole = KeyLog::new(limits);
    whole.read_all(data);
    let piece = usize::from(data.first().copied().unwrap_or(0) % 97) + 1;
    let mut split = KeyLog::new(limits);
    let mut pending = Pending::default();
    for chunk in data.chunks(piece) {
        pending.feed(&mut split, chunk);
        if pending.held() > MAX_LINE {
            return Err(format!("holds {} bytes of a line", pending.held()));
        }
    }
    pending.finish(&mut split);
    if whole.stats != split.stats || whole.len() != split.len() {
        return Err(format!(
            "whole {:?}\nin {piece}-byte pieces {:?}",
            whole.stats, split.stats
        ));
    }
    if whole.len() > limits.max_randoms {
        return Err(format!("{} client randoms held", whole.len()));
    }
    let s = &whole.stats;
    if s.secrets + s.tls12_lines + s.unknown_labels + s.unreadable > s.lines {
        return Err(format!("more findings than lines: {s:?}"));
    }
    Ok(whole.len())
}

/// The secret every TLS 1.3 and QUIC handshake fuzz input is decrypted with (48 bytes;
/// SHA-256 suites use the first 32).
pub const FUZZ_SECRET: [u8; 48] = [0x5a; 48];

/// TLS 1.3 handshake records under a key log secret. The first byte picks the suite;
/// then records (`[kind][len][bytes]`): kind bit 0 seals `bytes` (with an inner content
/// type of `kind >> 1`, AES-128-GCM only) as the next record would be, otherwise they
/// are fed as they are (a whole record: header and body). Every message handed on must
/// be whole, and a record that does not authenticate must hand on nothing.
pub fn tls13(data: &[u8]) -> Result<usize, String> {
    use crate::parse::keylog::Secret;
    use crate::parse::tls13::{self, HandshakeDecryptor, Suite, Tls13Error};
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let suite = match first % 4 {
        0 => Suite::Aes128GcmSha256,
        1 => Suite::Aes256GcmSha384,
        2 => Suite::Chacha20Poly1305Sha256,
        _ => Suite::Aes128CcmSha256,
    };
    let secret = FUZZ_SECRET
        .get(..suite.hash().output_len())
        .and_then(Secret::new)
        .ok_or("secret")?;
    let keys = tls13::traffic_keys(suite, &secret).map_err(|e| format!("{e:?}"))?;
    let mut dec = HandshakeDecryptor::new(suite, &secret).map_err(|e| format!("{e:?}"))?;
    let mut seq = 0u64;
    let mut msgs = Vec::new();
    for (kind, body) in Records::new(rest) {
        let record = if kind & 1 != 0 && suite == Suite::Aes128GcmSha256 {
            let mut plain = body.to_vec();
            plain.push(kind >> 1);
            let Ok(len) = u16::try_from(plain.len() + 16) else {
                continue;
            };
            let mut rec = vec![23, 3, 3];
            rec.extend_from_slice(&len.to_be_bytes());
            let nonce = tls13::nonce(&keys.iv, seq);
            let Ok(aead) = Aes128Gcm::new_from_slice(keys.key()) else {
                return Err("key".into());
            };
            let Ok(sealed) = aead.encrypt(
                GenericArray::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: &rec,
                },
            ) else {
                continue;
            };
            rec.extend_from_slice(&sealed);
            seq += 1;
            rec
        } else {
            body.to_vec()
        };
        let before = msgs.len();
        match dec.record(&record, &mut msgs) {
            Err(Tls13Error::Authentication) | Err(Tls13Error::NotProtected)
                if msgs.len() != before =>
            {
                return Err("a record that did not open handed messages on".into());
            }
            _ => {}
        }
        if dec.held() > crate::parse::tls::MAX_HANDSHAKE + 65_536 {
            return Err(format!("holds {} bytes", dec.held()));
        }
    }
    for m in &msgs {
        let b = |i: usize| m.get(i).copied().map(usize::from);
        let declared = match (b(1), b(2), b(3)) {
            (Some(x), Some(y), Some(z)) => Some((x << 16) | (y << 8) | z),
            _ => None,
        };
        if declared.map(|l| l + 4) != Some(m.len()) {
            return Err(format!(
                "a message of {} bytes declares {declared:?}",
                m.len()
            ));
        }
        let _ = tls13::certificate(m);
    }
    Ok(msgs.len())
}

/// QUIC Handshake packets under a key log secret: records (`[kind][len][bytes]`), kind
/// bit 0 QUIC v2 labels, bit 1 a short header; each is opened with keys from
/// [`FUZZ_SECRET`] (AES-128-GCM), its frames read and the CRYPTO frames of every
/// record that reads as frames gathered (bounded).
pub fn quic_hs(data: &[u8]) -> Result<usize, String> {
    use crate::parse::quic_hs::{self, CryptoStream, Frame};
    use crate::parse::tls13::Suite;
    let mut cs = CryptoStream::default();
    let mut msgs = Vec::new();
    let max = 4096;
    let mut largest = None;
    for (kind, body) in Records::new(data) {
        let secret = FUZZ_SECRET.get(..32).ok_or("secret")?;
        let keys = quic_hs::packet_keys(Suite::Aes128GcmSha256, secret, kind & 1 != 0)
            .map_err(|e| format!("{e:?}"))?;
        let long = kind & 2 == 0;
        let pn_offset = usize::from(kind >> 2) % 32;
        if let Ok(o) = quic_hs::open_packet(body, pn_offset, &keys, largest, long) {
            largest = Some(o.packet_number);
        }
        // The frame reader and the CRYPTO stream on the raw bytes too (a fuzzer cannot
        // forge a tag).
        if let Ok(frames) = quic_hs::frames(body) {
            for f in frames {
                if let Frame::Crypto { offset, data } = f {
                    let _ = cs.insert(offset, data, max, &mut msgs);
                }
            }
        }
        if cs.held() > max + crate::parse::tls::MAX_HANDSHAKE {
            return Err(format!("CRYPTO stream holds {}", cs.held()));
        }
    }
    Ok(msgs.len())
}

/// The whole pipeline, packet by packet (records as in [`packets`]), then the end of the
/// capture and both reports. The first byte's top bit selects tight bounds.
pub fn pipeline(data: &[u8]) -> Result<usize, String> {
    let tight = data.first().is_some_and(|b| b & 0x80 != 0);
    let bounds = if tight {
        tight_bounds()
    } else {
        Bounds::default()
    };
    let pkts = packets(data);
    let mut p = Pipeline::new(bounds);
    let mut collector = Collector::new(bounds.correlate);
    let mut ready = Vec::new();
    for pkt in &pkts {
        p.packet(pkt);
        p.take_probes(&mut ready);
        collector.add(&mut ready);
    }
    p.finish();
    p.take_probes(&mut ready);
    collector.add(&mut ready);
    let mut stats = p.stats();
    if stats.decode.packets != pkts.len() as u64 {
        return Err(format!(
            "{} packets decoded of {}",
            stats.decode.packets,
            pkts.len()
        ));
    }
    if stats.reassembly.peak_flows > bounds.reassembly.max_flows as u64 {
        return Err(format!("{} flows at once", stats.reassembly.peak_flows));
    }
    let (report, counters) = collector.finish();
    if report.probes.len() > bounds.correlate.max_probes {
        return Err(format!("{} probes kept", report.probes.len()));
    }
    if report.clients.len() > bounds.correlate.max_clients {
        return Err(format!("{} client summaries", report.clients.len()));
    }
    stats.correlate.absorb(&counters);
    let width = 40 + u16::from(data.get(1).copied().unwrap_or(0) % 120);
    let opts = report::Options {
        width,
        ja4: tight,
        ..report::Options::default()
    };
    let mut json = Vec::new();
    report::write(Format::Json, &report, &stats, &mut json, opts)
        .map_err(|e| format!("json report: {e}"))?;
    for line in json.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        serde_json::from_slice::<serde_json::Value>(line)
            .map_err(|e| format!("json report line does not parse: {e}"))?;
    }
    let mut table = Vec::new();
    let view = if data.get(1).is_some_and(|b| b & 1 != 0) {
        Format::Timeline
    } else {
        Format::Table
    };
    report::write(view, &report, &stats, &mut table, opts)
        .map_err(|e| format!("table report: {e}"))?;
    Ok(report.probes.len())
}

/// The capture-file reader on arbitrary bytes (`data[0]` picks a chunk size of 1 to 64
/// bytes, the rest is the file): reading with that chunk size must give exactly the
/// packets (and the end) that reading in one chunk gives, every packet within the bound.
pub fn capture_file(data: &[u8]) -> Result<usize, String> {
    let Some((&sel, file)) = data.split_first() else {
        return Ok(0);
    };
    let small = read_capture(file, 1 + usize::from(sel % 64))?;
    let whole = read_capture(file, file.len().max(1))?;
    if small != whole {
        return Err(format!(
            "chunk size {} read {} packets ({:?}), one chunk {} ({:?})",
            1 + sel % 64,
            small.0.len(),
            small.1,
            whole.0.len(),
            whole.1
        ));
    }
    Ok(small.0.len())
}

type ReadBack = (Vec<(crate::capture::Timestamp, i32, u32, Vec<u8>)>, bool);

fn read_capture(file: &[u8], chunk: usize) -> Result<ReadBack, String> {
    use crate::capture::file::{FileSource, MAX_BLOCK_BYTES};
    let Ok(mut src) = FileSource::from_reader(
        "fuzz".into(),
        Box::new(std::io::Cursor::new(file.to_vec())),
        None,
        false,
        chunk,
    ) else {
        return Ok((Vec::new(), true));
    };
    let mut out = Vec::new();
    loop {
        match src.advance() {
            Ok(None) => {
                let Some(p) = src.packet() else {
                    return Err("advance stopped at a packet that is not there".into());
                };
                if p.data.len() > MAX_BLOCK_BYTES || p.data.len() > file.len() {
                    return Err(format!("a {}-byte packet", p.data.len()));
                }
                out.push((p.ts, p.link.0, p.wire_len, p.data.to_vec()));
            }
            Ok(Some(_)) => return Ok((out, false)),
            Err(_) => return Ok((out, true)),
        }
    }
}
