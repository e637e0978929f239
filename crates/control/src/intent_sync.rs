//! Runs the intent compiler ([`cirrus_intent`]) inside the controller and writes what it
//! derives back through the API's own write path ([`cirrus_api::ops`], as admin), so the
//! derived routing instances, route targets and ACLs are objects like any other.
//!
//! With several controllers on one store only the holder of the `intent-compiler` lease
//! compiles. It starts with a full compile (which also finds every route-target number
//! already in the store), then follows the API index (`ApiState::subscribe`, debounced like
//! [`crate::sync`]) and recompiles only the objects the index's change log names. A lost
//! lease stops it; the next holder starts again with a full compile, so a takeover after a
//! crash neither duplicates a route target nor loses a number.

use std::sync::Arc;
use std::time::Duration;

use cirrus_api::ApiState;
use cirrus_api::auth::Caller;
use cirrus_api::keys;
use cirrus_intent::{Compiler, Options, Output, TARGET_POOL, Write};
use cirrus_store::{Txn, TxnOutcome};
use serde_json::{Map, Value};
use tokio::task::JoinHandle;

use crate::sync::DEBOUNCE;

/// The lease only one controller at a time holds while it compiles.
pub const LEASE: &str = "intent-compiler";
/// How long a crashed holder keeps the lease.
pub const LEASE_TTL: Duration = Duration::from_secs(5);
/// How long each compile took, by kind (`full`, `changed`): the controller's
/// `cirrus_intent_compile_seconds`.
pub static COMPILE_SECONDS: std::sync::LazyLock<cirrus_metrics::HistogramVec> =
    std::sync::LazyLock::new(|| {
        cirrus_metrics::HistogramVec::new(&["kind"], cirrus_metrics::LATENCY_BUCKETS)
    });
/// Writes applied at once within one phase.
const PARALLEL: usize = 32;

/// Compiles while this controller (`holder`) holds the lease, until the API state goes away.
pub fn spawn(state: Arc<ApiState>, holder: String) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tracing::info!(holder, "intent compiler: waiting for the {LEASE} lease");
            let lease = match state.store.acquire_lease(LEASE, &holder, LEASE_TTL).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "intent compiler: cannot take the lease; retrying");
                    tokio::time::sleep(LEASE_TTL).await;
                    continue;
                }
            };
            tracing::info!(holder, "intent compiler: holding the lease; compiling");
            run(&state, lease).await;
        }
    })
}

/// Compiles until the lease is lost.
async fn run(state: &Arc<ApiState>, mut lease: cirrus_store::Lease) {
    let mut rx = state.subscribe();
    let mut compiler = Compiler::new(Options::default());
    let mut since: Option<i64> = None;
    loop {
        let (out, revision) = {
            // A std lock: read and drop it before any await.
            let index = state.index();
            let changes = since.and_then(|s| index.changes_since(s));
            let started = std::time::Instant::now();
            let out = match changes {
                Some(c) if c.is_empty() => None,
                Some(c) => Some(compiler.changed(&index, &c)),
                None => Some(compiler.full(&index)),
            };
            if let Some(o) = &out {
                let kind = if o.stats.full { "full" } else { "changed" };
                COMPILE_SECONDS.observe(&[kind], started.elapsed().as_secs_f64());
            }
            (out, index.revision)
        };
        since = Some(revision);
        if let Some(out) = out {
            log(&out, revision);
            if !apply(state, &out.writes).await {
                // Something did not land as planned: derive everything again next time.
                since = None;
            }
        }
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = lease.lost() => {
                tracing::warn!("intent compiler: lease lost; stopping until it is ours again");
                return;
            }
        }
        tokio::time::sleep(DEBOUNCE).await;
        rx.borrow_and_update();
        if since.is_none() {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

fn log(out: &Output, revision: i64) {
    for w in &out.warnings {
        tracing::warn!("intent: {w}");
    }
    if out.writes.is_empty() {
        tracing::debug!(revision, stats = ?out.stats, "intent compiled; nothing to write");
        return;
    }
    for w in &out.writes {
        tracing::debug!("intent: {}", w.describe());
    }
    let shown: Vec<String> = out.writes.iter().take(8).map(Write::describe).collect();
    tracing::info!(
        revision,
        full = out.stats.full,
        networks = out.stats.networks,
        groups = out.stats.groups,
        routers = out.stats.routers,
        ports = out.stats.ports,
        writes = out.writes.len(),
        first = ?shown,
        "intent compiled"
    );
}

/// The phase a write belongs to: writes of one phase are independent of each other.
fn phase(w: &Write) -> u8 {
    match w {
        Write::ReserveTarget { .. } => 0,
        Write::Create { type_name, .. } if *type_name == "route-target" => 1,
        Write::Update { .. } => 2,
        Write::Create { .. } => 3,
        Write::Delete { type_name, .. } if *type_name != "route-target" => 4,
        Write::Delete { .. } => 5,
        Write::ReleaseTarget { .. } => 6,
    }
}

/// Applies the writes in order, each phase's writes concurrently; says whether all landed.
pub async fn apply(state: &Arc<ApiState>, writes: &[Write]) -> bool {
    let mut ok = true;
    let mut i = 0;
    while i < writes.len() {
        let p = phase(&writes[i]);
        let end = writes[i..]
            .iter()
            .position(|w| phase(w) != p)
            .map_or(writes.len(), |n| i + n);
        for chunk in writes[i..end].chunks(PARALLEL) {
            let mut set = tokio::task::JoinSet::new();
            for w in chunk {
                let (state, w) = (state.clone(), w.clone());
                set.spawn(async move { apply_one(&state, &w).await });
            }
            while let Some(r) = set.join_next().await {
                ok &= r.unwrap_or(false);
            }
        }
        if !ok && p == 0 {
            // A number the compiler thought free is taken: nothing may name it; the next
            // (full) compile reads the pool again.
            return false;
        }
        i = end;
    }
    ok
}

async fn apply_one(state: &ApiState, w: &Write) -> bool {
    use axum::http::StatusCode;
    let admin = Caller::admin();
    let result = match w {
        Write::ReserveTarget { n, owner } => {
            let key = keys::id(TARGET_POOL, *n);
            match state
                .commit(Txn::new().when_absent(key.clone()).put(key, owner.clone()))
                .await
            {
                Ok(TxnOutcome::Committed { .. }) => Ok(()),
                Ok(TxnOutcome::Conflict { .. }) => {
                    tracing::warn!(n, owner, "intent: route-target number already taken");
                    return false;
                }
                Err(e) => Err(e),
            }
        }
        Write::ReleaseTarget { n } => state
            .commit(Txn::new().delete(keys::id(TARGET_POOL, *n)))
            .await
            .map(|_| ()),
        Write::Create {
            type_name,
            fq_name,
            parent_type,
            body,
        } => {
            let Some(ty) = cirrus_model::schema().resource(type_name) else {
                return false;
            };
            let mut input: Map<String, Value> = body.clone();
            input.insert("fq_name".into(), Value::from(fq_name.clone()));
            if let Some(p) = parent_type {
                input.insert("parent_type".into(), Value::from(*p));
            }
            match cirrus_api::ops::create(state, &admin, ty, &input).await {
                Err(e) if e.status == StatusCode::CONFLICT => Ok(()),
                r => r.map(|_| ()),
            }
        }
        Write::Update {
            type_name,
            uuid,
            body,
            ..
        } => match cirrus_api::ops::update(state, &admin, type_name, uuid, body).await {
            Err(e) if e.status == StatusCode::NOT_FOUND => Ok(()),
            r => r.map(|_| ()),
        },
        Write::Delete {
            type_name, uuid, ..
        } => match cirrus_api::ops::delete(state, &admin, type_name, uuid).await {
            Err(e) if e.status == StatusCode::NOT_FOUND => Ok(()),
            // Still used by something the compiler does not own: Contrail leaves it too.
            Err(e) if e.status == StatusCode::CONFLICT && *type_name == "route-target" => {
                tracing::debug!("intent: {}: {e}", w.describe());
                Ok(())
            }
            r => r,
        },
    };
    match result {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "intent: {} failed", w.describe());
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use cirrus_bgp::ext_community::ExtCommunity;
    use cirrus_intent::testing::{Graph, PROJECT};
    use serde_json::json;

    use super::*;

    fn rt(s: &str) -> ExtCommunity {
        s.parse().unwrap()
    }

    /// The targets the compiler derives are what the BGP speaker's instances carry, and a
    /// connection imports the other instance's target.
    #[test]
    fn derived_targets_reach_the_bgp_instances() {
        let mut g = Graph::new();
        let mut c = Compiler::new(Options::default());
        let red = g.network("red");
        let blue = g.network("blue");
        let rule = |a: &str, b: &str| {
            json!([{"rule_uuid": "r", "direction": "<>", "protocol": "any", "ethertype": "IPv4",
                "src_addresses": [{"virtual_network": format!("{PROJECT}:{a}")}],
                "dst_addresses": [{"virtual_network": format!("{PROJECT}:{b}")}],
                "src_ports": [{"start_port": -1, "end_port": -1}],
                "dst_ports": [{"start_port": -1, "end_port": -1}],
                "action_list": {"simple_action": "pass"}}])
        };
        let p1 = g.policy("p1", rule("red", "blue"));
        let p2 = g.policy("p2", rule("blue", "red"));
        g.attach(&red, &[&p1]);
        g.attach(&blue, &[&p2]);
        g.converge_full(&mut c);
        let d = crate::bgp_config::derive(&g.index, "cn1");
        let red_i = &d.instances[&format!("{PROJECT}:red:red")];
        let blue_i = &d.instances[&format!("{PROJECT}:blue:blue")];
        assert_eq!(red_i.export_targets, vec![rt("target:64512:8000000")]);
        assert_eq!(blue_i.export_targets, vec![rt("target:64512:8000001")]);
        let mut imports = red_i.import_targets.clone();
        imports.sort();
        assert_eq!(
            imports,
            vec![rt("target:64512:8000000"), rt("target:64512:8000001")]
        );
        // Detaching one side's policy ends the import.
        let since = g.revision();
        g.attach(&blue, &[]);
        g.converge(&mut c, since);
        let d = crate::bgp_config::derive(&g.index, "cn1");
        assert_eq!(
            d.instances[&format!("{PROJECT}:red:red")].import_targets,
            vec![rt("target:64512:8000000")]
        );
    }
}
