#!/usr/bin/env bash
# Regenerate the probewatch sample captures in samples/ with real programs
# (dnsmasq, nginx, openssl, curl, dig, a small python3 SMTP server) talking to
# each other inside throw-away network namespaces, captured with tcpdump /
# dumpcap.  Run as root:
#
#     sudo samples/make-samples.sh
#     sudo SAMPLES_OUT=/tmp/regen samples/make-samples.sh   # elsewhere; samples/ untouched
#
# Only documentation addresses are used (198.51.100.0/24 for clients,
# 192.0.2.0/24 for servers, 2001:db8::/32 for IPv6), and every address lives
# inside a namespace created here: no packet leaves the machine.
# Everything (namespaces, daemons, temp dir) is torn down on exit, also on
# failure, and the script can be run again at any time.  The captures are only
# copied into SAMPLES_OUT (default samples/) after all of them were made and checked.
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwsmp-srv   # all servers (nginx, dnsmasq, SMTP, s_server)
NS_C4=pwsmp-c4     # IPv4 client 198.51.100.10
NS_C6=pwsmp-c6     # IPv6-only client 2001:db8:1::10
export NN_TAG=make-samples NN_NAMESPACES="$NS_C4 $NS_C6 $NS_SRV"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"
FILTER='tcp or udp port 53'   # keeps ARP / ND / MLD / RS noise out

nn_require_root
nn_tools install ip=iproute2 ss=iproute2 tcpdump=tcpdump nginx=nginx dnsmasq=dnsmasq-base \
  openssl=openssl curl=curl dig=bind9-dnsutils ethtool=ethtool tshark=tshark \
  dumpcap=wireshark-common editcap=wireshark-common capinfos=wireshark-common python3=python3
PY=/usr/bin/python3
[ -x "$PY" ] || PY="$(command -v python3)"

nn_samples_out
nn_trap "$SAMPLES_OUT left unchanged"
nn_teardown   # leftovers of an interrupted earlier run
nn_workdir /tmp/probewatch-samples.XXXXXX

# --------------------------------------------------------------------------
# certificates
# --------------------------------------------------------------------------
log "generating certificates"
nn_cert ca "/O=Probewatch Samples/CN=Probewatch Sample Root CA" rsa:2048 0x01 self "${NN_CA_EXT[@]}"
nn_leaf ex7 ex7.mailhost.example DNS:ex7.mailhost.example 0x1001 ca
# "Exchange-like box": self-signed, CN=EXCH01, no subjectAltName at all
nn_cert exch01 "/CN=EXCH01" rsa:2048 0x2a self \
  "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth"
nn_leaf wild-com '*.example.com' 'DNS:*.example.com' 0x1002 ca
nn_leaf smtp smtp.mailhost.example DNS:smtp.mailhost.example 0x1003 ca
nn_leaf wild-net '*.example.net' 'DNS:*.example.net' 0x1004 ca
nn_leaf secure secure.example.org DNS:secure.example.org 0x1005 ca
nn_leaf v6 v6.example.org DNS:v6.example.org 0x1006 ca
nn_leaf mtls mtls.example.org DNS:mtls.example.org 0x1007 ca
nn_cert joe-laptop "/O=Probewatch Samples/CN=joe-laptop" rsa:2048 0x1008 ca \
  "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=clientAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid"
# big chain for small-mtu: RSA-4096 root -> RSA-4096 intermediate -> RSA-4096 leaf
nn_cert bigroot "/O=Probewatch Samples/CN=Probewatch Big Root CA" rsa:4096 0x02 self "${NN_CA_EXT[@]}"
nn_cert bigint "/O=Probewatch Samples/CN=Probewatch Big Intermediate CA" rsa:4096 0x03 bigroot \
  "basicConstraints=critical,CA:TRUE,pathlen:0" "keyUsage=critical,keyCertSign,cRLSign" \
  "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid"
nn_leaf big big.example.org DNS:big.example.org 0x1009 bigint rsa:4096
cat "$C/big.crt" "$C/bigint.crt" "$C/bigroot.crt" >"$C/big-chain.crt"

# --------------------------------------------------------------------------
# network: client namespaces -- veth -- server namespace (acts as gateway)
# --------------------------------------------------------------------------
log "creating namespaces"
SRV4=(192.0.2.10 192.0.2.20 192.0.2.25 192.0.2.30 192.0.2.40 192.0.2.50 192.0.2.53 192.0.2.60 192.0.2.70 192.0.2.80)
SRV6=(2001:db8:2::443 2001:db8:2::53)
nn_ns_add "$NS_C4" "$NS_C6" "$NS_SRV"
nn_no_dad "$NS_C4" "$NS_C6" "$NS_SRV"
nn_no_ipv6 "$NS_C4"
nn_veth "$NS_C4" eth0 "$NS_SRV" veth-c4 02:00:00:00:04:10 02:00:00:00:04:01
nn_veth "$NS_C6" eth0 "$NS_SRV" veth-c6 02:00:00:00:06:10 02:00:00:00:06:01
ip -n "$NS_SRV" addr add 198.51.100.1/24 dev veth-c4
ip -n "$NS_SRV" addr add 2001:db8:1::1/64 dev veth-c6 nodad
nn_lo_addrs "$NS_SRV" "${SRV4[@]}" "${SRV6[@]}"
ip -n "$NS_C4" addr add 198.51.100.10/24 dev eth0
ip -n "$NS_C4" route add default via 198.51.100.1
ip -n "$NS_C6" addr add 2001:db8:1::10/64 dev eth0 nodad
ip -n "$NS_C6" -6 route add default via 2001:db8:1::1
HOSTS='127.0.0.1 localhost\n::1 localhost ip6-localhost\n'
nn_resolv "$NS_C4" 'nameserver 192.0.2.53\n' "$HOSTS"
nn_resolv "$NS_C6" 'nameserver 2001:db8:2::53\n' "$HOSTS"
nn_resolv "$NS_SRV" 'nameserver 192.0.2.53\n' "$HOSTS"

# --------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------

log "starting dnsmasq"
# HTTPS RR for example.com: priority 1, target ".", alpn=h2,http/1.1, ipv4hint=192.0.2.30
HTTPS_RR='00:01:00:00:01:00:0c:02:68:32:08:68:74:74:70:2f:31:2e:31:00:04:00:04:c0:00:02:1e'
ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$W/dnsmasq.pid" --user=root --group=root \
  --no-resolv --no-hosts --no-poll --bind-interfaces \
  --listen-address=192.0.2.53 --listen-address=2001:db8:2::53 \
  --local=/example.com/ --local=/example.net/ --local=/example.org/ --local=/mailhost.example/ \
  --local-ttl=300 --log-queries --log-facility="$W/dnsmasq.log" \
  --host-record=ex7.mailhost.example,192.0.2.10 \
  --host-record=autodiscover.example.com,192.0.2.20 \
  --host-record=mail.example.com,192.0.2.25 \
  --host-record=example.com,192.0.2.30 \
  --host-record=www.example.com,192.0.2.40 \
  --host-record=example.net,192.0.2.50 \
  --host-record=www.example.net,192.0.2.50 \
  --host-record=secure.example.org,192.0.2.60 \
  --host-record=big.example.org,192.0.2.70 \
  --host-record=mtls.example.org,192.0.2.80 \
  --host-record=v6.example.org,2001:db8:2::443 \
  --cname=autoconfig.example.com,ex7.mailhost.example \
  --srv-host=_autodiscover._tcp.example.com,ex7.mailhost.example,443,10,10 \
  --dns-rr=example.com,65,$HTTPS_RR \
  2>"$W/dnsmasq.err" &
nn_wait_listen "$NS_SRV" u 192.0.2.53:53
nn_wait_listen "$NS_SRV" u '[2001:db8:2::53]:53'

log "starting nginx"
ssl_server() {  # ssl_server LISTEN CERT-FILE KEY-FILE SERVER_NAME BODY...
  cat <<EOF
  server {
    listen $1 ssl;
    server_name $4;
    ssl_certificate $2;
    ssl_certificate_key $3;
$5
  }
EOF
}
{
  nn_nginx_head
  cat <<EOF
  keepalive_timeout 5;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_tickets off;
EOF
  ssl_server 192.0.2.10:443 "$C/ex7.crt" "$C/ex7.key" ex7.mailhost.example \
    '    location / { return 200 "ex7.mailhost.example mailbox front end\n"; }'
  ssl_server 192.0.2.20:443 "$C/exch01.crt" "$C/exch01.key" _ \
    '    location / { add_header WWW-Authenticate "Basic realm=\"EXCH01\"" always; return 401; }'
  ssl_server 192.0.2.30:443 "$C/wild-com.crt" "$C/wild-com.key" example.com \
    '    location / { return 404; }'
  cat <<EOF
  server {
    listen 192.0.2.40:80;
    server_name www.example.com;
    location / { return 302 https://ex7.mailhost.example/autodiscover/autodiscover.xml; }
  }
EOF
  ssl_server 192.0.2.50:443 "$C/wild-net.crt" "$C/wild-net.key" example.net \
    '    location / { return 200 "example.net web site\n"; }'
  ssl_server 192.0.2.60:443 "$C/secure.crt" "$C/secure.key" secure.example.org \
    '    location / { return 200 "secure.example.org over TLS 1.3\n"; }'
  ssl_server 192.0.2.70:443 "$C/big-chain.crt" "$C/big.key" big.example.org \
    '    location / { return 200 "big.example.org (RSA-4096 chain)\n"; }'
  ssl_server '[2001:db8:2::443]:443' "$C/v6.crt" "$C/v6.key" v6.example.org \
    '    location / { return 200 "v6.example.org over IPv6 + TLS\n"; }'
  cat <<EOF
  server {
    listen [2001:db8:2::443]:80;
    server_name v6.example.org;
    location / { return 200 "v6.example.org over IPv6 plain HTTP\n"; }
  }
}
EOF
} >"$W/nginx.conf"
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>"$W/nginx.err" &
nn_wait_listen "$NS_SRV" t 192.0.2.10:443
nn_wait_listen "$NS_SRV" t 192.0.2.40:80
nn_wait_listen "$NS_SRV" t '[2001:db8:2::443]:443'

log "starting SMTP server"
cat >"$W/smtpd.py" <<'EOF'
# Minimal SMTP server with STARTTLS for the probewatch samples.
import socket, ssl, sys

crt, key = sys.argv[1], sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(crt, key)
ctx.options |= ssl.OP_NO_TICKET

def lines(f):
    while True:
        line = f.readline()
        if not line:
            return
        yield line.decode("ascii", "replace").rstrip("\r\n")

def serve(conn):
    conn.settimeout(10)
    f = conn.makefile("rb")
    conn.sendall(b"220 smtp.mailhost.example ESMTP ready\r\n")
    for cmd in lines(f):
        verb = cmd.split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            conn.sendall(b"250-smtp.mailhost.example\r\n250-PIPELINING\r\n"
                         b"250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
        elif verb == "STARTTLS":
            conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
            break
        elif verb == "QUIT":
            conn.sendall(b"221 2.0.0 Bye\r\n")
            return
        else:
            conn.sendall(b"502 5.5.2 Error: command not recognized\r\n")
    else:
        return
    tls = ctx.wrap_socket(conn, server_side=True)
    tf = tls.makefile("rb")
    for cmd in lines(tf):
        verb = cmd.split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            tls.sendall(b"250-smtp.mailhost.example\r\n250-PIPELINING\r\n"
                        b"250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
        elif verb == "QUIT":
            tls.sendall(b"221 2.0.0 Bye\r\n")
            break
        else:
            tls.sendall(b"502 5.5.2 Error: command not recognized\r\n")
    try:
        tls.unwrap()
    except (OSError, ssl.SSLError):
        pass

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("192.0.2.25", 587))
srv.listen(5)
while True:
    c, _ = srv.accept()
    try:
        serve(c)
    except (OSError, ssl.SSLError) as e:
        print("smtpd:", e, file=sys.stderr)
    finally:
        c.close()
EOF
ip netns exec "$NS_SRV" "$PY" "$W/smtpd.py" "$C/smtp.crt" "$C/smtp.key" 2>"$W/smtpd.err" &
nn_wait_listen "$NS_SRV" t 192.0.2.25:587

# --------------------------------------------------------------------------
# clients
# --------------------------------------------------------------------------
in4() { ip netns exec "$NS_C4" "$@"; }
in6() { ip netns exec "$NS_C6" "$@"; }
CURL=(curl -sS --max-time 10 -o /dev/null -w '%{http_code}')
step() { sleep 0.3; }
expect_code() {  # expect_code WANT CMD...
  local want=$1 got; shift
  got=$("$@") || true
  [ "$got" = "$want" ] || die "expected HTTP $want, got '$got' from: $*"
}

cat >"$W/autodiscover.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>joe@example.com</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>
EOF
POST_AD=(-X POST -H 'Content-Type: text/xml' --data-binary "@$W/autodiscover.xml")

# --------------------------------------------------------------------------
# a. mail-fanout.pcap
# --------------------------------------------------------------------------
log "capturing mail-fanout.pcap"
nn_cap_start "$NS_C4" eth0 "$OUT/mail-fanout.pcap" "$FILTER"
expect_code 200 in4 "${CURL[@]}" -k --tls-max 1.2 'https://ex7.mailhost.example/exchange/joe@example.com'
step
expect_code 401 in4 "${CURL[@]}" -k --tls-max 1.2 "${POST_AD[@]}" https://autodiscover.example.com/autodiscover/autodiscover.xml
step
expect_code 404 in4 "${CURL[@]}" -k --tls-max 1.2 "${POST_AD[@]}" https://example.com/autodiscover/autodiscover.xml
step
expect_code 302 in4 "${CURL[@]}" "${POST_AD[@]}" http://www.example.com/autodiscover/autodiscover.xml
step
# without -k: curl must reject the self-signed EXCH01 certificate (exit 60)
rc=0; in4 "${CURL[@]}" --tls-max 1.2 --cacert "$C/ca.crt" "${POST_AD[@]}" \
  https://autodiscover.example.com/autodiscover/autodiscover.xml >/dev/null 2>&1 || rc=$?
[ "$rc" = 60 ] || die "expected curl exit 60 (cert rejected), got $rc"
nn_cap_stop

# --------------------------------------------------------------------------
# b. starttls-smtp.pcap
# --------------------------------------------------------------------------
log "capturing starttls-smtp.pcap"
nn_cap_start "$NS_C4" eth0 "$OUT/starttls-smtp.pcap" "$FILTER"
{ sleep 0.5; printf 'EHLO joe-laptop.example.com\r\n'; sleep 0.3; printf 'QUIT\r\n'; sleep 1; } |
  in4 openssl s_client -connect mail.example.com:587 -starttls smtp -name joe-laptop.example.com \
    -servername mail.example.com -tls1_2 -CAfile "$C/ca.crt" -ign_eof -nocommands \
    >"$W/smtp-client.out" 2>&1 || true
grep -q '^221 ' "$W/smtp-client.out" || { cat "$W/smtp-client.out" >&2; die "SMTP session failed"; }
nn_cap_stop

# --------------------------------------------------------------------------
# c. wildcard-apex.pcap
# --------------------------------------------------------------------------
log "capturing wildcard-apex.pcap"
nn_cap_start "$NS_C4" eth0 "$OUT/wildcard-apex.pcap" "$FILTER"
expect_code 200 in4 "${CURL[@]}" -k --tls-max 1.2 https://example.net/
step
expect_code 200 in4 "${CURL[@]}" --tls-max 1.2 --cacert "$C/ca.crt" https://www.example.net/
nn_cap_stop

# --------------------------------------------------------------------------
# d. tls13.pcap
# --------------------------------------------------------------------------
log "capturing tls13.pcap"
nn_cap_start "$NS_C4" eth0 "$OUT/tls13.pcap" "$FILTER"
expect_code 200 in4 "${CURL[@]}" --tlsv1.3 --cacert "$C/ca.crt" https://secure.example.org/
nn_cap_stop

# --------------------------------------------------------------------------
# e. small-mtu.pcap  (MTU 256 on the client link -> MSS 216, 204 payload bytes
#    per segment with TCP timestamps: curl's ~226-byte ClientHello takes 2
#    segments, the ~4.3 KB RSA-4096 Certificate chain about 20)
# --------------------------------------------------------------------------
log "capturing small-mtu.pcap"
ip -n "$NS_C4" link set eth0 mtu 256
ip -n "$NS_SRV" link set veth-c4 mtu 256
nn_cap_start "$NS_C4" eth0 "$OUT/small-mtu.pcap" "$FILTER"
expect_code 200 in4 "${CURL[@]}" --tls-max 1.2 --cacert "$C/bigroot.crt" https://big.example.org/
nn_cap_stop
ip -n "$NS_C4" link set eth0 mtu 1500
ip -n "$NS_SRV" link set veth-c4 mtu 1500

# --------------------------------------------------------------------------
# f. ipv6.pcap  (IPv6-only client)
# --------------------------------------------------------------------------
log "capturing ipv6.pcap"
nn_cap_start "$NS_C6" eth0 "$OUT/ipv6.pcap" "$FILTER"
expect_code 200 in6 "${CURL[@]}" --tls-max 1.2 --cacert "$C/ca.crt" https://v6.example.org/
step
expect_code 200 in6 "${CURL[@]}" http://v6.example.org/
nn_cap_stop

# --------------------------------------------------------------------------
# g. any-sll2.pcap  (tcpdump -i any -> LINKTYPE_LINUX_SLL2)
# --------------------------------------------------------------------------
log "capturing any-sll2.pcap"
nn_cap_start "$NS_C4" any "$OUT/any-sll2.pcap" "$FILTER"
expect_code 200 in4 "${CURL[@]}" --tls-max 1.2 --cacert "$C/ca.crt" https://ex7.mailhost.example/
nn_cap_stop

# --------------------------------------------------------------------------
# h. pcapng-mixed.pcapng  (dumpcap; DNS SRV/CNAME/HTTPS + mutual TLS 1.2)
# --------------------------------------------------------------------------
log "capturing pcapng-mixed.pcapng"
ip netns exec "$NS_SRV" openssl s_server -accept 192.0.2.80:443 -naccept 1 -www \
  -cert "$C/mtls.crt" -key "$C/mtls.key" -CAfile "$C/ca.crt" -Verify 1 \
  >"$W/s_server.out" 2>&1 </dev/null &
nn_wait_listen "$NS_SRV" t 192.0.2.80:443
nn_cap_start "$NS_C4" eth0 "$OUT/pcapng-mixed.pcapng" "$FILTER" dumpcap
DIG=(dig +tries=1 +time=3)
in4 "${DIG[@]}" SRV _autodiscover._tcp.example.com >"$W/dig-srv.out"
step
in4 "${DIG[@]}" A autoconfig.example.com >"$W/dig-cname.out"
step
in4 "${DIG[@]}" HTTPS example.com >"$W/dig-https.out"
step
{ printf 'GET / HTTP/1.0\r\n\r\n'; sleep 1; } |
  in4 openssl s_client -connect mtls.example.org:443 -servername mtls.example.org -tls1_2 \
    -cert "$C/joe-laptop.crt" -key "$C/joe-laptop.key" -CAfile "$C/ca.crt" -ign_eof -nocommands \
    >"$W/mtls-client.out" 2>&1 || true
grep -q 'HTTP/1.0 200 ok' "$W/mtls-client.out" || { cat "$W/mtls-client.out" >&2; die "mTLS session failed"; }
nn_cap_stop
grep -q 'ANSWER: 1,' "$W/dig-srv.out" || die "SRV query not answered"
grep -q 'CNAME' "$W/dig-cname.out" || die "CNAME not answered"
grep -q 'ANSWER: 1,' "$W/dig-https.out" || die "HTTPS query not answered"

# --------------------------------------------------------------------------
# checks on the captures (read back with tshark)
# --------------------------------------------------------------------------
log "checking captures"
ts() { tshark -n -r "$@" 2>/dev/null; }
check() {  # check DESCRIPTION WANT ACTUAL
  [ "$2" = "$3" ] || die "check failed: $1: want '$2', got '$3'"
}
f=$OUT/mail-fanout.pcap
check "mail-fanout SNIs" "ex7.mailhost.example autodiscover.example.com example.com autodiscover.example.com" \
  "$(ts "$f" -Y 'tls.handshake.type==1' -T fields -e tls.handshake.extensions_server_name | xargs)"
check "mail-fanout HTTP Host" "www.example.com" "$(ts "$f" -Y http.request -T fields -e http.host)"
check "mail-fanout Location" "https://ex7.mailhost.example/autodiscover/autodiscover.xml" \
  "$(ts "$f" -Y 'http.response.code==302' -T fields -e http.location)"
check "mail-fanout alert" "48" "$(ts "$f" -Y 'tls.alert_message.desc' -T fields -e tls.alert_message.desc | head -1)"
f=$OUT/starttls-smtp.pcap
check "starttls SNI" "mail.example.com" "$(ts "$f" -d tcp.port==587,smtp -Y 'tls.handshake.type==1' -T fields -e tls.handshake.extensions_server_name)"
f=$OUT/tls13.pcap
check "tls13 version" "0x0304" "$(ts "$f" -Y 'tls.handshake.type==2' -T fields -e tls.handshake.extensions.supported_version)"
f=$OUT/small-mtu.pcap
n=$(ts "$f" -Y 'tls.handshake.type==11' -T fields -e tcp.segment.count | head -1)
[ "${n:-0}" -ge 4 ] || die "small-mtu: Certificate not reassembled from many segments ($n)"
n=$(ts "$f" -Y 'tls.handshake.type==1' -T fields -e tcp.segment.count | head -1)
[ "${n:-0}" -ge 2 ] || die "small-mtu: ClientHello does not span 2 segments ($n)"
n=$(ts "$f" -T fields -e frame.len | sort -n | tail -1)
[ "$n" -le 270 ] || die "small-mtu: frame of $n bytes (offloads not disabled?)"
f=$OUT/any-sll2.pcap
check "any-sll2 linktype" "276" "$(od -An -tu4 -j20 -N4 "$f" | tr -d ' ')"
f=$OUT/pcapng-mixed.pcapng
check "pcapng magic" "0a0d0d0a" "$(od -An -tx1 -N4 "$f" | tr -d ' ')"
check "pcapng client cert" "1" "$(ts "$f" -Y 'tls.handshake.type==11 && ip.src==198.51.100.10' | wc -l)"

# --------------------------------------------------------------------------
# publish
# --------------------------------------------------------------------------
for f in mail-fanout.pcap starttls-smtp.pcap wildcard-apex.pcap tls13.pcap small-mtu.pcap \
         ipv6.pcap any-sll2.pcap pcapng-mixed.pcapng; do
  install -m 0644 "$OUT/$f" "$SAMPLES_OUT/$f"
done
log "done: $(cd "$SAMPLES_OUT" && stat -c '%n %s' ./*.pcap ./*.pcapng | xargs)"
