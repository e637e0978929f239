//! One config object as stored: identity (type, uuid, fq_name, parent) plus a JSON body of
//! properties and forward refs. Back refs and children are never stored; the index derives them.

use std::sync::Arc;

use cirrus_model::ResourceType;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone)]
pub struct Obj {
    pub ty: &'static ResourceType,
    pub uuid: String,
    pub fq_name: Vec<String>,
    pub fq_str: String,
    pub parent: Option<Parent>,
    /// Properties and `<type>_refs` lists (`{to, uuid, attr}` entries).
    pub body: Map<String, Value>,
    pub revision: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    pub type_name: &'static str,
    pub uuid: String,
}

/// One forward reference as stored.
#[derive(Debug, Clone)]
pub struct Ref<'a> {
    pub to_type: &'static str,
    pub uuid: &'a str,
    pub attr: &'a Value,
}

impl Obj {
    pub fn type_name(&self) -> &'static str {
        self.ty.name.as_str()
    }

    pub fn name(&self) -> &str {
        self.fq_name.last().map(String::as_str).unwrap_or("")
    }

    /// Every forward ref of this object, with its target type.
    pub fn refs(&self) -> impl Iterator<Item = Ref<'_>> {
        self.body
            .iter()
            .filter_map(|(field, list)| {
                let def = self.ty.ref_by_field(field)?;
                let to_type = cirrus_model::schema().resource(&def.to)?.name.as_str();
                Some(list.as_array()?.iter().filter_map(move |r| {
                    Some(Ref {
                        to_type,
                        uuid: r.get("uuid")?.as_str()?,
                        attr: r.get("attr").unwrap_or(&Value::Null),
                    })
                }))
            })
            .flatten()
    }

    /// The document written to the store.
    pub fn to_stored(&self) -> Vec<u8> {
        let mut m = self.body.clone();
        m.insert("type".into(), Value::String(self.type_name().into()));
        m.insert("uuid".into(), Value::String(self.uuid.clone()));
        m.insert("fq_name".into(), Value::from(self.fq_name.clone()));
        if let Some(p) = &self.parent {
            m.insert("parent_type".into(), Value::String(p.type_name.into()));
            m.insert("parent_uuid".into(), Value::String(p.uuid.clone()));
        }
        serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
    }

    pub fn from_stored(bytes: &[u8], revision: i64) -> ApiResult<Arc<Obj>> {
        let corrupt = |what: &str| ApiError::internal(format!("stored object is corrupt: {what}"));
        let Value::Object(mut m) =
            serde_json::from_slice(bytes).map_err(|e| corrupt(&e.to_string()))?
        else {
            return Err(corrupt("not a JSON object"));
        };
        let schema = cirrus_model::schema();
        let type_name = take_str(&mut m, "type").ok_or_else(|| corrupt("no type"))?;
        let ty = schema
            .resource(&type_name)
            .ok_or_else(|| corrupt("unknown type"))?;
        let uuid = take_str(&mut m, "uuid").ok_or_else(|| corrupt("no uuid"))?;
        let fq_name: Vec<String> = m
            .remove("fq_name")
            .and_then(|v| serde_json::from_value(v).ok())
            .ok_or_else(|| corrupt("no fq_name"))?;
        let parent = match (
            take_str(&mut m, "parent_type"),
            take_str(&mut m, "parent_uuid"),
        ) {
            (Some(t), Some(u)) => Some(Parent {
                type_name: schema
                    .resource(&t)
                    .ok_or_else(|| corrupt("parent type"))?
                    .name
                    .as_str(),
                uuid: u,
            }),
            _ => None,
        };
        Ok(Arc::new(Obj {
            ty,
            uuid,
            fq_str: fq_name.join(":"),
            fq_name,
            parent,
            body: m,
            revision,
        }))
    }
}

fn take_str(m: &mut Map<String, Value>, k: &str) -> Option<String> {
    match m.remove(k) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// The id_perms of a new object, as Contrail fills them.
pub fn default_id_perms(uuid: &str) -> Value {
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string();
    let (hi, lo) = uuid::Uuid::parse_str(uuid)
        .map(|u| u.as_u64_pair())
        .unwrap_or((0, 0));
    json!({
        "enable": true,
        "uuid": {"uuid_mslong": hi, "uuid_lslong": lo},
        "created": now,
        "last_modified": now,
        "permissions": {"owner": "cloud-admin", "owner_access": 7, "group": "cloud-admin-group",
                        "group_access": 7, "other_access": 7},
        "user_visible": true,
        "description": null,
        "creator": null,
    })
}
