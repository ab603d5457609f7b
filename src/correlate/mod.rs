//! Stage 5: turn parsed facts into probes (one per TLS connection, HTTP request, DNS
//! query), decide the name verdict for each TLS probe, and group probes per client.
//!
//! Input: owned [`Parsed`] facts. Output: each [`Probe`] as soon as its outcome is known
//! (the handshake finished, the connection ended, the answer arrived, or
//! [`CorrelateLimits::probe_timeout_secs`] passed), taken with [`Correlator::take_ready`].
//! [`Collector`] turns them into the time-ordered [`Report`] of a capture file;
//! [`Summaries`] keeps the bounded per-client summaries of a live capture.

pub mod groups;
pub mod names;

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;

use crate::capture::Timestamp;
use crate::parse::{http, tls, CertInfo, DnsAnswer, Parsed, TlsItem};
use crate::reassemble::{Dir, EndCause, FlowId, FlowSummary, GapCause};
pub use names::Verdict;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Tls,
    Http,
    Dns,
    Quic,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tls => "tls",
            Proto::Http => "http",
            Proto::Dns => "dns",
            Proto::Quic => "quic",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameSource {
    Sni,
    HttpHost,
    DnsQuery,
    DnsAnswer,
}

impl NameSource {
    pub fn as_str(self) -> &'static str {
        match self {
            NameSource::Sni => "sni",
            NameSource::HttpHost => "http_host",
            NameSource::DnsQuery => "dns_query",
            NameSource::DnsAnswer => "dns_answer",
        }
    }
}

#[derive(Clone, Debug)]
pub struct AlertInfo {
    /// "client" or "server".
    pub from: &'static str,
    pub level: String,
    pub description: String,
}

#[derive(Clone, Debug)]
pub struct CloseInfo {
    pub by: &'static str,
    /// "fin" or "rst".
    pub how: &'static str,
    pub ts: Timestamp,
}

#[derive(Clone, Debug, Default)]
pub struct TlsDetails {
    pub version: Option<String>,
    pub cipher: Option<String>,
    pub offered_versions: Vec<String>,
    pub alpn: Vec<String>,
    pub ech: bool,
    pub hello_retry: bool,
    pub starttls: Option<String>,
    pub chain_len: Option<usize>,
    pub client_cert: Option<CertInfo>,
    pub client_chain_len: Option<usize>,
    pub alerts: Vec<AlertInfo>,
    pub app_data: bool,
    pub close: Option<CloseInfo>,
    /// The capture started after the SYN.
    pub mid_stream: bool,
    /// JA4 fingerprint of the ClientHello.
    pub ja4: Option<String>,
    /// ECH offered: the SNI seen is the public (cover) name.
    pub ech_public_name: Option<String>,
    /// ECH offered and a DNS HTTPS/SVCB answer with `ech` was seen for a name that
    /// resolved to this server: that name, inferred, never seen on the wire.
    pub ech_inferred_target: Option<String>,
}

/// What the QUIC Initial packets showed.
#[derive(Clone, Debug, Default)]
pub struct QuicDetails {
    /// `v1`, `v2`, `draft-29`, ...
    pub version: String,
    /// The client's first Destination Connection ID (hex): the Initial keys' source.
    pub dcid: String,
    /// Initial packets that carried the ClientHello.
    pub initial_packets: u32,
    pub server_initial: bool,
    pub server_handshake: bool,
    pub retry: bool,
    /// Versions a Version Negotiation packet offered instead.
    pub version_negotiation: Option<Vec<String>>,
    pub close: Option<QuicClose>,
    /// The client went on to 1-RTT packets: the handshake completed.
    pub handshake_completed: bool,
}

#[derive(Clone, Debug)]
pub struct QuicClose {
    /// "client" or "server".
    pub by: &'static str,
    pub code: u64,
    pub error: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default)]
pub struct HttpDetails {
    pub method: String,
    pub path: String,
    pub host: Option<String>,
    pub status: Option<u16>,
    pub location: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct DnsDetails {
    pub qtype: String,
    pub rcode: Option<String>,
    pub answers: Vec<DnsAnswer>,
}

/// One thing a client tried.
#[derive(Clone, Debug)]
pub struct Probe {
    pub id: u64,
    pub ts: Timestamp,
    pub client: IpAddr,
    pub client_port: u16,
    pub server: IpAddr,
    pub port: u16,
    pub proto: Proto,
    pub name: Option<String>,
    pub name_source: Option<NameSource>,
    pub verdict: Option<Verdict>,
    pub reason: Option<String>,
    pub cert: Option<Box<CertInfo>>,
    pub outcome: String,
    pub tls: Option<Box<TlsDetails>>,
    pub http: Option<HttpDetails>,
    pub dns: Option<DnsDetails>,
    pub quic: Option<Box<QuicDetails>>,
    /// The attempt group ([`groups::Group::id`]) the probe belongs to.
    pub group: Option<u64>,
}

impl Probe {
    /// A probe with nothing decided yet; callers fill in what they know.
    fn new(ts: Timestamp, client: SocketAddr, server: SocketAddr, proto: Proto) -> Probe {
        Probe {
            id: 0,
            ts,
            client: client.ip(),
            client_port: client.port(),
            server: server.ip(),
            port: server.port(),
            proto,
            name: None,
            name_source: None,
            verdict: None,
            reason: None,
            cert: None,
            outcome: String::new(),
            tls: None,
            http: None,
            dns: None,
            quic: None,
            group: None,
        }
    }
}

/// Per-client summary.
#[derive(Clone, Debug)]
pub struct ClientSummary {
    pub client: IpAddr,
    /// Names in first-seen order (at most [`CorrelateLimits::max_names_per_client`]).
    pub names: Vec<String>,
    /// Names not kept because the list was full.
    pub names_dropped: u64,
    pub probes: usize,
    pub mismatches: usize,
    /// Order in which clients were first seen.
    first_seen: u64,
}

/// Correlator bounds.
#[derive(Clone, Copy, Debug)]
pub struct CorrelateLimits {
    /// IP → name entries learned from DNS answers.
    pub max_dns_entries: usize,
    /// DNS queries waiting for their answer.
    pub max_pending_dns: usize,
    /// Probes kept for the report of a capture file (a live capture keeps none).
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
}

impl Default for CorrelateLimits {
    fn default() -> Self {
        CorrelateLimits {
            max_dns_entries: 65_536,
            max_pending_dns: 16_384,
            max_probes: 1_000_000,
            max_clients: 65_536,
            max_names_per_client: 256,
            probe_timeout_secs: 10.0,
            max_quic_pending: 16_384,
            max_ech_names: 16_384,
            groups: groups::GroupLimits::default(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct CorrelateStats {
    pub dns_map_evictions: u64,
    pub dns_pending_evictions: u64,
    pub probes_dropped: u64,
    pub dns_answers_unmatched: u64,
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
}

/// Everything the report needs.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// All probes, in time order.
    pub probes: Vec<Probe>,
    pub clients: Vec<ClientSummary>,
    /// Attempt groups, in the order they started.
    pub groups: Vec<groups::Group>,
}

struct Conn {
    ts: Timestamp,
    client: SocketAddr,
    server: SocketAddr,
    saw_syn: bool,
    hello: Option<tls::ClientHello>,
    hello_ts: Option<Timestamp>,
    server_hello: Option<tls::ServerHello>,
    server_cert: Option<crate::parse::CertChain>,
    client_cert: Option<crate::parse::CertChain>,
    alerts: Vec<(Dir, u8, u8, bool, Timestamp)>,
    ccs: [bool; 2],
    gaps: Vec<(Dir, GapCause)>,
    starttls: Option<&'static str>,
    not_tls: bool,
    close: Option<CloseInfo>,
    /// HTTP requests still waiting for a response, oldest first.
    http_waiting: VecDeque<Probe>,
    http_seen: bool,
    /// TLS application-data records seen so far [client, server].
    app_records: [u64; 2],
    /// FIN seen [client, server], or an RST from either side.
    fins: [bool; 2],
    rst: bool,
}

const TLS_PORTS: [u16; 12] = [443, 465, 563, 636, 853, 989, 990, 992, 993, 994, 995, 8443];

pub struct Correlator {
    limits: CorrelateLimits,
    conns: HashMap<FlowId, Conn, foldhash::fast::RandomState>,
    /// Probes whose outcome is known, in the order they completed.
    ready: Vec<Probe>,
    emitted: u64,
    /// (client, address) → name the client resolved to that address.
    dns_by_client: lru::LruCache<(IpAddr, IpAddr), String>,
    /// address → name, from any client.
    dns_any: lru::LruCache<IpAddr, String>,
    /// (client, client port, server, DNS id) → the query's probe.
    dns_pending: lru::LruCache<(SocketAddr, IpAddr, u16), Probe>,
    /// (client, server) → the QUIC probe still waiting for the server's answer.
    quic_pending: lru::LruCache<(SocketAddr, SocketAddr), Probe>,
    /// Names whose HTTPS/SVCB answer carried an ECH configuration.
    ech_names: lru::LruCache<String, ()>,
    pub stats: CorrelateStats,
}

fn cap(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n.max(1)).unwrap_or(NonZeroUsize::MIN)
}

impl Correlator {
    pub fn new(limits: CorrelateLimits) -> Self {
        Correlator {
            limits,
            conns: HashMap::default(),
            ready: Vec::new(),
            emitted: 0,
            dns_by_client: lru::LruCache::new(cap(limits.max_dns_entries)),
            dns_any: lru::LruCache::new(cap(limits.max_dns_entries)),
            dns_pending: lru::LruCache::new(cap(limits.max_pending_dns)),
            quic_pending: lru::LruCache::new(cap(limits.max_quic_pending)),
            ech_names: lru::LruCache::new(cap(limits.max_ech_names)),
            stats: CorrelateStats::default(),
        }
    }

    /// A probe whose outcome is known.
    fn emit(&mut self, p: Probe) {
        self.emitted += 1;
        self.ready.push(p);
    }

    /// Moves the probes completed so far into `out`, in the order they completed.
    pub fn take_ready(&mut self, out: &mut Vec<Probe>) {
        out.append(&mut self.ready);
    }

    fn dns_name(&mut self, client: IpAddr, server: IpAddr) -> Option<String> {
        if let Some(n) = self.dns_by_client.get(&(client, server)) {
            return Some(n.clone());
        }
        self.dns_any.get(&server).cloned()
    }

    pub fn push(&mut self, p: Parsed) {
        match p {
            Parsed::Opened {
                flow,
                ts,
                client,
                server,
                saw_syn,
            } => {
                self.conns.insert(
                    flow,
                    Conn {
                        ts,
                        client,
                        server,
                        saw_syn,
                        hello: None,
                        hello_ts: None,
                        server_hello: None,
                        server_cert: None,
                        client_cert: None,
                        alerts: Vec::new(),
                        ccs: [false, false],
                        gaps: Vec::new(),
                        starttls: None,
                        not_tls: false,
                        close: None,
                        http_waiting: VecDeque::new(),
                        http_seen: false,
                        app_records: [0, 0],
                        fins: [false, false],
                        rst: false,
                    },
                );
            }
            Parsed::Tls {
                flow,
                ts,
                dir,
                item,
            } => {
                let Some(c) = self.conns.get_mut(&flow) else {
                    return;
                };
                match item {
                    TlsItem::ClientHello(h) if dir == Dir::Up => {
                        if c.hello.is_none() {
                            c.hello_ts = Some(ts);
                            c.hello = Some(h);
                        } else if let Some(old) = c.hello.as_mut() {
                            // Second hello after a HelloRetryRequest: keep the first SNI.
                            if old.sni.is_none() {
                                old.sni = h.sni;
                            }
                        }
                    }
                    TlsItem::ServerHello(sh) if dir == Dir::Down => {
                        let retry = c.server_hello.as_ref().is_some_and(|s| s.hrr);
                        if c.server_hello.is_none() || retry {
                            let mut sh = sh;
                            sh.hrr = sh.hrr || retry;
                            c.server_hello = Some(sh);
                        }
                    }
                    TlsItem::Certificate(chain) => {
                        let slot = if dir == Dir::Down {
                            &mut c.server_cert
                        } else {
                            &mut c.client_cert
                        };
                        if slot.is_none() {
                            *slot = Some(chain);
                        }
                    }
                    TlsItem::Alert {
                        level,
                        description,
                        encrypted,
                    } => c.alerts.push((dir, level, description, encrypted, ts)),
                    TlsItem::ChangeCipherSpec => {
                        if let Some(x) = c.ccs.get_mut(if dir == Dir::Up { 0 } else { 1 }) {
                            *x = true;
                        }
                    }
                    TlsItem::NotTls => c.not_tls = true,
                    _ => {}
                }
            }
            Parsed::AppRecords {
                flow, dir, total, ..
            } => {
                let done = match self.conns.get_mut(&flow) {
                    Some(c) => {
                        if let Some(n) = c.app_records.get_mut(if dir == Dir::Up { 0 } else { 1 }) {
                            *n = (*n).max(total);
                        }
                        c.hello.is_some() && handshake_done(c)
                    }
                    None => false,
                };
                // Data flows both ways after a complete handshake: the probe's verdict and
                // outcome are final, report it now rather than when the connection closes.
                if done {
                    if let Some(c) = self.conns.remove(&flow) {
                        let probe = self.tls_probe(c, None);
                        self.emit(probe);
                    }
                }
            }
            Parsed::StartTls { flow, protocol, .. } => {
                if let Some(c) = self.conns.get_mut(&flow) {
                    c.starttls = Some(protocol);
                }
            }
            // A parse-stage fact the correlator does not use yet (its owner decides how
            // a refused STARTTLS shows).
            Parsed::StartTlsRefused { .. } => {}
            Parsed::HttpRequest { flow, ts, req } => self.http_request(flow, ts, req),
            Parsed::HttpResponse { flow, resp, .. } => self.http_response(flow, resp),
            Parsed::Dns {
                ts,
                client,
                server,
                msg,
            } => self.dns(ts, client, server, msg),
            Parsed::Quic {
                ts,
                client,
                server,
                item,
            } => self.quic(ts, client, server, item),
            Parsed::Gap {
                flow, dir, cause, ..
            } => {
                if let Some(c) = self.conns.get_mut(&flow) {
                    c.gaps.push((dir, cause));
                }
            }
            Parsed::Fin { flow, dir, ts } | Parsed::Rst { flow, dir, ts } => {
                let how = if matches!(p, Parsed::Rst { .. }) {
                    "rst"
                } else {
                    "fin"
                };
                let mut settled = false;
                if let Some(c) = self.conns.get_mut(&flow) {
                    if c.close.is_none() {
                        c.close = Some(CloseInfo {
                            by: side(dir),
                            how,
                            ts,
                        });
                    }
                    if how == "rst" {
                        c.rst = true;
                    } else if let Some(f) = c.fins.get_mut(if dir == Dir::Up { 0 } else { 1 }) {
                        *f = true;
                    }
                    // Closed both ways (or reset) after the certificate (or a TLS 1.3
                    // ServerHello) was seen: nothing can change the probe any more. Without
                    // them, wait for the flow's end: a segment still missing could hold it.
                    settled = c.hello.is_some()
                        && (c.rst || c.fins == [true, true])
                        && (c.server_cert.is_some() || server_chose_tls13(c));
                }
                if settled {
                    if let Some(c) = self.conns.remove(&flow) {
                        let probe = self.tls_probe(c, Some(EndCause::Closed));
                        self.emit(probe);
                    }
                }
            }
            Parsed::Ended {
                flow,
                cause,
                summary,
                app_records,
                ..
            } => {
                if let Some(mut c) = self.conns.remove(&flow) {
                    for (n, a) in c.app_records.iter_mut().zip(app_records) {
                        *n = (*n).max(a);
                    }
                    for mut p in std::mem::take(&mut c.http_waiting) {
                        if cause == EndCause::Evicted {
                            p.outcome = "tracking dropped (flow table full)".into();
                        }
                        self.emit(p);
                    }
                    self.finish_conn(c, cause, &summary);
                }
            }
        }
    }

    fn http_request(&mut self, flow: FlowId, ts: Timestamp, req: http::Request) {
        let Some((client, server)) = self.conns.get(&flow).map(|c| (c.client, c.server)) else {
            return;
        };
        let host = req.host.clone();
        let (name, source) = match host.as_deref().map(host_only) {
            Some(h) if !h.is_empty() => (Some(h), Some(NameSource::HttpHost)),
            _ => match self.dns_name(client.ip(), server.ip()) {
                Some(n) => (Some(n), Some(NameSource::DnsAnswer)),
                None => (None, None),
            },
        };
        let probe = Probe {
            name,
            name_source: source,
            outcome: "no response seen".into(),
            http: Some(HttpDetails {
                method: req.method,
                path: req.path,
                host,
                status: None,
                location: None,
            }),
            ..Probe::new(ts, client, server, Proto::Http)
        };
        if let Some(c) = self.conns.get_mut(&flow) {
            c.http_waiting.push_back(probe);
            c.http_seen = true;
        }
    }

    fn http_response(&mut self, flow: FlowId, resp: http::Response) {
        let Some(c) = self.conns.get_mut(&flow) else {
            return;
        };
        let Some(p) = c.http_waiting.front_mut() else {
            return;
        };
        p.outcome = match &resp.location {
            Some(l) => format!("{} → {l}", resp.status),
            None => format!("{}", resp.status),
        };
        if let Some(h) = p.http.as_mut() {
            h.status = Some(resp.status);
            h.location = resp.location;
        }
        // 1xx is interim: the request still waits for its final response.
        if resp.status >= 200 {
            if let Some(p) = c.http_waiting.pop_front() {
                self.emit(p);
            }
        }
    }

    fn dns(
        &mut self,
        ts: Timestamp,
        client: SocketAddr,
        server: SocketAddr,
        msg: crate::parse::DnsMessage,
    ) {
        let key = (client, server.ip(), msg.id);
        if !msg.response {
            // One probe per question (mDNS often asks several at once); the answer is
            // matched to the first.
            let multicast = server.ip().is_multicast();
            let questions = if msg.questions.is_empty() {
                vec![(String::new(), String::new())]
            } else {
                msg.questions.clone()
            };
            for (n, (qname, qtype)) in questions.into_iter().enumerate() {
                let probe = Probe {
                    name: (!qname.is_empty()).then_some(qname),
                    name_source: Some(NameSource::DnsQuery),
                    outcome: if multicast {
                        "multicast query".into()
                    } else {
                        "no answer seen".into()
                    },
                    dns: Some(DnsDetails {
                        qtype,
                        rcode: None,
                        answers: Vec::new(),
                    }),
                    ..Probe::new(ts, client, server, Proto::Dns)
                };
                // mDNS/LLMNR questions go to a group: no answer is matched to them.
                if multicast || n > 0 {
                    self.emit(probe);
                    continue;
                }
                // A full table pushes out the oldest waiting query; a repeated id replaces
                // the earlier query. Either way that one is reported as unanswered.
                if let Some((old_key, old)) = self.dns_pending.push(key, probe) {
                    if old_key != key {
                        self.stats.dns_pending_evictions += 1;
                    }
                    self.emit(old);
                }
            }
            return;
        }
        self.note_ech_names(&msg);
        // An answer: fill the IP → name map with the name the client asked for.
        let asked = msg.questions.first().map(|q| q.0.clone());
        for a in &msg.answers {
            if let Some(ip) = a.ip() {
                let name = asked.clone().unwrap_or_else(|| a.name.clone());
                // Both maps share the bound; a full map drops its least recently used
                // entry, counted (a replaced entry for the same key is not an eviction).
                let key = (client.ip(), ip);
                if let Some((k, _)) = self.dns_by_client.push(key, name.clone()) {
                    if k != key {
                        self.stats.dns_map_evictions += 1;
                    }
                }
                if let Some((k, _)) = self.dns_any.push(ip, name) {
                    if k != ip {
                        self.stats.dns_map_evictions += 1;
                    }
                }
            }
        }
        let outcome = dns_outcome(&msg);
        match self.dns_pending.pop(&key) {
            Some(mut p) => {
                p.outcome = outcome;
                if let Some(d) = p.dns.as_mut() {
                    d.rcode = Some(msg.rcode.clone());
                    d.answers = msg.answers.clone();
                }
                self.emit(p);
            }
            None => {
                // An answer whose query was not captured (or an mDNS announcement).
                self.stats.dns_answers_unmatched += 1;
                let Some((qname, qtype)) = msg.questions.first().cloned().or_else(|| {
                    msg.answers
                        .first()
                        .map(|a| (a.name.clone(), a.rtype.clone()))
                }) else {
                    return;
                };
                let probe = Probe {
                    name: Some(qname),
                    name_source: Some(NameSource::DnsQuery),
                    outcome: format!("{outcome} (query not captured)"),
                    dns: Some(DnsDetails {
                        qtype,
                        rcode: Some(msg.rcode.clone()),
                        answers: msg.answers.clone(),
                    }),
                    ..Probe::new(ts, client, server, Proto::Dns)
                };
                self.emit(probe);
            }
        }
    }

    fn finish_conn(&mut self, c: Conn, cause: EndCause, summary: &FlowSummary) {
        if c.hello.is_none() {
            // No ClientHello. A connection to a TLS port that never got that far still
            // shows the client tried the server; HTTP and other streams are done.
            if c.http_seen
                || c.not_tls
                || c.starttls.is_some()
                || !TLS_PORTS.contains(&c.server.port())
            {
                return;
            }
            if c.gaps.contains(&(Dir::Up, GapCause::BufferLimit)) {
                // A ClientHello too large to hold: say so rather than stay silent.
                let name = self.dns_name(c.client.ip(), c.server.ip());
                let probe = Probe {
                    name_source: name.as_ref().map(|_| NameSource::DnsAnswer),
                    verdict: Some(if name.is_some() {
                        Verdict::Unverified
                    } else {
                        Verdict::NoName
                    }),
                    name,
                    reason: Some(format!(
                        "the ClientHello was not read: {}",
                        gap_reason(GapCause::BufferLimit, "client")
                    )),
                    outcome: "ClientHello over the 1 MiB handshake message bound, not read".into(),
                    tls: Some(Box::new(TlsDetails {
                        mid_stream: !c.saw_syn,
                        close: c.close.clone(),
                        ..TlsDetails::default()
                    })),
                    ..Probe::new(c.ts, c.client, c.server, Proto::Tls)
                };
                self.emit(probe);
                return;
            }
            if summary.payload(Dir::Up) > 0 {
                return; // data we could not read as TLS
            }
            let outcome = if !summary.saw_synack && summary.rst(Dir::Down).is_some() {
                "connection refused (server sent RST to the SYN)".to_string()
            } else if c.saw_syn && !summary.saw_synack {
                "no answer from the server (SYN unanswered)".to_string()
            } else {
                "TCP connection without a TLS handshake".to_string()
            };
            let name = self.dns_name(c.client.ip(), c.server.ip());
            let probe = Probe {
                name_source: name.as_ref().map(|_| NameSource::DnsAnswer),
                name,
                verdict: Some(Verdict::Unverified),
                reason: Some("no TLS handshake took place, so no certificate was shown".into()),
                outcome,
                tls: Some(Box::new(TlsDetails {
                    mid_stream: !c.saw_syn,
                    close: c.close.clone(),
                    ..TlsDetails::default()
                })),
                ..Probe::new(c.ts, c.client, c.server, Proto::Tls)
            };
            self.emit(probe);
            return;
        }
        let probe = self.tls_probe(c, Some(cause));
        self.emit(probe);
    }

    /// The probe of a connection that sent a ClientHello. `cause` is `None` while the
    /// connection is still open (handshake finished, or the probe timed out).
    fn tls_probe(&mut self, c: Conn, cause: Option<EndCause>) -> Probe {
        let app_records = c.app_records;
        let hello = c.hello.clone().unwrap_or_default();
        let (name, source) = match hello.sni.as_deref() {
            Some(s) if !s.is_empty() => (Some(s.to_string()), Some(NameSource::Sni)),
            _ => match self.dns_name(c.client.ip(), c.server.ip()) {
                Some(n) => (Some(n), Some(NameSource::DnsAnswer)),
                None => (None, None),
            },
        };
        let tls13 = server_chose_tls13(&c);
        let leaf = c.server_cert.as_ref().and_then(|ch| ch.leaf.clone());
        let (verdict, reason) = verdict(
            &c,
            name.as_deref(),
            source,
            leaf.as_ref(),
            tls13,
            cause,
            self.limits.probe_timeout_secs,
        );
        let app_data = if tls13 {
            app_records[0] >= 2
        } else {
            app_records[0] > 0 || (app_records[1] > 0 && c.ccs[0])
        };
        let alerts: Vec<AlertInfo> = c
            .alerts
            .iter()
            .map(|(d, level, desc, enc, _)| AlertInfo {
                from: side(*d),
                level: if *enc {
                    "encrypted".into()
                } else {
                    match level {
                        1 => "warning".into(),
                        2 => "fatal".into(),
                        l => format!("level_{l}"),
                    }
                },
                description: if *enc {
                    "encrypted".into()
                } else {
                    tls::alert_name(*desc)
                },
            })
            .collect();
        let outcome = tls_outcome(&c, &alerts, app_data, cause, self.limits.probe_timeout_secs);
        let mut probe = Probe {
            name,
            name_source: source,
            verdict: Some(verdict),
            reason: Some(reason),
            cert: leaf.map(Box::new),
            outcome,
            tls: Some(Box::new(TlsDetails {
                version: c
                    .server_hello
                    .as_ref()
                    .map(|s| tls::version_name(s.version)),
                cipher: c.server_hello.as_ref().map(|s| tls::cipher_name(s.cipher)),
                offered_versions: if hello.versions.is_empty() {
                    vec![tls::version_name(hello.legacy_version)]
                } else {
                    hello
                        .versions
                        .iter()
                        .map(|v| tls::version_name(*v))
                        .collect()
                },
                alpn: hello.alpn.clone(),
                ech: hello.ech,
                hello_retry: c.server_hello.as_ref().is_some_and(|s| s.hrr),
                starttls: c.starttls.map(str::to_string),
                chain_len: c.server_cert.as_ref().map(|ch| ch.chain_len),
                client_cert: c.client_cert.as_ref().and_then(|ch| ch.leaf.clone()),
                client_chain_len: c.client_cert.as_ref().map(|ch| ch.chain_len),
                alerts,
                app_data,
                close: c.close.clone(),
                mid_stream: !c.saw_syn,
                ..TlsDetails::default()
            })),
            ..Probe::new(c.hello_ts.unwrap_or(c.ts), c.client, c.server, Proto::Tls)
        };
        self.hello_details(&mut probe, c.hello.as_ref());
        probe
    }

    /// Reports what is still waiting for longer than the probe timeout: DNS queries
    /// without an answer, HTTP requests without a response, TLS handshakes that neither
    /// finished nor ended. Call about once a second (capture time, or wall time when a live
    /// capture is quiet).
    pub fn expire(&mut self, now: Timestamp) {
        let limit = self.limits.probe_timeout_secs;
        let stale = |t: &Timestamp| now.secs_since(t) > limit;
        while let Some((_, p)) = self.dns_pending.peek_lru() {
            if !stale(&p.ts) {
                break;
            }
            if let Some((_, p)) = self.dns_pending.pop_lru() {
                self.stats.probes_timed_out += 1;
                self.emit(p);
            }
        }
        while let Some((_, p)) = self.quic_pending.peek_lru() {
            if !stale(&p.ts) {
                break;
            }
            if let Some((_, p)) = self.quic_pending.pop_lru() {
                self.stats.probes_timed_out += 1;
                self.emit(p);
            }
        }
        let mut done: Vec<FlowId> = Vec::new();
        let mut http_done: Vec<Probe> = Vec::new();
        for (flow, c) in self.conns.iter_mut() {
            while c.http_waiting.front().is_some_and(|p| stale(&p.ts)) {
                if let Some(mut p) = c.http_waiting.pop_front() {
                    p.outcome = format!("no response within {limit} s");
                    http_done.push(p);
                }
            }
            if c.hello_ts.as_ref().is_some_and(stale) {
                done.push(*flow);
            }
        }
        for p in http_done {
            self.stats.probes_timed_out += 1;
            self.emit(p);
        }
        // Flow ids grow with time: report in the order the connections started.
        done.sort_unstable();
        for flow in done {
            if let Some(c) = self.conns.remove(&flow) {
                self.stats.probes_timed_out += 1;
                let probe = self.tls_probe(c, None);
                self.emit(probe);
            }
        }
    }

    /// Ends the correlation (after every flow has ended): DNS queries still waiting are
    /// reported as unanswered.
    pub fn finish(&mut self) {
        while let Some((_, p)) = self.dns_pending.pop_lru() {
            self.emit(p);
        }
        while let Some((_, p)) = self.quic_pending.pop_lru() {
            self.emit(p);
        }
    }

    /// Probes completed so far (for progress display).
    pub fn probe_count(&self) -> u64 {
        self.emitted
    }
}

fn server_chose_tls13(c: &Conn) -> bool {
    c.server_hello
        .as_ref()
        .is_some_and(|s| s.version == 0x0304 || s.version >> 8 == 0x7f)
}

/// The server's side of the handshake is over and the client sends application data: the
/// verdict and outcome of the probe can no longer change.
fn handshake_done(c: &Conn) -> bool {
    let tls13 = server_chose_tls13(c);
    let client = c.app_records.first().copied().unwrap_or(0);
    if tls13 {
        // The client's Finished is the first encrypted record; data follows.
        client >= 2
    } else {
        let server_flight = c.server_cert.is_some() || c.ccs.get(1).copied().unwrap_or(false);
        client >= 1 && server_flight
    }
}

/// Members listed per attempt group in a capture file's report.
pub const OFFLINE_MEMBERS_LISTED: usize = 1_000;

/// Collects the probes of capture files into the [`Report`]: time order, ids 1, 2, 3 … in
/// that order, per-client summaries. Bounded by [`CorrelateLimits::max_probes`].
pub struct Collector {
    limits: CorrelateLimits,
    probes: Vec<Probe>,
    pub dropped: u64,
}

impl Collector {
    pub fn new(limits: CorrelateLimits) -> Self {
        Collector {
            limits,
            probes: Vec::new(),
            dropped: 0,
        }
    }

    pub fn add(&mut self, probes: &mut Vec<Probe>) {
        for p in probes.drain(..) {
            if self.probes.len() >= self.limits.max_probes {
                self.dropped += 1;
            } else {
                self.probes.push(p);
            }
        }
    }

    /// The report, the summaries' own counters and the grouping counters.
    pub fn finish(mut self) -> (Report, Summaries, groups::GroupStats) {
        // Stable: probes with the same time stay in the order they completed.
        self.probes.sort_by_key(|p| p.ts);
        let mut summaries = Summaries::new(self.limits);
        // The report keeps every probe (up to max_probes), so it keeps every group and
        // member too; only the link tables keep their own bound.
        let mut group_limits = self.limits.groups;
        group_limits.max_groups = group_limits.max_groups.max(self.probes.len());
        // Every member keeps its group id; a group lists at most this many (the rest are
        // counted in `probes_not_listed`): a human reads the first thousand, not 20,000.
        group_limits.max_members = group_limits.max_members.max(OFFLINE_MEMBERS_LISTED);
        let mut grouper = groups::Grouper::new(group_limits);
        for (n, p) in self.probes.iter_mut().enumerate() {
            p.id = n as u64 + 1;
            summaries.add(p);
            p.group = grouper.add(p);
        }
        let (groups, group_stats) = grouper.finish();
        let report = Report {
            probes: self.probes,
            clients: summaries.clients(),
            groups,
        };
        (report, summaries, group_stats)
    }
}

/// Per-client summaries, bounded: at most [`CorrelateLimits::max_clients`] clients (the
/// least recently active are dropped, counted) and
/// [`CorrelateLimits::max_names_per_client`] names each.
pub struct Summaries {
    limits: CorrelateLimits,
    clients: lru::LruCache<IpAddr, ClientSummary>,
    next_seq: u64,
    pub evicted: u64,
    pub names_dropped: u64,
}

impl Summaries {
    pub fn new(limits: CorrelateLimits) -> Self {
        Summaries {
            limits,
            clients: lru::LruCache::new(cap(limits.max_clients)),
            next_seq: 0,
            evicted: 0,
            names_dropped: 0,
        }
    }

    pub fn add(&mut self, p: &Probe) {
        if !self.clients.contains(&p.client) {
            let s = ClientSummary {
                client: p.client,
                names: Vec::new(),
                names_dropped: 0,
                probes: 0,
                mismatches: 0,
                first_seen: self.next_seq,
            };
            self.next_seq += 1;
            if self.clients.push(p.client, s).is_some() {
                self.evicted += 1;
            }
        }
        let Some(s) = self.clients.get_mut(&p.client) else {
            return;
        };
        s.probes += 1;
        if p.verdict == Some(Verdict::Mismatch) {
            s.mismatches += 1;
        }
        if let Some(n) = &p.name {
            let n = n.to_ascii_lowercase();
            if !s.names.contains(&n) {
                if s.names.len() < self.limits.max_names_per_client {
                    s.names.push(n);
                } else {
                    s.names_dropped += 1;
                    self.names_dropped += 1;
                }
            }
        }
    }

    /// The summaries in the order their clients were first seen.
    pub fn clients(&self) -> Vec<ClientSummary> {
        let mut v: Vec<ClientSummary> = self.clients.iter().map(|(_, s)| s.clone()).collect();
        v.sort_by_key(|s| s.first_seen);
        v
    }
}

fn side(d: Dir) -> &'static str {
    match d {
        Dir::Up => "client",
        Dir::Down => "server",
    }
}

/// "example.com:8080" → "example.com"; "[::1]:80" → "::1".
fn host_only(h: &str) -> String {
    let h = h.trim();
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    if h.matches(':').count() == 1 {
        return h.split(':').next().unwrap_or("").to_string();
    }
    h.to_string()
}

fn dns_outcome(msg: &crate::parse::DnsMessage) -> String {
    if msg.rcode != "NOERROR" {
        return msg.rcode.clone();
    }
    if msg.answers.is_empty() {
        return "no records (NODATA)".into();
    }
    let parts: Vec<String> = msg
        .answers
        .iter()
        .take(4)
        .map(|a| {
            if a.data.is_empty() {
                a.rtype.clone()
            } else {
                format!("{} {}", a.rtype, a.data)
            }
        })
        .collect();
    let more = msg.answers.len().saturating_sub(4);
    if more > 0 {
        format!("{} +{more} more", parts.join(", "))
    } else {
        parts.join(", ")
    }
}

fn gap_reason(cause: GapCause, who: &str) -> String {
    match cause {
        GapCause::NotCaptured => format!("the capture missed segments of the {who}'s handshake"),
        GapCause::Snaplen => format!(
            "the capture's snapshot length cut the {who}'s handshake packets (capture with -s 0)"
        ),
        GapCause::BufferLimit => {
            format!("the {who}'s handshake exceeded probewatch's reassembly buffer bound")
        }
    }
}

fn verdict(
    c: &Conn,
    name: Option<&str>,
    source: Option<NameSource>,
    leaf: Option<&CertInfo>,
    tls13: bool,
    cause: Option<EndCause>,
    timeout: f64,
) -> (Verdict, String) {
    let Some(name) = name else {
        return (
            Verdict::NoName,
            format!(
                "the ClientHello has no SNI and no DNS answer in the capture resolved {}",
                c.server.ip()
            ),
        );
    };
    let label = match source {
        Some(NameSource::Sni) => "SNI",
        _ => "DNS name",
    };
    if let Some(cert) = leaf {
        if cert.parse_error.is_some() && cert.san_dns.is_empty() && cert.subject_cn.is_none() {
            return (
                Verdict::Unverified,
                format!(
                    "the server's certificate could not be read: {}",
                    cert.parse_error.clone().unwrap_or_default()
                ),
            );
        }
        let (v, mut r) = names::check(label, name, cert);
        if source == Some(NameSource::DnsAnswer) {
            r.push_str(&format!(
                " (no SNI; name from the DNS answer for {})",
                c.server.ip()
            ));
        }
        return (v, r);
    }
    if tls13 {
        return (
            Verdict::Unverified,
            "TLS 1.3 encrypts the certificate: the server chose TLS 1.3".into(),
        );
    }
    if let Some((_, g)) = c.gaps.iter().find(|(d, _)| *d == Dir::Down) {
        return (
            Verdict::Unverified,
            format!("certificate not seen: {}", gap_reason(*g, "server")),
        );
    }
    if c.server_hello.is_some() && c.ccs[1] {
        return (
            Verdict::Unverified,
            "the session was resumed: the server sent no certificate".into(),
        );
    }
    if let Some((_, _, desc, enc, _)) = c.alerts.iter().find(|a| a.0 == Dir::Down) {
        let what = if *enc {
            "an alert".to_string()
        } else {
            format!("alert {}", tls::alert_name(*desc))
        };
        return (
            Verdict::Unverified,
            format!("certificate not seen: the server refused the handshake with {what}"),
        );
    }
    if c.server_hello.is_none() {
        let why = match (cause, &c.close) {
            (_, Some(cl)) if cl.by == "server" && cl.how == "rst" => {
                "the server reset the connection".to_string()
            }
            (_, Some(cl)) if cl.by == "server" => "the server closed the connection".to_string(),
            (_, Some(_)) => "the client closed before the server answered".to_string(),
            (Some(EndCause::EndOfCapture), _) => "the capture ended first".to_string(),
            (None, _) => format!("no answer within {timeout} s"),
            _ => "no answer was seen".to_string(),
        };
        return (
            Verdict::Unverified,
            format!("certificate not seen: the server never answered the ClientHello ({why})"),
        );
    }
    if c.server_hello.as_ref().is_some_and(|s| s.hrr) && c.server_cert.is_none() {
        return (
            Verdict::Unverified,
            "certificate not seen: the server asked for a new hello (HelloRetryRequest) and the handshake did not continue in the clear".into(),
        );
    }
    (
        Verdict::Unverified,
        match cause {
            Some(EndCause::EndOfCapture) => {
                "certificate not seen: the capture ended before the server sent it".into()
            }
            None => format!("certificate not seen: the server sent none within {timeout} s"),
            _ => "certificate not seen: the server sent no Certificate message".into(),
        },
    )
}

fn tls_outcome(
    c: &Conn,
    alerts: &[AlertInfo],
    app_data: bool,
    cause: Option<EndCause>,
    timeout: f64,
) -> String {
    if let Some(a) = alerts.iter().find(|a| a.level == "fatal") {
        let cert_related = matches!(
            a.description.as_str(),
            "bad_certificate"
                | "unsupported_certificate"
                | "certificate_revoked"
                | "certificate_expired"
                | "certificate_unknown"
                | "unknown_ca"
                | "access_denied"
        );
        if a.from == "client" && cert_related {
            return format!("client rejected the certificate: alert {}", a.description);
        }
        return format!("{} sent fatal alert {}", a.from, a.description);
    }
    if app_data {
        return "handshake completed, data exchanged".into();
    }
    if let Some(why) = client_walked_away(c) {
        return format!("client likely rejected the certificate (inferred: {why})");
    }
    if let Some(cl) = &c.close {
        let how = if cl.how == "rst" {
            "reset (RST)"
        } else {
            "closed (FIN)"
        };
        let stage = if c.server_cert.is_some() || c.server_hello.is_some() {
            "after the server's handshake, without application data"
        } else {
            "before the server's handshake"
        };
        return format!("{} {how} {stage}", cl.by);
    }
    match cause {
        Some(EndCause::EndOfCapture) => "handshake incomplete when the capture ended".into(),
        Some(EndCause::Idle) => "connection went idle".into(),
        Some(EndCause::Evicted) => "tracking dropped (flow table full)".into(),
        Some(EndCause::Closed) => "connection closed".into(),
        None => format!("handshake not finished within {timeout} s, connection still open"),
    }
}

mod quic;

/// The client ended the connection first (an alert it could not show in the clear, a FIN
/// or a RST) right after the server's certificate flight, without sending application
/// data: what a client does when it does not accept the certificate. Says what was seen.
fn client_walked_away(c: &Conn) -> Option<String> {
    let flight = c.server_cert.is_some() || c.server_hello.is_some();
    if !flight {
        return None;
    }
    let first = |d: Dir| {
        let alert = c.alerts.iter().filter(|a| a.0 == d).map(|a| a.4).min();
        let close = c
            .close
            .as_ref()
            .filter(|cl| cl.by == side(d))
            .map(|cl| cl.ts);
        match (alert, close) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    };
    let client = first(Dir::Up)?;
    if first(Dir::Down).is_some_and(|s| s < client) {
        return None;
    }
    let alert = c.alerts.iter().any(|a| a.0 == Dir::Up);
    let close = c.close.as_ref().filter(|cl| cl.by == "client").map(|cl| {
        if cl.how == "rst" {
            "reset the connection (RST)"
        } else {
            "closed the connection (FIN)"
        }
    });
    let what = match (alert, close) {
        (true, Some(cl)) => format!("it sent an encrypted alert and {cl}"),
        (true, None) => "it sent an encrypted alert".to_string(),
        (false, Some(cl)) => format!("it {cl}"),
        (false, None) => return None,
    };
    let flight = if c.server_cert.is_some() {
        "the server's certificate flight"
    } else {
        "the server's handshake flight (certificate encrypted)"
    };
    Some(format!(
        "{what} right after {flight}, without sending application data"
    ))
}
