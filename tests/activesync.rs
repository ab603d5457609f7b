//! Exchange ActiveSync, on samples/activesync.pcap (made by
//! samples/make-activesync-samples.sh: curl sending an EAS client's requests to dnsmasq and
//! nginx): Autodiscover, then OPTIONS and POST ?Cmd=… on /Microsoft-Server-ActiveSync.
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
    let pcap = sample("activesync.pcap");
    let ca = sample("activesync-ca.pem");
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

fn probe<'a>(v: &'a [Value], id: &Value) -> &'a Value {
    of_type(v, "probe")
        .into_iter()
        .find(|p| p["id"] == *id)
        .unwrap()
}

#[test]
fn activesync_is_recognised_from_its_path_with_its_autodiscover_steps() {
    let v = json();
    let groups = of_type(&v, "group");
    assert_eq!(groups.len(), 1);
    let g = groups[0];
    assert_eq!(g["domain"], "fabrikam.example");
    assert_eq!(g["pattern"], "activesync");
    assert_eq!(g["pattern_label"], "Exchange ActiveSync");
    let m: Vec<&Value> = g["members"].as_array().unwrap().iter().collect();
    let codes: Vec<&str> = m.iter().filter_map(|x| x["step_code"].as_str()).collect();
    assert_eq!(
        codes,
        [
            "autodiscover_root",
            "autodiscover_host",
            "autodiscover_redirect_method",
            "via_redirect",
            "activesync_options",
            "activesync_command",
            "activesync_command"
        ]
    );
    let by = |code: &str| -> Vec<&Value> {
        m.iter()
            .copied()
            .filter(|x| x["step_code"] == code)
            .collect()
    };
    // Autodiscover: the web site's certificate, a refused port, the redirect, followed.
    assert_eq!(
        probe(&v, &by("autodiscover_root")[0]["probe"])["verdict"],
        "mismatch"
    );
    assert_eq!(
        probe(&v, &by("autodiscover_host")[0]["probe"])["outcome_code"],
        "refused"
    );
    let redirect = probe(&v, &by("autodiscover_redirect_method")[0]["probe"]);
    assert_eq!(redirect["http"]["status"], 302);
    let followed = by("via_redirect")[0];
    assert_eq!(followed["name"], "mail.fabrikam.example");
    assert_eq!(probe(&v, &followed["probe"])["verdict"], "match");
    // ActiveSync itself, in plain HTTP.
    let options = by("activesync_options")[0];
    let p = probe(&v, &options["probe"]);
    assert_eq!(p["http"]["method"], "OPTIONS");
    assert_eq!(p["http"]["status"], 200);
    assert_eq!(
        s(options, "step"),
        "ActiveSync: OPTIONS http://mail.fabrikam.example/Microsoft-Server-ActiveSync (which protocol versions and commands the server offers)"
    );
    let cmds: Vec<&str> = by("activesync_command")
        .iter()
        .map(|x| s(x, "step"))
        .collect();
    assert_eq!(
        cmds,
        [
            "ActiveSync command Provision to http://mail.fabrikam.example/Microsoft-Server-ActiveSync (device type iPhone)",
            "ActiveSync command FolderSync to http://mail.fabrikam.example/Microsoft-Server-ActiveSync (device type iPhone)"
        ]
    );
}

#[test]
fn a_name_alone_says_nothing_about_activesync() {
    let v = json();
    let g = of_type(&v, "group")[0];
    let eas: Vec<&Value> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["name"] == "eas.fabrikam.example" && x["proto"] == "tls")
        .collect();
    assert_eq!(eas.len(), 1);
    assert!(eas[0]["step"].is_null(), "{}", eas[0]);
}

#[test]
fn root_domain_advice_for_phones_names_no_outlook_policy() {
    let v = json();
    let g = of_type(&v, "group")[0];
    // The SAN list covers the web site's name; ExcludeHttpsRootDomain is Outlook's.
    assert!(g["san"]
        .as_array()
        .unwrap()
        .contains(&Value::from("fabrikam.example")));
    let codes = g["note_codes"].as_array().unwrap();
    assert!(
        !codes.contains(&Value::from("autodiscover_root_domain_step")),
        "{codes:?}"
    );
}
