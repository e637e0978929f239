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

/// A [`FlowSide`] borrowed from a wire frame (or from an owned side): the collector reads
/// records this way, with no allocation per string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowSideRef<'a> {
    pub uuid: u128,
    pub pass: bool,
    pub sg_rule_uuid: &'a str,
    pub nw_ace_uuid: &'a str,
    pub fw_rule_uuid: &'a str,
    pub drop_reason: &'a str,
    pub underlay_source_port: u16,
    pub bytes: u64,
    pub packets: u64,
    pub diff_bytes: u64,
    pub diff_packets: u64,
}

/// A [`SessionSample`] borrowed from a wire frame (or from an owned sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSampleRef<'a> {
    pub t_us: u64,
    pub event: Event,
    pub vrouter: &'a str,
    pub vrouter_ip: IpAddr,
    pub other_vrouter_ip: IpAddr,
    pub encap: Encap,
    pub source_vn: &'a str,
    pub source_ip: IpAddr,
    pub sport: u16,
    pub dest_vn: &'a str,
    pub dest_ip: IpAddr,
    pub dport: u16,
    pub protocol: u8,
    pub source_local: bool,
    pub dest_local: bool,
    pub vmi: &'a str,
    pub setup_time: u64,
    pub teardown_time: u64,
    pub teardown_reason: &'a str,
    pub forward: FlowSideRef<'a>,
    pub reverse: Option<FlowSideRef<'a>>,
}

impl FlowSide {
    pub fn as_ref(&self) -> FlowSideRef<'_> {
        FlowSideRef {
            uuid: self.uuid,
            pass: self.pass,
            sg_rule_uuid: &self.sg_rule_uuid,
            nw_ace_uuid: &self.nw_ace_uuid,
            fw_rule_uuid: &self.fw_rule_uuid,
            drop_reason: &self.drop_reason,
            underlay_source_port: self.underlay_source_port,
            bytes: self.bytes,
            packets: self.packets,
            diff_bytes: self.diff_bytes,
            diff_packets: self.diff_packets,
        }
    }
}

impl FlowSideRef<'_> {
    pub fn to_owned_side(&self) -> FlowSide {
        FlowSide {
            uuid: self.uuid,
            pass: self.pass,
            sg_rule_uuid: self.sg_rule_uuid.to_owned(),
            nw_ace_uuid: self.nw_ace_uuid.to_owned(),
            fw_rule_uuid: self.fw_rule_uuid.to_owned(),
            drop_reason: self.drop_reason.to_owned(),
            underlay_source_port: self.underlay_source_port,
            bytes: self.bytes,
            packets: self.packets,
            diff_bytes: self.diff_bytes,
            diff_packets: self.diff_packets,
        }
    }
}

impl SessionSample {
    pub fn as_ref(&self) -> SessionSampleRef<'_> {
        SessionSampleRef {
            t_us: self.t_us,
            event: self.event,
            vrouter: &self.vrouter,
            vrouter_ip: self.vrouter_ip,
            other_vrouter_ip: self.other_vrouter_ip,
            encap: self.encap,
            source_vn: &self.source_vn,
            source_ip: self.source_ip,
            sport: self.sport,
            dest_vn: &self.dest_vn,
            dest_ip: self.dest_ip,
            dport: self.dport,
            protocol: self.protocol,
            source_local: self.source_local,
            dest_local: self.dest_local,
            vmi: &self.vmi,
            setup_time: self.setup_time,
            teardown_time: self.teardown_time,
            teardown_reason: &self.teardown_reason,
            forward: self.forward.as_ref(),
            reverse: self.reverse.as_ref().map(FlowSide::as_ref),
        }
    }
}

impl SessionSampleRef<'_> {
    pub fn to_owned_sample(&self) -> SessionSample {
        SessionSample {
            t_us: self.t_us,
            event: self.event,
            vrouter: self.vrouter.to_owned(),
            vrouter_ip: self.vrouter_ip,
            other_vrouter_ip: self.other_vrouter_ip,
            encap: self.encap,
            source_vn: self.source_vn.to_owned(),
            source_ip: self.source_ip,
            sport: self.sport,
            dest_vn: self.dest_vn.to_owned(),
            dest_ip: self.dest_ip,
            dport: self.dport,
            protocol: self.protocol,
            source_local: self.source_local,
            dest_local: self.dest_local,
            vmi: self.vmi.to_owned(),
            setup_time: self.setup_time,
            teardown_time: self.teardown_time,
            teardown_reason: self.teardown_reason.to_owned(),
            forward: self.forward.to_owned_side(),
            reverse: self.reverse.as_ref().map(FlowSideRef::to_owned_side),
        }
    }
}
