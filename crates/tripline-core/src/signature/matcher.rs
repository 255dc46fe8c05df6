//! Matching packets against a [`SignatureSet`] (spec §3.3).
//!
//! Each mode has its own index, since the modes resolve ranges, flags and
//! directions differently. Rules are indexed per protocol: tcp and udp rules
//! by destination-port range, icmp rules by `itype` range, `ip` rules in one
//! list. A lookup is a binary search over range boundaries giving a
//! precomputed slice of candidates; rules whose key can lie anywhere
//! (negated ranges, `any` ports, icmp rules without `itype`) are listed
//! apart, once per TCP flag byte with only the rules that byte can match,
//! so a scan to random ports meets a handful. Each candidate carries a
//! TCP-flag mask test and "needs IP options / needs src == dst" bits, so
//! most candidates are rejected without touching the rule. Survivors are checked against a
//! compact compiled form (ports, a flat list of integer checks, flags); only
//! rules with non-`any` addresses, `ipopts`, `sameip` or `ip_proto` consult
//! the full [`Signature`]. Rules that can never match in a mode (psad's empty
//! flag text, `ip_proto` in compat mode) are left out of that mode's index.
//! No allocation happens per packet.

use super::ipopts::intersects;
use super::range::IntRange;
use super::rule::{AddrSpec, Direction, FlagMode, FlagSpec, IpOptsSpec, SigProto};
use super::{Signature, SignatureSet};
use crate::net::IpNet;
use crate::packet::{Packet, Proto, TcpFlags};
use std::net::IpAddr;
use std::sync::OnceLock;

pub(crate) mod memo;

/// One candidate: a rule index plus cheap pre-tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Cand {
    idx: u32,
    /// The packet's TCP flags masked with `fmask` must equal `fwant`.
    fmask: u8,
    fwant: u8,
    /// `REQ_*` bits the packet must have.
    req: u8,
    /// The rule's most selective integer test (or an always-true one).
    k: Check,
    /// Which entry of the rule's `dirs` this candidate stands for.
    dir: u8,
}

impl Cand {
    #[inline]
    fn pretest(&self, p: &Pkt<'_, '_>) -> bool {
        p.flags & self.fmask == self.fwant && p.have & self.req == self.req && self.k.ok(p)
    }
}

const REQ_IPOPTS: u8 = 1;
const REQ_SAME: u8 = 2;

/// Candidate lists for one key (destination port or ICMP type).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct KeyIndex {
    /// Sorted first key of each segment; `starts[0] == 0`.
    starts: Vec<u32>,
    /// `rules[offs[k]..offs[k + 1]]` are the candidates of segment `k`.
    offs: Vec<u32>,
    rules: Vec<Cand>,
    /// Per block of `1 << shift` keys, the first and last segment touching it,
    /// so most lookups need no search at all.
    blocks: Vec<(u32, u32)>,
    shift: u32,
    /// Rules for every key, apart: `any[any_offs[f]..any_offs[f + 1]]` are
    /// those whose flag pre-test a packet with TCP flags `f` passes. Scans
    /// to random ports meet only these, and their flags reject most.
    any_offs: Vec<u32>,
    any: Vec<Cand>,
}

impl KeyIndex {
    /// Build from (rule, key range or `None` = every key) entries over
    /// keys `0..=max`. A rule may have several entries.
    fn build(entries: &[(Cand, Option<(i64, i64)>)], max: i64, shift: u32) -> KeyIndex {
        let mut idx = KeyIndex::default();
        idx.any_offs.push(0);
        for f in 0..=255u8 {
            let mut seg: Vec<Cand> = entries
                .iter()
                .filter(|(c, r)| r.is_none() && f & c.fmask == c.fwant)
                .map(|(c, _)| *c)
                .collect();
            seg.sort_unstable();
            seg.dedup();
            idx.any.extend(seg);
            idx.any_offs.push(idx.any.len() as u32);
        }
        let entries: Vec<_> = entries.iter().filter(|(_, r)| r.is_some()).collect();
        let mut starts = vec![0i64];
        for (_, r) in &entries {
            if let Some((lo, hi)) = *r {
                if lo <= hi && lo <= max && hi >= 0 {
                    starts.push(lo.max(0));
                    if hi < max {
                        starts.push(hi + 1);
                    }
                }
            }
        }
        starts.sort_unstable();
        starts.dedup();
        idx.offs.push(0);
        for &s in &starts {
            let from = idx.rules.len();
            for (rule, r) in &entries {
                if r.is_some_and(|(lo, hi)| lo <= s && s <= hi) {
                    idx.rules.push(*rule);
                }
            }
            idx.rules[from..].sort_unstable();
            let mut seg: Vec<Cand> = idx.rules.split_off(from);
            seg.dedup();
            idx.rules.extend(seg);
            idx.offs.push(idx.rules.len() as u32);
            idx.starts.push(s as u32);
        }
        idx.shift = shift;
        let seg = |key: u32| idx.starts.partition_point(|&s| s <= key) as u32 - 1;
        idx.blocks = (0..=(max as u32 >> shift))
            .map(|b| {
                let first = b << shift;
                let last = (first + (1 << shift) - 1).min(max as u32);
                (seg(first), seg(last))
            })
            .collect();
        idx
    }

    /// The rules for every key that a packet with TCP flags `flags` can match.
    #[inline]
    fn any(&self, flags: u8) -> &[Cand] {
        match self.any_offs.get(flags as usize..flags as usize + 2) {
            Some(&[a, b]) => &self.any[a as usize..b as usize],
            _ => &[],
        }
    }

    /// The rules for key `key` alone (see [`KeyIndex::any`] for the rest).
    #[inline]
    fn get(&self, key: u32) -> &[Cand] {
        let k = match self.blocks.get((key >> self.shift) as usize) {
            Some(&(lo, hi)) if lo == hi => lo as usize,
            Some(&(lo, hi)) => {
                let (lo, hi) = (lo as usize, hi as usize);
                lo + self.starts[lo + 1..=hi].partition_point(|&s| s <= key)
            }
            None => match self.starts.partition_point(|&s| s <= key) {
                0 => return &[],
                k => k - 1,
            },
        };
        &self.rules[self.offs[k] as usize..self.offs[k + 1] as usize]
    }
}

/// An integer test on one packet value (`F_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Check {
    field: u8,
    /// IP-level (skipped for IPv6 in compat mode).
    ip: bool,
    neg: bool,
    lo: i64,
    hi: i64,
}

impl Check {
    /// Passes every packet (`F_TRUE` holds 0).
    const TRUE: Check = Check {
        field: F_TRUE,
        ip: false,
        neg: false,
        lo: i64::MIN,
        hi: i64::MAX,
    };

    #[inline]
    fn ok(&self, p: &Pkt<'_, '_>) -> bool {
        if self.ip && p.compat && p.v6 {
            return true;
        }
        let v = p.vals[(self.field & 15) as usize];
        v != NONE && (v >= self.lo && v <= self.hi) != self.neg
    }
}

const F_TTL: u8 = 0;
const F_ID: u8 = 1;
const F_LEN: u8 = 2;
const F_PROTO: u8 = 3;
const F_WINDOW: u8 = 4;
const F_SEQ: u8 = 5;
const F_ACK: u8 = 6;
const F_DSIZE: u8 = 7;
const F_ITYPE: u8 = 8;
const F_ICODE: u8 = 9;
const F_ICMP_ID: u8 = 10;
const F_ICMP_SEQ: u8 = 11;
/// Always 0.
const F_TRUE: u8 = 15;
/// A value the log line does not carry.
const NONE: i64 = i64::MIN;

/// An address field in a form tested inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddrFast {
    Any,
    V4 {
        net: u32,
        mask: u32,
    },
    /// Lists, IPv6 networks, negation: use [`AddrSpec::matches`].
    Slow,
}

impl AddrFast {
    fn of(a: &AddrSpec, compat: bool) -> AddrFast {
        // compat mode reads `!net` as `net`.
        let pos: Vec<&IpNet> = if compat {
            a.nets.iter().chain(&a.negated).collect()
        } else {
            a.nets.iter().collect()
        };
        if a.any && (compat || a.negated.is_empty()) {
            return AddrFast::Any;
        }
        match (pos.as_slice(), compat || a.negated.is_empty()) {
            ([n], true) => match n.addr {
                IpAddr::V4(v4) => {
                    let mask = if n.prefix == 0 {
                        0
                    } else {
                        u32::MAX << (32 - u32::from(n.prefix))
                    };
                    AddrFast::V4 {
                        net: u32::from(v4),
                        mask,
                    }
                }
                IpAddr::V6(_) => AddrFast::Slow,
            },
            _ => AddrFast::Slow,
        }
    }

    #[inline]
    fn matches(self, ip: IpAddr) -> bool {
        match (self, ip) {
            (AddrFast::Any, _) => true,
            (AddrFast::V4 { net, mask }, IpAddr::V4(a)) => u32::from(a) & mask == net,
            _ => false,
        }
    }
}

/// A rule compiled for one mode.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Compiled {
    /// Addresses testable inline (else use the full header test).
    simple: bool,
    /// Directions, as (addresses swapped, ports swapped); the second only
    /// for `<>` in default mode. A candidate names the one it stands for.
    dirs: [(bool, bool); 2],
    src: AddrFast,
    dst: AddrFast,
    /// tcp/udp: test ports.
    ports: bool,
    sport: (i64, i64, bool),
    dport: (i64, i64, bool),
    checks: std::ops::Range<u32>,
    /// `ipopts`, `sameip` or `ip_proto` present: consult the full rule.
    extra: bool,
    flags: Option<FlagSpec>,
    /// Default mode, `flow:established` without `flags`: ACK required.
    need_ack: bool,
    /// tcp rule with TCP-level tests (default mode fails them without TCP fields).
    tcp_fields: bool,
}

/// Index and compiled rules for one mode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct ModeIndex {
    rules: Vec<Compiled>,
    checks: Vec<Check>,
    tcp: KeyIndex,
    udp: KeyIndex,
    /// Default mode: `<-` rules and the reverse half of `<>` rules, keyed
    /// by the packet's source port.
    tcp_rev: KeyIndex,
    udp_rev: KeyIndex,
    icmp: KeyIndex,
    /// Empty: the lists of a protocol without rules of its own.
    none: KeyIndex,
    /// `ip` rules, per `REQ_*` bits a packet has: only those it can satisfy.
    ip: [Vec<Cand>; 4],
    /// The value classes a memo keys on.
    classes: memo::Classes,
}

fn range_of(r: &IntRange, compat: bool) -> (i64, i64, bool) {
    let (lo, hi) = if compat { r.compat } else { r.fixed };
    (lo, hi, r.negated)
}

/// The key range of a resolved range for the index (`None` = any key).
fn key_range((lo, hi, neg): (i64, i64, bool)) -> Option<(i64, i64)> {
    (!neg).then_some((lo, hi))
}

impl ModeIndex {
    fn build(sigs: &[Signature], compat: bool) -> ModeIndex {
        let mut mi = ModeIndex::default();
        let (mut tcp, mut udp, mut icmp) = (Vec::new(), Vec::new(), Vec::new());
        let (mut tcp_rev, mut udp_rev) = (Vec::new(), Vec::new());
        for (i, s) in sigs.iter().enumerate() {
            let c = &s.cond;
            let start = mi.checks.len() as u32;
            let mut add = |r: &Option<IntRange>, field: u8, ip: bool| {
                if let Some(r) = r {
                    let (lo, hi, neg) = range_of(r, compat);
                    mi.checks.push(Check {
                        field,
                        ip,
                        neg,
                        lo,
                        hi,
                    });
                }
            };
            add(&c.ttl, F_TTL, true);
            add(&c.id, F_ID, true);
            add(&c.ip_len, F_LEN, true);
            if !compat {
                add(&c.ip_proto, F_PROTO, true);
            }
            match s.kind {
                SigProto::Tcp => {
                    add(&c.dsize, F_DSIZE, false);
                    add(&c.psad_dsize, F_DSIZE, false);
                    add(&c.window, F_WINDOW, false);
                    add(&c.seq, F_SEQ, false);
                    add(&c.ack, F_ACK, false);
                }
                SigProto::Udp => {
                    add(&c.dsize, F_DSIZE, false);
                    add(&c.psad_dsize, F_DSIZE, false);
                }
                SigProto::Icmp => {
                    add(&c.dsize, F_DSIZE, false);
                    add(&c.psad_dsize, F_DSIZE, false);
                    add(&c.itype, F_ITYPE, false);
                    add(&c.icode, F_ICODE, false);
                    add(&c.icmp_seq, F_ICMP_SEQ, false);
                    add(&c.icmp_id, F_ICMP_ID, false);
                }
                SigProto::Ip => {}
            }
            let checks = start..mi.checks.len() as u32;
            let (src, dst) = (AddrFast::of(&c.src, compat), AddrFast::of(&c.dst, compat));
            // psad reads `<>` as `->`, and swaps only the addresses of `<-`.
            let dirs = match (c.dir, compat) {
                (Direction::Forward, _) | (Direction::Both, true) => [(false, false); 2],
                (Direction::Reverse, true) => [(true, false); 2],
                (Direction::Reverse, false) => [(true, true); 2],
                (Direction::Both, false) => [(false, false), (true, true)],
            };
            let tcp_rule = s.kind == SigProto::Tcp;
            let flags = c.flags.filter(|_| tcp_rule);
            let need_ack = tcp_rule && !compat && flags.is_none() && c.established;
            // Rules that can never match in this mode stay out of the index.
            let never = (compat
                && (c.ip_proto.is_some() || flags.is_some_and(|f| f.compat.is_none())))
                || matches!(c.ipopts, Some(IpOptsSpec::Values(v)) if v == [0; 4]);
            let checks_r = checks.clone();
            mi.rules.push(Compiled {
                simple: src != AddrFast::Slow && dst != AddrFast::Slow,
                dirs,
                src,
                dst,
                ports: matches!(s.kind, SigProto::Tcp | SigProto::Udp),
                sport: range_of(&c.sport, compat),
                dport: range_of(&c.dport, compat),
                checks,
                extra: c.ipopts.is_some() || c.sameip || c.ip_proto.is_some(),
                flags,
                need_ack,
                tcp_fields: tcp_rule && (flags.is_some() || need_ack),
            });
            if never {
                continue;
            }
            // Flag pre-test: exact / all / none of some bits.
            let (fmask, fwant) = match flags {
                Some(f) if compat => (0xFF, f.compat.unwrap_or(0)),
                Some(f) => {
                    let b = f.bits & !f.mask;
                    match f.mode {
                        FlagMode::Exact => (!f.mask, b),
                        FlagMode::All => (b, b),
                        FlagMode::Not => (b, 0),
                        FlagMode::Any => (0, 0),
                    }
                }
                None if need_ack => (TcpFlags::ACK, TcpFlags::ACK),
                None => (0, 0),
            };
            let mut req = 0;
            if c.ipopts.is_some() {
                req |= REQ_IPOPTS;
            }
            if c.sameip {
                req |= REQ_SAME;
            }
            // Inline the test most likely to reject: anything but `itype`,
            // which the icmp index already covers.
            let k = mi.checks[checks_r.start as usize..checks_r.end as usize]
                .iter()
                .min_by_key(|k| (k.field == F_ITYPE, k.field))
                .copied()
                .unwrap_or(Check::TRUE);
            let cand = Cand {
                idx: i as u32,
                fmask,
                fwant,
                req,
                k,
                dir: 0,
            };
            match s.kind {
                SigProto::Tcp | SigProto::Udp => {
                    // Swapped directions are keyed by the packet's source
                    // port against the right-hand port, usually the selective one.
                    let (list, rev) = if tcp_rule {
                        (&mut tcp, &mut tcp_rev)
                    } else {
                        (&mut udp, &mut udp_rev)
                    };
                    let key = key_range(range_of(&c.dport, compat));
                    match (c.dir, compat) {
                        (Direction::Forward, _) | (_, true) => list.push((cand, key)),
                        (Direction::Reverse, false) => rev.push((cand, key)),
                        (Direction::Both, false) => {
                            list.push((cand, key));
                            rev.push((Cand { dir: 1, ..cand }, key));
                        }
                    }
                }
                SigProto::Icmp => {
                    let key = c
                        .itype
                        .as_ref()
                        .and_then(|t| key_range(range_of(t, compat)));
                    icmp.push((cand, key));
                }
                SigProto::Ip => {
                    for (have, list) in mi.ip.iter_mut().enumerate() {
                        if have as u8 & cand.req == cand.req {
                            list.push(cand);
                        }
                    }
                }
            }
        }
        mi.tcp = KeyIndex::build(&tcp, 65535, 8);
        mi.udp = KeyIndex::build(&udp, 65535, 8);
        mi.tcp_rev = KeyIndex::build(&tcp_rev, 65535, 8);
        mi.udp_rev = KeyIndex::build(&udp_rev, 65535, 8);
        mi.icmp = KeyIndex::build(&icmp, 255, 0);
        mi.classes = memo::Classes::build(sigs, &mi.rules, &mi.checks, compat);
        mi
    }
}

/// The per-mode candidate indexes of a signature set, each built when first
/// used: a run uses one mode, and building both was a fifth of start-up.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    /// Number of rules indexed; a mismatch with the set means "stale".
    n: usize,
    compat: OnceLock<ModeIndex>,
    fixed: OnceLock<ModeIndex>,
}

/// The index is a function of the rules: sets with equal rules are equal,
/// whichever modes they have built.
impl PartialEq for Index {
    fn eq(&self, other: &Index) -> bool {
        self.n == other.n
    }
}

impl Index {
    /// The index of a mode for `sigs`, unless it is stale (made for another
    /// rule count).
    fn mode(&self, compat: bool, sigs: &[Signature]) -> Option<&ModeIndex> {
        let cell = if compat { &self.compat } else { &self.fixed };
        (self.n == sigs.len()).then(|| cell.get_or_init(|| ModeIndex::build(sigs, compat)))
    }

    pub(crate) fn build(sigs: &[Signature]) -> Index {
        Index {
            n: sigs.len(),
            ..Index::default()
        }
    }
}

/// Packet values as the selected mode sees them. `None` = the log line does
/// not carry the field (default mode then fails the option; compat mode
/// never produces `None`, using psad's 0).
struct Pkt<'p, 'a> {
    pkt: &'p Packet<'a>,
    compat: bool,
    src: IpAddr,
    dst: IpAddr,
    sport: i64,
    dport: i64,
    v6: bool,
    flags: u8,
    /// Values by `F_*` field, `NONE` when absent (indexed `& 15`, so the
    /// array is 16 long and needs no bounds check).
    vals: [i64; 16],
    /// `REQ_*` bits the packet satisfies.
    have: u8,
}

/// Hex text length in bytes, 0 if malformed.
fn opt_bytes(hex: &str) -> i64 {
    if hex.len() % 2 == 0 {
        (hex.len() / 2) as i64
    } else {
        0
    }
}

impl<'p, 'a> Pkt<'p, 'a> {
    /// Field `f`, `None` when the line does not carry it.
    #[inline]
    fn val(&self, f: u8) -> Option<i64> {
        Some(self.vals[(f & 15) as usize]).filter(|&v| v != NONE)
    }

    fn new(pkt: &'p Packet<'a>, compat: bool) -> Self {
        let flags = pkt.tcp_flags().0;
        let syn = flags & TcpFlags::SYN != 0;
        let len = i64::from(pkt.len);
        let v6 = pkt.is_ipv6();
        let tcp = pkt.tcp;
        let icmp = pkt.icmp;
        let (dsize, ip_id, window, seq, ack, itype, icode, icmp_id, icmp_seq);
        if compat {
            let d = match pkt.proto {
                Proto::Tcp => len - 40 - if syn { 44 } else { 0 },
                Proto::Udp => i64::from(pkt.udp_len.unwrap_or(0)) - 8,
                Proto::Icmp => len - 24,
                _ => 0,
            };
            dsize = Some(d.max(0));
            ip_id = Some(i64::from(pkt.ip_id.unwrap_or(0)));
            window = Some(tcp.map_or(0, |t| i64::from(t.window)));
            seq = Some(tcp.and_then(|t| t.seq).map_or(0, i64::from));
            ack = Some(tcp.and_then(|t| t.ack).map_or(0, i64::from));
            itype = Some(icmp.map_or(0, |i| i64::from(i.kind)));
            icode = Some(icmp.map_or(0, |i| i64::from(i.code)));
            // psad's capture shift: for echo and echo reply, "icmp_id" holds
            // the CODE and "icmp_seq" the ICMP ID; otherwise both are unset (0).
            let echo = icmp.filter(|i| i.kind == 0 || i.kind == 8);
            icmp_id = Some(echo.map_or(0, |i| i64::from(i.code)));
            icmp_seq = Some(echo.map_or(0, |i| i64::from(i.id.unwrap_or(0))));
        } else {
            let ip_hdr = if v6 {
                40
            } else {
                20 + opt_bytes(pkt.ip_options)
            };
            dsize = match pkt.proto {
                Proto::Tcp => tcp.map(|t| {
                    let tcp_hdr = if !t.options.is_empty() {
                        20 + opt_bytes(t.options)
                    } else if syn {
                        60
                    } else {
                        20
                    };
                    len - ip_hdr - tcp_hdr
                }),
                Proto::Udp => pkt.udp_len.map(|u| i64::from(u) - 8),
                Proto::Icmp => Some(len - ip_hdr - 8),
                _ => None,
            }
            .map(|d| d.max(0));
            ip_id = pkt.ip_id.map(i64::from);
            window = tcp.map(|t| i64::from(t.window));
            seq = tcp.and_then(|t| t.seq).map(i64::from);
            ack = tcp.and_then(|t| t.ack).map(i64::from);
            itype = icmp.map(|i| i64::from(i.kind));
            icode = icmp.map(|i| i64::from(i.code));
            icmp_id = icmp.and_then(|i| i.id).map(i64::from);
            icmp_seq = icmp.and_then(|i| i.seq).map(i64::from);
        }
        let mut vals = [NONE; 16];
        vals[F_TRUE as usize] = 0;
        let o = |v: Option<i64>| v.unwrap_or(NONE);
        vals[F_TTL as usize] = i64::from(pkt.ttl);
        vals[F_ID as usize] = o(ip_id);
        vals[F_LEN as usize] = len;
        vals[F_PROTO as usize] = i64::from(pkt.proto.number());
        vals[F_WINDOW as usize] = o(window);
        vals[F_SEQ as usize] = o(seq);
        vals[F_ACK as usize] = o(ack);
        vals[F_DSIZE as usize] = o(dsize);
        vals[F_ITYPE as usize] = o(itype);
        vals[F_ICODE as usize] = o(icode);
        vals[F_ICMP_ID as usize] = o(icmp_id);
        vals[F_ICMP_SEQ as usize] = o(icmp_seq);
        // psad treats every IP-level keyword as satisfied for IPv6.
        let have = if compat && v6 {
            0xFF
        } else {
            let mut h = 0;
            if !v6 && !pkt.ip_options.is_empty() {
                h |= REQ_IPOPTS;
            }
            if pkt.src == pkt.dst && pkt.interface() != "lo" {
                h |= REQ_SAME;
            }
            h
        };
        Pkt {
            vals,
            have,
            pkt,
            compat,
            src: pkt.src,
            dst: pkt.dst,
            sport: i64::from(pkt.sport.unwrap_or(0)),
            dport: i64::from(pkt.dport.unwrap_or(0)),
            v6,
            flags,
        }
    }
}

#[inline]
fn chk(r: &Option<IntRange>, v: Option<i64>, compat: bool) -> bool {
    match (r, v) {
        (None, _) => true,
        (Some(r), Some(v)) => r.matches(v, compat),
        (Some(_), None) => false,
    }
}

/// Addresses and (for tcp/udp rules) ports, honouring the direction.
#[inline]
fn header_matches(s: &Signature, p: &Pkt<'_, '_>) -> bool {
    let c = &s.cond;
    let compat = p.compat;
    let ports = matches!(s.kind, SigProto::Tcp | SigProto::Udp);
    // (left addr holds src?, left port holds sport?)
    let try_dir = |addr_fwd: bool, port_fwd: bool| -> bool {
        let (a_src, a_dst) = if addr_fwd {
            (&c.src, &c.dst)
        } else {
            (&c.dst, &c.src)
        };
        let (p_src, p_dst) = if port_fwd {
            (&c.sport, &c.dport)
        } else {
            (&c.dport, &c.sport)
        };
        (!ports || (p_dst.matches(p.dport, compat) && p_src.matches(p.sport, compat)))
            && a_src.matches(p.src, compat)
            && a_dst.matches(p.dst, compat)
    };
    match (c.dir, compat) {
        (Direction::Forward, _) | (Direction::Both, true) => try_dir(true, true),
        // psad swaps the addresses of `<-` rules but not their ports.
        (Direction::Reverse, true) => try_dir(false, true),
        (Direction::Reverse, false) => try_dir(false, false),
        (Direction::Both, false) => try_dir(true, true) || try_dir(false, false),
    }
}

/// IP-level keywords; psad skips them all for IPv6.
#[inline]
fn ip_matches(s: &Signature, p: &Pkt<'_, '_>, set: &SignatureSet) -> bool {
    let c = &s.cond;
    let compat = p.compat;
    if compat && p.v6 {
        return true;
    }
    let pkt = p.pkt;
    if !chk(&c.ttl, Some(i64::from(pkt.ttl)), compat)
        || !chk(&c.id, p.val(F_ID), compat)
        || !chk(&c.ip_len, Some(i64::from(pkt.len)), compat)
    {
        return false;
    }
    if let Some(r) = &c.ip_proto {
        if compat || !r.matches(i64::from(pkt.proto.number()), false) {
            return false;
        }
    }
    if c.sameip && (pkt.interface() == "lo" || p.src != p.dst) {
        return false;
    }
    if let Some(o) = &c.ipopts {
        // IPv6 has no IPv4 options; psad needs logged options even for `any`.
        if p.v6 || pkt.ip_options.is_empty() {
            return false;
        }
        if let IpOptsSpec::Values(want) = o {
            if !intersects(want, &set.ip_options.scan(pkt.ip_options, compat)) {
                return false;
            }
        }
    }
    true
}

/// Protocol keywords of tcp, udp and icmp rules.
#[inline]
fn proto_matches(s: &Signature, p: &Pkt<'_, '_>) -> bool {
    let c = &s.cond;
    let compat = p.compat;
    let dsize = |p: &Pkt<'_, '_>| {
        chk(&c.dsize, p.val(F_DSIZE), compat) && chk(&c.psad_dsize, p.val(F_DSIZE), compat)
    };
    match s.kind {
        SigProto::Tcp => {
            if let Some(f) = &c.flags {
                if !f.matches(p.flags, compat) {
                    return false;
                }
            } else if c.established && !compat && p.flags & TcpFlags::ACK == 0 {
                return false;
            }
            if !compat && p.pkt.tcp.is_none() && (c.flags.is_some() || c.established) {
                return false;
            }
            dsize(p)
                && chk(&c.window, p.val(F_WINDOW), compat)
                && chk(&c.seq, p.val(F_SEQ), compat)
                && chk(&c.ack, p.val(F_ACK), compat)
        }
        SigProto::Udp => dsize(p),
        SigProto::Icmp => {
            dsize(p)
                && chk(&c.itype, p.val(F_ITYPE), compat)
                && chk(&c.icode, p.val(F_ICODE), compat)
                && chk(&c.icmp_seq, p.val(F_ICMP_SEQ), compat)
                && chk(&c.icmp_id, p.val(F_ICMP_ID), compat)
        }
        SigProto::Ip => true,
    }
}

#[inline]
fn rule_matches(s: &Signature, p: &Pkt<'_, '_>, set: &SignatureSet) -> bool {
    header_matches(s, p) && ip_matches(s, p, set) && proto_matches(s, p)
}

/// The rule protocol whose rules apply to a packet protocol (besides `ip`).
fn rule_proto(p: Proto) -> Option<SigProto> {
    match p {
        Proto::Tcp => Some(SigProto::Tcp),
        Proto::Udp => Some(SigProto::Udp),
        Proto::Icmp => Some(SigProto::Icmp),
        _ => None,
    }
}

/// The compiled test of candidate `c` (after its pre-tests passed).
#[inline]
fn fast_matches(mi: &ModeIndex, c: Cand, p: &Pkt<'_, '_>, set: &SignatureSet) -> bool {
    let r = &mi.rules[c.idx as usize];
    let in_range = |v: i64, (lo, hi, neg): (i64, i64, bool)| (v >= lo && v <= hi) != neg;
    if r.simple {
        let dir_ok = |(swap_addr, swap_port): (bool, bool)| {
            let (a_src, a_dst) = if swap_addr {
                (r.dst, r.src)
            } else {
                (r.src, r.dst)
            };
            let (p_src, p_dst) = if swap_port {
                (r.dport, r.sport)
            } else {
                (r.sport, r.dport)
            };
            (!r.ports || (in_range(p.dport, p_dst) && in_range(p.sport, p_src)))
                && a_src.matches(p.src)
                && a_dst.matches(p.dst)
        };
        if !dir_ok(r.dirs[(c.dir & 1) as usize]) {
            return false;
        }
    } else if !header_matches(&set.sigs[c.idx as usize], p) {
        return false;
    }
    let skip_ip = p.compat && p.v6;
    for k in &mi.checks[r.checks.start as usize..r.checks.end as usize] {
        if k.ip && skip_ip {
            continue;
        }
        let v = p.vals[(k.field & 15) as usize];
        if v == NONE || (v >= k.lo && v <= k.hi) == k.neg {
            return false;
        }
    }
    if r.tcp_fields {
        if !p.compat && p.pkt.tcp.is_none() {
            return false;
        }
        if let Some(f) = &r.flags {
            if !f.matches(p.flags, p.compat) {
                return false;
            }
        } else if r.need_ack && p.flags & TcpFlags::ACK == 0 {
            return false;
        }
    }
    !r.extra || skip_ip || ip_matches(&set.sigs[c.idx as usize], p, set)
}

pub(crate) fn match_packet(set: &SignatureSet, pkt: &Packet<'_>, compat: bool, out: &mut Vec<u32>) {
    let p = Pkt::new(pkt, compat);
    match set.index.mode(compat, &set.sigs) {
        Some(mi) => indexed(set, mi, &p, out),
        None => linear(set, &p, !(compat && p.v6), out),
    }
}

/// [`match_packet`] through `memo`: a packet whose values fall in the same
/// classes as a recent one's gets its matches without testing a rule.
pub(crate) fn match_packet_memo(
    set: &SignatureSet,
    pkt: &Packet<'_>,
    compat: bool,
    memo: &mut memo::MatchMemo,
    out: &mut Vec<u32>,
) {
    let p = Pkt::new(pkt, compat);
    let Some(mi) = set.index.mode(compat, &set.sigs) else {
        linear(set, &p, !(compat && p.v6), out);
        return;
    };
    memo.own(set);
    let Some(key) = mi.classes.key(&p, &mut memo.last) else {
        indexed(set, mi, &p, out);
        return;
    };
    if memo.get(&key, out) {
        return;
    }
    indexed(set, mi, &p, out);
    memo.put(key, out);
}

/// Candidates from the mode's index, each tested in full.
fn indexed(set: &SignatureSet, mi: &ModeIndex, p: &Pkt<'_, '_>, out: &mut Vec<u32>) {
    let (pkt, compat) = (p.pkt, p.compat);
    // psad never matches `ip` rules on IPv6 packets.
    let ip_rules = !(compat && p.v6);
    let (list, key) = match pkt.proto {
        Proto::Tcp => (&mi.tcp, p.dport as u32),
        Proto::Udp => (&mi.udp, p.dport as u32),
        Proto::Icmp => (&mi.icmp, pkt.icmp.map_or(0, |i| u32::from(i.kind))),
        _ => (&mi.none, 0),
    };
    // Plain loops: a chained iterator costs a branch per step.
    for part in [list.get(key), list.any(p.flags)] {
        for &c in part {
            if c.pretest(p) && fast_matches(mi, c, p, set) {
                out.push(c.idx);
            }
        }
    }
    // In rule order, as one list per key gave them.
    if out.len() > 1 {
        out.sort_unstable();
        out.dedup();
    }
    let rev = match pkt.proto {
        Proto::Tcp if !compat => Some((&mi.tcp_rev, p.sport as u32)),
        Proto::Udp if !compat => Some((&mi.udp_rev, p.sport as u32)),
        _ => None,
    };
    if let Some((list, key)) = rev {
        let start = out.len();
        for part in [list.get(key), list.any(p.flags)] {
            for &c in part {
                // A `<>` rule may match both ways; report it once.
                if c.pretest(p) && fast_matches(mi, c, p, set) && !out.contains(&c.idx) {
                    out.push(c.idx);
                }
            }
        }
        out[start..].sort_unstable();
    }
    if ip_rules {
        for &c in &mi.ip[(p.have & 3) as usize] {
            if c.pretest(p) && fast_matches(mi, c, p, set) {
                out.push(c.idx);
            }
        }
    }
}

/// Test every rule the slow way (stale index; also the reference the index
/// is tested against).
fn linear(set: &SignatureSet, p: &Pkt<'_, '_>, ip_rules: bool, out: &mut Vec<u32>) {
    let want = rule_proto(p.pkt.proto);
    for pass in [want, ip_rules.then_some(SigProto::Ip)] {
        let Some(kind) = pass else { continue };
        for (i, s) in set.sigs.iter().enumerate() {
            if s.kind == kind && rule_matches(s, p, set) {
                out.push(i as u32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_index() {
        let c = |idx| Cand {
            idx,
            fmask: 0,
            fwant: 0,
            req: 0,
            k: Check::TRUE,
            dir: 0,
        };
        // Keyed rules and those for every key (no flag tests here), in order.
        let ids = |k: &KeyIndex, key: u32| {
            let mut v: Vec<u32> = k.get(key).iter().chain(k.any(0)).map(|c| c.idx).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let e = [
            (c(0), Some((80, 80))),
            (c(1), None),
            (c(2), Some((1, 65535))),
            (c(3), Some((10, 5))),
            (c(4), Some((0, 0))),
        ];
        let k = KeyIndex::build(&e, 65535, 8);
        assert_eq!(ids(&k, 80), [0, 1, 2]);
        assert_eq!(ids(&k, 0), [1, 4]);
        assert_eq!(ids(&k, 81), [1, 2]);
        assert_eq!(ids(&k, 65535), [1, 2]);
        let dup = KeyIndex::build(&[(c(7), Some((1, 100))), (c(7), Some((50, 60)))], 65535, 8);
        assert_eq!(ids(&dup, 55), [7]);
        // Every key agrees with a plain scan of the entries.
        let e: Vec<_> = (0..40u32)
            .map(|i| {
                (
                    c(i),
                    Some((
                        i64::from(i * 977 % 65000),
                        i64::from(i * 977 % 65000 + i * 31),
                    )),
                )
            })
            .chain([(c(99), None)])
            .collect();
        for shift in [0, 4, 8, 12] {
            let k = KeyIndex::build(&e, 65535, shift);
            for key in (0..=65535u32).step_by(7).chain([65535]) {
                let want: Vec<u32> = e
                    .iter()
                    .filter(|(_, r)| {
                        r.is_none_or(|(lo, hi)| lo <= i64::from(key) && i64::from(key) <= hi)
                    })
                    .map(|(c, _)| c.idx)
                    .collect();
                assert_eq!(ids(&k, key), want, "key {key} shift {shift}");
            }
        }
    }
}
