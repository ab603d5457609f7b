#!/usr/bin/env python3
"""Print the facts of the sample captures, read back with tshark + openssl.

    python3 samples/describe.py samples/*.pcap samples/*.pcapng

This is how the facts in samples/README.md were derived.  Ephemeral client
ports, DNS ids, timestamps, keys and validity dates change on every run of
make-samples.sh; everything else printed here is stable.
"""
import subprocess
import sys

SEP = "\x1f"


def tshark(path, dfilter, fields, extra=()):
    cmd = ["tshark", "-n", "-r", path, "-Y", dfilter, "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=" + SEP, "-E", "separator=\t",
           *extra]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(fields) - len(cols))
        rows.append({f: (c.split(SEP) if c else []) for f, c in zip(fields, cols)})
    return rows


def one(row, f):
    return row[f][0] if row[f] else ""


def cert_facts(hexder):
    der = bytes.fromhex(hexder.replace(":", ""))
    r = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject", "-issuer",
                        "-ext", "subjectAltName,basicConstraints,extendedKeyUsage",
                        "-serial", "-nameopt", "RFC2253"],
                       input=der, capture_output=True, check=True)
    lines = r.stdout.decode().splitlines()
    subj = next(l[len("subject="):] for l in lines if l.startswith("subject="))
    iss = next(l[len("issuer="):] for l in lines if l.startswith("issuer="))
    serial = next(l[len("serial="):] for l in lines if l.startswith("serial="))
    sans, ca, eku = [], "", ""
    for i, l in enumerate(lines):
        if l.startswith("X509v3 Subject Alternative Name"):
            sans = [s.strip() for s in lines[i + 1].split(",")]
        if l.startswith("X509v3 Basic Constraints"):
            ca = lines[i + 1].strip()
        if l.startswith("X509v3 Extended Key Usage"):
            eku = lines[i + 1].strip()
    bits = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-text"],
                          input=der, capture_output=True, check=True).stdout.decode()
    keybits = next((l.split("(")[1].split(")")[0] for l in bits.splitlines()
                    if "Public-Key:" in l), "?")
    self_signed = subj == iss
    return (f"subject [{subj}] issuer [{iss}] serial 0x{serial} key {keybits}"
            f" SAN {sans if sans else 'NONE (no subjectAltName extension)'}"
            f" {ca}{' EKU ' + eku if eku else ''}{' SELF-SIGNED' if self_signed else ''}")


def ep(row, pre):
    ip = one(row, "ip." + pre) or one(row, "ipv6." + pre)
    port = one(row, "tcp." + pre + "port")
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


HS = {"1": "ClientHello", "2": "ServerHello", "4": "NewSessionTicket", "8": "EncryptedExtensions",
      "11": "Certificate", "12": "ServerKeyExchange", "13": "CertificateRequest",
      "14": "ServerHelloDone", "15": "CertificateVerify", "16": "ClientKeyExchange",
      "20": "Finished"}
VER = {"0x0301": "TLS1.0", "0x0302": "TLS1.1", "0x0303": "TLS1.2", "0x0304": "TLS1.3"}
QT = {"1": "A", "5": "CNAME", "28": "AAAA", "33": "SRV", "65": "HTTPS", "15": "MX"}
RC = {"0": "NOERROR", "2": "SERVFAIL", "3": "NXDOMAIN", "5": "REFUSED"}


def describe(path):
    print(f"=== {path}")
    info = subprocess.run(["capinfos", "-t", "-E", "-c", "-s", path], capture_output=True,
                          text=True).stdout
    for l in info.splitlines()[1:]:
        print("  " + " ".join(l.split()))
    ext = ["-d", "tcp.port==587,smtp"]
    rows = tshark(path, "dns || tcp.flags.syn==1 || tls.handshake || tls.record.content_type==21"
                  " || http || smtp", [
        "frame.number", "tcp.stream", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
        "tcp.srcport", "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack", "tcp.options.mss_val",
        "dns.flags.response", "dns.flags.rcode", "dns.qry.name", "dns.qry.type",
        "dns.resp.type", "dns.a", "dns.aaaa", "dns.cname", "dns.srv.target", "dns.srv.port",
        "dns.srv.priority", "dns.srv.weight", "dns.svcb.svcpriority", "dns.svcb.targetname",
        "dns.svcb.svcparam.alpn", "dns.svcb.svcparam.ipv4hint.ip", "dns.resp.ttl",
        "tls.record.content_type", "tls.record.version",
        "tls.handshake.type", "tls.handshake.version", "tls.handshake.extensions_server_name",
        "tls.handshake.extensions.supported_version", "tls.handshake.ciphersuite",
        "tls.handshake.extensions_alpn_str", "tls.handshake.certificate", "tls.handshake.length",
        "tcp.segment.count", "tls.alert_message.level", "tls.alert_message.desc",
        "http.request.method", "http.request.uri", "http.host", "http.user_agent",
        "http.content_type", "http.content_length", "http.response.code",
        "http.response.phrase", "http.location",
        "smtp.req.command", "smtp.command_line", "smtp.response.code", "smtp.rsp.parameter",
    ], ext)
    for r in rows:
        n = one(r, "frame.number")
        src, dst = ep(r, "src"), ep(r, "dst")
        if r["dns.qry.name"] and not r["tcp.stream"]:
            qn, qt = one(r, "dns.qry.name"), QT.get(one(r, "dns.qry.type"), one(r, "dns.qry.type"))
            s = src.rsplit(":", 1)[0].strip("[]")
            d = dst.rsplit(":", 1)[0].strip("[]")
            if one(r, "dns.flags.response") in ("1", "True"):
                ans = []
                ans += ["A " + a for a in r["dns.a"]]
                ans += ["AAAA " + a for a in r["dns.aaaa"]]
                ans += ["CNAME " + a for a in r["dns.cname"]]
                for t, p, pr, w in zip(r["dns.srv.target"], r["dns.srv.port"],
                                       r["dns.srv.priority"], r["dns.srv.weight"]):
                    ans.append(f"SRV {pr} {w} {p} {t}")
                if r["dns.svcb.svcpriority"]:
                    ans.append(f"HTTPS {one(r, 'dns.svcb.svcpriority')} "
                               f"{one(r, 'dns.svcb.targetname')} alpn={','.join(r['dns.svcb.svcparam.alpn'])}"
                               f" ipv4hint={','.join(r['dns.svcb.svcparam.ipv4hint.ip'])}")
                ttl = sorted(set(r["dns.resp.ttl"]))
                print(f"  #{n} DNS response {s} -> {d}: {qn} {qt} "
                      f"{RC.get(one(r, 'dns.flags.rcode'), one(r, 'dns.flags.rcode'))}"
                      f" answers={ans if ans else 'none'}{' ttl=' + ','.join(ttl) if ttl else ''}")
            else:
                print(f"  #{n} DNS query    {s} -> {d}: {qn} {qt}")
            continue
        st = one(r, "tcp.stream")
        if one(r, "tcp.flags.syn") in ("1", "True") and one(r, "tcp.flags.ack") in ("0", "False"):
            print(f"  #{n} TCP stream {st}: SYN {src} -> {dst} (MSS {one(r, 'tcp.options.mss_val')})")
            continue
        types = r["tls.handshake.type"]
        if types:
            names = [HS.get(t, t) for t in types]
            segs = one(r, "tcp.segment.count")
            line = f"  #{n} stream {st} TLS {src} -> {dst}: {'+'.join(names)}"
            if segs:
                line += f" [reassembled from {segs} TCP segments]"
            if "1" in types:
                line += (f" SNI={one(r, 'tls.handshake.extensions_server_name') or '(none)'}"
                         f" legacy_version={VER.get(one(r, 'tls.handshake.version'))}"
                         f" supported_versions={[VER.get(v, v) for v in r['tls.handshake.extensions.supported_version']] or 'absent'}"
                         f" ALPN={r['tls.handshake.extensions_alpn_str']}"
                         f" CH length={one(r, 'tls.handshake.length')}")
            if "2" in types:
                sv = r["tls.handshake.extensions.supported_version"]
                ver = VER.get(sv[0]) if sv else VER.get(one(r, "tls.handshake.version"))
                line += (f" negotiated={ver} cipher={one(r, 'tls.handshake.ciphersuite')}"
                         f" ALPN={r['tls.handshake.extensions_alpn_str']}")
            print(line)
            for i, c in enumerate(r["tls.handshake.certificate"]):
                print(f"      cert[{i}] {cert_facts(c)}")
            continue
        if "21" in r["tls.record.content_type"]:
            lvl, desc = one(r, "tls.alert_message.level"), one(r, "tls.alert_message.desc")
            if desc:
                print(f"  #{n} stream {st} TLS alert {src} -> {dst}: cleartext level={lvl} desc={desc}")
            else:
                print(f"  #{n} stream {st} TLS alert {src} -> {dst}: encrypted (level/description not visible; curl/openssl close_notify at connection end)")
            continue
        if r["http.request.method"]:
            print(f"  #{n} stream {st} HTTP {src} -> {dst}: {one(r, 'http.request.method')} "
                  f"{one(r, 'http.request.uri')} Host={one(r, 'http.host')} "
                  f"UA={one(r, 'http.user_agent')} Content-Type={one(r, 'http.content_type')}"
                  f" Content-Length={one(r, 'http.content_length')}")
            continue
        if r["http.response.code"]:
            print(f"  #{n} stream {st} HTTP {src} -> {dst}: {one(r, 'http.response.code')} "
                  f"{one(r, 'http.response.phrase')} Location={one(r, 'http.location')}"
                  f" Content-Type={one(r, 'http.content_type')}")
            continue
        if r["smtp.req.command"]:
            print(f"  #{n} stream {st} SMTP C: {one(r, 'smtp.command_line').replace(chr(92) + 'r' + chr(92) + 'n', '')}")
            continue
        if r["smtp.response.code"]:
            print(f"  #{n} stream {st} SMTP S: {one(r, 'smtp.response.code')} "
                  f"{' | '.join(r['smtp.rsp.parameter'])}")
            continue


for p in sys.argv[1:]:
    describe(p)
