//! One compile pass over the units a change reaches, in dependency order: policies (who
//! names whom), logical routers (which networks carry their target), networks' ACLs and
//! connections, networks' primary instances (targets, connections that both sides allow),
//! security groups' ACLs, ports' native instance refs.

use std::collections::BTreeSet;
use std::sync::Arc;

use cirrus_api::index::Index;
use cirrus_api::object::Obj;
use serde_json::{Map, Value, json};

use crate::compiler::{
    Compiler, GroupState, NetworkState, Output, Owner, PolicyState, RouterState, Unit, Work,
    json_bool, network_of,
};
use crate::json::{list, str_of, target_list};
use crate::network_acl::{AttachedPolicy, NetworkView, network_acls};
use crate::sg_acl::group_acls;
use crate::targets::target_name;
use crate::write::Emit;

/// Networks whose routing instance gets no route target (Contrail's fabric and link-local).
const NO_TARGET_INSTANCES: [&str; 2] = [
    "default-domain:default-project:ip-fabric:__default__",
    "default-domain:default-project:__link_local__:__link_local__",
];

/// The primary routing instance of a network: its child named like it (`__default__` for the
/// fabric's).
pub fn primary_instance<'a>(index: &'a Index, vn: &Obj) -> Option<&'a Arc<Obj>> {
    index
        .children(&vn.uuid)
        .filter(|c| c.type_name() == "routing-instance")
        .find(|c| c.name() == vn.name() || c.fq_str == NO_TARGET_INSTANCES[0])
}

fn policy_rules(p: &Obj) -> &[Value] {
    p.body
        .get("network_policy_entries")
        .map(|e| list(e, "policy_rule"))
        .unwrap_or(&[])
}

/// The policies a network's refs attach, sorted by sequence as Contrail does (a ref without
/// attributes sorts last; one with attributes but no sequence is left out).
fn attached_policies<'a>(
    index: &'a Index,
    vn: &Obj,
    warnings: &mut Vec<String>,
) -> Vec<(&'a Arc<Obj>, bool)> {
    let mut out = Vec::new();
    for r in vn
        .body
        .get("network_policy_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(p) = r
            .get("uuid")
            .and_then(Value::as_str)
            .and_then(|u| index.get_typed("network-policy", u))
        else {
            continue;
        };
        let attr = r.get("attr").filter(|a| !a.is_null());
        let seq = match attr {
            None => (i64::MAX, i64::MAX),
            Some(a) => match a.get("sequence").filter(|s| !s.is_null()) {
                Some(s) => (
                    s.get("major").and_then(Value::as_i64).unwrap_or(0),
                    s.get("minor").and_then(Value::as_i64).unwrap_or(0),
                ),
                None => {
                    warnings.push(format!(
                        "network {}: policy {} has no sequence number; not applied",
                        vn.fq_str, p.fq_str
                    ));
                    continue;
                }
            },
        };
        let timed = attr
            .and_then(|a| a.get("timer"))
            .is_some_and(|t| !t.is_null());
        out.push((seq, p, timed));
    }
    out.sort_by_key(|(s, _, _)| *s);
    out.into_iter().map(|(_, p, t)| (p, t)).collect()
}

fn network_fqs(index: &Index, policy_uuid: &str) -> Vec<String> {
    let mut v: Vec<String> = index
        .back_refs(policy_uuid)
        .filter(|o| o.type_name() == "virtual-network")
        .map(|o| o.fq_str.clone())
        .collect();
    v.sort();
    v
}

impl Compiler {
    pub(crate) fn run(&mut self, index: &Index, mut work: Work, emit: &mut Emit) -> Output {
        let mut out = Output::default();
        self.policies_pass(index, &mut work);
        self.routers_pass(index, &mut work, emit, &mut out);
        self.networks_pass(index, &mut work, emit, &mut out);
        self.instances_pass(index, &mut work, emit, &mut out);
        self.groups_pass(index, &mut work, emit, &mut out);
        self.ports_pass(index, &work, emit, &mut out);
        out
    }

    fn policies_pass(&mut self, index: &Index, work: &mut Work) {
        for u in std::mem::take(&mut work.policies) {
            let old = self.policies.remove(&u);
            if let Some(old) = &old {
                for r in &old.referred {
                    if let Some(s) = self.policy_referrers.get_mut(r) {
                        s.remove(&u);
                    }
                }
            }
            for vn in self.policy_networks.get(&u).into_iter().flatten() {
                work.networks.insert(vn.clone());
            }
            let Some(p) = index.get_typed("network-policy", &u) else {
                continue;
            };
            for vn in index
                .back_refs(&u)
                .filter(|o| o.type_name() == "virtual-network")
            {
                work.networks.insert(vn.uuid.clone());
            }
            let referred: BTreeSet<String> = policy_rules(p)
                .iter()
                .flat_map(|r| {
                    list(r, "src_addresses")
                        .iter()
                        .chain(list(r, "dst_addresses"))
                })
                .filter_map(|a| str_of(a, "network_policy").map(str::to_string))
                .collect();
            for r in &referred {
                self.policy_referrers
                    .entry(r.clone())
                    .or_default()
                    .insert(u.clone());
            }
            self.policies.insert(
                u,
                PolicyState {
                    fq_name: p.fq_str.clone(),
                    referred,
                },
            );
        }
    }

    fn routers_pass(&mut self, index: &Index, work: &mut Work, emit: &mut Emit, out: &mut Output) {
        for u in std::mem::take(&mut work.routers) {
            out.stats.routers += 1;
            let old = self.routers.remove(&u).unwrap_or_default();
            let Some(lr) = index.get_typed("logical-router", &u) else {
                for vn in &old.networks {
                    if let Some(s) = self.network_routers.get_mut(vn) {
                        s.remove(&u);
                    }
                    work.instances.insert(vn.clone());
                }
                self.pool.release(&u, emit);
                self.set_unit_targets(index, Unit::Router(u.clone()), BTreeSet::new(), emit);
                continue;
            };
            let Some(n) = self.pool.number(&u, emit) else {
                out.warnings.push(format!(
                    "logical router {}: no route-target number left",
                    lr.fq_str
                ));
                continue;
            };
            let rt = target_name(self.asn, n);
            let mut fields = Map::new();
            fields.insert(
                "route_target_refs".into(),
                json!([{"to": [rt], "attr": null}]),
            );
            emit.set_fields(lr, fields);
            self.set_unit_targets(index, Unit::Router(u.clone()), BTreeSet::from([rt]), emit);
            let vxlan =
                lr.body.get("logical_router_type").and_then(Value::as_str) == Some("vxlan-routing");
            let networks: BTreeSet<String> = if vxlan {
                BTreeSet::new()
            } else {
                lr.refs()
                    .filter(|r| r.to_type == "virtual-machine-interface")
                    .filter_map(|r| index.get(r.uuid))
                    .filter_map(|vmi| network_of(vmi).map(str::to_string))
                    .collect()
            };
            for vn in old.networks.difference(&networks) {
                if let Some(s) = self.network_routers.get_mut(vn) {
                    s.remove(&u);
                }
            }
            for vn in &networks {
                self.network_routers
                    .entry(vn.clone())
                    .or_default()
                    .insert(u.clone());
            }
            // Any change of the router (its own targets too) reaches its networks' instances.
            work.instances
                .extend(old.networks.union(&networks).cloned());
            self.routers.insert(u, RouterState { networks });
        }
    }

    /// The networks a network's connections reach: those it names, and for `*` every network
    /// of its project and every network naming it (Contrail's `expand_connections`).
    fn expand(&self, index: &Index, fq: &str, state: &NetworkState) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = state
            .connections
            .iter()
            .filter(|c| *c != "*")
            .cloned()
            .collect();
        if state.connections.contains("*") {
            if let Some(p) = &state.project {
                out.extend(
                    index
                        .children(p)
                        .filter(|c| c.type_name() == "virtual-network" && c.fq_str != fq)
                        .map(|c| c.fq_str.clone()),
                );
            }
            out.extend(self.named_by.get(fq).into_iter().flatten().cloned());
        }
        out
    }

    /// Whether `to` is in `from`'s expanded connections, without expanding them.
    fn reaches(&self, from: &NetworkState, to: &NetworkState) -> bool {
        if from.fq_name == to.fq_name {
            return false;
        }
        if from.connections.contains(&to.fq_name) {
            return true;
        }
        from.connections.contains("*")
            && ((from.project.is_some() && from.project == to.project)
                || self
                    .named_by
                    .get(&from.fq_name)
                    .is_some_and(|s| s.contains(&to.fq_name)))
    }

    fn uuids_of(index: &Index, fqs: &BTreeSet<String>) -> impl Iterator<Item = String> {
        fqs.iter()
            .filter_map(|f| index.uuid_of("virtual-network", f).map(str::to_string))
            .collect::<Vec<_>>()
            .into_iter()
    }

    fn networks_pass(&mut self, index: &Index, work: &mut Work, emit: &mut Emit, out: &mut Output) {
        // Attachments first: a policy whose set of networks changes changes the ACLs of the
        // networks whose policies name it.
        let initial = std::mem::take(&mut work.networks);
        let mut networks = initial.clone();
        for u in &initial {
            let old: BTreeSet<String> = self
                .networks
                .get(u)
                .map(|s| s.policies.iter().cloned().collect())
                .unwrap_or_default();
            let new: BTreeSet<String> = index
                .get_typed("virtual-network", u)
                .map(|vn| {
                    vn.refs()
                        .filter(|r| r.to_type == "network-policy")
                        .map(|r| r.uuid.to_string())
                        .collect()
                })
                .unwrap_or_default();
            for p in old.symmetric_difference(&new) {
                if new.contains(p) {
                    self.policy_networks
                        .entry(p.clone())
                        .or_default()
                        .insert(u.clone());
                } else if let Some(s) = self.policy_networks.get_mut(p) {
                    s.remove(u);
                }
                let fq = self.policies.get(p).map(|s| s.fq_name.clone());
                for q in fq
                    .and_then(|f| self.policy_referrers.get(&f))
                    .into_iter()
                    .flatten()
                {
                    networks.extend(self.policy_networks.get(q).into_iter().flatten().cloned());
                }
            }
        }
        let policy_vns = |p: &str| {
            index
                .uuid_of("network-policy", p)
                .map(|u| network_fqs(index, u))
        };
        for u in networks {
            out.stats.networks += 1;
            work.instances.insert(u.clone());
            let old = self.networks.remove(&u);
            let old_reach = old
                .as_ref()
                .map(|s| self.expand(index, &s.fq_name, s))
                .unwrap_or_default();
            if let Some(o) = &old {
                for c in &o.connections {
                    if let Some(s) = self.named_by.get_mut(c) {
                        s.remove(&o.fq_name);
                    }
                }
            }
            let Some(vn) = index.get_typed("virtual-network", &u) else {
                if let Some(o) = old {
                    work.instances.extend(Self::uuids_of(index, &old_reach));
                    // Keep the state until the instance pass has released its number.
                    self.networks.insert(
                        u,
                        NetworkState {
                            connections: BTreeSet::new(),
                            ..o
                        },
                    );
                }
                continue;
            };
            let policies = attached_policies(index, vn, &mut out.warnings);
            let view = NetworkView {
                fq_name: &vn.fq_str,
                is_provider_network: json_bool(vn.body.get("is_provider_network")),
                fabric_snat: json_bool(vn.body.get("fabric_snat")),
                provider_vns: vn
                    .refs()
                    .filter(|r| r.to_type == "virtual-network")
                    .filter_map(|r| index.get(r.uuid).map(|o| o.fq_str.clone()))
                    .collect(),
            };
            let attached: Vec<AttachedPolicy> = policies
                .iter()
                .map(|(p, timed)| AttachedPolicy {
                    fq_name: &p.fq_str,
                    rules: policy_rules(p),
                    timed: *timed,
                })
                .collect();
            let acls = network_acls(&view, &attached, &policy_vns, &self.opts);
            out.warnings.extend(acls.warnings);
            for (name, entries) in [
                (vn.name().to_string(), acls.static_entries),
                ("dynamic".to_string(), acls.dynamic_entries),
            ] {
                let mut fq = vn.fq_name.clone();
                fq.push(name);
                if let Some(a) = index.by_fq_name("access-control-list", &fq.join(":")) {
                    self.derived_owner
                        .insert(a.uuid.clone(), Owner::Network(u.clone()));
                }
                emit.acl(index, fq, vn, entries);
            }
            for c in &acls.connections {
                self.named_by
                    .entry(c.clone())
                    .or_default()
                    .insert(vn.fq_str.clone());
            }
            let state = NetworkState {
                fq_name: vn.fq_str.clone(),
                project: vn.parent.as_ref().map(|p| p.uuid.clone()),
                instance: old.as_ref().and_then(|o| o.instance.clone()),
                policies: policies.iter().map(|(p, _)| p.uuid.clone()).collect(),
                connections: acls.connections,
            };
            let changed = old
                .as_ref()
                .is_none_or(|o| o.connections != state.connections || o.fq_name != state.fq_name);
            if changed {
                let new_reach = self.expand(index, &state.fq_name, &state);
                work.instances.extend(Self::uuids_of(
                    index,
                    &old_reach.union(&new_reach).cloned().collect(),
                ));
            }
            self.networks.insert(u, state);
        }
    }

    fn instances_pass(
        &mut self,
        index: &Index,
        work: &mut Work,
        emit: &mut Emit,
        out: &mut Output,
    ) {
        for u in std::mem::take(&mut work.instances) {
            let Some(vn) = index.get_typed("virtual-network", &u) else {
                if let Some(old) = self.networks.remove(&u)
                    && let Some(ri) = &old.instance
                {
                    self.pool.release(ri, emit);
                    self.derived_owner.remove(ri);
                }
                self.set_unit_targets(index, Unit::Network(u.clone()), BTreeSet::new(), emit);
                continue;
            };
            out.stats.instances += 1;
            let Some(ri) = primary_instance(index, vn) else {
                out.warnings.push(format!(
                    "network {}: its primary routing instance is missing",
                    vn.fq_str
                ));
                continue;
            };
            self.derived_owner
                .insert(ri.uuid.clone(), Owner::Network(u.clone()));
            let state = self.networks.entry(u.clone()).or_default();
            let old_ri = state.instance.replace(ri.uuid.clone());
            if old_ri.as_deref() != Some(ri.uuid.as_str()) {
                if let Some(old) = old_ri {
                    self.pool.release(&old, emit);
                }
                // A new instance: the network's ports need their ref to it.
                work.ports.extend(
                    index
                        .back_refs(&u)
                        .filter(|o| o.type_name() == "virtual-machine-interface")
                        .map(|o| o.uuid.clone()),
                );
            }
            let mut fields = Map::new();
            fields.insert("routing_instance_is_default".into(), json!(true));
            let mut wanted = BTreeSet::new();
            if !NO_TARGET_INSTANCES.contains(&ri.fq_str.as_str()) {
                let refs = self.instance_targets(index, vn, &ri.uuid, emit, out);
                wanted = refs.iter().map(|(n, _)| n.clone()).collect();
                let refs: Vec<Value> = refs
                    .into_iter()
                    .map(|(name, ie)| json!({"to": [name], "attr": {"import_export": ie}}))
                    .collect();
                fields.insert("route_target_refs".into(), Value::Array(refs));
                fields.insert(
                    "routing_instance_refs".into(),
                    Value::Array(self.instance_connections(index, vn)),
                );
            }
            emit.set_fields(ri, fields);
            self.set_unit_targets(index, Unit::Network(u.clone()), wanted, emit);
        }
    }

    /// The targets of a network's primary instance with their `import_export`: its own
    /// (`target:<ASN>:<n>`), the network's lists (one in both the import and export lists
    /// counts as both), and those of the logical routers joining it.
    fn instance_targets(
        &mut self,
        index: &Index,
        vn: &Obj,
        ri: &str,
        emit: &mut Emit,
        out: &mut Output,
    ) -> Vec<(String, Option<&'static str>)> {
        let mut both: BTreeSet<String> = BTreeSet::new();
        match self.pool.number(ri, emit) {
            Some(n) => {
                both.insert(target_name(self.asn, n));
            }
            None => out.warnings.push(format!(
                "network {}: no route-target number left",
                vn.fq_str
            )),
        }
        let set = |p: &str| -> BTreeSet<String> {
            target_list(&vn.body, p)
                .into_iter()
                .map(str::to_string)
                .collect()
        };
        let (listed, mut import, mut export) = (
            set("route_target_list"),
            set("import_route_target_list"),
            set("export_route_target_list"),
        );
        both.extend(listed);
        both.extend(import.intersection(&export).cloned().collect::<Vec<_>>());
        for lr in self.network_routers.get(&vn.uuid).into_iter().flatten() {
            let Some(lr) = index.get_typed("logical-router", lr) else {
                continue;
            };
            if let Some(n) = self.pool.get(&lr.uuid) {
                both.insert(target_name(self.asn, n));
            }
            both.extend(
                target_list(&lr.body, "configured_route_target_list")
                    .into_iter()
                    .map(str::to_string),
            );
        }
        import.retain(|t| !both.contains(t));
        export.retain(|t| !both.contains(t));
        both.iter()
            .map(|t| (t.clone(), None))
            .chain(import.into_iter().map(|t| (t, Some("import"))))
            .chain(export.into_iter().map(|t| (t, Some("export"))))
            .collect()
    }

    /// Refs to the primary instances of the networks this one is connected to both ways.
    fn instance_connections(&self, index: &Index, vn: &Obj) -> Vec<Value> {
        let Some(state) = self.networks.get(&vn.uuid) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for other in self.expand(index, &vn.fq_str, state) {
            let Some(ovn) = index.by_fq_name("virtual-network", &other) else {
                continue;
            };
            let Some(ostate) = self.networks.get(&ovn.uuid) else {
                continue;
            };
            if !self.reaches(ostate, state) {
                continue;
            }
            if let Some(ori) = primary_instance(index, ovn) {
                out.push(json!({"to": ori.fq_name, "attr": {"destination_instance": null}}));
            }
        }
        out
    }

    fn groups_pass(&mut self, index: &Index, work: &mut Work, emit: &mut Emit, out: &mut Output) {
        let mut groups = std::mem::take(&mut work.groups);
        // A group created, deleted or renamed changes the groups whose rules name it.
        for u in groups.clone() {
            let names = [
                self.groups.get(&u).map(|g| g.fq_name.clone()),
                index
                    .get_typed("security-group", &u)
                    .map(|g| g.fq_str.clone()),
            ];
            for n in names.into_iter().flatten() {
                groups.extend(self.group_referrers.get(&n).into_iter().flatten().cloned());
            }
        }
        let sg_id = |fq: &str| {
            index
                .by_fq_name("security-group", fq)
                .and_then(|g| g.body.get("security_group_id"))
                .and_then(Value::as_u64)
        };
        for u in groups {
            out.stats.groups += 1;
            if let Some(old) = self.groups.remove(&u) {
                for r in &old.referred {
                    if let Some(s) = self.group_referrers.get_mut(r) {
                        s.remove(&u);
                    }
                }
            }
            let Some(sg) = index.get_typed("security-group", &u) else {
                continue;
            };
            let own_id = sg.body.get("security_group_id").and_then(Value::as_u64);
            let acls = group_acls(
                &sg.fq_str,
                own_id,
                sg.body.get("security_group_entries"),
                &sg_id,
            );
            out.warnings.extend(acls.warnings);
            for (name, entries) in [
                ("ingress-access-control-list", acls.ingress),
                ("egress-access-control-list", acls.egress),
            ] {
                let mut fq = sg.fq_name.clone();
                fq.push(name.to_string());
                if let Some(a) = index.by_fq_name("access-control-list", &fq.join(":")) {
                    self.derived_owner
                        .insert(a.uuid.clone(), Owner::Group(u.clone()));
                }
                emit.acl(index, fq, sg, Some(entries));
            }
            for r in &acls.referred {
                self.group_referrers
                    .entry(r.clone())
                    .or_default()
                    .insert(u.clone());
            }
            self.groups.insert(
                u,
                GroupState {
                    fq_name: sg.fq_str.clone(),
                    referred: acls.referred,
                },
            );
        }
    }

    /// Each port refers to its network's primary instance with `direction: both` (Contrail's
    /// native instance link); refs to other networks' primary instances are dropped, other
    /// refs kept.
    fn ports_pass(&mut self, index: &Index, work: &Work, emit: &mut Emit, out: &mut Output) {
        for u in &work.ports {
            let Some(vmi) = index.get_typed("virtual-machine-interface", u) else {
                continue;
            };
            out.stats.ports += 1;
            let Some(ri) = network_of(vmi)
                .and_then(|n| index.get_typed("virtual-network", n))
                .and_then(|vn| primary_instance(index, vn))
            else {
                continue;
            };
            let mut refs: Vec<Value> = Vec::new();
            for r in vmi
                .body
                .get("routing_instance_refs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(target) = r
                    .get("uuid")
                    .and_then(Value::as_str)
                    .and_then(|t| index.get(t))
                else {
                    continue;
                };
                let is_primary = target
                    .parent
                    .as_ref()
                    .and_then(|p| index.get(&p.uuid))
                    .is_some_and(|vn| {
                        primary_instance(index, vn).is_some_and(|p| p.uuid == target.uuid)
                    });
                if target.uuid != ri.uuid && !is_primary {
                    refs.push(json!({"to": target.fq_name, "attr": r.get("attr").cloned().unwrap_or(Value::Null)}));
                }
            }
            refs.push(json!({"to": ri.fq_name, "attr": {"direction": "both"}}));
            let mut fields = Map::new();
            fields.insert("routing_instance_refs".into(), Value::Array(refs));
            emit.set_fields(vmi, fields);
        }
    }
}
