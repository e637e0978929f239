//! BGP as a service (Contrail's `bgp_as_a_service.py`): a shared session needs its address, and
//! sharing is fixed at creation.

use serde_json::Value;

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

fn shared(o: &Obj) -> bool {
    o.body
        .get("bgpaas_shared")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    if let Some(old) = old {
        if shared(old) != shared(new) {
            return Err(ApiError::bad_request(format!(
                "{}: BGPaaS sharing cannot be modified",
                c.what
            )));
        }
        return Ok(());
    }
    if shared(new) && new.body.get("bgpaas_ip_address").is_none_or(Value::is_null) {
        return Err(ApiError::bad_request(format!(
            "{}: BGPaaS IP Address needs to be configured if BGPaaS is shared",
            c.what
        )));
    }
    Ok(())
}
