//! The compiler's state between calls and the two entry points: [`Compiler::full`] derives
//! everything from a snapshot; [`Compiler::changed`] is given the uuids that changed since
//! the last call and recompiles only the units they reach, through the dependency maps kept
//! here (policy -> attached networks, policy -> policies naming it, network -> networks its
//! connections name or that name it, security group -> groups naming it, logical router <->
//! networks, network -> ports), so a change costs work proportional to what it touches.
//!
//! Units: networks (ACLs, connections; then the primary routing instance), security groups
//! (two ACLs), logical routers (their target, their networks), ports (native instance ref).

use std::collections::{BTreeSet, HashMap};

use cirrus_api::index::Index;
use serde_json::Value;

use crate::Options;
use crate::targets::{TargetPool, global_asn};
use crate::write::{Emit, Write};

/// A unit that wants route targets to exist.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Unit {
    Network(String),
    Router(String),
}

#[derive(Debug, Default, Clone)]
pub(crate) struct NetworkState {
    pub fq_name: String,
    pub project: Option<String>,
    /// The primary routing instance's uuid.
    pub instance: Option<String>,
    /// Attached policies (uuids), in sequence order.
    pub policies: Vec<String>,
    /// Networks its policies connect it to (`*`: any).
    pub connections: BTreeSet<String>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct PolicyState {
    pub fq_name: String,
    /// Policies its rules name as addresses.
    pub referred: BTreeSet<String>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct GroupState {
    pub fq_name: String,
    pub referred: BTreeSet<String>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct RouterState {
    /// Networks whose instances carry its targets.
    pub networks: BTreeSet<String>,
}

/// What one compile did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Output {
    pub writes: Vec<Write>,
    pub warnings: Vec<String>,
    pub stats: Stats,
}

/// How much was recompiled.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Stats {
    pub full: bool,
    pub networks: usize,
    pub instances: usize,
    pub groups: usize,
    pub routers: usize,
    pub ports: usize,
}

/// The intent compiler. Pure: it reads the index it is given and returns writes; applying
/// them (and feeding the resulting changes back) is the caller's business.
#[derive(Default)]
pub struct Compiler {
    pub(crate) opts: Options,
    pub(crate) asn: u32,
    pub(crate) pool: TargetPool,
    pub(crate) networks: HashMap<String, NetworkState>,
    /// network fq_name -> networks whose connections name it.
    pub(crate) named_by: HashMap<String, BTreeSet<String>>,
    pub(crate) policies: HashMap<String, PolicyState>,
    /// policy fq_name -> policies (uuids) whose rules name it.
    pub(crate) policy_referrers: HashMap<String, BTreeSet<String>>,
    /// policy uuid -> networks (uuids) attached to it, as last compiled.
    pub(crate) policy_networks: HashMap<String, BTreeSet<String>>,
    pub(crate) groups: HashMap<String, GroupState>,
    /// group fq_name -> groups (uuids) whose rules name it.
    pub(crate) group_referrers: HashMap<String, BTreeSet<String>>,
    pub(crate) routers: HashMap<String, RouterState>,
    /// network uuid -> logical routers joining it.
    pub(crate) network_routers: HashMap<String, BTreeSet<String>>,
    /// Derived objects (instances, ACLs) by uuid -> the unit that owns them, so a change to
    /// one (or its deletion) recompiles its owner.
    pub(crate) derived_owner: HashMap<String, Owner>,
    pub(crate) unit_targets: HashMap<Unit, BTreeSet<String>>,
    pub(crate) target_users: HashMap<String, BTreeSet<Unit>>,
    pub(crate) compiled: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Owner {
    Network(String),
    Group(String),
}

/// The units one compile visits.
#[derive(Default)]
pub(crate) struct Work {
    pub policies: BTreeSet<String>,
    pub routers: BTreeSet<String>,
    /// Networks whose ACLs and connections are recomputed (phase A)...
    pub networks: BTreeSet<String>,
    /// ... and whose primary instance is (phase B).
    pub instances: BTreeSet<String>,
    pub groups: BTreeSet<String>,
    pub ports: BTreeSet<String>,
}

impl Compiler {
    pub fn new(opts: Options) -> Self {
        Compiler {
            opts,
            ..Default::default()
        }
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Derives everything from `index`, forgetting what earlier calls saw, and also cleans up
    /// what no longer has an owner: route-target numbers of instances and routers that are
    /// gone, and route-target objects nothing refers to (as Contrail's schema transformer
    /// does when it starts).
    pub fn full(&mut self, index: &Index) -> Output {
        let opts = self.opts.clone();
        *self = Compiler::new(opts);
        self.asn = global_asn(index);
        self.pool = TargetPool::load(index, self.asn);
        self.compiled = true;
        let mut work = Work::default();
        let all =
            |t: &str| -> BTreeSet<String> { index.of_type(t).map(|o| o.uuid.clone()).collect() };
        work.policies = all("network-policy");
        work.routers = all("logical-router");
        work.networks = all("virtual-network");
        work.groups = all("security-group");
        work.ports = all("virtual-machine-interface");
        let mut emit = Emit::default();
        let mut out = self.run(index, work, &mut emit);
        // Numbers whose owner is gone.
        let live = |o: &str| {
            index.get_typed("routing-instance", o).is_some()
                || index.get_typed("logical-router", o).is_some()
        };
        let stale: Vec<String> = self
            .pool
            .owners()
            .filter(|(o, _)| !live(o))
            .map(|(o, _)| o.to_string())
            .collect();
        for o in stale {
            self.pool.release(&o, &mut emit);
        }
        // Route targets nobody refers to or wants.
        for rt in index.of_type("route-target") {
            if index.back_refs(&rt.uuid).next().is_none()
                && !self.target_users.contains_key(&rt.fq_str)
            {
                emit.drop_target(index, &rt.fq_str);
            }
        }
        out.stats.full = true;
        out.writes = emit.into_writes();
        out
    }

    /// Recompiles what the objects `uuids` (put or deleted since the last call) affect.
    pub fn changed(&mut self, index: &Index, uuids: &[String]) -> Output {
        if !self.compiled || global_asn(index) != self.asn {
            return self.full(index);
        }
        let mut work = Work::default();
        for u in uuids {
            let ty = index.get(u).map(|o| o.type_name());
            match ty {
                Some("virtual-network") => {
                    work.networks.insert(u.clone());
                }
                Some("network-policy") => {
                    work.policies.insert(u.clone());
                }
                Some("security-group") => {
                    work.groups.insert(u.clone());
                }
                Some("logical-router") => {
                    work.routers.insert(u.clone());
                }
                Some("virtual-machine-interface") => {
                    work.ports.insert(u.clone());
                    for lr in index
                        .back_refs(u)
                        .filter(|o| o.type_name() == "logical-router")
                    {
                        work.routers.insert(lr.uuid.clone());
                    }
                }
                Some("routing-instance") | Some("access-control-list") => {
                    let obj = &index.get(u).expect("just read");
                    match obj.parent.as_ref() {
                        Some(p) if p.type_name == "virtual-network" => {
                            if obj.type_name() == "routing-instance" {
                                work.instances.insert(p.uuid.clone());
                            } else {
                                work.networks.insert(p.uuid.clone());
                            }
                        }
                        Some(p) if p.type_name == "security-group" => {
                            work.groups.insert(p.uuid.clone());
                        }
                        _ => {}
                    }
                }
                Some("route-target") => {
                    for o in index.back_refs(u) {
                        match (o.type_name(), o.parent.as_ref()) {
                            ("routing-instance", Some(p)) => {
                                work.instances.insert(p.uuid.clone());
                            }
                            ("logical-router", _) => {
                                work.routers.insert(o.uuid.clone());
                            }
                            _ => {}
                        }
                    }
                }
                Some(_) => {}
                None => {
                    // Deleted: whatever we knew it as.
                    if self.networks.contains_key(u) {
                        work.networks.insert(u.clone());
                    } else if self.policies.contains_key(u) {
                        work.policies.insert(u.clone());
                    } else if self.groups.contains_key(u) {
                        work.groups.insert(u.clone());
                    } else if self.routers.contains_key(u) {
                        work.routers.insert(u.clone());
                    } else {
                        match self.derived_owner.get(u) {
                            Some(Owner::Network(n)) => {
                                work.networks.insert(n.clone());
                            }
                            Some(Owner::Group(g)) => {
                                work.groups.insert(g.clone());
                            }
                            None => {}
                        }
                    }
                }
            }
        }
        let mut emit = Emit::default();
        let mut out = self.run(index, work, &mut emit);
        out.writes = emit.into_writes();
        out
    }

    /// Route targets as the compiler last derived them, for tests: unit -> target names.
    pub fn targets_of_network(&self, uuid: &str) -> Option<&BTreeSet<String>> {
        self.unit_targets.get(&Unit::Network(uuid.to_string()))
    }

    /// The networks (fq_names) the policies of network `uuid` connect it to.
    pub fn connections_of(&self, uuid: &str) -> Option<&BTreeSet<String>> {
        self.networks.get(uuid).map(|n| &n.connections)
    }

    pub(crate) fn set_unit_targets(
        &mut self,
        index: &Index,
        unit: Unit,
        want: BTreeSet<String>,
        emit: &mut Emit,
    ) {
        for name in &want {
            emit.need_target(index, name);
        }
        let old = if want.is_empty() {
            self.unit_targets.remove(&unit).unwrap_or_default()
        } else {
            self.unit_targets
                .insert(unit.clone(), want.clone())
                .unwrap_or_default()
        };
        for name in want.difference(&old) {
            self.target_users
                .entry(name.clone())
                .or_default()
                .insert(unit.clone());
        }
        for name in old.difference(&want) {
            if let Some(users) = self.target_users.get_mut(name) {
                users.remove(&unit);
                if users.is_empty() {
                    self.target_users.remove(name);
                    emit.drop_target(index, name);
                }
            }
        }
    }
}

/// The first `virtual_network_refs` target of an object.
pub(crate) fn network_of(obj: &cirrus_api::object::Obj) -> Option<&str> {
    obj.body
        .get("virtual_network_refs")?
        .as_array()?
        .first()?
        .get("uuid")?
        .as_str()
}

pub(crate) fn json_bool(v: Option<&Value>) -> bool {
    v.and_then(Value::as_bool).unwrap_or(false)
}
