//! Per-peer Adj-RIB-Out: which best paths a peer gets (iBGP split horizon, route reflection,
//! RFC 4684 route-target filtering, sender-side AS loop check), the attribute changes on the
//! way out, and packing changes into UPDATEs grouped by shared attributes.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use super::best::{Path, PeerId, Source};
use super::{GlobalDest, PeerInfo, RibConfig};
use crate::attrs::PathAttrs;
use crate::message::Update;
use crate::types::{Family, Labeled, Nlri, RtMembership};

/// A stable 64-bit hash (SipHash with fixed keys).
fn hash_of<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// One changed destination, looked up and hashed once for all peers.
pub(crate) struct Changed<'a> {
    pub key: &'a Nlri,
    pub best: Option<&'a Path>,
    pub hash: u64,
}

impl<'a> Changed<'a> {
    pub fn new(key: &'a Nlri, best: Option<&'a Path>) -> Changed<'a> {
        Changed {
            key,
            best,
            hash: hash_of(key),
        }
    }
}

/// Keys of the fingerprint maps are hashes already: use them as they are.
#[derive(Default, Clone, Copy)]
struct Prehashed;

impl BuildHasher for Prehashed {
    type Hasher = PrehashedHasher;
    fn build_hasher(&self) -> PrehashedHasher {
        PrehashedHasher(0)
    }
}

#[derive(Default)]
struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

#[derive(Debug)]
pub(crate) struct PeerOut {
    pub info: PeerInfo,
    /// Adj-RIB-Out as fingerprints: key hash -> hash of (labels, attributes) sent. 16 octets a
    /// route instead of the route itself; the keys come back from the RIB when they change.
    adj_out: HashMap<Family, HashMap<u64, u64, Prehashed>>,
    /// Families to re-evaluate completely at the next flush (session up, refresh, RTC change).
    /// Other changes come as the RIB's list of changed keys, shared by all peers.
    resync: HashSet<Family>,
    /// RFC 4684 memberships the peer advertised (only used when it negotiated route-target).
    rt_interest: Vec<RtMembership>,
    need_eor: bool,
}

impl PeerOut {
    pub fn new(info: PeerInfo) -> PeerOut {
        PeerOut {
            info,
            adj_out: HashMap::new(),
            resync: HashSet::new(),
            rt_interest: Vec::new(),
            need_eor: true,
        }
    }

    pub fn adj_out_len(&self) -> usize {
        self.adj_out.values().map(HashMap::len).sum()
    }

    /// Re-evaluates every key of these families at the next flush.
    pub fn resync(&mut self, families: impl IntoIterator<Item = Family>) {
        self.resync.extend(families);
    }

    pub fn forget_family(&mut self, f: Family) {
        self.adj_out.remove(&f);
    }

    /// Returns whether the memberships changed.
    pub fn set_rt_interest(&mut self, mut v: Vec<RtMembership>) -> bool {
        v.sort();
        v.dedup();
        if v == self.rt_interest {
            return false;
        }
        self.rt_interest = v;
        true
    }

    fn rt_allows(&self, p: &Path) -> bool {
        if !self.info.families.contains(&Family::RouteTarget) {
            return true;
        }
        p.attrs
            .route_targets()
            .any(|rt| self.rt_interest.iter().any(|m| m.matches(rt)))
    }

    /// The best path of `key`, if this peer should have it.
    fn eligible<'a>(
        &self,
        cfg: &RibConfig,
        id: PeerId,
        key: &Nlri,
        clients: &HashSet<PeerId>,
        best: Option<&'a Path>,
    ) -> Option<&'a Path> {
        let f = key.family();
        if !self.info.families.contains(&f) {
            return None;
        }
        let best = best?;
        match &best.source {
            Source::Peer { id: src, .. } if *src == id => return None,
            Source::Peer {
                id: src,
                ibgp: true,
                ..
            } if self.info.ibgp => {
                // iBGP split horizon, unless we reflect (RFC 4456 section 6).
                let reflect =
                    cfg.cluster_id.is_some() && (clients.contains(src) || self.info.rr_client);
                if !reflect {
                    return None;
                }
            }
            _ => {}
        }
        if matches!(f, Family::InetVpn | Family::Inet6Vpn | Family::Evpn) && !self.rt_allows(best) {
            return None;
        }
        if !self.info.ibgp && best.attrs.as_path_contains(self.info.asn) {
            return None;
        }
        Some(best)
    }

    fn transform(&self, cfg: &RibConfig, p: &Path) -> PathAttrs {
        let mut a = (*p.attrs).clone();
        if self.info.ibgp {
            a.local_pref.get_or_insert(100);
            if let Source::Peer {
                ibgp: true,
                router_id,
                ..
            } = &p.source
            {
                a.originator_id.get_or_insert(*router_id);
                if let Some(c) = cfg.cluster_id {
                    a.cluster_list.insert(0, c);
                }
            }
        } else {
            a.prepend(cfg.local_asn);
            a.local_pref = None;
            a.originator_id = None;
            a.cluster_list.clear();
            // RFC 4271 5.1.4: a MED learned from one AS is not passed to another.
            if matches!(p.source, Source::Peer { .. }) {
                a.med = None;
            }
        }
        if a.next_hop.is_none() {
            a.next_hop = Some(std::net::IpAddr::V4(cfg.router_id));
        }
        a
    }

    /// Turns pending keys into UPDATEs.
    pub fn flush(
        &mut self,
        cfg: &RibConfig,
        id: PeerId,
        global: &HashMap<Nlri, GlobalDest>,
        clients: &HashSet<PeerId>,
        changed: &[Changed<'_>],
    ) -> Vec<Update> {
        let mut cache: HashMap<*const PathAttrs, (Arc<PathAttrs>, u64)> = HashMap::new();
        let mut ann: HashMap<(Family, *const PathAttrs), Vec<Labeled>> = HashMap::new();
        let mut wd: HashMap<Family, Vec<Labeled>> = HashMap::new();
        let fams = std::mem::take(&mut self.resync);
        // Keys that left the global table were in `changed` when they left, so a resync
        // only has to walk what is there now.
        let extra: Vec<Changed<'_>> = if fams.is_empty() {
            Vec::new()
        } else {
            global
                .iter()
                .filter(|(k, _)| fams.contains(&k.family()))
                .map(|(k, g)| Changed::new(k, g.dest.best_path()))
                .collect()
        };
        for c in changed.iter().chain(extra.iter()) {
            let key = c.key;
            let want = self.eligible(cfg, id, key, clients, c.best).map(|p| {
                let (a, h) = cache
                    .entry(Arc::as_ptr(&p.attrs))
                    .or_insert_with(|| {
                        let t = self.transform(cfg, p);
                        let h = hash_of(&format!("{t:?}"));
                        (Arc::new(t), h)
                    })
                    .clone();
                (p.labels, a, h)
            });
            let f = key.family();
            let kh = c.hash;
            let table = self.adj_out.entry(f).or_default();
            match want {
                None => {
                    if table.remove(&kh).is_some() {
                        wd.entry(f).or_default().push(Labeled::bare(key.clone()));
                    }
                }
                Some((labels, attrs, ah)) => {
                    let fp = ah ^ hash_of(&labels).rotate_left(1);
                    if table.insert(kh, fp) != Some(fp) {
                        ann.entry((f, Arc::as_ptr(&attrs)))
                            .or_default()
                            .push(Labeled {
                                nlri: key.clone(),
                                labels,
                                path_id: None,
                            });
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (f, list) in wd {
            out.push(Update {
                withdraw: list,
                inet_via_mp: false,
                ..Update::end_of_rib(f)
            });
        }
        for u in out.iter_mut() {
            u.eor = None;
        }
        for ((_, ptr), list) in ann {
            let attrs = cache
                .values()
                .find(|(a, _)| Arc::as_ptr(a) == ptr)
                .map(|(a, _)| (**a).clone());
            out.push(Update {
                announce: list,
                attrs: attrs.unwrap_or_default(),
                ..Default::default()
            });
        }
        // Memberships first, so the peer's own RFC 4684 filter is ready for the VPN routes.
        out.sort_by_key(|u| u.family() != Some(Family::RouteTarget));
        if self.need_eor {
            self.need_eor = false;
            for f in &self.info.families {
                out.push(Update::end_of_rib(*f));
            }
        }
        out
    }
}
