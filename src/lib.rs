//! probewatch: which hostnames each client tried, in what order, and where the name it
//! asked for did not match the certificate the server showed.
//!
//! The data flows through one module per stage, each seeing only the previous stage's
//! owned output: `capture → decode → reassemble → parse → correlate → report`.
#![forbid(unsafe_code)]
#![recursion_limit = "256"]

pub mod capture;
pub mod correlate;
pub mod decode;
pub mod error;
pub mod live;
pub mod parse;
pub mod privs;
pub mod reassemble;
pub mod report;
pub mod stats;

#[doc(hidden)]
pub mod fuzzing;

use std::io::Write;

pub use error::Error;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use capture::{
    FileSource, Filter, Input, LinkType, Packet, PacketView, PcapWriter, Stopped, Timestamp,
};
use correlate::{Collector, CorrelateLimits, Correlator, Probe};
use decode::{Decoder, DefragLimits};
use parse::{ParseLimits, Parser};
use reassemble::{Limits, Reassembler};
use report::Format;
use stats::Stats;

/// All named bounds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bounds {
    pub reassembly: Limits,
    pub defrag: DefragLimits,
    pub parse: ParseLimits,
    pub correlate: CorrelateLimits,
    pub keylog: parse::keylog::KeyLogLimits,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub inputs: Vec<Input>,
    pub filter: Option<String>,
    pub format: Format,
    pub bounds: Bounds,
    /// Width, JA4 column.
    pub output: report::Options,
    /// Show progress on stderr.
    pub progress: bool,
    /// The anchors chains are judged against (`--trust`, `--ca-file`).
    pub trust: std::sync::Arc<correlate::trust::TrustStore>,
    /// Write the packets that pass the filter here (pcap), as `tcpdump -r IN -w OUT`.
    pub save: Option<PathBuf>,
    /// Stop after this many probes (`-c`).
    pub max_probes: Option<u64>,
    /// Set (by Ctrl-C) to stop reading and report what was found.
    pub stop: Option<Arc<AtomicBool>>,
    /// Key log files (`--keylog`): TLS 1.3 and QUIC handshakes are opened with them.
    pub keylogs: Vec<std::path::PathBuf>,
    /// `--threads`: 0 for one per core, 1 for everything on one thread (see
    /// [`pipeline_threads`]).
    pub threads: usize,
    /// Flush the report after each probe line even when reading files (the report goes
    /// to a terminal: its lines show as they complete). A stream input always does.
    pub flush_lines: bool,
}

/// What the flow stages (decode, reassemble, parse) hand the correlator, in packet order.
/// A run on one thread applies each at once; on several, they travel in batches from the
/// flow thread to the correlating thread ([`HANDOFF_BATCH_ITEMS`],
/// [`HANDOFF_BATCHES_IN_FLIGHT`]), so the correlator sees exactly the same sequence.
// Nearly every handoff is a parsed event: boxing it would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Handoff {
    /// An event of the parse stage.
    Parsed(parse::Parsed),
    /// Capture time passed (once a second at most): the correlator ends what waited.
    Expire(Timestamp),
    /// No packet comes any more: the flows still open end next.
    InputEnded,
    /// Every flow ended (the end of the input).
    Finish,
}

/// Handoffs (and marks) of one batch handed from the flow thread to the correlating thread.
pub const HANDOFF_BATCH_ITEMS: usize = 128;
/// Batches in flight between the two threads (the flow thread waits when they are full).
pub const HANDOFF_BATCHES_IN_FLIGHT: usize = 4;

/// The flow stages: decode, reassemble and parse. Everything here looks at one flow at a
/// time; the correlator, which looks across flows, gets their [`Handoff`]s.
pub struct Front {
    decoder: Decoder,
    reassembler: Reassembler,
    parser: Parser,
    events: Vec<reassemble::Event>,
    parsed: Vec<parse::Parsed>,
    stops: Vec<parse::Stop>,
    last_expire: Option<Timestamp>,
    keylog_limits: parse::keylog::KeyLogLimits,
    /// The flows began to end ([`Handoff::InputEnded`] was handed over).
    input_ended: bool,
}

impl Front {
    pub fn new(b: Bounds) -> Self {
        Front {
            decoder: Decoder::new(b.defrag),
            reassembler: Reassembler::new(b.reassembly),
            parser: Parser::new(b.parse),
            events: Vec::new(),
            parsed: Vec::new(),
            stops: Vec::new(),
            last_expire: None,
            keylog_limits: b.keylog,
            input_ended: false,
        }
    }

    /// Feeds one packet through decode, reassemble and parse; what the correlator needs is
    /// appended to `out`.
    pub fn packet_view(&mut self, pkt: PacketView<'_>, out: &mut Vec<Handoff>) {
        if let Some(d) = self.decoder.decode_ref(pkt) {
            self.reassembler.push(d, &mut self.events);
        }
        self.tick(pkt.ts, out);
    }

    /// See [`Pipeline::tick`].
    pub fn tick(&mut self, now: Timestamp, out: &mut Vec<Handoff>) {
        let due = match self.last_expire {
            None => true,
            Some(t) => now.secs > t.secs,
        };
        if due {
            self.last_expire = Some(now);
            self.reassembler.expire(now, &mut self.events);
            self.decoder.expire(now);
            self.drain(out);
            out.push(Handoff::Expire(now));
        }
        self.drain(out);
    }

    fn drain(&mut self, out: &mut Vec<Handoff>) {
        if self.events.is_empty() {
            return;
        }
        self.parse_events();
        if self.reassembler.over_budget(self.parser.held()) {
            // The budget for bytes buffered across flows: the least recently active
            // flows' buffers are dropped, each with a gap the parser and report see.
            let held = self.parser.held_by_flow();
            self.reassembler.shed(&held, &mut self.events);
            self.parse_events();
        }
        out.extend(self.parsed.drain(..).map(Handoff::Parsed));
    }

    /// Hands the reassembler's events to the parser, and the parser's stops (flows it
    /// needs no more bytes of) back to the reassembler.
    fn parse_events(&mut self) {
        for ev in self.events.drain(..) {
            if let Some(buf) = self.parser.push(ev, &mut self.parsed, &mut self.stops) {
                self.reassembler.recycle(buf);
            }
        }
        for (c, s, d) in self.stops.drain(..) {
            self.reassembler.stop(c, s, d);
        }
    }

    /// Ends every flow.
    pub fn finish(&mut self, out: &mut Vec<Handoff>) {
        while self.finish_some(usize::MAX, out) {}
    }

    /// Ends at most `max` flows (the oldest first), so that the events, facts and probes
    /// of a full flow table are not all held at once; returns whether flows are left. The
    /// last call also hands over [`Handoff::Finish`].
    pub fn finish_some(&mut self, max: usize, out: &mut Vec<Handoff>) -> bool {
        if !self.input_ended {
            self.input_ended = true;
            out.push(Handoff::InputEnded);
        }
        let more = self.reassembler.finish_some(max, &mut self.events);
        self.drain(out);
        if !more {
            out.push(Handoff::Finish);
        }
        more
    }

    /// The counters of the flow stages so far.
    pub fn stats(&self) -> Stats {
        let mut parse = self.parser.stats.clone();
        (
            parse.cert_cache_hits,
            parse.cert_cache_parsed,
            parse.cert_cache_evictions,
        ) = self.parser.cert_cache();
        Stats {
            decode: self.decoder.stats.clone(),
            reassembly: self.reassembler.stats.clone(),
            parse,
            keylog: self
                .parser
                .keylog_stats()
                .map(|(log, randoms, read_errors)| stats::KeyLogCounts {
                    log,
                    randoms,
                    read_errors,
                }),
            ..Stats::default()
        }
    }

    /// Reads key log files (see [`Pipeline::keylog_from`]).
    pub fn keylog_from(
        &mut self,
        paths: &[std::path::PathBuf],
        limits: parse::keylog::KeyLogLimits,
        live: bool,
    ) -> Result<(), Error> {
        if paths.is_empty() {
            return Ok(());
        }
        let ks =
            parse::keylog::KeySource::open(paths, limits, live, None).map_err(|(path, e)| {
                let path = path.display().to_string();
                if e.kind() == std::io::ErrorKind::Unsupported {
                    Error::KeyLogStreamLive { path }
                } else {
                    Error::KeyLog {
                        path,
                        reason: error::io_reason(&e),
                    }
                }
            })?;
        self.parser.set_keylog(ks);
        Ok(())
    }

    /// See [`Pipeline::add_secrets`].
    pub fn add_secrets(&mut self, secrets_type: u32, data: &[u8]) {
        self.parser
            .add_secrets(secrets_type, data, self.keylog_limits);
    }
}

/// Applies a handoff to the correlator.
pub(crate) fn apply(correlator: &mut Correlator, h: Handoff) {
    match h {
        Handoff::Parsed(p) => correlator.push(p),
        Handoff::Expire(now) => correlator.expire(now),
        Handoff::InputEnded => correlator.input_ended(),
        Handoff::Finish => correlator.finish(),
    }
}

/// The stages wired together on one thread.
pub struct Pipeline {
    front: Front,
    correlator: Correlator,
    handoff: Vec<Handoff>,
}

impl Pipeline {
    pub fn new(b: Bounds) -> Self {
        Pipeline {
            front: Front::new(b),
            correlator: Correlator::new(b.correlate),
            handoff: Vec::new(),
        }
    }

    /// The host `ip` belongs to from the MACs learned so far (see [`Correlator::host_of`]).
    pub fn host_of(&self, ip: std::net::IpAddr) -> Option<correlate::hosts::Host> {
        self.correlator.host_of(ip)
    }

    /// The MACs whose addresses were kept apart (a streamed report).
    pub fn routers(&self) -> Vec<correlate::hosts::Router> {
        self.correlator.routers()
    }

    /// The MAC address client address `ip` was seen with, if any.
    pub fn mac_of(&self, ip: std::net::IpAddr) -> Option<decode::Mac> {
        self.correlator.mac_of(ip)
    }

    /// A pipeline that judges certificate chains against `trust`.
    pub fn with_trust(b: Bounds, trust: std::sync::Arc<correlate::trust::TrustStore>) -> Self {
        let mut p = Pipeline::new(b);
        p.correlator = Correlator::with_trust(b.correlate, trust);
        p
    }

    /// Opens TLS 1.3 and QUIC handshakes with this key log.
    pub fn set_keylog(&mut self, keys: parse::keylog::KeySource) {
        self.front.parser.set_keylog(keys);
    }

    /// The secrets of a pcapng Decryption Secrets Block (read by the capture stage):
    /// a TLS key log is added to the key log (one is started when none was given).
    pub fn add_secrets(&mut self, secrets_type: u32, data: &[u8]) {
        self.front.add_secrets(secrets_type, data);
    }

    /// Reads key log files (`live`: keep following them as they grow).
    pub fn keylog_from(
        &mut self,
        paths: &[std::path::PathBuf],
        limits: parse::keylog::KeyLogLimits,
        live: bool,
    ) -> Result<(), Error> {
        self.front.keylog_from(paths, limits, live)
    }

    /// Feeds one packet through every stage. Completed probes wait in the pipeline until
    /// [`Pipeline::take_probes`].
    pub fn packet(&mut self, pkt: &Packet) {
        self.packet_view(pkt.view());
    }

    /// [`Pipeline::packet`] for a borrowed packet.
    pub fn packet_view(&mut self, pkt: PacketView<'_>) {
        self.front.packet_view(pkt, &mut self.handoff);
        self.apply();
    }

    fn apply(&mut self) {
        for h in self.handoff.drain(..) {
            apply(&mut self.correlator, h);
        }
    }

    /// Lets time pass (once a second at most does anything): ends idle flows, drops stale
    /// fragments, reports probes that waited longer than the probe timeout. A live capture
    /// calls this with the wall clock when the interface is quiet.
    pub fn tick(&mut self, now: Timestamp) {
        self.front.tick(now, &mut self.handoff);
        self.apply();
    }

    /// Moves the probes completed so far into `out`, in the order they completed.
    pub fn take_probes(&mut self, out: &mut Vec<Probe>) {
        self.correlator.take_ready(out);
    }

    pub fn probe_count(&self) -> u64 {
        self.correlator.probe_count()
    }

    /// Ends every flow; the last probes are then ready to take.
    pub fn finish(&mut self) {
        while self.finish_some(usize::MAX) {}
    }

    /// Ends at most `max` flows (see [`Front::finish_some`]); returns whether flows are
    /// left. The probes of the flows ended are then ready to take.
    pub fn finish_some(&mut self, max: usize) -> bool {
        let more = self.front.finish_some(max, &mut self.handoff);
        self.apply();
        more
    }

    /// The counters of every stage so far.
    pub fn stats(&self) -> Stats {
        Stats {
            correlate: self.correlator.stats().clone(),
            ..self.front.stats()
        }
    }
}

fn progress_bar(name: &str, total: Option<u64>) -> indicatif::ProgressBar {
    let pb = match total {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let style = if total.is_some() {
        "{prefix} {bar:30} {bytes}/{total_bytes} ({percent}%) {msg}"
    } else {
        "{prefix} {spinner} {bytes} {msg}"
    };
    if let Ok(s) = indicatif::ProgressStyle::with_template(style) {
        pb.set_style(s);
    }
    pb.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
    pb.set_prefix(name.to_string());
    pb
}

/// Probes held after they complete so that a streamed report keeps time order: a probe
/// is written once capture time has passed its start by [`Reorder::window`] (the probe
/// timeout plus [`REORDER_SLACK_SECS`]), or when more than [`REORDER_MAX_PROBES`] wait.
pub struct Reorder {
    /// Boxed: the tree's nodes stay small (a node holds up to 11 entries, most part-filled).
    held: std::collections::BTreeMap<(Timestamp, u64), Box<Probe>>,
    seq: u64,
    window: f64,
    /// Probes written before their window passed because too many waited.
    pub forced: u64,
}

/// Flows ended at once at the end of the input.
const FINISH_BATCH: usize = 1024;

/// Seconds added to the probe timeout for the reorder window of a streamed report.
pub const REORDER_SLACK_SECS: f64 = 2.0;
/// Completed probes held at most for a streamed report (a SYN flood's probes: about 13 MiB).
pub const REORDER_MAX_PROBES: usize = 16_384;

impl Reorder {
    pub fn new(probe_timeout_secs: f64) -> Self {
        Reorder {
            held: std::collections::BTreeMap::new(),
            seq: 0,
            window: probe_timeout_secs + REORDER_SLACK_SECS,
            forced: 0,
        }
    }

    /// No window: every probe is written as soon as it completes, in the order the probes
    /// complete (a stream, as a live capture: a row should not wait for the probe timeout).
    pub fn at_once() -> Self {
        Reorder {
            window: f64::NEG_INFINITY,
            ..Reorder::new(0.0)
        }
    }

    pub fn push(&mut self, p: Probe) {
        self.seq += 1;
        self.held.insert((p.ts, self.seq), Box::new(p));
    }

    /// When the earliest probe held started.
    pub fn first_start(&self) -> Option<Timestamp> {
        self.held.first_key_value().map(|((ts, _), _)| *ts)
    }

    /// Moves to `out`, in time order, the probes whose window has passed at `now` (all of
    /// them when `now` is `None`).
    pub fn ready(&mut self, now: Option<Timestamp>, out: &mut Vec<Probe>) {
        while let Some(p) = self.next_ready(now, None) {
            out.push(p);
        }
    }

    /// The next probe, in time order, whose window has passed at `now` (any when `now` is
    /// `None`): taken one at a time, so that no second copy of many probes is made.
    /// `floor`: no probe still to come starts before it ([`Correlator::floor`]), so the
    /// probes that started earlier need not wait for their window.
    pub fn next_ready(
        &mut self,
        now: Option<Timestamp>,
        floor: Option<Timestamp>,
    ) -> Option<Probe> {
        let over = self.held.len() > REORDER_MAX_PROBES;
        let entry = self.held.first_entry()?;
        let start = entry.key().0;
        let due = match now {
            None => true,
            Some(now) => now.secs_since(&start) > self.window || floor.is_some_and(|f| start < f),
        };
        let forced = !due && over;
        if !due && !forced {
            return None;
        }
        if forced {
            self.forced += 1;
        }
        Some(*entry.remove())
    }
}

/// Where completed probes go, and the writer they go to.
struct Sink {
    writer: Box<dyn report::Writer>,
    mode: Mode,
}

/// Held for a report laid out at the end (table, timeline, …) while they number at most
/// [`CorrelateLimits::max_probes`], or written as they complete, in time order (JSON; any
/// format once that bound is passed).
enum Mode {
    Collect(Collector),
    Stream {
        reorder: Reorder,
        numbering: Box<correlate::Numbering>,
        /// Probes held when the layout bound was passed (`None`: streamed from the start).
        passed: Option<usize>,
    },
}

impl Mode {
    /// `at_once`: a stream's probes are written as they complete, as live.
    fn stream(cfg: &Config, passed: Option<usize>, at_once: bool) -> Mode {
        let reorder = if at_once {
            Reorder::at_once()
        } else {
            Reorder::new(cfg.bounds.correlate.probe_timeout_secs)
        };
        Mode::Stream {
            reorder,
            numbering: Box::new(correlate::Numbering::new(
                cfg.bounds.correlate,
                cfg.bounds.correlate.groups,
            )),
            passed,
        }
    }
}

impl Sink {
    fn add(
        &mut self,
        cfg: &Config,
        ready: &mut Vec<Probe>,
        now: Option<Timestamp>,
        correlator: &Correlator,
        out: &mut dyn Write,
        notice: &mut dyn Write,
    ) -> Result<(), Error> {
        if let Mode::Collect(collector) = &mut self.mode {
            if collector.fits(ready.len()) {
                collector.add(ready);
                return Ok(());
            }
            // The layout bound is passed: what is held is streamed, in time order, and so
            // is everything after it.
            let held = cfg.bounds.correlate.max_probes;
            let sorted = collector.take_sorted();
            self.mode = Mode::stream(cfg, Some(held), false);
            if !self.writer.bound_passed(held, out)? {
                let _ = writeln!(
                    notice,
                    "probewatch: {}",
                    report::text::report_bound_passed_elsewhere(held)
                );
            }
            // The held probes and those completing now go in time order (the held first
            // among equal times: they completed first), each written as soon as it may
            // be, so that they are not all held a second time in the reorder window.
            let floor = correlator.floor();
            ready.sort_by_key(|p| p.ts);
            let mut newer = ready.drain(..).peekable();
            for p in sorted {
                while let Some(q) = newer.next_if(|q| q.ts < p.ts) {
                    self.hold(q);
                }
                // Those still to push start no earlier than this one.
                let upto = p.ts;
                self.hold(p);
                self.write_due(now, floor, Some(upto), correlator, out)?;
            }
            for q in newer {
                self.hold(q);
            }
            return self.write_due(now, floor, None, correlator, out);
        }
        for p in ready.drain(..) {
            self.hold(p);
        }
        self.write_due(now, correlator.floor(), None, correlator, out)
    }

    /// Holds `p` in the reorder window (streaming).
    fn hold(&mut self, p: Probe) {
        if let Mode::Stream { reorder, .. } = &mut self.mode {
            reorder.push(p);
        }
    }

    /// Writes, in time order, the held probes that may be written (streaming), those
    /// that started after `upto` excepted.
    fn write_due(
        &mut self,
        now: Option<Timestamp>,
        floor: Option<Timestamp>,
        upto: Option<Timestamp>,
        correlator: &Correlator,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let Mode::Stream {
            reorder, numbering, ..
        } = &mut self.mode
        else {
            return Ok(());
        };
        while upto.map_or(true, |u| reorder.first_start().is_some_and(|t| t <= u)) {
            let Some(mut p) = reorder.next_ready(now, floor) else {
                break;
            };
            // The host from the MACs learned so far (flows open before their probes
            // complete, and the reorder window adds the probe timeout).
            if let Some(h) = correlator.host_of(p.client) {
                p.host = Some(Box::new(h));
            }
            numbering.add(&mut p);
            self.writer.probe(&p, out)?;
        }
        Ok(())
    }
}

/// `-c N`: keeps of `ready` only what fits after the `taken` probes already reported.
fn keep_within(max: Option<u64>, taken: u64, ready: &mut Vec<Probe>) {
    if let Some(m) = max {
        ready.truncate(usize::try_from(m.saturating_sub(taken)).unwrap_or(usize::MAX));
    }
}

/// Opens every input (and the `-w` file), in the order given. Nothing is read yet beyond
/// each file's header, so privileges can be dropped after this.
pub struct Opened {
    sources: Vec<FileSource>,
    filter: Option<Filter>,
    save: Option<PcapWriter>,
    /// The key logs (`--keylog`), read now, before privileges are dropped.
    keys: Option<parse::keylog::KeySource>,
    /// Files of a directory passed over as not captures (said when the run starts).
    skipped: Vec<Error>,
    /// Inputs that are a file already given (said when the run starts; read once).
    twice: Vec<error::Warning>,
}

/// Opens the inputs of `cfg`, compiles its filter and creates its `-w` file.
pub fn open_inputs(cfg: &Config) -> Result<Opened, Error> {
    if let Some(save) = cfg.save.as_deref() {
        refuse_save_over_input(save, &cfg.inputs, &cfg.keylogs)?;
    }
    refuse_a_stream_twice(&cfg.inputs, &cfg.keylogs)?;
    let filter = cfg.filter.as_deref().map(Filter::new).transpose()?;
    let mut sources = Vec::with_capacity(cfg.inputs.len());
    let mut skipped = Vec::new();
    let mut twice = Vec::new();
    // Regular files by device and inode: the same file under two names, or matched by a
    // directory and a glob, is read once (streams are refused above when given twice).
    let mut files: Vec<((u64, u64), String)> = Vec::new();
    for input in &cfg.inputs {
        if let Some(id) = regular_file_id(input) {
            if let Some((_, first)) = files.iter().find(|(f, _)| *f == id) {
                let path = input.display_name();
                twice.push(if path == *first {
                    error::Warning::GivenTwice { path }
                } else {
                    error::Warning::SameFile {
                        path,
                        first: first.clone(),
                    }
                });
                continue;
            }
            files.push((id, input.display_name()));
        }
        let mut src = match FileSource::open_until(input, cfg.inputs.len(), cfg.stop.as_deref()) {
            Ok(s) => s,
            // A file of a directory that is not a capture is passed over, said on stderr;
            // if every one is, the first says why nothing could be read.
            Err(e @ Error::NotACapture { .. }) if matches!(input, Input::Listed(_)) => {
                skipped.push(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(stop) = &cfg.stop {
            src.stop_on(Arc::clone(stop));
        }
        sources.push(src);
    }
    if sources.is_empty() && !skipped.is_empty() {
        return Err(skipped.swap_remove(0));
    }
    let save = cfg
        .save
        .as_deref()
        .map(|p| PcapWriter::create_until(p, cfg.stop.as_deref()))
        .transpose()?;
    let keys = if cfg.keylogs.is_empty() {
        None
    } else {
        Some(
            parse::keylog::KeySource::open(
                &cfg.keylogs,
                cfg.bounds.keylog,
                false,
                cfg.stop.as_deref(),
            )
            .map_err(|(path, e)| {
                let path = path.display().to_string();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    Error::InterruptedKeyLog { path }
                } else {
                    Error::KeyLog {
                        path,
                        reason: error::io_reason(&e),
                    }
                }
            })?,
        )
    };
    Ok(Opened {
        sources,
        filter,
        save,
        keys,
        skipped,
        twice,
    })
}

/// A regular file's device and inode (none for standard input, pipes and directories).
fn regular_file_id(input: &Input) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    if matches!(input, Input::Stdin) {
        return None;
    }
    let m = input.metadata().ok().filter(|m| m.is_file())?;
    Some((m.dev(), m.ino()))
}

/// `-w FILE` naming one of the inputs or key logs (the same file, by device and inode,
/// whatever the path or link; standard input by the file it is) would be truncated before
/// it is read: refused. So is `-w` naming standard output's or error's file (`-w
/// /dev/stdout`, `-w /dev/stderr`), which would mix the packets with the report or the
/// warnings.
pub fn refuse_save_over_input(
    save: &std::path::Path,
    inputs: &[Input],
    keylogs: &[std::path::PathBuf],
) -> Result<(), Error> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Ok(out) = std::fs::metadata(save) else {
        return Ok(());
    };
    let is_out = |m: std::fs::Metadata| m.dev() == out.dev() && m.ino() == out.ino();
    // /dev/null: nothing to destroy or mix.
    let null = std::fs::metadata("/dev/null").ok();
    let discards = |m: &std::fs::Metadata| {
        use std::os::unix::fs::FileTypeExt;
        m.file_type().is_char_device() && null.as_ref().is_some_and(|n| n.rdev() == m.rdev())
    };
    // /dev/null as both reads nothing and keeps nothing: no harm.
    let clash = |m: std::io::Result<std::fs::Metadata>| m.is_ok_and(|m| !discards(&m) && is_out(m));
    let same = inputs.iter().any(|i| clash(i.metadata()))
        || keylogs.iter().any(|k| clash(std::fs::metadata(k)));
    let metadata_of = |fd| capture::fd_file(fd).and_then(|f| f.metadata());
    if same {
        return Err(Error::SaveOverInput {
            path: save.display().to_string(),
        });
    }
    // `-w /dev/stdout` (or the file stdout is redirected to): the packets would be mixed
    // with the report. /dev/null as both is fine: nothing is kept either way.
    let path = save.display().to_string();
    let mut outputs = [
        (
            metadata_of(std::io::stdout().as_fd()),
            Error::SaveOverStdout { path: path.clone() },
        ),
        (
            metadata_of(std::io::stderr().as_fd()),
            Error::SaveOverStderr { path: path.clone() },
        ),
    ];
    // Both on one terminal: name the one the path names.
    if path.ends_with("stderr") || path.ends_with("fd/2") {
        outputs.reverse();
    }
    for (m, refused) in outputs {
        if clash(m) {
            return Err(refused);
        }
    }
    Ok(())
}

/// Standard input, or a pipe or device named by a path (`/dev/stdin`, `/dev/fd/0`, a named
/// pipe), given twice would be read by two readers splitting its bytes: refused. Compared
/// by device and inode; a regular file may be given twice (each is opened on its own).
/// A key log that is standard input's pipe (`-r - --keylog /dev/stdin`) would swallow the
/// capture: the same.
fn refuse_a_stream_twice(inputs: &[Input], keylogs: &[PathBuf]) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    let mut seen: Vec<(u64, u64)> = Vec::new();
    let keys: Vec<Input> = keylogs.iter().map(|k| Input::File(k.clone())).collect();
    for i in inputs.iter().chain(&keys) {
        // Standard input always (one reader, whatever it is); a path only when it is not
        // a regular file (each regular file is opened on its own) nor a directory.
        let Some(m) = i
            .metadata()
            .ok()
            .filter(|m| matches!(i, Input::Stdin) || (!m.is_file() && !m.is_dir()))
        else {
            continue;
        };
        let id = (m.dev(), m.ino());
        if seen.contains(&id) {
            return Err(Error::StreamTwice {
                path: i.display_name(),
            });
        }
        seen.push(id);
    }
    Ok(())
}

/// Reads every input, writes the report to `out`. When an input is damaged or cut short,
/// everything before the damage is still reported, then the error is returned. Several
/// inputs are merged in time order (as mergecap does). Warnings go to `notice`.
pub fn run(cfg: &Config, out: &mut dyn Write) -> Result<(), Error> {
    let opened = open_inputs(cfg)?;
    run_opened(cfg, opened, out, &mut std::io::stderr())
}

/// What the reading loop hands the correlating side: handoffs, and the points at which the
/// probes completed so far are taken (after every packet that handed something over).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Msg {
    Handoff(Handoff),
    /// Take the probes completed so far and hand them to the report at capture time
    /// `now`; `always`: even when none completed (a quiet pipe lets the reorder window
    /// pass).
    Mark {
        now: Timestamp,
        always: bool,
    },
}

/// Where the reading loop sends its [`Msg`]s: straight to the correlator (one thread), or
/// in batches to the correlating thread.
pub(crate) trait Down {
    fn send(&mut self, m: Msg) -> Result<(), Error>;
    /// Sends (and empties) `handoff`, then `mark` (`now`, `always`) when given.
    fn send_all(
        &mut self,
        handoff: &mut Vec<Handoff>,
        mark: Option<(Timestamp, bool)>,
    ) -> Result<(), Error> {
        for h in handoff.drain(..) {
            self.send(Msg::Handoff(h))?;
        }
        match mark {
            Some((now, always)) => self.send(Msg::Mark { now, always }),
            None => Ok(()),
        }
    }
    /// Reading should stop: enough probes (`-c`), or the correlating side is gone.
    fn stopped(&self) -> bool;
    /// Hands over what is batched (a pipe, so that its probes are not held back).
    fn flush(&mut self);
}

/// Sends (and empties) `handoff` to `down`, then, when `now` is known, a mark: take the
/// probes completed so far (`always`: even when none completed).
pub(crate) fn send_handoffs(
    handoff: &mut Vec<Handoff>,
    now: Option<Timestamp>,
    always: bool,
    down: &mut dyn Down,
) -> Result<(), Error> {
    down.send_all(handoff, now.map(|now| (now, always)))
}

/// The correlating side: correlator, report sink and the `-c` count.
struct Back<'o> {
    cfg: &'o Config,
    notice: &'o mut dyn Write,
    correlator: Correlator,
    sink: Sink,
    ready: Vec<Probe>,
    taken: u64,
    max: Option<u64>,
    out: &'o mut dyn Write,
    /// Probes so far, for the progress line (when shown).
    probes: Option<Arc<std::sync::atomic::AtomicU64>>,
}

impl Back<'_> {
    fn take(&mut self, m: Msg) -> Result<(), Error> {
        match m {
            Msg::Handoff(h) => apply(&mut self.correlator, h),
            Msg::Mark { now, always } => self.mark(now, always)?,
        }
        Ok(())
    }

    /// Takes the probes completed so far and hands them to the report at capture time
    /// `now` (see [`Msg::Mark`]).
    fn mark(&mut self, now: Timestamp, always: bool) -> Result<(), Error> {
        self.correlator.take_ready(&mut self.ready);
        if always || !self.ready.is_empty() {
            keep_within(self.max, self.taken, &mut self.ready);
            self.taken += self.ready.len() as u64;
            self.sink.add(
                self.cfg,
                &mut self.ready,
                Some(now),
                &self.correlator,
                self.out,
                self.notice,
            )?;
        }
        if let Some(p) = &self.probes {
            p.store(self.correlator.probe_count(), Ordering::Relaxed);
        }
        Ok(())
    }

    fn full(&self) -> bool {
        self.max.is_some_and(|m| self.taken >= m)
    }
}

impl Down for Back<'_> {
    fn send(&mut self, m: Msg) -> Result<(), Error> {
        self.take(m)
    }
    fn stopped(&self) -> bool {
        self.full()
    }
    fn flush(&mut self) {}
}

/// A batch from the flow thread to the correlating thread: handoffs, in order, and the
/// marks between them (a mark at `n` comes after the first `n` handoffs), so that the
/// handoffs of a packet are moved into a batch at once rather than one at a time.
#[derive(Default)]
pub(crate) struct HandoffBatch {
    handoffs: Vec<Handoff>,
    marks: Vec<(usize, Timestamp, bool)>,
}

impl HandoffBatch {
    fn with_capacity() -> Self {
        HandoffBatch {
            handoffs: Vec::with_capacity(HANDOFF_BATCH_ITEMS),
            marks: Vec::with_capacity(HANDOFF_BATCH_ITEMS),
        }
    }

    /// Hands the batch to `back`, in order, and leaves it empty (to be reused).
    fn apply_to(&mut self, back: &mut Back<'_>) -> Result<(), Error> {
        let mut marks = self.marks.drain(..).peekable();
        for (i, h) in self.handoffs.drain(..).enumerate() {
            while let Some((_, now, always)) = marks.next_if(|&(n, _, _)| n <= i) {
                back.mark(now, always)?;
            }
            apply(&mut back.correlator, h);
        }
        for (_, now, always) in marks {
            back.mark(now, always)?;
        }
        Ok(())
    }
}

/// The flow thread's side of the handoff channel.
pub(crate) struct Batcher {
    batch: HandoffBatch,
    tx: std::sync::mpsc::SyncSender<HandoffBatch>,
    /// Batches the correlating thread is done with, to be filled again.
    spare: std::sync::mpsc::Receiver<HandoffBatch>,
    /// The correlating thread stopped taking (an error writing the report).
    gone: bool,
    /// A pipe or an interface: every packet's handoffs are sent at once.
    eager: bool,
}

impl Batcher {
    pub(crate) fn new(
        tx: std::sync::mpsc::SyncSender<HandoffBatch>,
        spare: std::sync::mpsc::Receiver<HandoffBatch>,
        eager: bool,
    ) -> Self {
        Batcher {
            batch: HandoffBatch::with_capacity(),
            tx,
            spare,
            gone: false,
            eager,
        }
    }
}

impl Down for Batcher {
    fn send(&mut self, m: Msg) -> Result<(), Error> {
        let mark = match m {
            Msg::Handoff(h) => {
                self.batch.handoffs.push(h);
                None
            }
            Msg::Mark { now, always } => Some((now, always)),
        };
        self.send_all(&mut Vec::new(), mark)
    }
    fn send_all(
        &mut self,
        handoff: &mut Vec<Handoff>,
        mark: Option<(Timestamp, bool)>,
    ) -> Result<(), Error> {
        if self.batch.handoffs.len() + handoff.len() <= HANDOFF_BATCH_ITEMS {
            self.batch.handoffs.append(handoff);
        } else {
            // Many at once (flows ended together): batches of at most the bound.
            let mut rest = handoff.drain(..);
            loop {
                let room = HANDOFF_BATCH_ITEMS.saturating_sub(self.batch.handoffs.len());
                self.batch.handoffs.extend(rest.by_ref().take(room));
                if rest.len() == 0 {
                    break;
                }
                self.flush();
            }
        }
        if let Some((now, always)) = mark {
            self.batch
                .marks
                .push((self.batch.handoffs.len(), now, always));
        }
        if self.batch.handoffs.len() >= HANDOFF_BATCH_ITEMS
            || self.batch.marks.len() >= HANDOFF_BATCH_ITEMS
            || (mark.is_some() && self.eager)
        {
            self.flush();
        }
        Ok(())
    }
    fn stopped(&self) -> bool {
        self.gone
    }
    fn flush(&mut self) {
        if (self.batch.handoffs.is_empty() && self.batch.marks.is_empty()) || self.gone {
            return;
        }
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| HandoffBatch::with_capacity());
        let b = std::mem::replace(&mut self.batch, next);
        if self.tx.send(b).is_err() {
            self.gone = true;
        }
    }
}

/// A report's output whose `flush` waits for the end of [`run_opened`], which flushes
/// what it wraps: the writers flush after every probe line for a live capture's sake.
struct Unflushed<'o> {
    out: &'o mut dyn Write,
}

impl Write for Unflushed<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.out.write_all(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the reading loop found besides its handoffs.
struct ReadEnd {
    /// The flow stages' counters, with the inputs' own problems added.
    stats: Stats,
    damage: Option<Error>,
    interrupted: bool,
}

/// Progress shown on stderr: the bar, and the probe count the correlating side keeps.
struct Progress {
    bar: indicatif::ProgressBar,
    total: Option<u64>,
    probes: Arc<std::sync::atomic::AtomicU64>,
}

/// Reads every input through the flow stages, sending the handoffs to `down`; at the end
/// every flow is ended (so the last handoff is [`Handoff::Finish`]).
fn read_inputs(
    sources: &mut [FileSource],
    filter: &mut Option<Filter>,
    save: &mut Option<PcapWriter>,
    front: &mut Front,
    stop: Option<&AtomicBool>,
    progress: Option<&Progress>,
    down: &mut dyn Down,
) -> Result<ReadEnd, Error> {
    let mut damage: Option<Error> = None;
    let mut interrupted = false;
    let mut now: Option<Timestamp> = None;
    let mut handoff: Vec<Handoff> = Vec::new();
    // Every source shows its first packet; `live` lists those not at their end.
    let mut live: Vec<usize> = Vec::new();
    for src in sources.iter_mut() {
        src.start()?;
    }
    for (i, src) in sources.iter_mut().enumerate() {
        let r = src.advance();
        for (ty, data) in src.take_secrets() {
            front.add_secrets(ty, &data);
        }
        match r {
            Ok(None) | Ok(Some(Stopped::Quiet)) => live.push(i),
            Ok(Some(Stopped::End)) => {}
            Ok(Some(Stopped::Interrupted)) => interrupted = true,
            Err(e) => {
                damage.get_or_insert(e);
            }
        }
    }
    let mut quiet_for = std::time::Duration::ZERO;
    let mut since_progress: u32 = 0;
    while !interrupted && !down.stopped() {
        // The earliest packet of all inputs; the first input given wins a tie.
        let Some((slot, &i)) = live
            .iter()
            .enumerate()
            .min_by_key(|&(_, &i)| sources.get(i).and_then(|s| s.peek_ts()))
        else {
            break;
        };
        let Some(src) = sources.get_mut(i) else {
            break;
        };
        if let Some(pkt) = src.packet() {
            now = Some(now.map_or(pkt.ts, |n| n.max(pkt.ts)));
            let pass = match filter {
                Some(f) => f.matches(&pkt)?,
                None => true,
            };
            if pass {
                if let Some(w) = save {
                    // A second link type cannot go into the pcap file: reading stops
                    // there, and what was read before it is reported (and saved), then
                    // the sentence; nothing before it is lost.
                    if let Err(e) = w.write(&pkt) {
                        damage.get_or_insert(e);
                        break;
                    }
                }
                front.packet_view(pkt, &mut handoff);
                if !handoff.is_empty() {
                    send_handoffs(&mut handoff, now, false, down)?;
                }
            }
        }
        let r = src.advance();
        // Decryption Secrets Blocks apply to the packets after them.
        for (ty, data) in src.take_secrets() {
            front.add_secrets(ty, &data);
        }
        match r {
            Ok(None) => quiet_for = std::time::Duration::ZERO,
            Ok(Some(Stopped::Quiet)) => {
                // A quiet pipe (`tcpdump -w - | probewatch -r -`): let capture time pass
                // with the wall clock, as a live capture does, so that waiting probes are
                // reported.
                quiet_for += capture::file::QUIET_AFTER;
                if let Some(n) = now {
                    let secs = i64::try_from(quiet_for.as_secs()).unwrap_or(0);
                    let est = Timestamp::new(n.secs.saturating_add(secs), n.nanos);
                    front.tick(est, &mut handoff);
                    send_handoffs(&mut handoff, Some(est), true, down)?;
                }
                down.flush();
            }
            Ok(Some(Stopped::End)) => {
                live.remove(slot);
            }
            Ok(Some(Stopped::Interrupted)) => interrupted = true,
            Err(e) => {
                damage.get_or_insert(e);
                live.remove(slot);
            }
        }
        since_progress += 1;
        if since_progress >= 4096 {
            since_progress = 0;
            if let Some(pb) = progress {
                let read: u64 = sources.iter().map(|s| s.bytes_read).sum();
                let packets: u64 = sources.iter().map(|s| s.packets_read).sum();
                pb.bar.set_position(read.min(pb.total.unwrap_or(u64::MAX)));
                pb.bar.set_message(format!(
                    "{packets} packets, {} probes",
                    pb.probes.load(Ordering::Relaxed)
                ));
            }
        }
        if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            interrupted = true;
        }
    }
    if let Some(pb) = progress {
        pb.bar.finish_and_clear();
    }
    // A -w file that cannot be written (a full disk) is said after the report, which
    // still holds everything read.
    if let Some(Err(e)) = save.as_mut().map(PcapWriter::flush) {
        damage.get_or_insert(e);
    }
    // The flows still open end in batches, their probes passed on as each batch ends
    // (held in the reorder window: they started within the probe timeout of `now`).
    loop {
        let more = front.finish_some(FINISH_BATCH, &mut handoff);
        send_handoffs(&mut handoff, now, false, down)?;
        if !more {
            break;
        }
    }
    down.flush();
    let mut stats = front.stats();
    for src in sources.iter() {
        for (k, n) in &src.problems {
            *stats.decode.problems.entry(k).or_insert(0) += n;
        }
    }
    Ok(ReadEnd {
        stats,
        damage,
        interrupted,
    })
}

/// The threads a run uses: `--threads` (0: one per core), one when `-c` is given (the
/// reading must stop at the probe it names, which a thread reading ahead cannot), and at
/// most two (the flow stages on one thread, correlation and the report on the other).
pub fn pipeline_threads(cfg: &Config) -> usize {
    if cfg.max_probes.is_some() {
        1
    } else {
        threads_for(cfg.threads)
    }
}

/// `--threads` (0: one per core), at most the two the pipeline uses.
pub fn threads_for(asked: usize) -> usize {
    let asked = match asked {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    asked.clamp(1, 2)
}

/// [`run`] on inputs already opened (see [`open_inputs`]).
pub fn run_opened(
    cfg: &Config,
    opened: Opened,
    out: &mut dyn Write,
    notice: &mut dyn Write,
) -> Result<(), Error> {
    let Opened {
        mut sources,
        mut filter,
        mut save,
        keys,
        skipped,
        twice,
    } = opened;
    for w in twice {
        let _ = writeln!(notice, "probewatch: {w}");
    }
    let mut files_skipped = Vec::new();
    for e in skipped {
        if let Error::NotACapture { path, detail } = e {
            files_skipped.push(path.clone());
            let _ = writeln!(
                notice,
                "probewatch: {}",
                error::Warning::Skipped { path, detail }
            );
        }
    }
    let mut front = Front::new(cfg.bounds);
    if let Some(k) = keys {
        front.parser.set_keylog(k);
    }
    let correlator = Correlator::with_trust(cfg.bounds.correlate, cfg.trust.clone());
    let writer = report::writer(cfg.format, cfg.output);
    // JSON is written as probes complete, in time order (bounded memory: the groups and
    // per-client summaries come from bounded tables, as in a live capture). Read from a
    // stream (`ssh host tcpdump -w - | probewatch -r -`), JSON, ECS and the table are
    // written as live: each probe as soon as it completes (the table in the live layout,
    // unless --ja4 asks for the file table's JA4 column). The other formats lay out the
    // capture at once while it holds at most `max_probes` probes, then stream too.
    let piped =
        sources.iter().any(|s| s.is_stream()) && cfg.format.rows_from_a_stream(cfg.output.ja4);
    let mode = if (cfg.format == Format::Json || piped) && writer.streams() {
        Mode::stream(cfg, None, piped)
    } else {
        Mode::Collect(Collector::new(cfg.bounds.correlate))
    };
    let rows_now = matches!(mode, Mode::Stream { .. }) && cfg.flush_lines;
    let sink = Sink { writer, mode };
    let files: Vec<String> = sources.iter().map(|s| s.name().to_string()).collect();
    let total = sources.iter().map(|s| s.file_size).sum::<Option<u64>>();
    // Rows written as they come would be mixed with the progress line's redraws at a
    // terminal (a live capture has no progress line either).
    let progress = (cfg.progress && !piped && !rows_now).then(|| Progress {
        bar: progress_bar(&files.join(", "), total),
        total,
        probes: Arc::new(std::sync::atomic::AtomicU64::new(0)),
    });
    // Read from files, the report's lines are written through without a flush each (a
    // write call per probe line, most of the report's system time); the whole is flushed
    // at the end. A stream (standard input, a pipe) flushes every line, as a live capture
    // does, so that its probes show as they complete.
    let eager = sources.iter().any(|s| s.is_stream());
    let mut unflushed = Unflushed { out };
    let out: &mut dyn Write = if eager || cfg.flush_lines {
        &mut *unflushed.out
    } else {
        &mut unflushed
    };
    let mut back = Back {
        cfg,
        notice,
        correlator,
        sink,
        ready: Vec::new(),
        taken: 0,
        max: cfg.max_probes,
        out,
        probes: progress.as_ref().map(|p| Arc::clone(&p.probes)),
    };
    let threads = pipeline_threads(cfg);
    let end = if threads < 2 {
        read_inputs(
            &mut sources,
            &mut filter,
            &mut save,
            &mut front,
            cfg.stop.as_deref(),
            progress.as_ref(),
            &mut back,
        )?
    } else {
        // The flow stages on a thread of their own; this one correlates and writes.
        // The filter's compiled programs stay on this thread (libpcap's are not Send):
        // the flow thread compiles the same expression again.
        let expr = filter.take().map(|f| f.expr().to_string());
        let (tx, rx) = std::sync::mpsc::sync_channel::<HandoffBatch>(HANDOFF_BATCHES_IN_FLIGHT);
        // Applied batches go back empty to be filled again.
        let (recycle, spare) =
            std::sync::mpsc::sync_channel::<HandoffBatch>(HANDOFF_BATCHES_IN_FLIGHT + 2);
        let stop = cfg.stop.clone();
        let progress = &progress;
        std::thread::scope(|scope| -> Result<ReadEnd, Error> {
            let flows = std::thread::Builder::new()
                .name("probewatch-flows".into())
                .spawn_scoped(scope, move || {
                    let mut filter = expr.as_deref().map(Filter::new).transpose()?;
                    let mut down = Batcher::new(tx, spare, eager);
                    read_inputs(
                        &mut sources,
                        &mut filter,
                        &mut save,
                        &mut front,
                        stop.as_deref(),
                        progress.as_ref(),
                        &mut down,
                    )
                })
                .map_err(|e| Error::Thread {
                    reason: e.to_string(),
                })?;
            let mut failed = None;
            for mut batch in rx.iter() {
                if let Err(e) = batch.apply_to(&mut back) {
                    failed = Some(e);
                    break;
                }
                let _ = recycle.try_send(batch);
            }
            // Closing the channel ends the flow thread's sends (when this side failed).
            drop(rx);
            let read = flows.join().map_err(|_| Error::Thread {
                reason: "the flow thread stopped".to_string(),
            })?;
            match failed {
                Some(e) => Err(e),
                None => read,
            }
        })?
    };
    let ReadEnd {
        mut stats,
        damage,
        interrupted,
    } = end;
    let Back {
        correlator,
        mut sink,
        mut ready,
        taken,
        out,
        notice,
        ..
    } = back;
    let mut correlator = correlator;
    correlator.take_ready(&mut ready);
    keep_within(cfg.max_probes, taken, &mut ready);
    sink.add(cfg, &mut ready, None, &correlator, out, notice)?;
    stats.correlate = correlator.stats().clone();
    stats.threads = threads;
    stats.files = files;
    stats.files_skipped = files_skipped;
    // When no packet at all could be decoded, the error at the end names the link types:
    // one sentence, not a warning before it.
    let unknown = stats
        .decode
        .problems
        .get("unknown_link_type")
        .copied()
        .unwrap_or(0);
    let nothing_decodable =
        unknown > 0 && unknown == stats.decode.packets && damage.is_none() && !interrupted;
    for &l in stats
        .decode
        .unknown_link_types
        .iter()
        .filter(|_| !nothing_decodable)
    {
        let _ = writeln!(
            notice,
            "probewatch: {}",
            error::Warning::UnknownLinkType {
                link: capture::link_type_name(LinkType(l)),
            }
        );
    }
    let Sink { mut writer, mode } = sink;
    match mode {
        Mode::Collect(collector) => {
            let (report, counters) = collector.finish_hosts(&|ip| correlator.mac_of(ip));
            stats.correlate.absorb(&counters);
            let end = report::End {
                report: &report,
                stats: &stats,
                streamed: false,
            };
            writer.finish(&end, out)?;
        }
        Mode::Stream {
            reorder,
            numbering,
            passed,
        } => {
            // Past the layout bound, every probe was listed as a row rather than laid out.
            let not_laid_out = if passed.is_some() {
                numbering.count()
            } else {
                0
            };
            let (groups, mut clients, counters) = numbering.finish(not_laid_out);
            stats.correlate.absorb(&counters);
            stats.reorder_forced = reorder.forced;
            for c in clients.iter_mut() {
                c.mac = c.mac.or_else(|| correlator.mac_of(c.client));
            }
            let report = correlate::Report {
                probes: Vec::new(),
                clients,
                groups,
                routers: correlator.routers(),
            };
            let end = report::End {
                report: &report,
                stats: &stats,
                streamed: true,
            };
            writer.finish(&end, out)?;
        }
    }
    unflushed.out.flush()?;
    if let Some(e) = damage {
        return Err(e);
    }
    if interrupted {
        return Err(Error::Interrupted);
    }
    if nothing_decodable {
        return Err(Error::NothingDecodable {
            inputs: stats.files.join(", "),
            links: stats
                .decode
                .unknown_link_types
                .iter()
                .map(|&l| capture::link_type_name(LinkType(l)))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn probe(secs: i64) -> Probe {
        let client: SocketAddr = "198.51.100.1:40000".parse().unwrap();
        let server: SocketAddr = "192.0.2.1:443".parse().unwrap();
        Probe::new(
            Timestamp::new(secs, 0),
            client,
            server,
            correlate::ProbeKind::Tls(Box::default()),
            correlate::Outcome::DataExchanged,
        )
    }

    fn starts(r: &mut Reorder, now: i64, floor: Option<i64>) -> Vec<i64> {
        let now = Some(Timestamp::new(now, 0));
        let floor = floor.map(|f| Timestamp::new(f, 0));
        std::iter::from_fn(|| r.next_ready(now, floor))
            .map(|p| p.ts.secs)
            .collect()
    }

    /// At the end of the input the flows' probes come in a burst: held for their window
    /// they filled the reorder bound and were forced out (10,892 of stalled-hellos'); what
    /// started before the correlator's floor goes at once, in time order, and no earlier.
    #[test]
    fn probes_before_the_floor_are_written_at_once_and_no_others() {
        let mut r = Reorder::new(10.0);
        for s in [107, 103, 105, 101] {
            r.push(probe(s));
        }
        // Within the window and no floor (packets may still come): all wait.
        assert!(starts(&mut r, 108, None).is_empty());
        // A connection opened at 105 is still followed: what started before it goes.
        assert_eq!(starts(&mut r, 108, Some(105)), vec![101, 103]);
        // Nothing is followed any more.
        assert_eq!(starts(&mut r, 108, Some(i64::MAX)), vec![105, 107]);
        assert_eq!(r.forced, 0);
    }

    /// The report's output, counting its flushes.
    #[derive(Default)]
    struct Flushes {
        bytes: Vec<u8>,
        flushes: usize,
    }

    impl Write for Flushes {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.flushes += 1;
            Ok(())
        }
    }

    /// Read from a file, the JSON report flushed every probe line (a write call each on
    /// standard output, 11,041 on the benchmark capture): now once, at the end.
    #[test]
    fn a_capture_files_json_report_is_flushed_once_not_per_probe() {
        let cfg = Config {
            inputs: vec![Input::File(
                concat!(env!("CARGO_MANIFEST_DIR"), "/samples/trust.pcap").into(),
            )],
            filter: None,
            format: Format::Json,
            bounds: Bounds::default(),
            output: report::Options::default(),
            progress: false,
            trust: Arc::default(),
            save: None,
            max_probes: None,
            stop: None,
            keylogs: Vec::new(),
            threads: 1,
            flush_lines: false,
        };
        let mut out = Flushes::default();
        run(&cfg, &mut out).unwrap();
        let text = String::from_utf8(out.bytes).unwrap();
        let probes = text
            .lines()
            .filter(|l| l.starts_with("{\"type\":\"probe\""))
            .count();
        assert!(probes > 1, "{text}");
        assert_eq!(out.flushes, 1);
        // Into a terminal: a flush per probe line, so that each shows as it completes.
        let cfg = Config {
            flush_lines: true,
            ..cfg
        };
        let mut out = Flushes::default();
        run(&cfg, &mut out).unwrap();
        assert!(out.flushes > probes, "{} flushes", out.flushes);
    }
}
