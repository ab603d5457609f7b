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
pub mod json;
pub mod layout;
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
    /// Each client's fan-out over time: one lane per name, then the walk in words
    /// (capture files).
    Timeline,
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
}

/// The writer of a format: the one place that lists them.
pub fn writer(format: Format, opts: Options) -> Box<dyn Writer> {
    match format {
        Format::Table => Box::new(table::TableWriter::new(opts)),
        Format::Json => Box::new(json::JsonWriter),
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
