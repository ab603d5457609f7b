#!/usr/bin/env bash
# Times probewatch on the benchmark capture next to the libpcap read floor
# (`tcpdump -r FILE -w /dev/null`) and tshark extracting the SNI of every ClientHello,
# in the same run, and prints the figures and ratios.
#
#   bench/run.sh [FILE]          (default /var/tmp/probewatch-bench.pcap; make it with
#                                 sudo bench/make-capture.sh)
#   RUNS=5 bench/run.sh          (median of RUNS for each tool, alternating; default 3,
#                                 tshark once)
#   THREADS=2 bench/run.sh       (probewatch --threads; default: one per core)
set -euo pipefail
cd "$(dirname "$0")/.."
FILE=${1:-/var/tmp/probewatch-bench.pcap}
RUNS=${RUNS:-3}
[ -f "$FILE" ] || { echo "bench: $FILE does not exist; make it with: sudo bench/make-capture.sh" >&2; exit 1; }
source scripts/deps.sh
need=()
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v tshark >/dev/null || need+=(tshark)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "bench: needs ${need[*]}: sudo apt-get install -y ${need[*]}" >&2; exit 1
  fi
fi
cargo build --release --locked -q
PW=$PWD/target/release/probewatch
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

# one NAME CMD... : appends "wall rss_kib cpu" of one run to $T/NAME.runs
one() {
  local name=$1; shift
  /usr/bin/time -f '%e %M %U %S' -o "$T/time" "$@" >"$T/$name.out" 2>"$T/$name.err" || true
  read -r s k u y <"$T/time"
  echo "$s $k $(awk "BEGIN{print $u + $y}")" >>"$T/$name.runs"
}

cat "$FILE" >/dev/null   # the page cache holds the file for every tool alike
bytes=$(stat -c %s "$FILE")
THREADS_ARG=()
[ -n "${THREADS:-}" ] && THREADS_ARG=(--threads "$THREADS")
# Alternating runs, so that the load of a shared machine falls on every tool alike.
for i in $(seq 1 "$RUNS"); do
  one tcpdump tcpdump -n -r "$FILE" -w /dev/null
  one probewatch "$PW" -r "$FILE" --format json --no-progress "${THREADS_ARG[@]}"
  one probewatch1 "$PW" -r "$FILE" --format json --no-progress --threads 1
done
one tshark tshark -n -r "$FILE" -Y 'tls.handshake.type == 1' \
  -T fields -e tls.handshake.extensions_server_name
load=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$T" "$bytes" "$load" "$(nproc)" <<'PY'
import json, statistics, sys
t, size, load, cores = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def runs(name):
    rows = [tuple(map(float, l.split())) for l in open(f"{t}/{name}.runs")]
    wall = statistics.median(r[0] for r in rows)
    # the peak RSS and CPU of the median run (the largest RSS of all runs for memory)
    med = min(rows, key=lambda r: abs(r[0] - wall))
    return wall, max(r[1] for r in rows), med[2], len(rows)
def read(name):
    stats, hellos, probes, names = None, 0, 0, set()
    for line in open(f"{t}/{name}.out"):
        o = json.loads(line)
        if o["type"] == "probe":
            probes += 1
            if o["proto"] in ("tls", "quic") and o["tls"] and o["tls"]["ja4"]:
                hellos += 1
                if o["name"]:
                    names.add(o["name"])
        elif o["type"] == "stats":
            stats = o
    return stats, hellos, probes, names
stats, hellos, probes, names = read("probewatch")
pkts, threads = stats["packets"], stats["threads"]
tshark_names = [l.strip() for l in open(f"{t}/tshark.out")]
tshark_hellos = len(tshark_names)
mb = size / 1e6
(fl_s, fl_k, fl_c, n), (pw_s, pw_k, pw_c, _), (p1_s, p1_k, p1_c, _), (ts_s, ts_k, ts_c, _) = (
    runs("tcpdump"), runs("probewatch"), runs("probewatch1"), runs("tshark"))
print(f"capture: {mb:.0f} MB, {pkts} packets; {cores} cores, load average {load}; median of {n} runs (tshark: 1)")
print(f"{'':30}{'seconds':>9}{'cpu s':>8}{'MB/s':>8}{'packets/s':>12}{'peak RSS':>13}")
for name, s, c, k in (("tcpdump -r F -w /dev/null", fl_s, fl_c, fl_k),
                      (f"probewatch ({threads} threads)", pw_s, pw_c, pw_k),
                      ("probewatch --threads 1", p1_s, p1_c, p1_k),
                      ("tshark (SNI)", ts_s, ts_c, ts_k)):
    print(f"{name:30}{s:9.2f}{c:8.2f}{mb / s:8.0f}{pkts / s:12.0f}{k / 1024:9.1f} MiB")
print(f"probewatch: {hellos} ClientHellos ({hellos / pw_s:.0f} handshakes/s), {probes} probes, {len(names)} names")
print(f"tshark:     {tshark_hellos} ClientHellos, {len(set(n for n in tshark_names if n))} names")
one = open(f"{t}/probewatch1.out").read().replace('"threads":1,', f'"threads":{threads},')
same = one == open(f"{t}/probewatch.out").read()
print(f"ratios: probewatch / tcpdump = {pw_s / fl_s:.2f}x (target <= 0.7); "
      f"tshark / probewatch = {ts_s / pw_s:.0f}x (target >= 50); "
      f"ClientHellos {'equal' if hellos == tshark_hellos else 'DIFFER'}; "
      f"names {'equal' if names == set(n for n in tshark_names if n) else 'DIFFER'}; "
      f"peak RSS {pw_k / 1024:.0f} MiB (target < 64); "
      f"JSON {'identical' if same else 'DIFFERS'} with --threads 1")
PY
