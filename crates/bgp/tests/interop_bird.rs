//! Interop with BIRD 2 (Debian package `bird2`) on its own loopback address, read back with
//! `birdc`: inet-vpn both ways with RD, label, targets and next hop; withdrawals both ways (BIRD
//! side by reconfiguration); a ROUTE-REFRESH from BIRD answered with Cirrus's route (BIRD's
//! import counter grows); graceful restart keeping BIRD's routes stale while it is away and,
//! as BIRD comes back with the F bit set, after the session is up until its End-of-RIB sweeps
//! what it did not re-announce. (BIRD 2.0 has no EVPN and no RFC 4684.)

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
        self.restart_with(config, false)
    }

    fn restart_with(&mut self, config: &str, recovery: bool) {
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
        if recovery {
            cmd.arg("-R");
        }
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

    /// "Import updates: received" of the `cirrus` protocol's channel.
    fn import_updates_received(&self) -> u64 {
        let out = self.birdc(&["show", "protocols", "all", "cirrus"]);
        out.lines()
            .find_map(|l| l.trim().strip_prefix("Import updates:"))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no import update counts in BIRD's answer:\n{out}"))
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

    // BIRD asks for a refresh; Cirrus answers by sending its route again, and BIRD receives it.
    s.originate(
        "red",
        LocalRoute {
            nlri: Some(Nlri::Inet("10.1.2.0/24".parse().unwrap())),
            labels: Labels::one(Label::mpls(38)),
            next_hop: Some("198.18.0.11".parse().unwrap()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    wait_for("BIRD has 10.1.2.0/24", Duration::from_secs(10), || async {
        b.vpn_table().contains("10.1.2.0/24")
    })
    .await;
    let before = s.neighbors().await.unwrap()[0].clone();
    let bird_before = b.import_updates_received();
    let out = b.birdc(&["reload", "in", "cirrus"]);
    assert!(!out.contains("rror"), "{out}");
    wait_for(
        "ROUTE-REFRESH from BIRD answered with the route",
        Duration::from_secs(10),
        || async {
            let n = s.neighbors().await.unwrap()[0].clone();
            n.refreshes_received > before.refreshes_received
                && n.updates_sent > before.updates_sent
                && b.import_updates_received() > bird_before
        },
    )
    .await;

    // Graceful restart (RFC 4724): BIRD dies and comes back without 10.7.2.0/24; its routes
    // are kept, stale, while it is away. It comes back in graceful-restart recovery (`bird -R`),
    // which sets the F bit, and it holds its updates and its End-of-RIB until that recovery
    // ends: a second BGP protocol that never comes up keeps it waiting for `graceful restart
    // wait` (4 s). So once the new session is up the old routes must still be there, stale (a
    // flush at session up, what a clear F bit calls for, would have removed them); at BIRD's
    // End-of-RIB 10.7.0.0/24 is fresh again and 10.7.2.0/24, not re-announced, is swept.
    let from_bird = |red: &[cirrus_bgp::rib::query::RouteInfo]| -> Vec<(String, bool)> {
        red.iter()
            .filter(|r| r.source == "127.0.6.2")
            .map(|r| (r.prefix.clone(), r.stale))
            .collect()
    };
    let all_stale = vec![
        ("10.7.0.0/24".to_string(), true),
        ("10.7.2.0/24".to_string(), true),
    ];
    b.daemon.take().unwrap().kill();
    wait_for("session down", Duration::from_secs(10), || async {
        s.neighbors().await.unwrap()[0].state != State::Established
    })
    .await;
    let red = s.routes(Some("red"), None).await.unwrap().unwrap();
    assert_eq!(
        from_bird(&red),
        all_stale,
        "BIRD's routes kept as stale while it is away: {red:?}"
    );
    let recovering = format!(
        "{}graceful restart wait 4;\n\
         protocol bgp waitpeer {{\n  local {b_ip} port 17933 as {BIRD_AS};\n\
         \x20 neighbor 127.0.6.3 port 17939 as {CIRRUS_AS};\n  multihop;\n\
         \x20 connect retry time 1;\n  graceful restart on;\n\
         \x20 vpn4 mpls {{ table vpntab; import all; export all; }};\n}}\n",
        bird_config(b_ip, 17932, c_ip, 17931, &routes[..1])
    );
    b.restart_with(&recovering, true);
    wait_for("session back", Duration::from_secs(30), || async {
        s.neighbors().await.unwrap()[0].state == State::Established
    })
    .await;
    let red = s.routes(Some("red"), None).await.unwrap().unwrap();
    let gr = s.neighbors().await.unwrap()[0].graceful_restart.clone();
    assert!(
        gr.as_ref()
            .is_some_and(|g| g.restarting && g.families == [(Family::InetVpn, true)]),
        "BIRD restarting with the F bit set: {gr:?}"
    );
    assert_eq!(
        from_bird(&red),
        all_stale,
        "stale routes kept after the session came back, until End-of-RIB: {red:?}"
    );
    wait_for(
        "End-of-RIB sweep: 10.7.2.0/24 gone, 10.7.0.0/24 fresh",
        Duration::from_secs(30),
        || async {
            let red = s.routes(Some("red"), None).await.unwrap().unwrap();
            from_bird(&red) == [("10.7.0.0/24".to_string(), false)]
        },
    )
    .await;
    s.shutdown().await;
}
