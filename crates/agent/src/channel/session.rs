//! One controller session, sans I/O: what to send on it and what it delivered. The driver
//! ([`super::client`]) owns the gRPC stream and feeds [`Session::handle`] events; every
//! change goes through that one function, which logs it, counts it and returns actions.
//!
//! On connect the session says Hello; once the controller replies it is established and
//! the agent's wants are synced onto it: subscriptions to the routing instances its ports
//! need, config subscriptions for the ports the port IPC added, and the local routes of
//! each subscribed instance, the first batch per instance ending with end-of-RIB. Nothing
//! is published before the agent has the whole config slice (`Want::ready`), so a
//! restarting agent never tells the controller it has no routes. What was sent is
//! remembered per connection and only differences are sent.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use cirrus_proto::convert::Prefix;
use cirrus_proto::v1::{
    self, AgentMessage, ConfigSubscribe, ConfigUnsubscribe, ConfigUpdate, ControllerMessage, Hello,
    Notice, RouteKey, RoutePublish, RouteUpdate, Subscribe, Unsubscribe, agent_message::Msg as Out,
    controller_message::Msg as In,
};

use crate::routes::Route;
use crate::routes::entry::encap_to_wire;

/// What this vrouter says in its Hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloParams {
    pub hostname: String,
    pub underlay: Ipv4Addr,
    pub token: Option<String>,
    pub agent_version: String,
}

/// What the agent wants of every controller.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Want {
    /// Routing instances to subscribe to.
    pub instances: BTreeSet<String>,
    /// Local routes per instance.
    pub publish: BTreeMap<String, BTreeMap<Prefix, Route>>,
    /// Ports to ask the config of (added through the port IPC).
    pub config_vmis: BTreeSet<String>,
    /// The config slice is complete: `publish` is the whole truth.
    pub ready: bool,
}

/// Where a session is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum State {
    Idle,
    /// Hello sent, waiting for the reply.
    Hello,
    Established {
        controller: String,
        session_id: u64,
        graceful_restart_seconds: u32,
    },
}

/// Inputs.
#[derive(Debug)]
pub enum Event<'a> {
    /// The transport is up: say Hello.
    Connected,
    Received(ControllerMessage),
    Closed(String),
    /// Send what differs from `Want`.
    Sync(&'a Want),
}

/// Outputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Send(AgentMessage),
    /// A config batch for this session's slice.
    Config(ConfigUpdate),
    /// Routes for the RIB.
    Routes(RouteUpdate),
    Notice(Notice),
    /// Established (the agent should sync its wants now).
    Up,
    /// Lost; the session's routes go stale.
    Down(String),
    /// The controller broke the protocol: close the stream (and reconnect).
    Fail(String),
}

/// Counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    pub connects: u64,
    pub config_batches: u64,
    pub route_updates: u64,
    pub notices: u64,
    pub routes_published: u64,
    pub routes_withdrawn: u64,
    /// Ports whose config was asked for (ConfigSubscribe) and let go.
    pub config_subscribed: u64,
    pub config_unsubscribed: u64,
    pub protocol_errors: u64,
}

/// One session.
#[derive(Debug)]
pub struct Session {
    pub index: usize,
    pub address: String,
    hello: HelloParams,
    state: State,
    subscribed: BTreeSet<String>,
    config_subscribed: BTreeSet<String>,
    published: BTreeMap<String, BTreeMap<Prefix, Route>>,
    end_of_rib_sent: BTreeSet<String>,
    pub counters: Counters,
    pub last_error: Option<String>,
}

fn msg(m: Out) -> Action {
    Action::Send(AgentMessage { msg: Some(m) })
}

impl Session {
    pub fn new(index: usize, address: String, hello: HelloParams) -> Self {
        Self {
            index,
            address,
            hello,
            state: State::Idle,
            subscribed: BTreeSet::new(),
            config_subscribed: BTreeSet::new(),
            published: BTreeMap::new(),
            end_of_rib_sent: BTreeSet::new(),
            counters: Counters::default(),
            last_error: None,
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn is_established(&self) -> bool {
        matches!(self.state, State::Established { .. })
    }

    /// Instances subscribed on this connection.
    pub fn subscribed(&self) -> &BTreeSet<String> {
        &self.subscribed
    }

    /// Routes published on this connection, per instance.
    pub fn published(&self) -> &BTreeMap<String, BTreeMap<Prefix, Route>> {
        &self.published
    }

    /// The transition function.
    pub fn handle(&mut self, ev: Event<'_>) -> Vec<Action> {
        let out = self.step(ev);
        for a in &out {
            match a {
                Action::Up => {
                    tracing::info!(controller = %self.address, state = ?self.state, "controller session established")
                }
                Action::Down(why) => {
                    tracing::warn!(controller = %self.address, why, "controller session lost")
                }
                Action::Fail(why) => {
                    tracing::warn!(controller = %self.address, why, "controller broke the protocol")
                }
                Action::Send(m) => {
                    tracing::trace!(controller = %self.address, msg = ?m.msg.as_ref().map(kind), "send")
                }
                _ => {}
            }
        }
        out
    }

    fn step(&mut self, ev: Event<'_>) -> Vec<Action> {
        match ev {
            Event::Connected => {
                self.counters.connects += 1;
                self.reset();
                self.state = State::Hello;
                vec![msg(Out::Hello(Hello {
                    version: v1::Version::Version1 as i32,
                    hostname: self.hello.hostname.clone(),
                    underlay_address: self.hello.underlay.octets().to_vec(),
                    encapsulations: crate::config::global::DEFAULT_ENCAPS
                        .iter()
                        .map(|e| encap_to_wire(*e))
                        .collect(),
                    token: self.hello.token.clone().unwrap_or_default(),
                    agent_version: self.hello.agent_version.clone(),
                }))]
            }
            Event::Closed(why) => {
                let was = std::mem::replace(&mut self.state, State::Idle);
                self.reset();
                self.last_error = Some(why.clone());
                if was == State::Idle {
                    Vec::new()
                } else {
                    vec![Action::Down(why)]
                }
            }
            Event::Received(m) => self.received(m),
            Event::Sync(want) => self.sync(want),
        }
    }

    fn reset(&mut self) {
        self.subscribed.clear();
        self.config_subscribed.clear();
        self.published.clear();
        self.end_of_rib_sent.clear();
    }

    fn fail(&mut self, why: String) -> Vec<Action> {
        self.counters.protocol_errors += 1;
        self.last_error = Some(why.clone());
        vec![Action::Fail(why)]
    }

    fn received(&mut self, m: ControllerMessage) -> Vec<Action> {
        let Some(m) = m.msg else {
            return self.fail("ControllerMessage: msg is empty".into());
        };
        match (&self.state, m) {
            (State::Hello, In::Hello(r)) => {
                if r.version != v1::Version::Version1 as i32 {
                    return self.fail(format!("HelloReply.version: {} is not 1", r.version));
                }
                self.state = State::Established {
                    controller: r.controller,
                    session_id: r.session_id,
                    graceful_restart_seconds: r.graceful_restart_seconds,
                };
                vec![Action::Up]
            }
            (State::Established { .. }, In::Config(c)) => {
                self.counters.config_batches += 1;
                vec![Action::Config(c)]
            }
            (State::Established { .. }, In::Routes(r)) => {
                self.counters.route_updates += 1;
                if !self.subscribed.contains(&r.instance) {
                    tracing::debug!(instance = %r.instance, "routes of an instance not subscribed");
                }
                vec![Action::Routes(r)]
            }
            (State::Established { .. } | State::Hello, In::Notice(n)) => {
                self.counters.notices += 1;
                tracing::warn!(controller = %self.address, code = n.code, instance = %n.instance, message = %n.message, "controller notice");
                vec![Action::Notice(n)]
            }
            (State::Established { .. }, In::Hello(_)) => {
                self.fail("HelloReply: a second one on the session".into())
            }
            (s, m) => self.fail(format!("{}: not expected in state {s:?}", kind_in(&m))),
        }
    }

    fn sync(&mut self, want: &Want) -> Vec<Action> {
        if !self.is_established() {
            return Vec::new();
        }
        let mut out = Vec::new();
        // Config subscriptions first: the slice follows them.
        let add: Vec<String> = want
            .config_vmis
            .difference(&self.config_subscribed)
            .cloned()
            .collect();
        let del: Vec<String> = self
            .config_subscribed
            .difference(&want.config_vmis)
            .cloned()
            .collect();
        if !add.is_empty() {
            self.counters.config_subscribed += add.len() as u64;
            out.push(msg(Out::ConfigSubscribe(ConfigSubscribe {
                vmi_uuids: add,
            })));
        }
        if !del.is_empty() {
            self.counters.config_unsubscribed += del.len() as u64;
            out.push(msg(Out::ConfigUnsubscribe(ConfigUnsubscribe {
                vmi_uuids: del,
            })));
        }
        self.config_subscribed = want.config_vmis.clone();

        for i in want.instances.difference(&self.subscribed.clone()) {
            out.push(msg(Out::Subscribe(Subscribe {
                instance: i.clone(),
            })));
            self.subscribed.insert(i.clone());
        }
        let gone: Vec<String> = self
            .subscribed
            .difference(&want.instances)
            .cloned()
            .collect();
        for i in gone {
            // Withdraw what was published there first.
            if let Some(p) = self.published.remove(&i)
                && !p.is_empty()
            {
                self.counters.routes_withdrawn += p.len() as u64;
                out.push(msg(Out::Publish(RoutePublish {
                    instance: i.clone(),
                    add: Vec::new(),
                    withdraw: p.keys().map(Prefix::to_wire).collect(),
                    end_of_rib: false,
                })));
            }
            self.end_of_rib_sent.remove(&i);
            out.push(msg(Out::Unsubscribe(Unsubscribe {
                instance: i.clone(),
            })));
            self.subscribed.remove(&i);
        }

        if !want.ready {
            return out;
        }
        let empty = BTreeMap::new();
        for i in &want.instances {
            let now = want.publish.get(i).unwrap_or(&empty);
            let before = self.published.get(i).unwrap_or(&empty);
            let add: Vec<v1::Route> = now
                .iter()
                .filter(|(p, r)| before.get(*p) != Some(*r))
                .map(|(_, r)| r.to_wire())
                .collect();
            let withdraw: Vec<RouteKey> = before
                .keys()
                .filter(|p| !now.contains_key(*p))
                .map(Prefix::to_wire)
                .collect();
            let eor = !self.end_of_rib_sent.contains(i);
            if add.is_empty() && withdraw.is_empty() && !eor {
                continue;
            }
            self.counters.routes_published += add.len() as u64;
            self.counters.routes_withdrawn += withdraw.len() as u64;
            out.push(msg(Out::Publish(RoutePublish {
                instance: i.clone(),
                add,
                withdraw,
                end_of_rib: eor,
            })));
            self.end_of_rib_sent.insert(i.clone());
            self.published.insert(i.clone(), now.clone());
        }
        out
    }
}

fn kind(m: &Out) -> &'static str {
    match m {
        Out::Hello(_) => "Hello",
        Out::Subscribe(_) => "Subscribe",
        Out::Unsubscribe(_) => "Unsubscribe",
        Out::Publish(_) => "RoutePublish",
        Out::ConfigSubscribe(_) => "ConfigSubscribe",
        Out::ConfigUnsubscribe(_) => "ConfigUnsubscribe",
    }
}

fn kind_in(m: &In) -> &'static str {
    match m {
        In::Hello(_) => "HelloReply",
        In::Config(_) => "ConfigUpdate",
        In::Routes(_) => "RouteUpdate",
        In::Notice(_) => "Notice",
    }
}
