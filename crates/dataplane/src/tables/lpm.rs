//! Longest-prefix-match table: a multibit trie with leaf pushing, one 16-bit root stride
//! then 8-bit strides (16-8-8 for IPv4, 16-8-…-8 for IPv6). Every slot holds the answer
//! for its whole address range, so a lookup is one array read per level with no
//! backtracking: 1–3 reads for IPv4.
//!
//! The root and the chunks of the node arena sit behind `Arc` and are changed through
//! `Arc::make_mut`, so a table cloned into a new snapshot shares everything with the old
//! one, and a change copies only the chunks it touches. Workers keep reading the old
//! snapshot meanwhile. A node whose slots all hold the same leaf after a change (e.g. the
//! host routes under it were removed) is folded back into its parent slot and its number
//! reused by the next allocation, so churn does not grow the arena.
//!
//! Slot encoding (u32): bit 31 set = child node, bits 0..31 index into `kids`. Otherwise a
//! leaf: bits 0..23 = nexthop id (0 = no route), bits 23..31 = prefix length (0..=128).

use std::sync::Arc;

const CHILD: u32 = 1 << 31;
const NH_MASK: u32 = 0x007f_ffff;
/// Largest nexthop id a FIB leaf can hold.
pub const MAX_FIB_NH: u32 = NH_MASK;
const ROOT_BITS: u32 = 16;
const STRIDE: u32 = 8;
const NODE: usize = 1 << STRIDE;
/// Nodes per copy-on-write chunk: a change copies 32 KiB at most per chunk it touches,
/// and a snapshot clone copies one pointer per 32 nodes.
const CHUNK: usize = 32;

type Node = [u32; NODE];

#[inline]
fn leaf(nh: u32, len: u8) -> u32 {
    ((len as u32) << 23) | (nh & NH_MASK)
}
#[inline]
fn leaf_len(s: u32) -> u8 {
    ((s >> 23) & 0xff) as u8
}

/// A longest-prefix-match table over addresses of `BITS` bits (32 or 128), keyed by the
/// address left-aligned in a u128.
///
/// Layout: the root is one flat array; all other nodes live in an arena of fixed-size
/// chunks, so a child slot is a node number and each level of a lookup is a single
/// indexed load (no per-node allocation to chase).
#[derive(Clone)]
pub struct Lpm<const BITS: u32> {
    root: Arc<[u32]>,
    chunks: Vec<Arc<[Node]>>,
    /// Node numbers handed out (live or on `free`).
    nodes: u32,
    /// Reclaimed node numbers, reused before new ones.
    free: Vec<u32>,
}

/// IPv4 FIB.
pub type Lpm4 = Lpm<32>;
/// IPv6 FIB.
pub type Lpm6 = Lpm<128>;

impl<const BITS: u32> Default for Lpm<BITS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const BITS: u32> Lpm<BITS> {
    pub fn new() -> Self {
        Self {
            root: vec![leaf(0, 0); 1 << ROOT_BITS].into(),
            chunks: Vec::new(),
            nodes: 0,
            free: Vec::new(),
        }
    }

    #[inline]
    fn node(&self, n: u32) -> &Node {
        let n = n as usize;
        &self.chunks[n / CHUNK][n % CHUNK]
    }

    /// Nexthop id for the longest prefix covering `addr` (left-aligned), 0 when none.
    #[inline]
    pub fn lookup_aligned(&self, addr: u128) -> u32 {
        let mut s = self.root[(addr >> (128 - ROOT_BITS)) as usize];
        let mut shift = 128 - ROOT_BITS;
        while s & CHILD != 0 {
            shift -= STRIDE;
            s = self.node(s & !CHILD)[((addr >> shift) & 0xff) as usize];
        }
        s & NH_MASK
    }

    /// Number of live trie nodes besides the root.
    pub fn node_count(&self) -> usize {
        self.nodes as usize - self.free.len()
    }

    /// Heap bytes held by the trie (root, node arena, chunk table).
    pub fn memory_bytes(&self) -> usize {
        (1usize << ROOT_BITS) * 4 + self.chunks.len() * (CHUNK * NODE * 4 + 8)
    }

    /// Points `prefix/len` at `nh` (non-zero). Longer prefixes inside it keep their nexthop.
    pub fn insert_aligned(&mut self, prefix: u128, len: u8, nh: u32) {
        debug_assert!(nh != 0 && nh <= NH_MASK && len as u32 <= BITS);
        self.paint(prefix, len, leaf(nh, len), |old_len| old_len <= len);
    }

    /// Removes `prefix/len`, handing its range back to the covering prefix
    /// `(cover_nh, cover_len)` (nh 0 = no route), which the caller knows from its route list.
    pub fn remove_aligned(&mut self, prefix: u128, len: u8, cover_nh: u32, cover_len: u8) {
        self.paint(prefix, len, leaf(cover_nh, cover_len), |old_len| {
            old_len == len
        });
    }

    fn get(&self, node: Option<u32>, i: usize) -> u32 {
        match node {
            None => self.root[i],
            Some(n) => self.node(n)[i],
        }
    }

    fn set(&mut self, node: Option<u32>, i: usize, v: u32) {
        match node {
            None => Arc::make_mut(&mut self.root)[i] = v,
            Some(n) => {
                let n = n as usize;
                Arc::make_mut(&mut self.chunks[n / CHUNK])[n % CHUNK][i] = v;
            }
        }
    }

    /// A new node whose every slot holds `fill` (the leaf it pushes down).
    fn alloc(&mut self, fill: u32) -> u32 {
        if let Some(n) = self.free.pop() {
            let n = n as usize;
            Arc::make_mut(&mut self.chunks[n / CHUNK])[n % CHUNK] = [fill; NODE];
            return n as u32;
        }
        let n = self.nodes as usize;
        if n / CHUNK == self.chunks.len() {
            self.chunks.push(vec![[0u32; NODE]; CHUNK].into());
        }
        Arc::make_mut(&mut self.chunks[n / CHUNK])[n % CHUNK] = [fill; NODE];
        self.nodes += 1;
        n as u32
    }

    /// Writes `new` into every slot (at any depth) in `prefix/len` whose current leaf
    /// length satisfies `cond`, creating nodes down to the level where `len` ends.
    fn paint(&mut self, prefix: u128, len: u8, new: u32, cond: impl Fn(u8) -> bool + Copy) {
        let len = len as u32;
        let (mut node, mut consumed, mut bits) = (None, 0u32, ROOT_BITS);
        // (parent, slot) of each node on the way down, to fold them back up afterwards.
        let mut path: Vec<(Option<u32>, usize)> = Vec::new();
        loop {
            let shift = 128 - consumed - bits;
            let idx = ((prefix >> shift) as usize) & ((1usize << bits) - 1);
            if len <= consumed + bits {
                let span = 1usize << (consumed + bits - len);
                let start = idx & !(span - 1);
                for i in start..start + span {
                    self.repaint(node, i, new, cond);
                }
                // Deepest first: folding a node can make its parent uniform in turn.
                for &(parent, slot) in path.iter().rev() {
                    if !self.fold(parent, slot) {
                        break;
                    }
                }
                return;
            }
            path.push((node, idx));
            let s = self.get(node, idx);
            let child = if s & CHILD != 0 {
                s & !CHILD
            } else {
                let c = self.alloc(s);
                self.set(node, idx, CHILD | c);
                c
            };
            node = Some(child);
            consumed += bits;
            bits = STRIDE;
        }
    }

    fn repaint(&mut self, node: Option<u32>, i: usize, new: u32, cond: impl Fn(u8) -> bool + Copy) {
        let s = self.get(node, i);
        if s & CHILD != 0 {
            for j in 0..NODE {
                self.repaint(Some(s & !CHILD), j, new, cond);
            }
            self.fold(node, i);
        } else if cond(leaf_len(s)) && s != new {
            self.set(node, i, new);
        }
    }

    /// If slot `i` of `node` points at a child whose slots all hold one and the same leaf,
    /// puts that leaf in the slot instead and frees the child (lookups answer the same:
    /// the child only repeated it). Returns whether it folded.
    fn fold(&mut self, node: Option<u32>, i: usize) -> bool {
        let s = self.get(node, i);
        if s & CHILD == 0 {
            return false;
        }
        let c = s & !CHILD;
        let kids = self.node(c);
        let first = kids[0];
        if first & CHILD != 0 || kids.iter().any(|&k| k != first) {
            return false;
        }
        self.set(node, i, first);
        self.free.push(c);
        true
    }
}

impl Lpm<32> {
    /// IPv4 lookup, unrolled for the three possible levels (16-8-8).
    #[inline]
    pub fn lookup(&self, addr: std::net::Ipv4Addr) -> u32 {
        self.lookup_v4(addr.to_bits())
    }
    #[inline]
    pub fn lookup_v4(&self, a: u32) -> u32 {
        let s = self.root[(a >> 16) as usize];
        if s & CHILD == 0 {
            return s & NH_MASK;
        }
        let s = self.node(s & !CHILD)[((a >> 8) & 0xff) as usize];
        if s & CHILD == 0 {
            return s & NH_MASK;
        }
        self.node(s & !CHILD)[(a & 0xff) as usize] & NH_MASK
    }
    pub fn insert(&mut self, prefix: std::net::Ipv4Addr, len: u8, nh: u32) {
        self.insert_aligned((prefix.to_bits() as u128) << 96, len, nh)
    }
    pub fn remove(&mut self, prefix: std::net::Ipv4Addr, len: u8, cover_nh: u32, cover_len: u8) {
        self.remove_aligned((prefix.to_bits() as u128) << 96, len, cover_nh, cover_len)
    }
}

impl Lpm<128> {
    #[inline]
    pub fn lookup(&self, addr: std::net::Ipv6Addr) -> u32 {
        self.lookup_aligned(addr.to_bits())
    }
    pub fn insert(&mut self, prefix: std::net::Ipv6Addr, len: u8, nh: u32) {
        self.insert_aligned(prefix.to_bits(), len, nh)
    }
    pub fn remove(&mut self, prefix: std::net::Ipv6Addr, len: u8, cover_nh: u32, cover_len: u8) {
        self.remove_aligned(prefix.to_bits(), len, cover_nh, cover_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Reference answer by linear scan.
    fn naive(routes: &[(u32, u8, u32)], a: u32) -> u32 {
        let mut best: Option<(u8, u32)> = None;
        for &(p, l, nh) in routes {
            let m = if l == 0 { 0 } else { u32::MAX << (32 - l) };
            if a & m == p & m && best.is_none_or(|(bl, _)| l >= bl) {
                best = Some((l, nh));
            }
        }
        best.map_or(0, |b| b.1)
    }

    #[test]
    fn v4_matches_linear_scan_through_inserts_and_removes() {
        let mut x: u64 = 0x1234_5678;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut routes: Vec<(u32, u8, u32)> = Vec::new();
        let mut t = Lpm4::new();
        for i in 1..400u32 {
            let len = [0u8, 8, 12, 16, 20, 24, 28, 31, 32][(rnd() % 9) as usize];
            let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            let p = (rnd() as u32 & 0x0aff_ffff) & m;
            routes.retain(|r| !(r.0 == p && r.1 == len));
            routes.push((p, len, i));
            t.insert(Ipv4Addr::from_bits(p), len, i);
        }
        let snapshot = t.clone();
        let before = routes.clone();
        for _ in 0..150 {
            let (p, len, _) = routes.remove((rnd() % routes.len() as u64) as usize);
            let cover = routes
                .iter()
                .filter(|r| {
                    let m = if r.1 == 0 { 0 } else { u32::MAX << (32 - r.1) };
                    r.1 < len && p & m == r.0
                })
                .max_by_key(|r| r.1)
                .map_or((0, 0), |r| (r.2, r.1));
            t.remove(Ipv4Addr::from_bits(p), len, cover.0, cover.1);
        }
        for _ in 0..20_000 {
            let a = rnd() as u32 & 0x0aff_ffff;
            assert_eq!(
                t.lookup(Ipv4Addr::from_bits(a)),
                naive(&routes, a),
                "addr {a:#x}"
            );
        }
        // The clone taken before the removals still answers as before (copy on write).
        for _ in 0..5_000 {
            let a = rnd() as u32 & 0x0aff_ffff;
            assert_eq!(
                snapshot.lookup(Ipv4Addr::from_bits(a)),
                naive(&before, a),
                "snapshot {a:#x}"
            );
        }
    }

    #[test]
    fn removing_every_route_reclaims_every_node() {
        let mut t = Lpm4::new();
        t.insert(Ipv4Addr::new(10, 0, 0, 0), 8, 1);
        t.insert(Ipv4Addr::new(10, 1, 0, 0), 24, 2);
        for h in 0..200u32 {
            t.insert(Ipv4Addr::from_bits(0x0a01_0000 | h), 32, 100 + h);
            t.insert(Ipv4Addr::from_bits(0x0a02_0000 | (h << 8)), 32, 400 + h);
        }
        assert!(t.node_count() > 2, "{}", t.node_count());
        for h in 0..200u32 {
            t.remove(Ipv4Addr::from_bits(0x0a01_0000 | h), 32, 2, 24);
            t.remove(Ipv4Addr::from_bits(0x0a02_0000 | (h << 8)), 32, 1, 8);
        }
        t.remove(Ipv4Addr::new(10, 1, 0, 0), 24, 1, 8);
        assert_eq!(t.node_count(), 0);
        assert_eq!(t.lookup(Ipv4Addr::new(10, 1, 0, 5)), 1);
        assert_eq!(t.lookup(Ipv4Addr::new(10, 2, 3, 0)), 1);
        // Freed nodes are reused: re-adding allocates no new chunk.
        let mem = t.memory_bytes();
        for h in 0..200u32 {
            t.insert(Ipv4Addr::from_bits(0x0a01_0000 | h), 32, 100 + h);
        }
        assert_eq!(t.memory_bytes(), mem);
        assert_eq!(t.lookup(Ipv4Addr::new(10, 1, 0, 7)), 107);
    }

    #[test]
    fn v6_host_and_default() {
        let mut t = Lpm6::new();
        t.insert(Ipv6Addr::UNSPECIFIED, 0, 1);
        t.insert("2001:db8::".parse().unwrap(), 32, 2);
        t.insert("2001:db8::5".parse().unwrap(), 128, 3);
        assert_eq!(t.lookup("2001:db8::5".parse().unwrap()), 3);
        assert_eq!(t.lookup("2001:db8::6".parse().unwrap()), 2);
        assert_eq!(t.lookup("2001:db9::".parse().unwrap()), 1);
        t.remove("2001:db8::5".parse().unwrap(), 128, 2, 32);
        assert_eq!(t.lookup("2001:db8::5".parse().unwrap()), 2);
    }
}
