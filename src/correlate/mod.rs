//! Stage 5: turn parsed facts into probes (one per TLS connection, QUIC attempt, HTTP
//! request, DNS query), decide the name verdict for each TLS probe, and group probes per
//! client.
//!
//! Input: owned [`Parsed`] facts. Output: each [`Probe`] as soon as its outcome is known
//! (the handshake finished, the connection ended, the answer arrived, or
//! [`CorrelateLimits::probe_timeout_secs`] passed), taken with [`Correlator::take_ready`].
//!
//! One tracker per protocol: [`tls`] (TCP connections: TLS handshakes, and the HTTP
//! requests on them through [`http`]), [`dns`] (queries waiting for their answer, and the
//! [`dns::DnsMap`] of addresses to names), [`quic`] (QUIC attempts). They share a [`Cx`]:
//! the bounds, the counters, the address map and the probes ready to report.
//! [`Collector`] turns the probes into the time-ordered [`Report`] of a capture file;
//! [`summary::Summaries`] keeps the bounded per-client summaries; [`groups`] the attempt
//! groups.

pub mod bounded;
pub mod dns;
pub mod groups;
pub mod hosts;
pub mod http;
pub mod names;
pub mod probe;
pub mod quic;
pub mod summary;
pub mod tls;
pub mod trust;

use std::num::NonZeroUsize;
use std::sync::Arc;

use crate::capture::Timestamp;
use crate::parse::Parsed;

pub use names::Verdict;
pub use probe::*;
pub use summary::{ClientSummary, Summaries};

/// Probes held by default to lay out a capture file's report (`--max-report-probes`): as
/// many as a live capture keeps for a view drawn at its end ([`crate::report::MAX_KEPT_PROBES`]).
pub const MAX_REPORT_PROBES: usize = 20_000;

/// Correlator bounds.
#[derive(Clone, Copy, Debug)]
pub struct CorrelateLimits {
    /// IP → name entries learned from DNS answers.
    pub max_dns_entries: usize,
    /// DNS queries waiting for their answer.
    pub max_pending_dns: usize,
    /// Probes held to lay out the report of a capture file (`--max-report-probes`; a live
    /// capture and JSON hold none): beyond it the report is streamed.
    pub max_probes: usize,
    /// Clients with a summary; the least recently active are dropped beyond it.
    pub max_clients: usize,
    /// Names kept per client summary.
    pub max_names_per_client: usize,
    /// Seconds after which a probe still waiting (no answer, handshake not finished,
    /// connection still open) is reported with what is known.
    pub probe_timeout_secs: f64,
    /// QUIC attempts whose probe may still get the server's answer.
    pub max_quic_pending: usize,
    /// Names with an ECH configuration (DNS HTTPS/SVCB `ech`) remembered.
    pub max_ech_names: usize,
    /// Attempt groups: window and bounds.
    pub groups: groups::GroupLimits,
    /// Merge the client addresses that share a MAC into one host (`--no-merge-hosts`).
    pub merge_hosts: bool,
}

impl Default for CorrelateLimits {
    fn default() -> Self {
        CorrelateLimits {
            max_dns_entries: 65_536,
            max_pending_dns: 16_384,
            max_probes: MAX_REPORT_PROBES,
            max_clients: 65_536,
            max_names_per_client: 256,
            probe_timeout_secs: 10.0,
            max_quic_pending: 16_384,
            max_ech_names: 16_384,
            groups: groups::GroupLimits::default(),
            merge_hosts: true,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct CorrelateStats {
    pub dns_map_evictions: u64,
    pub dns_pending_evictions: u64,
    pub probes_dropped: u64,
    pub dns_answers_unmatched: u64,
    /// Queries repeated (same id, same question) while the first waited: not new probes.
    pub dns_queries_repeated: u64,
    /// Answers repeated after their query was answered: not probes.
    pub dns_answers_repeated: u64,
    /// Answered queries forgotten past the bound before the probe timeout (a repeat of
    /// their answer would then count as an answer without query).
    pub dns_answered_evictions: u64,
    pub clients_evicted: u64,
    pub client_names_dropped: u64,
    /// Probes reported because [`CorrelateLimits::probe_timeout_secs`] passed.
    pub probes_timed_out: u64,
    pub quic_pending_evictions: u64,
    pub ech_name_evictions: u64,
    /// Attempt groups dropped because [`groups::GroupLimits::max_groups`] were kept.
    pub groups_evicted: u64,
    /// Probes not listed in their group ([`groups::GroupLimits::max_members`]).
    pub group_members_dropped: u64,
    /// Entries pushed out of the grouping link tables.
    pub group_links_evicted: u64,
    /// Certificates of a chain beyond the chain bounds ([`crate::parse::cert::MAX_CHAIN_CERTS`],
    /// [`crate::parse::cert::MAX_CHAIN_BYTES`]): not kept, so not part of its trust verdict.
    pub chain_certs_not_kept: u64,
    /// Client addresses whose MAC was forgotten (the client bound).
    pub client_macs_evicted: u64,
    /// TLS alerts of a connection past [`tls::MAX_ALERTS_KEPT`]: not listed in its probe.
    pub tls_alerts_not_kept: u64,
}

/// Everything the report needs.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// All probes, in time order.
    pub probes: Vec<Probe>,
    pub clients: Vec<ClientSummary>,
    /// Attempt groups, in the order they started.
    pub groups: Vec<groups::Group>,
    /// MACs whose addresses were kept apart (routers).
    pub routers: Vec<hosts::Router>,
}

pub(crate) fn cap(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n.max(1)).unwrap_or(NonZeroUsize::MIN)
}

/// What the trackers share: the bounds, the counters, the DNS address map, the names with
/// an ECH configuration and the probes ready to report.
pub struct Cx {
    pub limits: CorrelateLimits,
    pub stats: CorrelateStats,
    pub names: dns::DnsMap,
    /// Names whose HTTPS/SVCB answer carried an ECH configuration.
    ech_names: crate::correlate::bounded::Lru<String, ()>,
    /// Probes whose outcome is known, in the order they completed.
    ready: Vec<Probe>,
    emitted: u64,
    /// The anchors the trust verdicts are judged against: fixed for a run (the kept
    /// path in `trust_last` depends on it), set only through [`Correlator::with_trust`].
    trust: Arc<trust::TrustStore>,
    /// The last chain judged against it (see [`trust::LastPath`]).
    trust_last: trust::LastPath,
    /// The MAC address each client address was seen with (the first), bounded by
    /// [`CorrelateLimits::max_clients`].
    macs: crate::correlate::bounded::Lru<std::net::IpAddr, crate::decode::Mac>,
    /// The addresses each MAC carried, for a report written as probes complete.
    hosts: hosts::Incremental,
}

impl Cx {
    fn new(limits: CorrelateLimits) -> Self {
        Cx {
            limits,
            stats: CorrelateStats::default(),
            names: dns::DnsMap::new(limits.max_dns_entries),
            ech_names: crate::correlate::bounded::Lru::new(cap(limits.max_ech_names)),
            ready: Vec::new(),
            emitted: 0,
            trust: Arc::default(),
            trust_last: trust::LastPath::default(),
            macs: crate::correlate::bounded::Lru::new(cap(limits.max_clients)),
            hosts: hosts::Incremental::new(limits.max_clients),
        }
    }

    /// The trust verdict of `chain` (whose leaf is `leaf`) at `ts` (see [`trust::judge`]).
    pub fn judge(
        &mut self,
        chain: &crate::parse::CertChain,
        leaf: &crate::parse::CertInfo,
        ts: crate::capture::Timestamp,
    ) -> trust::TrustVerdict {
        trust::judge(&self.trust, &mut self.trust_last, chain, leaf, ts)
    }

    /// Remembers the MAC address `ip` was first seen with.
    pub fn learn_mac(&mut self, ip: std::net::IpAddr, mac: Option<crate::decode::Mac>) {
        if let Some(m) = mac {
            if !self.macs.contains(&ip) {
                if self.macs.push(ip, m).is_some() {
                    self.stats.client_macs_evicted += 1;
                }
                self.hosts.learn(ip, m);
            }
        }
    }

    /// A probe whose outcome is known.
    pub fn emit(&mut self, p: Probe) {
        self.emitted += 1;
        self.ready.push(p);
    }

    /// The name the client (or, failing that, any client) resolved to `server`.
    pub fn dns_name(
        &mut self,
        client: std::net::IpAddr,
        server: std::net::IpAddr,
    ) -> Option<String> {
        self.names.name_for(client, server)
    }

    pub fn timeout(&self) -> f64 {
        self.limits.probe_timeout_secs
    }
}

/// The correlate stage.
pub struct Correlator {
    cx: Cx,
    tcp: tls::TcpTracker,
    dns: dns::DnsTracker,
    quic: quic::QuicTracker,
    /// No packet comes any more ([`Correlator::input_ended`]): only what is held here
    /// still makes probes.
    input_ended: bool,
}

impl Correlator {
    pub fn new(limits: CorrelateLimits) -> Self {
        Correlator {
            cx: Cx::new(limits),
            tcp: tls::TcpTracker::default(),
            dns: dns::DnsTracker::new(limits.max_pending_dns),
            quic: quic::QuicTracker::new(limits.max_quic_pending),
            input_ended: false,
        }
    }

    /// No packet comes any more: the flows still open end next (oldest first), then
    /// [`Correlator::finish`].
    pub fn input_ended(&mut self) {
        self.input_ended = true;
    }

    /// Once the input ended, the earliest start a probe still to come can have: every
    /// such probe comes from what is held here (the connections not ended yet, the DNS
    /// queries and QUIC attempts waiting), so a probe that started before it can be written
    /// now in time order. `None` while packets may still come (a packet can start a probe
    /// at any time of the reorder window), and the end of time when nothing is held.
    pub fn floor(&self) -> Option<Timestamp> {
        if !self.input_ended {
            return None;
        }
        [
            self.tcp.earliest(),
            self.dns.earliest(),
            self.quic.earliest(),
        ]
        .into_iter()
        .flatten()
        .min()
        .or(Some(Timestamp::new(i64::MAX, 0)))
    }

    /// A correlator that judges chains against `trust` (the default: Mozilla's roots).
    pub fn with_trust(limits: CorrelateLimits, trust: Arc<trust::TrustStore>) -> Self {
        let mut c = Correlator::new(limits);
        c.cx.trust = trust;
        c.cx.trust_last = trust::LastPath::default();
        c
    }

    /// The MAC address client address `ip` was seen with, if any (looked up in place: a
    /// copy of the table is megabytes at its bound).
    pub fn mac_of(&self, ip: std::net::IpAddr) -> Option<crate::decode::Mac> {
        self.cx.macs.peek(&ip).copied()
    }

    /// The host `ip` belongs to from the MACs learned so far (a streamed report; a
    /// capture file's kept probes are merged at the end by [`Collector::finish_hosts`]).
    pub fn host_of(&self, ip: std::net::IpAddr) -> Option<hosts::Host> {
        if !self.cx.limits.merge_hosts {
            return None;
        }
        let mac = self.cx.macs.peek(&ip)?;
        self.cx.hosts.host(ip, mac)
    }

    /// The MACs whose addresses were kept apart (a streamed report).
    pub fn routers(&self) -> Vec<hosts::Router> {
        if !self.cx.limits.merge_hosts {
            return Vec::new();
        }
        self.cx.hosts.routers()
    }

    pub fn stats(&self) -> &CorrelateStats {
        &self.cx.stats
    }

    /// Moves the probes completed so far into `out`, in the order they completed.
    pub fn take_ready(&mut self, out: &mut Vec<Probe>) {
        out.append(&mut self.cx.ready);
    }

    pub fn push(&mut self, p: Parsed) {
        let cx = &mut self.cx;
        match p {
            Parsed::Dns {
                ts,
                client,
                server,
                msg,
                client_mac,
            } => {
                cx.learn_mac(client.ip(), client_mac);
                self.dns.message(cx, ts, client, server, msg)
            }
            Parsed::Quic {
                ts,
                client,
                server,
                item,
            } => self.quic.item(cx, ts, client, server, item),
            Parsed::Opened { .. }
            | Parsed::Tls { .. }
            | Parsed::StartTls { .. }
            | Parsed::StartTlsRefused { .. }
            | Parsed::HttpRequest { .. }
            | Parsed::HttpResponse { .. }
            | Parsed::Gap { .. }
            | Parsed::Fin { .. }
            | Parsed::Rst { .. }
            | Parsed::AppRecords { .. }
            | Parsed::Ended { .. } => self.tcp.push(cx, p),
        }
    }

    /// Reports what is still waiting for longer than the probe timeout: DNS queries
    /// without an answer, QUIC attempts, HTTP requests without a response, TLS handshakes
    /// that neither finished nor ended. Call about once a second (capture time, or wall
    /// time when a live capture is quiet).
    pub fn expire(&mut self, now: Timestamp) {
        self.dns.expire(&mut self.cx, now);
        self.quic.expire(&mut self.cx, now);
        self.tcp.expire(&mut self.cx, now);
    }

    /// Ends the correlation (after every flow has ended): DNS queries and QUIC attempts
    /// still waiting are reported as they stand.
    pub fn finish(&mut self) {
        self.dns.finish(&mut self.cx);
        self.quic.finish(&mut self.cx);
    }

    /// Probes completed so far (for progress display).
    pub fn probe_count(&self) -> u64 {
        self.cx.emitted
    }
}

/// Members listed per attempt group in a capture file's report.
pub const OFFLINE_MEMBERS_LISTED: usize = 1_000;

/// Numbers probes in the order they are reported, and feeds the per-client summaries and
/// the attempt groups: the same for a capture file (in time order) and a live capture (in
/// completion order).
pub struct Numbering {
    next: u64,
    pub summaries: Summaries,
    pub grouper: groups::Grouper,
}

impl Numbering {
    pub fn new(limits: CorrelateLimits, group_limits: groups::GroupLimits) -> Self {
        Numbering {
            next: 1,
            summaries: Summaries::new(limits),
            grouper: groups::Grouper::new(group_limits),
        }
    }

    /// Gives `p` its id and group.
    pub fn add(&mut self, p: &mut Probe) {
        p.id = self.next;
        self.next += 1;
        self.summaries.add(p);
        p.group = self.grouper.add(p);
    }

    /// Probes numbered so far.
    pub fn count(&self) -> u64 {
        self.next - 1
    }

    /// The groups, the client summaries and the counters of the report side.
    pub fn finish(
        self,
        probes_dropped: u64,
    ) -> (Vec<groups::Group>, Vec<ClientSummary>, ReportCounters) {
        let counters = ReportCounters {
            probes_dropped,
            clients_evicted: self.summaries.evicted,
            client_names_dropped: self.summaries.names_dropped,
            groups: self.grouper.stats.clone(),
        };
        let clients = self.summaries.into_clients();
        let (groups, _) = self.grouper.finish();
        (groups, clients, counters)
    }
}

/// The counters of the report side: probes not kept, summaries and groups.
#[derive(Clone, Debug, Default)]
pub struct ReportCounters {
    pub probes_dropped: u64,
    pub clients_evicted: u64,
    pub client_names_dropped: u64,
    pub groups: groups::GroupStats,
}

impl CorrelateStats {
    /// Adds the report side's counters: the one place they join the stage's own.
    pub fn absorb(&mut self, c: &ReportCounters) {
        self.probes_dropped += c.probes_dropped;
        self.clients_evicted += c.clients_evicted;
        self.client_names_dropped += c.client_names_dropped;
        self.groups_evicted += c.groups.groups_evicted;
        self.group_members_dropped += c.groups.members_dropped;
        self.group_links_evicted += c.groups.links_evicted;
    }
}

/// Collects the probes of capture files into the [`Report`]: time order, ids 1, 2, 3 … in
/// that order, per-client summaries. Bounded by [`CorrelateLimits::max_probes`].
pub struct Collector {
    limits: CorrelateLimits,
    probes: Vec<Probe>,
    pub dropped: u64,
    routers: Vec<hosts::Router>,
}

impl Collector {
    pub fn new(limits: CorrelateLimits) -> Self {
        Collector {
            limits,
            probes: Vec::new(),
            dropped: 0,
            routers: Vec::new(),
        }
    }

    pub fn add(&mut self, probes: &mut Vec<Probe>) {
        for p in probes.drain(..) {
            if self.probes.len() >= self.limits.max_probes {
                self.dropped += 1;
            } else {
                if self.probes.len() == self.probes.capacity() {
                    // Doubled as a Vec does, but never past the bound: 20,000 probes would
                    // otherwise sit in room for 32,768 (4 MiB more at the peak).
                    // (max, then min: `clamp` would panic on a bound under 16.)
                    let want = (self.probes.capacity() * 2)
                        .max(16)
                        .min(self.limits.max_probes);
                    self.probes
                        .reserve_exact(want.saturating_sub(self.probes.len()));
                }
                self.probes.push(p);
            }
        }
    }

    /// Probes held.
    pub fn len(&self) -> usize {
        self.probes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.probes.is_empty()
    }

    /// Whether `more` probes fit under the bound.
    pub fn fits(&self, more: usize) -> bool {
        self.probes.len().saturating_add(more) <= self.limits.max_probes
    }

    /// The probes held, in time order (probes with the same time in the order they
    /// completed), for a report that streams from here on.
    pub fn take_sorted(&mut self) -> Vec<Probe> {
        let mut v = std::mem::take(&mut self.probes);
        v.sort_by_key(|p| p.ts);
        v
    }

    /// The report and the report side's counters, each client address on its own.
    pub fn finish(self) -> (Report, ReportCounters) {
        // No MAC known: nothing to merge.
        self.finish_inner()
    }

    /// The report, with the client addresses that share a MAC merged into one host
    /// ([`hosts::merge`]); `mac_of` from [`Correlator::mac_of`].
    pub fn finish_hosts(
        mut self,
        mac_of: &dyn Fn(std::net::IpAddr) -> Option<crate::decode::Mac>,
    ) -> (Report, ReportCounters) {
        if self.limits.merge_hosts {
            let mut order: Vec<&Probe> = self.probes.iter().collect();
            order.sort_by_key(|p| p.ts);
            let mut known = std::collections::HashSet::new();
            let seen: Vec<std::net::IpAddr> = order
                .into_iter()
                .map(|p| p.client)
                .filter(|c| known.insert(*c))
                .collect();
            let merged = hosts::merge(&seen, mac_of);
            for p in self.probes.iter_mut() {
                if let Some(h) = merged.of.get(&p.client) {
                    p.host = Some(Box::new(h.clone()));
                }
            }
            self.routers = merged.routers;
        }
        let (mut report, counters) = self.finish_inner();
        for c in report.clients.iter_mut() {
            c.mac = c.mac.or_else(|| mac_of(c.client));
        }
        (report, counters)
    }

    fn finish_inner(mut self) -> (Report, ReportCounters) {
        // Stable: probes with the same time stay in the order they completed.
        self.probes.sort_by_key(|p| p.ts);
        // The report keeps every probe (up to max_probes), so it keeps every group and
        // member too; only the link tables keep their own bound.
        let mut group_limits = self.limits.groups;
        group_limits.max_groups = group_limits.max_groups.max(self.probes.len());
        // Every member keeps its group id; a group lists at most this many (the rest are
        // counted in `probes_not_listed`): a human reads the first thousand, not 20,000.
        group_limits.max_members = group_limits.max_members.max(OFFLINE_MEMBERS_LISTED);
        let mut numbering = Numbering::new(self.limits, group_limits);
        for p in self.probes.iter_mut() {
            numbering.add(p);
        }
        let (groups, clients, counters) = numbering.finish(self.dropped);
        let report = Report {
            probes: self.probes,
            clients,
            groups,
            routers: self.routers,
        };
        (report, counters)
    }
}
