//! Counters from every stage, shown at the end of a report.

use serde_json::{json, Value};

use crate::capture::KernelStats;
use crate::correlate::CorrelateStats;
use crate::decode::DecodeStats;
use crate::parse::ParseStats;
use crate::reassemble::ReassemblyStats;

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub files: Vec<String>,
    /// Files of a directory given with -r that were passed over: not captures.
    pub files_skipped: Vec<String>,
    /// The interface of a live capture, and libpcap's counters for it.
    pub interface: Option<String>,
    pub kernel: Option<KernelStats>,
    pub decode: DecodeStats,
    pub reassembly: ReassemblyStats,
    pub parse: ParseStats,
    pub correlate: CorrelateStats,
    /// Probes of a streamed capture-file report written before their reorder window
    /// passed (too many waited).
    pub reorder_forced: u64,
    /// Threads the pipeline ran on (`--threads`, at most two).
    pub threads: usize,
    /// The key log's counters, when one was given (`--keylog`, a Decryption Secrets Block).
    pub keylog: Option<KeyLogCounts>,
}

/// The key log's counters: its lines, and what its secrets opened.
#[derive(Clone, Debug, Default)]
pub struct KeyLogCounts {
    pub log: crate::parse::keylog::KeyLogStats,
    /// Client randoms held now.
    pub randoms: usize,
    /// Re-reads of a growing key log file that failed (a live capture).
    pub read_errors: u64,
}

impl Stats {
    /// What the table's stats line calls evictions: every counter of the JSON `evictions`
    /// (so that no bound is left out of one of the two) but `flows_idle` (said apart, as
    /// flows that ended idle), `probes_dropped` and `reorder_window` (said apart: no
    /// probe is lost by them).
    pub fn evictions_total(&self) -> u64 {
        self.sum_of(
            "evictions",
            &["flows_idle", "probes_dropped", "reorder_window"],
        )
    }

    /// Every counter of the JSON `gaps`.
    pub fn gaps_total(&self) -> u64 {
        self.sum_of("gaps", &[])
    }

    fn sum_of(&self, key: &str, except: &[&str]) -> u64 {
        self.to_json()
            .get(key)
            .and_then(|v| v.as_object())
            .map_or(0, |o| {
                o.iter()
                    .filter(|(k, _)| !except.contains(&k.as_str()))
                    .filter_map(|(_, v)| v.as_u64())
                    .sum()
            })
    }

    pub fn to_json(&self) -> Value {
        let d = &self.decode;
        let r = &self.reassembly;
        let p = &self.parse;
        let c = &self.correlate;
        let mut v = json!({
            "files": self.files,
            "files_skipped": self.files_skipped,
            "threads": self.threads,
            "packets": d.packets,
            "bytes": d.bytes,
            "tcp_packets": d.tcp,
            "udp_packets": d.udp,
            "other_packets": d.other,
            "flows": r.flows,
            "flows_mid_stream": r.flows_mid_stream,
            "peak_flows": r.peak_flows,
            "peak_buffered_bytes": r.peak_buffered_bytes,
            "peak_budget_bytes": r.peak_budget_bytes,
            "tls_streams": p.tls_streams,
            "http_streams": p.http_streams,
            "dns_messages": p.dns_messages,
            "quic": {
                "datagrams": p.quic.datagrams,
                "initials_decrypted": p.quic.initials_decrypted,
                "undecryptable": p.quic.undecryptable,
                "hellos": p.quic.hellos,
                "malformed": p.quic.malformed,
                "undecoded_versions": p
                    .quic
                    .undecoded_versions
                    .iter()
                    .map(|(v, n)| (format!("0x{v:08x}"), serde_json::Value::from(n)))
                    .collect::<serde_json::Map<String, serde_json::Value>>(),
                "undecoded_other_versions": p.quic.undecoded_versions.other,
            },
            "evictions": {
                "flows_idle": r.flows_ended_idle,
                "flows_table_full": r.flows_evicted,
                "ip_fragments": d.fragment_evictions,
                "dns_map": c.dns_map_evictions,
                "dns_pending": c.dns_pending_evictions,
                "dns_answered": c.dns_answered_evictions,
                "probes_dropped": c.probes_dropped,
                "clients": c.clients_evicted,
                "client_names": c.client_names_dropped,
                "quic_conns": p.quic.conn_evictions,
                "quic_crypto_over_limit": p.quic.crypto_over_limit,
                "quic_pending": c.quic_pending_evictions,
                "ech_names": c.ech_name_evictions,
                "groups": c.groups_evicted,
                "group_members": c.group_members_dropped,
                "group_links": c.group_links_evicted,
                "chain_certs": c.chain_certs_not_kept,
                "client_macs": c.client_macs_evicted,
                "tls_alerts": c.tls_alerts_not_kept,
                "reorder_window": self.reorder_forced,
                "buffer_budget": r.budget_drops,
                // last: moved to the front when flows_idle is taken out (json.rs)
                "cert_cache": p.cert_cache_evictions,
            },
            "cert_cache": {
                "hits": p.cert_cache_hits,
                "parsed": p.cert_cache_parsed,
            },
            "probes_timed_out": c.probes_timed_out,
            "gaps": {
                "not_captured": r.gaps_not_captured,
                "snaplen": r.gaps_snaplen,
                "buffer_limit": r.gaps_buffer_limit + p.buffer_limit_hits,
            },
            "out_of_order_segments": r.out_of_order_segments,
            "retransmitted_bytes": r.retransmitted_bytes,
            "conflicting_bytes": r.conflicting_bytes,
            "bytes_skipped_after_handshake": r.bytes_skipped_after_handshake,
            "ip_fragments_reassembled": d.fragments_reassembled,
            "decode_problems": d.problems,
            "unknown_link_types": d.unknown_link_types,
            "dns_unreadable": p.dns_unreadable,
            "dns_answers_without_query": c.dns_answers_unmatched,
            "dns_queries_repeated": c.dns_queries_repeated,
            "dns_answers_repeated": c.dns_answers_repeated,
            "not_tls_after_start": p.not_tls_after_start,
            "parse": {
                "tls_malformed": p.tls_malformed,
                "http_unparsable": p.http_unparsable,
                "http_lines_skipped": p.http_lines_skipped,
                "http_responses_to_unparsable": p.http_responses_to_unparsable,
                "http_requests_unpaired": p.http_requests_unpaired,
                "http_heads_cut": p.http_heads_cut,
                "starttls_refused": p.starttls_refused,
                "starttls_long_lines": p.starttls_long_lines,
                "socks_refused": p.socks_refused,
                "socks_unreadable": p.socks_unreadable,
                "dns_tcp_over_limit": p.dns_tcp_over_limit,
                "detections_over_limit": p.detections_over_limit,
            },
        });
        if let (None, Some(o)) = (&self.keylog, v.as_object_mut()) {
            o.insert("keylog".into(), Value::Null);
        }
        if let (Some(k), Some(o)) = (&self.keylog, v.as_object_mut()) {
            let dec = |d: &crate::parse::tls13::DecryptStats| {
                json!({
                    "decrypted": d.decrypted,
                    "auth_failures": d.auth_failures,
                    "no_key": d.no_key,
                    "certificates": d.certificates,
                    "unsupported_suite": d.unsupported_suite,
                    "over_limit": d.over_limit,
                })
            };
            o.insert(
                "keylog".into(),
                json!({
                    "lines": k.log.lines,
                    "secrets": k.log.secrets,
                    "client_randoms": k.randoms,
                    "tls12_lines": k.log.tls12_lines,
                    "unknown_labels": k.log.unknown_labels,
                    "unreadable": k.log.unreadable,
                    "evictions": k.log.evictions,
                    "truncations": k.log.truncations,
                    "stream_cut": k.log.stream_cut,
                    "read_errors": k.read_errors,
                    "tls": dec(&p.tls_decrypt),
                    "quic": dec(&p.quic.decrypt),
                }),
            );
        }
        if let (Some(k), Some(o)) = (&self.kernel, v.as_object_mut()) {
            o.insert(
                "capture".into(),
                json!({
                    "interface": self.interface,
                    "received": k.received,
                    "dropped": k.dropped,
                    "if_dropped": k.if_dropped,
                }),
            );
        }
        v
    }
}
