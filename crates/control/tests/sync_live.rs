//! The control node in process over a real (embedded) store: config written through the API's
//! operations reaches the running speaker without a restart: peers added, changed and removed,
//! routing instances added with their targets and removed with their network.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use cirrus_api::ApiState;
use cirrus_api::auth::Caller;
use cirrus_api::ops;
use cirrus_bgp::types::Family;
use cirrus_control::{ControlNode, ControlOptions};
use cirrus_store::testing::{TempDir, free_port};
use serde_json::{Map, Value, json};

async fn wait_until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn create(state: &ApiState, kind: &str, fields: Value) -> String {
    let ty = cirrus_api::http::resource(kind).unwrap();
    let input: Map<String, Value> = fields.as_object().unwrap().clone();
    ops::create(state, &Caller::admin(), ty, &input)
        .await
        .unwrap_or_else(|e| panic!("creating {kind}: {e}"))
        .uuid
        .clone()
}

async fn update(state: &ApiState, kind: &str, uuid: &str, fields: Value) {
    let input: Map<String, Value> = fields.as_object().unwrap().clone();
    ops::update(state, &Caller::admin(), kind, uuid, &input)
        .await
        .unwrap_or_else(|e| panic!("updating {kind}: {e}"));
}

fn fabric(name: &str) -> Value {
    json!([
        "default-domain",
        "default-project",
        "ip-fabric",
        "__default__",
        name
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_changes_reach_the_running_speaker() {
    let dir = TempDir::new("cirrus-control-sync").unwrap();
    let store = cirrus_store::open_redb(dir.path()).await.unwrap();
    let (state, _router) = cirrus_api::start(store, cirrus_api::Auth::None)
        .await
        .unwrap();
    let bgp_port = free_port().unwrap();
    let node = ControlNode::start(
        state.clone(),
        ControlOptions {
            hostname: "cn1".into(),
            bgp_address: Some("127.0.6.21".parse().unwrap()),
            bgp_port: Some(bgp_port),
            introspect_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            channel_listen: None,
            channel_auth: Default::default(),
            graceful_restart_seconds: 0,
            extra_routes: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        node.bgp_listen,
        SocketAddr::from(([127, 0, 6, 21], bgp_port))
    );
    assert_eq!(
        node.router_fq_name,
        "default-domain:default-project:ip-fabric:__default__:cn1"
    );
    let s = node.speaker.clone();
    assert!(s.neighbors().await.unwrap().is_empty());

    // A peer joined by a ref from our own bgp-router.
    let own = state
        .index()
        .uuid_of("bgp-router", &node.router_fq_name)
        .unwrap()
        .to_string();
    let peer_addr: IpAddr = "127.0.6.22".parse().unwrap();
    let params = |port: u16| {
        json!({"router_type": "router", "address": "127.0.6.22", "identifier": "127.0.6.22",
               "autonomous_system": 65010, "port": port})
    };
    let gw = create(
        &state,
        "bgp-router",
        json!({"fq_name": fabric("gw"), "parent_type": "routing-instance",
               "bgp_router_parameters": params(1790)}),
    )
    .await;
    update(
        &state,
        "bgp-router",
        &own,
        json!({"bgp_router_refs": [{"to": fabric("gw"), "attr": {"session": [{"uuid": "1",
               "attributes": [{"address_families": {"family": ["inet-vpn", "e-vpn"]}}]}]}}]}),
    )
    .await;
    wait_until("the peer added", || async {
        s.neighbors()
            .await
            .unwrap()
            .iter()
            .any(|n| n.address == peer_addr && n.port == 1790 && n.asn == 65010)
    })
    .await;

    // Its port changes on its bgp-router: the speaker follows.
    update(
        &state,
        "bgp-router",
        &gw,
        json!({"bgp_router_parameters": params(1791)}),
    )
    .await;
    wait_until("the peer changed", || async {
        s.neighbors()
            .await
            .unwrap()
            .iter()
            .any(|n| n.address == peer_addr && n.port == 1791)
    })
    .await;

    // A network with targets becomes an instance; deleting it removes the instance.
    let vn = create(
        &state,
        "virtual-network",
        json!({"fq_name": ["default-domain", "default-project", "green"],
               "parent_type": "project",
               "route_target_list": {"route_target": ["target:64512:42"]}}),
    )
    .await;
    let green = "default-domain:default-project:green:green";
    wait_until("the instance added", || async {
        s.routes(Some(green), Some(Family::Inet))
            .await
            .unwrap()
            .is_some()
    })
    .await;
    ops::delete(&state, &Caller::admin(), "virtual-network", &vn)
        .await
        .unwrap();
    wait_until("the instance removed", || async {
        s.routes(Some(green), None).await.unwrap().is_none()
    })
    .await;

    // The ref removed: the peer goes.
    update(&state, "bgp-router", &own, json!({"bgp_router_refs": []})).await;
    wait_until("the peer removed", || async {
        s.neighbors().await.unwrap().is_empty()
    })
    .await;
    node.shutdown().await;
}
