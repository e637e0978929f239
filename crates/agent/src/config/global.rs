//! Settings from `global-vrouter-config`: the encapsulation order the vrouters prefer and
//! flow ageing timeouts.

use super::ConfigStore;
use super::schema::{EncapsulationPrioritiesType, FlowAgingTimeoutList};

/// Overlay encapsulations, as Contrail names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Encap {
    MplsOverUdp,
    MplsOverGre,
    Vxlan,
}

/// The order used when nothing is configured: MPLS over UDP first (it spreads over the
/// underlay's ECMP by source port and is what Cirrus's fast paths favour).
pub const DEFAULT_ENCAPS: [Encap; 3] = [Encap::MplsOverUdp, Encap::MplsOverGre, Encap::Vxlan];

/// The global vrouter settings the agent uses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GlobalVrouter {
    pub encapsulations: Vec<Encap>,
    /// Flow idle timeout in seconds when one is configured for all protocols.
    pub flow_idle_timeout: Option<u32>,
}

impl Default for GlobalVrouter {
    fn default() -> Self {
        Self {
            encapsulations: DEFAULT_ENCAPS.to_vec(),
            flow_idle_timeout: None,
        }
    }
}

pub fn parse_encap(s: &str) -> Option<Encap> {
    match s {
        "MPLSoUDP" => Some(Encap::MplsOverUdp),
        "MPLSoGRE" => Some(Encap::MplsOverGre),
        "VXLAN" => Some(Encap::Vxlan),
        _ => None,
    }
}

/// Reads the (first) `global-vrouter-config` of the slice.
pub fn global_vrouter(store: &ConfigStore) -> GlobalVrouter {
    let Some(o) = store.of_kind("global-vrouter-config").next() else {
        return GlobalVrouter::default();
    };
    let mut g = GlobalVrouter::default();
    if let Some(p) = o.prop_or_none::<EncapsulationPrioritiesType>("encapsulation_priorities") {
        let list: Vec<Encap> = p
            .encapsulation
            .iter()
            .filter_map(|e| parse_encap(e))
            .collect();
        if !list.is_empty() {
            g.encapsulations = list;
        }
    }
    if let Some(l) = o.prop_or_none::<FlowAgingTimeoutList>("flow_aging_timeout_list") {
        g.flow_idle_timeout = l
            .flow_aging_timeout
            .iter()
            .find(|t| matches!(t.protocol.as_deref(), None | Some("all") | Some("any")))
            .and_then(|t| t.timeout_in_seconds)
            .and_then(|t| u32::try_from(t).ok());
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::obj;
    use serde_json::json;

    #[test]
    fn configured_order_replaces_the_default() {
        let mut s = ConfigStore::new();
        assert_eq!(global_vrouter(&s).encapsulations, DEFAULT_ENCAPS.to_vec());
        s.upsert(obj(
            "global-vrouter-config",
            "g",
            &[
                "default-global-system-config",
                "default-global-vrouter-config",
            ],
            json!({"encapsulation_priorities": {"encapsulation": ["VXLAN", "MPLSoGRE", "bogus"]}}),
        ));
        assert_eq!(
            global_vrouter(&s).encapsulations,
            vec![Encap::Vxlan, Encap::MplsOverGre]
        );
    }
}
