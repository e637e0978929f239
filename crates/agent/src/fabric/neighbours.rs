//! Underlay next-hop resolution, sans I/O: for each tunnel endpoint in use, the MAC to send
//! its packets to (the endpoint's own when it is on the fabric interface's subnet, else the
//! fabric gateway's), learned from ARP frames seen on the fabric and asked for by ARP
//! requests, retried while unanswered and refreshed before entries go old.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

use cirrus_dataplane::wire::MacAddr;

/// The fabric interface's addressing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FabricAddr {
    pub ip: Ipv4Addr,
    pub prefix_len: u8,
    pub mac: MacAddr,
    /// Default gateway on the fabric, for endpoints off the subnet.
    pub gateway: Option<Ipv4Addr>,
}

impl FabricAddr {
    fn on_link(&self, a: Ipv4Addr) -> bool {
        let m = if self.prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix_len.min(32))
        };
        a.to_bits() & m == self.ip.to_bits() & m
    }

    /// Who to ARP for to reach `endpoint`.
    pub fn next_hop(&self, endpoint: Ipv4Addr) -> Option<Ipv4Addr> {
        if self.on_link(endpoint) {
            Some(endpoint)
        } else {
            self.gateway
        }
    }
}

/// Settings (seconds).
#[derive(Debug, Clone, Copy)]
pub struct Timers {
    /// Retry an unanswered request after this long.
    pub retry: u64,
    /// Ask again for an entry this old (kept meanwhile).
    pub refresh: u64,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            retry: 1,
            refresh: 60,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    mac: MacAddr,
    learned: u64,
}

/// Inputs.
#[derive(Debug, Clone)]
pub enum Event {
    /// The endpoints in use now.
    Want(BTreeSet<Ipv4Addr>),
    /// An ARP frame on the fabric said `ip` is at `mac`.
    Seen {
        ip: Ipv4Addr,
        mac: MacAddr,
        now: u64,
    },
    Tick {
        now: u64,
    },
}

/// The resolver.
#[derive(Debug)]
pub struct Neighbours {
    me: FabricAddr,
    timers: Timers,
    wanted: BTreeSet<Ipv4Addr>,
    entries: HashMap<Ipv4Addr, Entry>,
    /// Next hop -> when last asked.
    asked: HashMap<Ipv4Addr, u64>,
    pub requests_sent: u64,
    pub learned: u64,
}

/// What the resolver decided.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Next hops to send an ARP request for.
    pub ask: Vec<Ipv4Addr>,
    /// The endpoint -> MAC map changed.
    pub changed: bool,
}

impl Neighbours {
    pub fn new(me: FabricAddr, timers: Timers) -> Self {
        Self {
            me,
            timers,
            wanted: BTreeSet::new(),
            entries: HashMap::new(),
            asked: HashMap::new(),
            requests_sent: 0,
            learned: 0,
        }
    }

    pub fn me(&self) -> &FabricAddr {
        &self.me
    }

    /// The transition function.
    pub fn handle(&mut self, ev: Event) -> Outcome {
        let mut out = Outcome::default();
        match ev {
            Event::Want(w) => {
                self.wanted = w;
                self.ask_missing(None, &mut out);
            }
            Event::Seen { ip, mac, now } => {
                if ip == self.me.ip || !self.me.on_link(ip) {
                    return out;
                }
                let before = self.entries.get(&ip).map(|e| e.mac);
                self.entries.insert(ip, Entry { mac, learned: now });
                self.asked.remove(&ip);
                if before != Some(mac) {
                    self.learned += 1;
                    tracing::debug!(%ip, %mac, "fabric neighbour");
                    out.changed = self.wanted.iter().any(|e| self.me.next_hop(*e) == Some(ip));
                }
            }
            Event::Tick { now } => self.ask_missing(Some(now), &mut out),
        }
        self.requests_sent += out.ask.len() as u64;
        out
    }

    fn ask_missing(&mut self, now: Option<u64>, out: &mut Outcome) {
        let hops: BTreeSet<Ipv4Addr> = self
            .wanted
            .iter()
            .filter_map(|e| self.me.next_hop(*e))
            .collect();
        for h in hops {
            let stale = match (self.entries.get(&h), now) {
                (None, _) => true,
                (Some(e), Some(now)) => now.saturating_sub(e.learned) >= self.timers.refresh,
                (Some(_), None) => false,
            };
            if !stale {
                continue;
            }
            let due = match (self.asked.get(&h), now) {
                (None, _) => true,
                (Some(at), Some(now)) => now.saturating_sub(*at) >= self.timers.retry,
                (Some(_), None) => false,
            };
            if due {
                self.asked.insert(h, now.unwrap_or(0));
                out.ask.push(h);
            }
        }
    }

    /// Endpoint -> MAC for every wanted endpoint whose next hop is known.
    pub fn resolved(&self) -> HashMap<Ipv4Addr, MacAddr> {
        self.wanted
            .iter()
            .filter_map(|e| {
                let h = self.me.next_hop(*e)?;
                Some((*e, self.entries.get(&h)?.mac))
            })
            .collect()
    }

    /// Every neighbour known (dump).
    pub fn table(&self) -> BTreeMap<Ipv4Addr, MacAddr> {
        self.entries.iter().map(|(k, v)| (*k, v.mac)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> FabricAddr {
        FabricAddr {
            ip: Ipv4Addr::new(198, 18, 0, 11),
            prefix_len: 24,
            mac: MacAddr([2, 0xfa, 0, 0, 0, 11]),
            gateway: Some(Ipv4Addr::new(198, 18, 0, 1)),
        }
    }

    #[test]
    fn asks_retries_learns_and_routes_off_link_endpoints_via_the_gateway() {
        let mut n = Neighbours::new(
            me(),
            Timers {
                retry: 2,
                refresh: 60,
            },
        );
        let peer = Ipv4Addr::new(198, 18, 0, 12);
        let far = Ipv4Addr::new(198, 19, 5, 5);
        let o = n.handle(Event::Want([peer, far].into()));
        assert_eq!(o.ask, vec![Ipv4Addr::new(198, 18, 0, 1), peer]);
        assert!(n.resolved().is_empty());
        // Not due yet, then due.
        assert!(n.handle(Event::Tick { now: 1 }).ask.is_empty());
        assert_eq!(n.handle(Event::Tick { now: 2 }).ask.len(), 2);
        let pm = MacAddr([2, 0xfa, 0, 0, 0, 12]);
        let gm = MacAddr([2, 0xfa, 0, 0, 0, 1]);
        assert!(
            n.handle(Event::Seen {
                ip: peer,
                mac: pm,
                now: 3
            })
            .changed
        );
        assert!(
            n.handle(Event::Seen {
                ip: Ipv4Addr::new(198, 18, 0, 1),
                mac: gm,
                now: 3
            })
            .changed
        );
        // Learning the same again changes nothing; strangers off the subnet are ignored.
        assert!(
            !n.handle(Event::Seen {
                ip: peer,
                mac: pm,
                now: 4
            })
            .changed
        );
        assert!(
            !n.handle(Event::Seen {
                ip: far,
                mac: pm,
                now: 4
            })
            .changed
        );
        let r = n.resolved();
        assert_eq!((r[&peer], r[&far]), (pm, gm));
        assert!(n.handle(Event::Tick { now: 10 }).ask.is_empty());
        // Old entries are asked for again (and kept meanwhile).
        assert_eq!(n.handle(Event::Tick { now: 64 }).ask.len(), 2);
        assert_eq!(n.resolved().len(), 2);
    }
}
