//! Deciding one flow as Contrail's agent does (`FlowEntry::DoPolicy`/`SessionMatch`), for
//! both of its directions at once:
//!
//! 1. **Network policy**: the ACL of the network of each local end (the source port's for
//!    a flow leaving a workload, the destination port's for one arriving; both for a flow
//!    between two local ports) must pass the direction evaluated; a network without an
//!    ACL passes; an ACL that matches nothing denies. The reply direction is evaluated on
//!    its own header, so a one-way (`>`) rule lets requests through and not replies.
//! 2. **Security groups**: the source port's egress ACLs and the destination port's ingress
//!    ACLs; reflexive (the reply direction gets the forward result). For a flow first seen
//!    on a TCP segment without SYN (an established connection after a restart), the flow
//!    passes when either direction would have been allowed to open it.
//! 3. **Firewall policies** of the ports involved, reflexive likewise.
//!
//! ICMP and DNS to or from the network's gateway or DNS address always pass (Contrail's
//! `DEFAULT_GW_ICMP_OR_DNS`). The first layer that denies names the rule that denied.

use std::sync::Arc;

use super::acl::{self, Acl, RuleMatch};
use super::firewall::{self, FwPolicy};
use super::header::Header;

/// Rule id of a denial no rule matched for (the list had rules, none matched).
pub const IMPLICIT_DENY: &str = "implicit-deny";
/// Rule id of a pass without rules (nothing configured for that layer).
pub const IMPLICIT_ALLOW: &str = "implicit-allow";
/// Rule id of ICMP/DNS to or from the gateway.
pub const GATEWAY_ICMP_DNS: &str = "gateway-icmp-or-dns";

/// The policy layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Layer {
    NetworkPolicy,
    SecurityGroup,
    Firewall,
}

/// What applies to one local end of a flow.
#[derive(Debug, Clone, Default)]
pub struct PortRules {
    /// The network's ACL (`None`: the network has none and passes everything).
    pub network_acl: Option<Arc<Acl>>,
    /// Security-group ACLs (`None`: no group rules apply: port security off or no group
    /// with ACLs).
    pub sg_ingress: Option<Vec<Arc<Acl>>>,
    pub sg_egress: Option<Vec<Arc<Acl>>>,
    /// Firewall policies (`None`: no application-policy-set applies).
    pub firewall: Option<Vec<Arc<FwPolicy>>>,
}

/// A direction's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny { layer: Layer, rule: Arc<str> },
}

impl Verdict {
    pub fn allowed(&self) -> bool {
        matches!(self, Verdict::Allow)
    }
}

/// Both directions' outcomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub forward: Verdict,
    pub reverse: Verdict,
}

/// Switches of one evaluation.
#[derive(Debug, Clone, Copy, Default)]
pub struct EvalOpts {
    /// The flow was first seen on a TCP segment without SYN (see the module doc).
    pub tcp_ack: bool,
    /// The flow is ICMP or DNS to or from the network's gateway or DNS address.
    pub gateway_service: bool,
}

/// Evaluates every ACL of `acls` on `h`: the first denial, or `None` when all pass.
fn network_pass(acls: &[Option<&Arc<Acl>>], h: &Header<'_>) -> Option<Arc<str>> {
    for a in acls.iter().flatten() {
        match a.first_match(h) {
            Some(RuleMatch { pass: true, .. }) => {}
            Some(RuleMatch { pass: false, rule }) => return Some(rule),
            None => return Some(implicit(&a.uuid)),
        }
    }
    None
}

fn implicit(acl: &str) -> Arc<str> {
    Arc::from(format!("{IMPLICIT_DENY}:{acl}").as_str())
}

/// One list of a reflexive layer on one header: `Ok` passes, `Err(rule)` denies.
type Check<'a> = (Option<&'a [Arc<Acl>]>, Option<&'a [Arc<FwPolicy>]>);

fn check(list: Check<'_>, h: &Header<'_>) -> Result<(), Arc<str>> {
    let m = match list {
        (Some(acls), _) => acl::first_match_in(acls, h),
        (_, Some(fw)) => firewall::first_match_in(fw, h),
        (None, None) => return Ok(()),
    };
    match m {
        Some(RuleMatch { pass: true, .. }) => Ok(()),
        Some(RuleMatch { pass: false, rule }) => Err(rule),
        None => Err(Arc::from(IMPLICIT_DENY)),
    }
}

/// A reflexive layer (security groups, firewall): `fwd` lists are checked on `h`, `rev`
/// lists on the reply header when the flow is a TCP-ACK flow.
fn session(
    fwd: [Check<'_>; 2],
    rev: [Check<'_>; 2],
    h: &Header<'_>,
    tcp_ack: bool,
) -> Result<(), Arc<str>> {
    let forward = fwd.iter().try_for_each(|c| check(*c, h));
    if forward.is_ok() || !tcp_ack {
        return forward;
    }
    let r = h.reversed();
    if rev.iter().try_for_each(|c| check(*c, &r)).is_ok() {
        return Ok(());
    }
    forward
}

fn sg(p: Option<&PortRules>, egress: bool) -> Check<'_> {
    match p {
        Some(p) if egress => (p.sg_egress.as_deref(), None),
        Some(p) => (p.sg_ingress.as_deref(), None),
        None => (None, None),
    }
}

fn fw(p: Option<&PortRules>) -> Check<'_> {
    (None, p.and_then(|p| p.firewall.as_deref()))
}

/// Decides a flow between `src` and `dst` (each the local port's rules, or `None` for a
/// remote end) whose forward direction is `h`.
pub fn evaluate(
    h: &Header<'_>,
    src: Option<&PortRules>,
    dst: Option<&PortRules>,
    opts: EvalOpts,
) -> Outcome {
    if opts.gateway_service {
        return Outcome {
            forward: Verdict::Allow,
            reverse: Verdict::Allow,
        };
    }
    let mut acls: [Option<&Arc<Acl>>; 2] = [None, None];
    for (slot, p) in acls.iter_mut().zip([src, dst]) {
        *slot = p.and_then(|p| p.network_acl.as_ref());
    }
    let deny = |layer, rule| Verdict::Deny { layer, rule };
    let fwd_net = network_pass(&acls, h);
    let rev_net = network_pass(&acls, &h.reversed());
    if let Some(rule) = fwd_net {
        // Contrail stops at the network policy: the reply direction is dropped with the
        // same rule unless its own evaluation names another.
        let reverse = match rev_net {
            Some(r) => deny(Layer::NetworkPolicy, r),
            None => deny(Layer::NetworkPolicy, rule.clone()),
        };
        return Outcome {
            forward: deny(Layer::NetworkPolicy, rule),
            reverse,
        };
    }
    let layers = [
        (
            Layer::SecurityGroup,
            [sg(src, true), sg(dst, false)],
            [sg(dst, true), sg(src, false)],
        ),
        (Layer::Firewall, [fw(src), fw(dst)], [fw(dst), fw(src)]),
    ];
    for (layer, fwd, rev) in layers {
        if let Err(rule) = session(fwd, rev, h, opts.tcp_ack) {
            return Outcome {
                forward: deny(layer, rule.clone()),
                reverse: deny(layer, rule),
            };
        }
    }
    Outcome {
        forward: Verdict::Allow,
        reverse: match rev_net {
            Some(r) => deny(Layer::NetworkPolicy, r),
            None => Verdict::Allow,
        },
    }
}
