//! Session lifecycle and placement against a real `cirrus-controller`: with
//! `--channel-graceful-restart`, a vrouter's routes outlive its session for the grace time, a
//! reconnect that republishes part of them and sends End-of-RIB sweeps the rest, and the timer
//! withdraws what a vrouter that never comes back left. A vrouter asking for an unbound port
//! (ConfigSubscribe, port IPC) gets it in its slice and may publish its address; binding the
//! port to another vrouter moves it out of the slice again.

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use cirrus_proto::v1 as pb;
use common::Controller;
use common::channel::{host_route, instance, network, port, runtime, vrouter, wait};
use serde_json::json;

#[test]
fn graceful_restart_keeps_routes_then_sweeps_what_was_not_republished() {
    let c = Controller::start_with(
        "cn1",
        Ipv4Addr::new(127, 0, 7, 21),
        None,
        &["--channel-graceful-restart", "3"],
    );
    let rt = runtime();
    network(&c, "red", "10.1.0.0/24", &["target:64512:8107"], &[]);
    port(&c, "red", "p1", "c1", "10.1.0.3");
    port(&c, "red", "p2", "c2", "10.1.0.4");
    port(&c, "red", "p3", "c2", "10.1.0.5");
    let red = instance("red");
    let v1 = vrouter(&rt, &c, "c1", 11, &[&red]);
    let v2 = vrouter(&rt, &c, "c2", 12, &[&red]);
    wait(&rt, &c, &v2, "HelloReply", |s| s.hello.is_some());
    assert_eq!(
        v2.with(|s| s.hello.as_ref().unwrap().graceful_restart_seconds),
        3
    );
    v2.publish(
        &red,
        &[host_route("10.1.0.4", 21), host_route("10.1.0.5", 22)],
        true,
    );
    wait(&rt, &c, &v1, "c2's routes", |s| s.count(&red) == 2);

    // c2 restarts: its routes stay meanwhile; it republishes one of two and End-of-RIB.
    v2.close();
    std::thread::sleep(Duration::from_millis(800));
    v1.with(|s| assert_eq!(s.count(&red), 2, "withdrawn during the grace time"));
    let v2 = vrouter(&rt, &c, "c2", 12, &[&red]);
    v2.publish(&red, &[host_route("10.1.0.4", 21)], true);
    wait(&rt, &c, &v1, "10.1.0.5 swept by End-of-RIB", |s| {
        s.count(&red) == 1 && s.route(&red, "10.1.0.4").is_some()
    });

    // c2 goes for good: after the grace time, its route goes.
    let gone = Instant::now();
    v2.close();
    wait(
        &rt,
        &c,
        &v1,
        "c2's route withdrawn after the grace time",
        |s| s.count(&red) == 0,
    );
    assert!(
        gone.elapsed() >= Duration::from_secs(2),
        "withdrawn before the grace time"
    );
}

#[test]
fn a_port_asked_for_joins_the_slice_until_the_config_binds_it_elsewhere() {
    let c = Controller::start("cn1", Ipv4Addr::new(127, 0, 7, 22), None);
    let rt = runtime();
    network(&c, "red", "10.1.0.0/24", &["target:64512:8108"], &[]);
    port(&c, "red", "p1", "c1", "10.1.0.3");
    // An unbound port (its binding not yet written, as with port IPC before Nova's).
    let p9 = port(&c, "red", "p9", "", "10.1.0.9");
    let red = instance("red");
    let v1 = vrouter(&rt, &c, "c1", 11, &[&red]);
    let v2 = vrouter(&rt, &c, "c2", 12, &[&red]);
    wait(&rt, &c, &v1, "slice", |s| s.end_of_config);
    v1.with(|s| assert!(!s.config.contains_key(&p9)));
    v1.publish(&red, &[host_route("10.1.0.9", 29)], false);
    wait(&rt, &c, &v1, "the route refused", |s| {
        s.notices
            .iter()
            .any(|n| n.code == pb::notice::Code::RouteRefused as i32)
    });

    v1.send(pb::agent_message::Msg::ConfigSubscribe(
        pb::ConfigSubscribe {
            vmi_uuids: vec![p9.clone()],
        },
    ));
    wait(&rt, &c, &v1, "p9 and its instance-ip in the slice", |s| {
        s.config.contains_key(&p9) && s.config.values().any(|o| o.fq_name == ["p9-v4"])
    });
    v1.publish(&red, &[host_route("10.1.0.9", 29)], true);
    wait(&rt, &c, &v2, "p9's route from c1", |s| {
        s.route(&red, "10.1.0.9").is_some()
    });

    // The config binds p9 to c2: c1's slice loses it (a delete), c2's gains it.
    c.update(
        "virtual-machine-interface",
        &p9,
        json!({"virtual_machine_interface_bindings": {"key_value_pair": [{"key": "host_id", "value": "c2"}]}}),
    );
    wait(&rt, &c, &v1, "p9 gone from c1's slice", |s| {
        !s.config.contains_key(&p9)
    });
    wait(&rt, &c, &v2, "p9 in c2's slice", |s| {
        s.config.contains_key(&p9)
    });
}
