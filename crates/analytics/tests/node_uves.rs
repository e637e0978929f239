//! The controller's own UVEs (control-node, config-node, bgp-peer) over real sockets, fed
//! the way the controller feeds them (snapshots into the shared UVE state): Contrail's
//! struct names and fields, `kfilt`/`cfilt` on the new types, the BGP connectivity alarm
//! raised while a configured peer is not Established and cleared when it is, its
//! acknowledgement with opserver's token, and the alarm stream's server-sent events.

#[allow(dead_code)]
mod running;

use std::io::BufRead;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cirrus_analytics::alarms::BGP_CONNECTIVITY;
use cirrus_analytics::node_uve::{BgpPeerFeed, ConfigNodeFeed, ControlNodeFeed, NodeSnapshot};
use cirrus_analytics::uve::Uves;
use running::Running;
use serde_json::{Value, json};

const FABRIC: &str = "default-domain:default-project:ip-fabric:__default__";

fn peer(name: &str, addr: &str, state: &str) -> BgpPeerFeed {
    BgpPeerFeed {
        instance: FABRIC.into(),
        local: "cn1".into(),
        peer: format!("{FABRIC}:{name}"),
        peer_address: addr.into(),
        peer_port: 179,
        peer_asn: 65001,
        local_asn: 64512,
        local_id: 0x7f00_0001,
        peer_id: Some(0x7f00_0002),
        router_type: "router".into(),
        hold_time: 90,
        configured_families: vec!["inet-vpn".into()],
        negotiated_families: vec!["inet-vpn".into()],
        state: state.into(),
        prefixes_received: 3,
        prefixes_accepted: 2,
        updates_received: 4,
        updates_sent: 5,
        ..Default::default()
    }
}

fn snapshot(mx_state: &str) -> NodeSnapshot {
    NodeSnapshot {
        control: Some(ControlNodeFeed {
            name: "cn1".into(),
            router_id: "127.0.0.1".into(),
            local_asn: 64512,
            global_asn: 64512,
            bgp_router_ip_list: vec!["127.0.0.1".into()],
            started_us: 1,
            num_xmpp_peer: 2,
            num_up_xmpp_peer: 1,
            num_routing_instance: 3,
        }),
        config: Some(ConfigNodeFeed {
            name: "cn1".into(),
            config_node_ip: vec!["127.0.0.1".into()],
            store_kind: "redb".into(),
            store_addrs: vec!["/data/cirrus.redb".into()],
            store_up: true,
            objects: 26,
            index_revision: 30,
            api_requests: 7,
            api_client_errors: 1,
            ..Default::default()
        }),
        peers: vec![
            peer("gw", "127.0.0.2", "Established"),
            peer("mx", "127.0.0.3", mx_state),
        ],
    }
}

fn key(name: &str) -> String {
    format!("{FABRIC}:cn1:{FABRIC}:{name}")
}

fn start() -> (Running, Arc<Uves>) {
    let mut uves = None;
    let r = Running::start(|c| uves = Some(c.uves.clone()));
    (r, uves.unwrap())
}

impl Running {
    fn post_ack(&self, body: &Value) -> (u16, Value) {
        self.post("/analytics/alarms/acknowledge", body)
    }
}

fn alarm_list(uve: &Value) -> Vec<Value> {
    uve["UVEAlarms"]["alarms"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn node_uves_have_contrails_fields_filters_and_the_connectivity_alarm() {
    let (r, uves) = start();
    uves.update_nodes(snapshot("Active"));

    let (_, types) = r.get("/analytics/uves");
    let names: Vec<&str> = types
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for t in ["control-nodes", "config-nodes", "bgp-peers"] {
        assert!(names.contains(&t), "{t} in {names:?}");
    }

    // bgp-peer keys are Contrail's <instance>:<control node>:<peer fq_name>; kfilt picks.
    let l = r.get("/analytics/uves/bgp-peers").1;
    let keys: Vec<&str> = l
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [key("gw"), key("mx")]);
    let l = r.get("/analytics/uves/bgp-peers?kfilt=*:gw").1;
    assert_eq!(l.as_array().unwrap().len(), 1, "{l}");
    assert_eq!(l[0]["name"], key("gw"));
    assert_eq!(
        r.get("/analytics/uves/control-nodes?kfilt=cn*").1[0]["name"],
        "cn1"
    );
    assert_eq!(r.get("/analytics/uves/config-nodes?kfilt=x*").1, json!([]));

    let (s, p) = r.get(&format!("/analytics/uves/bgp-peer/{}?flat", key("gw")));
    assert_eq!(s, 200);
    let d = &p["BgpPeerInfoData"];
    assert_eq!(d["state_info"]["state"], "Established");
    assert_eq!(d["peer_type"], "external");
    assert_eq!(
        (d["peer_asn"].as_u64(), d["local_asn"].as_u64()),
        (Some(65001), Some(64512))
    );
    assert_eq!(
        d["peer_stats_info"]["rx_route_stats"],
        json!({"total_path_count": 3, "primary_path_count": 2})
    );
    assert_eq!(d["negotiated_families"], json!(["inet-vpn"]));
    assert_eq!(p["PeerStatsData"]["raw_rx_update_stats"]["total"], 4);
    let f = r
        .get(&format!(
            "/analytics/uves/bgp-peer/{}?cfilt=BgpPeerInfoData:state_info",
            key("mx")
        ))
        .1;
    assert_eq!(
        f,
        json!({"BgpPeerInfoData": {"state_info": {"state": "Active", "last_state": null,
            "last_state_at": f["BgpPeerInfoData"]["state_info"]["last_state_at"]}}})
    );
    let (s, e) = r.get("/analytics/uves/bgp-peer/x?cfilt=BgpRouterState");
    assert_eq!((s, e["field"].as_str()), (400, Some("cfilt")));

    // Several at once: a name with `*`, or POST with kfilt and cfilt lists.
    let m = r
        .get("/analytics/uves/bgp-peer/*?cfilt=BgpPeerInfoData:peer_address")
        .1;
    assert_eq!(
        m,
        json!({"value": [
            {"name": key("gw"), "value": {"BgpPeerInfoData": {"peer_address": "127.0.0.2"}}},
            {"name": key("mx"), "value": {"BgpPeerInfoData": {"peer_address": "127.0.0.3"}}},
        ]})
    );
    let m = r.get("/analytics/uves/bgp-peer/*:mx?cfilt=PeerFlapData").1;
    assert_eq!(m["value"].as_array().map(Vec::len), Some(1), "{m}");
    assert_eq!(m["value"][0]["name"], key("mx"));
    let (s, m) = r.post(
        "/analytics/uves/bgp-peer",
        &json!({"kfilt": ["*:gw"], "cfilt": ["PeerStatsData:encoding"]}),
    );
    assert_eq!(s, 200, "{m}");
    assert_eq!(
        m,
        json!({"value": [{"name": key("gw"), "value": {"PeerStatsData": {"encoding": "BGP"}}}]})
    );
    let (s, e) = r.post("/analytics/uves/bgp-peer", &json!({"kfilt": "*"}));
    assert_eq!((s, e["field"].as_str()), (400, Some("kfilt")), "{e}");

    let c = r.get("/analytics/uves/control-node/cn1?flat").1;
    let b = &c["BgpRouterState"];
    assert_eq!(
        (b["num_bgp_peer"].as_u64(), b["num_up_bgp_peer"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(b["bgp_config_peer_list"], json!([key("gw"), key("mx")]));
    assert_eq!(
        (b["num_xmpp_peer"].as_u64(), b["num_up_xmpp_peer"].as_u64()),
        (Some(2), Some(1))
    );
    let alarms = alarm_list(&c);
    assert_eq!(alarms.len(), 1, "{c}");
    let a = &alarms[0];
    assert_eq!(a["type"], BGP_CONNECTIVITY);
    assert_eq!(a["ack"], false);
    assert!(
        a["description"].as_str().unwrap().contains(&key("mx")),
        "{a}"
    );
    let cond = &a["alarm_rules"]["or_list"][0]["and_list"][0]["condition"];
    assert_eq!(cond["operand1"], "BgpRouterState.num_up_bgp_peer");

    let n = r
        .get("/analytics/uves/config-node/cn1?cfilt=NodeStatus,CirrusApiStats:requests")
        .1;
    let ci = &n["NodeStatus"]["process_status"][0]["connection_infos"][0];
    assert_eq!(
        (ci["name"].as_str(), ci["status"].as_str()),
        (Some("redb"), Some("Up"))
    );
    assert_eq!(n["CirrusApiStats"], json!({"requests": 7}));
    assert!(n.get("ModuleCpuState").is_none(), "{n}");

    // /analytics/alarms lists it under control-node.
    let al = r.get("/analytics/alarms").1;
    assert_eq!(al["control-node"][0]["name"], "cn1", "{al}");

    // Acknowledge with opserver's request; bad ones say which field.
    let token = a["token"].as_str().unwrap().to_string();
    let ack = |t: &str| json!({"table": "control-node", "name": "cn1", "type": BGP_CONNECTIVITY, "token": t});
    let (s, e) =
        r.post_ack(&json!({"table": "control-node", "name": "cn1", "type": BGP_CONNECTIVITY}));
    assert_eq!((s, e["field"].as_str()), (400, Some("token")), "{e}");
    let (s, e) = r.post_ack(&ack("not-base64!"));
    assert_eq!((s, e["field"].as_str()), (400, Some("token")), "{e}");
    let other = cirrus_analytics::alarms::token(r.api, 12345);
    let (s, e) = r.post_ack(&ack(&other));
    assert_eq!((s, e["field"].as_str()), (404, Some("name")), "{e}");
    assert_eq!(r.post_ack(&ack(&token)).0, 200);
    let c = r.get("/analytics/uves/control-node/cn1").1;
    assert_eq!(alarm_list(&c)[0]["ack"], true, "{c}");
    assert_eq!(r.get("/analytics/alarms?ackfilt=false").1, json!({}));
    let al = r.get("/analytics/alarms?ackfilt=true").1;
    assert_eq!(al["control-node"][0]["name"], "cn1", "{al}");
    let (s, e) = r.get("/analytics/alarms?ackfilt=yes");
    assert_eq!((s, e["field"].as_str()), (400, Some("ackfilt")));

    // The peer comes up: the alarm clears. Down again: a new, unacknowledged raise.
    uves.update_nodes(snapshot("Established"));
    let c = r.get("/analytics/uves/control-node/cn1").1;
    assert!(c.get("UVEAlarms").is_none(), "{c}");
    assert_eq!(c["BgpRouterState"]["num_up_bgp_peer"], 2);
    assert_eq!(r.get("/analytics/alarms").1, json!({}));
    let f = r.get(&format!("/analytics/uves/bgp-peer/{}", key("mx"))).1;
    assert_eq!(f["BgpPeerInfoData"]["state_info"]["last_state"], "Active");
    std::thread::sleep(Duration::from_millis(2));
    uves.update_nodes(snapshot("Idle"));
    let c = r.get("/analytics/uves/control-node/cn1").1;
    assert_eq!(alarm_list(&c)[0]["ack"], false, "{c}");
    assert_ne!(alarm_list(&c)[0]["token"], token);
}

/// Reads server-sent events until `done` holds for the events so far (bounded by `limit`).
fn read_events(
    reader: &mut impl BufRead,
    limit: Duration,
    mut done: impl FnMut(&[(String, Value)]) -> bool,
) -> Vec<(String, Value)> {
    let end = Instant::now() + limit;
    let mut events = Vec::new();
    let mut event = String::new();
    let mut line = String::new();
    while Instant::now() < end {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let l = line.trim_end();
        if let Some(e) = l.strip_prefix("event: ") {
            event = e.to_string();
        } else if let Some(d) = l.strip_prefix("data: ") {
            events.push((event.clone(), serde_json::from_str(d).unwrap()));
            if done(&events) {
                return events;
            }
        }
    }
    panic!("stream ended or timed out; events so far: {events:?}");
}

#[test]
fn the_alarm_stream_sends_raises_and_clears() {
    let (r, uves) = start();
    uves.update_nodes(snapshot("Established"));
    let (s, e) = r.get("/analytics/uve-stream?tablefilt=control-node,router");
    assert_eq!((s, e["field"].as_str()), (400, Some("tablefilt")), "{e}");

    let resp = r
        .http
        .get(format!(
            "http://{}/analytics/alarm-stream?tablefilt=control-node",
            r.api
        ))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut reader = std::io::BufReader::new(resp.into_body().into_reader());
    let ev = read_events(&mut reader, Duration::from_secs(5), |e| !e.is_empty());
    assert_eq!(ev[0], ("init".to_string(), Value::Null));

    uves.update_nodes(snapshot("Connect"));
    let ev = read_events(&mut reader, Duration::from_secs(5), |e| !e.is_empty());
    let (kind, d) = &ev[0];
    assert_eq!(kind, "update");
    assert_eq!(d["key"], "ObjectBgpRouter:cn1");
    assert_eq!(d["type"], "UVEAlarms");
    assert_eq!(d["value"]["alarms"][0]["type"], BGP_CONNECTIVITY, "{d}");

    uves.update_nodes(snapshot("Established"));
    let ev = read_events(&mut reader, Duration::from_secs(5), |e| !e.is_empty());
    assert_eq!(ev[0].1, json!({"key": "ObjectBgpRouter:cn1", "type": null}));
}
