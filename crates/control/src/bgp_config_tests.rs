//! Unit tests of the config -> speaker mapping over JSON fixtures (objects as the store holds
//! them), each test changing one thing in `fixtures/fabric.json`.

use super::*;
use cirrus_store::KeyValue;
use serde_json::{Value, json};

fn fixture() -> Vec<Value> {
    serde_json::from_str(include_str!("../fixtures/fabric.json")).expect("fixture is JSON")
}

fn index(objs: &[Value]) -> Index {
    let kvs = objs
        .iter()
        .enumerate()
        .map(|(i, o)| KeyValue {
            key: format!("/cirrus/obj/{}", o["uuid"].as_str().unwrap()),
            value: serde_json::to_vec(o).unwrap(),
            create_revision: i as i64 + 1,
            mod_revision: i as i64 + 1,
        })
        .collect();
    let mut idx = Index::default();
    idx.load(kvs, objs.len() as i64);
    assert_eq!(idx.len(), objs.len(), "every fixture object loads");
    idx
}

fn obj<'a>(objs: &'a mut [Value], uuid: &str) -> &'a mut Value {
    objs.iter_mut()
        .find(|o| o["uuid"] == uuid)
        .unwrap_or_else(|| panic!("no fixture object {uuid}"))
}

fn speaker(objs: &[Value]) -> SpeakerConfig {
    let d = derive(&index(objs), "cn1");
    d.speaker
        .unwrap_or_else(|| panic!("no speaker: {:?}", d.warnings))
}

fn peer(cfg: &SpeakerConfig, addr: &str) -> Option<PeerConfig> {
    let a: IpAddr = addr.parse().unwrap();
    cfg.peers.iter().find(|p| p.address == a).cloned()
}

fn rts(list: &[&str]) -> Vec<ExtCommunity> {
    let mut v: Vec<ExtCommunity> = list.iter().map(|s| s.parse().unwrap()).collect();
    v.sort();
    v
}

#[test]
fn own_router_gives_identity_listen_and_timers() {
    let cfg = speaker(&fixture());
    assert_eq!(cfg.router_id, Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!(cfg.asn, 64512);
    assert_eq!(cfg.listen, "10.0.0.1:1179".parse().unwrap());
    assert_eq!(cfg.hold_time, 60);
    assert_eq!(cfg.cluster_id, None);
    assert_eq!(
        own_router_fq_name("cn1"),
        "default-domain:default-project:ip-fabric:__default__:cn1"
    );
}

#[test]
fn peers_come_from_refs_both_ways_and_from_the_auto_mesh() {
    let d = derive(&index(&fixture()), "cn1");
    let cfg = d.speaker.unwrap();
    let addrs: Vec<String> = cfg.peers.iter().map(|p| p.address.to_string()).collect();
    // gw1 refs cn1 (back ref), cn1 refs gw2, cn2 is a control node (auto mesh); gw3 is not
    // linked and the bgpaas router is not supported.
    assert_eq!(addrs, ["10.0.0.2", "10.0.0.253", "10.0.0.254"]);
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("aas") && w.contains("bgpaas-client")),
        "{:?}",
        d.warnings
    );

    let gw1 = peer(&cfg, "10.0.0.254").unwrap();
    assert_eq!(
        (gw1.asn, gw1.port, gw1.router_type, gw1.hold_time),
        (65001, 179, RouterType::Router, Some(30))
    );
    assert_eq!(gw1.families, vec![Family::InetVpn, Family::Evpn]);
    assert_eq!(gw1.md5_key.as_deref(), Some("s3cret"));
    assert!(!gw1.passive);
    assert!(d.warnings.iter().any(|w| w.contains("erm-vpn")));

    let gw2 = peer(&cfg, "10.0.0.253").unwrap();
    // local_autonomous_system wins over autonomous_system; the session's families win over
    // the router's; passive comes from the session.
    assert_eq!((gw2.asn, gw2.port, gw2.passive), (65020, 1790, true));
    assert_eq!(gw2.families, vec![Family::InetVpn]);
    assert_eq!(gw2.md5_key, None);

    let cn2 = peer(&cfg, "10.0.0.2").unwrap();
    assert_eq!((cn2.asn, cn2.router_type), (64512, RouterType::ControlNode));
    assert_eq!(cn2.families, PeerConfig::new(cn2.address, 1).families);
}

#[test]
fn families_fall_back_to_the_peers_own_list() {
    let mut objs = fixture();
    obj(&mut objs, "cn1")["bgp_router_refs"][0]["attr"] = Value::Null;
    let gw2 = peer(&speaker(&objs), "10.0.0.253").unwrap();
    assert_eq!(gw2.families, vec![Family::InetVpn, Family::RouteTarget]);
    assert!(!gw2.passive);
}

#[test]
fn removing_a_ref_removes_the_peer() {
    let mut objs = fixture();
    obj(&mut objs, "gw1")["bgp_router_refs"] = json!([]);
    assert!(peer(&speaker(&objs), "10.0.0.254").is_none());
    // A ref from cn1 instead makes it a peer again, with cn1's (empty) attributes.
    obj(&mut objs, "cn1")["bgp_router_refs"]
        .as_array_mut()
        .unwrap()
        .push(json!({"to": ["x"], "uuid": "gw1", "attr": null}));
    let gw1 = peer(&speaker(&objs), "10.0.0.254").unwrap();
    assert_eq!((gw1.hold_time, gw1.md5_key), (None, None));
}

#[test]
fn auto_mesh_off_needs_refs_between_control_nodes() {
    let mut objs = fixture();
    obj(&mut objs, "gsc")["ibgp_auto_mesh"] = json!(false);
    assert!(peer(&speaker(&objs), "10.0.0.2").is_none());
}

#[test]
fn admin_down_and_bad_addresses_leave_peers_out() {
    let mut objs = fixture();
    obj(&mut objs, "gw1")["bgp_router_parameters"]["admin_down"] = json!(true);
    obj(&mut objs, "cn2")["bgp_router_parameters"]["address"] = json!("nowhere");
    let d = derive(&index(&objs), "cn1");
    let cfg = d.speaker.unwrap();
    assert!(peer(&cfg, "10.0.0.254").is_none());
    assert_eq!(cfg.peers.len(), 1);
    assert!(d.warnings.iter().any(|w| w.contains("cn2")));
}

#[test]
fn asn_comes_from_the_global_config_unless_the_router_sets_one() {
    let mut objs = fixture();
    obj(&mut objs, "gsc")["autonomous_system"] = json!(65500);
    let p = &mut obj(&mut objs, "cn1")["bgp_router_parameters"];
    p.as_object_mut().unwrap().remove("autonomous_system");
    assert_eq!(speaker(&objs).asn, 65500);
    obj(&mut objs, "cn1")["bgp_router_parameters"]["local_autonomous_system"] = json!(64999);
    assert_eq!(speaker(&objs).asn, 64999);
}

#[test]
fn router_id_defaults_to_the_address_and_cluster_id_makes_rr_clients() {
    let mut objs = fixture();
    let p = &mut obj(&mut objs, "cn1")["bgp_router_parameters"];
    p.as_object_mut().unwrap().remove("identifier");
    p.as_object_mut().unwrap().remove("port");
    p["cluster_id"] = json!(167772161u32);
    obj(&mut objs, "gw1")["bgp_router_parameters"]["autonomous_system"] = json!(64512);
    let cfg = speaker(&objs);
    assert_eq!(cfg.router_id, Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!(cfg.listen.port(), 179);
    assert_eq!(cfg.cluster_id, Some(Ipv4Addr::new(10, 0, 0, 1)));
    assert!(peer(&cfg, "10.0.0.254").unwrap().rr_client, "iBGP router");
    assert!(!peer(&cfg, "10.0.0.2").unwrap().rr_client, "control node");
    assert!(!peer(&cfg, "10.0.0.253").unwrap().rr_client, "eBGP");
}

#[test]
fn graceful_restart_follows_the_global_parameters() {
    let mut objs = fixture();
    let default = speaker(&objs).graceful_restart;
    obj(&mut objs, "gsc")["graceful_restart_parameters"] =
        json!({"enable": true, "restart_time": 90, "long_lived_restart_time": 600});
    let cfg = speaker(&objs);
    assert_eq!(
        (cfg.graceful_restart, cfg.llgr_stale_time),
        (Some(90), Some(600))
    );
    obj(&mut objs, "gsc")["graceful_restart_parameters"] = json!({"enable": false});
    assert_eq!(speaker(&objs).graceful_restart, None);
    assert!(default.is_some(), "unset keeps the speaker's default");
}

#[test]
fn missing_or_unusable_own_router_gives_no_speaker() {
    let d = derive(&index(&fixture()), "nosuchhost");
    assert!(d.speaker.is_none());
    assert!(
        d.warnings[0].contains("__default__:nosuchhost"),
        "{:?}",
        d.warnings
    );
    // Instances do not depend on the speaker (but get no RD without a router id).
    assert!(d.instances["default-domain:demo:blue:blue"].rd.is_none());

    let mut objs = fixture();
    let p = &mut obj(&mut objs, "cn1")["bgp_router_parameters"];
    p["address"] = json!("2001:db8::1");
    p.as_object_mut().unwrap().remove("identifier");
    let d = derive(&index(&objs), "cn1");
    assert!(d.speaker.is_none());
    assert!(d.warnings.iter().any(|w| w.contains("identifier")));
}

#[test]
fn instance_targets_come_from_refs_and_the_networks_lists() {
    let d = derive(&index(&fixture()), "cn1");
    let names: Vec<&str> = d.instances.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "default-domain:demo:blue:blue",
            "default-domain:demo:red:red"
        ],
        "the fabric's default instance is the global table, not an instance"
    );
    let blue = &d.instances["default-domain:demo:blue:blue"];
    assert_eq!(
        blue.import_targets,
        rts(&[
            "target:64512:8000005",
            "target:64512:400",
            "target:64512:100",
            "target:64512:200"
        ])
    );
    assert_eq!(
        blue.export_targets,
        rts(&[
            "target:64512:8000005",
            "target:64512:500",
            "target:64512:100",
            "target:64512:300"
        ])
    );
    assert_eq!(blue.rd, Some("10.0.0.1:5".parse().unwrap()));

    // red: its own list (the bad entry reported) plus what blue, which it connects to, exports.
    let red = &d.instances["default-domain:demo:red:red"];
    assert_eq!(red.export_targets, rts(&["target:64512:600"]));
    let mut import = blue.export_targets.clone();
    import.extend(rts(&["target:64512:600"]));
    import.sort();
    assert_eq!(red.import_targets, import);
    assert_eq!(red.rd, None, "no VN id, no RD");
    assert!(d.warnings.iter().any(|w| w.contains("not-a-target")));
}

#[test]
fn changing_a_networks_targets_changes_only_that_instance() {
    let before = derive(&index(&fixture()), "cn1");
    let mut objs = fixture();
    obj(&mut objs, "vn-red")["route_target_list"] = json!({"route_target": ["target:1.2.3.4:7"]});
    let after = derive(&index(&objs), "cn1");
    assert_eq!(after.speaker, before.speaker);
    assert_eq!(
        after.instances["default-domain:demo:red:red"].export_targets,
        rts(&["target:1.2.3.4:7"])
    );
    assert_eq!(
        after.instances["default-domain:demo:blue:blue"],
        before.instances["default-domain:demo:blue:blue"]
    );
}
