//! The key log samples (samples/make-keylog-samples.sh: curl, openssl s_client and
//! aioquic with the key logs they wrote): with the key log, every TLS 1.3 and QUIC probe
//! gets the verdict its certificate deserves; without it, "unverified" and why.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use probewatch::capture::{FileSource, Input};
use probewatch::correlate::{CertSource, Probe, Reason, Verdict};
use probewatch::parse::keylog::{KeyLog, KeyLogLimits, KeySource, DSB_TLS_KEY_LOG};
use probewatch::{Bounds, Pipeline};
use serde_json::Value;

/// (name, cipher, verdict, reason_code, cert_source, certificate SANs) of each probe.
fn rows(v: &[Value], proto: &str) -> Vec<(String, String, String, String, String, String)> {
    probes(v, proto)
        .iter()
        .map(|p| {
            (
                s(p, "name").to_string(),
                p["tls"]["cipher"].as_str().unwrap_or("").to_string(),
                s(p, "verdict").to_string(),
                s(p, "reason_code").to_string(),
                p["cert_source"].as_str().unwrap_or("").to_string(),
                p["cert"]["san_dns"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|x| x.as_str().unwrap())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn with_keylog(capture: &str, keys: &str) -> Vec<Value> {
    let (c, k) = (sample(capture), sample(keys));
    let r = run(&[
        "-r",
        c.to_str().unwrap(),
        "--keylog",
        k.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    lines(&r.stdout)
}

fn row(
    n: &str,
    c: &str,
    v: &str,
    r: &str,
    src: &str,
    san: &str,
) -> (String, String, String, String, String, String) {
    (
        n.into(),
        c.into(),
        v.into(),
        r.into(),
        src.into(),
        san.into(),
    )
}

const KL: &str = "decrypted with key log";

#[test]
fn tls13_each_suite_mismatch_match_psk_and_no_key() {
    let v = with_keylog("keylog-tls13.pcap", "keylog-tls13.keys");
    assert_eq!(
        rows(&v, "tls"),
        vec![
            row(
                "www.example.test",
                "TLS_AES_128_GCM_SHA256",
                "match",
                "san_match",
                KL,
                "www.example.test"
            ),
            row(
                "www.example.test",
                "TLS_AES_256_GCM_SHA384",
                "match",
                "san_match",
                KL,
                "www.example.test"
            ),
            row(
                "old.example.test",
                "TLS_CHACHA20_POLY1305_SHA256",
                "mismatch",
                "not_in_sans",
                KL,
                "www.example.test"
            ),
            row(
                "www.example.test",
                "TLS_AES_128_CCM_SHA256",
                "match",
                "san_match",
                KL,
                "www.example.test"
            ),
            // s_client -sess_in: the server resumed with the PSK and sent no certificate.
            row(
                "www.example.test",
                "TLS_AES_128_CCM_SHA256",
                "unverified",
                "resumed_psk_no_certificate",
                "",
                ""
            ),
            // curl without SSLKEYLOGFILE: its client random is not in the key log.
            row(
                "www.example.test",
                "TLS_AES_128_GCM_SHA256",
                "unverified",
                "no_key_in_key_log",
                "",
                ""
            ),
        ]
    );
    let stats = v.iter().find(|o| o["type"] == "stats").unwrap();
    assert_eq!(stats["keylog"]["client_randoms"], 5);
    assert_eq!(stats["keylog"]["tls"]["certificates"], 4);
    assert_eq!(stats["keylog"]["tls"]["no_key"], 1);
    assert_eq!(stats["keylog"]["tls"]["auth_failures"], 0);
}

#[test]
fn without_the_key_log_tls13_stays_unverified_and_says_why() {
    for (capture, code) in [
        ("keylog-tls13.pcap", "tls13_encrypted"),
        ("keylog-hrr.pcap", "tls13_encrypted"),
        ("keylog-mtls.pcap", "tls13_encrypted"),
        ("keylog-0rtt.pcap", "tls13_encrypted"),
    ] {
        let v = json_of(&sample(capture));
        for p in probes(&v, "tls") {
            assert_eq!(
                (s(p, "verdict"), s(p, "reason_code")),
                ("unverified", code),
                "{capture}"
            );
            assert!(p["cert"].is_null() && p["cert_source"].is_null());
        }
        let stats = v.iter().find(|o| o["type"] == "stats").unwrap();
        assert!(stats["keylog"].is_null(), "no key log, no key log counters");
    }
    let v = json_of(&sample("keylog-quic.pcap"));
    for p in probes(&v, "quic") {
        assert_eq!(
            (s(p, "verdict"), s(p, "reason_code")),
            ("unverified", "quic_encrypted")
        );
    }
}

#[test]
fn hello_retry_request_then_the_decrypted_certificate() {
    let v = with_keylog("keylog-hrr.pcap", "keylog-hrr.keys");
    let p = probes(&v, "tls");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["tls"]["hello_retry"], true);
    assert_eq!(
        rows(&v, "tls"),
        vec![row(
            "www.example.test",
            "TLS_AES_256_GCM_SHA384",
            "match",
            "san_match",
            KL,
            "www.example.test"
        )]
    );
}

#[test]
fn quic_v1_and_v2_certificates_from_the_key_log() {
    let v = with_keylog("keylog-quic.pcap", "keylog-quic.keys");
    assert_eq!(
        rows(&v, "quic"),
        vec![
            row(
                "www.example.test",
                "TLS_AES_256_GCM_SHA384",
                "match",
                "san_match",
                KL,
                "www.example.test"
            ),
            row(
                "other.example.test",
                "TLS_CHACHA20_POLY1305_SHA256",
                "mismatch",
                "not_in_sans",
                KL,
                "www.example.test"
            ),
        ]
    );
    let stats = v.iter().find(|o| o["type"] == "stats").unwrap();
    assert_eq!(stats["keylog"]["quic"]["certificates"], 2);
}

#[test]
fn a_wrong_secret_is_a_stated_failure_never_a_certificate() {
    // The client's key log with every server handshake secret damaged (one hex digit):
    // hostile input made here, the capture is untouched.
    let text = std::fs::read_to_string(sample("keylog-tls13.keys")).unwrap();
    let bad: String = text
        .lines()
        .map(
            |l| match l.strip_prefix("SERVER_HANDSHAKE_TRAFFIC_SECRET ") {
                Some(rest) => {
                    let (cr, secret) = rest.split_once(' ').unwrap();
                    let flipped = if secret.starts_with('0') { "1" } else { "0" };
                    format!(
                        "SERVER_HANDSHAKE_TRAFFIC_SECRET {cr} {flipped}{}\n",
                        &secret[1..]
                    )
                }
                None => format!("{l}\n"),
            },
        )
        .collect();
    let dir = std::env::temp_dir().join(format!("pw-wrong-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let k = dir.join("wrong.keys");
    std::fs::write(&k, bad).unwrap();
    let c = sample("keylog-tls13.pcap");
    let r = run(&[
        "-r",
        c.to_str().unwrap(),
        "--keylog",
        k.to_str().unwrap(),
        "--format",
        "json",
    ]);
    std::fs::remove_dir_all(&dir).unwrap();
    let v = lines(&r.stdout);
    let codes: Vec<&str> = probes(&v, "tls")
        .iter()
        .map(|p| s(p, "reason_code"))
        .collect();
    assert_eq!(
        codes,
        [
            "decryption_failed_wrong_key",
            "decryption_failed_wrong_key",
            "decryption_failed_wrong_key",
            "decryption_failed_wrong_key",
            "decryption_failed_wrong_key",
            "no_key_in_key_log"
        ]
    );
    assert!(probes(&v, "tls").iter().all(|p| p["cert"].is_null()));
    let stats = v.iter().find(|o| o["type"] == "stats").unwrap();
    assert_eq!(stats["keylog"]["tls"]["auth_failures"], 5);
    assert_eq!(stats["keylog"]["tls"]["certificates"], 0);
}

#[test]
fn a_missing_key_log_is_one_sentence_and_exit_2() {
    let c = sample("keylog-tls13.pcap");
    let r = run(&[
        "-r",
        c.to_str().unwrap(),
        "--keylog",
        "/nonexistent/keys.log",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("cannot read the key log /nonexistent/keys.log"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
}

/// The Decryption Secrets Blocks of a pcapng file: (secrets type, secrets data). A
/// minimal block walk (little-endian files, as editcap writes them).
fn decryption_secrets(pcapng: &[u8]) -> Vec<(u32, Vec<u8>)> {
    let u32le = |at: usize| u32::from_le_bytes(pcapng[at..at + 4].try_into().unwrap());
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 12 <= pcapng.len() {
        let (ty, len) = (u32le(pos), u32le(pos + 4) as usize);
        if ty == 0x0000_000a {
            let (st, sl) = (u32le(pos + 8), u32le(pos + 12) as usize);
            out.push((st, pcapng[pos + 16..pos + 16 + sl].to_vec()));
        }
        pos += len;
    }
    out
}

/// Runs the pipeline on a capture, packet by packet, with these keys (and, when `dsb`,
/// the capture's own Decryption Secrets Blocks as the capture stage hands them over);
/// `at(n)` runs after the n-th packet.
fn probes_with(
    capture: &str,
    keys: Option<KeySource>,
    dsb: bool,
    mut at: impl FnMut(usize),
) -> Vec<Probe> {
    let mut pl = Pipeline::new(Bounds::default());
    if let Some(k) = keys {
        pl.set_keylog(k);
    }
    let input = Input::File(sample(capture));
    let mut src = FileSource::open(&input, 1).unwrap();
    let mut n = 0;
    loop {
        let r = src.advance().unwrap();
        for (ty, data) in src.take_secrets() {
            if dsb {
                pl.add_secrets(ty, &data);
            }
        }
        if r.is_some() {
            break;
        }
        if let Some(p) = src.packet() {
            pl.packet_view(p);
            n += 1;
            at(n);
        }
    }
    pl.finish();
    let mut out = Vec::new();
    pl.take_probes(&mut out);
    out
}

fn probes_of(capture: &str, keys: Option<KeySource>) -> Vec<Probe> {
    probes_with(capture, keys, false, |_| {})
}

#[test]
fn the_secrets_of_a_decryption_secrets_block_open_the_handshakes() {
    let bytes = std::fs::read(sample("keylog-tls13-dsb.pcapng")).unwrap();
    let dsbs = decryption_secrets(&bytes);
    assert_eq!(dsbs.len(), 1, "editcap --inject-secrets wrote one block");
    let mut log = KeyLog::new(KeyLogLimits::default());
    for (ty, data) in &dsbs {
        assert_eq!(*ty, DSB_TLS_KEY_LOG);
        assert!(log.read_dsb(*ty, data));
    }
    assert_eq!(log.len(), 5);
    let found = probes_of("keylog-tls13-dsb.pcapng", Some(KeySource::from_log(log)));
    let got: Vec<(Option<Verdict>, Option<CertSource>)> = found
        .iter()
        .map(|p| (p.verdict, p.tls().and_then(|t| t.cert_source)))
        .collect();
    let kl = (Some(Verdict::Match), Some(CertSource::KeyLog));
    assert_eq!(
        got,
        [
            kl,
            kl,
            (Some(Verdict::Mismatch), Some(CertSource::KeyLog)),
            kl,
            (Some(Verdict::Unverified), None),
            (Some(Verdict::Unverified), None)
        ]
    );
    assert_eq!(
        found.last().and_then(|p| p.reason.clone()),
        Some(Reason::NoKeyInLog { quic: false })
    );
    // The capture stage hands the block over by itself, before the packets after it.
    let auto = probes_with("keylog-tls13-dsb.pcapng", None, true, |_| {});
    let got2: Vec<(Option<Verdict>, Option<CertSource>)> = auto
        .iter()
        .map(|p| (p.verdict, p.tls().and_then(|t| t.cert_source)))
        .collect();
    assert_eq!(got2, got);
    // And so does the binary, without --keylog.
    let v = json_of(&sample("keylog-tls13-dsb.pcapng"));
    let codes: Vec<&str> = probes(&v, "tls")
        .iter()
        .map(|p| s(p, "reason_code"))
        .collect();
    assert_eq!(
        codes,
        [
            "san_match",
            "san_match",
            "not_in_sans",
            "san_match",
            "resumed_psk_no_certificate",
            "no_key_in_key_log"
        ]
    );
}

/// A live capture's key log is written by the client while probewatch runs: the
/// encrypted flight waits (bounded) for its line, and is opened when it arrives.
#[test]
fn a_key_log_written_while_probewatch_runs_is_followed() {
    // (capture, key log, partial line written after packet N, the rest after packet M,
    // the verdicts of the probes whose certificate the key log opened). The key log is
    // written after the server's encrypted flight (TLS: packet 9; QUIC: packets 2-3).
    for (capture, keys, (at_a, at_b), want) in [
        (
            "keylog-hrr.pcap",
            "keylog-hrr.keys",
            (12, 14),
            vec![Verdict::Match],
        ),
        (
            "keylog-quic.pcap",
            "keylog-quic.keys",
            (3, 4),
            vec![Verdict::Match, Verdict::Mismatch],
        ),
    ] {
        let dir =
            std::env::temp_dir().join(format!("pw-live-keylog-{}-{at_a}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sslkeylog.txt");
        std::fs::write(&path, "").unwrap();
        let ks = KeySource::open(
            std::slice::from_ref(&path),
            KeyLogLimits::default(),
            true,
            None,
        )
        .unwrap();
        let text = std::fs::read(sample(keys)).unwrap();
        // The handshake is well under way: the client writes its key log now, a partial
        // last line first, its end a packet later.
        let (part, rest) = text.split_at(text.len() - 10);
        let out = probes_with(capture, Some(ks), false, |n| {
            if n == at_a {
                std::fs::write(&path, part).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
            if n == at_b {
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .unwrap();
                std::io::Write::write_all(&mut f, rest).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
        });
        std::fs::remove_dir_all(&dir).unwrap();
        let keyed: Vec<_> = out
            .iter()
            .filter(|p| p.tls().and_then(|t| t.cert_source) == Some(CertSource::KeyLog))
            .collect();
        assert!(
            !keyed.is_empty(),
            "{capture}: {:?}",
            out.iter().map(|p| &p.reason).collect::<Vec<_>>()
        );
        let got: Vec<Verdict> = keyed.iter().filter_map(|p| p.verdict).collect();
        assert_eq!(got, want, "{capture}");
    }
}

#[test]
fn mutual_tls_both_certificates_decrypted() {
    let v = with_keylog("keylog-mtls.pcap", "keylog-mtls.keys");
    assert_eq!(
        rows(&v, "tls"),
        vec![row(
            "www.example.test",
            "TLS_AES_256_GCM_SHA384",
            "match",
            "san_match",
            KL,
            "www.example.test"
        )]
    );
    let t = &probes(&v, "tls")[0]["tls"];
    assert_eq!(t["client_cert_requested"], true);
    assert_eq!(t["client_cert"]["subject_cn"], "joe");
    // s_client sends its certificate with the CA's, as the server does.
    assert_eq!(
        (t["chain_len"].as_u64(), t["client_chain_len"].as_u64()),
        (Some(2), Some(2))
    );
    let stats = v.iter().find(|o| o["type"] == "stats").unwrap();
    assert_eq!(stats["keylog"]["tls"]["certificates"], 2);
    // Without the key log neither certificate is seen.
    let plain = json_of(&sample("keylog-mtls.pcap"));
    let t = &probes(&plain, "tls")[0];
    assert!(t["cert"].is_null() && t["tls"]["client_cert"].is_null());
}

#[test]
fn zero_rtt_resumption_early_data_skipped_psk_said() {
    let v = with_keylog("keylog-0rtt.pcap", "keylog-0rtt.keys");
    assert_eq!(
        rows(&v, "tls"),
        vec![
            row(
                "www.example.test",
                "TLS_AES_256_GCM_SHA384",
                "match",
                "san_match",
                KL,
                "www.example.test"
            ),
            // The resumption sent its request as 0-RTT early data (other keys): skipped,
            // not a failure; the server's flight has no certificate.
            row(
                "www.example.test",
                "TLS_AES_256_GCM_SHA384",
                "unverified",
                "resumed_psk_no_certificate",
                "",
                ""
            ),
        ]
    );
    let stats = v.iter().find(|o| o["type"] == "stats").unwrap();
    assert_eq!(stats["keylog"]["tls"]["auth_failures"], 0);
    assert_eq!(stats["keylog"]["tls"]["certificates"], 1);
}

#[test]
fn a_key_log_from_a_pipe_is_read_not_taken_as_empty() {
    // `--keylog <(ssh host cat keys)`, `--keylog /dev/stdin`: a pipe's size is 0, and the
    // key log was read as empty, silently (every TLS 1.3 certificate left unverified).
    let keys = std::fs::read(sample("keylog-tls13.keys")).unwrap();
    let capture = sample("keylog-tls13.pcap");
    let from_file = with_keylog("keylog-tls13.pcap", "keylog-tls13.keys");
    let r = run_with_stdin(
        &[
            "-r",
            capture.to_str().unwrap(),
            "--keylog",
            "/dev/stdin",
            "--format",
            "json",
        ],
        Some(&keys),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let from_pipe = lines(&r.stdout);
    assert_eq!(rows(&from_pipe, "tls"), rows(&from_file, "tls"));
    let stats = of_type(&from_pipe, "stats")[0]["keylog"].clone();
    assert_eq!(stats["lines"], 25, "{stats}");
    assert_eq!(stats["tls"]["certificates"], 4, "{stats}");
}

/// A key log pipe past `MAX_KEYLOG_STREAM_BYTES` was read only that far, silently
/// (review finding): the cut is counted (`keylog.stream_cut`) and said in the text stats.
/// /dev/zero is a key log that never ends.
#[test]
fn a_key_log_pipe_past_its_bound_is_counted_as_cut() {
    let capture = sample("tls13.pcap");
    let r = run(&[
        "-r",
        capture.to_str().unwrap(),
        "--keylog",
        "/dev/zero",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = lines(&r.stdout);
    let stats = of_type(&v, "stats")[0]["keylog"].clone();
    assert_eq!(stats["stream_cut"], 1, "{stats}");
    let r = run(&["-r", capture.to_str().unwrap(), "--keylog", "/dev/zero"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("1 key log pipe went on past 256 MiB and was read only that far"),
        "{}",
        r.stdout
    );
}

/// A key log pipe whose writer never ends it held probewatch in `read` (restarted after
/// Ctrl-C): only SIGKILL stopped it (review finding). Ctrl-C ends the wait: one
/// sentence, exit 130.
#[test]
fn ctrl_c_while_a_key_log_pipe_has_not_ended_exits_130() {
    use std::process::{Command, Stdio};
    let capture = sample("tls13.pcap");
    let mut writer = Command::new("sleep")
        .arg("60")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let keys = writer.stdout.take().unwrap();
    // probewatch reads its standard input as the key log: the pipe from `sleep`, which
    // writes nothing and keeps it open.
    let mut child = Command::new(bin())
        .args([
            "-r",
            capture.to_str().unwrap(),
            "--keylog",
            "/dev/stdin",
            "-q",
        ])
        .stdin(Stdio::from(keys))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let waiting = || {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|d| {
                d.filter_map(|t| t.ok()).any(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|c| c.trim() == "keylog-pipe")
                })
            })
            .unwrap_or(false)
    };
    let ready = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !waiting() && std::time::Instant::now() < ready {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(waiting(), "probewatch never read the key log pipe");
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let stopped = child.try_wait().unwrap().is_some();
    let _ = writer.kill();
    let _ = writer.wait();
    if !stopped {
        let _ = child.kill();
        panic!("probewatch did not stop on Ctrl-C while the key log pipe was open");
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(
            "interrupted while reading the key log /dev/stdin, a pipe that had not ended"
        ),
        "{stderr}"
    );
}
