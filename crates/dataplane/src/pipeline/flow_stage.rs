//! The flow stage, shared by packets from workloads and from the fabric: where a flow is
//! set up. A lookup that hits counts the packet, applies the flow's verdict, mirrors it
//! and rewrites it for NAT, and says where to route it ([`Route`]); a miss installs a
//! hold entry, parks the packet and reports an upcall for the agent to decide (the
//! decision arrives through `Worker::apply_decision`).

use super::forward::mirror;
use super::parse::{Frag, L3Info};
use super::{Disposition, Worker, nat};
use crate::drop::DropReason;
use crate::flow::{FlowKey, FlowSpec, FlowVerdict, Upcall};
use crate::packet::PacketBuf;
use crate::tables::{IfIndex, NhId, Tables};
use crate::wire::IpProtocol;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The port NAT writes: the reverse key's, unless fat-flow aggregation zeroed it there
/// (then the packet keeps its own).
#[inline]
fn nat_port(from_rev: u16, own: u16) -> u16 {
    if from_rev == 0 { own } else { from_rev }
}

/// Where the route lookup happens after the flow stage.
pub(super) struct Route {
    pub vrf: u16,
    pub dst: u128,
    /// Nexthop pinned in the flow (0 = none yet).
    pub pinned: NhId,
    pub flow: Option<u32>,
}

pub(super) enum FlowStep {
    Go(Route),
    Stop(Disposition),
}

/// Flow lookup: hit -> count, NAT, and return where to route; miss -> hold entry, park
/// the packet, upcall. `owner` is the workload interface the flow counts against.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn flow_stage(
    w: &mut Worker,
    t: &Tables,
    now: u32,
    ingress: IfIndex,
    owner: IfIndex,
    limit: u32,
    key: FlowKey,
    hash: u64,
    pkt: &mut PacketBuf,
    ip_off: usize,
    info: &L3Info,
) -> FlowStep {
    let Some(idx) = w.flows.lookup(&key, hash) else {
        w.stats.flow_misses += 1;
        let hold = FlowSpec {
            verdict: FlowVerdict::Hold,
            ..FlowSpec::forward(key.vrf())
        };
        return match w.flows.insert(key, owner, hold, limit, now) {
            Ok(idx) => {
                w.parked
                    .entry(idx)
                    .or_default()
                    .push((ingress, pkt.clone()));
                w.upcalls.push(Upcall {
                    index: idx,
                    key,
                    ingress,
                    frame: pkt.data().to_vec(),
                });
                FlowStep::Stop(Disposition::Held)
            }
            Err(e) => FlowStep::Stop(Disposition::Drop(e.into())),
        };
    };
    w.stats.flow_hits += 1;
    let Some(hit) = w.flows.hit(idx, pkt.len(), info.tcp_flags, now) else {
        return FlowStep::Stop(Disposition::Drop(DropReason::FlowDenied));
    };
    let (verdict, dst_vrf, pinned, rev_idx) = (hit.verdict, hit.dst_vrf, hit.nh, hit.rev);
    let mirror_nh = if hit.mirror {
        w.flows.cold(idx).map_or(0, |c| c.mirror)
    } else {
        0
    };
    let nat = hit.nat_src as u8 | (hit.nat_dst as u8) << 1;
    match verdict {
        FlowVerdict::Hold => {
            let q = w.parked.entry(idx).or_default();
            if q.len() >= w.cfg.hold_packets {
                return FlowStep::Stop(Disposition::Drop(DropReason::FlowHoldOverflow));
            }
            q.push((ingress, pkt.clone()));
            FlowStep::Stop(Disposition::Held)
        }
        FlowVerdict::Drop => FlowStep::Stop(Disposition::Drop(DropReason::FlowPolicy)),
        FlowVerdict::Forward => {
            let mut route = Route {
                vrf: dst_vrf,
                dst: info.dst,
                pinned,
                flow: Some(idx),
            };
            if mirror_nh != 0 {
                mirror(w, t, mirror_nh, pkt, hash);
            }
            if nat != 0 {
                let (nat_src, nat_dst) = (nat & 1 != 0, nat & 2 != 0);
                let Some(rev) = w.flows.get(rev_idx) else {
                    return FlowStep::Stop(Disposition::Drop(DropReason::FlowDenied));
                };
                let rk = rev.key;
                // Later fragments (and IPv6 fragments, keyed without ports) carry no
                // transport header to patch.
                let l4 = (info.frag != Frag::Later && !info.v6_fragment).then_some(info.l4_off);
                let partial = pkt.partial_checksum().is_some();
                let ip = &mut pkt.data_mut()[ip_off..];
                let proto = IpProtocol(info.proto);
                // (source?, new address, new port) for each translated side.
                let sides = [
                    (
                        nat_src,
                        true,
                        rk.dst_bits(),
                        nat_port(rk.dport(), info.sport),
                    ),
                    (
                        nat_dst,
                        false,
                        rk.src_bits(),
                        nat_port(rk.sport(), info.dport),
                    ),
                ];
                for (on, src, addr, port) in sides {
                    if !on {
                        continue;
                    }
                    if info.v6 {
                        let a = Ipv6Addr::from_bits(addr);
                        nat::rewrite_v6(ip, l4, partial, proto, src, a, port);
                    } else {
                        let a = Ipv4Addr::from_bits(addr as u32);
                        nat::rewrite_v4(ip, l4, partial, src, a, port);
                    }
                }
                if nat_dst {
                    route.dst = rk.src_bits();
                }
            }
            FlowStep::Go(route)
        }
    }
}
