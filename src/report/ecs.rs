//! `--format ecs`: one JSON document per probe (one a line) in the Elastic Common Schema,
//! for Elasticsearch, Filebeat or any pipeline that reads ECS. Fields are nested objects
//! (`{"tls":{"client":{"server_name":…}}}`), as Elasticsearch stores them. What ECS has no
//! field for (the verdict, its reason, the outcome, the attempt group) is under
//! `probewatch.`. A field the packets did not show is left out, never filled in.
//!
//! docs/ecs.md lists every field; tests/ecs.rs checks each one written against ECS's own
//! field list (tests/ecs/fields.csv).

use serde_json::{Map, Value};

use super::text::{self, rfc3339};
use crate::correlate::{Probe, ProbeKind};

/// Inserts `v` under the dotted path `key` unless it is `null`, an empty string or an
/// empty array.
fn put(doc: &mut Map<String, Value>, key: &str, v: Value) {
    let empty = match &v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Bool(_) | Value::Number(_) | Value::Object(_) => false,
    };
    if empty {
        return;
    }
    let mut at = doc;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            at.insert(part.to_string(), v);
            return;
        }
        let next = at
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        let Value::Object(m) = next else {
            return;
        };
        at = m;
    }
}

fn s(x: impl Into<String>) -> Value {
    Value::String(x.into())
}

fn opt(x: Option<impl Into<String>>) -> Value {
    x.map_or(Value::Null, s)
}

/// The ECS document of a probe.
pub fn document(p: &Probe) -> Value {
    let mut d = Map::new();
    let proto = p.proto();
    put(&mut d, "@timestamp", s(rfc3339(p.ts)));
    put(&mut d, "ecs.version", s(text::ECS_VERSION));
    put(&mut d, "event.kind", s("event"));
    put(&mut d, "event.category", Value::from(vec!["network"]));
    let types: Vec<&str> = match &p.kind {
        ProbeKind::Tls(_) | ProbeKind::Quic(_) => vec!["connection", "protocol"],
        ProbeKind::Http(_) | ProbeKind::Dns(_) => vec!["protocol"],
    };
    put(&mut d, "event.type", Value::from(types));
    put(&mut d, "event.outcome", s(text::ecs_outcome(p)));
    put(&mut d, "source.ip", s(p.client.to_string()));
    put(&mut d, "source.port", Value::from(p.client_port));
    put(&mut d, "destination.ip", s(p.server.to_string()));
    put(&mut d, "destination.port", Value::from(p.port));
    put(&mut d, "network.transport", s(text::ecs_transport(proto)));
    put(&mut d, "network.protocol", s(text::proto(proto)));
    put(
        &mut d,
        "network.community_id",
        opt(super::json::community_id(p)),
    );
    match &p.kind {
        ProbeKind::Tls(_) | ProbeKind::Quic(_) => {
            put(&mut d, "destination.domain", opt(p.name.clone()));
            if p.name_source == Some(crate::correlate::NameSource::Sni) {
                put(&mut d, "tls.client.server_name", opt(p.name.clone()));
            }
            if let Some(t) = p.tls() {
                if let Some((protocol, version)) = t.version.and_then(text::ecs_tls_version) {
                    put(&mut d, "tls.version_protocol", s(protocol));
                    put(&mut d, "tls.version", s(version));
                }
                put(&mut d, "tls.cipher", opt(t.cipher.map(text::cipher)));
                put(&mut d, "tls.next_protocol", opt(t.alpn_selected.clone()));
                let established = t.app_data || p.quic().is_some_and(|q| q.handshake_completed);
                put(&mut d, "tls.established", Value::Bool(established));
            }
            if let Some(c) = p.cert() {
                put(
                    &mut d,
                    "tls.server.x509.subject.common_name",
                    Value::from(c.subject_cn.iter().cloned().collect::<Vec<_>>()),
                );
                let names: Vec<String> = c.san_dns.iter().chain(&c.san_ip).cloned().collect();
                put(
                    &mut d,
                    "tls.server.x509.alternative_names",
                    Value::from(names),
                );
                put(
                    &mut d,
                    "tls.server.x509.issuer.distinguished_name",
                    s(text::rfc4514(&c.issuer)),
                );
                put(
                    &mut d,
                    "tls.server.x509.not_before",
                    s(text::cert_time(c.not_before)),
                );
                put(
                    &mut d,
                    "tls.server.x509.not_after",
                    s(text::cert_time(c.not_after)),
                );
                put(
                    &mut d,
                    "tls.server.hash.sha256",
                    s(c.sha256.to_ascii_uppercase()),
                );
            }
        }
        ProbeKind::Http(h) => {
            put(&mut d, "destination.domain", opt(p.name.clone()));
            put(&mut d, "url.domain", opt(p.name.clone()));
            put(&mut d, "url.path", s(h.path.clone()));
            put(&mut d, "http.request.method", s(h.method.clone()));
            put(
                &mut d,
                "http.response.status_code",
                h.status.map_or(Value::Null, Value::from),
            );
        }
        ProbeKind::Dns(x) => {
            put(&mut d, "dns.question.name", opt(p.name.clone()));
            put(&mut d, "dns.question.type", s(text::qtype(x.qtype)));
            put(&mut d, "dns.response_code", opt(x.rcode.map(text::rcode)));
            let answers: Vec<Value> = x
                .answers
                .iter()
                .map(|a| {
                    let mut m = Map::new();
                    put(&mut m, "name", s(a.name.clone()));
                    put(&mut m, "type", s(text::rr_type(a.rtype())));
                    put(&mut m, "data", s(text::rdata(&a.data)));
                    Value::Object(m)
                })
                .collect();
            put(&mut d, "dns.answers", Value::from(answers));
        }
    }
    put(&mut d, "probewatch.id", Value::from(p.id));
    put(
        &mut d,
        "probewatch.name_source",
        opt(p.name_source.map(text::name_source)),
    );
    put(
        &mut d,
        "probewatch.verdict",
        opt(p.verdict.map(text::verdict)),
    );
    put(&mut d, "probewatch.reason", opt(text::reason(p)));
    put(
        &mut d,
        "probewatch.reason_code",
        opt(p.reason.as_ref().map(text::reason_code)),
    );
    put(&mut d, "probewatch.outcome", s(text::outcome(p)));
    put(
        &mut d,
        "probewatch.outcome_code",
        s(text::outcome_code(&p.outcome)),
    );
    put(
        &mut d,
        "probewatch.group",
        p.group.map_or(Value::Null, Value::from),
    );
    Value::Object(d)
}

/// ECS documents, for a capture file and a live capture alike. Only probes are events:
/// the groups, client summaries and stats are in `--format json`.
pub struct EcsWriter;

impl super::Writer for EcsWriter {
    fn probe(&mut self, p: &Probe, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer(&mut *out, &document(p))?;
        out.write_all(b"\n")?;
        out.flush()
    }

    fn finish(
        &mut self,
        end: &super::End<'_>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        if !end.streamed {
            for p in &end.report.probes {
                serde_json::to_writer(&mut *out, &document(p))?;
                out.write_all(b"\n")?;
            }
        }
        out.flush()
    }
}
