//! The HTML report and the Mermaid diagrams in a real browser: Debian's `chromium`,
//! headless. The HTML page of a sample must hold every name and verdict of the sample
//! once rendered (the DOM Chromium dumps), and its screenshot is saved under
//! `target/browser/` to look at; every sample's Mermaid diagrams are rendered by the
//! `mermaid` package (tests/browser/node_modules, installed by scripts/deps.sh with
//! `npm ci`) in the same browser and must parse and render without an error.
//!
//! Skipped, with the reason printed, only when chromium is not installed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
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

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"].iter().find_map(|c| {
        std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(c))
                .find(|f| f.is_file())
        })
    })
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

/// A fresh directory for one browser run (its profile and pages).
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("probewatch-browser-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs headless Chromium on `page` with `extra` arguments; its stdout.
fn browse(chromium: &Path, dir: &Path, page: &Path, extra: &[&str]) -> String {
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn html_report_shows_every_name_and_verdict_in_chromium() {
    let Some(chromium) = chromium() else {
        println!("skipped: chromium is not installed (scripts/deps.sh installs it as root)");
        return;
    };
    let dir = scratch("html");
    let shots = root().join("target/browser");
    std::fs::create_dir_all(&shots).unwrap();
    for sample in [
        "autodiscover-redirect.pcap",
        "mail-fanout.pcap",
        "wildcard-apex.pcap",
        "quic-aioquic.pcap",
    ] {
        let page = dir.join(format!("{sample}.html"));
        let html = run(sample, &["--format", "html"]);
        assert!(!html.contains("<script"), "{sample}: the page has a script");
        assert!(
            !html.contains(" src="),
            "{sample}: the page loads something"
        );
        std::fs::write(&page, &html).unwrap();
        let dom = browse(&chromium, &dir, &page, &["--dump-dom"]);
        assert!(dom.contains("<svg"), "{sample}: no diagram rendered");
        for line in run(sample, &["--format", "json"]).lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            if v["type"] != "probe" {
                continue;
            }
            let id = &v["id"];
            if let Some(name) = v["name"].as_str() {
                assert!(
                    dom.contains(&html_escape(name)),
                    "{sample}: #{id} name {name} not in the DOM"
                );
            }
            if let Some(verdict) = v["verdict"].as_str() {
                let cell = format!("<span class=\"v {verdict}\">{verdict}</span>");
                assert!(
                    dom.contains(&cell),
                    "{sample}: #{id} verdict {verdict} not in the DOM"
                );
            }
            if let Some(cn) = v["cert"]["subject_cn"].as_str() {
                assert!(
                    dom.contains(&html_escape(cn)),
                    "{sample}: #{id} certificate {cn} not in the DOM"
                );
            }
        }
        let shot = shots.join(format!("{sample}.png"));
        browse(
            &chromium,
            &dir,
            &page,
            &[
                "--window-size=1400,2000",
                &format!("--screenshot={}", shot.display()),
            ],
        );
        assert!(
            std::fs::metadata(&shot).unwrap().len() > 10_000,
            "{sample}: empty screenshot"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mermaid_output_parses_and_renders_with_the_mermaid_package() {
    let Some(chromium) = chromium() else {
        println!("skipped: chromium is not installed (scripts/deps.sh installs it as root)");
        return;
    };
    let dist = root().join("tests/browser/node_modules/mermaid/dist/mermaid.min.js");
    assert!(
        dist.is_file(),
        "{} is missing: run scripts/deps.sh (it runs npm ci in tests/browser)",
        dist.display()
    );
    let mut diagrams: Vec<(String, String)> = Vec::new();
    for sample in samples() {
        for (i, d) in run(&sample, &["--format", "mermaid"])
            .split("\n\n")
            .enumerate()
        {
            diagrams.push((format!("{sample} #{}", i + 1), d.to_string()));
        }
    }
    let dir = scratch("mermaid");
    let page = dir.join("mermaid.html");
    let data = serde_json::to_string(&diagrams)
        .unwrap()
        .replace("</", "<\\/");
    std::fs::write(
        &page,
        format!(
            r#"<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<pre id="status">pending</pre><div id="out"></div>
<script src="file://{}"></script>
<script>
const diagrams = {data};
mermaid.initialize({{ startOnLoad: false, securityLevel: "strict" }});
(async () => {{
  const errors = [];
  let ok = 0;
  for (let i = 0; i < diagrams.length; i++) {{
    const [name, text] = diagrams[i];
    try {{
      await mermaid.parse(text);
      const r = await mermaid.render("d" + i, text);
      document.getElementById("out").insertAdjacentHTML("beforeend", r.svg);
      ok++;
    }} catch (e) {{
      errors.push(name + ": " + ((e && e.message) || e));
    }}
  }}
  document.getElementById("status").textContent = JSON.stringify({{ ok, errors }});
}})();
</script></body></html>"#,
            dist.display()
        ),
    )
    .unwrap();
    let dom = browse(
        &chromium,
        &dir,
        &page,
        &[
            "--allow-file-access-from-files",
            "--virtual-time-budget=60000",
            "--dump-dom",
        ],
    );
    let status = dom
        .split("<pre id=\"status\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or("");
    let status = status
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    let v: Value = serde_json::from_str(&status)
        .unwrap_or_else(|_| panic!("mermaid did not finish: {status}"));
    assert_eq!(v["errors"], Value::Array(vec![]), "mermaid errors");
    assert_eq!(
        v["ok"].as_u64().unwrap() as usize,
        diagrams.len(),
        "diagrams rendered"
    );
    assert!(dom.matches("<svg").count() >= diagrams.len());
    let _ = std::fs::remove_dir_all(&dir);
}
