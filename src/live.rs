//! Live capture: the same pipeline as for capture files, fed from an interface, each probe
//! reported as soon as it is complete.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::capture::live::{now, Read};
use crate::capture::{LiveOptions, LiveSource};
use crate::correlate::groups::Grouper;
use crate::correlate::{Probe, Summaries};
use crate::report::{Format, Stream};
use crate::{privs, Bounds, Error, Pipeline};

/// What to run on an interface.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    pub options: LiveOptions,
    pub filter: Option<String>,
    pub format: Format,
    pub bounds: Bounds,
    pub width: u16,
    /// Also write the captured packets here (pcap).
    pub save: Option<PathBuf>,
    /// The user to run as once the interface is open (when started as root).
    pub user: String,
    /// Stop after this many probes.
    pub max_probes: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
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
    let mut src = LiveSource::open(&cfg.options, cfg.filter.as_deref())?;
    if let Some(p) = &cfg.save {
        src.save_to(p)?;
    }
    let who = privs::drop_privileges(&cfg.user)?;
    let _ = writeln!(
        notice,
        "probewatch: listening on {}, link type {}, snapshot length {} bytes; {who}; Ctrl-C stops",
        src.name(),
        src.link().0,
        cfg.options.snaplen
    );
    let _ = notice.flush();

    let mut pipeline = Pipeline::new(cfg.bounds);
    let mut rep = Reporter {
        summaries: Summaries::new(cfg.bounds.correlate),
        grouper: Grouper::new(cfg.bounds.correlate.groups),
        stream: Stream::new(cfg.format, cfg.width),
        reported: 0,
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
        rep.report(&mut ready, out)?;
    }
    // Report what is still waiting, with what is known (unless -c said how many).
    pipeline.finish();
    pipeline.take_probes(&mut ready);
    rep.report(&mut ready, out)?;
    let mut stats = pipeline.stats();
    stats.interface = Some(src.name().to_string());
    stats.kernel = Some(src.kernel_stats());
    stats.correlate.clients_evicted = rep.summaries.evicted;
    stats.correlate.client_names_dropped = rep.summaries.names_dropped;
    // Attempt groups (bounded, evictions counted) are reported when the capture stops.
    let (groups, group_stats) =
        std::mem::replace(&mut rep.grouper, Grouper::new(cfg.bounds.correlate.groups)).finish();
    stats.correlate.groups_evicted = group_stats.groups_evicted;
    stats.correlate.group_members_dropped = group_stats.members_dropped;
    stats.correlate.group_links_evicted = group_stats.links_evicted;
    rep.stream.groups(&groups, out)?;
    rep.stream.finish(&rep.summaries.clients(), &stats, out)?;
    src.flush()?;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Numbers, summarises and writes probes as they complete.
struct Reporter {
    summaries: Summaries,
    grouper: Grouper,
    stream: Stream,
    reported: u64,
    max: Option<u64>,
}

impl Reporter {
    fn full(&self) -> bool {
        self.max.is_some_and(|m| self.reported >= m)
    }

    fn report(&mut self, ready: &mut Vec<Probe>, out: &mut dyn Write) -> std::io::Result<()> {
        for mut p in ready.drain(..) {
            if self.full() {
                break;
            }
            self.reported += 1;
            p.id = self.reported;
            self.summaries.add(&p);
            p.group = self.grouper.add(&p);
            self.stream.probe(&p, out)?;
        }
        Ok(())
    }
}
