//! The objects Contrail's API server creates at first start and that clients assume exist.
//! Creating them is idempotent, so every start (and every replica) runs it.

use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::ops;
use crate::quota::QuotaDefaults;
use crate::state::ApiState;

/// Contrail's predefined tag types and their ids.
pub const TAG_TYPES: &[(&str, &str)] = &[
    ("label", "0x0000"),
    ("application", "0x0001"),
    ("tier", "0x0002"),
    ("deployment", "0x0003"),
    ("site", "0x0004"),
    ("neutron_fwaas", "0x0005"),
];

fn defaults() -> Vec<(&'static str, Vec<&'static str>, Value)> {
    let mut v = vec![
        ("domain", vec!["default-domain"], json!({})),
        (
            "project",
            vec!["default-domain", "default-project"],
            json!({}),
        ),
        (
            "global-system-config",
            vec!["default-global-system-config"],
            json!({"autonomous_system": 64512}),
        ),
        (
            "global-vrouter-config",
            vec![
                "default-global-system-config",
                "default-global-vrouter-config",
            ],
            json!({}),
        ),
        (
            "network-ipam",
            vec!["default-domain", "default-project", "default-network-ipam"],
            json!({}),
        ),
        (
            "virtual-network",
            vec![
                "default-domain",
                "default-project",
                "default-virtual-network",
            ],
            json!({}),
        ),
        (
            "virtual-network",
            vec!["default-domain", "default-project", "ip-fabric"],
            json!({}),
        ),
        (
            "virtual-network",
            vec!["default-domain", "default-project", "__link_local__"],
            json!({}),
        ),
        (
            "policy-management",
            vec!["default-policy-management"],
            json!({}),
        ),
        (
            "application-policy-set",
            vec![
                "default-policy-management",
                "default-application-policy-set",
            ],
            json!({}),
        ),
        (
            "security-group",
            vec!["default-domain", "default-project", "__no_rule__"],
            json!({}),
        ),
    ];
    for (name, id) in TAG_TYPES {
        v.push(("tag-type", vec![*name], json!({"tag_type_id": id})));
    }
    v
}

pub async fn ensure(state: &ApiState) -> ApiResult<usize> {
    let admin = Caller::admin();
    let mut created = 0;
    for (type_name, fq, props) in defaults() {
        let fq_str = fq.join(":");
        if state.index().uuid_of(type_name, &fq_str).is_some() {
            continue;
        }
        let ty = crate::http::resource(type_name)?;
        let mut input: Map<String, Value> = props.as_object().cloned().unwrap_or_default();
        input.insert("fq_name".into(), json!(fq));
        match ops::create_with(state, &QuotaDefaults::default(), &admin, ty, &input).await {
            Ok(_) => created += 1,
            // Another replica created it first.
            Err(e) if e.status == axum::http::StatusCode::CONFLICT => {}
            Err(e) => return Err(e),
        }
    }
    if created > 0 {
        tracing::info!(created, "created default objects");
    }
    Ok(created)
}
