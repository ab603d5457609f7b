//! The probewatch command line.
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

use probewatch::capture::Input;
use probewatch::report::Format;
use probewatch::{Bounds, Config};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    /// One table per client, then a summary (for people).
    Table,
    /// JSON Lines: probe, client and stats objects (for scripts).
    Json,
}

const ABOUT: &str = "Show which hostnames each client tried, in what order, and where the name it asked for did not match the certificate the server showed.";

const LONG_ABOUT: &str = "\
probewatch reads packet captures (pcap or pcapng, e.g. written by `tcpdump -w`) and \
reconstructs, per client, every TLS handshake, HTTP request and DNS query: the name asked \
for (TLS SNI, HTTP Host, DNS question), the server, the certificate the server showed, and \
a verdict on whether that certificate covers the name (RFC 6125: SAN dNSNames first, the \
subject CN only when there is none; a wildcard covers exactly one label and never the apex).

Verdicts: match, mismatch, unverified (the certificate was not visible: TLS 1.3 encrypts it, \
the capture missed a segment, the snapshot length cut it; the reason says which), no_name \
(no SNI and no DNS answer for the server's address).

TLS is found on any port, including implicit-TLS mail ports and after STARTTLS in SMTP, \
IMAP, POP3 and XMPP. Client certificates (mutual TLS) are reported as such.";

const AFTER_HELP: &str = "\
EXAMPLES:
    probewatch -r capture.pcap
    probewatch -r a.pcap -r b.pcapng 'port 443 or port 53'
    probewatch -r - < capture.pcap
    probewatch -r capture.pcap --format json | jq 'select(.verdict==\"mismatch\")'

EXIT STATUS:
    0  the report was written
    2  an input could not be read (missing file, not a capture, bad filter) or bad usage
    3  an input is damaged or cut short; everything before the damage was reported
    4  the report could not be written

Every table and buffer is bounded; evictions are counted in the final stats line.";

#[derive(Parser, Debug)]
#[command(name = "probewatch", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
struct Cli {
    /// Read packets from FILE (pcap or pcapng; `-` for standard input). Repeat to read several files in order.
    #[arg(short = 'r', value_name = "FILE", required = true)]
    read: Vec<String>,

    /// Do not resolve addresses to names (probewatch never does; accepted for tcpdump habits).
    #[arg(short = 'n')]
    numeric: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,

    /// Table width in columns (default: the terminal's, or 100).
    #[arg(long, value_name = "COLUMNS")]
    width: Option<u16>,

    /// Add a JA4 column (FoxIO's TLS client fingerprint) to the table; JSON always has `tls.ja4`.
    #[arg(long)]
    ja4: bool,

    /// Never show the progress line on stderr.
    #[arg(long)]
    no_progress: bool,

    /// Most TCP flows tracked at once; the least recently active are evicted beyond it.
    #[arg(long, value_name = "N", default_value_t = 65_536)]
    max_flows: usize,

    /// Bytes held out of order per direction of a flow.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_buffer: usize,

    /// Out-of-order segments (holes) held per direction of a flow.
    #[arg(long, value_name = "N", default_value_t = 256)]
    max_holes: usize,

    /// Seconds (capture time) without a packet after which a flow is ended.
    #[arg(long, value_name = "SECONDS", default_value_t = 120.0)]
    idle_timeout: f64,

    /// Entries in the address → name map learned from DNS answers.
    #[arg(long, value_name = "N", default_value_t = 65_536)]
    max_dns_entries: usize,

    /// Capture filter in tcpdump (BPF) syntax, e.g. `port 443 or port 53`.
    #[arg(value_name = "EXPRESSION", trailing_var_arg = true)]
    filter: Vec<String>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let _ = cli.numeric;
    let mut bounds = Bounds::default();
    bounds.reassembly.max_flows = cli.max_flows.max(1);
    bounds.reassembly.max_buffer = cli.max_buffer;
    bounds.reassembly.max_holes = cli.max_holes.max(1);
    bounds.reassembly.idle_secs = cli.idle_timeout.max(0.0);
    bounds.correlate.max_dns_entries = cli.max_dns_entries.max(1);
    let stdout_tty = std::io::stdout().is_terminal();
    let width = cli.width.unwrap_or_else(|| {
        if stdout_tty {
            terminal_width().unwrap_or(100)
        } else {
            100
        }
    });
    let filter = if cli.filter.is_empty() {
        None
    } else {
        Some(cli.filter.join(" "))
    };
    let cfg = Config {
        inputs: cli.read.iter().map(|s| Input::from_arg(s)).collect(),
        filter,
        format: match cli.format {
            FormatArg::Table => Format::Table,
            FormatArg::Json => Format::Json,
        },
        bounds,
        width,
        progress: !cli.no_progress && std::io::stderr().is_terminal(),
        ja4_column: cli.ja4,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = probewatch::run(&cfg, &mut out);
    let _ = out.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(probewatch::Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("probewatch: {e}");
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}

fn terminal_width() -> Option<u16> {
    comfy_table::Table::new().width()
}
