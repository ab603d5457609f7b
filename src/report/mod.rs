//! Stage 6: output formats. Only this module knows about tables and JSON.

pub mod json;
pub mod stream;
pub mod table;
pub mod timeline;

pub use stream::Stream;

use crate::capture::Timestamp;
use crate::correlate::Report;
use crate::stats::Stats;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

/// RFC 3339 UTC with microseconds.
pub fn rfc3339(ts: Timestamp) -> String {
    let micros = ts.nanos / 1000;
    match time::OffsetDateTime::from_unix_timestamp(ts.secs) {
        Ok(dt) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            micros
        ),
        Err(_) => format!("{}.{:06}", ts.secs, micros),
    }
}

pub use table::Options as TableOptions;

/// Like [`write`], with optional table columns.
pub fn write_with(
    format: Format,
    report: &Report,
    stats: &Stats,
    out: &mut dyn std::io::Write,
    width: u16,
    opts: &TableOptions,
) -> std::io::Result<()> {
    match format {
        Format::Table if opts.timeline => timeline::write(report, stats, out, width),
        Format::Table => table::write_with(report, stats, out, width, opts),
        Format::Json => json::write(report, stats, out),
    }
}

pub fn write(
    format: Format,
    report: &Report,
    stats: &Stats,
    out: &mut dyn std::io::Write,
    width: u16,
) -> std::io::Result<()> {
    match format {
        Format::Table => table::write(report, stats, out, width),
        Format::Json => json::write(report, stats, out),
    }
}
