//! Interop with FRR's bgpd (Debian package `frr`), run without zebra on its own loopback
//! address and read back with `vtysh`: inet-vpn both ways with RD, label, targets and next hop;
//! e-vpn types 2 and 5 from Cirrus (FRR cannot originate EVPN here: that needs kernel VRFs and
//! VXLAN devices); withdrawals both ways; a ROUTE-REFRESH from FRR answered; graceful restart
//! keeping FRR's routes stale until its End-of-RIB.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::daemon::{Daemon, TempDir, require, run};
use common::{CIRRUS_AS, wait_for};

use cirrus_bgp::ext_community::{ExtCommunity, TunnelType};
use cirrus_bgp::rib::LocalRoute;
use cirrus_bgp::session::State;
use cirrus_bgp::types::{EvpnRoute, Family, Label, Labels, Nlri, Rd};

const FRR_AS: u32 = 65002;

struct Frr {
    daemon: Option<Daemon>,
    vtysh: PathBuf,
    dir: TempDir,
    me: Ipv4Addr,
    port: u16,
}

impl Frr {
    fn config(me: Ipv4Addr, peer: Ipv4Addr, peer_port: u16, networks: &[(&str, u32)]) -> String {
        let nets: String = networks
            .iter()
            .map(|(p, l)| format!("  network {p} rd 65002:5 label {l} route-map SETRT\n"))
            .collect();
        format!(
            "hostname cirrus-frr\n!\nroute-map SETRT permit 10\n set extcommunity rt 64512:100\n!\n\
             router bgp {FRR_AS}\n bgp router-id {me}\n no bgp default ipv4-unicast\n no bgp ebgp-requires-policy\n\
             \x20bgp graceful-restart\n bgp graceful-restart restart-time 60\n bgp graceful-restart preserve-fw-state\n\
             \x20neighbor {peer} remote-as {CIRRUS_AS}\n neighbor {peer} port {peer_port}\n neighbor {peer} update-source {me}\n\
             \x20neighbor {peer} timers connect 1\n !\n address-family ipv4 vpn\n  neighbor {peer} activate\n{nets} exit-address-family\n\
             \x20address-family l2vpn evpn\n  neighbor {peer} activate\n exit-address-family\n!\n"
        )
    }

    fn start(
        me: Ipv4Addr,
        port: u16,
        peer: Ipv4Addr,
        peer_port: u16,
        networks: &[(&str, u32)],
    ) -> Frr {
        let vtysh = require("vtysh", "frr");
        require("/usr/lib/frr/bgpd", "frr");
        let dir = TempDir::new("frr");
        let mut f = Frr {
            daemon: None,
            vtysh,
            dir,
            me,
            port,
        };
        f.restart(&Self::config(me, peer, peer_port, networks));
        f
    }

    fn restart(&mut self, config: &str) {
        let d = self.dir.path();
        std::fs::write(d.join("bgpd.conf"), config).unwrap();
        let _ = std::fs::remove_file(d.join("bgpd.vty"));
        let mut cmd = Command::new("/usr/lib/frr/bgpd");
        // -Z: no zebra; -S: no user switch; vty only on a socket in our temp dir.
        cmd.args(["-Z", "-S", "-P", "0", "-p"])
            .arg(self.port.to_string())
            .arg("-l")
            .arg(self.me.to_string())
            .arg("-f")
            .arg(d.join("bgpd.conf"))
            .arg("-i")
            .arg(d.join("bgpd.pid"))
            .arg("--vty_socket")
            .arg(d)
            .arg("--log")
            .arg(format!("file:{}", d.join("bgpd.log").display()));
        self.daemon = Some(Daemon::spawn("bgpd", &mut cmd, &d.join("stdout.log")));
    }

    fn vtysh(&self, cmds: &[&str]) -> String {
        let sock = self.dir.path().to_string_lossy().to_string();
        let mut args = vec!["--vty_socket", sock.as_str()];
        for c in cmds {
            args.push("-c");
            args.push(c);
        }
        run(&self.vtysh, &args)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bgpd.log")).unwrap_or_default()
    }

    /// `show bgp ipv4 vpn`, which must have listed the table (vtysh exits 0 on some errors).
    fn vpn_table(&self) -> String {
        let out = self.vtysh(&["show bgp ipv4 vpn"]);
        assert!(
            out.contains("BGP table version") || out.contains("No BGP prefixes displayed"),
            "FRR did not list its ipv4 vpn table:\n{out}"
        );
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_vpn_both_ways_evpn_refresh_and_graceful_restart() {
    let (c_ip, f_ip) = (Ipv4Addr::new(127, 0, 5, 1), Ipv4Addr::new(127, 0, 5, 2));
    let nets = [
        ("10.5.0.0/24", 500),
        ("10.5.1.0/24", 501),
        ("10.5.2.0/24", 502),
    ];
    let mut f = Frr::start(f_ip, 17922, c_ip, 17921, &nets);

    let s = common::cirrus_with_red(
        c_ip,
        17921,
        f_ip,
        17922,
        FRR_AS,
        vec![Family::InetVpn, Family::Evpn],
    )
    .await;
    let up = || async { s.neighbors().await.unwrap()[0].state == State::Established };
    if tokio::time::timeout(Duration::from_secs(30), async {
        while !up().await {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .is_err()
    {
        panic!(
            "no session with FRR: {:?}\n{}",
            s.neighbors().await.unwrap(),
            f.log()
        );
    }
    assert_eq!(
        s.neighbors().await.unwrap()[0].families,
        vec![Family::InetVpn, Family::Evpn]
    );

    // FRR -> Cirrus.
    wait_for(
        "FRR's VPN routes in red",
        Duration::from_secs(15),
        || async { s.routes(Some("red"), None).await.unwrap().unwrap().len() >= 3 },
    )
    .await;
    let red = s.routes(Some("red"), None).await.unwrap().unwrap();
    let r = red.iter().find(|r| r.prefix == "10.5.0.0/24").unwrap();
    assert_eq!(
        (r.label, r.next_hop.as_deref(), r.as_path.as_str()),
        (Some(500), Some("127.0.5.2"), "65002")
    );
    assert!(r.targets.contains(&"target:64512:100".into()));
    let g = s
        .routes(None, Some(Family::InetVpn))
        .await
        .unwrap()
        .unwrap();
    assert!(
        g.iter()
            .any(|r| r.prefix == "10.5.0.0/24" && r.rd.as_deref() == Some("65002:5"))
    );

    // Cirrus -> FRR: inet-vpn, e-vpn type 2 and type 5.
    let nh: IpAddr = "198.18.0.11".parse().unwrap();
    s.originate(
        "red",
        LocalRoute {
            nlri: Some(Nlri::Inet("10.1.1.0/24".parse().unwrap())),
            labels: Labels::one(Label::mpls(37)),
            next_hop: Some(nh),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    s.originate(
        "red",
        LocalRoute {
            nlri: Some(Nlri::evpn(EvpnRoute::MacIp {
                rd: Rd::As2(0, 0),
                esi: [0; 10],
                tag: 0,
                mac: [2, 0, 0, 0, 0, 0x11],
                ip: Some("10.1.1.5".parse().unwrap()),
            })),
            labels: Labels::one(Label::vni(5001)),
            next_hop: Some(nh),
            ext_communities: vec![ExtCommunity::encapsulation(TunnelType::Vxlan)],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    s.originate(
        "red",
        LocalRoute {
            nlri: Some(Nlri::evpn(EvpnRoute::IpPrefix {
                rd: Rd::As2(0, 0),
                esi: [0; 10],
                tag: 0,
                prefix: "10.6.0.0/24".parse().unwrap(),
                gateway: "0.0.0.0".parse().unwrap(),
            })),
            labels: Labels::one(Label::vni(5002)),
            next_hop: Some(nh),
            ext_communities: vec![
                ExtCommunity::encapsulation(TunnelType::Vxlan),
                ExtCommunity::router_mac([2, 0, 0, 0, 0, 0x22]),
            ],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    wait_for(
        "FRR has the inet-vpn route",
        Duration::from_secs(10),
        || async { f.vpn_table().contains("10.1.1.0/24") },
    )
    .await;
    let d = f.vtysh(&["show bgp ipv4 vpn rd 127.0.5.1:1 10.1.1.0/24"]);
    for want in ["198.18.0.11", "RT:64512:100", "Remote label: 37", "64512"] {
        assert!(d.contains(want), "FRR's view lacks {want}:\n{d}");
    }
    wait_for(
        "FRR has the e-vpn routes",
        Duration::from_secs(10),
        || async {
            let e = f.vtysh(&["show bgp l2vpn evpn"]);
            e.contains("02:00:00:00:00:11") && e.contains("10.6.0.0")
        },
    )
    .await;
    let e = f.vtysh(&["show bgp l2vpn evpn route detail"]);
    for want in [
        "[2]:[0]:[48]:[02:00:00:00:00:11]:[32]:[10.1.1.5]",
        "[5]:[0]:[24]:[10.6.0.0]",
        "VNI 5001",
        "Rmac:02:00:00:00:00:22",
        "RT:64512:100",
        "ET:8",
    ] {
        assert!(e.contains(want), "FRR's EVPN view lacks {want}:\n{e}");
    }

    // Withdrawals both ways.
    s.withdraw("red", Nlri::Inet("10.1.1.0/24".parse().unwrap()))
        .await
        .unwrap();
    wait_for(
        "FRR drops the withdrawn route",
        Duration::from_secs(10),
        || async { !f.vpn_table().contains("10.1.1.0/24") },
    )
    .await;
    let out = f.vtysh(&[
        "configure terminal",
        "router bgp 65002",
        "address-family ipv4 vpn",
        "no network 10.5.1.0/24 rd 65002:5 label 501",
    ]);
    assert!(!out.contains("Unknown") && !out.contains("%"), "{out}");
    wait_for(
        "FRR's withdrawal reaches Cirrus",
        Duration::from_secs(10),
        || async {
            !s.routes(Some("red"), None)
                .await
                .unwrap()
                .unwrap()
                .iter()
                .any(|r| r.prefix == "10.5.1.0/24")
        },
    )
    .await;

    // FRR asks for a refresh (no soft-reconfiguration inbound: it sends ROUTE-REFRESH).
    let before = s.neighbors().await.unwrap()[0].clone();
    // (For ipv4 vpn FRR keeps every received route and refreshes locally; EVPN asks the peer.)
    let out = f.vtysh(&["clear bgp l2vpn evpn 127.0.5.1 soft in"]);
    assert!(!out.contains('%'), "{out}");
    wait_for(
        "ROUTE-REFRESH from FRR answered",
        Duration::from_secs(10),
        || async {
            let n = s.neighbors().await.unwrap()[0].clone();
            n.refreshes_received > before.refreshes_received && n.updates_sent > before.updates_sent
        },
    )
    .await;

    println!(
        "FRR graceful restart capability: {:?}",
        s.neighbors().await.unwrap()[0].graceful_restart
    );
    // Graceful restart: FRR dies and comes back without 10.5.2.0/24. With preserve-fw-state
    // FRR sets the F bit, so its stale routes survive the new session until its End-of-RIB
    // (well inside the 60 s restart time: the wait below is what shows the EoR sweep).
    f.daemon.take().unwrap().kill();
    wait_for("session down", Duration::from_secs(10), || async {
        s.neighbors().await.unwrap()[0].state != State::Established
    })
    .await;
    let red = s.routes(Some("red"), None).await.unwrap().unwrap();
    assert!(
        red.iter()
            .filter(|r| r.source == "127.0.5.2")
            .all(|r| r.stale)
            && red.iter().any(|r| r.prefix == "10.5.2.0/24"),
        "FRR's routes kept as stale: {red:?}"
    );
    f.restart(&Frr::config(f_ip, c_ip, 17921, &[("10.5.0.0/24", 500)]));
    wait_for(
        "10.5.2.0/24 swept at FRR's End-of-RIB, 10.5.0.0/24 fresh",
        Duration::from_secs(30),
        || async {
            let red = s.routes(Some("red"), None).await.unwrap().unwrap();
            red.iter().any(|r| r.prefix == "10.5.0.0/24" && !r.stale)
                && !red.iter().any(|r| r.prefix == "10.5.2.0/24")
        },
    )
    .await;
    s.shutdown().await;
}
