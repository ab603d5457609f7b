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

fn le32(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([
        *b.first()?,
        *b.get(1)?,
        *b.get(2)?,
        *b.get(3)?,
    ]))
}

/// Whether probewatch decodes packets of this link type (every arm of [`ip_payload`]).
pub fn decodes(link: LinkType) -> bool {
    matches!(
        link.0,
        0 | 1 | 9 | 12 | 14 | 50 | 101 | 108 | 113 | 228 | 229 | 276
    )
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
        _ => Err(LinkError::UnknownLinkType),
    }
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
