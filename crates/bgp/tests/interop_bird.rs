//! Interop with BIRD 2 (Debian package `bird2`) on its own loopback address, read back with
//! `birdc`: inet-vpn both ways with RD, label, targets and next hop; withdrawals both ways (BIRD
//! side by reconfiguration); a ROUTE-REFRESH from BIRD answered; graceful restart keeping
//! BIRD's routes stale until its End-of-RIB. (BIRD 2.0 has no EVPN and no RFC 4684.)

mod common;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::daemon::{Daemon, TempDir, require, run};
use common::{CIRRUS_AS, wait_for};

use cirrus_bgp::rib::LocalRoute;
use cirrus_bgp::session::State;
use cirrus_bgp::types::{Family, Label, Labels, Nlri};

const BIRD_AS: u32 = 65003;

struct Bird {
    daemon: Option<Daemon>,
    bin: PathBuf,
    birdc: PathBuf,
    dir: TempDir,
}

fn bird_config(
    me: Ipv4Addr,
    port: u16,
    peer: Ipv4Addr,
    peer_port: u16,
    routes: &[(&str, u32)],
) -> String {
    let statics: String = routes
        .iter()
        .map(|(p, l)| format!("  route 65003:5 {p} via \"lo\" mpls {l} {{ bgp_ext_community.add((rt, 64512, 100)); }};\n"))
        .collect();
    format!(
        "router id {me};\nvpn4 table vpntab;\nprotocol device {{}}\n\
         protocol static s1 {{\n  vpn4 {{ table vpntab; }};\n{statics}}}\n\
         protocol bgp cirrus {{\n  local {me} port {port} as {BIRD_AS};\n  neighbor {peer} port {peer_port} as {CIRRUS_AS};\n\
         \x20 multihop;\n  connect retry time 1;\n  graceful restart on;\n  graceful restart time 60;\n\
         \x20 vpn4 mpls {{ table vpntab; import all; export all; }};\n}}\n"
    )
}

impl Bird {
    fn start(config: &str) -> Bird {
        let bin = require("bird", "bird2");
        let birdc = require("birdc", "bird2");
        let mut b = Bird {
            daemon: None,
            bin,
            birdc,
            dir: TempDir::new("bird"),
        };
        b.restart(config);
        b
    }

    fn restart(&mut self, config: &str) {
        let d = self.dir.path();
        std::fs::write(d.join("bird.conf"), config).unwrap();
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-f")
            .arg("-c")
            .arg(d.join("bird.conf"))
            .arg("-s")
            .arg(d.join("bird.ctl"))
            .arg("-P")
            .arg(d.join("bird.pid"));
        self.daemon = Some(Daemon::spawn("bird", &mut cmd, &d.join("bird.out")));
    }

    fn reconfigure(&self, config: &str) -> String {
        std::fs::write(self.dir.path().join("bird.conf"), config).unwrap();
        self.birdc(&["configure"])
    }

    /// `show route table vpntab`, which must have listed the table.
    fn vpn_table(&self) -> String {
        let out = self.birdc(&["show", "route", "table", "vpntab"]);
        assert!(
            out.contains("Table vpntab:"),
            "BIRD did not list vpntab:\n{out}"
        );
        out
    }

    fn birdc(&self, args: &[&str]) -> String {
        let sock = self
            .dir
            .path()
            .join("bird.ctl")
            .to_string_lossy()
            .to_string();
        let mut v = vec!["-s", sock.as_str()];
        v.extend_from_slice(args);
        run(&self.birdc, &v)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bird_vpn_both_ways_refresh_and_graceful_restart() {
    let (c_ip, b_ip) = (Ipv4Addr::new(127, 0, 6, 1), Ipv4Addr::new(127, 0, 6, 2));
    let routes = [
        ("10.7.0.0/24", 700),
        ("10.7.1.0/24", 701),
        ("10.7.2.0/24", 702),
    ];
    let mut b = Bird::start(&bird_config(b_ip, 17932, c_ip, 17931, &routes));

    let s = common::cirrus_with_red(c_ip, 17931, b_ip, 17932, BIRD_AS, vec![Family::InetVpn]).await;
    let limit = std::time::Instant::now();
    while s.neighbors().await.unwrap()[0].state != State::Established {
        assert!(
            limit.elapsed() < Duration::from_secs(30),
            "no session with BIRD: {:?}\n{}",
            s.neighbors().await.unwrap(),
            b.birdc(&["show", "protocols", "all", "cirrus"])
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // BIRD -> Cirrus.
    wait_for("BIRD's routes in red", Duration::from_secs(15), || async {
        s.routes(Some("red"), None).await.unwrap().unwrap().len() >= 3
    })
    .await;
    let red = s.routes(Some("red"), None).await.unwrap().unwrap();
    let r = red.iter().find(|r| r.prefix == "10.7.0.0/24").unwrap();
    assert_eq!(
        (r.next_hop.as_deref(), r.as_path.as_str()),
        (Some("127.0.6.2"), "65003"),
        "{r:?}"
    );
    assert!(r.targets.contains(&"target:64512:100".into()));
    // BIRD 2.0 sets next hop self on eBGP and then advertises label 3 (implicit null).
    assert_eq!(r.label, Some(3));
    let g = s
        .routes(None, Some(Family::InetVpn))
        .await
        .unwrap()
        .unwrap();
    assert!(
        g.iter()
            .any(|r| r.prefix == "10.7.0.0/24" && r.rd.as_deref() == Some("65003:5"))
    );

    // Cirrus -> BIRD.
    s.originate(
        "red",
        LocalRoute {
            nlri: Some(Nlri::Inet("10.1.1.0/24".parse().unwrap())),
            labels: Labels::one(Label::mpls(37)),
            next_hop: Some("198.18.0.11".parse().unwrap()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    wait_for("BIRD has the route", Duration::from_secs(10), || async {
        b.vpn_table().contains("10.1.1.0/24")
    })
    .await;
    let v = b.birdc(&[
        "show",
        "route",
        "table",
        "vpntab",
        "all",
        "127.0.6.1:1",
        "10.1.1.0/24",
    ]);
    let v = if v.contains("10.1.1.0/24") {
        v
    } else {
        b.birdc(&["show", "route", "table", "vpntab", "all"])
    };
    for want in [
        "127.0.6.1:1 10.1.1.0/24",
        "BGP.mpls_label_stack: 37",
        "(rt, 64512, 100)",
        "198.18.0.11",
        "64512",
    ] {
        assert!(v.contains(want), "BIRD's view lacks {want}:\n{v}");
    }

    // Withdrawals both ways.
    s.withdraw("red", Nlri::Inet("10.1.1.0/24".parse().unwrap()))
        .await
        .unwrap();
    wait_for(
        "BIRD drops the withdrawn route",
        Duration::from_secs(10),
        || async { !b.vpn_table().contains("10.1.1.0/24") },
    )
    .await;
    let out = b.reconfigure(&bird_config(
        b_ip,
        17932,
        c_ip,
        17931,
        &[routes[0], routes[2]],
    ));
    assert!(
        out.contains("Reconfigured") || out.contains("Reconfiguration"),
        "{out}"
    );
    wait_for(
        "BIRD's withdrawal reaches Cirrus",
        Duration::from_secs(10),
        || async {
            !s.routes(Some("red"), None)
                .await
                .unwrap()
                .unwrap()
                .iter()
                .any(|r| r.prefix == "10.7.1.0/24")
        },
    )
    .await;

    // BIRD asks for a refresh.
    let before = s.neighbors().await.unwrap()[0].clone();
    let out = b.birdc(&["reload", "in", "cirrus"]);
    assert!(!out.contains("rror"), "{out}");
    wait_for(
        "ROUTE-REFRESH from BIRD answered",
        Duration::from_secs(10),
        || async {
            let n = s.neighbors().await.unwrap()[0].clone();
            n.refreshes_received > before.refreshes_received
                && n.updates_sent >= before.updates_sent
        },
    )
    .await;

    println!(
        "BIRD graceful restart capability: {:?}",
        s.neighbors().await.unwrap()[0].graceful_restart
    );
    // Graceful restart: BIRD dies and comes back without 10.7.2.0/24. Stale while it is away;
    // BIRD sends the F bit clear, so they go when the session comes back (RFC 4724 4.2).
    b.daemon.take().unwrap().kill();
    wait_for("session down", Duration::from_secs(10), || async {
        s.neighbors().await.unwrap()[0].state != State::Established
    })
    .await;
    let red = s.routes(Some("red"), None).await.unwrap().unwrap();
    assert!(
        red.iter()
            .filter(|r| r.source == "127.0.6.2")
            .all(|r| r.stale)
            && red.iter().any(|r| r.prefix == "10.7.2.0/24"),
        "BIRD's routes kept as stale: {red:?}\n{:?}",
        s.neighbors().await.unwrap()
    );
    b.restart(&bird_config(b_ip, 17932, c_ip, 17931, &routes[..1]));
    wait_for(
        "10.7.2.0/24 gone after BIRD's restart, 10.7.0.0/24 fresh",
        Duration::from_secs(30),
        || async {
            let red = s.routes(Some("red"), None).await.unwrap().unwrap();
            red.iter().any(|r| r.prefix == "10.7.0.0/24" && !r.stale)
                && !red.iter().any(|r| r.prefix == "10.7.2.0/24")
        },
    )
    .await;
    s.shutdown().await;
}
