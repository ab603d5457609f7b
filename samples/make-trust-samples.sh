#!/usr/bin/env bash
# Regenerate samples/trust.pcap: certificate chains a client rejects for reasons other
# than the name, and names by address and IDN, served by nginx and fetched by curl in
# throw-away network namespaces,
# captured with tcpdump.  Dated certificates are made with `openssl ca -startdate
# -enddate`.  Run as root:
#
#     sudo samples/make-trust-samples.sh
#
# The capture holds, in this order (TLS 1.2, so the certificates are visible):
#   1. expired.trust.example: a leaf that expired on 2021-01-01 (curl -k)
#   2. future.trust.example: a leaf valid from 2036-01-01 (curl -k)
#   3. nochain.trust.example: a leaf whose intermediate the server does not send (curl
#      given the root fails: unable to get local issuer certificate)
#   4. chain.trust.example: the same kind of leaf with its intermediate (curl: ok)
#   5. other.trust.example: a leaf from a root the client does not have (curl given the
#      sample root: unknown_ca)
#   6. https://192.0.2.36/: no SNI (curl connects by address), an iPAddress SAN: ok
#   7. https://192.0.2.37/: no SNI, the address written as a dNSName: curl refuses it
#   8. https://bücher.trust.example/: curl sends the A-label xn--bcher-kva…, the SAN
#      holds the A-label: ok
# samples/trust-ca.pem is the sample root (for --ca-file; a certificate, no key).
#
# Only documentation addresses are used (198.51.100.0/24 client, 192.0.2.0/24
# servers); every address lives inside a namespace created here.  Self-contained on
# purpose (a shared netns library is being extracted on another branch).
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwtrust-srv
NS_C=pwtrust-c
ALL_NS="$NS_C $NS_SRV"
W=""
CAP_PID=""
CAP_OUT=""
DNS=192.0.2.53
CLIENT=198.51.100.10
NAMES=(expired future nochain chain other ipsan ipdns idn)
declare -A ADDR=([expired]=192.0.2.31 [future]=192.0.2.32 [nochain]=192.0.2.33 [chain]=192.0.2.34 [other]=192.0.2.35
  [ipsan]=192.0.2.36 [ipdns]=192.0.2.37 [idn]=192.0.2.38)

log() { printf '[make-trust-samples] %s\n' "$*" >&2; }
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
W="$(mktemp -d /tmp/probewatch-trust.XXXXXX)"
C="$W/certs"
mkdir -p "$C" "$W/nginx-tmp"

# --------------------------------------------------------------------------
# certificates: a root, an intermediate under it, another root nobody is given;
# dated leaves made with `openssl ca`
# --------------------------------------------------------------------------
log "generating certificates"
mkca() {  # mkca DIR SUBJECT [ISSUER-DIR]
  local d=$C/$1
  mkdir -p "$d/new"
  : >"$d/index.txt"
  echo 1000 >"$d/serial"
  cat >"$d/ca.cnf" <<EOF
[ ca ]
default_ca = this
[ this ]
dir = $d
database = $d/index.txt
new_certs_dir = $d/new
serial = $d/serial
certificate = $d/ca.crt
private_key = $d/ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
organizationName = optional
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = caIssuers;URI:http://pki.trust.example/$1.crt
subjectAltName = \${ENV::LEAF_SAN}
[ inter ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = caIssuers;URI:http://pki.trust.example/$1.crt
EOF
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/ca.key" 2>/dev/null
  if [ -z "${3:-}" ]; then
    openssl req -x509 -new -key "$d/ca.key" -subj "$2" -days 3650 -sha256 -out "$d/ca.crt" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -addext "subjectKeyIdentifier=hash"
  else
    openssl req -new -key "$d/ca.key" -subj "$2" -out "$d/ca.csr"
    LEAF_SAN=DNS:unused openssl ca -batch -config "$C/$3/ca.cnf" -extensions inter \
      -days 1825 -in "$d/ca.csr" -out "$d/ca.crt" 2>"$d/ca.err" || die "openssl ca: $(cat "$d/ca.err")"
  fi
}
mkleaf() {  # mkleaf NAME CA-DIR START END [SAN]
  local n=$1.trust.example
  openssl req -new -newkey rsa:2048 -nodes -keyout "$C/$1.key" -subj "/O=Probewatch Samples/CN=$n" \
    -out "$C/$1.csr" 2>/dev/null
  LEAF_SAN=${5:-DNS:$n} openssl ca -batch -config "$C/$2/ca.cnf" -extensions leaf \
    -startdate "$3" -enddate "$4" -in "$C/$1.csr" -out "$C/$1.crt" 2>"$C/$1.err" \
    || die "openssl ca $1: $(cat "$C/$1.err")"
  log "  $(openssl x509 -in "$C/$1.crt" -noout -subject -dates | tr '\n' ' ')"
}
mkca root "/O=Probewatch Samples/CN=Probewatch Trust Root CA"
mkca inter "/O=Probewatch Samples/CN=Probewatch Trust Intermediate CA" root
mkca other "/O=Probewatch Samples/CN=Probewatch Other Root CA"
# The undated leaves: from 30 days ago for 330 days (under the 398-day limit).
FROM=$(date -u -d '-30 days' +%Y%m%d%H%M%SZ)
UNTIL=$(date -u -d '+300 days' +%Y%m%d%H%M%SZ)
mkleaf expired root 20200101000000Z 20210101000000Z
mkleaf future root 20360101000000Z 20370101000000Z
mkleaf nochain inter "$FROM" "$UNTIL"
mkleaf chain inter "$FROM" "$UNTIL"
mkleaf other other "$FROM" "$UNTIL"
# names: an iPAddress SAN, an address written as a dNSName, an IDN (A-label in the SAN)
mkleaf ipsan root "$FROM" "$UNTIL" "IP:${ADDR[ipsan]}"
mkleaf ipdns root "$FROM" "$UNTIL" "DNS:${ADDR[ipdns]}"
mkleaf idn root "$FROM" "$UNTIL" "DNS:xn--bcher-kva.trust.example"
cat "$C/chain.crt" "$C/inter/ca.crt" >"$C/chain-full.crt"

# --------------------------------------------------------------------------
# network
# --------------------------------------------------------------------------
log "creating namespaces"
ip netns add "$NS_SRV"
ip -n "$NS_SRV" link set lo up
ip netns exec "$NS_SRV" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
for a in "${ADDR[@]}" $DNS; do ip -n "$NS_SRV" addr add "$a/32" dev lo; done
ip netns add "$NS_C"
ip -n "$NS_C" link set lo up
ip netns exec "$NS_C" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip link add eth0 netns "$NS_C" address 02:00:00:00:0c:10 type veth \
  peer name veth-c netns "$NS_SRV" address 02:00:00:00:0c:01
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
hosts=()
for n in "${NAMES[@]}"; do hosts+=("--host-record=$n.trust.example,${ADDR[$n]}"); done
hosts+=("--host-record=xn--bcher-kva.trust.example,${ADDR[idn]}")
ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$W/dnsmasq.pid" --user=root --group=root --no-resolv --no-hosts --no-poll \
  --bind-interfaces --listen-address=$DNS --local=/trust.example/ --local-ttl=300 \
  "${hosts[@]}" 2>"$W/dnsmasq.err" &
wait_listen "$NS_SRV" u $DNS:53
{
  cat <<EOF
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
  ssl_session_tickets off;
EOF
  for n in "${NAMES[@]}"; do
    crt=$C/$n.crt
    [ "$n" = chain ] && crt=$C/chain-full.crt
    cat <<EOF
  server {
    listen ${ADDR[$n]}:443 ssl;
    server_name $n.trust.example;
    ssl_certificate $crt;
    ssl_certificate_key $C/$n.key;
    location / { return 200 "$n.trust.example\n"; }
  }
EOF
  done
  echo "}"
} >"$W/nginx.conf"
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>>"$W/nginx-error.log" &
for n in "${NAMES[@]}"; do wait_listen "$NS_SRV" t "${ADDR[$n]}:443"; done

# --------------------------------------------------------------------------
# capture
# --------------------------------------------------------------------------
F="$W/trust.pcap"
CAP_OUT=$F
ip netns exec "$NS_SRV" tcpdump -Z root -U --immediate-mode -i veth-c -w "$F" 'tcp or udp port 53' 2>"$F.log" &
CAP_PID=$!
for _ in $(seq 1 100); do
  grep -q 'listening on' "$F.log" 2>/dev/null && break
  sleep 0.1
done
grep -q 'listening on' "$F.log" || die "capture did not start: $(cat "$F.log")"
sleep 0.3
fetch() {  # fetch NAME WANT-EXIT CURL-ARGS... (NAME: a label of trust.example, or a host)
  local n=$1 want=$2 rc=0 host
  shift 2
  case $n in *.*|*:*) host=$n ;; *) host=$n.trust.example ;; esac
  LC_ALL=C.UTF-8 ip netns exec "$NS_C" curl -sS --max-time 10 -o /dev/null --tlsv1.2 --tls-max 1.2 "$@" \
    "https://$host/" 2>"$W/curl-$n.err" || rc=$?
  [ "$rc" = "$want" ] || die "curl $n: expected exit $want, got $rc: $(cat "$W/curl-$n.err")"
  sleep 0.3
}
log "fetching"
fetch expired 0 -k
fetch future 0 -k
fetch nochain 60 --cacert "$C/root/ca.crt"
fetch chain 0 --cacert "$C/root/ca.crt"
fetch other 60 --cacert "$C/root/ca.crt"
# by address: curl sends no SNI
fetch "${ADDR[ipsan]}" 0 --cacert "$C/root/ca.crt"
fetch "${ADDR[ipdns]}" 60 --cacert "$C/root/ca.crt"
# an IDN: curl (libidn2) converts it, the SNI is the A-label
fetch "bücher.trust.example" 0 --cacert "$C/root/ca.crt"
sleep 1.2
kill -INT "$CAP_PID"
wait "$CAP_PID" || true
CAP_PID=""
log "  trust.pcap: $(grep -h 'packets captured' "$F.log" | head -1)"

# --------------------------------------------------------------------------
# checks on the capture
# --------------------------------------------------------------------------
ts() { tshark -n -r "$F" "$@" 2>/dev/null; }
n=$(ts -Y 'tls.handshake.type==11' | wc -l)
[ "$n" = 8 ] || die "expected 8 Certificate messages, found $n"
n=$(ts -Y 'tls.handshake.type==1 && !tls.handshake.extensions_server_name' | wc -l)
[ "$n" = 2 ] || die "expected 2 ClientHellos without SNI (by address), found $n"
ts -Y 'tls.handshake.extensions_server_name=="xn--bcher-kva.trust.example"' | grep -q . \
  || die "no ClientHello with the A-label SNI"
n=$(ts -Y 'tls.alert_message.desc==48' | wc -l)
[ "$n" = 2 ] || die "expected 2 unknown_ca alerts, found $n"
cp "$F" "$SAMPLES_DIR/trust.pcap"
cp "$C/root/ca.crt" "$SAMPLES_DIR/trust-ca.pem"
log "wrote samples/trust.pcap ($(stat -c %s "$F") bytes) and samples/trust-ca.pem"
