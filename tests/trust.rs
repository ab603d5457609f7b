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
            "O=Probewatch Samples, CN=Probewatch Outcome Root CA"
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
