//! A config graph in memory for tests and the bench: builds an [`Index`] from objects the
//! way the API stores them (a network with its primary routing instance, a security group
//! with its id), changes it, and applies the compiler's [`Write`]s to it as the controller's
//! write-back would (refs by fq_name resolved to uuids), so a test can run the compiler to a
//! fixed point without a store.

use cirrus_api::index::Index;
use cirrus_api::keys;
use cirrus_store::{Event, KeyValue};
use serde_json::{Map, Value, json};

use crate::write::{TARGET_POOL, Write};
use crate::{Compiler, Output};

pub const PROJECT: &str = "default-domain:p";

/// An index and the means to change it.
pub struct Graph {
    pub index: Index,
    next_uuid: u64,
    next_sg_id: u64,
}

impl Default for Graph {
    fn default() -> Self {
        Self::new()
    }
}

fn fq(s: &str) -> Vec<String> {
    s.split(':').map(str::to_string).collect()
}

impl Graph {
    /// The global-system-config (ASN 64512), default-domain and project `default-domain:p`.
    pub fn new() -> Self {
        let mut g = Graph {
            index: Index::default(),
            next_uuid: 1,
            next_sg_id: 8_000_000,
        };
        g.create(
            "global-system-config",
            "default-global-system-config",
            json!({"autonomous_system": 64512}),
        );
        g.create("domain", "default-domain", json!({}));
        g.create("project", PROJECT, json!({}));
        g
    }

    pub fn revision(&self) -> i64 {
        self.index.revision
    }

    fn uuid(&mut self) -> String {
        self.next_uuid += 1;
        format!("00000000-0000-4000-8000-{:012}", self.next_uuid)
    }

    fn store(&mut self, events: Vec<Event>) {
        self.index.apply(&events);
    }

    fn put_doc(&mut self, doc: &Value) {
        let rev = self.index.revision + 1;
        let key = keys::obj(doc["uuid"].as_str().expect("uuid"));
        self.store(vec![Event::Put(KeyValue {
            key,
            value: serde_json::to_vec(doc).expect("json"),
            create_revision: rev,
            mod_revision: rev,
        })]);
    }

    /// Resolves `{to}` refs to `{to, uuid, attr}` as the API does.
    fn resolve_refs(&self, type_name: &str, body: &mut Map<String, Value>) {
        let ty = cirrus_model::schema()
            .resource(type_name)
            .expect("known type");
        for (field, v) in body.iter_mut() {
            let Some(def) = ty.ref_by_field(field) else {
                continue;
            };
            let to_type = def.to.clone();
            for r in v.as_array_mut().into_iter().flatten() {
                if r.get("uuid").is_some_and(|u| !u.is_null()) {
                    continue;
                }
                let name: Vec<&str> = r["to"]
                    .as_array()
                    .expect("to")
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                let target = self
                    .index
                    .by_fq_name(&to_type, &name.join(":"))
                    .unwrap_or_else(|| {
                        panic!("{type_name}.{field}: no {to_type} {}", name.join(":"))
                    });
                r["uuid"] = json!(target.uuid);
                if r.get("attr").is_none() {
                    r["attr"] = Value::Null;
                }
            }
        }
    }

    /// Creates an object (its parent is the object named by the fq_name's prefix).
    pub fn create(&mut self, type_name: &str, fq_name: &str, body: Value) -> String {
        self.create_named(type_name, fq(fq_name), body)
    }

    /// [`Graph::create`] with the fq_name as a list (route targets have colons in their name).
    pub fn create_named(&mut self, type_name: &str, names: Vec<String>, body: Value) -> String {
        let fq_name = names.join(":");
        let uuid = self.uuid();
        let mut body = body.as_object().cloned().unwrap_or_default();
        self.resolve_refs(type_name, &mut body);
        body.insert("type".into(), json!(type_name));
        body.insert("uuid".into(), json!(uuid));
        body.insert("fq_name".into(), json!(names));
        if names.len() > 1 {
            let parent_fq = names[..names.len() - 1].join(":");
            let ty = cirrus_model::schema()
                .resource(type_name)
                .expect("known type");
            let parent = ty
                .parents
                .iter()
                .find_map(|p| self.index.by_fq_name(p, &parent_fq))
                .unwrap_or_else(|| panic!("{type_name} {fq_name}: no parent {parent_fq}"));
            body.insert("parent_type".into(), json!(parent.type_name()));
            body.insert("parent_uuid".into(), json!(parent.uuid));
        }
        self.put_doc(&Value::Object(body));
        uuid
    }

    /// Sets fields of an existing object.
    pub fn update(&mut self, uuid: &str, fields: Value) {
        let obj = self
            .index
            .get(uuid)
            .unwrap_or_else(|| panic!("no object {uuid}"))
            .clone();
        let mut fields = fields.as_object().cloned().unwrap_or_default();
        self.resolve_refs(obj.type_name(), &mut fields);
        let mut doc: Value = serde_json::from_slice(&obj.to_stored()).expect("stored json");
        for (k, v) in fields {
            if v.is_null() {
                doc.as_object_mut().expect("object").remove(&k);
            } else {
                doc[k] = v;
            }
        }
        self.put_doc(&doc);
    }

    pub fn delete(&mut self, uuid: &str) {
        let rev = self.index.revision + 1;
        self.store(vec![Event::Delete {
            key: keys::obj(uuid),
            mod_revision: rev,
        }]);
    }

    /// A network in the test project with its primary routing instance (what the API's VN
    /// hook creates).
    pub fn network(&mut self, name: &str) -> String {
        let fq_name = format!("{PROJECT}:{name}");
        let vn = self.create("virtual-network", &fq_name, json!({}));
        self.create(
            "routing-instance",
            &format!("{fq_name}:{name}"),
            json!({"routing_instance_is_default": false}),
        );
        vn
    }

    /// Deletes a network together with its routing instances and ACLs (the API's cascade).
    pub fn delete_network(&mut self, vn: &str) {
        let children: Vec<String> = self.index.children(vn).map(|c| c.uuid.clone()).collect();
        for c in children {
            self.delete(&c);
        }
        self.delete(vn);
    }

    pub fn policy(&mut self, name: &str, rules: Value) -> String {
        self.create(
            "network-policy",
            &format!("{PROJECT}:{name}"),
            json!({"network_policy_entries": {"policy_rule": rules}}),
        )
    }

    /// Sets a network's policies (by uuid), in this sequence order.
    pub fn attach(&mut self, vn: &str, policies: &[&str]) {
        let refs: Vec<Value> = policies
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let o = self.index.get(p).expect("policy");
                json!({"to": o.fq_name, "uuid": p, "attr": {"sequence": {"major": i, "minor": 0}, "timer": null}})
            })
            .collect();
        self.update(vn, json!({"network_policy_refs": refs}));
    }

    pub fn security_group(&mut self, name: &str, rules: Value) -> String {
        self.next_sg_id += 1;
        let id = self.next_sg_id;
        self.create(
            "security-group",
            &format!("{PROJECT}:{name}"),
            json!({"security_group_id": id, "security_group_entries": {"policy_rule": rules}}),
        )
    }

    pub fn port(&mut self, name: &str, vn: &str) -> String {
        let vn_fq = self.index.get(vn).expect("vn").fq_name.clone();
        self.create(
            "virtual-machine-interface",
            &format!("{PROJECT}:{name}"),
            json!({"virtual_network_refs": [{"to": vn_fq}]}),
        )
    }

    pub fn router(&mut self, name: &str, ports: &[&str]) -> String {
        let refs: Vec<Value> = ports
            .iter()
            .map(|p| json!({"to": self.index.get(p).expect("port").fq_name}))
            .collect();
        self.create(
            "logical-router",
            &format!("{PROJECT}:{name}"),
            json!({"virtual_machine_interface_refs": refs}),
        )
    }

    /// Applies the compiler's writes as the controller's write-back does.
    pub fn apply(&mut self, writes: &[Write]) {
        for w in writes {
            match w {
                Write::ReserveTarget { n, owner } => {
                    let rev = self.index.revision + 1;
                    let key = keys::id(TARGET_POOL, *n);
                    assert!(
                        self.index.ids(TARGET_POOL).is_none_or(|s| !s.contains(n)),
                        "number {n} reserved twice"
                    );
                    self.store(vec![Event::Put(KeyValue {
                        key,
                        value: owner.clone().into_bytes(),
                        create_revision: rev,
                        mod_revision: rev,
                    })]);
                }
                Write::ReleaseTarget { n } => {
                    let rev = self.index.revision + 1;
                    self.store(vec![Event::Delete {
                        key: keys::id(TARGET_POOL, *n),
                        mod_revision: rev,
                    }]);
                }
                Write::Create {
                    type_name,
                    fq_name,
                    body,
                    ..
                } => {
                    let joined = fq_name.join(":");
                    assert!(
                        self.index.by_fq_name(type_name, &joined).is_none(),
                        "{type_name} {joined} created twice"
                    );
                    self.create_named(type_name, fq_name.clone(), Value::Object(body.clone()));
                }
                Write::Update { uuid, body, .. } => self.update(uuid, Value::Object(body.clone())),
                Write::Delete { uuid, .. } => self.delete(uuid),
            }
        }
    }

    /// Runs `compiler` on the changes since `since` and applies its writes until it has
    /// nothing more to write; returns the outputs (the first is the change's own).
    pub fn converge(&mut self, compiler: &mut Compiler, mut since: i64) -> Vec<Output> {
        let mut outs = Vec::new();
        for _ in 0..8 {
            let changes = self
                .index
                .changes_since(since)
                .expect("change log reaches back");
            since = self.revision();
            let out = compiler.changed(&self.index, &changes);
            let done = out.writes.is_empty();
            self.apply(&out.writes);
            outs.push(out);
            if done {
                return outs;
            }
        }
        panic!(
            "the compiler did not reach a fixed point: {:#?}",
            outs.last()
        );
    }

    /// Runs a full compile and applies it until nothing more is written.
    pub fn converge_full(&mut self, compiler: &mut Compiler) -> Output {
        let since = self.revision();
        let out = compiler.full(&self.index);
        self.apply(&out.writes);
        self.converge(compiler, since);
        out
    }
}
