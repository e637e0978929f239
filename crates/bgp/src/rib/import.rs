//! Import by route target: the copy of a global destination's best path that each importing
//! instance holds, moved when the best path or the instances change, and noted in the
//! instance feed when it came from a peer.

use std::collections::{HashMap, HashSet};

use super::GlobalDest;
use super::best::Source;
use super::instance::{self, Instance};
use crate::ext_community::ExtCommunity;
use crate::types::Nlri;

/// Notes in the instance feed (when it is on) that `(instance, key)` changed.
fn note(feed: &mut Option<&mut HashSet<(String, Nlri)>>, instance: &str, key: &Nlri) {
    if let Some(f) = feed.as_deref_mut() {
        f.insert((instance.to_string(), key.clone()));
    }
}

/// Moves the imported copy of a global destination's best path between instances.
pub(super) fn reimport(
    instances: &mut HashMap<String, Instance>,
    key: &Nlri,
    g: &mut GlobalDest,
    mut feed: Option<&mut HashSet<(String, Nlri)>>,
) {
    if instances.is_empty() && g.imported.is_none() {
        // Nothing to move (a pure route server): skip the target set built below.
        return;
    }
    let Some(lk) = instance::local_key(key) else {
        return;
    };
    for name in g.imported.take().map(|b| *b).unwrap_or_default() {
        if let Some(inst) = instances.get_mut(&name)
            && let Some(d) = inst.table.get_mut(&lk)
        {
            if d.paths
                .iter()
                .any(|p| p.imported_from.as_deref() == Some(key) && p.source.peer_id().is_some())
            {
                note(&mut feed, &name, &lk);
            }
            d.paths.retain(|p| p.imported_from.as_deref() != Some(key));
            d.reselect();
            if d.paths.is_empty() {
                inst.table.remove(&lk);
            }
        }
    }
    let Some(best) = g.dest.best_path().cloned() else {
        return;
    };
    let targets: HashSet<ExtCommunity> = best.attrs.route_targets().copied().collect();
    for (name, inst) in instances.iter_mut() {
        // A route exported by an instance is already in that instance as a local path.
        if matches!(&*best.source, Source::Local { instance } if instance == name)
            || !inst.imports(&targets)
        {
            continue;
        }
        if best.source.peer_id().is_some() {
            note(&mut feed, name, &lk);
        }
        let d = inst.table.entry(lk.clone()).or_default();
        let mut p = best.clone();
        p.imported_from = Some(Box::new(key.clone()));
        d.paths.push(p);
        d.reselect();
        g.imported
            .get_or_insert_with(Default::default)
            .push(name.clone());
    }
}
