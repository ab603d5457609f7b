//! DNS messages (simple-dns). The borrowed packet view stays here.

use std::net::IpAddr;

use serde::Serialize;
use simple_dns::rdata::RData;
use simple_dns::{Packet, PacketFlag};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DnsAnswer {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub data: String,
    /// An HTTPS/SVCB answer with an `ech` parameter (an ECH configuration for the name).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ech: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsMessage {
    pub id: u16,
    pub response: bool,
    pub rcode: String,
    /// (name, type) of each question.
    pub questions: Vec<(String, String)>,
    pub answers: Vec<DnsAnswer>,
}

impl DnsAnswer {
    /// The address an A/AAAA answer carries.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.rtype.as_str() {
            "A" | "AAAA" => self.data.parse().ok(),
            _ => None,
        }
    }
}

fn trim_dot(s: String) -> String {
    match s.strip_suffix('.') {
        Some(t) if !t.is_empty() => t.to_string(),
        _ => s,
    }
}

/// Parses one DNS message; `None` when the bytes are not a readable DNS message.
pub fn parse(bytes: &[u8]) -> Option<DnsMessage> {
    let p = Packet::parse(bytes).ok()?;
    let questions = p
        .questions
        .iter()
        .map(|q| (trim_dot(q.qname.to_string()), qtype_name(&q.qtype)))
        .collect();
    let answers = p
        .answers
        .iter()
        .map(|rr| {
            let (rtype, data) = rdata(&rr.rdata);
            DnsAnswer {
                name: trim_dot(rr.name.to_string()),
                rtype,
                data,
                ech: has_ech(&rr.rdata),
            }
        })
        .collect();
    Some(DnsMessage {
        id: p.id(),
        response: p.has_flags(PacketFlag::RESPONSE),
        rcode: format!("{:?}", p.rcode()).to_ascii_uppercase(),
        questions,
        answers,
    })
}

fn qtype_name(q: &simple_dns::QTYPE) -> String {
    match q {
        simple_dns::QTYPE::TYPE(t) => type_name(*t),
        other => format!("{other:?}"),
    }
}

fn type_name(t: simple_dns::TYPE) -> String {
    let n: u16 = t.into();
    match n {
        1 => "A".into(),
        2 => "NS".into(),
        5 => "CNAME".into(),
        6 => "SOA".into(),
        12 => "PTR".into(),
        15 => "MX".into(),
        16 => "TXT".into(),
        28 => "AAAA".into(),
        33 => "SRV".into(),
        64 => "SVCB".into(),
        65 => "HTTPS".into(),
        255 => "ANY".into(),
        other => format!("TYPE{other}"),
    }
}

/// An HTTPS (65) or SVCB (64) record that carries an `ech` SvcParam (key 5).
fn has_ech(r: &RData<'_>) -> bool {
    match r {
        RData::HTTPS(h) => h.0.get_param(5).is_some(),
        RData::SVCB(h) => h.get_param(5).is_some(),
        _ => false,
    }
}

fn rdata(r: &RData<'_>) -> (String, String) {
    match r {
        RData::A(a) => ("A".into(), std::net::Ipv4Addr::from(a.address).to_string()),
        RData::AAAA(a) => (
            "AAAA".into(),
            std::net::Ipv6Addr::from(a.address).to_string(),
        ),
        RData::CNAME(c) => ("CNAME".into(), trim_dot(c.0.to_string())),
        RData::PTR(c) => ("PTR".into(), trim_dot(c.0.to_string())),
        RData::NS(c) => ("NS".into(), trim_dot(c.0.to_string())),
        RData::MX(m) => ("MX".into(), trim_dot(m.exchange.to_string())),
        RData::SRV(s) => (
            "SRV".into(),
            format!(
                "{} {} {} {}",
                s.priority,
                s.weight,
                s.port,
                trim_dot(s.target.to_string())
            ),
        ),
        RData::HTTPS(h) => (
            "HTTPS".into(),
            format!("{} {}", h.0.priority, trim_dot(h.0.target.to_string())),
        ),
        RData::SVCB(h) => (
            "SVCB".into(),
            format!("{} {}", h.priority, trim_dot(h.target.to_string())),
        ),
        other => (type_name(other.type_code()), String::new()),
    }
}
