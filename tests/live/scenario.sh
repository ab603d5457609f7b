#!/usr/bin/env bash
# The network for tests/live.rs: two network namespaces joined by a veth pair.
#
#   <prefix>-srv  192.0.2.10, 192.0.2.53, 2001:db8::10 (veth "srv0")
#       dnsmasq on 192.0.2.53: example.test and www.example.test → 192.0.2.10 and
#       2001:db8::10
#       openssl s_server on 192.0.2.10:443 and [2001:db8::10]:443 (TLS 1.2 only,
#       certificate for www.example.test)
#       openssl s_server on 192.0.2.10:8443 (TLS 1.3, same certificate)
#   <prefix>-cli  192.0.2.100 and 2001:db8::100 on one veth "cli0" (one MAC: a
#                 dual-stack host), resolv.conf → 192.0.2.53
#
#   scenario.sh up PREFIX DIR     build it (certificates and logs in DIR)
#   scenario.sh clients PREFIX DIR  run the clients (curl, openssl s_client) in -cli
#   scenario.sh dualstack PREFIX DIR  curl -4 and curl -6 to www.example.test from -cli
#   scenario.sh down PREFIX       remove it
# Needs root, iproute2, dnsmasq-base, openssl and curl. It never installs anything (the
# live tests run it several times at once): scripts/deps.sh installs them, once, up front.
set -euo pipefail
cmd=${1:?up|clients|down}; P=${2:?prefix}; D=${3:-}
SRV="$P-srv"; CLI="$P-cli"
export NN_TAG=scenario NN_NAMESPACES="$SRV $CLI"
# shellcheck source=scripts/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/netns.sh"

case "$cmd" in
up)
  [ -n "$D" ] || { echo "scenario: up needs a directory" >&2; exit 2; }
  nn_tools check ip=iproute2 ss=iproute2 dnsmasq=dnsmasq-base openssl=openssl curl=curl
  nn_teardown
  mkdir -p "$D"
  C=$D NN_CERT_DAYS=2
  nn_cert ca "/CN=probewatch live test CA" rsa:2048 - self "${NN_CA_EXT[@]}"
  nn_cert leaf "/CN=www.example.test" rsa:2048 - ca "subjectAltName=DNS:www.example.test"
  nn_ns_add "$SRV" "$CLI"
  nn_veth "$SRV" srv0 "$CLI" cli0
  ip -n "$SRV" addr add 192.0.2.10/24 dev srv0
  ip -n "$SRV" addr add 192.0.2.53/24 dev srv0
  ip -n "$CLI" addr add 192.0.2.100/24 dev cli0
  ip -n "$SRV" addr add 2001:db8::10/64 dev srv0 nodad
  ip -n "$CLI" addr add 2001:db8::100/64 dev cli0 nodad
  nn_resolv "$CLI" 'nameserver 192.0.2.53\n'
  ip netns exec "$SRV" dnsmasq --no-daemon --no-resolv --no-hosts --listen-address=192.0.2.53 \
    --bind-interfaces --address=/example.test/192.0.2.10 --address=/example.test/2001:db8::10 --log-facility=- \
    >"$D/dnsmasq.log" 2>&1 &
  ip netns exec "$SRV" openssl s_server -quiet -www -accept 192.0.2.10:443 -no_tls1_3 \
    -cert "$D/leaf.crt" -key "$D/leaf.key" >"$D/tls12.log" 2>&1 </dev/null &
  ip netns exec "$SRV" openssl s_server -quiet -www -accept '[2001:db8::10]:443' -no_tls1_3 \
    -cert "$D/leaf.crt" -key "$D/leaf.key" >"$D/tls12-6.log" 2>&1 </dev/null &
  ip netns exec "$SRV" openssl s_server -quiet -www -accept 192.0.2.10:8443 -tls1_3 \
    -cert "$D/leaf.crt" -key "$D/leaf.key" >"$D/tls13.log" 2>&1 </dev/null &
  nn_wait_listen "$SRV" u 192.0.2.53:53 50
  nn_wait_listen "$SRV" t 192.0.2.10:443 50
  nn_wait_listen "$SRV" t '[2001:db8::10]:443' 50
  nn_wait_listen "$SRV" t 192.0.2.10:8443 50
  ;;
clients)
  [ -n "$D" ] || { echo "scenario: clients needs a directory" >&2; exit 2; }
  # The name the certificate does not cover: curl refuses it.
  ip netns exec "$CLI" curl -s -4 --max-time 5 --cacert "$D/ca.crt" https://example.test/ -o /dev/null && exit 1
  sleep 0.2
  # The name it covers.
  ip netns exec "$CLI" curl -s -4 --max-time 5 --cacert "$D/ca.crt" https://www.example.test/ -o /dev/null
  sleep 0.2
  # TLS 1.3: the certificate is encrypted.
  echo | ip netns exec "$CLI" openssl s_client -connect 192.0.2.10:8443 -servername www.example.test \
    -CAfile "$D/ca.crt" >/dev/null 2>&1
  sleep 0.2
  ;;
dualstack)
  [ -n "$D" ] || { echo "scenario: dualstack needs a directory" >&2; exit 2; }
  # One host (one MAC), the same name over IPv4 and over IPv6.
  ip netns exec "$CLI" curl -s -4 --max-time 5 --cacert "$D/ca.crt" https://www.example.test/ -o /dev/null
  sleep 0.2
  ip netns exec "$CLI" curl -s -6 --max-time 5 --cacert "$D/ca.crt" https://www.example.test/ -o /dev/null
  sleep 0.2
  ;;
down) nn_teardown ;;
*) echo "scenario: unknown command $cmd" >&2; exit 2 ;;
esac
