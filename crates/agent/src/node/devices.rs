//! Opening the devices of ports by name: real interfaces through one of packet-io's
//! backends, or in-memory devices for tests.

use std::collections::HashMap;

use cirrus_packet_io::af_packet_gso::{AfPacketGso, GsoConfig};
use cirrus_packet_io::device::{Device, DeviceError};
use cirrus_packet_io::memory::{MemDevice, MemPeer};

/// Opens a port's device by interface name.
pub trait Devices: Send {
    fn open(&mut self, name: &str) -> Result<Box<dyn Device>, DeviceError>;
}

/// Which packet-io backend to open interfaces with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Io {
    AfPacket,
    /// AF_PACKET with virtio-net headers: workloads keep their offloads on and TCP
    /// super-frames are cut to what crosses the fabric in one packet.
    AfPacketGso,
    Tpacket,
    AfXdp,
}

impl std::str::FromStr for Io {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "af-packet" => Ok(Io::AfPacket),
            "af-packet-gso" => Ok(Io::AfPacketGso),
            "tpacket" => Ok(Io::Tpacket),
            "af-xdp" => Ok(Io::AfXdp),
            o => Err(format!(
                "{o:?}: expected af-packet, af-packet-gso, tpacket or af-xdp"
            )),
        }
    }
}

/// Interfaces of this host, opened with one backend.
#[derive(Debug, Clone, Copy)]
pub struct SystemDevices {
    pub io: Io,
    /// How `AfPacketGso` cuts super-frames (from the fabric's MTU).
    pub gso: GsoConfig,
}

impl Devices for SystemDevices {
    fn open(&mut self, name: &str) -> Result<Box<dyn Device>, DeviceError> {
        use cirrus_packet_io::{af_packet::AfPacket, af_xdp::AfXdp, tpacket::TpacketV3};
        Ok(match self.io {
            Io::AfPacket => Box::new(AfPacket::open(name)?),
            Io::AfPacketGso => Box::new(AfPacketGso::open(name, self.gso)?),
            Io::Tpacket => Box::new(TpacketV3::open(name)?),
            Io::AfXdp => Box::new(AfXdp::open(name)?),
        })
    }
}

/// In-memory devices made beforehand, taken by name (each can be opened once).
#[derive(Default)]
pub struct MemDevices {
    devices: HashMap<String, MemDevice>,
}

impl MemDevices {
    /// Makes device `name` and returns its peer end.
    pub fn add(&mut self, name: &str) -> MemPeer {
        let (d, p) = MemDevice::pair(name, 4096);
        self.devices.insert(name.to_string(), d);
        p
    }
}

impl Devices for MemDevices {
    fn open(&mut self, name: &str) -> Result<Box<dyn Device>, DeviceError> {
        self.devices
            .remove(name)
            .map(|d| Box::new(d) as Box<dyn Device>)
            .ok_or_else(|| DeviceError::NoSuchInterface(name.to_string()))
    }
}
