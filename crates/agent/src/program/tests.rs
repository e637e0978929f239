//! Programming from hand-built ports, networks and routes: what the tables hold after a
//! first application, and that a second one changes only what differs.

use std::collections::{BTreeMap, HashMap};

use cirrus_dataplane::control::{Controller, Dataplane};
use cirrus_dataplane::tables::{Nexthop, TunnelEncap};
use cirrus_dataplane::wire::MacAddr;
use cirrus_proto::convert::Prefix;

use super::*;
use crate::config::global::{Encap, GlobalVrouter};
use crate::config::network::{ForwardingMode, Network, Subnet};
use crate::config::parse_prefix;
use crate::config::port::{AllowedPair, FipDirection, FloatingIp, InstanceIp, Port};
use crate::program::ids::Ids;
use crate::routes::{NextHop, Route};

const FABRIC_MAC: MacAddr = MacAddr([2, 0xfa, 0, 0, 0, 11]);
const PEER_MAC: MacAddr = MacAddr([2, 0xfa, 0, 0, 0, 12]);
const PEER3_MAC: MacAddr = MacAddr([2, 0xfa, 0, 0, 0, 13]);

fn me() -> Identity {
    Identity {
        hostname: "c1".into(),
        underlay: "198.18.0.11".parse().unwrap(),
        fabric_ifindex: FABRIC_IFINDEX,
        fabric_name: "eth0".into(),
        fabric_mac: FABRIC_MAC,
        agent_ifindex: AGENT_IFINDEX,
        vrouter_mac: VROUTER_MAC,
    }
}

fn network(uuid: &str, name: &str, vni: u32, subnet: &str) -> Network {
    let prefix = parse_prefix(subnet).unwrap();
    let base = match prefix.addr {
        std::net::IpAddr::V4(a) => a.to_bits(),
        _ => unreachable!(),
    };
    Network {
        uuid: uuid.into(),
        fq_name: format!("d:p:{name}"),
        instance: format!("d:p:{name}:{name}"),
        vni,
        network_id: vni,
        forwarding_mode: ForwardingMode::L2L3,
        subnets: vec![Subnet {
            prefix,
            gateway: Some(std::net::Ipv4Addr::from_bits(base + 1).into()),
            dns_server: Some(std::net::Ipv4Addr::from_bits(base + 2).into()),
            enable_dhcp: true,
            dns_nameservers: vec![],
            host_routes: vec![],
            dhcp_options: vec![],
            subnet_uuid: None,
            ipam_uuid: "ipam".into(),
        }],
        acl: None,
        router_external: false,
        port_security: true,
        max_flows: 0,
    }
}

fn port(uuid: &str, mac: u8, ip: &str, network: &str) -> Port {
    Port {
        uuid: uuid.into(),
        fq_name: format!("d:p:{uuid}"),
        mac: MacAddr([2, 0, 0, 0, 0, mac]),
        network: network.into(),
        ips: vec![InstanceIp {
            uuid: format!("iip-{uuid}"),
            addr: ip.parse().unwrap(),
            network: network.into(),
            secondary: false,
        }],
        allowed_pairs: vec![],
        floating_ips: vec![],
        alias_ips: vec![],
        security_groups: vec![],
        tags: vec![],
        policy_enabled: true,
        port_security: true,
        max_flows: 0,
        vm: None,
        host_id: None,
        dhcp_options: vec![],
        host_routes: vec![],
        fat_flows: vec![],
    }
}

fn route(p: &str, hops: &[(&str, u32, u32, &[Encap])]) -> (Prefix, Route) {
    let prefix = parse_prefix(p).unwrap();
    (
        prefix,
        Route {
            prefix,
            nexthops: hops
                .iter()
                .map(|(a, label, vni, enc)| NextHop {
                    address: a.parse().unwrap(),
                    label: *label,
                    vni: *vni,
                    encaps: enc.to_vec(),
                    mac: Some(MacAddr([2, 0, 0, 0, 1, *label as u8])),
                    origin: a.to_string(),
                })
                .collect(),
            origin_network: "d:p:red".into(),
            security_groups: vec![],
            tags: vec![],
            local_pref: 100,
        },
    )
}

const ALL: &[Encap] = &[Encap::MplsOverUdp, Encap::MplsOverGre, Encap::Vxlan];

struct World {
    ports: Vec<LocalPort>,
    networks: HashMap<String, Network>,
    routes: BTreeMap<String, BTreeMap<Prefix, Route>>,
    neighbours: HashMap<std::net::Ipv4Addr, MacAddr>,
}

fn world() -> World {
    let mut red = network("vn-red", "red", 5, "10.1.0.0/24");
    // The network's flow limit; port a has its own.
    red.max_flows = 100;
    let public = network("vn-pub", "public", 9, "172.16.0.0/24");
    let mut a = port("a", 3, "10.1.0.3", "vn-red");
    a.max_flows = 50;
    a.floating_ips.push(FloatingIp {
        uuid: "fip".into(),
        addr: "172.16.0.5".parse().unwrap(),
        network: "vn-pub".into(),
        fixed_ip: Some("10.1.0.3".parse().unwrap()),
        direction: FipDirection::Both,
    });
    let mut b = port("b", 4, "10.1.0.4", "vn-red");
    b.allowed_pairs.push(AllowedPair {
        prefix: parse_prefix("10.1.0.100/32").unwrap(),
        mac: None,
        active_active: true,
    });
    let ports = vec![
        LocalPort {
            ifindex: 2,
            name: "tap-a".into(),
            label: 17,
            port: a,
            network: red.clone(),
            enabled: true,
        },
        LocalPort {
            ifindex: 3,
            name: "tap-b".into(),
            label: 18,
            port: b,
            network: red.clone(),
            enabled: true,
        },
    ];
    let mut routes = BTreeMap::new();
    routes.insert(
        "d:p:red:red".to_string(),
        BTreeMap::from([
            route("10.1.0.9/32", &[("198.18.0.12", 30, 5, ALL)]),
            route(
                "10.1.0.100/32",
                &[("198.18.0.11", 18, 5, ALL), ("198.18.0.13", 40, 5, ALL)],
            ),
            route("10.1.0.3/32", &[("198.18.0.11", 17, 5, ALL)]),
            route(
                "10.2.0.0/16",
                &[("198.18.0.12", 33, 0, &[Encap::MplsOverGre])],
            ),
        ]),
    );
    routes.insert(
        "d:p:public:public".to_string(),
        BTreeMap::from([route(
            "172.16.0.9/32",
            &[("198.18.0.12", 31, 9, &[Encap::Vxlan])],
        )]),
    );
    World {
        networks: HashMap::from([("vn-red".into(), red), ("vn-pub".into(), public)]),
        ports,
        routes,
        neighbours: HashMap::from([("198.18.0.12".parse().unwrap(), PEER_MAC)]),
    }
}

fn desired(w: &World, vrfs: &mut Ids<String>) -> Desired {
    build(
        &Inputs {
            me: &me(),
            ports: &w.ports,
            networks: &w.networks,
            routes: &w.routes,
            neighbours: &w.neighbours,
            global: &GlobalVrouter::default(),
        },
        vrfs,
    )
}

/// The nexthop a route leads to in the published tables.
fn lookup(dp: &Dataplane, vrf: u16, a: &str) -> Option<Nexthop> {
    let t = dp.snapshot();
    let id = match a.parse::<std::net::IpAddr>().unwrap() {
        std::net::IpAddr::V4(v4) => t.vrf(vrf)?.fib4.lookup(v4),
        std::net::IpAddr::V6(_) => unreachable!(),
    };
    t.nexthop(id).cloned()
}

fn members(dp: &Dataplane, nh: &Nexthop) -> Vec<Nexthop> {
    let t = dp.snapshot();
    match nh {
        Nexthop::Composite { members } => members
            .iter()
            .map(|m| t.nexthop(*m).unwrap().clone())
            .collect(),
        other => vec![other.clone()],
    }
}

#[test]
fn first_application_programs_ports_routes_ecmp_nat_and_receive() {
    let w = world();
    let mut vrfs = Ids::new(1, 15);
    let d = desired(&w, &mut vrfs);
    assert!(d.problems.is_empty(), "{:?}", d.problems);
    let (ctl, dp) = Controller::new(16, VROUTER_MAC);
    let mut p = Programmer::new(ctl);
    let st = p.apply(d.clone());
    assert_eq!(st.refused, 0, "{:?}", p.errors());
    let red = vrfs.get(&"d:p:red:red".to_string()).unwrap() as u16;
    let public = vrfs.get(&"d:p:public:public".to_string()).unwrap() as u16;

    // Local ports: Encap to their MAC, by route and by label.
    let encap_a = Nexthop::Encap {
        ifindex: 2,
        dmac: MacAddr([2, 0, 0, 0, 0, 3]),
        smac: VROUTER_MAC,
    };
    assert_eq!(lookup(&dp, red, "10.1.0.3"), Some(encap_a.clone()));
    let t = dp.snapshot();
    assert_eq!(t.nexthop(t.label(17)), Some(&encap_a));
    // The floating IP is routed to the port in the floating network.
    assert_eq!(lookup(&dp, public, "172.16.0.5"), Some(encap_a.clone()));
    // Gateway and DNS addresses go to the agent.
    assert_eq!(
        lookup(&dp, red, "10.1.0.1"),
        Some(Nexthop::Receive {
            ifindex: AGENT_IFINDEX
        })
    );
    assert_eq!(
        lookup(&dp, red, "10.1.0.2"),
        Some(Nexthop::Receive {
            ifindex: AGENT_IFINDEX
        })
    );
    // A remote workload over MPLS over UDP to its vrouter's MAC.
    assert_eq!(
        lookup(&dp, red, "10.1.0.9"),
        Some(Nexthop::Tunnel {
            encap: TunnelEncap::MplsOverUdp { label: 30 },
            src_ip: "198.18.0.11".parse().unwrap(),
            dst_ip: "198.18.0.12".parse().unwrap(),
            fabric_if: FABRIC_IFINDEX,
            dmac: PEER_MAC,
            smac: FABRIC_MAC,
        })
    );
    // A prefix over GRE only (what that remote accepts).
    assert!(matches!(
        lookup(&dp, red, "10.2.3.4"),
        Some(Nexthop::Tunnel {
            encap: TunnelEncap::MplsOverGre { label: 33 },
            ..
        })
    ));
    // VXLAN to the remote in the floating network, inner destination the vrouter MAC.
    assert!(matches!(
        lookup(&dp, public, "172.16.0.9"),
        Some(Nexthop::Tunnel {
            encap: TunnelEncap::Vxlan {
                vni: 9,
                inner_dmac: VROUTER_MAC
            },
            ..
        })
    ));
    // The active-active VIP: ECMP over the local port B and the remote (not resolved yet:
    // discards until the fabric answers).
    let vip = lookup(&dp, red, "10.1.0.100").unwrap();
    let m = members(&dp, &vip);
    assert_eq!(m.len(), 2);
    assert!(m.contains(&Nexthop::Encap {
        ifindex: 3,
        dmac: MacAddr([2, 0, 0, 0, 0, 4]),
        smac: VROUTER_MAC
    }));
    assert!(m.contains(&Nexthop::Discard));
    assert!(d.endpoints.contains(&"198.18.0.13".parse().unwrap()));
    // Flow limits: the port's own, else its network's.
    assert_eq!(
        (
            t.interface(2).unwrap().flow_limit,
            t.interface(3).unwrap().flow_limit
        ),
        (50, 100)
    );
    // VNIs translate to the VRFs.
    assert_eq!(
        t.nexthop(t.vni(5)),
        Some(&Nexthop::VrfTranslate { vrf: red })
    );
    assert_eq!(
        t.nexthop(t.vni(9)),
        Some(&Nexthop::VrfTranslate { vrf: public })
    );
    // Bridge: local port MACs.
    assert_eq!(
        t.nexthop(
            t.vrf(red)
                .unwrap()
                .bridge_lookup(MacAddr([2, 0, 0, 0, 0, 4]))
        )
        .cloned(),
        Some(Nexthop::Encap {
            ifindex: 3,
            dmac: MacAddr([2, 0, 0, 0, 0, 4]),
            smac: VROUTER_MAC
        })
    );

    // Nothing changed: nothing is written.
    assert!(p.apply(desired(&w, &mut vrfs)).is_empty());
}

#[test]
fn a_second_application_changes_only_what_differs() {
    let mut w = world();
    let mut vrfs = Ids::new(1, 15);
    let (ctl, dp) = Controller::new(16, VROUTER_MAC);
    let mut p = Programmer::new(ctl);
    p.apply(desired(&w, &mut vrfs));
    let red = vrfs.get(&"d:p:red:red".to_string()).unwrap() as u16;
    let id_a = p.nh_id(&NhKey::Encap(2)).unwrap();
    let gen1 = p.generation();

    // Port B goes, 10.1.0.9 is withdrawn, 198.18.0.13 resolves.
    w.ports.pop();
    w.routes
        .get_mut("d:p:red:red")
        .unwrap()
        .remove(&parse_prefix("10.1.0.9/32").unwrap());
    w.neighbours
        .insert("198.18.0.13".parse().unwrap(), PEER3_MAC);
    let st = p.apply(desired(&w, &mut vrfs));
    assert_eq!(st.refused, 0, "{:?}", p.errors());
    assert!(p.generation() > gen1);
    assert_eq!(
        p.nh_id(&NhKey::Encap(2)),
        Some(id_a),
        "an unchanged nexthop keeps its id"
    );
    assert_eq!(lookup(&dp, red, "10.1.0.9"), None);
    // The VIP now has one path: the remote, resolved.
    assert!(matches!(
        lookup(&dp, red, "10.1.0.100"),
        Some(Nexthop::Tunnel {
            encap: TunnelEncap::MplsOverUdp { label: 40 },
            dmac: PEER3_MAC,
            ..
        })
    ));
    let t = dp.snapshot();
    assert_eq!(t.label(18), 0, "the gone port's label is withdrawn");
    assert!(t.interface(3).is_none());
    assert!(lookup(&dp, red, "10.1.0.4").is_none());
    // A disabled port keeps its interface but loses its routes and label.
    w.ports[0].enabled = false;
    p.apply(desired(&w, &mut vrfs));
    let t = dp.snapshot();
    assert!(t.interface(2).is_some());
    assert_eq!(t.label(17), 0);
    assert_eq!(lookup(&dp, red, "10.1.0.3"), None);
}
