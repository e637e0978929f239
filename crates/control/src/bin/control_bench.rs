//! `control-bench`: 100 simulated vrouters x 1,000 routes each, all in one network, against a
//! control node in its own process (this binary re-run with `--serve`: the config API on an
//! embedded store, the BGP speaker and the vrouter channel, as `cirrus-controller` runs them).
//! Prints the time from the first publish until every vrouter holds every route, and the
//! control node's peak RSS, beside the targets (issue 9: <= 5 s on this 2-core machine).
//!
//!   cargo run --release -p cirrus-control --features testing --bin control-bench \
//!       [-- --vrouters 100 --routes 1000]

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cirrus_api::auth::Caller;
use cirrus_control::testing::{SimOptions, SimRoute, SimVrouter};
use cirrus_control::{ControlNode, ControlOptions};
use cirrus_proto::convert::Prefix;
use cirrus_store::testing::{TempDir, free_port};
use serde_json::{Map, Value, json};

// The allocator cirrus-controller runs on.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NETWORK: &str = "default-domain:default-project:bench:bench";
const TARGET_SECS: f64 = 5.0;

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn underlay(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, (i / 200) as u8, (i % 200 + 10) as u8)
}

/// Vrouter i's workloads live in 10.<64+i/64>.<(i%64)*4>.0/22.
fn block(i: usize) -> (Ipv4Addr, u8) {
    (
        Ipv4Addr::new(10, (64 + i / 64) as u8, ((i % 64) * 4) as u8, 0),
        22,
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let vrouters = arg(&args, "--vrouters", 100);
    let routes = arg(&args, "--routes", 1000).min(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if args.iter().any(|a| a == "--serve") {
        rt.block_on(serve(&args, vrouters));
    } else {
        rt.block_on(bench(vrouters, routes));
    }
}

// ---- the control node (child process) ----

async fn create(state: &cirrus_api::ApiState, kind: &str, v: Value) -> String {
    let ty = cirrus_api::http::resource(kind).expect("type");
    let input: Map<String, Value> = v.as_object().cloned().unwrap_or_default();
    cirrus_api::ops::create(state, &Caller::admin(), ty, &input)
        .await
        .unwrap_or_else(|e| panic!("creating {kind}: {e}"))
        .uuid
        .clone()
}

async fn serve(args: &[String], vrouters: usize) {
    let get = |n: &str| {
        args.iter()
            .position(|a| a == n)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| panic!("--serve needs {n}"))
    };
    let dir = std::path::PathBuf::from(get("--data-dir"));
    let channel: SocketAddr = get("--channel").parse().expect("--channel");
    let introspect: SocketAddr = get("--introspect").parse().expect("--introspect");
    let bgp_port: u16 = get("--bgp-port").parse().expect("--bgp-port");
    let store = cirrus_store::open_redb(&dir).await.expect("store");
    let (state, _router) = cirrus_api::start(store, cirrus_api::Auth::None)
        .await
        .expect("api");
    // The tenant: one network, one port per vrouter bound to it, each with a /22 of
    // allowed addresses (its 1,000 workloads' addresses pass the trust check).
    create(&state, "network-ipam", json!({"fq_name": ["default-domain", "default-project", "bench-ipam"], "parent_type": "project"})).await;
    create(
        &state,
        "virtual-network",
        json!({
            "fq_name": ["default-domain", "default-project", "bench"],
            "parent_type": "project",
            "network_ipam_refs": [{"to": ["default-domain", "default-project", "bench-ipam"],
                "attr": {"ipam_subnets": [{"subnet": {"ip_prefix": "10.64.0.0", "ip_prefix_len": 10}}]}}],
            "route_target_list": {"route_target": ["target:64512:8000100"]},
        }),
    )
    .await;
    for i in 0..vrouters {
        let (a, l) = block(i);
        create(
            &state,
            "virtual-machine-interface",
            json!({
                "fq_name": ["default-domain", "default-project", format!("b{i}-port")],
                "parent_type": "project",
                "virtual_network_refs": [{"to": ["default-domain", "default-project", "bench"]}],
                "virtual_machine_interface_bindings": {"key_value_pair": [{"key": "host_id", "value": format!("b{i}")}]},
                "virtual_machine_interface_allowed_address_pairs": {"allowed_address_pair": [
                    {"ip": {"ip_prefix": a.to_string(), "ip_prefix_len": l}, "address_mode": "active-active"}
                ]},
            }),
        )
        .await;
    }
    let mut opts = ControlOptions::new("bench-cn", introspect);
    opts.bgp_address = Some("127.0.0.1".parse().unwrap());
    opts.bgp_port = Some(bgp_port);
    opts.channel_listen = Some(channel);
    let _node = ControlNode::start(state, opts).await.expect("control node");
    println!("ready");
    // Until the parent kills us.
    std::future::pending::<()>().await;
}

// ---- the bench (parent) ----

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// CPU seconds (user + system) a process has used.
fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name.
    let num = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    let ticks = num(11) + num(12);
    ticks as f64 / 100.0
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn bench(vrouters: usize, routes: usize) {
    let dir = TempDir::new("cirrus-control-bench").expect("temp dir");
    let port = || free_port().expect("free port");
    let channel = SocketAddr::from(([127, 0, 0, 1], port()));
    let introspect = SocketAddr::from(([127, 0, 0, 1], port()));
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .args(["--serve", "--vrouters", &vrouters.to_string()])
        .args(["--data-dir", dir.path().to_str().unwrap()])
        .args([
            "--channel",
            &channel.to_string(),
            "--introspect",
            &introspect.to_string(),
        ])
        .args(["--bgp-port", &port().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting the control node");
    let pid = child.id();
    let mut out = child.stdout.take().expect("stdout");
    let server = Server(child);
    {
        use std::io::Read;
        let mut b = [0u8; 6];
        out.read_exact(&mut b).expect("control node did not start");
    }
    let started = Instant::now();
    let rss_idle = status_kib(pid, "VmRSS:");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    // Connect and subscribe every vrouter; wait for their slices and End-of-RIB.
    let mut sims = Vec::with_capacity(vrouters);
    for i in 0..vrouters {
        let mut o = SimOptions::new(&format!("b{i}"), underlay(i));
        o.keep_routes = false;
        let s = SimVrouter::connect(channel, o).await.expect("connect");
        s.subscribe(NETWORK);
        sims.push(Arc::new(s));
    }
    for s in &sims {
        s.wait("slice and End-of-RIB", Duration::from_secs(60), |st| {
            st.end_of_config && st.end_of_rib.contains(NETWORK)
        })
        .await
        .expect("session up");
    }
    let vn_id = sims[0].with(|s| {
        s.config
            .values()
            .find(|o| o.r#type == "virtual-network")
            .and_then(|o| serde_json::from_slice::<Value>(&o.body).ok())
            .and_then(|b| b["virtual_network_network_id"].as_u64())
            .unwrap_or(0) as u32
    });
    let connect_time = started.elapsed();

    // Everyone publishes at once.
    let batches: Vec<Vec<SimRoute>> = (0..vrouters)
        .map(|i| {
            let (base, _) = block(i);
            (0..routes)
                .map(|j| {
                    let a = Ipv4Addr::from(u32::from(base) + j as u32 + 1);
                    SimRoute {
                        prefix: Prefix::host(a.into()),
                        label: 16 + j as u32,
                        vni: vn_id,
                        mac: Some([2, i as u8, (i >> 8) as u8, 0, (j >> 8) as u8, j as u8]),
                    }
                })
                .collect()
        })
        .collect();
    let total = vrouters * routes;
    let (cpu_server0, cpu_sims0) = (cpu_secs(&pid.to_string()), cpu_secs("self"));
    let t0 = Instant::now();
    for (s, b) in sims.iter().zip(&batches) {
        s.publish(NETWORK, b, true);
    }
    let mut waits = Vec::new();
    for s in &sims {
        let s = s.clone();
        waits.push(tokio::spawn(async move {
            s.wait("every route", Duration::from_secs(120), move |st| {
                st.count(NETWORK) == total
            })
            .await
            .map(|_| s.with(|st| (st.first_update, st.last_update)))
        }));
    }
    let mut last = t0;
    let mut done: Vec<f64> = Vec::new();
    for w in waits {
        match w.await.expect("join") {
            Ok((_, Some(t))) => {
                last = last.max(t);
                done.push(t.duration_since(t0).as_secs_f64());
            }
            Ok((_, None)) => {}
            Err(e) => {
                eprintln!("{e}");
                drop(server);
                std::process::exit(1);
            }
        }
    }
    let converge = last.duration_since(t0);
    done.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        done.get(((done.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let (cpu_server, cpu_sims) = (
        cpu_secs(&pid.to_string()) - cpu_server0,
        cpu_secs("self") - cpu_sims0,
    );
    let rss = status_kib(pid, "VmRSS:");
    // The BGP side (vrouter routes into the speaker's RIB) may still be at work: wait until
    // the control node's RSS stops moving (1 s unchanged within 1 MiB; 30 s at most).
    let settle_t0 = Instant::now();
    let (mut prev, mut steady) = (0u64, 0);
    while settle_t0.elapsed() < Duration::from_secs(30) && steady < 4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = status_kib(pid, "VmRSS:");
        steady = if now.abs_diff(prev) < 1024 {
            steady + 1
        } else {
            0
        };
        prev = now;
    }
    let rss_settled = status_kib(pid, "VmRSS:");
    let hwm = status_kib(pid, "VmHWM:");
    let vr = reqwest_less_get(introspect, "/vrouters");
    let counters = vr.map(|v| v["route_server"].clone()).unwrap_or(Value::Null);
    println!(
        "control-bench: {vrouters} simulated vrouters x {routes} routes, one network ({total} routes; every vrouter receives all {total})"
    );
    println!(
        "  sessions up (connect, slice, End-of-RIB):   {:>8.2} s",
        connect_time.as_secs_f64()
    );
    println!(
        "  convergence (first publish -> last route on every vrouter): {:>6.2} s   target <= {TARGET_SECS} s   {}",
        converge.as_secs_f64(),
        if converge.as_secs_f64() <= TARGET_SECS {
            "MET"
        } else {
            "MISSED"
        }
    );
    println!(
        "  per vrouter, time to its last route: first {:.2} s, median {:.2} s, last {:.2} s",
        pct(0.0),
        pct(0.5),
        pct(1.0)
    );
    println!(
        "  route entries delivered: {} ({:.1} M/s)",
        total * vrouters,
        (total * vrouters) as f64 / converge.as_secs_f64() / 1e6
    );
    println!(
        "  CPU during convergence: control node {cpu_server:.2} s, simulated vrouters {cpu_sims:.2} s \
         (machine load average at start: {}; the wall time includes waiting for other tenants)",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "  control node RSS: idle {} MiB, at convergence {} MiB, settled (BGP side done) {} MiB, peak {} MiB",
        rss_idle / 1024,
        rss / 1024,
        rss_settled / 1024,
        hwm / 1024
    );
    println!("  route server counters: {counters}");
    drop(server);
}

/// GET over a plain TCP HTTP/1.1 request (the bench needs no HTTP client crate).
fn reqwest_less_get(addr: SocketAddr, path: &str) -> Option<Value> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let body = raw.split_once("\r\n\r\n")?.1;
    serde_json::from_str(body).ok()
}
