//! `cirrus-vrouter`: the Cirrus vRouter for one compute node, agent and forwarding pipeline
//! in one process. Flags, logging and wiring only; everything else is `cirrus-agent`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cirrus_agent::fabric::link;
use cirrus_agent::introspect::{self, Introspect};
use cirrus_agent::node::{AgentOptions, Io, SystemDevices, controller, ipc, start};
use cirrus_agent::port_ipc::{PortIpc, PortIpcConfig};
use cirrus_packet_io::af_packet_gso::GsoConfig;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// The Cirrus vRouter: connects to one or two Cirrus controllers over the channel, gets
/// this node's slice of the config and the routes of the networks its workloads are in,
/// programs the forwarding pipeline and runs it on the workloads' interfaces and the
/// fabric interface (whose address is this vrouter's tunnel endpoint; the node's own
/// traffic on it is left to the kernel). Workloads get their address by DHCP from it;
/// new flows are decided by network policy, security groups and firewall policies.
///
/// Ports are added by Contrail's port IPC (nova's vif driver, the CNI) and kept in the
/// state dir with their MPLS labels, so a restart carries on where it stopped.
///
/// Examples:
///   cirrus-vrouter --controller 198.18.0.1:5269 --hostname c1 --fabric-interface eth0 \
///       --state-dir /var/lib/cirrus-vrouter
///   cirrus-vrouter --controller 10.0.0.1:5269 --controller 10.0.0.2:5269 --hostname c7 \
///       --fabric-interface ens3 --token-file /etc/cirrus/vrouter.token
///   curl -s 127.0.0.1:8085/routes?instance=default-domain:demo:red:red
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// A controller's channel, HOST:PORT (Contrail's XMPP port 5269 by default on the
    /// controller). Give it twice for two controllers: the forwarding state is the union
    /// of what both send, and losing one changes nothing while the other is there.
    #[arg(
        long = "controller",
        required = true,
        num_args = 1,
        value_name = "HOST:PORT"
    )]
    controllers: Vec<String>,

    /// This vrouter's name: it is the virtual-router
    /// default-global-system-config:<NAME> (created by the controller if missing) and
    /// ports bound to host NAME are placed here. Default: the machine's hostname.
    #[arg(long, env = "CIRRUS_HOSTNAME")]
    hostname: Option<String>,

    /// The fabric (underlay) interface. Its IPv4 address is this vrouter's tunnel endpoint.
    #[arg(long, default_value = "eth0")]
    fabric_interface: String,

    /// Where ports and MPLS labels are kept across restarts.
    #[arg(long, default_value = "/var/lib/cirrus-vrouter")]
    state_dir: PathBuf,

    /// A file with this node's channel token: one line `TOKEN`, or `HOSTNAME TOKEN` lines
    /// of which this hostname's is used (the controller's --channel-token-file format).
    #[arg(long)]
    token_file: Option<PathBuf>,

    /// Contrail's port IPC (nova's vif driver and the CNI post ports here).
    #[arg(long, default_value = "127.0.0.1:9091")]
    port_ipc_listen: SocketAddr,

    /// JSON introspect: /ports, /vrfs, /routes, /flows, /drops, /controllers, ...
    #[arg(long, default_value = "127.0.0.1:8085")]
    introspect_listen: SocketAddr,

    /// Forwarding threads (each with its own flow table).
    #[arg(long, default_value_t = 1)]
    workers: usize,

    /// How interfaces are read and written: af-packet-gso (AF_PACKET with virtio-net
    /// headers: workloads keep their offloads on, TCP super-frames are cut to what crosses
    /// the fabric in one packet), af-packet, tpacket (TPACKET_V3 rings; workloads need
    /// their offloads off) or af-xdp (AF_XDP in copy mode).
    #[arg(long, default_value = "af-packet-gso")]
    io: Io,

    /// The analytics collector (`cirrus-controller --collector-listen`, port 8086) that
    /// receives this node's flow and session records and its ports' counters
    /// (`StatTable.VMIStats.*`); without it nothing is exported.
    #[arg(long, env = "CIRRUS_COLLECTOR")]
    collector: Option<SocketAddr>,

    /// IPFIX collectors (RFC 7011 over UDP, e.g. nfcapd) that receive this node's flow
    /// records, comma-separated; with or without --collector.
    #[arg(
        long,
        env = "CIRRUS_IPFIX",
        value_delimiter = ',',
        value_name = "HOST:PORT[,...]"
    )]
    ipfix: Vec<SocketAddr>,

    /// Seconds between flow samples (byte and packet deltas of live flows, teardowns) and
    /// between samples of the ports' counters.
    #[arg(long, default_value_t = 5)]
    flow_export_interval: u64,

    /// Log filter (tracing EnvFilter syntax), e.g. `info`, `cirrus_agent=debug`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    log: String,
}

/// The token for `hostname` from a token file.
fn read_token(path: &Path, hostname: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--token-file {}", path.display()))?;
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            [t] => return Ok(t.to_string()),
            [h, t] if *h == hostname => return Ok(t.to_string()),
            _ => {}
        }
    }
    anyhow::bail!(
        "--token-file {}: no token for host {hostname}",
        path.display()
    )
}

fn machine_hostname() -> anyhow::Result<String> {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name = raw.trim().split('.').next().unwrap_or("").to_string();
    if name.is_empty() {
        anyhow::bail!("cannot tell this machine's hostname: give --hostname");
    }
    Ok(name)
}

async fn shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&args.log).context("--log")?)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    if args.controllers.len() > 2 {
        anyhow::bail!("--controller: at most two (got {})", args.controllers.len());
    }
    let hostname = match &args.hostname {
        Some(h) => h.clone(),
        None => machine_hostname()?,
    };
    let token = args
        .token_file
        .as_deref()
        .map(|p| read_token(p, &hostname))
        .transpose()?;
    let fabric = link::fabric_addr(&args.fabric_interface)?;
    std::fs::create_dir_all(&args.state_dir)
        .with_context(|| format!("creating --state-dir {}", args.state_dir.display()))?;
    let (port_ipc, ipc_events) = PortIpc::open(PortIpcConfig::new(&args.state_dir))
        .with_context(|| format!("reading the ports kept in {}", args.state_dir.display()))?;
    for e in port_ipc.load_errors() {
        tracing::warn!(error = ?e, "a kept port could not be read (left in place)");
    }
    let ipc_listener = tokio::net::TcpListener::bind(args.port_ipc_listen)
        .await
        .with_context(|| format!("binding --port-ipc-listen {}", args.port_ipc_listen))?;
    let mut opts = AgentOptions::new(
        &hostname,
        args.state_dir.clone(),
        &args.fabric_interface,
        fabric,
    );
    opts.oper = Some(port_ipc.oper().clone());
    opts.controllers = args.controllers.iter().map(|c| controller(c)).collect();
    opts.token = token;
    opts.workers = args.workers.max(1);
    opts.neighbours = link::kernel_neighbours(&args.fabric_interface);
    opts.flow_export = (args.collector.is_some() || !args.ipfix.is_empty()).then(|| {
        cirrus_agent::flow_export::FlowExportConfig {
            collector: args.collector,
            ipfix: args.ipfix.clone(),
            interval: std::time::Duration::from_secs(args.flow_export_interval.max(1)),
            queue: 64,
        }
    });
    let gso = GsoConfig::for_fabric_mtu(link::mtu(&args.fabric_interface)?);
    let running = start(opts, Box::new(SystemDevices { io: args.io, gso }))
        .with_context(|| format!("starting the vrouter {hostname}"))?;

    let listener = tokio::net::TcpListener::bind(args.introspect_listen)
        .await
        .with_context(|| format!("binding --introspect-listen {}", args.introspect_listen))?;
    let intro = Introspect::of(&running);
    tokio::spawn(introspect::serve(intro, listener, shutdown()));
    tokio::spawn(ipc::follow(
        port_ipc.clone(),
        ipc_events,
        running.events.clone(),
    ));
    tokio::spawn(port_ipc.serve(ipc_listener, shutdown()));
    tracing::info!(
        hostname = %hostname,
        underlay = %fabric.ip,
        fabric = %args.fabric_interface,
        controllers = ?args.controllers,
        introspect = %format!("http://{}", args.introspect_listen),
        port_ipc = %args.port_ipc_listen,
        "cirrus-vrouter running"
    );
    shutdown().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}
