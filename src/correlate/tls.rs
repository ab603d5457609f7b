//! The TCP tracker: one [`Conn`] per TCP connection; a TLS probe per connection that sent a
//! ClientHello (or tried a TLS port), with the name verdict, its reason and the outcome;
//! the HTTP requests of the connection through [`super::http::HttpFlow`].

use std::collections::HashMap;
use std::net::SocketAddr;

use tls_parser::{TlsAlertDescription, TlsCipherSuiteID, TlsVersion};

use super::http::HttpFlow;
use super::{
    names, Alert, AlertKind, CertSource, Close, CloseHow, Cx, NameSource, NoAnswer, NoCert, NoData,
    Outcome, Probe, ProbeKind, Reason, Side, TlsDetails, TrustVerdict, Verdict, WalkAlert,
    WalkAway,
};
use crate::capture::Timestamp;
use crate::parse::{tls, CertChain, CertInfo, Decrypted, Parsed, TlsItem};
use crate::reassemble::{Dir, EndCause, FlowId, FlowSummary, GapCause};

/// Ports where a TCP connection without any TLS handshake is still reported as a TLS
/// attempt.
const TLS_PORTS: [u16; 12] = [443, 465, 563, 636, 853, 989, 990, 992, 993, 994, 995, 8443];

/// The longest TLS 1.3 record that can hold only an alert: 2 bytes of alert, the inner
/// content type, and a 16-byte AEAD tag (AES-GCM, ChaCha20-Poly1305, AES-CCM).
const TLS13_ALERT_RECORD: usize = 2 + 1 + 16;

/// The shortest TLS 1.3 record that can hold a Finished: a 4-byte header, a 32-byte
/// verify_data (SHA-256), the inner content type and the shortest tag (8, AES-CCM-8).
const TLS13_MIN_FINISHED_RECORD: usize = 4 + 32 + 1 + 8;

pub(crate) fn side(d: Dir) -> Side {
    match d {
        Dir::Up => Side::Client,
        Dir::Down => Side::Server,
    }
}

/// One value per direction of a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Both<T> {
    client: T,
    server: T,
}

impl<T> Both<T> {
    fn of(&mut self, d: Dir) -> &mut T {
        match d {
            Dir::Up => &mut self.client,
            Dir::Down => &mut self.server,
        }
    }
}

/// What the key log said of a TLS 1.3 (or QUIC) handshake it opened no certificate of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyLogFinding {
    NoKey,
    WrongKey,
    Psk,
}

impl KeyLogFinding {
    pub(crate) fn reason(self, quic: bool) -> Reason {
        match self {
            KeyLogFinding::NoKey => Reason::NoKeyInLog { quic },
            KeyLogFinding::WrongKey => Reason::WrongKey { quic },
            KeyLogFinding::Psk => Reason::ResumedPsk { quic },
        }
    }
}

/// Alerts kept per connection (a stream of warning alerts would grow the list with the
/// input); the rest are counted (`evictions.tls_alerts`).
pub const MAX_ALERTS_KEPT: usize = 8;

/// An alert as seen on the wire, with its time.
#[derive(Clone, Copy, Debug)]
struct SeenAlert {
    dir: Dir,
    kind: AlertKind,
    ts: Timestamp,
}

/// What one TCP connection showed so far.
pub struct Conn {
    ts: Timestamp,
    client: SocketAddr,
    server: SocketAddr,
    saw_syn: bool,
    /// Boxed, like the chains: a connection that never sends a hello (a SYN flood) stays small.
    hello: Option<Box<tls::ClientHello>>,
    hello_ts: Option<Timestamp>,
    server_hello: Option<tls::ServerHello>,
    server_cert: Option<Box<CertChain>>,
    cert_source: Option<CertSource>,
    client_cert_requested: bool,
    /// What the key log said when it opened no certificate.
    keylog: Option<KeyLogFinding>,
    client_cert: Option<Box<CertChain>>,
    alerts: Vec<SeenAlert>,
    /// Alerts past [`MAX_ALERTS_KEPT`] (each counted in the stats as it comes).
    alerts_not_kept: u64,
    ccs: Both<bool>,
    gaps: Vec<(Dir, GapCause)>,
    starttls: Option<&'static str>,
    /// The server refused STARTTLS: the dialect and its reply.
    starttls_refused: Option<(&'static str, String)>,
    not_tls: bool,
    close: Option<Close>,
    http: HttpFlow,
    /// TLS application-data records seen so far.
    app_records: Both<u64>,
    /// FIN seen from each side; an RST from either side.
    fins: Both<bool>,
    rst: bool,
    /// TLS 1.3, what the client's encrypted records after the ServerHello show.
    client13: Client13,
    /// The server chain's trust verdict, judged when it arrived (its DER is not kept).
    trust: Option<Box<TrustVerdict>>,
}

/// The client's encrypted TLS 1.3 records after the ServerHello, told apart by length
/// (the record type is encrypted too).
#[derive(Clone, Copy, Debug, Default)]
struct Client13 {
    /// A record long enough to hold its Finished: it went on with the handshake.
    finished: bool,
    /// Before that, a record too short for a Finished: only an alert fits.
    alert_before_finished: bool,
    /// The first alert-sized record (before the Finished, or after it and before data).
    alert_ts: Option<Timestamp>,
    /// After the Finished, a record longer than an alert: application data.
    data: bool,
}

impl Conn {
    fn new(ts: Timestamp, client: SocketAddr, server: SocketAddr, saw_syn: bool) -> Self {
        Conn {
            ts,
            client,
            server,
            saw_syn,
            hello: None,
            hello_ts: None,
            server_hello: None,
            server_cert: None,
            cert_source: None,
            client_cert_requested: false,
            keylog: None,
            client_cert: None,
            alerts: Vec::new(),
            alerts_not_kept: 0,
            ccs: Both::default(),
            gaps: Vec::new(),
            starttls: None,
            starttls_refused: None,
            not_tls: false,
            close: None,
            http: HttpFlow::default(),
            app_records: Both::default(),
            fins: Both::default(),
            rst: false,
            client13: Client13::default(),
            trust: None,
        }
    }

    fn server_chose_tls13(&self) -> bool {
        self.server_hello
            .as_ref()
            .is_some_and(|s| s.version == 0x0304 || s.version >> 8 == 0x7f)
    }

    /// The server's side of the handshake is over and the client sends application data:
    /// the verdict and outcome of the probe can no longer change.
    fn handshake_done(&self) -> bool {
        if self.server_chose_tls13() {
            // The client's Finished is the first encrypted record; data follows.
            self.client13.data
        } else {
            let server_flight = self.server_cert.is_some() || self.ccs.server;
            self.app_records.client >= 1 && server_flight
        }
    }

    /// The client went on with its handshake after the server's flight (TLS 1.2: its
    /// ChangeCipherSpec, which follows its ClientKeyExchange and precedes its Finished;
    /// TLS 1.3: a further record long enough for its Finished): it did not walk away
    /// from the certificate.
    fn client_continued(&self) -> bool {
        if self.server_chose_tls13() {
            self.client13.finished
        } else {
            self.server_hello.is_some() && self.ccs.client
        }
    }

    /// Both sides finished the handshake (TLS 1.2: both ChangeCipherSpecs, the Finished
    /// messages follow them; TLS 1.3: the client's Finished, which comes after the
    /// server's).
    fn handshake_completed(&self) -> bool {
        if self.server_chose_tls13() {
            self.client13.finished
        } else {
            self.client_continued() && self.ccs.server
        }
    }

    fn tls(&mut self, ts: Timestamp, dir: Dir, item: TlsItem) {
        match item {
            TlsItem::ClientHello(h) if dir == Dir::Up => {
                if self.hello.is_none() {
                    self.hello_ts = Some(ts);
                    self.hello = Some(Box::new(h));
                } else if let Some(old) = self.hello.as_mut() {
                    // Second hello after a HelloRetryRequest: keep the first SNI.
                    if old.sni.is_none() {
                        old.sni = h.sni;
                    }
                }
            }
            TlsItem::ServerHello(sh) if dir == Dir::Down => {
                let retry = self.server_hello.as_ref().is_some_and(|s| s.hrr);
                if self.server_hello.is_none() || retry {
                    let mut sh = sh;
                    sh.hrr = sh.hrr || retry;
                    self.server_hello = Some(sh);
                }
            }
            TlsItem::Certificate(chain) => {
                let slot = match dir {
                    Dir::Down => &mut self.server_cert,
                    Dir::Up => &mut self.client_cert,
                };
                if slot.is_none() {
                    *slot = Some(Box::new(chain));
                    if dir == Dir::Down {
                        self.cert_source = Some(CertSource::Seen);
                    }
                }
            }
            TlsItem::Decrypted(d) => match (dir, d) {
                (Dir::Down, Decrypted::Certificate(chain)) => {
                    if self.server_cert.is_none() {
                        self.server_cert = Some(chain);
                        self.cert_source = Some(CertSource::KeyLog);
                    }
                }
                (Dir::Up, Decrypted::Certificate(chain)) => {
                    if self.client_cert.is_none() {
                        self.client_cert = Some(chain);
                    }
                }
                (_, Decrypted::CertificateRequested) => self.client_cert_requested = true,
                (_, Decrypted::NoKey) => self.keylog = Some(KeyLogFinding::NoKey),
                (_, Decrypted::WrongKey) => self.keylog = Some(KeyLogFinding::WrongKey),
                (_, Decrypted::NoCertificate) => self.keylog = Some(KeyLogFinding::Psk),
                // Counted in the stats; the reason stays "TLS 1.3 encrypts it".
                (_, Decrypted::UnsupportedSuite(_)) => {}
            },
            TlsItem::Alert {
                level,
                description,
                encrypted,
            } => {
                let kind = if encrypted {
                    AlertKind::Encrypted
                } else {
                    AlertKind::Plain {
                        level,
                        description: TlsAlertDescription(description),
                    }
                };
                let fatal = |k: &AlertKind| matches!(k, AlertKind::Plain { level: 2, .. });
                let seen_fatal = fatal(&kind);
                let seen = SeenAlert { dir, kind, ts };
                if self.alerts.len() < MAX_ALERTS_KEPT {
                    self.alerts.push(seen);
                } else {
                    // The report reads the first alert of each side and the first fatal
                    // one: a fatal alert past the bound takes the last place when none is
                    // held yet.
                    if seen_fatal && !self.alerts.iter().any(|a| fatal(&a.kind)) {
                        if let Some(last) = self.alerts.last_mut() {
                            *last = seen;
                        }
                    }
                    self.alerts_not_kept += 1;
                }
            }
            TlsItem::ChangeCipherSpec => *self.ccs.of(dir) = true,
            TlsItem::CertificateRequest if dir == Dir::Down => self.client_cert_requested = true,
            TlsItem::NotTls => self.not_tls = true,
            TlsItem::AppData { len } if dir == Dir::Up && self.server_chose_tls13() => {
                let c = &mut self.client13;
                if !c.finished {
                    if len >= TLS13_MIN_FINISHED_RECORD {
                        c.finished = true;
                    } else {
                        c.alert_before_finished = true;
                        c.alert_ts = c.alert_ts.or(Some(ts));
                    }
                } else if len > TLS13_ALERT_RECORD {
                    c.data = true;
                } else if !c.data {
                    c.alert_ts = c.alert_ts.or(Some(ts));
                }
            }
            // A hello in the wrong direction; other application data (counted by the
            // parser).
            TlsItem::ClientHello(_)
            | TlsItem::ServerHello(_)
            | TlsItem::AppData { .. }
            | TlsItem::CertificateRequest => {}
        }
    }
}

/// TCP connections being followed.
#[derive(Default)]
pub struct TcpTracker {
    /// A connection that showed nothing past its opening (a SYN flood's) holds only its
    /// endpoints; the first fact of its stream makes its boxed [`Conn`].
    conns: HashMap<FlowId, Slot, foldhash::fast::RandomState>,
}

/// Keeps the first gap of each cause on each side, in the order they came: what the
/// outcome reads (the first gap, the first of a cause on a side); a headers-only capture
/// of a bulk transfer cuts every packet, which would grow the list with the input.
fn add_gap(gaps: &mut Vec<(Dir, GapCause)>, dir: Dir, cause: GapCause) {
    let same = |(d, c): &(Dir, GapCause)| {
        *d == dir && std::mem::discriminant(c) == std::mem::discriminant(&cause)
    };
    if !gaps.iter().any(same) {
        gaps.push((dir, cause));
    }
}

/// One followed connection: opened only, opened with gaps only, or with what its stream
/// showed.
enum Slot {
    /// Boxed, like the others: the table's entries stay small, so that its growth (old and
    /// new table alive together) costs little at a flood of connections.
    Opened(Box<Opened>),
    /// Opened, and gaps before any other fact (a hello dropped at the memory budget): kept
    /// small, since a flood of such flows must not cost a whole [`Conn`] each.
    Gapped(Box<(Opened, Vec<(Dir, GapCause)>)>),
    Conn(Box<Conn>),
}

/// What the `Opened` fact says of a connection.
#[derive(Clone, Copy)]
struct Opened {
    ts: Timestamp,
    client: SocketAddr,
    server: SocketAddr,
    saw_syn: bool,
}

impl Opened {
    fn conn(self) -> Conn {
        Conn::new(self.ts, self.client, self.server, self.saw_syn)
    }
}

impl Slot {
    /// The connection's facts, made on first use.
    fn conn(&mut self) -> Option<&mut Conn> {
        match self {
            Slot::Conn(_) => {}
            Slot::Opened(o) => *self = Slot::Conn(Box::new(o.conn())),
            Slot::Gapped(g) => {
                let gaps = std::mem::take(&mut g.1);
                let o = g.0;
                *self = Slot::Conn(Box::new(Conn { gaps, ..o.conn() }));
            }
        }
        match self {
            Slot::Conn(c) => Some(c),
            Slot::Opened(_) | Slot::Gapped(_) => None,
        }
    }

    /// Records a gap, without making the whole [`Conn`] when nothing else is known yet.
    fn gap(&mut self, dir: Dir, cause: GapCause) {
        match self {
            Slot::Opened(o) => {
                // vec! holds exactly one: most such connections get no second gap.
                *self = Slot::Gapped(Box::new((**o, vec![(dir, cause)])));
            }
            Slot::Gapped(g) => add_gap(&mut g.1, dir, cause),
            Slot::Conn(c) => add_gap(&mut c.gaps, dir, cause),
        }
    }

    fn into_conn(self) -> Conn {
        match self {
            Slot::Conn(c) => *c,
            Slot::Opened(o) => o.conn(),
            Slot::Gapped(g) => {
                let (o, gaps) = *g;
                Conn { gaps, ..o.conn() }
            }
        }
    }
}

impl TcpTracker {
    /// The opening of the earliest connection still followed: its probes (the TLS one,
    /// its HTTP requests) start no earlier.
    pub fn earliest(&self) -> Option<Timestamp> {
        self.conns
            .values()
            .map(|slot| match slot {
                Slot::Opened(o) => o.ts,
                Slot::Gapped(g) => g.0.ts,
                Slot::Conn(c) => c.ts,
            })
            .min()
    }

    /// Handles the TCP-stream facts of the parse stage.
    pub fn push(&mut self, cx: &mut Cx, p: Parsed) {
        match p {
            Parsed::Opened {
                flow,
                ts,
                client,
                server,
                saw_syn,
                client_mac,
            } => {
                cx.learn_mac(client.ip(), client_mac);
                self.conns.insert(
                    flow,
                    Slot::Opened(Box::new(Opened {
                        ts,
                        client,
                        server,
                        saw_syn,
                    })),
                );
            }
            Parsed::Tls {
                flow,
                ts,
                dir,
                item,
            } => {
                if let Some(c) = self.conns.get_mut(&flow).and_then(Slot::conn) {
                    let item = match item {
                        TlsItem::Certificate(mut chain) => {
                            cx.stats.chain_certs_not_kept += chain.certs_dropped as u64;
                            if dir == Dir::Down && c.server_cert.is_none() {
                                if let Some(leaf) = &chain.leaf {
                                    c.trust = Some(Box::new(cx.judge(&chain, leaf, ts)));
                                }
                            }
                            // Judged: the DER is not held any longer than that.
                            chain.certs = Vec::new();
                            TlsItem::Certificate(chain)
                        }
                        // A TLS 1.3 Certificate opened with the key log: judged the same way.
                        TlsItem::Decrypted(Decrypted::Certificate(mut chain)) => {
                            cx.stats.chain_certs_not_kept += chain.certs_dropped as u64;
                            if dir == Dir::Down && c.server_cert.is_none() {
                                if let Some(leaf) = &chain.leaf {
                                    c.trust = Some(Box::new(cx.judge(&chain, leaf, ts)));
                                }
                            }
                            chain.certs = Vec::new();
                            TlsItem::Decrypted(Decrypted::Certificate(chain))
                        }
                        other => other,
                    };
                    let not_kept = c.alerts_not_kept;
                    c.tls(ts, dir, item);
                    cx.stats.tls_alerts_not_kept += c.alerts_not_kept - not_kept;
                }
            }
            Parsed::AppRecords {
                flow, dir, total, ..
            } => {
                let done = match self.conns.get_mut(&flow).and_then(Slot::conn) {
                    Some(c) => {
                        let n = c.app_records.of(dir);
                        *n = (*n).max(total);
                        c.hello.is_some() && c.handshake_done()
                    }
                    None => false,
                };
                // Data flows both ways after a complete handshake: the probe's verdict and
                // outcome are final, report it now rather than when the connection closes.
                if done {
                    if let Some(c) = self.conns.remove(&flow).map(Slot::into_conn) {
                        let probe = tls_probe(cx, c, None, None);
                        cx.emit(probe);
                    }
                }
            }
            Parsed::StartTls { flow, protocol, .. } => {
                if let Some(c) = self.conns.get_mut(&flow).and_then(Slot::conn) {
                    c.starttls = Some(protocol);
                }
            }
            Parsed::StartTlsRefused {
                flow,
                protocol,
                reply,
                ..
            } => {
                if let Some(c) = self.conns.get_mut(&flow).and_then(Slot::conn) {
                    c.starttls_refused.get_or_insert((protocol, reply));
                }
            }
            Parsed::HttpRequest { flow, ts, req } => {
                if let Some(c) = self.conns.get_mut(&flow).and_then(Slot::conn) {
                    c.http.request(cx, ts, (c.client, c.server), req);
                }
            }
            Parsed::HttpResponse { flow, resp, .. } => {
                if let Some(c) = self.conns.get_mut(&flow).and_then(Slot::conn) {
                    c.http.response(cx, resp);
                }
            }
            Parsed::Gap {
                flow, dir, cause, ..
            } => {
                if let Some(slot) = self.conns.get_mut(&flow) {
                    slot.gap(dir, cause);
                }
            }
            Parsed::Fin { flow, dir, ts } => self.close(cx, flow, dir, ts, CloseHow::Fin),
            Parsed::Rst { flow, dir, ts } => self.close(cx, flow, dir, ts, CloseHow::Rst),
            Parsed::Ended {
                flow,
                cause,
                summary,
                app_records,
                hello_unfinished,
                ..
            } => {
                if let Some(mut c) = self.conns.remove(&flow).map(Slot::into_conn) {
                    let [up, down] = app_records;
                    c.app_records.client = c.app_records.client.max(up);
                    c.app_records.server = c.app_records.server.max(down);
                    c.http.end(cx, cause == EndCause::Evicted);
                    finish_conn(cx, c, cause, &summary, hello_unfinished);
                }
            }
            // Not TCP-stream facts: the correlator gives them to the other trackers.
            Parsed::Dns { .. } | Parsed::Quic { .. } => {}
        }
    }

    fn close(&mut self, cx: &mut Cx, flow: FlowId, dir: Dir, ts: Timestamp, how: CloseHow) {
        let mut settled = false;
        if let Some(c) = self.conns.get_mut(&flow).and_then(Slot::conn) {
            if c.close.is_none() {
                c.close = Some(Close {
                    by: side(dir),
                    how,
                    ts,
                });
            }
            match how {
                CloseHow::Rst => c.rst = true,
                CloseHow::Fin => *c.fins.of(dir) = true,
            }
            // Closed both ways (or reset) after the certificate (or a TLS 1.3 ServerHello)
            // was seen: nothing can change the probe any more. Without them, wait for the
            // flow's end: a segment still missing could hold it.
            settled = c.hello.is_some()
                && (c.rst || (c.fins.client && c.fins.server))
                && (c.server_cert.is_some() || c.server_chose_tls13());
        }
        if settled {
            if let Some(c) = self.conns.remove(&flow).map(Slot::into_conn) {
                let probe = tls_probe(cx, c, Some(EndCause::Closed), None);
                cx.emit(probe);
            }
        }
    }

    /// HTTP requests without a response and TLS handshakes that neither finished nor ended
    /// within the probe timeout are reported.
    pub fn expire(&mut self, cx: &mut Cx, now: Timestamp) {
        let limit = cx.timeout();
        let mut done: Vec<FlowId> = Vec::new();
        for (flow, slot) in self.conns.iter_mut() {
            // Opened only: no hello, no HTTP request to time out.
            let Slot::Conn(c) = slot else {
                continue;
            };
            c.http.expire(cx, now);
            // A completed handshake is not timed out: its outcome waits for data, a close
            // or the flow's end (bounded by the flow table and its idle timeout).
            if c.hello_ts.is_some_and(|t| now.secs_since(&t) > limit) && !c.handshake_completed() {
                done.push(*flow);
            }
        }
        // Flow ids grow with time: report in the order the connections started.
        done.sort_unstable();
        for flow in done {
            if let Some(c) = self.conns.remove(&flow).map(Slot::into_conn) {
                cx.stats.probes_timed_out += 1;
                let probe = tls_probe(cx, c, None, None);
                cx.emit(probe);
            }
        }
    }
}

/// The probe of a TCP connection that ended without a ClientHello, if it is one: a
/// connection to a TLS port that never got that far still shows the client tried the
/// server; HTTP and other streams are done.
fn finish_conn(
    cx: &mut Cx,
    c: Conn,
    cause: EndCause,
    summary: &FlowSummary,
    unfinished: Option<crate::parse::tls::Unfinished>,
) {
    // A ClientHello, or the server's side of a handshake whose client side the capture
    // does not hold (asymmetric routing, a one-way tap): a TLS probe.
    if c.hello.is_some() || c.server_hello.is_some() || c.server_cert.is_some() {
        let probe = tls_probe(cx, c, Some(cause), Some(summary));
        cx.emit(probe);
        return;
    }
    if c.hello.is_none() && c.starttls.is_none() {
        if let Some((protocol, reply)) = c.starttls_refused.clone() {
            // The client asked for TLS and the server said no: no certificate to judge.
            let name = cx.dns_name(c.client.ip(), c.server.ip());
            let details = TlsDetails {
                starttls: Some(protocol),
                mid_stream: !c.saw_syn,
                close: c.close,
                ..TlsDetails::default()
            };
            let probe = Probe {
                name_source: name.as_ref().map(|_| NameSource::DnsAnswer),
                verdict: Some(if name.is_some() {
                    Verdict::Unverified
                } else {
                    Verdict::NoName
                }),
                name,
                reason: Some(Reason::StartTlsRefused(reply)),
                ..Probe::new(
                    c.ts,
                    c.client,
                    c.server,
                    ProbeKind::Tls(Box::new(details)),
                    Outcome::StartTlsRefused,
                )
            };
            cx.emit(probe);
            return;
        }
    }
    if c.http.seen || c.not_tls || c.starttls.is_some() || !TLS_PORTS.contains(&c.server.port()) {
        return;
    }
    // What of a ClientHello came before the flow ended or its bytes were dropped: its SNI,
    // when its server_name extension was whole in it, is the name.
    let unfinished = unfinished.filter(|u| u.msg_type.map_or(true, |t| t == 1));
    let cut_sni = unfinished.as_ref().and_then(|u| u.sni.clone());
    let cut_ech = unfinished.as_ref().is_some_and(|u| u.ech);
    let closed_by = c.close.map(|cl| (cl.by, cl.how));
    // The client-side gap that kept the hello from being read, first of: over the bound,
    // dropped for the budget across flows, lost by the capture (missed segments, the
    // snapshot length) before the hello was whole. Said, not silent.
    let up_gap = |want: fn(&GapCause) -> bool| {
        c.gaps
            .iter()
            .find_map(|(d, g)| (*d == Dir::Up && want(g)).then_some(*g))
    };
    let not_read = up_gap(|g| *g == GapCause::BufferLimit)
        .or_else(|| up_gap(|g| matches!(g, GapCause::MemoryBudget { .. })))
        .or_else(|| {
            up_gap(|g| matches!(g, GapCause::NotCaptured | GapCause::Snaplen))
                .filter(|_| unfinished.is_some())
        });
    let (reason, outcome) = if let Some(gap) = not_read {
        let outcome = match gap {
            GapCause::BufferLimit => Outcome::HelloOverBound,
            GapCause::MemoryBudget { bytes } => Outcome::HelloDropped { budget: bytes },
            GapCause::NotCaptured | GapCause::Snaplen => Outcome::HelloIncomplete {
                end: cause,
                closed_by,
                lost: true,
            },
        };
        let sni = cut_sni.is_some();
        (Reason::HelloNotRead { cause: gap, sni }, outcome)
    } else if let Some(u) = unfinished {
        // The flow ended inside the ClientHello (the client stopped, the rest was lost,
        // or the capture ended): said, with what of it was seen, its SNI when that was.
        (
            Reason::HelloIncomplete {
                have: u.have,
                need: u.need,
                partial_header: u.partial_header,
                sni: u.sni.is_some(),
            },
            Outcome::HelloIncomplete {
                end: cause,
                closed_by,
                lost: false,
            },
        )
    } else if summary.payload(Dir::Up) > 0 {
        return; // data we could not read as TLS
    } else if !summary.saw_synack && summary.rst(Dir::Down).is_some() {
        (Reason::NoHandshake, Outcome::Refused)
    } else if c.saw_syn && !summary.saw_synack && summary.packets(Dir::Down) > 0 {
        // Something came back, but no SYN-ACK: a bare ACK (RFC 5961 §4: a server still
        // holding an older connection on this port pair answers a new SYN so).
        let client_reset = c
            .close
            .is_some_and(|cl| cl.by == Side::Client && cl.how == CloseHow::Rst);
        (
            Reason::NoHandshake,
            Outcome::SynAnsweredByAck { client_reset },
        )
    } else if c.saw_syn && !summary.saw_synack {
        (Reason::NoHandshake, Outcome::SynUnanswered)
    } else {
        (Reason::NoHandshake, Outcome::NoTlsHandshake)
    };
    let (name, source) = hello_name(cx, &c, cut_sni.as_deref());
    // Without a readable hello and without a DNS name there is no name at all.
    let verdict = if name.is_none()
        && matches!(
            reason,
            Reason::HelloNotRead { .. } | Reason::HelloIncomplete { .. }
        ) {
        Verdict::NoName
    } else {
        Verdict::Unverified
    };
    let details = TlsDetails {
        mid_stream: !c.saw_syn,
        close: c.close,
        // An ECH hello cut short: its SNI is the public (cover) name, as for a whole one.
        ech: cut_ech,
        ech_public_name: cut_sni.filter(|_| cut_ech),
        ..TlsDetails::default()
    };
    let probe = Probe {
        name_source: source,
        name,
        verdict: Some(verdict),
        reason: Some(reason),
        ..Probe::new(
            c.ts,
            c.client,
            c.server,
            ProbeKind::Tls(Box::new(details)),
            outcome,
        )
    };
    cx.emit(probe);
}

/// The name a connection's client asked for: its hello's SNI (not empty), else the host
/// its CONNECT request asked a proxy for (the DNS answer would name the proxy), else the
/// DNS answer that gave the server's address.
fn hello_name(cx: &mut Cx, c: &Conn, sni: Option<&str>) -> (Option<String>, Option<NameSource>) {
    match sni {
        Some(s) if !s.is_empty() => (Some(s.to_string()), Some(NameSource::Sni)),
        _ if c.http.connect_target.is_some() => (
            c.http.connect_target.clone(),
            Some(NameSource::ConnectTarget),
        ),
        _ => match cx.dns_name(c.client.ip(), c.server.ip()) {
            Some(n) => (Some(n), Some(NameSource::DnsAnswer)),
            None => (None, None),
        },
    }
}

/// The probe of a connection that sent a ClientHello. `cause` is `None` while the
/// connection is still open (handshake finished, or the probe timed out).
fn tls_probe(
    cx: &mut Cx,
    c: Conn,
    cause: Option<EndCause>,
    summary: Option<&FlowSummary>,
) -> Probe {
    let app_records = c.app_records;
    let hello = c.hello.as_deref().cloned().unwrap_or_default();
    let (name, source) = hello_name(cx, &c, hello.sni.as_deref());
    let tls13 = c.server_chose_tls13();
    let leaf = c.server_cert.as_ref().and_then(|ch| ch.leaf.clone());
    // No name at all, but the certificate names the server's address: a client that
    // connects to an address sends no SNI and checks the address.
    let (name, source) = match (&name, &leaf) {
        (None, Some(cert)) if names::names_address(c.server.ip(), cert) => (
            Some(c.server.ip().to_string()),
            Some(NameSource::ServerAddress),
        ),
        _ => (name, source),
    };
    let timeout = cx.timeout();
    let (verdict, reason) = verdict(&c, name.as_deref(), leaf.as_ref(), tls13, cause, timeout);
    let app_data = if c.hello.is_none() {
        // Only the server's side is in the capture: its application data after its
        // handshake is what there is to see.
        app_records.server > 0
    } else if tls13 {
        c.client13.data
    } else {
        app_records.client > 0 || (app_records.server > 0 && c.ccs.client)
    };
    let alerts: Vec<Alert> = c
        .alerts
        .iter()
        .map(|a| Alert {
            from: side(a.dir),
            kind: a.kind,
        })
        .collect();
    let outcome = tls_outcome(&c, &alerts, app_data, verdict, cause, timeout, summary);
    let details = TlsDetails {
        version: c.server_hello.as_ref().map(|s| TlsVersion(s.version)),
        cipher: c.server_hello.as_ref().map(|s| TlsCipherSuiteID(s.cipher)),
        offered_versions: offered_versions(&hello),
        alpn: hello.alpn.clone(),
        alpn_selected: c.server_hello.as_ref().and_then(|s| s.alpn.clone()),
        ech: hello.ech,
        hello_retry: c.server_hello.as_ref().is_some_and(|s| s.hrr),
        starttls: c.starttls,
        server_cert: leaf.map(Box::new),
        cert_source: c.cert_source.filter(|_| c.server_cert.is_some()),
        client_cert_requested: c.client_cert_requested,
        chain_len: c.server_cert.as_ref().map(|ch| ch.chain_len),
        client_cert: c
            .client_cert
            .as_ref()
            .and_then(|ch| ch.leaf.clone())
            .map(Box::new),
        client_chain_len: c.client_cert.as_ref().map(|ch| ch.chain_len),
        alerts,
        app_data,
        close: c.close,
        mid_stream: !c.saw_syn,
        ..TlsDetails::default()
    };
    let mut probe = Probe {
        name,
        name_source: source,
        verdict: Some(verdict),
        reason: Some(reason),
        trust: c.trust.clone(),
        ..Probe::new(
            c.hello_ts.unwrap_or(c.ts),
            c.client,
            c.server,
            ProbeKind::Tls(Box::new(details)),
            outcome,
        )
    };
    super::quic::hello_details(cx, &mut probe, c.hello.as_deref());
    probe
}

/// supported_versions, or the legacy version when the hello has none.
pub(crate) fn offered_versions(hello: &tls::ClientHello) -> Vec<TlsVersion> {
    if hello.versions.is_empty() {
        vec![TlsVersion(hello.legacy_version)]
    } else {
        hello.versions.iter().map(|v| TlsVersion(*v)).collect()
    }
}

fn verdict(
    c: &Conn,
    name: Option<&str>,
    leaf: Option<&CertInfo>,
    tls13: bool,
    cause: Option<EndCause>,
    timeout: f64,
) -> (Verdict, Reason) {
    let Some(name) = name else {
        if c.hello.is_none() {
            // The client's packets are there but its hello was lost (cut by the snapshot
            // length, segments missed, a bound): that, not a one-way tap.
            if let Some(&(_, cause)) = c.gaps.iter().find(|(d, _)| *d == Dir::Up) {
                return (
                    Verdict::Unverified,
                    Reason::HelloNotRead { cause, sni: false },
                );
            }
            // Not "no name": the client may well have sent one, where the capture cannot see.
            return (Verdict::Unverified, Reason::NoClientHello);
        }
        return (Verdict::NoName, Reason::NoName { quic: false });
    };
    if let Some(cert) = leaf {
        if let Some(e) = &cert.parse_error {
            if cert.san_dns.is_empty() && cert.subject_cn.is_none() {
                return (Verdict::Unverified, Reason::CertUnreadable(e.clone()));
            }
        }
        let (v, fit) = names::check(name, cert);
        return (v, Reason::Name(fit));
    }
    if tls13 {
        return (
            Verdict::Unverified,
            c.keylog.map_or(Reason::Tls13, |k| k.reason(false)),
        );
    }
    if let Some((_, g)) = c.gaps.iter().find(|(d, _)| *d == Dir::Down) {
        return (Verdict::Unverified, Reason::ServerGap(*g));
    }
    if c.server_hello.is_some() && c.ccs.server {
        return (Verdict::Unverified, Reason::Resumed);
    }
    if let Some(a) = c.alerts.iter().find(|a| a.dir == Dir::Down) {
        let desc = match a.kind {
            AlertKind::Plain { description, .. } => Some(description),
            AlertKind::Encrypted => None,
        };
        return (Verdict::Unverified, Reason::ServerAlert(desc));
    }
    if c.server_hello.is_none() {
        let why = match (cause, &c.close) {
            (_, Some(cl)) if cl.by == Side::Server && cl.how == CloseHow::Rst => {
                NoAnswer::ServerReset
            }
            (_, Some(cl)) if cl.by == Side::Server => NoAnswer::ServerClosed,
            (_, Some(_)) => NoAnswer::ClientClosed,
            (Some(EndCause::EndOfCapture), _) => NoAnswer::CaptureEnded,
            (None, _) => NoAnswer::TimedOut(timeout),
            (Some(EndCause::Idle | EndCause::Evicted | EndCause::Closed), None) => {
                NoAnswer::NotSeen
            }
        };
        return (Verdict::Unverified, Reason::NoServerHello(why));
    }
    if c.server_hello.as_ref().is_some_and(|s| s.hrr) && c.server_cert.is_none() {
        return (Verdict::Unverified, Reason::HelloRetry);
    }
    let why = match cause {
        Some(EndCause::EndOfCapture) => NoCert::CaptureEnded,
        None => NoCert::TimedOut(timeout),
        Some(EndCause::Idle | EndCause::Evicted | EndCause::Closed) => NoCert::NotSent,
    };
    (Verdict::Unverified, Reason::NoCertificate(why))
}

/// Alerts a client sends when it does not accept the server's certificate.
fn certificate_alert(d: TlsAlertDescription) -> bool {
    matches!(
        d,
        TlsAlertDescription::BadCertificate
            | TlsAlertDescription::UnsupportedCertificate
            | TlsAlertDescription::CertificateRevoked
            | TlsAlertDescription::CertificateExpired
            | TlsAlertDescription::CertificateUnknown
            | TlsAlertDescription::UnknownCa
            | TlsAlertDescription::AccessDenied
    )
}

fn tls_outcome(
    c: &Conn,
    alerts: &[Alert],
    app_data: bool,
    verdict: Verdict,
    cause: Option<EndCause>,
    timeout: f64,
    summary: Option<&FlowSummary>,
) -> Outcome {
    if let Some(a) = alerts.iter().find(|a| a.is_fatal()) {
        if let AlertKind::Plain { description, .. } = a.kind {
            if a.from == Side::Client && certificate_alert(description) {
                return Outcome::ClientRejected(description);
            }
            return Outcome::FatalAlert {
                from: a.from,
                alert: description,
            };
        }
    }
    if app_data {
        return Outcome::DataExchanged;
    }
    // Part of a side's stream was lost (cut by the snapshot length, segments missed, or
    // dropped at a reassembly bound): the records after it were not read, so no data
    // seen does not mean none sent, nor a close after the server's flight a client giving
    // up. Nothing inferred.
    if let Some(&(dir, gap)) = c.gaps.first() {
        return Outcome::UnreadableAfterGap {
            side: side(dir),
            cause: gap,
            bytes: summary.map(|s| (s.payload(Dir::Up), s.payload(Dir::Down))),
            handshake_completed: c.handshake_completed(),
        };
    }
    if c.handshake_completed() {
        // Both finished the handshake, and no data followed.
        let end = match first_to_end(c) {
            Some(by) => {
                let ending = ending_of(c, by);
                if by == Side::Client && verdict == Verdict::Mismatch {
                    // Clients that check the name only after the handshake (curl with
                    // OpenSSL) end so on a name they do not accept.
                    return Outcome::LikelyRejected(WalkAway {
                        alert: ending.0,
                        close: ending.1,
                        cert_seen: c.server_cert.is_some(),
                        after_handshake: true,
                    });
                }
                NoData::Ended {
                    by,
                    alert: ending.0.is_some(),
                    close: ending.1,
                }
            }
            None => match cause {
                Some(EndCause::EndOfCapture) => NoData::CaptureEnded,
                Some(EndCause::Idle) => NoData::WentIdle,
                Some(EndCause::Evicted) => NoData::TrackingDropped,
                Some(EndCause::Closed) | None => NoData::Open,
            },
        };
        return Outcome::HandshakeOnly {
            end,
            name_matched: verdict == Verdict::Match,
        };
    }
    if let Some(why) = client_walked_away(c) {
        return Outcome::LikelyRejected(why);
    }
    if let Some(cl) = &c.close {
        return Outcome::ClosedEarly {
            by: cl.by,
            how: cl.how,
            after_server_handshake: c.server_cert.is_some() || c.server_hello.is_some(),
        };
    }
    match cause {
        Some(EndCause::EndOfCapture) => Outcome::IncompleteAtEnd,
        Some(EndCause::Idle) => Outcome::WentIdle,
        Some(EndCause::Evicted) => Outcome::TrackingDropped,
        Some(EndCause::Closed) => Outcome::ConnectionClosed,
        None => Outcome::HandshakeTimedOut(timeout),
    }
}

/// When each side first ended the connection (an alert, a FIN or a RST).
fn end_ts(c: &Conn, d: Dir) -> Option<Timestamp> {
    let mut alert = c.alerts.iter().filter(|a| a.dir == d).map(|a| a.ts).min();
    if d == Dir::Up {
        alert = match (alert, c.client13.alert_ts) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let close = c
        .close
        .as_ref()
        .filter(|cl| cl.by == side(d))
        .map(|cl| cl.ts);
    match (alert, close) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The side that ended the connection first, if either did.
fn first_to_end(c: &Conn) -> Option<Side> {
    match (end_ts(c, Dir::Up), end_ts(c, Dir::Down)) {
        (Some(cl), Some(sv)) if sv < cl => Some(Side::Server),
        (Some(_), _) => Some(Side::Client),
        (None, Some(_)) => Some(Side::Server),
        (None, None) => None,
    }
}

/// How `by` ended: the alert it sent (a record, or for a TLS 1.3 client one told by its
/// size) and how it closed.
fn ending_of(c: &Conn, by: Side) -> (Option<WalkAlert>, Option<CloseHow>) {
    let d = match by {
        Side::Client => Dir::Up,
        Side::Server => Dir::Down,
    };
    let alert = if c.alerts.iter().any(|a| a.dir == d) {
        Some(WalkAlert::Record)
    } else if by == Side::Client && c.client13.alert_ts.is_some() {
        Some(WalkAlert::BySize)
    } else {
        None
    };
    let close = c.close.as_ref().filter(|cl| cl.by == by).map(|cl| cl.how);
    (alert, close)
}

/// The client ended the connection first (an alert it could not show in the clear, a FIN
/// or a RST) right after the server's certificate flight, before going on with its own
/// handshake (TLS 1.2: no ChangeCipherSpec; TLS 1.3: no record long enough for its
/// Finished): what a client does when it does not accept the certificate. A client that
/// went on with its handshake did not reject the certificate in the handshake.
fn client_walked_away(c: &Conn) -> Option<WalkAway> {
    let flight = c.server_cert.is_some() || c.server_hello.is_some();
    if !flight || c.client_continued() {
        return None;
    }
    if first_to_end(c) != Some(Side::Client) {
        return None;
    }
    let (alert, close) = ending_of(c, Side::Client);
    Some(WalkAway {
        alert,
        close,
        cert_seen: c.server_cert.is_some(),
        after_handshake: false,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    //! The TLS 1.3 record-size rules, on typed parser facts: no real capture has them
    //! (OpenSSL sends its handshake alerts in the clear, tests/outcomes.rs), other
    //! clients encrypt them.

    use super::*;
    use crate::correlate::{CorrelateLimits, Correlator};

    const FLOW: FlowId = 1;

    fn ts(ms: i64) -> Timestamp {
        Timestamp::new(1_800_000_000 + ms / 1000, ((ms % 1000) * 1_000_000) as u32)
    }

    fn tls(ms: i64, dir: Dir, item: TlsItem) -> Parsed {
        Parsed::Tls {
            flow: FLOW,
            ts: ts(ms),
            dir,
            item,
        }
    }

    /// A TLS 1.3 handshake up to the server's flight, then the client's records.
    fn run(client_records: &[usize]) -> Probe {
        let mut c = Correlator::new(CorrelateLimits::default());
        let (client, server) = (
            "198.51.100.10:40000".parse().unwrap(),
            "192.0.2.10:443".parse().unwrap(),
        );
        c.push(Parsed::Opened {
            flow: FLOW,
            ts: ts(0),
            client,
            server,
            saw_syn: true,
            client_mac: None,
        });
        let hello = tls::ClientHello {
            sni: Some("x.example".into()),
            versions: vec![0x0304],
            ..tls::ClientHello::default()
        };
        c.push(tls(1, Dir::Up, TlsItem::ClientHello(hello)));
        let sh = tls::ServerHello {
            version: 0x0304,
            cipher: 0x1301,
            hrr: false,
            alpn: None,
        };
        c.push(tls(2, Dir::Down, TlsItem::ServerHello(sh)));
        for len in [23, 800, 281, 53] {
            c.push(tls(2, Dir::Down, TlsItem::AppData { len }));
        }
        for (i, len) in client_records.iter().enumerate() {
            c.push(tls(3 + i as i64, Dir::Up, TlsItem::AppData { len: *len }));
        }
        c.push(Parsed::Fin {
            flow: FLOW,
            dir: Dir::Up,
            ts: ts(10),
        });
        c.push(Parsed::Fin {
            flow: FLOW,
            dir: Dir::Down,
            ts: ts(11),
        });
        let mut out = Vec::new();
        c.take_ready(&mut out);
        assert_eq!(out.len(), 1);
        out.remove(0)
    }

    #[test]
    fn tls13_client_record_too_short_for_finished_is_an_alert_and_a_likely_rejection() {
        let p = run(&[19]);
        match p.outcome {
            Outcome::LikelyRejected(w) => {
                assert_eq!(w.alert, Some(WalkAlert::BySize));
                assert!(!w.after_handshake);
                assert!(!w.cert_seen);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tls13_finished_then_close_notify_is_no_data() {
        // 53 bytes: a SHA-256 Finished; 19: a close_notify.
        let p = run(&[53, 19]);
        assert!(!p.tls().unwrap().app_data);
        assert!(matches!(
            p.outcome,
            Outcome::HandshakeOnly {
                end: NoData::Ended {
                    by: Side::Client,
                    alert: true,
                    ..
                },
                name_matched: false,
            }
        ));
        // A record longer than an alert after the Finished is data.
        assert_eq!(run(&[53, 60]).outcome, Outcome::DataExchanged);
    }

    fn opened_then_gap(c: &mut Correlator, dir: Dir, cause: GapCause) {
        c.push(Parsed::Opened {
            flow: FLOW,
            ts: ts(0),
            client: "198.51.100.11:40001".parse().unwrap(),
            server: "192.0.2.11:443".parse().unwrap(),
            saw_syn: true,
            client_mac: None,
        });
        c.push(Parsed::Gap {
            flow: FLOW,
            dir,
            ts: ts(1),
            cause,
        });
    }

    fn end(c: &mut Correlator) -> Probe {
        c.push(Parsed::Ended {
            flow: FLOW,
            ts: ts(20),
            cause: EndCause::EndOfCapture,
            summary: {
                let mut s = FlowSummary::default();
                s.saw_syn = true;
                s.saw_synack = true;
                s
            },
            app_records: [0, 0],
            hello_unfinished: None,
        });
        let mut out = Vec::new();
        c.take_ready(&mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        out.remove(0)
    }

    #[test]
    fn gap_before_any_other_fact_is_kept_when_the_hello_follows() {
        // The connection is held small (gaps only) until its hello: the gap must survive
        // the change into the whole connection, and explain the missing certificate.
        let mut c = Correlator::new(CorrelateLimits::default());
        opened_then_gap(&mut c, Dir::Down, GapCause::NotCaptured);
        let hello = tls::ClientHello {
            sni: Some("gap.example".into()),
            versions: vec![0x0303],
            ..tls::ClientHello::default()
        };
        c.push(tls(2, Dir::Up, TlsItem::ClientHello(hello)));
        let p = end(&mut c);
        assert_eq!(p.name.as_deref(), Some("gap.example"));
        assert_eq!(p.reason, Some(Reason::ServerGap(GapCause::NotCaptured)));
    }

    /// Every TLS alert of a connection was kept, and every gap of a flow whose packets
    /// carried no byte (a headers-only capture cuts each one): lists that grew with the
    /// input (review finding). The first alert of each side and the first fatal one are
    /// what the probe reads; the first gap of each cause on each side.
    #[test]
    fn alerts_and_gaps_of_a_connection_are_bounded() {
        let mut c = Correlator::new(CorrelateLimits::default());
        opened_then_gap(&mut c, Dir::Down, GapCause::Snaplen);
        for _ in 0..10_000 {
            c.push(Parsed::Gap {
                flow: FLOW,
                ts: ts(2),
                dir: Dir::Down,
                cause: GapCause::Snaplen,
            });
        }
        c.push(Parsed::Gap {
            flow: FLOW,
            ts: ts(2),
            dir: Dir::Up,
            cause: GapCause::NotCaptured,
        });
        let hello = tls::ClientHello {
            sni: Some("x.example".into()),
            ..tls::ClientHello::default()
        };
        c.push(tls(3, Dir::Up, TlsItem::ClientHello(hello)));
        let alert = |level, description| TlsItem::Alert {
            level,
            description,
            encrypted: false,
        };
        for _ in 0..10_000 {
            c.push(tls(4, Dir::Up, alert(1, 0)));
        }
        c.push(tls(5, Dir::Down, alert(2, 40)));
        match c.tcp.conns.get(&FLOW) {
            Some(Slot::Conn(conn)) => {
                assert_eq!(conn.gaps.len(), 2);
                assert_eq!(conn.alerts.len(), MAX_ALERTS_KEPT);
            }
            _ => panic!("the connection is not followed"),
        }
        assert_eq!(
            c.stats().tls_alerts_not_kept,
            10_001 - MAX_ALERTS_KEPT as u64
        );
        let p = end(&mut c);
        assert_eq!(
            p.outcome,
            Outcome::FatalAlert {
                from: Side::Server,
                alert: TlsAlertDescription(40)
            }
        );
    }

    /// A TLS 1.2 handshake seen to complete (both ChangeCipherSpecs), then a segment the
    /// capture missed: the outcome said "whether the handshake completed … is not known"
    /// (review finding). It says the handshake completed, and only the data is unknown.
    #[test]
    fn a_gap_after_a_completed_handshake_says_it_completed() {
        let mut c = Correlator::new(CorrelateLimits::default());
        c.push(Parsed::Opened {
            flow: FLOW,
            ts: ts(0),
            client: "198.51.100.11:40001".parse().unwrap(),
            server: "192.0.2.11:443".parse().unwrap(),
            saw_syn: true,
            client_mac: None,
        });
        let hello = tls::ClientHello {
            sni: Some("x.example".into()),
            ..tls::ClientHello::default()
        };
        c.push(tls(1, Dir::Up, TlsItem::ClientHello(hello)));
        let sh = tls::ServerHello {
            version: 0x0303,
            cipher: 0xc02f,
            hrr: false,
            alpn: None,
        };
        c.push(tls(2, Dir::Down, TlsItem::ServerHello(sh)));
        c.push(tls(3, Dir::Up, TlsItem::ChangeCipherSpec));
        c.push(tls(4, Dir::Down, TlsItem::ChangeCipherSpec));
        // The client's first application data segment missed by the capture.
        c.push(Parsed::Gap {
            flow: FLOW,
            dir: Dir::Up,
            ts: ts(5),
            cause: GapCause::NotCaptured,
        });
        let p = end(&mut c);
        assert!(
            matches!(
                p.outcome,
                Outcome::UnreadableAfterGap {
                    handshake_completed: true,
                    ..
                }
            ),
            "{:?}",
            p.outcome
        );
    }

    #[test]
    fn hello_dropped_at_the_budget_on_a_connection_with_no_other_fact_says_so() {
        let mut c = Correlator::new(CorrelateLimits::default());
        let cause = GapCause::MemoryBudget { bytes: 32 << 20 };
        opened_then_gap(&mut c, Dir::Up, cause);
        let p = end(&mut c);
        assert_eq!(p.reason, Some(Reason::HelloNotRead { cause, sni: false }));
        assert_eq!(p.outcome, Outcome::HelloDropped { budget: 32 << 20 });
    }

    /// After the input ended, the floor is the earliest start of what is still held (a
    /// connection, a DNS query waiting), and the end of time once nothing is; before, none
    /// (a packet may still start a probe within the reorder window).
    #[test]
    fn floor_is_the_earliest_start_still_held_once_the_input_ended() {
        let mut c = Correlator::new(CorrelateLimits::default());
        opened_then_gap(&mut c, Dir::Down, GapCause::NotCaptured);
        let query = crate::parse::DnsMessage {
            id: 7,
            response: false,
            rcode: crate::parse::Rcode(0),
            truncated: false,
            questions: vec![crate::parse::Question {
                name: "late.example".into(),
                qtype: crate::parse::RrType(1),
            }],
            answers: Vec::new(),
        };
        c.push(Parsed::Dns {
            ts: ts(3000),
            client: "198.51.100.11:5353".parse().unwrap(),
            server: "192.0.2.53:53".parse().unwrap(),
            msg: query,
            client_mac: None,
        });
        assert_eq!(c.floor(), None);
        c.input_ended();
        assert_eq!(c.floor(), Some(ts(0)), "the connection opened at 0 is held");
        end(&mut c);
        assert_eq!(c.floor(), Some(ts(3000)), "the DNS query is still waiting");
        c.finish();
        assert_eq!(c.floor(), Some(Timestamp::new(i64::MAX, 0)));
    }
}
