#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
use super::*;

use crate::decode::TcpFlags;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const CLIENT: &str = "10.0.0.1:50000";
const SERVER: &str = "10.0.0.2:443";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn c() -> SocketAddr {
    addr(CLIENT)
}

fn s() -> SocketAddr {
    addr(SERVER)
}

/// Capture time in milliseconds.
fn t(ms: i64) -> Timestamp {
    Timestamp::new(ms / 1000, u32::try_from(ms % 1000).unwrap() * 1_000_000)
}

const NONE: TcpFlags = TcpFlags {
    syn: false,
    ack: false,
    fin: false,
    rst: false,
};
const SYN: TcpFlags = TcpFlags { syn: true, ..NONE };
const SYN_ACK: TcpFlags = TcpFlags {
    syn: true,
    ack: true,
    ..NONE
};
const ACK: TcpFlags = TcpFlags { ack: true, ..NONE };
const FIN_ACK: TcpFlags = TcpFlags {
    fin: true,
    ack: true,
    ..NONE
};
const RST_ACK: TcpFlags = TcpFlags {
    rst: true,
    ack: true,
    ..NONE
};

/// One TCP segment, built by hand.
fn seg(
    ms: i64,
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    payload: &[u8],
) -> Segment<'static> {
    Segment {
        ts: t(ms),
        src,
        dst,
        seq,
        ack,
        flags,
        payload: payload.to_vec().into(),
        missing_tail: 0,
        src_mac: None,
    }
}

/// The same, with `missing_tail` bytes cut by the snapshot length.
fn seg_cut(base: Segment<'static>, missing_tail: u32) -> Segment<'static> {
    Segment {
        missing_tail,
        ..base
    }
}

struct Rig {
    r: Reassembler,
    out: Vec<Event>,
}

impl Rig {
    fn new() -> Self {
        Rig::with(Limits::default())
    }

    fn with(limits: Limits) -> Self {
        Rig {
            r: Reassembler::new(limits),
            out: Vec::new(),
        }
    }

    fn push(&mut self, s: Segment) {
        self.r.push(Decoded::Tcp(s), &mut self.out);
    }

    /// Events emitted since the last call (and forgets them).
    fn take(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.out)
    }

    /// Client ISN `ic`, server ISN `is`: SYN, SYN-ACK, ACK at t = 1000..1002 ms.
    fn handshake(&mut self, ic: u32, is: u32) {
        self.push(seg(1000, c(), s(), ic, 0, SYN, b""));
        self.push(seg(1001, s(), c(), is, ic.wrapping_add(1), SYN_ACK, b""));
        self.push(seg(
            1002,
            c(),
            s(),
            ic.wrapping_add(1),
            is.wrapping_add(1),
            ACK,
            b"",
        ));
    }
}

/// A compact, comparable rendering of one event.
fn show(e: &Event) -> String {
    match e {
        Event::Opened {
            flow,
            client,
            server,
            saw_syn,
            ..
        } => format!("Opened#{flow} {client}->{server} syn={saw_syn}"),
        Event::Data {
            flow, dir, data, ..
        } => {
            format!("Data#{flow} {dir:?} {}", String::from_utf8_lossy(data))
        }
        Event::Gap {
            flow,
            dir,
            len,
            cause,
            ..
        } => format!("Gap#{flow} {dir:?} {len} {cause:?}"),
        Event::Fin { flow, dir, .. } => format!("Fin#{flow} {dir:?}"),
        Event::Rst { flow, dir, .. } => format!("Rst#{flow} {dir:?}"),
        Event::Ended { flow, cause, .. } => format!("Ended#{flow} {cause:?}"),
        Event::Datagram(d) => format!("Datagram {}->{}", d.src, d.dst),
    }
}

fn shown(evs: &[Event]) -> Vec<String> {
    evs.iter().map(show).collect()
}

/// The in-order bytes delivered for one direction (all flows).
fn stream(evs: &[Event], want: Dir) -> Vec<u8> {
    let mut v = Vec::new();
    for e in evs {
        if let Event::Data { dir, data, .. } = e {
            if *dir == want {
                v.extend_from_slice(data);
            }
        }
    }
    v
}

fn gaps(evs: &[Event]) -> Vec<(Dir, u64, GapCause)> {
    evs.iter()
        .filter_map(|e| match e {
            Event::Gap {
                dir, len, cause, ..
            } => Some((*dir, *len, *cause)),
            _ => None,
        })
        .collect()
}

fn ended(evs: &[Event]) -> Vec<(FlowId, EndCause, FlowSummary)> {
    evs.iter()
        .filter_map(|e| match e {
            Event::Ended {
                flow,
                cause,
                summary,
                ..
            } => Some((*flow, *cause, summary.clone())),
            _ => None,
        })
        .collect()
}

const IC: u32 = 1000;
const IS: u32 = 5000;

// ---------------------------------------------------------------------------
// Handshake and client detection
// ---------------------------------------------------------------------------

#[test]
fn handshake_in_order_detects_client_and_delivers_both_directions() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    let evs = g.take();
    assert_eq!(
        shown(&evs),
        vec![format!("Opened#1 {CLIENT}->{SERVER} syn=true")]
    );
    match &evs[0] {
        Event::Opened {
            flow,
            ts,
            client,
            server,
            saw_syn,
            client_mac,
        } => {
            assert_eq!(*client_mac, None, "the test segments carry no MAC");
            assert_eq!(*flow, 1);
            assert_eq!(*ts, t(1000));
            assert_eq!(*client, c());
            assert_eq!(*server, s());
            assert!(*saw_syn);
        }
        other => panic!("expected Opened, got {other:?}"),
    }

    g.push(seg(1003, c(), s(), IC + 1, IS + 1, ACK, b"hello "));
    g.push(seg(1004, c(), s(), IC + 7, IS + 1, ACK, b"world"));
    g.push(seg(1005, s(), c(), IS + 1, IC + 12, ACK, b"HTTP/1.1 "));
    g.push(seg(1006, s(), c(), IS + 10, IC + 12, ACK, b"200 OK"));
    g.push(seg(1007, c(), s(), IC + 12, IS + 16, ACK, b"!"));
    let evs = g.take();
    assert_eq!(
        shown(&evs),
        vec![
            "Data#1 Up hello ",
            "Data#1 Up world",
            "Data#1 Down HTTP/1.1 ",
            "Data#1 Down 200 OK",
            "Data#1 Up !",
        ]
    );
    assert_eq!(stream(&evs, Dir::Up), b"hello world!");
    assert_eq!(stream(&evs, Dir::Down), b"HTTP/1.1 200 OK");

    g.r.finish(&mut g.out);
    let end = ended(&g.take());
    assert_eq!(end.len(), 1);
    let (flow, cause, summary) = &end[0];
    assert_eq!((*flow, *cause), (1, EndCause::EndOfCapture));
    assert!(summary.saw_syn);
    assert!(summary.saw_synack);
    assert_eq!(summary.packets(Dir::Up), 5);
    assert_eq!(summary.packets(Dir::Down), 3);
    assert_eq!(summary.payload(Dir::Up), 12);
    assert_eq!(summary.payload(Dir::Down), 15);
    assert_eq!(summary.last_ts, t(1007));

    let st = &g.r.stats;
    assert_eq!(st.flows, 1);
    assert_eq!(st.flows_mid_stream, 0);
    assert_eq!(st.out_of_order_segments, 0);
    assert_eq!(st.retransmitted_bytes, 0);
    assert_eq!(st.gaps_not_captured, 0);
}

#[test]
fn syn_sender_is_client_even_on_a_service_port() {
    // The SYN decides, not the port heuristic: the client uses port 80 here.
    let cl = addr("192.0.2.7:80");
    let sv = addr("192.0.2.8:50001");
    let mut g = Rig::new();
    g.push(seg(0, cl, sv, 10, 0, SYN, b""));
    g.push(seg(1, sv, cl, 20, 11, SYN_ACK, b""));
    g.push(seg(2, cl, sv, 11, 21, ACK, b"up"));
    g.push(seg(3, sv, cl, 21, 13, ACK, b"down"));
    let evs = g.take();
    assert_eq!(
        shown(&evs),
        vec![
            "Opened#1 192.0.2.7:80->192.0.2.8:50001 syn=true",
            "Data#1 Up up",
            "Data#1 Down down",
        ]
    );
}

#[test]
fn synack_first_makes_its_receiver_the_client() {
    let mut g = Rig::new();
    g.push(seg(0, s(), c(), IS, IC + 1, SYN_ACK, b""));
    g.push(seg(1, c(), s(), IC + 1, IS + 1, ACK, b"abc"));
    let evs = g.take();
    assert_eq!(
        shown(&evs),
        vec![
            format!("Opened#1 {CLIENT}->{SERVER} syn=false"),
            "Data#1 Up abc".to_string(),
        ]
    );
    assert_eq!(g.r.stats.flows_mid_stream, 1);
}

#[test]
fn udp_datagrams_pass_through() {
    let mut g = Rig::new();
    let dg = Datagram {
        ts: t(5),
        src: addr("10.0.0.1:5353"),
        dst: addr("10.0.0.53:53"),
        payload: b"query".to_vec(),
        truncated: false,
        src_mac: None,
    };
    g.r.push(Decoded::Udp(dg), &mut g.out);
    let evs = g.take();
    assert_eq!(evs.len(), 1);
    match &evs[0] {
        Event::Datagram(d) => {
            assert_eq!(d.payload, b"query");
            assert_eq!(d.src, addr("10.0.0.1:5353"));
        }
        other => panic!("expected Datagram, got {other:?}"),
    }
    assert_eq!(g.r.flows(), 0);
}

#[test]
fn pure_ack_of_unknown_flow_opens_nothing() {
    let mut g = Rig::new();
    g.push(seg(0, c(), s(), 1, 2, ACK, b""));
    g.push(seg(1, s(), c(), 2, 1, RST_ACK, b""));
    assert!(g.take().is_empty());
    assert_eq!(g.r.flows(), 0);
    assert_eq!(g.r.stats.flows, 0);
}

// ---------------------------------------------------------------------------
// Ordering, retransmission, wrap
// ---------------------------------------------------------------------------

#[test]
fn message_split_over_three_segments_out_of_order() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.take();
    // "GET / HTTP/1.1\r\n" = "GET / " + "HTTP/" + "1.1\r\n", sent 3, 1, 2.
    g.push(seg(1010, c(), s(), IC + 12, IS + 1, ACK, b"1.1\r\n"));
    assert!(g.take().is_empty(), "segment 3 must be held");
    g.push(seg(1011, c(), s(), IC + 1, IS + 1, ACK, b"GET / "));
    g.push(seg(1012, c(), s(), IC + 7, IS + 1, ACK, b"HTTP/"));
    let evs = g.take();
    assert_eq!(
        shown(&evs),
        vec!["Data#1 Up GET / ", "Data#1 Up HTTP/", "Data#1 Up 1.1\r\n"]
    );
    assert_eq!(stream(&evs, Dir::Up), b"GET / HTTP/1.1\r\n");
    assert_eq!(g.r.stats.out_of_order_segments, 1);
    assert_eq!(g.r.stats.retransmitted_bytes, 0);
    assert!(gaps(&evs).is_empty());
    assert_eq!(g.r.stats.peak_buffered_bytes, 5);
}

#[test]
fn retransmission_and_partial_overlap_delivered_once() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.take();
    g.push(seg(1010, c(), s(), IC + 1, IS + 1, ACK, b"abcdefghij"));
    // Exact duplicate.
    g.push(seg(1011, c(), s(), IC + 1, IS + 1, ACK, b"abcdefghij"));
    // Partial overlap: 5 old bytes, 5 new ones (old copy wins for the overlap).
    g.push(seg(1012, c(), s(), IC + 6, IS + 1, ACK, b"XXXXXklmno"));
    // Overlap that lies wholly inside what was delivered.
    g.push(seg(1013, c(), s(), IC + 3, IS + 1, ACK, b"cde"));
    g.push(seg(1014, c(), s(), IC + 16, IS + 1, ACK, b"pq"));
    let evs = g.take();
    assert_eq!(
        shown(&evs),
        vec!["Data#1 Up abcdefghij", "Data#1 Up klmno", "Data#1 Up pq"]
    );
    assert_eq!(stream(&evs, Dir::Up), b"abcdefghijklmnopq");
    assert_eq!(g.r.stats.retransmitted_bytes, 10 + 5 + 3);
    assert!(gaps(&evs).is_empty());
}

#[test]
fn overlapping_out_of_order_segments_are_merged() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.take();
    // Two held segments that overlap each other, then the hole is filled.
    g.push(seg(1010, c(), s(), IC + 5, IS + 1, ACK, b"56789"));
    g.push(seg(1011, c(), s(), IC + 8, IS + 1, ACK, b"89ABC"));
    g.push(seg(1012, c(), s(), IC + 1, IS + 1, ACK, b"1234"));
    let evs = g.take();
    assert_eq!(stream(&evs, Dir::Up), b"123456789ABC");
    assert_eq!(g.r.stats.out_of_order_segments, 2);
}

#[test]
fn sequence_numbers_wrap_around() {
    let isn: u32 = 0xFFFF_FFF0;
    let mut g = Rig::new();
    g.handshake(isn, IS);
    g.take();
    let msg: Vec<u8> = (0u8..40).map(|i| b'A' + (i % 26)).collect();
    // 40 bytes from 0xFFFF_FFF1 in 4 segments of 10: the third starts after the wrap.
    for (i, chunk) in msg.chunks(10).enumerate() {
        let seq = isn.wrapping_add(1).wrapping_add(10 * i as u32);
        g.push(seg(1010 + i as i64, c(), s(), seq, IS + 1, ACK, chunk));
        // The server acknowledges each one (acks wrap too): never a gap.
        let ack = seq.wrapping_add(10);
        g.push(seg(1010 + i as i64, s(), c(), IS + 1, ack, ACK, b""));
    }
    assert_eq!(isn.wrapping_add(1).wrapping_add(20), 0x0000_0005);
    let evs = g.take();
    assert_eq!(stream(&evs, Dir::Up), msg);
    assert_eq!(
        evs.iter()
            .filter(|e| matches!(e, Event::Data { .. }))
            .count(),
        4
    );
    assert!(gaps(&evs).is_empty());
    assert_eq!(g.r.stats.out_of_order_segments, 0);
}

#[test]
fn sequence_wrap_with_out_of_order_segments() {
    let isn: u32 = 0xFFFF_FFF0;
    let mut g = Rig::new();
    g.handshake(isn, IS);
    g.take();
    let msg: Vec<u8> = (0u8..40).map(|i| b'a' + (i % 26)).collect();
    let seqs: Vec<u32> = (0..4)
        .map(|i| isn.wrapping_add(1).wrapping_add(10 * i))
        .collect();
    // After the wrap first (segments 3 and 4), then 2, then 1.
    for i in [3usize, 2, 1, 0] {
        g.push(seg(
            1010,
            c(),
            s(),
            seqs[i],
            IS + 1,
            ACK,
            &msg[i * 10..i * 10 + 10],
        ));
    }
    let evs = g.take();
    assert_eq!(stream(&evs, Dir::Up), msg);
    assert!(gaps(&evs).is_empty());
    assert_eq!(g.r.stats.out_of_order_segments, 3);
}

// ---------------------------------------------------------------------------
// Joining mid-stream
// ---------------------------------------------------------------------------

#[test]
fn missing_syn_first_segment_from_client() {
    let mut g = Rig::new();
    g.push(seg(0, c(), s(), 7000, 9000, ACK, b"\x16\x03\x01hello"));
    g.push(seg(1, s(), c(), 9000, 7008, ACK, b"\x16\x03\x03world"));
    g.push(seg(2, c(), s(), 7008, 9008, ACK, b"more"));
    let evs = g.take();
    assert_eq!(
        shown(&evs)[0],
        format!("Opened#1 {CLIENT}->{SERVER} syn=false")
    );
    match &evs[0] {
        Event::Opened {
            client,
            server,
            saw_syn,
            ..
        } => {
            assert_eq!((*client, *server, *saw_syn), (c(), s(), false));
        }
        other => panic!("expected Opened, got {other:?}"),
    }
    assert_eq!(stream(&evs, Dir::Up), b"\x16\x03\x01hellomore");
    assert_eq!(stream(&evs, Dir::Down), b"\x16\x03\x03world");
    assert!(gaps(&evs).is_empty());
    assert_eq!(g.r.stats.flows, 1);
    assert_eq!(g.r.stats.flows_mid_stream, 1);
}

#[test]
fn missing_syn_first_segment_from_server() {
    let mut g = Rig::new();
    // The first packet seen is the server's (source port 443).
    g.push(seg(0, s(), c(), 9000, 7000, ACK, b"server-first"));
    g.push(seg(1, c(), s(), 7000, 9012, ACK, b"client"));
    let evs = g.take();
    assert_eq!(
        shown(&evs),
        vec![
            format!("Opened#1 {CLIENT}->{SERVER} syn=false"),
            "Data#1 Down server-first".to_string(),
            "Data#1 Up client".to_string(),
        ]
    );
    assert_eq!(g.r.stats.flows_mid_stream, 1);
}

#[test]
fn missing_syn_without_service_port_picks_the_higher_port_as_client() {
    let hi = addr("10.1.1.1:51000");
    let lo = addr("10.1.1.2:40000");
    for (src, dst) in [(hi, lo), (lo, hi)] {
        let mut g = Rig::new();
        g.push(seg(0, src, dst, 1, 1, ACK, b"x"));
        let evs = g.take();
        assert_eq!(
            shown(&evs)[0],
            "Opened#1 10.1.1.1:51000->10.1.1.2:40000 syn=false"
        );
    }
    // A well-known alternative service port (8443) counts as a server port.
    let cl = addr("10.1.1.1:2000");
    let sv = addr("10.1.1.2:8443");
    let mut g = Rig::new();
    g.push(seg(0, sv, cl, 1, 1, ACK, b"x"));
    assert_eq!(
        shown(&g.take())[0],
        "Opened#1 10.1.1.1:2000->10.1.1.2:8443 syn=false"
    );
}

#[test]
fn missing_syn_content_tells_the_server_between_unlisted_ports() {
    // Only the server's packets (asymmetric routing), the server on a high port: its
    // ServerHello (or an HTTP status line) makes it the server whatever the ports say.
    let sv = addr("10.1.1.2:51000");
    let cl = addr("10.1.1.1:40000");
    for first in [
        &[0x16, 3, 3, 0, 80, 2, 0, 0, 76][..],
        b"HTTP/1.1 200 OK\r\n",
    ] {
        let mut g = Rig::new();
        g.push(seg(0, sv, cl, 1, 1, ACK, first));
        let evs = g.take();
        assert_eq!(
            shown(&evs)[0],
            "Opened#1 10.1.1.1:40000->10.1.1.2:51000 syn=false"
        );
        assert!(
            shown(&evs)[1].starts_with("Data#1 Down"),
            "{:?}",
            shown(&evs)
        );
    }
    // A ClientHello makes its sender the client, even from a service port.
    let mut g = Rig::new();
    g.push(seg(
        0,
        addr("10.1.1.1:443"),
        addr("10.1.1.2:40000"),
        1,
        1,
        ACK,
        &[0x16, 3, 1, 0, 80, 1, 0, 0, 76],
    ));
    assert_eq!(
        shown(&g.take())[0],
        "Opened#1 10.1.1.1:443->10.1.1.2:40000 syn=false"
    );
}

// ---------------------------------------------------------------------------
// Gaps
// ---------------------------------------------------------------------------

#[test]
fn hole_acked_by_peer_is_a_not_captured_gap() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.take();
    g.push(seg(1010, c(), s(), IC + 1, IS + 1, ACK, b"AAAAAAAAAA"));
    // IC + 11 .. IC + 21 ("BBBBBBBBBB") is never captured.
    g.push(seg(1012, c(), s(), IC + 21, IS + 1, ACK, b"CCCCCCCCCC"));
    assert_eq!(shown(&g.take()), vec!["Data#1 Up AAAAAAAAAA"]);
    // The server acknowledges everything, the missing bytes included.
    g.push(seg(1013, s(), c(), IS + 1, IC + 31, ACK, b""));
    let evs = g.take();
    assert_eq!(
        shown(&evs),
        vec!["Gap#1 Up 10 NotCaptured", "Data#1 Up CCCCCCCCCC"]
    );
    match &evs[0] {
        Event::Gap { ts, .. } => assert_eq!(*ts, t(1013)),
        other => panic!("expected Gap, got {other:?}"),
    }
    // Later data follows on normally.
    g.push(seg(1014, c(), s(), IC + 31, IS + 1, ACK, b"DD"));
    assert_eq!(shown(&g.take()), vec!["Data#1 Up DD"]);
    assert_eq!(g.r.stats.gaps_not_captured, 1);
    assert_eq!(g.r.stats.out_of_order_segments, 1);
}

#[test]
fn ack_beyond_delivered_bytes_without_later_data_is_a_gap() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.take();
    g.push(seg(1010, c(), s(), IC + 1, IS + 1, ACK, b"0123"));
    // 6 bytes never captured, acknowledged by the server.
    g.push(seg(1011, s(), c(), IS + 1, IC + 11, ACK, b""));
    g.push(seg(1012, c(), s(), IC + 11, IS + 1, ACK, b"xyz"));
    assert_eq!(
        shown(&g.take()),
        vec!["Data#1 Up 0123", "Gap#1 Up 6 NotCaptured", "Data#1 Up xyz"]
    );
    // Old (duplicate) ACKs do not produce gaps.
    g.push(seg(1013, s(), c(), IS + 1, IC + 5, ACK, b""));
    g.push(seg(1014, s(), c(), IS + 1, IC + 14, ACK, b""));
    assert!(g.take().is_empty());
    assert_eq!(g.r.stats.gaps_not_captured, 1);
}

#[test]
fn ack_of_fin_is_not_a_gap() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.take();
    // Data with FIN in the same segment; the ACK covers the FIN's sequence number.
    g.push(seg(1010, c(), s(), IC + 1, IS + 1, FIN_ACK, b"bye"));
    g.push(seg(1011, s(), c(), IS + 1, IC + 5, ACK, b""));
    // Server: data, then a bare FIN; the client's ACK covers it.
    g.push(seg(1012, s(), c(), IS + 1, IC + 5, ACK, b"ok"));
    g.push(seg(1013, s(), c(), IS + 3, IC + 5, FIN_ACK, b""));
    g.push(seg(1014, c(), s(), IC + 5, IS + 4, ACK, b""));
    let evs = g.take();
    assert_eq!(
        shown(&evs),
        vec!["Data#1 Up bye", "Fin#1 Up", "Data#1 Down ok", "Fin#1 Down",]
    );
    assert!(gaps(&evs).is_empty());
    assert_eq!(g.r.stats.gaps_not_captured, 0);
    // Closed on both sides: ends after the linger.
    g.r.expire(t(1014 + 1000), &mut g.out);
    assert!(g.take().is_empty());
    g.r.expire(t(1014 + 2500), &mut g.out);
    let evs = g.take();
    assert_eq!(shown(&evs), vec!["Ended#1 Closed"]);
    let (_, _, summary) = &ended(&evs)[0];
    assert_eq!(summary.fin(Dir::Up), Some(t(1010)));
    assert_eq!(summary.fin(Dir::Down), Some(t(1013)));
    assert_eq!(g.r.stats.flows_ended_idle, 0);
}

#[test]
fn snaplen_cut_segment_is_data_then_snaplen_gap() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.take();
    // 10 bytes on the wire, 4 captured.
    g.push(seg_cut(
        seg(1010, c(), s(), IC + 1, IS + 1, ACK, b"abcd"),
        6,
    ));
    g.push(seg(1011, c(), s(), IC + 11, IS + 1, ACK, b"xyz"));
    // The server's ACK for all of it is not another gap.
    g.push(seg(1012, s(), c(), IS + 1, IC + 14, ACK, b""));
    let evs = g.take();
    assert_eq!(
        shown(&evs),
        vec!["Data#1 Up abcd", "Gap#1 Up 6 Snaplen", "Data#1 Up xyz"]
    );
    assert_eq!(gaps(&evs), vec![(Dir::Up, 6, GapCause::Snaplen)]);
    assert_eq!(g.r.stats.gaps_snaplen, 1);
    assert_eq!(g.r.stats.gaps_not_captured, 0);
    g.r.finish(&mut g.out);
    let (_, _, summary) = &ended(&g.take())[0];
    // The cut bytes were on the wire: they count as payload.
    assert_eq!(summary.payload(Dir::Up), 13);
}

#[test]
fn snaplen_cut_segment_with_no_captured_payload() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.take();
    g.push(seg_cut(seg(1010, c(), s(), IC + 1, IS + 1, ACK, b""), 1400));
    g.push(seg(1011, c(), s(), IC + 1401, IS + 1, ACK, b"next"));
    assert_eq!(
        shown(&g.take()),
        vec!["Gap#1 Up 1400 Snaplen", "Data#1 Up next"]
    );
}

// ---------------------------------------------------------------------------
// Bounds
// ---------------------------------------------------------------------------

fn ten(ch: u8) -> Vec<u8> {
    vec![ch; 10]
}

#[test]
fn max_holes_gives_up_the_first_hole() {
    let mut g = Rig::with(Limits {
        max_holes: 2,
        ..Limits::default()
    });
    g.handshake(IC, IS);
    g.take();
    let mut all = Vec::new();
    g.push(seg(1010, c(), s(), IC + 1, IS + 1, ACK, &ten(b'a')));
    // IC + 11 .. IC + 21 is missing; four segments beyond the hole.
    g.push(seg(1011, c(), s(), IC + 21, IS + 1, ACK, &ten(b'c')));
    g.push(seg(1012, c(), s(), IC + 31, IS + 1, ACK, &ten(b'd')));
    let evs = g.take();
    assert_eq!(shown(&evs), vec!["Data#1 Up aaaaaaaaaa"]);
    all.extend(evs);
    // The third held segment exceeds max_holes: the hole is given up.
    g.push(seg(1013, c(), s(), IC + 41, IS + 1, ACK, &ten(b'e')));
    let evs = g.take();
    assert_eq!(
        shown(&evs)[..3],
        [
            "Gap#1 Up 10 BufferLimit",
            "Data#1 Up cccccccccc",
            "Data#1 Up dddddddddd"
        ]
    );
    all.extend(evs);
    g.push(seg(1014, c(), s(), IC + 51, IS + 1, ACK, &ten(b'f')));
    all.extend(g.take());
    assert!(g.r.stats.gaps_buffer_limit > 0);
    assert_eq!(g.r.stats.gaps_buffer_limit, 1);
    assert_eq!(g.r.stats.gaps_not_captured, 0);
    assert!(g.r.stats.out_of_order_segments >= 3);
    // By the end of the capture every captured byte past the hole was delivered once.
    g.r.finish(&mut g.out);
    all.extend(g.take());
    assert_eq!(gaps(&all), vec![(Dir::Up, 10, GapCause::BufferLimit)]);
    let mut want = Vec::new();
    for ch in [b'a', b'c', b'd', b'e', b'f'] {
        want.extend(ten(ch));
    }
    assert_eq!(stream(&all, Dir::Up), want);
}

/// After the first hole is given up, the segment that triggered it starts exactly where
/// the stream now is: it must be delivered at once, and the flow must keep going.
#[test]

fn after_buffer_limit_the_stream_keeps_flowing() {
    let mut g = Rig::with(Limits {
        max_holes: 2,
        ..Limits::default()
    });
    g.handshake(IC, IS);
    g.take();
    g.push(seg(1010, c(), s(), IC + 1, IS + 1, ACK, &ten(b'a')));
    g.push(seg(1011, c(), s(), IC + 21, IS + 1, ACK, &ten(b'c')));
    g.push(seg(1012, c(), s(), IC + 31, IS + 1, ACK, &ten(b'd')));
    g.push(seg(1013, c(), s(), IC + 41, IS + 1, ACK, &ten(b'e')));
    g.push(seg(1014, c(), s(), IC + 51, IS + 1, ACK, &ten(b'f')));
    g.push(seg(1015, c(), s(), IC + 61, IS + 1, ACK, &ten(b'g')));
    g.push(seg(1016, c(), s(), IC + 71, IS + 1, ACK, &ten(b'h')));
    let evs = g.take();
    assert_eq!(
        shown(&evs),
        vec![
            "Data#1 Up aaaaaaaaaa",
            "Gap#1 Up 10 BufferLimit",
            "Data#1 Up cccccccccc",
            "Data#1 Up dddddddddd",
            "Data#1 Up eeeeeeeeee",
            "Data#1 Up ffffffffff",
            "Data#1 Up gggggggggg",
            "Data#1 Up hhhhhhhhhh",
        ]
    );
}

#[test]
fn max_buffer_gives_up_the_first_hole() {
    let mut g = Rig::with(Limits {
        max_buffer: 25,
        ..Limits::default()
    });
    g.handshake(IC, IS);
    g.take();
    g.push(seg(1010, c(), s(), IC + 1, IS + 1, ACK, &ten(b'a')));
    g.push(seg(1011, c(), s(), IC + 21, IS + 1, ACK, &ten(b'c')));
    g.push(seg(1012, c(), s(), IC + 31, IS + 1, ACK, &ten(b'd')));
    assert_eq!(g.r.stats.peak_buffered_bytes, 20);
    // 30 bytes held would exceed 25.
    g.push(seg(1013, c(), s(), IC + 41, IS + 1, ACK, &ten(b'e')));
    let evs = g.take();
    assert_eq!(
        shown(&evs)[..4],
        [
            "Data#1 Up aaaaaaaaaa",
            "Gap#1 Up 10 BufferLimit",
            "Data#1 Up cccccccccc",
            "Data#1 Up dddddddddd"
        ]
    );
    assert_eq!(g.r.stats.gaps_buffer_limit, 1);
    assert!(g.r.stats.peak_buffered_bytes <= 25);
}

#[test]
fn max_flows_evicts_the_least_recently_active() {
    let mut g = Rig::with(Limits {
        max_flows: 2,
        ..Limits::default()
    });
    let c1 = addr("10.0.0.1:50001");
    let c2 = addr("10.0.0.1:50002");
    let c3 = addr("10.0.0.1:50003");
    g.push(seg(1000, c1, s(), 100, 0, SYN, b""));
    g.push(seg(2000, c2, s(), 200, 0, SYN, b""));
    // Flow 1 is active again: flow 2 is now the least recently active.
    g.push(seg(3000, c1, s(), 101, 0, ACK, b"one"));
    g.take();
    g.push(seg(4000, c3, s(), 300, 0, SYN, b""));
    let evs = g.take();
    assert_eq!(
        shown(&evs),
        vec![
            "Ended#2 Evicted".to_string(),
            format!("Opened#3 10.0.0.1:50003->{SERVER} syn=true"),
        ]
    );
    match &evs[0] {
        Event::Ended { ts, .. } => assert_eq!(*ts, t(4000)),
        other => panic!("expected Ended, got {other:?}"),
    }
    assert_eq!(g.r.stats.flows_evicted, 1);
    assert_eq!(g.r.stats.flows, 3);
    assert_eq!(g.r.stats.peak_flows, 2);
    assert_eq!(g.r.flows(), 2);
    // Flow 1 survived.
    g.push(seg(4001, c1, s(), 104, 0, ACK, b"two"));
    assert_eq!(shown(&g.take()), vec!["Data#1 Up two"]);
}

#[test]
fn idle_flow_expires() {
    let mut g = Rig::with(Limits {
        idle_secs: 30.0,
        ..Limits::default()
    });
    g.handshake(IC, IS);
    g.push(seg(10_000, c(), s(), IC + 1, IS + 1, ACK, b"hi"));
    g.take();
    // Not idle long enough.
    g.r.expire(t(39_000), &mut g.out);
    assert!(g.take().is_empty());
    assert_eq!(g.r.flows(), 1);
    g.r.expire(t(40_001), &mut g.out);
    let evs = g.take();
    assert_eq!(shown(&evs), vec!["Ended#1 Idle"]);
    match &evs[0] {
        Event::Ended { ts, summary, .. } => {
            assert_eq!(*ts, t(40_001));
            assert_eq!(summary.last_ts, t(10_000));
        }
        other => panic!("expected Ended, got {other:?}"),
    }
    assert_eq!(g.r.stats.flows_ended_idle, 1);
    assert_eq!(g.r.flows(), 0);
    // Nothing left for finish().
    g.r.finish(&mut g.out);
    assert!(g.take().is_empty());
}

// ---------------------------------------------------------------------------
// stop(), finish(), RST, port reuse
// ---------------------------------------------------------------------------

#[test]
fn stop_skips_later_bytes_of_that_direction() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.push(seg(1010, c(), s(), IC + 1, IS + 1, ACK, b"hello"));
    g.take();
    g.r.stop(c(), s(), Dir::Up);
    g.push(seg(1011, c(), s(), IC + 6, IS + 1, ACK, &[7u8; 20]));
    g.push(seg_cut(
        seg(1012, c(), s(), IC + 26, IS + 1, ACK, &[8u8; 4]),
        6,
    ));
    // A server ACK far beyond what the client sent is not a gap for a stopped side.
    g.push(seg(1013, s(), c(), IS + 1, IC + 5000, ACK, b"still here"));
    let evs = g.take();
    assert_eq!(shown(&evs), vec!["Data#1 Down still here"]);
    assert_eq!(g.r.stats.bytes_skipped_after_handshake, 30);
    assert_eq!(g.r.stats.gaps_not_captured, 0);
}

#[test]
fn stop_frees_bytes_held_out_of_order() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.push(seg(1010, c(), s(), IC + 11, IS + 1, ACK, &[1u8; 10]));
    g.take();
    g.r.stop(s(), c(), Dir::Up); // endpoint order does not matter
    g.push(seg(1011, c(), s(), IC + 1, IS + 1, ACK, &[2u8; 10]));
    assert!(g.take().is_empty());
    g.r.finish(&mut g.out);
    // Nothing held remains to be flushed at the end.
    assert_eq!(shown(&g.take()), vec!["Ended#1 EndOfCapture"]);
    assert_eq!(g.r.stats.bytes_skipped_after_handshake, 10);
}

#[test]
fn finish_flushes_held_data_across_the_hole() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.push(seg(1010, c(), s(), IC + 1, IS + 1, ACK, b"first"));
    g.push(seg(1011, c(), s(), IC + 16, IS + 1, ACK, b"third"));
    g.push(seg(1012, s(), c(), IS + 1, IC + 6, ACK, b"resp"));
    g.take();
    g.r.finish(&mut g.out);
    let evs = g.take();
    assert_eq!(
        shown(&evs),
        vec![
            "Gap#1 Up 10 NotCaptured",
            "Data#1 Up third",
            "Ended#1 EndOfCapture"
        ]
    );
    for e in &evs {
        match e {
            Event::Gap { ts, .. } | Event::Data { ts, .. } | Event::Ended { ts, .. } => {
                assert_eq!(*ts, t(1012), "finish uses the flow's last packet time");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(g.r.stats.gaps_not_captured, 1);
    assert_eq!(g.r.flows(), 0);
}

#[test]
fn finish_ends_flows_in_the_order_they_started() {
    let mut g = Rig::new();
    for port in [50010u16, 50005, 50020] {
        let cl = SocketAddr::new(c().ip(), port);
        g.push(seg(i64::from(port), cl, s(), 1, 0, SYN, b""));
    }
    g.take();
    g.r.finish(&mut g.out);
    assert_eq!(
        shown(&g.take()),
        vec![
            "Ended#1 EndOfCapture",
            "Ended#2 EndOfCapture",
            "Ended#3 EndOfCapture"
        ]
    );
}

#[test]
fn rst_is_reported_with_its_direction() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.push(seg(1010, c(), s(), IC + 1, IS + 1, ACK, b"GET"));
    g.push(seg(1011, s(), c(), IS + 1, IC + 4, RST_ACK, b""));
    // A second RST from the same side is reported once.
    g.push(seg(1012, s(), c(), IS + 1, IC + 4, RST_ACK, b""));
    g.push(seg(
        1013,
        c(),
        s(),
        IC + 4,
        0,
        TcpFlags { rst: true, ..NONE },
        b"",
    ));
    let evs = g.take();
    assert_eq!(
        shown(&evs),
        vec![
            format!("Opened#1 {CLIENT}->{SERVER} syn=true"),
            "Data#1 Up GET".to_string(),
            "Rst#1 Down".to_string(),
            "Rst#1 Up".to_string(),
        ]
    );
    match &evs[2] {
        Event::Rst { ts, dir, .. } => {
            assert_eq!(*ts, t(1011));
            assert_eq!(*dir, Dir::Down);
        }
        other => panic!("expected Rst, got {other:?}"),
    }
    g.r.finish(&mut g.out);
    let end = ended(&g.take());
    let (_, cause, summary) = &end[0];
    assert_eq!(*cause, EndCause::Closed);
    assert_eq!(summary.rst(Dir::Down), Some(t(1011)));
    assert_eq!(summary.rst(Dir::Up), Some(t(1013)));
}

#[test]
fn port_reuse_new_syn_ends_the_old_flow() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.push(seg(1010, c(), s(), IC + 1, IS + 1, FIN_ACK, b"old"));
    g.push(seg(1011, s(), c(), IS + 1, IC + 5, FIN_ACK, b""));
    g.push(seg(1012, c(), s(), IC + 5, IS + 2, ACK, b""));
    g.take();
    // Same 4-tuple, a new ISN.
    let ic2: u32 = 900_000;
    let is2: u32 = 700_000;
    g.push(seg(1500, c(), s(), ic2, 0, SYN, b""));
    let evs = g.take();
    assert_eq!(
        shown(&evs),
        vec![
            "Ended#1 Closed".to_string(),
            format!("Opened#2 {CLIENT}->{SERVER} syn=true"),
        ]
    );
    g.push(seg(1501, s(), c(), is2, ic2 + 1, SYN_ACK, b""));
    g.push(seg(1502, c(), s(), ic2 + 1, is2 + 1, ACK, b"new"));
    g.push(seg(1503, s(), c(), is2 + 1, ic2 + 4, ACK, b"reply"));
    let evs = g.take();
    assert_eq!(shown(&evs), vec!["Data#2 Up new", "Data#2 Down reply"]);
    assert!(gaps(&evs).is_empty());
    assert_eq!(g.r.stats.flows, 2);
    assert_eq!(g.r.flows(), 1);
}

#[test]
fn retransmitted_syn_does_not_restart_the_flow() {
    let mut g = Rig::new();
    g.push(seg(0, c(), s(), IC, 0, SYN, b""));
    g.push(seg(1000, c(), s(), IC, 0, SYN, b""));
    g.push(seg(1001, s(), c(), IS, IC + 1, SYN_ACK, b""));
    g.push(seg(1002, c(), s(), IC + 1, IS + 1, ACK, b"x"));
    assert_eq!(
        shown(&g.take()),
        vec![
            format!("Opened#1 {CLIENT}->{SERVER} syn=true"),
            "Data#1 Up x".to_string()
        ]
    );
    assert_eq!(g.r.stats.flows, 1);
}

// ---------------------------------------------------------------------------
// Regressions: bugs these tests found, now fixed
// ---------------------------------------------------------------------------

/// A FIN that follows a hole: the peer's ACK covers the missing bytes and the FIN's
/// sequence number; the gap is the missing bytes only.
#[test]

fn gap_before_fin_does_not_count_the_fin() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.push(seg(1010, c(), s(), IC + 1, IS + 1, ACK, b"0123456789"));
    // IC + 11 .. IC + 21 never captured; then a bare FIN at IC + 21.
    g.push(seg(1012, c(), s(), IC + 21, IS + 1, FIN_ACK, b""));
    g.take();
    g.push(seg(1013, s(), c(), IS + 1, IC + 22, ACK, b""));
    assert_eq!(shown(&g.take()), vec!["Gap#1 Up 10 NotCaptured"]);
}

/// An out-of-order segment cut by the snapshot length: its missing tail must become a
/// Snaplen gap when it is delivered, and the stream must continue after it.
#[test]

fn snaplen_cut_out_of_order_segment_keeps_its_gap() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.take();
    // Segment 2 (10 bytes on the wire, 4 captured) arrives before segment 1.
    g.push(seg_cut(
        seg(1010, c(), s(), IC + 11, IS + 1, ACK, b"bbbb"),
        6,
    ));
    g.push(seg(1011, c(), s(), IC + 1, IS + 1, ACK, b"aaaaaaaaaa"));
    g.push(seg(1012, c(), s(), IC + 21, IS + 1, ACK, b"ccc"));
    assert_eq!(
        shown(&g.take()),
        vec![
            "Data#1 Up aaaaaaaaaa",
            "Data#1 Up bbbb",
            "Gap#1 Up 6 Snaplen",
            "Data#1 Up ccc"
        ]
    );
}

/// Joining mid-stream, a segment that starts before the first sequence number seen
/// (a repacketised retransmission) must not deliver already-delivered bytes again.
#[test]

fn mid_stream_segment_starting_before_base_is_not_duplicated() {
    let mut g = Rig::new();
    g.push(seg(0, c(), s(), 1000, 1, ACK, b"BBBBBBBBBB"));
    // Covers 990..1020: 10 bytes before the first seen, 10 already delivered, 10 new.
    g.push(seg(
        1,
        c(),
        s(),
        990,
        1,
        ACK,
        b"AAAAAAAAAABBBBBBBBBBCCCCCCCCCC",
    ));
    let evs = g.take();
    let up = stream(&evs, Dir::Up);
    assert_eq!(
        String::from_utf8_lossy(&up),
        "BBBBBBBBBBCCCCCCCCCC",
        "no byte may be delivered twice"
    );
}

// ---------------------------------------------------------------------------
// Overlaps that must not fool the reassembler (issue 14)
// ---------------------------------------------------------------------------

/// Deterministic pseudo-random numbers.
fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn overlapping_retransmissions_with_the_same_bytes_are_counted_never_over_a_bound() {
    // A 3 KB message sent 50,000 times in random overlapping pieces ahead of its first
    // byte, then whole: held bytes never exceed the message, the stream is whole.
    let msg: Vec<u8> = (0..3000u32).map(|i| (i * 7 + 3) as u8).collect();
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.take();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..50_000 {
        let a = 1 + (xorshift(&mut x) % 2999) as usize;
        let len = 1 + (xorshift(&mut x) % 400) as usize;
        let b = (a + len).min(msg.len());
        let seq = IC + 1 + a as u32;
        g.push(seg(1010 + i / 1000, c(), s(), seq, IS + 1, ACK, &msg[a..b]));
        assert!(g.r.buffered <= msg.len(), "held {} bytes", g.r.buffered);
    }
    g.push(seg(1100, c(), s(), IC + 1, IS + 1, ACK, &msg));
    let evs = g.take();
    assert_eq!(stream(&evs, Dir::Up), msg);
    assert!(gaps(&evs).is_empty(), "{:?}", gaps(&evs));
    assert_eq!(g.r.stats.gaps_buffer_limit, 0);
    assert_eq!(g.r.stats.conflicting_bytes, 0);
    assert!(g.r.stats.retransmitted_bytes > 1_000_000);
    assert!(g.r.stats.peak_buffered_bytes <= msg.len() as u64);
}

#[test]
fn conflicting_overlap_is_counted_and_the_first_copy_kept() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.take();
    // Held ahead of a hole: "EFGH" at 4..8.
    g.push(seg(1010, c(), s(), IC + 5, IS + 1, ACK, b"EFGH"));
    // Another copy of 4..10 with different bytes at 4..8: counted, the first copy kept,
    // its new part (8..10) held.
    g.push(seg(1011, c(), s(), IC + 5, IS + 1, ACK, b"efgXIJ"));
    // The hole, overlapping the held copy at 3..5 with a conflicting byte at 4.
    g.push(seg(1012, c(), s(), IC + 1, IS + 1, ACK, b"ABCDz"));
    let evs = g.take();
    assert_eq!(stream(&evs, Dir::Up), b"ABCDEFGHIJ");
    // 4 conflicting bytes (e f g X against E F G H), then z against E.
    assert_eq!(g.r.stats.conflicting_bytes, 5);
    assert_eq!(g.r.stats.conflicting_segments, 2);
    assert!(gaps(&evs).is_empty());
}

#[test]
fn overlap_across_a_record_boundary_is_delivered_once() {
    // Two TLS-like records of 5 + 6 bytes; pieces straddle the boundary out of order.
    let rec = b"\x16\x03\x01\x00\x00\x16\x03\x01\x00\x01Z";
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.take();
    g.push(seg(1010, c(), s(), IC + 1 + 3, IS + 1, ACK, &rec[3..8]));
    g.push(seg(1011, c(), s(), IC + 1 + 6, IS + 1, ACK, &rec[6..11]));
    g.push(seg(1012, c(), s(), IC + 1 + 2, IS + 1, ACK, &rec[2..9]));
    g.push(seg(1013, c(), s(), IC + 1, IS + 1, ACK, &rec[0..4]));
    let evs = g.take();
    assert_eq!(stream(&evs, Dir::Up), rec);
    assert_eq!(g.r.stats.conflicting_bytes, 0);
    assert!(gaps(&evs).is_empty());
}

#[test]
fn retransmitted_hello_after_a_gap_is_not_delivered_twice() {
    let mut g = Rig::new();
    g.handshake(IC, IS);
    g.take();
    // Bytes 10..20 held, the server ACKs past the hole 0..10 (not captured), then the
    // whole 0..20 is retransmitted.
    g.push(seg(1010, c(), s(), IC + 11, IS + 1, ACK, b"KLMNOPQRST"));
    g.push(seg(1011, s(), c(), IS + 1, IC + 11, ACK, b""));
    g.push(seg(
        1012,
        c(),
        s(),
        IC + 1,
        IS + 1,
        ACK,
        b"ABCDEFGHIJKLMNOPQRST",
    ));
    let evs = g.take();
    assert_eq!(
        gaps(&evs),
        vec![(Dir::Up, 10, GapCause::NotCaptured)],
        "the hole the server acknowledged"
    );
    assert_eq!(stream(&evs, Dir::Up), b"KLMNOPQRST");
    assert_eq!(g.r.stats.retransmitted_bytes, 20);
}

#[test]
fn several_synacks_with_different_isns_follow_the_one_the_data_follows() {
    let (a, b) = (0x1111_0000_u32, 0x7777_0000_u32);
    let mut g = Rig::new();
    g.push(seg(1000, c(), s(), IC, 0, SYN, b""));
    g.push(seg(1001, s(), c(), a, IC + 1, SYN_ACK, b""));
    // The server answers again with another ISN; the client acknowledges that one.
    g.push(seg(1002, s(), c(), b, IC + 1, SYN_ACK, b""));
    g.push(seg(1003, c(), s(), IC + 1, b + 1, ACK, b"hello"));
    g.push(seg(1004, s(), c(), b + 1, IC + 6, ACK, b"certificate"));
    let evs = g.take();
    assert_eq!(stream(&evs, Dir::Down), b"certificate");
    assert!(gaps(&evs).is_empty(), "{:?}", gaps(&evs));
    assert_eq!(g.r.stats.syn_isns_differing, 1);
    assert_eq!(g.r.stats.retransmitted_bytes, 0);
}

#[test]
fn several_synacks_the_first_one_still_wins_when_the_data_follows_it() {
    let (a, b) = (0x1111_0000_u32, 0x7777_0000_u32);
    let mut g = Rig::new();
    g.push(seg(1000, c(), s(), IC, 0, SYN, b""));
    g.push(seg(1001, s(), c(), a, IC + 1, SYN_ACK, b""));
    g.push(seg(1002, s(), c(), b, IC + 1, SYN_ACK, b""));
    // No ACK from the client yet: the server's first byte decides.
    g.push(seg(1003, s(), c(), a + 1, IC + 1, ACK, b"banner"));
    g.push(seg(1004, c(), s(), IC + 1, a + 7, ACK, b""));
    let evs = g.take();
    assert_eq!(stream(&evs, Dir::Down), b"banner");
    assert!(gaps(&evs).is_empty(), "{:?}", gaps(&evs));
}

#[test]
fn ack_captured_before_the_first_server_bytes_is_not_a_gap() {
    // Server ISN 0xfffffffe: its stream starts at 0xffffffff and wraps. The client's ACK
    // for the first 6 bytes is captured before the bytes themselves.
    let is = 0xffff_fffe_u32;
    let mut g = Rig::new();
    g.handshake(IC, is);
    g.push(seg(
        1010,
        c(),
        s(),
        IC + 1,
        is.wrapping_add(1),
        ACK,
        b"hello",
    ));
    g.push(seg(1011, c(), s(), IC + 6, is.wrapping_add(7), ACK, b""));
    g.push(seg(
        1012,
        s(),
        c(),
        is.wrapping_add(1),
        IC + 6,
        ACK,
        b"world!",
    ));
    g.push(seg(
        1013,
        s(),
        c(),
        is.wrapping_add(7),
        IC + 6,
        ACK,
        b"more",
    ));
    let evs = g.take();
    assert_eq!(stream(&evs, Dir::Down), b"world!more");
    assert!(gaps(&evs).is_empty(), "{:?}", gaps(&evs));
}

#[test]
fn first_server_bytes_acked_but_never_captured_resynchronise_after_the_gap() {
    let is = 0xffff_fffe_u32;
    let mut g = Rig::new();
    g.handshake(IC, is);
    g.push(seg(
        1010,
        c(),
        s(),
        IC + 1,
        is.wrapping_add(1),
        ACK,
        b"hello",
    ));
    g.push(seg(1011, c(), s(), IC + 6, is.wrapping_add(7), ACK, b""));
    // Bytes 0..6 never captured; the stream goes on from 6.
    g.push(seg(
        1012,
        s(),
        c(),
        is.wrapping_add(7),
        IC + 6,
        ACK,
        b"more",
    ));
    let evs = g.take();
    assert_eq!(gaps(&evs), vec![(Dir::Down, 6, GapCause::NotCaptured)]);
    assert_eq!(stream(&evs, Dir::Down), b"more");
}

// ---------------------------------------------------------------------------
// The budget for bytes buffered across flows
// ---------------------------------------------------------------------------

/// Client `n` (its own port) sends 1,000 bytes out of order (one byte missing before
/// them) at `ms`.
fn held_out_of_order(rig: &mut Rig, n: u16, ms: i64) {
    let cl = SocketAddr::new(c().ip(), 40000 + n);
    rig.push(seg(ms, cl, s(), IC, 0, SYN, b""));
    rig.push(seg(ms, cl, s(), IC + 2, 0, ACK, &[b'x'; 1000]));
}

#[test]
fn budget_drops_the_least_recently_active_flows_out_of_order_bytes() {
    let mut rig = Rig::with(Limits {
        max_buffered_total: 4000,
        ..Limits::default()
    });
    for n in 0..4 {
        held_out_of_order(&mut rig, n, 1000 + i64::from(n));
    }
    rig.take();
    assert_eq!(rig.r.buffered(), 4000);
    assert!(!rig.r.over_budget(0));
    assert!(rig.r.over_budget(1));
    // The peak of what the budget counted (this stage's and the parser's bytes).
    assert_eq!(rig.r.stats.peak_budget_bytes, 4001);
    held_out_of_order(&mut rig, 4, 2000);
    assert!(rig.r.over_budget(0));
    assert_eq!(rig.r.stats.peak_budget_bytes, 5000);
    rig.r.shed(&[], &mut rig.out);
    let evs = rig.take();
    // 5,000 bytes over 4,000: down to 15/16 of the budget (3,750) the two oldest flows'
    // 1,000 go; each hole is given up with the budget as the cause and the held bytes
    // delivered past it.
    let budget = GapCause::MemoryBudget { bytes: 4000 };
    assert_eq!(gaps(&evs), vec![(Dir::Up, 1, budget), (Dir::Up, 1, budget)]);
    let flows: Vec<FlowId> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Gap { flow, .. } => Some(*flow),
            _ => None,
        })
        .collect();
    assert_eq!(flows, vec![1, 2]);
    assert_eq!(stream(&evs, Dir::Up), vec![b'x'; 2000]);
    assert_eq!(rig.r.buffered(), 3000);
    assert_eq!(rig.r.stats.budget_drops, 2);
    // The flow goes on: its next bytes are delivered in order.
    let cl = SocketAddr::new(c().ip(), 40000);
    rig.push(seg(2100, cl, s(), IC + 1002, 0, ACK, b"more"));
    assert_eq!(stream(&rig.take(), Dir::Up), b"more".to_vec());
}

#[test]
fn budget_counts_the_parsers_bytes_and_tells_it_with_a_gap_of_no_bytes() {
    let mut rig = Rig::with(Limits {
        max_buffered_total: 3000,
        ..Limits::default()
    });
    rig.handshake(IC, IS);
    rig.push(seg(1003, c(), s(), IC + 1, IS + 1, ACK, &[b'h'; 100]));
    held_out_of_order(&mut rig, 1, 1004);
    rig.take();
    // The parser holds 2,500 bytes of flow 1's client side (a hello not yet whole):
    // with the 1,000 held out of order by flow 2 that is over 3,000. Flow 1 is the less
    // recently active: its partial message goes, with a gap of 0 bytes (no stream byte
    // is skipped); flow 2's held bytes stay.
    let held = [(1, [2500, 0])];
    assert!(rig.r.over_budget(2500));
    rig.r.shed(&held, &mut rig.out);
    let evs = rig.take();
    assert_eq!(
        shown(&evs),
        vec!["Gap#1 Up 0 MemoryBudget { bytes: 3000 }".to_string()]
    );
    assert_eq!(rig.r.buffered(), 1000);
    assert_eq!(rig.r.stats.budget_drops, 1);
}

#[test]
fn budget_not_reached_drops_nothing() {
    let mut rig = Rig::with(Limits {
        max_buffered_total: 5000,
        ..Limits::default()
    });
    for n in 0..3 {
        held_out_of_order(&mut rig, n, 1000 + i64::from(n));
    }
    rig.take();
    rig.r.shed(&[(1, [500, 0])], &mut rig.out);
    assert!(rig.take().is_empty());
    assert_eq!(rig.r.stats.budget_drops, 0);
}

#[test]
fn a_syn_only_flow_stays_slim() {
    // What a flow that showed only its SYN costs in the table's box: the per-direction
    // parts that matter once bytes are held, and the FIN/RST times, are boxed when first
    // needed (docs/bounds.md, Memory). Was 488 bytes; 184 with its key (40 bytes), which
    // left the table's slot for the box (a slot is now a pointer, where it was 48 bytes).
    assert!(
        std::mem::size_of::<Flow>() <= 184,
        "{}",
        std::mem::size_of::<Flow>()
    );
    assert!(
        std::mem::size_of::<Half>() <= 32,
        "{}",
        std::mem::size_of::<Half>()
    );
    let mut rig = Rig::new();
    rig.push(seg(1000, c(), s(), IC, 0, SYN, b""));
    let (_, f) = rig.r.flows.iter().next().unwrap();
    assert!(f.halves.iter().all(|h| h.more.is_none()));
    assert!(f.summary.closes.is_none());
}

#[test]
fn flow_key_keeps_ipv4_apart_from_its_ipv4_mapped_ipv6_form() {
    let v4 = addr("10.0.0.1:443");
    let mapped = addr("[::ffff:10.0.0.1]:443");
    assert_ne!(endpoint(v4), endpoint(mapped));
    assert_eq!(key(c(), s()), key(s(), c()));
    assert_ne!(key(c(), s()), key(c(), addr("10.0.0.2:444")));
    // The key (in the flow's box) is 40 bytes; the table's slot is the box (was 72
    // bytes, then 48 with the key in it).
    assert!(std::mem::size_of::<Key>() <= 40);
    assert_eq!(
        std::mem::size_of::<Box<Flow>>(),
        std::mem::size_of::<usize>()
    );
}

#[test]
fn smallest_keeps_the_n_least_in_order() {
    let v: Vec<u32> = (0..1000).map(|i| (i * 7919) % 1000).collect();
    assert_eq!(smallest(v.iter().copied(), 5), vec![0, 1, 2, 3, 4]);
    assert_eq!(smallest(v.iter().copied(), 0), Vec::<u32>::new());
    let mut all = v.clone();
    all.sort_unstable();
    assert_eq!(smallest(v.iter().copied(), usize::MAX), all);
}

/// A data event's buffer handed back is reused for the next bytes, holding those bytes
/// only; the buffers kept are bounded in number and size.
#[test]
fn recycled_data_buffers_hold_only_the_next_bytes_and_are_bounded() {
    let mut rig = Rig::new();
    rig.handshake(100, 500);
    rig.push(seg(
        1003,
        c(),
        s(),
        101,
        501,
        ACK,
        b"a longer first message",
    ));
    for e in rig.take() {
        if let Event::Data { data, .. } = e {
            rig.r.recycle(data);
        }
    }
    assert_eq!(rig.r.spare.len(), 1);
    rig.push(seg(1004, c(), s(), 123, 501, ACK, b"next"));
    let data: Vec<Vec<u8>> = rig
        .take()
        .into_iter()
        .filter_map(|e| match e {
            Event::Data { data, .. } => Some(data),
            _ => None,
        })
        .collect();
    assert_eq!(data, vec![b"next".to_vec()]);
    assert!(rig.r.spare.is_empty());
    rig.r.recycle(Vec::with_capacity(SPARE_BUFFER_BYTES + 1));
    assert!(rig.r.spare.is_empty());
    for _ in 0..3 * SPARE_BUFFERS {
        rig.r.recycle(Vec::with_capacity(64));
    }
    assert_eq!(rig.r.spare.len(), SPARE_BUFFERS);
    assert!(rig
        .r
        .spare
        .iter()
        .all(|b| b.is_empty() && b.capacity() <= SPARE_BUFFER_BYTES));
}
