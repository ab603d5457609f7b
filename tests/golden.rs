//! Golden outputs: for every bundled sample, the table at `--width 200`, `--width 100` and
//! `--width 80`, `-q` and `-v`, the JSON Lines and `--timeline`, compared byte for byte with
//! `tests/golden/`; and at each width, no line wider than the width and no name, address
//! or fingerprint broken anywhere but at a `.`/`/`/`_` boundary.
//!
//! A difference fails the test and prints a line diff. To accept a change on purpose:
//! `PROBEWATCH_BLESS=1 cargo test --test golden`, then review `git diff tests/golden/`:
//! every changed line is a change in what users see.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The views of a sample that are kept: file suffix and probewatch arguments.
const VIEWS: &[(&str, &[&str])] = &[
    ("table-200.txt", &["--width", "200"]),
    ("table-100.txt", &["--width", "100"]),
    ("table-80.txt", &["--width", "80"]),
    ("json.jsonl", &["--format", "json"]),
    ("timeline.txt", &["--timeline", "--width", "100"]),
    ("ecs.jsonl", &["--format", "ecs"]),
    ("mermaid.txt", &["--format", "mermaid"]),
    ("report.html", &["--format", "html"]),
    ("table-q.txt", &["-q"]),
    ("table-v-100.txt", &["-v", "--width", "100"]),
];

/// The views kept, in addition, for a sample with its key log beside it (`X.pcap` and
/// `X.keys`, from samples/make-keylog-samples.sh): the same arguments plus `--keylog`.
const KEYLOG_VIEWS: &[(&str, &[&str])] = &[
    ("keylog.table-100.txt", &["--width", "100"]),
    ("keylog.json.jsonl", &["--format", "json"]),
];

/// The key log beside a sample, if it has one.
fn keylog_of(sample: &str) -> Option<String> {
    let stem = sample.rsplit_once('.').map_or(sample, |(s, _)| s);
    let k = format!("{stem}.keys");
    root()
        .join("samples")
        .join(&k)
        .exists()
        .then(|| format!("samples/{k}"))
}

/// The views of one sample: suffix and arguments.
fn views(sample: &str) -> Vec<(String, Vec<String>)> {
    let own = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut v: Vec<(String, Vec<String>)> =
        VIEWS.iter().map(|(s, a)| (s.to_string(), own(a))).collect();
    if let Some(k) = keylog_of(sample) {
        for (s, a) in KEYLOG_VIEWS {
            let mut a = own(a);
            a.extend(["--keylog".to_string(), k.clone()]);
            v.push((s.to_string(), a));
        }
    }
    v
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every capture in samples/, in name order.
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

/// The output of one view. The goldens are made on one thread (`--threads 1`, so that
/// they do not depend on the machine's cores); [`every_view_is_the_same_on_one_and_three_threads`]
/// holds the threaded runs to the same bytes.
fn render<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(sample: &str, args: &[S]) -> String {
    render_on(sample, args, Some(1))
}

fn render_on<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(
    sample: &str,
    args: &[S],
    threads: Option<u32>,
) -> String {
    // Relative path from the repository root: the stats name the file as given.
    let out = Command::new(env!("CARGO_BIN_EXE_probewatch"))
        .current_dir(root())
        .arg("-r")
        .arg(format!("samples/{sample}"))
        .args(args)
        .args(
            threads
                .iter()
                .flat_map(|t| ["--threads".to_string(), t.to_string()]),
        )
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("probewatch runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "probewatch -r samples/{sample} {args:?} exited {:?}: {stderr}",
        out.status.code()
    );
    String::from_utf8(out.stdout).expect("output is UTF-8")
}

/// The first lines that differ, for the failure message.
fn diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let mut out = String::new();
    let mut shown = 0;
    for i in 0..w.len().max(g.len()) {
        let (a, b) = (w.get(i), g.get(i));
        if a != b {
            out.push_str(&format!(
                "line {}:\n  - {}\n  + {}\n",
                i + 1,
                a.unwrap_or(&"<none>"),
                b.unwrap_or(&"<none>")
            ));
            shown += 1;
            if shown == 8 {
                out.push_str("  …\n");
                break;
            }
        }
    }
    out
}

fn golden_path(sample: &str, suffix: &str) -> PathBuf {
    root()
        .join("tests/golden")
        .join(format!("{sample}.{suffix}"))
}

#[test]
fn every_sample_matches_its_golden_outputs() {
    let bless = std::env::var_os("PROBEWATCH_BLESS").is_some();
    let samples = samples();
    assert!(samples.len() >= 10, "samples/ holds the bundled captures");
    let mut failures = Vec::new();
    for sample in &samples {
        for (suffix, args) in views(sample) {
            let got = render(sample, &args);
            let path = golden_path(sample, &suffix);
            if bless {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &got).unwrap();
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(want) if want == got => {}
                Ok(want) => failures.push(format!(
                    "{} differs from probewatch -r samples/{sample} {}:\n{}",
                    path.display(),
                    args.join(" "),
                    diff(&want, &got)
                )),
                Err(_) => failures.push(format!(
                    "{} is missing (a new sample? run PROBEWATCH_BLESS=1 cargo test --test golden and review it)",
                    path.display()
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden output(s) differ; if the change is intended, run \
         PROBEWATCH_BLESS=1 cargo test --test golden and review git diff tests/golden/\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `--threads 3` (the flow stages on one thread, correlation and the report on another:
/// the stats say 2) writes every view of every sample byte for byte as `--threads 1` does,
/// apart from that count; and so does the default (one thread per core).
#[test]
fn every_view_is_the_same_on_one_and_three_threads() {
    let mut failures = Vec::new();
    let mut threaded = 0;
    for sample in &samples() {
        for (suffix, args) in views(sample) {
            let one = render_on(sample, &args, Some(1));
            let three = render_on(sample, &args, Some(3));
            if three.contains("\"threads\":2") {
                threaded += 1;
            }
            let three = three.replace("\"threads\":2", "\"threads\":1");
            if one != three {
                failures.push(format!(
                    "probewatch -r samples/{sample} {} differs with --threads 3:\n{}",
                    args.join(" "),
                    diff(&one, &three)
                ));
            }
            if suffix == "json.jsonl" {
                let default =
                    render_on(sample, &args, None).replace("\"threads\":2", "\"threads\":1");
                if one != default {
                    failures.push(format!(
                        "probewatch -r samples/{sample} {} differs without --threads:\n{}",
                        args.join(" "),
                        diff(&one, &default)
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        threaded > 10,
        "the JSON stats of --threads 3 runs say two threads ran"
    );
}

/// A golden file whose sample is gone would never be checked again.
#[test]
fn every_golden_file_has_its_sample() {
    let samples = samples();
    for e in std::fs::read_dir(root().join("tests/golden")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let known = VIEWS.iter().chain(KEYLOG_VIEWS).any(|(suffix, _)| {
            name.strip_suffix(suffix)
                .and_then(|s| s.strip_suffix('.'))
                .is_some_and(|s| samples.iter().any(|x| x == s))
        });
        assert!(known, "tests/golden/{name} belongs to no sample and view");
    }
}

/// Where a token may be broken: after a `.` followed by a letter, after `_`, before `/`
/// (not inside `//`).
fn may_break(t: &[char], i: usize) -> bool {
    match (i.checked_sub(1).and_then(|j| t.get(j)), t.get(i)) {
        (Some('.'), Some(n)) => n.is_alphabetic(),
        (Some('_'), Some(_)) => true,
        (Some(p), Some('/')) => *p != '/' && *p != ':',
        _ => false,
    }
}

/// The names, addresses and fingerprints of a sample, from its JSON.
fn tokens(sample: &str) -> Vec<String> {
    let mut t = Vec::new();
    for line in render(sample, &["--format", "json"]).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["type"] != "probe" {
            continue;
        }
        let mut push = |x: &serde_json::Value| {
            if let Some(s) = x.as_str() {
                t.push(s.to_string());
            }
        };
        push(&v["name"]);
        push(&v["client"]);
        push(&v["server"]);
        push(&v["cert"]["subject_cn"]);
        push(&v["tls"]["ja4"]);
        for k in ["san_dns", "san_ip"] {
            for x in v["cert"][k].as_array().into_iter().flatten() {
                push(x);
            }
        }
        for a in v["dns"]["answers"].as_array().into_iter().flatten() {
            push(&a["data"]);
        }
        if let (Some(s), Some(p)) = (v["server"].as_str(), v["port"].as_u64()) {
            t.push(if s.contains(':') {
                format!("[{s}]:{p}")
            } else {
                format!("{s}:{p}")
            });
        }
    }
    t.sort();
    t.dedup();
    t.retain(|x| x.chars().count() > 2);
    t
}

#[test]
fn tables_fit_their_width_and_break_no_token() {
    for sample in samples() {
        let tokens = tokens(&sample);
        for (width, v) in [(80usize, false), (100, false), (200, false), (80, true)] {
            let w = width.to_string();
            let mut args = vec!["--width", w.as_str(), "--ja4"];
            if v {
                args.push("-v");
            }
            let out = render(&sample, &args);
            for line in out.lines() {
                assert!(
                    line.chars().count() <= width,
                    "{sample} at {width}: line wider than the width: {line}"
                );
                for word in line.split_whitespace() {
                    let w = word
                        .trim_matches(|c| ",;()".contains(c))
                        .trim_end_matches(':');
                    if w.chars().count() < 2
                        || !w.contains(|c| ".:/_".contains(c))
                        || tokens.iter().any(|t| t == w)
                    {
                        continue;
                    }
                    // A fragment is broken wrongly when no token it can be a piece of
                    // may break there (`a.` is the head of `a.example.com`, broken
                    // before a letter, though it is also the head of `a.*.com`).
                    let n = w.chars().count();
                    let heads: Vec<&String> = tokens
                        .iter()
                        .filter(|t| t.starts_with(w) && n < t.chars().count())
                        .collect();
                    assert!(
                        heads.is_empty()
                            || heads.iter().any(|t| {
                                let chars: Vec<char> = t.chars().collect();
                                may_break(&chars, n)
                            }),
                        "{sample} at {width}: {} broken after {w:?}: {line}",
                        heads.first().map_or("", |t| t.as_str())
                    );
                    let tails: Vec<&String> = tokens
                        .iter()
                        .filter(|t| t.ends_with(w) && n < t.chars().count())
                        .collect();
                    assert!(
                        tails.is_empty()
                            || tails.iter().any(|t| {
                                let chars: Vec<char> = t.chars().collect();
                                may_break(&chars, chars.len() - n)
                            }),
                        "{sample} at {width}: {} broken before {w:?}: {line}",
                        tails.first().map_or("", |t| t.as_str())
                    );
                }
            }
        }
    }
}

/// docs/groups.md's whole example, which the README points to as the demo's output, had
/// gone stale (other columns, no summary, a stats line wider than its width): it is the
/// golden table of `samples/mail-fanout.pcap` at `--width 100`, itself checked against
/// the binary above.
#[test]
fn the_groups_doc_example_is_the_demo_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/groups.md")).unwrap();
    let at = doc.find("### Example: the mail-client fan-out").unwrap();
    let start = at + doc[at..].find("```\n").unwrap() + 4;
    let end = start + doc[start..].find("```\n").unwrap();
    let golden =
        std::fs::read_to_string(root.join("tests/golden/mail-fanout.pcap.table-100.txt")).unwrap();
    assert!(
        doc[start..end] == golden,
        "docs/groups.md's example differs from tests/golden/mail-fanout.pcap.table-100.txt: paste the golden in"
    );
}
