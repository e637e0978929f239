//! A sample becomes rows: one `flow` row per direction (the reverse with addresses, ports
//! and networks swapped) and one `session` row per local endpoint (client for a local
//! source, server for a local destination). Pushes follow the column order of
//! [`crate::schema`].

use std::fmt::Write;
use std::net::IpAddr;

use crate::columns::Batch;
use crate::record::{FlowSide, SessionSample};

/// Formats into a reused buffer (no allocation per value once warm).
#[derive(Default)]
pub struct Scratch {
    a: String,
    b: String,
    c: String,
    d: String,
    e: String,
    f: String,
    g: String,
    h: String,
}

fn fill(buf: &mut String, v: impl std::fmt::Display) -> &str {
    buf.clear();
    let _ = write!(buf, "{v}");
    buf
}

fn uuid_str(buf: &mut String, u: u128) -> &str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.clear();
    for (i, byte) in u.to_be_bytes().iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            buf.push('-');
        }
        buf.push(HEX[(byte >> 4) as usize] as char);
        buf.push(HEX[(byte & 15) as usize] as char);
    }
    buf
}

fn ip_or_empty(buf: &mut String, ip: IpAddr) -> &str {
    if ip.is_unspecified() {
        buf.clear();
        return buf;
    }
    fill(buf, ip)
}

/// `pass`; `deny` when a policy rule refused it; `drop` for other refusals (no route,
/// spoofed source, ...).
fn action(s: &FlowSide) -> &'static str {
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
fn deciding_rule(s: &FlowSide) -> &str {
    [&s.fw_rule_uuid, &s.sg_rule_uuid, &s.nw_ace_uuid]
        .into_iter()
        .find(|r| !r.is_empty())
        .map_or("", |r| r.as_str())
}

#[allow(clippy::too_many_arguments)]
fn flow_row(b: &mut Batch, s: &SessionSample, side: &FlowSide, reverse: bool, x: &mut Scratch) {
    let (svn, sip, sport, dvn, dip, dport) = if reverse {
        (
            &s.dest_vn,
            s.dest_ip,
            s.dport,
            &s.source_vn,
            s.source_ip,
            s.sport,
        )
    } else {
        (
            &s.source_vn,
            s.source_ip,
            s.sport,
            &s.dest_vn,
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
        .str(&s.vrouter)
        .str(svn)
        .str(fill(&mut x.a, sip))
        .str(dvn)
        .str(fill(&mut x.b, dip))
        .int(s.protocol as i64)
        .int(sport as i64)
        .int(dport as i64)
        .int(src_local as i64)
        .str(uuid_str(&mut x.c, side.uuid))
        .int(s.setup_time as i64)
        .int(s.teardown_time as i64)
        .int(side.diff_packets as i64)
        .int(side.diff_bytes as i64)
        .int(side.packets as i64)
        .int(side.bytes as i64)
        .str(action(side))
        .str(&side.sg_rule_uuid)
        .str(&side.nw_ace_uuid)
        .str(&side.fw_rule_uuid)
        .str(&side.drop_reason)
        .str(&s.teardown_reason)
        .str(ip_or_empty(&mut x.d, s.vrouter_ip))
        .str(ip_or_empty(&mut x.e, s.other_vrouter_ip))
        .int(s.encap as i64)
        .int(side.underlay_source_port as i64)
        .str(&s.vmi)
        .int(0)
        .end();
}

fn session_row(b: &mut Batch, s: &SessionSample, client: bool, x: &mut Scratch) {
    let (vn, local, rvn, remote) = if client {
        (&s.source_vn, s.source_ip, &s.dest_vn, s.dest_ip)
    } else {
        (&s.dest_vn, s.dest_ip, &s.source_vn, s.source_ip)
    };
    let f = &s.forward;
    let none = FlowSide::default();
    let r = s.reverse.as_ref().unwrap_or(&none);
    let mut row = b
        .row()
        .int(s.t_us as i64)
        .str(if client { "client" } else { "server" })
        .int(0)
        .str(&s.vmi)
        .str(vn);
    // deployment .. remote_custom_tags: tags are not exported yet.
    for _ in 0..12 {
        row = row.str("");
    }
    let rev_uuid = if s.reverse.is_some() {
        uuid_str(&mut x.h, r.uuid)
    } else {
        ""
    };
    row.str(rvn)
        .str("")
        .str(deciding_rule(f))
        .str(&s.vrouter)
        .str(ip_or_empty(&mut x.d, s.vrouter_ip))
        .str(fill(&mut x.a, local))
        .int(s.protocol as i64)
        .int(s.dport as i64)
        .str(fill(&mut x.b, remote))
        .int(s.sport as i64)
        .str(uuid_str(&mut x.c, f.uuid))
        .str(action(f))
        .str(&f.sg_rule_uuid)
        .str(&f.nw_ace_uuid)
        .str(fill(&mut x.f, f.underlay_source_port))
        .str(&f.drop_reason)
        .str(rev_uuid)
        .str(if s.reverse.is_some() { action(r) } else { "" })
        .str(&r.sg_rule_uuid)
        .str(&r.nw_ace_uuid)
        .str(fill(&mut x.g, r.underlay_source_port))
        .str(&r.drop_reason)
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
        .str(&s.teardown_reason)
        .str(ip_or_empty(&mut x.e, s.other_vrouter_ip))
        .int(s.encap as i64)
        .end();
}

/// Appends the rows of `s` to the open batches.
pub fn ingest(flow: &mut Batch, session: &mut Batch, s: &SessionSample, x: &mut Scratch) {
    flow_row(flow, s, &s.forward, false, x);
    if let Some(r) = &s.reverse {
        flow_row(flow, s, r, true, x);
    }
    if s.source_local {
        session_row(session, s, true, x);
    }
    if s.dest_local {
        session_row(session, s, false, x);
    }
}
