//! The in-memory index of all config state, derived only from the store's keys and kept current
//! by applying the store's watch events in revision order. Reads are served from here; writes go
//! to the store as transactions and become visible here when their event arrives.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use cirrus_store::{Event, KeyValue};

use crate::keys;
use crate::object::Obj;

type TypedId = (&'static str, String);

/// How many object changes [`Index::changes_since`] remembers; a follower that falls further
/// behind than this reads the whole index again.
pub const CHANGE_LOG: usize = 1 << 16;

#[derive(Default)]
pub struct Index {
    pub revision: i64,
    objs: HashMap<String, Arc<Obj>>,
    /// `type\0fq_name` -> uuid
    fqn: HashMap<String, String>,
    by_type: HashMap<&'static str, BTreeSet<String>>,
    children: HashMap<String, BTreeSet<TypedId>>,
    back_refs: HashMap<String, BTreeSet<TypedId>>,
    /// virtual-network uuid -> address -> owner uuid
    ips: HashMap<String, HashMap<String, String>>,
    /// pool -> allocated ids
    ids: HashMap<String, BTreeSet<u64>>,
    /// pool -> id -> the owner the id key names (its value).
    id_owners: HashMap<String, BTreeMap<u64, String>>,
    pub kv: BTreeMap<String, String>,
    relaxed: HashSet<(String, String)>,
    /// `project/type` -> revision of its quota key ([`keys::quota`]).
    quota: HashMap<String, i64>,
    /// (revision, uuid) of each object put or deleted, oldest first, at most [`CHANGE_LOG`].
    changes: VecDeque<(i64, String)>,
    /// The log holds every object change made after this revision.
    change_floor: i64,
}

fn fqn_key(type_name: &str, fq: &str) -> String {
    format!("{type_name}\0{fq}")
}

impl Index {
    pub fn get(&self, uuid: &str) -> Option<&Arc<Obj>> {
        self.objs.get(uuid)
    }

    pub fn get_typed(&self, type_name: &str, uuid: &str) -> Option<&Arc<Obj>> {
        self.objs.get(uuid).filter(|o| o.type_name() == type_name)
    }

    pub fn uuid_of(&self, type_name: &str, fq: &str) -> Option<&str> {
        self.fqn.get(&fqn_key(type_name, fq)).map(String::as_str)
    }

    pub fn by_fq_name(&self, type_name: &str, fq: &str) -> Option<&Arc<Obj>> {
        self.uuid_of(type_name, fq).and_then(|u| self.objs.get(u))
    }

    pub fn len(&self) -> usize {
        self.objs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objs.is_empty()
    }

    pub fn of_type(&self, type_name: &str) -> impl Iterator<Item = &Arc<Obj>> {
        self.by_type
            .get(type_name)
            .into_iter()
            .flatten()
            .filter_map(|u| self.objs.get(u))
    }

    pub fn of_type_from<'a>(
        &'a self,
        type_name: &str,
        after: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Arc<Obj>> {
        let set = self.by_type.get(type_name);
        let iter: Box<dyn Iterator<Item = &String>> = match (set, after) {
            (Some(s), Some(a)) => Box::new(
                s.range::<str, _>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)),
            ),
            (Some(s), None) => Box::new(s.iter()),
            (None, _) => Box::new(std::iter::empty()),
        };
        iter.filter_map(|u| self.objs.get(u))
    }

    pub fn children(&self, uuid: &str) -> impl Iterator<Item = &Arc<Obj>> {
        self.children
            .get(uuid)
            .into_iter()
            .flatten()
            .filter_map(|(_, u)| self.objs.get(u))
    }

    pub fn back_refs(&self, uuid: &str) -> impl Iterator<Item = &Arc<Obj>> {
        self.back_refs
            .get(uuid)
            .into_iter()
            .flatten()
            .filter_map(|(_, u)| self.objs.get(u))
    }

    pub fn is_relaxed(&self, to: &str, from: &str) -> bool {
        self.relaxed.contains(&(to.to_string(), from.to_string()))
    }

    /// The objects whose refs to `to` are relaxed for its deletion.
    pub fn relaxed_to<'a>(&'a self, to: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.relaxed
            .iter()
            .filter(move |(t, _)| t == to)
            .map(|(_, f)| f.as_str())
    }

    pub fn ip_owner(&self, vn: &str, addr: &str) -> Option<&str> {
        self.ips
            .get(vn)
            .and_then(|m| m.get(addr))
            .map(String::as_str)
    }

    pub fn ips_of(&self, vn: &str) -> impl Iterator<Item = (&String, &String)> {
        self.ips.get(vn).into_iter().flatten()
    }

    pub fn ids(&self, pool: &str) -> Option<&BTreeSet<u64>> {
        self.ids.get(pool)
    }

    /// The allocated ids of a pool with the owner each id key names.
    pub fn id_owners(&self, pool: &str) -> impl Iterator<Item = (u64, &str)> {
        self.id_owners
            .get(pool)
            .into_iter()
            .flatten()
            .map(|(n, o)| (*n, o.as_str()))
    }

    /// The uuids of the objects put or deleted after `revision` (each once, in the order of
    /// their last change), or `None` when the log no longer reaches back that far (the caller
    /// then reads the whole index).
    pub fn changes_since(&self, revision: i64) -> Option<Vec<String>> {
        if revision < self.change_floor {
            return None;
        }
        let start = self.changes.partition_point(|(r, _)| *r <= revision);
        let mut seen = HashSet::new();
        let mut out: Vec<String> = self
            .changes
            .range(start..)
            .rev()
            .filter(|(_, u)| seen.insert(u.as_str()))
            .map(|(_, u)| u.clone())
            .collect();
        out.reverse();
        Some(out)
    }

    fn log_change(&mut self, revision: i64, uuid: &str) {
        if self.changes.len() == CHANGE_LOG
            && let Some((r, _)) = self.changes.pop_front()
        {
            self.change_floor = self.change_floor.max(r);
        }
        self.changes.push_back((revision, uuid.to_string()));
    }

    /// Revision of the quota key of (`project`, `type_name`), 0 when it was never written:
    /// the count of that type in this index is current as of it.
    pub fn quota_revision(&self, project: &str, type_name: &str) -> i64 {
        self.quota
            .get(&format!("{project}/{type_name}"))
            .copied()
            .unwrap_or(0)
    }

    /// The quota keys of a project (deleted with it).
    pub fn quota_keys_of<'a>(&'a self, project: &'a str) -> impl Iterator<Item = String> + 'a {
        self.quota.keys().filter_map(move |k| {
            let (p, ty) = k.split_once('/')?;
            (p == project).then(|| keys::quota(p, ty))
        })
    }

    /// Applies a full range read (start-up).
    pub fn load(&mut self, kvs: Vec<KeyValue>, revision: i64) {
        for kv in kvs {
            self.put(&kv);
        }
        self.revision = revision;
        // What was loaded is not a change: the log starts here.
        self.changes.clear();
        self.change_floor = revision;
    }

    pub fn apply(&mut self, events: &[Event]) {
        for ev in events {
            match ev {
                Event::Put(kv) => {
                    self.put(kv);
                    self.revision = self.revision.max(kv.mod_revision);
                }
                Event::Delete { key, mod_revision } => {
                    self.delete(key, *mod_revision);
                    self.revision = self.revision.max(*mod_revision);
                }
            }
        }
    }

    fn put(&mut self, kv: &KeyValue) {
        let key = kv.key.as_str();
        if let Some(uuid) = key.strip_prefix(keys::OBJ) {
            match Obj::from_stored(&kv.value, kv.mod_revision) {
                Ok(obj) => {
                    self.remove_obj(uuid);
                    self.insert_obj(obj);
                    self.log_change(kv.mod_revision, uuid);
                }
                Err(e) => tracing::error!(key, error = %e, "skipping unreadable object"),
            }
        } else if let Some(rest) = key.strip_prefix(keys::IP) {
            if let Some((vn, addr)) = rest.split_once('/') {
                let owner = String::from_utf8_lossy(&kv.value).into_owned();
                self.ips
                    .entry(vn.to_string())
                    .or_default()
                    .insert(addr.to_string(), owner);
            }
        } else if let Some(rest) = key.strip_prefix(keys::ID) {
            if let Some((pool, v)) = rest.split_once('/')
                && let Ok(v) = v.parse()
            {
                self.ids.entry(pool.to_string()).or_default().insert(v);
                self.id_owners
                    .entry(pool.to_string())
                    .or_default()
                    .insert(v, String::from_utf8_lossy(&kv.value).into_owned());
            }
        } else if let Some(k) = key.strip_prefix(keys::KV) {
            self.kv.insert(
                k.to_string(),
                String::from_utf8_lossy(&kv.value).into_owned(),
            );
        } else if let Some(rest) = key.strip_prefix(keys::RELAX)
            && let Some((to, from)) = rest.split_once('/')
        {
            self.relaxed.insert((to.to_string(), from.to_string()));
        } else if let Some(rest) = key.strip_prefix(keys::QUOTA) {
            self.quota.insert(rest.to_string(), kv.mod_revision);
        }
        // FQN keys need no index of their own: objects carry their fq_name.
    }

    fn delete(&mut self, key: &str, revision: i64) {
        if let Some(uuid) = key.strip_prefix(keys::OBJ) {
            if self.objs.contains_key(uuid) {
                self.log_change(revision, uuid);
            }
            self.remove_obj(uuid);
        } else if let Some(rest) = key.strip_prefix(keys::IP) {
            if let Some((vn, addr)) = rest.split_once('/')
                && let Some(m) = self.ips.get_mut(vn)
            {
                m.remove(addr);
                if m.is_empty() {
                    self.ips.remove(vn);
                }
            }
        } else if let Some(rest) = key.strip_prefix(keys::ID) {
            if let Some((pool, v)) = rest.split_once('/')
                && let (Some(set), Ok(v)) = (self.ids.get_mut(pool), v.parse())
            {
                set.remove(&v);
                if let Some(owners) = self.id_owners.get_mut(pool) {
                    owners.remove(&v);
                }
            }
        } else if let Some(k) = key.strip_prefix(keys::KV) {
            self.kv.remove(k);
        } else if let Some(rest) = key.strip_prefix(keys::RELAX)
            && let Some((to, from)) = rest.split_once('/')
        {
            self.relaxed.remove(&(to.to_string(), from.to_string()));
        } else if let Some(rest) = key.strip_prefix(keys::QUOTA) {
            self.quota.remove(rest);
        }
    }

    fn insert_obj(&mut self, obj: Arc<Obj>) {
        let t = obj.type_name();
        self.fqn.insert(fqn_key(t, &obj.fq_str), obj.uuid.clone());
        self.by_type.entry(t).or_default().insert(obj.uuid.clone());
        if let Some(p) = &obj.parent {
            self.children
                .entry(p.uuid.clone())
                .or_default()
                .insert((t, obj.uuid.clone()));
        }
        for r in obj.refs() {
            self.back_refs
                .entry(r.uuid.to_string())
                .or_default()
                .insert((t, obj.uuid.clone()));
        }
        self.objs.insert(obj.uuid.clone(), obj);
    }

    fn remove_obj(&mut self, uuid: &str) {
        let Some(obj) = self.objs.remove(uuid) else {
            return;
        };
        let t = obj.type_name();
        let k = fqn_key(t, &obj.fq_str);
        if self.fqn.get(&k).is_some_and(|u| u == uuid) {
            self.fqn.remove(&k);
        }
        if let Some(s) = self.by_type.get_mut(t) {
            s.remove(uuid);
        }
        let id = (t, obj.uuid.clone());
        if let Some(p) = &obj.parent
            && let Some(s) = self.children.get_mut(&p.uuid)
        {
            s.remove(&id);
            if s.is_empty() {
                self.children.remove(&p.uuid);
            }
        }
        for r in obj.refs() {
            if let Some(s) = self.back_refs.get_mut(r.uuid) {
                s.remove(&id);
                if s.is_empty() {
                    self.back_refs.remove(r.uuid);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj_kv(uuid: &str, rev: i64) -> KeyValue {
        let doc = serde_json::json!({"type": "project", "uuid": uuid, "fq_name": ["d", uuid]});
        KeyValue {
            key: keys::obj(uuid),
            value: serde_json::to_vec(&doc).unwrap(),
            create_revision: rev,
            mod_revision: rev,
        }
    }

    #[test]
    fn the_change_log_names_what_changed_after_a_revision() {
        let mut idx = Index::default();
        idx.load(vec![obj_kv("a", 1)], 1);
        assert_eq!(idx.changes_since(1), Some(vec![]));
        assert_eq!(idx.changes_since(0), None, "before the load: unknown");
        idx.apply(&[Event::Put(obj_kv("b", 2))]);
        idx.apply(&[Event::Put(obj_kv("a", 3))]);
        idx.apply(&[Event::Delete {
            key: keys::obj("b"),
            mod_revision: 4,
        }]);
        assert_eq!(idx.changes_since(1), Some(vec!["a".into(), "b".into()]));
        assert_eq!(idx.changes_since(3), Some(vec!["b".into()]));
        // Id keys keep their owner.
        idx.apply(&[Event::Put(KeyValue {
            key: keys::id("rt", 8_000_000),
            value: b"owner".to_vec(),
            create_revision: 5,
            mod_revision: 5,
        })]);
        assert_eq!(
            idx.id_owners("rt").collect::<Vec<_>>(),
            vec![(8_000_000, "owner")]
        );
    }

    #[test]
    fn a_full_log_forgets_its_oldest_changes() {
        let mut idx = Index::default();
        idx.load(vec![], 0);
        for i in 0..CHANGE_LOG as i64 + 10 {
            idx.apply(&[Event::Put(obj_kv("x", i + 1))]);
        }
        assert_eq!(idx.changes_since(0), None);
        assert_eq!(idx.changes_since(idx.revision - 1), Some(vec!["x".into()]));
    }
}
