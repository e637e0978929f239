//! An in-memory underlay for tests: the fabric devices of several vrouters joined as on
//! one switch, with each node's kernel answering ARP for its underlay address (as the
//! real kernel does on a shared fabric interface). A thread moves frames until dropped.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use cirrus_dataplane::wire::{EthernetFrame, MacAddr};
use cirrus_packet_io::memory::MemPeer;

use crate::fabric::arp;

/// A node on the fabric.
#[derive(Clone)]
pub struct FabricNode {
    pub peer: MemPeer,
    pub ip: Ipv4Addr,
    pub mac: MacAddr,
}

/// The running fabric.
pub struct MemFabric {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Frames moved between nodes.
    pub frames: Arc<AtomicU64>,
    /// Of which IPv4/UDP to port 6635 (MPLS over UDP) and 4789 (VXLAN).
    pub mpls_udp: Arc<AtomicU64>,
    pub vxlan: Arc<AtomicU64>,
}

/// The UDP destination port of an Ethernet/IPv4/UDP frame.
fn udp_dport(f: &[u8]) -> Option<u16> {
    (f.len() >= 38 && f[12..14] == [8, 0] && f[23] == 17).then(|| {
        let ihl = usize::from(f[14] & 0x0f) * 4;
        f.get(14 + ihl + 2..14 + ihl + 4)
            .map(|p| u16::from_be_bytes([p[0], p[1]]))
    })?
}

impl MemFabric {
    pub fn start(nodes: Vec<FabricNode>) -> MemFabric {
        let stop = Arc::new(AtomicBool::new(false));
        let frames = Arc::new(AtomicU64::new(0));
        let mpls_udp = Arc::new(AtomicU64::new(0));
        let vxlan = Arc::new(AtomicU64::new(0));
        let (s, n, mu, vx) = (
            stop.clone(),
            frames.clone(),
            mpls_udp.clone(),
            vxlan.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("mem-fabric".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    let mut moved = false;
                    for (i, from) in nodes.iter().enumerate() {
                        for f in from.peer.drain() {
                            moved = true;
                            n.fetch_add(1, Ordering::Relaxed);
                            match udp_dport(&f) {
                                Some(6635) => {
                                    mu.fetch_add(1, Ordering::Relaxed);
                                }
                                Some(4789) => {
                                    vx.fetch_add(1, Ordering::Relaxed);
                                }
                                _ => {}
                            }
                            // The target's kernel answers ARP for its address.
                            for to in &nodes {
                                if let Some((sip, smac)) = arp::request_for(&f, to.ip) {
                                    from.peer.inject(&arp::reply(to.mac, to.ip, smac, sip));
                                }
                            }
                            let Ok(eth) = EthernetFrame::new_checked(&f[..]) else {
                                continue;
                            };
                            let dst = eth.dst_addr();
                            for (j, to) in nodes.iter().enumerate() {
                                if j != i && (dst.is_multicast() || dst == to.mac) {
                                    to.peer.inject(&f);
                                }
                            }
                        }
                    }
                    if !moved {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
            })
            .expect("spawning the fabric thread");
        MemFabric {
            stop,
            thread: Some(thread),
            frames,
            mpls_udp,
            vxlan,
        }
    }
}

impl Drop for MemFabric {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
