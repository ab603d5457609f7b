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
#      completed TLS 1.2 handshake, then killed (so its FIN always comes first); while
#      it waits (after 11 s):
#   4. curl with a CA it does not trust, TLS 1.2 and TLS 1.3 (OpenSSL sends its
#      unknown_ca alert in the clear in both)
#   5. a SYN answered by a bare ACK: the server still holds an older connection from the
#      same client port (the client's network namespace was torn down under it), so it
#      answers the new SYN with a challenge ACK (RFC 5961 §4), the client resets, and
#      its next SYN from the same port connects
#
# Only documentation addresses are used (198.51.100.0/24 client, 192.0.2.0/24
# servers); every address lives inside a namespace created here.  The capture and the
# root go into SAMPLES_OUT (default samples/) only when the checks at the end passed:
#
#     sudo SAMPLES_OUT=/tmp/regen samples/make-outcome-samples.sh   # elsewhere
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwout-srv
NS_C=pwout-c
export NN_TAG=make-outcome-samples NN_NAMESPACES="$NS_C $NS_SRV"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"
SRV12=192.0.2.12   # nginx, TLS 1.2 only
SRV13=192.0.2.13   # nginx, TLS 1.3 only
DNS=192.0.2.53
CLIENT=198.51.100.10   # nn_client_net's client address
NAME12=outcome12.example.org
NAME13=outcome13.example.org

nn_require_root
nn_tools install ip=iproute2 ss=iproute2 tcpdump=tcpdump tshark=tshark mergecap=wireshark-common \
  nginx=nginx openssl=openssl curl=curl dnsmasq=dnsmasq-base python3=python3 ethtool=ethtool

nn_samples_out
nn_trap "$SAMPLES_OUT left unchanged"
nn_teardown   # leftovers of an interrupted run
nn_workdir /tmp/probewatch-outcomes.XXXXXX
mkdir -p "$W/parts"

# --------------------------------------------------------------------------
# certificates: a sample root and one leaf per server
# --------------------------------------------------------------------------
log "generating certificates"
nn_cert ca "/O=Probewatch Samples/CN=Probewatch Outcome Root CA" rsa:2048 - self "${NN_CA_EXT[@]}"
for n in $NAME12 $NAME13; do NN_CERT_DAYS=825 nn_leaf "$n" "$n" "DNS:$n" - ca; done

# --------------------------------------------------------------------------
# network
# --------------------------------------------------------------------------
client_ns() {  # client_ns [ADDR...]: (re)creates the client namespace and its link to the
  # server namespace (the ADDRs: the servers' addresses, the first time)
  nn_ns_add "$NS_C"
  nn_no_ipv6 "$NS_C"
  nn_client_net "$NS_C" "$NS_SRV" "nameserver $DNS\n" "$@"
}
log "creating namespaces"
nn_ns_add "$NS_SRV"
nn_no_ipv6 "$NS_SRV"
client_ns "$SRV12" "$SRV13" "$DNS"

log "starting dnsmasq and nginx"
ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$W/dnsmasq.pid" --user=root --group=root --no-resolv --no-hosts --no-poll \
  --bind-interfaces --listen-address=$DNS --local=/example.org/ --local-ttl=300 \
  --host-record=$NAME12,$SRV12 --host-record=$NAME13,$SRV13 2>"$W/dnsmasq.err" &
nn_wait_listen "$NS_SRV" u $DNS:53
{
# worker_connections 256 as before, not the head's 64: s_time makes hundreds of connections a second
nn_nginx_head | sed 's/worker_connections 64;/worker_connections 256;/'
cat <<EOF
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
} >"$W/nginx.conf"
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>"$W/nginx.err" &
nn_wait_listen "$NS_SRV" t $SRV12:443
nn_wait_listen "$NS_SRV" t $SRV13:443

# --------------------------------------------------------------------------
# capture helpers (on the server's end of the client link)
# --------------------------------------------------------------------------
cap_start() { nn_cap_start "$NS_SRV" veth-c4 "$1" 'tcp or udp port 53'; }  # cap_start OUTFILE
cap_stop() { nn_cap_stop 1.2; }
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
log "s_client idle 13 s after the handshake, then killed; curl meanwhile"
# Killed, not quitting on EOF: on EOF it sends a close_notify, and nginx answered that
# with its own close_notify and FIN before s_client's FIN in about half of the runs, so
# which side closed first was a race. A killed s_client sends no alert: the kernel
# closes its socket (FIN) and nginx only follows.
# (-ign_eof: it stays connected at the end of its empty input until it is killed. Not
# through inc, a function, which would run in a subshell: ip netns exec becomes openssl,
# so $! is its pid.)
ip netns exec "$NS_C" openssl s_client -connect "$NAME12:443" -servername "$NAME12" -tls1_2 -ign_eof \
  -CAfile "$C/ca.crt" -verify_return_error </dev/null >"$W/sclient-idle.out" 2>"$W/sclient-idle.err" &
IDLE_PID=$!
( sleep 13; kill -TERM "$IDLE_PID" ) &
KILL_PID=$!
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
wait "$KILL_PID" || true
wait "$IDLE_PID" || true   # killed on purpose
# stderr is unbuffered (stdout was lost with the process): the leaf verified
grep -q '^depth=0 .*' "$W/sclient-idle.err" && ! grep -q 'verify error' "$W/sclient-idle.err" \
  || die "s_client (idle) did not verify: $(cat "$W/sclient-idle.err")"
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
NN_NAMESPACES=$NS_C nn_teardown
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
first_fin=$(ts -Y "tcp.port==$idle_port && tcp.flags.fin==1" -T fields -e tcp.srcport | head -1)
[ "$first_fin" = "$idle_port" ] || die "the idle s_client's connection was closed first by the server"
install -m 0644 "$F" "$SAMPLES_OUT/handshake-outcomes.pcap"
# the sample root, for --ca-file (a certificate only: its key is not kept)
install -m 0644 "$C/ca.crt" "$SAMPLES_OUT/handshake-outcomes-ca.pem"
log "wrote $SAMPLES_OUT/handshake-outcomes.pcap ($(stat -c %s "$F") bytes)"
