//! Every JSON line of every bundled sample validates against docs/probewatch.schema.json,
//! and a key has one type across line types (`null` aside).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn samples() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("samples"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    v.sort();
    v
}

fn lines(sample: &str) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_probewatch"))
        .current_dir(root())
        .args(["-r", &format!("samples/{sample}"), "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[test]
fn every_sample_line_validates_against_the_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/probewatch.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is valid");
    let mut types: HashMap<String, (String, String)> = HashMap::new();
    let mut seen = 0;
    for sample in samples() {
        for line in lines(&sample) {
            seen += 1;
            let errors: Vec<String> = validator
                .iter_errors(&line)
                .map(|e| format!("{e} at {}", e.instance_path))
                .collect();
            assert!(errors.is_empty(), "{sample}: {line}\n{errors:#?}");
            assert_eq!(line["schema"], 2, "{sample}: {line}");
            let lt = line["type"].as_str().unwrap().to_string();
            for (k, v) in line.as_object().unwrap() {
                if v.is_null() {
                    continue;
                }
                let t = kind(v).to_string();
                match types.get(k) {
                    Some((t0, lt0)) => assert_eq!(
                        *t0, t,
                        "{k} is a {t0} on {lt0} lines and a {t} on {lt} lines"
                    ),
                    None => {
                        types.insert(k.clone(), (t, lt.clone()));
                    }
                }
            }
        }
    }
    assert!(seen > 100, "{seen} lines");
}

/// The schema rejects what it should: a wrong type, an unknown key, a bad verdict.
#[test]
fn the_schema_rejects_a_changed_line() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/probewatch.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let line = lines("mail-fanout.pcap").remove(0);
    assert!(validator.is_valid(&line));
    for (k, v) in [
        ("verdict", Value::from("maybe")),
        ("port", Value::from("443")),
        ("unknown_key", Value::from(1)),
        ("community_id", Value::from("2:abc")),
    ] {
        let mut bad = line.clone();
        bad[k] = v;
        assert!(!validator.is_valid(&bad), "{k} accepted");
    }
}
