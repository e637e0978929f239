//! OPEN conversion between netgauze's `BgpOpenMessage` and our [`Open`].

use netgauze_bgp_pkt::BgpMessage;
use netgauze_bgp_pkt::capabilities::{
    BgpCapability, FourOctetAsCapability, GracefulRestartAddressFamily, GracefulRestartCapability,
    LongLivedGracefulRestartAddressFamily, LongLivedGracefulRestartCapability,
    MultiProtocolExtensionsCapability,
};
use netgauze_bgp_pkt::open::{BgpOpenMessage, BgpOpenMessageParameter};

use super::{address_type, family_of};
use crate::message::{Capabilities, GracefulRestart, LongLivedGr, Open};

pub(crate) fn from_netgauze(o: &BgpOpenMessage) -> Open {
    let mut caps = Capabilities::default();
    let mut n_caps = 0usize;
    for p in o.params() {
        let BgpOpenMessageParameter::Capabilities(list) = p;
        for c in list.iter() {
            n_caps += 1;
            match c {
                BgpCapability::MultiProtocolExtensions(m) => match family_of(m.address_type()) {
                    Some(f) => caps.families.push(f),
                    None => caps.other.push(c.clone()),
                },
                BgpCapability::FourOctetAs(a) => caps.asn4 = Some(a.asn4()),
                BgpCapability::RouteRefresh => caps.route_refresh = true,
                BgpCapability::EnhancedRouteRefresh => caps.enhanced_route_refresh = true,
                BgpCapability::GracefulRestartCapability(g) => {
                    let fams = g
                        .address_families()
                        .iter()
                        .filter_map(|af| {
                            family_of(af.address_type()).map(|f| (f, af.forwarding_state()))
                        })
                        .collect();
                    caps.graceful_restart = Some(GracefulRestart {
                        restarting: g.restart(),
                        notification: g.graceful_notification(),
                        restart_time: g.time(),
                        families: fams,
                    });
                }
                BgpCapability::LongLivedGracefulRestart(l) => {
                    caps.llgr = Some(LongLivedGr {
                        families: l
                            .address_families()
                            .iter()
                            .filter_map(|af| {
                                family_of(af.address_type())
                                    .map(|f| (f, af.forwarding_state(), af.stale_time()))
                            })
                            .collect(),
                    });
                }
                other => caps.other.push(other.clone()),
            }
        }
    }
    Open {
        my_as: o.my_as(),
        hold_time: o.hold_time(),
        router_id: o.bgp_id(),
        caps,
        one_param_per_cap: o.params().len() == n_caps,
    }
}

pub(crate) fn to_netgauze(o: &Open) -> BgpMessage {
    let c = &o.caps;
    let mut list: Vec<BgpCapability> = Vec::new();
    for f in &c.families {
        list.push(BgpCapability::MultiProtocolExtensions(
            MultiProtocolExtensionsCapability::new(address_type(*f)),
        ));
    }
    if c.route_refresh {
        list.push(BgpCapability::RouteRefresh);
    }
    if c.enhanced_route_refresh {
        list.push(BgpCapability::EnhancedRouteRefresh);
    }
    if let Some(g) = &c.graceful_restart {
        let fams: Vec<_> = g
            .families
            .iter()
            .map(|(f, fwd)| GracefulRestartAddressFamily::new(*fwd, address_type(*f)))
            .collect();
        list.push(BgpCapability::GracefulRestartCapability(
            GracefulRestartCapability::new(g.restarting, g.notification, g.restart_time, fams),
        ));
    }
    if let Some(a) = c.asn4 {
        list.push(BgpCapability::FourOctetAs(FourOctetAsCapability::new(a)));
    }
    if let Some(l) = &c.llgr {
        let fams: Vec<_> = l
            .families
            .iter()
            .map(|(f, fwd, t)| {
                LongLivedGracefulRestartAddressFamily::new(*fwd, address_type(*f), *t)
            })
            .collect();
        list.push(BgpCapability::LongLivedGracefulRestart(
            LongLivedGracefulRestartCapability::new(fams),
        ));
    }
    list.extend(c.other.iter().cloned());
    let params: Vec<BgpOpenMessageParameter> = if o.one_param_per_cap {
        list.into_iter()
            .map(|c| BgpOpenMessageParameter::Capabilities(vec![c].into()))
            .collect()
    } else if list.is_empty() {
        Vec::new()
    } else {
        vec![BgpOpenMessageParameter::Capabilities(list.into())]
    };
    BgpMessage::Open(BgpOpenMessage::new(
        o.my_as,
        o.hold_time,
        o.router_id,
        params,
    ))
}
