//! Virtual networks (Contrail's `virtual_network.py`, the rules besides subnets, ids and route
//! targets): `is_shared` and `router_external` kept in step with `perms2.global_access` as
//! Neutron expects; provider networks (a provider stays one, its segmentation id and physical
//! network are set whole and then fixed; a network links to one provider network at most, a
//! provider to none); multi-policy service chains without both-way external route targets.

use serde_json::{Value, json};

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

const RWX: i64 = 7;
const RX: i64 = 5;

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    sharing(c, old, new)?;
    provider(c, old, new)?;
    multi_policy_chains(c, new)
}

fn given<'a>(c: &'a Ctx, field: &str) -> Option<&'a Value> {
    c.input.get(field).filter(|v| !v.is_null())
}

fn set_global_access(obj: &mut Obj, access: i64) {
    if let Some(p) = obj.body.get_mut("perms2").and_then(Value::as_object_mut) {
        p.insert("global_access".into(), json!(access));
    }
}

/// Neutron's `shared` is VNC's global read-write access, its `router:external` global read.
fn sharing(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    let access = given(c, "perms2")
        .and_then(|p| p.get("global_access"))
        .and_then(Value::as_i64);
    let shared = given(c, "is_shared").and_then(Value::as_bool);
    let external = given(c, "router_external").and_then(Value::as_bool);
    if old.is_none() {
        let stored_access = new
            .body
            .get("perms2")
            .and_then(|p| p.get("global_access"))
            .and_then(Value::as_i64);
        if stored_access == Some(RWX) {
            new.body.insert("is_shared".into(), json!(true));
        } else if shared == Some(true) {
            set_global_access(new, RWX);
        } else {
            new.body.insert("is_shared".into(), json!(false));
        }
        return Ok(());
    }
    if access.is_none() && shared.is_none() && external.is_none() {
        return Ok(());
    }
    let bad = |m: String| Err(ApiError::bad_request(format!("{}: {m}", c.what)));
    if let (Some(a), Some(s)) = (access, shared)
        && s != (a == RWX)
        && external != Some(true)
    {
        return bad(format!(
            "is_shared: Inconsistent is_shared ({}) and global_access ({a})",
            py_bool(s)
        ));
    }
    match (access, external) {
        (Some(a), Some(e)) => {
            if e != (a == RX) && shared != Some(true) {
                return bad(format!(
                    "router_external: Inconsistent router_external ({}) and global_access ({a})",
                    py_bool(e)
                ));
            }
        }
        (Some(a), None) => {
            new.body.insert("is_shared".into(), json!(a != 0));
        }
        (None, _) => {
            let a = if shared == Some(true) {
                RWX
            } else if external == Some(true) {
                RX
            } else {
                0
            };
            set_global_access(new, a);
        }
    }
    Ok(())
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

fn is_provider(o: &Obj) -> bool {
    o.body.get("is_provider_network").and_then(Value::as_bool) == Some(true)
}

fn provider(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    let bad = |m: String| ApiError::bad_request(format!("{}: {m}", c.what));
    if let Some(o) = old
        && given(c, "is_provider_network").is_some()
        && is_provider(o)
        && !is_provider(new)
    {
        return Err(bad(format!(
            "is_provider_network: Update is_provider_network property from True to False of \
             VN ({}) is not allowed",
            o.uuid
        )));
    }
    if let Some(props) = given(c, "provider_properties").cloned() {
        let segment = props.get("segmentation_id").filter(|v| !v.is_null());
        let physnet = props
            .get("physical_network")
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()));
        match old {
            None => {
                if segment.is_none() {
                    return Err(bad(
                        "provider_properties: Segmenation ID must be configured to create".into(),
                    ));
                }
                if physnet.is_none() {
                    return Err(bad(
                        "provider_properties: Physical Network must be configured to create".into(),
                    ));
                }
            }
            // Updates are refused with 409, as Contrail does.
            Some(o) if is_provider(o) => {
                let was = o
                    .body
                    .get("provider_properties")
                    .cloned()
                    .unwrap_or(json!({}));
                let merged = json!({
                    "segmentation_id": segment.or(was.get("segmentation_id")),
                    "physical_network": physnet.or(was.get("physical_network")),
                });
                let same = |k: &str| merged.get(k) == was.get(k).or(Some(&Value::Null));
                if !same("segmentation_id") || !same("physical_network") {
                    return Err(ApiError::conflict(format!(
                        "{}: provider_properties: Update provider_details property of provider \
                         VN ({}) is not allowed",
                        c.what, o.uuid
                    )));
                }
                new.body.insert("provider_properties".into(), merged);
            }
            Some(_) => {
                let missing = if segment.is_none() {
                    Some("Segmenation ID")
                } else if physnet.is_none() {
                    Some("Physical Network")
                } else {
                    None
                };
                if let Some(m) = missing {
                    return Err(ApiError::conflict(format!(
                        "{}: provider_properties: {m} must be configured to update",
                        c.what
                    )));
                }
            }
        }
    }
    linked_providers(c, new)
}

/// A network's links to other networks: one, to a provider, unless it is a provider itself,
/// which links to no provider.
fn linked_providers(c: &Ctx, new: &Obj) -> ApiResult<()> {
    if given(c, "virtual_network_refs").is_none() {
        return Ok(());
    }
    let linked: Vec<&str> = new
        .refs()
        .filter(|r| r.to_type == "virtual-network")
        .map(|r| r.uuid)
        .collect();
    if linked.is_empty() {
        return Ok(());
    }
    let bad = |m: String| {
        Err(ApiError::bad_request(format!(
            "{}: virtual_network_refs: {m}",
            c.what
        )))
    };
    let providers = linked
        .iter()
        .filter(|u| c.index.get(u).is_some_and(|o| is_provider(o)))
        .count();
    if is_provider(new) {
        if providers > 0 {
            return bad(format!(
                "Provider VN ({}) can not connect to another provider VN ({linked:?})",
                new.uuid
            ));
        }
        return Ok(());
    }
    if linked.len() != 1 {
        return bad(format!(
            "Non Provider VN ({}) can connect to one provider VN but trying to connect to VN \
             ({linked:?})",
            new.uuid
        ));
    }
    if providers != 1 {
        return bad(format!(
            "Non Provider VN ({}) can connect only to one provider VN but not ({linked:?})",
            new.uuid
        ));
    }
    Ok(())
}

fn targets<'a>(o: &'a Obj, field: &str) -> Vec<&'a str> {
    o.body
        .get(field)
        .and_then(|l| l.get("route_target"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Multi-policy service chains cannot run with route targets both imported and exported
/// (409).
fn multi_policy_chains(c: &Ctx, new: &Obj) -> ApiResult<()> {
    let touched = [
        "multi_policy_service_chains_enabled",
        "route_target_list",
        "import_route_target_list",
        "export_route_target_list",
    ]
    .iter()
    .any(|f| c.input.contains_key(*f));
    if !touched
        || new
            .body
            .get("multi_policy_service_chains_enabled")
            .and_then(Value::as_bool)
            != Some(true)
    {
        return Ok(());
    }
    let imports = targets(new, "import_route_target_list");
    let both_ways = targets(new, "export_route_target_list")
        .iter()
        .any(|t| imports.contains(t));
    if !targets(new, "route_target_list").is_empty() || both_ways {
        return Err(ApiError::conflict(format!(
            "{}: multi_policy_service_chains_enabled: Multi policy service chains are not \
             supported, with both import export external route targets",
            c.what
        )));
    }
    Ok(())
}
