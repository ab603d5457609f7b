//! Replays every input in `tests/regression/<target>/` (minimised fuzzer crashes and
//! hand-made hostile inputs) through the same entry function as the fuzz target
//! `fuzz/fuzz_targets/<target>.rs`: it must return without a panic, without breaking
//! the target's invariants (`Ok`), and in bounded time.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use probewatch::fuzzing;

type Target = fn(&[u8]) -> Result<usize, String>;

fn decode(d: &[u8]) -> Result<usize, String> {
    fuzzing::decode(d).map(|n| n as usize)
}

fn reassemble(d: &[u8]) -> Result<usize, String> {
    fuzzing::reassemble(d).map(|n| n as usize)
}

const TARGETS: [(&str, Target); 12] = [
    ("decode", decode),
    ("reassemble", reassemble),
    ("tls", fuzzing::tls),
    ("cert", fuzzing::cert),
    ("dns", fuzzing::dns),
    ("http", fuzzing::http),
    ("quic", fuzzing::quic),
    ("pipeline", fuzzing::pipeline),
    ("keylog", fuzzing::keylog),
    ("tls13", fuzzing::tls13),
    ("quic_hs", fuzzing::quic_hs),
    ("capture", fuzzing::capture_file),
];

/// Runs every file of one target's directory; returns how many ran.
fn replay(target: &str, f: Target) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/regression")
        .join(target);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut files: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    let mut failures = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let start = Instant::now();
        let result = std::panic::catch_unwind(|| f(&bytes));
        let took = start.elapsed();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        match result {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => failures.push(format!("{target}/{name}: {e}")),
            Err(_) => failures.push(format!("{target}/{name}: panicked")),
        }
        // Generous for a shared CI machine; a hang or quadratic blow-up takes far longer.
        if took > Duration::from_secs(10) {
            failures.push(format!("{target}/{name}: took {took:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    files.len()
}

#[test]
fn every_regression_input_replays_cleanly() {
    let mut total = 0;
    for (target, f) in TARGETS {
        total += replay(target, f);
    }
    // The hand-made hostile inputs alone are more than this: an empty or misplaced
    // directory must not pass silently.
    assert!(total >= 12, "only {total} regression inputs found");
}

#[test]
fn hostile_inputs_of_each_kind_are_present() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regression");
    for (target, name) in [
        ("dns", "hostile-compression-self-loop"),
        ("tls", "hostile-handshake-16mb"),
        ("tls", "hostile-chain-len-2-24"),
        ("quic", "hostile-crypto-offset-2-62"),
    ] {
        assert!(dir.join(target).join(name).is_file(), "{target}/{name}");
    }
}

/// The replay itself catches panics and broken invariants (not a test that cannot fail).
#[test]
fn replay_reports_a_broken_invariant() {
    fn broken(_: &[u8]) -> Result<usize, String> {
        Err("broken".into())
    }
    fn panics(_: &[u8]) -> Result<usize, String> {
        panic!("boom")
    }
    for f in [broken as Target, panics as Target] {
        let r = std::panic::catch_unwind(|| replay("dns", f));
        assert!(r.is_err());
    }
}

/// Hand-made hostile inputs give the expected bounded answers.
#[test]
fn hostile_inputs_are_refused_not_followed() {
    // A self-pointing DNS name is not readable.
    let loop_ = [
        0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1,
    ];
    assert_eq!(fuzzing::dns(&loop_), Ok(0));
    // A handshake message claiming 16 MB: the reader gives up at once, as the handshake
    // bound (counted as gaps.buffer_limit), and yields nothing.
    assert_eq!(
        fuzzing::tls(&[0x16, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff]),
        Ok(0)
    );
    // A CRYPTO frame at offset 2^62-1 is refused; nothing comes out of the reader.
    let mut frames = vec![0x06];
    frames.extend_from_slice(&(((1u64 << 62) - 1) | (0xc0 << 56)).to_be_bytes());
    frames.extend_from_slice(b"\x04abcd");
    frames.extend_from_slice(&[0; 20]);
    let mut input = Vec::new();
    fuzzing::push_record(&mut input, 2, &frames);
    assert_eq!(fuzzing::quic(&input), Ok(0));
    // Wrapping sequence numbers, overlap, duplicate, a hole the peer acknowledged, a
    // late segment into the hole, FIN: 200 + 50 + 100 (after the hole) + 10 bytes.
    let wrap = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/regression/reassemble/hostile-seq-wrap-overlap-hole"),
    )
    .unwrap();
    assert_eq!(fuzzing::reassemble(&wrap), Ok(360));
}

/// The seeds of the key log fuzz targets reach past authentication: a sealed flight,
/// whole and in three records, gives its four messages; the sample key logs index.
#[test]
fn key_log_fuzz_seeds_reach_the_decrypted_messages() {
    let seed = |t: &str, n: &str| {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fuzz/seeds")
                .join(t)
                .join(n),
        )
        .unwrap()
    };
    assert_eq!(fuzzing::tls13(&seed("tls13", "one-record")), Ok(4));
    assert_eq!(fuzzing::tls13(&seed("tls13", "split")), Ok(4));
    assert_eq!(fuzzing::tls13(&seed("tls13", "alert-raw")), Ok(0));
    assert_eq!(fuzzing::keylog(&seed("keylog", "tls13")), Ok(5));
    assert_eq!(fuzzing::quic_hs(&seed("quic_hs", "frames")), Ok(1));
}
