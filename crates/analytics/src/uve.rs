//! User-visible entities (UVEs) kept by the collector from what it receives: per vrouter
//! (its ports, flow counts, traffic in and out, its collector session), per virtual
//! network (traffic to and from each other network, Contrail's `UveVirtualNetworkAgent`
//! `in_stats`/`out_stats`) and per port (virtual-machine-interface, `UveVMInterfaceAgent`
//! `if_stats`). Counters add each sample's deltas (`diff_bytes`, `diff_packets`).
//!
//! Directions follow the vrouter's view: traffic a local port sends is `in` for the
//! vrouter and its port, what it receives is `out`. A network's `out_stats` is what its
//! local ports sent to the other network, `in_stats` what they received from it; a
//! network is counted only on the vrouter where its end of the session is local, so a
//! session between two vrouters is not counted twice.
//!
//! The controller's own nodes (control node, config node, BGP peers) are fed in-process
//! as snapshots ([`Uves::update_nodes`], kept in [`crate::node_uve`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use crate::node_uve::{NodeSnapshot, NodeState};
use crate::record::{Event, FlowSideRef, SessionSampleRef};

/// Packets and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    pub pkts: u64,
    pub bytes: u64,
}

impl Traffic {
    fn add(&mut self, s: &FlowSideRef<'_>) {
        self.pkts += s.diff_packets;
        self.bytes += s.diff_bytes;
    }
}

/// What the collector knows of one vrouter.
#[derive(Debug, Clone, Default)]
pub struct VrouterState {
    pub ip: String,
    /// Export connections open now (a restarted vrouter may briefly have two).
    pub sessions: u32,
    /// When the last record arrived, and when its last session ended (µs since epoch).
    pub last_seen_us: i64,
    pub disconnected_at_us: Option<i64>,
    pub ports: BTreeSet<String>,
    pub networks: BTreeSet<String>,
    pub in_traffic: Traffic,
    pub out_traffic: Traffic,
    pub added_flows: u64,
    pub deleted_flows: u64,
    pub denied_flows: u64,
    /// Forward flow uuids set up and not torn down.
    pub live: HashSet<u128>,
    /// When each denied flow of the last minute was received.
    pub denies: VecDeque<i64>,
}

/// One network's traffic with the others (`in_stats`, `out_stats`).
#[derive(Debug, Clone, Default)]
pub struct NetworkState {
    pub ports: BTreeSet<String>,
    pub vrouters: BTreeSet<String>,
    pub in_total: Traffic,
    pub out_total: Traffic,
    pub in_stats: BTreeMap<String, Traffic>,
    pub out_stats: BTreeMap<String, Traffic>,
    pub flows: u64,
}

/// One port's traffic (`if_stats`).
#[derive(Debug, Clone, Default)]
pub struct PortState {
    pub network: String,
    pub ip: String,
    pub vrouter: String,
    pub in_traffic: Traffic,
    pub out_traffic: Traffic,
    pub last_seen_us: i64,
}

/// Everything the UVEs are rendered from.
#[derive(Debug, Default)]
pub struct UveState {
    pub vrouters: BTreeMap<String, VrouterState>,
    pub networks: BTreeMap<String, NetworkState>,
    pub ports: BTreeMap<String, PortState>,
    /// The controller's own nodes and BGP peers (fed in-process).
    pub nodes: NodeState,
    /// Acknowledged alarms: (UVE type, name, alarm type) to the raise's timestamp.
    pub acks: HashMap<(String, String, String), i64>,
}

/// Live flows kept per vrouter for `active_flows`; past this the set stops growing.
const MAX_LIVE: usize = 1 << 20;
/// The window of the deny rate.
pub const MINUTE_US: i64 = 60_000_000;

impl UveState {
    /// Adds one sample received at `now_us`.
    pub fn add(&mut self, s: &SessionSampleRef<'_>, now_us: i64) {
        if s.vrouter.is_empty() {
            return;
        }
        let none = FlowSideRef::default();
        let fwd = &s.forward;
        let rev = s.reverse.as_ref().unwrap_or(&none);
        let v = self.vrouters.entry(s.vrouter.to_owned()).or_default();
        v.ip = s.vrouter_ip.to_string();
        v.last_seen_us = now_us;
        match s.event {
            Event::Setup => {
                v.added_flows += 1;
                if !fwd.pass {
                    v.denied_flows += 1;
                    v.denies.push_back(now_us);
                }
                if v.live.len() < MAX_LIVE {
                    v.live.insert(fwd.uuid);
                }
            }
            Event::Interval => {
                if v.live.len() < MAX_LIVE {
                    v.live.insert(fwd.uuid);
                }
            }
            Event::Teardown => {
                v.deleted_flows += 1;
                v.live.remove(&fwd.uuid);
            }
        }
        while v.denies.front().is_some_and(|t| *t < now_us - MINUTE_US) {
            v.denies.pop_front();
        }
        // (local end, its network, the other network, what it sent, what it received)
        let mut ends = Vec::with_capacity(2);
        if s.source_local {
            ends.push((s.source_ip, s.source_vn, s.dest_vn, fwd, rev));
        }
        if s.dest_local {
            ends.push((s.dest_ip, s.dest_vn, s.source_vn, rev, fwd));
        }
        for (i, (ip, vn, other, sent, got)) in ends.into_iter().enumerate() {
            v.in_traffic.add(sent);
            v.out_traffic.add(got);
            if !vn.is_empty() {
                v.networks.insert(vn.to_owned());
            }
            // The record names one port: the source's when it is local, else the dest's.
            let port = (i == 0 && !s.vmi.is_empty()).then_some(s.vmi);
            if let Some(p) = port {
                v.ports.insert(p.to_owned());
                let ps = self.ports.entry(p.to_owned()).or_default();
                ps.network = vn.to_owned();
                ps.ip = ip.to_string();
                ps.vrouter = s.vrouter.to_owned();
                ps.in_traffic.add(sent);
                ps.out_traffic.add(got);
                ps.last_seen_us = now_us;
            }
            if vn.is_empty() {
                continue;
            }
            let n = self.networks.entry(vn.to_owned()).or_default();
            n.vrouters.insert(s.vrouter.to_owned());
            if let Some(p) = port {
                n.ports.insert(p.to_owned());
            }
            if s.event == Event::Setup {
                n.flows += 1;
            }
            n.out_total.add(sent);
            n.in_total.add(got);
            n.out_stats.entry(other.to_owned()).or_default().add(sent);
            n.in_stats.entry(other.to_owned()).or_default().add(got);
        }
    }

    /// An export session of `vrouter` opened.
    pub fn connected(&mut self, vrouter: &str, now_us: i64) {
        let v = self.vrouters.entry(vrouter.to_owned()).or_default();
        v.sessions += 1;
        v.disconnected_at_us = None;
        v.last_seen_us = v.last_seen_us.max(now_us);
    }

    /// An export session of `vrouter` ended.
    pub fn disconnected(&mut self, vrouter: &str, now_us: i64) {
        if let Some(v) = self.vrouters.get_mut(vrouter) {
            v.sessions = v.sessions.saturating_sub(1);
            if v.sessions == 0 {
                v.disconnected_at_us = Some(now_us);
            }
        }
    }

    /// Denied flows of `vrouter` received in the minute before `now_us`.
    pub fn denies_last_minute(v: &VrouterState, now_us: i64) -> u64 {
        v.denies
            .iter()
            .filter(|t| **t >= now_us - MINUTE_US)
            .count() as u64
    }
}

/// The state behind a lock, and per connection the vrouters it has spoken for.
#[derive(Debug, Default)]
pub struct Uves {
    pub state: Mutex<UveState>,
    sessions: Mutex<HashMap<u64, BTreeSet<String>>>,
}

impl Uves {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the records of one frame body received on connection `conn` (already
    /// decoded once by the store: a frame that fails there never reaches here).
    pub fn ingest_frame(&self, conn: u64, body: &[u8]) {
        let now = crate::now_us();
        let mut st = self.state.lock().expect("uve state");
        let mut sessions = self.sessions.lock().expect("uve sessions");
        let names = sessions.entry(conn).or_default();
        let _ = crate::wire::decode_body_ref(body, |r| {
            if !r.vrouter.is_empty() && !names.contains(r.vrouter) {
                names.insert(r.vrouter.to_owned());
                st.connected(r.vrouter, now);
            }
            st.add(&r, now);
        });
    }

    /// The controller's latest view of its own nodes and BGP peers.
    pub fn update_nodes(&self, snap: NodeSnapshot) {
        let now = crate::now_us();
        self.state
            .lock()
            .expect("uve state")
            .nodes
            .update(snap, now);
    }

    /// Connection `conn` closed: each vrouter it spoke for loses a session.
    pub fn close(&self, conn: u64) {
        let now = crate::now_us();
        let names = self
            .sessions
            .lock()
            .expect("uve sessions")
            .remove(&conn)
            .unwrap_or_default();
        let mut st = self.state.lock().expect("uve state");
        for n in names {
            st.disconnected(&n, now);
        }
    }
}
