//! The command line and hostile input: every bad input gets one plain sentence and a
//! non-zero exit code; a capture cut short still reports everything before the cut.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::json;

fn tmp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("probewatch-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn one_sentence(stderr: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr: {stderr:?}");
    assert!(lines[0].starts_with("probewatch: "), "{stderr:?}");
}

#[test]
fn missing_file() {
    let r = run(&["-r", "/nonexistent/capture.pcap"]);
    assert_eq!(r.code, 2);
    one_sentence(&r.stderr);
    assert!(
        r.stderr
            .contains("cannot open /nonexistent/capture.pcap: no such file"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "");
}

#[test]
fn file_that_is_not_a_capture() {
    let p = tmp("notes.txt", b"this is a text file, not a packet capture\n");
    let r = run(&["-r", p.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    one_sentence(&r.stderr);
    assert!(
        r.stderr
            .contains("is not a capture file (it is not in pcap or pcapng format)"),
        "{}",
        r.stderr
    );
}

#[test]
fn zero_length_file() {
    let p = tmp("empty.pcap", b"");
    let r = run(&["-r", p.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    one_sentence(&r.stderr);
    assert!(
        r.stderr.contains("the file is empty (0 bytes)"),
        "{}",
        r.stderr
    );
}

#[test]
fn file_cut_inside_its_header() {
    let bytes = std::fs::read(sample("mail-fanout.pcap")).unwrap();
    let p = tmp("header-cut.pcap", &bytes[..10]);
    let r = run(&["-r", p.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    one_sentence(&r.stderr);
    assert!(r.stderr.contains("is not a capture file"), "{}", r.stderr);
}

#[test]
fn capture_cut_mid_packet_still_reports_what_came_before() {
    let bytes = std::fs::read(sample("mail-fanout.pcap")).unwrap();
    let p = tmp("cut.pcap", &bytes[..bytes.len() * 2 / 3]);
    let r = run(&["-r", p.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 3, "a damaged capture exits 3");
    one_sentence(&r.stderr);
    assert!(
        r.stderr.contains("is damaged or cut short after packet"),
        "{}",
        r.stderr
    );
    assert!(r
        .stderr
        .contains("the report above covers everything before that point"));
    let v = lines(&r.stdout);
    let tls = probes(&v, "tls");
    assert!(tls.len() >= 2, "the probes before the cut are reported");
    assert_eq!(
        (s(tls[0], "name"), s(tls[0], "verdict")),
        ("ex7.mailhost.example", "match")
    );
    assert_eq!(v.last().unwrap()["type"], json!("stats"));
}

#[test]
fn capture_with_no_packets() {
    // A valid pcap header (little-endian, v2.4, Ethernet) and nothing else.
    let mut hdr = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    hdr.extend_from_slice(&[0; 8]);
    hdr.extend_from_slice(&65535u32.to_le_bytes());
    hdr.extend_from_slice(&1u32.to_le_bytes());
    let p = tmp("nopackets.pcap", &hdr);
    let r = run(&["-r", p.to_str().unwrap()]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("No probes found"), "{}", r.stdout);
}

/// Deterministic garbage.
fn xorshift(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn garbage_packets_are_counted_never_fatal() {
    // Real headers, then each packet's bytes mangled: truncated, random, flipped.
    let orig = std::fs::read(sample("mail-fanout.pcap")).unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..20 {
        let mut bytes = orig.clone();
        let mut off = 24;
        while off + 16 <= bytes.len() {
            let incl = u32::from_le_bytes(bytes[off + 8..off + 12].try_into().unwrap()) as usize;
            let body = off + 16;
            for i in body..(body + incl).min(bytes.len()) {
                if xorshift(&mut seed) % 7 == round % 7 {
                    bytes[i] = xorshift(&mut seed) as u8;
                }
            }
            off = body + incl;
        }
        let p = tmp(&format!("garbage{round}.pcap"), &bytes);
        let r = run(&["-r", p.to_str().unwrap(), "--format", "json"]);
        assert_eq!(r.code, 0, "round {round}: {}", r.stderr);
        let v = lines(&r.stdout);
        assert_eq!(v.last().unwrap()["type"], json!("stats"));
    }
}

#[test]
fn stdin_reads_the_same_as_the_file() {
    let path = sample("wildcard-apex.pcap");
    let bytes = std::fs::read(&path).unwrap();
    let from_stdin = run_with_stdin(&["-r", "-", "--format", "json"], Some(&bytes));
    let from_file = run(&["-r", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(from_stdin.code, 0, "{}", from_stdin.stderr);
    let a = lines(&from_stdin.stdout);
    let b = lines(&from_file.stdout);
    assert_eq!(of_type(&a, "probe"), of_type(&b, "probe"));
}

#[test]
fn several_files_in_order() {
    let a = sample("tls13.pcap");
    let b = sample("wildcard-apex.pcap");
    let r = run(&[
        "-r",
        a.to_str().unwrap(),
        "-r",
        b.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0);
    let v = lines(&r.stdout);
    let names: Vec<&str> = probes(&v, "tls").iter().map(|p| s(p, "name")).collect();
    // Read in the order given; the report is in capture-time order (wildcard-apex.pcap was
    // captured before tls13.pcap).
    assert_eq!(
        names,
        ["example.net", "www.example.net", "secure.example.org"]
    );
    assert_eq!(
        of_type(&v, "stats")[0]["files"],
        json!([a.to_str().unwrap(), b.to_str().unwrap()])
    );
}

#[test]
fn bpf_filter_applies() {
    let f = sample("mail-fanout.pcap");
    let r = run(&[
        "-r",
        f.to_str().unwrap(),
        "--format",
        "json",
        "udp",
        "port",
        "53",
    ]);
    assert_eq!(r.code, 0);
    let v = lines(&r.stdout);
    assert_eq!(probes(&v, "dns").len(), 10);
    assert_eq!(probes(&v, "tls").len() + probes(&v, "http").len(), 0);
    let r = run(&["-r", f.to_str().unwrap(), "--format", "json", "port 80"]);
    let v = lines(&r.stdout);
    assert_eq!(of_type(&v, "probe").len(), 1);
    assert_eq!(probes(&v, "http").len(), 1);
}

#[test]
fn bad_filter_is_a_plain_error() {
    let f = sample("mail-fanout.pcap");
    let r = run(&["-r", f.to_str().unwrap(), "port", "banana"]);
    assert_eq!(r.code, 2);
    one_sentence(&r.stderr);
    assert!(
        r.stderr
            .contains("the filter expression `port banana` is not valid"),
        "{}",
        r.stderr
    );
}

#[test]
fn help_reads_like_a_manual() {
    let r = run(&["--help"]);
    assert_eq!(r.code, 0);
    for piece in [
        "-r <FILE>",
        "--format",
        "EXAMPLES:",
        "EXIT STATUS:",
        "unverified",
        "STARTTLS",
        "--max-flows",
        "--timeline",
        "--group-window",
        "ATTEMPT GROUPS",
    ] {
        assert!(r.stdout.contains(piece), "--help lacks {piece}");
    }
    let r = run(&[]);
    assert_eq!(r.code, 2, "no input is a usage error");
}

#[test]
fn json_keys_are_stable() {
    let v = json_of(&sample("mail-fanout.pcap"));
    let p = of_type(&v, "probe")[0];
    let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "type",
            "id",
            "ts",
            "client",
            "client_port",
            "server",
            "port",
            "proto",
            "name",
            "name_source",
            "verdict",
            "reason",
            "cert",
            "outcome",
            "tls",
            "http",
            "dns",
            "quic",
            "group"
        ]
    );
    let g = of_type(&v, "group")[0];
    let keys: Vec<&String> = g.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "type",
            "id",
            "client",
            "domain",
            "first_ts",
            "last_ts",
            "probes",
            "probes_not_listed",
            "pattern",
            "pattern_label",
            "explanation",
            "names",
            "mismatches",
            "san",
            "wildcard",
            "notes",
            "members"
        ]
    );
    let tls = of_type(&v, "probe")
        .into_iter()
        .find(|p| p["proto"] == "tls")
        .unwrap();
    for k in ["ja4", "ech", "ech_public_name", "ech_inferred_target"] {
        assert!(tls["tls"].get(k).is_some(), "tls.{k} is missing");
    }
}
