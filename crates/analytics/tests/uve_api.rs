//! UVEs and alarms over real sockets: records sent in the export wire format to the
//! collector show up as the vrouter's, the networks' and the ports' UVEs in opserver's
//! shapes; a denied burst raises the deny-rate alarm and the end of the export session
//! the disconnected alarm; an unknown type is a 404, a bad cfilt a 400 naming it.

mod common;
mod running;

use std::io::Write;
use std::time::{Duration, Instant};

use cirrus_analytics::alarms::{DENY_RATE, DISCONNECTED};
use cirrus_analytics::wire;
use running::Running;
use serde_json::Value;

impl Running {
    /// Polls `path` until `ok` holds for its body.
    fn wait(&self, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let (s, v) = self.get(path);
            if s == 200 && ok(&v) {
                return v;
            }
            assert!(Instant::now() < end, "GET {path}: {s} {v}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

const RED: &str = "default-domain:demo:net-1";
const WEB: &str = "default-domain:demo:web";

fn alarm_types(v: &Value) -> Vec<String> {
    v["alarms"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["type"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn uves_show_ports_and_network_traffic_and_alarms_follow_the_session() {
    let r = Running::start(|c| c.alarms.deny_per_minute = 2);
    let now = cirrus_analytics::now_us() as u64;
    // vmi-1 (net-1, local) to web (remote): 100 bytes out, 40 back, twice.
    let mut recs = vec![
        common::sample(now, 1, 9, 80, 100, 40),
        common::sample(now, 1, 9, 80, 100, 40),
    ];
    recs[0].event = cirrus_analytics::record::Event::Setup;
    // Three denied attempts from vmi-3 (also net-1): over the threshold of 2 a minute.
    for d in 0..3u8 {
        let mut s = common::sample(now, 3, 20 + d, 81, 60, 0);
        s.event = cirrus_analytics::record::Event::Setup;
        s.forward.pass = false;
        s.forward.nw_ace_uuid = "rule-b".into();
        s.reverse = None;
        recs.push(s);
    }
    let mut frame = Vec::new();
    wire::encode_frame(&recs, &mut frame);
    let mut sock = std::net::TcpStream::connect(r.collector).unwrap();
    sock.write_all(&frame).unwrap();

    let (s, types) = r.get("/analytics/uves");
    assert_eq!(s, 200);
    let names: Vec<&str> = types
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "vrouters",
            "virtual-networks",
            "virtual-machine-interfaces",
            "control-nodes",
            "config-nodes",
            "bgp-peers"
        ]
    );

    let v = r.wait("/analytics/uves/vrouter/compute-1?flat", |v| {
        v["VrouterStatsAgent"]["added_flows"] == 4
    });
    assert_eq!(
        v["VrouterAgent"]["interface_list"],
        serde_json::json!(["vmi-1", "vmi-3"])
    );
    assert_eq!(
        v["VrouterAgent"]["connected_networks"],
        serde_json::json!([RED])
    );
    let st = &v["VrouterStatsAgent"];
    assert_eq!(
        (st["in_bytes"].as_u64(), st["out_bytes"].as_u64()),
        (Some(380), Some(80))
    );
    assert_eq!(st["denied_flows"], 3);
    assert_eq!(v["NodeStatus"]["collector_session"], "Up");
    assert_eq!(alarm_types(&v["UVEAlarms"]), [DENY_RATE]);

    let n = r
        .get(&format!("/analytics/uves/virtual-network/{RED}?flat"))
        .1;
    let a = &n["UveVirtualNetworkAgent"];
    assert_eq!(
        a["out_stats"],
        serde_json::json!([{"other_vn": WEB, "tpkts": 5, "bytes": 380}])
    );
    assert_eq!(
        a["in_stats"],
        serde_json::json!([{"other_vn": WEB, "tpkts": 2, "bytes": 80}])
    );
    assert_eq!(a["interface_list"], serde_json::json!(["vmi-1", "vmi-3"]));
    // web has no local end here: no UVE.
    assert_eq!(
        r.get(&format!("/analytics/uves/virtual-network/{WEB}")),
        (200, serde_json::json!({}))
    );

    let p = r.get("/analytics/uves/virtual-machine-interface/vmi-1").1;
    assert_eq!(
        p["UveVMInterfaceAgent"]["if_stats"],
        serde_json::json!({"in_pkts": 2, "in_bytes": 200, "out_pkts": 2, "out_bytes": 80})
    );
    assert_eq!(p["UveVMInterfaceAgent"]["virtual_network"], RED);

    // Lists, with key wildcards.
    let l = r
        .get("/analytics/uves/virtual-machine-interfaces?kfilt=vmi-3,nothing*")
        .1;
    let l = l.as_array().unwrap();
    assert_eq!(l.len(), 1, "{l:?}");
    assert_eq!(l[0]["name"], "vmi-3");
    assert!(
        l[0]["href"]
            .as_str()
            .unwrap()
            .ends_with("/analytics/uves/virtual-machine-interface/vmi-3?flat")
    );
    assert_eq!(r.get("/analytics/uves/vrouters").1[0]["name"], "compute-1");

    // cfilt keeps the named structs and attributes.
    let f = r
        .get(&format!(
            "/analytics/uves/virtual-network/{RED}?cfilt=UveVirtualNetworkAgent:in_stats"
        ))
        .1;
    assert_eq!(
        f,
        serde_json::json!({"UveVirtualNetworkAgent": {"in_stats": [{"other_vn": WEB, "tpkts": 2, "bytes": 80}]}})
    );

    // The deny-rate alarm, in Contrail's shape.
    let al = r.get("/analytics/alarms").1;
    let one = &al["vrouter"][0];
    assert_eq!(one["name"], "compute-1");
    let info = &one["value"]["UVEAlarms"]["alarms"][0];
    assert_eq!(info["type"], DENY_RATE);
    assert_eq!(info["ack"], false);
    assert_eq!(info["severity"], 2);
    let m = &info["alarm_rules"]["or_list"][0]["and_list"][0];
    assert_eq!(
        m["condition"]["operand1"],
        "VrouterStatsAgent.denied_flows_per_minute"
    );
    assert_eq!(m["match"][0]["json_operand1_value"], "3");
    let t = r.get("/analytics/alarm-types").1;
    assert!(
        t[DISCONNECTED]["description"].is_string() && t[DENY_RATE]["severity"] == 2,
        "{t}"
    );

    // The session ends: the vrouter is disconnected.
    drop(sock);
    let v = r.wait("/analytics/uves/vrouter/compute-1", |v| {
        alarm_types(&v["UVEAlarms"]).contains(&DISCONNECTED.to_string())
    });
    assert_eq!(v["NodeStatus"]["collector_session"], "Down");
    let al = r.get("/analytics/alarms").1;
    let got = alarm_types(&al["vrouter"][0]["value"]["UVEAlarms"]);
    assert_eq!(got, [DISCONNECTED, DENY_RATE]);

    // It reconnects: the disconnected alarm clears.
    let mut sock = std::net::TcpStream::connect(r.collector).unwrap();
    let mut frame = Vec::new();
    wire::encode_frame(&[common::sample(now, 1, 9, 80, 1, 1)], &mut frame);
    sock.write_all(&frame).unwrap();
    r.wait("/analytics/uves/vrouter/compute-1", |v| {
        v["NodeStatus"]["collector_session"] == "Up"
    });
}

#[test]
fn unknown_types_are_404_and_bad_filters_400_naming_them() {
    let r = Running::start(|c| c.alarms.deny_per_minute = 100);
    let (s, e) = r.get("/analytics/uves/virtual-routers");
    assert_eq!(s, 404, "{e}");
    assert_eq!(e["field"], "uve_type");
    assert!(
        e["error"].as_str().unwrap().contains("virtual-routers"),
        "{e}"
    );
    let (s, e) = r.get("/analytics/uves/xmpp-peer/x");
    assert_eq!((s, e["field"].as_str()), (404, Some("uve_type")));
    let (s, e) = r.get("/analytics/uves/vrouter/c1?cfilt=UveVirtualNetworkAgent");
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["field"], "cfilt");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("UveVirtualNetworkAgent"),
        "{e}"
    );
    let (s, e) = r.get("/analytics/uves/vrouters?kfilt=a,,b");
    assert_eq!((s, e["field"].as_str()), (400, Some("kfilt")));
    // A known type and a name never seen: Contrail's empty UVE.
    assert_eq!(
        r.get("/analytics/uves/vrouter/nobody"),
        (200, serde_json::json!({}))
    );
    assert_eq!(r.get("/analytics/alarms"), (200, serde_json::json!({})));
}
