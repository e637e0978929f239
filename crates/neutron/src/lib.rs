//! The Neutron v2.0 API served natively over the VNC objects, mapped as Contrail's
//! `vnc_openstack` maps them, so `vnc_api` and Neutron clients see one truth. Callers are
//! identified exactly as on the VNC API (`--auth`, Keystone tokens through the api crate's
//! gate); every write goes through the api crate's `ops`, so its rules, allocations and quotas
//! apply. One module per resource; errors are [`error::NeutronError`], answered as Neutron's
//! `{"NeutronError": {...}}` at the edge.

pub mod attrs;
pub mod bulk;
pub mod ctx;
pub mod error;
pub mod extensions;
pub mod extraroute;
pub mod floatingip;
pub mod network;
pub mod port;
pub mod port_policy;
pub mod query;
pub mod quota;
pub mod router;
pub mod router_gateway;
pub mod security_group;
pub mod sg_ports;
pub mod slaac;
pub mod subnet;
pub mod vnc;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cirrus_api::ApiState;
use serde_json::{Value, json};

use crate::ctx::Ctx;
use crate::error::{NResult, NeutronError};
use crate::query::Query;

type St = State<Arc<ApiState>>;

fn ok(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

fn reply(r: NResult<Response>) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}

/// One member body `{"<member>": ...}` with `fields` applied.
fn member(member: &str, v: Value, raw: Option<&str>) -> NResult<Response> {
    let q = Query::parse(raw)?;
    Ok(ok(
        StatusCode::OK,
        json!({ member: query::select(v, &q.fields) }),
    ))
}

fn collection(ctx: &Ctx, items: Vec<Value>, coll: &str, raw: Option<&str>) -> NResult<Response> {
    let q = Query::parse(raw)?;
    let url = format!("{}/v2.0/{}", ctx.base, coll.replace('_', "-"));
    let url = if coll == "security_group_rules" || coll == "security_groups" {
        format!("{}/v2.0/{coll}", ctx.base).replace('_', "-")
    } else {
        url
    };
    Ok(ok(StatusCode::OK, query::apply(items, &q, coll, &url)?))
}

macro_rules! resource {
    ($modname:ident, $member:literal, $coll:literal, $list:expr, $show:path, $create:path, $update:path, $delete:path) => {
        pub mod $modname {
            use super::*;
            pub async fn list(State(s): St, h: HeaderMap, RawQuery(raw): RawQuery) -> Response {
                reply(async {
                    let ctx = Ctx::new(s, &h).await?;
                    let items = $list(&ctx).await?;
                    collection(&ctx, items, $coll, raw.as_deref())
                }.await)
            }
            pub async fn create(State(s): St, h: HeaderMap, body: Bytes) -> Response {
                reply(async {
                    let ctx = Ctx::new(s, &h).await?;
                    if let Some(items) = bulk::items(&body, $member, $coll)? {
                        let mut made = Vec::new();
                        for it in items {
                            match $create(&ctx, &it).await {
                                Ok(v) => made.push(v),
                                Err(e) => {
                                    for id in bulk::made_ids(&made) {
                                        let _ = $delete(&ctx, &id).await;
                                    }
                                    return Err(e);
                                }
                            }
                        }
                        return Ok(ok(StatusCode::CREATED, json!({ $coll: made })));
                    }
                    let v = $create(&ctx, &body).await?;
                    Ok(ok(StatusCode::CREATED, json!({ $member: v })))
                }.await)
            }
            pub async fn show(State(s): St, h: HeaderMap, Path(id): Path<String>, RawQuery(raw): RawQuery) -> Response {
                reply(async {
                    let ctx = Ctx::new(s, &h).await?;
                    member($member, $show(&ctx, &id)?, raw.as_deref())
                }.await)
            }
            pub async fn update(State(s): St, h: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
                reply(async {
                    let ctx = Ctx::new(s, &h).await?;
                    let v = $update(&ctx, &id, &body).await?;
                    Ok(ok(StatusCode::OK, json!({ $member: v })))
                }.await)
            }
            pub async fn delete(State(s): St, h: HeaderMap, Path(id): Path<String>) -> Response {
                reply(async {
                    let ctx = Ctx::new(s, &h).await?;
                    $delete(&ctx, &id).await?;
                    Ok(StatusCode::NO_CONTENT.into_response())
                }.await)
            }
        }
    };
}

async fn networks(ctx: &Ctx) -> NResult<Vec<Value>> {
    Ok(network::list(ctx))
}
async fn subnets(ctx: &Ctx) -> NResult<Vec<Value>> {
    Ok(subnet::list(ctx))
}
async fn ports(ctx: &Ctx) -> NResult<Vec<Value>> {
    Ok(port::list(ctx))
}
/// A port deleted through the port API (not a router's own port).
async fn port_delete(ctx: &Ctx, id: &str) -> NResult<()> {
    router::check_port_delete(ctx, id)?;
    port::delete(ctx, id).await
}
async fn rules(ctx: &Ctx) -> NResult<Vec<Value>> {
    Ok(security_group::list_rules(ctx))
}
async fn quotas(ctx: &Ctx) -> NResult<Vec<Value>> {
    quota::list(ctx)
}
async fn no_create(_: &Ctx, _: &[u8]) -> NResult<Value> {
    Err(NeutronError::MethodNotAllowed)
}

resource!(
    networks_h,
    "network",
    "networks",
    networks,
    network::show,
    network::create,
    network::update,
    network::delete
);
resource!(
    subnets_h,
    "subnet",
    "subnets",
    subnets,
    subnet::show,
    subnet::create,
    subnet::update,
    subnet::delete
);
resource!(
    ports_h,
    "port",
    "ports",
    ports,
    port::show,
    port::create,
    port::update,
    port_delete
);
resource!(
    sgs_h,
    "security_group",
    "security_groups",
    security_group::list,
    security_group::show,
    security_group::create,
    security_group::update,
    security_group::delete
);
resource!(
    routers_h,
    "router",
    "routers",
    router::list,
    router::show,
    router::create,
    router::update,
    router::delete
);
resource!(
    fips_h,
    "floatingip",
    "floatingips",
    floatingip::list,
    floatingip::show,
    floatingip::create,
    floatingip::update,
    floatingip::delete
);
resource!(
    quotas_h,
    "quota",
    "quotas",
    quotas,
    quota::show,
    no_create,
    quota::update,
    quota::delete
);
resource!(
    rules_h,
    "security_group_rule",
    "security_group_rules",
    rules,
    security_group::show_rule,
    security_group::create_rule,
    security_group::update_rule,
    security_group::delete_rule
);

/// `PUT /v2.0/routers/{id}/add_router_interface` and `.../remove_router_interface`.
async fn router_interface(
    State(s): St,
    h: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    reply(
        async {
            let ctx = Ctx::new(s, &h).await?;
            let v = match action.as_str() {
                "add_router_interface" => router::add_interface(&ctx, &id, &body).await?,
                "remove_router_interface" => router::remove_interface(&ctx, &id, &body).await?,
                _ => return Err(NeutronError::NoRoute),
            };
            Ok(ok(StatusCode::OK, v))
        }
        .await,
    )
}

async fn versions(h: HeaderMap) -> Response {
    let host = h
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    ok(
        StatusCode::OK,
        json!({"versions": [{"id": "v2.0", "status": "CURRENT",
            "links": [{"rel": "self", "href": format!("http://{host}/v2.0/")}]}]}),
    )
}

async fn v2(h: HeaderMap) -> Response {
    let host = h
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let res: Vec<Value> = [
        "network",
        "subnet",
        "port",
        "security_group",
        "security_group_rule",
        "router",
        "floatingip",
    ]
    .iter()
    .map(|r| {
        let c = format!("{r}s").replace('_', "-");
        json!({"name": r, "collection": format!("{r}s"),
                   "links": [{"rel": "self", "href": format!("http://{host}/v2.0/{c}")}]})
    })
    .collect();
    ok(StatusCode::OK, json!({ "resources": res }))
}

async fn extensions_list(State(s): St, h: HeaderMap) -> Response {
    reply(
        async {
            Ctx::new(s, &h).await?;
            Ok(ok(
                StatusCode::OK,
                json!({"extensions": extensions::list()}),
            ))
        }
        .await,
    )
}

async fn extension_show(State(s): St, h: HeaderMap, Path(alias): Path<String>) -> Response {
    reply(
        async {
            Ctx::new(s, &h).await?;
            Ok(ok(
                StatusCode::OK,
                json!({"extension": extensions::show(&alias)?}),
            ))
        }
        .await,
    )
}

async fn fallback() -> Response {
    NeutronError::NoRoute.into_response()
}

/// The Neutron API's routes, to serve on their own listener.
pub fn router(state: Arc<ApiState>) -> Router {
    macro_rules! both {
        ($r:expr, $path:literal, $m:ident) => {
            $r.route(concat!("/v2.0/", $path), get($m::list).post($m::create))
                .route(
                    concat!("/v2.0/", $path, "/{id}"),
                    get($m::show).put($m::update).delete($m::delete),
                )
        };
    }
    let r = Router::new()
        .route("/", get(versions))
        .route("/v2.0", get(v2))
        .route("/v2.0/", get(v2))
        .route("/v2.0/extensions", get(extensions_list))
        .route("/v2.0/extensions/{alias}", get(extension_show));
    let r = both!(r, "networks", networks_h);
    let r = both!(r, "subnets", subnets_h);
    let r = both!(r, "ports", ports_h);
    let r = both!(r, "security-groups", sgs_h);
    let r = both!(r, "security-group-rules", rules_h);
    let r = both!(r, "quotas", quotas_h);
    let r = both!(r, "routers", routers_h);
    let r = both!(r, "floatingips", fips_h);
    let r = r.route(
        "/v2.0/routers/{id}/{action}",
        axum::routing::put(router_interface),
    );
    r.fallback(fallback)
        .method_not_allowed_fallback(|| async { NeutronError::MethodNotAllowed.into_response() })
        .with_state(state)
}
