//! `--format html`: one self-contained page (no network, no scripts, no fonts but the
//! system's): the summary of problems across clients, what to fix, one SVG sequence
//! diagram per attempt group drawn here from [`super::sequence`], and each client's
//! probes as a table. Large type and high contrast for a projector; a print stylesheet
//! for paper. Everything from the capture is HTML-escaped ([`esc`]).
//!
//! A live capture keeps at most [`super::MAX_KEPT_PROBES`] probes for it; the page says
//! how many more there were.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use super::sequence::{self, Diagram, Item};
use super::table::{cert_cell, endpoint, name_cell, what};
use super::text::{self, html as words};
use crate::correlate::{Probe, Report, Verdict};
use crate::stats::Stats;

/// Text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "
:root { color-scheme: light; }
body { font-family: system-ui, sans-serif; font-size: 20px; line-height: 1.4; color: #111;
  background: #fff; margin: 1.5em auto; max-width: 80em; padding: 0 1em; }
h1 { font-size: 1.8em; margin: 0 0 .3em; }
h2 { font-size: 1.4em; border-bottom: 3px solid #333; margin-top: 1.6em; }
h3 { font-size: 1.15em; margin-top: 1.2em; }
table { border-collapse: collapse; width: 100%; font-size: .8em; }
th, td { border: 1px solid #999; padding: .25em .45em; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; }
th { background: #e8e8e8; }
.v { font-weight: bold; white-space: nowrap; }
.mismatch { color: #a00018; } .match { color: #145214; }
.unverified, .no_name { color: #7a5c00; }
tr.mismatch td { background: #fde7ea; }
.small { font-size: .85em; color: #333; }
ul.problems li { margin: .3em 0; }
.diagram { overflow-x: auto; margin: .5em 0 1em; }
.diagram svg { max-width: 100%; height: auto; }
footer { margin-top: 2em; font-size: .75em; color: #333; }
@media print {
  body { font-size: 10.5pt; margin: 0; max-width: none; }
  h2 { break-after: avoid; }
  section.group, tr, figure { break-inside: avoid; }
  .diagram { overflow: visible; }
  tr.mismatch td { background: none; }
  a { color: inherit; text-decoration: none; }
}
";

/// The class of a verdict (also its code).
fn vclass(v: Option<Verdict>) -> &'static str {
    v.map_or("", text::verdict)
}

/// One problem line of the summary: a verdict other than match, by name, server and reason.
struct Problem {
    verdict: Verdict,
    line: String,
    clients: Vec<IpAddr>,
    probes: usize,
}

fn problems(report: &Report) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    let mut index: HashMap<(&'static str, String), usize> = HashMap::new();
    for p in &report.probes {
        let Some(v) = p.verdict.filter(|v| *v != Verdict::Match) else {
            continue;
        };
        let line = format!(
            "{} → {}: {}",
            p.name.as_deref().unwrap_or(text::NO_NAME),
            endpoint(&p.server, p.port),
            text::reason(p).unwrap_or_default()
        );
        let i = *index
            .entry((text::verdict(v), line.clone()))
            .or_insert_with(|| {
                out.push(Problem {
                    verdict: v,
                    line,
                    clients: Vec::new(),
                    probes: 0,
                });
                out.len() - 1
            });
        if let Some(pr) = out.get_mut(i) {
            pr.probes += 1;
            if !pr.clients.contains(&p.client) {
                pr.clients.push(p.client);
            }
        }
    }
    out.sort_by_key(|p| p.verdict != Verdict::Mismatch);
    out
}

// ---------------------------------------------------------------------------------------
// SVG

const COL: f64 = 260.0;
const LINE: f64 = 17.0;
const CHAR: f64 = 7.8;

fn lines(s: &str, chars: usize) -> Vec<String> {
    super::layout::wrap_indented(s, Some(chars.max(12)), 0)
        .lines()
        .map(str::to_string)
        .collect()
}

fn text_block(svg: &mut String, x: f64, y: f64, ls: &[String], class: &str) {
    let _ = write!(svg, r##"<text x="{x:.1}" y="{y:.1}" class="{class}">"##);
    for (i, l) in ls.iter().enumerate() {
        let dy = if i == 0 { 0.0 } else { LINE };
        let _ = write!(svg, r##"<tspan x="{x:.1}" dy="{dy}">{}</tspan>"##, esc(l));
    }
    svg.push_str("</text>");
}

/// A diagram drawn as SVG; `n` makes its marker ids unique on the page.
pub fn svg(d: &Diagram, n: usize) -> String {
    let cols = d.actors.len().max(1) as f64;
    let width = 40.0 + cols * COL;
    let x = |i: usize| 20.0 + COL / 2.0 + i as f64 * COL;
    let mut body = String::new();
    let mut y = 90.0;
    for item in &d.items {
        match item {
            Item::Arrow {
                from,
                to,
                text,
                reply,
                failed,
            } => {
                let (x0, x1) = (x(*from), x(*to));
                let chars = (((x1 - x0).abs() - 16.0) / CHAR) as usize;
                let ls = lines(text, chars);
                text_block(&mut body, (x0 + x1) / 2.0, y, &ls, "lbl");
                let ay = y + (ls.len() as f64 - 1.0) * LINE + 8.0;
                let class = match (reply, failed) {
                    (false, _) => "req",
                    (true, false) => "rep",
                    (true, true) => "rep fail",
                };
                let _ = write!(
                    body,
                    r##"<line x1="{x0:.1}" y1="{ay:.1}" x2="{x1:.1}" y2="{ay:.1}" class="{class}" marker-end="url(#{}{n})"/>"##,
                    if *failed && *reply { "x" } else { "a" }
                );
                y = ay + 26.0;
            }
            Item::Note {
                from,
                to,
                text,
                verdict,
            } => {
                let (a, b) = (x(*from.min(to)), x(*from.max(to)));
                let (left, right) = (a - COL * 0.46, b + COL * 0.46);
                let chars = ((right - left - 12.0) / CHAR) as usize;
                let ls = lines(text, chars);
                let h = ls.len() as f64 * LINE + 8.0;
                let _ = write!(
                    body,
                    r##"<rect x="{left:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" class="note {}"/>"##,
                    y - 12.0,
                    right - left,
                    vclass(*verdict)
                );
                text_block(&mut body, (left + right) / 2.0, y + 1.0, &ls, "note-t");
                y += h + 10.0;
            }
        }
    }
    let height = y + 10.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" role="img" aria-label="{}">"##,
        esc(&d.title)
    );
    let _ = write!(
        svg,
        r##"<defs><marker id="a{n}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#222"/></marker><marker id="x{n}" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="10" markerHeight="10"><path d="M1,1 L9,9 M9,1 L1,9" stroke="#a00018" stroke-width="2"/></marker></defs>"##
    );
    svg.push_str(
        "<style>text{font:14px system-ui,sans-serif;text-anchor:middle;fill:#111}\
         .actor{fill:#eef3fb;stroke:#234;stroke-width:1.5}.life{stroke:#888;stroke-dasharray:4 4}\
         .req{stroke:#222;stroke-width:1.6}.rep{stroke:#222;stroke-width:1.4;stroke-dasharray:6 4}\
         .fail{stroke:#a00018}.note{fill:#f4f4f4;stroke:#999}.note.mismatch{fill:#fde7ea;stroke:#a00018}\
         .note.match{fill:#e6f4e6;stroke:#145214}.note.unverified,.note.no_name{fill:#fff6d6;stroke:#7a5c00}\
         .actor-t{font-weight:600}</style>",
    );
    for (i, a) in d.actors.iter().enumerate() {
        let cx = x(i);
        let _ = write!(
            svg,
            r##"<rect x="{:.1}" y="10" width="{:.1}" height="46" rx="4" class="actor"/><line x1="{cx:.1}" y1="56" x2="{cx:.1}" y2="{:.1}" class="life"/>"##,
            cx - COL * 0.46,
            COL * 0.92,
            height - 6.0
        );
        let ls = lines(&a.label, ((COL * 0.92 - 10.0) / CHAR) as usize);
        let ty = if ls.len() > 1 { 29.0 } else { 38.0 };
        text_block(&mut svg, cx, ty, &ls, "actor-t");
    }
    svg.push_str(&body);
    svg.push_str("</svg>");
    svg
}

// ---------------------------------------------------------------------------------------
// The page

fn page(report: &Report, stats: &Stats, dropped: u64) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(words::TITLE)
    );
    let _ = writeln!(h, "<h1>{}</h1>", esc(words::TITLE));
    let problems = problems(report);
    let _ = writeln!(
        h,
        "<p class=\"lead\">{}</p>",
        esc(&text::summary_head(
            problems.len(),
            report.clients.len(),
            report.probes.len()
        ))
    );
    if dropped > 0 {
        let _ = writeln!(
            h,
            "<p><strong>{}</strong></p>",
            esc(&text::not_kept(dropped))
        );
    }
    if report.probes.is_empty() && report.groups.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", esc(text::NO_PROBES));
    }
    // Summary.
    if !problems.is_empty() {
        let _ = writeln!(
            h,
            "<h2 id=\"summary\">{}</h2>\n<ul class=\"problems\">",
            esc(words::SUMMARY)
        );
        for pr in &problems {
            let v = text::verdict(pr.verdict);
            let _ = writeln!(
                h,
                "<li><span class=\"v {v}\">{}</span> {} <span class=\"small\">{}</span></li>",
                esc(v),
                esc(&pr.line),
                esc(&text::summary_count(pr.clients.len(), pr.probes))
            );
        }
        h.push_str("</ul>\n");
    }
    // What to fix.
    let advised: Vec<_> = report
        .groups
        .iter()
        .filter(|g| g.advice.is_some())
        .collect();
    if !advised.is_empty() {
        let _ = writeln!(h, "<h2 id=\"fix\">{}</h2>", esc(words::FIX));
        for g in advised {
            let _ = writeln!(
                h,
                "<h3><a href=\"#group-{}\">{}</a></h3>\n<ul>",
                g.id,
                esc(&text::group_title(g.id, &g.domain, g.pattern))
            );
            for l in g.advice.iter().flat_map(|a| text::fix_advice(a, &g.domain)) {
                let _ = writeln!(h, "<li>{}</li>", esc(&l));
            }
            h.push_str("</ul>\n");
        }
    }
    // Diagrams.
    let diagrams = sequence::diagrams(report);
    if !diagrams.is_empty() {
        let _ = writeln!(h, "<h2 id=\"diagrams\">{}</h2>", esc(words::DIAGRAMS));
    }
    for (n, d) in diagrams.iter().enumerate() {
        let anchor = d
            .group
            .map_or_else(|| format!("client-{n}"), |g| format!("group-{g}"));
        let _ = writeln!(
            h,
            "<section class=\"group\" id=\"{anchor}\">\n<h3>{}</h3>",
            esc(&d.title)
        );
        if let Some(g) = d
            .group
            .and_then(|id| report.groups.iter().find(|g| g.id == id))
        {
            if let Some(p) = g.pattern {
                let _ = writeln!(h, "<p>{}</p>", esc(text::pattern_explanation(p)));
            }
        }
        let _ = writeln!(
            h,
            "<figure class=\"diagram\">{}</figure>\n</section>",
            svg(d, n)
        );
    }
    // Per-client tables.
    if !report.probes.is_empty() {
        let _ = writeln!(h, "<h2 id=\"clients\">{}</h2>", esc(words::CLIENTS));
    }
    let mut of: HashMap<IpAddr, Vec<&Probe>> = HashMap::new();
    for p in &report.probes {
        of.entry(p.client).or_default().push(p);
    }
    for c in &report.clients {
        let Some(probes) = of.remove(&c.client) else {
            continue;
        };
        let _ = writeln!(
            h,
            "<h3>{}</h3>\n<table>\n<tr>{}</tr>",
            esc(&words::client_head(c.client, c.probes, c.mismatches)),
            words::COLUMNS
                .iter()
                .map(|w| format!("<th>{}</th>", esc(w)))
                .collect::<String>()
        );
        for p in probes {
            let v = vclass(p.verdict);
            let verdict = match p.verdict {
                Some(x) => format!(
                    "<span class=\"v {v}\">{}</span><br><span class=\"small\">{}</span>",
                    esc(text::verdict(x)),
                    esc(&text::reason(p).unwrap_or_default())
                ),
                None => String::new(),
            };
            let _ = writeln!(
                h,
                "<tr class=\"{v}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{verdict}</td><td>{}</td><td>{}</td></tr>",
                p.id,
                esc(&text::rfc3339(p.ts)),
                esc(&what(p)),
                esc(&name_cell(p)),
                esc(&endpoint(&p.server, p.port)),
                esc(&cert_cell(p)),
                esc(&text::outcome(p)),
                p.group.map(|g| format!("<a href=\"#group-{g}\">{g}</a>")).unwrap_or_default(),
            );
        }
        h.push_str("</table>\n");
    }
    let _ = writeln!(
        h,
        "<footer>{}</footer>\n</body>\n</html>",
        esc(&text::stats_line(stats))
    );
    h
}

/// The HTML format: written at the end; a live capture's probes are kept (bounded) for it.
#[derive(Default)]
pub struct HtmlWriter {
    kept: super::Kept,
}

impl super::Writer for HtmlWriter {
    fn probe(&mut self, p: &Probe, _: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.kept.push(p);
        Ok(())
    }

    fn finish(
        &mut self,
        end: &super::End<'_>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let dropped = self.kept.dropped;
        let report = self.kept.report(end);
        out.write_all(page(&report, end.stats, dropped).as_bytes())?;
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn capture_text_is_escaped() {
        assert_eq!(
            esc("<script>alert('x')</script>&\"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;q&quot;"
        );
    }
}
