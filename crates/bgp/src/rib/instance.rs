//! Routing instances (Contrail's VRFs): their targets, route distinguisher and tables, and the
//! mapping between an instance key (plain prefix, EVPN route) and its VPN key in the global table.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::best::{self, Path};
use super::paths::Paths;
use crate::ext_community::ExtCommunity;
use crate::types::{EvpnRoute, Labels, Nlri, Rd};

/// Import/export configuration of one routing instance.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InstanceConfig {
    /// Route distinguisher for routes originated in this instance.
    pub rd: Option<Rd>,
    pub import_targets: Vec<ExtCommunity>,
    pub export_targets: Vec<ExtCommunity>,
}

/// All paths for one destination and which one is best (kept inside [`Paths`]).
#[derive(Debug, Clone, Default)]
pub struct Dest {
    pub paths: Paths,
}

impl Dest {
    /// Recomputes the best path.
    pub fn reselect(&mut self) {
        if self.paths.len() > 1 {
            let b = best::best(&self.paths);
            self.paths.set_best(b);
        }
    }
    pub fn best_path(&self) -> Option<&Path> {
        self.paths.best_index().and_then(|i| self.paths.get(i))
    }
    /// Index of the best path in `paths`.
    pub fn best_index(&self) -> Option<usize> {
        self.paths.best_index()
    }
}

/// One routing instance.
#[derive(Debug, Default)]
pub struct Instance {
    pub cfg: InstanceConfig,
    pub table: HashMap<Nlri, Dest>,
    /// Locally originated routes: instance key -> (labels, attributes before export targets).
    pub local: HashMap<Nlri, (Labels, crate::attrs::PathAttrs)>,
}

impl Instance {
    pub fn imports(&self, targets: &HashSet<ExtCommunity>) -> bool {
        self.cfg.import_targets.iter().any(|t| targets.contains(t))
    }
}

/// The instance-table key of a VPN key: the plain prefix, or the EVPN route with RD zeroed.
pub fn local_key(vpn: &Nlri) -> Option<Nlri> {
    let zero = Rd::As2(0, 0);
    Some(match vpn {
        Nlri::InetVpn { prefix, .. } => Nlri::Inet(*prefix),
        Nlri::Inet6Vpn { prefix, .. } => Nlri::Inet6(*prefix),
        Nlri::Evpn(e) => Nlri::evpn(with_rd(e, zero)),
        _ => return None,
    })
}

/// The VPN key for an instance key under `rd`.
pub fn vpn_key(local: &Nlri, rd: Rd) -> Option<Nlri> {
    Some(match local {
        Nlri::Inet(p) | Nlri::InetVpn { prefix: p, .. } => Nlri::InetVpn { rd, prefix: *p },
        Nlri::Inet6(p) | Nlri::Inet6Vpn { prefix: p, .. } => Nlri::Inet6Vpn { rd, prefix: *p },
        Nlri::Evpn(e) => Nlri::evpn(with_rd(e, rd)),
        Nlri::RouteTarget(_) => return None,
    })
}

fn with_rd(e: &EvpnRoute, rd: Rd) -> EvpnRoute {
    let mut e = e.clone();
    match &mut e {
        EvpnRoute::MacIp { rd: r, .. }
        | EvpnRoute::Imet { rd: r, .. }
        | EvpnRoute::IpPrefix { rd: r, .. } => *r = rd,
        EvpnRoute::Other { rd: r, .. } => *r = Some(rd),
    }
    e
}
