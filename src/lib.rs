//! probewatch: which hostnames each client tried, in what order, and where the name it
//! asked for did not match the certificate the server showed.
//!
//! The data flows through one module per stage, each seeing only the previous stage's
//! owned output: `capture → decode → reassemble → parse → correlate → report`.
#![forbid(unsafe_code)]

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

use capture::{Input, OfflineSource, Packet, PacketView, Timestamp};
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
    /// Key log files (`--keylog`): TLS 1.3 and QUIC handshakes are opened with them.
    pub keylogs: Vec<std::path::PathBuf>,
}

/// The stages wired together.
pub struct Pipeline {
    decoder: Decoder,
    reassembler: Reassembler,
    parser: Parser,
    correlator: Correlator,
    events: Vec<reassemble::Event>,
    parsed: Vec<parse::Parsed>,
    stops: Vec<parse::Stop>,
    last_expire: Option<Timestamp>,
}

impl Pipeline {
    pub fn new(b: Bounds) -> Self {
        Pipeline {
            decoder: Decoder::new(b.defrag),
            reassembler: Reassembler::new(b.reassembly),
            parser: Parser::new(b.parse),
            correlator: Correlator::new(b.correlate),
            events: Vec::new(),
            parsed: Vec::new(),
            stops: Vec::new(),
            last_expire: None,
        }
    }

    /// Opens TLS 1.3 and QUIC handshakes with this key log.
    pub fn set_keylog(&mut self, keys: parse::keylog::KeySource) {
        self.parser.set_keylog(keys);
    }

    /// Reads key log files (`live`: keep following them as they grow).
    pub fn keylog_from(
        &mut self,
        paths: &[std::path::PathBuf],
        limits: parse::keylog::KeyLogLimits,
        live: bool,
    ) -> Result<(), Error> {
        if paths.is_empty() {
            return Ok(());
        }
        let ks = parse::keylog::KeySource::open(paths, limits, live).map_err(|(path, e)| {
            Error::KeyLog {
                path: path.display().to_string(),
                reason: e.to_string(),
            }
        })?;
        self.set_keylog(ks);
        Ok(())
    }

    /// Feeds one packet through every stage. Completed probes wait in the pipeline until
    /// [`Pipeline::take_probes`].
    pub fn packet(&mut self, pkt: &Packet) {
        self.packet_view(pkt.view());
    }

    /// [`Pipeline::packet`] for a borrowed packet.
    pub fn packet_view(&mut self, pkt: PacketView<'_>) {
        if let Some(d) = self.decoder.decode_ref(pkt) {
            self.reassembler.push(d, &mut self.events);
        }
        self.tick(pkt.ts);
    }

    /// Lets time pass (once a second at most does anything): ends idle flows, drops stale
    /// fragments, reports probes that waited longer than the probe timeout. A live capture
    /// calls this with the wall clock when the interface is quiet.
    pub fn tick(&mut self, now: Timestamp) {
        let due = match self.last_expire {
            None => true,
            Some(t) => now.secs > t.secs,
        };
        if due {
            self.last_expire = Some(now);
            self.reassembler.expire(now, &mut self.events);
            self.decoder.expire(now);
            self.drain();
            self.correlator.expire(now);
        }
        self.drain();
    }

    fn drain(&mut self) {
        for ev in self.events.drain(..) {
            self.parser.push(ev, &mut self.parsed, &mut self.stops);
        }
        for (c, s, d) in self.stops.drain(..) {
            self.reassembler.stop(c, s, d);
        }
        for p in self.parsed.drain(..) {
            self.correlator.push(p);
        }
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
        self.reassembler.finish(&mut self.events);
        self.drain();
        self.correlator.finish();
    }

    /// The counters of every stage so far.
    pub fn stats(&self) -> Stats {
        Stats {
            decode: self.decoder.stats.clone(),
            reassembly: self.reassembler.stats.clone(),
            parse: self.parser.stats.clone(),
            correlate: self.correlator.stats().clone(),
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
}

fn progress_bar(src: &OfflineSource) -> indicatif::ProgressBar {
    let pb = match src.file_size {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let style = if src.file_size.is_some() {
        "{prefix} {bar:30} {bytes}/{total_bytes} ({percent}%) {msg}"
    } else {
        "{prefix} {spinner} {bytes} {msg}"
    };
    if let Ok(s) = indicatif::ProgressStyle::with_template(style) {
        pb.set_style(s);
    }
    pb.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
    pb.set_prefix(src.name().to_string());
    pb
}

/// Reads every input, writes the report to `out`. When an input is damaged or cut short,
/// everything before the damage is still reported, then the error is returned.
pub fn run(cfg: &Config, out: &mut dyn Write) -> Result<(), Error> {
    let mut pipeline = Pipeline::new(cfg.bounds);
    pipeline.keylog_from(&cfg.keylogs, cfg.bounds.keylog, false)?;
    let mut collector = Collector::new(cfg.bounds.correlate);
    let mut ready = Vec::new();
    let mut files = Vec::new();
    let mut damage: Option<Error> = None;
    for input in &cfg.inputs {
        let src = OfflineSource::open(input, cfg.filter.as_deref())?;
        files.push(src.name().to_string());
        let pb = cfg.progress.then(|| progress_bar(&src));
        let file_size = src.file_size;
        // A second thread reads the file ahead while this one runs the pipeline.
        let mut reader = src.read_ahead()?;
        let link = reader.link();
        while let Some(batch) = reader.next_batch() {
            match batch {
                Ok(batch) => {
                    for pkt in batch.iter(link) {
                        pipeline.packet_view(pkt);
                        pipeline.take_probes(&mut ready);
                        collector.add(&mut ready);
                    }
                    reader.recycle(batch);
                    if let Some(pb) = &pb {
                        pb.set_position(reader.bytes_read.min(file_size.unwrap_or(u64::MAX)));
                        pb.set_message(format!(
                            "{} packets, {} probes",
                            reader.packets_read,
                            pipeline.probe_count()
                        ));
                    }
                }
                Err(e) => {
                    damage.get_or_insert(e);
                    break;
                }
            }
        }
        if let Some(pb) = pb {
            pb.finish_and_clear();
        }
    }
    pipeline.finish();
    pipeline.take_probes(&mut ready);
    collector.add(&mut ready);
    let mut stats = pipeline.stats();
    let (report, counters) = collector.finish();
    stats.correlate.absorb(&counters);
    stats.files = files;
    report::write(cfg.format, &report, &stats, out, cfg.output)?;
    match damage {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
