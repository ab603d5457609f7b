//! Errors that stop probewatch. Each one renders as one plain sentence that says what
//! happened and how to fix it. Per-packet problems are never errors: they are counted.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("cannot open {path}: {reason}; check the path and that you may read it")]
    Open { path: String, reason: String },

    #[error("{path} is not a capture file ({detail}); give a .pcap or .pcapng file, e.g. one written by `tcpdump -w`")]
    NotACapture { path: String, detail: String },

    #[error("{path} is damaged or cut short after packet {after_packets} ({detail}); the report above covers everything before that point")]
    Damaged {
        path: String,
        after_packets: u64,
        detail: String,
    },

    #[error("the filter expression `{expr}` is not valid ({detail}); it uses tcpdump's syntax, e.g. 'port 443 or port 53'")]
    Filter { expr: String, detail: String },

    #[error("the filter `{expr}` cannot be applied to the packets of link type {link} (libpcap: {detail}), as tcpdump cannot apply it either; read them without a filter")]
    FilterForLinkType {
        expr: String,
        link: String,
        detail: String,
    },

    #[error("cannot capture on {name}: {reason}; {fix}")]
    Interface {
        name: String,
        reason: String,
        fix: String,
    },

    #[error("no permission to capture on {name}; run probewatch as root (it drops to an unprivileged user once the interface is open), or grant the capability once with `sudo setcap cap_net_raw,cap_net_admin=eip $(command -v probewatch)`")]
    Permission { name: String },

    #[error("cannot write the capture to {path}: {reason}; give -w a file in a directory that exists and is writable")]
    Save { path: String, reason: String },

    #[error("-w {path} is also an input (a capture, key log or --ca-file being read): writing it would destroy it; give -w another file")]
    SaveOverInput { path: String },

    #[error("-w {path} is standard output, where the report's lines go: the packets would be mixed with them; give -w another file")]
    SaveOverStdout { path: String },

    #[error("-w {path} is standard error, where the warnings and errors go: the packets would be mixed with them; give -w another file")]
    SaveOverStderr { path: String },

    #[error("-w {path}: the program reading the pipe closed it, so the packets after that could not be saved; keep the reader running, or give -w a file")]
    SaveReaderGone { path: String },

    #[error("cannot write {other} packets to {path}: a pcap file holds one link type, and it was started with {first}; reading stopped there (the report and {path} hold the packets before it); read the inputs one at a time, or select one link type with a filter")]
    SaveLinkTypes {
        path: String,
        first: String,
        other: String,
    },

    #[error("no packet could be read: every packet of {inputs} has a link type probewatch does not decode ({links}); see the link types listed in docs/usage.md")]
    NothingDecodable { inputs: String, links: String },

    #[error("interrupted (Ctrl-C or a termination signal); the report above covers everything read before that")]
    Interrupted,

    #[error("{path} is given more than once (as - or under another name, as an input or a key log); standard input or a pipe can be read once, so give it once")]
    StreamTwice { path: String },

    #[error(
        "interrupted while waiting for a program to open the other end of the pipe {path}; nothing was read"
    )]
    InterruptedWaiting { path: String },

    #[error(
        "interrupted while reading the key log {path}, a pipe that had not ended (a key log from a pipe is read to its end before the capture); no packet was read"
    )]
    InterruptedKeyLog { path: String },

    #[error("cannot drop privileges: {0}; give an existing unprivileged user with --user NAME")]
    Privileges(String),

    #[error("--format {format} draws a whole capture at once, so it cannot follow a live capture; save the packets with -w FILE, then read them with -r FILE --format {format}")]
    NotLive { format: String },

    #[error("cannot read the CA file {path} ({reason}); give a PEM file of CA certificates (-----BEGIN CERTIFICATE----- blocks)")]
    CaFile { path: String, reason: String },

    #[error("--trust system found no CA bundle (looked for {looked}); install the ca-certificates package, or use --trust mozilla or --ca-file FILE")]
    NoSystemStore { looked: String },
    #[error("cannot read the key log {path}: {reason}; give the file the client wrote (SSLKEYLOGFILE, NSS key log format) and check that you may read it")]
    KeyLog { path: String, reason: String },

    #[error("--keylog {path} is a pipe or a device, not a file: a live capture follows its key log as the client writes it, which only a file can be; give the file itself (SSLKEYLOGFILE=/path/keys)")]
    KeyLogStreamLive { path: String },

    #[error("cannot start a second thread ({reason}); run with --threads 1")]
    Thread { reason: String },

    #[error("cannot write the report: {0}")]
    Output(#[from] std::io::Error),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Damaged { .. } => 3,
            Error::Output(_) => 4,
            Error::Interrupted
            | Error::InterruptedWaiting { .. }
            | Error::InterruptedKeyLog { .. } => 130,
            _ => 2,
        }
    }
}

/// Something the user should know that does not stop the report.
#[derive(Debug, Error)]
pub enum Warning {
    #[error("warning: packets of link type {link} are skipped: probewatch does not decode that link type (they are counted as unknown_link_type in the stats)")]
    UnknownLinkType { link: String },

    #[error("warning: skipped {path}, a file of the directory that is not a capture ({detail})")]
    Skipped { path: String, detail: String },

    #[error("warning: {path} is given twice (or matched twice by a directory or a glob); it is read once")]
    GivenTwice { path: String },

    #[error("warning: {path} is the same file as {first}; it is read once")]
    SameFile { path: String, first: String },
}

/// An I/O error in plain words, as the sentences around it are written: "no such file",
/// "permission denied", "it is a directory", never "(os error 21)".
pub fn io_reason(e: &std::io::Error) -> String {
    use nix::errno::Errno;
    // By errno: the ErrorKinds for these are newer than the crate's rust-version (1.80).
    let errno = e.raw_os_error().map(Errno::from_raw);
    match (e.kind(), errno) {
        (std::io::ErrorKind::NotFound, _) => "no such file".into(),
        (std::io::ErrorKind::PermissionDenied, _) => "permission denied".into(),
        (_, Some(Errno::EISDIR)) => "it is a directory".into(),
        (_, Some(Errno::ENOSPC)) => "no space left on the device".into(),
        (_, Some(Errno::EROFS)) => "the file system is read-only".into(),
        (_, Some(Errno::ENXIO)) => "it is a socket or a device with nothing behind it".into(),
        _ => {
            let text = e.to_string();
            match text.split_once(" (os error") {
                Some((words, _)) => words.to_string(),
                None => text,
            }
        }
    }
}
