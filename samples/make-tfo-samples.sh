#!/usr/bin/env bash
# Regenerate samples/tcp-fastopen.pcap: two TLS 1.2 handshakes over TCP Fast Open (RFC
# 7413) between a python3 client and server (the standard library's socket and ssl:
# TCP_FASTOPEN on the server, MSG_FASTOPEN on the client, the TLS in memory; a self-signed
# certificate for tfo.example.test made here by openssl) over loopback in a throw-away
# network namespace with net.ipv4.tcp_fastopen=3, captured with tcpdump. The first
# connection (SNI cookie.example.test) gets the server's cookie, its hello after the
# handshake; the second carries its ClientHello (SNI tfo.example.test) in the SYN
# itself.  Run as root:
#
#     sudo samples/make-tfo-samples.sh
#     sudo SAMPLES_OUT=/tmp/regen samples/make-tfo-samples.sh   # elsewhere
#
# What probewatch reports of it is asserted in tests/samples.rs
# (a_client_hello_carried_in_the_syn_is_read).
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS=pwtfo
export NN_TAG=make-tfo-samples NN_NAMESPACES="$NS"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"

nn_require_root
nn_tools install ip=iproute2 tcpdump=tcpdump tshark=tshark python3=python3

nn_samples_out
nn_trap "$SAMPLES_OUT left unchanged"
nn_teardown
nn_workdir /tmp/probewatch-tfo.XXXXXX
nn_ns_add "$NS"

ip netns exec "$NS" sysctl -q -w net.ipv4.tcp_fastopen=3
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -keyout "$C/key.pem" -out "$C/cert.pem" -subj "/CN=tfo.example.test" \
  -addext "subjectAltName=DNS:tfo.example.test" 2>/dev/null
cat > "$W/tfo.py" <<'PY'
import select, socket, ssl, sys
def server(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
    ls.bind(("127.0.0.1", 8443)); ls.listen(4)
    for _ in range(2):
        c, _ = ls.accept()
        t = ctx.wrap_socket(c, server_side=True)
        t.recv(64); t.sendall(b"ok\n"); t.close()
def client(name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    o = ctx.wrap_bio(inc, out, server_hostname=name)
    s = socket.socket()
    def step():
        try:
            o.do_handshake()
            return True
        except ssl.SSLWantReadError:
            return False
    step()
    # The ClientHello goes in the SYN once a cookie is cached (MSG_FASTOPEN).
    s.sendto(out.read(), socket.MSG_FASTOPEN, ("127.0.0.1", 8443))
    while not step():
        if out.pending:
            s.sendall(out.read())
        inc.write(s.recv(65536))
    o.write(b"hi\n")
    s.sendall(out.read())
    while True:
        try:
            assert o.read(64) == b"ok\n"
            break
        except ssl.SSLWantReadError:
            inc.write(s.recv(65536))
    s.close()
server(sys.argv[2], sys.argv[3]) if sys.argv[1] == "server" else client(sys.argv[2])
PY
ip netns exec "$NS" python3 "$W/tfo.py" server "$C/cert.pem" "$C/key.pem" &
srv=$!
nn_wait_listen "$NS" t 127.0.0.1:8443
nn_cap_start "$NS" lo "$OUT/tcp-fastopen.pcap" "tcp port 8443"
ip netns exec "$NS" timeout 10 python3 "$W/tfo.py" client cookie.example.test
ip netns exec "$NS" timeout 10 python3 "$W/tfo.py" client tfo.example.test
wait "$srv"
nn_cap_stop
syn_data=$(tshark -r "$OUT/tcp-fastopen.pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.len>0' 2>/dev/null | wc -l)
[ "$syn_data" = 1 ] || die "tcp-fastopen.pcap: $syn_data SYNs with data (want 1)"
sni=$(tshark -r "$OUT/tcp-fastopen.pcap" -d tcp.port==8443,tls -Y 'tls.handshake.type == 1 && tcp.flags.syn==1' -T fields -e tls.handshake.extensions_server_name 2>/dev/null)
[ "$sni" = tfo.example.test ] || die "tcp-fastopen.pcap: the hello in the SYN is for '$sni'"
cp "$OUT/tcp-fastopen.pcap" "$SAMPLES_OUT/"
log "wrote tcp-fastopen.pcap into $SAMPLES_OUT"
