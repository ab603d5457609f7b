//! DNS: one probe per query, settled by its answer; and the address map that names the
//! servers of connections without SNI (and the targets of ECH).

use std::net::{IpAddr, SocketAddr};

use super::{cap, Cx, DnsDetails, NameSource, Outcome, Probe, ProbeKind};
use crate::capture::Timestamp;
use crate::parse::{DnsMessage, RrType};

/// Address → name, learned from DNS answers: per client first, then from any client.
/// Both maps share one bound ([`super::CorrelateLimits::max_dns_entries`]); a full map
/// drops its least recently used entry, counted.
pub struct DnsMap {
    by_client: crate::correlate::bounded::Lru<(IpAddr, IpAddr), String>,
    any: crate::correlate::bounded::Lru<IpAddr, String>,
    /// Entries pushed out of either map.
    pub evictions: u64,
}

impl DnsMap {
    pub fn new(max: usize) -> Self {
        DnsMap {
            by_client: crate::correlate::bounded::Lru::new(cap(max)),
            any: crate::correlate::bounded::Lru::new(cap(max)),
            evictions: 0,
        }
    }

    /// The name `client` resolved to `server`, or the name any client resolved to it.
    pub fn name_for(&mut self, client: IpAddr, server: IpAddr) -> Option<String> {
        if let Some(n) = self.by_client.get(&(client, server)) {
            return Some(n.clone());
        }
        self.any.get(&server).cloned()
    }

    /// `client` learned that `name` is at `ip`. A replaced entry for the same key is not
    /// an eviction.
    pub fn learn(&mut self, client: IpAddr, ip: IpAddr, name: String) {
        let key = (client, ip);
        if let Some((k, _)) = self.by_client.push(key, name.clone()) {
            if k != key {
                self.evictions += 1;
            }
        }
        if let Some((k, _)) = self.any.push(ip, name) {
            if k != ip {
                self.evictions += 1;
            }
        }
    }
}

/// DNS queries waiting for their answer.
pub struct DnsTracker {
    /// (client, client port, server, DNS id) → the query's probe.
    pending: crate::correlate::bounded::Lru<(SocketAddr, IpAddr, u16), Probe>,
    /// The same key → when its query was answered: a repeated answer (the server's
    /// retransmission, or the same capture read twice) within the probe timeout is that
    /// answer again, not one whose query was not captured. As many as `pending`.
    answered: crate::correlate::bounded::Lru<(SocketAddr, IpAddr, u16), Timestamp>,
}

fn dns_probe(
    ts: Timestamp,
    client: SocketAddr,
    server: SocketAddr,
    name: Option<String>,
    details: DnsDetails,
    outcome: Outcome,
) -> Probe {
    Probe {
        name,
        name_source: Some(NameSource::DnsQuery),
        ..Probe::new(ts, client, server, ProbeKind::Dns(details), outcome)
    }
}

impl DnsTracker {
    pub fn new(max_pending: usize) -> Self {
        DnsTracker {
            pending: crate::correlate::bounded::Lru::new(cap(max_pending)),
            answered: crate::correlate::bounded::Lru::new(cap(max_pending)),
        }
    }

    /// The start of the earliest query still waiting.
    pub fn earliest(&self) -> Option<Timestamp> {
        self.pending.iter().map(|(_, p)| p.ts).min()
    }

    pub fn message(
        &mut self,
        cx: &mut Cx,
        ts: Timestamp,
        client: SocketAddr,
        server: SocketAddr,
        msg: DnsMessage,
    ) {
        let key = (client, server.ip(), msg.id);
        if !msg.response {
            self.query(cx, ts, client, server, msg);
            return;
        }
        super::quic::note_ech_names(cx, &msg);
        // An answer: fill the address map with the name the client asked for.
        let asked = msg.questions.first().map(|q| q.name.clone());
        for a in &msg.answers {
            if let Some(ip) = a.ip() {
                let name = asked.clone().unwrap_or_else(|| a.name.clone());
                cx.names.learn(client.ip(), ip, name);
            }
        }
        cx.stats.dns_map_evictions = cx.names.evictions;
        match self.pending.pop(&key) {
            Some(mut p) => {
                if let Some((old, _)) = self.answered.push(key, ts) {
                    if old != key {
                        cx.stats.dns_answered_evictions += 1;
                    }
                }
                p.outcome = Outcome::DnsAnswered {
                    query_captured: true,
                };
                if let ProbeKind::Dns(d) = &mut p.kind {
                    d.rcode = Some(msg.rcode);
                    d.truncated = msg.truncated;
                    d.answers = msg.answers;
                }
                cx.emit(p);
            }
            None if self
                .answered
                .get(&key)
                .is_some_and(|t| ts.secs_since(t) <= cx.timeout()) =>
            {
                // The answer again (a retransmission): its probe was reported.
                cx.stats.dns_answers_repeated += 1;
            }
            None => {
                // An answer whose query was not captured (or an mDNS announcement).
                cx.stats.dns_answers_unmatched += 1;
                let Some((qname, qtype)) = msg
                    .questions
                    .first()
                    .map(|q| (q.name.clone(), q.qtype))
                    .or_else(|| msg.answers.first().map(|a| (a.name.clone(), a.rtype())))
                else {
                    return;
                };
                let details = DnsDetails {
                    qtype: Some(qtype),
                    rcode: Some(msg.rcode),
                    truncated: msg.truncated,
                    answers: msg.answers,
                };
                let outcome = Outcome::DnsAnswered {
                    query_captured: false,
                };
                cx.emit(dns_probe(ts, client, server, Some(qname), details, outcome));
            }
        }
    }

    fn query(
        &mut self,
        cx: &mut Cx,
        ts: Timestamp,
        client: SocketAddr,
        server: SocketAddr,
        msg: DnsMessage,
    ) {
        let key = (client, server.ip(), msg.id);
        // One probe per question (mDNS often asks several at once); the answer is matched
        // to the first.
        let multicast = server.ip().is_multicast();
        let mut questions: Vec<(Option<String>, Option<RrType>)> = msg
            .questions
            .into_iter()
            .map(|q| ((!q.name.is_empty()).then_some(q.name), Some(q.qtype)))
            .collect();
        if questions.is_empty() {
            questions.push((None, None));
        }
        for (n, (qname, qtype)) in questions.into_iter().enumerate() {
            let details = DnsDetails {
                qtype,
                rcode: None,
                truncated: false,
                answers: Vec::new(),
            };
            let outcome = if multicast {
                Outcome::DnsMulticast
            } else {
                Outcome::DnsWaiting
            };
            let probe = dns_probe(ts, client, server, qname, details, outcome);
            // mDNS/LLMNR questions go to a group: no answer is matched to them.
            if multicast || n > 0 {
                cx.emit(probe);
                continue;
            }
            // The same question again on the same id while the first waits: the client's
            // retransmission (tshark's too), one attempt. The first is kept, it started it.
            let again = self.pending.peek(&key).is_some_and(|p| {
                p.name == probe.name && p.dns().map(|d| d.qtype) == probe.dns().map(|d| d.qtype)
            });
            if again {
                cx.stats.dns_queries_repeated += 1;
                continue;
            }
            // A full table pushes out the oldest waiting query; a repeated id with another
            // question replaces the earlier query. Either way that one is reported as
            // unanswered.
            if let Some((old_key, old)) = self.pending.push(key, probe) {
                if old_key != key {
                    cx.stats.dns_pending_evictions += 1;
                }
                cx.emit(old);
            }
        }
    }

    /// Queries unanswered for longer than the probe timeout are reported; answers older
    /// than it are forgotten.
    pub fn expire(&mut self, cx: &mut Cx, now: Timestamp) {
        let limit = cx.timeout();
        while self
            .answered
            .peek_lru()
            .is_some_and(|(_, t)| now.secs_since(t) > limit)
        {
            self.answered.pop_lru();
        }
        while let Some((_, p)) = self.pending.peek_lru() {
            if now.secs_since(&p.ts) <= limit {
                break;
            }
            if let Some((_, p)) = self.pending.pop_lru() {
                cx.stats.probes_timed_out += 1;
                cx.emit(p);
            }
        }
    }

    pub fn finish(&mut self, cx: &mut Cx) {
        while let Some((_, p)) = self.pending.pop_lru() {
            cx.emit(p);
        }
    }
}
