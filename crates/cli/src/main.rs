//! `cirrusctl`, the Cirrus operator CLI: the command line (clap) and the glue from each command
//! to the VNC REST API of `cirrus-controller`. The parts with logic live in their own modules
//! (names, documents, diff, apply, output); the HTTP layer is `client`. Errors become one
//! `error: ...` line on stderr and exit status 1.

mod apply;
mod bgp;
mod client;
mod control;
mod diff;
mod document;
mod flows;
mod names;
mod output;
mod sandbox;
mod trace;
mod vrouter;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};

use client::{Client, ListQuery, Vnc};
use document::{Document, SetArg};
use names::{FqName, Target};
use output::Format;

// ---- the command line ----

#[derive(Debug, Parser)]
#[command(
    name = "cirrusctl",
    version,
    about = "Operate Cirrus: read and write objects through the Contrail VNC REST API",
    long_about = "Operate Cirrus: read and write objects through the Contrail VNC REST API served by \
cirrus-controller.\n\nTYPE is a Contrail type name such as virtual-network, network-ipam, project or \
virtual-DNS; the plural (virtual-networks), underscores (virtual_network) and the short names vn, vmi, vm, \
iip, fip, ipam, sg, acl, ri, rt, vr, lr, si, st are accepted too. \
Objects are named by fq_name, colon-joined (default-domain:default-project:vn1), or by uuid.",
    after_help = "Examples:\n  \
cirrusctl list virtual-networks --parent default-domain:default-project\n  \
cirrusctl get virtual-network default-domain:default-project:vn1 -o yaml\n  \
cirrusctl create project default-domain:demo\n  \
cirrusctl apply -f network.yaml\n  \
cirrusctl bgp neighbors\n  \
sudo cirrusctl sandbox up --demo\n  \
cirrusctl --api http://controller.example:8082 --token $TOKEN delete virtual-network default-domain:demo:vn1"
)]
struct Cli {
    /// Base URL of the VNC REST API
    #[arg(
        long,
        global = true,
        env = "CIRRUS_API",
        hide_env_values = true,
        default_value = "http://127.0.0.1:8082"
    )]
    api: String,

    /// Token sent as the X-Auth-Token header
    #[arg(long, global = true, env = "CIRRUS_TOKEN", hide_env_values = true)]
    token: Option<String>,

    /// Output format
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = Format::Table)]
    output: Format,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the objects of a type
    #[command(after_help = "Examples:\n  \
cirrusctl list virtual-networks\n  \
cirrusctl list virtual-network --parent default-domain:default-project --detail\n  \
cirrusctl list project -o json")]
    List(ListArgs),

    /// Show one object
    #[command(after_help = "Examples:\n  \
cirrusctl get virtual-network default-domain:default-project:vn1\n  \
cirrusctl get project 0b7f2c44-3f0e-4c3a-9a43-3c1f7d2e9b11 -o yaml")]
    Get(TargetArgs),

    /// Create one object
    #[command(
        long_about = "Create one object: POST /<type>s with its fq_name, its parent type and the \
given properties. The parent type is inferred from the type and the fq_name's length (a project \
under a domain, most tenant objects under a project, one-name objects under config-root); give \
--parent-type when it is something else.",
        after_help = "Examples:\n  \
cirrusctl create project default-domain:demo\n  \
cirrusctl create virtual-network default-domain:demo:vn1 --set display_name=\"front end\" \\\n      \
--set virtual_network_properties.forwarding_mode=l3\n  \
cirrusctl create network-policy default-domain:demo:allow-web -f policy.yaml"
    )]
    Create(CreateArgs),

    /// Delete one object
    #[command(after_help = "Examples:\n  \
cirrusctl delete virtual-network default-domain:default-project:vn1\n  \
cirrusctl delete instance-ip 6c1d4f3e-8a55-4f7e-b1a1-5a4cc2b35e0f")]
    Delete(TargetArgs),

    /// Create or update the objects described in a YAML file, idempotently
    #[command(
        long_about = "Create or update the objects described in a (multi-document) YAML file, in \
order. An object that does not exist is created; one that exists is updated with only the fields \
that differ from it; refs are given by their target's fq_name. Prints one line per object: \
created|updated|unchanged TYPE FQNAME UUID. Stops at the first document the server refuses.\n\n\
Only the fields a document gives are compared and sent: a field left out keeps what the server \
has (write `security_group_refs: []` to clear refs). Nested values match when everything the \
document says is in the object, so defaults the server fills in do not count as differences.",
        after_help = "Example file:\n  \
kind: network-ipam\n  \
fq_name: default-domain:default-project:ipam1\n  \
---\n  \
kind: virtual-network\n  \
fq_name: [default-domain, default-project, vn1]\n  \
virtual_network_properties: {forwarding_mode: l3}\n  \
network_ipam_refs:\n    \
- to: default-domain:default-project:ipam1\n      \
attr:\n        \
ipam_subnets:\n          \
- subnet: {ip_prefix: 10.1.0.0, ip_prefix_len: 24}\n\n\
Example:\n  \
cirrusctl apply -f network.yaml"
    )]
    Apply(ApplyArgs),

    /// Show the control node's BGP neighbors and routes (its introspect)
    #[command(after_help = "Examples:\n  \
cirrusctl bgp neighbors\n  \
cirrusctl bgp routes --instance default-domain:demo:vn1:vn1\n  \
cirrusctl bgp routes --instance bgp.l3vpn.0 -o json\n  \
cirrusctl bgp --introspect http://10.0.0.2:8083 routes --family evpn")]
    Bgp(BgpArgs),

    /// Show the vrouters connected to the control node and the routes it serves them
    #[command(after_help = "Examples:\n  \
cirrusctl control vrouters\n  \
cirrusctl control routes --instance default-domain:demo:vn1:vn1\n  \
cirrusctl control --introspect http://10.0.0.2:8083 vrouters -o json")]
    Control(ControlArgs),

    /// Show a compute node's vrouter: ports, VRFs, routes, flows, drops (its introspect)
    #[command(after_help = "Examples:\n  \
cirrusctl vrouter ports                       # on the compute node (introspect 127.0.0.1:8085)\n  \
cirrusctl vrouter --node c1 flows             # a sandbox's compute node c1\n  \
cirrusctl vrouter --node c2 routes --instance default-domain:demo:web:web\n  \
cirrusctl vrouter --node c1 drops -o json")]
    Vrouter(vrouter::VrouterArgs),

    /// Explain what a vrouter does with one packet from a port, and which rule decides it
    #[command(after_help = "Examples:\n  \
cirrusctl trace red-web1 --dst 10.1.1.4 --proto tcp --dport 80   # a sandbox workload\n  \
cirrusctl trace tap1a2b3c4d-5e --dst 10.0.2.3 --proto udp --dport 53 --introspect http://127.0.0.1:8085\n  \
cirrusctl trace 6c1d4f3e-8a55-4f7e-b1a1-5a4cc2b35e0f --node c1 --dst 10.0.2.3 --proto icmp -o json")]
    Trace(trace::TraceArgs),

    /// The flows the vrouters recorded (the analytics query API), filtered
    #[command(after_help = "Examples:\n  \
cirrusctl flows                                        # FlowSeriesTable, the last 10 minutes\n  \
cirrusctl flows --vn default-domain:red:web --action deny --since 1h\n  \
cirrusctl flows --src 10.1.1.3 --proto tcp --port 80 --table sessions -o json")]
    Flows(flows::FlowsArgs),

    /// A whole Cirrus on this machine in network namespaces: controller, vrouters, workloads
    #[command(
        long_about = "A whole Cirrus on this machine (root), in network namespaces: `up` builds \
an underlay (198.18.0.0/15), starts a controller whose VNC API any client can use and a vrouter \
per compute node; `workload add` makes a port in a network and a workload namespace that takes \
its address by DHCP; `exec` runs a command in a workload; `status` shows it all; `down` removes \
every namespace, link and process it made, also after a crash.",
        after_help = "Examples:\n  \
sudo cirrusctl sandbox up --demo\n  \
sudo cirrusctl sandbox up --computes 3\n  \
sudo cirrusctl sandbox workload add web1 --compute c1 --network default-domain:demo:web\n  \
sudo cirrusctl sandbox exec web1 -- ping -c 3 10.10.0.4\n  \
sudo cirrusctl sandbox status\n  \
sudo cirrusctl sandbox down"
    )]
    Sandbox(sandbox::SandboxArgs),
}

#[derive(Debug, Args)]
struct ControlArgs {
    /// Base URL of the control node's introspect
    #[arg(
        long,
        global = true,
        env = "CIRRUS_INTROSPECT",
        default_value = "http://127.0.0.1:8083"
    )]
    introspect: String,

    #[command(subcommand)]
    command: ControlCommand,
}

#[derive(Debug, Subcommand)]
enum ControlCommand {
    /// Connected vrouters: session, subscribed instances, routes published, received,
    /// refused and sent, config objects in their slice
    Vrouters,
    /// The route server's tables as vrouters receive them: every prefix with its next hops
    Routes {
        /// A routing instance's fq_name (all agent-fed instances when left out)
        #[arg(long, value_name = "NAME")]
        instance: Option<String>,
    },
}

#[derive(Debug, Args)]
struct BgpArgs {
    /// Base URL of the control node's introspect
    #[arg(
        long,
        global = true,
        env = "CIRRUS_INTROSPECT",
        default_value = "http://127.0.0.1:8083"
    )]
    introspect: String,

    #[command(subcommand)]
    command: BgpCommand,
}

#[derive(Debug, Subcommand)]
enum BgpCommand {
    /// Every configured neighbor: state, families, prefix counts, uptime, last error
    Neighbors,
    /// Routes of one table (the global VPN tables by default), best path marked *
    Routes {
        /// A routing instance's fq_name, a virtual network's, or a table name such as
        /// bgp.l3vpn.0 or default-domain:demo:vn1:vn1.inet.0
        #[arg(long, value_name = "NAME")]
        instance: Option<String>,
        /// inet, inet6, inet-vpn, inet6-vpn, evpn or rtarget
        #[arg(long, value_name = "FAMILY")]
        family: Option<String>,
    },
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Object type, e.g. virtual-network
    #[arg(value_name = "TYPE", value_parser = names::parse_type)]
    kind: String,

    /// Only objects under this parent (colon-joined fq_name)
    #[arg(long, value_name = "FQNAME", value_parser = FqName::parse)]
    parent: Option<FqName>,

    /// The parent's type, when --parent alone is ambiguous
    #[arg(long, value_name = "TYPE", value_parser = names::parse_type, requires = "parent")]
    parent_type: Option<String>,

    /// Fetch whole objects (more columns in tables, full objects in json/yaml)
    #[arg(long)]
    detail: bool,
}

#[derive(Debug, Args)]
struct TargetArgs {
    /// Object type, e.g. virtual-network
    #[arg(value_name = "TYPE", value_parser = names::parse_type)]
    kind: String,

    /// The object: colon-joined fq_name or uuid
    #[arg(value_name = "FQNAME|UUID", value_parser = Target::parse)]
    target: Target,
}

#[derive(Debug, Args)]
struct CreateArgs {
    /// Object type, e.g. virtual-network
    #[arg(value_name = "TYPE", value_parser = names::parse_type)]
    kind: String,

    /// The new object's colon-joined fq_name
    #[arg(value_name = "FQNAME", value_parser = FqName::parse)]
    fq_name: FqName,

    /// The parent's type, when it cannot be inferred
    #[arg(long, value_name = "TYPE", value_parser = names::parse_type)]
    parent_type: Option<String>,

    /// Set a property: KEY[.SUB...]=VALUE, VALUE read as JSON or else as a string (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = document::parse_set)]
    sets: Vec<SetArg>,

    /// Read properties (and refs by fq_name) from a YAML or JSON mapping; - for stdin
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ApplyArgs {
    /// YAML file of objects, documents separated by ---; - for stdin
    #[arg(short = 'f', long = "file", value_name = "FILE", required = true)]
    file: PathBuf,
}

// ---- running it ----

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let api = Client::new(&cli.api, cli.token.clone());
    let format = cli.output;
    match cli.command {
        Command::List(args) => list(&api, format, args),
        Command::Get(args) => get(&api, format, args),
        Command::Create(args) => create(&api, format, args),
        Command::Delete(args) => delete(&api, args),
        Command::Apply(args) => apply(&api, format, args),
        Command::Sandbox(args) => sandbox::run(args, cli.token.clone(), format),
        Command::Bgp(args) => {
            let introspect = Client::new(&args.introspect, None);
            print(&match args.command {
                BgpCommand::Neighbors => bgp::neighbors(&introspect, format)?,
                BgpCommand::Routes { instance, family } => {
                    bgp::routes(&introspect, format, instance.as_deref(), family.as_deref())?
                }
            })
        }
        Command::Vrouter(args) => print(&vrouter::run(&args, format)?),
        Command::Trace(args) => print(&trace::run(&args, format)?),
        Command::Flows(args) => print(&flows::run(&args, format)?),
        Command::Control(args) => {
            let introspect = Client::new(&args.introspect, None);
            print(&match args.command {
                ControlCommand::Vrouters => control::vrouters(&introspect, format)?,
                ControlCommand::Routes { instance } => {
                    control::routes(&introspect, format, instance.as_deref())?
                }
            })
        }
    }
}

fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn input_name(path: &Path) -> String {
    if path == Path::new("-") {
        "standard input".into()
    } else {
        path.display().to_string()
    }
}

fn read_input(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// The uuid of the object a command names.
fn resolve(api: &impl Vnc, kind: &str, target: &Target) -> anyhow::Result<String> {
    match target {
        Target::Uuid(uuid) => Ok(uuid.clone()),
        Target::FqName(fq) => api.fqname_to_id(kind, fq).map_err(|e| {
            let what = if e.status() == Some(404) {
                "not found"
            } else {
                "lookup failed"
            };
            anyhow::Error::new(e).context(format!("{kind} {target} {what}"))
        }),
    }
}

fn list(api: &impl Vnc, format: Format, args: ListArgs) -> anyhow::Result<()> {
    let query = ListQuery {
        parent_fq_name: args.parent.map(|p| p.0),
        parent_type: args.parent_type,
        detail: args.detail,
    };
    let entries = api.list(&args.kind, &query)?;
    match format {
        Format::Table => print(&output::list_table(&args.kind, &entries, args.detail)),
        _ => print(&output::to_text(format, &Value::Array(entries))),
    }
}

fn get(api: &impl Vnc, format: Format, args: TargetArgs) -> anyhow::Result<()> {
    let uuid = resolve(api, &args.kind, &args.target)?;
    let obj = api.read(&args.kind, &uuid)?;
    match format {
        Format::Table => print(&output::object_table(&obj)),
        _ => print(&output::to_text(format, &obj)),
    }
}

/// The document `create` sends: the file's mapping, then `--parent-type`, then each `--set`.
fn create_document(args: &CreateArgs, file_text: Option<&str>) -> anyhow::Result<Document> {
    let mut map = match file_text {
        Some(text) => document::parse_mapping(text)?,
        None => serde_json::Map::new(),
    };
    // A file may be a whole apply-style document; its identity must then agree.
    if let Some(kind) = map.remove("kind") {
        let same = kind.as_str().map(names::parse_type) == Some(Ok(args.kind.clone()));
        if !same {
            bail!("the file's kind {kind} is not {}", args.kind);
        }
    }
    if let Some(fq) = map.remove("fq_name") {
        let fq_str = fq
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(":")
            })
            .or_else(|| fq.as_str().map(str::to_string));
        if fq_str.as_deref() != Some(names::join_fq_name(&args.fq_name.0).as_str()) {
            bail!(
                "the file's fq_name {fq} is not {}",
                names::join_fq_name(&args.fq_name.0)
            );
        }
    }
    if let Some(parent) = &args.parent_type {
        map.insert("parent_type".into(), json!(parent));
    }
    for set in &args.sets {
        document::apply_set(&mut map, set)?;
    }
    Ok(Document::with_fields(
        args.kind.clone(),
        args.fq_name.0.clone(),
        map,
    )?)
}

fn create(api: &impl Vnc, format: Format, args: CreateArgs) -> anyhow::Result<()> {
    let text = args.file.as_deref().map(read_input).transpose()?;
    let doc = create_document(&args, text.as_deref())?;
    let created = api
        .create(&doc.kind, &doc.create_body())
        .with_context(|| format!("creating {}", doc.describe()))?;
    match format {
        Format::Table => {
            let uuid = created.get("uuid").and_then(Value::as_str).unwrap_or("-");
            print(&format!("created {} {uuid}\n", doc.describe()))
        }
        _ => print(&output::to_text(format, &created)),
    }
}

fn delete(api: &impl Vnc, args: TargetArgs) -> anyhow::Result<()> {
    let uuid = resolve(api, &args.kind, &args.target)?;
    api.delete(&args.kind, &uuid)?;
    match &args.target {
        Target::FqName(_) => print(&format!("deleted {} {} {uuid}\n", args.kind, args.target)),
        Target::Uuid(_) => print(&format!("deleted {} {uuid}\n", args.kind)),
    }
}

fn apply(api: &impl Vnc, format: Format, args: ApplyArgs) -> anyhow::Result<()> {
    let text = read_input(&args.file)?;
    let docs = document::parse_documents(&text).with_context(|| input_name(&args.file))?;
    if docs.is_empty() {
        bail!("{}: no objects to apply", input_name(&args.file));
    }
    let mut done = Vec::new();
    let result = apply::apply_all(api, &docs, |applied| {
        if format == Format::Table {
            // A line per object as it is done, so a long apply shows progress.
            let _ = print(&format!("{applied}\n"));
        }
        done.push(json!({
            "action": applied.action.to_string(),
            "kind": applied.kind,
            "fq_name": applied.fq_name,
            "uuid": applied.uuid,
        }));
    });
    if format != Format::Table {
        print(&output::to_text(format, &Value::Array(done)))?;
    }
    result?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("cirrusctl").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_anywhere() {
        let cli = parse(&[
            "list",
            "virtual_networks",
            "-o",
            "json",
            "--api",
            "http://h:1",
            "--token",
            "t",
        ])
        .unwrap();
        assert_eq!(cli.api, "http://h:1");
        assert_eq!(cli.token.as_deref(), Some("t"));
        assert_eq!(cli.output, Format::Json);
        let Command::List(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.kind, "virtual-network");
        assert!(!args.detail);
        assert_eq!(args.parent, None);
    }

    #[test]
    fn list_takes_a_parent() {
        let cli = parse(&[
            "list",
            "virtual-network",
            "--parent",
            "default-domain:default-project",
            "--detail",
        ])
        .unwrap();
        let Command::List(args) = cli.command else {
            panic!()
        };
        assert_eq!(
            args.parent.unwrap().0,
            ["default-domain", "default-project"]
        );
        assert!(args.detail);
        assert!(parse(&["list", "virtual-network", "--parent", "a::b"]).is_err());
        assert!(parse(&["list", "virtual-network", "--parent-type", "project"]).is_err());
    }

    #[test]
    fn get_and_delete_take_fq_names_or_uuids() {
        let cli = parse(&[
            "get",
            "virtual-network",
            "default-domain:default-project:vn1",
        ])
        .unwrap();
        let Command::Get(args) = cli.command else {
            panic!()
        };
        assert_eq!(
            args.target,
            Target::FqName(vec![
                "default-domain".into(),
                "default-project".into(),
                "vn1".into()
            ])
        );
        let cli = parse(&["delete", "project", "8a9b3c4d-1e2f-4a5b-9c8d-0123456789ab"]).unwrap();
        let Command::Delete(args) = cli.command else {
            panic!()
        };
        assert_eq!(
            args.target,
            Target::Uuid("8a9b3c4d-1e2f-4a5b-9c8d-0123456789ab".into())
        );
        assert!(parse(&["get", "virtual network", "a"]).is_err());
        assert!(parse(&["get", "virtual-network"]).is_err());
    }

    #[test]
    fn bad_output_formats_are_refused() {
        assert!(parse(&["list", "project", "-o", "xml"]).is_err());
        assert_eq!(
            parse(&["list", "project", "-o", "yaml"]).unwrap().output,
            Format::Yaml
        );
    }

    #[test]
    fn bgp_takes_an_introspect_url_anywhere() {
        let cli = parse(&[
            "bgp",
            "routes",
            "--instance",
            "bgp.l3vpn.0",
            "--introspect",
            "http://h:8083",
            "-o",
            "yaml",
        ])
        .unwrap();
        assert_eq!(cli.output, Format::Yaml);
        let Command::Bgp(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.introspect, "http://h:8083");
        let BgpCommand::Routes { instance, family } = args.command else {
            panic!()
        };
        assert_eq!((instance.as_deref(), family), (Some("bgp.l3vpn.0"), None));
        assert!(parse(&["bgp", "peers"]).is_err());
    }

    #[test]
    fn apply_needs_a_file() {
        assert!(parse(&["apply"]).is_err());
        let cli = parse(&["apply", "-f", "x.yaml"]).unwrap();
        let Command::Apply(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.file, PathBuf::from("x.yaml"));
    }

    fn create_args(args: &[&str]) -> CreateArgs {
        match parse(args).unwrap().command {
            Command::Create(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn create_builds_its_body_from_file_parent_type_and_sets() {
        let args = create_args(&[
            "create",
            "virtual-network",
            "d:p:vn1",
            "--set",
            "display_name=front end",
            "--set",
            "virtual_network_properties.forwarding_mode=l2",
        ]);
        let file = "virtual_network_properties: {vxlan_network_identifier: 7}\nnetwork_ipam_refs: [{to: d:p:ipam}]\n";
        let doc = create_document(&args, Some(file)).unwrap();
        assert_eq!(
            doc.create_body(),
            json!({"virtual-network": {
                "fq_name": ["d", "p", "vn1"],
                "parent_type": "project",
                "display_name": "front end",
                "virtual_network_properties": {"vxlan_network_identifier": 7, "forwarding_mode": "l2"},
                "network_ipam_refs": [{"to": ["d", "p", "ipam"]}]
            }})
        );
        let args = create_args(&[
            "create",
            "access-control-list",
            "d:p:sg:acl",
            "--parent-type",
            "security_group",
        ]);
        let doc = create_document(&args, None).unwrap();
        assert_eq!(doc.parent_type.as_deref(), Some("security-group"));
        let args = create_args(&["create", "domain", "d2"]);
        assert_eq!(
            create_document(&args, None).unwrap().create_body(),
            json!({"domain": {"fq_name": ["d2"]}})
        );
    }

    #[test]
    fn create_checks_a_files_identity() {
        let args = create_args(&["create", "project", "d:p"]);
        assert!(create_document(&args, Some("kind: projects\nfq_name: [d, p]\n")).is_ok());
        let err = create_document(&args, Some("kind: virtual-network\n")).unwrap_err();
        assert!(err.to_string().contains("kind"), "{err}");
        let err = create_document(&args, Some("fq_name: d:q\n")).unwrap_err();
        assert!(err.to_string().contains("fq_name"), "{err}");
        let args = create_args(&["create", "virtual-network", "d:p:n:x"]);
        let err = create_document(&args, None).unwrap_err();
        assert!(err.to_string().contains("--parent-type"), "{err}");
    }
}
