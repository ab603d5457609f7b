//! One host, not one address: samples/dual-stack.pcap and samples/behind-router.pcap
//! (make-host-samples.sh: curl -4 and -6 from one machine, and the same seen behind a
//! router).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use serde_json::{json, Value};

fn json_args(file: &str, extra: &[&str]) -> Vec<Value> {
    let f = sample(file);
    let mut args = vec!["-r", f.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    lines(&r.stdout)
}

#[test]
fn a_dual_stack_machine_is_one_host() {
    let v = json_args("dual-stack.pcap", &[]);
    let tls = probes(&v, "tls");
    // The laptop: autodiscover.example.com over IPv4, example.com over IPv6.
    let v4 = tls.iter().find(|p| p["client"] == "198.51.100.10").unwrap();
    let v6 = tls
        .iter()
        .find(|p| p["client"] == "2001:db8:1::10")
        .unwrap();
    assert_eq!(v4["name"], "autodiscover.example.com");
    assert_eq!(v6["name"], "example.com");
    // One host, listed under its IPv4 address; one group with both names.
    assert_eq!(v4["host"], "198.51.100.10");
    assert_eq!(v6["host"], "198.51.100.10");
    assert_eq!(v4["group"], v6["group"]);
    let clients = of_type(&v, "client");
    assert_eq!(clients.len(), 2, "the laptop and the second machine");
    let laptop = clients
        .iter()
        .find(|c| c["client"] == "198.51.100.10")
        .unwrap();
    assert_eq!(
        laptop["addresses"],
        json!(["198.51.100.10", "2001:db8:1::10"])
    );
    assert_eq!(laptop["mac"], "02:00:00:00:0d:10");
    // The second machine on the same link has its own MAC: its own host.
    let b = clients
        .iter()
        .find(|c| c["client"] == "198.51.100.11")
        .unwrap();
    assert_eq!(b["addresses"], json!(["198.51.100.11"]));
    assert_eq!(b["mac"], "02:00:00:00:0d:11");
    let g = of_type(&v, "group");
    let ad = g.iter().find(|g| g["id"] == v4["group"]).unwrap();
    assert_eq!(ad["client"], "198.51.100.10");
    assert_eq!(ad["pattern"], "autodiscover");
    // The table says which rule merged what.
    let f = sample("dual-stack.pcap");
    let r = run(&["-r", f.to_str().unwrap()]);
    assert!(r.stdout.lines().any(|l| l.starts_with(
        "Client 198.51.100.10 (also 2001:db8:1::10; one host: same MAC 02:00:00:00:0d:10): "
    )));
}

#[test]
fn no_merge_hosts_keeps_every_address_apart() {
    let v = json_args("dual-stack.pcap", &["--no-merge-hosts"]);
    assert_eq!(of_type(&v, "client").len(), 3);
    for p in probes(&v, "tls") {
        assert_eq!(p["host"], p["client"]);
    }
}

#[test]
fn addresses_behind_a_router_are_not_merged() {
    let v = json_args("behind-router.pcap", &[]);
    let clients = of_type(&v, "client");
    // Every client address arrives with the router's MAC; it carries two IPv4 addresses.
    assert_eq!(clients.len(), 3);
    for c in &clients {
        assert_eq!(c["mac"], "02:00:00:00:0d:01");
        assert_eq!(c["addresses"].as_array().unwrap().len(), 1);
    }
    let f = sample("behind-router.pcap");
    let r = run(&["-r", f.to_str().unwrap(), "--width", "200"]);
    assert!(r.stdout.contains(
        "MAC 02:00:00:00:0d:01 carries 3 client addresses (2 IPv4): a router or gateway, so its addresses were kept apart"
    ));
}

#[test]
fn the_mac_is_read_from_linux_cooked_v2_too() {
    // any-sll2.pcap (tcpdump -i any): the SLL2 header carries the sender's address.
    let v = json_of(&sample("any-sll2.pcap"));
    let c = of_type(&v, "client");
    assert_eq!(c[0]["client"], "198.51.100.10");
    assert_eq!(c[0]["mac"], "02:00:00:00:04:10");
}
