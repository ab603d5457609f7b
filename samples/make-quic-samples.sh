#!/usr/bin/env bash
# Make the QUIC / ECH sample captures in samples/ with real programs: an aioquic client
# and servers (Python, from PyPI in a throw-away venv), Chromium (Debian package),
# nginx, dnsmasq and dig, in throw-away network namespaces, captured with tcpdump.
# Run as root, independently of make-samples.sh:
#
#     sudo samples/make-quic-samples.sh
#     sudo SAMPLES_OUT=/tmp/regen samples/make-quic-samples.sh   # elsewhere
#
# Only documentation addresses are used (198.51.100.0/24 client, 192.0.2.0/24 servers)
# and every address lives in a namespace made here: no packet leaves the machine.
# Everything is torn down on exit; captures are copied into SAMPLES_OUT (default
# samples/) only when all of them were made and passed the checks at the end.
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwq-srv
NS_C=pwq-c4
export NN_TAG=make-quic-samples NN_NAMESPACES="$NS_C $NS_SRV"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"
VENV="${QUIC_VENV:-/var/tmp/probewatch-quic-venv}"
AIOQUIC_VERSION="${AIOQUIC_VERSION:-1.2.0}"
FILTER='udp port 53 or udp port 443 or udp port 4433 or tcp port 443'

nn_require_root
# --------------------------------------------------------------------------
# packages: Debian for the system tools, PyPI (in a venv) for aioquic
# --------------------------------------------------------------------------
venv_pkg=()
/usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || venv_pkg=(ensurepip=python3-venv)
nn_tools install ip=iproute2 ss=iproute2 tcpdump=tcpdump nginx=nginx dnsmasq=dnsmasq-base \
  openssl=openssl dig=bind9-dnsutils ethtool=ethtool tshark=tshark chromium=chromium \
  python3=python3 "${venv_pkg[@]}"
if ! "$VENV/bin/python" -c "import aioquic, sys; sys.exit(aioquic.__version__ != '$AIOQUIC_VERSION')" 2>/dev/null; then
  log "installing aioquic $AIOQUIC_VERSION into $VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "aioquic==$AIOQUIC_VERSION"
fi
PY="$VENV/bin/python"
PEER="$SAMPLES_DIR/quic-peer.py"

nn_samples_out
nn_trap "$SAMPLES_OUT left unchanged"
nn_teardown   # leftovers of an interrupted run
nn_workdir /tmp/probewatch-quic-samples.XXXXXX

# --------------------------------------------------------------------------
# certificates: a test CA and one leaf per server (ECDSA P-256)
# --------------------------------------------------------------------------
log "generating certificates"
nn_cert ca "/O=Probewatch Samples/CN=Probewatch QUIC Test CA" ec:P-256 - self \
  basicConstraints=critical,CA:TRUE subjectKeyIdentifier=hash
leaf() {  # leaf NAME SAN
  nn_cert "$1" "/O=Probewatch Samples/CN=$1" ec:P-256 - ca "subjectAltName=$2" extendedKeyUsage=serverAuth
}
leaf quic.example.org "DNS:quic.example.org,DNS:v2.example.org"
leaf retry.example.org DNS:retry.example.org
leaf v1only.example.org DNS:v1only.example.org
leaf cover.example.org DNS:cover.example.org

# --------------------------------------------------------------------------
# network: client namespace -- veth -- server namespace (servers on its lo)
# --------------------------------------------------------------------------
log "creating namespaces"
SRV4=(192.0.2.53 192.0.2.110 192.0.2.111 192.0.2.112 192.0.2.113 192.0.2.120)
nn_ns_add "$NS_C" "$NS_SRV"
nn_no_ipv6 "$NS_C" "$NS_SRV"
nn_veth "$NS_C" eth0 "$NS_SRV" veth-c 02:00:00:00:04:20 02:00:00:00:04:01
ip -n "$NS_SRV" addr add 198.51.100.1/24 dev veth-c
nn_lo_addrs "$NS_SRV" "${SRV4[@]}"
ip -n "$NS_C" addr add 198.51.100.20/24 dev eth0
ip -n "$NS_C" route add default via 198.51.100.1
for ns in "$NS_C" "$NS_SRV"; do nn_resolv "$ns" 'nameserver 192.0.2.53\noptions single-request\n'; done

# --------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------
log "starting dnsmasq"
# HTTPS RR for real.example.org: priority 1, target ".", alpn=h2, ech=<an ECHConfigList
# (draft-ietf-tls-esni, version 0xfe0d) with public name cover.example.org and a random
# X25519 key>. Nobody holds the private key: the record only has to be a real one.
HTTPS_ECH_RR=$("$PY" - <<'PYEOF'
import os, struct
pub = b"cover.example.org"
contents = (bytes([7]) + struct.pack(">H", 0x0020) + struct.pack(">H", 32) + os.urandom(32)
            + struct.pack(">H", 4) + struct.pack(">HH", 0x0001, 0x0001)
            + bytes([0, len(pub)]) + pub + struct.pack(">H", 0))
config = struct.pack(">HH", 0xfe0d, len(contents)) + contents
ech = struct.pack(">H", len(config)) + config
alpn = bytes([2]) + b"h2"
rdata = (struct.pack(">H", 1) + b"\x00" + struct.pack(">HH", 1, len(alpn)) + alpn
         + struct.pack(">HH", 5, len(ech)) + ech)
print(":".join(f"{b:02x}" for b in rdata))
PYEOF
)
ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$W/dnsmasq.pid" --user=root --group=root \
  --no-resolv --no-hosts --no-poll --bind-interfaces --listen-address=192.0.2.53 \
  --local=/example.org/ --local-ttl=300 --log-queries --log-facility="$W/dnsmasq.log" \
  --host-record=quic.example.org,192.0.2.110 \
  --host-record=v2.example.org,192.0.2.110 \
  --host-record=retry.example.org,192.0.2.111 \
  --host-record=v1only.example.org,192.0.2.112 \
  --host-record=silent.example.org,192.0.2.113 \
  --host-record=real.example.org,192.0.2.120 \
  --dns-rr=real.example.org,65,"$HTTPS_ECH_RR" \
  2>"$W/dnsmasq.err" &
nn_wait_listen "$NS_SRV" u 192.0.2.53:53

log "starting aioquic servers"
srv() { ip netns exec "$NS_SRV" "$PY" "$PEER" server "$@" >>"$W/aioquic-server.log" 2>&1 & }
srv 192.0.2.110 443 "$C/quic.example.org.crt" "$C/quic.example.org.key" --alpn h3 --versions 1,2
srv 192.0.2.111 4433 "$C/retry.example.org.crt" "$C/retry.example.org.key" --alpn h3 --retry
srv 192.0.2.112 443 "$C/v1only.example.org.crt" "$C/v1only.example.org.key" --alpn h3 --versions 1
nn_wait_listen "$NS_SRV" u 192.0.2.110:443
nn_wait_listen "$NS_SRV" u 192.0.2.111:4433
nn_wait_listen "$NS_SRV" u 192.0.2.112:443

log "starting nginx"
{
nn_nginx_head
cat <<EOF
  ssl_protocols TLSv1.2 TLSv1.3;
  server {
    listen 192.0.2.120:443 ssl;
    server_name cover.example.org;
    ssl_certificate $C/cover.example.org.crt;
    ssl_certificate_key $C/cover.example.org.key;
    location / { return 200 "cover.example.org over TLS\n"; }
  }
}
EOF
} >"$W/nginx.conf"
ip netns exec "$NS_SRV" nginx -c "$W/nginx.conf" 2>"$W/nginx.err" &
nn_wait_listen "$NS_SRV" t 192.0.2.120:443


# --------------------------------------------------------------------------
# captures
# --------------------------------------------------------------------------
client() {  # client NAME PORT ARGS...  (the name is resolved over DNS by getaddrinfo)
  local r
  r=$(ip netns exec "$NS_C" "$PY" "$PEER" client "$@")
  log "    quic $1:$2 -> $r"
  printf '%s\n' "$r" >>"$W/clients.log"
}

log "capturing quic-aioquic.pcap"
nn_cap_start "$NS_C" eth0 "$OUT/quic-aioquic.pcap" "$FILTER"
client quic.example.org 443 --sni quic.example.org --alpn h3 --versions 1
client v2.example.org 443 --sni v2.example.org --alpn h3 --versions 2
client retry.example.org 4433 --sni retry.example.org --alpn h3 --versions 1
client v1only.example.org 443 --sni v1only.example.org --alpn h3 --versions 2,1
client quic.example.org 443 --sni quic.example.org --alpn smtp-over-quic --versions 1
client silent.example.org 443 --sni silent.example.org --alpn h3 --versions 1 --timeout 2
nn_cap_stop 1

log "capturing quic-split-hello.pcap"
# Twelve long ALPN names make the ClientHello larger than one Initial packet can carry.
LONG_ALPN="h3"
for i in $(seq -w 1 12); do LONG_ALPN="$LONG_ALPN,probewatch-sample-alpn-$i-$(printf 'x%.0s' $(seq 1 70))"; done
nn_cap_start "$NS_C" eth0 "$OUT/quic-split-hello.pcap" "$FILTER"
client quic.example.org 443 --sni quic.example.org --alpn "$LONG_ALPN" --versions 1
nn_cap_stop 1

log "capturing chromium-ech.pcap"
CHROME=(chromium --headless=new --no-sandbox --disable-gpu --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --disable-default-apps --disable-extensions --user-data-dir="$W/chrome"
  --ignore-certificate-errors
  "--host-resolver-rules=MAP cover.example.org 192.0.2.120, MAP quic.example.org 192.0.2.110, MAP * ~NOTFOUND"
  --origin-to-force-quic-on=quic.example.org:443
  --virtual-time-budget=3000 --timeout=8000 --dump-dom)
nn_cap_start "$NS_C" eth0 "$OUT/chromium-ech.pcap" "$FILTER"
# The client looks up real.example.org (HTTPS with an ech parameter, and A 192.0.2.120),
# then Chromium connects to the same address with SNI cover.example.org and, having no
# ECH configuration, GREASE ECH; then Chromium over QUIC to quic.example.org.
ip netns exec "$NS_C" dig +short +norec @192.0.2.53 real.example.org HTTPS >/dev/null
ip netns exec "$NS_C" dig +short +norec @192.0.2.53 real.example.org A >/dev/null
ip netns exec "$NS_C" timeout 20 "${CHROME[@]}" https://cover.example.org/ >"$W/chrome-tcp.out" 2>"$W/chrome-tcp.err" || true
ip netns exec "$NS_C" timeout 20 "${CHROME[@]}" https://quic.example.org/ >"$W/chrome-quic.out" 2>"$W/chrome-quic.err" || true
nn_cap_stop 1

# --------------------------------------------------------------------------
# checks (tshark reads the QUIC Initials itself)
# --------------------------------------------------------------------------
log "checking captures"
sni() { tshark -r "$1" -Y 'tls.handshake.type==1' -T fields -e tls.handshake.extensions_server_name 2>/dev/null | sort -u | tr '\n' ' '; }
want() {  # want FILE SNI...
  local got; got=$(sni "$1")
  shift_file=$1; shift
  for n in "$@"; do
    case " $got " in *" $n "*) ;; *) die "$(basename "$shift_file"): no ClientHello with SNI $n (got: $got)";; esac
  done
}
want "$OUT/quic-aioquic.pcap" quic.example.org v2.example.org retry.example.org v1only.example.org silent.example.org
want "$OUT/quic-split-hello.pcap" quic.example.org
want "$OUT/chromium-ech.pcap" cover.example.org quic.example.org
tshark -r "$OUT/chromium-ech.pcap" -Y 'tls.handshake.type==1 && tcp' -T fields -e tls.handshake.extension.type 2>/dev/null \
  | tr ',' '\n' | grep -qx 65037 || die "chromium-ech.pcap: the TCP ClientHello has no encrypted_client_hello extension"
frags=$(tshark -r "$OUT/quic-split-hello.pcap" -Y 'quic.long.packet_type==0 && udp.dstport==443' -T fields -e frame.number 2>/dev/null | wc -l)
[ "$frags" -ge 2 ] || die "quic-split-hello.pcap: the hello did not need two Initials"

for f in quic-aioquic.pcap quic-split-hello.pcap chromium-ech.pcap; do
  cp "$OUT/$f" "$SAMPLES_OUT/$f"
  log "  $SAMPLES_OUT/$f: $(stat -c %s "$SAMPLES_OUT/$f") bytes"
done
log "clients:"; sed 's/^/    /' "$W/clients.log" >&2
log "done"
