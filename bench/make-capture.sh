#!/usr/bin/env bash
# Builds the benchmark capture with real programs: nginx serves HTTPS/HTTP and dnsmasq DNS
# in one network namespace; curl (bulk HTTPS downloads: most of the bytes) and a Python
# client (tens of thousands of full TLS handshakes with certificates, DNS lookups, plain
# HTTP requests) run in another; tcpdump captures the client's interface.
#
#   sudo bench/make-capture.sh [OUT.pcap]     (default /var/tmp/probewatch-bench.pcap)
#   BULK_MB=1200 HANDSHAKES=20000 sudo bench/make-capture.sh
#
# Offloads are off on the veth pair, so packets are real MTU-sized segments (1500 bytes),
# as on a wire. Needs root; installs nginx, dnsmasq, curl, tcpdump, ethtool, openssl.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/var/tmp/probewatch-bench.pcap}
BULK_MB=${BULK_MB:-1200}
BULK_FILES=${BULK_FILES:-12}
HANDSHAKES=${HANDSHAKES:-20000}
HTTP_REQS=${HTTP_REQS:-3000}
NS_S=pwbench-srv; NS_C=pwbench-cli
log() { printf '[bench] %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { log "needs root: sudo $0"; exit 1; }

declare -A PKG=([ip]=iproute2 [ss]=iproute2 [nginx]=nginx [dnsmasq]=dnsmasq-base [curl]=curl
  [tcpdump]=tcpdump [ethtool]=ethtool [openssl]=openssl [python3]=python3)
missing=()
for c in "${!PKG[@]}"; do command -v "$c" >/dev/null 2>&1 || missing+=("${PKG[$c]}"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

W=$(mktemp -d /var/tmp/probewatch-bench.XXXXXX)
CAP=""
teardown() {
  set +e
  [ -n "$CAP" ] && kill -INT "$CAP" 2>/dev/null && wait "$CAP" 2>/dev/null
  for ns in $NS_S $NS_C; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
    sleep 0.3
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"
  done
  rm -rf "$W"
}
trap teardown EXIT
CAP=""; teardown; W=$(mktemp -d /var/tmp/probewatch-bench.XXXXXX)

log "certificates"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -keyout "$W/ca.key" -out "$W/ca.pem" -subj "/CN=probewatch bench CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/leaf.key" \
  -out "$W/leaf.csr" -subj "/CN=*.bench.example" 2>/dev/null
# Covers *.bench.example but not the apex bench.example: some probes mismatch.
printf 'subjectAltName=DNS:*.bench.example\n' >"$W/leaf.ext"
openssl x509 -req -in "$W/leaf.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial -days 30 \
  -extfile "$W/leaf.ext" -out "$W/leaf.pem" 2>/dev/null
cat "$W/leaf.pem" "$W/ca.pem" >"$W/chain.pem"

log "network"
ip netns add $NS_S; ip netns add $NS_C
ip link add eth0 netns $NS_C type veth peer name eth0 netns $NS_S
for ns in $NS_S $NS_C; do
  ip -n $ns link set lo up
  ip netns exec $ns ethtool -K eth0 tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
  ip -n $ns link set eth0 up
done
ip -n $NS_S addr add 192.0.2.10/24 dev eth0
ip -n $NS_S addr add 192.0.2.53/24 dev eth0
ip -n $NS_C addr add 192.0.2.100/24 dev eth0
mkdir -p /etc/netns/$NS_C
echo "nameserver 192.0.2.53" >/etc/netns/$NS_C/resolv.conf
printf '127.0.0.1 localhost\n' >/etc/netns/$NS_C/hosts

log "servers"
ip netns exec $NS_S dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root --group=root \
  --no-resolv --no-hosts --bind-interfaces --listen-address=192.0.2.53 \
  --address=/bench.example/192.0.2.10 --local-ttl=0 2>"$W/dnsmasq.err" &
mkdir -p "$W/www" "$W/nginx-tmp"
chmod 755 "$W"   # nginx's workers (not root) read the files
head -c $(( BULK_MB / BULK_FILES * 1024 * 1024 )) /dev/urandom >"$W/www/bulk.bin"
echo "hello" >"$W/www/index.html"
chmod -R a+rX "$W/www"
cat >"$W/nginx.conf" <<NGX
worker_processes 2;
pid $W/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $W/nginx-tmp; proxy_temp_path $W/nginx-tmp; fastcgi_temp_path $W/nginx-tmp;
  uwsgi_temp_path $W/nginx-tmp; scgi_temp_path $W/nginx-tmp;
  keepalive_requests 1000;
  server { listen 192.0.2.10:80; root $W/www; }
  server {
    listen 192.0.2.10:443 ssl;
    ssl_certificate $W/chain.pem; ssl_certificate_key $W/leaf.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off; ssl_session_tickets off;
    root $W/www;
  }
}
NGX
ip netns exec $NS_S nginx -c "$W/nginx.conf" -g 'daemon off;' &
for _ in $(seq 1 100); do
  ip netns exec $NS_S ss -Hlnt | grep -q '192.0.2.10:443' && ip netns exec $NS_S ss -Hlnu | grep -q '192.0.2.53:53' && break
  sleep 0.1
done

log "capturing to $OUT"
ip netns exec $NS_C tcpdump -i eth0 -s 0 -B 262144 -U -w "$OUT" 2>"$W/tcpdump.err" &
CAP=$!
sleep 1

log "bulk HTTPS: $BULK_FILES downloads of $(( BULK_MB / BULK_FILES )) MiB"
for i in $(seq 1 "$BULK_FILES"); do
  ip netns exec $NS_C curl -sf --cacert "$W/ca.pem" "https://bulk$i.bench.example/bulk.bin" -o /dev/null
done

log "$HANDSHAKES TLS handshakes, $HTTP_REQS HTTP requests, DNS"
ip netns exec $NS_C python3 - "$W/ca.pem" "$HANDSHAKES" "$HTTP_REQS" <<'PY'
import socket, ssl, sys
from multiprocessing import Pool
ca, n, nhttp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def tls(i):
    # 1 in 10 asks for the apex, which the wildcard certificate does not cover; the client
    # then refuses the certificate. 1 in 4 looks the name up in DNS first.
    name = "bench.example" if i % 10 == 0 else f"h{i % 500}.bench.example"
    addr = socket.gethostbyname(name) if i % 4 == 0 else "192.0.2.10"
    ctx = ssl.create_default_context(cafile=ca)
    if i % 3 == 0:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        with socket.create_connection((addr, 443), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname=name) as t:
                t.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
                while t.recv(4096):
                    pass
        return 1
    except (ssl.SSLError, OSError):
        return 0
def http(i):
    name = f"w{i % 200}.bench.example"
    addr = socket.gethostbyname(name)
    with socket.create_connection((addr, 80), timeout=5) as s:
        s.sendall(f"GET /index.html HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
        while s.recv(4096):
            pass
    return 1
with Pool(4) as p:
    ok = sum(p.imap_unordered(tls, range(n), chunksize=64))
    h = sum(p.imap_unordered(http, range(nhttp), chunksize=64))
print(f"[bench] {ok} TLS handshakes completed ({n - ok} refused), {h} HTTP requests", file=sys.stderr)
PY
sleep 1
kill -INT "$CAP"; wait "$CAP" || true; CAP=""
sed 's/^/[bench] tcpdump: /' "$W/tcpdump.err" | tail -3 >&2
ls -l "$OUT" >&2
