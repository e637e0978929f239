//! `intent-bench`: the intent compiler's figures beside issue 9's targets.
//!
//! Builds a config of 10,000 virtual networks (each with its primary routing instance and
//! one port) and 1,000 network policies, each attached to ten networks, whose rules let each
//! network talk to a network of the next policy's group (both ways, so instances connect),
//! pass ICMP from a subnet and deny one port from any network (a pass from `any` would
//! connect every network of the project to every other, Contrail's `*` connection). Then measures:
//! - compiling it from scratch (`Compiler::full`; target <= 1 s);
//! - after the derived state is written back, changing one policy's rules and recompiling
//!   only what it reaches (`Compiler::changed`; target <= 10 ms).
//!
//! `cargo run --release -p cirrus-intent --bin intent-bench [-- NETWORKS POLICIES]`

use std::time::{Duration, Instant};

// The allocator cirrus-controller runs the compiler on.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use cirrus_intent::testing::{Graph, PROJECT};
use cirrus_intent::{Compiler, Options};
use serde_json::{Value, json};

fn rule(
    uuid: String,
    proto: &str,
    src: Value,
    dst: Value,
    port: i64,
    action: &str,
    dir: &str,
) -> Value {
    json!({"rule_uuid": uuid, "direction": dir, "protocol": proto, "ethertype": "IPv4",
           "src_addresses": [src], "dst_addresses": [dst],
           "src_ports": [{"start_port": 0, "end_port": 65535}],
           "dst_ports": [{"start_port": port.max(0), "end_port": if port < 0 {65535} else {port}}],
           "action_list": {"simple_action": action}})
}

fn rules(p: usize, policies: usize, per: usize, salt: usize) -> Value {
    let peer = ((p + 1) % policies) * per + salt % per;
    let back = ((p + policies - 1) % policies) * per + salt % per;
    let vn = |i: usize| json!({"virtual_network": format!("{PROJECT}:vn{i}")});
    json!([
        rule(
            format!("00000000-0000-0000-0001-{p:012}"),
            "tcp",
            json!({"virtual_network": "local"}),
            vn(peer),
            443,
            "pass",
            "<>"
        ),
        rule(
            format!("00000000-0000-0000-0002-{p:012}"),
            "any",
            vn(back),
            json!({"virtual_network": "local"}),
            -1,
            "pass",
            "<>"
        ),
        rule(
            format!("00000000-0000-0000-0003-{p:012}"),
            "icmp",
            json!({"subnet": {"ip_prefix": "10.0.0.0", "ip_prefix_len": 8}}),
            json!({"virtual_network": "local"}),
            -1,
            "pass",
            ">"
        ),
        rule(
            format!("00000000-0000-0000-0004-{p:012}"),
            "tcp",
            json!({"virtual_network": "any"}),
            json!({"virtual_network": "local"}),
            23,
            "deny",
            ">"
        ),
    ])
}

/// This thread's CPU time (`/proc/thread-self/schedstat`, ns on CPU): on a machine shared
/// with other work the wall clock also counts time spent waiting for a core.
fn cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let networks = args.first().copied().unwrap_or(10_000);
    let policies = args.get(1).copied().unwrap_or(1_000).max(1);
    let per = networks.div_ceil(policies);

    let t = Instant::now();
    let mut g = Graph::new();
    let vns: Vec<String> = (0..networks)
        .map(|i| g.network(&format!("vn{i}")))
        .collect();
    for (i, vn) in vns.iter().enumerate() {
        g.port(&format!("port{i}"), vn);
    }
    let pols: Vec<String> = (0..policies)
        .map(|p| g.policy(&format!("pol{p}"), rules(p, policies, per, 0)))
        .collect();
    for (i, vn) in vns.iter().enumerate() {
        g.attach(vn, &[&pols[(i / per).min(policies - 1)]]);
    }
    println!(
        "config: {networks} networks, {policies} policies ({per} networks each), {} objects, built in {}",
        g.index.len(),
        ms(t.elapsed())
    );

    // From scratch five times (a fresh compiler each), best and median: the machine is shared.
    let mut runs = Vec::new();
    let mut c = Compiler::new(Options::default());
    let mut out = None;
    for _ in 0..5 {
        c = Compiler::new(Options::default());
        let (t, c0) = (Instant::now(), cpu());
        let o = c.full(&g.index);
        runs.push((t.elapsed(), cpu() - c0));
        out = Some(o);
    }
    let out = out.expect("ran");
    runs.sort();
    println!(
        "full compile: {:>10} best wall, {} median wall, {} best cpu   (target <= 1000 ms)   {} writes, {} networks, {} instances, {} ports",
        ms(runs[0].0),
        ms(runs[runs.len() / 2].0),
        ms(runs.iter().map(|r| r.1).min().unwrap_or_default()),
        out.writes.len(),
        out.stats.networks,
        out.stats.instances,
        out.stats.ports
    );

    if std::env::var_os("INTENT_BENCH_FULL_ONLY").is_some() {
        return;
    }
    // Write the derived state back and let the echo settle, as the controller does.
    let since = g.revision();
    g.apply(&out.writes);
    g.converge(&mut c, since);
    let connected = g
        .index
        .of_type("routing-instance")
        .filter(|ri| ri.refs().any(|r| r.to_type == "routing-instance"))
        .count();
    println!(
        "derived: {} objects, {connected} instances connected to another",
        g.index.len()
    );

    let star = vns
        .iter()
        .filter(|v| c.connections_of(v).is_some_and(|s| s.contains("*")))
        .count();
    println!(
        "networks connected to any: {star}; vn0 -> {:?}",
        c.connections_of(&vns[0])
    );

    // One policy change, several times over (each a different policy), median and worst.
    let mut times = Vec::new();
    let mut cpus = Vec::new();
    let mut writes = 0;
    let mut visited = 0;
    for round in 1..=21 {
        let p = (round * 37) % policies;
        let since = g.revision();
        g.update(
            &pols[p],
            json!({"network_policy_entries": {"policy_rule": rules(p, policies, per, round)}}),
        );
        let changes = g.index.changes_since(since).expect("log");
        let (t, c0) = (Instant::now(), cpu());
        let out = c.changed(&g.index, &changes);
        times.push(t.elapsed());
        cpus.push(cpu() - c0);
        writes = out.writes.len();
        visited = out.stats.networks + out.stats.instances;
        g.apply(&out.writes);
        g.converge(&mut c, g.revision());
    }
    times.sort();
    cpus.sort();
    println!(
        "one policy change: {:>10} median wall, {} median cpu, {} worst wall   (target <= 10 ms)   last: {writes} writes, {visited} network/instance units",
        ms(times[times.len() / 2]),
        ms(cpus[cpus.len() / 2]),
        ms(*times.last().expect("rounds"))
    );
}
