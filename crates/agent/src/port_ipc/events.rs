//! What the port IPC tells the agent: each change to the subscriptions, numbered, in the
//! order it was made (and persisted).

use super::request::{PortRecord, VmPortRecord};
use uuid::Uuid;

/// One change, with its sequence number: events with `seq` at or below a
/// [`super::Snapshot`]'s are already in that snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortEvent {
    pub seq: u64,
    pub change: PortChange,
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortChange {
    /// A port was subscribed (`POST /port`), or posted again with other values
    /// (`replaced` holds the old ones: the interface name or VM may have changed).
    PortAdded {
        port: PortRecord,
        replaced: Option<PortRecord>,
    },
    /// A port was removed (`DELETE /port/<id>`, or stale after `POST /syncports`).
    PortRemoved(PortRecord),
    /// A remote port was enabled or disabled (`PUT /enable-port`, `/disable-port`).
    LinkState { id: Uuid, up: bool },
    /// A VM-level subscription (`POST /vm`): the agent subscribes the VMI's config and
    /// binds it to `host_ifname`.
    VmPortAdded {
        port: VmPortRecord,
        replaced: Option<VmPortRecord>,
    },
    /// A VM-level subscription ended (`DELETE /vm/<vm-uuid>`, or stale).
    VmPortRemoved(VmPortRecord),
}
