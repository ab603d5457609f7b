#!/usr/bin/env bash
# Regenerate samples/dual-stack.pcap and samples/behind-router.pcap: one machine that
# uses IPv4 and IPv6 (curl -4 / -6, as Happy Eyeballs and Outlook's Autodiscover
# fan-out do), and the same traffic seen behind a router, where every client address
# arrives with the router's MAC.  Real programs (nginx, dnsmasq, curl) in throw-away
# network namespaces, captured with tcpdump.  Run as root:
#
#     sudo samples/make-host-samples.sh
#
#   dual-stack.pcap    captured on the laptop's link (MAC 02:00:00:00:0d:10): the laptop
#                      (198.51.100.10 and 2001:db8:1::10) asks autodiscover.example.com
#                      over IPv4 and example.com over IPv6, then a second machine on the
#                      same link (198.51.100.11, its own MAC) asks example.com
#   behind-router.pcap captured on the router's server side: the laptop and a second
#                      IPv4 client (198.51.100.12) behind one router MAC
#
# Only documentation addresses are used; every address lives inside a namespace created
# here.  The captures and the root go into SAMPLES_OUT (default samples/) only when the
# checks at the end passed:
#
#     sudo SAMPLES_OUT=/tmp/regen samples/make-host-samples.sh   # elsewhere
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwhost-srv     # servers (nginx, dnsmasq)
NS_RTR=pwhost-rtr     # the router between the LAN and the servers
NS_A=pwhost-a         # the dual-stack laptop
NS_B=pwhost-b         # a second machine on the LAN
export NN_TAG=make-host-samples NN_NAMESPACES="$NS_A $NS_B $NS_RTR $NS_SRV"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"

nn_require_root
nn_tools install ip=iproute2 ss=iproute2 tcpdump=tcpdump tshark=tshark nginx=nginx openssl=openssl \
  curl=curl dnsmasq=dnsmasq-base ethtool=ethtool

nn_samples_out
nn_trap "$SAMPLES_OUT left unchanged"
nn_teardown   # leftovers of an interrupted run
nn_workdir /tmp/probewatch-hosts.XXXXXX

log "generating certificates"
nn_cert ca "/O=Probewatch Samples/CN=Probewatch Host Root CA" rsa:2048 - self "${NN_CA_EXT[@]}"
# One certificate for the mail host, the names of the Autodiscover fan-out on it.
NN_CERT_DAYS=365 nn_leaf mail autodiscover.example.com DNS:autodiscover.example.com,DNS:example.com - ca

# --------------------------------------------------------------------------
# network: A and B on a LAN bridge in the router namespace; router -- servers
# --------------------------------------------------------------------------
log "creating namespaces"
# shellcheck disable=SC2086  # NN_NAMESPACES is a list
nn_ns_add $NN_NAMESPACES
# shellcheck disable=SC2086
nn_no_dad $NN_NAMESPACES
nn_no_ipv6 "$NS_B"
ip netns exec "$NS_RTR" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n "$NS_RTR" link add lan type bridge
ip -n "$NS_RTR" link set lan up
nn_veth "$NS_A" eth0 "$NS_RTR" port-a 02:00:00:00:0d:10
nn_veth "$NS_B" eth0 "$NS_RTR" port-b 02:00:00:00:0d:11
nn_veth "$NS_RTR" up0 "$NS_SRV" down0 02:00:00:00:0d:01 02:00:00:00:0d:02
ip -n "$NS_RTR" link set port-a master lan
ip -n "$NS_RTR" link set port-b master lan
ip -n "$NS_RTR" addr add 198.51.100.1/24 dev lan
ip -n "$NS_RTR" addr add 2001:db8:1::1/64 dev lan nodad
ip -n "$NS_RTR" addr add 203.0.113.1/30 dev up0
ip -n "$NS_RTR" addr add 2001:db8:ff::1/64 dev up0 nodad
ip -n "$NS_SRV" addr add 203.0.113.2/30 dev down0
ip -n "$NS_SRV" addr add 2001:db8:ff::2/64 dev down0 nodad
nn_lo_addrs "$NS_SRV" 192.0.2.20 192.0.2.53 2001:db8:2::20 2001:db8:2::53
ip -n "$NS_SRV" route add 198.51.100.0/24 via 203.0.113.1
ip -n "$NS_SRV" -6 route add 2001:db8:1::/64 via 2001:db8:ff::1
ip -n "$NS_RTR" route add 192.0.2.0/24 via 203.0.113.2
ip -n "$NS_RTR" -6 route add 2001:db8:2::/64 via 2001:db8:ff::2
ip -n "$NS_A" addr add 198.51.100.10/24 dev eth0
ip -n "$NS_A" addr add 2001:db8:1::10/64 dev eth0 nodad
ip -n "$NS_A" route add default via 198.51.100.1
ip -n "$NS_A" -6 route add default via 2001:db8:1::1
ip -n "$NS_B" addr add 198.51.100.11/24 dev eth0
ip -n "$NS_B" route add default via 198.51.100.1
for ns in $NS_A $NS_B; do nn_resolv "$ns" 'nameserver 192.0.2.53\n'; done

log "starting dnsmasq and nginx"
ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$W/dnsmasq.pid" --user=root --group=root --no-resolv --no-hosts --no-poll \
  --bind-interfaces --listen-address=192.0.2.53 --local=/example.com/ --local-ttl=300 \
  --host-record=autodiscover.example.com,192.0.2.20,2001:db8:2::20 \
  --host-record=example.com,192.0.2.20,2001:db8:2::20 2>"$W/dnsmasq.err" &
nn_wait_listen "$NS_SRV" u 192.0.2.53:53
{
nn_nginx_head
cat <<EOF
  ssl_protocols TLSv1.2;
  server {
    listen 192.0.2.20:443 ssl;
    listen [2001:db8:2::20]:443 ssl;
    server_name autodiscover.example.com example.com;
    ssl_certificate $C/mail.crt;
    ssl_certificate_key $C/mail.key;
    location / { return 200 "autodiscover\n"; }
  }
}
EOF
} >"$W/nginx.conf"
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>"$W/nginx.err" &
nn_wait_listen "$NS_SRV" t 192.0.2.20:443
nn_wait_listen "$NS_SRV" t '[2001:db8:2::20]:443'

# One capture on the LAN bridge, one on the router's server side, at once: the LAN one
# sees the laptop and B (tcpdump on the bridge sees every frame of the LAN, with the
# machines' own MACs); the upstream one sees them behind the router.  nn_cap_start
# keeps one capture: the first one's pid is put aside (the teardown ends it on failure).
nn_cap_start "$NS_RTR" lan "$OUT/dual-stack.pcap" 'tcp or udp port 53'
LAN_PID=$CAP_PID LAN_OUT=$CAP_OUT
nn_cap_start "$NS_RTR" up0 "$OUT/behind-router.pcap" 'tcp or udp port 53'
URL=autodiscover/autodiscover.xml
fetch() {  # fetch NS CURL-ARGS... URL
  local ns=$1 code
  shift
  code=$(ip netns exec "$ns" curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
    --cacert "$C/ca.crt" "$@") || die "curl $*: failed"
  [ "$code" = 200 ] || die "curl $*: HTTP $code"
  sleep 0.3
}
log "fetching"
fetch "$NS_A" -4 "https://autodiscover.example.com/$URL"
fetch "$NS_A" -6 "https://example.com/$URL"
fetch "$NS_B" -4 "https://example.com/$URL"
nn_cap_stop 1.2
CAP_PID=$LAN_PID CAP_OUT=$LAN_OUT
nn_cap_stop 0

ts() { tshark -n -r "$@" 2>/dev/null; }
for f in dual-stack behind-router; do
  n=$(ts "$OUT/$f.pcap" -Y 'tls.handshake.type==1' | wc -l)
  [ "$n" = 3 ] || die "$f.pcap: expected 3 ClientHellos, found $n"
done
ts "$OUT/dual-stack.pcap" -Y 'ipv6 && eth.src==02:00:00:00:0d:10 && tls.handshake.type==1' | grep -q . \
  || die "dual-stack.pcap: no IPv6 ClientHello from the laptop's MAC"
ts "$OUT/behind-router.pcap" -Y 'eth.src==02:00:00:00:0d:10' | grep -q . \
  && die "behind-router.pcap: the laptop's own MAC must not appear behind the router"
install -m 0644 "$OUT/dual-stack.pcap" "$SAMPLES_OUT/dual-stack.pcap"
install -m 0644 "$OUT/behind-router.pcap" "$SAMPLES_OUT/behind-router.pcap"
install -m 0644 "$C/ca.crt" "$SAMPLES_OUT/hosts-ca.pem"
log "wrote $SAMPLES_OUT/dual-stack.pcap, $SAMPLES_OUT/behind-router.pcap and $SAMPLES_OUT/hosts-ca.pem"
