//! `sandbox up --demo`: two tenants with the same subnet, policies between red's networks, a
//! public network with a floating IP for one of red's workloads (`examples/sandbox-demo.yaml`,
//! `examples/sandbox-demo-fip.yaml`), seven workloads spread over the compute nodes; the first
//! ping as soon as its two workloads exist (timed from the start of `sandbox up`); then every
//! ping worth trying, run once, shown with what happened and what should.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use cirrus_lab::Lab;

use super::workload::{self, AddArgs};
use crate::apply;
use crate::client::Vnc;
use crate::document;
use crate::names::FqName;

const TENANTS: &str = include_str!("../../../../examples/sandbox-demo.yaml");
const FLOATING_IP: &str = include_str!("../../../../examples/sandbox-demo-fip.yaml");

/// (workload, network, preferred compute node): spread over the nodes there are.
const WORKLOADS: [(&str, &str, u32); 7] = [
    ("red-web1", "default-domain:red:web", 1),
    ("red-web2", "default-domain:red:web", 2),
    ("red-db1", "default-domain:red:db", 2),
    ("red-app1", "default-domain:red:app", 1),
    ("blue-web1", "default-domain:blue:web", 1),
    ("blue-web2", "default-domain:blue:web", 2),
    ("pub1", "default-domain:default-project:public", 2),
];

/// One ping worth trying.
struct Try {
    from: &'static str,
    to: String,
    why: String,
    works: bool,
}

fn apply_file(api: &impl Vnc, name: &str, text: &str) -> anyhow::Result<()> {
    println!("\n$ cirrusctl apply -f examples/{name}");
    let docs = document::parse_documents(text).with_context(|| format!("examples/{name}"))?;
    apply::apply_all(api, &docs, |applied| println!("{applied}"))?;
    Ok(())
}

/// `ip netns exec <workload> ping -c 1 -W 1 <to>` succeeded.
fn ping(lab: &Lab, from: &str, to: &str) -> anyhow::Result<bool> {
    let ns = lab.netns_of(from)?;
    let out = Lab::command_in(&ns, &["ping", "-c", "1", "-W", "1", to].map(String::from))
        .output()
        .context("running ping")?;
    Ok(out.status.success())
}

fn address_of(lab: &Lab, name: &str) -> anyhow::Result<String> {
    let w = lab.workload(name)?;
    let addr = w
        .address
        .as_deref()
        .with_context(|| format!("workload {name} has no address"))?;
    Ok(addr.split('/').next().unwrap_or(addr).to_string())
}

/// The first ping, red-web1 -> red-web2, tried as soon as both exist (routes may still be on
/// their way) and timed from the start of `sandbox up`.
fn first_ping(lab: &mut Lab, started: Instant) -> anyhow::Result<()> {
    let web2 = address_of(lab, "red-web2")?;
    let nodes = format!(
        "{} -> {}",
        lab.workload("red-web1")?.compute,
        lab.workload("red-web2")?.compute
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if ping(lab, "red-web1", &web2)? {
            let t = started.elapsed().as_secs_f64();
            println!(
                "First successful ping (red-web1 -> red-web2 {web2}, {nodes}): {t:.1} s after \
                 `sandbox up` started (build excluded)."
            );
            lab.set_meta("first_ping_seconds", json!(t))?;
            return Ok(());
        }
        if Instant::now() >= deadline {
            println!("red-web1 could not ping red-web2 ({web2}) within 30 s.");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn run(lab: &mut Lab, api: &impl Vnc, started: Instant) -> anyhow::Result<()> {
    let nodes = lab.state().computes.len() as u32;
    if nodes == 0 {
        bail!("--demo needs at least one compute node (--computes 1 or more)");
    }
    apply_file(api, "sandbox-demo.yaml", TENANTS)?;

    println!();
    for (name, network, preferred) in WORKLOADS {
        let compute = format!("c{}", (preferred - 1) % nodes + 1);
        let command = format!(
            "cirrusctl sandbox workload add {name} --compute {compute} --network {network}"
        );
        println!("$ {command}");
        let args = AddArgs {
            name: name.to_string(),
            compute,
            network: FqName::parse(network)?,
            dhcp_timeout: 20,
        };
        let added = workload::add(lab, api, &args).with_context(|| format!("`{command}`"))?;
        println!("{added}");
        if name == "red-web2" {
            first_ping(lab, started)?;
        }
    }

    apply_file(api, "sandbox-demo-fip.yaml", FLOATING_IP)?;
    let fip_fq: Vec<String> = [
        "default-domain",
        "default-project",
        "public",
        "public-pool",
        "red-web1",
    ]
    .map(String::from)
    .to_vec();
    let fip_uuid = api
        .lookup("floating-ip", &fip_fq)?
        .context("the floating IP was not created")?;
    let fip = api.read("floating-ip", &fip_uuid)?;
    let fip_address = fip
        .get("floating_ip_address")
        .and_then(Value::as_str)
        .context("the floating IP has no address")?
        .to_string();

    let web2 = address_of(lab, "red-web2")?;
    let (db1, blue2) = (address_of(lab, "red-db1")?, address_of(lab, "blue-web2")?);
    let app1 = address_of(lab, "red-app1")?;
    let nodes_of: Vec<(String, String)> = lab
        .state()
        .workloads
        .iter()
        .map(|w| (w.name.clone(), w.compute.clone()))
        .collect();
    let node_of = |name: &str| {
        nodes_of
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.clone())
            .unwrap_or_default()
    };

    let tries = [
        Try {
            from: "red-web1",
            to: web2.clone(),
            why: format!(
                "red-web2: same network, {} -> {}",
                node_of("red-web1"),
                node_of("red-web2")
            ),
            works: true,
        },
        Try {
            from: "red-web1",
            to: db1.clone(),
            why: "red-db1: policy web-to-db lets web reach db".into(),
            works: true,
        },
        Try {
            from: "blue-web1",
            to: blue2.clone(),
            why: "blue-web2: blue's 10.1.1.0/24 is red's too; each tenant sees its own".into(),
            works: true,
        },
        Try {
            from: "pub1",
            to: fip_address.clone(),
            why: "red-web1's floating IP, from the public network".into(),
            works: true,
        },
        Try {
            from: "red-web1",
            to: app1.clone(),
            why: "red-app1: policy web-to-app joins web and app for TCP 80 only".into(),
            works: false,
        },
        Try {
            from: "blue-web1",
            to: db1.clone(),
            why: "red's db network: another tenant".into(),
            works: false,
        },
    ];
    println!("\nWhat to try (each was run once just now):");
    let mut unexpected = Vec::new();
    for t in &tries {
        // A ping that should work gets a few tries; one that should not, one.
        let attempts = if t.works { 3 } else { 1 };
        let mut passed = false;
        for _ in 0..attempts {
            if ping(lab, t.from, &t.to)? {
                passed = true;
                break;
            }
        }
        let seen = if passed { "works  " } else { "blocked" };
        let flag = if passed == t.works {
            ""
        } else {
            "   <-- UNEXPECTED"
        };
        println!(
            "  {seen}  cirrusctl sandbox exec {} -- ping -c 3 {:<12} # {}{flag}",
            t.from, t.to, t.why
        );
        if passed != t.works {
            unexpected.push(format!(
                "{} -> {} {}",
                t.from,
                t.to,
                if t.works { "failed" } else { "passed" }
            ));
        }
    }
    println!(
        "\nMore:\n  \
         cirrusctl sandbox status\n  \
         cirrusctl list virtual-network                  # CIRRUS_API={}\n  \
         cirrusctl sandbox exec c1 -- tcpdump -ni eth0 udp port 6635   # the overlay on the underlay\n  \
         cirrusctl sandbox down",
        super::Sandbox::api_url(lab)
    );
    if !unexpected.is_empty() {
        bail!(
            "the sandbox is up, but not every ping did what it should: {}",
            unexpected.join("; ")
        );
    }
    Ok(())
}
