//! The global system config (Contrail's `global_system_config.py`): the BGPaaS port range is
//! well formed and, once sessions exist, only grows; user-defined log statistics patterns are
//! regular expressions.

use serde_json::Value;

use super::{Ctx, at};
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

/// Contrail's BGPaaS port range when the config names none.
const DEFAULT_PORTS: (i64, i64) = (50000, 50512);

fn ports(o: &Obj) -> Option<(i64, i64)> {
    let p = o.body.get("bgpaas_parameters")?;
    Some((p.get("port_start")?.as_i64()?, p.get("port_end")?.as_i64()?))
}

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    let bad = |m: String| Err(ApiError::bad_request(format!("{}: {m}", c.what)));
    if let Some((start, end)) = ports(new)
        && old.and_then(ports) != Some((start, end))
    {
        if start > end {
            return bad("Invalid Port range specified".into());
        }
        let (cur_start, cur_end) = old.and_then(ports).unwrap_or(DEFAULT_PORTS);
        let sessions = c.index.of_type("bgp-as-a-service").next().is_some();
        if sessions && (start > cur_start || end < cur_end) {
            return bad("BGP Port range cannot be shrunk".into());
        }
    }
    for s in at(new, &["user_defined_log_statistics", "statlist"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = s.get("name").and_then(Value::as_str).unwrap_or("");
        let pattern = s.get("pattern").and_then(Value::as_str).unwrap_or("");
        if let Err(e) = regex::Regex::new(pattern) {
            let e = e.to_string().replace('\n', " ");
            return bad(format!(
                "Regex error in user-defined-log-statistics at {name}: {pattern} (Error: {e})"
            ));
        }
    }
    Ok(())
}
