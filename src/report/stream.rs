//! The live table: each probe is written (and flushed) as soon as it is complete; the
//! groups, the per-client summary and the stats come when the capture stops.
//!
//! One row per probe with fixed column widths (so rows written minutes apart still line
//! up), cells laid out like the file table ([`super::layout`]: names break only at `.`/`/`
//! boundaries), the outcome in a few words with the sentence on a line of its own, and a
//! reason line under every probe that is not a match. Below 140 columns the time goes,
//! below 120 the client goes too (a line names the client whenever it changes); the
//! certificate column stays at any width.

use super::layout;
use super::table::{cert_cell, endpoint, name_cell, Clock, Pen};
use super::text;
use crate::correlate::groups::Group;
use crate::correlate::{ClientSummary, Probe, Verdict};
use crate::stats::Stats;

pub struct LiveTable {
    pen: Pen,
    clock: Clock,
    /// The width the columns are sized for.
    width: usize,
    header_done: bool,
    day: String,
    /// The zone the last day line gave (its offset may change within a day).
    zone: String,
    client: Option<std::net::IpAddr>,
    /// `-q` and `-v`.
    quiet: bool,
    verbose: u8,
}

/// One column: title, and its width (0 = shares what is left, by weight).
struct Col {
    title: &'static str,
    fixed: usize,
    weight: usize,
}

const GAP: usize = 1;

fn columns(width: usize) -> Vec<(&'static str, usize)> {
    let col = |title, fixed, weight| Col {
        title,
        fixed,
        weight,
    };
    let mut cols = vec![
        col("time", 8, 0),
        col("client", if width >= 160 { 25 } else { 15 }, 0),
        col("proto", 9, 0),
        col("name asked for", 0, 3),
        col("server", if width >= 100 { 21 } else { 18 }, 0),
        col("certificate", 0, 3),
        col("verdict", 10, 0),
        col("trust", 8, 0),
        col("outcome", 0, 2),
    ];
    if width < 140 {
        cols.retain(|c| c.title != "time");
    }
    if width < 120 {
        cols.retain(|c| c.title != "client" && c.title != "trust");
    }
    let fixed: usize = cols.iter().map(|c| c.fixed).sum::<usize>() + GAP * (cols.len() - 1);
    let weights: usize = cols.iter().map(|c| c.weight).sum::<usize>().max(1);
    let left = width.saturating_sub(fixed);
    cols.iter()
        .map(|c| {
            let w = if c.fixed > 0 {
                c.fixed
            } else {
                (left * c.weight / weights).max(9)
            };
            (c.title, w)
        })
        .collect()
}

impl LiveTable {
    pub fn new(opts: super::Options) -> Self {
        let pen = Pen::new(&opts);
        LiveTable {
            pen,
            clock: Clock::new(opts.local_time),
            width: pen.width.unwrap_or(160),
            header_done: false,
            day: String::new(),
            zone: String::new(),
            client: None,
            quiet: opts.quiet,
            verbose: opts.verbose,
        }
    }

    /// `line` wrapped to the table's width.
    pub fn wrap(&self, line: &str) -> String {
        self.pen.wrap(line, 0)
    }

    /// Writes one probe and flushes.
    pub fn probe(&mut self, p: &Probe, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        if self.quiet {
            let (day, time, _) = self.clock.parts(p.ts);
            writeln!(out, "{}", text::quiet_line(p, &day, &time))?;
            return out.flush();
        }
        let cols = columns(self.width);
        let w: Vec<usize> = cols.iter().map(|c| c.1).collect();
        let plain = |_: usize, s: &str| s.to_string();
        if !self.header_done {
            self.header_done = true;
            let titles: Vec<String> = cols.iter().map(|(t, _)| t.to_string()).collect();
            for l in layout::row_lines(&titles, &w, GAP, &plain) {
                writeln!(out, "{l}")?;
            }
            let rule: Vec<String> = w.iter().map(|w| self.pen.rule(*w)).collect();
            writeln!(out, "{}", rule.join(&" ".repeat(GAP)))?;
        }
        let (day, time, zone) = self.clock.parts(p.ts);
        // Again when the zone's offset changes within a day (DST with --local-time).
        if day != self.day || zone != self.zone {
            writeln!(out, "{}", text::day_line(&day, &zone))?;
            self.day = day;
            self.zone = zone;
        }
        let has_client = cols.iter().any(|c| c.0 == "client");
        if !has_client && self.client != Some(p.host_addr()) {
            writeln!(out, "client {}", text::host_label(p))?;
        }
        self.client = Some(p.host_addr());
        let (brief, more) = text::outcome_brief(p);
        let cells: Vec<String> = cols
            .iter()
            .map(|(title, _)| match *title {
                "time" => time.clone(),
                "client" => text::host_label(p),
                "proto" => super::table::what(p).replace(' ', "\u{a0}"),
                "name asked for" => name_cell(p),
                "server" => endpoint(&p.server, p.port),
                "certificate" => cert_cell(p),
                "verdict" => p.verdict.map(text::verdict).unwrap_or("").to_string(),
                "trust" => p
                    .trust
                    .as_deref()
                    .map(text::trust_short)
                    .unwrap_or("")
                    .to_string(),
                _ => brief.clone(),
            })
            .map(|c| self.pen.sym(&c))
            .collect();
        let verdict_col = cols.iter().position(|c| c.0 == "verdict");
        let pen = self.pen;
        let paint = |col: usize, s: &str| {
            if Some(col) == verdict_col {
                pen.paint(p.verdict, s)
            } else {
                s.to_string()
            }
        };
        // `--width 0`, no limit: every row on one line, a cell wider than its column
        // pushing the rest of its row right (the columns keep their widths otherwise).
        let w: Vec<usize> = if self.pen.width.is_none() {
            w.iter()
                .zip(&cells)
                .map(|(w, c)| (*w).max(layout::width(c)))
                .collect()
        } else {
            w
        };
        for l in layout::row_lines(&cells, &w, GAP, &paint) {
            writeln!(out, "{l}")?;
        }
        if p.verdict.is_some_and(|v| v != Verdict::Match) {
            if let Some(r) = text::reason(p) {
                writeln!(out, "{}", self.pen.wrap(&format!("    ↳ {r}"), 6))?;
            }
        }
        if more {
            let o = text::outcome(p);
            writeln!(out, "{}", self.pen.wrap(&format!("    ↳ {o}"), 6))?;
        }
        if let Some(t) = p.trust.as_deref().filter(|t| text::trust_problem(t)) {
            let line = format!("    ↳ trust: {}", text::trust_reason(t));
            writeln!(out, "{}", self.pen.wrap(&line, 6))?;
        }
        super::table::write_details(out, p, self.verbose, &self.pen)?;
        out.flush()
    }

    /// Writes the attempt groups (JSON `group` lines, or the table's group sections per
    /// client), when the capture stops.
    pub fn groups(
        &mut self,
        groups: &[Group],
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        let mut clients: Vec<std::net::IpAddr> = Vec::new();
        for g in groups {
            if !clients.contains(&g.client) {
                clients.push(g.client);
            }
        }
        for c in clients {
            writeln!(out)?;
            writeln!(out, "Client {c}:")?;
            let mine: Vec<&Group> = groups.iter().filter(|g| g.client == c).collect();
            super::table::write_groups(out, &mine, &self.pen)?;
        }
        Ok(())
    }

    /// Writes the per-client summary and the stats.
    pub fn finish(
        &mut self,
        clients: &[ClientSummary],
        stats: &Stats,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        if self.quiet {
            writeln!(out, "{}", self.pen.wrap(&text::stats_line(stats), 2))?;
            return out.flush();
        }
        writeln!(out)?;
        if clients.is_empty() {
            writeln!(
                out,
                "No probes seen: no TLS handshake, HTTP request or DNS query was captured."
            )?;
        }
        for c in clients {
            writeln!(
                out,
                "Client {}: {} probe{}, {} mismatch{}",
                text::client_heading(c),
                c.probes,
                if c.probes == 1 { "" } else { "s" },
                c.mismatches,
                if c.mismatches == 1 { "" } else { "es" }
            )?;
            if !c.names.is_empty() {
                let mut line = format!("  Names tried, in order: {}", c.names.join(" → "));
                if c.names_dropped > 0 {
                    line.push_str(&format!(
                        " (and {} probes of further names, not listed: the list is full)",
                        c.names_dropped
                    ));
                }
                writeln!(out, "{}", self.pen.wrap(&line, 4))?;
            }
        }
        writeln!(out)?;
        writeln!(out, "{}", self.pen.wrap(&text::stats_line(stats), 2))?;
        out.flush()
    }
}
