//! BGP routers (Contrail's `bgp_router.py`): hold time and ASNs in range, the ASN of its
//! sub-cluster, and control-node zones only for control nodes, one at most.

use serde_json::Value;

use super::{Ctx, at, check_asn, check_hold_time};
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

fn param<'a>(o: &'a Obj, name: &str) -> Option<&'a Value> {
    at(o, &["bgp_router_parameters", name]).filter(|v| !v.is_null())
}

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    let bad = |m: String| Err(ApiError::bad_request(format!("{}: {m}", c.what)));
    let changed = |name: &str| old.is_none_or(|o| param(o, name) != param(new, name));
    if changed("hold_time") {
        check_hold_time(c, param(new, "hold_time"))?;
    }
    for name in ["autonomous_system", "local_autonomous_system"] {
        if changed(name) {
            check_asn(c, name, param(new, name))?;
        }
    }
    let asn = param(new, "autonomous_system").and_then(Value::as_i64);
    let sub_cluster = new
        .refs()
        .find(|r| r.to_type == "sub-cluster")
        .and_then(|r| c.index.get(r.uuid));
    if let (Some(sc), Some(asn)) = (sub_cluster, asn.filter(|a| *a != 0))
        && let Some(sc_asn) = sc.body.get("sub_cluster_asn").and_then(Value::as_i64)
        && sc_asn != asn
    {
        return bad(format!(
            "Subcluster asn and bgp asn should be same: sub-cluster {} has {sc_asn}, \
             bgp_router_parameters.autonomous_system is {asn}",
            sc.fq_str
        ));
    }
    let zones = new
        .refs()
        .filter(|r| r.to_type == "control-node-zone")
        .count();
    if zones > 0 {
        if param(new, "router_type").and_then(Value::as_str) != Some("control-node") {
            return bad(
                "BgpRouter type should be 'control-node' to refer control-node-zone".into(),
            );
        }
        if zones > 1 {
            return bad("BgpRouter should refer only one control-node-zone".into());
        }
    }
    Ok(())
}
