//! Stage 2: decode link, IP and transport headers.
//!
//! Input: owned [`Packet`]s from `capture`. Output: [`Decoded`] segments and datagrams.
//! A segment's payload borrows the packet's bytes (`Cow::Borrowed`) for the one call that
//! hands it to the reassembler, which copies only what it still needs (nothing once a
//! direction's handshake is over); reassembled IP fragments are owned. Every malformed
//! packet is counted by kind in [`DecodeStats`] and skipped.

mod defrag;
pub mod link;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, SocketAddr};

use etherparse::{IpNumber, LaxIpSlice, TcpSlice, UdpSlice};

use crate::capture::{LinkType, Packet, PacketView, Timestamp};
pub use defrag::DefragLimits;

/// TCP flags probewatch cares about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

/// One TCP segment.
#[derive(Clone, Debug)]
pub struct Segment<'a> {
    pub ts: Timestamp,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// Payload bytes that were captured.
    pub payload: Cow<'a, [u8]>,
    /// Payload bytes that were on the wire but cut by the snapshot length.
    pub missing_tail: u32,
    /// The sender's link-layer (MAC) address, when the frame shows it and the packet is
    /// not from inside a tunnel.
    pub src_mac: Option<Mac>,
}

/// A 48-bit link-layer address (Ethernet, or SLL's when it is 6 bytes long).
pub type Mac = [u8; 6];

impl Segment<'_> {
    /// The same segment owning its payload.
    pub fn into_owned(self) -> Segment<'static> {
        Segment {
            payload: Cow::Owned(self.payload.into_owned()),
            ..self
        }
    }
}

/// One UDP datagram.
#[derive(Clone, Debug)]
pub struct Datagram {
    pub ts: Timestamp,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub payload: Vec<u8>,
    /// True when the snapshot length cut the datagram.
    pub truncated: bool,
    /// The sender's link-layer (MAC) address, as for [`Segment::src_mac`].
    pub src_mac: Option<Mac>,
}

#[derive(Clone, Debug)]
pub enum Decoded<'a> {
    Tcp(Segment<'a>),
    Udp(Datagram),
}

impl Decoded<'_> {
    pub fn into_owned(self) -> Decoded<'static> {
        match self {
            Decoded::Tcp(s) => Decoded::Tcp(s.into_owned()),
            Decoded::Udp(d) => Decoded::Udp(d),
        }
    }
}

/// Counters of what the decoder saw and skipped.
#[derive(Clone, Debug, Default)]
pub struct DecodeStats {
    pub packets: u64,
    pub bytes: u64,
    pub tcp: u64,
    pub udp: u64,
    /// Packets that are not IP, TCP or UDP (ARP, ICMP, ...): skipped on purpose.
    pub other: u64,
    /// Problems by kind (bad header, snaplen cut, ...): counted and skipped.
    pub problems: BTreeMap<&'static str, u64>,
    /// Link types probewatch cannot decode, reported once each.
    pub unknown_link_types: Vec<i32>,
    pub fragments_reassembled: u64,
    pub fragment_evictions: u64,
}

impl DecodeStats {
    pub fn problem(&mut self, kind: &'static str) {
        *self.problems.entry(kind).or_insert(0) += 1;
    }
}

/// Stateful decoder (IP fragment reassembly is the only state).
pub struct Decoder {
    pub stats: DecodeStats,
    unknown_links: HashSet<i32>,
    defrag: defrag::Defragmenter,
}

impl Decoder {
    pub fn new(limits: DefragLimits) -> Self {
        Decoder {
            stats: DecodeStats::default(),
            unknown_links: HashSet::new(),
            defrag: defrag::Defragmenter::new(limits),
        }
    }

    /// Decodes one packet into an owned result. `None` when it carries nothing for
    /// probewatch.
    pub fn decode(&mut self, pkt: &Packet) -> Option<Decoded<'static>> {
        self.decode_ref(pkt.view()).map(Decoded::into_owned)
    }

    /// Decodes one packet; a segment's payload borrows `pkt`. `None` when it carries
    /// nothing for probewatch.
    pub fn decode_ref<'p>(&mut self, pkt: PacketView<'p>) -> Option<Decoded<'p>> {
        self.stats.packets += 1;
        self.stats.bytes += u64::from(pkt.wire_len);
        let ip = match link::ip_payload(pkt.link, pkt.data) {
            Ok(ip) => ip,
            Err(link::LinkError::UnknownLinkType) => {
                self.unknown_link(pkt.link);
                return None;
            }
            Err(link::LinkError::NotIp) => {
                self.stats.other += 1;
                return None;
            }
            Err(link::LinkError::Truncated) => {
                self.stats.problem("truncated_link_header");
                return None;
            }
        };
        let mut d = self.decode_ip(pkt.ts, ip, 0)?;
        if let Some(mac) = link::src_mac(pkt.link, pkt.data) {
            // Only the outer packet's sender has this MAC (not one inside a tunnel).
            let outer = link::ip_src(ip);
            match &mut d {
                Decoded::Tcp(s) if outer == Some(s.src.ip()) => s.src_mac = Some(mac),
                Decoded::Udp(u) if outer == Some(u.src.ip()) => u.src_mac = Some(mac),
                Decoded::Tcp(_) | Decoded::Udp(_) => {}
            }
        }
        Some(d)
    }

    fn unknown_link(&mut self, link: LinkType) {
        self.stats.problem("unknown_link_type");
        if self.unknown_links.insert(link.0) {
            self.stats.unknown_link_types.push(link.0);
        }
    }

    fn decode_ip<'p>(&mut self, ts: Timestamp, ip: &'p [u8], depth: u8) -> Option<Decoded<'p>> {
        let (slice, _ext_err) = match LaxIpSlice::from_slice(ip) {
            Ok(v) => v,
            Err(_) => {
                self.stats.problem("bad_ip_header");
                return None;
            }
        };
        let src = slice.source_addr();
        let dst = slice.destination_addr();
        let payload = slice.payload();
        if payload.fragmented {
            let Some(frag) = defrag::FragmentInfo::from_ip(&slice) else {
                self.stats.problem("bad_ip_fragment");
                return None;
            };
            if payload.incomplete {
                self.stats.problem("snaplen_truncated_fragment");
                return None;
            }
            let outcome = self.defrag.add(ts, frag, payload.payload);
            self.stats.fragment_evictions = self.defrag.evictions;
            let whole = match outcome {
                defrag::Outcome::Pending => return None,
                defrag::Outcome::Rejected(kind) => {
                    self.stats.problem(kind);
                    return None;
                }
                defrag::Outcome::Complete(whole) => whole,
            };
            self.stats.fragments_reassembled += 1;
            let declared = whole.1.len();
            let ip = IpContext {
                ts,
                src,
                dst,
                depth,
            };
            return self
                .decode_transport(ip, whole.0, &whole.1, declared)
                .map(Decoded::into_owned);
        }
        let declared = declared_payload_len(&slice).unwrap_or(payload.payload.len());
        let ip = IpContext {
            ts,
            src,
            dst,
            depth,
        };
        self.decode_transport(ip, payload.ip_number, payload.payload, declared)
    }

    /// The transport header and payload of an IP packet: `declared` is the payload
    /// length its IP header states (more than `data` holds when the snapshot length cut
    /// it).
    fn decode_transport<'p>(
        &mut self,
        ip: IpContext,
        proto: IpNumber,
        data: &'p [u8],
        declared: usize,
    ) -> Option<Decoded<'p>> {
        let IpContext {
            ts,
            src,
            dst,
            depth,
        } = ip;
        // The IP header says how long its payload is; fewer captured bytes mean the
        // snapshot length cut the packet.
        let cut = declared > data.len();
        match proto {
            IpNumber::TCP => {
                let tcp = match TcpSlice::from_slice(data) {
                    Ok(t) => t,
                    Err(_) => {
                        self.stats.problem(if cut {
                            "snaplen_truncated_tcp_header"
                        } else {
                            "bad_tcp_header"
                        });
                        return None;
                    }
                };
                self.stats.tcp += 1;
                let payload = tcp.payload();
                let wire_payload = declared.saturating_sub(tcp.header_slice().len());
                let missing_tail =
                    u32::try_from(wire_payload.saturating_sub(payload.len())).unwrap_or(u32::MAX);
                if cut {
                    self.stats.problem("snaplen_truncated");
                }
                Some(Decoded::Tcp(Segment {
                    ts,
                    src: SocketAddr::new(src, tcp.source_port()),
                    dst: SocketAddr::new(dst, tcp.destination_port()),
                    seq: tcp.sequence_number(),
                    ack: tcp.acknowledgment_number(),
                    flags: TcpFlags {
                        syn: tcp.syn(),
                        ack: tcp.ack(),
                        fin: tcp.fin(),
                        rst: tcp.rst(),
                    },
                    payload: Cow::Borrowed(payload),
                    missing_tail,
                    src_mac: None,
                }))
            }
            IpNumber::UDP => {
                let udp = match UdpSlice::from_slice_lax(data) {
                    Ok(u) => u,
                    Err(_) => {
                        self.stats.problem(if cut {
                            "snaplen_truncated_udp_header"
                        } else {
                            "bad_udp_header"
                        });
                        return None;
                    }
                };
                let declared = usize::from(udp.length()).saturating_sub(8);
                let payload = udp.payload();
                let truncated = cut || payload.len() < declared;
                let (sp, dp) = (udp.source_port(), udp.destination_port());
                // VXLAN (UDP 4789) carries a whole Ethernet frame: decode the inner one
                // (the inner packet reports its own snaplen cut).
                if (dp == 4789 || sp == 4789) && depth < 4 {
                    if let Some(inner) = link::vxlan_inner_ip(payload) {
                        self.stats.udp += 1;
                        return self.decode_ip(ts, inner, depth + 1);
                    }
                }
                // Geneve (UDP 6081, e.g. AWS Gateway Load Balancer) and GTP-U (UDP 2152,
                // mobile cores) the same way.
                if depth < 4 {
                    let inner = if dp == 6081 || sp == 6081 {
                        link::geneve_inner_ip(payload)
                    } else if dp == 2152 || sp == 2152 {
                        link::gtpu_inner_ip(payload)
                    } else {
                        None
                    };
                    if let Some(inner) = inner {
                        self.stats.udp += 1;
                        return self.decode_ip(ts, inner, depth + 1);
                    }
                }
                if truncated {
                    self.stats.problem(if cut {
                        "snaplen_truncated"
                    } else {
                        "udp_length_exceeds_packet"
                    });
                }
                self.stats.udp += 1;
                Some(Decoded::Udp(Datagram {
                    ts,
                    src: SocketAddr::new(src, sp),
                    dst: SocketAddr::new(dst, dp),
                    payload: payload.to_vec(),
                    truncated,
                    src_mac: None,
                }))
            }
            IpNumber::GRE if depth < 4 => match link::gre_inner_ip(data) {
                Some(inner) => self.decode_ip(ts, inner, depth + 1),
                None => {
                    self.stats.other += 1;
                    None
                }
            },
            IpNumber::IPV4 | IpNumber::IPV6 if depth < 4 => self.decode_ip(ts, data, depth + 1),
            _ => {
                self.stats.other += 1;
                None
            }
        }
    }

    /// Drops fragment buffers idle for longer than the limit.
    pub fn expire(&mut self, now: Timestamp) {
        self.defrag.expire(now);
        self.stats.fragment_evictions = self.defrag.evictions;
    }
}

/// The payload length the IP header declares (after extension headers).
fn declared_payload_len(slice: &LaxIpSlice<'_>) -> Option<usize> {
    match slice {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let total = usize::from(h.total_len());
            let hdr = usize::from(h.ihl()) * 4;
            total.checked_sub(hdr)
        }
        LaxIpSlice::Ipv6(v6) => {
            let plen = usize::from(v6.header().payload_length());
            if plen == 0 {
                return None; // jumbogram or unknown: trust what was captured
            }
            plen.checked_sub(v6.extensions().slice().len())
        }
    }
}

/// What the IP layer hands the transport layer besides the payload: the time, the
/// addresses and how many tunnels deep the packet is.
#[derive(Clone, Copy, Debug)]
struct IpContext {
    ts: Timestamp,
    src: IpAddr,
    dst: IpAddr,
    depth: u8,
}

#[cfg(test)]
mod tests;
