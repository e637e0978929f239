//! Flow setup: the agent's answer to a flow miss. From the upcall (key, ingress interface,
//! first packet) and the [`FlowContext`] it finds the local port(s) involved and what is
//! known of the other end, refuses spoofed sources, picks floating-IP translation when the
//! flow needs it (to a floating IP: destination NAT; from a port to an address only its
//! floating network reaches: source NAT), evaluates policy for both directions
//! ([`crate::policy::evaluate`]) and returns the forward and reverse entries to install.
//! ECMP members are chosen by the pipeline (by flow hash, pinned in the flow).
//!
//! The reverse key is the one the reply is looked up with: in the VRF of the port the
//! reply comes from (the destination port for a local destination, else the source port:
//! a reply from the fabric is delivered, and keyed, in the receiving port's VRF), with the
//! addresses the reply carries (after translation).

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use cirrus_dataplane::flow::{FlowDecision, FlowKey, FlowSpec, Upcall};
use cirrus_dataplane::wire::IpProtocol;

use crate::config::port::FipDirection;
use crate::flow_context::{AddrInfo, FipCtx, FlowContext, LocalAddr, PortCtx};
use crate::policy::{EvalOpts, Header, Layer, Outcome, PortRules, Side, Verdict, evaluate};
use crate::upcall_frame::{self, FirstPacket};

/// Why a flow was refused before or by policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The frame's source MAC is not the port's.
    SourceMac,
    /// Neither end is a local port the agent knows.
    UnknownPort,
    /// No route for the destination (in the port's network or any of its floating
    /// networks).
    NoRoute,
    /// The first packet could not be read.
    Malformed,
    /// A policy layer denied, naming its rule.
    Policy(Layer, Arc<str>),
}

impl Refusal {
    /// Counter name.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::SourceMac => "source-mac-mismatch",
            Refusal::UnknownPort => "unknown-port",
            Refusal::NoRoute => "no-route",
            Refusal::Malformed => "malformed",
            Refusal::Policy(Layer::NetworkPolicy, _) => "network-policy",
            Refusal::Policy(Layer::SecurityGroup, _) => "security-group",
            Refusal::Policy(Layer::Firewall, _) => "firewall-policy",
        }
    }
}

/// The decision and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub decision: FlowDecision,
    /// Set when the forward direction is dropped.
    pub refused: Option<Refusal>,
    /// The rule that drops the reply direction when only that direction is dropped.
    pub reverse_refused: Option<Refusal>,
    /// Translation applied: the floating IP.
    pub nat: Option<IpAddr>,
    /// The rule of each layer that passed an allowed flow; filled only while flow export
    /// is on ([`crate::flow_export::rules_wanted`]).
    pub allowed_by: Vec<(Layer, Arc<str>)>,
}

/// What a decision is about: the held entry, its key, where it came in, and what its
/// first packet said.
#[derive(Debug, Clone, Copy)]
pub struct Miss {
    pub index: u32,
    pub key: FlowKey,
    pub ingress: cirrus_dataplane::tables::IfIndex,
    pub first: FirstPacket,
}

fn drop_only(up: &Miss, why: Refusal) -> Decided {
    Decided {
        decision: FlowDecision {
            index: up.index,
            key: up.key,
            forward: FlowSpec::drop(),
            reverse: None,
        },
        refused: Some(why),
        reverse_refused: None,
        nat: None,
        allowed_by: Vec::new(),
    }
}

/// Addresses and ports of the reply direction.
fn reply_key(vrf: u16, k: &FlowKey, src: IpAddr, dst: IpAddr) -> FlowKey {
    FlowKey::new(vrf, k.proto(), src, dst, k.dport(), k.sport())
}

fn side<'a>(addr: IpAddr, port: u16, info: &'a AddrInfo) -> Side<'a> {
    Side {
        addr,
        port,
        networks: &info.networks,
        security_groups: &info.security_groups,
        tags: &info.tags,
    }
}

static UNKNOWN: AddrInfo = AddrInfo {
    networks: Vec::new(),
    security_groups: Vec::new(),
    tags: Vec::new(),
};

fn gateway_service(proto: u8, dport: u16, sport: u16, dst: IpAddr, p: &PortCtx) -> bool {
    let icmp_or_dns = proto == IpProtocol::ICMP.0
        || proto == IpProtocol::ICMPV6.0
        || (proto == IpProtocol::UDP.0 && (dport == 53 || sport == 53 || dport == 67))
        || (proto == IpProtocol::TCP.0 && dport == 53);
    icmp_or_dns && p.services.contains(&dst)
}

/// Rules of a port for a flow translated through floating IP `f`: the floating network's
/// ACL instead of the port's own network's.
fn with_fip(p: &PortCtx, f: &FipCtx) -> PortRules {
    PortRules {
        network_acl: f.network_acl.clone(),
        ..p.rules.clone()
    }
}

struct Plan<'a> {
    h: Header<'a>,
    src: Option<Cow<'a, PortRules>>,
    dst: Option<Cow<'a, PortRules>>,
    opts: EvalOpts,
    fwd: FlowSpec,
    rev_key: FlowKey,
    rev: FlowSpec,
    nat: Option<IpAddr>,
}

fn finish(up: &Miss, plan: Plan<'_>) -> Decided {
    let Outcome { forward, reverse } =
        evaluate(&plan.h, plan.src.as_deref(), plan.dst.as_deref(), plan.opts);
    let allowed_by = if forward.allowed() && (crate::flow_export::rules_wanted() || EXPLAIN.get()) {
        crate::policy::allowed_by::allowed_by(
            &plan.h,
            plan.src.as_deref(),
            plan.dst.as_deref(),
            plan.opts,
        )
    } else {
        Vec::new()
    };
    let refusal = |v: &Verdict| match v {
        Verdict::Allow => None,
        Verdict::Deny { layer, rule } => Some(Refusal::Policy(*layer, rule.clone())),
    };
    let fwd = if forward.allowed() {
        plan.fwd
    } else {
        FlowSpec::drop()
    };
    let rev = if reverse.allowed() {
        plan.rev
    } else {
        FlowSpec::drop()
    };
    Decided {
        decision: FlowDecision {
            index: up.index,
            key: up.key,
            forward: fwd,
            reverse: Some((plan.rev_key, rev)),
        },
        refused: refusal(&forward),
        reverse_refused: if forward.allowed() {
            refusal(&reverse)
        } else {
            None
        },
        nat: plan.nat,
        allowed_by,
    }
}

/// Decides the flow of `up`.
pub fn decide(ctx: &FlowContext, up: &Upcall) -> Decided {
    let first = if up.ingress == ctx.fabric_ifindex {
        upcall_frame::from_fabric(&up.frame)
    } else {
        upcall_frame::from_workload(&up.frame)
    };
    let miss = Miss {
        index: up.index,
        key: up.key,
        ingress: up.ingress,
        first: first.unwrap_or(FirstPacket {
            smac: None,
            label: None,
            vni: None,
            tcp: None,
        }),
    };
    if first.is_none() {
        return drop_only(&miss, Refusal::Malformed);
    }
    decide_miss(ctx, &miss)
}

thread_local! {
    /// Set while [`decide_explained`] decides: the passing rules are wanted.
    static EXPLAIN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Decides as [`decide_miss`] does, always naming the rules that passed (`trace`).
pub fn decide_explained(ctx: &FlowContext, up: &Miss) -> Decided {
    EXPLAIN.set(true);
    let d = decide_miss(ctx, up);
    EXPLAIN.set(false);
    d
}

/// Decides a flow from what its first packet said.
pub fn decide_miss(ctx: &FlowContext, up: &Miss) -> Decided {
    if up.ingress == ctx.fabric_ifindex {
        from_fabric(ctx, up)
    } else {
        from_port(ctx, up)
    }
}

fn from_port(ctx: &FlowContext, up: &Miss) -> Decided {
    let k = &up.key;
    let Some(p) = ctx.ports.get(&up.ingress) else {
        return drop_only(up, Refusal::UnknownPort);
    };
    let first = up.first;
    if p.check_mac && first.smac != Some(p.mac) {
        return drop_only(up, Refusal::SourceMac);
    }
    let (src, dst, proto) = (k.src(), k.dst(), k.proto().0);
    let opts = EvalOpts {
        tcp_ack: upcall_frame::is_tcp_ack(first.tcp),
        gateway_service: gateway_service(proto, k.dport(), k.sport(), dst, p),
    };
    let vrf = k.vrf();
    if opts.gateway_service {
        // ICMP/DNS to the network's gateway or DNS address: answered by the agent.
        return finish(
            up,
            Plan {
                h: Header {
                    proto,
                    src: side(src, k.sport(), &p.info),
                    dst: side(dst, k.dport(), &UNKNOWN),
                },
                src: None,
                dst: None,
                opts,
                fwd: FlowSpec::forward(vrf),
                rev_key: reply_key(vrf, k, dst, src),
                rev: FlowSpec::forward(vrf),
                nat: None,
            },
        );
    }
    // A local destination: an address of a port on this vrouter in this VRF, or reached
    // through a route whose only path is a local port (leaked from another network).
    let local = match ctx.local.get(&(vrf, dst)) {
        Some(l) => Some(*l),
        None => ctx
            .vrfs
            .get(&vrf)
            .and_then(|t| t.lookup_local(dst))
            .and_then(|(_, q)| q)
            .map(LocalAddr::Own),
    };
    match local {
        Some(LocalAddr::Own(q)) => {
            let Some(qp) = ctx.ports.get(&q) else {
                return drop_only(up, Refusal::UnknownPort);
            };
            return finish(
                up,
                Plan {
                    h: Header {
                        proto,
                        src: side(src, k.sport(), &p.info),
                        dst: side(dst, k.dport(), &qp.info),
                    },
                    src: Some(Cow::Borrowed(&p.rules)),
                    dst: Some(Cow::Borrowed(&qp.rules)),
                    opts,
                    fwd: FlowSpec::forward(vrf),
                    rev_key: reply_key(qp.vrf, k, dst, src),
                    rev: FlowSpec::forward(qp.vrf),
                    nat: None,
                },
            );
        }
        Some(LocalAddr::Floating(q, i)) => {
            // To a floating IP of a local port: translate the destination.
            let Some(qp) = ctx.ports.get(&q) else {
                return drop_only(up, Refusal::UnknownPort);
            };
            let f = &qp.fips[i];
            if f.direction == FipDirection::Egress {
                return drop_only(up, Refusal::NoRoute);
            }
            return finish(
                up,
                Plan {
                    h: Header {
                        proto,
                        src: side(src, k.sport(), &p.info),
                        dst: side(f.fixed, k.dport(), &qp.info),
                    },
                    src: Some(Cow::Borrowed(&p.rules)),
                    dst: Some(Cow::Owned(with_fip(qp, f))),
                    opts,
                    fwd: FlowSpec {
                        nat_dst: true,
                        ..FlowSpec::forward(qp.vrf)
                    },
                    rev_key: reply_key(qp.vrf, k, f.fixed, src),
                    rev: FlowSpec {
                        nat_src: true,
                        ..FlowSpec::forward(vrf)
                    },
                    nat: Some(f.addr),
                },
            );
        }
        None => {}
    }
    // Routed in the port's own network.
    if let Some(info) = ctx.vrfs.get(&vrf).and_then(|t| t.lookup(dst)) {
        return finish(
            up,
            Plan {
                h: Header {
                    proto,
                    src: side(src, k.sport(), &p.info),
                    dst: side(dst, k.dport(), info),
                },
                src: Some(Cow::Borrowed(&p.rules)),
                dst: None,
                opts,
                fwd: FlowSpec::forward(vrf),
                rev_key: reply_key(vrf, k, dst, src),
                rev: FlowSpec::forward(vrf),
                nat: None,
            },
        );
    }
    // Reachable only from a floating network: translate the source.
    for f in &p.fips {
        if f.direction == FipDirection::Ingress || f.fixed != src {
            continue;
        }
        let Some(info) = ctx.vrfs.get(&f.vrf).and_then(|t| t.lookup(dst)) else {
            continue;
        };
        // The reply comes from the fabric (keyed in this port's VRF) or from a local
        // port of the floating network (keyed in its VRF).
        let (rvrf, dst_rules) = match ctx.local.get(&(f.vrf, dst)) {
            Some(&LocalAddr::Own(q)) => match ctx.ports.get(&q) {
                Some(qp) => (qp.vrf, Some(Cow::Borrowed(&qp.rules))),
                None => (vrf, None),
            },
            _ => (vrf, None),
        };
        return finish(
            up,
            Plan {
                h: Header {
                    proto,
                    src: side(src, k.sport(), &p.info),
                    dst: side(dst, k.dport(), info),
                },
                src: Some(Cow::Owned(with_fip(p, f))),
                dst: dst_rules,
                opts,
                fwd: FlowSpec {
                    nat_src: true,
                    ..FlowSpec::forward(f.vrf)
                },
                rev_key: reply_key(rvrf, k, dst, f.addr),
                rev: FlowSpec {
                    nat_dst: true,
                    ..FlowSpec::forward(vrf)
                },
                nat: Some(f.addr),
            },
        );
    }
    drop_only(up, Refusal::NoRoute)
}

fn from_fabric(ctx: &FlowContext, up: &Miss) -> Decided {
    let k = &up.key;
    let first = up.first;
    let (src, dst, proto, vrf) = (k.src(), k.dst(), k.proto().0, k.vrf());
    let opts = EvalOpts {
        tcp_ack: upcall_frame::is_tcp_ack(first.tcp),
        gateway_service: false,
    };
    // The receiving port: by label, else by address in the flow's VRF.
    let by_label = first.label.and_then(|l| ctx.by_label.get(&l)).copied();
    let local = ctx.local.get(&(vrf, dst)).copied();
    let q = match (by_label, local) {
        (Some(q), _) => q,
        (None, Some(LocalAddr::Own(q) | LocalAddr::Floating(q, _))) => q,
        (None, None) => return drop_only(up, Refusal::UnknownPort),
    };
    let Some(qp) = ctx.ports.get(&q) else {
        return drop_only(up, Refusal::UnknownPort);
    };
    // To one of the port's floating IPs: translate the destination.
    if let Some(f) = qp.fips.iter().find(|f| f.addr == dst)
        && f.direction != FipDirection::Egress
    {
        let info = ctx
            .vrfs
            .get(&f.vrf)
            .and_then(|t| t.lookup(src))
            .map(|i| &**i)
            .unwrap_or(&UNKNOWN);
        return finish(
            up,
            Plan {
                h: Header {
                    proto,
                    src: side(src, k.sport(), info),
                    dst: side(f.fixed, k.dport(), &qp.info),
                },
                src: None,
                dst: Some(Cow::Owned(with_fip(qp, f))),
                opts,
                fwd: FlowSpec {
                    nat_dst: true,
                    ..FlowSpec::forward(qp.vrf)
                },
                rev_key: reply_key(qp.vrf, k, f.fixed, src),
                rev: FlowSpec {
                    nat_src: true,
                    ..FlowSpec::forward(f.vrf)
                },
                nat: Some(f.addr),
            },
        );
    }
    let info = ctx
        .vrfs
        .get(&vrf)
        .and_then(|t| t.lookup(src))
        .map(|i| &**i)
        .unwrap_or(&UNKNOWN);
    finish(
        up,
        Plan {
            h: Header {
                proto,
                src: side(src, k.sport(), info),
                dst: side(dst, k.dport(), &qp.info),
            },
            src: None,
            dst: Some(Cow::Borrowed(&qp.rules)),
            opts,
            fwd: FlowSpec::forward(vrf),
            rev_key: reply_key(vrf, k, dst, src),
            rev: FlowSpec::forward(vrf),
            nat: None,
        },
    )
}

#[cfg(test)]
#[path = "flow_setup_tests.rs"]
pub(crate) mod tests;
