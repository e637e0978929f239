//! The Neutron v2.0 API (`cirrus-neutron`) on its own listener (`--neutron-listen`, default
//! 127.0.0.1:9696, `none` turns it off), over the config role's state and with its auth. When
//! the default port is taken it is skipped with a warning, as the analytics listeners are.

use std::sync::Arc;

use anyhow::Context;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9696";

/// Binds the listener and serves the Neutron API in a task of its own.
pub async fn start(flag: &str, state: Arc<cirrus_api::ApiState>) -> anyhow::Result<()> {
    if flag == "none" || flag.is_empty() {
        return Ok(());
    }
    let addr: std::net::SocketAddr = flag
        .parse()
        .with_context(|| format!("--neutron-listen {flag:?}: expected ADDRESS:PORT or none"))?;
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) if flag == DEFAULT_LISTEN => {
            tracing::warn!(%addr, error = %e, "Neutron API not served: its default port is taken");
            return Ok(());
        }
        Err(e) => return Err(e).with_context(|| format!("binding --neutron-listen {addr}")),
    };
    tracing::info!(neutron = %format!("http://{addr}/v2.0"), "serving the Neutron API");
    let router = cirrus_neutron::router(state);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the Neutron API listener stopped");
        }
    });
    Ok(())
}
