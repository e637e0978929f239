//! Property test over the write path (`ops::create`: plan, then commit to a real redb store):
//! arbitrary JSON bodies, and arbitrary mutations of a valid body, never panic it; each is
//! accepted or refused with a 4xx. A refused request changes nothing stored (the store's
//! revision and the index are as before) and leaves no reservation held (an address or id held
//! by a refused request would never be handed out again); an accepted one commits, once.

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

/// One API over one store for all cases. Cases take turns (both tests share the store, and
/// each case compares the store's revision before and after its request).
fn shared() -> (&'static Shared, std::sync::MutexGuard<'static, ()>) {
    static SHARED: std::sync::OnceLock<Shared> = std::sync::OnceLock::new();
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let s = SHARED.get_or_init(|| {
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
    });
    (s, turn)
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

/// Creates through the real write path and checks what the outcome left behind: `Ok` with the
/// refusal's status (`None` when accepted), `Err` naming what is wrong.
fn create(
    shared: &Shared,
    type_name: &str,
    input: &Map<String, Value>,
) -> Result<Option<u16>, String> {
    let Shared { rt, state, .. } = shared;
    let ty = cirrus_model::schema().resource(type_name).unwrap();
    let before = rt.block_on(state.store.revision()).unwrap();
    let (index_before, objects_before) = {
        let i = state.index();
        (i.revision, i.len())
    };
    let outcome = rt.block_on(ops::create(state, &Caller::admin(), ty, input));
    let after = rt.block_on(state.store.revision()).unwrap();
    let held = state.reservations.held();
    if held != 0 {
        return Err(format!("{held} reservations left held by {input:?}"));
    }
    match outcome {
        Ok(obj) => {
            if after <= before {
                return Err(format!(
                    "accepted, but the store is still at revision {before}"
                ));
            }
            if state.index().get(&obj.uuid).is_none() {
                return Err(format!("accepted {}, but the index lacks it", obj.uuid));
            }
            Ok(None)
        }
        Err(e) => {
            let status = e.status.as_u16();
            if !(400..500).contains(&status) {
                return Err(format!("status {status} ({e:?}) for {input:?}"));
            }
            let i = state.index();
            if (after, i.revision, i.len()) != (before, index_before, objects_before) {
                return Err(format!(
                    "refused with {status}, yet the store moved from revision {before} to \
                     {after} (index {index_before} -> {}, objects {objects_before} -> {})",
                    i.revision,
                    i.len()
                ));
            }
            Ok(Some(status))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bodies_are_refused_cleanly(body in prop::collection::vec((field_name(), arb_json()), 0..6),
                                            ty in prop_oneof![Just("virtual-network"), Just("instance-ip"), Just("network-policy"), Just("virtual-machine-interface")]) {
        let (shared, _turn) = shared();
        let input: Map<String, Value> = body.into_iter().collect();
        create(shared, ty, &input).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn mutated_valid_bodies_are_refused_cleanly(path in 0usize..6, junk in arb_json()) {
        let (shared, _turn) = shared();
        // A fresh name each case, so that an accepted mutation does not turn the following
        // cases into name conflicts refused before their fields are looked at.
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let name = format!("p{}", N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let mut vn = json!({
            "fq_name": ["default-domain", "default-project", name],
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
        create(shared, "virtual-network", vn.as_object().unwrap()).map_err(TestCaseError::fail)?;
    }
}
