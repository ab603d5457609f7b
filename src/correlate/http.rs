//! HTTP: one probe per request, settled by its final response. The requests of a TCP
//! connection wait in its [`HttpFlow`] (kept by the TCP tracker, [`super::tls`]).

use std::collections::VecDeque;
use std::net::SocketAddr;

use super::{Cx, HttpDetails, NameSource, Outcome, Probe, ProbeKind};
use crate::capture::Timestamp;
use crate::parse::http;

/// The HTTP side of one TCP connection.
#[derive(Default)]
pub struct HttpFlow {
    /// Requests still waiting for a response, oldest first.
    waiting: VecDeque<Probe>,
    /// A request was seen (the connection is HTTP, not a TLS attempt).
    pub seen: bool,
    /// The host of the connection's CONNECT request, if it sent one: the name asked for
    /// of what runs in the tunnel.
    pub connect_target: Option<String>,
}

/// "example.com:8080" → "example.com"; "[::1]:80" → "::1".
fn host_only(h: &str) -> String {
    let h = h.trim();
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    if h.matches(':').count() == 1 {
        return h.split(':').next().unwrap_or("").to_string();
    }
    h.to_string()
}

impl HttpFlow {
    pub fn request(
        &mut self,
        cx: &mut Cx,
        ts: Timestamp,
        (client, server): (SocketAddr, SocketAddr),
        req: http::Request,
    ) {
        let host = req.host.clone();
        // CONNECT's target (authority form, `host:port`) names the host asked for.
        let target = (req.method == "CONNECT")
            .then(|| host_only(&req.path))
            .filter(|t| !t.is_empty());
        if target.is_some() {
            self.connect_target.clone_from(&target);
        }
        let (name, source) = match (host.as_deref().map(host_only), target) {
            (Some(h), _) if !h.is_empty() => (Some(h), Some(NameSource::HttpHost)),
            (_, Some(t)) => (Some(t), Some(NameSource::ConnectTarget)),
            _ => match cx.dns_name(client.ip(), server.ip()) {
                Some(n) => (Some(n), Some(NameSource::DnsAnswer)),
                None => (None, None),
            },
        };
        let details = HttpDetails {
            method: req.method,
            path: req.path,
            host,
            status: None,
            location: None,
            request_cut: req.cut,
        };
        let probe = Probe {
            name,
            name_source: source,
            ..Probe::new(
                ts,
                client,
                server,
                ProbeKind::Http(details),
                Outcome::HttpWaiting,
            )
        };
        // The parse stage forgets the oldest request past the same bound, so the next
        // response pairs with the same request on both sides.
        if self.waiting.len() >= crate::parse::http::MAX_PENDING_REQUESTS {
            if let Some(mut old) = self.waiting.pop_front() {
                old.outcome = Outcome::HttpUnpaired;
                cx.emit(old);
            }
        }
        self.waiting.push_back(probe);
        self.seen = true;
    }

    pub fn response(&mut self, cx: &mut Cx, resp: http::Response) {
        let Some(p) = self.waiting.front_mut() else {
            return;
        };
        let request_cut = match &p.kind {
            ProbeKind::Http(h) => h.request_cut,
            _ => None,
        };
        p.outcome = Outcome::HttpResponse {
            status: resp.status,
            location: resp.location.clone(),
            head_cut: resp.cut.or(request_cut),
        };
        if let ProbeKind::Http(h) = &mut p.kind {
            h.status = Some(resp.status);
            h.location = resp.location;
        }
        // 1xx but 101 is interim: the request still waits for its final response.
        if http::is_final(resp.status) {
            if let Some(p) = self.waiting.pop_front() {
                cx.emit(p);
            }
        }
    }

    /// Requests waiting longer than the probe timeout are reported without a response.
    pub fn expire(&mut self, cx: &mut Cx, now: Timestamp) {
        let limit = cx.timeout();
        while self
            .waiting
            .front()
            .is_some_and(|p| now.secs_since(&p.ts) > limit)
        {
            if let Some(mut p) = self.waiting.pop_front() {
                p.outcome = Outcome::HttpTimedOut(limit);
                cx.stats.probes_timed_out += 1;
                cx.emit(p);
            }
        }
    }

    /// The connection ended: every request still waiting is reported.
    pub fn end(&mut self, cx: &mut Cx, evicted: bool) {
        for mut p in std::mem::take(&mut self.waiting) {
            if evicted {
                p.outcome = Outcome::TrackingDropped;
            }
            cx.emit(p);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use crate::capture::Timestamp;
    use crate::correlate::{CorrelateLimits, Correlator, Outcome, Probe};
    use crate::parse::{http, Parsed};

    const FLOW: u64 = 1;

    fn ts(ms: i64) -> Timestamp {
        Timestamp::new(1_800_000_000 + ms / 1000, ((ms % 1000) * 1_000_000) as u32)
    }

    fn request(c: &mut Correlator, i: usize) {
        c.push(Parsed::HttpRequest {
            flow: FLOW,
            ts: ts(1 + i as i64 / 100),
            req: http::Request {
                method: "GET".into(),
                path: format!("/{i}"),
                host: Some("www.example.com".into()),
                cut: None,
            },
        });
    }

    fn path(p: &Probe) -> String {
        p.http().unwrap().path.clone()
    }

    /// The correlator held every pipelined request that waited for its response, without
    /// bound (the parse stage forgot the oldest past 64, the correlator kept them: review
    /// finding): past the same bound the oldest is reported as not paired, and the next
    /// response pairs with the request the parse stage pairs it with.
    #[test]
    fn pipelined_requests_past_the_bound_are_reported_unpaired_not_held() {
        let mut c = Correlator::new(CorrelateLimits::default());
        c.push(Parsed::Opened {
            flow: FLOW,
            ts: ts(0),
            client: "198.51.100.10:40000".parse().unwrap(),
            server: "192.0.2.10:80".parse().unwrap(),
            saw_syn: true,
            client_mac: None,
        });
        let n = http::MAX_PENDING_REQUESTS + 136;
        for i in 0..n {
            request(&mut c, i);
        }
        let mut out = Vec::new();
        c.take_ready(&mut out);
        assert_eq!(out.len(), 136);
        assert!(out.iter().all(|p| p.outcome == Outcome::HttpUnpaired));
        assert_eq!(path(&out[0]), "/0");
        assert_eq!(path(&out[135]), "/135");
        c.push(Parsed::HttpResponse {
            flow: FLOW,
            ts: ts(5),
            resp: http::Response {
                status: 200,
                location: None,
                cut: None,
            },
        });
        let mut out = Vec::new();
        c.take_ready(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(path(&out[0]), "/136");
        assert!(matches!(
            out[0].outcome,
            Outcome::HttpResponse { status: 200, .. }
        ));
    }
}
