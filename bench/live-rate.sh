#!/usr/bin/env bash
# Live capture at line rate: replays the benchmark capture at top speed (tcpreplay
# --topspeed) onto a veth pair in a network namespace, once for `tcpdump -i` and once for
# each `probewatch -i --threads N`, and prints what the kernel received and dropped for
# each, the ClientHellos probewatch found and its peak RSS.
#
#   sudo bench/live-rate.sh [FILE]     (default /var/tmp/probewatch-bench.pcap, made by
#                                       sudo bench/make-capture.sh)
#   THREADS_LIST="1 2" sudo bench/live-rate.sh
#   PW_ARGS="-B 256" sudo bench/live-rate.sh     (more probewatch arguments)
#
# Both capture with a 32 MiB kernel buffer (probewatch's default -B; tcpdump -B 32768).
set -euo pipefail
cd "$(dirname "$0")/.."
FILE=${1:-/var/tmp/probewatch-bench.pcap}
THREADS_LIST=${THREADS_LIST:-"1 2"}
NS=pwrate
[ "$(id -u)" = 0 ] || { echo "live-rate: needs root (network namespace, live capture): sudo $0" >&2; exit 1; }
[ -f "$FILE" ] || { echo "live-rate: $FILE does not exist; make it with: sudo bench/make-capture.sh" >&2; exit 1; }
need=()
command -v tcpreplay >/dev/null || need+=(tcpreplay)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v ip >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
cargo build --release --locked -q
BIN=$PWD/target/release/probewatch
W=$(mktemp -d /tmp/probewatch-rate.XXXXXX)
CAP=""
cleanup() {
  set +e
  [ -n "$CAP" ] && kill -INT "$CAP" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
ip -n "$NS" link add ra0 type veth peer name ra1
ip -n "$NS" link set ra0 up
ip -n "$NS" link set ra1 up
cat "$FILE" >/dev/null

# replay: sends the capture once at top speed; prints tcpreplay's rate line
replay() {
  ip netns exec "$NS" tcpreplay -i ra0 --topspeed "$FILE" >"$W/tcpreplay.log" 2>&1
  grep -E "Rated:" "$W/tcpreplay.log" | head -1 | sed 's/^ *//'
}
# wait_for FILE TEXT: until the capture says it listens
wait_for() {
  for _ in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  cat "$1" >&2; return 1
}

echo "live-rate: $(stat -c %s "$FILE") bytes, load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
ip netns exec "$NS" tcpdump -n -i ra1 -B 32768 -w /dev/null 2>"$W/tcpdump.err" &
CAP=$!
wait_for "$W/tcpdump.err" "listening on"
rate=$(replay)
sleep 2
tdcpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$CAP/stat")
kill -INT "$CAP"; wait "$CAP" || true; CAP=""
rate="$tdcpu s CPU; $rate"
printf '%-26s %s; %s\n' "tcpdump -i" "$(grep -E 'received by filter|dropped by kernel' "$W/tcpdump.err" | tr '\n' ' ' | sed 's/ *$//')" "$rate"

for t in $THREADS_LIST; do
  # shellcheck disable=SC2086
  ip netns exec "$NS" "$BIN" -i ra1 --format json --threads "$t" ${PW_ARGS:-} >"$W/pw.json" 2>"$W/pw.err" &
  CAP=$!
  wait_for "$W/pw.err" "listening on"
  rate=$(replay)
  sleep 2
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$CAP/status")
  # CPU seconds so far (user + system), to tell a slow pipeline from a starved one
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$CAP/stat")
  kill -INT "$CAP"; wait "$CAP" || true; CAP=""
  python3 - "$W/pw.json" "$hwm" "$t" "$rate" "$cpu" <<'PY'
import json, sys
hellos, stats = 0, None
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "probe" and o["proto"] in ("tls", "quic") and o["tls"] and o["tls"]["ja4"]:
        hellos += 1
    elif o["type"] == "stats":
        stats = o
k = stats["capture"]
print(f"{'probewatch -i --threads ' + sys.argv[3]:26} {k['received']} received, {k['dropped']} dropped by kernel; "
      f"{stats['threads']} threads ran, {hellos} ClientHellos, peak RSS {int(sys.argv[2]) / 1024:.1f} MiB, "
      f"{sys.argv[5]} s CPU; {sys.argv[4]}")
PY
done
