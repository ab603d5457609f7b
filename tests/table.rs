//! The table's presentation: width from COLUMNS, colour, ASCII under a non-UTF-8 locale,
//! the time zone, the summary first, AAAA NODATA folded into the A row.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::Command;

fn run(args: &[&str], env: &[(&str, &str)]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut c = Command::new(env!("CARGO_BIN_EXE_probewatch"));
    c.current_dir(root)
        .args(args)
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .env_remove("LANG")
        .env_remove("LC_CTYPE")
        .env("LC_ALL", "C.UTF-8");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("probewatch runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

const MAIL: &str = "samples/mail-fanout.pcap";

fn widest(s: &str) -> usize {
    s.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn columns_is_honoured_when_piped_and_width_flag_wins() {
    let out = run(&["-r", MAIL], &[("COLUMNS", "90")]);
    assert!(widest(&out) <= 90 && widest(&out) > 80, "{}", widest(&out));
    let out = run(&["-r", MAIL, "--width", "120"], &[("COLUMNS", "90")]);
    assert!(widest(&out) > 90);
    // Piped without COLUMNS: 100.
    let out = run(&["-r", MAIL], &[]);
    assert!(widest(&out) <= 100 && widest(&out) > 90);
}

#[test]
fn width_zero_means_no_limit_one_line_per_row() {
    let out = run(&["-r", MAIL, "--width", "0"], &[]);
    let row = out
        .lines()
        .find(|l| l.contains("HTTP POST"))
        .expect("the HTTP row");
    assert!(
        row.contains("www.example.com/autodiscover/autodiscover.xml"),
        "{row}"
    );
    // Every row of the table is one line: rows start with a time of day.
    let rows = out
        .lines()
        .filter(|l| l.len() > 8 && l.as_bytes()[2] == b':')
        .count();
    assert_eq!(
        rows, 10,
        "15 probes, 5 AAAA rows folded into their A rows:\n{out}"
    );
}

#[test]
fn verdicts_in_colour_only_when_asked_or_on_a_terminal() {
    let plain = run(&["-r", MAIL], &[]);
    assert!(!plain.contains('\x1b'), "no escapes when piped");
    let always = run(&["-r", MAIL, "--color", "always"], &[("NO_COLOR", "1")]);
    assert!(always.contains("\x1b[1;31mmismatch\x1b[0m"));
    assert!(always.contains("\x1b[32mmatch\x1b[0m"));
    let never = run(&["-r", MAIL, "--color", "never"], &[]);
    assert!(!never.contains('\x1b'));
    // auto with NO_COLOR set: none (stdout is not a terminal here either way).
    let auto = run(&["-r", MAIL, "--color", "auto"], &[("NO_COLOR", "1")]);
    assert!(!auto.contains('\x1b'));
}

#[test]
fn ascii_rules_when_the_locale_is_not_utf8() {
    for env in [
        vec![("LC_ALL", "C")],
        vec![("LC_ALL", ""), ("LANG", "en_US.ISO-8859-1")],
    ] {
        let out = run(&["-r", MAIL, "--width", "100"], &env);
        assert!(out.is_ascii(), "non-ASCII under {env:?}");
        assert!(out.contains("\n-----"));
        assert!(out.contains("ex7.mailhost.example -> autodiscover.example.com"));
    }
    let utf8 = run(&["-r", MAIL], &[("LC_ALL", ""), ("LANG", "de_DE.utf8")]);
    assert!(utf8.contains('─'));
}

#[test]
fn the_date_and_zone_head_the_rows_and_local_time_converts() {
    let out = run(&["-r", MAIL], &[]);
    let lines: Vec<&str> = out.lines().collect();
    let rule = lines.iter().position(|l| l.starts_with('─')).unwrap();
    assert_eq!(lines[rule + 1], "2026-11-28 (UTC)");
    assert!(lines[rule + 2].starts_with("02:35:49 "));
    let tokyo = run(&["-r", MAIL, "--local-time"], &[("TZ", "Asia/Tokyo")]);
    assert!(
        tokyo.contains("\n2026-11-28 (UTC+09:00, Asia/Tokyo)\n"),
        "{tokyo}"
    );
    assert!(tokyo.contains("\n11:35:49 "));
    // Without the flag TZ changes nothing.
    assert_eq!(run(&["-r", MAIL], &[("TZ", "Asia/Tokyo")]), out);
}

#[test]
fn summary_comes_first_one_line_per_problem() {
    let out = run(&["-r", MAIL, "--width", "200"], &[]);
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        "Summary: 2 problems across 1 client (one line each: name → server: why):"
    );
    let first = lines.next().unwrap();
    assert!(first.starts_with("  mismatch   autodiscover.example.com → 192.0.2.20:443: SNI autodiscover.example.com not covered by CN EXCH01"), "{first}");
    assert!(first.ends_with("(1 client, 2 probes)"), "{first}");
    let second = lines.next().unwrap();
    assert!(second.starts_with("  mismatch   example.com → 192.0.2.30:443: SNI example.com not covered by *.example.com"), "{second}");
}

#[test]
fn aaaa_nodata_is_folded_into_the_a_row() {
    let out = run(&["-r", MAIL, "--width", "200"], &[]);
    let table: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("Client "))
        .take_while(|l| !l.starts_with("  Names tried"))
        .collect();
    assert!(!table.iter().any(|l| l.contains("DNS AAAA")), "{table:#?}");
    assert!(table
        .iter()
        .any(|l| l.contains("DNS A ") && l.ends_with("A 192.0.2.10 (no AAAA)")));
    // The attempt groups still list the AAAA probe.
    assert!(out.contains("#2   DNS AAAA  ex7.mailhost.example: no records (NODATA)"));
}

/// A capture with more probes than --max-report-probes: the table says so first, lists
/// every probe as a row (none lost), then the per-client summaries from bounded tables.
#[test]
fn report_over_its_probe_bound_says_so_and_lists_every_probe() {
    let full = run(&["-r", MAIL, "--format", "json"], &[]);
    let probes = full
        .lines()
        .filter(|l| l.contains("\"type\":\"probe\""))
        .count();
    assert!(probes > 3, "mail-fanout has {probes} probes");
    let laid_out = run(&["-r", MAIL, "--width", "0"], &[]);
    assert!(!laid_out.contains("--max-report-probes"));
    let bounded = run(
        &["-r", MAIL, "--width", "0", "--max-report-probes", "3"],
        &[],
    );
    let first = bounded.lines().next().unwrap();
    assert!(
        first.starts_with("This capture holds more than 3 probes (--max-report-probes)"),
        "{first}"
    );
    // One row per probe: a row starts with its time, hh:mm:ss.
    let rows = bounded
        .lines()
        .filter(|l| {
            let b = l.as_bytes();
            b.len() > 9 && b[2] == b':' && b[5] == b':' && b[8] == b' '
        })
        .count();
    assert_eq!(rows, probes, "{bounded}");
    // In time order across the switch: the rows name client and server in the order the
    // JSON report (streamed from the start) lists its probes. The probes held until the
    // bound was passed were once written out of order, among those completing after.
    let json_order: Vec<String> = full
        .lines()
        .filter(|l| l.contains("\"type\":\"probe\""))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {}:{}",
                v["client"].as_str().unwrap(),
                v["server"].as_str().unwrap(),
                v["port"]
            )
        })
        .collect();
    let row_order: Vec<String> = bounded
        .lines()
        .filter(|l| {
            let b = l.as_bytes();
            b.len() > 9 && b[2] == b':' && b[5] == b':' && b[8] == b' '
        })
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let server = f
                .iter()
                .find(|w| {
                    w.contains(':')
                        && w.starts_with(|c: char| c.is_ascii_digit())
                        && w.contains('.')
                        && *w != &f[0]
                })
                .unwrap();
            format!("{} {}", f[1], server)
        })
        .collect();
    assert_eq!(row_order, json_order, "{bounded}");
    assert!(bounded.contains("Client 198.51.100.10: "), "{bounded}");
    // JSON streams from the start: the bound would do nothing, and is refused.
    let json = std::process::Command::new(env!("CARGO_BIN_EXE_probewatch"))
        .args(["-r", MAIL, "--format", "json", "--max-report-probes", "3"])
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&json.stderr)
        .contains("--max-report-probes bounds the report laid out at the end; --format json"));
}

/// At 50 and 60 columns the last resort shortened every column, times and verdicts too
/// ("14:…:32", "mis…tch"), which usage.md says are never cut (black-box finding): they
/// stay whole, and the table is wider than asked.
#[test]
fn narrow_tables_keep_times_and_verdicts_whole() {
    for width in ["50", "60"] {
        let out = run(&["-r", MAIL, "--width", width], &[]);
        let rows: Vec<&str> = out
            .lines()
            .filter(|l| l.len() > 2 && l.as_bytes()[2] == b':' && l.as_bytes()[0].is_ascii_digit())
            .collect();
        assert!(!rows.is_empty(), "{out}");
        for row in rows {
            let time = row.split(' ').next().unwrap();
            assert_eq!(time.len(), 8, "{width}: {row}");
            assert!(!time.contains('…'), "{width}: {row}");
            for cut in ["mis…", "mat…", "unv…", "…tch", "…ied"] {
                assert!(!row.contains(cut), "{width}: {row}");
            }
        }
    }
}
