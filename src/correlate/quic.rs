//! QUIC attempts, ECH and JA4: one probe per QUIC connection attempt, updated as the
//! server's answer arrives, and the ClientHello details shared with TLS-over-TCP probes.

use std::net::SocketAddr;

use super::{Correlator, NameSource, Probe, Proto, QuicClose, QuicDetails, TlsDetails, Verdict};
use crate::capture::Timestamp;
use crate::parse::{quic, tls, DnsMessage, QuicItem};

/// Why a QUIC probe's verdict is `unverified`.
pub const QUIC_REASON: &str = "QUIC encrypts the server's certificate (TLS 1.3 inside QUIC)";

impl Correlator {
    /// Names whose HTTPS/SVCB answer carried an `ech` parameter: the question and the
    /// owner name both count.
    pub(super) fn note_ech_names(&mut self, msg: &DnsMessage) {
        if !msg.response {
            return;
        }
        for a in msg.answers.iter().filter(|a| a.ech) {
            let mut names = vec![a.name.to_ascii_lowercase()];
            if let Some((q, _)) = msg.questions.first() {
                names.push(q.to_ascii_lowercase());
            }
            for n in names {
                if self.ech_names.len() >= self.limits.max_ech_names && !self.ech_names.contains(&n)
                {
                    self.stats.ech_name_evictions += 1;
                }
                self.ech_names.put(n, ());
            }
        }
    }

    /// JA4 and ECH for a probe made from a ClientHello (TLS over TCP or QUIC).
    pub(super) fn hello_details(&mut self, p: &mut Probe, hello: Option<&tls::ClientHello>) {
        let Some(hello) = hello else {
            return;
        };
        let client = p.client;
        let server = p.server;
        let inferred = if hello.ech {
            self.dns_name(client, server).filter(|n| {
                self.ech_names.contains(&n.to_ascii_lowercase())
                    && Some(n.to_ascii_lowercase())
                        != hello.sni.as_ref().map(|s| s.to_ascii_lowercase())
            })
        } else {
            None
        };
        let Some(t) = p.tls.as_mut() else {
            return;
        };
        t.ja4 = hello.ja4.clone();
        if !hello.ech {
            return;
        }
        t.ech = true;
        t.ech_public_name = hello.sni.clone();
        t.ech_inferred_target = inferred.clone();
        let mut note = match &hello.sni {
            Some(sni) => format!(
                "; ECH offered: {sni} is the public (cover) name, and if ECH was used the real name is hidden in the encrypted part (GREASE ECH looks the same on the wire)"
            ),
            None => "; ECH offered without an outer SNI".to_string(),
        };
        if let Some(n) = inferred {
            note.push_str(&format!(
                "; likely real target {n} (inferred: a DNS HTTPS/SVCB answer with an ech parameter was seen for {n}, which resolved to {server})"
            ));
        }
        if let Some(r) = p.reason.as_mut() {
            r.push_str(&note);
        }
    }

    pub(super) fn quic(
        &mut self,
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
            let (name, source) = match hello.sni.as_deref() {
                Some(s) if !s.is_empty() => (Some(s.to_string()), Some(NameSource::Sni)),
                _ => match self.dns_name(client.ip(), server.ip()) {
                    Some(n) => (Some(n), Some(NameSource::DnsAnswer)),
                    None => (None, None),
                },
            };
            let (verdict, reason) = match &name {
                Some(_) => (Verdict::Unverified, QUIC_REASON.to_string()),
                None => (
                    Verdict::NoName,
                    format!(
                        "the QUIC ClientHello has no SNI and no DNS answer in the capture resolved {}; {QUIC_REASON}",
                        server.ip()
                    ),
                ),
            };
            let mut probe = Probe {
                name,
                name_source: source,
                verdict: Some(verdict),
                reason: Some(reason),
                tls: Some(Box::new(TlsDetails {
                    offered_versions: if hello.versions.is_empty() {
                        vec![tls::version_name(hello.legacy_version)]
                    } else {
                        hello
                            .versions
                            .iter()
                            .map(|v| tls::version_name(*v))
                            .collect()
                    },
                    alpn: hello.alpn.clone(),
                    ech: hello.ech,
                    ..TlsDetails::default()
                })),
                quic: Some(Box::new(QuicDetails {
                    version: quic::version_name(version),
                    dcid,
                    initial_packets: packets,
                    ..QuicDetails::default()
                })),
                ..Probe::new(ts, client, server, Proto::Quic)
            };
            self.hello_details(&mut probe, Some(&hello));
            probe.outcome = quic_outcome(probe.quic.as_deref());
            // A new attempt on the same address pair ends the previous one; a full table
            // pushes out the oldest waiting attempt. Either is reported as it stands.
            if let Some((old_key, old)) = self.quic_pending.push(key, probe) {
                if old_key != key {
                    self.stats.quic_pending_evictions += 1;
                }
                self.emit(old);
            }
            return;
        }
        // peek_mut: the table stays in the order the attempts started (see `expire`).
        let Some(p) = self.quic_pending.peek_mut(&key) else {
            return;
        };
        if let (QuicItem::ServerHello(sh), Some(t)) = (&item, p.tls.as_mut()) {
            t.version = Some(tls::version_name(sh.version));
            t.cipher = Some(tls::cipher_name(sh.cipher));
            t.hello_retry = sh.hrr;
        }
        let Some(q) = p.quic.as_mut() else {
            return;
        };
        match item {
            QuicItem::Hello { .. } | QuicItem::ServerHello(_) => {}
            QuicItem::ServerInitial => q.server_initial = true,
            QuicItem::ServerHandshake => q.server_handshake = true,
            QuicItem::Retry => q.retry = true,
            QuicItem::VersionNegotiation { versions } => {
                q.version_negotiation =
                    Some(versions.into_iter().map(quic::version_name).collect());
            }
            QuicItem::Close {
                from_server,
                code,
                reason,
                app,
                ..
            } => {
                if q.close.is_none() {
                    q.close = Some(QuicClose {
                        by: if from_server { "server" } else { "client" },
                        code,
                        error: quic::error_name(code, app),
                        reason,
                    });
                }
            }
            QuicItem::ClientOneRtt => q.handshake_completed = true,
        }
        // A close, a version negotiation or 1-RTT data from the client settle the outcome.
        let settled = q.close.is_some() || q.version_negotiation.is_some() || q.handshake_completed;
        p.outcome = quic_outcome(p.quic.as_deref());
        if settled {
            if let Some(p) = self.quic_pending.pop(&key) {
                self.emit(p);
            }
        }
    }
}

fn quic_outcome(q: Option<&QuicDetails>) -> String {
    let Some(q) = q else {
        return String::new();
    };
    let retry = if q.retry { "after a Retry, " } else { "" };
    if let Some(c) = &q.close {
        let reason = if c.reason.is_empty() {
            String::new()
        } else {
            format!(" \"{}\"", c.reason)
        };
        let answered = q.server_initial || q.server_handshake || q.retry;
        if c.by == "client" && !answered && q.version_negotiation.is_none() {
            return format!(
                "no answer from the server seen; the client gave up (CONNECTION_CLOSE in an Initial: {}{reason})",
                c.error
            );
        }
        return format!(
            "{retry}{} closed the connection in an Initial: {}{reason}",
            c.by, c.error
        );
    }
    if let Some(v) = &q.version_negotiation {
        return format!(
            "server answered with Version Negotiation (it offers {})",
            v.join(", ")
        );
    }
    if q.handshake_completed {
        return format!("{retry}handshake completed, data exchanged");
    }
    match (q.server_initial, q.server_handshake) {
        (true, true) => format!("{retry}server answered (Initial and Handshake packets)"),
        (true, false) => format!("{retry}server answered (Initial packet)"),
        (false, true) => format!("{retry}server answered (Handshake packets)"),
        (false, false) if q.retry => "server sent a Retry; no further answer seen".into(),
        (false, false) => "no answer from the server seen".into(),
    }
}
