//! Programming the pipeline: the difference between what is programmed and a new
//! [`Desired`] applied to `cirrus_dataplane::control::Controller` in an order the tables
//! accept (VRFs, interfaces, plain then composite nexthops, routes, bridge entries, labels
//! and VNIs; then removals the other way round), and committed once, so workers see the
//! whole change or none of it. Nexthop ids are kept per identity while it exists.

use std::collections::BTreeMap;

use cirrus_dataplane::control::{ControlError, Controller};
use cirrus_dataplane::tables::{Nexthop, NhId};

use super::desired::{Desired, NhKey, NhSpec};
use super::ids::Ids;

/// What one application changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ApplyStats {
    pub vrfs: usize,
    pub interfaces: usize,
    pub nexthops: usize,
    pub routes: usize,
    pub bridge: usize,
    pub labels: usize,
    pub vnis: usize,
    pub removed: usize,
    /// Changes the tables refused (logged; the rest went in).
    pub refused: usize,
}

impl ApplyStats {
    pub fn is_empty(&self) -> bool {
        *self == ApplyStats::default()
    }
}

/// The tables' writer with what it has programmed.
pub struct Programmer {
    ctl: Controller,
    current: Desired,
    nh_ids: Ids<NhKey>,
    generation: u64,
    errors: Vec<String>,
}

/// Most nexthops (the dataplane's id space).
const MAX_NH: u32 = cirrus_dataplane::tables::lpm::MAX_FIB_NH;

impl Programmer {
    pub fn new(ctl: Controller) -> Self {
        Self {
            ctl,
            current: Desired::default(),
            nh_ids: Ids::new(1, MAX_NH),
            generation: 0,
            errors: Vec::new(),
        }
    }

    pub fn controller(&self) -> &Controller {
        &self.ctl
    }

    /// What is programmed.
    pub fn current(&self) -> &Desired {
        &self.current
    }

    /// The nexthop id of a key, when programmed.
    pub fn nh_id(&self, k: &NhKey) -> Option<NhId> {
        self.nh_ids.get(k)
    }

    /// Published table generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The last application's refusals.
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    fn note(&mut self, st: &mut ApplyStats, what: String, r: Result<(), ControlError>) {
        if let Err(e) = r {
            st.refused += 1;
            tracing::warn!(change = %what, error = %e, "table change refused");
            self.errors.push(format!("{what}: {e}"));
        }
    }

    fn resolve(&mut self, spec: &NhSpec) -> Option<Nexthop> {
        match spec {
            NhSpec::Plain(n) => Some(n.clone()),
            NhSpec::Composite(m) => {
                let members: Option<Vec<NhId>> = m.iter().map(|k| self.nh_ids.get(k)).collect();
                members.map(|members| Nexthop::Composite { members })
            }
        }
    }

    /// Makes the tables hold `want`; returns what changed.
    pub fn apply(&mut self, want: Desired) -> ApplyStats {
        let mut st = ApplyStats::default();
        self.errors.clear();
        let old = std::mem::take(&mut self.current);

        for (id, name) in &want.vrfs {
            if !old.vrfs.contains_key(id) {
                let r = self.ctl.add_vrf(*id);
                self.note(&mut st, format!("vrf {id} ({name})"), r);
                st.vrfs += 1;
            }
        }
        for (i, intf) in &want.interfaces {
            if old.interfaces.get(i) != Some(intf) {
                let r = self.ctl.set_interface(intf.clone());
                self.note(&mut st, format!("interface {i} ({})", intf.name), r);
                st.interfaces += 1;
            }
        }
        // Plain nexthops first: composites refer to them.
        for pass in [false, true] {
            for (k, spec) in &want.nexthops {
                if matches!(spec, NhSpec::Composite(_)) != pass {
                    continue;
                }
                if old.nexthops.get(k) == Some(spec) {
                    continue;
                }
                let Some(id) = self.nh_ids.id(k) else {
                    st.refused += 1;
                    self.errors.push(format!("no nexthop id left for {k:?}"));
                    continue;
                };
                let Some(nh) = self.resolve(spec) else {
                    st.refused += 1;
                    continue;
                };
                let r = self.ctl.set_nexthop(id, nh);
                self.note(&mut st, format!("nexthop {id}"), r);
                st.nexthops += 1;
            }
        }
        let id_of = |ids: &Ids<NhKey>, k: &NhKey| ids.get(k);
        for ((vrf, p), k) in &want.routes {
            if old.routes.get(&(*vrf, *p)) == Some(k) {
                continue;
            }
            let Some(nh) = id_of(&self.nh_ids, k) else {
                continue;
            };
            let r = self.ctl.add_route(*vrf, p.addr, p.len, nh);
            self.note(&mut st, format!("route {p} in vrf {vrf}"), r);
            st.routes += 1;
        }
        for ((vrf, mac), k) in &want.bridge {
            if old.bridge.get(&(*vrf, *mac)) == Some(k) {
                continue;
            }
            let Some(nh) = id_of(&self.nh_ids, k) else {
                continue;
            };
            let r = self.ctl.add_bridge_entry(*vrf, *mac, nh);
            self.note(&mut st, format!("bridge {mac} in vrf {vrf}"), r);
            st.bridge += 1;
        }
        for (label, k) in &want.labels {
            if old.labels.get(label) == Some(k) {
                continue;
            }
            let Some(nh) = id_of(&self.nh_ids, k) else {
                continue;
            };
            let r = self.ctl.set_label(*label, nh);
            self.note(&mut st, format!("label {label}"), r);
            st.labels += 1;
        }
        for (vni, k) in &want.vnis {
            if old.vnis.get(vni) == Some(k) {
                continue;
            }
            let Some(nh) = id_of(&self.nh_ids, k) else {
                continue;
            };
            let r = self.ctl.set_vni(*vni, nh);
            self.note(&mut st, format!("vni {vni}"), r);
            st.vnis += 1;
        }

        // Removals, users before what they use.
        for (vrf, p) in old.routes.keys() {
            if !want.routes.contains_key(&(*vrf, *p)) && want.vrfs.contains_key(vrf) {
                let r = self.ctl.delete_route(*vrf, p.addr, p.len);
                self.note(&mut st, format!("delete route {p} in vrf {vrf}"), r);
                st.removed += 1;
            }
        }
        for (vrf, mac) in old.bridge.keys() {
            if !want.bridge.contains_key(&(*vrf, *mac)) && want.vrfs.contains_key(vrf) {
                let r = self.ctl.delete_bridge_entry(*vrf, *mac);
                self.note(&mut st, format!("delete bridge {mac} in vrf {vrf}"), r);
                st.removed += 1;
            }
        }
        for label in old.labels.keys() {
            if !want.labels.contains_key(label) {
                self.ctl.delete_label(*label);
                st.removed += 1;
            }
        }
        for vni in old.vnis.keys() {
            if !want.vnis.contains_key(vni) {
                self.ctl.delete_vni(*vni);
                st.removed += 1;
            }
        }
        for vrf in old.vrfs.keys() {
            if !want.vrfs.contains_key(vrf) {
                let r = self.ctl.delete_vrf(*vrf);
                self.note(&mut st, format!("delete vrf {vrf}"), r);
                st.removed += 1;
            }
        }
        for pass in [true, false] {
            for (k, spec) in &old.nexthops {
                if matches!(spec, NhSpec::Composite(_)) != pass || want.nexthops.contains_key(k) {
                    continue;
                }
                if let Some(id) = self.nh_ids.get(k) {
                    let r = self.ctl.delete_nexthop(id);
                    self.note(&mut st, format!("delete nexthop {id}"), r);
                    self.nh_ids.release(k);
                    st.removed += 1;
                }
            }
        }
        for i in old.interfaces.keys() {
            if !want.interfaces.contains_key(i) {
                let r = self.ctl.delete_interface(*i);
                self.note(&mut st, format!("delete interface {i}"), r);
                st.removed += 1;
            }
        }
        self.current = want;
        if !st.is_empty() {
            self.generation = self.ctl.commit();
        }
        st
    }

    /// Routes of a VRF as programmed, with their nexthop keys (dump).
    pub fn routes_of(&self, vrf: u16) -> BTreeMap<String, NhKey> {
        self.current
            .routes
            .iter()
            .filter(|((v, _), _)| *v == vrf)
            .map(|((_, p), k)| (p.to_string(), k.clone()))
            .collect()
    }
}
