//! Stage 3: TCP stream reassembly for the handshake phase, UDP passed through.
//!
//! Input: owned [`Decoded`] segments. Output: owned [`Event`]s: in-order stream bytes per
//! flow and direction, gaps (with their cause), FIN/RST, and flow endings with a summary.
//! Once the parser has what it needs from a direction it calls [`Reassembler::stop`] and
//! the bytes that follow are only counted, never buffered.
//!
//! Bounds (all in [`Limits`]): flows tracked, bytes buffered out of order per direction,
//! out-of-order segments (holes) per direction, idle timeout. Every eviction is counted.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::capture::Timestamp;
use crate::decode::{Datagram, Decoded, Segment};

pub type FlowId = u64;

/// Direction of data within a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Client to server.
    Up,
    /// Server to client.
    Down,
}

impl Dir {
    fn idx(self) -> usize {
        match self {
            Dir::Up => 0,
            Dir::Down => 1,
        }
    }
    pub fn other(self) -> Dir {
        match self {
            Dir::Up => Dir::Down,
            Dir::Down => Dir::Up,
        }
    }
}

/// Named bounds of the reassembler.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Flows tracked at once; the least recently active are evicted beyond it.
    pub max_flows: usize,
    /// Bytes held out of order per direction before the oldest hole is given up.
    pub max_buffer: usize,
    /// Out-of-order segments held per direction.
    pub max_holes: usize,
    /// A flow with no packet for this long (capture time) is ended.
    pub idle_secs: f64,
    /// Bytes buffered across all flows: this stage's out-of-order bytes plus the parse
    /// stage's partial messages (`--max-buffered-bytes`). Beyond it the least recently
    /// active flows' buffers are dropped (the flows go on, with a
    /// [`GapCause::MemoryBudget`] gap) until a sixteenth of it is free again.
    pub max_buffered_total: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_flows: 65_536,
            max_buffer: 1 << 20,
            max_holes: 256,
            idle_secs: 120.0,
            max_buffered_total: 16 << 20,
        }
    }
}

/// Why bytes of a stream were not seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapCause {
    /// The capture missed segments the peer acknowledged (or that never arrived).
    NotCaptured,
    /// The snapshot length cut the packet.
    Snaplen,
    /// Too much data out of order: a bound was reached and the hole was given up.
    BufferLimit,
    /// The budget for bytes buffered across all flows (`bytes`, `--max-buffered-bytes`)
    /// was reached and this flow's buffers, among the least recently active, were dropped.
    MemoryBudget { bytes: u64 },
}

/// Why a flow ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndCause {
    Closed,
    Idle,
    Evicted,
    EndOfCapture,
}

/// What is known about a flow when it ends.
#[derive(Clone, Debug, Default)]
pub struct FlowSummary {
    pub saw_syn: bool,
    pub saw_synack: bool,
    pub packets: [u64; 2],
    pub payload_bytes: [u64; 2],
    /// FIN and RST times per direction, boxed (made at the first): a flow that showed no
    /// FIN or RST holds a pointer.
    closes: Option<Box<Closes>>,
    pub last_ts: Timestamp,
}

impl FlowSummary {
    pub fn packets(&self, d: Dir) -> u64 {
        self.packets.get(d.idx()).copied().unwrap_or(0)
    }
    pub fn payload(&self, d: Dir) -> u64 {
        self.payload_bytes.get(d.idx()).copied().unwrap_or(0)
    }
    pub fn fin(&self, d: Dir) -> Option<Timestamp> {
        self.closes
            .as_ref()
            .and_then(|c| c.fin.get(d.idx()).copied().flatten())
    }
    pub fn rst(&self, d: Dir) -> Option<Timestamp> {
        self.closes
            .as_ref()
            .and_then(|c| c.rst.get(d.idx()).copied().flatten())
    }
}

/// When each direction of a flow sent its FIN and its RST.
#[derive(Clone, Debug, Default)]
struct Closes {
    fin: [Option<Timestamp>; 2],
    rst: [Option<Timestamp>; 2],
    /// When the flow closed (the RST, or the second FIN): it lingers a little after.
    closed_at: Option<Timestamp>,
}

#[derive(Clone, Debug)]
pub enum Event {
    Opened {
        flow: FlowId,
        ts: Timestamp,
        client: SocketAddr,
        server: SocketAddr,
        saw_syn: bool,
        /// The client's MAC address, when the first segment came from it.
        client_mac: Option<crate::decode::Mac>,
    },
    Data {
        flow: FlowId,
        dir: Dir,
        ts: Timestamp,
        data: Vec<u8>,
    },
    Gap {
        flow: FlowId,
        dir: Dir,
        ts: Timestamp,
        len: u64,
        cause: GapCause,
    },
    Fin {
        flow: FlowId,
        dir: Dir,
        ts: Timestamp,
    },
    Rst {
        flow: FlowId,
        dir: Dir,
        ts: Timestamp,
    },
    Ended {
        flow: FlowId,
        ts: Timestamp,
        cause: EndCause,
        summary: FlowSummary,
    },
    Datagram(Datagram),
}

/// Counters, shown in the stats.
#[derive(Clone, Debug, Default)]
pub struct ReassemblyStats {
    pub flows: u64,
    pub flows_mid_stream: u64,
    pub flows_ended_idle: u64,
    pub flows_evicted: u64,
    pub out_of_order_segments: u64,
    pub retransmitted_bytes: u64,
    /// Bytes of overlapping segments that differ from the copy already held (an evasion
    /// signal; the first copy is kept), and the segments that carried them.
    pub conflicting_bytes: u64,
    pub conflicting_segments: u64,
    /// SYN-ACKs (or SYNs) repeated with another initial sequence number before any byte.
    pub syn_isns_differing: u64,
    pub gaps_not_captured: u64,
    pub gaps_snaplen: u64,
    pub gaps_buffer_limit: u64,
    pub bytes_skipped_after_handshake: u64,
    pub peak_buffered_bytes: u64,
    /// The most bytes counted against the budget across flows at once: held out of order
    /// here and the parse stage's partial messages (what `--max-buffered-bytes` bounds).
    pub peak_budget_bytes: u64,
    pub peak_flows: u64,
    /// Buffers (one direction of a flow, in this stage or the parser) dropped because the
    /// budget across flows ([`Limits::max_buffered_total`]) was reached.
    pub budget_drops: u64,
}

/// One direction's sequence state. What only matters once bytes are held out of order,
/// a FIN seen or an ISN repeated is boxed ([`HalfMore`], made when first needed): a flow
/// that showed only its SYN holds 24 bytes a direction here.
#[derive(Default)]
struct Half {
    /// Sequence number of stream offset 0.
    base: Option<u32>,
    stopped: bool,
    /// Next stream offset to deliver.
    next: u64,
    more: Option<Box<HalfMore>>,
}

#[derive(Default)]
struct HalfMore {
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    /// Stream offset of the FIN (it takes one sequence number).
    fin_at: Option<u64>,
    /// Snaplen cuts of segments held out of order: end of the captured bytes → bytes missing.
    tails: BTreeMap<u64, u64>,
    /// Other initial sequence numbers (+1) from repeated SYN-ACKs (or SYNs) that differ from
    /// the first, while no byte was seen: the one the first data or the peer's first ACK
    /// follows is taken ([`MAX_ISN_CANDIDATES`] at most).
    other_bases: Vec<u32>,
    /// Before its first byte, the peer acknowledged up to this stream offset.
    acked_unseen: Option<u64>,
}

/// What a direction with no [`HalfMore`] reads as.
static NO_MORE: HalfMore = HalfMore {
    pending: BTreeMap::new(),
    pending_bytes: 0,
    fin_at: None,
    tails: BTreeMap::new(),
    other_bases: Vec::new(),
    acked_unseen: None,
};

impl Half {
    /// The boxed part, to read.
    fn r(&self) -> &HalfMore {
        self.more.as_deref().unwrap_or(&NO_MORE)
    }

    /// The boxed part, to write (made when first needed).
    fn w(&mut self) -> &mut HalfMore {
        self.more.get_or_insert_with(Box::default)
    }

    fn pending_bytes(&self) -> usize {
        self.r().pending_bytes
    }
}

/// Different initial sequence numbers remembered per direction before its first byte.
pub const MAX_ISN_CANDIDATES: usize = 4;

impl Half {
    /// Nothing seen yet: the stream start may still move to another SYN's ISN.
    fn untouched(&self) -> bool {
        self.next == 0 && self.r().pending.is_empty() && self.r().fin_at.is_none()
    }

    /// Takes, among the ISNs seen, the one `seq` (a first data byte, or the peer's ACK)
    /// lies closest after.
    fn choose_base(&mut self, seq: u32) {
        if self.r().other_bases.is_empty() || !self.untouched() {
            return;
        }
        let Some(first) = self.base else {
            return;
        };
        let best = self
            .r()
            .other_bases
            .iter()
            .copied()
            .chain(std::iter::once(first))
            .min_by_key(|&b| seq.wrapping_sub(b));
        if let Some(b) = best {
            self.base = Some(b);
        }
        self.w().other_bases.clear();
    }
}

struct Flow {
    /// Its key in the table, kept in the box (the table's slots are a pointer each).
    key: Key,
    id: FlowId,
    /// The client is the first endpoint of the flow's key (its endpoints in sorted order).
    client_first: bool,
    halves: [Half; 2],
    summary: FlowSummary,
}

impl Flow {
    fn half(&mut self, d: Dir) -> Option<&mut Half> {
        self.halves.get_mut(d.idx())
    }

    /// When the flow closed (an RST, or both FINs), kept with the FIN/RST times.
    fn closed_at(&self) -> Option<Timestamp> {
        self.summary.closes.as_ref().and_then(|c| c.closed_at)
    }

    fn close_at(&mut self, ts: Timestamp) {
        self.summary
            .closes
            .get_or_insert_with(Box::default)
            .closed_at
            .get_or_insert(ts);
    }
}

/// One endpoint packed for the flow table's key (20 bytes, where a `SocketAddr` takes
/// 32): the 16 address bytes as four big-endian words (IPv4 in its IPv4-mapped IPv6 form),
/// the port, and whether the address is IPv6 (so that `::ffff:a.b.c.d` and `a.b.c.d` stay
/// apart). Compared and hashed as integers; its order is that of the bytes (address, port,
/// IPv6 flag).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Endpoint {
    addr: [u32; 4],
    port: u16,
    v6: bool,
}

fn endpoint(a: SocketAddr) -> Endpoint {
    let (ip, v6) = match a.ip() {
        std::net::IpAddr::V4(v4) => (v4.to_ipv6_mapped().to_bits(), false),
        std::net::IpAddr::V6(v6) => (v6.to_bits(), true),
    };
    Endpoint {
        addr: [
            (ip >> 96) as u32,
            (ip >> 64) as u32,
            (ip >> 32) as u32,
            ip as u32,
        ],
        port: a.port(),
        v6,
    }
}

impl Endpoint {
    fn addr_bits(&self) -> u128 {
        let [a, b, c, d] = self.addr;
        (u128::from(a) << 96) | (u128::from(b) << 64) | (u128::from(c) << 32) | u128::from(d)
    }
}

/// Canonical flow key: the two endpoints in sorted order (40 bytes, 4-aligned, so that a
/// table slot with its box stays 48 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key(Endpoint, Endpoint);

impl std::hash::Hash for Key {
    /// Three words into the (seeded) table hasher, rather than 38 bytes one slice at a time.
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_u128(self.0.addr_bits());
        h.write_u128(self.1.addr_bits());
        h.write_u64(
            (u64::from(self.0.port) << 32)
                | (u64::from(self.1.port) << 16)
                | (u64::from(self.0.v6) << 1)
                | u64::from(self.1.v6),
        );
    }
}

fn key(a: SocketAddr, b: SocketAddr) -> Key {
    canonical(endpoint(a), endpoint(b)).0
}

/// The key of endpoints `a` and `b`, and whether `a` came first in it.
fn canonical(a: Endpoint, b: Endpoint) -> (Key, bool) {
    if a <= b {
        (Key(a, b), true)
    } else {
        (Key(b, a), false)
    }
}

/// Ports where a service usually listens: used to tell the server when the SYN was missed.
fn service_port(p: u16) -> bool {
    p < 1024
        || matches!(
            p,
            1080 | 1443
                | 2083
                | 2087
                | 3128
                | 4433
                | 5222
                | 5223
                | 5269
                | 6443
                | 6667
                | 6697
                | 8000
                | 8008
                | 8080
                | 8443
                | 8888
                | 9443
        )
}

/// The first bytes seen of a flow with no SYN are ones only a server sends first: a TLS
/// ServerHello record or an HTTP status line (content beats the port guess, e.g. in a
/// capture of the server's side only, between two unlisted ports).
fn sent_by_server(p: &[u8]) -> bool {
    (p.first() == Some(&0x16) && p.get(1) == Some(&3) && p.get(5) == Some(&2))
        || p.starts_with(b"HTTP/1.")
}

/// The first bytes seen of a flow with no SYN are a TLS ClientHello record.
fn sent_by_client(p: &[u8]) -> bool {
    p.first() == Some(&0x16) && p.get(1) == Some(&3) && p.get(5) == Some(&1)
}

/// How long a closed flow lingers (for retransmissions and the last ACKs).
const LINGER_SECS: f64 = 2.0;

/// The flow table: each flow boxed with its key, so that a slot is a pointer (8 bytes, and
/// a control byte) where a key and a box took 48: at the 65,536-flow bound the table has
/// 131,072 slots, 1.1 MiB instead of 6.1 (and its copy while it grows).
#[derive(Default)]
struct FlowTable {
    table: hashbrown::HashTable<Box<Flow>>,
    hasher: foldhash::fast::RandomState,
}

impl FlowTable {
    fn hash(&self, k: &Key) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(k)
    }

    fn get(&self, k: &Key) -> Option<&Flow> {
        self.table.find(self.hash(k), |f| f.key == *k).map(|f| &**f)
    }

    fn get_mut(&mut self, k: &Key) -> Option<&mut Flow> {
        let h = self.hash(k);
        self.table.find_mut(h, |f| f.key == *k).map(|f| &mut **f)
    }

    fn remove(&mut self, k: &Key) -> Option<Box<Flow>> {
        let h = self.hash(k);
        self.table
            .find_entry(h, |f| f.key == *k)
            .ok()
            .map(|e| e.remove().0)
    }

    /// Adds a flow whose key is not in the table.
    fn insert(&mut self, f: Box<Flow>) -> &mut Flow {
        let h = self.hash(&f.key);
        let hasher = &self.hasher;
        let e = self.table.insert_unique(h, f, |x| {
            use std::hash::BuildHasher;
            hasher.hash_one(x.key)
        });
        e.into_mut()
    }

    fn len(&self) -> usize {
        self.table.len()
    }

    fn iter(&self) -> impl ExactSizeIterator<Item = (&Key, &Flow)> {
        self.table.iter().map(|f| (&f.key, &**f))
    }
}

pub struct Reassembler {
    limits: Limits,
    flows: FlowTable,
    next_id: FlowId,
    buffered: usize,
    pub stats: ReassemblyStats,
    /// Buffers of [`Event::Data`] the parser is done with, reused for the next
    /// ([`Reassembler::recycle`]): at most [`SPARE_BUFFERS`] of at most
    /// [`SPARE_BUFFER_BYTES`] each.
    spare: Vec<Vec<u8>>,
}

/// Emptied [`Event::Data`] buffers kept for reuse (a segment's bytes are delivered in a
/// buffer of their own; one of 1,448 bytes is past what the allocator keeps per thread,
/// and the flow thread made and freed one per handshake segment).
pub const SPARE_BUFFERS: usize = 8;
/// The largest buffer kept for reuse.
pub const SPARE_BUFFER_BYTES: usize = 16 * 1024;

impl Reassembler {
    pub fn new(limits: Limits) -> Self {
        Reassembler {
            limits,
            flows: FlowTable::default(),
            next_id: 1,
            buffered: 0,
            stats: ReassemblyStats::default(),
            spare: Vec::new(),
        }
    }

    /// Feeds one decoded packet; events are appended to `out`.
    pub fn push(&mut self, d: Decoded<'_>, out: &mut Vec<Event>) {
        match d {
            Decoded::Udp(dg) => out.push(Event::Datagram(dg)),
            Decoded::Tcp(seg) => self.segment(seg, out),
        }
    }

    /// Takes back the buffer of an [`Event::Data`] whose bytes were read, to deliver the
    /// next bytes in (within [`SPARE_BUFFERS`] and [`SPARE_BUFFER_BYTES`]).
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS && buf.capacity() <= SPARE_BUFFER_BYTES {
            buf.clear();
            self.spare.push(buf);
        }
    }

    /// The parser needs no more bytes from this direction.
    pub fn stop(&mut self, client: SocketAddr, server: SocketAddr, dir: Dir) {
        if let Some(f) = self.flows.get_mut(&key(client, server)) {
            if let Some(h) = f.halves.get_mut(dir.idx()) {
                h.stopped = true;
                self.buffered = self.buffered.saturating_sub(h.pending_bytes());
                // Nothing more is held for a stopped direction.
                h.more = None;
            }
        }
    }

    fn segment(&mut self, seg: Segment<'_>, out: &mut Vec<Event>) {
        let (k, src_first) = canonical(endpoint(seg.src), endpoint(seg.dst));
        let ts = seg.ts;
        // A fresh SYN on a closed flow's tuple starts a new flow (port reuse).
        let restart = seg.flags.syn
            && !seg.flags.ack
            && self.flows.get(&k).is_some_and(|f| {
                f.closed_at().is_some()
                    || f.halves.first().and_then(|h| h.base) != Some(seg.seq.wrapping_add(1))
            });
        if restart {
            if let Some(f) = self.flows.remove(&k) {
                self.end(*f, ts, EndCause::Closed, out);
            }
        }
        // One hash lookup for a packet of a known flow (the common case); a new flow is
        // used from its insert.
        let flow = if let Some(flow) = self.flows.get_mut(&k) {
            flow
        } else {
            // Pure ACKs or resets of an unknown flow carry nothing; do not open one.
            if seg.payload.is_empty() && !seg.flags.syn {
                return;
            }
            if self.flows.len() >= self.limits.max_flows {
                self.evict_oldest(ts, out);
            }
            let id = self.next_id;
            self.next_id += 1;
            let client = if seg.flags.syn {
                if seg.flags.ack {
                    seg.dst
                } else {
                    seg.src
                }
            } else if sent_by_server(&seg.payload) {
                seg.dst
            } else if sent_by_client(&seg.payload)
                || (service_port(seg.dst.port()) && !service_port(seg.src.port()))
            {
                seg.src
            } else if service_port(seg.src.port()) && !service_port(seg.dst.port()) {
                seg.dst
            } else if seg.src.port() > seg.dst.port() {
                seg.src
            } else {
                seg.dst
            };
            let server = if client == seg.src { seg.dst } else { seg.src };
            let saw_syn = seg.flags.syn && !seg.flags.ack;
            self.stats.flows += 1;
            if !saw_syn {
                self.stats.flows_mid_stream += 1;
            }
            out.push(Event::Opened {
                flow: id,
                ts,
                client,
                server,
                saw_syn,
                client_mac: seg.src_mac.filter(|_| client == seg.src),
            });
            self.stats.peak_flows = self.stats.peak_flows.max(self.flows.len() as u64 + 1);
            self.flows.insert(Box::new(Flow {
                key: k,
                id,
                client_first: (client == seg.src) == src_first,
                halves: [Half::default(), Half::default()],
                summary: FlowSummary::default(),
            }))
        };
        let limits = self.limits;
        let dir = if src_first == flow.client_first {
            Dir::Up
        } else {
            Dir::Down
        };
        flow.summary.last_ts = ts;
        let di = dir.idx();
        if let Some(p) = flow.summary.packets.get_mut(di) {
            *p += 1;
        }
        if let Some(b) = flow.summary.payload_bytes.get_mut(di) {
            *b += seg.payload.len() as u64 + u64::from(seg.missing_tail);
        }
        if seg.flags.syn {
            if seg.flags.ack {
                flow.summary.saw_synack = true;
            } else {
                flow.summary.saw_syn = true;
            }
            if let Some(h) = flow.half(dir) {
                let isn1 = seg.seq.wrapping_add(1);
                match h.base {
                    None => h.base = Some(isn1),
                    Some(b)
                        if b != isn1
                            && h.untouched()
                            && !h.r().other_bases.contains(&isn1)
                            && h.r().other_bases.len() < MAX_ISN_CANDIDATES =>
                    {
                        h.w().other_bases.push(isn1);
                        self.stats.syn_isns_differing += 1;
                    }
                    Some(_) => {}
                }
            }
        }
        let id = flow.id;
        let mut buffered = self.buffered;
        // An ACK for bytes we never saw: the capture missed them.
        if seg.flags.ack {
            if let Some(other) = flow.half(dir.other()) {
                other.choose_base(seg.ack);
                if !other.stopped {
                    if let Some(base) = other.base {
                        let mut acked = unwrap_offset(other.next, seg.ack.wrapping_sub(base));
                        // The FIN takes one sequence number but is not a byte.
                        if let Some(f) = other.r().fin_at {
                            acked = acked.min(f.max(other.next));
                        }
                        if acked > other.next && acked <= other.next + (1 << 30) {
                            let upto = other
                                .r()
                                .pending
                                .keys()
                                .next()
                                .copied()
                                .map_or(acked, |k| k.min(acked));
                            if upto > other.next && other.untouched() {
                                // Not one byte of that direction seen yet: the ACK may
                                // have been captured before the data it acknowledges
                                // (capture queues reorder). Wait for the first byte: a
                                // gap only if it comes later than the stream start.
                                let m = other.w();
                                m.acked_unseen = Some(m.acked_unseen.unwrap_or(0).max(upto));
                            } else if upto > other.next {
                                self.stats.gaps_not_captured += 1;
                                let mut e = Emit {
                                    id,
                                    dir: dir.other(),
                                    ts,
                                    buffered: &mut buffered,
                                    out,
                                    spare: &mut self.spare,
                                };
                                self.stats.gaps_snaplen +=
                                    skip_to(other, upto, GapCause::NotCaptured, &mut e);
                            }
                        }
                    }
                }
            }
        }
        if !seg.payload.is_empty() || seg.missing_tail > 0 {
            if let Some(h) = flow.halves.get_mut(di) {
                if h.stopped {
                    self.stats.bytes_skipped_after_handshake +=
                        seg.payload.len() as u64 + u64::from(seg.missing_tail);
                } else {
                    let mut e = Emit {
                        id,
                        dir,
                        ts: seg.ts,
                        buffered: &mut buffered,
                        out,
                        spare: &mut self.spare,
                    };
                    if seg.flags.syn {
                        // TCP Fast Open (RFC 7413): the SYN carries the stream's first
                        // bytes, after the one sequence number the SYN takes.
                        let mut shifted = seg.clone();
                        shifted.seq = seg.seq.wrapping_add(1);
                        data(h, &shifted, &limits, &mut self.stats, &mut e);
                    } else {
                        data(h, &seg, &limits, &mut self.stats, &mut e);
                    }
                }
            }
        }
        self.buffered = buffered;
        self.stats.peak_buffered_bytes = self.stats.peak_buffered_bytes.max(buffered as u64);
        if seg.flags.fin {
            if let Some(h) = flow.halves.get_mut(di) {
                let base = *h.base.get_or_insert(seg.seq);
                let end = unwrap_offset(h.next, seg.seq.wrapping_sub(base))
                    + seg.payload.len() as u64
                    + u64::from(seg.missing_tail);
                if !h.stopped {
                    h.w().fin_at.get_or_insert(end);
                }
            }
            let closes = flow.summary.closes.get_or_insert_with(Box::default);
            if let Some(slot) = closes.fin.get_mut(di) {
                if slot.is_none() {
                    *slot = Some(ts);
                    out.push(Event::Fin { flow: id, dir, ts });
                }
            }
        }
        if seg.flags.rst {
            let closes = flow.summary.closes.get_or_insert_with(Box::default);
            if let Some(slot) = closes.rst.get_mut(di) {
                if slot.is_none() {
                    *slot = Some(ts);
                    out.push(Event::Rst { flow: id, dir, ts });
                }
            }
            flow.close_at(ts);
        }
        if flow.summary.fin(Dir::Up).is_some() && flow.summary.fin(Dir::Down).is_some() {
            flow.close_at(ts);
        }
    }

    /// Ends flows idle for longer than the limit, and closed flows after a short linger.
    pub fn expire(&mut self, now: Timestamp, out: &mut Vec<Event>) {
        let idle = self.limits.idle_secs;
        let mut done: Vec<(Key, EndCause)> = self
            .flows
            .iter()
            .filter_map(|(k, f)| match f.closed_at() {
                Some(c) if now.secs_since(&c) > LINGER_SECS => Some((*k, EndCause::Closed)),
                _ if now.secs_since(&f.summary.last_ts) > idle => Some((*k, EndCause::Idle)),
                _ => None,
            })
            .collect();
        done.sort_by_key(|(k, _)| self.flows.get(k).map(|f| f.id));
        for (k, cause) in done {
            if let Some(f) = self.flows.remove(&k) {
                if cause == EndCause::Idle {
                    self.stats.flows_ended_idle += 1;
                }
                self.end(*f, now, cause, out);
            }
        }
    }

    /// Ends every flow (end of the capture), in the order they started.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        while self.finish_some(usize::MAX, out) {}
    }

    /// Ends at most `max` flows, the oldest (first opened) first; returns whether flows are
    /// left.
    pub fn finish_some(&mut self, max: usize, out: &mut Vec<Event>) -> bool {
        let more = self.flows.len() > max;
        let ids = smallest(self.flows.iter().map(|(k, f)| (f.id, *k)), max);
        for (_, k) in ids {
            let Some(f) = self.flows.remove(&k) else {
                continue;
            };
            let ts = f.summary.last_ts;
            let cause = if f.closed_at().is_some() {
                EndCause::Closed
            } else {
                EndCause::EndOfCapture
            };
            self.end(*f, ts, cause, out);
        }
        more
    }

    fn evict_oldest(&mut self, now: Timestamp, out: &mut Vec<Event>) {
        // Evict the least recently active 1/64 of the table at once (amortised scan).
        let n = (self.flows.len() / 64).max(1);
        let by_age = smallest(
            self.flows
                .iter()
                .map(|(k, f)| (f.summary.last_ts, f.id, *k)),
            n,
        );
        for (_, _, k) in by_age {
            if let Some(f) = self.flows.remove(&k) {
                self.stats.flows_evicted += 1;
                self.end(*f, now, EndCause::Evicted, out);
            }
        }
    }

    fn end(&mut self, mut f: Flow, ts: Timestamp, cause: EndCause, out: &mut Vec<Event>) {
        // Deliver what is still held out of order, across the holes.
        for dir in [Dir::Up, Dir::Down] {
            let id = f.id;
            if let Some(h) = f.halves.get_mut(dir.idx()) {
                let mut buffered = self.buffered;
                let mut e = Emit {
                    id,
                    dir,
                    ts,
                    buffered: &mut buffered,
                    out,
                    spare: &mut self.spare,
                };
                if let Some(acked) = h.more.as_mut().and_then(|m| m.acked_unseen.take()) {
                    if acked > h.next && !h.stopped {
                        self.stats.gaps_not_captured += 1;
                        self.stats.gaps_snaplen += skip_to(h, acked, GapCause::NotCaptured, &mut e);
                    }
                }
                while let Some((&off, _)) = h.r().pending.iter().next() {
                    if off > h.next {
                        self.stats.gaps_not_captured += 1;
                    }
                    let upto = off.max(h.next);
                    self.stats.gaps_snaplen += if upto > h.next {
                        skip_to(h, upto, GapCause::NotCaptured, &mut e)
                    } else {
                        drain(h, &mut e)
                    };
                    if h.r().pending.is_empty() {
                        break;
                    }
                }
                self.stats.gaps_snaplen += drain(h, &mut e);
                self.buffered = buffered;
            }
        }
        out.push(Event::Ended {
            flow: f.id,
            ts,
            cause,
            summary: f.summary,
        });
    }

    pub fn flows(&self) -> usize {
        self.flows.len()
    }

    /// Bytes held out of order across all flows.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Whether this stage's bytes and `parser_held` (the parse stage's partial messages)
    /// together are over the budget across flows.
    /// Keeps the peak of the two together (`peak_budget_bytes`).
    pub fn over_budget(&mut self, parser_held: usize) -> bool {
        let total = self.buffered.saturating_add(parser_held);
        self.stats.peak_budget_bytes = self.stats.peak_budget_bytes.max(total as u64);
        total > self.limits.max_buffered_total
    }

    /// The budget across flows was reached: drops the buffers of the least recently
    /// active flows (this stage's held segments, and through a
    /// [`GapCause::MemoryBudget`] gap the parser's partial messages: `parser_held` gives
    /// them per flow and direction, sorted by flow) until 15/16 of the budget is used
    /// (so that a scan of the table frees a sixteenth of it). The
    /// flows go on. Each dropped buffer is counted in `budget_drops`.
    pub fn shed(&mut self, parser_held: &[(FlowId, [u32; 2])], out: &mut Vec<Event>) {
        let budget = self.limits.max_buffered_total;
        let target = budget - budget / 16;
        let held_total: usize = parser_held
            .iter()
            .map(|(_, [a, b])| *a as usize + *b as usize)
            .sum();
        let mut total = self.buffered.saturating_add(held_total);
        if total <= budget {
            return;
        }
        // `parser_held` is sorted by flow.
        let theirs = |id: FlowId| -> [usize; 2] {
            parser_held
                .binary_search_by_key(&id, |&(f, _)| f)
                .ok()
                .and_then(|i| parser_held.get(i))
                .map_or([0, 0], |(_, [a, b])| [*a as usize, *b as usize])
        };
        let bytes = |f: &Flow| -> usize {
            let [a, b] = theirs(f.id);
            f.halves.iter().map(Half::pending_bytes).sum::<usize>() + a + b
        };
        // The least recently active flows holding bytes, up to the ones that free enough:
        // first the cut-off (time, flow), then only those flows' keys.
        let mut ages: Vec<(Timestamp, FlowId, usize)> = self
            .flows
            .iter()
            .map(|(_, f)| f)
            .filter_map(|f| Some((f.summary.last_ts, f.id, bytes(f))).filter(|t| t.2 > 0))
            .collect();
        ages.sort_unstable();
        let mut freed = 0usize;
        let mut cutoff = None;
        for &(ts, id, n) in &ages {
            cutoff = Some((ts, id));
            freed += n;
            if total.saturating_sub(freed) <= target {
                break;
            }
        }
        drop(ages);
        let Some(cutoff) = cutoff else {
            return;
        };
        let mut victims: Vec<(Timestamp, FlowId, Key)> = self
            .flows
            .iter()
            .filter(|(_, f)| (f.summary.last_ts, f.id) <= cutoff && bytes(f) > 0)
            .map(|(k, f)| (f.summary.last_ts, f.id, *k))
            .collect();
        victims.sort_unstable();
        let cause = GapCause::MemoryBudget {
            bytes: budget as u64,
        };
        for (_, id, k) in victims {
            if total <= target {
                break;
            }
            let Some(f) = self.flows.get_mut(&k) else {
                continue;
            };
            let ts = f.summary.last_ts;
            let parsed = theirs(id);
            for dir in [Dir::Up, Dir::Down] {
                let Some(h) = f.halves.get_mut(dir.idx()) else {
                    continue;
                };
                let theirs = parsed.get(dir.idx()).copied().unwrap_or(0);
                let mine = h.pending_bytes();
                if mine == 0 && theirs == 0 {
                    continue;
                }
                self.stats.budget_drops += 1;
                total = total.saturating_sub(mine + theirs);
                if mine == 0 {
                    // Only the parser holds bytes: no stream byte is skipped here, the gap
                    // (of 0 bytes) tells the parser to drop its partial message.
                    out.push(Event::Gap {
                        flow: id,
                        dir,
                        ts,
                        len: 0,
                        cause,
                    });
                    continue;
                }
                // Give up every hole: what is held is delivered past each (the parser,
                // told of the gap first, drops it and its own partial message).
                let mut buffered = self.buffered;
                let mut e = Emit {
                    id,
                    dir,
                    ts,
                    buffered: &mut buffered,
                    out,
                    spare: &mut self.spare,
                };
                for _ in 0..=limits_holes(&self.limits) {
                    let Some((&first, _)) = h.r().pending.iter().next() else {
                        break;
                    };
                    self.stats.gaps_snaplen += if first > h.next {
                        skip_to(h, first, cause, &mut e)
                    } else {
                        drain(h, &mut e)
                    };
                }
                self.buffered = buffered;
            }
        }
    }
}

/// Holes a direction can hold (a bound on the loops that give them up).
fn limits_holes(l: &Limits) -> usize {
    l.max_holes.saturating_add(1)
}

/// The 64-bit stream offset nearest to `near` whose low 32 bits are `rel32`.
fn unwrap_offset(near: u64, rel32: u32) -> u64 {
    let near32 = near as u32;
    let delta = rel32.wrapping_sub(near32) as i32;
    if delta < 0 {
        near.saturating_sub(u64::from(delta.unsigned_abs()))
    } else {
        near + delta as u64
    }
}

/// Where one direction's events go: the flow and direction they are about, the time,
/// the table-wide count of bytes held, and the output.
struct Emit<'a> {
    id: FlowId,
    dir: Dir,
    ts: Timestamp,
    buffered: &'a mut usize,
    out: &'a mut Vec<Event>,
    /// Buffers of delivered bytes handed back ([`Reassembler::recycle`]).
    spare: &'a mut Vec<Vec<u8>>,
}

impl Emit<'_> {
    fn push(&mut self, ev: Event) {
        self.out.push(ev);
    }

    /// `bytes` in a buffer of their own for an [`Event::Data`]: a spare one when there is.
    fn bytes(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut v = self.spare.pop().unwrap_or_default();
        v.extend_from_slice(bytes);
        v
    }
}

fn data(
    h: &mut Half,
    seg: &Segment<'_>,
    limits: &Limits,
    stats: &mut ReassemblyStats,
    e: &mut Emit<'_>,
) {
    let (id, dir) = (e.id, e.dir);
    h.choose_base(seg.seq);
    let base = *h.base.get_or_insert(seg.seq);
    let ts = seg.ts;
    let mut bytes: &[u8] = &seg.payload;
    // The segment may start before stream offset 0 (a retransmission of bytes sent before
    // the first segment seen when joining mid-stream): drop that part.
    let delta = i64::from(seg.seq.wrapping_sub(base).wrapping_sub(h.next as u32) as i32);
    let rel = i64::try_from(h.next)
        .unwrap_or(i64::MAX)
        .saturating_add(delta);
    let mut off = if rel < 0 {
        let skip = usize::try_from(rel.unsigned_abs())
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        stats.retransmitted_bytes += skip as u64;
        bytes = bytes.get(skip..).unwrap_or(&[]);
        0
    } else {
        rel as u64
    };
    // Trim what was already delivered (retransmission or overlap: first copy wins).
    if off < h.next {
        let skip = (h.next - off).min(bytes.len() as u64) as usize;
        stats.retransmitted_bytes += skip as u64;
        bytes = bytes.get(skip..).unwrap_or(&[]);
        off += skip as u64;
    }
    let tail = u64::from(seg.missing_tail);
    // The first byte of a direction the peer already acknowledged past: bytes before it
    // were not captured (a gap up to it, within what was acknowledged), or it is the
    // stream start after all (no gap: the ACK was captured first).
    if let Some(acked) = h.more.as_mut().and_then(|m| m.acked_unseen.take()) {
        let upto = off.min(acked);
        if upto > h.next {
            stats.gaps_not_captured += 1;
            stats.gaps_snaplen += skip_to(h, upto, GapCause::NotCaptured, e);
        }
    }
    // In order, but a held segment starts inside it: that copy came first. Deliver up to
    // it, and treat the rest as held bytes (compared, never delivered twice).
    let first_held = h
        .r()
        .pending
        .range(off..off + bytes.len() as u64)
        .next()
        .map(|(&k, _)| k);
    if off == h.next && first_held.is_some_and(|k| k > off) {
        let n = first_held.map_or(0, |k| (k - off) as usize);
        h.next += n as u64;
        let data = e.bytes(bytes.get(..n).unwrap_or_default());
        e.push(Event::Data {
            flow: id,
            dir,
            ts,
            data,
        });
        bytes = bytes.get(n..).unwrap_or_default();
        off += n as u64;
    }
    if off == h.next && first_held.is_none() {
        if !bytes.is_empty() {
            h.next += bytes.len() as u64;
            let data = e.bytes(bytes);
            e.push(Event::Data {
                flow: id,
                dir,
                ts,
                data,
            });
        }
        if tail > 0 {
            stats.gaps_snaplen += 1;
            e.push(Event::Gap {
                flow: id,
                dir,
                ts,
                len: tail,
                cause: GapCause::Snaplen,
            });
            h.next += tail;
        }
        stats.gaps_snaplen += drain(h, e);
        return;
    }
    if tail > 0 && h.r().tails.len() < limits.max_holes {
        h.w().tails.insert(off + bytes.len() as u64, tail);
    }
    if bytes.is_empty() {
        stats.gaps_snaplen += drain(h, e);
        return;
    }
    // Out of order: hold the bytes no held segment covers yet (the first copy is kept;
    // overlapping bytes are compared with it), within the bounds.
    if off > h.next {
        stats.out_of_order_segments += 1;
    }
    let mut pieces = uncovered(h, off, bytes, stats);
    let mut new_bytes: usize = pieces.iter().map(|&(_, a, b)| b - a).sum();
    if new_bytes > 0
        && (h.r().pending.len() + pieces.len() > limits.max_holes
            || h.pending_bytes() + new_bytes > limits.max_buffer)
    {
        // Give up the first hole: deliver what is held from its far side.
        if let Some((&first, _)) = h.r().pending.iter().next() {
            if first > h.next {
                stats.gaps_buffer_limit += 1;
                stats.gaps_snaplen += skip_to(h, first, GapCause::BufferLimit, e);
            }
        }
        // What was held may have been delivered meanwhile: trim again.
        let skip = h.next.saturating_sub(off).min(bytes.len() as u64) as usize;
        let (off2, rest) = (off.max(h.next), bytes.get(skip..).unwrap_or(&[]));
        pieces = uncovered_quiet(h, off2, rest)
            .into_iter()
            .map(|(o, a, b)| (o, a + skip, b + skip))
            .collect();
        new_bytes = pieces.iter().map(|&(_, a, b)| b - a).sum();
        if h.r().pending.len() + pieces.len() > limits.max_holes
            || h.pending_bytes() + new_bytes > limits.max_buffer
        {
            return;
        }
    }
    for (o, a, b) in pieces {
        if let Some(piece) = bytes.get(a..b) {
            let m = h.w();
            m.pending.insert(o, piece.to_vec());
            m.pending_bytes += piece.len();
            *e.buffered += piece.len();
        }
    }
    // After a hole was given up this segment may be next in line.
    stats.gaps_snaplen += drain(h, e);
}

/// The parts of `bytes` (at stream offset `off`) that no held segment covers, as (stream
/// offset, start, end in `bytes`). Bytes already held are compared with the held copy:
/// the same bytes count as retransmitted, other bytes as conflicting (the first copy is
/// kept either way).
fn uncovered(
    h: &Half,
    off: u64,
    bytes: &[u8],
    stats: &mut ReassemblyStats,
) -> Vec<(u64, usize, usize)> {
    let (pieces, same, conflicting) = overlaps(h, off, bytes);
    stats.retransmitted_bytes += same;
    if conflicting > 0 {
        stats.conflicting_bytes += conflicting;
        stats.conflicting_segments += 1;
    }
    pieces
}

/// The `n` smallest of `items`, in ascending order, holding at most `n` of them at once
/// (not a copy of the whole flow table: 3 MiB at its bound, at every eviction round).
fn smallest<T: Ord>(items: impl ExactSizeIterator<Item = T>, n: usize) -> Vec<T> {
    let mut heap = std::collections::BinaryHeap::with_capacity(n.min(items.len()));
    for it in items {
        if heap.len() < n {
            heap.push(it);
        } else if let Some(mut top) = heap.peek_mut() {
            if it < *top {
                *top = it;
            }
        }
    }
    heap.into_sorted_vec()
}

fn uncovered_quiet(h: &Half, off: u64, bytes: &[u8]) -> Vec<(u64, usize, usize)> {
    overlaps(h, off, bytes).0
}

fn overlaps(h: &Half, off: u64, bytes: &[u8]) -> (Vec<(u64, usize, usize)>, u64, u64) {
    let end = off + bytes.len() as u64;
    let mut pieces = Vec::new();
    let (mut same, mut conflicting) = (0u64, 0u64);
    let mut cur = off;
    let pending = &h.r().pending;
    let from = pending.range(..=off).next_back().map_or(off, |(&k, _)| k);
    for (&k, held) in pending.range(from..end) {
        let kend = k + held.len() as u64;
        if kend <= cur {
            continue;
        }
        if k > cur {
            pieces.push((cur, (cur - off) as usize, (k - off) as usize));
            cur = k;
        }
        let upto = kend.min(end);
        let mine = bytes
            .get((cur - off) as usize..(upto - off) as usize)
            .unwrap_or_default();
        let theirs = held
            .get((cur - k) as usize..(upto - k) as usize)
            .unwrap_or_default();
        let differ = mine.iter().zip(theirs).filter(|(a, b)| a != b).count() as u64;
        conflicting += differ;
        same += (upto - cur) - differ;
        cur = upto;
        if cur >= end {
            break;
        }
    }
    if cur < end {
        pieces.push((cur, (cur - off) as usize, bytes.len()));
    }
    (pieces, same, conflicting)
}

/// Gives up the bytes from `h.next` to `upto` (reported as a gap with its cause), then
/// delivers what is held beyond them. Returns the snaplen gaps emitted while draining.
fn skip_to(h: &mut Half, upto: u64, cause: GapCause, e: &mut Emit<'_>) -> u64 {
    let (flow, dir, ts) = (e.id, e.dir, e.ts);
    e.push(Event::Gap {
        flow,
        dir,
        ts,
        len: upto - h.next,
        cause,
    });
    h.next = upto;
    drain(h, e)
}

/// Delivers held segments that have become contiguous, and the snaplen gaps held with
/// them. Returns the number of snaplen gaps emitted.
fn drain(h: &mut Half, e: &mut Emit<'_>) -> u64 {
    let (id, dir, ts) = (e.id, e.dir, e.ts);
    let mut snaplen_gaps = 0;
    // Nothing held: nothing to deliver (and nothing to box).
    let Some(m) = h.more.as_deref_mut() else {
        return 0;
    };
    loop {
        while let Some((&k, _)) = m.tails.iter().next() {
            if k >= h.next {
                break;
            }
            m.tails.remove(&k);
        }
        if let Some(t) = m.tails.remove(&h.next) {
            e.push(Event::Gap {
                flow: id,
                dir,
                ts,
                len: t,
                cause: GapCause::Snaplen,
            });
            h.next += t;
            snaplen_gaps += 1;
            continue;
        }
        let Some((&off, _)) = m.pending.iter().next() else {
            break;
        };
        if off > h.next {
            break;
        }
        let Some(bytes) = m.pending.remove(&off) else {
            break;
        };
        m.pending_bytes = m.pending_bytes.saturating_sub(bytes.len());
        *e.buffered = e.buffered.saturating_sub(bytes.len());
        let skip = (h.next - off) as usize;
        if let Some(rest) = bytes.get(skip..) {
            if !rest.is_empty() {
                h.next += rest.len() as u64;
                let data = e.bytes(rest);
                e.push(Event::Data {
                    flow: id,
                    dir,
                    ts,
                    data,
                });
            }
        }
    }
    snaplen_gaps
}

#[cfg(test)]
mod tests;
