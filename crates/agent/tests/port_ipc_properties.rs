//! Properties of the port IPC, the stable counterpart of `fuzz/` (port_ipc_request): any
//! body never panics the parsers; a valid record written back reads the same; dropping any
//! required field is refused naming it; and any sequence of changes to the store, reopened
//! from its files, gives back exactly what a plain in-memory model holds.

use cirrus_agent::port_ipc::{
    PortChange, PortRecord, PortStore, PortType, RequestError, VmPortRecord, parse_port_request,
    parse_vm_request,
};
use cirrus_dataplane::wire::MacAddr;
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use uuid::Uuid;

const REQUIRED: [&str; 12] = [
    "id",
    "instance-id",
    "vn-id",
    "vm-project-id",
    "display-name",
    "ip-address",
    "ip6-address",
    "type",
    "system-name",
    "mac-address",
    "rx-vlan-id",
    "tx-vlan-id",
];

fn uuid_nz() -> impl Strategy<Value = Uuid> {
    (1u128..).prop_map(Uuid::from_u128)
}

fn vlan() -> impl Strategy<Value = Option<u16>> {
    proptest::option::of(0u16..=4095)
}

prop_compose! {
    fn record()(
        id in uuid_nz(),
        instance_id in any::<u128>().prop_map(Uuid::from_u128),
        vn_id in uuid_nz(),
        vm_project_id in any::<u128>().prop_map(Uuid::from_u128),
        display_name in "\\PC{0,20}",
        ip in proptest::option::of(1u32..).prop_map(|o| o.map(Ipv4Addr::from)),
        ip6 in proptest::option::of(1u128..).prop_map(|o| o.map(Ipv6Addr::from)),
        kind in 0u8..3,
        ifname in "[a-z][a-z0-9_.-]{0,14}",
        mac in any::<[u8; 6]>(),
        rx in vlan(),
        tx in vlan(),
        vhostuser_mode in any::<u8>(),
        link in any::<bool>(),
    ) -> PortRecord {
        let mut mac = mac;
        mac[0] = (mac[0] & 0xfe) | 0x02; // unicast, locally administered: never zero
        PortRecord {
            id,
            instance_id,
            vn_id,
            vm_project_id,
            display_name,
            ip_address: ip,
            ip6_address: ip6,
            port_type: [PortType::VmPort, PortType::Namespace, PortType::RemotePort][kind as usize],
            system_name: ifname,
            mac_address: MacAddr(mac),
            rx_vlan_id: rx,
            tx_vlan_id: tx,
            vhostuser_mode,
            link_state: link,
        }
    }
}

/// Arbitrary JSON, shallow.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    proptest::sample::select(REQUIRED.to_vec()).prop_map(str::to_string),
                    "[a-z-]{1,12}"
                ],
                inner,
                0..14
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One change to a store.
#[derive(Debug, Clone)]
enum Op {
    Add(Vec<PortRecord>),
    Delete(usize),
    Link(usize, bool),
    AddVm(VmPortRecord),
    DeleteVm(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        proptest::collection::vec(record(), 1..3).prop_map(Op::Add),
        any::<usize>().prop_map(Op::Delete),
        (any::<usize>(), any::<bool>()).prop_map(|(i, b)| Op::Link(i, b)),
        (uuid_nz(), uuid_nz(), "[a-z]{1,8}").prop_map(|(vm, vmi, name)| Op::AddVm(VmPortRecord {
            vm_uuid: Uuid::from_u128(vm.as_u128() % 3 + 1),
            vmi_uuid: vmi,
            vn_uuid: vmi,
            vm_name: name.clone(),
            vm_id: String::new(),
            host_ifname: format!("tap{name}"),
            vm_ifname: "eth0".into(),
            vm_namespace: String::new(),
        })),
        (1usize..4).prop_map(Op::DeleteVm),
    ]
}

proptest! {
    #[test]
    fn any_body_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), v in json()) {
        let _ = parse_port_request(&bytes);
        let _ = parse_vm_request(&bytes);
        let body = v.to_string();
        let _ = parse_port_request(body.as_bytes());
        let _ = parse_vm_request(body.as_bytes());
    }

    #[test]
    fn records_read_back_as_written(mut r in record()) {
        if r.port_type == PortType::VmPort && r.vn_id.is_nil() {
            r.vn_id = Uuid::from_u128(1);
        }
        let back = parse_port_request(r.to_json(Some(("a", "t"))).to_string().as_bytes());
        prop_assert_eq!(back, Ok(vec![r]));
    }

    #[test]
    fn a_missing_required_field_is_named(r in record(), i in 0..REQUIRED.len()) {
        let mut v = r.to_json(None);
        v.as_object_mut().unwrap().remove(REQUIRED[i]);
        match parse_port_request(v.to_string().as_bytes()) {
            Err(RequestError::Field { field, .. }) => prop_assert_eq!(field, REQUIRED[i]),
            other => prop_assert!(false, "{}: {:?}", REQUIRED[i], other),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn a_reopened_store_holds_what_the_model_holds(ops in proptest::collection::vec(op(), 1..12)) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = PortStore::open(dir.path()).unwrap();
        let mut ports: BTreeMap<Uuid, PortRecord> = BTreeMap::new();
        let mut vms: BTreeMap<(Uuid, Uuid), VmPortRecord> = BTreeMap::new();
        let mut last_seq = 0;
        for op in ops {
            let events = match op {
                Op::Add(rs) => {
                    let mut seen = std::collections::HashSet::new();
                    let rs: Vec<PortRecord> = rs.into_iter().filter(|r| seen.insert(r.id)).collect();
                    for r in &rs {
                        ports.insert(r.id, r.clone());
                    }
                    store.add_ports(rs).unwrap()
                }
                Op::Delete(i) => {
                    let Some(id) = ports.keys().nth(i % (ports.len() + 1)).copied() else {
                        continue;
                    };
                    ports.remove(&id);
                    store.delete_port(id).unwrap()
                }
                Op::Link(i, up) => {
                    let Some(id) = ports.keys().nth(i % (ports.len() + 1)).copied() else {
                        continue;
                    };
                    let remote = ports[&id].port_type == PortType::RemotePort;
                    let r = store.set_link_state(id, up);
                    prop_assert_eq!(r.is_ok(), remote);
                    if remote {
                        ports.get_mut(&id).unwrap().link_state = up;
                    }
                    r.unwrap_or_default()
                }
                Op::AddVm(v) => {
                    vms.insert((v.vm_uuid, v.vmi_uuid), v.clone());
                    store.add_vm_port(v).unwrap()
                }
                Op::DeleteVm(n) => {
                    let vm = Uuid::from_u128(n as u128);
                    vms.retain(|k, _| k.0 != vm);
                    store.delete_vm(vm).unwrap()
                }
            };
            for e in &events {
                prop_assert_eq!(e.seq, last_seq + 1);
                last_seq = e.seq;
                if let PortChange::PortAdded { port, .. } = &e.change {
                    prop_assert_eq!(Some(port), ports.get(&port.id));
                }
            }
        }
        let reopened = PortStore::open(dir.path()).unwrap();
        prop_assert!(reopened.load_errors().is_empty());
        prop_assert_eq!(reopened.ports().cloned().collect::<Vec<_>>(), ports.into_values().collect::<Vec<_>>());
        prop_assert_eq!(reopened.vm_ports().cloned().collect::<Vec<_>>(), vms.into_values().collect::<Vec<_>>());
    }
}
