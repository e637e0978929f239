//! Keeps the running speaker in step with the config: whenever the API's index applies a new
//! revision, recompute [`bgp_config::derive`] (after a short debounce, so a burst of writes is
//! one recomputation) and apply only the difference: `update_config` when the peers or the
//! identity changed (the speaker itself restarts only the sessions that changed), and
//! `set_instance` / `remove_instance` per routing instance.

use std::sync::Arc;
use std::time::Duration;

use cirrus_api::ApiState;
use cirrus_bgp::speaker::{Speaker, SpeakerConfig, SpeakerError};
use tokio::task::JoinHandle;

use crate::bgp_config::{self, Desired};

/// Writes usually come in bursts (an apply of many objects): wait this long after the first
/// change before recomputing, so the burst is read once.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// Applies `next` over `current` (what the speaker runs now) and makes it current. A speaker
/// configuration the speaker refuses (e.g. a new listen address it cannot bind) is logged and
/// left pending: `current.speaker` keeps the old one so the next change retries.
pub async fn apply(
    speaker: &Speaker,
    current: &mut Desired,
    next: Desired,
) -> Result<(), SpeakerError> {
    for w in next
        .warnings
        .iter()
        .filter(|w| !current.warnings.contains(w))
    {
        tracing::warn!("bgp config: {w}");
    }
    current.warnings = next.warnings;

    if next.speaker != current.speaker {
        let cfg = match (&next.speaker, &current.speaker) {
            (Some(cfg), _) => Some(cfg.clone()),
            // Our own bgp-router went away: keep listening where we are but drop every peer.
            (None, Some(old)) => Some(SpeakerConfig {
                peers: Vec::new(),
                ..old.clone()
            }),
            (None, None) => None,
        };
        if let Some(cfg) = cfg {
            let peers: Vec<String> = cfg
                .peers
                .iter()
                .map(|p| format!("{}:{}", p.address, p.port))
                .collect();
            match speaker.update_config(cfg.clone()).await {
                Ok(()) => {
                    tracing::info!(
                        router_id = %cfg.router_id,
                        asn = cfg.asn,
                        listen = %cfg.listen,
                        peers = ?peers,
                        "bgp speaker configuration applied"
                    );
                    current.speaker = next.speaker;
                }
                Err(SpeakerError::Stopped) => return Err(SpeakerError::Stopped),
                Err(e) => tracing::error!(error = %e, "bgp speaker refused the new configuration"),
            }
        }
    }

    let gone: Vec<String> = current
        .instances
        .keys()
        .filter(|k| !next.instances.contains_key(*k))
        .cloned()
        .collect();
    for name in gone {
        speaker.remove_instance(&name).await?;
        current.instances.remove(&name);
        tracing::info!(instance = %name, "routing instance removed");
    }
    for (name, cfg) in next.instances {
        if current.instances.get(&name) == Some(&cfg) {
            continue;
        }
        speaker.set_instance(&name, cfg.clone()).await?;
        tracing::debug!(
            instance = %name,
            import = cfg.import_targets.len(),
            export = cfg.export_targets.len(),
            "routing instance set"
        );
        current.instances.insert(name, cfg);
    }
    Ok(())
}

/// Follows the config until the API state or the speaker goes away.
pub fn spawn(
    state: Arc<ApiState>,
    speaker: Speaker,
    hostname: String,
    mut current: Desired,
) -> JoinHandle<()> {
    let mut rx = state.subscribe();
    tokio::spawn(async move {
        loop {
            if rx.changed().await.is_err() {
                return;
            }
            tokio::time::sleep(DEBOUNCE).await;
            let revision = *rx.borrow_and_update();
            // The index guard is a std lock: read and drop it before any await.
            let next = bgp_config::derive(&state.index(), &hostname);
            tracing::debug!(revision, "config changed; re-deriving BGP configuration");
            if apply(&speaker, &mut current, next).await.is_err() {
                tracing::info!("bgp speaker stopped; config sync ends");
                return;
            }
        }
    })
}
