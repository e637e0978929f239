//! Routing instances (Contrail's `routing_instance.py`): a default instance (a network's
//! primary, or the fabric's `__default__`) is the system's. A client cannot create one marked
//! `routing_instance_is_default`, change the mark of an existing instance, or delete a default
//! one; each is refused with 409 (`RefsExistError`). The network's own delete takes its primary
//! instance with it (a cascade, not a client's delete).

use serde_json::Value;

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

const FIELD: &str = "routing_instance_is_default";

fn is_default(o: &Obj) -> bool {
    o.body.get(FIELD).and_then(Value::as_bool) == Some(true)
}

/// Contrail's `CANNOT_MODIFY_MSG`.
fn system_resource(o: &Obj) -> ApiError {
    ApiError::conflict(format!(
        "Cannot modify system resource Routing Instance {}({})",
        o.fq_str, o.uuid
    ))
}

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    let Some(given) = c.input.get(FIELD).filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let given = given.as_bool() == Some(true);
    match old {
        None if given => Err(system_resource(new)),
        Some(o) if given != is_default(o) => Err(system_resource(o)),
        _ => Ok(()),
    }
}

pub fn check_delete(_index: &crate::index::Index, o: &Obj) -> ApiResult<()> {
    if is_default(o) {
        return Err(system_resource(o));
    }
    Ok(())
}
