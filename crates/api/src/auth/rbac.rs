//! Contrail's role-based access rules (`aaa_mode rbac`, `vnc_rbac.validate_request`): before any
//! handler runs, the request's type (from its path), operation (C for POST, R for GET, U for
//! PUT, D for DELETE) and the first-level fields of its body are matched against the
//! `api-access-list` rules of the global config, the caller's domain and the caller's project.
//!
//! A rule is `<object>.<field> <role>:<CRUD>, ...` (`rbac_rule` entries: `rule_object`, `rule_field`,
//! `rule_perms` of `role_name`/`role_crud`); `*` matches any object or role. Rules for the same
//! object and field from the three levels are merged. Field rules decide the fields they name;
//! whatever the body holds beyond them is decided by the object's rule, else the wildcard rule.
//! No matching rule is a 403.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::aaa_mode::AaaMode;
use super::{Auth, Caller};
use crate::error::{ApiError, ApiResult};
use crate::http::MAX_BODY;
use crate::index::Index;
use crate::ops;
use crate::state::ApiState;

/// The global list's fq_name.
pub const GLOBAL_LIST: [&str; 2] = ["default-global-system-config", "default-api-access-list"];

/// One merged rule: which roles may do which of C, R, U, D.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub object: String,
    /// `*` for the whole object.
    pub field: String,
    pub perms: BTreeMap<String, String>,
}

impl Rule {
    fn allows(&self, roles: &[String], op: char) -> bool {
        self.perms
            .iter()
            .any(|(role, crud)| (role == "*" || roles.contains(role)) && crud.contains(op))
    }
}

/// The rules Contrail puts in the global list when rbac is on: lookups, user-agent key-values,
/// the homepage and documentation, watch, and reading a router's external gateway, for anyone.
fn default_rules() -> Vec<Value> {
    let rule = |object: &str, field: &str, crud: &str| {
        json!({"rule_object": object, "rule_field": field,
               "rule_perms": [{"role_name": "*", "role_crud": crud}]})
    };
    vec![
        rule("fqname-to-id", "", "CRUD"),
        rule("id-to-fqname", "", "CRUD"),
        rule("useragent-kv", "", "CRUD"),
        rule("documentation", "", "R"),
        rule("/", "", "R"),
        rule("watch", "", "R"),
        rule("logical-router", "logical_router_gateway_external", "R"),
    ]
}

/// The `rbac_rule` entries of the access lists under `parent`.
fn rules_under<'a>(index: &'a Index, parent: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    index
        .children(parent)
        .filter(|o| o.type_name() == "api-access-list")
        .flat_map(|o| {
            o.body
                .get("api_access_list_entries")
                .and_then(|e| e.get("rbac_rule"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
}

/// The merged rules that apply to `caller`: global, then its domain, then its project.
pub fn rules_for(index: &Index, caller: &Caller) -> Vec<Rule> {
    let global = index
        .uuid_of("global-system-config", GLOBAL_LIST[0])
        .map(str::to_string);
    let mut merged: Vec<Rule> = Vec::new();
    for parent in [&global, &caller.domain_uuid, &caller.project_uuid]
        .into_iter()
        .flatten()
    {
        for raw in rules_under(index, parent) {
            let object = raw.get("rule_object").and_then(Value::as_str).unwrap_or("");
            let field = match raw.get("rule_field").and_then(Value::as_str) {
                None | Some("") => "*",
                Some(f) => f,
            };
            let at = match merged
                .iter()
                .position(|r| r.object == object && r.field == field)
            {
                Some(i) => i,
                None => {
                    merged.push(Rule {
                        object: object.to_string(),
                        field: field.to_string(),
                        perms: BTreeMap::new(),
                    });
                    merged.len() - 1
                }
            };
            for p in raw
                .get("rule_perms")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let role = p.get("role_name").and_then(Value::as_str).unwrap_or("");
                let crud = p.get("role_crud").and_then(Value::as_str).unwrap_or("");
                let have = merged[at].perms.entry(role.to_string()).or_default();
                for c in crud.chars() {
                    if !have.contains(c) {
                        have.push(c);
                    }
                }
            }
        }
    }
    merged
}

/// C, R, U or D for an HTTP method.
pub fn operation(method: &Method) -> char {
    match *method {
        Method::POST => 'C',
        Method::PUT => 'U',
        Method::DELETE => 'D',
        _ => 'R',
    }
}

/// The object a request is about: the path's first segment, a collection's plural made
/// singular (`/virtual-networks` is `virtual-network`), `/` for the homepage.
pub fn object_of(path: &str) -> String {
    if path == "/" || path.is_empty() {
        return "/".into();
    }
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let schema = cirrus_model::schema();
    match first.strip_suffix('s') {
        Some(one) if schema.resource(first).is_none() && schema.resource(one).is_some() => {
            one.to_string()
        }
        _ => first.to_string(),
    }
}

/// Whether `rules` let `caller` do `op` on `object` with `body`: Contrail's decision.
pub fn decide(
    rules: &[Rule],
    caller: &Caller,
    op: char,
    object: &str,
    body: &[u8],
) -> ApiResult<()> {
    let denied = || {
        ApiError::forbidden(format!(
            "Permission Denied for {} as {:?} to {op} {object} in {}",
            caller.user.as_deref().unwrap_or("?"),
            caller.roles,
            caller.project_name()
        ))
    };
    if caller.roles.is_empty() {
        return Err(ApiError::unauthorized("roles empty!!"));
    }
    if rules.is_empty() {
        return Err(ApiError::forbidden(
            "Permission Denied RBAC rule list empty",
        ));
    }
    let mut fields = first_level_fields(object, body);
    let wildcard = rules.iter().rfind(|r| r.object == "*");
    let whole = rules.iter().rfind(|r| r.object == object && r.field == "*");
    let field_rules: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.object == object && r.field != "*")
        .collect();
    let fallback = |fallback_rule: Option<&Rule>| match fallback_rule {
        Some(r) if r.allows(&caller.roles, op) => Ok(()),
        _ => Err(denied()),
    };
    if !field_rules.is_empty() && !fields.is_empty() {
        for rule in field_rules {
            if fields.remove(&rule.field).is_some() && !rule.allows(&caller.roles, op) {
                return Err(denied());
            }
        }
        if fields.is_empty() {
            return Ok(());
        }
    }
    fallback(whole.or(wildcard))
}

/// The first-level fields of a request body (`{"<type>": {...}}` or the body itself), less
/// `uuid` and `fq_name`.
fn first_level_fields(object: &str, body: &[u8]) -> Map<String, Value> {
    let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(body) else {
        return Map::new();
    };
    let mut fields = match m.remove(object) {
        Some(Value::Object(inner)) => inner,
        Some(other) => {
            m.insert(object.to_string(), other);
            m
        }
        None => m,
    };
    fields.remove("uuid");
    fields.remove("fq_name");
    fields
}

/// Axum middleware: under `aaa_mode rbac` with authentication on, 401/403 before the handler
/// unless the rules allow the request.
pub async fn enforce(State(state): State<Arc<ApiState>>, req: Request, next: Next) -> Response {
    if matches!(state.auth, Auth::None) || state.access.mode() != AaaMode::Rbac {
        return next.run(req).await;
    }
    let caller = match state.identify(req.headers()) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let op = operation(req.method());
    if caller.admin || (caller.read_only && op == 'R') {
        return next.run(req).await;
    }
    let object = object_of(req.uri().path());
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            return ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body: {e}"),
            )
            .into_response();
        }
    };
    let rules = rules_for(&state.index(), &caller);
    if let Err(e) = decide(&rules, &caller, op, &object, &bytes) {
        tracing::info!(user = ?caller.user, roles = ?caller.roles, project = caller.project_name(),
            op = %op, object, rules = rules.len(), "rbac: request denied");
        return e.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Creates the global access list with Contrail's default rules, or adds the ones it lacks, when
/// the mode is `rbac`.
pub async fn ensure_default_list(state: &ApiState) -> ApiResult<()> {
    if state.access.mode() != AaaMode::Rbac {
        return Ok(());
    }
    let admin = Caller::admin();
    let fq = GLOBAL_LIST.join(":");
    let existing = state.index().by_fq_name("api-access-list", &fq).cloned();
    let Some(list) = existing else {
        let ty = crate::http::resource("api-access-list")?;
        let mut input = Map::new();
        input.insert("fq_name".into(), json!(GLOBAL_LIST));
        input.insert("parent_type".into(), json!("global-system-config"));
        input.insert(
            "api_access_list_entries".into(),
            json!({"rbac_rule": default_rules()}),
        );
        return match ops::create(state, &admin, ty, &input).await {
            Ok(_) => {
                tracing::info!("rbac: created the global api-access-list with the default rules");
                Ok(())
            }
            Err(e) if e.status == axum::http::StatusCode::CONFLICT => Ok(()),
            Err(e) => Err(e),
        };
    };
    let mut rules: Vec<Value> = list
        .body
        .get("api_access_list_entries")
        .and_then(|e| e.get("rbac_rule"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let missing: Vec<Value> = default_rules()
        .into_iter()
        .filter(|r| !rules.contains(r))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    rules.extend(missing);
    let mut input = Map::new();
    input.insert(
        "api_access_list_entries".into(),
        json!({"rbac_rule": rules}),
    );
    ops::update(state, &admin, "api-access-list", &list.uuid, &input).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(object: &str, field: &str, perms: &[(&str, &str)]) -> Rule {
        Rule {
            object: object.into(),
            field: field.into(),
            perms: perms
                .iter()
                .map(|(r, c)| (r.to_string(), c.to_string()))
                .collect(),
        }
    }

    fn member(roles: &[&str]) -> Caller {
        Caller {
            admin: false,
            read_only: false,
            mode: AaaMode::Rbac,
            user: Some("alice".into()),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            project_fq: Some("default-domain:p".into()),
            project_uuid: Some("u".into()),
            domain_uuid: None,
        }
    }

    #[test]
    fn paths_name_their_object() {
        assert_eq!(object_of("/virtual-networks"), "virtual-network");
        assert_eq!(object_of("/virtual-network/abc"), "virtual-network");
        assert_eq!(
            object_of("/virtual-network/abc/ip-alloc"),
            "virtual-network"
        );
        assert_eq!(object_of("/fqname-to-id"), "fqname-to-id");
        assert_eq!(object_of("/"), "/");
        assert_eq!(object_of("/access-control-lists"), "access-control-list");
    }

    #[test]
    fn object_rule_then_wildcard() {
        let rules = vec![
            rule("*", "*", &[("admin", "CRUD")]),
            rule("virtual-network", "*", &[("Member", "CR")]),
        ];
        let m = member(&["Member"]);
        assert!(decide(&rules, &m, 'C', "virtual-network", b"").is_ok());
        assert!(decide(&rules, &m, 'D', "virtual-network", b"").is_err());
        assert!(decide(&rules, &m, 'R', "project", b"").is_err());
        assert!(decide(&rules, &member(&["admin"]), 'D', "project", b"").is_ok());
    }

    #[test]
    fn field_rules_decide_their_fields_and_the_rest_falls_back() {
        let rules = vec![
            rule("virtual-network", "*", &[("Member", "CRUD")]),
            rule(
                "virtual-network",
                "flood_unknown_unicast",
                &[("netadmin", "CRUD")],
            ),
        ];
        let body = br#"{"virtual-network": {"flood_unknown_unicast": true, "display_name": "x"}}"#;
        assert!(decide(&rules, &member(&["Member"]), 'U', "virtual-network", body).is_err());
        assert!(
            decide(
                &rules,
                &member(&["Member", "netadmin"]),
                'U',
                "virtual-network",
                body
            )
            .is_ok()
        );
        // Only the field: the field rule alone decides.
        let only = br#"{"virtual-network": {"flood_unknown_unicast": true, "uuid": "u"}}"#;
        assert!(decide(&rules, &member(&["netadmin"]), 'U', "virtual-network", only).is_ok());
    }

    #[test]
    fn no_rule_or_no_role_is_refused() {
        let m = member(&["Member"]);
        assert_eq!(
            decide(&[], &m, 'R', "project", b"").unwrap_err().status,
            axum::http::StatusCode::FORBIDDEN
        );
        let rules = vec![rule("*", "*", &[("*", "R")])];
        assert_eq!(
            decide(&rules, &member(&[]), 'R', "project", b"")
                .unwrap_err()
                .status,
            axum::http::StatusCode::UNAUTHORIZED
        );
        assert!(decide(&rules, &m, 'R', "project", b"").is_ok());
    }
}
