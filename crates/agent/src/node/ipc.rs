//! The port IPC's changes as the control task's port events: what earlier runs persisted
//! first (the snapshot), then each change in order. A port posted by nova names its tap;
//! a VM-level subscription (the CNI) names the host end of its veth.

use tokio::sync::mpsc::UnboundedSender;

use super::NodeEvent;
use crate::port_ipc::{PortChange, PortEvents, PortIpc};

fn added(tx: &UnboundedSender<NodeEvent>, uuid: String, name: String, enabled: bool) -> bool {
    tx.send(NodeEvent::PortAdded {
        uuid,
        name,
        enabled,
    })
    .is_ok()
}

/// Feeds the port IPC's subscriptions to the node until either side stops.
pub async fn follow(ipc: PortIpc, mut events: PortEvents, tx: UnboundedSender<NodeEvent>) {
    let snap = ipc.snapshot();
    for p in snap.ports {
        if !added(&tx, p.id.to_string(), p.system_name, p.link_state) {
            return;
        }
    }
    for v in snap.vm_ports {
        if !added(&tx, v.vmi_uuid.to_string(), v.host_ifname, true) {
            return;
        }
    }
    while let Some(ev) = events.recv().await {
        if ev.seq <= snap.seq {
            continue;
        }
        let ok = match ev.change {
            PortChange::PortAdded { port, .. } => {
                added(&tx, port.id.to_string(), port.system_name, port.link_state)
            }
            PortChange::PortRemoved(port) => tx
                .send(NodeEvent::PortRemoved {
                    uuid: port.id.to_string(),
                })
                .is_ok(),
            PortChange::LinkState { id, up } => tx
                .send(NodeEvent::PortLink {
                    uuid: id.to_string(),
                    up,
                })
                .is_ok(),
            PortChange::VmPortAdded { port, .. } => {
                added(&tx, port.vmi_uuid.to_string(), port.host_ifname, true)
            }
            PortChange::VmPortRemoved(port) => tx
                .send(NodeEvent::PortRemoved {
                    uuid: port.vmi_uuid.to_string(),
                })
                .is_ok(),
        };
        if !ok {
            return;
        }
    }
}
