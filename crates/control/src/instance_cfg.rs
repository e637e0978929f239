//! The route server's view of each routing instance, from the same derivation the BGP speaker
//! gets ([`crate::bgp_config::derive`]): import and export targets, plus the network's id (the
//! second half of the RD of vrouters' routes, `<vrouter address>:<id>` as Contrail does) and
//! whether the network forwards L2 (then vrouters' routes also go to BGP as e-vpn type 2).

use std::collections::BTreeMap;

use cirrus_api::index::Index;
use cirrus_bgp::rib::InstanceConfig;
use serde_json::Value;

use crate::route_server::InstanceCfg;

pub fn derive(
    index: &Index,
    instances: &BTreeMap<String, InstanceConfig>,
) -> BTreeMap<String, InstanceCfg> {
    instances
        .iter()
        .map(|(name, c)| {
            let vn = index
                .by_fq_name("routing-instance", name)
                .and_then(|ri| ri.parent.as_ref())
                .and_then(|p| index.get_typed("virtual-network", &p.uuid));
            let index_of = vn
                .and_then(|vn| vn.body.get("virtual_network_network_id"))
                .and_then(Value::as_u64)
                .and_then(|i| u16::try_from(i).ok());
            // Contrail's default forwarding mode is l2_l3.
            let mode = vn
                .and_then(|vn| vn.body.get("virtual_network_properties"))
                .and_then(|p| p.get("forwarding_mode"))
                .and_then(Value::as_str)
                .unwrap_or("l2_l3");
            (
                name.clone(),
                InstanceCfg {
                    import: c.import_targets.iter().copied().collect(),
                    export: c.export_targets.iter().copied().collect(),
                    index: index_of,
                    l2: mode != "l3",
                },
            )
        })
        .collect()
}
