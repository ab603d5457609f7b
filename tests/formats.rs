//! Capture-file formats and inputs: pcap (µs, ns, big-endian, modified), pcapng with several
//! interfaces of different link types and snapshot lengths (mergecap), gzip/zstd/xz/lz4,
//! several files merged in time order, globs, directories, standard input, unknown link
//! types, a pcapng of custom blocks only, `-w` and `-c` with `-r`, options after the
//! filter. The files come from `samples/make-format-samples.sh` (editcap, mergecap and the
//! compression programs, on the real captures of samples/).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::*;
use serde_json::{json, Value};

fn format_sample(name: &str) -> PathBuf {
    sample("formats").join(name)
}

/// (proto, name, verdict) of every probe, counted.
fn facts(v: &[Value]) -> BTreeMap<(String, String, String), usize> {
    let mut m = BTreeMap::new();
    for p in of_type(v, "probe") {
        let key = (
            p["proto"].as_str().unwrap_or("").to_string(),
            p["name"].as_str().unwrap_or("").to_string(),
            p["verdict"].as_str().unwrap_or("").to_string(),
        );
        *m.entry(key).or_insert(0) += 1;
    }
    m
}

/// A named pipe `name` made by mkfifo in a directory of its own under the temp directory
/// (`tag` and the test process's id): (the directory, the pipe).
fn named_pipe(tag: &str, name: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join(name);
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    (dir, fifo)
}

fn probe_objects(v: &[Value]) -> Vec<Value> {
    of_type(v, "probe").into_iter().cloned().collect()
}

#[test]
fn every_pcap_variant_and_compression_reads_the_same_probes() {
    let want = json_of(&sample("wildcard-apex.pcap"));
    let want = probe_objects(&want);
    assert!(want.len() >= 3, "the sample has probes");
    for f in [
        "wildcard-apex-nsec.pcap",
        "wildcard-apex-be.pcap",
        "wildcard-apex-modified.pcap",
        "wildcard-apex.pcap.gz",
        "wildcard-apex.pcap.zst",
        "wildcard-apex.pcap.xz",
        "wildcard-apex.pcap.lz4",
    ] {
        let got = json_of(&format_sample(f));
        assert_eq!(probe_objects(&got), want, "{f}");
    }
}

#[test]
fn mergecap_pcapng_with_mixed_link_types_and_snaplens_reads_every_packet() {
    // mergecap of tls13.pcap (Ethernet, snaplen 9000 after editcap), any-sll2.pcap (Linux
    // cooked v2) and wildcard-apex.pcap (Ethernet): libpcap refuses it after packet 0.
    let parts = ["tls13.pcap", "any-sll2.pcap", "wildcard-apex.pcap"];
    let mut want = BTreeMap::new();
    let mut packets = 0;
    for p in parts {
        let v = json_of(&sample(p));
        for (k, n) in facts(&v) {
            *want.entry(k).or_insert(0) += n;
        }
        packets += of_type(&v, "stats")[0]["packets"].as_u64().unwrap();
    }
    for f in ["merged-linktypes.pcapng", "merged-linktypes.pcapng.gz"] {
        let v = json_of(&format_sample(f));
        assert_eq!(facts(&v), want, "{f}");
        let stats = of_type(&v, "stats")[0];
        assert_eq!(stats["packets"].as_u64().unwrap(), packets, "{f}");
        let problems = stats["problems"].as_object().map_or(0, |o| o.len());
        assert_eq!(problems, 0, "{stats}");
    }
}

/// Nothing decodable: one sentence naming the link type, exit 2 (a warning came before
/// the error, two lines for one problem). Beside packets that decode: a warning naming
/// it, the report, exit 0.
#[test]
fn unknown_link_type_is_named_and_exits_non_zero() {
    let r = run(&["-r", format_sample("user0.pcap").to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "one sentence: {}", r.stderr);
    assert!(r.stderr.contains("DLT_USER0 (147)"), "{}", r.stderr);
    assert!(r.stderr.contains("no packet could be read"), "{}", r.stderr);
    let r = run(&[
        "-r",
        format_sample("user0.pcap").to_str().unwrap(),
        sample("tls13.pcap").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("warning"), "{}", r.stderr);
    assert!(r.stderr.contains("DLT_USER0 (147)"), "{}", r.stderr);
    assert!(!r.stdout.is_empty());
}

#[test]
fn pcapng_with_only_a_custom_block_is_read() {
    let r = run(&["-r", format_sample("custom-only.pcapng").to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("No probes found"), "{}", r.stdout);
}

#[test]
fn several_files_after_one_r_are_merged_in_time_order() {
    let a = sample("tls13.pcap");
    let b = sample("wildcard-apex.pcap");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let r = run(&["-r", a, b, "tcp", "port", "443", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = lines(&r.stdout);
    // wildcard-apex.pcap was captured before tls13.pcap.
    let names: Vec<&str> = probes(&v, "tls").iter().map(|p| s(p, "name")).collect();
    assert_eq!(
        names,
        ["example.net", "www.example.net", "secure.example.org"]
    );
    assert_eq!(
        probes(&v, "dns").len(),
        0,
        "the filter after the files applies"
    );
    assert_eq!(of_type(&v, "stats")[0]["files"], json!([a, b]));
}

/// The same file given twice (`-r a a`, a glob and a name, a link to it) was read twice,
/// every packet counted twice, silently (review finding): it is read once, with a
/// warning naming both.
#[test]
fn the_same_file_given_twice_is_read_once_with_a_warning() {
    let a = sample("tls13.pcap");
    let a = a.to_str().unwrap();
    let once = run(&["-r", a, "--format", "json"]);
    let stats_once = of_type(&lines(&once.stdout), "stats")[0].clone();
    let twice = run(&["-r", a, a, "--format", "json"]);
    assert_eq!(twice.code, 0, "{}", twice.stderr);
    let v = lines(&twice.stdout);
    let stats = of_type(&v, "stats")[0].clone();
    assert_eq!(stats["packets"], stats_once["packets"], "{stats}");
    assert_eq!(stats["files"], json!([a]));
    assert_eq!(facts(&v), facts(&lines(&once.stdout)));
    assert_eq!(
        twice.stderr.trim_end(),
        format!(
            "probewatch: warning: {a} is given twice (or matched twice by a directory or a glob); it is read once"
        )
    );
    let dir = std::env::temp_dir().join(format!("probewatch-twice-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("link.pcap");
    std::os::unix::fs::symlink(std::fs::canonicalize(a).unwrap(), &link).unwrap();
    let linked = run(&["-r", a, link.to_str().unwrap(), "--format", "json"]);
    assert_eq!(linked.code, 0, "{}", linked.stderr);
    assert_eq!(
        of_type(&lines(&linked.stdout), "stats")[0]["packets"],
        stats_once["packets"]
    );
    assert_eq!(
        linked.stderr.trim_end(),
        format!(
            "probewatch: warning: {} is the same file as {a}; it is read once",
            link.display()
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A filter on an NFLOG capture (`tcpdump -i nflog:5 -w`, link type 239, which
/// probewatch decodes) was dropped silently and every packet reported and saved: the
/// list of decoded link types had left NFLOG, 802.11 and radiotap out (review finding).
/// libpcap cannot filter NFLOG, so the filter is refused with a sentence, as tcpdump
/// refuses it; without a filter the packet is read.
#[test]
fn a_filter_libpcap_cannot_apply_to_nflog_is_refused_not_ignored() {
    // One NFLOG record (family 2, version 0, resource 0; an NFULA_PAYLOAD TLV) holding a
    // UDP datagram to port 53, as the Linux kernel logs it.
    let ip_udp: [u8; 28] = [
        0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0xc3, 0x50, 0, 53,
        0, 8, 0, 0,
    ];
    let mut rec = vec![2u8, 0, 0, 0];
    rec.extend_from_slice(&(4 + ip_udp.len() as u16).to_le_bytes());
    rec.extend_from_slice(&9u16.to_le_bytes());
    rec.extend_from_slice(&ip_udp);
    let mut file = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
    file.extend_from_slice(&2u16.to_le_bytes());
    file.extend_from_slice(&4u16.to_le_bytes());
    for w in [
        0u32,
        0,
        65535,
        239,
        1,
        0,
        rec.len() as u32,
        rec.len() as u32,
    ] {
        file.extend_from_slice(&w.to_le_bytes());
    }
    file.extend_from_slice(&rec);
    let dir = std::env::temp_dir().join(format!("probewatch-nflog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("nflog.pcap");
    std::fs::write(&path, &file).unwrap();
    let p = path.to_str().unwrap();
    let plain = run(&["-r", p, "--format", "json"]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    let stats = of_type(&lines(&plain.stdout), "stats")[0].clone();
    assert_eq!(stats["udp_packets"], 1, "{stats}");
    let filtered = run(&["-r", p, "port", "53"]);
    assert_eq!(filtered.code, 2, "{}", filtered.stdout);
    assert_eq!(
        filtered.stderr.trim_end(),
        "probewatch: the filter `port 53` cannot be applied to the packets of link type DLT_NFLOG (239) (libpcap: NFLOG link-layer type filtering not implemented), as tcpdump cannot apply it either; read them without a filter"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A little-endian pcapng block: type, body padded to 32 bits, lengths.
fn pcapng_block(kind: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    while body.len() % 4 != 0 {
        body.push(0);
    }
    let len = (12 + body.len()) as u32;
    let mut b = kind.to_le_bytes().to_vec();
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&body);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

/// A section header, then interface blocks of raw IP (101), the first with `tsresol`.
fn pcapng_with_interfaces(n: usize, tsresol: u8) -> Vec<u8> {
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    let mut f = pcapng_block(0x0a0d_0d0a, &shb);
    for i in 0..n {
        let mut idb = 101u16.to_le_bytes().to_vec();
        idb.extend_from_slice(&[0, 0]);
        idb.extend_from_slice(&0u32.to_le_bytes());
        if i == 0 {
            // if_tsresol (option 9, length 1), then opt_endofopt.
            idb.extend_from_slice(&[9, 0, 1, 0, tsresol, 0, 0, 0, 0, 0, 0, 0]);
        }
        f.extend_from_slice(&pcapng_block(1, &idb));
    }
    f
}

/// An Enhanced Packet Block on interface `iface`: a DNS query for www.example.com over
/// raw IPv4/UDP, at `units` of the interface's resolution.
fn epb_dns_query(iface: u32, units: u64) -> Vec<u8> {
    epb_dns(iface, units, false, 0)
}

/// As [`epb_dns_query`]; `answer`: the server's answer instead (no records), with the
/// header `flags` given (0x8380: a response, RD, RA and TC set).
fn epb_dns(iface: u32, units: u64, answer: bool, flags: u16) -> Vec<u8> {
    epb_dns_id(iface, units, answer, flags, 0x1234)
}

/// As [`epb_dns`], with the message's `id`.
fn epb_dns_id(iface: u32, units: u64, answer: bool, flags: u16, id: u16) -> Vec<u8> {
    let flags = if answer { flags } else { 0x0100 };
    let mut dns: Vec<u8> = id.to_be_bytes().to_vec();
    dns.extend_from_slice(&flags.to_be_bytes());
    dns.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    for l in ["www", "example", "com"] {
        dns.push(l.len() as u8);
        dns.extend_from_slice(l.as_bytes());
    }
    dns.extend_from_slice(&[0, 0, 1, 0, 1]);
    let udp_len = 8 + dns.len() as u16;
    let ip_len = 20 + udp_len;
    let (src, dst, sport, dport) = if answer {
        ([10, 0, 0, 2], [10, 0, 0, 1], 53u16, 50000u16)
    } else {
        ([10, 0, 0, 1], [10, 0, 0, 2], 50000, 53)
    };
    let mut pkt = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0];
    pkt[2..4].copy_from_slice(&ip_len.to_be_bytes());
    pkt.extend_from_slice(&src);
    pkt.extend_from_slice(&dst);
    pkt.extend_from_slice(&sport.to_be_bytes());
    pkt.extend_from_slice(&dport.to_be_bytes());
    pkt.extend_from_slice(&udp_len.to_be_bytes());
    pkt.extend_from_slice(&[0, 0]);
    pkt.extend_from_slice(&dns);
    let mut epb = iface.to_le_bytes().to_vec();
    epb.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
    epb.extend_from_slice(&(units as u32).to_le_bytes());
    epb.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
    epb.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
    epb.extend_from_slice(&pkt);
    pcapng_block(6, &epb)
}

/// A truncated DNS answer (TC set, no records: the client asks again over TCP) was
/// reported "no records (NODATA)", which says the name has no such record (black-box
/// finding). It says truncated, and JSON has `dns.truncated`.
#[test]
fn a_truncated_dns_answer_is_not_called_nodata() {
    let mut f = pcapng_with_interfaces(1, 6);
    f.extend_from_slice(&epb_dns(0, 1_800_000_000_000_000, false, 0));
    f.extend_from_slice(&epb_dns(0, 1_800_000_000_001_000, true, 0x8380));
    let (dir, path) = write_temp("dnstc", &f);
    let v = json_of(&path);
    let dns = probes(&v, "dns");
    assert_eq!(dns.len(), 1, "{v:?}");
    assert_eq!(
        s(dns[0], "outcome"),
        "truncated (TC): the answer did not fit, the client asks again over TCP"
    );
    assert_eq!(dns[0]["dns"]["truncated"], true);
    // The same answer without TC is NODATA.
    let mut f = pcapng_with_interfaces(1, 6);
    f.extend_from_slice(&epb_dns(0, 1_800_000_000_000_000, false, 0));
    f.extend_from_slice(&epb_dns(0, 1_800_000_000_001_000, true, 0x8180));
    std::fs::write(&path, &f).unwrap();
    let v = json_of(&path);
    assert_eq!(s(probes(&v, "dns")[0], "outcome"), "no records (NODATA)");
    assert_eq!(probes(&v, "dns")[0]["dns"]["truncated"], false);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn write_temp(tag: &str, bytes: &[u8]) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("probewatch-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{tag}.pcapng"));
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// pcapng timestamps in power-of-two units (`if_tsresol` with its high bit set, which
/// pcapng allows and Wireshark reads) were taken as microseconds, silently: pcap-parser
/// 0.17 refuses every such value (review finding). 2^-30 s units now give the time.
#[test]
fn pcapng_timestamps_in_power_of_two_units_are_read() {
    let secs: u64 = 1_800_000_000;
    let mut f = pcapng_with_interfaces(1, 0x80 | 30);
    f.extend_from_slice(&epb_dns_query(0, (secs << 30) + (1 << 29)));
    let (dir, path) = write_temp("tsresol2", &f);
    let r = run(&["-r", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = lines(&r.stdout);
    let dns = probes(&v, "dns");
    assert_eq!(dns.len(), 1, "{}", r.stdout);
    assert_eq!(s(dns[0], "ts"), "2027-01-15T08:00:00.500000Z");
    assert_eq!(of_type(&v, "stats")[0]["decode_problems"], json!({}));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// pcapng interface blocks were kept without bound (a small compressed file of
/// millions of them grew memory and time with the input; review finding): past
/// MAX_INTERFACES_PER_SECTION each is counted, and a packet on one of them counted as
/// of an undeclared interface.
#[test]
fn pcapng_interfaces_past_the_bound_are_counted_not_kept() {
    let n = probewatch::capture::file::MAX_INTERFACES_PER_SECTION;
    let mut f = pcapng_with_interfaces(n + 3, 6);
    f.extend_from_slice(&epb_dns_query(0, 1_800_000_000_000_000));
    f.extend_from_slice(&epb_dns_query(n as u32 + 1, 1_800_000_000_000_001));
    let (dir, path) = write_temp("ifaces", &f);
    let r = run(&["-r", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = lines(&r.stdout);
    assert_eq!(probes(&v, "dns").len(), 1, "{}", r.stdout);
    assert_eq!(
        of_type(&v, "stats")[0]["decode_problems"],
        json!({"capture_interfaces_over_limit": 3, "capture_packet_for_undeclared_interface": 1})
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A little-endian microsecond pcap with every record cut to `snap` bytes, as
/// `editcap -s SNAP` (or `tcpdump -s SNAP` at capture time) writes it.
fn cut_to_snaplen(pcap: &[u8], snap: u32) -> Vec<u8> {
    assert_eq!(pcap[..4], 0xa1b2_c3d4u32.to_le_bytes());
    let mut out = pcap[..24].to_vec();
    out[16..20].copy_from_slice(&snap.to_le_bytes());
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let caplen = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap());
        let kept = caplen.min(snap);
        out.extend_from_slice(&pcap[at..at + 8]);
        out.extend_from_slice(&kept.to_le_bytes());
        out.extend_from_slice(&pcap[at + 12..at + 16]);
        out.extend_from_slice(&pcap[at + 16..at + 16 + kept as usize]);
        at += 16 + caplen as usize;
    }
    out
}

/// A ClientHello cut by the snapshot length, the server's flight seen, was "the capture
/// holds the server's side of the handshake but not the client's (asymmetric routing or
/// a one-way tap?)" (`client_side_not_captured`; black-box finding): the client's
/// packets are there, cut, and the reason says so.
#[test]
fn a_hello_cut_by_the_snapshot_length_is_said_so_not_a_one_way_tap() {
    // trust.pcap at 200 bytes a packet: two of curl's hellos (517 bytes) cut, the
    // servers' ServerHellos whole.
    let pcap = std::fs::read(sample("trust.pcap")).unwrap();
    let dir = std::env::temp_dir().join(format!("probewatch-snap200-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cut = dir.join("trust-snap200.pcap");
    std::fs::write(&cut, cut_to_snaplen(&pcap, 200)).unwrap();
    let v = json_of(&cut);
    let codes: Vec<&str> = probes(&v, "tls")
        .iter()
        .map(|p| s(p, "reason_code"))
        .collect();
    assert!(!codes.contains(&"client_side_not_captured"), "{codes:?}");
    let cut_hellos: Vec<&Value> = probes(&v, "tls")
        .into_iter()
        .filter(|p| s(p, "reason_code") == "client_hello_snaplen_cut")
        .collect();
    assert_eq!(cut_hellos.len(), 2, "{codes:?}");
    for p in cut_hellos {
        assert_eq!(s(p, "verdict"), "unverified", "{p}");
        assert_eq!(
            s(p, "reason"),
            "the ClientHello was not read: the capture's snapshot length cut the client's handshake packets (capture with -s 0)"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `-q` past `--max-report-probes` began with a paragraph about groups and per-client
/// summaries it never prints, among its one-line-per-probe output (black-box finding):
/// -q is the same lines in the same order either way, and says nothing more.
#[test]
fn q_past_the_report_bound_prints_only_its_lines() {
    let f = sample("mail-fanout.pcap");
    let f = f.to_str().unwrap();
    let bounded = run(&["-r", f, "--max-report-probes", "2", "-q"]);
    assert_eq!(bounded.code, 0, "{}", bounded.stderr);
    assert_eq!(bounded.stderr, "");
    let whole = run(&["-r", f, "-q"]);
    let probe_lines = |out: &str| -> Vec<String> {
        out.lines()
            .take_while(|l| !l.starts_with("Stats:"))
            .map(String::from)
            .collect()
    };
    assert_eq!(probe_lines(&bounded.stdout), probe_lines(&whole.stdout));
    assert!(probe_lines(&bounded.stdout)
        .iter()
        .all(|l| l.starts_with("2026-")));
}

/// With --local-time, the day line kept the offset it gave first across a DST change
/// within the day: the rows after it read an hour off (black-box finding). A new offset
/// writes the day line again.
#[test]
fn a_dst_change_within_a_day_writes_the_zone_again() {
    // 2026-03-08 06:59:58 and 07:00:02 UTC: 01:59:58 EST and 03:00:02 EDT in New York.
    let mut f = pcapng_with_interfaces(1, 6);
    f.extend_from_slice(&epb_dns_id(0, 1_772_953_198_000_000, false, 0, 1));
    f.extend_from_slice(&epb_dns_id(0, 1_772_953_202_000_000, false, 0, 2));
    let (dir, path) = write_temp("dst", &f);
    let out = std::process::Command::new(bin())
        .args([
            "-r",
            path.to_str().unwrap(),
            "--local-time",
            "--width",
            "100",
        ])
        .env("TZ", "America/New_York")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let days: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("2026-03-08 ("))
        .collect();
    assert_eq!(
        days,
        [
            "2026-03-08 (UTC-05:00, America/New_York)",
            "2026-03-08 (UTC-04:00, America/New_York)"
        ],
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_quoted_glob_and_a_directory_read_every_file() {
    let dir = std::env::temp_dir().join(format!("probewatch-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(sample("tls13.pcap"), dir.join("b.pcap")).unwrap();
    std::fs::copy(
        format_sample("wildcard-apex.pcap.zst"),
        dir.join("a.pcap.zst"),
    )
    .unwrap();
    let both = facts(&lines(
        &run(&[
            "-r",
            sample("tls13.pcap").to_str().unwrap(),
            "-r",
            sample("wildcard-apex.pcap").to_str().unwrap(),
            "--format",
            "json",
        ])
        .stdout,
    ));
    let by_dir = run(&["-r", dir.to_str().unwrap(), "--format", "json"]);
    assert_eq!(by_dir.code, 0, "{}", by_dir.stderr);
    assert_eq!(facts(&lines(&by_dir.stdout)), both);
    let pattern = format!("{}/*.pcap*", dir.display());
    let by_glob = run(&["-r", &pattern, "--format", "json"]);
    assert_eq!(by_glob.code, 0, "{}", by_glob.stderr);
    assert_eq!(facts(&lines(&by_glob.stdout)), both);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_glob_that_matches_directories_reads_them_as_directories() {
    // `-r 'rotated/*'` over one directory per day: each directory the pattern matched was
    // opened as a file ("a directory that holds no capture file", exit 2) though it held
    // captures that `-r rotated/day1 rotated/day2` reads.
    let dir = std::env::temp_dir().join(format!("probewatch-globdirs-{}", std::process::id()));
    let (one, two) = (dir.join("day1"), dir.join("day2"));
    std::fs::create_dir_all(&one).unwrap();
    std::fs::create_dir_all(&two).unwrap();
    std::fs::copy(sample("tls13.pcap"), one.join("a.pcap")).unwrap();
    std::fs::copy(sample("wildcard-apex.pcap"), two.join("b.pcap")).unwrap();
    std::fs::write(two.join("README"), "not a capture\n").unwrap();
    let named = run(&[
        "-r",
        one.to_str().unwrap(),
        two.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(named.code, 0, "{}", named.stderr);
    let pattern = format!("{}/*", dir.display());
    let by_glob = run(&["-r", &pattern, "--format", "json"]);
    assert_eq!(by_glob.code, 0, "{}", by_glob.stderr);
    assert_eq!(by_glob.stdout, named.stdout);
    // The README among the captures is skipped as in a directory given by name.
    assert_eq!(by_glob.stderr, named.stderr);
    assert!(by_glob.stderr.contains("README"), "{}", by_glob.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compressed_standard_input_reads() {
    let bytes = std::fs::read(format_sample("merged-linktypes.pcapng.gz")).unwrap();
    let r = run_with_stdin(&["-r", "-", "--format", "json"], Some(&bytes));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want = json_of(&format_sample("merged-linktypes.pcapng"));
    assert_eq!(facts(&lines(&r.stdout)), facts(&want));
}

#[test]
fn options_after_the_filter_are_options() {
    let f = sample("mail-fanout.pcap");
    let r = run(&[
        "-r",
        f.to_str().unwrap(),
        "udp",
        "port",
        "53",
        "--format",
        "json",
        "-nn",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = lines(&r.stdout);
    assert_eq!(probes(&v, "dns").len(), 10);
    assert_eq!(of_type(&v, "probe").len(), 10);
}

#[test]
fn count_with_r_stops_after_n_probes() {
    let f = sample("mail-fanout.pcap");
    let all = json_of(&f);
    let first = of_type(&all, "probe")[0].clone();
    let r = run(&[
        "-r",
        f.to_str().unwrap(),
        "port",
        "53",
        "-c",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = lines(&r.stdout);
    let got = of_type(&v, "probe");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["name"], first["name"]);
}

#[test]
fn write_with_r_saves_the_filtered_packets() {
    let f = sample("mail-fanout.pcap");
    let out = std::env::temp_dir().join(format!("probewatch-w-{}.pcap", std::process::id()));
    let r = run(&[
        "-r",
        f.to_str().unwrap(),
        "-w",
        out.to_str().unwrap(),
        "udp port 53",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let direct = lines(&r.stdout);
    let again = json_of(&out);
    assert_eq!(probe_objects(&again), probe_objects(&direct));
    assert_eq!(probes(&again, "dns").len(), 10);
    assert_eq!(probes(&again, "tls").len(), 0);
    // Exactly the packets that pass the filter, as tcpdump -r IN -w OUT would write.
    let want = of_type(&json_of(&f), "stats")[0]["packets"]
        .as_u64()
        .unwrap();
    let got = of_type(&again, "stats")[0]["packets"].as_u64().unwrap();
    assert!(got > 0 && got < want, "{got} of {want}");
    assert_eq!(got, 20, "the 20 DNS packets of mail-fanout.pcap");
    std::fs::remove_file(&out).unwrap();
}

#[test]
fn ctrl_c_on_standard_input_reports_what_was_found_and_exits_130() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let bytes = std::fs::read(sample("mail-fanout.pcap")).unwrap();
    let mut child = Command::new(bin())
        .args(["-r", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The whole capture, and the pipe stays open, as `ssh host tcpdump -w -` would.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&bytes).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let v = lines(&stdout);
    let want = json_of(&sample("mail-fanout.pcap"));
    assert_eq!(
        facts(&v),
        facts(&want),
        "everything read before Ctrl-C is reported"
    );
    assert_eq!(v.last().unwrap()["type"], json!("stats"));
}

#[test]
fn standard_input_json_streams_probes_before_the_input_ends() {
    use std::io::{BufRead, Write};
    use std::process::{Command, Stdio};
    // mail-fanout.pcap, then tls13.pcap (captured 6 s later) on one pipe, as tcpdump -w -
    // would write them; the pipe stays open.
    let first = std::fs::read(sample("mail-fanout.pcap")).unwrap();
    let second = std::fs::read(sample("tls13.pcap")).unwrap();
    assert_eq!(first[..24], second[..24], "same pcap header");
    let mut child = Command::new(bin())
        .args(["-r", "-", "--format", "json", "--probe-timeout", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    stdin.write_all(&first).unwrap();
    stdin.write_all(&second[24..]).unwrap();
    stdin.flush().unwrap();
    // The probes of mail-fanout.pcap are written while the pipe is still open.
    let want = of_type(&json_of(&sample("mail-fanout.pcap")), "probe").len();
    let mut early = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while early.len() < want && std::time::Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            early.push(l);
        }
    }
    let early: Vec<Value> = early
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        early.len(),
        want,
        "probes written before the end of the input"
    );
    assert!(early.iter().all(|v| v["type"] == "probe"));
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let rest: Vec<String> = rx.try_iter().collect();
    assert_eq!(status.code(), Some(0));
    let rest: Vec<Value> = rest
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rest.last().unwrap()["type"], json!("stats"));
    let later = of_type(&rest, "probe");
    let tls13 = of_type(&json_of(&sample("tls13.pcap")), "probe").len();
    assert_eq!(
        later.len(),
        tls13,
        "tls13.pcap's probes come at the end of the input"
    );
}

/// `-r <(zcat x.pcap.gz)`, `-r /dev/stdin` and a named pipe were "not a capture file (the
/// file is empty (0 bytes))": their size is 0 because they are pipes. Each is read as
/// standard input is.
#[test]
fn a_pipe_given_by_path_is_read_not_called_empty() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let f = sample("mail-fanout.pcap");
    let bytes = std::fs::read(&f).unwrap();
    let want = facts(&json_of(&f));
    let r = run_with_stdin(&["-r", "/dev/stdin", "--format", "json"], Some(&bytes));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(facts(&lines(&r.stdout)), want);
    let (dir, fifo) = named_pipe("probewatch-fifo", "capture.pcap");
    let child = Command::new(bin())
        .args(["-r", fifo.to_str().unwrap(), "--format", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Opening the pipe for writing waits for probewatch to open it for reading: on a
    // thread, so that a probewatch that exits first fails the test instead of hanging it.
    let path = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut w = std::fs::OpenOptions::new().write(true).open(&path)?;
        w.write_all(&bytes)
    });
    let out = child.wait_with_output().unwrap();
    if !writer.is_finished() {
        // probewatch never opened the pipe: a reader of our own lets the writer go.
        use std::os::unix::fs::OpenOptionsExt;
        let _r = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(0o4000) // O_NONBLOCK (Linux)
            .open(&fifo);
        // Not joined: the assertions below fail the test either way.
        drop(writer);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(facts(&lines(&String::from_utf8_lossy(&out.stdout))), want);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A named pipe no program opens for writing made probewatch wait in `open`, which Ctrl-C
/// restarts: only SIGKILL stopped it (review finding). Ctrl-C ends the wait: one sentence,
/// exit 130.
#[test]
fn ctrl_c_while_waiting_for_a_named_pipe_writer_exits_130() {
    use std::process::{Command, Stdio};
    let (dir, fifo) = named_pipe("probewatch-fifo-int", "never-written.pcap");
    let mut child = Command::new(bin())
        .args(["-r", fifo.to_str().unwrap(), "-q"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Ctrl-C once probewatch waits in the open (its thread `pipe-open` exists: the Ctrl-C
    // handler is installed by then), not on a timer that a loaded machine could beat.
    let pid = child.id().to_string();
    let waiting = || {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|d| {
                d.filter_map(|t| t.ok()).any(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|c| c.trim() == "pipe-open")
                })
            })
            .unwrap_or(false)
    };
    let ready = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !waiting() && std::time::Instant::now() < ready {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(waiting(), "probewatch never waited for the pipe's writer");
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
        panic!("probewatch did not stop on Ctrl-C while waiting for the pipe's writer");
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("interrupted while waiting for a program to open"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `-w` naming a named pipe waited in `open` for a reader, and Ctrl-C could not end the
/// wait (review finding): it is opened as `-r`'s pipes are. With a reader, the packets go
/// through the pipe.
#[test]
fn w_to_a_named_pipe_writes_through_it() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let (dir, fifo) = named_pipe("probewatch-wfifo", "out.pcap");
    let f = sample("tls13.pcap");
    let child = Command::new(bin())
        .args([
            "-r",
            f.to_str().unwrap(),
            "-w",
            fifo.to_str().unwrap(),
            "-q",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        std::fs::File::open(&path)?.read_to_end(&mut got)?;
        Ok::<_, std::io::Error>(got)
    });
    let out = child.wait_with_output().unwrap();
    if !reader.is_finished() {
        // probewatch never opened the pipe: a writer of our own lets the reader go.
        use std::os::unix::fs::OpenOptionsExt;
        let _w = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(0o4000) // O_NONBLOCK (Linux)
            .open(&fifo);
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = reader.join().unwrap().unwrap();
    assert_eq!(
        got.get(..4),
        Some(&0xa1b2_3c4du32.to_le_bytes()[..]),
        "a pcap header"
    );
    let saved = dir.join("saved.pcap");
    std::fs::write(&saved, &got).unwrap();
    let q = |p: &std::path::Path| run(&["-r", p.to_str().unwrap(), "-q"]).stdout;
    assert_eq!(q(&saved), q(&f));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `ssh host tcpdump -w - | probewatch -r -` showed nothing until the input ended in the
/// table (and `-q`, `--format ecs`): only JSON streamed, each probe after the probe timeout
/// plus 2 s. From a stream, rows are written as soon as probes complete, as in a live capture
/// (well within the 12 s window, with the default probe timeout), and the groups, clients
/// and stats at the end.
#[test]
fn standard_input_table_streams_rows_before_the_input_ends() {
    use std::io::{BufRead, Write};
    use std::process::{Command, Stdio};
    let bytes = std::fs::read(sample("mail-fanout.pcap")).unwrap();
    for (args, row) in [
        (&["--width", "120"][..], "CN=EXCH01 (no SAN) mismatch"),
        (
            &["-q"][..],
            "tls autodiscover.example.com 192.0.2.20:443 mismatch",
        ),
        (
            &["--format", "ecs"][..],
            "\"domain\":\"autodiscover.example.com\"},\"network\"",
        ),
    ] {
        let mut child = Command::new(bin())
            .args(["-r", "-"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        stdin.write_all(&bytes).unwrap();
        stdin.flush().unwrap();
        // The pipe stays open: the row must come before the input ends, and before the
        // 12 s a reorder window would hold it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(8);
        let mut early = Vec::new();
        while !early.iter().any(|l: &String| l.contains(row))
            && std::time::Instant::now() < deadline
        {
            if let Ok(l) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
                early.push(l);
            }
        }
        assert!(
            early.iter().any(|l| l.contains(row)),
            "{args:?}: no {row:?} before the input ended: {early:#?}"
        );
        drop(stdin);
        let status = child.wait().unwrap();
        reader.join().unwrap();
        let rest: Vec<String> = rx.try_iter().collect();
        assert_eq!(status.code(), Some(0), "{args:?}");
        if args != ["--format", "ecs"] {
            assert!(
                rest.iter().any(|l| l.starts_with("Stats: ")),
                "{args:?}: the stats at the end: {rest:#?}"
            );
        }
    }
}

/// `--ja4` from a stream printed no JA4 column and no word (the live layout has none): the
/// stream's table is laid out at the end then, as a file's, with the column.
#[test]
fn ja4_from_a_stream_is_shown_not_dropped() {
    let f = sample("mail-fanout.pcap");
    let bytes = std::fs::read(&f).unwrap();
    let piped = run_with_stdin(&["-r", "-", "--ja4", "--width", "200"], Some(&bytes));
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    let file = run(&["-r", f.to_str().unwrap(), "--ja4", "--width", "200"]);
    assert!(file.stdout.contains("JA4"), "{}", file.stdout);
    assert_eq!(piped.stdout, file.stdout);
}

/// `--width 0` on a stream (the live layout) still wrapped cells onto a second line
/// (`no records` / `(NODATA)`): every row is on one line, as the docs say of width 0.
#[test]
fn width_0_on_a_stream_puts_every_row_on_one_line() {
    let bytes = std::fs::read(sample("mail-fanout.pcap")).unwrap();
    let r = run_with_stdin(&["-r", "-", "--width", "0"], Some(&bytes));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Vec<&str> = r.stdout.lines().take_while(|l| !l.is_empty()).collect();
    assert!(rows.len() > 15, "{}", r.stdout);
    for l in &rows {
        assert!(
            !l.starts_with(' ') || l.starts_with("    ↳ "),
            "a cell wrapped onto its own line: {l:?}\n{}",
            r.stdout
        );
    }
    assert!(rows
        .iter()
        .any(|l| l.contains("DNS AAAA") && l.ends_with("no records (NODATA)")));
}

/// `--max-report-probes` from a stream did nothing (its table, -q, JSON and ECS hold no
/// probes for a layout): refused with a sentence; from a file or with --ja4 it is taken.
#[test]
fn max_report_probes_from_a_stream_is_refused() {
    let f = sample("tls13.pcap");
    let bytes = std::fs::read(&f).unwrap();
    let r = run_with_stdin(&["-r", "-", "--max-report-probes", "5", "-q"], Some(&bytes));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--max-report-probes bounds the report laid out"),
        "{}",
        r.stderr
    );
    // The stream named after a file (review finding: only -r's own values were looked at).
    let after = run_with_stdin(
        &[
            "-r",
            f.to_str().unwrap(),
            "-",
            "--max-report-probes",
            "5",
            "-q",
        ],
        Some(&bytes),
    );
    assert_eq!(after.code, 2, "{}", after.stderr);
    let ja4 = run_with_stdin(
        &["-r", "-", "--max-report-probes", "5", "--ja4"],
        Some(&bytes),
    );
    assert_eq!(ja4.code, 0, "{}", ja4.stderr);
    let file = run(&["-r", f.to_str().unwrap(), "--max-report-probes", "5", "-q"]);
    assert_eq!(file.code, 0, "{}", file.stderr);
}

/// `-r - < file.pcap` is a file after all: laid out at the end as `-r file.pcap` is.
#[test]
fn standard_input_redirected_from_a_file_is_laid_out_as_the_file_is() {
    let f = sample("mail-fanout.pcap");
    let out = std::process::Command::new(bin())
        .args(["-r", "-", "--width", "100"])
        .stdin(std::fs::File::open(&f).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let file = run(&["-r", f.to_str().unwrap(), "--width", "100"]);
    assert!(file.stdout.starts_with("Summary: "), "{}", file.stdout);
    assert_eq!(String::from_utf8_lossy(&out.stdout), file.stdout);
}

#[test]
fn reading_a_file_as_root_parses_it_as_an_unprivileged_user() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root (CI runs as root)");
        return;
    }
    let mut child = Command::new(bin())
        .args(["-r", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(&std::fs::read(sample("tls13.pcap")).unwrap())
        .unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let field = |name: &str| -> String {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in {status}"))
            .trim()
            .to_string()
    };
    for id in field("Uid:")
        .split_whitespace()
        .chain(field("Gid:").split_whitespace())
    {
        assert_ne!(id, "0", "running as root while parsing: {status}");
    }
    assert_eq!(field("CapEff:"), "0000000000000000");
    assert_eq!(field("CapPrm:"), "0000000000000000");
    assert_eq!(field("NoNewPrivs:"), "1");
    let v = lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(probes(&v, "tls").len(), 1, "the file was still read whole");
}

/// `-q` on a real capture: one line per probe (in the JSON's order, with its client,
/// name, server and verdict) and the stats line; nothing else. Options after the filter
/// are read, as tcpdump does.
#[test]
fn quiet_prints_one_line_per_probe_with_its_name_and_verdict() {
    for file in ["trust.pcap", "quic-aioquic.pcap", "mail-fanout.pcap"] {
        let f = sample(file);
        let v = json_of(&f);
        let want: Vec<&serde_json::Value> = of_type(&v, "probe");
        let r = run(&["-r", f.to_str().unwrap(), "-q"]);
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        let out: Vec<&str> = r.stdout.lines().collect();
        let stats_at = out
            .iter()
            .position(|l| l.starts_with("Stats: "))
            .expect("a stats line");
        assert_eq!(
            stats_at,
            want.len(),
            "{file}: one line per probe, then the stats"
        );
        assert!(
            out[stats_at + 1..].iter().all(|l| l.starts_with("  ")),
            "{file}: only the stats line's continuation after it: {:?}",
            &out[stats_at..]
        );
        for (line, p) in out.iter().zip(&want) {
            let f: Vec<&str> = line.split(' ').collect();
            let port = p["client_port"].as_u64().unwrap();
            let client = s(p, "client");
            assert_eq!(f[2], format!("{client}:{port}"), "{line}");
            assert!(f[3].starts_with(s(p, "proto")), "{line}");
            assert_eq!(f[4], p["name"].as_str().unwrap_or("-"), "{line}");
            let server = format!("{}:{}", s(p, "server"), p["port"]);
            assert_eq!(f[5], server, "{line}");
            if let Some(verdict) = p["verdict"].as_str() {
                assert_eq!(f[6..].join(" "), verdict, "{line}");
            }
        }
    }
    let f = sample("tls13.pcap");
    let r = run(&["-r", f.to_str().unwrap(), "port", "443", "-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("Client "), "{}", r.stdout);
    assert!(!r.stdout.contains("Summary"), "{}", r.stdout);
}

/// `-v` on a real capture: under each probe, what the JSON holds of it: the cipher, the
/// ALPN offered, the JA4, the certificate's issuer and validity, the DNS records; `-vv`
/// adds the SHA-256 and the client's port.
#[test]
fn verbose_shows_each_probes_details() {
    let f = sample("trust.pcap");
    let v = json_of(&f);
    let r = run(&["-r", f.to_str().unwrap(), "--width", "0", "-v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rr = run(&["-r", f.to_str().unwrap(), "--width", "0", "-vv"]);
    assert_eq!(rr.code, 0, "{}", rr.stderr);
    let tls = probes(&v, "tls");
    assert!(!tls.is_empty());
    for p in &tls {
        let t = &p["tls"];
        let cipher = s(t, "cipher");
        assert!(r.stdout.contains(&format!("cipher {cipher}")), "{cipher}");
        let alpn: Vec<&str> = t["alpn"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(
            r.stdout
                .contains(&format!("ALPN offered: {}", alpn.join(", "))),
            "{alpn:?}"
        );
        assert!(r.stdout.contains(&format!("JA4 {}", s(t, "ja4"))));
        let c = &p["cert"];
        let validity = format!(
            "issuer {}; valid {} to {}",
            s(c, "issuer"),
            s(c, "not_before"),
            s(c, "not_after")
        );
        assert!(r.stdout.contains(&validity), "{validity}");
        let sha = format!("SHA-256 {}", s(c, "sha256"));
        assert!(!r.stdout.contains(&sha), "-v has no fingerprints");
        assert!(rr.stdout.contains(&sha), "-vv has {sha}");
        let port = format!("client port {}", p["client_port"]);
        assert!(rr.stdout.contains(&port), "{port}");
    }
    for p in probes(&v, "dns") {
        for a in p["dns"]["answers"].as_array().unwrap() {
            let rec = format!("{} {} {}", s(a, "name"), s(a, "type"), s(a, "data"));
            assert!(r.stdout.contains(&rec), "{rec}");
        }
    }
    // The plain table has none of it.
    let plain = run(&["-r", f.to_str().unwrap(), "--width", "0"]);
    assert!(!plain.stdout.contains("ALPN offered"));
}

/// -q and -v shape the table: with another format, together, or past -vv they are
/// refused with one sentence, never ignored.
#[test]
fn quiet_and_verbose_are_refused_where_they_mean_nothing() {
    let f = sample("tls13.pcap");
    let f = f.to_str().unwrap();
    for (args, says) in [
        (
            vec!["-q", "--format", "json"],
            "cannot be combined with --format json",
        ),
        (
            vec!["-v", "--format", "ecs"],
            "cannot be combined with --format ecs",
        ),
        (
            vec!["-vv", "--timeline"],
            "cannot be combined with --timeline",
        ),
        // The advice fits: not "--format json always has every detail" for the timeline.
        (
            vec!["-q", "--timeline"],
            "with --timeline; leave out --timeline for -q's one line per probe",
        ),
        (vec!["-q", "-v"], "cannot be combined; pick one"),
        (vec!["-vvv"], "more detail than there is"),
    ] {
        let mut a = vec!["-r", f, "port", "443"];
        a.extend(&args);
        let r = run(&a);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.stdout.is_empty());
    }
}

#[test]
fn write_with_r_refuses_a_second_link_type_with_a_sentence_and_reports_what_came_before() {
    let out = std::env::temp_dir().join(format!("probewatch-w2-{}.pcap", std::process::id()));
    let f = format_sample("merged-linktypes.pcapng");
    let r = run(&[
        "-r",
        f.to_str().unwrap(),
        "-w",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("a pcap file holds one link type"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("DLT_EN10MB (1)"), "{}", r.stderr);
    // The report of the packets before the refused one (it printed nothing), and the file
    // holds those same packets: read back, the same probes.
    let v = lines(&r.stdout);
    let before = of_type(&v, "stats")[0]["packets"].as_u64().unwrap();
    assert!(before > 0, "{}", r.stdout);
    let again = json_of(&out);
    assert_eq!(
        of_type(&again, "stats")[0]["packets"].as_u64().unwrap(),
        before
    );
    assert_eq!(facts(&again), facts(&v));
    assert!(!of_type(&v, "probe").is_empty());
    // The default table too (the case found: no report at all).
    let t = run(&["-r", f.to_str().unwrap(), "-w", out.to_str().unwrap()]);
    assert_eq!(t.code, 2, "{}", t.stderr);
    assert!(t.stdout.starts_with("Summary: "), "{}", t.stdout);
    assert!(
        t.stdout.contains(&format!("\nStats: {before} packets ")),
        "{}",
        t.stdout
    );
    let _ = std::fs::remove_file(&out);
}

#[test]
fn w_from_a_pcapng_writes_the_captured_bytes_not_the_block_padding() {
    // A pcapng block pads its packet to 32 bits; the padding was written into the pcap
    // record as packet data, with a captured length past the packet's length (tcpdump:
    // "Invalid header: len(113) < caplen(116)").
    let out = std::env::temp_dir().join(format!("probewatch-wpad-{}.pcap", std::process::id()));
    let f = sample("pcapng-mixed.pcapng");
    let r = run(&[
        "-r",
        f.to_str().unwrap(),
        "-w",
        out.to_str().unwrap(),
        "-q",
        "port 53",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let bytes = std::fs::read(&out).unwrap();
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let (mut at, mut records, mut unpadded) = (24, 0, 0);
    while at < bytes.len() {
        let (caplen, len) = (u32_at(at + 8), u32_at(at + 12));
        assert_eq!(caplen, len, "record {records}: caplen {caplen}, len {len}");
        unpadded += usize::from(len % 4 != 0);
        at += 16 + caplen as usize;
        records += 1;
    }
    assert_eq!(at, bytes.len());
    assert_eq!(records, 8);
    assert!(
        unpadded > 0,
        "no packet here whose length is not a multiple of 4"
    );
    let _ = std::fs::remove_file(&out);
}

#[test]
fn a_filter_applies_to_raw_ip_packets_and_w_keeps_their_link_type() {
    // LINKTYPE_RAW (101), as `tcpdump -i tun0 -w` writes it: libpcap compiles filters by
    // DLT, where raw IP is 12; given 101 it refused every filter ("unknown data link type
    // 101"), so no filter could be used on a VPN or tunnel capture.
    let f = sample("raw-ip.pcap");
    let f = f.to_str().unwrap();
    let all = json_of(&sample("raw-ip.pcap"));
    let r = run(&["-r", f, "--format", "json", "tcp port 443"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = lines(&r.stdout);
    assert_eq!(facts(&v), facts(&all));
    let tls = probes(&v, "tls");
    assert_eq!(tls.len(), 1);
    assert_eq!(tls[0]["name"], "tunnel.example.com");
    assert_eq!(tls[0]["verdict"], "match");
    // The filter filters: none of these packets is UDP.
    let udp = run(&["-r", f, "--format", "json", "udp"]);
    assert_eq!(udp.code, 0, "{}", udp.stderr);
    assert_eq!(of_type(&lines(&udp.stdout), "stats")[0]["packets"], 0);
    // -w writes LINKTYPE_RAW again, every packet that passed.
    let out = std::env::temp_dir().join(format!("probewatch-raw-{}.pcap", std::process::id()));
    let w = run(&["-r", f, "-w", out.to_str().unwrap(), "-q", "tcp port 443"]);
    assert_eq!(w.code, 0, "{}", w.stderr);
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes[20..24], 101u32.to_le_bytes());
    let again = json_of(&out);
    assert_eq!(
        of_type(&again, "stats")[0]["packets"],
        of_type(&v, "stats")[0]["packets"]
    );
    let _ = std::fs::remove_file(&out);
}

#[test]
fn a_quiet_pipe_still_gets_its_probes_written() {
    use std::io::{BufRead, Write};
    use std::process::{Command, Stdio};
    // One capture, then the pipe stays open and silent (a remote tcpdump with no traffic):
    // capture time passes with the wall clock, as in a live capture.
    let bytes = std::fs::read(sample("mail-fanout.pcap")).unwrap();
    let mut child = Command::new(bin())
        .args(["-r", "-", "--format", "json", "--probe-timeout", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    stdin.write_all(&bytes).unwrap();
    stdin.flush().unwrap();
    let want = of_type(&json_of(&sample("mail-fanout.pcap")), "probe").len();
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while got.len() < want && std::time::Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            got.push(l);
        }
    }
    assert_eq!(
        got.len(),
        want,
        "probes written while the pipe is open and quiet"
    );
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    reader.join().unwrap();
}

#[test]
fn a_snapshot_length_cut_is_said_and_no_rejection_or_silence_is_inferred_from_it() {
    // mail-fanout.pcap as `tcpdump -s 200` holds it: every client went on with its
    // handshake and data flowed (or, once, the client sent unknown_ca), but the records
    // after the first cut packet cannot be read. Said: "client likely rejected the
    // certificate (inferred: … closed … right after the server's handshake flight
    // (certificate encrypted) …)", and "server closed … without application data".
    let v = json_of(&format_sample("mail-fanout-snap200.pcap"));
    let tls = probes(&v, "tls");
    assert_eq!(tls.len(), 4);
    for p in &tls {
        assert_eq!(p["verdict"], "unverified", "{p}");
        assert_eq!(p["reason_code"], "snaplen_cut", "{p}");
        assert_eq!(p["outcome_code"], "unreadable_after_gap", "{p}");
        let o = s(p, "outcome");
        assert!(
            o.starts_with("the rest cannot be read: the capture's snapshot length cut the "),
            "{o}"
        );
        assert!(
            o.contains("(nothing inferred); the captured packets carried "),
            "{o}"
        );
        assert!(!o.contains("encrypted"), "{o}");
    }
    // The whole capture: the same connections, their outcomes seen.
    let whole = json_of(&sample("mail-fanout.pcap"));
    let codes: Vec<&str> = probes(&whole, "tls")
        .iter()
        .map(|p| s(p, "outcome_code"))
        .collect();
    assert_eq!(
        codes,
        [
            "data_exchanged",
            "data_exchanged",
            "data_exchanged",
            "client_rejected"
        ]
    );
}

#[test]
fn a_dns_query_seen_twice_is_one_probe_and_its_repeated_answer_no_answer_without_query() {
    // The same capture read twice (`-r f f`, or a capture of both ends of one link) holds
    // every query and answer twice: each query was reported "no answer seen", its
    // repeat answered, and the second answer "answer without query". tshark pairs the
    // first query with the first answer and marks the rest as retransmissions.
    // (A copy: the same file given twice is read once.)
    let f = sample("wildcard-apex.pcap");
    let dir = std::env::temp_dir().join(format!("probewatch-dnstwice-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("copy.pcap");
    std::fs::copy(&f, &copy).unwrap();
    let once = json_of(&sample("wildcard-apex.pcap"));
    let twice = lines(
        &run(&[
            "-r",
            f.to_str().unwrap(),
            copy.to_str().unwrap(),
            "--format",
            "json",
        ])
        .stdout,
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let dns = |v: &[Value]| -> Vec<(String, String)> {
        probes(v, "dns")
            .iter()
            .map(|p| (s(p, "name").to_string(), s(p, "outcome").to_string()))
            .collect()
    };
    assert_eq!(dns(&twice), dns(&once));
    assert!(!dns(&once).is_empty());
    let stats = &of_type(&twice, "stats")[0];
    let queries = dns(&once).len() as u64;
    assert_eq!(stats["dns_queries_repeated"], queries, "{stats}");
    assert_eq!(stats["dns_answers_repeated"], queries, "{stats}");
    assert_eq!(stats["dns_answers_without_query"], 0, "{stats}");
}

#[test]
fn an_http_head_cut_by_the_snapshot_length_is_read_up_to_the_cut() {
    // mail-fanout.pcap at -s 200: the POST's head is cut after its Host line, the 302's
    // after its status line. No HTTP probe was written at all (the head never ended).
    let v = json_of(&format_sample("mail-fanout-snap200.pcap"));
    let http = probes(&v, "http");
    assert_eq!(http.len(), 1, "{v:?}");
    assert_eq!(http[0]["name"], "www.example.com");
    assert_eq!(http[0]["name_source"], "http_host");
    assert_eq!(http[0]["http"]["method"], "POST");
    assert_eq!(http[0]["http"]["path"], "/autodiscover/autodiscover.xml");
    assert_eq!(http[0]["http"]["status"], 302);
    // The Location header was past the cut: not made up, and the outcome says why.
    assert_eq!(http[0]["http"]["location"], Value::Null);
    assert_eq!(
        s(http[0], "outcome"),
        "302 (the capture's snapshot length cut a head: the headers after the cut, a Host or a Location among them, not seen)"
    );
    assert_eq!(of_type(&v, "stats")[0]["parse"]["http_heads_cut"], 2);
}

#[test]
fn w_to_a_named_pipe_whose_reader_left_says_so() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    // The reader opens the pipe and leaves before a byte is written: the write fails with
    // EPIPE, which was said as "cannot write the capture to …: Broken pipe (os error 32);
    // give -w a file in a directory that exists and is writable".
    let (dir, fifo) = named_pipe("probewatch-wgone", "out.pcap");
    let mut child = Command::new(bin())
        .args(["-r", "-", "-w", fifo.to_str().unwrap(), "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Opening the read end lets probewatch's open finish; closing it leaves no reader.
    drop(std::fs::File::open(&fifo).unwrap());
    let bytes = std::fs::read(sample("tls13.pcap")).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(&bytes);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim_end(),
        format!(
            "probewatch: -w {}: the program reading the pipe closed it, so the packets after that could not be saved; keep the reader running, or give -w a file",
            fifo.display()
        )
    );
    // The report of what was read is there all the same.
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Stats: "),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
