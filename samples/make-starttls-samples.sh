#!/usr/bin/env bash
# Make the STARTTLS sample captures (IMAP, POP3, XMPP) with real servers and clients:
# dovecot (IMAP and POP3), prosody (XMPP), dnsmasq, curl and openssl s_client, inside
# throw-away network namespaces, captured with tcpdump at the full snaplen.  Run as root,
# independently of the other sample scripts (it never touches their captures):
#
#     sudo samples/make-starttls-samples.sh
#     sudo SAMPLES_OUT=/tmp/regen samples/make-starttls-samples.sh   # elsewhere
#
# It writes:
#   starttls-imap.pcap  openssl s_client -starttls imap asking for imap.example.test
#                       (certificate for mail.example.test only: mismatch), then curl
#                       imap:// --ssl-reqd to mail.example.test (verified: match)
#   starttls-pop3.pcap  curl pop3:// --ssl-reqd, then openssl s_client -starttls pop3,
#                       both to mail.example.test (match)
#   starttls-xmpp.pcap  openssl s_client -starttls xmpp -xmpphost example.test to
#                       prosody at xmpp.example.test (certificate for example.test: match)
#
# Only documentation addresses are used (198.51.100.0/24 client, 192.0.2.0/24 servers)
# and every address lives in a namespace made here: no packet leaves the machine.
# Everything is torn down on exit; the captures are copied into SAMPLES_OUT (default
# samples/) only when all three were made and passed the checks at the end.
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwtls-srv
NS_C=pwtls-c4
export NN_TAG=make-starttls-samples NN_NAMESPACES="$NS_C $NS_SRV"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"
FILTER='tcp or udp port 53'

nn_require_root
nn_tools install ip=iproute2 ss=iproute2 tcpdump=tcpdump dnsmasq=dnsmasq-base openssl=openssl \
  curl=curl ethtool=ethtool tshark=tshark dovecot=dovecot-core \
  /usr/lib/dovecot/imap=dovecot-imapd /usr/lib/dovecot/pop3=dovecot-pop3d prosody=prosody

nn_samples_out
nn_trap "$SAMPLES_OUT left unchanged"
nn_teardown   # leftovers of an interrupted run
nn_workdir /tmp/probewatch-starttls-samples.XXXXXX
chmod 755 "$W"   # dovecot's login and mail processes (not root) look into it

# --------------------------------------------------------------------------
# certificates (RSA 2048, a throw-away test CA)
# --------------------------------------------------------------------------
log "generating certificates"
nn_cert ca "/O=Probewatch Samples/CN=Probewatch STARTTLS Test CA" rsa:2048 0x01 self "${NN_CA_EXT[@]}"
nn_leaf mail mail.example.test DNS:mail.example.test 0x1101 ca
nn_leaf xmpp example.test DNS:example.test 0x1102 ca
chmod 644 "$C"/*.crt

# --------------------------------------------------------------------------
# network: client namespace -- veth -- server namespace (gateway + all servers)
# --------------------------------------------------------------------------
log "creating namespaces"
nn_ns_add "$NS_C" "$NS_SRV"
nn_no_ipv6 "$NS_C" "$NS_SRV"
nn_veth "$NS_C" eth0 "$NS_SRV" veth-c4 02:00:00:00:04:10 02:00:00:00:04:01
ip -n "$NS_SRV" addr add 198.51.100.1/24 dev veth-c4
nn_lo_addrs "$NS_SRV" 192.0.2.53 192.0.2.143 192.0.2.52
ip -n "$NS_C" addr add 198.51.100.10/24 dev eth0
ip -n "$NS_C" route add default via 198.51.100.1
for ns in "$NS_C" "$NS_SRV"; do nn_resolv "$ns" 'nameserver 192.0.2.53\n'; done

# --------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------
log "starting dnsmasq"
ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$W/dnsmasq.pid" --user=root --group=root \
  --no-resolv --no-hosts --no-poll --bind-interfaces --listen-address=192.0.2.53 \
  --local=/example.test/ --local-ttl=300 --log-queries --log-facility="$W/dnsmasq.log" \
  --host-record=mail.example.test,192.0.2.143 \
  --host-record=imap.example.test,192.0.2.143 \
  --host-record=example.test,192.0.2.52 \
  --host-record=xmpp.example.test,192.0.2.52 \
  2>"$W/dnsmasq.err" &
nn_wait_listen "$NS_SRV" u 192.0.2.53:53

log "starting dovecot (IMAP 143, POP3 110, STARTTLS)"
mkdir -p "$W/dovecot-run" "$W/dovecot-state" "$W/mail"
chown nobody:nogroup "$W/mail"
cat >"$W/dovecot.conf" <<EOF
base_dir = $W/dovecot-run
state_dir = $W/dovecot-state
log_path = $W/dovecot.log
protocols = imap pop3
listen = 192.0.2.143
login_greeting = mail.example.test ready
ssl = yes
ssl_cert = <$C/mail.crt
ssl_key = <$C/mail.key
ssl_dh = </usr/share/dovecot/dh.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
passdb {
  driver = static
  args = password=joe-secret
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$W/mail/%u
}
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    port = 143
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 110
  }
  inet_listener pop3s {
    port = 0
  }
}
EOF
ip netns exec "$NS_SRV" dovecot -F -c "$W/dovecot.conf" 2>"$W/dovecot.err" &
nn_wait_listen "$NS_SRV" t 192.0.2.143:143
nn_wait_listen "$NS_SRV" t 192.0.2.143:110

log "starting prosody (XMPP 5222, STARTTLS)"
mkdir -p "$W/prosody-data"
cat >"$W/prosody.cfg.lua" <<EOF
run_as_root = true
pidfile = "$W/prosody.pid"
data_path = "$W/prosody-data"
log = { info = "$W/prosody.log"; error = "$W/prosody.err" }
modules_enabled = { "tls"; "saslauth"; "disco"; "ping" }
modules_disabled = { "s2s" }
interfaces = { "192.0.2.52" }
c2s_ports = { 5222 }
c2s_direct_tls_ports = { }
s2s_ports = { }
c2s_require_encryption = true
authentication = "internal_hashed"
ssl = { certificate = "$C/xmpp.crt"; key = "$C/xmpp.key" }
VirtualHost "example.test"
  ssl = { certificate = "$C/xmpp.crt"; key = "$C/xmpp.key" }
EOF
ip netns exec "$NS_SRV" prosody -F --config "$W/prosody.cfg.lua" >"$W/prosody.out" 2>&1 &
nn_wait_listen "$NS_SRV" t 192.0.2.52:5222

# --------------------------------------------------------------------------
# clients (every name is looked up in DNS first; TLS 1.2, so the certificate is visible)
# --------------------------------------------------------------------------
inc() { ip netns exec "$NS_C" "$@"; }
step() { sleep 0.3; }
CURL=(curl -sS --max-time 10 --ssl-reqd --tls-max 1.2 --cacert "$C/ca.crt" --user joe:joe-secret)
# s_client NAME-FILE INPUT ARGS...: the session's input with pauses, so the server answers
# each line before the next (and the ClientHello is not sent before the server's OK)
s_client() {
  local out=$1 input=$2; shift 2
  { sleep 0.5; printf '%b' "$input"; sleep 1; } |
    inc openssl s_client -tls1_2 -CAfile "$C/ca.crt" -ign_eof -nocommands "$@" >"$W/$out" 2>&1 || true
}

log "capturing starttls-imap.pcap"
nn_cap_start "$NS_C" eth0 "$OUT/starttls-imap.pcap" "$FILTER"
# Asks for imap.example.test; the server's certificate covers mail.example.test only.
s_client imap-s_client.out 'a1 LOGOUT\r\n' -connect imap.example.test:143 -starttls imap \
  -servername imap.example.test
grep -q '^\* BYE' "$W/imap-s_client.out" || { cat "$W/imap-s_client.out" >&2; die "IMAP s_client session failed"; }
grep -q 'Verify return code: 0 (ok)' "$W/imap-s_client.out" || die "IMAP s_client: chain not verified"
step
# A real IMAP client flow: CAPABILITY, STARTTLS, verified TLS, LOGIN, LIST, LOGOUT.
inc "${CURL[@]}" imap://mail.example.test/ >"$W/imap-curl.out" 2>"$W/imap-curl.err" ||
  { cat "$W/imap-curl.err" >&2; die "curl imap:// failed"; }
grep -q 'INBOX' "$W/imap-curl.out" || die "curl imap:// did not list INBOX"
nn_cap_stop

log "capturing starttls-pop3.pcap"
nn_cap_start "$NS_C" eth0 "$OUT/starttls-pop3.pcap" "$FILTER"
# CAPA, STLS, verified TLS, USER/PASS, LIST (an empty maildrop), QUIT.
inc "${CURL[@]}" pop3://mail.example.test/ >"$W/pop3-curl.out" 2>"$W/pop3-curl.err" ||
  { cat "$W/pop3-curl.err" >&2; die "curl pop3:// failed"; }
step
s_client pop3-s_client.out 'QUIT\r\n' -connect mail.example.test:110 -starttls pop3 \
  -servername mail.example.test -verify_hostname mail.example.test
grep -q '^+OK Logging out' "$W/pop3-s_client.out" || { cat "$W/pop3-s_client.out" >&2; die "POP3 s_client session failed"; }
grep -q 'Verify return code: 0 (ok)' "$W/pop3-s_client.out" || die "POP3 s_client: certificate not verified"
nn_cap_stop

log "capturing starttls-xmpp.pcap"
nn_cap_start "$NS_C" eth0 "$OUT/starttls-xmpp.pcap" "$FILTER"
s_client xmpp-s_client.out '</stream:stream>' -connect xmpp.example.test:5222 -starttls xmpp \
  -xmpphost example.test -servername example.test -verify_hostname example.test
grep -q 'Verify return code: 0 (ok)' "$W/xmpp-s_client.out" || { cat "$W/xmpp-s_client.out" >&2; die "XMPP s_client session failed"; }
nn_cap_stop

# --------------------------------------------------------------------------
# checks (tshark), then publish
# --------------------------------------------------------------------------
log "checking captures"
ts() { tshark -n -r "$@" 2>/dev/null; }
check() { [ "$2" = "$3" ] || die "check failed: $1: want '$2', got '$3'"; }
sni() { ts "$1" -Y 'tls.handshake.type==1' -T fields -e tls.handshake.extensions_server_name | xargs; }
certs() { ts "$1" -Y 'tls.handshake.type==11' -T fields -e x509sat.uTF8String | xargs; }
f=$OUT/starttls-imap.pcap
check "imap SNIs" "imap.example.test mail.example.test" "$(sni "$f")"
check "imap STARTTLS commands" "2" "$(ts "$f" -Y 'imap.request.command == "STARTTLS"' | wc -l)"
f=$OUT/starttls-pop3.pcap
check "pop3 SNIs" "mail.example.test mail.example.test" "$(sni "$f")"
check "pop3 STLS commands" "2" "$(ts "$f" -Y 'pop.request.command == "STLS"' | wc -l)"
f=$OUT/starttls-xmpp.pcap
check "xmpp SNI" "example.test" "$(sni "$f")"
check "xmpp starttls" "1" "$(ts "$f" -Y 'xmpp.starttls' | wc -l)"
for f in starttls-imap.pcap starttls-pop3.pcap starttls-xmpp.pcap; do
  log "  $f: $(certs "$OUT/$f")"
  install -m 0644 "$OUT/$f" "$SAMPLES_OUT/$f"
done
log "done: $(cd "$SAMPLES_OUT" && stat -c '%n %s' starttls-imap.pcap starttls-pop3.pcap starttls-xmpp.pcap | xargs)"
