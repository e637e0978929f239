//! What the agent's config says about each VMI, published by the agent for the port IPC's
//! `GET` answers (Contrail answers those from its oper tables, and says "Not Found" until
//! the config has arrived; the CNI and other callers poll until it has). The agent calls
//! [`OperTable::set`] when a VMI's config (its VM, network, instance IPs, subnet) is
//! complete or changes, and [`OperTable::remove`] when it goes.

use super::request::{PortRecord, VmPortRecord};
use cirrus_dataplane::wire::MacAddr;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, RwLock};
use uuid::Uuid;

/// The IPv4 side of a VMI: its instance IP and its subnet's IPAM values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Oper {
    pub addr: Ipv4Addr,
    pub plen: u8,
    pub gateway: Ipv4Addr,
    /// The subnet's `dns_server_address`.
    pub dns_server: Ipv4Addr,
}

/// The IPv6 side of a VMI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Oper {
    pub addr: Ipv6Addr,
    pub plen: u8,
    pub gateway: Ipv6Addr,
    pub dns_server: Ipv6Addr,
}

/// One VMI as the config describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmiOper {
    pub vm_uuid: Uuid,
    /// The virtual-machine's name (what `GET /vm-cfg/<name>` looks up).
    pub vm_name: String,
    pub vn_uuid: Uuid,
    /// The virtual-network's fq_name joined by ':'.
    pub vn_name: String,
    pub project_uuid: Uuid,
    pub mac: MacAddr,
    pub ipv4: Option<Ipv4Oper>,
    pub ipv6: Option<Ipv6Oper>,
    /// A sub-interface (VLAN on a parent VMI) and its tag.
    pub sub_interface: bool,
    pub vlan_id: u16,
    /// The VMI's `annotations` key/value pairs.
    pub annotations: Vec<(String, String)>,
}

/// The agent's published view of the VMIs' config; cheap to clone and share.
#[derive(Debug, Clone, Default)]
pub struct OperTable(Arc<RwLock<HashMap<Uuid, VmiOper>>>);

impl OperTable {
    pub fn set(&self, vmi: Uuid, o: VmiOper) {
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(vmi, o);
    }
    pub fn remove(&self, vmi: Uuid) {
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&vmi);
    }
    pub fn get(&self, vmi: Uuid) -> Option<VmiOper> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&vmi)
            .cloned()
    }
    /// The VMIs of a VM, by uuid.
    pub fn of_vm(&self, vm: Uuid) -> Vec<Uuid> {
        let mut v: Vec<Uuid> = self
            .0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, o)| o.vm_uuid == vm)
            .map(|(k, _)| *k)
            .collect();
        v.sort();
        v
    }
    /// The VMIs of the VM named `name`.
    pub fn of_vm_named(&self, name: &str) -> Vec<(Uuid, VmiOper)> {
        let mut v: Vec<(Uuid, VmiOper)> = self
            .0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, o)| o.vm_name == name)
            .map(|(k, o)| (*k, o.clone()))
            .collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }
}

/// `GET /port/<id>` and the elements of `GET /vm/...` (Contrail's `MakeJsonFromVmi`): the
/// config's view, with the interface name and VLANs from the subscription when there is
/// one.
pub fn port_json(
    vmi: Uuid,
    o: &VmiOper,
    port: Option<&PortRecord>,
    vm_port: Option<&VmPortRecord>,
    time: &str,
) -> Value {
    let system_name = port
        .map(|p| p.system_name.clone())
        .or_else(|| vm_port.map(|v| v.host_ifname.clone()))
        .unwrap_or_default();
    let vlan = |v: Option<u16>| v.map_or(-1, i32::from);
    let mut v = json!({
        "id": vmi.to_string(),
        "instance-id": o.vm_uuid.to_string(),
        "vn-id": o.vn_uuid.to_string(),
        "vm-project-id": o.project_uuid.to_string(),
        "mac-address": o.mac.to_string(),
        "system-name": system_name,
        "rx-vlan-id": vlan(port.and_then(|p| p.rx_vlan_id)),
        "tx-vlan-id": vlan(port.and_then(|p| p.tx_vlan_id)),
        "vhostuser-mode": port.map_or(0, |p| p.vhostuser_mode),
        "author": super::store::AUTHOR,
        "time": time,
    });
    if let Some(a) = &o.ipv4 {
        v["ip-address"] = json!(a.addr.to_string());
        v["plen"] = json!(a.plen);
        v["dns-server"] = json!(a.dns_server.to_string());
        v["gateway"] = json!(a.gateway.to_string());
    }
    if let Some(a) = &o.ipv6 {
        v["v6-ip-address"] = json!(a.addr.to_string());
        v["v6-plen"] = json!(a.plen);
        v["v6-dns-server"] = json!(a.dns_server.to_string());
        v["v6-gateway"] = json!(a.gateway.to_string());
    }
    v
}

/// An element of `GET /vm-cfg/<name>` (Contrail's `MakeJsonFromVmiConfig`).
pub fn vm_cfg_json(vmi: Uuid, o: &VmiOper) -> Value {
    let mut v = json!({
        "id": vmi.to_string(),
        "vm-uuid": o.vm_uuid.to_string(),
        "vn-id": o.vn_uuid.to_string(),
        "vn-name": o.vn_name,
        "mac-address": o.mac.to_string(),
        "sub-interface": o.sub_interface,
        "vlan-id": o.vlan_id,
    });
    if !o.annotations.is_empty() {
        v["annotations"] = o
            .annotations
            .iter()
            .map(|(k, val)| json!(format!("{{{k}:{val}}}")))
            .collect();
    }
    v
}
