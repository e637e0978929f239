//! Neutron's policy for ports, as its default policy file states it: binding details are set
//! and seen by the admin and services (Nova) only, and a member may not delete a port that a
//! compute, bare-metal or file-share service owns.

use serde_json::{Map, Value};

use crate::ctx::Ctx;
use crate::error::{NResult, NeutronError};

/// Whether the caller is the admin or a service (Nova): Neutron's policy shows them a port's
/// binding details and lets them delete a port a compute, bare-metal or file-share service
/// owns.
pub fn admin_or_service(ctx: &Ctx) -> bool {
    ctx.caller.admin || ctx.caller.roles.iter().any(|r| r == "service")
}

/// `v` as the caller may see it: Neutron's policy shows `binding:host_id`, `vif_type`,
/// `vif_details` and `profile` to the admin and services only.
pub fn for_caller(ctx: &Ctx, mut v: Value) -> Value {
    if !admin_or_service(ctx)
        && let Some(m) = v.as_object_mut()
    {
        for k in ADMIN_ONLY {
            m.remove(*k);
        }
    }
    v
}

/// Neutron's policy: only the admin and services (Nova) bind a port to a host or give it a
/// binding profile; a member asking to gets 403 naming the rule.
pub fn check_binding_policy(ctx: &Ctx, body: &Map<String, Value>, action: &str) -> NResult<()> {
    if admin_or_service(ctx) {
        return Ok(());
    }
    match ["binding:host_id", "binding:profile"]
        .into_iter()
        .find(|k| body.contains_key(*k))
    {
        Some(k) => Err(NeutronError::Forbidden(format!(
            "(rule:{action}_port and rule:{action}_port:{k}) is disallowed by policy"
        ))),
        None => Ok(()),
    }
}

const ADMIN_ONLY: &[&str] = &[
    "binding:host_id",
    "binding:vif_type",
    "binding:vif_details",
    "binding:profile",
];

/// Neutron's delete_port: a member may not delete the port of a VM, a bare-metal node or a
/// file share (`owner` is its device owner; their service deletes it).
pub fn check_delete_policy(ctx: &Ctx, owner: &str) -> NResult<()> {
    if ["compute:", "baremetal:", "manila:"]
        .iter()
        .any(|p| owner.starts_with(p))
        && !admin_or_service(ctx)
    {
        return Err(NeutronError::Forbidden(
            "rule:delete_port is disallowed by policy".into(),
        ));
    }
    Ok(())
}
