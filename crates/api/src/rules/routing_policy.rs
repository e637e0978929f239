//! Routing policies (Contrail's `routing_policy.py`): an AS path expansion may not use the
//! global ASN, and the term type is fixed once set.

use serde_json::Value;

use super::{Ctx, at, global_asn};
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    if let Some(old) = old {
        let (was, now) = (old.body.get("term_type"), new.body.get("term_type"));
        if let (Some(was), Some(now)) = (was.and_then(Value::as_str), now.and_then(Value::as_str))
            && was != now
        {
            return Err(ApiError::forbidden(format!(
                "{}: Cannot change term_type of routing policy! Please specify '{was}' as a term_type in routing_policy_entries.",
                c.what
            )));
        }
        return Ok(());
    }
    let terms = at(new, &["routing_policy_entries", "term"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let network_device =
        new.body.get("term_type").and_then(Value::as_str) == Some("network-device");
    // Contrail reads only the first term of a vRouter policy.
    let n = if network_device {
        terms.len()
    } else {
        terms.len().min(1)
    };
    let global = global_asn(c.index);
    for t in &terms[..n] {
        let asns = t
            .pointer("/term_action_list/update/as_path/expand/asn_list")
            .and_then(Value::as_array);
        if asns
            .into_iter()
            .flatten()
            .any(|a| a.as_u64() == Some(global))
        {
            return Err(ApiError::bad_request(format!(
                "{}: ASN can't be same as global system config asn",
                c.what
            )));
        }
    }
    Ok(())
}
