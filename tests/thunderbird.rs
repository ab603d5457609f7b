//! Thunderbird's autoconfig order, on samples/thunderbird-autoconfig.pcap (made by
//! samples/make-thunderbird-samples.sh: curl, dig and openssl s_client replaying
//! Thunderbird's lookups against dnsmasq, nginx and openssl s_server).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::Value;

fn json() -> Vec<Value> {
    let pcap = sample("thunderbird-autoconfig.pcap");
    let ca = sample("thunderbird-ca.pem");
    let r = run(&[
        "-r",
        pcap.to_str().unwrap(),
        "--ca-file",
        ca.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    lines(&r.stdout)
}

fn group<'a>(v: &'a [Value], domain: &str) -> &'a Value {
    let g: Vec<&Value> = of_type(v, "group")
        .into_iter()
        .filter(|g| g["domain"] == domain)
        .collect();
    assert_eq!(g.len(), 1, "one group for {domain}");
    g[0]
}

fn members(g: &Value) -> &Vec<Value> {
    g["members"].as_array().unwrap()
}

/// The members of a group with this step code.
fn with_step<'a>(g: &'a Value, code: &str) -> Vec<&'a Value> {
    members(g)
        .iter()
        .filter(|m| m["step_code"] == code)
        .collect()
}

fn probe<'a>(v: &'a [Value], id: &Value) -> &'a Value {
    of_type(v, "probe")
        .into_iter()
        .find(|p| p["id"] == *id)
        .unwrap()
}

#[test]
fn isp_lookups_have_thunderbirds_priority_ranks() {
    let v = json();
    let g = group(&v, "example.org");
    assert_eq!(g["pattern"], "autoconfig");
    let one = with_step(g, "autoconfig_host_https");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["name"], "autoconfig.example.org");
    assert_eq!(one[0]["step_rank"], 1);
    assert!(s(one[0], "step").starts_with(
        "Thunderbird's priority 1 of 9: https://autoconfig.example.org/mail/config-v1.1.xml (inferred from the name"
    ));
    let two = with_step(g, "autoconfig_well_known_https");
    assert_eq!(two.len(), 1);
    assert_eq!(two[0]["name"], "example.org");
    assert_eq!(two[0]["step_rank"], 2);
    let four = with_step(g, "autoconfig_well_known_http");
    assert_eq!(four.len(), 1);
    assert_eq!(four[0]["step_rank"], 4);
    assert_eq!(
        s(four[0], "step"),
        "Thunderbird's priority 4 of 9: http://example.org/.well-known/autoconfig/mail/config-v1.1.xml"
    );
    // Outcomes: nothing listens at autoconfig.example.org; example.org is the web site,
    // whose certificate names only www.example.org; the plain-HTTP well-known is a 404.
    assert_eq!(probe(&v, &one[0]["probe"])["outcome_code"], "refused");
    let web = probe(&v, &two[0]["probe"]);
    assert_eq!(web["verdict"], "mismatch");
    assert_eq!(probe(&v, &four[0]["probe"])["http"]["status"], 404);
    // The fix for the mismatch: one certificate for the domain's two HTTPS names.
    let mut san: Vec<&str> = g["san"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    san.sort_unstable();
    assert_eq!(san, ["autoconfig.example.org", "example.org"]);
}

#[test]
fn wire_order_is_not_priority_order_and_the_group_says_so() {
    let v = json();
    let g = group(&v, "example.org");
    let order = &g["priority_order"];
    let mut wire: Vec<u64> = order["wire"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_u64().unwrap())
        .collect();
    let ranks: Vec<u64> = order["by_rank"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rank"].as_u64().unwrap())
        .collect();
    // Every rank of the members, in the order the probes came.
    let seen: Vec<u64> = members(g)
        .iter()
        .filter_map(|m| m["step_rank"].as_u64())
        .collect();
    assert_eq!(wire, seen);
    wire.sort_unstable();
    wire.dedup();
    assert_eq!(wire, ranks);
    assert_eq!(
        ranks,
        [1, 2, 4, 5, 6, 7, 8],
        "step 3's host refuses port 80: no probe"
    );
    assert!(s(g, "explanation").contains("so the order on the wire is not the order of priority"));
    // No "moved on" story for lookups that run side by side.
    assert!(members(g).iter().all(|m| m["moved_on"].is_null()));
    let table = run(&[
        "-r",
        sample("thunderbird-autoconfig.pcap").to_str().unwrap(),
        "--width",
        "300",
    ]);
    assert!(table
        .stdout
        .contains("Steps seen, by Thunderbird's priority: 1 #"));
    assert!(table
        .stdout
        .contains("(the lookups run in parallel, so wire order is not priority order)"));
}

#[test]
fn ispdb_request_is_tied_to_the_mail_domain_by_timing_and_marked_inferred() {
    let v = json();
    // No group of its own for the ISPDB's domain.
    assert!(of_type(&v, "group")
        .iter()
        .all(|g| g["domain"] != "thunderbird.net"));
    let g = group(&v, "example.org");
    let ispdb = with_step(g, "autoconfig_ispdb");
    assert_eq!(ispdb.len(), 1);
    let m = ispdb[0];
    assert_eq!(m["name"], "autoconfig.thunderbird.net");
    assert_eq!(m["step_rank"], 5);
    let tied = &m["tied_to"];
    let to = members(g)
        .iter()
        .find(|x| x["probe"] == tied["probe"])
        .unwrap();
    // An autoconfig probe of the mail domain: autoconfig.example.org (or its DNS
    // queries), or the well-known path over plain HTTP.
    assert!(
        s(to, "name") == "autoconfig.example.org"
            || to["step_code"] == "autoconfig_well_known_http",
        "{to}"
    );
    assert!(tied["after_secs"].as_f64().unwrap() < 1.0);
    let step = s(m, "step");
    assert!(step.contains("https://autoconfig.thunderbird.net/v1.1/example.org (inferred: the domain is in the encrypted path; for example.org, because no MX answer came before it; tied to this group by timing: the same client,"), "{step}");
    // Its certificate is the ISPDB's own (the stand-in's, from the sample CA).
    assert_eq!(probe(&v, &m["probe"])["verdict"], "match");
    // The other account's ISPDB request went to its own group.
    let other = with_step(group(&v, "example.com"), "autoconfig_ispdb");
    assert_eq!(other.len(), 1);
    assert!(s(other[0], "step").contains("/v1.1/example.com (inferred"));
}

#[test]
fn mx_answer_links_the_mx_hosts_domain_visibly() {
    let v = json();
    let g = group(&v, "example.org");
    let mx = with_step(g, "autoconfig_mx_lookup");
    assert_eq!(mx.len(), 1);
    assert_eq!(mx[0]["step_rank"], 6);
    let mx_id = &mx[0]["probe"];
    let answers = &probe(&v, mx_id)["dns"]["answers"];
    assert!(
        answers.to_string().contains("mx1.mail.example.net"),
        "{answers}"
    );
    // Both domains Thunderbird derives from mx1.mail.example.net, from the MX answer (not
    // inferred: the answer is in the capture).
    for name in ["autoconfig.mail.example.net", "autoconfig.example.net"] {
        let ms: Vec<&Value> = members(g).iter().filter(|m| m["name"] == name).collect();
        assert!(!ms.is_empty(), "{name}");
        for m in ms {
            assert_eq!(m["origin"], "mx", "{m}");
            assert_eq!(m["origin_probe"], *mx_id);
            assert!(m["tied_to"].is_null());
        }
    }
    let seven = with_step(g, "autoconfig_mx_host");
    assert_eq!(seven.len(), 1, "autoconfig.mail.example.net does not exist");
    assert_eq!(seven[0]["name"], "autoconfig.example.net");
    assert_eq!(seven[0]["step_rank"], 7);
    assert_eq!(probe(&v, &seven[0]["probe"])["verdict"], "match");
    // The ISPDB requests opened after the MX answer are the MX step's (priority 8).
    let eight = with_step(g, "autoconfig_mx_ispdb");
    assert_eq!(eight.len(), 2);
    for m in eight {
        assert_eq!(m["step_rank"], 8);
        let step = s(m, "step");
        assert!(step.contains("/v1.1/mail.example.net or example.net (inferred: the domain is in the encrypted path; for the MX host's domain, because it was opened after the MX answer #"), "{step}");
    }
}

#[test]
fn guesses_come_after_every_lookup_failed_with_their_rank() {
    let v = json();
    let g = group(&v, "example.com");
    // The MX host is in example.com itself: Thunderbird takes no MX step.
    assert_eq!(with_step(g, "autoconfig_mx_lookup").len(), 1);
    assert!(with_step(g, "autoconfig_mx_host").is_empty());
    assert!(with_step(g, "autoconfig_mx_ispdb").is_empty());
    let guesses = with_step(g, "autoconfig_guess");
    assert_eq!(guesses.len(), 7);
    let find = |name: &str, port: u64| {
        *guesses
            .iter()
            .find(|m| m["name"] == name && probe(&v, &m["probe"])["port"] == port)
            .unwrap_or_else(|| panic!("{name}:{port}"))
    };
    for (name, port, rank) in [
        ("imap.example.com", 993, "(incoming guess 1 of 14)"),
        ("mail.example.com", 993, "(incoming guess 2 of 14)"),
        ("example.com", 993, "(incoming guess 3 of 14)"),
        ("mail.example.com", 995, "(incoming guess 9 of 14)"),
        ("smtp.example.com", 465, "(outgoing guess 1 of 9)"),
        ("mail.example.com", 465, "(outgoing guess 2 of 9)"),
        ("example.com", 465, "(outgoing guess 3 of 9)"),
    ] {
        let m = find(name, port);
        assert_eq!(m["step_rank"], 9);
        assert!(s(m, "step").ends_with(rank), "{m}");
    }
    // Two guessed servers answer; the others refuse.
    assert_eq!(
        probe(&v, &find("mail.example.com", 993)["probe"])["outcome_code"],
        "data_exchanged"
    );
    assert_eq!(
        probe(&v, &find("smtp.example.com", 465)["probe"])["outcome_code"],
        "data_exchanged"
    );
    assert_eq!(
        probe(&v, &find("imap.example.com", 993)["probe"])["outcome_code"],
        "refused"
    );
    // Every guess came after the group's last ISPDB and MX lookups.
    let last_lookup = members(g)
        .iter()
        .filter(|m| matches!(m["step_rank"].as_u64(), Some(1..=8)))
        .map(|m| m["probe"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(guesses
        .iter()
        .all(|m| m["probe"].as_u64().unwrap() > last_lookup));
}
