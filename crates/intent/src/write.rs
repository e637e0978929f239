//! What the compiler asks the write-back to do, in the order it must be done: reserve
//! route-target numbers, create route targets, update the objects that carry derived fields,
//! create and delete derived ACLs, then delete route targets nobody uses and free their
//! numbers (a ref must go before the object it names, an object before its number).

use std::collections::BTreeMap;

use cirrus_api::index::Index;
use cirrus_api::object::Obj;
use serde_json::{Map, Value};

use crate::json::{canonical, same_refs};

/// The id pool (`/cirrus/id/rt/<n>`, value: the owner's uuid) that keeps route-target numbers.
pub const TARGET_POOL: &str = "rt";

#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Reserve number `n` for `owner` (a routing instance or a logical router): the pool key
    /// must be absent.
    ReserveTarget { n: u64, owner: String },
    /// Free number `n`.
    ReleaseTarget { n: u64 },
    Create {
        type_name: &'static str,
        fq_name: Vec<String>,
        parent_type: Option<&'static str>,
        body: Map<String, Value>,
    },
    /// Set these fields of an existing object (the others stay as they are).
    Update {
        type_name: &'static str,
        uuid: String,
        fq_name: Vec<String>,
        body: Map<String, Value>,
    },
    Delete {
        type_name: &'static str,
        uuid: String,
        fq_name: Vec<String>,
    },
}

impl Write {
    /// One line for the log.
    pub fn describe(&self) -> String {
        match self {
            Write::ReserveTarget { n, owner } => {
                format!("reserve route-target number {n} for {owner}")
            }
            Write::ReleaseTarget { n } => format!("release route-target number {n}"),
            Write::Create {
                type_name, fq_name, ..
            } => format!("create {type_name} {}", fq_name.join(":")),
            Write::Update {
                type_name,
                fq_name,
                body,
                ..
            } => format!(
                "update {type_name} {} ({})",
                fq_name.join(":"),
                body.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            Write::Delete {
                type_name, fq_name, ..
            } => format!("delete {type_name} {}", fq_name.join(":")),
        }
    }
}

/// Writes collected during one compile, kept in phases.
#[derive(Default)]
pub struct Emit {
    reserve: Vec<Write>,
    create_targets: BTreeMap<String, Write>,
    updates: Vec<Write>,
    create_acls: Vec<Write>,
    delete_acls: Vec<Write>,
    delete_targets: BTreeMap<String, Write>,
    release: Vec<Write>,
}

impl Emit {
    pub fn reserve(&mut self, n: u64, owner: &str) {
        self.reserve.push(Write::ReserveTarget {
            n,
            owner: owner.to_string(),
        });
    }

    pub fn release(&mut self, n: u64) {
        self.release.push(Write::ReleaseTarget { n });
    }

    /// Makes sure route target `name` exists.
    pub fn need_target(&mut self, index: &Index, name: &str) {
        self.delete_targets.remove(name);
        if index.by_fq_name("route-target", name).is_none() {
            self.create_targets
                .entry(name.to_string())
                .or_insert_with(|| Write::Create {
                    type_name: "route-target",
                    fq_name: vec![name.to_string()],
                    parent_type: None,
                    body: Map::new(),
                });
        }
    }

    /// Deletes route target `name` if it exists.
    pub fn drop_target(&mut self, index: &Index, name: &str) {
        if self.create_targets.contains_key(name) {
            return;
        }
        if let Some(rt) = index.by_fq_name("route-target", name) {
            self.delete_targets.insert(
                name.to_string(),
                Write::Delete {
                    type_name: "route-target",
                    uuid: rt.uuid.clone(),
                    fq_name: rt.fq_name.clone(),
                },
            );
        }
    }

    /// Sets `fields` on `obj` unless it already holds them (refs compared as sets, by target
    /// and attributes; properties by value).
    pub fn set_fields(&mut self, obj: &Obj, fields: Map<String, Value>) {
        let differs = fields.iter().any(|(k, want)| {
            let have = obj.body.get(k);
            if have == Some(want) {
                return false;
            }
            if k.ends_with("_refs") {
                !same_refs(have, want.as_array().map(Vec::as_slice).unwrap_or(&[]))
            } else {
                canonical(have.unwrap_or(&Value::Null)) != canonical(want)
            }
        });
        if differs {
            self.updates.push(Write::Update {
                type_name: obj.type_name(),
                uuid: obj.uuid.clone(),
                fq_name: obj.fq_name.clone(),
                body: fields,
            });
        }
    }

    /// Makes the derived ACL `fq_name` (under `parent`) hold `entries`, or removes it when
    /// `entries` is `None`. A new ACL gets its parent's `perms2`, so whoever may read the
    /// network or group may read its ACLs.
    pub fn acl(
        &mut self,
        index: &Index,
        fq_name: Vec<String>,
        parent: &Obj,
        entries: Option<Value>,
    ) {
        let parent_type = parent.type_name();
        let have = index.by_fq_name("access-control-list", &fq_name.join(":"));
        match (have, entries) {
            (Some(acl), Some(e)) => {
                let mut m = Map::new();
                m.insert("access_control_list_entries".into(), e);
                self.set_fields(acl, m);
            }
            (None, Some(e)) => {
                let mut body = Map::new();
                body.insert("access_control_list_entries".into(), e);
                if let Some(p) = parent.body.get("perms2") {
                    body.insert("perms2".into(), p.clone());
                }
                self.create_acls.push(Write::Create {
                    type_name: "access-control-list",
                    fq_name,
                    parent_type: Some(parent_type),
                    body,
                });
            }
            (Some(acl), None) => self.delete_acls.push(Write::Delete {
                type_name: "access-control-list",
                uuid: acl.uuid.clone(),
                fq_name: acl.fq_name.clone(),
            }),
            (None, None) => {}
        }
    }

    pub fn into_writes(self) -> Vec<Write> {
        let mut out = self.reserve;
        out.extend(self.create_targets.into_values());
        out.extend(self.updates);
        out.extend(self.create_acls);
        out.extend(self.delete_acls);
        out.extend(self.delete_targets.into_values());
        out.extend(self.release);
        out
    }
}
