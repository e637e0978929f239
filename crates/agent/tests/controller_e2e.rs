//! Real agents (in-process, over in-memory devices and fabric) against a real
//! `cirrus-controller` over the gRPC channel: the config slice, published and received
//! routes and workload traffic both ways; an agent restart on its state dir (its ports and
//! labels kept) with the time traffic stops measured; a controller killed and restarted on
//! its data dir while traffic flows, without a gap.
//!
//! Needs the controller binary: `$CIRRUS_CONTROLLER_BIN`, or `cirrus-controller` built in
//! the same target dir (`cargo build -p cirrus-controller`); skipped with a message when
//! neither is there (a failure under `CI=true`).

mod common;

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cirrus_agent::program::VROUTER_MAC;
use cirrus_agent::testing::frames;
use cirrus_agent::testing::memfabric::MemFabric;
use cirrus_dataplane::wire::{EthernetFrame, Ipv4Packet, MacAddr, UdpPacket};
use cirrus_packet_io::memory::MemPeer;
use common::*;

const A: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 3);
const B: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 4);

/// A workload sending a numbered datagram every 5 ms out of whichever tap is current.
struct Stream {
    stop: Arc<AtomicBool>,
    tap: Arc<Mutex<MemPeer>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Stream {
    fn start(tap: MemPeer, mac: MacAddr, src: Ipv4Addr, dst: Ipv4Addr, port: u16) -> Stream {
        let stop = Arc::new(AtomicBool::new(false));
        let tap = Arc::new(Mutex::new(tap));
        let (s, t) = (stop.clone(), tap.clone());
        let thread = std::thread::spawn(move || {
            let mut seq: u32 = 0;
            while !s.load(Ordering::Relaxed) {
                let ip = frames::udp_ip(src, port, dst, port, &seq.to_be_bytes());
                t.lock()
                    .unwrap()
                    .inject(&frames::ether(mac, VROUTER_MAC, &ip));
                seq += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Stream {
            stop,
            tap,
            thread: Some(thread),
        }
    }

    fn switch(&self, tap: MemPeer) {
        *self.tap.lock().unwrap() = tap;
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Arrival times of a stream's datagrams, taken by a thread that drains the receiving tap
/// every millisecond (so the test's own waits do not skew them).
struct Arrivals {
    times: Arc<Mutex<Vec<Instant>>>,
    tap: Arc<Mutex<MemPeer>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Arrivals {
    fn start(tap: MemPeer, port: u16) -> Arrivals {
        let times = Arc::new(Mutex::new(Vec::new()));
        let tap = Arc::new(Mutex::new(tap));
        let stop = Arc::new(AtomicBool::new(false));
        let (t, p, s) = (times.clone(), tap.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let frames = p.lock().unwrap().drain();
                let now = Instant::now();
                for f in frames {
                    let Ok(e) = EthernetFrame::new_checked(&f[..]) else {
                        continue;
                    };
                    let Ok(ip) = Ipv4Packet::new_checked(e.payload()) else {
                        continue;
                    };
                    let Ok(u) = UdpPacket::new_checked(ip.payload()) else {
                        continue;
                    };
                    if u.dst_port() == port {
                        t.lock().unwrap().push(now);
                    }
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        Arrivals {
            times,
            tap,
            stop,
            thread: Some(thread),
        }
    }

    fn switch(&self, tap: MemPeer) {
        *self.tap.lock().unwrap() = tap;
    }

    /// The longest silence between two arrivals after `since`.
    fn longest_gap(&self, since: Instant) -> Duration {
        self.times
            .lock()
            .unwrap()
            .windows(2)
            .filter(|w| w[1] > since)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or_default()
    }

    fn count_after(&self, t: Instant) -> usize {
        self.times
            .lock()
            .unwrap()
            .iter()
            .filter(|x| **x > t)
            .count()
    }
}

impl Drop for Arrivals {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn agents_over_a_real_controller_survive_restarts_of_either() {
    let test = "agents_over_a_real_controller_survive_restarts_of_either";
    let Some(bin) = controller_or_skip(test) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut c = tokio::task::block_in_place(|| Controller::start(&bin, tmp.path()));
    let (a, mac_a, b, mac_b) = tokio::task::block_in_place(|| {
        network(&c, "red", "10.1.0.0/24", "target:64512:8100");
        let (a, ma) = port(&c, "red", "pa", "c1", "10.1.0.3");
        let (b, mb) = port(&c, "red", "pb", "c2", "10.1.0.4");
        (a, ma, b, mb)
    });
    let d1 = tmp.path().join("c1");
    let d2 = tmp.path().join("c2");
    let v1 = Vrouter::start(1, &d1, &["tap-a"], &[c.channel]);
    let v2 = Vrouter::start(2, &d2, &["tap-b"], &[c.channel]);
    let mut fabric = MemFabric::start(vec![v1.fabric_node(), v2.fabric_node()]);
    v1.add_port(&a, "tap-a");
    v2.add_port(&b, "tap-b");
    let ready = |v1: &Vrouter, v2: &Vrouter| {
        v1.has_tunnel_route("10.1.0.4/32")
            && v2.has_tunnel_route("10.1.0.3/32")
            && v1.tunnel_ready("198.18.0.12")
            && v2.tunnel_ready("198.18.0.11")
    };
    wait(
        "routes to each other's port over the real channel",
        Duration::from_secs(20),
        || ready(&v1, &v2),
        || format!("{}\n{}\n{}", v1.status_json(), v2.status_json(), c.log()),
    )
    .await;
    let st = v1.run.status.load();
    assert!(matches!(
        st.controllers[0].state,
        cirrus_agent::channel::State::Established { .. }
    ));
    assert!(
        st.subscriptions
            .contains(&"default-domain:default-project:red:red".to_string())
    );

    // Traffic both ways.
    let s_ab = Stream::start(v1.tap("tap-a").clone(), mac_a, A, B, 7001);
    let s_ba = Stream::start(v2.tap("tap-b").clone(), mac_b, B, A, 7002);
    let at_b = Arrivals::start(v2.tap("tap-b").clone(), 7001);
    let at_a = Arrivals::start(v1.tap("tap-a").clone(), 7002);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        at_b.count_after(t0) > 20 && at_a.count_after(t0) > 20,
        "{} / {}\nc1 flows {:?} drops {:?}\nc2 flows {:?} drops {:?}",
        at_b.count_after(t0),
        at_a.count_after(t0),
        v1.run.stats.snapshot(),
        v1.run.handle.report().map(|r| r.drops().nonzero()),
        v2.run.stats.snapshot(),
        v2.run.handle.report().map(|r| r.drops().nonzero()),
    );

    // c1 restarts on its state dir (its devices come back as new in-memory pairs).
    let stopped = Instant::now();
    v1.run.stop().await;
    drop(fabric);
    let v1 = Vrouter::start(1, &d1, &["tap-a"], &[c.channel]);
    fabric = MemFabric::start(vec![v1.fabric_node(), v2.fabric_node()]);
    s_ab.switch(v1.tap("tap-a").clone());
    at_a.switch(v1.tap("tap-a").clone());
    v1.add_port(&a, "tap-a");
    let restarted = Instant::now();
    let t = Instant::now();
    while (at_b.count_after(restarted) < 20 || at_a.count_after(restarted) < 20)
        && t.elapsed() < Duration::from_secs(15)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let gap_ab = at_b.longest_gap(stopped - Duration::from_millis(50));
    let gap_ba = at_a.longest_gap(stopped - Duration::from_millis(50));
    eprintln!(
        "RESTART agent c1: traffic a->b stopped {:.0} ms, b->a {:.0} ms (restart itself took {:.0} ms)",
        gap_ab.as_secs_f64() * 1e3,
        gap_ba.as_secs_f64() * 1e3,
        (restarted - stopped).as_secs_f64() * 1e3
    );
    assert!(
        at_b.count_after(restarted) >= 20,
        "a->b did not resume\n{}",
        v1.status_json()
    );
    assert!(
        at_a.count_after(restarted) >= 20,
        "b->a did not resume\n{}",
        v2.status_json()
    );
    assert!(gap_ab < Duration::from_secs(10) && gap_ba < Duration::from_secs(10));

    // The controller is killed and restarted on its data dir: forwarding goes on from the
    // routes the agents keep, and the sessions come back.
    let killed = Instant::now();
    tokio::task::block_in_place(|| c.kill());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    tokio::task::block_in_place(|| c.restart());
    let est = |v: &Vrouter| {
        matches!(
            v.run.status.load().controllers[0].state,
            cirrus_agent::channel::State::Established { .. }
        )
    };
    let t = Instant::now();
    while !(est(&v1) && est(&v2) && ready(&v1, &v2)) {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "sessions not back\n{}\n{}",
            v1.status_json(),
            c.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let g1 = at_b.longest_gap(killed);
    let g2 = at_a.longest_gap(killed);
    eprintln!(
        "RESTART controller: longest silence a->b {:.0} ms, b->a {:.0} ms; sessions back after {:.0} ms",
        g1.as_secs_f64() * 1e3,
        g2.as_secs_f64() * 1e3,
        t.elapsed().as_secs_f64() * 1e3
    );
    assert!(
        g1 < Duration::from_millis(500) && g2 < Duration::from_millis(500),
        "traffic stopped while the controller was away"
    );
    drop((s_ab, s_ba, at_a, at_b));
    v1.run.stop().await;
    v2.run.stop().await;
    drop(fabric);
}

/// With per-node tokens a vrouter without its token is refused (and says why); with it,
/// it comes up. A port the config binds to no host is placed on the vrouter the port IPC
/// added it to (its config subscription) and programmed there.
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn tokens_and_ports_placed_by_subscription() {
    let test = "tokens_and_ports_placed_by_subscription";
    let Some(bin) = controller_or_skip(test) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let tokens = tmp.path().join("tokens");
    std::fs::write(&tokens, "c1 s3cret-c1\n").unwrap();
    let c = tokio::task::block_in_place(|| {
        Controller::start_with(
            &bin,
            tmp.path(),
            &["--channel-token-file", &tokens.display().to_string()],
        )
    });
    let unbound = tokio::task::block_in_place(|| {
        network(&c, "red", "10.1.0.0/24", "target:64512:8100");
        // No host binding: only the port IPC says where it is.
        let vmi = c.create(
            "virtual-machine-interface",
            serde_json::json!({
                "fq_name": [P[0], P[1], "pu"], "parent_type": "project",
                "virtual_network_refs": [{"to": [P[0], P[1], "red"]}],
            }),
        );
        c.create(
            "instance-ip",
            serde_json::json!({
                "fq_name": ["pu-v4"], "instance_ip_address": "10.1.0.7",
                "virtual_network_refs": [{"to": [P[0], P[1], "red"]}],
                "virtual_machine_interface_refs": [{"to": [P[0], P[1], "pu"]}],
            }),
        );
        vmi
    });
    let wrong =
        Vrouter::start_with_token(1, &tmp.path().join("w"), &[], &[c.channel], Some("nope"));
    wait(
        "the wrong token refused",
        Duration::from_secs(10),
        || {
            wrong
                .run
                .status
                .load()
                .controllers
                .first()
                .is_some_and(|c| c.last_error.is_some())
        },
        || wrong.status_json(),
    )
    .await;
    assert!(!matches!(
        wrong.run.status.load().controllers[0].state,
        cirrus_agent::channel::State::Established { .. }
    ));
    wrong.run.stop().await;

    let v1 = Vrouter::start_with_token(
        1,
        &tmp.path().join("c1"),
        &["tap-u"],
        &[c.channel],
        Some("s3cret-c1"),
    );
    v1.add_port(&unbound, "tap-u");
    wait(
        "the unbound port programmed on c1",
        Duration::from_secs(15),
        || {
            let s = v1.run.status.load();
            s.ports.iter().any(|p| {
                p.uuid == unbound && p.vrf.is_some() && p.addresses == vec!["10.1.0.7".to_string()]
            })
        },
        || {
            let vr = http("GET", c.introspect, "/vrouters", None)
                .map(|r| r.1.to_string())
                .unwrap_or_default();
            format!("{}\n{vr}\n{}", v1.status_json(), c.log())
        },
    )
    .await;
    v1.run.stop().await;
}
