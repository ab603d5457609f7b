#!/usr/bin/env bash
# Make the attempt-group sample captures in samples/ (issue 4) with real programs:
# dnsmasq, nginx, curl and dig talking inside throw-away network namespaces,
# captured with tcpdump.  Run as root, independently of make-samples.sh (which it
# never touches; its captures stay byte-for-byte as committed):
#
#     sudo samples/make-group-samples.sh
#     sudo SAMPLES_OUT=/tmp/regen samples/make-group-samples.sh   # elsewhere
#
# It writes two files:
#   autodiscover-redirect.pcap  the Outlook/Exchange Autodiscover sequence, in
#                               Outlook's order, by a client that verifies certificates
#   autoconfig.pcap             the Thunderbird-style autoconfig sequence
#
# Only documentation addresses are used (198.51.100.0/24 client, 192.0.2.0/24
# servers) and every address lives in a namespace made here: no packet leaves the
# machine.  Everything is torn down on exit; the captures are copied into SAMPLES_OUT
# (default samples/) only when both were made and passed the checks at the end.
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwgrp-srv
NS_C=pwgrp-c4
export NN_TAG=make-group-samples NN_NAMESPACES="$NS_C $NS_SRV"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"
FILTER='tcp or udp port 53'

nn_require_root
nn_tools install ip=iproute2 ss=iproute2 tcpdump=tcpdump nginx=nginx dnsmasq=dnsmasq-base \
  openssl=openssl curl=curl dig=bind9-dnsutils ethtool=ethtool tshark=tshark

nn_samples_out
nn_trap "$SAMPLES_OUT left unchanged"
nn_teardown   # leftovers of an interrupted run
nn_workdir /tmp/probewatch-group-samples.XXXXXX
mkdir -p "$W/www"

# --------------------------------------------------------------------------
# certificates (same subjects, SANs and serials as make-samples.sh)
# --------------------------------------------------------------------------
log "generating certificates"
nn_cert ca "/O=Probewatch Samples/CN=Probewatch Sample Root CA" rsa:2048 0x01 self "${NN_CA_EXT[@]}"
nn_leaf ex7 ex7.mailhost.example DNS:ex7.mailhost.example 0x1001 ca
nn_leaf wild-com '*.example.com' 'DNS:*.example.com' 0x1002 ca

# --------------------------------------------------------------------------
# network: client namespace -- veth -- server namespace (gateway + all servers)
# --------------------------------------------------------------------------
log "creating namespaces"
SRV4=(192.0.2.10 192.0.2.30 192.0.2.35 192.0.2.53)
nn_ns_add "$NS_C" "$NS_SRV"
nn_no_ipv6 "$NS_C"
nn_veth "$NS_C" eth0 "$NS_SRV" veth-c4 02:00:00:00:04:10 02:00:00:00:04:01
ip -n "$NS_SRV" addr add 198.51.100.1/24 dev veth-c4
nn_lo_addrs "$NS_SRV" "${SRV4[@]}"
ip -n "$NS_C" addr add 198.51.100.10/24 dev eth0
ip -n "$NS_C" route add default via 198.51.100.1
for ns in "$NS_C" "$NS_SRV"; do nn_resolv "$ns" 'nameserver 192.0.2.53\n'; done

# --------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------
log "starting dnsmasq"
# autodiscover.example.com is a CNAME for the hosting provider's box (a common setup)
ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$W/dnsmasq.pid" --user=root --group=root \
  --no-resolv --no-hosts --no-poll --bind-interfaces --listen-address=192.0.2.53 \
  --local=/example.com/ --local=/mailhost.example/ --local-ttl=300 \
  --log-queries --log-facility="$W/dnsmasq.log" \
  --host-record=ex7.mailhost.example,192.0.2.10 \
  --host-record=example.com,192.0.2.30 \
  --host-record=autoconfig.example.com,192.0.2.35 \
  --cname=autodiscover.example.com,ex7.mailhost.example \
  --srv-host=_autodiscover._tcp.example.com,ex7.mailhost.example,443,10,10 \
  2>"$W/dnsmasq.err" &
nn_wait_listen "$NS_SRV" u 192.0.2.53:53

log "starting nginx"
cat >"$W/www/config-v1.1.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1"><emailProvider id="example.com"><domain>example.com</domain>
<incomingServer type="imap"><hostname>ex7.mailhost.example</hostname><port>993</port>
<socketType>SSL</socketType><username>%EMAILADDRESS%</username></incomingServer>
</emailProvider></clientConfig>
EOF
{
nn_nginx_head
cat <<EOF
  keepalive_timeout 5;
  ssl_protocols TLSv1.2;
  ssl_session_tickets off;
  # the hosting provider's mailbox front end
  server {
    listen 192.0.2.10:443 ssl;
    server_name ex7.mailhost.example;
    ssl_certificate $C/ex7.crt;
    ssl_certificate_key $C/ex7.key;
    # static files refuse POST (405): answer the Autodiscover POST with a fixed body
    location = /autodiscover/autodiscover.xml {
      default_type text/xml;
      return 200 '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"/>\n';
    }
    location / { return 404; }
  }
  # Exchange's "HTTP redirect method": plain HTTP on the autodiscover name answers 302
  server {
    listen 192.0.2.10:80;
    location / { return 302 https://ex7.mailhost.example/autodiscover/autodiscover.xml; }
  }
  # the company web site: wildcard certificate, does not cover the apex example.com
  server {
    listen 192.0.2.30:443 ssl;
    ssl_certificate $C/wild-com.crt;
    ssl_certificate_key $C/wild-com.key;
    location / { return 404; }
  }
  server {
    listen 192.0.2.30:80;
    location = /.well-known/autoconfig/mail/config-v1.1.xml { default_type text/xml; alias $W/www/config-v1.1.xml; }
    location / { return 404; }
  }
  # autoconfig.example.com: plain HTTP only (port 443 closed: connection refused)
  server {
    listen 192.0.2.35:80;
    location / { return 404; }
  }
}
EOF
} >"$W/nginx.conf"
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>"$W/nginx.err" &
nn_wait_listen "$NS_SRV" t 192.0.2.10:443
nn_wait_listen "$NS_SRV" t 192.0.2.35:80

# --------------------------------------------------------------------------
# clients
# --------------------------------------------------------------------------
inc() { ip netns exec "$NS_C" "$@"; }
# a client that verifies certificates against the test CA, like a mail client would
CURL=(curl -sS --max-time 10 --tls-max 1.2 --cacert "$C/ca.crt" -o /dev/null -w '%{http_code}')
step() { sleep 0.3; }
expect() {  # expect WANT-EXIT WANT-HTTP-CODE CMD...
  local want_rc=$1 want_code=$2 rc=0 got; shift 2
  got=$("$@" 2>"$W/curl.err") || rc=$?
  { [ "$rc" = "$want_rc" ] && [ "$got" = "$want_code" ]; } ||
    die "expected exit $want_rc / HTTP $want_code, got exit $rc / '$got' from: $* ($(cat "$W/curl.err"))"
}
cat >"$W/request.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>joe@example.com</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>
EOF
POST_AD=(-X POST -H 'Content-Type: text/xml' --data-binary "@$W/request.xml")

# --------------------------------------------------------------------------
# autodiscover-redirect.pcap: Outlook's order for joe@example.com
#   1. https://example.com/autodiscover/autodiscover.xml      (*.example.com: rejected, exit 60)
#   2. https://autodiscover.example.com/autodiscover/...      (CNAME to ex7: rejected, exit 60)
#   3. http://autodiscover.example.com/autodiscover/...       (302, followed to ex7: 200)
#   4. SRV _autodiscover._tcp.example.com, then its target   (ex7: 200)
# --------------------------------------------------------------------------
log "capturing autodiscover-redirect.pcap"
nn_cap_start "$NS_C" eth0 "$OUT/autodiscover-redirect.pcap" "$FILTER"
expect 60 000 inc "${CURL[@]}" "${POST_AD[@]}" https://example.com/autodiscover/autodiscover.xml
step
expect 60 000 inc "${CURL[@]}" "${POST_AD[@]}" https://autodiscover.example.com/autodiscover/autodiscover.xml
step
expect 0 200 inc "${CURL[@]}" -L http://autodiscover.example.com/autodiscover/autodiscover.xml
step
inc dig +tries=1 +time=3 SRV _autodiscover._tcp.example.com >"$W/dig-srv.out"
grep -q 'ANSWER: 1,' "$W/dig-srv.out" || die "SRV query not answered"
target=$(awk '$4 == "SRV" {print $8}' "$W/dig-srv.out" | sed 's/\.$//')
port=$(awk '$4 == "SRV" {print $7}' "$W/dig-srv.out")
[ "$target:$port" = "ex7.mailhost.example:443" ] || die "unexpected SRV answer $target:$port"
step
expect 0 200 inc "${CURL[@]}" "${POST_AD[@]}" "https://$target:$port/autodiscover/autodiscover.xml"
nn_cap_stop

# --------------------------------------------------------------------------
# autoconfig.pcap: Thunderbird's order for joe@example.com
#   1. https://autoconfig.example.com/mail/config-v1.1.xml    (port 443 closed: RST, exit 7)
#   2. http://autoconfig.example.com/mail/config-v1.1.xml     (404)
#   3. https://example.com/.well-known/autoconfig/mail/...    (*.example.com: rejected, exit 60)
#   4. http://example.com/.well-known/autoconfig/mail/...     (200, the config)
# --------------------------------------------------------------------------
log "capturing autoconfig.pcap"
Q='?emailaddress=joe%40example.com'
nn_cap_start "$NS_C" eth0 "$OUT/autoconfig.pcap" "$FILTER"
expect 7 000 inc "${CURL[@]}" "https://autoconfig.example.com/mail/config-v1.1.xml$Q"
step
expect 0 404 inc "${CURL[@]}" "http://autoconfig.example.com/mail/config-v1.1.xml$Q"
step
expect 60 000 inc "${CURL[@]}" "https://example.com/.well-known/autoconfig/mail/config-v1.1.xml$Q"
step
expect 0 200 inc "${CURL[@]}" "http://example.com/.well-known/autoconfig/mail/config-v1.1.xml$Q"
nn_cap_stop

# --------------------------------------------------------------------------
# checks (tshark), then publish
# --------------------------------------------------------------------------
log "checking captures"
ts() { tshark -n -r "$@" 2>/dev/null; }
check() { [ "$2" = "$3" ] || die "check failed: $1: want '$2', got '$3'"; }
f=$OUT/autodiscover-redirect.pcap
check "autodiscover SNIs" "example.com autodiscover.example.com ex7.mailhost.example ex7.mailhost.example" \
  "$(ts "$f" -Y 'tls.handshake.type==1' -T fields -e tls.handshake.extensions_server_name | xargs)"
check "autodiscover redirect" "https://ex7.mailhost.example/autodiscover/autodiscover.xml" \
  "$(ts "$f" -Y 'http.response.code==302' -T fields -e http.location)"
check "autodiscover CNAME" "ex7.mailhost.example" \
  "$(ts "$f" -Y 'dns.flags.response==1 && dns.qry.type==1 && dns.qry.name=="autodiscover.example.com"' -T fields -e dns.cname | head -1)"
check "autodiscover SRV" "ex7.mailhost.example" \
  "$(ts "$f" -Y 'dns.flags.response==1 && dns.qry.type==33' -T fields -e dns.srv.target)"
check "autodiscover no app data to example.com" "0" \
  "$(ts "$f" -Y 'ip.dst==192.0.2.30 && tls.record.content_type==23' | wc -l)"
f=$OUT/autoconfig.pcap
check "autoconfig RST" "1" "$(ts "$f" -Y 'ip.src==192.0.2.35 && tcp.srcport==443 && tcp.flags.reset==1' | wc -l)"
check "autoconfig hosts" "autoconfig.example.com example.com" \
  "$(ts "$f" -Y http.request -T fields -e http.host | xargs)"
check "autoconfig SNI" "example.com" "$(ts "$f" -Y 'tls.handshake.type==1' -T fields -e tls.handshake.extensions_server_name)"
for f in autodiscover-redirect.pcap autoconfig.pcap; do
  install -m 0644 "$OUT/$f" "$SAMPLES_OUT/$f"
done
log "done: $(cd "$SAMPLES_OUT" && stat -c '%n %s' autodiscover-redirect.pcap autoconfig.pcap | xargs)"
