#!/usr/bin/env bash
# The network for tests/live.rs: two network namespaces joined by a veth pair.
#
#   <prefix>-srv  192.0.2.10, 192.0.2.53 (veth "srv0")
#       dnsmasq on 192.0.2.53: example.test and www.example.test → 192.0.2.10
#       openssl s_server on 192.0.2.10:443  (TLS 1.2 only, certificate for www.example.test)
#       openssl s_server on 192.0.2.10:8443 (TLS 1.3, same certificate)
#   <prefix>-cli  192.0.2.100 (veth "cli0"), resolv.conf → 192.0.2.53
#
#   scenario.sh up PREFIX DIR     build it (certificates and logs in DIR)
#   scenario.sh clients PREFIX DIR  run the clients (curl, openssl s_client) in -cli
#   scenario.sh down PREFIX       remove it
# Needs root; installs iproute2, dnsmasq-base, openssl and curl with apt-get when missing.
set -euo pipefail
cmd=${1:?up|clients|down}; P=${2:?prefix}; D=${3:-}
SRV="$P-srv"; CLI="$P-cli"

down() {
  for ns in "$SRV" "$CLI"; do
    if [ -e "/run/netns/$ns" ]; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
      sleep 0.2
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    fi
    rm -rf "/etc/netns/$ns"
  done
}

wait_listen() {  # wait_listen PROTO(t|u) ADDR:PORT
  for _ in $(seq 1 50); do
    ip netns exec "$SRV" ss -Hln"$1" | awk '{print $4}' | grep -qxF "$2" && return 0
    sleep 0.1
  done
  echo "scenario: nothing listening on $2" >&2
  exit 1
}

case "$cmd" in
up)
  [ -n "$D" ] || { echo "scenario: up needs a directory" >&2; exit 2; }
  need=()
  command -v ip >/dev/null || need+=(iproute2)
  command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
  command -v openssl >/dev/null || need+=(openssl)
  command -v curl >/dev/null || need+=(curl)
  if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" ca-certificates >/dev/null
  fi
  down
  mkdir -p "$D"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$D/ca.key" -out "$D/ca.pem" \
    -subj "/CN=probewatch live test CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$D/leaf.key" -out "$D/leaf.csr" \
    -subj "/CN=www.example.test" 2>/dev/null
  printf 'subjectAltName=DNS:www.example.test\n' > "$D/leaf.ext"
  openssl x509 -req -in "$D/leaf.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -CAcreateserial \
    -days 2 -extfile "$D/leaf.ext" -out "$D/leaf.pem" 2>/dev/null
  ip netns add "$SRV"; ip netns add "$CLI"
  ip link add srv0 netns "$SRV" type veth peer name cli0 netns "$CLI"
  ip -n "$SRV" addr add 192.0.2.10/24 dev srv0
  ip -n "$SRV" addr add 192.0.2.53/24 dev srv0
  ip -n "$CLI" addr add 192.0.2.100/24 dev cli0
  for ns in "$SRV" "$CLI"; do ip -n "$ns" link set lo up; done
  ip -n "$SRV" link set srv0 up; ip -n "$CLI" link set cli0 up
  mkdir -p "/etc/netns/$CLI"
  echo "nameserver 192.0.2.53" > "/etc/netns/$CLI/resolv.conf"
  printf '127.0.0.1 localhost\n' > "/etc/netns/$CLI/hosts"
  ip netns exec "$SRV" dnsmasq --no-daemon --no-resolv --no-hosts --listen-address=192.0.2.53 \
    --bind-interfaces --address=/example.test/192.0.2.10 --log-facility=- \
    >"$D/dnsmasq.log" 2>&1 &
  ip netns exec "$SRV" openssl s_server -quiet -www -accept 192.0.2.10:443 -no_tls1_3 \
    -cert "$D/leaf.pem" -key "$D/leaf.key" >"$D/tls12.log" 2>&1 </dev/null &
  ip netns exec "$SRV" openssl s_server -quiet -www -accept 192.0.2.10:8443 -tls1_3 \
    -cert "$D/leaf.pem" -key "$D/leaf.key" >"$D/tls13.log" 2>&1 </dev/null &
  wait_listen u 192.0.2.53:53
  wait_listen t 192.0.2.10:443
  wait_listen t 192.0.2.10:8443
  ;;
clients)
  [ -n "$D" ] || { echo "scenario: clients needs a directory" >&2; exit 2; }
  # The name the certificate does not cover: curl refuses it.
  ip netns exec "$CLI" curl -s -4 --max-time 5 --cacert "$D/ca.pem" https://example.test/ -o /dev/null && exit 1
  sleep 0.2
  # The name it covers.
  ip netns exec "$CLI" curl -s -4 --max-time 5 --cacert "$D/ca.pem" https://www.example.test/ -o /dev/null
  sleep 0.2
  # TLS 1.3: the certificate is encrypted.
  echo | ip netns exec "$CLI" openssl s_client -connect 192.0.2.10:8443 -servername www.example.test \
    -CAfile "$D/ca.pem" >/dev/null 2>&1
  sleep 0.2
  ;;
down) down ;;
*) echo "scenario: unknown command $cmd" >&2; exit 2 ;;
esac
