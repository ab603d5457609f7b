#!/usr/bin/env bash
# Regenerate samples/dav-discovery.pcap: CalDAV / CardDAV service discovery (RFC 6764)
# as a client does it, step by step with dig and curl against dnsmasq and nginx in
# throw-away network namespaces, captured with tcpdump.  Run as root:
#
#     sudo samples/make-dav-samples.sh
#
#   1. dig SRV _caldavs._tcp.dav.example: cal.dav.example port 443
#   2. https://cal.dav.example/.well-known/caldav: a 301 to /dav/calendars/, followed (200)
#   3. dig SRV _carddavs._tcp.dav.example: no such record
#   4. so the domain itself: https://dav.example/.well-known/carddav, which is the web
#      site (certificate www.dav.example only): curl refuses it
# samples/dav-ca.pem is the root of the sample certificates.
#
# Only documentation addresses are used; every address lives inside a namespace created
# here.  The capture and the root go into SAMPLES_OUT (default samples/) only when the
# checks at the end passed:
#
#     sudo SAMPLES_OUT=/tmp/regen samples/make-dav-samples.sh   # elsewhere
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwdav-srv
NS_C=pwdav-c
export NN_TAG=make-dav-samples NN_NAMESPACES="$NS_C $NS_SRV"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"
DNS=192.0.2.53
WEB=192.0.2.111       # dav.example's web site
CAL=192.0.2.110       # cal.dav.example

nn_require_root
nn_tools install ip=iproute2 ss=iproute2 tcpdump=tcpdump tshark=tshark nginx=nginx openssl=openssl \
  curl=curl dnsmasq=dnsmasq-base dig=bind9-dnsutils ethtool=ethtool

nn_samples_out
nn_trap "$SAMPLES_OUT left unchanged"
nn_teardown   # leftovers of an interrupted run
nn_workdir /tmp/probewatch-dav.XXXXXX

# --------------------------------------------------------------------------
# certificates: a sample root; the web site's, the CalDAV server's
# --------------------------------------------------------------------------
log "generating certificates"
nn_cert ca "/O=Probewatch Samples/CN=Probewatch DAV Root CA" rsa:2048 - self "${NN_CA_EXT[@]}"
NN_CERT_DAYS=365 nn_leaf web www.dav.example DNS:www.dav.example - ca
NN_CERT_DAYS=365 nn_leaf cal cal.dav.example DNS:cal.dav.example - ca

# --------------------------------------------------------------------------
# network
# --------------------------------------------------------------------------
log "creating namespaces"
nn_ns_add "$NS_C" "$NS_SRV"
nn_no_ipv6 "$NS_C" "$NS_SRV"
nn_client_net "$NS_C" "$NS_SRV" "nameserver $DNS\n" "$WEB" "$CAL" "$DNS"

log "starting dnsmasq and nginx"
ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$W/dnsmasq.pid" --user=root --group=root --no-resolv --no-hosts --no-poll \
  --bind-interfaces --listen-address=$DNS --local=/dav.example/ --local-ttl=300 \
  --host-record=dav.example,$WEB --host-record=www.dav.example,$WEB \
  --host-record=cal.dav.example,$CAL \
  --srv-host=_caldavs._tcp.dav.example,cal.dav.example,443,0,1 2>"$W/dnsmasq.err" &
nn_wait_listen "$NS_SRV" u $DNS:53
{
nn_nginx_head
cat <<EOF
  ssl_protocols TLSv1.2;
  server {
    listen $WEB:443 ssl;
    server_name _;
    ssl_certificate $C/web.crt;
    ssl_certificate_key $C/web.key;
    location / { return 200 "the dav.example web site\n"; }
  }
  server {
    listen $CAL:443 ssl;
    server_name _;
    ssl_certificate $C/cal.crt;
    ssl_certificate_key $C/cal.key;
    location = /.well-known/caldav { return 301 /dav/calendars/; }
    location /dav/ { return 200 "calendar home\n"; }
  }
}
EOF
} >"$W/nginx.conf"
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>"$W/nginx.err" &
for a in $WEB:443 $CAL:443; do nn_wait_listen "$NS_SRV" t "$a"; done

# --------------------------------------------------------------------------
# capture
# --------------------------------------------------------------------------
F="$OUT/dav-discovery.pcap"
nn_cap_start "$NS_SRV" veth-c4 "$F" 'tcp or udp port 53'
dig_srv() {  # dig_srv NAME: the SRV answer as dig prints it
  ip netns exec "$NS_C" dig +short +time=3 +tries=1 SRV "$1"
}
srv=$(dig_srv _caldavs._tcp.dav.example)
[ "$srv" = "0 1 443 cal.dav.example." ] || die "step 1: SRV answer '$srv'"
sleep 0.3
code=$(ip netns exec "$NS_C" curl -sS --max-time 10 -L -o /dev/null -w '%{http_code}' --tls-max 1.2 \
  --cacert "$C/ca.crt" https://cal.dav.example/.well-known/caldav) || die "step 2 failed"
[ "$code" = 200 ] || die "step 2: expected 200 after the redirect, got $code"
sleep 0.3
srv=$(dig_srv _carddavs._tcp.dav.example)
[ -z "$srv" ] || die "step 3: expected no SRV record, got '$srv'"
sleep 0.3
rc=0
ip netns exec "$NS_C" curl -sS --max-time 10 -o /dev/null --tls-max 1.2 --cacert "$C/ca.crt" \
  https://dav.example/.well-known/carddav 2>"$W/curl4.err" || rc=$?
[ "$rc" = 60 ] || die "step 4: expected curl exit 60, got $rc: $(cat "$W/curl4.err")"
nn_cap_stop 1.2

ts() { tshark -n -r "$F" "$@" 2>/dev/null; }
n=$(ts -Y 'tls.handshake.type==1' | wc -l)
[ "$n" = 2 ] || die "expected 2 ClientHellos, found $n"
ts -Y 'dns.qry.name=="_caldavs._tcp.dav.example" && dns.srv.target' | grep -q . || die "no SRV answer"
install -m 0644 "$F" "$SAMPLES_OUT/dav-discovery.pcap"
install -m 0644 "$C/ca.crt" "$SAMPLES_OUT/dav-ca.pem"
log "wrote $SAMPLES_OUT/dav-discovery.pcap and $SAMPLES_OUT/dav-ca.pem"
