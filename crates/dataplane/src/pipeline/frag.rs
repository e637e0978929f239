//! IPv4 fragment tracking: the first fragment records its ports under (src, dst, ident,
//! protocol) so later fragments (which carry no transport header) follow the same flow.
//! Bounded: when full, stale records are purged and otherwise new ones are refused (the
//! later fragments are then dropped with a counted reason, never mis-keyed).

use crate::hash::FastMap;

/// Seconds a record lives without a new fragment.
const FRAG_TIMEOUT: u32 = 30;

/// (source, destination, identification, protocol) of a datagram.
pub type FragKey = (u32, u32, u16, u8);

/// Records of first fragments seen.
pub struct FragTable {
    max: usize,
    map: FastMap<FragKey, (u16, u16, u32)>,
}

impl FragTable {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            map: FastMap::default(),
        }
    }
    /// Records a first fragment's ports; false when the table is full of live records.
    pub fn record(&mut self, key: FragKey, sport: u16, dport: u16, now: u32) -> bool {
        if self.map.len() >= self.max && !self.map.contains_key(&key) {
            self.map
                .retain(|_, v| now.saturating_sub(v.2) < FRAG_TIMEOUT);
            if self.map.len() >= self.max {
                return false;
            }
        }
        self.map.insert(key, (sport, dport, now));
        true
    }
    /// Ports of a later fragment's datagram; refreshes the record.
    pub fn ports(&mut self, key: FragKey, now: u32) -> Option<(u16, u16)> {
        let v = self.map.get_mut(&key)?;
        if now.saturating_sub(v.2) >= FRAG_TIMEOUT {
            return None;
        }
        v.2 = now;
        Some((v.0, v.1))
    }
}
