#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
use super::*;

use etherparse::{
    EtherType, Ethernet2Header, IpFragOffset, Ipv4Header, Ipv6FragmentHeader, Ipv6Header,
    PacketBuilder, UdpHeader, VlanId,
};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
const IP_C: [u8; 4] = [192, 168, 1, 10];
const IP_S: [u8; 4] = [93, 184, 216, 34];
const IP6_C: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];
const IP6_S: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53,
];
const PAYLOAD: &[u8] = b"\x16\x03\x01\x00\x05hello";

fn ts() -> Timestamp {
    Timestamp::new(1_700_000_000, 123_000)
}

fn pkt(link: i32, data: Vec<u8>) -> Packet {
    Packet {
        ts: ts(),
        link: LinkType(link),
        wire_len: u32::try_from(data.len()).unwrap(),
        data,
    }
}

fn decoder() -> Decoder {
    Decoder::new(DefragLimits::default())
}

/// Decodes one packet with a fresh decoder.
fn decode_one(link: i32, data: Vec<u8>) -> (Option<Decoded<'static>>, DecodeStats) {
    let mut d = decoder();
    let r = d.decode(&pkt(link, data));
    (r, d.stats)
}

fn tcp(d: Option<Decoded<'static>>) -> Segment<'static> {
    match d {
        Some(Decoded::Tcp(s)) => s,
        other => panic!("expected a TCP segment, got {other:?}"),
    }
}

fn udp(d: Option<Decoded>) -> Datagram {
    match d {
        Some(Decoded::Udp(u)) => u,
        other => panic!("expected a UDP datagram, got {other:?}"),
    }
}

fn sa4(ip: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::from(ip), port)
}

fn sa6(ip: [u8; 16], port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::from(ip), port)
}

fn problems(st: &DecodeStats) -> u64 {
    st.problems.values().sum()
}

/// A bare IPv4/TCP packet (no link header): 192.168.1.10:51000 -> 93.184.216.34:443.
fn ipv4_tcp(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ipv4(IP_C, IP_S, 64)
        .tcp(51000, 443, 0x1122_3344, 64240)
        .ack(0x5566_7788)
        .write(&mut v, payload)
        .unwrap();
    v
}

/// A bare IPv6/TCP packet: [2001:db8::10]:51000 -> [2001:db8::53]:443.
fn ipv6_tcp(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ipv6(IP6_C, IP6_S, 64)
        .tcp(51000, 443, 0x1122_3344, 64240)
        .ack(0x5566_7788)
        .write(&mut v, payload)
        .unwrap();
    v
}

fn eth_ipv4_tcp(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(IP_C, IP_S, 64)
        .tcp(51000, 443, 0x1122_3344, 64240)
        .ack(0x5566_7788)
        .write(&mut v, payload)
        .unwrap();
    v
}

fn eth_header(ether_type: u16) -> Vec<u8> {
    Ethernet2Header {
        source: MAC_A,
        destination: MAC_B,
        ether_type: EtherType(ether_type),
    }
    .to_bytes()
    .to_vec()
}

/// Checks the segment built by `ipv4_tcp` / `eth_ipv4_tcp`.
fn assert_v4_segment(s: &Segment, payload: &[u8]) {
    assert_eq!(s.src, sa4(IP_C, 51000));
    assert_eq!(s.dst, sa4(IP_S, 443));
    assert_eq!(s.seq, 0x1122_3344);
    assert_eq!(s.ack, 0x5566_7788);
    assert_eq!(
        s.flags,
        TcpFlags {
            ack: true,
            ..TcpFlags::default()
        }
    );
    assert_eq!(s.payload, payload);
    assert_eq!(s.missing_tail, 0);
    assert_eq!(s.ts, ts());
}

/// Deterministic pseudo-random bytes (xorshift64).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 24) as u8).collect()
    }
}

// ---------------------------------------------------------------------------
// Link layers
// ---------------------------------------------------------------------------

#[test]
fn ethernet_ipv4_tcp() {
    let (d, st) = decode_one(1, eth_ipv4_tcp(PAYLOAD));
    let s = tcp(d);
    assert_v4_segment(&s, PAYLOAD);
    assert_eq!(st.packets, 1);
    assert_eq!(st.tcp, 1);
    assert_eq!(st.udp, 0);
    assert_eq!(st.bytes, (14 + 20 + 20 + PAYLOAD.len()) as u64);
    assert!(st.problems.is_empty(), "{:?}", st.problems);
}

#[test]
fn tcp_flags_and_numbers() {
    let mut v = Vec::new();
    PacketBuilder::ipv4(IP_C, IP_S, 64)
        .tcp(51000, 443, 7, 1000)
        .syn()
        .write(&mut v, &[])
        .unwrap();
    let s = tcp(decode_one(101, v).0);
    assert_eq!(
        s.flags,
        TcpFlags {
            syn: true,
            ..TcpFlags::default()
        }
    );
    assert_eq!((s.seq, s.ack), (7, 0));

    let mut v = Vec::new();
    PacketBuilder::ipv4(IP_S, IP_C, 64)
        .tcp(443, 51000, 9, 1000)
        .syn()
        .ack(8)
        .write(&mut v, &[])
        .unwrap();
    let s = tcp(decode_one(101, v).0);
    assert!(s.flags.syn && s.flags.ack && !s.flags.fin && !s.flags.rst);
    assert_eq!((s.seq, s.ack), (9, 8));

    let mut v = Vec::new();
    PacketBuilder::ipv4(IP_C, IP_S, 64)
        .tcp(51000, 443, 8, 1000)
        .fin()
        .rst()
        .ack(10)
        .write(&mut v, b"x")
        .unwrap();
    let s = tcp(decode_one(101, v).0);
    assert_eq!(
        s.flags,
        TcpFlags {
            syn: false,
            ack: true,
            fin: true,
            rst: true
        }
    );
    assert_eq!(&*s.payload, b"x");
}

#[test]
fn ethernet_padding_is_not_payload() {
    // A bare ACK is padded to the 60-byte Ethernet minimum.
    let mut f = eth_ipv4_tcp(&[]);
    assert_eq!(f.len(), 54);
    f.extend_from_slice(&[0u8; 6]);
    let (d, st) = decode_one(1, f);
    let s = tcp(d);
    assert!(s.payload.is_empty());
    assert_eq!(s.missing_tail, 0);
    assert!(st.problems.is_empty(), "{:?}", st.problems);
}

#[test]
fn ethernet_vlan_8021q() {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .single_vlan(VlanId::try_new(42).unwrap())
        .ipv4(IP_C, IP_S, 64)
        .tcp(51000, 443, 0x1122_3344, 64240)
        .ack(0x5566_7788)
        .write(&mut v, PAYLOAD)
        .unwrap();
    assert_eq!(&v[12..14], &[0x81, 0x00]);
    let (d, st) = decode_one(1, v);
    assert_v4_segment(&tcp(d), PAYLOAD);
    assert!(st.problems.is_empty());
}

#[test]
fn ethernet_qinq_double_vlan() {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .double_vlan(VlanId::try_new(100).unwrap(), VlanId::try_new(200).unwrap())
        .ipv4(IP_C, IP_S, 64)
        .tcp(51000, 443, 0x1122_3344, 64240)
        .ack(0x5566_7788)
        .write(&mut v, PAYLOAD)
        .unwrap();
    assert_eq!(&v[12..14], &[0x88, 0xa8]);
    let (d, st) = decode_one(1, v);
    assert_v4_segment(&tcp(d), PAYLOAD);
    assert!(st.problems.is_empty());
}

#[test]
fn ethernet_old_qinq_9100_tag() {
    let ip = ipv4_tcp(PAYLOAD);
    let mut f = eth_header(0x9100);
    f.extend_from_slice(&[0x00, 0x64, 0x81, 0x00]); // outer TCI, then 802.1Q
    f.extend_from_slice(&[0x00, 0xc8, 0x08, 0x00]); // inner TCI, then IPv4
    f.extend_from_slice(&ip);
    assert_v4_segment(&tcp(decode_one(1, f).0), PAYLOAD);
}

#[test]
fn ethernet_ipv6_udp() {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv6(IP6_C, IP6_S, 64)
        .udp(5353, 53)
        .write(&mut v, b"dns query bytes")
        .unwrap();
    let (d, st) = decode_one(1, v);
    let u = udp(d);
    assert_eq!(u.src, sa6(IP6_C, 5353));
    assert_eq!(u.dst, sa6(IP6_S, 53));
    assert_eq!(u.payload, b"dns query bytes");
    assert!(!u.truncated);
    assert_eq!(u.ts, ts());
    assert_eq!(st.udp, 1);
    assert_eq!(st.tcp, 0);
    assert!(st.problems.is_empty());
}

#[test]
fn ethernet_ipv6_tcp() {
    let mut f = eth_header(0x86dd);
    f.extend_from_slice(&ipv6_tcp(PAYLOAD));
    let s = tcp(decode_one(1, f).0);
    assert_eq!(s.src, sa6(IP6_C, 51000));
    assert_eq!(s.dst, sa6(IP6_S, 443));
    assert_eq!(s.payload, PAYLOAD);
    assert_eq!(s.missing_tail, 0);
}

#[test]
fn raw_ip_link_types() {
    for link in [101, 12, 14, 228] {
        let (d, st) = decode_one(link, ipv4_tcp(PAYLOAD));
        assert_v4_segment(&tcp(d), PAYLOAD);
        assert!(st.problems.is_empty(), "link {link}");
    }
    for link in [101, 229] {
        let s = tcp(decode_one(link, ipv6_tcp(PAYLOAD)).0);
        assert_eq!(s.src, sa6(IP6_C, 51000), "link {link}");
        assert_eq!(s.payload, PAYLOAD);
    }
    // Not IP by version nibble: skipped as "other", not a problem.
    let (d, st) = decode_one(101, vec![0x10; 40]);
    assert!(d.is_none());
    assert_eq!(st.other, 1);
    assert!(st.problems.is_empty());
}

#[test]
fn null_loopback_ipv4_and_ipv6() {
    // DLT_NULL: 4-byte address family in host (here little-endian) order.
    let mut f = 2u32.to_le_bytes().to_vec();
    f.extend_from_slice(&ipv4_tcp(PAYLOAD));
    let (d, st) = decode_one(0, f);
    assert_v4_segment(&tcp(d), PAYLOAD);
    assert!(st.problems.is_empty());

    for fam in [30u32, 28, 24] {
        let mut f = fam.to_le_bytes().to_vec();
        f.extend_from_slice(&ipv6_tcp(PAYLOAD));
        let s = tcp(decode_one(0, f).0);
        assert_eq!(s.dst, sa6(IP6_S, 443), "family {fam}");
        assert_eq!(s.payload, PAYLOAD);
    }

    // Big-endian family (a capture written on a big-endian host), and DLT_LOOP.
    for link in [0, 108] {
        let mut f = 2u32.to_be_bytes().to_vec();
        f.extend_from_slice(&ipv4_tcp(PAYLOAD));
        assert_v4_segment(&tcp(decode_one(link, f).0), PAYLOAD);
    }

    // Another family is not IP.
    let mut f = 7u32.to_le_bytes().to_vec();
    f.extend_from_slice(&ipv4_tcp(PAYLOAD));
    let (d, st) = decode_one(0, f);
    assert!(d.is_none());
    assert_eq!(st.other, 1);
}

fn sll_header(proto: u16) -> Vec<u8> {
    let mut h = vec![
        0x00, 0x00, // packet type: to us
        0x00, 0x01, // ARPHRD_ETHER
        0x00, 0x06, // address length
    ];
    h.extend_from_slice(&MAC_A);
    h.extend_from_slice(&[0, 0]); // address padding to 8 bytes
    h.extend_from_slice(&proto.to_be_bytes());
    assert_eq!(h.len(), 16);
    h
}

fn sll2_header(proto: u16) -> Vec<u8> {
    let mut h = proto.to_be_bytes().to_vec();
    h.extend_from_slice(&[0, 0]); // reserved
    h.extend_from_slice(&3u32.to_be_bytes()); // interface index
    h.extend_from_slice(&[0x00, 0x01]); // ARPHRD_ETHER
    h.push(0x04); // packet type: outgoing
    h.push(0x06); // address length
    h.extend_from_slice(&MAC_A);
    h.extend_from_slice(&[0, 0]);
    assert_eq!(h.len(), 20);
    h
}

#[test]
fn linux_sll_cooked_v1() {
    let mut f = sll_header(0x0800);
    f.extend_from_slice(&ipv4_tcp(PAYLOAD));
    let (d, st) = decode_one(113, f);
    assert_v4_segment(&tcp(d), PAYLOAD);
    assert!(st.problems.is_empty());

    let mut f = sll_header(0x86dd);
    f.extend_from_slice(&ipv6_tcp(PAYLOAD));
    assert_eq!(tcp(decode_one(113, f).0).payload, PAYLOAD);

    // ARP is not IP.
    let mut f = sll_header(0x0806);
    f.extend_from_slice(&[0u8; 28]);
    let (d, st) = decode_one(113, f);
    assert!(d.is_none());
    assert_eq!(st.other, 1);
}

#[test]
fn linux_sll2_cooked_v2() {
    let mut f = sll2_header(0x0800);
    f.extend_from_slice(&ipv4_tcp(PAYLOAD));
    let (d, st) = decode_one(276, f);
    assert_v4_segment(&tcp(d), PAYLOAD);
    assert!(st.problems.is_empty());

    let mut f = sll2_header(0x86dd);
    f.extend_from_slice(&ipv6_tcp(PAYLOAD));
    assert_eq!(tcp(decode_one(276, f).0).payload, PAYLOAD);
}

#[test]
fn mpls_single_label() {
    let mut f = eth_header(0x8847);
    // Label 1000, TC 0, bottom of stack, TTL 64.
    let entry: u32 = (1000 << 12) | (1 << 8) | 64;
    f.extend_from_slice(&entry.to_be_bytes());
    f.extend_from_slice(&ipv4_tcp(PAYLOAD));
    let (d, st) = decode_one(1, f);
    assert_v4_segment(&tcp(d), PAYLOAD);
    assert!(st.problems.is_empty());
}

#[test]
fn mpls_label_stack_and_ipv6() {
    let mut f = eth_header(0x8847);
    f.extend_from_slice(&((16u32 << 12) | 64).to_be_bytes()); // not bottom
    f.extend_from_slice(&((17u32 << 12) | (1 << 8) | 64).to_be_bytes()); // bottom
    f.extend_from_slice(&ipv6_tcp(PAYLOAD));
    let s = tcp(decode_one(1, f).0);
    assert_eq!(s.dst, sa6(IP6_S, 443));
    assert_eq!(s.payload, PAYLOAD);
}

#[test]
fn mpls_pseudowire_with_control_word() {
    let mut f = eth_header(0x8847);
    f.extend_from_slice(&((20u32 << 12) | (1 << 8) | 64).to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0]); // control word
    f.extend_from_slice(&eth_ipv4_tcp(PAYLOAD));
    assert_v4_segment(&tcp(decode_one(1, f).0), PAYLOAD);
}

#[test]
fn ppp_with_and_without_address_control() {
    let mut f = vec![0xff, 0x03, 0x00, 0x21];
    f.extend_from_slice(&ipv4_tcp(PAYLOAD));
    let (d, st) = decode_one(9, f);
    assert_v4_segment(&tcp(d), PAYLOAD);
    assert!(st.problems.is_empty());

    // Address/control compressed away; PPP in HDLC framing (50).
    for link in [9, 50] {
        let mut f = vec![0x00, 0x21];
        f.extend_from_slice(&ipv4_tcp(PAYLOAD));
        assert_v4_segment(&tcp(decode_one(link, f).0), PAYLOAD);
    }
    // IPv6 over PPP.
    let mut f = vec![0xff, 0x03, 0x00, 0x57];
    f.extend_from_slice(&ipv6_tcp(PAYLOAD));
    assert_eq!(tcp(decode_one(9, f).0).payload, PAYLOAD);
    // LCP is not IP.
    let (d, st) = decode_one(9, vec![0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]);
    assert!(d.is_none());
    assert_eq!(st.other, 1);
}

#[test]
fn pppoe_session() {
    let ip = ipv4_tcp(PAYLOAD);
    let mut f = eth_header(0x8864);
    f.extend_from_slice(&[0x11, 0x00, 0x12, 0x34]); // ver/type, code, session id
    f.extend_from_slice(&u16::try_from(ip.len() + 2).unwrap().to_be_bytes());
    f.extend_from_slice(&[0x00, 0x21]);
    f.extend_from_slice(&ip);
    assert_v4_segment(&tcp(decode_one(1, f).0), PAYLOAD);
}

#[test]
fn non_ip_ethernet_is_other_not_a_problem() {
    let mut f = eth_header(0x0806); // ARP
    f.extend_from_slice(&[0u8; 28]);
    let (d, st) = decode_one(1, f);
    assert!(d.is_none());
    assert_eq!(st.other, 1);
    assert!(st.problems.is_empty());
    // ICMP over IPv4 is IP but not TCP/UDP: also "other".
    let mut v = Vec::new();
    PacketBuilder::ipv4(IP_C, IP_S, 64)
        .icmpv4_echo_request(1, 1)
        .write(&mut v, b"ping")
        .unwrap();
    let (d, st) = decode_one(101, v);
    assert!(d.is_none());
    assert_eq!(st.other, 1);
    assert!(st.problems.is_empty());
}

#[test]
fn unknown_link_type_reported_once() {
    let mut d = decoder();
    for _ in 0..3 {
        assert!(d.decode(&pkt(147, eth_ipv4_tcp(PAYLOAD))).is_none());
    }
    assert_eq!(d.stats.unknown_link_types, vec![147]);
    assert_eq!(d.stats.problems.get("unknown_link_type"), Some(&3));
    assert_eq!(d.stats.packets, 3);
    // A second unknown type is added once too, after the first.
    d.decode(&pkt(148, vec![1, 2, 3]));
    d.decode(&pkt(147, vec![]));
    assert_eq!(d.stats.unknown_link_types, vec![147, 148]);
    assert_eq!(d.stats.problems.get("unknown_link_type"), Some(&5));
}

// ---------------------------------------------------------------------------
// Snapshot length
// ---------------------------------------------------------------------------

#[test]
fn snaplen_cut_tcp_payload_reports_missing_tail() {
    let payload: Vec<u8> = (0u8..200).collect();
    let full = eth_ipv4_tcp(&payload);
    let wire_len = u32::try_from(full.len()).unwrap();
    let cut = 14 + 20 + 20 + 60; // 60 of 200 payload bytes captured
    let p = Packet {
        ts: ts(),
        link: LinkType(1),
        wire_len,
        data: full[..cut].to_vec(),
    };
    let mut d = decoder();
    let s = tcp(d.decode(&p));
    assert_eq!(s.payload, &payload[..60]);
    assert_eq!(s.missing_tail, 140);
    assert_eq!(d.stats.problems.get("snaplen_truncated"), Some(&1));
    assert_eq!(d.stats.bytes, u64::from(wire_len));
    assert_eq!(d.stats.tcp, 1);
}

#[test]
fn snaplen_cut_ipv6_tcp_payload() {
    let payload = vec![0xabu8; 100];
    let full = ipv6_tcp(&payload);
    let (d, st) = decode_one(101, full[..40 + 20 + 10].to_vec());
    let s = tcp(d);
    assert_eq!(s.payload, vec![0xab; 10]);
    assert_eq!(s.missing_tail, 90);
    assert_eq!(st.problems.get("snaplen_truncated"), Some(&1));
}

#[test]
fn ipv4_total_length_zero_uses_the_captured_length() {
    // Captures taken before TSO/GSO segmentation carry total length 0.
    let mut v = ipv4_tcp(PAYLOAD);
    v[2] = 0;
    v[3] = 0;
    let (d, st) = decode_one(101, v);
    let s = tcp(d);
    assert_eq!(s.payload, PAYLOAD);
    assert_eq!(s.missing_tail, 0);
    assert!(st.problems.is_empty(), "{:?}", st.problems);
}

#[test]
fn snaplen_cut_inside_tcp_header() {
    let full = eth_ipv4_tcp(PAYLOAD);
    let (d, st) = decode_one(1, full[..14 + 20 + 10].to_vec());
    assert!(d.is_none());
    assert_eq!(st.problems.get("snaplen_truncated_tcp_header"), Some(&1));
    assert_eq!(st.tcp, 0);
}

#[test]
fn snaplen_cut_udp_payload_is_truncated() {
    let mut v = Vec::new();
    PacketBuilder::ipv4(IP_C, IP_S, 64)
        .udp(5353, 53)
        .write(&mut v, &[7u8; 100])
        .unwrap();
    let (d, st) = decode_one(101, v[..20 + 8 + 30].to_vec());
    let u = udp(d);
    assert!(u.truncated);
    assert_eq!(u.payload, vec![7u8; 30]);
    assert_eq!(st.problems.get("snaplen_truncated"), Some(&1));
}

#[test]
fn udp_length_beyond_the_ip_packet() {
    let mut v = Vec::new();
    PacketBuilder::ipv4(IP_C, IP_S, 64)
        .udp(5353, 53)
        .write(&mut v, &[7u8; 20])
        .unwrap();
    // UDP says 8 + 50 bytes; the IP packet (fully captured) holds 8 + 20.
    v[24..26].copy_from_slice(&58u16.to_be_bytes());
    let (d, st) = decode_one(101, v);
    let u = udp(d);
    assert!(u.truncated);
    assert_eq!(u.payload, vec![7u8; 20]);
    assert_eq!(st.problems.get("udp_length_exceeds_packet"), Some(&1));
    assert_eq!(st.problems.get("snaplen_truncated"), None);
}

// ---------------------------------------------------------------------------
// Garbage and truncation: never panic, always counted
// ---------------------------------------------------------------------------

/// A valid frame carrying IPv4/TCP for each link type.
fn valid_frames() -> Vec<(i32, Vec<u8>)> {
    let ip = ipv4_tcp(PAYLOAD);
    let with = |mut h: Vec<u8>| {
        h.extend_from_slice(&ip);
        h
    };
    let mut vlan = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .double_vlan(VlanId::try_new(1).unwrap(), VlanId::try_new(2).unwrap())
        .ipv4(IP_C, IP_S, 64)
        .tcp(51000, 443, 0x1122_3344, 64240)
        .ack(0x5566_7788)
        .write(&mut vlan, PAYLOAD)
        .unwrap();
    let mut mpls = eth_header(0x8847);
    mpls.extend_from_slice(&((1000u32 << 12) | (1 << 8) | 64).to_be_bytes());
    mpls.extend_from_slice(&ip);
    vec![
        (1, eth_ipv4_tcp(PAYLOAD)),
        (1, vlan),
        (1, mpls),
        (0, with(2u32.to_le_bytes().to_vec())),
        (108, with(2u32.to_be_bytes().to_vec())),
        (101, ip.clone()),
        (12, ip.clone()),
        (14, ip.clone()),
        (228, ip.clone()),
        (113, with(sll_header(0x0800))),
        (276, with(sll2_header(0x0800))),
        (9, with(vec![0xff, 0x03, 0x00, 0x21])),
        (50, with(vec![0x00, 0x21])),
    ]
}

#[test]
fn truncated_prefixes_never_panic_and_are_counted() {
    for (link, frame) in valid_frames() {
        if link == 1 && frame[12..14] == [0x88, 0x47] {
            continue; // MPLS: see mpls_cut_right_after_the_label_stack_is_a_problem
        }
        let mut d = decoder();
        // The whole frame decodes without a problem.
        let s = tcp(d.decode(&pkt(link, frame.clone())));
        assert_v4_segment(&s, PAYLOAD);
        assert_eq!(problems(&d.stats), 0, "link {link}");
        for n in 0..frame.len() {
            let before = problems(&d.stats);
            let p = Packet {
                ts: ts(),
                link: LinkType(link),
                wire_len: u32::try_from(frame.len()).unwrap(),
                data: frame[..n].to_vec(),
            };
            let r = d.decode(&p);
            assert_eq!(
                problems(&d.stats),
                before + 1,
                "link {link}, {n} of {} bytes: exactly one problem expected, got {:?}",
                frame.len(),
                d.stats.problems
            );
            if let Some(r) = r {
                // Only a cut inside the payload still yields the segment.
                let s = tcp(Some(r));
                assert_eq!(
                    s.payload.len() + s.missing_tail as usize,
                    PAYLOAD.len(),
                    "link {link}, {n} bytes"
                );
                assert!(s.missing_tail > 0);
            }
        }
        assert_eq!(d.stats.packets, frame.len() as u64 + 1);
        assert_eq!(d.stats.other, 0, "link {link}: {:?}", d.stats);
    }
}

#[test]
fn short_prefixes_of_each_link_header() {
    // Every link type, 0..60 byte prefixes of a valid frame: no panic, one count each.
    for (link, frame) in valid_frames() {
        let mut d = decoder();
        for n in 0..60.min(frame.len()) {
            d.decode(&pkt(link, frame[..n].to_vec()));
        }
        let n = 60.min(frame.len()) as u64;
        assert_eq!(d.stats.packets, n);
        assert_eq!(
            problems(&d.stats) + d.stats.other,
            n,
            "link {link}: {:?}",
            d.stats.problems
        );
        // The empty packet is a truncated link header for every link type
        // (raw IP has no link header: an empty packet is a bad IP header).
        assert!(
            d.stats.problems.contains_key("truncated_link_header")
                || d.stats.problems.contains_key("bad_ip_header"),
            "link {link}: {:?}",
            d.stats.problems
        );
    }
}

#[test]
fn mpls_truncated_prefixes_never_panic() {
    let mut f = eth_header(0x8847);
    f.extend_from_slice(&((1000u32 << 12) | (1 << 8) | 64).to_be_bytes());
    f.extend_from_slice(&ipv4_tcp(PAYLOAD));
    let mut d = decoder();
    for n in 0..f.len() {
        d.decode(&pkt(1, f[..n].to_vec()));
    }
    assert_eq!(d.stats.packets, f.len() as u64);
    assert_eq!(problems(&d.stats) + d.stats.other, f.len() as u64);
    assert_eq!(d.stats.tcp, PAYLOAD.len() as u64);
}

/// A frame cut right after the MPLS label stack is truncated, not "not IP".
#[test]

fn mpls_cut_right_after_the_label_stack_is_a_problem() {
    let mut f = eth_header(0x8847);
    f.extend_from_slice(&((1000u32 << 12) | (1 << 8) | 64).to_be_bytes());
    let (d, st) = decode_one(1, f);
    assert!(d.is_none());
    assert_eq!(st.other, 0, "a cut frame is not a non-IP frame");
    assert_eq!(st.problems.get("truncated_link_header"), Some(&1));
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let links = [0, 1, 9, 12, 14, 50, 101, 108, 113, 147, 228, 229, 276];
    for link in links {
        let mut d = decoder();
        for _ in 0..2000 {
            let n = rng.below(200);
            let data = rng.bytes(n);
            d.decode(&pkt(link, data));
        }
        let st = &d.stats;
        assert_eq!(st.packets, 2000);
        // Random bytes are almost never a valid packet: nearly all are counted as
        // problems or "other".
        assert!(problems(st) + st.other >= 1900, "link {link}: {st:?}");
    }
}

#[test]
fn mutated_valid_frames_never_panic() {
    // Random bytes inside otherwise valid headers reach deeper into the parsers.
    let mut rng = XorShift(42);
    let mut d = decoder();
    let frames = valid_frames();
    let mut total = 0u64;
    for _ in 0..20_000 {
        let (link, frame) = &frames[rng.below(frames.len())];
        let mut f = frame.clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(f.len());
            f[i] = (rng.next() >> 32) as u8;
        }
        if rng.below(4) == 0 {
            f.truncate(rng.below(f.len() + 1));
        }
        d.decode(&pkt(*link, f));
        total += 1;
    }
    let st = &d.stats;
    assert_eq!(st.packets, total);
    assert!(st.tcp + st.udp + st.other + problems(st) >= total);
    // Decode every kind of tunnel header with random contents too.
    for _ in 0..5000 {
        let mut gre = vec![0, 0, 0x08, 0x00];
        let n = rng.below(80);
        gre.extend(rng.bytes(n));
        gre[0] = (rng.next() >> 40) as u8;
        gre[1] = (rng.next() >> 40) as u8;
        if rng.below(2) == 0 {
            let protos: [u16; 4] = [0x6558, 0x88be, 0x22eb, 0x86dd];
            let pr = protos[rng.below(4)];
            gre[2..4].copy_from_slice(&pr.to_be_bytes());
        }
        let mut v = Vec::new();
        PacketBuilder::ipv4(IP_C, IP_S, 64)
            .write(&mut v, IpNumber::GRE, &gre)
            .unwrap();
        d.decode(&pkt(101, v));
        let mut vx = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
        let n = rng.below(120);
        vx.extend(rng.bytes(n));
        let mut v = Vec::new();
        PacketBuilder::ipv4(IP_C, IP_S, 64)
            .udp(33333, 4789)
            .write(&mut v, &vx)
            .unwrap();
        d.decode(&pkt(101, v));
    }
}

// ---------------------------------------------------------------------------
// IP fragments
// ---------------------------------------------------------------------------

/// A UDP datagram of 3000 payload bytes in three IPv4 fragments (raw IP packets).
fn udp_fragments_v4(id: u16) -> (Vec<u8>, Vec<Vec<u8>>) {
    let payload: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let whole_ip = Ipv4Header::new(3008, 64, IpNumber::UDP, IP_S, IP_C).unwrap();
    let udp = UdpHeader::with_ipv4_checksum(53, 5353, &whole_ip, &payload).unwrap();
    let mut transport = udp.to_bytes().to_vec();
    transport.extend_from_slice(&payload);
    assert_eq!(transport.len(), 3008);
    let mut frags = Vec::new();
    for (off, end) in [(0usize, 1480usize), (1480, 2960), (2960, 3008)] {
        let chunk = &transport[off..end];
        let mut h = Ipv4Header::new(
            u16::try_from(chunk.len()).unwrap(),
            64,
            IpNumber::UDP,
            IP_S,
            IP_C,
        )
        .unwrap();
        h.identification = id;
        h.dont_fragment = false;
        h.more_fragments = end < transport.len();
        h.fragment_offset = IpFragOffset::try_new(u16::try_from(off / 8).unwrap()).unwrap();
        h.header_checksum = h.calc_header_checksum();
        let mut p = h.to_bytes().to_vec();
        p.extend_from_slice(chunk);
        frags.push(p);
    }
    (payload, frags)
}

fn with_eth(ip: &[u8]) -> Vec<u8> {
    let mut f = eth_header(0x0800);
    f.extend_from_slice(ip);
    f
}

#[test]
fn ipv4_fragments_in_order() {
    let (payload, frags) = udp_fragments_v4(0x1234);
    let mut d = decoder();
    assert!(d.decode(&pkt(1, with_eth(&frags[0]))).is_none());
    assert!(d.decode(&pkt(1, with_eth(&frags[1]))).is_none());
    let u = udp(d.decode(&pkt(1, with_eth(&frags[2]))));
    assert_eq!(u.payload.len(), 3000);
    assert_eq!(u.payload, payload);
    assert_eq!(u.src, sa4(IP_S, 53));
    assert_eq!(u.dst, sa4(IP_C, 5353));
    assert!(!u.truncated);
    assert_eq!(d.stats.fragments_reassembled, 1);
    assert_eq!(d.stats.udp, 1);
    assert!(d.stats.problems.is_empty(), "{:?}", d.stats.problems);
}

#[test]
fn ipv4_fragments_out_of_order() {
    let (payload, frags) = udp_fragments_v4(0x4321);
    for order in [[2usize, 0, 1], [1, 2, 0], [2, 1, 0]] {
        let mut d = decoder();
        let mut got = Vec::new();
        for i in order {
            if let Some(r) = d.decode(&pkt(101, frags[i].clone())) {
                got.push(r);
            }
        }
        assert_eq!(got.len(), 1, "order {order:?}");
        let u = udp(got.pop());
        assert_eq!(u.payload, payload, "order {order:?}");
        assert_eq!(d.stats.fragments_reassembled, 1);
    }
}

#[test]
fn ipv4_fragments_duplicates_and_interleaved_datagrams() {
    let (p1, f1) = udp_fragments_v4(1);
    let (p2, f2) = udp_fragments_v4(2);
    let mut d = decoder();
    let seq = [&f1[0], &f2[2], &f1[0], &f2[0], &f1[1], &f2[1], &f1[2]];
    let mut got = Vec::new();
    for f in seq {
        if let Some(r) = d.decode(&pkt(101, f.clone())) {
            got.push(udp(Some(r)));
        }
    }
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].payload, p2);
    assert_eq!(got[1].payload, p1);
    assert_eq!(d.stats.fragments_reassembled, 2);
    assert_eq!(d.stats.fragment_evictions, 0);
}

#[test]
fn fragment_larger_than_the_limit_is_rejected() {
    let (_, frags) = udp_fragments_v4(7);
    let mut d = Decoder::new(DefragLimits {
        max_bytes: 2000,
        ..DefragLimits::default()
    });
    assert!(d.decode(&pkt(101, frags[0].clone())).is_none());
    // 1480 + 1480 > 2000.
    assert!(d.decode(&pkt(101, frags[1].clone())).is_none());
    assert_eq!(d.stats.problems.get("ip_fragment_too_large"), Some(&1));
    assert!(d.decode(&pkt(101, frags[2].clone())).is_none());
    assert_eq!(d.stats.problems.get("ip_fragment_too_large"), Some(&2));
    assert_eq!(d.stats.fragments_reassembled, 0);
    assert_eq!(d.stats.udp, 0);
}

#[test]
fn fragment_table_full_evicts_and_expire_drops_stale() {
    let (_, f1) = udp_fragments_v4(1);
    let (p2, f2) = udp_fragments_v4(2);
    let mut d = Decoder::new(DefragLimits {
        max_datagrams: 1,
        ..DefragLimits::default()
    });
    d.decode(&pkt(101, f1[0].clone()));
    // A second datagram in progress evicts the first.
    d.decode(&pkt(101, f2[0].clone()));
    assert_eq!(d.stats.fragment_evictions, 1);
    d.decode(&pkt(101, f1[1].clone())); // starts datagram 1 again, evicts 2
    assert_eq!(d.stats.fragment_evictions, 2);
    assert!(d.decode(&pkt(101, f1[2].clone())).is_none()); // no first fragment
                                                           // Idle expiry.
    let mut d = decoder();
    d.decode(&pkt(101, f2[0].clone()));
    d.expire(Timestamp::new(ts().secs + 10, 0));
    assert_eq!(d.stats.fragment_evictions, 0);
    d.expire(Timestamp::new(ts().secs + 31, 0));
    assert_eq!(d.stats.fragment_evictions, 1);
    // The rest of it no longer completes a datagram.
    assert!(d.decode(&pkt(101, f2[1].clone())).is_none());
    assert!(d.decode(&pkt(101, f2[2].clone())).is_none());
    // A full resend does.
    let mut got = None;
    for f in &f2 {
        got = d.decode(&pkt(101, f.clone())).or(got);
    }
    assert_eq!(udp(got).payload, p2);
}

#[test]
fn ipv6_fragments() {
    let payload: Vec<u8> = (0..3000u32).map(|i| (i % 249) as u8).collect();
    let udp_h = UdpHeader::without_ipv4_checksum(53, 5353, payload.len()).unwrap();
    let mut transport = udp_h.to_bytes().to_vec();
    transport.extend_from_slice(&payload);
    let mut frags = Vec::new();
    for (off, end) in [(0usize, 1448usize), (1448, 2896), (2896, 3008)] {
        let chunk = &transport[off..end];
        let fh = Ipv6FragmentHeader::new(
            IpNumber::UDP,
            IpFragOffset::try_new(u16::try_from(off / 8).unwrap()).unwrap(),
            end < transport.len(),
            0xdead_beef,
        );
        let ip = Ipv6Header {
            traffic_class: 0,
            flow_label: Default::default(),
            payload_length: u16::try_from(8 + chunk.len()).unwrap(),
            next_header: IpNumber::IPV6_FRAGMENTATION_HEADER,
            hop_limit: 64,
            source: IP6_S,
            destination: IP6_C,
        };
        let mut p = ip.to_bytes().to_vec();
        p.extend_from_slice(&fh.to_bytes());
        p.extend_from_slice(chunk);
        frags.push(p);
    }
    let mut d = decoder();
    let mut got = Vec::new();
    for i in [1usize, 2, 0] {
        if let Some(r) = d.decode(&pkt(101, frags[i].clone())) {
            got.push(r);
        }
    }
    assert_eq!(got.len(), 1);
    let u = udp(got.pop());
    assert_eq!(u.payload, payload);
    assert_eq!(u.src, sa6(IP6_S, 53));
    assert_eq!(d.stats.fragments_reassembled, 1);
}

// ---------------------------------------------------------------------------
// Tunnels
// ---------------------------------------------------------------------------

#[test]
fn gre_carrying_ipv4_tcp() {
    let mut gre = vec![0x00, 0x00, 0x08, 0x00];
    gre.extend_from_slice(&ipv4_tcp(PAYLOAD));
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .write(&mut v, IpNumber::GRE, &gre)
        .unwrap();
    let (d, st) = decode_one(1, v);
    assert_v4_segment(&tcp(d), PAYLOAD);
    assert!(st.problems.is_empty(), "{:?}", st.problems);
}

#[test]
fn gre_with_key_and_sequence_and_transparent_ethernet() {
    // Key + sequence number present: 4 + 4 + 4 bytes of header.
    let mut gre = vec![0x30, 0x00, 0x08, 0x00, 0, 0, 0, 9, 0, 0, 0, 1];
    gre.extend_from_slice(&ipv4_tcp(PAYLOAD));
    let mut v = Vec::new();
    PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .write(&mut v, IpNumber::GRE, &gre)
        .unwrap();
    assert_v4_segment(&tcp(decode_one(101, v).0), PAYLOAD);

    // Transparent Ethernet bridging (0x6558) with a checksum field.
    let mut gre = vec![0x80, 0x00, 0x65, 0x58, 0, 0, 0, 0];
    gre.extend_from_slice(&eth_ipv4_tcp(PAYLOAD));
    let mut v = Vec::new();
    PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .write(&mut v, IpNumber::GRE, &gre)
        .unwrap();
    assert_v4_segment(&tcp(decode_one(101, v).0), PAYLOAD);

    // An unknown GRE payload type is "other".
    let mut v = Vec::new();
    PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .write(&mut v, IpNumber::GRE, &[0x00, 0x01, 0x88, 0x0b, 1, 2, 3, 4])
        .unwrap();
    let (d, st) = decode_one(101, v);
    assert!(d.is_none());
    assert_eq!(st.other, 1);
}

#[test]
fn vxlan_carrying_ethernet_ipv4_tcp() {
    let mut vx = vec![0x08, 0, 0, 0, 0x00, 0x00, 0x2a, 0x00]; // I flag, VNI 42
    vx.extend_from_slice(&eth_ipv4_tcp(PAYLOAD));
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(49152, 4789)
        .write(&mut v, &vx)
        .unwrap();
    let (d, st) = decode_one(1, v);
    assert_v4_segment(&tcp(d), PAYLOAD);
    assert!(st.problems.is_empty(), "{:?}", st.problems);
}

/// One VXLAN packet cut by the snapshot length is one problem, like any other packet.
#[test]

fn vxlan_cut_by_snaplen_counts_one_problem() {
    let inner_payload = vec![0x55u8; 100];
    let mut vx = vec![0x08, 0, 0, 0, 0x00, 0x00, 0x2a, 0x00];
    vx.extend_from_slice(&eth_ipv4_tcp(&inner_payload));
    let mut v = Vec::new();
    PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(49152, 4789)
        .write(&mut v, &vx)
        .unwrap();
    let full = v.len();
    let (d, st) = decode_one(101, v[..full - 60].to_vec());
    let s = tcp(d);
    assert_eq!(s.payload, vec![0x55u8; 40]);
    assert_eq!(s.missing_tail, 60);
    assert_eq!(
        st.problems.get("snaplen_truncated"),
        Some(&1),
        "{:?}",
        st.problems
    );
}

#[test]
fn vxlan_cut_by_snaplen_reports_the_inner_missing_tail() {
    let inner_payload = vec![0x55u8; 100];
    let mut vx = vec![0x08, 0, 0, 0, 0x00, 0x00, 0x2a, 0x00];
    vx.extend_from_slice(&eth_ipv4_tcp(&inner_payload));
    let mut v = Vec::new();
    PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(49152, 4789)
        .write(&mut v, &vx)
        .unwrap();
    let full = v.len();
    let (d, st) = decode_one(101, v[..full - 60].to_vec());
    let s = tcp(d);
    assert_eq!(s.payload, vec![0x55u8; 40]);
    assert_eq!(s.missing_tail, 60);
    assert!(st.problems.contains_key("snaplen_truncated"));
}

#[test]
fn gre_cut_by_snaplen_reports_the_inner_missing_tail() {
    let mut gre = vec![0x00, 0x00, 0x08, 0x00];
    gre.extend_from_slice(&ipv4_tcp(&[0x66u8; 100]));
    let mut v = Vec::new();
    PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .write(&mut v, IpNumber::GRE, &gre)
        .unwrap();
    let full = v.len();
    let (d, st) = decode_one(101, v[..full - 30].to_vec());
    let s = tcp(d);
    assert_eq!(s.payload, vec![0x66u8; 70]);
    assert_eq!(s.missing_tail, 30);
    assert_eq!(st.problems.get("snaplen_truncated"), Some(&1));
}

#[test]
fn udp_4789_without_vxlan_flag_is_a_plain_datagram() {
    let body = vec![0x00, 0, 0, 0, 0, 0, 0x2a, 0, 1, 2, 3];
    let mut v = Vec::new();
    PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(49152, 4789)
        .write(&mut v, &body)
        .unwrap();
    let u = udp(decode_one(101, v).0);
    assert_eq!(u.payload, body);
}

#[test]
fn ip_in_ip_is_decoded() {
    let mut v = Vec::new();
    PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .write(&mut v, IpNumber::IPV4, &ipv4_tcp(PAYLOAD))
        .unwrap();
    assert_v4_segment(&tcp(decode_one(101, v).0), PAYLOAD);
}

#[test]
fn nested_tunnels_stop_at_the_depth_limit() {
    // Many levels of IP-in-IP: bounded recursion, no stack overflow, no panic.
    let mut inner = ipv4_tcp(PAYLOAD);
    for _ in 0..10 {
        let mut v = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .write(&mut v, IpNumber::IPV4, &inner)
            .unwrap();
        inner = v;
    }
    let (d, st) = decode_one(101, inner);
    assert!(d.is_none());
    assert_eq!(st.other, 1);
}

// ---------------------------------------------------------------------------
// Tunnels and link types of taps and clouds (issue 14)
// ---------------------------------------------------------------------------

fn outer_udp(dport: u16, inner: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(49152, dport)
        .write(&mut v, inner)
        .unwrap();
    v
}

#[test]
fn geneve_with_options_carrying_ethernet_and_ip() {
    // Version 0, 2 words of options, protocol 0x6558 (Ethernet), VNI 7.
    let mut g = vec![0x02, 0x00, 0x65, 0x58, 0, 0, 7, 0];
    g.extend_from_slice(&[0x01, 0x08, 0x01, 0x01, 0xde, 0xad, 0xbe, 0xef]);
    g.extend_from_slice(&eth_ipv4_tcp(PAYLOAD));
    let (d, st) = decode_one(1, outer_udp(6081, &g));
    assert_v4_segment(&tcp(d), PAYLOAD);
    assert!(st.problems.is_empty(), "{:?}", st.problems);
    // Protocol type IPv4, no options.
    let mut g = vec![0x00, 0x00, 0x08, 0x00, 0, 0, 7, 0];
    g.extend_from_slice(&ipv4_tcp(PAYLOAD));
    assert_v4_segment(&tcp(decode_one(1, outer_udp(6081, &g)).0), PAYLOAD);
}

#[test]
fn gtpu_gpdu_with_sequence_number_and_an_extension_header() {
    let inner = ipv4_tcp(PAYLOAD);
    // Version 1, PT, E and S flags; G-PDU; TEID; sequence 1, N-PDU 0, next ext 0x85
    // (PDU session container, 1 word, next 0).
    let mut g = vec![
        0x36, 0xff, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0x85, 1, 0x10, 0x09, 0x00,
    ];
    let len = (g.len() - 8 + inner.len()) as u16;
    g[2..4].copy_from_slice(&len.to_be_bytes());
    g.extend_from_slice(&inner);
    let (d, st) = decode_one(1, outer_udp(2152, &g));
    assert_v4_segment(&tcp(d), PAYLOAD);
    assert!(st.problems.is_empty(), "{:?}", st.problems);
    // Plain G-PDU, no optional fields.
    let mut g = vec![0x30, 0xff, 0, 0, 0, 0, 0, 1];
    g.extend_from_slice(&inner);
    assert_v4_segment(&tcp(decode_one(1, outer_udp(2152, &g)).0), PAYLOAD);
    // Echo request (type 1) is not a packet.
    let (d, _) = decode_one(
        1,
        outer_udp(2152, &[0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0]),
    );
    assert!(matches!(d, Some(Decoded::Udp(_))), "left as a datagram");
}

#[test]
fn pptp_enhanced_gre_carrying_ppp() {
    let inner = ipv4_tcp(PAYLOAD);
    // Version 1, K + S + A flags, protocol PPP (0x880b), payload length, call id, seq, ack,
    // then PPP with address/control and a compressed one-byte protocol (0x21).
    let mut gre = vec![0x30, 0x81, 0x88, 0x0b];
    gre.extend_from_slice(&((inner.len() + 3) as u16).to_be_bytes());
    gre.extend_from_slice(&[0x12, 0x34, 0, 0, 0, 5, 0, 0, 0, 4, 0xff, 0x03, 0x21]);
    gre.extend_from_slice(&inner);
    let mut v = Vec::new();
    PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .write(&mut v, IpNumber::GRE, &gre)
        .unwrap();
    let (d, st) = decode_one(101, v);
    assert_v4_segment(&tcp(d), PAYLOAD);
    assert!(st.problems.is_empty(), "{:?}", st.problems);
    // Two-byte protocol, no sequence or ack, no address/control.
    let mut gre = vec![0x20, 0x01, 0x88, 0x0b, 0, 0, 0x12, 0x34, 0x00, 0x21];
    gre.extend_from_slice(&inner);
    let mut v = Vec::new();
    PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .write(&mut v, IpNumber::GRE, &gre)
        .unwrap();
    assert_v4_segment(&tcp(decode_one(101, v).0), PAYLOAD);
}

fn wifi_data(qos: bool, protected: bool) -> Vec<u8> {
    // Data (type 2), subtype 0 or QoS data (8); flags: to-DS, protected.
    let fc0 = if qos { 0x88 } else { 0x08 };
    let fc1 = 0x01 | if protected { 0x40 } else { 0 };
    let mut f = vec![fc0, fc1, 0, 0];
    f.extend_from_slice(&[0x02; 18]); // three addresses
    f.extend_from_slice(&[0x10, 0x00]); // sequence control
    if qos {
        f.extend_from_slice(&[0x00, 0x00]);
    }
    f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
    f.extend_from_slice(&ipv4_tcp(PAYLOAD));
    f
}

#[test]
fn radiotap_80211_data_frames_unencrypted_only() {
    // Radiotap: version 0, length 12 (flags + rate present), then the 802.11 frame.
    let radiotap = [0u8, 0, 12, 0, 0x06, 0, 0, 0, 0x00, 0x02, 0, 0];
    for qos in [false, true] {
        let mut f = radiotap.to_vec();
        f.extend_from_slice(&wifi_data(qos, false));
        let (d, st) = decode_one(127, f);
        assert_v4_segment(&tcp(d), PAYLOAD);
        assert!(st.problems.is_empty(), "{:?}", st.problems);
        assert_v4_segment(&tcp(decode_one(105, wifi_data(qos, false)).0), PAYLOAD);
    }
    // Encrypted (protected) frames and beacons are "other".
    let mut f = radiotap.to_vec();
    f.extend_from_slice(&wifi_data(true, true));
    let (d, st) = decode_one(127, f);
    assert!(d.is_none());
    assert_eq!(st.other, 1);
    let mut beacon = radiotap.to_vec();
    beacon.extend_from_slice(&[0x80, 0x00, 0, 0]);
    beacon.extend_from_slice(&[0xff; 40]);
    let (d, st) = decode_one(127, beacon);
    assert!(d.is_none());
    assert_eq!(st.other, 1);
}

#[test]
fn nflog_payload_tlv() {
    let inner = ipv4_tcp(PAYLOAD);
    // AF_INET, version 0, group 5; a prefix TLV (type 10, "x\0" padded), then the payload.
    let mut f = vec![2, 0, 0, 5];
    f.extend_from_slice(&6u16.to_le_bytes());
    f.extend_from_slice(&10u16.to_le_bytes());
    f.extend_from_slice(&[b'x', 0, 0, 0]);
    f.extend_from_slice(&((4 + inner.len()) as u16).to_le_bytes());
    f.extend_from_slice(&9u16.to_le_bytes());
    f.extend_from_slice(&inner);
    let (d, st) = decode_one(239, f);
    assert_v4_segment(&tcp(d), PAYLOAD);
    assert!(st.problems.is_empty(), "{:?}", st.problems);
    // A TLV claiming 2 bytes is damage, counted.
    let (d, st) = decode_one(239, vec![2, 0, 0, 5, 2, 0, 9, 0]);
    assert!(d.is_none());
    assert_eq!(st.problems.get("truncated_link_header"), Some(&1));
}

/// `decodes` had a list of its own, which left out 802.11 (105), radiotap (127) and
/// NFLOG (239) that `ip_payload` decodes (review finding).
#[test]
fn every_link_type_ip_payload_reads_is_one_decodes_names() {
    for l in [
        0, 1, 9, 12, 14, 50, 101, 105, 108, 113, 127, 228, 229, 239, 276,
    ] {
        assert!(crate::decode::link::decodes(LinkType(l)), "{l}");
    }
    for l in [147, 2, 10, 192] {
        assert!(!crate::decode::link::decodes(LinkType(l)), "{l}");
    }
}
