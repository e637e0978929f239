//! A GoBGP daemon (`gobgpd`, driven with its `gobgp` CLI) for the interop tests: its config
//! from the test's arguments, restarts, and its RIB read as JSON (see `gobgp_rib`).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

use super::CIRRUS_AS;
use super::daemon::{Daemon, TempDir, require, try_run};
use super::gobgp_rib::{GPath, paths};

pub const GOBGP_AS: u32 = 65001;

/// The LLGR_STALE community (RFC 9494), 65535:6.
pub const LLGR_STALE: u64 = 0xffff_0006;

/// The one path in `rib` that `pred` picks; fails naming the RIB when there is none or several.
pub fn one(rib: &[GPath], pred: impl Fn(&GPath) -> bool) -> &GPath {
    let mut it = rib.iter().filter(|p| pred(p));
    match (it.next(), it.next()) {
        (Some(p), None) => p,
        _ => panic!("not exactly one such path in GoBGP's RIB: {rib:?}"),
    }
}

pub struct GoBgp {
    pub daemon: Option<Daemon>,
    cli: PathBuf,
    api: String,
    dir: TempDir,
    conf: PathBuf,
}

/// Graceful restart as GoBGP offers it: (restart time, long-lived stale time if LLGR).
pub type GrOffer = (u16, Option<u32>);

impl GoBgp {
    // Test helper: every argument is one line of the daemon's config.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        tag: &str,
        me: Ipv4Addr,
        port: u16,
        api_port: u16,
        peer: Ipv4Addr,
        peer_port: u16,
        families: &[&str],
        restarting: bool,
    ) -> GoBgp {
        let gr = (60, None);
        Self::start_as(
            tag, me, port, api_port, peer, peer_port, families, restarting, GOBGP_AS, gr,
        )
    }

    /// [`Self::start`] in AS `asn`, offering graceful restart as `gr` says.
    #[allow(clippy::too_many_arguments)]
    pub fn start_as(
        tag: &str,
        me: Ipv4Addr,
        port: u16,
        api_port: u16,
        peer: Ipv4Addr,
        peer_port: u16,
        families: &[&str],
        restarting: bool,
        asn: u32,
        gr: GrOffer,
    ) -> GoBgp {
        let bin = require("gobgpd", "gobgpd");
        let cli = require("gobgp", "gobgpd");
        let dir = TempDir::new(tag);
        let (restart_time, llgr) = gr;
        let mut afis = String::new();
        for f in families {
            afis.push_str(&format!(
                "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"{f}\"\n    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n"
            ));
            if let Some(t) = llgr {
                afis.push_str(&format!(
                    "    [neighbors.afi-safis.long-lived-graceful-restart.config]\n      enabled = true\n      restart-time = {t}\n"
                ));
            }
        }
        let long_lived = if llgr.is_some() {
            "    long-lived-enabled = true\n"
        } else {
            ""
        };
        let conf = dir.path().join("gobgpd.toml");
        std::fs::write(
            &conf,
            format!(
                "[global.config]\n  as = {asn}\n  router-id = \"{me}\"\n  port = {port}\n  local-address-list = [\"{me}\"]\n\n\
                 [[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{peer}\"\n    peer-as = {CIRRUS_AS}\n\
                 \x20 [neighbors.transport.config]\n    local-address = \"{me}\"\n    remote-port = {peer_port}\n\
                 \x20 [neighbors.timers.config]\n    connect-retry = 1\n    hold-time = 30\n    keepalive-interval = 10\n\
                 \x20 [neighbors.graceful-restart.config]\n    enabled = true\n    restart-time = {restart_time}\n{long_lived}{afis}"
            ),
        )
        .unwrap();
        let api = format!("{me}:{api_port}");
        let mut g = GoBgp {
            daemon: None,
            cli,
            api,
            conf,
            dir,
        };
        g.daemon = Some(g.spawn_daemon(&bin, restarting));
        g
    }

    fn spawn_daemon(&self, bin: &PathBuf, restarting: bool) -> Daemon {
        let mut cmd = Command::new(bin);
        cmd.arg("-f")
            .arg(&self.conf)
            .arg("--api-hosts")
            .arg(&self.api)
            .arg("--pprof-disable")
            .arg("-p");
        if restarting {
            cmd.arg("-r");
        }
        Daemon::spawn("gobgpd", &mut cmd, &self.dir.path().join("gobgpd.log"))
    }

    pub fn restart(&mut self) {
        let bin = require("gobgpd", "gobgpd");
        self.daemon = Some(self.spawn_daemon(&bin, true));
    }

    pub fn cli(&self, args: &str) -> String {
        self.try_cli(args)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.log()))
    }

    /// [`Self::cli`] that may fail (while the daemon restarts).
    pub fn try_cli(&self, args: &str) -> Result<String, String> {
        let (host, port) = self.api.rsplit_once(':').unwrap();
        let mut v = vec!["-u", host, "-p", port];
        v.extend(args.split_whitespace());
        try_run(&self.cli, &v)
    }

    /// Every path of the global RIB of `family` (`vpnv4`, `evpn`), read as JSON.
    pub fn rib(&self, family: &str) -> Vec<GPath> {
        paths(&self.cli(&format!("global rib -a {family} -j")))
    }

    /// Whether the `family` RIB, read successfully, has a route for `prefix`.
    pub fn has(&self, family: &str, prefix: &str) -> bool {
        self.rib(family).iter().any(|p| p.prefix() == Some(prefix))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gobgpd.log")).unwrap_or_default()
    }
}
