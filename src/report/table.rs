//! The human report: a summary of the problems across all clients first, then one
//! section per client (its probes in time order, the names it tried, the mismatches with
//! their reasons, its attempt groups), then the stats.
//!
//! The table is laid out by [`super::layout`]: columns sized to their content, names
//! broken only at `.`/`/` boundaries, outcomes in a few words with the sentence on a line
//! of its own, the date on the first row and whenever it changes.

use std::collections::HashMap;
use std::net::IpAddr;

use super::layout::{self, NBSP};
use super::text;
use crate::capture::Timestamp;
use crate::correlate::groups::{CertBrief, Group, Member, MemberVersion, Origin};
use crate::correlate::{CertSource, Probe, Proto, Report, Verdict};
use crate::parse::CertInfo;
use crate::stats::Stats;

/// How text is drawn: the width (`None`: no limit), ASCII or Unicode symbols, colour.
#[derive(Clone, Copy, Debug)]
pub struct Pen {
    pub width: Option<usize>,
    pub ascii: bool,
    pub color: bool,
}

/// Tables are never laid out narrower than this.
pub const MIN_WIDTH: usize = 40;

impl Pen {
    pub fn new(opts: &super::Options) -> Pen {
        Pen {
            width: (opts.width > 0).then(|| usize::from(opts.width).max(MIN_WIDTH)),
            ascii: opts.ascii,
            color: opts.color,
        }
    }

    /// `s` with its symbols in ASCII when the locale is not UTF-8.
    pub fn sym(&self, s: &str) -> String {
        if !self.ascii {
            return s.to_string();
        }
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            match c {
                '─' | '┈' | '—' | '–' => out.push('-'),
                '→' => out.push_str("->"),
                '←' => out.push_str("<-"),
                '↳' => out.push_str("->"),
                '·' => out.push('-'),
                '…' => out.push('~'),
                '│' => out.push('|'),
                c => out.push(c),
            }
        }
        out
    }

    /// `text` (its leading spaces kept) wrapped to the width, later lines indented.
    pub fn wrap(&self, text: &str, indent: usize) -> String {
        layout::wrap_indented(&self.sym(text), self.width, indent)
    }

    /// The rule under a header, `w` columns wide.
    pub fn rule(&self, w: usize) -> String {
        if self.ascii { "-" } else { "─" }.repeat(w)
    }

    /// `s` in the colour of verdict `v` (when colour is on).
    pub fn paint(&self, v: Option<Verdict>, s: &str) -> String {
        if !self.color || s.is_empty() {
            return s.to_string();
        }
        let code = match v {
            Some(Verdict::Match) => "32",
            Some(Verdict::Mismatch) => "1;31",
            Some(Verdict::Unverified) | Some(Verdict::NoName) => "33",
            None => return s.to_string(),
        };
        format!("\x1b[{code}m{s}\x1b[0m")
    }
}

/// A probe's time in the report's zone: the day, the time of day, the zone's name.
#[derive(Clone, Debug)]
pub struct Clock {
    tz: Option<jiff::tz::TimeZone>,
}

impl Clock {
    /// UTC, or the system's zone (`TZ`, `/etc/localtime`) for `--local-time`.
    pub fn new(local: bool) -> Clock {
        Clock {
            tz: local.then(jiff::tz::TimeZone::system),
        }
    }

    /// `("2024-05-01", "02:35:49", "UTC")`.
    pub fn parts(&self, ts: Timestamp) -> (String, String, String) {
        let utc = || {
            let s = ts.secs.rem_euclid(86_400);
            let day = time::OffsetDateTime::from_unix_timestamp(ts.secs)
                .map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
                .unwrap_or_default();
            (
                day,
                format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60),
                "UTC".to_string(),
            )
        };
        let Some(tz) = &self.tz else {
            return utc();
        };
        let Ok(t) = jiff::Timestamp::from_second(ts.secs) else {
            return utc();
        };
        let z = t.to_zoned(tz.clone());
        let off = z.offset().seconds();
        let sign = if off < 0 { '-' } else { '+' };
        let off = off.unsigned_abs();
        let mut zone = format!("UTC{sign}{:02}:{:02}", off / 3600, (off / 60) % 60);
        if let Some(name) = tz.iana_name() {
            zone.push_str(&format!(", {name}"));
        }
        (
            format!("{:04}-{:02}-{:02}", z.year(), z.month(), z.day()),
            format!("{:02}:{:02}:{:02}", z.hour(), z.minute(), z.second()),
            zone,
        )
    }
}

pub(crate) fn endpoint(ip: &std::net::IpAddr, port: u16) -> String {
    match ip {
        std::net::IpAddr::V6(_) => format!("[{ip}]:{port}"),
        std::net::IpAddr::V4(_) => format!("{ip}:{port}"),
    }
}

/// Certificate names, shortened: SANs (at most three), or the CN when there are none.
pub fn cert_names(c: &CertInfo) -> String {
    let mut names: Vec<String> = c.san_dns.clone();
    names.extend(c.san_ip.iter().cloned());
    let mut s = if names.is_empty() {
        match &c.subject_cn {
            Some(cn) => format!("CN={cn} (no SAN)"),
            None => "(no names)".to_string(),
        }
    } else {
        let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
        let mut s = shown.join(", ");
        if names.len() > 3 {
            s.push_str(&format!(" +{}", names.len() - 3));
        }
        s
    };
    if c.self_signed {
        s.push_str(" [self-signed]");
    }
    s
}

/// The certificate column: its names, "(not seen)" for TLS without one, empty otherwise.
pub(crate) fn cert_cell(p: &Probe) -> String {
    match (p.cert(), p.proto()) {
        (Some(c), _) => match p.tls().and_then(|t| t.cert_source) {
            Some(CertSource::KeyLog) => {
                format!(
                    "{} ({})",
                    cert_names(c),
                    text::cert_source(CertSource::KeyLog)
                )
            }
            Some(CertSource::Seen) | None => cert_names(c),
        },
        (None, Proto::Tls) => "(not seen)".into(),
        (None, Proto::Quic) => "(encrypted)".into(),
        (None, _) => String::new(),
    }
}

pub(crate) fn what(p: &Probe) -> String {
    what_words(p).replace(NBSP, " ")
}

/// The proto cell, its words kept together.
fn what_words(p: &Probe) -> String {
    let s = match &p.kind {
        crate::correlate::ProbeKind::Tls(t) => {
            let mut s = "TLS".to_string();
            if let Some(st) = &t.starttls {
                s = format!("TLS/{st}");
            }
            if let Some(v) = t.version {
                s = format!("{s} {}", text::tls_version(v).trim_start_matches("TLS "));
            }
            s
        }
        crate::correlate::ProbeKind::Http(h) => format!("HTTP {}", h.method),
        crate::correlate::ProbeKind::Dns(d) => format!("DNS {}", text::qtype(d.qtype)),
        crate::correlate::ProbeKind::Quic(q) => {
            format!("QUIC {}", text::quic_version(q.quic.version))
        }
    };
    s.replace(' ', "\u{a0}")
}

pub(crate) fn name_cell(p: &Probe) -> String {
    let mut n = p.name.clone().unwrap_or_else(|| "-".into());
    if let Some(h) = p.http() {
        if h.method == "CONNECT" {
            // The target is `host:port` (authority form), not a path to append.
            if !h.path.is_empty() {
                n.clone_from(&h.path);
            }
        } else if h.path != "/" && !h.path.is_empty() {
            n.push_str(&h.path);
        }
    }
    if p.name_source == Some(crate::correlate::NameSource::DnsAnswer) {
        n.push_str(" (via DNS)");
    }
    if p.name_source == Some(crate::correlate::NameSource::ServerAddress) {
        n.push_str(" (address, no SNI)");
    }
    if let Some(t) = p.tls().filter(|t| t.ech) {
        n.push_str(" [ECH offered");
        if let Some(real) = &t.ech_inferred_target {
            n.push_str(&format!("; likely {real}, inferred"));
        }
        n.push(']');
    }
    n
}

/// Word-wraps `text` to `width` columns; lines after the first are indented by `indent`.
/// A word wider than a line breaks only at a `.`/`/` boundary ([`layout`]).
pub(crate) fn wrap(text: &str, width: usize, indent: usize) -> String {
    layout::wrap_indented(text, Some(width), indent)
}

/// A table cell's text: its words that belong together joined by no-break spaces.
fn keep(s: &str) -> String {
    s.replace(" (via DNS)", " (via\u{a0}DNS)")
        .replace("[ECH offered", "[ECH\u{a0}offered")
        .replace("(no SAN)", "(no\u{a0}SAN)")
        .replace("(not seen)", "(not\u{a0}seen)")
        .replace("(no names)", "(no\u{a0}names)")
}

/// One line per distinct (name, server, reason), with a count when repeated.
/// The trust problems of a client's probes, one line per distinct sentence.
fn explain_trust(
    out: &mut dyn std::io::Write,
    probes: &[&Probe],
    pen: &Pen,
) -> std::io::Result<()> {
    if probes.is_empty() {
        return Ok(());
    }
    writeln!(out, "  Trust:")?;
    let mut seen: Vec<(String, usize)> = Vec::new();
    for p in probes {
        let Some(t) = &p.trust else { continue };
        let line = format!(
            "{} at {}: {}",
            p.name.as_deref().unwrap_or("(no name)"),
            endpoint(&p.server, p.port),
            text::trust_reason(t)
        );
        match seen.iter_mut().find(|(l, _)| *l == line) {
            Some((_, n)) => *n += 1,
            None => seen.push((line, 1)),
        }
    }
    for (line, n) in seen {
        let line = if n > 1 {
            format!("{line} ({n} times)")
        } else {
            line
        };
        writeln!(out, "{}", pen.wrap(&format!("    - {line}"), 6))?;
    }
    Ok(())
}

fn explain(
    out: &mut dyn std::io::Write,
    title: &str,
    probes: &[&Probe],
    pen: &Pen,
) -> std::io::Result<()> {
    if probes.is_empty() {
        return Ok(());
    }
    writeln!(out, "  {title}")?;
    let mut seen: Vec<(String, usize)> = Vec::new();
    for p in probes {
        let line = format!(
            "{} at {}: {}",
            p.name.as_deref().unwrap_or("(no name)"),
            endpoint(&p.server, p.port),
            text::reason(p).unwrap_or_default()
        );
        match seen.iter_mut().find(|(l, _)| *l == line) {
            Some((_, n)) => *n += 1,
            None => seen.push((line, 1)),
        }
    }
    for (line, n) in seen {
        let line = if n > 1 {
            format!("{line} ({n} times)")
        } else {
            line
        };
        writeln!(out, "{}", pen.wrap(&format!("    - {line}"), 6))?;
    }
    Ok(())
}

/// The summary at the top: one line per problem (a verdict other than match, for one name
/// at one server for one reason) across all clients, with how many clients and probes.
fn summary(out: &mut dyn std::io::Write, report: &Report, pen: &Pen) -> std::io::Result<()> {
    struct Problem {
        verdict: Verdict,
        line: String,
        clients: Vec<IpAddr>,
        probes: usize,
    }
    let mut problems: Vec<Problem> = Vec::new();
    let mut index: HashMap<(&'static str, String), usize> = HashMap::new();
    for p in &report.probes {
        let Some(v) = p.verdict.filter(|v| *v != Verdict::Match) else {
            continue;
        };
        let line = format!(
            "{} → {}: {}",
            p.name.as_deref().unwrap_or("(no name)"),
            endpoint(&p.server, p.port),
            text::reason(p).unwrap_or_default()
        );
        let i = *index
            .entry((text::verdict(v), line.clone()))
            .or_insert_with(|| {
                problems.push(Problem {
                    verdict: v,
                    line,
                    clients: Vec::new(),
                    probes: 0,
                });
                problems.len() - 1
            });
        if let Some(pr) = problems.get_mut(i) {
            pr.probes += 1;
            if !pr.clients.contains(&p.client) {
                pr.clients.push(p.client);
            }
        }
    }
    // Mismatches first, then the rest; each kind in the order first seen.
    problems.sort_by_key(|p| p.verdict != Verdict::Mismatch);
    writeln!(
        out,
        "{}",
        pen.wrap(
            &text::summary_head(problems.len(), report.clients.len(), report.probes.len()),
            2
        )
    )?;
    for pr in &problems {
        let word = text::verdict(pr.verdict);
        let line = format!(
            "  {word:<10} {} {}",
            pr.line,
            text::summary_count(pr.clients.len(), pr.probes)
        );
        let wrapped = pen.wrap(&line, 13);
        let painted = wrapped.replacen(word, &pen.paint(Some(pr.verdict), word), 1);
        writeln!(out, "{painted}")?;
    }
    writeln!(out)
}

/// The table format: a capture file's report per client, or a live capture's rows as
/// probes complete ([`super::stream::LiveTable`]).
pub struct TableWriter {
    opts: super::Options,
    live: super::stream::LiveTable,
}

impl TableWriter {
    pub fn new(opts: super::Options) -> Self {
        TableWriter {
            opts,
            live: super::stream::LiveTable::new(opts),
        }
    }
}

impl super::Writer for TableWriter {
    fn bound_passed(&mut self, held: usize, out: &mut dyn std::io::Write) -> std::io::Result<bool> {
        // -q is one line per probe in time order either way: nothing changes for it, and
        // a paragraph among its lines would break the scripts reading them.
        if self.opts.quiet {
            return Ok(true);
        }
        writeln!(out, "{}", self.live.wrap(&text::report_bound_passed(held)))?;
        writeln!(out)?;
        Ok(true)
    }

    fn probe(&mut self, p: &Probe, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.live.probe(p, out)
    }

    fn finish(
        &mut self,
        end: &super::End<'_>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        if end.streamed {
            self.live.groups(&end.report.groups, out)?;
            return self.live.finish(&end.report.clients, end.stats, out);
        }
        write_report(end.report, end.stats, out, self.opts)
    }
}

/// For each AAAA probe that got no AAAA record, the A probe of the same client for the
/// same name (within 2 s, the nearest) whose row says it instead; the AAAA row is left
/// out. Only when the AAAA answer holds nothing the A answer does not (a CNAME chain).
fn fold_aaaa(probes: &[&Probe]) -> HashMap<u64, u64> {
    let mut folded: HashMap<u64, u64> = HashMap::new();
    for p in probes.iter().filter(|p| text::aaaa_nodata(p)) {
        let (Some(name), Some(d)) = (p.name.as_deref(), p.dns()) else {
            continue;
        };
        let a = probes
            .iter()
            .filter(|q| {
                q.dns().is_some_and(|qd| {
                    qd.qtype == Some(crate::parse::RrType(1))
                        && d.answers
                            .iter()
                            .all(|x| qd.answers.iter().any(|y| y.data == x.data))
                }) && q
                    .name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
                    && !folded.values().any(|v| *v == q.id)
            })
            .map(|q| {
                let dt = if q.ts.secs_since(&p.ts) > 0.0 {
                    q.ts.secs_since(&p.ts)
                } else {
                    p.ts.secs_since(&q.ts)
                };
                (q.id, dt)
            })
            .filter(|(_, dt)| *dt <= 2.0)
            .min_by(|x, y| x.1.total_cmp(&y.1));
        if let Some((a, _)) = a {
            folded.insert(p.id, a);
        }
    }
    folded
}

/// One probe's cells in the column order of the header.
fn row_cells(
    p: &Probe,
    clock: &Clock,
    cols: Columns,
    no_aaaa: bool,
) -> (Vec<String>, Option<String>) {
    let (brief, more) = text::outcome_brief(p);
    let mut outcome = brief;
    if no_aaaa {
        outcome.push_str(" (no\u{a0}AAAA)");
    }
    let mut row = vec![
        clock.parts(p.ts).1,
        what_words(p),
        keep(&name_cell(p)),
        endpoint(&p.server, p.port),
        keep(&cert_cell(p)),
        p.verdict.map(text::verdict).unwrap_or("").to_string(),
    ];
    if cols.trust {
        row.push(
            p.trust
                .as_deref()
                .map(text::trust_short)
                .unwrap_or("")
                .to_string(),
        );
    }
    row.push(outcome);
    if cols.ja4 {
        row.push(p.tls().and_then(|t| t.ja4.clone()).unwrap_or_default());
    }
    (row, more.then(|| text::outcome(p)))
}

/// The verdict column of the file table (for colour).
const VERDICT_COL: usize = 5;

/// The table width from which the trust column is shown (narrower tables have the
/// `Trust:` list only).
const TRUST_COLUMN_WIDTH: usize = 120;

/// Which optional columns the file table has.
#[derive(Clone, Copy)]
struct Columns {
    trust: bool,
    ja4: bool,
}

fn write_report(
    report: &Report,
    stats: &Stats,
    out: &mut dyn std::io::Write,
    opts: super::Options,
) -> std::io::Result<()> {
    let pen = Pen::new(&opts);
    let clock = Clock::new(opts.local_time);
    if opts.quiet {
        for p in &report.probes {
            let (day, time, _) = clock.parts(p.ts);
            writeln!(out, "{}", text::quiet_line(p, &day, &time))?;
        }
        writeln!(out, "{}", pen.wrap(&text::stats_line(stats), 2))?;
        return out.flush();
    }
    if report.probes.is_empty() {
        writeln!(
            out,
            "No probes found: no TLS handshake, HTTP request or DNS query in the capture."
        )?;
    } else {
        summary(out, report, &pen)?;
    }
    // Each client's probes and groups, found in one pass (not one pass per client: a
    // flood from many addresses makes tens of thousands of clients).
    let mut probes_of: HashMap<IpAddr, Vec<&Probe>> = HashMap::new();
    for p in &report.probes {
        probes_of.entry(p.host_addr()).or_default().push(p);
    }
    let mut groups_of: HashMap<IpAddr, Vec<&Group>> = HashMap::new();
    for g in &report.groups {
        groups_of.entry(g.client).or_default().push(g);
    }
    let mut header = vec![
        "time",
        "proto",
        "name asked for",
        "server",
        "certificate",
        "verdict",
        "trust",
        "outcome",
    ];
    let cols = Columns {
        trust: pen.width.map_or(true, |w| w >= TRUST_COLUMN_WIDTH),
        ja4: opts.ja4,
    };
    if !cols.trust {
        header.retain(|h| *h != "trust");
    }
    if opts.ja4 {
        header.push("JA4");
    }
    for c in &report.clients {
        let probes: Vec<&Probe> = probes_of.remove(&c.client).unwrap_or_default();
        let heading = format!(
            "Client {}: {} probe{}, {} mismatch{}",
            text::client_heading(c),
            c.probes,
            if c.probes == 1 { "" } else { "s" },
            c.mismatches,
            if c.mismatches == 1 { "" } else { "es" }
        );
        writeln!(out, "{}", pen.wrap(&heading, 2))?;
        let folded = fold_aaaa(&probes);
        let rows: Vec<(&Probe, Vec<String>, Option<String>)> = probes
            .iter()
            .filter(|p| !folded.contains_key(&p.id))
            .map(|p| {
                let no_aaaa = folded.values().any(|a| *a == p.id);
                let (cells, detail) = row_cells(p, &clock, cols, no_aaaa);
                let cells = cells.iter().map(|c| pen.sym(c)).collect();
                (*p, cells, detail)
            })
            .collect();
        let cells: Vec<Vec<String>> = rows.iter().map(|r| r.1.clone()).collect();
        let natural = layout::widths(&header, &cells, None, 2, &[], &[]);
        let gap = match pen.width {
            Some(w) if natural.iter().sum::<usize>() + 2 * (natural.len() - 1) > w && w < 100 => 1,
            _ => 2,
        };
        // Names, certificates, outcomes and fingerprints may be shortened in the middle as
        // a last resort; times, protocols, addresses and verdicts never.
        let mut may_shorten = vec![false, false, true, false, true, false];
        if cols.trust {
            may_shorten.push(false);
        }
        may_shorten.extend([true, true]);
        // Times, verdicts and the trust word are never shortened, even as a last resort.
        let whole: Vec<bool> = header
            .iter()
            .map(|h| matches!(*h, "time" | "verdict" | "trust"))
            .collect();
        let w = layout::widths(&header, &cells, pen.width, gap, &may_shorten, &whole);
        let plain = |_: usize, s: &str| s.to_string();
        let head: Vec<String> = header.iter().map(|h| h.to_string()).collect();
        for l in layout::row_lines(&head, &w, gap, &plain) {
            writeln!(out, "{l}")?;
        }
        let total = w.iter().sum::<usize>() + gap * (w.len() - 1);
        writeln!(out, "{}", pen.rule(total))?;
        // The day line again on a new day, and when the zone's offset changes (a DST
        // change inside one day with --local-time).
        let mut day = (String::new(), String::new());
        for (p, cells, detail) in &rows {
            let (d, _, zone) = clock.parts(p.ts);
            if (&d, &zone) != (&day.0, &day.1) {
                writeln!(out, "{}", text::day_line(&d, &zone))?;
                day = (d, zone);
            }
            let paint = |col: usize, s: &str| {
                if col == VERDICT_COL {
                    pen.paint(p.verdict, s)
                } else {
                    s.to_string()
                }
            };
            for l in layout::row_lines(cells, &w, gap, &paint) {
                writeln!(out, "{l}")?;
            }
            if let Some(d) = detail {
                writeln!(out, "{}", pen.wrap(&format!("    ↳ {d}"), 6))?;
            }
            write_details(out, p, opts.verbose, &pen)?;
        }
        if !c.names.is_empty() {
            let line = format!("Names tried, in order: {}", c.names.join(" → "));
            writeln!(out, "{}", pen.wrap(&format!("  {line}"), 4))?;
        }
        let mism: Vec<&Probe> = probes
            .iter()
            .copied()
            .filter(|p| p.verdict == Some(Verdict::Mismatch))
            .collect();
        explain(out, "Mismatches:", &mism, &pen)?;
        let unverified: Vec<&Probe> = probes
            .iter()
            .copied()
            .filter(|p| matches!(p.verdict, Some(Verdict::Unverified) | Some(Verdict::NoName)))
            .collect();
        explain(out, "Not verified:", &unverified, &pen)?;
        let untrusted: Vec<&Probe> = probes
            .iter()
            .copied()
            .filter(|p| p.trust.as_deref().is_some_and(text::trust_problem))
            .collect();
        explain_trust(out, &untrusted, &pen)?;
        let groups: Vec<&Group> = groups_of.remove(&c.client).unwrap_or_default();
        write_groups(out, &groups, &pen)?;
        writeln!(out)?;
    }
    for r in &report.routers {
        writeln!(out, "{}", pen.wrap(&text::router_line(r), 2))?;
    }
    writeln!(out, "{}", pen.wrap(&text::stats_line(stats), 2))?;
    out.flush()
}

/// `-v`/`-vv`: the detail lines of one probe, indented under its row.
pub(crate) fn write_details(
    out: &mut dyn std::io::Write,
    p: &Probe,
    level: u8,
    pen: &Pen,
) -> std::io::Result<()> {
    if level == 0 {
        return Ok(());
    }
    for l in text::detail_lines(p, level) {
        writeln!(out, "{}", pen.wrap(&format!("      {l}"), 8))?;
    }
    Ok(())
}

fn origin_text(m: &Member) -> String {
    let from = m
        .origin_probe
        .map(|p| format!(" of #{p}"))
        .unwrap_or_default();
    match m.origin {
        Origin::Own => "the client's own choice".into(),
        Origin::Cname => format!("a CNAME in the DNS answer{from}"),
        Origin::Srv => format!("the SRV target in the DNS answer{from}"),
        Origin::Redirect => format!("the HTTP redirect{from}"),
        Origin::Mx => format!("the MX host's domain in the DNS MX answer{from}"),
    }
}

fn brief(c: &CertBrief) -> String {
    let mut s = if c.names.is_empty() {
        match &c.subject_cn {
            Some(cn) => format!("CN={cn} (no SAN)"),
            None => "(no names)".into(),
        }
    } else {
        c.names.join(", ")
    };
    if c.self_signed {
        s.push_str(" [self-signed]");
    }
    s
}

fn member_what(m: &Member) -> String {
    let version = m.version.map(|v| match v {
        MemberVersion::Tls(v) => text::tls_version(v),
        MemberVersion::Quic(v) => text::quic_version(v),
    });
    match m.proto {
        Proto::Dns => format!("DNS {}", text::qtype(m.dns_qtype)),
        Proto::Http => format!("HTTP {}", m.http_method.as_deref().unwrap_or("")),
        Proto::Tls => match &version {
            Some(v) => format!("TLS {}", v.trim_start_matches("TLS ")),
            None => "TLS".into(),
        },
        Proto::Quic => format!("QUIC {}", version.as_deref().unwrap_or("")),
    }
}

/// The attempt groups of one client: client → group → probes, with the pattern, how the
/// client got each name, what happened, where it went next, and the fix advice.
pub fn write_groups(
    out: &mut dyn std::io::Write,
    groups: &[&Group],
    pen: &Pen,
) -> std::io::Result<()> {
    if groups.is_empty() {
        return Ok(());
    }
    let line = |out: &mut dyn std::io::Write, indent: usize, text: &str| {
        writeln!(
            out,
            "{}",
            pen.wrap(&format!("{}{text}", " ".repeat(indent)), indent + 2)
        )
    };
    writeln!(out, "  Attempt groups:")?;
    for g in groups {
        let conns = g.members.iter().filter(|m| m.proto != Proto::Dns).count();
        let mut head = format!("Group {} · {}", g.id, g.domain);
        if let Some(p) = g.pattern {
            head.push_str(&format!(" · {}", text::pattern_label(p)));
        }
        head.push_str(&format!(
            " · {} probe{} ({} connection{}), {} mismatch{}",
            g.members.len(),
            if g.members.len() == 1 { "" } else { "s" },
            conns,
            if conns == 1 { "" } else { "s" },
            g.mismatches.len(),
            if g.mismatches.len() == 1 { "" } else { "es" }
        ));
        line(out, 2, &head)?;
        if let Some(p) = g.pattern {
            line(out, 4, text::pattern_explanation(p))?;
        }
        if let Some(l) = text::priority_summary(g) {
            line(out, 4, &l)?;
        }
        for m in &g.members {
            let name = m.name.as_deref().unwrap_or("(no name)");
            let id = format!("#{}", m.probe);
            let outcome = text::outcome_of(&m.outcome, m.dns.as_ref(), m.quic.as_deref());
            if m.proto == Proto::Dns {
                let mut s = format!("{id:<4} {:<9} {name}: {}", member_what(m), outcome);
                if m.origin != Origin::Own {
                    s.push_str(&format!(" (name from {})", origin_text(m)));
                }
                if let Some(st) = &m.step {
                    s.push_str(&format!(" [{}]", text::step(st)));
                }
                line(out, 4, &s)?;
                continue;
            }
            line(
                out,
                4,
                &format!(
                    "{id:<4} {:<9} {name} at {}",
                    member_what(m),
                    endpoint(&m.server, m.port)
                ),
            )?;
            let sub = 9;
            if let Some(st) = &m.step {
                line(out, sub, &text::step(st))?;
            }
            let mut how = format!("name: {}", origin_text(m));
            match m.address_from {
                Some(d) => {
                    how.push_str(&format!("; address: DNS answer #{d}"));
                    if !m.cname_chain.is_empty() {
                        how.push_str(&format!(" (via CNAME {})", m.cname_chain.join(" → ")));
                    }
                }
                None => how.push_str("; address: no DNS answer for it in the capture"),
            }
            line(out, sub, &how)?;
            if matches!(m.proto, Proto::Tls | Proto::Quic) {
                let cert = match &m.cert {
                    Some(c) => brief(c),
                    None if m.proto == Proto::Quic => "(encrypted)".into(),
                    None => "(not seen)".into(),
                };
                let verdict = m.verdict.map(text::verdict).unwrap_or("");
                let trust = m
                    .trust
                    .as_ref()
                    .map(|t| format!("; trust: {}", text::trust_code(t)))
                    .unwrap_or_default();
                line(out, sub, &format!("certificate: {cert} → {verdict}{trust}"))?;
            }
            line(out, sub, &format!("outcome: {outcome}"))?;
            if let Some(n) = &m.moved_on {
                let redirected = m.http_status.is_some_and(|s| (300..400).contains(&s));
                line(out, sub, &text::moved_on(n, redirected))?;
            }
        }
        if g.members_dropped > 0 {
            line(
                out,
                4,
                &format!(
                    "(+{} more probes not listed: group bound)",
                    g.members_dropped
                ),
            )?;
        }
        if let Some(a) = &g.advice {
            for l in text::fix_advice(a, &g.domain) {
                line(out, 4, &l)?;
            }
        }
    }
    Ok(())
}
