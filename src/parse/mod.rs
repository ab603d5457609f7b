//! Stage 4: application protocols on reassembled streams and datagrams.
//!
//! Input: owned reassembly [`Event`]s. Output: owned [`Parsed`] facts (TLS hellos,
//! certificates, alerts, HTTP heads, DNS messages, flow endings). Parser views
//! (tls-parser, x509-parser, httparse, simple-dns) never leave this stage.
//!
//! TCP streams are read by one [`StreamAnalyzer`] at a time (`stream.rs`), picked by
//! content from either direction's first bytes, on any port: TLS (`tls_stream.rs`: a
//! ClientHello, or a ServerHello in a server-side-only capture), HTTP/1 (`http.rs`: any
//! token as a method, or a status line when the capture starts with the server's reply),
//! DNS over TCP (`dns_tcp.rs`, port 53), STARTTLS dialogues (`starttls.rs`: SMTP, IMAP,
//! POP3, XMPP), SOCKS4/4a/5 (`tunnel.rs`). An analyzer hands over with [`Next`]: to TLS
//! (STARTTLS), or to a fresh detection (what runs inside a SOCKS or CONNECT tunnel).
//! Plaintext nothing recognises is watched for a ClientHello and re-detected at each
//! segment and request line. Hand-read wire formats use `reader.rs`.

pub mod cert;
pub mod dns;
mod dns_tcp;
pub mod http;
pub mod ja4;
pub mod keylog;
pub mod quic;
pub mod quic_hs;
pub mod reader;
mod starttls;
pub mod stream;
pub mod tls;
pub mod tls13;
mod tls_stream;
mod tunnel;

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::capture::Timestamp;
use crate::decode::Datagram;
use crate::reassemble::{Dir, EndCause, Event, FlowId, FlowSummary, GapCause};

pub use cert::{CertChain, CertError, CertInfo, CertPolicy, ChainCert};
pub use dns::{DnsAnswer, DnsMessage, Question, Rcode, Rdata, RrType};
pub use quic::QuicItem;
pub use stream::{Cx, Next, StreamAnalyzer};
pub use tls::{ClientHello, ServerHello, TlsItem};
pub use tls13::Decrypted;

use stream::idx;

/// What the parser found.
#[derive(Clone, Debug)]
pub enum Parsed {
    Opened {
        flow: FlowId,
        ts: Timestamp,
        client: SocketAddr,
        server: SocketAddr,
        saw_syn: bool,
        /// The client's MAC address (as the reassembler saw it).
        client_mac: Option<crate::decode::Mac>,
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
    /// The client asked for STARTTLS and the server said no (`reply`: its answer, at
    /// most 200 characters); the dialogue goes on in plaintext.
    StartTlsRefused {
        flow: FlowId,
        ts: Timestamp,
        protocol: &'static str,
        reply: String,
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
        /// The client's MAC address, for a query (the sender's).
        client_mac: Option<crate::decode::Mac>,
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
        /// The client's TLS handshake message the flow ended in, not whole (a ClientHello
        /// cut short: the client stopped, the rest was lost, or the capture ended).
        hello_unfinished: Option<tls::Unfinished>,
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
    /// HTTP heads that did not parse (reading resumes at the next request/status line).
    pub http_unparsable: u64,
    /// Lines dropped while looking for the next HTTP head after one that did not parse.
    pub http_lines_skipped: u64,
    /// Responses to requests whose head did not parse (not reported).
    pub http_responses_to_unparsable: u64,
    /// Requests forgotten unanswered over `http::MAX_PENDING_REQUESTS`.
    pub http_requests_unpaired: u64,
    /// HTTP heads the capture cut (snapshot length, missed segment), read up to the cut.
    pub http_heads_cut: u64,
    /// SOCKS handshakes the proxy refused (no method, authentication, request denied).
    pub socks_refused: u64,
    /// SOCKS handshakes that did not read as SOCKS (or went over `tunnel::MAX_HANDSHAKE`).
    pub socks_unreadable: u64,
    /// TLS handshake messages with a malformed part (read as far as they go).
    pub tls_malformed: u64,
    /// DNS-over-TCP streams given up: a message over the bound.
    pub dns_tcp_over_limit: u64,
    /// Flows given up after [`MAX_DETECTIONS`] fresh detections (tunnels in tunnels).
    pub detections_over_limit: u64,
    /// STARTTLS requests the server refused.
    pub starttls_refused: u64,
    /// Plaintext lines of a STARTTLS dialogue over `starttls::MAX_LINE`, dropped.
    pub starttls_long_lines: u64,
    /// TLS 1.3 handshakes opened with the key log.
    pub tls_decrypt: tls13::DecryptStats,
    pub quic: quic::QuicStats,
    /// Certificates taken from the certificate cache, parsed (not in it yet), and evicted
    /// from it (`cert::MAX_CACHED_CERTS`).
    pub cert_cache_hits: u64,
    pub cert_cache_parsed: u64,
    pub cert_cache_evictions: u64,
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

/// The analyzer a flow is in.
enum Analyzer {
    /// Nothing seen yet.
    Unknown,
    /// Boxed (as the HTTP one): a flow with no byte yet holds only the tag.
    Tls(Box<tls_stream::TlsStream>),
    Http(Box<http::HttpStream>),
    DnsTcp(Box<dns_tcp::DnsTcp>),
    StartTls(Box<starttls::StartTls>),
    Plain(Box<starttls::PlainWatch>),
    Socks(Box<tunnel::Socks>),
    /// Nothing more to read.
    Done,
}

impl Analyzer {
    fn get(&mut self) -> Option<&mut dyn StreamAnalyzer> {
        match self {
            Analyzer::Tls(a) => Some(a.as_mut()),
            Analyzer::Http(a) => Some(a.as_mut()),
            Analyzer::DnsTcp(a) => Some(a.as_mut()),
            Analyzer::StartTls(a) => Some(a.as_mut()),
            Analyzer::Plain(a) => Some(a.as_mut()),
            Analyzer::Socks(a) => Some(a.as_mut()),
            Analyzer::Unknown | Analyzer::Done => None,
        }
    }

    /// The analyzer, to read (as [`Analyzer::get`]).
    fn get_ref(&self) -> Option<&dyn StreamAnalyzer> {
        match self {
            Analyzer::Tls(a) => Some(a.as_ref()),
            Analyzer::Http(a) => Some(a.as_ref()),
            Analyzer::DnsTcp(a) => Some(a.as_ref()),
            Analyzer::StartTls(a) => Some(a.as_ref()),
            Analyzer::Plain(a) => Some(a.as_ref()),
            Analyzer::Socks(a) => Some(a.as_ref()),
            Analyzer::Unknown | Analyzer::Done => None,
        }
    }

    fn held(&self, dir: Dir) -> usize {
        self.get_ref().map_or(0, |a| a.held(dir))
    }

    /// The TLS handshake message `dir` ended in, not whole.
    fn unfinished(&self, dir: Dir) -> Option<tls::Unfinished> {
        self.get_ref().and_then(|a| a.unfinished(dir))
    }

    fn wants_stop(&self, dir: Dir) -> bool {
        match self.get_ref() {
            Some(a) => a.wants_stop(dir),
            None => matches!(self, Analyzer::Done),
        }
    }
}

/// What the bytes of `dir` show, when they show a protocol: the start of a flow, or of
/// a segment of a flow not recognised so far.
fn recognise(cx: &mut Cx<'_>, dir: Dir, data: &[u8]) -> Option<Analyzer> {
    if dns_tcp::detect(cx) {
        Some(Analyzer::DnsTcp(Box::default()))
    } else if tls_stream::detect(dir, data) {
        cx.stats.tls_streams += 1;
        Some(Analyzer::Tls(Box::default()))
    } else if http::starts_like(dir, data) {
        cx.stats.http_streams += 1;
        Some(Analyzer::Http(Box::default()))
    } else if let Some(v) = tunnel::detect(dir, data) {
        Some(Analyzer::Socks(Box::new(tunnel::Socks::new(v))))
    } else {
        starttls::detect(dir, data, cx.server.port())
            .map(|p| Analyzer::StartTls(Box::new(starttls::StartTls::new(p))))
    }
}

/// A segment of plaintext watched so far starts a protocol with its own analyzer (TLS
/// is left to the watch, which reports the switch).
fn recognisable(dir: Dir, data: &[u8], server_port: u16) -> bool {
    http::starts_like(dir, data) || starttls::detect(dir, data, server_port).is_some()
}

/// Picks the analyzer for a flow (or a tunnel) from its first bytes: a recognised
/// protocol, else the plaintext watch (which keeps looking).
fn detect(cx: &mut Cx<'_>, dir: Dir, data: &[u8]) -> Analyzer {
    recognise(cx, dir, data).unwrap_or_else(|| Analyzer::Plain(Box::default()))
}

/// Fresh detections per flow (a tunnel's inside, a protocol recognised later): a bound
/// on tunnels in tunnels, which would otherwise nest as deep as the bytes allow.
pub const MAX_DETECTIONS: u8 = 8;

struct FlowState {
    client: SocketAddr,
    server: SocketAddr,
    analyzer: Analyzer,
    /// The tunnel (SOCKS, HTTP CONNECT) the analyzer runs inside, if any.
    tunnel: Option<&'static str>,
    /// Fresh detections so far (bounded by [`MAX_DETECTIONS`]).
    detections: u8,
    stopped: [bool; 2],
    /// TLS application-data records seen per direction (kept when the analyzer ends).
    app_records: [u64; 2],
    /// Bytes the analyzer holds per direction for messages not yet whole, as of its last
    /// call (in [`Parser::held`]'s total).
    held: [u32; 2],
}

impl FlowState {
    fn new(client: SocketAddr, server: SocketAddr) -> Self {
        FlowState {
            client,
            server,
            analyzer: Analyzer::Unknown,
            tunnel: None,
            detections: 0,
            stopped: [false, false],
            app_records: [0, 0],
            held: [0, 0],
        }
    }

    fn feed(&mut self, cx: &mut Cx<'_>, dir: Dir, data: &[u8]) {
        if matches!(self.analyzer, Analyzer::Unknown) {
            if data.is_empty() {
                return;
            }
            self.analyzer = detect(cx, dir, data);
            if let (Some(protocol), Analyzer::Tls(_)) = (self.tunnel, &self.analyzer) {
                let (flow, ts) = (cx.flow, cx.ts);
                cx.emit(Parsed::StartTls { flow, ts, protocol });
            }
        }
        let Some(a) = self.analyzer.get() else { return };
        let next = a.feed(cx, dir, data);
        self.follow(cx, next);
    }

    fn gap(&mut self, cx: &mut Cx<'_>, dir: Dir, cause: GapCause) {
        let next = if matches!(self.analyzer, Analyzer::Unknown) {
            // Nothing recognised yet: what follows is detected by content all the same
            // (the other direction may be whole: a server-side-only capture).
            cx.gap(dir, cause);
            Next::More
        } else {
            match self.analyzer.get() {
                Some(a) => a.gap(cx, dir, cause),
                None => Next::More,
            }
        };
        self.follow(cx, next);
    }

    /// Updates the bytes held per direction, and `total` with the difference.
    fn recount(&mut self, total: &mut usize) {
        for (d, slot) in [Dir::Up, Dir::Down].into_iter().zip(self.held.iter_mut()) {
            let now = u32::try_from(self.analyzer.held(d)).unwrap_or(u32::MAX);
            *total = total.saturating_sub(*slot as usize) + now as usize;
            *slot = now;
        }
    }

    /// Asks the reassembler (once) for no more bytes of `d`.
    fn stop(&mut self, d: Dir, stops: &mut Vec<Stop>) {
        if let Some(s) = self.stopped.get_mut(idx(d)) {
            if !*s {
                *s = true;
                stops.push((self.client, self.server, d));
            }
        }
    }

    /// Notes the analyzer's counts, then does what it asked.
    fn follow(&mut self, cx: &mut Cx<'_>, next: Next) {
        if let Some(a) = self.analyzer.get() {
            let now = a.app_records();
            for (kept, n) in self.app_records.iter_mut().zip(now) {
                *kept = (*kept).max(n);
            }
        }
        match next {
            Next::More => {}
            Next::Done => self.analyzer = Analyzer::Done,
            Next::UpgradeToTls {
                protocol,
                resync,
                pending: [up, down],
            } => {
                let (flow, ts) = (cx.flow, cx.ts);
                cx.emit(Parsed::StartTls { flow, ts, protocol });
                cx.stats.tls_streams += 1;
                let mut t = Box::new(tls_stream::TlsStream::new(resync));
                let a = t.feed(cx, Dir::Up, &up);
                let b = t.feed(cx, Dir::Down, &down);
                self.analyzer = Analyzer::Tls(t);
                let next = if matches!(a, Next::Done) || matches!(b, Next::Done) {
                    Next::Done
                } else {
                    Next::More
                };
                self.follow(cx, next);
            }
            Next::Detect {
                tunnel,
                pending: [up, down],
            } => {
                if self.detections >= MAX_DETECTIONS {
                    cx.stats.detections_over_limit += 1;
                    self.analyzer = Analyzer::Done;
                    return;
                }
                self.detections += 1;
                self.analyzer = Analyzer::Unknown;
                if tunnel.is_some() {
                    self.tunnel = tunnel;
                }
                self.feed(cx, Dir::Up, &up);
                self.feed(cx, Dir::Down, &down);
            }
        }
    }
}

/// The parse stage.
pub struct Parser {
    limits: ParseLimits,
    /// Boxed: the table's empty slots (and its copy while it grows) cost a pointer each.
    flows: HashMap<FlowId, Box<FlowState>, foldhash::fast::RandomState>,
    quic: quic::QuicReader,
    /// The key log and the files it is read from (`None`: no key log given).
    keys: Option<keylog::KeySource>,
    pub stats: ParseStats,
    /// Certificates parsed once, by their SHA-256 (`cert::MAX_CACHED_CERTS`).
    certs: cert::CertCache,
    /// Bytes all flows' analyzers hold for messages not yet whole (the parser's share of
    /// the budget across flows, `reassemble::Limits::max_buffered_total`).
    held: usize,
}

/// A request to the reassembler: no more bytes needed from this direction.
pub type Stop = (SocketAddr, SocketAddr, Dir);

impl Parser {
    pub fn new(limits: ParseLimits) -> Self {
        Parser {
            limits,
            flows: HashMap::default(),
            quic: quic::QuicReader::new(limits.quic),
            keys: None,
            stats: ParseStats::default(),
            certs: cert::CertCache::default(),
            held: 0,
        }
    }

    /// Bytes held across flows for messages not yet whole.
    pub fn held(&self) -> usize {
        self.held
    }

    /// The flows holding bytes, and how many per direction, sorted by flow (for the
    /// budget across flows).
    pub fn held_by_flow(&self) -> Vec<(FlowId, [u32; 2])> {
        let mut v: Vec<(FlowId, [u32; 2])> = self
            .flows
            .iter()
            .filter(|(_, st)| st.held != [0, 0])
            .map(|(&id, st)| (id, st.held))
            .collect();
        v.sort_unstable_by_key(|&(id, _)| id);
        v
    }

    /// The certificate cache's hits, parses and evictions.
    pub fn cert_cache(&self) -> (u64, u64, u64) {
        (self.certs.hits, self.certs.misses, self.certs.evictions)
    }

    /// Decrypt TLS 1.3 and QUIC handshakes with this key log.
    pub fn set_keylog(&mut self, keys: keylog::KeySource) {
        self.keys = Some(keys);
    }

    /// A pcapng Decryption Secrets Block's secrets: a TLS key log is read into the key
    /// log (started with `limits` when none was given); other secret types are ignored.
    pub fn add_secrets(&mut self, secrets_type: u32, data: &[u8], limits: keylog::KeyLogLimits) {
        if secrets_type != keylog::DSB_TLS_KEY_LOG {
            return;
        }
        self.keys
            .get_or_insert_with(|| keylog::KeySource::from_log(keylog::KeyLog::new(limits)))
            .log
            .read_dsb(secrets_type, data);
    }

    /// The key log's own counters (lines, secrets, evictions …), client randoms held
    /// and failed re-reads, when one was given.
    pub fn keylog_stats(&self) -> Option<(keylog::KeyLogStats, usize, u64)> {
        self.keys
            .as_ref()
            .map(|k| (k.log.stats.clone(), k.log.len(), k.read_errors))
    }

    /// Handles one reassembly event; facts go to `out`, stop requests to `stops`. The
    /// buffer of a data event whose bytes were read is handed back, for the reassembler
    /// to deliver the next bytes in ([`crate::reassemble::Reassembler::recycle`]).
    pub fn push(
        &mut self,
        ev: Event,
        out: &mut Vec<Parsed>,
        stops: &mut Vec<Stop>,
    ) -> Option<Vec<u8>> {
        if let Some(k) = self.keys.as_mut() {
            k.refresh();
        }
        let mut read = None;
        match ev {
            Event::Opened {
                flow,
                ts,
                client,
                server,
                saw_syn,
                client_mac,
            } => {
                self.flows
                    .insert(flow, Box::new(FlowState::new(client, server)));
                out.push(Parsed::Opened {
                    flow,
                    ts,
                    client,
                    server,
                    saw_syn,
                    client_mac,
                });
            }
            Event::Data {
                flow,
                dir,
                ts,
                data,
            } => {
                let Some(st) = self.flows.get_mut(&flow) else {
                    return Some(data);
                };
                let i = idx(dir);
                let before = st.app_records.get(i).copied().unwrap_or(0);
                let mut cx = Cx {
                    flow,
                    ts,
                    client: st.client,
                    server: st.server,
                    limits: &self.limits,
                    stats: &mut self.stats,
                    out,
                    stop: [false, false],
                    keylog: self.keys.as_ref().map(|k| &k.log),
                    certs: &mut self.certs,
                };
                st.feed(&mut cx, dir, &data);
                st.recount(&mut self.held);
                let after = st.app_records.get(i).copied().unwrap_or(0);
                if after > before {
                    out.push(Parsed::AppRecords {
                        flow,
                        ts,
                        dir,
                        total: after,
                    });
                }
                for d in [Dir::Up, Dir::Down] {
                    if st.analyzer.wants_stop(d) {
                        st.stop(d, stops);
                    }
                }
                read = Some(data);
            }
            Event::Gap {
                flow,
                dir,
                ts,
                cause,
                ..
            } => {
                let st = self.flows.get_mut(&flow)?;
                let mut cx = Cx {
                    flow,
                    ts,
                    client: st.client,
                    server: st.server,
                    limits: &self.limits,
                    stats: &mut self.stats,
                    out,
                    stop: [false, false],
                    keylog: self.keys.as_ref().map(|k| &k.log),
                    certs: &mut self.certs,
                };
                st.gap(&mut cx, dir, cause);
                st.recount(&mut self.held);
                let asked = cx.stop;
                for (d, ask) in [Dir::Up, Dir::Down].into_iter().zip(asked) {
                    if ask {
                        st.stop(d, stops);
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
                let (app_records, hello_unfinished) = match self.flows.remove(&flow) {
                    Some(st) => {
                        let held: usize = st.held.iter().map(|&n| n as usize).sum();
                        self.held = self.held.saturating_sub(held);
                        (st.app_records, st.analyzer.unfinished(Dir::Up))
                    }
                    None => ([0, 0], None),
                };
                out.push(Parsed::Ended {
                    flow,
                    ts,
                    cause,
                    summary,
                    app_records,
                    hello_unfinished,
                });
            }
            Event::Datagram(dg) => self.datagram(dg, out),
        }
        read
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
                let client_mac = dg.src_mac.filter(|_| !msg.response);
                out.push(Parsed::Dns {
                    ts: dg.ts,
                    client,
                    server,
                    msg,
                    client_mac,
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
        if self.quic.datagram(
            dg.ts,
            dg.src,
            dg.dst,
            &dg.payload,
            self.keys.as_ref().map(|k| &k.log),
            &mut items,
        ) {
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

#[cfg(test)]
mod tests;
