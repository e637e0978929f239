//! Per-interface counters to the analytics collector, every export interval: a sampler
//! thread reads the workers' port counters (the runner's report, copied out between
//! batches as for introspect and `/metrics`) and the agent's port table, and makes one
//! [`VmiStatsSample`] per workload port whose counters moved since its previous sample
//! (and one for each port seen for the first time), with deltas: in = received from the
//! workload, out = sent to it, drops = received and dropped (Contrail's `VMIStats`
//! `raw_if_stats` and `raw_drop_stats`). Samples share the flow export's bounded queue and
//! sender ([`crate::export_sender`]); when the queue is full they are dropped and counted.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Duration;

use arc_swap::ArcSwap;
use cirrus_analytics::vmi_stats::VmiStatsSample;
use cirrus_dataplane::pipeline::IfCounters;
use cirrus_dataplane::tables::IfIndex;
use cirrus_packet_io::handle::RunnerHandle;

use crate::export_sender::Outbound;
use crate::flow_export::ExportStats;
use crate::node::Status;
use crate::node::status::PortStatus;

/// The counters last sampled, per ifindex, with the port that held it then.
#[derive(Debug, Default)]
pub struct Sampler {
    prev: HashMap<IfIndex, (String, IfCounters)>,
}

/// `now - before`, or `now` whole when the counters went back (a new port on a reused
/// ifindex, a restarted worker).
fn delta(now: &IfCounters, before: Option<&IfCounters>) -> IfCounters {
    let Some(b) = before else { return *now };
    if now.rx_packets < b.rx_packets
        || now.tx_packets < b.tx_packets
        || now.rx_bytes < b.rx_bytes
        || now.tx_bytes < b.tx_bytes
        || now.drops < b.drops
    {
        return *now;
    }
    IfCounters {
        rx_packets: now.rx_packets - b.rx_packets,
        rx_bytes: now.rx_bytes - b.rx_bytes,
        tx_packets: now.tx_packets - b.tx_packets,
        tx_bytes: now.tx_bytes - b.tx_bytes,
        drops: now.drops - b.drops,
    }
}

impl Sampler {
    /// The samples of one interval from the ports' counters now (`counters`, by ifindex)
    /// and the agent's ports; remembers the counters for the next interval.
    pub fn sample(
        &mut self,
        counters: &[(IfIndex, IfCounters)],
        ports: &[PortStatus],
        vrouter: &str,
        t_us: u64,
    ) -> Vec<VmiStatsSample> {
        let by_index: HashMap<IfIndex, &IfCounters> =
            counters.iter().map(|(i, c)| (*i, c)).collect();
        let mut next = HashMap::with_capacity(ports.len());
        let mut out = Vec::new();
        for p in ports {
            let Some(now) = by_index.get(&p.ifindex) else {
                continue;
            };
            let before = self
                .prev
                .get(&p.ifindex)
                .filter(|(uuid, _)| *uuid == p.uuid)
                .map(|(_, c)| c);
            let d = delta(now, before);
            next.insert(p.ifindex, (p.uuid.clone(), **now));
            let s = VmiStatsSample {
                t_us,
                vrouter: vrouter.to_owned(),
                name: p.fq_name.clone().unwrap_or_else(|| p.uuid.clone()),
                vmi_uuid: p.uuid.clone(),
                virtual_network: p.network.clone().unwrap_or_default(),
                in_pkts: d.rx_packets,
                in_bytes: d.rx_bytes,
                out_pkts: d.tx_packets,
                out_bytes: d.tx_bytes,
                drop_pkts: d.drops,
            };
            if before.is_none() || !s.is_idle() {
                out.push(s);
            }
        }
        self.prev = next;
        out
    }
}

fn now_us() -> u64 {
    cirrus_analytics::now_us() as u64
}

/// Starts the sampler thread, which offers each interval's samples to `tx` (the flow
/// export's queue to the collector) without waiting.
pub fn start(
    tx: SyncSender<Outbound>,
    interval: Duration,
    hostname: String,
    handle: RunnerHandle,
    status: Arc<ArcSwap<Status>>,
    stats: Arc<ExportStats>,
) {
    std::thread::Builder::new()
        .name("cirrus-port-export".into())
        .spawn(move || {
            let mut s = Sampler::default();
            loop {
                std::thread::sleep(interval);
                let Ok(report) = handle.report() else {
                    continue;
                };
                let st = status.load();
                let samples =
                    s.sample(&report.interface_counters(), &st.ports, &hostname, now_us());
                if samples.is_empty() {
                    continue;
                }
                let n = samples.len() as u64;
                stats.vmi_samples.fetch_add(n, Ordering::Relaxed);
                match tx.try_send(Outbound::VmiStats(Arc::new(samples))) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => {
                        stats.vmi_dropped.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(TrySendError::Disconnected(_)) => return,
                }
            }
        })
        .expect("spawning the port export sampler");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(uuid: &str, ifindex: u32, network: Option<&str>) -> PortStatus {
        PortStatus {
            uuid: uuid.into(),
            fq_name: Some(format!("default-domain:p:{uuid}")),
            device: format!("tap{uuid}"),
            ifindex,
            label: 0,
            enabled: true,
            attached: true,
            device_error: None,
            waiting: None,
            network: network.map(str::to_string),
            instance: None,
            vrf: None,
            mac: None,
            addresses: Vec::new(),
            floating_ips: Vec::new(),
            security_groups: Vec::new(),
            tags: Vec::new(),
            policy: false,
        }
    }

    fn c(rx: u64, tx: u64, drops: u64) -> IfCounters {
        IfCounters {
            rx_packets: rx,
            rx_bytes: rx * 100,
            tx_packets: tx,
            tx_bytes: tx * 100,
            drops,
        }
    }

    #[test]
    fn deltas_per_port_and_idle_ports_are_skipped() {
        let mut s = Sampler::default();
        let ports = [port("a", 3, Some("d:p:red")), port("b", 4, None)];
        // The fabric (1) is not a workload port; b has no counters yet.
        let first = s.sample(&[(1, c(9, 9, 9)), (3, c(2, 1, 0))], &ports, "c1", 10);
        assert_eq!(
            first,
            [VmiStatsSample {
                t_us: 10,
                vrouter: "c1".into(),
                name: "default-domain:p:a".into(),
                vmi_uuid: "a".into(),
                virtual_network: "d:p:red".into(),
                in_pkts: 2,
                in_bytes: 200,
                out_pkts: 1,
                out_bytes: 100,
                drop_pkts: 0,
            }]
        );
        // a moved by 3 in, 1 drop; b appears (first sample, even idle).
        let second = s.sample(&[(3, c(5, 1, 1)), (4, c(0, 0, 0))], &ports, "c1", 20);
        let got: Vec<_> = second
            .iter()
            .map(|x| {
                (
                    x.vmi_uuid.as_str(),
                    x.in_pkts,
                    x.in_bytes,
                    x.out_pkts,
                    x.drop_pkts,
                )
            })
            .collect();
        assert_eq!(got, [("a", 3, 300, 0, 1), ("b", 0, 0, 0, 0)]);
        // Nothing moved: nothing sent.
        assert!(
            s.sample(&[(3, c(5, 1, 1)), (4, c(0, 0, 0))], &ports, "c1", 30)
                .is_empty()
        );
    }

    #[test]
    fn a_new_port_on_a_reused_ifindex_or_reset_counters_count_from_zero() {
        let mut s = Sampler::default();
        s.sample(&[(3, c(10, 10, 0))], &[port("a", 3, None)], "c1", 1);
        // Port b now holds ifindex 3: its counters are its own, whole.
        let got = s.sample(&[(3, c(12, 10, 0))], &[port("b", 3, None)], "c1", 2);
        assert_eq!((got[0].vmi_uuid.as_str(), got[0].in_pkts), ("b", 12));
        // Counters went back: the new value whole, never a wrapped difference.
        let got = s.sample(&[(3, c(4, 0, 0))], &[port("b", 3, None)], "c1", 3);
        assert_eq!((got[0].in_pkts, got[0].out_pkts), (4, 0));
        // A port without an fq_name yet is named by its uuid.
        let mut p = port("c", 5, None);
        p.fq_name = None;
        let got = s.sample(&[(5, c(1, 0, 0))], &[p], "c1", 4);
        assert_eq!(got[0].name, "c");
    }
}
