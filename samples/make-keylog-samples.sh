#!/usr/bin/env bash
# Make the TLS 1.3 / QUIC samples that come with the clients' own key logs (NSS key log
# format, SSLKEYLOGFILE): nginx and openssl s_server as servers, curl and openssl
# s_client as TLS clients, aioquic (samples/quic-peer.py, PyPI in a throw-away venv) for
# QUIC, inside throw-away network namespaces, captured with tcpdump at the full snaplen.
# Run as root, independently of the other sample scripts:
#
#     sudo samples/make-keylog-samples.sh
#     sudo SAMPLES_OUT=/tmp/regen samples/make-keylog-samples.sh   # elsewhere
#
# It writes, each capture beside the key log its clients wrote:
#   keylog-tls13.pcap / .keys   TLS 1.3 only, to nginx (certificate for www.example.test):
#       1 curl, TLS_AES_128_GCM_SHA256, www.example.test            (match)
#       2 curl, TLS_AES_256_GCM_SHA384, www.example.test            (match)
#       3 s_client, TLS_CHACHA20_POLY1305_SHA256, old.example.test  (mismatch)
#       4 s_client, TLS_AES_128_CCM_SHA256, www.example.test        (match; saves its session)
#       5 s_client resuming session 4 with a PSK                    (no certificate sent)
#       6 curl without SSLKEYLOGFILE, www.example.test              (no key in the key log)
#   keylog-hrr.pcap / .keys     s_client offering a P-256 key share to openssl s_server
#       that takes X25519 only: HelloRetryRequest, then the handshake (match)
#   keylog-mtls.pcap / .keys    mutual TLS: s_client with a client certificate (CN joe) to
#       openssl s_server -Verify 1 (CertificateRequest; both certificates encrypted) (match)
#   keylog-0rtt.pcap / .keys    s_client resuming a session with 0-RTT early data
#       (-early_data) to s_server -early_data: a full handshake (match), then the
#       resumption whose early data the server accepts (PSK: no certificate)
#   keylog-quic.pcap / .keys    aioquic QUIC v1 to www.example.test (match) and QUIC v2
#       with ChaCha20-Poly1305 to other.example.test (mismatch)
#   keylog-tls13-dsb.pcapng     keylog-tls13.pcap with keylog-tls13.keys injected as a
#       Decryption Secrets Block (editcap --inject-secrets tls,...)
#
# Only documentation addresses are used (198.51.100.0/24 client, 192.0.2.0/24 servers)
# and every address lives in a namespace made here: no packet leaves the machine.
# Everything is torn down on exit; the files are copied into SAMPLES_OUT (default
# samples/) only when all were made and passed the checks at the end (tshark decrypts
# each capture with its key log and must find the certificates named above).
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwkl-srv
NS_C=pwkl-c4
export NN_TAG=make-keylog-samples NN_NAMESPACES="$NS_C $NS_SRV"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"
VENV="${QUIC_VENV:-/var/tmp/probewatch-quic-venv}"
AIOQUIC_VERSION="${AIOQUIC_VERSION:-1.2.0}"
FILTER='tcp port 443 or udp port 443'

nn_require_root
nn_tools install ip=iproute2 ss=iproute2 tcpdump=tcpdump nginx=nginx openssl=openssl \
  curl=curl ethtool=ethtool tshark=tshark editcap=wireshark-common python3=python3
if ! /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
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
nn_workdir /tmp/probewatch-keylog-samples.XXXXXX

log "generating certificates"
nn_cert ca "/O=Probewatch Samples/CN=Probewatch Key Log Test CA" rsa:2048 0x01 self "${NN_CA_EXT[@]}"
nn_leaf www www.example.test DNS:www.example.test 0x1201 ca
nn_cert joe "/O=Probewatch Samples/CN=joe" rsa:2048 0x1202 ca "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature" "extendedKeyUsage=clientAuth" "subjectKeyIdentifier=hash"
chmod 644 "$C"/*.crt

log "creating namespaces"
nn_ns_add "$NS_C" "$NS_SRV"
nn_no_ipv6 "$NS_C" "$NS_SRV"
nn_veth "$NS_C" eth0 "$NS_SRV" veth-c4 02:00:00:00:05:10 02:00:00:00:05:01
ip -n "$NS_SRV" addr add 198.51.100.1/24 dev veth-c4
nn_lo_addrs "$NS_SRV" 192.0.2.80 192.0.2.81 192.0.2.82 192.0.2.83 192.0.2.90
ip -n "$NS_C" addr add 198.51.100.10/24 dev eth0
ip -n "$NS_C" route add default via 198.51.100.1

log "starting nginx (TLS 1.3 only, four cipher suites) on 192.0.2.80:443"
{
  nn_nginx_head
  cat <<EOF
  server {
    listen 192.0.2.80:443 ssl default_server;
    server_name www.example.test;
    ssl_certificate $C/www.crt;
    ssl_certificate_key $C/www.key;
    ssl_protocols TLSv1.3;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256;
    ssl_session_tickets on;
    location / { return 200 "hello from www.example.test\n"; }
  }
}
EOF
} >"$W/nginx.conf"
ip netns exec "$NS_SRV" nginx -c "$W/nginx.conf" 2>"$W/nginx.err" &
nn_wait_listen "$NS_SRV" t 192.0.2.80:443

log "starting openssl s_server (X25519 only) on 192.0.2.81:443"
ip netns exec "$NS_SRV" openssl s_server -quiet -accept 192.0.2.81:443 -tls1_3 -groups X25519 \
  -cert "$C/www.crt" -key "$C/www.key" -www >"$W/s_server.log" 2>&1 &
nn_wait_listen "$NS_SRV" t 192.0.2.81:443

log "starting openssl s_server (client certificate required) on 192.0.2.82:443"
ip netns exec "$NS_SRV" openssl s_server -quiet -accept 192.0.2.82:443 -tls1_3 -Verify 1 \
  -CAfile "$C/ca.crt" -cert "$C/www.crt" -key "$C/www.key" -www >"$W/s_server-mtls.log" 2>&1 &
nn_wait_listen "$NS_SRV" t 192.0.2.82:443

log "starting openssl s_server (0-RTT early data) on 192.0.2.83:443"
# Not -www (it does not read early data): the plain mode echoes what it reads, and its
# standard input stays open (sleep, inside the namespace so the teardown ends it).
ip netns exec "$NS_SRV" sh -c "sleep 600 | exec openssl s_server -accept 192.0.2.83:443 -tls1_3 \
  -early_data -max_early_data 16384 -cert '$C/www.crt' -key '$C/www.key'" >"$W/s_server-0rtt.log" 2>&1 &
nn_wait_listen "$NS_SRV" t 192.0.2.83:443

log "starting the aioquic server (v1 and v2) on 192.0.2.90:443"
ip netns exec "$NS_SRV" "$PY" "$PEER" server 192.0.2.90 443 "$C/www.crt" "$C/www.key" \
  --alpn h3 --versions 1,2 >"$W/aioquic-server.log" 2>&1 &
nn_wait_listen "$NS_SRV" u 192.0.2.90:443

inc() { ip netns exec "$NS_C" "$@"; }
step() { sleep 0.3; }
curl13() {  # curl13 CIPHER KEYLOG|"" : one verified HTTPS GET to www.example.test
  local k=$1 log=$2
  inc env ${log:+SSLKEYLOGFILE="$log"} curl -sS --max-time 10 --tlsv1.3 --tls13-ciphers "$k" \
    --cacert "$C/ca.crt" --resolve www.example.test:443:192.0.2.80 \
    https://www.example.test/ >>"$W/curl.out" 2>>"$W/curl.err" ||
    { cat "$W/curl.err" >&2; die "curl $k failed"; }
}
s_client() {  # s_client OUT ARGS... : a TLS 1.3 session that waits for the session ticket
  local out=$1; shift
  { sleep 0.8; printf 'GET / HTTP/1.0\r\n\r\n'; sleep 0.8; } |
    inc openssl s_client -tls1_3 -CAfile "$C/ca.crt" -ign_eof "$@" >"$W/$out" 2>&1 || true
}

K=$OUT/keylog-tls13.keys
log "capturing keylog-tls13.pcap"
nn_cap_start "$NS_C" eth0 "$OUT/keylog-tls13.pcap" "$FILTER"
curl13 TLS_AES_128_GCM_SHA256 "$K"; step
curl13 TLS_AES_256_GCM_SHA384 "$K"; step
s_client chacha.out -connect 192.0.2.80:443 -servername old.example.test \
  -ciphersuites TLS_CHACHA20_POLY1305_SHA256 -keylogfile "$K"
# The chain verifies; the name is not checked here (that is probewatch's finding).
grep -q 'Verify return code: 0 (ok)' "$W/chacha.out" || { cat "$W/chacha.out" >&2; die "s_client chacha failed"; }
step
s_client ccm.out -connect 192.0.2.80:443 -servername www.example.test -verify_hostname www.example.test \
  -ciphersuites TLS_AES_128_CCM_SHA256 -keylogfile "$K" -sess_out "$W/sess.pem"
grep -q 'Verify return code: 0 (ok)' "$W/ccm.out" || { cat "$W/ccm.out" >&2; die "s_client ccm failed"; }
[ -s "$W/sess.pem" ] || die "s_client ccm: no session saved"
step
s_client resumed.out -connect 192.0.2.80:443 -servername www.example.test \
  -ciphersuites TLS_AES_128_CCM_SHA256 -keylogfile "$K" -sess_in "$W/sess.pem"
grep -q '^Reused, TLSv1.3' "$W/resumed.out" || { cat "$W/resumed.out" >&2; die "s_client: session not resumed"; }
step
curl13 TLS_AES_128_GCM_SHA256 ""
nn_cap_stop

KH=$OUT/keylog-hrr.keys
log "capturing keylog-hrr.pcap"
nn_cap_start "$NS_C" eth0 "$OUT/keylog-hrr.pcap" "$FILTER"
s_client hrr.out -connect 192.0.2.81:443 -servername www.example.test -verify_hostname www.example.test \
  -groups P-256:X25519 -keylogfile "$KH"
grep -q 'Verify return code: 0 (ok)' "$W/hrr.out" || { cat "$W/hrr.out" >&2; die "s_client hrr failed"; }
nn_cap_stop

KM=$OUT/keylog-mtls.keys
log "capturing keylog-mtls.pcap"
nn_cap_start "$NS_C" eth0 "$OUT/keylog-mtls.pcap" "$FILTER"
s_client mtls.out -connect 192.0.2.82:443 -servername www.example.test -verify_hostname www.example.test \
  -cert "$C/joe.crt" -key "$C/joe.key" -keylogfile "$KM"
grep -q 'Verify return code: 0 (ok)' "$W/mtls.out" || { cat "$W/mtls.out" >&2; die "s_client mtls failed"; }
grep -q 'HTTP/1.0 200' "$W/mtls.out" || { cat "$W/mtls.out" >&2; die "s_server did not accept the client certificate"; }
nn_cap_stop

s_client_eof() {  # s_client_eof OUT ARGS... : like s_client, but stops at the end of its input
  local out=$1; shift
  { sleep 0.8; printf 'GET / HTTP/1.0\r\n\r\n'; sleep 0.8; } |
    inc openssl s_client -tls1_3 -CAfile "$C/ca.crt" "$@" >"$W/$out" 2>&1 || true
}
K0=$OUT/keylog-0rtt.keys
log "capturing keylog-0rtt.pcap"
printf 'GET /early HTTP/1.0\r\n\r\n' >"$W/early.txt"
nn_cap_start "$NS_C" eth0 "$OUT/keylog-0rtt.pcap" "$FILTER"
s_client_eof 0rtt-first.out -connect 192.0.2.83:443 -servername www.example.test -verify_hostname www.example.test \
  -keylogfile "$K0" -sess_out "$W/sess0.pem"
grep -q 'Verify return code: 0 (ok)' "$W/0rtt-first.out" || { cat "$W/0rtt-first.out" >&2; die "s_client 0-RTT first failed"; }
grep -q 'Max Early Data: 16384' "$W/0rtt-first.out" || { cat "$W/0rtt-first.out" >&2; die "no early data allowed in the ticket"; }
step
s_client_eof 0rtt-early.out -connect 192.0.2.83:443 -servername www.example.test \
  -keylogfile "$K0" -sess_in "$W/sess0.pem" -early_data "$W/early.txt"
grep -q 'Early data was accepted' "$W/0rtt-early.out" || { cat "$W/0rtt-early.out" >&2; die "early data not accepted"; }
nn_cap_stop

KQ=$OUT/keylog-quic.keys
log "capturing keylog-quic.pcap"
quic() {
  local r
  r=$(inc "$PY" "$PEER" client 192.0.2.90 443 --keylog "$KQ" "$@")
  log "  aioquic $*: $r"
  case $r in ok:*) ;; *) die "aioquic client failed: $r" ;; esac
}
nn_cap_start "$NS_C" eth0 "$OUT/keylog-quic.pcap" 'udp port 443'
quic --sni www.example.test --alpn h3 --versions 1; step
quic --sni other.example.test --alpn h3 --versions 2 --cipher TLS_CHACHA20_POLY1305_SHA256
nn_cap_stop 1

log "injecting keylog-tls13.keys into keylog-tls13-dsb.pcapng"
editcap --inject-secrets "tls,$K" "$OUT/keylog-tls13.pcap" "$OUT/keylog-tls13-dsb.pcapng"

# --------------------------------------------------------------------------
# checks (tshark decrypts with the key log), then publish
# --------------------------------------------------------------------------
log "checking captures"
ts() { tshark -n -r "$@" 2>/dev/null; }
check() { [ "$2" = "$3" ] || die "check failed: $1: want '$2', got '$3'"; }
f=$OUT/keylog-tls13.pcap
check "tls13 SNIs" "www.example.test www.example.test old.example.test www.example.test www.example.test www.example.test" \
  "$(ts "$f" -Y 'tls.handshake.type==1' -T fields -e tls.handshake.extensions_server_name | xargs)"
check "tls13 suites" "0x1301 0x1302 0x1303 0x1304 0x1304 0x1301" \
  "$(ts "$f" -Y 'tls.handshake.type==2' -T fields -e tls.handshake.ciphersuite | xargs)"
check "tls13 certificates seen in the clear" "" \
  "$(ts "$f" -Y 'tls.handshake.type==11' -T fields -e frame.number | xargs)"
check "tls13 certificates decrypted (5 keyed, 1 resumed without one, 1 without key)" "4" \
  "$(ts "$f" -o "tls.keylog_file:$K" -Y 'tls.handshake.type==11' -T fields -e frame.number | wc -l)"
check "tls13 key log client randoms" "5" \
  "$(grep SERVER_HANDSHAKE_TRAFFIC_SECRET "$K" | awk '{print $2}' | sort -u | wc -l)"
check "tls13 dsb certificates" "4" \
  "$(ts "$OUT/keylog-tls13-dsb.pcapng" -Y 'tls.handshake.type==11' -T fields -e frame.number | wc -l)"
f=$OUT/keylog-hrr.pcap
check "hrr ServerHellos (HRR + real)" "2" \
  "$(ts "$f" -Y 'tls.handshake.type==2' -T fields -e frame.number | wc -l)"
check "hrr certificate decrypted" "www.example.test" \
  "$(ts "$f" -o "tls.keylog_file:$KH" -Y 'tls.handshake.type==11' -T fields -e x509sat.uTF8String | tr ',' '\n' | grep -x www.example.test | sort -u)"
f=$OUT/keylog-mtls.pcap
check "mtls certificates decrypted (server, client)" "2" \
  "$(ts "$f" -o "tls.keylog_file:$KM" -Y 'tls.handshake.type==11' -T fields -e frame.number | wc -l)"
check "mtls CertificateRequest" "1" \
  "$(ts "$f" -o "tls.keylog_file:$KM" -Y 'tls.handshake.type==13' -T fields -e frame.number | wc -l)"
check "0rtt key log: early traffic secret" "1" "$(grep -c CLIENT_EARLY_TRAFFIC_SECRET "$K0")"
check "0rtt certificates decrypted (first connection only)" "1" \
  "$(ts "$OUT/keylog-0rtt.pcap" -o "tls.keylog_file:$K0" -Y 'tls.handshake.type==11' -T fields -e frame.number | wc -l)"
f=$OUT/keylog-quic.pcap
# aioquic starts v2 with a v1 Initial and upgrades (compatible version negotiation,
# RFC 9368): the server's packets of the second connection are v2. tshark 4.0 does not
# dissect QUIC v2, so those are found by their version field, and only the v1
# certificate is decrypted by tshark.
check "quic v2 long-header packets from the server" "yes" \
  "$(ts "$f" -Y 'udp.srcport==443' -T fields -e udp.payload | grep -q '^..6b3343cf' && echo yes)"
check "quic v1 certificate decrypted" "www.example.test" \
  "$(ts "$f" -o "tls.keylog_file:$KQ" -Y 'tls.handshake.type==11' -T fields -e x509sat.uTF8String | tr ',' '\n' | grep -x www.example.test | sort -u)"
check "quic key log connections" "2" "$(grep -c SERVER_HANDSHAKE_TRAFFIC_SECRET "$KQ")"
for f in keylog-tls13.pcap keylog-tls13.keys keylog-hrr.pcap keylog-hrr.keys keylog-mtls.pcap keylog-mtls.keys \
         keylog-0rtt.pcap keylog-0rtt.keys \
         keylog-quic.pcap keylog-quic.keys keylog-tls13-dsb.pcapng; do
  install -m 0644 "$OUT/$f" "$SAMPLES_OUT/$f"
done
log "done: $(cd "$SAMPLES_OUT" && stat -c '%n %s' keylog-* | xargs)"
