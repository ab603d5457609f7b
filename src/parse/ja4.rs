//! JA4: FoxIO's TLS client fingerprint (the JA4 part of JA4+ is BSD 3-Clause licensed;
//! specification: FoxIO-LLC/ja4, technical_details/JA4.md).
//!
//! `a_b_c` where
//! * `a` = `t` (TCP) or `q` (QUIC: the hello carries quic_transport_parameters, as the
//!   reference implementation decides), the highest offered version (`13`, `12`, `11`,
//!   `10`, `s3`, `s2`, else `00`), `d` when the hello has an SNI extension else `i`, the
//!   number of cipher suites and of extensions (GREASE ignored, at most 99, two digits),
//!   and the first and last character of the first ALPN value (`00` without ALPN; a
//!   non-ASCII character counts as `9`);
//! * `b` = the first 12 hex digits of SHA-256 over the sorted cipher suites (4 hex digits
//!   each, comma-separated, GREASE removed);
//! * `c` = the same over the sorted extensions without SNI (0000) and ALPN (0010), then
//!   `_` and the signature algorithms in the order offered (no `_` when there are none).
//!
//! An empty list hashes to `000000000000`.

use sha2::{Digest, Sha256};

use super::tls::{is_grease, ClientHello};

const EXT_SNI: u16 = 0x0000;
const EXT_ALPN: u16 = 0x0010;
const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;
const EXT_QUIC_TRANSPORT_PARAMETERS: u16 = 0x0039;

fn version_code(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        _ => "00",
    }
}

/// Appends the first 12 hex digits of SHA-256 of `s` to `out`, or twelve zeros for an
/// empty input.
fn push_hash12(out: &mut String, s: &str) {
    if s.is_empty() {
        out.push_str("000000000000");
        return;
    }
    let d = Sha256::digest(s.as_bytes());
    for b in d.iter().take(6) {
        out.push(hex_digit(b >> 4));
        out.push(hex_digit(b & 0xf));
    }
}

/// The lowercase hex digit of `v` (0–15).
fn hex_digit(v: u8) -> char {
    char::from_digit(u32::from(v), 16).unwrap_or('0')
}

/// Appends the first and last character of the first ALPN value (`00` without ALPN; a
/// non-ASCII character counts as `9`).
fn push_alpn_chars(out: &mut String, first: Option<&[u8]>) {
    let Some(raw) = first else {
        out.push_str("00");
        return;
    };
    let text = String::from_utf8_lossy(raw);
    let ascii = |c: char| if c.is_ascii() { c } else { '9' };
    let mut chars = text.chars();
    out.push(chars.next().map(ascii).unwrap_or('0'));
    out.push(chars.next_back().map(ascii).unwrap_or('0'));
}

/// Appends `n` (at most 99) as two decimal digits.
fn push_count(out: &mut String, n: usize) {
    let n = n.min(99);
    out.push(char::from_digit((n / 10) as u32, 10).unwrap_or('0'));
    out.push(char::from_digit((n % 10) as u32, 10).unwrap_or('0'));
}

/// Appends the values as 4 hex digits each, comma-separated.
fn push_hex(out: &mut String, v: &[u16]) {
    out.reserve(v.len() * 5);
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for shift in [12u16, 8, 4, 0] {
            out.push(hex_digit(((x >> shift) & 0xf) as u8));
        }
    }
}

/// The JA4 parts before hashing: (prefix, sorted ciphers, sorted extensions + sigalgs).
pub fn raw_parts(h: &ClientHello) -> (String, String, String) {
    let mut prefix = String::with_capacity(36);
    let mut b = String::new();
    let mut c = String::new();
    raw_parts_into(h, &mut prefix, &mut b, &mut c);
    (prefix, b, c)
}

/// [`raw_parts`] into strings the caller owns (one scratch list, no other allocation).
fn raw_parts_into(h: &ClientHello, prefix: &mut String, b: &mut String, c: &mut String) {
    let ciphers = || h.ciphers.iter().copied().filter(|c| !is_grease(*c));
    let exts = || h.extensions.iter().copied().filter(|e| !is_grease(*e));
    let has = |ext: u16| exts().any(|e| e == ext);
    let quic = if has(EXT_QUIC_TRANSPORT_PARAMETERS) {
        'q'
    } else {
        't'
    };
    // The reference looks at supported_versions whenever the extension is there.
    let version = if has(EXT_SUPPORTED_VERSIONS) {
        h.versions
            .iter()
            .copied()
            .filter(|v| !is_grease(*v))
            .max()
            .unwrap_or(0)
    } else {
        h.legacy_version
    };
    let sni = if has(EXT_SNI) { 'd' } else { 'i' };
    prefix.push(quic);
    prefix.push_str(version_code(version));
    prefix.push(sni);
    push_count(prefix, ciphers().count());
    push_count(prefix, exts().count());
    push_alpn_chars(prefix, h.alpn_first.as_deref());
    let mut sorted: Vec<u16> = ciphers().collect();
    sorted.sort_unstable();
    push_hex(b, &sorted);
    sorted.clear();
    sorted.extend(exts().filter(|e| *e != EXT_SNI && *e != EXT_ALPN));
    sorted.sort_unstable();
    push_hex(c, &sorted);
    if !h.sig_algs.is_empty() {
        c.push('_');
        push_hex(c, &h.sig_algs);
    }
}

/// The JA4 fingerprint of a ClientHello.
pub fn ja4(h: &ClientHello) -> String {
    let mut a = String::with_capacity(36);
    let mut b = String::new();
    let mut c = String::new();
    raw_parts_into(h, &mut a, &mut b, &mut c);
    a.push('_');
    push_hash12(&mut a, &b);
    a.push('_');
    push_hash12(&mut a, &c);
    a
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// The worked example of FoxIO's reference implementation (rust/ja4/src/tls.rs,
    /// `test_client_stats_into_out`): a Chrome hello, SNI example.com, ALPN h2.
    fn chrome_example() -> ClientHello {
        ClientHello {
            sni: Some("example.com".into()),
            alpn: vec!["h2".into(), "http/1.1".into()],
            alpn_first: Some(b"h2".to_vec()),
            versions: vec![0x0304, 0x0303],
            legacy_version: 0x0303,
            ciphers: vec![
                0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            extensions: vec![
                0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023,
                0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
            ],
            sig_algs: vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            ..ClientHello::default()
        }
    }

    #[test]
    fn foxio_reference_example() {
        let h = chrome_example();
        let (a, b, c) = raw_parts(&h);
        assert_eq!(
            format!("{a}_{b}_{c}"),
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
        );
        assert_eq!(ja4(&h), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    }

    #[test]
    fn grease_is_ignored_everywhere_but_signature_algorithms() {
        let mut h = chrome_example();
        h.ciphers.insert(0, 0x4a4a);
        h.extensions.insert(0, 0xdada);
        h.extensions.push(0x1a1a);
        h.versions.insert(0, 0x7a7a);
        assert_eq!(ja4(&h), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    }

    #[test]
    fn no_sni_no_alpn_no_extensions() {
        // FoxIO's tls12.pcap snapshot: a TLS 1.0 hello without extensions hashes its
        // empty extension list to twelve zeros.
        let h = ClientHello {
            legacy_version: 0x0301,
            ciphers: vec![0x0035, 0x002f],
            ..ClientHello::default()
        };
        let j = ja4(&h);
        assert!(j.starts_with("t10i020000_"), "{j}");
        assert!(j.ends_with("_000000000000"), "{j}");
    }

    #[test]
    fn quic_marker_and_alpn_edges() {
        let mut h = chrome_example();
        h.extensions.push(0x0039);
        h.alpn_first = Some(b"h3".to_vec());
        assert!(ja4(&h).starts_with("q13d1517h3_"));
        h.alpn_first = Some(vec![0xab, b'x', 0xcd]);
        assert!(ja4(&h).starts_with("q13d151799_"));
        h.alpn_first = None;
        assert!(ja4(&h).starts_with("q13d151700_"));
        h.extensions.retain(|e| *e != 0);
        assert!(ja4(&h).starts_with("q13i151600_"));
        h.ciphers = (0..200).collect();
        assert!(ja4(&h).starts_with("q13i991600_"));
    }
}
