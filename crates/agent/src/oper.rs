//! What the port IPC's `GET` requests answer with: each VMI of the slice as its config
//! reads (VM, network, project, MAC, instance IPs with their subnet's gateway and DNS
//! address), published into the port IPC's oper table after every config change.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use uuid::Uuid;

use crate::config::ConfigStore;
use crate::config::network::{Network, network};
use crate::config::port::port_of;
use crate::config::schema::VirtualMachineInterfacePropertiesType;
use crate::port_ipc::{Ipv4Oper, Ipv6Oper, OperTable, VmiOper};

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap_or(Uuid::nil())
}

/// The oper view of every VMI of the slice that reads.
pub fn opers(store: &ConfigStore) -> Vec<(Uuid, VmiOper)> {
    let mut out = Vec::new();
    for o in store.of_kind("virtual-machine-interface") {
        let Ok(p) = port_of(store, o) else { continue };
        let Ok(n): Result<Network, _> = network(store, &p.network) else {
            continue;
        };
        let vm = p.vm.as_deref().and_then(|v| store.get(v));
        let project = store
            .parent(o)
            .filter(|x| x.kind == "project")
            .or_else(|| store.get(&n.uuid).and_then(|v| store.parent(v)))
            .map(|x| uuid(&x.uuid))
            .unwrap_or(Uuid::nil());
        let ipv4 = p.ips.iter().find_map(|i| {
            let IpAddr::V4(addr) = i.addr else {
                return None;
            };
            let s = n.subnet_of(i.addr)?;
            let g = |a: Option<IpAddr>| match a {
                Some(IpAddr::V4(a)) => a,
                _ => Ipv4Addr::UNSPECIFIED,
            };
            Some(Ipv4Oper {
                addr,
                plen: s.prefix.len,
                gateway: g(s.gateway),
                dns_server: g(s.dns_server),
            })
        });
        let ipv6 = p.ips.iter().find_map(|i| {
            let IpAddr::V6(addr) = i.addr else {
                return None;
            };
            let s = n.subnet_of(i.addr)?;
            let g = |a: Option<IpAddr>| match a {
                Some(IpAddr::V6(a)) => a,
                _ => Ipv6Addr::UNSPECIFIED,
            };
            Some(Ipv6Oper {
                addr,
                plen: s.prefix.len,
                gateway: g(s.gateway),
                dns_server: g(s.dns_server),
            })
        });
        let vlan = o
            .prop_or_none::<VirtualMachineInterfacePropertiesType>(
                "virtual_machine_interface_properties",
            )
            .and_then(|x| x.sub_interface_vlan_tag)
            .and_then(|v| u16::try_from(v).ok());
        out.push((
            uuid(&p.uuid),
            VmiOper {
                vm_uuid: p.vm.as_deref().map(uuid).unwrap_or(Uuid::nil()),
                vm_name: vm
                    .map(|v| v.str_prop("display_name").unwrap_or(v.name()).to_string())
                    .unwrap_or_default(),
                vn_uuid: uuid(&n.uuid),
                vn_name: n.fq_name.clone(),
                project_uuid: project,
                mac: p.mac,
                ipv4,
                ipv6,
                sub_interface: vlan.is_some(),
                vlan_id: vlan.unwrap_or(0),
                annotations: Vec::new(),
            },
        ));
    }
    out
}

/// Publishes `store`'s VMIs into `table`, removing those published before and gone now.
/// Returns what is published.
pub fn publish(table: &OperTable, store: &ConfigStore, before: &HashSet<Uuid>) -> HashSet<Uuid> {
    let now = opers(store);
    let ids: HashSet<Uuid> = now.iter().map(|(u, _)| *u).collect();
    for (u, o) in now {
        if table.get(u).as_ref() != Some(&o) {
            table.set(u, o);
        }
    }
    for u in before.difference(&ids) {
        table.remove(*u);
    }
    ids
}
