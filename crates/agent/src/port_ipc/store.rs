//! The port subscriptions and their files: one JSON file per port in `<state
//! dir>/ports/<vmi uuid>` and one per VM subscription in `<state
//! dir>/ports/vm/<vm uuid>/<vmi uuid>` (Contrail keeps the same, in
//! `/var/lib/contrail/ports`). Every change is written (temporary file, fsync, rename, fsync
//! of the directory) before it is applied in memory and announced as a [`PortEvent`], so a
//! crash leaves either the old or the new file and a restart reads back what was
//! acknowledged. A file that cannot be read at start is left in place and reported, never
//! deleted.

use super::events::{PortChange, PortEvent};
use super::request::{PortRecord, PortType, VmPortRecord, parse_port_request, parse_vm_request};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Who wrote a file (Contrail's `author` field).
pub const AUTHOR: &str = "cirrus-vrouter";

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("Port Not found {0}")]
    PortNotFound(Uuid),
    #[error("Incorrect Port type for {0}")]
    WrongPortType(Uuid),
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// A record and the sync generation it was last posted in (Contrail's version).
#[derive(Debug, Clone)]
struct Entry<T> {
    record: T,
    generation: u64,
}

/// A file found at start that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LoadError {
    pub path: PathBuf,
    pub error: String,
}

/// The subscriptions, in memory and on disk.
#[derive(Debug)]
pub struct PortStore {
    ports_dir: PathBuf,
    vm_dir: PathBuf,
    ports: BTreeMap<Uuid, Entry<PortRecord>>,
    vm_ports: BTreeMap<(Uuid, Uuid), Entry<VmPortRecord>>,
    /// Raised by `POST /syncports`; entries posted before the latest raise are stale.
    generation: u64,
    /// Sequence number of the last event.
    seq: u64,
    load_errors: Vec<LoadError>,
}

impl PortStore {
    /// Opens (creating) `<state_dir>/ports` and reads every subscription in it.
    pub fn open(state_dir: &Path) -> Result<Self, StoreError> {
        let ports_dir = state_dir.join("ports");
        let vm_dir = ports_dir.join("vm");
        fs::create_dir_all(&vm_dir).map_err(io_err("create", &vm_dir))?;
        let mut s = Self {
            ports_dir,
            vm_dir,
            ports: BTreeMap::new(),
            vm_ports: BTreeMap::new(),
            generation: 0,
            seq: 0,
            load_errors: Vec::new(),
        };
        s.load()?;
        Ok(s)
    }

    fn load(&mut self) -> Result<(), StoreError> {
        for (path, id) in uuid_files(&self.ports_dir)? {
            let read = fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| parse_port_request(&b).map_err(|e| e.to_string()));
            match read {
                Ok(mut v) if v.len() == 1 && v[0].id == id => {
                    let record = v.remove(0);
                    self.ports.insert(
                        id,
                        Entry {
                            record,
                            generation: 0,
                        },
                    );
                }
                Ok(_) => self.load_failed(path, "holds another port than its name".into()),
                Err(e) => self.load_failed(path, e),
            }
        }
        let vms = fs::read_dir(&self.vm_dir).map_err(io_err("read", &self.vm_dir))?;
        for d in vms.flatten() {
            let Some(vm) = d.file_name().to_str().and_then(|n| Uuid::try_parse(n).ok()) else {
                continue;
            };
            for (path, vmi) in uuid_files(&d.path())? {
                let read = fs::read(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|b| parse_vm_request(&b).map_err(|e| e.to_string()));
                match read {
                    Ok(r) if r.vm_uuid == vm && r.vmi_uuid == vmi => {
                        self.vm_ports.insert(
                            (vm, vmi),
                            Entry {
                                record: r,
                                generation: 0,
                            },
                        );
                    }
                    Ok(_) => {
                        self.load_failed(path, "holds another VM or port than its name".into())
                    }
                    Err(e) => self.load_failed(path, e),
                }
            }
        }
        Ok(())
    }

    fn load_failed(&mut self, path: PathBuf, error: String) {
        tracing::warn!(path = %path.display(), %error, "port IPC: file not loaded (left in place)");
        self.load_errors.push(LoadError { path, error });
    }

    /// Files found at start that could not be read (left in place).
    pub fn load_errors(&self) -> &[LoadError] {
        &self.load_errors
    }

    pub fn ports(&self) -> impl Iterator<Item = &PortRecord> {
        self.ports.values().map(|e| &e.record)
    }

    pub fn port(&self, id: Uuid) -> Option<&PortRecord> {
        self.ports.get(&id).map(|e| &e.record)
    }

    pub fn vm_ports(&self) -> impl Iterator<Item = &VmPortRecord> {
        self.vm_ports.values().map(|e| &e.record)
    }

    /// The VM subscriptions of one VM.
    pub fn vm_ports_of(&self, vm: Uuid) -> impl Iterator<Item = &VmPortRecord> {
        self.vm_ports
            .range((vm, Uuid::nil())..=(vm, Uuid::max()))
            .map(|(_, e)| &e.record)
    }

    /// Sequence number of the last change (0 before any).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn event(&mut self, change: PortChange) -> PortEvent {
        self.seq += 1;
        PortEvent {
            seq: self.seq,
            change,
        }
    }

    fn port_path(&self, id: Uuid) -> PathBuf {
        self.ports_dir.join(id.to_string())
    }

    fn vm_path(&self, vm: Uuid, vmi: Uuid) -> PathBuf {
        self.vm_dir.join(vm.to_string()).join(vmi.to_string())
    }

    /// Adds or replaces ports, all or none: every file is written first; if one write
    /// fails, those already written are put back as they were and nothing changes.
    /// Re-posting a port unchanged only marks it current for the stale sweep.
    pub fn add_ports(&mut self, ports: Vec<PortRecord>) -> Result<Vec<PortEvent>, StoreError> {
        let changed: Vec<&PortRecord> = ports
            .iter()
            .filter(|p| self.port(p.id) != Some(*p))
            .collect();
        let time = now();
        let mut done: Vec<(PathBuf, Option<Vec<u8>>)> = Vec::new();
        for p in &changed {
            let path = self.port_path(p.id);
            let before = fs::read(&path).ok();
            let body = serde_json::to_vec_pretty(&p.to_json(Some((AUTHOR, &time))))
                .expect("JSON of a record");
            if let Err(e) = write_atomic(&path, &body) {
                for (path, before) in done.into_iter().rev() {
                    let _ = match before {
                        Some(b) => write_atomic(&path, &b),
                        None => remove_file(&path),
                    };
                }
                return Err(e);
            }
            done.push((path, before));
        }
        let mut events = Vec::new();
        for p in ports {
            let generation = self.generation;
            let old = self.ports.insert(
                p.id,
                Entry {
                    record: p.clone(),
                    generation,
                },
            );
            let old = old.map(|e| e.record);
            if old.as_ref() != Some(&p) {
                tracing::info!(port = %p.id, ifname = %p.system_name, "port IPC: port added");
                let ev = self.event(PortChange::PortAdded {
                    port: p,
                    replaced: old,
                });
                events.push(ev);
            }
        }
        Ok(events)
    }

    /// Removes a port; removing one that is not there is not an error (Contrail answers
    /// 200 too).
    pub fn delete_port(&mut self, id: Uuid) -> Result<Vec<PortEvent>, StoreError> {
        remove_file(&self.port_path(id))?;
        match self.ports.remove(&id) {
            Some(e) => {
                tracing::info!(port = %id, "port IPC: port removed");
                Ok(vec![self.event(PortChange::PortRemoved(e.record))])
            }
            None => Ok(Vec::new()),
        }
    }

    /// Enables or disables a remote port (`PUT /enable-port`, `/disable-port`).
    pub fn set_link_state(&mut self, id: Uuid, up: bool) -> Result<Vec<PortEvent>, StoreError> {
        let Some(e) = self.ports.get(&id) else {
            return Err(StoreError::PortNotFound(id));
        };
        if e.record.port_type != PortType::RemotePort {
            return Err(StoreError::WrongPortType(id));
        }
        if e.record.link_state == up {
            return Ok(Vec::new());
        }
        let mut p = e.record.clone();
        p.link_state = up;
        let body = serde_json::to_vec_pretty(&p.to_json(Some((AUTHOR, &now()))))
            .expect("JSON of a record");
        write_atomic(&self.port_path(id), &body)?;
        if let Some(e) = self.ports.get_mut(&id) {
            e.record.link_state = up;
        }
        tracing::info!(port = %id, up, "port IPC: link state");
        Ok(vec![self.event(PortChange::LinkState { id, up })])
    }

    /// Adds or replaces a VM subscription.
    pub fn add_vm_port(&mut self, r: VmPortRecord) -> Result<Vec<PortEvent>, StoreError> {
        let key = (r.vm_uuid, r.vmi_uuid);
        let generation = self.generation;
        if let Some(e) = self.vm_ports.get_mut(&key)
            && e.record == r
        {
            e.generation = generation;
            return Ok(Vec::new());
        }
        let path = self.vm_path(r.vm_uuid, r.vmi_uuid);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_err("create", dir))?;
        }
        let body = serde_json::to_vec_pretty(&r.to_json(Some((AUTHOR, &now()))))
            .expect("JSON of a record");
        write_atomic(&path, &body)?;
        let old = self
            .vm_ports
            .insert(
                key,
                Entry {
                    record: r.clone(),
                    generation,
                },
            )
            .map(|e| e.record);
        tracing::info!(vm = %r.vm_uuid, vmi = %r.vmi_uuid, "port IPC: VM port added");
        Ok(vec![self.event(PortChange::VmPortAdded {
            port: r,
            replaced: old,
        })])
    }

    /// Removes every subscription of a VM (and its directory).
    pub fn delete_vm(&mut self, vm: Uuid) -> Result<Vec<PortEvent>, StoreError> {
        let keys: Vec<(Uuid, Uuid)> = self.vm_ports_of(vm).map(|r| (vm, r.vmi_uuid)).collect();
        let mut events = Vec::new();
        for k in keys {
            remove_file(&self.vm_path(k.0, k.1))?;
            if let Some(e) = self.vm_ports.remove(&k) {
                events.push(self.event(PortChange::VmPortRemoved(e.record)));
            }
        }
        let dir = self.vm_dir.join(vm.to_string());
        match fs::remove_dir(&dir) {
            Ok(()) => sync_dir(&self.vm_dir)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &dir)(e)),
        }
        Ok(events)
    }

    /// `POST /syncports`: a new generation; what is not posted again before the sweep of
    /// this generation is stale.
    pub fn sync(&mut self) -> u64 {
        self.generation += 1;
        tracing::info!(generation = self.generation, "port IPC: sync");
        self.generation
    }

    /// Removes the subscriptions last posted before `generation` (Contrail's stale
    /// cleaner; namespace ports are kept).
    pub fn sweep(&mut self, generation: u64) -> Result<Vec<PortEvent>, StoreError> {
        let stale: Vec<Uuid> = self
            .ports
            .values()
            .filter(|e| e.generation < generation && e.record.port_type != PortType::Namespace)
            .map(|e| e.record.id)
            .collect();
        let stale_vms: Vec<(Uuid, Uuid)> = self
            .vm_ports
            .iter()
            .filter(|(_, e)| e.generation < generation)
            .map(|(k, _)| *k)
            .collect();
        let mut events = Vec::new();
        for id in stale {
            tracing::info!(port = %id, generation, "port IPC: stale port removed");
            events.extend(self.delete_port(id)?);
        }
        for k in stale_vms {
            remove_file(&self.vm_path(k.0, k.1))?;
            if let Some(e) = self.vm_ports.remove(&k) {
                events.push(self.event(PortChange::VmPortRemoved(e.record)));
            }
        }
        Ok(events)
    }
}

/// The files of `dir` whose names are uuids; leftover temporary files are removed.
fn uuid_files(dir: &Path) -> Result<Vec<(PathBuf, Uuid)>, StoreError> {
    let mut v = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(v),
        Err(e) => return Err(io_err("read", dir)(e)),
    };
    for d in rd.flatten() {
        let path = d.path();
        if !d.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let Some(name) = d.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name.starts_with('.') && name.ends_with(".tmp") {
            let _ = fs::remove_file(&path);
            continue;
        }
        if let Ok(u) = Uuid::try_parse(&name) {
            v.push((path, u));
        }
    }
    v.sort();
    Ok(v)
}

/// The `time` of a file or answer, in `vrouter-port-control`'s format.
pub(super) fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync", dir))
}

/// Writes `path` so that it holds either its old content or `body`, whatever happens.
fn write_atomic(path: &Path, body: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("port");
    let tmp = dir.join(format!(".{name}.tmp"));
    let written = fs::File::create(&tmp)
        .map_err(io_err("create", &tmp))
        .and_then(|mut f| {
            f.write_all(body)
                .and_then(|()| f.sync_all())
                .map_err(io_err("write", &tmp))
        })
        .and_then(|()| fs::rename(&tmp, path).map_err(io_err("rename", path)));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.and_then(|()| sync_dir(dir))
}

fn remove_file(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(path.parent().unwrap_or(Path::new("."))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("remove", path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port_ipc::request::parse_port_request;
    use serde_json::json;

    fn port(n: u8) -> PortRecord {
        let body = json!({"id": format!("ea73b285-01a7-4d3e-8322-50976e8913{n:02x}"),
            "instance-id": "ea73b285-01a7-4d3e-8322-50976e8913db",
            "ip-address": format!("11.0.0.{n}"), "ip6-address": "",
            "vn-id": "fa73b285-01a7-4d3e-8322-50976e8913de", "display-name": "vm1",
            "vm-project-id": "", "mac-address": format!("02:1a:f4:be:e3:{n:02x}"),
            "system-name": format!("tap{n}"), "type": 0, "rx-vlan-id": -1, "tx-vlan-id": -1});
        parse_port_request(body.to_string().as_bytes())
            .unwrap()
            .remove(0)
    }

    #[test]
    fn ports_survive_a_reopen_and_unreadable_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = PortStore::open(dir.path()).unwrap();
        let ev = s.add_ports(vec![port(1), port(2)]).unwrap();
        assert_eq!(ev.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
        // A re-post of the same port is no change.
        assert!(s.add_ports(vec![port(1)]).unwrap().is_empty());
        s.delete_port(port(2).id).unwrap();
        std::fs::write(
            dir.path()
                .join("ports/11111111-2222-4333-8444-555555555555"),
            b"{broken",
        )
        .unwrap();
        std::fs::write(dir.path().join("ports/.x.tmp"), b"half").unwrap();
        let s = PortStore::open(dir.path()).unwrap();
        assert_eq!(s.ports().cloned().collect::<Vec<_>>(), vec![port(1)]);
        assert_eq!(s.load_errors().len(), 1);
        assert!(
            dir.path()
                .join("ports/11111111-2222-4333-8444-555555555555")
                .exists()
        );
        assert!(!dir.path().join("ports/.x.tmp").exists());
    }

    #[test]
    fn a_failed_write_in_an_array_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = PortStore::open(dir.path()).unwrap();
        s.add_ports(vec![port(1)]).unwrap();
        let before = std::fs::read(dir.path().join(format!("ports/{}", port(1).id))).unwrap();
        // A directory where port 3's file should go: its write fails after port 1's
        // replacement was written.
        std::fs::create_dir(dir.path().join(format!("ports/{}", port(3).id))).unwrap();
        let mut changed = port(1);
        changed.display_name = "renamed".into();
        assert!(s.add_ports(vec![changed, port(3)]).is_err());
        assert_eq!(s.port(port(1).id), Some(&port(1)));
        assert!(s.port(port(3).id).is_none());
        let after = std::fs::read(dir.path().join(format!("ports/{}", port(1).id))).unwrap();
        assert_eq!(before, after);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("ports"))
            .unwrap()
            .flatten()
            .filter(|d| d.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn sweep_removes_what_was_not_posted_again_after_a_sync() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = PortStore::open(dir.path()).unwrap();
        s.add_ports(vec![port(1), port(2)]).unwrap();
        let g = s.sync();
        // Posted again unchanged: no event, but current.
        assert!(s.add_ports(vec![port(2)]).unwrap().is_empty());
        let ev = s.sweep(g).unwrap();
        assert_eq!(ev.len(), 1);
        assert!(matches!(&ev[0].change, PortChange::PortRemoved(p) if p.id == port(1).id));
        assert_eq!(s.ports().count(), 1);
        assert!(!dir.path().join(format!("ports/{}", port(1).id)).exists());
    }
}
