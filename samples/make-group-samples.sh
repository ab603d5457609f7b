#!/usr/bin/env bash
# Make the attempt-group sample captures in samples/ (issue 4) with real programs:
# dnsmasq, nginx, curl and dig talking inside throw-away network namespaces,
# captured with tcpdump.  Run as root, independently of make-samples.sh (which it
# never touches; its captures stay byte-for-byte as committed):
#
#     sudo samples/make-group-samples.sh
#
# It writes two files:
#   autodiscover-redirect.pcap  the Outlook/Exchange Autodiscover sequence, in
#                               Outlook's order, by a client that verifies certificates
#   autoconfig.pcap             the Thunderbird-style autoconfig sequence
#
# Only documentation addresses are used (198.51.100.0/24 client, 192.0.2.0/24
# servers) and every address lives in a namespace made here: no packet leaves the
# machine.  Everything is torn down on exit; the captures are copied into samples/
# only when both were made and passed the checks at the end.
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwgrp-srv
NS_C=pwgrp-c4
ALL_NS="$NS_C $NS_SRV"
FILTER='tcp or udp port 53'
W=""
CAP_PID=""
CAP_OUT=""

log() { printf '[make-group-samples] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must be run as root (sudo $0)"

declare -A PKG_OF=(
  [ip]=iproute2 [ss]=iproute2 [tcpdump]=tcpdump [nginx]=nginx [dnsmasq]=dnsmasq-base
  [openssl]=openssl [curl]=curl [dig]=bind9-dnsutils [ethtool]=ethtool [tshark]=tshark
)
missing=()
for cmd in "${!PKG_OF[@]}"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("${PKG_OF[$cmd]}"); done
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" ca-certificates >/dev/null
fi

# --------------------------------------------------------------------------
# teardown (also clears leftovers of an interrupted run)
# --------------------------------------------------------------------------
teardown() {
  local ns pid
  for ns in $ALL_NS; do
    if [ -e "/run/netns/$ns" ]; then
      # every process in these namespaces was started by this script
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
W="$(mktemp -d /tmp/probewatch-group-samples.XXXXXX)"
C="$W/certs"; OUT="$W/out"
mkdir -p "$C" "$OUT" "$W/nginx-tmp" "$W/www"

# --------------------------------------------------------------------------
# certificates (same subjects, SANs and serials as make-samples.sh)
# --------------------------------------------------------------------------
log "generating certificates"
mkcert() {  # mkcert NAME SUBJECT SERIAL ISSUER(self|NAME) EXTENSION-LINES...
  local name=$1 subj=$2 serial=$3 issuer=$4; shift 4
  printf '%s\n' "$@" >"$C/$name.ext"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$C/$name.key" 2>/dev/null
  openssl req -new -key "$C/$name.key" -subj "$subj" -out "$C/$name.csr"
  if [ "$issuer" = self ]; then
    openssl x509 -req -sha256 -days 3650 -set_serial "$serial" -in "$C/$name.csr" \
      -signkey "$C/$name.key" -extfile "$C/$name.ext" -out "$C/$name.crt" 2>/dev/null
  else
    openssl x509 -req -sha256 -days 3650 -set_serial "$serial" -in "$C/$name.csr" \
      -CA "$C/$issuer.crt" -CAkey "$C/$issuer.key" -extfile "$C/$name.ext" \
      -out "$C/$name.crt" 2>/dev/null
  fi
}
mkleaf() {  # mkleaf NAME CN SAN SERIAL
  mkcert "$1" "/O=Probewatch Samples/CN=$2" "$4" ca \
    "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" \
    "subjectAltName=$3"
}
mkcert ca "/O=Probewatch Samples/CN=Probewatch Sample Root CA" 0x01 self \
  "basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign" "subjectKeyIdentifier=hash"
mkleaf ex7 ex7.mailhost.example DNS:ex7.mailhost.example 0x1001
mkleaf wild-com '*.example.com' 'DNS:*.example.com' 0x1002

# --------------------------------------------------------------------------
# network: client namespace -- veth -- server namespace (gateway + all servers)
# --------------------------------------------------------------------------
log "creating namespaces"
SRV4=(192.0.2.10 192.0.2.30 192.0.2.35 192.0.2.53)
for ns in $ALL_NS; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
ip netns exec "$NS_C" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip link add eth0 netns "$NS_C" address 02:00:00:00:04:10 type veth \
  peer name veth-c4 netns "$NS_SRV" address 02:00:00:00:04:01
for pair in "$NS_C eth0" "$NS_SRV veth-c4"; do
  set -- $pair
  ip netns exec "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
  ip -n "$1" link set "$2" up
done
ip -n "$NS_SRV" addr add 198.51.100.1/24 dev veth-c4
for a in "${SRV4[@]}"; do ip -n "$NS_SRV" addr add "$a/32" dev lo; done
ip -n "$NS_C" addr add 198.51.100.10/24 dev eth0
ip -n "$NS_C" route add default via 198.51.100.1
mkdir -p "/etc/netns/$NS_C" "/etc/netns/$NS_SRV"
for ns in $ALL_NS; do
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

# --------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------
log "starting dnsmasq"
# autodiscover.example.com is a CNAME for the hosting provider's box (a common setup)
ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$W/dnsmasq.pid" --user=root --group=root \
  --no-resolv --no-hosts --no-poll --bind-interfaces --listen-address=192.0.2.53 \
  --local=/example.com/ --local=/mailhost.example/ --local-ttl=300 \
  --log-queries --log-facility="$W/dnsmasq.log" \
  --host-record=ex7.mailhost.example,192.0.2.10 \
  --host-record=example.com,192.0.2.30 \
  --host-record=autoconfig.example.com,192.0.2.35 \
  --cname=autodiscover.example.com,ex7.mailhost.example \
  --srv-host=_autodiscover._tcp.example.com,ex7.mailhost.example,443,10,10 \
  2>"$W/dnsmasq.err" &
wait_listen "$NS_SRV" u 192.0.2.53:53

log "starting nginx"
cat >"$W/www/config-v1.1.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1"><emailProvider id="example.com"><domain>example.com</domain>
<incomingServer type="imap"><hostname>ex7.mailhost.example</hostname><port>993</port>
<socketType>SSL</socketType><username>%EMAILADDRESS%</username></incomingServer>
</emailProvider></clientConfig>
EOF
cat >"$W/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
pid $W/nginx.pid;
error_log $W/nginx-error.log warn;
events { worker_connections 64; }
http {
  access_log $W/nginx-access.log;
  client_body_temp_path $W/nginx-tmp/body;
  proxy_temp_path $W/nginx-tmp/proxy;
  fastcgi_temp_path $W/nginx-tmp/fastcgi;
  uwsgi_temp_path $W/nginx-tmp/uwsgi;
  scgi_temp_path $W/nginx-tmp/scgi;
  default_type text/plain;
  server_tokens off;
  keepalive_timeout 5;
  ssl_protocols TLSv1.2;
  ssl_session_tickets off;
  # the hosting provider's mailbox front end
  server {
    listen 192.0.2.10:443 ssl;
    server_name ex7.mailhost.example;
    ssl_certificate $C/ex7.crt;
    ssl_certificate_key $C/ex7.key;
    # static files refuse POST (405): answer the Autodiscover POST with a fixed body
    location = /autodiscover/autodiscover.xml {
      default_type text/xml;
      return 200 '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"/>\n';
    }
    location / { return 404; }
  }
  # Exchange's "HTTP redirect method": plain HTTP on the autodiscover name answers 302
  server {
    listen 192.0.2.10:80;
    location / { return 302 https://ex7.mailhost.example/autodiscover/autodiscover.xml; }
  }
  # the company web site: wildcard certificate, does not cover the apex example.com
  server {
    listen 192.0.2.30:443 ssl;
    ssl_certificate $C/wild-com.crt;
    ssl_certificate_key $C/wild-com.key;
    location / { return 404; }
  }
  server {
    listen 192.0.2.30:80;
    location = /.well-known/autoconfig/mail/config-v1.1.xml { default_type text/xml; alias $W/www/config-v1.1.xml; }
    location / { return 404; }
  }
  # autoconfig.example.com: plain HTTP only (port 443 closed: connection refused)
  server {
    listen 192.0.2.35:80;
    location / { return 404; }
  }
}
EOF
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>>"$W/nginx-error.log" &
wait_listen "$NS_SRV" t 192.0.2.10:443
wait_listen "$NS_SRV" t 192.0.2.35:80

# --------------------------------------------------------------------------
# capture helpers
# --------------------------------------------------------------------------
cap_start() {  # cap_start OUTFILE
  local out=$1 i
  CAP_OUT=$out
  ip netns exec "$NS_C" tcpdump -Z root -U -i eth0 -w "$out" "$FILTER" 2>"$out.log" &
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
  sleep 0.7
  kill -INT "$CAP_PID"
  wait "$CAP_PID" || true
  CAP_PID=""
  log "  $(basename "$CAP_OUT"): $(grep -h 'packets captured' "$CAP_OUT.log" | head -1)"
}
inc() { ip netns exec "$NS_C" "$@"; }
# a client that verifies certificates against the test CA, like a mail client would
CURL=(curl -sS --max-time 10 --tls-max 1.2 --cacert "$C/ca.crt" -o /dev/null -w '%{http_code}')
step() { sleep 0.3; }
expect() {  # expect WANT-EXIT WANT-HTTP-CODE CMD...
  local want_rc=$1 want_code=$2 rc=0 got; shift 2
  got=$("$@" 2>"$W/curl.err") || rc=$?
  [ "$rc" = "$want_rc" ] && [ "$got" = "$want_code" ] ||
    die "expected exit $want_rc / HTTP $want_code, got exit $rc / '$got' from: $* ($(cat "$W/curl.err"))"
}
cat >"$W/request.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>joe@example.com</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>
EOF
POST_AD=(-X POST -H 'Content-Type: text/xml' --data-binary "@$W/request.xml")

# --------------------------------------------------------------------------
# autodiscover-redirect.pcap: Outlook's order for joe@example.com
#   1. https://example.com/autodiscover/autodiscover.xml      (*.example.com: rejected, exit 60)
#   2. https://autodiscover.example.com/autodiscover/...      (CNAME to ex7: rejected, exit 60)
#   3. http://autodiscover.example.com/autodiscover/...       (302, followed to ex7: 200)
#   4. SRV _autodiscover._tcp.example.com, then its target   (ex7: 200)
# --------------------------------------------------------------------------
log "capturing autodiscover-redirect.pcap"
cap_start "$OUT/autodiscover-redirect.pcap"
expect 60 000 inc "${CURL[@]}" "${POST_AD[@]}" https://example.com/autodiscover/autodiscover.xml
step
expect 60 000 inc "${CURL[@]}" "${POST_AD[@]}" https://autodiscover.example.com/autodiscover/autodiscover.xml
step
expect 0 200 inc "${CURL[@]}" -L http://autodiscover.example.com/autodiscover/autodiscover.xml
step
inc dig +tries=1 +time=3 SRV _autodiscover._tcp.example.com >"$W/dig-srv.out"
grep -q 'ANSWER: 1,' "$W/dig-srv.out" || die "SRV query not answered"
target=$(awk '$4 == "SRV" {print $8}' "$W/dig-srv.out" | sed 's/\.$//')
port=$(awk '$4 == "SRV" {print $7}' "$W/dig-srv.out")
[ "$target:$port" = "ex7.mailhost.example:443" ] || die "unexpected SRV answer $target:$port"
step
expect 0 200 inc "${CURL[@]}" "${POST_AD[@]}" "https://$target:$port/autodiscover/autodiscover.xml"
cap_stop

# --------------------------------------------------------------------------
# autoconfig.pcap: Thunderbird's order for joe@example.com
#   1. https://autoconfig.example.com/mail/config-v1.1.xml    (port 443 closed: RST, exit 7)
#   2. http://autoconfig.example.com/mail/config-v1.1.xml     (404)
#   3. https://example.com/.well-known/autoconfig/mail/...    (*.example.com: rejected, exit 60)
#   4. http://example.com/.well-known/autoconfig/mail/...     (200, the config)
# --------------------------------------------------------------------------
log "capturing autoconfig.pcap"
Q='?emailaddress=joe%40example.com'
cap_start "$OUT/autoconfig.pcap"
expect 7 000 inc "${CURL[@]}" "https://autoconfig.example.com/mail/config-v1.1.xml$Q"
step
expect 0 404 inc "${CURL[@]}" "http://autoconfig.example.com/mail/config-v1.1.xml$Q"
step
expect 60 000 inc "${CURL[@]}" "https://example.com/.well-known/autoconfig/mail/config-v1.1.xml$Q"
step
expect 0 200 inc "${CURL[@]}" "http://example.com/.well-known/autoconfig/mail/config-v1.1.xml$Q"
cap_stop

# --------------------------------------------------------------------------
# checks (tshark), then publish
# --------------------------------------------------------------------------
log "checking captures"
ts() { tshark -n -r "$@" 2>/dev/null; }
check() { [ "$2" = "$3" ] || die "check failed: $1: want '$2', got '$3'"; }
f=$OUT/autodiscover-redirect.pcap
check "autodiscover SNIs" "example.com autodiscover.example.com ex7.mailhost.example ex7.mailhost.example" \
  "$(ts "$f" -Y 'tls.handshake.type==1' -T fields -e tls.handshake.extensions_server_name | xargs)"
check "autodiscover redirect" "https://ex7.mailhost.example/autodiscover/autodiscover.xml" \
  "$(ts "$f" -Y 'http.response.code==302' -T fields -e http.location)"
check "autodiscover CNAME" "ex7.mailhost.example" \
  "$(ts "$f" -Y 'dns.flags.response==1 && dns.qry.type==1 && dns.qry.name=="autodiscover.example.com"' -T fields -e dns.cname | head -1)"
check "autodiscover SRV" "ex7.mailhost.example" \
  "$(ts "$f" -Y 'dns.flags.response==1 && dns.qry.type==33' -T fields -e dns.srv.target)"
check "autodiscover no app data to example.com" "0" \
  "$(ts "$f" -Y 'ip.dst==192.0.2.30 && tls.record.content_type==23' | wc -l)"
f=$OUT/autoconfig.pcap
check "autoconfig RST" "1" "$(ts "$f" -Y 'ip.src==192.0.2.35 && tcp.srcport==443 && tcp.flags.reset==1' | wc -l)"
check "autoconfig hosts" "autoconfig.example.com example.com" \
  "$(ts "$f" -Y http.request -T fields -e http.host | xargs)"
check "autoconfig SNI" "example.com" "$(ts "$f" -Y 'tls.handshake.type==1' -T fields -e tls.handshake.extensions_server_name)"
for f in autodiscover-redirect.pcap autoconfig.pcap; do
  install -m 0644 "$OUT/$f" "$SAMPLES_DIR/$f"
done
log "done: $(cd "$SAMPLES_DIR" && ls -l autodiscover-redirect.pcap autoconfig.pcap | awk '{print $NF" "$5}' | xargs)"
