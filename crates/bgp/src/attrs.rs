//! Path attributes as the RIB sees them: typed fields for what best-path selection, route-target
//! filtering and re-advertisement use, plus the attributes we only pass through (kept in
//! netgauze's form, so re-encoding loses nothing).

use std::net::{IpAddr, Ipv4Addr};

use netgauze_bgp_pkt::path_attribute::PathAttribute;
use serde::{Deserialize, Serialize};

use crate::ext_community::ExtCommunity;

/// ORIGIN (RFC 4271 section 5.1.1).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub enum Origin {
    #[default]
    Igp,
    Egp,
    Incomplete,
}

/// One AS_PATH segment; 4-octet ASNs throughout (RFC 6793 merging happens in the codec).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AsSegment {
    /// `true` for AS_SET, `false` for AS_SEQUENCE.
    pub set: bool,
    pub asns: Vec<u32>,
}

/// Path attributes of one route.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PathAttrs {
    pub origin: Origin,
    pub as_path: Vec<AsSegment>,
    /// The effective next hop: NEXT_HOP for inet, the MP_REACH next hop otherwise.
    pub next_hop: Option<IpAddr>,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    pub atomic_aggregate: bool,
    pub aggregator: Option<(u32, Ipv4Addr)>,
    pub communities: Vec<u32>,
    pub ext_communities: Vec<ExtCommunity>,
    pub originator_id: Option<Ipv4Addr>,
    pub cluster_list: Vec<Ipv4Addr>,
    /// Everything else (large communities, AIGP, prefix-SID, unknown optional transitive, ...).
    #[serde(skip)]
    pub other: Vec<PathAttribute>,
}

impl PathAttrs {
    /// AS path length as best-path counts it (an AS_SET counts as one, RFC 4271 9.1.2.2).
    pub fn as_path_len(&self) -> usize {
        self.as_path
            .iter()
            .map(|s| if s.set { 1 } else { s.asns.len() })
            .sum()
    }

    /// The neighbouring AS (first ASN of the first AS_SEQUENCE), used for MED comparison.
    pub fn neighbor_as(&self) -> Option<u32> {
        self.as_path
            .first()
            .filter(|s| !s.set)
            .and_then(|s| s.asns.first().copied())
    }

    /// Whether `asn` occurs in the path (eBGP loop detection).
    pub fn as_path_contains(&self, asn: u32) -> bool {
        self.as_path.iter().any(|s| s.asns.contains(&asn))
    }

    /// Route targets among the extended communities.
    pub fn route_targets(&self) -> impl Iterator<Item = &ExtCommunity> {
        self.ext_communities.iter().filter(|c| c.is_route_target())
    }

    /// Prepend `asn` as eBGP advertisement requires.
    pub fn prepend(&mut self, asn: u32) {
        match self.as_path.first_mut() {
            Some(seg) if !seg.set && seg.asns.len() < 255 => seg.asns.insert(0, asn),
            _ => self.as_path.insert(
                0,
                AsSegment {
                    set: false,
                    asns: vec![asn],
                },
            ),
        }
    }

    /// The path as text, `65001 65002 {65003 65004}`.
    pub fn as_path_string(&self) -> String {
        let mut out = Vec::new();
        for s in &self.as_path {
            let inner: Vec<String> = s.asns.iter().map(u32::to_string).collect();
            if s.set {
                out.push(format!("{{{}}}", inner.join(" ")));
            } else {
                out.push(inner.join(" "));
            }
        }
        out.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_path_length_and_prepend() {
        let mut a = PathAttrs {
            as_path: vec![
                AsSegment {
                    set: false,
                    asns: vec![2, 3],
                },
                AsSegment {
                    set: true,
                    asns: vec![4, 5],
                },
            ],
            ..Default::default()
        };
        assert_eq!(a.as_path_len(), 3);
        a.prepend(1);
        assert_eq!(a.as_path_string(), "1 2 3 {4 5}");
        assert_eq!(a.neighbor_as(), Some(1));
        assert!(a.as_path_contains(5));
    }
}
