//! BGP as a service (Contrail's `bgp_as_a_service.py`): a shared session needs its address,
//! sharing is fixed at creation, hold time and ASNs are in range.

use serde_json::Value;

use super::{Ctx, at, check_asn, check_hold_time};
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

fn shared(o: &Obj) -> bool {
    o.body
        .get("bgpaas_shared")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    let session = |o: &Obj, name: &str| {
        at(o, &["bgpaas_session_attributes", name])
            .filter(|v| !v.is_null())
            .cloned()
    };
    if old.is_none_or(|o| session(o, "hold_time") != session(new, "hold_time")) {
        check_hold_time(c, session(new, "hold_time").as_ref())?;
    }
    if old.is_none_or(|o| o.body.get("autonomous_system") != new.body.get("autonomous_system")) {
        check_asn(c, "autonomous_system", new.body.get("autonomous_system"))?;
    }
    let local = "local_autonomous_system";
    if old.is_none_or(|o| session(o, local) != session(new, local)) {
        check_asn(c, local, session(new, local).as_ref())?;
    }
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
