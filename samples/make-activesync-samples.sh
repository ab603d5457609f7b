#!/usr/bin/env bash
# Regenerate samples/activesync.pcap: an Exchange ActiveSync client's setup as [MS-OXDISCO]
# and [MS-ASHTTP] describe it (cited in docs/groups.md), step by step with curl against
# dnsmasq and nginx in throw-away network namespaces, captured with tcpdump. Not a phone:
# curl sends what an EAS client sends (the methods, paths, query and MS-AS headers). Run
# as root:
#
#     sudo samples/make-activesync-samples.sh
#
#   1. POST https://fabrikam.example/autodiscover/autodiscover.xml: the web site, whose
#      certificate names only www.fabrikam.example: curl rejects it
#   2. POST https://autodiscover.fabrikam.example/autodiscover/autodiscover.xml: refused
#   3. GET http://autodiscover.fabrikam.example/autodiscover/autodiscover.xml: a 302 to
#      https://mail.fabrikam.example/autodiscover/autodiscover.xml, followed (POST, 200:
#      the mobilesync response naming http://mail.fabrikam.example/Microsoft-Server-ActiveSync)
#   4. OPTIONS http://mail.fabrikam.example/Microsoft-Server-ActiveSync (200 with
#      MS-ASProtocolVersions and MS-ASProtocolCommands), then POST ?Cmd=Provision and
#      ?Cmd=FolderSync with MS-ASProtocolVersion 16.1 and an iPhone User-Agent. In plain
#      HTTP, because that is where the path can be seen: probewatch's key log decrypts
#      handshakes, not application data, so over HTTPS the path stays encrypted.
#   5. https://eas.fabrikam.example/: only a name; nothing in it says ActiveSync
# samples/activesync-ca.pem is the root of the sample certificates.
#
# Only documentation addresses are used; every address lives inside a namespace created
# here. The capture and the root go into SAMPLES_OUT (default samples/) only when the
# checks at the end passed:
#
#     sudo SAMPLES_OUT=/tmp/regen samples/make-activesync-samples.sh   # elsewhere
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pweas-srv
NS_C=pweas-c
export NN_TAG=make-activesync-samples NN_NAMESPACES="$NS_C $NS_SRV"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"
DNS=192.0.2.53
WEB=192.0.2.140     # fabrikam.example's web site (certificate: www.fabrikam.example only)
AD=192.0.2.141      # autodiscover.fabrikam.example: port 80 only (the redirect)
MAIL=192.0.2.142    # mail.fabrikam.example: Autodiscover over HTTPS, ActiveSync over HTTP
EAS=192.0.2.143     # eas.fabrikam.example: a web server, nothing more

nn_require_root
nn_tools install ip=iproute2 ss=iproute2 tcpdump=tcpdump tshark=tshark nginx=nginx openssl=openssl \
  curl=curl dnsmasq=dnsmasq-base ethtool=ethtool

nn_samples_out
nn_trap "$SAMPLES_OUT left unchanged"
nn_teardown   # leftovers of an interrupted run
nn_workdir /tmp/probewatch-eas.XXXXXX

log "generating certificates"
nn_cert ca "/O=Probewatch Samples/CN=Probewatch ActiveSync Root CA" rsa:2048 - self "${NN_CA_EXT[@]}"
NN_CERT_DAYS=365 nn_leaf web www.fabrikam.example DNS:www.fabrikam.example - ca
NN_CERT_DAYS=365 nn_leaf mail mail.fabrikam.example DNS:mail.fabrikam.example - ca
NN_CERT_DAYS=365 nn_leaf eas eas.fabrikam.example DNS:eas.fabrikam.example - ca

log "creating namespaces"
nn_ns_add "$NS_C" "$NS_SRV"
nn_no_ipv6 "$NS_C" "$NS_SRV"
nn_client_net "$NS_C" "$NS_SRV" "nameserver $DNS\n" "$DNS" "$WEB" "$AD" "$MAIL" "$EAS"

log "starting dnsmasq and nginx"
ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$W/dnsmasq.pid" --user=root --group=root --no-resolv --no-hosts --no-poll \
  --bind-interfaces --listen-address=$DNS --local=/fabrikam.example/ --local-ttl=300 \
  --host-record=fabrikam.example,$WEB --host-record=www.fabrikam.example,$WEB \
  --host-record=autodiscover.fabrikam.example,$AD --host-record=mail.fabrikam.example,$MAIL \
  --host-record=eas.fabrikam.example,$EAS 2>"$W/dnsmasq.err" &
nn_wait_listen "$NS_SRV" u $DNS:53
cat >"$W/autodiscover.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006">
    <Action><Settings><Server><Type>MobileSync</Type>
      <Url>http://mail.fabrikam.example/Microsoft-Server-ActiveSync</Url>
      <Name>http://mail.fabrikam.example/Microsoft-Server-ActiveSync</Name>
    </Server></Settings></Action>
  </Response>
</Autodiscover>
EOF
{
nn_nginx_head
cat <<EOF
  ssl_protocols TLSv1.2;
  server {
    listen $WEB:443 ssl;
    server_name _;
    ssl_certificate $C/web.crt;
    ssl_certificate_key $C/web.key;
    location / { return 404; }
  }
  server {
    listen $AD:80;
    server_name _;
    location /autodiscover/ { return 302 https://mail.fabrikam.example/autodiscover/autodiscover.xml; }
  }
  server {
    listen $MAIL:443 ssl;
    server_name _;
    ssl_certificate $C/mail.crt;
    ssl_certificate_key $C/mail.key;
    location = /autodiscover/autodiscover.xml {
      default_type text/xml;
      if (\$request_method = POST) { return 200 '$(tr -d '\n' <"$W/autodiscover.xml")'; }
      return 405;
    }
  }
  server {
    listen $MAIL:80;
    server_name _;
    location /Microsoft-Server-ActiveSync {
      if (\$request_method = OPTIONS) {
        add_header MS-Server-ActiveSync 15.20;
        add_header MS-ASProtocolVersions "2.5,12.0,12.1,14.0,14.1,16.0,16.1";
        add_header MS-ASProtocolCommands "Sync,SendMail,SmartForward,SmartReply,GetAttachment,FolderSync,FolderCreate,FolderDelete,FolderUpdate,MoveItems,GetItemEstimate,MeetingResponse,Search,Settings,Ping,ItemOperations,Provision,ResolveRecipients,ValidateCert,Find";
        add_header Allow "OPTIONS,POST";
        return 200;
      }
      return 200;
    }
  }
  server {
    listen $EAS:443 ssl;
    server_name _;
    ssl_certificate $C/eas.crt;
    ssl_certificate_key $C/eas.key;
    location / { return 200 "eas.fabrikam.example\n"; }
  }
}
EOF
} >"$W/nginx.conf"
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>"$W/nginx.err" &
for a in $WEB:443 $AD:80 $MAIL:443 $MAIL:80 $EAS:443; do nn_wait_listen "$NS_SRV" t "$a"; done

F="$OUT/activesync.pcap"
nn_cap_start "$NS_SRV" veth-c4 "$F" 'tcp or udp port 53'
c() { ip netns exec "$NS_C" curl -sS --max-time 10 --tls-max 1.2 --cacert "$C/ca.crt" "$@"; }
UA="Apple-iPhone15C2/2104.100"
AD_BODY='<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"><Request><EMailAddress>chris@fabrikam.example</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema></Request></Autodiscover>'
URL=autodiscover/autodiscover.xml
rc=0; c -o /dev/null -A "$UA" -H 'Content-Type: text/xml' -d "$AD_BODY" \
  "https://fabrikam.example/$URL" 2>"$W/c1.err" || rc=$?
[ "$rc" = 60 ] || die "step 1: expected curl exit 60, got $rc: $(cat "$W/c1.err")"
sleep 0.3
rc=0; c -o /dev/null -A "$UA" -H 'Content-Type: text/xml' -d "$AD_BODY" \
  "https://autodiscover.fabrikam.example/$URL" 2>"$W/c2.err" || rc=$?
[ "$rc" = 7 ] || die "step 2: expected curl exit 7 (refused), got $rc: $(cat "$W/c2.err")"
sleep 0.3
loc=$(c -o /dev/null -A "$UA" -w '%{redirect_url}' "http://autodiscover.fabrikam.example/$URL")
[ "$loc" = "https://mail.fabrikam.example/$URL" ] || die "step 3: redirect to '$loc'"
sleep 0.2
c -o "$W/ad.xml" -A "$UA" -H 'Content-Type: text/xml' -d "$AD_BODY" "$loc" || die "step 3: POST to $loc failed"
grep -q '<Url>http://mail.fabrikam.example/Microsoft-Server-ActiveSync</Url>' "$W/ad.xml" \
  || die "no ActiveSync URL in the Autodiscover response"
sleep 0.3
EASURL=http://mail.fabrikam.example/Microsoft-Server-ActiveSync
Q="User=chris&DeviceId=ApplF17XK0AAHG7F&DeviceType=iPhone"
c -o /dev/null -D "$W/options.h" -X OPTIONS -A "$UA" "$EASURL" || die "OPTIONS failed"
grep -qi '^MS-ASProtocolVersions: ' "$W/options.h" || die "no MS-ASProtocolVersions in the OPTIONS answer"
sleep 0.2
for cmd in Provision FolderSync; do
  code=$(c -o /dev/null -w '%{http_code}' -A "$UA" -H 'MS-ASProtocolVersion: 16.1' \
    -H 'Content-Type: application/vnd.ms-sync.wbxml' --data-binary $'\x03\x01\x6a\x00' \
    "$EASURL?Cmd=$cmd&$Q") || die "$cmd failed"
  [ "$code" = 200 ] || die "$cmd: HTTP $code"
  sleep 0.2
done
sleep 0.5
c -o /dev/null "https://eas.fabrikam.example/" || die "eas.fabrikam.example failed"
nn_cap_stop 1.0

ts() { tshark -n -r "$F" "$@" 2>/dev/null; }
n=$(ts -Y 'tls.handshake.type==1' | wc -l)
[ "$n" = 3 ] || die "expected 3 ClientHellos, found $n"
ts -Y 'http.request.method=="OPTIONS"' | grep -q . || die "no OPTIONS request"
n=$(ts -Y 'http.request.uri contains "Cmd="' | wc -l)
[ "$n" = 2 ] || die "expected 2 ActiveSync commands, found $n"
install -m 0644 "$F" "$SAMPLES_OUT/activesync.pcap"
install -m 0644 "$C/ca.crt" "$SAMPLES_OUT/activesync-ca.pem"
log "wrote $SAMPLES_OUT/activesync.pcap ($(stat -c %s "$F") bytes) and $SAMPLES_OUT/activesync-ca.pem"
