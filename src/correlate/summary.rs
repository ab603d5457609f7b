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
    /// Once `names` holds more than [`KEYED_AFTER`], a hash of each of them, at the same
    /// place ([`name_key`]): a probe's name is looked for among the keys, and compared as
    /// a string only where the key matches (a client that tried 256 names compared every
    /// probe's name with each). Empty, with no allocation, for the many clients of a
    /// flood that try a name or two.
    name_keys: Vec<u32>,
    /// Probes whose name was not kept because the list was full (a name not kept that
    /// comes again counts again: no list of them is kept either).
    pub names_dropped: u64,
    pub probes: usize,
    pub mismatches: usize,
    /// Order in which clients were first seen.
    pub(crate) first_seen: u64,
}

/// Names a client's list holds before they are looked up by their keys
/// ([`ClientSummary`]'s `name_keys`).
const KEYED_AFTER: usize = 8;

/// FNV-1a of `name` in lower case: the same for two names that differ only in case.
fn name_key(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5, |h: u32, b| {
        (h ^ u32::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0193)
    })
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
                name_keys: Vec::new(),
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
            // Names are kept in lower case; the probe's is lowered only when it is new.
            let key = name_key(n);
            let known = if s.name_keys.is_empty() {
                s.names.iter().any(|m| m.eq_ignore_ascii_case(n))
            } else {
                s.name_keys
                    .iter()
                    .zip(&s.names)
                    .any(|(&k, m)| k == key && m.eq_ignore_ascii_case(n))
            };
            if !known {
                if s.names.len() < self.limits.max_names_per_client {
                    // Most clients try a name or two: the list's first name gets one
                    // slot, not four.
                    if s.names.is_empty() {
                        s.names.reserve_exact(1);
                    }
                    s.names.push(n.to_ascii_lowercase());
                    if !s.name_keys.is_empty() {
                        s.name_keys.push(key);
                    } else if s.names.len() > KEYED_AFTER {
                        s.name_keys = s.names.iter().map(|m| name_key(m)).collect();
                    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::capture::Timestamp;
    use crate::correlate::{Outcome, ProbeKind};

    fn probe(name: &str) -> Probe {
        Probe {
            name: Some(name.into()),
            ..Probe::new(
                Timestamp::new(1_000, 0),
                "198.51.100.10:40000".parse().unwrap(),
                "192.0.2.10:443".parse().unwrap(),
                ProbeKind::Tls(Box::default()),
                Outcome::ConnectionClosed,
            )
        }
    }

    /// The names are found by their keys (the hashes beside them), so the keys must
    /// follow the names: a name seen again in another case, after many others, is the
    /// same name; a new one past the bound is counted, not kept.
    #[test]
    fn a_name_seen_again_in_another_case_is_one_name_and_the_bound_holds() {
        let limits = CorrelateLimits {
            max_names_per_client: 3,
            ..CorrelateLimits::default()
        };
        let mut s = Summaries::new(limits);
        for n in [
            "Mail.Example.com",
            "a.example",
            "b.example",
            "mail.example.COM",
            "A.EXAMPLE",
        ] {
            s.add(&probe(n));
        }
        s.add(&probe("c.example"));
        s.add(&probe("b.example"));
        let dropped = s.names_dropped;
        let c = s.into_clients();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].names, ["mail.example.com", "a.example", "b.example"]);
        assert_eq!(c[0].probes, 7);
        assert_eq!(c[0].names_dropped, 1);
        assert_eq!(dropped, 1);
        assert_eq!(name_key("Mail.Example.COM"), name_key("mail.example.com"));
        // Past KEYED_AFTER names the keys are made and looked up: the same answers.
        let mut s = Summaries::new(CorrelateLimits::default());
        let many: Vec<String> = (0..20).map(|i| format!("N{i}.Example")).collect();
        for n in many.iter().chain(&many) {
            s.add(&probe(n));
        }
        s.add(&probe("n3.example"));
        let c = s.into_clients();
        let lower: Vec<String> = many.iter().map(|n| n.to_ascii_lowercase()).collect();
        assert_eq!(c[0].names, lower);
        assert_eq!(c[0].name_keys.len(), c[0].names.len());
        assert_eq!(c[0].probes, 41);
        assert_ne!(name_key("a.example"), name_key("b.example"));
    }
}
