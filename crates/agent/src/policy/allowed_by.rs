//! Which rules let an allowed flow through, for flow records (`nw_ace_uuid`,
//! `sg_rule_uuid`, the firewall rule): per layer, the first rule that matched the forward
//! header and passed. Computed only when flow export is on (a second match per allowed
//! flow setup), so the decision itself stays as [`super::evaluate`] makes it.

use std::sync::Arc;

use super::acl::{self, RuleMatch};
use super::firewall;
use super::header::Header;
use super::session::{EvalOpts, GATEWAY_ICMP_DNS, Layer, PortRules};

fn passed(m: Option<RuleMatch>) -> Option<Arc<str>> {
    m.filter(|m| m.pass).map(|m| m.rule)
}

/// The passing rule of each layer that has rules for this flow.
pub fn allowed_by(
    h: &Header<'_>,
    src: Option<&PortRules>,
    dst: Option<&PortRules>,
    opts: EvalOpts,
) -> Vec<(Layer, Arc<str>)> {
    if opts.gateway_service {
        return vec![(Layer::NetworkPolicy, Arc::from(GATEWAY_ICMP_DNS))];
    }
    let mut out = Vec::new();
    for p in [src, dst].into_iter().flatten() {
        if let Some(r) = p
            .network_acl
            .as_ref()
            .and_then(|a| passed(a.first_match(h)))
        {
            out.push((Layer::NetworkPolicy, r));
            break;
        }
    }
    let sg = [
        src.and_then(|p| p.sg_egress.as_deref()),
        dst.and_then(|p| p.sg_ingress.as_deref()),
    ];
    if let Some(r) = sg
        .into_iter()
        .flatten()
        .find_map(|acls| passed(acl::first_match_in(acls, h)))
    {
        out.push((Layer::SecurityGroup, r));
    }
    if let Some(r) = [src, dst]
        .into_iter()
        .flatten()
        .filter_map(|p| p.firewall.as_deref())
        .find_map(|fw| passed(firewall::first_match_in(fw, h)))
    {
        out.push((Layer::Firewall, r));
    }
    out
}
