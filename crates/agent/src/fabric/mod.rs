//! The fabric port: the compute node's underlay interface, shared with the node's own
//! traffic. The pipeline reads it too (AF_PACKET does not take frames from the kernel):
//! overlay packets for this vrouter are decapsulated, everything else is the kernel's and
//! the agent only looks at ARP in it, to learn underlay neighbours ([`neighbours`]); it
//! never answers or injects anything but its own ARP requests, so the node's TCP to the
//! controller is untouched. [`link`] reads the interface from the system.

pub mod arp;
pub mod link;
pub mod neighbours;

pub use neighbours::{FabricAddr, Neighbours};
