//! The human report: one section per client, probes in time order, then the names the
//! client tried and the mismatches with their reasons.

use comfy_table::{
    Cell, ColumnConstraint, ContentArrangement, LineStyle, Table, TableStyle, Width,
};

/// No borders, a rule under the header: fits more text in 80–120 columns.
pub(crate) const STYLE: TableStyle =
    TableStyle::new().header_separator(LineStyle::none().fill('─').junction('─'));

use std::collections::HashMap;
use std::net::IpAddr;

use super::text;
use crate::correlate::groups::{CertBrief, Group, Member, MemberVersion, Origin};
use crate::correlate::{CertSource, Probe, Proto, Report, Verdict};
use crate::parse::CertInfo;
use crate::stats::Stats;

pub(crate) fn time_of_day(p: &Probe) -> String {
    let s = p.ts.secs.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
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
    match &p.kind {
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
    }
}

pub(crate) fn name_cell(p: &Probe) -> String {
    let mut n = p.name.clone().unwrap_or_else(|| "-".into());
    if let Some(h) = p.http() {
        if h.path != "/" && !h.path.is_empty() {
            n.push_str(&h.path);
        }
    }
    if p.name_source == Some(crate::correlate::NameSource::DnsAnswer) {
        n.push_str(" (via DNS)");
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
pub(crate) fn wrap(text: &str, width: usize, indent: usize) -> String {
    let body = text.trim_start_matches(' ');
    let lead = text.len() - body.len();
    let mut out = " ".repeat(lead);
    let mut col = lead;
    let mut first = true;
    for word in body.split(' ') {
        let w = word.chars().count();
        if col > indent && col + 1 + w > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            col = indent;
        } else if !first {
            out.push(' ');
            col += 1;
        }
        first = false;
        out.push_str(word);
        col += w;
    }
    out
}

/// One line per distinct (name, server, reason), with a count when repeated.
fn explain(
    out: &mut dyn std::io::Write,
    title: &str,
    probes: &[&Probe],
    width: u16,
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
        writeln!(
            out,
            "{}",
            wrap(&format!("    - {line}"), usize::from(width).max(40), 6)
        )?;
    }
    Ok(())
}

/// Below 100 columns the time column goes (rows stay in time order; JSON has the time).
fn narrow_skip<T>(width: u16, mut row: Vec<T>) -> Vec<T> {
    if width < 100 && !row.is_empty() {
        row.remove(0);
    }
    row
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
            live: super::stream::LiveTable::new(opts.width),
        }
    }
}

impl super::Writer for TableWriter {
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

fn write_report(
    report: &Report,
    stats: &Stats,
    out: &mut dyn std::io::Write,
    opts: super::Options,
) -> std::io::Result<()> {
    let width = opts.width;
    if report.probes.is_empty() {
        writeln!(
            out,
            "No probes found: no TLS handshake, HTTP request or DNS query in the capture."
        )?;
    }
    // Each client's probes and groups, found in one pass (not one pass per client: a
    // flood from many addresses makes tens of thousands of clients).
    let mut probes_of: HashMap<IpAddr, Vec<&Probe>> = HashMap::new();
    for p in &report.probes {
        probes_of.entry(p.client).or_default().push(p);
    }
    let mut groups_of: HashMap<IpAddr, Vec<&Group>> = HashMap::new();
    for g in &report.groups {
        groups_of.entry(g.client).or_default().push(g);
    }
    for c in &report.clients {
        let probes: Vec<&Probe> = probes_of.remove(&c.client).unwrap_or_default();
        writeln!(
            out,
            "Client {}: {} probe{}, {} mismatch{}",
            c.client,
            c.probes,
            if c.probes == 1 { "" } else { "s" },
            c.mismatches,
            if c.mismatches == 1 { "" } else { "es" }
        )?;
        let mut t = Table::new();
        t.load_style(STYLE)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(width)
            .set_header(narrow_skip(width, {
                let mut h = vec![
                    "time",
                    "proto",
                    "name asked for",
                    "server",
                    "certificate",
                    "verdict",
                    "outcome",
                ];
                if opts.ja4 {
                    h.push("JA4");
                }
                h
            }));
        for p in &probes {
            let cert = cert_cell(p);
            let mut row = vec![
                Cell::new(time_of_day(p)),
                Cell::new(what(p)),
                Cell::new(name_cell(p)),
                Cell::new(endpoint(&p.server, p.port)),
                Cell::new(cert),
                Cell::new(p.verdict.map(text::verdict).unwrap_or("")),
                Cell::new(text::outcome(p)),
            ];
            if opts.ja4 {
                let ja4 = p.tls().and_then(|t| t.ja4.clone());
                row.push(Cell::new(ja4.unwrap_or_default()));
            }
            t.add_row(narrow_skip(width, row));
        }
        let (short, name_col): (&[usize], usize) = if width < 100 {
            (&[0, 2, 4], 1)
        } else {
            (&[0, 1, 3, 5], 2)
        };
        // Short columns never wrap; names, certificates and outcomes take the rest.
        let ja4_col = opts.ja4.then_some(if width < 100 { 7 } else { 8 });
        for &i in short.iter().chain(ja4_col.iter()) {
            if let Some(col) = t.column_mut(i) {
                col.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
        if let Some(col) = t.column_mut(name_col) {
            col.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(
                (width / 4).clamp(16, 26),
            )));
        }
        for col in t.column_iter_mut() {
            col.set_padding((0, 1));
        }
        writeln!(out, "{t}")?;
        if !c.names.is_empty() {
            let line = format!("Names tried, in order: {}", c.names.join(" → "));
            writeln!(
                out,
                "{}",
                wrap(&format!("  {line}"), usize::from(width).max(40), 4)
            )?;
        }
        let mism: Vec<&Probe> = probes
            .iter()
            .copied()
            .filter(|p| p.verdict == Some(Verdict::Mismatch))
            .collect();
        explain(out, "Mismatches:", &mism, width)?;
        let unverified: Vec<&Probe> = probes
            .iter()
            .copied()
            .filter(|p| matches!(p.verdict, Some(Verdict::Unverified) | Some(Verdict::NoName)))
            .collect();
        explain(out, "Not verified:", &unverified, width)?;
        let groups: Vec<&Group> = groups_of.remove(&c.client).unwrap_or_default();
        write_groups(out, &groups, width)?;
        writeln!(out)?;
    }
    writeln!(
        out,
        "{}",
        wrap(&text::stats_line(stats), usize::from(width).max(40), 2)
    )?;
    out.flush()
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
    width: u16,
) -> std::io::Result<()> {
    if groups.is_empty() {
        return Ok(());
    }
    let w = usize::from(width).max(40);
    let line = |out: &mut dyn std::io::Write, indent: usize, text: &str| {
        writeln!(
            out,
            "{}",
            wrap(&format!("{}{text}", " ".repeat(indent)), w, indent + 2)
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
                line(out, sub, &format!("certificate: {cert} → {verdict}"))?;
            }
            line(out, sub, &format!("outcome: {outcome}"))?;
            if let Some(n) = &m.moved_on {
                let redirected = m.http_status.is_some_and(|s| (300..400).contains(&s));
                let how = if n.followed_redirect {
                    "followed the redirect to"
                } else if redirected {
                    "did not follow the redirect; it moved on to"
                } else {
                    "moved on to"
                };
                line(
                    out,
                    sub,
                    &format!(
                        "then: the client {how} {} ({}, port {}) {:.3} s later",
                        n.name,
                        text::proto(n.proto).to_ascii_uppercase(),
                        n.port,
                        n.after_secs
                    ),
                )?;
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
            if !a.san.is_empty() {
                line(
                    out,
                    4,
                    &format!(
                        "Fix: one certificate with SAN {} would satisfy every HTTPS probe of this group for {}.",
                        a.san.join(", "),
                        g.domain
                    ),
                )?;
            }
            if let Some(wc) = &a.wildcard {
                if a.wildcard_cannot_cover.is_empty() {
                    line(out, 4, &format!("A wildcard {wc} would cover all of them."))?;
                } else {
                    let list: Vec<String> = a
                        .wildcard_cannot_cover
                        .iter()
                        .map(|u| format!("{} ({})", u.name, text::uncovered(u.why)))
                        .collect();
                    line(
                        out,
                        4,
                        &format!("A wildcard {wc} cannot cover: {}.", list.join("; ")),
                    )?;
                }
            }
            for n in &a.notes {
                line(out, 4, &format!("Note: {}.", text::note(n)))?;
            }
        }
    }
    Ok(())
}
