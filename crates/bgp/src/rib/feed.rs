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
