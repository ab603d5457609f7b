#!/usr/bin/env bash
# Make the HTTP / SOCKS / asymmetric-capture samples with real programs: nginx (with
# the WebDAV ext module), dante (SOCKS proxy), OpenSSH (SOCKS4a), dnsmasq, curl and
# socat talking inside throw-away network namespaces, captured with tcpdump at the
# full snaplen (editcap cuts one of them).  Run as root, independently of the other
# sample scripts (it never touches their captures):
#
#     sudo samples/make-http-samples.sh
#     sudo SAMPLES_OUT=/tmp/regen samples/make-http-samples.sh   # elsewhere
#
# It writes:
#   http-webdav.pcap        WebDAV methods (PROPFIND, MKCOL, PUT, MOVE) to dav.example.test
#                           and Outlook-Anywhere-style RPC_IN_DATA / RPC_OUT_DATA to mail.example.test
#   http-bad-line.pcap      one TCP connection: an unparsable request line, then a valid GET
#   http-midstream.pcap     a keep-alive connection whose capture starts at the server's first reply
#   socks-http.pcap         curl --socks5-hostname (the proxy resolves) to a plain HTTP server
#   socks-tls.pcap          curl --socks5 (curl resolves) to an HTTPS server
#   socks4a-http.pcap       curl --socks4a (the proxy resolves) to the plain HTTP server
#   server-side-only.pcap   a TLS 1.2 handshake captured with "src host <server>" only
#
# Only documentation addresses are used (198.51.100.0/24 client, 192.0.2.0/24
# servers) and every address lives in a namespace made here: no packet leaves the
# machine.  Everything is torn down on exit, also on failure; the captures are
# copied into SAMPLES_OUT (default samples/) only when all were made and passed the
# checks at the end.
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwhttp-srv   # gateway + all servers + the SOCKS proxy
NS_C=pwhttp-c4      # client 198.51.100.10
export NN_TAG=make-http-samples NN_NAMESPACES="$NS_C $NS_SRV"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"
FILTER='tcp or udp port 53'

nn_require_root
DAV_EXT=/usr/lib/nginx/modules/ngx_http_dav_ext_module.so
nn_files install "$DAV_EXT=libnginx-mod-http-dav-ext"
nn_tools install ip=iproute2 ss=iproute2 tcpdump=tcpdump nginx=nginx dnsmasq=dnsmasq-base \
  openssl=openssl curl=curl ethtool=ethtool tshark=tshark \
  editcap=wireshark-common capinfos=wireshark-common socat=socat danted=dante-server \
  sshd=openssh-server ssh=openssh-client ssh-keygen=openssh-client

nn_samples_out
nn_trap "$SAMPLES_OUT left unchanged"
nn_teardown   # leftovers of an interrupted run
nn_workdir /tmp/probewatch-http-samples.XXXXXX
mkdir -p "$W/dav" "$W/www/mail" "$W/www/mid"
chmod 755 "$W"

# --------------------------------------------------------------------------
# certificates (same CA subject as make-samples.sh; new leaves)
# --------------------------------------------------------------------------
log "generating certificates"
nn_cert ca "/O=Probewatch Samples/CN=Probewatch Sample Root CA" rsa:2048 0x01 self "${NN_CA_EXT[@]}"
nn_leaf tlssocks tls-behind-socks.example.test DNS:tls-behind-socks.example.test 0x3001 ca
nn_leaf asym asym.example.test DNS:asym.example.test,DNS:www.asym.example.test 0x3002 ca

# --------------------------------------------------------------------------
# network: client namespace -- veth -- server namespace (gateway + all servers)
# --------------------------------------------------------------------------
log "creating namespaces"
SRV_DNS=192.0.2.53
SRV_SOCKS=192.0.2.90    # dante, port 1080
SRV_BEHIND=192.0.2.91   # nginx :80  behind-socks.example.test
SRV_TLSB=192.0.2.92     # nginx :443 tls-behind-socks.example.test
SRV_ASYM=192.0.2.95     # nginx :443 asym.example.test, TLS 1.2 only
SRV_BAD=192.0.2.100     # nginx :80  (bad request line)
SRV_DAV=192.0.2.101     # nginx :80  dav.example.test (WebDAV)
SRV_MAIL=192.0.2.102    # nginx :80  mail.example.test (RPC over HTTP path)
SRV_MID=192.0.2.103     # nginx :80  mid.example.test (keep-alive)
nn_ns_add "$NS_C" "$NS_SRV"
nn_no_ipv6 "$NS_C"
nn_client_net "$NS_C" "$NS_SRV" "nameserver $SRV_DNS\n" "$SRV_DNS" "$SRV_SOCKS" "$SRV_BEHIND" \
  "$SRV_TLSB" "$SRV_ASYM" "$SRV_BAD" "$SRV_DAV" "$SRV_MAIL" "$SRV_MID"

# --------------------------------------------------------------------------
# servers
# --------------------------------------------------------------------------
log "starting dnsmasq"
ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$W/dnsmasq.pid" --user=root --group=root \
  --no-resolv --no-hosts --no-poll --bind-interfaces --listen-address=$SRV_DNS \
  --local=/example.test/ --local-ttl=300 \
  --log-queries --log-facility="$W/dnsmasq.log" \
  --host-record=behind-socks.example.test,$SRV_BEHIND \
  --host-record=tls-behind-socks.example.test,$SRV_TLSB \
  --host-record=asym.example.test,$SRV_ASYM \
  --host-record=www.asym.example.test,$SRV_ASYM \
  --host-record=after.example.test,$SRV_BAD \
  --host-record=dav.example.test,$SRV_DAV \
  --host-record=mail.example.test,$SRV_MAIL \
  --host-record=mid.example.test,$SRV_MID \
  2>"$W/dnsmasq.err" &
nn_wait_listen "$NS_SRV" u $SRV_DNS:53

log "starting nginx"
printf 'first page on a kept-alive connection\n' >"$W/www/mid/one.txt"
printf 'second page, same connection\n' >"$W/www/mid/two.txt"
printf 'hello from behind the SOCKS proxy\n' >"$W/www/mid/behind.txt"
{
printf 'load_module %s;\n' "$DAV_EXT"   # before anything else in the main context
nn_nginx_head
cat <<EOF
  keepalive_timeout 5;
  ssl_session_tickets off;
  # WebDAV share
  server {
    listen $SRV_DAV:80;
    server_name dav.example.test;
    root $W/dav;
    dav_methods PUT DELETE MKCOL COPY MOVE;
    dav_ext_methods PROPFIND OPTIONS;
    dav_access user:rw group:r all:r;
    create_full_put_path on;
    autoindex on;
  }
  # Exchange front end: the RPC-over-HTTP path is a static location (nginx knows no RPC_* methods)
  server {
    listen $SRV_MAIL:80;
    server_name mail.example.test;
    root $W/www/mail;
  }
  # plain nginx for the unparsable request line
  server {
    listen $SRV_BAD:80;
    server_name after.example.test;
    location / { return 200 "after.example.test\n"; }
  }
  # keep-alive server for the midstream capture
  server {
    listen $SRV_MID:80;
    server_name mid.example.test;
    root $W/www/mid;
  }
  # the servers behind the SOCKS proxy
  server {
    listen $SRV_BEHIND:80;
    server_name behind-socks.example.test;
    location / { return 200 "behind-socks.example.test: hello through SOCKS\n"; }
  }
  server {
    listen $SRV_TLSB:443 ssl;
    server_name tls-behind-socks.example.test;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $C/tlssocks.crt;
    ssl_certificate_key $C/tlssocks.key;
    location / { return 200 "tls-behind-socks.example.test: hello through SOCKS over TLS\n"; }
  }
  # the asymmetric-routing capture: TLS 1.2 only, so the certificate is in cleartext
  server {
    listen $SRV_ASYM:443 ssl;
    server_name asym.example.test www.asym.example.test;
    ssl_protocols TLSv1.2;
    ssl_certificate $C/asym.crt;
    ssl_certificate_key $C/asym.key;
    location / { return 200 "asym.example.test\n"; }
  }
}
EOF
} >"$W/nginx.conf"
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>"$W/nginx.err" &
for a in $SRV_BAD $SRV_DAV $SRV_MAIL $SRV_MID $SRV_BEHIND; do nn_wait_listen "$NS_SRV" t "$a:80"; done
nn_wait_listen "$NS_SRV" t $SRV_TLSB:443
nn_wait_listen "$NS_SRV" t $SRV_ASYM:443

log "starting dante (SOCKS proxy)"
cat >"$W/danted.conf" <<EOF
logoutput: $W/danted.log
debug: 1
internal: $SRV_SOCKS port = 1080
external: $SRV_SOCKS
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: root
client pass {
  from: 198.51.100.0/24 to: 0.0.0.0/0
  log: connect disconnect error
}
socks pass {
  from: 198.51.100.0/24 to: 192.0.2.0/24
  command: connect
  log: connect disconnect error
}
EOF
ip netns exec "$NS_SRV" danted -f "$W/danted.conf" -p "$W/danted.pid" -N 1 2>"$W/danted.err" &
nn_wait_listen "$NS_SRV" t $SRV_SOCKS:1080

# Dante speaks SOCKS 4 but not 4a (it takes the 0.0.0.x address literally), so the
# SOCKS4a sample goes through OpenSSH's dynamic forwarding: "ssh -D 192.0.2.90:1081"
# in the server namespace, tunnelled to an sshd on its loopback.
log "starting sshd + ssh -D (SOCKS4a proxy)"
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh_host_ed25519"
ssh-keygen -q -t ed25519 -N '' -f "$W/id_ed25519"
cp "$W/id_ed25519.pub" "$W/authorized_keys"
cat >"$W/sshd_config" <<EOF
ListenAddress 127.0.0.1:22
HostKey $W/ssh_host_ed25519
PidFile $W/sshd.pid
AuthorizedKeysFile $W/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
EOF
ip netns exec "$NS_SRV" /usr/sbin/sshd -D -e -f "$W/sshd_config" 2>"$W/sshd.err" &
nn_wait_listen "$NS_SRV" t 127.0.0.1:22
ip netns exec "$NS_SRV" ssh -N -F /dev/null -i "$W/id_ed25519" -o BatchMode=yes \
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ExitOnForwardFailure=yes \
  -D $SRV_SOCKS:1081 root@127.0.0.1 2>"$W/ssh-D.err" &
nn_wait_listen "$NS_SRV" t $SRV_SOCKS:1081

# --------------------------------------------------------------------------
# clients
# --------------------------------------------------------------------------
inc() { ip netns exec "$NS_C" "$@"; }
CURL=(curl -sS --max-time 10 -o /dev/null -w '%{http_code}')
step() { sleep 0.3; }
expect() {  # expect WANT-HTTP-CODE CMD...
  local want=$1 rc=0 got; shift
  got=$("$@" 2>"$W/curl.err") || rc=$?
  if [ "$rc" != 0 ] || [ "$got" != "$want" ]; then
    die "expected HTTP $want, got exit $rc / '$got' from: $* ($(cat "$W/curl.err"))"
  fi
}

# --------------------------------------------------------------------------
# 1. http-webdav.pcap: WebDAV on dav.example.test, then RPC over HTTP on mail.example.test
# --------------------------------------------------------------------------
log "capturing http-webdav.pcap"
DAV=http://dav.example.test
nn_cap_start "$NS_C" eth0 "$OUT/http-webdav.pcap" "$FILTER"
expect 207 inc "${CURL[@]}" -X PROPFIND -H 'Depth: 1' "$DAV/"
step
expect 201 inc "${CURL[@]}" -X MKCOL "$DAV/reports/"
step
printf 'quarterly report, first draft\n' >"$W/draft.txt"
expect 201 inc "${CURL[@]}" -H 'Expect:' -T "$W/draft.txt" "$DAV/reports/draft.txt"
step
expect 204 inc "${CURL[@]}" -X MOVE -H "Destination: $DAV/reports/final.txt" "$DAV/reports/draft.txt"
step
# Outlook Anywhere (RPC over HTTP): the two long-lived channels; nginx has no RPC proxy
RPC='http://mail.example.test/rpc/rpcproxy.dll?exch01.example.test:6001'
expect 405 inc "${CURL[@]}" -X RPC_IN_DATA -H 'Content-Length: 0' -A MSRPC "$RPC"
step
expect 405 inc "${CURL[@]}" -X RPC_OUT_DATA -H 'Content-Length: 0' -A MSRPC "$RPC"
nn_cap_stop
if [ ! -f "$W/dav/reports/final.txt" ] || [ -e "$W/dav/reports/draft.txt" ]; then die "MOVE did not happen"; fi

# --------------------------------------------------------------------------
# 2. http-bad-line.pcap: one connection, an unparsable request line and a valid GET
#    written in one go (socat: one write, one segment).  nginx answers the first with
#    400 and closes; the GET behind it is never answered.
# --------------------------------------------------------------------------
log "capturing http-bad-line.pcap"
nn_cap_start "$NS_C" eth0 "$OUT/http-bad-line.pcap" "$FILTER"
printf 'GARBAGE\001 / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHost: after.example.test\r\nUser-Agent: socat\r\nAccept: */*\r\n\r\n' |
  inc socat -t 2 - TCP:$SRV_BAD:80 >"$W/bad-line.out" 2>"$W/bad-line.err" || true
nn_cap_stop
grep -q '^HTTP/1.1 400 ' "$W/bad-line.out" || { cat "$W/bad-line.out" "$W/bad-line.err" >&2; die "no 400 for the bad line"; }

# --------------------------------------------------------------------------
# 3. http-midstream.pcap: curl fetches two URLs on one kept-alive connection; the full
#    capture is cut with editcap so it starts at the server's first data segment.
# --------------------------------------------------------------------------
log "capturing http-midstream (full)"
nn_cap_start "$NS_C" eth0 "$W/midstream-full.pcap" "$FILTER"
inc curl -sS --max-time 10 -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' \
  http://mid.example.test/one.txt http://mid.example.test/two.txt >"$W/mid.out" 2>"$W/mid.err" ||
  die "curl (midstream) failed: $(cat "$W/mid.err")"
nn_cap_stop
[ "$(xargs <"$W/mid.out")" = "200 1 200 0" ] || die "midstream: not two 200s on one connection: $(xargs <"$W/mid.out")"
first=$(tshark -n -r "$W/midstream-full.pcap" -Y "ip.src==$SRV_MID && tcp.len>0" -T fields -e frame.number 2>/dev/null | head -1)
[ -n "$first" ] || die "midstream: no server data segment"
last=$(capinfos -c -M "$W/midstream-full.pcap" | awk -F': *' '/Number of packets/ {print $2}')
editcap -r "$W/midstream-full.pcap" "$OUT/http-midstream.pcap" "$first-$last"
log "  http-midstream.pcap: frames $first-$last of the full capture"

# --------------------------------------------------------------------------
# 4. SOCKS: dante at 192.0.2.90:1080
# --------------------------------------------------------------------------
PROXY=$SRV_SOCKS:1080
log "capturing socks-http.pcap (--socks5-hostname: the proxy resolves)"
nn_cap_start "$NS_C" eth0 "$OUT/socks-http.pcap" "$FILTER"
expect 200 inc "${CURL[@]}" --socks5-hostname "$PROXY" http://behind-socks.example.test/
nn_cap_stop

log "capturing socks-tls.pcap (--socks5: curl resolves)"
nn_cap_start "$NS_C" eth0 "$OUT/socks-tls.pcap" "$FILTER"
expect 200 inc "${CURL[@]}" --tls-max 1.2 --cacert "$C/ca.crt" --socks5 "$PROXY" https://tls-behind-socks.example.test/
nn_cap_stop

log "capturing socks4a-http.pcap (--socks4a: the proxy resolves)"
nn_cap_start "$NS_C" eth0 "$OUT/socks4a-http.pcap" "$FILTER"
expect 200 inc "${CURL[@]}" --socks4a $SRV_SOCKS:1081 http://behind-socks.example.test/
nn_cap_stop

# --------------------------------------------------------------------------
# 5. server-side-only.pcap: only the server's direction, as asymmetric routing shows it
# --------------------------------------------------------------------------
log "capturing server-side-only.pcap"
nn_cap_start "$NS_C" eth0 "$OUT/server-side-only.pcap" "tcp and src host $SRV_ASYM"
expect 200 inc "${CURL[@]}" --tls-max 1.2 --cacert "$C/ca.crt" https://asym.example.test/
nn_cap_stop

# --------------------------------------------------------------------------
# checks (tshark), then publish
# --------------------------------------------------------------------------
log "checking captures"
ts() { tshark -n -r "$@" 2>/dev/null; }
check() { [ "$2" = "$3" ] || die "check failed: $1: want '$2', got '$3'"; }
req() { ts "$1" -Y http.request -T fields -e http.request.method -e http.host | xargs; }
resp() { ts "$1" -Y http.response -T fields -e http.response.code | xargs; }

f=$OUT/http-webdav.pcap
check "webdav requests" \
  "PROPFIND dav.example.test MKCOL dav.example.test PUT dav.example.test MOVE dav.example.test RPC_IN_DATA mail.example.test RPC_OUT_DATA mail.example.test" \
  "$(req "$f")"
check "webdav responses" "207 201 201 204 405 405" "$(resp "$f")"
check "webdav Destination" "http://dav.example.test/reports/final.txt" \
  "$(ts "$f" -Y 'http.request.method=="MOVE"' -T fields -e http.request.line | tr ',' '\n' | sed -n 's/^Destination: \(.*\)\\r\\n$/\1/p')"
check "webdav connections" "6" "$(ts "$f" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' | wc -l)"

f=$OUT/http-bad-line.pcap
check "bad-line connections" "1" "$(ts "$f" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' | wc -l)"
check "bad-line client segments with data" "1" "$(ts "$f" -Y "ip.dst==$SRV_BAD && tcp.len>0" | wc -l)"
check "bad-line response" "400" "$(resp "$f")"
check "bad-line second request present" "1" "$(ts "$f" -Y 'frame contains "Host: after.example.test"' | wc -l)"

f=$OUT/http-midstream.pcap
check "midstream first frame from server with data" "$SRV_MID 1" \
  "$(ts "$f" -c 1 -T fields -e ip.src -e tcp.len | awk '{print $1, ($2>0)}')"
check "midstream no SYN" "0" "$(ts "$f" -Y 'tcp.flags.syn==1' | wc -l)"
check "midstream second request" "GET /two.txt mid.example.test" \
  "$(ts "$f" -Y http.request -T fields -e http.request.method -e http.request.uri -e http.host | xargs)"

f=$OUT/socks-http.pcap
check "socks-http SOCKS5 CONNECT (domain name)" "5 1 3 behind-socks.example.test 80" \
  "$(ts "$f" -Y 'socks.command && socks.address_type' -T fields -e socks.version -e socks.command \
     -e socks.address_type -e socks.remote_name -e socks.port | xargs)"
check "socks-http SOCKS5 reply" "5 0" "$(ts "$f" -Y 'socks.results' -T fields -e socks.version -e socks.results | xargs)"
check "socks-http request" "GET behind-socks.example.test" "$(req "$f")"
check "socks-http response" "200" "$(resp "$f")"
check "socks-http no DNS" "0" "$(ts "$f" -Y dns | wc -l)"

f=$OUT/socks-tls.pcap
check "socks-tls SOCKS5 CONNECT (IPv4)" "5 1 1 $SRV_TLSB 443" \
  "$(ts "$f" -Y 'socks.command && socks.address_type' -T fields -e socks.version -e socks.command \
     -e socks.address_type -e socks.dst -e socks.port | xargs)"
check "socks-tls DNS" "tls-behind-socks.example.test" \
  "$(ts "$f" -Y 'dns.flags.response==0 && dns.qry.type==1' -T fields -e dns.qry.name)"
check "socks-tls SNI" "tls-behind-socks.example.test" \
  "$(ts "$f" -Y 'tls.handshake.type==1' -T fields -e tls.handshake.extensions_server_name)"
check "socks-tls cert" "Probewatch Samples,Probewatch Sample Root CA,Probewatch Samples,tls-behind-socks.example.test" \
  "$(ts "$f" -Y 'tls.handshake.type==11' -T fields -e x509sat.uTF8String)"

f=$OUT/socks4a-http.pcap
S4=(-d "tcp.port==1081,socks")
check "socks4a CONNECT" "4 1 80 0.0.0.1 behind-socks.example.test" \
  "$(ts "$f" "${S4[@]}" -Y 'socks.command && socks.dst' -T fields -e socks.version -e socks.command \
     -e socks.dstport -e socks.dst -e socks.v4a_dns_name | head -1 | xargs)"
check "socks4a reply (90 = granted)" "0 90" "$(ts "$f" "${S4[@]}" -Y 'socks.results' -T fields -e socks.version -e socks.results | xargs)"
check "socks4a request" "GET behind-socks.example.test" "$(ts "$f" "${S4[@]}" -Y http.request -T fields -e http.request.method -e http.host | xargs)"
check "socks4a no DNS" "0" "$(ts "$f" -Y dns | wc -l)"

f=$OUT/server-side-only.pcap
check "asym only server packets" "0" "$(ts "$f" -Y "ip.src!=$SRV_ASYM" | wc -l)"
check "asym no ClientHello" "0" "$(ts "$f" -Y 'tls.handshake.type==1' | wc -l)"
check "asym ServerHello TLS 1.2" "0x0303" "$(ts "$f" -Y 'tls.handshake.type==2' -T fields -e tls.handshake.version)"
check "asym cert names" "Probewatch Samples,Probewatch Sample Root CA,Probewatch Samples,asym.example.test" \
  "$(ts "$f" -Y 'tls.handshake.type==11' -T fields -e x509sat.uTF8String)"
check "asym SAN" "asym.example.test,www.asym.example.test" \
  "$(ts "$f" -Y 'tls.handshake.type==11' -T fields -e x509ce.dNSName)"

# the facts, for samples/README.md
for f in "$OUT"/*.pcap; do
  log "$(basename "$f"): $(capinfos -c -M "$f" | awk -F': *' '/Number of packets/ {print $2" packets"}'), $(stat -c %s "$f") bytes"
  ts "$f" -d tcp.port==1081,socks -Y 'http.request || tls.handshake.type==1 || tls.handshake.type==11' \
    -T fields -e frame.number -e ip.src -e ip.dst -e http.request.method -e http.host \
    -e tls.handshake.extensions_server_name -e x509sat.uTF8String | sed 's/^/    /' >&2
done

for f in http-webdav.pcap http-bad-line.pcap http-midstream.pcap socks-http.pcap socks-tls.pcap \
         socks4a-http.pcap server-side-only.pcap; do
  install -m 0644 "$OUT/$f" "$SAMPLES_OUT/$f"
done
log "done: $SAMPLES_OUT"
