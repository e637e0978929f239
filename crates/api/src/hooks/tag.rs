//! Tags and tag types (Contrail's `tag.py` and `tag_type.py`). A tag is named
//! `<type>=<value>` (type in lower case) whatever the client called it; its `tag_id` is its
//! type's id (high 16 bits) and a value id (low 16 bits), allocated per type or asked for in the
//! user-defined range (0x8000-0xFFFF); it refers to its tag type, which the server creates
//! (hidden from users) the first time a tag names it and deletes with the last tag of a type
//! that is not predefined. A tag type's id is allocated (0-0x7FFF) or asked for in the
//! user-defined range. Name, type, value, id and the tag-type ref are fixed once created.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::{Companions, Ctx, allocate_id};
use crate::alloc::ids;
use crate::defaults::TAG_TYPES;
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::keys;
use crate::object::{Obj, default_id_perms};
use crate::write::Planned;

/// The id pool of tag types.
const TYPE_IDS: &str = "tag-type";
/// Ids from here on are the user's to choose (tag types and tag values alike).
const USER_DEFINED: u64 = 0x8000;

/// Fixes up a create body before its identity is read: a tag's name is always
/// `<tag_type_name>=<tag_value>`, the type in lower case (Contrail does the same).
pub(super) fn normalize_input(input: &mut Map<String, Value>) {
    let (Some(t), Some(v)) = (
        input.get("tag_type_name").and_then(Value::as_str),
        input.get("tag_value").and_then(Value::as_str),
    ) else {
        return;
    };
    let (t, v) = (t.to_lowercase(), v.to_string());
    let name = format!("{t}={v}");
    input.insert("tag_type_name".into(), json!(t));
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

fn hex(v: &Value) -> Option<u64> {
    u64::from_str_radix(
        v.as_str()?
            .trim_start_matches("0x")
            .trim_start_matches("0X"),
        16,
    )
    .ok()
}

fn given<'a>(c: &'a Ctx, field: &str) -> Option<&'a Value> {
    c.input.get(field).filter(|v| !v.is_null())
}

pub(super) fn create(c: &Ctx, obj: &mut Obj, p: &mut Planned) -> ApiResult<Companions> {
    let bad = |m: &str| ApiError::bad_request(format!("{}: {m}", c.what));
    if given(c, "tag_type_refs").is_some() {
        return Err(bad("tag_type_refs: Tag Type reference is not setable"));
    }
    let t = obj
        .body
        .get("tag_type_name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    // A tag id asked for: the value part must be a user-defined one.
    let asked = match given(c, "tag_id") {
        Some(v) => Some(hex(v).ok_or_else(|| bad("tag_id: Tag value must be in hexadecimal"))?),
        None => None,
    };
    if asked.is_some_and(|id| id & 0xFFFF < USER_DEFINED) {
        return Err(bad(
            "tag_id: Tag id can be set only for user defined tags in range 32768-65535",
        ));
    }
    let mut companions = Vec::new();
    let (type_id, type_ref) = match c.index.by_fq_name("tag-type", &t) {
        Some(tt) => (
            tt.body.get("tag_type_id").and_then(hex).unwrap_or(0),
            json!({"to": tt.fq_name, "uuid": tt.uuid, "attr": null}),
        ),
        None => {
            let tt = new_tag_type(c, &t, asked.map(|id| id >> 16), p)?;
            let r = json!({"to": tt.fq_name, "uuid": tt.uuid, "attr": null});
            let id = tt.body.get("tag_type_id").and_then(hex).unwrap_or(0);
            companions.push(tt);
            (id, r)
        }
    };
    let pool = format!("tag-{t}");
    match asked {
        Some(id) => ids::reserve(
            c.index,
            c.reserved,
            c.what,
            obj,
            p,
            (&pool, "tag_value_id", 1),
            id & 0xFFFF,
        )
        .map_err(|_| bad("tag_id: Requested Tag id is already allocated"))?,
        None => allocate_id(c, obj, p, (&pool, "tag_value_id", 1))?,
    }
    let value_id = obj
        .body
        .remove("tag_value_id")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    obj.body.insert(
        "tag_id".into(),
        json!(format!("0x{:08x}", (type_id << 16) | value_id)),
    );
    obj.body.insert("tag_type_refs".into(), json!([type_ref]));
    Ok(companions)
}

pub(super) fn update(c: &Ctx, old: &Obj, _: &mut Obj, _: &mut Planned) -> ApiResult<()> {
    let changed = |f: &str| given(c, f).is_some_and(|v| Some(v) != old.body.get(f));
    if ["display_name", "tag_type_name", "tag_value", "tag_id"]
        .iter()
        .any(|f| changed(f))
    {
        return Err(ApiError::bad_request(format!(
            "{}: Tag name, type, value or ID cannot be updated",
            c.what
        )));
    }
    if c.input.contains_key("tag_type_refs") && changed_refs(c, old) {
        return Err(ApiError::bad_request(format!(
            "{}: tag_type_refs: Tag-type reference cannot be updated",
            c.what
        )));
    }
    Ok(())
}

fn changed_refs(c: &Ctx, old: &Obj) -> bool {
    let uuids = |v: Option<&Value>| -> BTreeSet<String> {
        v.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("uuid")?.as_str().map(str::to_string))
            .collect()
    };
    uuids(c.input.get("tag_type_refs")) != uuids(old.body.get("tag_type_refs"))
}

/// With the last tag of a type that is not predefined goes the type.
pub(super) fn delete(index: &Index, obj: &Obj, p: &mut Planned) {
    let t = obj
        .body
        .get("tag_type_name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if TAG_TYPES.iter().any(|(name, _)| *name == t) {
        return;
    }
    let Some(tt) = index.by_fq_name("tag-type", t) else {
        return;
    };
    if index.back_refs(&tt.uuid).any(|o| o.uuid != obj.uuid) {
        return;
    }
    p.at_revision(keys::obj(&tt.uuid), tt.revision);
    p.delete(keys::obj(&tt.uuid));
    p.delete(keys::fqn("tag-type", &tt.fq_str));
    type_delete(index, tt, p);
}

/// The ids tag types hold: their keys, and the ids of types stored before ids had keys.
fn type_ids_in_use(index: &Index) -> BTreeSet<u64> {
    let mut used: BTreeSet<u64> = index.ids(TYPE_IDS).cloned().unwrap_or_default();
    used.extend(
        index
            .of_type("tag-type")
            .filter_map(|t| t.body.get("tag_type_id").and_then(hex)),
    );
    used
}

/// Takes `id` (asked for) or the lowest free automatic id for a tag type.
fn take_type_id(
    c: &Ctx,
    name: &str,
    asked: Option<u64>,
    owner: &str,
    p: &mut Planned,
) -> ApiResult<u64> {
    let used = type_ids_in_use(c.index);
    let id = match asked {
        Some(id) => {
            let predefined = TAG_TYPES
                .iter()
                .any(|(n, i)| *n == name && u64::from_str_radix(&i[2..], 16) == Ok(id));
            if !predefined && !(USER_DEFINED..=0xFFFF).contains(&id) {
                return Err(ApiError::bad_request(format!(
                    "{}: tag_type_id: Tag type can be set only with user defined id in range \
                     32768-65535",
                    c.what
                )));
            }
            if used.contains(&id) || !c.reserved.try_hold(&keys::id(TYPE_IDS, id)) {
                return Err(ApiError::bad_request(format!(
                    "{}: tag_type_id: Tag Type with same Id already exists",
                    c.what
                )));
            }
            id
        }
        None => (0..USER_DEFINED)
            .find(|id| !used.contains(id) && c.reserved.try_hold(&keys::id(TYPE_IDS, *id)))
            .ok_or_else(|| {
                ApiError::over_quota(format!("{}: Failed to allocate tag type Id", c.what))
            })?,
    };
    let key = keys::id(TYPE_IDS, id);
    p.hold(key.clone());
    p.absent(key.clone(), None);
    p.put(key, owner.to_string());
    Ok(id)
}

/// The tag type a tag creates, hidden from users.
fn new_tag_type(c: &Ctx, name: &str, asked: Option<u64>, p: &mut Planned) -> ApiResult<Obj> {
    let ty = cirrus_model::schema()
        .resource("tag-type")
        .expect("schema has tag-type");
    let uuid = uuid::Uuid::new_v4().to_string();
    let id = take_type_id(c, name, asked, &uuid, p)?;
    let mut id_perms = default_id_perms(&uuid);
    id_perms["user_visible"] = json!(false);
    let mut body = Map::new();
    body.insert("tag_type_id".into(), json!(format!("0x{id:04x}")));
    body.insert("id_perms".into(), id_perms);
    body.insert(
        "perms2".into(),
        json!({"owner": "cloud-admin", "owner_access": 7, "global_access": 0, "share": []}),
    );
    body.insert("display_name".into(), json!(name));
    Ok(Obj {
        ty,
        uuid,
        fq_name: vec![name.to_string()],
        fq_str: name.to_string(),
        parent: None,
        body,
        revision: 0,
    })
}

pub(super) fn type_create(c: &Ctx, obj: &mut Obj, p: &mut Planned) -> ApiResult<Companions> {
    let name = obj.name().to_string();
    let asked = match given(c, "tag_type_id") {
        Some(v) => Some(hex(v).ok_or_else(|| {
            ApiError::bad_request(format!(
                "{}: tag_type_id: Tag type id must be in hexadecimal",
                c.what
            ))
        })?),
        None => None,
    };
    let id = take_type_id(c, &name, asked, &obj.uuid.clone(), p)?;
    obj.body
        .insert("tag_type_id".into(), json!(format!("0x{id:04x}")));
    obj.body.insert("display_name".into(), json!(name));
    Ok(vec![])
}

pub(super) fn type_update(c: &Ctx, old: &Obj, _: &mut Obj, _: &mut Planned) -> ApiResult<()> {
    let changed = |f: &str| given(c, f).is_some_and(|v| Some(v) != old.body.get(f));
    if changed("display_name") || changed("tag_type_id") {
        return Err(ApiError::bad_request(format!(
            "{}: Tag Type value or ID cannot be updated",
            c.what
        )));
    }
    Ok(())
}

/// Gives the type's id back.
pub(super) fn type_delete(index: &Index, obj: &Obj, p: &mut Planned) {
    if let Some(id) = obj.body.get("tag_type_id").and_then(hex)
        && index.ids(TYPE_IDS).is_some_and(|s| s.contains(&id))
    {
        p.delete(keys::id(TYPE_IDS, id));
    }
}
