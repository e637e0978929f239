//! Counters of what the trap answers did, for introspect and metrics: one field per kind
//! of [`Outcome`], incremented by [`TrapStats::record`]. The agent keeps one per port (and
//! can sum them with [`TrapStats::add`]).

use super::{Ignored, Outcome};
use serde::Serialize;

/// What the trap handler did, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TrapStats {
    pub dhcp_offers: u64,
    pub dhcp_acks: u64,
    pub dhcp_inform_acks: u64,
    pub dhcp_naks: u64,
    pub dhcp_releases: u64,
    pub dhcp_declines: u64,
    pub dhcp6_advertises: u64,
    pub dhcp6_replies: u64,
    pub dhcp6_inform_replies: u64,
    pub dhcp6_confirms: u64,
    pub dhcp6_releases: u64,
    pub dhcp6_declines: u64,
    /// DHCP (v4 and v6) requests not answered: DHCP disabled, no address, another client's MAC,
    /// another server selected, or a type a server does not answer.
    pub dhcp_ignored: u64,
    pub arp_replies: u64,
    pub arp_gratuitous: u64,
    /// ARP replies from the workload (answers to the agent's requests).
    pub arp_replies_seen: u64,
    /// ARP and ND for the workload's own address, never answered.
    pub own_address_requests: u64,
    /// ARP and ND for addresses the network has no route to, or for invalid targets.
    pub unresolved: u64,
    pub echo_replies: u64,
    pub neighbor_adverts: u64,
    pub router_adverts: u64,
    pub time_exceeded: u64,
    /// Other frames not answered (not for the router, wrong reason, no IPv6, ...).
    pub ignored: u64,
    /// Malformed frames: counted drops.
    pub malformed: u64,
}

impl TrapStats {
    /// Counts one outcome.
    pub fn record(&mut self, o: &Outcome) {
        let c = match o {
            Outcome::DhcpOffer { .. } => &mut self.dhcp_offers,
            Outcome::DhcpAck { .. } => &mut self.dhcp_acks,
            Outcome::DhcpInformAck => &mut self.dhcp_inform_acks,
            Outcome::DhcpNak { .. } => &mut self.dhcp_naks,
            Outcome::DhcpRelease { .. } => &mut self.dhcp_releases,
            Outcome::DhcpDecline { .. } => &mut self.dhcp_declines,
            Outcome::Dhcp6Advertise { .. } => &mut self.dhcp6_advertises,
            Outcome::Dhcp6Reply { .. } => &mut self.dhcp6_replies,
            Outcome::Dhcp6InformReply => &mut self.dhcp6_inform_replies,
            Outcome::Dhcp6Confirm { .. } => &mut self.dhcp6_confirms,
            Outcome::Dhcp6Release => &mut self.dhcp6_releases,
            Outcome::Dhcp6Decline => &mut self.dhcp6_declines,
            Outcome::ArpReply { .. } => &mut self.arp_replies,
            Outcome::ArpGratuitous { .. } => &mut self.arp_gratuitous,
            Outcome::ArpReplySeen { .. } => &mut self.arp_replies_seen,
            Outcome::EchoReply { .. } => &mut self.echo_replies,
            Outcome::NeighborAdvert { .. } => &mut self.neighbor_adverts,
            Outcome::RouterAdvert => &mut self.router_adverts,
            Outcome::TimeExceeded { .. } => &mut self.time_exceeded,
            Outcome::Malformed(_) => &mut self.malformed,
            Outcome::Ignored(i) => match i {
                Ignored::DhcpDisabled
                | Ignored::DhcpNoAddress
                | Ignored::DhcpWrongClient { .. }
                | Ignored::DhcpOtherServer { .. }
                | Ignored::Dhcp6OtherServer
                | Ignored::DhcpUnexpected => &mut self.dhcp_ignored,
                Ignored::OwnAddress => &mut self.own_address_requests,
                Ignored::Unresolved { .. } | Ignored::InvalidTarget => &mut self.unresolved,
                Ignored::NotForRouter
                | Ignored::NdUnexpected
                | Ignored::NoIpv6
                | Ignored::NoTimeExceeded
                | Ignored::WrongReason => &mut self.ignored,
            },
        };
        *c += 1;
    }

    /// Adds another set of counters (e.g. to total the ports).
    pub fn add(&mut self, o: &TrapStats) {
        let TrapStats {
            dhcp_offers,
            dhcp_acks,
            dhcp_inform_acks,
            dhcp_naks,
            dhcp_releases,
            dhcp_declines,
            dhcp6_advertises,
            dhcp6_replies,
            dhcp6_inform_replies,
            dhcp6_confirms,
            dhcp6_releases,
            dhcp6_declines,
            dhcp_ignored,
            arp_replies,
            arp_gratuitous,
            arp_replies_seen,
            own_address_requests,
            unresolved,
            echo_replies,
            neighbor_adverts,
            router_adverts,
            time_exceeded,
            ignored,
            malformed,
        } = *o;
        self.dhcp_offers += dhcp_offers;
        self.dhcp_acks += dhcp_acks;
        self.dhcp_inform_acks += dhcp_inform_acks;
        self.dhcp_naks += dhcp_naks;
        self.dhcp_releases += dhcp_releases;
        self.dhcp_declines += dhcp_declines;
        self.dhcp6_advertises += dhcp6_advertises;
        self.dhcp6_replies += dhcp6_replies;
        self.dhcp6_inform_replies += dhcp6_inform_replies;
        self.dhcp6_confirms += dhcp6_confirms;
        self.dhcp6_releases += dhcp6_releases;
        self.dhcp6_declines += dhcp6_declines;
        self.dhcp_ignored += dhcp_ignored;
        self.arp_replies += arp_replies;
        self.arp_gratuitous += arp_gratuitous;
        self.arp_replies_seen += arp_replies_seen;
        self.own_address_requests += own_address_requests;
        self.unresolved += unresolved;
        self.echo_replies += echo_replies;
        self.neighbor_adverts += neighbor_adverts;
        self.router_adverts += router_adverts;
        self.time_exceeded += time_exceeded;
        self.ignored += ignored;
        self.malformed += malformed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cirrus_dataplane::wire::{MacAddr, WireError};
    use std::net::Ipv4Addr;

    #[test]
    fn each_outcome_lands_in_its_counter() {
        let mut s = TrapStats::default();
        s.record(&Outcome::DhcpOffer {
            addr: Ipv4Addr::LOCALHOST,
        });
        s.record(&Outcome::Ignored(Ignored::DhcpWrongClient {
            chaddr: MacAddr::ZERO,
        }));
        s.record(&Outcome::Ignored(Ignored::OwnAddress));
        s.record(&Outcome::Malformed(WireError::Truncated("arp")));
        s.record(&Outcome::Malformed(WireError::Truncated("arp")));
        let want = TrapStats {
            dhcp_offers: 1,
            dhcp_ignored: 1,
            own_address_requests: 1,
            malformed: 2,
            ..TrapStats::default()
        };
        assert_eq!(s, want);
        let mut total = TrapStats::default();
        total.add(&s);
        total.add(&s);
        assert_eq!(total.malformed, 4);
        assert_eq!(
            serde_json::to_value(s).unwrap()["dhcp_offers"],
            serde_json::json!(1)
        );
    }
}
