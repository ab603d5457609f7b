//! Stage 4: application protocols on reassembled streams and datagrams.
//!
//! Input: owned reassembly [`Event`]s. Output: owned [`Parsed`] facts (TLS hellos,
//! certificates, alerts, HTTP heads, DNS messages, flow endings). Parser views
//! (tls-parser, x509-parser, httparse, simple-dns) never leave this stage.
//!
//! Protocols are recognised by content, on any port: a TLS record, an HTTP request line,
//! DNS on port 53. A stream that starts in plaintext (SMTP/IMAP/POP3/XMPP STARTTLS, an
//! HTTP CONNECT tunnel, SOCKS) is watched until a ClientHello appears.

pub mod cert;
pub mod dns;
pub mod http;
pub mod ja4;
pub mod keylog;
pub mod quic;
pub mod quic_hs;
pub mod tls;
pub mod tls13;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use crate::capture::Timestamp;
use crate::decode::Datagram;
use crate::reassemble::{Dir, EndCause, Event, FlowId, FlowSummary, GapCause};

pub use cert::{CertChain, CertError, CertInfo};
pub use dns::{DnsAnswer, DnsMessage, Question, Rcode, Rdata, RrType};
pub use quic::QuicItem;
pub use tls::{ClientHello, ServerHello, TlsItem};

/// What the parser found.
#[derive(Clone, Debug)]
pub enum Parsed {
    Opened {
        flow: FlowId,
        ts: Timestamp,
        client: SocketAddr,
        server: SocketAddr,
        saw_syn: bool,
    },
    Tls {
        flow: FlowId,
        ts: Timestamp,
        dir: Dir,
        item: TlsItem,
    },
    /// The stream switched from plaintext to TLS (STARTTLS or a tunnel).
    StartTls {
        flow: FlowId,
        ts: Timestamp,
        protocol: &'static str,
    },
    HttpRequest {
        flow: FlowId,
        ts: Timestamp,
        req: http::Request,
    },
    HttpResponse {
        flow: FlowId,
        ts: Timestamp,
        resp: http::Response,
    },
    Dns {
        ts: Timestamp,
        client: SocketAddr,
        server: SocketAddr,
        msg: DnsMessage,
    },
    /// Something read from a QUIC connection's Initial packets (or seen around them).
    Quic {
        ts: Timestamp,
        client: SocketAddr,
        server: SocketAddr,
        item: QuicItem,
    },
    /// Bytes of the handshake phase were not seen.
    Gap {
        flow: FlowId,
        dir: Dir,
        ts: Timestamp,
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
    /// The count of TLS application-data records in one direction went up (sent until the
    /// parser stops watching that direction, so at most a few per flow).
    AppRecords {
        flow: FlowId,
        ts: Timestamp,
        dir: Dir,
        total: u64,
    },
    Ended {
        flow: FlowId,
        ts: Timestamp,
        cause: EndCause,
        summary: FlowSummary,
        /// TLS application-data records seen per direction [client, server].
        app_records: [u64; 2],
    },
}

/// Counters, shown in the stats.
#[derive(Clone, Debug, Default)]
pub struct ParseStats {
    pub tls_streams: u64,
    pub http_streams: u64,
    pub dns_messages: u64,
    pub dns_unreadable: u64,
    pub not_tls_after_start: u64,
    pub buffer_limit_hits: u64,
    pub quic: quic::QuicStats,
}

/// Parser bounds.
#[derive(Clone, Copy, Debug)]
pub struct ParseLimits {
    /// Plaintext bytes watched for a STARTTLS / HTTP head before giving up.
    pub max_plaintext: usize,
    /// TLS bytes held per direction (one handshake message + one record).
    pub max_tls_buffer: usize,
    /// QUIC connections followed and CRYPTO bytes held per connection.
    pub quic: quic::QuicLimits,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_plaintext: 64 * 1024,
            max_tls_buffer: tls::MAX_HANDSHAKE + 20 * 1024,
            quic: quic::QuicLimits::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Unknown,
    Tls,
    Http,
    DnsTcp,
    Plain,
    Done,
}

struct HttpHalf {
    buf: Vec<u8>,
    skip: u64,
    chunked: Option<http::Chunked>,
}

struct FlowState {
    client: SocketAddr,
    server: SocketAddr,
    mode: Mode,
    tls: [tls::TlsReader; 2],
    /// Waiting for the first TLS record of this direction after plaintext.
    resync: [bool; 2],
    /// Plaintext / HTTP / DNS-over-TCP bytes held per direction.
    http: [HttpHalf; 2],
    head_requests: VecDeque<(bool, bool)>,
    stopped: [bool; 2],
    plaintext_seen: usize,
    starttls_keyword: Option<&'static str>,
}

fn idx(d: Dir) -> usize {
    match d {
        Dir::Up => 0,
        Dir::Down => 1,
    }
}

impl FlowState {
    fn new(client: SocketAddr, server: SocketAddr) -> Self {
        let half = || HttpHalf {
            buf: Vec::new(),
            skip: 0,
            chunked: None,
        };
        FlowState {
            client,
            server,
            mode: Mode::Unknown,
            tls: [tls::TlsReader::default(), tls::TlsReader::default()],
            resync: [false, false],
            http: [half(), half()],
            head_requests: VecDeque::new(),
            stopped: [false, false],
            plaintext_seen: 0,
            starttls_keyword: None,
        }
    }
}

/// The parse stage.
pub struct Parser {
    limits: ParseLimits,
    flows: HashMap<FlowId, FlowState, foldhash::fast::RandomState>,
    quic: quic::QuicReader,
    pub stats: ParseStats,
}

/// A request to the reassembler: no more bytes needed from this direction.
pub type Stop = (SocketAddr, SocketAddr, Dir);

impl Parser {
    pub fn new(limits: ParseLimits) -> Self {
        Parser {
            limits,
            flows: HashMap::default(),
            quic: quic::QuicReader::new(limits.quic),
            stats: ParseStats::default(),
        }
    }

    /// Handles one reassembly event; facts go to `out`, stop requests to `stops`.
    pub fn push(&mut self, ev: Event, out: &mut Vec<Parsed>, stops: &mut Vec<Stop>) {
        match ev {
            Event::Opened {
                flow,
                ts,
                client,
                server,
                saw_syn,
            } => {
                self.flows.insert(flow, FlowState::new(client, server));
                out.push(Parsed::Opened {
                    flow,
                    ts,
                    client,
                    server,
                    saw_syn,
                });
            }
            Event::Data {
                flow,
                dir,
                ts,
                data,
            } => {
                if let Some(st) = self.flows.get_mut(&flow) {
                    let before = st.tls.get(idx(dir)).map_or(0, |r| r.app_records);
                    on_data(st, flow, dir, ts, &data, &self.limits, &mut self.stats, out);
                    let after = st.tls.get(idx(dir)).map_or(0, |r| r.app_records);
                    if after > before {
                        out.push(Parsed::AppRecords {
                            flow,
                            ts,
                            dir,
                            total: after,
                        });
                    }
                    for d in [Dir::Up, Dir::Down] {
                        let i = idx(d);
                        let want_stop = match st.mode {
                            Mode::Done => true,
                            Mode::Tls => {
                                let r = st.tls.get(i);
                                r.is_some_and(|r| r.failed() || r.app_records >= 4)
                            }
                            _ => false,
                        };
                        if want_stop && !st.stopped.get(i).copied().unwrap_or(true) {
                            if let Some(s) = st.stopped.get_mut(i) {
                                *s = true;
                            }
                            stops.push((st.client, st.server, d));
                        }
                    }
                }
            }
            Event::Gap {
                flow,
                dir,
                ts,
                cause,
                ..
            } => {
                if let Some(st) = self.flows.get_mut(&flow) {
                    let i = idx(dir);
                    match st.mode {
                        Mode::Tls => {
                            if let Some(r) = st.tls.get_mut(i) {
                                if !r.failed() {
                                    r.lose_sync();
                                    out.push(Parsed::Gap {
                                        flow,
                                        dir,
                                        ts,
                                        cause,
                                    });
                                }
                            }
                        }
                        Mode::Unknown | Mode::Plain => {
                            out.push(Parsed::Gap {
                                flow,
                                dir,
                                ts,
                                cause,
                            });
                            st.mode = Mode::Done;
                        }
                        Mode::Http | Mode::DnsTcp => {
                            if let Some(h) = st.http.get_mut(i) {
                                h.buf.clear();
                                h.skip = 0;
                                h.chunked = None;
                            }
                            if let Some(s) = st.stopped.get_mut(i) {
                                if !*s {
                                    *s = true;
                                    stops.push((st.client, st.server, dir));
                                }
                            }
                        }
                        Mode::Done => {}
                    }
                }
            }
            Event::Fin { flow, dir, ts } => out.push(Parsed::Fin { flow, dir, ts }),
            Event::Rst { flow, dir, ts } => out.push(Parsed::Rst { flow, dir, ts }),
            Event::Ended {
                flow,
                ts,
                cause,
                summary,
            } => {
                let app_records = self
                    .flows
                    .remove(&flow)
                    .map(|st| [st.tls[0].app_records, st.tls[1].app_records])
                    .unwrap_or([0, 0]);
                out.push(Parsed::Ended {
                    flow,
                    ts,
                    cause,
                    summary,
                    app_records,
                });
            }
            Event::Datagram(dg) => self.datagram(dg, out),
        }
    }

    fn datagram(&mut self, dg: Datagram, out: &mut Vec<Parsed>) {
        let dns_port = |p: u16| matches!(p, 53 | 5353 | 5355);
        if !(dns_port(dg.src.port()) || dns_port(dg.dst.port())) {
            self.quic_datagram(dg, out);
            return;
        }
        match dns::parse(&dg.payload) {
            Some(msg) => {
                self.stats.dns_messages += 1;
                let (client, server) = if msg.response {
                    (dg.dst, dg.src)
                } else {
                    (dg.src, dg.dst)
                };
                out.push(Parsed::Dns {
                    ts: dg.ts,
                    client,
                    server,
                    msg,
                });
            }
            None => self.stats.dns_unreadable += 1,
        }
    }
}

impl Parser {
    /// QUIC, recognised by its long header and version on any port.
    fn quic_datagram(&mut self, dg: Datagram, out: &mut Vec<Parsed>) {
        let mut items = Vec::new();
        if self
            .quic
            .datagram(dg.ts, dg.src, dg.dst, &dg.payload, &mut items)
        {
            self.stats.quic = self.quic.stats.clone();
        }
        for (ts, client, server, item) in items {
            out.push(Parsed::Quic {
                ts,
                client,
                server,
                item,
            });
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn on_data(
    st: &mut FlowState,
    flow: FlowId,
    dir: Dir,
    ts: Timestamp,
    data: &[u8],
    limits: &ParseLimits,
    stats: &mut ParseStats,
    out: &mut Vec<Parsed>,
) {
    if st.mode == Mode::Unknown {
        let dns = st.server.port() == 53 || st.client.port() == 53;
        st.mode = if dns {
            Mode::DnsTcp
        } else if dir == Dir::Up
            && ((data.first() == Some(&0x16) && data.get(1) == Some(&0x03))
                || tls::is_sslv2_hello(data))
        {
            stats.tls_streams += 1;
            Mode::Tls
        } else if dir == Dir::Up && http::starts_like_request(data) {
            stats.http_streams += 1;
            Mode::Http
        } else {
            Mode::Plain
        };
    }
    let i = idx(dir);
    match st.mode {
        Mode::Tls => tls_data(st, flow, dir, ts, data, limits, stats, out),
        Mode::Http => http_data(st, flow, dir, ts, data, limits, stats, out),
        Mode::DnsTcp => dns_tcp(st, dir, ts, data, limits, stats, out),
        Mode::Plain => {
            if dir == Dir::Down {
                return;
            }
            let Some(h) = st.http.get_mut(i) else { return };
            let from = h.buf.len().saturating_sub(5);
            h.buf.extend_from_slice(data);
            st.plaintext_seen += data.len();
            if st.starttls_keyword.is_none() {
                st.starttls_keyword = starttls_keyword(&h.buf, st.server.port());
            }
            let found = (from..h.buf.len()).find(|&p| tls::looks_like_hello(&h.buf, p, 1));
            if let Some(p) = found {
                let rest = h.buf.get(p..).map(<[u8]>::to_vec).unwrap_or_default();
                h.buf.clear();
                st.mode = Mode::Tls;
                stats.tls_streams += 1;
                st.resync = [false, true];
                if let Some(d) = st.http.get_mut(1) {
                    d.buf.clear();
                }
                out.push(Parsed::StartTls {
                    flow,
                    ts,
                    protocol: st.starttls_keyword.unwrap_or("plaintext"),
                });
                tls_data(st, flow, dir, ts, &rest, limits, stats, out);
            } else if st.plaintext_seen > limits.max_plaintext {
                st.mode = Mode::Done;
            } else if h.buf.len() > 4096 {
                // Keep only a tail long enough to hold a record header split across reads.
                let cut = h.buf.len() - 16;
                h.buf.drain(..cut);
            }
        }
        Mode::Unknown | Mode::Done => {}
    }
}

/// Which STARTTLS dialect the client's plaintext shows.
fn starttls_keyword(buf: &[u8], port: u16) -> Option<&'static str> {
    let text = String::from_utf8_lossy(buf).to_ascii_lowercase();
    if text.contains("<starttls") {
        return Some("xmpp");
    }
    if text.contains("stls\r\n") && !text.contains("starttls") {
        return Some("pop3");
    }
    if text.contains("starttls") {
        return Some(match port {
            143 => "imap",
            6667 | 6697 | 194 => "irc",
            389 => "ldap",
            21 => "ftp",
            _ if text.contains("ehlo") || text.contains("helo") => "smtp",
            _ if text.split_whitespace().nth(1) == Some("starttls") => "imap",
            _ => "smtp",
        });
    }
    if text.starts_with("connect ") {
        return Some("http-connect");
    }
    if buf.first() == Some(&0x05) || buf.first() == Some(&0x04) {
        return Some("socks");
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn tls_data(
    st: &mut FlowState,
    flow: FlowId,
    dir: Dir,
    ts: Timestamp,
    data: &[u8],
    limits: &ParseLimits,
    stats: &mut ParseStats,
    out: &mut Vec<Parsed>,
) {
    let i = idx(dir);
    let resynced: Vec<u8>;
    let mut data = data;
    if st.resync.get(i).copied().unwrap_or(false) {
        let Some(h) = st.http.get_mut(i) else { return };
        h.buf.extend_from_slice(data);
        let want = if dir == Dir::Up { 1 } else { 2 };
        match (0..h.buf.len()).find(|&p| tls::looks_like_hello(&h.buf, p, want)) {
            Some(p) => {
                resynced = h.buf.split_off(p);
                h.buf.clear();
                data = &resynced;
                if let Some(r) = st.resync.get_mut(i) {
                    *r = false;
                }
            }
            None => {
                if h.buf.len() > limits.max_plaintext {
                    h.buf.clear();
                    st.mode = Mode::Done;
                }
                return;
            }
        }
    }
    let Some(reader) = st.tls.get_mut(i) else {
        return;
    };
    let mut items = Vec::new();
    reader.feed(data, &mut items);
    if reader.take_too_large() || reader.held() > limits.max_tls_buffer {
        stats.buffer_limit_hits += 1;
        reader.lose_sync();
        out.push(Parsed::Gap {
            flow,
            dir,
            ts,
            cause: GapCause::BufferLimit,
        });
    }
    for item in items {
        if matches!(item, TlsItem::NotTls) {
            stats.not_tls_after_start += 1;
        }
        out.push(Parsed::Tls {
            flow,
            ts,
            dir,
            item,
        });
    }
}

#[allow(clippy::too_many_arguments)]
fn http_data(
    st: &mut FlowState,
    flow: FlowId,
    dir: Dir,
    ts: Timestamp,
    data: &[u8],
    limits: &ParseLimits,
    stats: &mut ParseStats,
    out: &mut Vec<Parsed>,
) {
    let i = idx(dir);
    let Some(h) = st.http.get_mut(i) else { return };
    let mut data = data;
    // Skip a body in progress without holding it.
    if h.skip > 0 {
        let n = (h.skip).min(data.len() as u64) as usize;
        h.skip -= n as u64;
        data = data.get(n..).unwrap_or(&[]);
    }
    h.buf.extend_from_slice(data);
    let mut switch_to_tls = false;
    loop {
        if let Some(ch) = h.chunked.as_mut() {
            let (used, done, bad) = ch.consume(&h.buf);
            h.buf.drain(..used.min(h.buf.len()));
            if bad {
                st.mode = Mode::Done;
                return;
            }
            if !done {
                break;
            }
            h.chunked = None;
        }
        if h.skip > 0 {
            let n = (h.skip).min(h.buf.len() as u64) as usize;
            h.skip -= n as u64;
            h.buf.drain(..n);
            if h.skip > 0 {
                break;
            }
        }
        if h.buf.is_empty() {
            break;
        }
        let body = if dir == Dir::Up {
            match http::request(&h.buf) {
                http::Head::Complete(req, n, body) => {
                    st.head_requests
                        .push_back((req.method == "HEAD", req.method == "CONNECT"));
                    out.push(Parsed::HttpRequest { flow, ts, req });
                    h.buf.drain(..n.min(h.buf.len()));
                    body
                }
                http::Head::Partial => break,
                http::Head::Invalid => {
                    h.buf.clear();
                    h.skip = u64::MAX;
                    break;
                }
            }
        } else {
            let (head, connect) = st.head_requests.front().copied().unwrap_or((false, false));
            match http::response(&h.buf, head) {
                http::Head::Complete(resp, n, body) => {
                    let status = resp.status;
                    if status >= 200 {
                        st.head_requests.pop_front();
                    }
                    out.push(Parsed::HttpResponse { flow, ts, resp });
                    h.buf.drain(..n.min(h.buf.len()));
                    if connect && (200..300).contains(&status) {
                        switch_to_tls = true;
                        break;
                    }
                    body
                }
                http::Head::Partial => break,
                http::Head::Invalid => {
                    h.buf.clear();
                    h.skip = u64::MAX;
                    break;
                }
            }
        };
        match body {
            http::Body::None => {}
            http::Body::Length(n) => h.skip = n,
            http::Body::Chunked => h.chunked = Some(http::Chunked::default()),
            http::Body::UntilClose => {
                h.buf.clear();
                h.skip = u64::MAX;
                break;
            }
        }
    }
    if h.buf.len() > limits.max_plaintext {
        h.buf.clear();
        h.skip = u64::MAX;
    }
    if switch_to_tls {
        // An HTTP CONNECT tunnel: TLS follows in both directions.
        let rest_down = std::mem::take(&mut h.buf);
        let rest_up = st
            .http
            .get_mut(0)
            .map(|u| std::mem::take(&mut u.buf))
            .unwrap_or_default();
        st.mode = Mode::Tls;
        st.resync = [true, true];
        out.push(Parsed::StartTls {
            flow,
            ts,
            protocol: "http-connect",
        });
        stats.tls_streams += 1;
        tls_data(st, flow, Dir::Up, ts, &rest_up, limits, stats, out);
        tls_data(st, flow, Dir::Down, ts, &rest_down, limits, stats, out);
    }
}

fn dns_tcp(
    st: &mut FlowState,
    dir: Dir,
    ts: Timestamp,
    data: &[u8],
    limits: &ParseLimits,
    stats: &mut ParseStats,
    out: &mut Vec<Parsed>,
) {
    let (client, server) = (st.client, st.server);
    let Some(h) = st.http.get_mut(idx(dir)) else {
        return;
    };
    h.buf.extend_from_slice(data);
    let mut pos = 0usize;
    while let Some(l) = h.buf.get(pos..pos + 2) {
        let len = usize::from(u16::from_be_bytes([
            l.first().copied().unwrap_or(0),
            l.get(1).copied().unwrap_or(0),
        ]));
        let Some(msg) = h.buf.get(pos + 2..pos + 2 + len) else {
            break;
        };
        match dns::parse(msg) {
            Some(m) => {
                stats.dns_messages += 1;
                out.push(Parsed::Dns {
                    ts,
                    client,
                    server,
                    msg: m,
                });
            }
            None => stats.dns_unreadable += 1,
        }
        pos += 2 + len;
    }
    h.buf.drain(..pos.min(h.buf.len()));
    if h.buf.len() > limits.max_plaintext + 2 {
        h.buf.clear();
        st.mode = Mode::Done;
    }
}
