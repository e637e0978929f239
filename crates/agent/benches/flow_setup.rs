//! Flow setup through the agent, one core: a workload port whose network's ACL has 100
//! rules (the one that passes is the last) and whose security group has 10 ingress and 10
//! egress rules (the one that passes is the last), opening flows to remote workloads.
//!
//! - `flow_setup_decide`: the agent's answer to an upcall (`PipelineAgent::upcall`:
//!   first-packet parse, lookups, both directions' policy, counters), per flow.
//! - `flow_setup_pipeline`: the whole miss on one worker: the first packet misses and is
//!   held, the agent decides, the decision is installed and the held packet released
//!   (encapsulated towards the remote vrouter), per flow.
//!
//! `cargo bench -p cirrus-agent --bench flow_setup` prints one FIGURE line per figure
//! (median of 7 runs) beside the target (>= 200k flows/s).

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use cirrus_agent::config::ConfigStore;
use cirrus_agent::config::testing::*;
use cirrus_agent::flow_stats::FlowStats;
use cirrus_agent::pipeline_agent::{NoTraps, PipelineAgent};
use cirrus_agent::program::{Programmer, VROUTER_MAC};
use cirrus_agent::testing::frames;
use cirrus_agent::testing::scenario::{Scenario, identity};
use cirrus_dataplane::control::Controller;
use cirrus_dataplane::flow::{FlowConfig, FlowKey, FlowVerdict, Upcall};
use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::{Disposition, Worker, WorkerConfig};
use cirrus_dataplane::wire::{IpProtocol, MacAddr, TcpFlags};
use cirrus_packet_io::runner::Agent;
use serde_json::{Value, json};

/// Flows per run and runs (`CIRRUS_BENCH_FLOWS`, `CIRRUS_BENCH_RUNS` override, e.g. to
/// count instructions under callgrind).
fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
const MAC_A: MacAddr = MacAddr([2, 0, 0, 0, 0, 3]);
const A: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 3);

fn scenario() -> Scenario {
    let mut s = ConfigStore::new();
    add_network(&mut s, "vn-red", "red", 5, "10.1.0.0/16");
    // 99 rules that do not match (other networks, subnets, ports), then the one that does.
    let mut rules: Vec<Value> = (0..99)
        .map(|i| match i % 3 {
            0 => acl_rule(
                "6",
                json!({"virtual_network": format!("d:p:other{i}")}),
                json!({"virtual_network": "any"}),
                (-1, -1),
                "pass",
                &format!("r{i}"),
            ),
            1 => acl_rule(
                "17",
                json!({"subnet": {"ip_prefix": format!("172.{i}.0.0"), "ip_prefix_len": 16}}),
                json!({}),
                (-1, -1),
                "deny",
                &format!("r{i}"),
            ),
            _ => acl_rule(
                "6",
                json!({"virtual_network": "d:p:red"}),
                json!({"virtual_network": "d:p:red"}),
                (i as i64, i as i64),
                "deny",
                &format!("r{i}"),
            ),
        })
        .collect();
    rules.push(acl_rule(
        "any",
        json!({"virtual_network": "d:p:red"}),
        json!({"virtual_network": "d:p:red"}),
        (-1, -1),
        "pass",
        "red-red",
    ));
    set_network_acl(&mut s, "vn-red", Value::Array(rules));
    let sg_rules = |last: Value| {
        let mut v: Vec<Value> = (0..9)
            .map(|i| {
                acl_rule(
                    "6",
                    json!({"security_group": format!("{}", 9000000 + i)}),
                    json!({}),
                    (i, i),
                    "pass",
                    &format!("sg{i}"),
                )
            })
            .collect();
        v.push(last);
        Value::Array(v)
    };
    add_security_group(
        &mut s,
        "sg",
        8000001,
        sg_rules(acl_rule(
            "any",
            json!({"security_group": "8000001"}),
            json!({}),
            (-1, -1),
            "pass",
            "from-self",
        )),
        sg_rules(acl_rule(
            "any",
            json!({}),
            json!({"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 16}}),
            (-1, -1),
            "pass",
            "to-red",
        )),
    );
    add_port(
        &mut s,
        "a",
        "vn-red",
        "02:00:00:00:00:03",
        "10.1.0.3",
        &["sg"],
    );
    let mut sc = Scenario::new(identity(1), s);
    sc.register("a", 2, 17);
    // 1000 remote workloads behind 10 vrouters.
    for i in 0..1000u32 {
        let host = Ipv4Addr::from_bits(Ipv4Addr::new(10, 1, 4, 0).to_bits() + i);
        let via = Ipv4Addr::new(198, 18, 0, 20 + (i % 10) as u8);
        sc.add_route(
            "d:p:red:red",
            &format!("{host}/32"),
            via,
            100 + i,
            5,
            "d:p:red",
            &[8000001],
        );
        sc.neighbours
            .insert(via, MacAddr([2, 0xfa, 0, 0, 1, (i % 10) as u8]));
    }
    sc
}

fn flow(i: usize) -> (Ipv4Addr, u16) {
    let host = Ipv4Addr::from_bits(Ipv4Addr::new(10, 1, 4, 0).to_bits() + (i % 1000) as u32);
    (host, 1024 + (i / 1000) as u16)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let flows_n = knob("CIRRUS_BENCH_FLOWS", 100_000);
    let runs = knob("CIRRUS_BENCH_RUNS", 7);
    let mut sc = scenario();
    let compiled = sc.compile();
    let desired = compiled.desired;
    let ctx = Arc::new(ArcSwap::from_pointee(compiled.context));
    let mut agent = PipelineAgent {
        ctx,
        stats: Arc::new(FlowStats::default()),
        fabric_ifindex: 1,
        fabric: tokio::sync::mpsc::unbounded_channel().0,
        traps: Arc::new(NoTraps),
        decisions: None,
    };
    let vrf = *desired.vrfs.keys().next().expect("a VRF");

    // The agent's answer alone.
    let ups: Vec<Upcall> = (0..flows_n)
        .map(|i| {
            let (dst, sport) = flow(i);
            let ip = frames::tcp_ip(A, sport, dst, 5432, TcpFlags::SYN, b"");
            Upcall {
                index: i as u32,
                key: FlowKey::new(vrf, IpProtocol::TCP, A.into(), dst.into(), sport, 5432),
                ingress: 2,
                frame: frames::ether(MAC_A, VROUTER_MAC, &ip),
            }
        })
        .collect();
    let mut rates = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        for up in &ups {
            let d = agent.upcall(black_box(up)).expect("a decision");
            assert_eq!(d.forward.verdict, FlowVerdict::Forward);
            black_box(d);
        }
        rates.push(flows_n as f64 / t.elapsed().as_secs_f64());
    }
    let stats = agent.stats.snapshot();
    assert_eq!(stats.refused, 0, "{stats:?}");
    println!(
        "FIGURE flow_setup_decide: {:.0} flows/s (target >= 200000; 100 ACL rules, 10+10 SG rules; median of {runs} runs of {flows_n})",
        median(rates)
    );

    // The whole miss on a worker.
    let mut rates = Vec::new();
    for _ in 0..runs {
        let (ctl, dp) = Controller::new(16, VROUTER_MAC);
        let mut p = Programmer::new(ctl);
        let st = p.apply(desired.clone());
        assert_eq!(st.refused, 0);
        let mut w = Worker::new(
            dp,
            WorkerConfig {
                flows: FlowConfig {
                    max_entries: (flows_n * 2 + 1024) as u32,
                    ..FlowConfig::default()
                },
                ..WorkerConfig::default()
            },
        );
        let mut pkts: Vec<PacketBuf> = (0..flows_n)
            .map(|i| {
                let (dst, sport) = flow(i);
                let ip = frames::tcp_ip(A, sport, dst, 5432, TcpFlags::SYN, b"");
                PacketBuf::from_frame(&frames::ether(MAC_A, VROUTER_MAC, &ip))
            })
            .collect();
        let mut out = vec![Disposition::Held; 32];
        let mut sent = 0usize;
        let t = Instant::now();
        for chunk in pkts.chunks_mut(32) {
            w.process_batch(1, 2, chunk, &mut out[..chunk.len()]);
            for up in w.take_upcalls() {
                let d = agent.upcall(&up).expect("a decision");
                for (disp, _) in w.apply_decision(1, d).expect("installed") {
                    sent += matches!(disp, Disposition::Tx(1)) as usize;
                }
            }
        }
        rates.push(flows_n as f64 / t.elapsed().as_secs_f64());
        assert_eq!(
            sent, flows_n,
            "every first packet leaves encapsulated to the fabric"
        );
        assert_eq!(w.flows.len(), flows_n * 2);
    }
    println!(
        "FIGURE flow_setup_pipeline: {:.0} flows/s (target >= 200000; miss, hold, decide, install, release; median of {runs} runs of {flows_n})",
        median(rates)
    );
}
