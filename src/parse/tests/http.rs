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
