//! The forwarding tables as one immutable snapshot ([`Tables`]). Workers read a snapshot
//! for a whole batch; the agent's changes build the next snapshot (sharing every
//! unchanged part through `Arc`) and publish it atomically, so a worker never sees a
//! half-built route or nexthop and takes no lock. See `crate::control`.

pub mod interface;
pub mod lpm;
pub mod nexthop;
pub mod pvec;
pub mod template;

pub use interface::{FatFlow, IfIndex, Interface, InterfaceKind};
pub use lpm::{Lpm4, Lpm6};
pub use nexthop::{MPLS_UDP_PORT, Nexthop, NhId, TunnelEncap, VXLAN_UDP_PORT};
pub use pvec::PVec;
pub use template::EncapTemplate;

use crate::hash::FastMap;
use crate::wire::MacAddr;
use std::sync::Arc;

/// Default number of VRFs (Contrail's default).
pub const DEFAULT_MAX_VRFS: u16 = 4096;

/// One VRF: its FIBs and its bridge table.
#[derive(Clone, Default)]
pub struct Vrf {
    pub id: u16,
    pub fib4: Lpm4,
    pub fib6: Lpm6,
    /// MAC (as u64) -> nexthop. The broadcast MAC maps to the VRF's flood nexthop.
    pub bridge: Arc<FastMap<u64, NhId>>,
}

impl Vrf {
    #[inline]
    pub fn bridge_lookup(&self, mac: MacAddr) -> NhId {
        self.bridge.get(&mac.to_u64()).copied().unwrap_or(0)
    }
}

/// A nexthop as stored: the agent's description plus the prebuilt tunnel headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NhEntry {
    pub nh: Nexthop,
    pub encap: Option<EncapTemplate>,
}

impl NhEntry {
    pub fn new(nh: Nexthop, vrouter_mac: MacAddr) -> Self {
        let encap = EncapTemplate::build(&nh, vrouter_mac);
        Self { nh, encap }
    }
}

/// Everything a worker reads, as of one published generation.
#[derive(Clone)]
pub struct Tables {
    pub generation: u64,
    /// The MAC workloads use as their gateway: frames to it are routed, others bridged.
    pub vrouter_mac: MacAddr,
    pub(crate) interfaces: Arc<Vec<Option<Interface>>>,
    pub(crate) vrfs: Vec<Option<Arc<Vrf>>>,
    pub(crate) nexthops: PVec<NhEntry>,
    pub(crate) labels: Arc<FastMap<u32, NhId>>,
    pub(crate) vnis: Arc<FastMap<u32, NhId>>,
}

impl Tables {
    pub fn new(max_vrfs: u16, vrouter_mac: MacAddr) -> Self {
        Self {
            generation: 0,
            vrouter_mac,
            interfaces: Arc::new(Vec::new()),
            vrfs: vec![None; max_vrfs as usize],
            nexthops: PVec::new(),
            labels: Arc::new(FastMap::default()),
            vnis: Arc::new(FastMap::default()),
        }
    }
    #[inline]
    pub fn interface(&self, i: IfIndex) -> Option<&Interface> {
        self.interfaces.get(i as usize)?.as_ref()
    }
    #[inline]
    pub fn vrf(&self, id: u16) -> Option<&Vrf> {
        self.vrfs.get(id as usize)?.as_deref()
    }
    #[inline]
    pub fn nexthop(&self, id: NhId) -> Option<&Nexthop> {
        self.nexthops.get(id).map(|e| &e.nh)
    }
    /// A nexthop with what the pipeline precomputed for it.
    #[inline]
    pub fn nh_entry(&self, id: NhId) -> Option<&NhEntry> {
        self.nexthops.get(id)
    }
    #[inline]
    pub fn label(&self, label: u32) -> NhId {
        self.labels.get(&label).copied().unwrap_or(0)
    }
    #[inline]
    pub fn vni(&self, vni: u32) -> NhId {
        self.vnis.get(&vni).copied().unwrap_or(0)
    }
    pub fn max_vrfs(&self) -> u16 {
        self.vrfs.len() as u16
    }
    /// All interfaces (dump).
    pub fn interfaces(&self) -> impl Iterator<Item = &Interface> {
        self.interfaces.iter().flatten()
    }
    /// All nexthops with ids (dump).
    pub fn nexthops(&self) -> impl Iterator<Item = (NhId, &Nexthop)> {
        self.nexthops.iter().map(|(id, e)| (id, &e.nh))
    }
    /// All VRFs (dump).
    pub fn vrfs(&self) -> impl Iterator<Item = &Vrf> {
        self.vrfs.iter().flatten().map(|v| &**v)
    }
    /// MPLS label table (dump).
    pub fn labels(&self) -> impl Iterator<Item = (u32, NhId)> + '_ {
        self.labels.iter().map(|(k, v)| (*k, *v))
    }
    /// VNI table (dump).
    pub fn vnis(&self) -> impl Iterator<Item = (u32, NhId)> + '_ {
        self.vnis.iter().map(|(k, v)| (*k, *v))
    }
}
