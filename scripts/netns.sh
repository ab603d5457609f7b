# shellcheck shell=bash
# What the scripts that build throw-away network namespaces share. Sourced (never run) by
# samples/make-samples.sh, samples/make-quic-samples.sh, samples/make-group-samples.sh,
# samples/make-starttls-samples.sh, samples/make-http-samples.sh, tests/live/scenario.sh
# and bench/make-capture.sh.
# Also sourced by samples/make-dav-samples.sh, samples/make-host-samples.sh,
# samples/make-thunderbird-samples.sh, samples/make-activesync-samples.sh,
# samples/make-m365-samples.sh, samples/make-outcome-samples.sh, samples/make-trust-samples.sh
# and samples/make-stall-samples.sh.
#
# Set before sourcing (all optional):
#   NN_TAG         prefix of the log lines ("[NN_TAG] ...")             default: the script's name
#   NN_NAMESPACES  the namespaces this script owns (teardown removes them)
#
# Then:
#   log MSG... / die MSG...                  one line on stderr / that line and exit 1
#   nn_require_root
#   nn_tools install|check CMD=PACKAGE...    commands the script needs; "install" runs
#                                            apt-get once for the missing ones, "check" fails
#                                            with one sentence naming the packages
#   nn_files install|check FILE=PACKAGE...   the same for files that are not commands
#                                            (an nginx module, a data file)
#   nn_samples_out                           SAMPLES_OUT (default: samples/), absolute, made
#   nn_trap [NOTE]                           on exit (also failure, Ctrl-C): stop the capture,
#                                            tear down, remove $W unless KEEP_WORK is set,
#                                            and on failure say "FAILED (exit N); NOTE"
#   nn_teardown                              kill every process in NN_NAMESPACES, delete them
#   nn_workdir TEMPLATE                      W=$(mktemp -d TEMPLATE), C=$W/certs, OUT=$W/out
#   nn_ns_add NS...                          namespaces with lo up
#   nn_no_ipv6 NS... / nn_no_dad NS...       sysctls: IPv6 off / no DAD and no RS
#   nn_veth NS_A IF_A NS_B IF_B [MAC_A MAC_B]  a veth pair, offloads off (real on-wire
#                                            segments, correct checksums), both ends up
#   nn_lo_addrs NS ADDR...                   server addresses on lo (/32, or /128 nodad)
#   nn_client_net NS_C NS_SRV RESOLV.CONF-TEXT ADDR...  the usual pair of namespaces made
#                                            with nn_ns_add: client 198.51.100.10 on eth0,
#                                            routed via NS_SRV's 198.51.100.1 on veth-c4,
#                                            the servers' ADDRs on NS_SRV's lo, both with
#                                            that resolv.conf
#   nn_resolv NS RESOLV.CONF-TEXT [HOSTS-TEXT]  /etc/netns/NS/{resolv.conf,hosts}
#   nn_wait_listen NS t|u ADDR:PORT [TRIES]  until something listens there (0.1 s a try)
#   nn_cert NAME SUBJECT KEY SERIAL ISSUER EXT-LINE...   $C/NAME.{key,crt}; KEY rsa:BITS or
#                                            ec:CURVE, SERIAL - for a random one, ISSUER
#                                            self or the NAME of a CA made before;
#                                            NN_CERT_DAYS (3650)
#   NN_CA_EXT / nn_leaf_ext SAN              the extension lines of a CA / a TLS server leaf
#   nn_leaf NAME CN SAN SERIAL ISSUER [KEY]  a leaf "/O=Probewatch Samples/CN=CN" (rsa:2048)
#   nn_nginx_head                            the common start of an nginx.conf (files in $W)
#   nn_cap_start NS IFACE OUT FILTER [tcpdump|dumpcap]   capture with the full snaplen
#                                            (NN_CAP_ARGS: more tcpdump options; tcpdump
#                                            in immediate mode unless NN_CAP_IMMEDIATE=0);
#                                            returns once the tool says it is capturing
#   nn_cap_stop [SETTLE]                     wait SETTLE s (0.7) for the last packets, stop
#                                            the capture and wait until the file is flushed

NN_TAG=${NN_TAG:-$(basename "$0" .sh)}
NN_NAMESPACES=${NN_NAMESPACES:-}
NN_CERT_DAYS=${NN_CERT_DAYS:-3650}
NN_TRAP_NOTE=""
W=${W:-}
C=${C:-}
OUT=${OUT:-}
CAP_PID=""
CAP_OUT=""

log() { printf '[%s] %s\n' "$NN_TAG" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

nn_require_root() {
  [ "$(id -u)" = 0 ] || die "must be run as root (sudo $0)"
}

# nn_tools install|check CMD=PACKAGE...
nn_tools() {
  local mode=$1 pair; shift
  local -a missing=()
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$mode" = check ]; then
    die "missing the Debian package(s) ${missing[*]}: install them (scripts/deps.sh does, as root) and try again"
  fi
  log "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" ca-certificates >/dev/null
}

# nn_files install|check FILE=PACKAGE...: nn_tools for files that are not commands (a
# command -v does not find them); only the absent ones are handed on, so nn_tools sees
# each of them missing.
nn_files() {
  local mode=$1 pair; shift
  local -a absent=()
  for pair in "$@"; do
    [ -e "${pair%%=*}" ] || absent+=("$pair")
  done
  [ ${#absent[@]} -eq 0 ] || nn_tools "$mode" "${absent[@]}"
}

# Where the sample scripts write their captures: SAMPLES_OUT, default samples/.
nn_samples_out() {
  local here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  SAMPLES_OUT=${SAMPLES_OUT:-$here/samples}
  mkdir -p "$SAMPLES_OUT"
  SAMPLES_OUT="$(cd "$SAMPLES_OUT" && pwd)"
}

nn_teardown() {
  local ns pid
  for ns in $NN_NAMESPACES; do
    if [ -e "/run/netns/$ns" ]; then
      # every process in these namespaces was started by this script
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
      for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
        sleep 0.2
      done
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    fi
    rm -rf "/etc/netns/$ns"
  done
}

nn_on_exit() {
  local rc=$?
  set +e
  if [ -n "$CAP_PID" ]; then kill -INT "$CAP_PID" 2>/dev/null; wait "$CAP_PID" 2>/dev/null; fi
  nn_teardown
  rmdir /etc/netns 2>/dev/null
  if [ -n "$W" ]; then
    if [ -n "${KEEP_WORK:-}" ]; then log "work dir kept: $W"; else rm -rf "$W"; fi
  fi
  if [ $rc -ne 0 ]; then log "FAILED (exit $rc)${NN_TRAP_NOTE:+; $NN_TRAP_NOTE}"; fi
  exit $rc
}

# shellcheck disable=SC2120  # NOTE is optional
nn_trap() {
  NN_TRAP_NOTE=${1:-}
  trap nn_on_exit EXIT
  trap 'exit 130' INT TERM
}

nn_workdir() {
  W="$(mktemp -d "$1")"
  C="$W/certs"; OUT="$W/out"
  mkdir -p "$C" "$OUT"
}

nn_ns_add() {
  local ns
  for ns in "$@"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
}

nn_no_ipv6() {
  local ns
  for ns in "$@"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
}

nn_no_dad() {
  local ns
  for ns in "$@"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
      net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0
  done
}

# nn_veth NS_A IF_A NS_B IF_B [MAC_A MAC_B]
nn_veth() {
  local -a a=(name "$2") b=(name "$4")
  [ -n "${5:-}" ] && a+=(address "$5")
  [ -n "${6:-}" ] && b+=(address "$6")
  ip link add "${a[@]}" netns "$1" type veth peer "${b[@]}" netns "$3"
  nn_link_up "$1" "$2"
  nn_link_up "$3" "$4"
}
nn_link_up() {  # nn_link_up NS IFACE: offloads off (when ethtool is there), link up
  if command -v ethtool >/dev/null 2>&1; then
    ip netns exec "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
  fi
  ip -n "$1" link set "$2" up
}

nn_lo_addrs() {
  local ns=$1 a; shift
  for a in "$@"; do
    case $a in
      *:*) ip -n "$ns" addr add "$a/128" dev lo nodad ;;
      *) ip -n "$ns" addr add "$a/32" dev lo ;;
    esac
  done
}

# nn_client_net NS_C NS_SRV RESOLV.CONF-TEXT ADDR...: one IPv4 client namespace behind a
# server namespace that is its gateway and holds every server address.
nn_client_net() {
  local ns_c=$1 ns_srv=$2 resolv=$3 ns; shift 3
  nn_veth "$ns_c" eth0 "$ns_srv" veth-c4 02:00:00:00:04:10 02:00:00:00:04:01
  ip -n "$ns_srv" addr add 198.51.100.1/24 dev veth-c4
  nn_lo_addrs "$ns_srv" "$@"
  ip -n "$ns_c" addr add 198.51.100.10/24 dev eth0
  ip -n "$ns_c" route add default via 198.51.100.1
  for ns in "$ns_c" "$ns_srv"; do nn_resolv "$ns" "$resolv"; done
}

# nn_resolv NS RESOLV.CONF-TEXT [HOSTS-TEXT]  (ip netns exec bind-mounts /etc/netns/NS/*)
nn_resolv() {
  mkdir -p "/etc/netns/$1"
  printf '%b' "$2" >"/etc/netns/$1/resolv.conf"
  printf '%b' "${3:-127.0.0.1 localhost\n}" >"/etc/netns/$1/hosts"
}

nn_wait_listen() {  # nn_wait_listen NS PROTO(t|u) ADDR:PORT [TRIES]

  for _ in $(seq 1 "${4:-100}"); do
    ip netns exec "$1" ss -Hln"$2" | awk '{print $4}' | grep -qxF "$3" && return 0
    sleep 0.1
  done
  die "nothing listening on $3 ($2) in $1"
}

# nn_cert NAME SUBJECT KEY SERIAL ISSUER EXT-LINE...
nn_cert() {
  local name=$1 subj=$2 key=$3 serial=$4 issuer=$5; shift 5
  local -a sign ser=()
  printf '%s\n' "$@" >"$C/$name.ext"
  case $key in
    rsa:*) openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${key#rsa:}" -out "$C/$name.key" 2>/dev/null ;;
    ec:*) openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:${key#ec:}" -out "$C/$name.key" 2>/dev/null ;;
    *) die "nn_cert: unknown key type $key" ;;
  esac
  openssl req -new -key "$C/$name.key" -subj "$subj" -out "$C/$name.csr"
  if [ "$issuer" = self ]; then
    sign=(-signkey "$C/$name.key")
  else
    sign=(-CA "$C/$issuer.crt" -CAkey "$C/$issuer.key")
  fi
  if [ "$serial" = - ]; then
    ser=(-set_serial "0x$(openssl rand -hex 8)")
  else
    ser=(-set_serial "$serial")
  fi
  openssl x509 -req -sha256 -days "$NN_CERT_DAYS" "${ser[@]}" -in "$C/$name.csr" \
    "${sign[@]}" -extfile "$C/$name.ext" -out "$C/$name.crt" 2>/dev/null
}
# shellcheck disable=SC2034  # used by the scripts that source this file
NN_CA_EXT=("basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign" "subjectKeyIdentifier=hash")
nn_leaf_ext() {  # nn_leaf_ext SAN  -> lines for a CA-issued TLS server cert
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" \
    "subjectAltName=$1"
}
nn_leaf() {  # nn_leaf NAME CN SAN SERIAL ISSUER [KEY]
  local -a ext
  mapfile -t ext < <(nn_leaf_ext "$3")
  nn_cert "$1" "/O=Probewatch Samples/CN=$2" "${6:-rsa:2048}" "$4" "$5" "${ext[@]}"
}

# The start of an nginx.conf for a server run by one of these scripts (in the foreground,
# as root, files in $W); the caller adds its own http settings and servers, and "}".
nn_nginx_head() {
  mkdir -p "$W/nginx-tmp"
  cat <<EOF
user root;
worker_processes 1;
daemon off;
pid $W/nginx.pid;
error_log $W/nginx-error.log warn;
events { worker_connections 64; }
http {
  access_log $W/nginx-access.log;
  client_body_temp_path $W/nginx-tmp/body;
  proxy_temp_path $W/nginx-tmp/proxy;
  fastcgi_temp_path $W/nginx-tmp/fastcgi;
  uwsgi_temp_path $W/nginx-tmp/uwsgi;
  scgi_temp_path $W/nginx-tmp/scgi;
  default_type text/plain;
  server_tokens off;
EOF
}

# nn_cap_start NS IFACE OUTFILE FILTER [tcpdump|dumpcap]  (FILTER "" captures everything)
nn_cap_start() {
  local ns=$1 ifc=$2 out=$3 filter=$4 tool=${5:-tcpdump}
  local -a flt=()
  [ -n "$filter" ] && flt=(-f "$filter")
  CAP_OUT=$out
  if [ "$tool" = dumpcap ]; then
    ip netns exec "$ns" dumpcap -q -s 0 -i "$ifc" "${flt[@]}" -w "$out" 2>"$out.log" &
  else
    [ -n "$filter" ] && flt=("$filter")
    # --immediate-mode: without it libpcap hands packets over in blocks up to a second
    # late, and tcpdump drops what is still waiting when it is stopped (the last
    # exchange of a capture went missing that way).
    local imm=--immediate-mode
    [ "${NN_CAP_IMMEDIATE:-1}" = 1 ] || imm=
    # shellcheck disable=SC2086  # NN_CAP_ARGS is a list of options
    ip netns exec "$ns" tcpdump -Z root -U $imm -s 0 ${NN_CAP_ARGS:-} -i "$ifc" -w "$out" "${flt[@]}" 2>"$out.log" &
  fi
  CAP_PID=$!
  for _ in $(seq 1 100); do
    grep -qE 'listening on|Capturing on' "$out.log" 2>/dev/null && { sleep 0.3; return 0; }
    kill -0 "$CAP_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$out.log" >&2
  die "capture did not start for $out"
}

# shellcheck disable=SC2120  # SETTLE is optional
nn_cap_stop() {
  sleep "${1:-0.7}"               # let the last FIN/ACKs arrive
  kill -INT "$CAP_PID"
  wait "$CAP_PID" || true         # tcpdump/dumpcap flush and close the file
  CAP_PID=""
  log "  $(basename "$CAP_OUT"): $(grep -hiE 'packets( are)? captured|packets captured:' "$CAP_OUT.log" | head -1)"
}
