//! Link layers and tunnels: find the IP packet inside a frame. Checked reads only.

use crate::capture::LinkType;

pub enum LinkError {
    UnknownLinkType,
    NotIp,
    Truncated,
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_QINQ_OLD: u16 = 0x9100;
const ETH_MPLS: u16 = 0x8847;
const ETH_MPLS_MC: u16 = 0x8848;
const ETH_PPPOE: u16 = 0x8864;

fn be16(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

fn le16(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
}

fn le32(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([
        *b.first()?,
        *b.get(1)?,
        *b.get(2)?,
        *b.get(3)?,
    ]))
}

/// The sender's MAC address of a frame: Ethernet's source, or a Linux cooked header's
/// link-layer address when it is 6 bytes long.
pub fn src_mac(link: LinkType, data: &[u8]) -> Option<[u8; 6]> {
    let at = match link.0 {
        1 => 6,
        // SLL: address length at 4, address at 6.
        113 if be16(data, 4) == Some(6) => 6,
        // SLL2: address length at 11, address at 12.
        276 if data.get(11) == Some(&6) => 12,
        _ => return None,
    };
    <[u8; 6]>::try_from(data.get(at..at + 6)?).ok()
}

/// The source address of an IP packet, read from its header.
pub fn ip_src(ip: &[u8]) -> Option<std::net::IpAddr> {
    match ip.first()? >> 4 {
        4 => <[u8; 4]>::try_from(ip.get(12..16)?).ok().map(Into::into),
        6 => <[u8; 16]>::try_from(ip.get(8..24)?).ok().map(Into::into),
        _ => None,
    }
}

/// Whether probewatch decodes packets of this link type: every arm of [`ip_payload`],
/// read from it (a list of its own left 802.11, radiotap and NFLOG out).
pub fn decodes(link: LinkType) -> bool {
    !matches!(ip_payload(link, &[]), Err(LinkError::UnknownLinkType))
}

/// The IP packet inside a frame of the given link type.
pub fn ip_payload(link: LinkType, data: &[u8]) -> Result<&[u8], LinkError> {
    match link.0 {
        // DLT_EN10MB
        1 => ethernet(data, 0),
        // DLT_NULL (host byte order) and DLT_LOOP (network byte order): 4-byte family.
        0 | 108 => {
            let fam = le32(data, 0).ok_or(LinkError::Truncated)?;
            let rest = data.get(4..).ok_or(LinkError::Truncated)?;
            let fam_le = fam;
            let fam_be = fam.swap_bytes();
            let is = |f: u32| [fam_le, fam_be].contains(&f);
            if is(2) || is(24) || is(28) || is(30) {
                Ok(rest)
            } else {
                Err(LinkError::NotIp)
            }
        }
        // Raw IP (LINKTYPE_RAW 101, DLT_RAW 12 / 14), LINKTYPE_IPV4 / IPV6.
        101 | 12 | 14 | 228 | 229 => by_version(data),
        // Linux cooked capture v1: protocol at offset 14, header 16 bytes.
        113 => {
            let proto = be16(data, 14).ok_or(LinkError::Truncated)?;
            let rest = data.get(16..).ok_or(LinkError::Truncated)?;
            ether_type(proto, rest, 0)
        }
        // Linux cooked capture v2: protocol at offset 0, header 20 bytes.
        276 => {
            let proto = be16(data, 0).ok_or(LinkError::Truncated)?;
            let rest = data.get(20..).ok_or(LinkError::Truncated)?;
            ether_type(proto, rest, 0)
        }
        // PPP: optional address/control (ff 03), then a 2-byte protocol.
        9 | 50 => {
            let d = if data.get(0..2) == Some(&[0xff, 0x03][..]) {
                data.get(2..).ok_or(LinkError::Truncated)?
            } else {
                data
            };
            ppp(d)
        }
        // IEEE 802.11 (105), and with a radiotap header (127): unencrypted data frames.
        105 => wifi(data),
        127 => {
            // Radiotap: version 0, pad, little-endian length of the whole header.
            if data.first() != Some(&0) {
                return Err(LinkError::NotIp);
            }
            let len = usize::from(le16(data, 2).ok_or(LinkError::Truncated)?);
            wifi(data.get(len..).ok_or(LinkError::Truncated)?)
        }
        // Linux NFLOG: family, version, resource id, then TLVs (host byte order, here
        // little-endian); NFULA_PAYLOAD (9) holds the IP packet.
        239 => nflog(data),
        _ => Err(LinkError::UnknownLinkType),
    }
}

/// The IP packet of an 802.11 data frame (LLC/SNAP). Protected (encrypted), management
/// and control frames, and data frames without a body, are not IP to probewatch.
fn wifi(d: &[u8]) -> Result<&[u8], LinkError> {
    let fc0 = *d.first().ok_or(LinkError::Truncated)?;
    let fc1 = *d.get(1).ok_or(LinkError::Truncated)?;
    let kind = (fc0 >> 2) & 3;
    let subtype = fc0 >> 4;
    if kind != 2 || subtype & 0x4 != 0 || fc1 & 0x40 != 0 {
        return Err(LinkError::NotIp);
    }
    let mut hdr = 24;
    if fc1 & 0x03 == 0x03 {
        hdr += 6; // a fourth address (WDS)
    }
    if subtype & 0x8 != 0 {
        hdr += 2; // QoS control
        if fc1 & 0x80 != 0 {
            hdr += 4; // HT control
        }
    }
    let body = d.get(hdr..).ok_or(LinkError::Truncated)?;
    match body.get(..6) {
        Some([0xaa, 0xaa, 0x03, 0, 0, 0]) | Some([0xaa, 0xaa, 0x03, 0, 0, 0xf8]) => {
            let proto = be16(body, 6).ok_or(LinkError::Truncated)?;
            ether_type(proto, body.get(8..).ok_or(LinkError::Truncated)?, 0)
        }
        Some(_) => Err(LinkError::NotIp),
        None => Err(LinkError::Truncated),
    }
}

/// The packet inside a Linux NFLOG record.
fn nflog(d: &[u8]) -> Result<&[u8], LinkError> {
    let mut off = 4usize;
    // At most 64 TLVs: a record has a handful.
    for _ in 0..64 {
        let len = usize::from(le16(d, off).ok_or(LinkError::Truncated)?);
        let kind = le16(d, off + 2).ok_or(LinkError::Truncated)?;
        if len < 4 {
            return Err(LinkError::Truncated);
        }
        if kind & 0x7fff == 9 {
            let value = d.get(off + 4..off + len).ok_or(LinkError::Truncated)?;
            return by_version(value);
        }
        off += (len + 3) & !3;
    }
    Err(LinkError::NotIp)
}

/// A PPP frame: optional address/control (ff 03), a protocol of one byte (protocol field
/// compression) or two, then IPv4 or IPv6.
fn ppp_frame(d: &[u8]) -> Option<&[u8]> {
    let d = if d.get(0..2) == Some(&[0xff, 0x03][..]) {
        d.get(2..)?
    } else {
        d
    };
    let first = *d.first()?;
    let (proto, rest) = if first & 1 == 1 {
        (u16::from(first), d.get(1..)?)
    } else {
        (be16(d, 0)?, d.get(2..)?)
    };
    match proto {
        0x0021 | 0x0057 => by_version(rest).ok(),
        _ => None,
    }
}

/// The IP packet inside a Geneve payload (RFC 8926: 8 bytes plus options; protocol type
/// Ethernet or IP), as AWS Gateway Load Balancer sends.
pub fn geneve_inner_ip(d: &[u8]) -> Option<&[u8]> {
    let b0 = *d.first()?;
    if b0 >> 6 != 0 {
        return None; // version 0 only
    }
    let opts = usize::from(b0 & 0x3f) * 4;
    let proto = be16(d, 2)?;
    let inner = d.get(8 + opts..)?;
    match proto {
        0x6558 => ethernet(inner, 1).ok(),
        ETH_IPV4 | ETH_IPV6 => by_version(inner).ok(),
        _ => None,
    }
}

/// The IP packet inside a GTP-U G-PDU (3GPP TS 29.281: version 1, message type 255;
/// optional sequence number, N-PDU number and a chain of extension headers).
pub fn gtpu_inner_ip(d: &[u8]) -> Option<&[u8]> {
    let flags = *d.first()?;
    if flags >> 5 != 1 || flags & 0x10 == 0 || *d.get(1)? != 0xff {
        return None;
    }
    let mut off = 8usize;
    if flags & 0x07 != 0 {
        off += 4; // sequence number, N-PDU number, next extension header type
        let mut next = *d.get(off - 1)?;
        let mut hops = 0;
        while next != 0 && flags & 0x04 != 0 {
            hops += 1;
            if hops > 16 {
                return None;
            }
            let units = usize::from(*d.get(off)?);
            if units == 0 {
                return None;
            }
            off += units * 4;
            next = *d.get(off - 1)?;
        }
    }
    by_version(d.get(off..)?).ok()
}

fn ppp(d: &[u8]) -> Result<&[u8], LinkError> {
    let proto = be16(d, 0).ok_or(LinkError::Truncated)?;
    let rest = d.get(2..).ok_or(LinkError::Truncated)?;
    match proto {
        0x0021 | 0x0057 => Ok(rest),
        _ => Err(LinkError::NotIp),
    }
}

fn by_version(d: &[u8]) -> Result<&[u8], LinkError> {
    match d.first().map(|b| b >> 4) {
        Some(4) | Some(6) => Ok(d),
        Some(_) => Err(LinkError::NotIp),
        None => Err(LinkError::Truncated),
    }
}

fn ethernet(data: &[u8], depth: u8) -> Result<&[u8], LinkError> {
    let proto = be16(data, 12).ok_or(LinkError::Truncated)?;
    let rest = data.get(14..).ok_or(LinkError::Truncated)?;
    ether_type(proto, rest, depth)
}

fn ether_type(mut proto: u16, mut rest: &[u8], depth: u8) -> Result<&[u8], LinkError> {
    // A bounded walk through VLAN tags, MPLS labels and PPPoE.
    for _ in 0..16 {
        match proto {
            ETH_IPV4 | ETH_IPV6 => return Ok(rest),
            ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD => {
                proto = be16(rest, 2).ok_or(LinkError::Truncated)?;
                rest = rest.get(4..).ok_or(LinkError::Truncated)?;
            }
            ETH_MPLS | ETH_MPLS_MC => {
                // Pop labels until bottom of stack, then guess from the IP version nibble.
                let mut r = rest;
                loop {
                    let label = r.get(0..4).ok_or(LinkError::Truncated)?;
                    let bottom = label.get(2).is_some_and(|b| b & 1 == 1);
                    r = r.get(4..).ok_or(LinkError::Truncated)?;
                    if bottom {
                        break;
                    }
                }
                return match r.first().map(|b| b >> 4) {
                    Some(4) | Some(6) => Ok(r),
                    // Pseudowire with control word + Ethernet, or plain Ethernet.
                    Some(0) if depth < 3 => {
                        ethernet(r.get(4..).ok_or(LinkError::Truncated)?, depth + 1)
                    }
                    Some(_) if depth < 3 => ethernet(r, depth + 1),
                    None => Err(LinkError::Truncated),
                    _ => Err(LinkError::NotIp),
                };
            }
            ETH_PPPOE => {
                let r = rest.get(6..).ok_or(LinkError::Truncated)?;
                return ppp(r);
            }
            _ => return Err(LinkError::NotIp),
        }
    }
    Err(LinkError::NotIp)
}

/// The IP packet inside a GRE payload (plain IP, transparent Ethernet, ERSPAN II/III).
pub fn gre_inner_ip(d: &[u8]) -> Option<&[u8]> {
    let flags = be16(d, 0)?;
    let proto = be16(d, 2)?;
    // PPTP's enhanced GRE (version 1, RFC 2637): key (payload length, call id) always,
    // sequence and acknowledgment numbers when flagged, then a PPP frame.
    if flags & 0x7 == 1 {
        if proto != 0x880b {
            return None;
        }
        let mut off = 8usize;
        if flags & 0x1000 != 0 {
            off += 4;
        }
        if flags & 0x0080 != 0 {
            off += 4;
        }
        return ppp_frame(d.get(off..)?);
    }
    let mut off = 4usize;
    if flags & 0x8000 != 0 {
        off += 4; // checksum + reserved
    }
    if flags & 0x2000 != 0 {
        off += 4; // key
    }
    if flags & 0x1000 != 0 {
        off += 4; // sequence number
    }
    let inner = d.get(off..)?;
    match proto {
        ETH_IPV4 | ETH_IPV6 => by_version(inner).ok(),
        0x6558 => ethernet(inner, 1).ok(),
        // ERSPAN type II: 8-byte header, then Ethernet.
        0x88be => ethernet(inner.get(8..)?, 1).ok(),
        // ERSPAN type III: 12-byte header (+8 with the O flag), then Ethernet.
        0x22eb => {
            let o_flag = inner.get(11).is_some_and(|b| b & 1 == 1);
            let skip = if o_flag { 20 } else { 12 };
            ethernet(inner.get(skip..)?, 1).ok()
        }
        _ => None,
    }
}

/// The IP packet inside a VXLAN payload (8-byte header with the I flag, then Ethernet).
pub fn vxlan_inner_ip(d: &[u8]) -> Option<&[u8]> {
    let flags = *d.first()?;
    if flags & 0x08 == 0 {
        return None;
    }
    ethernet(d.get(8..)?, 1).ok()
}
