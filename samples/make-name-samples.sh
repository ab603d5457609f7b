#!/usr/bin/env bash
# Regenerate samples/cert-names.pcap: one TLS 1.2 handshake per way a certificate's names
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
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS=pwnames
export NN_TAG=make-name-samples NN_NAMESPACES="$NS"
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

hellos=$(tshark -d tcp.port==5001-5099,tls -r "$OUT/cert-names.pcap" -Y 'tls.handshake.type == 1' 2>/dev/null | wc -l)
[ "$hellos" -eq ${#CASES[@]} ] || die "$hellos ClientHellos in the capture, ${#CASES[@]} cases"
certs=$(tshark -d tcp.port==5001-5099,tls -r "$OUT/cert-names.pcap" -Y 'tls.handshake.type == 11' 2>/dev/null | wc -l)
[ "$certs" -eq ${#CASES[@]} ] || die "$certs Certificate messages in the capture, ${#CASES[@]} cases"
cp "$OUT/cert-names.pcap" "$SAMPLES_OUT/"
log "wrote $SAMPLES_OUT/cert-names.pcap ($hellos handshakes)"
