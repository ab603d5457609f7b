//! The live table: each probe is written (and flushed) as soon as it is complete; the
//! groups, the per-client summary and the stats come when the capture stops.
//!
//! One row per probe with fixed column widths (so rows written minutes apart still line
//! up), and a reason line under every probe that is not a match.

use comfy_table::{Cell, ColumnConstraint, ContentArrangement, Table, Width};

use super::table::{cert_cell, endpoint, name_cell, time_of_day, what, wrap, STYLE};
use super::text;
use crate::correlate::groups::Group;
use crate::correlate::{ClientSummary, Probe, Verdict};
use crate::stats::Stats;

pub struct LiveTable {
    width: u16,
    header_done: bool,
}

/// One column: title, and its width (0 = shares what is left).
struct Col {
    title: &'static str,
    fixed: u16,
    weight: u16,
}

fn columns(width: u16) -> Vec<(&'static str, u16)> {
    let mut cols = vec![
        Col {
            title: "time",
            fixed: 8,
            weight: 0,
        },
        Col {
            title: "client",
            fixed: 15,
            weight: 0,
        },
        Col {
            title: "proto",
            fixed: 9,
            weight: 0,
        },
        Col {
            title: "name asked for",
            fixed: 0,
            weight: 3,
        },
        Col {
            title: "server",
            fixed: 21,
            weight: 0,
        },
        Col {
            title: "certificate",
            fixed: 0,
            weight: 3,
        },
        Col {
            title: "verdict",
            fixed: 10,
            weight: 0,
        },
        Col {
            title: "trust",
            fixed: 8,
            weight: 0,
        },
        Col {
            title: "outcome",
            fixed: 0,
            weight: 3,
        },
    ];
    // Narrow terminals lose the time, then the certificate (the reason line under a
    // mismatch names the certificate's names anyway).
    if width < 140 {
        cols.retain(|c| c.title != "time");
    }
    if width < 120 {
        cols.retain(|c| c.title != "certificate" && c.title != "trust");
    }
    let padding = cols.len() as u16;
    let fixed: u16 = cols.iter().map(|c| c.fixed).sum();
    let weights: u16 = cols.iter().map(|c| c.weight).sum::<u16>().max(1);
    let left = width.saturating_sub(fixed + padding);
    cols.iter()
        .map(|c| {
            let w = if c.fixed > 0 {
                c.fixed
            } else {
                (left * c.weight / weights).max(8)
            };
            (c.title, w)
        })
        .collect()
}

impl LiveTable {
    pub fn new(width: u16) -> Self {
        LiveTable {
            width,
            header_done: false,
        }
    }

    fn table(&self, cells: Vec<String>) -> Table {
        let cols = columns(self.width);
        let mut t = Table::new();
        t.load_style(STYLE)
            .set_content_arrangement(ContentArrangement::Disabled);
        t.add_row(cells.into_iter().map(Cell::new).collect::<Vec<_>>());
        for (i, (_, w)) in cols.iter().enumerate() {
            if let Some(c) = t.column_mut(i) {
                // The width includes the one column of padding on the right.
                c.set_constraint(ColumnConstraint::Absolute(Width::Fixed(w + 1)));
                c.set_padding((0, 1));
            }
        }
        t
    }

    /// Writes one probe and flushes.
    pub fn probe(&mut self, p: &Probe, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let cols = columns(self.width);
        if !self.header_done {
            self.header_done = true;
            let titles: Vec<String> = cols.iter().map(|(t, _)| t.to_string()).collect();
            let rule: Vec<String> = cols
                .iter()
                .map(|(_, w)| "─".repeat(usize::from(*w)))
                .collect();
            writeln!(out, "{}", self.table(titles))?;
            writeln!(out, "{}", self.table(rule))?;
        }
        let cells: Vec<String> = cols
            .iter()
            .map(|(title, _)| match *title {
                "time" => time_of_day(p),
                "client" => p.client.to_string(),
                "proto" => what(p),
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
                _ => text::outcome(p),
            })
            .collect();
        writeln!(out, "{}", self.table(cells))?;
        if p.verdict.is_some_and(|v| v != Verdict::Match) {
            if let Some(r) = text::reason(p) {
                let line = format!("    ↳ {r}");
                writeln!(out, "{}", wrap(&line, usize::from(self.width).max(40), 6))?;
            }
        }
        if let Some(t) = p.trust.as_deref().filter(|t| text::trust_problem(t)) {
            let line = format!("    ↳ trust: {}", text::trust_reason(t));
            writeln!(out, "{}", wrap(&line, usize::from(self.width).max(40), 6))?;
        }
        out.flush()
    }

    /// Writes the attempt groups (JSON `group` lines, or the table's group sections per
    /// client), when the capture stops.
    pub fn groups(
        &mut self,
        groups: &[Group],
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
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
            super::table::write_groups(out, &mine, self.width)?;
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
        writeln!(out)?;
        if clients.is_empty() {
            writeln!(
                out,
                "No probes seen: no TLS handshake, HTTP request or DNS query was captured."
            )?;
        }
        let width = usize::from(self.width).max(40);
        for c in clients {
            writeln!(
                out,
                "Client {}: {} probe{}, {} mismatch{}",
                c.client,
                c.probes,
                if c.probes == 1 { "" } else { "s" },
                c.mismatches,
                if c.mismatches == 1 { "" } else { "es" }
            )?;
            if !c.names.is_empty() {
                let mut line = format!("  Names tried, in order: {}", c.names.join(" → "));
                if c.names_dropped > 0 {
                    line.push_str(&format!(" (+{} more not kept)", c.names_dropped));
                }
                writeln!(out, "{}", wrap(&line, width, 4))?;
            }
        }
        writeln!(out)?;
        writeln!(out, "{}", wrap(&text::stats_line(stats), width, 2))?;
        out.flush()
    }
}
