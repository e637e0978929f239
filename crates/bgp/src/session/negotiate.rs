//! OPEN construction and checking (RFC 4271 section 6.2, RFC 5492, RFC 6793), and the
//! per-UPDATE checks that need negotiated state (RFC 7606, RFC 4760 section 7).

use serde::{Deserialize, Serialize};

use super::SessionConfig;
use crate::codec::DecodeError;
use crate::message::{
    Capabilities, GracefulRestart, LongLivedGr, Notification, Open, Update, codes,
};
use crate::types::Family;

const AS_TRANS: u16 = 23456;

/// What both ends agreed on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Negotiated {
    pub peer_asn: u32,
    pub peer_router_id: std::net::Ipv4Addr,
    pub hold_time: u32,
    pub keepalive: u32,
    pub families: Vec<Family>,
    pub asn4: bool,
    pub route_refresh: bool,
    /// The peer's graceful restart capability, if it sent one.
    pub peer_graceful_restart: Option<GracefulRestart>,
    /// The peer's long-lived GR stale times.
    pub peer_llgr: Option<LongLivedGr>,
    /// Both sides set the N bit (RFC 8538).
    pub graceful_notification: bool,
}

/// Our OPEN for this session.
pub(crate) fn our_open(cfg: &SessionConfig) -> Open {
    let gr = cfg.graceful_restart.map(|t| GracefulRestart {
        restarting: false,
        notification: true,
        restart_time: t,
        families: cfg.families.iter().map(|f| (*f, false)).collect(),
    });
    let llgr = cfg.llgr_stale_time.map(|t| LongLivedGr {
        families: cfg.families.iter().map(|f| (*f, false, t)).collect(),
    });
    Open {
        my_as: u16::try_from(cfg.local_asn).unwrap_or(AS_TRANS),
        hold_time: cfg.hold_time,
        router_id: cfg.router_id,
        caps: Capabilities {
            families: cfg.families.clone(),
            asn4: Some(cfg.local_asn),
            route_refresh: true,
            enhanced_route_refresh: false,
            graceful_restart: gr,
            llgr,
            other: Vec::new(),
        },
        one_param_per_cap: true,
    }
}

fn open_err(subcode: u8, data: impl Into<Vec<u8>>, reason: String) -> DecodeError {
    DecodeError {
        notification: Notification::new(codes::OPEN, subcode, data),
        reason,
    }
}

/// Checks the peer's OPEN and negotiates (RFC 4271 section 6.2).
pub(crate) fn check_open(cfg: &SessionConfig, o: &Open) -> Result<Negotiated, DecodeError> {
    let peer_asn = o.asn();
    if peer_asn != cfg.peer_asn {
        return Err(open_err(
            codes::OPEN_BAD_PEER_AS,
            [],
            format!("peer AS {peer_asn}, configured {}", cfg.peer_asn),
        ));
    }
    if o.caps.asn4.is_some() && o.my_as != AS_TRANS && u32::from(o.my_as) != peer_asn {
        return Err(open_err(
            codes::OPEN_BAD_PEER_AS,
            [],
            format!("My AS {} disagrees with 4-octet AS {peer_asn}", o.my_as),
        ));
    }
    if o.router_id.is_unspecified()
        || o.router_id.is_multicast()
        || (o.router_id == cfg.router_id && peer_asn == cfg.local_asn)
    {
        return Err(open_err(
            codes::OPEN_BAD_BGP_ID,
            [],
            format!("bad BGP identifier {}", o.router_id),
        ));
    }
    if o.hold_time == 1 || o.hold_time == 2 {
        return Err(open_err(
            codes::OPEN_UNACCEPTABLE_HOLD,
            [],
            format!("hold time {} (must be 0 or at least 3)", o.hold_time),
        ));
    }
    let hold_time = u32::from(cfg.hold_time.min(o.hold_time));
    // RFC 4760: a peer without any MP capability speaks IPv4 unicast only.
    let peer_families: Vec<Family> = if o.caps.families.is_empty() {
        vec![Family::Inet]
    } else {
        o.caps.families.clone()
    };
    let families: Vec<Family> = cfg
        .families
        .iter()
        .copied()
        .filter(|f| peer_families.contains(f))
        .collect();
    if families.is_empty() {
        // RFC 5492 section 5: Unsupported Capability, listing what we wanted.
        let mut data = Vec::new();
        for f in &cfg.families {
            let (afi, safi) = f.afi_safi();
            data.extend_from_slice(&[1, 4]);
            data.extend_from_slice(&afi.to_be_bytes());
            data.extend_from_slice(&[0, safi]);
        }
        return Err(open_err(
            codes::OPEN_UNSUPPORTED_CAPABILITY,
            data,
            "no address family in common".into(),
        ));
    }
    let gn = o
        .caps
        .graceful_restart
        .as_ref()
        .is_some_and(|g| g.notification)
        && cfg.graceful_restart.is_some();
    Ok(Negotiated {
        peer_asn,
        peer_router_id: o.router_id,
        hold_time,
        keepalive: hold_time / 3,
        families,
        asn4: o.caps.asn4.is_some(),
        route_refresh: o.caps.route_refresh,
        peer_graceful_restart: o.caps.graceful_restart.clone(),
        peer_llgr: o.caps.llgr.clone(),
        graceful_notification: gn,
    })
}

/// Checks an UPDATE against what was negotiated. Routes of families we did not negotiate are
/// dropped (RFC 4760 section 7 allows ignoring them); announcements missing a mandatory
/// attribute are treated as withdrawn (RFC 7606 section 3.d). Returns `None` when nothing is left.
pub(crate) fn check_update(n: Option<&Negotiated>, mut u: Update) -> Option<Update> {
    let n = n?;
    let ok = |f: Family| n.families.contains(&f);
    u.announce.retain(|l| ok(l.nlri.family()));
    u.withdraw.retain(|l| ok(l.nlri.family()));
    if u.eor.is_some_and(|f| !ok(f)) {
        u.eor = None;
    }
    if !u.announce.is_empty() {
        let has = |c: u8| u.attr_order.iter().any(|(x, _)| *x == c);
        let mut missing = Vec::new();
        if !has(1) {
            missing.push("ORIGIN");
        }
        if !has(2) {
            missing.push("AS_PATH");
        }
        if u.attrs.next_hop.is_none() {
            missing.push("NEXT_HOP");
        }
        if !missing.is_empty() {
            u.attribute_errors
                .push(format!("missing {}", missing.join(", ")));
            let ann = std::mem::take(&mut u.announce);
            u.withdraw.extend(ann);
        }
    }
    if !u.attribute_errors.is_empty() {
        tracing::warn!(errors = ?u.attribute_errors, "UPDATE treated as withdraw (RFC 7606)");
    }
    if u.announce.is_empty() && u.withdraw.is_empty() && u.eor.is_none() {
        return None;
    }
    Some(u)
}
