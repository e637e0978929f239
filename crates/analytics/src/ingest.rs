//! A sample becomes rows: one `flow` row per direction (the reverse with addresses, ports
//! and networks swapped) and one `session` row per local endpoint (client for a local
//! source, server for a local destination). Pushes follow the column order of
//! [`crate::schema`]. Nothing here allocates per row once the columns have seen their
//! values: each string field of a sample is looked up once in the store's
//! [`SampleDict`] and every column it goes to maps that id to its own through an array,
//! addresses and ports are formatted once per distinct value, flow uuids are kept as 16
//! bytes.

use std::fmt::Write;
use std::net::IpAddr;

use crate::columns::{Batch, RowWriter};
use crate::intern::{G_CLIENT, G_DENY, G_DROP, G_EMPTY, G_PASS, G_SERVER, SampleDict};
use crate::record::{FlowSideRef, SessionSampleRef};

/// An IPv4 address as a dictionary key (IPv6 addresses are formatted per row: a u128
/// cannot tell both families apart).
fn ip_key(ip: IpAddr) -> Option<u128> {
    match ip {
        IpAddr::V4(a) => Some(u32::from(a) as u128),
        IpAddr::V6(_) => None,
    }
}

fn ip_text(ip: IpAddr, empty_when_unspecified: bool) -> impl FnOnce(&mut String) {
    move |s: &mut String| {
        if !(empty_when_unspecified && ip.is_unspecified()) {
            let _ = write!(s, "{ip}");
        }
    }
}

/// `pass`; `deny` when a policy rule refused it; `drop` for other refusals (no route,
/// spoofed source, ...): as a [`SampleDict`] id of its text.
fn action(s: &FlowSideRef<'_>) -> (u32, &'static str) {
    if s.pass {
        (G_PASS, "pass")
    } else if !(s.nw_ace_uuid.is_empty() && s.sg_rule_uuid.is_empty() && s.fw_rule_uuid.is_empty())
    {
        (G_DENY, "deny")
    } else {
        (G_DROP, "drop")
    }
}

/// A string field of the sample with its [`SampleDict`] id.
#[derive(Clone, Copy)]
struct Str<'a>(u32, &'a str);

impl<'a> Str<'a> {
    fn of(d: &mut SampleDict, s: &'a str) -> Self {
        Str(d.id(s), s)
    }
}

const EMPTY: Str<'static> = Str(G_EMPTY, "");

/// The string fields of one direction.
#[derive(Clone, Copy)]
struct SideStrs<'a> {
    action: Str<'a>,
    sg_rule: Str<'a>,
    nw_ace: Str<'a>,
    fw_rule: Str<'a>,
    drop_reason: Str<'a>,
}

impl<'a> SideStrs<'a> {
    fn of(d: &mut SampleDict, s: &FlowSideRef<'a>) -> Self {
        let (a, text) = action(s);
        SideStrs {
            action: Str(a, text),
            sg_rule: Str::of(d, s.sg_rule_uuid),
            nw_ace: Str::of(d, s.nw_ace_uuid),
            fw_rule: Str::of(d, s.fw_rule_uuid),
            drop_reason: Str::of(d, s.drop_reason),
        }
    }

    /// The rule that decided, for the firewall column: the firewall rule, else the
    /// security-group rule, else the network-policy rule.
    fn deciding_rule(&self) -> Str<'a> {
        [self.fw_rule, self.sg_rule, self.nw_ace]
            .into_iter()
            .find(|r| !r.1.is_empty())
            .unwrap_or(EMPTY)
    }
}

/// Every string field of a sample, each looked up once.
struct Strs<'a> {
    epoch: u32,
    vrouter: Str<'a>,
    source_vn: Str<'a>,
    dest_vn: Str<'a>,
    vmi: Str<'a>,
    teardown_reason: Str<'a>,
    forward: SideStrs<'a>,
    reverse: Option<SideStrs<'a>>,
}

impl<'a> Strs<'a> {
    fn of(d: &mut SampleDict, s: &SessionSampleRef<'a>) -> Self {
        d.start_sample();
        Strs {
            vrouter: Str::of(d, s.vrouter),
            source_vn: Str::of(d, s.source_vn),
            dest_vn: Str::of(d, s.dest_vn),
            vmi: Str::of(d, s.vmi),
            teardown_reason: Str::of(d, s.teardown_reason),
            forward: SideStrs::of(d, &s.forward),
            reverse: s.reverse.as_ref().map(|r| SideStrs::of(d, r)),
            epoch: d.epoch(),
        }
    }
}

/// Pushes string fields by their sample id.
trait PushStr: Sized {
    fn s(self, epoch: u32, v: Str<'_>) -> Self;
}

impl PushStr for RowWriter<'_> {
    #[inline]
    fn s(self, epoch: u32, v: Str<'_>) -> Self {
        self.sample_str(v.0, epoch, v.1)
    }
}

fn flow_row(b: &mut Batch, s: &SessionSampleRef<'_>, x: &Strs<'_>, reverse: bool) {
    let (side, sx) = match (reverse, &s.reverse, &x.reverse) {
        (true, Some(r), Some(rx)) => (r, rx),
        _ => (&s.forward, &x.forward),
    };
    let (svn, sip, sport, dvn, dip, dport) = if reverse {
        (
            x.dest_vn,
            s.dest_ip,
            s.dport,
            x.source_vn,
            s.source_ip,
            s.sport,
        )
    } else {
        (
            x.source_vn,
            s.source_ip,
            s.sport,
            x.dest_vn,
            s.dest_ip,
            s.dport,
        )
    };
    // direction_ing: 1 when the flow enters the vrouter from a local port.
    let src_local = if reverse {
        s.dest_local
    } else {
        s.source_local
    };
    let g = x.epoch;
    b.row()
        .int(s.t_us as i64)
        .s(g, x.vrouter)
        .s(g, svn)
        .keyed(ip_key(sip), ip_text(sip, false))
        .s(g, dvn)
        .keyed(ip_key(dip), ip_text(dip, false))
        .int(s.protocol as i64)
        .int(sport as i64)
        .int(dport as i64)
        .int(src_local as i64)
        .uuid(Some(side.uuid))
        .int(s.setup_time as i64)
        .int(s.teardown_time as i64)
        .int(side.diff_packets as i64)
        .int(side.diff_bytes as i64)
        .int(side.packets as i64)
        .int(side.bytes as i64)
        .s(g, sx.action)
        .s(g, sx.sg_rule)
        .s(g, sx.nw_ace)
        .s(g, sx.fw_rule)
        .s(g, sx.drop_reason)
        .s(g, x.teardown_reason)
        .keyed(ip_key(s.vrouter_ip), ip_text(s.vrouter_ip, true))
        .keyed(
            ip_key(s.other_vrouter_ip),
            ip_text(s.other_vrouter_ip, true),
        )
        .int(s.encap as i64)
        .int(side.underlay_source_port as i64)
        .s(g, x.vmi)
        .int(0)
        .end();
}

fn port_text(p: u16) -> impl FnOnce(&mut String) {
    move |s: &mut String| {
        let _ = write!(s, "{p}");
    }
}

fn session_row(b: &mut Batch, s: &SessionSampleRef<'_>, x: &Strs<'_>, client: bool) {
    let (vn, local, rvn, remote) = if client {
        (x.source_vn, s.source_ip, x.dest_vn, s.dest_ip)
    } else {
        (x.dest_vn, s.dest_ip, x.source_vn, s.source_ip)
    };
    let f = &s.forward;
    let r = s.reverse.unwrap_or_default();
    let fx = &x.forward;
    let none = SideStrs {
        action: EMPTY,
        sg_rule: EMPTY,
        nw_ace: EMPTY,
        fw_rule: EMPTY,
        drop_reason: EMPTY,
    };
    let rx = x.reverse.as_ref().unwrap_or(&none);
    let g = x.epoch;
    let kind = if client {
        Str(G_CLIENT, "client")
    } else {
        Str(G_SERVER, "server")
    };
    let mut row = b
        .row()
        .int(s.t_us as i64)
        .s(g, kind)
        .int(0)
        .s(g, x.vmi)
        .s(g, vn);
    // deployment .. remote_custom_tags: tags are not exported yet.
    for _ in 0..12 {
        row = row.s(g, EMPTY);
    }
    row.s(g, rvn)
        .s(g, EMPTY)
        .s(g, fx.deciding_rule())
        .s(g, x.vrouter)
        .keyed(ip_key(s.vrouter_ip), ip_text(s.vrouter_ip, true))
        .keyed(ip_key(local), ip_text(local, false))
        .int(s.protocol as i64)
        .int(s.dport as i64)
        .keyed(ip_key(remote), ip_text(remote, false))
        .int(s.sport as i64)
        .uuid(Some(f.uuid))
        .s(g, fx.action)
        .s(g, fx.sg_rule)
        .s(g, fx.nw_ace)
        .keyed(
            Some(f.underlay_source_port as u128),
            port_text(f.underlay_source_port),
        )
        .s(g, fx.drop_reason)
        .uuid(s.reverse.map(|r| r.uuid))
        .s(g, rx.action)
        .s(g, rx.sg_rule)
        .s(g, rx.nw_ace)
        .keyed(
            Some(r.underlay_source_port as u128),
            port_text(r.underlay_source_port),
        )
        .s(g, rx.drop_reason)
        .int(0)
        .int(f.diff_bytes as i64)
        .int(f.diff_packets as i64)
        .int(f.diff_bytes as i64)
        .int(f.diff_packets as i64)
        .int(r.diff_bytes as i64)
        .int(r.diff_packets as i64)
        .int(r.diff_bytes as i64)
        .int(r.diff_packets as i64)
        .int(s.setup_time as i64)
        .int(s.teardown_time as i64)
        .s(g, x.teardown_reason)
        .keyed(
            ip_key(s.other_vrouter_ip),
            ip_text(s.other_vrouter_ip, true),
        )
        .int(s.encap as i64)
        .end();
}

/// Appends the rows of `s` to the open batches, its strings looked up in `dict`.
pub fn ingest(
    flow: &mut Batch,
    session: &mut Batch,
    dict: &mut SampleDict,
    s: &SessionSampleRef<'_>,
) {
    let x = Strs::of(dict, s);
    flow_row(flow, s, &x, false);
    if s.reverse.is_some() {
        flow_row(flow, s, &x, true);
    }
    if s.source_local {
        session_row(session, s, &x, true);
    }
    if s.dest_local {
        session_row(session, s, &x, false);
    }
}
