//! Live capture: the same pipeline as for capture files, fed from an interface, each probe
//! reported as soon as it is complete.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::capture::live::{now, Read};
use crate::capture::Packet;
use crate::capture::{LiveOptions, LiveSource};
use crate::correlate::{Correlator, Numbering, Probe, Report};
use crate::report::{self, Format, Writer};
use crate::{apply, privs, Bounds, Down, Error, Front, Msg};

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
    /// `--threads`: 0 for one per core; 1 captures, correlates and writes on one thread,
    /// 2 or more capture on a thread of its own.
    pub threads: usize,
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
        src.save_to(p, Some(stop))?;
    }
    // The key log files are opened now, while probewatch may still read them (they are
    // followed through the open handles after the privileges are dropped).
    let mut front = Front::new(cfg.bounds);
    front.keylog_from(&cfg.keylogs, cfg.bounds.keylog, true)?;
    let mut correlator = Correlator::with_trust(cfg.bounds.correlate, cfg.trust.clone());
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
    let threads = crate::threads_for(cfg.threads);
    let done = AtomicBool::new(false);
    let failure = if threads < 2 {
        let mut down = Direct {
            correlator: &mut correlator,
            rep: &mut rep,
            out,
            ready: Vec::new(),
        };
        capture_loop(cfg, &mut src, &mut front, stop, &done, &mut down)?
    } else {
        // Capture on a thread of its own that only takes packets off the kernel's ring
        // and hands them over in bounded batches, so that it is never held up by the
        // work on them; this thread decodes, reassembles, parses, correlates and writes.
        let (src, done) = (&mut src, &done);
        std::thread::scope(|scope| -> Result<Option<Error>, Error> {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Packet>>(LIVE_BATCHES_IN_FLIGHT);
            let capture = std::thread::Builder::new()
                .name("probewatch-capture".into())
                .spawn_scoped(scope, move || capture_packets(cfg, src, stop, done, &tx))
                .map_err(|e| Error::Thread {
                    reason: e.to_string(),
                })?;
            let mut down = Direct {
                correlator: &mut correlator,
                rep: &mut rep,
                out,
                ready: Vec::new(),
            };
            let mut handoff = Vec::new();
            let mut last_tick = Instant::now();
            let mut failed = None;
            for batch in rx.iter() {
                for p in &batch {
                    front.packet_view(p.view(), &mut handoff);
                }
                if last_tick.elapsed() >= Duration::from_secs(1) {
                    last_tick = Instant::now();
                    front.tick(now(), &mut handoff);
                }
                if let Err(e) = hand_over(&mut handoff, &mut down) {
                    failed = Some(e);
                    break;
                }
                if down.stopped() {
                    done.store(true, Ordering::Relaxed);
                    break;
                }
            }
            // Closing the channel ends the capture thread's sends.
            drop(rx);
            let failure = capture.join().map_err(|_| Error::Thread {
                reason: "the capture thread stopped".to_string(),
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
            // Report what is still waiting, with what is known (unless -c said how many).
            front.finish(&mut handoff);
            hand_over(&mut handoff, &mut down)?;
            Ok(failure)
        })?
    };
    let mut stats = front.stats();
    stats.correlate = correlator.stats().clone();
    stats.threads = threads;
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
    for c in clients.iter_mut() {
        c.mac = c.mac.or_else(|| correlator.mac_of(c.client));
    }
    let report = Report {
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
    src.flush()?;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Captures until `stop` (Ctrl-C), `done` (the report has its `-c` probes), the duration,
/// or a capture error (returned), feeding the flow stages and handing their output to
/// `down`; then ends every flow.
fn capture_loop(
    cfg: &LiveConfig,
    src: &mut LiveSource,
    front: &mut Front,
    stop: &AtomicBool,
    done: &AtomicBool,
    down: &mut dyn Down,
) -> Result<Option<Error>, Error> {
    let started = Instant::now();
    let mut last_tick = Instant::now();
    let mut handoff = Vec::new();
    let mut failure: Option<Error> = None;
    while !stop.load(Ordering::Relaxed) && !done.load(Ordering::Relaxed) && !down.stopped() {
        if cfg.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        match src.read() {
            Ok(Read::Packet(p)) => front.packet_view(p.view(), &mut handoff),
            Ok(Read::Quiet) => {}
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
        if last_tick.elapsed() >= Duration::from_secs(1) {
            last_tick = Instant::now();
            front.tick(now(), &mut handoff);
        }
        hand_over(&mut handoff, down)?;
    }
    // Report what is still waiting, with what is known (unless -c said how many).
    front.finish(&mut handoff);
    hand_over(&mut handoff, down)?;
    down.flush();
    Ok(failure)
}

/// Packets of one batch handed from the capture thread (at most; a batch is also handed
/// over when the interface is quiet and after [`LIVE_BATCH_WAIT`]).
pub const LIVE_BATCH_PACKETS: usize = 256;
/// Captured bytes of one batch (at most, give or take one packet).
pub const LIVE_BATCH_BYTES: usize = 1 << 20;
/// Batches in flight from the capture thread; when they are full it waits, and the
/// kernel's ring (`-B`) holds what comes meanwhile.
pub const LIVE_BATCHES_IN_FLIGHT: usize = 16;
/// The longest a packet waits in a batch that is not full.
pub const LIVE_BATCH_WAIT: Duration = Duration::from_millis(50);

/// The capture thread: takes packets off the interface and sends them in batches, until
/// `stop`, `done`, the duration, or a capture error (returned).
fn capture_packets(
    cfg: &LiveConfig,
    src: &mut LiveSource,
    stop: &AtomicBool,
    done: &AtomicBool,
    tx: &std::sync::mpsc::SyncSender<Vec<Packet>>,
) -> Option<Error> {
    let started = Instant::now();
    let mut batch: Vec<Packet> = Vec::with_capacity(LIVE_BATCH_PACKETS);
    let mut bytes = 0usize;
    let mut last_send = Instant::now();
    let mut failure = None;
    while !stop.load(Ordering::Relaxed) && !done.load(Ordering::Relaxed) {
        if cfg.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        let quiet = match src.read() {
            Ok(Read::Packet(p)) => {
                bytes += p.data.len();
                batch.push(p);
                false
            }
            Ok(Read::Quiet) => true,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        // A quiet interface still sends its (maybe empty) batch: the other thread lets
        // time pass with it.
        if quiet
            || batch.len() >= LIVE_BATCH_PACKETS
            || bytes >= LIVE_BATCH_BYTES
            || last_send.elapsed() >= LIVE_BATCH_WAIT
        {
            bytes = 0;
            last_send = Instant::now();
            let b = std::mem::replace(&mut batch, Vec::with_capacity(LIVE_BATCH_PACKETS));
            if tx.send(b).is_err() {
                return failure;
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(batch);
    }
    failure
}

/// Sends the handoffs and a mark (take the completed probes) to `down`.
fn hand_over(handoff: &mut Vec<crate::Handoff>, down: &mut dyn Down) -> Result<(), Error> {
    if handoff.is_empty() {
        return Ok(());
    }
    crate::send_handoffs(handoff, Some(now()), false, down)
}

/// One thread: handoffs go straight to the correlator, probes straight to the report.
struct Direct<'a, 'o> {
    correlator: &'a mut Correlator,
    rep: &'a mut Reporter,
    out: &'o mut dyn Write,
    ready: Vec<Probe>,
}

impl Down for Direct<'_, '_> {
    fn send(&mut self, m: Msg) -> Result<(), Error> {
        match m {
            Msg::Handoff(h) => apply(self.correlator, h),
            Msg::Mark { .. } => {
                self.correlator.take_ready(&mut self.ready);
                self.rep
                    .report(&mut self.ready, self.correlator, self.out)?;
            }
        }
        Ok(())
    }
    fn stopped(&self) -> bool {
        self.rep.full()
    }
    fn flush(&mut self) {}
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
        correlator: &Correlator,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        for mut p in ready.drain(..) {
            if self.full() {
                break;
            }
            // The host from the MACs learned so far, as a streamed capture file's report
            // (none with --no-merge-hosts).
            if let Some(h) = correlator.host_of(p.client) {
                p.host = Some(Box::new(h));
            }
            self.numbering.add(&mut p);
            self.writer.probe(&p, out)?;
        }
        Ok(())
    }
}
