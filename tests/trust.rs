//! The trust verdict beside the name verdict, on real captures: the sample roots are
//! private (not in Mozilla's store), so a chain to them is trusted only with --ca-file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::Value;

fn tls_of(args: &[&str]) -> Vec<Value> {
    let r = run(args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    lines(&r.stdout)
        .into_iter()
        .filter(|o| o["type"] == "probe" && o["proto"] == "tls" && o["cert"].is_object())
        .collect()
}

#[test]
fn a_private_root_is_unknown_until_given_with_ca_file() {
    let cap = sample("handshake-outcomes.pcap");
    let ca = sample("handshake-outcomes-ca.pem");
    let (cap, ca) = (cap.to_str().unwrap(), ca.to_str().unwrap());
    // Every certificate seen was issued by the sample root and nothing else was sent.
    let default = tls_of(&["-r", cap, "--format", "json"]);
    assert!(!default.is_empty());
    for p in &default {
        assert_eq!(
            s(&p["cert"], "issuer"),
            "CN=Probewatch Outcome Root CA,O=Probewatch Samples"
        );
        let t = &p["trust"];
        assert_eq!(t["verdict"], "unknown_issuer", "{t}");
        assert_eq!(t["store"], "mozilla");
        assert!(s(t, "reason").starts_with(
            "issuer unknown: O=Probewatch Samples, CN=Probewatch Outcome Root CA is not in the trust store (Mozilla's roots)"
        ));
        // The leaves are made with -days 825 (after 2020-09-01): over the 398-day limit.
        assert_eq!(t["notes"], serde_json::json!(["over_398_days"]));
        assert_eq!(t["validity"], "valid");
    }
    let with_ca = tls_of(&["-r", cap, "--ca-file", ca, "--format", "json"]);
    assert_eq!(with_ca.len(), default.len());
    for p in &with_ca {
        assert_eq!(p["trust"]["verdict"], "trusted", "{}", p["trust"]);
        assert_eq!(p["trust"]["ca_file"], true);
        assert!(s(&p["trust"], "reason")
            .starts_with("chain to O=Probewatch Samples, CN=Probewatch Outcome Root CA, trusted"));
    }
    for p in tls_of(&["-r", cap, "--trust", "none", "--format", "json"]) {
        assert_eq!(p["trust"]["verdict"], "not_checked");
    }
    // The name verdict is a separate matter: unchanged by the store.
    let names = |v: &[Value]| v.iter().map(|p| p["verdict"].clone()).collect::<Vec<_>>();
    assert_eq!(names(&default), names(&with_ca));
}

#[test]
fn exchange_self_signed_cn_only_certificate_is_self_signed() {
    // mail-fanout.pcap: the "Exchange-like box" (CN=EXCH01, self-signed, no SAN).
    let v = json_of(&sample("mail-fanout.pcap"));
    let exch: Vec<&Value> = probes(&v, "tls")
        .into_iter()
        .filter(|p| p["cert"]["subject_cn"] == "EXCH01")
        .collect();
    assert!(!exch.is_empty());
    for p in exch {
        assert_eq!(p["cert"]["self_signed"], true);
        let t = &p["trust"];
        assert_eq!(t["verdict"], "self_signed", "{t}");
        assert!(s(t, "reason").starts_with("self-signed (CN=EXCH01) and not in the trust store"));
        assert!(t["notes"].as_array().unwrap().contains(&"cn_only".into()));
    }
}

#[test]
fn a_root_the_server_sends_is_still_not_trusted() {
    // small-mtu.pcap: leaf, intermediate and the RSA-4096 root, all sent by the server.
    let v = json_of(&sample("small-mtu.pcap"));
    let p = probes(&v, "tls")
        .into_iter()
        .find(|p| p["tls"]["chain_len"] == 3)
        .unwrap();
    assert_eq!(p["trust"]["verdict"], "unknown_issuer");
    assert!(s(&p["trust"], "reason").contains(
        "the chain ends at the root O=Probewatch Samples, CN=Probewatch Big Root CA, which the server sent"
    ));
}

#[test]
fn an_unreadable_ca_file_is_one_sentence_and_exit_2() {
    let cap = sample("handshake-outcomes.pcap");
    let r = run(&[
        "-r",
        cap.to_str().unwrap(),
        "--ca-file",
        "/nonexistent/ca.pem",
    ]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r
        .stderr
        .starts_with("probewatch: cannot read the CA file /nonexistent/ca.pem"));
}

/// The TLS probes of samples/trust.pcap (make-trust-samples.sh) by name, judged with the
/// sample root given as --ca-file.
fn trust_sample(with_ca: bool) -> Vec<Value> {
    let cap = sample("trust.pcap");
    let ca = sample("trust-ca.pem");
    let mut args = vec!["-r", cap.to_str().unwrap(), "--format", "json"];
    if with_ca {
        args.extend(["--ca-file", ca.to_str().unwrap()]);
    }
    tls_of(&args)
}

fn named<'a>(v: &'a [Value], name: &str) -> &'a Value {
    v.iter().find(|p| p["name"] == name).unwrap()
}

#[test]
fn an_expired_certificate_is_judged_at_the_packet_time() {
    let v = trust_sample(true);
    let p = named(&v, "expired.trust.example");
    assert_eq!(s(&p["cert"], "not_after"), "2021-01-01T00:00:00Z");
    assert!(
        s(p, "ts") > "2021-01-01",
        "the capture is later than notAfter"
    );
    assert_eq!(p["verdict"], "match", "the name is fine");
    let t = &p["trust"];
    assert_eq!(t["verdict"], "expired");
    assert_eq!(t["validity"], "expired");
    // The chain itself is good: the sample root signed it.
    assert_eq!(t["chain"], "trusted");
    let r = s(t, "reason");
    assert!(
        r.starts_with("expired: notAfter 2021-01-01T00:00:00Z, "),
        "{r}"
    );
    assert!(r.contains(" days before the connection; chain to O=Probewatch Samples, CN=Probewatch Trust Root CA, trusted"));
}

#[test]
fn a_not_yet_valid_certificate_says_when_it_starts() {
    let v = trust_sample(true);
    let p = named(&v, "future.trust.example");
    assert_eq!(s(&p["cert"], "not_before"), "2036-01-01T00:00:00Z");
    let t = &p["trust"];
    assert_eq!(t["verdict"], "not_yet_valid");
    assert_eq!(t["chain"], "trusted");
    assert!(s(t, "reason").starts_with("not yet valid: notBefore 2036-01-01T00:00:00Z, "));
    assert!(s(t, "reason").contains(" days after the connection"));
}

#[test]
fn a_missing_intermediate_is_named_with_its_aia_url() {
    let v = trust_sample(true);
    let p = named(&v, "nochain.trust.example");
    assert_eq!(p["tls"]["chain_len"], 1, "only the leaf was sent");
    assert_eq!(
        s(&p["cert"], "issuer"),
        "O=Probewatch Samples,CN=Probewatch Trust Intermediate CA"
    );
    let t = &p["trust"];
    assert_eq!(t["verdict"], "incomplete_chain");
    let r = s(t, "reason");
    assert!(r.starts_with("incomplete chain: the server did not send its issuer CN=Probewatch Trust Intermediate CA, O=Probewatch Samples"), "{r}");
    assert!(r.contains("http://pki.trust.example/inter.crt"));
    // curl, given the root, could not build the chain and said so.
    assert_eq!(
        s(p, "outcome"),
        "client rejected the certificate: alert unknown_ca"
    );
    // The same kind of leaf with its intermediate sent is trusted.
    let full = named(&v, "chain.trust.example");
    assert_eq!(full["tls"]["chain_len"], 2);
    assert_eq!(full["trust"]["verdict"], "trusted");
    assert_eq!(s(full, "outcome_code"), "data_exchanged");
}

#[test]
fn a_chain_from_a_root_the_client_lacks_is_not_trusted() {
    for with_ca in [false, true] {
        let v = trust_sample(with_ca);
        let p = named(&v, "other.trust.example");
        assert_eq!(
            s(&p["cert"], "issuer"),
            "CN=Probewatch Other Root CA,O=Probewatch Samples"
        );
        let t = &p["trust"];
        assert_ne!(t["verdict"], "trusted");
        assert!(
            s(t, "reason").contains("CN=Probewatch Other Root CA, which is not in the trust store")
        );
        assert_eq!(
            s(p, "outcome"),
            "client rejected the certificate: alert unknown_ca"
        );
    }
    // Without the sample root nothing of this capture is trusted.
    assert!(trust_sample(false)
        .iter()
        .all(|p| p["trust"]["chain"] != "trusted"));
}

#[test]
fn group_advice_names_the_chain_fixes() {
    let cap = sample("trust.pcap");
    let ca = sample("trust-ca.pem");
    let r = run(&[
        "-r",
        cap.to_str().unwrap(),
        "--ca-file",
        ca.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let v = lines(&r.stdout);
    // The connections by address are groups of their own.
    let g: Vec<&Value> = of_type(&v, "group")
        .into_iter()
        .filter(|g| g["domain"] == "trust.example")
        .collect();
    assert_eq!(g.len(), 1);
    assert_eq!(
        g[0]["mismatch_ids"],
        serde_json::json!([]),
        "every name matches"
    );
    assert_eq!(
        g[0]["san"],
        serde_json::json!([]),
        "no SAN advice without a mismatch"
    );
    let notes: Vec<&str> = g[0]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let addr = |name: &str| -> String {
        let p = probes(&v, "tls")
            .into_iter()
            .find(|p| p["name"] == name)
            .unwrap();
        format!("{}:{}", s(p, "server"), p["port"])
    };
    let want = [
        format!(
            "the certificate at {} expired on 2021-01-01: install a renewed certificate",
            addr("expired.trust.example")
        ),
        format!(
            "the certificate at {} is valid only from 2036-01-01",
            addr("future.trust.example")
        ),
        format!(
            "the server at {} does not send its issuer CN=Probewatch Trust Intermediate CA, O=Probewatch Samples: if that is an intermediate, configure the full chain",
            addr("nochain.trust.example")
        ),
        format!(
            "the server at {} does not send its issuer O=Probewatch Samples, CN=Probewatch Other Root CA",
            addr("other.trust.example")
        ),
    ];
    assert_eq!(notes.len(), want.len(), "{notes:?}");
    for (n, w) in notes.iter().zip(&want) {
        assert!(n.starts_with(w.as_str()), "{n}\n  does not start with\n{w}");
    }
}

#[test]
fn ip_san_without_sni_matches_the_server_address() {
    let v = trust_sample(true);
    // curl https://192.0.2.36/ sends no SNI; the certificate's SAN is IP:192.0.2.36.
    let p = v.iter().find(|p| p["server"] == "192.0.2.36").unwrap();
    assert_eq!(p["cert"]["san_ip"], serde_json::json!(["192.0.2.36"]));
    assert_eq!(p["name"], "192.0.2.36");
    assert_eq!(p["name_source"], "server_address");
    assert_eq!(p["verdict"], "match");
    assert_eq!(p["reason_code"], "ip_san_match");
    assert_eq!(s(p, "outcome_code"), "data_exchanged");
}

#[test]
fn an_address_written_as_a_dns_name_never_matches() {
    let v = trust_sample(true);
    // The certificate for 192.0.2.37 carries it as DNS:192.0.2.37; curl refused it.
    let p = v.iter().find(|p| p["server"] == "192.0.2.37").unwrap();
    assert_eq!(p["cert"]["san_dns"], serde_json::json!(["192.0.2.37"]));
    assert_eq!(p["cert"]["san_ip"], serde_json::json!([]));
    assert_eq!(p["verdict"], "mismatch");
    assert_eq!(p["reason_code"], "ip_in_dns_name");
    assert!(s(p, "reason").starts_with(
        "address 192.0.2.37 is written in the certificate as a dNSName, which never matches an address"
    ));
    // curl checks the name after the handshake, then leaves.
    assert_eq!(s(p, "outcome_code"), "likely_rejected_inferred");
}

#[test]
fn an_idn_is_compared_as_a_labels_and_shown_in_both_forms() {
    let v = trust_sample(true);
    let p = v
        .iter()
        .find(|p| p["name"] == "xn--bcher-kva.trust.example")
        .unwrap();
    assert_eq!(p["name_source"], "sni");
    assert_eq!(
        p["cert"]["san_dns"],
        serde_json::json!(["xn--bcher-kva.trust.example"])
    );
    assert_eq!(p["verdict"], "match");
    assert!(s(p, "reason").ends_with("(IDN: bücher.trust.example; compared as A-labels)"));
}
