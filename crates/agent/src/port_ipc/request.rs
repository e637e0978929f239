//! The bodies of Contrail's port IPC requests and the files that persist them, read into
//! [`PortRecord`] / [`VmPortRecord`] and written back in the same JSON (Contrail's
//! `port_ipc_handler.cc` and the `vrouter-port-control` script that nova's vif driver runs
//! are the reference). Pure: a malformed body is a [`RequestError`] naming the field (and
//! the array element), never a panic.

use cirrus_dataplane::wire::MacAddr;
use serde_json::{Map, Value, json};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use uuid::Uuid;

/// What kind of port a `POST /port` subscribes (Contrail's `PortSubscribeEntry::Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum PortType {
    /// 0: a VM's tap or veth (nova's `NovaVMPort`).
    VmPort,
    /// 1: a port in a network namespace (`NameSpacePort`); never removed as stale.
    Namespace,
    /// 2: a port with no local interface (`ESXiPort`): link state comes only from
    /// enable/disable requests, and starts disabled.
    RemotePort,
}

impl PortType {
    pub fn code(self) -> u8 {
        match self {
            Self::VmPort => 0,
            Self::Namespace => 1,
            Self::RemotePort => 2,
        }
    }
}

/// One port subscription (`POST /port`), as persisted in `<state dir>/ports/<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRecord {
    /// `id`: the virtual-machine-interface's uuid.
    pub id: Uuid,
    /// `instance-id`: the virtual-machine's uuid.
    pub instance_id: Uuid,
    /// `vn-id`: the virtual-network's uuid (nil only for namespace and remote ports).
    pub vn_id: Uuid,
    /// `vm-project-id`: the project's uuid; nil when the caller sent "" (as
    /// `vrouter-port-control` does for a uuid given with dashes).
    pub vm_project_id: Uuid,
    /// `display-name`: the VM's name.
    pub display_name: String,
    /// `ip-address`: the IPv4 instance IP nova knows (`None` for "", "None", null or 0.0.0.0).
    pub ip_address: Option<Ipv4Addr>,
    /// `ip6-address`: the IPv6 instance IP (`None` for "", "None", null or ::).
    pub ip6_address: Option<Ipv6Addr>,
    /// `type`.
    pub port_type: PortType,
    /// `system-name`: the interface on this host (the tap or veth end), at most 15 bytes.
    pub system_name: String,
    /// `mac-address`.
    pub mac_address: MacAddr,
    /// `rx-vlan-id`: `None` for -1 (or 65535, how Contrail stores "none").
    pub rx_vlan_id: Option<u16>,
    /// `tx-vlan-id`: as `rx-vlan-id`.
    pub tx_vlan_id: Option<u16>,
    /// `vhostuser-mode` (optional, 0 when absent).
    pub vhostuser_mode: u8,
    /// `link-state` (optional): false for a remote port until enabled, true otherwise.
    pub link_state: bool,
}

/// One VM-level subscription (`POST /vm`, Kubernetes/Mesos style), persisted in
/// `<state dir>/ports/vm/<vm-uuid>/<vmi-uuid>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmPortRecord {
    /// `vm-uuid`.
    pub vm_uuid: Uuid,
    /// `vmi-uuid`.
    pub vmi_uuid: Uuid,
    /// `vn-uuid`.
    pub vn_uuid: Uuid,
    /// `vm-name`.
    pub vm_name: String,
    /// `vm-id` (optional).
    pub vm_id: String,
    /// `host-ifname`: the interface on this host.
    pub host_ifname: String,
    /// `vm-ifname` (optional): the interface's name inside the VM/pod.
    pub vm_ifname: String,
    /// `vm-namespace` (optional).
    pub vm_namespace: String,
}

/// Why a request body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// Not JSON at all.
    Json(String),
    /// JSON, but not an object (or, for `POST /port`, an array of objects).
    Unexpected(&'static str),
    /// A field is missing or holds a bad value; `at` is the array element.
    Field {
        at: Option<usize>,
        field: &'static str,
        why: String,
    },
    /// The same port twice in one array.
    Duplicate { at: usize, id: Uuid },
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(e) => write!(f, "Invalid Json string: {e}"),
            Self::Unexpected(what) => write!(f, "Unexpected Json string: {what}"),
            Self::Field { at, field, why } => {
                if let Some(i) = at {
                    write!(f, "Json Array element {i}: ")?;
                }
                write!(f, "Invalid or missing field for <{field}>: {why}")
            }
            Self::Duplicate { at, id } => {
                write!(f, "Json Array element {at}: port {id} given twice")
            }
        }
    }
}

impl std::error::Error for RequestError {}

/// Linux interface names: 1 to 15 bytes, no '/', whitespace, ':' or NUL.
fn valid_ifname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s != "."
        && s != ".."
        && !s
            .bytes()
            .any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace())
}

/// A MAC in `xx:xx:xx:xx:xx:xx` form (Contrail's "Use xx:xx:xx:xx:xx:xx format").
pub fn parse_mac(s: &str) -> Option<MacAddr> {
    let mut m = [0u8; 6];
    let mut parts = s.split(':');
    for b in m.iter_mut() {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(MacAddr(m))
}

/// Field access with the error naming the field.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    at: Option<usize>,
}

impl<'a> Obj<'a> {
    fn err(&self, field: &'static str, why: impl Into<String>) -> RequestError {
        RequestError::Field {
            at: self.at,
            field,
            why: why.into(),
        }
    }

    fn string(&self, field: &'static str) -> Result<&'a str, RequestError> {
        match self.map.get(field) {
            Some(Value::String(s)) => Ok(s),
            Some(v) => Err(self.err(field, format!("expected a string, got {v}"))),
            None => Err(self.err(field, "missing")),
        }
    }

    fn opt_string(&self, field: &'static str) -> Result<String, RequestError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(_) => self.string(field).map(str::to_string),
        }
    }

    /// A uuid; "" is the nil uuid when `empty_is_nil`.
    fn uuid(&self, field: &'static str, empty_is_nil: bool) -> Result<Uuid, RequestError> {
        let s = self.string(field)?;
        if s.is_empty() && empty_is_nil {
            return Ok(Uuid::nil());
        }
        Uuid::try_parse(s).map_err(|e| self.err(field, format!("{s:?} is not a uuid ({e})")))
    }

    fn int(&self, field: &'static str) -> Result<i64, RequestError> {
        match self.map.get(field) {
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or_else(|| self.err(field, format!("{n} is not an integer"))),
            Some(v) => Err(self.err(field, format!("expected an integer, got {v}"))),
            None => Err(self.err(field, "missing")),
        }
    }

    fn opt_int(&self, field: &'static str) -> Result<Option<i64>, RequestError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.int(field).map(Some),
        }
    }

    /// An address field: required, but "", "None", null and the unspecified address mean
    /// none.
    fn addr<A: std::str::FromStr + PartialEq>(
        &self,
        field: &'static str,
        unspecified: A,
    ) -> Result<Option<A>, RequestError> {
        let s = match self.map.get(field) {
            Some(Value::Null) => return Ok(None),
            _ => self.string(field)?,
        };
        if s.is_empty() || s == "None" {
            return Ok(None);
        }
        let a: A = s
            .parse()
            .map_err(|_| self.err(field, format!("{s:?} is not an address of this family")))?;
        Ok((a != unspecified).then_some(a))
    }

    fn vlan(&self, field: &'static str) -> Result<Option<u16>, RequestError> {
        match self.int(field)? {
            -1 | 65535 => Ok(None),
            v @ 0..=4095 => Ok(Some(v as u16)),
            v => Err(self.err(
                field,
                format!("{v} is not a VLAN id (0-4095, or -1 for none)"),
            )),
        }
    }
}

fn parse_json(body: &[u8]) -> Result<Value, RequestError> {
    serde_json::from_slice(body).map_err(|e| RequestError::Json(e.to_string()))
}

/// Reads a `POST /port` body: one object, or an array of them (all valid or the request
/// is refused). Also reads a persisted port file (one object).
pub fn parse_port_request(body: &[u8]) -> Result<Vec<PortRecord>, RequestError> {
    match parse_json(body)? {
        Value::Object(m) => Ok(vec![port_from(&Obj { map: &m, at: None })?]),
        Value::Array(items) => {
            let mut out: Vec<PortRecord> = Vec::with_capacity(items.len());
            for (i, v) in items.iter().enumerate() {
                let Value::Object(m) = v else {
                    return Err(RequestError::Unexpected(
                        "an array element is not an object",
                    ));
                };
                let p = port_from(&Obj {
                    map: m,
                    at: Some(i),
                })?;
                if out.iter().any(|q| q.id == p.id) {
                    return Err(RequestError::Duplicate { at: i, id: p.id });
                }
                out.push(p);
            }
            Ok(out)
        }
        _ => Err(RequestError::Unexpected("expected an object or an array")),
    }
}

fn port_from(o: &Obj) -> Result<PortRecord, RequestError> {
    let id = o.uuid("id", false)?;
    if id.is_nil() {
        return Err(o.err("id", "the nil uuid"));
    }
    let instance_id = o.uuid("instance-id", false)?;
    let vn_id = o.uuid("vn-id", false)?;
    let vm_project_id = o.uuid("vm-project-id", true)?;
    let display_name = o.string("display-name")?.to_string();
    let ip_address = o.addr("ip-address", Ipv4Addr::UNSPECIFIED)?;
    let ip6_address = o.addr("ip6-address", Ipv6Addr::UNSPECIFIED)?;
    let port_type = match o.int("type")? {
        0 => PortType::VmPort,
        1 => PortType::Namespace,
        2 => PortType::RemotePort,
        t => {
            return Err(o.err(
                "type",
                format!("{t} is not 0 (VM), 1 (namespace) or 2 (remote)"),
            ));
        }
    };
    if port_type == PortType::VmPort && vn_id.is_nil() {
        return Err(o.err("vn-id", "Invalid VN uuid: nil for a VM port"));
    }
    let system_name = o.string("system-name")?.to_string();
    if port_type != PortType::RemotePort && !valid_ifname(&system_name) {
        return Err(o.err(
            "system-name",
            format!("{system_name:?} is not an interface name (1-15 bytes, no '/', ':' or spaces)"),
        ));
    }
    let mac_s = o.string("mac-address")?;
    let mac_address = parse_mac(mac_s).ok_or_else(|| {
        o.err(
            "mac-address",
            format!("Invalid MAC {mac_s:?}, Use xx:xx:xx:xx:xx:xx format"),
        )
    })?;
    if mac_address == MacAddr::ZERO || mac_address.is_multicast() {
        return Err(o.err("mac-address", format!("{mac_s} is not a unicast address")));
    }
    let rx_vlan_id = o.vlan("rx-vlan-id")?;
    let tx_vlan_id = o.vlan("tx-vlan-id")?;
    let vhostuser_mode = match o.opt_int("vhostuser-mode")? {
        None => 0,
        Some(v @ 0..=255) => v as u8,
        Some(v) => return Err(o.err("vhostuser-mode", format!("{v} is out of range"))),
    };
    let link_state = match o.opt_int("link-state")? {
        None => port_type != PortType::RemotePort,
        Some(0) => false,
        Some(1) => true,
        Some(v) => return Err(o.err("link-state", format!("{v} is not 0 or 1"))),
    };
    Ok(PortRecord {
        id,
        instance_id,
        vn_id,
        vm_project_id,
        display_name,
        ip_address,
        ip6_address,
        port_type,
        system_name,
        mac_address,
        rx_vlan_id,
        tx_vlan_id,
        vhostuser_mode,
        link_state,
    })
}

/// Reads a `POST /vm` body (one object; arrays are refused, as in Contrail), or a persisted
/// VM subscription file.
pub fn parse_vm_request(body: &[u8]) -> Result<VmPortRecord, RequestError> {
    let m = match parse_json(body)? {
        Value::Object(m) => m,
        Value::Array(_) => {
            return Err(RequestError::Unexpected(
                "Arrays not supported in json for vm",
            ));
        }
        _ => return Err(RequestError::Unexpected("expected an object")),
    };
    let o = Obj { map: &m, at: None };
    let vm_uuid = o.uuid("vm-uuid", false)?;
    if vm_uuid.is_nil() {
        return Err(o.err("vm-uuid", "the nil uuid"));
    }
    let host_ifname = o.string("host-ifname")?.to_string();
    if !valid_ifname(&host_ifname) {
        return Err(o.err(
            "host-ifname",
            format!("{host_ifname:?} is not an interface name (1-15 bytes, no '/', ':' or spaces)"),
        ));
    }
    let vm_name = o.string("vm-name")?.to_string();
    let vm_id = o.opt_string("vm-id")?;
    let vm_ifname = o.opt_string("vm-ifname")?;
    let vm_namespace = o.opt_string("vm-namespace")?;
    let vn_uuid = o.uuid("vn-uuid", false)?;
    let vmi_uuid = o.uuid("vmi-uuid", false)?;
    if vmi_uuid.is_nil() {
        return Err(o.err("vmi-uuid", "the nil uuid"));
    }
    Ok(VmPortRecord {
        vm_uuid,
        vmi_uuid,
        vn_uuid,
        vm_name,
        vm_id,
        host_ifname,
        vm_ifname,
        vm_namespace,
    })
}

fn vlan_json(v: Option<u16>) -> Value {
    v.map_or(json!(-1), |v| json!(v))
}

impl PortRecord {
    /// The record in the request's own JSON (what `parse_port_request` reads back), with
    /// Contrail's `author` and `time` when given.
    pub fn to_json(&self, meta: Option<(&str, &str)>) -> Value {
        let mut v = json!({
            "id": self.id.to_string(),
            "instance-id": self.instance_id.to_string(),
            "vn-id": self.vn_id.to_string(),
            "vm-project-id": if self.vm_project_id.is_nil() { String::new() } else { self.vm_project_id.to_string() },
            "display-name": self.display_name,
            "ip-address": self.ip_address.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string(),
            "ip6-address": self.ip6_address.unwrap_or(Ipv6Addr::UNSPECIFIED).to_string(),
            "type": self.port_type.code(),
            "system-name": self.system_name,
            "mac-address": self.mac_address.to_string(),
            "rx-vlan-id": vlan_json(self.rx_vlan_id),
            "tx-vlan-id": vlan_json(self.tx_vlan_id),
            "vhostuser-mode": self.vhostuser_mode,
            "link-state": u8::from(self.link_state),
        });
        if let Some((author, time)) = meta {
            v["author"] = json!(author);
            v["time"] = json!(time);
        }
        v
    }
}

impl VmPortRecord {
    /// The record in the request's own JSON, with `author` and `time` when given.
    pub fn to_json(&self, meta: Option<(&str, &str)>) -> Value {
        let mut v = json!({
            "vm-uuid": self.vm_uuid.to_string(),
            "vmi-uuid": self.vmi_uuid.to_string(),
            "vn-uuid": self.vn_uuid.to_string(),
            "vm-name": self.vm_name,
            "vm-id": self.vm_id,
            "host-ifname": self.host_ifname,
            "vm-ifname": self.vm_ifname,
            "vm-namespace": self.vm_namespace,
        });
        if let Some((author, time)) = meta {
            v["author"] = json!(author);
            v["time"] = json!(time);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `vrouter-port-control --oper=add` posts (its GetJSonDict), fixed text.
    const NOVA: &str = r#"{"id": "ea73b285-01a7-4d3e-8322-50976e8913da",
        "instance-id": "ea73b285-01a7-4d3e-8322-50976e8913db",
        "ip-address": "11.0.0.3", "ip6-address": "", "vn-id": "fa73b285-01a7-4d3e-8322-50976e8913de",
        "display-name": "vm1", "vm-project-id": "", "mac-address": "02:1a:f4:be:e3:04",
        "system-name": "tap1af4bee3-04", "type": 0, "rx-vlan-id": -1, "tx-vlan-id": -1,
        "vhostuser-mode": 0, "author": "/usr/bin/vrouter-port-control",
        "time": "2026-01-01 10:00:00.000000"}"#;

    fn nova() -> Value {
        serde_json::from_str(NOVA).unwrap()
    }

    fn refuse(v: &Value) -> RequestError {
        parse_port_request(v.to_string().as_bytes()).unwrap_err()
    }

    #[test]
    fn reads_what_vrouter_port_control_posts() {
        let p = parse_port_request(NOVA.as_bytes()).unwrap();
        assert_eq!(p.len(), 1);
        let p = &p[0];
        assert_eq!(p.id.to_string(), "ea73b285-01a7-4d3e-8322-50976e8913da");
        assert_eq!(p.ip_address, Some(Ipv4Addr::new(11, 0, 0, 3)));
        assert_eq!(p.ip6_address, None);
        assert!(p.vm_project_id.is_nil());
        assert_eq!(p.port_type, PortType::VmPort);
        assert_eq!(p.mac_address, MacAddr([2, 0x1a, 0xf4, 0xbe, 0xe3, 4]));
        assert_eq!((p.rx_vlan_id, p.tx_vlan_id), (None, None));
        assert!(p.link_state);
        // Written back and read again: the same record.
        let again = parse_port_request(p.to_json(Some(("a", "t"))).to_string().as_bytes()).unwrap();
        assert_eq!(&again[0], p);
    }

    #[test]
    fn contrail_test_data_file_reads() {
        // src/vnsw/agent/port_ipc/test/data/93c2c386-...: "None" for IPv6, type 0.
        let f = r#"{"ip-address": "11.0.0.3", "tx-vlan-id": -1, "display-name": "vm1", "id": "93c2c386-6e79-485e-bfa4-b9daa713133b", "instance-id": "69ce06bd-6d1e-43d0-8e48-a30043a49ed8", "ip6-address": "None", "rx-vlan-id": -1, "system-name": "tap93c2c386-6e", "vn-id": "56297dc0-5553-4e6a-b87f-8423afc21e9d", "vm-project-id": "9970147c-33b1-4bf7-8944-8968e708d430", "type": 0, "mac-address": "02:93:c2:c3:86:6e"}"#;
        let p = parse_port_request(f.as_bytes()).unwrap();
        assert_eq!(p[0].ip6_address, None);
        assert_eq!(p[0].system_name, "tap93c2c386-6e");
    }

    #[test]
    fn every_required_field_is_named_when_missing() {
        for field in [
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
        ] {
            let mut v = nova();
            v.as_object_mut().unwrap().remove(field);
            let e = refuse(&v);
            assert_eq!(
                e.to_string(),
                format!("Invalid or missing field for <{field}>: missing")
            );
        }
    }

    #[test]
    fn bad_values_are_named() {
        let cases: &[(&str, Value, &str)] = &[
            ("id", json!("not-a-uuid"), "id"),
            ("id", json!("00000000-0000-0000-0000-000000000000"), "id"),
            ("instance-id", json!(7), "instance-id"),
            (
                "vn-id",
                json!("00000000-0000-0000-0000-000000000000"),
                "vn-id",
            ),
            ("ip-address", json!("fd11::3"), "ip-address"),
            ("ip6-address", json!("11.0.0.3"), "ip6-address"),
            ("type", json!(3), "type"),
            ("type", json!("0"), "type"),
            ("system-name", json!("a/b"), "system-name"),
            ("system-name", json!("0123456789abcdef"), "system-name"),
            ("mac-address", json!("02:1a:f4:be:e3"), "mac-address"),
            ("mac-address", json!("00:00:00:00:00:00"), "mac-address"),
            ("mac-address", json!("01:00:5e:00:00:01"), "mac-address"),
            ("rx-vlan-id", json!(4096), "rx-vlan-id"),
            ("tx-vlan-id", json!(null), "tx-vlan-id"),
            ("vhostuser-mode", json!(-3), "vhostuser-mode"),
            ("link-state", json!(2), "link-state"),
        ];
        for (field, value, named) in cases {
            let mut v = nova();
            v[*field] = value.clone();
            match refuse(&v) {
                RequestError::Field { field: f, at, .. } => {
                    assert_eq!((f, at), (*named, None), "{field} = {value}")
                }
                e => panic!("{field} = {value}: {e}"),
            }
        }
    }

    #[test]
    fn arrays_name_the_element_and_refuse_duplicates() {
        let mut second = nova();
        second["id"] = json!("ea73b285-01a7-4d3e-8322-50976e8913dd");
        let ok = json!([nova(), second.clone()]);
        assert_eq!(
            parse_port_request(ok.to_string().as_bytes()).unwrap().len(),
            2
        );
        second["mac-address"] = json!("zz");
        let e = refuse(&json!([nova(), second]));
        assert!(
            e.to_string()
                .starts_with("Json Array element 1: Invalid or missing field for <mac-address>"),
            "{e}"
        );
        let e = refuse(&json!([nova(), nova()]));
        assert!(matches!(e, RequestError::Duplicate { at: 1, .. }), "{e}");
        assert_eq!(
            refuse(&json!([nova(), 5])),
            RequestError::Unexpected("an array element is not an object")
        );
        assert!(matches!(
            parse_port_request(b"{\"id\": "),
            Err(RequestError::Json(_))
        ));
        assert!(matches!(
            parse_port_request(b"42"),
            Err(RequestError::Unexpected(_))
        ));
    }

    #[test]
    fn remote_ports_start_disabled_and_need_no_interface() {
        let mut v = nova();
        v["type"] = json!(2);
        v["system-name"] = json!("");
        let p = &parse_port_request(v.to_string().as_bytes()).unwrap()[0];
        assert_eq!(p.port_type, PortType::RemotePort);
        assert!(!p.link_state);
        v["link-state"] = json!(1);
        assert!(parse_port_request(v.to_string().as_bytes()).unwrap()[0].link_state);
    }

    #[test]
    fn vm_requests() {
        let body = json!({"vm-uuid": "d4b9b2c2-8ad0-4d0e-9c71-1d3b1c7d2f10",
            "vmi-uuid": "a0b1c2d3-0000-4000-8000-000000000001",
            "vn-uuid": "a0b1c2d3-0000-4000-8000-000000000002",
            "vm-name": "pod-a", "host-ifname": "tapa0b1c2d3-00", "vm-ifname": "eth0",
            "vm-namespace": "/var/run/netns/pod-a"});
        let r = parse_vm_request(body.to_string().as_bytes()).unwrap();
        assert_eq!(r.vm_name, "pod-a");
        assert_eq!(r.vm_id, "");
        assert_eq!(
            parse_vm_request(r.to_json(None).to_string().as_bytes()).unwrap(),
            r
        );
        for field in ["vm-uuid", "host-ifname", "vm-name", "vn-uuid", "vmi-uuid"] {
            let mut v = body.clone();
            v.as_object_mut().unwrap().remove(field);
            let e = parse_vm_request(v.to_string().as_bytes()).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("Invalid or missing field for <{field}>: missing")
            );
        }
        assert_eq!(
            parse_vm_request(json!([body]).to_string().as_bytes()).unwrap_err(),
            RequestError::Unexpected("Arrays not supported in json for vm")
        );
    }
}
