//! Flow export to the analytics collector, off the forwarding path. The agent thread notes
//! each flow decision (allowed or refused, the rule that decided) in a bounded log; a
//! sampler thread dumps the workers' flow tables every interval (the workers copy records
//! out between batches, as for introspect), pairs each flow with its reverse, and makes one
//! session sample per pair: `Setup` for a new flow, `Interval` with byte and packet deltas
//! while it lives and counts move, `Teardown` when it is gone. Samples go through a bounded
//! queue to a sender thread that writes them to the collector over TCP
//! (`cirrus_analytics::wire`); when the queue is full or the collector is away, samples are
//! dropped and counted, never waited for.

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use cirrus_analytics::record::{Encap, Event, FlowSide, SessionSample};
use cirrus_dataplane::flow::{FlowKey, FlowRecord, FlowVerdict};
use cirrus_packet_io::handle::RunnerHandle;
use cirrus_packet_io::report::FlowFilter;

use crate::flow_context::{FlowContext, LocalAddr};
use crate::flow_setup::{Decided, Refusal};
use crate::policy::Layer;

/// Whether flow setup should name the rules that allowed each flow (set once export
/// starts; one process runs one agent).
static RULES_WANTED: AtomicBool = AtomicBool::new(false);

pub fn rules_wanted() -> bool {
    RULES_WANTED.load(Ordering::Relaxed)
}

/// Where and how often.
#[derive(Debug, Clone)]
pub struct FlowExportConfig {
    pub collector: SocketAddr,
    pub interval: Duration,
    /// Batches of samples waiting for the sender; more are dropped and counted.
    pub queue: usize,
}

/// Counters, for introspect.
#[derive(Debug, Default, serde::Serialize)]
pub struct ExportStats {
    pub samples: AtomicU64,
    pub sent: AtomicU64,
    /// Dropped because the queue was full or the collector could not take them.
    pub dropped: AtomicU64,
    /// Decisions not logged because the log was full.
    pub decisions_dropped: AtomicU64,
    pub connects: AtomicU64,
}

/// What decided a flow, as the exporter needs it.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    pub forward: Verdict,
    pub reverse: Verdict,
}

#[derive(Debug, Clone, Default)]
pub struct Verdict {
    pub pass: bool,
    pub layer: Option<Layer>,
    pub rule: Option<Arc<str>>,
    pub reason: &'static str,
    /// For a pass: the rule of each layer that passed it.
    pub allowed_by: Vec<(Layer, Arc<str>)>,
}

fn verdict(r: Option<&Refusal>, allowed_by: &[(Layer, Arc<str>)]) -> Verdict {
    match r {
        None => Verdict {
            pass: true,
            allowed_by: allowed_by.to_vec(),
            ..Verdict::default()
        },
        Some(r) => Verdict {
            pass: false,
            layer: match r {
                Refusal::Policy(l, _) => Some(*l),
                _ => None,
            },
            rule: match r {
                Refusal::Policy(_, rule) => Some(rule.clone()),
                _ => None,
            },
            reason: r.reason(),
            allowed_by: Vec::new(),
        },
    }
}

/// Decisions by the forward flow's key, bounded; read and cleared by the sampler.
#[derive(Debug)]
pub struct DecisionLog {
    map: Mutex<HashMap<FlowKey, (Decision, Instant)>>,
    cap: usize,
    stats: Arc<ExportStats>,
}

impl DecisionLog {
    pub fn new(cap: usize, stats: Arc<ExportStats>) -> Self {
        DecisionLog {
            map: Mutex::new(HashMap::new()),
            cap,
            stats,
        }
    }

    /// Called on the agent thread for each decision.
    pub fn note(&self, key: FlowKey, d: &Decided) {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= self.cap && !m.contains_key(&key) {
            self.stats.decisions_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let reverse = match (&d.refused, &d.reverse_refused) {
            (_, Some(r)) => verdict(Some(r), &[]),
            (r, None) => verdict(r.as_ref(), &d.allowed_by),
        };
        m.insert(
            key,
            (
                Decision {
                    forward: verdict(d.refused.as_ref(), &d.allowed_by),
                    reverse,
                },
                Instant::now(),
            ),
        );
    }

    fn has(&self, key: &FlowKey) -> bool {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(key)
    }

    fn take(&self, key: &FlowKey) -> Option<Decision> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key)
            .map(|(d, _)| d)
    }

    /// Removes and returns the decisions noted before `t`: their flows were gone before
    /// the dump that started at `t` (closed and aged within one interval).
    fn take_older(&self, t: Instant) -> Vec<(FlowKey, Decision)> {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let keys: Vec<FlowKey> = m
            .iter()
            .filter(|(_, (_, at))| *at < t)
            .map(|(k, _)| *k)
            .collect();
        keys.into_iter()
            .filter_map(|k| m.remove(&k).map(|(d, _)| (k, d)))
            .collect()
    }
}

struct Live {
    sample: SessionSample,
}

/// The sampler's state between dumps.
struct Sampler {
    hostname: String,
    underlay: Ipv4Addr,
    live: HashMap<FlowKey, Live>,
    next_uuid: u64,
    seed: u64,
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn network_name(ctx: &FlowContext, vrf: u16, addr: IpAddr) -> (String, bool, String) {
    if let Some(l) = ctx.local.get(&(vrf, addr)) {
        let ifx = match l {
            LocalAddr::Own(i) | LocalAddr::Floating(i, _) => *i,
        };
        if let Some(p) = ctx.ports.get(&ifx) {
            let vn = p
                .info
                .networks
                .first()
                .and_then(|n| ctx.names.name(*n))
                .unwrap_or("")
                .to_string();
            return (vn, true, p.uuid.clone());
        }
    }
    let vn = ctx
        .vrfs
        .get(&vrf)
        .and_then(|r| r.lookup(addr))
        .and_then(|i| i.networks.first())
        .and_then(|n| ctx.names.name(*n))
        .unwrap_or("")
        .to_string();
    (vn, false, String::new())
}

fn side(v: &Verdict, uuid: u128, r: Option<&FlowRecord>) -> FlowSide {
    let rule = v.rule.as_deref().unwrap_or("").to_string();
    let (mut nw, mut sg, mut fw) = match v.layer {
        Some(Layer::NetworkPolicy) => (rule, String::new(), String::new()),
        Some(Layer::SecurityGroup) => (String::new(), rule, String::new()),
        Some(Layer::Firewall) => (String::new(), String::new(), rule),
        None => Default::default(),
    };
    for (layer, r) in &v.allowed_by {
        let slot = match layer {
            Layer::NetworkPolicy => &mut nw,
            Layer::SecurityGroup => &mut sg,
            Layer::Firewall => &mut fw,
        };
        *slot = r.to_string();
    }
    let pass = v.pass && r.is_none_or(|r| r.verdict != FlowVerdict::Drop);
    FlowSide {
        uuid,
        pass,
        sg_rule_uuid: sg,
        nw_ace_uuid: nw,
        fw_rule_uuid: fw,
        drop_reason: if pass {
            String::new()
        } else {
            v.reason.to_string()
        },
        underlay_source_port: 0,
        bytes: r.map_or(0, |r| r.bytes),
        packets: r.map_or(0, |r| r.packets),
        diff_bytes: r.map_or(0, |r| r.bytes),
        diff_packets: r.map_or(0, |r| r.packets),
    }
}

impl Sampler {
    /// The first sample of a flow: its ends, networks, ports and decision.
    #[allow(clippy::too_many_arguments)]
    fn setup(
        &mut self,
        ctx: &FlowContext,
        k: &FlowKey,
        dst_vrf: u16,
        d: &Decision,
        r: Option<&FlowRecord>,
        rev: Option<&FlowRecord>,
        now: u64,
    ) -> SessionSample {
        let (svn, sl, svmi) = network_name(ctx, k.vrf(), k.src());
        // A dropped flow routes nowhere (no destination VRF): look in the source's.
        let (dvn, dl, dvmi) = match network_name(ctx, dst_vrf, k.dst()) {
            (vn, false, _) if vn.is_empty() && dst_vrf != k.vrf() => {
                network_name(ctx, k.vrf(), k.dst())
            }
            found => found,
        };
        let (fu, ru) = (self.uuid(), self.uuid());
        let reverse = match (rev, r) {
            (Some(x), _) => Some(side(&d.reverse, ru, Some(x))),
            // Gone before any dump: a reverse flow existed when the forward one passed.
            (None, None) if d.forward.pass => Some(side(&d.reverse, ru, None)),
            _ => None,
        };
        SessionSample {
            t_us: now,
            event: Event::Setup,
            vrouter: self.hostname.clone(),
            vrouter_ip: IpAddr::V4(self.underlay),
            other_vrouter_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            encap: Encap::None,
            source_vn: svn,
            source_ip: k.src(),
            sport: k.sport(),
            dest_vn: dvn,
            dest_ip: k.dst(),
            dport: k.dport(),
            protocol: k.proto().0,
            source_local: sl,
            dest_local: dl,
            vmi: if sl { svmi } else { dvmi },
            setup_time: now,
            teardown_time: 0,
            teardown_reason: String::new(),
            forward: side(&d.forward, fu, r),
            reverse,
        }
    }

    fn uuid(&mut self) -> u128 {
        self.next_uuid += 1;
        (self.seed as u128) << 64 | self.next_uuid as u128
    }

    /// One dump's worth of samples.
    fn sample(
        &mut self,
        flows: &[FlowRecord],
        ctx: &FlowContext,
        log: &DecisionLog,
        now: u64,
        dumped_at: Instant,
    ) -> Vec<SessionSample> {
        let by_key: HashMap<FlowKey, &FlowRecord> = flows.iter().map(|r| (r.key, r)).collect();
        let mut out = Vec::new();
        let mut seen: HashMap<FlowKey, ()> = HashMap::with_capacity(flows.len());
        for r in flows {
            // One sample per pair, keyed by the forward entry: the one already followed,
            // else the one a decision names, else the lower slab index.
            let rev = r.rev_key.and_then(|k| by_key.get(&k).copied());
            let is_forward = if self.live.contains_key(&r.key) {
                true
            } else if let Some(rv) = rev {
                !self.live.contains_key(&rv.key)
                    && (log.has(&r.key) || (!log.has(&rv.key) && r.index <= rv.index))
            } else {
                true
            };
            if !is_forward {
                continue;
            }
            seen.insert(r.key, ());
            if let Some(l) = self.live.get_mut(&r.key) {
                let s = &mut l.sample;
                let f0 = (s.forward.bytes, s.forward.packets);
                let r0 = s.reverse.as_ref().map_or((0, 0), |x| (x.bytes, x.packets));
                let r1 = rev.map_or((0, 0), |x| (x.bytes, x.packets));
                if (r.bytes, r.packets) == f0 && r1 == r0 {
                    continue;
                }
                s.t_us = now;
                s.event = Event::Interval;
                s.forward.diff_bytes = r.bytes.saturating_sub(f0.0);
                s.forward.diff_packets = r.packets.saturating_sub(f0.1);
                s.forward.bytes = r.bytes;
                s.forward.packets = r.packets;
                if let Some(x) = s.reverse.as_mut() {
                    x.diff_bytes = r1.0.saturating_sub(r0.0);
                    x.diff_packets = r1.1.saturating_sub(r0.1);
                    x.bytes = r1.0;
                    x.packets = r1.1;
                }
                out.push(s.clone());
                continue;
            }
            let d = log.take(&r.key).unwrap_or(Decision {
                forward: Verdict {
                    pass: r.verdict != FlowVerdict::Drop,
                    ..Verdict::default()
                },
                reverse: Verdict {
                    pass: true,
                    ..Verdict::default()
                },
            });
            let s = self.setup(ctx, &r.key, r.dst_vrf, &d, Some(r), rev, now);
            out.push(s.clone());
            self.live.insert(r.key, Live { sample: s });
        }
        // Flows decided before this dump and not in it lived less than an interval: their
        // setup and teardown, without counters.
        for (k, d) in log.take_older(dumped_at) {
            let mut s = self.setup(ctx, &k, k.vrf(), &d, None, None, now);
            out.push(s.clone());
            s.event = Event::Teardown;
            s.teardown_time = now;
            s.teardown_reason = "removed".into();
            out.push(s);
        }
        let gone: Vec<FlowKey> = self
            .live
            .keys()
            .filter(|k| !seen.contains_key(k))
            .copied()
            .collect();
        for k in gone {
            if let Some(mut l) = self.live.remove(&k) {
                let s = &mut l.sample;
                s.t_us = now;
                s.event = Event::Teardown;
                s.teardown_time = now;
                s.teardown_reason = "removed".into();
                s.forward.diff_bytes = 0;
                s.forward.diff_packets = 0;
                if let Some(x) = s.reverse.as_mut() {
                    x.diff_bytes = 0;
                    x.diff_packets = 0;
                }
                out.push(l.sample);
            }
        }
        out
    }
}

/// The most flow entries one dump copies out of each worker.
const DUMP_LIMIT: usize = 1 << 20;

fn sender(rx: Receiver<Vec<SessionSample>>, to: SocketAddr, stats: Arc<ExportStats>) {
    let mut conn: Option<TcpStream> = None;
    let mut buf = Vec::new();
    while let Ok(batch) = rx.recv() {
        if conn.is_none() {
            conn = TcpStream::connect_timeout(&to, Duration::from_secs(2)).ok();
            if let Some(c) = &conn {
                let _ = c.set_write_timeout(Some(Duration::from_secs(5)));
                stats.connects.fetch_add(1, Ordering::Relaxed);
            }
        }
        let n = batch.len() as u64;
        let Some(c) = conn.as_mut() else {
            stats.dropped.fetch_add(n, Ordering::Relaxed);
            continue;
        };
        buf.clear();
        for chunk in batch.chunks(1000) {
            cirrus_analytics::wire::encode_frame(chunk, &mut buf);
        }
        match c.write_all(&buf) {
            Ok(()) => {
                stats.sent.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::debug!(collector = %to, error = %e, "flow export: collector write failed");
                stats.dropped.fetch_add(n, Ordering::Relaxed);
                conn = None;
            }
        }
    }
}

/// The decision log (for the agent thread) and the counters, made before the runner.
pub fn parts() -> (Arc<DecisionLog>, Arc<ExportStats>) {
    let stats = Arc::new(ExportStats::default());
    (Arc::new(DecisionLog::new(1 << 18, stats.clone())), stats)
}

/// Starts the sampler and sender threads.
pub fn start(
    cfg: FlowExportConfig,
    hostname: String,
    underlay: Ipv4Addr,
    handle: RunnerHandle,
    ctx: Arc<ArcSwap<FlowContext>>,
    (log, stats): (Arc<DecisionLog>, Arc<ExportStats>),
) {
    RULES_WANTED.store(true, Ordering::Relaxed);
    let (tx, rx): (SyncSender<Vec<SessionSample>>, _) = sync_channel(cfg.queue.max(1));
    let st = stats.clone();
    let to = cfg.collector;
    std::thread::Builder::new()
        .name("cirrus-flow-send".into())
        .spawn(move || sender(rx, to, st))
        .expect("spawning the flow export sender");
    let (st, lg) = (stats.clone(), log.clone());
    std::thread::Builder::new()
        .name("cirrus-flow-export".into())
        .spawn(move || {
            let mut s = Sampler {
                hostname,
                underlay,
                live: HashMap::new(),
                next_uuid: 0,
                seed: now_us(),
            };
            loop {
                std::thread::sleep(cfg.interval);
                let dumped_at = Instant::now();
                let Ok(dump) = handle.flows(FlowFilter::All, DUMP_LIMIT) else {
                    continue;
                };
                let flows: Vec<FlowRecord> = dump.into_iter().flat_map(|w| w.flows).collect();
                let samples = s.sample(&flows, &ctx.load(), &lg, now_us(), dumped_at);
                if samples.is_empty() {
                    continue;
                }
                let n = samples.len() as u64;
                st.samples.fetch_add(n, Ordering::Relaxed);
                match tx.try_send(samples) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => {
                        st.dropped.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(TrySendError::Disconnected(_)) => return,
                }
            }
        })
        .expect("spawning the flow export sampler");
}

#[cfg(test)]
mod tests {
    use super::*;
    use cirrus_dataplane::flow::{FlowDecision, FlowSpec};
    use cirrus_dataplane::wire::IpProtocol;

    fn rec(index: u32, key: FlowKey, rev: FlowKey, verdict: FlowVerdict, bytes: u64) -> FlowRecord {
        FlowRecord {
            index,
            key,
            verdict,
            nat_src: false,
            nat_dst: false,
            rev: 0,
            rev_key: Some(rev),
            interface: 3,
            out_interface: None,
            nexthop: 0,
            dst_vrf: 1,
            mirror: 0,
            packets: bytes / 100,
            bytes,
            last_seen: 0,
            tcp_flags: 0,
        }
    }

    /// A flow from 10.0.0.1:`sport` to 10.0.0.2:`dport` in VRF 1.
    fn key(proto: IpProtocol, sport: u16, dport: u16) -> FlowKey {
        FlowKey::new(
            1,
            proto,
            [10, 0, 0, 1].into(),
            [10, 0, 0, 2].into(),
            sport,
            dport,
        )
    }

    /// The agent's decision on `key` (slab `index`), as the decision log is told of it.
    fn decided(
        index: u32,
        key: FlowKey,
        forward: FlowSpec,
        refused: Option<Refusal>,
        allowed_by: Vec<(Layer, Arc<str>)>,
    ) -> Decided {
        Decided {
            decision: FlowDecision {
                index,
                key,
                forward,
                reverse: None,
            },
            refused,
            reverse_refused: None,
            nat: None,
            allowed_by,
        }
    }

    fn sampler() -> Sampler {
        Sampler {
            hostname: "c1".into(),
            underlay: Ipv4Addr::new(198, 18, 0, 11),
            live: HashMap::new(),
            next_uuid: 0,
            seed: 1,
        }
    }

    #[test]
    fn setup_interval_deltas_and_teardown_of_a_pair() {
        let f = key(IpProtocol::TCP, 4000, 80);
        let r = f.reversed(1);
        let log = DecisionLog::new(8, Arc::new(ExportStats::default()));
        let ctx = FlowContext::default();
        let mut s = sampler();
        // The reverse entry has the lower slab index: the decision log says which is forward.
        log.note(
            f,
            &decided(
                9,
                f,
                FlowSpec::forward(1),
                None,
                vec![(Layer::SecurityGroup, Arc::from("sg-allow-1"))],
            ),
        );
        let one = s.sample(
            &[
                rec(2, r, f, FlowVerdict::Forward, 300),
                rec(9, f, r, FlowVerdict::Forward, 1000),
            ],
            &ctx,
            &log,
            10,
            Instant::now(),
        );
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].event, Event::Setup);
        assert_eq!((one[0].source_ip, one[0].dport), (f.src(), 80));
        assert_eq!(one[0].forward.diff_bytes, 1000);
        assert_eq!(one[0].reverse.as_ref().unwrap().diff_bytes, 300);
        assert!(one[0].forward.pass);
        assert_eq!(one[0].forward.sg_rule_uuid, "sg-allow-1");
        // Unchanged counters: nothing; moved: the deltas.
        assert!(
            s.sample(
                &[
                    rec(2, r, f, FlowVerdict::Forward, 300),
                    rec(9, f, r, FlowVerdict::Forward, 1000)
                ],
                &ctx,
                &log,
                20,
                Instant::now()
            )
            .is_empty()
        );
        let two = s.sample(
            &[
                rec(2, r, f, FlowVerdict::Forward, 350),
                rec(9, f, r, FlowVerdict::Forward, 1600),
            ],
            &ctx,
            &log,
            30,
            Instant::now(),
        );
        assert_eq!(two.len(), 1);
        assert_eq!(two[0].event, Event::Interval);
        assert_eq!(
            (two[0].forward.diff_bytes, two[0].forward.bytes),
            (600, 1600)
        );
        assert_eq!(two[0].reverse.as_ref().unwrap().diff_bytes, 50);
        assert_eq!(two[0].forward.uuid, one[0].forward.uuid);
        let three = s.sample(&[], &ctx, &log, 40, Instant::now());
        assert_eq!(three.len(), 1);
        assert_eq!(
            (
                three[0].event,
                three[0].teardown_time,
                three[0].forward.diff_bytes
            ),
            (Event::Teardown, 40, 0)
        );
    }

    #[test]
    fn a_denied_flow_names_its_rule_and_reason() {
        let f = key(IpProtocol::TCP, 4000, 22);
        let log = DecisionLog::new(8, Arc::new(ExportStats::default()));
        log.note(
            f,
            &decided(
                1,
                f,
                FlowSpec::drop(),
                Some(Refusal::Policy(
                    Layer::SecurityGroup,
                    Arc::from("sg-rule-1"),
                )),
                Vec::new(),
            ),
        );
        let mut d = rec(1, f, f.reversed(1), FlowVerdict::Drop, 60);
        d.rev_key = None;
        let out = sampler().sample(&[d], &FlowContext::default(), &log, 5, Instant::now());
        assert_eq!(out.len(), 1);
        let fw = &out[0].forward;
        assert!(!fw.pass);
        assert_eq!(
            (fw.sg_rule_uuid.as_str(), fw.drop_reason.as_str()),
            ("sg-rule-1", "security-group")
        );
        assert!(out[0].reverse.is_none());
    }

    #[test]
    fn a_full_decision_log_counts_what_it_drops() {
        let stats = Arc::new(ExportStats::default());
        let log = DecisionLog::new(1, stats.clone());
        let d = |p| {
            let k = key(IpProtocol::UDP, p, 53);
            (k, decided(1, k, FlowSpec::forward(1), None, Vec::new()))
        };
        for p in [1, 2, 3] {
            let (k, x) = d(p);
            log.note(k, &x);
        }
        assert_eq!(stats.decisions_dropped.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_flow_gone_before_any_dump_still_has_its_setup_and_teardown() {
        let f = key(IpProtocol::TCP, 4000, 80);
        let log = DecisionLog::new(8, Arc::new(ExportStats::default()));
        log.note(
            f,
            &decided(
                1,
                f,
                FlowSpec::forward(1),
                None,
                vec![(Layer::NetworkPolicy, Arc::from("nw-rule-a"))],
            ),
        );
        let mut s = sampler();
        let before = Instant::now() - Duration::from_secs(1);
        assert!(
            s.sample(&[], &FlowContext::default(), &log, 5, before)
                .is_empty(),
            "decided after that dump began"
        );
        let out = s.sample(&[], &FlowContext::default(), &log, 6, Instant::now());
        let events: Vec<Event> = out.iter().map(|x| x.event).collect();
        assert_eq!(events, [Event::Setup, Event::Teardown]);
        assert_eq!(out[0].forward.nw_ace_uuid, "nw-rule-a");
        assert!(out[0].forward.pass && out[0].reverse.is_some());
        assert!(
            s.sample(&[], &FlowContext::default(), &log, 7, Instant::now())
                .is_empty()
        );
    }
}
