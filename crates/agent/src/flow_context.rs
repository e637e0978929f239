//! The snapshot flow setup reads: local ports with their compiled rules (network ACL,
//! security groups, firewall policies), floating IPs, the addresses they own per VRF, and
//! per VRF what is known of every routed address (origin network, security-group ids,
//! tags). Rebuilt on every config or route change and swapped in whole, so the agent
//! thread deciding flows never waits on the control side.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use cirrus_dataplane::hash::FastMap;
use cirrus_dataplane::tables::IfIndex;
use cirrus_dataplane::wire::MacAddr;
use cirrus_proto::convert::Prefix;

use crate::config::firewall::{firewall_policy, port_policies};
use crate::config::port::FipDirection;
use crate::config::security::{acl_entries, security_group};
use crate::config::{ConfigStore, network::Network};
use crate::policy::{Acl, FwPolicy, NameId, Names, PortRules};
use crate::program::LocalPort;
use crate::routes::Route;

/// What is known of the address behind a route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddrInfo {
    pub networks: Vec<NameId>,
    pub security_groups: Vec<u32>,
    /// Sorted.
    pub tags: Vec<u32>,
}

/// Routes of one VRF for lookups by address: one hash map per prefix length in use,
/// longest first.
#[derive(Debug, Clone, Default)]
pub struct RouteInfo {
    lens: Vec<u8>,
    map: FastMap<(u8, IpAddr), (Arc<AddrInfo>, Option<IfIndex>)>,
}

impl RouteInfo {
    /// Adds a route; `local` names the local port when that is its only path (a route
    /// leaked from another network to a port of this vrouter).
    pub fn insert(&mut self, p: Prefix, info: Arc<AddrInfo>, local: Option<IfIndex>) {
        if !self.lens.contains(&p.len) {
            self.lens.push(p.len);
            self.lens.sort_unstable_by(|a, b| b.cmp(a));
        }
        self.map.insert((p.len, p.addr), (info, local));
    }

    /// Longest-prefix match.
    pub fn lookup(&self, a: IpAddr) -> Option<&Arc<AddrInfo>> {
        self.lookup_local(a).map(|(i, _)| i)
    }

    /// Longest-prefix match with the local port behind it, if any.
    pub fn lookup_local(&self, a: IpAddr) -> Option<(&Arc<AddrInfo>, Option<IfIndex>)> {
        let max = if a.is_ipv4() { 32 } else { 128 };
        self.lens.iter().filter(|l| **l <= max).find_map(|&l| {
            let m = crate::config::prefix_masked(a, l)?;
            self.map.get(&(l, m.addr)).map(|(i, p)| (i, *p))
        })
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// A floating IP of a local port.
#[derive(Debug, Clone)]
pub struct FipCtx {
    pub addr: IpAddr,
    pub fixed: IpAddr,
    pub vrf: u16,
    pub network: NameId,
    pub direction: FipDirection,
    /// The floating network's ACL (policy of translated flows).
    pub network_acl: Option<Arc<Acl>>,
}

/// A local port as flow setup sees it.
#[derive(Debug, Clone)]
pub struct PortCtx {
    pub ifindex: IfIndex,
    pub uuid: String,
    /// Its MPLS label (what flows from the fabric to it arrive with).
    pub label: u32,
    pub mac: MacAddr,
    pub vrf: u16,
    pub info: Arc<AddrInfo>,
    pub rules: PortRules,
    pub fips: Vec<FipCtx>,
    /// Gateway and DNS addresses of the port's subnets.
    pub services: Vec<IpAddr>,
    /// Source MAC checked (port security on).
    pub check_mac: bool,
}

/// What a local address in a VRF is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalAddr {
    /// The port's own address.
    Own(IfIndex),
    /// A floating IP of the port (index into its `fips`).
    Floating(IfIndex, usize),
}

/// The whole snapshot.
#[derive(Debug, Clone, Default)]
pub struct FlowContext {
    pub names: Names,
    pub ports: FastMap<IfIndex, PortCtx>,
    pub by_label: FastMap<u32, IfIndex>,
    pub by_vni: FastMap<u32, u16>,
    pub local: FastMap<(u16, IpAddr), LocalAddr>,
    pub vrfs: FastMap<u16, RouteInfo>,
    pub fabric_ifindex: IfIndex,
    /// Bumped per rebuild (flows decided on an older one may need re-evaluation).
    pub generation: u64,
    /// What rule ids name (for `trace`).
    pub rule_names: Arc<crate::trace::RuleNames>,
}

/// What the snapshot is built from.
pub struct ContextInputs<'a> {
    pub store: &'a ConfigStore,
    pub ports: &'a [LocalPort],
    pub networks: &'a HashMap<String, Network>,
    /// Routing instance -> VRF id, as programmed.
    pub vrfs: &'a BTreeMap<String, u16>,
    pub routes: &'a BTreeMap<String, BTreeMap<Prefix, Route>>,
    pub fabric_ifindex: IfIndex,
    /// This vrouter's tunnel endpoint (its own paths in routes are local ports).
    pub underlay: std::net::Ipv4Addr,
    pub generation: u64,
}

/// What policy needs of a route: origin network, security groups, tags.
type RouteKind<'a> = (&'a str, &'a [u32], &'a [u32]);

/// Compiles ACLs once per uuid.
struct Compiler<'a> {
    store: &'a ConfigStore,
    names: Names,
    acls: HashMap<String, Arc<Acl>>,
    fw: HashMap<String, Arc<FwPolicy>>,
}

impl Compiler<'_> {
    fn acl(&mut self, uuid: &str) -> Option<Arc<Acl>> {
        if let Some(a) = self.acls.get(uuid) {
            return Some(a.clone());
        }
        match acl_entries(self.store, uuid) {
            Ok(e) => {
                let a = Arc::new(Acl::compile(uuid, &e, &mut self.names));
                self.acls.insert(uuid.to_string(), a.clone());
                Some(a)
            }
            Err(e) => {
                tracing::warn!(error = %e, "ACL not usable");
                None
            }
        }
    }

    fn firewall(&mut self, uuid: &str) -> Option<Arc<FwPolicy>> {
        if let Some(a) = self.fw.get(uuid) {
            return Some(a.clone());
        }
        match firewall_policy(self.store, uuid) {
            Ok((p, bad)) => {
                for e in bad {
                    tracing::warn!(error = %e, "firewall rule left out");
                }
                let c = Arc::new(FwPolicy::compile(&p, &mut self.names));
                self.fw.insert(uuid.to_string(), c.clone());
                Some(c)
            }
            Err(e) => {
                tracing::warn!(error = %e, "firewall policy not usable");
                None
            }
        }
    }
}

/// Builds the snapshot.
pub fn build(inp: &ContextInputs<'_>) -> FlowContext {
    let mut c = Compiler {
        store: inp.store,
        names: Names::default(),
        acls: HashMap::new(),
        fw: HashMap::new(),
    };
    let mut ctx = FlowContext {
        fabric_ifindex: inp.fabric_ifindex,
        generation: inp.generation,
        rule_names: Arc::new(crate::trace::rule_names(inp.store)),
        ..FlowContext::default()
    };
    let vrf_of = |n: &Network| inp.vrfs.get(&n.instance).copied();

    let labels: HashMap<u32, IfIndex> = inp
        .ports
        .iter()
        .filter(|p| p.enabled)
        .map(|p| (p.label, p.ifindex))
        .collect();
    // Remote addresses first; local ports override. Routes mostly share what policy needs
    // of them (a network's addresses, one group): one `AddrInfo` per distinct kind.
    let mut kinds: FastMap<RouteKind<'_>, Arc<AddrInfo>> = FastMap::default();
    for (instance, routes) in inp.routes {
        let Some(&vrf) = inp.vrfs.get(instance) else {
            continue;
        };
        let table = ctx.vrfs.entry(vrf).or_default();
        for (p, r) in routes {
            let info = kinds
                .entry((r.origin_network.as_str(), &r.security_groups, &r.tags))
                .or_insert_with(|| {
                    let mut tags = r.tags.clone();
                    tags.sort_unstable();
                    Arc::new(AddrInfo {
                        networks: if r.origin_network.is_empty() {
                            Vec::new()
                        } else {
                            vec![c.names.intern(&r.origin_network)]
                        },
                        security_groups: r.security_groups.clone(),
                        tags,
                    })
                })
                .clone();
            let local = match r.nexthops.as_slice() {
                [n] if n.address == inp.underlay => labels.get(&n.label).copied(),
                _ => None,
            };
            table.insert(*p, info, local);
        }
    }
    for n in inp.networks.values() {
        if let Some(v) = vrf_of(n)
            && n.vni > 0
        {
            ctx.by_vni.insert(n.vni, v);
        }
    }

    for lp in inp.ports {
        let Some(vrf) = vrf_of(&lp.network) else {
            continue;
        };
        let port = &lp.port;
        let mut sg_ids = Vec::new();
        let mut ingress = Vec::new();
        let mut egress = Vec::new();
        let mut any_acl = false;
        for sg in &port.security_groups {
            let Ok(g) = security_group(inp.store, sg) else {
                tracing::debug!(port = %port.uuid, sg, "security group not in the slice");
                continue;
            };
            sg_ids.push(g.id);
            if let Some(a) = g.ingress_acl.as_deref().and_then(|u| c.acl(u)) {
                ingress.push(a);
                any_acl = true;
            }
            if let Some(a) = g.egress_acl.as_deref().and_then(|u| c.acl(u)) {
                egress.push(a);
                any_acl = true;
            }
        }
        let sg_on = port.port_security && lp.network.port_security && any_acl;
        let fw: Vec<Arc<FwPolicy>> = port_policies(inp.store, port)
            .iter()
            .filter_map(|u| c.firewall(u))
            .collect();
        let network_acl = lp.network.acl.as_deref().and_then(|u| c.acl(u));
        let info = Arc::new(AddrInfo {
            networks: vec![c.names.intern(&lp.network.fq_name)],
            security_groups: sg_ids,
            tags: port.tags.clone(),
        });
        let mut fips = Vec::new();
        for f in &port.floating_ips {
            let (Some(n), Some(fixed)) = (inp.networks.get(&f.network), f.fixed_ip) else {
                continue;
            };
            let Some(fv) = vrf_of(n) else { continue };
            let fip_acl = n.acl.as_deref().and_then(|u| c.acl(u));
            let network = c.names.intern(&n.fq_name);
            ctx.local
                .insert((fv, f.addr), LocalAddr::Floating(lp.ifindex, fips.len()));
            ctx.vrfs.entry(fv).or_default().insert(
                Prefix::host(f.addr),
                Arc::new(AddrInfo {
                    networks: vec![network],
                    ..(*info).clone()
                }),
                Some(lp.ifindex),
            );
            fips.push(FipCtx {
                addr: f.addr,
                fixed,
                vrf: fv,
                network,
                direction: f.direction,
                network_acl: fip_acl,
            });
        }
        let table = ctx.vrfs.entry(vrf).or_default();
        for a in port.own_addresses() {
            table.insert(Prefix::host(a), info.clone(), Some(lp.ifindex));
            ctx.local.insert((vrf, a), LocalAddr::Own(lp.ifindex));
        }
        for p in &port.allowed_pairs {
            // A pair's prefix may be carried by other ports too (ECMP): not one port's.
            if !table.map.contains_key(&(p.prefix.len, p.prefix.addr)) {
                table.insert(p.prefix, info.clone(), None);
            }
        }
        let services = lp
            .network
            .subnets
            .iter()
            .flat_map(|s| [s.gateway, s.dns_server])
            .flatten()
            .collect();
        if lp.enabled {
            ctx.by_label.insert(lp.label, lp.ifindex);
        }
        ctx.ports.insert(
            lp.ifindex,
            PortCtx {
                ifindex: lp.ifindex,
                uuid: port.uuid.clone(),
                label: lp.label,
                mac: port.mac,
                vrf,
                info,
                rules: PortRules {
                    network_acl,
                    sg_ingress: sg_on.then(|| ingress.clone()),
                    sg_egress: sg_on.then_some(egress),
                    firewall: (!fw.is_empty()).then_some(fw),
                },
                fips,
                services,
                check_mac: port.port_security,
            },
        );
    }
    ctx.names = c.names;
    ctx
}
