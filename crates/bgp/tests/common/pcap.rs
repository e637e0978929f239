//! Just enough pcap/pcapng reading for the tcpdump BGP captures: frames -> TCP payloads.

use std::net::IpAddr;

/// One TCP segment's payload with its endpoints.
pub struct Segment {
    pub frame: usize,
    pub src: (IpAddr, u16),
    pub dst: (IpAddr, u16),
    pub payload: Vec<u8>,
}

fn u16_at(b: &[u8], i: usize, le: bool) -> u16 {
    let v = [b[i], b[i + 1]];
    if le {
        u16::from_le_bytes(v)
    } else {
        u16::from_be_bytes(v)
    }
}
fn u32_at(b: &[u8], i: usize, le: bool) -> u32 {
    let v = [b[i], b[i + 1], b[i + 2], b[i + 3]];
    if le {
        u32::from_le_bytes(v)
    } else {
        u32::from_be_bytes(v)
    }
}

/// (link type, frame bytes) for every packet in a pcap or pcapng file.
pub fn frames(data: &[u8]) -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::new();
    if data.len() < 24 {
        return out;
    }
    let magic = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
    if magic == 0x0A0D0D0A {
        // pcapng
        let mut pos = 0;
        let mut le = true;
        let mut links: Vec<u32> = Vec::new();
        while pos + 12 <= data.len() {
            let bt = u32_at(data, pos, le);
            if bt == 0x0A0D0D0A {
                le = u32::from_le_bytes([
                    data[pos + 8],
                    data[pos + 9],
                    data[pos + 10],
                    data[pos + 11],
                ]) == 0x1A2B3C4D;
                links.clear();
            }
            let len = u32_at(data, pos + 4, le) as usize;
            if len < 12 || pos + len > data.len() {
                break;
            }
            let body = &data[pos + 8..pos + len - 4];
            match bt {
                1 => links.push(u32::from(u16_at(body, 0, le))),
                6 => {
                    let iface = u32_at(body, 0, le) as usize;
                    let cap = u32_at(body, 12, le) as usize;
                    if 20 + cap <= body.len() {
                        out.push((
                            links.get(iface).copied().unwrap_or(1),
                            body[20..20 + cap].to_vec(),
                        ));
                    }
                }
                _ => {}
            }
            pos += len;
        }
        return out;
    }
    let le = match magic {
        0xa1b2c3d4 | 0xa1b23c4d => true,
        0xd4c3b2a1 | 0x4d3cb2a1 => false,
        _ => return out,
    };
    let link = u32_at(data, 20, le);
    let mut pos = 24;
    while pos + 16 <= data.len() {
        let cap = u32_at(data, pos + 8, le) as usize;
        pos += 16;
        if pos + cap > data.len() {
            break;
        }
        out.push((link, data[pos..pos + cap].to_vec()));
        pos += cap;
    }
    out
}

/// The IP packet inside a link-layer frame.
fn ip_of(link: u32, f: &[u8]) -> Option<&[u8]> {
    match link {
        1 => {
            let mut et = u16::from_be_bytes([*f.get(12)?, *f.get(13)?]);
            let mut off = 14;
            while et == 0x8100 {
                et = u16::from_be_bytes([*f.get(off + 2)?, *f.get(off + 3)?]);
                off += 4;
            }
            f.get(off..)
        }
        9 => {
            // PPP in HDLC framing: ff 03 then the protocol.
            let off = if f.starts_with(&[0xff, 0x03]) { 4 } else { 2 };
            f.get(off..)
        }
        101 | 12 | 14 => Some(f),
        113 => f.get(16..),
        276 => f.get(20..),
        _ => None,
    }
}

/// Every TCP segment with a non-empty payload.
pub fn tcp_segments(data: &[u8]) -> Vec<Segment> {
    let mut out = Vec::new();
    for (i, (link, f)) in frames(data).into_iter().enumerate() {
        let Some(ip) = ip_of(link, &f) else { continue };
        let Some(&v) = ip.first() else { continue };
        let (src, dst, l4, proto) = match v >> 4 {
            4 if ip.len() >= 20 => {
                let ihl = usize::from(ip[0] & 0x0f) * 4;
                let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
                let s: [u8; 4] = ip[12..16].try_into().unwrap();
                let d: [u8; 4] = ip[16..20].try_into().unwrap();
                if ihl > total {
                    continue;
                }
                (IpAddr::from(s), IpAddr::from(d), &ip[ihl..total], ip[9])
            }
            6 if ip.len() >= 40 => {
                let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
                let s: [u8; 16] = ip[8..24].try_into().unwrap();
                let d: [u8; 16] = ip[24..40].try_into().unwrap();
                (
                    IpAddr::from(s),
                    IpAddr::from(d),
                    &ip[40..(40 + plen).min(ip.len())],
                    ip[6],
                )
            }
            _ => continue,
        };
        if proto != 6 || l4.len() < 20 {
            continue;
        }
        let off = usize::from(l4[12] >> 4) * 4;
        if off > l4.len() || off == l4.len() {
            continue;
        }
        out.push(Segment {
            frame: i + 1,
            src: (src, u16::from_be_bytes([l4[0], l4[1]])),
            dst: (dst, u16::from_be_bytes([l4[2], l4[3]])),
            payload: l4[off..].to_vec(),
        });
    }
    out
}
