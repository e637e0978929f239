//! `sandbox up`: checks what the sandbox needs, builds the lab, starts the controller and the
//! vrouters, waits until every vrouter is connected, keeps the lab running and says what to
//! try; with `--demo`, hands over to `demo.rs`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;

use cirrus_lab::{ControllerSpec, Lab, LabSpec, VrouterSpec};

use super::Sandbox;

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Compute nodes (c1..cN), each with its own vrouter
    #[arg(long, default_value_t = 2, value_name = "N",
          value_parser = clap::value_parser!(u32).range(0..=50))]
    pub computes: u32,

    /// Then build two tenants, a policy, a floating IP and workloads, and show pings
    #[arg(long)]
    pub demo: bool,

    /// Where the controller serves the VNC API
    #[arg(
        long,
        env = "CIRRUS_SANDBOX_API_LISTEN",
        default_value = "127.0.0.1:8082",
        value_name = "ADDR:PORT"
    )]
    pub api_listen: SocketAddr,

    /// Where the controller serves its introspect
    #[arg(long, default_value = "127.0.0.1:8083", value_name = "ADDR:PORT")]
    pub introspect_listen: SocketAddr,

    /// Where the controller serves the analytics query API (flows recorded by the
    /// vrouters, which send them to its collector on the underlay, port 8086)
    #[arg(long, default_value = "127.0.0.1:8081", value_name = "ADDR:PORT")]
    pub analytics_listen: SocketAddr,

    /// The cirrus-controller program [default: beside cirrusctl]
    #[arg(long, env = "CIRRUS_CONTROLLER_BIN", value_name = "PATH")]
    pub controller_bin: Option<PathBuf>,

    /// The cirrus-vrouter program [default: beside cirrusctl]
    #[arg(long, env = "CIRRUS_VROUTER_BIN", value_name = "PATH")]
    pub vrouter_bin: Option<PathBuf>,

    /// The vrouters' packet I/O (their --io): af-packet-gso (their default; workloads keep
    /// their checksum and segmentation offloads on), af-packet, tpacket or af-xdp (workload
    /// offloads are turned off for these, which read one whole frame at a time)
    #[arg(long, value_name = "IO")]
    pub vrouter_io: Option<String>,

    /// IPFIX collectors the vrouters also export their flows to (their --ipfix), e.g. an
    /// nfcapd listening on the underlay
    #[arg(long, value_delimiter = ',', value_name = "HOST:PORT[,...]")]
    pub vrouter_ipfix: Vec<SocketAddr>,

    /// How long to wait for each program to come up, in seconds
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub timeout: u64,
}

/// The program `name`: the flag's path, else beside this executable.
pub fn find_program(name: &str, flag: Option<&Path>, flag_name: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = flag {
        if !path.is_file() {
            bail!("{flag_name} {}: no such file", path.display());
        }
        return Ok(path.to_path_buf());
    }
    let exe = std::env::current_exe().context("finding cirrusctl's own path")?;
    let beside = exe.with_file_name(name);
    if beside.is_file() {
        return Ok(beside);
    }
    bail!(
        "{name} is not beside cirrusctl ({}): build it (cargo build --release -p {name}) or give \
         {flag_name}",
        beside.display()
    )
}

/// Root and the tools a sandbox runs.
fn check_machine() -> anyhow::Result<()> {
    let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    });
    if !root {
        bail!("the sandbox makes network namespaces: run it as root (sudo cirrusctl sandbox up)");
    }
    let missing: Vec<&str> = ["ip", "nft", "ethtool", "busybox"]
        .into_iter()
        .filter(|t| !cirrus_lab::installed(t))
        .collect();
    if !missing.is_empty() {
        bail!(
            "the sandbox needs {} (Debian: apt-get install iproute2 nftables ethtool busybox; \
             scripts/run.sh installs them)",
            missing.join(", ")
        );
    }
    Ok(())
}

/// Removes what a sandbox leaves in its state dir (only the entries it makes), and the dir
/// itself when that leaves it empty.
pub fn clear_state_dir(dir: &Path, keep_logs: bool) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = matches!(
            name.as_str(),
            "controller" | "leases" | "udhcpc.script" | "lab.lock" | "lab.json.tmp"
        ) || (name == "logs" && !keep_logs)
            || cirrus_lab::plan::parse_compute(&name).is_some();
        if !ours {
            continue;
        }
        let path = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.with_context(|| format!("removing {}", path.display()))?;
    }
    let _ = std::fs::remove_dir(dir);
    Ok(())
}

pub fn up(sandbox: &Sandbox, args: UpArgs, token: Option<String>) -> anyhow::Result<()> {
    let started = Instant::now();
    let timeout = Duration::from_secs(args.timeout);
    check_machine()?;
    let controller_bin = find_program(
        "cirrus-controller",
        args.controller_bin.as_deref(),
        "--controller-bin",
    )?;
    let vrouter_bin = if args.computes > 0 {
        Some(find_program(
            "cirrus-vrouter",
            args.vrouter_bin.as_deref(),
            "--vrouter-bin",
        )?)
    } else {
        None
    };
    if let Some(state) = Lab::read(&sandbox.dir)? {
        bail!(
            "sandbox {} is already up (state in {}): see `cirrusctl sandbox status`, or remove it \
             with `cirrusctl sandbox down`",
            state.prefix,
            sandbox.dir.display()
        );
    }
    // What an earlier sandbox left (its controller's data, logs) would leak into this one.
    clear_state_dir(&sandbox.dir, false)?;

    println!(
        "Building the underlay and {} compute node{} ({} prefix)...",
        args.computes,
        if args.computes == 1 { "" } else { "s" },
        sandbox.prefix
    );
    let offloads = args
        .vrouter_io
        .as_deref()
        .is_none_or(|io| io == "af-packet-gso");
    let spec = LabSpec::new(&sandbox.prefix, &sandbox.dir)
        .computes(args.computes)
        .workload_offloads(offloads);
    let mut lab = Lab::create(&spec).context("building the sandbox's namespaces")?;
    // From here on, a failure drops `lab`, which removes everything made so far.
    let logs = lab.log_dir();
    let result = start_services(&mut lab, &args, controller_bin, vrouter_bin, timeout);
    if let Err(e) = result {
        drop(lab);
        return Err(e.context(format!(
            "the sandbox was removed again; the logs are in {}",
            logs.display()
        )));
    }
    lab.keep();

    let api = format!("http://{}", args.api_listen);
    let plan = lab.plan().clone();
    let nodes: Vec<String> = lab
        .state()
        .computes
        .iter()
        .map(|c| format!("{} {}", c.name, c.address))
        .collect();
    println!(
        "\nCirrus sandbox is up in {:.1} s.\n  \
         VNC API     {api}   (vnc_api, cirrusctl, curl: any Contrail client)\n  \
         introspect  http://{}\n  \
         underlay    {}/24: controller {}{}{}\n  \
         state       {}  (logs in {})",
        started.elapsed().as_secs_f64(),
        args.introspect_listen,
        plan.underlay_addr(0),
        plan.root_addr(),
        if nodes.is_empty() { "" } else { ", " },
        nodes.join(", "),
        sandbox.dir.display(),
        logs.display(),
    );
    if args.demo {
        let client = crate::client::Client::new(&api, token);
        return super::demo::run(&mut lab, &client, started);
    }
    let first = lab
        .state()
        .computes
        .first()
        .map_or("c1", |c| c.name.as_str())
        .to_string();
    let second = lab
        .state()
        .computes
        .get(1)
        .map_or(first.as_str(), |c| c.name.as_str())
        .to_string();
    println!(
        "\nTry:\n  \
         export CIRRUS_API={api}\n  \
         cirrusctl apply -f examples/demo.yaml\n  \
         cirrusctl sandbox workload add web1 --compute {first} --network default-domain:demo:web\n  \
         cirrusctl sandbox workload add web2 --compute {second} --network default-domain:demo:web\n  \
         cirrusctl sandbox exec web1 -- ping -c 3 <web2's address>\n  \
         cirrusctl sandbox status\n  \
         cirrusctl sandbox down"
    );
    Ok(())
}

fn start_services(
    lab: &mut Lab,
    args: &UpArgs,
    controller_bin: PathBuf,
    vrouter_bin: Option<PathBuf>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let mut controller = ControllerSpec::new(lab, controller_bin);
    controller.api_listen = args.api_listen;
    controller.introspect_listen = args.introspect_listen;
    // Analytics: the query API where asked, the collector beside the channel (the vrouters
    // reach the controller on the underlay).
    let collector = controller
        .channel_listen
        .map(|c| std::net::SocketAddr::new(c.ip(), 8086));
    controller.extra_args.extend([
        "--analytics-listen".to_string(),
        args.analytics_listen.to_string(),
    ]);
    if let Some(c) = collector {
        controller
            .extra_args
            .extend(["--collector-listen".to_string(), c.to_string()]);
    }
    lab.set_meta(
        "analytics",
        json!(format!("http://{}", args.analytics_listen)),
    )?;
    lab.set_meta("api", json!(controller.api_url()))?;
    lab.set_meta("introspect", json!(controller.introspect_url()))?;
    println!(
        "Starting cirrus-controller (API {}, channel {})...",
        controller.api_url(),
        controller
            .channel_listen
            .map_or("-".to_string(), |c| c.to_string())
    );
    lab.start_controller(&controller, timeout)?;
    let Some(vrouter_bin) = vrouter_bin else {
        return Ok(());
    };
    let channel = controller
        .channel_listen
        .expect("the sandbox's controller serves the channel");
    let names: Vec<String> = lab
        .state()
        .computes
        .iter()
        .map(|c| c.name.clone())
        .collect();
    for name in &names {
        println!("Starting cirrus-vrouter on {name}...");
        let mut spec = VrouterSpec::new(name, &vrouter_bin, &[channel]);
        if let Some(io) = &args.vrouter_io {
            spec.extra_args = vec!["--io".into(), io.clone()];
        }
        if let Some(c) = collector {
            // Sampled every second: a sandbox's short test connections show their bytes.
            spec.extra_args.extend([
                "--collector".to_string(),
                c.to_string(),
                "--flow-export-interval".to_string(),
                "1".to_string(),
            ]);
        }
        if !args.vrouter_ipfix.is_empty() {
            let to: Vec<String> = args.vrouter_ipfix.iter().map(|a| a.to_string()).collect();
            spec.extra_args
                .extend(["--ipfix".to_string(), to.join(",")]);
            if collector.is_none() {
                spec.extra_args
                    .extend(["--flow-export-interval".to_string(), "1".to_string()]);
            }
        }
        lab.start_vrouter(&spec, timeout)?;
    }
    println!("Waiting until the vrouters are connected...");
    cirrus_lab::wait_vrouters_connected(&controller.introspect_url(), &names, timeout)?;
    Ok(())
}
