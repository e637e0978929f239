//! Tags (Contrail's `tag.py`): named `<type>=<value>` whatever the client called them, with a
//! `tag_id` of the type's id (high 16 bits) and a value id allocated per type (low 16 bits),
//! and a ref to their tag type.

use serde_json::{Map, Value, json};

use super::{Companions, Ctx, allocate_id};
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;
use crate::write::Planned;

/// Fixes up a create body before its identity is read: a tag's name is always
/// `<tag_type_name>=<tag_value>` (Contrail does the same).
pub(super) fn normalize_input(input: &mut Map<String, Value>) {
    let (Some(t), Some(v)) = (
        input.get("tag_type_name").and_then(Value::as_str),
        input.get("tag_value").and_then(Value::as_str),
    ) else {
        return;
    };
    let name = format!("{t}={v}");
    if let Some(fq) = input.get_mut("fq_name").and_then(Value::as_array_mut)
        && let Some(last) = fq.last_mut()
    {
        *last = json!(name);
    }
    input.insert("name".into(), json!(name));
    if input
        .get("display_name")
        .is_some_and(|d| d.as_str() != Some(&name))
    {
        input.insert("display_name".into(), json!(name));
    }
}

pub(super) fn create(c: &Ctx, obj: &mut Obj, p: &mut Planned) -> ApiResult<Companions> {
    let t = obj
        .body
        .get("tag_type_name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let tag_type = c.index.by_fq_name("tag-type", &t).ok_or_else(|| {
        ApiError::not_found(format!("{}: tag_type_name: no tag-type {t:?}", c.what))
    })?;
    let type_id = tag_type
        .body
        .get("tag_type_id")
        .and_then(Value::as_str)
        .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0);
    let pool = format!("tag-{t}");
    allocate_id(c, obj, p, (&pool, "tag_value_id", 1))?;
    let value_id = obj
        .body
        .remove("tag_value_id")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    obj.body.insert(
        "tag_id".into(),
        json!(format!("0x{:08x}", (type_id << 16) | value_id)),
    );
    obj.body.insert(
        "tag_type_refs".into(),
        json!([{"to": tag_type.fq_name, "uuid": tag_type.uuid, "attr": null}]),
    );
    Ok(vec![])
}
