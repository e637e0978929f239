//! Tags on any resource (Contrail's `_validate_tag_refs`): one tag of a type per object, except
//! for the types meant to repeat (label, neutron_fwaas, neutron_tag) and on firewall rules;
//! address groups carry label tags only.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

/// Tag types an object may carry several values of.
const REPEATABLE: &[&str] = &["label", "neutron_fwaas", "neutron_tag"];
/// Tag types an address group may carry.
const ON_ADDRESS_GROUPS: &[&str] = &["label"];

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    let refs = new.body.get("tag_refs");
    if old.is_some_and(|o| o.body.get("tag_refs") == refs) {
        return Ok(());
    }
    let mut per_type: BTreeMap<&str, usize> = BTreeMap::new();
    for name in refs
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("to")?.as_array()?.last()?.as_str())
    {
        *per_type
            .entry(name.split('=').next().unwrap_or(name))
            .or_default() += 1;
    }
    let ty = new.type_name();
    for (tag_type, n) in per_type {
        if n > 1 && !REPEATABLE.contains(&tag_type) && ty != "firewall-rule" {
            return Err(ApiError::bad_request(format!(
                "{}: tag_refs: Tag type '{tag_type}' cannot be set multiple times on the same \
                 {ty} resource type",
                c.what
            )));
        }
        if ty == "address-group" && !ON_ADDRESS_GROUPS.contains(&tag_type) {
            return Err(ApiError::bad_request(format!(
                "{}: tag_refs: Invalid tag type {tag_type} for object type {ty}",
                c.what
            )));
        }
    }
    Ok(())
}
