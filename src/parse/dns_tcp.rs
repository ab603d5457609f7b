//! DNS over TCP (RFC 1035 §4.2.2, RFC 7766): messages behind a 2-byte length.

use crate::reassemble::{Dir, GapCause};

use super::reader::Reader;
use super::stream::{idx, Cx, Next, StreamAnalyzer};
use super::{dns, Parsed};

/// DNS over TCP is told by the port (53) at either end.
pub fn detect(cx: &Cx<'_>) -> bool {
    cx.server.port() == 53 || cx.client.port() == 53
}

/// The DNS-over-TCP analyzer: each direction's bytes held until a whole message is in.
#[derive(Default)]
pub struct DnsTcp {
    /// Bytes held per direction (bounded by `max_plaintext` + the 2-byte prefix).
    held: [Vec<u8>; 2],
}

impl StreamAnalyzer for DnsTcp {
    fn feed(&mut self, cx: &mut Cx<'_>, dir: Dir, data: &[u8]) -> Next {
        let (client, server, ts) = (cx.client, cx.server, cx.ts);
        let Some(h) = self.held.get_mut(idx(dir)) else {
            return Next::More;
        };
        h.extend_from_slice(data);
        let mut consumed = 0usize;
        let mut r = Reader::new(h);
        // Whole messages only: a length prefix or a message not all in yet waits.
        while let Some(msg) = r.u16().ok().and_then(|len| r.take(usize::from(len)).ok()) {
            match dns::parse(msg) {
                Some(m) => {
                    cx.stats.dns_messages += 1;
                    cx.emit(Parsed::Dns {
                        ts,
                        client,
                        server,
                        msg: m,
                        client_mac: None,
                    });
                }
                None => cx.stats.dns_unreadable += 1,
            }
            consumed = h.len() - r.remaining();
        }
        h.drain(..consumed.min(h.len()));
        if h.len() > cx.limits.max_plaintext + 2 {
            h.clear();
            cx.stats.dns_tcp_over_limit += 1;
            return Next::Done;
        }
        Next::More
    }

    fn gap(&mut self, cx: &mut Cx<'_>, dir: Dir, _cause: GapCause) -> Next {
        if let Some(h) = self.held.get_mut(idx(dir)) {
            // Freed, not only emptied: a gap at the memory budget must give the bytes back.
            *h = Vec::new();
        }
        cx.stop(dir);
        Next::More
    }

    fn held(&self, dir: Dir) -> usize {
        self.held.get(idx(dir)).map_or(0, Vec::capacity)
    }
}
