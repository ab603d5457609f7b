//! Live capture (`-i`) against real servers and clients in network namespaces.
//!
//! Needs root (CI runs as root). Without it each test prints why it is skipped and passes
//! without asserting anything else.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use common::{bin, lines, of_type, run};

fn root_or_skip(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    eprintln!("SKIPPED {test}: live capture needs root (CI runs as root); run `sudo cargo test --test live`");
    false
}

fn scenario() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/live/scenario.sh")
}

/// The two namespaces of tests/live/scenario.sh; removed on drop.
struct Net {
    prefix: String,
    dir: PathBuf,
}

impl Net {
    fn up(prefix: &str) -> Net {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
        let net = Net {
            prefix: prefix.to_string(),
            dir,
        };
        let st = Command::new(scenario())
            .args(["up", &net.prefix, net.dir.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(st.success(), "scenario.sh up failed");
        net
    }

    fn clients(&self) {
        let st = Command::new(scenario())
            .args(["clients", &self.prefix, self.dir.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(st.success(), "scenario.sh clients failed");
    }

    /// curl -4 and curl -6 to www.example.test from the client's one veth.
    fn dualstack(&self) {
        let st = Command::new(scenario())
            .args(["dualstack", &self.prefix, self.dir.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(st.success(), "scenario.sh dualstack failed");
    }

    fn cli_ns(&self) -> String {
        format!("{}-cli", self.prefix)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = Command::new(scenario())
            .args(["down", &self.prefix])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// probewatch started in the client namespace; returns once it says it is listening.
fn start_probewatch(net: &Net, args: &[&str]) -> (Child, String) {
    let mut child = Command::new("ip")
        .args(["netns", "exec", &net.cli_ns(), bin(), "-i", "cli0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(
        line.contains("listening on cli0"),
        "probewatch did not start: {line}"
    );
    // The rest of standard error stays readable (and open: a closed one is not what a
    // user's terminal is).
    assert!(err.buffer().is_empty(), "more than the banner so soon");
    child.stderr = Some(err.into_inner());
    (child, line)
}

/// The real, effective, saved and filesystem user ids of a process.
fn uids(pid: u32) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap())
        .collect()
}

fn stop(child: Child) -> (i32, String) {
    stop_with(child, Some(Signal::SIGINT))
}

/// Sends `signal` (if any) and waits up to 10 s for probewatch to exit.
fn stop_with(child: Child, signal: Option<Signal>) -> (i32, String) {
    if let Some(sig) = signal {
        kill(Pid::from_raw(child.id() as i32), sig).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut child = child;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            let mut out = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            return (st.code().unwrap_or(-1), out);
        }
        assert!(
            Instant::now() < deadline,
            "probewatch did not stop ({signal:?})"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn probe<'a>(v: &'a [Value], proto: &str, name: &str, port: u64) -> &'a Value {
    v.iter()
        .find(|o| {
            o["type"] == "probe" && o["proto"] == proto && o["name"] == name && o["port"] == port
        })
        .unwrap_or_else(|| panic!("no {proto} probe for {name}:{port} in {v:#?}"))
}

#[test]
fn live_capture_reports_real_handshakes_and_drops_root() {
    if !root_or_skip("live_capture_reports_real_handshakes_and_drops_root") {
        return;
    }
    let net = Net::up("pwlive");
    let save = net.dir.join("seen.pcap");
    let (child, banner) =
        start_probewatch(&net, &["--format", "json", "-w", save.to_str().unwrap()]);
    assert!(banner.contains("running as user nobody"), "{banner}");
    // The kernel's view, not just what probewatch says: no user id of the process is root.
    let ids = uids(child.id());
    assert_eq!(ids.len(), 4);
    assert!(
        ids.iter().all(|&u| u != 0),
        "still root after start: {ids:?}"
    );

    net.clients();
    let (code, out) = stop(child);
    assert_eq!(code, 0, "SIGINT is a clean stop");
    let v = lines(&out);

    // DNS lookups the clients made through dnsmasq.
    for name in ["example.test", "www.example.test"] {
        let d = probe(&v, "dns", name, 53);
        assert_eq!(d["outcome"], "A 192.0.2.10");
        assert_eq!(d["server"], "192.0.2.53");
    }
    // curl to the name the certificate does not cover: mismatch, and curl gave up.
    let m = probe(&v, "tls", "example.test", 443);
    assert_eq!(m["verdict"], "mismatch");
    assert_eq!(m["name_source"], "sni");
    assert_eq!(
        m["cert"]["san_dns"],
        serde_json::json!(["www.example.test"])
    );
    assert_eq!(m["tls"]["app_data"], false);
    assert!(
        m["reason"]
            .as_str()
            .unwrap()
            .contains("example.test not covered"),
        "{m}"
    );
    // curl to the covered name: match, data exchanged.
    let ok = probe(&v, "tls", "www.example.test", 443);
    assert_eq!(ok["verdict"], "match");
    assert_eq!(ok["tls"]["version"], "TLS 1.2");
    assert_eq!(ok["outcome"], "handshake completed, data exchanged");
    // TLS 1.3: the certificate is encrypted, and probewatch says so.
    let t13 = probe(&v, "tls", "www.example.test", 8443);
    assert_eq!(t13["verdict"], "unverified");
    assert_eq!(t13["tls"]["version"], "TLS 1.3");
    assert!(t13["reason"].as_str().unwrap().contains("TLS 1.3 encrypts"));

    // Probes are numbered in the order they were printed.
    let ids: Vec<u64> = of_type(&v, "probe")
        .iter()
        .map(|o| o["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    let client = of_type(&v, "client");
    assert_eq!(client.len(), 1);
    assert_eq!(client[0]["client"], "192.0.2.100");
    assert_eq!(client[0]["mismatches"], 1);
    let stats = of_type(&v, "stats");
    assert_eq!(stats[0]["capture"]["interface"], "cli0");
    assert!(stats[0]["capture"]["received"].as_u64().unwrap() > 0);
    assert_eq!(stats[0]["capture"]["dropped"], 0);
    // One thread per core, at most two: capture and the flow stages on one, correlation
    // and the report on the other.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(stats[0]["threads"], cores.min(2));

    // -w wrote what was captured: reading it back gives the same probes.
    let offline = run(&["-r", save.to_str().unwrap(), "--format", "json"]);
    assert_eq!(offline.code, 0, "{}", offline.stderr);
    let w = lines(&offline.stdout);
    let key = |o: &&Value| {
        format!(
            "{} {} {} {} {}",
            o["proto"], o["name"], o["port"], o["verdict"], o["outcome"]
        )
    };
    let mut live_keys: Vec<String> = of_type(&v, "probe").iter().map(key).collect();
    let mut file_keys: Vec<String> = of_type(&w, "probe").iter().map(key).collect();
    live_keys.sort();
    file_keys.sort();
    assert_eq!(live_keys, file_keys);
}

#[test]
fn live_table_streams_rows_and_summary() {
    if !root_or_skip("live_table_streams_rows_and_summary") {
        return;
    }
    let net = Net::up("pwlivt");
    // On one thread (capture, flow stages, correlation and the report), as on one core.
    let (child, _) = start_probewatch(&net, &["--width", "120", "--threads", "1"]);
    net.clients();
    // SIGTERM (what service managers send) is a clean stop too.
    let (code, out) = stop_with(child, Some(Signal::SIGTERM));
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("client "), "{out}");
    assert!(lines[1].starts_with("────"), "{out}");
    let row = lines
        .iter()
        .find(|l| l.contains("example.test") && l.contains(":443") && l.contains("mismatch"))
        .unwrap_or_else(|| panic!("no mismatch row: {out}"));
    assert!(row.starts_with("192.0.2.100"), "{row}");
    assert!(
        out.contains(
            "↳ SNI example.test not covered by the certificate's names (www.example.test)"
        ),
        "{out}"
    );
    assert!(
        out.contains("Client 192.0.2.100: 5 probes, 1 mismatch"),
        "{out}"
    );
    assert!(
        out.contains("Names tried, in order: example.test → www.example.test"),
        "{out}"
    );
    assert!(out.contains("libpcap: "), "{out}");
}

#[test]
fn live_table_at_80_columns_keeps_the_certificate_and_fits() {
    if !root_or_skip("live_table_at_80_columns_keeps_the_certificate_and_fits") {
        return;
    }
    let net = Net::up("pwliv8");
    let (child, _) = start_probewatch(&net, &["--width", "80"]);
    net.clients();
    let (code, out) = stop_with(child, Some(Signal::SIGTERM));
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("proto "), "{out}");
    assert!(lines[0].contains("certificate"), "{out}");
    assert!(out.contains("\nclient 192.0.2.100\n"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("www.example.") && l.contains("mismatch")),
        "the certificate's name beside the verdict: {out}"
    );
    for l in out.lines() {
        assert!(l.chars().count() <= 80, "wider than 80: {l}");
    }
}

#[test]
fn live_stops_by_itself_on_a_quiet_interface() {
    if !root_or_skip("live_stops_by_itself_on_a_quiet_interface") {
        return;
    }
    // A filter nothing matches: the capture stays quiet, --duration must still end it.
    let started = Instant::now();
    let r = run(&["-i", "lo", "--duration", "1s", "--format", "json", "port 1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(started.elapsed() < Duration::from_secs(8));
    let v = lines(&r.stdout);
    assert_eq!(of_type(&v, "probe").len(), 0);
    assert_eq!(of_type(&v, "stats")[0]["capture"]["interface"], "lo");
}

#[test]
fn live_errors_are_one_plain_sentence() {
    // Needs no privilege: the interface does not exist.
    let r = run(&["-i", "pw-nosuch0"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with(
            "probewatch: cannot capture on pw-nosuch0: no such interface; pick one of: "
        ),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("lo"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1);
    // -r and -i together make no sense.
    assert_eq!(run(&["-r", "x.pcap", "-i", "lo"]).code, 2);
    // -D lists the loopback interface.
    let d = run(&["-D"]);
    assert_eq!(d.code, 0);
    assert!(d.stdout.lines().any(|l| l.contains(".lo ")), "{}", d.stdout);

    if !root_or_skip("live_errors_are_one_plain_sentence (root-only part)") {
        return;
    }
    let bad = run(&["-i", "lo", "port 4x3"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("the filter expression `port 4x3` is not valid"),
        "{}",
        bad.stderr
    );
    // A live capture follows its key log as it grows: a pipe cannot be, and is refused
    // (standard input is /dev/null here, a device, not a file).
    let piped = run(&["-i", "lo", "--keylog", "/dev/stdin", "--duration", "1s"]);
    assert_eq!(piped.code, 2);
    assert_eq!(
        piped.stderr.trim_end(),
        "probewatch: --keylog /dev/stdin is a pipe or a device, not a file: a live capture follows its key log as the client writes it, which only a file can be; give the file itself (SSLKEYLOGFILE=/path/keys)"
    );
    let nouser = run(&["-i", "lo", "--user", "pw-no-such-user", "--duration", "1s"]);
    assert_eq!(nouser.code, 2);
    assert!(
        nouser.stderr.contains("there is no user `pw-no-such-user`"),
        "{}",
        nouser.stderr
    );
    // Without the privilege to capture: the fix is spelled out.
    let unpriv = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            bin(),
            "-i",
            "lo",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&unpriv.stderr);
    assert_eq!(unpriv.status.code(), Some(2), "{err}");
    assert!(err.contains("no permission to capture on lo"), "{err}");
    assert!(
        err.contains("setcap cap_net_raw,cap_net_admin=eip"),
        "{err}"
    );
    // A down interface.
    let st = Command::new("ip")
        .args([
            "link", "add", "pwdown0", "type", "veth", "peer", "name", "pwdown1",
        ])
        .status()
        .unwrap();
    if st.success() {
        let down = run(&["-i", "pwdown0"]);
        let _ = Command::new("ip").args(["link", "del", "pwdown0"]).status();
        assert_eq!(down.code, 2);
        assert!(
            down.stderr
                .contains("pwdown0: the interface is down; bring it up first"),
            "{}",
            down.stderr
        );
    }
}

#[test]
fn live_count_stops_after_n_probes() {
    if !root_or_skip("live_count_stops_after_n_probes") {
        return;
    }
    let net = Net::up("pwlivc");
    let (child, _) = start_probewatch(&net, &["--format", "json", "-c", "2"]);
    net.clients();
    // No signal: -c 2 ends the capture by itself.
    let (code, out) = stop_with(child, None);
    assert_eq!(code, 0);
    let v = lines(&out);
    let probes = of_type(&v, "probe");
    assert_eq!(probes.len(), 2, "{out}");
    // The first two probes to complete: the DNS lookup, then the refused handshake.
    assert_eq!(probes[0]["proto"], "dns");
    assert_eq!(probes[0]["name"], "example.test");
    assert_eq!(probes[1]["proto"], "tls");
    assert_eq!(probes[1]["verdict"], "mismatch");
    assert_eq!(of_type(&v, "stats").len(), 1);
}

#[test]
fn live_merges_a_dual_stack_host_as_the_streamed_file_report_does() {
    if !root_or_skip("live_merges_a_dual_stack_host_as_the_streamed_file_report_does") {
        return;
    }
    let net = Net::up("pwlivh");
    let (child, _) = start_probewatch(&net, &["--format", "json"]);
    net.dualstack();
    let (code, out) = stop(child);
    assert_eq!(code, 0);
    let v = lines(&out);
    // The IPv6 connection is the IPv4 address's host (one MAC: cli0's).
    let tls: Vec<&Value> = v
        .iter()
        .filter(|o| o["type"] == "probe" && o["proto"] == "tls")
        .collect();
    let v6 = tls
        .iter()
        .find(|o| o["client"] == "2001:db8::100")
        .unwrap_or_else(|| panic!("no IPv6 TLS probe: {out}"));
    assert_eq!(v6["host"], "192.0.2.100", "{v6}");
    assert_eq!(v6["verdict"], "match");
    let v4 = tls.iter().find(|o| o["client"] == "192.0.2.100").unwrap();
    assert_eq!(v4["host"], "192.0.2.100");
    // One client line with both addresses and the MAC.
    let clients = of_type(&v, "client");
    assert_eq!(clients.len(), 1, "{out}");
    assert_eq!(clients[0]["client"], "192.0.2.100");
    assert_eq!(
        clients[0]["addresses"],
        serde_json::json!(["192.0.2.100", "2001:db8::100"])
    );
    assert!(clients[0]["mac"].is_string(), "{}", clients[0]);
    // One group for the name, holding both connections.
    let groups = of_type(&v, "group");
    assert_eq!(groups.len(), 1, "{out}");
    assert_eq!(groups[0]["client"], "192.0.2.100");
    for p in [v4, v6] {
        assert!(groups[0]["probe_ids"]
            .as_array()
            .unwrap()
            .contains(&p["id"]));
    }
}

#[test]
fn live_table_shows_the_merged_host_and_no_merge_hosts_keeps_it_apart() {
    if !root_or_skip("live_table_shows_the_merged_host_and_no_merge_hosts_keeps_it_apart") {
        return;
    }
    let net = Net::up("pwlivm");
    let (child, _) = start_probewatch(&net, &["--width", "200"]);
    net.dualstack();
    let (code, out) = stop(child);
    assert_eq!(code, 0);
    let rows: Vec<&str> = out.lines().collect();
    let at = rows
        .iter()
        .position(|l| l.contains("www.example.test") && l.contains("[2001:db8::10]:443"))
        .unwrap_or_else(|| panic!("no IPv6 row: {out}"));
    // The client column (25 wide at 200 columns) wraps the label onto the next line.
    let cell = |l: &str| {
        l.chars()
            .skip(9)
            .take(25)
            .collect::<String>()
            .trim()
            .to_string()
    };
    assert_eq!(
        format!("{} {}", cell(rows[at]), cell(rows[at + 1])),
        "192.0.2.100 (also 2001:db8::100)",
        "{out}"
    );
    assert!(
        out.contains("Client 192.0.2.100 (also 2001:db8::100; one host: same MAC "),
        "{out}"
    );
    drop(net);
    let net = Net::up("pwlivn");
    let (child, _) = start_probewatch(&net, &["--width", "200", "--no-merge-hosts"]);
    net.dualstack();
    let (code, out) = stop(child);
    assert_eq!(code, 0);
    assert!(!out.contains("(also "), "{out}");
    assert!(out.contains("Client 2001:db8::100: "), "{out}");
    assert!(out.contains("Client 192.0.2.100: "), "{out}");
}

#[test]
fn live_quiet_prints_one_line_per_probe_and_the_stats() {
    if !root_or_skip("live_quiet_prints_one_line_per_probe_and_the_stats") {
        return;
    }
    let net = Net::up("pwlivq");
    let (child, _) = start_probewatch(&net, &["-q"]);
    net.clients();
    let (code, out) = stop_with(child, Some(Signal::SIGTERM));
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    let stats = lines
        .iter()
        .position(|l| l.starts_with("Stats: "))
        .unwrap_or_else(|| panic!("no stats line: {out}"));
    // The scenario's client makes 5 probes (live_table_streams_rows_and_summary).
    assert_eq!(stats, 5, "one line per probe, then the stats: {out}");
    for l in &lines[..stats] {
        let f: Vec<&str> = l.split(' ').collect();
        assert!(f.len() >= 7, "{l}");
        assert!(f[2].starts_with("192.0.2.100:"), "{l}");
    }
    assert!(
        lines[..stats]
            .iter()
            .any(|l| l.contains(" tls example.test ") && l.ends_with(":443 mismatch")),
        "{out}"
    );
    assert!(!out.contains("Client "), "no per-client summary: {out}");
    assert!(out.contains("libpcap: "), "{out}");
}

#[test]
fn live_verbose_adds_the_details_under_each_row() {
    if !root_or_skip("live_verbose_adds_the_details_under_each_row") {
        return;
    }
    let net = Net::up("pwlivv");
    let (child, _) = start_probewatch(&net, &["--width", "120", "-v"]);
    net.clients();
    let (code, out) = stop_with(child, Some(Signal::SIGTERM));
    assert_eq!(code, 0);
    for want in [
        "chosen by the server",
        "ALPN offered:",
        "server certificate: ",
        "issuer ",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    assert!(
        out.contains("Client 192.0.2.100: 5 probes, 1 mismatch"),
        "the summary stays: {out}"
    );
}

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success());
}

#[test]
fn live_w_to_a_named_pipe_without_a_reader_is_ended_by_ctrl_c() {
    if !root_or_skip("live_w_to_a_named_pipe_without_a_reader_is_ended_by_ctrl_c") {
        return;
    }
    let net = Net::up("pwlivp");
    let fifo = net.dir.join("out.fifo");
    mkfifo(&fifo);
    // Opening a named pipe for writing waits for a reader; none comes.
    let child = Command::new("ip")
        .args(["netns", "exec", &net.cli_ns(), bin(), "-i", "cli0", "-w"])
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let pid = Pid::from_raw(child.id() as i32);
    kill(pid, Signal::SIGINT).unwrap();
    let out = wait_output(child);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert_eq!(
        err.trim_end(),
        format!(
            "probewatch: interrupted while waiting for a program to open the other end of the pipe {}; nothing was read",
            fifo.display()
        )
    );
}

#[test]
fn live_w_to_a_named_pipe_writes_packets_as_they_come() {
    if !root_or_skip("live_w_to_a_named_pipe_writes_packets_as_they_come") {
        return;
    }
    let net = Net::up("pwlivq");
    let fifo = net.dir.join("out.fifo");
    let got = net.dir.join("got.pcap");
    mkfifo(&fifo);
    // The reader: a program that copies the pipe into a file as the bytes arrive.
    let mut reader = Command::new("sh")
        .arg("-c")
        .arg(format!("cat '{}' > '{}'", fifo.display(), got.display()))
        .spawn()
        .unwrap();
    let (child, _) = start_probewatch(&net, &["--format", "json", "-w", fifo.to_str().unwrap()]);
    net.clients();
    // While probewatch still runs: the quiet interface sent what -w held through the pipe
    // (the write buffer is not kept until it fills or the capture ends).
    let deadline = Instant::now() + Duration::from_secs(5);
    let size = || std::fs::metadata(&got).map_or(0, |m| m.len());
    while size() < 1000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        size() >= 1000,
        "only {} bytes came through the pipe while capturing",
        size()
    );
    let (code, out) = stop(child);
    assert_eq!(code, 0);
    assert!(reader.wait().unwrap().success());
    // What came through the pipe, read back, holds the same probes.
    let offline = run(&["-r", got.to_str().unwrap(), "--format", "json"]);
    assert_eq!(offline.code, 0, "{}", offline.stderr);
    let key = |o: &&Value| {
        format!(
            "{} {} {} {}",
            o["proto"], o["name"], o["port"], o["verdict"]
        )
    };
    let mut live_keys: Vec<String> = of_type(&lines(&out), "probe").iter().map(key).collect();
    let mut file_keys: Vec<String> = of_type(&lines(&offline.stdout), "probe")
        .iter()
        .map(key)
        .collect();
    live_keys.sort();
    file_keys.sort();
    assert!(!live_keys.is_empty());
    assert_eq!(live_keys, file_keys);
    // The file's header: nanosecond pcap, Ethernet, the snapshot length probewatch opened
    // the interface with (its banner's).
    let bytes = std::fs::read(&got).unwrap();
    assert_eq!(bytes[..4], 0xa1b2_3c4du32.to_le_bytes());
    assert_eq!(bytes[20..24], 1u32.to_le_bytes());
    assert_eq!(bytes[16..20], 65_535u32.to_le_bytes());
}

#[test]
fn live_w_that_cannot_be_written_stops_with_the_reason_and_reports_what_came_before() {
    if !root_or_skip(
        "live_w_that_cannot_be_written_stops_with_the_reason_and_reports_what_came_before",
    ) {
        return;
    }
    let net = Net::up("pwlivr");
    // /dev/full: every write fails with ENOSPC, as a full disk does.
    let (child, _) = start_probewatch(&net, &["--format", "json", "-w", "/dev/full"]);
    net.clients();
    let out = wait_output(child);
    let err = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // It stops by itself, at the first write of the buffer (the interface is quiet after
    // the clients), with one sentence and exit 2, after the report and the stats.
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.lines().last().unwrap(),
        "probewatch: cannot write the capture to /dev/full: no space left on the device; give -w a file in a directory that exists and is writable"
    );
    let v = lines(&stdout);
    assert_eq!(of_type(&v, "stats").len(), 1, "{stdout}");
    assert!(
        of_type(&v, "stats")[0]["capture"]["received"]
            .as_u64()
            .unwrap()
            > 0
    );
}

/// Waits up to 10 s for a child to exit by itself, and returns what it wrote.
fn wait_output(child: Child) -> std::process::Output {
    let pid = Pid::from_raw(child.id() as i32);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = kill(pid, Signal::SIGKILL);
            panic!("probewatch did not exit within 10 s");
        }
    }
}

/// `-i nflog` (libpcap's netfilter log source: no link state, no netdev) was refused:
/// "the interface is down; bring it up first (`ip link set nflog up`)", advice that
/// cannot work, and `-i nflog:5` (NFLOG group 5, as tcpdump takes it) was "no such
/// interface" (black-box finding). Both capture, and a quiet one stops at --duration.
#[test]
fn live_capture_on_nflog_starts_and_stops() {
    if !root_or_skip("live_capture_on_nflog_starts_and_stops") {
        return;
    }
    let listed = run(&["-D"]);
    if !listed.stdout.lines().any(|l| l.contains(".nflog ")) {
        eprintln!(
            "skipped: libpcap lists no nflog source here:\n{}",
            listed.stdout
        );
        return;
    }
    for source in ["nflog", "nflog:5"] {
        let r = run(&["-i", source, "--duration", "1s", "-q"]);
        assert_eq!(r.code, 0, "{source}: {}", r.stderr);
        assert!(
            r.stderr
                .starts_with(&format!("probewatch: listening on {source}, link type 239")),
            "{}",
            r.stderr
        );
        assert!(r.stdout.starts_with("Stats: 0 packets"), "{}", r.stdout);
    }
}
