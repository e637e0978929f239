//! Outbound side of the RIB: which best paths a peer gets (iBGP split horizon, route
//! reflection, RFC 4684 route-target filtering, sender-side AS loop check, long-lived stale
//! paths only to LLGR peers), the attribute
//! changes on the way out, and packing changes into UPDATEs grouped by shared attributes.
//!
//! There is no per-peer Adj-RIB-Out table: each global destination remembers which peers hold
//! it (`adv`, one bit per peer slot) and which version of its best path they hold. That costs
//! 24 octets a destination whatever the number of peers, where a per-peer table costs ~17
//! octets a route per peer (BIRD keeps no Adj-RIB-Out either).

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::best::{Path, PeerId, Source};
use super::{GlobalDest, PeerInfo, RibConfig};
use crate::attrs::PathAttrs;
use crate::message::Update;
use crate::types::{Family, Labeled, Nlri, RtMembership};

/// Peers that can hold routes at once (bits of `GlobalDest::adv`).
pub(crate) const MAX_SLOTS: u32 = 128;

/// A stable 64-bit hash (SipHash with fixed keys).
fn hash_of<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

#[derive(Debug)]
pub(crate) struct PeerOut {
    pub info: PeerInfo,
    /// Bit index in `GlobalDest::adv`.
    pub slot: u32,
    /// Families to re-evaluate completely at the next flush (session up, refresh, RTC change),
    /// and whether to re-send what the peer already has (refresh).
    resync: HashMap<Family, bool>,
    /// RFC 4684 memberships the peer advertised (only used when it negotiated route-target).
    rt_interest: Vec<RtMembership>,
    need_eor: bool,
    /// The source of this session's paths, made at its first UPDATE.
    pub source: Option<Arc<Source>>,
    /// Attributes of the peer's last UPDATE with routes, reused while they repeat.
    pub last_attrs: Option<Arc<PathAttrs>>,
}

/// UPDATEs being built for one peer during a flush.
#[derive(Default)]
pub(crate) struct Pending {
    /// Transformed attributes per source attributes (pointer), shared by the routes of one
    /// received UPDATE so they stay grouped.
    cache: Vec<(*const PathAttrs, Arc<PathAttrs>)>,
    /// Announcements grouped by family and attributes. A flush has few groups and consecutive
    /// routes mostly share one, so a Vec searched from the end beats hashing every route.
    ann: Vec<((Family, *const PathAttrs), Vec<Labeled>)>,
    wd: HashMap<Family, Vec<Labeled>>,
}

impl PeerOut {
    pub fn new(info: PeerInfo, slot: u32) -> PeerOut {
        PeerOut {
            info,
            slot,
            resync: HashMap::new(),
            rt_interest: Vec::new(),
            need_eor: true,
            source: None,
            last_attrs: None,
        }
    }

    /// Re-evaluates every key of these families at the next flush; `force` re-sends routes the
    /// peer already has (ROUTE-REFRESH).
    pub fn resync(&mut self, families: impl IntoIterator<Item = Family>, force: bool) {
        for f in families {
            let e = self.resync.entry(f).or_insert(false);
            *e |= force;
        }
    }

    pub fn take_resync(&mut self) -> HashMap<Family, bool> {
        std::mem::take(&mut self.resync)
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
        match &*best.source {
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
        // RFC 9494 4.5: long-lived stale paths only go to peers that know what they are
        // (the best path is stale only when every path is, so there is nothing else).
        if !self.info.llgr && best.attrs.communities.contains(&super::best::LLGR_STALE) {
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
            } = &*p.source
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
            if matches!(*p.source, Source::Peer { .. }) {
                a.med = None;
            }
        }
        if a.next_hop.is_none() {
            a.next_hop = Some(std::net::IpAddr::V4(cfg.router_id));
        }
        a
    }

    /// Decides what this peer needs for one destination whose best path is at `version`.
    /// `force` re-sends even if the peer already holds this version.
    #[allow(clippy::too_many_arguments)]
    pub fn decide(
        &self,
        cfg: &RibConfig,
        id: PeerId,
        clients: &HashSet<PeerId>,
        key: &Nlri,
        g: &mut GlobalDest,
        version: u64,
        force: bool,
        pend: &mut Pending,
    ) {
        let had = g.holds(self.slot);
        let best = g.dest.best_path();
        match self.eligible(cfg, id, key, clients, best) {
            None => {
                if had {
                    g.set_adv(self.slot, false);
                    pend.wd
                        .entry(key.family())
                        .or_default()
                        .push(Labeled::bare(key.clone()));
                }
            }
            Some(_) if had && g.adv_version == version && !force => {}
            Some(p) => {
                let src = Arc::as_ptr(&p.attrs);
                let a = match pend.cache.iter().rev().find(|(k, _)| *k == src) {
                    Some((_, a)) => Arc::as_ptr(a),
                    None => {
                        let a = Arc::new(self.transform(cfg, p));
                        let ptr = Arc::as_ptr(&a);
                        pend.cache.push((src, a));
                        ptr
                    }
                };
                let group = (key.family(), a);
                let l = Labeled {
                    nlri: key.clone(),
                    labels: p.labels,
                    path_id: None,
                };
                match pend.ann.iter_mut().rev().find(|(k, _)| *k == group) {
                    Some((_, v)) => v.push(l),
                    None => pend.ann.push((group, vec![l])),
                }
                g.set_adv(self.slot, true);
            }
        }
    }

    /// Packs what `decide` collected into UPDATEs (withdrawals, memberships, then the rest),
    /// followed by End-of-RIB after the initial table.
    pub fn finish(&mut self, pend: Pending) -> Vec<Update> {
        let mut out = Vec::new();
        for (_, list) in pend.wd {
            out.push(Update {
                withdraw: list,
                ..Default::default()
            });
        }
        for ((_, ptr), list) in pend.ann {
            let attrs = pend
                .cache
                .iter()
                .find(|(_, a)| Arc::as_ptr(a) == ptr)
                .map(|(_, a)| (**a).clone());
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

/// Identifies the version of a best path: same source, labels and attribute content means
/// peers holding it need nothing. `attr_hash` caches content hashes per attribute pointer.
pub(crate) fn version_of(p: Option<&Path>, attr_hash: &mut HashMap<*const PathAttrs, u64>) -> u64 {
    let Some(p) = p else { return 0 };
    let ah = *attr_hash
        .entry(Arc::as_ptr(&p.attrs))
        .or_insert_with(|| hash_of(&format!("{:?}", p.attrs)));
    let mut h = std::hash::DefaultHasher::new();
    ah.hash(&mut h);
    p.labels.hash(&mut h);
    p.source.hash(&mut h);
    // Never 0, which means "no best path".
    h.finish() | 1
}
