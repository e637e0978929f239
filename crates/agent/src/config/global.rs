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
    /// Flow idle timeouts by protocol and port (0: any port): (protocol, port, seconds).
    pub flow_idle_timeouts: Vec<(u8, u16, u32)>,
}

impl Default for GlobalVrouter {
    fn default() -> Self {
        Self {
            encapsulations: DEFAULT_ENCAPS.to_vec(),
            flow_idle_timeout: None,
            flow_idle_timeouts: Vec::new(),
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
        for t in &l.flow_aging_timeout {
            let Some(secs) = t.timeout_in_seconds.and_then(|s| u32::try_from(s).ok()) else {
                continue;
            };
            match t
                .protocol
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                None | Some("" | "all" | "any") => {
                    g.flow_idle_timeout.get_or_insert(secs);
                }
                Some(p) => {
                    let Some(proto) = protocol_number(p) else {
                        continue;
                    };
                    let port = t.port.and_then(|p| u16::try_from(p).ok()).unwrap_or(0);
                    g.flow_idle_timeouts.push((proto, port, secs));
                }
            }
        }
    }
    g
}

/// A protocol as `flow_aging_timeout_list` names it (Contrail's agent takes a name or the
/// number).
fn protocol_number(p: &str) -> Option<u8> {
    match p {
        "tcp" => Some(6),
        "udp" => Some(17),
        "icmp" => Some(1),
        "icmp6" | "ipv6-icmp" => Some(58),
        "sctp" => Some(132),
        n => n.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::obj;
    use serde_json::json;

    #[test]
    fn flow_ageing_timeouts_by_protocol_name_or_number_and_port() {
        let mut s = ConfigStore::new();
        s.upsert(obj(
            "global-vrouter-config",
            "g",
            &[
                "default-global-system-config",
                "default-global-vrouter-config",
            ],
            json!({"flow_aging_timeout_list": {"flow_aging_timeout": [
                {"protocol": "tcp", "port": 80, "timeout_in_seconds": 30},
                {"protocol": "UDP", "port": 0, "timeout_in_seconds": 20},
                {"protocol": "132", "timeout_in_seconds": 40},
                {"protocol": "all", "timeout_in_seconds": 90},
                {"protocol": "gopher", "timeout_in_seconds": 1},
                {"protocol": "tcp", "port": 22}
            ]}}),
        ));
        let g = global_vrouter(&s);
        assert_eq!(
            g.flow_idle_timeouts,
            vec![(6, 80, 30), (17, 0, 20), (132, 0, 40)]
        );
        assert_eq!(g.flow_idle_timeout, Some(90));
    }

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
