//! How TLS connections end, on samples/handshake-outcomes.pcap (made by
//! samples/make-outcome-samples.sh: openssl s_time and s_client, curl, nginx). Each test
//! is a wrong outcome probewatch used to report.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::Value;

const NAME12: &str = "outcome12.example.org";
const NAME13: &str = "outcome13.example.org";

/// The TLS probes of the sample, in the order their connections started.
fn tls_probes() -> Vec<Value> {
    let v = json_of(&sample("handshake-outcomes.pcap"));
    let mut p: Vec<Value> = probes(&v, "tls").into_iter().cloned().collect();
    p.sort_by(|a, b| s(a, "ts").cmp(s(b, "ts")));
    p
}

fn code(p: &Value) -> &str {
    s(p, "outcome_code")
}

/// The first `n` probes for `name` on port 443 that are not from client port 40443.
fn by_name(p: &[Value], name: &str) -> Vec<Value> {
    p.iter()
        .filter(|o| o["name"] == name && o["client_port"] != 40443)
        .cloned()
        .collect()
}

#[test]
fn s_time_handshakes_are_handshake_only_clients_not_rejections() {
    let p = tls_probes();
    // s_time -new sends no SNI: the name comes from the DNS answer before each connection.
    for name in [NAME12, NAME13] {
        let runs: Vec<Value> = by_name(&p, name)
            .into_iter()
            .filter(|o| o["name_source"] == "dns_answer")
            .collect();
        assert_eq!(runs.len(), 3, "{name}: the 3 s_time connections kept");
        for o in &runs {
            assert_ne!(code(o), "likely_rejected_inferred", "{o}");
            assert!(s(o, "outcome").starts_with("handshake completed, then the client "));
            assert_eq!(o["tls"]["app_data"], false);
        }
    }
    // TLS 1.2: the certificate is seen and matches, so it is a handshake-only client.
    for o in by_name(&p, NAME12)
        .iter()
        .filter(|o| o["name_source"] == "dns_answer")
    {
        assert_eq!(o["verdict"], "match");
        assert_eq!(code(o), "handshake_only_client");
        assert!(s(o, "outcome").ends_with("without data: a handshake-only client (health check)"));
    }
    // TLS 1.3: the certificate is encrypted; the handshake completed, nothing more is said.
    for o in by_name(&p, NAME13)
        .iter()
        .filter(|o| o["name_source"] == "dns_answer")
    {
        assert_eq!(o["verdict"], "unverified");
        assert_eq!(code(o), "handshake_completed_no_data");
        assert!(s(o, "outcome").contains("(name not checked: a health check, or a client rejecting the name after the handshake)"));
    }
}

#[test]
fn s_client_quitting_is_not_a_rejection_and_close_notify_is_not_data() {
    let p = tls_probes();
    let sni = |name: &str| -> Vec<Value> {
        by_name(&p, name)
            .into_iter()
            .filter(|o| o["name_source"] == "sni")
            .collect()
    };
    // s_client with Q: TLS 1.2 first, then the idle one.
    let q12 = &sni(NAME12)[0];
    assert_eq!(q12["verdict"], "match");
    assert_eq!(code(q12), "handshake_only_client");
    // In TLS 1.3 its close_notify is an encrypted record like data: only its size (too
    // short for anything but an alert) tells it apart. It used to read "data exchanged".
    let q13 = &sni(NAME13)[0];
    assert_eq!(code(q13), "handshake_completed_no_data", "{q13}");
    assert_eq!(q13["tls"]["app_data"], false);
    assert!(s(q13, "outcome").contains("sent an encrypted alert"));
}

#[test]
fn completed_handshake_is_not_reported_as_timed_out() {
    let p = tls_probes();
    // The s_client that waited 12 s (the probe timeout is 10 s) before it closed.
    let idle = by_name(&p, NAME12)
        .into_iter()
        .filter(|o| o["name_source"] == "sni")
        .nth(1)
        .unwrap();
    let close = &idle["tls"]["close"];
    assert_eq!(close["by"], "client");
    assert_eq!(close["how"], "fin");
    let secs = |t: &str| -> f64 {
        // 2026-12-01T09:22:40.123456Z -> seconds within the day
        let hms = t.split('T').nth(1).unwrap().trim_end_matches('Z');
        let f: Vec<f64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
        f[0] * 3600.0 + f[1] * 60.0 + f[2]
    };
    assert!(secs(s(close, "ts")) - secs(s(&idle, "ts")) > 10.0, "{idle}");
    assert_ne!(code(&idle), "handshake_timeout");
    assert_eq!(code(&idle), "handshake_only_client");
}

#[test]
fn curl_with_an_untrusted_ca_rejects_with_unknown_ca() {
    let p = tls_probes();
    // OpenSSL sends this alert in the clear, in TLS 1.3 too (before its own keys).
    for name in [NAME12, NAME13] {
        let o = by_name(&p, name)
            .into_iter()
            .rfind(|o| o["name_source"] == "sni")
            .unwrap();
        assert_eq!(code(&o), "client_rejected", "{o}");
        assert_eq!(
            s(&o, "outcome"),
            "client rejected the certificate: alert unknown_ca"
        );
    }
}

#[test]
fn syn_answered_by_a_bare_ack_is_not_syn_unanswered() {
    let p = tls_probes();
    let from: Vec<&Value> = p.iter().filter(|o| o["client_port"] == 40443).collect();
    assert_eq!(from.len(), 2, "the reset attempt and the retry");
    assert_eq!(code(from[0]), "syn_answered_by_ack");
    assert_eq!(from[0]["tls"]["close"]["by"], "client");
    assert_eq!(from[0]["tls"]["close"]["how"], "rst");
    assert!(s(from[0], "outcome").contains("bare ACK, not a SYN-ACK"));
    // The retry from the same port connects and fetches the page.
    assert_eq!(code(from[1]), "data_exchanged");
    assert_eq!(from[1]["verdict"], "match");
}

/// A client that stopped in the middle of its ClientHello (samples/stalled-hello.pcap,
/// made by samples/make-stall-samples.sh: OpenSSL's real hello through python3's ssl
/// module, sent in part by a plain socket, nginx on the other end). probewatch said
/// nothing at all of such connections: no probe, no name, as if the client never tried.
#[test]
fn client_stopping_inside_its_hello_is_said_with_the_sni_when_it_came() {
    let v = json_of(&sample("stalled-hello.pcap"));
    let mut p: Vec<Value> = probes(&v, "tls").into_iter().cloned().collect();
    p.sort_by(|a, b| s(a, "ts").cmp(s(b, "ts")));
    assert_eq!(p.len(), 3, "{p:?}");
    // Cut just past its SNI, then the client closed: the name is known.
    assert_eq!(p[0]["name"], "stall.example");
    assert_eq!(p[0]["name_source"], "sni");
    assert_eq!(p[0]["verdict"], "unverified");
    assert_eq!(code(&p[0]), "client_hello_incomplete");
    assert_eq!(p[0]["reason_code"], "client_hello_incomplete");
    assert_eq!(
        s(&p[0], "outcome"),
        "the client closed (FIN) the connection before its ClientHello was whole (it stopped, or the rest was lost on the way or not captured)"
    );
    let r = s(&p[0], "reason");
    assert!(
        r.starts_with(
            "the ClientHello was not whole when the flow ended: 169 of its 512 bytes came, its SNI among them"
        ),
        "{r}"
    );
    // Cut inside its session id and still open when the capture stopped: no name.
    assert!(p[1]["name"].is_null());
    assert_eq!(p[1]["verdict"], "no_name");
    assert_eq!(
        s(&p[1], "outcome"),
        "the capture ended before the ClientHello was whole"
    );
    let r = s(&p[1], "reason");
    assert!(
        r.contains("so the name the client asked for is not known"),
        "{r}"
    );
    // The same client's whole hello is read as before.
    assert_eq!(p[2]["verdict"], "match");
    assert_eq!(code(&p[2]), "data_exchanged");
}

/// The same connections through a tap with a 100-byte snapshot length
/// (samples/stalled-hello-snaplen.pcap, editcap -s 100 of the capture above): every hello
/// is cut by the capture, not by its client, and the probes say so instead of blaming the
/// client ("closed the connection before its ClientHello was whole", as a first version
/// of the feature above said of curl's whole handshake).
#[test]
fn hello_cut_by_the_snapshot_length_is_the_capture_s_doing_not_the_client_s() {
    let v = json_of(&sample("stalled-hello-snaplen.pcap"));
    let p = probes(&v, "tls");
    assert_eq!(p.len(), 3, "{p:?}");
    for o in p {
        assert_eq!(o["reason_code"], "client_hello_snaplen_cut", "{o}");
        assert!(s(o, "reason").contains("snapshot length"), "{o}");
        assert!(
            s(o, "outcome").starts_with("the capture lost part of the ClientHello; then "),
            "{o}"
        );
        assert!(
            !s(o, "outcome").contains("before its ClientHello was whole"),
            "{o}"
        );
    }
}
