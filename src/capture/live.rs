//! Live capture from a network interface through libpcap.
//!
//! Opened with a snapshot length large enough for whole handshakes, not in immediate
//! mode: libpcap on Linux then uses TPACKET_V3, whose ring packs packets of any size into
//! blocks, so the kernel buffer (`-B`) holds as many packets as fit their real sizes; the
//! kernel hands a block over when it is full or after the read timeout
//! ([`READ_TIMEOUT_MS`], so a probe is printed at most that much later). Immediate mode
//! (TPACKET_V2) gives every packet a fixed slot of the snapshot length: 64 KiB each, only
//! about 500 packets in 32 MiB, and at line rate the kernel dropped 18% of the packets
//! (bench/line-rate.sh, docs/performance.md). Non-blocking: libpcap on Linux keeps waiting
//! through its own read timeout, so a blocking read on a quiet interface would never
//! return to report timed-out probes or to notice Ctrl-C. When nothing is waiting,
//! [`LiveSource::read`] sleeps [`IDLE_SLEEP`] (the kernel ring buffer holds what arrives
//! meanwhile).

use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::{pcap_text, LinkType, Packet, PcapWriter, Timestamp};
use crate::error::Error;

/// How to open an interface.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub interface: String,
    /// Bytes kept of each packet.
    pub snaplen: i32,
    pub promiscuous: bool,
    /// Kernel capture buffer in bytes.
    pub buffer_bytes: i32,
}

impl LiveOptions {
    pub fn new(interface: &str) -> Self {
        LiveOptions {
            interface: interface.to_string(),
            snaplen: DEFAULT_SNAPLEN,
            promiscuous: true,
            buffer_bytes: 32 << 20,
        }
    }
}

/// Bytes kept per packet by default: a whole TCP segment even with offloads (GRO) on, so
/// whole handshakes. The ring (TPACKET_V3, not immediate mode) stores each packet in its
/// real size, so this costs no buffer space for small packets.
pub const DEFAULT_SNAPLEN: i32 = 65_535;

/// libpcap's read timeout: the kernel hands over a partly filled block after this long,
/// so a packet waits at most this much on a quiet interface.
pub const READ_TIMEOUT_MS: i32 = 100;

/// How long to sleep when no packet is waiting.
pub const IDLE_SLEEP: std::time::Duration = std::time::Duration::from_millis(1);

/// Counters libpcap keeps for a live capture.
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelStats {
    /// Packets that passed the filter.
    pub received: u64,
    /// Dropped because probewatch did not read fast enough.
    pub dropped: u64,
    /// Dropped by the interface or its driver.
    pub if_dropped: u64,
}

/// What one read returned.
pub enum Read {
    Packet(Packet),
    /// Nothing was waiting.
    Quiet,
}

/// An open interface.
pub struct LiveSource {
    cap: pcap::Capture<pcap::Active>,
    name: String,
    link: LinkType,
    snaplen: u32,
    save: Option<PcapWriter>,
    /// When what `save` buffered was last written out.
    saved_at: std::time::Instant,
    pub packets_read: u64,
}

/// The `-w` buffer is written out when the ring is empty and at least this long passed
/// since the last time (a non-blocking read finds the ring empty between bursts on any
/// busy link: a write for each would defeat the buffer).
pub const SAVE_FLUSH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

impl LiveSource {
    /// Opens the interface and compiles the filter. Needs the privilege to capture; nothing
    /// after this does.
    pub fn open(opts: &LiveOptions, filter: Option<&str>) -> Result<LiveSource, Error> {
        let name = opts.interface.clone();
        let known = pcap::Device::list().unwrap_or_default();
        // A network interface has a link state; libpcap's other capture sources (nflog,
        // nfqueue, usbmon, dbus) have none, and take a suffix (`nflog:5`: NFLOG group 5)
        // as tcpdump gives it.
        let netdev = |n: &str| std::path::Path::new("/sys/class/net").join(n).exists();
        let base = name.split(':').next().unwrap_or(name.as_str());
        let device = known
            .iter()
            .find(|d| d.name == name || (d.name == base && !netdev(base)));
        if device.is_none() && !known.is_empty() {
            return Err(no_such_interface(&name, &known));
        }
        if let Some(d) = device {
            if !d.flags.is_up() && name != "any" && netdev(&d.name) {
                return Err(Error::Interface {
                    name,
                    reason: "the interface is down".into(),
                    fix: format!("bring it up first (`ip link set {} up`)", d.name),
                });
            }
        }
        let inactive = pcap::Capture::from_device(name.as_str())
            .map_err(|e| classify_live_error(&name, &e, &known))?
            .snaplen(opts.snaplen)
            .promisc(opts.promiscuous)
            .immediate_mode(false)
            .timeout(READ_TIMEOUT_MS)
            .buffer_size(opts.buffer_bytes);
        let mut cap = inactive
            .open()
            .map_err(|e| classify_live_error(&name, &e, &known))?
            .setnonblock()
            .map_err(|e| classify_live_error(&name, &e, &known))?;
        if let Some(expr) = filter {
            cap.filter(expr, true).map_err(|e| Error::Filter {
                expr: expr.to_string(),
                detail: pcap_text(&e),
            })?;
        }
        let link = LinkType(cap.get_datalink().0);
        Ok(LiveSource {
            cap,
            name,
            link,
            snaplen: u32::try_from(opts.snaplen).unwrap_or(super::file::SAVE_SNAPLEN),
            save: None,
            saved_at: std::time::Instant::now(),
            packets_read: 0,
        })
    }

    /// Also writes every captured packet to `path` (pcap format, like `tcpdump -w`). A
    /// named pipe's open waits for a program to read it; `stop` (Ctrl-C) ends the wait.
    pub fn save_to(&mut self, path: &Path, stop: Option<&AtomicBool>) -> Result<(), Error> {
        self.save = Some(PcapWriter::create_until(path, stop)?.with_snaplen(self.snaplen));
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn link(&self) -> LinkType {
        self.link
    }

    /// The next packet, or [`Read::Quiet`] after sleeping [`IDLE_SLEEP`] when none waits.
    pub fn read(&mut self) -> Result<Read, Error> {
        match self.cap.next_packet() {
            Ok(p) => {
                self.packets_read += 1;
                let secs = p.header.ts.tv_sec;
                let micros = u32::try_from(p.header.ts.tv_usec).unwrap_or(0);
                let packet = Packet {
                    ts: Timestamp::new(secs, micros.saturating_mul(1000)),
                    link: self.link,
                    wire_len: p.header.len,
                    data: p.data.to_vec(),
                };
                // A write that fails (a full disk, a reader that closed the pipe) ends the
                // capture with the reason: packets are never dropped from -w silently.
                if let Some(s) = self.save.as_mut() {
                    s.write(&packet.view())?;
                }
                Ok(Read::Packet(packet))
            }
            // libpcap's NFLOG source, non-blocking, says EAGAIN as an error ("Can't
            // receive packet: Resource temporarily unavailable"): nothing waits.
            Err(e) if nothing_waits(&e) => {
                // Quiet: what -w holds goes out now (every SAVE_FLUSH_INTERVAL at most), not
                // when the buffer fills.
                if let Some(s) = self.save.as_mut() {
                    if self.saved_at.elapsed() >= SAVE_FLUSH_INTERVAL {
                        self.saved_at = std::time::Instant::now();
                        s.flush()?;
                    }
                }
                std::thread::sleep(IDLE_SLEEP);
                Ok(Read::Quiet)
            }
            Err(e) => Err(Error::Interface {
                name: self.name.clone(),
                reason: format!("reading failed: {}", pcap_text(&e)),
                fix: "check that the interface still exists".into(),
            }),
        }
    }

    /// libpcap's counters (zero where the platform does not keep them).
    pub fn kernel_stats(&mut self) -> KernelStats {
        match self.cap.stats() {
            Ok(s) => KernelStats {
                received: u64::from(s.received),
                dropped: u64::from(s.dropped),
                if_dropped: u64::from(s.if_dropped),
            },
            Err(_) => KernelStats::default(),
        }
    }

    /// Flushes the save file, if any.
    pub fn flush(&mut self) -> Result<(), Error> {
        match self.save.as_mut() {
            Some(s) => s.flush(),
            None => Ok(()),
        }
    }
}

/// The current time as a capture timestamp (for expiring probes on a quiet interface).
pub fn now() -> Timestamp {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => Timestamp::new(
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        Err(_) => Timestamp::default(),
    }
}

fn names_of(known: &[pcap::Device]) -> String {
    let names: Vec<&str> = known.iter().take(12).map(|d| d.name.as_str()).collect();
    names.join(", ")
}

fn no_such_interface(name: &str, known: &[pcap::Device]) -> Error {
    Error::Interface {
        name: name.to_string(),
        reason: "no such interface".into(),
        fix: format!(
            "pick one of: {} (`probewatch -D` lists them)",
            names_of(known)
        ),
    }
}

/// No packet now: the read timeout, or EAGAIN said as an error (libpcap's NFLOG source).
fn nothing_waits(e: &pcap::Error) -> bool {
    match e {
        pcap::Error::TimeoutExpired => true,
        pcap::Error::PcapError(m) => m.contains("Resource temporarily unavailable"),
        _ => false,
    }
}

fn classify_live_error(name: &str, e: &pcap::Error, known: &[pcap::Device]) -> Error {
    let text = pcap_text(e);
    let lower = text.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        Error::Permission {
            name: name.to_string(),
        }
    } else if lower.contains("no such device") {
        no_such_interface(name, known)
    } else if lower.contains("not up") {
        Error::Interface {
            name: name.to_string(),
            reason: "the interface is down".into(),
            fix: format!("bring it up first (`ip link set {name} up`)"),
        }
    } else {
        Error::Interface {
            name: name.to_string(),
            reason: text,
            fix: "check the interface name with `probewatch -D`".into(),
        }
    }
}

/// One line per interface, like `tcpdump -D`.
pub fn list_interfaces() -> Result<Vec<String>, Error> {
    let devs = pcap::Device::list().map_err(|e| Error::Interface {
        name: "(any)".into(),
        reason: format!("cannot list interfaces: {}", pcap_text(&e)),
        fix: "check that libpcap can see the network interfaces".into(),
    })?;
    Ok(devs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut flags = Vec::new();
            if d.flags.is_up() {
                flags.push("Up");
            }
            if d.flags.is_running() {
                flags.push("Running");
            }
            if d.flags.is_loopback() {
                flags.push("Loopback");
            }
            let mut line = format!("{}.{}", i + 1, d.name);
            if let Some(desc) = &d.desc {
                line.push_str(&format!(" ({desc})"));
            }
            if !flags.is_empty() {
                line.push_str(&format!(" [{}]", flags.join(", ")));
            }
            let addrs: Vec<String> = d.addresses.iter().map(|a| a.addr.to_string()).collect();
            if !addrs.is_empty() {
                line.push_str(&format!(" {}", addrs.join(" ")));
            }
            line
        })
        .collect())
}
