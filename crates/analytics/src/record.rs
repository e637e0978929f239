//! The record a vrouter exports: one sample of a session (a flow and its reverse), as
//! Contrail's agent reports a `SessionEndpoint` with its forward and reverse `FlowLogData`
//! (field names in comments). A sample is taken when the flow is set up, every export
//! interval while it lives (counters as deltas since the previous sample) and when it is
//! torn down. The collector turns each into FlowSeries/FlowRecord rows (one per direction)
//! and SessionSeries/SessionRecord rows (one per local endpoint).

use std::net::{IpAddr, Ipv4Addr};

/// Why the sample was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Event {
    #[default]
    Setup = 0,
    Interval = 1,
    Teardown = 2,
}

impl Event {
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Event::Setup,
            1 => Event::Interval,
            2 => Event::Teardown,
            _ => return None,
        })
    }
}

/// The underlay encapsulation (`underlay_proto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Encap {
    /// Both ends on this vrouter: no tunnel.
    #[default]
    None = 0,
    MplsOverGre = 1,
    MplsOverUdp = 2,
    Vxlan = 3,
}

impl Encap {
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Encap::None,
            1 => Encap::MplsOverGre,
            2 => Encap::MplsOverUdp,
            3 => Encap::Vxlan,
            _ => return None,
        })
    }
}

/// One direction of the session (`FlowLogData` of the forward or reverse flow).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowSide {
    /// `flowuuid`.
    pub uuid: u128,
    /// `action`: true = pass, false = deny (drop).
    pub pass: bool,
    /// `sg_rule_uuid`: the security-group rule that decided ("" when none did).
    pub sg_rule_uuid: String,
    /// `nw_ace_uuid`: the network-policy ACL rule that decided.
    pub nw_ace_uuid: String,
    /// `security_policy_rule`: the firewall rule that decided.
    pub fw_rule_uuid: String,
    /// `drop_reason` ("" when passed).
    pub drop_reason: String,
    /// `underlay_source_port` (the tunnel's UDP source port, 0 without one).
    pub underlay_source_port: u16,
    /// Totals since setup (`bytes`, `packets`).
    pub bytes: u64,
    pub packets: u64,
    /// Since the previous sample (`diff_bytes`, `diff_packets`).
    pub diff_bytes: u64,
    pub diff_packets: u64,
}

/// One sample of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSample {
    /// When the sample was taken, microseconds since the epoch (`T`).
    pub t_us: u64,
    pub event: Event,
    /// `vrouter` (the exporting node's hostname) and `vrouter_ip` (its underlay address).
    pub vrouter: String,
    pub vrouter_ip: IpAddr,
    /// `other_vrouter_ip`: the far end's underlay address (unspecified when local).
    pub other_vrouter_ip: IpAddr,
    pub encap: Encap,
    /// Forward direction: `sourcevn`, `sourceip`, `sport`, `destvn`, `destip`, `dport`,
    /// `protocol`.
    pub source_vn: String,
    pub source_ip: IpAddr,
    pub sport: u16,
    pub dest_vn: String,
    pub dest_ip: IpAddr,
    pub dport: u16,
    pub protocol: u8,
    /// Which ends are ports of this vrouter (a client session for a local source, a
    /// server session for a local destination).
    pub source_local: bool,
    pub dest_local: bool,
    /// `vmi`: the port (virtual-machine-interface uuid) the flow counts against.
    pub vmi: String,
    /// `setup_time`, `teardown_time` (0 while alive), microseconds.
    pub setup_time: u64,
    pub teardown_time: u64,
    /// Why the flow was removed (`aged`, `evicted`, `policy-change`, ...; "" while alive).
    pub teardown_reason: String,
    pub forward: FlowSide,
    /// `None` when no reverse flow was installed (a denied first packet).
    pub reverse: Option<FlowSide>,
}

impl Default for SessionSample {
    fn default() -> Self {
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        SessionSample {
            t_us: 0,
            event: Event::Setup,
            vrouter: String::new(),
            vrouter_ip: any,
            other_vrouter_ip: any,
            encap: Encap::None,
            source_vn: String::new(),
            source_ip: any,
            sport: 0,
            dest_vn: String::new(),
            dest_ip: any,
            dport: 0,
            protocol: 0,
            source_local: false,
            dest_local: false,
            vmi: String::new(),
            setup_time: 0,
            teardown_time: 0,
            teardown_reason: String::new(),
            forward: FlowSide::default(),
            reverse: None,
        }
    }
}
