#!/usr/bin/env bash
# Installs what building and testing probewatch needs on Debian/Ubuntu, once, up front.
# Sourced by scripts/demo, scripts/test and .ci/run.
#
# * Building: libpcap headers (for the `pcap` crate) and pkg-config. Missing ones are
#   installed with apt-get as root, with `sudo -n apt-get` when that works, else this
#   stops with the command to run.
# * Testing: what the live tests (tests/live.rs runs tests/live/scenario.sh, several at
#   once, so that script never installs anything itself) and scripts/hostile-captures
#   run: iproute2 (ip, ss), dnsmasq-base, openssl, curl, ca-certificates, util-linux
#   (setpriv), python3 and GNU time; and for tests/browser.rs, chromium and nodejs/npm.
#   Installed only when running as root; otherwise they are only named (the live tests
#   are skipped without root anyway).
# * The browser test's mermaid package: `npm ci` in tests/browser (package-lock.json),
#   once, here, never from the tests themselves (they run in parallel).
set -euo pipefail

probewatch_apt_install() {  # probewatch_apt_install [sudo] PACKAGE...
  local -a pre=()
  if [ "$1" = sudo ]; then pre=(sudo); shift; fi
  "${pre[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  "${pre[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

need=()
# The pcap crate links against libpcap.so, which the -dev package provides.
if ! { [ -e /usr/include/pcap/pcap.h ] || [ -e /usr/include/pcap.h ]; } \
   || ! ldconfig -p 2>/dev/null | grep 'libpcap\.so ' >/dev/null; then
  # (not grep -q: it exits at the first match, ldconfig then dies of SIGPIPE, and under
  # the callers' pipefail the test failed now and then)
  need+=(libpcap-dev)
fi
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)

test_need=()
for pair in ip=iproute2 ss=iproute2 dnsmasq=dnsmasq-base openssl=openssl curl=curl \
            setpriv=util-linux python3=python3 chromium=chromium node=nodejs npm=npm; do
  PATH="$PATH:/usr/sbin:/sbin" command -v "${pair%%=*}" >/dev/null 2>&1 || test_need+=("${pair#*=}")
done
[ -x /usr/bin/time ] || test_need+=(time)
[ -e /etc/ssl/certs/ca-certificates.crt ] || test_need+=(ca-certificates)
# --local-time tests read zones (Asia/Tokyo, America/New_York) from the system tzdata.
[ -e /usr/share/zoneinfo/America/New_York ] || test_need+=(tzdata)
if [ ${#test_need[@]} -gt 0 ]; then
  mapfile -t test_need < <(printf '%s\n' "${test_need[@]}" | sort -u)
fi

if [ "$(id -u)" -eq 0 ]; then
  if [ $(( ${#need[@]} + ${#test_need[@]} )) -gt 0 ]; then
    echo "probewatch: installing ${need[*]} ${test_need[*]} with apt-get" >&2
    probewatch_apt_install "${need[@]}" "${test_need[@]}"
  fi
else
  if [ ${#need[@]} -gt 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      echo "probewatch: installing ${need[*]} with sudo apt-get" >&2
      probewatch_apt_install sudo "${need[@]}"
    else
      echo "probewatch needs ${need[*]}: run 'sudo apt-get install -y ${need[*]}' and try again" >&2
      exit 1
    fi
  fi
  if [ ${#test_need[@]} -gt 0 ]; then
    echo "probewatch: the live tests and scripts/hostile-captures also need ${test_need[*]} (installed when this runs as root)" >&2
  fi
fi

# The mermaid package for tests/browser.rs (the dist file it loads in chromium).
probewatch_browser_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/browser"
if [ ! -f "$probewatch_browser_dir/node_modules/mermaid/dist/mermaid.min.js" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "probewatch: installing the mermaid package for the browser test (npm ci in tests/browser)" >&2
    (cd "$probewatch_browser_dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
  else
    echo "probewatch: the browser test needs npm to install the mermaid package (installed when this runs as root)" >&2
  fi
fi
unset need test_need pair probewatch_browser_dir
