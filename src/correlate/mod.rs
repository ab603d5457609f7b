//! Stage 5: turn parsed facts into probes (one per TLS connection, HTTP request, DNS
//! query), decide the name verdict for each TLS probe, and group probes per client.
//!
//! Input: owned [`Parsed`] facts. Output: owned [`Report`] data for `report/`.

pub mod names;

use std::collections::HashMap;
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
    pub cert: Option<CertInfo>,
    pub outcome: String,
    pub tls: Option<TlsDetails>,
    pub http: Option<HttpDetails>,
    pub dns: Option<DnsDetails>,
    pub quic: Option<QuicDetails>,
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
        }
    }
}

/// Per-client summary.
#[derive(Clone, Debug)]
pub struct ClientSummary {
    pub client: IpAddr,
    /// Names in first-seen order.
    pub names: Vec<String>,
    pub probes: usize,
    pub mismatches: usize,
}

/// Correlator bounds.
#[derive(Clone, Copy, Debug)]
pub struct CorrelateLimits {
    /// IP → name entries learned from DNS answers.
    pub max_dns_entries: usize,
    /// DNS queries waiting for their answer.
    pub max_pending_dns: usize,
    /// Probes kept for the report.
    pub max_probes: usize,
    /// QUIC attempts whose probe may still get the server's answer.
    pub max_quic_pending: usize,
    /// Names with an ECH configuration (DNS HTTPS/SVCB `ech`) remembered.
    pub max_ech_names: usize,
}

impl Default for CorrelateLimits {
    fn default() -> Self {
        CorrelateLimits {
            max_dns_entries: 65_536,
            max_pending_dns: 16_384,
            max_probes: 1_000_000,
            max_quic_pending: 16_384,
            max_ech_names: 16_384,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct CorrelateStats {
    pub dns_map_evictions: u64,
    pub dns_pending_evictions: u64,
    pub probes_dropped: u64,
    pub dns_answers_unmatched: u64,
    pub quic_pending_evictions: u64,
    pub ech_name_evictions: u64,
}

/// Everything the report needs.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// All probes, in time order.
    pub probes: Vec<Probe>,
    pub clients: Vec<ClientSummary>,
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
    /// Index in `probes` of HTTP requests still waiting for a response.
    http_waiting: Vec<usize>,
    http_seen: bool,
}

const TLS_PORTS: [u16; 12] = [443, 465, 563, 636, 853, 989, 990, 992, 993, 994, 995, 8443];

pub struct Correlator {
    limits: CorrelateLimits,
    conns: HashMap<FlowId, Conn>,
    probes: Vec<Probe>,
    next_id: u64,
    /// (client, address) → name the client resolved to that address.
    dns_by_client: lru::LruCache<(IpAddr, IpAddr), String>,
    /// address → name, from any client.
    dns_any: lru::LruCache<IpAddr, String>,
    /// (client, client port, server, DNS id) → probe index.
    dns_pending: lru::LruCache<(SocketAddr, IpAddr, u16), usize>,
    /// (client, server) → index of the QUIC probe awaiting the server's answer.
    quic_pending: lru::LruCache<(SocketAddr, SocketAddr), usize>,
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
            conns: HashMap::new(),
            probes: Vec::new(),
            next_id: 1,
            dns_by_client: lru::LruCache::new(cap(limits.max_dns_entries)),
            dns_any: lru::LruCache::new(cap(limits.max_dns_entries)),
            dns_pending: lru::LruCache::new(cap(limits.max_pending_dns)),
            quic_pending: lru::LruCache::new(cap(limits.max_quic_pending)),
            ech_names: lru::LruCache::new(cap(limits.max_ech_names)),
            stats: CorrelateStats::default(),
        }
    }

    fn add_probe(&mut self, mut p: Probe) -> Option<usize> {
        if self.probes.len() >= self.limits.max_probes {
            self.stats.probes_dropped += 1;
            return None;
        }
        p.id = self.next_id;
        self.next_id += 1;
        self.probes.push(p);
        Some(self.probes.len() - 1)
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
                        http_waiting: Vec::new(),
                        http_seen: false,
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
            Parsed::StartTls { flow, protocol, .. } => {
                if let Some(c) = self.conns.get_mut(&flow) {
                    c.starttls = Some(protocol);
                }
            }
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
                if let Some(c) = self.conns.get_mut(&flow) {
                    if c.close.is_none() {
                        c.close = Some(CloseInfo {
                            by: side(dir),
                            how,
                            ts,
                        });
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
                if let Some(c) = self.conns.remove(&flow) {
                    self.finish_conn(c, cause, &summary, app_records);
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
        if let Some(i) = self.add_probe(probe) {
            if let Some(c) = self.conns.get_mut(&flow) {
                c.http_waiting.push(i);
                c.http_seen = true;
            }
        }
    }

    fn http_response(&mut self, flow: FlowId, resp: http::Response) {
        let Some(c) = self.conns.get_mut(&flow) else {
            return;
        };
        if c.http_waiting.is_empty() {
            return;
        }
        let final_response = resp.status >= 200;
        let i = if final_response {
            c.http_waiting.remove(0)
        } else {
            match c.http_waiting.first() {
                Some(i) => *i,
                None => return,
            }
        };
        if let Some(p) = self.probes.get_mut(i) {
            p.outcome = match &resp.location {
                Some(l) => format!("{} → {l}", resp.status),
                None => format!("{}", resp.status),
            };
            if let Some(h) = p.http.as_mut() {
                h.status = Some(resp.status);
                h.location = resp.location;
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
                if let Some(i) = self.add_probe(probe) {
                    if !multicast && n == 0 {
                        if self.dns_pending.len() >= self.limits.max_pending_dns
                            && !self.dns_pending.contains(&key)
                        {
                            self.stats.dns_pending_evictions += 1;
                        }
                        self.dns_pending.put(key, i);
                    }
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
                if self.dns_any.len() >= self.limits.max_dns_entries && !self.dns_any.contains(&ip)
                {
                    self.stats.dns_map_evictions += 1;
                }
                self.dns_by_client.put((client.ip(), ip), name.clone());
                self.dns_any.put(ip, name);
            }
        }
        let outcome = dns_outcome(&msg);
        let idx = self.dns_pending.pop(&key);
        match idx.and_then(|i| self.probes.get_mut(i)) {
            Some(p) => {
                p.outcome = outcome;
                if let Some(d) = p.dns.as_mut() {
                    d.rcode = Some(msg.rcode.clone());
                    d.answers = msg.answers.clone();
                }
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
                self.add_probe(probe);
            }
        }
    }

    fn finish_conn(
        &mut self,
        c: Conn,
        cause: EndCause,
        summary: &FlowSummary,
        app_records: [u64; 2],
    ) {
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
                tls: Some(TlsDetails {
                    mid_stream: !c.saw_syn,
                    close: c.close.clone(),
                    ..TlsDetails::default()
                }),
                ..Probe::new(c.ts, c.client, c.server, Proto::Tls)
            };
            self.add_probe(probe);
            return;
        }
        let hello = c.hello.clone();
        let mut probe = self.tls_probe(c, cause, app_records);
        self.hello_details(&mut probe, hello.as_ref());
        self.add_probe(probe);
    }

    fn tls_probe(&mut self, c: Conn, cause: EndCause, app_records: [u64; 2]) -> Probe {
        let hello = c.hello.clone().unwrap_or_default();
        let (name, source) = match hello.sni.as_deref() {
            Some(s) if !s.is_empty() => (Some(s.to_string()), Some(NameSource::Sni)),
            _ => match self.dns_name(c.client.ip(), c.server.ip()) {
                Some(n) => (Some(n), Some(NameSource::DnsAnswer)),
                None => (None, None),
            },
        };
        let tls13 = c
            .server_hello
            .as_ref()
            .is_some_and(|s| s.version == 0x0304 || s.version >> 8 == 0x7f);
        let leaf = c.server_cert.as_ref().and_then(|ch| ch.leaf.clone());
        let (verdict, reason) = verdict(&c, name.as_deref(), source, leaf.as_ref(), tls13, cause);
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
        let outcome = tls_outcome(&c, &alerts, app_data, cause);
        Probe {
            name,
            name_source: source,
            verdict: Some(verdict),
            reason: Some(reason),
            cert: leaf,
            outcome,
            tls: Some(TlsDetails {
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
            }),
            ..Probe::new(c.hello_ts.unwrap_or(c.ts), c.client, c.server, Proto::Tls)
        }
    }

    /// Ends the correlation: probes in time order and per-client summaries.
    pub fn finish(mut self) -> (Report, CorrelateStats) {
        self.probes
            .sort_by(|a, b| a.ts.cmp(&b.ts).then(a.id.cmp(&b.id)));
        let mut order: Vec<IpAddr> = Vec::new();
        let mut by_client: HashMap<IpAddr, ClientSummary> = HashMap::new();
        for p in &self.probes {
            let s = by_client.entry(p.client).or_insert_with(|| {
                order.push(p.client);
                ClientSummary {
                    client: p.client,
                    names: Vec::new(),
                    probes: 0,
                    mismatches: 0,
                }
            });
            s.probes += 1;
            if p.verdict == Some(Verdict::Mismatch) {
                s.mismatches += 1;
            }
            if let Some(n) = &p.name {
                let n = n.to_ascii_lowercase();
                if !s.names.contains(&n) {
                    s.names.push(n);
                }
            }
        }
        let clients = order
            .into_iter()
            .filter_map(|c| by_client.remove(&c))
            .collect();
        (
            Report {
                probes: self.probes,
                clients,
            },
            self.stats,
        )
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
    cause: EndCause,
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
                "the server reset the connection"
            }
            (_, Some(cl)) if cl.by == "server" => "the server closed the connection",
            (_, Some(_)) => "the client closed before the server answered",
            (EndCause::EndOfCapture, _) => "the capture ended first",
            _ => "no answer was seen",
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
            EndCause::EndOfCapture => {
                "certificate not seen: the capture ended before the server sent it".into()
            }
            _ => "certificate not seen: the server sent no Certificate message".into(),
        },
    )
}

fn tls_outcome(c: &Conn, alerts: &[AlertInfo], app_data: bool, cause: EndCause) -> String {
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
        EndCause::EndOfCapture => "handshake incomplete when the capture ended".into(),
        EndCause::Idle => "connection went idle".into(),
        EndCause::Evicted => "tracking dropped (flow table full)".into(),
        EndCause::Closed => "connection closed".into(),
    }
}

impl Correlator {
    /// Probes found so far (for progress display).
    pub fn probe_count(&self) -> usize {
        self.probes.len()
    }
}

mod quic;
