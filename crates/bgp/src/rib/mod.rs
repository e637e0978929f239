//! The RIB: one global table for every family (Contrail's bgp.l3vpn.0, bgp.evpn.0,
//! bgp.rtarget.0, ...), one table per routing instance, import by route target, export with the
//! instance's targets and RD, and per-peer Adj-RIB-Out with RFC 4684 filtering (see [`out`]).
//!
//! Pure and synchronous like the session: callers feed changes, then `flush()` returns the
//! UPDATEs to send to each peer.

pub mod best;
mod counts;
pub mod feed;
mod import;
pub mod instance;
mod out;
pub mod paths;
pub mod query;
mod table;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

pub use best::{Path, PeerId, Source};
pub use counts::FamilyPrefixes;
pub use instance::{Dest, Instance, InstanceConfig};
use out::PeerOut;

use crate::attrs::PathAttrs;
use crate::ext_community::ExtCommunity;
use crate::message::Update;
use crate::types::{Family, Labels, Nlri, Rd, RtMembership};

/// Pseudo-instance owning our RFC 4684 membership routes.
const RTC_OWNER: &str = "__rtarget__";

/// RIB-wide settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RibConfig {
    pub local_asn: u32,
    pub router_id: Ipv4Addr,
    /// Reflect iBGP routes to/from clients (RFC 4456) with this cluster id.
    pub cluster_id: Option<Ipv4Addr>,
}

/// What the RIB needs to know about a peer while it is Established.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerInfo {
    pub address: IpAddr,
    pub router_id: Ipv4Addr,
    pub asn: u32,
    pub ibgp: bool,
    pub rr_client: bool,
    pub families: Vec<Family>,
    /// The peer advertised the long-lived GR capability (RFC 9494): only such peers are
    /// sent LLGR_STALE paths.
    pub llgr: bool,
}

/// A route handed to [`Rib::originate`] (what a vrouter publishes).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LocalRoute {
    /// Instance key: `Inet`, `Inet6` or `Evpn` (its RD is replaced by the instance's).
    pub nlri: Option<Nlri>,
    pub labels: Labels,
    pub next_hop: Option<IpAddr>,
    /// Extra communities (encapsulation, origin VN, security groups, tags, ...).
    pub ext_communities: Vec<ExtCommunity>,
    pub communities: Vec<u32>,
    pub local_pref: Option<u32>,
    pub med: Option<u32>,
}

/// RIB errors (API misuse by the caller).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RibError {
    #[error("routing instance {0:?} is not configured")]
    NoInstance(String),
    #[error("route {0} cannot be originated into an instance (only inet, inet6, e-vpn)")]
    BadFamily(String),
    #[error("route has no prefix")]
    NoPrefix,
    #[error("route {0} has no next hop")]
    NoNextHop(String),
}

/// The routing information base.
#[derive(Debug)]
pub struct Rib {
    cfg: RibConfig,
    global: table::DenseMap<Nlri, GlobalDest>,
    instances: HashMap<String, Instance>,
    peers: HashMap<PeerId, PeerOut>,
    /// Global entries whose paths changed since the last flush.
    dirty: table::Marks,
    /// Our current RFC 4684 memberships.
    rtc_local: HashSet<ExtCommunity>,
    /// Peer slots in use (bits of `GlobalDest::adv`).
    slots: u128,
    /// Peers that may have stale paths: End-of-RIB sweeps scan the table only for them.
    stale_peers: HashSet<PeerId>,
    /// Instance keys whose peer-learned paths changed since the last
    /// [`Rib::take_instance_changes`] (`None` until [`Rib::enable_instance_feed`]).
    feed: Option<HashSet<(String, Nlri)>>,
}

#[derive(Debug, Default)]
struct GlobalDest {
    dest: Dest,
    /// Instances the best path is imported into (boxed: most destinations have none, and
    /// this struct is paid once per route: 8 octets instead of an empty Vec's 24).
    #[allow(clippy::box_collection)]
    imported: Option<Box<Vec<String>>>,
    /// Peers (by slot bit) that hold this destination, and the best-path version they hold.
    /// Two u64 words, not a u128: a u128 would align the table entry to 16 and pad it.
    adv: [u64; 2],
    adv_version: u64,
}

impl GlobalDest {
    /// Whether the peer in `slot` holds this destination.
    fn holds(&self, slot: u32) -> bool {
        self.adv[(slot / 64) as usize] & (1 << (slot % 64)) != 0
    }
    fn set_adv(&mut self, slot: u32, on: bool) {
        let w = &mut self.adv[(slot / 64) as usize];
        if on {
            *w |= 1 << (slot % 64);
        } else {
            *w &= !(1 << (slot % 64));
        }
    }
}

impl Rib {
    pub fn new(cfg: RibConfig) -> Rib {
        Rib {
            cfg,
            global: table::DenseMap::default(),
            instances: HashMap::new(),
            peers: HashMap::new(),
            dirty: table::Marks::default(),
            rtc_local: HashSet::new(),
            slots: 0,
            stale_peers: HashSet::new(),
            feed: None,
        }
    }

    pub fn config(&self) -> &RibConfig {
        &self.cfg
    }

    /// Changes our ASN / router id / cluster id (sessions are restarted by the caller).
    pub fn set_identity(&mut self, cfg: RibConfig) {
        let src = Source::Local {
            instance: RTC_OWNER.to_string(),
        };
        let asn = self.cfg.local_asn;
        for t in std::mem::take(&mut self.rtc_local) {
            self.remove_global(&Nlri::RouteTarget(RtMembership::exact(asn, t)), &src);
        }
        self.cfg = cfg;
        self.update_rtc_membership();
    }

    // ---- peers -------------------------------------------------------------------------

    /// A session reached Established: the full table will be sent at the next flush,
    /// followed by End-of-RIB for each family.
    pub fn peer_up(&mut self, id: PeerId, info: PeerInfo) {
        if let Some(old) = self.peers.get(&id) {
            let slot = old.slot;
            self.release_slot(slot);
        }
        let slot = (!self.slots).trailing_zeros();
        if slot >= out::MAX_SLOTS {
            tracing::error!(peer = %info.address, "more than {} peers with routes: not advertising to this one", out::MAX_SLOTS);
            return;
        }
        self.slots |= 1u128 << slot;
        let fams = info.families.clone();
        let mut p = PeerOut::new(info, slot);
        p.resync(fams, false);
        self.peers.insert(id, p);
    }

    /// Frees a peer slot: no destination may still claim the peer holds it.
    fn release_slot(&mut self, slot: u32) {
        for g in self.global.values_mut() {
            g.set_adv(slot, false);
        }
        self.slots &= !(1u128 << slot);
    }

    /// A session went down. With `graceful`, the peer's paths of `gr_families` stay as stale
    /// until [`Rib::end_of_rib`] or [`Rib::sweep_stale`]; the rest are removed now.
    pub fn peer_down(&mut self, id: PeerId, graceful: bool, gr_families: &[Family]) {
        if graceful && !gr_families.is_empty() {
            self.stale_peers.insert(id);
        }
        if let Some(p) = self.peers.remove(&id) {
            self.release_slot(p.slot);
        }
        for (i, k, g) in self.global.iter_mut_numbered() {
            let keep_stale = graceful && gr_families.contains(&k.family());
            let before = g.dest.paths.len();
            if keep_stale {
                for p in g
                    .dest
                    .paths
                    .iter_mut()
                    .filter(|p| p.source.peer_id() == Some(id))
                {
                    p.stale = true;
                }
            } else {
                g.dest.paths.retain(|p| p.source.peer_id() != Some(id));
            }
            if g.dest.paths.len() != before || keep_stale {
                self.dirty.mark(i);
            }
        }
    }

    /// End-of-RIB from a peer: its stale paths of that family are gone for good.
    pub fn end_of_rib(&mut self, id: PeerId, family: Family) {
        self.sweep(id, Some(family));
    }

    /// Restart/stale timer expired: drop every stale path from the peer.
    pub fn sweep_stale(&mut self, id: PeerId) {
        self.sweep(id, None);
    }

    fn sweep(&mut self, id: PeerId, family: Option<Family>) {
        if !self.stale_peers.contains(&id) {
            return;
        }
        if family.is_none() {
            self.stale_peers.remove(&id);
        }
        for (i, k, g) in self.global.iter_mut_numbered() {
            if family.is_some_and(|f| f != k.family()) {
                continue;
            }
            let before = g.dest.paths.len();
            g.dest
                .paths
                .retain(|p| !(p.stale && p.source.peer_id() == Some(id)));
            if g.dest.paths.len() != before {
                self.dirty.mark(i);
            }
        }
    }

    /// The graceful-restart time ran out and the peer offered long-lived GR (RFC 9494) for
    /// `families`: their stale paths stay, marked with the LLGR_STALE community and least
    /// preferred, except those carrying NO_LLGR (RFC 9494 4.3); stale paths of other
    /// families go now. A later [`Rib::sweep_stale`] (the long-lived stale timer) or
    /// End-of-RIB removes the rest. Peers without the capability are not sent the marked
    /// paths (`out.rs`).
    pub fn llgr_stale(&mut self, id: PeerId, families: &[Family]) {
        if !self.stale_peers.contains(&id) {
            return;
        }
        let mut marked: HashMap<*const PathAttrs, Arc<PathAttrs>> = HashMap::new();
        for (i, k, g) in self.global.iter_mut_numbered() {
            let keep = families.contains(&k.family());
            let before = g.dest.paths.len();
            if keep {
                g.dest.paths.retain(|p| {
                    !(p.stale
                        && p.source.peer_id() == Some(id)
                        && p.attrs.communities.contains(&best::NO_LLGR))
                });
                if g.dest.paths.len() != before {
                    self.dirty.mark(i);
                }
                for p in g
                    .dest
                    .paths
                    .iter_mut()
                    .filter(|p| p.stale && p.source.peer_id() == Some(id))
                {
                    if p.attrs.communities.contains(&best::LLGR_STALE) {
                        continue;
                    }
                    let a = marked
                        .entry(Arc::as_ptr(&p.attrs))
                        .or_insert_with(|| {
                            let mut a = (*p.attrs).clone();
                            a.communities.push(best::LLGR_STALE);
                            Arc::new(a)
                        })
                        .clone();
                    p.attrs = a;
                    self.dirty.mark(i);
                }
            } else {
                g.dest
                    .paths
                    .retain(|p| !(p.stale && p.source.peer_id() == Some(id)));
                if g.dest.paths.len() != before {
                    self.dirty.mark(i);
                }
            }
        }
    }

    /// The peer asked for a family again (RFC 2918).
    pub fn refresh(&mut self, id: PeerId, family: Family) {
        if let Some(p) = self.peers.get_mut(&id) {
            p.resync([family], true);
        }
    }

    // ---- routes from peers -------------------------------------------------------------

    /// Applies an UPDATE received from an Established peer.
    pub fn receive(&mut self, id: PeerId, u: &Update) {
        let Some(p) = self.peers.get_mut(&id) else {
            return;
        };
        let ibgp = p.info.ibgp;
        // One source for every path of the session (not one per UPDATE).
        let source = p
            .source
            .get_or_insert_with(|| {
                Arc::new(Source::Peer {
                    id,
                    address: p.info.address,
                    router_id: p.info.router_id,
                    ibgp,
                })
            })
            .clone();
        // Attribute sharing: a peer sends its table as many UPDATEs with the same attributes
        // (only the NLRI differ); reusing the previous UPDATE's set when equal keeps one Arc
        // for all of them, so re-advertisement groups them into full UPDATEs and hashes them
        // once per flush instead of once per received message.
        let attrs = match &p.last_attrs {
            Some(a) if **a == u.attrs => a.clone(),
            _ if u.announce.is_empty() => Arc::default(),
            _ => {
                let a = Arc::new(u.attrs.clone());
                p.last_attrs = Some(a.clone());
                a
            }
        };
        for w in &u.withdraw {
            if let Some(i) = self.global.find(&w.nlri) {
                let g = self.global.entry_at(i).1;
                let before = g.dest.paths.len();
                g.dest.paths.retain(|p| p.source.peer_id() != Some(id));
                if g.dest.paths.len() != before {
                    self.dirty.mark(i);
                }
            }
        }
        if !u.announce.is_empty() {
            // Loop detection: our own AS in the path (eBGP), our router id as originator or our
            // cluster id in the cluster list (RFC 4456) mean the route came back to us.
            let a = &u.attrs;
            let looped = (!ibgp && a.as_path_contains(self.cfg.local_asn))
                || a.originator_id == Some(self.cfg.router_id)
                || self
                    .cfg
                    .cluster_id
                    .is_some_and(|c| a.cluster_list.contains(&c));
            if !looped {
                for l in &u.announce {
                    let path = Path {
                        source: source.clone(),
                        labels: l.labels,
                        attrs: attrs.clone(),
                        stale: false,
                        imported_from: None,
                    };
                    self.upsert_global(l.nlri.clone(), path);
                }
            }
        }
        if let Some(f) = u.eor {
            self.end_of_rib(id, f);
        }
    }

    fn upsert_global(&mut self, key: Nlri, path: Path) {
        let (i, g) = self.global.get_or_default(key);
        match g.dest.paths.iter_mut().find(|p| p.source == path.source) {
            Some(p) => *p = path,
            None => g.dest.paths.push(path),
        }
        self.dirty.mark(i);
    }

    fn remove_global(&mut self, key: &Nlri, source: &Source) {
        if let Some(i) = self.global.find(key) {
            let g = self.global.entry_at(i).1;
            g.dest.paths.retain(|p| &*p.source != source);
            self.dirty.mark(i);
        }
    }

    // ---- instances and local routes ----------------------------------------------------

    /// Adds or changes a routing instance; import/export changes take effect at the next flush.
    pub fn set_instance(&mut self, name: &str, cfg: InstanceConfig) {
        let inst = self.instances.entry(name.to_string()).or_default();
        let old = std::mem::replace(&mut inst.cfg, cfg.clone());
        if old.export_targets != cfg.export_targets || old.rd != cfg.rd {
            // Re-export every local route with the new targets / RD.
            let locals: Vec<(Nlri, (Labels, PathAttrs))> = inst
                .local
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let src = Source::Local {
                instance: name.to_string(),
            };
            for (k, _) in &locals {
                if let Some(vk) = old.rd.and_then(|rd| instance::vpn_key(k, rd)) {
                    self.remove_global(&vk, &src);
                }
            }
            for (k, (labels, attrs)) in locals {
                self.export(name, &k, labels, attrs);
            }
        }
        if old.import_targets != cfg.import_targets {
            // Re-evaluate imports of every global destination.
            for i in 0..self.global.len() {
                self.dirty.mark(i as u32);
            }
        }
        self.update_rtc_membership();
    }

    /// Removes a routing instance, withdrawing its local routes.
    pub fn remove_instance(&mut self, name: &str) {
        let Some(inst) = self.instances.remove(name) else {
            return;
        };
        if let Some(f) = self.feed.as_mut() {
            for (k, d) in &inst.table {
                if d.paths.iter().any(|p| p.source.peer_id().is_some()) {
                    f.insert((name.to_string(), k.clone()));
                }
            }
        }
        let src = Source::Local {
            instance: name.to_string(),
        };
        if let Some(rd) = inst.cfg.rd {
            for k in inst.local.keys() {
                if let Some(vk) = instance::vpn_key(k, rd) {
                    self.remove_global(&vk, &src);
                }
            }
        }
        for g in self.global.values_mut() {
            if let Some(v) = g.imported.as_mut() {
                v.retain(|i| i != name);
            }
        }
        self.update_rtc_membership();
    }

    /// Instance names.
    pub fn instances(&self) -> impl Iterator<Item = (&String, &Instance)> {
        self.instances.iter()
    }

    /// Originates a route into an instance (and, through its export targets, into BGP).
    pub fn originate(&mut self, instance: &str, r: LocalRoute) -> Result<(), RibError> {
        let key = r.nlri.clone().ok_or(RibError::NoPrefix)?;
        if !matches!(key.family(), Family::Inet | Family::Inet6 | Family::Evpn) {
            return Err(RibError::BadFamily(key.to_string()));
        }
        let nh = r
            .next_hop
            .ok_or_else(|| RibError::NoNextHop(key.to_string()))?;
        let inst = self
            .instances
            .get_mut(instance)
            .ok_or_else(|| RibError::NoInstance(instance.to_string()))?;
        let attrs = PathAttrs {
            next_hop: Some(nh),
            ext_communities: r.ext_communities,
            communities: r.communities,
            local_pref: r.local_pref,
            med: r.med,
            ..Default::default()
        };
        inst.local.insert(key.clone(), (r.labels, attrs.clone()));
        let path = Path {
            source: Arc::new(Source::Local {
                instance: instance.to_string(),
            }),
            labels: r.labels,
            attrs: Arc::new(attrs.clone()),
            stale: false,
            imported_from: None,
        };
        let d = inst.table.entry(key.clone()).or_default();
        d.paths.retain(|p| p.source != path.source);
        d.paths.push(path);
        d.reselect();
        self.export(instance, &key, r.labels, attrs);
        Ok(())
    }

    /// Withdraws a route originated into an instance.
    pub fn withdraw(&mut self, instance: &str, nlri: &Nlri) -> Result<(), RibError> {
        let inst = self
            .instances
            .get_mut(instance)
            .ok_or_else(|| RibError::NoInstance(instance.to_string()))?;
        let src = Source::Local {
            instance: instance.to_string(),
        };
        inst.local.remove(nlri);
        if let Some(d) = inst.table.get_mut(nlri) {
            d.paths.retain(|p| *p.source != src);
            d.reselect();
            if d.paths.is_empty() {
                inst.table.remove(nlri);
            }
        }
        if let Some(vk) = inst.cfg.rd.and_then(|rd| instance::vpn_key(nlri, rd)) {
            self.remove_global(&vk, &src);
        }
        Ok(())
    }

    /// Puts a local route into the global table with the instance's RD and export targets.
    fn export(&mut self, instance: &str, key: &Nlri, labels: Labels, mut attrs: PathAttrs) {
        let Some(inst) = self.instances.get(instance) else {
            return;
        };
        let Some(rd) = inst.cfg.rd else {
            // No RD: the route stays inside the instance (Contrail does the same).
            return;
        };
        let Some(vk) = instance::vpn_key(key, rd) else {
            return;
        };
        for t in &inst.cfg.export_targets {
            if !attrs.ext_communities.contains(t) {
                attrs.ext_communities.push(*t);
            }
        }
        let path = Path {
            source: Arc::new(Source::Local {
                instance: instance.to_string(),
            }),
            labels,
            attrs: Arc::new(attrs),
            stale: false,
            imported_from: None,
        };
        self.upsert_global(vk, path);
    }

    /// Keeps one local RFC 4684 route per import target of any instance.
    fn update_rtc_membership(&mut self) {
        let want: HashSet<ExtCommunity> = self
            .instances
            .values()
            .flat_map(|i| i.cfg.import_targets.iter().copied())
            .collect();
        let src = Source::Local {
            instance: RTC_OWNER.to_string(),
        };
        let asn = self.cfg.local_asn;
        let gone: Vec<_> = self.rtc_local.difference(&want).copied().collect();
        for t in gone {
            self.remove_global(&Nlri::RouteTarget(RtMembership::exact(asn, t)), &src);
        }
        let new: Vec<_> = want.difference(&self.rtc_local).copied().collect();
        for t in new {
            let path = Path {
                source: Arc::new(src.clone()),
                labels: Labels::default(),
                attrs: Arc::new(PathAttrs {
                    next_hop: Some(IpAddr::V4(self.cfg.router_id)),
                    ..Default::default()
                }),
                stale: false,
                imported_from: None,
            };
            self.upsert_global(Nlri::RouteTarget(RtMembership::exact(asn, t)), path);
        }
        self.rtc_local = want;
    }

    // ---- propagation -------------------------------------------------------------------

    /// Runs best-path selection for everything that changed, updates instance tables, and
    /// returns the UPDATEs each peer must be sent.
    pub fn flush(&mut self) -> Vec<(PeerId, Update)> {
        let dirty: Vec<u32> = self.dirty.take();
        let mut rt_dirty = false;
        for &i in &dirty {
            let (key, g) = self.global.entry_at(i);
            g.dest.reselect();
            rt_dirty |= key.family() == Family::RouteTarget;
            import::reimport(&mut self.instances, key, g, self.feed.as_mut());
        }
        if rt_dirty {
            // A peer whose RFC 4684 memberships changed may now want, or no longer want, any
            // VPN route: re-evaluate all of them for that peer.
            let mut interest: HashMap<PeerId, Vec<RtMembership>> = HashMap::new();
            for (k, g) in self.global.iter() {
                if let Nlri::RouteTarget(m) = k {
                    for id in g.dest.paths.iter().filter_map(|p| p.source.peer_id()) {
                        interest.entry(id).or_default().push(*m);
                    }
                }
            }
            for (id, p) in self.peers.iter_mut() {
                if p.set_rt_interest(interest.remove(id).unwrap_or_default()) {
                    p.resync([Family::InetVpn, Family::Inet6Vpn, Family::Evpn], false);
                }
            }
        }
        let clients: HashSet<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.info.rr_client)
            .map(|(id, _)| *id)
            .collect();
        let resyncs: Vec<(PeerId, HashMap<Family, bool>)> = self
            .peers
            .iter_mut()
            .map(|(id, p)| (*id, p.take_resync()))
            .filter(|(_, r)| !r.is_empty())
            .collect();
        let mut pend: HashMap<PeerId, out::Pending> = self
            .peers
            .keys()
            .map(|id| (*id, out::Pending::default()))
            .collect();
        let mut attr_hash = HashMap::new();
        // Destinations left without paths (noted while they are at hand: no second lookup).
        let mut emptied: Vec<Nlri> = Vec::new();
        {
            // Key-major: each changed destination is looked up once and offered to every peer
            // (peers and their pending UPDATEs side by side: no lookup per peer per route).
            let mut order: Vec<(PeerId, &PeerOut, &mut out::Pending)> =
                Vec::with_capacity(pend.len());
            for (id, pd) in pend.iter_mut() {
                if let Some(p) = self.peers.get(id) {
                    order.push((*id, p, pd));
                }
            }
            for &i in &dirty {
                let (key, g) = self.global.entry_at(i);
                let v = out::version_of(g.dest.best_path(), &mut attr_hash);
                for (id, p, pd) in order.iter_mut() {
                    p.decide(&self.cfg, *id, &clients, key, g, v, false, pd);
                }
                g.adv_version = v;
                if g.dest.paths.is_empty() {
                    emptied.push(key.clone());
                }
            }
        }
        for (id, fams) in resyncs {
            let (Some(p), Some(pd)) = (self.peers.get(&id), pend.get_mut(&id)) else {
                continue;
            };
            for (key, g) in self.global.iter_mut() {
                if let Some(force) = fams.get(&key.family()) {
                    let v = g.adv_version;
                    p.decide(&self.cfg, id, &clients, key, g, v, *force, pd);
                }
            }
        }
        // Destinations left without paths were withdrawn above: forget them.
        // Entry numbers change from here on; `dirty` was taken above, so none are held.
        for key in emptied {
            self.global.remove(&key);
        }
        let mut out = Vec::new();
        for (id, p) in self.peers.iter_mut() {
            if let Some(pd) = pend.remove(id) {
                for u in p.finish(pd) {
                    out.push((*id, u));
                }
            }
        }
        out
    }

    /// Read access for queries.
    pub(crate) fn global_dests(&self) -> impl Iterator<Item = (&Nlri, &Dest)> {
        self.global.iter().map(|(k, g)| (k, &g.dest))
    }

    pub(crate) fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.get(name)
    }

    /// Destinations changed since the last flush (the driver flushes before this grows large,
    /// which bounds the UPDATEs built at once).
    pub fn pending(&self) -> usize {
        self.dirty.len()
    }

    /// Destinations in the global tables (all families).
    pub fn global_len(&self) -> usize {
        self.global.len()
    }

    /// The RD Cirrus gives an instance by default: `router-id:index` (Contrail's form).
    pub fn default_rd(&self, index: u16) -> Rd {
        Rd::Ip(self.cfg.router_id, index)
    }
}
