//! The speaker loop: owns the RIB and the sessions, turns socket and timer inputs into session
//! events, carries out session actions, and flushes RIB changes to peers in batches.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::config::{NeighborInfo, PeerConfig, SpeakerConfig};
use super::net::{self, Conn};
use super::{Command, Input, SpeakerError, TimerKind};
use crate::codec;
use crate::message::{Message, Notification, codes};
use crate::rib::{PeerId, PeerInfo, Rib, RibConfig};
use crate::session::{Action, Event, Negotiated, Session, SessionConfig, State, Timer};

struct Peer {
    id: PeerId,
    cfg: PeerConfig,
    session: Session,
    conn: Option<Conn>,
    /// Outbound connect attempt counter: results of older attempts are ignored.
    attempt: u64,
    next_conn: u64,
    timers: HashMap<TimerKind, u64>,
    negotiated: Option<Negotiated>,
    up_since: Option<Instant>,
    flaps: u32,
    last_error: Option<String>,
    counters: [u64; 3],
    /// The peer's long-lived GR offer from its last session, for after the restart time.
    llgr: Option<crate::message::LongLivedGr>,
    span: tracing::Span,
}

pub(crate) struct Core {
    cfg: SpeakerConfig,
    rib: Rib,
    peers: HashMap<IpAddr, Peer>,
    next_id: PeerId,
    tx: mpsc::UnboundedSender<Input>,
    /// Socket reads come through a bounded channel: a fast peer waits instead of queueing
    /// its whole table in memory ahead of the loop.
    data_tx: mpsc::Sender<Input>,
    /// Shared with the accept task; kept here to install per-peer TCP-MD5 keys on it.
    listener: std::sync::Arc<TcpListener>,
    accept: JoinHandle<()>,
    /// Where instance-route changes from peers go (the control node's route server).
    feed: Option<mpsc::UnboundedSender<Vec<crate::rib::feed::InstanceRouteChange>>>,
}

/// Flush once this many destinations changed: bounds the UPDATEs built at once per peer.
const FLUSH_AT: usize = 4096;

/// Reads buffered ahead of the loop (each up to 64 KiB).
const DATA_QUEUE: usize = 32;

pub(crate) fn spawn(
    cfg: SpeakerConfig,
    listener: TcpListener,
    tx: mpsc::UnboundedSender<Input>,
    rx: mpsc::UnboundedReceiver<Input>,
) -> JoinHandle<()> {
    let span = tracing::info_span!("bgp_speaker", router_id = %cfg.router_id, listen = %cfg.listen);
    let listener = std::sync::Arc::new(listener);
    let accept = net::spawn_accept(listener.clone(), tx.clone());
    let rib = Rib::new(RibConfig {
        local_asn: cfg.asn,
        router_id: cfg.router_id,
        cluster_id: cfg.cluster_id,
    });
    let (data_tx, data_rx) = mpsc::channel(DATA_QUEUE);
    let mut core = Core {
        cfg: cfg.clone(),
        rib,
        peers: HashMap::new(),
        next_id: 1,
        tx,
        data_tx,
        listener,
        accept,
        feed: None,
    };
    core.apply_md5_keys(&[]);
    tokio::spawn(
        async move {
            for p in cfg.peers {
                core.add_peer(p);
            }
            core.run(rx, data_rx).await;
        }
        .instrument(span),
    )
}

fn session_config(s: &SpeakerConfig, p: &PeerConfig) -> SessionConfig {
    SessionConfig {
        local_asn: s.asn,
        router_id: s.router_id,
        peer_asn: p.asn,
        hold_time: p.hold_time.unwrap_or(s.hold_time),
        families: p.families.clone(),
        graceful_restart: s.graceful_restart,
        llgr_stale_time: s.llgr_stale_time,
        passive: p.passive,
        connect_retry: s.connect_retry,
    }
}

impl Core {
    async fn run(
        &mut self,
        mut rx: mpsc::UnboundedReceiver<Input>,
        mut data_rx: mpsc::Receiver<Input>,
    ) {
        loop {
            let first = tokio::select! {
                biased;
                i = rx.recv() => i,
                i = data_rx.recv() => i,
            };
            let Some(first) = first else { break };
            let mut stop = self.input(first);
            // Drain what is already queued before flushing, so a burst of UPDATEs is
            // re-advertised in few, full messages. Bounded to keep commands responsive.
            let mut n = 0;
            while !stop && n < 256 && self.rib.pending() < FLUSH_AT {
                match rx.try_recv().or_else(|_| data_rx.try_recv()) {
                    Ok(i) => stop = self.input(i),
                    Err(_) => break,
                }
                n += 1;
            }
            self.flush();
            if stop {
                break;
            }
        }
        self.accept.abort();
    }

    fn add_peer(&mut self, p: PeerConfig) {
        let id = self.next_id;
        self.next_id += 1;
        let span = tracing::info_span!("bgp_peer", peer = %p.address, asn = p.asn);
        let session = Session::new(session_config(&self.cfg, &p));
        let addr = p.address;
        self.peers.insert(
            addr,
            Peer {
                id,
                cfg: p,
                session,
                conn: None,
                attempt: 0,
                next_conn: 0,
                timers: HashMap::new(),
                negotiated: None,
                up_since: None,
                flaps: 0,
                last_error: None,
                counters: [0; 3],
                llgr: None,
                span,
            },
        );
        self.event(addr, Event::ManualStart);
    }

    fn remove_peer(&mut self, addr: IpAddr, subcode: u8) {
        if let Some(p) = self.peers.get_mut(&addr) {
            if let Some(c) = &p.conn
                && p.session.state() != State::Idle
            {
                let n = Notification::new(codes::CEASE, subcode, []);
                if let Ok(b) = codec::encode(&Message::Notification(n), true) {
                    let _ = c.send(b);
                }
            }
            let id = p.id;
            self.peers.remove(&addr);
            self.rib.peer_down(id, false, &[]);
        }
    }

    /// Handles one input; returns true when the loop must stop.
    fn input(&mut self, i: Input) -> bool {
        match i {
            Input::Cmd(c) => return self.command(c),
            Input::Inbound(stream, from) => self.inbound(stream, from),
            Input::Connected {
                peer,
                attempt,
                stream,
            } => {
                let Some(p) = self.peers.get_mut(&peer) else {
                    return false;
                };
                if attempt != p.attempt || p.conn.is_some() || p.session.state() != State::Connect {
                    return false; // a stale attempt, or another connection won
                }
                p.next_conn += 1;
                p.conn = Some(net::spawn_conn(
                    stream,
                    peer,
                    p.next_conn,
                    self.data_tx.clone(),
                ));
                self.event(peer, Event::TcpCrAcked);
            }
            Input::ConnectFailed { peer, attempt } => {
                if self
                    .peers
                    .get(&peer)
                    .is_some_and(|p| p.attempt == attempt && p.conn.is_none())
                {
                    self.event(peer, Event::TcpConnectionFails);
                }
            }
            Input::Data { peer, conn, bytes } => {
                if self
                    .peers
                    .get(&peer)
                    .is_some_and(|p| p.conn.as_ref().is_some_and(|c| c.id == conn))
                {
                    self.event(peer, Event::Data(bytes));
                }
            }
            Input::Closed { peer, conn } => {
                if let Some(p) = self.peers.get_mut(&peer)
                    && p.conn.as_ref().is_some_and(|c| c.id == conn)
                {
                    p.conn = None;
                    self.event(peer, Event::TcpConnectionFails);
                }
            }
            Input::Timer {
                peer,
                kind,
                generation,
            } => {
                let Some(p) = self.peers.get_mut(&peer) else {
                    return false;
                };
                if p.timers.get(&kind) != Some(&generation) {
                    return false; // restarted or stopped since
                }
                p.timers.remove(&kind);
                match kind {
                    TimerKind::Stale => {
                        let id = p.id;
                        // Long-lived GR (RFC 9494) takes over where the peer offered it.
                        match p.llgr.take().filter(|l| !l.families.is_empty()) {
                            Some(l) => {
                                let fams: Vec<_> = l.families.iter().map(|(f, _, _)| *f).collect();
                                let t = l.families.iter().map(|(_, _, t)| *t).max().unwrap_or(0);
                                self.rib.llgr_stale(id, &fams);
                                self.start_timer(peer, TimerKind::LlgrStale, t.max(1));
                            }
                            None => self.rib.sweep_stale(id),
                        }
                    }
                    TimerKind::LlgrStale => {
                        let id = p.id;
                        self.rib.sweep_stale(id);
                    }
                    TimerKind::Session(t) => {
                        let ev = match t {
                            Timer::ConnectRetry => Event::ConnectRetryTimerExpires,
                            Timer::Hold => Event::HoldTimerExpires,
                            Timer::Keepalive => Event::KeepaliveTimerExpires,
                        };
                        self.event(peer, ev);
                    }
                }
            }
        }
        false
    }

    fn inbound(&mut self, stream: tokio::net::TcpStream, from: SocketAddr) {
        let addr = from.ip();
        let Some(p) = self.peers.get_mut(&addr) else {
            // RFC 4486: Cease / Connection Rejected to strangers.
            tracing::info!(%from, "connection from an unconfigured address rejected");
            let n = Notification::new(codes::CEASE, codes::CEASE_CONNECTION_REJECTED, []);
            if let Ok(b) = codec::encode(&Message::Notification(n), true) {
                tokio::spawn(async move {
                    use tokio::io::AsyncWriteExt;
                    let mut s = stream;
                    let _ = s.write_all(&b).await;
                    let _ = s.shutdown().await;
                });
            }
            return;
        };
        let state = p.session.state();
        let take = match state {
            State::Idle | State::Connect | State::Active => true,
            // Connection collision (RFC 4271 section 6.8): the connection opened by the speaker
            // with the higher BGP identifier survives. Before the peer's OPEN we use its address
            // as its identifier.
            State::OpenSent | State::OpenConfirm => {
                let remote = p
                    .negotiated
                    .as_ref()
                    .map(|n| n.peer_router_id)
                    .or(match addr {
                        IpAddr::V4(a) => Some(a),
                        IpAddr::V6(_) => None,
                    });
                remote.is_some_and(|r| u32::from(self.cfg.router_id) < u32::from(r))
            }
            State::Established => false,
        };
        if !take {
            tracing::debug!(%from, ?state, "extra connection closed");
            return;
        }
        if state == State::Idle && p.session.config().passive && p.timers.is_empty() {
            // Passive peer whose session was stopped administratively: refuse.
            return;
        }
        // Drop whatever connection or attempt we had and run the FSM on this one.
        p.conn = None;
        p.attempt += 1;
        p.session.reset_to_active();
        p.next_conn += 1;
        p.conn = Some(net::spawn_conn(
            stream,
            addr,
            p.next_conn,
            self.data_tx.clone(),
        ));
        self.event(addr, Event::TcpConnectionConfirmed);
    }

    /// Feeds an event to a peer's session and carries out the actions.
    fn event(&mut self, addr: IpAddr, ev: Event) {
        let Some(p) = self.peers.get_mut(&addr) else {
            return;
        };
        let _g = p.span.clone().entered();
        let actions = p.session.handle(ev);
        self.actions(addr, actions);
    }

    fn actions(&mut self, addr: IpAddr, actions: Vec<Action>) {
        for a in actions {
            let Some(p) = self.peers.get_mut(&addr) else {
                return;
            };
            match a {
                Action::Connect => {
                    p.attempt += 1;
                    let md5 = p.cfg.md5_key.as_ref().map(|k| k.as_bytes().to_vec());
                    let remote = SocketAddr::new(p.cfg.address, p.cfg.port);
                    net::spawn_connect(
                        self.cfg.listen.ip(),
                        remote,
                        md5,
                        p.attempt,
                        self.tx.clone(),
                    );
                }
                Action::Send(b) => {
                    if let Some(c) = &p.conn
                        && !c.send(b)
                    {
                        tracing::warn!(
                            "peer leaves more than {} MiB unread: dropping the session",
                            net::MAX_QUEUED >> 20
                        );
                        p.conn = None;
                        let a = p.session.handle(Event::TcpConnectionFails);
                        self.actions(addr, a);
                        return;
                    }
                }
                Action::CloseConnection => p.conn = None,
                Action::StartTimer(t, secs) => self.start_timer(addr, TimerKind::Session(t), secs),
                Action::StopTimer(t) => {
                    p.timers.remove(&TimerKind::Session(t));
                }
                Action::Established(n) => {
                    tracing::info!(families = ?n.families, "session established");
                    p.up_since = Some(Instant::now());
                    p.timers.remove(&TimerKind::Stale);
                    p.timers.remove(&TimerKind::LlgrStale);
                    let info = PeerInfo {
                        address: addr,
                        router_id: n.peer_router_id,
                        asn: n.peer_asn,
                        ibgp: n.peer_asn == self.cfg.asn,
                        rr_client: p.cfg.rr_client,
                        families: n.families.clone(),
                        llgr: n.peer_llgr.is_some(),
                    };
                    // RFC 4724 4.2: stale paths of a family whose forwarding state the peer
                    // did not keep (F bit clear, or no GR capability now) go at once; the
                    // others wait for its End-of-RIB.
                    let lost: Vec<_> = crate::types::Family::ALL
                        .into_iter()
                        .filter(|f| {
                            !n.peer_graceful_restart
                                .as_ref()
                                .is_some_and(|g| g.families.iter().any(|(gf, fwd)| gf == f && *fwd))
                        })
                        .collect();
                    p.negotiated = Some(*n);
                    let id = p.id;
                    for f in lost {
                        self.rib.end_of_rib(id, f);
                    }
                    self.rib.peer_up(id, info);
                }
                Action::Received(u) => {
                    p.counters[0] += 1;
                    let id = p.id;
                    self.rib.receive(id, &u);
                }
                Action::RouteRefreshRequested(f) => {
                    p.counters[2] += 1;
                    let id = p.id;
                    self.rib.refresh(id, f);
                }
                Action::Down(r) => {
                    tracing::info!(reason = %r.text, graceful = r.graceful, "session down");
                    p.last_error = Some(r.text.clone());
                    if p.up_since.take().is_some() {
                        p.flaps += 1;
                    }
                    let n = p.negotiated.take();
                    p.llgr = n.as_ref().and_then(|n| n.peer_llgr.clone());
                    let gr = n.and_then(|n| n.peer_graceful_restart);
                    let fams: Vec<_> = gr
                        .as_ref()
                        .map(|g| g.families.iter().map(|(f, _)| *f).collect())
                        .unwrap_or_default();
                    let id = p.id;
                    self.rib.peer_down(id, r.graceful, &fams);
                    if r.graceful {
                        let t = gr.map_or(120, |g| u32::from(g.restart_time.max(1)));
                        self.start_timer(addr, TimerKind::Stale, t);
                    }
                }
            }
        }
    }

    fn start_timer(&mut self, addr: IpAddr, kind: TimerKind, secs: u32) {
        let Some(p) = self.peers.get_mut(&addr) else {
            return;
        };
        // Generations only grow: a fired timer with an old generation is ignored.
        let generation = next_generation();
        p.timers.insert(kind, generation);
        let tx = self.tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(u64::from(secs))).await;
            let _ = tx.send(Input::Timer {
                peer: addr,
                kind,
                generation,
            });
        });
    }

    fn flush(&mut self) {
        let out = self.rib.flush();
        if let Some(f) = &self.feed {
            let changes = self.rib.take_instance_changes();
            if !changes.is_empty() && f.send(changes).is_err() {
                self.feed = None;
            }
        }
        if out.is_empty() {
            return;
        }
        let by_id: HashMap<PeerId, IpAddr> = self.peers.iter().map(|(a, p)| (p.id, *a)).collect();
        // Peers of the same kind mostly get identical UPDATEs (same routes, same attributes):
        // encode each distinct one once.
        let mut encoded: HashMap<(bool, u64), Encoded> = HashMap::new();
        for (id, u) in out {
            let Some(addr) = by_id.get(&id).copied() else {
                continue;
            };
            let Some(p) = self.peers.get_mut(&addr) else {
                continue;
            };
            let Some(asn4) = p.session.update_encoding() else {
                continue;
            };
            let key = (asn4, update_hash(&u));
            let fresh;
            let msgs = match encoded.get(&key) {
                // Equal content checked, not just the hash: a collision must not cross peers.
                Some((first, m)) if *first == u => m,
                _ => match codec::encode_update_packed(&u, asn4) {
                    Ok(m) => {
                        fresh = m;
                        encoded.entry(key).or_insert_with(|| (u, fresh.clone()));
                        &fresh
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot encode UPDATE, dropped");
                        continue;
                    }
                },
            };
            let actions = p.session.send_encoded(msgs);
            p.counters[1] += actions.len() as u64;
            self.actions(addr, actions);
        }
    }

    fn command(&mut self, c: Command) -> bool {
        // Queries see every change made so far: flush pending RIB work before answering.
        if matches!(c, Command::Neighbors(_) | Command::Routes(..)) {
            self.flush();
        }
        match c {
            Command::UpdateConfig(cfg, reply) => {
                let _ = reply.send(self.update_config(*cfg));
            }
            Command::SetInstance(name, cfg, reply) => {
                self.rib.set_instance(&name, cfg);
                let _ = reply.send(());
            }
            Command::RemoveInstance(name, reply) => {
                self.rib.remove_instance(&name);
                let _ = reply.send(());
            }
            Command::Originate(inst, r, reply) => {
                let _ = reply.send(self.rib.originate(&inst, *r));
            }
            Command::Withdraw(inst, nlri, reply) => {
                let _ = reply.send(self.rib.withdraw(&inst, &nlri));
            }
            Command::Neighbors(reply) => {
                let _ = reply.send(self.neighbors());
            }
            Command::Routes(inst, fam, reply) => {
                let _ = reply.send(self.rib.routes(inst.as_deref(), fam));
            }
            Command::Refresh(addr, f, reply) => {
                let r = match self.peers.get_mut(&addr) {
                    Some(p) => {
                        let a = p.session.request_refresh(f);
                        self.actions(addr, a);
                        Ok(())
                    }
                    None => Err(SpeakerError::NoPeer(addr)),
                };
                let _ = reply.send(r);
            }
            Command::Vpn {
                owner,
                announce,
                withdraw,
                reply,
            } => {
                self.rib.withdraw_vpn(&owner, &withdraw);
                let _ = reply.send(self.rib.originate_vpn(&owner, announce));
            }
            Command::InstanceFeed(tx) => {
                self.rib.enable_instance_feed();
                // The current peer-learned content of every instance first.
                let now = self.rib.instance_peer_routes();
                if now.is_empty() || tx.send(now).is_ok() {
                    self.feed = Some(tx);
                }
            }
            Command::Shutdown(reply) => {
                let addrs: Vec<IpAddr> = self.peers.keys().copied().collect();
                for a in addrs {
                    self.event(a, Event::ManualStop);
                }
                let _ = reply.send(());
                return true;
            }
        }
        false
    }

    fn update_config(&mut self, cfg: SpeakerConfig) -> Result<(), SpeakerError> {
        let global_change = cfg.router_id != self.cfg.router_id
            || cfg.asn != self.cfg.asn
            || cfg.listen != self.cfg.listen;
        let old_peers = self.cfg.peers.clone();
        if cfg.listen != self.cfg.listen {
            let l = net::listen(cfg.listen).map_err(|source| SpeakerError::Listen {
                addr: cfg.listen,
                source,
            })?;
            self.accept.abort();
            self.listener = std::sync::Arc::new(l);
            self.accept = net::spawn_accept(self.listener.clone(), self.tx.clone());
        }
        let old: Vec<IpAddr> = self.peers.keys().copied().collect();
        for a in old {
            let keep = cfg.peers.iter().find(|p| p.address == a);
            match keep {
                None => self.remove_peer(a, codes::CEASE_PEER_DECONFIGURED),
                Some(n)
                    if global_change
                        || self.peers.get(&a).is_some_and(|p| &p.cfg != n)
                        || cfg.hold_time != self.cfg.hold_time =>
                {
                    self.remove_peer(a, codes::CEASE_OTHER_CONFIG_CHANGE)
                }
                Some(_) => {}
            }
        }
        if global_change || cfg.cluster_id != self.cfg.cluster_id {
            // Rebuild the RIB view of ourselves; instances survive.
            self.rib.set_identity(RibConfig {
                local_asn: cfg.asn,
                router_id: cfg.router_id,
                cluster_id: cfg.cluster_id,
            });
        }
        self.cfg = SpeakerConfig {
            peers: Vec::new(),
            ..cfg.clone()
        };
        for p in cfg.peers {
            if !self.peers.contains_key(&p.address) {
                self.add_peer(p.clone());
            }
            self.cfg.peers.push(p);
        }
        self.apply_md5_keys(&old_peers);
        Ok(())
    }

    /// RFC 2385 on the listener: the kernel drops signed SYNs for which the listening socket
    /// has no key, so every peer's key is installed there too (and removed keys deleted).
    fn apply_md5_keys(&self, old: &[PeerConfig]) {
        for p in old {
            if p.md5_key.is_some()
                && !self
                    .cfg
                    .peers
                    .iter()
                    .any(|n| n.address == p.address && n.md5_key.is_some())
            {
                let _ = net::set_md5(&*self.listener, p.address, &[]);
            }
        }
        for p in &self.cfg.peers {
            if let Some(k) = &p.md5_key
                && let Err(e) = net::set_md5(&*self.listener, p.address, k.as_bytes())
            {
                tracing::error!(peer = %p.address, error = %e, "cannot install TCP-MD5 key on the listener");
            }
        }
    }

    fn neighbors(&self) -> Vec<NeighborInfo> {
        let mut v: Vec<NeighborInfo> = self
            .peers
            .values()
            .map(|p| (p, self.rib.prefixes_by_family(p.id)))
            .map(|(p, by_family)| NeighborInfo {
                address: p.cfg.address,
                port: p.cfg.port,
                asn: p.cfg.asn,
                router_type: p.cfg.router_type,
                state: p.session.state(),
                router_id: p.negotiated.as_ref().map(|n| n.peer_router_id),
                families: p
                    .negotiated
                    .as_ref()
                    .map(|n| n.families.clone())
                    .unwrap_or_default(),
                prefixes_received: by_family.iter().map(|f| f.received).sum(),
                prefixes_accepted: by_family.iter().map(|f| f.accepted).sum(),
                prefixes_advertised: by_family.iter().map(|f| f.advertised).sum(),
                prefixes_by_family: by_family,
                uptime_secs: p.up_since.map(|t| t.elapsed().as_secs()),
                flaps: p.flaps,
                last_error: p.last_error.clone(),
                updates_received: p.counters[0],
                updates_sent: p.counters[1],
                refreshes_received: p.counters[2],
                graceful_restart: p
                    .negotiated
                    .as_ref()
                    .and_then(|n| n.peer_graceful_restart.clone()),
            })
            .collect();
        v.sort_by_key(|n| n.address);
        v
    }
}

/// An UPDATE and its wire messages, shared by peers that get the same content.
type Encoded = (crate::message::Update, Vec<Vec<u8>>);

/// Identity of an UPDATE's content, for sharing its encoding between peers.
fn update_hash(u: &crate::message::Update) -> u64 {
    use std::hash::{Hash, Hasher};
    // Cheap on purpose (attributes, sizes, first and last routes): a hit is confirmed by
    // comparing the whole UPDATE.
    let mut h = std::hash::DefaultHasher::new();
    format!("{:?}", u.attrs).hash(&mut h);
    for l in [&u.announce, &u.withdraw] {
        l.len().hash(&mut h);
        l.first().hash(&mut h);
        l.last().hash(&mut h);
    }
    u.eor.hash(&mut h);
    h.finish()
}

/// Process-wide increasing generation numbers for timers.
fn next_generation() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static G: AtomicU64 = AtomicU64::new(1);
    G.fetch_add(1, Ordering::Relaxed)
}
