//! The agent's control side: one task that owns the sessions to the controllers, their
//! config slices, the routes, the ports this vrouter serves, the pipeline's tables and the
//! flow snapshot, and keeps them consistent. Events (channel messages, port changes,
//! fabric neighbours, ticks) are applied as they come; after each burst everything
//! derived is recomputed from scratch and only differences reach the controllers and the
//! tables.
//!
//! Config comes from the controllers as whole slices: a session builds its slice aside
//! until end-of-config and only then replaces the one in use, so a reconnect never shows
//! the agent an empty config. With two controllers the slice of an established session is
//! used, the other kept as a spare.

pub mod devices;
pub mod ipc;
mod ports;
mod reeval;
pub mod start;
pub mod status;
pub mod wants;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use cirrus_dataplane::flow::ProtoTimeout;
use cirrus_packet_io::handle::RunnerHandle;
use cirrus_proto::convert::Prefix;
use cirrus_proto::v1::{AgentMessage, Notice};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::channel::client::ChannelEvent;
use crate::channel::{Action, Event, Session};
use crate::config::ConfigStore;
use crate::derive::{Registration, compile, derive};
use crate::fabric::Neighbours;
use crate::fabric::neighbours::Event as NbEvent;
use crate::flow_context::FlowContext;
use crate::flow_stats::FlowStats;
use crate::labels::Labels;
use crate::pipeline_agent::FabricSeen;
use crate::program::ids::Ids;
use crate::program::{Identity, Programmer};
use crate::routes::{Rib, RibEvent, Route};

pub use devices::{Devices, Io, MemDevices, SystemDevices};
pub use start::{AgentOptions, Running, StartError, controller, start};
pub use status::Status;

/// What the node is told.
#[derive(Debug)]
pub enum NodeEvent {
    Channel(usize, ChannelEvent),
    /// A port this vrouter serves (port IPC): VMI uuid, device name, link state.
    PortAdded {
        uuid: String,
        name: String,
        enabled: bool,
    },
    PortRemoved {
        uuid: String,
    },
    PortLink {
        uuid: String,
        up: bool,
    },
    Shutdown,
}

/// One controller: its session and its config slices.
struct Slot {
    session: Session,
    tx: Option<UnboundedSender<AgentMessage>>,
    /// The slice being received on the current connection (until end-of-config).
    building: Option<ConfigStore>,
    /// The last complete slice from this controller.
    complete: Option<ConfigStore>,
    notices: Vec<Notice>,
}

/// The control side's state.
pub struct Node {
    me: Identity,
    slots: Vec<Slot>,
    active: Option<usize>,
    rib: Rib,
    regs: BTreeMap<String, Registration>,
    labels: Labels,
    ifindexes: Ids<String>,
    ports: ports::Attached,
    handle: RunnerHandle,
    programmer: Programmer,
    vrf_ids: Ids<String>,
    neighbours: Neighbours,
    ctx: Arc<ArcSwap<FlowContext>>,
    stats: Arc<FlowStats>,
    status: Arc<ArcSwap<Status>>,
    reeval: reeval::Reeval,
    /// What the flow snapshot was built from (active slice, its generation, routes).
    built_from: (Option<usize>, u64, u64),
    generation: u64,
    dirty: bool,
    started: Instant,
    problems: Vec<String>,
    waiting: Vec<(String, String)>,
    traps: Arc<crate::traps::Traps>,
    /// The port IPC's oper table, filled from the slice, and what was put in it.
    oper: Option<crate::port_ipc::OperTable>,
    oper_published: std::collections::HashSet<uuid::Uuid>,
    /// The slice generation the oper table was last filled from.
    oper_generation: (Option<usize>, u64),
    /// The flows' idle timeout this vrouter started with (seconds), used while the config
    /// sets none, and the one the workers have now.
    flow_idle_default: u32,
    /// For all protocols, and by (protocol, port, seconds).
    flow_idle_applied: (u32, Vec<(u8, u16, u32)>),
}

impl Node {
    fn now(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Runs until `Shutdown` or until every sender is gone.
    pub async fn run(
        mut self,
        mut rx: UnboundedReceiver<NodeEvent>,
        mut fabric: UnboundedReceiver<FabricSeen>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.dirty = true;
        loop {
            if self.dirty {
                self.recompute();
            }
            // Re-evaluation runs as soon as it is due, not at the next tick: a flow dropped
            // for want of a route (right after a restart) waits no longer than it must.
            let reeval_at = self.reeval.due().map(tokio::time::Instant::from_std);
            tokio::select! {
                ev = rx.recv() => match ev {
                    None | Some(NodeEvent::Shutdown) => break,
                    Some(ev) => self.on_event(ev),
                },
                Some(s) = fabric.recv() => self.on_fabric(s),
                _ = tick.tick() => self.on_tick(),
                _ = async { tokio::time::sleep_until(reeval_at.unwrap_or_else(tokio::time::Instant::now)).await }, if reeval_at.is_some() => {
                    self.reeval.maybe_run(&self.handle, &self.ctx, &self.stats);
                }
            }
            // Take the rest of the burst before recomputing.
            while let Ok(ev) = rx.try_recv() {
                if matches!(ev, NodeEvent::Shutdown) {
                    return;
                }
                self.on_event(ev);
            }
            while let Ok(s) = fabric.try_recv() {
                self.on_fabric(s);
            }
        }
    }

    fn on_event(&mut self, ev: NodeEvent) {
        match ev {
            NodeEvent::Channel(i, ev) => self.on_channel(i, ev),
            NodeEvent::PortAdded {
                uuid,
                name,
                enabled,
            } => self.port_added(uuid, name, enabled),
            NodeEvent::PortRemoved { uuid } => self.port_removed(&uuid),
            NodeEvent::PortLink { uuid, up } => {
                if let Some(r) = self.regs.get_mut(&uuid)
                    && r.enabled != up
                {
                    r.enabled = up;
                    self.dirty = true;
                }
            }
            NodeEvent::Shutdown => {}
        }
    }

    fn on_channel(&mut self, i: usize, ev: ChannelEvent) {
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        let actions = match ev {
            ChannelEvent::Connecting(tx) => {
                slot.tx = Some(tx);
                slot.building = Some(ConfigStore::new());
                slot.session.handle(Event::Connected)
            }
            ChannelEvent::Message(m) => slot.session.handle(Event::Received(m)),
            ChannelEvent::Closed(why) => {
                slot.tx = None;
                slot.building = None;
                // Introspect shows why.
                self.dirty = true;
                slot.session.handle(Event::Closed(why))
            }
        };
        self.perform(i, actions);
    }

    fn perform(&mut self, i: usize, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Send(m) => {
                    if let Some(tx) = &self.slots[i].tx {
                        let _ = tx.send(m);
                    }
                }
                Action::Config(c) => self.on_config(i, c),
                Action::Routes(r) => {
                    let mut reach = Vec::with_capacity(r.reach.len());
                    for w in &r.reach {
                        match Route::from_wire(w) {
                            Ok(x) => reach.push(x),
                            Err(e) => {
                                tracing::warn!(controller = i, instance = %r.instance, error = %e, "route refused")
                            }
                        }
                    }
                    let unreach: Vec<Prefix> = r
                        .unreach
                        .iter()
                        .filter_map(|k| Prefix::from_wire(k).ok())
                        .collect();
                    let changed = self.rib.handle(RibEvent::Update {
                        session: i,
                        instance: r.instance,
                        reach,
                        unreach,
                        end_of_rib: r.end_of_rib,
                    });
                    self.dirty |= !changed.is_empty();
                }
                Action::Notice(n) => {
                    let s = &mut self.slots[i];
                    s.notices.push(n);
                    if s.notices.len() > 32 {
                        s.notices.remove(0);
                    }
                }
                Action::Up => {
                    self.rib.handle(RibEvent::SessionUp { session: i });
                    self.dirty = true;
                }
                Action::Down(_) => {
                    let now = self.now();
                    self.rib.handle(RibEvent::SessionDown { session: i, now });
                    self.slots[i].tx = None;
                    self.pick_active();
                    self.dirty = true;
                }
                Action::Fail(_) => {
                    // Dropping the sender ends the stream; the driver reconnects.
                    self.slots[i].tx = None;
                }
            }
        }
    }

    fn on_config(&mut self, i: usize, c: cirrus_proto::v1::ConfigUpdate) {
        let slot = &mut self.slots[i];
        let store = match (&mut slot.building, &mut slot.complete) {
            (Some(b), _) => b,
            (None, Some(c)) => c,
            (None, None) => slot.building.insert(ConfigStore::new()),
        };
        let applied = store.apply(&c);
        for r in &applied.refused {
            tracing::warn!(controller = i, refused = %r, "config object refused");
        }
        if c.end_of_config
            && let Some(b) = slot.building.take()
        {
            tracing::info!(
                controller = i,
                objects = b.len(),
                revision = b.revision(),
                "config slice complete"
            );
            slot.complete = Some(b);
            self.pick_active();
            self.dirty = true;
        } else if slot.building.is_none() && applied.upserted + applied.deleted > 0 {
            self.dirty = true;
        }
    }

    /// The slice in use: an established controller's complete one, else any complete one.
    fn pick_active(&mut self) {
        let live = |s: &Slot| s.session.is_established() && s.complete.is_some();
        let pick = match self.active {
            Some(a) if live(&self.slots[a]) => Some(a),
            _ => self
                .slots
                .iter()
                .position(live)
                .or(self.active.filter(|a| self.slots[*a].complete.is_some()))
                .or_else(|| self.slots.iter().position(|s| s.complete.is_some())),
        };
        if pick != self.active {
            tracing::info!(from = ?self.active, to = ?pick, "config slice in use");
            self.active = pick;
        }
    }

    fn on_fabric(&mut self, s: FabricSeen) {
        let now = self.now();
        let o = self.neighbours.handle(NbEvent::Seen {
            ip: s.ip,
            mac: s.mac,
            now,
        });
        self.dirty |= o.changed;
    }

    fn on_tick(&mut self) {
        let now = self.now();
        let changed = self.rib.handle(RibEvent::Tick { now });
        self.dirty |= !changed.is_empty();
        let o = self.neighbours.handle(NbEvent::Tick { now });
        self.ask(&o.ask);
        self.retry_ports();
        self.reeval.maybe_run(&self.handle, &self.ctx, &self.stats);
    }

    /// Sends ARP requests on the fabric.
    fn ask(&self, hops: &[std::net::Ipv4Addr]) {
        let me = *self.neighbours.me();
        for h in hops {
            let f = crate::fabric::arp::request(me.mac, me.ip, *h);
            if let Err(e) = self.handle.inject(self.me.fabric_ifindex, &f) {
                tracing::debug!(error = %e, "ARP request not sent");
            }
        }
    }

    /// Gives the workers the flow idle timeouts of `global-vrouter-config`
    /// (`flow_aging_timeout_list`: for all protocols, and by protocol and port) when they
    /// changed.
    fn apply_flow_idle_timeout(&mut self, configured: (Option<u32>, Vec<(u8, u16, u32)>)) {
        let want = (configured.0.unwrap_or(self.flow_idle_default), configured.1);
        if want == self.flow_idle_applied {
            return;
        }
        let by_proto: Vec<ProtoTimeout> = want
            .1
            .iter()
            .map(|&(proto, port, secs)| ProtoTimeout { proto, port, secs })
            .collect();
        let handle = &self.handle;
        match tokio::task::block_in_place(|| handle.set_flow_idle_timeouts(want.0, &by_proto)) {
            Ok(()) => {
                tracing::info!(
                    from = ?self.flow_idle_applied,
                    to = ?want,
                    "flow idle timeouts changed (global-vrouter-config flow_aging_timeout_list)"
                );
                self.flow_idle_applied = want;
            }
            // Tried again at the next recompute.
            Err(e) => tracing::warn!(error = %e, "setting the flow idle timeout"),
        }
    }

    fn recompute(&mut self) {
        self.dirty = false;
        self.generation += 1;
        let empty = ConfigStore::new();
        let (store, ready) = match self.active.and_then(|a| self.slots[a].complete.as_ref()) {
            Some(s) => (s, true),
            None => (&empty, false),
        };
        let regs: Vec<Registration> = self.regs.values().cloned().collect();
        let idle_timeout = {
            let g = crate::config::global::global_vrouter(store);
            (g.flow_idle_timeout, g.flow_idle_timeouts)
        };
        let derived = derive(store, &regs);
        let sg_ids: HashMap<String, u32> = store
            .of_kind("security-group")
            .map(|o| {
                let g = crate::config::security::security_group_of(store, o);
                (g.uuid, g.id)
            })
            .collect();
        let want = wants::wants(&self.me, &derived, &regs, &sg_ids, ready);
        let mut routes: BTreeMap<String, BTreeMap<Prefix, Route>> = BTreeMap::new();
        for i in &want.instances {
            let r = self.rib.routes(i);
            if !r.is_empty() {
                routes.insert(i.clone(), r);
            }
        }
        let resolved = self.neighbours.resolved();
        let compiled = compile(
            store,
            &derived,
            &routes,
            &self.me,
            &resolved,
            &mut self.vrf_ids,
            self.generation,
        );
        let built_from = (self.active, store.generation(), self.rib.generation());
        self.waiting = derived.waiting.clone();
        self.problems = compiled.desired.problems.clone();
        let endpoints = compiled.desired.endpoints.clone();
        let desired = compiled.desired;
        let programmer = &mut self.programmer;
        let st = tokio::task::block_in_place(|| programmer.apply(desired));
        if !st.is_empty() {
            tracing::debug!(stats = ?st, generation = self.programmer.generation(), "tables programmed");
        }
        let vrf_of = |i: &str| {
            self.programmer
                .current()
                .vrfs
                .iter()
                .find(|(_, n)| *n == i)
                .map(|(v, _)| *v)
        };
        self.traps
            .views
            .store(Arc::new(crate::traps::build_views(store, &derived, vrf_of)));
        if let Some(t) = &self.oper
            && self.oper_generation != (self.active, store.generation())
        {
            self.oper_published = crate::oper::publish(t, store, &self.oper_published);
            self.oper_generation = (self.active, store.generation());
        }
        self.ctx.store(Arc::new(compiled.context));
        if built_from != self.built_from {
            self.built_from = built_from;
            self.reeval.schedule();
        }
        self.apply_flow_idle_timeout(idle_timeout);
        // Sessions after the tables: a route published is a route this vrouter forwards.
        for i in 0..self.slots.len() {
            let a = self.slots[i].session.handle(Event::Sync(&want));
            self.perform(i, a);
        }
        let o = self.neighbours.handle(NbEvent::Want(endpoints));
        self.ask(&o.ask);
        // Endpoints new to this round whose MAC was already known: program them now.
        if self.neighbours.resolved() != resolved {
            self.dirty = true;
        }
        self.publish_status(&derived, &want);
    }
}
