//! Bridge domains (Contrail's `bridge_domain.py`): one per virtual network.

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    let (None, Some(vn)) = (old, new.parent.as_ref()) else {
        return Ok(());
    };
    if let Some(other) = c
        .index
        .children(&vn.uuid)
        .find(|o| o.type_name() == "bridge-domain" && o.uuid != new.uuid)
    {
        return Err(ApiError::bad_request(format!(
            "{}: Virtual network({}) can have only one bridge domain. Bridge domain({}) is already created under this virtual network",
            c.what, vn.uuid, other.uuid
        )));
    }
    Ok(())
}
