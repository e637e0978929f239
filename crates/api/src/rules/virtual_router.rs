//! A vrouter's links to IPAMs (Contrail's `virtual_router.py`): the IPAM is a flat-subnet one;
//! the link names allocation pools, each one a pool that one of the IPAM's subnets marks
//! `vrouter_specific_pool`, and none that another vrouter's link to that IPAM names; an update
//! may not take away pools that hold instance IPs given out through this vrouter.

use std::net::IpAddr;

use serde_json::Value;

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

/// A pool as (start, end).
type Pool = (IpAddr, IpAddr);

fn pools(list: Option<&Value>) -> Vec<Pool> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some((
                p.get("start")?.as_str()?.parse().ok()?,
                p.get("end")?.as_str()?.parse().ok()?,
            ))
        })
        .collect()
}

/// The IPAM links of a vrouter: (IPAM uuid, the link's pools).
fn links(vr: &Obj) -> Vec<(String, Vec<Pool>)> {
    vr.body
        .get("network_ipam_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let uuid = r.get("uuid")?.as_str()?.to_string();
            Some((uuid, pools(r.pointer("/attr/allocation_pools"))))
        })
        .collect()
}

/// The pools an IPAM's subnets keep for vrouters.
fn vrouter_pools(ipam: &Obj) -> Vec<Pool> {
    ipam.body
        .get("ipam_subnets")
        .and_then(|s| s.get("subnets"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|s| s.get("allocation_pools").and_then(Value::as_array))
        .flatten()
        .filter(|p| p.get("vrouter_specific_pool") == Some(&Value::Bool(true)))
        .filter_map(|p| {
            Some((
                p.get("start")?.as_str()?.parse().ok()?,
                p.get("end")?.as_str()?.parse().ok()?,
            ))
        })
        .collect()
}

fn contains((a, b): Pool, x: IpAddr) -> bool {
    a.is_ipv4() == x.is_ipv4() && a <= x && x <= b
}

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    if old.is_some() && !c.input.contains_key("network_ipam_refs") {
        return Ok(());
    }
    let bad = |m: String| Err(ApiError::bad_request(format!("{}: {m}", c.what)));
    let now = links(new);
    if let Some(old) = old {
        let kept: Vec<Pool> = now.iter().flat_map(|(_, p)| p.clone()).collect();
        let gone: Vec<Pool> = links(old)
            .into_iter()
            .flat_map(|(_, p)| p)
            .filter(|p| !kept.contains(p))
            .collect();
        let addresses = c
            .index
            .back_refs(&new.uuid)
            .filter(|o| o.type_name() == "instance-ip")
            .filter_map(|o| o.body.get("instance_ip_address")?.as_str()?.parse().ok());
        for a in addresses {
            if now.is_empty() {
                return bad(
                    "network_ipam_refs: Cannot Delete allocation pool, IP address in use".into(),
                );
            }
            if gone.iter().any(|p| contains(*p, a)) {
                return bad(format!(
                    "network_ipam_refs: Cannot Delete allocation pool, {a} in use"
                ));
            }
        }
    }
    for (ipam_uuid, asked) in &now {
        let Some(ipam) = c.index.get(ipam_uuid) else {
            continue;
        };
        if ipam.body.get("ipam_subnet_method").and_then(Value::as_str) != Some("flat-subnet") {
            return bad(format!(
                "network_ipam_refs: Only flat-subnet ipam can be attached to vrouter ({} is not)",
                ipam.fq_str
            ));
        }
        if asked.is_empty() {
            return bad(format!(
                "network_ipam_refs: No allocation-pools for this vrouter on its link to {}",
                ipam.fq_str
            ));
        }
        let kept = vrouter_pools(ipam);
        if let Some((s, e)) = asked.iter().find(|p| !kept.contains(p)) {
            return bad(format!(
                "network_ipam_refs: vrouter allocation-pool start:{s}, end:{e} not in ipam"
            ));
        }
        let others = c
            .index
            .back_refs(ipam_uuid)
            .filter(|o| o.type_name() == "virtual-router" && o.uuid != new.uuid);
        for other in others {
            let theirs: Vec<Pool> = links(other)
                .into_iter()
                .filter(|(u, _)| u == ipam_uuid)
                .flat_map(|(_, p)| p)
                .collect();
            if let Some((s, e)) = asked.iter().find(|p| theirs.contains(p)) {
                return bad(format!(
                    "network_ipam_refs: vrouter allocation-pool start:{s}, end:{e} is used in \
                     other vrouter:{}",
                    other.uuid
                ));
            }
        }
    }
    Ok(())
}
