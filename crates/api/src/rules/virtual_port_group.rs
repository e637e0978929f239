//! Virtual port groups (Contrail's `virtual_port_group.py`): the refusals a client meets.
//! - A name with `vpg-internal` is the server's own (400) unless the group says it is not
//!   user-created.
//! - Physical interfaces are added by update, never in the create (400): Contrail cannot give
//!   them AE ids there.
//! - A trunk port (`virtual_port_group_trunk_port_id`) belongs to one group (409).
//! - A physical interface belongs to one group (400).
//! - A group is not deleted while it links ports (400).
//!
//! What adding and removing an interface does to the interface is in `hooks/virtual_port_group.rs`.
//! Not built: AE-id allocation for multi-homed groups, and the port-side VLAN and binding checks.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::hooks::refs_of;
use crate::object::Obj;

const PI_REFS: &str = "physical_interface_refs";

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    let bad = |m: String| Err(ApiError::bad_request(format!("{}: {m}", c.what)));
    if old.is_none() {
        let user_created = new
            .body
            .get("virtual_port_group_user_created")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        if user_created && new.name().contains("vpg-internal") {
            return bad(
                "Virtual port group with name vpg-internal as prefix can only be created \
                 internally"
                    .into(),
            );
        }
        if refs_of(new, PI_REFS).next().is_some() {
            return bad(format!(
                "{PI_REFS}: physical interfaces cannot be given in the create of a virtual \
                 port group (no AE id can be allocated there): create it, then add them"
            ));
        }
        check_trunk_port(c, new)?;
    }
    if c.input.contains_key(PI_REFS) {
        check_interfaces_free(c, old, new)?;
    }
    Ok(())
}

fn check_trunk_port(c: &Ctx, new: &Obj) -> ApiResult<()> {
    let Some(port) = new
        .body
        .get("virtual_port_group_trunk_port_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return Ok(());
    };
    if c.index
        .get_typed("virtual-machine-interface", port)
        .is_none()
    {
        return Err(ApiError::bad_request(format!(
            "{}: virtual_port_group_trunk_port_id: no virtual-machine-interface {port}",
            c.what
        )));
    }
    let owners: Vec<String> = c
        .index
        .back_refs(port)
        .filter(|o| o.type_name() == "virtual-port-group")
        .map(|o| format!("UUID({}), FQ_NAME({})", o.uuid, o.fq_str))
        .collect();
    if owners.is_empty() {
        return Ok(());
    }
    Err(ApiError::conflict(format!(
        "{}: virtual_port_group_trunk_port_id: Trunk Port({port}) already belongs to following \
         VPG(s): {}",
        c.what,
        owners.join(" ")
    )))
}

/// Every interface the update adds is in no other group.
fn check_interfaces_free(c: &Ctx, old: Option<&Obj>, new: &Obj) -> ApiResult<()> {
    let had: BTreeSet<&str> = old
        .map(|o| refs_of(o, PI_REFS).collect())
        .unwrap_or_default();
    let mut taken = Vec::new();
    for pi in refs_of(new, PI_REFS).filter(|u| !had.contains(u)) {
        for g in c
            .index
            .back_refs(pi)
            .filter(|o| o.type_name() == "virtual-port-group" && o.uuid != new.uuid)
        {
            taken.push(format!(
                "PI ({pi}) VPG-UUID ({}) VPG-FQNAME ({})",
                g.uuid, g.fq_str
            ));
        }
    }
    if taken.is_empty() {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "{}: {PI_REFS}: physical interfaces already added at other VPGs can not be attached to \
         this VPG ({}): {}",
        c.what,
        new.uuid,
        taken.join("; ")
    )))
}

/// A group that still links ports stays.
pub fn check_delete(_index: &crate::index::Index, o: &Obj) -> ApiResult<()> {
    if refs_of(o, "virtual_machine_interface_refs")
        .next()
        .is_none()
    {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "virtual-port-group {}: Virtual port group({}) can not be deleted as references to VMI \
         and BMS instance association still exists.",
        o.fq_str, o.uuid
    )))
}
