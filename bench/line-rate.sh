#!/usr/bin/env bash
# Live capture at line rate: replays the benchmark capture at top speed (tcpreplay
# --topspeed) over a veth pair between two network namespaces and captures it on the far
# end, once with `probewatch -i` and once with `tcpdump -i … -w /dev/null`, each run
# replaying the same file the same way, then prints for each: the rate the replay reached
# (packets/s, Gbit/s), the packets the kernel dropped (probewatch: `capture.dropped` of
# its JSON stats line; tcpdump: "dropped by kernel"), peak RSS, and for probewatch the TLS
# handshakes it found against the ClientHellos in the file.
#
#   sudo bench/line-rate.sh [FILE]     (default /var/tmp/probewatch-bench.pcap; make it with
#                                      sudo bench/make-capture.sh)
#   RUNS=3 sudo bench/line-rate.sh     (each tool RUNS times, alternating; default 1)
#   PW_ARGS='-B 64' TCPDUMP_ARGS='-B 32768' sudo bench/line-rate.sh
#                                      (more options for either: buffer sizes, filters)
#   PPS=150000 sudo bench/line-rate.sh (replay at that fixed rate instead of top speed: on
#                                      a small machine the sender shares the CPUs with the
#                                      capture, so top speed is not the same for both tools)
#   PW=path/to/probewatch              (default target/release/probewatch, built here when
#                                      cargo is on PATH)
#
# Needs root (namespaces, raw capture); installs tcpreplay, tcpdump and GNU time with
# apt-get when they are missing. The namespaces (pwlr-tx, pwlr-rx) are removed on exit,
# also on failure or Ctrl-C. The ClientHellos in FILE are counted once with tshark
# (`tls.handshake.type == 1`, frames) and kept beside it in FILE.hellos; without tshark
# the count is probewatch's own reading of the file (-r), and the output says so.
set -euo pipefail
cd "$(dirname "$0")/.."
FILE=${1:-/var/tmp/probewatch-bench.pcap}
RUNS=${RUNS:-1}
PPS=${PPS:-}
PW_ARGS=${PW_ARGS:-}
TCPDUMP_ARGS=${TCPDUMP_ARGS:-}
NS_TX=pwlr-tx NS_RX=pwlr-rx
export NN_TAG=line-rate NN_NAMESPACES="$NS_TX $NS_RX"
# shellcheck source=scripts/netns.sh
. scripts/netns.sh

nn_require_root
[ -f "$FILE" ] || die "$FILE does not exist; make it with: sudo bench/make-capture.sh"
case $RUNS in ''|*[!0-9]*|0) die "RUNS must be a whole number of runs, 1 or more (not '$RUNS')" ;; esac
case $PPS in '') ;; *[!0-9]*|0*) die "PPS must be packets per second, a whole number above 0 (not '$PPS')" ;; esac
speed=(--topspeed)
[ -n "$PPS" ] && speed=(--pps="$PPS")
nn_tools install tcpreplay=tcpreplay tcpdump=tcpdump ip=iproute2 ethtool=ethtool python3=python3
[ -x /usr/bin/time ] || nn_tools install /usr/bin/time=time
if [ -z "${PW:-}" ]; then
  if command -v cargo >/dev/null 2>&1; then
    log "building target/release/probewatch"
    cargo build --release --locked -q
  fi
  PW=$PWD/target/release/probewatch
fi
[ -x "$PW" ] || die "$PW is not there: build it with cargo build --release, or set PW"

nn_trap "the namespaces were removed"
nn_teardown
W=$(mktemp -d /tmp/probewatch-line-rate.XXXXXX)
chmod 755 "$W"   # probewatch writes its output as nobody once the interface is open

# The ClientHellos in the file (tshark, once per file version).
stamp="$(stat -c '%s %Y' "$FILE")"
hellos="" hellos_by=""
if [ -f "$FILE.hellos" ] && [ "$(sed -n 1p "$FILE.hellos")" = "$stamp" ]; then
  hellos=$(sed -n 2p "$FILE.hellos"); hellos_by=tshark
elif command -v tshark >/dev/null 2>&1; then
  log "counting the ClientHellos in $FILE with tshark (once; kept in $FILE.hellos)"
  hellos=$(tshark -n -r "$FILE" -Y 'tls.handshake.type == 1' -T fields -e frame.number 2>/dev/null | wc -l)
  printf '%s\n%s\n' "$stamp" "$hellos" >"$FILE.hellos" 2>/dev/null || true
  hellos_by=tshark
else
  log "no tshark: counting the ClientHellos with probewatch -r (its own reading of the file)"
  hellos=$("$PW" -r "$FILE" --format json --no-progress |
    python3 -c 'import json,sys; print(sum(1 for l in sys.stdin if (o:=json.loads(l))["type"]=="probe" and o["proto"]=="tls" and (o["tls"] or {}).get("ja4")))')
  hellos_by="probewatch -r"
fi

log "network: $NS_TX/veth-tx -> $NS_RX/veth-rx"
nn_ns_add "$NS_TX" "$NS_RX"
nn_veth "$NS_TX" veth-tx "$NS_RX" veth-rx
# Frames up to the capture's own snapshot length go through (offloads are off).
ip -n "$NS_TX" link set veth-tx mtu 65535
ip -n "$NS_RX" link set veth-rx mtu 65535
cat "$FILE" >/dev/null   # the page cache holds the file for every run alike

# wait_for LOG PID: until LOG says the capture is on (both tools print "listening on").
wait_for() {
  local i
  for i in $(seq 1 100); do
    grep -q 'listening on' "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { cat "$1" >&2; die "the capture ended before it started"; }
    sleep 0.1
  done
  cat "$1" >&2
  die "the capture did not start within 10 s"
}

# replay: tcpreplay at top speed (or PPS); its summary in $W/replay.txt.
replay() {
  ip netns exec "$NS_TX" tcpreplay "${speed[@]}" -i veth-tx "$FILE" >"$W/replay.txt" 2>&1 ||
    { cat "$W/replay.txt" >&2; die "tcpreplay failed"; }
}

# run TOOL N: one capture with TOOL during one replay; figures in $W/TOOL.N.*
run() {
  local tool=$1 n=$2 timer child
  local out="$W/$tool.$n"
  if [ "$tool" = probewatch ]; then
    # shellcheck disable=SC2086  # PW_ARGS are words
    ip netns exec "$NS_RX" /usr/bin/time -f '%M' -o "$out.rss" \
      "$PW" -i veth-rx --format json --no-progress $PW_ARGS >"$out.json" 2>"$out.err" &
  else
    # shellcheck disable=SC2086
    ip netns exec "$NS_RX" /usr/bin/time -f '%M' -o "$out.rss" \
      tcpdump -n -i veth-rx -w /dev/null $TCPDUMP_ARGS >"$out.out" 2>"$out.err" &
  fi
  timer=$!
  wait_for "$out.err" "$timer"
  # The tool is the child of time (`ip netns exec` execs time): it is the one to stop,
  # with SIGINT as Ctrl-C would; time ignores SIGINT while it waits. nn_trap's exit stops
  # it too if this run fails or is interrupted.
  child=$(pgrep -P "$timer" | head -n 1 || true)
  [ -n "$child" ] || die "cannot find the $tool process under time (pid $timer)"
  CAP_PID=$child
  replay
  cp "$W/replay.txt" "$out.replay"
  sleep 2   # the tool drains what the kernel still holds
  kill -INT "$child" 2>/dev/null || true
  wait "$timer" 2>/dev/null || true
  CAP_PID=""
}

for n in $(seq 1 "$RUNS"); do
  log "run $n/$RUNS: probewatch -i veth-rx${PW_ARGS:+ $PW_ARGS}"
  run probewatch "$n"
  log "run $n/$RUNS: tcpdump -i veth-rx -w /dev/null${TCPDUMP_ARGS:+ $TCPDUMP_ARGS}"
  run tcpdump "$n"
done

python3 - "$W" "$RUNS" "$FILE" "$hellos" "$hellos_by" "$PW_ARGS" "$TCPDUMP_ARGS" "${speed[*]}" <<'PY'
import json, re, sys
w, runs, file, hellos, hellos_by, pw_args, td_args, speed = sys.argv[1:9]
runs, hellos = int(runs), int(hellos)

def replay(path):
    t = open(path).read()
    m = re.search(r"Actual: (\d+) packets \((\d+) bytes\) sent in ([\d.]+) seconds", t)
    pkts, byts, secs = int(m.group(1)), int(m.group(2)), float(m.group(3))
    failed = re.search(r"Failed packets:\s+(\d+)", t)
    return pkts, byts, secs, int(failed.group(1)) if failed else 0

def rss(path):
    try:
        return int(open(path).read().split()[-1]) / 1024
    except (OSError, ValueError, IndexError):
        return float("nan")

rows = []
for n in range(1, runs + 1):
    for tool in ("probewatch", "tcpdump"):
        base = f"{w}/{tool}.{n}"
        pkts, byts, secs, failed = replay(base + ".replay")
        r = {"tool": tool, "run": n, "pps": pkts / secs, "gbps": byts * 8 / secs / 1e9,
             "sent": pkts, "failed": failed, "rss": rss(base + ".rss")}
        if tool == "probewatch":
            stats, found = None, 0
            for line in open(base + ".json"):
                o = json.loads(line)
                if o.get("type") == "probe" and o.get("proto") == "tls" and (o.get("tls") or {}).get("ja4"):
                    found += 1
                elif o.get("type") == "stats":
                    stats = o
            cap = (stats or {}).get("capture") or {}
            r.update(received=cap.get("received"), dropped=cap.get("dropped"),
                     if_dropped=cap.get("if_dropped"), found=found)
        else:
            err = open(base + ".err").read()
            def num(pat):
                m = re.search(r"(\d+) packets? " + pat, err)
                return int(m.group(1)) if m else None
            r.update(received=num("received by filter"), dropped=num("dropped by kernel"),
                     if_dropped=num("dropped by interface"), found=None)
        rows.append(r)

print(f"line rate: {file} replayed with tcpreplay {speed} over a veth pair, {runs} run(s) per tool")
print(f"  ClientHellos in the file: {hellos} ({hellos_by})")
if pw_args or td_args:
    print(f"  options: probewatch {pw_args or '(defaults)'}; tcpdump {td_args or '(defaults)'}")
print(f"  {'tool':<11}{'run':>4}{'packets/s':>12}{'Gbit/s':>8}{'sent':>9}{'received':>10}"
      f"{'kernel drops':>14}{'if drops':>10}{'handshakes':>12}{'peak RSS':>11}")
for r in rows:
    hs = f"{r['found']}/{hellos}" if r["found"] is not None else "-"
    fmt = lambda v: "n/a" if v is None else str(v)
    print(f"  {r['tool']:<11}{r['run']:>4}{r['pps']:>12,.0f}{r['gbps']:>8.2f}{r['sent']:>9}"
          f"{fmt(r['received']):>10}{fmt(r['dropped']):>14}{fmt(r['if_dropped']):>10}{hs:>12}"
          f"{r['rss']:>8.0f} MiB")
for r in rows:
    if r["failed"]:
        print(f"  note: tcpreplay could not send {r['failed']} packets in {r['tool']} run {r['run']}")
pw = [r for r in rows if r["tool"] == "probewatch"]
td = [r for r in rows if r["tool"] == "tcpdump"]
worst = lambda rs: max((r["dropped"] or 0) for r in rs)
print(f"  kernel drops, worst run: probewatch {worst(pw)}, tcpdump {worst(td)}; "
      f"handshakes found, worst run: {min(r['found'] for r in pw)} of {hellos}; "
      f"peak RSS, worst run: {max(r['rss'] for r in pw):.0f} MiB")
PY
