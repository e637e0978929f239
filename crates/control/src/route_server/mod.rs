//! The route server: one table per routing instance, fed by vrouters (over the channel) and by
//! BGP (the speaker's instance tables), with route-target import/export between instances, and
//! the route updates each subscribed vrouter must be sent. Sans-I/O: [`RouteServer::handle`]
//! takes one [`Event`] and returns the [`Action`]s to carry out; every transition is counted
//! ([`Counters`]) and logged.
//!
//! Route changes are collected per instance as "dirty" prefixes and turned into `RouteUpdate`s
//! at [`Event::Flush`]: each update is built once per instance and handed to every subscriber
//! of that instance, so the caller can encode it once and send the same bytes to all of them.
//! A prefix's update carries its full next-hop set (see [`path::build_route`]).
//!
//! Instance `B` shows the agent routes of every instance `A` whose export targets `B` imports
//! (and its own), plus the BGP routes the speaker imported into `B`: the same targets the BGP
//! speaker uses, from [`crate::bgp_config`].

pub mod path;
mod query;
mod table;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use cirrus_bgp::ext_community::ExtCommunity;
use cirrus_proto::convert::Prefix;
use cirrus_proto::v1 as pb;
use serde::Serialize;

pub use query::VrouterView;

pub use path::{AgentPath, BgpPath, Encaps, RouteMeta, VrouterInfo};
use table::Table;

/// A channel session (one per vrouter per controller).
pub type SessionId = u64;

/// Routes per `RouteUpdate` message: large enough to amortise framing, small enough to stay
/// far below gRPC's 4 MiB message limit.
pub const ROUTES_PER_UPDATE: usize = 1024;

/// What the config says about a routing instance.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstanceCfg {
    pub import: BTreeSet<ExtCommunity>,
    pub export: BTreeSet<ExtCommunity>,
    /// The virtual network's id: the second half of the RD vrouters' routes get in BGP.
    pub index: Option<u16>,
    /// The network forwards L2 too (its routes also go to BGP as e-vpn type 2).
    pub l2: bool,
}

/// A route a vrouter published, as checked against the config.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentRoute {
    pub prefix: Prefix,
    pub label: u32,
    pub vni: u32,
    pub encaps: Encaps,
    pub mac: Option<[u8; 6]>,
    pub meta: Arc<RouteMeta>,
}

/// The BGP paths now in one instance for one prefix (empty: none left).
#[derive(Debug, Clone, PartialEq)]
pub struct BgpChange {
    pub instance: String,
    pub prefix: Prefix,
    pub paths: Vec<BgpPath>,
}

#[derive(Debug)]
pub enum Event {
    /// A vrouter's Hello was accepted.
    SessionUp {
        session: SessionId,
        hostname: String,
        address: IpAddr,
    },
    Subscribe {
        session: SessionId,
        instance: String,
    },
    Unsubscribe {
        session: SessionId,
        instance: String,
    },
    /// Routes a vrouter published (already checked against the config).
    Publish {
        session: SessionId,
        instance: String,
        add: Vec<AgentRoute>,
        withdraw: Vec<Prefix>,
        end_of_rib: bool,
    },
    /// The session ended; with `keep` its routes stay (stale) until the vrouter republishes
    /// them or [`Event::StaleTimer`] fires.
    SessionDown { session: SessionId, keep: bool },
    /// The graceful-restart time of a vrouter ran out.
    StaleTimer { hostname: String, generation: u64 },
    /// BGP paths of instances changed (the speaker's feed).
    Bgp(Vec<BgpChange>),
    /// The instances' targets and indexes, from the config.
    Instances(BTreeMap<String, InstanceCfg>),
    /// Turn what changed into route updates.
    Flush,
}

/// A vrouter path to put into, or take out of, BGP.
#[derive(Debug, Clone, PartialEq)]
pub enum BgpOp {
    Announce {
        vrouter: Arc<VrouterInfo>,
        instance: Arc<str>,
        cfg: Arc<InstanceCfg>,
        route: AgentRoute,
    },
    Withdraw {
        vrouter: Arc<VrouterInfo>,
        instance: Arc<str>,
        prefix: Prefix,
    },
}

#[derive(Debug)]
pub enum Action {
    /// Send `update` to every session in `sessions` (build and encode it once).
    Routes {
        sessions: Vec<SessionId>,
        update: pb::RouteUpdate,
    },
    Notice {
        session: SessionId,
        notice: pb::Notice,
    },
    /// Start the graceful-restart timer of a vrouter; when it fires, feed
    /// [`Event::StaleTimer`] with this generation.
    StartStaleTimer {
        hostname: String,
        generation: u64,
    },
    Bgp(Vec<BgpOp>),
}

/// Everything the route server did, for introspect and tests.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counters {
    pub sessions_up: u64,
    pub sessions_down: u64,
    pub routes_added: u64,
    pub routes_withdrawn: u64,
    /// Stale routes removed after a graceful restart (not republished, or timed out).
    pub routes_swept: u64,
    pub bgp_changes: u64,
    /// Route entries put into updates (one per prefix per update, whatever the subscribers).
    pub routes_built: u64,
    pub updates_built: u64,
}

/// Per-vrouter state (kept across its sessions).
#[derive(Debug)]
struct Vrouter {
    info: Arc<VrouterInfo>,
    session: Option<SessionId>,
    /// Prefixes it published, per instance.
    published: HashMap<Arc<str>, HashSet<Prefix>>,
    /// Generation of the pending stale timer (a later session or timer cancels older ones).
    generation: u64,
    stale: bool,
}

#[derive(Debug)]
struct Session {
    vrouter: u32,
    subscribed: BTreeSet<Arc<str>>,
}

/// The route server.
#[derive(Debug, Default)]
pub struct RouteServer {
    tables: HashMap<Arc<str>, Table>,
    vrouters: Vec<Vrouter>,
    by_hostname: HashMap<String, u32>,
    sessions: HashMap<SessionId, Session>,
    /// Instance -> the instances that see its agent routes (itself included).
    leaks: HashMap<Arc<str>, Vec<Arc<str>>>,
    /// Instance -> the instances whose agent routes it sees (itself included): `leaks`
    /// inverted, kept with it.
    sources: HashMap<Arc<str>, Vec<Arc<str>>>,
    counters: Counters,
    next_generation: u64,
}

impl RouteServer {
    pub fn new() -> RouteServer {
        RouteServer::default()
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The one transition function.
    pub fn handle(&mut self, ev: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match ev {
            Event::SessionUp {
                session,
                hostname,
                address,
            } => self.session_up(session, hostname, address, &mut out),
            Event::Subscribe { session, instance } => self.subscribe(session, &instance, &mut out),
            Event::Unsubscribe { session, instance } => {
                if let Some(s) = self.sessions.get_mut(&session) {
                    s.subscribed.remove(instance.as_str());
                }
                if let Some(t) = self.tables.get_mut(instance.as_str()) {
                    t.subscribers.remove(&session);
                }
                tracing::debug!(session, %instance, "unsubscribed");
            }
            Event::Publish {
                session,
                instance,
                add,
                withdraw,
                end_of_rib,
            } => self.publish(session, &instance, add, withdraw, end_of_rib, &mut out),
            Event::SessionDown { session, keep } => self.session_down(session, keep, &mut out),
            Event::StaleTimer {
                hostname,
                generation,
            } => {
                let Some(&v) = self.by_hostname.get(&hostname) else {
                    return out;
                };
                let vr = &self.vrouters[v as usize];
                if vr.generation == generation && vr.stale && vr.session.is_none() {
                    tracing::info!(vrouter = %hostname, "graceful-restart time over: stale routes withdrawn");
                    self.sweep(v, None, &mut out);
                    self.vrouters[v as usize].stale = false;
                }
            }
            Event::Bgp(changes) => {
                for c in changes {
                    self.counters.bgp_changes += 1;
                    let t = self.table(&c.instance);
                    t.set_bgp(c.prefix, c.paths);
                }
            }
            Event::Instances(cfgs) => self.instances(cfgs, &mut out),
            Event::Flush => self.flush(&mut out),
        }
        out
    }

    fn table(&mut self, name: &str) -> &mut Table {
        if !self.tables.contains_key(name) {
            let key: Arc<str> = name.into();
            self.leaks
                .entry(key.clone())
                .or_insert_with(|| vec![key.clone()]);
            self.sources
                .entry(key.clone())
                .or_insert_with(|| vec![key.clone()]);
            self.tables.insert(key.clone(), Table::new(key));
        }
        self.tables.get_mut(name).expect("just inserted")
    }

    fn session_up(
        &mut self,
        session: SessionId,
        hostname: String,
        address: IpAddr,
        out: &mut Vec<Action>,
    ) {
        self.counters.sessions_up += 1;
        let v = match self.by_hostname.get(&hostname) {
            Some(&v) => {
                if let Some(old) = self.vrouters[v as usize].session {
                    // A reconnect before the old session was noticed gone: the old one ends
                    // as a graceful restart would (its routes wait for the new session).
                    self.session_down(old, true, out);
                }
                if self.vrouters[v as usize].info.address != address {
                    tracing::warn!(vrouter = %hostname, %address, "vrouter address changed: its old routes are withdrawn");
                    self.sweep(v, Some(false), out);
                    self.vrouters[v as usize].info = Arc::new(VrouterInfo::new(&hostname, address));
                }
                v
            }
            None => {
                let v = u32::try_from(self.vrouters.len()).unwrap_or(u32::MAX);
                self.vrouters.push(Vrouter {
                    info: Arc::new(VrouterInfo::new(&hostname, address)),
                    session: None,
                    published: HashMap::new(),
                    generation: 0,
                    stale: false,
                });
                self.by_hostname.insert(hostname.clone(), v);
                v
            }
        };
        let vr = &mut self.vrouters[v as usize];
        vr.session = Some(session);
        // Cancels a pending stale timer.
        self.next_generation += 1;
        vr.generation = self.next_generation;
        self.sessions.insert(
            session,
            Session {
                vrouter: v,
                subscribed: BTreeSet::new(),
            },
        );
        tracing::info!(session, vrouter = %hostname, %address, stale = vr.stale, "vrouter session up");
    }

    fn session_down(&mut self, session: SessionId, keep: bool, out: &mut Vec<Action>) {
        let Some(s) = self.sessions.remove(&session) else {
            return;
        };
        self.counters.sessions_down += 1;
        for inst in &s.subscribed {
            if let Some(t) = self.tables.get_mut(inst) {
                t.subscribers.remove(&session);
            }
        }
        let v = s.vrouter;
        let vr = &mut self.vrouters[v as usize];
        if vr.session == Some(session) {
            vr.session = None;
        } else {
            return;
        }
        let hostname = vr.info.hostname.to_string();
        if keep && vr.published.values().any(|p| !p.is_empty()) {
            self.next_generation += 1;
            let generation = self.next_generation;
            vr.generation = generation;
            vr.stale = true;
            let published: Vec<(Arc<str>, Vec<Prefix>)> = vr
                .published
                .iter()
                .map(|(i, p)| (i.clone(), p.iter().copied().collect()))
                .collect();
            for (inst, prefixes) in published {
                if let Some(t) = self.tables.get_mut(&inst) {
                    t.mark_stale(v, &prefixes);
                }
            }
            tracing::info!(session, vrouter = %hostname, "vrouter session down: routes kept as stale for the graceful-restart time");
            out.push(Action::StartStaleTimer {
                hostname,
                generation,
            });
        } else {
            tracing::info!(session, vrouter = %hostname, "vrouter session down: routes withdrawn");
            self.sweep(v, Some(false), out);
        }
    }

    /// Removes a vrouter's paths: all (`only_stale == Some(false)`), or only stale ones, of
    /// every instance (`None` means stale ones everywhere too).
    fn sweep(&mut self, v: u32, only_stale: Option<bool>, out: &mut Vec<Action>) {
        let insts: Vec<Arc<str>> = self.vrouters[v as usize]
            .published
            .keys()
            .cloned()
            .collect();
        for inst in insts {
            self.sweep_instance(v, &inst, only_stale != Some(false), out);
        }
    }

    fn sweep_instance(&mut self, v: u32, inst: &Arc<str>, only_stale: bool, out: &mut Vec<Action>) {
        let info = self.vrouters[v as usize].info.clone();
        let Some(published) = self.vrouters[v as usize].published.get_mut(inst) else {
            return;
        };
        let Some(t) = self.tables.get_mut(inst) else {
            return;
        };
        let mut removed = Vec::new();
        published.retain(|p| {
            let gone = t.remove_agent(*p, v, only_stale);
            if gone {
                removed.push(*p);
            }
            !gone
        });
        if removed.is_empty() {
            return;
        }
        if only_stale {
            self.counters.routes_swept += removed.len() as u64;
        } else {
            self.counters.routes_withdrawn += removed.len() as u64;
        }
        self.mark_dirty(inst, &removed);
        out.push(Action::Bgp(
            removed
                .into_iter()
                .map(|prefix| BgpOp::Withdraw {
                    vrouter: info.clone(),
                    instance: inst.clone(),
                    prefix,
                })
                .collect(),
        ));
    }

    /// Marks `prefixes` of instance `inst` dirty in every instance that sees its agent routes.
    fn mark_dirty(&mut self, inst: &str, prefixes: &[Prefix]) {
        let Some(dests) = self.leaks.get(inst) else {
            return;
        };
        for d in dests {
            if let Some(t) = self.tables.get_mut(d)
                && !t.subscribers.is_empty()
            {
                t.dirty.extend(prefixes.iter().copied());
            }
        }
    }

    fn subscribe(&mut self, session: SessionId, instance: &str, out: &mut Vec<Action>) {
        let Some(s) = self.sessions.get(&session) else {
            return;
        };
        if s.subscribed.contains(instance) {
            return;
        }
        self.table(instance);
        let (key, t) = self.tables.get_key_value(instance).expect("made above");
        let key = key.clone();
        if t.cfg.is_none() {
            out.push(Action::Notice {
                session,
                notice: pb::Notice {
                    code: pb::notice::Code::NoSuchInstance as i32,
                    message: format!("no routing instance {instance} in the config (yet): its routes follow if it appears"),
                    instance: instance.to_string(),
                    key: None,
                },
            });
        }
        // The whole view of the instance, then End-of-RIB.
        let routes = self.view(&key, None);
        let n = routes.len();
        let mut chunks = chunk(routes);
        if chunks.is_empty() {
            chunks.push(Vec::new());
        }
        let last = chunks.len() - 1;
        for (i, reach) in chunks.into_iter().enumerate() {
            self.counters.updates_built += 1;
            out.push(Action::Routes {
                sessions: vec![session],
                update: pb::RouteUpdate {
                    instance: instance.to_string(),
                    reach,
                    unreach: Vec::new(),
                    end_of_rib: i == last,
                },
            });
        }
        self.counters.routes_built += n as u64;
        if let Some(s) = self.sessions.get_mut(&session) {
            s.subscribed.insert(key.clone());
        }
        if let Some(t) = self.tables.get_mut(&key) {
            t.subscribers.insert(session);
        }
        tracing::debug!(session, %instance, routes = n, "subscribed");
    }

    /// Routes of instance `inst` as a subscriber sees them: every prefix (`None`) or those
    /// given.
    fn view(&self, inst: &str, only: Option<&HashSet<Prefix>>) -> Vec<pb::Route> {
        let sources: Vec<&Table> = self
            .sources
            .get(inst)
            .into_iter()
            .flatten()
            .filter_map(|src| self.tables.get(src))
            .collect();
        let Some(own) = self.tables.get(inst) else {
            return Vec::new();
        };
        let vrouters = &self.vrouters;
        let build = |p: Prefix| {
            let agent = sources
                .iter()
                .filter_map(move |t| t.agent.get(&p))
                .flatten()
                .map(|a| (a, &*vrouters[a.vrouter as usize].info));
            path::build_route(p, agent, own.bgp.get(&p).map_or(&[][..], Vec::as_slice))
        };
        match only {
            Some(set) => set.iter().filter_map(|p| build(*p)).collect(),
            None => {
                let mut all: HashSet<Prefix> = own.bgp.keys().copied().collect();
                for t in &sources {
                    all.extend(t.agent.keys().copied());
                }
                all.into_iter().filter_map(build).collect()
            }
        }
    }

    fn publish(
        &mut self,
        session: SessionId,
        instance: &str,
        add: Vec<AgentRoute>,
        withdraw: Vec<Prefix>,
        end_of_rib: bool,
        out: &mut Vec<Action>,
    ) {
        let Some(v) = self.sessions.get(&session).map(|s| s.vrouter) else {
            return;
        };
        self.table(instance);
        let (key, t) = self.tables.get_key_value(instance).expect("made above");
        let key = key.clone();
        let cfg = t.cfg.clone().unwrap_or_default();
        let info = self.vrouters[v as usize].info.clone();
        let mut changed = Vec::with_capacity(add.len() + withdraw.len());
        let mut ops = Vec::with_capacity(add.len() + withdraw.len());
        {
            let t = self.tables.get_mut(&key).expect("made above");
            let published = self.vrouters[v as usize]
                .published
                .entry(key.clone())
                .or_default();
            for r in add {
                let path = AgentPath {
                    vrouter: v,
                    label: r.label,
                    vni: r.vni,
                    encaps: r.encaps,
                    mac: r.mac,
                    meta: r.meta.clone(),
                    stale: false,
                };
                if t.upsert_agent(r.prefix, path) {
                    changed.push(r.prefix);
                    ops.push(BgpOp::Announce {
                        vrouter: info.clone(),
                        instance: key.clone(),
                        cfg: cfg.clone(),
                        route: r.clone(),
                    });
                }
                published.insert(r.prefix);
                self.counters.routes_added += 1;
            }
            for p in withdraw {
                if published.remove(&p) && t.remove_agent(p, v, false) {
                    changed.push(p);
                    ops.push(BgpOp::Withdraw {
                        vrouter: info.clone(),
                        instance: key.clone(),
                        prefix: p,
                    });
                    self.counters.routes_withdrawn += 1;
                }
            }
        }
        self.mark_dirty(&key, &changed);
        if !ops.is_empty() {
            out.push(Action::Bgp(ops));
        }
        if end_of_rib {
            // What an earlier session published and this one did not: gone now.
            self.sweep_instance(v, &key, true, out);
        }
    }

    fn instances(&mut self, cfgs: BTreeMap<String, InstanceCfg>, out: &mut Vec<Action>) {
        let mut reannounce: Vec<Arc<str>> = Vec::new();
        for (name, cfg) in &cfgs {
            let t = self.table(name);
            let new = Arc::new(cfg.clone());
            let bgp_changed = t.cfg.as_ref().is_none_or(|old| {
                old.export != new.export || old.index != new.index || old.l2 != new.l2
            });
            t.cfg = Some(new);
            if bgp_changed && !t.agent.is_empty() {
                reannounce.push(t.name.clone());
            }
        }
        for (name, t) in self.tables.iter_mut() {
            if !cfgs.contains_key(&**name) && t.cfg.take().is_some() && !t.agent.is_empty() {
                reannounce.push(name.clone());
            }
        }
        // Who sees whose agent routes: A's routes reach every instance importing one of A's
        // export targets (through an index by target, not a comparison of every pair).
        let mut importers: HashMap<ExtCommunity, Vec<&Arc<str>>> = HashMap::new();
        for (b, tb) in &self.tables {
            for t in tb.cfg.iter().flat_map(|c| c.import.iter()) {
                importers.entry(*t).or_default().push(b);
            }
        }
        let mut leaks: HashMap<Arc<str>, Vec<Arc<str>>> = HashMap::new();
        for (a, ta) in &self.tables {
            let mut dests = vec![a.clone()];
            for t in ta.cfg.iter().flat_map(|c| c.export.iter()) {
                for b in importers.get(t).into_iter().flatten() {
                    if *b != a && !dests.contains(b) {
                        dests.push((*b).clone());
                    }
                }
            }
            dests.sort();
            leaks.insert(a.clone(), dests);
        }
        if leaks != self.leaks {
            let mut sources: HashMap<Arc<str>, Vec<Arc<str>>> = HashMap::new();
            for (src, dests) in &leaks {
                for d in dests {
                    sources.entry(d.clone()).or_default().push(src.clone());
                }
            }
            // Every subscribed instance whose sources changed is re-sent whole: a prefix that
            // no longer reaches it goes out as unreach.
            let set = |m: &HashMap<Arc<str>, Vec<Arc<str>>>, b: &Arc<str>| -> BTreeSet<Arc<str>> {
                m.get(b).into_iter().flatten().cloned().collect()
            };
            let names: Vec<Arc<str>> = self.tables.keys().cloned().collect();
            for b in names {
                let (old, new) = (set(&self.sources, &b), set(&sources, &b));
                if old == new {
                    continue;
                }
                let mut prefixes = HashSet::new();
                for s in old.symmetric_difference(&new) {
                    if let Some(t) = self.tables.get(s) {
                        prefixes.extend(t.agent.keys().copied());
                    }
                }
                if let Some(t) = self.tables.get_mut(&b)
                    && !t.subscribers.is_empty()
                {
                    tracing::info!(instance = %b, prefixes = prefixes.len(), "instance imports changed");
                    t.dirty.extend(prefixes);
                }
            }
            self.sources = sources;
            self.leaks = leaks;
        }
        let mut ops = Vec::new();
        for name in reannounce {
            let Some(t) = self.tables.get(&name) else {
                continue;
            };
            let cfg = t.cfg.clone().unwrap_or_default();
            for (prefix, paths) in &t.agent {
                for p in paths {
                    let vr = &self.vrouters[p.vrouter as usize];
                    ops.push(BgpOp::Announce {
                        vrouter: vr.info.clone(),
                        instance: name.clone(),
                        cfg: cfg.clone(),
                        route: AgentRoute {
                            prefix: *prefix,
                            label: p.label,
                            vni: p.vni,
                            encaps: p.encaps,
                            mac: p.mac,
                            meta: p.meta.clone(),
                        },
                    });
                }
            }
        }
        if !ops.is_empty() {
            out.push(Action::Bgp(ops));
        }
    }

    fn flush(&mut self, out: &mut Vec<Action>) {
        let names: Vec<Arc<str>> = self
            .tables
            .iter()
            .filter(|(_, t)| !t.dirty.is_empty())
            .map(|(n, _)| n.clone())
            .collect();
        for name in names {
            let Some(t) = self.tables.get_mut(&name) else {
                continue;
            };
            let dirty = std::mem::take(&mut t.dirty);
            if t.subscribers.is_empty() {
                continue;
            }
            let sessions: Vec<SessionId> = t.subscribers.iter().copied().collect();
            let reach = self.view(&name, Some(&dirty));
            let reached: HashSet<Prefix> = reach
                .iter()
                .filter_map(|r| r.key.as_ref().and_then(|k| Prefix::from_wire(k).ok()))
                .collect();
            let unreach: Vec<pb::RouteKey> = dirty
                .iter()
                .filter(|p| !reached.contains(p))
                .map(Prefix::to_wire)
                .collect();
            self.counters.routes_built += (reach.len() + unreach.len()) as u64;
            // Reach and unreach side by side in as few updates as fit.
            let mut reach = chunk(reach).into_iter();
            let mut unreach = chunk(unreach).into_iter();
            loop {
                let (r, u) = (reach.next(), unreach.next());
                if r.is_none() && u.is_none() {
                    break;
                }
                self.counters.updates_built += 1;
                out.push(Action::Routes {
                    sessions: sessions.clone(),
                    update: pb::RouteUpdate {
                        instance: name.to_string(),
                        reach: r.unwrap_or_default(),
                        unreach: u.unwrap_or_default(),
                        end_of_rib: false,
                    },
                });
            }
        }
    }
}

fn chunk<T>(mut v: Vec<T>) -> Vec<Vec<T>> {
    if v.len() <= ROUTES_PER_UPDATE {
        return if v.is_empty() { Vec::new() } else { vec![v] };
    }
    let mut out = Vec::with_capacity(v.len() / ROUTES_PER_UPDATE + 1);
    while v.len() > ROUTES_PER_UPDATE {
        let rest = v.split_off(ROUTES_PER_UPDATE);
        out.push(v);
        v = rest;
    }
    out.push(v);
    out
}
