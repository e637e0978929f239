//! Programming cost: how long the agent takes to compute the desired tables and flow
//! snapshot from the slice and the routes, and to apply them, for one network with 100k
//! remote routes behind 100 vrouters (the control node's convergence case as one agent
//! sees it): the first application, and then one route changing (the agent recomputes from
//! scratch and applies only the difference).
//!
//! `cargo bench -p cirrus-agent --bench programming` prints FIGURE lines (median of 5).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use cirrus_agent::config::ConfigStore;
use cirrus_agent::config::testing::*;
use cirrus_agent::program::{Programmer, VROUTER_MAC};
use cirrus_agent::testing::scenario::{Scenario, identity};
use cirrus_dataplane::control::Controller;
use cirrus_dataplane::wire::MacAddr;

const ROUTES: u32 = 100_000;

fn scenario() -> Scenario {
    let mut s = ConfigStore::new();
    add_network(&mut s, "vn-red", "red", 5, "10.0.0.0/8");
    add_port(&mut s, "a", "vn-red", "02:00:00:00:00:03", "10.0.0.3", &[]);
    let mut sc = Scenario::new(identity(1), s);
    sc.register("a", 2, 17);
    for i in 0..ROUTES {
        let host = Ipv4Addr::from_bits(Ipv4Addr::new(10, 1, 0, 0).to_bits() + i);
        let via = Ipv4Addr::new(198, 18, 1, (i % 100) as u8 + 1);
        sc.add_route(
            "d:p:red:red",
            &format!("{host}/32"),
            via,
            100 + i % 1000,
            5,
            "d:p:red",
            &[],
        );
        sc.neighbours
            .insert(via, MacAddr([2, 0xfa, 0, 0, 1, (i % 100) as u8]));
    }
    sc
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut first = Vec::new();
    let mut change = Vec::new();
    for _ in 0..5 {
        let mut sc = scenario();
        let (ctl, _dp) = Controller::new(16, VROUTER_MAC);
        let mut p = Programmer::new(ctl);
        let t = Instant::now();
        let c = sc.compile();
        let st = p.apply(c.desired);
        first.push(t.elapsed());
        assert!(st.routes as u32 >= ROUTES, "{st:?}");
        // One route moves to another vrouter.
        let prefix = cirrus_agent::config::parse_prefix("10.1.0.7/32").unwrap();
        let r = sc
            .routes
            .get_mut("d:p:red:red")
            .unwrap()
            .get_mut(&prefix)
            .unwrap();
        r.nexthops[0].address = Ipv4Addr::new(198, 18, 1, 99);
        let t = Instant::now();
        let c = sc.compile();
        let st = p.apply(c.desired);
        change.push(t.elapsed());
        assert_eq!(st.routes, 1, "{st:?}");
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "FIGURE program_first_100k_routes: {:.0} ms (compute and apply; reported, median of 5)",
        ms(median(first))
    );
    println!(
        "FIGURE program_one_change_100k_routes: {:.0} ms (recompute from scratch, apply 1 route; reported, median of 5)",
        ms(median(change))
    );
}
