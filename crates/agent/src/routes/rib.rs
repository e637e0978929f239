//! Routes learned from one or two controllers, per session and instance, and the view the
//! agent forwards by: for each prefix the union of every session's next hops. When a
//! session ends its routes stay, marked stale, until another session has sent end-of-RIB
//! for that instance (it has resent everything it knows), the same session comes back and
//! sends its own end-of-RIB (what it did not resend is gone), or they have been stale for
//! the stale timeout. Sans-I/O: time comes in as seconds on any monotonic clock.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cirrus_proto::convert::Prefix;

use super::entry::{NextHop, Route};

/// One session's routes of one instance.
#[derive(Debug, Default, Clone)]
struct Held {
    routes: BTreeMap<Prefix, (Route, bool)>,
    /// End-of-RIB received on the current connection.
    eor: bool,
}

/// Index of a controller session (0 or 1).
pub type SessionIdx = usize;

/// What [`Rib::handle`] was told.
#[derive(Debug, Clone)]
pub enum RibEvent {
    /// Routes of an instance from a session (`reach` replaces each key's whole entry).
    Update {
        session: SessionIdx,
        instance: String,
        reach: Vec<Route>,
        unreach: Vec<Prefix>,
        end_of_rib: bool,
    },
    /// A session ended at `now`: its routes become stale.
    SessionDown { session: SessionIdx, now: u64 },
    /// A session (re)connected: nothing changes until it sends end-of-RIB.
    SessionUp { session: SessionIdx },
    /// The agent no longer serves an instance.
    Forget { instance: String },
    /// Time passed: stale routes older than the timeout go.
    Tick { now: u64 },
}

/// Counters of what happened.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RibCounters {
    pub reach: u64,
    pub unreach: u64,
    pub end_of_rib: u64,
    pub stale_marked: u64,
    pub stale_swept: u64,
    pub stale_expired: u64,
}

/// Routes of every session and instance.
#[derive(Debug, Clone)]
pub struct Rib {
    sessions: HashMap<SessionIdx, HashMap<String, Held>>,
    /// When each session went down (stale since), while it is down.
    down_since: HashMap<SessionIdx, u64>,
    stale_timeout: u64,
    pub counters: RibCounters,
    /// Bumped on every change to the merged view.
    generation: u64,
}

impl Rib {
    pub fn new(stale_timeout_secs: u64) -> Self {
        Self {
            sessions: HashMap::new(),
            down_since: HashMap::new(),
            stale_timeout: stale_timeout_secs,
            counters: RibCounters::default(),
            generation: 0,
        }
    }

    /// The one transition function: applies an event; returns the instances whose merged
    /// routes may have changed.
    pub fn handle(&mut self, ev: RibEvent) -> BTreeSet<String> {
        let mut changed = BTreeSet::new();
        match ev {
            RibEvent::Update {
                session,
                instance,
                reach,
                unreach,
                end_of_rib,
            } => {
                let held = self
                    .sessions
                    .entry(session)
                    .or_default()
                    .entry(instance.clone())
                    .or_default();
                self.counters.reach += reach.len() as u64;
                self.counters.unreach += unreach.len() as u64;
                let touched = !reach.is_empty() || !unreach.is_empty();
                for r in reach {
                    held.routes.insert(r.prefix, (r, false));
                }
                for p in unreach {
                    held.routes.remove(&p);
                }
                if touched {
                    changed.insert(instance.clone());
                }
                if end_of_rib {
                    self.counters.end_of_rib += 1;
                    held.eor = true;
                    // This session's own leftovers from before its reconnect.
                    let before = held.routes.len();
                    held.routes.retain(|_, (_, stale)| !*stale);
                    let mut swept = (before - held.routes.len()) as u64;
                    // Another session has resent everything: what a lost one left is
                    // no longer needed.
                    for (s, per) in self.sessions.iter_mut() {
                        if *s == session {
                            continue;
                        }
                        if let Some(h) = per.get_mut(&instance) {
                            let before = h.routes.len();
                            h.routes.retain(|_, (_, stale)| !*stale);
                            swept += (before - h.routes.len()) as u64;
                        }
                    }
                    self.counters.stale_swept += swept;
                    if swept > 0 {
                        changed.insert(instance);
                    }
                }
            }
            RibEvent::SessionDown { session, now } => {
                self.down_since.entry(session).or_insert(now);
                if let Some(per) = self.sessions.get_mut(&session) {
                    for (inst, h) in per.iter_mut() {
                        h.eor = false;
                        for (_, stale) in h.routes.values_mut() {
                            if !*stale {
                                *stale = true;
                                self.counters.stale_marked += 1;
                            }
                        }
                        if !h.routes.is_empty() {
                            changed.insert(inst.clone());
                        }
                    }
                }
            }
            RibEvent::SessionUp { session } => {
                self.down_since.remove(&session);
            }
            RibEvent::Forget { instance } => {
                for per in self.sessions.values_mut() {
                    if per.remove(&instance).is_some() {
                        changed.insert(instance.clone());
                    }
                }
            }
            RibEvent::Tick { now } => {
                for (s, since) in self.down_since.clone() {
                    if now.saturating_sub(since) < self.stale_timeout {
                        continue;
                    }
                    if let Some(per) = self.sessions.get_mut(&s) {
                        for (inst, h) in per.iter_mut() {
                            let before = h.routes.len();
                            h.routes.retain(|_, (_, stale)| !*stale);
                            let gone = (before - h.routes.len()) as u64;
                            if gone > 0 {
                                self.counters.stale_expired += gone;
                                changed.insert(inst.clone());
                            }
                        }
                    }
                }
            }
        }
        if !changed.is_empty() {
            self.generation += 1;
        }
        changed
    }

    /// Whether any session has sent end-of-RIB for `instance` on its current connection.
    pub fn has_end_of_rib(&self, instance: &str) -> bool {
        self.sessions
            .values()
            .any(|per| per.get(instance).is_some_and(|h| h.eor))
    }

    /// The merged routes of an instance: per prefix, every session's next hops (each
    /// (address, label, vni) once); origin, groups and tags from the first session that
    /// has the prefix, the most preferred (highest local_pref) paths only.
    pub fn routes(&self, instance: &str) -> BTreeMap<Prefix, Route> {
        let mut out: BTreeMap<Prefix, Route> = BTreeMap::new();
        let mut sessions: Vec<_> = self.sessions.iter().collect();
        sessions.sort_by_key(|(s, _)| **s);
        for (_, per) in sessions {
            let Some(h) = per.get(instance) else { continue };
            for (p, (r, _)) in &h.routes {
                match out.get_mut(p) {
                    None => {
                        out.insert(*p, r.clone());
                    }
                    Some(m) if r.local_pref > m.local_pref => *m = r.clone(),
                    Some(m) if r.local_pref == m.local_pref => {
                        for n in &r.nexthops {
                            if !m.nexthops.iter().any(|x| x.key() == n.key()) {
                                m.nexthops.push(n.clone());
                            }
                        }
                        m.nexthops.sort();
                        for sg in &r.security_groups {
                            if !m.security_groups.contains(sg) {
                                m.security_groups.push(*sg);
                            }
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        out
    }

    /// Instances with routes held.
    pub fn instances(&self) -> BTreeSet<String> {
        self.sessions
            .values()
            .flat_map(|per| {
                per.iter()
                    .filter(|(_, h)| !h.routes.is_empty())
                    .map(|(i, _)| i.clone())
            })
            .collect()
    }

    /// Routes held per session for an instance: (fresh, stale).
    pub fn held(&self, session: SessionIdx, instance: &str) -> (usize, usize) {
        let Some(h) = self.sessions.get(&session).and_then(|p| p.get(instance)) else {
            return (0, 0);
        };
        let stale = h.routes.values().filter(|(_, s)| *s).count();
        (h.routes.len() - stale, stale)
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Routes held from a session in all instances: (fresh, stale).
    pub fn held_total(&self, session: SessionIdx) -> (usize, usize) {
        let Some(per) = self.sessions.get(&session) else {
            return (0, 0);
        };
        per.values().fold((0, 0), |(f, st), h| {
            let stale = h.routes.values().filter(|(_, s)| *s).count();
            (f + h.routes.len() - stale, st + stale)
        })
    }
}

/// Next hops of a route, for tests and dumps.
pub fn endpoints(r: &Route) -> Vec<(String, u32)> {
    r.nexthops
        .iter()
        .map(|n: &NextHop| (n.address.to_string(), n.label))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::global::Encap;

    fn route(p: &str, ep: &str, label: u32) -> Route {
        Route {
            prefix: crate::config::parse_prefix(p).unwrap(),
            nexthops: vec![NextHop {
                address: ep.parse().unwrap(),
                label,
                vni: 0,
                encaps: vec![Encap::MplsOverUdp],
                mac: None,
                origin: ep.into(),
            }],
            origin_network: "d:p:red".into(),
            security_groups: vec![],
            tags: vec![],
            local_pref: 100,
        }
    }

    fn update(session: SessionIdx, reach: Vec<Route>, eor: bool) -> RibEvent {
        RibEvent::Update {
            session,
            instance: "d:p:red:red".into(),
            reach,
            unreach: vec![],
            end_of_rib: eor,
        }
    }

    const I: &str = "d:p:red:red";

    #[test]
    fn two_sessions_union_and_a_lost_one_stays_until_the_other_resends() {
        let mut rib = Rib::new(60);
        rib.handle(update(
            0,
            vec![route("10.1.0.4/32", "198.18.0.12", 20)],
            true,
        ));
        rib.handle(update(
            1,
            vec![
                route("10.1.0.4/32", "198.18.0.13", 21),
                route("10.1.0.5/32", "198.18.0.13", 22),
            ],
            false,
        ));
        let r = rib.routes(I);
        assert_eq!(r.len(), 2);
        assert_eq!(
            endpoints(&r[&crate::config::parse_prefix("10.1.0.4/32").unwrap()]),
            vec![("198.18.0.12".into(), 20), ("198.18.0.13".into(), 21)]
        );
        // Session 1 goes: its routes stay (stale).
        rib.handle(RibEvent::SessionDown {
            session: 1,
            now: 100,
        });
        assert_eq!(rib.routes(I).len(), 2);
        assert_eq!(rib.held(1, I), (0, 2));
        // Session 0 sends end-of-RIB again (e.g. after its own reconnect): session 1's
        // stale routes go.
        let changed = rib.handle(update(0, vec![], true));
        assert!(changed.contains(I));
        let r = rib.routes(I);
        assert_eq!(r.len(), 1);
        assert_eq!(rib.counters.stale_swept, 2);
    }

    #[test]
    fn a_returning_session_sweeps_only_what_it_did_not_resend() {
        let mut rib = Rib::new(60);
        rib.handle(update(
            0,
            vec![
                route("10.1.0.4/32", "198.18.0.12", 20),
                route("10.1.0.5/32", "198.18.0.12", 21),
            ],
            true,
        ));
        rib.handle(RibEvent::SessionDown {
            session: 0,
            now: 10,
        });
        rib.handle(RibEvent::SessionUp { session: 0 });
        assert!(!rib.has_end_of_rib(I));
        rib.handle(update(
            0,
            vec![route("10.1.0.4/32", "198.18.0.12", 20)],
            false,
        ));
        // Before end-of-RIB both are still there (no gap while resending).
        assert_eq!(rib.routes(I).len(), 2);
        rib.handle(update(0, vec![], true));
        assert_eq!(rib.routes(I).len(), 1);
        assert!(rib.has_end_of_rib(I));
    }

    #[test]
    fn stale_routes_expire_after_the_timeout() {
        let mut rib = Rib::new(30);
        rib.handle(update(
            0,
            vec![route("10.1.0.4/32", "198.18.0.12", 20)],
            true,
        ));
        rib.handle(RibEvent::SessionDown {
            session: 0,
            now: 100,
        });
        assert!(rib.handle(RibEvent::Tick { now: 129 }).is_empty());
        assert_eq!(rib.routes(I).len(), 1);
        assert!(rib.handle(RibEvent::Tick { now: 130 }).contains(I));
        assert!(rib.routes(I).is_empty());
        assert_eq!(rib.counters.stale_expired, 1);
    }

    #[test]
    fn preferred_paths_win_and_forget_drops_an_instance() {
        let mut rib = Rib::new(30);
        let mut hi = route("10.1.0.9/32", "198.18.0.14", 30);
        hi.local_pref = 200;
        rib.handle(update(
            0,
            vec![route("10.1.0.9/32", "198.18.0.12", 20)],
            true,
        ));
        rib.handle(update(1, vec![hi], true));
        let r = rib.routes(I);
        assert_eq!(
            endpoints(r.values().next().unwrap()),
            vec![("198.18.0.14".into(), 30)]
        );
        rib.handle(RibEvent::Forget { instance: I.into() });
        assert!(rib.routes(I).is_empty());
        assert!(rib.instances().is_empty());
    }
}
