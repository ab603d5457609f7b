//! Stage 1: read packets from capture files (pcap, pcapng, standard input) or a live
//! interface ([`live`]), through libpcap.
//!
//! Output: owned [`Packet`]s. Nothing here looks inside a packet.

pub mod live;

use std::path::{Path, PathBuf};

pub use live::{KernelStats, LiveOptions, LiveSource};

use crate::error::Error;

/// A capture timestamp, nanosecond resolution (microsecond files are scaled up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    pub fn new(secs: i64, nanos: u32) -> Self {
        Timestamp {
            secs: secs.saturating_add(i64::from(nanos / 1_000_000_000)),
            nanos: nanos % 1_000_000_000,
        }
    }

    /// Seconds elapsed since `earlier` (0 when `earlier` is later).
    pub fn secs_since(&self, earlier: &Timestamp) -> f64 {
        let d = (self.secs - earlier.secs) as f64
            + (f64::from(self.nanos) - f64::from(earlier.nanos)) / 1e9;
        d.max(0.0)
    }
}

/// The link-layer header type of a capture (a LINKTYPE_ value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub i32);

/// One captured packet, as libpcap returned it.
#[derive(Clone, Debug)]
pub struct Packet {
    pub ts: Timestamp,
    pub link: LinkType,
    /// Length of the packet on the wire.
    pub wire_len: u32,
    /// The captured bytes (may be shorter than `wire_len`: snaplen).
    pub data: Vec<u8>,
}

impl Packet {
    /// A borrowed view of this packet.
    pub fn view(&self) -> PacketView<'_> {
        PacketView {
            ts: self.ts,
            link: self.link,
            wire_len: self.wire_len,
            data: &self.data,
        }
    }
}

/// One captured packet, borrowed from the buffer it was read into.
#[derive(Clone, Copy, Debug)]
pub struct PacketView<'a> {
    pub ts: Timestamp,
    pub link: LinkType,
    pub wire_len: u32,
    pub data: &'a [u8],
}

/// Where packets come from.
#[derive(Clone, Debug)]
pub enum Input {
    File(PathBuf),
    Stdin,
}

impl Input {
    pub fn from_arg(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::File(PathBuf::from(arg))
        }
    }

    pub fn display_name(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Stdin => "standard input".to_string(),
        }
    }
}

/// An open capture file.
pub struct OfflineSource {
    cap: pcap::Capture<pcap::Offline>,
    name: String,
    link: LinkType,
    /// Size of the file in bytes when known (not for stdin).
    pub file_size: Option<u64>,
    /// Approximate bytes consumed so far (record headers + captured bytes).
    pub bytes_read: u64,
    pub packets_read: u64,
    /// The packet last read; its buffer is reused for the next one.
    current: Packet,
}

impl OfflineSource {
    /// Opens a capture file (or stdin) and applies an optional BPF filter.
    pub fn open(input: &Input, filter: Option<&str>) -> Result<OfflineSource, Error> {
        let name = input.display_name();
        let (path, file_size): (&Path, Option<u64>) = match input {
            Input::File(p) => {
                let meta = std::fs::metadata(p).map_err(|e| Error::Open {
                    path: name.clone(),
                    reason: io_reason(&e),
                })?;
                if meta.is_dir() {
                    return Err(Error::Open {
                        path: name,
                        reason: "it is a directory, not a capture file".into(),
                    });
                }
                if meta.len() == 0 {
                    return Err(Error::NotACapture {
                        path: name,
                        detail: "the file is empty (0 bytes)".into(),
                    });
                }
                (p.as_path(), Some(meta.len()))
            }
            Input::Stdin => (Path::new("-"), None),
        };
        let mut cap = pcap::Capture::from_file_with_precision(path, pcap::Precision::Nano)
            .map_err(|e| classify_open_error(&name, e))?;
        if let Some(expr) = filter {
            cap.filter(expr, true).map_err(|e| Error::Filter {
                expr: expr.to_string(),
                detail: pcap_text(&e),
            })?;
        }
        let link = LinkType(cap.get_datalink().0);
        Ok(OfflineSource {
            cap,
            name,
            link,
            file_size,
            bytes_read: 24,
            packets_read: 0,
            current: Packet {
                ts: Timestamp::default(),
                link,
                wire_len: 0,
                data: Vec::new(),
            },
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn link(&self) -> LinkType {
        self.link
    }

    /// The next packet, `Ok(None)` at the end of the file. The packet is valid until the
    /// next call (its buffer is reused: no allocation per packet).
    pub fn next_packet(&mut self) -> Result<Option<&Packet>, Error> {
        match self.cap.next_packet() {
            Ok(p) => {
                self.packets_read += 1;
                self.bytes_read += 16 + u64::from(p.header.caplen);
                let secs = p.header.ts.tv_sec;
                let nanos = u32::try_from(p.header.ts.tv_usec).unwrap_or(0);
                let cur = &mut self.current;
                cur.ts = Timestamp::new(secs, nanos);
                cur.link = self.link;
                cur.wire_len = p.header.len;
                cur.data.clear();
                cur.data.extend_from_slice(p.data);
                Ok(Some(&self.current))
            }
            Err(pcap::Error::NoMorePackets) => Ok(None),
            Err(e) => Err(Error::Damaged {
                path: self.name.clone(),
                after_packets: self.packets_read,
                detail: pcap_text(&e),
            }),
        }
    }
}

/// Packets read ahead in batches by a second thread, so reading the file (libpcap and the
/// kernel's copies) overlaps with decoding and parsing. Bounded: at most
/// [`READ_AHEAD_BATCHES`] batches of about [`BATCH_BYTES`] are in flight, and their buffers
/// are reused.
pub struct ReadAhead {
    rx: std::sync::mpsc::Receiver<Msg>,
    recycle: std::sync::mpsc::SyncSender<Batch>,
    thread: Option<std::thread::JoinHandle<()>>,
    link: LinkType,
    /// Bytes and packets consumed so far (for progress).
    pub bytes_read: u64,
    pub packets_read: u64,
    done: bool,
}

/// Batches in flight between the reading thread and the pipeline.
pub const READ_AHEAD_BATCHES: usize = 4;
/// Bytes of packet data per batch (a batch closes after the packet that crosses it).
pub const BATCH_BYTES: usize = 1 << 20;

/// Packets read together: their bytes back to back, and where each ends.
#[derive(Default)]
pub struct Batch {
    data: Vec<u8>,
    packets: Vec<(Timestamp, u32, usize)>,
}

impl Batch {
    /// The packets of the batch, in capture order.
    pub fn iter(&self, link: LinkType) -> impl Iterator<Item = PacketView<'_>> {
        let mut start = 0;
        self.packets.iter().map(move |&(ts, wire_len, end)| {
            let data = self.data.get(start..end).unwrap_or_default();
            start = end;
            PacketView {
                ts,
                link,
                wire_len,
                data,
            }
        })
    }
}

enum Msg {
    Batch(Batch, u64, u64),
    Done(Option<Error>),
}

impl OfflineSource {
    /// Moves the source to a reading thread.
    pub fn read_ahead(mut self) -> Result<ReadAhead, Error> {
        let name = self.name.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(READ_AHEAD_BATCHES);
        let (recycle, spare) = std::sync::mpsc::sync_channel::<Batch>(READ_AHEAD_BATCHES + 2);
        let link = self.link;
        let spawned = std::thread::Builder::new()
            .name("pcap-reader".into())
            .spawn(move || loop {
                let mut b = spare.try_recv().unwrap_or_default();
                b.data.clear();
                b.packets.clear();
                let mut end: Option<Error> = None;
                let mut eof = false;
                while b.data.len() < BATCH_BYTES {
                    match self.cap.next_packet() {
                        Ok(p) => {
                            self.packets_read += 1;
                            self.bytes_read += 16 + u64::from(p.header.caplen);
                            let secs = p.header.ts.tv_sec;
                            let nanos = u32::try_from(p.header.ts.tv_usec).unwrap_or(0);
                            b.data.extend_from_slice(p.data);
                            b.packets.push((
                                Timestamp::new(secs, nanos),
                                p.header.len,
                                b.data.len(),
                            ));
                        }
                        Err(pcap::Error::NoMorePackets) => {
                            eof = true;
                            break;
                        }
                        Err(e) => {
                            end = Some(Error::Damaged {
                                path: self.name.clone(),
                                after_packets: self.packets_read,
                                detail: pcap_text(&e),
                            });
                            break;
                        }
                    }
                }
                if !b.packets.is_empty()
                    && tx
                        .send(Msg::Batch(b, self.bytes_read, self.packets_read))
                        .is_err()
                {
                    return; // the pipeline stopped listening
                }
                if eof || end.is_some() {
                    let _ = tx.send(Msg::Done(end));
                    return;
                }
            });
        let thread = spawned.map_err(|e| Error::Open {
            path: name,
            reason: format!("cannot start a thread to read it ({e})"),
        })?;
        Ok(ReadAhead {
            rx,
            recycle,
            thread: Some(thread),
            link,
            bytes_read: 0,
            packets_read: 0,
            done: false,
        })
    }
}

impl ReadAhead {
    pub fn link(&self) -> LinkType {
        self.link
    }

    /// The next batch; `None` at the end of the file; the error of a damaged file after
    /// every batch before the damage.
    pub fn next_batch(&mut self) -> Option<Result<Batch, Error>> {
        if self.done {
            return None;
        }
        match self.rx.recv() {
            Ok(Msg::Batch(b, bytes, packets)) => {
                self.bytes_read = bytes;
                self.packets_read = packets;
                Some(Ok(b))
            }
            Ok(Msg::Done(err)) => {
                self.done = true;
                err.map(Err)
            }
            Err(_) => {
                self.done = true;
                None
            }
        }
    }

    /// Gives a processed batch's buffers back to the reading thread.
    pub fn recycle(&self, b: Batch) {
        let _ = self.recycle.try_send(b);
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Unblock the thread (its sends fail once the receiver is gone) and wait for it.
        let (_tx, rx) = std::sync::mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.rx, rx));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub(crate) fn pcap_text(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(s) => s.clone(),
        other => other.to_string(),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn classify_open_error(name: &str, e: pcap::Error) -> Error {
    let text = pcap_text(&e);
    let lower = text.to_ascii_lowercase();
    if lower.contains("no such file") {
        Error::Open {
            path: name.to_string(),
            reason: "no such file".into(),
        }
    } else if lower.contains("permission denied") {
        Error::Open {
            path: name.to_string(),
            reason: "permission denied".into(),
        }
    } else if lower.contains("truncated dump file") && lower.contains("file header") {
        Error::NotACapture {
            path: name.to_string(),
            detail: "it is too short to hold a capture file header".into(),
        }
    } else if lower.contains("unknown file format") || lower.contains("bad dump file format") {
        Error::NotACapture {
            path: name.to_string(),
            detail: "it is not in pcap or pcapng format".into(),
        }
    } else {
        Error::NotACapture {
            path: name.to_string(),
            detail: text,
        }
    }
}
