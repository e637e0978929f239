//! A controller for tests, at the message level: it speaks the channel's messages to
//! agents through their event queues (no gRPC), sends each its config slice, and serves
//! routes as the real one does: every route published into an instance goes to every
//! agent subscribed to it (its own included), the first batch with end-of-RIB. Routes can
//! also be added by hand (what route-target leaking or BGP would bring).

use std::collections::{BTreeMap, BTreeSet};

use cirrus_proto::v1::{
    self, AgentMessage, ConfigObject, ConfigUpdate, ControllerMessage, HelloReply, Route, RouteKey,
    RouteUpdate, agent_message::Msg as Out, controller_message::Msg as In,
};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::channel::client::ChannelEvent;
use crate::config::{ConfigStore, Object};
use crate::node::NodeEvent;

/// A config object on the wire.
pub fn to_wire(o: &Object) -> ConfigObject {
    ConfigObject {
        r#type: o.kind.clone(),
        uuid: o.uuid.clone(),
        fq_name: o.fq_name.clone(),
        parent_type: o.parent_type.clone(),
        parent_uuid: o.parent_uuid.clone(),
        body: serde_json::to_vec(&o.body).unwrap_or_default(),
        revision: o.revision,
    }
}

/// Every object of a slice on the wire.
pub fn slice_to_wire(s: &ConfigStore) -> Vec<ConfigObject> {
    let mut v: Vec<ConfigObject> = Vec::new();
    for kind in [
        "project",
        "tag",
        "network-ipam",
        "virtual-network",
        "routing-instance",
        "access-control-list",
        "security-group",
        "floating-ip-pool",
        "floating-ip",
        "virtual-machine-interface",
        "instance-ip",
        "global-vrouter-config",
        "address-group",
        "service-group",
        "firewall-rule",
        "firewall-policy",
        "application-policy-set",
        "alias-ip-pool",
        "alias-ip",
        "virtual-machine",
    ] {
        v.extend(s.of_kind(kind).map(|o| to_wire(o)));
    }
    v
}

type Key = (Vec<u8>, u32);

struct Agent {
    events: UnboundedSender<NodeEvent>,
    out: UnboundedReceiver<AgentMessage>,
    session: usize,
    subscribed: BTreeSet<String>,
    published: BTreeMap<String, BTreeMap<Key, Route>>,
    /// What this agent was sent per instance.
    sent: BTreeMap<String, BTreeMap<Key, Route>>,
    hellos: u64,
}

/// The test controller.
#[derive(Default)]
pub struct MiniController {
    agents: Vec<Agent>,
    manual: BTreeMap<String, BTreeMap<Key, Route>>,
    revision: i64,
}

fn key(r: &Route) -> Key {
    let k = r.key.clone().unwrap_or_default();
    (k.prefix, k.prefix_len)
}

impl MiniController {
    /// Connects an agent (as its controller `session`) and sends it `slice`. Returns its
    /// index here.
    pub fn connect(
        &mut self,
        events: UnboundedSender<NodeEvent>,
        session: usize,
        slice: &ConfigStore,
    ) -> usize {
        let (tx, rx) = unbounded_channel();
        let _ = events.send(NodeEvent::Channel(session, ChannelEvent::Connecting(tx)));
        let send = |m: In| {
            let _ = events.send(NodeEvent::Channel(
                session,
                ChannelEvent::Message(ControllerMessage { msg: Some(m) }),
            ));
        };
        send(In::Hello(HelloReply {
            version: v1::Version::Version1 as i32,
            controller: "mini".into(),
            virtual_router_uuid: "vr".into(),
            session_id: 1,
            graceful_restart_seconds: 0,
        }));
        self.revision += 1;
        send(In::Config(ConfigUpdate {
            revision: self.revision,
            upsert: slice_to_wire(slice),
            delete: Vec::new(),
            end_of_config: true,
        }));
        self.agents.push(Agent {
            events,
            out: rx,
            session,
            subscribed: BTreeSet::new(),
            published: BTreeMap::new(),
            sent: BTreeMap::new(),
            hellos: 0,
        });
        self.agents.len() - 1
    }

    /// Sends agent `i` config changes.
    pub fn config(&mut self, i: usize, upsert: Vec<ConfigObject>, delete: Vec<v1::ConfigKey>) {
        self.revision += 1;
        let a = &self.agents[i];
        let _ = a.events.send(NodeEvent::Channel(
            a.session,
            ChannelEvent::Message(ControllerMessage {
                msg: Some(In::Config(ConfigUpdate {
                    revision: self.revision,
                    upsert,
                    delete,
                    end_of_config: false,
                })),
            }),
        ));
    }

    /// Ends agent `i`'s session (its routes go, as the real controller withdraws them).
    pub fn disconnect(&mut self, i: usize) {
        let a = &mut self.agents[i];
        let _ = a.events.send(NodeEvent::Channel(
            a.session,
            ChannelEvent::Closed("test".into()),
        ));
        a.published.clear();
        a.subscribed.clear();
    }

    /// Adds a route to an instance by hand.
    pub fn add_route(&mut self, instance: &str, r: Route) {
        self.manual
            .entry(instance.into())
            .or_default()
            .insert(key(&r), r);
    }

    /// What agent `i` published in `instance`.
    pub fn published(&self, i: usize, instance: &str) -> Vec<Route> {
        self.agents[i]
            .published
            .get(instance)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Hellos received from agent `i`.
    pub fn hellos(&self, i: usize) -> u64 {
        self.agents[i].hellos
    }

    /// Reads what the agents sent and sends them the routes they now should have.
    /// Returns whether anything moved.
    pub fn pump(&mut self) -> bool {
        let mut moved = false;
        for a in &mut self.agents {
            while let Ok(m) = a.out.try_recv() {
                moved = true;
                match m.msg {
                    Some(Out::Hello(_)) => a.hellos += 1,
                    Some(Out::Subscribe(s)) => {
                        a.subscribed.insert(s.instance);
                    }
                    Some(Out::Unsubscribe(s)) => {
                        a.subscribed.remove(&s.instance);
                        a.sent.remove(&s.instance);
                    }
                    Some(Out::Publish(p)) => {
                        let m = a.published.entry(p.instance).or_default();
                        for w in p.withdraw {
                            m.remove(&(w.prefix, w.prefix_len));
                        }
                        for r in p.add {
                            m.insert(key(&r), r);
                        }
                    }
                    _ => {}
                }
            }
        }
        // The routes of each instance: every agent's publications and the manual ones,
        // next hops of one prefix merged.
        let mut table: BTreeMap<String, BTreeMap<Key, Route>> = self.manual.clone();
        for a in &self.agents {
            for (i, rs) in &a.published {
                let t = table.entry(i.clone()).or_default();
                for (k, r) in rs {
                    match t.get_mut(k) {
                        Some(m) => {
                            for n in &r.nexthops {
                                if !m.nexthops.contains(n) {
                                    m.nexthops.push(n.clone());
                                }
                            }
                        }
                        None => {
                            t.insert(k.clone(), r.clone());
                        }
                    }
                }
            }
        }
        let empty = BTreeMap::new();
        for a in &mut self.agents {
            for i in a.subscribed.clone() {
                let now = table.get(&i).unwrap_or(&empty);
                let first = !a.sent.contains_key(&i);
                let before = a.sent.entry(i.clone()).or_default();
                let reach: Vec<Route> = now
                    .iter()
                    .filter(|(k, r)| before.get(*k) != Some(*r))
                    .map(|(_, r)| r.clone())
                    .collect();
                let unreach: Vec<RouteKey> = before
                    .keys()
                    .filter(|k| !now.contains_key(*k))
                    .map(|(p, l)| RouteKey {
                        prefix: p.clone(),
                        prefix_len: *l,
                    })
                    .collect();
                if reach.is_empty() && unreach.is_empty() && !first {
                    continue;
                }
                moved = true;
                *before = now.clone();
                let _ = a.events.send(NodeEvent::Channel(
                    a.session,
                    ChannelEvent::Message(ControllerMessage {
                        msg: Some(In::Routes(RouteUpdate {
                            instance: i.clone(),
                            reach,
                            unreach,
                            end_of_rib: first,
                        })),
                    }),
                ));
            }
        }
        moved
    }
}
