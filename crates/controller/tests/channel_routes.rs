//! Simulated vrouters speaking the real gRPC channel to a real `cirrus-controller`: two
//! vrouters in one network see each other's routes; vrouters in different networks see none
//! until both networks import each other's target, and lose them when that is undone; a route
//! for an address the config does not place on its sender is refused (Notice, counted, never
//! sent on); each vrouter gets its config slice and shows in `/vrouters`.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use cirrus_proto::v1 as pb;
use common::Controller;
use common::channel::{
    attach_policies, host_route, instance, network, policy_between, port, runtime, set_imports,
    vrouter, wait,
};

#[test]
fn vrouters_in_one_network_see_each_other_and_a_foreign_address_is_refused() {
    let c = Controller::start("cn1", Ipv4Addr::new(127, 0, 7, 1), None);
    let rt = runtime();
    network(&c, "red", "10.1.0.0/24", &["target:64512:8100"], &[]);
    let vmi1 = port(&c, "red", "p1", "c1", "10.1.0.3");
    let vmi2 = port(&c, "red", "p2", "c2", "10.1.0.4");
    let red = instance("red");

    let v1 = vrouter(&rt, &c, "c1", 11, &[&red]);
    let v2 = vrouter(&rt, &c, "c2", 12, &[&red]);
    // The slice: its own port and network, not the other vrouter's port.
    wait(&rt, &c, &v1, "c1's config slice", |s| {
        s.end_of_config && s.hello.is_some()
    });
    v1.with(|s| {
        assert!(s.config.contains_key(&vmi1), "c1's slice lacks its port");
        assert!(!s.config.contains_key(&vmi2), "c1's slice has c2's port");
        let types: Vec<&str> = s.config.values().map(|o| o.r#type.as_str()).collect();
        for t in [
            "virtual-router",
            "virtual-network",
            "instance-ip",
            "routing-instance",
            "network-ipam",
        ] {
            assert!(types.contains(&t), "no {t} in c1's slice: {types:?}");
        }
    });

    v1.publish(&red, &[host_route("10.1.0.3", 20)], true);
    v2.publish(&red, &[host_route("10.1.0.4", 21)], true);
    for v in [&v1, &v2] {
        wait(&rt, &c, v, "both routes", |s| {
            s.count(&red) == 2 && s.end_of_rib.contains(&red)
        });
    }
    v1.with(|s| {
        assert_eq!(
            s.next_hops(&red, "10.1.0.4"),
            vec![(IpAddr::from([198, 18, 0, 12]), 21)]
        );
        let r = s.route(&red, "10.1.0.4").unwrap();
        assert_eq!(r.origin_network, "default-domain:default-project:red");
        assert_eq!(r.nexthops[0].origin, "c2");
    });

    // c1 claims an address the config places on c2, and one placed nowhere.
    v1.publish(
        &red,
        &[host_route("10.1.0.4", 22), host_route("10.1.0.99", 23)],
        false,
    );
    wait(&rt, &c, &v1, "two ROUTE_REFUSED notices", |s| {
        s.notices
            .iter()
            .filter(|n| n.code == pb::notice::Code::RouteRefused as i32)
            .count()
            == 2
    });
    v1.with(|s| {
        assert!(
            s.notices[0].message.contains("10.1.0.4/32"),
            "{:?}",
            s.notices
        )
    });
    // A later change proves the refused routes were not sent on.
    v2.publish(&red, &[host_route("10.1.0.4", 24)], false);
    wait(&rt, &c, &v1, "c2's new label", |s| {
        s.next_hops(&red, "10.1.0.4") == vec![(IpAddr::from([198, 18, 0, 12]), 24)]
    });
    v2.with(|s| assert!(s.route(&red, "10.1.0.99").is_none()));

    let vr = c.vrouters();
    let list = vr["vrouters"].as_array().unwrap();
    let c1 = list.iter().find(|v| v["hostname"] == "c1").unwrap();
    assert_eq!(c1["state"], "established", "{vr}");
    assert_eq!(c1["counters"]["routes_refused"], 2, "{vr}");
    assert_eq!(c1["subscribed"][0], red.as_str());
    assert_eq!(vr["routes_refused"], 2);
    // The route server's table, as introspect shows it.
    let (status, t) = common::http(
        "GET",
        c.introspect,
        &format!("/vrouters/routes?instance={red}"),
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "{t}");
    let routes = t["instances"][red.as_str()].as_array().unwrap();
    let prefixes: Vec<&str> = routes.iter().filter_map(|r| r["prefix"].as_str()).collect();
    assert_eq!(prefixes, ["10.1.0.3/32", "10.1.0.4/32"], "{t}");
    assert_eq!(routes[1]["nexthops"][0]["address"], "198.18.0.12");
    // /routes of the instance has the BGP view and the vrouters' view side by side.
    // (The speaker's instances follow the config after a debounce.)
    common::wait_for(
        "red in the speaker",
        std::time::Duration::from_secs(10),
        || c.routes_answer(&format!("instance={red}")).0 == 200,
        || c.log(),
    );
    let (_, r) = c.routes_answer(&format!("instance={red}"));
    assert_eq!(r["vrouter_routes"].as_array().map(Vec::len), Some(2), "{r}");
    assert_eq!(
        common::http(
            "GET",
            c.introspect,
            "/vrouters/routes?instance=no:such",
            None
        )
        .unwrap()
        .0,
        404
    );
    // The controller made the virtual-router objects.
    let fq = c.api(
        "POST",
        "/fqname-to-id",
        Some(serde_json::json!({"type": "virtual-router", "fq_name": ["default-global-system-config", "c2"]})),
    );
    let o = c.api(
        "GET",
        &format!("/virtual-router/{}", fq["uuid"].as_str().unwrap()),
        None,
    );
    assert_eq!(
        o["virtual-router"]["virtual_router_ip_address"],
        "198.18.0.12"
    );

    // c2 goes away (no graceful restart configured): its routes go with it.
    v2.close();
    wait(&rt, &c, &v1, "c2's route withdrawn", |s| s.count(&red) == 1);
}

#[test]
fn networks_see_each_other_only_while_both_import_the_other() {
    let c = Controller::start("cn1", Ipv4Addr::new(127, 0, 7, 2), None);
    let rt = runtime();
    let (rt_red, rt_blue) = ("target:64512:8101", "target:64512:8102");
    let red_vn = network(&c, "red", "10.1.0.0/24", &[rt_red], &[]);
    let blue_vn = network(&c, "blue", "10.2.0.0/24", &[rt_blue], &[]);
    port(&c, "red", "p1", "c1", "10.1.0.3");
    port(&c, "blue", "p2", "c2", "10.2.0.3");
    let (red, blue) = (instance("red"), instance("blue"));
    let v1 = vrouter(&rt, &c, "c1", 11, &[&red]);
    let v2 = vrouter(&rt, &c, "c2", 12, &[&blue]);
    v1.publish(&red, &[host_route("10.1.0.3", 20)], true);
    v2.publish(&blue, &[host_route("10.2.0.3", 21)], true);
    wait(&rt, &c, &v1, "red's own route", |s| s.count(&red) == 1);
    wait(&rt, &c, &v2, "blue's own route", |s| s.count(&blue) == 1);

    // One way only: red imports blue; blue does not import red.
    set_imports(&c, &red_vn, &[rt_blue]);
    wait(&rt, &c, &v1, "blue's route in red", |s| s.count(&red) == 2);
    std::thread::sleep(std::time::Duration::from_millis(500));
    v2.with(|s| assert_eq!(s.count(&blue), 1, "blue imports nothing yet"));
    // Both ways.
    set_imports(&c, &blue_vn, &[rt_red]);
    wait(&rt, &c, &v2, "red's route in blue", |s| {
        s.next_hops(&blue, "10.1.0.3") == vec![(IpAddr::from([198, 18, 0, 11]), 20)]
    });
    // Undone.
    set_imports(&c, &red_vn, &[]);
    set_imports(&c, &blue_vn, &[]);
    // Each loses the other's route.
    wait(&rt, &c, &v1, "blue's route gone from red", |s| {
        s.count(&red) == 1
    });
    wait(&rt, &c, &v2, "red's route gone from blue", |s| {
        s.count(&blue) == 1
    });
}

#[test]
fn networks_see_each_other_only_while_both_policies_allow_it() {
    let c = Controller::start("cn1", Ipv4Addr::new(127, 0, 7, 3), None);
    let rt = runtime();
    // No targets given: each network gets its own from the intent compiler.
    network(&c, "red", "10.1.0.0/24", &[], &[]);
    network(&c, "blue", "10.2.0.0/24", &[], &[]);
    port(&c, "red", "p1", "c1", "10.1.0.3");
    port(&c, "blue", "p2", "c2", "10.2.0.3");
    let (red, blue) = (instance("red"), instance("blue"));
    let v1 = vrouter(&rt, &c, "c1", 11, &[&red]);
    let v2 = vrouter(&rt, &c, "c2", 12, &[&blue]);
    v1.publish(&red, &[host_route("10.1.0.3", 20)], true);
    v2.publish(&blue, &[host_route("10.2.0.3", 21)], true);
    wait(&rt, &c, &v1, "red's own route", |s| s.count(&red) == 1);
    wait(&rt, &c, &v2, "blue's own route", |s| s.count(&blue) == 1);

    // A policy allowing red <-> blue, attached to red only: blue does not allow red, so the
    // intent compiler connects nothing and neither sees the other.
    let policy = policy_between(&c, "red", "blue");
    attach_policies(&c, "red", &[&policy]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    v1.with(|s| {
        assert_eq!(
            s.count(&red),
            1,
            "red sees blue while blue does not allow it"
        )
    });
    v2.with(|s| {
        assert_eq!(
            s.count(&blue),
            1,
            "blue sees red while blue does not allow it"
        )
    });
    // Both sides allow: the compiler connects the instances; the routes leak both ways.
    attach_policies(&c, "blue", &[&policy]);
    wait(&rt, &c, &v1, "blue's route in red", |s| {
        s.next_hops(&red, "10.2.0.3") == vec![(IpAddr::from([198, 18, 0, 12]), 21)]
    });
    wait(&rt, &c, &v2, "red's route in blue", |s| {
        s.next_hops(&blue, "10.1.0.3") == vec![(IpAddr::from([198, 18, 0, 11]), 20)]
    });
    // Detached from one side: neither network allows the other any more.
    attach_policies(&c, "blue", &[]);
    wait(&rt, &c, &v1, "blue's route gone from red", |s| {
        s.count(&red) == 1
    });
    wait(&rt, &c, &v2, "red's route gone from blue", |s| {
        s.count(&blue) == 1
    });
}
