//! `cirrus-controller`: the Cirrus config node (Contrail's VNC REST API) on an embedded store or
//! on etcd. Control-node and analytics roles join this process in later releases.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// The Cirrus controller: serves Contrail's VNC REST API (the one the `vnc_api` Python client,
/// OpenStack, Kubernetes and Avi integrations speak) from one process and one data file.
///
/// Examples:
///   cirrus-controller --data-dir /var/lib/cirrus
///   cirrus-controller --store etcd://10.0.0.1:2379,10.0.0.2:2379 --api-listen 0.0.0.0:8082
///   cirrus-controller --auth token-file=/etc/cirrus/tokens
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// Address and port of the VNC REST API.
    #[arg(long, env = "CIRRUS_API_LISTEN", default_value = "127.0.0.1:8082")]
    api_listen: SocketAddr,

    /// Directory of the embedded store (one file, cirrus.redb). Created if missing.
    #[arg(long, env = "CIRRUS_DATA_DIR", default_value = "/var/lib/cirrus")]
    data_dir: PathBuf,

    /// Config store: `embedded` (redb in --data-dir) or `etcd://HOST:PORT[,HOST:PORT...]`.
    #[arg(long, env = "CIRRUS_STORE", default_value = "embedded")]
    store: String,

    /// Authentication: `none` (every caller is admin) or `token-file=PATH`, a file of
    /// `TOKEN ROLE PROJECT` lines (ROLE admin|member, PROJECT like default-domain:demo);
    /// clients send the token in X-Auth-Token.
    #[arg(long, env = "CIRRUS_AUTH", default_value = "none")]
    auth: String,

    /// Log filter (tracing EnvFilter syntax), e.g. `info`, `cirrus_api=debug`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    log: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&args.log).context("--log")?)
        .with_target(false)
        .init();

    let auth = cirrus_api::Auth::from_flag(&args.auth).map_err(anyhow::Error::msg)?;
    let (store, where_) = if args.store == "embedded" {
        std::fs::create_dir_all(&args.data_dir)
            .with_context(|| format!("creating --data-dir {}", args.data_dir.display()))?;
        let store = cirrus_store::open_redb(&args.data_dir)
            .await
            .with_context(|| {
                format!("opening the embedded store in {}", args.data_dir.display())
            })?;
        (
            store,
            format!("embedded store {}/cirrus.redb", args.data_dir.display()),
        )
    } else if args.store.starts_with("etcd://") {
        let store = cirrus_store::open(&args.store)
            .await
            .with_context(|| format!("connecting to {}", args.store))?;
        (
            store,
            format!("etcd {}", args.store.trim_start_matches("etcd://")),
        )
    } else {
        anyhow::bail!(
            "--store {:?}: expected `embedded` or `etcd://HOST:PORT[,HOST:PORT...]`",
            args.store
        );
    };

    let (state, router) = cirrus_api::start(store, auth.clone())
        .await
        .map_err(|e| anyhow::anyhow!("starting the API: {e}"))?;
    let listener = tokio::net::TcpListener::bind(args.api_listen)
        .await
        .with_context(|| format!("binding --api-listen {}", args.api_listen))?;
    tracing::info!(
        api = %format!("http://{}", args.api_listen),
        store = %where_,
        auth = %auth.describe(),
        objects = state.index().len(),
        "cirrus-controller serving the VNC API"
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown())
        .await
        .context("serving the API")?;
    tracing::info!("cirrus-controller stopped");
    Ok(())
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down");
}
