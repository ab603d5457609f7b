//! HTTP/1.x request and response heads (httparse). Bodies are skipped by length.

/// A request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub host: Option<String>,
    /// The head was cut (by the snapshot length, a missed segment, or a bound of
    /// probewatch's: the cause): read up to its last whole line, the headers after it not
    /// seen.
    pub cut: Option<GapCause>,
}

/// A response head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub location: Option<String>,
    /// As [`Request::cut`].
    pub cut: Option<GapCause>,
}

/// How the body after a head is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    None,
    Length(u64),
    Chunked,
    /// Until the connection closes.
    UntilClose,
}

pub enum Head<T> {
    /// Head parsed: the value, the head length, how the body is delimited.
    Complete(T, usize, Body),
    Partial,
    Invalid,
}

const MAX_HEADERS: usize = 96;

/// Common methods, recognised from their first bytes (a segment may end inside one).
pub const METHODS: [&[u8]; 9] = [
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"CONNECT ",
    b"PATCH ",
    b"TRACE ",
];

/// The longest method name taken for one (RFC 9110 sets no limit; registered ones are
/// under 20 characters).
pub const MAX_METHOD: usize = 32;
/// The longest request line looked at when telling whether bytes are HTTP.
pub const MAX_REQUEST_LINE: usize = 8192;

/// An RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A whole request line, `method SP request-target SP HTTP/1.x`, where the method is any
/// RFC 9110 token (WebDAV PROPFIND, MKCOL, Outlook Anywhere RPC_IN_DATA, ...). `line`
/// has no line ending.
pub fn is_request_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    (1..=MAX_METHOD).contains(&method.len())
        && method.iter().all(|&b| is_tchar(b))
        && !target.is_empty()
        && target.iter().all(|&b| b.is_ascii_graphic())
        && version.len() == 8
        && version.starts_with(b"HTTP/1.")
        && version.last().is_some_and(u8::is_ascii_digit)
}

/// The bytes start an HTTP request: a common method (a segment may end inside it), or a
/// whole request line with any token as its method.
pub fn starts_like_request(d: &[u8]) -> bool {
    if METHODS
        .iter()
        .any(|m| d.starts_with(m) || m.starts_with(d) && !d.is_empty())
    {
        return true;
    }
    let head = d.get(..MAX_REQUEST_LINE.min(d.len())).unwrap_or(d);
    head.iter()
        .position(|&b| b == b'\n')
        .and_then(|eol| head.get(..eol))
        .is_some_and(|l| is_request_line(l) || ends_like_request_line(l))
}

/// A line that ends like a request line (` HTTP/1.x`) but may not parse: a client's
/// broken request, still HTTP.
fn ends_like_request_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.len() > 9
        && line
            .get(line.len() - 9..)
            .is_some_and(|t| t.starts_with(b" HTTP/1.") && t.last().is_some_and(u8::is_ascii_digit))
}

fn header<'a>(headers: &'a [httparse::Header<'a>], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value)
}

fn body_of(headers: &[httparse::Header<'_>], request: bool) -> Body {
    if header(headers, "transfer-encoding").is_some_and(|v| {
        String::from_utf8_lossy(v)
            .to_ascii_lowercase()
            .contains("chunked")
    }) {
        return Body::Chunked;
    }
    match header(headers, "content-length")
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse().ok())
    {
        Some(0) => Body::None,
        Some(n) => Body::Length(n),
        None if request => Body::None,
        None => Body::UntilClose,
    }
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).trim().to_string()
}

pub fn request(buf: &[u8]) -> Head<Request> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => {
            let body = body_of(req.headers, true);
            let r = Request {
                method: req.method.unwrap_or("").to_string(),
                path: req.path.unwrap_or("").to_string(),
                // A host name has no space or control byte: one would split a -q line.
                host: header(req.headers, "host").map(|h| super::cert::printable_host(&text(h))),
                cut: None,
            };
            Head::Complete(r, n, body)
        }
        Ok(httparse::Status::Partial) => Head::Partial,
        Err(_) => Head::Invalid,
    }
}

/// `head_request`: the request was HEAD (no body follows whatever the headers say).
pub fn response(buf: &[u8], head_request: bool) -> Head<Response> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => {
            let status = resp.code.unwrap_or(0);
            let body =
                if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
                    Body::None
                } else {
                    body_of(resp.headers, false)
                };
            Head::Complete(
                Response {
                    status,
                    location: header(resp.headers, "location").map(text),
                    cut: None,
                },
                n,
                body,
            )
        }
        Ok(httparse::Status::Partial) => Head::Partial,
        Err(_) => Head::Invalid,
    }
}

/// Skips a chunked body incrementally. Returns bytes consumed and whether it ended.
#[derive(Default)]
pub struct Chunked {
    /// Bytes left in the current chunk (including its trailing CRLF).
    left: u64,
    in_trailer: bool,
}

impl Chunked {
    /// Consumes from `buf`; returns (consumed, finished, invalid).
    pub fn consume(&mut self, buf: &[u8]) -> (usize, bool, bool) {
        let mut pos = 0usize;
        loop {
            if self.left > 0 {
                let take = (self.left).min((buf.len() - pos) as u64) as usize;
                pos += take;
                self.left -= take as u64;
                if self.left > 0 {
                    return (pos, false, false);
                }
            }
            let rest = buf.get(pos..).unwrap_or(&[]);
            let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                return (pos, false, rest.len() > 1024);
            };
            let line = rest.get(..eol).unwrap_or(&[]);
            pos += eol + 2;
            if self.in_trailer {
                if line.is_empty() {
                    return (pos, true, false);
                }
                continue;
            }
            let size_txt = String::from_utf8_lossy(line);
            let size_txt = size_txt.split(';').next().unwrap_or("").trim().to_string();
            let Ok(size) = u64::from_str_radix(&size_txt, 16) else {
                return (pos, false, true);
            };
            if size == 0 {
                self.in_trailer = true;
            } else {
                // A size near 2^64 would overflow with its CRLF: not a real chunk.
                let Some(left) = size.checked_add(2) else {
                    return (pos, false, true);
                };
                self.left = left;
            }
        }
    }
}

use crate::reassemble::{Dir, GapCause};

use super::stream::{idx, Cx, Next, StreamAnalyzer};
use super::Parsed;

/// One direction of an HTTP/1 stream.
#[derive(Default)]
struct Half {
    /// Head bytes held (bounded by `max_plaintext`).
    buf: Vec<u8>,
    /// Body bytes still to skip (`u64::MAX`: the rest of the stream).
    skip: u64,
    chunked: Option<Chunked>,
    /// A head did not parse: lines are skipped up to the next request (or status) line.
    lost: bool,
}

impl Half {
    /// After a head that did not parse: drops whole lines until one that starts a head
    /// (`starts_head`); false while no such line is in yet (the last, unfinished line is
    /// kept).
    fn resync(&mut self, stats: &mut super::ParseStats, starts_head: fn(&[u8]) -> bool) -> bool {
        let mut pos = 0usize;
        let mut found = false;
        while let Some(eol) = self
            .buf
            .get(pos..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
        {
            if self.buf.get(pos..pos + eol).is_some_and(starts_head) {
                found = true;
                break;
            }
            stats.http_lines_skipped += 1;
            pos += eol + 1;
        }
        self.buf.drain(..pos.min(self.buf.len()));
        if found {
            self.lost = false;
        }
        found
    }

    /// A head did not parse: its first line is dropped and reading resumes at the next
    /// line that starts a head.
    fn lose(&mut self, stats: &mut super::ParseStats) {
        stats.http_unparsable += 1;
        match self.buf.iter().position(|&b| b == b'\n') {
            Some(eol) => {
                stats.http_lines_skipped += 1;
                self.buf.drain(..=eol);
            }
            None => self.buf.clear(),
        }
        self.lost = true;
    }
}

/// The bytes start an HTTP head of `dir`: a request (client) or a status line (server;
/// a capture that starts with the server's reply).
pub fn starts_like(dir: Dir, d: &[u8]) -> bool {
    match dir {
        Dir::Up => starts_like_request(d),
        Dir::Down => is_status_line(d),
    }
}

fn is_status_line(line: &[u8]) -> bool {
    line.starts_with(b"HTTP/1.") && line.get(8) == Some(&b' ')
}

/// A request still unanswered, as far as the response needs it.
#[derive(Clone, Copy, Default)]
struct Asked {
    head: bool,
    connect: bool,
    /// Its head did not parse: its response is not reported (it would be paired with
    /// the next request).
    unparsed: bool,
}

/// Requests held waiting for their responses; beyond it the oldest is forgotten
/// (counted in `http_requests_unpaired`).
pub const MAX_PENDING_REQUESTS: usize = 64;

fn asked(requests: &mut std::collections::VecDeque<Asked>, cx: &mut Cx<'_>, a: Asked) {
    if requests.len() >= MAX_PENDING_REQUESTS {
        requests.pop_front();
        cx.stats.http_requests_unpaired += 1;
    }
    requests.push_back(a);
}

/// A request head read: it waits for its response, and goes to the correlator. Returns
/// whether it was a CONNECT.
fn took_request(
    requests: &mut std::collections::VecDeque<Asked>,
    cx: &mut Cx<'_>,
    req: Request,
) -> bool {
    let a = Asked {
        head: req.method == "HEAD",
        connect: req.method == "CONNECT",
        unparsed: false,
    };
    asked(requests, cx, a);
    let (flow, ts) = (cx.flow, cx.ts);
    cx.emit(Parsed::HttpRequest { flow, ts, req });
    a.connect
}

/// Whether a response settles its request: 2xx and up, and 101 Switching Protocols,
/// after which the connection speaks another protocol (WebSocket, h2c); the other 1xx
/// are interim (100 Continue, 103 Early Hints).
pub fn is_final(status: u16) -> bool {
    status >= 200 || status == 101
}

/// A response head read, to the request `asked` (the oldest waiting): a final one
/// ([`is_final`]) settles it; it goes to the correlator unless its request could not be
/// read.
fn took_response(
    requests: &mut std::collections::VecDeque<Asked>,
    cx: &mut Cx<'_>,
    asked: Asked,
    resp: Response,
) {
    if is_final(resp.status) {
        requests.pop_front();
    }
    if asked.unparsed {
        cx.stats.http_responses_to_unparsable += 1;
    } else {
        let (flow, ts) = (cx.flow, cx.ts);
        cx.emit(Parsed::HttpResponse { flow, ts, resp });
    }
}

/// The HTTP/1 stream analyzer: request heads from the client, response heads from the
/// server, bodies skipped by length or chunks; a 2xx answer to CONNECT opens a tunnel.
#[derive(Default)]
pub struct HttpStream {
    halves: [Half; 2],
    /// Per request still unanswered: (it was HEAD, it was CONNECT).
    requests: std::collections::VecDeque<Asked>,
    /// A CONNECT was sent: the client's next bytes are held (not read as HTTP) until the
    /// answer says whether they are a tunnel's.
    connect_pending: bool,
}

impl HttpStream {
    /// A head the capture cut (the snapshot length, a missed segment) is read as far as
    /// its whole lines go, as tshark reads a cut packet: the request line and the headers
    /// before the cut (the Host among them, most often), or the status line. Nothing is
    /// read when not even the first line is whole.
    fn cut_head(&mut self, cx: &mut Cx<'_>, dir: Dir, cause: GapCause) {
        let connect_pending = self.connect_pending;
        let Some(h) = self.halves.get_mut(idx(dir)) else {
            return;
        };
        if h.skip > 0 || h.chunked.is_some() || h.lost || (dir == Dir::Up && connect_pending) {
            return;
        }
        let Some(end) = h.buf.windows(2).rposition(|w| w == b"\r\n") else {
            return;
        };
        let mut head = h.buf.get(..end + 2).unwrap_or_default().to_vec();
        head.extend_from_slice(b"\r\n");
        if dir == Dir::Up {
            if let Head::Complete(mut req, _, _) = request(&head) {
                req.cut = Some(cause);
                cx.stats.http_heads_cut += 1;
                took_request(&mut self.requests, cx, req);
            }
        } else {
            let asked = self.requests.front().copied().unwrap_or_default();
            if let Head::Complete(mut resp, _, _) = response(&head, asked.head) {
                resp.cut = Some(cause);
                cx.stats.http_heads_cut += 1;
                took_response(&mut self.requests, cx, asked, resp);
            }
        }
    }
}

impl StreamAnalyzer for HttpStream {
    fn feed(&mut self, cx: &mut Cx<'_>, dir: Dir, data: &[u8]) -> Next {
        let i = idx(dir);
        let Some(h) = self.halves.get_mut(i) else {
            return Next::More;
        };
        let mut data = data;
        // Skip a body in progress without holding it.
        if h.skip > 0 {
            let n = (h.skip).min(data.len() as u64) as usize;
            h.skip -= n as u64;
            data = data.get(n..).unwrap_or(&[]);
        }
        h.buf.extend_from_slice(data);
        let mut tunnel = false;
        // 101 Switching Protocols: what follows is not HTTP.
        let mut switched = false;
        // A CONNECT was refused: the client's held bytes are HTTP after all.
        let mut resume_up = false;
        loop {
            if let Some(ch) = h.chunked.as_mut() {
                let (used, done, bad) = ch.consume(&h.buf);
                h.buf.drain(..used.min(h.buf.len()));
                if bad {
                    return Next::Done;
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
            if dir == Dir::Up && self.connect_pending {
                break;
            }
            let starts_head = if dir == Dir::Up {
                is_request_line
            } else {
                is_status_line
            };
            if h.lost && !h.resync(cx.stats, starts_head) {
                break;
            }
            let body = if dir == Dir::Up {
                match request(&h.buf) {
                    Head::Complete(req, n, body) => {
                        let connect = took_request(&mut self.requests, cx, req);
                        h.buf.drain(..n.min(h.buf.len()));
                        if connect {
                            self.connect_pending = true;
                            break;
                        }
                        body
                    }
                    Head::Partial => break,
                    Head::Invalid => {
                        h.lose(cx.stats);
                        let a = Asked {
                            unparsed: true,
                            ..Asked::default()
                        };
                        asked(&mut self.requests, cx, a);
                        continue;
                    }
                }
            } else {
                let asked = self.requests.front().copied().unwrap_or_default();
                match response(&h.buf, asked.head) {
                    Head::Complete(resp, n, body) => {
                        let status = resp.status;
                        took_response(&mut self.requests, cx, asked, resp);
                        h.buf.drain(..n.min(h.buf.len()));
                        if status == 101 {
                            switched = true;
                            break;
                        }
                        if asked.connect && status >= 200 {
                            self.connect_pending = false;
                            if status < 300 {
                                tunnel = true;
                                break;
                            }
                            resume_up = true;
                        }
                        body
                    }
                    Head::Partial => break,
                    Head::Invalid => {
                        h.lose(cx.stats);
                        continue;
                    }
                }
            };
            match body {
                Body::None => {}
                Body::Length(n) => h.skip = n,
                Body::Chunked => h.chunked = Some(Chunked::default()),
                Body::UntilClose => {
                    h.buf.clear();
                    h.skip = u64::MAX;
                    break;
                }
            }
        }
        if h.buf.len() > cx.limits.max_plaintext {
            h.buf.clear();
            h.skip = u64::MAX;
        }
        if switched {
            // WebSocket frames, HTTP/2: nothing more to read here (not counted as
            // unparsable HTTP).
            return Next::Done;
        }
        if resume_up && dir == Dir::Down {
            return self.feed(cx, Dir::Up, &[]);
        }
        if tunnel {
            // An HTTP CONNECT tunnel: what runs inside (TLS, HTTP, ...) is detected.
            let [up, down] = &mut self.halves;
            return Next::Detect {
                tunnel: Some("http-connect"),
                pending: [std::mem::take(&mut up.buf), std::mem::take(&mut down.buf)],
            };
        }
        Next::More
    }

    fn gap(&mut self, cx: &mut Cx<'_>, dir: Dir, cause: GapCause) -> Next {
        self.cut_head(cx, dir, cause);
        if let Some(h) = self.halves.get_mut(idx(dir)) {
            h.buf = Vec::new();
            h.skip = 0;
            h.chunked = None;
        }
        cx.stop(dir);
        Next::More
    }

    fn held(&self, dir: Dir) -> usize {
        self.halves.get(idx(dir)).map_or(0, |h| h.buf.capacity())
    }
}
