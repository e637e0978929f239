//! `cirrusctl sandbox`: a whole Cirrus on this machine, in network namespaces (the `cirrus-lab`
//! crate): a controller in the root namespace whose VNC API any client can use, a vrouter per
//! compute node, workloads that take their address from our DHCP, and a demo of two tenants.
//! This file holds the command line and where the sandbox lives; `up`, `workload`, `demo` and
//! `status` hold the commands.

mod demo;
mod status;
mod up;
mod workload;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::output::Format;
use cirrus_lab::Lab;

pub use up::UpArgs;
pub use workload::{AddArgs, DelArgs};

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Starts the name of every namespace and link the sandbox makes (lowercase letters and
    /// digits)
    #[arg(
        long,
        global = true,
        env = "CIRRUS_SANDBOX_PREFIX",
        default_value = "cirrus",
        value_name = "PREFIX"
    )]
    pub prefix: String,

    /// Where the sandbox keeps its state file, logs and the controller's data
    /// [default: /run/cirrus-sandbox/<PREFIX>]
    #[arg(long, global = true, env = "CIRRUS_SANDBOX_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: SandboxCommand,
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Build the underlay, start a controller and N vrouters (c1..cN), wait until they are
    /// connected, and print the API URL
    #[command(
        long_about = "Build a Cirrus on this machine (root): an underlay in network namespaces \
(198.18.0.0/15, a bridge, MTU 65535), a cirrus-controller in the root namespace (VNC API on \
--api-listen, embedded store in the state dir, its channel on the underlay), and one \
cirrus-vrouter per compute node c1..cN, each in its own namespace. Waits until every vrouter is \
connected to the controller, then prints the API URL and what to try.\n\n\
With --demo it then builds two tenants with the same subnet, a policy between two networks, a \
floating IP and six workloads, pings between them, and prints which pings work and which the \
policy blocks, with the time from `up` to the first successful ping.\n\n\
The programs are found beside cirrusctl, or given by --controller-bin / --vrouter-bin \
(CIRRUS_CONTROLLER_BIN / CIRRUS_VROUTER_BIN). If anything fails, everything made so far is \
removed and the logs are kept in <DIR>/logs.",
        after_help = "Examples:\n  \
cirrusctl sandbox up\n  \
cirrusctl sandbox up --demo\n  \
cirrusctl sandbox up --computes 3 --api-listen 127.0.0.1:9082"
    )]
    Up(UpArgs),

    /// Add or remove a workload (a namespace with a port in a virtual network)
    #[command(subcommand)]
    Workload(WorkloadCommand),

    /// Run a command inside a workload's (or a compute node's) namespace
    #[command(after_help = "Examples:\n  \
cirrusctl sandbox exec red-web1 -- ping -c 3 10.1.1.4\n  \
cirrusctl sandbox exec red-web1 -- ip addr\n  \
cirrusctl sandbox exec c1 -- tcpdump -ni eth0 udp port 6635")]
    Exec {
        /// A workload, a compute node (c1, c2, ...) or `underlay`
        #[arg(value_name = "NAME")]
        name: String,
        /// The command and its arguments, after --
        #[arg(last = true, required = true, value_name = "CMD")]
        argv: Vec<String>,
    },

    /// Show the sandbox: processes, compute nodes, workloads and where the logs are
    Status,

    /// Remove every namespace, link and process of the sandbox (also after a crash) and its
    /// state dir
    Down {
        /// Keep <DIR>/logs
        #[arg(long)]
        keep_logs: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WorkloadCommand {
    /// Create a port in a network through the API, a workload namespace joined to a compute
    /// node, and run a DHCP client in it
    #[command(
        long_about = "Create a workload: through the VNC API a virtual-machine NAME, its \
virtual-machine-interface <project>:NAME in --network (bound to the compute node: \
virtual_machine_interface_bindings host_id = --compute) and an instance-ip NAME-v4; then a \
namespace joined to the compute node by a veth pair, the port handed to that node's vrouter \
(POST /port on its port IPC, as nova and Contrail's CNI do), and busybox udhcpc run inside. \
Prints the address DHCP gave.",
        after_help = "Example:\n  \
cirrusctl sandbox workload add web1 --compute c1 --network default-domain:demo:web"
    )]
    Add(AddArgs),
    /// Remove a workload: its port on the vrouter, its namespace and its API objects
    Del(DelArgs),
}

/// Where the sandbox lives.
pub struct Sandbox {
    pub prefix: String,
    pub dir: PathBuf,
}

impl Sandbox {
    pub fn from_args(args: &SandboxArgs) -> anyhow::Result<Sandbox> {
        cirrus_lab::plan::check_prefix(&args.prefix).context("--prefix")?;
        let dir = args
            .state_dir
            .clone()
            .unwrap_or_else(|| Path::new("/run/cirrus-sandbox").join(&args.prefix));
        Ok(Sandbox {
            prefix: args.prefix.clone(),
            dir,
        })
    }

    /// The running sandbox's lab, locked for change.
    pub fn open(&self) -> anyhow::Result<Lab> {
        if Lab::read(&self.dir)?.is_none() {
            bail!(
                "no sandbox is up in {} (start one with `cirrusctl sandbox up`)",
                self.dir.display()
            );
        }
        Ok(Lab::open(&self.dir)?)
    }

    /// The API URL the sandbox's controller serves.
    pub fn api_url(lab: &Lab) -> String {
        lab.meta("api")
            .and_then(|v| v.as_str())
            .unwrap_or("http://127.0.0.1:8082")
            .to_string()
    }
}

/// Runs one sandbox command. `token` is the global `--token`, sent to the sandbox's API.
pub fn run(args: SandboxArgs, token: Option<String>, format: Format) -> anyhow::Result<()> {
    let sandbox = Sandbox::from_args(&args)?;
    match args.command {
        SandboxCommand::Up(up) => up::up(&sandbox, up, token),
        SandboxCommand::Workload(WorkloadCommand::Add(add)) => {
            let mut lab = sandbox.open()?;
            let api = crate::client::Client::new(&Sandbox::api_url(&lab), token);
            let added = workload::add(&mut lab, &api, &add)?;
            println!("{added}");
            Ok(())
        }
        SandboxCommand::Workload(WorkloadCommand::Del(del)) => {
            let mut lab = sandbox.open()?;
            let api = crate::client::Client::new(&Sandbox::api_url(&lab), token);
            workload::del(&mut lab, &api, &del.name)?;
            println!("removed workload {}", del.name);
            Ok(())
        }
        SandboxCommand::Exec { name, argv } => exec(&sandbox, &name, &argv),
        SandboxCommand::Status => status::status(&sandbox, format),
        SandboxCommand::Down { keep_logs } => down(&sandbox, keep_logs),
    }
}

/// `sandbox exec`: runs the command in the namespace with this terminal, and exits with its
/// status.
fn exec(sandbox: &Sandbox, name: &str, argv: &[String]) -> anyhow::Result<()> {
    let Some(state) = Lab::read(&sandbox.dir)? else {
        bail!("no sandbox is up in {}", sandbox.dir.display());
    };
    let plan = cirrus_lab::Plan::new(&state.prefix, state.subnet)?;
    let ns = if let Some(c) = state.compute(name) {
        c.netns.clone()
    } else if let Some(w) = state.workload(name) {
        w.netns.clone()
    } else if name == "underlay" {
        plan.underlay_ns()
    } else {
        let known: Vec<&str> = state
            .workloads
            .iter()
            .map(|w| w.name.as_str())
            .chain(state.computes.iter().map(|c| c.name.as_str()))
            .collect();
        bail!(
            "no workload or compute node named {name} (the sandbox has: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    };
    let status = Lab::command_in(&ns, argv)
        .status()
        .with_context(|| format!("running ip netns exec {ns} {}", argv.join(" ")))?;
    std::process::exit(status.code().unwrap_or(1));
}

/// `sandbox down`.
fn down(sandbox: &Sandbox, keep_logs: bool) -> anyhow::Result<()> {
    if Lab::read(&sandbox.dir)?.is_some() {
        let report = Lab::open(&sandbox.dir)?.down();
        println!("{report}");
        if !report.clean() {
            bail!(
                "the sandbox could not be removed completely (state kept in {}; run `cirrusctl \
                 sandbox down` again once the problem is solved)",
                sandbox.dir.display()
            );
        }
    } else if let Some(report) = Lab::sweep(&sandbox.prefix, &sandbox.dir)? {
        println!(
            "no state file in {}; swept what the prefix names: {report}",
            sandbox.dir.display()
        );
    } else {
        println!("no sandbox is up in {}", sandbox.dir.display());
    }
    up::clear_state_dir(&sandbox.dir, keep_logs)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<SandboxArgs, clap::Error> {
        let cli = crate::Cli::try_parse_from(
            ["cirrusctl", "sandbox"].iter().chain(args.iter()).copied(),
        )?;
        match cli.command {
            crate::Command::Sandbox(s) => Ok(s),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn up_takes_computes_and_demo() {
        let args = parse(&["up", "--computes", "3", "--demo", "--prefix", "lab1"]).unwrap();
        assert_eq!(args.prefix, "lab1");
        let SandboxCommand::Up(up) = args.command else {
            panic!()
        };
        assert_eq!((up.computes, up.demo), (3, true));
        assert_eq!(up.api_listen.to_string(), "127.0.0.1:8082");
        assert!(parse(&["up", "--computes", "51"]).is_err());
        let defaults = parse(&["up"]).unwrap();
        let SandboxCommand::Up(up) = defaults.command else {
            panic!()
        };
        assert_eq!((up.computes, up.demo), (2, false));
    }

    #[test]
    fn exec_takes_the_command_after_a_double_dash() {
        let args = parse(&["exec", "web1", "--", "ping", "-c", "3", "10.0.0.4"]).unwrap();
        let SandboxCommand::Exec { name, argv } = args.command else {
            panic!()
        };
        assert_eq!(name, "web1");
        assert_eq!(argv, ["ping", "-c", "3", "10.0.0.4"]);
        assert!(parse(&["exec", "web1"]).is_err());
    }

    #[test]
    fn workload_add_needs_a_compute_and_a_network_fq_name() {
        let args = parse(&[
            "workload",
            "add",
            "web1",
            "--compute",
            "c2",
            "--network",
            "default-domain:demo:web",
        ])
        .unwrap();
        let SandboxCommand::Workload(WorkloadCommand::Add(add)) = args.command else {
            panic!()
        };
        assert_eq!((add.name.as_str(), add.compute.as_str()), ("web1", "c2"));
        assert_eq!(add.network.0, ["default-domain", "demo", "web"]);
        assert!(parse(&["workload", "add", "web1", "--compute", "c1"]).is_err());
        assert!(
            parse(&[
                "workload",
                "add",
                "w",
                "--compute",
                "c1",
                "--network",
                "a::b"
            ])
            .is_err()
        );
    }

    #[test]
    fn the_state_dir_follows_the_prefix_and_bad_prefixes_are_refused() {
        let sandbox = Sandbox::from_args(&parse(&["status", "--prefix", "lab2"]).unwrap()).unwrap();
        assert_eq!(sandbox.dir, Path::new("/run/cirrus-sandbox/lab2"));
        let args = parse(&["status", "--state-dir", "/tmp/x"]).unwrap();
        assert_eq!(Sandbox::from_args(&args).unwrap().dir, Path::new("/tmp/x"));
        let bad = parse(&["status", "--prefix", "Bad-Prefix"]).unwrap();
        let err = Sandbox::from_args(&bad).err().unwrap();
        assert!(format!("{err:#}").contains("--prefix"), "{err:#}");
    }
}
