//! What the control node's route server needs from the RIB, beyond BGP itself:
//!
//! - a feed of instance-route changes from peers: which (instance, key) pairs had their
//!   peer-learned paths change since the last look, with the paths now there, so the routes
//!   gateways send reach the vrouters subscribed to the instance;
//! - VPN routes originated on behalf of an owner (a vrouter) straight into the global table,
//!   each with its own RD, so two vrouters' paths for one prefix stay two destinations (as
//!   Contrail's `<vrouter address>:<instance index>` RDs do) instead of one instance path.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use super::best::{Path, Source};
use super::{Rib, RibError};
use crate::attrs::PathAttrs;
use crate::ext_community::ExtCommunity;
use crate::types::{Family, Labels, Nlri};

/// One peer-learned path of an instance key.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPath {
    /// The peer it came from.
    pub peer: IpAddr,
    pub next_hop: Option<IpAddr>,
    pub labels: Labels,
    pub ext_communities: Vec<ExtCommunity>,
    pub stale: bool,
}

/// The peer-learned paths now in an instance for one key (empty: none left).
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRouteChange {
    pub instance: String,
    /// `Inet`, `Inet6` or `Evpn` (RD zeroed).
    pub key: Nlri,
    pub paths: Vec<FeedPath>,
}

/// A VPN route (its key carries the RD) originated by an owner.
#[derive(Debug, Clone, PartialEq)]
pub struct VpnRoute {
    pub key: Nlri,
    pub labels: Labels,
    pub attrs: Arc<PathAttrs>,
}

impl Rib {
    /// Starts recording instance-route changes from peers (see
    /// [`Rib::take_instance_changes`]).
    pub fn enable_instance_feed(&mut self) {
        self.feed.get_or_insert_with(HashSet::new);
    }

    /// The instance keys whose peer-learned paths changed since the last call, with the
    /// paths they have now. Call after [`Rib::flush`] (imports happen there).
    pub fn take_instance_changes(&mut self) -> Vec<InstanceRouteChange> {
        let Some(f) = self.feed.as_mut() else {
            return Vec::new();
        };
        let keys = std::mem::take(f);
        let mut out = Vec::with_capacity(keys.len());
        for (instance, key) in keys {
            let paths = self
                .instances
                .get(&instance)
                .and_then(|i| i.table.get(&key))
                .map(|d| {
                    d.paths
                        .iter()
                        .filter_map(|p| match &*p.source {
                            Source::Peer { address, .. } => Some(FeedPath {
                                peer: *address,
                                next_hop: p.attrs.next_hop,
                                labels: p.labels,
                                ext_communities: p.attrs.ext_communities.clone(),
                                stale: p.stale,
                            }),
                            Source::Local { .. } => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(InstanceRouteChange {
                instance,
                key,
                paths,
            });
        }
        out
    }

    /// Originates (or replaces) VPN routes of `owner` in the global table; they are
    /// advertised to peers and imported into instances by their targets at the next flush.
    pub fn originate_vpn(
        &mut self,
        owner: &Arc<Source>,
        routes: Vec<VpnRoute>,
    ) -> Result<(), RibError> {
        for r in &routes {
            if !matches!(
                r.key.family(),
                Family::InetVpn | Family::Inet6Vpn | Family::Evpn
            ) {
                return Err(RibError::BadFamily(r.key.to_string()));
            }
            if r.attrs.next_hop.is_none() {
                return Err(RibError::NoNextHop(r.key.to_string()));
            }
        }
        for r in routes {
            let path = Path {
                source: owner.clone(),
                labels: r.labels,
                attrs: r.attrs,
                stale: false,
                imported_from: None,
            };
            self.upsert_global(r.key, path);
        }
        Ok(())
    }

    /// Withdraws VPN routes `owner` originated.
    pub fn withdraw_vpn(&mut self, owner: &Source, keys: &[Nlri]) {
        for k in keys {
            self.remove_global(k, owner);
        }
    }
}

impl Rib {
    /// Every instance key that has peer-learned paths now, with those paths (what a new feed
    /// subscriber starts from).
    pub fn instance_peer_routes(&mut self) -> Vec<InstanceRouteChange> {
        let Some(f) = self.feed.as_mut() else {
            return Vec::new();
        };
        for (name, inst) in &self.instances {
            for (k, d) in &inst.table {
                if d.paths.iter().any(|p| p.source.peer_id().is_some()) {
                    f.insert((name.clone(), k.clone()));
                }
            }
        }
        self.take_instance_changes()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::message::Update;
    use crate::rib::{InstanceConfig, PeerInfo, RibConfig};
    use crate::types::{Label, Labeled, Rd};

    fn rt(n: u32) -> ExtCommunity {
        ExtCommunity::route_target_as2(64512, n)
    }

    fn rib() -> Rib {
        let mut r = Rib::new(RibConfig {
            local_asn: 64512,
            router_id: Ipv4Addr::new(10, 0, 0, 1),
            cluster_id: None,
        });
        r.set_instance(
            "red",
            InstanceConfig {
                rd: None,
                import_targets: vec![rt(1)],
                export_targets: vec![rt(1)],
            },
        );
        r.enable_instance_feed();
        r
    }

    fn vpn(rd: Rd, p: &str) -> Nlri {
        Nlri::InetVpn {
            rd,
            prefix: p.parse().unwrap(),
        }
    }

    fn attrs(nh: [u8; 4]) -> Arc<PathAttrs> {
        Arc::new(PathAttrs {
            next_hop: Some(IpAddr::from(nh)),
            ext_communities: vec![rt(1)],
            ..Default::default()
        })
    }

    #[test]
    fn vrouter_routes_keep_their_own_rds_and_reach_peers() {
        let mut r = rib();
        let peer = PeerInfo {
            address: "192.0.2.1".parse().unwrap(),
            router_id: Ipv4Addr::new(10, 0, 0, 2),
            asn: 65001,
            ibgp: false,
            rr_client: false,
            families: vec![Family::InetVpn],
            llgr: false,
        };
        r.peer_up(1, peer);
        r.flush();
        let (c1, c2) = (
            Arc::new(Source::Local {
                instance: "vrouter:c1".into(),
            }),
            Arc::new(Source::Local {
                instance: "vrouter:c2".into(),
            }),
        );
        let k1 = vpn(Rd::Ip(Ipv4Addr::new(198, 18, 0, 11), 5), "10.1.0.3/32");
        let k2 = vpn(Rd::Ip(Ipv4Addr::new(198, 18, 0, 12), 5), "10.1.0.3/32");
        let route = |k: &Nlri, nh| VpnRoute {
            key: k.clone(),
            labels: Labels::one(Label::mpls(20)),
            attrs: attrs(nh),
        };
        r.originate_vpn(&c1, vec![route(&k1, [198, 18, 0, 11])])
            .unwrap();
        r.originate_vpn(&c2, vec![route(&k2, [198, 18, 0, 12])])
            .unwrap();
        let out = r.flush();
        let sent: Vec<&Nlri> = out
            .iter()
            .flat_map(|(_, u)| u.announce.iter().map(|l| &l.nlri))
            .collect();
        assert!(sent.contains(&&k1) && sent.contains(&&k2), "{sent:?}");
        // Our own vrouters' routes are not "from peers": nothing on the feed.
        assert!(r.take_instance_changes().is_empty());
        // Only the owner withdraws its route.
        r.withdraw_vpn(&c2, std::slice::from_ref(&k1));
        r.withdraw_vpn(&c1, std::slice::from_ref(&k1));
        let out = r.flush();
        let gone: Vec<&Nlri> = out
            .iter()
            .flat_map(|(_, u)| u.withdraw.iter().map(|l| &l.nlri))
            .collect();
        assert_eq!(gone, vec![&k1]);
        assert_eq!(
            r.originate_vpn(
                &c1,
                vec![VpnRoute {
                    key: Nlri::Inet("10.0.0.0/8".parse().unwrap()),
                    labels: Labels::default(),
                    attrs: attrs([1, 1, 1, 1])
                }]
            ),
            Err(RibError::BadFamily("10.0.0.0/8".into()))
        );
    }

    #[test]
    fn peer_routes_imported_into_an_instance_are_fed() {
        let mut r = rib();
        let peer = PeerInfo {
            address: "192.0.2.1".parse().unwrap(),
            router_id: Ipv4Addr::new(10, 0, 0, 2),
            asn: 64512,
            ibgp: true,
            rr_client: false,
            families: vec![Family::InetVpn],
            llgr: false,
        };
        r.peer_up(1, peer);
        let k = vpn(Rd::As2(65001, 7), "192.0.2.0/24");
        let mut u = Update {
            announce: vec![Labeled::with_label(k.clone(), Label::mpls(700))],
            attrs: (*attrs([192, 0, 2, 1])).clone(),
            ..Default::default()
        };
        r.receive(1, &u);
        r.flush();
        let c = r.take_instance_changes();
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].instance, "red");
        assert_eq!(c[0].key, Nlri::Inet("192.0.2.0/24".parse().unwrap()));
        assert_eq!(
            c[0].paths[0].labels.first.map(|l| l.mpls_value()),
            Some(700)
        );
        assert_eq!(c[0].paths[0].next_hop, Some(IpAddr::from([192, 0, 2, 1])));
        // A second subscriber starts from the current content.
        assert_eq!(r.instance_peer_routes().len(), 1);
        // Withdrawn: the key comes again, with no paths.
        u.withdraw = std::mem::take(&mut u.announce);
        r.receive(1, &u);
        r.flush();
        let c = r.take_instance_changes();
        assert_eq!(c.len(), 1);
        assert!(c[0].paths.is_empty());
    }
}
