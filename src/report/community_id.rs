//! The Community ID flow hash, version 1 (github.com/corelight/community-id-spec), as Zeek,
//! Suricata and Elastic write it in `community_id` / `network.community_id`: both
//! directions of a flow give the same value, so probewatch's probes join their logs.

use std::net::IpAddr;

use sha1::{Digest, Sha1};

/// IP protocol numbers.
pub const TCP: u8 = 6;
pub const UDP: u8 = 17;

/// `1:` and the base64 of the SHA-1 of seed, the ordered addresses, the protocol, a pad
/// byte and the ordered ports. `None` when the two addresses are of different families.
pub fn v1(seed: u16, a: IpAddr, a_port: u16, b: IpAddr, b_port: u16, proto: u8) -> Option<String> {
    match (a, b) {
        (IpAddr::V4(x), IpAddr::V4(y)) => {
            Some(hash(seed, &x.octets(), a_port, &y.octets(), b_port, proto))
        }
        (IpAddr::V6(x), IpAddr::V6(y)) => {
            Some(hash(seed, &x.octets(), a_port, &y.octets(), b_port, proto))
        }
        _ => None,
    }
}

fn hash(seed: u16, x: &[u8], a_port: u16, y: &[u8], b_port: u16, proto: u8) -> String {
    // The smaller endpoint first (address, then port).
    let ((sa, sp), (da, dp)) = if (x, a_port) <= (y, b_port) {
        ((x, a_port), (y, b_port))
    } else {
        ((y, b_port), (x, a_port))
    };
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(sa);
    h.update(da);
    h.update([proto, 0]);
    h.update(sp.to_be_bytes());
    h.update(dp.to_be_bytes());
    // "1:" and the 28 characters of a 20-byte digest in base64.
    let mut out = String::with_capacity(30);
    out.push_str("1:");
    base64_into(&h.finalize(), &mut out);
    out
}

/// Standard base64 with padding (RFC 4648 §4), appended to `out`.
fn base64_into(data: &[u8], out: &mut String) {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |i: u32| char::from(ABC.get((i & 63) as usize).copied().unwrap_or(b'='));
    for chunk in data.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
}

#[cfg(test)]
mod tests {
    fn base64(data: &[u8]) -> String {
        let mut s = String::new();
        base64_into(data, &mut s);
        s
    }

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    /// The spec's published vectors (its baseline, also Zeek's btest), both directions.
    #[test]
    fn published_test_vectors() {
        let (a, b) = (ip("1.2.3.4"), ip("5.6.7.8"));
        for (seed, proto, want) in [
            (0, TCP, "1:wCb3OG7yAFWelaUydu0D+125CLM="),
            (0, UDP, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="),
            (1, TCP, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="),
            (1, UDP, "1:OShq+iKDAMVouh/4bMxB9Sz4amw="),
        ] {
            assert_eq!(v1(seed, a, 1122, b, 3344, proto).as_deref(), Some(want));
            assert_eq!(v1(seed, b, 3344, a, 1122, proto).as_deref(), Some(want));
        }
        assert_eq!(v1(0, a, 1, ip("::1"), 2, TCP), None);
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }
}
