#!/usr/bin/env bash
# Regenerate samples/cert-names.pcap, samples/raw-ip.pcap and samples/connect-proxy.pcap.
#
# cert-names.pcap: one TLS 1.2 handshake per way a certificate's names
# can meet the name a client asks for (wildcards and their rules, case, a trailing dot,
# several CNs, a subjectAltName with no DNS name, a wildcard asked for), each with its
# own self-signed certificate made here by openssl, served by `openssl s_server` and asked
# for by `openssl s_client -servername`, over loopback in a throw-away network namespace,
# captured with tcpdump.  Run as root:
#
#     sudo samples/make-name-samples.sh
#     sudo SAMPLES_OUT=/tmp/regen samples/make-name-samples.sh   # elsewhere
#
# Each case is port|name asked (SNI)|certificate subject|subjectAltName; the verdicts
# probewatch gives are asserted in tests/samples.rs (cert_names_*).
#
# raw-ip.pcap: one handshake (SNI tunnel.example.com) over an ipip tunnel between two
# namespaces, captured on the tunnel interface: link type LINKTYPE_RAW (101), packets
# that start with their IP header, as `tcpdump -i tun0 -w` or a WireGuard capture gives.
#
# connect-proxy.pcap: `openssl s_client -proxy … -noservername` through an HTTP CONNECT
# proxy (a few lines of python3 here): a CONNECT with no Host header, then a TLS hello
# with no SNI inside the tunnel; the client's side of the proxy captured. The name asked
# for is the CONNECT target, connect-target.example.test.
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS=pwnames
NS_A=pwnames-a   # raw-ip.pcap: the client end of the tunnel
NS_B=pwnames-b   # and the server end
export NN_TAG=make-name-samples NN_NAMESPACES="$NS $NS_A $NS_B"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"

nn_require_root
nn_tools install ip=iproute2 tcpdump=tcpdump tshark=tshark openssl=openssl

CASES=(
  "5001|a.example.com|/CN=x|DNS:*.example.com"
  "5002|a.b.example.com|/CN=x|DNS:*.example.com"
  "5003|example.com|/CN=x|DNS:*.example.com"
  "5004|WWW.EXAMPLE.COM|/CN=x|DNS:www.example.com"
  "5005|www.example.com|/CN=x|DNS:WWW.Example.Com"
  "5006|www.example.com.|/CN=x|DNS:www.example.com"
  "5007|www.example.com|/CN=x|DNS:www.example.com."
  "5008|foo.com|/CN=x|DNS:*.com"
  "5009|www.example.com|/CN=www.example.com|IP:127.0.0.1"
  "5010|www.example.com|/CN=www.example.com|DNS:other.example.com"
  "5011|a.example.com|/CN=*.example.com|"
  "5012|fooa.example.com|/CN=x|DNS:f*.example.com"
  "5013|a.example.com|/CN=x|DNS:a.*.com"
  "5014|*.example.com|/CN=x|DNS:*.example.com"
  "5015|a.example.co.uk|/CN=x|DNS:*.co.uk"
  "5016|www.example.com|/CN=x|DNS:*"
  "5017|b.example.com|/CN=a.example.com/CN=b.example.com|"
  "5018|a.example.com|/CN=a.example.com/CN=b.example.com|"
  "5019|a.example.com|/CN=x|DNS:*.Example.COM"
  "5020|www.example.com|/CN=x|URI:https://www.example.com/,email:a@www.example.com"
  "5021|www.example.com|/CN=www.example.com|email:a@b.com"
  "5022|a.example.com|/CN=x|DNS:*a.example.com"
)

nn_samples_out
nn_trap "$SAMPLES_OUT left unchanged"
nn_teardown
nn_workdir /tmp/probewatch-names.XXXXXX
nn_ns_add "$NS"

nn_cap_start "$NS" lo "$OUT/cert-names.pcap" "tcp portrange 5001-5099"
for c in "${CASES[@]}"; do
  IFS='|' read -r port sni subj san <<<"$c"
  ext=()
  [ -n "$san" ] && ext=(-addext "subjectAltName=$san")
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -keyout "$C/k$port.pem" -out "$C/c$port.pem" -subj "$subj" "${ext[@]}" 2>/dev/null
  ip netns exec "$NS" openssl s_server -accept "127.0.0.1:$port" -cert "$C/c$port.pem" \
    -key "$C/k$port.pem" -tls1_2 -naccept 1 -quiet >/dev/null 2>&1 &
  srv=$!
  nn_wait_listen "$NS" t "127.0.0.1:$port"
  echo Q | ip netns exec "$NS" timeout 5 openssl s_client -connect "127.0.0.1:$port" \
    -servername "$sni" -tls1_2 >/dev/null 2>&1 || true
  wait "$srv" || true
done
nn_cap_stop

# raw-ip.pcap: 10.9.0.1 <-> 10.9.0.2 through a TUN device in each namespace, joined by
# a small user-space tunnel (python3 copies each packet from one device to the other, as
# a VPN program does; this kernel may have no ipip or WireGuard module).
nn_ns_add "$NS_A" "$NS_B"
for ns in "$NS_A" "$NS_B"; do ip -n "$ns" tuntap add mode tun name pwtun; done
cat > "$W/tunnel.py" <<'PY'
import ctypes, fcntl, os, select, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
def enter(ns):
    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:
        sys.exit("setns %s failed" % ns)
    os.close(fd)
def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", name.encode(), 0x0001 | 0x1000))
    return fd
enter(sys.argv[1]); a = tun("pwtun")
enter(sys.argv[2]); b = tun("pwtun")
peer = {a: b, b: a}
while True:
    for fd in select.select([a, b], [], [])[0]:
        packet = os.read(fd, 65536)
        try:
            os.write(peer[fd], packet)
        except OSError:  # the other device not up yet: lost, as on a real link
            pass
PY
python3 "$W/tunnel.py" "$NS_A" "$NS_B" &
tunnel=$!
sleep 0.3
ip -n "$NS_A" addr add 10.9.0.1 peer 10.9.0.2 dev pwtun
ip -n "$NS_B" addr add 10.9.0.2 peer 10.9.0.1 dev pwtun
ip -n "$NS_A" link set pwtun up
ip -n "$NS_B" link set pwtun up
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -keyout "$C/ktun.pem" -out "$C/ctun.pem" -subj "/CN=tunnel.example.com" \
  -addext "subjectAltName=DNS:tunnel.example.com" 2>/dev/null
ip netns exec "$NS_B" openssl s_server -accept 10.9.0.2:443 -cert "$C/ctun.pem" \
  -key "$C/ktun.pem" -tls1_2 -naccept 1 -quiet >/dev/null 2>&1 &
srv=$!
nn_wait_listen "$NS_B" t 10.9.0.2:443
nn_cap_start "$NS_A" pwtun "$OUT/raw-ip.pcap" ""
echo Q | ip netns exec "$NS_A" timeout 5 openssl s_client -connect 10.9.0.2:443 \
  -servername tunnel.example.com -tls1_2 >/dev/null 2>&1 || true
wait "$srv" || true
nn_cap_stop
kill "$tunnel"; wait "$tunnel" 2>/dev/null || true
raw=$(tshark -r "$OUT/raw-ip.pcap" -T fields -e frame.encap_type 2>/dev/null | sort -u)
[ "$raw" = 7 ] || die "raw-ip.pcap is not raw IP (encapsulation $raw)"
sni=$(tshark -r "$OUT/raw-ip.pcap" -Y 'tls.handshake.type == 1' -T fields -e tls.handshake.extensions_server_name 2>/dev/null)
[ "$sni" = tunnel.example.com ] || die "raw-ip.pcap: SNI '$sni'"

# connect-proxy.pcap: the proxy on 127.0.0.1:3128 reaches the server on 127.0.0.1:5443.
cat > "$W/proxy.py" <<'PY'
import socket, threading
HOSTS = {"connect-target.example.test": "127.0.0.1"}
def pump(a, b):
    while True:
        d = a.recv(65536)
        if not d:
            break
        b.sendall(d)
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass
ls = socket.create_server(("127.0.0.1", 3128))
c, _ = ls.accept()
head = b""
while b"\r\n\r\n" not in head:
    head += c.recv(4096)
target = head.split(b" ")[1].decode()
host, port = target.rsplit(":", 1)
s = socket.create_connection((HOSTS.get(host, host), int(port)))
c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
t = threading.Thread(target=pump, args=(s, c)); t.start()
pump(c, s); t.join()
PY
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -keyout "$C/kcon.pem" -out "$C/ccon.pem" -subj "/CN=connect-target.example.test" \
  -addext "subjectAltName=DNS:connect-target.example.test" 2>/dev/null
ip netns exec "$NS" openssl s_server -accept 127.0.0.1:5443 -cert "$C/ccon.pem" \
  -key "$C/kcon.pem" -tls1_2 -naccept 1 -quiet >/dev/null 2>&1 &
srv=$!
ip netns exec "$NS" python3 "$W/proxy.py" &
proxy=$!
nn_wait_listen "$NS" t 127.0.0.1:5443
nn_wait_listen "$NS" t 127.0.0.1:3128
nn_cap_start "$NS" lo "$OUT/connect-proxy.pcap" "tcp port 3128"
echo Q | ip netns exec "$NS" timeout 5 openssl s_client -proxy 127.0.0.1:3128 \
  -connect connect-target.example.test:5443 -noservername -tls1_2 >/dev/null 2>&1 || true
wait "$srv" || true
wait "$proxy" || true
nn_cap_stop
connect=$(tshark -r "$OUT/connect-proxy.pcap" -d tcp.port==3128,http -Y 'http.request.method == "CONNECT"' -T fields -e http.request.uri -e http.host 2>/dev/null)
[ "$connect" = "connect-target.example.test:5443	" ] || die "connect-proxy.pcap: CONNECT '$connect'"

hellos=$(tshark -d tcp.port==5001-5099,tls -r "$OUT/cert-names.pcap" -Y 'tls.handshake.type == 1' 2>/dev/null | wc -l)
[ "$hellos" -eq ${#CASES[@]} ] || die "$hellos ClientHellos in the capture, ${#CASES[@]} cases"
certs=$(tshark -d tcp.port==5001-5099,tls -r "$OUT/cert-names.pcap" -Y 'tls.handshake.type == 11' 2>/dev/null | wc -l)
[ "$certs" -eq ${#CASES[@]} ] || die "$certs Certificate messages in the capture, ${#CASES[@]} cases"
cp "$OUT/cert-names.pcap" "$OUT/raw-ip.pcap" "$OUT/connect-proxy.pcap" "$SAMPLES_OUT/"
log "wrote cert-names.pcap ($hellos handshakes), raw-ip.pcap and connect-proxy.pcap into $SAMPLES_OUT"
