//! The probe: one thing a client tried, as typed values. Nothing here is English: the
//! report (`src/report/text.rs`) writes every sentence from these values.
//!
//! Adding a variant to [`ProbeKind`], [`Verdict`], [`Reason`] or [`Outcome`] makes the
//! compiler list every place that must handle it (no match on them has a `_` arm).

use std::net::{IpAddr, SocketAddr};

use tls_parser::{TlsAlertDescription, TlsCipherSuiteID, TlsVersion};

use super::names::NameFit;
pub use super::names::Verdict;
pub use super::trust::TrustVerdict;
use crate::capture::Timestamp;
use crate::parse::{CertError, CertInfo, DnsAnswer, Rcode, RrType};
use crate::reassemble::{EndCause, GapCause};

/// One thing a client tried: a TLS connection, a QUIC connection attempt, an HTTP request
/// or a DNS query.
///
/// The fields every kind shares are kept flat (not in a `common` struct): they are read
/// everywhere and a wrapper would add a word to every access without adding a check.
#[derive(Clone, Debug)]
pub struct Probe {
    pub id: u64,
    pub ts: Timestamp,
    pub client: IpAddr,
    pub client_port: u16,
    /// The host the client address was merged into (other addresses with its MAC), set
    /// when the report is made.
    pub host: Option<Box<super::hosts::Host>>,
    pub server: IpAddr,
    pub port: u16,
    pub name: Option<String>,
    pub name_source: Option<NameSource>,
    /// The attempt group ([`super::groups::Group::id`]) the probe belongs to.
    pub group: Option<u64>,
    pub kind: ProbeKind,
    /// The name verdict (TLS and QUIC probes).
    pub verdict: Option<Verdict>,
    /// Why the verdict is what it is.
    pub reason: Option<Reason>,
    /// Would a client accept the chain, apart from the name (TLS, when the certificate
    /// was seen).
    pub trust: Option<Box<TrustVerdict>>,
    pub outcome: Outcome,
}

/// What kind of probe, with what only that kind has.
#[derive(Clone, Debug)]
pub enum ProbeKind {
    Tls(Box<TlsDetails>),
    Quic(Box<QuicProbe>),
    Http(HttpDetails),
    Dns(DnsDetails),
}

/// The kind of a probe without its data (for tables, groups and JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Tls,
    Http,
    Dns,
    Quic,
}

impl ProbeKind {
    pub fn proto(&self) -> Proto {
        match self {
            ProbeKind::Tls(_) => Proto::Tls,
            ProbeKind::Quic(_) => Proto::Quic,
            ProbeKind::Http(_) => Proto::Http,
            ProbeKind::Dns(_) => Proto::Dns,
        }
    }
}

impl Probe {
    /// A probe with nothing decided yet; callers fill in what they know.
    pub(crate) fn new(
        ts: Timestamp,
        client: SocketAddr,
        server: SocketAddr,
        kind: ProbeKind,
        outcome: Outcome,
    ) -> Probe {
        Probe {
            id: 0,
            ts,
            client: client.ip(),
            client_port: client.port(),
            host: None,
            server: server.ip(),
            port: server.port(),
            name: None,
            name_source: None,
            group: None,
            kind,
            verdict: None,
            reason: None,
            trust: None,
            outcome,
        }
    }

    pub fn proto(&self) -> Proto {
        self.kind.proto()
    }

    /// The address the probe's client is listed under: its host's, else its own.
    pub fn host_addr(&self) -> IpAddr {
        self.host.as_ref().map_or(self.client, |h| h.primary)
    }

    /// The ClientHello side of a TLS or QUIC probe.
    pub fn tls(&self) -> Option<&TlsDetails> {
        match &self.kind {
            ProbeKind::Tls(t) => Some(t),
            ProbeKind::Quic(q) => Some(&q.tls),
            ProbeKind::Http(_) | ProbeKind::Dns(_) => None,
        }
    }

    pub(crate) fn tls_mut(&mut self) -> Option<&mut TlsDetails> {
        match &mut self.kind {
            ProbeKind::Tls(t) => Some(t),
            ProbeKind::Quic(q) => Some(&mut q.tls),
            ProbeKind::Http(_) | ProbeKind::Dns(_) => None,
        }
    }

    pub fn quic(&self) -> Option<&QuicDetails> {
        match &self.kind {
            ProbeKind::Quic(q) => Some(&q.quic),
            ProbeKind::Tls(_) | ProbeKind::Http(_) | ProbeKind::Dns(_) => None,
        }
    }

    pub fn http(&self) -> Option<&HttpDetails> {
        match &self.kind {
            ProbeKind::Http(h) => Some(h),
            ProbeKind::Tls(_) | ProbeKind::Quic(_) | ProbeKind::Dns(_) => None,
        }
    }

    pub fn dns(&self) -> Option<&DnsDetails> {
        match &self.kind {
            ProbeKind::Dns(d) => Some(d),
            ProbeKind::Tls(_) | ProbeKind::Quic(_) | ProbeKind::Http(_) => None,
        }
    }

    /// The server's leaf certificate, when it was seen.
    pub fn cert(&self) -> Option<&CertInfo> {
        self.tls().and_then(|t| t.server_cert.as_deref())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameSource {
    Sni,
    HttpHost,
    DnsQuery,
    DnsAnswer,
    /// No SNI and no DNS name, but the certificate names the server's address (as an
    /// iPAddress SAN, or wrongly as a dNSName): the client connected by address.
    ServerAddress,
    /// The host of an HTTP CONNECT request: the name the client asked a proxy to reach
    /// (the CONNECT probe's own name when it has no Host, the tunnelled TLS's when its
    /// hello has no SNI).
    ConnectTarget,
}

/// Which end of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseHow {
    Fin,
    Rst,
}

/// The first close of a connection.
#[derive(Clone, Copy, Debug)]
pub struct Close {
    pub by: Side,
    pub how: CloseHow,
    pub ts: Timestamp,
}

/// A TLS alert: in the clear (level and description), or encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertKind {
    Plain {
        /// 1 warning, 2 fatal (others are kept as sent).
        level: u8,
        description: TlsAlertDescription,
    },
    Encrypted,
}

#[derive(Clone, Copy, Debug)]
pub struct Alert {
    pub from: Side,
    pub kind: AlertKind,
}

impl Alert {
    pub fn is_fatal(&self) -> bool {
        matches!(self.kind, AlertKind::Plain { level: 2, .. })
    }
}

/// The STARTTLS dialect (or tunnel) before the TLS of a connection.
pub type StartTls = &'static str;

/// What the ClientHello, ServerHello and Certificate messages showed.
#[derive(Clone, Debug, Default)]
pub struct TlsDetails {
    /// The version the server chose.
    pub version: Option<TlsVersion>,
    pub cipher: Option<TlsCipherSuiteID>,
    /// supported_versions, or the hello's legacy version when it has none.
    pub offered_versions: Vec<TlsVersion>,
    pub alpn: Vec<String>,
    /// The protocol the server chose (its ServerHello's ALPN; `None` when it chose none
    /// or sent it encrypted, as TLS 1.3 does).
    pub alpn_selected: Option<String>,
    pub ech: bool,
    pub hello_retry: bool,
    pub starttls: Option<StartTls>,
    /// The server's leaf certificate.
    pub server_cert: Option<Box<CertInfo>>,
    /// Where the server's certificate came from (`None`: no certificate).
    pub cert_source: Option<CertSource>,
    /// The server asked for a client certificate (a CertificateRequest was decrypted).
    pub client_cert_requested: bool,
    pub chain_len: Option<usize>,
    /// Boxed like the server's: most probes have none, and a held probe stays small.
    pub client_cert: Option<Box<CertInfo>>,
    pub client_chain_len: Option<usize>,
    pub alerts: Vec<Alert>,
    pub app_data: bool,
    pub close: Option<Close>,
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

/// Where a certificate was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertSource {
    /// In the clear (TLS 1.2 and older).
    Seen,
    /// In the encrypted handshake, opened with the client's key log.
    KeyLog,
}

/// A QUIC probe: the ClientHello side and what the QUIC packets showed.
#[derive(Clone, Debug, Default)]
pub struct QuicProbe {
    pub tls: TlsDetails,
    pub quic: QuicDetails,
}

/// What the QUIC Initial packets showed.
#[derive(Clone, Debug, Default)]
pub struct QuicDetails {
    pub version: u32,
    /// The client's first Destination Connection ID (hex): the Initial keys' source.
    pub dcid: String,
    /// Initial packets that carried the ClientHello.
    pub initial_packets: u32,
    pub server_initial: bool,
    pub server_handshake: bool,
    pub retry: bool,
    /// Versions a Version Negotiation packet offered instead.
    pub version_negotiation: Option<Vec<u32>>,
    pub close: Option<QuicClose>,
    /// The client went on to 1-RTT packets: the handshake completed.
    pub handshake_completed: bool,
}

#[derive(Clone, Debug)]
pub struct QuicClose {
    pub by: Side,
    pub code: u64,
    /// An application close (frame type 0x1d), not a transport close.
    pub app: bool,
    pub reason: String,
}

#[derive(Clone, Debug, Default)]
pub struct HttpDetails {
    pub method: String,
    pub path: String,
    pub host: Option<String>,
    pub status: Option<u16>,
    pub location: Option<String>,
    /// The request's head was cut, and why (its headers after the cut not seen).
    pub request_cut: Option<GapCause>,
}

#[derive(Clone, Debug)]
pub struct DnsDetails {
    /// The question's type (`None`: a query without a question).
    pub qtype: Option<RrType>,
    pub rcode: Option<Rcode>,
    /// The answer had its TC bit set: cut to fit, the client asks again over TCP.
    pub truncated: bool,
    pub answers: Vec<DnsAnswer>,
}

/// Why the name verdict is what it is.
#[derive(Clone, Debug, PartialEq)]
pub enum Reason {
    /// No SNI, and no DNS answer in the capture gave a name for the server's address.
    NoName { quic: bool },
    /// The server's certificate was seen but could not be read.
    CertUnreadable(CertError),
    /// The certificate was read: how it relates to the name.
    Name(NameFit),
    /// The server chose TLS 1.3, which encrypts its certificate.
    Tls13,
    /// Bytes of the server's handshake are missing.
    ServerGap(GapCause),
    /// An abbreviated handshake: the server sent no certificate.
    Resumed,
    /// The server refused the handshake with an alert (`None`: encrypted).
    ServerAlert(Option<TlsAlertDescription>),
    /// The server never answered the ClientHello.
    NoServerHello(NoAnswer),
    /// A HelloRetryRequest and no handshake in the clear after it.
    HelloRetry,
    /// A ServerHello, but no Certificate message.
    NoCertificate(NoCert),
    /// The ClientHello was not read whole: too large to hold, or its bytes dropped at the
    /// memory budget (`cause`); `sni`: its server_name had come before (the probe's name).
    HelloNotRead { cause: GapCause, sni: bool },
    /// The connection ended inside its ClientHello: `have` of its bytes seen (header
    /// included), of `need` when its header was seen; `sni`: its server_name was among
    /// them (the probe's name).
    HelloIncomplete {
        have: u32,
        need: Option<u32>,
        /// Nothing of it came, and the record header before it only in part.
        partial_header: bool,
        sni: bool,
    },
    /// A TCP connection to a TLS port without a TLS handshake.
    NoHandshake,
    /// The server's handshake is in the capture but the client's is not (asymmetric
    /// routing, a one-way tap): the name asked for is unknown.
    NoClientHello,
    /// The server refused STARTTLS (its reply).
    StartTlsRefused(String),
    /// QUIC encrypts the server's certificate.
    Quic,
    /// A key log was given, but it has no secret for this connection's client random.
    NoKeyInLog { quic: bool },
    /// The key log's secret did not open the server's handshake (authentication failed).
    WrongKey { quic: bool },
    /// The key log opened the handshake: a resumption with a pre-shared key, so the
    /// server sent no certificate.
    ResumedPsk { quic: bool },
}

/// Why the server did not answer a ClientHello.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NoAnswer {
    ServerReset,
    ServerClosed,
    ClientClosed,
    CaptureEnded,
    /// Still waiting when the probe timed out (seconds).
    TimedOut(f64),
    NotSeen,
}

/// Why no Certificate message was seen after a ServerHello.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NoCert {
    CaptureEnded,
    TimedOut(f64),
    NotSent,
}

/// What happened to the attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    // TLS over TCP
    /// The client sent a fatal certificate alert.
    ClientRejected(TlsAlertDescription),
    FatalAlert {
        from: Side,
        alert: TlsAlertDescription,
    },
    /// Application data after the handshake.
    DataExchanged,
    /// Inferred: the client ended the connection right after the server's flight.
    LikelyRejected(WalkAway),
    /// Closed without application data.
    ClosedEarly {
        by: Side,
        how: CloseHow,
        after_server_handshake: bool,
    },
    IncompleteAtEnd,
    WentIdle,
    /// The flow table was full: the connection's tracking was dropped.
    TrackingDropped,
    ConnectionClosed,
    /// Neither finished nor ended within the probe timeout (seconds).
    HandshakeTimedOut(f64),
    /// The ClientHello was over the handshake message bound.
    HelloOverBound,
    /// The ClientHello's bytes held so far were dropped: the budget for bytes buffered
    /// across flows (`budget` bytes, `--max-buffered-bytes`) was reached.
    HelloDropped {
        budget: u64,
    },
    /// The flow ended before the rest of its ClientHello: how (`end`), and who closed it
    /// and how, when a FIN or RST was seen.
    HelloIncomplete {
        end: EndCause,
        closed_by: Option<(Side, CloseHow)>,
        /// The capture lost part of it (a gap on the client's side): not the client's doing.
        lost: bool,
    },
    /// The server answered the SYN with a RST.
    Refused,
    SynUnanswered,
    /// The server answered the SYN with a bare ACK, not a SYN-ACK (it still held an
    /// older connection on the same ports); `client_reset`: the client answered that
    /// with a RST.
    SynAnsweredByAck {
        client_reset: bool,
    },
    /// Both sides finished the handshake and no application data was seen: a
    /// handshake-only client or health check when the client ended it and the name
    /// matched (a client that ends so on a mismatched name is [`Outcome::LikelyRejected`]).
    HandshakeOnly {
        end: NoData,
        name_matched: bool,
    },
    /// Part of one side's stream was lost before application data was seen (`cause`: the
    /// snapshot length, missed segments, a reassembly bound): what followed cannot be
    /// read, so nothing is inferred. `bytes`: the TCP payload the captured packets of the
    /// client and of the server carried when the flow ended (retransmissions included,
    /// cut bytes included, missed packets not), the only hint.
    UnreadableAfterGap {
        side: Side,
        cause: GapCause,
        bytes: Option<(u64, u64)>,
        /// Both sides were seen to finish the handshake before the loss: only whether
        /// data followed is unknown.
        handshake_completed: bool,
    },
    /// A TCP connection to a TLS port without a TLS handshake.
    NoTlsHandshake,
    /// The server refused STARTTLS; the dialogue went on in plaintext.
    StartTlsRefused,
    // QUIC
    Quic(QuicOutcome),
    // HTTP
    HttpWaiting,
    HttpResponse {
        status: u16,
        location: Option<String>,
        /// The request's or the response's head was cut (the cause: the capture, or a
        /// bound of probewatch's): headers after the cut (a Host, a Location) not seen.
        head_cut: Option<GapCause>,
    },
    HttpTimedOut(f64),
    /// More than [`crate::parse::http::MAX_PENDING_REQUESTS`] requests waited for their
    /// responses on the connection: the oldest is reported without one (its response, if
    /// it comes, is not told from the next request's).
    HttpUnpaired,
    // DNS
    DnsMulticast,
    DnsWaiting,
    /// The answer (in the probe's [`DnsDetails`]); `query_captured` is false for an
    /// answer whose query is not in the capture.
    DnsAnswered {
        query_captured: bool,
    },
}

/// What became of a connection whose handshake completed without application data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoData {
    /// `by` ended it first: with an alert (encrypted), a close, or both.
    Ended {
        by: Side,
        alert: bool,
        close: Option<CloseHow>,
    },
    CaptureEnded,
    WentIdle,
    TrackingDropped,
    /// Still open when the probe was reported (live capture stopped).
    Open,
}

/// How the client's alert was seen when it walked away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkAlert {
    /// An alert record (encrypted, TLS 1.2).
    Record,
    /// TLS 1.3: an encrypted record too short to be a Finished, which only an alert fits.
    BySize,
}

/// What the client did when it walked away after the server's flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalkAway {
    pub alert: Option<WalkAlert>,
    pub close: Option<CloseHow>,
    /// The certificate was in the clear (else the flight was encrypted).
    pub cert_seen: bool,
    /// It ended after completing the handshake (a name checked after the handshake).
    pub after_handshake: bool,
}

/// How a QUIC attempt ended, from its [`QuicDetails`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuicOutcome {
    /// The client closed before any server answer.
    ClientGaveUp,
    Closed {
        retry: bool,
    },
    VersionNegotiation,
    Completed {
        retry: bool,
    },
    Answered {
        retry: bool,
        initial: bool,
        handshake: bool,
    },
    RetryOnly,
    NoAnswer,
}

impl QuicOutcome {
    pub fn of(q: &QuicDetails) -> QuicOutcome {
        let retry = q.retry;
        if let Some(c) = &q.close {
            let answered = q.server_initial || q.server_handshake || q.retry;
            if c.by == Side::Client && !answered && q.version_negotiation.is_none() {
                return QuicOutcome::ClientGaveUp;
            }
            return QuicOutcome::Closed { retry };
        }
        if q.version_negotiation.is_some() {
            return QuicOutcome::VersionNegotiation;
        }
        if q.handshake_completed {
            return QuicOutcome::Completed { retry };
        }
        match (q.server_initial, q.server_handshake) {
            (false, false) if q.retry => QuicOutcome::RetryOnly,
            (false, false) => QuicOutcome::NoAnswer,
            (initial, handshake) => QuicOutcome::Answered {
                retry,
                initial,
                handshake,
            },
        }
    }
}

impl Outcome {
    /// The connection did what the client wanted: handshake completed and data exchanged,
    /// or (a handshake-only client) the handshake completed.
    pub fn completed(&self) -> bool {
        match self {
            Outcome::DataExchanged | Outcome::HandshakeOnly { .. } => true,
            Outcome::Quic(q) => match q {
                QuicOutcome::Completed { .. } => true,
                QuicOutcome::ClientGaveUp
                | QuicOutcome::Closed { .. }
                | QuicOutcome::VersionNegotiation
                | QuicOutcome::Answered { .. }
                | QuicOutcome::RetryOnly
                | QuicOutcome::NoAnswer => false,
            },
            Outcome::ClientRejected(_)
            | Outcome::FatalAlert { .. }
            | Outcome::LikelyRejected(_)
            | Outcome::ClosedEarly { .. }
            | Outcome::IncompleteAtEnd
            | Outcome::WentIdle
            | Outcome::TrackingDropped
            | Outcome::ConnectionClosed
            | Outcome::HandshakeTimedOut(_)
            | Outcome::HelloOverBound
            | Outcome::HelloDropped { .. }
            | Outcome::HelloIncomplete { .. }
            | Outcome::UnreadableAfterGap { .. }
            | Outcome::Refused
            | Outcome::SynUnanswered
            | Outcome::SynAnsweredByAck { .. }
            | Outcome::NoTlsHandshake
            | Outcome::StartTlsRefused
            | Outcome::HttpWaiting
            | Outcome::HttpResponse { .. }
            | Outcome::HttpTimedOut(_)
            | Outcome::HttpUnpaired
            | Outcome::DnsMulticast
            | Outcome::DnsWaiting
            | Outcome::DnsAnswered { .. } => false,
        }
    }
}
