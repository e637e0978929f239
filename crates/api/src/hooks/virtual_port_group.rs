//! Virtual port groups (Contrail's `virtual_port_group.py`): an interface added to a group
//! becomes an `access` interface, and one removed from it (or whose group goes) has its type
//! cleared. Each interface is written in the group's transaction, only if unchanged since read.
//! A group over two or more interfaces holds an AE id per physical router (`alloc/ae_ids.rs`).

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Ctx, port_binding, refs_of};
use crate::alloc::ae_ids;
use crate::error::ApiResult;
use crate::index::Index;
use crate::keys;
use crate::object::Obj;
use crate::write::Planned;

const PI_REFS: &str = "physical_interface_refs";

fn set_type(index: &Index, pi: &str, ty: Option<&str>, p: &mut Planned) {
    let Some(o) = index.get_typed("physical-interface", pi) else {
        return;
    };
    let now = o
        .body
        .get("physical_interface_type")
        .and_then(Value::as_str);
    if now == ty {
        return;
    }
    let mut updated = (**o).clone();
    match ty {
        Some(t) => {
            updated
                .body
                .insert("physical_interface_type".into(), Value::from(t));
        }
        None => {
            updated.body.remove("physical_interface_type");
        }
    }
    p.at_revision(keys::obj(&o.uuid), o.revision);
    p.put(keys::obj(&o.uuid), updated.to_stored());
}

fn retype(index: &Index, old: Option<&Obj>, new: Option<&Obj>, p: &mut Planned) {
    let set = |o: Option<&Obj>| -> BTreeSet<String> {
        o.map(|o| refs_of(o, PI_REFS).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let (had, has) = (set(old), set(new));
    for pi in has.difference(&had) {
        set_type(index, pi, Some("access"), p);
    }
    for pi in had.difference(&has) {
        set_type(index, pi, None, p);
    }
}

pub fn update(c: &Ctx, old: &Obj, new: &mut Obj, p: &mut Planned) -> ApiResult<()> {
    ae_ids::update(c.index, c.reserved, c.what, Some(old), new, p)?;
    retype(c.index, Some(old), Some(new), p);
    Ok(())
}

/// A group taking interfaces for a port (`port_binding.rs`): AE ids and interface types as for
/// a client's update; `old` is None for a group made with the port.
pub(super) fn place(
    c: &Ctx,
    what: &str,
    old: Option<&Obj>,
    new: &mut Obj,
    p: &mut Planned,
) -> ApiResult<()> {
    ae_ids::update(c.index, c.reserved, what, old, new, p)?;
    retype(c.index, old, Some(new), p);
    Ok(())
}

pub fn delete(index: &Index, obj: &Obj, p: &mut Planned) {
    ae_ids::free(index, obj, p);
    // A server-made `vpg-internal-<n>` gives its n back to its fabric.
    if let (Some(n), Some(fabric)) = (
        obj.name()
            .strip_prefix("vpg-internal-")
            .and_then(|n| n.parse::<u64>().ok()),
        obj.parent.as_ref(),
    ) && index
        .id_owners(&port_binding::vpg_id_pool(&fabric.uuid))
        .any(|(v, o)| v == n && o == obj.uuid)
    {
        p.delete(keys::id(&port_binding::vpg_id_pool(&fabric.uuid), n));
    }
    retype(index, Some(obj), None, p);
}
