//! `POST /hbs-get` (Contrail's `hbs_get`): the Kubernetes objects that run a host-based service
//! in its project's namespace: a `NetworkAttachmentDefinition` for the left and for the right
//! network, then the firewall's `DaemonSet`, as `{"hbs": [left, right, daemonset]}`.
//!
//! The body names the service by `hbs_uuid` or `hbs_fq_name` (else 400; unknown or unreadable:
//! 404). Its project is a Kubernetes one: annotations `namespace` and `cluster` (else 404); and
//! the service has its left and right networks (else 404). The service's annotations `image`
//! and `imagePullSecrets` (or their long Kubernetes paths) set the container image and the pull
//! secret; a `management` network is named in the pods' `opencontrail.org/networks`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::fields::fq_name;
use crate::http::{caller, json_response, parse_body};
use crate::object::Obj;
use crate::state::ApiState;

const WHAT: &str = "hbs-get";
const IMAGE: &str = "hub.juniper.net/security/csrx:19.2R1.8";

/// `key` from an object's `annotations`.
fn annotation<'a>(o: &'a Obj, keys: &[&str]) -> Option<&'a str> {
    o.body
        .get("annotations")?
        .get("key_value_pair")?
        .as_array()?
        .iter()
        .find(|kv| {
            kv.get("key")
                .and_then(Value::as_str)
                .is_some_and(|k| keys.contains(&k))
        })?
        .get("value")?
        .as_str()
}

/// Contrail's `opencontrail.org/network` value for a network's fq_name.
fn network_annotation(fq: &Value) -> String {
    match fq.as_array().map(Vec::as_slice) {
        Some([d, p, n]) => format!(
            r#"{{"domain":"{}", "project":"{}", "name":"{}"}}"#,
            d.as_str().unwrap_or_default(),
            p.as_str().unwrap_or_default(),
            n.as_str().unwrap_or_default()
        ),
        _ => String::new(),
    }
}

fn attachment(fq: &Value, name: &str, namespace: &str) -> Value {
    json!({
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": {
            "annotations": {"opencontrail.org/network": network_annotation(fq)},
            "name": name,
            "namespace": namespace,
        },
        "spec": {"config": r#"{"cniVersion":"0.3.0", "type": "contrail-k8s-cni" }"#},
    })
}

fn daemonset(hbs: &Obj, namespace: &str, management: Option<&Value>) -> Value {
    let mut annotations =
        json!({"k8s.v1.cni.cncf.io/networks": r#"[{"name":"left"}, {"name":"right"}]"#});
    if let Some(fq) = management {
        annotations["opencontrail.org/networks"] = json!(network_annotation(fq));
    }
    let image = annotation(hbs, &["image", "spec.template.spec.containers[].image"]);
    let secret = annotation(
        hbs,
        &[
            "imagePullSecrets",
            "spec.template.spec.imagePullSecrets[].name",
        ],
    );
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"labels": {"type": "hbf"}, "name": "csrx", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"name": "hbf"}},
            "template": {
                "metadata": {"annotations": annotations, "labels": {"name": "hbf"}},
                "spec": {
                    "containers": [{
                        "env": [{"name": "CSRX_FORWARD_MODE", "value": "wire"}],
                        "image": image.unwrap_or(IMAGE),
                        "imagePullPolicy": "IfNotPresent",
                        "name": "csrx",
                        "securityContext": {"privileged": true},
                        "stdin": true,
                        "tty": false,
                    }],
                    "imagePullSecrets": [{"name": secret.unwrap_or("psd")}],
                    "nodeSelector": {"type": "hbf"},
                    "restartPolicy": "Always",
                },
            },
        },
    })
}

pub async fn hbs_get(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let required = || {
        ApiError::bad_request(format!(
            "{WHAT}: HBS fqname or uuid (hbs_fqname/hbs_uuid) required for hbs daemonset get"
        ))
    };
    let body = if body.is_empty() {
        return Err(required());
    } else {
        parse_body(&body)?
    };
    let given = |k: &str| {
        body.get(k)
            .filter(|v| !v.is_null() && *v != "" && *v != &json!([]))
    };
    let caller = caller(&state, &headers)?;
    let index = state.index();
    let hbs = match (given("hbs_uuid"), given("hbs_fq_name")) {
        (Some(u), _) => {
            let u = u
                .as_str()
                .ok_or_else(|| ApiError::bad_request(format!("{WHAT}: hbs_uuid is a string")))?;
            index.get_typed("host-based-service", u)
        }
        (None, Some(fq)) => {
            let fq = fq_name(WHAT, "hbs_fq_name", fq)?;
            index.by_fq_name("host-based-service", &fq.join(":"))
        }
        (None, None) => return Err(required()),
    }
    .filter(|o| caller.can_read(o))
    .ok_or_else(|| ApiError::not_found(format!("{WHAT}: host-based-service not found")))?;
    let project = hbs
        .parent
        .as_ref()
        .and_then(|p| index.get(&p.uuid))
        .ok_or_else(|| ApiError::not_found(format!("{WHAT}: no project for {}", hbs.fq_str)))?;
    let k8s = |key: &str| {
        annotation(project, &[key]).ok_or_else(|| {
            ApiError::not_found(format!(
                "{WHAT}: Project {} is not k8s project, {key} is not present",
                project.fq_str
            ))
        })
    };
    let namespace = k8s("namespace")?;
    k8s("cluster")?;
    let network = |role: &str| {
        hbs.body
            .get("virtual_network_refs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|r| {
                r.pointer("/attr/virtual_network_type")
                    .and_then(Value::as_str)
                    == Some(role)
            })
            .and_then(|r| r.get("to"))
    };
    let (Some(left), Some(right)) = (network("left"), network("right")) else {
        return Err(ApiError::not_found(format!(
            "{WHAT}: Left and right HBF networks should be present"
        )));
    };
    Ok(json_response(&json!({"hbs": [
        attachment(left, "left", namespace),
        attachment(right, "right", namespace),
        daemonset(hbs, namespace, network("management")),
    ]})))
}
