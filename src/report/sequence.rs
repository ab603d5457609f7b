//! The sequence diagrams of `--format mermaid` and `--format html`: one per attempt group
//! (and one per client for the probes in no group): the client, the DNS servers it asked
//! and each server it tried, with one arrow per attempt in time order, the name asked, the
//! answer or certificate, the verdict and the pattern's step as notes. Built once here
//! from the typed values; [`super::mermaid`] writes it as Mermaid text and
//! [`super::html`] draws it as SVG.

use std::collections::HashMap;
use std::net::IpAddr;

use super::text;
use crate::correlate::groups::{CertBrief, Group, Member, MemberVersion};
use crate::correlate::{Probe, Proto, Report, Verdict};

/// A lifeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// A short identifier (`C`, `D1`, `S2`).
    pub id: String,
    /// What it is labelled with (text from the capture).
    pub label: String,
}

/// One item of a diagram, in time order.
#[derive(Clone, Debug)]
pub enum Item {
    /// An arrow: a request (`reply == false`) or an answer.
    Arrow {
        from: usize,
        to: usize,
        text: String,
        reply: bool,
        /// A failed answer (no answer, refused, mismatch): drawn crossed.
        failed: bool,
    },
    /// A note over one actor or spanning two.
    Note {
        from: usize,
        to: usize,
        text: String,
        verdict: Option<Verdict>,
    },
}

/// One diagram.
#[derive(Clone, Debug)]
pub struct Diagram {
    pub title: String,
    pub client: IpAddr,
    pub group: Option<u64>,
    pub actors: Vec<Actor>,
    pub items: Vec<Item>,
}

/// One attempt, from a group member or a probe in no group.
struct Attempt {
    id: u64,
    proto: Proto,
    what: String,
    name: Option<String>,
    server: IpAddr,
    port: u16,
    cert: Option<String>,
    verdict: Option<Verdict>,
    reason: Option<String>,
    outcome: String,
    failed: bool,
    step: Option<String>,
    then: Option<String>,
}

fn cert_text(c: &CertBrief) -> String {
    let mut s = if c.names.is_empty() {
        match &c.subject_cn {
            Some(cn) => format!("CN={cn} (no SAN)"),
            None => "(no names)".into(),
        }
    } else {
        c.names.join(", ")
    };
    if c.self_signed {
        s.push_str(" [self-signed]");
    }
    s
}

fn member_what(m: &Member) -> String {
    let version = m.version.map(|v| match v {
        MemberVersion::Tls(v) => text::tls_version(v),
        MemberVersion::Quic(v) => text::quic_version(v),
    });
    match m.proto {
        Proto::Dns => format!("DNS {}", text::qtype(m.dns_qtype)),
        Proto::Http => format!("HTTP {}", m.http_method.as_deref().unwrap_or("")),
        Proto::Tls => match &version {
            Some(v) => format!("TLS {}", v.trim_start_matches("TLS ")),
            None => "TLS".into(),
        },
        Proto::Quic => format!("QUIC {}", version.as_deref().unwrap_or("")),
    }
}

fn from_member(m: &Member, probe: Option<&Probe>) -> Attempt {
    let failed = probe.map_or(m.verdict == Some(Verdict::Mismatch), |p| {
        text::ecs_outcome(p) == "failure"
    });
    Attempt {
        id: m.probe,
        proto: m.proto,
        what: member_what(m),
        name: m.name.clone(),
        server: m.server,
        port: m.port,
        cert: match (&m.cert, m.proto) {
            (Some(c), _) => Some(cert_text(c)),
            (None, Proto::Quic) => Some(text::CERT_ENCRYPTED.into()),
            (None, Proto::Tls) => Some(text::CERT_NOT_SEEN.into()),
            (None, Proto::Dns | Proto::Http) => None,
        },
        verdict: m.verdict,
        reason: probe.and_then(text::reason),
        outcome: text::outcome_of(&m.outcome, m.dns.as_ref(), m.quic.as_deref()),
        failed,
        step: m.step.as_ref().map(text::step),
        then: m.moved_on.as_ref().map(|n| {
            let redirected = m.http_status.is_some_and(|s| (300..400).contains(&s));
            text::moved_on(n, redirected)
        }),
    }
}

fn from_probe(p: &Probe) -> Attempt {
    Attempt {
        id: p.id,
        proto: p.proto(),
        what: super::table::what(p),
        name: p.name.clone(),
        server: p.server,
        port: p.port,
        cert: match p.proto() {
            Proto::Tls | Proto::Quic => Some(super::table::cert_cell(p)),
            Proto::Dns | Proto::Http => None,
        },
        verdict: p.verdict,
        reason: text::reason(p),
        outcome: text::outcome(p),
        failed: text::ecs_outcome(p) == "failure",
        step: None,
        then: None,
    }
}

struct Builder {
    actors: Vec<Actor>,
    items: Vec<Item>,
    dns: usize,
    servers: usize,
}

impl Builder {
    fn new(client: IpAddr) -> Self {
        Builder {
            actors: vec![Actor {
                id: "C".into(),
                label: text::client_label(client),
            }],
            items: Vec::new(),
            dns: 0,
            servers: 0,
        }
    }

    fn actor(&mut self, label: String, dns: bool) -> usize {
        if let Some(i) = self.actors.iter().position(|a| a.label == label) {
            return i;
        }
        let id = if dns {
            self.dns += 1;
            format!("D{}", self.dns)
        } else {
            self.servers += 1;
            format!("S{}", self.servers)
        };
        self.actors.push(Actor { id, label });
        self.actors.len() - 1
    }

    fn attempt(&mut self, a: Attempt) {
        let endpoint = super::table::endpoint(&a.server, a.port);
        let name = a.name.as_deref().unwrap_or(text::NO_NAME);
        let to = match a.proto {
            Proto::Dns => self.actor(text::dns_server_label(&endpoint), true),
            Proto::Tls | Proto::Quic | Proto::Http => {
                self.actor(text::server_label(a.name.as_deref(), &endpoint), false)
            }
        };
        if let Some(step) = a.step {
            self.items.push(Item::Note {
                from: 0,
                to,
                text: step,
                verdict: None,
            });
        }
        self.items.push(Item::Arrow {
            from: 0,
            to,
            text: format!("#{} {} {name}", a.id, a.what),
            reply: false,
            failed: false,
        });
        let answer = match &a.cert {
            Some(c) => text::certificate_shown(c),
            None => a.outcome.clone(),
        };
        self.items.push(Item::Arrow {
            from: to,
            to: 0,
            text: answer,
            reply: true,
            failed: a.failed,
        });
        if let Some(v) = a.verdict {
            let mut t = text::verdict(v).to_string();
            if let Some(r) = &a.reason {
                t = format!("{t}: {r}");
            }
            self.items.push(Item::Note {
                from: to,
                to,
                text: t,
                verdict: Some(v),
            });
        }
        if a.cert.is_some() && !a.outcome.is_empty() {
            self.items.push(Item::Note {
                from: to,
                to,
                text: text::outcome_note(&a.outcome),
                verdict: None,
            });
        }
        if let Some(t) = a.then {
            self.items.push(Item::Note {
                from: 0,
                to: 0,
                text: t,
                verdict: None,
            });
        }
    }
}

/// The diagram of an attempt group; `probes` gives each member's probe when the capture
/// file's probes are at hand (for the verdict's reason).
pub fn group_diagram(g: &Group, probes: &HashMap<u64, &Probe>) -> Diagram {
    let mut b = Builder::new(g.client);
    for m in &g.members {
        b.attempt(from_member(m, probes.get(&m.probe).copied()));
    }
    if g.members_dropped > 0 {
        b.items.push(Item::Note {
            from: 0,
            to: 0,
            text: text::members_not_listed(g.members_dropped),
            verdict: None,
        });
    }
    Diagram {
        title: text::group_title(g.id, &g.domain, g.pattern),
        client: g.client,
        group: Some(g.id),
        actors: b.actors,
        items: b.items,
    }
}

/// Every diagram of a report: the groups in the order they started, then per client
/// (in the report's order) the probes that are in no group.
pub fn diagrams(report: &Report) -> Vec<Diagram> {
    let by_id: HashMap<u64, &Probe> = report.probes.iter().map(|p| (p.id, p)).collect();
    let mut out: Vec<Diagram> = report
        .groups
        .iter()
        .map(|g| group_diagram(g, &by_id))
        .collect();
    let mut loose: HashMap<IpAddr, Vec<&Probe>> = HashMap::new();
    for p in report.probes.iter().filter(|p| p.group.is_none()) {
        loose.entry(p.client).or_default().push(p);
    }
    for c in &report.clients {
        let Some(probes) = loose.remove(&c.client) else {
            continue;
        };
        let mut b = Builder::new(c.client);
        for p in probes {
            b.attempt(from_probe(p));
        }
        out.push(Diagram {
            title: text::ungrouped_title(c.client),
            client: c.client,
            group: None,
            actors: b.actors,
            items: b.items,
        });
    }
    out
}
