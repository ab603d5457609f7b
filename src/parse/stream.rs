//! The stream-analyzer interface: what every TCP-stream protocol reader in this stage
//! implements, and the context it is handed.
//!
//! A flow starts with no analyzer; [`super::detect`] picks one from the first bytes (of
//! either direction). An analyzer is fed each direction's in-order bytes and says what
//! comes next: more of the same, a switch to TLS (STARTTLS, a tunnel), a fresh detection
//! of what follows (a tunnel whose inner protocol is not known yet), or nothing more.

use std::net::SocketAddr;

use crate::capture::Timestamp;
use crate::reassemble::{Dir, FlowId, GapCause};

use super::{ParseLimits, ParseStats, Parsed};

/// What an analyzer is handed with every call: the flow, the time, the bounds, the
/// counters and where facts go.
pub struct Cx<'a> {
    pub flow: FlowId,
    pub ts: Timestamp,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub limits: &'a ParseLimits,
    pub stats: &'a mut ParseStats,
    pub out: &'a mut Vec<Parsed>,
    /// Directions the analyzer asks the reassembler to stop delivering right away.
    pub stop: [bool; 2],
    /// The key log, when one was given (`--keylog`, a pcapng Decryption Secrets Block).
    pub keylog: Option<&'a super::keylog::KeyLog>,
    /// Certificates already parsed, by their SHA-256.
    pub certs: &'a mut super::cert::CertCache,
}

impl Cx<'_> {
    pub fn emit(&mut self, p: Parsed) {
        self.out.push(p);
    }

    /// Reports lost bytes of `dir`.
    pub fn gap(&mut self, dir: Dir, cause: GapCause) {
        let (flow, ts) = (self.flow, self.ts);
        self.out.push(Parsed::Gap {
            flow,
            dir,
            ts,
            cause,
        });
    }

    /// Asks for no more bytes of `dir`.
    pub fn stop(&mut self, dir: Dir) {
        if let Some(s) = self.stop.get_mut(idx(dir)) {
            *s = true;
        }
    }
}

/// Bytes already read past the point where one analyzer hands over to the next, per
/// direction [client, server].
pub type Pending = [Vec<u8>; 2];

/// What an analyzer says after a call.
#[derive(Debug)]
pub enum Next {
    /// Keep feeding this analyzer.
    More,
    /// TLS follows (reported as [`Parsed::StartTls`] with `protocol`). `resync[d]`: the
    /// first TLS record of that direction is still to be found (it may follow plaintext).
    UpgradeToTls {
        protocol: &'static str,
        resync: [bool; 2],
        pending: Pending,
    },
    /// Detect afresh what the stream carries, starting with `pending`: what follows a
    /// tunnel's set-up (`tunnel`: SOCKS, HTTP CONNECT), or a protocol recognised later
    /// in a stream that started unrecognised (`tunnel`: None).
    Detect {
        tunnel: Option<&'static str>,
        pending: Pending,
    },
    /// Nothing more to read in this flow.
    Done,
}

/// A reader of one TCP stream's application protocol.
pub trait StreamAnalyzer {
    /// In-order bytes of one direction.
    fn feed(&mut self, cx: &mut Cx<'_>, dir: Dir, data: &[u8]) -> Next;

    /// Bytes of `dir` were lost (not captured, cut by the snaplen, or over a bound).
    fn gap(&mut self, cx: &mut Cx<'_>, dir: Dir, cause: GapCause) -> Next;

    /// The analyzer needs no more bytes of `dir` (checked after every feed).
    fn wants_stop(&self, _dir: Dir) -> bool {
        false
    }

    /// TLS application-data records seen per direction [client, server].
    fn app_records(&self) -> [u64; 2] {
        [0, 0]
    }

    /// The handshake message `dir` ended in, not whole (TLS only).
    fn unfinished(&self, _dir: Dir) -> Option<super::tls::Unfinished> {
        None
    }

    /// Bytes of `dir` held for a message not yet whole (counted against the budget for
    /// bytes buffered across flows; a [`GapCause::MemoryBudget`] gap drops them).
    fn held(&self, _dir: Dir) -> usize {
        0
    }
}

pub fn idx(d: Dir) -> usize {
    match d {
        Dir::Up => 0,
        Dir::Down => 1,
    }
}
