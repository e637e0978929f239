//! Answers to what workloads ask of their network: DHCP, ARP, ping of the gateway, IPv6
//! neighbour and router discovery, and ICMP time exceeded for the packets whose TTL ends
//! at the vRouter. Pure: no I/O, no clock. The pipeline traps a frame
//! ([`TrapReason`]); the agent looks up the port it came in on, builds its [`PortView`]
//! from the config, and calls [`handle`], which returns the frames to send back out of
//! that port and what happened ([`Outcome`], which [`TrapStats::record`] counts).
//!
//! Contrail's agent (`src/vnsw/agent/services/`) is the reference for what is answered and
//! how: answers come from the vRouter MAC, DHCP always hands out the port's instance IP,
//! ARP for the gateway, the service address and remote workloads is proxied with the
//! vRouter MAC, the workload's own address is never answered.
//!
//! # Contract with the agent
//!
//! ```text
//! let view: PortView = /* from the VMI, its instance IP, the subnet and IPAM */;
//! let ctx = TrapContext { neighbors: &|addr| vrf_has_route(addr).then_some(view.vrouter_mac) };
//! let t = trap::handle(&view, reason, frame, &ctx);
//! stats.record(&t.outcome);
//! tracing::debug!(port = view.ifindex, ?t.outcome);
//! for f in t.replies { send(view.ifindex, f) }
//! ```
//!
//! Which frames reach `handle`: everything the pipeline traps from a workload port with
//! [`TrapReason::Arp`], [`TrapReason::Dhcp`], [`TrapReason::Ndisc`] and
//! [`TrapReason::TtlExpired`]; and ICMP echo requests addressed to the gateway or the service
//! address (and to [`VROUTER_LINK_LOCAL6`]), which the pipeline routes like any packet: the
//! agent installs a receive route for those addresses, as Contrail does, and passes what
//! arrives there with [`TrapReason::Host`]. A frame that does not fit its reason is counted
//! and not answered.

mod arp;
mod dhcp;
mod dhcp_options;
pub mod dhcp_wire;
mod dhcpv6;
pub mod dhcpv6_wire;
mod echo;
pub mod frame;
mod ndisc;
mod stats;

pub use ndisc::router_advertisement;
pub use stats::TrapStats;

use cirrus_dataplane::pipeline::TrapReason;
use cirrus_dataplane::pipeline::icmp_error::{time_exceeded_v4, time_exceeded_v6};
use cirrus_dataplane::tables::IfIndex;
use cirrus_dataplane::wire::{MacAddr, WireError};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The vRouter's MAC in Contrail (`00:00:5e:00:01:00`, the VRRP MAC of router id 0).
pub const CONTRAIL_VROUTER_MAC: MacAddr = MacAddr([0x00, 0x00, 0x5e, 0x00, 0x01, 0x00]);

/// The link-local address router advertisements come from (Contrail's
/// `PKT0_LINKLOCAL_ADDRESS`): IPv6 workloads' default route points at it, so neighbour
/// solicitations for it are answered too.
pub const VROUTER_LINK_LOCAL6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x5e00, 0x0100);

/// Lease of an address when the IPAM sets none: Contrail hands out infinite leases
/// (`0xffffffff`), so clients never renew.
pub const INFINITE_LEASE: u32 = u32::MAX;

/// A route handed to the workload by DHCP option 121 (the subnet's or IPAM's
/// `host_routes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostRoute {
    /// Destination prefix (host bits past `prefix_len` are ignored).
    pub prefix: Ipv4Addr,
    pub prefix_len: u8,
    /// Where to send it; `None` for the subnet's gateway (Contrail does the same when the
    /// host route's next hop is empty).
    pub nexthop: Option<Ipv4Addr>,
}

/// What a workload port's answers are made of: the agent fills it from the config
/// (virtual-machine-interface, its instance-ips, the virtual-network's IPAM subnet) and keeps
/// it per port. Every address is the workload network's, never the underlay's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortView {
    /// The pipeline interface the port is (for logs; answers go back out of it).
    pub ifindex: IfIndex,
    /// The workload's MAC (`virtual_machine_interface_mac_addresses`). DHCP answers only
    /// requests whose client hardware address is this one (Contrail: "incorrect MAC").
    pub mac: MacAddr,
    /// The MAC answers come from: the vRouter's ([`CONTRAIL_VROUTER_MAC`] in Contrail).
    pub vrouter_mac: MacAddr,
    /// Whether the subnet hands out addresses by DHCP (`ipam_subnets[].enable_dhcp`);
    /// when false DHCP requests are counted and not answered (ARP and ping still are).
    pub dhcp_enabled: bool,
    /// The port's IPv4 instance IP and its subnet's prefix length. DHCP offers exactly
    /// this; `None` (no IPv4 instance IP yet) leaves DHCP unanswered.
    pub ipv4: Option<(Ipv4Addr, u8)>,
    /// The subnet's default gateway (`default_gateway`): DHCP's router option, and ARP and
    /// ping to it are answered.
    pub gateway4: Option<Ipv4Addr>,
    /// The subnet's service address (`dns_server_address`, Contrail's DHCP server and DNS
    /// address): the DHCP server identifier and the source of DHCP answers; ARP and ping
    /// to it are answered. `None` makes the gateway serve in its place, as in Contrail.
    pub service_address4: Option<Ipv4Addr>,
    /// DNS servers for DHCP option 6, in order (the agent resolves Contrail's
    /// `ipam_dns_method`: the service address for default/virtual DNS, the tenant's servers
    /// for `tenant-dns-server`); empty sends no option.
    pub dns_servers4: Vec<Ipv4Addr>,
    /// The port's IPv6 instance IP and its subnet's prefix length: DHCPv6 hands out the
    /// address, the router advertisement the prefix.
    pub ipv6: Option<(Ipv6Addr, u8)>,
    /// The IPv6 subnet's gateway: neighbour solicitations and ping to it are answered, and
    /// router advertisements carry a default-router lifetime only when it is set.
    pub gateway6: Option<Ipv6Addr>,
    /// The IPv6 subnet's service address: answered to neighbour solicitation and ping.
    pub service_address6: Option<Ipv6Addr>,
    /// DNS servers for DHCPv6 (option 23), in order; empty sends no option.
    pub dns_servers6: Vec<Ipv6Addr>,
    /// Routes for DHCP option 121 (`host_routes` of the port, subnet or IPAM, whichever
    /// Contrail's precedence picks). When present a route to `0.0.0.0/0` via the gateway is
    /// added unless one is listed, since RFC 3442 clients ignore the router option then.
    pub host_routes: Vec<HostRoute>,
    /// Interface MTU for DHCP option 26 and the router advertisement's MTU option (the
    /// network's `virtual_network_properties.mtu`, or the IPAM's `interface-mtu` option).
    pub mtu: Option<u16>,
    /// Host name for DHCP option 12 (Contrail sends the VM's name).
    pub hostname: Option<String>,
    /// Domain name for DHCP option 15 (the virtual DNS's domain).
    pub domain: Option<String>,
    /// Lease time in seconds ([`INFINITE_LEASE`] for none); renewal (T1) and rebinding (T2)
    /// times are its 1/2 and 7/8 unless infinite.
    pub lease_seconds: u32,
}

impl PortView {
    /// A port with only its identity and no addresses: fill the rest field by field.
    pub fn new(ifindex: IfIndex, mac: MacAddr, vrouter_mac: MacAddr) -> Self {
        Self {
            ifindex,
            mac,
            vrouter_mac,
            dhcp_enabled: true,
            ipv4: None,
            gateway4: None,
            service_address4: None,
            dns_servers4: Vec::new(),
            ipv6: None,
            gateway6: None,
            service_address6: None,
            dns_servers6: Vec::new(),
            host_routes: Vec::new(),
            mtu: None,
            hostname: None,
            domain: None,
            lease_seconds: INFINITE_LEASE,
        }
    }

    /// The DHCP server's address: the service address, else the gateway.
    pub fn dhcp_server4(&self) -> Option<Ipv4Addr> {
        self.service_address4.or(self.gateway4)
    }

    /// Whether `a` is one of the vRouter's own IPv4 addresses in this network.
    fn is_router4(&self, a: Ipv4Addr) -> bool {
        Some(a) == self.gateway4 || Some(a) == self.service_address4
    }

    /// Whether `a` is the workload's own IPv6 address: its instance IP, or the link-local
    /// address its kernel derives from its MAC (modified EUI-64, RFC 4291 appendix A).
    fn is_own6(&self, a: Ipv6Addr) -> bool {
        if self.ipv6.map(|(x, _)| x) == Some(a) {
            return true;
        }
        let m = self.mac.0;
        let ll = Ipv6Addr::new(
            0xfe80,
            0,
            0,
            0,
            u16::from_be_bytes([m[0] ^ 0x02, m[1]]),
            u16::from_be_bytes([m[2], 0xff]),
            u16::from_be_bytes([0xfe, m[3]]),
            u16::from_be_bytes([m[4], m[5]]),
        );
        a == ll
    }

    /// Whether `a` is one of the vRouter's own IPv6 addresses in this network.
    fn is_router6(&self, a: Ipv6Addr) -> bool {
        a == VROUTER_LINK_LOCAL6 || Some(a) == self.gateway6 || Some(a) == self.service_address6
    }
}

/// Who else is reachable in a port's network: the agent answers from the port's VRF (a
/// route to the address, or a bridge entry for it).
pub trait Neighbors {
    /// The MAC to answer ARP / neighbour solicitation for `addr` with: the vRouter MAC for a
    /// routed address (Contrail's proxy ARP), or the remote workload's own MAC when the
    /// network bridges. `None` when the network has no route to it: no answer.
    fn resolve(&self, addr: IpAddr) -> Option<MacAddr>;
}

impl<F: Fn(IpAddr) -> Option<MacAddr>> Neighbors for F {
    fn resolve(&self, addr: IpAddr) -> Option<MacAddr> {
        self(addr)
    }
}

/// A network where nothing but the vRouter's own addresses answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNeighbors;

impl Neighbors for NoNeighbors {
    fn resolve(&self, _: IpAddr) -> Option<MacAddr> {
        None
    }
}

/// What a trap needs besides the port: the state of the port's network.
#[derive(Clone, Copy)]
pub struct TrapContext<'a> {
    pub neighbors: &'a dyn Neighbors,
}

impl Default for TrapContext<'static> {
    fn default() -> Self {
        Self {
            neighbors: &NoNeighbors,
        }
    }
}

/// The result of one trapped frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trapped {
    /// Ethernet frames to send out of the port the frame came in on, in order.
    pub replies: Vec<Vec<u8>>,
    /// What happened, for counters ([`TrapStats::record`]), logs and introspect.
    pub outcome: Outcome,
}

impl Trapped {
    fn answer(frame: Vec<u8>, outcome: Outcome) -> Self {
        Self {
            replies: vec![frame],
            outcome,
        }
    }
    fn silent(outcome: Outcome) -> Self {
        Self {
            replies: Vec::new(),
            outcome,
        }
    }
}

/// What became of a trapped frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// DISCOVER answered with an OFFER of `addr`.
    DhcpOffer { addr: Ipv4Addr },
    /// REQUEST answered with an ACK of `addr`.
    DhcpAck { addr: Ipv4Addr },
    /// INFORM answered with an ACK (options only).
    DhcpInformAck,
    /// REQUEST for another address than the port's: NAK.
    DhcpNak { requested: Ipv4Addr },
    /// The client gave its address back (no answer; the address stays the port's).
    DhcpRelease { addr: Ipv4Addr },
    /// The client declined the address (it found it in use).
    DhcpDecline { addr: Option<Ipv4Addr> },
    /// DHCPv6 SOLICIT answered with an ADVERTISE of `addr`.
    Dhcp6Advertise { addr: Ipv6Addr },
    /// DHCPv6 REQUEST, RENEW, REBIND (or a rapid-commit SOLICIT) answered with a REPLY
    /// binding `addr`.
    Dhcp6Reply { addr: Ipv6Addr },
    /// DHCPv6 INFORMATION-REQUEST answered (options only).
    Dhcp6InformReply,
    /// DHCPv6 CONFIRM answered: whether the client's addresses are on this link.
    Dhcp6Confirm { on_link: bool },
    /// DHCPv6 RELEASE answered (the address stays the port's).
    Dhcp6Release,
    /// DHCPv6 DECLINE answered.
    Dhcp6Decline,
    /// An ARP request answered: `target` is at `mac`.
    ArpReply { target: Ipv4Addr, mac: MacAddr },
    /// A gratuitous ARP or probe from the workload: seen, not answered.
    ArpGratuitous { addr: Ipv4Addr, mac: MacAddr },
    /// An ARP reply from the workload (an answer to the agent's own request).
    ArpReplySeen { addr: Ipv4Addr, mac: MacAddr },
    /// An echo request to a vRouter address answered.
    EchoReply { to: IpAddr },
    /// A neighbour solicitation answered for `target`.
    NeighborAdvert { target: Ipv6Addr },
    /// A router solicitation answered.
    RouterAdvert,
    /// ICMP time exceeded sent to `to`.
    TimeExceeded { to: IpAddr },
    /// Not answered, and why.
    Ignored(Ignored),
    /// A frame that is not what it claims (truncated, bad checksum, bad field): a counted
    /// drop.
    Malformed(WireError),
}

/// Why a well-formed trapped frame got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// The subnet has DHCP turned off.
    DhcpDisabled,
    /// The port has no IPv4 instance IP (or no gateway/service address to serve from).
    DhcpNoAddress,
    /// The client hardware address is not the port's MAC.
    DhcpWrongClient { chaddr: MacAddr },
    /// A REQUEST selecting another server's offer.
    DhcpOtherServer { server: Ipv4Addr },
    /// A DHCPv6 message for another server (its server identifier is not ours), or one
    /// that must not name a server and does.
    Dhcp6OtherServer,
    /// A message type a server does not answer (OFFER, ACK, ...), or plain BOOTP.
    DhcpUnexpected,
    /// ARP or neighbour solicitation for the workload's own address (never answered: the
    /// workload owns it).
    OwnAddress,
    /// ARP or ND for an address the network has no route to.
    Unresolved { addr: IpAddr },
    /// ARP or ND for a broadcast, multicast or zero address.
    InvalidTarget,
    /// An ICMP echo not addressed to a vRouter address, or ICMP that is not an echo
    /// request.
    NotForRouter,
    /// An ND message the vRouter does not answer (advertisements, redirects).
    NdUnexpected,
    /// The port has no IPv6 prefix to advertise.
    NoIpv6,
    /// Time exceeded not sent: the port has no gateway, or RFC 1812 / 4443 forbid an
    /// error about this packet.
    NoTimeExceeded,
    /// The frame does not carry what its trap reason says (e.g. a DHCP trap that is not
    /// UDP to port 67), or the reason is not one this module answers.
    WrongReason,
}

/// Answers one frame trapped on the port `view` describes; see the module documentation
/// for which frames come here. Never panics, whatever `frame` holds.
pub fn handle(view: &PortView, reason: TrapReason, frame: &[u8], ctx: &TrapContext) -> Trapped {
    let t = match reason {
        TrapReason::Arp => arp::handle(view, frame, ctx),
        TrapReason::Dhcp => dhcp::handle(view, frame),
        TrapReason::Ndisc => ndisc::handle(view, frame, ctx),
        TrapReason::Host => echo::handle(view, frame),
        TrapReason::TtlExpired => time_exceeded(view, frame),
    };
    tracing::trace!(port = view.ifindex, ?reason, outcome = ?t.outcome, "trap");
    t
}

/// ICMP(v6) time exceeded from the network's gateway, per `cirrus_dataplane`'s builders.
fn time_exceeded(view: &PortView, frame: &[u8]) -> Trapped {
    let reply = match frame.get(12..14) {
        Some([0x08, 0x00]) => view
            .gateway4
            .and_then(|g| time_exceeded_v4(frame, g, view.vrouter_mac)),
        Some([0x86, 0xdd]) => view
            .gateway6
            .or(view.ipv6.map(|_| VROUTER_LINK_LOCAL6))
            .and_then(|g| time_exceeded_v6(frame, g, view.vrouter_mac)),
        _ => None,
    };
    match reply {
        Some(f) => {
            // The answer goes to the sender: read its address back from the frame built.
            let to = match frame::ipv4(&f) {
                Ok(Some(v)) => IpAddr::V4(v.ip.dst),
                _ => match frame::ipv6(&f) {
                    Ok(Some(v)) => IpAddr::V6(v.ip.dst),
                    _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                },
            };
            Trapped::answer(f, Outcome::TimeExceeded { to })
        }
        None => Trapped::silent(Outcome::Ignored(Ignored::NoTimeExceeded)),
    }
}

#[cfg(test)]
pub(crate) mod test_support;
