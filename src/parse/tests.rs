//! The parse stage driven with hand-made streams: what each analyzer reports.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::net::SocketAddr;

use super::*;

/// One TCP flow fed to a [`Parser`].
pub(super) struct Flow {
    pub p: Parser,
    pub out: Vec<Parsed>,
    pub stops: Vec<Stop>,
    t: i64,
}

pub(super) fn flow(client_port: u16, server_port: u16) -> Flow {
    let client: SocketAddr = format!("198.51.100.7:{client_port}").parse().unwrap();
    let server: SocketAddr = format!("192.0.2.1:{server_port}").parse().unwrap();
    let mut f = Flow {
        p: Parser::new(ParseLimits::default()),
        out: Vec::new(),
        stops: Vec::new(),
        t: 0,
    };
    f.p.push(
        Event::Opened {
            flow: 1,
            ts: Timestamp::new(0, 0),
            client,
            server,
            saw_syn: true,
            client_mac: None,
        },
        &mut f.out,
        &mut f.stops,
    );
    f.out.clear();
    f
}

impl Flow {
    pub fn send(&mut self, dir: Dir, data: &[u8]) -> &mut Self {
        self.t += 1;
        self.p.push(
            Event::Data {
                flow: 1,
                dir,
                ts: Timestamp::new(self.t, 0),
                data: data.to_vec(),
            },
            &mut self.out,
            &mut self.stops,
        );
        self
    }
    pub fn up(&mut self, data: &[u8]) -> &mut Self {
        self.send(Dir::Up, data)
    }
    pub fn down(&mut self, data: &[u8]) -> &mut Self {
        self.send(Dir::Down, data)
    }
    pub fn gap(&mut self, dir: Dir) -> &mut Self {
        self.gap_of(dir, GapCause::NotCaptured)
    }
    pub fn gap_of(&mut self, dir: Dir, cause: GapCause) -> &mut Self {
        self.p.push(
            Event::Gap {
                flow: 1,
                dir,
                ts: Timestamp::new(self.t, 0),
                len: 100,
                cause,
            },
            &mut self.out,
            &mut self.stops,
        );
        self
    }

    /// The SNIs of the ClientHellos reported.
    pub fn snis(&self) -> Vec<String> {
        self.out
            .iter()
            .filter_map(|p| match p {
                Parsed::Tls {
                    item: TlsItem::ClientHello(h),
                    ..
                } => Some(h.sni.clone().unwrap_or_default()),
                _ => None,
            })
            .collect()
    }
    pub fn server_hellos(&self) -> usize {
        self.out
            .iter()
            .filter(|p| {
                matches!(
                    p,
                    Parsed::Tls {
                        item: TlsItem::ServerHello(_),
                        dir: Dir::Down,
                        ..
                    }
                )
            })
            .count()
    }
    pub fn starttls(&self) -> Vec<&'static str> {
        self.out
            .iter()
            .filter_map(|p| match p {
                Parsed::StartTls { protocol, .. } => Some(*protocol),
                _ => None,
            })
            .collect()
    }
    pub fn refused(&self) -> Vec<(&'static str, String)> {
        self.out
            .iter()
            .filter_map(|p| match p {
                Parsed::StartTlsRefused {
                    protocol, reply, ..
                } => Some((*protocol, reply.clone())),
                _ => None,
            })
            .collect()
    }
    /// (method, path, host) of the requests reported.
    pub fn requests(&self) -> Vec<(String, String, String)> {
        self.out
            .iter()
            .filter_map(|p| match p {
                Parsed::HttpRequest { req, .. } => Some((
                    req.method.clone(),
                    req.path.clone(),
                    req.host.clone().unwrap_or_default(),
                )),
                _ => None,
            })
            .collect()
    }
    pub fn statuses(&self) -> Vec<u16> {
        self.out
            .iter()
            .filter_map(|p| match p {
                Parsed::HttpResponse { resp, .. } => Some(resp.status),
                _ => None,
            })
            .collect()
    }
}

fn record(ct: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![ct, 3, 1];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    record(22, &m)
}

/// A TLS 1.2 ClientHello record naming `sni`.
pub(super) fn client_hello(sni: &str) -> Vec<u8> {
    client_hello_with(sni, &[])
}

/// A TLS 1.2 ClientHello record naming `sni`, with `extra` appended to its extensions.
pub(super) fn client_hello_with(sni: &str, extra: &[u8]) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[7; 32]);
    b.push(0); // session id
    b.extend_from_slice(&[0, 2, 0x13, 0x01]); // one cipher suite
    b.extend_from_slice(&[1, 0]); // null compression
    let name = sni.as_bytes();
    let mut sni_ext = Vec::new();
    sni_ext.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    sni_ext.push(0);
    sni_ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni_ext.extend_from_slice(name);
    let mut ext = vec![0, 0];
    ext.extend_from_slice(&(sni_ext.len() as u16).to_be_bytes());
    ext.extend_from_slice(&sni_ext);
    ext.extend_from_slice(extra);
    b.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    b.extend_from_slice(&ext);
    handshake(1, &b)
}

/// A TLS 1.2 ServerHello record.
pub(super) fn server_hello() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[9; 32]);
    b.push(0);
    b.extend_from_slice(&[0xc0, 0x2f, 0]);
    handshake(2, &b)
}

#[test]
fn hand_made_hellos_parse() {
    let mut f = flow(40000, 443);
    f.up(&client_hello("a.example")).down(&server_hello());
    assert_eq!(f.snis(), ["a.example"]);
    assert_eq!(f.server_hellos(), 1);
    assert!(f.starttls().is_empty());
}

mod http;
mod starttls;

#[test]
fn connect_tunnel_carries_tls() {
    let mut f = flow(40000, 3128);
    f.up(b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n")
        .down(b"HTTP/1.1 200 Connection established\r\n\r\n");
    tls_after(&mut f, "a.example");
    assert_eq!(
        f.requests(),
        [(
            "CONNECT".to_string(),
            "a.example:443".to_string(),
            "a.example:443".to_string()
        )]
    );
    assert_eq!(f.statuses(), [200]);
    assert_eq!(f.starttls(), ["http-connect"]);
    assert_eq!(f.snis(), ["a.example"]);
    assert_eq!(f.server_hellos(), 1);
}

pub(super) fn tls_after(f: &mut Flow, sni: &str) {
    f.up(&client_hello(sni)).down(&server_hello());
}

/// A TLS 1.2 Certificate record carrying one (opaque) certificate.
fn certificate(der: &[u8]) -> Vec<u8> {
    let mut list = Vec::new();
    list.extend_from_slice(&(der.len() as u32).to_be_bytes()[1..]);
    list.extend_from_slice(der);
    let mut body = Vec::new();
    body.extend_from_slice(&(list.len() as u32).to_be_bytes()[1..]);
    body.extend_from_slice(&list);
    handshake(11, &body)
}

#[test]
fn a_capture_of_the_servers_side_only_still_yields_the_certificate() {
    // As in server-side-only.pcap: the server's ACK shows the ClientHello was missed
    // (a gap in the client's direction), then ServerHello and Certificate in the clear.
    let mut f = flow(46548, 443);
    f.gap(Dir::Up);
    let mut down = server_hello();
    down.extend_from_slice(&certificate(&[0x30, 0x03, 0x02, 0x01, 0x01]));
    f.down(&down);
    assert_eq!(f.server_hellos(), 1);
    let chains: Vec<usize> = f
        .out
        .iter()
        .filter_map(|p| match p {
            Parsed::Tls {
                dir: Dir::Down,
                item: TlsItem::Certificate(c),
                ..
            } => Some(c.chain_len),
            _ => None,
        })
        .collect();
    assert_eq!(chains, [1]);
    assert_eq!(f.p.stats.tls_streams, 1);
}

#[test]
fn a_malformed_extension_is_counted_and_the_others_still_read() {
    // signature_algorithms claiming 10 bytes of list with 2 there, then ALPN "h2".
    let bad_sig = [0, 13, 0, 4, 0, 10, 4, 3];
    let alpn = [0, 16, 0, 5, 0, 3, 2, b'h', b'2'];
    let mut f = flow(40000, 443);
    f.up(&client_hello_with(
        "a.example",
        &[&bad_sig[..], &alpn[..]].concat(),
    ));
    assert_eq!(f.snis(), ["a.example"]);
    let Some(Parsed::Tls {
        item: TlsItem::ClientHello(h),
        ..
    }) = f.out.first()
    else {
        panic!("{:?}", f.out)
    };
    assert!(h.sig_algs.is_empty());
    assert_eq!(h.alpn, ["h2"]);
    assert_eq!(h.alpn_first.as_deref(), Some(&b"h2"[..]));
    assert_eq!(f.p.stats.tls_malformed, 1);
}

#[test]
fn trailing_bytes_after_the_extensions_are_counted_not_ignored() {
    let mut f = flow(40000, 443);
    f.up(&client_hello_with("a.example", &[0, 0x17, 0]));
    assert_eq!(f.snis(), ["a.example"]);
    assert_eq!(f.p.stats.tls_malformed, 1);
    let mut f = flow(40000, 443);
    f.up(&client_hello("a.example"));
    assert_eq!(f.p.stats.tls_malformed, 0, "a well-formed hello");
}

#[test]
fn dns_over_tcp_length_prefixes_split_anywhere() {
    // A query for a.example (type A), framed with its 2-byte length.
    let mut q = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    q.extend_from_slice(b"\x01a\x07example\x00\x00\x01\x00\x01");
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    let twice = [framed.clone(), framed].concat();
    let mut f = flow(40000, 53);
    f.up(&twice[..1]).up(&twice[1..20]).up(&twice[20..]);
    let n = f
        .out
        .iter()
        .filter(|p| matches!(p, Parsed::Dns { .. }))
        .count();
    assert_eq!(n, 2);
    assert_eq!(f.p.stats.dns_messages, 2);
}

#[test]
fn hostile_streams_never_panic_and_stay_bounded() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let prefixes: [&[u8]; 10] = [
        b"220 mx ESMTP\r\n",
        b"* OK imap\r\n",
        b"+OK pop\r\n",
        b"<?xml version='1.0'?><stream:stream>",
        b"CONNECT a:1 HTTP/1.1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n",
        &[5, 1, 0],
        &[4, 1, 0, 80, 0, 0, 0, 1, 0],
        &[0x16, 3, 1, 0, 40, 1],
        b"PROPFIND / HTTP/1.1\r\n",
    ];
    for round in 0..400u64 {
        let port = [25u16, 143, 110, 5222, 3128, 80, 1080, 443, 53, 9999][(round % 10) as usize];
        let mut f = flow(40000, port);
        let first = prefixes[(next() % 10) as usize];
        f.send(if round % 3 == 0 { Dir::Down } else { Dir::Up }, first);
        for _ in 0..30 {
            let len = (next() % 300) as usize;
            let mut chunk: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if next() % 4 == 0 {
                chunk.extend_from_slice(prefixes[(next() % 10) as usize]);
            }
            let dir = if next() % 2 == 0 { Dir::Up } else { Dir::Down };
            if next() % 50 == 0 {
                f.gap(dir);
            }
            f.send(dir, &chunk);
        }
        assert!(f.out.len() < 10_000);
    }
}

#[test]
fn partial_hello_is_counted_as_held_and_a_budget_gap_frees_it() {
    let hello = client_hello_with("stalled.example", &[0u8; 6000]);
    let mut f = flow(40000, 443);
    f.up(&hello[..1000]);
    assert_eq!(f.p.held(), 1000, "the record, not whole yet");
    assert_eq!(f.p.held_by_flow(), vec![(1, [1000, 0])]);
    let budget = GapCause::MemoryBudget { bytes: 32 << 20 };
    f.p.push(
        Event::Gap {
            flow: 1,
            dir: Dir::Up,
            ts: Timestamp::new(9, 0),
            len: 0,
            cause: budget,
        },
        &mut f.out,
        &mut f.stops,
    );
    assert_eq!(f.p.held(), 0);
    assert!(f.p.held_by_flow().is_empty());
    assert!(f.out.iter().any(|p| matches!(
        p,
        Parsed::Gap { dir: Dir::Up, cause, .. } if *cause == budget
    )));
    // The rest of the hello is not read (its start is gone), and nothing is held again.
    f.up(&hello[1000..]);
    assert!(f.snis().is_empty());
    assert_eq!(f.p.held(), 0);
    // The flow's end gives back what it counted.
    f.p.push(
        Event::Ended {
            flow: 1,
            ts: Timestamp::new(10, 0),
            cause: EndCause::Idle,
            summary: FlowSummary::default(),
        },
        &mut f.out,
        &mut f.stops,
    );
    assert_eq!(f.p.held(), 0);
    // The bytes went, the SNI they held did not: the flow's end still names it.
    let cut = f.out.iter().find_map(|p| match p {
        Parsed::Ended {
            hello_unfinished, ..
        } => hello_unfinished.clone(),
        _ => None,
    });
    assert_eq!(cut.and_then(|u| u.sni).as_deref(), Some("stalled.example"));
}

#[test]
fn partial_messages_of_every_analyzer_are_held_in_the_budget_and_a_budget_gap_frees_them() {
    // DNS over TCP, SOCKS, a STARTTLS dialogue and unrecognised plaintext hold bytes for
    // a message not yet whole too: the budget across flows must see them (it saw only
    // TLS and HTTP), and its gap must give them back.
    let cases: [(&str, u16, Dir, &[u8]); 4] = [
        (
            "dns over tcp",
            53,
            Dir::Up,
            &[0x01, 0xf4, 0xab, 0xcd, 1, 0, 0, 1],
        ),
        ("socks5", 1080, Dir::Up, &[5, 2, 0]),
        (
            "smtp",
            25,
            Dir::Down,
            b"220 mail.example ESMTP ready and wait",
        ),
        (
            "plaintext",
            9999,
            Dir::Up,
            b"just some words with no line end",
        ),
    ];
    for (what, port, dir, bytes) in cases {
        let mut f = flow(40000, port);
        f.send(dir, bytes);
        assert!(f.p.held() > 0, "{what}: nothing counted as held");
        assert_eq!(f.p.held_by_flow().len(), 1, "{what}");
        let budget = GapCause::MemoryBudget { bytes: 32 << 20 };
        f.p.push(
            Event::Gap {
                flow: 1,
                dir,
                ts: Timestamp::new(9, 0),
                len: 0,
                cause: budget,
            },
            &mut f.out,
            &mut f.stops,
        );
        assert_eq!(f.p.held(), 0, "{what}: the budget gap did not free it");
        assert!(f.p.held_by_flow().is_empty(), "{what}");
    }
}

/// A flow that ends inside its ClientHello says so at its end: what of the hello came,
/// its length, and its SNI once the server_name extension is whole. It was silent (no
/// probe at all for a client that sent half a hello).
#[test]
fn flow_ended_inside_its_hello_says_how_much_came_and_the_sni_once_whole() {
    let hello = client_hello_with("cut.example", &[0u8; 600]);
    let ended = |cut: usize| {
        let mut f = flow(40000, 443);
        f.up(&hello[..cut]);
        f.p.push(
            Event::Ended {
                flow: 1,
                ts: Timestamp::new(10, 0),
                cause: EndCause::EndOfCapture,
                summary: FlowSummary::default(),
            },
            &mut f.out,
            &mut f.stops,
        );
        f.out.iter().find_map(|p| match p {
            Parsed::Ended {
                hello_unfinished, ..
            } => Some(hello_unfinished.clone()),
            _ => None,
        })
    };
    let whole = u32::try_from(hello.len() - 5).unwrap();
    // The record header and 40 bytes of the hello: not up to its SNI.
    let u = ended(45).flatten().unwrap();
    assert_eq!(
        (u.msg_type, u.have, u.need, u.sni),
        (Some(1), 40, Some(whole), None)
    );
    // Past the SNI extension: the name is known.
    let u = ended(200).flatten().unwrap();
    assert_eq!((u.have, u.sni.as_deref()), (195, Some("cut.example")));
    // Three bytes of the record header only: nothing of the hello to tell.
    let u = ended(3).flatten().unwrap();
    assert_eq!(
        (u.msg_type, u.have, u.need, u.partial_header),
        (None, 0, None, true)
    );
    // The whole record header and nothing after it.
    let u = ended(5).flatten().unwrap();
    assert_eq!((u.have, u.partial_header), (0, false));
    // The whole hello: nothing unfinished.
    assert_eq!(ended(hello.len()), Some(None));
}

#[test]
fn flow_end_gives_back_the_bytes_it_held() {
    let hello = client_hello_with("stalled.example", &[0u8; 6000]);
    let mut f = flow(40000, 443);
    f.up(&hello[..700]);
    assert!(f.p.held() >= 700);
    f.p.push(
        Event::Ended {
            flow: 1,
            ts: Timestamp::new(10, 0),
            cause: EndCause::Idle,
            summary: FlowSummary::default(),
        },
        &mut f.out,
        &mut f.stops,
    );
    assert_eq!(f.p.held(), 0);
}
