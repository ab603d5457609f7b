#!/usr/bin/env bash
# Times probewatch on the benchmark capture next to the libpcap read floor
# (`tcpdump -r FILE -w /dev/null`) and tshark extracting the SNI of every ClientHello,
# in the same run, and prints the figures and ratios.
#
#   bench/run.sh [FILE]          (default /var/tmp/probewatch-bench.pcap; make it with
#                                 sudo bench/make-capture.sh)
#   RUNS=3 bench/run.sh          (best of RUNS for each tool; default 3, tshark once)
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

# measure NAME RUNS CMD... : best wall time (s) and the peak RSS (KiB) of that run
measure() {
  local name=$1 runs=$2 best="" rss=0 i; shift 2
  for i in $(seq 1 "$runs"); do
    /usr/bin/time -f '%e %M %U %S' -o "$T/time" "$@" >"$T/$name.out" 2>"$T/$name.err" || true
    read -r s k u y <"$T/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($s < $best)}"; then best=$s; rss=$k; cpu=$(awk "BEGIN{print $u + $y}"); fi
  done
  echo "$best $rss $cpu"
}

cat "$FILE" >/dev/null   # the page cache holds the file for every tool alike
bytes=$(stat -c %s "$FILE")
read -r floor_s floor_k floor_c < <(measure tcpdump "$RUNS" tcpdump -n -r "$FILE" -w /dev/null)
read -r pw_s pw_k pw_c < <(measure probewatch "$RUNS" "$PW" -r "$FILE" --format json --no-progress)
read -r ts_s ts_k ts_c < <(measure tshark 1 tshark -n -r "$FILE" -Y 'tls.handshake.type == 1' \
  -T fields -e tls.handshake.extensions_server_name)

python3 - "$T" "$bytes" "$floor_s" "$floor_k" "$pw_s" "$pw_k" "$ts_s" "$ts_k" "$floor_c" "$pw_c" "$ts_c" <<'PY'
import json, sys
t, size = sys.argv[1], int(sys.argv[2])
floor_s, floor_k, pw_s, pw_k, ts_s, ts_k, floor_c, pw_c, ts_c = map(float, sys.argv[3:12])
stats, hellos, probes = None, 0, 0
for line in open(f"{t}/probewatch.out"):
    o = json.loads(line)
    if o["type"] == "probe":
        probes += 1
        if o["proto"] in ("tls", "quic") and o["tls"] and o["tls"]["ja4"]:
            hellos += 1
    elif o["type"] == "stats":
        stats = o
pkts = stats["packets"]
tshark_hellos = sum(1 for l in open(f"{t}/tshark.out"))
mb = size / 1e6
print(f"capture: {mb:.0f} MB, {pkts} packets")
print(f"{'':24}{'seconds':>9}{'cpu s':>8}{'MB/s':>8}{'packets/s':>12}{'peak RSS':>13}")
for name, s, c, k in (("tcpdump -r -w /dev/null", floor_s, floor_c, floor_k), ("probewatch", pw_s, pw_c, pw_k), ("tshark (SNI)", ts_s, ts_c, ts_k)):
    print(f"{name:24}{s:9.2f}{c:8.2f}{mb / s:8.0f}{pkts / s:12.0f}{k / 1024:9.1f} MiB")
print(f"probewatch: {hellos} ClientHellos ({hellos / pw_s:.0f} handshakes/s), {probes} probes")
print(f"tshark:     {tshark_hellos} ClientHellos")
print(f"ratios: probewatch / libpcap read floor = {pw_s / floor_s:.2f}x (target <= 2); "
      f"tshark / probewatch = {ts_s / pw_s:.0f}x (target >= 50); "
      f"ClientHellos {'equal' if hellos == tshark_hellos else 'DIFFER'}; "
      f"peak RSS {pw_k / 1024:.0f} MiB (target < 100)")
PY
