//! Forwarding with flow export on vs off, same run: `ns/packet` of the forwarding thread
//! with and without the real exporter (`cirrus_agent::flow_export::start`: the sampler
//! dumping the worker's flow table every interval, the analytics sender over TCP and the
//! IPFIX sender over UDP, both to local sinks), and the difference beside its target
//! (export on at most 5 % slower).
//!
//! Two runners, identical (one worker, two in-memory ports, `FLOWS` established UDP flows
//! of 64-byte frames), one of them exported every second (the sandbox's interval; the
//! default is 5 s). Rounds alternate between them, so load from other tenants of the
//! machine falls on both alike; each figure is the median over the rounds of the worker
//! thread's own CPU time (`/proc/self/task/<tid>/schedstat`) per forwarded packet. The
//! dumps the exporter asks for are answered by that same thread between batches, so
//! their cost is in the "on" figure.
//!
//! Run: `cargo bench -p cirrus-agent --bench export_forwarding`

use std::collections::HashSet;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use cirrus_agent::flow_context::FlowContext;
use cirrus_agent::flow_export::{self, FlowExportConfig};
use cirrus_dataplane::control::{Controller, Dataplane};
use cirrus_dataplane::flow::{FlowDecision, FlowSpec, Upcall};
use cirrus_dataplane::pipeline::{TrapReason, Worker, WorkerConfig};
use cirrus_dataplane::tables::{IfIndex, Interface, InterfaceKind, Nexthop};
use cirrus_dataplane::wire::*;
use cirrus_packet_io::memory::{MemDevice, MemPeer};
use cirrus_packet_io::runner::{Agent, Port, Runner, RunnerConfig};

const VROUTER_MAC: MacAddr = MacAddr([0x00, 0x00, 0x5e, 0x00, 0x01, 0x00]);
const MAC_A: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 3]);
const MAC_B: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 4]);
const VM_A: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 3);
const VM_B: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 4);
const IF_A: IfIndex = 1;
const IF_B: IfIndex = 2;
const FLOWS: u16 = 4096;
/// Frames per round and runner.
const ROUND: usize = 500_000;
const ROUNDS: usize = 10;
const TARGET_PCT: f64 = 5.0;

/// VRF 1 with workloads A and B, both with policy (flows for what A sends).
fn topology() -> (Controller, Dataplane) {
    let (mut c, dp) = Controller::new(16, VROUTER_MAC);
    c.add_vrf(1).unwrap();
    for (ifindex, mac, ip, nh, policy) in
        [(IF_A, MAC_A, VM_A, 1, true), (IF_B, MAC_B, VM_B, 2, true)]
    {
        c.set_interface(Interface {
            ifindex,
            name: format!("vm{ifindex}"),
            mac,
            kind: InterfaceKind::Virtual {
                vrf: 1,
                ips: vec![IpAddr::V4(ip)],
                policy,
            },
            flow_limit: 0,
            fat_flows: Vec::new(),
        })
        .unwrap();
        c.set_nexthop(
            nh,
            Nexthop::Encap {
                ifindex,
                dmac: mac,
                smac: VROUTER_MAC,
            },
        )
        .unwrap();
        c.add_route(1, ip.into(), 32, nh).unwrap();
    }
    c.commit();
    (c, dp)
}

/// Allows every flow (the agent's decisions are not what is measured).
struct AllowAll;

impl Agent for AllowAll {
    fn upcall(&mut self, up: &Upcall) -> Option<FlowDecision> {
        Some(FlowDecision {
            index: up.index,
            key: up.key,
            forward: FlowSpec::forward(up.key.vrf()),
            reverse: Some((
                up.key.reversed(up.key.vrf()),
                FlowSpec::forward(up.key.vrf()),
            )),
        })
    }

    fn trap(&mut self, _: IfIndex, _: TrapReason, _: &[u8]) -> Vec<(IfIndex, Vec<u8>)> {
        Vec::new()
    }
}

/// 64-byte Ethernet + IPv4 + UDP frames from A to B, one per flow (source port).
fn frames() -> Vec<Vec<u8>> {
    (0..FLOWS)
        .map(|i| {
            let mut f = vec![0u8; 64];
            EthernetRepr {
                src: MAC_A,
                dst: VROUTER_MAC,
                ethertype: EtherType::IPV4,
            }
            .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
            let payload = 64 - 42;
            Ipv4Repr {
                src: VM_A,
                dst: VM_B,
                protocol: IpProtocol::UDP,
                payload_len: 8 + payload,
                ttl: 64,
                tos: 0,
                ident: 1,
                dont_frag: false,
                more_frags: false,
                frag_offset: 0,
            }
            .emit(&mut f[14..34]);
            UdpRepr {
                src_port: 10_000 + i,
                dst_port: 5000,
                payload_len: payload,
            }
            .emit(&mut f[34..42]);
            f
        })
        .collect()
}

/// Thread ids of this process's forwarding threads.
fn worker_tids() -> HashSet<u32> {
    let mut out = HashSet::new();
    for t in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim() == "cirrus-worker"
            && let Some(tid) = t.file_name().to_str().and_then(|s| s.parse().ok())
        {
            out.insert(tid);
        }
    }
    out
}

fn cpu_ns(tid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct Bed {
    _runner: Runner,
    a: MemPeer,
    b: MemPeer,
    tid: u32,
    handle: cirrus_packet_io::handle::RunnerHandle,
    dp: Dataplane,
    _ctl: Controller,
}

fn bed() -> Bed {
    let before = worker_tids();
    let (ctl, dp) = topology();
    let (dev_a, a) = MemDevice::pair("a", 1 << 14);
    // A whole round fits on the receiving side: a bench thread descheduled by other tenants
    // of the machine must not turn into frames dropped on a full queue.
    let (dev_b, b) = MemDevice::pair("b", ROUND);
    let runner = Runner::spawn(
        Worker::new(dp.clone(), WorkerConfig::default()),
        vec![
            Port {
                ifindex: IF_A,
                device: Box::new(dev_a),
            },
            Port {
                ifindex: IF_B,
                device: Box::new(dev_b),
            },
        ],
        Box::new(AllowAll),
        RunnerConfig::default(),
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let tid = loop {
        if let Some(t) = worker_tids().difference(&before).next() {
            break *t;
        }
        assert!(Instant::now() < deadline, "no worker thread appeared");
        std::thread::sleep(Duration::from_millis(5));
    };
    Bed {
        handle: runner.handle(),
        _runner: runner,
        a,
        b,
        tid,
        dp,
        _ctl: ctl,
    }
}

/// Sends `n` frames through `bed` (cycling over the flows) and waits until all came out;
/// returns the worker's CPU nanoseconds per packet.
fn round(bed: &Bed, frames: &[Vec<u8>], n: usize) -> f64 {
    let cpu0 = cpu_ns(bed.tid);
    let (mut sent, mut out) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(120);
    while out < n {
        while sent < n && bed.a.inject(&frames[sent % frames.len()]) {
            sent += 1;
        }
        out += bed.b.drain().len();
        assert!(Instant::now() < deadline, "{out} of {n} frames forwarded");
        if sent == n && out < n {
            std::thread::yield_now();
        }
    }
    (cpu_ns(bed.tid) - cpu0) as f64 / n as f64
}

/// Sends every frame and takes what comes out, until a pass loses none. A pass ends when
/// nothing more came out for 300 ms (at most 10 s), so a worker slowed by other tenants of
/// the machine is waited for rather than taken for lost frames.
fn warm(bed: &Bed, frames: &[Vec<u8>]) {
    for _ in 0..20 {
        let mut sent = 0;
        for f in frames {
            sent += bed.a.inject(f) as usize;
        }
        let (mut out, mut quiet_since) = (0, Instant::now());
        let deadline = Instant::now() + Duration::from_secs(10);
        while quiet_since.elapsed() < Duration::from_millis(300) && Instant::now() < deadline {
            let n = bed.b.drain().len();
            if n > 0 {
                out += n;
                quiet_since = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if out == sent {
            return;
        }
    }
    panic!("the flows were not set up");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A TCP collector that reads and discards, and a UDP socket that nobody reads (the
/// kernel drops what overflows it, as a slow IPFIX collector would).
fn sinks() -> (std::net::SocketAddr, std::net::SocketAddr, UdpSocket) {
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let at = tcp.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in tcp.incoming().flatten() {
            std::thread::spawn(move || {
                let mut conn = conn;
                let mut buf = [0u8; 65536];
                while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    (at, udp.local_addr().unwrap(), udp)
}

fn main() {
    // `cargo bench` passes --bench; nothing else is taken.
    let frames = frames();
    let off = bed();
    let on = bed();
    // Flows set up on both (the first packet of each goes to the agent, and may be
    // dropped while the flow is held): whatever comes out, then every frame of a round.
    for bed in [&off, &on] {
        warm(bed, &frames);
    }
    let (collector, ipfix, _udp) = sinks();
    let ctx = Arc::new(ArcSwap::from_pointee(FlowContext::default()));
    let stats = flow_export::start(
        FlowExportConfig {
            collector: Some(collector),
            ipfix: vec![ipfix],
            interval: Duration::from_secs(1),
            queue: 64,
        },
        "bench".into(),
        Ipv4Addr::new(198, 18, 0, 11),
        on.handle.clone(),
        ctx,
        Some(on.dp.clone()),
        flow_export::parts(),
    );
    // Measure only once the exporter runs: its first batch went out.
    let sent = |st: &Option<Arc<cirrus_agent::ipfix::IpfixStats>>| {
        st.as_ref()
            .map_or(0, |s| s.records.load(std::sync::atomic::Ordering::Relaxed))
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while sent(&stats) == 0 {
        assert!(Instant::now() < deadline, "the exporter sent nothing");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (records0, t0) = (sent(&stats), Instant::now());
    let (mut ns_off, mut ns_on) = (Vec::new(), Vec::new());
    for i in 0..ROUNDS {
        // Alternate which goes first, so neither always follows the other.
        if i % 2 == 0 {
            ns_off.push(round(&off, &frames, ROUND));
            ns_on.push(round(&on, &frames, ROUND));
        } else {
            ns_on.push(round(&on, &frames, ROUND));
            ns_off.push(round(&off, &frames, ROUND));
        }
    }
    let (m_off, m_on) = (median(ns_off), median(ns_on));
    let diff = (m_on - m_off) / m_off * 100.0;
    let (records, took) = (sent(&stats) - records0, t0.elapsed());
    println!(
        "export_forwarding: {FLOWS} flows, 64-byte frames, {ROUNDS} rounds of {ROUND} frames each"
    );
    println!("  forwarding, export off: {m_off:>8.1} ns/packet");
    println!(
        "  forwarding, export on:  {m_on:>8.1} ns/packet   (sampled every 1 s: {records} IPFIX records sent in the {took:.1?} measured)"
    );
    println!(
        "  difference:             {diff:>+8.1} %          target <= {TARGET_PCT} % {}",
        if diff <= TARGET_PCT {
            "(met)"
        } else {
            "(NOT met)"
        }
    );
}
