#!/usr/bin/env bash
# Regenerate samples/websocket.pcap: one plain-HTTP WebSocket (ws://) connection, the
# client's `GET /chat` with `Upgrade: websocket`, the server's `101 Switching Protocols`,
# a text message each way, then the connection left open and quiet for 12 s (longer
# than probewatch's 10 s probe timeout), a last message each way and a close. Client
# and server are a few lines of python3 here (the standard library's socket, hashlib and
# base64: RFC 6455's handshake and frames), over loopback in a throw-away network
# namespace, captured with tcpdump.  Run as root:
#
#     sudo samples/make-upgrade-samples.sh
#     sudo SAMPLES_OUT=/tmp/regen samples/make-upgrade-samples.sh   # elsewhere
#
# What probewatch reports of it is asserted in tests/http_samples.rs
# (a_websocket_upgrade_is_answered_by_its_101_not_timed_out).
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS=pwupgrade
export NN_TAG=make-upgrade-samples NN_NAMESPACES="$NS"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"

nn_require_root
nn_tools install ip=iproute2 tcpdump=tcpdump tshark=tshark python3=python3

nn_samples_out
nn_trap "$SAMPLES_OUT left unchanged"
nn_teardown
nn_workdir /tmp/probewatch-upgrade.XXXXXX
nn_ns_add "$NS"

cat > "$W/ws.py" <<'PY'
import base64, hashlib, os, socket, sys, time
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

def frame(text, mask):
    data = text.encode()
    head = bytes([0x81, (0x80 if mask else 0) | len(data)])
    if not mask:
        return head + data
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(data))

def read_head(s):
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    return head

def server():
    ls = socket.create_server(("127.0.0.1", 8080))
    c, _ = ls.accept()
    head = read_head(c)
    key = [l.split(b":", 1)[1].strip() for l in head.split(b"\r\n")
           if l.lower().startswith(b"sec-websocket-key:")][0]
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    for _ in range(2):
        c.recv(64)
        c.sendall(frame("pong", False))
    c.recv(64)
    c.sendall(bytes([0x88, 0]))
    c.close()

def client():
    s = socket.create_connection(("127.0.0.1", 8080))
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET /chat HTTP/1.1\r\nHost: ws.example.test:8080\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key +
              b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = read_head(s)
    assert head.startswith(b"HTTP/1.1 101"), head
    s.sendall(frame("ping", True)); s.recv(64)
    time.sleep(12)
    s.sendall(frame("ping", True)); s.recv(64)
    s.sendall(bytes([0x88, 0x80]) + os.urandom(4)); s.recv(64)
    s.close()

server() if sys.argv[1] == "server" else client()
PY
ip netns exec "$NS" python3 "$W/ws.py" server &
srv=$!
nn_wait_listen "$NS" t 127.0.0.1:8080
nn_cap_start "$NS" lo "$OUT/websocket.pcap" "tcp port 8080"
ip netns exec "$NS" timeout 30 python3 "$W/ws.py" client
wait "$srv"
nn_cap_stop
status=$(tshark -r "$OUT/websocket.pcap" -d tcp.port==8080,http -Y 'http.response' -T fields -e http.response.code 2>/dev/null)
[ "$status" = 101 ] || die "websocket.pcap: response '$status'"
frames=$(tshark -r "$OUT/websocket.pcap" -d tcp.port==8080,http -Y websocket 2>/dev/null | wc -l)
[ "$frames" -ge 6 ] || die "websocket.pcap: $frames WebSocket frames"
cp "$OUT/websocket.pcap" "$SAMPLES_OUT/"
log "wrote websocket.pcap ($frames WebSocket frames) into $SAMPLES_OUT"
