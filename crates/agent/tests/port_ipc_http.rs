//! The port IPC over real HTTP (a `ureq` client against the server on 127.0.0.1): every
//! endpoint, every refusal (status, the field named, and nothing changed: no event, no
//! file), the events the agent gets, the stale sweep after `POST /syncports`, and a
//! restart of the server on the same state dir keeping every subscription.

use cirrus_agent::port_ipc::{
    Ipv4Oper, PortChange, PortEvent, PortEvents, PortIpc, PortIpcConfig, PortType, VmiOper,
    parse_mac,
};
use serde_json::{Value, json};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use uuid::Uuid;

const PORT1: &str = "ea73b285-01a7-4d3e-8322-50976e8913da";
const PORT2: &str = "ea73b285-01a7-4d3e-8322-50976e8913dd";
const VM: &str = "ea73b285-01a7-4d3e-8322-50976e8913db";
const VN: &str = "fa73b285-01a7-4d3e-8322-50976e8913de";
const PROJECT: &str = "b02a3bfb-7946-4b1c-8cc4-bf8cedcbc48d";

/// A port IPC server on its own runtime thread; stopped and joined on drop.
struct Server {
    addr: SocketAddr,
    ipc: PortIpc,
    events: PortEvents,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    http: ureq::Agent,
}

impl Server {
    fn start(dir: &Path, stale: Duration) -> Self {
        let mut cfg = PortIpcConfig::new(dir);
        cfg.stale_timeout = stale;
        let (ipc, events) = PortIpc::open(cfg).unwrap();
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let addr = l.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = ipc.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::from_std(l).unwrap();
                served
                    .serve(l, async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let http = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(10)))
                .build(),
        );
        Self {
            addr,
            ipc,
            events,
            stop: Some(stop),
            thread: Some(thread),
            http,
        }
    }

    /// One request; returns the status and the JSON answer.
    fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let url = format!("http://{}{path}", self.addr);
        let r = match (method, body) {
            ("GET", _) => self.http.get(&url).call(),
            ("DELETE", _) => self.http.delete(&url).call(),
            ("POST", Some(b)) => self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .send(b),
            ("POST", None) => self.http.post(&url).send_empty(),
            ("PUT", _) => self.http.put(&url).send_empty(),
            ("PATCH", _) => self.http.patch(&url).send_empty(),
            _ => unreachable!(),
        };
        let mut r = r.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap();
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call("POST", path, Some(&body.to_string()))
    }

    /// The next event, waiting at most `limit`.
    fn event(&mut self, limit: Duration) -> Option<PortEvent> {
        let t0 = Instant::now();
        loop {
            if let Ok(e) = self.events.try_recv() {
                return Some(e);
            }
            if t0.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn no_event(&mut self) {
        if let Some(e) = self.event(Duration::from_millis(100)) {
            panic!("unexpected event {e:?}");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What `vrouter-port-control --oper=add` posts.
fn nova_port(id: &str, tap: &str, ip: &str) -> Value {
    json!({"id": id, "instance-id": VM, "ip-address": ip, "ip6-address": "",
        "vn-id": VN, "display-name": "vm1", "vm-project-id": PROJECT,
        "mac-address": "02:1a:f4:be:e3:04", "system-name": tap, "type": 0,
        "rx-vlan-id": -1, "tx-vlan-id": -1, "vhostuser-mode": 0,
        "author": "/usr/bin/vrouter-port-control", "time": "2026-01-01 10:00:00.000000"})
}

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

fn error_text(v: &Value) -> &str {
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error text in {v}"))
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("ports"))
        .unwrap()
        .flatten()
        .filter(|d| d.file_type().unwrap().is_file())
        .map(|d| d.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn oper(vm: &str, vm_name: &str) -> VmiOper {
    VmiOper {
        vm_uuid: uuid(vm),
        vm_name: vm_name.into(),
        vn_uuid: uuid(VN),
        vn_name: "default-domain:demo:blue".into(),
        project_uuid: uuid(PROJECT),
        mac: parse_mac("02:1a:f4:be:e3:04").unwrap(),
        ipv4: Some(Ipv4Oper {
            addr: Ipv4Addr::new(11, 0, 0, 3),
            plen: 24,
            gateway: Ipv4Addr::new(11, 0, 0, 1),
            dns_server: Ipv4Addr::new(11, 0, 0, 2),
        }),
        ipv6: None,
        sub_interface: false,
        vlan_id: 0,
        annotations: vec![("cluster".into(), "k8s".into())],
    }
}

#[test]
fn post_port_persists_answers_and_announces() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path(), Duration::from_secs(60));
    let (st, v) = s.post("/port", &nova_port(PORT1, "tap1af4bee3-04", "11.0.0.3"));
    assert_eq!((st, v), (200, json!({})));
    let e = s.event(Duration::from_secs(2)).expect("an event");
    assert_eq!(e.seq, 1);
    let PortChange::PortAdded { port, replaced } = e.change else {
        panic!("{e:?}")
    };
    assert_eq!(port.id, uuid(PORT1));
    assert_eq!(port.system_name, "tap1af4bee3-04");
    assert_eq!(port.ip_address, Some(Ipv4Addr::new(11, 0, 0, 3)));
    assert_eq!(replaced, None);
    // The file, in Contrail's keys.
    assert_eq!(files(dir.path()), vec![PORT1.to_string()]);
    let f: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("ports").join(PORT1)).unwrap())
            .unwrap();
    assert_eq!(f["system-name"], json!("tap1af4bee3-04"));
    assert_eq!(f["vn-id"], json!(VN));
    assert_eq!(f["type"], json!(0));
    assert_eq!(f["author"], json!("cirrus-vrouter"));

    // Posted again unchanged: 200, no event. Changed: an event naming what it replaced.
    assert_eq!(
        s.post("/port", &nova_port(PORT1, "tap1af4bee3-04", "11.0.0.3"))
            .0,
        200
    );
    s.no_event();
    assert_eq!(
        s.post("/port", &nova_port(PORT1, "tapother", "11.0.0.3")).0,
        200
    );
    let e = s.event(Duration::from_secs(2)).unwrap();
    assert!(
        matches!(&e.change, PortChange::PortAdded { port, replaced: Some(old) }
            if port.system_name == "tapother" && old.system_name == "tap1af4bee3-04"),
        "{e:?}"
    );
}

#[test]
fn a_bad_array_element_refuses_the_whole_array() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path(), Duration::from_secs(60));
    let mut bad = nova_port(PORT2, "tap2", "11.0.0.4");
    bad["mac-address"] = json!("02:1a:f4:be:e3");
    let (st, v) = s.post("/port", &json!([nova_port(PORT1, "tap1", "11.0.0.3"), bad]));
    assert_eq!(st, 400);
    assert!(
        error_text(&v)
            .starts_with("Json Array element 1: Invalid or missing field for <mac-address>"),
        "{v}"
    );
    s.no_event();
    assert!(files(dir.path()).is_empty());
    assert!(s.ipc.snapshot().ports.is_empty());

    let (st, _) = s.post(
        "/port",
        &json!([
            nova_port(PORT1, "tap1", "11.0.0.3"),
            nova_port(PORT2, "tap2", "11.0.0.4")
        ]),
    );
    assert_eq!(st, 200);
    for _ in 0..2 {
        assert!(matches!(
            s.event(Duration::from_secs(2)).unwrap().change,
            PortChange::PortAdded { .. }
        ));
    }
    assert_eq!(files(dir.path()).len(), 2);
}

#[test]
fn every_malformed_request_is_a_400_naming_the_field_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path(), Duration::from_secs(60));
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
        let mut p = nova_port(PORT1, "tap1", "11.0.0.3");
        p.as_object_mut().unwrap().remove(field);
        let (st, v) = s.post("/port", &p);
        assert_eq!(st, 400, "{field}: {v}");
        assert_eq!(
            error_text(&v),
            format!("Invalid or missing field for <{field}>: missing")
        );
        let mut p = nova_port(PORT1, "tap1", "11.0.0.3");
        p[field] = json!({"not": "valid"});
        let (st, v) = s.post("/port", &p);
        assert_eq!(st, 400, "{field}: {v}");
        assert!(error_text(&v).contains(&format!("<{field}>")), "{v}");
    }
    let (st, v) = s.call("POST", "/port", Some("{\"id\": "));
    assert_eq!(st, 400);
    assert!(error_text(&v).starts_with("Invalid Json string"), "{v}");
    let (st, v) = s.call("POST", "/port", Some("\"port\""));
    assert_eq!(st, 400);
    assert!(error_text(&v).starts_with("Unexpected Json string"), "{v}");
    let (st, v) = s.post("/vm", &json!({"vm-uuid": VM}));
    assert_eq!(st, 400);
    assert_eq!(
        error_text(&v),
        "Invalid or missing field for <host-ifname>: missing"
    );
    let (st, v) = s.call("DELETE", "/port/not-a-uuid", None);
    assert_eq!(st, 400);
    assert_eq!(
        error_text(&v),
        "Invalid uuid \"not-a-uuid\" in the path for <port-id>"
    );
    s.no_event();
    assert!(files(dir.path()).is_empty());
}

#[test]
fn delete_get_and_link_state_of_ports() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path(), Duration::from_secs(60));
    assert_eq!(
        s.post("/port", &nova_port(PORT1, "tap1", "11.0.0.3")).0,
        200
    );
    s.event(Duration::from_secs(2)).unwrap();

    // GET: not found until the agent has the config, then Contrail's fields.
    let (st, v) = s.call("GET", &format!("/port/{PORT1}"), None);
    assert_eq!(st, 404);
    assert!(error_text(&v).contains("Retry"), "{v}");
    s.ipc.oper().set(uuid(PORT1), oper(VM, "vm1"));
    let (st, v) = s.call("GET", &format!("/port/{PORT1}"), None);
    assert_eq!(st, 200, "{v}");
    for (k, want) in [
        ("id", json!(PORT1)),
        ("instance-id", json!(VM)),
        ("vn-id", json!(VN)),
        ("vm-project-id", json!(PROJECT)),
        ("mac-address", json!("02:1a:f4:be:e3:04")),
        ("system-name", json!("tap1")),
        ("ip-address", json!("11.0.0.3")),
        ("plen", json!(24)),
        ("gateway", json!("11.0.0.1")),
        ("dns-server", json!("11.0.0.2")),
        ("rx-vlan-id", json!(-1)),
    ] {
        assert_eq!(v[k], want, "{k} in {v}");
    }

    // enable/disable: only remote ports; unknown ports are not found.
    let (st, v) = s.call("PUT", &format!("/enable-port/{PORT1}"), None);
    assert_eq!(
        (st, error_text(&v)),
        (400, format!("Incorrect Port type for {PORT1}").as_str())
    );
    let (st, v) = s.call("PUT", &format!("/disable-port/{PORT2}"), None);
    assert_eq!(
        (st, error_text(&v)),
        (404, format!("Port Not found {PORT2}").as_str())
    );
    let mut remote = nova_port(PORT2, "", "11.0.0.4");
    remote["type"] = json!(2);
    assert_eq!(s.post("/port", &remote).0, 200);
    let e = s.event(Duration::from_secs(2)).unwrap();
    assert!(
        matches!(&e.change, PortChange::PortAdded { port, .. }
            if port.port_type == PortType::RemotePort && !port.link_state),
        "{e:?}"
    );
    assert_eq!(s.call("PUT", &format!("/enable-port/{PORT2}"), None).0, 200);
    assert_eq!(
        s.event(Duration::from_secs(2)).unwrap().change,
        PortChange::LinkState {
            id: uuid(PORT2),
            up: true
        }
    );
    let f: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("ports").join(PORT2)).unwrap())
            .unwrap();
    assert_eq!(f["link-state"], json!(1));
    // Enabling an enabled port changes nothing.
    assert_eq!(s.call("PUT", &format!("/enable-port/{PORT2}"), None).0, 200);
    s.no_event();
    assert_eq!(
        s.call("PUT", &format!("/disable-port/{PORT2}"), None).0,
        200
    );
    assert_eq!(
        s.event(Duration::from_secs(2)).unwrap().change,
        PortChange::LinkState {
            id: uuid(PORT2),
            up: false
        }
    );

    // DELETE: the file goes, the agent hears; an unknown port is fine (Contrail: 200).
    let (st, v) = s.call("DELETE", &format!("/port/{PORT1}"), None);
    assert_eq!((st, v), (200, json!({})));
    assert!(
        matches!(s.event(Duration::from_secs(2)).unwrap().change, PortChange::PortRemoved(p) if p.id == uuid(PORT1))
    );
    assert_eq!(files(dir.path()), vec![PORT2.to_string()]);
    assert_eq!(s.call("DELETE", &format!("/port/{PORT1}"), None).0, 200);
    s.no_event();
}

#[test]
fn vm_subscriptions_and_config_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path(), Duration::from_secs(60));
    let sub = json!({"vm-uuid": VM, "vmi-uuid": PORT1, "vn-uuid": VN, "vm-name": "pod-a",
        "vm-id": "c0ffee", "host-ifname": "tapea73b285-01", "vm-ifname": "eth0",
        "vm-namespace": "/var/run/netns/pod-a"});
    assert_eq!(s.post("/vm", &sub), (200, json!({})));
    let e = s.event(Duration::from_secs(2)).unwrap();
    assert!(
        matches!(&e.change, PortChange::VmPortAdded { port, replaced: None }
            if port.host_ifname == "tapea73b285-01" && port.vmi_uuid == uuid(PORT1)),
        "{e:?}"
    );
    assert!(dir.path().join("ports/vm").join(VM).join(PORT1).is_file());
    let (st, v) = s.post("/vm", &json!([sub]));
    assert_eq!(st, 400);
    assert!(error_text(&v).contains("Arrays not supported"), "{v}");

    // Until the config is there: not found (the CNI retries).
    assert_eq!(s.call("GET", &format!("/vm/{VM}"), None).0, 404);
    assert_eq!(s.call("GET", &format!("/vm/{VM}/{PORT1}"), None).0, 404);
    assert_eq!(s.call("GET", "/vm-cfg/pod-a", None).0, 404);
    s.ipc.oper().set(uuid(PORT1), oper(VM, "pod-a"));
    let (st, v) = s.call("GET", &format!("/vm/{VM}"), None);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v[0]["id"], json!(PORT1));
    assert_eq!(v[0]["system-name"], json!("tapea73b285-01"));
    assert_eq!(v[0]["plen"], json!(24));
    let (st, v) = s.call("GET", &format!("/vm/{VM}/{PORT1}"), None);
    assert_eq!((st, v.as_array().map(Vec::len)), (200, Some(1)));
    let (st, v) = s.call("GET", "/vm-cfg/pod-a", None);
    assert_eq!(st, 200);
    assert_eq!(
        v,
        json!([{"id": PORT1, "vm-uuid": VM, "vn-id": VN, "vn-name": "default-domain:demo:blue",
            "mac-address": "02:1a:f4:be:e3:04", "sub-interface": false, "vlan-id": 0,
            "annotations": ["{cluster:k8s}"]}])
    );

    assert_eq!(
        s.call("DELETE", &format!("/vm/{VM}"), None),
        (200, json!({}))
    );
    assert!(matches!(
        s.event(Duration::from_secs(2)).unwrap().change,
        PortChange::VmPortRemoved(r) if r.vmi_uuid == uuid(PORT1)
    ));
    assert!(!dir.path().join("ports/vm").join(VM).exists());
    assert_eq!(s.call("DELETE", &format!("/vm/{VM}"), None).0, 200);
    s.no_event();
}

#[test]
fn syncports_removes_what_is_not_posted_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path(), Duration::from_millis(300));
    let mut ns = nova_port("ea73b285-01a7-4d3e-8322-50976e8913ee", "veth1", "11.0.0.9");
    ns["type"] = json!(1);
    let body = json!([
        nova_port(PORT1, "tap1", "11.0.0.3"),
        nova_port(PORT2, "tap2", "11.0.0.4"),
        ns
    ]);
    assert_eq!(s.post("/port", &body).0, 200);
    for _ in 0..3 {
        s.event(Duration::from_secs(2)).unwrap();
    }
    assert_eq!(s.call("POST", "/syncports", None), (200, json!({})));
    // Nova re-posts the ports it still has: only port 1.
    assert_eq!(
        s.post("/port", &nova_port(PORT1, "tap1", "11.0.0.3")).0,
        200
    );
    let e = s.event(Duration::from_secs(3)).expect("the stale sweep");
    assert!(
        matches!(&e.change, PortChange::PortRemoved(p) if p.id == uuid(PORT2)),
        "{e:?}"
    );
    s.no_event();
    // Port 1 was posted again, the namespace port is never stale.
    let left: Vec<Uuid> = s.ipc.snapshot().ports.iter().map(|p| p.id).collect();
    assert_eq!(
        left,
        vec![uuid(PORT1), uuid("ea73b285-01a7-4d3e-8322-50976e8913ee")]
    );
    assert!(!dir.path().join("ports").join(PORT2).exists());
}

#[test]
fn unknown_routes_and_methods_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), Duration::from_secs(60));
    let (st, v) = s.call("GET", "/ports", None);
    assert_eq!(st, 404);
    assert_eq!(error_text(&v), "Unknown Request: GET /ports");
    let (st, v) = s.call("PATCH", &format!("/port/{PORT1}"), None);
    assert_eq!(st, 404);
    assert!(error_text(&v).starts_with("Unknown Request"), "{v}");
}

#[test]
fn a_restart_on_the_same_state_dir_keeps_every_subscription() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let mut s = Server::start(dir.path(), Duration::from_secs(60));
        let mut remote = nova_port(PORT2, "", "11.0.0.4");
        remote["type"] = json!(2);
        assert_eq!(
            s.post(
                "/port",
                &json!([nova_port(PORT1, "tap1", "11.0.0.3"), remote])
            )
            .0,
            200
        );
        assert_eq!(s.call("PUT", &format!("/enable-port/{PORT2}"), None).0, 200);
        let sub = json!({"vm-uuid": VM, "vmi-uuid": PORT1, "vn-uuid": VN,
            "vm-name": "pod-a", "host-ifname": "tap1"});
        assert_eq!(s.post("/vm", &sub).0, 200);
        for _ in 0..4 {
            s.event(Duration::from_secs(2)).unwrap();
        }
        s.ipc.snapshot()
    };
    assert_eq!(before.ports.len(), 2);
    assert_eq!(before.vm_ports.len(), 1);

    let mut s = Server::start(dir.path(), Duration::from_secs(60));
    let after = s.ipc.snapshot();
    assert_eq!(after.ports, before.ports);
    assert_eq!(after.vm_ports, before.vm_ports);
    assert!(
        after
            .ports
            .iter()
            .any(|p| p.id == uuid(PORT2) && p.link_state)
    );
    assert!(s.ipc.load_errors().is_empty());
    s.no_event();
    // And it goes on serving them.
    assert_eq!(s.call("DELETE", &format!("/port/{PORT1}"), None).0, 200);
    let e = s.event(Duration::from_secs(2)).unwrap();
    assert!(e.seq > after.seq);
    assert!(matches!(e.change, PortChange::PortRemoved(p) if p.id == uuid(PORT1)));
}
