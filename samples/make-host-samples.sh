#!/usr/bin/env bash
# Regenerate samples/dual-stack.pcap and samples/behind-router.pcap: one machine that
# uses IPv4 and IPv6 (curl -4 / -6, as Happy Eyeballs and Outlook's Autodiscover
# fan-out do), and the same traffic seen behind a router, where every client address
# arrives with the router's MAC.  Real programs (nginx, dnsmasq, curl) in throw-away
# network namespaces, captured with tcpdump.  Run as root:
#
#     sudo samples/make-host-samples.sh
#
#   dual-stack.pcap    captured on the laptop's link (MAC 02:00:00:00:0d:10): the laptop
#                      (198.51.100.10 and 2001:db8:1::10) asks autodiscover.example.com
#                      over IPv4 and example.com over IPv6, then a second machine on the
#                      same link (198.51.100.11, its own MAC) asks example.com
#   behind-router.pcap captured on the router's server side: the laptop and a second
#                      IPv4 client (198.51.100.12) behind one router MAC
#
# Only documentation addresses are used; every address lives inside a namespace created
# here.  Self-contained on purpose (a shared netns library is being extracted on
# another branch).
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwhost-srv     # servers (nginx, dnsmasq)
NS_RTR=pwhost-rtr     # the router between the LAN and the servers
NS_A=pwhost-a         # the dual-stack laptop
NS_B=pwhost-b         # a second machine on the LAN
ALL_NS="$NS_A $NS_B $NS_RTR $NS_SRV"
W=""
CAP_PID=""

log() { printf '[make-host-samples] %s\n' "$*" >&2; }
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
  for p in $CAP_PID; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
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
W="$(mktemp -d /tmp/probewatch-hosts.XXXXXX)"
C="$W/certs"
mkdir -p "$C" "$W/nginx-tmp"

log "generating certificates"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$C/ca.key" -out "$C/ca.crt" -days 3650 \
  -subj "/O=Probewatch Samples/CN=Probewatch Host Root CA" -sha256 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
# One certificate for the mail host, the names of the Autodiscover fan-out on it.
openssl req -new -newkey rsa:2048 -nodes -keyout "$C/mail.key" -out "$C/mail.csr" \
  -subj "/O=Probewatch Samples/CN=autodiscover.example.com" 2>/dev/null
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
  "extendedKeyUsage=serverAuth" "subjectAltName=DNS:autodiscover.example.com,DNS:example.com" >"$C/mail.ext"
openssl x509 -req -sha256 -days 365 -in "$C/mail.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" \
  -CAcreateserial -extfile "$C/mail.ext" -out "$C/mail.crt" 2>/dev/null

# --------------------------------------------------------------------------
# network: A and B on a LAN bridge in the router namespace; router -- servers
# --------------------------------------------------------------------------
log "creating namespaces"
for ns in $ALL_NS; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
    net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0
done
ip netns exec "$NS_B" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip netns exec "$NS_RTR" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n "$NS_RTR" link add lan type bridge
ip -n "$NS_RTR" link set lan up
ip link add eth0 netns "$NS_A" address 02:00:00:00:0d:10 type veth peer name port-a netns "$NS_RTR"
ip link add eth0 netns "$NS_B" address 02:00:00:00:0d:11 type veth peer name port-b netns "$NS_RTR"
ip link add up0 netns "$NS_RTR" address 02:00:00:00:0d:01 type veth \
  peer name down0 netns "$NS_SRV" address 02:00:00:00:0d:02
for pair in "$NS_A eth0" "$NS_B eth0" "$NS_RTR port-a" "$NS_RTR port-b" "$NS_RTR up0" "$NS_SRV down0"; do
  set -- $pair
  ip netns exec "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
  ip -n "$1" link set "$2" up
done
ip -n "$NS_RTR" link set port-a master lan
ip -n "$NS_RTR" link set port-b master lan
ip -n "$NS_RTR" addr add 198.51.100.1/24 dev lan
ip -n "$NS_RTR" addr add 2001:db8:1::1/64 dev lan nodad
ip -n "$NS_RTR" addr add 203.0.113.1/30 dev up0
ip -n "$NS_RTR" addr add 2001:db8:ff::1/64 dev up0 nodad
ip -n "$NS_SRV" addr add 203.0.113.2/30 dev down0
ip -n "$NS_SRV" addr add 2001:db8:ff::2/64 dev down0 nodad
for a in 192.0.2.20 192.0.2.53; do ip -n "$NS_SRV" addr add "$a/32" dev lo; done
for a in 2001:db8:2::20 2001:db8:2::53; do ip -n "$NS_SRV" addr add "$a/128" dev lo nodad; done
ip -n "$NS_SRV" route add 198.51.100.0/24 via 203.0.113.1
ip -n "$NS_SRV" -6 route add 2001:db8:1::/64 via 2001:db8:ff::1
ip -n "$NS_RTR" route add 192.0.2.0/24 via 203.0.113.2
ip -n "$NS_RTR" -6 route add 2001:db8:2::/64 via 2001:db8:ff::2
ip -n "$NS_A" addr add 198.51.100.10/24 dev eth0
ip -n "$NS_A" addr add 2001:db8:1::10/64 dev eth0 nodad
ip -n "$NS_A" route add default via 198.51.100.1
ip -n "$NS_A" -6 route add default via 2001:db8:1::1
ip -n "$NS_B" addr add 198.51.100.11/24 dev eth0
ip -n "$NS_B" route add default via 198.51.100.1
for ns in $NS_A $NS_B; do
  mkdir -p "/etc/netns/$ns"
  printf 'nameserver 192.0.2.53\n' >"/etc/netns/$ns/resolv.conf"
  printf '127.0.0.1 localhost\n' >"/etc/netns/$ns/hosts"
done

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
  --bind-interfaces --listen-address=192.0.2.53 --local=/example.com/ --local-ttl=300 \
  --host-record=autodiscover.example.com,192.0.2.20,2001:db8:2::20 \
  --host-record=example.com,192.0.2.20,2001:db8:2::20 2>"$W/dnsmasq.err" &
wait_listen "$NS_SRV" u 192.0.2.53:53
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
    listen 192.0.2.20:443 ssl;
    listen [2001:db8:2::20]:443 ssl;
    server_name autodiscover.example.com example.com;
    ssl_certificate $C/mail.crt;
    ssl_certificate_key $C/mail.key;
    location / { return 200 "autodiscover\n"; }
  }
}
EOF
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>>"$W/nginx-error.log" &
wait_listen "$NS_SRV" t 192.0.2.20:443
wait_listen "$NS_SRV" t '[2001:db8:2::20]:443'

# one capture on the laptop's bridge port, one on the router's server side, at once
cap() {  # cap NS IFACE OUT: starts tcpdump, adds its pid to CAP_PID
  ip netns exec "$1" tcpdump -Z root -U --immediate-mode -i "$2" -w "$3" 'tcp or udp port 53' \
    >/dev/null 2>"$3.log" &
  CAP_PID="$CAP_PID $!"
  local i
  for i in $(seq 1 100); do
    grep -q 'listening on' "$3.log" 2>/dev/null && return 0
    sleep 0.1
  done
  die "capture did not start: $(cat "$3.log")"
}
# The LAN capture sees the laptop and B (tcpdump on the bridge sees every frame of the
# LAN, with the machines' own MACs); the upstream one sees them behind the router.
cap "$NS_RTR" lan "$W/dual-stack.pcap"
cap "$NS_RTR" up0 "$W/behind-router.pcap"
sleep 0.3
URL=autodiscover/autodiscover.xml
fetch() {  # fetch NS CURL-ARGS... URL
  local ns=$1 code
  shift
  code=$(ip netns exec "$ns" curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
    --cacert "$C/ca.crt" "$@") || die "curl $*: failed"
  [ "$code" = 200 ] || die "curl $*: HTTP $code"
  sleep 0.3
}
log "fetching"
fetch "$NS_A" -4 "https://autodiscover.example.com/$URL"
fetch "$NS_A" -6 "https://example.com/$URL"
fetch "$NS_B" -4 "https://example.com/$URL"
sleep 1.2
for p in $CAP_PID; do kill -INT "$p"; wait "$p" || true; done
CAP_PID=""

ts() { tshark -n -r "$@" 2>/dev/null; }
for f in dual-stack behind-router; do
  n=$(ts "$W/$f.pcap" -Y 'tls.handshake.type==1' | wc -l)
  [ "$n" = 3 ] || die "$f.pcap: expected 3 ClientHellos, found $n"
done
ts "$W/dual-stack.pcap" -Y 'ipv6 && eth.src==02:00:00:00:0d:10 && tls.handshake.type==1' | grep -q . \
  || die "dual-stack.pcap: no IPv6 ClientHello from the laptop's MAC"
ts "$W/behind-router.pcap" -Y 'eth.src==02:00:00:00:0d:10' | grep -q . \
  && die "behind-router.pcap: the laptop's own MAC must not appear behind the router"
cp "$W/dual-stack.pcap" "$SAMPLES_DIR/dual-stack.pcap"
cp "$W/behind-router.pcap" "$SAMPLES_DIR/behind-router.pcap"
cp "$C/ca.crt" "$SAMPLES_DIR/hosts-ca.pem"
log "wrote samples/dual-stack.pcap, samples/behind-router.pcap and samples/hosts-ca.pem"
