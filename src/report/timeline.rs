//! `--timeline`: each client's fan-out over time in the terminal, one lane per name, a
//! marker per probe, then the walk from name to name in words.

use std::collections::HashMap;
use std::net::IpAddr;

use super::text;
use crate::correlate::{Probe, ProbeKind, Proto, Report, Verdict};
use crate::parse::Rdata;
use crate::stats::Stats;

use super::table::{endpoint, wrap};

/// The one-character marker of a probe.
pub fn marker(p: &Probe) -> char {
    match &p.kind {
        ProbeKind::Dns(d) => {
            let answers = d.answers.as_slice();
            if answers.iter().any(|a| matches!(a.data, Rdata::Srv { .. })) {
                'S'
            } else if answers.iter().any(|a| matches!(a.data, Rdata::Cname(_))) {
                'C'
            } else if answers.is_empty() {
                'd'
            } else {
                'D'
            }
        }
        ProbeKind::Http(h) => match h.status {
            Some(s) if (200..300).contains(&s) => 'H',
            Some(s) if (300..400).contains(&s) => 'R',
            _ => 'h',
        },
        ProbeKind::Tls(_) | ProbeKind::Quic(_) => {
            let handshake = p.tls().is_some_and(|t| t.version.is_some())
                || p.cert().is_some()
                || p.quic().is_some_and(|q| q.server_initial);
            match p.verdict {
                Some(Verdict::Match) => 'T',
                Some(Verdict::Mismatch) => 'X',
                Some(Verdict::Unverified | Verdict::NoName) | None => {
                    if !handshake {
                        '!'
                    } else if p.proto() == Proto::Quic {
                        'Q'
                    } else {
                        'U'
                    }
                }
            }
        }
    }
}

/// Which marker a column shows when several probes of a lane fall in it: a mismatch
/// first, then a failed handshake, an unverified certificate, a match, HTTP, DNS.
fn rank(m: char) -> u8 {
    match m {
        'X' => 9,
        '!' => 8,
        'U' | 'Q' => 7,
        'T' => 6,
        'R' | 'h' | 'H' => 5,
        'S' | 'C' => 4,
        'D' => 3,
        _ => 2,
    }
}

/// Columns kept free at the right end of each lane.
const SLACK: usize = 4;

const LEGEND: &str =
    "Markers: D DNS answer, C DNS answer through a CNAME, S SRV answer, d DNS without records \
(NODATA, NXDOMAIN, no answer); T TLS certificate matches, X TLS certificate mismatch, U TLS \
certificate not seen, Q QUIC (certificate encrypted), ! no server handshake (TCP refused or \
unanswered, no QUIC answer); H HTTP 2xx, R HTTP redirect, h other HTTP answer or none. Markers are placed to scale; where \
probes of a lane fall in one column, the most telling is shown (X, !, U/Q, T, HTTP, DNS) and \
the walk below lists each.";

fn lane_label(p: &Probe) -> String {
    p.name
        .as_deref()
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| format!("({})", p.server))
}

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let keep: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{keep}…")
}

/// The timeline format: drawn at the end, since it draws all of a client's probes at
/// once; a live capture's probes are kept for it up to [`super::MAX_KEPT_PROBES`].
pub struct TimelineWriter {
    opts: super::Options,
    kept: super::Kept,
}

impl TimelineWriter {
    pub fn new(opts: super::Options) -> Self {
        TimelineWriter {
            opts,
            kept: super::Kept::default(),
        }
    }
}

impl super::Writer for TimelineWriter {
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
        if dropped > 0 {
            writeln!(out, "{}", text::not_kept(dropped))?;
        }
        write(&report, end.stats, out, self.opts.width)
    }
}

pub fn write(
    report: &Report,
    stats: &Stats,
    out: &mut dyn std::io::Write,
    width: u16,
) -> std::io::Result<()> {
    let w = usize::from(width).max(50);
    if report.probes.is_empty() {
        writeln!(out, "{}", text::NO_PROBES)?;
    }
    // Each client's probes, found in one pass (not one pass per client).
    let mut probes_of: HashMap<IpAddr, Vec<&Probe>> = HashMap::new();
    for p in &report.probes {
        probes_of.entry(p.host_addr()).or_default().push(p);
    }
    for c in &report.clients {
        let probes: Vec<&Probe> = probes_of.remove(&c.client).unwrap_or_default();
        let (Some(first), Some(last)) = (probes.first(), probes.last()) else {
            continue;
        };
        let span = last.ts.secs_since(&first.ts);
        // Lanes: one per name, in the order the names were first tried.
        let mut lanes: Vec<(String, Option<u64>, Vec<char>)> = Vec::new();
        for p in &probes {
            let l = lane_label(p);
            if !lanes.iter().any(|x| x.0 == l) {
                lanes.push((l, p.group, Vec::new()));
            }
        }
        let tag_w = lanes
            .iter()
            .map(|l| group_tag(l.1).len())
            .max()
            .unwrap_or(0);
        let label_w = lanes
            .iter()
            .map(|l| l.0.chars().count() + tag_w)
            .max()
            .unwrap_or(0)
            .min(w / 3)
            .max(8);
        let plot_w = w.saturating_sub(label_w + 4).max(10);
        for lane in &mut lanes {
            lane.2 = vec![' '; plot_w];
        }
        for p in &probes {
            let l = lane_label(p);
            let Some(lane) = lanes.iter_mut().find(|x| x.0 == l) else {
                continue;
            };
            // Room at the right end for the markers that land on the last instant.
            let usable = plot_w.saturating_sub(SLACK).max(1);
            let x = if span > 0.0 {
                ((p.ts.secs_since(&first.ts) / span) * (usable - 1) as f64).round() as usize
            } else {
                0
            };
            // To scale: the probe's own column. Probes of one lane that land in one column
            // share it and the most telling marker is shown (the walk below lists each).
            let m = marker(p);
            if let Some(slot) = lane.2.get_mut(x.min(plot_w - 1)) {
                if *slot == ' ' || rank(m) > rank(*slot) {
                    *slot = m;
                }
            }
        }
        let heading = format!(
            // A no-break space keeps the span with its unit when the heading wraps.
            "Client {}: fan-out over {:.3}\u{a0}s, one lane per name (time →)",
            text::client_heading(c),
            span
        );
        writeln!(
            out,
            "{}",
            super::layout::wrap_indented(&heading, Some(w), 2)
        )?;
        let end = format!("{span:.3} s");
        writeln!(
            out,
            "  {:label_w$}  0 s{:>pad$}",
            "",
            end,
            pad = plot_w.saturating_sub(3 + SLACK)
        )?;
        writeln!(out, "  {:label_w$}  {}", "", "┈".repeat(plot_w))?;
        // Group tags padded to the widest, so that names line up (G9 and G10).
        let tag_w = lanes
            .iter()
            .map(|l| group_tag(l.1).len())
            .max()
            .unwrap_or(0);
        for (name, group, cells) in &lanes {
            let tag = group_tag(*group);
            let label = format!(
                "{tag:<tag_w$}{}",
                short(name, label_w.saturating_sub(tag_w).max(4))
            );
            let row: String = cells.iter().collect();
            writeln!(out, "  {label:label_w$}  {}", row.trim_end())?;
        }
        writeln!(out, "{}", wrap(&format!("  {LEGEND}"), w, 4))?;
        writeln!(out, "  The walk, in order:")?;
        for p in &probes {
            let t = p.ts.secs_since(&first.ts);
            let name = p.name.as_deref().unwrap_or("(no name)");
            let mut s = format!(
                "+{t:>7.3} s  {} #{:<3} {} {name} → {}",
                marker(p),
                p.id,
                super::table::what(p),
                endpoint(&p.server, p.port)
            );
            if let Some(g) = p.group {
                s.push_str(&format!(" [group {g}]"));
            }
            if let Some(v) = p.verdict {
                s.push_str(&format!(": {}", text::verdict(v)));
            }
            let outcome = text::outcome(p);
            if !outcome.is_empty() {
                s.push_str(&format!(" — {outcome}"));
            }
            writeln!(out, "{}", wrap(&format!("    {s}"), w, 18))?;
        }
        writeln!(out)?;
    }
    writeln!(out, "{}", wrap(&text::stats_line(stats), w, 2))?;
    out.flush()
}

fn group_tag(g: Option<u64>) -> String {
    g.map(|g| format!("G{g} ")).unwrap_or_default()
}
