//! A security resource's `draft_mode_state` (Contrail's `_security_base.py`
//! `check_draft_mode_state`) is the server's: a client that sets it, on create or update, gets
//! 400.

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

pub fn check(c: &Ctx, _old: Option<&Obj>, _new: &mut Obj) -> ApiResult<()> {
    if c.input
        .get("draft_mode_state")
        .is_some_and(|v| !v.is_null())
    {
        return Err(ApiError::bad_request(format!(
            "{}: draft_mode_state: Security resource property 'draft_mode_state' is only readable",
            c.what
        )));
    }
    Ok(())
}
