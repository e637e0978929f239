//! Paths and best-path selection: RFC 4271 section 9.1.2.2 plus the usual tie-breakers.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use serde::Serialize;

use crate::attrs::PathAttrs;
use crate::types::{Labels, Nlri};

/// Identifies a configured peer inside the RIB.
pub type PeerId = u32;

/// Where a path came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum Source {
    /// Originated through the API into a routing instance.
    Local { instance: String },
    /// Learned from a BGP peer.
    Peer {
        id: PeerId,
        address: IpAddr,
        router_id: Ipv4Addr,
        ibgp: bool,
    },
}

impl Source {
    pub fn peer_id(&self) -> Option<PeerId> {
        match self {
            Source::Peer { id, .. } => Some(*id),
            Source::Local { .. } => None,
        }
    }
    fn is_ibgp(&self) -> bool {
        matches!(self, Source::Peer { ibgp: true, .. })
    }
    fn is_ebgp(&self) -> bool {
        matches!(self, Source::Peer { ibgp: false, .. })
    }
}

/// One path for a destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// Shared by every path from one peer or instance (one allocation, 8 octets a path).
    pub source: Arc<Source>,
    pub labels: Labels,
    pub attrs: Arc<PathAttrs>,
    /// Kept across a peer's graceful restart until End-of-RIB (RFC 4724 section 4.2).
    pub stale: bool,
    /// For a path imported into an instance: the VPN key it was imported from.
    pub imported_from: Option<Box<Nlri>>,
}

const DEFAULT_LOCAL_PREF: u32 = 100;

/// The LLGR_STALE well-known community (RFC 9494), 65535:6.
pub const LLGR_STALE: u32 = 0xFFFF_0006;
/// The NO_LLGR well-known community (RFC 9494), 65535:7: never kept as long-lived stale.
pub const NO_LLGR: u32 = 0xFFFF_0007;

fn origin_rank(p: &Path) -> u8 {
    p.attrs.origin as u8
}

/// `Less` means `a` is better than `b`.
pub fn compare(a: &Path, b: &Path) -> Ordering {
    let lp = |p: &Path| p.attrs.local_pref.unwrap_or(DEFAULT_LOCAL_PREF);
    let llgr = |p: &Path| p.attrs.communities.contains(&LLGR_STALE);
    // RFC 9494 4.3: a long-lived stale path is the least preferred, before anything else.
    llgr(a)
        .cmp(&llgr(b))
        // 1. Highest LOCAL_PREF.
        .then_with(|| lp(b).cmp(&lp(a)))
        // Locally originated routes win over learned ones.
        .then_with(|| {
            let local = |p: &Path| matches!(*p.source, Source::Local { .. });
            local(b).cmp(&local(a))
        })
        // 2. Shortest AS_PATH.
        .then_with(|| a.attrs.as_path_len().cmp(&b.attrs.as_path_len()))
        // 3. Lowest ORIGIN.
        .then_with(|| origin_rank(a).cmp(&origin_rank(b)))
        // 4. Lowest MED, only between paths from the same neighbouring AS.
        .then_with(|| {
            if a.attrs.neighbor_as() == b.attrs.neighbor_as() {
                a.attrs.med.unwrap_or(0).cmp(&b.attrs.med.unwrap_or(0))
            } else {
                Ordering::Equal
            }
        })
        // 5. eBGP over iBGP.
        .then_with(|| b.source.is_ebgp().cmp(&a.source.is_ebgp()))
        .then_with(|| a.source.is_ibgp().cmp(&b.source.is_ibgp()))
        // Non-stale over stale (a path re-learned after restart replaces a stale one anyway).
        .then_with(|| a.stale.cmp(&b.stale))
        // RFC 4456: shorter CLUSTER_LIST.
        .then_with(|| a.attrs.cluster_list.len().cmp(&b.attrs.cluster_list.len()))
        // 6. Lowest BGP identifier (ORIGINATOR_ID when reflected), then lowest peer address.
        .then_with(|| router_id(a).cmp(&router_id(b)))
        .then_with(|| peer_addr(a).cmp(&peer_addr(b)))
}

fn router_id(p: &Path) -> Ipv4Addr {
    p.attrs.originator_id.unwrap_or(match &*p.source {
        Source::Peer { router_id, .. } => *router_id,
        Source::Local { .. } => Ipv4Addr::UNSPECIFIED,
    })
}

fn peer_addr(p: &Path) -> Option<IpAddr> {
    match &*p.source {
        Source::Peer { address, .. } => Some(*address),
        Source::Local { .. } => None,
    }
}

/// Index of the best path, if any.
pub fn best(paths: &[Path]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, p) in paths.iter().enumerate() {
        best = match best {
            Some(b) if compare(&paths[b], p) != Ordering::Greater => Some(b),
            _ => Some(i),
        };
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::{AsSegment, Origin};

    fn path(id: PeerId, ibgp: bool, f: impl FnOnce(&mut PathAttrs)) -> Path {
        let mut a = PathAttrs::default();
        f(&mut a);
        Path {
            source: Arc::new(Source::Peer {
                id,
                address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, id as u8)),
                router_id: Ipv4Addr::new(10, 0, 0, id as u8),
                ibgp,
            }),
            labels: Labels::default(),
            attrs: Arc::new(a),
            stale: false,
            imported_from: None,
        }
    }

    fn seq(asns: &[u32]) -> Vec<AsSegment> {
        vec![AsSegment {
            set: false,
            asns: asns.to_vec(),
        }]
    }

    #[test]
    fn local_pref_then_as_path_then_origin() {
        let hi_lp = path(1, true, |a| a.local_pref = Some(200));
        let lo_lp = path(2, true, |a| a.local_pref = Some(100));
        assert_eq!(best(&[lo_lp.clone(), hi_lp.clone()]), Some(1));
        let short = path(3, false, |a| a.as_path = seq(&[1]));
        let long = path(4, false, |a| a.as_path = seq(&[1, 2]));
        assert_eq!(best(&[long, short]), Some(1));
        let igp = path(5, false, |a| a.origin = Origin::Igp);
        let inc = path(6, false, |a| a.origin = Origin::Incomplete);
        assert_eq!(best(&[inc, igp]), Some(1));
    }

    #[test]
    fn med_only_within_same_neighbor_as() {
        let a = path(1, false, |a| {
            a.as_path = seq(&[65001]);
            a.med = Some(50)
        });
        let b = path(2, false, |a| {
            a.as_path = seq(&[65001]);
            a.med = Some(10)
        });
        assert_eq!(best(&[a.clone(), b]), Some(1));
        let c = path(3, false, |a| {
            a.as_path = seq(&[65002]);
            a.med = Some(10)
        });
        // Different neighbour AS: MED ignored, router id decides (1 < 3).
        assert_eq!(best(&[a, c]), Some(0));
    }

    #[test]
    fn ebgp_over_ibgp_then_router_id() {
        let i = path(1, true, |_| {});
        let e = path(2, false, |_| {});
        assert_eq!(best(&[i.clone(), e]), Some(1));
        let i2 = path(3, true, |_| {});
        assert_eq!(best(&[i2, i]), Some(1));
        let reflected = path(4, true, |a| {
            a.originator_id = Some(Ipv4Addr::new(1, 1, 1, 1))
        });
        let direct = path(5, true, |_| {});
        assert_eq!(best(&[direct, reflected]), Some(1));
    }
}
