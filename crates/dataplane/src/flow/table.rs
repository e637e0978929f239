//! Flow storage: a slab of entries with stable indices (the reverse entry is referred to
//! by index, as in Contrail) and an open-addressing index of (hash tag, slab index) words
//! with linear probing, kept at most half full so probes stay short. Removal shifts later
//! index words back instead of leaving tombstones, so lookups never degrade with churn.

use super::FlowKey;
use crate::drop::DropReason;
use crate::tables::{IfIndex, NhId};
use crate::wire::TcpFlags;

/// Index value meaning "no entry".
pub const NO_FLOW: u32 = u32::MAX;

/// At most this many per-protocol idle timeouts.
pub const MAX_PROTO_TIMEOUTS: usize = 8;

/// The idle timeout of established flows of one IP protocol, and of one port of it (the
/// service's: either end of the flow) unless `port` is 0, as an entry of Contrail's
/// `flow_aging_timeout_list` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtoTimeout {
    pub proto: u8,
    pub port: u16,
    pub secs: u32,
}

/// Sizing and ageing settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowConfig {
    /// Entries (not pairs) the table holds.
    pub max_entries: u32,
    /// Idle timeout for established flows, seconds (Contrail's default is 180).
    pub idle_timeout: u32,
    /// Idle timeout for flows whose action is drop, seconds.
    pub drop_timeout: u32,
    /// Timeout after FIN in both directions, seconds.
    pub closing_timeout: u32,
    /// How long a hold entry waits for the agent, seconds.
    pub hold_timeout: u32,
    /// Idle timeouts of established flows by protocol (and port), before `idle_timeout`:
    /// a protocol-and-port entry first, then a protocol-wide one.
    pub proto_timeouts: [Option<ProtoTimeout>; MAX_PROTO_TIMEOUTS],
}

impl Default for FlowConfig {
    fn default() -> Self {
        Self {
            max_entries: 1 << 16,
            idle_timeout: 180,
            drop_timeout: 30,
            closing_timeout: 2,
            hold_timeout: 5,
            proto_timeouts: [None; MAX_PROTO_TIMEOUTS],
        }
    }
}

/// What a flow entry does to its packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowVerdict {
    /// Waiting for the agent: packets are parked.
    Hold,
    Forward,
    Drop,
}

/// The agent-chosen treatment of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowSpec {
    pub verdict: FlowVerdict,
    /// Rewrite the source (address and port) to the reverse entry's destination.
    pub nat_src: bool,
    /// Rewrite the destination (address and port) to the reverse entry's source.
    pub nat_dst: bool,
    /// Mirror nexthop (0 = none): a copy of each packet is sent there too.
    pub mirror: NhId,
    /// VRF the route lookup happens in after the flow (e.g. a floating IP's network).
    pub dst_vrf: u16,
}

impl FlowSpec {
    pub fn forward(dst_vrf: u16) -> Self {
        Self {
            verdict: FlowVerdict::Forward,
            nat_src: false,
            nat_dst: false,
            mirror: 0,
            dst_vrf,
        }
    }
    pub fn drop() -> Self {
        Self {
            verdict: FlowVerdict::Drop,
            ..Self::forward(0)
        }
    }
}

/// One direction of a flow: exactly one cache line, holding everything a hit reads and
/// writes, so a hit costs one line (plus the index word). Rarely used fields live in a
/// parallel [`FlowCold`] array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct FlowEntry {
    pub key: FlowKey,
    /// Index of the paired entry, [`NO_FLOW`] while held.
    pub rev: u32,
    /// ECMP member (or nexthop) pinned on first use, 0 until then.
    pub nh: NhId,
    pub last_seen: u32,
    /// Low 32 bits of the counters; carries go to [`FlowCold`].
    packets: u32,
    bytes: u32,
    pub dst_vrf: u16,
    /// bits 0-1 verdict (0 = free slot), 2 NAT source, 3 NAT destination, 4 mirror,
    /// 8-15 TCP flags seen in this direction.
    flags: u16,
}

/// The rarely read part of a flow entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowCold {
    pub ingress: IfIndex,
    pub mirror: NhId,
    packets_hi: u32,
    bytes_hi: u32,
}

const V_FREE: u16 = 0;
const V_HOLD: u16 = 1;
const V_FWD: u16 = 2;
const V_DROP: u16 = 3;
const F_NAT_SRC: u16 = 1 << 2;
const F_NAT_DST: u16 = 1 << 3;
const F_MIRROR: u16 = 1 << 4;

/// What a hit needs to know, read from the entry while it was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowHit {
    pub verdict: FlowVerdict,
    pub dst_vrf: u16,
    pub nh: NhId,
    pub rev: u32,
    pub nat_src: bool,
    pub nat_dst: bool,
    pub mirror: bool,
}

impl FlowEntry {
    const FREE: Self = Self {
        key: FlowKey::ZERO,
        rev: NO_FLOW,
        nh: 0,
        last_seen: 0,
        packets: 0,
        bytes: 0,
        dst_vrf: 0,
        flags: V_FREE,
    };

    fn new(key: FlowKey, spec: FlowSpec, now: u32) -> Self {
        let mut e = Self {
            key,
            last_seen: now,
            flags: V_HOLD,
            ..Self::FREE
        };
        e.apply(spec);
        e
    }
    fn apply(&mut self, s: FlowSpec) {
        let v = match s.verdict {
            FlowVerdict::Hold => V_HOLD,
            FlowVerdict::Forward => V_FWD,
            FlowVerdict::Drop => V_DROP,
        };
        self.flags = (self.flags & 0xff00)
            | v
            | if s.nat_src { F_NAT_SRC } else { 0 }
            | if s.nat_dst { F_NAT_DST } else { 0 }
            | if s.mirror != 0 { F_MIRROR } else { 0 };
        self.dst_vrf = s.dst_vrf;
    }
    #[inline]
    fn is_live(&self) -> bool {
        self.flags & 3 != V_FREE
    }
    #[inline]
    pub fn verdict(&self) -> FlowVerdict {
        match self.flags & 3 {
            V_FWD => FlowVerdict::Forward,
            V_DROP => FlowVerdict::Drop,
            _ => FlowVerdict::Hold,
        }
    }
    #[inline]
    pub fn nat_src(&self) -> bool {
        self.flags & F_NAT_SRC != 0
    }
    #[inline]
    pub fn nat_dst(&self) -> bool {
        self.flags & F_NAT_DST != 0
    }
    /// TCP flags seen in this direction, OR-ed (for closing/reset ageing).
    #[inline]
    pub fn tcp_flags(&self) -> u8 {
        (self.flags >> 8) as u8
    }
}

/// Why a flow could not be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    #[error("flow table full ({0} entries)")]
    Full(u32),
    #[error("interface {0} reached its flow limit")]
    Limit(IfIndex),
    #[error("flow {0:?} already exists")]
    Exists(FlowKey),
    #[error("flow index {0} does not hold the expected held flow")]
    Stale(u32),
}

impl From<FlowError> for DropReason {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::Limit(_) => DropReason::FlowLimit,
            _ => DropReason::FlowTableFull,
        }
    }
}

/// Slab of entries plus the hash index.
pub struct FlowTable {
    cfg: FlowConfig,
    entries: Vec<FlowEntry>,
    cold: Vec<FlowCold>,
    free: Vec<u32>,
    index: Vec<u64>,
    mask: usize,
    live: u32,
    per_if: Vec<u32>,
    age_cursor: usize,
}

impl FlowTable {
    pub fn new(cfg: FlowConfig) -> Self {
        let slots = (cfg.max_entries as usize * 2).next_power_of_two().max(16);
        Self {
            cfg,
            // Reserved up front (pages are only touched as entries are used) so that a flow
            // miss never reallocates, and copies, the whole table on the hot path.
            entries: Vec::with_capacity(cfg.max_entries as usize),
            cold: Vec::with_capacity(cfg.max_entries as usize),
            free: Vec::new(),
            index: vec![0; slots],
            mask: slots - 1,
            live: 0,
            per_if: Vec::new(),
            age_cursor: 0,
        }
    }

    pub fn config(&self) -> &FlowConfig {
        &self.cfg
    }

    /// Changes the idle timeouts of established flows: `secs` for all, and those of
    /// `by_proto` (at most [`MAX_PROTO_TIMEOUTS`]; Contrail's `flow_aging_timeout_list` in
    /// `global-vrouter-config`). Live entries age by them from the next scan on.
    pub fn set_idle_timeouts(&mut self, secs: u32, by_proto: &[ProtoTimeout]) {
        self.cfg.idle_timeout = secs;
        self.cfg.proto_timeouts = [None; MAX_PROTO_TIMEOUTS];
        for (slot, t) in self.cfg.proto_timeouts.iter_mut().zip(by_proto) {
            *slot = Some(*t);
        }
    }

    /// The idle timeout of an established flow with this key.
    fn idle_timeout_of(&self, k: &FlowKey) -> u32 {
        let proto = k.proto().0;
        let mut wide = None;
        for t in self.cfg.proto_timeouts.iter().flatten() {
            if t.proto != proto {
                continue;
            }
            if t.port == 0 {
                wide.get_or_insert(t.secs);
            } else if t.port == k.dport() || t.port == k.sport() {
                return t.secs;
            }
        }
        wide.unwrap_or(self.cfg.idle_timeout)
    }
    /// Live entries.
    pub fn len(&self) -> usize {
        self.live as usize
    }
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }
    /// Live entries created by traffic from `ifindex`.
    pub fn count_for(&self, ifindex: IfIndex) -> u32 {
        self.per_if.get(ifindex as usize).copied().unwrap_or(0)
    }
    /// Address ranges of the table's large arrays (hash index, entry slab), as
    /// (address, bytes), for the caller to ask the OS for huge pages on them (this crate
    /// makes no system calls). With 4 KiB pages nearly every flow of a large table costs
    /// a TLB miss besides its cache misses.
    pub fn hot_regions(&self) -> [(usize, usize); 2] {
        [
            (self.index.as_ptr() as usize, self.index.len() * 8),
            (
                self.entries.as_ptr() as usize,
                self.entries.capacity() * std::mem::size_of::<FlowEntry>(),
            ),
        ]
    }

    /// Bytes held by the table's storage (index + slab), for memory-per-flow reports.
    pub fn memory_bytes(&self) -> usize {
        self.index.len() * 8
            + self.entries.capacity() * std::mem::size_of::<FlowEntry>()
            + self.cold.capacity() * std::mem::size_of::<FlowCold>()
    }

    #[inline]
    pub fn get(&self, idx: u32) -> Option<&FlowEntry> {
        self.entries.get(idx as usize).filter(|e| e.is_live())
    }
    #[inline]
    fn get_mut(&mut self, idx: u32) -> Option<&mut FlowEntry> {
        self.entries.get_mut(idx as usize).filter(|e| e.is_live())
    }
    /// The cold part of a live entry (ingress interface, mirror nexthop).
    #[inline]
    pub fn cold(&self, idx: u32) -> Option<&FlowCold> {
        self.get(idx)?;
        self.cold.get(idx as usize)
    }
    /// (packets, bytes) counted on an entry.
    pub fn counters(&self, idx: u32) -> (u64, u64) {
        match (self.get(idx), self.cold.get(idx as usize)) {
            (Some(e), Some(c)) => (
                ((c.packets_hi as u64) << 32) | e.packets as u64,
                ((c.bytes_hi as u64) << 32) | e.bytes as u64,
            ),
            _ => (0, 0),
        }
    }
    /// Pins the nexthop a flow's packets take (ECMP member chosen on first use).
    #[inline]
    pub fn pin_nexthop(&mut self, idx: u32, nh: NhId) {
        if let Some(e) = self.get_mut(idx) {
            e.nh = nh;
        }
    }

    /// Reads the index word a lookup of `hash` starts at (cache warming; see
    /// `pipeline::warm`).
    #[inline]
    pub fn warm_index(&self, hash: u64) -> u64 {
        self.index[hash as usize & self.mask]
    }

    /// Reads the entry a lookup of `hash` would compare first: the one behind the first
    /// index word with a matching tag (cache warming; the index words were warmed by
    /// [`Self::warm_index`], so the short probe here hits the cache). Returns the entry's
    /// pinned nexthop so that can be warmed next.
    #[inline]
    pub fn warm_entry(&self, hash: u64) -> u32 {
        let tag = hash >> 32;
        let mut i = hash as usize & self.mask;
        for _ in 0..8 {
            let s = self.index[i];
            if s == 0 {
                return 0;
            }
            if s >> 32 == tag {
                return match self.entries.get((s as u32).wrapping_sub(1) as usize) {
                    Some(e) => e.nh,
                    None => 0,
                };
            }
            i = (i + 1) & self.mask;
        }
        0
    }

    /// Finds the entry for `key`, whose [`FlowKey::hash`] is `hash`.
    #[inline]
    pub fn lookup(&self, key: &FlowKey, hash: u64) -> Option<u32> {
        let tag = hash >> 32;
        let mut i = hash as usize & self.mask;
        loop {
            let s = self.index[i];
            if s == 0 {
                return None;
            }
            if s >> 32 == tag {
                let idx = (s as u32).wrapping_sub(1);
                if let Some(e) = self.entries.get(idx as usize)
                    && e.key == *key
                    && e.is_live()
                {
                    return Some(idx);
                }
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Inserts one entry (unpaired). Fails when full or over the interface's limit.
    #[inline]
    pub fn insert(
        &mut self,
        key: FlowKey,
        ingress: IfIndex,
        spec: FlowSpec,
        limit: u32,
        now: u32,
    ) -> Result<u32, FlowError> {
        let hash = key.hash();
        if self.lookup(&key, hash).is_some() {
            return Err(FlowError::Exists(key));
        }
        if self.live >= self.cfg.max_entries {
            return Err(FlowError::Full(self.cfg.max_entries));
        }
        if limit != 0 && self.count_for(ingress) >= limit {
            return Err(FlowError::Limit(ingress));
        }
        let e = FlowEntry::new(key, spec, now);
        let c = FlowCold {
            ingress,
            mirror: spec.mirror,
            packets_hi: 0,
            bytes_hi: 0,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.entries[i as usize] = e;
                self.cold[i as usize] = c;
                i
            }
            None => {
                self.entries.push(e);
                self.cold.push(c);
                (self.entries.len() - 1) as u32
            }
        };
        let mut i = hash as usize & self.mask;
        while self.index[i] != 0 {
            i = (i + 1) & self.mask;
        }
        self.index[i] = (hash >> 32) << 32 | (idx as u64 + 1);
        self.live += 1;
        if self.per_if.len() <= ingress as usize {
            self.per_if.resize(ingress as usize + 1, 0);
        }
        self.per_if[ingress as usize] += 1;
        Ok(idx)
    }

    /// Installs a forward/reverse pair at once (agent-initiated, or by a decision).
    #[allow(clippy::too_many_arguments)]
    pub fn install_pair(
        &mut self,
        fwd: FlowKey,
        fwd_spec: FlowSpec,
        rev: FlowKey,
        rev_spec: FlowSpec,
        ingress: IfIndex,
        limit: u32,
        now: u32,
    ) -> Result<(u32, u32), FlowError> {
        if self.live + 2 > self.cfg.max_entries {
            return Err(FlowError::Full(self.cfg.max_entries));
        }
        let f = self.insert(fwd, ingress, fwd_spec, limit, now)?;
        let r = match self.insert(rev, ingress, rev_spec, 0, now) {
            Ok(r) => r,
            Err(e) => {
                self.remove(f);
                return Err(e);
            }
        };
        self.pair(f, r);
        Ok((f, r))
    }

    fn pair(&mut self, f: u32, r: u32) {
        if let Some(e) = self.get_mut(f) {
            e.rev = r;
        }
        if let Some(e) = self.get_mut(r) {
            e.rev = f;
        }
    }

    /// Applies the agent's decision to a held entry and installs its reverse entry.
    pub fn resolve(
        &mut self,
        idx: u32,
        key: &FlowKey,
        fwd_spec: FlowSpec,
        reverse: Option<(FlowKey, FlowSpec)>,
        now: u32,
    ) -> Result<(), FlowError> {
        let ingress = match self.get(idx) {
            Some(e) if e.key == *key && e.verdict() == FlowVerdict::Hold => {
                self.cold[idx as usize].ingress
            }
            _ => return Err(FlowError::Stale(idx)),
        };
        if let Some(e) = self.get_mut(idx) {
            e.apply(fwd_spec);
            e.last_seen = now;
        }
        self.cold[idx as usize].mirror = fwd_spec.mirror;
        if let Some((rk, rs)) = reverse {
            // An existing entry for the reverse key (e.g. a stale one) is replaced.
            if let Some(old) = self.lookup(&rk, rk.hash()) {
                self.remove_pair(old);
            }
            match self.insert(rk, ingress, rs, 0, now) {
                Ok(r) => self.pair(idx, r),
                Err(e) => {
                    self.remove(idx);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Removes one entry (its partner, if any, is unpaired).
    pub fn remove(&mut self, idx: u32) -> Option<FlowEntry> {
        let e = *self.get(idx)?;
        self.entries[idx as usize] = FlowEntry::FREE;
        let ingress = self.cold[idx as usize].ingress;
        if let Some(p) = self.get_mut(e.rev)
            && p.rev == idx
        {
            p.rev = NO_FLOW;
        }
        // Find its index word, then shift the rest of the probe run back over the hole.
        let mut i = e.key.hash() as usize & self.mask;
        // Bounded by the index size: a live entry is always indexed, so this only guards
        // against looping forever should that invariant ever break.
        for _ in 0..=self.mask {
            if (self.index[i] as u32).wrapping_sub(1) == idx {
                break;
            }
            i = (i + 1) & self.mask;
        }
        debug_assert_eq!(
            (self.index[i] as u32).wrapping_sub(1),
            idx,
            "flow {idx} not indexed"
        );
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & self.mask;
            let s = self.index[j];
            if s == 0 {
                break;
            }
            let home = match self.get((s as u32).wrapping_sub(1)) {
                Some(o) => o.key.hash() as usize & self.mask,
                None => j,
            };
            // Move s into the hole unless its home lies cyclically in (hole, j].
            let in_range = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !in_range {
                self.index[hole] = s;
                hole = j;
            }
        }
        self.index[hole] = 0;
        self.free.push(idx);
        self.live -= 1;
        if let Some(c) = self.per_if.get_mut(ingress as usize) {
            *c = c.saturating_sub(1);
        }
        Some(e)
    }

    /// Removes an entry and its partner.
    pub fn remove_pair(&mut self, idx: u32) -> Vec<FlowEntry> {
        let mut out = Vec::new();
        if let Some(e) = self.remove(idx) {
            if let Some(r) = self.remove(e.rev) {
                out.push(r);
            }
            out.push(e);
        }
        out
    }

    /// Counts a packet on an entry and notes its TCP flags.
    #[inline]
    pub fn touch(&mut self, idx: u32, bytes: usize, tcp: Option<TcpFlags>, now: u32) {
        let Some(e) = self.entries.get_mut(idx as usize).filter(|e| e.is_live()) else {
            return;
        };
        e.last_seen = now;
        if let Some(f) = tcp {
            e.flags |= (f.0 as u8 as u16) << 8;
        }
        let (p, cp) = e.packets.overflowing_add(1);
        let (b, cb) = e.bytes.overflowing_add(bytes as u32);
        e.packets = p;
        e.bytes = b;
        if cp || cb {
            let c = &mut self.cold[idx as usize];
            c.packets_hi += cp as u32;
            c.bytes_hi += cb as u32;
        }
    }

    /// The fast path's flow stage in one call: finds `key`, and when its entry forwards
    /// without NAT or mirroring and `accept` (given the pinned nexthop, 0 when none yet)
    /// says yes, counts the packet and returns what `accept` gave. Otherwise nothing is
    /// changed and the result is `None`.
    #[inline(always)]
    pub fn hit_plain<R>(
        &mut self,
        key: &FlowKey,
        hash: u64,
        bytes: usize,
        tcp: Option<TcpFlags>,
        now: u32,
        accept: impl FnOnce(NhId) -> Option<R>,
    ) -> Option<R> {
        let idx = self.lookup(key, hash)?;
        let e = self.entries.get_mut(idx as usize)?;
        if e.flags & (3 | F_NAT_SRC | F_NAT_DST | F_MIRROR) != V_FWD {
            return None;
        }
        let r = accept(e.nh)?;
        e.last_seen = now;
        e.flags |= tcp.map_or(0, |f| (f.0 as u8 as u16) << 8);
        let (p, cp) = e.packets.overflowing_add(1);
        let (b, cb) = e.bytes.overflowing_add(bytes as u32);
        e.packets = p;
        e.bytes = b;
        if cp | cb {
            self.carry(idx, cp, cb);
        }
        Some(r)
    }

    /// A packet hit entry `idx`: returns what the pipeline needs, counting the packet
    /// unless the entry is held (parked packets are counted when released). One access
    /// to the entry's line reads and counts (this is on every forwarded packet).
    #[inline]
    pub fn hit(
        &mut self,
        idx: u32,
        bytes: usize,
        tcp: Option<TcpFlags>,
        now: u32,
    ) -> Option<FlowHit> {
        let e = self.entries.get_mut(idx as usize)?;
        let v = e.flags & 3;
        if v == V_FREE {
            return None;
        }
        let h = FlowHit {
            verdict: e.verdict(),
            dst_vrf: e.dst_vrf,
            nh: e.nh,
            rev: e.rev,
            nat_src: e.nat_src(),
            nat_dst: e.nat_dst(),
            mirror: e.flags & F_MIRROR != 0,
        };
        if v != V_HOLD {
            e.last_seen = now;
            e.flags |= tcp.map_or(0, |f| (f.0 as u8 as u16) << 8);
            let (p, cp) = e.packets.overflowing_add(1);
            let (b, cb) = e.bytes.overflowing_add(bytes as u32);
            e.packets = p;
            e.bytes = b;
            if cp | cb {
                self.carry(idx, cp, cb);
            }
        }
        Some(h)
    }

    /// The high halves of the counters, in the cold array (rarely: every 4G packets/bytes).
    #[cold]
    fn carry(&mut self, idx: u32, packets: bool, bytes: bool) {
        if let Some(c) = self.cold.get_mut(idx as usize) {
            c.packets_hi += packets as u32;
            c.bytes_hi += bytes as u32;
        }
    }

    fn timeout(&self, e: &FlowEntry, r: Option<&FlowEntry>) -> u32 {
        let flags = e.tcp_flags() | r.map_or(0, |r| r.tcp_flags());
        let both_fin = e.tcp_flags() & 1 != 0 && r.is_some_and(|r| r.tcp_flags() & 1 != 0);
        if e.verdict() == FlowVerdict::Hold {
            self.cfg.hold_timeout
        } else if flags & TcpFlags::RST as u8 != 0 {
            0
        } else if both_fin {
            self.cfg.closing_timeout
        } else if e.verdict() == FlowVerdict::Drop
            || r.is_some_and(|r| r.verdict() == FlowVerdict::Drop)
        {
            self.cfg.drop_timeout
        } else {
            self.idle_timeout_of(&e.key)
        }
    }

    /// Scans up to `budget` slab slots from where the last call stopped and removes the
    /// pairs that have been idle past their timeout. Returns the removed entries' indices
    /// and keys (so the worker can drop packets parked on them and report them).
    pub fn age(&mut self, now: u32, budget: usize) -> Vec<(u32, FlowKey)> {
        let mut out = Vec::new();
        let n = self.entries.len();
        for _ in 0..budget.min(n) {
            self.age_cursor = (self.age_cursor + 1) % n;
            let idx = self.age_cursor as u32;
            let Some(e) = self.get(idx) else { continue };
            let r = self.get(e.rev);
            let last = e.last_seen.max(r.map_or(0, |r| r.last_seen));
            if now.saturating_sub(last) >= self.timeout(e, r) {
                let rev = e.rev;
                if let Some(e) = self.remove(idx) {
                    out.push((idx, e.key));
                }
                if let Some(r) = self.remove(rev) {
                    out.push((rev, r.key));
                }
            }
        }
        out
    }

    /// Removes every entry, keeping the storage: afterwards the table is as a new one
    /// (indices are handed out from 0 again). Costs one probe run per live entry.
    pub fn clear(&mut self) {
        for idx in 0..self.entries.len() {
            if !self.entries[idx].is_live() {
                continue;
            }
            // Its index word lies in the probe run from its home slot; words cleared
            // before it may interrupt that run, so look for the value, not for a hole.
            let mut i = self.entries[idx].key.hash() as usize & self.mask;
            for _ in 0..=self.mask {
                if (self.index[i] as u32).wrapping_sub(1) == idx as u32 {
                    self.index[i] = 0;
                    break;
                }
                i = (i + 1) & self.mask;
            }
        }
        self.entries.clear();
        self.cold.clear();
        self.free.clear();
        self.per_if.clear();
        self.live = 0;
        self.age_cursor = 0;
    }

    /// All live entries with indices (dump).
    pub fn iter(&self) -> impl Iterator<Item = (u32, &FlowEntry)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_live())
            .map(|(i, e)| (i as u32, e))
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
