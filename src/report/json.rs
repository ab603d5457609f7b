//! JSON Lines: one `probe` line per probe (time order), one `group` line per attempt
//! group, one `client` line per client, one `stats` line. Every line carries `schema`
//! ([`SCHEMA`]); `docs/probewatch.schema.json` describes them and docs/json.md documents
//! them. A key has one type on every line type it appears in.

/// The version of the JSON Lines schema, on every line (`schema`). Raised when a key
/// changes meaning or type; new keys do not raise it.
pub const SCHEMA: u32 = 2;

use serde::Serialize;
use serde_json::{json, Value};

use super::text::{self, rfc3339, Rfc3339};
use crate::correlate::groups::Group;
use crate::correlate::{ClientSummary, Probe, ProbeKind, Report};
use crate::parse::{CertInfo, DnsAnswer};
use crate::stats::Stats;

// Probe lines are the bulk of the output: they are serialized straight from these views
// (field order = key order), without building a `serde_json::Value` first.

/// A `Display` value serialized as a JSON string straight into the output (serde's
/// `collect_str`: escaped as any string, no intermediate `String`).
struct Shown<T>(T);

impl<T: std::fmt::Display> Serialize for Shown<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// An address serialized as a JSON string, the text of its `Display`: an IPv4 address's
/// digits written into one buffer (not seven pieces through the formatter, each escaped
/// on its own), an IPv6 address through `Display`.
struct Addr(std::net::IpAddr);

impl Serialize for Addr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let std::net::IpAddr::V4(v4) = self.0 else {
            return s.collect_str(&self.0);
        };
        let mut buf = [0u8; 15];
        let mut n = 0;
        let mut put = |c: u8| {
            if let Some(b) = buf.get_mut(n) {
                *b = c;
            }
            n += 1;
        };
        for (i, o) in v4.octets().into_iter().enumerate() {
            if i > 0 {
                put(b'.');
            }
            if o >= 100 {
                put(b'0' + o / 100);
            }
            if o >= 10 {
                put(b'0' + o / 10 % 10);
            }
            put(b'0' + o % 10);
        }
        match buf.get(..n).map(std::str::from_utf8) {
            Some(Ok(t)) => s.serialize_str(t),
            _ => s.collect_str(&self.0),
        }
    }
}

#[derive(Serialize)]
struct CertJson<'a> {
    subject_cn: &'a Option<String>,
    san_dns: &'a [String],
    san_ip: &'a [String],
    issuer: String,
    not_before: String,
    not_after: String,
    self_signed: bool,
    sha256: &'a String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parse_error: Option<String>,
}

fn cert(c: &CertInfo) -> CertJson<'_> {
    CertJson {
        subject_cn: &c.subject_cn,
        san_dns: &c.san_dns,
        san_ip: &c.san_ip,
        issuer: text::rfc4514(&c.issuer),
        not_before: text::cert_time(c.not_before),
        not_after: text::cert_time(c.not_after),
        self_signed: c.self_signed,
        sha256: &c.sha256,
        parse_error: c.parse_error.as_ref().map(text::cert_error),
    }
}

#[derive(Serialize)]
struct AlertJson {
    from: &'static str,
    level: String,
    description: String,
}

#[derive(Serialize)]
struct CloseJson {
    by: &'static str,
    how: &'static str,
    ts: String,
}

#[derive(Serialize)]
struct TlsJson<'a> {
    version: Option<String>,
    cipher: Option<String>,
    offered_versions: Vec<String>,
    alpn: &'a [String],
    alpn_selected: &'a Option<String>,
    ech: bool,
    hello_retry: bool,
    starttls: Option<&'static str>,
    chain_len: Option<usize>,
    client_cert: Option<CertJson<'a>>,
    client_chain_len: Option<usize>,
    alerts: Vec<AlertJson>,
    app_data: bool,
    close: Option<CloseJson>,
    mid_stream: bool,
    ja4: &'a Option<String>,
    ech_public_name: &'a Option<String>,
    ech_inferred_target: &'a Option<String>,
    client_cert_requested: bool,
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
struct AnswerJson<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    rtype: String,
    data: String,
    /// An HTTPS/SVCB answer with an `ech` parameter.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    ech: bool,
}

fn answer(a: &DnsAnswer) -> AnswerJson<'_> {
    AnswerJson {
        name: &a.name,
        rtype: text::rr_type(a.rtype()),
        data: text::rdata(&a.data),
        ech: a.ech(),
    }
}

#[derive(Serialize)]
struct DnsJson<'a> {
    qtype: String,
    rcode: Option<String>,
    truncated: bool,
    answers: Vec<AnswerJson<'a>>,
}

#[derive(Serialize)]
struct QuicCloseJson<'a> {
    by: &'static str,
    code: u64,
    error: String,
    reason: &'a str,
}

#[derive(Serialize)]
struct QuicJson<'a> {
    version: String,
    dcid: &'a str,
    initial_packets: u32,
    server_initial: bool,
    server_handshake: bool,
    retry: bool,
    version_negotiation: Option<Vec<String>>,
    close: Option<QuicCloseJson<'a>>,
    handshake_completed: bool,
}

/// A `probe` line (serializable view of a [`Probe`]).
#[derive(Serialize)]
pub struct ProbeJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema: u32,
    id: u64,
    ts: Shown<Rfc3339>,
    client: Addr,
    client_port: u16,
    /// The address of the host the client is listed under (its own, unless merged).
    host: Addr,
    server: Addr,
    port: u16,
    proto: &'static str,
    community_id: Option<String>,
    name: &'a Option<String>,
    name_source: Option<&'static str>,
    verdict: Option<&'static str>,
    reason: Option<String>,
    reason_code: Option<&'static str>,
    cert: Option<CertJson<'a>>,
    trust: Option<TrustJson>,
    /// "seen" or "decrypted with key log"; null without a certificate.
    cert_source: Option<&'static str>,
    outcome: String,
    outcome_code: &'static str,
    tls: Option<TlsJson<'a>>,
    http: Option<HttpJson<'a>>,
    dns: Option<DnsJson<'a>>,
    quic: Option<QuicJson<'a>>,
    group: Option<u64>,
}

/// Writes `{"k0":v0,"k1":v1,…}` of a view's fields, in the order given (which must be the
/// struct's field order, so that the derived `Serialize` writes the same bytes): the keys
/// are written as they are, not escaped and written piece by piece as serde_json does for
/// every key of every line.
/// `write_fields!` writes the fields only, the first after `$open` (`{` when it opens the
/// object, `,` after other fields); `write_object!` writes a whole object.
/// A string value is written as it is when it holds nothing JSON escapes, without
/// serde_json's byte-by-byte escape scan (the same bytes: serde_json escapes only `"`, `\`
/// and control characters); any other value through serde_json.
macro_rules! write_fields {
    ($buf:expr, $view:expr, $open:literal, $k0:literal : $f0:ident $(, $key:literal : $field:ident)* $(,)?) => {{
        $buf.extend_from_slice(concat!($open, "\"", $k0, "\":").as_bytes());
        (&&Field(&$view.$f0)).put(&mut *$buf)?;
        $(
            $buf.extend_from_slice(concat!(",\"", $key, "\":").as_bytes());
            (&&Field(&$view.$field)).put(&mut *$buf)?;
        )*
    }};
}

/// A field's value, written by [`PutStr`] when it is a string (or an optional one) and by
/// [`PutAny`] otherwise: `(&&Field(v)).put(buf)` finds `PutStr`'s method first (its
/// receiver takes one dereference less), which exists only for the string types.
struct Field<'a, T: ?Sized>(&'a T);

trait PutAny {
    fn put(&self, buf: &mut Vec<u8>) -> serde_json::Result<()>;
}

impl<T: Serialize + ?Sized> PutAny for Field<'_, T> {
    fn put(&self, buf: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer(buf, self.0)
    }
}

trait PutStr {
    fn put(&self, buf: &mut Vec<u8>) -> serde_json::Result<()>;
}

impl PutStr for &Field<'_, String> {
    fn put(&self, buf: &mut Vec<u8>) -> serde_json::Result<()> {
        put_str(buf, self.0)
    }
}

impl PutStr for &Field<'_, &str> {
    fn put(&self, buf: &mut Vec<u8>) -> serde_json::Result<()> {
        put_str(buf, self.0)
    }
}

impl PutStr for &Field<'_, Option<String>> {
    fn put(&self, buf: &mut Vec<u8>) -> serde_json::Result<()> {
        put_opt(buf, self.0.as_deref())
    }
}

impl PutStr for &Field<'_, &Option<String>> {
    fn put(&self, buf: &mut Vec<u8>) -> serde_json::Result<()> {
        put_opt(buf, self.0.as_deref())
    }
}

impl PutStr for &Field<'_, Option<&str>> {
    fn put(&self, buf: &mut Vec<u8>) -> serde_json::Result<()> {
        put_opt(buf, *self.0)
    }
}

fn put_opt(buf: &mut Vec<u8>, s: Option<&str>) -> serde_json::Result<()> {
    match s {
        Some(s) => put_str(buf, s),
        None => {
            buf.extend_from_slice(b"null");
            Ok(())
        }
    }
}

/// Whether a byte of `b` is one JSON escapes (`"`, `\`, below 0x20): looked for 8 bytes
/// at a time in a `u64` (a byte below 0x20, or equal to `"` or `\` once xor-ed with it,
/// leaves its high bit set in `(x - 0x01…) & !x & 0x80…`), the rest byte by byte.
fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let mut words = b.chunks_exact(8);
    for w in words.by_ref() {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        let x = u64::from_le_bytes(a);
        if below(x, 0x20) | below(x ^ (ONES * 0x22), 1) | below(x ^ (ONES * 0x5c), 1) != 0 {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&c| c < 0x20 || c == b'"' || c == b'\\')
}

/// `s` as a JSON string: as it is, quoted, when no byte needs escaping, else escaped by
/// serde_json.
fn put_str(buf: &mut Vec<u8>, s: &str) -> serde_json::Result<()> {
    if needs_escape(s.as_bytes()) {
        return serde_json::to_writer(buf, s);
    }
    buf.reserve(s.len() + 2);
    buf.push(b'"');
    buf.extend_from_slice(s.as_bytes());
    buf.push(b'"');
    Ok(())
}

macro_rules! write_object {
    ($buf:expr, $view:expr, $($rest:tt)*) => {{
        write_fields!($buf, $view, "{", $($rest)*);
        $buf.push(b'}');
    }};
}

impl TlsJson<'_> {
    fn write_to(&self, buf: &mut Vec<u8>) -> serde_json::Result<()> {
        write_object!(buf, self,
            "version": version,
            "cipher": cipher,
            "offered_versions": offered_versions,
            "alpn": alpn,
            "alpn_selected": alpn_selected,
            "ech": ech,
            "hello_retry": hello_retry,
            "starttls": starttls,
            "chain_len": chain_len,
            "client_cert": client_cert,
            "client_chain_len": client_chain_len,
            "alerts": alerts,
            "app_data": app_data,
            "close": close,
            "mid_stream": mid_stream,
            "ja4": ja4,
            "ech_public_name": ech_public_name,
            "ech_inferred_target": ech_inferred_target,
            "client_cert_requested": client_cert_requested,
        );
        Ok(())
    }
}

impl ProbeJson<'_> {
    /// The line's JSON (without the newline), the same bytes as `serde_json::to_writer`.
    fn write_to(&self, buf: &mut Vec<u8>) -> serde_json::Result<()> {
        write_fields!(buf, self, "{",
            "type": kind,
            "schema": schema,
            "id": id,
            "ts": ts,
            "client": client,
            "client_port": client_port,
            "host": host,
            "server": server,
            "port": port,
            "proto": proto,
            "community_id": community_id,
            "name": name,
            "name_source": name_source,
            "verdict": verdict,
            "reason": reason,
            "reason_code": reason_code,
            "cert": cert,
            "trust": trust,
            "cert_source": cert_source,
            "outcome": outcome,
            "outcome_code": outcome_code,
        );
        buf.extend_from_slice(b",\"tls\":");
        match &self.tls {
            Some(t) => t.write_to(buf)?,
            None => buf.extend_from_slice(b"null"),
        }
        write_fields!(buf, self, ",",
            "http": http,
            "dns": dns,
            "quic": quic,
            "group": group,
        );
        buf.push(b'}');
        Ok(())
    }
}

/// The trust verdict of a TLS probe whose certificate was seen.
#[derive(Serialize)]
pub struct TrustJson {
    verdict: &'static str,
    reason: String,
    validity: &'static str,
    chain: &'static str,
    store: &'static str,
    ca_file: bool,
    notes: Vec<&'static str>,
}

fn trust(t: &crate::correlate::TrustVerdict) -> TrustJson {
    TrustJson {
        verdict: text::trust_code(t),
        reason: text::trust_reason(t),
        validity: text::validity_code(&t.validity),
        chain: text::chain_code(&t.chain),
        store: text::store_name(t.store),
        ca_file: t.ca_files,
        notes: t.notes.iter().map(text::policy_code).collect(),
    }
}

pub fn probe(p: &Probe) -> ProbeJson<'_> {
    let tls = p.tls().map(|t| TlsJson {
        version: t.version.map(text::tls_version),
        cipher: t.cipher.map(text::cipher),
        offered_versions: t
            .offered_versions
            .iter()
            .map(|v| text::tls_version(*v))
            .collect(),
        alpn: &t.alpn,
        alpn_selected: &t.alpn_selected,
        ech: t.ech,
        hello_retry: t.hello_retry,
        starttls: t.starttls,
        chain_len: t.chain_len,
        client_cert: t.client_cert.as_deref().map(cert),
        client_chain_len: t.client_chain_len,
        alerts: t
            .alerts
            .iter()
            .map(|a| {
                let (level, description) = text::alert_parts(a.kind);
                AlertJson {
                    from: text::side(a.from),
                    level,
                    description,
                }
            })
            .collect(),
        app_data: t.app_data,
        close: t.close.as_ref().map(|c| CloseJson {
            by: text::side(c.by),
            how: text::close_how(c.how),
            ts: rfc3339(c.ts),
        }),
        mid_stream: t.mid_stream,
        ja4: &t.ja4,
        ech_public_name: &t.ech_public_name,
        ech_inferred_target: &t.ech_inferred_target,
        client_cert_requested: t.client_cert_requested,
    });
    let (http, dns, quic) = match &p.kind {
        ProbeKind::Http(h) => (
            Some(HttpJson {
                method: &h.method,
                path: &h.path,
                host: &h.host,
                status: h.status,
                location: &h.location,
            }),
            None,
            None,
        ),
        ProbeKind::Dns(d) => (
            None,
            Some(DnsJson {
                qtype: text::qtype(d.qtype),
                rcode: d.rcode.map(text::rcode),
                truncated: d.truncated,
                answers: d.answers.iter().map(answer).collect(),
            }),
            None,
        ),
        ProbeKind::Quic(q) => {
            let q = &q.quic;
            (
                None,
                None,
                Some(QuicJson {
                    version: text::quic_version(q.version),
                    dcid: &q.dcid,
                    initial_packets: q.initial_packets,
                    server_initial: q.server_initial,
                    server_handshake: q.server_handshake,
                    retry: q.retry,
                    version_negotiation: q
                        .version_negotiation
                        .as_ref()
                        .map(|v| v.iter().map(|v| text::quic_version(*v)).collect()),
                    close: q.close.as_ref().map(|c| QuicCloseJson {
                        by: text::side(c.by),
                        code: c.code,
                        error: crate::parse::quic::error_name(c.code, c.app),
                        reason: &c.reason,
                    }),
                    handshake_completed: q.handshake_completed,
                }),
            )
        }
        ProbeKind::Tls(_) => (None, None, None),
    };
    ProbeJson {
        kind: "probe",
        schema: SCHEMA,
        id: p.id,
        ts: Shown(Rfc3339(p.ts)),
        client: Addr(p.client),
        client_port: p.client_port,
        host: Addr(p.host_addr()),
        server: Addr(p.server),
        port: p.port,
        proto: text::proto(p.proto()),
        community_id: community_id(p),
        name: &p.name,
        name_source: p.name_source.map(text::name_source),
        verdict: p.verdict.map(text::verdict),
        reason: text::reason(p),
        reason_code: p.reason.as_ref().map(text::reason_code),
        cert: p.cert().map(cert),
        trust: p.trust.as_deref().map(trust),
        cert_source: p
            .tls()
            .and_then(|t| t.cert_source.filter(|_| t.server_cert.is_some()))
            .map(text::cert_source),
        outcome: text::outcome(p),
        outcome_code: text::outcome_code(&p.outcome),
        tls,
        http,
        dns,
        quic,
        group: p.group,
    }
}

/// The probe's flow as a Community ID (TLS and HTTP over TCP, DNS and QUIC over UDP).
pub fn community_id(p: &Probe) -> Option<String> {
    use super::community_id::{v1, TCP, UDP};
    let proto = match p.proto() {
        crate::correlate::Proto::Tls | crate::correlate::Proto::Http => TCP,
        crate::correlate::Proto::Dns | crate::correlate::Proto::Quic => UDP,
    };
    v1(0, p.client, p.client_port, p.server, p.port, proto)
}

/// One `group` line: an attempt group with its members, pattern, mismatches and advice.
pub fn group(g: &Group) -> Value {
    let members: Vec<Value> = g
        .members
        .iter()
        .map(|m| {
            json!({
                "probe": m.probe,
                "proto": text::proto(m.proto),
                "name": m.name,
                "origin": text::origin(m.origin),
                "origin_probe": m.origin_probe,
                "address_from": m.address_from,
                "cname_chain": m.cname_chain,
                "step": m.step.as_ref().map(text::step),
                "step_code": m.step.as_ref().map(text::step_code),
                "step_rank": m.step.as_ref().and_then(crate::correlate::groups::thunderbird_rank),
                "tied_to": m.tied_to.map(|(p, secs)| json!({
                    "probe": p,
                    "after_secs": (secs * 1e6).round() / 1e6,
                })),
                "moved_on": m.moved_on.as_ref().map(|x| json!({
                    "name": x.name,
                    "proto": text::proto(x.proto),
                    "port": x.port,
                    "after_secs": (x.after_secs * 1e6).round() / 1e6,
                    "followed_redirect": x.followed_redirect,
                })),
            })
        })
        .collect();
    json!({
        "type": "group",
        "schema": SCHEMA,
        "id": g.id,
        "client": g.client.to_string(),
        "domain": g.domain,
        "first_ts": rfc3339(g.first),
        "last_ts": rfc3339(g.last),
        "probes": g.members.len() + g.members_dropped as usize,
        "probe_ids": g.members.iter().map(|m| m.probe).collect::<Vec<_>>(),
        "probes_not_listed": g.members_dropped,
        "pattern": g.pattern.map(text::pattern),
        "pattern_label": g.pattern.map(text::pattern_label),
        "explanation": g.pattern.map(text::pattern_explanation),
        "priority_order": text::priority_order(g).map(|(by, wire)| json!({
            "by_rank": by.iter().map(|(r, ps)| json!({"rank": r, "probes": ps})).collect::<Vec<_>>(),
            "wire": wire,
        })),
        "names": g.names.iter().map(|n| n.name.clone()).collect::<Vec<_>>(),
        "name_origins": g.names.iter().map(|n| json!({
            "name": n.name,
            "origin": text::origin(n.origin),
            "probe": n.probe,
            "origin_probe": n.origin_probe,
        })).collect::<Vec<_>>(),
        "mismatches": g.mismatches.len(),
        "mismatch_ids": g.mismatches,
        "san": g.advice.as_ref().map(|a| a.san.clone()),
        "wildcard": g.advice.as_ref().and_then(|a| a.wildcard.as_ref().map(|w| json!({
            "name": w,
            "cannot_cover": a.wildcard_cannot_cover.iter().map(|u| json!({"name": u.name, "why": text::uncovered(u.why), "why_code": text::uncovered_code(u.why)})).collect::<Vec<_>>(),
        }))),
        "notes": g.advice.as_ref().map(|a| a.notes.iter().map(text::note).collect::<Vec<_>>()).unwrap_or_default(),
        "note_codes": g.advice.as_ref().map(|a| a.notes.iter().map(text::note_code).collect::<Vec<_>>()).unwrap_or_default(),
        "members": members,
    })
}

/// JSON Lines, for a capture file and for a live capture alike.
#[derive(Default)]
pub struct JsonWriter {
    /// One probe line, serialized here (reused) and written with one `write_all`: cheaper
    /// than serde_json's many small writes through `dyn Write`.
    line: Vec<u8>,
}

impl JsonWriter {
    fn line(&mut self, p: &Probe, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.line.clear();
        probe(p).write_to(&mut self.line)?;
        self.line.push(b'\n');
        out.write_all(&self.line)
    }
}

impl super::Writer for JsonWriter {
    fn probe(&mut self, p: &Probe, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.line(p, out)?;
        out.flush()
    }

    fn finish(
        &mut self,
        end: &super::End<'_>,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        for p in &end.report.probes {
            self.line(p, out)?;
        }
        write_groups(&end.report.groups, out)?;
        write_tail(&end.report.clients, end.stats, out)
    }
}

pub fn write(report: &Report, stats: &Stats, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use super::Writer;
    let end = super::End {
        report,
        stats,
        streamed: false,
    };
    JsonWriter::default().finish(&end, out)
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
            "schema": SCHEMA,
            "client": c.client.to_string(),
            "addresses": std::iter::once(c.client).chain(c.also.iter().copied()).map(|a| a.to_string()).collect::<Vec<_>>(),
            "mac": c.mac.as_ref().map(text::mac),
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
    s.insert("schema".into(), json!(SCHEMA));
    if let Value::Object(o) = stats.to_json() {
        s.extend(o);
    }
    // Flows that went idle ended normally: an expiry, not an eviction.
    let idle = s
        .get_mut("evictions")
        .and_then(Value::as_object_mut)
        .and_then(|e| e.remove("flows_idle"));
    if let Some(idle) = idle {
        let mut expiries = serde_json::Map::new();
        expiries.insert("flows_idle".into(), idle);
        let mut out = serde_json::Map::new();
        for (k, v) in std::mem::take(&mut s) {
            let evictions = k == "evictions";
            out.insert(k, v);
            if evictions {
                out.insert(
                    "expiries".into(),
                    Value::Object(std::mem::take(&mut expiries)),
                );
            }
        }
        s = out;
    }
    serde_json::to_writer(&mut *out, &s)?;
    out.write_all(b"\n")?;
    out.flush()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    /// An address written digit by digit is the JSON string of its `Display`.
    #[test]
    fn addresses_written_by_hand_equal_their_display() {
        let mut addrs: Vec<std::net::IpAddr> = ["::", "::1", "2001:db8::a:b", "::ffff:1.2.3.4"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        for o in [0u8, 1, 9, 10, 42, 99, 100, 101, 199, 200, 249, 250, 255] {
            for p in [0u8, 7, 10, 100, 255] {
                addrs.push(std::net::Ipv4Addr::new(o, p, o, p).into());
                addrs.push(std::net::Ipv4Addr::new(p, o, 255 - o, 9).into());
            }
        }
        for a in addrs {
            assert_eq!(
                serde_json::to_string(&super::Addr(a)).unwrap(),
                serde_json::to_string(&super::Shown(a)).unwrap(),
            );
            assert_eq!(
                serde_json::to_string(&super::Addr(a)).unwrap(),
                format!("\"{a}\"")
            );
        }
    }

    /// A string written without serde_json's escape scan is the bytes serde_json writes,
    /// for strings that need no escape and for every kind that does (quote, backslash,
    /// each control character), beside bytes that need none (DEL, non-ASCII).
    #[test]
    fn strings_written_as_they_are_equal_serde_json() {
        let mut cases: Vec<String> = [
            "",
            "mail.example.com",
            "a \"quoted\" name",
            "back\\slash",
            "del\u{7f}",
            "é ü 名前 😀",
            "t13d1516h2_8daaf6152771_02713d6af862",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for c in 0u8..0x20 {
            cases.push(format!("x{}y", char::from(c)));
        }
        // Every escaped byte at every place of a 20-byte string (in a word and in the
        // rest), and the bytes next to those escaped (which are not).
        for c in (0u8..0x20).chain([b'"', b'\\', 0x21, 0x23, 0x5b, 0x5d, 0x7f]) {
            for at in 0..20 {
                let mut v = vec![b'a'; 20];
                v[at] = c;
                cases.push(String::from_utf8(v).unwrap());
            }
        }
        for s in &cases {
            let mut fast = Vec::new();
            super::put_str(&mut fast, s).unwrap();
            assert_eq!(fast, serde_json::to_vec(s).unwrap(), "{s:?}");
            let mut opt = Vec::new();
            super::put_opt(&mut opt, Some(s)).unwrap();
            assert_eq!(opt, fast);
        }
        let mut none = Vec::new();
        super::put_opt(&mut none, None).unwrap();
        assert_eq!(none, b"null");
    }

    /// The hand-written probe line is the derived serialization, byte for byte, for every
    /// probe of real captures of every kind (TLS with and without certificates, HTTP, DNS,
    /// QUIC, alerts, ECH): a field added to `ProbeJson` but not to `write_to` fails here.
    #[test]
    fn probe_lines_written_by_hand_equal_the_derived_serialization() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let mut probes = 0;
        let mut kinds = std::collections::BTreeSet::new();
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        paths.sort();
        for path in paths {
            if !matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            ) {
                continue;
            }
            let input = crate::capture::Input::File(path.clone());
            let Ok(mut src) = crate::capture::file::FileSource::open(&input, 1) else {
                continue;
            };
            let mut pipeline = crate::Pipeline::new(crate::Bounds::default());
            while let Ok(None) = src.advance() {
                if let Some(pkt) = src.packet() {
                    pipeline.packet_view(pkt);
                }
            }
            pipeline.finish();
            let mut done = Vec::new();
            pipeline.take_probes(&mut done);
            for p in &done {
                let view = super::probe(p);
                let mut hand = Vec::new();
                view.write_to(&mut hand).unwrap();
                let derived = serde_json::to_vec(&view).unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&hand),
                    String::from_utf8_lossy(&derived),
                    "{}",
                    path.display()
                );
                probes += 1;
                kinds.insert(super::text::proto(p.proto()));
            }
        }
        assert!(probes > 100, "only {probes} probes in samples/");
        assert!(kinds.len() >= 4, "{kinds:?}");
    }
}
