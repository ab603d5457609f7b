#!/usr/bin/env bash
# Regenerate samples/dav-discovery.pcap: CalDAV / CardDAV service discovery (RFC 6764)
# as a client does it, step by step with dig and curl against dnsmasq and nginx in
# throw-away network namespaces, captured with tcpdump.  Run as root:
#
#     sudo samples/make-dav-samples.sh
#
#   1. dig SRV _caldavs._tcp.dav.example: cal.dav.example port 443
#   2. https://cal.dav.example/.well-known/caldav: a 301 to /dav/calendars/, followed (200)
#   3. dig SRV _carddavs._tcp.dav.example: no such record
#   4. so the domain itself: https://dav.example/.well-known/carddav, which is the web
#      site (certificate www.dav.example only): curl refuses it
# samples/dav-ca.pem is the root of the sample certificates.
#
# Self-contained on purpose (a shared netns library is being extracted on another
# branch).
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwdav-srv
NS_C=pwdav-c
ALL_NS="$NS_C $NS_SRV"
W=""
CAP_PID=""
CAP_OUT=""
DNS=192.0.2.53
CLIENT=198.51.100.10
WEB=192.0.2.111       # dav.example's web site
CAL=192.0.2.110       # cal.dav.example

log() { printf '[make-dav-samples] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must be run as root (sudo $0)"
for cmd in ip ss tcpdump tshark nginx openssl curl dnsmasq dig ethtool; do
  command -v "$cmd" >/dev/null 2>&1 || die "$cmd is needed (apt-get install iproute2 tcpdump tshark nginx openssl curl dnsmasq-base bind9-dnsutils ethtool)"
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
W="$(mktemp -d /tmp/probewatch-dav.XXXXXX)"
C="$W/certs"
mkdir -p "$C" "$W/nginx-tmp"

# --------------------------------------------------------------------------
# certificates: a sample root; the web site's, the CalDAV server's
# --------------------------------------------------------------------------
log "generating certificates"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$C/ca.key" -out "$C/ca.crt" -days 3650 \
  -subj "/O=Probewatch Samples/CN=Probewatch DAV Root CA" -sha256 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
mkleaf() {  # mkleaf FILE CN SAN
  openssl req -new -newkey rsa:2048 -nodes -keyout "$C/$1.key" -out "$C/$1.csr" \
    -subj "/CN=$2" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectAltName=$3" >"$C/$1.ext"
  openssl x509 -req -sha256 -days 365 -in "$C/$1.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" \
    -CAcreateserial -extfile "$C/$1.ext" -out "$C/$1.crt" 2>/dev/null
}
mkleaf web www.dav.example "DNS:www.dav.example"
mkleaf cal cal.dav.example "DNS:cal.dav.example"

# --------------------------------------------------------------------------
# network
# --------------------------------------------------------------------------
log "creating namespaces"
ip netns add "$NS_SRV"
ip -n "$NS_SRV" link set lo up
ip netns exec "$NS_SRV" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
for a in $WEB $CAL $DNS; do ip -n "$NS_SRV" addr add "$a/32" dev lo; done
ip netns add "$NS_C"
ip -n "$NS_C" link set lo up
ip netns exec "$NS_C" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip link add eth0 netns "$NS_C" address 02:00:00:00:0f:10 type veth \
  peer name veth-c netns "$NS_SRV" address 02:00:00:00:0f:01
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
  --bind-interfaces --listen-address=$DNS --local=/dav.example/ --local-ttl=300 \
  --host-record=dav.example,$WEB --host-record=www.dav.example,$WEB \
  --host-record=cal.dav.example,$CAL \
  --srv-host=_caldavs._tcp.dav.example,cal.dav.example,443,0,1 2>"$W/dnsmasq.err" &
wait_listen "$NS_SRV" u $DNS:53
cat >"$W/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
pid $W/nginx.pid;
error_log $W/nginx-error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $W/nginx-tmp/body;
  proxy_temp_path $W/nginx-tmp/proxy;
  fastcgi_temp_path $W/nginx-tmp/fastcgi;
  uwsgi_temp_path $W/nginx-tmp/uwsgi;
  scgi_temp_path $W/nginx-tmp/scgi;
  default_type text/plain;
  server_tokens off;
  ssl_protocols TLSv1.2;
  server {
    listen $WEB:443 ssl;
    server_name _;
    ssl_certificate $C/web.crt;
    ssl_certificate_key $C/web.key;
    location / { return 200 "the dav.example web site\n"; }
  }
  server {
    listen $CAL:443 ssl;
    server_name _;
    ssl_certificate $C/cal.crt;
    ssl_certificate_key $C/cal.key;
    location = /.well-known/caldav { return 301 /dav/calendars/; }
    location /dav/ { return 200 "calendar home\n"; }
  }
}
EOF
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>>"$W/nginx-error.log" &
for a in $WEB:443 $CAL:443; do wait_listen "$NS_SRV" t "$a"; done

# --------------------------------------------------------------------------
# capture
# --------------------------------------------------------------------------
F="$W/dav-discovery.pcap"
CAP_OUT=$F
ip netns exec "$NS_SRV" tcpdump -Z root -U --immediate-mode -i veth-c -w "$F" 'tcp or udp port 53' 2>"$F.log" &
CAP_PID=$!
for _ in $(seq 1 100); do
  grep -q 'listening on' "$F.log" 2>/dev/null && break
  sleep 0.1
done
grep -q 'listening on' "$F.log" || die "capture did not start: $(cat "$F.log")"
sleep 0.3
dig_srv() {  # dig_srv NAME: the SRV answer as dig prints it
  ip netns exec "$NS_C" dig +short +time=3 +tries=1 SRV "$1"
}
srv=$(dig_srv _caldavs._tcp.dav.example)
[ "$srv" = "0 1 443 cal.dav.example." ] || die "step 1: SRV answer '$srv'"
sleep 0.3
code=$(ip netns exec "$NS_C" curl -sS --max-time 10 -L -o /dev/null -w '%{http_code}' --tls-max 1.2 \
  --cacert "$C/ca.crt" https://cal.dav.example/.well-known/caldav) || die "step 2 failed"
[ "$code" = 200 ] || die "step 2: expected 200 after the redirect, got $code"
sleep 0.3
srv=$(dig_srv _carddavs._tcp.dav.example)
[ -z "$srv" ] || die "step 3: expected no SRV record, got '$srv'"
sleep 0.3
rc=0
ip netns exec "$NS_C" curl -sS --max-time 10 -o /dev/null --tls-max 1.2 --cacert "$C/ca.crt" \
  https://dav.example/.well-known/carddav 2>"$W/curl4.err" || rc=$?
[ "$rc" = 60 ] || die "step 4: expected curl exit 60, got $rc: $(cat "$W/curl4.err")"
sleep 1.2
kill -INT "$CAP_PID"
wait "$CAP_PID" || true
CAP_PID=""
log "  dav-discovery.pcap: $(grep -h 'packets captured' "$F.log" | head -1)"

ts() { tshark -n -r "$F" "$@" 2>/dev/null; }
n=$(ts -Y 'tls.handshake.type==1' | wc -l)
[ "$n" = 2 ] || die "expected 2 ClientHellos, found $n"
ts -Y 'dns.qry.name=="_caldavs._tcp.dav.example" && dns.srv.target' | grep -q . || die "no SRV answer"
cp "$F" "$SAMPLES_DIR/dav-discovery.pcap"
cp "$C/ca.crt" "$SAMPLES_DIR/dav-ca.pem"
log "wrote samples/dav-discovery.pcap and samples/dav-ca.pem"
