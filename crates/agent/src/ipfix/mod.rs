//! IPFIX export (RFC 7011, elements of RFC 7012/IANA) of the flow samples the exporter
//! takes (`crate::flow_export`), to any flow collector over UDP: `cirrus-vrouter --ipfix
//! HOST:PORT[,...]`. Each direction of a session sample is one data record: addresses,
//! ports, protocol, the byte and packet deltas since the previous sample, flow start and
//! end, why it ended, whether it was forwarded, and enterprise elements (under [`PEN`])
//! for what only Cirrus knows: the networks, the rules that decided, drop and teardown
//! reasons, the vrouter and the underlay. Templates lead every batch (one per export
//! interval), so a collector that starts late learns them within one interval.
//!
//! The sampler hands batches to a sender thread through a bounded queue; a batch that does
//! not fit is dropped and counted, and a failed send is counted, never retried or waited for.

pub mod wire;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use cirrus_analytics::record::{Encap, Event, FlowSide, SessionSample};

use wire::{
    DataRecordRepr, FieldSpec, MESSAGE_HEADER_LEN, Message, MessageRepr, SET_HEADER_LEN, SetRepr,
    TEMPLATE_SET_ID, TemplateRepr, VARLEN, Value,
};

/// The private enterprise number of Cirrus's own elements: 32473, the number RFC 5612
/// reserves for documentation, until the project registers its own.
pub const PEN: u32 = 32473;

/// Template ids: IPv4 and IPv6 flows.
pub const TEMPLATE_V4: u16 = 256;
pub const TEMPLATE_V6: u16 = 257;

/// The largest message sent: below any underlay's MTU, so no message is fragmented.
pub const MAX_MESSAGE: usize = 1400;

/// Cirrus's enterprise elements (ids under [`PEN`]).
pub mod element {
    /// The source's virtual network (fq name), string.
    pub const SOURCE_VN: u16 = 1;
    /// The destination's virtual network, string.
    pub const DEST_VN: u16 = 2;
    /// The network-policy rule uuid that decided, string.
    pub const NW_ACE_UUID: u16 = 3;
    /// The security-group rule uuid that decided, string.
    pub const SG_RULE_UUID: u16 = 4;
    /// The firewall rule uuid that decided, string.
    pub const FW_RULE_UUID: u16 = 5;
    /// Why the flow was dropped ("" when forwarded), string.
    pub const DROP_REASON: u16 = 6;
    /// Why the flow was torn down ("" while alive), string.
    pub const TEARDOWN_REASON: u16 = 7;
    /// The exporting vrouter's name, string.
    pub const VROUTER: u16 = 8;
    /// The underlay encapsulation (`MPLSoUDP`, `MPLSoGRE`, `VXLAN`, "" when local), string.
    pub const UNDERLAY_PROTO: u16 = 9;
    /// The far vrouter's underlay address (0.0.0.0 when local), ipv4Address.
    pub const OTHER_VROUTER_IP: u16 = 10;
}

/// IANA information elements used (RFC 7012 and the IANA registry).
mod iana {
    pub const OCTET_DELTA_COUNT: u16 = 1;
    pub const PACKET_DELTA_COUNT: u16 = 2;
    pub const PROTOCOL_IDENTIFIER: u16 = 4;
    pub const SOURCE_TRANSPORT_PORT: u16 = 7;
    pub const SOURCE_IPV4_ADDRESS: u16 = 8;
    pub const DESTINATION_TRANSPORT_PORT: u16 = 11;
    pub const DESTINATION_IPV4_ADDRESS: u16 = 12;
    pub const SOURCE_IPV6_ADDRESS: u16 = 27;
    pub const DESTINATION_IPV6_ADDRESS: u16 = 28;
    pub const FORWARDING_STATUS: u16 = 89;
    pub const FLOW_END_REASON: u16 = 136;
    pub const FLOW_START_MILLISECONDS: u16 = 152;
    pub const FLOW_END_MILLISECONDS: u16 = 153;
}

const fn fields(v6: bool) -> [FieldSpec; 21] {
    let a = if v6 { 16 } else { 4 };
    let (src, dst) = if v6 {
        (iana::SOURCE_IPV6_ADDRESS, iana::DESTINATION_IPV6_ADDRESS)
    } else {
        (iana::SOURCE_IPV4_ADDRESS, iana::DESTINATION_IPV4_ADDRESS)
    };
    [
        FieldSpec::iana(src, a),
        FieldSpec::iana(dst, a),
        FieldSpec::iana(iana::SOURCE_TRANSPORT_PORT, 2),
        FieldSpec::iana(iana::DESTINATION_TRANSPORT_PORT, 2),
        FieldSpec::iana(iana::PROTOCOL_IDENTIFIER, 1),
        FieldSpec::iana(iana::OCTET_DELTA_COUNT, 8),
        FieldSpec::iana(iana::PACKET_DELTA_COUNT, 8),
        FieldSpec::iana(iana::FLOW_START_MILLISECONDS, 8),
        FieldSpec::iana(iana::FLOW_END_MILLISECONDS, 8),
        FieldSpec::iana(iana::FLOW_END_REASON, 1),
        FieldSpec::iana(iana::FORWARDING_STATUS, 1),
        FieldSpec::enterprise(element::SOURCE_VN, VARLEN, PEN),
        FieldSpec::enterprise(element::DEST_VN, VARLEN, PEN),
        FieldSpec::enterprise(element::NW_ACE_UUID, VARLEN, PEN),
        FieldSpec::enterprise(element::SG_RULE_UUID, VARLEN, PEN),
        FieldSpec::enterprise(element::FW_RULE_UUID, VARLEN, PEN),
        FieldSpec::enterprise(element::DROP_REASON, VARLEN, PEN),
        FieldSpec::enterprise(element::TEARDOWN_REASON, VARLEN, PEN),
        FieldSpec::enterprise(element::VROUTER, VARLEN, PEN),
        FieldSpec::enterprise(element::UNDERLAY_PROTO, VARLEN, PEN),
        FieldSpec::enterprise(element::OTHER_VROUTER_IP, 4, PEN),
    ]
}

pub const FIELDS_V4: [FieldSpec; 21] = fields(false);
pub const FIELDS_V6: [FieldSpec; 21] = fields(true);

/// flowEndReason (IANA): why a record was exported.
pub fn flow_end_reason(s: &SessionSample) -> u8 {
    use crate::flow_export::teardown;
    if s.event != Event::Teardown {
        return 2; // activeTimeout: a periodic sample of a live flow
    }
    match s.teardown_reason.as_str() {
        teardown::AGED => 1,                        // idleTimeout
        teardown::TCP_FIN | teardown::TCP_RST => 3, // endOfFlowDetected
        _ => 4,                                     // forcedEnd
    }
}

/// forwardingStatus (RFC 7270): 64 forwarded, 129 dropped by an ACL (a policy, security
/// group or firewall rule), 128 dropped for another reason.
fn forwarding_status(side: &FlowSide) -> u8 {
    if side.pass {
        64
    } else if !side.sg_rule_uuid.is_empty()
        || !side.nw_ace_uuid.is_empty()
        || !side.fw_rule_uuid.is_empty()
    {
        129
    } else {
        128
    }
}

/// Contrail's names of the underlay encapsulations.
pub fn encap_name(e: Encap) -> &'static str {
    match e {
        Encap::None => "",
        Encap::MplsOverGre => "MPLSoGRE",
        Encap::MplsOverUdp => "MPLSoUDP",
        Encap::Vxlan => "VXLAN",
    }
}

/// The data records of one sample: the forward direction, then the reverse if installed.
/// Each with its template id.
pub fn records(s: &SessionSample) -> impl Iterator<Item = (u16, DataRecordRepr<'_>)> {
    let fwd = record(s, &s.forward, false);
    let rev = s.reverse.as_ref().map(|r| record(s, r, true));
    std::iter::once(fwd).chain(rev)
}

fn record<'a>(
    s: &'a SessionSample,
    side: &'a FlowSide,
    reverse: bool,
) -> (u16, DataRecordRepr<'a>) {
    let (src, dst, sport, dport, svn, dvn) = if reverse {
        (
            s.dest_ip,
            s.source_ip,
            s.dport,
            s.sport,
            &s.dest_vn,
            &s.source_vn,
        )
    } else {
        (
            s.source_ip,
            s.dest_ip,
            s.sport,
            s.dport,
            &s.source_vn,
            &s.dest_vn,
        )
    };
    // Both ends have one family; a mixed pair (never made by the dataplane) goes as v6.
    let v6 = src.is_ipv6() || dst.is_ipv6();
    let fam = |a: IpAddr| match (a, v6) {
        (IpAddr::V4(x), true) => IpAddr::V6(x.to_ipv6_mapped()),
        (a, _) => a,
    };
    let other = match s.other_vrouter_ip {
        IpAddr::V4(a) => a,
        IpAddr::V6(a) => a.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED),
    };
    let values = vec![
        Value::Ip(fam(src)),
        Value::Ip(fam(dst)),
        Value::U16(sport),
        Value::U16(dport),
        Value::U8(s.protocol),
        Value::U64(side.diff_bytes),
        Value::U64(side.diff_packets),
        Value::U64(s.setup_time / 1000),
        Value::U64(s.t_us / 1000),
        Value::U8(flow_end_reason(s)),
        Value::U8(forwarding_status(side)),
        Value::Str(svn),
        Value::Str(dvn),
        Value::Str(&side.nw_ace_uuid),
        Value::Str(&side.sg_rule_uuid),
        Value::Str(&side.fw_rule_uuid),
        Value::Str(&side.drop_reason),
        Value::Str(&s.teardown_reason),
        Value::Str(&s.vrouter),
        Value::Str(encap_name(s.encap)),
        Value::Ip(IpAddr::V4(other)),
    ];
    let id = if v6 { TEMPLATE_V6 } else { TEMPLATE_V4 };
    (id, DataRecordRepr { values })
}

/// Packs samples into messages of at most [`MAX_MESSAGE`] bytes; keeps the sequence number
/// (data records sent so far) of the transport session.
#[derive(Debug)]
pub struct Encoder {
    pub domain: u32,
    pub sequence: u32,
}

struct Building {
    buf: Vec<u8>,
    /// Where the open set's header is, and its id.
    set: Option<(usize, u16)>,
    records: u32,
}

impl Building {
    fn new(with_templates: bool) -> Self {
        let mut buf = vec![0u8; MESSAGE_HEADER_LEN];
        if with_templates {
            let t4 = TemplateRepr {
                id: TEMPLATE_V4,
                fields: &FIELDS_V4,
            };
            let t6 = TemplateRepr {
                id: TEMPLATE_V6,
                fields: &FIELDS_V6,
            };
            let len = SET_HEADER_LEN + t4.buffer_len() + t6.buffer_len();
            let at = buf.len();
            buf.resize(at + len, 0);
            SetRepr {
                id: TEMPLATE_SET_ID,
                length: len as u16,
            }
            .emit(&mut buf[at..]);
            let mut t = at + SET_HEADER_LEN;
            t4.emit(&mut buf[t..]);
            t += t4.buffer_len();
            t6.emit(&mut buf[t..]);
        }
        Building {
            buf,
            set: None,
            records: 0,
        }
    }

    fn close_set(&mut self) {
        if let Some((at, id)) = self.set.take() {
            let length = (self.buf.len() - at) as u16;
            SetRepr { id, length }.emit(&mut self.buf[at..]);
        }
    }

    fn finish(mut self, export_time: u32, sequence: u32, domain: u32) -> Vec<u8> {
        self.close_set();
        let length = self.buf.len() as u16;
        MessageRepr {
            length,
            export_time,
            sequence,
            domain,
        }
        .emit(&mut Message::new_unchecked(&mut self.buf[..]));
        self.buf
    }
}

impl Encoder {
    pub fn new(domain: u32) -> Self {
        Encoder {
            domain,
            sequence: 0,
        }
    }

    /// The messages carrying `samples`, templates first.
    pub fn encode(&mut self, samples: &[SessionSample], export_time: u32) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut m = Building::new(true);
        for s in samples {
            for (id, rec) in records(s) {
                let opens = m.set.is_none_or(|(_, open)| open != id);
                let need = rec.buffer_len() + if opens { SET_HEADER_LEN } else { 0 };
                if m.buf.len() + need > MAX_MESSAGE && m.records > 0 {
                    let n = m.records;
                    out.push(m.finish(export_time, self.sequence, self.domain));
                    self.sequence = self.sequence.wrapping_add(n);
                    m = Building::new(false);
                }
                if m.set.is_none_or(|(_, open)| open != id) {
                    m.close_set();
                    let at = m.buf.len();
                    m.buf.resize(at + SET_HEADER_LEN, 0);
                    m.set = Some((at, id));
                }
                let at = m.buf.len();
                m.buf.resize(at + rec.buffer_len(), 0);
                rec.emit(&mut m.buf[at..]);
                m.records += 1;
            }
        }
        let n = m.records;
        out.push(m.finish(export_time, self.sequence, self.domain));
        self.sequence = self.sequence.wrapping_add(n);
        out
    }
}

/// Counters, for introspect.
#[derive(Debug, Default, serde::Serialize)]
pub struct IpfixStats {
    /// Data records sent (to each collector once).
    pub records: AtomicU64,
    pub messages: AtomicU64,
    /// Samples dropped because the sender's queue was full.
    pub dropped: AtomicU64,
    /// Messages the socket refused.
    pub send_errors: AtomicU64,
}

/// Where to, and the observation domain (by default the vrouter's underlay address).
#[derive(Debug, Clone)]
pub struct IpfixConfig {
    pub collectors: Vec<SocketAddr>,
    pub domain: u32,
    /// Batches waiting for the sender; more are dropped and counted.
    pub queue: usize,
}

/// The sampler's side of the sender: hands over a batch or counts it dropped.
#[derive(Debug, Clone)]
pub struct IpfixSink {
    tx: SyncSender<Arc<Vec<SessionSample>>>,
    pub stats: Arc<IpfixStats>,
}

impl IpfixSink {
    /// Never blocks: a full queue drops the batch and counts its samples.
    pub fn offer(&self, batch: Arc<Vec<SessionSample>>) {
        let n = batch.len() as u64;
        if self.tx.try_send(batch).is_err() {
            self.stats.dropped.fetch_add(n, Ordering::Relaxed);
        }
    }
}

fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

fn send_loop(
    rx: Receiver<Arc<Vec<SessionSample>>>,
    cfg: IpfixConfig,
    sockets: Vec<(SocketAddr, UdpSocket)>,
    stats: Arc<IpfixStats>,
) {
    // One transport session per collector, all carrying the same messages: one sequence.
    let mut enc = Encoder::new(cfg.domain);
    while let Ok(batch) = rx.recv() {
        for msg in enc.encode(&batch, now_secs()) {
            let n = records_in(&msg);
            for (to, sock) in &sockets {
                match sock.send_to(&msg, to) {
                    Ok(_) => {
                        stats.messages.fetch_add(1, Ordering::Relaxed);
                        stats.records.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(e) => {
                        tracing::debug!(collector = %to, error = %e, "ipfix: send failed");
                        stats.send_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

/// The data records in a message this encoder made (for the counters).
fn records_in(msg: &[u8]) -> u64 {
    let Some(m) = Message::new_checked(msg) else {
        return 0;
    };
    let mut sets = m.sets();
    let mut n = 0;
    while let Some(s) = SetRepr::parse(sets) {
        let len = (s.length as usize).clamp(SET_HEADER_LEN, sets.len());
        if s.id == TEMPLATE_V4 || s.id == TEMPLATE_V6 {
            let fields = if s.id == TEMPLATE_V4 {
                &FIELDS_V4
            } else {
                &FIELDS_V6
            };
            n += count_records(&sets[SET_HEADER_LEN..len], fields);
        }
        sets = &sets[len..];
    }
    n
}

fn count_records(mut body: &[u8], fields: &[FieldSpec]) -> u64 {
    let mut n = 0;
    'records: while !body.is_empty() {
        let mut at = 0;
        for f in fields {
            let len = if f.length == VARLEN {
                match body.get(at) {
                    Some(255) => match body.get(at + 1..at + 3) {
                        Some(b) => 3 + u16::from_be_bytes([b[0], b[1]]) as usize,
                        None => break 'records,
                    },
                    Some(l) => 1 + *l as usize,
                    None => break 'records,
                }
            } else {
                f.length as usize
            };
            at += len;
        }
        if at > body.len() {
            break;
        }
        body = &body[at..];
        n += 1;
    }
    n
}

/// Why the exporter could not start.
#[derive(Debug, thiserror::Error)]
#[error("ipfix: binding a UDP socket for {to}: {source}")]
pub struct IpfixError {
    pub to: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

/// Binds one UDP socket per collector and starts the sender thread.
pub fn start(cfg: IpfixConfig) -> Result<IpfixSink, IpfixError> {
    let sockets = cfg
        .collectors
        .iter()
        .map(|to| {
            let any: SocketAddr = if to.is_ipv4() {
                (Ipv4Addr::UNSPECIFIED, 0).into()
            } else {
                (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
            };
            UdpSocket::bind(any)
                .map(|s| (*to, s))
                .map_err(|source| IpfixError { to: *to, source })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let stats = Arc::new(IpfixStats::default());
    let (tx, rx) = sync_channel(cfg.queue.max(1));
    let st = stats.clone();
    std::thread::Builder::new()
        .name("cirrus-ipfix".into())
        .spawn(move || send_loop(rx, cfg, sockets, st))
        .expect("spawning the ipfix sender");
    Ok(IpfixSink { tx, stats })
}

#[cfg(test)]
mod tests;
