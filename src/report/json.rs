//! JSON Lines: one `probe` line per probe (time order), one `group` line per attempt
//! group, one `client` line per client, one `stats` line. The keys are stable; the README documents them.

use serde_json::{json, Value};

use super::rfc3339;
use crate::correlate::groups::Group;
use crate::correlate::{ClientSummary, Probe, Report};
use crate::parse::CertInfo;
use crate::stats::Stats;

fn cert(c: &CertInfo) -> Value {
    let mut v = json!({
        "subject_cn": c.subject_cn,
        "san_dns": c.san_dns,
        "san_ip": c.san_ip,
        "issuer": c.issuer,
        "not_before": c.not_before,
        "not_after": c.not_after,
        "self_signed": c.self_signed,
        "sha256": c.sha256,
    });
    if let (Some(e), Some(obj)) = (&c.parse_error, v.as_object_mut()) {
        obj.insert("parse_error".into(), json!(e));
    }
    v
}

pub fn probe(p: &Probe) -> Value {
    let tls = p.tls.as_ref().map(|t| {
        json!({
            "version": t.version,
            "cipher": t.cipher,
            "offered_versions": t.offered_versions,
            "alpn": t.alpn,
            "ech": t.ech,
            "hello_retry": t.hello_retry,
            "starttls": t.starttls,
            "chain_len": t.chain_len,
            "client_cert": t.client_cert.as_ref().map(cert),
            "client_chain_len": t.client_chain_len,
            "alerts": t.alerts.iter().map(|a| json!({"from": a.from, "level": a.level, "description": a.description})).collect::<Vec<_>>(),
            "app_data": t.app_data,
            "close": t.close.as_ref().map(|c| json!({"by": c.by, "how": c.how, "ts": rfc3339(c.ts)})),
            "mid_stream": t.mid_stream,
            "ja4": t.ja4,
            "ech_public_name": t.ech_public_name,
            "ech_inferred_target": t.ech_inferred_target,
        })
    });
    let http = p.http.as_ref().map(|h| {
        json!({
            "method": h.method,
            "path": h.path,
            "host": h.host,
            "status": h.status,
            "location": h.location,
        })
    });
    let dns = p.dns.as_ref().map(|d| {
        json!({
            "qtype": d.qtype,
            "rcode": d.rcode,
            "answers": d.answers,
        })
    });
    let quic = p.quic.as_ref().map(|q| {
        json!({
            "version": q.version,
            "dcid": q.dcid,
            "initial_packets": q.initial_packets,
            "server_initial": q.server_initial,
            "server_handshake": q.server_handshake,
            "retry": q.retry,
            "version_negotiation": q.version_negotiation,
            "close": q.close.as_ref().map(|c| json!({"by": c.by, "code": c.code, "error": c.error, "reason": c.reason})),
            "handshake_completed": q.handshake_completed,
        })
    });
    json!({
        "type": "probe",
        "id": p.id,
        "ts": rfc3339(p.ts),
        "client": p.client.to_string(),
        "client_port": p.client_port,
        "server": p.server.to_string(),
        "port": p.port,
        "proto": p.proto.as_str(),
        "name": p.name,
        "name_source": p.name_source.map(|s| s.as_str()),
        "verdict": p.verdict.map(|v| v.as_str()),
        "reason": p.reason,
        "cert": p.cert.as_ref().map(cert),
        "outcome": p.outcome,
        "tls": tls,
        "http": http,
        "dns": dns,
        "quic": quic,
        "group": p.group,
    })
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
