//! A sample becomes rows: one `flow` row per direction (the reverse with addresses, ports
//! and networks swapped) and one `session` row per local endpoint (client for a local
//! source, server for a local destination). Pushes follow the column order of
//! [`crate::schema`]. Nothing here allocates per row once the columns have seen their
//! values: strings are borrowed from the frame and interned (a repeat of the previous
//! value skips the lookup), addresses and ports are formatted once per distinct value,
//! flow uuids are kept as 16 bytes.

use std::fmt::Write;
use std::net::IpAddr;

use crate::columns::Batch;
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
/// spoofed source, ...).
fn action(s: &FlowSideRef<'_>) -> &'static str {
    if s.pass {
        "pass"
    } else if !(s.nw_ace_uuid.is_empty() && s.sg_rule_uuid.is_empty() && s.fw_rule_uuid.is_empty())
    {
        "deny"
    } else {
        "drop"
    }
}

/// The rule that decided, for the firewall column: the firewall rule, else the
/// security-group rule, else the network-policy rule.
fn deciding_rule<'a>(s: &FlowSideRef<'a>) -> &'a str {
    [s.fw_rule_uuid, s.sg_rule_uuid, s.nw_ace_uuid]
        .into_iter()
        .find(|r| !r.is_empty())
        .unwrap_or("")
}

fn flow_row(b: &mut Batch, s: &SessionSampleRef<'_>, side: &FlowSideRef<'_>, reverse: bool) {
    let (svn, sip, sport, dvn, dip, dport) = if reverse {
        (
            s.dest_vn,
            s.dest_ip,
            s.dport,
            s.source_vn,
            s.source_ip,
            s.sport,
        )
    } else {
        (
            s.source_vn,
            s.source_ip,
            s.sport,
            s.dest_vn,
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
    b.row()
        .int(s.t_us as i64)
        .str(s.vrouter)
        .str(svn)
        .keyed(ip_key(sip), ip_text(sip, false))
        .str(dvn)
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
        .str(action(side))
        .str(side.sg_rule_uuid)
        .str(side.nw_ace_uuid)
        .str(side.fw_rule_uuid)
        .str(side.drop_reason)
        .str(s.teardown_reason)
        .keyed(ip_key(s.vrouter_ip), ip_text(s.vrouter_ip, true))
        .keyed(
            ip_key(s.other_vrouter_ip),
            ip_text(s.other_vrouter_ip, true),
        )
        .int(s.encap as i64)
        .int(side.underlay_source_port as i64)
        .str(s.vmi)
        .int(0)
        .end();
}

fn port_text(p: u16) -> impl FnOnce(&mut String) {
    move |s: &mut String| {
        let _ = write!(s, "{p}");
    }
}

fn session_row(b: &mut Batch, s: &SessionSampleRef<'_>, client: bool) {
    let (vn, local, rvn, remote) = if client {
        (s.source_vn, s.source_ip, s.dest_vn, s.dest_ip)
    } else {
        (s.dest_vn, s.dest_ip, s.source_vn, s.source_ip)
    };
    let f = &s.forward;
    let r = s.reverse.unwrap_or_default();
    let mut row = b
        .row()
        .int(s.t_us as i64)
        .str(if client { "client" } else { "server" })
        .int(0)
        .str(s.vmi)
        .str(vn);
    // deployment .. remote_custom_tags: tags are not exported yet.
    for _ in 0..12 {
        row = row.str("");
    }
    row.str(rvn)
        .str("")
        .str(deciding_rule(f))
        .str(s.vrouter)
        .keyed(ip_key(s.vrouter_ip), ip_text(s.vrouter_ip, true))
        .keyed(ip_key(local), ip_text(local, false))
        .int(s.protocol as i64)
        .int(s.dport as i64)
        .keyed(ip_key(remote), ip_text(remote, false))
        .int(s.sport as i64)
        .uuid(Some(f.uuid))
        .str(action(f))
        .str(f.sg_rule_uuid)
        .str(f.nw_ace_uuid)
        .keyed(
            Some(f.underlay_source_port as u128),
            port_text(f.underlay_source_port),
        )
        .str(f.drop_reason)
        .uuid(s.reverse.map(|r| r.uuid))
        .str(if s.reverse.is_some() { action(&r) } else { "" })
        .str(r.sg_rule_uuid)
        .str(r.nw_ace_uuid)
        .keyed(
            Some(r.underlay_source_port as u128),
            port_text(r.underlay_source_port),
        )
        .str(r.drop_reason)
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
        .str(s.teardown_reason)
        .keyed(
            ip_key(s.other_vrouter_ip),
            ip_text(s.other_vrouter_ip, true),
        )
        .int(s.encap as i64)
        .end();
}

/// Appends the rows of `s` to the open batches.
pub fn ingest(flow: &mut Batch, session: &mut Batch, s: &SessionSampleRef<'_>) {
    flow_row(flow, s, &s.forward, false);
    if let Some(r) = &s.reverse {
        flow_row(flow, s, r, true);
    }
    if s.source_local {
        session_row(session, s, true);
    }
    if s.dest_local {
        session_row(session, s, false);
    }
}
