//! The vrouter's slice of the config graph: objects by uuid as the controller sent them,
//! with the children and back refs derived here (the controller sends only forward refs and
//! parents). Batches of upserts and deletes are applied in order; an upsert older than the
//! stored revision is ignored, and a malformed object is refused alone (counted, named)
//! without losing the rest of its batch.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use cirrus_proto::v1::ConfigUpdate;

use super::object::Object;

/// (kind, uuid) of a related object.
pub type Link = (String, String);

/// What one batch changed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Applied {
    pub upserted: usize,
    pub deleted: usize,
    /// Upserts older than what is stored (ignored).
    pub stale: usize,
    /// Objects refused, with why.
    pub refused: Vec<String>,
    /// The kinds touched (for deciding what to recompute).
    pub kinds: BTreeSet<String>,
}

/// Objects by uuid plus the derived indexes.
#[derive(Debug, Default, Clone)]
pub struct ConfigStore {
    objects: HashMap<String, Arc<Object>>,
    by_kind: HashMap<String, BTreeSet<String>>,
    by_fq: HashMap<(String, String), String>,
    back_refs: HashMap<String, BTreeSet<Link>>,
    children: HashMap<String, BTreeSet<Link>>,
    revision: i64,
    complete: bool,
    /// Bumped by every batch that changed something.
    generation: u64,
}

impl ConfigStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one `ConfigUpdate` batch.
    pub fn apply(&mut self, u: &ConfigUpdate) -> Applied {
        let mut out = Applied::default();
        for o in &u.upsert {
            match Object::from_wire(o) {
                Ok(obj) => {
                    if let Some(old) = self.objects.get(&obj.uuid)
                        && old.revision > obj.revision
                    {
                        out.stale += 1;
                        continue;
                    }
                    out.kinds.insert(obj.kind.clone());
                    self.upsert(obj);
                    out.upserted += 1;
                }
                Err(e) => out.refused.push(e.to_string()),
            }
        }
        for k in &u.delete {
            if let Some(old) = self.remove(&k.uuid) {
                out.kinds.insert(old.kind.clone());
                out.deleted += 1;
            }
        }
        if u.revision > self.revision {
            self.revision = u.revision;
        }
        if u.end_of_config {
            self.complete = true;
        }
        if out.upserted + out.deleted > 0 {
            self.generation += 1;
        }
        out
    }

    /// Adds or replaces one object (tests build slices this way too).
    pub fn upsert(&mut self, obj: Object) {
        self.remove(&obj.uuid);
        let link: Link = (obj.kind.clone(), obj.uuid.clone());
        for r in obj.refs() {
            self.back_refs
                .entry(r.uuid.to_string())
                .or_default()
                .insert(link.clone());
        }
        if !obj.parent_uuid.is_empty() {
            self.children
                .entry(obj.parent_uuid.clone())
                .or_default()
                .insert(link.clone());
        }
        self.by_kind
            .entry(obj.kind.clone())
            .or_default()
            .insert(obj.uuid.clone());
        self.by_fq
            .insert((obj.kind.clone(), obj.fq_str()), obj.uuid.clone());
        self.objects.insert(obj.uuid.clone(), Arc::new(obj));
    }

    /// Removes one object and its index entries.
    pub fn remove(&mut self, uuid: &str) -> Option<Arc<Object>> {
        let obj = self.objects.remove(uuid)?;
        let link: Link = (obj.kind.clone(), obj.uuid.clone());
        for r in obj.refs() {
            if let Some(s) = self.back_refs.get_mut(r.uuid) {
                s.remove(&link);
                if s.is_empty() {
                    self.back_refs.remove(r.uuid);
                }
            }
        }
        if let Some(s) = self.children.get_mut(&obj.parent_uuid) {
            s.remove(&link);
            if s.is_empty() {
                self.children.remove(&obj.parent_uuid);
            }
        }
        if let Some(s) = self.by_kind.get_mut(&obj.kind) {
            s.remove(uuid);
        }
        let fq = (obj.kind.clone(), obj.fq_str());
        if self.by_fq.get(&fq).map(String::as_str) == Some(uuid) {
            self.by_fq.remove(&fq);
        }
        Some(obj)
    }

    /// Forgets everything (a new session's slice replaces the old one).
    pub fn clear(&mut self) {
        *self = ConfigStore {
            generation: self.generation + 1,
            ..ConfigStore::default()
        };
    }

    pub fn get(&self, uuid: &str) -> Option<&Arc<Object>> {
        self.objects.get(uuid)
    }

    /// The object `uuid` if it is of `kind`.
    pub fn get_kind(&self, kind: &str, uuid: &str) -> Option<&Arc<Object>> {
        self.objects.get(uuid).filter(|o| o.kind == kind)
    }

    /// By type and fq_name (joined with ':').
    pub fn by_fq_name(&self, kind: &str, fq: &str) -> Option<&Arc<Object>> {
        self.by_fq
            .get(&(kind.to_string(), fq.to_string()))
            .and_then(|u| self.objects.get(u))
    }

    /// All objects of a kind, in uuid order.
    pub fn of_kind<'a>(&'a self, kind: &str) -> impl Iterator<Item = &'a Arc<Object>> + 'a {
        self.by_kind
            .get(kind)
            .into_iter()
            .flatten()
            .filter_map(|u| self.objects.get(u))
    }

    /// Objects of `kind` that refer to `uuid`.
    pub fn back_refs<'a>(
        &'a self,
        uuid: &str,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Object>> + 'a {
        self.back_refs
            .get(uuid)
            .into_iter()
            .flatten()
            .filter(move |(k, _)| k == kind)
            .filter_map(|(_, u)| self.objects.get(u))
    }

    /// Children of `uuid` of `kind`.
    pub fn children<'a>(
        &'a self,
        uuid: &str,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Object>> + 'a {
        self.children
            .get(uuid)
            .into_iter()
            .flatten()
            .filter(move |(k, _)| k == kind)
            .filter_map(|(_, u)| self.objects.get(u))
    }

    /// Targets of `obj`'s refs to `kind` that are in the slice.
    pub fn ref_targets<'a>(
        &'a self,
        obj: &'a Object,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Object>> + 'a {
        obj.refs_to(kind)
            .filter_map(move |r| self.get_kind(kind, r.uuid))
    }

    pub fn parent(&self, obj: &Object) -> Option<&Arc<Object>> {
        self.objects.get(&obj.parent_uuid)
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Highest revision received.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// Whether the whole slice has been received (end_of_config).
    pub fn complete(&self) -> bool {
        self.complete
    }

    /// Changes whenever the content changes.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cirrus_proto::v1::{ConfigKey, ConfigObject};
    use serde_json::json;

    fn wire(
        kind: &str,
        uuid: &str,
        fq: &[&str],
        parent: &str,
        rev: i64,
        body: serde_json::Value,
    ) -> ConfigObject {
        ConfigObject {
            r#type: kind.into(),
            uuid: uuid.into(),
            fq_name: fq.iter().map(|s| s.to_string()).collect(),
            parent_type: if parent.is_empty() {
                String::new()
            } else {
                "virtual-network".into()
            },
            parent_uuid: parent.into(),
            body: serde_json::to_vec(&body).unwrap(),
            revision: rev,
        }
    }

    #[test]
    fn derives_children_and_back_refs_and_keeps_them_true() {
        let mut s = ConfigStore::new();
        let a = s.apply(&ConfigUpdate {
            revision: 5,
            upsert: vec![
                wire(
                    "virtual-network",
                    "vn1",
                    &["d", "p", "vn"],
                    "",
                    3,
                    json!({}),
                ),
                wire(
                    "access-control-list",
                    "acl1",
                    &["d", "p", "vn", "vn"],
                    "vn1",
                    4,
                    json!({}),
                ),
                wire(
                    "virtual-machine-interface",
                    "vmi1",
                    &["d", "p", "port"],
                    "",
                    5,
                    json!({"virtual_network_refs": [{"to": ["d", "p", "vn"], "uuid": "vn1"}]}),
                ),
                // Malformed body: refused alone.
                ConfigObject {
                    body: b"[1]".to_vec(),
                    ..wire("tag", "t1", &["t"], "", 1, json!({}))
                },
            ],
            delete: vec![],
            end_of_config: true,
        });
        assert_eq!(a.upserted, 3);
        assert_eq!(a.refused.len(), 1, "{:?}", a.refused);
        assert!(a.refused[0].contains("t1"));
        assert!(s.complete());
        assert_eq!(s.revision(), 5);
        let kids: Vec<_> = s
            .children("vn1", "access-control-list")
            .map(|o| o.uuid.clone())
            .collect();
        assert_eq!(kids, vec!["acl1"]);
        let users: Vec<_> = s
            .back_refs("vn1", "virtual-machine-interface")
            .map(|o| o.uuid.clone())
            .collect();
        assert_eq!(users, vec!["vmi1"]);
        assert_eq!(
            s.by_fq_name("virtual-network", "d:p:vn").unwrap().uuid,
            "vn1"
        );

        // An older revision of the port is ignored; a newer one without the ref drops the
        // back ref.
        let a = s.apply(&ConfigUpdate {
            revision: 6,
            upsert: vec![wire(
                "virtual-machine-interface",
                "vmi1",
                &["d", "p", "port"],
                "",
                4,
                json!({}),
            )],
            ..Default::default()
        });
        assert_eq!((a.upserted, a.stale), (0, 1));
        s.apply(&ConfigUpdate {
            revision: 7,
            upsert: vec![wire(
                "virtual-machine-interface",
                "vmi1",
                &["d", "p", "port"],
                "",
                7,
                json!({}),
            )],
            ..Default::default()
        });
        assert_eq!(s.back_refs("vn1", "virtual-machine-interface").count(), 0);

        let a = s.apply(&ConfigUpdate {
            revision: 8,
            delete: vec![ConfigKey {
                r#type: "access-control-list".into(),
                uuid: "acl1".into(),
            }],
            ..Default::default()
        });
        assert_eq!(a.deleted, 1);
        assert!(a.kinds.contains("access-control-list"));
        assert_eq!(s.children("vn1", "access-control-list").count(), 0);
        assert_eq!(s.len(), 2);
    }
}
