//! DNS messages (simple-dns). The borrowed packet view stays here; the stage hands on
//! typed, owned values ([`DnsMessage`], [`Rdata`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use simple_dns::rdata::RData;
use simple_dns::{Packet, PacketFlag};

/// A resource record type (the number on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RrType(pub u16);

impl RrType {
    pub const A: RrType = RrType(1);
    pub const CNAME: RrType = RrType(5);
    pub const AAAA: RrType = RrType(28);
    pub const SRV: RrType = RrType(33);
    pub const SVCB: RrType = RrType(64);
    pub const HTTPS: RrType = RrType(65);
}

/// A response code (the number on the wire, extended codes included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rcode(pub u16);

impl Rcode {
    pub const NOERROR: Rcode = Rcode(0);
}

/// The data of one answer record, typed for the records probewatch follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rdata {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
    Ptr(String),
    Ns(String),
    Mx(String),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    /// HTTPS (65) and SVCB (64) records.
    Svcb {
        https: bool,
        priority: u16,
        target: String,
        /// An `ech` SvcParam (key 5): an ECH configuration for the name.
        ech: bool,
    },
    /// Any other type: kept by number, its data not read.
    Other(RrType),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsAnswer {
    pub name: String,
    pub data: Rdata,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub name: String,
    pub qtype: RrType,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsMessage {
    pub id: u16,
    pub response: bool,
    pub rcode: Rcode,
    /// The TC bit: the answer did not fit (in a UDP datagram); the client asks again,
    /// over TCP.
    pub truncated: bool,
    pub questions: Vec<Question>,
    pub answers: Vec<DnsAnswer>,
}

impl DnsAnswer {
    /// The address an A/AAAA answer carries.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.data {
            Rdata::A(a) => Some(IpAddr::V4(a)),
            Rdata::Aaaa(a) => Some(IpAddr::V6(a)),
            Rdata::Cname(_)
            | Rdata::Ptr(_)
            | Rdata::Ns(_)
            | Rdata::Mx(_)
            | Rdata::Srv { .. }
            | Rdata::Svcb { .. }
            | Rdata::Other(_) => None,
        }
    }

    /// An HTTPS/SVCB answer with an `ech` parameter.
    pub fn ech(&self) -> bool {
        matches!(self.data, Rdata::Svcb { ech: true, .. })
    }

    pub fn rtype(&self) -> RrType {
        self.data.rtype()
    }
}

impl Rdata {
    pub fn rtype(&self) -> RrType {
        match self {
            Rdata::A(_) => RrType::A,
            Rdata::Aaaa(_) => RrType::AAAA,
            Rdata::Cname(_) => RrType::CNAME,
            Rdata::Ptr(_) => RrType(12),
            Rdata::Ns(_) => RrType(2),
            Rdata::Mx(_) => RrType(15),
            Rdata::Srv { .. } => RrType::SRV,
            Rdata::Svcb { https: true, .. } => RrType::HTTPS,
            Rdata::Svcb { https: false, .. } => RrType::SVCB,
            Rdata::Other(t) => *t,
        }
    }
}

fn trim_dot(mut s: String) -> String {
    if s.len() > 1 && s.ends_with('.') {
        s.pop();
    }
    s
}

/// A name as text: what `trim_dot(name.to_string())` gives (simple-dns's `Display`: the
/// labels joined by dots, a `.` or `\` inside a label escaped with a `\`, bytes that are
/// not UTF-8 replaced), written straight into one `String` instead of through the
/// formatter one character at a time; control characters written as `\xNN`.
fn name_text(n: &simple_dns::Name<'_>) -> String {
    let mut s = String::with_capacity(n.as_bytes().map(|l| l.len() + 1).sum());
    for (i, label) in n.as_bytes().enumerate() {
        if i > 0 {
            s.push('.');
        }
        let plain =
            |b: u8| b.is_ascii() && !b.is_ascii_control() && b != b'.' && b != b'\\' && b != b' ';
        match std::str::from_utf8(label) {
            Ok(t) if t.bytes().all(plain) => s.push_str(t),
            _ => {
                for c in String::from_utf8_lossy(label).chars() {
                    match c {
                        '.' => s.push_str("\\."),
                        '\\' => s.push_str("\\\\"),
                        // A control byte (a newline, ESC) or a space as `\xNN`, as the SNI's
                        // are: a name from the wire can neither forge a line or a -q field
                        // nor drive a terminal.
                        c if c.is_control() || c == ' ' => {
                            let mut buf = [0u8; 4];
                            for b in c.encode_utf8(&mut buf).bytes() {
                                s.push_str(&format!("\\x{b:02x}"));
                            }
                        }
                        _ => s.push(c),
                    }
                }
            }
        }
    }
    trim_dot(s)
}

/// Parses one DNS message; `None` when the bytes are not a readable DNS message.
pub fn parse(bytes: &[u8]) -> Option<DnsMessage> {
    let p = Packet::parse(bytes).ok()?;
    // The header's 4-bit code as sent (simple-dns folds unknown codes into one value); the
    // OPT record's extended code only for BADVERS, the one extended code it reads.
    let rcode = match p.rcode() {
        simple_dns::RCODE::BADVERS => Rcode(16),
        _ => Rcode(u16::from(*bytes.get(3)? & 0x0f)),
    };
    let questions = p
        .questions
        .iter()
        .map(|q| Question {
            name: name_text(&q.qname),
            qtype: qtype(&q.qtype),
        })
        .collect();
    let answers = p
        .answers
        .iter()
        .map(|rr| DnsAnswer {
            name: name_text(&rr.name),
            data: rdata(&rr.rdata),
        })
        .collect();
    Some(DnsMessage {
        id: p.id(),
        response: p.has_flags(PacketFlag::RESPONSE),
        rcode,
        truncated: p.has_flags(PacketFlag::TRUNCATION),
        questions,
        answers,
    })
}

fn qtype(q: &simple_dns::QTYPE) -> RrType {
    match q {
        simple_dns::QTYPE::TYPE(t) => RrType((*t).into()),
        simple_dns::QTYPE::IXFR => RrType(251),
        simple_dns::QTYPE::AXFR => RrType(252),
        simple_dns::QTYPE::MAILB => RrType(253),
        simple_dns::QTYPE::MAILA => RrType(254),
        simple_dns::QTYPE::ANY => RrType(255),
    }
}

/// The typed data of one record; an HTTPS/SVCB record notes its `ech` SvcParam (key 5).
fn rdata(r: &RData<'_>) -> Rdata {
    match r {
        RData::A(a) => Rdata::A(Ipv4Addr::from(a.address)),
        RData::AAAA(a) => Rdata::Aaaa(Ipv6Addr::from(a.address)),
        RData::CNAME(c) => Rdata::Cname(name_text(&c.0)),
        RData::PTR(c) => Rdata::Ptr(name_text(&c.0)),
        RData::NS(c) => Rdata::Ns(name_text(&c.0)),
        RData::MX(m) => Rdata::Mx(name_text(&m.exchange)),
        RData::SRV(s) => Rdata::Srv {
            priority: s.priority,
            weight: s.weight,
            port: s.port,
            target: name_text(&s.target),
        },
        RData::HTTPS(h) => Rdata::Svcb {
            https: true,
            priority: h.0.priority,
            target: name_text(&h.0.target),
            ech: h.0.get_param(5).is_some(),
        },
        RData::SVCB(h) => Rdata::Svcb {
            https: false,
            priority: h.priority,
            target: name_text(&h.target),
            ech: h.get_param(5).is_some(),
        },
        other => Rdata::Other(RrType(other.type_code().into())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use simple_dns::{Label, Name};

    /// The names written without the formatter are those simple-dns's `Display` gives
    /// (trimmed of a final dot), escapes and bytes that are not UTF-8 included.
    #[test]
    fn dns_names_written_directly_equal_their_display() {
        let labels: [&[u8]; 9] = [
            b"www",
            b"example",
            b"com",
            b"a.b",
            b"back\\slash",
            b"\xff\xfeodd",
            "caf\u{e9}".as_bytes(),
            b"end.",
            b"x",
        ];
        let mut names: Vec<Vec<&[u8]>> = vec![vec![], vec![&b"."[..]], vec![&b"end."[..]]];
        for a in labels {
            for b in labels {
                names.push(vec![a, b]);
                names.push(vec![b, a, &b"com"[..]]);
            }
            names.push(vec![a]);
        }
        for ls in names {
            let labels: Vec<Label<'_>> = ls.iter().map(|l| Label::new_unchecked(*l)).collect();
            let n = Name::new_with_labels(&labels);
            assert_eq!(name_text(&n), trim_dot(n.to_string()), "{ls:?}");
        }
        let n = Name::new("mail.example.org.").unwrap();
        assert_eq!(name_text(&n), trim_dot(n.to_string()));
    }

    /// A DNS name's control bytes went to the table and `-q` as they were: a newline in a
    /// label forged a whole `-q` line, an ESC drove the terminal (black-box finding).
    /// They are written `\xNN`, as the SNI's are.
    #[test]
    fn control_bytes_of_a_dns_name_are_escaped() {
        let labels: Vec<Label<'_>> = [&b"a\nb"[..], b"\x1b[31m", "\u{85}x".as_bytes(), b"c m"]
            .iter()
            .map(|l| Label::new_unchecked(*l))
            .collect();
        let n = Name::new_with_labels(&labels);
        assert_eq!(name_text(&n), "a\\x0ab.\\x1b[31m.\\xc2\\x85x.c\\x20m");
    }
}
