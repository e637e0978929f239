//! `GET /metrics` on the vrouter's introspect port: the counters the JSON pages show, in
//! Prometheus' text format. Nothing is counted here: every value is read at scrape time
//! from the runner's report (per-port packets and bytes, pipeline drops by reason, flow
//! table occupancy, lookups), flow setup's counters and timings ([`crate::flow_stats`]) and
//! the control task's status (controller sessions, VRFs, routes, nexthops).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use cirrus_dataplane::drop::DropReason;
use cirrus_metrics::{Exposition, Kind};
use cirrus_packet_io::report::RunnerReport;

use crate::channel::session::State as SessionState;
use crate::introspect::Introspect;
use crate::node::Status;

pub(crate) async fn serve(State(s): State<Introspect>) -> Response {
    let h = s.handle.clone();
    let report = match tokio::task::spawn_blocking(move || h.report()).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let mut e = Exposition::new();
    let status = s.status.load();
    control(&mut e, &status);
    ports(&mut e, &status, &report);
    pipeline(&mut e, &report);
    flows(&mut e, &s, &report);
    ([(CONTENT_TYPE, cirrus_metrics::CONTENT_TYPE)], e.finish()).into_response()
}

fn control(e: &mut Exposition, st: &Status) {
    e.family(
        "cirrus_vrouter_controller_up",
        Kind::Gauge,
        "1 while the channel session with the controller is established, else 0.",
    );
    for c in &st.controllers {
        let up = matches!(c.state, SessionState::Established { .. });
        e.sample(&[("controller", &c.address)], f64::from(u8::from(up)));
    }
    e.family(
        "cirrus_vrouter_controller_routes",
        Kind::Gauge,
        "Routes held from the controller (fresh and stale).",
    );
    for c in &st.controllers {
        e.sample(
            &[("controller", &c.address)],
            (c.routes_received + c.routes_stale) as f64,
        );
    }
    e.family("cirrus_vrouter_ports", Kind::Gauge, "Workload ports known.")
        .sample(&[], st.ports.len() as f64);
    e.family("cirrus_vrouter_vrfs", Kind::Gauge, "VRFs programmed.")
        .sample(&[], st.vrfs.len() as f64);
    e.family(
        "cirrus_vrouter_routes",
        Kind::Gauge,
        "Routes programmed, per routing instance.",
    );
    for v in &st.vrfs {
        e.sample(&[("routing_instance", &v.instance)], v.routes.len() as f64);
    }
    e.family(
        "cirrus_vrouter_nexthops",
        Kind::Gauge,
        "Nexthops programmed.",
    )
    .sample(&[], st.nexthops.len() as f64);
}

fn ports(e: &mut Exposition, st: &Status, r: &RunnerReport) {
    // Names: the devices the runner drives (the fabric port too), uuids from the agent.
    let mut names: BTreeMap<u32, (String, String)> = BTreeMap::new();
    for w in &r.workers {
        for p in &w.ports {
            names.insert(p.ifindex, (p.device.clone(), String::new()));
        }
    }
    for p in &st.ports {
        names.insert(p.ifindex, (p.device.clone(), p.uuid.clone()));
    }
    let counters = r.interface_counters();
    type Pick = fn(&cirrus_dataplane::pipeline::IfCounters) -> u64;
    let fams: [(&str, &str, Pick); 5] = [
        (
            "cirrus_vrouter_port_rx_packets_total",
            "Packets received on the port.",
            |c| c.rx_packets,
        ),
        (
            "cirrus_vrouter_port_rx_bytes_total",
            "Bytes received on the port.",
            |c| c.rx_bytes,
        ),
        (
            "cirrus_vrouter_port_tx_packets_total",
            "Packets sent out of the port.",
            |c| c.tx_packets,
        ),
        (
            "cirrus_vrouter_port_tx_bytes_total",
            "Bytes sent out of the port.",
            |c| c.tx_bytes,
        ),
        (
            "cirrus_vrouter_port_drops_total",
            "Packets received on the port and dropped.",
            |c| c.drops,
        ),
    ];
    for (name, help, pick) in fams {
        e.family(name, Kind::Counter, help);
        for (ifindex, c) in &counters {
            let (dev, uuid) = names.get(ifindex).cloned().unwrap_or_default();
            let idx = ifindex.to_string();
            e.sample(
                &[("interface", &dev), ("ifindex", &idx), ("vmi", &uuid)],
                pick(c) as f64,
            );
        }
    }
}

fn pipeline(e: &mut Exposition, r: &RunnerReport) {
    let drops = r.drops();
    e.family(
        "cirrus_vrouter_drops_total",
        Kind::Counter,
        "Packets the pipeline dropped, by reason.",
    );
    for reason in DropReason::ALL {
        e.sample(
            &[("reason", &snake(&format!("{reason:?}")))],
            drops.get(reason) as f64,
        );
    }
    let t = r.totals();
    e.family(
        "cirrus_vrouter_flow_lookups_total",
        Kind::Counter,
        "Flow table lookups by result (hit: an installed flow; miss: set up by the agent).",
    )
    .sample(&[("result", "hit")], t.flow_hits as f64)
    .sample(&[("result", "miss")], t.flow_misses as f64);
    e.family(
        "cirrus_vrouter_trapped_packets_total",
        Kind::Counter,
        "Packets handed to the agent (ARP, DHCP, ND, ...).",
    )
    .sample(&[], t.trapped as f64);
    e.family(
        "cirrus_vrouter_handoff_lost_total",
        Kind::Counter,
        "Flow misses and traps lost because the agent's queue was full.",
    )
    .sample(&[], r.handoff_lost as f64);
}

fn flows(e: &mut Exposition, s: &Introspect, r: &RunnerReport) {
    let active: usize = r.workers.iter().map(|w| w.flows).sum();
    let capacity: u64 = r.workers.iter().map(|w| u64::from(w.flow_capacity)).sum();
    e.family(
        "cirrus_vrouter_flows_active",
        Kind::Gauge,
        "Flow table entries in use (both directions of a flow count).",
    )
    .sample(&[], active as f64);
    e.family(
        "cirrus_vrouter_flow_table_capacity",
        Kind::Gauge,
        "Flow table entries available over all workers.",
    )
    .sample(&[], capacity as f64);
    let f = s.stats.snapshot();
    e.family(
        "cirrus_vrouter_flows_created_total",
        Kind::Counter,
        "New flows the agent set up (allowed or denied).",
    )
    .sample(&[], f.decided as f64);
    e.family(
        "cirrus_vrouter_flows_denied_total",
        Kind::Counter,
        "New flows refused, by reason (security-group, network-policy, firewall, ...).",
    );
    for (reason, n) in &f.by_reason {
        e.sample(&[("reason", reason)], *n as f64);
    }
    e.family(
        "cirrus_vrouter_flows_denied_by_rule_total",
        Kind::Counter,
        "New flows refused, by the uuid of the rule that denied them.",
    );
    let rules: BTreeMap<_, _> = f.by_rule.iter().collect();
    for (rule, c) in rules {
        e.sample(&[("rule", rule)], c.flows as f64);
    }
    s.stats.setup_seconds.write(
        e,
        "cirrus_vrouter_flow_setup_seconds",
        "Time the agent took to decide a new flow (policy, security groups, NAT); queueing excluded.",
    );
}

/// `FlowDenied` -> `flow_denied`.
fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn reasons_in_snake_case() {
        assert_eq!(super::snake("FlowDenied"), "flow_denied");
        assert_eq!(super::snake("Loop"), "loop");
    }
}
