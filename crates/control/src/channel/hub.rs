//! The hub: one task that owns the route server, every open session's state (its config slice,
//! trust, counters, outbound stream) and the follow-up of config changes. Session tasks,
//! the config watcher, the BGP bridge and introspect talk to it through one queue; it handles
//! what is queued, then flushes the route server once, so a burst of publishes from many
//! vrouters becomes one set of updates per instance, each encoded once and sent to every
//! subscriber of the instance.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use cirrus_api::ApiState;
use cirrus_proto::v1 as pb;
use pb::controller_message::Msg;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tonic::Status;

use super::auth::ChannelAuth;
use super::service::{OutboundTx, encode};
use super::session::{Hello, Step};
use crate::placement::Placement;
use crate::route_server::{Action, AgentRoute, BgpChange, BgpOp, Event, InstanceCfg, RouteServer};
use crate::trust::Trust;
use crate::{bgp_config, instance_cfg, slice};

/// Config objects per `ConfigUpdate` message.
const OBJECTS_PER_UPDATE: usize = 256;
/// Messages handled before the route server is flushed, at most.
const BATCH: usize = 4096;
/// A vrouter that leaves this much unread is cut off (RESOURCE_EXHAUSTED): its updates would
/// otherwise pile up in the controller. It reconnects and gets its tables afresh.
pub const MAX_QUEUED: usize = 256 << 20;

pub enum HubMsg {
    Open {
        id: u64,
        hello: Hello,
        vr_uuid: String,
        tx: OutboundTx,
        peer: Option<SocketAddr>,
    },
    Step {
        id: u64,
        step: Step,
    },
    Closed {
        id: u64,
    },
    /// The config index applied a new revision.
    Config,
    Bgp(Vec<BgpChange>),
    StaleTimer {
        hostname: String,
        generation: u64,
    },
    Vrouters(oneshot::Sender<Value>),
    Routes(Option<String>, oneshot::Sender<Value>),
}

/// What session tasks and introspect hold.
pub struct HubHandle {
    pub tx: mpsc::UnboundedSender<HubMsg>,
    pub state: Arc<ApiState>,
    pub auth: ChannelAuth,
    next_session: AtomicU64,
}

impl HubHandle {
    pub fn next_session(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    pub fn send(&self, m: HubMsg) -> bool {
        self.tx.send(m).is_ok()
    }

    /// `GET /vrouters`.
    pub async fn vrouters(&self) -> Option<Value> {
        let (o, r) = oneshot::channel();
        self.send(HubMsg::Vrouters(o));
        r.await.ok()
    }

    /// The route server's routes (one instance or all agent-fed ones).
    pub async fn routes(&self, instance: Option<String>) -> Option<Value> {
        let (o, r) = oneshot::channel();
        self.send(HubMsg::Routes(instance, o));
        r.await.ok()
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
struct ConnCounters {
    routes_received: u64,
    routes_refused: u64,
    routes_withdrawn: u64,
    /// Route entries sent (an update of n routes to one vrouter counts n).
    routes_sent: u64,
    updates_sent: u64,
    config_objects_sent: u64,
    config_deletes_sent: u64,
}

struct Conn {
    hello: Hello,
    vr_uuid: String,
    tx: OutboundTx,
    peer: Option<SocketAddr>,
    since: SystemTime,
    /// VMIs the vrouter asked for (ConfigSubscribe).
    asked: BTreeSet<String>,
    held: HashMap<String, (&'static str, i64)>,
    trust: Trust,
    subscribed: BTreeSet<String>,
    counters: ConnCounters,
    config_revision: i64,
}

/// How the hub runs.
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// The control node's hostname (its bgp-router), for HelloReply and the config derivation.
    pub controller: String,
    /// 0: a vrouter's routes go when its session ends.
    pub graceful_restart_seconds: u32,
    pub auth: ChannelAuth,
}

struct Hub {
    opts: HubOptions,
    state: Arc<ApiState>,
    tx: mpsc::UnboundedSender<HubMsg>,
    rs: RouteServer,
    conns: HashMap<u64, Conn>,
    by_host: HashMap<String, u64>,
    bgp: Option<mpsc::UnboundedSender<Vec<BgpOp>>>,
    placement: Placement,
    instances: BTreeMap<String, InstanceCfg>,
    refused_total: u64,
    /// The index revision `placement`, `instances` and the slices were computed at.
    revision: i64,
}

/// Starts the hub; `bgp` receives vrouter routes for the speaker (none: no BGP).
pub fn spawn(
    state: Arc<ApiState>,
    opts: HubOptions,
    bgp: Option<mpsc::UnboundedSender<Vec<BgpOp>>>,
) -> (Arc<HubHandle>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handle = Arc::new(HubHandle {
        tx: tx.clone(),
        state: state.clone(),
        auth: opts.auth.clone(),
        next_session: AtomicU64::new(1),
    });
    let mut hub = Hub {
        opts,
        state: state.clone(),
        tx: tx.clone(),
        rs: RouteServer::new(),
        conns: HashMap::new(),
        by_host: HashMap::new(),
        bgp,
        placement: Placement::default(),
        instances: BTreeMap::new(),
        refused_total: 0,
        revision: -1,
    };
    // Config changes, debounced like the speaker's follower.
    let watch_tx = tx.clone();
    let mut watch = state.subscribe();
    tokio::spawn(async move {
        loop {
            if watch.changed().await.is_err() {
                return;
            }
            tokio::time::sleep(crate::sync::DEBOUNCE).await;
            watch.borrow_and_update();
            if watch_tx.send(HubMsg::Config).is_err() {
                return;
            }
        }
    });
    let task = tokio::spawn(async move {
        hub.config();
        while let Some(first) = rx.recv().await {
            hub.input(first);
            let mut n = 1;
            while n < BATCH {
                match rx.try_recv() {
                    Ok(m) => hub.input(m),
                    Err(_) => break,
                }
                n += 1;
            }
            let acts = hub.rs.handle(Event::Flush);
            hub.carry(acts);
        }
    });
    (handle, task)
}

impl Hub {
    fn input(&mut self, m: HubMsg) {
        // A session must see the config as of now (a port created just before the vrouter
        // connected), not as of the last debounced change.
        if matches!(m, HubMsg::Open { .. } | HubMsg::Step { .. })
            && self.state.index().revision != self.revision
        {
            self.config();
        }
        match m {
            HubMsg::Open {
                id,
                hello,
                vr_uuid,
                tx,
                peer,
            } => self.open(id, hello, vr_uuid, tx, peer),
            HubMsg::Step { id, step } => self.step(id, step),
            HubMsg::Closed { id } => self.closed(id, true),
            HubMsg::Config => self.config(),
            HubMsg::Bgp(c) => {
                let a = self.rs.handle(Event::Bgp(c));
                self.carry(a);
            }
            HubMsg::StaleTimer {
                hostname,
                generation,
            } => {
                let a = self.rs.handle(Event::StaleTimer {
                    hostname,
                    generation,
                });
                self.carry(a);
            }
            HubMsg::Vrouters(reply) => {
                let _ = reply.send(self.vrouters());
            }
            HubMsg::Routes(inst, reply) => {
                let acts = self.rs.handle(Event::Flush);
                self.carry(acts);
                let routes = self.rs.routes(inst.as_deref());
                let v: serde_json::Map<String, Value> = routes
                    .into_iter()
                    .map(|(i, r)| (i, Value::Array(r.iter().map(route_json).collect())))
                    .collect();
                let _ = reply.send(Value::Object(v));
            }
        }
    }

    fn send(&mut self, id: u64, m: Msg) {
        if let Some(c) = self.conns.get(&id) {
            let _ = c.tx.send(Ok(encode(m)));
        }
    }

    fn open(
        &mut self,
        id: u64,
        hello: Hello,
        vr_uuid: String,
        tx: OutboundTx,
        peer: Option<SocketAddr>,
    ) {
        if let Some(old) = self.by_host.get(&hello.hostname).copied() {
            if let Some(c) = self.conns.get(&old) {
                let _ = c.tx.send(Err(Status::aborted(format!(
                    "replaced by a newer session of vrouter {}",
                    hello.hostname
                ))));
            }
            // Its routes wait for the new session (route server: SessionUp of a known vrouter).
            self.closed(old, false);
        }
        let reply = pb::HelloReply {
            version: pb::Version::Version1 as i32,
            controller: self.opts.controller.clone(),
            virtual_router_uuid: vr_uuid.clone(),
            session_id: id,
            graceful_restart_seconds: self.opts.graceful_restart_seconds,
        };
        let _ = tx.send(Ok(encode(Msg::Hello(reply))));
        tracing::info!(session = id, vrouter = %hello.hostname, address = %hello.address, ?peer, "vrouter registered");
        let a = self.rs.handle(Event::SessionUp {
            session: id,
            hostname: hello.hostname.clone(),
            address: hello.address.into(),
        });
        self.by_host.insert(hello.hostname.clone(), id);
        self.conns.insert(
            id,
            Conn {
                hello,
                vr_uuid,
                tx,
                peer,
                since: SystemTime::now(),
                asked: BTreeSet::new(),
                held: HashMap::new(),
                trust: Trust::default(),
                subscribed: BTreeSet::new(),
                counters: ConnCounters::default(),
                config_revision: 0,
            },
        );
        self.carry(a);
        self.reslice(id, true);
    }

    fn closed(&mut self, id: u64, keep_by_grace: bool) {
        let Some(c) = self.conns.remove(&id) else {
            return;
        };
        if self.by_host.get(&c.hello.hostname) == Some(&id) {
            self.by_host.remove(&c.hello.hostname);
        }
        tracing::info!(session = id, vrouter = %c.hello.hostname, "vrouter session ended");
        let keep = !keep_by_grace || self.opts.graceful_restart_seconds > 0;
        let a = self.rs.handle(Event::SessionDown { session: id, keep });
        self.carry(a);
        if !c.asked.is_empty() {
            self.replace();
        }
    }

    fn step(&mut self, id: u64, step: Step) {
        if !self.conns.contains_key(&id) {
            return;
        }
        match step {
            Step::Hello(_) => {}
            Step::Subscribe(i) => {
                if let Some(c) = self.conns.get_mut(&id) {
                    c.subscribed.insert(i.clone());
                }
                let a = self.rs.handle(Event::Subscribe {
                    session: id,
                    instance: i,
                });
                self.carry(a);
            }
            Step::Unsubscribe(i) => {
                if let Some(c) = self.conns.get_mut(&id) {
                    c.subscribed.remove(&i);
                }
                let a = self.rs.handle(Event::Unsubscribe {
                    session: id,
                    instance: i,
                });
                self.carry(a);
            }
            Step::Publish {
                instance,
                add,
                withdraw,
                end_of_rib,
            } => self.publish(id, instance, add, withdraw, end_of_rib),
            Step::ConfigSubscribe(u) => {
                if let Some(c) = self.conns.get_mut(&id) {
                    c.asked.extend(u);
                }
                self.replace();
            }
            Step::ConfigUnsubscribe(u) => {
                if let Some(c) = self.conns.get_mut(&id) {
                    for x in &u {
                        c.asked.remove(x);
                    }
                }
                self.replace();
            }
        }
    }

    fn publish(
        &mut self,
        id: u64,
        instance: String,
        add: Vec<super::session::WireRoute>,
        withdraw: Vec<cirrus_proto::convert::Prefix>,
        end_of_rib: bool,
    ) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let own = std::net::IpAddr::V4(c.hello.address);
        let mut ok = Vec::with_capacity(add.len());
        let mut notices = Vec::new();
        c.counters.routes_received += add.len() as u64;
        c.counters.routes_withdrawn += withdraw.len() as u64;
        for r in add {
            let checked = if r.next_hop != own {
                Err(format!(
                    "next hop {} is not this vrouter's underlay address {own}",
                    r.next_hop
                ))
            } else {
                c.trust.check(&instance, r.prefix)
            };
            match checked {
                Ok(meta) => ok.push(AgentRoute {
                    prefix: r.prefix,
                    label: r.label,
                    vni: r.vni,
                    encaps: r.encaps,
                    mac: r.mac,
                    meta,
                }),
                Err(why) => {
                    c.counters.routes_refused += 1;
                    self.refused_total += 1;
                    if notices.len() < 8 {
                        tracing::warn!(session = id, vrouter = %c.hello.hostname, %instance, prefix = %r.prefix, why, "route refused");
                    }
                    notices.push(pb::Notice {
                        code: pb::notice::Code::RouteRefused as i32,
                        message: format!("{}: {why}", r.prefix),
                        instance: instance.clone(),
                        key: Some(r.prefix.to_wire()),
                    });
                }
            }
        }
        if notices.len() > 8 {
            tracing::warn!(session = id, refused = notices.len(), %instance, "routes refused (first 8 logged)");
        }
        for n in notices {
            self.send(id, Msg::Notice(n));
        }
        let a = self.rs.handle(Event::Publish {
            session: id,
            instance,
            add: ok,
            withdraw,
            end_of_rib,
        });
        self.carry(a);
    }

    /// The config changed: instances (targets) for the route server, placement, and every
    /// session's slice and trust.
    fn config(&mut self) {
        let cfgs = {
            let index = self.state.index();
            self.revision = index.revision;
            let desired = bgp_config::derive(&index, &self.opts.controller);
            instance_cfg::derive(&index, &desired.instances)
        };
        if cfgs != self.instances {
            self.instances = cfgs.clone();
            let a = self.rs.handle(Event::Instances(cfgs));
            self.carry(a);
        }
        self.replace();
    }

    /// Recomputes the placement and every session's slice.
    fn replace(&mut self) {
        let asked: HashMap<String, BTreeSet<String>> = self
            .conns
            .values()
            .filter(|c| !c.asked.is_empty())
            .map(|c| (c.hello.hostname.clone(), c.asked.clone()))
            .collect();
        self.placement = Placement::compute(&self.state.index(), &asked);
        let ids: Vec<u64> = self.conns.keys().copied().collect();
        for id in ids {
            self.reslice(id, false);
        }
    }

    /// Sends session `id` what changed in its slice (everything, then end_of_config, the first
    /// time) and updates its trust.
    fn reslice(&mut self, id: u64, first: bool) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let (upsert, delete, revision) = {
            let index = self.state.index();
            let vmis: Vec<&String> = self.placement.of(&c.hello.hostname).collect();
            let s = slice::compute(&index, &c.vr_uuid, vmis.iter().copied());
            c.trust = Trust::compute(&index, vmis.into_iter());
            let (u, d) = slice::diff(&mut c.held, &s);
            (u, d, index.revision)
        };
        if !first && upsert.is_empty() && delete.is_empty() {
            return;
        }
        c.config_revision = revision;
        c.counters.config_objects_sent += upsert.len() as u64;
        c.counters.config_deletes_sent += delete.len() as u64;
        let mut chunks: Vec<Vec<pb::ConfigObject>> = Vec::new();
        let mut upsert = upsert;
        while upsert.len() > OBJECTS_PER_UPDATE {
            let rest = upsert.split_off(OBJECTS_PER_UPDATE);
            chunks.push(upsert);
            upsert = rest;
        }
        chunks.push(upsert);
        let last = chunks.len() - 1;
        let mut delete = Some(delete);
        for (i, upsert) in chunks.into_iter().enumerate() {
            let m = pb::ConfigUpdate {
                revision,
                upsert,
                delete: if i == last {
                    delete.take().unwrap_or_default()
                } else {
                    Vec::new()
                },
                end_of_config: first && i == last,
            };
            let _ = c.tx.send(Ok(encode(Msg::Config(m))));
        }
    }

    fn carry(&mut self, acts: Vec<Action>) {
        let mut slow = Vec::new();
        for a in acts {
            match a {
                Action::Routes { sessions, update } => {
                    let n = (update.reach.len() + update.unreach.len()) as u64;
                    let bytes = encode(Msg::Routes(update));
                    for s in sessions {
                        if let Some(c) = self.conns.get_mut(&s) {
                            c.counters.routes_sent += n;
                            c.counters.updates_sent += 1;
                            let _ = c.tx.send(Ok(bytes.clone()));
                            if c.tx.queued() > MAX_QUEUED {
                                slow.push(s);
                            }
                        }
                    }
                }
                Action::Notice { session, notice } => self.send(session, Msg::Notice(notice)),
                Action::StartStaleTimer {
                    hostname,
                    generation,
                } => {
                    let tx = self.tx.clone();
                    let after = Duration::from_secs(u64::from(self.opts.graceful_restart_seconds));
                    tokio::spawn(async move {
                        tokio::time::sleep(after).await;
                        let _ = tx.send(HubMsg::StaleTimer {
                            hostname,
                            generation,
                        });
                    });
                }
                Action::Bgp(ops) => {
                    if let Some(b) = &self.bgp
                        && b.send(ops).is_err()
                    {
                        self.bgp = None;
                    }
                }
            }
        }
        for id in slow {
            if let Some(c) = self.conns.get(&id) {
                tracing::warn!(session = id, vrouter = %c.hello.hostname, queued = c.tx.queued(), "vrouter reads too slowly: session cut off");
                let _ = c.tx.send(Err(Status::resource_exhausted(format!(
                    "vrouter {} left more than {} MiB of updates unread",
                    c.hello.hostname,
                    MAX_QUEUED >> 20
                ))));
            }
            self.closed(id, true);
        }
    }

    fn vrouters(&self) -> Value {
        let known = self.rs.vrouters();
        let mut out = Vec::new();
        for v in known {
            let conn = v.session.and_then(|s| self.conns.get(&s).map(|c| (s, c)));
            let mut j = json!({
                "hostname": v.hostname,
                "address": v.address,
                "state": if conn.is_some() { "established" } else if v.stale { "down (routes kept for graceful restart)" } else { "down" },
                "published": v.published,
                "subscribed": v.subscribed,
            });
            if let Some((s, c)) = conn {
                let since = c
                    .since
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                j["session"] = json!(s);
                j["since"] = json!(since);
                j["peer"] = json!(c.peer.map(|p| p.to_string()));
                j["agent_version"] = json!(c.hello.agent_version);
                j["virtual_router_uuid"] = json!(c.vr_uuid);
                j["config_objects"] = json!(c.held.len());
                j["config_revision"] = json!(c.config_revision);
                j["trusted_addresses"] = json!(c.trust.len());
                j["queued_octets"] = json!(c.tx.queued());
                j["counters"] = json!(c.counters);
            }
            out.push(j);
        }
        json!({
            "vrouters": out,
            "route_server": self.rs.counters(),
            "routes_refused": self.refused_total,
            "graceful_restart_seconds": self.opts.graceful_restart_seconds,
            "auth": self.opts.auth.describe(),
        })
    }
}

/// A wire route as introspect shows it.
pub fn route_json(r: &pb::Route) -> Value {
    let prefix = r
        .key
        .as_ref()
        .and_then(|k| cirrus_proto::convert::Prefix::from_wire(k).ok())
        .map(|p| p.to_string())
        .unwrap_or_default();
    let hops: Vec<Value> = r
        .nexthops
        .iter()
        .map(|n| {
            let addr = cirrus_proto::convert::addr_from_wire("address", &n.address)
                .map(|a| a.to_string())
                .unwrap_or_default();
            let mac = n.mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
            json!({
                "address": addr,
                "label": n.label,
                "vni": n.vni,
                "encapsulations": n.encapsulations.iter().filter_map(|e| pb::Encapsulation::try_from(*e).ok()).map(|e| e.as_str_name()).collect::<Vec<_>>(),
                "mac": mac,
                "origin": n.origin,
            })
        })
        .collect();
    json!({
        "prefix": prefix,
        "nexthops": hops,
        "origin_network": r.origin_network,
        "security_groups": r.security_groups,
        "tags": r.tags,
        "stale": r.stale,
    })
}
