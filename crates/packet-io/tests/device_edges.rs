//! The receive and send loops' one behaviour on the kernel backends (root; a veth pair
//! and a tap made by the test, removed on exit): a frame larger than a receive buffer is
//! dropped and counted, never handed on cut short (AF_PACKET, TPACKET_V3 and tap used to
//! pass it on truncated), a device opened on a jumbo link takes its frames whole, a frame
//! over the link MTU is dropped on send and counted (EMSGSIZE), and the frames around
//! them pass unchanged.

mod common;

use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::wire::*;
use cirrus_packet_io::af_packet::AfPacket;
use cirrus_packet_io::af_xdp::AfXdp;
use cirrus_packet_io::tap::Tap;
use cirrus_packet_io::tpacket::TpacketV3;
use cirrus_packet_io::{Device, DeviceCounters};
use common::lab::{Lab, can_run, run};
use std::time::{Duration, Instant};

const MAC_1: MacAddr = MacAddr([0x02, 0xed, 0, 0, 0, 1]);
const MAC_2: MacAddr = MacAddr([0x02, 0xed, 0, 0, 0, 2]);

/// A broadcast frame of `len` bytes (local experimental ethertype), filled with `fill`.
fn frame(len: usize, fill: u8) -> Vec<u8> {
    let mut f = vec![fill; len];
    EthernetRepr {
        src: MAC_1,
        dst: MacAddr::BROADCAST,
        ethertype: EtherType(0x88b5),
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    f
}

/// Everything `dev` receives within a second, by content.
fn receive_all(dev: &mut dyn Device, want: usize) -> Vec<Vec<u8>> {
    let (mut out, mut spare) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(1);
    while out.len() < want && Instant::now() < deadline {
        dev.recv_batch(&mut out, &mut spare, 32).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    // A little longer, so a frame that should not come has had its chance.
    std::thread::sleep(Duration::from_millis(20));
    dev.recv_batch(&mut out, &mut spare, 32).unwrap();
    // Only the test's frames (the kernel sends its own on a link that comes up).
    out.iter()
        .map(|p| p.data().to_vec())
        .filter(|f| f.get(12..14) == Some(&[0x88, 0xb5][..]))
        .collect()
}

fn send(dev: &mut dyn Device, frames: &[Vec<u8>]) -> usize {
    let bufs: Vec<PacketBuf> = frames.iter().map(|f| PacketBuf::from_frame(f)).collect();
    let refs: Vec<&PacketBuf> = bufs.iter().collect();
    dev.send_batch(&refs).unwrap()
}

/// A 3000-byte frame between two small ones, sent by `tx` (a packet socket on the link's
/// other end, MTU 9000), reaches `rx` as the two small ones only; `rx` counts the big one
/// as cut when the kernel handed it over (`counted`).
fn big_frame_is_dropped_not_cut(rx: &mut dyn Device, tx: &mut dyn Device, counted: bool) {
    let frames = vec![frame(100, 1), frame(3000, 2), frame(200, 3)];
    assert_eq!(send(tx, &frames), 3);
    let got = receive_all(rx, 2);
    assert_eq!(
        got,
        vec![frames[0].clone(), frames[2].clone()],
        "{}",
        rx.name()
    );
    let c = rx.counters();
    assert_eq!(
        (c.rx_frames >= 2, c.rx_truncated),
        (true, counted as u64),
        "{}: {c:?}",
        rx.name()
    );
}

/// Opens a device on the named interface.
type Open = fn(&str) -> Box<dyn Device>;

/// A veth pair `<prefix>e1`/`<prefix>e2` with both MTUs at `mtu`.
fn veth(lab: &mut Lab, mtu: u32) -> (String, String) {
    let (a, b) = lab.wire("e1", MAC_1, "e2", MAC_2).unwrap();
    for l in [&a, &b] {
        run("ip", &["link", "set", l, "mtu", &mtu.to_string()]).unwrap();
    }
    (a, b)
}

#[test]
fn af_packet_and_tpacket_take_jumbo_frames_whole_and_drop_what_does_not_fit() {
    if !can_run("af_packet_and_tpacket_take_jumbo_frames_whole_and_drop_what_does_not_fit") {
        return;
    }
    let mut lab = Lab::new("ea");
    let (a, b) = veth(&mut lab, 9000);
    let mtu = |m: &str| {
        for l in [&a, &b] {
            run("ip", &["link", "set", l, "mtu", m]).unwrap();
        }
    };
    let mut tx = AfPacket::open(&b).unwrap();
    // Opened while the link's MTU is 1500, their buffers are sized for it; the MTU then
    // grows under them. (One at a time: every socket on the link gets every frame.)
    let opens: [Open; 2] = [
        |n| Box::new(AfPacket::open(n).unwrap()),
        |n| Box::new(TpacketV3::open(n).unwrap()),
    ];
    for open in opens {
        mtu("1500");
        let mut rx = open(&a);
        mtu("9000");
        big_frame_is_dropped_not_cut(&mut *rx, &mut tx, true);
    }
    // Opened on the jumbo link, they take its frames whole.
    for open in opens {
        let mut rx = open(&a);
        let frames = vec![frame(100, 1), frame(3000, 2), frame(9014, 3)];
        assert_eq!(send(&mut tx, &frames), 3);
        assert_eq!(receive_all(&mut *rx, 3), frames, "{}", rx.name());
        assert_eq!(rx.counters().rx_truncated, 0);
    }
}

#[test]
fn af_xdp_never_hands_on_a_frame_larger_than_its_chunk() {
    if !can_run("af_xdp_never_hands_on_a_frame_larger_than_its_chunk") {
        return;
    }
    let mut lab = Lab::new("ex");
    let (a, b) = veth(&mut lab, 9000);
    let mut tx = AfPacket::open(&b).unwrap();
    // In copy mode the kernel drops it itself (it does not fit a UMEM chunk).
    big_frame_is_dropped_not_cut(&mut AfXdp::open(&a).unwrap(), &mut tx, false);
}

#[test]
fn tap_drops_big_frames_whole_and_counts_them() {
    if !can_run("tap_drops_big_frames_whole_and_counts_them") {
        return;
    }
    let mut lab = Lab::new("et");
    let name = format!("{}tap", lab.prefix);
    let mut tap = Tap::open(&name).unwrap();
    lab.adopt_link(&name);
    run("ip", &["link", "set", &name, "mtu", "9000"]).unwrap();
    run("ip", &["link", "set", &name, "up"]).unwrap();
    // What the kernel sends out of the tap, this process reads.
    let mut tx = AfPacket::open(&name).unwrap();
    big_frame_is_dropped_not_cut(&mut tap, &mut tx, true);
}

#[test]
fn frames_over_the_mtu_are_dropped_on_send_and_counted() {
    if !can_run("frames_over_the_mtu_are_dropped_on_send_and_counted") {
        return;
    }
    let mut lab = Lab::new("em");
    let (a, b) = veth(&mut lab, 1500);
    let mut rx = AfPacket::open(&b).unwrap();
    let frames = vec![frame(100, 1), frame(1600, 2), frame(200, 3)];
    for mut tx in [
        Box::new(AfPacket::open(&a).unwrap()) as Box<dyn Device>,
        Box::new(TpacketV3::open(&a).unwrap()),
    ] {
        assert_eq!(send(&mut *tx, &frames), 2, "{}", tx.name());
        let c = tx.counters();
        assert_eq!(
            c,
            DeviceCounters {
                tx_frames: 2,
                tx_oversized: 1,
                ..Default::default()
            }
        );
        assert_eq!(
            receive_all(&mut rx, 2),
            vec![frames[0].clone(), frames[2].clone()]
        );
    }
}
