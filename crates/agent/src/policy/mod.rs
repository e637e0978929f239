//! Policy evaluation: network-policy and security-group ACLs ([`acl`]), firewall policies
//! ([`firewall`]), and how they combine for one flow ([`session`]), matched against a
//! [`header::Header`] that carries both ends' networks, security-group ids and tags.
//! Compiled once per config change; matching compares integers and prefixes only.

pub mod acl;
pub mod allowed_by;
pub mod firewall;
pub mod header;
pub mod names;
pub mod session;

pub use acl::{Acl, RuleMatch};
pub use firewall::FwPolicy;
pub use header::{Header, NameId, Side};
pub use names::Names;
pub use session::{EvalOpts, Layer, Outcome, PortRules, Verdict, evaluate};

#[cfg(test)]
mod tests;
