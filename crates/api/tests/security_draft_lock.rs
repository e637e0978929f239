//! The scope lock of security draft mode (Contrail's ZooKeeper lock per scope): while a commit
//! or discard holds a scope, a change to its security resources is refused with 400 naming the
//! action, and so is a second action; once released, both work again. The lock is held only for
//! the length of one transaction, so the test takes it the way the action does.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use cirrus_api::auth::Caller;
use cirrus_api::draft::commit::security_policy_draft;
use cirrus_api::{Auth, ops};
use serde_json::{Map, Value, json};

fn body(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_scope_refuses_changes_and_actions() {
    let dir = tempfile::tempdir().unwrap();
    let store = cirrus_store::open_redb(dir.path()).await.unwrap();
    let (state, _) = cirrus_api::start(store, Auth::None).await.unwrap();
    let schema = cirrus_model::schema();
    let admin = Caller::admin();
    let project = ops::create(
        &state,
        &admin,
        schema.resource("project").unwrap(),
        &body(
            json!({"fq_name": ["default-domain", "p"], "parent_type": "domain",
                     "enable_security_policy_draft": true}),
        ),
    )
    .await
    .unwrap();
    let fp = schema.resource("firewall-policy").unwrap();
    let fp_body =
        |n: &str| body(json!({"fq_name": ["default-domain", "p", n], "parent_type": "project"}));
    let action =
        |a: &str| Bytes::from(json!({"scope_uuid": project.uuid, "action": a}).to_string());

    assert!(state.reservations.try_lock_scope(&project.uuid, "commit"));
    let e = ops::create(&state, &admin, fp, &fp_body("a"))
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e.message
            .contains("Action 'commit' on Project 'default-domain:p'"),
        "{e}"
    );
    let e = security_policy_draft(State(state.clone()), HeaderMap::new(), action("discard"))
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e.message.contains("is under progress. Try again later"),
        "{e}"
    );

    state.reservations.unlock_scope(&project.uuid);
    let draft = ops::create(&state, &admin, fp, &fp_body("a"))
        .await
        .unwrap();
    assert_eq!(draft.fq_str, "default-domain:p:draft-policy-management:a");
    security_policy_draft(State(state.clone()), HeaderMap::new(), action("commit"))
        .await
        .unwrap();
    // The action let the scope go, also for the next one.
    assert_eq!(state.reservations.scope_action(&project.uuid), None);
    let committed = state
        .index()
        .by_fq_name("firewall-policy", "default-domain:p:a")
        .cloned()
        .unwrap();
    assert_eq!(committed.uuid, draft.uuid);
}
