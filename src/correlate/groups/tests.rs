#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::*;
use crate::correlate::{DnsDetails, HttpDetails};
use crate::parse::{DnsAnswer, Rcode, Rdata};
use std::net::SocketAddr;

fn at(ms: i64) -> Timestamp {
    Timestamp::new(1_000 + ms / 1000, ((ms % 1000) * 1_000_000) as u32)
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn tls(id: u64, ms: i64, name: &str, server: &str, v: Verdict) -> Probe {
    Probe {
        id,
        name: Some(name.into()),
        verdict: Some(v),
        ..Probe::new(
            at(ms),
            sa("198.51.100.10:40000"),
            sa(server),
            ProbeKind::Tls(Box::default()),
            Outcome::ConnectionClosed,
        )
    }
}

fn dns(id: u64, ms: i64, name: &str, qtype: &str, answers: &[(&str, &str)]) -> Probe {
    Probe {
        id,
        name: Some(name.into()),
        ..Probe::new(
            at(ms),
            sa("198.51.100.10:50000"),
            sa("192.0.2.53:53"),
            ProbeKind::Dns(DnsDetails {
                truncated: false,
                qtype: Some(match qtype {
                    "A" => RrType::A,
                    "SRV" => RrType::SRV,
                    "CNAME" => RrType::CNAME,
                    other => panic!("qtype {other}"),
                }),
                rcode: Some(Rcode::NOERROR),
                answers: answers
                    .iter()
                    .map(|(t, d)| DnsAnswer {
                        name: name.into(),
                        data: rdata(t, d),
                    })
                    .collect(),
            }),
            Outcome::DnsAnswered {
                query_captured: true,
            },
        )
    }
}

/// An answer's data as `dig` writes it.
fn rdata(t: &str, d: &str) -> Rdata {
    match t {
        "A" => Rdata::A(d.parse().unwrap()),
        "CNAME" => Rdata::Cname(d.into()),
        "SRV" => {
            let f: Vec<&str> = d.split_whitespace().collect();
            Rdata::Srv {
                priority: f[0].parse().unwrap(),
                weight: f[1].parse().unwrap(),
                port: f[2].parse().unwrap(),
                target: f[3].into(),
            }
        }
        other => panic!("type {other}"),
    }
}

fn http(id: u64, ms: i64, name: &str, server: &str, status: u16, loc: Option<&str>) -> Probe {
    Probe {
        id,
        name: Some(name.into()),
        ..Probe::new(
            at(ms),
            sa("198.51.100.10:40001"),
            sa(server),
            ProbeKind::Http(HttpDetails {
                method: "GET".into(),
                path: "/autodiscover/autodiscover.xml".into(),
                host: Some(name.into()),
                status: Some(status),
                location: loc.map(str::to_string),
                request_cut: None,
            }),
            Outcome::HttpResponse {
                status,
                location: loc.map(str::to_string),
                head_cut: None,
            },
        )
    }
}

#[test]
fn registrable_domains_come_from_the_public_suffix_list() {
    assert_eq!(registrable("autodiscover.example.com"), "example.com");
    assert_eq!(registrable("www.example.co.uk"), "example.co.uk");
    assert_eq!(registrable("_autodiscover._tcp.example.com"), "example.com");
    // As trim_start_matches: the prefix however often it repeats.
    assert_eq!(
        registrable("_autodiscover._tcp._autodiscover._tcp.example.com"),
        "example.com"
    );
    assert_eq!(registrable("ex7.mailhost.example"), "mailhost.example");
    assert_eq!(registrable("192.0.2.10"), "192.0.2.10");
}

#[test]
fn url_hosts() {
    assert_eq!(
        url_host("https://Ex7.Mailhost.Example/autodiscover/autodiscover.xml").as_deref(),
        Some("ex7.mailhost.example")
    );
    assert_eq!(
        url_host("http://user@host.example:8080?x").as_deref(),
        Some("host.example")
    );
    assert_eq!(url_host("/relative/path"), None);
    assert_eq!(
        url_host("https://[2001:db8::1]:443/").as_deref(),
        Some("2001:db8::1")
    );
}

#[test]
fn same_domain_within_the_window_is_one_group_and_later_is_another() {
    let mut g = Grouper::new(GroupLimits {
        window_secs: 5.0,
        ..GroupLimits::default()
    });
    assert_eq!(
        g.add(&tls(
            1,
            0,
            "example.com",
            "192.0.2.30:443",
            Verdict::Mismatch
        )),
        Some(1)
    );
    assert_eq!(
        g.add(&tls(
            2,
            4_000,
            "www.example.com",
            "192.0.2.40:443",
            Verdict::Match
        )),
        Some(1)
    );
    assert_eq!(
        g.add(&tls(
            3,
            5_000,
            "other.test",
            "192.0.2.50:443",
            Verdict::Match
        )),
        Some(2)
    );
    // 10 s after the last example.com probe: a new intent.
    assert_eq!(
        g.add(&tls(
            4,
            14_500,
            "example.com",
            "192.0.2.30:443",
            Verdict::Match
        )),
        Some(3)
    );
    let (groups, stats) = g.finish();
    assert_eq!(groups.len(), 3);
    assert_eq!(groups[0].pattern, Some(Pattern::WwwApex));
    assert_eq!(groups[0].mismatches, vec![1]);
    let a = groups[0].advice.as_ref().unwrap();
    assert_eq!(a.san, vec!["example.com", "www.example.com"]);
    assert_eq!(a.wildcard.as_deref(), Some("*.example.com"));
    assert_eq!(a.wildcard_cannot_cover.len(), 1);
    assert_eq!(a.wildcard_cannot_cover[0].name, "example.com");
    let m = groups[0].members[0].moved_on.as_ref().unwrap();
    assert_eq!(m.name, "www.example.com");
    assert!((m.after_secs - 4.0).abs() < 1e-6);
    assert!(groups[1].advice.is_none());
    assert_eq!(stats.groups_evicted, 0);
}

#[test]
fn redirect_srv_and_cname_targets_join_the_group_that_handed_them_out() {
    let mut g = Grouper::new(GroupLimits::default());
    let cname = [("CNAME", "host.provider.test"), ("A", "192.0.2.10")];
    assert_eq!(
        g.add(&dns(1, 0, "autodiscover.example.com", "A", &cname)),
        Some(1)
    );
    // Connection to the address of that answer; SNI is the name asked for.
    assert_eq!(
        g.add(&tls(
            2,
            10,
            "autodiscover.example.com",
            "192.0.2.10:443",
            Verdict::Mismatch
        )),
        Some(1)
    );
    let loc = Some("https://host.provider.test/autodiscover/autodiscover.xml");
    assert_eq!(
        g.add(&http(
            3,
            20,
            "autodiscover.example.com",
            "192.0.2.10:80",
            302,
            loc
        )),
        Some(1)
    );
    assert_eq!(
        g.add(&dns(
            4,
            30,
            "host.provider.test",
            "A",
            &[("A", "192.0.2.10")]
        )),
        Some(1)
    );
    assert_eq!(
        g.add(&tls(
            5,
            40,
            "host.provider.test",
            "192.0.2.10:443",
            Verdict::Match
        )),
        Some(1)
    );
    let srv = [("SRV", "10 10 443 mx.other.test")];
    assert_eq!(
        g.add(&dns(6, 50, "_autodiscover._tcp.example.com", "SRV", &srv)),
        Some(1)
    );
    assert_eq!(
        g.add(&tls(
            7,
            60,
            "mx.other.test",
            "192.0.2.99:443",
            Verdict::Match
        )),
        Some(1)
    );
    let (groups, _) = g.finish();
    assert_eq!(groups.len(), 1);
    let gr = &groups[0];
    assert_eq!(gr.pattern, Some(Pattern::Autodiscover));
    let m = |id: u64| gr.members.iter().find(|m| m.probe == id).unwrap();
    assert_eq!(m(2).address_from, Some(1));
    assert_eq!(m(2).cname_chain, vec!["host.provider.test"]);
    assert_eq!(m(4).origin, Origin::Redirect);
    assert_eq!(m(4).origin_probe, Some(3));
    assert_eq!(m(5).origin, Origin::Redirect);
    assert_eq!(m(7).origin, Origin::Srv);
    assert_eq!(m(7).origin_probe, Some(6));
    assert!(m(3).moved_on.as_ref().unwrap().followed_redirect);
    assert_eq!(
        m(6).step.as_ref().map(crate::report::text::step).as_deref(),
        Some("step 4: SRV lookup _autodiscover._tcp.example.com")
    );
    let a = gr.advice.as_ref().unwrap();
    assert_eq!(a.san, vec!["autodiscover.example.com"]);
    assert_eq!(a.wildcard.as_deref(), Some("*.example.com"));
    assert!(a.wildcard_cannot_cover.is_empty());
    assert_eq!(
        a.notes.iter().map(crate::report::text::note).collect::<Vec<_>>(),
        vec![
            "host.provider.test belongs to another domain; its server's certificate already covers it",
            "mx.other.test belongs to another domain; its server's certificate already covers it",
            "autodiscover.example.com is a CNAME for host.provider.test, so the client reached host.provider.test's server at 192.0.2.10:443: that server must present a certificate that also names autodiscover.example.com, or the client must be sent there by a method that keeps the name it trusts (an SRV record or an HTTP redirect)",
        ]
    );
    // The TLS probe to autodiscover.example.com was followed by plain HTTP to the same name.
    let next = m(2).moved_on.as_ref().unwrap();
    assert_eq!(
        (next.name.as_str(), next.proto, next.port),
        ("autodiscover.example.com", Proto::Http, 80)
    );
}

#[test]
fn bounded_tables_count_their_evictions() {
    let mut g = Grouper::new(GroupLimits {
        window_secs: 60.0,
        max_groups: 2,
        max_members: 1,
        max_links: 2,
    });
    for (i, n) in ["a.test", "b.test", "c.test"].iter().enumerate() {
        let id = i as u64 + 1;
        g.add(&tls(id, id as i64, n, "192.0.2.1:443", Verdict::Match));
    }
    g.add(&tls(4, 4, "c.test", "192.0.2.1:443", Verdict::Match));
    let (groups, stats) = g.finish();
    assert_eq!(groups.len(), 2);
    assert_eq!(stats.groups_evicted, 1);
    assert_eq!(stats.members_dropped, 1);
    // a.test's domain entry went with its group: no live entry was evicted.
    assert_eq!(stats.links_evicted, 0);
    assert_eq!(groups[1].members_dropped, 1);

    // Three live groups, two domain entries: one is evicted, counted.
    let mut g = Grouper::new(GroupLimits {
        window_secs: 60.0,
        max_groups: 8,
        max_members: 1,
        max_links: 2,
    });
    for (i, n) in ["a.test", "b.test", "c.test"].iter().enumerate() {
        let id = i as u64 + 1;
        g.add(&tls(id, id as i64, n, "192.0.2.1:443", Verdict::Match));
    }
    assert_eq!(g.stats.links_evicted, 1);
}

#[test]
fn an_evicted_group_takes_its_domain_entry_with_it() {
    // A flood of one-probe clients: the domain table holds the kept groups' entries, not
    // one dead entry per client up to its bound (6 MiB at 60,000 clients).
    let mut g = Grouper::new(GroupLimits {
        window_secs: 60.0,
        max_groups: 4,
        max_members: 64,
        max_links: 1_000,
    });
    for i in 0..100u64 {
        let mut p = tls(
            i + 1,
            i as i64,
            "stalled.example",
            "192.0.2.1:443",
            Verdict::Match,
        );
        p.client = std::net::IpAddr::from([10, 0, 0, i as u8]);
        g.add(&p);
    }
    assert_eq!(g.stats.groups_evicted, 96);
    assert_eq!(g.by_domain.len(), 4);
    assert_eq!(g.stats.links_evicted, 0);
    // The kept groups still take a later probe of their client and domain.
    let mut p = tls(
        101,
        100,
        "www.stalled.example",
        "192.0.2.1:443",
        Verdict::Match,
    );
    p.client = std::net::IpAddr::from([10, 0, 0, 99]);
    let gid = g.add(&p);
    let (groups, _) = g.finish();
    let last = groups.iter().find(|x| Some(x.id) == gid).unwrap();
    assert_eq!(last.members.len(), 2);
}

#[test]
fn thunderbird_guess_order_follows_its_sort() {
    // GuessConfig.sys.mjs: hosts imap./pop3./pop./mail./DOMAIN, ports per
    // getIncomingTryOrder, then sortTriesByPreference (TLS before plain, IMAP before POP,
    // SSL before STARTTLS, host order kept); the plain tries repeat ports already listed.
    let d = "example.com";
    let list: Vec<String> = guess_list(d, true)
        .into_iter()
        .map(|(h, p)| format!("{h}:{p}"))
        .collect();
    assert_eq!(
        list,
        [
            "imap.example.com:993",
            "mail.example.com:993",
            "example.com:993",
            "imap.example.com:143",
            "mail.example.com:143",
            "example.com:143",
            "pop3.example.com:995",
            "pop.example.com:995",
            "mail.example.com:995",
            "example.com:995",
            "pop3.example.com:110",
            "pop.example.com:110",
            "mail.example.com:110",
            "example.com:110",
        ]
    );
    // getOutgoingTryOrder: STARTTLS 587, STARTTLS 25, SSL 465, plain 587 and 25.
    let list: Vec<String> = guess_list(d, false)
        .into_iter()
        .map(|(h, p)| format!("{h}:{p}"))
        .collect();
    assert_eq!(
        list,
        [
            "smtp.example.com:465",
            "mail.example.com:465",
            "example.com:465",
            "smtp.example.com:587",
            "smtp.example.com:25",
            "mail.example.com:587",
            "mail.example.com:25",
            "example.com:587",
            "example.com:25",
        ]
    );
    assert_eq!(
        guess_rank(d, "pop.example.com", 995),
        Some(GuessRank {
            incoming: true,
            pos: 8,
            of: 14
        })
    );
    assert_eq!(guess_rank(d, "www.example.com", 993), None);
    assert_eq!(guess_rank(d, "imap.example.com", 443), None);
}

#[test]
fn mx_host_domains_are_the_next_sub_domain_and_the_base_domain() {
    assert_eq!(
        mx_domains("mx1.mail.example.net"),
        ["mail.example.net", "example.net"]
    );
    assert_eq!(
        mx_domains("mx.example.net"),
        ["mx.example.net", "example.net"]
    );
    assert_eq!(mx_domains("example.net"), ["example.net"]);
}

#[test]
fn activesync_is_recognised_from_its_path_never_from_a_name() {
    // Only a name: eas.example.com over TLS (the path encrypted) is no ActiveSync.
    let mut g = Grouper::new(GroupLimits::default());
    g.add(&tls(
        1,
        0,
        "eas.example.com",
        "192.0.2.20:443",
        Verdict::Match,
    ));
    let (groups, _) = g.finish();
    assert_eq!(groups[0].pattern, None);
    // The path in plain HTTP: ActiveSync, with its command and device type.
    let mut g = Grouper::new(GroupLimits::default());
    let mut p = http(1, 0, "mail.example.com", "192.0.2.20:80", 200, None);
    if let ProbeKind::Http(h) = &mut p.kind {
        h.method = "POST".into();
        h.path =
            "/Microsoft-Server-ActiveSync?Cmd=Sync&User=u&DeviceId=X&DeviceType=Android".into();
    }
    g.add(&p);
    let (groups, _) = g.finish();
    assert_eq!(groups[0].pattern, Some(Pattern::ActiveSync));
    assert_eq!(
        groups[0].members[0].step,
        Some(Step::EasCommand(
            "mail.example.com".into(),
            Some("Sync".into()),
            Some("Android".into())
        ))
    );
}

#[test]
fn ispdb_request_ties_to_the_latest_autoconfig_probe_or_stays_on_its_own() {
    // Alone: its DNS queries and connection are one group of its own domain, and the mail
    // domain it asks for is not known.
    let mut g = Grouper::new(GroupLimits::default());
    let a = g.add(&dns(1, 0, ISPDB_HOST, "A", &[("A", "192.0.2.124")]));
    let b = g.add(&tls(2, 10, ISPDB_HOST, "192.0.2.124:443", Verdict::Match));
    assert_eq!(a, b);
    let (groups, _) = g.finish();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].domain, "thunderbird.net");
    let m = &groups[0].members[1];
    assert_eq!(m.tied_to, None);
    assert!(matches!(&m.step, Some(Step::Ispdb { domains, .. }) if domains.is_empty()));
    // After an autoconfig probe of the same client: tied to its group, by timing.
    let mut g = Grouper::new(GroupLimits::default());
    let ac = g.add(&dns(1, 0, "autoconfig.example.org", "A", &[]));
    let t = g.add(&tls(2, 40, ISPDB_HOST, "192.0.2.124:443", Verdict::Match));
    assert_eq!(ac, t);
    let (groups, _) = g.finish();
    let m = &groups[0].members[1];
    assert_eq!(m.tied_to.map(|x| x.0), Some(1));
    assert!(
        matches!(&m.step, Some(Step::Ispdb { domains, after_mx: None, tied: Some(_) }) if domains == &["example.org".to_string()])
    );
}

/// The http:// to https:// redirect on the same name, followed by the client, was "the
/// client did not follow the redirect; it moved on to www.example.com (TLS, port
/// 443)": a redirect was linked only to another name (black-box finding).
#[test]
fn a_redirect_to_the_same_name_over_https_is_followed() {
    let mut g = Grouper::new(GroupLimits::default());
    let loc = Some("https://www.example.com/x");
    assert_eq!(
        g.add(&http(1, 0, "www.example.com", "192.0.2.10:80", 302, loc)),
        Some(1)
    );
    assert_eq!(
        g.add(&tls(
            2,
            5,
            "www.example.com",
            "192.0.2.10:443",
            Verdict::Match
        )),
        Some(1)
    );
    let (groups, _) = g.finish();
    let m = |id: u64| groups[0].members.iter().find(|m| m.probe == id).unwrap();
    assert_eq!(m(2).origin, Origin::Redirect);
    assert_eq!(m(2).origin_probe, Some(1));
    assert!(m(1).moved_on.as_ref().unwrap().followed_redirect);
}

/// IMAPS (993) to the bare domain, then Autodiscover's host on 443, made the IMAPS
/// connection Autodiscover's "step 1: https://DOMAIN/autodiscover/autodiscover.xml" with
/// Outlook advice, and IMAPS to the apex beside HTTPS to www. a "www. / apex pair"
/// (black-box finding): the steps and the pair are web requests, read on web ports only.
#[test]
fn name_only_steps_and_the_www_apex_pair_need_a_web_port() {
    let mut g = Grouper::new(GroupLimits::default());
    g.add(&tls(
        1,
        0,
        "example.com",
        "192.0.2.10:993",
        Verdict::Mismatch,
    ));
    g.add(&tls(
        2,
        5,
        "autodiscover.example.com",
        "192.0.2.10:443",
        Verdict::Match,
    ));
    let (groups, _) = g.finish();
    assert_eq!(groups[0].pattern, Some(Pattern::Autodiscover));
    let m = |id: u64| groups[0].members.iter().find(|m| m.probe == id).unwrap();
    assert_eq!(m(1).step, None);
    assert!(matches!(m(2).step, Some(Step::AutodiscoverHost(_))));
    let mut g = Grouper::new(GroupLimits::default());
    g.add(&tls(
        1,
        0,
        "example.com",
        "192.0.2.10:993",
        Verdict::Mismatch,
    ));
    g.add(&tls(
        2,
        5,
        "www.example.com",
        "192.0.2.10:443",
        Verdict::Match,
    ));
    assert_eq!(g.finish().0[0].pattern, None);
    let mut g = Grouper::new(GroupLimits::default());
    g.add(&tls(
        1,
        0,
        "example.com",
        "192.0.2.10:443",
        Verdict::Mismatch,
    ));
    g.add(&tls(
        2,
        5,
        "www.example.com",
        "192.0.2.10:443",
        Verdict::Match,
    ));
    assert_eq!(g.finish().0[0].pattern, Some(Pattern::WwwApex));
}
