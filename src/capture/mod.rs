//! Stage 1: read packets from capture files (pcap, pcapng, compressed or not, standard
//! input: [`file`], read by probewatch itself) or a live interface ([`live`], through
//! libpcap, which also compiles the BPF filters).
//!
//! Output: owned [`Packet`]s. Nothing here looks inside a packet.

pub mod file;
pub mod live;

use std::path::PathBuf;

pub use file::{FileSource, Filter, PcapWriter, Stopped};
pub use live::{KernelStats, LiveOptions, LiveSource};

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

/// The file an open descriptor is (standard input's, output's or error's), as a `File` of
/// its own that shares the descriptor's offset.
pub fn fd_file(fd: std::os::fd::BorrowedFd<'_>) -> std::io::Result<std::fs::File> {
    fd.try_clone_to_owned().map(std::fs::File::from)
}

/// Where packets come from.
#[derive(Clone, Debug)]
pub enum Input {
    File(PathBuf),
    /// A file found in a directory given with `-r`: skipped, with a warning, when it is not
    /// a capture (a README or a key log beside rotated captures), where a file named on its
    /// own is an error.
    Listed(PathBuf),
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

    /// The inputs one `-r` argument names: `-` (standard input), a file, every file of a
    /// directory (sorted by name, hidden files left out), or the files a glob pattern
    /// matches (`*.pcap`, when the shell did not expand it).
    pub fn expand(arg: &str) -> Vec<Input> {
        if arg == "-" {
            return vec![Input::Stdin];
        }
        let path = PathBuf::from(arg);
        if path.is_dir() {
            return Input::directory(path);
        }
        if !path.exists() && arg.contains(['*', '?', '[']) {
            if let Ok(paths) = glob::glob(arg) {
                let mut found: Vec<PathBuf> = paths.filter_map(|p| p.ok()).collect();
                found.sort();
                if !found.is_empty() {
                    // A directory the pattern matches is read as a directory given on its
                    // own (`-r 'rotated/*'` over one directory per day).
                    return found
                        .into_iter()
                        .flat_map(|p| {
                            if p.is_dir() {
                                Input::directory(p)
                            } else {
                                vec![Input::File(p)]
                            }
                        })
                        .collect();
                }
            }
        }
        vec![Input::File(path)]
    }

    /// Every file directly in a directory, sorted by name, hidden files left out; the
    /// directory itself when it holds none (an error when it is opened, saying so).
    fn directory(path: PathBuf) -> Vec<Input> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .map(|e| e.path())
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        if files.is_empty() {
            return vec![Input::File(path)];
        }
        files.into_iter().map(Input::Listed).collect()
    }

    /// The metadata of the file the input is (standard input's by its descriptor).
    pub fn metadata(&self) -> std::io::Result<std::fs::Metadata> {
        use std::os::fd::AsFd;
        match self {
            Input::Stdin => fd_file(std::io::stdin().as_fd()).and_then(|f| f.metadata()),
            Input::File(p) | Input::Listed(p) => std::fs::metadata(p),
        }
    }

    /// Whether the input is a stream, read as data comes: standard input that is not a
    /// regular file, or a path to a pipe or device (as [`file::FileSource::open`] decides).
    pub fn is_stream(&self) -> bool {
        self.metadata().is_ok_and(|m| !m.is_file() && !m.is_dir())
    }

    pub fn display_name(&self) -> String {
        match self {
            Input::File(p) | Input::Listed(p) => p.display().to_string(),
            Input::Stdin => "standard input".to_string(),
        }
    }
}

/// The (LINKTYPE_, DLT_) numbers that differ, as libpcap's `linktype_to_dlt` and
/// `dlt_to_linktype` map them on Linux (LINKTYPE_RAW 101, what `tcpdump -i tun0 -w`
/// writes, is DLT_RAW 12); every other value is the same in both.
const LINKTYPE_DLT: [(i32, i32); 5] = [(100, 11), (101, 12), (102, 15), (103, 16), (106, 19)];

/// libpcap's DLT_ number for a capture file's LINKTYPE_ number: libpcap compiles filters
/// and names link types by DLT.
pub fn dlt_of(link: LinkType) -> i32 {
    LINKTYPE_DLT
        .iter()
        .find(|(l, _)| *l == link.0)
        .map_or(link.0, |(_, d)| *d)
}

/// The LINKTYPE_ number a pcap file gives for a DLT_ one (a live capture's, or a file's
/// that used a DLT value), as libpcap writes it.
pub fn linktype_of_dlt(dlt: i32) -> i32 {
    LINKTYPE_DLT
        .iter()
        .find(|(_, d)| *d == dlt)
        .map_or(dlt, |(l, _)| *l)
}

/// How a link type is called: libpcap's DLT name and the number, e.g. `DLT_EN10MB (1)`.
pub fn link_type_name(link: LinkType) -> String {
    match pcap::Linktype(dlt_of(link)).get_name() {
        Ok(n) => format!("DLT_{n} ({})", link.0),
        // libpcap names no USER0..USER15 (147..162).
        Err(_) if (147..=162).contains(&link.0) => format!("DLT_USER{} ({})", link.0 - 147, link.0),
        Err(_) => format!("{} (libpcap has no name for it)", link.0),
    }
}

pub(crate) fn pcap_text(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(s) => s.clone(),
        other => other.to_string(),
    }
}
