#!/usr/bin/env bash
# Regenerate samples/m365-autodiscover.pcap: Outlook's Autodiscover order against a
# domain whose mailboxes are in Microsoft 365, as curl does it step by step (nginx,
# dnsmasq, curl in throw-away network namespaces; captured with tcpdump; the Microsoft
# names are served by local nginx inside the namespaces, nothing leaves the machine).
# Run as root:
#
#     sudo samples/make-m365-samples.sh
#
#   1. https://contoso.example/autodiscover/autodiscover.xml: the web site's certificate
#      (www.contoso.example only): curl refuses it
#   2. https://autodiscover.contoso.example/...: a CNAME to autodiscover.outlook.com, whose
#      certificate (*.outlook.com) does not name it: curl refuses it, by design
#   3. http://autodiscover.contoso.example/...: the redirect method, a 302 to
#      https://autodiscover-s.outlook.com/..., which curl follows (-L): 200
# samples/m365-ca.pem is the root of the stand-in certificates.
#
# Self-contained on purpose (a shared netns library is being extracted on another
# branch).
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwm365-srv
NS_C=pwm365-c
ALL_NS="$NS_C $NS_SRV"
W=""
CAP_PID=""
CAP_OUT=""
DNS=192.0.2.53
CLIENT=198.51.100.10
WEB=192.0.2.90        # contoso.example's web site
M365=192.0.2.100      # autodiscover.outlook.com
M365S=192.0.2.101     # autodiscover-s.outlook.com

log() { printf '[make-m365-samples] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must be run as root (sudo $0)"
for cmd in ip ss tcpdump tshark nginx openssl curl dnsmasq ethtool; do
  command -v "$cmd" >/dev/null 2>&1 || die "$cmd is needed (apt-get install iproute2 tcpdump tshark nginx openssl curl dnsmasq-base ethtool)"
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
W="$(mktemp -d /tmp/probewatch-m365.XXXXXX)"
C="$W/certs"
mkdir -p "$C" "$W/nginx-tmp"

# --------------------------------------------------------------------------
# certificates: one stand-in root; the web site's, *.outlook.com, autodiscover-s
# --------------------------------------------------------------------------
log "generating certificates"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$C/ca.key" -out "$C/ca.crt" -days 3650 \
  -subj "/O=Probewatch Samples/CN=Probewatch M365 Stand-in Root CA" -sha256 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
mkleaf() {  # mkleaf FILE CN SAN
  openssl req -new -newkey rsa:2048 -nodes -keyout "$C/$1.key" -out "$C/$1.csr" \
    -subj "/CN=$2" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectAltName=$3" >"$C/$1.ext"
  openssl x509 -req -sha256 -days 365 -in "$C/$1.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" \
    -CAcreateserial -extfile "$C/$1.ext" -out "$C/$1.crt" 2>/dev/null
}
mkleaf web www.contoso.example "DNS:www.contoso.example"
mkleaf outlook '*.outlook.com' "DNS:*.outlook.com,DNS:outlook.com"
mkleaf outlook-s autodiscover-s.outlook.com "DNS:autodiscover-s.outlook.com"

# --------------------------------------------------------------------------
# network
# --------------------------------------------------------------------------
log "creating namespaces"
ip netns add "$NS_SRV"
ip -n "$NS_SRV" link set lo up
ip netns exec "$NS_SRV" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
for a in $WEB $M365 $M365S $DNS; do ip -n "$NS_SRV" addr add "$a/32" dev lo; done
ip netns add "$NS_C"
ip -n "$NS_C" link set lo up
ip netns exec "$NS_C" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip link add eth0 netns "$NS_C" address 02:00:00:00:0e:10 type veth \
  peer name veth-c netns "$NS_SRV" address 02:00:00:00:0e:01
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
  --bind-interfaces --listen-address=$DNS --local=/contoso.example/ --local=/outlook.com/ \
  --local-ttl=300 \
  --host-record=contoso.example,$WEB --host-record=www.contoso.example,$WEB \
  --host-record=autodiscover.outlook.com,$M365 --host-record=autodiscover-s.outlook.com,$M365S \
  --cname=autodiscover.contoso.example,autodiscover.outlook.com 2>"$W/dnsmasq.err" &
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
    location / { return 200 "the contoso.example web site\n"; }
  }
  server {
    listen $M365:443 ssl;
    server_name _;
    ssl_certificate $C/outlook.crt;
    ssl_certificate_key $C/outlook.key;
    location / { return 401; }
  }
  server {
    listen $M365:80;
    server_name _;
    location /autodiscover/ { return 302 https://autodiscover-s.outlook.com/autodiscover/autodiscover.xml; }
  }
  server {
    listen $M365S:443 ssl;
    server_name _;
    ssl_certificate $C/outlook-s.crt;
    ssl_certificate_key $C/outlook-s.key;
    location / { return 200 "<Autodiscover/>\n"; }
  }
}
EOF
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>>"$W/nginx-error.log" &
for a in $WEB:443 $M365:443 $M365:80 $M365S:443; do wait_listen "$NS_SRV" t "$a"; done

# --------------------------------------------------------------------------
# capture
# --------------------------------------------------------------------------
F="$W/m365-autodiscover.pcap"
CAP_OUT=$F
ip netns exec "$NS_SRV" tcpdump -Z root -U --immediate-mode -i veth-c -w "$F" 'tcp or udp port 53' 2>"$F.log" &
CAP_PID=$!
for _ in $(seq 1 100); do
  grep -q 'listening on' "$F.log" 2>/dev/null && break
  sleep 0.1
done
grep -q 'listening on' "$F.log" || die "capture did not start: $(cat "$F.log")"
sleep 0.3
URL=autodiscover/autodiscover.xml
rc=0
ip netns exec "$NS_C" curl -sS --max-time 10 -o /dev/null --tls-max 1.2 --cacert "$C/ca.crt" \
  "https://contoso.example/$URL" 2>"$W/curl1.err" || rc=$?
[ "$rc" = 60 ] || die "step 1: expected curl exit 60, got $rc: $(cat "$W/curl1.err")"
sleep 0.3
rc=0
ip netns exec "$NS_C" curl -sS --max-time 10 -o /dev/null --tls-max 1.2 --cacert "$C/ca.crt" \
  "https://autodiscover.contoso.example/$URL" 2>"$W/curl2.err" || rc=$?
[ "$rc" = 60 ] || die "step 2: expected curl exit 60, got $rc: $(cat "$W/curl2.err")"
sleep 0.3
code=$(ip netns exec "$NS_C" curl -sS --max-time 10 -L -o /dev/null -w '%{http_code}' --tls-max 1.2 \
  --cacert "$C/ca.crt" "http://autodiscover.contoso.example/$URL") || die "step 3 failed"
[ "$code" = 200 ] || die "step 3: expected 200 after the redirect, got $code"
sleep 1.2
kill -INT "$CAP_PID"
wait "$CAP_PID" || true
CAP_PID=""
log "  m365-autodiscover.pcap: $(grep -h 'packets captured' "$F.log" | head -1)"

ts() { tshark -n -r "$F" "$@" 2>/dev/null; }
n=$(ts -Y 'tls.handshake.type==1' | wc -l)
[ "$n" = 3 ] || die "expected 3 ClientHellos, found $n"
ts -Y 'dns.cname=="autodiscover.outlook.com"' | grep -q . || die "no CNAME to autodiscover.outlook.com"
ts -Y 'http.response.code==302' | grep -q . || die "no 302"
cp "$F" "$SAMPLES_DIR/m365-autodiscover.pcap"
cp "$C/ca.crt" "$SAMPLES_DIR/m365-ca.pem"
log "wrote samples/m365-autodiscover.pcap and samples/m365-ca.pem"
