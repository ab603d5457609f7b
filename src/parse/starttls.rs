//! Plaintext that may turn into TLS: STARTTLS dialogues (SMTP, IMAP, POP3, XMPP, ...) and
//! tunnels, watched until a ClientHello appears.

use crate::reassemble::{Dir, GapCause};

use super::stream::{Cx, Next, StreamAnalyzer};
use super::tls;

/// Bytes of plaintext held between reads while looking for a record header.
const MAX_HELD: usize = 4096;
/// What is kept of them when the bound is reached: enough for a split record header.
const KEEP_TAIL: usize = 16;

/// Watches the client's plaintext for a ClientHello.
#[derive(Default)]
pub struct PlainWatch {
    /// The client's plaintext, bounded by [`MAX_HELD`].
    buf: Vec<u8>,
    seen: usize,
    keyword: Option<&'static str>,
}

impl StreamAnalyzer for PlainWatch {
    fn feed(&mut self, cx: &mut Cx<'_>, dir: Dir, data: &[u8]) -> Next {
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
