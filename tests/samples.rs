//! probewatch on every bundled sample (real captures made by samples/make-samples.sh):
//! the exact probes, names, verdicts and reasons.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::{json, Value};

/// (proto, name, server, port, verdict) of the TLS and HTTP probes, in order.
fn story(v: &[Value]) -> Vec<(String, String, String, u64, Value)> {
    v.iter()
        .filter(|o| o["type"] == "probe" && o["proto"] != "dns")
        .map(|o| {
            (
                s(o, "proto").to_string(),
                o["name"].as_str().unwrap_or("").to_string(),
                s(o, "server").to_string(),
                o["port"].as_u64().unwrap(),
                o["verdict"].clone(),
            )
        })
        .collect()
}

fn dns_queries(v: &[Value]) -> Vec<(String, String)> {
    let mut q: Vec<(String, String)> = probes(v, "dns")
        .iter()
        .map(|o| {
            (
                s(o, "name").to_string(),
                o["dns"]["qtype"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    q.sort();
    q
}

/// (packets, bytes on the wire) of a classic pcap file, read here without probewatch:
/// what its Stats line must count in a capture made again, whose totals differ from the
/// committed one's.
fn pcap_totals(file: &std::path::Path) -> (usize, u64) {
    let b = std::fs::read(file).unwrap();
    let le = match b[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => panic!("{} is not a classic pcap file", file.display()),
    };
    let u32_at = |i: usize| {
        let w: [u8; 4] = b[i..i + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    };
    let (mut off, mut packets, mut bytes) = (24, 0, 0u64);
    while off < b.len() {
        let (incl, orig) = (u32_at(off + 8) as usize, u32_at(off + 12));
        off += 16 + incl;
        packets += 1;
        bytes += u64::from(orig);
    }
    assert_eq!(off, b.len(), "{}: truncated record", file.display());
    (packets, bytes)
}

#[test]
fn mail_fanout_tells_the_whole_story() {
    let v = json_of(&sample("mail-fanout.pcap"));
    let st = story(&v);
    let t = |p: &str, n: &str, srv: &str, port: u64, verdict: Value| {
        (p.to_string(), n.to_string(), srv.to_string(), port, verdict)
    };
    assert_eq!(
        st,
        vec![
            t(
                "tls",
                "ex7.mailhost.example",
                "192.0.2.10",
                443,
                json!("match")
            ),
            t(
                "tls",
                "autodiscover.example.com",
                "192.0.2.20",
                443,
                json!("mismatch")
            ),
            t("tls", "example.com", "192.0.2.30", 443, json!("mismatch")),
            t("http", "www.example.com", "192.0.2.40", 80, Value::Null),
            t(
                "tls",
                "autodiscover.example.com",
                "192.0.2.20",
                443,
                json!("mismatch")
            ),
        ]
    );
    let tls = probes(&v, "tls");
    assert_eq!(
        s(tls[0], "reason"),
        "SNI ex7.mailhost.example matches SAN ex7.mailhost.example"
    );
    assert_eq!(tls[0]["cert"]["san_dns"], json!(["ex7.mailhost.example"]));
    assert_eq!(tls[0]["cert"]["self_signed"], json!(false));
    assert_eq!(tls[0]["tls"]["version"], json!("TLS 1.2"));
    assert_eq!(tls[0]["tls"]["app_data"], json!(true));
    assert_eq!(s(tls[0], "name_source"), "sni");

    // The Exchange-like box: self-signed, CN only, no SAN at all.
    assert_eq!(
        s(tls[1], "reason"),
        "SNI autodiscover.example.com not covered by CN EXCH01 (the certificate has no subjectAltName and is self-signed)"
    );
    assert_eq!(tls[1]["cert"]["subject_cn"], json!("EXCH01"));
    assert_eq!(tls[1]["cert"]["san_dns"], json!([]));
    assert_eq!(tls[1]["cert"]["self_signed"], json!(true));
    assert_eq!(tls[1]["cert"]["issuer"], json!("CN=EXCH01"));

    // The wildcard never covers the apex.
    assert_eq!(
        s(tls[2], "reason"),
        "SNI example.com not covered by *.example.com (a wildcard never covers the apex)"
    );

    // Without -k, curl rejects the self-signed certificate with a cleartext alert.
    assert_eq!(
        s(tls[3], "outcome"),
        "client rejected the certificate: alert unknown_ca"
    );
    assert_eq!(
        tls[3]["tls"]["alerts"],
        json!([{"from": "client", "level": "fatal", "description": "unknown_ca"}])
    );
    assert_eq!(tls[3]["tls"]["app_data"], json!(false));
    for p in &tls {
        assert_eq!(p["cert"]["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(p["tls"]["chain_len"], json!(1));
        assert_eq!(p["client"], json!("198.51.100.10"));
    }

    // The HTTP step: the redirect back to the hosted server.
    let http = probes(&v, "http");
    assert_eq!(http.len(), 1);
    assert_eq!(http[0]["name_source"], json!("http_host"));
    assert_eq!(
        http[0]["http"],
        json!({"method": "POST", "path": "/autodiscover/autodiscover.xml", "host": "www.example.com",
               "status": 302, "location": "https://ex7.mailhost.example/autodiscover/autodiscover.xml"})
    );
    assert_eq!(
        s(http[0], "outcome"),
        "302 → https://ex7.mailhost.example/autodiscover/autodiscover.xml"
    );

    // Each name was looked up (A and AAAA) before its connection.
    let dns = probes(&v, "dns");
    let a_of = |name: &str| -> Vec<String> {
        dns.iter()
            .filter(|o| o["name"] == name && o["dns"]["qtype"] == "A")
            .flat_map(|o| o["dns"]["answers"].as_array().unwrap().clone())
            .map(|a| a["data"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(a_of("ex7.mailhost.example"), ["192.0.2.10"]);
    assert_eq!(a_of("example.com"), ["192.0.2.30"]);
    assert_eq!(a_of("www.example.com"), ["192.0.2.40"]);
    assert_eq!(
        a_of("autodiscover.example.com"),
        ["192.0.2.20", "192.0.2.20"]
    );
    assert!(dns.iter().all(|o| o["dns"]["rcode"] == "NOERROR"));
    assert_eq!(dns.len(), 10);

    // Probes are in time order; the client line follows, then the stats.
    let ts: Vec<&str> = of_type(&v, "probe").iter().map(|o| s(o, "ts")).collect();
    let mut sorted = ts.clone();
    sorted.sort();
    assert_eq!(ts, sorted);
    assert!(
        ts.iter().all(|t| t.len() == 27 && t.ends_with('Z')),
        "RFC 3339 with microseconds: {ts:?}"
    );
    let clients = of_type(&v, "client");
    assert_eq!(
        *clients[0],
        // make-samples.sh gives the IPv4 client's link MAC 02:00:00:00:04:10.
        json!({"type": "client", "schema": 2, "client": "198.51.100.10",
               "addresses": ["198.51.100.10"], "mac": "02:00:00:00:04:10",
               "names": ["ex7.mailhost.example", "autodiscover.example.com", "example.com", "www.example.com"],
               "names_dropped": 0, "probes": 15, "mismatches": 3})
    );
    let stats = of_type(&v, "stats");
    assert_eq!(stats.len(), 1);
    assert_eq!(v.last().unwrap()["type"], json!("stats"));
    assert_eq!(stats[0]["flows"], json!(5));
    assert_eq!(
        stats[0]["gaps"],
        json!({"not_captured": 0, "snaplen": 0, "buffer_limit": 0})
    );
}

#[test]
fn mail_fanout_table_summarises_names_and_mismatches() {
    let r = run(&[
        "-r",
        sample("mail-fanout.pcap").to_str().unwrap(),
        "--width",
        "120",
    ]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.starts_with("Summary: 2 problems across 1 client"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("\nClient 198.51.100.10: 15 probes, 3 mismatches\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(
        "  Names tried, in order: ex7.mailhost.example → autodiscover.example.com → example.com → www.example.com\n"
    ));
    assert!(r.stdout.contains(
        "    - example.com at 192.0.2.30:443: SNI example.com not covered by *.example.com (a wildcard never covers the apex)\n"
    ));
    assert!(r.stdout.contains("CN=EXCH01"));
    assert!(r.stdout.contains("and is self-signed) (2 times)"));
    // Every packet of the file, however many the run of the script that made it caught
    // (the two ends' FIN/ACK order differs between runs of make-samples.sh).
    let (packets, bytes) = pcap_totals(&sample("mail-fanout.pcap"));
    assert!(
        r.stdout.contains(&format!(
            "\nStats: {packets} packets ({bytes} bytes), 5 TCP flows (0 joined mid-stream, 0 ended idle), 20 DNS messages; 0 evictions; 0 gaps;"
        )),
        "{}",
        r.stdout
    );
    for width in [80usize, 100, 120] {
        let r = run(&[
            "-r",
            sample("mail-fanout.pcap").to_str().unwrap(),
            "--width",
            &width.to_string(),
        ]);
        assert!(r.stdout.lines().count() > 20);
        for l in r.stdout.lines() {
            assert!(
                l.chars().count() <= width,
                "line wider than {width} columns: {l}"
            );
        }
    }
    assert_eq!(r.stderr, "", "nothing on stderr when it is not a terminal");
}

#[test]
fn starttls_smtp_handshake_after_plaintext() {
    let v = json_of(&sample("starttls-smtp.pcap"));
    let tls = probes(&v, "tls");
    assert_eq!(tls.len(), 1);
    let p = tls[0];
    assert_eq!(
        (s(p, "name"), s(p, "server"), p["port"].as_u64()),
        ("mail.example.com", "192.0.2.25", Some(587))
    );
    assert_eq!(p["tls"]["starttls"], json!("smtp"));
    assert_eq!(s(p, "verdict"), "mismatch");
    assert_eq!(
        s(p, "reason"),
        "SNI mail.example.com not covered by the certificate's names (smtp.mailhost.example)"
    );
    assert_eq!(p["cert"]["san_dns"], json!(["smtp.mailhost.example"]));
}

// ---------------------------------------------------------------------------------
// STARTTLS with real servers (samples/make-starttls-samples.sh: dovecot, prosody,
// curl and openssl s_client; test CA "Probewatch STARTTLS Test CA").
// ---------------------------------------------------------------------------------

const STARTTLS_CA: &str = "CN=Probewatch STARTTLS Test CA,O=Probewatch Samples";

/// What every STARTTLS probe of these samples shares: the client, TLS 1.2 (so the
/// certificate is visible), one certificate issued by the test CA, a completed handshake.
fn assert_starttls_probe(p: &Value, dialect: &str, server: &str, port: u64, cert: &str) {
    assert_eq!(p["client"], json!("198.51.100.10"), "{p}");
    assert_eq!(
        (s(p, "server"), p["port"].as_u64()),
        (server, Some(port)),
        "{p}"
    );
    assert_eq!(p["tls"]["starttls"], json!(dialect), "{p}");
    assert_eq!(s(p, "name_source"), "sni");
    assert_eq!(p["tls"]["version"], json!("TLS 1.2"));
    assert_eq!(p["tls"]["offered_versions"], json!(["TLS 1.2"]));
    assert_eq!(p["tls"]["chain_len"], json!(1));
    assert_eq!(p["tls"]["alerts"], json!([]));
    assert_eq!(p["tls"]["app_data"], json!(true));
    assert_eq!(p["cert"]["subject_cn"], json!(cert));
    assert_eq!(p["cert"]["san_dns"], json!([cert]));
    assert_eq!(p["cert"]["issuer"], json!(STARTTLS_CA));
    assert_eq!(p["cert"]["self_signed"], json!(false));
    assert_eq!(s(p, "outcome"), "handshake completed, data exchanged");
    assert_eq!(s(&p["tls"], "ja4").len(), 36);
}

#[test]
fn starttls_imap_dovecot_mismatch_then_match() {
    let v = json_of(&sample("starttls-imap.pcap"));
    let tls = probes(&v, "tls");
    assert_eq!(tls.len(), 2);
    // openssl s_client -starttls imap -servername imap.example.test: the certificate
    // covers mail.example.test only.
    assert_starttls_probe(tls[0], "imap", "192.0.2.143", 143, "mail.example.test");
    assert_eq!(s(tls[0], "name"), "imap.example.test");
    assert_eq!(s(tls[0], "verdict"), "mismatch");
    assert_eq!(
        s(tls[0], "reason"),
        "SNI imap.example.test not covered by the certificate's names (mail.example.test)"
    );
    // curl imap:// --ssl-reqd (CAPABILITY, STARTTLS, LOGIN, LIST): verified, a match.
    assert_starttls_probe(tls[1], "imap", "192.0.2.143", 143, "mail.example.test");
    assert_eq!(s(tls[1], "name"), "mail.example.test");
    assert_eq!(s(tls[1], "verdict"), "match");
    assert_eq!(
        s(tls[1], "reason"),
        "SNI mail.example.test matches SAN mail.example.test"
    );
    // s_client looks up A only; curl A and AAAA (NODATA).
    assert_eq!(
        dns_queries(&v),
        vec![
            ("imap.example.test".into(), "A".into()),
            ("mail.example.test".into(), "A".into()),
            ("mail.example.test".into(), "AAAA".into())
        ]
    );
    let c = of_type(&v, "client");
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0]["names"],
        json!(["imap.example.test", "mail.example.test"])
    );
    assert_eq!(c[0]["mismatches"], json!(1));
    assert_eq!(of_type(&v, "stats")[0]["flows"], json!(2));
}

#[test]
fn starttls_pop3_dovecot_curl_and_s_client() {
    let v = json_of(&sample("starttls-pop3.pcap"));
    let tls = probes(&v, "tls");
    // curl pop3:// --ssl-reqd (CAPA, STLS, USER/PASS, LIST), then s_client -starttls pop3.
    assert_eq!(tls.len(), 2);
    for p in &tls {
        assert_starttls_probe(p, "pop3", "192.0.2.143", 110, "mail.example.test");
        assert_eq!(s(p, "name"), "mail.example.test");
        assert_eq!(s(p, "verdict"), "match");
        assert_eq!(
            s(p, "reason"),
            "SNI mail.example.test matches SAN mail.example.test"
        );
    }
    assert_eq!(
        dns_queries(&v),
        vec![
            ("mail.example.test".into(), "A".into()),
            ("mail.example.test".into(), "A".into()),
            ("mail.example.test".into(), "AAAA".into())
        ]
    );
    let c = of_type(&v, "client");
    assert_eq!(c[0]["names"], json!(["mail.example.test"]));
    assert_eq!(c[0]["mismatches"], json!(0));
}

#[test]
fn starttls_xmpp_prosody() {
    let v = json_of(&sample("starttls-xmpp.pcap"));
    let tls = probes(&v, "tls");
    assert_eq!(tls.len(), 1);
    // openssl s_client -starttls xmpp -xmpphost example.test -servername example.test to
    // prosody at xmpp.example.test: the stream's domain is what the certificate covers.
    let p = tls[0];
    assert_starttls_probe(p, "xmpp", "192.0.2.52", 5222, "example.test");
    assert_eq!(s(p, "name"), "example.test");
    assert_eq!(s(p, "verdict"), "match");
    assert_eq!(s(p, "reason"), "SNI example.test matches SAN example.test");
    assert_eq!(
        dns_queries(&v),
        vec![("xmpp.example.test".into(), "A".into())]
    );
    assert_eq!(
        of_type(&v, "client")[0]["names"],
        json!(["xmpp.example.test", "example.test"])
    );
}

#[test]
fn wildcard_covers_one_label_not_the_apex() {
    let v = json_of(&sample("wildcard-apex.pcap"));
    let tls = probes(&v, "tls");
    assert_eq!(tls.len(), 2);
    assert_eq!(
        (s(tls[0], "name"), s(tls[0], "verdict")),
        ("example.net", "mismatch")
    );
    assert_eq!(
        s(tls[0], "reason"),
        "SNI example.net not covered by *.example.net (a wildcard never covers the apex)"
    );
    assert_eq!(
        (s(tls[1], "name"), s(tls[1], "verdict")),
        ("www.example.net", "match")
    );
    assert_eq!(
        s(tls[1], "reason"),
        "SNI www.example.net matches wildcard SAN *.example.net"
    );
}

#[test]
fn tls13_certificate_is_unverified_and_says_why() {
    let v = json_of(&sample("tls13.pcap"));
    let tls = probes(&v, "tls");
    assert_eq!(tls.len(), 1);
    let p = tls[0];
    assert_eq!(s(p, "name"), "secure.example.org");
    assert_eq!(s(p, "verdict"), "unverified");
    assert_eq!(
        s(p, "reason"),
        "TLS 1.3 encrypts the certificate: the server chose TLS 1.3"
    );
    assert_eq!(p["cert"], Value::Null);
    assert_eq!(p["tls"]["version"], json!("TLS 1.3"));
    assert_eq!(p["tls"]["cipher"], json!("TLS_AES_256_GCM_SHA384"));
    assert!(p["tls"]["offered_versions"]
        .as_array()
        .unwrap()
        .contains(&json!("TLS 1.3")));
    assert_eq!(p["tls"]["app_data"], json!(true));
}

#[test]
fn small_mtu_hello_and_chain_over_many_segments() {
    let v = json_of(&sample("small-mtu.pcap"));
    let tls = probes(&v, "tls");
    assert_eq!(tls.len(), 1);
    let p = tls[0];
    assert_eq!(s(p, "name"), "big.example.org");
    assert_eq!(s(p, "verdict"), "match");
    assert_eq!(p["tls"]["chain_len"], json!(3));
    assert_eq!(p["cert"]["subject_cn"], json!("big.example.org"));
    assert_eq!(p["tls"]["alpn"], json!(["h2", "http/1.1"]));
    let stats = of_type(&v, "stats")[0];
    assert_eq!(stats["gaps"]["not_captured"], json!(0));
}

#[test]
fn ipv6_client() {
    let v = json_of(&sample("ipv6.pcap"));
    let st = story(&v);
    assert_eq!(
        st,
        vec![
            (
                "tls".into(),
                "v6.example.org".into(),
                "2001:db8:2::443".into(),
                443,
                json!("match")
            ),
            (
                "http".into(),
                "v6.example.org".into(),
                "2001:db8:2::443".into(),
                80,
                Value::Null
            ),
        ]
    );
    assert!(of_type(&v, "probe")
        .iter()
        .all(|p| p["client"] == "2001:db8:1::10"));
    let aaaa: Vec<&Value> = probes(&v, "dns")
        .into_iter()
        .filter(|p| p["dns"]["qtype"] == "AAAA")
        .collect();
    assert_eq!(
        aaaa[0]["dns"]["answers"],
        json!([{"name": "v6.example.org", "type": "AAAA", "data": "2001:db8:2::443"}])
    );
    assert_eq!(probes(&v, "http")[0]["http"]["status"], json!(200));
}

#[test]
fn linux_cooked_v2_capture() {
    let v = json_of(&sample("any-sll2.pcap"));
    let st = story(&v);
    assert_eq!(
        st,
        vec![(
            "tls".into(),
            "ex7.mailhost.example".into(),
            "192.0.2.10".into(),
            443,
            json!("match")
        )]
    );
    assert_eq!(
        dns_queries(&v),
        vec![
            ("ex7.mailhost.example".into(), "A".into()),
            ("ex7.mailhost.example".into(), "AAAA".into())
        ]
    );
    assert_eq!(of_type(&v, "stats")[0]["decode_problems"], json!({}));
}

#[test]
fn pcapng_dns_records_and_client_certificate() {
    let v = json_of(&sample("pcapng-mixed.pcapng"));
    let dns = probes(&v, "dns");
    let by = |n: &str| dns.iter().find(|p| p["name"] == n).copied().unwrap();
    assert_eq!(
        by("_autodiscover._tcp.example.com")["dns"]["qtype"],
        json!("SRV")
    );
    assert_eq!(
        by("_autodiscover._tcp.example.com")["dns"]["answers"],
        json!([{"name": "_autodiscover._tcp.example.com", "type": "SRV", "data": "10 10 443 ex7.mailhost.example"}])
    );
    assert_eq!(
        s(by("autoconfig.example.com"), "outcome"),
        "CNAME ex7.mailhost.example, A 192.0.2.10"
    );
    assert_eq!(by("example.com")["dns"]["qtype"], json!("HTTPS"));

    let tls = probes(&v, "tls");
    assert_eq!(tls.len(), 1);
    let p = tls[0];
    assert_eq!(
        (s(p, "name"), s(p, "verdict")),
        ("mtls.example.org", "match")
    );
    // The client's certificate is reported as the client's, never as the server's.
    assert_eq!(p["cert"]["subject_cn"], json!("mtls.example.org"));
    assert_eq!(p["tls"]["client_cert"]["subject_cn"], json!("joe-laptop"));
    assert_eq!(p["tls"]["client_chain_len"], json!(2));
    // pcapng with nanosecond timestamps: microseconds in the output.
    assert!(s(p, "ts").ends_with('Z'));
}

// ---------------------------------------------------------------------------------
// QUIC and ECH samples (samples/make-quic-samples.sh: aioquic, Chromium, nginx).
// ---------------------------------------------------------------------------------

const QUIC_REASON: &str = "QUIC encrypts the server's certificate (TLS 1.3 inside QUIC)";

#[test]
fn quic_aioquic_attempts_and_their_outcomes() {
    let v = json_of(&sample("quic-aioquic.pcap"));
    let q = probes(&v, "quic");
    let row = |p: &Value| {
        (
            s(p, "name").to_string(),
            s(p, "server").to_string(),
            p["port"].as_u64().unwrap(),
            s(&p["quic"], "version").to_string(),
            s(p, "outcome").to_string(),
        )
    };
    let got: Vec<_> = q.iter().map(|p| row(p)).collect();
    let t = |n: &str, srv: &str, port: u64, ver: &str, outcome: &str| {
        (
            n.to_string(),
            srv.to_string(),
            port,
            ver.to_string(),
            outcome.to_string(),
        )
    };
    assert_eq!(
        got,
        vec![
            t("quic.example.org", "192.0.2.110", 443, "v1", "handshake completed, data exchanged"),
            t("v2.example.org", "192.0.2.110", 443, "v2", "handshake completed, data exchanged"),
            t(
                "retry.example.org",
                "192.0.2.111",
                4433,
                "v1",
                "after a Retry, handshake completed, data exchanged"
            ),
            t(
                "v1only.example.org",
                "192.0.2.112",
                443,
                "v2",
                "server answered with Version Negotiation (it offers v1)"
            ),
            t(
                "v1only.example.org",
                "192.0.2.112",
                443,
                "v1",
                "handshake completed, data exchanged"
            ),
            t(
                "quic.example.org",
                "192.0.2.110",
                443,
                "v1",
                "server closed the connection in an Initial: CRYPTO_ERROR (TLS alert handshake_failure) \"No common ALPN protocols\""
            ),
            t(
                "silent.example.org",
                "192.0.2.113",
                443,
                "v1",
                "no answer from the server seen; the client gave up (CONNECTION_CLOSE in an Initial: APPLICATION_ERROR)"
            ),
        ]
    );
    for p in &q {
        assert_eq!(p["verdict"], json!("unverified"));
        assert_eq!(s(p, "reason"), QUIC_REASON);
        assert_eq!(s(p, "name_source"), "sni");
        assert_eq!(p["client"], json!("198.51.100.20"));
        assert_eq!(p["cert"], Value::Null);
        assert_eq!(p["tls"]["offered_versions"], json!(["TLS 1.3"]));
        assert_eq!(p["tls"]["ech"], json!(false));
        let ja4 = s(&p["tls"], "ja4");
        assert!(ja4.starts_with("q13d03"), "{ja4}");
        assert_eq!(p["quic"]["initial_packets"], json!(1));
        assert_eq!(s(&p["quic"], "dcid").len(), 16);
    }
    // ALPN as offered; the server's choice (TLS 1.3, cipher) from its Initial.
    assert_eq!(q[0]["tls"]["alpn"], json!(["h3"]));
    assert_eq!(q[0]["tls"]["version"], json!("TLS 1.3"));
    assert_eq!(q[0]["tls"]["cipher"], json!("TLS_AES_256_GCM_SHA384"));
    assert_eq!(q[5]["tls"]["alpn"], json!(["smtp-over-quic"]));
    assert!(s(&q[5]["tls"], "ja4").starts_with("q13d0307sc_"));
    assert_eq!(q[5]["quic"]["close"]["by"], json!("server"));
    assert_eq!(q[5]["quic"]["close"]["code"], json!(0x128));
    // Nothing listens at 192.0.2.113: no server packet at all.
    assert_eq!(q[6]["quic"]["server_initial"], json!(false));
    assert_eq!(q[6]["quic"]["server_handshake"], json!(false));
    assert_eq!(q[2]["quic"]["retry"], json!(true));
    assert_eq!(q[3]["quic"]["version_negotiation"], json!(["v1"]));
    for (i, done) in [true, true, true, false, true, false, false]
        .iter()
        .enumerate()
    {
        assert_eq!(
            q[i]["quic"]["handshake_completed"],
            json!(done),
            "probe {i}"
        );
    }
    // The QUIC probes sit in the same per-client story as the DNS lookups before them.
    let c = of_type(&v, "client");
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0]["names"],
        json!([
            "quic.example.org",
            "v2.example.org",
            "retry.example.org",
            "v1only.example.org",
            "silent.example.org"
        ])
    );
    let st = of_type(&v, "stats")[0];
    assert_eq!(st["quic"]["hellos"], json!(7));
    assert_eq!(st["quic"]["undecryptable"], json!(0));
    assert_eq!(st["quic"]["malformed"], json!(0));
}

#[test]
fn quic_hello_split_over_two_initials() {
    let v = json_of(&sample("quic-split-hello.pcap"));
    let q = probes(&v, "quic");
    assert_eq!(q.len(), 1);
    let p = q[0];
    assert_eq!(s(p, "name"), "quic.example.org");
    assert_eq!(p["quic"]["initial_packets"], json!(2));
    let alpn = p["tls"]["alpn"].as_array().unwrap();
    assert_eq!(alpn.len(), 13);
    assert_eq!(alpn[0], json!("h3"));
    assert!(alpn[12]
        .as_str()
        .unwrap()
        .starts_with("probewatch-sample-alpn-12-"));
    assert_eq!(s(p, "verdict"), "unverified");
    assert_eq!(s(p, "outcome"), "handshake completed, data exchanged");
}

#[test]
fn chromium_grease_ech_and_the_inferred_target() {
    let v = json_of(&sample("chromium-ech.pcap"));
    let tls = probes(&v, "tls");
    assert!(!tls.is_empty());
    for p in &tls {
        assert_eq!(s(p, "name"), "cover.example.org");
        assert_eq!(s(p, "server"), "192.0.2.120");
        assert_eq!(p["tls"]["ech"], json!(true));
        assert_eq!(p["tls"]["ech_public_name"], json!("cover.example.org"));
        // real.example.org has an HTTPS record with an ech parameter and resolved to
        // 192.0.2.120 just before: the likely real target, marked as inferred.
        assert_eq!(p["tls"]["ech_inferred_target"], json!("real.example.org"));
        let r = s(p, "reason");
        assert!(r.starts_with("TLS 1.3 encrypts the certificate"), "{r}");
        assert!(
            r.contains("ECH offered: cover.example.org is the public (cover) name"),
            "{r}"
        );
        assert!(r.contains("GREASE ECH looks the same on the wire"), "{r}");
        assert!(
            r.contains("likely real target real.example.org (inferred"),
            "{r}"
        );
        assert!(s(&p["tls"], "ja4").starts_with("t13d15"), "{p}");
    }
    let https = probes(&v, "dns")
        .into_iter()
        .find(|p| p["dns"]["qtype"] == "HTTPS")
        .unwrap();
    assert_eq!(https["dns"]["answers"][0]["ech"], json!(true));
    // Chromium's own QUIC hello: GREASE ECH too, and big enough to need two Initials.
    let q = probes(&v, "quic");
    assert_eq!(q.len(), 1);
    assert_eq!(s(q[0], "name"), "quic.example.org");
    assert_eq!(q[0]["tls"]["ech"], json!(true));
    assert_eq!(q[0]["tls"]["ech_inferred_target"], Value::Null);
    assert_eq!(q[0]["quic"]["initial_packets"], json!(2));
    assert_eq!(q[0]["tls"]["alpn"], json!(["h3"]));
    // One client, one story: DNS, TLS over TCP and QUIC.
    let c = of_type(&v, "client");
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0]["names"],
        json!(["real.example.org", "cover.example.org", "quic.example.org"])
    );
}

#[test]
fn ja4_column_is_optional() {
    let f = sample("chromium-ech.pcap");
    let plain = run(&["-r", f.to_str().unwrap(), "--width", "200"]);
    assert!(!plain.stdout.contains("JA4"));
    let with = run(&["-r", f.to_str().unwrap(), "--width", "200", "--ja4"]);
    assert_eq!(with.code, 0);
    assert!(with.stdout.contains("JA4"));
    assert!(with.stdout.contains("q13d"));
    assert!(with.stdout.contains("QUIC v1"));
}

#[test]
fn every_tls_hello_has_a_ja4() {
    for f in [
        "mail-fanout.pcap",
        "tls13.pcap",
        "starttls-smtp.pcap",
        "starttls-imap.pcap",
        "starttls-pop3.pcap",
        "starttls-xmpp.pcap",
    ] {
        let v = json_of(&sample(f));
        for p in probes(&v, "tls") {
            let j = s(&p["tls"], "ja4");
            assert_eq!(j.len(), 36, "{f}: {j}");
            assert!(j.starts_with("t1"), "{f}: {j}");
        }
    }
}

/// (method, host, path, status) of the HTTP probes, in order.
fn http_story(v: &[Value]) -> Vec<(String, String, String, Value)> {
    probes(v, "http")
        .iter()
        .map(|o| {
            (
                s(&o["http"], "method").to_string(),
                o["http"]["host"].as_str().unwrap_or("").to_string(),
                s(&o["http"], "path").to_string(),
                o["http"]["status"].clone(),
            )
        })
        .collect()
}

fn h(m: &str, host: &str, path: &str, status: Value) -> (String, String, String, Value) {
    (m.to_string(), host.to_string(), path.to_string(), status)
}

#[test]
fn webdav_and_rpc_over_http_methods_are_all_seen() {
    let v = json_of(&sample("http-webdav.pcap"));
    let rpc = "/rpc/rpcproxy.dll?exch01.example.test:6001";
    assert_eq!(
        http_story(&v),
        vec![
            h("PROPFIND", "dav.example.test", "/", json!(207)),
            h("MKCOL", "dav.example.test", "/reports/", json!(201)),
            h("PUT", "dav.example.test", "/reports/draft.txt", json!(201)),
            h("MOVE", "dav.example.test", "/reports/draft.txt", json!(204)),
            h("RPC_IN_DATA", "mail.example.test", rpc, json!(405)),
            h("RPC_OUT_DATA", "mail.example.test", rpc, json!(405)),
        ]
    );
}

#[test]
fn bad_request_line_then_a_good_one() {
    let v = json_of(&sample("http-bad-line.pcap"));
    // nginx's 400 answers the bad line; the GET behind it is never answered.
    assert_eq!(
        http_story(&v),
        vec![h("GET", "after.example.test", "/", Value::Null)]
    );
    assert_eq!(s(probes(&v, "http")[0], "outcome"), "no response seen");
}

#[test]
fn capture_starting_with_the_servers_reply_reads_the_next_request() {
    let v = json_of(&sample("http-midstream.pcap"));
    assert_eq!(
        http_story(&v),
        vec![h("GET", "mid.example.test", "/two.txt", json!(200))]
    );
}

#[test]
fn http_behind_socks5_and_socks4a() {
    for f in ["socks-http.pcap", "socks4a-http.pcap"] {
        let v = json_of(&sample(f));
        assert_eq!(
            http_story(&v),
            vec![h("GET", "behind-socks.example.test", "/", json!(200))],
            "{f}"
        );
    }
}

#[test]
fn tls_behind_socks5_is_read_and_verified() {
    let v = json_of(&sample("socks-tls.pcap"));
    let tls = probes(&v, "tls");
    assert_eq!(tls.len(), 1);
    let p = tls[0];
    assert_eq!(s(p, "name"), "tls-behind-socks.example.test");
    assert_eq!(s(p, "verdict"), "match");
    assert_eq!(p["port"], 1080);
    assert_eq!(p["tls"]["starttls"], "socks");
}

/// ECS's `tls.next_protocol` was never written: probewatch did not read the server's ALPN
/// choice. nginx answers curl's `h2, http/1.1` with `http/1.1` in its TLS 1.2 ServerHello;
/// a TLS 1.3 server sends its choice encrypted, so there it stays unknown (null).
#[test]
fn server_alpn_choice_is_read_from_the_tls12_server_hello() {
    let v = json_of(&sample("mail-fanout.pcap"));
    let tls: Vec<&Value> = of_type(&v, "probe")
        .into_iter()
        .filter(|p| p["proto"] == "tls" && p["tls"]["version"] == "TLS 1.2")
        .collect();
    assert!(!tls.is_empty());
    for p in &tls {
        assert_eq!(p["tls"]["alpn"], json!(["h2", "http/1.1"]), "{p}");
        assert_eq!(p["tls"]["alpn_selected"], json!("http/1.1"), "{p}");
    }
    let v = json_of(&sample("tls13.pcap"));
    let p = of_type(&v, "probe")
        .into_iter()
        .find(|p| p["proto"] == "tls")
        .unwrap();
    assert_eq!(p["tls"]["alpn_selected"], Value::Null);
    let r = run(&[
        "-r",
        sample("mail-fanout.pcap").to_str().unwrap(),
        "--format",
        "ecs",
    ]);
    assert_eq!(r.code, 0);
    let chosen = r
        .stdout
        .lines()
        .filter(|l| l.contains("\"next_protocol\":\"http/1.1\""))
        .count();
    assert_eq!(chosen, tls.len());
}

/// The certificate cache: nginx sends the same one-certificate chain on every TLS 1.2
/// handshake of handshake-outcomes.pcap; x509-parser reads it once, every later handshake
/// takes it from the cache, and each probe still carries the certificate's own summary
/// (the same SHA-256 and subject as the first).
#[test]
fn the_same_server_certificate_is_parsed_once() {
    let v = json_of(&sample("handshake-outcomes.pcap"));
    let with_cert: Vec<&Value> = probes(&v, "tls")
        .into_iter()
        .filter(|p| p["cert"].is_object())
        .collect();
    assert!(
        with_cert.len() >= 3,
        "several handshakes show a certificate"
    );
    let first = &with_cert[0]["cert"];
    for p in &with_cert {
        assert_eq!(p["cert"]["sha256"], first["sha256"]);
        assert_eq!(p["cert"]["subject_cn"], first["subject_cn"]);
    }
    let stats = of_type(&v, "stats")[0];
    let cache = &stats["cert_cache"];
    assert_eq!(cache["parsed"], 1, "one distinct certificate: {cache}");
    assert_eq!(
        cache["hits"].as_u64().unwrap() + 1,
        with_cert.len() as u64,
        "every later handshake hit the cache: {cache}"
    );
    assert_eq!(stats["evictions"]["cert_cache"], 0);
}

#[test]
fn cert_names_give_the_verdict_of_each_name_rule() {
    // samples/make-name-samples.sh: port | name asked | certificate subject | SAN, one
    // openssl s_server / s_client handshake each (TLS 1.2, the certificate in clear).
    let v = json_of(&sample("cert-names.pcap"));
    let probes = probes(&v, "tls");
    assert_eq!(probes.len(), 22);
    let expect: [(u64, &str, &str, &str); 22] = [
        (5001, "a.example.com", "match", "wildcard_san_match"),
        (5002, "a.b.example.com", "mismatch", "wildcard_rule"),
        (5003, "example.com", "mismatch", "wildcard_rule"),
        (5004, "WWW.EXAMPLE.COM", "match", "san_match"),
        (5005, "www.example.com", "match", "san_match"),
        (5006, "www.example.com.", "match", "san_match"),
        (5007, "www.example.com", "match", "san_match"),
        (5008, "foo.com", "mismatch", "wildcard_rule"),
        // A SAN with only an address: the CN is used.
        (5009, "www.example.com", "match", "cn_only_match"),
        (5010, "www.example.com", "mismatch", "not_in_sans"),
        (5011, "a.example.com", "match", "cn_only_match"),
        (5012, "fooa.example.com", "mismatch", "wildcard_rule"),
        (5013, "a.example.com", "mismatch", "wildcard_rule"),
        // A wildcard asked for is not a host name (it was a san_match).
        (5014, "*.example.com", "mismatch", "invalid_name"),
        (5015, "a.example.co.uk", "mismatch", "wildcard_rule"),
        (5016, "www.example.com", "mismatch", "not_in_sans"),
        // Several CNs: the last, most specific, is the one (the first was taken).
        (5017, "b.example.com", "match", "cn_only_match"),
        (5018, "a.example.com", "mismatch", "not_cn"),
        (5019, "a.example.com", "match", "wildcard_san_match"),
        (5020, "www.example.com", "mismatch", "not_cn"),
        (5021, "www.example.com", "match", "cn_only_match"),
        (5022, "a.example.com", "mismatch", "wildcard_rule"),
    ];
    for (p, (port, name, verdict, code)) in probes.iter().zip(expect) {
        assert_eq!(p["port"], port, "{p}");
        assert_eq!(p["name"], name, "{p}");
        assert_eq!(p["verdict"], verdict, "{p}");
        assert_eq!(p["reason_code"], code, "{p}");
    }
    let reason = |port: u64| {
        probes
            .iter()
            .find(|p| p["port"] == port)
            .map(|p| s(p, "reason").to_string())
            .unwrap()
    };
    assert_eq!(
        reason(5014),
        "SNI \"*.example.com\" is not a valid host name"
    );
    // A subjectAltName with a URI and a mail address only: it has one, with no DNS name.
    assert_eq!(
        reason(5020),
        "SNI www.example.com not covered by CN x (the certificate has no DNS name in its subjectAltName and is self-signed)"
    );
    assert_eq!(
        reason(5018),
        "SNI a.example.com not covered by CN b.example.com (the certificate has no subjectAltName and is self-signed)"
    );
}

#[test]
fn a_connect_target_names_the_request_and_the_tls_inside_the_tunnel() {
    // openssl s_client -proxy … -noservername: a CONNECT with no Host header, then a
    // hello with no SNI. Both probes had no name (the TLS one "no_name"), though the
    // client asked the proxy for connect-target.example.test.
    let v = json_of(&sample("connect-proxy.pcap"));
    let http = probes(&v, "http");
    assert_eq!(http.len(), 1);
    assert_eq!(http[0]["name"], "connect-target.example.test");
    assert_eq!(http[0]["name_source"], "connect_target");
    assert_eq!(http[0]["http"]["method"], "CONNECT");
    assert_eq!(http[0]["http"]["host"], serde_json::Value::Null);
    let tls = probes(&v, "tls");
    assert_eq!(tls.len(), 1);
    assert_eq!(tls[0]["name"], "connect-target.example.test");
    assert_eq!(tls[0]["name_source"], "connect_target");
    assert_eq!(tls[0]["verdict"], "match");
    assert_eq!(tls[0]["tls"]["starttls"], "http-connect");
    assert_eq!(
        s(tls[0], "reason"),
        "CONNECT target connect-target.example.test matches SAN connect-target.example.test"
    );
    // The table's name cell: the target as asked (the path was glued to the name:
    // "connect-target.example.testconnect-target.example.test:5443", "-ts01-b…").
    let f = sample("connect-proxy.pcap");
    let t = run(&["-r", f.to_str().unwrap(), "--width", "0"]);
    assert!(
        t.stdout.contains(" connect-target.example.test:5443 "),
        "{}",
        t.stdout
    );
    assert!(!t.stdout.contains("testconnect"), "{}", t.stdout);
}

/// TCP Fast Open (samples/make-tfo-samples.sh: python3's ssl over MSG_FASTOPEN): the
/// second connection's ClientHello is the SYN's payload. It was skipped with the SYN,
/// the stream taken to start one byte past it, and the missing bytes called "not
/// captured": no probe at all for a whole handshake (black-box finding). The SYN's
/// payload is the stream's first bytes.
#[test]
fn a_client_hello_carried_in_the_syn_is_read() {
    let v = json_of(&sample("tcp-fastopen.pcap"));
    let tls: Vec<(&str, &str)> = probes(&v, "tls")
        .iter()
        .map(|p| (s(p, "name"), s(p, "verdict")))
        .collect();
    assert_eq!(
        tls,
        [
            ("cookie.example.test", "mismatch"),
            ("tfo.example.test", "match")
        ]
    );
    let stats = of_type(&v, "stats")[0];
    assert_eq!(stats["gaps"]["not_captured"], 0, "{stats}");
}

/// `openssl req -x509` makes self-signed certificates with basicConstraints CA:TRUE: each
/// of cert-names.pcap's was `ca_as_leaf`, "a CA certificate is used as the server's
/// certificate … not accepted: replace it", never said to be self-signed, what every
/// client rejects it for first (black-box finding). Not an anchor, it is self-signed.
#[test]
fn a_self_signed_ca_true_certificate_is_self_signed_not_a_ca_leaf() {
    let v = json_of(&sample("cert-names.pcap"));
    let tls = probes(&v, "tls");
    assert_eq!(tls.len(), 22);
    for p in tls {
        assert_eq!(p["trust"]["chain"], "self_signed", "{p}");
    }
}

/// TLS 1.2 mutual TLS: the server's CertificateRequest is in the clear, and
/// `client_cert_requested` was false, defined for decrypted TLS 1.3 only (black-box
/// finding). pcapng-mixed.pcapng's mTLS handshake (a client certificate sent) says the
/// server asked.
#[test]
fn a_cleartext_certificate_request_is_said() {
    let v = json_of(&sample("pcapng-mixed.pcapng"));
    let tls = probes(&v, "tls");
    let mtls = tls
        .iter()
        .find(|p| s(p, "name") == "mtls.example.org")
        .unwrap();
    assert_eq!(mtls["tls"]["version"], "TLS 1.2");
    assert_eq!(mtls["tls"]["client_cert_requested"], true);
    assert_eq!(mtls["tls"]["client_chain_len"], 2);
}
