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

/// A run refused as it should be: exit 2, one sentence on stderr, saying `says`.
fn refused(r: &Run, says: &str) {
    assert_eq!(r.code, 2, "{}", r.stderr);
    one_sentence(&r.stderr);
    assert!(r.stderr.contains(says), "{}", r.stderr);
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
            "schema",
            "id",
            "ts",
            "client",
            "client_port",
            "host",
            "server",
            "port",
            "proto",
            "community_id",
            "name",
            "name_source",
            "verdict",
            "reason",
            "reason_code",
            "cert",
            "trust",
            "cert_source",
            "outcome",
            "outcome_code",
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
            "schema",
            "id",
            "client",
            "domain",
            "first_ts",
            "last_ts",
            "probes",
            "probe_ids",
            "probes_not_listed",
            "pattern",
            "pattern_label",
            "explanation",
            "priority_order",
            "names",
            "name_origins",
            "mismatches",
            "mismatch_ids",
            "san",
            "wildcard",
            "notes",
            "note_codes",
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

/// A pcap of Ethernet/IPv4 packets (IPv4 header checksums left 0: probewatch does not
/// check them).
fn pcap_of(packets: &[Vec<u8>]) -> Vec<u8> {
    let mut f = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 262_144, 1] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    for (i, p) in packets.iter().enumerate() {
        let i = i as u32;
        for v in [1_800_000_000, i * 10, p.len() as u32, p.len() as u32] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        f.extend_from_slice(p);
    }
    f
}

fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut p = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0];
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&(20 + l4.len() as u16).to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(l4);
    p
}

#[test]
fn table_sections_keep_each_clients_probes_among_many_clients() {
    // 2,000 clients each send one SYN to port 443 (a probe each: SYN unanswered); one
    // client's three DNS queries are spread among them. Each client section of the table
    // lists that client's probes only, in time order.
    let mut pkts = Vec::new();
    for i in 0..2000u32 {
        let src = [10, 7, (i >> 8) as u8, i as u8];
        let mut syn = Vec::new();
        syn.extend_from_slice(&(20000 + i as u16).to_be_bytes());
        syn.extend_from_slice(&443u16.to_be_bytes());
        syn.extend_from_slice(&i.to_be_bytes());
        syn.extend_from_slice(&[0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
        pkts.push(ipv4(src, [192, 0, 2, 99], 6, &syn));
        if i % 700 == 350 {
            let name = format!("a{}", i / 700 + 1);
            let mut q = vec![0x12, i as u8, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
            q.push(name.len() as u8);
            q.extend_from_slice(name.as_bytes());
            q.extend_from_slice(&[7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0, 0, 1, 0, 1]);
            let mut u = Vec::new();
            u.extend_from_slice(&40000u16.to_be_bytes());
            u.extend_from_slice(&53u16.to_be_bytes());
            u.extend_from_slice(&(8 + q.len() as u16).to_be_bytes());
            u.extend_from_slice(&[0, 0]);
            u.extend_from_slice(&q);
            pkts.push(ipv4([198, 51, 100, 10], [192, 0, 2, 53], 17, &u));
        }
    }
    let p = tmp("many-clients.pcap", &pcap_of(&pkts));
    let r = run(&["-r", p.to_str().unwrap(), "--width", "160"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sections: Vec<&str> = r.stdout.split("\nClient ").collect();
    assert_eq!(
        r.stdout.matches("Client ").count(),
        2001,
        "one section per client"
    );
    let mine: Vec<&&str> = sections
        .iter()
        .filter(|s| s.starts_with("198.51.100.10:"))
        .collect();
    assert_eq!(mine.len(), 1);
    assert!(
        mine[0].starts_with("198.51.100.10: 3 probes, 0 mismatches"),
        "{}",
        mine[0]
    );
    let a1 = mine[0].find("a1.example").unwrap();
    let a2 = mine[0].find("a2.example").unwrap();
    let a3 = mine[0].find("a3.example").unwrap();
    assert!(a1 < a2 && a2 < a3, "{}", mine[0]);
    assert!(
        !mine[0].contains("192.0.2.99"),
        "another client's probe: {}",
        mine[0]
    );
    let other: Vec<&&str> = sections
        .iter()
        .filter(|s| s.starts_with("10.7.3.232:"))
        .collect();
    assert_eq!(other.len(), 1);
    assert!(
        other[0].starts_with("10.7.3.232: 1 probe, 0 mismatches"),
        "{}",
        other[0]
    );
    assert!(other[0].contains("192.0.2.99:443"), "{}", other[0]);
    assert!(!other[0].contains("example"), "{}", other[0]);
}

/// Argument errors were clap's 5-line blocks; the rest of probewatch gives one sentence.
#[test]
fn argument_errors_are_one_plain_sentence_exit_2() {
    for (args, want) in [
        (
            &["-r", "x.pcap", "--format", "bogus"][..],
            "probewatch: --format does not take \"bogus\"; use one of table, json, ecs, mermaid, html, timeline\n",
        ),
        (
            &["-r", "x.pcap", "--widht", "80"][..],
            "probewatch: there is no option --widht; did you mean --width?\n",
        ),
        (
            &[][..],
            "probewatch: nothing to read: give a capture file with -r FILE, an interface with -i INTERFACE, or -D to list the interfaces\n",
        ),
        (
            &["-r", "x.pcap", "--width"][..],
            "probewatch: --width needs a value; see probewatch --help\n",
        ),
        (
            &["-r", "x.pcap", "--color", "sometimes"][..],
            "probewatch: --color does not take \"sometimes\"; use one of auto, always, never\n",
        ),
    ] {
        let r = run(args);
        assert_eq!(r.code, 2, "{args:?}");
        assert_eq!(r.stderr, want, "{args:?}");
        assert_eq!(r.stdout, "");
    }
    assert_eq!(run(&["--version"]).code, 0);
}

/// The README said `-s` defaults to 262144 where `--help` said 65535: docs/usage.md's flag
/// table and `--help` list the same long flags, with the same plain defaults.
#[test]
fn docs_flag_table_agrees_with_help() {
    let help = run(&["--help"]).stdout;
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/usage.md"),
    )
    .unwrap();
    let table: Vec<&str> = docs
        .lines()
        .skip_while(|l| !l.starts_with("## All flags"))
        .take_while(|l| !l.starts_with("## Exit"))
        .filter(|l| l.starts_with("| `"))
        .collect();
    let longs = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = s
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| w.starts_with("--") && w.len() > 2)
            .map(str::to_string)
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let in_docs: Vec<String> = longs(
        &table
            .iter()
            .map(|r| r.split('|').nth(1).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" "),
    );
    let mut in_help = longs(&help);
    in_help.retain(|f| f != "--help" && f != "--version");
    assert_eq!(in_docs, in_help, "docs/usage.md's flag table vs --help");
    for row in &table {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (flag, default) = (cells[1], cells[2]);
        if default.is_empty() || default.contains(' ') || default.contains('`') {
            continue;
        }
        let Some(name) = longs(flag).into_iter().next() else {
            continue;
        };
        let start = help.find("Options:").unwrap();
        let pos = start
            + help[start..]
                .find(&format!("{name} "))
                .or_else(|| help[start..].find(&format!("{name}\n")))
                .unwrap();
        let next = help[pos + 2..]
            .find("\n  -")
            .map_or(help.len(), |i| pos + 2 + i);
        assert!(
            help[pos..next].contains(&format!("[default: {default}]")),
            "{name}: docs say the default is {default}; --help says:\n{}",
            &help[pos..next]
        );
    }
}

/// `--threads 0` is refused with a sentence (the default is one thread per core).
#[test]
fn threads_zero_is_refused() {
    let r = run(&[
        "-r",
        sample("tls13.pcap").to_str().unwrap(),
        "--threads",
        "0",
    ]);
    assert_eq!(r.code, 2);
    one_sentence(&r.stderr);
    assert!(r.stderr.contains("--threads"), "{}", r.stderr);
}

/// With -r, `-c` runs on one thread (the reading must stop at the probe it names), and the
/// stats say so even when two were asked for; the probes are the first N of a full run.
#[test]
fn count_with_read_runs_on_one_thread_and_says_so() {
    let file = sample("mail-fanout.pcap");
    let f = file.to_str().unwrap();
    let r = run(&["-r", f, "-c", "2", "--format", "json", "--threads", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = lines(&r.stdout);
    assert_eq!(of_type(&v, "probe").len(), 2);
    assert_eq!(of_type(&v, "stats")[0]["threads"], 1);
    let all = lines(&run(&["-r", f, "--format", "json", "--threads", "2"]).stdout);
    assert_eq!(of_type(&all, "stats")[0]["threads"], 2);
    assert_eq!(of_type(&v, "probe"), of_type(&all, "probe")[..2].to_vec());
}

/// `-r f.pcap -w f.pcap` truncated the input before reading it (a 10 MB capture cut to
/// 512 KiB, then reported as damaged): refused with a sentence, the file untouched, also
/// through another path to the same file.
#[test]
fn writing_over_an_input_with_w_is_refused_and_the_input_kept() {
    let bytes = std::fs::read(sample("tls13.pcap")).unwrap();
    let f = tmp("overwrite-me.pcap", &bytes);
    let dir = f.parent().unwrap();
    let other = dir.join(".").join("overwrite-me.pcap");
    let link = dir.join("overwrite-link.pcap");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&f, &link).unwrap();
    for w in [&f, &other, &link] {
        let r = run(&["-r", f.to_str().unwrap(), "-w", w.to_str().unwrap()]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        one_sentence(&r.stderr);
        assert!(r.stderr.contains("is also an input"), "{}", r.stderr);
        assert_eq!(std::fs::read(&f).unwrap(), bytes, "the input is untouched");
    }
    // The same file as standard input, and a key log given as -w (review findings).
    let out = std::process::Command::new(bin())
        .args(["-r", "-", "-w", f.to_str().unwrap()])
        .stdin(std::fs::File::open(&f).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is also an input"));
    assert_eq!(std::fs::read(&f).unwrap(), bytes, "the input is untouched");
    let keys = tmp("keys.log", b"# no keys\n");
    let r = run(&[
        "-r",
        sample("tls13.pcap").to_str().unwrap(),
        "--keylog",
        keys.to_str().unwrap(),
        "-w",
        keys.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("is also an input"), "{}", r.stderr);
    assert_eq!(std::fs::read(&keys).unwrap(), b"# no keys\n");
}

/// `-w` naming the `--ca-file` overwrote the CA bundle with pcap data, silently (inputs
/// and key logs were refused; black-box finding): it is refused the same way, live too,
/// and the file is left as it was.
#[test]
fn w_over_the_ca_file_is_refused_and_the_file_kept() {
    let dir = std::env::temp_dir().join(format!("probewatch-wca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::copy(sample("trust-ca.pem"), &ca).unwrap();
    let before = std::fs::read(&ca).unwrap();
    for source in [
        &["-r", sample("trust.pcap").to_str().unwrap()][..],
        &["-i", "lo"][..],
    ] {
        let mut args = source.to_vec();
        args.extend([
            "--ca-file",
            ca.to_str().unwrap(),
            "-w",
            ca.to_str().unwrap(),
        ]);
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("is also an input"), "{}", r.stderr);
        assert_eq!(std::fs::read(&ca).unwrap(), before);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Flags that do nothing with the others given were accepted without a word (`-s`, `-B`,
/// `-p`, `--duration` with `-r`; `--ja4` with `-q` or JSON; `--mermaid-fences` without
/// mermaid; `-w -` made a file named `-`): each is refused with one sentence, exit 2.
#[test]
fn flags_that_would_do_nothing_are_refused() {
    let s = sample("tls13.pcap");
    let s = s.to_str().unwrap();
    for (args, says) in [
        (&["-r", s, "-s", "100"][..], "-s applies to a live capture"),
        (&["-r", s, "-B", "4"][..], "-B applies to a live capture"),
        (&["-r", s, "-p"][..], "-p applies to a live capture"),
        (
            &["-r", s, "--duration", "5s"][..],
            "--duration applies to a live capture",
        ),
        (&["-r", s, "--ja4", "-q"][..], "--ja4 adds a JA4 column"),
        // -q shows neither the trust verdict nor the groups: these did nothing with it
        // (black-box finding).
        (
            &["-r", s, "-q", "--trust", "none"][..],
            "--trust sets the trust store of the trust verdict, which -q does not show",
        ),
        (
            &[
                "-r",
                s,
                "-q",
                "--ca-file",
                "/etc/ssl/certs/ca-certificates.crt",
            ][..],
            "--ca-file adds anchors to the trust verdict, which -q does not show",
        ),
        (
            &["-r", s, "-q", "--group-window", "5"][..],
            "--group-window sets how attempt groups are formed, which -q does not show",
        ),
        (
            &["-r", s, "--ja4", "--format", "json"][..],
            "--format json does not have",
        ),
        (&["-r", s, "--mermaid-fences"][..], "--mermaid-fences wraps"),
        (&["-r", s, "-w", "-"][..], "-w - would mix"),
    ] {
        let r = run(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        one_sentence(&r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "");
    }
    assert!(!std::path::Path::new("-").exists());
}

/// `--width`, `--color` and `--local-time` with a format that has no width, colours or
/// clock times were accepted and did nothing; `-w /dev/stdout` passed the `-w -` refusal
/// and mixed the packets with the report: each is refused with one sentence, exit 2. Where
/// they do something (the timeline's width, -q's times, -w /dev/null) they are taken.
#[test]
fn table_settings_with_other_formats_and_w_to_stdout_are_refused() {
    let s = sample("tls13.pcap");
    let s = s.to_str().unwrap();
    for (args, says) in [
        (
            &["-r", s, "-w", "/dev/stdout"][..],
            "-w /dev/stdout is standard output, where the report's lines go",
        ),
        (
            &["-r", s, "-w", "/dev/stderr"][..],
            "-w /dev/stderr is standard error, where the warnings and errors go",
        ),
        (
            &["-r", s, "--format", "json", "--width", "80"][..],
            "--width sets the table's width, and --format json has no width",
        ),
        (
            &["-r", s, "--format", "html", "--color", "never"][..],
            "--color colours the table's verdicts, and --format html has no colours",
        ),
        (
            &["-r", s, "-q", "--color", "always"][..],
            "and -q has no colours",
        ),
        (
            &["-r", s, "--timeline", "--local-time"][..],
            "--local-time applies to the table's times, and --timeline",
        ),
        (
            &["-r", s, "--format", "ecs", "--local-time"][..],
            "and --format ecs writes its times in UTC",
        ),
    ] {
        let r = run(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        one_sentence(&r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "");
    }
    for args in [
        &["-r", s, "--timeline", "--width", "90"][..],
        &["-r", s, "-q", "--local-time", "--width", "90"][..],
        &["-r", s, "--color", "always", "--local-time"][..],
        &["-r", s, "-w", "/dev/null"][..],
    ] {
        let r = run(args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(!r.stdout.is_empty(), "{args:?}");
    }
}

/// `-w /dev/null` with standard output on /dev/null too (`> /dev/null`): nothing is mixed
/// or destroyed, so it is taken, not refused as standard output.
#[test]
fn w_dev_null_with_stdout_on_dev_null_is_taken() {
    let s = sample("tls13.pcap");
    let st = std::process::Command::new(bin())
        .args(["-r", s.to_str().unwrap(), "-w", "/dev/null", "-q"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        st.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    // A key log on /dev/null with -w /dev/null: nothing to destroy either.
    let r = run(&[
        "-r",
        s.to_str().unwrap(),
        "--keylog",
        "/dev/null",
        "-w",
        "/dev/null",
        "-q",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// `-D -s 100` spoke of reading files, and other flags beside -D did nothing: -D lists the
/// interfaces and does nothing else, so what is given beside it is refused.
#[test]
fn flags_beside_list_interfaces_are_refused() {
    for (args, says) in [
        (
            &["-D", "-s", "100"][..],
            "-D only lists the interfaces; -s would do nothing",
        ),
        (&["-D", "--format", "json"][..], "--format would do nothing"),
        (&["-D", "port", "53"][..], "a filter would do nothing"),
    ] {
        let r = run(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        one_sentence(&r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
    }
}

/// `-w DIRECTORY` said "Is a directory (os error 21); check that the directory exists".
#[test]
fn w_naming_a_directory_says_it_is_one() {
    let s = sample("tls13.pcap");
    let dir = std::env::temp_dir();
    let r = run(&["-r", s.to_str().unwrap(), "-w", dir.to_str().unwrap()]);
    refused(&r, ": it is a directory; give -w a file");
}

/// `-r - -r -` read standard input's header twice and called it "too short to hold a
/// capture file header"; `-r a.pcap -` took `-` for a filter; `--timeline --format table`
/// drew the timeline without a word about the table asked for.
#[test]
fn standard_input_once_a_dash_after_a_file_and_timeline_with_format_table() {
    let f = sample("tls13.pcap");
    let f = f.to_str().unwrap();
    let bytes = std::fs::read(sample("mail-fanout.pcap")).unwrap();
    let twice = run_with_stdin(&["-r", "-", "-r", "-", "-q"], Some(&bytes));
    assert_eq!(twice.code, 2, "{}", twice.stderr);
    one_sentence(&twice.stderr);
    assert!(
        twice
            .stderr
            .contains("standard input is given more than once"),
        "{}",
        twice.stderr
    );
    // The same pipe under another name (review finding): two readers would split it.
    let named = run_with_stdin(&["-r", "-", "/dev/stdin", "-q"], Some(&bytes));
    refused(&named, "/dev/stdin is given more than once");
    // A key log that is standard input's pipe would swallow the capture.
    let key = run_with_stdin(&["-r", "-", "--keylog", "/dev/stdin", "-q"], Some(&bytes));
    assert_eq!(key.code, 2, "{}", key.stderr);
    assert!(
        key.stderr.contains("is given more than once"),
        "{}",
        key.stderr
    );
    let after = run_with_stdin(&["-r", f, "-", "-q"], Some(&bytes));
    assert_eq!(after.code, 0, "{}", after.stderr);
    let both = run(&[
        "-r",
        f,
        "-r",
        sample("mail-fanout.pcap").to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(after.stdout.lines().count(), both.stdout.lines().count());
    assert!(
        after.stdout.contains("autodiscover.example.com"),
        "{}",
        after.stdout
    );
    let r = run(&["-r", f, "--timeline", "--format", "table"]);
    refused(&r, "cannot be combined with --format table");
    assert_eq!(
        run(&["-r", f, "--timeline", "--format", "timeline"]).code,
        0
    );
}

/// `-q -q` said "-q cannot be combined with -q" and `-c -1` "there is no option -1"; `-c 0`
/// read nothing and exited 0, a bound of 0 acted as 1, `--probe-timeout nan` was taken: a
/// repeated flag takes its last value (as tcpdump's), and bad numbers get a sentence.
#[test]
fn repeated_flags_take_the_last_value_and_bad_numbers_are_refused() {
    let s = sample("tls13.pcap");
    let s = s.to_str().unwrap();
    let once = run(&["-r", s, "-q"]);
    let twice = run(&["-r", s, "-q", "-q"]);
    assert_eq!(twice.code, 0, "{}", twice.stderr);
    assert_eq!(twice.stdout, once.stdout);
    let last = run(&["-r", s, "--format", "table", "--format", "json"]);
    assert_eq!(last.code, 0, "{}", last.stderr);
    assert!(last.stdout.starts_with('{'), "{}", last.stdout);
    for (args, says) in [
        (
            &["-r", s, "-c", "0"][..],
            "-c does not take \"0\" (it must be at least 1)",
        ),
        (&["-r", s, "-c", "-1"][..], "-c does not take \"-1\""),
        (
            &["-r", s, "--max-flows", "0"][..],
            "--max-flows does not take \"0\"",
        ),
        // Taken, and every segment out of order dropped as over the bound (review
        // finding): 0 is refused like the other bounds' 0.
        (
            &["-r", s, "--max-buffer", "0"][..],
            "--max-buffer does not take \"0\"",
        ),
        // `--duration 0` stopped at once; `-1s` was "there is no option -1" (black-box
        // finding).
        (
            &["-i", "lo", "--duration", "0"][..],
            "--duration does not take \"0\" (a time longer than 0, e.g. 60s, 10m, 2h)",
        ),
        (
            &["-i", "lo", "--duration", "-1s"][..],
            "--duration does not take \"-1s\" (a time longer than 0, e.g. 60s, 10m, 2h)",
        ),
        (
            &["-r", s, "--max-report-probes", "0"][..],
            "--max-report-probes does not take \"0\"",
        ),
        (
            &["-r", s, "--probe-timeout", "nan"][..],
            "--probe-timeout does not take \"nan\"",
        ),
        (
            &["-r", s, "--group-window", "-1"][..],
            "--group-window does not take \"-1\"",
        ),
        (
            &["-i", "lo", "-s", "10"][..],
            "\"10\" (from 64 to 262144 bytes, or 0 for whole packets)",
        ),
        (&["-i", "lo", "-B", "0"][..], "\"0\" (from 1 to 2048 MiB)"),
        (&["-i", "lo", "--ja4"][..], "--ja4 adds a JA4 column"),
    ] {
        let r = run(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        one_sentence(&r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
    }
}

/// `-r a.pcap nosuch.pcap` said the filter `nosuch.pcap` was not valid; a directory with
/// no capture file said it was "a directory, not a capture file", though directories are
/// read: each says what is missing.
#[test]
fn a_mistyped_file_and_an_empty_directory_say_what_is_missing() {
    let s = sample("tls13.pcap");
    let r = run(&["-r", s.to_str().unwrap(), "nosuch.pcap", "port", "443"]);
    assert_eq!(r.code, 2);
    one_sentence(&r.stderr);
    assert!(
        r.stderr.contains("cannot open nosuch.pcap: no such file"),
        "{}",
        r.stderr
    );
    let dir = tmp("x", b"").parent().unwrap().join("empty-dir");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let r = run(&["-r", dir.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    one_sentence(&r.stderr);
    assert!(r.stderr.contains("holds no capture file"), "{}", r.stderr);
}

/// A capture compressed with `lz4 -l` (lz4's legacy format, not its frame format) was
/// "not in pcap or pcapng format": it says which format it is and what to do.
#[test]
fn legacy_lz4_says_so() {
    let mut bytes = vec![0x02, 0x21, 0x4c, 0x18];
    bytes.extend_from_slice(&[0u8; 64]);
    let f = tmp("legacy.pcap.lz4", &bytes);
    let r = run(&["-r", f.to_str().unwrap()]);
    refused(&r, "legacy format (`lz4 -l`)");
}

/// A directory of rotated captures with a README beside them stopped the whole run at the
/// README ("not a capture file", nothing reported): a file of a directory that is not a
/// capture is skipped with a warning and the captures are read; a directory with no
/// capture at all is still an error, naming the file. The skipped file was named only in
/// that warning: it is in the stats too (JSON `files_skipped`, the stats line).
#[test]
fn a_directory_skips_a_file_that_is_not_a_capture_and_says_so_in_the_stats() {
    let dir = tmp("x", b"").parent().unwrap().join("rotated");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(sample("tls13.pcap"), dir.join("a.pcap")).unwrap();
    std::fs::write(dir.join("notes.txt"), b"captured on the mail gateway\n").unwrap();
    let alone = run(&[
        "-r",
        sample("tls13.pcap").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let r = run(&["-r", dir.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    one_sentence(&r.stderr);
    assert!(r.stderr.contains("warning: skipped"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("notes.txt, a file of the directory that is not a capture"),
        "{}",
        r.stderr
    );
    let probes = |s: &str| {
        s.lines()
            .filter(|l| l.contains("\"type\":\"probe\""))
            .count()
    };
    assert_eq!(probes(&r.stdout), probes(&alone.stdout));
    assert!(probes(&r.stdout) > 0);
    // The skipped file is in the stats too, not only in a warning that scrolls away.
    let stats: serde_json::Value = serde_json::from_str(r.stdout.lines().last().unwrap()).unwrap();
    let skipped = stats["files_skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{stats}");
    assert!(skipped[0].as_str().unwrap().ends_with("notes.txt"));
    let alone_stats: serde_json::Value =
        serde_json::from_str(alone.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(alone_stats["files_skipped"], serde_json::json!([]));
    let table = run(&["-r", dir.to_str().unwrap(), "--width", "0"]);
    assert!(
        table.stdout.lines().any(|l| l.starts_with("Stats: ")
            && l.contains("; 1 file skipped (not a capture): ")
            && l.contains("notes.txt")),
        "{}",
        table.stdout
    );
    let only = tmp("x", b"").parent().unwrap().join("no-captures");
    std::fs::create_dir_all(&only).unwrap();
    std::fs::write(only.join("notes.txt"), b"nothing here\n").unwrap();
    let r = run(&["-r", only.to_str().unwrap()]);
    refused(&r, "notes.txt is not a capture file");
}

#[test]
fn a_standard_error_nobody_reads_keeps_the_exit_code_instead_of_a_panic() {
    // Standard error is a pipe whose reader has gone (`2>&1 | head -0`, a supervisor that
    // closed its end): writing the sentence fails with EPIPE. That must not turn the exit
    // code into a panic's 101 (eprintln! panicked on it).
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    drop(read_end);
    let out = std::process::Command::new(bin())
        .args(["-r", "/nonexistent/x.pcap"])
        .stderr(std::process::Stdio::from(write_end))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn w_to_a_full_disk_keeps_the_report_and_says_why_after_it() {
    // /dev/full fails every write with ENOSPC, as a full disk does. The packets are
    // buffered, so the failure comes at the last write: the report was lost with it.
    let s = sample("activesync.pcap");
    let s = s.to_str().unwrap();
    let plain = run(&["-r", s, "-q"]);
    assert_eq!(plain.code, 0);
    let full = run(&["-r", s, "-q", "-w", "/dev/full"]);
    assert_eq!(full.code, 2);
    assert_eq!(full.stdout, plain.stdout);
    assert_eq!(
        full.stderr.trim_end(),
        "probewatch: cannot write the capture to /dev/full: no space left on the device; give -w a file in a directory that exists and is writable"
    );
}

/// A key log or CA file that cannot be read said the OS's text, "Is a directory (os
/// error 21)", unlike -r's and -w's sentences (black-box finding): the same plain words.
#[test]
fn key_log_and_ca_file_errors_are_plain_words() {
    let f = sample("tls13.pcap");
    let f = f.to_str().unwrap();
    let dir = std::env::temp_dir();
    let d = dir.to_str().unwrap();
    for (args, says) in [
        (
            vec!["-r", f, "--keylog", d],
            format!("probewatch: cannot read the key log {d}: it is a directory;"),
        ),
        (
            vec!["-r", f, "--ca-file", d],
            format!("probewatch: cannot read the CA file {d} (it is a directory);"),
        ),
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.starts_with(&says), "{}", r.stderr);
        assert!(!r.stderr.contains("os error"), "{}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    }
}
