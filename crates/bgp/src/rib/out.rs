//! Per-peer Adj-RIB-Out: which best paths a peer gets (iBGP split horizon, route reflection,
//! RFC 4684 route-target filtering, sender-side AS loop check), the attribute changes on the
//! way out, and packing changes into UPDATEs grouped by shared attributes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::best::{Path, PeerId, Source};
use super::{GlobalDest, PeerInfo, RibConfig};
use crate::attrs::PathAttrs;
use crate::message::Update;
use crate::types::{Family, Labeled, Labels, Nlri, RtMembership};

#[derive(Debug)]
pub(crate) struct PeerOut {
    pub info: PeerInfo,
    adj_out: HashMap<Nlri, (Labels, Arc<PathAttrs>)>,
    pending: HashSet<Nlri>,
    /// RFC 4684 memberships the peer advertised (only used when it negotiated route-target).
    rt_interest: Vec<RtMembership>,
    need_eor: bool,
}

impl PeerOut {
    pub fn new(info: PeerInfo) -> PeerOut {
        PeerOut {
            info,
            adj_out: HashMap::new(),
            pending: HashSet::new(),
            rt_interest: Vec::new(),
            need_eor: true,
        }
    }

    pub fn adj_out_len(&self) -> usize {
        self.adj_out.len()
    }

    pub fn mark(&mut self, key: Nlri) {
        self.pending.insert(key);
    }

    /// Re-evaluates these keys plus everything already advertised.
    pub fn resync(&mut self, keys: impl IntoIterator<Item = Nlri>) {
        self.pending.extend(keys);
        self.pending.extend(self.adj_out.keys().cloned());
    }

    pub fn forget_family(&mut self, f: Family) {
        self.adj_out.retain(|k, _| k.family() != f);
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
        d: Option<&'a GlobalDest>,
    ) -> Option<&'a Path> {
        let f = key.family();
        if !self.info.families.contains(&f) {
            return None;
        }
        let best = d?.dest.best_path()?;
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
    ) -> Vec<Update> {
        let mut cache: HashMap<*const PathAttrs, Arc<PathAttrs>> = HashMap::new();
        let mut ann: HashMap<(Family, *const PathAttrs), Vec<Labeled>> = HashMap::new();
        let mut wd: HashMap<Family, Vec<Labeled>> = HashMap::new();
        let pending: Vec<Nlri> = self.pending.drain().collect();
        for key in pending {
            let want = self
                .eligible(cfg, id, &key, clients, global.get(&key))
                .map(|p| {
                    let a = cache
                        .entry(Arc::as_ptr(&p.attrs))
                        .or_insert_with(|| Arc::new(self.transform(cfg, p)))
                        .clone();
                    (p.labels, a)
                });
            let have = self.adj_out.get(&key);
            match (want, have) {
                (None, None) => {}
                (None, Some(_)) => {
                    self.adj_out.remove(&key);
                    wd.entry(key.family()).or_default().push(Labeled::bare(key));
                }
                (Some(w), Some(h)) if w.0 == h.0 && (Arc::ptr_eq(&w.1, &h.1) || w.1 == h.1) => {}
                (Some((labels, attrs)), _) => {
                    let f = key.family();
                    ann.entry((f, Arc::as_ptr(&attrs)))
                        .or_default()
                        .push(Labeled {
                            nlri: key.clone(),
                            labels,
                            path_id: None,
                        });
                    self.adj_out.insert(key, (labels, attrs));
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
                .find(|a| Arc::as_ptr(a) == ptr)
                .map(|a| (**a).clone());
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
