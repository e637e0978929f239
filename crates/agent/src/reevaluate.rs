//! After a config or route change: which installed flows the new snapshot would decide
//! differently, so they are deleted and their next packet is decided again (a policy or
//! security-group change reaches established flows, and a flow dropped for want of a
//! route gets another chance when the route comes). Runs on the control side over a dump
//! of the flow tables, never on a worker.
//!
//! A flow entry is kept when deciding it afresh as the first packet of a flow gives it
//! the same treatment, or when deciding its partner afresh gives it as the reply
//! direction with the same treatment. Entries that saw a TCP ACK are re-decided as
//! TCP-ACK flows (allowed when either direction would be), as their next packet would be.

use std::collections::HashSet;

use cirrus_dataplane::flow::{FlowKey, FlowRecord, FlowSpec, FlowVerdict};
use cirrus_dataplane::wire::{IpProtocol, TcpFlags};

use crate::flow_context::{FlowContext, LocalAddr};
use crate::flow_setup::{Miss, decide_miss};
use crate::upcall_frame::FirstPacket;

fn same(spec: &FlowSpec, r: &FlowRecord) -> bool {
    if spec.verdict != r.verdict {
        return false;
    }
    spec.verdict == FlowVerdict::Drop
        || (spec.nat_src == r.nat_src && spec.nat_dst == r.nat_dst && spec.dst_vrf == r.dst_vrf)
}

/// The miss `key` would be if it came now, for a flow counted against `owner`.
fn as_miss(ctx: &FlowContext, key: FlowKey, owner: u32, tcp_flags: u8) -> Miss {
    let tcp = (key.proto() == IpProtocol::TCP && tcp_flags & TcpFlags::ACK as u8 != 0)
        .then_some(TcpFlags(TcpFlags::ACK));
    match ctx.local.get(&(key.vrf(), key.src())) {
        Some(LocalAddr::Own(p)) => Miss {
            index: 0,
            key,
            ingress: *p,
            first: FirstPacket {
                smac: ctx.ports.get(p).map(|p| p.mac),
                label: None,
                vni: None,
                tcp,
            },
        },
        _ => Miss {
            index: 0,
            key,
            ingress: ctx.fabric_ifindex,
            first: FirstPacket {
                smac: None,
                label: ctx.ports.get(&owner).map(|p| p.label),
                vni: None,
                tcp,
            },
        },
    }
}

/// Keys of the entries `ctx` decides differently (deleting a key deletes its pair).
pub fn stale_flows(ctx: &FlowContext, records: &[FlowRecord]) -> HashSet<FlowKey> {
    let mut out = HashSet::new();
    for r in records {
        if r.verdict == FlowVerdict::Hold {
            continue;
        }
        let d = decide_miss(ctx, &as_miss(ctx, r.key, r.interface, r.tcp_flags));
        if same(&d.decision.forward, r) {
            continue;
        }
        if let Some(rk) = r.rev_key {
            let p = decide_miss(ctx, &as_miss(ctx, rk, r.interface, r.tcp_flags));
            if let Some((k, spec)) = p.decision.reverse
                && k == r.key
                && same(&spec, r)
            {
                continue;
            }
        }
        out.insert(r.key);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use cirrus_dataplane::flow::{FlowConfig, FlowSpec, FlowTable, Upcall};
    use cirrus_dataplane::wire::{MacAddr, TcpFlags};
    use serde_json::json;

    use super::*;
    use crate::config::testing::{acl_rule, add_security_group};
    use crate::flow_setup::decide;
    use crate::flow_setup::tests::*;

    /// Installs the decision of `up` in `t` as the pipeline would, and returns its entries.
    fn install(t: &mut FlowTable, ctx: &FlowContext, up: Upcall, owner: u32) {
        let hold = FlowSpec {
            verdict: FlowVerdict::Hold,
            ..FlowSpec::forward(up.key.vrf())
        };
        let idx = t.insert(up.key, owner, hold, 0, 1).unwrap();
        let d = decide(ctx, &Upcall { index: idx, ..up }).decision;
        t.resolve(idx, &d.key, d.forward, d.reverse, 1).unwrap();
        // An established TCP flow has seen ACKs.
        t.touch(idx, 60, Some(TcpFlags(TcpFlags::ACK)), 2);
    }

    fn records(t: &FlowTable) -> Vec<FlowRecord> {
        t.iter().filter_map(|(i, _)| t.record(i)).collect()
    }

    #[test]
    fn a_change_marks_exactly_the_flows_it_decides_differently() {
        let mut sc = scenario();
        let w = world(&mut sc);
        let mut t = FlowTable::new(FlowConfig::default());
        let c = Ipv4Addr::new(10, 1, 0, 4);
        let mac_c = MacAddr([2, 0, 0, 0, 0, 5]);
        install(
            &mut t,
            &w.ctx,
            tcp_up(2, w.red, MAC_A, A, REMOTE_RED, 5432, TcpFlags::SYN),
            2,
        );
        install(
            &mut t,
            &w.ctx,
            tcp_up(4, w.red, mac_c, c, A, 22, TcpFlags::SYN),
            4,
        );
        install(&mut t, &w.ctx, fabric_up(w.red, 17, OUTSIDE, FIP, 22), 2);
        install(
            &mut t,
            &w.ctx,
            tcp_up(2, w.red, MAC_A, A, OUTSIDE, 443, TcpFlags::SYN),
            2,
        );
        install(
            &mut t,
            &w.ctx,
            tcp_up(
                2,
                w.red,
                MAC_A,
                A,
                Ipv4Addr::new(10, 1, 0, 200),
                1,
                TcpFlags::SYN,
            ),
            2,
        );
        let all = records(&t);
        assert_eq!(all.len(), 9, "four pairs and a lone drop entry");
        // Nothing changed: nothing is stale.
        assert!(
            stale_flows(&w.ctx, &all).is_empty(),
            "{:?}",
            stale_flows(&w.ctx, &all)
        );

        // The web group stops opening 22 to everyone; a route to 10.1.0.200 appears. The
        // established connections into a stay: a may still open connections out, so
        // their next segment (an ACK) would be allowed again (Contrail's TCP-ACK rule).
        let web_in = json!([acl_rule(
            "any",
            json!({"security_group": "8000001"}),
            json!({}),
            (-1, -1),
            "pass",
            "web-in"
        )]);
        add_security_group(
            &mut sc.store,
            "sg-web",
            8000001,
            web_in.clone(),
            json!([acl_rule(
                "any",
                json!({}),
                json!({"subnet": {"ip_prefix": "0.0.0.0", "ip_prefix_len": 0}}),
                (-1, -1),
                "pass",
                "all-out"
            )]),
        );
        sc.add_route(
            "d:p:red:red",
            "10.1.0.200/32",
            C2,
            44,
            5,
            "d:p:red",
            &[8000001],
        );
        let w2 = world(&mut sc);
        let dst = |k: &FlowKey| k.dst().to_string() + ":" + &k.dport().to_string();
        let sorted = |s: HashSet<FlowKey>| {
            let mut v: Vec<String> = s.iter().map(dst).collect();
            v.sort();
            v
        };
        assert_eq!(sorted(stale_flows(&w2.ctx, &all)), vec!["10.1.0.200:1"]);

        // Now a may talk to web members only, either way: every flow of a with something
        // outside the group goes (both entries), the one to a web member stays.
        add_security_group(
            &mut sc.store,
            "sg-web",
            8000001,
            web_in,
            json!([acl_rule(
                "any",
                json!({}),
                json!({"security_group": "8000001"}),
                (-1, -1),
                "pass",
                "web-out"
            )]),
        );
        let w3 = world(&mut sc);
        assert_eq!(
            sorted(stale_flows(&w3.ctx, &all)),
            vec![
                "10.1.0.200:1",
                "10.1.0.3:22",
                "10.1.0.4:40000",
                "172.16.0.5:22",
                "172.16.0.5:40000",
                "172.16.0.9:40000",
                "172.16.0.9:443"
            ]
        );

        // Without the floating IP (and with red open to all) the translated flows go: the
        // one from outside would now be forwarded untranslated (same verdict, different
        // treatment).
        let mut sc = scenario();
        sc.store.remove("fip-a");
        sc.store.remove("acl-vn-red");
        let w4 = world(&mut sc);
        assert_eq!(
            sorted(stale_flows(&w4.ctx, &all)),
            vec![
                "172.16.0.5:22",
                "172.16.0.5:40000",
                "172.16.0.9:40000",
                "172.16.0.9:443"
            ]
        );
    }
}
