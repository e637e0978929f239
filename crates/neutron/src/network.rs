//! Networks: a Neutron network is a virtual-network under the tenant's project (name in
//! `display_name`, fq_name the name or `<name>-<uuid>` on a clash), `admin_state_up` in
//! `id_perms.enable`, `shared` in `is_shared`, `router:external` in `router_external` (with
//! the floating-ip-pool Contrail keeps under an external network), `port_security_enabled`, and
//! the MTU (not in the VNC schema) in the annotation `neutron:mtu`.

use cirrus_api::index::Index;
use cirrus_api::object::Obj;
use serde_json::{Map, Value, json};

use crate::attrs::{Attr, Op, Ty, b, parse, rw, s};
use crate::ctx::Ctx;
use crate::error::{NResult, NeutronError};
use crate::{subnet, vnc};

pub const TYPE: &str = "virtual-network";
pub const RESOURCE: &str = "Network";
const MTU_KEY: &str = "neutron:mtu";
const DEFAULT_MTU: i64 = 1500;

const ATTRS: &[Attr] = &[
    rw("admin_state_up", Ty::Bool),
    rw("shared", Ty::Bool),
    rw("router:external", Ty::Bool),
    rw("mtu", Ty::Int),
    rw("port_security_enabled", Ty::Bool),
];

pub fn render(_idx: &Index, o: &Obj) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(o.uuid));
    m.insert("name".into(), json!(vnc::name(o)));
    let up = vnc::enabled(o);
    m.insert("admin_state_up".into(), json!(up));
    // ML2 keeps a network ACTIVE whatever its admin state
    m.insert("status".into(), json!("ACTIVE"));
    let flag = |k: &str| o.body.get(k).and_then(Value::as_bool).unwrap_or(false);
    m.insert("shared".into(), json!(flag("is_shared")));
    m.insert("router:external".into(), json!(flag("router_external")));
    let mtu = vnc::kv(o, "annotations", MTU_KEY)
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(DEFAULT_MTU);
    m.insert("mtu".into(), json!(mtu));
    m.insert(
        "port_security_enabled".into(),
        json!(
            o.body
                .get("port_security_enabled")
                .and_then(Value::as_bool)
                .unwrap_or(true)
        ),
    );
    let subnets: Vec<Value> = subnet::of_network(o)
        .iter()
        .filter_map(|s| s.get("subnet_uuid").cloned())
        .collect();
    m.insert("subnets".into(), Value::Array(subnets));
    m.insert("availability_zone_hints".into(), json!([]));
    m.insert("availability_zones".into(), json!([]));
    m.insert("ipv4_address_scope".into(), Value::Null);
    m.insert("ipv6_address_scope".into(), Value::Null);
    vnc::common(o, &mut m);
    Value::Object(m)
}

fn check_mtu(body: &Map<String, Value>) -> NResult<()> {
    if let Some(m) = body.get("mtu").and_then(Value::as_i64)
        && !(68..=9216).contains(&m)
    {
        return Err(NeutronError::invalid(
            "mtu",
            format!("'{m}' is not in range 68 through 9216"),
        ));
    }
    Ok(())
}

fn admin_only(ctx: &Ctx, body: &Map<String, Value>, op: &str) -> NResult<()> {
    if ctx.caller.admin {
        return Ok(());
    }
    for k in ["shared", "router:external"] {
        if b(body, k) == Some(true) {
            return Err(NeutronError::Forbidden(format!(
                "(rule:{op}_network and rule:{op}_network:{k}) is disallowed by policy"
            )));
        }
    }
    Ok(())
}

/// The VNC properties a Neutron body sets.
fn vnc_props(o: Option<&Obj>, body: &Map<String, Value>, input: &mut Map<String, Value>) {
    if let Some(n) = s(body, "name") {
        input.insert("display_name".into(), json!(n));
    }
    if let Some(p) = vnc::id_perms(body, Some("admin_state_up")) {
        input.insert("id_perms".into(), p);
    }
    if let Some(v) = b(body, "shared") {
        input.insert("is_shared".into(), json!(v));
    }
    if let Some(v) = b(body, "router:external") {
        input.insert("router_external".into(), json!(v));
    }
    if let Some(v) = b(body, "port_security_enabled") {
        input.insert("port_security_enabled".into(), json!(v));
    }
    if let Some(m) = body.get("mtu").and_then(Value::as_i64) {
        let current = o.and_then(|o| o.body.get("annotations"));
        input.insert(
            "annotations".into(),
            vnc::kv_set(current, MTU_KEY, Some(&m.to_string())),
        );
    }
}

pub async fn create(ctx: &Ctx, bytes: &[u8]) -> NResult<Value> {
    let body = parse(bytes, "network", ATTRS, Op::Create)?;
    check_mtu(&body)?;
    admin_only(ctx, &body, "create")?;
    let project = ctx.project_for(&body).await?;
    let pfq = vnc::project_fq(ctx, &project)?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let name = s(&body, "name").unwrap_or("");
    let vname = vnc::free_name(ctx, TYPE, &pfq, name, &uuid);
    let mut input = Map::new();
    let mut fq: Vec<&str> = pfq.split(':').collect();
    fq.push(&vname);
    input.insert("fq_name".into(), json!(fq));
    input.insert("parent_type".into(), json!("project"));
    input.insert("uuid".into(), json!(uuid));
    input.insert("display_name".into(), json!(name));
    let mut perms2 = ctx.perms2_for(&project);
    if b(&body, "router:external") == Some(true) {
        // vnc_openstack: an external network is readable and linkable by every tenant
        perms2["global_access"] = json!(5);
    }
    input.insert("perms2".into(), perms2);
    vnc_props(None, &body, &mut input);
    let o = vnc::create(ctx, TYPE, input).await?;
    if b(&body, "router:external") == Some(true) {
        crate::floatingip::ensure_pool(ctx, &o).await?;
    }
    show(ctx, &o.uuid)
}

pub fn show(ctx: &Ctx, id: &str) -> NResult<Value> {
    let o = vnc::get(ctx, TYPE, RESOURCE, id)?;
    Ok(render(&ctx.state.index(), &o))
}

pub fn list(ctx: &Ctx) -> Vec<Value> {
    let objs = vnc::list(ctx, TYPE);
    let idx = ctx.state.index();
    objs.iter().map(|o| render(&idx, o)).collect()
}

pub async fn update(ctx: &Ctx, id: &str, bytes: &[u8]) -> NResult<Value> {
    let body = parse(bytes, "network", ATTRS, Op::Update)?;
    check_mtu(&body)?;
    admin_only(ctx, &body, "update")?;
    let o = vnc::get(ctx, TYPE, RESOURCE, id)?;
    let mut input = Map::new();
    vnc_props(Some(&o), &body, &mut input);
    if !input.is_empty() {
        vnc::update(ctx, TYPE, id, input).await?;
    }
    if b(&body, "router:external") == Some(true) {
        crate::floatingip::ensure_pool(ctx, &o).await?;
    }
    show(ctx, id)
}

pub async fn delete(ctx: &Ctx, id: &str) -> NResult<()> {
    let o = vnc::get(ctx, TYPE, RESOURCE, id)?;
    let (ports, pools): (Vec<String>, Vec<String>) = {
        let idx = ctx.state.index();
        // oldest first, as Neutron lists them
        let mut ports: Vec<(String, String)> = idx
            .back_refs(&o.uuid)
            .filter(|r| r.type_name() == "virtual-machine-interface")
            .map(|r| {
                let created = r
                    .body
                    .get("id_perms")
                    .and_then(|p| p.get("created"))
                    .and_then(Value::as_str);
                (created.unwrap_or("").to_string(), r.uuid.clone())
            })
            .collect();
        ports.sort();
        let ports = ports.into_iter().map(|(_, u)| u).collect();
        let pools = idx
            .children(&o.uuid)
            .filter(|c| c.type_name() == "floating-ip-pool")
            .map(|c| c.uuid.clone())
            .collect();
        (ports, pools)
    };
    let in_use = || NeutronError::InUse {
        kind: "NetworkInUse",
        message: if ports.is_empty() {
            format!(
                "Unable to complete operation on network {id}. There are one or more ports still in use on the network."
            )
        } else {
            format!(
                "Unable to complete operation on network {id}. There are one or more ports still in use on the network, id for these ports is: {}.",
                ports.join(",")
            )
        },
    };
    if !ports.is_empty() {
        return Err(in_use());
    }
    crate::floatingip::delete_on_network(ctx, &o.uuid).await?;
    for p in pools {
        vnc::delete_companion(ctx, "floating-ip-pool", &p)
            .await
            .map_err(|e| match e {
                NeutronError::Conflict { .. } => in_use(),
                e => e,
            })?;
    }
    vnc::delete(ctx, TYPE, id).await.map_err(|e| match e {
        NeutronError::Conflict { .. } => in_use(),
        e => e,
    })
}
