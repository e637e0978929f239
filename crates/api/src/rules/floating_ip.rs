//! Floating IPs and their pools (Contrail's `floating_ip_pool.py` and `floating_ip.py`): the
//! subnets a pool names are subnets of its network; a floating IP with no project ref counts
//! against (and refers to) the project of its pool's network.

use serde_json::{Value, json};

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

pub fn check_pool(c: &Ctx, _old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    let asked: Vec<&str> = new
        .body
        .get("floating_ip_pool_subnets")
        .and_then(|s| s.get("subnet_uuid"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let Some(vn) = new.parent.as_ref().and_then(|p| c.index.get(&p.uuid)) else {
        return Ok(());
    };
    let on_network: Vec<&str> = vn
        .body
        .get("network_ipam_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.pointer("/attr/ipam_subnets")?.as_array())
        .flatten()
        .filter_map(|s| s.get("subnet_uuid")?.as_str())
        .collect();
    if let Some(missing) = asked.iter().find(|u| !on_network.contains(u)) {
        return Err(ApiError::bad_request(format!(
            "{}: floating_ip_pool_subnets: Subnet {missing} was not found in virtual-network {}",
            c.what, vn.uuid
        )));
    }
    Ok(())
}

pub fn check_ip(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    let in_pool = new
        .parent
        .as_ref()
        .is_some_and(|p| p.type_name == "floating-ip-pool");
    if old.is_some() || !in_pool || new.refs().any(|r| r.to_type == "project") {
        return Ok(());
    }
    let fq = new.fq_name[..2.min(new.fq_name.len())].join(":");
    if let Some(project) = c.index.by_fq_name("project", &fq) {
        new.body.insert(
            "project_refs".into(),
            json!([{"to": project.fq_name, "uuid": project.uuid, "attr": null}]),
        );
    }
    Ok(())
}
