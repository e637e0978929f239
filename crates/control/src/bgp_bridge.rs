//! The glue between the route server and the BGP speaker, both ways:
//!
//! - vrouters' routes go to BGP as inet-vpn (inet6-vpn) routes with RD
//!   `<vrouter address>:<network id>` (Contrail's, so two vrouters' paths for one prefix stay
//!   two routes), the vrouter's label, next hop = the vrouter's underlay address, the
//!   instance's export targets and tunnel-encapsulation communities; and, when the network
//!   forwards L2, as e-vpn type 2 (MAC + IP, label = VNI). Each vrouter is one owner in the
//!   speaker (`local:vrouter:<hostname>` in `/routes`); a batch is one speaker command.
//! - BGP paths the speaker imported into an instance from peers come back as
//!   [`BgpChange`]s for the route server, which sends them to the instance's subscribers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use cirrus_bgp::attrs::PathAttrs;
use cirrus_bgp::ext_community::{ExtCommunity, ExtCommunityKind, TunnelType};
use cirrus_bgp::rib::Source;
use cirrus_bgp::rib::feed::{InstanceRouteChange, VpnRoute};
use cirrus_bgp::speaker::Speaker;
use cirrus_bgp::types::{EvpnRoute, Label, Labels, Nlri, Rd};
use cirrus_proto::convert::Prefix;
use cirrus_proto::v1 as pb;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::route_server::{BgpChange, BgpOp, BgpPath, Encaps};

/// The owner name of a vrouter's routes in the speaker.
pub fn owner(hostname: &str) -> Source {
    Source::Local {
        instance: format!("vrouter:{hostname}"),
    }
}

/// Turns batches of [`BgpOp`]s into speaker commands; remembers which keys each vrouter route
/// became, so a withdraw (or a re-announce under new targets or RD) removes exactly those.
#[derive(Default)]
pub struct Bridge {
    owners: HashMap<Arc<str>, Arc<Source>>,
    originated: HashMap<(Arc<str>, Arc<str>, Prefix), Vec<Nlri>>,
    last_attrs: Option<Arc<PathAttrs>>,
    /// Routes not put into BGP (no RD: IPv6 underlay or a network without an id), counted.
    pub skipped: u64,
}

/// The speaker commands of one batch: per owner, routes to announce and keys to withdraw.
pub type Batch = Vec<(Arc<Source>, Vec<VpnRoute>, Vec<Nlri>)>;

fn tunnel(e: pb::Encapsulation) -> Option<TunnelType> {
    match e {
        pb::Encapsulation::MplsOverUdp => Some(TunnelType::MplsInUdp),
        pb::Encapsulation::MplsOverGre => Some(TunnelType::Gre),
        pb::Encapsulation::Vxlan => Some(TunnelType::Vxlan),
        pb::Encapsulation::Unspecified => None,
    }
}

impl Bridge {
    pub fn new() -> Bridge {
        Bridge::default()
    }

    /// Pure: the speaker commands for `ops`.
    pub fn plan(&mut self, ops: Vec<BgpOp>) -> Batch {
        let mut per: HashMap<Arc<str>, (Vec<VpnRoute>, Vec<Nlri>)> = HashMap::new();
        let mut scratch: Vec<ExtCommunity> = Vec::new();
        for op in ops {
            match op {
                BgpOp::Withdraw {
                    vrouter,
                    instance,
                    prefix,
                } => {
                    if let Some(keys) =
                        self.originated
                            .remove(&(vrouter.hostname.clone(), instance, prefix))
                    {
                        per.entry(vrouter.hostname.clone())
                            .or_default()
                            .1
                            .extend(keys);
                    }
                }
                BgpOp::Announce {
                    vrouter,
                    instance,
                    cfg,
                    route,
                } => {
                    let host = vrouter.hostname.clone();
                    let slot = per.entry(host.clone()).or_default();
                    let old = self
                        .originated
                        .remove(&(host.clone(), instance.clone(), route.prefix))
                        .unwrap_or_default();
                    let (IpAddr::V4(nh4), Some(index)) = (vrouter.address, cfg.index) else {
                        self.skipped += 1;
                        slot.1.extend(old);
                        continue;
                    };
                    let rd = Rd::Ip(nh4, index);
                    scratch.clear();
                    scratch.extend(cfg.export.iter().copied());
                    for e in route.encaps.iter().filter_map(tunnel) {
                        scratch.push(ExtCommunity::encapsulation(e));
                    }
                    let attrs = match &self.last_attrs {
                        Some(a)
                            if a.next_hop == Some(vrouter.address)
                                && a.ext_communities == scratch =>
                        {
                            a.clone()
                        }
                        _ => {
                            let a = Arc::new(PathAttrs {
                                next_hop: Some(vrouter.address),
                                ext_communities: scratch.clone(),
                                local_pref: Some(100),
                                ..Default::default()
                            });
                            self.last_attrs = Some(a.clone());
                            a
                        }
                    };
                    let mut keys = Vec::with_capacity(2);
                    let vpn = match (route.prefix.addr, route.label) {
                        (_, 0) => None,
                        (IpAddr::V4(a), _) => ipnet::Ipv4Net::new(a, route.prefix.len)
                            .ok()
                            .map(|prefix| Nlri::InetVpn { rd, prefix }),
                        (IpAddr::V6(a), _) => ipnet::Ipv6Net::new(a, route.prefix.len)
                            .ok()
                            .map(|prefix| Nlri::Inet6Vpn { rd, prefix }),
                    };
                    if let Some(k) = vpn {
                        slot.0.push(VpnRoute {
                            key: k.clone(),
                            labels: Labels::one(Label::mpls(route.label)),
                            attrs: attrs.clone(),
                        });
                        keys.push(k);
                    }
                    let host_route =
                        route.prefix.len == if route.prefix.addr.is_ipv4() { 32 } else { 128 };
                    if cfg.l2
                        && host_route
                        && route.vni != 0
                        && let Some(mac) = route.mac
                    {
                        let k = Nlri::evpn(EvpnRoute::MacIp {
                            rd,
                            esi: [0; 10],
                            tag: 0,
                            mac,
                            ip: Some(route.prefix.addr),
                        });
                        slot.0.push(VpnRoute {
                            key: k.clone(),
                            labels: Labels::one(Label::vni(route.vni)),
                            attrs: attrs.clone(),
                        });
                        keys.push(k);
                    }
                    slot.1.extend(old.into_iter().filter(|o| !keys.contains(o)));
                    self.originated.insert((host, instance, route.prefix), keys);
                }
            }
        }
        per.into_iter()
            .map(|(host, (a, w))| {
                let o = self
                    .owners
                    .entry(host.clone())
                    .or_insert_with(|| Arc::new(owner(&host)))
                    .clone();
                (o, a, w)
            })
            .collect()
    }
}

/// A BGP instance path as the route server keeps it; `None` for keys vrouters do not take
/// (e-vpn) or paths without a usable next hop.
pub fn from_feed(c: InstanceRouteChange) -> Option<BgpChange> {
    let prefix = match &c.key {
        Nlri::Inet(p) => Prefix::new(IpAddr::V4(p.network()), p.prefix_len()).ok()?,
        Nlri::Inet6(p) => Prefix::new(IpAddr::V6(p.network()), p.prefix_len()).ok()?,
        _ => return None,
    };
    let paths = c
        .paths
        .iter()
        .filter_map(|p| {
            let mut encaps = Encaps::default();
            for e in &p.ext_communities {
                if let ExtCommunityKind::Encapsulation(t) = e.kind() {
                    encaps.push(match t {
                        TunnelType::MplsInUdp | TunnelType::ContrailUdp => {
                            pb::Encapsulation::MplsOverUdp
                        }
                        TunnelType::Gre | TunnelType::MplsInGre => pb::Encapsulation::MplsOverGre,
                        TunnelType::Vxlan => pb::Encapsulation::Vxlan,
                        TunnelType::Other(_) => continue,
                    });
                }
            }
            if encaps.is_empty() {
                encaps = Encaps::GRE;
            }
            Some(BgpPath {
                next_hop: p.next_hop?,
                label: p.labels.first.map_or(0, |l| l.mpls_value()),
                vni: 0,
                encaps,
                origin: format!("bgp:{}", p.peer).into(),
            })
        })
        .collect();
    Some(BgpChange {
        instance: c.instance,
        prefix,
        paths,
    })
}

/// Runs the bridge: batches from the hub go to the speaker; the speaker's instance feed goes
/// to `to_hub`.
pub fn spawn(
    speaker: Speaker,
    mut ops: mpsc::UnboundedReceiver<Vec<BgpOp>>,
    to_hub: impl Fn(Vec<BgpChange>) -> bool + Send + 'static,
) -> Vec<JoinHandle<()>> {
    let s = speaker.clone();
    let out = tokio::spawn(async move {
        let mut bridge = Bridge::new();
        while let Some(first) = ops.recv().await {
            let mut all = first;
            while let Ok(more) = ops.try_recv() {
                all.extend(more);
            }
            for (owner, announce, withdraw) in bridge.plan(all) {
                if let Err(e) = s.vpn_routes(owner, announce, withdraw).await {
                    tracing::warn!(error = %e, "bgp speaker refused vrouter routes");
                    if matches!(e, cirrus_bgp::speaker::SpeakerError::Stopped) {
                        return;
                    }
                }
            }
        }
    });
    let feed = match speaker.instance_feed() {
        Ok(mut rx) => tokio::spawn(async move {
            while let Some(changes) = rx.recv().await {
                let c: Vec<BgpChange> = changes.into_iter().filter_map(from_feed).collect();
                if !c.is_empty() && !to_hub(c) {
                    return;
                }
            }
        }),
        Err(_) => tokio::spawn(async {}),
    };
    vec![out, feed]
}
