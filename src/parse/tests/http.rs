//! HTTP/1 streams: every method, resynchronisation, mid-stream captures, tunnels.

use super::super::http::{is_request_line, starts_like_request};
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
