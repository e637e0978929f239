//! Ports (virtual-machine-interfaces) as the agent sees them: MAC, network, addresses
//! (instance IPs, allowed address pairs, floating and alias IPs), security groups, tags
//! (the port's, else its network's, else its project's, per tag type), policy switches,
//! flow limit, DHCP options and host routes.

use std::collections::BTreeMap;
use std::net::IpAddr;

use cirrus_dataplane::wire::MacAddr;
use cirrus_proto::convert::Prefix;

use super::network::{DhcpOption, HostRoute, options_of, routes_of};
use super::schema::{
    AllowedAddressPairs, DhcpOptionsListType, FatFlowProtocols, KeyValuePairs, MacAddressesType,
    RouteTableType, VirtualMachineInterfacePropertiesType,
};
use super::{ConfigError, ConfigStore, Object, parse_mac, subnet_prefix};

/// An instance IP of a port.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InstanceIp {
    pub uuid: String,
    pub addr: IpAddr,
    /// The network the address belongs to (the instance IP's own network ref, else the
    /// port's).
    pub network: String,
    pub secondary: bool,
}

/// An allowed address pair: traffic from and to `prefix` is the port's too.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AllowedPair {
    #[serde(serialize_with = "crate::ser::display")]
    pub prefix: Prefix,
    #[serde(serialize_with = "crate::ser::opt_display")]
    pub mac: Option<MacAddr>,
    /// `active-active` (every port carrying it gets traffic, ECMP) rather than
    /// `active-standby`.
    pub active_active: bool,
}

/// Which way a floating IP translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum FipDirection {
    Both,
    /// Only connections towards the floating IP.
    Ingress,
    /// Only connections from the port.
    Egress,
}

/// A floating IP of a port: `addr` in `network` stands for the port's `fixed_ip`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FloatingIp {
    pub uuid: String,
    pub addr: IpAddr,
    /// The floating network (the pool's parent).
    pub network: String,
    /// The port address it maps to (`floating_ip_fixed_ip_address`, else the port's first
    /// instance IP of the same family).
    pub fixed_ip: Option<IpAddr>,
    pub direction: FipDirection,
}

/// An alias IP: an extra address of the port in another network (no translation).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AliasIp {
    pub uuid: String,
    pub addr: IpAddr,
    pub network: String,
}

/// A port.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Port {
    pub uuid: String,
    pub fq_name: String,
    #[serde(serialize_with = "crate::ser::display")]
    pub mac: MacAddr,
    /// Its network's uuid.
    pub network: String,
    pub ips: Vec<InstanceIp>,
    pub allowed_pairs: Vec<AllowedPair>,
    pub floating_ips: Vec<FloatingIp>,
    pub alias_ips: Vec<AliasIp>,
    /// Security-group uuids, in ref order.
    pub security_groups: Vec<String>,
    /// Tag ids (sorted), the port's own and those it inherits.
    pub tags: Vec<u32>,
    /// `!virtual_machine_interface_disable_policy`: flows (policy, SG, NAT) for this port.
    pub policy_enabled: bool,
    /// `port_security_enabled`: security groups apply.
    pub port_security: bool,
    /// Flow limit from the port's properties (0 = none; the network's applies then).
    pub max_flows: u32,
    pub vm: Option<String>,
    /// `virtual_machine_interface_bindings` `host_id`.
    pub host_id: Option<String>,
    pub dhcp_options: Vec<DhcpOption>,
    pub host_routes: Vec<HostRoute>,
    /// Fat-flow rules: (IP protocol, port).
    pub fat_flows: Vec<(u8, u16)>,
}

impl Port {
    /// Every address the port may send from and receive on in its own network (instance
    /// IPs and allowed-address-pair host addresses).
    pub fn own_addresses(&self) -> Vec<IpAddr> {
        let mut v: Vec<IpAddr> = self.ips.iter().map(|i| i.addr).collect();
        for p in &self.allowed_pairs {
            if p.prefix.len == if p.prefix.addr.is_ipv4() { 32 } else { 128 } {
                v.push(p.prefix.addr);
            }
        }
        v.sort();
        v.dedup();
        v
    }

    /// The first instance IP of a family (the default fixed IP of floating IPs).
    pub fn primary_ip(&self, v6: bool) -> Option<IpAddr> {
        self.ips
            .iter()
            .filter(|i| i.addr.is_ipv6() == v6)
            .find(|i| !i.secondary)
            .or_else(|| self.ips.iter().find(|i| i.addr.is_ipv6() == v6))
            .map(|i| i.addr)
    }
}

/// Tag id of a `tag` object (`tag_id`, a hex string in Contrail).
pub fn tag_id(o: &Object) -> Option<u32> {
    o.int_prop("tag_id").and_then(|v| u32::try_from(v).ok())
}

/// Tags of an object by tag type (id >> 16).
fn tags_by_type(store: &ConfigStore, o: &Object) -> BTreeMap<u32, Vec<u32>> {
    let mut m: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for t in store.ref_targets(o, "tag") {
        if let Some(id) = tag_id(t) {
            m.entry(id >> 16).or_default().push(id);
        }
    }
    m
}

/// The port's tags: per tag type the port's own, else its network's, else its project's
/// (labels, type 0, add up from all three), as Contrail's agent inherits them.
fn port_tags(store: &ConfigStore, o: &Object, vn: Option<&Object>) -> Vec<u32> {
    let own = tags_by_type(store, o);
    let net = vn.map(|v| tags_by_type(store, v)).unwrap_or_default();
    let project = vn
        .and_then(|v| store.parent(v))
        .or_else(|| store.parent(o).filter(|p| p.kind == "project"))
        .map(|p| tags_by_type(store, p))
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    for layer in [&project, &net, &own] {
        for (ty, ids) in layer {
            if *ty == 0 {
                out.entry(0).or_insert_with(Vec::new).extend(ids);
            } else {
                out.insert(*ty, ids.clone());
            }
        }
    }
    let mut v: Vec<u32> = out.into_values().flatten().collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn ip_network(store: &ConfigStore, ip: &Object, default: &str) -> String {
    ip.refs_to("virtual-network")
        .next()
        .map(|r| r.uuid.to_string())
        .filter(|u| store.get(u).is_some())
        .unwrap_or_else(|| default.to_string())
}

/// The port `uuid` as a typed view.
pub fn port(store: &ConfigStore, uuid: &str) -> Result<Port, ConfigError> {
    let o = store
        .get_kind("virtual-machine-interface", uuid)
        .ok_or_else(|| ConfigError::Missing {
            kind: "virtual-machine-interface".into(),
            uuid: uuid.into(),
        })?;
    port_of(store, o)
}

/// The typed view of a `virtual-machine-interface`.
pub fn port_of(store: &ConfigStore, o: &Object) -> Result<Port, ConfigError> {
    let what = || format!("virtual-machine-interface {}", o.uuid);
    let macs: MacAddressesType = o
        .prop("virtual_machine_interface_mac_addresses")?
        .unwrap_or_default();
    let mac = macs
        .mac_address
        .first()
        .and_then(|m| parse_mac(m))
        .ok_or_else(|| ConfigError::Property {
            object: what(),
            property: "virtual_machine_interface_mac_addresses".into(),
            why: "no valid MAC address".into(),
        })?;
    let network = o
        .refs_to("virtual-network")
        .next()
        .map(|r| r.uuid.to_string())
        .ok_or_else(|| ConfigError::Property {
            object: what(),
            property: "virtual_network_refs".into(),
            why: "the port has no network".into(),
        })?;
    let vn = store.get_kind("virtual-network", &network).map(|v| &**v);

    let mut ips = Vec::new();
    for ip in store.back_refs(&o.uuid, "instance-ip") {
        let Some(addr) = ip
            .str_prop("instance_ip_address")
            .and_then(|a| a.trim().parse().ok())
        else {
            continue;
        };
        ips.push(InstanceIp {
            uuid: ip.uuid.clone(),
            addr,
            network: ip_network(store, ip, &network),
            secondary: ip.bool_prop("instance_ip_secondary").unwrap_or(false),
        });
    }
    ips.sort_by_key(|i| (i.secondary, i.addr));

    let aaps: AllowedAddressPairs = o
        .prop_or_none("virtual_machine_interface_allowed_address_pairs")
        .unwrap_or_default();
    let allowed_pairs = aaps
        .allowed_address_pair
        .iter()
        .filter_map(|p| {
            Some(AllowedPair {
                prefix: subnet_prefix(p.ip.as_ref()?)?,
                mac: p.mac.as_deref().and_then(parse_mac),
                active_active: p.address_mode.as_deref() != Some("active-standby"),
            })
        })
        .collect();

    let mut port = Port {
        uuid: o.uuid.clone(),
        fq_name: o.fq_str(),
        mac,
        network: network.clone(),
        ips,
        allowed_pairs,
        floating_ips: Vec::new(),
        alias_ips: Vec::new(),
        security_groups: o
            .refs_to("security-group")
            .map(|r| r.uuid.to_string())
            .collect(),
        tags: port_tags(store, o, vn),
        policy_enabled: !o
            .bool_prop("virtual_machine_interface_disable_policy")
            .unwrap_or(false),
        port_security: o.bool_prop("port_security_enabled").unwrap_or(true),
        max_flows: o
            .prop_or_none::<VirtualMachineInterfacePropertiesType>(
                "virtual_machine_interface_properties",
            )
            .and_then(|p| p.max_flows)
            .unwrap_or(0)
            .clamp(0, u32::MAX as i64) as u32,
        vm: o
            .refs_to("virtual-machine")
            .next()
            .map(|r| r.uuid.to_string()),
        host_id: o
            .prop_or_none::<KeyValuePairs>("virtual_machine_interface_bindings")
            .and_then(|b| {
                b.key_value_pair
                    .into_iter()
                    .find(|kv| kv.key.as_deref() == Some("host_id"))
                    .and_then(|kv| kv.value)
            }),
        dhcp_options: options_of(
            o.prop_or_none::<DhcpOptionsListType>("virtual_machine_interface_dhcp_option_list")
                .as_ref(),
        ),
        host_routes: routes_of(
            o.prop_or_none::<RouteTableType>("virtual_machine_interface_host_routes")
                .as_ref(),
        ),
        fat_flows: fat_flows(o),
    };

    for f in store.back_refs(&o.uuid, "floating-ip") {
        let Some(addr) = f
            .str_prop("floating_ip_address")
            .and_then(|a| a.trim().parse::<IpAddr>().ok())
        else {
            continue;
        };
        // floating-ip -> floating-ip-pool -> virtual-network.
        let Some(net) = store
            .parent(f)
            .filter(|p| p.kind == "floating-ip-pool")
            .and_then(|pool| store.parent(pool))
            .filter(|v| v.kind == "virtual-network")
        else {
            continue;
        };
        let fixed_ip = f
            .str_prop("floating_ip_fixed_ip_address")
            .and_then(|a| a.trim().parse().ok())
            .or_else(|| port.primary_ip(addr.is_ipv6()));
        let direction = match f.str_prop("floating_ip_traffic_direction") {
            Some("ingress") => FipDirection::Ingress,
            Some("egress") => FipDirection::Egress,
            _ => FipDirection::Both,
        };
        port.floating_ips.push(FloatingIp {
            uuid: f.uuid.clone(),
            addr,
            network: net.uuid.clone(),
            fixed_ip,
            direction,
        });
    }
    port.floating_ips.sort_by_key(|f| f.addr);

    for a in store.back_refs(&o.uuid, "alias-ip") {
        let Some(addr) = a
            .str_prop("alias_ip_address")
            .and_then(|x| x.trim().parse().ok())
        else {
            continue;
        };
        let Some(net) = store
            .parent(a)
            .and_then(|pool| store.parent(pool))
            .filter(|v| v.kind == "virtual-network")
        else {
            continue;
        };
        port.alias_ips.push(AliasIp {
            uuid: a.uuid.clone(),
            addr,
            network: net.uuid.clone(),
        });
    }
    Ok(port)
}

fn fat_flows(o: &Object) -> Vec<(u8, u16)> {
    let Some(f) =
        o.prop_or_none::<FatFlowProtocols>("virtual_machine_interface_fat_flow_protocols")
    else {
        return Vec::new();
    };
    f.fat_flow_protocol
        .iter()
        .filter_map(|p| {
            let proto = match p.protocol.as_deref()? {
                "tcp" => 6,
                "udp" => 17,
                "sctp" => 132,
                n => n.parse().ok()?,
            };
            Some((proto, u16::try_from(p.port?).ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::obj;
    use serde_json::json;

    #[test]
    fn reads_addresses_floating_ips_and_inherited_tags() {
        let s = crate::config::testing::port_slice();
        let p = port(&s, "vmi1").unwrap();
        assert_eq!(p.mac, MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(p.network, "vn1");
        let addrs: Vec<String> = p.own_addresses().iter().map(|a| a.to_string()).collect();
        assert_eq!(addrs, vec!["10.1.0.3", "10.1.0.9", "10.1.0.100"]);
        assert_eq!(p.primary_ip(false), Some("10.1.0.3".parse().unwrap()));
        assert_eq!(p.floating_ips.len(), 1);
        let f = &p.floating_ips[0];
        assert_eq!(
            (
                f.addr.to_string(),
                f.network.as_str(),
                f.fixed_ip,
                f.direction
            ),
            (
                "172.16.0.5".into(),
                "vn-ext",
                Some("10.1.0.3".parse().unwrap()),
                FipDirection::Both
            )
        );
        // Own application and tier (the port's tier overrides the network's); the label
        // is inherited.
        assert_eq!(p.tags, vec![0x0000_0007, 0x0001_0001, 0x0002_0002]);
        assert_eq!(p.security_groups, vec!["sg1", "sg2"]);
        assert_eq!(p.host_id.as_deref(), Some("c1"));
        assert_eq!(p.max_flows, 50);
        assert_eq!(p.fat_flows, vec![(6, 80)]);
        assert!(p.policy_enabled && p.port_security);
        assert!(p.allowed_pairs[0].active_active);
    }

    #[test]
    fn a_port_without_mac_or_network_is_refused_by_name() {
        let mut s = ConfigStore::new();
        s.upsert(obj(
            "virtual-machine-interface",
            "bad",
            &["d", "p", "bad"],
            json!({}),
        ));
        let e = port(&s, "bad").unwrap_err().to_string();
        assert!(e.contains("bad") && e.contains("mac_addresses"), "{e}");
        s.upsert(obj(
            "virtual-machine-interface",
            "bad",
            &["d", "p", "bad"],
            json!({"virtual_machine_interface_mac_addresses": {"mac_address": ["02:00:00:00:00:09"]}}),
        ));
        let e = port(&s, "bad").unwrap_err().to_string();
        assert!(e.contains("virtual_network_refs"), "{e}");
    }
}
