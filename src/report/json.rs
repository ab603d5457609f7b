//! JSON Lines: one `probe` line per probe (time order), one `group` line per attempt
//! group, one `client` line per client, one `stats` line. The keys are stable; the README documents them.

use serde::Serialize;
use serde_json::{json, Value};

use super::rfc3339;
use crate::correlate::groups::Group;
use crate::correlate::{ClientSummary, Probe, Report};
use crate::parse::CertInfo;
use crate::stats::Stats;

// Probe lines are the bulk of the output: they are serialized straight from these views
// (field order = key order), without building a `serde_json::Value` first.

#[derive(Serialize)]
struct CertJson<'a> {
    subject_cn: &'a Option<String>,
    san_dns: &'a [String],
    san_ip: &'a [String],
    issuer: &'a str,
    not_before: &'a str,
    not_after: &'a str,
    self_signed: bool,
    sha256: &'a String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parse_error: &'a Option<String>,
}

fn cert(c: &CertInfo) -> CertJson<'_> {
    CertJson {
        subject_cn: &c.subject_cn,
        san_dns: &c.san_dns,
        san_ip: &c.san_ip,
        issuer: &c.issuer,
        not_before: &c.not_before,
        not_after: &c.not_after,
        self_signed: c.self_signed,
        sha256: &c.sha256,
        parse_error: &c.parse_error,
    }
}

#[derive(Serialize)]
struct AlertJson<'a> {
    from: &'a str,
    level: &'a str,
    description: &'a str,
}

#[derive(Serialize)]
struct CloseJson<'a> {
    by: &'a str,
    how: &'a str,
    ts: String,
}

#[derive(Serialize)]
struct TlsJson<'a> {
    version: &'a Option<String>,
    cipher: &'a Option<String>,
    offered_versions: &'a [String],
    alpn: &'a [String],
    ech: bool,
    hello_retry: bool,
    starttls: &'a Option<String>,
    chain_len: Option<usize>,
    client_cert: Option<CertJson<'a>>,
    client_chain_len: Option<usize>,
    alerts: Vec<AlertJson<'a>>,
    app_data: bool,
    close: Option<CloseJson<'a>>,
    mid_stream: bool,
    ja4: &'a Option<String>,
    ech_public_name: &'a Option<String>,
    ech_inferred_target: &'a Option<String>,
}

#[derive(Serialize)]
struct HttpJson<'a> {
    method: &'a str,
    path: &'a str,
    host: &'a Option<String>,
    status: Option<u16>,
    location: &'a Option<String>,
}

#[derive(Serialize)]
struct DnsJson<'a> {
    qtype: &'a str,
    rcode: &'a Option<String>,
    answers: &'a [crate::parse::DnsAnswer],
}

#[derive(Serialize)]
struct QuicCloseJson<'a> {
    by: &'a str,
    code: u64,
    error: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct QuicJson<'a> {
    version: &'a str,
    dcid: &'a str,
    initial_packets: u32,
    server_initial: bool,
    server_handshake: bool,
    retry: bool,
    version_negotiation: &'a Option<Vec<String>>,
    close: Option<QuicCloseJson<'a>>,
    handshake_completed: bool,
}

/// A `probe` line (serializable view of a [`Probe`]).
#[derive(Serialize)]
pub struct ProbeJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u64,
    ts: String,
    client: String,
    client_port: u16,
    server: String,
    port: u16,
    proto: &'static str,
    name: &'a Option<String>,
    name_source: Option<&'static str>,
    verdict: Option<&'static str>,
    reason: &'a Option<String>,
    cert: Option<CertJson<'a>>,
    outcome: &'a str,
    tls: Option<TlsJson<'a>>,
    http: Option<HttpJson<'a>>,
    dns: Option<DnsJson<'a>>,
    quic: Option<QuicJson<'a>>,
    group: Option<u64>,
}

pub fn probe(p: &Probe) -> ProbeJson<'_> {
    let tls = p.tls.as_ref().map(|t| TlsJson {
        version: &t.version,
        cipher: &t.cipher,
        offered_versions: &t.offered_versions,
        alpn: &t.alpn,
        ech: t.ech,
        hello_retry: t.hello_retry,
        starttls: &t.starttls,
        chain_len: t.chain_len,
        client_cert: t.client_cert.as_ref().map(cert),
        client_chain_len: t.client_chain_len,
        alerts: t
            .alerts
            .iter()
            .map(|a| AlertJson {
                from: a.from,
                level: &a.level,
                description: &a.description,
            })
            .collect(),
        app_data: t.app_data,
        close: t.close.as_ref().map(|c| CloseJson {
            by: c.by,
            how: c.how,
            ts: rfc3339(c.ts),
        }),
        mid_stream: t.mid_stream,
        ja4: &t.ja4,
        ech_public_name: &t.ech_public_name,
        ech_inferred_target: &t.ech_inferred_target,
    });
    ProbeJson {
        kind: "probe",
        id: p.id,
        ts: rfc3339(p.ts),
        client: p.client.to_string(),
        client_port: p.client_port,
        server: p.server.to_string(),
        port: p.port,
        proto: p.proto.as_str(),
        name: &p.name,
        name_source: p.name_source.map(|s| s.as_str()),
        verdict: p.verdict.map(|v| v.as_str()),
        reason: &p.reason,
        cert: p.cert.as_deref().map(cert),
        outcome: &p.outcome,
        tls,
        http: p.http.as_ref().map(|h| HttpJson {
            method: &h.method,
            path: &h.path,
            host: &h.host,
            status: h.status,
            location: &h.location,
        }),
        dns: p.dns.as_ref().map(|d| DnsJson {
            qtype: &d.qtype,
            rcode: &d.rcode,
            answers: &d.answers,
        }),
        quic: p.quic.as_ref().map(|q| QuicJson {
            version: &q.version,
            dcid: &q.dcid,
            initial_packets: q.initial_packets,
            server_initial: q.server_initial,
            server_handshake: q.server_handshake,
            retry: q.retry,
            version_negotiation: &q.version_negotiation,
            close: q.close.as_ref().map(|c| QuicCloseJson {
                by: c.by,
                code: c.code,
                error: &c.error,
                reason: &c.reason,
            }),
            handshake_completed: q.handshake_completed,
        }),
        group: p.group,
    }
}

/// One `group` line: an attempt group with its members, pattern, mismatches and advice.
pub fn group(g: &Group) -> Value {
    let members: Vec<Value> = g
        .members
        .iter()
        .map(|m| {
            json!({
                "probe": m.probe,
                "proto": m.proto.as_str(),
                "name": m.name,
                "origin": m.origin.as_str(),
                "origin_probe": m.origin_probe,
                "address_from": m.address_from,
                "cname_chain": m.cname_chain,
                "step": m.step,
                "moved_on": m.moved_on.as_ref().map(|x| json!({
                    "name": x.name,
                    "proto": x.proto.as_str(),
                    "port": x.port,
                    "after_secs": (x.after_secs * 1e6).round() / 1e6,
                    "followed_redirect": x.followed_redirect,
                })),
            })
        })
        .collect();
    json!({
        "type": "group",
        "id": g.id,
        "client": g.client.to_string(),
        "domain": g.domain,
        "first_ts": rfc3339(g.first),
        "last_ts": rfc3339(g.last),
        "probes": g.members.iter().map(|m| m.probe).collect::<Vec<_>>(),
        "probes_not_listed": g.members_dropped,
        "pattern": g.pattern.map(|p| p.as_str()),
        "pattern_label": g.pattern.map(|p| p.label()),
        "explanation": g.pattern.map(|p| p.explanation()),
        "names": g.names.iter().map(|n| json!({
            "name": n.name,
            "origin": n.origin.as_str(),
            "probe": n.probe,
            "origin_probe": n.origin_probe,
        })).collect::<Vec<_>>(),
        "mismatches": g.mismatches,
        "san": g.advice.as_ref().map(|a| a.san.clone()),
        "wildcard": g.advice.as_ref().and_then(|a| a.wildcard.as_ref().map(|w| json!({
            "name": w,
            "cannot_cover": a.wildcard_cannot_cover.iter().map(|u| json!({"name": u.name, "why": u.why})).collect::<Vec<_>>(),
        }))),
        "notes": g.advice.as_ref().map(|a| a.notes.clone()).unwrap_or_default(),
        "members": members,
    })
}

pub fn write(report: &Report, stats: &Stats, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for p in &report.probes {
        serde_json::to_writer(&mut *out, &probe(p))?;
        out.write_all(b"\n")?;
    }
    write_groups(&report.groups, out)?;
    write_tail(&report.clients, stats, out)
}

/// The `group` lines.
pub fn write_groups(groups: &[Group], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for g in groups {
        serde_json::to_writer(&mut *out, &group(g))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// The `client` lines and the `stats` line.
pub fn write_tail(
    clients: &[ClientSummary],
    stats: &Stats,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    for c in clients {
        let v = json!({
            "type": "client",
            "client": c.client.to_string(),
            "names": c.names,
            "names_dropped": c.names_dropped,
            "probes": c.probes,
            "mismatches": c.mismatches,
        });
        serde_json::to_writer(&mut *out, &v)?;
        out.write_all(b"\n")?;
    }
    let mut s = serde_json::Map::new();
    s.insert("type".into(), json!("stats"));
    if let Value::Object(o) = stats.to_json() {
        s.extend(o);
    }
    serde_json::to_writer(&mut *out, &s)?;
    out.write_all(b"\n")?;
    out.flush()
}
