//! Plaintext that may turn into TLS.
//!
//! [`StartTls`] follows a STARTTLS dialogue in both directions, one state machine per
//! protocol: SMTP (RFC 3207: `STARTTLS` → `220`), IMAP (RFC 2595/9051: `<tag> STARTTLS` →
//! `<tag> OK`), POP3 (RFC 2595/2449: `STLS` → `+OK`), XMPP (RFC 6120 §5.4: `<starttls/>` →
//! `<proceed/>`). The protocol is recognised by the server's greeting or the client's
//! first command, on any port (the port only tells SMTP from FTP). A refusal is reported
//! as [`Parsed::StartTlsRefused`].
//!
//! [`PlainWatch`] is the fallback for any other plaintext: it watches the client's bytes
//! until a ClientHello appears.

use crate::reassemble::{Dir, GapCause};

use super::stream::{idx, Cx, Next, StreamAnalyzer};
use super::{cert, http, tls, Parsed};

/// A STARTTLS-capable protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Smtp,
    Imap,
    Pop3,
    Xmpp,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Smtp => "smtp",
            Proto::Imap => "imap",
            Proto::Pop3 => "pop3",
            Proto::Xmpp => "xmpp",
        }
    }
}

/// The longest plaintext line (or, for XMPP, unparsed text) held per direction; a longer
/// one is dropped (counted in `starttls_long_lines`) and reading resumes at the next line.
pub const MAX_LINE: usize = 8192;
/// The most of a refusal reply kept in [`Parsed::StartTlsRefused`].
const MAX_REPLY: usize = 200;
/// What is kept of XMPP text with no complete tag of interest (a split tag fits).
const XML_TAIL: usize = 256;

/// The first word of a line and what follows it.
fn words(line: &[u8]) -> (&[u8], &[u8]) {
    let line = trim(line);
    match line.iter().position(|&b| b == b' ') {
        Some(p) => (
            line.get(..p).unwrap_or(&[]),
            trim(line.get(p + 1..).unwrap_or(&[])),
        ),
        None => (line, &[]),
    }
}

fn trim(d: &[u8]) -> &[u8] {
    let start = d
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(d.len());
    let end = d
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    d.get(start..end).unwrap_or(&[])
}

fn is_xml_start(d: &[u8]) -> bool {
    let d = trim(d);
    d.starts_with(b"<?xml") || d.starts_with(b"<stream:stream")
}

/// Recognises a STARTTLS-capable protocol from the first bytes of a flow, sent by `dir`.
/// `server_port` is a hint only: a `220` greeting on port 21 is FTP, not SMTP.
pub fn detect(dir: Dir, data: &[u8], server_port: u16) -> Option<Proto> {
    if is_xml_start(data) {
        return Some(Proto::Xmpp);
    }
    match dir {
        Dir::Down => {
            if (data.starts_with(b"220 ") || data.starts_with(b"220-")) && server_port != 21 {
                Some(Proto::Smtp)
            } else if data.starts_with(b"* OK") || data.starts_with(b"* PREAUTH") {
                Some(Proto::Imap)
            } else if data.starts_with(b"+OK") {
                Some(Proto::Pop3)
            } else {
                None
            }
        }
        Dir::Up => {
            let (first, rest) = words(data);
            let cmd = |c: &[u8]| first.eq_ignore_ascii_case(c);
            if cmd(b"EHLO") || cmd(b"HELO") || cmd(b"LHLO") {
                Some(Proto::Smtp)
            } else if cmd(b"CAPA") || cmd(b"STLS") || cmd(b"USER") || cmd(b"APOP") {
                Some(Proto::Pop3)
            } else {
                let (second, _) = words(rest);
                let imap = [
                    &b"CAPABILITY"[..],
                    b"STARTTLS",
                    b"LOGIN",
                    b"AUTHENTICATE",
                    b"NOOP",
                    b"ID",
                ];
                (!first.is_empty() && imap.iter().any(|c| second.eq_ignore_ascii_case(c)))
                    .then_some(Proto::Imap)
            }
        }
    }
}

/// What the client asked for.
enum Asked {
    No,
    /// STARTTLS sent (IMAP: with this tag); the server's answer is awaited.
    StartTls(Vec<u8>),
}

/// What one server line (or XMPP element) says about a pending STARTTLS.
enum Answer {
    Proceed,
    Refused,
    Other,
}

/// Follows a STARTTLS dialogue until the switch to TLS.
pub struct StartTls {
    proto: Proto,
    /// Each direction's unfinished line (XMPP: unparsed text), at most [`MAX_LINE`].
    text: [Vec<u8>; 2],
    /// Skipping a line that went over [`MAX_LINE`], up to its end.
    skipping: [bool; 2],
    asked: Asked,
    seen: usize,
}

impl StartTls {
    pub fn new(proto: Proto) -> Self {
        StartTls {
            proto,
            text: [Vec::new(), Vec::new()],
            skipping: [false, false],
            asked: Asked::No,
            seen: 0,
        }
    }

    /// A client line: is it the STARTTLS command?
    fn client_line(&mut self, line: &[u8]) {
        let (first, rest) = words(line);
        let is = |w: &[u8], c: &[u8]| w.eq_ignore_ascii_case(c);
        let asked = match self.proto {
            Proto::Smtp => is(first, b"STARTTLS").then(Vec::new),
            Proto::Pop3 => is(first, b"STLS").then(Vec::new),
            Proto::Imap => is(words(rest).0, b"STARTTLS").then(|| first.to_vec()),
            Proto::Xmpp => None,
        };
        if let Some(tag) = asked {
            self.asked = Asked::StartTls(tag);
        }
    }

    /// A server line, while STARTTLS is pending.
    fn server_line(&self, line: &[u8]) -> Answer {
        let Asked::StartTls(tag) = &self.asked else {
            return Answer::Other;
        };
        match self.proto {
            Proto::Smtp => {
                // A final reply: three digits then a space or the end (not `-`).
                let code = line.get(..3).filter(|c| c.iter().all(u8::is_ascii_digit));
                let last = !matches!(line.get(3), Some(b'-'));
                match (code, last) {
                    (Some(b"220"), true) => Answer::Proceed,
                    (Some([b'4' | b'5', ..]), true) => Answer::Refused,
                    _ => Answer::Other,
                }
            }
            Proto::Imap => {
                let (t, rest) = words(line);
                if t != tag.as_slice() {
                    return Answer::Other;
                }
                let (status, _) = words(rest);
                if status.eq_ignore_ascii_case(b"OK") {
                    Answer::Proceed
                } else if status.eq_ignore_ascii_case(b"NO") || status.eq_ignore_ascii_case(b"BAD")
                {
                    Answer::Refused
                } else {
                    Answer::Other
                }
            }
            Proto::Pop3 => {
                if line.starts_with(b"+OK") {
                    Answer::Proceed
                } else if line.starts_with(b"-ERR") {
                    Answer::Refused
                } else {
                    Answer::Other
                }
            }
            Proto::Xmpp => Answer::Other,
        }
    }

    fn refused(&mut self, cx: &mut Cx<'_>, reply: &[u8]) {
        self.asked = Asked::No;
        cx.stats.starttls_refused += 1;
        let reply = String::from_utf8_lossy(trim(reply));
        let reply: String = cert::printable(&reply).chars().take(MAX_REPLY).collect();
        let (flow, ts) = (cx.flow, cx.ts);
        cx.emit(Parsed::StartTlsRefused {
            flow,
            ts,
            protocol: self.proto.name(),
            reply,
        });
    }

    fn upgrade(&mut self, down_rest: Vec<u8>) -> Next {
        let [up, _] = &mut self.text;
        Next::UpgradeToTls {
            protocol: self.proto.name(),
            resync: [true, true],
            pending: [std::mem::take(up), down_rest],
        }
    }

    /// Line-based protocols: handles the complete lines held for `dir`.
    fn lines(&mut self, cx: &mut Cx<'_>, dir: Dir) -> Next {
        let i = idx(dir);
        let mut held = match self.text.get_mut(i) {
            Some(t) => std::mem::take(t),
            None => return Next::More,
        };
        let mut pos = 0usize;
        let mut next = Next::More;
        while let Some(eol) = held
            .get(pos..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
        {
            let line = held.get(pos..pos + eol).unwrap_or(&[]).to_vec();
            pos += eol + 1;
            if let Some(s) = self.skipping.get_mut(i) {
                if std::mem::take(s) {
                    continue;
                }
            }
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            if dir == Dir::Up {
                self.client_line(line);
                continue;
            }
            match self.server_line(line) {
                Answer::Proceed => {
                    next = self.upgrade(held.split_off(pos.min(held.len())));
                    held.clear();
                    pos = 0;
                    break;
                }
                Answer::Refused => self.refused(cx, line),
                Answer::Other => {}
            }
        }
        held.drain(..pos.min(held.len()));
        if held.len() > MAX_LINE {
            held.clear();
            cx.stats.starttls_long_lines += 1;
            if let Some(s) = self.skipping.get_mut(i) {
                *s = true;
            }
        }
        if let Some(t) = self.text.get_mut(i) {
            *t = held;
        }
        next
    }

    /// XMPP: looks for `<starttls` from the client, then `<proceed` or `<failure` (in
    /// the xmpp-tls namespace) from the server.
    fn xml(&mut self, cx: &mut Cx<'_>, dir: Dir) -> Next {
        let i = idx(dir);
        let Some(held) = self.text.get_mut(i) else {
            return Next::More;
        };
        let tag = |held: &[u8], name: &[u8]| -> Option<(usize, usize)> {
            let at = held.windows(name.len()).position(|w| w == name)?;
            let end = held.get(at..)?.iter().position(|&b| b == b'>')? + at + 1;
            held.get(at..end)
                .is_some_and(|t| t.windows(8).any(|w| w == b"xmpp-tls"))
                .then_some((at, end))
        };
        let mut next = Next::More;
        let mut keep_from = held.len().saturating_sub(XML_TAIL);
        if dir == Dir::Up {
            if let Some((_, end)) = tag(held, b"<starttls") {
                self.asked = Asked::StartTls(Vec::new());
                keep_from = end;
            }
        } else if matches!(self.asked, Asked::StartTls(_)) {
            if let Some((_, end)) = tag(held, b"<proceed") {
                let rest = held.split_off(end.min(held.len()));
                held.clear();
                return self.upgrade(rest);
            }
            if let Some((at, end)) = tag(held, b"<failure") {
                let reply = held.get(at..end).unwrap_or(&[]).to_vec();
                held.drain(..end.min(held.len()));
                self.refused(cx, &reply);
                next = Next::More;
                keep_from = 0;
            }
        }
        if let Some(held) = self.text.get_mut(i) {
            held.drain(..keep_from.min(held.len()));
        }
        next
    }
}

impl StreamAnalyzer for StartTls {
    fn feed(&mut self, cx: &mut Cx<'_>, dir: Dir, data: &[u8]) -> Next {
        let i = idx(dir);
        self.seen += data.len();
        let Some(held) = self.text.get_mut(i) else {
            return Next::More;
        };
        let from = held.len().saturating_sub(5);
        held.extend_from_slice(data);
        // A ClientHello with no STARTTLS answer seen (the server's side was not captured,
        // or the dialogue is one not followed here): TLS starts there.
        if dir == Dir::Up {
            if let Some(p) = (from..held.len()).find(|&p| tls::looks_like_hello(held, p, 1)) {
                let rest = held.split_off(p);
                held.clear();
                let down = self.text.get_mut(1).map(std::mem::take).unwrap_or_default();
                return Next::UpgradeToTls {
                    protocol: self.proto.name(),
                    resync: [false, true],
                    pending: [rest, down],
                };
            }
        }
        let next = match self.proto {
            Proto::Xmpp => self.xml(cx, dir),
            _ => self.lines(cx, dir),
        };
        if matches!(next, Next::More) && self.seen > cx.limits.max_plaintext {
            return Next::Done;
        }
        next
    }

    fn gap(&mut self, cx: &mut Cx<'_>, dir: Dir, cause: GapCause) -> Next {
        cx.gap(dir, cause);
        Next::Done
    }

    fn held(&self, dir: Dir) -> usize {
        self.text.get(idx(dir)).map_or(0, Vec::capacity)
    }
}

/// Bytes of plaintext held between reads while looking for a record header.
const MAX_HELD: usize = 4096;
/// What is kept of them when the bound is reached: enough for a split record header.
const KEEP_TAIL: usize = 16;

/// Watches plaintext nothing recognised: the client's bytes for a ClientHello, every
/// segment's start for a protocol (a capture that began mid-stream), and the client's
/// lines for an HTTP request line (after one that did not parse).
#[derive(Default)]
pub struct PlainWatch {
    /// The client's plaintext, bounded by [`MAX_HELD`].
    buf: Vec<u8>,
    seen: usize,
    keyword: Option<&'static str>,
}

impl PlainWatch {
    /// The start of the first line of the client's held bytes that begins an HTTP
    /// request (the lines before it are counted as skipped).
    fn request_line(&self, cx: &mut Cx<'_>) -> Option<usize> {
        let mut pos = 0usize;
        let mut skipped = 0u64;
        while let Some(eol) = self
            .buf
            .get(pos..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
        {
            pos += eol + 1;
            skipped += 1;
            let rest = self.buf.get(pos..).unwrap_or(&[]);
            if rest.contains(&b'\n') && http::starts_like_request(rest) {
                cx.stats.http_unparsable += 1;
                cx.stats.http_lines_skipped += skipped;
                return Some(pos);
            }
        }
        None
    }
}

impl StreamAnalyzer for PlainWatch {
    fn feed(&mut self, cx: &mut Cx<'_>, dir: Dir, data: &[u8]) -> Next {
        if super::recognisable(dir, data, cx.server.port()) {
            let up = if dir == Dir::Up {
                data.to_vec()
            } else {
                Vec::new()
            };
            let down = if dir == Dir::Down {
                data.to_vec()
            } else {
                Vec::new()
            };
            return Next::Detect {
                tunnel: None,
                pending: [up, down],
            };
        }
        if dir == Dir::Down {
            return Next::More;
        }
        let from = self.buf.len().saturating_sub(5);
        self.buf.extend_from_slice(data);
        self.seen += data.len();
        if self.keyword.is_none() {
            self.keyword = starttls_keyword(&self.buf, cx.server.port());
        }
        let found = (from..self.buf.len()).find(|&p| tls::looks_like_hello(&self.buf, p, 1));
        if let Some(p) = found {
            let rest = self.buf.get(p..).map(<[u8]>::to_vec).unwrap_or_default();
            self.buf.clear();
            return Next::UpgradeToTls {
                protocol: self.keyword.unwrap_or("plaintext"),
                resync: [false, true],
                pending: [rest, Vec::new()],
            };
        }
        if let Some(p) = self.request_line(cx) {
            let rest = self.buf.split_off(p);
            self.buf.clear();
            return Next::Detect {
                tunnel: None,
                pending: [rest, Vec::new()],
            };
        }
        if self.seen > cx.limits.max_plaintext {
            return Next::Done;
        }
        if self.buf.len() > MAX_HELD {
            let cut = self.buf.len() - KEEP_TAIL;
            self.buf.drain(..cut);
        }
        Next::More
    }

    fn gap(&mut self, cx: &mut Cx<'_>, dir: Dir, cause: GapCause) -> Next {
        cx.gap(dir, cause);
        Next::Done
    }

    /// Only the client's plaintext is held.
    fn held(&self, dir: Dir) -> usize {
        match dir {
            Dir::Up => self.buf.capacity(),
            Dir::Down => 0,
        }
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
