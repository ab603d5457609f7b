//! Makes the fuzz seed corpora (`fuzz/seeds/<target>/`) from capture files, in the input
//! layouts of `probewatch::fuzzing`: whole captures as packet records, TCP flows as
//! segment records, reassembled TLS / HTTP streams, DNS messages, certificates, QUIC
//! datagrams, and sealed QUIC Initials carrying real hellos.
//!
//! `cargo run --example fuzz_seeds -- OUT_DIR CAPTURE...`

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use probewatch::capture::{FileSource, Input, Packet};
use probewatch::decode::{Decoded, Decoder, DefragLimits};
use probewatch::fuzzing;
use probewatch::parse::quic;
use probewatch::reassemble::{Dir, Event, Limits, Reassembler};

type Seeds = BTreeMap<&'static str, Vec<(String, Vec<u8>)>>;
/// Datagrams per address pair: (sent by the second address, payload).
type Datagrams = BTreeMap<(SocketAddr, SocketAddr), Vec<(bool, Vec<u8>)>>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((out, files)) = args.split_first() else {
        eprintln!("usage: fuzz_seeds OUT_DIR CAPTURE...");
        std::process::exit(2);
    };
    let mut seeds = Seeds::new();
    for f in files {
        let name = Path::new(f)
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let mut src = FileSource::open(&Input::File(PathBuf::from(f)), 1)?;
        let mut pkts = Vec::new();
        // A damaged capture gives what it has up to the damage.
        while let Ok(None) = src.advance() {
            if let Some(p) = src.packet() {
                pkts.push(Packet {
                    ts: p.ts,
                    link: p.link,
                    wire_len: p.wire_len,
                    data: p.data.to_vec(),
                });
            }
        }
        one_capture(&name, &pkts, &mut seeds);
    }
    let mut total = 0;
    for (target, list) in &seeds {
        let dir = Path::new(out).join(target);
        std::fs::create_dir_all(&dir)?;
        for (n, bytes) in list {
            std::fs::write(dir.join(n), bytes)?;
            total += bytes.len();
        }
        eprintln!("{target}: {} seeds", list.len());
    }
    eprintln!("{total} bytes");
    Ok(())
}

fn add(seeds: &mut Seeds, target: &'static str, name: String, bytes: Vec<u8>) {
    let list = seeds.entry(target).or_default();
    if !bytes.is_empty() && !list.iter().any(|(_, b)| *b == bytes) && list.len() < 24 {
        list.push((name, bytes));
    }
}

fn one_capture(name: &str, pkts: &[Packet], seeds: &mut Seeds) {
    // Whole captures (at most 48 packets per seed) for the packet-level targets.
    for (i, w) in pkts.chunks(48).take(3).enumerate() {
        let framed = fuzzing::frame_packets(w);
        add(seeds, "pipeline", format!("{name}-{i}"), framed.clone());
        add(seeds, "decode", format!("{name}-{i}"), framed);
    }
    let mut dec = Decoder::new(DefragLimits::default());
    let mut tcp: BTreeMap<(SocketAddr, SocketAddr), Vec<probewatch::decode::Segment>> =
        BTreeMap::new();
    let mut udp = Datagrams::new();
    let mut r = Reassembler::new(Limits::default());
    let mut events = Vec::new();
    for p in pkts {
        let Some(d) = dec.decode(p) else { continue };
        match &d {
            Decoded::Tcp(s) => {
                let k = if tcp.contains_key(&(s.dst, s.src)) {
                    (s.dst, s.src)
                } else {
                    (s.src, s.dst)
                };
                tcp.entry(k).or_default().push(s.clone());
            }
            Decoded::Udp(u) => {
                if u.src.port() == 53 || u.dst.port() == 53 || u.src.port() == 5353 {
                    add(
                        seeds,
                        "dns",
                        format!("{name}-{}", udp.len()),
                        u.payload.clone(),
                    );
                }
                let back = udp.contains_key(&(u.dst, u.src));
                let k = if back { (u.dst, u.src) } else { (u.src, u.dst) };
                udp.entry(k).or_default().push((back, u.payload.clone()));
            }
        }
        r.push(d, &mut events);
    }
    r.finish(&mut events);
    // Reassembled streams per flow and direction.
    let mut streams: BTreeMap<(u64, bool), Vec<u8>> = BTreeMap::new();
    for ev in &events {
        if let Event::Data {
            flow, dir, data, ..
        } = ev
        {
            let s = streams.entry((*flow, *dir == Dir::Up)).or_default();
            if s.len() < 32 * 1024 {
                s.extend_from_slice(data);
            }
        }
    }
    let mut hellos = Vec::new();
    for ((flow, up), s) in &streams {
        let n = format!("{name}-{flow}-{}", if *up { "c" } else { "s" });
        if s.first() == Some(&0x16) {
            add(seeds, "tls", n.clone(), s.clone());
            let hs = handshake_bytes(s);
            if let Some(der) = first_certificate(&hs) {
                add(seeds, "cert", n.clone(), der);
            }
            if let Some(m) = first_message(&hs) {
                hellos.push((*up, m));
            }
        } else if s.starts_with(b"HTTP/")
            || probewatch::parse::http::METHODS
                .iter()
                .any(|m| s.starts_with(m))
        {
            add(seeds, "http", n.clone(), s.clone());
        } else if let Some(msg) = s.get(2..) {
            if probewatch::parse::dns::parse(msg).is_some() {
                add(seeds, "dns", n, msg.to_vec());
            }
        }
    }
    // TCP flows as segment records.
    for (i, (_, segs)) in tcp.iter().enumerate().take(6) {
        add(
            seeds,
            "reassemble",
            format!("{name}-{i}"),
            segment_records(segs),
        );
    }
    // QUIC datagrams, raw.
    for (i, (_, dgs)) in udp.iter().enumerate() {
        if !dgs.first().is_some_and(|(_, d)| quic::looks_like_quic(d)) {
            continue;
        }
        let mut out = Vec::new();
        for (back, d) in dgs.iter().take(12) {
            fuzzing::push_record(&mut out, u8::from(*back), d);
        }
        add(seeds, "quic", format!("{name}-{i}"), out);
    }
    // Real hellos from TCP, sealed into Initial packets (whole, and split in two
    // CRYPTO frames sent in reverse order), for both versions.
    for (i, (up, m)) in hellos.iter().enumerate().take(4) {
        let kind = u8::from(!*up) | 2;
        let mut whole = Vec::new();
        fuzzing::push_record(&mut whole, kind, &crypto_frame(0, m));
        add(seeds, "quic", format!("{name}-sealed-{i}"), whole);
        let (a, b) = m.split_at(m.len() / 2);
        let mut split = Vec::new();
        fuzzing::push_record(&mut split, kind | 4, &crypto_frame(a.len() as u64, b));
        fuzzing::push_record(&mut split, kind | 4, &crypto_frame(0, a));
        add(seeds, "quic", format!("{name}-split-{i}"), split);
    }
}

fn varint(v: u64, out: &mut Vec<u8>) {
    if v < 64 {
        out.push(v as u8);
    } else if v < 16384 {
        out.extend_from_slice(&(0x4000 | v as u16).to_be_bytes());
    } else {
        out.extend_from_slice(&(0x8000_0000 | v as u32).to_be_bytes());
    }
}

fn crypto_frame(offset: u64, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    varint(offset, &mut f);
    varint(data.len() as u64, &mut f);
    f.extend_from_slice(data);
    f
}

/// The bodies of the handshake records at the start of a TLS stream, joined.
fn handshake_bytes(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(&[ct, _, _, a, b]) = s.get(pos..pos + 5) {
        let len = usize::from(u16::from_be_bytes([a, b]));
        let Some(body) = s.get(pos + 5..pos + 5 + len) else {
            break;
        };
        match ct {
            22 => out.extend_from_slice(body),
            20 => break,
            _ => {}
        }
        pos += 5 + len;
    }
    out
}

fn be24(d: &[u8], at: usize) -> Option<usize> {
    let &[a, b, c] = d.get(at..at + 3)? else {
        return None;
    };
    Some((usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c))
}

fn first_message(hs: &[u8]) -> Option<Vec<u8>> {
    let len = be24(hs, 1)?;
    hs.get(..4 + len).map(<[u8]>::to_vec)
}

/// The first certificate of a TLS 1.2 Certificate message among the handshake messages.
fn first_certificate(hs: &[u8]) -> Option<Vec<u8>> {
    let mut pos = 0;
    while let Some(len) = be24(hs, pos + 1) {
        if hs.get(pos) == Some(&11) {
            let l = be24(hs, pos + 7)?;
            return hs.get(pos + 10..pos + 10 + l).map(<[u8]>::to_vec);
        }
        pos += 4 + len;
    }
    None
}

/// A TCP flow in the `fuzzing::reassemble` layout (client = sender of the first segment).
fn segment_records(segs: &[probewatch::decode::Segment]) -> Vec<u8> {
    let Some(first) = segs.first() else {
        return Vec::new();
    };
    let client = first.src;
    let isn_c = first.seq;
    let isn_s = segs.iter().find(|s| s.src != client).map_or(0, |s| s.seq);
    let mut out = Vec::new();
    out.extend_from_slice(&isn_c.to_be_bytes());
    out.extend_from_slice(&isn_s.to_be_bytes());
    for s in segs.iter().take(64) {
        let up = s.src == client;
        let (isn, peer) = if up { (isn_c, isn_s) } else { (isn_s, isn_c) };
        let ctl = u8::from(!up)
            | u8::from(s.flags.syn) << 1
            | u8::from(s.flags.ack) << 2
            | u8::from(s.flags.fin) << 3
            | u8::from(s.flags.rst) << 4;
        out.push(ctl);
        out.push(1);
        out.extend_from_slice(&s.seq.wrapping_sub(isn).to_be_bytes());
        out.extend_from_slice(&(s.ack.wrapping_sub(peer) as u16).to_be_bytes());
        out.push(s.payload.len().min(255) as u8);
        out.push(0);
    }
    out
}
