//! The TLS stream analyzer: one [`TlsReader`] per direction, and the search for the
//! first record of a direction that started in plaintext (after STARTTLS or a tunnel).

use crate::reassemble::{Dir, GapCause};

use super::keylog::KeyLog;
use super::stream::{idx, Cx, Next, StreamAnalyzer};
use super::tls::{self, TlsItem, TlsReader};
use super::tls13::{self, Decrypted, HandshakeDecryptor, RecordContent, Suite, Tls13Error};
use super::Parsed;

/// Protected records of one direction held for the key log: while the secret is not
/// there yet (a live capture: the client writes it while it connects), and the records
/// a client sends before its handshake records (0-RTT data under other keys).
pub const MAX_PENDING_RECORDS: usize = 32;

/// Client records under other keys (0-RTT early data) skipped before giving up on the
/// client's encrypted handshake.
const MAX_CLIENT_SKIPS: u32 = 16;

/// The key log's work on one direction.
#[derive(Default)]
enum Decrypt {
    /// Not TLS 1.3, no key log, or not started.
    #[default]
    Off,
    /// TLS 1.3 chosen: records are kept until the secret is found.
    Waiting {
        pending: Vec<Vec<u8>>,
        /// "no key" already said.
        told: bool,
    },
    Active {
        dec: Box<HandshakeDecryptor>,
        cert: bool,
        skips: u32,
    },
    /// Finished, a wrong key, or given up.
    Done,
}

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
    readers: Readers,
    /// Waiting for the first TLS record of this direction after plaintext.
    resync: [bool; 2],
    /// Plaintext held while waiting (bounded by `max_plaintext`); boxed when first needed
    /// (after STARTTLS or a tunnel only).
    held: Option<Box<[Vec<u8>; 2]>>,
    client_random: Option<Box<[u8; 32]>>,
    suite: Option<Suite>,
    /// Made when the server chose TLS 1.3 with a key log given.
    decrypt: Option<Box<[Decrypt; 2]>>,
    /// A key log is given: the readers keep protected records from the start (the
    /// server's encrypted flight often shares a segment with its ServerHello).
    armed: bool,
    /// What of the client's ClientHello came before a gap lost it (boxed: made then).
    hello_cut: Option<Box<super::tls::Unfinished>>,
}

/// The two directions' record readers. The server's is made at its first byte or gap:
/// until then it reads as a fresh reader (nothing held, nothing failed). A flood of
/// connections whose server never answers (or whose hellos stall) costs one reader each,
/// not two (88 bytes a connection). With a key log both are made at the first byte, so
/// that both get the same settings from the start.
#[derive(Default)]
struct Readers {
    up: TlsReader,
    down: Option<Box<TlsReader>>,
}

impl Readers {
    /// The reader of `dir`; `None`: the server's, not made yet (a fresh reader).
    fn get(&self, dir: Dir) -> Option<&TlsReader> {
        match dir {
            Dir::Up => Some(&self.up),
            Dir::Down => self.down.as_deref(),
        }
    }

    /// The reader of `dir`, made if needed.
    fn get_mut(&mut self, dir: Dir) -> &mut TlsReader {
        match dir {
            Dir::Up => &mut self.up,
            Dir::Down => self.down.get_or_insert_with(Box::default),
        }
    }

    /// Both readers (made if needed).
    fn both(&mut self) -> [&mut TlsReader; 2] {
        let Readers { up, down } = self;
        [up, down.get_or_insert_with(Box::default)]
    }
}

impl TlsStream {
    pub fn new(resync: [bool; 2]) -> Self {
        TlsStream {
            resync,
            ..TlsStream::default()
        }
    }
}

impl TlsStream {
    /// Notes the client random and the suite; once the server chose TLS 1.3, both
    /// directions keep their protected records for the key log.
    fn watch(&mut self, cx: &mut Cx<'_>, dir: Dir, items: &[TlsItem]) {
        for item in items {
            match (dir, item) {
                (Dir::Up, TlsItem::ClientHello(h)) if self.client_random.is_none() => {
                    self.client_random = h.random.map(Box::new);
                }
                (Dir::Down, TlsItem::ServerHello(sh)) if !sh.hrr && self.suite.is_none() => {
                    let suite = if sh.version == 0x0304 {
                        let s = Suite::from_id(sh.cipher);
                        if s.is_none() {
                            cx.stats.tls_decrypt.unsupported_suite += 1;
                            emit(cx, Dir::Down, Decrypted::UnsupportedSuite(sh.cipher));
                        }
                        s
                    } else {
                        None // TLS 1.2 and older: the certificate is in the clear
                    };
                    match suite {
                        Some(s) => {
                            self.suite = Some(s);
                            let decs = self.decrypt.get_or_insert_with(Box::default);
                            for d in decs.iter_mut() {
                                *d = Decrypt::Waiting {
                                    pending: Vec::new(),
                                    told: false,
                                };
                            }
                        }
                        None => {
                            for r in self.readers.both() {
                                r.keep_protected(0);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Moves the kept records of both directions into their decryption, and decrypts
    /// what can be.
    fn decrypt_pending(&mut self, cx: &mut Cx<'_>, log: &KeyLog) {
        let Some(suite) = self.suite else { return };
        let Some(decs) = self.decrypt.as_mut() else {
            return;
        };
        for dir in [Dir::Down, Dir::Up] {
            let Some(d) = decs.get_mut(idx(dir)) else {
                continue;
            };
            let r = self.readers.get_mut(dir);
            let new = r.take_protected();
            cx.stats.tls_decrypt.over_limit += r.take_protected_over_limit();
            step(cx, dir, d, suite, self.client_random.as_deref(), log, new);
            if matches!(d, Decrypt::Done) {
                r.keep_protected(0);
            }
        }
    }
}

fn emit(cx: &mut Cx<'_>, dir: Dir, d: Decrypted) {
    let (flow, ts) = (cx.flow, cx.ts);
    cx.emit(Parsed::Tls {
        flow,
        ts,
        dir,
        item: TlsItem::Decrypted(d),
    });
}

/// One direction's decryption: find the secret, then open the records in order.
fn step(
    cx: &mut Cx<'_>,
    dir: Dir,
    d: &mut Decrypt,
    suite: Suite,
    random: Option<&[u8; 32]>,
    log: &KeyLog,
    new: Vec<Vec<u8>>,
) {
    if let Decrypt::Waiting { pending, told } = d {
        pending.extend(new);
        let secrets = random.and_then(|r| log.get(r));
        let secret = secrets.and_then(|s| match dir {
            Dir::Down => s.server_handshake,
            Dir::Up => s.client_handshake,
        });
        let Some(secret) = secret else {
            if dir == Dir::Down && !*told && !pending.is_empty() {
                *told = true;
                cx.stats.tls_decrypt.no_key += 1;
                emit(cx, dir, Decrypted::NoKey);
            }
            if pending.len() > MAX_PENDING_RECORDS {
                // The line did not come in time (or never will): the records are
                // dropped, and the direction is no longer held open for them.
                cx.stats.tls_decrypt.over_limit += 1;
                *d = Decrypt::Done;
            }
            return;
        };
        let records = std::mem::take(pending);
        *d = match HandshakeDecryptor::new(suite, &secret) {
            Ok(dec) => Decrypt::Active {
                dec: Box::new(dec),
                cert: false,
                skips: 0,
            },
            Err(_) => {
                // A secret of the wrong length for the suite: not this connection's key.
                cx.stats.tls_decrypt.auth_failures += 1;
                if dir == Dir::Down {
                    emit(cx, dir, Decrypted::WrongKey);
                }
                Decrypt::Done
            }
        };
        open_records(cx, dir, d, records);
        return;
    }
    open_records(cx, dir, d, new);
}

fn open_records(cx: &mut Cx<'_>, dir: Dir, d: &mut Decrypt, records: Vec<Vec<u8>>) {
    for rec in records {
        let Decrypt::Active { dec, cert, skips } = d else {
            return;
        };
        let mut msgs = Vec::new();
        match dec.record(&rec, &mut msgs) {
            Ok(RecordContent::AfterFinished) => {
                *d = Decrypt::Done;
                return;
            }
            Ok(_) => cx.stats.tls_decrypt.decrypted += 1,
            Err(Tls13Error::Authentication) if dir == Dir::Up && *skips < MAX_CLIENT_SKIPS => {
                // The client's 0-RTT data (early keys) comes before its handshake
                // records: skipped, the sequence number stays.
                *skips += 1;
                continue;
            }
            Err(e) => {
                if e == Tls13Error::Authentication {
                    cx.stats.tls_decrypt.auth_failures += 1;
                    if dir == Dir::Down && dec.records == 0 {
                        emit(cx, dir, Decrypted::WrongKey);
                    }
                } else {
                    cx.stats.tls_malformed += 1;
                }
                *d = Decrypt::Done;
                return;
            }
        }
        for m in &msgs {
            match m.first() {
                Some(11) => match tls13::certificate(m) {
                    Some(chain) => {
                        *cert = true;
                        cx.stats.tls_decrypt.certificates += 1;
                        emit(cx, dir, Decrypted::Certificate(Box::new(chain)));
                    }
                    None => cx.stats.tls_malformed += 1,
                },
                Some(13) if dir == Dir::Down => emit(cx, dir, Decrypted::CertificateRequested),
                Some(&tls13::HS_FINISHED) if dir == Dir::Down && !*cert => {
                    emit(cx, dir, Decrypted::NoCertificate);
                }
                _ => {}
            }
        }
        if dec.finished() {
            *d = Decrypt::Done;
            return;
        }
    }
}

impl StreamAnalyzer for TlsStream {
    fn feed(&mut self, cx: &mut Cx<'_>, dir: Dir, data: &[u8]) -> Next {
        let i = idx(dir);
        let resynced: Vec<u8>;
        let mut data = data;
        if self.resync.get(i).copied().unwrap_or(false) {
            let Some(h) = self.held.get_or_insert_with(Box::default).get_mut(i) else {
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
        if cx.keylog.is_some() && !self.armed {
            self.armed = true;
            for r in self.readers.both() {
                r.keep_protected(cx.limits.max_tls_buffer);
            }
        }
        let reader = self.readers.get_mut(dir);
        let mut items = Vec::new();
        reader.feed(data, &mut items, cx.certs);
        cx.stats.tls_malformed += reader.take_malformed();
        if reader.take_too_large() || reader.held() > cx.limits.max_tls_buffer {
            cx.stats.buffer_limit_hits += 1;
            reader.lose_sync();
            cx.gap(dir, GapCause::BufferLimit);
        }
        if cx.keylog.is_some() {
            self.watch(cx, dir, &items);
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
        if let Some(log) = cx.keylog {
            self.decrypt_pending(cx, log);
        }
        Next::More
    }

    fn gap(&mut self, cx: &mut Cx<'_>, dir: Dir, cause: GapCause) -> Next {
        if let Some(h) = self.held.as_mut().and_then(|h| h.get_mut(idx(dir))) {
            *h = Vec::new();
        }
        {
            let r = self.readers.get_mut(dir);
            if !r.failed() {
                // What of a ClientHello came before the gap (its SNI above all) is kept:
                // the bytes go, the name need not.
                if dir == Dir::Up && self.hello_cut.is_none() {
                    self.hello_cut = r
                        .unfinished()
                        .filter(|u| u.msg_type == Some(1))
                        .map(Box::new);
                }
                r.lose_sync();
                cx.gap(dir, cause);
            }
        }
        Next::More
    }

    fn wants_stop(&self, dir: Dir) -> bool {
        let decrypting = self
            .decrypt
            .as_ref()
            .and_then(|d| d.get(idx(dir)))
            .is_some_and(|d| matches!(d, Decrypt::Waiting { .. } | Decrypt::Active { .. }));
        self.readers
            .get(dir)
            .is_some_and(|r| r.failed() || (r.app_records >= 4 && !decrypting))
    }

    fn app_records(&self) -> [u64; 2] {
        let r = |d| self.readers.get(d).map_or(0, |r: &TlsReader| r.app_records);
        [r(Dir::Up), r(Dir::Down)]
    }

    fn unfinished(&self, dir: Dir) -> Option<super::tls::Unfinished> {
        self.readers
            .get(dir)
            .and_then(TlsReader::unfinished)
            .or_else(|| match dir {
                Dir::Up => self.hello_cut.as_deref().cloned(),
                Dir::Down => None,
            })
    }

    fn held(&self, dir: Dir) -> usize {
        let i = idx(dir);
        self.readers.get(dir).map_or(0, TlsReader::held)
            + self
                .held
                .as_ref()
                .and_then(|h| h.get(i))
                .map_or(0, Vec::capacity)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_servers_reader_is_made_at_its_first_use() {
        // A connection whose server never answers holds one reader, not two.
        let mut r = Readers::default();
        assert!(r.get(Dir::Down).is_none());
        assert!(r.down.is_none());
        r.get_mut(Dir::Up).lose_sync();
        assert!(r.down.is_none(), "the client's side makes no server reader");
        // Read before it is made, it is a fresh reader's figures.
        let s = TlsStream::default();
        assert!(!s.wants_stop(Dir::Down));
        assert_eq!(s.app_records(), [0, 0]);
        assert_eq!(s.held(Dir::Down), 0);
        assert!(s.unfinished(Dir::Down).is_none());
        let _ = r.get_mut(Dir::Down);
        assert!(r.down.is_some());
        let mut r = Readers::default();
        let _ = r.both();
        assert!(r.down.is_some(), "a key log's arming makes both");
    }

    /// Feeds `hello` from the client, then a gap on its side; the stream and what it said.
    fn client_only(keylog: Option<&KeyLog>) -> (TlsStream, Vec<Parsed>) {
        let limits = super::super::ParseLimits::default();
        let mut stats = super::super::ParseStats::default();
        let mut certs = super::super::cert::CertCache::default();
        let mut out = Vec::new();
        let mut s = TlsStream::new([false, false]);
        let mut cx = Cx {
            flow: 1,
            ts: crate::capture::Timestamp::default(),
            client: "198.51.100.1:40000".parse().unwrap(),
            server: "192.0.2.1:443".parse().unwrap(),
            limits: &limits,
            stats: &mut stats,
            out: &mut out,
            stop: [false, false],
            keylog,
            certs: &mut certs,
        };
        let hello = super::super::tests::client_hello("lazy.example");
        s.feed(&mut cx, Dir::Up, &hello);
        s.gap(&mut cx, Dir::Up, GapCause::NotCaptured);
        (s, out)
    }

    #[test]
    fn a_client_whose_server_never_answers_makes_no_server_reader() {
        let (s, out) = client_only(None);
        assert!(out.iter().any(|p| matches!(
            p,
            Parsed::Tls {
                item: TlsItem::ClientHello(h),
                ..
            } if h.sni.as_deref() == Some("lazy.example")
        )));
        assert!(out.iter().any(|p| matches!(p, Parsed::Gap { .. })));
        assert!(s.readers.down.is_none());
        // With a key log, both readers keep protected records from the first byte.
        let log = KeyLog::default();
        let (s, _) = client_only(Some(&log));
        assert!(s.readers.down.is_some());
    }
}
