//! `cirrusctl trace PORT --dst A [--proto P] [--dport N]`: what a vrouter does with one
//! packet from one of its ports, and why (the agent's `/trace` introspect: the flow decision
//! flow setup would make now, the rule of each policy layer that passed or denied it by name
//! and uuid, and the VRF, route, next hop, encapsulation and label the packet takes).
//!
//! PORT is the port's uuid, its device, its VMI name, or a sandbox workload's name (then the
//! workload's compute node is the one asked, unless `--node` or `--introspect` says
//! otherwise, and `--dst` may name a workload too).

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use serde_json::Value;

use crate::client::encode_query_value;
use crate::output::{self, Format};
use crate::vrouter::{VrouterArgs, VrouterCommand, default_sandbox_dir, fetch};

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The port the packet comes from: uuid, device, VMI name, or a sandbox workload's name
    pub port: String,

    /// Destination address (or a sandbox workload's name)
    #[arg(long)]
    pub dst: String,

    /// Source address [default: the port's address]
    #[arg(long)]
    pub src: Option<String>,

    /// Protocol: tcp, udp, icmp, icmp6 or a number
    #[arg(long, default_value = "tcp")]
    pub proto: String,

    /// Destination port
    #[arg(long, default_value_t = 0)]
    pub dport: u16,

    /// Source port
    #[arg(long, default_value_t = 40000)]
    pub sport: u16,

    /// Base URL of the vrouter's introspect [default: http://127.0.0.1:8085]
    #[arg(long, env = "CIRRUS_VROUTER_INTROSPECT")]
    pub introspect: Option<String>,

    /// A sandbox compute node (c1, c2, ...) whose vrouter to ask
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,

    /// The sandbox that --node and workload names belong to
    #[arg(long, env = "CIRRUS_SANDBOX_DIR", value_name = "DIR")]
    pub sandbox_dir: Option<PathBuf>,
}

/// What a sandbox says of a workload: its vrouter port, its compute node, its address.
struct Workload {
    device: String,
    compute: String,
    address: Option<String>,
}

fn sandbox_workload(dir: &std::path::Path, name: &str) -> Option<Workload> {
    let state = cirrus_lab::Lab::read(dir).ok().flatten()?;
    let w = state.workload(name)?;
    Some(Workload {
        device: w.host_ifname.clone(),
        compute: w.compute.clone(),
        address: w
            .address
            .as_deref()
            .map(|a| a.split('/').next().unwrap_or(a).to_string()),
    })
}

/// The introspect path of the question.
pub fn path(port: &str, dst: &str, src: Option<&str>, a: &TraceArgs) -> String {
    let mut q = format!(
        "/trace?port={}&dst={}&proto={}&sport={}&dport={}",
        encode_query_value(port),
        encode_query_value(dst),
        encode_query_value(&a.proto),
        a.sport,
        a.dport
    );
    if let Some(s) = src {
        q.push_str(&format!("&src={}", encode_query_value(s)));
    }
    q
}

pub fn run(a: &TraceArgs, format: Format) -> anyhow::Result<String> {
    let dir = a.sandbox_dir.clone().unwrap_or_else(default_sandbox_dir);
    let workload = sandbox_workload(&dir, &a.port);
    let port = workload
        .as_ref()
        .map_or(a.port.clone(), |w| w.device.clone());
    let dst = if a.dst.parse::<std::net::IpAddr>().is_ok() {
        a.dst.clone()
    } else {
        match sandbox_workload(&dir, &a.dst).and_then(|w| w.address) {
            Some(addr) => addr,
            None => bail!(
                "--dst {}: not an IP address nor a sandbox workload with an address",
                a.dst
            ),
        }
    };
    let node = match (&a.node, &a.introspect, &workload) {
        (Some(n), _, _) => Some(n.clone()),
        (None, None, Some(w)) => Some(w.compute.clone()),
        _ => None,
    };
    let target = VrouterArgs {
        introspect: a
            .introspect
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:8085".into()),
        node,
        sandbox_dir: Some(dir),
        command: VrouterCommand::Status,
    };
    let answer = fetch(&target, &path(&port, &dst, a.src.as_deref(), a))?;
    Ok(match format {
        Format::Table => text(&answer),
        _ => output::to_text(format, &answer),
    })
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("-")
}

fn n(v: &Value, p: &str) -> String {
    v.pointer(p)
        .filter(|x| !x.is_null())
        .map(|x| x.to_string().trim_matches('"').to_string())
        .unwrap_or_else(|| "-".into())
}

fn proto_word(p: &str) -> String {
    match p {
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        "58" => "icmp6".into(),
        other => format!("proto {other}"),
    }
}

/// The answer for people: one labelled line per fact, then the reasons.
pub fn text(t: &Value) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row = |k: &str, v: String| rows.push(vec![k.to_string(), v]);
    let name = t
        .pointer("/port/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    row(
        "PORT",
        format!(
            "{} {} (uuid {}, network {})",
            s(t, "/port/device"),
            name,
            s(t, "/port/uuid"),
            s(t, "/port/network")
        ),
    );
    row(
        "PACKET",
        format!(
            "{} {}:{} -> {}:{}",
            proto_word(&n(t, "/packet/proto")),
            s(t, "/packet/src"),
            n(t, "/packet/sport"),
            s(t, "/packet/dst"),
            n(t, "/packet/dport")
        ),
    );
    let action = s(t, "/action").to_uppercase();
    row(
        "ACTION",
        match t.get("reason").and_then(Value::as_str) {
            Some(r) => format!("{action} ({r})"),
            None => action,
        },
    );
    row(
        "VRF",
        format!("{} {}", n(t, "/vrf/id"), s(t, "/vrf/instance")),
    );
    match t.get("route").filter(|r| !r.is_null()) {
        Some(r) => {
            row(
                "ROUTE",
                format!(
                    "{} via {} (nh {})",
                    s(r, "/prefix"),
                    s(r, "/nexthop"),
                    n(r, "/nexthop_id")
                ),
            );
            let mut encap = s(r, "/encap").to_string();
            if let Some(l) = r.get("label").filter(|l| !l.is_null()) {
                encap.push_str(&format!(" label {l}"));
            }
            if let Some(v) = r.get("vni").filter(|l| !l.is_null()) {
                encap.push_str(&format!(" vni {v}"));
            }
            if let Some(d) = r.get("tunnel_dst").and_then(Value::as_str) {
                encap.push_str(&format!(" to {d}"));
            }
            row("ENCAP", encap);
        }
        None => row("ROUTE", "none".into()),
    }
    if let Some(nat) = t.get("nat").and_then(Value::as_str) {
        row("NAT", format!("floating IP {nat}"));
    }
    for r in t
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        row(
            if r.get("verdict").and_then(Value::as_str) == Some("deny") {
                "DENIED BY"
            } else {
                "ALLOWED BY"
            },
            rule_phrase(r),
        );
    }
    if let Some(r) = t.get("reverse_refused").filter(|r| !r.is_null()) {
        row("REPLIES DENIED BY", rule_phrase(r));
    }
    let mut out = String::new();
    let width = rows.iter().map(|r| r[0].len()).max().unwrap_or(0);
    for r in rows {
        out.push_str(&format!("{:width$}  {}\n", r[0], r[1]));
    }
    out
}

/// A rule as one phrase: layer, owner (kind, name, uuid), rule number and uuid, in words.
fn rule_phrase(r: &Value) -> String {
    let mut out = s(r, "/layer").to_string();
    if let (Some(k), Some(name)) = (
        r.get("kind").and_then(Value::as_str),
        r.get("name").and_then(Value::as_str),
    ) {
        out.push_str(&format!(" {k} {name}"));
        if let Some(u) = r.get("uuid").and_then(Value::as_str) {
            out.push_str(&format!(" ({u})"));
        }
    }
    if let Some(g) = r.get("security_groups").and_then(Value::as_array) {
        let g: Vec<&str> = g.iter().filter_map(Value::as_str).collect();
        out.push_str(&format!(" of {}", g.join(", ")));
    }
    if let Some(i) = r.get("index").and_then(Value::as_u64).filter(|i| *i > 0) {
        out.push_str(&format!(" rule #{i}"));
    }
    if let Some(u) = r.get("rule_uuid").and_then(Value::as_str) {
        out.push_str(&format!(" rule_uuid {u}"));
    } else {
        out.push_str(&format!(" [{}]", s(r, "/rule")));
    }
    if let Some(t) = r.get("text").and_then(Value::as_str) {
        out.push_str(&format!(": {t}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_denied_packet_names_the_rule_and_the_route() {
        let t = json!({
            "port": {"device": "tapl1", "name": "d:p:l1-port", "uuid": "u1", "network": "d:p:left"},
            "packet": {"src": "10.0.1.3", "dst": "10.0.2.3", "proto": 6, "sport": 40000, "dport": 81},
            "action": "drop", "reason": "network-policy",
            "vrf": {"id": 2, "instance": "d:p:left:left"},
            "route": {"prefix": "10.0.2.3/32", "nexthop": "MPLSoUDP label 17 to 198.18.0.12",
                      "nexthop_id": 5, "encap": "MPLSoUDP", "label": 17, "tunnel_dst": "198.18.0.12"},
            "rules": [{"layer": "network-policy", "verdict": "deny", "rule": "r2", "rule_uuid": "r2",
                       "kind": "network-policy", "name": "d:p:web", "uuid": "p1", "index": 2,
                       "text": "deny any left port any <> right port any"}]
        });
        let out = text(&t);
        assert!(out.contains("tcp 10.0.1.3:40000 -> 10.0.2.3:81"), "{out}");
        assert!(out.contains("DROP (network-policy)"), "{out}");
        assert!(out.contains("MPLSoUDP label 17 to 198.18.0.12"), "{out}");
        assert!(
            out.contains(
                "DENIED BY  network-policy network-policy d:p:web (p1) rule #2 rule_uuid r2"
            ),
            "{out}"
        );
    }
}
