#!/usr/bin/env bash
# Regenerate samples/handshake-outcomes.pcap: how TLS connections end, made by real
# programs (nginx, openssl s_time / s_client, curl, dnsmasq, python3) in throw-away
# network namespaces and captured with tcpdump.  Run as root:
#
#     sudo samples/make-outcome-samples.sh
#
# The capture holds, in this order (each a fact the tests check):
#   1. openssl s_time -new, TLS 1.2 and TLS 1.3: handshake-only clients (the first 3
#      connections of each run are kept; s_time makes hundreds a second)
#   2. openssl s_client quitting with Q, TLS 1.2 and TLS 1.3
#   3. openssl s_client idle for 13 s (longer than the 10 s probe timeout) after a
#      completed TLS 1.2 handshake, then closing; while it waits (after 11 s):
#   4. curl with a CA it does not trust, TLS 1.2 and TLS 1.3 (OpenSSL sends its
#      unknown_ca alert in the clear in both)
#   5. a SYN answered by a bare ACK: the server still holds an older connection from the
#      same client port (the client's network namespace was torn down under it), so it
#      answers the new SYN with a challenge ACK (RFC 5961 §4), the client resets, and
#      its next SYN from the same port connects
#
# Only documentation addresses are used (198.51.100.0/24 client, 192.0.2.0/24
# servers); every address lives inside a namespace created here.  Self-contained on
# purpose (a shared netns library is being extracted on another branch).
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwout-srv
NS_C=pwout-c
ALL_NS="$NS_C $NS_SRV"
W=""
CAP_PID=""
CAP_OUT=""
SRV12=192.0.2.12   # nginx, TLS 1.2 only
SRV13=192.0.2.13   # nginx, TLS 1.3 only
DNS=192.0.2.53
CLIENT=198.51.100.10
NAME12=outcome12.example.org
NAME13=outcome13.example.org

log() { printf '[make-outcome-samples] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must be run as root (sudo $0)"
for cmd in ip ss tcpdump tshark mergecap nginx openssl curl dnsmasq python3 ethtool; do
  command -v "$cmd" >/dev/null 2>&1 || die "$cmd is needed (apt-get install iproute2 tcpdump tshark nginx openssl curl dnsmasq-base python3 ethtool)"
done

teardown() {
  local ns pid
  for ns in $ALL_NS; do
    if [ -e "/run/netns/$ns" ]; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
      for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
        sleep 0.2
      done
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    fi
    rm -rf "/etc/netns/$ns"
  done
  rmdir /etc/netns 2>/dev/null || true
}
on_exit() {
  local rc=$?
  set +e
  if [ -n "$CAP_PID" ]; then kill -INT "$CAP_PID" 2>/dev/null; wait "$CAP_PID" 2>/dev/null; fi
  teardown
  if [ -n "$W" ]; then
    if [ -n "${KEEP_WORK:-}" ]; then log "work dir kept: $W"; else rm -rf "$W"; fi
  fi
  if [ $rc -ne 0 ]; then log "FAILED (exit $rc); samples/ left unchanged"; fi
  exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT TERM

teardown
W="$(mktemp -d /tmp/probewatch-outcomes.XXXXXX)"
C="$W/certs"
mkdir -p "$C" "$W/nginx-tmp" "$W/parts"

# --------------------------------------------------------------------------
# certificates: a sample root and one leaf per server
# --------------------------------------------------------------------------
log "generating certificates"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$C/ca.key" -out "$C/ca.crt" -days 3650 \
  -subj "/O=Probewatch Samples/CN=Probewatch Outcome Root CA" -sha256 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
for n in $NAME12 $NAME13; do
  openssl req -new -newkey rsa:2048 -nodes -keyout "$C/$n.key" -out "$C/$n.csr" \
    -subj "/O=Probewatch Samples/CN=$n" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectAltName=DNS:$n" >"$C/$n.ext"
  openssl x509 -req -sha256 -days 825 -in "$C/$n.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" \
    -CAcreateserial -extfile "$C/$n.ext" -out "$C/$n.crt" 2>/dev/null
done

# --------------------------------------------------------------------------
# network
# --------------------------------------------------------------------------
client_ns() {  # (re)creates the client namespace and its link to the server namespace
  ip netns add "$NS_C"
  ip -n "$NS_C" link set lo up
  ip netns exec "$NS_C" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip link add eth0 netns "$NS_C" address 02:00:00:00:0b:10 type veth \
    peer name veth-c netns "$NS_SRV" address 02:00:00:00:0b:01
  ip netns exec "$NS_C" ethtool -K eth0 tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
  ip netns exec "$NS_SRV" ethtool -K veth-c tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
  ip -n "$NS_C" link set eth0 up
  ip -n "$NS_SRV" link set veth-c up
  ip -n "$NS_SRV" addr add 198.51.100.1/24 dev veth-c
  ip -n "$NS_C" addr add "$CLIENT/24" dev eth0
  ip -n "$NS_C" route add default via 198.51.100.1
  mkdir -p "/etc/netns/$NS_C"
  printf 'nameserver %s\n' "$DNS" >"/etc/netns/$NS_C/resolv.conf"
  printf '127.0.0.1 localhost\n' >"/etc/netns/$NS_C/hosts"
}
log "creating namespaces"
ip netns add "$NS_SRV"
ip -n "$NS_SRV" link set lo up
ip netns exec "$NS_SRV" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
for a in $SRV12 $SRV13 $DNS; do ip -n "$NS_SRV" addr add "$a/32" dev lo; done
client_ns

wait_listen() {  # wait_listen NS PROTO(t|u) ADDR:PORT
  local i
  for i in $(seq 1 100); do
    ip netns exec "$1" ss -Hln"$2" | awk '{print $4}' | grep -qxF "$3" && return 0
    sleep 0.1
  done
  die "nothing listening on $3 ($2) in $1"
}

log "starting dnsmasq and nginx"
ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$W/dnsmasq.pid" --user=root --group=root --no-resolv --no-hosts --no-poll \
  --bind-interfaces --listen-address=$DNS --local=/example.org/ --local-ttl=300 \
  --host-record=$NAME12,$SRV12 --host-record=$NAME13,$SRV13 2>"$W/dnsmasq.err" &
wait_listen "$NS_SRV" u $DNS:53
cat >"$W/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
pid $W/nginx.pid;
error_log $W/nginx-error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $W/nginx-tmp/body;
  proxy_temp_path $W/nginx-tmp/proxy;
  fastcgi_temp_path $W/nginx-tmp/fastcgi;
  uwsgi_temp_path $W/nginx-tmp/uwsgi;
  scgi_temp_path $W/nginx-tmp/scgi;
  default_type text/plain;
  server_tokens off;
  ssl_session_tickets off;
  ssl_session_cache off;
  client_header_timeout 120s;
  server {
    listen $SRV12:443 ssl;
    server_name $NAME12;
    ssl_protocols TLSv1.2;
    ssl_certificate $C/$NAME12.crt;
    ssl_certificate_key $C/$NAME12.key;
    location / { return 200 "$NAME12\n"; }
  }
  server {
    listen $SRV13:443 ssl;
    server_name $NAME13;
    ssl_protocols TLSv1.3;
    ssl_certificate $C/$NAME13.crt;
    ssl_certificate_key $C/$NAME13.key;
    location / { return 200 "$NAME13\n"; }
  }
}
EOF
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>>"$W/nginx-error.log" &
wait_listen "$NS_SRV" t $SRV12:443
wait_listen "$NS_SRV" t $SRV13:443

# --------------------------------------------------------------------------
# capture helpers (on the server's end of the client link)
# --------------------------------------------------------------------------
cap_start() {  # cap_start OUTFILE
  local out=$1 i
  CAP_OUT=$out
  ip netns exec "$NS_SRV" tcpdump -Z root -U --immediate-mode -i veth-c -w "$out" 'tcp or udp port 53' 2>"$out.log" &
  CAP_PID=$!
  for i in $(seq 1 100); do
    grep -q 'listening on' "$out.log" 2>/dev/null && { sleep 0.3; return 0; }
    kill -0 "$CAP_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$out.log" >&2
  die "capture did not start for $out"
}
cap_stop() {
  sleep 1.2
  kill -INT "$CAP_PID"
  wait "$CAP_PID" || true
  CAP_PID=""
  log "  $(basename "$CAP_OUT"): $(grep -h 'packets captured' "$CAP_OUT.log" | head -1)"
}
inc() { ip netns exec "$NS_C" "$@"; }
P="$W/parts"

# 1. s_time -new: as many handshakes as it can in 1 s; keep the DNS lookup and the
#    first 3 connections
for v in 1_2 1_3; do
  name=$NAME12; [ $v = 1_3 ] && name=$NAME13
  log "s_time -new -tls$v"
  cap_start "$P/stime-$v-all.pcap"
  inc openssl s_time -connect "$name:443" -new -time 1 -tls$v -CAfile "$C/ca.crt" >"$W/stime-$v.out" 2>&1 \
    || die "s_time failed: $(cat "$W/stime-$v.out")"
  cap_stop
  # s_time looks the name up before every connection: keep the lookups before the 4th
  first4=$(tshark -r "$P/stime-$v-all.pcap" -Y 'tcp.stream == 3' -T fields -e frame.number 2>/dev/null | head -1)
  [ -n "$first4" ] || die "s_time -tls$v made fewer than 4 connections"
  tshark -r "$P/stime-$v-all.pcap" -Y "tcp.stream < 3 or (dns and frame.number < $first4)" \
    -w "$P/1-stime-$v.pcap" 2>/dev/null
  rm "$P/stime-$v-all.pcap" "$P/stime-$v-all.pcap.log"
done

# 2-4 in one capture
cap_start "$P/2-clients.pcap"
log "s_client quitting with Q"
for v in 1_2 1_3; do
  name=$NAME12; [ $v = 1_3 ] && name=$NAME13
  printf 'Q\n' | inc openssl s_client -connect "$name:443" -servername "$name" -tls$v \
    -CAfile "$C/ca.crt" -verify_return_error >"$W/sclient-$v.out" 2>&1 || die "s_client -tls$v failed"
  grep -q 'Verify return code: 0 (ok)' "$W/sclient-$v.out" || die "s_client -tls$v did not verify"
  sleep 0.3
done
log "s_client idle 13 s after the handshake, then closing; curl meanwhile"
( sleep 13 | inc openssl s_client -connect "$NAME12:443" -servername "$NAME12" -tls1_2 \
  -CAfile "$C/ca.crt" -verify_return_error >"$W/sclient-idle.out" 2>&1 ) &
IDLE_PID=$!
# 11 s later (past the 10 s probe timeout), other connections while it is still open
sleep 11
log "curl with a CA it does not trust"
for v in 1.2 1.3; do
  name=$NAME12; [ $v = 1.3 ] && name=$NAME13
  rc=0; inc curl -sS --max-time 10 -o /dev/null --tlsv$v --tls-max $v "https://$name/" \
    >/dev/null 2>"$W/curl-$v.err" || rc=$?
  [ "$rc" = 60 ] || die "expected curl exit 60 (certificate not trusted), got $rc: $(cat "$W/curl-$v.err")"
  sleep 0.3
done
wait "$IDLE_PID" || die "s_client (idle) failed: $(cat "$W/sclient-idle.out")"
grep -q 'Verify return code: 0 (ok)' "$W/sclient-idle.out" || die "s_client (idle) did not verify"
cap_stop

# 5. a stale server-side connection from client port 40443
log "SYN answered by a bare ACK"
inc python3 -c "
import socket, time
s = socket.create_connection(('$SRV12', 443), source_address=('$CLIENT', 40443))
time.sleep(60)
" 2>/dev/null &
STALE_PID=$!
for _ in $(seq 1 50); do
  ip netns exec "$NS_SRV" ss -Htn state established "( sport = :443 and dport = :40443 )" | grep -q . && break
  sleep 0.1
done
ip netns exec "$NS_SRV" ss -Htn state established "( sport = :443 and dport = :40443 )" | grep -q . \
  || die "the first connection from port 40443 is not established"
# Tear the client's side down without a word on the wire: the link goes first.
ip -n "$NS_C" link del eth0
kill -9 "$STALE_PID" 2>/dev/null || true
wait "$STALE_PID" 2>/dev/null || true
teardown_client() {
  local pid
  for pid in $(ip netns pids "$NS_C" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  ip netns del "$NS_C"
  rm -rf "/etc/netns/$NS_C"
}
teardown_client
client_ns
ip netns exec "$NS_SRV" ss -Htn state established "( sport = :443 and dport = :40443 )" | grep -q . \
  || die "the server forgot the first connection"
cap_start "$P/3-bare-ack.pcap"
code=$(inc curl -sS --max-time 10 -o /dev/null -w '%{http_code}' --local-port 40443 --tlsv1.2 --tls-max 1.2 \
  --cacert "$C/ca.crt" "https://$NAME12/") || die "curl from port 40443 failed"
[ "$code" = 200 ] || die "expected HTTP 200 from port 40443, got $code"
cap_stop

mergecap -F pcap -w "$W/handshake-outcomes.pcap" "$P"/1-stime-1_2.pcap "$P"/1-stime-1_3.pcap \
  "$P"/2-clients.pcap "$P"/3-bare-ack.pcap

# --------------------------------------------------------------------------
# checks on the capture
# --------------------------------------------------------------------------
F="$W/handshake-outcomes.pcap"
ts() { tshark -n -r "$F" "$@" 2>/dev/null; }
n=$(ts -Y 'tls.handshake.type==1' | wc -l)
[ "$n" -ge 11 ] || die "expected at least 11 ClientHellos, found $n"
ts -Y 'tcp.srcport==443 && tcp.dstport==40443 && tcp.flags==0x010 && !tcp.analysis.acks_frame' | grep -q . \
  || die "no bare ACK to the SYN from port 40443"
ts -Y 'tcp.srcport==40443 && tcp.flags.reset==1' | grep -q . || die "the client did not reset"
ts -Y 'tls.alert_message.desc==48' | grep -q . || die "no plaintext unknown_ca alert"
# the idle s_client's FIN comes more than 10 s after its handshake
idle_port=$(ts -Y "tls.handshake.type==1 && tls.handshake.extensions_server_name==\"$NAME12\"" \
  -T fields -e tcp.srcport | sed -n 2p)
ts -Y "tcp.srcport==$idle_port && tcp.flags.fin==1" | grep -q . || die "the idle s_client's FIN is not in the capture"
cp "$F" "$SAMPLES_DIR/handshake-outcomes.pcap"
# the sample root, for --ca-file (a certificate only: its key is not kept)
cp "$C/ca.crt" "$SAMPLES_DIR/handshake-outcomes-ca.pem"
log "wrote samples/handshake-outcomes.pcap ($(stat -c %s "$F") bytes)"
