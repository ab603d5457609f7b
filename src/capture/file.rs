//! Capture files read by probewatch itself, on rusticata's `pcap-parser`: pcap (µs and ns,
//! both byte orders, the "modified" variant) and pcapng (any number of sections and
//! interfaces, each with its own link type, snapshot length and timestamp resolution),
//! compressed or not (gzip, zstd, xz, lz4, found by their magic bytes).
//!
//! A reading thread fills large chunks ([`CHUNK_BYTES`]) from the file or standard input
//! (decompressing on the way) and frames their records there: it hands over chunks of
//! whole records with an index of them (each packet's timestamp, link type, lengths and
//! place), so the pipeline's thread only takes the next entry. A packet is never copied:
//! only the first bytes of a record that goes on past a chunk are moved to the start of
//! the next one. At most [`CHUNKS_IN_FLIGHT`] chunks per input are in flight.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapNGPacketBlock as _;

use super::{Input, LinkType, PacketView, Timestamp};
use crate::error::Error;

/// Bytes read at once from a capture file (standard input hands over whatever each read
/// returned, so a pipe is followed as it comes).
pub const CHUNK_BYTES: usize = 1 << 20;
/// The smallest chunk, when many inputs are merged.
pub const MIN_CHUNK_BYTES: usize = 16 << 10;
/// Chunks read ahead per input.
pub const CHUNKS_IN_FLIGHT: usize = 2;
/// Chunk buffers per input: those in flight, the one the pipeline reads and the one being
/// filled (each is reused once the pipeline is done with it).
const CHUNK_BUFFERS: usize = CHUNKS_IN_FLIGHT + 2;
/// The first bytes of a record or block that hold its length (a pcap record's caplen
/// ends at 12, a pcapng block's length at 8 and a section header's byte-order mark at 12);
/// no record, block or file header is shorter.
const HEAD_BYTES: usize = 12;

/// The largest pcap record or pcapng block accepted; a larger length is damage.
pub const MAX_BLOCK_BYTES: usize = 64 << 20;

const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
/// The latest timestamp believed (later ones are taken as this).
const MAX_TS_SECS: i64 = 1 << 40;

/// How an input is compressed, by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    Xz,
    Lz4,
}

impl Compression {
    pub fn sniff(magic: &[u8]) -> Compression {
        match magic {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Compression::Xz,
            [0x04, 0x22, 0x4d, 0x18, ..] => Compression::Lz4,
            _ => Compression::None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
            Compression::Lz4 => "lz4",
        }
    }
}

/// One thing the reading thread found in a chunk, in file order.
#[derive(Debug)]
enum Item {
    /// A packet, whose captured bytes are `start..end` of its chunk.
    Packet {
        ts: Timestamp,
        link: LinkType,
        wire_len: u32,
        start: u32,
        end: u32,
    },
    /// A Decryption Secrets Block: its secrets type and data (padding removed).
    Secrets(u32, Vec<u8>),
    /// A problem of the file's own records (a `decode_problems` key).
    Problem(&'static str),
    /// A link type declared (the pcap header's, or a pcapng interface's new one).
    Link(LinkType),
}

/// A chunk of whole records, framed by the reading thread: its bytes and what its records
/// hold, in order. A record that goes on past the end of a chunk begins the next one (its
/// first bytes are copied there), so every record lies whole in one chunk.
#[derive(Debug, Default)]
struct Batch {
    buf: Vec<u8>,
    /// At most [`RECORDS_PER_CHUNK`].
    items: Vec<Item>,
    /// Bytes of the input (after decompression) its records took.
    bytes: u64,
}

/// What the reading thread hands over.
enum Msg {
    /// The file header was read.
    Started,
    Batch(Batch),
    /// The file is damaged (or reading it failed) after the batches before; nothing
    /// follows. The end of the input closes the channel.
    Failed(Error),
}

/// Records framed into one chunk at most: a chunk of many small records is handed over
/// early (what follows them is copied to the next chunk), so that the record index of a
/// chunk stays small (about 160 KiB) whatever the records' size.
pub const RECORDS_PER_CHUNK: usize = 4096;

/// Why the reading thread stops framing.
enum Halt {
    /// The pipeline dropped the input.
    Gone,
    Failed(Error),
}

/// One pcapng interface.
#[derive(Clone, Copy, Debug)]
struct Iface {
    link: LinkType,
    /// Timestamp units per second.
    resolution: u64,
    /// Seconds added to every timestamp.
    offset: i64,
}

#[derive(Clone, Debug)]
enum Format {
    /// Before the file header.
    Unknown,
    Pcap {
        big_endian: bool,
        nanos: bool,
        /// Alexey Kuznetsov's "modified" pcap: 24-byte record headers.
        modified: bool,
        link: LinkType,
    },
    Pcapng {
        big_endian: bool,
        ifaces: Vec<Iface>,
    },
}

/// What a pcapng block asks for.
enum Action {
    Unreadable(u32),
    Section(bool),
    /// An interface, and whether its timestamp resolution could not be used.
    Iface(Iface, bool),
    Packet(u32, Option<(u32, u32)>, u32, (usize, usize)),
    /// A Decryption Secrets Block: its secrets type and data (padding removed).
    Secrets(u32, Vec<u8>),
    Nothing,
}

fn not_a_capture(name: &str, c: Compression, detail: &str) -> Error {
    let detail = if c == Compression::None {
        detail.to_string()
    } else {
        format!("{detail}, once {} decompressed", c.name())
    };
    Error::NotACapture {
        path: name.to_string(),
        detail,
    }
}

/// The reading thread: reads (and decompresses) the input into chunks and frames its
/// records, so that the pipeline gets whole records with their timestamps.
struct Framer {
    name: String,
    reader: Box<dyn Read>,
    /// A pipe: every read is framed and handed over as it comes.
    stream: bool,
    chunk: usize,
    tx: SyncSender<Msg>,
    spare: Receiver<Batch>,
    compression: Compression,
    /// Set while a pipe is read inside a record (see [`FileSource::wait`]).
    inside: Arc<AtomicBool>,
    /// The chunk being framed: `buf[..len]` is read, `buf[..pos]` framed.
    batch: Batch,
    len: usize,
    pos: usize,
    eof: bool,
    /// A read failed (after `len` bytes).
    failed: Option<String>,
    format: Format,
    last_ts: Timestamp,
    /// Packets framed so far.
    packets: u64,
    /// The link types announced to the reading side so far (at most 65,536: a pcapng
    /// link type is 16 bits), a set: every interface block is looked up in it.
    link_types: std::collections::HashSet<i32>,
    /// Chunk buffers made so far (at most [`CHUNK_BUFFERS`]).
    buffers: usize,
}

impl Framer {
    fn run(mut self) {
        let r = self.header().and_then(|()| self.send(Msg::Started));
        let r = r.and_then(|()| self.records());
        let r = r.and_then(|()| self.hand_over());
        if let Err(Halt::Failed(e)) = r {
            // What was framed before the damage goes first.
            if self.hand_over().is_ok() {
                let _ = self.tx.send(Msg::Failed(e));
            }
        }
    }

    fn send(&self, m: Msg) -> Result<(), Halt> {
        self.tx.send(m).map_err(|_| Halt::Gone)
    }

    /// Sends what is framed (if anything).
    fn hand_over(&mut self) -> Result<(), Halt> {
        if self.batch.items.is_empty() {
            return Ok(());
        }
        self.make_room(0)
    }

    fn records(&mut self) -> Result<(), Halt> {
        while let Some(r) = self.record()? {
            match self.format {
                Format::Pcapng { .. } => self.pcapng_block(r)?,
                _ => self.pcap_record(r)?,
            }
            if self.batch.items.len() >= RECORDS_PER_CHUNK {
                self.make_room(0)?;
            }
        }
        Ok(())
    }

    fn damaged(&self, detail: impl Into<String>) -> Error {
        Error::Damaged {
            path: self.name.clone(),
            after_packets: self.packets,
            detail: detail.into(),
        }
    }

    fn not_a_capture(&self, detail: &str) -> Error {
        not_a_capture(&self.name, self.compression, detail)
    }

    fn record_error(&self, e: String) -> Error {
        if matches!(self.format, Format::Unknown) {
            self.not_a_capture(&e)
        } else {
            self.damaged(e)
        }
    }

    fn cut_short(&self) -> Error {
        if matches!(self.format, Format::Unknown) {
            self.not_a_capture("it is too short to hold a capture file header")
        } else {
            self.damaged("the last record is cut short")
        }
    }

    fn problem(&mut self, kind: &'static str) {
        self.batch.items.push(Item::Problem(kind));
    }

    /// Makes `need` unframed bytes available; `false` at the end of the input (fewer are).
    fn want(&mut self, need: usize) -> Result<bool, Halt> {
        while self.len - self.pos < need {
            if let Some(e) = &self.failed {
                return Err(Halt::Failed(self.damaged(format!("reading failed: {e}"))));
            }
            if self.eof {
                return Ok(false);
            }
            self.make_room(need)?;
            self.read_more();
        }
        Ok(true)
    }

    /// Hands over the records framed so far (their chunk goes with them) and moves the
    /// bytes not framed yet to the start of the next chunk, which has room for `need`.
    fn make_room(&mut self, need: usize) -> Result<(), Halt> {
        let tail = self.len - self.pos;
        let size = self.chunk.max(need);
        if !self.batch.items.is_empty() {
            // A chunk the pipeline is done with; a new one while fewer than
            // [`CHUNK_BUFFERS`] exist, else the next one the pipeline is done with.
            let mut next = match self.spare.try_recv() {
                Ok(b) => b,
                Err(_) if self.buffers < CHUNK_BUFFERS => {
                    self.buffers += 1;
                    Batch::default()
                }
                Err(_) => self.spare.recv().map_err(|_| Halt::Gone)?,
            };
            next.items.clear();
            next.bytes = 0;
            if next.buf.len() > size {
                // A chunk grown for a large record is not kept.
                next.buf = Vec::new();
            }
            if next.buf.len() < size.max(tail) {
                next.buf.resize(size.max(tail), 0);
            }
            if let (Some(dst), Some(src)) = (
                next.buf.get_mut(..tail),
                self.batch.buf.get(self.pos..self.len),
            ) {
                dst.copy_from_slice(src);
            }
            let full = std::mem::replace(&mut self.batch, next);
            self.send(Msg::Batch(full))?;
        } else if self.pos > 0 && self.len <= self.batch.buf.len() {
            self.batch.buf.copy_within(self.pos..self.len, 0);
        }
        self.len = tail;
        self.pos = 0;
        if self.batch.buf.len() < size {
            self.batch.buf.resize(size, 0);
        }
        Ok(())
    }

    /// Reads into the rest of the chunk: until it is full or the input ends (a pipe: one
    /// read).
    fn read_more(&mut self) {
        if self.stream {
            self.inside.store(self.len > 0, Ordering::Relaxed);
        }
        loop {
            let Some(space) = self.batch.buf.get_mut(self.len..) else {
                return;
            };
            if space.is_empty() {
                return;
            }
            match self.reader.read(space) {
                Ok(0) => {
                    self.eof = true;
                    return;
                }
                Ok(n) => {
                    self.len += n;
                    if self.stream {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.failed = Some(e.to_string());
                    return;
                }
            }
        }
    }

    /// The length of the record or block starting with `head`; `None` while `head` is too
    /// short to tell.
    fn record_len(format: &Format, head: &[u8]) -> Result<Option<usize>, String> {
        match format {
            Format::Unknown => {
                let Some(magic) = head.get(..4) else {
                    return Ok(None);
                };
                match magic {
                    [0x0a, 0x0d, 0x0d, 0x0a] => Self::pcapng_len(head, false),
                    [0xa1, 0xb2, 0xc3, 0xd4]
                    | [0xd4, 0xc3, 0xb2, 0xa1]
                    | [0xa1, 0xb2, 0x3c, 0x4d]
                    | [0x4d, 0x3c, 0xb2, 0xa1]
                    | [0xa1, 0xb2, 0xcd, 0x34]
                    | [0x34, 0xcd, 0xb2, 0xa1] => Ok(Some(24)),
                    [0x02, 0x21, 0x4c, 0x18] => Err(
                        "it is lz4 in the legacy format (`lz4 -l`), which probewatch does not read; recompress it with plain `lz4`".into(),
                    ),
                    _ => Err("it is not in pcap or pcapng format".into()),
                }
            }
            Format::Pcap {
                big_endian,
                modified,
                ..
            } => {
                let Some(caplen) = u32_at(head, 8, *big_endian) else {
                    return Ok(None);
                };
                let caplen = caplen as usize;
                if caplen > MAX_BLOCK_BYTES {
                    return Err(format!(
                        "a record claims {caplen} captured bytes, more than the {MAX_BLOCK_BYTES} accepted"
                    ));
                }
                Ok(Some(caplen + if *modified { 24 } else { 16 }))
            }
            Format::Pcapng { big_endian, .. } => Self::pcapng_len(head, *big_endian),
        }
    }

    fn pcapng_len(head: &[u8], big_endian: bool) -> Result<Option<usize>, String> {
        let Some(kind) = u32_at(head, 0, false) else {
            return Ok(None);
        };
        let be = if kind == PCAPNG_SHB {
            // A section header carries its own byte order.
            match head.get(8..12) {
                None => return Ok(None),
                Some([0x1a, 0x2b, 0x3c, 0x4d]) => true,
                Some([0x4d, 0x3c, 0x2b, 0x1a]) => false,
                Some(_) => {
                    return Err("a pcapng section header has no valid byte-order mark".into())
                }
            }
        } else {
            big_endian
        };
        let Some(len) = u32_at(head, 4, be) else {
            return Ok(None);
        };
        let len = len as usize;
        if len < 12 || len % 4 != 0 || len > MAX_BLOCK_BYTES {
            return Err(format!("a pcapng block claims a length of {len} bytes"));
        }
        Ok(Some(len))
    }

    /// The next whole record: where its bytes are in the chunk. `Ok(None)` at a clean end.
    fn record(&mut self) -> Result<Option<(usize, usize)>, Halt> {
        loop {
            let avail = self.batch.buf.get(self.pos..self.len).unwrap_or_default();
            let need = match Self::record_len(&self.format, avail) {
                Ok(Some(n)) => n,
                // Too short to tell: gather the 12 bytes every length is read from (no
                // record or block is shorter).
                Ok(None) => HEAD_BYTES.max(avail.len() + 1),
                Err(e) => return Err(Halt::Failed(self.record_error(e))),
            };
            if avail.len() >= need {
                let at = self.pos;
                self.pos += need;
                self.batch.bytes += need as u64;
                return Ok(Some((at, at + need)));
            }
            if !self.want(need)? {
                if self.pos >= self.len {
                    return Ok(None);
                }
                return Err(Halt::Failed(self.cut_short()));
            }
        }
    }

    fn bytes(&self, (a, b): (usize, usize)) -> &[u8] {
        self.batch.buf.get(a..b).unwrap_or_default()
    }

    /// Where `part` (a slice of the record at `rec`) lies.
    fn sub(&self, rec: (usize, usize), part: &[u8]) -> (usize, usize) {
        let whole = self.bytes(rec);
        let start = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
        let start = start.min(whole.len());
        let end = (start + part.len()).min(whole.len());
        (rec.0 + start, rec.0 + end)
    }

    fn header(&mut self) -> Result<(), Halt> {
        let Some(rec) = self.record()? else {
            return Err(Halt::Failed(self.cut_short()));
        };
        let head = self.bytes(rec);
        if head.get(..4) == Some(&[0x0a, 0x0d, 0x0d, 0x0a]) {
            let be = head.get(8..12) == Some(&[0x1a, 0x2b, 0x3c, 0x4d]);
            // Parsed again as a block below, so that its checks apply.
            self.format = Format::Pcapng {
                big_endian: be,
                ifaces: Vec::new(),
            };
            return self.pcapng_block(rec);
        }
        let h = match pcap_parser::parse_pcap_header(head) {
            Ok((_, h)) => h,
            Err(_) => {
                return Err(Halt::Failed(
                    self.not_a_capture("its pcap file header cannot be read"),
                ))
            }
        };
        let link = LinkType(h.network.0);
        self.format = Format::Pcap {
            big_endian: h.is_bigendian(),
            nanos: h.is_nanosecond_precision(),
            modified: h.is_modified_format(),
            link,
        };
        self.link_types.insert(link.0);
        self.batch.items.push(Item::Link(link));
        Ok(())
    }

    fn packet(&mut self, ts: Timestamp, link: LinkType, wire_len: u32, (a, b): (usize, usize)) {
        self.packets += 1;
        self.last_ts = ts;
        self.batch.items.push(Item::Packet {
            ts,
            link,
            wire_len,
            start: u32::try_from(a).unwrap_or(u32::MAX),
            end: u32::try_from(b).unwrap_or(u32::MAX),
        });
    }

    /// Handles one pcapng block.
    fn pcapng_block(&mut self, rec: (usize, usize)) -> Result<(), Halt> {
        let Format::Pcapng { big_endian, .. } = self.format else {
            return Ok(());
        };
        let bytes = self.bytes(rec);
        let parsed = if big_endian {
            pcap_parser::pcapng::parse_block_be(bytes)
        } else {
            pcap_parser::pcapng::parse_block_le(bytes)
        };
        let action = match parsed {
            Err(_) => Action::Unreadable(u32_at(bytes, 0, big_endian).unwrap_or(0)),
            Ok((_, Block::SectionHeader(shb))) => Action::Section(shb.big_endian()),
            Ok((_, Block::InterfaceDescription(idb))) => {
                let resolution = ts_units_per_second(idb.if_tsresol);
                Action::Iface(
                    Iface {
                        link: LinkType(idb.linktype.0),
                        resolution: resolution.unwrap_or(1_000_000),
                        offset: idb.ts_offset(),
                    },
                    resolution.is_none(),
                )
            }
            Ok((_, Block::EnhancedPacket(epb))) => Action::Packet(
                epb.if_id,
                Some((epb.ts_high, epb.ts_low)),
                epb.origlen,
                // The captured bytes, not the block's padding to 32 bits after them.
                self.sub(rec, epb.packet_data()),
            ),
            Ok((_, Block::SimplePacket(spb))) => {
                Action::Packet(0, None, spb.origlen, self.sub(rec, spb.packet_data()))
            }
            Ok((_, Block::DecryptionSecrets(dsb))) => {
                let n = usize::try_from(dsb.secrets_len).unwrap_or(usize::MAX);
                Action::Secrets(
                    dsb.secrets_type.0,
                    dsb.data.get(..n).unwrap_or(dsb.data).to_vec(),
                )
            }
            Ok(_) => Action::Nothing,
        };
        let (if_id, ts, wire_len, data) = match action {
            Action::Unreadable(kind) => {
                if kind == PCAPNG_SHB {
                    return Err(Halt::Failed(
                        self.damaged("a pcapng section header cannot be read"),
                    ));
                }
                self.problem("capture_block_unreadable");
                return Ok(());
            }
            Action::Section(be) => {
                self.format = Format::Pcapng {
                    big_endian: be,
                    ifaces: Vec::new(),
                };
                return Ok(());
            }
            Action::Iface(i, unsupported) => {
                if unsupported {
                    // Taken as microseconds, and said.
                    self.problem("capture_timestamp_resolution_unsupported");
                }
                if let Format::Pcapng { ifaces, .. } = &mut self.format {
                    if ifaces.len() >= MAX_INTERFACES_PER_SECTION {
                        // Its packets are counted as of an undeclared interface.
                        self.problem("capture_interfaces_over_limit");
                        return Ok(());
                    }
                    ifaces.push(i);
                }
                if self.link_types.insert(i.link.0) {
                    self.batch.items.push(Item::Link(i.link));
                }
                return Ok(());
            }
            Action::Nothing => return Ok(()),
            Action::Secrets(ty, data) => {
                self.batch.items.push(Item::Secrets(ty, data));
                return Ok(());
            }
            Action::Packet(a, b, c, d) => (a, b, c, d),
        };
        let iface = match &self.format {
            Format::Pcapng { ifaces, .. } => ifaces.get(if_id as usize).copied(),
            _ => None,
        };
        let Some(iface) = iface else {
            self.problem("capture_packet_for_undeclared_interface");
            return Ok(());
        };
        let ts = match ts {
            Some((hi, lo)) => {
                let units = (u64::from(hi) << 32) | u64::from(lo);
                let secs = units / iface.resolution;
                let frac = units % iface.resolution;
                let nanos =
                    (u128::from(frac) * 1_000_000_000 / u128::from(iface.resolution)) as u32;
                // Clamped to 0 .. 2^40 s (year ~36,800), so that time arithmetic on
                // hostile timestamps never overflows.
                let secs = i64::try_from(secs)
                    .unwrap_or(i64::MAX)
                    .saturating_add(iface.offset)
                    .clamp(0, MAX_TS_SECS);
                Timestamp::new(secs, nanos)
            }
            None => self.last_ts,
        };
        self.packet(ts, iface.link, wire_len, data);
        Ok(())
    }

    fn pcap_record(&mut self, rec: (usize, usize)) -> Result<(), Halt> {
        let Format::Pcap {
            big_endian,
            nanos,
            modified,
            link,
        } = self.format
        else {
            return Ok(());
        };
        let bytes = self.bytes(rec);
        let parsed = if modified {
            pcap_parser::parse_pcap_frame_modified(bytes)
        } else if big_endian {
            pcap_parser::parse_pcap_frame_be(bytes)
        } else {
            pcap_parser::parse_pcap_frame(bytes)
        };
        let Ok((_, f)) = parsed else {
            return Err(Halt::Failed(self.damaged("a packet record cannot be read")));
        };
        let frac = if nanos {
            f.ts_usec
        } else {
            f.ts_usec.saturating_mul(1000)
        };
        let ts = Timestamp::new(i64::from(f.ts_sec), frac);
        let wire_len = f.origlen;
        let data = self.sub(rec, f.data);
        self.packet(ts, link, wire_len, data);
        Ok(())
    }
}

/// The reading thread's ends of its channels, and how it reads.
struct Ends {
    stream: bool,
    chunk: usize,
    tx: SyncSender<Msg>,
    spare: Receiver<Batch>,
    inside: Arc<AtomicBool>,
}

/// The reading thread of `source`: it finds the compression by the first bytes, then
/// frames records.
fn frame_thread(
    name: String,
    source: Box<dyn Read + Send>,
    seen: &std::sync::Mutex<Compression>,
    ends: Ends,
) {
    let Ends {
        stream,
        chunk,
        tx,
        spare,
        inside,
    } = ends;
    let mut raw = BufReader::with_capacity(64 << 10, source);
    let damaged = |e: &dyn std::fmt::Display| Error::Damaged {
        path: name.clone(),
        after_packets: 0,
        detail: format!("reading failed: {e}"),
    };
    let magic = match raw.fill_buf() {
        Ok(b) => b.get(..6).unwrap_or(b).to_vec(),
        Err(e) => {
            let _ = tx.send(Msg::Failed(damaged(&e)));
            return;
        }
    };
    let kind = Compression::sniff(&magic);
    if let Ok(mut k) = seen.lock() {
        *k = kind;
    }
    let reader: Box<dyn Read> = match kind {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(raw)),
        Compression::Zstd => match zstd::stream::read::Decoder::with_buffer(raw) {
            Ok(d) => Box::new(d),
            Err(e) => {
                let _ = tx.send(Msg::Failed(damaged(&e)));
                return;
            }
        },
        Compression::Xz => Box::new(xz2::bufread::XzDecoder::new_multi_decoder(raw)),
        Compression::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(raw)),
    };
    Framer {
        name,
        reader,
        stream,
        chunk,
        tx,
        spare,
        compression: kind,
        inside,
        batch: Batch::default(),
        len: 0,
        pos: 0,
        eof: false,
        failed: None,
        format: Format::Unknown,
        last_ts: Timestamp::default(),
        packets: 0,
        link_types: std::collections::HashSet::new(),
        buffers: 1,
    }
    .run();
}

/// Bytes of pcapng Decryption Secrets Blocks held until the pipeline takes them (a key
/// log of about 100,000 TLS 1.3 connections); more are counted
/// (`capture_secrets_over_limit`) and dropped.
pub const MAX_SECRETS_BYTES: usize = 16 << 20;

/// The packet [`FileSource::advance`] stopped at: where it lies in the current chunk.
#[derive(Clone, Copy, Debug)]
struct Pending {
    ts: Timestamp,
    link: LinkType,
    wire_len: u32,
    start: u32,
    end: u32,
}

/// An open capture file (or standard input).
pub struct FileSource {
    name: String,
    rx: Receiver<Msg>,
    recycle: SyncSender<Batch>,
    thread: Option<std::thread::JoinHandle<()>>,
    compression: Arc<std::sync::Mutex<Compression>>,
    /// Set by the reading thread while a pipe is read inside a record.
    inside: Arc<AtomicBool>,
    /// The chunk being read, and its next item.
    batch: Batch,
    next: usize,
    started: bool,
    ended: bool,
    pending: Option<Pending>,
    /// Size of the file in bytes when known (not for stdin).
    pub file_size: Option<u64>,
    /// Bytes consumed so far (after decompression), a chunk at a time.
    pub bytes_read: u64,
    /// Packets read so far (before any filter).
    pub packets_read: u64,
    /// Problems in the file's own records (not in the packets), by kind.
    pub problems: BTreeMap<&'static str, u64>,
    /// Every link type of the file, in the order they were declared.
    pub link_types: Vec<LinkType>,
    stop: Option<Arc<AtomicBool>>,
    /// Standard input (a pipe): chunks are handed over as they come.
    stream: bool,
    /// Decryption Secrets Blocks read and not taken yet (bounded by [`MAX_SECRETS_BYTES`]).
    secrets: Vec<(u32, Vec<u8>)>,
    secrets_bytes: usize,
}

impl Drop for FileSource {
    fn drop(&mut self) {
        // Unblock the thread (its sends fail once the receiver is gone). A thread blocked
        // reading a quiet pipe is left to end with the process.
        let (_tx, rx) = mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.rx, rx));
        let (recycle, _spare) = mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.recycle, recycle));
        if let Some(t) = self.thread.take() {
            // A file's thread ends as soon as its next send fails: wait for it, so
            // nothing it holds outlives the source (a detached one was seen by the leak
            // checker of the capture fuzz target).
            if !self.stream || t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

/// Why [`FileSource::advance`] returned without a packet.
#[derive(Debug)]
pub enum Stopped {
    End,
    Interrupted,
    /// Standard input: nothing arrived for [`QUIET_AFTER`] between two records; call
    /// again to go on waiting.
    Quiet,
}

/// How long a quiet pipe is waited on before [`FileSource::advance`] says so.
pub const QUIET_AFTER: Duration = Duration::from_secs(1);

fn u32_at(b: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(w)
    } else {
        u32::from_le_bytes(w)
    })
}

/// Interfaces kept per pcapng section (real captures have a handful; `mergecap` of many
/// files a few dozen); an Interface Description Block past it is counted
/// (`capture_interfaces_over_limit`) and its packets as of an undeclared interface.
pub const MAX_INTERFACES_PER_SECTION: usize = 4096;

/// A pcapng `if_tsresol`: units per second, 10^n, or 2^n with the high bit set (pcapng
/// §4.2; pcap-parser 0.17 refuses every 2^n value). None when it does not fit 64 bits.
pub fn ts_units_per_second(tsresol: u8) -> Option<u64> {
    let n = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(n)
    } else {
        1u64.checked_shl(n)
    }
}

/// Opens a named pipe, which waits until a program opens its other end (`open`:
/// `File::open` for reading, `File::create` for writing): on a thread of its own, so that
/// Ctrl-C (`stop`) ends the wait. A thread left waiting ends with the process (the
/// command line exits then; a library caller that goes on keeps one blocked thread).
pub fn open_waiting(
    path: &std::path::Path,
    name: &str,
    stop: Option<&AtomicBool>,
    open: fn(std::path::PathBuf) -> std::io::Result<std::fs::File>,
) -> Result<std::io::Result<std::fs::File>, Error> {
    let Some(stop) = stop else {
        return Ok(open(path.to_path_buf()));
    };
    let (tx, rx) = mpsc::sync_channel(1);
    let owned = path.to_path_buf();
    let spawned = std::thread::Builder::new()
        .name("pipe-open".into())
        .spawn(move || {
            let _ = tx.send(open(owned));
        });
    if spawned.is_err() {
        return Ok(open(path.to_path_buf()));
    }
    loop {
        match rx.recv_timeout(std::time::Duration::from_millis(100)) {
            Ok(r) => return Ok(r),
            Err(RecvTimeoutError::Timeout) if stop.load(Ordering::Relaxed) => {
                return Err(Error::InterruptedWaiting {
                    path: name.to_string(),
                })
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(open(path.to_path_buf())),
        }
    }
}

impl FileSource {
    /// Opens a capture file (or stdin), reads its header. `files_at_once` (how many inputs
    /// are merged) makes each one's chunks smaller, so memory stays bounded.
    pub fn open(input: &Input, files_at_once: usize) -> Result<FileSource, Error> {
        Self::open_until(input, files_at_once, None)
    }

    /// As [`FileSource::open`]; a named pipe's open, which waits for a writer, gives up
    /// when `stop` is set (Ctrl-C: the open itself would be restarted after the signal).
    pub fn open_until(
        input: &Input,
        files_at_once: usize,
        stop: Option<&AtomicBool>,
    ) -> Result<FileSource, Error> {
        let name = input.display_name();
        // Many inputs merged (a directory of rotated captures) share the read-ahead memory.
        let chunk = (CHUNK_BYTES / files_at_once.max(1)).clamp(MIN_CHUNK_BYTES, CHUNK_BYTES);
        let (source, file_size, stream): (Box<dyn Read + Send>, Option<u64>, bool) = match input {
            Input::File(p) | Input::Listed(p) => {
                let meta = std::fs::metadata(p).map_err(|e| Error::Open {
                    path: name.clone(),
                    reason: crate::error::io_reason(&e),
                })?;
                if meta.is_dir() {
                    return Err(Error::Open {
                        path: name,
                        reason: match std::fs::read_dir(p) {
                            Err(e) => crate::error::io_reason(&e),
                            Ok(_) => "it is a directory that holds no capture file (only files directly in it are read, not its subdirectories or hidden files)".into(),
                        },
                    });
                }
                // A named pipe, `<(zcat x.pcap.gz)` (/dev/fd/N), /dev/stdin: read as
                // standard input is, as data comes (their size says nothing).
                let pipe = !meta.is_file();
                if !pipe && meta.len() == 0 {
                    return Err(Error::NotACapture {
                        path: name,
                        detail: "the file is empty (0 bytes)".into(),
                    });
                }
                let opened = if pipe {
                    open_waiting(p, &name, stop, std::fs::File::open)?
                } else {
                    std::fs::File::open(p)
                };
                let f = opened.map_err(|e| Error::Open {
                    path: name.clone(),
                    reason: crate::error::io_reason(&e),
                })?;
                let size = (!pipe).then_some(meta.len());
                (Box::new(f), size, pipe)
            }
            Input::Stdin => {
                // `-r - < file.pcap`: a file after all (its size for the progress bar, its
                // report laid out at the end); a pipe or terminal is a stream.
                use std::io::Seek;
                use std::os::fd::AsFd;
                // What is left of it from its offset (the descriptor's, shared).
                let file = super::fd_file(std::io::stdin().as_fd())
                    .ok()
                    .and_then(|mut f| {
                        let m = f.metadata().ok().filter(|m| m.is_file())?;
                        let at = f.stream_position().unwrap_or(0);
                        Some(m.len().saturating_sub(at))
                    });
                (Box::new(std::io::stdin()), file, file.is_none())
            }
        };
        Self::from_reader(name, source, file_size, stream, chunk)
    }

    /// Reads a capture from any reader, `chunk` bytes at a time (at least 1). `stream`:
    /// hand over what each read returned (a pipe), and read the header only when reading
    /// starts.
    pub fn from_reader(
        name: String,
        source: Box<dyn Read + Send>,
        file_size: Option<u64>,
        stream: bool,
        chunk: usize,
    ) -> Result<FileSource, Error> {
        let (tx, rx) = mpsc::sync_channel::<Msg>(CHUNKS_IN_FLIGHT);
        let (recycle, spare) = mpsc::sync_channel::<Batch>(CHUNK_BUFFERS);
        let compression = Arc::new(std::sync::Mutex::new(Compression::None));
        let seen = Arc::clone(&compression);
        let inside = Arc::new(AtomicBool::new(false));
        let inside_thread = Arc::clone(&inside);
        let thread_name = name.clone();
        let chunk = chunk.max(1);
        let thread = std::thread::Builder::new()
            .name("capture-reader".into())
            .spawn(move || {
                let ends = Ends {
                    stream,
                    chunk,
                    tx,
                    spare,
                    inside: inside_thread,
                };
                frame_thread(thread_name, source, &seen, ends)
            })
            .map_err(|e| Error::Open {
                path: name.clone(),
                reason: format!("cannot start a thread to read it ({e})"),
            })?;
        let mut src = FileSource {
            name,
            rx,
            recycle,
            thread: Some(thread),
            compression,
            inside,
            batch: Batch::default(),
            next: 0,
            started: false,
            ended: false,
            pending: None,
            file_size,
            bytes_read: 0,
            packets_read: 0,
            problems: BTreeMap::new(),
            link_types: Vec::new(),
            stop: None,
            stream,
            secrets: Vec::new(),
            secrets_bytes: 0,
        };
        if !stream {
            src.start()?;
        }
        Ok(src)
    }

    /// Reads the file header (once). A file's is read when it is opened; standard input's
    /// when reading starts, so that waiting on a quiet pipe happens with privileges dropped.
    pub fn start(&mut self) -> Result<(), Error> {
        if self.started || self.ended {
            return Ok(());
        }
        loop {
            if self
                .stop
                .as_ref()
                .is_some_and(|s| s.load(Ordering::Relaxed))
            {
                return Err(self.header_cut_short());
            }
            match self.rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Msg::Started) => {
                    self.started = true;
                    return Ok(());
                }
                Ok(Msg::Batch(b)) => {
                    // (The header comes first; this does not happen.)
                    self.started = true;
                    self.take_batch(b);
                    return Ok(());
                }
                Ok(Msg::Failed(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.ended = true;
                    return Err(self.header_cut_short());
                }
            }
        }
    }

    fn header_cut_short(&self) -> Error {
        not_a_capture(
            &self.name,
            self.compression(),
            "it is too short to hold a capture file header",
        )
    }

    /// Makes reads give up (returning [`Stopped::Interrupted`]) once `stop` is set, even
    /// while waiting for a quiet pipe.
    pub fn stop_on(&mut self, stop: Arc<AtomicBool>) {
        self.stop = Some(stop);
    }

    /// Standard input, a pipe: data is handed over as it comes.
    pub fn is_stream(&self) -> bool {
        self.stream
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// How the input was compressed.
    pub fn compression(&self) -> Compression {
        self.compression
            .lock()
            .map(|c| *c)
            .unwrap_or(Compression::None)
    }

    fn take_batch(&mut self, b: Batch) {
        self.bytes_read += b.bytes;
        let mut old = std::mem::replace(&mut self.batch, b);
        self.next = 0;
        if !old.buf.is_empty() {
            old.items.clear();
            let _ = self.recycle.try_send(old);
        }
    }

    /// Waits for the next chunk from the reading thread (`Ok(None)`: it came).
    fn wait(&mut self) -> Result<Option<Stopped>, Error> {
        let started = std::time::Instant::now();
        loop {
            if self
                .stop
                .as_ref()
                .is_some_and(|s| s.load(Ordering::Relaxed))
            {
                return Ok(Some(Stopped::Interrupted));
            }
            match self.rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Msg::Batch(b)) => {
                    self.take_batch(b);
                    return Ok(None);
                }
                Ok(Msg::Started) => {}
                Ok(Msg::Failed(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Err(RecvTimeoutError::Timeout) => {
                    // Between two records of a pipe, a long wait is reported (the caller
                    // lets time pass); inside a record, the rest is waited for.
                    if self.stream
                        && started.elapsed() >= QUIET_AFTER
                        && !self.inside.load(Ordering::Relaxed)
                    {
                        return Ok(Some(Stopped::Quiet));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.ended = true;
                    return Ok(Some(Stopped::End));
                }
            }
        }
    }

    /// Reads on to the next packet, which [`FileSource::packet`] then shows.
    pub fn advance(&mut self) -> Result<Option<Stopped>, Error> {
        if !self.started {
            self.start()?;
        }
        self.pending = None;
        loop {
            let Some(item) = self.batch.items.get_mut(self.next) else {
                if self.ended {
                    return Ok(Some(Stopped::End));
                }
                match self.wait()? {
                    None => continue,
                    Some(s) => return Ok(Some(s)),
                }
            };
            self.next += 1;
            match item {
                Item::Packet {
                    ts,
                    link,
                    wire_len,
                    start,
                    end,
                } => {
                    self.pending = Some(Pending {
                        ts: *ts,
                        link: *link,
                        wire_len: *wire_len,
                        start: *start,
                        end: *end,
                    });
                    self.packets_read += 1;
                    return Ok(None);
                }
                Item::Secrets(ty, data) => {
                    if self.secrets_bytes + data.len() > MAX_SECRETS_BYTES {
                        *self
                            .problems
                            .entry("capture_secrets_over_limit")
                            .or_insert(0) += 1;
                    } else {
                        self.secrets_bytes += data.len();
                        self.secrets.push((*ty, std::mem::take(data)));
                    }
                }
                Item::Problem(kind) => *self.problems.entry(*kind).or_insert(0) += 1,
                Item::Link(l) => self.link_types.push(*l),
            }
        }
    }

    /// The packet [`FileSource::advance`] stopped at.
    pub fn packet(&self) -> Option<PacketView<'_>> {
        let p = self.pending?;
        Some(PacketView {
            ts: p.ts,
            link: p.link,
            wire_len: p.wire_len,
            data: self
                .batch
                .buf
                .get(p.start as usize..p.end as usize)
                .unwrap_or_default(),
        })
    }

    /// The Decryption Secrets Blocks (secrets type, data) read since the last call: they
    /// apply to the packets after them, so the caller takes them after every
    /// [`FileSource::advance`], before the packet it stopped at.
    pub fn take_secrets(&mut self) -> Vec<(u32, Vec<u8>)> {
        self.secrets_bytes = 0;
        std::mem::take(&mut self.secrets)
    }

    /// The timestamp of the packet [`FileSource::advance`] stopped at.
    pub fn peek_ts(&self) -> Option<Timestamp> {
        self.pending.map(|p| p.ts)
    }
}

/// A BPF filter (tcpdump syntax) compiled by libpcap once per link type and applied to
/// the packets of capture files.
pub struct Filter {
    expr: String,
    programs: std::collections::HashMap<i32, Option<pcap::BpfProgram>>,
}

impl Filter {
    /// Compiles `expr` for Ethernet, so that a syntax error is reported before any input is
    /// read; other link types are compiled when their first packet comes.
    pub fn new(expr: &str) -> Result<Filter, Error> {
        let mut f = Filter {
            expr: expr.to_string(),
            programs: std::collections::HashMap::new(),
        };
        let prog = f.compile(LinkType(1))?;
        f.programs.insert(1, prog);
        Ok(f)
    }

    /// The filter expression as given.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    fn compile(&self, link: LinkType) -> Result<Option<pcap::BpfProgram>, Error> {
        let err = |e: &pcap::Error| Error::Filter {
            expr: self.expr.clone(),
            detail: super::pcap_text(e),
        };
        let dead = pcap::Capture::dead(pcap::Linktype(super::dlt_of(link))).map_err(|e| err(&e))?;
        match dead.compile(&self.expr, true) {
            Ok(p) => Ok(Some(p)),
            // A link type probewatch does not decode: its packets go on, to be counted.
            Err(_) if !crate::decode::link::decodes(link) => Ok(None),
            // Valid for Ethernet: libpcap cannot filter this link type (NFLOG).
            Err(e)
                if pcap::Capture::dead(pcap::Linktype::ETHERNET)
                    .is_ok_and(|d| d.compile(&self.expr, true).is_ok()) =>
            {
                Err(Error::FilterForLinkType {
                    expr: self.expr.clone(),
                    link: super::link_type_name(link),
                    detail: super::pcap_text(&e),
                })
            }
            Err(e) => Err(err(&e)),
        }
    }

    /// Whether the packet passes.
    pub fn matches(&mut self, p: &PacketView<'_>) -> Result<bool, Error> {
        if !self.programs.contains_key(&p.link.0) {
            let prog = self.compile(p.link)?;
            self.programs.insert(p.link.0, prog);
        }
        Ok(match self.programs.get(&p.link.0) {
            Some(Some(prog)) => prog.filter(p.data),
            _ => true,
        })
    }
}

/// The snapshot length a `-w` file's header gives when reading capture files.
pub const SAVE_SNAPLEN: u32 = 262_144;
/// The `-w` file's write buffer (a live capture also writes it out whenever the interface
/// is quiet, so that a program reading a named pipe sees packets as they come).
pub const SAVE_BUFFER_BYTES: usize = 1 << 20;

/// Packets written to a pcap file (nanosecond timestamps), as `tcpdump -r IN -w OUT` and
/// `tcpdump -i IF -w OUT`. A pcap file holds one link type: the first packet's.
pub struct PcapWriter {
    path: String,
    out: std::io::BufWriter<std::fs::File>,
    link: Option<LinkType>,
    snaplen: u32,
}

impl PcapWriter {
    /// Creates the file (before privileges are dropped).
    pub fn create(path: &std::path::Path) -> Result<PcapWriter, Error> {
        Self::create_until(path, None)
    }

    /// As [`PcapWriter::create`]; a named pipe's open, which waits for a reader, gives up
    /// when `stop` is set.
    pub fn create_until(
        path: &std::path::Path,
        stop: Option<&AtomicBool>,
    ) -> Result<PcapWriter, Error> {
        let name = path.display().to_string();
        use std::os::unix::fs::FileTypeExt;
        let pipe = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
        let created = if pipe {
            open_waiting(path, &name, stop, std::fs::File::create)?
        } else {
            std::fs::File::create(path)
        };
        let f = created.map_err(|e| Error::Save {
            path: name.clone(),
            reason: crate::error::io_reason(&e),
        })?;
        Ok(PcapWriter {
            path: name,
            out: std::io::BufWriter::with_capacity(SAVE_BUFFER_BYTES, f),
            link: None,
            snaplen: SAVE_SNAPLEN,
        })
    }

    /// The snapshot length the file's header gives (a live capture's `-s`; packets from
    /// capture files keep theirs, up to [`SAVE_SNAPLEN`]).
    pub fn with_snaplen(mut self, snaplen: u32) -> PcapWriter {
        self.snaplen = snaplen;
        self
    }

    fn io(&self, e: &std::io::Error) -> Error {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Error::SaveReaderGone {
                path: self.path.clone(),
            };
        }
        Error::Save {
            path: self.path.clone(),
            reason: crate::error::io_reason(e),
        }
    }

    pub fn write(&mut self, p: &PacketView<'_>) -> Result<(), Error> {
        use std::io::Write;
        match self.link {
            None => {
                let mut h = Vec::with_capacity(24);
                h.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes());
                h.extend_from_slice(&2u16.to_le_bytes());
                h.extend_from_slice(&4u16.to_le_bytes());
                h.extend_from_slice(&[0; 8]);
                h.extend_from_slice(&self.snaplen.to_le_bytes());
                h.extend_from_slice(&super::linktype_of_dlt(p.link.0).to_le_bytes());
                self.out.write_all(&h).map_err(|e| self.io(&e))?;
                self.link = Some(p.link);
            }
            Some(l) if l != p.link => {
                return Err(Error::SaveLinkTypes {
                    path: self.path.clone(),
                    first: super::link_type_name(l),
                    other: super::link_type_name(p.link),
                });
            }
            Some(_) => {}
        }
        let caplen = u32::try_from(p.data.len()).unwrap_or(u32::MAX);
        let mut h = [0u8; 16];
        let secs = u32::try_from(p.ts.secs).unwrap_or(0);
        for (dst, src) in h.iter_mut().zip(
            secs.to_le_bytes()
                .into_iter()
                .chain(p.ts.nanos.to_le_bytes())
                .chain(caplen.to_le_bytes())
                .chain(p.wire_len.to_le_bytes()),
        ) {
            *dst = src;
        }
        self.out.write_all(&h).map_err(|e| self.io(&e))?;
        self.out.write_all(p.data).map_err(|e| self.io(&e))
    }

    pub fn flush(&mut self) -> Result<(), Error> {
        use std::io::Write;
        self.out.flush().map_err(|e| self.io(&e))
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )]
    use super::*;

    type Seen = (Timestamp, i32, u32, Vec<u8>);

    fn read_all(bytes: &[u8], chunk: usize) -> (Vec<Seen>, Option<String>) {
        let src = FileSource::from_reader(
            "test".into(),
            Box::new(std::io::Cursor::new(bytes.to_vec())),
            None,
            false,
            chunk,
        );
        let mut src = match src {
            Ok(s) => s,
            Err(e) => return (Vec::new(), Some(e.to_string())),
        };
        let mut out = Vec::new();
        loop {
            match src.advance() {
                Ok(None) => {
                    let p = src.packet().unwrap();
                    out.push((p.ts, p.link.0, p.wire_len, p.data.to_vec()));
                }
                Ok(Some(_)) => return (out, None),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
    }

    fn sample(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("samples")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn records_straddling_chunks_read_the_same_at_any_chunk_size() {
        for name in [
            "mail-fanout.pcap",
            "pcapng-mixed.pcapng",
            "formats/merged-linktypes.pcapng",
            "formats/wildcard-apex-be.pcap",
            "formats/wildcard-apex-modified.pcap",
            "formats/wildcard-apex-nsec.pcap",
            "formats/wildcard-apex.pcap.zst",
        ] {
            let bytes = sample(name);
            let (want, err) = read_all(&bytes, 1 << 20);
            assert!(err.is_none(), "{name}: {err:?}");
            assert!(want.len() > 10, "{name}");
            for chunk in [1, 3, 16, 25, 1000, 4096] {
                let (got, err) = read_all(&bytes, chunk);
                assert!(err.is_none(), "{name} at {chunk}: {err:?}");
                assert_eq!(got, want, "{name} at chunk {chunk}");
            }
        }
    }

    #[test]
    fn a_file_cut_inside_a_record_keeps_every_packet_before_it() {
        let bytes = sample("mail-fanout.pcap");
        let (all, _) = read_all(&bytes, 1 << 20);
        let cut = &bytes[..bytes.len() - 10];
        for chunk in [7, 1 << 20] {
            let (got, err) = read_all(cut, chunk);
            assert_eq!(got.len(), all.len() - 1, "chunk {chunk}");
            assert!(err.unwrap().contains("cut short"));
        }
    }

    #[test]
    fn pcapng_block_lengths_that_lie_are_damage_not_a_panic() {
        let mut bytes = sample("pcapng-mixed.pcapng");
        // The second block's length: 13 (not a multiple of 4), then 2^31.
        let shb_len = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        for bad in [13u32, 1 << 31, 4] {
            bytes[shb_len + 4..shb_len + 8].copy_from_slice(&bad.to_le_bytes());
            let (_, err) = read_all(&bytes, 64);
            assert!(err.unwrap().contains("damaged"), "length {bad}");
        }
    }
}
