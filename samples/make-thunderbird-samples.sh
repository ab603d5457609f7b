#!/usr/bin/env bash
# Regenerate samples/thunderbird-autoconfig.pcap: Thunderbird's account setup lookups in
# the order and parallelism of its own source (cited in docs/groups.md: FindConfig.sys.mjs
# parallelAutoDiscovery, FetchConfig.sys.mjs, GuessConfig.sys.mjs, views/email.mjs
# #findConfig), replayed by curl, dig and openssl s_client against dnsmasq, nginx and
# openssl s_server in throw-away network namespaces, captured with tcpdump. Not
# Thunderbird itself: the order is Thunderbird's as cited, the programs on the wire are
# curl and openssl. Run as root:
#
#     sudo samples/make-thunderbird-samples.sh
#
# Account 1, user@example.org (steps 1 to 5 and the MX lookup start together, as
# background jobs; the MX step's lookups start when its answer is in):
#   1. https://autoconfig.example.org/mail/config-v1.1.xml: nothing listens (refused)
#   2. https://example.org/.well-known/autoconfig/mail/config-v1.1.xml: the web site, whose
#      certificate names only www.example.org: curl rejects it
#   3. http://autoconfig.example.org/mail/config-v1.1.xml: refused
#   4. http://example.org/.well-known/autoconfig/mail/config-v1.1.xml: 404
#   5. the ISPDB https://autoconfig.thunderbird.net/v1.1/example.org (nginx stands in): 404
#   6. dig MX example.org: mx1.mail.example.net
#   7. https://autoconfig.mail.example.net/… (no such name) and
#      https://autoconfig.example.net/mail/config-v1.1.xml: 200, the configuration file
#   8. the ISPDB for mail.example.net and example.net: 404
# Account 2, user@example.com, where every lookup fails: autoconfig.example.com does not
# exist, example.com refuses HTTPS, the ISPDB has nothing, the MX host is in example.com
# itself (so no MX step); then Thunderbird's guesses, in parallel, on the TLS ports
# (imap./mail./example.com on 993, pop3./pop. on 995, smtp./mail./example.com on 465):
# mail.example.com:993 and smtp.example.com:465 answer (openssl s_server), the others are
# refused or do not exist. (The STARTTLS and plain guesses on 143, 110, 587 and 25 are
# left out: without a server that speaks the protocol they are bare refused SYNs.)
# samples/thunderbird-ca.pem is the root of the sample certificates.
#
# Only documentation addresses are used; every address lives inside a namespace created
# here. The capture and the root go into SAMPLES_OUT (default samples/) only when the
# checks at the end passed:
#
#     sudo SAMPLES_OUT=/tmp/regen samples/make-thunderbird-samples.sh   # elsewhere
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwtb-srv
NS_C=pwtb-c
export NN_TAG=make-thunderbird-samples NN_NAMESPACES="$NS_C $NS_SRV"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"
DNS=192.0.2.53
WEB=192.0.2.120      # example.org's web site (certificate: www.example.org only)
ACORG=192.0.2.121    # autoconfig.example.org: nothing listens
MX=192.0.2.122       # mx1.mail.example.net (never contacted)
ACNET=192.0.2.123    # autoconfig.example.net: serves config-v1.1.xml
ISPDB=192.0.2.124    # stands in for autoconfig.thunderbird.net
COM=192.0.2.130      # example.com: refuses HTTPS
IMAP=192.0.2.131     # imap.example.com: refuses 993
MAILC=192.0.2.132    # mail.example.com: IMAP over TLS on 993
SMTP=192.0.2.133     # smtp.example.com: SMTP over TLS on 465

nn_require_root
nn_tools install ip=iproute2 ss=iproute2 tcpdump=tcpdump tshark=tshark nginx=nginx openssl=openssl \
  curl=curl dnsmasq=dnsmasq-base dig=bind9-dnsutils ethtool=ethtool

nn_samples_out
nn_trap "$SAMPLES_OUT left unchanged"
nn_teardown   # leftovers of an interrupted run
nn_workdir /tmp/probewatch-tb.XXXXXX

# --------------------------------------------------------------------------
# certificates
# --------------------------------------------------------------------------
log "generating certificates"
nn_cert ca "/O=Probewatch Samples/CN=Probewatch Thunderbird Root CA" rsa:2048 - self "${NN_CA_EXT[@]}"
NN_CERT_DAYS=365 nn_leaf web www.example.org DNS:www.example.org - ca   # not example.org
NN_CERT_DAYS=365 nn_leaf acnet autoconfig.example.net DNS:autoconfig.example.net - ca
NN_CERT_DAYS=365 nn_leaf ispdb autoconfig.thunderbird.net DNS:autoconfig.thunderbird.net - ca
NN_CERT_DAYS=365 nn_leaf mailc mail.example.com DNS:mail.example.com - ca
NN_CERT_DAYS=365 nn_leaf smtp smtp.example.com DNS:smtp.example.com - ca

# --------------------------------------------------------------------------
# network, DNS, servers
# --------------------------------------------------------------------------
log "creating namespaces"
nn_ns_add "$NS_C" "$NS_SRV"
nn_no_ipv6 "$NS_C" "$NS_SRV"
nn_client_net "$NS_C" "$NS_SRV" "nameserver $DNS\n" "$DNS" "$WEB" "$ACORG" "$MX" "$ACNET" \
  "$ISPDB" "$COM" "$IMAP" "$MAILC" "$SMTP"

log "starting dnsmasq, nginx and openssl s_server"
ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$W/dnsmasq.pid" --user=root --group=root --no-resolv --no-hosts --no-poll \
  --bind-interfaces --listen-address=$DNS --local-ttl=300 \
  --local=/example.org/ --local=/example.net/ --local=/example.com/ --local=/thunderbird.net/ \
  --host-record=example.org,$WEB --host-record=www.example.org,$WEB \
  --host-record=autoconfig.example.org,$ACORG \
  --mx-host=example.org,mx1.mail.example.net,10 --host-record=mx1.mail.example.net,$MX \
  --host-record=autoconfig.example.net,$ACNET \
  --host-record=autoconfig.thunderbird.net,$ISPDB \
  --host-record=example.com,$COM --mx-host=example.com,mx.example.com,10 \
  --host-record=mx.example.com,$COM \
  --host-record=imap.example.com,$IMAP --host-record=mail.example.com,$MAILC \
  --host-record=smtp.example.com,$SMTP 2>"$W/dnsmasq.err" &
nn_wait_listen "$NS_SRV" u $DNS:53
cat >"$W/config-v1.1.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.net">
    <domain>example.org</domain>
    <displayName>Example hosted mail</displayName>
    <incomingServer type="imap">
      <hostname>imap.example.net</hostname><port>993</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.net</hostname><port>465</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>
EOF
{
nn_nginx_head
cat <<EOF
  ssl_protocols TLSv1.2;
  server {
    listen $WEB:443 ssl;
    listen $WEB:80;
    server_name _;
    ssl_certificate $C/web.crt;
    ssl_certificate_key $C/web.key;
    location / { return 404; }
  }
  server {
    listen $ACNET:443 ssl;
    server_name _;
    ssl_certificate $C/acnet.crt;
    ssl_certificate_key $C/acnet.key;
    location = /mail/config-v1.1.xml { default_type text/xml; alias $W/config-v1.1.xml; }
    location / { return 404; }
  }
  server {
    listen $ISPDB:443 ssl;
    server_name _;
    ssl_certificate $C/ispdb.crt;
    ssl_certificate_key $C/ispdb.key;
    location / { return 404; }
  }
}
EOF
} >"$W/nginx.conf"
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>"$W/nginx.err" &
for a in $WEB:443 $WEB:80 $ACNET:443 $ISPDB:443; do nn_wait_listen "$NS_SRV" t "$a"; done
# the guessed mail servers: TLS only (the probe is the handshake and a CAPABILITY/EHLO
# line). Their input never ends (sleep, inside the namespace, so the teardown ends it):
# at the end of its input s_server closes the connection, before the client has spoken.
for srv in "$MAILC:993:mailc" "$SMTP:465:smtp"; do
  IFS=: read -r a p c <<<"$srv"
  ip netns exec "$NS_SRV" sh -c "sleep 120 | exec openssl s_server -quiet -accept $a:$p \
    -cert $C/$c.crt -key $C/$c.key -naccept 1" >"$W/s_server-$p.out" 2>&1 &
done
nn_wait_listen "$NS_SRV" t "$MAILC:993"
nn_wait_listen "$NS_SRV" t "$SMTP:465"

# --------------------------------------------------------------------------
# capture
# --------------------------------------------------------------------------
F="$OUT/thunderbird-autoconfig.pcap"
nn_cap_start "$NS_SRV" veth-c4 "$F" 'tcp or udp port 53'

# get N URL [EXPECTED-CODE]: curl as Thunderbird's FetchHTTP does (one GET); its HTTP code
# (000 when it could not connect) into $W/get-N
get() {
  ip netns exec "$NS_C" curl -s --max-time 10 --tls-max 1.2 --cacert "$C/ca.crt" \
    -o "$W/body-$1" -w '%{http_code}' "$2" >"$W/get-$1" 2>/dev/null || true
}
JOBS=()
bg_wait() {  # wait for the jobs started since the last bg_wait (not the servers)
  local p; for p in "${JOBS[@]}"; do wait "$p" || true; done; JOBS=()
}
expect() {  # expect N CODE
  local got; got=$(cat "$W/get-$1")
  [ "$got" = "$2" ] || die "request $1: expected HTTP $2, got $got"
}

log "account 1 (user@example.org): steps 1-5 and the MX lookup at once"
get 1 https://autoconfig.example.org/mail/config-v1.1.xml &
JOBS+=($!)
get 2 https://example.org/.well-known/autoconfig/mail/config-v1.1.xml &
JOBS+=($!)
get 3 http://autoconfig.example.org/mail/config-v1.1.xml &
JOBS+=($!)
get 4 http://example.org/.well-known/autoconfig/mail/config-v1.1.xml &
JOBS+=($!)
sleep 0.05   # FindConfig starts fromISP's fetches before fromDB's and forMX's
get 5 "https://autoconfig.thunderbird.net/v1.1/example.org" &
JOBS+=($!)
# forMX is started last; the pause keeps the MX answer after the ISPDB request's
# connection (a request opened after the MX answer is read as the MX step's)
sleep 0.2
mx=$(ip netns exec "$NS_C" dig +short +time=3 +tries=1 MX example.org)
[ "$mx" = "10 mx1.mail.example.net." ] || die "MX answer '$mx'"
# fetchConfigForMX: the next sub-domain of the MX host's base domain, then the base
# domain, each at its autoconfig host (https only, no well-known) and in the ISPDB
get 6 https://autoconfig.mail.example.net/mail/config-v1.1.xml &
JOBS+=($!)
get 7 "https://autoconfig.thunderbird.net/v1.1/mail.example.net" &
JOBS+=($!)
get 8 https://autoconfig.example.net/mail/config-v1.1.xml &
JOBS+=($!)
get 9 "https://autoconfig.thunderbird.net/v1.1/example.net" &
JOBS+=($!)
bg_wait
expect 1 000; expect 2 000; expect 3 000; expect 4 404; expect 5 404
expect 6 000; expect 7 404; expect 8 200; expect 9 404
grep -q '<incomingServer type="imap">' "$W/body-8" || die "no configuration file from autoconfig.example.net"

sleep 2
log "account 2 (user@example.com): every lookup fails"
get 11 https://autoconfig.example.com/mail/config-v1.1.xml &
JOBS+=($!)
get 12 https://example.com/.well-known/autoconfig/mail/config-v1.1.xml &
JOBS+=($!)
get 13 http://autoconfig.example.com/mail/config-v1.1.xml &
JOBS+=($!)
get 14 http://example.com/.well-known/autoconfig/mail/config-v1.1.xml &
JOBS+=($!)
sleep 0.05
get 15 "https://autoconfig.thunderbird.net/v1.1/example.com" &
JOBS+=($!)
sleep 0.2
mx=$(ip netns exec "$NS_C" dig +short +time=3 +tries=1 MX example.com)
[ "$mx" = "10 mx.example.com." ] || die "MX answer '$mx'"
bg_wait
for n in 11 12 13 14; do expect $n 000; done
expect 15 404
sleep 0.3
log "account 2: Thunderbird's guesses, in parallel"
guess() {  # guess N HOST PORT LINE
  printf '%s\r\n' "$4" | ip netns exec "$NS_C" timeout 10 openssl s_client -quiet -no_ign_eof \
    -connect "$2:$3" -servername "$2" -CAfile "$C/ca.crt" -verify_return_error \
    >"$W/guess-$1.out" 2>&1 && echo ok >"$W/guess-$1.rc" || echo failed >"$W/guess-$1.rc"
}
guess 21 imap.example.com 993 "1 CAPABILITY" &
JOBS+=($!)
guess 22 mail.example.com 993 "1 CAPABILITY" &
JOBS+=($!)
guess 23 example.com 993 "1 CAPABILITY" &
JOBS+=($!)
guess 24 pop3.example.com 995 "CAPA" &
JOBS+=($!)
guess 25 pop.example.com 995 "CAPA" &
JOBS+=($!)
guess 26 mail.example.com 995 "CAPA" &
JOBS+=($!)
guess 27 smtp.example.com 465 "EHLO we-guess.mozilla.org" &
JOBS+=($!)
guess 28 mail.example.com 465 "EHLO we-guess.mozilla.org" &
JOBS+=($!)
guess 29 example.com 465 "EHLO we-guess.mozilla.org" &
JOBS+=($!)
bg_wait
[ "$(cat "$W/guess-22.rc")" = ok ] || die "mail.example.com:993 did not answer: $(cat "$W/guess-22.out")"
[ "$(cat "$W/guess-27.rc")" = ok ] || die "smtp.example.com:465 did not answer: $(cat "$W/guess-27.out")"
for n in 21 23 24 25 26 28 29; do
  [ "$(cat "$W/guess-$n.rc")" = failed ] || die "guess $n should have failed"
done
nn_cap_stop 1.0

# --------------------------------------------------------------------------
# checks on the capture
# --------------------------------------------------------------------------
ts() { tshark -n -r "$F" "$@" 2>/dev/null; }
n=$(ts -Y 'tls.handshake.type==1' | wc -l)
[ "$n" = 8 ] || die "expected 8 ClientHellos, found $n"
ts -Y 'dns.qry.name=="example.org" && dns.mx.mail_exchange' | grep -q . || die "no MX answer for example.org"
ts -Y 'dns.qry.name=="autoconfig.mail.example.net" && dns.flags.rcode==3' | grep -q . \
  || die "autoconfig.mail.example.net is not NXDOMAIN"
n=$(ts -Y "tcp.flags.syn==1 && tcp.flags.ack==0 && ip.dst==$ACORG" | wc -l)
[ "$n" = 2 ] || die "expected 2 SYNs to autoconfig.example.org, found $n"
install -m 0644 "$F" "$SAMPLES_OUT/thunderbird-autoconfig.pcap"
install -m 0644 "$C/ca.crt" "$SAMPLES_OUT/thunderbird-ca.pem"
log "wrote $SAMPLES_OUT/thunderbird-autoconfig.pcap ($(stat -c %s "$F") bytes) and $SAMPLES_OUT/thunderbird-ca.pem"
