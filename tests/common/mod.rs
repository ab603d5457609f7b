//! Helpers shared by the integration tests: run the real binary, read its JSON Lines.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_probewatch")
}

/// A sample capture: in `$PROBEWATCH_SAMPLES` when that is set (captures regenerated
/// elsewhere, e.g. `SAMPLES_OUT=/tmp/regen samples/make-samples.sh`), else in samples/.
pub fn sample(name: &str) -> PathBuf {
    match std::env::var_os("PROBEWATCH_SAMPLES") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join(name),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(name),
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(args: &[&str]) -> Run {
    run_with_stdin(args, None)
}

pub fn run_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("probewatch starts");
    if let Some(data) = stdin {
        // A run refused before it reads its input closes the pipe first: not a failure.
        match child.stdin.take().unwrap().write_all(data) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            r => r.unwrap(),
        }
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "probewatch panicked: {stderr}"
    );
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    }
}

/// Every JSON line of a run, checked to be valid JSON.
pub fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// JSON lines of `probewatch -r FILE --format json`, asserting exit code 0.
pub fn json_of(file: &Path) -> Vec<Value> {
    let r = run(&["-r", file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(
        r.code,
        0,
        "exit code for {}: stderr {}",
        file.display(),
        r.stderr
    );
    lines(&r.stdout)
}

pub fn of_type<'a>(v: &'a [Value], t: &str) -> Vec<&'a Value> {
    v.iter().filter(|o| o["type"] == t).collect()
}

pub fn probes<'a>(v: &'a [Value], proto: &str) -> Vec<&'a Value> {
    v.iter()
        .filter(|o| o["type"] == "probe" && o["proto"] == proto)
        .collect()
}

pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}
