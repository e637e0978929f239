//! Read-only views of the RIB for introspection (`GET /routes`): plain serde structs.

use serde::Serialize;

use super::best::{Path, Source};
use super::{Dest, Rib};
use crate::types::{Family, Nlri};

/// One path of one destination, as introspect shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteInfo {
    pub family: Family,
    /// Prefix or EVPN/RTC key text, without the RD.
    pub prefix: String,
    pub rd: Option<String>,
    /// MPLS label (VPN) or the raw label field (EVPN: VNI over VXLAN).
    pub label: Option<u32>,
    pub label2: Option<u32>,
    pub next_hop: Option<String>,
    pub targets: Vec<String>,
    /// Other extended communities (encapsulation, origin-vn, secgroup, tag, mobility, ...).
    pub ext_communities: Vec<String>,
    pub communities: Vec<String>,
    pub as_path: String,
    pub local_pref: Option<u32>,
    pub med: Option<u32>,
    /// `local:<instance>` or the peer address.
    pub source: String,
    pub best: bool,
    pub stale: bool,
}

fn info(key: &Nlri, p: &Path, best: bool) -> RouteInfo {
    let rd = key.rd();
    let text = key.to_string();
    let prefix = match (key, rd) {
        (Nlri::InetVpn { prefix, .. }, _) => prefix.to_string(),
        (Nlri::Inet6Vpn { prefix, .. }, _) => prefix.to_string(),
        _ => text,
    };
    let a = &p.attrs;
    let label = |l: Option<crate::types::Label>| {
        l.map(|l| match key.family() {
            Family::Evpn => l.vni_value(),
            _ => l.mpls_value(),
        })
    };
    RouteInfo {
        family: key.family(),
        prefix,
        rd: rd.map(|r| r.to_string()),
        label: label(p.labels.first),
        label2: label(p.labels.second),
        next_hop: a.next_hop.map(|n| n.to_string()),
        targets: a.route_targets().map(|c| c.to_string()).collect(),
        ext_communities: a
            .ext_communities
            .iter()
            .filter(|c| !c.is_route_target())
            .map(|c| c.to_string())
            .collect(),
        communities: a
            .communities
            .iter()
            .map(|c| format!("{}:{}", c >> 16, c & 0xffff))
            .collect(),
        as_path: a.as_path_string(),
        local_pref: a.local_pref,
        med: a.med,
        source: match &*p.source {
            Source::Local { instance } => format!("local:{instance}"),
            Source::Peer { address, .. } => address.to_string(),
        },
        best,
        stale: p.stale,
    }
}

fn dest_infos(key: &Nlri, d: &Dest, out: &mut Vec<RouteInfo>) {
    for (i, p) in d.paths.iter().enumerate() {
        out.push(info(key, p, d.best_index() == Some(i)));
    }
}

impl Rib {
    /// Routes of the global tables (`instance == None`) or of one instance, optionally of one
    /// family, sorted by family and key. `None` when the instance does not exist.
    pub fn routes(&self, instance: Option<&str>, family: Option<Family>) -> Option<Vec<RouteInfo>> {
        let mut keyed: Vec<(&Nlri, &Dest)> = match instance {
            None => self.global_dests().collect(),
            Some(name) => self.instance(name)?.table.iter().collect(),
        };
        keyed.retain(|(k, _)| {
            family.is_none_or(|f| f == k.family() || vpn_of(k.family()) == Some(f))
        });
        keyed.sort_by(|a, b| a.0.cmp(b.0));
        let mut out = Vec::new();
        for (k, d) in keyed {
            dest_infos(k, d, &mut out);
        }
        Some(out)
    }
}

/// Instance tables hold inet keys for inet-vpn routes: let `family=inet-vpn` find them too.
fn vpn_of(f: Family) -> Option<Family> {
    match f {
        Family::Inet => Some(Family::InetVpn),
        Family::Inet6 => Some(Family::Inet6Vpn),
        _ => None,
    }
}
