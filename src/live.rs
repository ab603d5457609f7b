//! Live capture: the same pipeline as for capture files, fed from an interface, each probe
//! reported as soon as it is complete.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::capture::live::{now, Read};
use crate::capture::{LiveOptions, LiveSource};
use crate::correlate::{Numbering, Probe, Report};
use crate::report::{self, Format, Writer};
use crate::{privs, Bounds, Error, Pipeline};

/// What to run on an interface.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    pub options: LiveOptions,
    pub filter: Option<String>,
    pub format: Format,
    pub bounds: Bounds,
    pub output: report::Options,
    /// Also write the captured packets here (pcap).
    pub save: Option<PathBuf>,
    /// The user to run as once the interface is open (when started as root).
    pub user: String,
    /// Stop after this many probes.
    pub max_probes: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// The anchors chains are judged against.
    pub trust: std::sync::Arc<crate::correlate::trust::TrustStore>,
    /// Key log files, followed as they grow.
    pub keylogs: Vec<PathBuf>,
}

/// Opens the interface (the only step that needs privileges), drops privileges, then
/// captures until `stop` is set (Ctrl-C), the duration passed or enough probes were
/// reported. Probes go to `out` as they complete; start-up notes go to `notice`. On stop,
/// probes still waiting are reported with what is known, then the per-client summary and
/// the stats (with libpcap's received/dropped counters).
pub fn run_live(
    cfg: &LiveConfig,
    stop: &AtomicBool,
    out: &mut dyn Write,
    notice: &mut dyn Write,
) -> Result<(), Error> {
    let writer = report::writer(cfg.format, cfg.output);
    if !writer.streams() {
        return Err(Error::NotLive {
            format: format!("{:?}", cfg.format).to_ascii_lowercase(),
        });
    }
    let mut src = LiveSource::open(&cfg.options, cfg.filter.as_deref())?;
    if let Some(p) = &cfg.save {
        src.save_to(p)?;
    }
    // The key log files are opened now, while probewatch may still read them (they are
    // followed through the open handles after the privileges are dropped).
    let mut pipeline = Pipeline::with_trust(cfg.bounds, cfg.trust.clone());
    pipeline.keylog_from(&cfg.keylogs, cfg.bounds.keylog, true)?;
    let who = privs::drop_privileges(&cfg.user)?;
    let _ = writeln!(
        notice,
        "probewatch: listening on {}, link type {}, snapshot length {} bytes; {who}; Ctrl-C stops",
        src.name(),
        src.link().0,
        cfg.options.snaplen
    );
    let _ = notice.flush();

    let mut rep = Reporter {
        numbering: Numbering::new(cfg.bounds.correlate, cfg.bounds.correlate.groups),
        writer,
        max: cfg.max_probes,
    };
    let started = Instant::now();
    let mut last_tick = Instant::now();
    let mut ready = Vec::new();
    let mut failure: Option<Error> = None;

    while !stop.load(Ordering::Relaxed) && !rep.full() {
        if cfg.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        match src.read() {
            Ok(Read::Packet(p)) => pipeline.packet(&p),
            Ok(Read::Quiet) => {}
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
        if last_tick.elapsed() >= Duration::from_secs(1) {
            last_tick = Instant::now();
            pipeline.tick(now());
        }
        pipeline.take_probes(&mut ready);
        rep.report(&mut ready, &pipeline, out)?;
    }
    // Report what is still waiting, with what is known (unless -c said how many).
    pipeline.finish();
    pipeline.take_probes(&mut ready);
    rep.report(&mut ready, &pipeline, out)?;
    let mut stats = pipeline.stats();
    stats.interface = Some(src.name().to_string());
    stats.kernel = Some(src.kernel_stats());
    // Attempt groups (bounded, evictions counted) are reported when the capture stops.
    let Reporter {
        numbering,
        mut writer,
        ..
    } = rep;
    let (groups, mut clients, counters) = numbering.finish(0);
    stats.correlate.absorb(&counters);
    // As a streamed capture file's report: each client's MAC, and the MACs kept apart.
    let macs = pipeline.client_macs();
    for c in clients.iter_mut() {
        c.mac = c.mac.or_else(|| macs.get(&c.client).copied());
    }
    let report = Report {
        probes: Vec::new(),
        clients,
        groups,
        routers: pipeline.routers(),
    };
    let end = report::End {
        report: &report,
        stats: &stats,
        streamed: true,
    };
    writer.finish(&end, out)?;
    src.flush()?;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Numbers, summarises and writes probes as they complete.
struct Reporter {
    numbering: Numbering,
    writer: Box<dyn Writer>,
    max: Option<u64>,
}

impl Reporter {
    fn full(&self) -> bool {
        self.max.is_some_and(|m| self.numbering.count() >= m)
    }

    fn report(
        &mut self,
        ready: &mut Vec<Probe>,
        pipeline: &Pipeline,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        for mut p in ready.drain(..) {
            if self.full() {
                break;
            }
            // The host from the MACs learned so far, as a streamed capture file's report
            // (none with --no-merge-hosts).
            if let Some(h) = pipeline.host_of(p.client) {
                p.host = Some(Box::new(h));
            }
            self.numbering.add(&mut p);
            self.writer.probe(&p, out)?;
        }
        Ok(())
    }
}
