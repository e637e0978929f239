//! The agent's programming API. A [`Controller`] owns a working copy of the tables and the
//! route lists needed to maintain them; every change edits the working copy (copying only
//! the parts still shared with the published snapshot) and [`Controller::commit`]
//! publishes it atomically through the [`Dataplane`] handle workers read from.
//! Several changes can be committed together; a worker sees all of them or none.

use crate::hash::FastMap;
use crate::tables::lpm::MAX_FIB_NH;
use crate::tables::{IfIndex, Interface, Nexthop, NhEntry, NhId, Tables, Vrf};
use crate::wire::MacAddr;
use arc_swap::ArcSwap;
use std::net::IpAddr;
use std::sync::Arc;

/// Why a table change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("vrf {0} is out of range (max {1})")]
    VrfOutOfRange(u16, u16),
    #[error("vrf {0} does not exist")]
    NoSuchVrf(u16),
    #[error("nexthop id {0} is invalid (must be 1..={MAX_FIB_NH})")]
    BadNexthopId(NhId),
    #[error("nexthop {0} does not exist")]
    NoSuchNexthop(NhId),
    #[error("interface {0} does not exist")]
    NoSuchInterface(IfIndex),
    #[error("prefix {0}/{1} has host bits set or a length too long for its family")]
    BadPrefix(IpAddr, u8),
    #[error("route {0}/{1} does not exist in vrf {2}")]
    NoSuchRoute(IpAddr, u8, u16),
    #[error("MPLS label {0} does not fit in 20 bits")]
    BadLabel(u32),
    #[error("VNI {0} does not fit in 24 bits")]
    BadVni(u32),
}

/// Read side: cheap to clone, shared by workers. Loading a snapshot takes no lock.
#[derive(Clone)]
pub struct Dataplane {
    current: Arc<ArcSwap<Tables>>,
}

impl Dataplane {
    /// The newest published tables, as an owned reference (for keeping across calls).
    #[inline]
    pub fn snapshot(&self) -> Arc<Tables> {
        self.current.load_full()
    }

    /// The newest published tables for the duration of a batch. Unlike [`Self::snapshot`]
    /// this does not touch the shared reference count (arc-swap records the borrow in a
    /// per-thread slot), so workers on different cores never write a common cache line.
    #[inline]
    pub fn load(&self) -> arc_swap::Guard<Arc<Tables>> {
        self.current.load()
    }
}

/// Write side, owned by the agent (one writer).
pub struct Controller {
    shared: Arc<ArcSwap<Tables>>,
    work: Tables,
    /// (vrf, is_v6, aligned prefix, len) -> nexthop: the route list the tries are built
    /// from, needed to find the covering route when one is removed.
    routes: FastMap<(u16, bool, u128, u8), NhId>,
}

fn aligned(p: IpAddr) -> (bool, u128, u8) {
    match p {
        IpAddr::V4(a) => (false, (a.to_bits() as u128) << 96, 32),
        IpAddr::V6(a) => (true, a.to_bits(), 128),
    }
}

fn mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - len as u32)
    }
}

impl Controller {
    /// New, empty tables with `max_vrfs` VRF slots.
    pub fn new(max_vrfs: u16, vrouter_mac: MacAddr) -> (Controller, Dataplane) {
        let work = Tables::new(max_vrfs, vrouter_mac);
        let shared = Arc::new(ArcSwap::from_pointee(work.clone()));
        let dp = Dataplane {
            current: shared.clone(),
        };
        (
            Controller {
                shared,
                work,
                routes: FastMap::default(),
            },
            dp,
        )
    }

    /// The working copy, including uncommitted changes (for dumps).
    pub fn tables(&self) -> &Tables {
        &self.work
    }

    /// Publishes the working copy; returns its generation.
    pub fn commit(&mut self) -> u64 {
        self.work.generation += 1;
        self.shared.store(Arc::new(self.work.clone()));
        self.work.generation
    }

    // Interfaces

    /// Adds or changes an interface.
    pub fn set_interface(&mut self, i: Interface) -> Result<(), ControlError> {
        if let Some(v) = i.vrf() {
            self.vrf_exists(v)?;
        }
        let ifs = Arc::make_mut(&mut self.work.interfaces);
        let at = i.ifindex as usize;
        if ifs.len() <= at {
            ifs.resize(at + 1, None);
        }
        ifs[at] = Some(i);
        Ok(())
    }

    pub fn delete_interface(&mut self, ifindex: IfIndex) -> Result<(), ControlError> {
        let ifs = Arc::make_mut(&mut self.work.interfaces);
        match ifs.get_mut(ifindex as usize) {
            Some(slot @ Some(_)) => {
                *slot = None;
                Ok(())
            }
            _ => Err(ControlError::NoSuchInterface(ifindex)),
        }
    }

    // VRFs

    pub fn add_vrf(&mut self, id: u16) -> Result<(), ControlError> {
        let max = self.work.max_vrfs();
        let slot = self
            .work
            .vrfs
            .get_mut(id as usize)
            .ok_or(ControlError::VrfOutOfRange(id, max))?;
        if slot.is_none() {
            *slot = Some(Arc::new(Vrf {
                id,
                ..Vrf::default()
            }));
        }
        Ok(())
    }

    /// Removes a VRF with its routes and bridge entries.
    pub fn delete_vrf(&mut self, id: u16) -> Result<(), ControlError> {
        self.vrf_exists(id)?;
        self.work.vrfs[id as usize] = None;
        self.routes.retain(|k, _| k.0 != id);
        Ok(())
    }

    fn vrf_exists(&self, id: u16) -> Result<(), ControlError> {
        let max = self.work.max_vrfs();
        match self.work.vrfs.get(id as usize) {
            None => Err(ControlError::VrfOutOfRange(id, max)),
            Some(None) => Err(ControlError::NoSuchVrf(id)),
            Some(Some(_)) => Ok(()),
        }
    }

    fn vrf_mut(&mut self, id: u16) -> Result<&mut Vrf, ControlError> {
        self.vrf_exists(id)?;
        let slot = self.work.vrfs[id as usize]
            .as_mut()
            .ok_or(ControlError::NoSuchVrf(id))?;
        Ok(Arc::make_mut(slot))
    }

    // Nexthops

    /// Adds or changes a nexthop. Members of composite/flood nexthops must exist.
    pub fn set_nexthop(&mut self, id: NhId, nh: Nexthop) -> Result<(), ControlError> {
        if id == 0 || id > MAX_FIB_NH {
            return Err(ControlError::BadNexthopId(id));
        }
        if let Nexthop::Composite { members } | Nexthop::Flood { members } = &nh {
            for &m in members {
                if self.work.nexthop(m).is_none() {
                    return Err(ControlError::NoSuchNexthop(m));
                }
            }
        }
        let entry = NhEntry::new(nh, self.work.vrouter_mac);
        self.work.nexthops.set(id, Some(entry));
        Ok(())
    }

    /// Deletes a nexthop. Routes still pointing at it then drop with `NoNexthop`.
    pub fn delete_nexthop(&mut self, id: NhId) -> Result<(), ControlError> {
        self.work
            .nexthops
            .set(id, None)
            .map(|_| ())
            .ok_or(ControlError::NoSuchNexthop(id))
    }

    fn nh_exists(&self, id: NhId) -> Result<(), ControlError> {
        self.work
            .nexthop(id)
            .map(|_| ())
            .ok_or(ControlError::NoSuchNexthop(id))
    }

    // Routes

    /// Adds or changes the route `prefix/len` in `vrf`.
    pub fn add_route(
        &mut self,
        vrf: u16,
        prefix: IpAddr,
        len: u8,
        nh: NhId,
    ) -> Result<(), ControlError> {
        self.nh_exists(nh)?;
        let (v6, p, max) = aligned(prefix);
        if len > max || p & !mask(len) != 0 {
            return Err(ControlError::BadPrefix(prefix, len));
        }
        let v = self.vrf_mut(vrf)?;
        if v6 {
            v.fib6.insert_aligned(p, len, nh);
        } else {
            v.fib4.insert_aligned(p, len, nh);
        }
        self.routes.insert((vrf, v6, p, len), nh);
        Ok(())
    }

    pub fn delete_route(&mut self, vrf: u16, prefix: IpAddr, len: u8) -> Result<(), ControlError> {
        let (v6, p, _) = aligned(prefix);
        if self.routes.remove(&(vrf, v6, p, len)).is_none() {
            return Err(ControlError::NoSuchRoute(prefix, len, vrf));
        }
        // The covering route is the longest shorter prefix still present.
        let (cover_nh, cover_len) = (0..len)
            .rev()
            .find_map(|l| {
                self.routes
                    .get(&(vrf, v6, p & mask(l), l))
                    .map(|&nh| (nh, l))
            })
            .unwrap_or((0, 0));
        let v = self.vrf_mut(vrf)?;
        if v6 {
            v.fib6.remove_aligned(p, len, cover_nh, cover_len);
        } else {
            v.fib4.remove_aligned(p, len, cover_nh, cover_len);
        }
        Ok(())
    }

    /// Routes of a VRF (dump): (prefix, len, nexthop).
    pub fn routes(&self, vrf: u16) -> Vec<(IpAddr, u8, NhId)> {
        let mut out: Vec<_> = self
            .routes
            .iter()
            .filter(|(k, _)| k.0 == vrf)
            .map(|(&(_, v6, p, l), &nh)| {
                let ip = if v6 {
                    IpAddr::V6(p.into())
                } else {
                    IpAddr::V4(((p >> 96) as u32).into())
                };
                (ip, l, nh)
            })
            .collect();
        out.sort();
        out
    }

    // Bridge, labels, VNIs

    pub fn add_bridge_entry(
        &mut self,
        vrf: u16,
        mac: MacAddr,
        nh: NhId,
    ) -> Result<(), ControlError> {
        self.nh_exists(nh)?;
        Arc::make_mut(&mut self.vrf_mut(vrf)?.bridge).insert(mac.to_u64(), nh);
        Ok(())
    }

    pub fn delete_bridge_entry(&mut self, vrf: u16, mac: MacAddr) -> Result<(), ControlError> {
        Arc::make_mut(&mut self.vrf_mut(vrf)?.bridge).remove(&mac.to_u64());
        Ok(())
    }

    /// Maps an incoming MPLS label to a nexthop (usually the workload's `Encap`).
    pub fn set_label(&mut self, label: u32, nh: NhId) -> Result<(), ControlError> {
        if label > 0xf_ffff {
            return Err(ControlError::BadLabel(label));
        }
        self.nh_exists(nh)?;
        Arc::make_mut(&mut self.work.labels).insert(label, nh);
        Ok(())
    }

    pub fn delete_label(&mut self, label: u32) {
        Arc::make_mut(&mut self.work.labels).remove(&label);
    }

    /// Maps an incoming VXLAN VNI to a nexthop (usually `VrfTranslate`).
    pub fn set_vni(&mut self, vni: u32, nh: NhId) -> Result<(), ControlError> {
        if vni > 0xff_ffff {
            return Err(ControlError::BadVni(vni));
        }
        self.nh_exists(nh)?;
        Arc::make_mut(&mut self.work.vnis).insert(vni, nh);
        Ok(())
    }

    pub fn delete_vni(&mut self, vni: u32) {
        Arc::make_mut(&mut self.work.vnis).remove(&vni);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn changes_are_invisible_until_commit() {
        let (mut c, dp) = Controller::new(16, MacAddr([0, 0, 0x5e, 0, 1, 0]));
        c.add_vrf(1).unwrap();
        c.set_nexthop(5, Nexthop::Discard).unwrap();
        c.add_route(1, Ipv4Addr::new(10, 0, 0, 0).into(), 8, 5)
            .unwrap();
        assert!(dp.snapshot().vrf(1).is_none());
        c.commit();
        let s = dp.snapshot();
        assert_eq!(s.vrf(1).unwrap().fib4.lookup(Ipv4Addr::new(10, 1, 2, 3)), 5);
        c.delete_route(1, Ipv4Addr::new(10, 0, 0, 0).into(), 8)
            .unwrap();
        c.commit();
        assert_eq!(s.vrf(1).unwrap().fib4.lookup(Ipv4Addr::new(10, 1, 2, 3)), 5);
        assert_eq!(
            dp.snapshot()
                .vrf(1)
                .unwrap()
                .fib4
                .lookup(Ipv4Addr::new(10, 1, 2, 3)),
            0
        );
    }

    #[test]
    fn refusals_name_the_object() {
        let (mut c, _) = Controller::new(16, MacAddr::ZERO);
        assert_eq!(c.add_vrf(16), Err(ControlError::VrfOutOfRange(16, 16)));
        assert_eq!(
            c.set_nexthop(0, Nexthop::Discard),
            Err(ControlError::BadNexthopId(0))
        );
        c.add_vrf(2).unwrap();
        c.set_nexthop(1, Nexthop::Discard).unwrap();
        let p: IpAddr = Ipv4Addr::new(10, 0, 0, 1).into();
        assert_eq!(c.add_route(2, p, 8, 1), Err(ControlError::BadPrefix(p, 8)));
        assert_eq!(
            c.add_route(2, p, 32, 9),
            Err(ControlError::NoSuchNexthop(9))
        );
        assert_eq!(
            c.delete_route(2, p, 32),
            Err(ControlError::NoSuchRoute(p, 32, 2))
        );
        assert!(
            c.set_nexthop(
                3,
                Nexthop::Composite {
                    members: vec![1, 4]
                }
            )
            .is_err()
        );
        assert_eq!(
            c.set_label(1 << 20, 1),
            Err(ControlError::BadLabel(1 << 20))
        );
        assert_eq!(c.set_vni(1 << 24, 1), Err(ControlError::BadVni(1 << 24)));
    }
}
