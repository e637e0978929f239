//! Real DHCP clients against `trap::handle`: busybox `udhcpc` and ISC `dhclient` run in a
//! network namespace joined by a veth pair to this test, which reads the host end with
//! `cirrus_packet_io`'s AF_PACKET device, classifies each frame with the real forwarding
//! pipeline (`cirrus_dataplane`'s worker, as the agent will) and answers what it traps
//! through `trap::handle`. The clients must end up with the address, mask, router, MTU
//! (and classless routes), read back with `ip addr` / `ip route` in the namespace; ping of
//! the gateway answers; a stale lease gets a NAK and then the right address; IPv6 gets a
//! default route from the router advertisement.
//!
//! Needs root, `ip`, `busybox` and `dhclient`; skips (or fails under `CI=true`) without.
//! Namespaces and links carry a per-process prefix and are removed on drop, also on
//! failure; dhclient is killed by the PID in its pid file.

use cirrus_agent::trap::{
    self, CONTRAIL_VROUTER_MAC, HostRoute, Outcome, PortView, TrapContext, VROUTER_LINK_LOCAL6,
};
use cirrus_dataplane::control::{Controller, Dataplane};
use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::{Disposition, TrapReason, Worker, WorkerConfig};
use cirrus_dataplane::tables::{IfIndex, Interface, InterfaceKind, Nexthop};
use cirrus_dataplane::wire::MacAddr;
use cirrus_packet_io::af_packet::AfPacket;
use cirrus_packet_io::device::Device;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const VM_MAC: MacAddr = MacAddr([0x02, 0x1a, 0xf4, 0xbe, 0xe3, 0x04]);
const VM_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 3);
const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
const SERVICE: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);
const VM_IP6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 1, 0, 0, 0, 3);
const GATEWAY6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 1, 0, 0, 0, 1);
const PORT_IF: IfIndex = 1;
/// Where the pipeline delivers packets for the vRouter's own addresses (a receive route).
const AGENT_IF: IfIndex = 100;

// ---- prerequisites ----

/// Whether the test can run; otherwise reports the skip per PLAN.md (fails under CI).
fn can_run(test: &str, tools: &[&str]) -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    let mut missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .collect();
    if !root {
        missing.insert(0, "root");
    }
    if missing.is_empty() {
        return true;
    }
    cirrus_testkit::skip(test, &format!("needs {}", missing.join(", ")));
    false
}

fn run(cmd: &str, args: &[&str]) -> Result<Output, String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{cmd} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ))
    }
}

// ---- the lab: a workload namespace on a veth pair ----

/// One workload namespace and its veth pair; removed on drop, with the processes whose
/// pid files it was given.
struct Lab {
    ns: String,
    host: String,
    inner: String,
    dir: tempfile::TempDir,
    pid_files: Vec<PathBuf>,
}

impl Lab {
    fn new(tag: &str) -> Self {
        let prefix = format!("csv{tag}{}", std::process::id() % 100_000);
        let lab = Self {
            ns: format!("{prefix}n"),
            host: format!("{prefix}h"),
            inner: format!("{prefix}w"),
            dir: tempfile::tempdir().unwrap(),
            pid_files: Vec::new(),
        };
        run("ip", &["netns", "add", &lab.ns]).unwrap();
        run(
            "ip",
            &[
                "link", "add", &lab.host, "type", "veth", "peer", "name", &lab.inner,
            ],
        )
        .unwrap();
        run("ip", &["link", "set", &lab.inner, "netns", &lab.ns]).unwrap();
        lab.ip(&["link", "set", &lab.inner, "address", &VM_MAC.to_string()]);
        lab.ip(&["link", "set", "lo", "up"]);
        // A userspace vRouter reads frames as the workload's kernel left them: checksums
        // must be complete (PLAN.md: offloads off unless the I/O is GSO-aware).
        lab.exec(&["ethtool", "-K", &lab.inner, "tx", "off"])
            .unwrap();
        // The host end carries no addresses: keep the root namespace's IPv6 quiet on it.
        let _ = run(
            "sysctl",
            &["-qw", &format!("net.ipv6.conf.{}.disable_ipv6=1", lab.host)],
        );
        run("ip", &["link", "set", &lab.host, "up"]).unwrap();
        lab
    }

    /// `ip -n <ns> ARGS`, which must succeed.
    fn ip(&self, args: &[&str]) -> String {
        let mut a = vec!["-n", self.ns.as_str()];
        a.extend_from_slice(args);
        String::from_utf8_lossy(&run("ip", &a).unwrap().stdout).into_owned()
    }

    /// Runs `args` in the namespace.
    fn exec(&self, args: &[&str]) -> Result<Output, String> {
        let mut a = vec!["netns", "exec", self.ns.as_str()];
        a.extend_from_slice(args);
        run("ip", &a)
    }

    fn file(&self, name: &str, text: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for p in &self.pid_files {
            if let Some(pid) = std::fs::read_to_string(p)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
            {
                let _ = Command::new("kill").arg(pid.to_string()).output();
            }
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.host])
            .output();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
    }
}

// ---- the vRouter side: pipeline classification + trap::handle ----

/// A one-port pipeline: the workload in VRF 1 and receive routes for the vRouter's own
/// addresses, as the agent programs them.
fn pipeline() -> (Controller, Dataplane) {
    let (mut c, dp) = Controller::new(4, CONTRAIL_VROUTER_MAC);
    c.add_vrf(1).unwrap();
    c.set_interface(Interface {
        ifindex: PORT_IF,
        name: "vm".into(),
        mac: VM_MAC,
        kind: InterfaceKind::Virtual {
            vrf: 1,
            ips: vec![IpAddr::V4(VM_IP), IpAddr::V6(VM_IP6)],
            policy: false,
        },
        flow_limit: 0,
        fat_flows: Vec::new(),
    })
    .unwrap();
    c.set_nexthop(1, Nexthop::Receive { ifindex: AGENT_IF })
        .unwrap();
    for a in [GATEWAY, SERVICE] {
        c.add_route(1, a.into(), 32, 1).unwrap();
    }
    for a in [GATEWAY6, VROUTER_LINK_LOCAL6] {
        c.add_route(1, a.into(), 128, 1).unwrap();
    }
    c.commit();
    (c, dp)
}

/// Reads the host end of the veth, runs each frame through the pipeline and answers what
/// it traps (and what it delivers to the vRouter's addresses) with `trap::handle`. Stops
/// and joins on drop.
struct Responder {
    stop: Arc<AtomicBool>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    thread: Option<JoinHandle<()>>,
}

impl Responder {
    fn start(host_if: &str, view: PortView) -> Self {
        let mut dev = AfPacket::open(host_if).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let (s, o) = (stop.clone(), outcomes.clone());
        let thread = std::thread::spawn(move || {
            let (_c, dp) = pipeline();
            let mut w = Worker::new(dp.clone(), WorkerConfig::default());
            let ctx = TrapContext::default();
            let (mut rx, mut spare) = (Vec::new(), Vec::new());
            while !s.load(Ordering::Relaxed) {
                rx.clear();
                if dev.recv_batch(&mut rx, &mut spare, 32).unwrap_or(0) == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                let tables = dp.snapshot();
                let mut out = Vec::new();
                for pkt in rx.iter_mut() {
                    let frame = pkt.data().to_vec();
                    let reason = match w.process(&tables, 0, PORT_IF, pkt) {
                        Disposition::Trap(r) => r,
                        Disposition::Tx(AGENT_IF) => TrapReason::Host,
                        _ => continue,
                    };
                    let t = trap::handle(&view, reason, &frame, &ctx);
                    o.lock().unwrap().push(t.outcome);
                    out.extend(t.replies.iter().map(|f| PacketBuf::from_frame(f)));
                }
                let refs: Vec<&PacketBuf> = out.iter().collect();
                let _ = dev.send_batch(&refs);
            }
        });
        Self {
            stop,
            outcomes,
            thread: Some(thread),
        }
    }

    fn outcomes(&self) -> Vec<Outcome> {
        self.outcomes.lock().unwrap().clone()
    }

    /// Waits (bounded) until `pred` holds for the outcomes so far.
    fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&[Outcome]) -> bool) {
        let t0 = Instant::now();
        while !pred(&self.outcomes()) {
            assert!(
                t0.elapsed() < limit,
                "{what}: not seen within {limit:?}; outcomes: {:?}",
                self.outcomes()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn view(lease: u32) -> PortView {
    let mut v = PortView::new(PORT_IF, VM_MAC, CONTRAIL_VROUTER_MAC);
    v.ipv4 = Some((VM_IP, 24));
    v.gateway4 = Some(GATEWAY);
    v.service_address4 = Some(SERVICE);
    v.dns_servers4 = vec![SERVICE];
    v.ipv6 = Some((VM_IP6, 64));
    v.gateway6 = Some(GATEWAY6);
    v.mtu = Some(1400);
    v.hostname = Some("vm-one".into());
    v.domain = Some("tenant.example".into());
    v.lease_seconds = lease;
    v
}

/// A process this test started (through `ip netns exec`, which execs it in place), killed
/// by its PID on drop.
struct Child(std::process::Child);

impl Child {
    fn spawn(cmd: &mut Command) -> Self {
        Self(
            cmd.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        )
    }
    fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.0.id().to_string()])
            .output();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `KEY=value` lines the client scripts saved.
fn saved_env(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

// ---- the tests ----

/// busybox udhcpc: address, mask, MTU, host name, DNS, and the host route with the
/// default route it implies (option 121, so no router option); then ping of the gateway
/// through the pipeline, and a RELEASE when the client exits with -R.
#[test]
fn udhcpc_gets_address_mask_routes_and_mtu_and_pings_the_gateway() {
    if !can_run(
        "udhcpc_gets_address_mask_routes_and_mtu_and_pings_the_gateway",
        &["ip", "busybox", "ping", "ethtool"],
    ) {
        return;
    }
    let lab = Lab::new("u");
    let mut v = view(3600);
    v.host_routes = vec![HostRoute {
        prefix: Ipv4Addr::new(192, 168, 0, 0),
        prefix_len: 16,
        nexthop: None,
    }];
    let responder = Responder::start(&lab.host, v);
    let env = lab.dir.path().join("env");
    // The script udhcpc runs: configure what it was given (udhcpc ships none on Debian).
    let script = lab.file(
        "udhcpc.sh",
        &format!(
            r#"#!/bin/sh
case "$1" in
deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
bound|renew)
  env | grep -E '^(ip|subnet|router|mtu|dns|domain|hostname|staticroutes|lease|serverid|broadcast)=' > {env}.new
  ip addr add "$ip/$subnet" dev "$interface"
  [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
  for r in $router; do ip route add default via "$r" dev "$interface"; done
  set -- $staticroutes
  while [ $# -ge 2 ]; do ip route add "$1" via "$2" dev "$interface"; shift 2; done
  # Published only once the interface is configured: the test reads the routes after it.
  mv {env}.new {env}
  ;;
esac
exit 0
"#,
            env = env.display()
        ),
        0o755,
    );
    let script = script.to_str().unwrap();
    // udhcpc stays in the foreground as our child: SIGUSR2 makes it release the lease.
    let client = Child::spawn(
        Command::new("ip")
            .args([
                "netns", "exec", &lab.ns, "busybox", "udhcpc", "-f", "-t", "5",
            ])
            .args([
                "-T",
                "1",
                "-A",
                "1",
                "-O",
                "mtu",
                "-O",
                "staticroutes",
                "-i",
            ])
            .args([lab.inner.as_str(), "-s", script]),
    );
    let t0 = Instant::now();
    while !saved_env(&env).contains("ip=") {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "udhcpc got no lease; outcomes {:?}",
            responder.outcomes()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let addr = lab.ip(&["-4", "addr", "show", "dev", &lab.inner]);
    assert!(addr.contains("inet 10.1.0.3/24"), "ip addr: {addr}");
    let link = lab.ip(&["link", "show", "dev", &lab.inner]);
    assert!(link.contains("mtu 1400"), "ip link: {link}");
    let routes = lab.ip(&["-4", "route", "show", "dev", &lab.inner]);
    assert!(
        routes.contains("default via 10.1.0.1"),
        "ip route: {routes}"
    );
    assert!(
        routes.contains("192.168.0.0/16 via 10.1.0.1"),
        "ip route: {routes}"
    );
    let e = saved_env(&env);
    for want in [
        "ip=10.1.0.3",
        "subnet=255.255.255.0",
        "mtu=1400",
        "hostname=vm-one",
        "domain=tenant.example",
        "dns=10.1.0.2",
        "serverid=10.1.0.2",
        "lease=3600",
        "staticroutes=192.168.0.0/16 10.1.0.1 0.0.0.0/0 10.1.0.1",
    ] {
        assert!(e.lines().any(|l| l.trim() == want), "{want} not in {e}");
    }
    // udhcpc asked for option 121, which came: RFC 3442 leaves the router option out.
    assert!(!e.lines().any(|l| l.starts_with("router=")), "{e}");

    let ping = lab.exec(&["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.1.0.1"]);
    assert!(ping.is_ok(), "ping of the gateway: {ping:?}");
    let ping = lab.exec(&["ping", "-c", "1", "-W", "2", "10.1.0.2"]);
    assert!(ping.is_ok(), "ping of the service address: {ping:?}");
    // SIGUSR2: the client gives the address back.
    client.signal("USR2");
    responder.wait_for("RELEASE", Duration::from_secs(5), |o| {
        o.contains(&Outcome::DhcpRelease { addr: VM_IP })
    });

    let o = responder.outcomes();
    assert!(o.contains(&Outcome::DhcpOffer { addr: VM_IP }), "{o:?}");
    assert!(o.contains(&Outcome::DhcpAck { addr: VM_IP }), "{o:?}");
    assert!(
        o.contains(&Outcome::ArpReply {
            target: GATEWAY,
            mac: CONTRAIL_VROUTER_MAC
        }),
        "{o:?}"
    );
    assert!(
        o.contains(&Outcome::EchoReply {
            to: IpAddr::V4(GATEWAY)
        }),
        "{o:?}"
    );
}

/// ISC dhclient with a stale lease for another address: INIT-REBOOT asks for it, gets a
/// NAK, starts over and binds the port's address with mask, router and MTU; with a short
/// lease it renews by unicast (a REQUEST from its address, ACKed to it). Killed by its
/// pid file.
#[test]
fn dhclient_is_nakked_off_a_stale_lease_then_binds_and_renews() {
    if !can_run(
        "dhclient_is_nakked_off_a_stale_lease_then_binds_and_renews",
        &["ip", "dhclient", "ethtool"],
    ) {
        return;
    }
    let mut lab = Lab::new("d");
    let responder = Responder::start(&lab.host, view(6));
    let env = lab.dir.path().join("env");
    let conf = lab.file(
        "dhclient.conf",
        "option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;\n\
         request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers,\n\
         \x20 host-name, interface-mtu, rfc3442-classless-static-routes;\n\
         timeout 20;\nretry 1;\n",
        0o644,
    );
    let script = lab.file(
        "dhclient.sh",
        &format!(
            r#"#!/bin/sh
echo "$reason old=$old_ip_address new=$new_ip_address" >> {env}.log
case "$reason" in
PREINIT) ip link set dev "$interface" up ;;
BOUND|RENEW|REBIND|REBOOT)
  env | grep '^new_' | sort > {env}
  if [ "$old_ip_address" != "$new_ip_address" ]; then
    [ -n "$old_ip_address" ] && ip addr del "$old_ip_address" dev "$interface"
    ip addr add "$new_ip_address/$new_subnet_mask" dev "$interface"
  fi
  [ -n "$new_interface_mtu" ] && ip link set dev "$interface" mtu "$new_interface_mtu"
  for r in $new_routers; do ip route replace default via "$r" dev "$interface"; done
  ;;
EXPIRE|FAIL|RELEASE|STOP) [ -n "$old_ip_address" ] && ip addr del "$old_ip_address" dev "$interface" ;;
esac
exit 0
"#,
            env = env.display()
        ),
        0o755,
    );
    // A lease for 10.1.0.99 from this server, valid until 2037: dhclient starts with
    // INIT-REBOOT and asks for it.
    let leases = lab.file(
        "dhclient.leases",
        &format!(
            "lease {{\n  interface \"{}\";\n  fixed-address 10.1.0.99;\n  option subnet-mask 255.255.255.0;\n  option dhcp-server-identifier 10.1.0.2;\n  renew 4 2037/01/01 00:00:01;\n  rebind 4 2037/01/01 00:00:01;\n  expire 4 2037/01/01 00:00:01;\n}}\n",
            lab.inner
        ),
        0o644,
    );
    let pid_file = lab.dir.path().join("dhclient.pid");
    lab.pid_files.push(pid_file.clone());
    let out = lab.exec(&[
        "dhclient",
        "-4",
        "-1",
        "-cf",
        conf.to_str().unwrap(),
        "-sf",
        script.to_str().unwrap(),
        "-lf",
        leases.to_str().unwrap(),
        "-pf",
        pid_file.to_str().unwrap(),
        &lab.inner,
    ]);
    assert!(out.is_ok(), "dhclient failed: {out:?}");

    let o = responder.outcomes();
    assert!(
        o.contains(&Outcome::DhcpNak {
            requested: Ipv4Addr::new(10, 1, 0, 99)
        }),
        "no NAK for the stale lease: {o:?}"
    );
    let addr = lab.ip(&["-4", "addr", "show", "dev", &lab.inner]);
    assert!(addr.contains("inet 10.1.0.3/24"), "ip addr: {addr}");
    assert!(!addr.contains("10.1.0.99"), "ip addr: {addr}");
    let link = lab.ip(&["link", "show", "dev", &lab.inner]);
    assert!(link.contains("mtu 1400"), "ip link: {link}");
    let routes = lab.ip(&["-4", "route", "show", "dev", &lab.inner]);
    assert!(
        routes.contains("default via 10.1.0.1"),
        "ip route: {routes}"
    );
    let e = saved_env(&env);
    for want in [
        "new_ip_address=10.1.0.3",
        "new_subnet_mask=255.255.255.0",
        "new_routers=10.1.0.1",
        "new_interface_mtu=1400",
        "new_domain_name_servers=10.1.0.2",
        "new_host_name=vm-one",
        "new_dhcp_server_identifier=10.1.0.2",
    ] {
        assert!(e.lines().any(|l| l.trim() == want), "{want} not in {e}");
    }

    // Lease 6 s: renewal (T1) after 3 s, a REQUEST from 10.1.0.3 answered by unicast.
    responder.wait_for("renewal ACK", Duration::from_secs(15), |o| {
        o.iter()
            .filter(|x| **x == Outcome::DhcpAck { addr: VM_IP })
            .count()
            >= 2
    });
    let addr = lab.ip(&["-4", "addr", "show", "dev", &lab.inner]);
    assert!(
        addr.contains("inet 10.1.0.3/24"),
        "after renewal: {addr}; {}; {:?}",
        std::fs::read_to_string(lab.dir.path().join("env.log")).unwrap_or_default(),
        responder.outcomes()
    );
}

/// The workload's kernel solicits a router when its link comes up: the advertisement
/// gives it a default route via the vRouter's link-local address and the on-link prefix;
/// ping of the IPv6 gateway answers (neighbour solicitation, then echo).
#[test]
fn ipv6_workload_gets_a_default_route_from_the_router_advertisement() {
    if !can_run(
        "ipv6_workload_gets_a_default_route_from_the_router_advertisement",
        &["ip", "ping", "ethtool"],
    ) {
        return;
    }
    let lab = Lab::new("r");
    let responder = Responder::start(&lab.host, view(3600));
    for s in [
        format!("net.ipv6.conf.{}.disable_ipv6=0", lab.inner),
        format!("net.ipv6.conf.{}.accept_ra=1", lab.inner),
        format!("net.ipv6.conf.{}.accept_dad=0", lab.inner),
    ] {
        lab.exec(&["sysctl", "-qw", &s]).unwrap();
    }
    lab.ip(&[
        "-6",
        "addr",
        "add",
        "fd00:0:0:1::3/64",
        "dev",
        &lab.inner,
        "nodad",
    ]);
    lab.ip(&["link", "set", &lab.inner, "up"]);

    let t0 = Instant::now();
    let routes = loop {
        let r = lab.ip(&["-6", "route", "show", "dev", &lab.inner]);
        if r.contains("default via fe80::5e00:100") {
            break r;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "no default route from the RA: {r}; outcomes {:?}",
            responder.outcomes()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(routes.contains("fd00:0:0:1::/64"), "ip -6 route: {routes}");
    assert!(responder.outcomes().contains(&Outcome::RouterAdvert));

    let ping = lab.exec(&[
        "ping",
        "-6",
        "-c",
        "2",
        "-i",
        "0.2",
        "-W",
        "2",
        "fd00:0:0:1::1",
    ]);
    assert!(ping.is_ok(), "ping of the IPv6 gateway: {ping:?}");
    let o = responder.outcomes();
    assert!(
        o.contains(&Outcome::NeighborAdvert { target: GATEWAY6 }),
        "{o:?}"
    );
    assert!(
        o.contains(&Outcome::EchoReply {
            to: IpAddr::V6(GATEWAY6)
        }),
        "{o:?}"
    );
}

/// ISC dhclient -6: the router advertisement's managed flag sends it to DHCPv6, which binds
/// the port's IPv6 instance IP (SOLICIT, ADVERTISE, REQUEST, REPLY) with the DNS server
/// and domain; the workload then pings the IPv6 gateway from that address. Killed by its
/// pid file.
#[test]
fn dhclient6_binds_the_instance_ipv6_address() {
    if !can_run(
        "dhclient6_binds_the_instance_ipv6_address",
        &["ip", "dhclient", "ping", "ethtool"],
    ) {
        return;
    }
    let mut lab = Lab::new("6");
    let mut v = view(3600);
    v.dns_servers6 = vec![GATEWAY6];
    let responder = Responder::start(&lab.host, v);
    for s in [
        format!("net.ipv6.conf.{}.disable_ipv6=0", lab.inner),
        format!("net.ipv6.conf.{}.accept_dad=0", lab.inner),
    ] {
        lab.exec(&["sysctl", "-qw", &s]).unwrap();
    }
    lab.ip(&["link", "set", &lab.inner, "up"]);
    let env = lab.dir.path().join("env");
    let conf = lab.file(
        "dhclient6.conf",
        "also request dhcp6.name-servers, dhcp6.domain-search;\ntimeout 20;\nretry 1;\n",
        0o644,
    );
    let script = lab.file(
        "dhclient6.sh",
        &format!(
            r#"#!/bin/sh
case "$reason" in
BOUND6|RENEW6|REBIND6|REBOOT6)
  env | grep '^new_' | sort > {env}
  ip -6 addr replace "$new_ip6_address/$new_ip6_prefixlen" dev "$interface"
  ;;
esac
exit 0
"#,
            env = env.display()
        ),
        0o755,
    );
    let leases = lab.file("dhclient6.leases", "", 0o644);
    let pid_file = lab.dir.path().join("dhclient6.pid");
    lab.pid_files.push(pid_file.clone());
    let out = lab.exec(&[
        "dhclient",
        "-6",
        "-1",
        "-cf",
        conf.to_str().unwrap(),
        "-sf",
        script.to_str().unwrap(),
        "-lf",
        leases.to_str().unwrap(),
        "-pf",
        pid_file.to_str().unwrap(),
        &lab.inner,
    ]);
    assert!(
        out.is_ok(),
        "dhclient -6 failed: {out:?}; outcomes {:?}",
        responder.outcomes()
    );
    let o = responder.outcomes();
    assert!(
        o.contains(&Outcome::Dhcp6Advertise { addr: VM_IP6 }),
        "{o:?}"
    );
    assert!(o.contains(&Outcome::Dhcp6Reply { addr: VM_IP6 }), "{o:?}");
    let addr = lab.ip(&["-6", "addr", "show", "dev", &lab.inner]);
    assert!(addr.contains("inet6 fd00:0:0:1::3/"), "ip -6 addr: {addr}");
    let e = saved_env(&env);
    for want in [
        "new_ip6_address=fd00:0:0:1::3",
        "new_dhcp6_name_servers=fd00:0:0:1::1",
        "new_dhcp6_domain_search=tenant.example.",
    ] {
        assert!(e.lines().any(|l| l.trim() == want), "{want} not in {e}");
    }

    // The on-link prefix and default route come from the router advertisement.
    let t0 = Instant::now();
    while !lab
        .ip(&["-6", "route", "show", "dev", &lab.inner])
        .contains("default via fe80::5e00:100")
    {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "no RA default route"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let ping = lab.exec(&[
        "ping",
        "-6",
        "-c",
        "2",
        "-i",
        "0.2",
        "-W",
        "2",
        "fd00:0:0:1::1",
    ]);
    assert!(ping.is_ok(), "ping of the IPv6 gateway: {ping:?}");
}
