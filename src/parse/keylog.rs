//! The NSS key log format (`SSLKEYLOGFILE`): TLS 1.3 secrets indexed by client random.
//!
//! Each line is `LABEL <client random, 64 hex digits> <secret, hex>`; `#` starts a
//! comment. Browsers, curl, OpenSSL's `-keylogfile`, aioquic's `secrets_log_file` and
//! Wireshark's Decryption Secrets Block all write it. probewatch keeps the TLS 1.3
//! labels (handshake, first application, early and exporter secrets); a TLS 1.2
//! `CLIENT_RANDOM` line is counted, not kept (probewatch sees TLS 1.2 certificates in
//! the clear).
//!
//! The index is a `HashMap` keyed by client random, so a key log of a million lines is
//! looked up, never scanned, per connection. It is bounded ([`KeyLogLimits`]): past the
//! bound the oldest client random is forgotten and counted. A line that does not parse
//! is counted and skipped; a key log is never fatal.
//!
//! [`KeyLogFile`] re-reads a growing file from where it stopped (a client writes it while
//! it connects): the offset is remembered and a last line without its newline is kept
//! until the rest arrives.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

/// A client random, the key of the index.
pub type ClientRandom = [u8; 32];

/// Longest secret kept (SHA-384 suites have 48-byte secrets).
pub const MAX_SECRET: usize = 48;

/// Longest key log line read; a longer one is counted as unreadable and skipped.
pub const MAX_LINE: usize = 1024;

/// A secret from the key log (32 or 48 bytes: the hash length of the cipher suite).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Secret {
    len: u8,
    bytes: [u8; MAX_SECRET],
}

impl Secret {
    /// A secret of 1 to [`MAX_SECRET`] bytes.
    pub fn new(d: &[u8]) -> Option<Secret> {
        if d.is_empty() || d.len() > MAX_SECRET {
            return None;
        }
        let mut bytes = [0u8; MAX_SECRET];
        bytes.get_mut(..d.len())?.copy_from_slice(d);
        Some(Secret {
            len: u8::try_from(d.len()).ok()?,
            bytes,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl std::fmt::Debug for Secret {
    // Secrets are not printed, even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.len)
    }
}

/// The TLS 1.3 labels of the NSS key log format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    ClientHandshake,
    ServerHandshake,
    ClientTraffic0,
    ServerTraffic0,
    ClientEarly,
    Exporter,
    EarlyExporter,
}

impl Label {
    fn parse(s: &[u8]) -> Option<Label> {
        Some(match s {
            b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Label::ClientHandshake,
            b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => Label::ServerHandshake,
            b"CLIENT_TRAFFIC_SECRET_0" => Label::ClientTraffic0,
            b"SERVER_TRAFFIC_SECRET_0" => Label::ServerTraffic0,
            b"CLIENT_EARLY_TRAFFIC_SECRET" => Label::ClientEarly,
            b"EXPORTER_SECRET" => Label::Exporter,
            b"EARLY_EXPORTER_SECRET" => Label::EarlyExporter,
            _ => return None,
        })
    }
}

/// The secrets known for one client random.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Secrets {
    pub client_handshake: Option<Secret>,
    pub server_handshake: Option<Secret>,
    pub client_traffic0: Option<Secret>,
    pub server_traffic0: Option<Secret>,
    pub client_early: Option<Secret>,
    pub exporter: Option<Secret>,
    pub early_exporter: Option<Secret>,
}

impl Secrets {
    fn slot(&mut self, l: Label) -> &mut Option<Secret> {
        match l {
            Label::ClientHandshake => &mut self.client_handshake,
            Label::ServerHandshake => &mut self.server_handshake,
            Label::ClientTraffic0 => &mut self.client_traffic0,
            Label::ServerTraffic0 => &mut self.server_traffic0,
            Label::ClientEarly => &mut self.client_early,
            Label::Exporter => &mut self.exporter,
            Label::EarlyExporter => &mut self.early_exporter,
        }
    }
}

/// Bounds of the key log index.
#[derive(Clone, Copy, Debug)]
pub struct KeyLogLimits {
    /// Client randoms kept; past it the oldest is forgotten (`keylog.evictions`).
    pub max_randoms: usize,
}

/// Default for [`KeyLogLimits::max_randoms`]: about 64 MiB of secrets.
pub const MAX_KEYLOG_RANDOMS: usize = 262_144;

impl Default for KeyLogLimits {
    fn default() -> Self {
        KeyLogLimits {
            max_randoms: MAX_KEYLOG_RANDOMS,
        }
    }
}

/// Counters, shown in the stats.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyLogStats {
    /// Lines read (comments and blank lines included).
    pub lines: u64,
    /// TLS 1.3 secrets stored.
    pub secrets: u64,
    /// TLS 1.2 `CLIENT_RANDOM` lines (not kept).
    pub tls12_lines: u64,
    /// Lines with a label probewatch does not know (kept out, not an error).
    pub unknown_labels: u64,
    /// Lines that do not parse (bad hex, wrong client random length, over [`MAX_LINE`]).
    pub unreadable: u64,
    /// Client randoms forgotten because the index was full.
    pub evictions: u64,
    /// A key log file became shorter than what was read (replaced): read again from
    /// its start.
    pub truncations: u64,
    /// Key logs read from a pipe that went on past [`MAX_KEYLOG_STREAM_BYTES`]: the rest
    /// was not read.
    pub stream_cut: u64,
}

/// The index of secrets by client random.
#[derive(Debug)]
pub struct KeyLog {
    limits: KeyLogLimits,
    map: HashMap<ClientRandom, Secrets>,
    /// Client randoms in the order first seen, for eviction.
    order: VecDeque<ClientRandom>,
    pub stats: KeyLogStats,
}

impl Default for KeyLog {
    fn default() -> Self {
        KeyLog::new(KeyLogLimits::default())
    }
}

/// Why a line was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineError {
    /// Not `LABEL RANDOM SECRET`.
    Fields,
    /// The client random is not 32 bytes of hex.
    ClientRandom,
    /// The secret is not hex, or longer than [`MAX_SECRET`].
    Secret,
    /// Longer than [`MAX_LINE`].
    TooLong,
}

/// What one line is.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    Blank,
    Secret(Label, ClientRandom, Secret),
    Tls12,
    Unknown,
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex into the start of `out`; the number of bytes, or `None` for bad hex or
/// more bytes than `out` holds.
fn unhex(s: &[u8], out: &mut [u8]) -> Option<usize> {
    if s.len() % 2 != 0 || s.len() / 2 > out.len() {
        return None;
    }
    for (pair, o) in s.chunks_exact(2).zip(out.iter_mut()) {
        let hi = hex_digit(*pair.first()?)?;
        let lo = hex_digit(*pair.get(1)?)?;
        *o = (hi << 4) | lo;
    }
    Some(s.len() / 2)
}

fn parse_line(line: &[u8]) -> Result<Line, LineError> {
    if line.len() > MAX_LINE {
        return Err(LineError::TooLong);
    }
    let line = line.trim_ascii();
    if line.is_empty() || line.first() == Some(&b'#') {
        return Ok(Line::Blank);
    }
    let mut fields = line
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|f| !f.is_empty());
    let (Some(label), Some(random), Some(secret), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(LineError::Fields);
    };
    let mut cr = [0u8; 32];
    if unhex(random, &mut cr) != Some(32) {
        return Err(LineError::ClientRandom);
    }
    let mut sb = [0u8; MAX_SECRET];
    let n = unhex(secret, &mut sb)
        .filter(|n| *n > 0)
        .ok_or(LineError::Secret)?;
    if label == b"CLIENT_RANDOM" {
        return Ok(Line::Tls12);
    }
    let Some(label) = Label::parse(label) else {
        return Ok(Line::Unknown);
    };
    let secret = sb.get(..n).and_then(Secret::new).ok_or(LineError::Secret)?;
    Ok(Line::Secret(label, cr, secret))
}

impl KeyLog {
    pub fn new(limits: KeyLogLimits) -> Self {
        KeyLog {
            limits,
            map: HashMap::new(),
            order: VecDeque::new(),
            stats: KeyLogStats::default(),
        }
    }

    /// Client randoms held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The secrets for a client random.
    pub fn get(&self, client_random: &ClientRandom) -> Option<&Secrets> {
        self.map.get(client_random)
    }

    /// Stores one secret (a later line for the same label replaces the earlier one).
    pub fn insert(&mut self, label: Label, client_random: ClientRandom, secret: Secret) {
        if !self.map.contains_key(&client_random) {
            while self.map.len() >= self.limits.max_randoms.max(1) {
                let Some(old) = self.order.pop_front() else {
                    break;
                };
                if self.map.remove(&old).is_some() {
                    self.stats.evictions += 1;
                }
            }
            self.order.push_back(client_random);
        }
        *self.map.entry(client_random).or_default().slot(label) = Some(secret);
        self.stats.secrets += 1;
    }

    /// Reads one line (without its newline); problems are counted.
    pub fn line(&mut self, line: &[u8]) {
        self.stats.lines += 1;
        match parse_line(line) {
            Ok(Line::Blank) => {}
            Ok(Line::Tls12) => self.stats.tls12_lines += 1,
            Ok(Line::Unknown) => self.stats.unknown_labels += 1,
            Ok(Line::Secret(label, cr, secret)) => self.insert(label, cr, secret),
            Err(_) => self.stats.unreadable += 1,
        }
    }

    /// Reads a whole key log held in memory (a file read at once, or the payload of a
    /// pcapng Decryption Secrets Block); the last line needs no newline.
    pub fn read_all(&mut self, text: &[u8]) {
        let mut pending = Pending::default();
        pending.feed(self, text);
        pending.finish(self);
    }
}

/// The part of a key log after its last newline, kept until the line is complete (what
/// [`KeyLogFile`] reads a growing file with; public for the fuzz target).
#[derive(Debug, Default)]
pub struct Pending {
    partial: Vec<u8>,
    /// The partial line passed [`MAX_LINE`]: the rest of it is skipped.
    overlong: bool,
}

impl Pending {
    /// Bytes held for a line not complete yet (at most [`MAX_LINE`]).
    pub fn held(&self) -> usize {
        self.partial.len()
    }

    /// Reads the complete lines of `data`; the rest waits for the next call.
    pub fn feed(&mut self, log: &mut KeyLog, mut data: &[u8]) {
        while !data.is_empty() {
            let (chunk, rest, complete) = match data.iter().position(|b| *b == b'\n') {
                Some(i) => (
                    data.get(..i).unwrap_or(&[]),
                    data.get(i + 1..).unwrap_or(&[]),
                    true,
                ),
                None => (data, &[][..], false),
            };
            data = rest;
            if !self.overlong {
                if self.partial.len() + chunk.len() > MAX_LINE {
                    self.overlong = true;
                    self.partial.clear();
                } else {
                    self.partial.extend_from_slice(chunk);
                }
            }
            if complete {
                self.end_line(log);
            }
        }
    }

    fn end_line(&mut self, log: &mut KeyLog) {
        if self.overlong {
            log.stats.lines += 1;
            log.stats.unreadable += 1;
        } else {
            log.line(&self.partial);
        }
        self.partial.clear();
        self.overlong = false;
    }

    /// The end of the text: a last line without a newline is read as it is.
    pub fn finish(&mut self, log: &mut KeyLog) {
        if !self.partial.is_empty() || self.overlong {
            self.end_line(log);
        }
    }

    fn clear(&mut self) {
        self.partial.clear();
        self.overlong = false;
    }
}

/// Bytes read from a key log file per call of [`KeyLogFile::poll`] at most, so that a
/// huge file does not stall a live capture (the rest is read by the next calls).
pub const MAX_READ_PER_POLL: usize = 4 << 20;

/// A key log file read as it grows.
#[derive(Debug)]
pub struct KeyLogFile {
    path: PathBuf,
    /// Opened once (a live capture opens it before dropping privileges) and read again
    /// through the same handle.
    file: Option<File>,
    /// Not a regular file (a pipe, `<(…)`, /dev/stdin): read as its bytes come, to its
    /// end, at most [`MAX_KEYLOG_STREAM_BYTES`]; its size says nothing.
    stream: bool,
    /// A stream that went on past [`MAX_KEYLOG_STREAM_BYTES`] (counted once).
    cut: bool,
    offset: u64,
    pending: Pending,
}

/// The most read from a key log that is a pipe (a regular file's size bounds it).
pub const MAX_KEYLOG_STREAM_BYTES: u64 = 256 << 20;

impl KeyLogFile {
    pub fn new(path: impl AsRef<Path>) -> Self {
        KeyLogFile {
            path: path.as_ref().to_path_buf(),
            file: None,
            stream: false,
            cut: false,
            offset: 0,
            pending: Pending::default(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads what was added since the last call (at most [`MAX_READ_PER_POLL`] bytes);
    /// returns the number of bytes read. A file that became shorter was truncated: it is
    /// read again from its start. The file is opened on the first call and kept open, so
    /// a live capture can drop its privileges after it; a missing file is an error for
    /// the caller to report.
    pub fn poll(&mut self, log: &mut KeyLog) -> io::Result<usize> {
        if self.file.is_none() {
            let f = File::open(&self.path)?;
            self.stream = !f.metadata()?.is_file();
            self.file = Some(f);
        }
        let Some(f) = self.file.as_mut() else {
            return Ok(0);
        };
        if self.stream {
            if self.offset >= MAX_KEYLOG_STREAM_BYTES {
                // Said once, if the pipe has more to give.
                if !self.cut && f.read(&mut [0u8; 1])? > 0 {
                    self.cut = true;
                    log.stats.stream_cut += 1;
                }
                return Ok(0);
            }
            let mut buf = vec![0u8; 64 << 10];
            let n = f.read(&mut buf)?;
            self.offset += u64::try_from(n).unwrap_or(0);
            self.pending.feed(log, buf.get(..n).unwrap_or_default());
            return Ok(n);
        }
        let len = f.metadata()?.len();
        if len < self.offset {
            log.stats.truncations += 1;
            self.offset = 0;
            self.pending.clear();
        }
        if len == self.offset {
            return Ok(0);
        }
        f.seek(SeekFrom::Start(self.offset))?;
        let want = usize::try_from(len - self.offset)
            .unwrap_or(MAX_READ_PER_POLL)
            .min(MAX_READ_PER_POLL);
        let mut buf = Vec::with_capacity(want);
        let n = f
            .by_ref()
            .take(u64::try_from(want).unwrap_or(0))
            .read_to_end(&mut buf)?;
        self.offset += u64::try_from(n).unwrap_or(0);
        self.pending.feed(log, &buf);
        Ok(n)
    }

    /// Reads the whole file now (a capture file: nothing more will be written), the
    /// last line with or without its newline.
    pub fn read_to_end(&mut self, log: &mut KeyLog) -> io::Result<()> {
        while self.poll(log)? > 0 {}
        self.pending.finish(log);
        Ok(())
    }
}

/// The pcapng Decryption Secrets Block type of a TLS key log (`TLSK`, pcapng §4.7).
pub const DSB_TLS_KEY_LOG: u32 = 0x544c_534b;

impl KeyLog {
    /// Reads the secrets of one pcapng Decryption Secrets Block: `secrets_type` and its
    /// secrets data (the key log text, without the block's padding). Other secret types
    /// (WireGuard, ZigBee, …) are not TLS keys: `false`, nothing read. The capture stage
    /// calls this for every DSB it meets, before the packets that follow the block.
    pub fn read_dsb(&mut self, secrets_type: u32, data: &[u8]) -> bool {
        if secrets_type != DSB_TLS_KEY_LOG {
            return false;
        }
        self.read_all(data);
        true
    }
}

/// Reads a key log pipe to its end on a thread of its own, so that Ctrl-C (`stop`) ends
/// the wait for its writer (the open and the reads would be restarted after the signal).
/// A thread left waiting ends with the process (the command line exits then).
fn read_stream_until(
    mut f: KeyLogFile,
    mut log: KeyLog,
    stop: &AtomicBool,
) -> io::Result<(KeyLogFile, KeyLog)> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("keylog-pipe".into())
        .spawn(move || {
            let r = f.read_to_end(&mut log);
            let _ = tx.send(r.map(|()| (f, log)));
        })?;
    loop {
        match rx.recv_timeout(std::time::Duration::from_millis(100)) {
            Ok(r) => return r,
            Err(mpsc::RecvTimeoutError::Timeout) if stop.load(Ordering::Relaxed) => {
                return Err(io::ErrorKind::Interrupted.into())
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(io::Error::other("the thread reading it ended"))
            }
        }
    }
}

/// How often a live capture looks at its key log files for new lines.
pub const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

/// The key log and where it comes from: files given with `--keylog` (re-read as they
/// grow during a live capture) and Decryption Secrets Blocks.
#[derive(Debug, Default)]
pub struct KeySource {
    pub log: KeyLog,
    files: Vec<KeyLogFile>,
    /// A live capture: the files are re-read every [`POLL_INTERVAL`].
    live: bool,
    last_poll: Option<std::time::Instant>,
    /// Re-reads that failed (a file removed or unreadable for a while); counted, the
    /// next poll tries again.
    pub read_errors: u64,
}

impl KeySource {
    /// Reads every file now. A capture file (`live` false) reads them once to their end;
    /// a live capture reads what is there and keeps following them. A file that cannot
    /// be read is the caller's error to report (the path and the reason). A pipe read to
    /// its end waits for its writer: when `stop` is set (Ctrl-C) the wait ends with an
    /// error of kind [`io::ErrorKind::Interrupted`].
    pub fn open(
        paths: &[PathBuf],
        limits: KeyLogLimits,
        live: bool,
        stop: Option<&AtomicBool>,
    ) -> Result<KeySource, (PathBuf, io::Error)> {
        let mut ks = KeySource {
            log: KeyLog::new(limits),
            live,
            ..KeySource::default()
        };
        for p in paths {
            let stream = std::fs::metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir());
            // A live capture follows a key log as it grows, between packets: a pipe would
            // hold the capture up while it waits for bytes.
            if live && stream {
                return Err((p.clone(), io::ErrorKind::Unsupported.into()));
            }
            let f = KeyLogFile::new(p);
            let f = if live {
                let mut f = f;
                f.poll(&mut ks.log).map_err(|e| (p.clone(), e))?;
                f
            } else if let (true, Some(stop)) = (stream, stop) {
                let (f, log) = read_stream_until(f, std::mem::take(&mut ks.log), stop)
                    .map_err(|e| (p.clone(), e))?;
                ks.log = log;
                f
            } else {
                let mut f = f;
                f.read_to_end(&mut ks.log).map_err(|e| (p.clone(), e))?;
                f
            };
            ks.files.push(f);
        }
        Ok(ks)
    }

    /// A key log already read (from Decryption Secrets Blocks, say), no files.
    pub fn from_log(log: KeyLog) -> KeySource {
        KeySource {
            log,
            ..KeySource::default()
        }
    }

    /// A live capture: reads what the files gained, at most every [`POLL_INTERVAL`].
    pub fn refresh(&mut self) {
        if !self.live || self.files.is_empty() {
            return;
        }
        let now = std::time::Instant::now();
        if self
            .last_poll
            .is_some_and(|t| now.duration_since(t) < POLL_INTERVAL)
        {
            return;
        }
        self.last_poll = Some(now);
        for f in &mut self.files {
            if f.poll(&mut self.log).is_err() {
                self.read_errors += 1;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::io::Write;

    const CR: &str = "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7";
    const SHTS: &str = "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38";

    fn cr() -> ClientRandom {
        let mut c = [0u8; 32];
        unhex(CR.as_bytes(), &mut c).unwrap();
        c
    }

    #[test]
    fn tls13_labels_are_indexed_by_client_random() {
        let mut log = KeyLog::default();
        let text = format!(
            "# a comment\n\nSERVER_HANDSHAKE_TRAFFIC_SECRET {CR} {SHTS}\r\n\
             CLIENT_HANDSHAKE_TRAFFIC_SECRET {CR} {}\n\
             CLIENT_RANDOM {CR} {}\n\
             EXPORTER_SECRET {CR} {}",
            "aa".repeat(32),
            "bb".repeat(48),
            "cc".repeat(48)
        );
        log.read_all(text.as_bytes());
        let s = log.get(&cr()).unwrap();
        assert_eq!(hex(s.server_handshake.unwrap().as_bytes()), SHTS);
        assert_eq!(s.client_handshake.unwrap().as_bytes(), &[0xaa; 32]);
        assert_eq!(s.exporter.unwrap().as_bytes(), &[0xcc; 48]);
        assert_eq!(s.server_traffic0, None);
        assert_eq!(log.stats.lines, 6);
        assert_eq!(log.stats.secrets, 3);
        assert_eq!(log.stats.tls12_lines, 1);
        assert_eq!(log.stats.unreadable, 0);
    }

    fn hex(d: &[u8]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn bad_lines_are_counted_not_fatal() {
        let mut log = KeyLog::default();
        let long = "x".repeat(MAX_LINE + 10);
        let text = format!(
            "SERVER_HANDSHAKE_TRAFFIC_SECRET {CR}\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET abcd {SHTS}\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET {CR} zz{}\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET {CR} {}\n\
             {long}\n\
             SOME_FUTURE_LABEL {CR} {SHTS}\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET {CR} {SHTS} extra\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET {CR} {SHTS}\n",
            &SHTS[2..],
            "ab".repeat(MAX_SECRET + 1)
        );
        log.read_all(text.as_bytes());
        assert_eq!(log.stats.unreadable, 6);
        assert_eq!(log.stats.unknown_labels, 1);
        assert_eq!(log.stats.secrets, 1);
        assert!(log.get(&cr()).unwrap().server_handshake.is_some());
    }

    #[test]
    fn the_index_is_bounded_and_evictions_are_counted() {
        let mut log = KeyLog::new(KeyLogLimits { max_randoms: 3 });
        let s = Secret::new(&[1; 32]).unwrap();
        for i in 0..5u8 {
            log.insert(Label::ServerHandshake, [i; 32], s);
            log.insert(Label::ClientHandshake, [i; 32], s);
        }
        assert_eq!(log.len(), 3);
        assert_eq!(log.stats.evictions, 2);
        assert!(log.get(&[0; 32]).is_none() && log.get(&[1; 32]).is_none());
        assert!(log.get(&[4; 32]).is_some());
    }

    #[test]
    fn a_million_line_key_log_is_indexed() {
        let mut text = String::new();
        for i in 0..250_000u32 {
            let r = format!("{i:064x}");
            for l in [
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0",
                "SERVER_TRAFFIC_SECRET_0",
            ] {
                text.push_str(&format!("{l} {r} {SHTS}\n"));
            }
        }
        let mut log = KeyLog::default();
        log.read_all(text.as_bytes());
        assert_eq!(log.stats.lines, 1_000_000);
        assert_eq!(log.len(), 250_000);
        let mut want = [0u8; 32];
        want[28..].copy_from_slice(&123_456u32.to_be_bytes());
        assert!(log.get(&want).unwrap().server_handshake.is_some());
    }

    #[test]
    fn a_growing_file_is_read_from_where_it_stopped() {
        let dir = std::env::temp_dir().join(format!("pw-keylog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("grow.log");
        let line = format!("SERVER_HANDSHAKE_TRAFFIC_SECRET {CR} {SHTS}\n");
        let (first, second) = line.split_at(40);
        let mut f = File::create(&path).unwrap();
        let mut log = KeyLog::default();
        let mut kf = KeyLogFile::new(&path);
        assert_eq!(kf.poll(&mut log).unwrap(), 0);
        f.write_all(first.as_bytes()).unwrap();
        f.flush().unwrap();
        assert_eq!(kf.poll(&mut log).unwrap(), 40);
        assert!(log.get(&cr()).is_none(), "a partial line waits for its end");
        assert_eq!(log.stats.lines, 0);
        f.write_all(second.as_bytes()).unwrap();
        f.flush().unwrap();
        kf.poll(&mut log).unwrap();
        assert!(log.get(&cr()).unwrap().server_handshake.is_some());
        assert_eq!((log.stats.lines, log.stats.unreadable), (1, 0));
        // Replaced by a shorter file: read again from its start.
        std::fs::write(&path, "# new\n").unwrap();
        kf.poll(&mut log).unwrap();
        assert_eq!(log.stats.truncations, 1);
        assert_eq!(log.stats.lines, 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_decryption_secrets_block_is_read_when_it_is_a_tls_key_log() {
        let mut log = KeyLog::default();
        let text = format!("SERVER_HANDSHAKE_TRAFFIC_SECRET {CR} {SHTS}");
        assert!(
            !log.read_dsb(0x5747_4b4c, text.as_bytes()),
            "WireGuard keys"
        );
        assert!(log.is_empty());
        assert!(log.read_dsb(DSB_TLS_KEY_LOG, text.as_bytes()));
        assert!(log.get(&cr()).is_some());
    }

    #[test]
    fn an_overlong_partial_line_is_skipped_up_to_its_newline() {
        let mut log = KeyLog::default();
        let mut p = Pending::default();
        for _ in 0..10 {
            p.feed(&mut log, &[b'a'; 300]);
        }
        assert!(p.partial.len() <= MAX_LINE);
        p.feed(
            &mut log,
            format!("aaa\nSERVER_HANDSHAKE_TRAFFIC_SECRET {CR} {SHTS}\n").as_bytes(),
        );
        assert_eq!((log.stats.lines, log.stats.unreadable), (2, 1));
        assert!(log.get(&cr()).is_some());
    }
}
