//! One routing instance's table in the route server: the agent paths published into it (one
//! per vrouter per prefix), the BGP paths the speaker imported into it, its config, its
//! subscribers and the prefixes changed since the last flush.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use cirrus_proto::convert::Prefix;

use super::path::{AgentPath, BgpPath};
use super::{InstanceCfg, SessionId};

#[derive(Debug)]
pub(super) struct Table {
    pub name: Arc<str>,
    /// `None` while the config has no such instance (vrouters may subscribe early).
    pub cfg: Option<Arc<InstanceCfg>>,
    pub agent: HashMap<Prefix, Vec<AgentPath>>,
    pub bgp: HashMap<Prefix, Vec<BgpPath>>,
    pub subscribers: BTreeSet<SessionId>,
    /// Prefixes whose view changed since the last flush (only kept while subscribed).
    pub dirty: HashSet<Prefix>,
}

impl Table {
    pub fn new(name: Arc<str>) -> Table {
        Table {
            name,
            cfg: None,
            agent: HashMap::new(),
            bgp: HashMap::new(),
            subscribers: BTreeSet::new(),
            dirty: HashSet::new(),
        }
    }

    /// Adds or replaces vrouter `path.vrouter`'s path; false when nothing changed.
    pub fn upsert_agent(&mut self, prefix: Prefix, path: AgentPath) -> bool {
        let paths = self.agent.entry(prefix).or_default();
        match paths.iter_mut().find(|p| p.vrouter == path.vrouter) {
            Some(p) if *p == path => false,
            Some(p) => {
                *p = path;
                true
            }
            None => {
                paths.push(path);
                true
            }
        }
    }

    /// Removes vrouter `v`'s path (only when stale, with `only_stale`); true when removed.
    pub fn remove_agent(&mut self, prefix: Prefix, v: u32, only_stale: bool) -> bool {
        let Some(paths) = self.agent.get_mut(&prefix) else {
            return false;
        };
        let before = paths.len();
        paths.retain(|p| p.vrouter != v || (only_stale && !p.stale));
        let removed = paths.len() != before;
        if paths.is_empty() {
            self.agent.remove(&prefix);
        }
        removed
    }

    pub fn mark_stale(&mut self, v: u32, prefixes: &[Prefix]) {
        for p in prefixes {
            if let Some(paths) = self.agent.get_mut(p) {
                for a in paths.iter_mut().filter(|a| a.vrouter == v) {
                    a.stale = true;
                }
            }
        }
    }

    /// Replaces the BGP paths of a prefix; marks it dirty when they changed.
    pub fn set_bgp(&mut self, prefix: Prefix, paths: Vec<BgpPath>) {
        let old = if paths.is_empty() {
            self.bgp.remove(&prefix)
        } else {
            self.bgp.insert(prefix, paths.clone())
        };
        if old.as_ref() != Some(&paths)
            && !(old.is_none() && paths.is_empty())
            && !self.subscribers.is_empty()
        {
            self.dirty.insert(prefix);
        }
    }
}
