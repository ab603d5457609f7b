//! Per-client summaries: the names each client tried, in first-seen order, bounded.

use std::net::IpAddr;

use super::{cap, CorrelateLimits, Probe, Verdict};

/// Per-client summary.
#[derive(Clone, Debug)]
pub struct ClientSummary {
    pub client: IpAddr,
    /// The host's other addresses (same MAC), when they were merged into it.
    pub also: Vec<IpAddr>,
    pub mac: Option<crate::decode::Mac>,
    /// Names in first-seen order (at most [`CorrelateLimits::max_names_per_client`]).
    pub names: Vec<String>,
    /// Names not kept because the list was full.
    pub names_dropped: u64,
    pub probes: usize,
    pub mismatches: usize,
    /// Order in which clients were first seen.
    pub(crate) first_seen: u64,
}

/// Per-client summaries, bounded: at most [`CorrelateLimits::max_clients`] clients (the
/// least recently active are dropped, counted) and
/// [`CorrelateLimits::max_names_per_client`] names each.
pub struct Summaries {
    limits: CorrelateLimits,
    clients: crate::correlate::bounded::Lru<IpAddr, ClientSummary>,
    next_seq: u64,
    pub evicted: u64,
    pub names_dropped: u64,
}

impl Summaries {
    pub fn new(limits: CorrelateLimits) -> Self {
        Summaries {
            limits,
            clients: crate::correlate::bounded::Lru::new(cap(limits.max_clients)),
            next_seq: 0,
            evicted: 0,
            names_dropped: 0,
        }
    }

    pub fn add(&mut self, p: &Probe) {
        let key = p.host_addr();
        if !self.clients.contains(&key) {
            let s = ClientSummary {
                client: key,
                also: p.host.as_ref().map(|h| h.also.clone()).unwrap_or_default(),
                mac: p.host.as_ref().map(|h| h.mac),
                names: Vec::new(),
                names_dropped: 0,
                probes: 0,
                mismatches: 0,
                first_seen: self.next_seq,
            };
            self.next_seq += 1;
            if self.clients.push(key, s).is_some() {
                self.evicted += 1;
            }
        }
        let Some(s) = self.clients.get_mut(&key) else {
            return;
        };
        // A streamed report learns a host's addresses as they come: a later probe may
        // bring one its first probe did not know.
        if let Some(h) = &p.host {
            for a in &h.also {
                if !s.also.contains(a) {
                    s.also.push(*a);
                }
            }
            s.mac = s.mac.or(Some(h.mac));
        }
        s.probes += 1;
        if p.verdict == Some(Verdict::Mismatch) {
            s.mismatches += 1;
        }
        if let Some(n) = &p.name {
            let n = n.to_ascii_lowercase();
            if !s.names.contains(&n) {
                if s.names.len() < self.limits.max_names_per_client {
                    // Most clients try a name or two: the list's first name gets one
                    // slot, not four.
                    if s.names.is_empty() {
                        s.names.reserve_exact(1);
                    }
                    s.names.push(n);
                } else {
                    s.names_dropped += 1;
                    self.names_dropped += 1;
                }
            }
        }
    }

    /// The summaries in the order their clients were first seen (moved out, not copied:
    /// at the bound they are tens of megabytes).
    pub fn into_clients(self) -> Vec<ClientSummary> {
        let mut v: Vec<ClientSummary> = self.clients.into_iter().map(|(_, s)| s).collect();
        v.sort_by_key(|s| s.first_seen);
        v
    }
}
