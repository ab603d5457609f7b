//! Attempt groups: the probes of one client that belong to one intent.
//!
//! A probe joins a group, in this order of preference:
//! 1. its name was handed to the client by an earlier probe of the group: a CNAME or SRV
//!    target in a DNS answer, the host of an HTTP redirect's `Location`, or
//!    `autoconfig.` plus a domain of the host an MX answer named (Thunderbird);
//! 2. it is a connection to an address a DNS answer of the group gave for that name;
//! 3. its name has the same registrable domain (Public Suffix List) as the group's
//!    latest probe, at most [`GroupLimits::window_secs`] earlier;
//! 4. otherwise it starts a new group.
//!
//! Thunderbird's ISPDB request (`autoconfig.thunderbird.net`) comes first: it joins the
//! group of the client's latest autoconfig probe within the window, by timing (inferred).
//!
//! Links are only followed within the window too. [`Grouper`] works on probes in time
//! order (a capture file's ordered list, or a live capture's stream) and keeps bounded
//! tables with counted evictions; [`Grouper::finish`] labels known patterns and works out
//! the fix advice.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;

use tls_parser::TlsVersion;

use super::trust::{ChainTrust, PolicyNote, Validity};
use super::{
    names, DnsDetails, Outcome, Probe, ProbeKind, Proto, QuicDetails, TrustVerdict, Verdict,
};
use crate::capture::Timestamp;
use crate::parse::{Rdata, RrType};

/// Grouping window and bounds.
#[derive(Clone, Copy, Debug)]
pub struct GroupLimits {
    /// Seconds between two probes of one intent (and between a link and its use).
    pub window_secs: f64,
    /// Groups kept by a live capture; the least recently active are dropped beyond it
    /// (counted). A capture file's report keeps every group (its probes are bounded).
    pub max_groups: usize,
    /// Probes listed per group in a live capture; later ones still get the group id
    /// (counted). A capture file's report lists up to
    /// [`crate::correlate::OFFLINE_MEMBERS_LISTED`].
    pub max_members: usize,
    /// Entries in each link table (domain → group, name → link, address → DNS answer,
    /// client → latest autoconfig probe).
    pub max_links: usize,
}

impl Default for GroupLimits {
    fn default() -> Self {
        GroupLimits {
            window_secs: 60.0,
            max_groups: 4_096,
            max_members: 64,
            max_links: 65_536,
        }
    }
}

/// Evictions in the grouping tables.
#[derive(Clone, Debug, Default)]
pub struct GroupStats {
    pub groups_evicted: u64,
    pub members_dropped: u64,
    pub links_evicted: u64,
}

/// How the client got the name of a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The client chose it itself (typed by the user, derived from an e-mail address,
    /// or one of the client's own guesses).
    Own,
    /// A CNAME target in an earlier DNS answer.
    Cname,
    /// The target of an earlier SRV answer.
    Srv,
    /// The host of an earlier HTTP redirect (30x `Location`).
    Redirect,
    /// Built from an earlier DNS MX answer: the autoconfig host of the MX host's domain
    /// (Thunderbird's MX step).
    Mx,
}

/// A known fan-out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    Autodiscover,
    Autoconfig,
    WwwApex,
    /// CalDAV / CardDAV service discovery (RFC 6764).
    DavDiscovery,
    /// Exchange ActiveSync: Autodiscover, then /Microsoft-Server-ActiveSync (seen only in
    /// plain HTTP: over HTTPS the path is encrypted).
    ActiveSync,
}

/// The path of Exchange ActiveSync ([MS-ASHTTP]), lower case.
const EAS_PATH: &str = "/microsoft-server-activesync";

/// A query parameter of a request path (`Cmd`, `DeviceType`), as sent.
fn query_param(path: &str, key: &str) -> Option<String> {
    let q = path.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.eq_ignore_ascii_case(key) && !v.is_empty()).then(|| v.chars().take(64).collect())
    })
}

/// CalDAV or CardDAV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dav {
    CalDav,
    CardDav,
}

/// The service an RFC 6764 SRV name or well-known path asks for.
fn dav_of(name: &str, path: &str) -> Option<Dav> {
    let srv = |p: &str| {
        name.starts_with(&format!("_{p}s._tcp.")) || name.starts_with(&format!("_{p}._tcp."))
    };
    if srv("caldav") || path.starts_with("/.well-known/caldav") {
        Some(Dav::CalDav)
    } else if srv("carddav") || path.starts_with("/.well-known/carddav") {
        Some(Dav::CardDav)
    } else {
        None
    }
}

/// The server certificate of a member, in brief.
#[derive(Clone, Debug, Default)]
pub struct CertBrief {
    /// dNSName and iPAddress SANs (at most 4).
    pub names: Vec<String>,
    pub subject_cn: Option<String>,
    pub self_signed: bool,
}

/// The version a member used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberVersion {
    /// The TLS version the server chose.
    Tls(TlsVersion),
    /// The QUIC version.
    Quic(u32),
}

/// Which step of a known pattern a probe is.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Autodiscover step 4: the SRV lookup `_autodiscover._tcp.DOMAIN`.
    AutodiscoverSrv(String),
    /// Autodiscover step 1: https://DOMAIN/autodiscover/autodiscover.xml (inferred).
    AutodiscoverRoot(String),
    /// Autodiscover step 2: https://autodiscover.DOMAIN/… (inferred).
    AutodiscoverHost(String),
    /// Autodiscover step 3: the redirect method over plain HTTP (name, path).
    AutodiscoverRedirectMethod(String, String),
    /// An Autodiscover request over plain HTTP to another name.
    AutodiscoverPlain(String),
    /// A step reached through another probe's answer.
    Via(Pattern, Via),
    /// Autoconfig: autoconfig.DOMAIN (name, over TLS).
    AutoconfigHost(String, bool),
    /// Autoconfig: DOMAIN/.well-known/autoconfig (name, over TLS).
    AutoconfigWellKnown(String, bool),
    Apex,
    Www,
    /// RFC 6764: the SRV lookup _caldavs._tcp.DOMAIN (and its kin).
    DavSrv(String, Dav),
    /// RFC 6764: /.well-known/caldav (or carddav) on a host (name, kind, over TLS: then the
    /// path is inferred).
    DavWellKnown(String, Option<Dav>, bool),
    /// Thunderbird: the ISPDB (https://autoconfig.thunderbird.net/v1.1/DOMAIN). The domain
    /// is in the encrypted path, so which domain it asks for rests on timing.
    Ispdb {
        /// The group's domain, or the MX host's domains when opened after the MX answer;
        /// empty when not known (no autoconfig probe came before it).
        domains: Vec<String>,
        /// The MX answer of the group it came after (then it is the MX step's ISPDB
        /// lookup, priority 8), if any.
        after_mx: Option<u64>,
        /// Tied to the group by timing (inferred): the group's autoconfig probe it came
        /// next to, and how long after it.
        tied: Option<(u64, f64)>,
    },
    /// Thunderbird: the DNS MX lookup for the domain.
    MxLookup(String),
    /// Thunderbird: https://autoconfig.MXDOMAIN/mail/config-v1.1.xml for the domain of the
    /// MX host the MX answer of this probe named.
    AutoconfigMx(String, u64),
    /// Thunderbird's guesses after every lookup failed (name, port, rank).
    Guess(String, u16, GuessRank),
    /// ActiveSync: OPTIONS /Microsoft-Server-ActiveSync, the protocol versions and commands
    /// the server offers (name).
    EasOptions(String),
    /// ActiveSync: a command, POST /Microsoft-Server-ActiveSync?Cmd=… (name, command,
    /// device type).
    EasCommand(String, Option<String>, Option<String>),
}

/// Where a guessed server stands in Thunderbird's order of preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuessRank {
    /// Incoming (IMAP, POP) or outgoing (SMTP): two detectors running side by side.
    pub incoming: bool,
    /// 1-based position in that detector's list, and the list's length.
    pub pos: usize,
    pub of: usize,
}

/// The MX record type.
const RR_MX: RrType = RrType(15);

/// Thunderbird's ISPDB host (pref `mailnews.auto_config_url`).
pub const ISPDB_HOST: &str = "autoconfig.thunderbird.net";

/// The number of Thunderbird's lookup priorities (see [`thunderbird_rank`]).
pub const THUNDERBIRD_PRIORITIES: u8 = 9;

/// Thunderbird's priority of an autoconfig step: 1 https://autoconfig.DOMAIN, 2 https
/// well-known, 3 and 4 the same over http, 5 the ISPDB, 6 the MX lookup, 7 the MX host's
/// domain's autoconfig host, 8 its ISPDB entry, 9 the guesses (see docs/groups.md for
/// the source).
pub fn thunderbird_rank(s: &Step) -> Option<u8> {
    Some(match s {
        Step::AutoconfigHost(_, true) => 1,
        Step::AutoconfigWellKnown(_, true) => 2,
        Step::AutoconfigHost(_, false) => 3,
        Step::AutoconfigWellKnown(_, false) => 4,
        Step::Ispdb { after_mx: None, .. } => 5,
        Step::MxLookup(_) => 6,
        Step::AutoconfigMx(..) => 7,
        Step::Ispdb {
            after_mx: Some(_), ..
        } => 8,
        Step::Guess(..) => 9,
        _ => return None,
    })
}

/// Thunderbird's guesses for a domain, in its order of preference (GuessConfig.sys.mjs:
/// the host names of `_hostnamesToTry`, the ports of `getIncomingTryOrder` /
/// `getOutgoingTryOrder`, sorted by `sortTriesByPreference`: TLS before plain, IMAP
/// before POP, SSL before STARTTLS, then host order). A port seen on the wire stands for
/// its first entry (143 is tried with STARTTLS before plain).
fn guess_list(d: &str, incoming: bool) -> Vec<(String, u16)> {
    // (host, protocol 0 IMAP / 1 POP / 2 SMTP, security 0 SSL / 1 STARTTLS / 2 plain, port)
    let mut tries: Vec<(String, u8, u8, u16)> = Vec::new();
    let imap = [(1, 143), (0, 993), (2, 143)];
    let pop = [(1, 110), (0, 995), (2, 110)];
    if incoming {
        let all = [
            (0, 1, 143),
            (0, 0, 993),
            (1, 1, 110),
            (1, 0, 995),
            (0, 2, 143),
            (1, 2, 110),
        ];
        for (host, kind) in [
            ("imap.", 0),
            ("pop3.", 1),
            ("pop.", 1),
            ("mail.", 2),
            ("", 2),
        ] {
            let h = format!("{host}{d}");
            match kind {
                0 => tries.extend(imap.iter().map(|&(sec, port)| (h.clone(), 0, sec, port))),
                1 => tries.extend(pop.iter().map(|&(sec, port)| (h.clone(), 1, sec, port))),
                _ => tries.extend(
                    all.iter()
                        .map(|&(pr, sec, port)| (h.clone(), pr, sec, port)),
                ),
            }
        }
    } else {
        for host in ["smtp.", "mail.", ""] {
            let h = format!("{host}{d}");
            for (sec, port) in [(1, 587), (1, 25), (0, 465), (2, 587), (2, 25)] {
                tries.push((h.clone(), 2, sec, port));
            }
        }
    }
    // sortTriesByPreference (a stable sort): TLS first, IMAP before POP, SSL before STARTTLS.
    tries.sort_by_key(|&(_, proto, sec, _)| (sec == 2, proto == 1, sec == 1));
    let mut out: Vec<(String, u16)> = Vec::new();
    for (h, _, _, port) in tries {
        if !out.iter().any(|(x, p)| *x == h && *p == port) {
            out.push((h, port));
        }
    }
    out
}

/// Where (name, port) stands among Thunderbird's guesses for the domain.
pub fn guess_rank(d: &str, name: &str, port: u16) -> Option<GuessRank> {
    for incoming in [true, false] {
        let list = guess_list(d, incoming);
        if let Some(i) = list.iter().position(|(h, p)| h == name && *p == port) {
            return Some(GuessRank {
                incoming,
                pos: i + 1,
                of: list.len(),
            });
        }
    }
    None
}

/// How a step was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// Following the redirect of this probe.
    Redirect(u64),
    /// The SRV target from this probe.
    Srv(u64),
}

/// What the client did next, when it went to another name of the group.
#[derive(Clone, Debug)]
pub struct MovedOn {
    pub name: String,
    pub proto: Proto,
    pub port: u16,
    pub after_secs: f64,
    /// The next name came from this probe's own redirect.
    pub followed_redirect: bool,
}

/// One probe of a group.
#[derive(Clone, Debug)]
pub struct Member {
    pub probe: u64,
    pub ts: Timestamp,
    pub proto: Proto,
    /// Normalised name (lower case, no trailing dot).
    pub name: Option<String>,
    pub server: IpAddr,
    pub port: u16,
    pub origin: Origin,
    /// The probe whose answer or redirect handed out the name (CNAME, SRV, redirect).
    pub origin_probe: Option<u64>,
    /// A connection: the DNS probe whose answer gave the server's address.
    pub address_from: Option<u64>,
    /// The CNAMEs that answer went through, in order.
    pub cname_chain: Vec<String>,
    /// Joined the group by timing alone (inferred): the group's autoconfig probe it came
    /// next to, and how many seconds after it (Thunderbird's ISPDB request, whose domain
    /// is in the encrypted path).
    pub tied_to: Option<(u64, f64)>,
    pub verdict: Option<Verdict>,
    pub outcome: Outcome,
    /// What the outcome refers to: the DNS answer, the QUIC packets.
    pub dns: Option<DnsDetails>,
    pub quic: Option<Box<QuicDetails>>,
    pub cert: Option<CertBrief>,
    /// The trust verdict of its certificate.
    pub trust: Option<Box<TrustVerdict>>,
    pub dns_qtype: Option<RrType>,
    /// The TLS version the server chose, or the QUIC version.
    pub version: Option<MemberVersion>,
    pub http_method: Option<String>,
    pub http_path: Option<String>,
    pub http_status: Option<u16>,
    /// The step of the group's pattern this probe is (set by [`Grouper::finish`]).
    pub step: Option<Step>,
    /// The client went on to another name of the group without a clean success here.
    pub moved_on: Option<MovedOn>,
}

impl Member {
    /// A connection that clearly did what the client wanted: a certificate that matches
    /// and data exchanged, or an HTTP 2xx.
    fn succeeded(&self) -> bool {
        match self.proto {
            Proto::Tls | Proto::Quic => {
                self.verdict == Some(Verdict::Match) && self.outcome.completed()
            }
            Proto::Http => self.http_status.is_some_and(|s| (200..300).contains(&s)),
            Proto::Dns => true,
        }
    }
}

/// A name of the group and how the client first got it.
#[derive(Clone, Debug)]
pub struct GroupName {
    pub name: String,
    pub origin: Origin,
    /// The first probe with this name.
    pub probe: u64,
    /// The probe that handed the name out (CNAME, SRV, redirect).
    pub origin_probe: Option<u64>,
}

/// A name a wildcard certificate cannot cover, and why.
#[derive(Clone, Debug)]
pub struct Uncovered {
    pub name: String,
    pub why: UncoveredWhy,
}

/// Why a `*.DOMAIN` wildcard cannot cover a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UncoveredWhy {
    /// The bare domain: a wildcard never covers the apex.
    Apex,
    NotUnderDomain,
    /// Two or more labels below the domain.
    TooDeep,
}

/// Further advice for a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    // `server`: the address and port, so that the services of one address (HTTPS, IMAPS,
    // SMTP) that show different certificates are told apart.
    /// A name of another domain; `mismatch`: its certificate did not cover it either.
    OtherDomain { name: String, mismatch: bool },
    /// A name that is a CNAME for a name of another domain, whose server showed a
    /// certificate without it.
    CnameElsewhere {
        name: String,
        target: String,
        server: SocketAddr,
    },
    /// The server's certificate is self-signed.
    SelfSigned { server: SocketAddr },
    /// The server's certificate expired: renew it.
    Renew {
        server: SocketAddr,
        not_after: time::OffsetDateTime,
    },
    /// The server's certificate starts later than the connection.
    NotYetValid {
        server: SocketAddr,
        not_before: time::OffsetDateTime,
    },
    /// The server does not send the issuer it needs to (an intermediate, most often).
    SendIntermediate {
        server: SocketAddr,
        missing: String,
        aia: String,
    },
    /// The chain ends at an issuer the trust store does not hold.
    UntrustedIssuer { server: SocketAddr, issuer: String },
    /// Any other reason the chain is not trusted (bad signature, EKU, CA as leaf …).
    ChainRejected {
        server: SocketAddr,
        chain: ChainTrust,
    },
    /// A client-policy note on the server's certificate.
    Policy {
        server: SocketAddr,
        note: PolicyNote,
    },
    /// Autodiscover on an Exchange-like server whose certificate is self-signed or named
    /// after a single-label (NetBIOS) host: what to do on the Exchange server.
    ExchangeCertificate {
        server: SocketAddr,
        /// The certificate's name (CN or first SAN) as shown.
        shown: String,
        self_signed: bool,
        /// Every name of the group the certificate must carry.
        names: Vec<String>,
    },
    /// Autodiscover step 1 (https://DOMAIN/…) reached a server whose certificate does not
    /// name DOMAIN (the web site's): the two ways out.
    RootDomainStep { domain: String, server: SocketAddr },
    /// autodiscover.DOMAIN is a CNAME to autodiscover.outlook.com (Microsoft 365): its
    /// HTTPS step fails by design and the client goes on to the HTTP redirect.
    Microsoft365 { name: String },
    /// Names asked only over plain HTTP.
    PlainHttpOnly(Vec<String>),
}

/// What certificate would satisfy every TLS probe of a group.
#[derive(Clone, Debug, Default)]
pub struct Advice {
    /// The names one certificate needs in its SAN: every name of the group's domain the
    /// client asked for over TLS or QUIC.
    pub san: Vec<String>,
    /// `*.DOMAIN`, when at least one name is one label below the domain.
    pub wildcard: Option<String>,
    pub wildcard_cannot_cover: Vec<Uncovered>,
    /// Further advice (self-signed certificates, names asked only over plain HTTP).
    pub notes: Vec<Note>,
}

/// One intent of one client.
#[derive(Clone, Debug)]
pub struct Group {
    pub id: u64,
    pub client: IpAddr,
    /// The registrable domain of the group's first name.
    pub domain: String,
    pub first: Timestamp,
    pub last: Timestamp,
    pub members: Vec<Member>,
    pub members_dropped: u64,
    pub pattern: Option<Pattern>,
    pub names: Vec<GroupName>,
    /// Probes whose certificate did not cover the name.
    pub mismatches: Vec<u64>,
    /// Set when the group has mismatches.
    pub advice: Option<Advice>,
}

#[derive(Clone, Debug)]
struct Link {
    group: u64,
    origin: Origin,
    probe: u64,
    ts: Timestamp,
}

#[derive(Clone, Debug)]
struct AddrLink {
    group: u64,
    probe: u64,
    ts: Timestamp,
    name: String,
    chain: Vec<String>,
    origin: Origin,
    origin_probe: Option<u64>,
}

fn cap(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n.max(1)).unwrap_or(NonZeroUsize::MIN)
}

/// The registrable domain (eTLD+1) of a name; the name itself for an address, a public
/// suffix, or a single label.
pub fn registrable(name: &str) -> String {
    // `strip_prefix` in a loop is `trim_start_matches`, without the substring searcher
    // it builds on every call (half of this function's instructions).
    let mut n = name;
    while let Some(rest) = n.strip_prefix("_autodiscover._tcp.") {
        n = rest;
    }
    if n.parse::<IpAddr>().is_ok() {
        return n.to_string();
    }
    match psl::domain_str(n) {
        Some(d) => d.to_string(),
        None => n.to_string(),
    }
}

/// The host of an absolute `http://` / `https://` URL, normalised.
pub fn url_host(url: &str) -> Option<String> {
    let lower = url.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        hostport.split(':').next().unwrap_or("")
    };
    names::normalize(host)
}

/// The domains Thunderbird looks up for an MX host: the domain one label below its
/// registrable domain (`Services.eTLD.getNextSubDomain`), when that differs, and the
/// registrable domain.
fn mx_domains(host: &str) -> Vec<String> {
    let Some(h) = names::normalize(host) else {
        return Vec::new();
    };
    let sld = registrable(&h);
    let mut out = Vec::new();
    if let Some(below) = h.strip_suffix(&format!(".{sld}")) {
        if let Some(label) = below.rsplit('.').next().filter(|l| !l.is_empty()) {
            out.push(format!("{label}.{sld}"));
        }
    }
    out.push(sld);
    out
}

/// Groups probes as they come (in time order), bounded.
pub struct Grouper {
    limits: GroupLimits,
    next_id: u64,
    groups: crate::correlate::bounded::Lru<u64, Group>,
    by_domain: crate::correlate::bounded::Lru<(IpAddr, String), u64>,
    links: crate::correlate::bounded::Lru<(IpAddr, String), Link>,
    addrs: crate::correlate::bounded::Lru<(IpAddr, IpAddr), AddrLink>,
    /// Per client, its latest autoconfig probe (group, probe, time): where an ISPDB
    /// request is tied by timing.
    autoconfig_recent: crate::correlate::bounded::Lru<IpAddr, (u64, u64, Timestamp)>,
    pub stats: GroupStats,
}

/// An autoconfig probe of a domain's own (not the ISPDB): autoconfig.DOMAIN or a
/// well-known autoconfig path.
fn is_autoconfig_probe(name: Option<&str>, path: &str) -> bool {
    name.is_some_and(|n| n.starts_with("autoconfig.") && n != ISPDB_HOST)
        || path.contains("/.well-known/autoconfig/")
}

impl Grouper {
    pub fn new(limits: GroupLimits) -> Self {
        Grouper {
            limits,
            next_id: 1,
            groups: crate::correlate::bounded::Lru::new(cap(limits.max_groups)),
            by_domain: crate::correlate::bounded::Lru::new(cap(limits.max_links)),
            links: crate::correlate::bounded::Lru::new(cap(limits.max_links)),
            addrs: crate::correlate::bounded::Lru::new(cap(limits.max_links)),
            autoconfig_recent: crate::correlate::bounded::Lru::new(cap(limits.max_links)),
            stats: GroupStats::default(),
        }
    }

    fn fresh(&self, now: &Timestamp, then: &Timestamp) -> bool {
        now.secs_since(then) <= self.limits.window_secs
    }

    /// Adds the next probe (time order); returns the id of the group it joined, `None` for
    /// a probe with neither a name nor a DNS answer for its server.
    pub fn add(&mut self, p: &Probe) -> Option<u64> {
        let name = p.name.as_deref().and_then(names::normalize);
        let client = p.host_addr();
        // 1. A name handed out by an earlier probe.
        let link = name
            .as_ref()
            .and_then(|n| self.links.get(&(client, n.clone())).cloned())
            .filter(|l| self.fresh(&p.ts, &l.ts) && self.groups.contains(&l.group));
        // 2. The DNS answer that gave this connection's address.
        let addr = if p.proto() == Proto::Dns {
            None
        } else {
            self.addrs
                .get(&(client, p.server))
                .cloned()
                .filter(|a| self.fresh(&p.ts, &a.ts))
                .filter(|a| match &name {
                    None => true,
                    Some(n) => *n == a.name || a.chain.contains(n),
                })
        };
        let (mut gid, mut origin, mut origin_probe) = (None, Origin::Own, None);
        // Thunderbird's ISPDB request names the mail domain only in its encrypted path:
        // it joins the group of this client's latest autoconfig probe, by timing
        // (inferred), before an address link that may be another account's.
        let tied = if name.as_deref() == Some(ISPDB_HOST) && link.is_none() {
            self.autoconfig_recent
                .get(&client)
                .copied()
                .filter(|(g, _, ts)| self.fresh(&p.ts, ts) && self.groups.contains(g))
                .map(|(g, probe, ts)| (g, probe, p.ts.secs_since(&ts)))
        } else {
            None
        };
        if let Some((g, _, _)) = tied {
            gid = Some(g);
        } else if let Some(l) = &link {
            gid = Some(l.group);
            origin = l.origin;
            origin_probe = Some(l.probe);
        } else if let Some(a) = addr.as_ref().filter(|a| self.groups.contains(&a.group)) {
            gid = Some(a.group);
            origin = a.origin;
            origin_probe = a.origin_probe;
        }
        let name_for_group = name
            .clone()
            .or_else(|| addr.as_ref().map(|a| a.name.clone()));
        let domain = name_for_group.as_deref().map(registrable);
        // 3. The same registrable domain, recently.
        if gid.is_none() {
            if let Some(d) = &domain {
                let recent = self.by_domain.get(&(client, d.clone())).copied();
                gid = recent.filter(|g| {
                    self.groups
                        .peek(g)
                        .is_some_and(|grp| self.fresh(&p.ts, &grp.last))
                });
            }
        }
        // 4. A new group.
        let gid = match gid {
            Some(g) => g,
            None => {
                let d = domain.clone()?;
                let id = self.next_id;
                self.next_id += 1;
                let g = Group {
                    id,
                    client,
                    domain: d,
                    first: p.ts,
                    last: p.ts,
                    members: Vec::new(),
                    members_dropped: 0,
                    pattern: None,
                    names: Vec::new(),
                    mismatches: Vec::new(),
                    advice: None,
                };
                if let Some((old, evicted)) = self.groups.push(id, g) {
                    if old != id {
                        self.stats.groups_evicted += 1;
                        // Its own domain's rule-3 entry can join nothing more (a lookup
                        // needs the group): dropped with it (entries of its members'
                        // other domains go as the table's least recently used), so that a flood of one-probe clients
                        // does not fill the domain table with dead entries.
                        let k = (evicted.client, evicted.domain);
                        if self.by_domain.peek(&k) == Some(&old) {
                            self.by_domain.pop(&k);
                        }
                    }
                }
                id
            }
        };
        let member = Member {
            probe: p.id,
            ts: p.ts,
            proto: p.proto(),
            name: name.clone(),
            server: p.server,
            port: p.port,
            origin,
            origin_probe,
            address_from: addr.as_ref().map(|a| a.probe),
            cname_chain: addr.as_ref().map(|a| a.chain.clone()).unwrap_or_default(),
            tied_to: tied.map(|(_, probe, secs)| (probe, secs)),
            verdict: p.verdict,
            outcome: p.outcome.clone(),
            dns: p.dns().cloned(),
            quic: p.quic().cloned().map(Box::new),
            cert: p.cert().map(|c| CertBrief {
                names: c.san_dns.iter().chain(&c.san_ip).take(4).cloned().collect(),
                subject_cn: c.subject_cn.clone(),
                self_signed: c.self_signed,
            }),
            trust: p.trust.clone(),
            dns_qtype: p.dns().and_then(|d| d.qtype),
            version: match &p.kind {
                ProbeKind::Quic(q) => Some(MemberVersion::Quic(q.quic.version)),
                ProbeKind::Tls(t) => t.version.map(MemberVersion::Tls),
                ProbeKind::Http(_) | ProbeKind::Dns(_) => None,
            },
            http_method: p.http().map(|h| h.method.clone()),
            http_path: p.http().map(|h| h.path.clone()),
            http_status: p.http().and_then(|h| h.status),
            step: None,
            moved_on: None,
        };
        let max_members = self.limits.max_members;
        if let Some(g) = self.groups.get_mut(&gid) {
            if p.ts > g.last {
                g.last = p.ts;
            }
            if g.members.len() < max_members {
                // A group's first member gets one slot, not four (a member is large and
                // most groups at a flood of clients hold one).
                if g.members.is_empty() {
                    g.members.reserve_exact(1);
                }
                g.members.push(member);
            } else {
                g.members_dropped += 1;
                self.stats.members_dropped += 1;
            }
        }
        // A tied ISPDB request's own domain (thunderbird.net) is not the group's: no
        // rule-3 entry that would pull the next account's requests in.
        if let Some(d) = domain.filter(|_| tied.is_none()) {
            self.put_domain((client, d), gid);
        }
        let path = p
            .http()
            .map(|h| h.path.to_ascii_lowercase())
            .unwrap_or_default();
        if is_autoconfig_probe(name.as_deref(), &path) {
            if let Some((old, _)) = self.autoconfig_recent.push(client, (gid, p.id, p.ts)) {
                if old != client {
                    self.stats.links_evicted += 1;
                }
            }
        }
        self.learn(p, gid, origin, origin_probe, name.as_deref());
        Some(gid)
    }

    fn put_domain(&mut self, k: (IpAddr, String), gid: u64) {
        if let Some((old, _)) = self.by_domain.push(k.clone(), gid) {
            if old != k {
                self.stats.links_evicted += 1;
            }
        }
    }

    fn put_link(&mut self, k: (IpAddr, String), l: Link) {
        if let Some((old, _)) = self.links.push(k.clone(), l) {
            if old != k {
                self.stats.links_evicted += 1;
            }
        }
    }

    /// Remembers the names and addresses this probe hands out.
    fn learn(
        &mut self,
        p: &Probe,
        gid: u64,
        origin: Origin,
        origin_probe: Option<u64>,
        name: Option<&str>,
    ) {
        let link = |origin| Link {
            group: gid,
            origin,
            probe: p.id,
            ts: p.ts,
        };
        if let Some(d) = p.dns() {
            let mut chain = Vec::new();
            for a in &d.answers {
                match &a.data {
                    Rdata::Cname(target) => {
                        if let Some(t) = names::normalize(target) {
                            self.put_link((p.host_addr(), t.clone()), link(Origin::Cname));
                            chain.push(t);
                        }
                    }
                    Rdata::Srv { target, .. } => {
                        if let Some(t) = names::normalize(target) {
                            self.put_link((p.host_addr(), t), link(Origin::Srv));
                        }
                    }
                    Rdata::Mx(host) => {
                        // Thunderbird's MX step (FetchConfig.sys.mjs fetchConfigForMX):
                        // the MX host's base domain and the domain one label below
                        // it, at their autoconfig hosts; nothing when the base domain
                        // is the queried domain.
                        let doms = mx_domains(host);
                        if doms.last().map(String::as_str) != name {
                            for d in doms {
                                let n = format!("autoconfig.{d}");
                                self.put_link((p.host_addr(), n), link(Origin::Mx));
                            }
                        }
                    }
                    Rdata::A(_)
                    | Rdata::Aaaa(_)
                    | Rdata::Ptr(_)
                    | Rdata::Ns(_)
                    | Rdata::Svcb { .. }
                    | Rdata::Other(_) => {}
                }
            }
            let Some(qname) = name else {
                return;
            };
            for a in &d.answers {
                if let Some(ip) = a.ip() {
                    let k = (p.host_addr(), ip);
                    let v = AddrLink {
                        group: gid,
                        probe: p.id,
                        ts: p.ts,
                        name: qname.to_string(),
                        chain: chain.clone(),
                        origin,
                        origin_probe,
                    };
                    if let Some((old, _)) = self.addrs.push(k, v) {
                        if old != k {
                            self.stats.links_evicted += 1;
                        }
                    }
                }
            }
        }
        if let Some(h) = p.http() {
            let redirect = h.status.is_some_and(|s| (300..400).contains(&s));
            if let Some(host) = h
                .location
                .as_deref()
                .filter(|_| redirect)
                .and_then(url_host)
            {
                // The same name too: http:// to https:// on one host (the most common
                // redirect of all) is followed when the client goes on to it.
                self.put_link((p.host_addr(), host), link(Origin::Redirect));
            }
        }
    }

    /// Every group kept, in the order they started, with patterns, steps and advice.
    pub fn finish(self) -> (Vec<Group>, GroupStats) {
        let mut groups: Vec<Group> = self.groups.into_iter().map(|(_, g)| g).collect();
        groups.sort_by_key(|g| g.id);
        for g in &mut groups {
            settle(g);
        }
        (groups, self.stats)
    }
}

fn lower_path(m: &Member) -> String {
    m.http_path.as_deref().unwrap_or("").to_ascii_lowercase()
}

fn detect(g: &Group) -> Option<Pattern> {
    let any = |f: &dyn Fn(&Member, &str, &str) -> bool| {
        g.members
            .iter()
            .any(|m| f(m, m.name.as_deref().unwrap_or(""), &lower_path(m)))
    };
    // ActiveSync from what is seen, its path: never from a name alone (eas.DOMAIN).
    if any(&|m, _, path| m.proto == Proto::Http && path.starts_with(EAS_PATH)) {
        return Some(Pattern::ActiveSync);
    }
    if any(&|_, n, path| {
        n.starts_with("autodiscover.")
            || n.starts_with("_autodiscover._tcp.")
            || path.contains("/autodiscover/autodiscover.xml")
    }) {
        return Some(Pattern::Autodiscover);
    }
    if any(&|_, n, path| {
        n.starts_with("autoconfig.")
            || path.contains("/mail/config-v1.1.xml")
            || path.contains("/.well-known/autoconfig/")
    }) {
        return Some(Pattern::Autoconfig);
    }
    if any(&|_, n, path| dav_of(n, path).is_some()) {
        return Some(Pattern::DavDiscovery);
    }
    let www = format!("www.{}", g.domain);
    let apex = any(&|m, n, _| web(m) && n == g.domain);
    let w = any(&|m, n, _| web(m) && n == www);
    (apex && w).then_some(Pattern::WwwApex)
}

/// Ports whose TLS is not a web request: implicit TLS of mail, news, LDAP, DNS, FTP,
/// XMPP, SIP and MQTT, and the STARTTLS ports (IANA).
const NOT_WEB_TLS_PORTS: [u16; 17] = [
    25, 110, 119, 143, 389, 465, 563, 587, 636, 853, 989, 990, 993, 995, 5061, 5223, 8883,
];

/// A web request: HTTP, or TLS/QUIC on a port that is not one of mail's or another
/// protocol's (`NOT_WEB_TLS_PORTS`): 443, 8443, and the proxy ports a CONNECT or SOCKS
/// tunnel carries it on. The steps inferred from a name alone (Autodiscover's https://
/// URLs, the www./apex pair) are web requests; IMAPS to the bare domain is none of them.
fn web(m: &Member) -> bool {
    match m.proto {
        Proto::Http => true,
        Proto::Tls | Proto::Quic => !NOT_WEB_TLS_PORTS.contains(&m.port),
        Proto::Dns => false,
    }
}

fn step(pattern: Pattern, g: &Group, m: &Member) -> Option<Step> {
    let n = m.name.as_deref()?;
    let d = g.domain.as_str();
    let path = lower_path(m);
    let tls = matches!(m.proto, Proto::Tls | Proto::Quic);
    let http = m.proto == Proto::Http;
    let via = match (m.origin, m.origin_probe) {
        (Origin::Redirect, Some(p)) => Some(Via::Redirect(p)),
        (Origin::Srv, Some(p)) => Some(Via::Srv(p)),
        _ => None,
    };
    let name = n.to_string();
    match pattern {
        Pattern::ActiveSync => {
            if http && path.starts_with(EAS_PATH) {
                let raw = m.http_path.as_deref().unwrap_or("");
                return Some(if m.http_method.as_deref() == Some("OPTIONS") {
                    Step::EasOptions(name)
                } else {
                    Step::EasCommand(
                        name,
                        query_param(raw, "Cmd"),
                        query_param(raw, "DeviceType"),
                    )
                });
            }
            // Its Autodiscover steps, as Autodiscover's own.
            step(Pattern::Autodiscover, g, m)
        }
        Pattern::Autodiscover => {
            if m.proto == Proto::Dns {
                return (m.dns_qtype == Some(RrType::SRV) && n.starts_with("_autodiscover._tcp."))
                    .then_some(Step::AutodiscoverSrv(name));
            }
            if let Some(v) = via.filter(|_| tls || http) {
                return Some(Step::Via(pattern, v));
            }
            // Steps 1 and 2 are https:// URLs: inferred from the name on a web port only.
            if tls && web(m) && n == d {
                return Some(Step::AutodiscoverRoot(name));
            }
            if tls && web(m) && n.strip_prefix("autodiscover.") == Some(d) {
                return Some(Step::AutodiscoverHost(name));
            }
            if http && n.starts_with("autodiscover.") {
                let path = m.http_path.clone().unwrap_or_else(|| "/".into());
                return Some(Step::AutodiscoverRedirectMethod(name, path));
            }
            if http && path.contains("/autodiscover/autodiscover.xml") {
                return Some(Step::AutodiscoverPlain(name));
            }
            None
        }
        Pattern::Autoconfig => {
            if m.proto == Proto::Dns {
                return (m.dns_qtype == Some(RR_MX) && n == d).then_some(Step::MxLookup(name));
            }
            if let Some(v) = via {
                return Some(Step::Via(pattern, v));
            }
            if n == ISPDB_HOST {
                if !tls {
                    return None;
                }
                // Opened after the group's MX answer: the MX step's ISPDB lookup.
                let mx = g
                    .members
                    .iter()
                    .filter(|x| x.ts < m.ts && x.dns_qtype == Some(RR_MX))
                    .rev()
                    .find_map(|x| {
                        let hosts: Vec<String> = x
                            .dns
                            .as_ref()?
                            .answers
                            .iter()
                            .filter_map(|r| match &r.data {
                                Rdata::Mx(h) => Some(h.clone()),
                                _ => None,
                            })
                            .collect();
                        let doms: Vec<String> = hosts.iter().flat_map(|h| mx_domains(h)).collect();
                        // No MX step when the MX host is in the domain itself.
                        (!doms.is_empty() && !doms.iter().any(|x| x == d))
                            .then_some((x.probe, doms))
                    });
                let (after_mx, domains) = match mx {
                    Some((p, doms)) => (Some(p), doms),
                    // Grouped on its own domain: no autoconfig probe to tie it to, so
                    // the mail domain is not known.
                    None if d == registrable(ISPDB_HOST) => (None, Vec::new()),
                    None => (None, vec![d.to_string()]),
                };
                return Some(Step::Ispdb {
                    domains,
                    after_mx,
                    tied: m.tied_to,
                });
            }
            if m.origin == Origin::Mx && n.starts_with("autoconfig.") {
                if let Some(from) = m.origin_probe {
                    return Some(Step::AutoconfigMx(name, from));
                }
            }
            if n.starts_with("autoconfig.") {
                return Some(Step::AutoconfigHost(name, tls));
            }
            if n == d && path.contains("/.well-known/autoconfig/") {
                return Some(Step::AutoconfigWellKnown(name, tls));
            }
            if let Some(r) = guess_rank(d, n, m.port) {
                return Some(Step::Guess(name, m.port, r));
            }
            (n == d && tls && m.port == 443).then_some(Step::AutoconfigWellKnown(name, tls))
        }
        Pattern::DavDiscovery => {
            if m.proto == Proto::Dns {
                return (m.dns_qtype == Some(RrType::SRV))
                    .then(|| dav_of(n, ""))
                    .flatten()
                    .map(|k| Step::DavSrv(name, k));
            }
            if http {
                return dav_of("", &path).map(|k| Step::DavWellKnown(name, Some(k), false));
            }
            if let Some(v) = via.filter(|_| tls) {
                return Some(Step::Via(pattern, v));
            }
            (tls && n == d).then_some(Step::DavWellKnown(name, None, true))
        }
        Pattern::WwwApex => {
            if m.proto == Proto::Dns {
                None
            } else if n == d {
                Some(Step::Apex)
            } else if n.strip_prefix("www.") == Some(d) {
                Some(Step::Www)
            } else {
                None
            }
        }
    }
}

/// Pattern, steps, names, moves, mismatches and advice of a finished group.
fn settle(g: &mut Group) {
    g.pattern = detect(g);
    if let Some(pat) = g.pattern {
        let steps: Vec<Option<Step>> = g.members.iter().map(|m| step(pat, g, m)).collect();
        for (m, s) in g.members.iter_mut().zip(steps) {
            m.step = s;
        }
    }
    g.names.clear();
    for m in &g.members {
        if let Some(n) = &m.name {
            if !g.names.iter().any(|x| x.name == *n) {
                g.names.push(GroupName {
                    name: n.clone(),
                    origin: m.origin,
                    probe: m.probe,
                    origin_probe: m.origin_probe,
                });
            }
        }
    }
    // The client went to another name of the group without a clean success here. Not for
    // autoconfig: Thunderbird runs its lookups in parallel, so the next connection on the
    // wire is not where it went after this one.
    let sequential = g.pattern != Some(Pattern::Autoconfig);
    let conns: Vec<usize> = (0..g.members.len())
        .filter(|&i| g.members.get(i).is_some_and(|m| m.proto != Proto::Dns))
        .collect();
    for (k, &i) in conns.iter().enumerate() {
        let Some(m) = g.members.get(i) else { continue };
        if m.succeeded() || !sequential {
            continue;
        }
        let next = conns
            .iter()
            .skip(k + 1)
            .filter_map(|&j| g.members.get(j))
            .find(|n| {
                n.name.is_some() && (n.name != m.name || n.proto != m.proto || n.port != m.port)
            });
        let moved = next.and_then(|n| {
            Some(MovedOn {
                name: n.name.clone()?,
                proto: n.proto,
                port: n.port,
                after_secs: n.ts.secs_since(&m.ts),
                followed_redirect: n.origin == Origin::Redirect && n.origin_probe == Some(m.probe),
            })
        });
        if let Some(x) = g.members.get_mut(i) {
            x.moved_on = moved;
        }
    }
    g.mismatches = g
        .members
        .iter()
        .filter(|m| m.verdict == Some(Verdict::Mismatch))
        .map(|m| m.probe)
        .collect();
    let trust_problem = g.members.iter().any(|m| !trust_notes(m).is_empty());
    g.advice = (!g.mismatches.is_empty() || trust_problem).then(|| advice(g));
}

/// Microsoft 365's Autodiscover host: a CNAME target the HTTPS step never matches.
const M365_AUTODISCOVER: &str = "autodiscover.outlook.com";

/// What an Exchange admin does about an Autodiscover group (see docs/groups.md).
fn exchange_notes(g: &Group, a: &mut Advice) {
    let d = &g.domain;
    for m in &g.members {
        let Some(c) = &m.cert else { continue };
        let bad_name = m.verdict == Some(Verdict::Mismatch);
        let shown = c
            .names
            .first()
            .cloned()
            .or_else(|| c.subject_cn.clone())
            .unwrap_or_default();
        let single_label = !shown.is_empty() && !shown.contains('.') && !shown.contains(':');
        // Microsoft 365: expected, not a problem.
        if m.cname_chain.iter().any(|n| n == M365_AUTODISCOVER) && bad_name {
            let name = m.name.clone().unwrap_or_default();
            let note = Note::Microsoft365 { name: name.clone() };
            a.notes
                .retain(|n| !matches!(n, Note::CnameElsewhere { name: x, .. } if *x == name));
            // Nothing to put on a certificate of the domain's own for it.
            a.san.retain(|n| *n != name);
            if !a.notes.contains(&note) {
                a.notes.push(note);
            }
            continue;
        }
        if bad_name && (c.self_signed || single_label) {
            let note = Note::ExchangeCertificate {
                server: SocketAddr::new(m.server, m.port),
                shown,
                self_signed: c.self_signed,
                names: a.san.clone(),
            };
            if !a.notes.iter().any(
                |n| matches!(n, Note::ExchangeCertificate { server, .. } if *server == SocketAddr::new(m.server, m.port)),
            ) {
                a.notes.push(note);
            }
        }
        // The ExcludeHttpsRootDomain way out is Outlook's: not for ActiveSync's phones.
        if bad_name
            && g.pattern == Some(Pattern::Autodiscover)
            && matches!(&m.step, Some(Step::AutodiscoverRoot(_)))
        {
            let note = Note::RootDomainStep {
                domain: d.clone(),
                server: SocketAddr::new(m.server, m.port),
            };
            if !a.notes.contains(&note) {
                a.notes.push(note);
            }
        }
    }
}

/// The fixes the trust verdict of one member asks for.
fn trust_notes(m: &Member) -> Vec<Note> {
    let Some(t) = &m.trust else { return Vec::new() };
    let server = SocketAddr::new(m.server, m.port);
    let mut n = Vec::new();
    match t.validity {
        Validity::Expired { not_after, .. } => n.push(Note::Renew { server, not_after }),
        Validity::NotYetValid { not_before, .. } => {
            n.push(Note::NotYetValid { server, not_before })
        }
        Validity::Valid | Validity::Unknown => {}
    }
    match &t.chain {
        ChainTrust::Trusted { .. } | ChainTrust::NotChecked | ChainTrust::NotKept => {}
        ChainTrust::SelfSigned { .. } => n.push(Note::SelfSigned { server }),
        ChainTrust::IncompleteChain { missing, aia } => n.push(Note::SendIntermediate {
            server,
            missing: missing.clone(),
            aia: aia.clone(),
        }),
        ChainTrust::UnknownIssuer { issuer, .. } => n.push(Note::UntrustedIssuer {
            server,
            issuer: issuer.clone(),
        }),
        ChainTrust::BadSignature
        | ChainTrust::NotForServers
        | ChainTrust::CaAsLeaf
        | ChainTrust::IssuerExpired { .. }
        | ChainTrust::UnsupportedAlgorithm
        | ChainTrust::Invalid(_) => n.push(Note::ChainRejected {
            server,
            chain: t.chain.clone(),
        }),
    }
    for note in &t.notes {
        n.push(Note::Policy {
            server,
            note: *note,
        });
    }
    n
}

fn advice(g: &Group) -> Advice {
    let mut a = Advice::default();
    let d = &g.domain;
    let mut elsewhere: Vec<(String, bool)> = Vec::new();
    for m in &g.members {
        if !matches!(m.proto, Proto::Tls | Proto::Quic) {
            continue;
        }
        let Some(n) = m.name.as_ref().filter(|n| n.parse::<IpAddr>().is_err()) else {
            continue;
        };
        let bad = m.verdict == Some(Verdict::Mismatch);
        if registrable(n) == *d {
            if !a.san.contains(n) {
                a.san.push(n.clone());
            }
        } else if let Some(e) = elsewhere.iter_mut().find(|e| e.0 == *n) {
            e.1 |= bad;
        } else {
            elsewhere.push((n.clone(), bad));
        }
    }
    for (name, mismatch) in elsewhere {
        a.notes.push(Note::OtherDomain { name, mismatch });
    }
    let suffix = format!(".{d}");
    let one_below = |n: &str| n.strip_suffix(&suffix).is_some_and(|l| !l.contains('.'));
    if a.san.iter().any(|n| one_below(n)) {
        a.wildcard = Some(format!("*.{d}"));
        for n in &a.san {
            let why = if n == d {
                UncoveredWhy::Apex
            } else if !n.ends_with(&suffix) {
                UncoveredWhy::NotUnderDomain
            } else if !one_below(n) {
                UncoveredWhy::TooDeep
            } else {
                continue;
            };
            a.wildcard_cannot_cover.push(Uncovered {
                name: n.clone(),
                why,
            });
        }
    }
    let mut seen_cname: Vec<String> = Vec::new();
    for m in &g.members {
        let Some(n) = m.name.as_ref() else { continue };
        let Some(target) = m.cname_chain.last() else {
            continue;
        };
        if m.verdict == Some(Verdict::Mismatch)
            && registrable(target) != *d
            && !seen_cname.contains(n)
        {
            seen_cname.push(n.clone());
            a.notes.push(Note::CnameElsewhere {
                name: n.clone(),
                target: target.clone(),
                server: SocketAddr::new(m.server, m.port),
            });
        }
    }
    let mut seen_self_signed: Vec<SocketAddr> = Vec::new();
    for m in &g.members {
        let self_signed = m.cert.as_ref().is_some_and(|c| c.self_signed);
        let server = SocketAddr::new(m.server, m.port);
        if m.verdict == Some(Verdict::Mismatch)
            && self_signed
            && !seen_self_signed.contains(&server)
        {
            seen_self_signed.push(server);
            a.notes.push(Note::SelfSigned { server });
        }
    }
    if matches!(g.pattern, Some(Pattern::Autodiscover | Pattern::ActiveSync)) {
        exchange_notes(g, &mut a);
    }
    if g.mismatches.is_empty() {
        // Only the chain needs fixing: no SAN list.
        a.san.clear();
        a.wildcard = None;
        a.wildcard_cannot_cover.clear();
        a.notes.clear();
    }
    // The chain's fixes, once per note (a server shows one certificate to many probes).
    for m in &g.members {
        for n in trust_notes(m) {
            if !a.notes.contains(&n) {
                a.notes.push(n);
            }
        }
    }
    let plain: Vec<String> = g
        .members
        .iter()
        .filter(|m| m.proto == Proto::Http)
        .filter_map(|m| m.name.clone())
        .filter(|n| !a.san.contains(n))
        .filter(|n| {
            !g.members
                .iter()
                .any(|x| matches!(x.proto, Proto::Tls | Proto::Quic) && x.name.as_ref() == Some(n))
        })
        .fold(Vec::new(), |mut v, n| {
            if !v.contains(&n) {
                v.push(n);
            }
            v
        });
    if !plain.is_empty() {
        a.notes.push(Note::PlainHttpOnly(plain));
    }
    a
}

#[cfg(test)]
mod tests;
