//! SOCKS tunnels (SOCKS5, RFC 1928/1929; SOCKS4 and 4a): the handshake is read in both
//! directions, then what runs inside the tunnel is detected afresh (TLS, HTTP, ...).
//! HTTP CONNECT tunnels are set up in `http.rs` and end the same way.

use crate::reassemble::{Dir, GapCause};

use super::reader::{Reader, Result, WireError};
use super::stream::{idx, Cx, Next, StreamAnalyzer};

/// The protocol named for a TLS stream found inside a SOCKS tunnel.
pub const SOCKS: &str = "socks";
/// Handshake bytes held per direction (a SOCKS5 user name, password and domain name of
/// 255 bytes each fit); a longer handshake is not SOCKS (counted in `socks_unreadable`).
pub const MAX_HANDSHAKE: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V4,
    V5,
}

/// A SOCKS5 authentication method a client may offer.
fn known_method(m: u8) -> bool {
    m <= 0x09 || (0x80..=0xfe).contains(&m)
}

/// The client's first bytes open a SOCKS handshake: a SOCKS5 greeting (version, method
/// count, that many plausible methods, then nothing or the request), or a SOCKS4/4a
/// request (CONNECT or BIND, port, address, NUL-terminated user id).
pub fn detect(dir: Dir, data: &[u8]) -> Option<Version> {
    if dir != Dir::Up {
        return None;
    }
    let mut r = Reader::new(data);
    match r.u8().ok()? {
        5 => {
            let n = usize::from(r.u8().ok()?);
            let methods = r.take(n).ok()?;
            let then_request = r.is_empty() || r.peek_rest().first() == Some(&5);
            (n > 0 && methods.iter().all(|&m| known_method(m)) && then_request)
                .then_some(Version::V5)
        }
        4 => {
            let cmd = r.u8().ok()?;
            r.skip(6).ok()?;
            let user = r.until(0).ok()?;
            (matches!(cmd, 1 | 2) && user.len() < 256).then_some(Version::V4)
        }
        _ => None,
    }
}

/// Where a side of the handshake is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// SOCKS5 client: greeting; server: method choice. SOCKS4: the request / reply.
    First,
    /// SOCKS5, user/password (RFC 1929) chosen: the sub-negotiation.
    Auth,
    /// SOCKS5: the CONNECT request / its reply.
    Request,
    /// Handshake over for this side.
    Open,
}

/// A step of the handshake did not work out.
enum Fail {
    /// The server refused (no acceptable method, authentication failed, request denied).
    Refused,
    /// The bytes are not SOCKS.
    Unreadable,
}

pub struct Socks {
    version: Version,
    held: [Vec<u8>; 2],
    stage: [Stage; 2],
    /// The method the server chose (SOCKS5).
    method: Option<u8>,
}

impl Socks {
    pub fn new(version: Version) -> Self {
        Socks {
            version,
            held: [Vec::new(), Vec::new()],
            stage: [Stage::First, Stage::First],
            method: None,
        }
    }

    /// Reads one step of `dir`'s handshake from `r`: the stage after it, or `None` when
    /// more bytes are needed first.
    fn step(&mut self, dir: Dir, stage: Stage, r: &mut Reader<'_>) -> Result<Option<Stage>> {
        match self.read_step(dir, stage, r) {
            Err(WireError::Short { .. }) => Ok(None),
            other => other,
        }
    }

    fn read_step(&mut self, dir: Dir, stage: Stage, r: &mut Reader<'_>) -> Result<Option<Stage>> {
        let next = match (self.version, dir, stage) {
            (Version::V5, Dir::Up, Stage::First) => {
                expect(r.u8()?, 5)?;
                let n = usize::from(r.u8()?);
                r.skip(n)?;
                // What follows depends on the method the server picks.
                match self.method {
                    Some(2) => Ok(Stage::Auth),
                    Some(_) => Ok(Stage::Request),
                    None => return Ok(None),
                }
            }
            (Version::V5, Dir::Up, Stage::Auth) => {
                r.u8()?;
                let u = usize::from(r.u8()?);
                r.skip(u)?;
                let p = usize::from(r.u8()?);
                r.skip(p)?;
                Ok(Stage::Request)
            }
            (Version::V5, _, Stage::Request) => {
                expect(r.u8()?, 5)?;
                let code = r.u8()?;
                r.u8()?;
                match r.u8()? {
                    1 => r.skip(4)?,
                    3 => {
                        let n = usize::from(r.u8()?);
                        r.skip(n)?;
                    }
                    4 => r.skip(16)?,
                    _ => return Err(WireError::Bad("SOCKS5 address type")),
                }
                r.skip(2)?;
                if dir == Dir::Down && code != 0 {
                    return Err(WireError::Bad("refused"));
                }
                Ok(Stage::Open)
            }
            (Version::V5, Dir::Down, Stage::First) => {
                expect(r.u8()?, 5)?;
                let m = r.u8()?;
                self.method = Some(m);
                match m {
                    0xff => Err(WireError::Bad("refused")),
                    2 => Ok(Stage::Auth),
                    _ => Ok(Stage::Request),
                }
            }
            (Version::V5, Dir::Down, Stage::Auth) => {
                r.u8()?;
                match r.u8()? {
                    0 => Ok(Stage::Request),
                    _ => Err(WireError::Bad("refused")),
                }
            }
            (Version::V4, Dir::Up, Stage::First) => {
                expect(r.u8()?, 4)?;
                r.u8()?;
                r.skip(2)?;
                let ip = r.take(4)?;
                r.until(0)?;
                // SOCKS4a: 0.0.0.x (x not 0) means a host name follows.
                if ip.starts_with(&[0, 0, 0]) && ip.last() != Some(&0) {
                    r.until(0)?;
                }
                Ok(Stage::Open)
            }
            (Version::V4, Dir::Down, Stage::First) => {
                r.u8()?;
                let status = r.u8()?;
                r.skip(6)?;
                if status != 0x5a {
                    return Err(WireError::Bad("refused"));
                }
                Ok(Stage::Open)
            }
            (_, _, s) => Ok(s),
        };
        next.map(Some)
    }

    /// Reads as far as the held bytes of `dir` go.
    fn advance(&mut self, dir: Dir) -> std::result::Result<(), Fail> {
        let i = idx(dir);
        loop {
            let stage = self.stage.get(i).copied().unwrap_or(Stage::Open);
            if stage == Stage::Open {
                return Ok(());
            }
            let held = self.held.get(i).cloned().unwrap_or_default();
            let mut r = Reader::new(&held);
            match self.step(dir, stage, &mut r) {
                Ok(Some(next)) => {
                    let used = held.len() - r.remaining();
                    if let Some(h) = self.held.get_mut(i) {
                        h.drain(..used.min(h.len()));
                    }
                    if let Some(s) = self.stage.get_mut(i) {
                        *s = next;
                    }
                }
                Ok(None) => return Ok(()),
                Err(WireError::Bad("refused")) => return Err(Fail::Refused),
                Err(_) => return Err(Fail::Unreadable),
            }
        }
    }
}

fn expect(got: u8, want: u8) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(WireError::Bad("SOCKS version"))
    }
}

impl StreamAnalyzer for Socks {
    fn feed(&mut self, cx: &mut Cx<'_>, dir: Dir, data: &[u8]) -> Next {
        let Some(h) = self.held.get_mut(idx(dir)) else {
            return Next::More;
        };
        h.extend_from_slice(data);
        // A server answer can unblock the client's side (SOCKS5: the chosen method).
        let r = self.advance(Dir::Down).and_then(|()| self.advance(Dir::Up));
        match r {
            Err(Fail::Refused) => {
                cx.stats.socks_refused += 1;
                return Next::Done;
            }
            Err(Fail::Unreadable) => {
                cx.stats.socks_unreadable += 1;
                return Next::Done;
            }
            Ok(()) => {}
        }
        if self.stage == [Stage::Open, Stage::Open] {
            let [up, down] = &mut self.held;
            return Next::Detect {
                tunnel: Some(SOCKS),
                pending: [std::mem::take(up), std::mem::take(down)],
            };
        }
        if self.held.iter().any(|h| h.len() > MAX_HANDSHAKE) {
            cx.stats.socks_unreadable += 1;
            return Next::Done;
        }
        Next::More
    }

    fn gap(&mut self, cx: &mut Cx<'_>, dir: Dir, cause: GapCause) -> Next {
        cx.gap(dir, cause);
        Next::Done
    }

    fn held(&self, dir: Dir) -> usize {
        self.held.get(idx(dir)).map_or(0, Vec::capacity)
    }
}
