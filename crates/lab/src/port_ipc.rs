//! The request a vrouter's port IPC takes for a new port: Contrail's `POST /port` body, as
//! nova's vif driver (`vrouter-port-control`) and Contrail's CNI send it, with Contrail's field
//! names. The lab sends it from inside the compute node's namespace, where the vrouter serves
//! the port IPC on 127.0.0.1:9091.

use serde::{Deserialize, Serialize};

/// Contrail's port types (`type`).
pub const PORT_TYPE_NOVA_VM: u32 = 0;
/// A port whose other end is in a network namespace (what a lab's workload is).
pub const PORT_TYPE_NAMESPACE: u32 = 1;

/// `POST /port`: one port of a workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRequest {
    /// The virtual-machine-interface uuid.
    pub id: String,
    /// The virtual-machine uuid.
    #[serde(rename = "instance-id")]
    pub instance_id: String,
    /// The virtual-network uuid.
    #[serde(rename = "vn-id")]
    pub vn_id: String,
    /// The project uuid.
    #[serde(rename = "vm-project-id")]
    pub vm_project_id: String,
    /// The workload's name.
    #[serde(rename = "display-name")]
    pub display_name: String,
    /// The instance IP (IPv4), or "0.0.0.0" for none.
    #[serde(rename = "ip-address")]
    pub ip_address: String,
    /// The IPv6 instance IP, or "" for none.
    #[serde(rename = "ip6-address")]
    pub ip6_address: String,
    #[serde(rename = "type")]
    pub port_type: u32,
    /// The host-side interface (in the compute node's namespace).
    #[serde(rename = "system-name")]
    pub system_name: String,
    #[serde(rename = "mac-address")]
    pub mac_address: String,
    /// -1: untagged.
    #[serde(rename = "rx-vlan-id")]
    pub rx_vlan_id: i32,
    #[serde(rename = "tx-vlan-id")]
    pub tx_vlan_id: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serializes_with_contrails_field_names() {
        let port = PortRequest {
            id: "93c2c386-6e79-485e-bfa4-b9daa713133b".into(),
            instance_id: "69ce06bd-6d1e-43d0-8e48-a30043a49ed8".into(),
            vn_id: "56297dc0-5553-4e6a-b87f-8423afc21e9d".into(),
            vm_project_id: "9970147c-33b1-4bf7-8944-8968e708d430".into(),
            display_name: "vm1".into(),
            ip_address: "11.0.0.3".into(),
            ip6_address: "".into(),
            port_type: PORT_TYPE_NOVA_VM,
            system_name: "tap93c2c386-6e".into(),
            mac_address: "02:93:c2:c3:86:6e".into(),
            rx_vlan_id: -1,
            tx_vlan_id: -1,
        };
        // The body of Contrail's own port IPC test data (port_ipc/test/data), less its
        // "None" IPv6 address.
        assert_eq!(
            serde_json::to_value(&port).unwrap(),
            json!({"ip-address": "11.0.0.3", "tx-vlan-id": -1, "display-name": "vm1",
                   "id": "93c2c386-6e79-485e-bfa4-b9daa713133b",
                   "instance-id": "69ce06bd-6d1e-43d0-8e48-a30043a49ed8", "ip6-address": "",
                   "rx-vlan-id": -1, "system-name": "tap93c2c386-6e",
                   "vn-id": "56297dc0-5553-4e6a-b87f-8423afc21e9d",
                   "vm-project-id": "9970147c-33b1-4bf7-8944-8968e708d430", "type": 0,
                   "mac-address": "02:93:c2:c3:86:6e"})
        );
    }
}
