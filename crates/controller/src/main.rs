//! `cirrus-controller`: the Cirrus config node (Contrail's VNC REST API) and control node (BGP
//! speaker configured from the bgp-router objects, with its JSON introspect) on an embedded
//! store or on etcd, and the analytics node (flow collector and Contrail's query API). `--roles`
//! picks which run.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

mod analytics_feed;
mod console_proxy;
mod metered_store;
mod metrics;
mod metrics_control;
mod neutron;
mod tls;

// mimalloc: the intent compiler and the route server make many short-lived allocations;
// it compiles the 10k-network graph about 15% faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Cirrus controller: serves Contrail's VNC REST API (the one the `vnc_api` Python client,
/// OpenStack, Kubernetes and Avi integrations speak) from one process and one data file, and
/// runs the control node: a BGP speaker (inet-vpn, inet6-vpn, e-vpn, route-target) configured
/// from the bgp-router objects of the config, the Contrail way.
///
/// Examples:
///   cirrus-controller --data-dir /var/lib/cirrus
///   cirrus-controller --store etcd://10.0.0.1:2379,10.0.0.2:2379 --api-listen 0.0.0.0:8082
///   cirrus-controller --auth token-file=/etc/cirrus/tokens
///   cirrus-controller --quota-default virtual_network=10 --quota-default defaults=100
///   cirrus-controller --roles config                     # the API only, no BGP
///   cirrus-controller --hostname cn2 --bgp-address 10.0.0.2 --store etcd://10.0.0.1:2379
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

    /// Authentication: `none` (every caller is admin), `token-file=PATH`, a file of
    /// `TOKEN ROLES PROJECT` lines (ROLES comma-separated role names such as `admin` or
    /// `member`, PROJECT like default-domain:demo), or
    /// `keystone=URL,credentials=PATH`: tokens validated by the Keystone v3 at URL (http://),
    /// with a service user from PATH, `key = value` lines as in `[keystone_authtoken]`:
    /// username, password, project_name, user_domain_name and project_domain_name (both
    /// default `Default`). The token's project is the caller's; its `admin` role makes the
    /// caller cloud admin. Clients send the token in X-Auth-Token.
    #[arg(long, env = "CIRRUS_AUTH", default_value = "none")]
    auth: String,

    /// What callers may do once authenticated (Contrail's `aaa_mode`): `rbac` (api-access-list
    /// rules per role, and perms2 per object; the global list's default rules are created),
    /// `cloud-admin` (the legacy id_perms permissions; the cloud-admin role may do anything) or
    /// `no-auth` (everyone acts as admin). The cloud admin changes it at run time with
    /// `PUT /aaa-mode`, until the next start. Ignored with --auth none.
    #[arg(long, env = "CIRRUS_AAA_MODE", default_value = "rbac")]
    aaa_mode: cirrus_api::auth::AaaMode,

    /// The role that makes its holder the cloud admin (Contrail's `cloud_admin_role`).
    #[arg(long, env = "CIRRUS_CLOUD_ADMIN_ROLE", default_value = "admin")]
    cloud_admin_role: String,

    /// A role whose holders may read everything and change nothing (Contrail's
    /// `global_read_only_role`); none by default.
    #[arg(long, env = "CIRRUS_GLOBAL_READ_ONLY_ROLE")]
    global_read_only_role: Option<String>,

    /// Serve the API over TLS with this PEM certificate chain (with --tls-key).
    #[arg(long, env = "CIRRUS_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert.
    #[arg(long, env = "CIRRUS_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Default quotas for projects that set none (Contrail's `[QUOTA]` section), as
    /// `TYPE=LIMIT` with TYPE a field of QuotaType (`virtual_network=10`, `subnet=20`) or
    /// `defaults` (every type without its own default); repeatable or comma-separated. A
    /// project's own quota wins; negative is unlimited.
    #[arg(long, env = "CIRRUS_QUOTA_DEFAULTS", value_delimiter = ',')]
    quota_default: Vec<String>,

    /// Roles to run, comma-separated: `config` (the VNC REST API), `control` (the BGP speaker
    /// and its introspect), `analytics` (the flow collector and the analytics query API).
    /// Config and control read the same config index.
    #[arg(
        long,
        env = "CIRRUS_ROLES",
        value_delimiter = ',',
        default_value = "config,control,analytics"
    )]
    roles: Vec<Role>,

    /// Analytics query API (Contrail's opserver: /analytics/tables, POST /analytics/query).
    /// Default: --api-listen's address, port 8081; when defaulted and taken, analytics is
    /// skipped with a warning instead of stopping the controller.
    #[arg(long, env = "CIRRUS_ANALYTICS_LISTEN")]
    analytics_listen: Option<SocketAddr>,

    /// Where vrouters send flow records (`cirrus-vrouter --collector`). Default:
    /// --api-listen's address, port 8086 (Contrail's collector port).
    #[arg(long, env = "CIRRUS_COLLECTOR_LISTEN")]
    collector_listen: Option<SocketAddr>,

    /// Hours of flow records kept (in --data-dir/analytics, one directory per hour).
    #[arg(long, env = "CIRRUS_ANALYTICS_RETENTION_HOURS", default_value_t = 48)]
    analytics_retention_hours: u32,

    /// Flows denied per minute on one vrouter above which the analytics role raises its
    /// deny-rate alarm (`/analytics/alarms`).
    #[arg(long, env = "CIRRUS_ALARM_DENY_PER_MINUTE", default_value_t = 100)]
    alarm_deny_per_minute: u64,

    /// This control node's name: it runs as the bgp-router
    /// default-domain:default-project:ip-fabric:__default__:<HOSTNAME>. Default: the machine's
    /// hostname.
    #[arg(long, env = "CIRRUS_HOSTNAME")]
    hostname: Option<String>,

    /// BGP address for this node's bgp-router when it is created at first start (default
    /// 127.0.0.1); afterwards the object's address is used. The speaker listens on that
    /// address only, so several speakers can share a host on different loopback addresses.
    #[arg(long, env = "CIRRUS_BGP_ADDRESS")]
    bgp_address: Option<IpAddr>,

    /// BGP port for this node's bgp-router when it is created (default 179).
    #[arg(long, env = "CIRRUS_BGP_PORT")]
    bgp_port: Option<u16>,

    /// Address and port of the control node's JSON introspect (/bgp/neighbors, /routes) and
    /// of Prometheus' /metrics (also served on --api-listen).
    #[arg(
        long,
        env = "CIRRUS_INTROSPECT_LISTEN",
        default_value = "127.0.0.1:8083"
    )]
    introspect_listen: SocketAddr,

    /// Address and port where vrouters connect (the gRPC channel `cirrus.channel.v1`;
    /// Contrail's XMPP port). `none` turns the channel off.
    #[arg(long, env = "CIRRUS_CHANNEL_LISTEN", default_value = "127.0.0.1:5269")]
    channel_listen: String,

    /// Per-node tokens for the vrouter channel: a file of `HOSTNAME TOKEN` lines; a vrouter
    /// sends its token in Hello or as `authorization: Bearer <token>`. Without this flag the
    /// channel is open to any vrouter (logged at start).
    #[arg(long, env = "CIRRUS_CHANNEL_TOKEN_FILE")]
    channel_token_file: Option<PathBuf>,

    /// How long a vrouter's routes outlive its session (graceful restart), in seconds; 0
    /// withdraws them when the session ends.
    #[arg(long, env = "CIRRUS_CHANNEL_GRACEFUL_RESTART", default_value_t = 0)]
    channel_graceful_restart: u32,

    /// Address and port of the Neutron v2.0 API (config role; `none` turns it off). When
    /// defaulted and taken, it is skipped with a warning.
    #[arg(long, env = "CIRRUS_NEUTRON_LISTEN", default_value = neutron::DEFAULT_LISTEN)]
    neutron_listen: String,

    /// Log filter (tracing EnvFilter syntax), e.g. `info`, `cirrus_api=debug`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    log: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Role {
    /// The VNC REST API.
    Config,
    /// The BGP speaker and its introspect.
    Control,
    /// The flow collector and the analytics query API.
    Analytics,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.roles.is_empty() {
        anyhow::bail!("--roles: give one or more of config, control, analytics");
    }
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&args.log).context("--log")?)
        .with_target(false)
        // Colour only on a terminal: logs sent to a file or journald stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();

    let auth = cirrus_api::Auth::from_flag(&args.auth).map_err(anyhow::Error::msg)?;
    let quota_defaults = cirrus_api::QuotaDefaults::parse(&args.quota_default)
        .map_err(|e| anyhow::anyhow!("--quota-default: {e}"))?;
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

    if !quota_defaults.is_empty() {
        tracing::info!(quota_defaults = %quota_defaults.describe(), "default project quotas");
    }
    let settings = cirrus_api::Settings {
        auth: auth.clone(),
        access: cirrus_api::auth::AccessControl::new(
            args.aaa_mode,
            args.cloud_admin_role.clone(),
            args.global_read_only_role.clone(),
        ),
        quota_defaults,
    };
    let (store, store_metrics) = metered_store::MeteredStore::wrap(store);
    let probed_store = store.clone();
    let (state, router) = cirrus_api::start_with(store, settings)
        .await
        .map_err(|e| anyhow::anyhow!("starting the API: {e}"))?;
    let metrics = metrics::Metrics::new(state.clone(), store_metrics.clone());
    let router = router
        .layer(axum::middleware::from_fn_with_state(
            metrics.clone(),
            metrics::track,
        ))
        .merge(metrics.router());
    tracing::info!(store = %where_, objects = state.index().len(), "config loaded");

    let control = if args.roles.contains(&Role::Control) {
        let node = start_control(&args, state.clone(), metrics.router()).await?;
        metrics.set_control(node.speaker.clone(), node.hub.clone());
        Some(node)
    } else {
        None
    };

    let analytics = if args.roles.contains(&Role::Analytics) {
        start_analytics(&args).await?
    } else {
        None
    };
    if let Some((_, _, _, uves)) = &analytics {
        // The controller's own nodes in the UVEs: the roles this process runs.
        let src = analytics_feed::Sources {
            hostname: match &args.hostname {
                Some(h) => h.clone(),
                None => machine_hostname().unwrap_or_else(|_| "localhost".into()),
            },
            state: state.clone(),
            control: control.as_ref().map(|n| analytics_feed::ControlSources {
                speaker: n.speaker.clone(),
                hub: n.hub.clone(),
                bgp_listen: n.bgp_listen,
            }),
            config: args
                .roles
                .contains(&Role::Config)
                .then(|| analytics_feed::ConfigSources {
                    store: probed_store.clone(),
                    store_kind: if args.store == "embedded" {
                        "redb"
                    } else {
                        "etcd"
                    }
                    .into(),
                    store_addrs: if args.store == "embedded" {
                        vec![args.data_dir.join("cirrus.redb").display().to_string()]
                    } else {
                        args.store
                            .trim_start_matches("etcd://")
                            .split(',')
                            .map(str::to_string)
                            .collect()
                    },
                    store_metrics: store_metrics.clone(),
                    metrics: metrics.clone(),
                    api_listen: args.api_listen,
                }),
        };
        analytics_feed::spawn(src, uves.clone(), std::time::Duration::from_secs(1));
    }

    let served = if args.roles.contains(&Role::Config) {
        let listener = tokio::net::TcpListener::bind(args.api_listen)
            .await
            .with_context(|| format!("binding --api-listen {}", args.api_listen))?;
        neutron::start(&args.neutron_listen, state.clone()).await?;
        // The web console at /ui/, beside the API: its app calls the API with the caller's
        // token, so it has the API's auth.
        let mut router = router.merge(cirrus_console::router());
        let analytics_at = analytics.as_ref().map(|a| a.2);
        if control.is_some() || analytics_at.is_some() {
            router = router.merge(console_control(
                control.as_ref(),
                analytics_at,
                state.clone(),
            ));
        }
        if cirrus_console::BUILT {
            tracing::info!(console = %format!("http://{}/ui/", args.api_listen), "web console");
        } else {
            tracing::warn!(
                "web console not built (no web/dist at build time): /ui/ says how to build it"
            );
        }
        tracing::info!(
            api = %format!("{}://{}", if args.tls_cert.is_some() { "https" } else { "http" }, args.api_listen),
            store = %where_,
            auth = %auth.describe(),
            aaa_mode = %args.aaa_mode,
            "cirrus-controller serving the VNC API"
        );
        match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => {
                let listener = tls::TlsListener::new(listener, tls::acceptor(cert, key)?)?;
                axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown())
                    .await
            }
            _ => {
                axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown())
                    .await
            }
        }
        .context("serving the API")
    } else {
        shutdown().await;
        Ok(())
    };
    if let Some(c) = control {
        // Cease to every peer, so they drop the session now rather than at hold-timer expiry.
        c.shutdown().await;
    }
    if let Some((stop, task, _, _)) = analytics {
        let _ = stop.send(());
        let _ = task.await;
    }
    served?;
    tracing::info!("cirrus-controller stopped");
    Ok(())
}

/// Starts the control node: its bgp-router, the speaker, the config follower, introspect.
async fn start_control(
    args: &Args,
    state: std::sync::Arc<cirrus_api::ApiState>,
    metrics: axum::Router,
) -> anyhow::Result<cirrus_control::ControlNode> {
    let hostname = match &args.hostname {
        Some(h) => h.clone(),
        None => machine_hostname()?,
    };
    let channel_listen =
        match args.channel_listen.as_str() {
            "none" | "" => None,
            s => Some(s.parse::<SocketAddr>().with_context(|| {
                format!("--channel-listen {s:?}: expected ADDRESS:PORT or none")
            })?),
        };
    let channel_auth = match &args.channel_token_file {
        Some(p) => cirrus_control::channel::ChannelAuth::from_file(p)
            .map_err(|e| anyhow::anyhow!("--channel-token-file: {e}"))?,
        None => {
            if channel_listen.is_some() {
                tracing::warn!(
                    "vrouter channel is open: no --channel-token-file, so any vrouter that connects is accepted"
                );
            }
            cirrus_control::channel::ChannelAuth::Open
        }
    };
    let opts = cirrus_control::ControlOptions {
        hostname: hostname.clone(),
        bgp_address: args.bgp_address,
        bgp_port: args.bgp_port,
        introspect_listen: args.introspect_listen,
        channel_listen,
        channel_auth,
        graceful_restart_seconds: args.channel_graceful_restart,
        extra_routes: Some(metrics),
    };
    let node = cirrus_control::ControlNode::start(state, opts)
        .await
        .map_err(|e| match e {
            cirrus_control::ControlError::BgpListen { addr, source } => {
                let why = match source.kind() {
                    std::io::ErrorKind::AddrInUse => "another BGP speaker holds it".to_string(),
                    std::io::ErrorKind::PermissionDenied => {
                        format!("port {} needs root or CAP_NET_BIND_SERVICE", addr.port())
                    }
                    std::io::ErrorKind::AddrNotAvailable => {
                        format!("no interface has address {}", addr.ip())
                    }
                    _ => "see the error above".to_string(),
                };
                anyhow::anyhow!(
                    "cannot listen for BGP on {addr}: {source}\n  ({why}: give this node another \
                     address or port with --bgp-address / --bgp-port when its bgp-router is first \
                     created, else in the bgp-router's bgp_router_parameters; or run the API alone \
                     with --roles config)"
                )
            }
            cirrus_control::ControlError::ChannelListen { addr, source } => anyhow::anyhow!(
                "binding --channel-listen {addr}: {source} (choose another with --channel-listen, \
                 or turn the channel off with --channel-listen none)"
            ),
            cirrus_control::ControlError::IntrospectListen { addr, source } => anyhow::anyhow!(
                "binding --introspect-listen {addr}: {source} (choose another with \
                 --introspect-listen or run --roles config)"
            ),
            other => anyhow::anyhow!("starting the control node ({hostname}): {other}"),
        })?;
    tracing::info!(
        bgp_router = %node.router_fq_name,
        bgp = %node.bgp_listen,
        introspect = %format!("http://{}", node.introspect_listen),
        channel = %node.channel_listen.map_or("off".to_string(), |c| c.to_string()),
        peers = node.peers,
        instances = node.instances,
        "cirrus-controller running the control node"
    );
    Ok(node)
}

/// The control node's introspect (BGP peers, routes, vrouters) for the web console, under
/// `/ui/control/` on the API's listener, with the vrouters' introspect and the analytics query
/// API under `/ui/vrouter/` and `/ui/analytics/` (`console_proxy.rs`), for admins by the API's
/// own auth (the console's page cannot reach the other listeners: other origins).
fn console_control(
    node: Option<&cirrus_control::ControlNode>,
    analytics: Option<SocketAddr>,
    state: std::sync::Arc<cirrus_api::ApiState>,
) -> axum::Router {
    use axum::response::IntoResponse;
    let mut router = console_proxy::router(node.and_then(|n| n.hub.clone()), analytics);
    if let Some(node) = node {
        let introspect = cirrus_control::introspect::router(node.speaker.clone(), node.hub.clone());
        router = router.nest("/ui/control", introspect);
    }
    router.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let state = state.clone();
            async move {
                // Under --auth keystone the token is validated first (cached after).
                let checked =
                    cirrus_api::auth::keystone_project::check(&state, req.headers()).await;
                let caller = checked.and_then(|()| state.identify(req.headers()));
                match caller {
                    Ok(c) if c.admin => next.run(req).await,
                    Ok(_) => (
                        axum::http::StatusCode::FORBIDDEN,
                        "the control node's state is for admins only",
                    )
                        .into_response(),
                    Err(e) => e.into_response(),
                }
            }
        },
    ))
}

/// Binds one analytics listener: a bind failure is fatal when the address was given, and a
/// warning (`None`) when it was the default.
async fn bind_analytics(
    flag: &str,
    given: Option<SocketAddr>,
    default: SocketAddr,
) -> anyhow::Result<Option<tokio::net::TcpListener>> {
    match tokio::net::TcpListener::bind(given.unwrap_or(default)).await {
        Ok(l) => Ok(Some(l)),
        Err(e) if given.is_none() => {
            tracing::warn!(
                "analytics not started: binding the default {flag} {default}: {e} (give {flag}, \
                 or leave analytics out of --roles)"
            );
            Ok(None)
        }
        Err(e) => Err(anyhow::anyhow!(
            "binding {flag} {}: {e}",
            given.unwrap_or(default)
        )),
    }
}

/// The analytics role: its stop signal, its task, where its query API listens, and its
/// UVEs (to feed the controller's own nodes into).
type AnalyticsTask = (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
    SocketAddr,
    std::sync::Arc<cirrus_analytics::uve::Uves>,
);

/// Starts the analytics node: the store in --data-dir/analytics, the collector, the API.
async fn start_analytics(args: &Args) -> anyhow::Result<Option<AnalyticsTask>> {
    let ip = args.api_listen.ip();
    let Some(api) = bind_analytics(
        "--analytics-listen",
        args.analytics_listen,
        SocketAddr::new(ip, 8081),
    )
    .await?
    else {
        return Ok(None);
    };
    let Some(collector) = bind_analytics(
        "--collector-listen",
        args.collector_listen,
        SocketAddr::new(ip, 8086),
    )
    .await?
    else {
        return Ok(None);
    };
    let dir = args.data_dir.join("analytics");
    let api_at = api.local_addr()?;
    let mut cfg = cirrus_analytics::server::AnalyticsConfig::new(dir.clone());
    cfg.retention_hours = args.analytics_retention_hours;
    cfg.alarms.deny_per_minute = args.alarm_deny_per_minute;
    tracing::info!(
        api = %format!("http://{}", api.local_addr()?),
        collector = %collector.local_addr()?,
        dir = %dir.display(),
        retention_hours = cfg.retention_hours,
        "cirrus-controller running analytics"
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let uves = cfg.uves.clone();
    let task = tokio::spawn(async move {
        let r = cirrus_analytics::server::serve(cfg, api, collector, async {
            let _ = stopped.await;
        })
        .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "analytics stopped");
        }
    });
    Ok(Some((stop, task, api_at, uves)))
}

/// The machine's hostname, short form (what Contrail's provisioning names control nodes by).
fn machine_hostname() -> anyhow::Result<String> {
    let raw = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .unwrap_or_default();
    let name = raw.trim().split('.').next().unwrap_or("").to_string();
    if name.is_empty() {
        anyhow::bail!("cannot tell this machine's hostname: give --hostname");
    }
    Ok(name)
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
