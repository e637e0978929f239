//! Validation of JSON values against the schema: properties, ref lists and
//! their link attributes, prop-collection items and whole resource bodies.
//!
//! Rules follow the Contrail API server: null is accepted wherever a value
//! may be (clients send every unset struct field as null); struct types reject
//! unknown keys; integers may arrive as numeric strings; enums and ranges are
//! checked where the schema gives them. Errors carry a dotted field path.
//!
//! The `validate_*` functions are strict about integers (JSON integers only).
//! Contrail also takes numeric strings and integral floats; the
//! `normalize_*` functions (normalize.rs) accept those and rewrite them, so
//! nothing but integers is ever stored.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::error::ValidationError;
use crate::formats::{self, shown};
use crate::names;
use crate::schema::Schema;
use crate::types::{Collection, FieldKind, ResourceType, TypeRef};

/// Outcome of checking one value; the message is paired with the path the
/// walker is at when it fails.
type Check = Result<(), String>;

/// How integers are read: strictly, or as leniently as Contrail reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// JSON integers only.
    Strict,
    /// Also numeric strings and integral floats (rewritten by normalize).
    Lenient,
}

impl Schema {
    /// Validates the value of property `prop` of `rt`. Errors name the field
    /// path starting at the property, e.g. `virtual_network_properties.rpf`.
    pub fn validate_prop(
        &self,
        rt: &ResourceType,
        prop: &str,
        value: &Value,
    ) -> Result<(), ValidationError> {
        self.prop_in(rt, prop, value, Mode::Strict)
    }

    pub(crate) fn prop_in(
        &self,
        rt: &ResourceType,
        prop: &str,
        value: &Value,
        mode: Mode,
    ) -> Result<(), ValidationError> {
        let Some(def) = rt.prop(prop) else {
            return Err(ValidationError::new(
                prop,
                format!("{} has no property `{prop}`", rt.name),
            ));
        };
        let mut path = prop.to_owned();
        self.check(&def.ty, value, &mut path, mode)
            .map_err(|m| ValidationError::new(path, m))
    }

    /// Validates the link attribute of a ref from `rt` to `ref_to`. Errors
    /// name the path from the ref field, e.g.
    /// `network_ipam_refs.attr.ipam_subnets[1].subnet.ip_prefix_len`. Refs
    /// without an attr type accept any attr (Contrail ignores it).
    pub fn validate_ref_attr(
        &self,
        rt: &ResourceType,
        ref_to: &str,
        attr: &Value,
    ) -> Result<(), ValidationError> {
        self.ref_attr_in(rt, ref_to, None, attr, Mode::Strict)
    }

    /// Like [`Schema::validate_ref_attr`] for the ref at position `index` of
    /// its list, so errors carry the full path, e.g.
    /// `network_ipam_refs[0].attr.ipam_subnets[1].subnet.ip_prefix_len`.
    pub fn validate_ref_attr_at(
        &self,
        rt: &ResourceType,
        ref_to: &str,
        index: usize,
        attr: &Value,
    ) -> Result<(), ValidationError> {
        self.ref_attr_in(rt, ref_to, Some(index), attr, Mode::Strict)
    }

    pub(crate) fn ref_attr_in(
        &self,
        rt: &ResourceType,
        ref_to: &str,
        index: Option<usize>,
        attr: &Value,
        mode: Mode,
    ) -> Result<(), ValidationError> {
        let Some(def) = rt.ref_to(ref_to) else {
            return Err(ValidationError::new(
                names::ref_field_name(ref_to),
                format!("{} has no ref to `{ref_to}`", rt.name),
            ));
        };
        let Some(ty) = &def.attr else {
            return Ok(());
        };
        let mut path = match index {
            Some(i) => format!("{}[{i}].attr", def.field),
            None => format!("{}.attr", def.field),
        };
        self.check(ty, attr, &mut path, mode)
            .map_err(|m| ValidationError::new(path, m))
    }

    /// Validates a whole `<type>_refs` list: each item an object with `to`
    /// (fq_name) and/or `uuid`, optional `href`, and `attr` of the ref's attr
    /// type. Errors are indexed, e.g. `network_ipam_refs[0].attr.ipam_subnets`.
    pub fn validate_refs(
        &self,
        rt: &ResourceType,
        field: &str,
        value: &Value,
    ) -> Result<(), ValidationError> {
        self.refs_in(rt, field, value, Mode::Strict)
    }

    pub(crate) fn refs_in(
        &self,
        rt: &ResourceType,
        field: &str,
        value: &Value,
        mode: Mode,
    ) -> Result<(), ValidationError> {
        let Some(def) = rt.ref_by_field(field) else {
            return Err(ValidationError::new(
                field,
                format!("{} has no ref field `{field}`", rt.name),
            ));
        };
        let items = match value {
            Value::Null => return Ok(()),
            Value::Array(items) => items,
            _ => return Err(ValidationError::new(field, "must be a list of refs")),
        };
        for (i, item) in items.iter().enumerate() {
            let at = |rest: &str| format!("{field}[{i}]{rest}");
            let Value::Object(obj) = item else {
                return Err(ValidationError::new(
                    at(""),
                    "must be an object {to, uuid, attr}",
                ));
            };
            let to = obj.get("to").filter(|v| !v.is_null());
            let uuid = obj.get("uuid").filter(|v| !v.is_null());
            if to.is_none() && uuid.is_none() {
                return Err(ValidationError::new(
                    at(""),
                    "needs `to` (fq_name) or `uuid`",
                ));
            }
            if let Some(to) = to {
                names::parse_fq_name(&at(".to"), to)?;
            }
            if let Some(uuid) = uuid
                && !uuid.is_string()
            {
                return Err(ValidationError::new(at(".uuid"), "must be a string"));
            }
            if let Some(href) = obj.get("href")
                && !(href.is_null() || href.is_string())
            {
                return Err(ValidationError::new(at(".href"), "must be a string"));
            }
            if let (Some(ty), Some(attr)) = (&def.attr, obj.get("attr")) {
                let mut path = at(".attr");
                self.check(ty, attr, &mut path, mode)
                    .map_err(|m| ValidationError::new(path, m))?;
            }
        }
        Ok(())
    }

    /// Validates one item for `/prop-collection-update` of a list or map
    /// property. Map items must carry their key field.
    pub fn validate_collection_item(
        &self,
        rt: &ResourceType,
        prop: &str,
        item: &Value,
    ) -> Result<(), ValidationError> {
        self.item_in(rt, prop, item, Mode::Strict)
    }

    pub(crate) fn item_in(
        &self,
        rt: &ResourceType,
        prop: &str,
        item: &Value,
        mode: Mode,
    ) -> Result<(), ValidationError> {
        let Some(coll) = rt.prop(prop).and_then(|p| p.collection.as_ref()) else {
            return Err(ValidationError::new(
                prop,
                format!("{} has no collection property `{prop}`", rt.name),
            ));
        };
        let mut path = format!("{prop}.{}", coll.field());
        if let Collection::Map { key, .. } = coll {
            let has_key = item.get(key.as_str()).is_some_and(|k| !k.is_null());
            if !has_key {
                return Err(ValidationError::new(
                    format!("{path}.{key}"),
                    "map item needs its key",
                ));
            }
        }
        self.check(coll.item(), item, &mut path, mode)
            .map_err(|m| ValidationError::new(path, m))
    }

    /// Validates a resource body as sent on create or update: identity fields,
    /// every property and every ref list. Back refs, children and keys the
    /// type does not have are ignored here (see [`ResourceType::field_kind`]).
    pub fn validate_object(&self, rt: &ResourceType, body: &Value) -> Result<(), ValidationError> {
        self.object_in(rt, body, Mode::Strict)
    }

    pub(crate) fn object_in(
        &self,
        rt: &ResourceType,
        body: &Value,
        mode: Mode,
    ) -> Result<(), ValidationError> {
        let Value::Object(obj) = body else {
            return Err(ValidationError::new(
                rt.underscored(),
                "must be a JSON object",
            ));
        };
        for (key, value) in obj {
            match rt.field_kind(key) {
                Some(FieldKind::Identity) => check_identity(rt, key, value)?,
                Some(FieldKind::Prop(p)) => self.prop_in(rt, &p.name, value, mode)?,
                Some(FieldKind::Ref(r)) => self.refs_in(rt, &r.field, value, mode)?,
                Some(FieldKind::BackRef(_) | FieldKind::Children(_)) | None => {}
            }
        }
        Ok(())
    }

    /// Validates `value` against `ty`; `path` names the value in errors and is
    /// left pointing at the failing field.
    pub fn validate_value(
        &self,
        ty: &TypeRef,
        value: &Value,
        path: &str,
    ) -> Result<(), ValidationError> {
        let mut p = path.to_owned();
        self.check(ty, value, &mut p, Mode::Strict)
            .map_err(|m| ValidationError::new(p, m))
    }

    /// The walker. On error `path` is the failing field's path.
    fn check(&self, ty: &TypeRef, value: &Value, path: &mut String, mode: Mode) -> Check {
        if value.is_null() {
            return Ok(());
        }
        match ty {
            TypeRef::Any => Ok(()),
            TypeRef::String | TypeRef::DateTime | TypeRef::Time => as_str(value).map(drop),
            TypeRef::Boolean => match value {
                Value::Bool(_) => Ok(()),
                other => Err(format!("true/false expected, got {}", kind(other))),
            },
            TypeRef::Integer { min, max } => {
                let n = as_integer(value, mode)?;
                check_range(n, min.map(i128::from), max.map(i128::from))
            }
            TypeRef::UnsignedLong => {
                let n = as_integer(value, mode)?;
                check_range(n, Some(0), Some(i128::from(u64::MAX)))
            }
            TypeRef::Enum(values) => {
                let s = as_str(value)?;
                if values.iter().any(|v| v == s) {
                    Ok(())
                } else {
                    Err(format!(
                        "`{}` is not one of {}",
                        shown(s),
                        values.join(" | ")
                    ))
                }
            }
            TypeRef::IpAddress => {
                let s = as_str(value)?;
                if formats::is_valid_ip(s) {
                    Ok(())
                } else {
                    Err(format!("`{}` is not an IP address", shown(s)))
                }
            }
            TypeRef::MacAddress => {
                let s = as_str(value)?;
                if formats::is_valid_mac(s) {
                    Ok(())
                } else {
                    Err(format!("`{}` is not a MAC address", shown(s)))
                }
            }
            TypeRef::Community => formats::check_community(as_str(value)?),
            TypeRef::ServiceInterface => formats::check_service_interface(as_str(value)?),
            TypeRef::List(inner) => {
                let Value::Array(items) = value else {
                    return Err(format!("list expected, got {}", kind(value)));
                };
                let base = path.len();
                for (i, item) in items.iter().enumerate() {
                    // Writing to a String cannot fail.
                    let _ = write!(path, "[{i}]");
                    self.check(inner, item, path, mode)?;
                    path.truncate(base);
                }
                Ok(())
            }
            TypeRef::Struct(name) => {
                let Value::Object(obj) = value else {
                    return Err(format!(
                        "object of type {name} expected, got {}",
                        kind(value)
                    ));
                };
                self.check_struct(name, obj, path, mode)
            }
        }
    }

    fn check_struct(
        &self,
        name: &str,
        obj: &Map<String, Value>,
        path: &mut String,
        mode: Mode,
    ) -> Check {
        let Some(def) = self.type_def(name) else {
            // Unreachable for a linked schema; accept rather than panic.
            return Ok(());
        };
        let base = path.len();
        for (key, v) in obj {
            path.push('.');
            path.push_str(key);
            let Some(field) = def.field(key) else {
                return Err(format!("unknown field of {name}"));
            };
            self.check(&field.ty, v, path, mode)?;
            path.truncate(base);
        }
        if name == "SubnetType" {
            let prefix = obj.get("ip_prefix").and_then(Value::as_str);
            let len = obj.get("ip_prefix_len").filter(|v| !v.is_null());
            if let (Some(prefix), Some(len)) = (prefix, len) {
                let len = as_integer(len, mode).unwrap_or(-1);
                let len = i64::try_from(len).unwrap_or(-1);
                return formats::check_subnet(prefix, len);
            }
        }
        Ok(())
    }
}

/// Shape checks for the identity keys of a body.
fn check_identity(rt: &ResourceType, key: &str, value: &Value) -> Result<(), ValidationError> {
    let bad = |m: &str| Err(ValidationError::new(key, m));
    match key {
        "fq_name" => names::parse_fq_name(key, value).map(drop),
        "uuid" | "parent_uuid" => match value {
            Value::Null => Ok(()),
            Value::String(s) if names::is_valid_uuid(s) => Ok(()),
            _ => bad("must be a uuid string"),
        },
        "parent_type" => match value {
            Value::Null => Ok(()),
            Value::String(s) if rt.has_parent(s) => Ok(()),
            Value::String(s) => Err(ValidationError::new(
                key,
                format!(
                    "`{}` is not a parent type of {} (expected {})",
                    shown(s),
                    rt.name,
                    rt.parents.join(" | ")
                ),
            )),
            _ => bad("must be a string"),
        },
        _ => match value {
            Value::Null | Value::String(_) => Ok(()),
            _ => bad("must be a string"),
        },
    }
}

fn as_str(value: &Value) -> Result<&str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("string expected, got {}", kind(value)))
}

/// An integer: a JSON integer; when lenient also, as Contrail accepts, an
/// integral float or a string holding a decimal integer.
fn as_integer(value: &Value, mode: Mode) -> Result<i128, String> {
    let bad = || format!("integer expected, got {}", kind(value));
    match (value, mode) {
        (Value::Number(n), _) if n.is_i64() || n.is_u64() => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .ok_or_else(bad),
        (Value::Number(n), Mode::Lenient) => match n.as_f64() {
            Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e38 => Ok(f as i128),
            _ => Err(bad()),
        },
        (Value::String(s), Mode::Lenient) => s.trim().parse::<i128>().map_err(|_| bad()),
        _ => Err(bad()),
    }
}

fn check_range(n: i128, min: Option<i128>, max: Option<i128>) -> Check {
    let lo_ok = min.is_none_or(|lo| n >= lo);
    let hi_ok = max.is_none_or(|hi| n <= hi);
    if lo_ok && hi_ok {
        return Ok(());
    }
    let show = |b: Option<i128>| b.map(|v| v.to_string()).unwrap_or_default();
    Err(format!("{n} is out of range {}..{}", show(min), show(max)))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}
