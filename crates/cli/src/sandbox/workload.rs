//! `sandbox workload add|del`: a workload's objects in the API (virtual-machine, its
//! virtual-machine-interface bound to the compute node, an instance-ip), its namespace joined to
//! the node, the port handed to the node's vrouter, and DHCP inside; and the reverse.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};

use cirrus_lab::port_ipc::PORT_TYPE_NAMESPACE;
use cirrus_lab::{Lab, Lease, PortRequest, WorkloadSpec};

use crate::apply;
use crate::client::Vnc;
use crate::document::Document;
use crate::names::{FqName, join_fq_name};

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The workload's name (lowercase letters, digits, '-'): names its namespace, its
    /// virtual-machine and its port
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The compute node it runs on: c1, c2, ...
    #[arg(long, value_name = "cK")]
    pub compute: String,
    /// The virtual network of its port (colon-joined fq_name)
    #[arg(long, value_name = "FQNAME", value_parser = FqName::parse)]
    pub network: FqName,
    /// How long the DHCP client may take, in seconds
    #[arg(long, default_value_t = 20, value_name = "SECONDS")]
    pub dhcp_timeout: u64,
}

#[derive(Debug, Args)]
pub struct DelArgs {
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// A workload that is up.
#[derive(Debug, Clone)]
pub struct Added {
    pub name: String,
    pub compute: String,
    pub network: String,
    pub mac: String,
    pub instance_ip: String,
    pub lease: Lease,
}

impl fmt::Display for Added {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "workload {} on {} in {}: {}/{} from DHCP (gateway {}), mac {}",
            self.name,
            self.compute,
            self.network,
            self.lease.address,
            self.lease.prefix_len,
            self.lease
                .router
                .map_or("none".to_string(), |r| r.to_string()),
            self.mac
        )?;
        if self.lease.address.to_string() != self.instance_ip {
            write!(f, " (its instance-ip is {}!)", self.instance_ip)?;
        }
        Ok(())
    }
}

/// The API objects of a workload: its virtual-machine, its port bound to `compute`, and the
/// port's instance-ip.
pub fn documents(name: &str, compute: &str, network: &[String]) -> anyhow::Result<Vec<Document>> {
    let project = &network[..network.len() - 1];
    let mut vmi = project.to_vec();
    vmi.push(name.to_string());
    let docs = [
        json!({"kind": "virtual-machine", "fq_name": [name]}),
        json!({
            "kind": "virtual-machine-interface",
            "fq_name": vmi,
            "virtual_network_refs": [{"to": network}],
            "virtual_machine_refs": [{"to": [name]}],
            "virtual_machine_interface_bindings": {
                "key_value_pair": [{"key": "host_id", "value": compute}]
            },
        }),
        json!({
            "kind": "instance-ip",
            "fq_name": [format!("{name}-v4")],
            "instance_ip_family": "v4",
            "virtual_network_refs": [{"to": network}],
            "virtual_machine_interface_refs": [{"to": vmi}],
        }),
    ];
    docs.into_iter()
        .map(|d| Document::from_value(d).map_err(anyhow::Error::from))
        .collect()
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = v;
    for p in path {
        v = match p.parse::<usize>() {
            Ok(i) => v.get(i)?,
            Err(_) => v.get(p)?,
        };
    }
    v.as_str()
}

pub fn add(lab: &mut Lab, api: &impl Vnc, args: &AddArgs) -> anyhow::Result<Added> {
    cirrus_lab::plan::check_workload_name(&args.name)?;
    let compute = lab.compute(&args.compute)?.clone();
    if compute.port_ipc.is_none() || !lab.alive(&cirrus_lab::vrouter_name(&compute.name)) {
        bail!(
            "no vrouter runs on {} (see `cirrusctl sandbox status`)",
            compute.name
        );
    }
    if lab.state().workload(&args.name).is_some() {
        bail!(
            "workload {} exists already (remove it with `cirrusctl sandbox workload del {}`)",
            args.name,
            args.name
        );
    }
    let network = &args.network.0;
    let network_str = join_fq_name(network);
    if network.len() != 3 {
        bail!("--network {network_str}: a virtual network's fq_name is domain:project:name");
    }
    let vn_uuid = api
        .lookup("virtual-network", network)?
        .with_context(|| format!("virtual-network {network_str} not found"))?;
    let vn = api.read("virtual-network", &vn_uuid)?;
    let project_uuid = vn
        .get("parent_uuid")
        .and_then(Value::as_str)
        .context("the virtual-network has no parent_uuid")?
        .to_string();

    let docs: Vec<(usize, Document)> = documents(&args.name, &args.compute, network)?
        .into_iter()
        .enumerate()
        .collect();
    let applied = apply::apply_all(api, &docs, |_| {})?;
    let (vm_uuid, vmi_uuid, iip_uuid) = (
        applied[0].uuid.clone(),
        applied[1].uuid.clone(),
        applied[2].uuid.clone(),
    );
    let vmi = api.read("virtual-machine-interface", &vmi_uuid)?;
    let mac = str_at(
        &vmi,
        &[
            "virtual_machine_interface_mac_addresses",
            "mac_address",
            "0",
        ],
    )
    .context("the port has no MAC address")?
    .to_string();
    let iip = api.read("instance-ip", &iip_uuid)?;
    let address = str_at(&iip, &["instance_ip_address"])
        .context("the instance-ip has no address")?
        .to_string();

    let tap = cirrus_lab::plan::tap_name(&vmi_uuid);
    let meta: BTreeMap<String, Value> = [
        ("network", json!(network_str)),
        ("virtual_machine", json!(vm_uuid)),
        ("virtual_machine_interface", json!(vmi_uuid)),
        ("instance_ip", json!(iip_uuid)),
        ("instance_ip_address", json!(address)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut spec = WorkloadSpec::new(&args.name, &args.compute, &tap).mac(&mac);
    spec.meta = meta;
    lab.add_workload(&spec)?;
    let port = PortRequest {
        id: vmi_uuid.clone(),
        instance_id: vm_uuid,
        vn_id: vn_uuid,
        vm_project_id: project_uuid,
        display_name: args.name.clone(),
        ip_address: address.clone(),
        ip6_address: String::new(),
        port_type: PORT_TYPE_NAMESPACE,
        system_name: tap,
        mac_address: mac.clone(),
        rx_vlan_id: -1,
        tx_vlan_id: -1,
    };
    lab.post_port(&args.compute, &port)
        .with_context(|| format!("handing port {vmi_uuid} to the vrouter on {}", args.compute))?;
    let lease = lab
        .dhcp(&args.name, Duration::from_secs(args.dhcp_timeout))
        .with_context(|| format!("DHCP in workload {}", args.name))?;
    Ok(Added {
        name: args.name.clone(),
        compute: args.compute.clone(),
        network: network_str,
        mac,
        instance_ip: address,
        lease,
    })
}

pub fn del(lab: &mut Lab, api: &impl Vnc, name: &str) -> anyhow::Result<()> {
    let record = lab.workload(name)?.clone();
    let meta = |k: &str| {
        record
            .meta
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let node = lab.state().compute(&record.compute).cloned();
    let port_ipc = node.as_ref().and_then(|n| Some((n, n.port_ipc?)));
    if let (Some(vmi), Some((node, addr))) = (meta("virtual_machine_interface"), port_ipc) {
        let url = format!("http://{addr}/port/{vmi}");
        let answer = cirrus_lab::netns::run_in(&node.netns, || {
            cirrus_lab::http::call("DELETE", &url, None, Duration::from_secs(5))
        })?;
        match answer {
            Ok(a) if a.ok() || a.status == 404 => {}
            Ok(a) => eprintln!(
                "warning: DELETE {url} on {}: {} {}",
                node.name,
                a.status,
                a.body.trim()
            ),
            Err(e) => eprintln!("warning: {e}"),
        }
    }
    lab.remove_workload(name)?;
    for (kind, key) in [
        ("instance-ip", "instance_ip"),
        ("virtual-machine-interface", "virtual_machine_interface"),
        ("virtual-machine", "virtual_machine"),
    ] {
        if let Some(uuid) = meta(key) {
            match api.delete(kind, &uuid) {
                Ok(()) => {}
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(e).with_context(|| format!("deleting {kind} {uuid}")),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workloads_objects_bind_its_port_to_the_compute_node() {
        let network: Vec<String> = ["default-domain", "red", "web"].map(String::from).to_vec();
        let docs = documents("red-web1", "c2", &network).unwrap();
        assert_eq!(
            docs[0].create_body(),
            json!({"virtual-machine": {"fq_name": ["red-web1"]}})
        );
        let vmi = docs[1].create_body();
        let vmi = &vmi["virtual-machine-interface"];
        assert_eq!(vmi["fq_name"], json!(["default-domain", "red", "red-web1"]));
        assert_eq!(vmi["parent_type"], "project");
        assert_eq!(
            vmi["virtual_machine_interface_bindings"],
            json!({"key_value_pair": [{"key": "host_id", "value": "c2"}]})
        );
        assert_eq!(vmi["virtual_network_refs"][0]["to"], json!(network));
        let iip = docs[2].create_body();
        assert_eq!(
            iip["instance-ip"]["virtual_machine_interface_refs"][0]["to"],
            json!(["default-domain", "red", "red-web1"])
        );
    }
}
