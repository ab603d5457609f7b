#!/usr/bin/env bash
# Regenerate samples/stalled-hello.pcap: clients that stop in the middle of their
# ClientHello, as a path that drops the hello's later segments (an MTU black hole), a
# stalled client or a capture cut short leave it. nginx serves TLS; the client is
# python3: its ssl module (OpenSSL) writes a real ClientHello for stall.example into a
# memory buffer, and a plain socket sends only part of it. In throw-away network
# namespaces, captured with tcpdump. Run as root:
#
#     sudo samples/make-stall-samples.sh
#
#   1. the hello up to just past its SNI, then the client closes (FIN): the name is known,
#      nothing more of the hello came
#   2. the hello cut inside its session id (before the SNI), and the connection still open
#      when the capture stops: no name
#   3. a whole hello from the same client (curl): the server's certificate, a match
# and samples/stalled-hello-snaplen.pcap: the same packets cut to 100 bytes by editcap (a
# tap's snapshot length), so that every hello is cut by the capture, not by its client.
#
# Only documentation addresses are used; every address lives inside a namespace created
# here.  The capture goes into SAMPLES_OUT (default samples/) only when the checks at
# the end passed:
#
#     sudo SAMPLES_OUT=/tmp/regen samples/make-stall-samples.sh   # elsewhere
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwstall-srv
NS_C=pwstall-c
export NN_TAG=make-stall-samples NN_NAMESPACES="$NS_C $NS_SRV"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"
SRV=192.0.2.120

nn_require_root
nn_tools install ip=iproute2 ss=iproute2 tcpdump=tcpdump tshark=tshark editcap=wireshark-common nginx=nginx \
  openssl=openssl curl=curl python3=python3 ethtool=ethtool

nn_samples_out
nn_trap "$SAMPLES_OUT left unchanged"
nn_teardown   # leftovers of an interrupted run
nn_workdir /tmp/probewatch-stall.XXXXXX

log "generating certificates"
nn_cert ca "/O=Probewatch Samples/CN=Probewatch Stall Sample Root CA" rsa:2048 - self "${NN_CA_EXT[@]}"
NN_CERT_DAYS=365 nn_leaf stall stall.example DNS:stall.example - ca

log "creating namespaces"
nn_ns_add "$NS_C" "$NS_SRV"
nn_no_ipv6 "$NS_C" "$NS_SRV"
nn_client_net "$NS_C" "$NS_SRV" "nameserver 192.0.2.53\n" "$SRV"

log "starting nginx"
{
nn_nginx_head
cat <<EOF
  server {
    listen $SRV:443 ssl;
    server_name _;
    ssl_certificate $C/stall.crt;
    ssl_certificate_key $C/stall.key;
    location / { return 200 "stall.example\n"; }
  }
}
EOF
} >"$W/nginx.conf"
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>"$W/nginx.err" &
nn_wait_listen "$NS_SRV" t $SRV:443

# The client: a real ClientHello (OpenSSL through python3's ssl module, never given to a
# socket), of which a plain socket sends the bytes up to CUT (past: the SNI's end plus
# AFTER bytes; before: the SNI's start minus BEFORE), then closes or stays open.
cat >"$W/partial.py" <<'EOF'
import socket, ssl, sys, time
where, amount, then = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context()
out, inc = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, out, server_hostname="stall.example")
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = out.read()
at = hello.index(b"stall.example")
cut = at + len("stall.example") + amount if where == "past" else at - amount
s = socket.create_connection(("192.0.2.120", 443))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(hello[:cut])
print(len(hello), cut, flush=True)
time.sleep(0.5 if then == "close" else 30)
s.close()
EOF

F="$OUT/stalled-hello.pcap"
nn_cap_start "$NS_SRV" veth-c4 "$F" 'tcp port 443'
ip netns exec "$NS_C" python3 "$W/partial.py" past 8 close >"$W/partial1.out"
sleep 0.3
ip netns exec "$NS_C" python3 "$W/partial.py" before 40 open >"$W/partial2.out" &
sleep 0.8
ip netns exec "$NS_C" curl -sS --max-time 10 -o /dev/null --cacert "$C/ca.crt" \
  --resolve stall.example:443:$SRV https://stall.example/ \
  || die "curl failed"
nn_cap_stop 1.2

ts() { tshark -n -r "$F" "$@" 2>/dev/null; }
n=$(ts -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' | wc -l)
[ "$n" = 3 ] || die "expected 3 connections, found $n"
n=$(ts -Y 'tls.handshake.type==1' | wc -l)
[ "$n" = 1 ] || die "expected 1 whole ClientHello (curl's), found $n"
read -r len1 cut1 <"$W/partial1.out"
[ "$cut1" -lt "$len1" ] || die "the first hello was sent whole ($cut1 of $len1)"
# The same capture as a tap with a 100-byte snapshot length would have made it: every
# hello cut by the capture, not by its client.
editcap -s 100 "$F" "$OUT/stalled-hello-snaplen.pcap"
install -m 0644 "$F" "$SAMPLES_OUT/stalled-hello.pcap"
install -m 0644 "$OUT/stalled-hello-snaplen.pcap" "$SAMPLES_OUT/stalled-hello-snaplen.pcap"
install -m 0644 "$C/ca.crt" "$SAMPLES_OUT/stall-ca.pem"
log "wrote $SAMPLES_OUT/stalled-hello.pcap (hellos cut at $cut1 of $len1 and before the SNI), $SAMPLES_OUT/stalled-hello-snaplen.pcap and $SAMPLES_OUT/stall-ca.pem"
