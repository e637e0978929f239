//! Pure functions from a config snapshot (the API's [`Index`]) to what the BGP speaker should
//! run, read the way Contrail's control node reads it:
//!
//! - this node is the bgp-router `default-domain:default-project:ip-fabric:__default__:<hostname>`;
//!   its `bgp_router_parameters` give the address, port, router id, hold time and cluster id;
//! - the local ASN is its `local_autonomous_system`, else its `autonomous_system`, else the
//!   `autonomous_system` of `default-global-system-config`;
//! - peers are the bgp-routers joined to it by a bgp-router ref in either direction (Contrail's
//!   links are symmetric), plus, while the global `ibgp_auto_mesh` is on (its default), every
//!   other control-node bgp-router in the fabric instance; the ref's `BgpPeeringAttributes`
//!   give the session's families, hold time, TCP-MD5 key, passive and admin-down flags;
//! - every routing instance but the fabric's default one becomes a speaker instance named by its
//!   fq_name, with targets from its route-target refs (`import_export` import, export or both),
//!   its virtual network's `route_target_list` (both), `import_route_target_list` and
//!   `export_route_target_list`, and the export targets of the instances it connects to.
//!
//! Nothing here does I/O: a bad object becomes a warning in [`Desired::warnings`] and is left
//! out, so one typo never stops the whole control node.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use cirrus_api::index::Index;
use cirrus_api::object::Obj;
use cirrus_bgp::ext_community::ExtCommunity;
use cirrus_bgp::rib::InstanceConfig;
use cirrus_bgp::speaker::{PeerConfig, RouterType, SpeakerConfig};
use cirrus_bgp::types::{Family, Rd};
use serde_json::Value;

/// Contrail's default routing instance (the fabric's), parent of every bgp-router.
pub const FABRIC_INSTANCE: &str = "default-domain:default-project:ip-fabric:__default__";
pub const GLOBAL_SYSTEM_CONFIG: &str = "default-global-system-config";
/// The ASN when not even the global-system-config has one (Contrail's default).
pub const DEFAULT_ASN: u32 = 64512;
pub const DEFAULT_PORT: u16 = 179;

/// The fq_name (colon-joined) of the bgp-router a control node named `hostname` runs as.
pub fn own_router_fq_name(hostname: &str) -> String {
    format!("{FABRIC_INSTANCE}:{hostname}")
}

/// Everything the speaker should be running for one config snapshot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Desired {
    /// `None` while this node's own bgp-router is missing or unusable (see the warnings).
    pub speaker: Option<SpeakerConfig>,
    /// Routing instances by fq_name.
    pub instances: BTreeMap<String, InstanceConfig>,
    /// Objects left out and why, for the log.
    pub warnings: Vec<String>,
}

/// The speaker configuration and instances for the control node named `hostname`.
pub fn derive(index: &Index, hostname: &str) -> Desired {
    let mut warnings = Vec::new();
    let own_fq = own_router_fq_name(hostname);
    let speaker = match index.by_fq_name("bgp-router", &own_fq) {
        Some(own) => speaker_config(index, own, &mut warnings),
        None => {
            warnings.push(format!("bgp-router {own_fq} does not exist"));
            None
        }
    };
    let router_id = speaker.as_ref().map(|s| s.router_id);
    let instances = instances(index, router_id, &mut warnings);
    Desired {
        speaker,
        instances,
        warnings,
    }
}

/// The speaker configuration alone (its peers included), without the routing instances: what
/// the analytics UVEs read each few seconds.
pub fn speaker(index: &Index, hostname: &str) -> Option<SpeakerConfig> {
    let own = index.by_fq_name("bgp-router", &own_router_fq_name(hostname))?;
    speaker_config(index, own, &mut Vec::new())
}

// ---- small readers of JSON bodies ----

fn params(o: &Obj) -> &Value {
    o.body.get("bgp_router_parameters").unwrap_or(&Value::Null)
}

fn uint(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn global_config(index: &Index) -> Option<&Arc<Obj>> {
    index.by_fq_name("global-system-config", GLOBAL_SYSTEM_CONFIG)
}

/// The global ASN (`default-global-system-config`'s `autonomous_system`).
pub fn global_asn(index: &Index) -> u32 {
    global_config(index)
        .and_then(|g| g.body.get("autonomous_system"))
        .and_then(Value::as_u64)
        .and_then(|a| u32::try_from(a).ok())
        .unwrap_or(DEFAULT_ASN)
}

/// A bgp-router's ASN: `local_autonomous_system`, else `autonomous_system`, else the global one.
fn router_asn(p: &Value, global: u32) -> u32 {
    ["local_autonomous_system", "autonomous_system"]
        .iter()
        .filter_map(|k| uint(p, k))
        .filter_map(|a| u32::try_from(a).ok())
        .find(|a| *a != 0)
        .unwrap_or(global)
}

/// `router_type`; unset means a control node when the vendor is contrail, else a router.
fn router_type(p: &Value) -> Result<RouterType, String> {
    match text(p, "router_type") {
        Some("control-node") => Ok(RouterType::ControlNode),
        Some("router") => Ok(RouterType::Router),
        Some("external-control-node") => Ok(RouterType::ExternalControlNode),
        Some(other) => Err(format!("router_type {other} is not supported")),
        None if text(p, "vendor").is_some_and(|v| v.eq_ignore_ascii_case("contrail")) => {
            Ok(RouterType::ControlNode)
        }
        None => Ok(RouterType::Router),
    }
}

/// The first key of an `AuthenticationData` (`{key_type: md5, key_items: [{key_id, key}]}`).
fn md5_key(auth: Option<&Value>) -> Option<String> {
    let auth = auth?;
    if text(auth, "key_type").is_some_and(|t| t != "md5") {
        return None;
    }
    auth.get("key_items")?
        .as_array()?
        .iter()
        .find_map(|k| text(k, "key"))
        .map(str::to_string)
}

/// A positive hold time that fits the wire (0 means "the default" in Contrail's config).
fn hold_time(v: &Value) -> Option<u16> {
    uint(v, "hold_time")
        .filter(|h| *h > 0)
        .and_then(|h| u16::try_from(h).ok())
}

// ---- the speaker ----

fn speaker_config(index: &Index, own: &Obj, warnings: &mut Vec<String>) -> Option<SpeakerConfig> {
    let what = format!("bgp-router {}", own.fq_str);
    let p = params(own);
    let Some(address) = text(p, "address").and_then(|a| a.parse::<IpAddr>().ok()) else {
        warnings.push(format!(
            "{what}: bgp_router_parameters.address is missing or bad"
        ));
        return None;
    };
    let port = port_of(p);
    let router_id = match text(p, "identifier").and_then(|a| a.parse::<Ipv4Addr>().ok()) {
        Some(id) => id,
        None => match address {
            IpAddr::V4(a) => a,
            IpAddr::V6(_) => {
                warnings.push(format!(
                    "{what}: an IPv6 address needs an IPv4 bgp_router_parameters.identifier"
                ));
                return None;
            }
        },
    };
    let global = global_asn(index);
    let mut cfg = SpeakerConfig::new(
        router_id,
        router_asn(p, global),
        SocketAddr::new(address, port),
    );
    if let Some(h) = hold_time(p) {
        cfg.hold_time = h;
    }
    cfg.cluster_id = uint(p, "cluster_id")
        .filter(|c| *c != 0)
        .and_then(|c| u32::try_from(c).ok())
        .map(Ipv4Addr::from);
    if let Some(gr) = global_config(index).and_then(|g| g.body.get("graceful_restart_parameters"))
        && gr.is_object()
    {
        if flag(gr, "enable") {
            cfg.graceful_restart = Some(
                uint(gr, "restart_time")
                    .and_then(|t| u16::try_from(t).ok())
                    .unwrap_or(300),
            );
            cfg.llgr_stale_time = uint(gr, "long_lived_restart_time")
                .filter(|t| *t > 0)
                .and_then(|t| u32::try_from(t).ok());
        } else {
            cfg.graceful_restart = None;
            cfg.llgr_stale_time = None;
        }
    }
    cfg.peers = peers(index, own, &cfg, warnings);
    Some(cfg)
}

fn port_of(p: &Value) -> u16 {
    uint(p, "port")
        .filter(|p| *p != 0)
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(DEFAULT_PORT)
}

/// Whether the global `ibgp_auto_mesh` is on (Contrail's default: yes).
fn auto_mesh(index: &Index) -> bool {
    global_config(index)
        .and_then(|g| g.body.get("ibgp_auto_mesh"))
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// The bgp-routers this one peers with, each with the attributes of the ref joining them
/// (`None` for an auto-mesh peer without a ref). Own refs win over the peer's refs to us.
fn candidates<'a>(
    index: &'a Index,
    own: &'a Obj,
) -> BTreeMap<String, (&'a Obj, Option<&'a Value>)> {
    let mut out: BTreeMap<String, (&Obj, Option<&Value>)> = BTreeMap::new();
    for r in own.refs().filter(|r| r.to_type == "bgp-router") {
        if let Some(peer) = index.get_typed("bgp-router", r.uuid) {
            out.insert(peer.fq_str.clone(), (peer.as_ref(), Some(r.attr)));
        }
    }
    for b in index.back_refs(&own.uuid) {
        if b.type_name() != "bgp-router" {
            continue;
        }
        let attr = b.refs().find(|r| r.uuid == own.uuid).map(|r| r.attr);
        out.entry(b.fq_str.clone()).or_insert((b.as_ref(), attr));
    }
    let own_is_control = router_type(params(own)) == Ok(RouterType::ControlNode);
    if own_is_control && auto_mesh(index) {
        for o in index.of_type("bgp-router") {
            let in_fabric = o.fq_name.len() == 5 && o.fq_name[..4].join(":") == FABRIC_INSTANCE;
            if o.uuid != own.uuid
                && in_fabric
                && router_type(params(o)) == Ok(RouterType::ControlNode)
            {
                out.entry(o.fq_str.clone()).or_insert((o.as_ref(), None));
            }
        }
    }
    out
}

/// The session attributes of a ref's `BgpPeeringAttributes` that apply to `own`: the entry
/// naming it in `bgp_router`, else one naming no side (Contrail's "both ends").
fn session_attrs<'a>(attr: Option<&'a Value>, own: &Obj) -> &'a Value {
    static NULL: Value = Value::Null;
    let Some(list) = attr
        .and_then(|a| a.pointer("/session/0/attributes"))
        .and_then(Value::as_array)
    else {
        return &NULL;
    };
    list.iter()
        .find(|a| text(a, "bgp_router") == Some(own.name()))
        .or_else(|| list.iter().find(|a| text(a, "bgp_router").is_none()))
        .or_else(|| list.first())
        .unwrap_or(&NULL)
}

/// Contrail family names to the speaker's; names it does not speak (erm-vpn, inet-mvpn,
/// inet-labeled) are reported and dropped.
fn families(v: &Value, what: &str, warnings: &mut Vec<String>) -> Vec<Family> {
    let mut out = Vec::new();
    for name in v
        .pointer("/address_families/family")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        match Family::from_str(name) {
            Ok(f) if !out.contains(&f) => out.push(f),
            Ok(_) => {}
            Err(_) => warnings.push(format!("{what}: address family {name} is not supported")),
        }
    }
    out
}

fn peers(
    index: &Index,
    own: &Obj,
    cfg: &SpeakerConfig,
    warnings: &mut Vec<String>,
) -> Vec<PeerConfig> {
    let own_p = params(own);
    let global = global_asn(index);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (fq, (peer, attr)) in candidates(index, own) {
        let what = format!("bgp-router {fq}");
        let p = params(peer);
        let Some(address) = text(p, "address").and_then(|a| a.parse::<IpAddr>().ok()) else {
            warnings.push(format!(
                "{what}: bgp_router_parameters.address is missing or bad"
            ));
            continue;
        };
        let port = port_of(p);
        if SocketAddr::new(address, port) == cfg.listen {
            warnings.push(format!(
                "{what}: has this node's own address {address}:{port}"
            ));
            continue;
        }
        let kind = match router_type(p) {
            Ok(k) => k,
            Err(e) => {
                warnings.push(format!("{what}: {e}"));
                continue;
            }
        };
        let sa = session_attrs(attr, own);
        if flag(p, "admin_down") || flag(sa, "admin_down") {
            continue;
        }
        if !seen.insert(address) {
            warnings.push(format!(
                "{what}: another peer already has address {address}"
            ));
            continue;
        }
        let mut pc = PeerConfig::new(address, router_asn(p, global));
        pc.port = port;
        pc.router_type = kind;
        let fams = match families(sa, &what, warnings) {
            f if !f.is_empty() => f,
            _ => families(p, &what, warnings),
        };
        if !fams.is_empty() {
            pc.families = fams;
        }
        pc.hold_time = hold_time(sa).or_else(|| hold_time(p));
        pc.md5_key = md5_key(sa.get("auth_data"))
            .or_else(|| md5_key(p.get("auth_data")))
            .or_else(|| md5_key(own_p.get("auth_data")));
        pc.passive = flag(sa, "passive");
        // With a cluster id this node reflects for the iBGP routers it peers with.
        pc.rr_client =
            cfg.cluster_id.is_some() && kind != RouterType::ControlNode && pc.asn == cfg.asn;
        out.push(pc);
    }
    out.sort_by_key(|p| p.address);
    out
}

// ---- routing instances ----

#[derive(Default)]
struct Targets {
    import: BTreeSet<ExtCommunity>,
    export: BTreeSet<ExtCommunity>,
}

impl Targets {
    fn add(&mut self, rt: ExtCommunity, import: bool, export: bool) {
        if import {
            self.import.insert(rt);
        }
        if export {
            self.export.insert(rt);
        }
    }
}

fn parse_target(s: &str, what: &str, warnings: &mut Vec<String>) -> Option<ExtCommunity> {
    match ExtCommunity::from_str(s) {
        Ok(rt) => Some(rt),
        Err(e) => {
            warnings.push(format!("{what}: {e}"));
            None
        }
    }
}

/// The `route_target` strings of a `RouteTargetList` property.
fn target_list<'a>(body: &'a serde_json::Map<String, Value>, prop: &str) -> Vec<&'a str> {
    body.get(prop)
        .and_then(|l| l.get("route_target"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn instance_targets(index: &Index, ri: &Obj, warnings: &mut Vec<String>) -> Targets {
    let mut t = Targets::default();
    let what = format!("routing-instance {}", ri.fq_str);
    for r in ri.refs().filter(|r| r.to_type == "route-target") {
        let Some(name) = index.get(r.uuid).map(|o| o.name().to_string()) else {
            continue;
        };
        let (import, export) = match r.attr.get("import_export").and_then(Value::as_str) {
            Some("import") => (true, false),
            Some("export") => (false, true),
            _ => (true, true),
        };
        if let Some(rt) = parse_target(&name, &what, warnings) {
            t.add(rt, import, export);
        }
    }
    let vn = ri
        .parent
        .as_ref()
        .and_then(|p| index.get_typed("virtual-network", &p.uuid));
    if let Some(vn) = vn {
        let what = format!("virtual-network {}", vn.fq_str);
        for (prop, import, export) in [
            ("route_target_list", true, true),
            ("import_route_target_list", true, false),
            ("export_route_target_list", false, true),
        ] {
            for s in target_list(&vn.body, prop) {
                if let Some(rt) = parse_target(s, &what, warnings) {
                    t.add(rt, import, export);
                }
            }
        }
    }
    t
}

/// The RD for routes this node originates in an instance: `router-id:<VN id>`, Contrail's form.
fn instance_rd(index: &Index, ri: &Obj, router_id: Option<Ipv4Addr>) -> Option<Rd> {
    let vn = index.get_typed("virtual-network", &ri.parent.as_ref()?.uuid)?;
    let id = vn.body.get("virtual_network_network_id")?.as_u64()?;
    Some(Rd::Ip(router_id?, u16::try_from(id).ok()?))
}

/// The fabric's instance, which carries no VPN routes. (`routing_instance_is_default` marks
/// every network's primary instance in Contrail, so it says nothing here.)
fn is_default_instance(ri: &Obj) -> bool {
    ri.fq_str == FABRIC_INSTANCE
}

fn instances(
    index: &Index,
    router_id: Option<Ipv4Addr>,
    warnings: &mut Vec<String>,
) -> BTreeMap<String, InstanceConfig> {
    let ris: Vec<&Arc<Obj>> = index
        .of_type("routing-instance")
        .filter(|ri| !is_default_instance(ri))
        .collect();
    let own: BTreeMap<&str, Targets> = ris
        .iter()
        .map(|ri| (ri.uuid.as_str(), instance_targets(index, ri, warnings)))
        .collect();
    let mut out = BTreeMap::new();
    for ri in &ris {
        let t = &own[ri.uuid.as_str()];
        let mut import = t.import.clone();
        // An instance imports what the instances it connects to export.
        for r in ri.refs().filter(|r| r.to_type == "routing-instance") {
            if let Some(other) = own.get(r.uuid) {
                import.extend(other.export.iter().copied());
            }
        }
        out.insert(
            ri.fq_str.clone(),
            InstanceConfig {
                rd: instance_rd(index, ri, router_id),
                import_targets: import.into_iter().collect(),
                export_targets: t.export.iter().copied().collect(),
            },
        );
    }
    out
}

#[cfg(test)]
#[path = "bgp_config_tests.rs"]
mod tests;
