//! A simulated vrouter: a real channel client (the generated tonic client over a real TCP
//! connection) that records what the controller sends — HelloReply, config slice, routes per
//! instance, notices, and the status the stream ended with — for the tests and the benchmark
//! (quiche's `testing::Pipe` idea: the real protocol end to end, with the state in reach).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use cirrus_proto::convert::{Prefix, addr_to_wire};
use cirrus_proto::v1 as pb;
use pb::agent_message::Msg as Out;
use pb::controller_message::Msg as In;
use prost::Message;
use tokio::sync::{Notify, mpsc};
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::codec::{Codec, DecodeBuf, Decoder};
use tonic_prost::ProstEncoder;

/// How a simulated vrouter introduces itself.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub hostname: String,
    pub address: Ipv4Addr,
    pub token: Option<String>,
    /// Keep every route (tests) or only each prefix's next-hop count (the benchmark).
    pub keep_routes: bool,
}

impl SimOptions {
    pub fn new(hostname: &str, address: Ipv4Addr) -> SimOptions {
        SimOptions {
            hostname: hostname.to_string(),
            address,
            token: None,
            keep_routes: true,
        }
    }
}

/// What the controller told this vrouter.
#[derive(Debug, Default)]
pub struct SimState {
    pub hello: Option<pb::HelloReply>,
    pub config: HashMap<String, pb::ConfigObject>,
    pub end_of_config: bool,
    pub config_updates: usize,
    /// instance -> prefix -> route (with `keep_routes`).
    pub routes: HashMap<String, HashMap<Prefix, pb::Route>>,
    /// instance -> prefix -> next-hop count (always; a fast hash: the benchmark's vrouters
    /// insert 100,000 prefixes each, and this process shares the machine with the controller).
    pub counts: HashMap<String, HashMap<Prefix, u32, foldhash::fast::RandomState>>,
    pub end_of_rib: HashSet<String>,
    pub notices: Vec<pb::Notice>,
    /// Set when the stream ended: Ok(()) for a clean end, else the status.
    pub ended: Option<Result<(), tonic::Status>>,
    pub route_updates: usize,
    /// When the first and the last route update arrived.
    pub first_update: Option<Instant>,
    pub last_update: Option<Instant>,
}

impl SimState {
    /// Routes of an instance (next-hop counts).
    pub fn count(&self, instance: &str) -> usize {
        self.counts.get(instance).map_or(0, HashMap::len)
    }

    pub fn route(&self, instance: &str, prefix: &str) -> Option<&pb::Route> {
        let p = parse_prefix(prefix)?;
        self.routes.get(instance)?.get(&p)
    }

    /// Next hops of a route as (address, label).
    pub fn next_hops(&self, instance: &str, prefix: &str) -> Vec<(IpAddr, u32)> {
        self.route(instance, prefix)
            .map(|r| {
                r.nexthops
                    .iter()
                    .filter_map(|n| {
                        cirrus_proto::convert::addr_from_wire("address", &n.address)
                            .ok()
                            .map(|a| (a, n.label))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `a.b.c.d` (a host route) or `a.b.c.d/len`.
pub fn parse_prefix(s: &str) -> Option<Prefix> {
    match s.split_once('/') {
        Some((a, l)) => Prefix::new(a.parse().ok()?, l.parse().ok()?).ok(),
        None => Some(Prefix::host(s.parse().ok()?)),
    }
}

/// One simulated vrouter's session to one controller.
pub struct SimVrouter {
    pub opts: SimOptions,
    tx: mpsc::UnboundedSender<pb::AgentMessage>,
    pub state: Arc<Mutex<SimState>>,
    changed: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

/// A route this vrouter publishes: the address (host route), its label, VNI and MAC.
#[derive(Debug, Clone)]
pub struct SimRoute {
    pub prefix: Prefix,
    pub label: u32,
    pub vni: u32,
    pub mac: Option<[u8; 6]>,
}

impl SimRoute {
    pub fn host(addr: &str, label: u32) -> SimRoute {
        SimRoute {
            prefix: Prefix::host(addr.parse().expect("address")),
            label,
            vni: 0,
            mac: None,
        }
    }
}

impl SimVrouter {
    /// Opens a session to `controller` and sends Hello; the controller's answers are
    /// recorded as they come.
    pub async fn connect(
        controller: SocketAddr,
        opts: SimOptions,
    ) -> Result<SimVrouter, tonic::Status> {
        let hello = pb::Hello {
            version: pb::Version::Version1 as i32,
            hostname: opts.hostname.clone(),
            underlay_address: opts.address.octets().to_vec(),
            encapsulations: vec![1, 2, 3],
            token: opts.token.clone().unwrap_or_default(),
            agent_version: "cirrus-control testing".into(),
        };
        let (tx, state, changed, task) = open(controller, Some(hello), opts.keep_routes).await?;
        Ok(SimVrouter {
            opts,
            tx,
            state,
            changed,
            task,
        })
    }

    /// Sends any message (tests of bad input use this).
    pub fn send(&self, m: Out) {
        let _ = self.tx.send(pb::AgentMessage { msg: Some(m) });
    }

    pub fn subscribe(&self, instance: &str) {
        self.send(Out::Subscribe(pb::Subscribe {
            instance: instance.into(),
        }));
    }

    /// Publishes routes (one next hop each: this vrouter) into an instance.
    pub fn publish(&self, instance: &str, routes: &[SimRoute], end_of_rib: bool) {
        let nh_addr = addr_to_wire(IpAddr::V4(self.opts.address));
        let add = routes
            .iter()
            .map(|r| pb::Route {
                key: Some(r.prefix.to_wire()),
                nexthops: vec![pb::Nexthop {
                    address: nh_addr.clone(),
                    label: r.label,
                    vni: r.vni,
                    encapsulations: vec![1, 2, 3],
                    mac: r.mac.map(|m| m.to_vec()).unwrap_or_default(),
                    origin: self.opts.hostname.clone(),
                }],
                ..Default::default()
            })
            .collect();
        self.send(Out::Publish(pb::RoutePublish {
            instance: instance.into(),
            add,
            withdraw: vec![],
            end_of_rib,
        }));
    }

    pub fn withdraw(&self, instance: &str, prefixes: &[Prefix]) {
        self.send(Out::Publish(pb::RoutePublish {
            instance: instance.into(),
            add: vec![],
            withdraw: prefixes.iter().map(Prefix::to_wire).collect(),
            end_of_rib: false,
        }));
    }

    /// Reads the recorded state.
    pub fn with<T>(&self, f: impl FnOnce(&SimState) -> T) -> T {
        f(&self.state.lock().expect("sim state"))
    }

    /// Waits until `cond` holds on the recorded state; the error says what was awaited and
    /// what the state was.
    pub async fn wait(
        &self,
        what: &str,
        limit: Duration,
        cond: impl Fn(&SimState) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.changed.notified();
            if self.with(&cond) {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.with(|s| {
                    format!(
                        "{}: timed out after {limit:?} waiting for {what}; routes per instance {:?}, end_of_rib {:?}, notices {:?}, ended {:?}",
                        self.opts.hostname,
                        s.counts.iter().map(|(i, r)| (i.clone(), r.len())).collect::<BTreeMap<_, _>>(),
                        s.end_of_rib,
                        s.notices.iter().map(|n| n.message.clone()).collect::<Vec<_>>(),
                        s.ended
                    )
                }));
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), notified).await;
        }
    }

    /// Ends the session (the stream closes from this side).
    pub fn close(self) {
        drop(self.tx);
        self.task.abort();
    }
}

type Opened = (
    mpsc::UnboundedSender<pb::AgentMessage>,
    Arc<Mutex<SimState>>,
    Arc<Notify>,
    tokio::task::JoinHandle<()>,
);

/// The client's codec: messages out with prost, messages in as raw bytes, so the simulated
/// vrouter decides how much of each to decode (see [`record_raw`]).
#[derive(Debug, Clone, Default)]
struct SimCodec;

#[derive(Debug, Clone, Default)]
struct RawDecoder;

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = tonic::Status;
    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        let n = buf.remaining();
        Ok(Some(buf.copy_to_bytes(n)))
    }
}

impl Codec for SimCodec {
    type Encode = pb::AgentMessage;
    type Decode = Bytes;
    type Encoder = ProstEncoder<pb::AgentMessage>;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

// The parts of a route update the benchmark's vrouters read: keys and next-hop counts,
// decoded without an allocation per route (prefixes borrow the received buffer).
#[derive(Clone, PartialEq, prost::Message)]
struct LiteMessage {
    #[prost(message, optional, tag = "3")]
    routes: Option<LiteUpdate>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct LiteUpdate {
    #[prost(string, tag = "1")]
    instance: String,
    #[prost(message, repeated, tag = "2")]
    reach: Vec<LiteRoute>,
    #[prost(message, repeated, tag = "3")]
    unreach: Vec<LiteKey>,
    #[prost(bool, tag = "4")]
    end_of_rib: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
struct LiteRoute {
    #[prost(message, optional, tag = "1")]
    key: Option<LiteKey>,
    /// Next hops left encoded (only counted).
    #[prost(bytes = "bytes", repeated, tag = "2")]
    nexthops: Vec<Bytes>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct LiteKey {
    #[prost(bytes = "bytes", tag = "1")]
    prefix: Bytes,
    #[prost(uint32, tag = "2")]
    prefix_len: u32,
}

fn lite_prefix(k: &LiteKey) -> Option<Prefix> {
    let addr = cirrus_proto::convert::addr_from_wire("prefix", &k.prefix).ok()?;
    Prefix::new(addr, u8::try_from(k.prefix_len).ok()?).ok()
}

/// Records one received message: in full, or (without `keep_routes`) route updates through
/// the light decoder.
fn record_raw(s: &mut SimState, b: Bytes, keep_routes: bool) -> Result<(), tonic::Status> {
    // 0x1a: field 3 (routes), length-delimited.
    if !keep_routes && b.first() == Some(&0x1a) {
        let m = LiteMessage::decode(b).map_err(|e| tonic::Status::internal(e.to_string()))?;
        let Some(u) = m.routes else { return Ok(()) };
        s.route_updates += 1;
        s.last_update = Some(Instant::now());
        s.first_update.get_or_insert(Instant::now());
        let counts = s.counts.entry(u.instance.clone()).or_default();
        for k in &u.unreach {
            if let Some(p) = lite_prefix(k) {
                counts.remove(&p);
            }
        }
        counts.reserve(u.reach.len());
        for r in &u.reach {
            if let Some(p) = r.key.as_ref().and_then(lite_prefix) {
                counts.insert(p, r.nexthops.len() as u32);
            }
        }
        if u.end_of_rib {
            s.end_of_rib.insert(u.instance);
        }
        return Ok(());
    }
    let m = pb::ControllerMessage::decode(b).map_err(|e| tonic::Status::internal(e.to_string()))?;
    record(s, m, keep_routes);
    Ok(())
}

async fn open(
    controller: SocketAddr,
    first: Option<pb::Hello>,
    keep_routes: bool,
) -> Result<Opened, tonic::Status> {
    let unavailable = |e: tonic::transport::Error| {
        tonic::Status::unavailable(format!("connecting to {controller}: {e}"))
    };
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{controller}"))
        .map_err(unavailable)?
        .tcp_nodelay(true)
        .initial_stream_window_size(crate::channel::STREAM_WINDOW)
        .initial_connection_window_size(crate::channel::CONNECTION_WINDOW)
        .max_frame_size(crate::channel::MAX_FRAME)
        .connect()
        .await
        .map_err(unavailable)?;
    let mut client = tonic::client::Grpc::new(channel).max_decoding_message_size(64 << 20);
    client
        .ready()
        .await
        .map_err(|e| tonic::Status::unavailable(format!("connecting to {controller}: {e}")))?;
    let (tx, rx) = mpsc::unbounded_channel();
    if let Some(h) = first {
        let _ = tx.send(pb::AgentMessage {
            msg: Some(Out::Hello(h)),
        });
    }
    let state = Arc::new(Mutex::new(SimState::default()));
    let changed = Arc::new(Notify::new());
    let path = http::uri::PathAndQuery::from_static("/cirrus.channel.v1.Control/Session");
    let resp = client
        .streaming(
            tonic::Request::new(UnboundedReceiverStream::new(rx)),
            path,
            SimCodec,
        )
        .await?;
    let mut inbound = resp.into_inner();
    let (st, ch) = (state.clone(), changed.clone());
    let task = tokio::spawn(async move {
        loop {
            let m = inbound.message().await;
            let mut s = st.lock().expect("sim state");
            match m {
                Ok(Some(b)) => {
                    if let Err(e) = record_raw(&mut s, b, keep_routes) {
                        s.ended = Some(Err(e));
                    }
                }
                Ok(None) => {
                    s.ended = Some(Ok(()));
                    drop(s);
                    ch.notify_waiters();
                    return;
                }
                Err(e) => {
                    s.ended = Some(Err(e));
                    drop(s);
                    ch.notify_waiters();
                    return;
                }
            }
            drop(s);
            ch.notify_waiters();
        }
    });
    Ok((tx, state, changed, task))
}

fn record(s: &mut SimState, m: pb::ControllerMessage, keep_routes: bool) {
    match m.msg {
        Some(In::Hello(h)) => s.hello = Some(h),
        Some(In::Config(c)) => {
            s.config_updates += 1;
            for o in c.upsert {
                s.config.insert(o.uuid.clone(), o);
            }
            for k in c.delete {
                s.config.remove(&k.uuid);
            }
            s.end_of_config |= c.end_of_config;
        }
        Some(In::Routes(u)) => {
            s.route_updates += 1;
            s.last_update = Some(Instant::now());
            let counts = s.counts.entry(u.instance.clone()).or_default();
            for k in &u.unreach {
                if let Ok(p) = Prefix::from_wire(k) {
                    counts.remove(&p);
                }
            }
            for r in &u.reach {
                if let Some(p) = r.key.as_ref().and_then(|k| Prefix::from_wire(k).ok()) {
                    counts.insert(p, r.nexthops.len() as u32);
                }
            }
            if keep_routes {
                let routes = s.routes.entry(u.instance.clone()).or_default();
                for k in &u.unreach {
                    if let Ok(p) = Prefix::from_wire(k) {
                        routes.remove(&p);
                    }
                }
                for r in u.reach {
                    if let Some(p) = r.key.as_ref().and_then(|k| Prefix::from_wire(k).ok()) {
                        routes.insert(p, r);
                    }
                }
            }
            if u.end_of_rib {
                s.end_of_rib.insert(u.instance);
            }
        }
        Some(In::Notice(n)) => s.notices.push(n),
        None => {}
    }
}

/// Sends `msgs` as they are (no Hello added) on a new session and returns how the stream
/// ended (the controller's status), waiting up to `limit`.
pub async fn exchange(
    controller: SocketAddr,
    msgs: Vec<pb::AgentMessage>,
    limit: Duration,
) -> Result<tonic::Status, String> {
    let (tx, state, changed, _task) = open(controller, None, true)
        .await
        .map_err(|e| e.to_string())?;
    for m in msgs {
        let _ = tx.send(m);
    }
    let deadline = Instant::now() + limit;
    loop {
        let notified = changed.notified();
        if let Some(end) = &state.lock().expect("sim state").ended {
            return match end {
                Ok(()) => Err("the stream ended with OK".into()),
                Err(s) => Ok(s.clone()),
            };
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no status within {limit:?}"));
        }
        let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), notified).await;
    }
}
