//! The one routes table: every path the API serves, with the name `vnc_api` finds it by on the
//! homepage when it is an action. The router and the homepage's links are both built from it.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use serde_json::json;

use crate::http::{MAX_BODY, base_url, json_response};
use crate::state::ApiState;
use crate::{actions, crud, list, prop_collection, vn_ip};

struct Route {
    /// The homepage link name (`rel: action`), for the paths clients look up.
    link: Option<&'static str>,
    path: &'static str,
    handler: MethodRouter<Arc<ApiState>>,
}

fn route(link: &'static str, path: &'static str, handler: MethodRouter<Arc<ApiState>>) -> Route {
    Route {
        link: Some(link),
        path,
        handler,
    }
}

fn table() -> Vec<Route> {
    vec![
        route("name-to-id", "/fqname-to-id", post(actions::fqname_to_id)),
        route("id-to-name", "/id-to-fqname", post(actions::id_to_fqname)),
        route("ref-update", "/ref-update", post(actions::ref_update)),
        route(
            "ref-relax-for-delete",
            "/ref-relax-for-delete",
            post(actions::ref_relax_for_delete),
        ),
        route(
            "prop-collection-get",
            "/prop-collection-get",
            get(prop_collection::get),
        ),
        route(
            "prop-collection-update",
            "/prop-collection-update",
            post(prop_collection::update),
        ),
        route(
            "list-bulk-collection",
            "/list-bulk-collection",
            post(list::list_bulk),
        ),
        route(
            "useragent-keyvalue",
            "/useragent-kv",
            post(actions::useragent_kv),
        ),
        route("chown", "/chown", post(actions::chown)),
        route("hbs-get", "/hbs-get", post(crate::hbs_get::hbs_get)),
        route("chmod", "/chmod", post(actions::chmod)),
        route(
            "security-policy-draft",
            "/security-policy-draft",
            post(crate::draft::commit::security_policy_draft),
        ),
        route("set-tag", "/set-tag", post(actions::set_tag)),
        route("obj-perms", "/obj-perms", get(actions::obj_perms)),
        route(
            "aaa-mode",
            "/aaa-mode",
            get(crate::auth::aaa_mode_http::get).put(crate::auth::aaa_mode_http::put),
        ),
        route(
            "virtual-network-ip-alloc",
            "/virtual-network/{uuid}/ip-alloc",
            post(vn_ip::ip_alloc),
        ),
        route(
            "virtual-network-ip-free",
            "/virtual-network/{uuid}/ip-free",
            post(vn_ip::ip_free),
        ),
        route(
            "virtual-network-subnet-ip-count",
            "/virtual-network/{uuid}/subnet-ip-count",
            post(vn_ip::subnet_ip_count),
        ),
        Route {
            link: None,
            path: "/{collection}",
            handler: get(list::list_collection).post(crud::create),
        },
        Route {
            link: None,
            path: "/{type}/{uuid}",
            handler: get(crud::read).put(crud::update).delete(crud::delete),
        },
    ]
}

pub fn router(state: Arc<ApiState>) -> Router {
    let mut r = Router::new().route("/", get(homepage));
    for Route { path, handler, .. } in table() {
        r = r.route(path, handler);
    }
    // Layers run outside in: the Keystone gate first, then the rbac rules.
    r = r.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        crate::auth::rbac::enforce,
    ));
    if matches!(state.auth, crate::auth::Auth::Keystone(_)) {
        r = r.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::keystone_project::admit,
        ));
    }
    r.layer(DefaultBodyLimit::max(MAX_BODY)).with_state(state)
}

/// The homepage: a collection and a resource-base link per type, and the action links of the
/// table (`{uuid}` written as the client's `%s`).
pub async fn homepage(headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    let mut links = Vec::new();
    for t in cirrus_model::schema()
        .resources()
        .filter(|t| t.name != "config-root")
    {
        links.push(json!({"link": {"href": format!("{base}/{}", t.collection()), "name": t.name, "rel": "collection"}}));
        links.push(json!({"link": {"href": format!("{base}/{}", t.name), "name": t.name, "rel": "resource-base"}}));
    }
    for r in table() {
        if let Some(name) = r.link {
            let href = format!("{base}{}", r.path.replace("{uuid}", "%s"));
            links.push(json!({"link": {"href": href, "name": name, "rel": "action"}}));
        }
    }
    json_response(&json!({"href": base, "links": links}))
}
