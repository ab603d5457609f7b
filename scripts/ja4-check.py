#!/usr/bin/env python3
"""Compare probewatch's tls.ja4 with the JA4 values FoxIO's own test snapshots record.

usage: scripts/ja4-check.py PATH/TO/probewatch [CORPUS_DIR] [--verbose]

CORPUS_DIR (default ../shared/corpus next to the repository) holds the captures and
expected/<capture>/rust__*.snap, the insta snapshots of FoxIO's rust ja4 tool. Every
snapshot entry with a `ja4:` line is one ClientHello; it is matched to the probewatch
probe with the same client address/port and server address/port. Nothing from the
corpus is stored in this repository: the script reads it at run time.
The last line is 'ja4: matched/total'.
"""
import json, os, subprocess, sys


def snapshot_entries(path):
    entries, cur = [], None
    for line in open(path, encoding="utf-8"):
        if line.startswith("- "):
            cur = {}
            entries.append(cur)
            line = "  " + line[2:]
        if cur is None or not line.startswith("  ") or line.startswith("   "):
            continue
        key, _, value = line.strip().partition(": ")
        cur[key] = value.strip()
    return [e for e in entries if "ja4" in e]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    verbose = "--verbose" in sys.argv
    if not args:
        print(__doc__)
        sys.exit(2)
    pw = args[0]
    here = os.path.dirname(os.path.abspath(__file__))
    corpus = args[1] if len(args) > 1 else os.path.join(here, "..", "..", "shared", "corpus")
    expected = os.path.join(corpus, "expected")
    matched = total = 0
    for d in sorted(os.listdir(expected)):
        snaps = [f for f in os.listdir(os.path.join(expected, d)) if f.startswith("rust__") and f.endswith(".snap")]
        cap = os.path.join(corpus, d)
        if not snaps or not os.path.exists(cap):
            continue
        want = snapshot_entries(os.path.join(expected, d, snaps[0]))
        if not want:
            continue
        r = subprocess.run([pw, "-r", cap, "--format", "json"], capture_output=True, timeout=120)
        got = {}
        for line in r.stdout.decode("utf-8", "replace").splitlines():
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if o.get("type") == "probe" and o.get("proto") in ("tls", "quic") and o.get("tls"):
                key = (o["client"], str(o["client_port"]), o["server"], str(o["port"]))
                got.setdefault(key, o["tls"].get("ja4"))
        hit = 0
        for e in want:
            key = (e.get("src"), e.get("src_port"), e.get("dst"), e.get("dst_port"))
            if got.get(key) == e["ja4"]:
                hit += 1
            elif verbose:
                print(f"    {d}: {key} want {e['ja4']} got {got.get(key)}")
        matched += hit
        total += len(want)
        print(f"{d}: {hit}/{len(want)}")
    print(f"ja4: {matched}/{total}")
    sys.exit(0 if total and matched * 100 >= total * 95 else 1)


main()
