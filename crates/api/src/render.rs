//! Renders stored objects in the JSON shapes the VNC API returns: identity fields, properties,
//! refs with hrefs, and on request children and back refs derived from the index.

use std::collections::{BTreeMap, HashSet};

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Value, json};

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

/// Renders one object as a JSON value (single-object reads and create answers).
pub fn render(obj: &Obj, index: &Index, base: &str, sel: &Selection) -> Value {
    serde_json::to_value(View {
        obj,
        index,
        base,
        sel,
    })
    .unwrap_or(Value::Null)
}

/// An object as the API shows it, serialized straight from the stored body without building an
/// intermediate JSON tree (lists of 10k objects are written this way).
pub struct View<'a> {
    pub obj: &'a Obj,
    pub index: &'a Index,
    pub base: &'a str,
    pub sel: &'a Selection,
}

impl Serialize for View<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (obj, base, sel) = (self.obj, self.base, self.sel);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("uuid", &obj.uuid)?;
        m.serialize_entry("fq_name", &obj.fq_name)?;
        m.serialize_entry("name", obj.name())?;
        match &obj.parent {
            Some(p) => {
                m.serialize_entry("parent_type", p.type_name)?;
                m.serialize_entry("parent_uuid", &p.uuid)?;
                if sel.hrefs {
                    m.serialize_entry("parent_href", &href(base, p.type_name, &p.uuid))?;
                }
            }
            None => m.serialize_entry("parent_type", "config-root")?,
        }
        if sel.hrefs {
            m.serialize_entry("href", &href(base, obj.type_name(), &obj.uuid))?;
        }
        for (k, v) in &obj.body {
            if !(sel.all || sel.fields.contains(k)) || k == crate::ops::POSITIONS {
                continue;
            }
            match (sel.hrefs, obj.ty.ref_by_field(k)) {
                (true, Some(def)) => m.serialize_entry(
                    k,
                    &RefsWithHref {
                        list: v,
                        base,
                        to_type: &def.to,
                    },
                )?,
                _ => m.serialize_entry(k, v)?,
            }
        }
        if sel.children || !sel.fields.is_empty() {
            let mut groups: BTreeMap<&str, Vec<&Obj>> = BTreeMap::new();
            for c in self.index.children(&obj.uuid) {
                let field = c.ty.children_field();
                if sel.children || sel.fields.contains(field) {
                    groups.entry(field).or_default().push(c);
                }
            }
            for (k, list) in groups {
                let v: Vec<Value> = list
                    .iter()
                    .map(|c| {
                        let mut e = json!({"to": c.fq_name, "uuid": c.uuid});
                        if sel.hrefs {
                            e["href"] = json!(href(base, c.type_name(), &c.uuid));
                        }
                        e
                    })
                    .collect();
                m.serialize_entry(k, &v)?;
            }
        }
        if sel.back_refs || !sel.fields.is_empty() {
            let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
            for src in self.index.back_refs(&obj.uuid) {
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
                m.serialize_entry(&k, &v)?;
            }
        }
        m.end()
    }
}

/// A stored ref list with each entry's href added.
struct RefsWithHref<'a> {
    list: &'a Value,
    base: &'a str,
    to_type: &'a str,
}

impl Serialize for RefsWithHref<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(list) = self.list.as_array() else {
            return self.list.serialize(s);
        };
        let mut seq = s.serialize_seq(Some(list.len()))?;
        for r in list {
            seq.serialize_element(&RefWithHref {
                r,
                base: self.base,
                to_type: self.to_type,
            })?;
        }
        seq.end()
    }
}

struct RefWithHref<'a> {
    r: &'a Value,
    base: &'a str,
    to_type: &'a str,
}

impl Serialize for RefWithHref<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(o) = self.r.as_object() else {
            return self.r.serialize(s);
        };
        let mut m = s.serialize_map(Some(o.len() + 1))?;
        for (k, v) in o {
            if k != "href" {
                m.serialize_entry(k, v)?;
            }
        }
        if let Some(u) = o.get("uuid").and_then(Value::as_str) {
            m.serialize_entry("href", &href(self.base, self.to_type, u))?;
        }
        m.end()
    }
}
