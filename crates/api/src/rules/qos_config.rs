//! QoS configs (Contrail's `qos_config.py`): the code points a config maps are in range.

use serde_json::Value;

use super::{Ctx, at};
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

/// (property, highest code point, how Contrail names it).
const TABLES: &[(&str, i64, &str)] = &[
    ("dscp_entries", 63, "DSCP"),
    ("vlan_priority_entries", 7, "802.1p"),
    ("mpls_exp_entries", 7, "MPLS EXP"),
];

pub fn check(c: &Ctx, _old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    for (field, max, name) in TABLES {
        for pair in at(new, &[field, "qos_id_forwarding_class_pair"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = pair.get("key").and_then(Value::as_i64).unwrap_or(0);
            if !(0..=*max).contains(&key) {
                return Err(ApiError::bad_request(format!(
                    "{}: Invalid {name} value {key}",
                    c.what
                )));
            }
        }
    }
    Ok(())
}
