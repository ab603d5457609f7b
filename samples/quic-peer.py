#!/usr/bin/env python3
"""A tiny aioquic server and client for samples/make-quic-samples.sh.

    quic-peer.py server HOST PORT CERT KEY --alpn h3 [--versions 1,2] [--retry]
    quic-peer.py client HOST PORT --sni NAME --alpn h3[,..] [--versions 2,1] [--timeout S]
                        [--keylog FILE] [--cipher TLS_CHACHA20_POLY1305_SHA256]

The server answers every stream with what it received. The client opens one stream,
sends a line, reads the answer and closes; it prints what happened and exits 0 even
when the handshake fails (the failure is what some samples are about).
"""
import argparse
import asyncio
import ssl
import sys

from aioquic.asyncio import connect, serve
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import StreamDataReceived


class Echo(QuicConnectionProtocol):
    def quic_event_received(self, event):
        if isinstance(event, StreamDataReceived) and event.end_stream:
            self._quic.send_stream_data(event.stream_id, b"echo: " + event.data, end_stream=True)
            self.transmit()


def versions(s):
    return [int(v, 0) if v.startswith("0x") else {"1": 1, "2": 0x6B3343CF}[v] for v in s.split(",")]


async def run_server(a):
    cfg = QuicConfiguration(is_client=False, alpn_protocols=a.alpn.split(","),
                            supported_versions=versions(a.versions))
    cfg.load_cert_chain(a.cert, a.key)
    await serve(a.host, a.port, configuration=cfg, create_protocol=Echo, retry=a.retry)
    print(f"listening on {a.host}:{a.port}", flush=True)
    await asyncio.Future()


async def run_client(a):
    cfg = QuicConfiguration(is_client=True, alpn_protocols=a.alpn.split(","),
                            server_name=a.sni, supported_versions=versions(a.versions))
    cfg.verify_mode = ssl.CERT_NONE
    if a.keylog:  # the NSS key log format (SSLKEYLOGFILE), appended to
        cfg.secrets_log_file = open(a.keylog, "a")
    if a.cipher:
        from aioquic.tls import CipherSuite
        cfg.cipher_suites = [CipherSuite[a.cipher.removeprefix("TLS_")]]
    try:
        async with connect(a.host, a.port, configuration=cfg) as c:
            reader, writer = await c.create_stream()
            writer.write(b"hello over quic\n")
            writer.write_eof()
            data = await asyncio.wait_for(reader.read(), a.timeout)
            print(f"ok: {data!r} alpn={c._quic.tls.alpn_negotiated} version=0x{c._quic._version:x}")
    except Exception as e:  # the handshake failing is an expected outcome here
        print(f"failed: {type(e).__name__}: {e}")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("host"); s.add_argument("port", type=int)
    s.add_argument("cert"); s.add_argument("key")
    s.add_argument("--alpn", default="h3"); s.add_argument("--versions", default="1,2")
    s.add_argument("--retry", action="store_true")
    c = sub.add_parser("client")
    c.add_argument("host"); c.add_argument("port", type=int)
    c.add_argument("--sni", required=True); c.add_argument("--alpn", default="h3")
    c.add_argument("--versions", default="1"); c.add_argument("--timeout", type=float, default=3)
    c.add_argument("--keylog"); c.add_argument("--cipher")
    a = p.parse_args()
    if a.cmd == "server":
        asyncio.run(run_server(a))
    else:
        try:
            asyncio.run(asyncio.wait_for(run_client(a), a.timeout + 2))
        except asyncio.TimeoutError:
            print("failed: no answer (timeout)")


if __name__ == "__main__":
    sys.exit(main())
