//! Renders stored objects in the JSON shapes the VNC API returns: identity fields, properties,
//! refs with hrefs, and on request children and back refs derived from the index.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value, json};

use crate::index::Index;
use crate::object::Obj;

/// What to include beyond the identity fields.
#[derive(Debug, Clone)]
pub struct Selection {
    /// All properties and forward refs.
    pub all: bool,
    pub children: bool,
    pub back_refs: bool,
    pub hrefs: bool,
    /// Individual fields asked for with `fields=` (props, refs, children or back refs).
    pub fields: HashSet<String>,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            all: true,
            children: true,
            back_refs: true,
            hrefs: true,
            fields: HashSet::new(),
        }
    }
}

pub fn href(base: &str, type_name: &str, uuid: &str) -> String {
    format!("{base}/{type_name}/{uuid}")
}

pub fn render(obj: &Obj, index: &Index, base: &str, sel: &Selection) -> Value {
    let mut m = Map::new();
    m.insert("uuid".into(), json!(obj.uuid));
    m.insert("fq_name".into(), json!(obj.fq_name));
    m.insert("name".into(), json!(obj.name()));
    if let Some(p) = &obj.parent {
        m.insert("parent_type".into(), json!(p.type_name));
        m.insert("parent_uuid".into(), json!(p.uuid));
        if sel.hrefs {
            m.insert(
                "parent_href".into(),
                json!(href(base, p.type_name, &p.uuid)),
            );
        }
    } else {
        m.insert("parent_type".into(), json!("config-root"));
    }
    if sel.hrefs {
        m.insert("href".into(), json!(href(base, obj.type_name(), &obj.uuid)));
    }
    for (k, v) in &obj.body {
        if !(sel.all || sel.fields.contains(k)) {
            continue;
        }
        if let (true, Some(def)) = (sel.hrefs, obj.ty.ref_by_field(k)) {
            let to_type = def.to.as_str();
            let refs: Vec<Value> = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    let u = v_uuid(r);
                    let mut r = r.clone();
                    if let (Some(o), Some(u)) = (r.as_object_mut(), u) {
                        o.insert("href".into(), json!(href(base, to_type, &u)));
                    }
                    r
                })
                .collect();
            m.insert(k.clone(), Value::Array(refs));
        } else {
            m.insert(k.clone(), v.clone());
        }
    }
    if sel.children || !sel.fields.is_empty() {
        let mut groups: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for c in index.children(&obj.uuid) {
            let field = c.ty.children_field();
            if !(sel.children || sel.fields.contains(field)) {
                continue;
            }
            let mut e = json!({"to": c.fq_name, "uuid": c.uuid});
            if sel.hrefs {
                e["href"] = json!(href(base, c.type_name(), &c.uuid));
            }
            groups.entry(field).or_default().push(e);
        }
        for (k, v) in groups {
            m.insert(k.to_string(), Value::Array(v));
        }
    }
    if sel.back_refs || !sel.fields.is_empty() {
        let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for src in index.back_refs(&obj.uuid) {
            let field = format!("{}_back_refs", src.ty.underscored());
            if !(sel.back_refs || sel.fields.contains(&field)) {
                continue;
            }
            for r in src.refs().filter(|r| r.uuid == obj.uuid) {
                let mut e = json!({"to": src.fq_name, "uuid": src.uuid, "attr": r.attr});
                if sel.hrefs {
                    e["href"] = json!(href(base, src.type_name(), &src.uuid));
                }
                groups.entry(field.clone()).or_default().push(e);
            }
        }
        for (k, v) in groups {
            m.insert(k, Value::Array(v));
        }
    }
    Value::Object(m)
}

fn v_uuid(r: &Value) -> Option<String> {
    r.get("uuid").and_then(Value::as_str).map(str::to_string)
}
