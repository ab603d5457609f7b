//! One host, not one address: a dual-stack client tries names over IPv4 and IPv6, and
//! its probes belong together. Where the link layer shows the client's MAC address, the
//! addresses that use one MAC are one host, unless that MAC is a router's: a MAC that
//! carries more than one IPv4 address, or more than [`MAX_ADDRESSES_PER_HOST`]
//! addresses, sits in front of many machines and its addresses stay apart.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::decode::Mac;

/// Addresses one machine plausibly has on one interface: an IPv4, a link-local, a few
/// global and temporary IPv6 addresses.
pub const MAX_ADDRESSES_PER_HOST: usize = 8;

/// A client host: the addresses merged under one MAC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// The address the host is listed under: its IPv4, else its first address seen.
    pub primary: IpAddr,
    /// Its other addresses, in first-seen order.
    pub also: Vec<IpAddr>,
    pub mac: Mac,
}

/// A MAC whose addresses were kept apart, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Router {
    pub mac: Mac,
    pub addresses: usize,
    pub ipv4: usize,
}

/// The merge: address → its host (only for addresses merged with another), and the MACs
/// taken for routers.
#[derive(Clone, Debug, Default)]
pub struct Hosts {
    pub of: HashMap<IpAddr, Host>,
    pub routers: Vec<Router>,
}

/// Merges `clients` (in first-seen order) by the MAC each was seen with.
pub fn merge(clients: &[IpAddr], mac_of: &dyn Fn(IpAddr) -> Option<Mac>) -> Hosts {
    // The MACs in the order first seen, indexed (20,000 clients of as many MACs must not
    // cost a scan each).
    let mut by_mac: Vec<(Mac, Vec<IpAddr>)> = Vec::new();
    let mut index: HashMap<Mac, usize> = HashMap::new();
    for c in clients {
        let Some(mac) = mac_of(*c) else { continue };
        match index.get(&mac).and_then(|&i| by_mac.get_mut(i)) {
            Some((_, v)) => {
                if !v.contains(c) {
                    v.push(*c);
                }
            }
            None => {
                index.insert(mac, by_mac.len());
                by_mac.push((mac, vec![*c]));
            }
        }
    }
    let mut hosts = Hosts::default();
    for (mac, addrs) in by_mac {
        if addrs.len() < 2 {
            continue;
        }
        let ipv4 = addrs.iter().filter(|a| a.is_ipv4()).count();
        if ipv4 > 1 || addrs.len() > MAX_ADDRESSES_PER_HOST {
            hosts.routers.push(Router {
                mac,
                addresses: addrs.len(),
                ipv4,
            });
            continue;
        }
        let Some(primary) = addrs
            .iter()
            .copied()
            .find(IpAddr::is_ipv4)
            .or_else(|| addrs.first().copied())
        else {
            continue;
        };
        let also: Vec<IpAddr> = addrs.iter().copied().filter(|a| *a != primary).collect();
        let host = Host { primary, also, mac };
        for a in addrs {
            hosts.of.insert(a, host.clone());
        }
    }
    hosts
}

/// The merge built as MACs are learned, for a report written while the capture is read
/// (streamed JSON): an address's host is decided from the addresses its MAC carried up
/// to then, by the same rule as [`merge`]. At most `max_macs` MACs are indexed (the rest
/// stay apart), and at most one address more than a host may have per MAC.
#[derive(Debug, Default)]
pub struct Incremental {
    by_mac: HashMap<Mac, Vec<IpAddr>>,
    max_macs: usize,
}

impl Incremental {
    pub fn new(max_macs: usize) -> Self {
        Incremental {
            by_mac: HashMap::new(),
            max_macs,
        }
    }

    /// Notes that `ip` was seen with `mac`.
    pub fn learn(&mut self, ip: IpAddr, mac: Mac) {
        if !self.by_mac.contains_key(&mac) && self.by_mac.len() >= self.max_macs {
            return;
        }
        let v = self.by_mac.entry(mac).or_default();
        if !v.contains(&ip) && v.len() <= MAX_ADDRESSES_PER_HOST {
            v.push(ip);
        }
    }

    /// The host `ip` belongs to when it shares its MAC with other addresses of one machine.
    pub fn host(&self, ip: IpAddr, mac: &Mac) -> Option<Host> {
        let addrs = self.by_mac.get(mac)?;
        if addrs.len() < 2 || !addrs.contains(&ip) {
            return None;
        }
        let ipv4 = addrs.iter().filter(|a| a.is_ipv4()).count();
        if ipv4 > 1 || addrs.len() > MAX_ADDRESSES_PER_HOST {
            return None;
        }
        let primary = addrs
            .iter()
            .copied()
            .find(IpAddr::is_ipv4)
            .or_else(|| addrs.first().copied())?;
        let also = addrs.iter().copied().filter(|a| *a != primary).collect();
        Some(Host {
            primary,
            also,
            mac: *mac,
        })
    }

    /// The MACs taken for routers.
    pub fn routers(&self) -> Vec<Router> {
        let mut r: Vec<Router> = self
            .by_mac
            .iter()
            .filter_map(|(mac, addrs)| {
                let ipv4 = addrs.iter().filter(|a| a.is_ipv4()).count();
                let router = addrs.len() >= 2 && (ipv4 > 1 || addrs.len() > MAX_ADDRESSES_PER_HOST);
                router.then_some(Router {
                    mac: *mac,
                    addresses: addrs.len(),
                    ipv4,
                })
            })
            .collect();
        r.sort_by_key(|r| r.mac);
        r
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_dual_stack_host_is_one_and_a_router_is_not() {
        let (a, b) = ([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let clients = [
            ip("2001:db8::5"),
            ip("10.0.0.5"),
            ip("10.0.0.6"),
            ip("10.0.0.7"),
        ];
        let macs: HashMap<IpAddr, Mac> = [
            (clients[0], a),
            (clients[1], a),
            (clients[2], b),
            (clients[3], b),
        ]
        .into_iter()
        .collect();
        let h = merge(&clients, &|c| macs.get(&c).copied());
        let host = &h.of[&ip("2001:db8::5")];
        assert_eq!(host.primary, ip("10.0.0.5"), "listed under its IPv4");
        assert_eq!(host.also, vec![ip("2001:db8::5")]);
        // b carries two IPv4 addresses: a router, kept apart.
        assert!(!h.of.contains_key(&ip("10.0.0.6")));
        assert_eq!(
            h.routers,
            vec![Router {
                mac: b,
                addresses: 2,
                ipv4: 2
            }]
        );
    }
}
