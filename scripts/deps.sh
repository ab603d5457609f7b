#!/usr/bin/env bash
# Installs what building and testing probewatch needs on Debian/Ubuntu: libpcap headers
# (for the `pcap` crate). Sourced by scripts/demo and scripts/test.
set -euo pipefail

need=()
# The pcap crate links against libpcap.so, which the -dev package provides.
if ! { [ -e /usr/include/pcap/pcap.h ] || [ -e /usr/include/pcap.h ]; } \
   || ! ldconfig -p 2>/dev/null | grep -q 'libpcap\.so '; then
  need+=(libpcap-dev)
fi
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "probewatch: installing ${need[*]} with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "probewatch: installing ${need[*]} with sudo apt-get" >&2
    sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "probewatch needs ${need[*]}: run 'sudo apt-get install -y ${need[*]}' and try again" >&2
    exit 1
  fi
fi
