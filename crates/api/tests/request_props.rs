//! Property test over the request path: arbitrary JSON bodies, and arbitrary mutations of a
//! valid body, never panic the planner; each is accepted or refused with a 4xx, and planning
//! never touches the store (the store's revision is unchanged afterwards).

use std::sync::Arc;

use cirrus_api::auth::Caller;
use cirrus_api::{ApiState, Auth, ops};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-z0-9:./_-]{0,12}".prop_map(Value::String),
        Just(json!("10.0.0.0")),
        Just(json!(["default-domain", "default-project"])),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Field names the schema knows, mixed with junk, so that validation goes deep.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("fq_name".to_string()),
        Just("parent_type".to_string()),
        Just("uuid".to_string()),
        Just("network_ipam_refs".to_string()),
        Just("virtual_network_properties".to_string()),
        Just("route_target_list".to_string()),
        Just("ipam_subnets".to_string()),
        Just("subnet".to_string()),
        Just("ip_prefix".to_string()),
        Just("ip_prefix_len".to_string()),
        Just("attr".to_string()),
        Just("to".to_string()),
        Just("forwarding_mode".to_string()),
        Just("instance_ip_address".to_string()),
        Just("virtual_network_refs".to_string()),
        "[a-z_]{1,10}",
    ]
}

struct Shared {
    rt: tokio::runtime::Runtime,
    state: Arc<ApiState>,
    _dir: tempdir::Dir,
}

/// One API over one store for all cases: planning never writes, so cases cannot disturb
/// each other.
fn shared() -> &'static Shared {
    static SHARED: std::sync::OnceLock<Shared> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempdir::Dir::new();
        let state = rt.block_on(async {
            let store = cirrus_store::open_redb(dir.path()).await.unwrap();
            cirrus_api::start(store, Auth::None).await.unwrap().0
        });
        Shared {
            rt,
            state,
            _dir: dir,
        }
    })
}

mod tempdir {
    pub struct Dir(std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            let p = std::env::temp_dir().join(format!(
                "cirrus-api-props-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn plan(state: &ApiState, type_name: &str, input: &Map<String, Value>) -> Result<(), u16> {
    let ty = cirrus_model::schema().resource(type_name).unwrap();
    let index = state.index();
    match ops::plan_create(&index, &state.reservations, &Caller::admin(), ty, input) {
        Ok(_) => Ok(()),
        Err(e) => Err(e.status.as_u16()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bodies_are_refused_cleanly(body in prop::collection::vec((field_name(), arb_json()), 0..6),
                                            ty in prop_oneof![Just("virtual-network"), Just("instance-ip"), Just("network-policy"), Just("virtual-machine-interface")]) {
        let Shared { rt, state, .. } = shared();
        let before = rt.block_on(state.store.revision()).unwrap();
        let input: Map<String, Value> = body.into_iter().collect();
        if let Err(status) = plan(state, ty, &input) {
            prop_assert!((400..500).contains(&status), "status {status} for {input:?}");
        }
        prop_assert_eq!(rt.block_on(state.store.revision()).unwrap(), before);
    }

    #[test]
    fn mutated_valid_bodies_are_refused_cleanly(path in 0usize..6, junk in arb_json()) {
        let state = &shared().state;
        let mut vn = json!({
            "fq_name": ["default-domain", "default-project", "p"],
            "parent_type": "project",
            "network_ipam_refs": [{"to": ["default-domain", "default-project", "default-network-ipam"],
                "attr": {"ipam_subnets": [{"subnet": {"ip_prefix": "10.0.0.0", "ip_prefix_len": 24}}]}}],
            "virtual_network_properties": {"forwarding_mode": "l3"},
        });
        let slot = match path {
            0 => &mut vn["fq_name"],
            1 => &mut vn["network_ipam_refs"][0]["attr"],
            2 => &mut vn["network_ipam_refs"][0]["attr"]["ipam_subnets"][0]["subnet"],
            3 => &mut vn["network_ipam_refs"][0]["attr"]["ipam_subnets"][0]["subnet"]["ip_prefix_len"],
            4 => &mut vn["virtual_network_properties"]["forwarding_mode"],
            _ => &mut vn["network_ipam_refs"][0]["to"],
        };
        *slot = junk;
        if let Err(status) = plan(state, "virtual-network", vn.as_object().unwrap()) {
            prop_assert!((400..500).contains(&status), "status {status}");
        }
    }
}
