//! Forwarding benchmarks: 64-byte packets in batches of 32 on one core, each figure printed
//! beside its target. Kept short (1 s warm-up, 3 s measurement) so the whole run stays
//! well under three minutes. Timed figures are the median of criterion's 10 samples, with
//! the mean of every timed call printed beside it (see `Samples`).
//!
//! Run: `cargo bench -p cirrus-dataplane`

#[path = "../tests/common/mod.rs"]
mod common;

use cirrus_dataplane::flow::{FlowConfig, FlowKey, FlowSpec, FlowTable};
use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::{Disposition, Worker, WorkerConfig};
use cirrus_dataplane::tables::{Interface, InterfaceKind, Lpm4, Nexthop, TunnelEncap};
use cirrus_dataplane::wire::{IpProtocol, checksum};
use common::*;
use criterion::{Criterion, black_box};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

const BATCH: usize = 32;
/// Criterion's measurement samples per benchmark (`sample_size` below).
const SAMPLES: usize = 10;

/// What each of criterion's `iter_custom` calls measured: (units of work, time). Criterion
/// first warms up with calls of growing size, then makes `SAMPLES` measurement calls. A
/// figure is the median of those samples' time per unit, which a burst of load from other
/// tenants of a shared VM moves far less than the mean; the mean over every call is printed
/// beside it.
#[derive(Default)]
struct Samples(Vec<(u64, Duration)>);

impl Samples {
    fn add(&mut self, units: u64, d: Duration) {
        self.0.push((units, d));
    }
    /// Median of the measurement samples' nanoseconds per unit.
    fn median_ns(&self) -> f64 {
        let mut v: Vec<f64> = self.0[self.0.len().saturating_sub(SAMPLES)..]
            .iter()
            .map(|(u, d)| d.as_nanos() as f64 / (*u).max(1) as f64)
            .collect();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }
    /// Nanoseconds per unit over every call, warm-up included.
    fn mean_ns(&self) -> f64 {
        let units: u64 = self.0.iter().map(|(u, _)| u).sum();
        let ns: u128 = self.0.iter().map(|(_, d)| d.as_nanos()).sum();
        ns as f64 / units.max(1) as f64
    }
}

/// One printed figure: its value, unit and target, and the mean when the value is a median.
struct Figure {
    name: &'static str,
    value: f64,
    unit: &'static str,
    target: &'static str,
    mean: Option<f64>,
}

impl Figure {
    fn exact(name: &'static str, value: f64, unit: &'static str, target: &'static str) -> Self {
        Self {
            name,
            value,
            unit,
            target,
            mean: None,
        }
    }
    /// Time per unit from `s`, in ns.
    fn ns(name: &'static str, s: &Samples, unit: &'static str, target: &'static str) -> Self {
        Self {
            name,
            value: s.median_ns(),
            unit,
            target,
            mean: Some(s.mean_ns()),
        }
    }
}

/// xorshift64: deterministic pseudo-random numbers for workloads.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Remote workload address of flow `i`: 1M flows spread over 4096 remote /32s routed by
/// MPLS over UDP, each flow a distinct (destination, source port).
fn flow_dst(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 2, ((i >> 8) & 0x0f) as u8, (i & 0xff) as u8)
}
fn flow_sport(i: u32) -> u16 {
    (1024 + (i >> 12)) as u16
}
/// IPv6 twin of [`flow_dst`].
fn flow_dst6(i: u32) -> Ipv6Addr {
    Ipv6Addr::new(
        0x2001,
        0xdb8,
        2,
        0,
        0,
        0,
        ((i >> 8) & 0x0f) as u16,
        (i & 0xff) as u16,
    )
}
/// P's IPv6 address (the IPv6 benchmark gives P this one beside `VM_P`).
const VM_P6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 5);

fn flow_addr(i: u32, v6: bool) -> IpAddr {
    if v6 {
        flow_dst6(i).into()
    } else {
        flow_dst(i).into()
    }
}

/// A worker whose policy-enabled workload P has `flows` established pairs to remote
/// workloads behind 4096 MPLS-over-UDP nexthops.
fn loaded_worker(flows: u32) -> Worker {
    loaded_worker_af(flows, false)
}

/// [`loaded_worker`] with IPv6 flows and routes when `v6` (P then has an IPv6 address).
fn loaded_worker_af(flows: u32, v6: bool) -> Worker {
    let (mut c, dp) = topology();
    if v6 {
        c.set_interface(Interface {
            ifindex: IF_C,
            name: "tap-p".into(),
            mac: MAC_P,
            kind: InterfaceKind::Virtual {
                vrf: 1,
                ips: vec![VM_P.into(), VM_P6.into()],
                policy: true,
            },
            flow_limit: 0,
            fat_flows: Vec::new(),
        })
        .unwrap();
    }
    for h in 0..4096u32 {
        let nh = 1000 + h;
        c.set_nexthop(
            nh,
            Nexthop::Tunnel {
                encap: TunnelEncap::MplsOverUdp { label: 5000 + h },
                src_ip: LOCAL_IP,
                dst_ip: PEER1,
                fabric_if: IF_FABRIC,
                dmac: GATEWAY_MAC,
                smac: FABRIC_MAC,
            },
        )
        .unwrap();
        c.add_route(1, flow_addr(h, v6), if v6 { 128 } else { 32 }, nh)
            .unwrap();
    }
    c.commit();
    let cfg = WorkerConfig {
        flows: FlowConfig {
            max_entries: (flows * 2).max(1024),
            ..FlowConfig::default()
        },
        ..WorkerConfig::default()
    };
    let mut w = Worker::new(dp, cfg);
    huge_pages(&w);
    for i in 0..flows {
        let src = if v6 { VM_P6.into() } else { VM_P.into() };
        let k = FlowKey::new(1, IpProtocol::UDP, src, flow_addr(i, v6), flow_sport(i), 53);
        w.flows
            .install_pair(
                k,
                FlowSpec::forward(1),
                k.reversed(1),
                FlowSpec::forward(1),
                IF_C,
                0,
                0,
            )
            .unwrap();
    }
    w
}

/// Backs the worker's flow table with transparent huge pages, as `cirrus-packet-io`'s
/// runner does for a real worker (`Runner::spawn`), so the benches measure the table as
/// it is deployed. Best effort: without THP (`madvise` or `always` mode) nothing changes.
fn huge_pages(w: &Worker) {
    for (addr, len) in w.flows.hot_regions() {
        let start = addr.div_ceil(4096) * 4096;
        let end = (addr + len) / 4096 * 4096;
        if end > start {
            // SAFETY: MADV_HUGEPAGE only changes how the kernel backs the range, never its
            // contents; the range is page-aligned and inside the table's live arrays.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
}

/// Measures batches of 32 packets filled by `fill` entering on `ingress` (a unit is a
/// packet); only `process_batch` is timed (two clock reads per batch, ~1 ns per packet,
/// are included).
fn bench_batches(
    c: &mut Criterion,
    name: &str,
    w: &mut Worker,
    ingress: u32,
    fill: &mut dyn FnMut(&mut PacketBuf),
    want: Disposition,
) -> Samples {
    let mut bufs: Vec<PacketBuf> = (0..BATCH)
        .map(|_| PacketBuf::from_frame(&[0; 64]))
        .collect();
    let mut out = [Disposition::Held; BATCH];
    // Sanity: the path under test is the one measured.
    fill(&mut bufs[0]);
    w.process_batch(1, ingress, &mut bufs[..1], &mut out[..1]);
    assert_eq!(out[0], want, "{name}: unexpected disposition");
    let mut samples = Samples::default();
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            // Only the pipeline is timed: the packets are synthesised (as a NIC would have
            // written them) before each batch's clock starts.
            let mut d = Duration::ZERO;
            for _ in 0..iters {
                for buf in bufs.iter_mut() {
                    fill(buf);
                }
                let start = Instant::now();
                w.process_batch(1, ingress, &mut bufs, &mut out);
                d += start.elapsed();
                black_box(&out);
            }
            samples.add(iters * BATCH as u64, d);
            d
        })
    });
    samples
}

/// Copies `tmpl` (a frame of flow 0) into `buf` and rewrites it into a frame of flow `i`:
/// the address at `addr_at` (patching the IP checksum at `csum_at` incrementally), the
/// port at `port_at`, and a zero ("none") UDP checksum at `udp_csum_at`.
fn patch(buf: &mut PacketBuf, tmpl: &[u8], i: u32, at: [usize; 4]) {
    let [addr_at, csum_at, port_at, udp_csum_at] = at;
    buf.reset_from(tmpl);
    let d = buf.data_mut();
    let old = u32::from_be_bytes([d[addr_at], d[addr_at + 1], d[addr_at + 2], d[addr_at + 3]]);
    let new = flow_dst(i).to_bits();
    d[addr_at..addr_at + 4].copy_from_slice(&new.to_be_bytes());
    let c = u16::from_be_bytes([d[csum_at], d[csum_at + 1]]);
    d[csum_at..csum_at + 2].copy_from_slice(&checksum::update32(c, old, new).to_be_bytes());
    d[port_at..port_at + 2].copy_from_slice(&flow_sport(i).to_be_bytes());
    d[udp_csum_at..udp_csum_at + 2].copy_from_slice(&[0, 0]);
}

fn report(f: &Figure) {
    let (name, value, unit, target) = (f.name, f.value, f.unit, f.target);
    match f.mean {
        Some(mean) => println!(
            "FIGURE {name}: {value:.1} {unit} (target {target}; median of {SAMPLES} samples, mean {mean:.1})"
        ),
        None => println!("FIGURE {name}: {value:.1} {unit} (target {target})"),
    }
}

/// Benchmarks named on the command line (`cargo bench -p cirrus-dataplane -- lpm`) run
/// alone, skipping the others' setup too.
fn wanted(name: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(SAMPLES)
        .configure_from_args();
    let mut figures = Vec::new();

    // Overlay encapsulation hitting established flows, 1M and 1k flows.
    for (flows, name, target) in [
        (1_000_000u32, "overlay_encap_hit_1m_flows", "<= 80 ns/pkt"),
        (1_000, "overlay_encap_hit_1k_flows", "<= 30 ns/pkt"),
    ] {
        let decap = flows == 1_000_000 && wanted("fabric_decap_hit");
        if !wanted(name) && !decap && !wanted("flow_memory_per_pair") {
            continue;
        }
        let setup = Instant::now();
        let mut w = loaded_worker(flows);
        if flows == 1_000_000 {
            let per_pair = w.flows.memory_bytes() as f64 / flows as f64;
            figures.push(Figure::exact(
                "flow_memory_per_pair",
                per_pair,
                "bytes",
                "<= 256 bytes",
            ));
            eprintln!("setup of {flows} flow pairs: {:?}", setup.elapsed());
        }
        let mut rng = Rng(0x9e37_79b9);
        // Each packet belongs to a flow drawn at random from all `flows` (a precomputed
        // list, read sequentially), built from a cache-hot template as a NIC's DMA into
        // cache would leave it. At 1M flows nearly every packet hits a cold flow entry.
        let order: Vec<u32> = (0..65536)
            .map(|_| (rng.next() % flows as u64) as u32)
            .collect();
        let tmpl = udp_v4(
            MAC_P,
            VROUTER_MAC,
            VM_P,
            flow_dst(0),
            flow_sport(0),
            53,
            &[0u8; 64 - 42],
        );
        let mut at = 0usize;
        let mut fill = |buf: &mut PacketBuf| {
            patch(buf, &tmpl, order[at], [30, 24, 34, 40]);
            at = (at + 1) & 0xffff;
        };
        let s = bench_batches(
            &mut c,
            name,
            &mut w,
            IF_C,
            &mut fill,
            Disposition::Tx(IF_FABRIC),
        );
        figures.push(Figure::ns(name, &s, "ns/pkt", target));

        if flows == 1_000_000 {
            // Fabric decapsulation of replies hitting the reverse flows of the same table.
            let inner = udp_v4(
                MAC_E,
                VROUTER_MAC,
                flow_dst(0),
                VM_P,
                53,
                flow_sport(0),
                &[0u8; 22],
            );
            let tmpl = mpls_udp_from_peer(LABEL_P, &inner[14..]);
            let mut at = 0usize;
            let mut fill = |buf: &mut PacketBuf| {
                patch(buf, &tmpl, order[at], [58, 56, 68, 72]);
                at = (at + 1) & 0xffff;
            };
            let s = bench_batches(
                &mut c,
                "fabric_decap_hit_1m_flows",
                &mut w,
                IF_FABRIC,
                &mut fill,
                Disposition::Tx(IF_C),
            );
            figures.push(Figure::ns(
                "fabric_decap_hit_1m_flows",
                &s,
                "ns/pkt",
                "<= 80 ns/pkt",
            ));

            // The same replies over the two other encapsulations (no target of their own:
            // reported beside MPLS over UDP's). MPLS over GRE puts the inner packet at 42;
            // VXLAN carries an inner Ethernet frame to the vRouter MAC (routed VXLAN) at 50,
            // so its IP header starts at 64.
            let gre = mpls_gre_from_peer(LABEL_P, &inner[14..]);
            let vxlan = vxlan_from_peer(VNI, &inner);
            for (name, tmpl, inner_at) in [
                ("fabric_decap_hit_gre_1m_flows", gre, 42),
                ("fabric_decap_hit_vxlan_1m_flows", vxlan, 64),
            ] {
                if !wanted(name) {
                    continue;
                }
                let mut at = 0usize;
                let mut fill = |buf: &mut PacketBuf| {
                    let i = inner_at;
                    patch(buf, &tmpl, order[at], [i + 12, i + 10, i + 22, i + 26]);
                    at = (at + 1) & 0xffff;
                };
                let s = bench_batches(
                    &mut c,
                    name,
                    &mut w,
                    IF_FABRIC,
                    &mut fill,
                    Disposition::Tx(IF_C),
                );
                figures.push(Figure::ns(name, &s, "ns/pkt", "reported"));
            }
        }
    }

    // IPv6 workload traffic to remote workloads over MPLS over UDP, 1k flows (no target of
    // its own; reported beside IPv4's). The frame of flow i differs from flow 0's in the
    // last 32 bits of the destination and the source port, patched with incremental UDP
    // checksum updates (IPv6 has no header checksum, and its UDP checksum is mandatory).
    let name = "overlay_encap_hit_v6_1k_flows";
    if wanted(name) {
        let mut w = loaded_worker_af(1_000, true);
        let mut rng = Rng(0x9e37_79b9);
        let order: Vec<u32> = (0..65536).map(|_| (rng.next() % 1_000) as u32).collect();
        let tmpl = udp_v6(
            MAC_P,
            VROUTER_MAC,
            VM_P6,
            flow_dst6(0),
            flow_sport(0),
            53,
            &[0u8; 64 - 62],
        );
        let mut at = 0usize;
        let mut fill = |buf: &mut PacketBuf| {
            let i = order[at];
            at = (at + 1) & 0xffff;
            buf.reset_from(&tmpl);
            let d = buf.data_mut();
            let old = u32::from_be_bytes([d[50], d[51], d[52], d[53]]);
            let new = (flow_dst6(i).to_bits() & 0xffff_ffff) as u32;
            d[50..54].copy_from_slice(&new.to_be_bytes());
            let c = u16::from_be_bytes([d[60], d[61]]);
            let c = checksum::update32(c, old, new);
            let c = checksum::update16(c, flow_sport(0), flow_sport(i));
            d[54..56].copy_from_slice(&flow_sport(i).to_be_bytes());
            d[60..62].copy_from_slice(&c.to_be_bytes());
        };
        let s = bench_batches(
            &mut c,
            name,
            &mut w,
            IF_C,
            &mut fill,
            Disposition::Tx(IF_FABRIC),
        );
        figures.push(Figure::ns(name, &s, "ns/pkt", "reported"));
    }

    // Flow installation: forward+reverse pairs into an empty table.
    if wanted("flow_install") {
        const PAIRS: u32 = 100_000;
        let keys: Vec<FlowKey> = (0..PAIRS)
            .map(|i| {
                FlowKey::new(
                    1,
                    IpProtocol::TCP,
                    VM_P.into(),
                    flow_dst(i).into(),
                    flow_sport(i),
                    80,
                )
            })
            .collect();
        let mut samples = Samples::default();
        c.bench_function("flow_install", |b| {
            // One table, emptied (untimed) between rounds: steady-state installs into
            // memory the table already owns, as in a running vRouter, rather than first
            // touches of freshly mapped pages.
            let mut t = FlowTable::new(FlowConfig {
                max_entries: PAIRS * 2,
                ..FlowConfig::default()
            });
            b.iter_custom(|iters| {
                let mut d = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    for k in &keys {
                        t.install_pair(
                            *k,
                            FlowSpec::forward(1),
                            k.reversed(1),
                            FlowSpec::forward(1),
                            IF_C,
                            0,
                            0,
                        )
                        .unwrap();
                    }
                    d += start.elapsed();
                    black_box(&t);
                    for k in &keys {
                        let i = t.lookup(k, k.hash()).unwrap();
                        t.remove_pair(i);
                    }
                }
                samples.add(iters * PAIRS as u64, d);
                d
            })
        });
        // Pairs per second from ns per pair: M pairs/s = 1000 / ns.
        figures.push(Figure {
            name: "flow_install",
            value: 1e3 / samples.median_ns(),
            unit: "M pairs/s",
            target: ">= 2 M pairs/s",
            mean: Some(1e3 / samples.mean_ns()),
        });
    }

    // LPM with 1M IPv4 routes, two shapes:
    // - clustered: what a vRouter VRF holds: ~1M workload /32 host routes packed in their
    //   VN subnets (~4K /24s of 250 hosts), plus the subnets and 8K /20 aggregates;
    // - scattered: 60% /24, 30% /32, 10% /16-/23 spread over a 1G range (worst case for a
    //   trie: most /32s get a node of their own).
    for (name, clustered) in [
        ("lpm_lookup_1m_routes_clustered", true),
        ("lpm_lookup_1m_routes_scattered", false),
    ] {
        if !wanted(name) {
            continue;
        }
        let mut rng = Rng(0x1234_5678_9abc);
        let mut t = Lpm4::new();
        for n in 0..1_000_000u32 {
            let r = rng.next();
            let (p, len) = if clustered {
                match n {
                    0..8192 => (0x4000_0000 | (n << 12), 20u8),
                    8192..12288 => (0x6000_0000 | ((n - 8192) << 8), 24),
                    _ => (
                        0x6000_0000 | (((n - 12288) / 250) << 8) | ((n - 12288) % 250 + 2),
                        32,
                    ),
                }
            } else {
                let len = match r % 10 {
                    0 => 16 + (r >> 8) as u8 % 8,
                    1..=5 => 24,
                    _ => 32,
                };
                let a = (r >> 16) as u32 & 0x3fff_ffff | 0x4000_0000;
                (a & (u32::MAX << (32 - len)), len)
            };
            t.insert(Ipv4Addr::from_bits(p), len, 1 + (n % 100_000));
        }
        eprintln!(
            "{name}: {} nodes, {} MiB",
            t.node_count(),
            t.memory_bytes() >> 20
        );
        // Lookups land on routed space: host routes in the clustered case, anywhere in the
        // populated range otherwise.
        let addrs: Vec<Ipv4Addr> = (0..65536)
            .map(|_| {
                let r = rng.next();
                if clustered {
                    let h = (r % 987_000) as u32;
                    Ipv4Addr::from_bits(0x6000_0000 | ((h / 250) << 8) | (h % 250 + 2))
                } else {
                    Ipv4Addr::from_bits((r >> 16) as u32 & 0x3fff_ffff | 0x4000_0000)
                }
            })
            .collect();
        let mut samples = Samples::default();
        let mut at = 0usize;
        c.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                let mut acc = 0u32;
                for _ in 0..iters {
                    for _ in 0..BATCH {
                        acc = acc.wrapping_add(t.lookup(addrs[at]));
                        at = (at + 1) & 0xffff;
                    }
                }
                black_box(acc);
                let d = start.elapsed();
                samples.add(iters * BATCH as u64, d);
                d
            })
        });
        figures.push(Figure::ns(name, &samples, "ns/lookup", "<= 30 ns"));
    }

    println!();
    for f in &figures {
        // Benchmarks filtered out by criterion measured nothing: no figure.
        if f.value.is_finite() && f.value > 0.0 {
            report(f);
        }
    }
}
