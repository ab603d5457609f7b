//! `--format mermaid` on every sample: each diagram begins with its own `sequenceDiagram`
//! line; every probe of the capture is one request arrow, in time order within its
//! diagram; every TLS verdict is a note; `--mermaid-fences` wraps each diagram. (The
//! diagrams are parsed by the mermaid package itself in tests/browser.rs.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn samples() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("samples"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    v.sort();
    v
}

fn run(sample: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_probewatch"))
        .current_dir(root())
        .args(["-r", &format!("samples/{sample}")])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{sample} {args:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_probe_is_one_arrow_in_time_order_with_its_verdict() {
    for sample in samples() {
        let probes: Vec<Value> = run(&sample, &["--format", "json"])
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["type"] == "probe")
            .collect();
        let text = run(&sample, &["--format", "mermaid"]);
        let diagrams: Vec<&str> = text.split("\n\n").collect();
        let mut seen = Vec::new();
        for d in &diagrams {
            assert!(d.starts_with("sequenceDiagram\n"), "{sample}: {d}");
            let mut last = String::new();
            for line in d.lines() {
                let Some((arrow, msg)) = line.trim().split_once(": #") else {
                    continue;
                };
                if !arrow.contains("->>") || arrow.contains("-->>") {
                    continue;
                }
                let id: u64 = msg.split(' ').next().unwrap().parse().unwrap();
                let p = probes.iter().find(|p| p["id"] == id).unwrap();
                let ts = p["ts"].as_str().unwrap().to_string();
                assert!(ts >= last, "{sample}: #{id} out of time order");
                last = ts;
                seen.push(id);
                // Attempt groups keep names as they are compared (lower case, without one
                // trailing dot): `WWW.EXAMPLE.COM` and `www.example.com.` asked are drawn
                // as www.example.com.
                if let Some(name) = p["name"].as_str() {
                    let compared = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
                    assert!(
                        msg.contains(&compared),
                        "{sample}: #{id} arrow without {name}"
                    );
                }
                if let Some(v) = p["verdict"].as_str() {
                    assert!(
                        d.contains(&format!(" {v}: ")),
                        "{sample}: #{id} verdict {v}"
                    );
                }
            }
        }
        seen.sort();
        let mut want: Vec<u64> = probes.iter().map(|p| p["id"].as_u64().unwrap()).collect();
        want.sort();
        assert_eq!(seen, want, "{sample}: every probe once");
    }
}

#[test]
fn mermaid_fences_wrap_each_diagram() {
    let plain = run("mail-fanout.pcap", &["--format", "mermaid"]);
    let fenced = run(
        "mail-fanout.pcap",
        &["--format", "mermaid", "--mermaid-fences"],
    );
    let n = plain.matches("sequenceDiagram\n").count();
    assert!(n > 1);
    assert_eq!(fenced.matches("```mermaid\nsequenceDiagram\n").count(), n);
    assert_eq!(fenced.matches("\n```\n").count(), n);
    assert!(!plain.contains("```"));
}
