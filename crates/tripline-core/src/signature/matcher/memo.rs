//! A memo of recent match results, keyed by value classes.
//!
//! Every test a rule makes compares one packet value with a range (ports,
//! TTL, lengths, ICMP type ...), an address with a network list, or the TCP
//! flags and a few bits with constants. Cut each value's line at every
//! range's first value and at the value after its last: two values between
//! the same cuts pass and fail exactly the same tests. A packet's key is the
//! class of each value some rule tests, its flags, protocol, address bits
//! and mode, so two packets with one key match the same rules, and a scan's
//! packets (one flag byte, ports in the same gap between the rules' ports)
//! mostly share a few keys. Packets with IP options are not memoised:
//! `ipopts` tests the option text itself.

use super::{Pkt, Proto, F_TRUE, NONE, REQ_IPOPTS};
use crate::signature::rule::{AddrSpec, SigProto};
use crate::signature::{Signature, SignatureSet};
use std::net::IpAddr;

/// A packet's classes (see the module doc).
pub(super) type Key = [u64; 5];

/// The value classes of one matching mode, per protocol kind: a packet
/// meets only the rules of its protocol and the `ip` rules, so only their
/// tests split its values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Classes {
    /// False when the rules test too many distinct values to key on.
    usable: bool,
    /// tcp, udp, icmp, and the protocols with `ip` rules alone.
    kinds: [KindClasses; 4],
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct KindClasses {
    /// Port -> class over the port ranges of the kind's rules, both ports.
    port: PortClasses,
    /// (`F_*` field, sorted cuts) for each field the rules test.
    fields: Vec<(u8, Vec<i64>)>,
    /// Address fields that are not `any` in this mode, deduplicated: each
    /// gives the key two bits, whether it holds the source and the destination.
    addrs: Vec<AddrSpec>,
}

/// The cuts of inclusive ranges: each first value and the value after each last.
fn cuts(ranges: impl Iterator<Item = (i64, i64)>) -> Vec<i64> {
    let mut c: Vec<i64> = ranges
        .flat_map(|(lo, hi)| [Some(lo), hi.checked_add(1)])
        .flatten()
        .collect();
    c.sort_unstable();
    c.dedup();
    c
}

/// The kind of a packet protocol (an index of `Classes::kinds`).
#[inline]
fn kind_of(p: Proto) -> usize {
    match p {
        Proto::Tcp => 0,
        Proto::Udp => 1,
        Proto::Icmp => 2,
        _ => 3,
    }
}

const KIND_RULES: [Option<SigProto>; 4] = [
    Some(SigProto::Tcp),
    Some(SigProto::Udp),
    Some(SigProto::Icmp),
    None,
];

impl Classes {
    pub(super) fn build(
        sigs: &[Signature],
        rules: &[super::Compiled],
        checks: &[super::Check],
        compat: bool,
    ) -> Classes {
        let mode = |r: &crate::signature::IntRange| if compat { r.compat } else { r.fixed };
        let mut usable = true;
        let kinds = KIND_RULES.map(|own| {
            let mine: Vec<usize> = (0..sigs.len())
                .filter(|&i| sigs[i].kind == SigProto::Ip || Some(sigs[i].kind) == own)
                .collect();
            let ports = cuts(
                mine.iter()
                    .map(|&i| &sigs[i])
                    .filter(|s| matches!(s.kind, SigProto::Tcp | SigProto::Udp))
                    .flat_map(|s| [mode(&s.cond.sport), mode(&s.cond.dport)]),
            );
            let fields: Vec<(u8, Vec<i64>)> = (0..F_TRUE)
                .map(|f| {
                    let on = mine
                        .iter()
                        .flat_map(|&i| {
                            &checks[rules[i].checks.start as usize..rules[i].checks.end as usize]
                        })
                        .filter(|k| k.field == f);
                    (f, cuts(on.map(|k| (k.lo, k.hi))))
                })
                .filter(|(_, c)| !c.is_empty())
                .collect();
            let mut addrs: Vec<AddrSpec> = Vec::new();
            for a in mine
                .iter()
                .flat_map(|&i| [&sigs[i].cond.src, &sigs[i].cond.dst])
            {
                let any = a.any && (compat || a.negated.is_empty());
                if !any && !addrs.contains(a) {
                    addrs.push(a.clone());
                }
            }
            usable &= ports.len() < usize::from(u16::MAX)
                && fields.len() <= 12
                && fields.iter().all(|(_, c)| c.len() < usize::from(u16::MAX))
                && addrs.len() <= 32;
            KindClasses {
                port: PortClasses::build(&ports),
                fields,
                addrs,
            }
        });
        Classes { usable, kinds }
    }

    /// The key of `p`, or `None` when it must be matched in full.
    #[inline]
    pub(super) fn key(&self, p: &Pkt<'_, '_>, last: &mut LastAddrs) -> Option<Key> {
        if !self.usable || p.have & REQ_IPOPTS != 0 {
            return None;
        }
        let kc = &self.kinds[kind_of(p.pkt.proto)];
        let port = |v: i64| u64::from(kc.port.get(v));
        let mut k = [0u64; 5];
        k[0] = u64::from(p.pkt.proto.number())
            | u64::from(p.flags) << 8
            | u64::from(p.have) << 16
            | u64::from(p.v6) << 24
            | u64::from(p.pkt.tcp.is_none()) << 25
            | u64::from(p.compat) << 26
            | port(p.dport) << 32
            | port(p.sport) << 48;
        for (i, (f, cuts)) in kc.fields.iter().enumerate() {
            let v = p.vals[usize::from(*f)];
            let class = if v == NONE {
                0
            } else {
                1 + cuts.partition_point(|&c| c <= v) as u64
            };
            k[1 + i / 4] |= class << (16 * (i % 4));
        }
        k[4] = kc.addr_bits(p, last);
        Some(k)
    }
}

impl KindClasses {
    /// The address bits of the key; a scan's packets repeat their
    /// addresses, so the last pair's bits are kept.
    #[inline]
    fn addr_bits(&self, p: &Pkt<'_, '_>, last: &mut LastAddrs) -> u64 {
        if self.addrs.is_empty() {
            return 0;
        }
        let at = (p.src, p.dst, p.compat);
        if let Some((prev, bits)) = last.0 {
            if prev == at && last.1 == self as *const KindClasses as usize {
                return bits;
            }
        }
        let mut bits = 0;
        for (i, a) in self.addrs.iter().enumerate() {
            let b =
                u64::from(a.matches(p.src, p.compat)) | u64::from(a.matches(p.dst, p.compat)) << 1;
            bits |= b << (2 * i);
        }
        *last = LastAddrs(Some((at, bits)), self as *const KindClasses as usize);
        bits
    }
}

/// Port -> class in two levels: most blocks of 256 ports lie between two
/// cuts and have one class, held in the block table itself (which stays in
/// cache); the others point at a table of their own.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct PortClasses {
    /// Per block: the class, or `MIXED | i` for `mixed[i]`.
    blocks: Vec<u32>,
    mixed: Vec<[u16; 256]>,
}

const MIXED: u32 = 1 << 31;

impl PortClasses {
    fn build(cuts: &[i64]) -> PortClasses {
        let mut pc = PortClasses::default();
        let class = |v: i64| cuts.partition_point(|&c| c <= v) as u16;
        for b in 0..256i64 {
            let (first, last) = (b * 256, b * 256 + 255);
            if class(first) == class(last) {
                pc.blocks.push(u32::from(class(first)));
            } else {
                pc.blocks.push(MIXED | pc.mixed.len() as u32);
                let mut t = [0u16; 256];
                for (v, c) in (first..=last).zip(t.iter_mut()) {
                    *c = class(v);
                }
                pc.mixed.push(t);
            }
        }
        pc
    }

    #[inline]
    fn get(&self, port: i64) -> u16 {
        let v = port.clamp(0, 65535) as usize;
        match self.blocks.get(v >> 8) {
            Some(&b) if b & MIXED == 0 => b as u16,
            Some(&b) => self
                .mixed
                .get((b & !MIXED) as usize)
                .map_or(0, |t| t[v & 255]),
            None => 0,
        }
    }
}

/// The last addresses keyed and their bits, with the classes that keyed them.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LastAddrs(Option<((IpAddr, IpAddr, bool), u64)>, usize);

/// Key equality word by word (`==` on the array calls `memcmp`).
#[inline(always)]
fn same(a: &Key, b: &Key) -> bool {
    a.iter().zip(b).fold(0, |d, (x, y)| d | (x ^ y)) == 0
}

/// Slots of a memo: a power of two.
const SLOTS: usize = 1024;
/// Results longer than this are not kept.
const MAX_IDS: usize = 7;

#[derive(Debug, Clone, Copy)]
struct Slot {
    key: Key,
    /// `u8::MAX`: empty.
    len: u8,
    ids: [u32; MAX_IDS],
}

const EMPTY: Slot = Slot {
    key: [0; 5],
    len: u8::MAX,
    ids: [0; MAX_IDS],
};

/// The results of recent packets for one [`SignatureSet`], by key: what
/// [`SignatureSet::match_packet_memo`] keeps between calls. It forgets
/// everything when used with another set (or one whose rule count changed).
#[derive(Debug, Clone)]
pub struct MatchMemo {
    /// The set's address and rule count.
    owner: (usize, usize),
    slots: Vec<Slot>,
    /// The slot of the last key looked up.
    last_slot: usize,
    pub(super) last: LastAddrs,
    /// Answers given from memory.
    #[cfg(test)]
    pub(crate) hits: usize,
}

impl Default for MatchMemo {
    fn default() -> Self {
        MatchMemo {
            owner: (0, 0),
            slots: vec![EMPTY; SLOTS],
            last_slot: 0,
            last: LastAddrs::default(),
            #[cfg(test)]
            hits: 0,
        }
    }
}

impl MatchMemo {
    /// Forget what was kept for another set.
    #[inline]
    pub(super) fn own(&mut self, set: &SignatureSet) {
        let owner = (set as *const SignatureSet as usize, set.sigs.len());
        if self.owner != owner {
            self.slots.fill(EMPTY);
            self.last = LastAddrs::default();
            self.owner = owner;
        }
    }

    #[inline]
    fn slot(key: &Key) -> usize {
        let h = key
            .iter()
            .fold(0u64, |h, &w| (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        (h >> (64 - SLOTS.trailing_zeros())) as usize
    }

    /// Push the kept result of `key` into `out`, if there is one.
    #[inline]
    pub(super) fn get(&mut self, key: &Key, out: &mut Vec<u32>) -> bool {
        // A scan's packets come in runs with one key: try the last slot first.
        let last = &self.slots[self.last_slot];
        let s = if same(&last.key, key) && last.len != u8::MAX {
            last
        } else {
            self.last_slot = Self::slot(key);
            &self.slots[self.last_slot]
        };
        if s.len == u8::MAX || !same(&s.key, key) {
            return false;
        }
        out.extend_from_slice(&s.ids[..usize::from(s.len)]);
        #[cfg(test)]
        {
            self.hits += 1;
        }
        true
    }

    /// Keep `ids` as the result of `key` (unless it is too long).
    #[inline]
    pub(super) fn put(&mut self, key: Key, ids: &[u32]) {
        if ids.len() > MAX_IDS {
            return;
        }
        self.last_slot = Self::slot(&key);
        let s = &mut self.slots[self.last_slot];
        s.key = key;
        s.len = ids.len() as u8;
        s.ids[..ids.len()].copy_from_slice(ids);
    }
}

#[cfg(test)]
mod tests {
    use super::PortClasses;

    /// The two-level table gives every port the class of its cuts.
    #[test]
    fn port_classes_agree_with_the_cuts() {
        let spread: Vec<i64> = (0..300).map(|i| i * 7).collect();
        for cuts in [
            vec![],
            vec![0, 65536],
            vec![1, 80, 81, 1024, 6000, 6064, 65535],
            spread,
        ] {
            let pc = PortClasses::build(&cuts);
            for v in 0..=65535 {
                let want = cuts.partition_point(|&c| c <= v) as u16;
                assert_eq!(pc.get(v), want, "port {v}, cuts {cuts:?}");
            }
        }
    }
}
