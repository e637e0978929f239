//! A real `cirrus-controller` with all three roles, peering with a real GoBGP: the analytics
//! API's bgp-peer UVE shows the session Established with GoBGP's prefixes; the control-node
//! and config-node UVEs answer with Contrail's fields, filtered by `kfilt` and `cfilt`;
//! stopping gobgpd raises the BGP connectivity alarm on the control node, and bringing it
//! back on the same address clears it; an open stream does not hold its stop; on etcd, the
//! config-node UVE turns Non-Functional when etcd stops.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use cirrus_analytics::alarms::BGP_CONNECTIVITY;
use cirrus_store::testing::free_port;
use common::{Controller, FABRIC, GOBGP_AS, GoBgp, bgp_router, http, peering, wait_for};
use serde_json::{Value, json};

fn get(at: SocketAddr, path: &str) -> Value {
    match http("GET", at, path, None) {
        Ok((200, v)) => v,
        other => panic!("GET {path}: {other:?}"),
    }
}

fn alarm_types(uve: &Value) -> Vec<String> {
    uve["UVEAlarms"]["alarms"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["type"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn bgp_peer_uve_and_connectivity_alarm_follow_a_real_gobgp() {
    let (c_ip, g_ip) = (Ipv4Addr::new(127, 0, 7, 1), Ipv4Addr::new(127, 0, 7, 2));
    let an = SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
    let coll = SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
    let c = Controller::start_with(
        "cn1",
        c_ip,
        None,
        &[
            "--analytics-listen",
            &an.to_string(),
            "--collector-listen",
            &coll.to_string(),
        ],
    );
    let fabric = FABRIC.join(":");
    let key = format!("{fabric}:cn1:{fabric}:gw");
    let peer_uve = format!("/analytics/uves/bgp-peer/{key}?flat");

    let mut g = GoBgp::start(g_ip, c.bgp, 64512, &["l3vpn-ipv4-unicast"]);
    let at = g.at;
    c.create(
        "bgp-router",
        bgp_router(
            "gw",
            "router",
            g.at,
            GOBGP_AS,
            vec![peering("cn1", &["inet-vpn"])],
        ),
    );
    g.cli(
        "global rib -a vpnv4 add 10.9.0.0/24 label 900 rd 65001:9 rt 64512:9001 nexthop 198.18.0.9",
    );
    let ctx = || format!("{}\n{}\n{}", get(an, &peer_uve), c.log(), g.log());
    wait_for(
        "the bgp-peer UVE Established with GoBGP's prefix",
        Duration::from_secs(30),
        || {
            let u = get(an, &peer_uve);
            let d = &u["BgpPeerInfoData"];
            d["state_info"]["state"] == "Established"
                && d["peer_stats_info"]["rx_route_stats"]["total_path_count"].as_u64() >= Some(1)
        },
        ctx,
    );
    let u = get(an, &peer_uve);
    let d = &u["BgpPeerInfoData"];
    assert_eq!(d["peer_address"], g_ip.to_string());
    assert_eq!(
        (d["peer_asn"].as_u64(), d["local_asn"].as_u64()),
        (Some(u64::from(GOBGP_AS)), Some(64512))
    );
    assert_eq!(d["peer_type"], "external");
    assert_eq!(d["router_type"], "router");
    assert_eq!(d["negotiated_families"], json!(["inet-vpn"]));
    assert_eq!(d["configured_families"], json!(["inet-vpn"]));
    assert!(
        d["peer_stats_info"]["rx_update_stats"]["total"].as_u64() >= Some(1),
        "{u}"
    );
    assert_eq!(u["PeerStatsData"]["encoding"], "BGP");

    // kfilt on the peers' keys.
    let l = get(an, "/analytics/uves/bgp-peers?kfilt=*:gw");
    assert_eq!(l.as_array().map(Vec::len), Some(1), "{l}");
    assert_eq!(l[0]["name"], key);
    assert_eq!(get(an, "/analytics/uves/bgp-peers?kfilt=*:mx"), json!([]));

    // The control node: one peer configured, one up, no alarm; cfilt keeps one attribute.
    wait_for(
        "the control-node UVE with its peer up",
        Duration::from_secs(10),
        || get(an, "/analytics/uves/control-node/cn1")["BgpRouterState"]["num_up_bgp_peer"] == 1,
        || format!("{}", get(an, "/analytics/uves/control-node/cn1")),
    );
    let cn = get(an, "/analytics/uves/control-node/cn1?flat");
    let b = &cn["BgpRouterState"];
    assert_eq!(b["num_bgp_peer"], 1);
    assert_eq!(b["bgp_config_peer_list"], json!([key]));
    assert_eq!(b["router_id"], c_ip.to_string());
    assert_eq!(b["bgp_router_ip_list"], json!([c_ip.to_string()]));
    assert!(cn.get("UVEAlarms").is_none(), "{cn}");
    assert_eq!(
        get(
            an,
            "/analytics/uves/control-node/cn1?cfilt=BgpRouterState:num_up_bgp_peer"
        ),
        json!({"BgpRouterState": {"num_up_bgp_peer": 1}})
    );
    assert_eq!(
        get(an, "/analytics/uves/control-nodes?kfilt=cn*")[0]["name"],
        "cn1"
    );

    // The config node: the store up, the API's requests counted.
    let cfg = get(
        an,
        "/analytics/uves/config-node/cn1?cfilt=NodeStatus,CirrusApiStats",
    );
    let ci = &cfg["NodeStatus"]["process_status"][0];
    assert_eq!(ci["module_id"], "contrail-api");
    assert_eq!(ci["state"], "Functional");
    assert_eq!(ci["connection_infos"][0]["name"], "redb");
    assert_eq!(ci["connection_infos"][0]["status"], "Up");
    let s = &cfg["CirrusApiStats"];
    assert!(s["requests"].as_u64() >= Some(1), "{cfg}");
    assert!(
        s["store_transactions"]["committed"].as_u64() >= Some(1),
        "{cfg}"
    );
    assert!(cfg.get("ModuleCpuState").is_none(), "{cfg}");
    assert_eq!(get(an, "/analytics/uves/config-nodes")[0]["name"], "cn1");

    // gobgpd stops: the peer leaves Established and the control node raises the alarm.
    drop(g);
    let cn_ctx = || {
        format!(
            "{}\n{}",
            get(an, "/analytics/uves/control-node/cn1"),
            c.log()
        )
    };
    wait_for(
        "the BGP connectivity alarm",
        Duration::from_secs(30),
        || {
            alarm_types(&get(an, "/analytics/uves/control-node/cn1"))
                .contains(&BGP_CONNECTIVITY.to_string())
        },
        cn_ctx,
    );
    let al = get(an, "/analytics/alarms");
    assert_eq!(al["control-node"][0]["name"], "cn1", "{al}");
    let desc = al["control-node"][0]["value"]["UVEAlarms"]["alarms"][0]["description"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(desc.contains(&key), "{desc}");
    let u = get(an, &peer_uve);
    let st = &u["BgpPeerInfoData"]["state_info"];
    assert_ne!(st["state"], "Established", "{u}");
    assert_eq!(st["last_state"], "Established", "{u}");

    // It comes back where it was: the session is re-established and the alarm clears.
    g = GoBgp::start_at(at, c.bgp, 64512, &["l3vpn-ipv4-unicast"]);
    wait_for(
        "the alarm cleared with the peer back",
        Duration::from_secs(60),
        || {
            let cn = get(an, "/analytics/uves/control-node/cn1");
            cn.get("UVEAlarms").is_none() && cn["BgpRouterState"]["num_up_bgp_peer"] == 1
        },
        || format!("{}\n{}\n{}", get(an, &peer_uve), c.log(), g.log()),
    );
    assert_eq!(get(an, "/analytics/alarms"), json!({}));
    let u = get(an, &peer_uve);
    assert_eq!(u["BgpPeerInfoData"]["state_info"]["state"], "Established");
    assert!(
        u["BgpPeerInfoData"]["flap_info"]["flap_count"].as_u64() >= Some(1),
        "{u}"
    );

    // A client on the alarm stream (a plain HTTP/1.1 client that keeps its connection, as
    // curl does) does not hold the controller's stop: the stream ends with the server.
    let mut sock = std::net::TcpStream::connect(an).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        sock,
        "GET /analytics/alarm-stream HTTP/1.1\r\nHost: {an}\r\n\r\n"
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("event: init") {
        let n = sock.read(&mut buf).expect("the stream's first event");
        assert!(n > 0, "stream closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let stopped = c.stop_within(Duration::from_secs(10));
    let mut rest = String::new();
    let _ = sock.read_to_string(&mut rest);
    drop(sock);
    assert!(
        stopped,
        "SIGTERM did not stop the controller in 10 s with a stream open:\n{}",
        c.log()
    );
    assert!(rest.contains("event: stop"), "{rest}");
}

#[test]
fn config_node_uve_shows_the_store_going_down() {
    let etcd = cirrus_store::testing::EtcdServer::start().expect("etcd");
    let an = SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
    let coll = SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
    let c = Controller::start_with(
        "cn2",
        Ipv4Addr::new(127, 0, 7, 11),
        Some(&etcd.spec()),
        &[
            "--analytics-listen",
            &an.to_string(),
            "--collector-listen",
            &coll.to_string(),
        ],
    );
    let path = "/analytics/uves/config-node/cn2?cfilt=NodeStatus";
    let status = |v: &Value| v["NodeStatus"]["process_status"][0].clone();
    wait_for(
        "the config-node UVE with etcd up",
        Duration::from_secs(10),
        || status(&get(an, path))["state"] == "Functional",
        || format!("{}\n{}", get(an, path), c.log()),
    );
    let ci = &status(&get(an, path))["connection_infos"][0];
    assert_eq!(
        (ci["type"].as_str(), ci["name"].as_str()),
        (Some("Database"), Some("etcd"))
    );
    assert_eq!(ci["status"], "Up");
    assert_eq!(
        ci["server_addrs"],
        json!([etcd.endpoint().trim_start_matches("http://")])
    );

    // etcd stops: the probe fails and the config node is Non-Functional, saying why.
    drop(etcd);
    wait_for(
        "the config-node UVE with etcd down",
        Duration::from_secs(20),
        || status(&get(an, path))["state"] == "Non-Functional",
        || format!("{}\n{}", get(an, path), c.log()),
    );
    let p = status(&get(an, path));
    assert_eq!(p["connection_infos"][0]["status"], "Down", "{p}");
    assert!(
        p["description"]
            .as_str()
            .is_some_and(|d| d.contains("etcd")),
        "{p}"
    );
}
