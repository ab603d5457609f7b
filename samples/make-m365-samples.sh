#!/usr/bin/env bash
# Regenerate samples/m365-autodiscover.pcap: Outlook's Autodiscover order against a
# domain whose mailboxes are in Microsoft 365, as curl does it step by step (nginx,
# dnsmasq, curl in throw-away network namespaces; captured with tcpdump; the Microsoft
# names are served by local nginx inside the namespaces, nothing leaves the machine).
# Run as root:
#
#     sudo samples/make-m365-samples.sh
#
#   1. https://contoso.example/autodiscover/autodiscover.xml: the web site's certificate
#      (www.contoso.example only): curl refuses it
#   2. https://autodiscover.contoso.example/...: a CNAME to autodiscover.outlook.com, whose
#      certificate (*.outlook.com) does not name it: curl refuses it, by design
#   3. http://autodiscover.contoso.example/...: the redirect method, a 302 to
#      https://autodiscover-s.outlook.com/..., which curl follows (-L): 200
# samples/m365-ca.pem is the root of the stand-in certificates.
#
# Only documentation addresses are used; every address lives inside a namespace created
# here.  The capture and the root go into SAMPLES_OUT (default samples/) only when the
# checks at the end passed:
#
#     sudo SAMPLES_OUT=/tmp/regen samples/make-m365-samples.sh   # elsewhere
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwm365-srv
NS_C=pwm365-c
export NN_TAG=make-m365-samples NN_NAMESPACES="$NS_C $NS_SRV"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"
DNS=192.0.2.53
WEB=192.0.2.90        # contoso.example's web site
M365=192.0.2.100      # autodiscover.outlook.com
M365S=192.0.2.101     # autodiscover-s.outlook.com

nn_require_root
nn_tools install ip=iproute2 ss=iproute2 tcpdump=tcpdump tshark=tshark nginx=nginx openssl=openssl \
  curl=curl dnsmasq=dnsmasq-base ethtool=ethtool

nn_samples_out
nn_trap "$SAMPLES_OUT left unchanged"
nn_teardown   # leftovers of an interrupted run
nn_workdir /tmp/probewatch-m365.XXXXXX

# --------------------------------------------------------------------------
# certificates: one stand-in root; the web site's, *.outlook.com, autodiscover-s
# --------------------------------------------------------------------------
log "generating certificates"
nn_cert ca "/O=Probewatch Samples/CN=Probewatch M365 Stand-in Root CA" rsa:2048 - self "${NN_CA_EXT[@]}"
NN_CERT_DAYS=365 nn_leaf web www.contoso.example DNS:www.contoso.example - ca
NN_CERT_DAYS=365 nn_leaf outlook '*.outlook.com' 'DNS:*.outlook.com,DNS:outlook.com' - ca
NN_CERT_DAYS=365 nn_leaf outlook-s autodiscover-s.outlook.com DNS:autodiscover-s.outlook.com - ca

# --------------------------------------------------------------------------
# network
# --------------------------------------------------------------------------
log "creating namespaces"
nn_ns_add "$NS_C" "$NS_SRV"
nn_no_ipv6 "$NS_C" "$NS_SRV"
nn_client_net "$NS_C" "$NS_SRV" "nameserver $DNS\n" "$WEB" "$M365" "$M365S" "$DNS"

log "starting dnsmasq and nginx"
ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$W/dnsmasq.pid" --user=root --group=root --no-resolv --no-hosts --no-poll \
  --bind-interfaces --listen-address=$DNS --local=/contoso.example/ --local=/outlook.com/ \
  --local-ttl=300 \
  --host-record=contoso.example,$WEB --host-record=www.contoso.example,$WEB \
  --host-record=autodiscover.outlook.com,$M365 --host-record=autodiscover-s.outlook.com,$M365S \
  --cname=autodiscover.contoso.example,autodiscover.outlook.com 2>"$W/dnsmasq.err" &
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
    location / { return 200 "the contoso.example web site\n"; }
  }
  server {
    listen $M365:443 ssl;
    server_name _;
    ssl_certificate $C/outlook.crt;
    ssl_certificate_key $C/outlook.key;
    location / { return 401; }
  }
  server {
    listen $M365:80;
    server_name _;
    location /autodiscover/ { return 302 https://autodiscover-s.outlook.com/autodiscover/autodiscover.xml; }
  }
  server {
    listen $M365S:443 ssl;
    server_name _;
    ssl_certificate $C/outlook-s.crt;
    ssl_certificate_key $C/outlook-s.key;
    location / { return 200 "<Autodiscover/>\n"; }
  }
}
EOF
} >"$W/nginx.conf"
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>"$W/nginx.err" &
for a in $WEB:443 $M365:443 $M365:80 $M365S:443; do nn_wait_listen "$NS_SRV" t "$a"; done

# --------------------------------------------------------------------------
# capture
# --------------------------------------------------------------------------
F="$OUT/m365-autodiscover.pcap"
nn_cap_start "$NS_SRV" veth-c4 "$F" 'tcp or udp port 53'
URL=autodiscover/autodiscover.xml
rc=0
ip netns exec "$NS_C" curl -sS --max-time 10 -o /dev/null --tls-max 1.2 --cacert "$C/ca.crt" \
  "https://contoso.example/$URL" 2>"$W/curl1.err" || rc=$?
[ "$rc" = 60 ] || die "step 1: expected curl exit 60, got $rc: $(cat "$W/curl1.err")"
sleep 0.3
rc=0
ip netns exec "$NS_C" curl -sS --max-time 10 -o /dev/null --tls-max 1.2 --cacert "$C/ca.crt" \
  "https://autodiscover.contoso.example/$URL" 2>"$W/curl2.err" || rc=$?
[ "$rc" = 60 ] || die "step 2: expected curl exit 60, got $rc: $(cat "$W/curl2.err")"
sleep 0.3
code=$(ip netns exec "$NS_C" curl -sS --max-time 10 -L -o /dev/null -w '%{http_code}' --tls-max 1.2 \
  --cacert "$C/ca.crt" "http://autodiscover.contoso.example/$URL") || die "step 3 failed"
[ "$code" = 200 ] || die "step 3: expected 200 after the redirect, got $code"
nn_cap_stop 1.2

ts() { tshark -n -r "$F" "$@" 2>/dev/null; }
n=$(ts -Y 'tls.handshake.type==1' | wc -l)
[ "$n" = 3 ] || die "expected 3 ClientHellos, found $n"
ts -Y 'dns.cname=="autodiscover.outlook.com"' | grep -q . || die "no CNAME to autodiscover.outlook.com"
ts -Y 'http.response.code==302' | grep -q . || die "no 302"
install -m 0644 "$F" "$SAMPLES_OUT/m365-autodiscover.pcap"
install -m 0644 "$C/ca.crt" "$SAMPLES_OUT/m365-ca.pem"
log "wrote $SAMPLES_OUT/m365-autodiscover.pcap and $SAMPLES_OUT/m365-ca.pem"
