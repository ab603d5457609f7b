//! Bounded IPv4/IPv6 fragment reassembly (e.g. large DNS answers over UDP).
//!
//! Bounds: at most `max_datagrams` datagrams in progress, each at most `max_bytes`
//! long, each dropped after `idle_secs` without a new fragment. Every drop is counted.

use std::collections::HashMap;
use std::net::IpAddr;

use etherparse::{IpNumber, Ipv6ExtensionSlice, LaxIpSlice};

use crate::capture::Timestamp;

#[derive(Clone, Copy, Debug)]
pub struct DefragLimits {
    pub max_datagrams: usize,
    pub max_bytes: usize,
    pub idle_secs: f64,
}

impl Default for DefragLimits {
    fn default() -> Self {
        DefragLimits {
            max_datagrams: 1024,
            max_bytes: 65_535,
            idle_secs: 30.0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
}

pub struct FragmentInfo {
    key: Key,
    offset: usize,
    more: bool,
    proto: IpNumber,
}

impl FragmentInfo {
    pub fn from_ip(slice: &LaxIpSlice<'_>) -> Option<FragmentInfo> {
        match slice {
            LaxIpSlice::Ipv4(v4) => {
                let h = v4.header();
                Some(FragmentInfo {
                    key: Key {
                        src: slice.source_addr(),
                        dst: slice.destination_addr(),
                        id: u32::from(h.identification()),
                    },
                    offset: usize::from(h.fragments_offset().byte_offset()),
                    more: h.more_fragments(),
                    proto: h.protocol(),
                })
            }
            LaxIpSlice::Ipv6(v6) => {
                let frag = v6.extensions().clone().into_iter().find_map(|e| match e {
                    Ipv6ExtensionSlice::Fragment(f) => Some(f),
                    _ => None,
                })?;
                Some(FragmentInfo {
                    key: Key {
                        src: slice.source_addr(),
                        dst: slice.destination_addr(),
                        id: frag.identification(),
                    },
                    offset: usize::from(frag.fragment_offset().byte_offset()),
                    more: frag.more_fragments(),
                    proto: frag.next_header(),
                })
            }
        }
    }
}

struct Partial {
    last_seen: Timestamp,
    proto: IpNumber,
    /// (offset, bytes), in arrival order.
    pieces: Vec<(usize, Vec<u8>)>,
    bytes: usize,
    total: Option<usize>,
}

pub enum Outcome {
    Pending,
    Rejected(&'static str),
    /// The reassembled transport protocol and payload.
    Complete((IpNumber, Vec<u8>)),
}

pub struct Defragmenter {
    limits: DefragLimits,
    partial: HashMap<Key, Partial, foldhash::fast::RandomState>,
    pub evictions: u64,
}

impl Defragmenter {
    pub fn new(limits: DefragLimits) -> Self {
        Defragmenter {
            limits,
            partial: HashMap::default(),
            evictions: 0,
        }
    }

    pub fn add(&mut self, ts: Timestamp, f: FragmentInfo, data: &[u8]) -> Outcome {
        let end = match f.offset.checked_add(data.len()) {
            Some(e) if e <= self.limits.max_bytes => e,
            _ => return Outcome::Rejected("ip_fragment_too_large"),
        };
        if !self.partial.contains_key(&f.key) && self.partial.len() >= self.limits.max_datagrams {
            // Evict the stalest datagram in progress.
            if let Some(old) = self
                .partial
                .iter()
                .min_by_key(|(_, p)| p.last_seen)
                .map(|(k, _)| *k)
            {
                self.partial.remove(&old);
                self.evictions += 1;
            }
        }
        let p = self.partial.entry(f.key).or_insert_with(|| Partial {
            last_seen: ts,
            proto: f.proto,
            pieces: Vec::new(),
            bytes: 0,
            total: None,
        });
        p.last_seen = ts;
        if f.offset == 0 {
            p.proto = f.proto;
        }
        if !f.more {
            p.total = Some(end);
        }
        p.bytes = p.bytes.saturating_add(data.len());
        if p.bytes > self.limits.max_bytes.saturating_mul(2) || p.pieces.len() >= 256 {
            self.partial.remove(&f.key);
            self.evictions += 1;
            return Outcome::Rejected("ip_fragment_overflow");
        }
        p.pieces.push((f.offset, data.to_vec()));
        let Some(total) = p.total else {
            return Outcome::Pending;
        };
        // Complete when the pieces cover [0, total) without a hole.
        let mut order: Vec<(usize, usize)> = p
            .pieces
            .iter()
            .enumerate()
            .map(|(i, (off, _))| (*off, i))
            .collect();
        order.sort_unstable();
        let mut covered = 0usize;
        for (off, i) in &order {
            if *off > covered {
                return Outcome::Pending;
            }
            let len = p.pieces.get(*i).map_or(0, |(_, d)| d.len());
            covered = covered.max(off.saturating_add(len));
        }
        if covered < total {
            return Outcome::Pending;
        }
        let mut out = vec![0u8; total];
        // First arrival wins on overlaps: write in reverse arrival order.
        for (off, d) in p.pieces.iter().rev() {
            let stop = (*off + d.len()).min(total);
            if let (Some(dst), Some(src)) =
                (out.get_mut(*off..stop), d.get(..stop.saturating_sub(*off)))
            {
                dst.copy_from_slice(src);
            }
        }
        let proto = p.proto;
        self.partial.remove(&f.key);
        Outcome::Complete((proto, out))
    }

    pub fn expire(&mut self, now: Timestamp) {
        let idle = self.limits.idle_secs;
        let before = self.partial.len();
        self.partial
            .retain(|_, p| now.secs_since(&p.last_seen) <= idle);
        self.evictions += (before - self.partial.len()) as u64;
    }
}
