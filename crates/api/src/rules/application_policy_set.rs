//! Application policy sets (Contrail's `application_policy_set.py`): `all_applications` marks
//! a project's default set, which the server makes with the project (`hooks/project.rs`); the
//! flag is read-only to clients (400), and a set with it cannot be deleted by one (400; the
//! project's delete takes it along).

use serde_json::Value;

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

pub fn check(c: &Ctx, _old: Option<&Obj>, _new: &mut Obj) -> ApiResult<()> {
    if c.input
        .get("all_applications")
        .is_some_and(|v| !v.is_null())
    {
        return Err(ApiError::bad_request(format!(
            "{}: all_applications: Application policy set 'all-applications' flag is read-only",
            c.what
        )));
    }
    Ok(())
}

pub fn check_delete(_index: &crate::index::Index, o: &Obj) -> ApiResult<()> {
    if o.body.get("all_applications").and_then(Value::as_bool) == Some(true) {
        return Err(ApiError::bad_request(format!(
            "application-policy-set {}: Application Policy Set defined on all applications \
             cannot be deleted",
            o.fq_str
        )));
    }
    Ok(())
}
