//! Ports this vrouter serves: registering one (its interface index and its MPLS label,
//! kept in the state dir), attaching its device to the runner (retried while the
//! interface does not exist yet), and letting it go.

use std::collections::BTreeMap;

use cirrus_dataplane::tables::IfIndex;
use cirrus_packet_io::runner::Port;

use super::{Devices, Node};
use crate::derive::Registration;

/// Devices attached to the runner, and the ports still waiting for theirs.
pub(super) struct Attached {
    pub devices: Box<dyn Devices>,
    /// ifindex -> device name, attached.
    pub attached: BTreeMap<IfIndex, String>,
    /// ifindex -> (name, why it could not be opened yet).
    pub pending: BTreeMap<IfIndex, (String, String)>,
}

impl Node {
    pub(super) fn port_added(&mut self, uuid: String, name: String, enabled: bool) {
        let label = match self.labels.label(&uuid) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(port = %uuid, error = %e, "no MPLS label for the port");
                return;
            }
        };
        let Some(ifindex) = self.ifindexes.id(&uuid) else {
            tracing::error!(port = %uuid, "no interface index left");
            return;
        };
        if let Some(old) = self.regs.get(&uuid)
            && old.name != name
        {
            self.detach(old.ifindex);
        }
        self.regs.insert(
            uuid.clone(),
            Registration {
                uuid: uuid.clone(),
                ifindex,
                name: name.clone(),
                label,
                enabled,
            },
        );
        tracing::info!(port = %uuid, device = %name, ifindex, label, "port added");
        if !self.ports.attached.contains_key(&ifindex) {
            self.attach(ifindex, &name);
        }
        self.dirty = true;
    }

    pub(super) fn port_removed(&mut self, uuid: &str) {
        let Some(r) = self.regs.remove(uuid) else {
            return;
        };
        self.detach(r.ifindex);
        self.ifindexes.release(&r.uuid);
        if let Err(e) = self.labels.release(uuid) {
            tracing::warn!(port = %uuid, error = %e, "label not released");
        }
        tracing::info!(port = %uuid, device = %r.name, "port removed");
        self.dirty = true;
    }

    fn attach(&mut self, ifindex: IfIndex, name: &str) {
        match self.ports.devices.open(name) {
            Ok(device) => {
                let handle = &self.handle;
                match tokio::task::block_in_place(|| handle.add_port(Port { ifindex, device })) {
                    Ok(w) => {
                        tracing::debug!(ifindex, device = name, worker = w, "device attached");
                        self.ports.pending.remove(&ifindex);
                        self.ports.attached.insert(ifindex, name.to_string());
                    }
                    Err(e) => {
                        self.ports
                            .pending
                            .insert(ifindex, (name.to_string(), e.to_string()));
                    }
                }
            }
            Err(e) => {
                if !self.ports.pending.contains_key(&ifindex) {
                    tracing::warn!(ifindex, device = name, error = %e, "device not opened yet (retrying)");
                }
                self.ports
                    .pending
                    .insert(ifindex, (name.to_string(), e.to_string()));
            }
        }
    }

    fn detach(&mut self, ifindex: IfIndex) {
        self.ports.pending.remove(&ifindex);
        if self.ports.attached.remove(&ifindex).is_some() {
            let handle = &self.handle;
            if let Err(e) = tokio::task::block_in_place(|| handle.remove_port(ifindex)) {
                tracing::warn!(ifindex, error = %e, "device not detached");
            }
        }
    }

    /// Tries again the devices that could not be opened.
    pub(super) fn retry_ports(&mut self) {
        let pending: Vec<(IfIndex, String)> = self
            .ports
            .pending
            .iter()
            .map(|(i, (n, _))| (*i, n.clone()))
            .collect();
        for (i, n) in pending {
            self.attach(i, &n);
            if self.ports.attached.contains_key(&i) {
                tracing::info!(ifindex = i, device = %n, "device attached");
            }
        }
    }
}
