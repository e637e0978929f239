//! Contrail's property types the agent reads, as serde structs with the VNC API's field
//! names (`vnc.schema` in `cirrus-model` is the authority). Unknown fields are ignored: the
//! agent reads what it needs and must keep working when the schema grows.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct SubnetType {
    pub ip_prefix: Option<String>,
    pub ip_prefix_len: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct PortType {
    pub start_port: Option<i64>,
    pub end_port: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct AddressType {
    pub subnet: Option<SubnetType>,
    pub virtual_network: Option<String>,
    pub security_group: Option<String>,
    pub network_policy: Option<String>,
    pub subnet_list: Option<Vec<SubnetType>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct MatchConditionType {
    pub protocol: Option<String>,
    pub src_address: Option<AddressType>,
    pub src_port: Option<PortType>,
    pub dst_address: Option<AddressType>,
    pub dst_port: Option<PortType>,
    pub ethertype: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ActionListType {
    pub simple_action: Option<String>,
    pub apply_service: Option<Vec<String>>,
    pub log: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct AclRuleType {
    pub match_condition: Option<MatchConditionType>,
    pub action_list: Option<ActionListType>,
    pub rule_uuid: Option<String>,
    pub direction: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct AclEntriesType {
    pub dynamic: Option<bool>,
    pub acl_rule: Vec<AclRuleType>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct RouteType {
    pub prefix: Option<String>,
    pub next_hop: Option<String>,
    pub next_hop_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct RouteTableType {
    pub route: Vec<RouteType>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct DhcpOptionType {
    pub dhcp_option_name: Option<String>,
    pub dhcp_option_value: Option<String>,
    pub dhcp_option_value_bytes: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct DhcpOptionsListType {
    pub dhcp_option: Vec<DhcpOptionType>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct IpamSubnetType {
    pub subnet: Option<SubnetType>,
    pub default_gateway: Option<String>,
    pub dns_server_address: Option<String>,
    pub subnet_uuid: Option<String>,
    pub enable_dhcp: Option<bool>,
    pub dns_nameservers: Option<Vec<String>>,
    pub dhcp_option_list: Option<DhcpOptionsListType>,
    pub host_routes: Option<RouteTableType>,
    pub subnet_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct VnSubnetsType {
    pub ipam_subnets: Vec<IpamSubnetType>,
    pub host_routes: Option<RouteTableType>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct IpamSubnets {
    pub subnets: Vec<IpamSubnetType>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct IpAddressesType {
    pub ip_address: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct IpamDnsAddressType {
    pub tenant_dns_server_address: Option<IpAddressesType>,
    pub virtual_dns_server_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct IpamType {
    pub ipam_method: Option<String>,
    pub ipam_dns_method: Option<String>,
    pub ipam_dns_server: Option<IpamDnsAddressType>,
    pub dhcp_option_list: Option<DhcpOptionsListType>,
    pub host_routes: Option<RouteTableType>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct VirtualNetworkType {
    pub network_id: Option<i64>,
    pub vxlan_network_identifier: Option<i64>,
    pub forwarding_mode: Option<String>,
    pub rpf: Option<String>,
    pub max_flows: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct MacAddressesType {
    pub mac_address: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct AllowedAddressPair {
    pub ip: Option<SubnetType>,
    pub mac: Option<String>,
    pub address_mode: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct AllowedAddressPairs {
    pub allowed_address_pair: Vec<AllowedAddressPair>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct VirtualMachineInterfacePropertiesType {
    pub max_flows: Option<i64>,
    pub local_preference: Option<i64>,
    pub sub_interface_vlan_tag: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct KeyValuePair {
    pub key: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct KeyValuePairs {
    pub key_value_pair: Vec<KeyValuePair>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ProtocolType {
    pub protocol: Option<String>,
    pub port: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct FatFlowProtocols {
    pub fat_flow_protocol: Vec<ProtocolType>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct EncapsulationPrioritiesType {
    pub encapsulation: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct FirewallServiceType {
    pub protocol: Option<String>,
    pub protocol_id: Option<i64>,
    pub src_ports: Option<PortType>,
    pub dst_ports: Option<PortType>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct FirewallServiceGroupType {
    pub firewall_service: Vec<FirewallServiceType>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct FirewallRuleEndpointType {
    pub subnet: Option<SubnetType>,
    pub virtual_network: Option<String>,
    pub address_group: Option<String>,
    pub tags: Option<Vec<String>>,
    pub tag_ids: Option<Vec<i64>>,
    pub any: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct FirewallRuleMatchTagsType {
    pub tag_list: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct FirewallRuleMatchTagsTypeIdList {
    pub tag_type: Vec<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct FirewallSequence {
    pub sequence: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct SubnetListType {
    pub subnet: Vec<SubnetType>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct FlowAgingTimeout {
    pub protocol: Option<String>,
    pub port: Option<i64>,
    pub timeout_in_seconds: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct FlowAgingTimeoutList {
    pub flow_aging_timeout: Vec<FlowAgingTimeout>,
}
