//! Fabrics (Contrail's `fabric.py`): a fabric keeps its style; switching between
//! enterprise style and service-provider style is refused (403).

use serde_json::Value;

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

const FIELD: &str = "fabric_enterprise_style";

pub fn check(c: &Ctx, old: Option<&Obj>, _new: &mut Obj) -> ApiResult<()> {
    let (Some(o), Some(now)) = (old, c.input.get(FIELD).and_then(Value::as_bool)) else {
        return Ok(());
    };
    match o.body.get(FIELD).and_then(Value::as_bool) {
        Some(was) if was != now => Err(ApiError::forbidden(format!(
            "{}: {FIELD}: Cannot change from sp-style to enterprise-style or vice-versa",
            c.what
        ))),
        _ => Ok(()),
    }
}
