//! QUIC attempts, ECH and JA4: one probe per QUIC connection attempt, updated as the
//! server's answer arrives, and the ClientHello details shared with TLS-over-TCP probes.

use std::net::SocketAddr;

use tls_parser::{TlsCipherSuiteID, TlsVersion};

use super::tls::KeyLogFinding;
use super::{
    cap, names, CertSource, Cx, NameSource, Outcome, Probe, ProbeKind, QuicClose, QuicDetails,
    QuicOutcome, QuicProbe, Reason, Side, TlsDetails, Verdict,
};
use crate::capture::Timestamp;
use crate::parse::{tls, Decrypted, DnsMessage, QuicItem};

/// Names whose HTTPS/SVCB answer carried an `ech` parameter: the question and the owner
/// name both count.
pub(super) fn note_ech_names(cx: &mut Cx, msg: &DnsMessage) {
    if !msg.response {
        return;
    }
    for a in msg.answers.iter().filter(|a| a.ech()) {
        let mut names = vec![a.name.to_ascii_lowercase()];
        if let Some(q) = msg.questions.first() {
            names.push(q.name.to_ascii_lowercase());
        }
        for n in names {
            if cx.ech_names.len() >= cx.limits.max_ech_names && !cx.ech_names.contains(&n) {
                cx.stats.ech_name_evictions += 1;
            }
            cx.ech_names.put(n, ());
        }
    }
}

/// JA4 and ECH for a probe made from a ClientHello (TLS over TCP or QUIC).
pub(super) fn hello_details(cx: &mut Cx, p: &mut Probe, hello: Option<&tls::ClientHello>) {
    let Some(hello) = hello else {
        return;
    };
    let (client, server) = (p.client, p.server);
    let inferred = if hello.ech {
        cx.dns_name(client, server).filter(|n| {
            cx.ech_names.contains(&n.to_ascii_lowercase())
                && Some(n.to_ascii_lowercase())
                    != hello.sni.as_ref().map(|s| s.to_ascii_lowercase())
        })
    } else {
        None
    };
    let Some(t) = p.tls_mut() else {
        return;
    };
    t.ja4 = hello.ja4.clone();
    if !hello.ech {
        return;
    }
    t.ech = true;
    t.ech_public_name = hello.sni.clone();
    t.ech_inferred_target = inferred;
}

/// QUIC attempts waiting for the server's answer.
pub struct QuicTracker {
    /// (client, server) → the QUIC probe still waiting for the server's answer.
    pending: crate::correlate::bounded::Lru<(SocketAddr, SocketAddr), Probe>,
}

impl QuicTracker {
    pub fn new(max: usize) -> Self {
        QuicTracker {
            pending: crate::correlate::bounded::Lru::new(cap(max)),
        }
    }

    /// The start of the earliest attempt still waiting.
    pub fn earliest(&self) -> Option<Timestamp> {
        self.pending.iter().map(|(_, p)| p.ts).min()
    }

    pub fn item(
        &mut self,
        cx: &mut Cx,
        ts: Timestamp,
        client: SocketAddr,
        server: SocketAddr,
        item: QuicItem,
    ) {
        let key = (client, server);
        if let QuicItem::Hello {
            version,
            dcid,
            hello,
            packets,
        } = item
        {
            let hello = *hello;
            let (name, source) = match hello.sni.as_deref() {
                Some(s) if !s.is_empty() => (Some(s.to_string()), Some(NameSource::Sni)),
                _ => match cx.dns_name(client.ip(), server.ip()) {
                    Some(n) => (Some(n), Some(NameSource::DnsAnswer)),
                    None => (None, None),
                },
            };
            let (verdict, reason) = match &name {
                Some(_) => (Verdict::Unverified, Reason::Quic),
                None => (Verdict::NoName, Reason::NoName { quic: true }),
            };
            let quic = QuicDetails {
                version,
                dcid,
                initial_packets: packets,
                ..QuicDetails::default()
            };
            let details = QuicProbe {
                tls: TlsDetails {
                    offered_versions: super::tls::offered_versions(&hello),
                    alpn: hello.alpn.clone(),
                    ech: hello.ech,
                    ..TlsDetails::default()
                },
                quic,
            };
            let outcome = Outcome::Quic(QuicOutcome::of(&details.quic));
            let mut probe = Probe {
                name,
                name_source: source,
                verdict: Some(verdict),
                reason: Some(reason),
                ..Probe::new(
                    ts,
                    client,
                    server,
                    ProbeKind::Quic(Box::new(details)),
                    outcome,
                )
            };
            hello_details(cx, &mut probe, Some(&hello));
            // A new attempt on the same address pair ends the previous one; a full table
            // pushes out the oldest waiting attempt. Either is reported as it stands.
            if let Some((old_key, old)) = self.pending.push(key, probe) {
                if old_key != key {
                    cx.stats.quic_pending_evictions += 1;
                }
                cx.emit(old);
            }
            return;
        }
        // peek_mut: the table stays in the order the attempts started (see `expire`).
        let Some(p) = self.pending.peek_mut(&key) else {
            return;
        };
        let ProbeKind::Quic(qp) = &mut p.kind else {
            return;
        };
        let q = &mut qp.quic;
        match item {
            QuicItem::Hello { .. } => {}
            QuicItem::ServerHello(sh) => {
                qp.tls.version = Some(TlsVersion(sh.version));
                qp.tls.cipher = Some(TlsCipherSuiteID(sh.cipher));
                qp.tls.hello_retry = sh.hrr;
            }
            QuicItem::ServerInitial => q.server_initial = true,
            QuicItem::ServerHandshake => q.server_handshake = true,
            QuicItem::Retry => q.retry = true,
            QuicItem::VersionNegotiation { versions } => q.version_negotiation = Some(versions),
            QuicItem::Close {
                from_server,
                code,
                reason,
                app,
                ..
            } => {
                if q.close.is_none() {
                    q.close = Some(QuicClose {
                        by: if from_server {
                            Side::Server
                        } else {
                            Side::Client
                        },
                        code,
                        app,
                        reason,
                    });
                }
            }
            QuicItem::ClientOneRtt => q.handshake_completed = true,
            QuicItem::Decrypted(d) => {
                let t = &mut qp.tls;
                match d {
                    Decrypted::Certificate(chain) => {
                        if t.server_cert.is_none() {
                            cx.stats.chain_certs_not_kept += chain.certs_dropped as u64;
                            if let Some(leaf) = &chain.leaf {
                                p.trust = Some(Box::new(cx.judge(&chain, leaf, ts)));
                            }
                            let chain = *chain;
                            t.chain_len = Some(chain.chain_len);
                            t.cert_source = Some(CertSource::KeyLog);
                            if let Some(leaf) = chain.leaf {
                                let vr = match p.name.as_deref() {
                                    Some(name) => match &leaf.parse_error {
                                        Some(e)
                                            if leaf.san_dns.is_empty()
                                                && leaf.subject_cn.is_none() =>
                                        {
                                            (Verdict::Unverified, Reason::CertUnreadable(e.clone()))
                                        }
                                        _ => {
                                            let (v, fit) = names::check(name, &leaf);
                                            (v, Reason::Name(fit))
                                        }
                                    },
                                    None => (Verdict::NoName, Reason::NoName { quic: true }),
                                };
                                p.verdict = Some(vr.0);
                                p.reason = Some(vr.1);
                                t.server_cert = Some(Box::new(leaf));
                            }
                        }
                    }
                    Decrypted::CertificateRequested => t.client_cert_requested = true,
                    Decrypted::NoKey | Decrypted::WrongKey | Decrypted::NoCertificate => {
                        let f = match d {
                            Decrypted::NoKey => KeyLogFinding::NoKey,
                            Decrypted::WrongKey => KeyLogFinding::WrongKey,
                            _ => KeyLogFinding::Psk,
                        };
                        if p.reason == Some(Reason::Quic) {
                            p.reason = Some(f.reason(true));
                        }
                    }
                    Decrypted::UnsupportedSuite(_) => {}
                }
            }
        }
        let q = &qp.quic;
        // A close, a version negotiation or 1-RTT data from the client settle the outcome.
        let settled = q.close.is_some() || q.version_negotiation.is_some() || q.handshake_completed;
        p.outcome = Outcome::Quic(QuicOutcome::of(q));
        if settled {
            if let Some(p) = self.pending.pop(&key) {
                cx.emit(p);
            }
        }
    }

    /// Attempts waiting longer than the probe timeout are reported as they stand.
    pub fn expire(&mut self, cx: &mut Cx, now: Timestamp) {
        let limit = cx.timeout();
        while let Some((_, p)) = self.pending.peek_lru() {
            if now.secs_since(&p.ts) <= limit {
                break;
            }
            if let Some((_, p)) = self.pending.pop_lru() {
                cx.stats.probes_timed_out += 1;
                cx.emit(p);
            }
        }
    }

    pub fn finish(&mut self, cx: &mut Cx) {
        while let Some((_, p)) = self.pending.pop_lru() {
            cx.emit(p);
        }
    }
}
