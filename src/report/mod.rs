//! Stage 6: output formats. Only this module writes text: [`text`] holds every sentence
//! and every name of a wire value; each format is one [`Writer`] in a file of its own.
//!
//! Both paths use the same writers: a capture file's report calls [`Writer::finish`] once
//! with every probe in time order; a live capture calls [`Writer::probe`] as each probe
//! completes, then [`Writer::finish`] with the groups, clients and stats.
//!
//! Adding a format: a file with its writer, a variant of [`Format`] (its doc comment is the
//! `--format` help), and its line in [`writer`].

pub mod community_id;
pub mod ecs;
pub mod html;
pub mod json;
pub mod layout;
pub mod mermaid;
pub mod sequence;
pub mod stream;
pub mod table;
pub mod text;
pub mod timeline;

use std::io::Write;

use crate::correlate::{Probe, Report};
use crate::stats::Stats;

pub use text::rfc3339;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One table per client, then a summary (for people).
    Table,
    /// JSON Lines: probe, group, client and stats objects (for scripts).
    Json,
    /// Elastic Common Schema: one JSON document per probe (for Elasticsearch and other
    /// pipelines that read ECS; docs/ecs.md).
    Ecs,
    /// Mermaid sequence diagrams, one per attempt group (client → DNS → servers, the
    /// certificates and verdicts as notes), for slides and Markdown.
    Mermaid,
    /// One self-contained HTML page: the summary, a sequence diagram per attempt group,
    /// the per-client tables and the fix advice (for projectors and print).
    Html,
    /// Each client's fan-out over time: one lane per name, then the walk in words
    /// (live: drawn when the capture stops).
    Timeline,
}

impl Format {
    /// Whether the format writes a row or line per probe, which a stream (a pipe, standard
    /// input) gets as each probe completes, as a live capture does; the others draw the
    /// whole at the end.
    pub fn writes_rows(self) -> bool {
        match self {
            Format::Table | Format::Json | Format::Ecs => true,
            Format::Mermaid | Format::Html | Format::Timeline => false,
        }
    }

    /// Whether, read from a stream, the report is written probe by probe as live (`ja4`:
    /// the table's JA4 column, which only the laid-out table has).
    pub fn rows_from_a_stream(self, ja4: bool) -> bool {
        self.writes_rows() && !(self == Format::Table && ja4)
    }
}

/// What every format may use.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Width in columns; 0: no limit (table rows on one line each).
    pub width: u16,
    /// A JA4 column in the table.
    pub ja4: bool,
    /// Verdicts in colour (ANSI escapes).
    pub color: bool,
    /// ASCII rules and arrows (the locale is not UTF-8).
    pub ascii: bool,
    /// Times in the system's zone instead of UTC.
    pub local_time: bool,
    /// Mermaid diagrams inside Markdown fences.
    pub mermaid_fences: bool,
    /// `-q`: the table is one line per probe (names and verdicts) and the stats line.
    pub quiet: bool,
    /// `-v` (1) and `-vv` (2): the table has detail lines under every probe.
    pub verbose: u8,
}

/// Whether the locale (the first of `LC_ALL`, `LC_CTYPE`, `LANG` that is set) is UTF-8.
pub fn utf8_locale(var: &dyn Fn(&str) -> Option<String>) -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| var(k).filter(|v| !v.is_empty()))
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

/// The end of a report: everything still to write.
pub struct End<'a> {
    /// Every probe in time order (a capture file), or none (they were streamed live) and
    /// the groups and per-client summaries.
    pub report: &'a Report,
    pub stats: &'a Stats,
    /// The probes were already written one by one with [`Writer::probe`].
    pub streamed: bool,
}

/// Most probes a view drawn at the end (`--format html`, `--timeline`) keeps from a live
/// capture; the probes after it are counted ([`Kept::dropped`]) and the view says how many.
pub const MAX_KEPT_PROBES: usize = 20_000;

/// The probes a view drawn at the end keeps from a live capture, at most
/// [`MAX_KEPT_PROBES`].
#[derive(Default)]
pub struct Kept {
    pub probes: Vec<Probe>,
    /// Probes not kept: the bound was reached.
    pub dropped: u64,
}

impl Kept {
    pub fn push(&mut self, p: &Probe) {
        if self.probes.len() < MAX_KEPT_PROBES {
            self.probes.push(p.clone());
        } else {
            self.dropped += 1;
        }
    }

    /// The report to draw: a capture file's own, or a live capture's groups and clients
    /// with the probes kept.
    pub fn report<'a>(&mut self, end: &End<'a>) -> std::borrow::Cow<'a, Report> {
        if !end.streamed {
            return std::borrow::Cow::Borrowed(end.report);
        }
        std::borrow::Cow::Owned(Report {
            probes: std::mem::take(&mut self.probes),
            clients: end.report.clients.clone(),
            groups: end.report.groups.clone(),
            routers: end.report.routers.clone(),
        })
    }
}

/// One output format.
pub trait Writer {
    /// Whether the format can write probes as they complete (a live capture).
    fn streams(&self) -> bool {
        true
    }

    /// Writes one probe as soon as it completes (live capture), and flushes.
    fn probe(&mut self, p: &Probe, out: &mut dyn Write) -> std::io::Result<()>;

    /// Writes the rest: the probes of a capture file, the groups, clients and stats.
    fn finish(&mut self, end: &End<'_>, out: &mut dyn Write) -> std::io::Result<()>;

    /// A capture file held more than `held` probes: its report is streamed from here on
    /// (rows as probes complete, groups and clients from bounded tables). Returns whether
    /// the output says so; if not, the caller says it on stderr.
    fn bound_passed(&mut self, _held: usize, _out: &mut dyn Write) -> std::io::Result<bool> {
        Ok(false)
    }
}

/// The writer of a format: the one place that lists them.
pub fn writer(format: Format, opts: Options) -> Box<dyn Writer> {
    match format {
        Format::Table => Box::new(table::TableWriter::new(opts)),
        Format::Json => Box::new(json::JsonWriter::default()),
        Format::Ecs => Box::new(ecs::EcsWriter),
        Format::Mermaid => Box::new(mermaid::MermaidWriter::new(opts)),
        Format::Html => Box::new(html::HtmlWriter::default()),
        Format::Timeline => Box::new(timeline::TimelineWriter::new(opts)),
    }
}

/// Writes a capture file's whole report in one format.
pub fn write(
    format: Format,
    report: &Report,
    stats: &Stats,
    out: &mut dyn Write,
    opts: Options,
) -> std::io::Result<()> {
    let end = End {
        report,
        stats,
        streamed: false,
    };
    writer(format, opts).finish(&end, out)
}
