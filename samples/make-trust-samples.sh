#!/usr/bin/env bash
# Regenerate samples/trust.pcap: certificate chains a client rejects for reasons other
# than the name, and names by address and IDN, served by nginx and fetched by curl in
# throw-away network namespaces,
# captured with tcpdump.  Dated certificates are made with `openssl ca -startdate
# -enddate`.  Run as root:
#
#     sudo samples/make-trust-samples.sh
#
# The capture holds, in this order (TLS 1.2, so the certificates are visible):
#   1. expired.trust.example: a leaf that expired on 2021-01-01 (curl -k)
#   2. future.trust.example: a leaf valid from 2036-01-01 (curl -k)
#   3. nochain.trust.example: a leaf whose intermediate the server does not send (curl
#      given the root fails: unable to get local issuer certificate)
#   4. chain.trust.example: the same kind of leaf with its intermediate (curl: ok)
#   5. other.trust.example: a leaf from a root the client does not have (curl given the
#      sample root: unknown_ca)
#   6. https://192.0.2.36/: no SNI (curl connects by address), an iPAddress SAN: ok
#   7. https://192.0.2.37/: no SNI, the address written as a dNSName: curl refuses it
#   8. https://bücher.trust.example/: curl sends the A-label xn--bcher-kva…, the SAN
#      holds the A-label: ok
# samples/trust-ca.pem is the sample root (for --ca-file; a certificate, no key).
#
# Only documentation addresses are used (198.51.100.0/24 client, 192.0.2.0/24
# servers); every address lives inside a namespace created here.  The capture and the
# root go into SAMPLES_OUT (default samples/) only when the checks at the end passed:
#
#     sudo SAMPLES_OUT=/tmp/regen samples/make-trust-samples.sh   # elsewhere
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NS_SRV=pwtrust-srv
NS_C=pwtrust-c
export NN_TAG=make-trust-samples NN_NAMESPACES="$NS_C $NS_SRV"
# shellcheck source=scripts/netns.sh
. "$SAMPLES_DIR/../scripts/netns.sh"
DNS=192.0.2.53
NAMES=(expired future nochain chain other ipsan ipdns idn)
declare -A ADDR=([expired]=192.0.2.31 [future]=192.0.2.32 [nochain]=192.0.2.33 [chain]=192.0.2.34 [other]=192.0.2.35
  [ipsan]=192.0.2.36 [ipdns]=192.0.2.37 [idn]=192.0.2.38)

nn_require_root
nn_tools install ip=iproute2 ss=iproute2 tcpdump=tcpdump tshark=tshark nginx=nginx openssl=openssl \
  curl=curl dnsmasq=dnsmasq-base ethtool=ethtool

nn_samples_out
nn_trap "$SAMPLES_OUT left unchanged"
nn_teardown   # leftovers of an interrupted run
nn_workdir /tmp/probewatch-trust.XXXXXX

# --------------------------------------------------------------------------
# certificates: a root, an intermediate under it, another root nobody is given;
# dated leaves made with `openssl ca`
# --------------------------------------------------------------------------
log "generating certificates"
mkca() {  # mkca DIR SUBJECT [ISSUER-DIR]
  local d=$C/$1
  mkdir -p "$d/new"
  : >"$d/index.txt"
  echo 1000 >"$d/serial"
  cat >"$d/ca.cnf" <<EOF
[ ca ]
default_ca = this
[ this ]
dir = $d
database = $d/index.txt
new_certs_dir = $d/new
serial = $d/serial
certificate = $d/ca.crt
private_key = $d/ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
organizationName = optional
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = caIssuers;URI:http://pki.trust.example/$1.crt
subjectAltName = \${ENV::LEAF_SAN}
[ inter ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = caIssuers;URI:http://pki.trust.example/$1.crt
EOF
  if [ -z "${3:-}" ]; then
    nn_cert "$1/ca" "$2" rsa:2048 - self "${NN_CA_EXT[@]}"
  else
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/ca.key" 2>/dev/null
    openssl req -new -key "$d/ca.key" -subj "$2" -out "$d/ca.csr"
    LEAF_SAN=DNS:unused openssl ca -batch -config "$C/$3/ca.cnf" -extensions inter \
      -days 1825 -in "$d/ca.csr" -out "$d/ca.crt" 2>"$d/ca.err" || die "openssl ca: $(cat "$d/ca.err")"
  fi
}
mkleaf() {  # mkleaf NAME CA-DIR START END [SAN]
  local n=$1.trust.example
  openssl req -new -newkey rsa:2048 -nodes -keyout "$C/$1.key" -subj "/O=Probewatch Samples/CN=$n" \
    -out "$C/$1.csr" 2>/dev/null
  LEAF_SAN=${5:-DNS:$n} openssl ca -batch -config "$C/$2/ca.cnf" -extensions leaf \
    -startdate "$3" -enddate "$4" -in "$C/$1.csr" -out "$C/$1.crt" 2>"$C/$1.err" \
    || die "openssl ca $1: $(cat "$C/$1.err")"
  log "  $(openssl x509 -in "$C/$1.crt" -noout -subject -dates | tr '\n' ' ')"
}
mkca root "/O=Probewatch Samples/CN=Probewatch Trust Root CA"
mkca inter "/O=Probewatch Samples/CN=Probewatch Trust Intermediate CA" root
mkca other "/O=Probewatch Samples/CN=Probewatch Other Root CA"
# The undated leaves: from 30 days ago for 330 days (under the 398-day limit).
FROM=$(date -u -d '-30 days' +%Y%m%d%H%M%SZ)
UNTIL=$(date -u -d '+300 days' +%Y%m%d%H%M%SZ)
mkleaf expired root 20200101000000Z 20210101000000Z
mkleaf future root 20360101000000Z 20370101000000Z
mkleaf nochain inter "$FROM" "$UNTIL"
mkleaf chain inter "$FROM" "$UNTIL"
mkleaf other other "$FROM" "$UNTIL"
# names: an iPAddress SAN, an address written as a dNSName, an IDN (A-label in the SAN)
mkleaf ipsan root "$FROM" "$UNTIL" "IP:${ADDR[ipsan]}"
mkleaf ipdns root "$FROM" "$UNTIL" "DNS:${ADDR[ipdns]}"
mkleaf idn root "$FROM" "$UNTIL" "DNS:xn--bcher-kva.trust.example"
cat "$C/chain.crt" "$C/inter/ca.crt" >"$C/chain-full.crt"

# --------------------------------------------------------------------------
# network
# --------------------------------------------------------------------------
log "creating namespaces"
nn_ns_add "$NS_C" "$NS_SRV"
nn_no_ipv6 "$NS_C" "$NS_SRV"
nn_client_net "$NS_C" "$NS_SRV" "nameserver $DNS\n" "${ADDR[@]}" "$DNS"

log "starting dnsmasq and nginx"
hosts=()
for n in "${NAMES[@]}"; do hosts+=("--host-record=$n.trust.example,${ADDR[$n]}"); done
hosts+=("--host-record=xn--bcher-kva.trust.example,${ADDR[idn]}")
ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --conf-file=/dev/null \
  --pid-file="$W/dnsmasq.pid" --user=root --group=root --no-resolv --no-hosts --no-poll \
  --bind-interfaces --listen-address=$DNS --local=/trust.example/ --local-ttl=300 \
  "${hosts[@]}" 2>"$W/dnsmasq.err" &
nn_wait_listen "$NS_SRV" u $DNS:53
{
  nn_nginx_head
  cat <<EOF
  ssl_protocols TLSv1.2;
  ssl_session_tickets off;
EOF
  for n in "${NAMES[@]}"; do
    crt=$C/$n.crt
    [ "$n" = chain ] && crt=$C/chain-full.crt
    cat <<EOF
  server {
    listen ${ADDR[$n]}:443 ssl;
    server_name $n.trust.example;
    ssl_certificate $crt;
    ssl_certificate_key $C/$n.key;
    location / { return 200 "$n.trust.example\n"; }
  }
EOF
  done
  echo "}"
} >"$W/nginx.conf"
ip netns exec "$NS_SRV" nginx -p "$W" -e "$W/nginx-error.log" -c "$W/nginx.conf" 2>"$W/nginx.err" &
for n in "${NAMES[@]}"; do nn_wait_listen "$NS_SRV" t "${ADDR[$n]}:443"; done

# --------------------------------------------------------------------------
# capture
# --------------------------------------------------------------------------
F="$OUT/trust.pcap"
nn_cap_start "$NS_SRV" veth-c4 "$F" 'tcp or udp port 53'
fetch() {  # fetch NAME WANT-EXIT CURL-ARGS... (NAME: a label of trust.example, or a host)
  local n=$1 want=$2 rc=0 host
  shift 2
  case $n in *.*|*:*) host=$n ;; *) host=$n.trust.example ;; esac
  LC_ALL=C.UTF-8 ip netns exec "$NS_C" curl -sS --max-time 10 -o /dev/null --tlsv1.2 --tls-max 1.2 "$@" \
    "https://$host/" 2>"$W/curl-$n.err" || rc=$?
  [ "$rc" = "$want" ] || die "curl $n: expected exit $want, got $rc: $(cat "$W/curl-$n.err")"
  sleep 0.3
}
log "fetching"
fetch expired 0 -k
fetch future 0 -k
fetch nochain 60 --cacert "$C/root/ca.crt"
fetch chain 0 --cacert "$C/root/ca.crt"
fetch other 60 --cacert "$C/root/ca.crt"
# by address: curl sends no SNI
fetch "${ADDR[ipsan]}" 0 --cacert "$C/root/ca.crt"
fetch "${ADDR[ipdns]}" 60 --cacert "$C/root/ca.crt"
# an IDN: curl (libidn2) converts it, the SNI is the A-label
fetch "bücher.trust.example" 0 --cacert "$C/root/ca.crt"
nn_cap_stop 1.2

# --------------------------------------------------------------------------
# checks on the capture
# --------------------------------------------------------------------------
ts() { tshark -n -r "$F" "$@" 2>/dev/null; }
n=$(ts -Y 'tls.handshake.type==11' | wc -l)
[ "$n" = 8 ] || die "expected 8 Certificate messages, found $n"
n=$(ts -Y 'tls.handshake.type==1 && !tls.handshake.extensions_server_name' | wc -l)
[ "$n" = 2 ] || die "expected 2 ClientHellos without SNI (by address), found $n"
ts -Y 'tls.handshake.extensions_server_name=="xn--bcher-kva.trust.example"' | grep -q . \
  || die "no ClientHello with the A-label SNI"
n=$(ts -Y 'tls.alert_message.desc==48' | wc -l)
[ "$n" = 2 ] || die "expected 2 unknown_ca alerts, found $n"
install -m 0644 "$F" "$SAMPLES_OUT/trust.pcap"
install -m 0644 "$C/root/ca.crt" "$SAMPLES_OUT/trust-ca.pem"
log "wrote $SAMPLES_OUT/trust.pcap ($(stat -c %s "$F") bytes) and $SAMPLES_OUT/trust-ca.pem"
