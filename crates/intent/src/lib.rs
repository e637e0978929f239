//! The intent compiler: Contrail's schema transformer as pure functions over a snapshot of
//! the config (the API's [`cirrus_api::index::Index`]). It derives what Contrail derives:
//!
//! - each virtual network's primary routing instance completed: `routing_instance_is_default`
//!   (true, as Contrail's API server sets it), `route_target_refs` to its own
//!   `target:<ASN>:<n>` (n from 8000000, one per instance, kept in the store's `rt` id pool),
//!   to the network's `route_target_list` (both ways), `import_route_target_list` (import),
//!   `export_route_target_list` (export) and to the targets of the logical routers joining
//!   it; `routing_instance_refs` to the primary instances of the networks its policies
//!   connect it to, when both sides' policies allow each other (the control node imports the
//!   targets of connected instances); the `route-target` objects those refs name;
//! - each port's `routing_instance_refs` to its network's primary instance
//!   (`direction: both`, Contrail's native instance link);
//! - a network's `access-control-list` children from its policies ([`network_acl`]), a
//!   security group's ingress and egress ACLs ([`sg_acl`]);
//! - each logical router's own route target (`route_target_refs`).
//!
//! Floating IPs, tags, application-policy-sets, firewall policies and rules, address and
//! service groups: Contrail's schema transformer derives nothing from them (the vrouter
//! agent reads those objects itself), and neither does this crate.
//!
//! No I/O, no clock, no tasks: [`Compiler::full`] and [`Compiler::changed`] return the
//! [`Write`]s that bring the index to the derived state; the controller applies them.

pub mod acl_list;
mod compiler;
pub mod json;
pub mod network_acl;
pub mod sg_acl;
pub mod targets;
#[cfg(feature = "testing")]
pub mod testing;
mod units;
pub mod write;

pub use compiler::{Compiler, Output, Stats};
pub use units::primary_instance;
pub use write::{TARGET_POOL, Write};

/// Contrail's schema-transformer switches that change what is derived.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Contrail's `logical_routers_enabled` (default on): a network's static ACL gets a deny
    /// twin of each policy rule and ends in any-to-any pass; off, it ends in any-to-any deny.
    pub logical_routers_enabled: bool,
    /// Write each `<>` ACL entry as two `>` entries (the second with the addresses and ports
    /// swapped), the expansion Contrail's vrouter agent does when it reads an ACL; the
    /// Cirrus agent reads one-way entries only (PLAN contract 2).
    pub expand_bidirectional: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            logical_routers_enabled: true,
            expand_bidirectional: true,
        }
    }
}
