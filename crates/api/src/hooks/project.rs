//! Projects (Contrail's `project.py`): every project gets its default application policy set
//! (`default-application-policy-set`, `all_applications`), a child the project also refers to,
//! created with it and deleted with it. A client can neither set `all_applications` nor delete
//! that set (`rules/firewall.rs`).

use serde_json::{Map, Value, json};

use super::{Companions, Ctx, companion};
use crate::error::ApiResult;
use crate::object::Obj;
use crate::write::Planned;

/// The project's default application policy set, by (type, name).
pub(super) const DEFAULT_APS: (&str, &str) =
    ("application-policy-set", "default-application-policy-set");

pub(super) fn create(_c: &Ctx, obj: &mut Obj, _p: &mut Planned) -> ApiResult<Companions> {
    let mut body = Map::new();
    body.insert("all_applications".into(), json!(true));
    if let Some(p) = obj.body.get("perms2") {
        body.insert("perms2".into(), p.clone());
    }
    let aps = companion(DEFAULT_APS.0, obj, DEFAULT_APS.1, body);
    let refs = obj
        .body
        .entry("application_policy_set_refs")
        .or_insert_with(|| json!([]));
    if let Value::Array(list) = refs {
        list.push(json!({"to": aps.fq_name, "uuid": aps.uuid, "attr": null}));
    }
    let mut made = vec![aps];
    made.extend(super::security_draft::on_create(obj));
    Ok(made)
}
