//! HTTP/1 streams: every method, resynchronisation, mid-stream captures, tunnels.

use super::super::http::{is_request_line, starts_like_request, MAX_PENDING_REQUESTS};
use super::*;

fn req(m: &str, p: &str, h: &str) -> (String, String, String) {
    (m.to_string(), p.to_string(), h.to_string())
}

#[test]
fn webdav_and_rpc_methods_are_requests() {
    for m in [
        "PROPFIND",
        "MKCOL",
        "MOVE",
        "COPY",
        "LOCK",
        "REPORT",
        "RPC_IN_DATA",
        "RPC_OUT_DATA",
    ] {
        let mut f = flow(40000, 80);
        let head = format!("{m} /dav/ HTTP/1.1\r\nHost: dav.example\r\nContent-Length: 0\r\n\r\n");
        f.up(head.as_bytes())
            .down(b"HTTP/1.1 207 Multi-Status\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(f.requests(), [req(m, "/dav/", "dav.example")], "{m}");
        assert_eq!(f.statuses(), [207], "{m}");
        assert_eq!(f.p.stats.http_streams, 1);
    }
}

#[test]
fn request_line_grammar() {
    assert!(is_request_line(b"PROPFIND / HTTP/1.1"));
    assert!(is_request_line(
        b"RPC_IN_DATA /rpc/rpcproxy.dll?x:6001 HTTP/1.1\r"
    ));
    assert!(!is_request_line(b"PROPFIND / HTTP/2"));
    assert!(!is_request_line(b"PROP FIND / HTTP/1.1"));
    assert!(!is_request_line(b"<tag> / HTTP/1.1"));
    assert!(!is_request_line(b"EHLO mail.example"));
    assert!(!is_request_line(
        &[b'A'; 40]
            .iter()
            .chain(b" / HTTP/1.1")
            .copied()
            .collect::<Vec<u8>>()
    ));
    assert!(
        starts_like_request(b"GE"),
        "a segment cut inside a common method"
    );
    assert!(starts_like_request(b"MKCOL /x HTTP/1.1\r\nHost: a\r\n"));
    assert!(
        !starts_like_request(b"MKCOL /x HTTP/1.1"),
        "not a whole line yet"
    );
}

#[test]
fn an_unparsable_request_line_no_longer_abandons_the_connection() {
    let mut f = flow(40000, 80);
    // The head of the first request has a header line with no colon.
    f.up(b"GET /bad HTTP/1.1\r\nHost bad.example\r\n\r\nGET /after HTTP/1.1\r\nHost: after.example\r\n\r\n")
        .down(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(f.requests(), [req("GET", "/after", "after.example")]);
    assert_eq!(f.p.stats.http_unparsable, 1);
    assert_eq!(
        f.p.stats.http_lines_skipped, 3,
        "the bad line, its header, the blank line"
    );
}

#[test]
fn resynchronisation_waits_for_a_whole_line_across_segments() {
    let mut f = flow(40000, 80);
    f.up(b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n")
        .up(b"GET /\x7f\x00 HTTP/1.1\r\nX: y\r\nPOS")
        .up(b"T /form HTTP/1.1\r\nHost: b.example\r\nContent-Length: 3\r\n\r\nabc")
        .up(b"PROPFIND /c HTTP/1.1\r\nHost: c.example\r\n\r\n");
    assert_eq!(
        f.requests(),
        [
            req("GET", "/", "a.example"),
            req("POST", "/form", "b.example"),
            req("PROPFIND", "/c", "c.example")
        ]
    );
}

#[test]
fn an_unparsable_response_resynchronises_at_the_next_status_line() {
    let mut f = flow(40000, 80);
    f.up(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
        .down(
            b"HTTP/1.1 2x0 OK\r\n\r\njunk\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        );
    assert_eq!(f.statuses(), [404]);
}

#[test]
fn a_connection_that_starts_with_a_bad_request_line_still_reads_the_next_request() {
    // As in http-bad-line.pcap: the server's 400 answers the bad line, not the GET.
    let mut f = flow(40000, 80);
    f.up(b"GARBAGE\x01 / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHost: after.example\r\n\r\n")
        .down(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assert_eq!(f.requests(), [req("GET", "/", "after.example")]);
    assert!(f.statuses().is_empty(), "{:?}", f.statuses());
    assert_eq!(f.p.stats.http_unparsable, 1);
    assert_eq!(f.p.stats.http_responses_to_unparsable, 1);
}

#[test]
fn junk_then_a_request_line_in_a_later_segment_is_read() {
    // A capture that starts inside a request body: nothing recognisable at first.
    let mut f = flow(40000, 8081);
    f.up(b"tail of a body\r\nmore\r\n")
        .up(b"GET /next HTTP/1.1\r\nHost: n.example\r\n\r\n");
    assert_eq!(f.requests(), [req("GET", "/next", "n.example")]);
}

#[test]
fn junk_then_a_request_line_in_the_same_segment_is_read() {
    let mut f = flow(40000, 8081);
    f.up(b"\x00\x01 binary\r\nMKCOL /new HTTP/1.1\r\nHost: n.example\r\n\r\n");
    assert_eq!(f.requests(), [req("MKCOL", "/new", "n.example")]);
    assert_eq!(f.p.stats.http_lines_skipped, 1);
}

#[test]
fn a_capture_that_starts_with_the_servers_reply_reads_the_later_requests() {
    // As in http-midstream.pcap: no SYN, the first bytes are a response with a body.
    let mut f = flow(40000, 80);
    f.down(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
        .up(b"GET /two.txt HTTP/1.1\r\nHost: mid.example\r\n\r\n")
        .down(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond");
    assert_eq!(f.requests(), [req("GET", "/two.txt", "mid.example")]);
    assert_eq!(f.statuses(), [200, 200]);
}

#[test]
fn unanswered_requests_are_bounded() {
    let mut f = flow(40000, 80);
    for _ in 0..MAX_PENDING_REQUESTS + 3 {
        f.up(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    }
    assert_eq!(f.requests().len(), MAX_PENDING_REQUESTS + 3);
    assert_eq!(f.p.stats.http_requests_unpaired, 3);
}

#[test]
fn http_inside_a_connect_tunnel_is_read() {
    let mut f = flow(40000, 3128);
    f.up(b"CONNECT a.example:80 HTTP/1.1\r\nHost: a.example:80\r\n\r\n")
        .down(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .up(b"GET /inner HTTP/1.1\r\nHost: a.example\r\n\r\n")
        .down(b"HTTP/1.1 204 No Content\r\n\r\n");
    assert_eq!(
        f.requests(),
        [
            req("CONNECT", "a.example:80", "a.example:80"),
            req("GET", "/inner", "a.example")
        ]
    );
    assert_eq!(f.statuses(), [200, 204]);
    assert!(f.starttls().is_empty(), "no TLS in this tunnel");
}

/// SOCKS5 greeting (no authentication), then CONNECT to a domain name.
fn socks5_connect(f: &mut Flow, name: &str) {
    let mut req = vec![5, 1, 0, 3, name.len() as u8];
    req.extend_from_slice(name.as_bytes());
    req.extend_from_slice(&[0, 80]);
    f.up(&[5, 1, 0]).down(&[5, 0]).up(&req);
    f.down(&[5, 0, 0, 1, 192, 0, 2, 90, 0x1f, 0x90]);
}

#[test]
fn http_after_a_socks5_handshake() {
    let mut f = flow(40000, 1080);
    socks5_connect(&mut f, "behind.example");
    f.up(b"GET / HTTP/1.1\r\nHost: behind.example\r\n\r\n")
        .down(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(f.requests(), [req("GET", "/", "behind.example")]);
    assert_eq!(f.statuses(), [200]);
    assert!(f.starttls().is_empty());
}

#[test]
fn tls_after_a_socks5_handshake_with_user_and_password() {
    let mut f = flow(40000, 61080);
    f.up(&[5, 2, 0, 2]).down(&[5, 2]);
    f.up(&[1, 3, b'j', b'o', b'e', 2, b'p', b'w']).down(&[1, 0]);
    // The request and the ClientHello in one segment (the client did not wait).
    let mut up = vec![5, 1, 0, 1, 192, 0, 2, 92, 1, 187];
    up.extend_from_slice(&client_hello("tls.example"));
    f.up(&up);
    f.down(&[5, 0, 0, 1, 192, 0, 2, 90, 0x1f, 0x90]);
    f.down(&server_hello());
    assert_eq!(f.starttls(), ["socks"]);
    assert_eq!(f.snis(), ["tls.example"]);
    assert_eq!(f.server_hellos(), 1);
}

#[test]
fn http_after_a_socks4a_handshake() {
    let mut f = flow(40000, 1081);
    let mut connect = vec![4, 1, 0, 80, 0, 0, 0, 1, 0];
    connect.extend_from_slice(b"behind.example\0");
    f.up(&connect).down(&[0, 0x5a, 0, 0, 0, 0, 0, 0]);
    f.up(b"GET / HTTP/1.1\r\nHost: behind.example\r\n\r\n");
    assert_eq!(f.requests(), [req("GET", "/", "behind.example")]);
}

#[test]
fn a_refused_socks_request_ends_the_watch_and_is_counted() {
    let mut f = flow(40000, 1080);
    f.up(&[5, 1, 0]).down(&[5, 0]);
    f.up(&[5, 1, 0, 1, 192, 0, 2, 1, 0, 80]);
    f.down(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]); // connection refused
    f.up(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(f.requests().is_empty());
    assert_eq!(f.p.stats.socks_refused, 1);
    let mut f = flow(40000, 1080);
    f.up(&[5, 1, 0]).down(&[5, 0xff]);
    assert_eq!(f.p.stats.socks_refused, 1, "no acceptable method");
}

#[test]
fn tunnels_in_tunnels_are_bounded() {
    // CONNECT inside CONNECT, a thousand deep, all in one segment each way: the flow is
    // given up after MAX_DETECTIONS fresh detections (no unbounded recursion).
    let mut f = flow(40000, 3128);
    let up = b"CONNECT a:80 HTTP/1.1\r\nHost: a:80\r\n\r\n".repeat(1000);
    let down = b"HTTP/1.1 200 OK\r\n\r\n".repeat(1000);
    f.up(&up).down(&down);
    assert_eq!(
        f.statuses().len(),
        usize::from(super::super::MAX_DETECTIONS) + 1
    );
    assert_eq!(f.p.stats.detections_over_limit, 1);
    assert_eq!(f.stops.len(), 2);
}

#[test]
fn bytes_after_a_connect_wait_for_its_answer() {
    // Refused: the request behind the CONNECT is HTTP after all.
    let mut f = flow(40000, 3128);
    f.up(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\nGET http://b/ HTTP/1.1\r\nHost: b\r\n\r\n");
    assert_eq!(
        f.requests().len(),
        1,
        "the GET waits for the CONNECT's answer"
    );
    f.down(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(
        f.requests(),
        [
            req("CONNECT", "a:443", "a:443"),
            req("GET", "http://b/", "b")
        ]
    );
    // Accepted: a ClientHello sent right behind the CONNECT is the tunnel's.
    let mut f = flow(40000, 3128);
    let mut up = b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n".to_vec();
    up.extend_from_slice(&client_hello("a.example"));
    f.up(&up).down(b"HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!(f.starttls(), ["http-connect"]);
    assert_eq!(f.snis(), ["a.example"]);
}

/// A head dropped at a bound of probewatch's (the memory budget across flows, the
/// reassembly buffer) was reported "the capture cut a head, by its snapshot length or a
/// missed segment", for a capture that lost nothing (review finding): the cut carries its
/// cause.
#[test]
fn a_cut_head_carries_what_cut_it() {
    let budget = GapCause::MemoryBudget { bytes: 16 << 20 };
    for cause in [
        GapCause::Snaplen,
        GapCause::NotCaptured,
        GapCause::BufferLimit,
        budget,
    ] {
        let mut f = flow(40000, 80);
        f.up(b"GET /a HTTP/1.1\r\nHost: www.example.com\r\nUser-Ag")
            .gap_of(Dir::Up, cause);
        let cuts: Vec<Option<GapCause>> = f
            .out
            .iter()
            .filter_map(|p| match p {
                Parsed::HttpRequest { req, .. } => Some(req.cut),
                _ => None,
            })
            .collect();
        assert_eq!(cuts, [Some(cause)], "{cause:?}");
    }
}
