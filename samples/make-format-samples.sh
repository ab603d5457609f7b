#!/usr/bin/env bash
# Makes samples/formats/: the same real captures (samples/*.pcap, made by make-samples.sh)
# in the container formats and compressions users have, written by real programs:
# editcap and mergecap (wireshark-common), gzip, zstd, xz and lz4. Two files no program
# writes on request are made by this script from a real capture: a big-endian pcap (the
# header and record headers byte-swapped, packets untouched) and a pcapng that holds only
# a custom block (valid per the pcapng spec; libpcap refuses it).
#
#   samples/make-format-samples.sh        (no root needed; about 1 s)
set -euo pipefail
cd "$(dirname "$0")"
need=()
for t in editcap mergecap gzip zstd xz lz4 python3; do command -v $t >/dev/null || need+=($t); done
if [ ${#need[@]} -gt 0 ]; then
  echo "make-format-samples: needs ${need[*]} (apt-get install wireshark-common gzip zstd xz-utils lz4 python3)" >&2
  exit 1
fi
O=formats
rm -rf "$O"; mkdir -p "$O"
# pcapng from mergecap: three interfaces of two link types (Ethernet and Linux cooked v2)
# and two snapshot lengths, packets interleaved in time order.
editcap -F pcapng -s 9000 tls13.pcap "$O/tls13-snap9000.pcapng"
mergecap -F pcapng -w "$O/merged-linktypes.pcapng" "$O/tls13-snap9000.pcapng" any-sll2.pcap wildcard-apex.pcap
rm "$O/tls13-snap9000.pcapng"
# Nanosecond and "modified" pcap.
editcap -F nsecpcap wildcard-apex.pcap "$O/wildcard-apex-nsec.pcap"
editcap -F modpcap wildcard-apex.pcap "$O/wildcard-apex-modified.pcap"
# The same capture compressed by each program.
gzip -9 -n -c wildcard-apex.pcap > "$O/wildcard-apex.pcap.gz"
zstd -q -19 -c wildcard-apex.pcap > "$O/wildcard-apex.pcap.zst"
xz -9 -c wildcard-apex.pcap > "$O/wildcard-apex.pcap.xz"
lz4 -q -9 -c wildcard-apex.pcap > "$O/wildcard-apex.pcap.lz4"
gzip -9 -n -c "$O/merged-linktypes.pcapng" > "$O/merged-linktypes.pcapng.gz"
# The key sample as a capture with a 200-byte snapshot length would hold it (tcpdump -s
# 200): every longer packet cut, the handshakes' later records not readable.
editcap -F pcap -s 200 mail-fanout.pcap "$O/mail-fanout-snap200.pcap"
# A link type probewatch does not decode (USER0, 147).
editcap -F pcap -T user0 wildcard-apex.pcap "$O/user0.pcap"
python3 - "$O" <<'PY'
import struct, sys
out = sys.argv[1]
# Big-endian microsecond pcap of wildcard-apex.pcap.
d = open("wildcard-apex.pcap", "rb").read()
magic, vmaj, vmin, zone, sig, snap, link = struct.unpack("<IHHiIII", d[:24])
assert magic == 0xa1b2c3d4
o = [struct.pack(">IHHiIII", magic, vmaj, vmin, zone, sig, snap, link)]
i = 24
while i < len(d):
    s, us, cap, orig = struct.unpack("<IIII", d[i:i + 16])
    o.append(struct.pack(">IIII", s, us, cap, orig) + d[i + 16:i + 16 + cap])
    i += 16 + cap
open(f"{out}/wildcard-apex-be.pcap", "wb").write(b"".join(o))
# A pcapng with a section header and one custom block (type 0x00000BAD, PEN 32473, the
# documentation enterprise number), and no interface.
shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
body = struct.pack("<I", 32473) + b"probewatch custom block\x00"
cb = struct.pack("<II", 0x00000BAD, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
open(f"{out}/custom-only.pcapng", "wb").write(shb + cb)
PY
ls -l "$O"
