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
PCAP=${1:-/var/tmp/probewatch-bench.pcap}
BULK_MB=${BULK_MB:-1200}
BULK_FILES=${BULK_FILES:-12}
HANDSHAKES=${HANDSHAKES:-20000}
HTTP_REQS=${HTTP_REQS:-3000}
NS_S=pwbench-srv; NS_C=pwbench-cli
export NN_TAG=bench NN_NAMESPACES="$NS_S $NS_C"
# shellcheck source=scripts/netns.sh
. scripts/netns.sh

nn_require_root
nn_tools install ip=iproute2 ss=iproute2 nginx=nginx dnsmasq=dnsmasq-base curl=curl \
  tcpdump=tcpdump ethtool=ethtool openssl=openssl python3=python3

nn_trap
nn_teardown
nn_workdir /var/tmp/probewatch-bench.XXXXXX

log "certificates"
NN_CERT_DAYS=30
nn_cert ca "/CN=probewatch bench CA" ec:P-256 - self "${NN_CA_EXT[@]}"
# Covers *.bench.example but not the apex bench.example: some probes mismatch.
nn_cert leaf "/CN=*.bench.example" ec:P-256 - ca "subjectAltName=DNS:*.bench.example"
cat "$C/leaf.crt" "$C/ca.crt" >"$C/chain.pem"

log "network"
nn_ns_add $NS_S $NS_C
nn_veth $NS_C eth0 $NS_S eth0
ip -n $NS_S addr add 192.0.2.10/24 dev eth0
ip -n $NS_S addr add 192.0.2.53/24 dev eth0
ip -n $NS_C addr add 192.0.2.100/24 dev eth0
nn_resolv $NS_C 'nameserver 192.0.2.53\n'

log "servers"
ip netns exec $NS_S dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root --group=root \
  --no-resolv --no-hosts --bind-interfaces --listen-address=192.0.2.53 \
  --address=/bench.example/192.0.2.10 --local-ttl=0 2>"$W/dnsmasq.err" &
mkdir -p "$W/www" "$W/nginx-tmp"
chmod 755 "$W"   # nginx's workers (not root) read the files
head -c $(( BULK_MB * 1024 * 1024 / BULK_FILES )) /dev/urandom >"$W/www/bulk.bin"
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
    ssl_certificate $C/chain.pem; ssl_certificate_key $C/leaf.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off; ssl_session_tickets off;
    root $W/www;
  }
}
NGX
ip netns exec $NS_S nginx -c "$W/nginx.conf" -g 'daemon off;' &
nn_wait_listen $NS_S t 192.0.2.10:443
nn_wait_listen $NS_S u 192.0.2.53:53

log "capturing to $PCAP"
# a big buffer and no immediate mode: a bulk capture must not drop packets
NN_CAP_ARGS="-B 262144" NN_CAP_IMMEDIATE=0 nn_cap_start $NS_C eth0 "$PCAP" ""

log "bulk HTTPS: $BULK_FILES downloads of $(( BULK_MB / BULK_FILES )) MiB"
for i in $(seq 1 "$BULK_FILES"); do
  ip netns exec $NS_C curl -sf --cacert "$C/ca.crt" "https://bulk$i.bench.example/bulk.bin" -o /dev/null
done

log "$HANDSHAKES TLS handshakes, $HTTP_REQS HTTP requests, DNS"
ip netns exec $NS_C python3 - "$C/ca.crt" "$HANDSHAKES" "$HTTP_REQS" <<'PY'
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
nn_cap_stop 1
sed 's/^/[bench] tcpdump: /' "$PCAP.log" | tail -3 >&2
rm -f "$PCAP.log"
ls -l "$PCAP" >&2
