//! The services wired to ports: each port's [`PortView`] built from its config (instance
//! IPs, the subnet's gateway, service address, DNS servers, host routes and options of the
//! port, subnet and IPAM), and the runner's trapped frames answered with
//! [`crate::trap::handle`]. ARP for another address of the network is answered with the
//! vrouter's MAC when the port's VRF has a route to it (Contrail's proxy ARP). Frames
//! routed to the agent's own addresses (ping of the gateway) name their port by their
//! source MAC.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use cirrus_dataplane::hash::FastMap;
use cirrus_dataplane::pipeline::TrapReason;
use cirrus_dataplane::tables::IfIndex;
use cirrus_dataplane::wire::{EthernetFrame, MacAddr};

use crate::config::network::{DhcpOption, Network, Subnet};
use crate::config::schema::IpamType;
use crate::config::{ConfigStore, parse_prefix};
use crate::derive::Derived;
use crate::flow_context::FlowContext;
use crate::pipeline_agent::WorkloadTraps;
use crate::program::VROUTER_MAC;
use crate::trap::{self, HostRoute, PortView, TrapContext, TrapStats};

/// Every port's view, with its VRF.
#[derive(Debug, Default, Clone)]
pub struct TrapViews {
    pub by_ifindex: FastMap<IfIndex, (PortView, u16)>,
    pub by_mac: FastMap<u64, IfIndex>,
}

/// The trap handler the runner calls.
pub struct Traps {
    pub views: ArcSwap<TrapViews>,
    pub ctx: Arc<ArcSwap<FlowContext>>,
    pub stats: Mutex<TrapStats>,
}

impl Traps {
    pub fn new(ctx: Arc<ArcSwap<FlowContext>>) -> Self {
        Self {
            views: ArcSwap::from_pointee(TrapViews::default()),
            ctx,
            stats: Mutex::new(TrapStats::default()),
        }
    }

    pub fn stats(&self) -> TrapStats {
        *self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl WorkloadTraps for Traps {
    fn trap(
        &self,
        ingress: Option<IfIndex>,
        reason: TrapReason,
        frame: &[u8],
    ) -> Vec<(IfIndex, Vec<u8>)> {
        let views = self.views.load();
        let ifindex = match ingress {
            Some(i) => i,
            None => {
                let Ok(e) = EthernetFrame::new_checked(frame) else {
                    return Vec::new();
                };
                match views.by_mac.get(&e.src_addr().to_u64()) {
                    Some(i) => *i,
                    None => return Vec::new(),
                }
            }
        };
        let Some((view, vrf)) = views.by_ifindex.get(&ifindex) else {
            return Vec::new();
        };
        let ctx = self.ctx.load();
        let vrf = *vrf;
        let resolve = |addr: IpAddr| -> Option<MacAddr> {
            ctx.vrfs.get(&vrf)?.lookup(addr).map(|_| view.vrouter_mac)
        };
        let t = trap::handle(
            view,
            reason,
            frame,
            &TrapContext {
                neighbors: &resolve,
            },
        );
        self.stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(&t.outcome);
        tracing::trace!(port = ifindex, ?reason, outcome = ?t.outcome, "trap");
        t.replies.into_iter().map(|f| (ifindex, f)).collect()
    }
}

fn v4(a: IpAddr) -> Option<Ipv4Addr> {
    match a {
        IpAddr::V4(a) => Some(a),
        _ => None,
    }
}

fn v6(a: IpAddr) -> Option<Ipv6Addr> {
    match a {
        IpAddr::V6(a) => Some(a),
        _ => None,
    }
}

fn option<'a>(opts: &'a [DhcpOption], names: &[&str]) -> Option<&'a str> {
    opts.iter()
        .rev()
        .find(|o| names.contains(&o.name.as_str()))
        .map(|o| o.value.as_str())
}

/// DNS servers the port's DHCP hands out (Contrail's `ipam_dns_method`: the service
/// address for the default or a virtual DNS, the tenant's servers, or none; a DNS option
/// (6) overrides).
fn dns_servers(store: &ConfigStore, s: &Subnet, opts: &[DhcpOption]) -> Vec<Ipv4Addr> {
    if let Some(v) = option(opts, &["6", "domain-name-servers"]) {
        return v
            .split([' ', ','])
            .filter_map(|a| a.trim().parse().ok())
            .collect();
    }
    let mgmt: IpamType = store
        .get(&s.ipam_uuid)
        .and_then(|o| o.prop_or_none("network_ipam_mgmt"))
        .unwrap_or_default();
    match mgmt.ipam_dns_method.as_deref() {
        Some("none") => Vec::new(),
        Some("tenant-dns-server") => mgmt
            .ipam_dns_server
            .and_then(|d| d.tenant_dns_server_address)
            .map(|l| l.ip_address.iter().filter_map(|a| a.parse().ok()).collect())
            .unwrap_or_default(),
        _ => s.dns_server.and_then(v4).into_iter().collect(),
    }
}

fn host_routes(port: &[crate::config::network::HostRoute], subnet: &Subnet) -> Vec<HostRoute> {
    let list = if port.is_empty() {
        &subnet.host_routes
    } else {
        port
    };
    list.iter()
        .filter_map(|r| {
            let IpAddr::V4(prefix) = r.prefix.addr else {
                return None;
            };
            Some(HostRoute {
                prefix,
                prefix_len: r.prefix.len,
                nexthop: v4(r.next_hop).filter(|a| !a.is_unspecified()),
            })
        })
        .collect()
}

/// The view of one port.
pub fn port_view(store: &ConfigStore, lp: &crate::program::LocalPort, net: &Network) -> PortView {
    let p = &lp.port;
    let mut view = PortView::new(lp.ifindex, p.mac, VROUTER_MAC);
    let ip4 = p
        .ips
        .iter()
        .find(|i| i.addr.is_ipv4() && !i.secondary)
        .or_else(|| p.ips.iter().find(|i| i.addr.is_ipv4()));
    let ip6 = p.ips.iter().find(|i| i.addr.is_ipv6());
    if let Some(ip) = ip4
        && let Some(s) = net.subnet_of(ip.addr)
    {
        let mut opts = s.dhcp_options.clone();
        opts.extend(p.dhcp_options.iter().cloned());
        view.ipv4 = v4(ip.addr).map(|a| (a, s.prefix.len));
        view.gateway4 = s.gateway.and_then(v4).filter(|a| !a.is_unspecified());
        view.service_address4 = s.dns_server.and_then(v4).filter(|a| !a.is_unspecified());
        view.dhcp_enabled = s.enable_dhcp;
        view.dns_servers4 = dns_servers(store, s, &opts);
        view.host_routes = host_routes(&p.host_routes, s);
        view.mtu = option(&opts, &["26", "interface-mtu"]).and_then(|m| m.trim().parse().ok());
        view.domain = option(&opts, &["15", "domain-name"]).map(str::to_string);
    }
    if let Some(ip) = ip6
        && let Some(s) = net.subnet_of(ip.addr)
    {
        view.ipv6 = v6(ip.addr).map(|a| (a, s.prefix.len));
        view.gateway6 = s.gateway.and_then(v6).filter(|a| !a.is_unspecified());
        view.service_address6 = s.dns_server.and_then(v6).filter(|a| !a.is_unspecified());
    }
    view.hostname = p.vm.as_deref().and_then(|vm| store.get(vm)).map(|o| {
        o.str_prop("display_name")
            .map(str::to_string)
            .unwrap_or_else(|| o.name().to_string())
    });
    view
}

/// The views of every local port.
pub fn build_views(
    store: &ConfigStore,
    derived: &Derived,
    vrf_of: impl Fn(&str) -> Option<u16>,
) -> TrapViews {
    let mut v = TrapViews::default();
    for lp in &derived.ports {
        let Some(vrf) = vrf_of(&lp.network.instance) else {
            continue;
        };
        v.by_mac.insert(lp.port.mac.to_u64(), lp.ifindex);
        v.by_ifindex
            .insert(lp.ifindex, (port_view(store, lp, &lp.network), vrf));
    }
    v
}

/// The prefix of a host route given as text (for tests).
pub fn host_route(prefix: &str, nexthop: Option<Ipv4Addr>) -> Option<HostRoute> {
    let p = parse_prefix(prefix)?;
    Some(HostRoute {
        prefix: v4(p.addr)?,
        prefix_len: p.len,
        nexthop,
    })
}
