//! One channel session's state machine, sans-I/O: it checks each message the vrouter sends
//! against the protocol's order and fields and turns it into a [`Step`] for the hub, or into
//! the gRPC status that ends the stream (INVALID_ARGUMENT for a malformed field,
//! FAILED_PRECONDITION for a message out of order), naming the message and field. Nothing
//! here panics on input; every transition is logged and counted.

use std::net::{IpAddr, Ipv4Addr};

use cirrus_proto::convert::{Prefix, addr_from_wire, mac_from_wire};
use cirrus_proto::v1 as pb;
use pb::agent_message::Msg;
use tonic::Status;

use crate::route_server::Encaps;

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Waiting for the Hello.
    AwaitHello,
    /// Hello accepted.
    Open,
    /// Ended (by the vrouter, by an error, or replaced by a newer session).
    Closed,
}

/// A checked Hello.
#[derive(Debug, Clone, PartialEq)]
pub struct Hello {
    pub hostname: String,
    pub address: Ipv4Addr,
    pub encapsulations: Encaps,
    pub token: String,
    pub agent_version: String,
}

/// A published route whose fields are well formed (the trust check comes later, in the hub).
#[derive(Debug, Clone, PartialEq)]
pub struct WireRoute {
    pub prefix: Prefix,
    pub next_hop: IpAddr,
    pub label: u32,
    pub vni: u32,
    pub encaps: Encaps,
    pub mac: Option<[u8; 6]>,
}

/// What a message asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Hello(Hello),
    Subscribe(String),
    Unsubscribe(String),
    Publish {
        instance: String,
        add: Vec<WireRoute>,
        withdraw: Vec<Prefix>,
        end_of_rib: bool,
    },
    ConfigSubscribe(Vec<String>),
    ConfigUnsubscribe(Vec<String>),
}

/// Per-session counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SessionCounters {
    pub messages: u64,
    pub routes_received: u64,
    pub withdraws_received: u64,
    pub errors: u64,
}

#[derive(Debug)]
pub struct Session {
    pub id: u64,
    state: State,
    subscribed: std::collections::HashSet<String>,
    pub counters: SessionCounters,
}

/// The largest MPLS label (20 bits) and VNI (24 bits).
const MAX_LABEL: u32 = (1 << 20) - 1;
const MAX_VNI: u32 = (1 << 24) - 1;

fn invalid(msg: String) -> Status {
    Status::invalid_argument(msg)
}

impl Session {
    pub fn new(id: u64) -> Session {
        Session {
            id,
            state: State::AwaitHello,
            subscribed: Default::default(),
            counters: SessionCounters::default(),
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Ends the session (the stream closed, or the hub replaced it).
    pub fn close(&mut self) {
        if self.state != State::Closed {
            tracing::debug!(session = self.id, from = ?self.state, "session closed");
            self.state = State::Closed;
        }
    }

    /// The transition function: one message in, a step or the status that ends the stream.
    pub fn handle(&mut self, m: pb::AgentMessage) -> Result<Step, Status> {
        self.counters.messages += 1;
        let r = self.step(m);
        match &r {
            Ok(Step::Hello(h)) => {
                tracing::debug!(session = self.id, vrouter = %h.hostname, "hello accepted");
                self.state = State::Open;
            }
            Ok(_) => {}
            Err(s) => {
                self.counters.errors += 1;
                tracing::info!(session = self.id, code = ?s.code(), error = s.message(), "session ended by a bad message");
                self.state = State::Closed;
            }
        }
        r
    }

    fn step(&mut self, m: pb::AgentMessage) -> Result<Step, Status> {
        let Some(msg) = m.msg else {
            return Err(invalid(
                "AgentMessage.msg: empty message (no field of the oneof set)".into(),
            ));
        };
        match (self.state, msg) {
            (State::Closed, _) => Err(Status::failed_precondition("session is closed")),
            (State::AwaitHello, Msg::Hello(h)) => hello(h).map(Step::Hello),
            (State::AwaitHello, other) => Err(Status::failed_precondition(format!(
                "{}: the first message of a session must be Hello",
                name(&other)
            ))),
            (State::Open, Msg::Hello(_)) => Err(Status::failed_precondition(
                "Hello: sent twice on one session",
            )),
            (State::Open, Msg::Subscribe(s)) => {
                let i = instance("Subscribe.instance", &s.instance)?;
                self.subscribed.insert(i.clone());
                Ok(Step::Subscribe(i))
            }
            (State::Open, Msg::Unsubscribe(s)) => {
                let i = instance("Unsubscribe.instance", &s.instance)?;
                if !self.subscribed.remove(&i) {
                    return Err(Status::failed_precondition(format!(
                        "Unsubscribe.instance: {i} was not subscribed"
                    )));
                }
                Ok(Step::Unsubscribe(i))
            }
            (State::Open, Msg::Publish(p)) => self.publish(p),
            (State::Open, Msg::ConfigSubscribe(c)) => {
                uuids("ConfigSubscribe.vmi_uuids", &c.vmi_uuids)?;
                Ok(Step::ConfigSubscribe(c.vmi_uuids))
            }
            (State::Open, Msg::ConfigUnsubscribe(c)) => {
                uuids("ConfigUnsubscribe.vmi_uuids", &c.vmi_uuids)?;
                Ok(Step::ConfigUnsubscribe(c.vmi_uuids))
            }
        }
    }

    fn publish(&mut self, p: pb::RoutePublish) -> Result<Step, Status> {
        let inst = instance("RoutePublish.instance", &p.instance)?;
        if !self.subscribed.contains(&inst) {
            return Err(Status::failed_precondition(format!(
                "RoutePublish.instance: {inst} is not subscribed (send Subscribe first)"
            )));
        }
        let mut add = Vec::with_capacity(p.add.len());
        for (i, r) in p.add.into_iter().enumerate() {
            add.push(route(i, r)?);
        }
        let mut withdraw = Vec::with_capacity(p.withdraw.len());
        for (i, k) in p.withdraw.iter().enumerate() {
            withdraw.push(
                Prefix::from_wire(k)
                    .map_err(|e| invalid(format!("RoutePublish.withdraw[{i}].{e}")))?,
            );
        }
        self.counters.routes_received += add.len() as u64;
        self.counters.withdraws_received += withdraw.len() as u64;
        Ok(Step::Publish {
            instance: inst,
            add,
            withdraw,
            end_of_rib: p.end_of_rib,
        })
    }
}

fn name(m: &Msg) -> &'static str {
    match m {
        Msg::Hello(_) => "Hello",
        Msg::Subscribe(_) => "Subscribe",
        Msg::Unsubscribe(_) => "Unsubscribe",
        Msg::Publish(_) => "RoutePublish",
        Msg::ConfigSubscribe(_) => "ConfigSubscribe",
        Msg::ConfigUnsubscribe(_) => "ConfigUnsubscribe",
    }
}

fn hello(h: pb::Hello) -> Result<Hello, Status> {
    match pb::Version::try_from(h.version) {
        Ok(pb::Version::Version1) => {}
        Ok(pb::Version::Unspecified) => {
            return Err(invalid(
                "Hello.version: not set (this controller speaks VERSION_1)".into(),
            ));
        }
        Err(_) => {
            return Err(Status::failed_precondition(format!(
                "Hello.version: {} is not supported (this controller speaks VERSION_1)",
                h.version
            )));
        }
    }
    hostname(&h.hostname)?;
    let address = match addr_from_wire("Hello.underlay_address", &h.underlay_address) {
        Ok(IpAddr::V4(a)) if !a.is_unspecified() => a,
        Ok(a) => {
            return Err(invalid(format!(
                "Hello.underlay_address: {a} is not a usable IPv4 tunnel endpoint"
            )));
        }
        Err(e) => return Err(invalid(e.to_string())),
    };
    for (i, e) in h.encapsulations.iter().enumerate() {
        if !matches!(pb::Encapsulation::try_from(*e), Ok(x) if x != pb::Encapsulation::Unspecified)
        {
            return Err(invalid(format!(
                "Hello.encapsulations[{i}]: unknown encapsulation {e}"
            )));
        }
    }
    Ok(Hello {
        hostname: h.hostname,
        address,
        encapsulations: Encaps::from_wire(&h.encapsulations),
        token: h.token,
        agent_version: h.agent_version,
    })
}

/// A hostname the way Contrail names virtual-routers: 1-253 octets of letters, digits, `-`,
/// `_` and `.`.
fn hostname(h: &str) -> Result<(), Status> {
    if h.is_empty() || h.len() > 253 {
        return Err(invalid(format!(
            "Hello.hostname: {} octets (1 to 253)",
            h.len()
        )));
    }
    if let Some(c) = h
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(invalid(format!(
            "Hello.hostname: {h:?} has the character {c:?}"
        )));
    }
    Ok(())
}

fn instance(field: &str, s: &str) -> Result<String, Status> {
    if s.is_empty() {
        return Err(invalid(format!(
            "{field}: empty (a routing instance's fq_name)"
        )));
    }
    if s.len() > 1024 || s.split(':').any(str::is_empty) {
        return Err(invalid(format!(
            "{field}: {s:?} is not a colon-joined fq_name"
        )));
    }
    Ok(s.to_string())
}

fn uuids(field: &str, list: &[String]) -> Result<(), Status> {
    for (i, u) in list.iter().enumerate() {
        if u.is_empty() || u.len() > 64 {
            return Err(invalid(format!("{field}[{i}]: {u:?} is not a uuid")));
        }
    }
    Ok(())
}

fn route(i: usize, r: pb::Route) -> Result<WireRoute, Status> {
    let f = |rest: &str| format!("RoutePublish.add[{i}].{rest}");
    let key = r.key.as_ref().ok_or_else(|| invalid(f("key: missing")))?;
    let prefix = Prefix::from_wire(key).map_err(|e| invalid(f(&e.to_string())))?;
    let [nh] = &r.nexthops[..] else {
        return Err(invalid(f(&format!(
            "nexthops: a published route has exactly one next hop (this vrouter), got {}",
            r.nexthops.len()
        ))));
    };
    let next_hop = addr_from_wire("address", &nh.address)
        .map_err(|e| invalid(f(&format!("nexthops[0].{e}"))))?;
    if nh.label > MAX_LABEL {
        return Err(invalid(f(&format!(
            "nexthops[0].label: {} is more than 20 bits",
            nh.label
        ))));
    }
    if nh.vni > MAX_VNI {
        return Err(invalid(f(&format!(
            "nexthops[0].vni: {} is more than 24 bits",
            nh.vni
        ))));
    }
    if nh.label == 0 && nh.vni == 0 {
        return Err(invalid(f("nexthops[0]: neither label nor vni is set")));
    }
    let mac = mac_from_wire("mac", &nh.mac).map_err(|e| invalid(f(&format!("nexthops[0].{e}"))))?;
    for (j, e) in nh.encapsulations.iter().enumerate() {
        if !matches!(pb::Encapsulation::try_from(*e), Ok(x) if x != pb::Encapsulation::Unspecified)
        {
            return Err(invalid(f(&format!(
                "nexthops[0].encapsulations[{j}]: unknown encapsulation {e}"
            ))));
        }
    }
    let encaps = match Encaps::from_wire(&nh.encapsulations) {
        e if e.is_empty() => Encaps::DEFAULT,
        e => e,
    };
    Ok(WireRoute {
        prefix,
        next_hop,
        label: nh.label,
        vni: nh.vni,
        encaps,
        mac,
    })
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
