//! Quotas: Neutron's per-tenant limits are the project's `quota` (QuotaType), the ones the api
//! crate enforces on every create, with the operator's `--quota-default`s under them; -1 is
//! unlimited. Only an admin changes them (PUT), or resets them to the defaults (DELETE).

use serde_json::{Map, Value, json};

use crate::attrs::{Attr, Op, Ty, parse, rw};
use crate::ctx::{Ctx, dashed};
use crate::error::{NResult, NeutronError};
use crate::vnc;

/// Neutron's quota names and the QuotaType fields behind them.
pub const NAMES: [(&str, &str); 7] = [
    ("network", "virtual_network"),
    ("subnet", "subnet"),
    ("port", "virtual_machine_interface"),
    ("router", "logical_router"),
    ("floatingip", "floating_ip"),
    ("security_group", "security_group"),
    ("security_group_rule", "security_group_rule"),
];

const ATTRS: &[Attr] = &[
    rw("network", Ty::Int),
    rw("subnet", Ty::Int),
    rw("port", Ty::Int),
    rw("router", Ty::Int),
    rw("floatingip", Ty::Int),
    rw("security_group", Ty::Int),
    rw("security_group_rule", Ty::Int),
];

fn project(ctx: &Ctx, tenant: &str) -> NResult<std::sync::Arc<cirrus_api::object::Obj>> {
    let uuid = dashed(tenant).ok_or_else(|| NeutronError::not_found("Project", tenant))?;
    if !ctx.caller.admin && ctx.caller.project_uuid.as_deref() != Some(uuid.as_str()) {
        return Err(NeutronError::Forbidden(
            "rule:get_quota is disallowed by policy".into(),
        ));
    }
    vnc::get(ctx, "project", "Project", &uuid)
}

pub fn show(ctx: &Ctx, tenant: &str) -> NResult<Value> {
    let p = project(ctx, tenant)?;
    let mut m = Map::new();
    for (n, k) in NAMES {
        m.insert(
            n.into(),
            json!(ctx.state.quota_defaults.limit(&p, k).unwrap_or(-1)),
        );
    }
    Ok(Value::Object(m))
}

pub fn list(ctx: &Ctx) -> NResult<Vec<Value>> {
    if !ctx.caller.admin {
        return Err(NeutronError::Forbidden(
            "rule:get_quota is disallowed by policy".into(),
        ));
    }
    let projects: Vec<_> = vnc::list(ctx, "project")
        .into_iter()
        .filter(|p| {
            p.body
                .get("quota")
                .is_some_and(|q| q.as_object().is_some_and(|m| !m.is_empty()))
        })
        .collect();
    projects
        .iter()
        .map(|p| {
            let t = crate::ctx::dashless(&p.uuid);
            let mut v = show(ctx, &t)?;
            v["tenant_id"] = json!(t);
            v["project_id"] = json!(t);
            Ok(v)
        })
        .collect()
}

pub async fn update(ctx: &Ctx, tenant: &str, bytes: &[u8]) -> NResult<Value> {
    let body = parse(bytes, "quota", ATTRS, Op::Update)?;
    if !ctx.caller.admin {
        return Err(NeutronError::Forbidden(
            "rule:update_quota is disallowed by policy".into(),
        ));
    }
    let p = project(ctx, tenant)?;
    let mut q = p.body.get("quota").cloned().unwrap_or(json!({}));
    for (n, k) in NAMES {
        if let Some(v) = body.get(n).and_then(Value::as_i64) {
            if v < -1 {
                return Err(NeutronError::invalid(n, format!("'{v}' should be >= -1")));
            }
            q[k] = json!(v);
        }
    }
    let mut input = Map::new();
    input.insert("quota".into(), q);
    vnc::update(ctx, "project", &p.uuid, input).await?;
    show(ctx, tenant)
}

pub async fn delete(ctx: &Ctx, tenant: &str) -> NResult<()> {
    if !ctx.caller.admin {
        return Err(NeutronError::Forbidden(
            "rule:delete_quota is disallowed by policy".into(),
        ));
    }
    let p = project(ctx, tenant)?;
    let mut q = p.body.get("quota").cloned().unwrap_or(json!({}));
    if let Some(m) = q.as_object_mut() {
        for (_, k) in NAMES {
            m.remove(k);
        }
    }
    let mut input = Map::new();
    input.insert("quota".into(), q);
    vnc::update(ctx, "project", &p.uuid, input).await?;
    Ok(())
}
