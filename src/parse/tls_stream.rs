//! The TLS stream analyzer: one [`TlsReader`] per direction, and the search for the
//! first record of a direction that started in plaintext (after STARTTLS or a tunnel).

use crate::reassemble::{Dir, GapCause};

use super::stream::{idx, Cx, Next, StreamAnalyzer};
use super::tls::{self, TlsItem, TlsReader};
use super::Parsed;

/// A TLS record header for a ClientHello (client) or ServerHello (server).
fn hello_type(dir: Dir) -> u8 {
    if dir == Dir::Up {
        1
    } else {
        2
    }
}

/// Looks like the start of a TLS stream from `dir`: a handshake record, or (from the
/// client) an SSLv2-format ClientHello.
pub fn detect(dir: Dir, data: &[u8]) -> bool {
    match dir {
        Dir::Up => {
            (data.first() == Some(&0x16) && data.get(1) == Some(&0x03)) || tls::is_sslv2_hello(data)
        }
        Dir::Down => tls::looks_like_hello(data, 0, 2),
    }
}

#[derive(Default)]
pub struct TlsStream {
    readers: [TlsReader; 2],
    /// Waiting for the first TLS record of this direction after plaintext.
    resync: [bool; 2],
    /// Plaintext held while waiting (bounded by `max_plaintext`).
    held: [Vec<u8>; 2],
}

impl TlsStream {
    pub fn new(resync: [bool; 2]) -> Self {
        TlsStream {
            resync,
            ..TlsStream::default()
        }
    }
}

impl StreamAnalyzer for TlsStream {
    fn feed(&mut self, cx: &mut Cx<'_>, dir: Dir, data: &[u8]) -> Next {
        let i = idx(dir);
        let resynced: Vec<u8>;
        let mut data = data;
        if self.resync.get(i).copied().unwrap_or(false) {
            let Some(h) = self.held.get_mut(i) else {
                return Next::More;
            };
            h.extend_from_slice(data);
            let want = hello_type(dir);
            match (0..h.len()).find(|&p| tls::looks_like_hello(h, p, want)) {
                Some(p) => {
                    resynced = h.split_off(p);
                    h.clear();
                    data = &resynced;
                    if let Some(r) = self.resync.get_mut(i) {
                        *r = false;
                    }
                }
                None => {
                    if h.len() > cx.limits.max_plaintext {
                        h.clear();
                        return Next::Done;
                    }
                    return Next::More;
                }
            }
        }
        let Some(reader) = self.readers.get_mut(i) else {
            return Next::More;
        };
        let mut items = Vec::new();
        reader.feed(data, &mut items);
        cx.stats.tls_malformed += reader.take_malformed();
        if reader.take_too_large() || reader.held() > cx.limits.max_tls_buffer {
            cx.stats.buffer_limit_hits += 1;
            reader.lose_sync();
            cx.gap(dir, GapCause::BufferLimit);
        }
        for item in items {
            if matches!(item, TlsItem::NotTls) {
                cx.stats.not_tls_after_start += 1;
            }
            let (flow, ts) = (cx.flow, cx.ts);
            cx.emit(Parsed::Tls {
                flow,
                ts,
                dir,
                item,
            });
        }
        Next::More
    }

    fn gap(&mut self, cx: &mut Cx<'_>, dir: Dir, cause: GapCause) -> Next {
        if let Some(r) = self.readers.get_mut(idx(dir)) {
            if !r.failed() {
                r.lose_sync();
                cx.gap(dir, cause);
            }
        }
        Next::More
    }

    fn wants_stop(&self, dir: Dir) -> bool {
        self.readers
            .get(idx(dir))
            .is_some_and(|r| r.failed() || r.app_records >= 4)
    }

    fn app_records(&self) -> [u64; 2] {
        let [a, b] = &self.readers;
        [a.app_records, b.app_records]
    }
}
