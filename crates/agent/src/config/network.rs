//! Virtual networks as the agent sees them: the primary routing instance (the VRF the
//! network's ports live in), VNI, forwarding mode, subnets with their gateway, DNS address,
//! DHCP options and host routes (from the `network_ipam_refs` link attributes, and from the
//! IPAM itself for flat subnets), the network's ACL, and flow limits.

use std::net::IpAddr;

use cirrus_proto::convert::Prefix;

use super::schema::{
    DhcpOptionsListType, IpamSubnetType, IpamSubnets, IpamType, RouteTableType, VirtualNetworkType,
    VnSubnetsType,
};
use super::{ConfigError, ConfigStore, Object, parse_prefix, subnet_prefix};

/// L2, L3 or both (`virtual_network_properties.forwarding_mode`, default l2_l3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum ForwardingMode {
    #[default]
    L2L3,
    L2,
    L3,
}

/// One host route a DHCP client is given.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostRoute {
    #[serde(serialize_with = "crate::ser::display")]
    pub prefix: Prefix,
    pub next_hop: IpAddr,
}

/// One DHCP option set in the config (name or number, and value).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DhcpOption {
    pub name: String,
    pub value: String,
    /// `dhcp_option_value_bytes`, when given (a hex or raw string, as configured).
    pub value_bytes: Option<String>,
}

/// One subnet of a network.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Subnet {
    #[serde(serialize_with = "crate::ser::display")]
    pub prefix: Prefix,
    pub gateway: Option<IpAddr>,
    /// The vrouter's DNS (service) address in the subnet.
    pub dns_server: Option<IpAddr>,
    pub enable_dhcp: bool,
    pub dns_nameservers: Vec<String>,
    pub host_routes: Vec<HostRoute>,
    pub dhcp_options: Vec<DhcpOption>,
    pub subnet_uuid: Option<String>,
    pub ipam_uuid: String,
}

/// A virtual network.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Network {
    pub uuid: String,
    pub fq_name: String,
    /// Its primary routing instance (`<vn fq_name>:<vn name>`).
    pub instance: String,
    /// VXLAN network identifier (configured, else the network id; 0 when neither).
    pub vni: u32,
    pub network_id: u32,
    pub forwarding_mode: ForwardingMode,
    pub subnets: Vec<Subnet>,
    /// The network-policy ACL (the child `access-control-list` named like the network).
    pub acl: Option<String>,
    pub router_external: bool,
    pub port_security: bool,
    pub max_flows: u32,
}

impl Network {
    /// The subnet holding `addr`.
    pub fn subnet_of(&self, addr: IpAddr) -> Option<&Subnet> {
        self.subnets
            .iter()
            .filter(|s| super::prefix_contains(&s.prefix, addr))
            .max_by_key(|s| s.prefix.len)
    }
}

pub(crate) fn routes_of(t: Option<&RouteTableType>) -> Vec<HostRoute> {
    let Some(t) = t else { return Vec::new() };
    t.route
        .iter()
        .filter_map(|r| {
            Some(HostRoute {
                prefix: parse_prefix(r.prefix.as_deref()?)?,
                next_hop: r.next_hop.as_deref()?.trim().parse().ok()?,
            })
        })
        .collect()
}

pub(crate) fn options_of(l: Option<&DhcpOptionsListType>) -> Vec<DhcpOption> {
    let Some(l) = l else { return Vec::new() };
    l.dhcp_option
        .iter()
        .filter_map(|o| {
            Some(DhcpOption {
                name: o.dhcp_option_name.clone()?,
                value: o.dhcp_option_value.clone().unwrap_or_default(),
                value_bytes: o.dhcp_option_value_bytes.clone(),
            })
        })
        .collect()
}

fn subnet_of(s: &IpamSubnetType, ipam: &Object, mgmt: &IpamType) -> Option<Subnet> {
    let prefix = subnet_prefix(s.subnet.as_ref()?)?;
    let parse = |v: &Option<String>| v.as_deref().and_then(|a| a.trim().parse().ok());
    let mut options = options_of(mgmt.dhcp_option_list.as_ref());
    // Subnet options override the IPAM's of the same name.
    for o in options_of(s.dhcp_option_list.as_ref()) {
        options.retain(|x| x.name != o.name);
        options.push(o);
    }
    let mut host_routes = routes_of(mgmt.host_routes.as_ref());
    host_routes.extend(routes_of(s.host_routes.as_ref()));
    Some(Subnet {
        prefix,
        gateway: parse(&s.default_gateway),
        dns_server: parse(&s.dns_server_address),
        enable_dhcp: s.enable_dhcp.unwrap_or(true),
        dns_nameservers: s.dns_nameservers.clone().unwrap_or_default(),
        host_routes,
        dhcp_options: options,
        subnet_uuid: s.subnet_uuid.clone(),
        ipam_uuid: ipam.uuid.clone(),
    })
}

/// The network `uuid` as a typed view.
pub fn network(store: &ConfigStore, uuid: &str) -> Result<Network, ConfigError> {
    let o = store
        .get_kind("virtual-network", uuid)
        .ok_or_else(|| ConfigError::Missing {
            kind: "virtual-network".into(),
            uuid: uuid.into(),
        })?;
    network_of(store, o)
}

/// The typed view of a `virtual-network` object.
pub fn network_of(store: &ConfigStore, o: &Object) -> Result<Network, ConfigError> {
    let props: VirtualNetworkType = o.prop("virtual_network_properties")?.unwrap_or_default();
    let network_id = o
        .int_prop("virtual_network_network_id")
        .or(props.network_id)
        .unwrap_or(0) as u32;
    let vni = props
        .vxlan_network_identifier
        .filter(|v| (1..=0xff_ffff).contains(v))
        .map(|v| v as u32)
        .unwrap_or(network_id & 0xff_ffff);
    let forwarding_mode = match props.forwarding_mode.as_deref() {
        Some("l2") => ForwardingMode::L2,
        Some("l3") => ForwardingMode::L3,
        _ => ForwardingMode::L2L3,
    };
    let mut subnets = Vec::new();
    for r in o.refs_to("network-ipam") {
        let attr: VnSubnetsType = serde_json::from_value(r.attr.clone())
            .map_err(|e| ConfigError::Property {
                object: format!("virtual-network {}", o.uuid),
                property: "network_ipam_refs.attr".into(),
                why: e.to_string(),
            })
            .unwrap_or_default();
        let Some(ipam) = store.get_kind("network-ipam", r.uuid) else {
            continue;
        };
        let mgmt: IpamType = ipam.prop_or_none("network_ipam_mgmt").unwrap_or_default();
        let mut list = attr.ipam_subnets.clone();
        // Flat subnets live on the IPAM itself.
        if list.is_empty() {
            let flat: IpamSubnets = ipam.prop_or_none("ipam_subnets").unwrap_or_default();
            list = flat.subnets;
        }
        for s in &list {
            if let Some(mut sub) = subnet_of(s, ipam, &mgmt) {
                sub.host_routes.extend(routes_of(attr.host_routes.as_ref()));
                subnets.push(sub);
            }
        }
    }
    let acl = store
        .children(&o.uuid, "access-control-list")
        .find(|a| a.name() == o.name())
        .or_else(|| {
            store
                .children(&o.uuid, "access-control-list")
                .find(|a| a.name() != "dynamic")
        })
        .map(|a| a.uuid.clone());
    let mut instance_fq = o.fq_name.clone();
    instance_fq.push(o.name().to_string());
    Ok(Network {
        uuid: o.uuid.clone(),
        fq_name: o.fq_str(),
        instance: instance_fq.join(":"),
        vni,
        network_id,
        forwarding_mode,
        subnets,
        acl,
        router_external: o.bool_prop("router_external").unwrap_or(false),
        port_security: o.bool_prop("port_security_enabled").unwrap_or(true),
        max_flows: props.max_flows.unwrap_or(0).clamp(0, u32::MAX as i64) as u32,
    })
}

/// Every network of the slice that reads cleanly; the others with why.
pub fn networks(store: &ConfigStore) -> (Vec<Network>, Vec<ConfigError>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for o in store.of_kind("virtual-network") {
        match network_of(store, o) {
            Ok(n) => ok.push(n),
            Err(e) => bad.push(e),
        }
    }
    (ok, bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::{obj, with_refs};
    use serde_json::json;

    #[test]
    fn reads_subnets_gateway_dns_and_options_from_the_ipam_link() {
        let mut s = ConfigStore::new();
        s.upsert(obj(
            "network-ipam",
            "ipam1",
            &["d", "p", "ipam"],
            json!({"network_ipam_mgmt": {
                "dhcp_option_list": {"dhcp_option": [
                    {"dhcp_option_name": "15", "dhcp_option_value": "ipam.example"},
                    {"dhcp_option_name": "42", "dhcp_option_value": "198.18.0.1"}]},
                "host_routes": {"route": [{"prefix": "192.0.2.0/24", "next_hop": "10.1.0.254"}]}
            }}),
        ));
        s.upsert(with_refs(
            obj(
                "virtual-network",
                "vn1",
                &["d", "p", "red"],
                json!({
                    "virtual_network_network_id": 5,
                    "virtual_network_properties": {"vxlan_network_identifier": 5005, "forwarding_mode": "l2_l3", "max_flows": 100},
                    "router_external": true
                }),
            ),
            "network_ipam_refs",
            &[(
                "ipam1",
                json!({"ipam_subnets": [{
                    "subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 24},
                    "default_gateway": "10.1.0.1",
                    "dns_server_address": "10.1.0.2",
                    "dhcp_option_list": {"dhcp_option": [{"dhcp_option_name": "15", "dhcp_option_value": "red.example"}]},
                    "host_routes": {"route": [{"prefix": "203.0.113.0/24", "next_hop": "10.1.0.253"}]}
                }]}),
            )],
        ));
        let mut acl = obj(
            "access-control-list",
            "acl1",
            &["d", "p", "red", "red"],
            json!({}),
        );
        acl.parent_type = "virtual-network".into();
        acl.parent_uuid = "vn1".into();
        s.upsert(acl);
        let n = network(&s, "vn1").unwrap();
        assert_eq!(n.instance, "d:p:red:red");
        assert_eq!((n.vni, n.network_id, n.max_flows), (5005, 5, 100));
        assert!(n.router_external);
        assert_eq!(n.acl.as_deref(), Some("acl1"));
        let sub = n.subnet_of("10.1.0.9".parse().unwrap()).unwrap();
        assert_eq!(sub.gateway, Some("10.1.0.1".parse().unwrap()));
        assert_eq!(sub.dns_server, Some("10.1.0.2".parse().unwrap()));
        assert_eq!(sub.host_routes.len(), 2);
        let names: Vec<_> = sub
            .dhcp_options
            .iter()
            .map(|o| (o.name.as_str(), o.value.as_str()))
            .collect();
        assert_eq!(names, vec![("42", "198.18.0.1"), ("15", "red.example")]);
        assert!(n.subnet_of("10.2.0.1".parse().unwrap()).is_none());

        // Without a configured VNI the network id is the VNI.
        s.upsert(obj(
            "virtual-network",
            "vn2",
            &["d", "p", "blue"],
            json!({"virtual_network_network_id": 7}),
        ));
        let b = network(&s, "vn2").unwrap();
        assert_eq!((b.vni, b.acl.clone(), b.subnets.len()), (7, None, 0));
        assert!(network(&s, "nope").is_err());
    }
}
