//! The agent's kernel-state pages (Contrail's `kstate.sandesh`), read from the pipeline's
//! workers: `KFlowReq` (flow entries as `KFlowInfo`) and `KDropStatsReq` (drop counters,
//! each of our drop reasons counted under the vRouter counter that means the same).

use std::collections::HashMap;

use cirrus_dataplane::drop::{DropCounters, DropReason};
use cirrus_dataplane::flow::{FlowRecord, FlowVerdict};

use super::xml::response;

/// Contrail's `ds_*` counter for one of our drop reasons.
pub fn ds_field(r: DropReason) -> &'static str {
    use DropReason::*;
    match r {
        Malformed => "ds_invalid_packet",
        UnknownInterface | NoVrf => "ds_invalid_if",
        UnsupportedEthertype => "ds_invalid_protocol",
        VlanTagged => "ds_vlan_fwd_enq",
        BadSourceMac | SourceMismatch => "ds_invalid_source",
        TtlExpired => "ds_ttl_exceeded",
        NoRoute => "ds_nowhere_to_go",
        NoNexthop | InvalidNexthop | EcmpEmpty => "ds_invalid_nh",
        Discard => "ds_discard",
        BridgeMiss => "ds_l2_no_route",
        FlowPolicy | FlowDenied => "ds_flow_action_drop",
        FlowTableFull => "ds_flow_table_full",
        FlowLimit | FlowHoldOverflow => "ds_flow_queue_limit_exceeded",
        FragmentNoFlow => "ds_frag_err",
        NoHeadroom => "ds_head_alloc_fail",
        UnknownLabel | LabelStack => "ds_invalid_label",
        UnknownVni => "ds_invalid_vnid",
        Loop => "ds_misc",
        HostOrAgentIngress => "ds_trap_no_if",
        LinkScopedMulticast => "ds_invalid_mcast_source",
    }
}

/// `KDropStatsResp`'s counters, in its field order.
const DS_FIELDS: &[&str] = &[
    "ds_discard",
    "ds_pull",
    "ds_invalid_if",
    "ds_arp_not_me",
    "ds_invalid_arp",
    "ds_trap_no_if",
    "ds_nowhere_to_go",
    "ds_flow_queue_limit_exceeded",
    "ds_flow_no_memory",
    "ds_flow_invalid_protocol",
    "ds_flow_nat_no_rflow",
    "ds_flow_action_drop",
    "ds_flow_action_invalid",
    "ds_flow_unusable",
    "ds_flow_table_full",
    "ds_interface_tx_discard",
    "ds_interface_drop",
    "ds_duplicated",
    "ds_push",
    "ds_ttl_exceeded",
    "ds_invalid_nh",
    "ds_invalid_label",
    "ds_invalid_protocol",
    "ds_interface_rx_discard",
    "ds_invalid_mcast_source",
    "ds_head_alloc_fail",
    "ds_pcow_fail",
    "ds_mcast_clone_fail",
    "ds_rewrite_fail",
    "ds_misc",
    "ds_invalid_packet",
    "ds_cksum_err",
    "ds_no_fmd",
    "ds_cloned_original",
    "ds_invalid_vnid",
    "ds_frag_err",
    "ds_invalid_source",
    "ds_mcast_df_bit",
    "ds_l2_no_route",
    "ds_vlan_fwd_tx",
    "ds_vlan_fwd_enq",
    "ds_no_memory",
    "ds_drop_new_flow",
    "ds_flow_evict",
];

/// `KDropStatsResp` of the pipeline's drop counters; packets lost at a full handoff queue
/// count as `ds_interface_rx_discard`.
pub fn drop_stats(d: &DropCounters, handoff_lost: u64) -> String {
    let mut by: HashMap<&str, u64> = HashMap::new();
    for r in DropReason::ALL {
        *by.entry(ds_field(r)).or_default() += d.get(r);
    }
    *by.entry("ds_interface_rx_discard").or_default() += handoff_lost;
    response("KDropStatsResp", |s| {
        s.field("ds_rid", "u16", 0);
        for f in DS_FIELDS {
            s.field(f, "u64", by.get(f).copied().unwrap_or(0));
        }
    })
}

fn action(r: &FlowRecord) -> &'static str {
    match (r.verdict, r.nat_src || r.nat_dst) {
        (FlowVerdict::Drop, _) => "DROP",
        (FlowVerdict::Hold, _) => "HOLD",
        (FlowVerdict::Forward, true) => "NAT",
        (FlowVerdict::Forward, false) => "FORWARD",
    }
}

/// `KFlowResp` of flow entries (worker, record). `rflow` is the reverse entry's index in
/// its worker's table.
pub fn flows(list: &[(usize, &FlowRecord)]) -> String {
    // One table per worker: index entries as worker * 2^24 + index so they stay apart.
    let idx = |w: usize, i: u32| (w as u64) << 24 | u64::from(i);
    let by_key: HashMap<_, _> = list.iter().map(|(w, r)| ((*w, r.key), r.index)).collect();
    response("KFlowResp", |s| {
        s.structs("flow_list", "KFlowInfo", list, |f, (w, r)| {
            let k = &r.key;
            let rflow = r
                .rev_key
                .and_then(|rk| by_key.get(&(*w, rk)))
                .map_or(-1, |i| idx(*w, *i) as i64);
            f.i32("index", idx(*w, r.index))
                .i32("rflow", rflow)
                .string("sip", k.src())
                .i32("sport", k.sport())
                .string("dip", k.dst())
                .i32("dport", k.dport())
                .field("proto", "byte", k.proto().0)
                .field("vrf_id", "i16", k.vrf())
                .string("action", action(r))
                .string("flags", "ACTIVE")
                .field("d_vrf_id", "i16", r.dst_vrf)
                .i32("bytes", r.bytes)
                .i32("pkts", r.packets)
                .i32("insight", 0)
                .i32("nhid", r.nexthop)
                .field("underlay_udp_sport", "u16", 0)
                .string("tcp_flags", format!("{:#04x}", r.tcp_flags))
                .string(
                    "drop_reason",
                    if r.verdict == FlowVerdict::Drop {
                        "FLOW_ACTION_DROP"
                    } else {
                        ""
                    },
                )
                .field("ttl", "u16", 0)
                .field("qos_id", "i16", -1)
                .field("gen_id", "i16", 0)
                .field("tcp_seq", "u16", 0)
                .field("oflow_bytes", "u16", 0)
                .field("oflow_packets", "u16", 0)
                .field("underlay_gw_index", "i16", -1);
        });
        s.string("flow_handle", "0");
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drop_reason_lands_in_a_field_the_response_has() {
        for r in DropReason::ALL {
            assert!(DS_FIELDS.contains(&ds_field(r)), "{r:?}");
        }
        let mut d = DropCounters::default();
        d.count(DropReason::FlowDenied);
        d.count(DropReason::FlowPolicy);
        let x = drop_stats(&d, 3);
        assert!(
            x.contains(
                "<ds_flow_action_drop type=\"u64\" identifier=\"13\">2</ds_flow_action_drop>"
            ),
            "{x}"
        );
        assert!(x.contains(">3</ds_interface_rx_discard>"), "{x}");
    }
}
