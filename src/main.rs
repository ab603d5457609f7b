//! The probewatch command line.
#![forbid(unsafe_code)]
// Warnings and errors go through `say!`: eprintln! panics (exit 101) when standard error
// is closed, and a closed standard error must not change the exit code.
#![deny(clippy::print_stderr)]

/// Writes one line to standard error; a closed or full standard error is passed over.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

use std::error::Error as _;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::{ArgGroup, CommandFactory, FromArgMatches, Parser};

use probewatch::capture::{Input, LiveOptions};
use probewatch::correlate::trust::{StoreError, TrustBase, TrustStore, SYSTEM_BUNDLES};
use probewatch::live::LiveConfig;
use probewatch::report::Format;
use probewatch::{Bounds, Config};

const ABOUT: &str = "Show which hostnames each client tried, in what order, and where the name it asked for did not match the certificate the server showed.";

const LONG_ABOUT: &str = "\
probewatch reads packet captures (pcap or pcapng, e.g. written by `tcpdump -w`) or watches \
a network interface live, and reconstructs, per client, every TLS handshake, HTTP request and DNS query: the name asked \
for (TLS SNI, HTTP Host, DNS question), the server, the certificate the server showed, and \
a verdict on whether that certificate covers the name (RFC 6125: SAN dNSNames first, the \
subject CN only when there is none; a wildcard covers exactly one label and never the apex).

Verdicts: match, mismatch, unverified (the certificate was not visible: TLS 1.3 encrypts it, \
the capture missed a segment, the snapshot length cut it; the reason says which), no_name \
(no SNI and no DNS answer for the server's address).

TLS is found on any port, including implicit-TLS mail ports and after STARTTLS in SMTP, \
IMAP, POP3 and XMPP. Client certificates (mutual TLS) are reported as such.

ATTEMPT GROUPS: per client, probes that belong to one intent are grouped: the same \
registrable domain (Public Suffix List) within --group-window seconds, and names handed out \
by a DNS answer, CNAME, SRV record or HTTP redirect. Known fan-outs are labelled \
(Outlook/Exchange Autodiscover, mail client autoconfig, www./apex pair); each group says how \
the client got every name, what happened (inferred outcomes say so) and, when a \
certificate did not match, the SAN list one certificate would need and what a wildcard \
cannot cover. --timeline draws the fan-out over time.

LIVE CAPTURE (-i): each probe is printed as soon as its outcome is known (the handshake \
finished, the connection ended, the answer arrived, or --probe-timeout passed); Ctrl-C or \
SIGTERM stops, reports what is still pending, then the per-client summary and the stats \
(with the packets libpcap received and dropped). Capturing needs root or the capabilities \
cap_net_raw,cap_net_admin; probewatch opens the interface, then switches to an \
unprivileged user (--user, default nobody) or drops its capabilities before it reads a \
single packet.";

const AFTER_HELP: &str = "\
EXAMPLES:
    probewatch -r capture.pcap
    sudo probewatch -i eth0
    sudo probewatch -i any 'port 443 or port 53 or port 80'
    sudo probewatch -i eth0 --format json -w seen.pcap --duration 10m
    probewatch -r a.pcap -r b.pcapng 'port 443 or port 53'
    probewatch -r a.pcap b.pcap.gz port 443 -c 10 --format json
    probewatch -r captures/ 'port 443'
    probewatch -r big.pcap -w tls-only.pcap 'tcp port 443'
    probewatch -r - < capture.pcap
    ssh host tcpdump -w - | probewatch -r -
    probewatch -r capture.pcap --timeline
    probewatch -r capture.pcap -q | awk '$7 == \"mismatch\"'
    probewatch -r capture.pcap -v 'port 443'
    probewatch -r capture.pcap --format json | jq 'select(.type==\"group\" and (.san // [] | length) > 0)'
    probewatch -r capture.pcap --format json | jq 'select(.verdict==\"mismatch\")'

EXIT STATUS:
    0  the report was written
    2  an input could not be read (missing file, not a capture, bad filter, no such
       interface, no permission to capture) or bad usage
    3  an input is damaged or cut short; everything before the damage was reported
    4  the report could not be written
    130  interrupted (Ctrl-C while reading a file or stdin); what was found was reported

Every table and buffer is bounded; evictions are counted in the final stats line.";

/// When verdicts are coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Parser, Debug)]
#[command(name = "probewatch", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
// A flag given twice takes its last value, as tcpdump's do; `-c -1` is a bad count, not an
// unknown option.
#[command(args_override_self = true, allow_negative_numbers = true)]
#[command(group(ArgGroup::new("source").required(true).args(["read", "interface", "list_interfaces"])))]
struct Cli {
    /// Read packets from FILE: pcap or pcapng, gzip/zstd/xz/lz4-compressed or not; `-` for
    /// standard input; a directory reads every file in it; a quoted glob ('*.pcap') every
    /// match. Several files (`-r a b`, repeated -r) are merged in time order (one given twice is read once). From a pipe
    /// (`-r -`, a named pipe, `<(zcat f.gz)`) the table, -q, JSON and ECS are written as
    /// probes complete, as live (the table with --ja4 is laid out at the end).
    #[arg(short = 'r', value_name = "FILE")]
    read: Vec<String>,

    /// Capture live on INTERFACE (`any` for all; see -D). Needs root or cap_net_raw.
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "INTERFACE",
        conflicts_with = "read"
    )]
    interface: Option<String>,

    /// List the interfaces probewatch can capture on, then exit (like tcpdump -D).
    #[arg(short = 'D', long = "list-interfaces")]
    list_interfaces: bool,

    /// Also write the packets to FILE (pcap), like tcpdump -w: live, every captured packet;
    /// with -r, the packets that pass the filter. Not an input or key log, not -, not
    /// standard output's or error's file (/dev/stdout). A named pipe waits for its reader;
    /// a write that fails stops the run with the reason.
    #[arg(short = 'w', value_name = "FILE")]
    write: Option<std::path::PathBuf>,

    /// Stop after N probes (live, or reading files).
    #[arg(short = 'c', value_name = "N", value_parser = at_least_one::<u64>)]
    count: Option<u64>,

    /// Live: stop after this long, e.g. 60s, 10m, 2h.
    #[arg(long, value_name = "TIME", value_parser = duration, allow_hyphen_values = true)]
    duration: Option<std::time::Duration>,

    /// The unprivileged user to switch to once the interface (or every input file) is open,
    /// when run as root; otherwise every capability is dropped.
    #[arg(long, value_name = "NAME", default_value = "nobody")]
    user: String,

    /// Live: do not put the interface into promiscuous mode.
    #[arg(short = 'p', long = "no-promiscuous-mode")]
    no_promiscuous: bool,

    /// Live: bytes kept of each packet, 64 to 262144, or 0 for 262144 as with tcpdump (the
    /// default keeps whole handshakes).
    #[arg(short = 's', long = "snaplen", value_name = "BYTES", default_value_t = probewatch::capture::live::DEFAULT_SNAPLEN, value_parser = snaplen)]
    snaplen: i32,

    /// Live: kernel capture buffer in MiB, 1 to 2048 (raise it when the stats show kernel
    /// drops).
    #[arg(
        short = 'B',
        long = "buffer-size",
        value_name = "MIB",
        default_value_t = 32,
        value_parser = buffer_mib
    )]
    buffer_mib: i32,

    /// Do not resolve addresses to names (probewatch never does; accepted, also as -nn, for
    /// tcpdump habits).
    #[arg(short = 'n', action = clap::ArgAction::Count)]
    numeric: u8,

    /// Quiet output, as tcpdump's -q: one line per probe (date, time, client, protocol, the
    /// name asked for, the server, the verdict or for DNS and HTTP the outcome), then the
    /// stats line; no summary, per-client sections or attempt groups. Table only.
    #[arg(short = 'q')]
    quiet: bool,

    /// Verbose output, as tcpdump's -v: under every table row, the details: TLS versions
    /// offered and chosen, cipher, ALPN, JA4, the certificates (subject, names, issuer,
    /// validity, chain length), trust, alerts and when the connection closed; QUIC's
    /// Initial packets; the DNS records; the HTTP request and response. -vv adds the
    /// client's port, every SAN, the certificates' SHA-256 and the QUIC DCID. Table only
    /// (--format json always has every detail).
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    verbose: u8,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Table (and timeline, at least 50) width in columns; 0 for no limit (default:
    /// $COLUMNS, else the terminal's, else 100). Refused with a format that has no width.
    #[arg(long, value_name = "COLUMNS")]
    width: Option<u16>,

    /// The table's verdicts in colour: auto (when stdout is a terminal and NO_COLOR is not
    /// set), always, never. Refused with -q and the other formats (they have no colours).
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    color: ColorWhen,

    /// The table's and -q's times in the system's time zone (TZ, /etc/localtime) instead of
    /// UTC. Refused with the other formats (JSON, ECS: UTC).
    #[arg(long)]
    local_time: bool,

    /// Add a JA4 column (FoxIO's TLS client fingerprint) to the table; JSON always has `tls.ja4`.
    #[arg(long)]
    ja4: bool,

    /// With --format mermaid: each diagram inside a Markdown ```mermaid fence.
    #[arg(long)]
    mermaid_fences: bool,

    /// Draw each client's fan-out over time (one lane per name, a marker per DNS, TCP, TLS,
    /// HTTP and QUIC probe, then the walk from name to name) instead of the tables: the
    /// same as --format timeline. Live, it is drawn when the capture stops.
    #[arg(long)]
    timeline: bool,

    /// Seconds within which probes of one client for the same registrable domain (or linked
    /// by a DNS answer, CNAME, SRV or redirect) form one attempt group.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = seconds)]
    group_window: f64,

    /// Never show the progress line on stderr.
    #[arg(long)]
    no_progress: bool,

    /// Threads: 1 runs every stage on one thread; 2 or more: reading a file and the flow
    /// stages (decode, reassemble, parse) on one, correlation and the report on another;
    /// live, capture on one and the rest on another (more than 2 are not used yet).
    /// Default: one per core. Reading files, the output is the same whatever the number;
    /// with -r and -c, one thread is used. The JSON stats say how many ran.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,

    /// Most TCP flows tracked at once; the least recently active are evicted beyond it.
    #[arg(long, value_name = "N", default_value_t = probewatch::reassemble::Limits::default().max_flows, value_parser = at_least_one::<usize>)]
    max_flows: usize,

    /// Bytes held out of order per direction of a flow.
    #[arg(long, value_name = "BYTES", default_value_t = probewatch::reassemble::Limits::default().max_buffer, value_parser = at_least_one::<usize>)]
    max_buffer: usize,

    /// Out-of-order segments (holes) held per direction of a flow.
    #[arg(long, value_name = "N", default_value_t = probewatch::reassemble::Limits::default().max_holes, value_parser = at_least_one::<usize>)]
    max_holes: usize,

    /// Bytes buffered across all flows (out-of-order segments and messages not yet whole,
    /// such as a ClientHello in pieces); beyond it the least recently active flows'
    /// buffers are dropped (the flows go on, the gap said).
    #[arg(long, value_name = "BYTES", default_value_t = probewatch::reassemble::Limits::default().max_buffered_total, value_parser = at_least_one::<usize>)]
    max_buffered_bytes: usize,

    /// Seconds (capture time) without a packet after which a flow is ended.
    #[arg(long, value_name = "SECONDS", default_value_t = probewatch::reassemble::Limits::default().idle_secs, value_parser = seconds)]
    idle_timeout: f64,

    /// Entries in the address → name map learned from DNS answers.
    #[arg(long, value_name = "N", default_value_t = 65_536, value_parser = at_least_one::<usize>)]
    max_dns_entries: usize,

    /// Clients with a summary; the least recently active are dropped beyond it.
    #[arg(long, value_name = "N", default_value_t = 65_536, value_parser = at_least_one::<usize>)]
    max_clients: usize,

    /// Probes held to lay out a capture file's report per client (all formats but JSON);
    /// beyond it they are listed as they complete (-r only; refused with JSON and, for
    /// the table, -q and ECS, from a stream: they hold none).
    /// [default: 20000]
    #[arg(long, value_name = "N", requires = "read", value_parser = at_least_one::<usize>)]
    max_report_probes: Option<usize>,

    /// Seconds a probe may wait for its outcome (DNS answer, HTTP response, end of the TLS
    /// handshake) before it is reported with what is known.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = seconds)]
    probe_timeout: f64,

    /// Trust store for the trust verdict: mozilla (Mozilla's roots, built in), system (the OS CA bundle, e.g. /etc/ssl/certs/ca-certificates.crt), none (only --ca-file)
    #[arg(long, value_enum, value_name = "STORE", default_value_t = TrustArg::Mozilla)]
    trust: TrustArg,

    /// Keep every client address apart: do not merge the IPv4 and IPv6 addresses that share a MAC into one host
    #[arg(long = "no-merge-hosts")]
    no_merge_hosts: bool,

    /// Also trust the CA certificates in this PEM file (enterprise and lab CAs). Repeatable
    #[arg(long = "ca-file", value_name = "PEM")]
    ca_file: Vec<std::path::PathBuf>,

    /// A key log (NSS format, as written with SSLKEYLOGFILE by curl, browsers and most TLS
    /// libraries): TLS 1.3 and QUIC handshakes are decrypted to show the server's
    /// certificate. Repeatable. A live capture follows the file as the client writes it.
    #[arg(long = "keylog", value_name = "FILE")]
    keylog: Vec<std::path::PathBuf>,

    /// Client randoms kept from the key logs; the oldest are dropped beyond it.
    #[arg(long, value_name = "N", default_value_t = probewatch::parse::keylog::MAX_KEYLOG_RANDOMS, value_parser = at_least_one::<usize>)]
    max_keylog_entries: usize,

    /// Capture filter in tcpdump (BPF) syntax, e.g. `port 443 or port 53`. Options may
    /// follow it, as with tcpdump (`-r f port 53 -c 1`). With -r, the words before the
    /// filter that name existing files are more inputs (`-r a.pcap b.pcap port 53`).
    #[arg(value_name = "EXPRESSION")]
    filter: Vec<String>,
}

fn main() -> ExitCode {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let (cli, matches) = match parsed {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            say!("probewatch: {}", usage_error(&e));
            return ExitCode::from(2);
        }
    };
    let _ = cli.numeric; // addresses are never resolved
    if let Some(why) = refused_combination(&cli, &matches) {
        say!("probewatch: {why}");
        return ExitCode::from(2);
    }
    if let Some(why) = probewatch::report::text::detail_refused(
        cli.quiet,
        cli.verbose,
        cli.format == Format::Table && !cli.timeline,
        if cli.timeline {
            "--timeline".to_string()
        } else {
            format!(
                "--format {}",
                format!("{:?}", cli.format).to_ascii_lowercase()
            )
        },
    ) {
        say!("probewatch: {why}");
        return ExitCode::from(2);
    }
    if cli.interface.is_some() && cli.max_report_probes.is_some() {
        say!(
            "probewatch: --max-report-probes bounds the report of a capture file (-r); a live capture holds no probes for its report"
        );
        return ExitCode::from(2);
    }
    let mut bounds = Bounds::default();
    bounds.reassembly.max_flows = cli.max_flows.max(1);
    bounds.keylog.max_randoms = cli.max_keylog_entries.max(1);
    bounds.reassembly.max_buffer = cli.max_buffer;
    bounds.reassembly.max_holes = cli.max_holes.max(1);
    bounds.reassembly.max_buffered_total = cli.max_buffered_bytes.max(1);
    bounds.reassembly.idle_secs = cli.idle_timeout.max(0.0);
    bounds.correlate.max_dns_entries = cli.max_dns_entries.max(1);
    bounds.correlate.max_clients = cli.max_clients.max(1);
    bounds.correlate.max_probes = cli
        .max_report_probes
        .unwrap_or(probewatch::correlate::MAX_REPORT_PROBES)
        .max(1);
    bounds.correlate.probe_timeout_secs = cli.probe_timeout.max(0.0);
    bounds.correlate.merge_hosts = !cli.no_merge_hosts;
    bounds.correlate.groups.window_secs = if cli.group_window.is_finite() {
        cli.group_window.max(0.0)
    } else {
        0.0
    };
    // `--timeline --format table` drew the timeline without a word about the table asked for.
    let format_given =
        matches.value_source("format") == Some(clap::parser::ValueSource::CommandLine);
    if cli.timeline
        && cli.format != Format::Timeline
        && (format_given || cli.format != Format::Table)
    {
        say!(
            "probewatch: --timeline is --format timeline, a terminal view; it cannot be combined with --format {}, give one of them",
            format!("{:?}", cli.format).to_ascii_lowercase()
        );
        return ExitCode::from(2);
    }
    if cli.list_interfaces {
        return list_interfaces();
    }
    let stdout_tty = std::io::stdout().is_terminal();
    let env = |k: &str| std::env::var(k).ok();
    let width = cli.width.unwrap_or_else(|| {
        env("COLUMNS")
            .and_then(|c| c.trim().parse::<u16>().ok())
            .filter(|c| *c > 0)
            .or_else(|| stdout_tty.then(terminal_width).flatten())
            .unwrap_or(100)
    });
    let color = match cli.color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => stdout_tty && env("NO_COLOR").map_or(true, |v| v.is_empty()),
    };
    // `-r a.pcap b.pcap port 53`: the leading words that name existing files or
    // directories (and are not filter keywords) are more inputs.
    let mut words = cli.filter.as_slice();
    let mut more_inputs = Vec::new();
    if !cli.read.is_empty() {
        while let Some((w, rest)) = words.split_first() {
            // `-r a.pcap -`: standard input is an input there too.
            if w != "-" && (is_filter_word(w) || !std::path::Path::new(w).exists()) {
                break;
            }
            more_inputs.push(w.clone());
            words = rest;
        }
    }
    // `-r a.pcap nosuch.pcap`: a first filter word named like a capture file is a file
    // that is not there, not a filter (which would fail on it as a host name).
    if let Some(w) = words
        .first()
        .filter(|w| !cli.read.is_empty() && named_like_a_capture(w))
    {
        return exit(Err(probewatch::Error::Open {
            path: w.clone(),
            reason: "no such file".to_string(),
        }));
    }
    // --max-report-probes bounds the probes held for a report laid out at the end: JSON
    // holds none (it streams), and from a stream neither do the table, -q and ECS.
    if cli.max_report_probes.is_some() {
        let format = if cli.timeline {
            Format::Timeline
        } else {
            cli.format
        };
        let laid_out = !format.rows_from_a_stream(cli.ja4);
        let streamed = cli
            .read
            .iter()
            .chain(more_inputs.iter())
            .flat_map(|s| Input::expand(s))
            .any(|i| i.is_stream());
        if cli.format == Format::Json || (!laid_out && streamed) {
            say!(
                "probewatch: --max-report-probes bounds the report laid out at the end; {} writes each probe as it completes and holds none",
                if cli.format == Format::Json {
                    "--format json"
                } else {
                    "read from a stream, this format"
                }
            );
            return ExitCode::from(2);
        }
    }
    let filter = if words.is_empty() {
        None
    } else {
        Some(words.join(" "))
    };
    let format = if cli.timeline {
        Format::Timeline
    } else {
        cli.format
    };
    let output = probewatch::report::Options {
        width,
        ja4: cli.ja4,
        color,
        ascii: !probewatch::report::utf8_locale(&env),
        local_time: cli.local_time,
        mermaid_fences: cli.mermaid_fences,
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    // A --ca-file is read like an input, and a key log the client still appends to: -w
    // must truncate neither (the capture inputs are checked when they are opened).
    if let Some(w) = cli.write.as_deref() {
        let read = [cli.keylog.as_slice(), cli.ca_file.as_slice()].concat();
        if let Err(e) = probewatch::refuse_save_over_input(w, &[], &read) {
            return exit(Err(e));
        }
    }
    let trust = match load_trust(&cli) {
        Ok(t) => Arc::new(t),
        Err(e) => return exit(Err(e)),
    };
    if let Some(iface) = &cli.interface {
        let mut options = LiveOptions::new(iface);
        options.promiscuous = !cli.no_promiscuous;
        options.snaplen = cli.snaplen.clamp(64, 262_144);
        options.buffer_bytes = cli.buffer_mib.clamp(1, 2048) << 20;
        let cfg = LiveConfig {
            trust,
            options,
            filter,
            format,
            bounds,
            output,
            save: cli.write.clone(),
            user: cli.user.clone(),
            max_probes: cli.count,
            duration: cli.duration,
            keylogs: cli.keylog.clone(),
            threads: cli.threads.map_or(0, usize::from),
        };
        return live(&cfg);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        say!("probewatch: cannot install the Ctrl-C handler ({e}); stop it with SIGKILL");
    }
    let cfg = Config {
        trust,
        inputs: cli
            .read
            .iter()
            .chain(more_inputs.iter())
            .flat_map(|s| Input::expand(s))
            .collect(),
        filter,
        format,
        bounds,
        output,
        progress: !cli.no_progress && std::io::stderr().is_terminal(),
        keylogs: cli.keylog.clone(),
        save: cli.write.clone(),
        max_probes: cli.count,
        stop: Some(stop),
        threads: cli.threads.map_or(0, usize::from),
        // At a terminal the lines show as they complete; into a file or a pipe the
        // report is written in large blocks.
        flush_lines: std::io::stdout().is_terminal(),
    };
    // Every input and the -w file are opened first; then privileges go, as for a live
    // capture: no packet is parsed as root.
    let opened = match probewatch::open_inputs(&cfg) {
        Ok(o) => o,
        Err(e) => return exit(Err(e)),
    };
    if let Err(e) = probewatch::privs::drop_privileges(&cli.user) {
        return exit(Err(e));
    }
    let stdout = std::io::stdout();
    // 64 KiB at a time: a probe line is about 1.5 KiB.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let result = probewatch::run_opened(&cfg, opened, &mut out, &mut std::io::stderr());
    let _ = out.flush();
    exit(result)
}

/// A flag that would do nothing with the others given (no flag is silently ignored), in
/// one sentence.
fn refused_combination(cli: &Cli, matches: &clap::ArgMatches) -> Option<String> {
    let given = |id: &str| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    // -D only lists the interfaces: anything given beside it would do nothing.
    if cli.list_interfaces {
        let cmd = Cli::command();
        let other = cmd.get_arguments().find(|a| {
            let id = a.get_id().as_str();
            id != "list_interfaces" && given(id)
        });
        if let Some(a) = other {
            let flag = match (a.get_short(), a.get_long()) {
                (Some(c), _) => format!("-{c}"),
                (None, Some(l)) => format!("--{l}"),
                (None, None) => "a filter".to_string(),
            };
            return Some(format!(
                "-D only lists the interfaces; {flag} would do nothing with it, leave it out"
            ));
        }
    }
    if cli.interface.is_none() {
        for (id, flag) in [
            ("snaplen", "-s"),
            ("buffer_mib", "-B"),
            ("no_promiscuous", "-p"),
            ("duration", "--duration"),
        ] {
            if given(id) {
                return Some(format!(
                    "{flag} applies to a live capture (-i INTERFACE); reading files it would do nothing"
                ));
            }
        }
    }
    if cli.write.as_deref() == Some(std::path::Path::new("-")) {
        return Some(
            "-w - would mix the packets with the report on standard output; give -w a file name"
                .to_string(),
        );
    }
    let table = cli.format == Format::Table && !cli.timeline;
    if cli.ja4 && (!table || cli.quiet || cli.interface.is_some()) {
        let other = if cli.interface.is_some() {
            "a live capture's table (-i)".to_string()
        } else if cli.quiet {
            "-q".to_string()
        } else if cli.timeline {
            "--timeline".to_string()
        } else {
            format!(
                "--format {}",
                format!("{:?}", cli.format).to_ascii_lowercase()
            )
        };
        return Some(format!(
            "--ja4 adds a JA4 column to the table, which {other} does not have (the JSON always has tls.ja4); leave out one of them"
        ));
    }
    // The table's own settings: the other formats have no width, colours or clock times.
    let format = if cli.timeline {
        Format::Timeline
    } else {
        cli.format
    };
    let named = || {
        if cli.timeline {
            "--timeline".to_string()
        } else {
            format!("--format {}", format!("{format:?}").to_ascii_lowercase())
        }
    };
    if given("width") && !matches!(format, Format::Table | Format::Timeline) {
        return Some(format!(
            "--width sets the table's width, and {} has no width to set; leave out one of them",
            named()
        ));
    }
    if given("color") && (format != Format::Table || cli.quiet) {
        let other = if cli.quiet { "-q".to_string() } else { named() };
        return Some(format!(
            "--color colours the table's verdicts, and {other} has no colours; leave out one of them"
        ));
    }
    if cli.local_time && format != Format::Table {
        return Some(format!(
            "--local-time applies to the table's times, and {} writes its times in UTC or none; leave out one of them",
            named()
        ));
    }
    // -q is the name verdict per probe, in time order: no trust column, no groups.
    if cli.quiet && format == Format::Table {
        let flag = [
            (
                "trust",
                "--trust",
                "sets the trust store of the trust verdict",
            ),
            ("ca_file", "--ca-file", "adds anchors to the trust verdict"),
            (
                "group_window",
                "--group-window",
                "sets how attempt groups are formed",
            ),
        ]
        .into_iter()
        .find(|(id, _, _)| given(id));
        if let Some((_, flag, what)) = flag {
            return Some(format!(
                "{flag} {what}, which -q does not show (one line per probe with its name verdict); use the table or --format json, or leave out {flag}"
            ));
        }
    }
    if cli.mermaid_fences && cli.format != Format::Mermaid {
        return Some(
            "--mermaid-fences wraps the diagrams of --format mermaid; give --format mermaid, or leave it out"
                .to_string(),
        );
    }
    None
}

/// A count or bound of at least 1 (`-c 0` would read nothing; a bound of 0 would make it
/// meaningless).
fn at_least_one<T: std::str::FromStr + PartialEq + Default>(s: &str) -> Result<T, String> {
    match s.parse::<T>() {
        Ok(n) if n == T::default() => Err("it must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("it must be a whole number, 1 or more".into()),
    }
}

/// `--duration`: a time longer than 0 (`0` stopped at once, as a bound of 0 would do
/// nothing; `-1s` was taken for an option).
fn duration(s: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err("a time longer than 0, e.g. 60s, 10m, 2h".into()),
    }
}

/// `-s`: 64 to 262144 bytes, or 0 for whole packets as with tcpdump (262144).
fn snaplen(s: &str) -> Result<i32, String> {
    match s.parse::<i32>() {
        Ok(0) => Ok(262_144),
        Ok(n @ 64..=262_144) => Ok(n),
        _ => Err("from 64 to 262144 bytes, or 0 for whole packets".into()),
    }
}

/// `-B`: 1 to 2048 MiB.
fn buffer_mib(s: &str) -> Result<i32, String> {
    match s.parse::<i32>() {
        Ok(n @ 1..=2048) => Ok(n),
        _ => Err("from 1 to 2048 MiB".into()),
    }
}

/// Seconds: a number of 0 or more (not NaN, not infinite).
fn seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Ok(_) => Err("seconds are a number of 0 or more".into()),
        Err(_) => Err("it is not a number of seconds".into()),
    }
}

/// A usage error in one plain sentence (instead of clap's block), with where to look.
fn usage_error(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ErrorKind};
    let ctx = |k: ContextKind| e.get(k).map(|v| v.to_string());
    let arg = ctx(ContextKind::InvalidArg)
        .map(|a| a.split_whitespace().next().unwrap_or("").to_string())
        .unwrap_or_default();
    let value = ctx(ContextKind::InvalidValue).unwrap_or_default();
    let help = "see probewatch --help";
    match e.kind() {
        ErrorKind::InvalidValue => match ctx(ContextKind::ValidValue) {
            _ if value.is_empty() => format!("{arg} needs a value; {help}"),
            Some(valid) if !valid.is_empty() => {
                format!("{arg} does not take {value:?}; use one of {valid}")
            }
            _ => format!("{arg} does not take {value:?}; {help}"),
        },
        ErrorKind::ValueValidation => {
            let why = e.source().map(|s| format!(" ({s})")).unwrap_or_default();
            format!("{arg} does not take {value:?}{why}; {help}")
        }
        ErrorKind::UnknownArgument => match ctx(ContextKind::SuggestedArg) {
            Some(s) => format!("there is no option {arg}; did you mean {s}?"),
            None => format!("there is no option {arg}; {help}"),
        },
        ErrorKind::MissingRequiredArgument => {
            "nothing to read: give a capture file with -r FILE, an interface with -i INTERFACE, \
             or -D to list the interfaces"
                .to_string()
        }
        ErrorKind::ArgumentConflict => match ctx(ContextKind::PriorArg) {
            Some(p) => format!(
                "{arg} cannot be combined with {}; {help}",
                p.split_whitespace().next().unwrap_or("")
            ),
            None => format!("{arg} cannot be used here; {help}"),
        },
        _ => {
            // Any other kind: clap's first line, without its "error: " prefix.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad usage");
            format!(
                "{}; {help}",
                first.trim_start_matches("error: ").trim_end_matches('.')
            )
        }
    }
}

/// A word ending like a capture file's name (`.pcap`, `.pcapng`, `.cap`, compressed or
/// not), which no BPF expression's first word does.
fn named_like_a_capture(w: &str) -> bool {
    let w = w.to_ascii_lowercase();
    let w = [".gz", ".zst", ".xz", ".lz4"]
        .iter()
        .find_map(|z| w.strip_suffix(z))
        .unwrap_or(&w);
    [".pcap", ".pcapng", ".cap"].iter().any(|e| w.ends_with(e))
}

/// Words that begin or continue a BPF expression, never taken for file names.
fn is_filter_word(w: &str) -> bool {
    const WORDS: &[&str] = &[
        "host",
        "net",
        "port",
        "portrange",
        "src",
        "dst",
        "tcp",
        "udp",
        "icmp",
        "icmp6",
        "ip",
        "ip6",
        "arp",
        "rarp",
        "ether",
        "vlan",
        "mpls",
        "pppoes",
        "not",
        "and",
        "or",
        "less",
        "greater",
        "proto",
        "gateway",
        "broadcast",
        "multicast",
        "inbound",
        "outbound",
        "sctp",
        "len",
        "!",
        "(",
        ")",
        "&&",
        "||",
    ];
    WORDS.contains(&w) || w.contains(['[', '(', ' '])
}

fn exit(result: Result<(), probewatch::Error>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(probewatch::Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            say!("probewatch: {e}");
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum TrustArg {
    Mozilla,
    System,
    None,
}

fn load_trust(cli: &Cli) -> Result<TrustStore, probewatch::Error> {
    let base = match cli.trust {
        TrustArg::Mozilla => TrustBase::Mozilla,
        TrustArg::System => TrustBase::System,
        TrustArg::None => TrustBase::None,
    };
    TrustStore::load(base, &cli.ca_file).map_err(|e| match e {
        StoreError::File { path, why } => probewatch::Error::CaFile {
            path: path.display().to_string(),
            reason: why,
        },
        StoreError::NoSystemBundle => probewatch::Error::NoSystemStore {
            looked: SYSTEM_BUNDLES.join(", "),
        },
    })
}

fn terminal_width() -> Option<u16> {
    comfy_table::Table::new().width()
}

fn list_interfaces() -> ExitCode {
    match probewatch::capture::live::list_interfaces() {
        Ok(lines) => {
            let mut out = std::io::stdout().lock();
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => exit(Err(e)),
    }
}

/// Captures until Ctrl-C / SIGTERM (which end the capture cleanly: exit code 0).
fn live(cfg: &LiveConfig) -> ExitCode {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        say!("probewatch: cannot install the Ctrl-C handler ({e}); stop it with SIGKILL");
    }
    let stdout = std::io::stdout();
    let mut out = std::io::LineWriter::new(stdout.lock());
    let mut err = std::io::stderr();
    let result = probewatch::live::run_live(cfg, &stop, &mut out, &mut err);
    let _ = out.flush();
    exit(result)
}
