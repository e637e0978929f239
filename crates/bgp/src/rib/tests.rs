//! RIB tests: import/export, best path, split horizon, reflection, RFC 4684, graceful restart.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::types::{Label, Labeled};

const ASN: u32 = 64512;

fn rt(n: u32) -> ExtCommunity {
    ExtCommunity::route_target_as2(ASN as u16, n)
}

fn rib(cluster: bool) -> Rib {
    Rib::new(RibConfig {
        local_asn: ASN,
        router_id: Ipv4Addr::new(10, 0, 0, 1),
        cluster_id: cluster.then_some(Ipv4Addr::new(10, 0, 0, 1)),
    })
}

fn peer(n: u8, asn: u32, families: &[Family]) -> PeerInfo {
    PeerInfo {
        address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)),
        router_id: Ipv4Addr::new(10, 0, 0, n),
        asn,
        ibgp: asn == ASN,
        rr_client: false,
        families: families.to_vec(),
        llgr: false,
    }
}

fn vpn(rd: u32, p: &str) -> Nlri {
    Nlri::InetVpn {
        rd: Rd::As2(65000, rd),
        prefix: p.parse().unwrap(),
    }
}

fn update(keys: &[Nlri], targets: &[ExtCommunity]) -> Update {
    Update {
        announce: keys
            .iter()
            .map(|k| Labeled::with_label(k.clone(), Label::mpls(17)))
            .collect(),
        attrs: PathAttrs {
            next_hop: Some("198.18.0.9".parse().unwrap()),
            ext_communities: targets.to_vec(),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn announced(out: &[(PeerId, Update)], to: PeerId) -> Vec<Nlri> {
    out.iter()
        .filter(|(p, _)| *p == to)
        .flat_map(|(_, u)| u.announce.iter().map(|l| l.nlri.clone()))
        .collect()
}

fn withdrawn(out: &[(PeerId, Update)], to: PeerId) -> Vec<Nlri> {
    out.iter()
        .filter(|(p, _)| *p == to)
        .flat_map(|(_, u)| u.withdraw.iter().map(|l| l.nlri.clone()))
        .collect()
}

fn red() -> InstanceConfig {
    InstanceConfig {
        rd: Some(Rd::Ip(Ipv4Addr::new(10, 0, 0, 1), 1)),
        import_targets: vec![rt(100)],
        export_targets: vec![rt(100)],
    }
}

#[test]
fn local_route_is_exported_with_rd_targets_and_label() {
    let mut r = rib(false);
    r.set_instance("red", red());
    r.peer_up(1, peer(2, ASN, &[Family::InetVpn]));
    r.flush();
    r.originate(
        "red",
        LocalRoute {
            nlri: Some(Nlri::Inet("10.1.1.0/24".parse().unwrap())),
            labels: crate::types::Labels::one(Label::mpls(25)),
            next_hop: Some("198.18.0.5".parse().unwrap()),
            ext_communities: vec![ExtCommunity::origin_vn(ASN as u16, 7)],
            ..Default::default()
        },
    )
    .unwrap();
    let out = r.flush();
    let (_, u) = out.iter().find(|(_, u)| !u.announce.is_empty()).unwrap();
    assert_eq!(
        u.announce[0].nlri,
        Nlri::InetVpn {
            rd: Rd::Ip(Ipv4Addr::new(10, 0, 0, 1), 1),
            prefix: "10.1.1.0/24".parse().unwrap()
        }
    );
    assert_eq!(u.announce[0].labels.first, Some(Label::mpls(25)));
    assert!(u.attrs.ext_communities.contains(&rt(100)));
    assert!(
        u.attrs
            .ext_communities
            .contains(&ExtCommunity::origin_vn(ASN as u16, 7))
    );
    assert_eq!(u.attrs.local_pref, Some(100));
    let routes = r.routes(Some("red"), None).unwrap();
    assert_eq!(
        routes.len(),
        1,
        "the exported route is not imported back as a second path"
    );
}

#[test]
fn import_by_route_target_only_into_matching_instances() {
    let mut r = rib(false);
    r.set_instance("red", red());
    r.set_instance(
        "blue",
        InstanceConfig {
            rd: None,
            import_targets: vec![rt(200)],
            export_targets: vec![],
        },
    );
    r.peer_up(1, peer(2, 65000, &[Family::InetVpn]));
    r.receive(1, &update(&[vpn(1, "10.9.0.0/16")], &[rt(100)]));
    r.flush();
    let red_routes = r.routes(Some("red"), Some(Family::Inet)).unwrap();
    assert_eq!(red_routes.len(), 1);
    assert_eq!(red_routes[0].prefix, "10.9.0.0/16");
    assert_eq!(red_routes[0].rd.as_deref(), None);
    assert!(r.routes(Some("blue"), None).unwrap().is_empty());
    // Changing blue's import targets imports it live.
    r.set_instance(
        "blue",
        InstanceConfig {
            import_targets: vec![rt(100)],
            ..Default::default()
        },
    );
    r.flush();
    assert_eq!(r.routes(Some("blue"), None).unwrap().len(), 1);
    // Withdrawal removes it from both.
    let mut w = Update::default();
    w.withdraw.push(Labeled::bare(vpn(1, "10.9.0.0/16")));
    r.receive(1, &w);
    r.flush();
    assert!(r.routes(Some("red"), None).unwrap().is_empty());
    assert!(r.routes(Some("blue"), None).unwrap().is_empty());
}

#[test]
fn ibgp_learned_not_sent_to_ibgp_but_to_ebgp_with_prepend() {
    let mut r = rib(false);
    let f = [Family::InetVpn];
    r.peer_up(1, peer(2, ASN, &f));
    r.peer_up(2, peer(3, ASN, &f));
    r.peer_up(3, peer(4, 65001, &f));
    r.flush();
    let mut u = update(&[vpn(1, "10.2.0.0/16")], &[rt(1)]);
    u.attrs.local_pref = Some(150);
    r.receive(1, &u);
    let out = r.flush();
    assert!(announced(&out, 1).is_empty(), "not back to the source");
    assert!(announced(&out, 2).is_empty(), "iBGP split horizon");
    assert_eq!(announced(&out, 3), vec![vpn(1, "10.2.0.0/16")]);
    let (_, e) = out
        .iter()
        .find(|(p, u)| *p == 3 && !u.announce.is_empty())
        .unwrap();
    assert_eq!(e.attrs.as_path_string(), ASN.to_string());
    assert_eq!(e.attrs.local_pref, None);
}

#[test]
fn route_reflector_reflects_to_clients_with_originator_and_cluster() {
    let mut r = rib(true);
    let f = [Family::InetVpn];
    r.peer_up(1, peer(2, ASN, &f));
    r.peer_up(
        2,
        PeerInfo {
            rr_client: true,
            ..peer(3, ASN, &f)
        },
    );
    r.flush();
    r.receive(1, &update(&[vpn(1, "10.3.0.0/16")], &[rt(1)]));
    let out = r.flush();
    let (_, u) = out
        .iter()
        .find(|(p, u)| *p == 2 && !u.announce.is_empty())
        .unwrap();
    assert_eq!(u.attrs.originator_id, Some(Ipv4Addr::new(10, 0, 0, 2)));
    assert_eq!(u.attrs.cluster_list, vec![Ipv4Addr::new(10, 0, 0, 1)]);
    // A reflected route that comes back with our cluster id is dropped.
    let mut back = update(&[vpn(2, "10.4.0.0/16")], &[rt(1)]);
    back.attrs.cluster_list = vec![Ipv4Addr::new(10, 0, 0, 1)];
    r.receive(2, &back);
    assert!(
        r.routes(None, Some(Family::InetVpn))
            .unwrap()
            .iter()
            .all(|x| x.prefix != "10.4.0.0/16")
    );
}

#[test]
fn best_path_change_is_advertised() {
    let mut r = rib(false);
    let f = [Family::InetVpn];
    r.peer_up(1, peer(2, 65001, &f));
    r.peer_up(2, peer(3, 65002, &f));
    r.peer_up(3, peer(4, ASN, &f));
    r.flush();
    let mut a = update(&[vpn(1, "10.5.0.0/16")], &[rt(1)]);
    a.attrs.as_path = vec![crate::attrs::AsSegment {
        set: false,
        asns: vec![65001, 1, 2],
    }];
    r.receive(1, &a);
    r.flush();
    let mut b = update(&[vpn(1, "10.5.0.0/16")], &[rt(1)]);
    b.attrs.as_path = vec![crate::attrs::AsSegment {
        set: false,
        asns: vec![65002],
    }];
    r.receive(2, &b);
    let out = r.flush();
    let (_, u) = out
        .iter()
        .find(|(p, u)| *p == 3 && !u.announce.is_empty())
        .unwrap();
    assert_eq!(u.attrs.as_path_string(), "65002", "shorter AS path wins");
    let routes = r.routes(None, None).unwrap();
    assert_eq!(routes.iter().filter(|x| x.best).count(), 1);
}

#[test]
fn rfc4684_peer_gets_only_routes_for_its_targets() {
    let mut r = rib(false);
    let f = [Family::InetVpn, Family::RouteTarget];
    r.peer_up(1, peer(2, 65001, &[Family::InetVpn]));
    r.peer_up(2, peer(3, ASN, &f));
    r.flush();
    r.receive(1, &update(&[vpn(1, "10.6.0.0/16")], &[rt(1)]));
    r.receive(1, &update(&[vpn(2, "10.7.0.0/16")], &[rt(2)]));
    let out = r.flush();
    assert!(announced(&out, 2).is_empty(), "no membership yet: nothing");
    // The peer asks for target 1.
    let mut m = Update::default();
    m.announce
        .push(Labeled::bare(Nlri::RouteTarget(RtMembership::exact(
            ASN,
            rt(1),
        ))));
    m.attrs.next_hop = Some("192.0.2.3".parse().unwrap());
    r.receive(2, &m);
    let out = r.flush();
    assert_eq!(announced(&out, 2), vec![vpn(1, "10.6.0.0/16")]);
    // Then for target 2 as well; later it drops target 1.
    let mut m2 = m.clone();
    m2.announce = vec![Labeled::bare(Nlri::RouteTarget(RtMembership::exact(
        ASN,
        rt(2),
    )))];
    r.receive(2, &m2);
    assert_eq!(announced(&r.flush(), 2), vec![vpn(2, "10.7.0.0/16")]);
    let mut w = Update::default();
    w.withdraw
        .push(Labeled::bare(Nlri::RouteTarget(RtMembership::exact(
            ASN,
            rt(1),
        ))));
    r.receive(2, &w);
    assert_eq!(withdrawn(&r.flush(), 2), vec![vpn(1, "10.6.0.0/16")]);
}

#[test]
fn instance_import_targets_become_rtc_memberships() {
    let mut r = rib(false);
    r.peer_up(1, peer(2, ASN, &[Family::RouteTarget, Family::InetVpn]));
    r.flush();
    r.set_instance("red", red());
    let out = r.flush();
    assert_eq!(
        announced(&out, 1),
        vec![Nlri::RouteTarget(RtMembership::exact(ASN, rt(100)))]
    );
    r.remove_instance("red");
    assert_eq!(
        withdrawn(&r.flush(), 1),
        vec![Nlri::RouteTarget(RtMembership::exact(ASN, rt(100)))]
    );
}

#[test]
fn graceful_restart_keeps_stale_until_end_of_rib() {
    let mut r = rib(false);
    let f = [Family::InetVpn];
    r.peer_up(1, peer(2, 65001, &f));
    r.peer_up(2, peer(3, ASN, &f));
    r.flush();
    r.receive(
        1,
        &update(&[vpn(1, "10.8.0.0/16"), vpn(1, "10.8.1.0/24")], &[rt(1)]),
    );
    r.flush();
    r.peer_down(1, true, &f);
    let out = r.flush();
    assert!(
        withdrawn(&out, 2).is_empty(),
        "stale routes stay advertised"
    );
    assert!(r.routes(None, None).unwrap().iter().all(|x| x.stale));
    // The peer comes back and re-sends one of the two, then End-of-RIB.
    r.peer_up(1, peer(2, 65001, &f));
    r.receive(1, &update(&[vpn(1, "10.8.0.0/16")], &[rt(1)]));
    r.flush();
    assert_eq!(
        r.routes(None, None)
            .unwrap()
            .iter()
            .filter(|x| x.stale)
            .count(),
        1
    );
    r.receive(1, &Update::end_of_rib(Family::InetVpn));
    let out = r.flush();
    assert_eq!(withdrawn(&out, 2), vec![vpn(1, "10.8.1.0/24")]);
    assert!(r.routes(None, None).unwrap().iter().all(|x| !x.stale));
}

#[test]
fn hard_down_withdraws_and_sweep_drops_stale() {
    let mut r = rib(false);
    let f = [Family::InetVpn];
    r.peer_up(1, peer(2, 65001, &f));
    r.peer_up(2, peer(3, ASN, &f));
    r.flush();
    r.receive(1, &update(&[vpn(1, "10.10.0.0/16")], &[rt(1)]));
    r.flush();
    r.peer_down(1, true, &f);
    r.flush();
    r.sweep_stale(1);
    assert_eq!(withdrawn(&r.flush(), 2), vec![vpn(1, "10.10.0.0/16")]);
    r.peer_up(1, peer(2, 65001, &f));
    r.receive(1, &update(&[vpn(1, "10.10.0.0/16")], &[rt(1)]));
    r.flush();
    r.peer_down(1, false, &f);
    assert_eq!(withdrawn(&r.flush(), 2), vec![vpn(1, "10.10.0.0/16")]);
}

#[test]
fn initial_dump_ends_with_eor_and_refresh_resends() {
    let mut r = rib(false);
    r.set_instance("red", red());
    r.originate(
        "red",
        LocalRoute {
            nlri: Some(Nlri::Inet("10.11.0.0/16".parse().unwrap())),
            next_hop: Some("198.18.0.5".parse().unwrap()),
            ..Default::default()
        },
    )
    .unwrap();
    r.flush();
    r.peer_up(1, peer(2, ASN, &[Family::InetVpn, Family::Evpn]));
    let out = r.flush();
    assert_eq!(announced(&out, 1).len(), 1);
    let eors: Vec<_> = out.iter().filter_map(|(_, u)| u.eor).collect();
    assert_eq!(eors, vec![Family::InetVpn, Family::Evpn]);
    assert!(r.flush().is_empty(), "nothing new");
    r.refresh(1, Family::InetVpn);
    assert_eq!(announced(&r.flush(), 1).len(), 1);
    r.withdraw("red", &Nlri::Inet("10.11.0.0/16".parse().unwrap()))
        .unwrap();
    assert_eq!(withdrawn(&r.flush(), 1).len(), 1);
    assert!(matches!(
        r.withdraw("nope", &Nlri::Inet("10.0.0.0/8".parse().unwrap())),
        Err(RibError::NoInstance(_))
    ));
}

/// Per-route memory is what the 1M-route benchmark measures: keep the hot types small.
#[test]
fn route_types_stay_small() {
    assert!(
        std::mem::size_of::<Nlri>() <= 32,
        "Nlri grew: {}",
        std::mem::size_of::<Nlri>()
    );
    assert!(
        std::mem::size_of::<Path>() <= 48,
        "Path grew: {}",
        std::mem::size_of::<Path>()
    );
    // The lone path is inline and the best index inside the list (rib/paths.rs).
    assert!(
        std::mem::size_of::<Dest>() <= 48,
        "Dest grew: {}",
        std::mem::size_of::<Dest>()
    );
    // What the global table stores per route (rib/table.rs keeps these densely packed).
    let entry = std::mem::size_of::<(Nlri, super::GlobalDest)>();
    assert!(entry <= 112, "global table entry grew: {entry}");
}

#[test]
fn long_lived_stale_paths_are_marked_and_least_preferred() {
    let mut r = rib(false);
    let f = [Family::InetVpn];
    r.peer_up(1, peer(2, 65001, &f));
    r.peer_up(3, peer(4, ASN, &f));
    r.flush();
    let mut short = update(&[vpn(1, "10.12.0.0/16")], &[rt(1)]);
    short.attrs.local_pref = Some(200);
    r.receive(1, &short);
    r.flush();
    r.peer_down(1, true, &f);
    r.flush();
    // GR time is up; the peer offered LLGR for inet-vpn.
    r.llgr_stale(1, &f);
    r.flush();
    let routes = r.routes(None, None).unwrap();
    assert!(
        routes[0].communities.contains(&"65535:6".to_string()),
        "{routes:?}"
    );
    // Another peer's path wins even with a lower LOCAL_PREF (RFC 9494 4.3).
    r.peer_up(2, peer(3, 65002, &f));
    r.receive(2, &update(&[vpn(1, "10.12.0.0/16")], &[rt(1)]));
    r.flush();
    let routes = r.routes(None, None).unwrap();
    assert_eq!(routes.iter().find(|x| x.best).unwrap().source, "192.0.2.3");
    r.sweep_stale(1);
    r.flush();
    assert_eq!(r.routes(None, None).unwrap().len(), 1);
}

/// RFC 9494: a long-lived stale path is withdrawn from peers without the LLGR capability
/// and re-sent, marked, to those with it; a stale path carrying NO_LLGR is not kept at all.
#[test]
fn long_lived_stale_paths_go_only_to_llgr_peers() {
    let mut r = rib(false);
    let f = [Family::InetVpn];
    r.peer_up(1, peer(2, 65001, &f));
    r.peer_up(3, peer(4, ASN, &f));
    r.peer_up(
        5,
        PeerInfo {
            llgr: true,
            ..peer(6, 65005, &f)
        },
    );
    r.flush();
    let (kept, no_llgr) = (vpn(1, "10.12.0.0/16"), vpn(1, "10.13.0.0/16"));
    r.receive(1, &update(std::slice::from_ref(&kept), &[rt(1)]));
    let mut u = update(std::slice::from_ref(&no_llgr), &[rt(1)]);
    u.attrs.communities.push(best::NO_LLGR);
    r.receive(1, &u);
    let out = r.flush();
    for p in [3, 5] {
        assert_eq!(announced(&out, p).len(), 2, "to {p}");
    }
    // Plain GR keeps advertising the stale paths; nothing changes for the peers.
    r.peer_down(1, true, &f);
    assert!(r.flush().is_empty());
    r.llgr_stale(1, &f);
    let out = r.flush();
    assert_eq!(withdrawn(&out, 3), vec![kept.clone(), no_llgr.clone()]);
    assert_eq!(announced(&out, 3), Vec::<Nlri>::new());
    assert_eq!(withdrawn(&out, 5), vec![no_llgr.clone()]);
    assert_eq!(announced(&out, 5), vec![kept.clone()]);
    let marked = out
        .iter()
        .find(|(p, u)| *p == 5 && !u.announce.is_empty())
        .unwrap();
    assert!(marked.1.attrs.communities.contains(&best::LLGR_STALE));
    assert_eq!(r.routes(None, None).unwrap().len(), 1, "NO_LLGR path gone");
    // A fresh path from another peer goes to everyone again, unmarked.
    r.peer_up(2, peer(3, 65002, &f));
    r.receive(2, &update(std::slice::from_ref(&kept), &[rt(1)]));
    let out = r.flush();
    assert_eq!(announced(&out, 3), vec![kept.clone()]);
    assert_eq!(announced(&out, 5), vec![kept]);
    assert!(
        out.iter()
            .all(|(_, u)| !u.attrs.communities.contains(&best::LLGR_STALE))
    );
}

/// Consecutive UPDATEs with equal attributes share one attribute set, and their routes leave
/// in one UPDATE per peer.
#[test]
fn repeated_attributes_are_shared_and_regrouped() {
    let mut r = rib(false);
    r.peer_up(1, peer(1, 65001, &[Family::InetVpn]));
    r.peer_up(2, peer(2, 65002, &[Family::InetVpn]));
    r.flush();
    r.receive(1, &update(&[vpn(1, "10.0.0.0/24")], &[rt(1)]));
    r.receive(1, &update(&[vpn(1, "10.0.1.0/24")], &[rt(1)]));
    r.receive(1, &update(&[vpn(1, "10.0.2.0/24")], &[rt(2)]));
    let out = r.flush();
    let attrs: Vec<*const PathAttrs> = r
        .global_dests()
        .map(|(_, d)| Arc::as_ptr(&d.best_path().unwrap().attrs))
        .collect();
    assert_eq!(attrs.len(), 3);
    assert_eq!(attrs.iter().filter(|a| **a == attrs[0]).count(), 2);
    let to2: Vec<&Update> = out
        .iter()
        .filter(|(p, _)| *p == 2)
        .map(|(_, u)| u)
        .collect();
    assert_eq!(to2.len(), 2, "one UPDATE per attribute set: {to2:?}");
    assert_eq!(announced(&out, 2).len(), 3);
}

#[test]
fn prefixes_are_counted_per_peer_and_family() {
    let mut r = rib(false);
    let f = [Family::InetVpn, Family::Inet];
    r.peer_up(1, peer(2, 65001, &f));
    r.peer_up(2, peer(3, 65002, &f));
    r.flush();
    // Peer 1: two VPN routes and one inet route; peer 2 the same first VPN route, longer path.
    r.receive(
        1,
        &update(&[vpn(1, "10.5.0.0/16"), vpn(1, "10.6.0.0/16")], &[rt(1)]),
    );
    r.receive(
        1,
        &update(&[Nlri::Inet("10.7.0.0/16".parse().unwrap())], &[]),
    );
    let mut b = update(&[vpn(1, "10.5.0.0/16")], &[rt(1)]);
    b.attrs.as_path = vec![crate::attrs::AsSegment {
        set: false,
        asns: vec![65002, 7, 8],
    }];
    r.receive(2, &b);
    r.flush();
    let count = |family| FamilyPrefixes {
        family,
        received: 0,
        accepted: 0,
        advertised: 0,
    };
    assert_eq!(
        r.prefixes_by_family(1),
        vec![
            FamilyPrefixes {
                received: 1,
                accepted: 1,
                ..count(Family::Inet)
            },
            FamilyPrefixes {
                received: 2,
                accepted: 2,
                ..count(Family::InetVpn)
            },
        ]
    );
    // Peer 2's path loses; peer 1's three routes are advertised to it (eBGP).
    assert_eq!(
        r.prefixes_by_family(2),
        vec![
            FamilyPrefixes {
                advertised: 1,
                ..count(Family::Inet)
            },
            FamilyPrefixes {
                received: 1,
                advertised: 2,
                ..count(Family::InetVpn)
            },
        ]
    );
}
