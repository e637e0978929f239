//! Security draft mode, its first part (Contrail's `_security_base.py`
//! `set_policy_management_for_security_draft`): turning `enable_security_policy_draft` on for a
//! project, or for the global system config, makes the scope's dedicated policy management
//! `draft-policy-management` (the project's child; for the global scope, top level); turning it
//! off deletes it, refused (409) while it holds pending security resources. A project's goes
//! with the project. The draft copies made under it and the commit/discard action are
//! `crate::draft`.

use serde_json::{Map, Value};

use super::{Ctx, companion};
use crate::error::{ApiError, ApiResult};
use crate::keys;
use crate::object::Obj;
use crate::write::Planned;

pub(crate) const DRAFT_PM: &str = crate::draft::DRAFT_PM;
const FLAG: &str = "enable_security_policy_draft";

fn enabled(o: &Obj) -> bool {
    o.body.get(FLAG).and_then(Value::as_bool).unwrap_or(false)
}

/// The scope's draft policy management as it would be made: a child of a project, or top level
/// for the global system config.
fn draft_pm(scope: &Obj) -> Obj {
    let mut pm = companion("policy-management", scope, DRAFT_PM, Map::new());
    if let Some(p) = scope.body.get("perms2") {
        pm.body.insert("perms2".into(), p.clone());
    }
    if scope.type_name() == "global-system-config" {
        pm.fq_name = vec![DRAFT_PM.to_string()];
        pm.fq_str = DRAFT_PM.to_string();
        pm.parent = None;
    }
    pm
}

/// On a project's create: its draft policy management, if draft mode is on from the start.
pub(super) fn on_create(obj: &Obj) -> Option<Obj> {
    enabled(obj).then(|| draft_pm(obj))
}

/// On an update of a project or the global system config that turns draft mode on or off.
pub(super) fn on_update(c: &Ctx, old: &Obj, new: &mut Obj, p: &mut Planned) -> ApiResult<()> {
    if !c.input.contains_key(FLAG) || enabled(old) == enabled(new) {
        return Ok(());
    }
    let made = draft_pm(new);
    let existing = c.index.by_fq_name("policy-management", &made.fq_str);
    match (enabled(new), existing) {
        (true, None) => {
            p.absent(
                keys::fqn("policy-management", &made.fq_str),
                Some(format!("policy-management {} already exists", made.fq_str)),
            );
            p.put(keys::obj(&made.uuid), made.to_stored());
            p.put(
                keys::fqn("policy-management", &made.fq_str),
                made.uuid.clone(),
            );
        }
        (false, Some(pm)) => {
            let pending: Vec<String> = c
                .index
                .children(&pm.uuid)
                .map(|o| format!("{} {} ({})", o.type_name(), o.fq_str, o.uuid))
                .collect();
            if !pending.is_empty() {
                let scope = if new.type_name() == "global-system-config" {
                    "global scope".to_string()
                } else {
                    format!("scope {} ({})", new.fq_str, new.uuid)
                };
                return Err(ApiError::conflict(format!(
                    "{}: {FLAG}: Cannot disable security draft mode on {scope} as some pending \
                     security resource(s) need to be reviewed: {}",
                    c.what,
                    pending.join(", ")
                )));
            }
            p.at_revision(keys::obj(&pm.uuid), pm.revision);
            p.delete(keys::obj(&pm.uuid));
            p.delete(keys::fqn("policy-management", &pm.fq_str));
        }
        _ => {}
    }
    Ok(())
}
