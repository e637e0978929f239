//! Choosing how to reach a remote next hop: the first encapsulation in the network's order
//! of preference (the global `encapsulation_priorities`, with VXLAN first for a network
//! that only bridges) that the remote accepts and that it gave an identifier for (an MPLS
//! label of 16 or more for MPLS over UDP/GRE, a VNI for VXLAN).

use cirrus_dataplane::tables::TunnelEncap;
use cirrus_dataplane::wire::MacAddr;

use crate::config::global::Encap;
use crate::config::network::ForwardingMode;
use crate::routes::NextHop;

/// The lowest MPLS label that names a route (0-15 are reserved).
pub const MIN_LABEL: u32 = 16;

/// The network's order of preference.
pub fn preference(global: &[Encap], mode: ForwardingMode) -> Vec<Encap> {
    let mut v = Vec::with_capacity(global.len() + 1);
    if mode == ForwardingMode::L2 {
        v.push(Encap::Vxlan);
    }
    for e in global {
        if !v.contains(e) {
            v.push(*e);
        }
    }
    v
}

/// The encapsulation for `nh`, or `None` when nothing both sides support has an
/// identifier. `inner_dmac` is the inner destination of routed VXLAN packets.
pub fn choose(order: &[Encap], nh: &NextHop, inner_dmac: MacAddr) -> Option<TunnelEncap> {
    // A next hop that lists nothing accepts what its identifiers allow.
    let accepts = |e: &Encap| nh.encaps.is_empty() || nh.encaps.contains(e);
    order.iter().filter(|e| accepts(e)).find_map(|e| match e {
        Encap::MplsOverUdp if nh.label >= MIN_LABEL && nh.label <= 0xf_ffff => {
            Some(TunnelEncap::MplsOverUdp { label: nh.label })
        }
        Encap::MplsOverGre if nh.label >= MIN_LABEL && nh.label <= 0xf_ffff => {
            Some(TunnelEncap::MplsOverGre { label: nh.label })
        }
        Encap::Vxlan if nh.vni > 0 && nh.vni <= 0xff_ffff => Some(TunnelEncap::Vxlan {
            vni: nh.vni,
            inner_dmac,
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::global::DEFAULT_ENCAPS;

    fn nh(label: u32, vni: u32, encaps: Vec<Encap>) -> NextHop {
        NextHop {
            address: "198.18.0.12".parse().unwrap(),
            label,
            vni,
            encaps,
            mac: None,
            origin: "c2".into(),
        }
    }

    #[test]
    fn follows_preference_remote_support_and_identifiers() {
        let m = MacAddr([0, 0, 0x5e, 0, 1, 0]);
        let all = vec![Encap::MplsOverUdp, Encap::MplsOverGre, Encap::Vxlan];
        let l3 = preference(&DEFAULT_ENCAPS, ForwardingMode::L2L3);
        assert_eq!(
            choose(&l3, &nh(20, 5, all.clone()), m),
            Some(TunnelEncap::MplsOverUdp { label: 20 })
        );
        // The remote takes only GRE.
        assert_eq!(
            choose(&l3, &nh(20, 5, vec![Encap::MplsOverGre]), m),
            Some(TunnelEncap::MplsOverGre { label: 20 })
        );
        // No label: VXLAN.
        assert_eq!(
            choose(&l3, &nh(0, 5, all.clone()), m),
            Some(TunnelEncap::Vxlan {
                vni: 5,
                inner_dmac: m
            })
        );
        // A bridging-only network prefers VXLAN.
        let l2 = preference(&DEFAULT_ENCAPS, ForwardingMode::L2);
        assert_eq!(
            choose(&l2, &nh(20, 5, all.clone()), m),
            Some(TunnelEncap::Vxlan {
                vni: 5,
                inner_dmac: m
            })
        );
        // Configured order puts VXLAN first.
        let cfg = preference(&[Encap::Vxlan, Encap::MplsOverUdp], ForwardingMode::L2L3);
        assert!(matches!(
            choose(&cfg, &nh(20, 5, all.clone()), m),
            Some(TunnelEncap::Vxlan { .. })
        ));
        // Reserved label and no VNI: unreachable.
        assert_eq!(choose(&l3, &nh(3, 0, all), m), None);
    }
}
