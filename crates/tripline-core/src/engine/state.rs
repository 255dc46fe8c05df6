//! Per-source and per-pair scan state, laid out to stay small for the common
//! case: a source with one destination whose packets all look alike (a
//! spoofed flood creates a million of those). Such a pair keeps its one
//! (chain, interface, protocol, prefix, host, flags) combination inline;
//! the first packet that differs, or a signature hit, moves the counters
//! into a boxed `PairDetail`.

pub(crate) use super::view::{IcmpInvalid, SigHit};
use crate::packet::{Chain, Proto, TcpFlags, Timestamp};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Interned name id (log prefix, interface, syslog host).
pub(crate) type NameId = u16;

/// "No name" (no syslog host).
pub(crate) const NO_NAME: NameId = NameId::MAX;

/// Lowest and highest destination port seen for one protocol; `lo > hi` = none yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Span {
    pub lo: u16,
    pub hi: u16,
}

impl Span {
    pub const EMPTY: Span = Span {
        lo: u16::MAX,
        hi: 0,
    };
    pub fn is_empty(self) -> bool {
        self.lo > self.hi
    }
    pub fn add(&mut self, p: u16) {
        self.lo = self.lo.min(p);
        self.hi = self.hi.max(p);
    }
}

/// Index of a port-carrying protocol in `Pair::spans`.
pub(crate) fn span_index(p: Proto) -> Option<usize> {
    match p {
        Proto::Tcp => Some(0),
        Proto::Udp => Some(1),
        Proto::UdpLite => Some(2),
        _ => None,
    }
}

/// Seconds since the epoch in 32 bits (good until 2106), to keep pairs small.
pub(crate) fn secs32(t: Timestamp) -> u32 {
    t.secs().clamp(0, i64::from(u32::MAX)) as u32
}

/// What makes two packets of a pair alike for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Combo {
    pub chain: Chain,
    pub proto: Proto,
    /// TCP flags; meaningful only when `tcp_header` (fragments carry none).
    pub flags: TcpFlags,
    pub tcp_header: bool,
    /// ICMP/ICMPv6 type (0 for other protocols).
    pub icmp_type: u8,
    pub intf: NameId,
    pub prefix: NameId,
    pub host: NameId,
}

/// One (chain, interface, protocol) packet counter of a pair (psad's `chain{}{}{}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChainCount {
    pub chain: Chain,
    pub intf: NameId,
    pub proto: Proto,
    pub count: u32,
}

/// One (chain, prefix) counter of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PrefixCount {
    pub chain: Chain,
    pub prefix: NameId,
    pub count: u32,
}

/// The counters of a pair whose packets differ, plus the rare records.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct PairDetail {
    pub chains: Vec<ChainCount>,
    pub prefixes: Vec<PrefixCount>,
    pub flags: Vec<(TcpFlags, u32)>,
    /// ICMP/ICMPv6 (protocol, type) packet counts.
    pub icmp_types: Vec<(Proto, u8, u32)>,
    pub hosts: Vec<NameId>,
    /// Distinct protocols (bit per protocol number).
    pub protos: [u64; 4],
    pub sigs: Vec<SigHit>,
    pub icmp_invalid: Vec<IcmpInvalid>,
    pub mirai_syn23: u32,
    pub is_masscan: bool,
    pub is_mirai: bool,
    pub is_topera: bool,
}

impl PairDetail {
    fn add(&mut self, c: &Combo, n: u32) {
        if n == 0 {
            return;
        }
        match self
            .chains
            .iter_mut()
            .find(|x| x.chain == c.chain && x.intf == c.intf && x.proto == c.proto)
        {
            Some(x) => x.count += n,
            None => self.chains.push(ChainCount {
                chain: c.chain,
                intf: c.intf,
                proto: c.proto,
                count: n,
            }),
        }
        match self
            .prefixes
            .iter_mut()
            .find(|x| x.chain == c.chain && x.prefix == c.prefix)
        {
            Some(x) => x.count += n,
            None => self.prefixes.push(PrefixCount {
                chain: c.chain,
                prefix: c.prefix,
                count: n,
            }),
        }
        if c.tcp_header {
            match self.flags.iter_mut().find(|f| f.0 == c.flags) {
                Some(f) => f.1 += n,
                None => self.flags.push((c.flags, n)),
            }
        }
        if matches!(c.proto, Proto::Icmp | Proto::Icmp6) {
            match self
                .icmp_types
                .iter_mut()
                .find(|t| t.0 == c.proto && t.1 == c.icmp_type)
            {
                Some(t) => t.2 += n,
                None => self.icmp_types.push((c.proto, c.icmp_type, n)),
            }
        }
        if c.host != NO_NAME && !self.hosts.contains(&c.host) {
            self.hosts.push(c.host);
        }
        let pn = c.proto.number();
        self.protos[(pn / 64) as usize] |= 1u64 << (pn % 64);
    }

    pub fn has_proto(&self, p: Proto) -> bool {
        let pn = p.number();
        self.protos[(pn / 64) as usize] & (1u64 << (pn % 64)) != 0
    }
}

/// State of one (source, destination) pair: psad's `%scan{src}{dst}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pair {
    pub dst: IpAddr,
    /// The combination of every packet while `detail` is `None`.
    pub combo: Combo,
    /// True when the pair had a packet in the current interval.
    pub in_interval: bool,
    /// True once a fragment (or a packet the kernel could not decode past
    /// the IP header) was counted: such packets carry no ports.
    pub fragment: bool,
    /// Packets since `start` (psad `absnum`).
    pub absnum: u32,
    /// psad's `tot_protocols` (compat: bumped per ICMP/numeric packet; fixed: distinct protocols).
    pub tot_protocols: u32,
    /// First and last packet, seconds since the epoch.
    pub start: u32,
    pub last: u32,
    pub spans: [Span; 3],
    pub detail: Option<Box<PairDetail>>,
}

impl Pair {
    pub fn new(dst: IpAddr, now: Timestamp, combo: Combo) -> Pair {
        Pair {
            dst,
            combo,
            in_interval: false,
            fragment: false,
            absnum: 0,
            tot_protocols: 0,
            start: secs32(now),
            last: secs32(now),
            spans: [Span::EMPTY; 3],
            detail: None,
        }
    }

    /// The detail record, created from the inline counters on first use.
    pub fn detail_mut(&mut self) -> &mut PairDetail {
        let (combo, n) = (self.combo, self.absnum);
        self.detail.get_or_insert_with(|| {
            let mut d = Box::<PairDetail>::default();
            d.add(&combo, n);
            d
        })
    }

    /// Whether a packet of protocol `p` was counted before.
    pub fn has_proto(&self, p: Proto) -> bool {
        match &self.detail {
            Some(d) => d.has_proto(p),
            None => self.absnum > 0 && self.combo.proto == p,
        }
    }

    /// Count one packet with combination `c`.
    pub fn count(&mut self, c: &Combo) {
        if self.detail.is_none() && (self.absnum == 0 || self.combo == *c) {
            self.combo = *c;
        } else {
            self.detail_mut().add(c, 1);
        }
        self.absnum = self.absnum.saturating_add(1);
    }

    /// True when every packet was ICMP or ICMPv6 (and none a fragment).
    pub fn icmp_only(&self) -> bool {
        let icmp = |p: Proto| matches!(p, Proto::Icmp | Proto::Icmp6);
        !self.fragment
            && match &self.detail {
                Some(d) => {
                    let (i4, i6) = (Proto::Icmp.number(), Proto::Icmp6.number());
                    let mut only = [0u64; 4];
                    only[(i4 / 64) as usize] |= 1 << (i4 % 64);
                    only[(i6 / 64) as usize] |= 1 << (i6 % 64);
                    d.protos.iter().zip(only).all(|(have, ok)| have & !ok == 0)
                }
                None => icmp(self.combo.proto),
            }
    }

    /// Distinct protocols seen.
    pub fn distinct_protocols(&self) -> u32 {
        match &self.detail {
            Some(d) => d.protos.iter().map(|w| w.count_ones()).sum(),
            None => u32::from(self.absnum > 0),
        }
    }

    /// psad's port range over tcp/udp/udplite: `(min, max)` with `max == 0` meaning none.
    pub fn port_bounds(&self) -> (u16, u16) {
        let mut lo = u16::MAX;
        let mut hi = 0;
        for s in self.spans.iter().filter(|s| !s.is_empty()) {
            lo = lo.min(s.lo);
            hi = hi.max(s.hi);
        }
        (lo, hi)
    }

    /// Counters as lists (for views): chains, prefixes, flags, hosts. A pair
    /// without details has its one combination inline; neither allocates
    /// (a report walks every pair several times).
    pub fn chain_counts(&self) -> impl Iterator<Item = ChainCount> + '_ {
        let one = self.inline().map(|c| ChainCount {
            chain: c.chain,
            intf: c.intf,
            proto: c.proto,
            count: self.absnum,
        });
        self.details(|d| &d.chains).chain(one)
    }

    pub fn prefix_counts(&self) -> impl Iterator<Item = PrefixCount> + '_ {
        let one = self.inline().map(|c| PrefixCount {
            chain: c.chain,
            prefix: c.prefix,
            count: self.absnum,
        });
        self.details(|d| &d.prefixes).chain(one)
    }

    pub fn flag_counts(&self) -> impl Iterator<Item = (TcpFlags, u32)> + '_ {
        let one = self.inline().filter(|c| c.tcp_header);
        self.details(|d| &d.flags)
            .chain(one.map(|c| (c.flags, self.absnum)))
    }

    pub fn icmp_type_counts(&self) -> impl Iterator<Item = (Proto, u8, u32)> + '_ {
        let one = self
            .inline()
            .filter(|c| matches!(c.proto, Proto::Icmp | Proto::Icmp6));
        self.details(|d| &d.icmp_types)
            .chain(one.map(|c| (c.proto, c.icmp_type, self.absnum)))
    }

    pub fn host_ids(&self) -> impl Iterator<Item = NameId> + '_ {
        let one = self.inline().filter(|c| c.host != NO_NAME);
        self.details(|d| &d.hosts).chain(one.map(|c| c.host))
    }

    /// The one combination of a pair without details that saw packets.
    fn inline(&self) -> Option<&Combo> {
        (self.detail.is_none() && self.absnum > 0).then_some(&self.combo)
    }

    /// A list of the pair's details (empty without them).
    fn details<'a, T: Copy + 'a>(
        &'a self,
        list: impl Fn(&PairDetail) -> &Vec<T> + 'a,
    ) -> impl Iterator<Item = T> + 'a {
        self.detail
            .iter()
            .flat_map(move |d| list(d).iter().copied())
    }
}

/// Hash map keyed by attacker-chosen addresses: seeded per process (foldhash).
pub(crate) type AddrMap<V> = std::collections::HashMap<IpAddr, V, foldhash::fast::RandomState>;

/// The destinations of a source: one inline (the common case), or many with an index.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "Vec<Pair>", from = "Vec<Pair>")]
pub(crate) enum Pairs {
    One(Pair),
    Many(Vec<Pair>, AddrMap<u32>),
}

impl Pairs {
    pub fn as_slice(&self) -> &[Pair] {
        match self {
            Pairs::One(p) => std::slice::from_ref(p),
            Pairs::Many(v, _) => v,
        }
    }
    pub fn as_mut_slice(&mut self) -> &mut [Pair] {
        match self {
            Pairs::One(p) => std::slice::from_mut(p),
            Pairs::Many(v, _) => v,
        }
    }
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }
    /// Position of the pair for `dst`, if tracked.
    pub fn find(&self, dst: IpAddr) -> Option<usize> {
        match self {
            Pairs::One(p) => (p.dst == dst).then_some(0),
            Pairs::Many(_, idx) => idx.get(&dst).map(|&i| i as usize),
        }
    }
    /// Replace the pairs with `kept` (after expiry). A source whose pairs all
    /// expired keeps one empty pair so that its state (and DL) stays.
    pub fn retain_from(&mut self, mut kept: Vec<Pair>) {
        if kept.is_empty() {
            let mut p = self.as_slice()[0].clone();
            p.absnum = 0;
            p.tot_protocols = 0;
            p.spans = [Span::EMPTY; 3];
            p.detail = None;
            p.in_interval = false;
            *self = Pairs::One(p);
        } else if kept.len() == 1 {
            *self = Pairs::One(kept.remove(0));
        } else {
            let idx = kept
                .iter()
                .enumerate()
                .map(|(i, p)| (p.dst, i as u32))
                .collect();
            *self = Pairs::Many(kept, idx);
        }
    }

    pub fn push(&mut self, pair: Pair) {
        if let Pairs::One(first) = self {
            let first = first.clone();
            let mut idx = AddrMap::default();
            idx.insert(first.dst, 0);
            *self = Pairs::Many(vec![first], idx);
        }
        if let Pairs::Many(v, idx) = self {
            idx.insert(pair.dst, v.len() as u32);
            v.push(pair);
        }
    }
}

impl From<Pairs> for Vec<Pair> {
    fn from(p: Pairs) -> Vec<Pair> {
        match p {
            Pairs::One(p) => vec![p],
            Pairs::Many(v, _) => v,
        }
    }
}

impl From<Vec<Pair>> for Pairs {
    /// Snapshots always hold at least one pair; an empty list (a corrupt
    /// snapshot) is refused before this by `Engine::restore`.
    fn from(mut v: Vec<Pair>) -> Pairs {
        if v.len() == 1 {
            Pairs::One(v.remove(0))
        } else {
            let idx = v
                .iter()
                .enumerate()
                .map(|(i, p)| (p.dst, i as u32))
                .collect();
            Pairs::Many(v, idx)
        }
    }
}

/// State of one source address.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Source {
    pub src: IpAddr,
    /// Current danger level 0..=5; never lowered by detection.
    pub dl: u8,
    /// psad's per-interval signature DL (compat: last wins; fixed: max).
    pub interval_sig_dl: u8,
    /// True when the source had a packet in the current interval.
    pub in_interval: bool,
    /// Packets counted for the top-attackers table (before auto_dl/signature drops).
    pub packets: u32,
    /// Destinations seen in the current interval (psad's `tot_dsts`, compat).
    pub interval_dsts: u32,
    /// Destinations with at least one counted packet.
    pub dsts: u32,
    pub pairs: Pairs,
}

impl Source {
    pub fn new(src: IpAddr, first: Pair) -> Source {
        Source {
            src,
            dl: 0,
            interval_sig_dl: 0,
            in_interval: false,
            packets: 0,
            interval_dsts: 0,
            dsts: 0,
            pairs: Pairs::One(first),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_stays_small() {
        // The 128-bytes-per-source budget (spec'd for 1 M spoofed sources)
        // rests on these sizes; see ARCHITECTURE.md.
        assert!(
            std::mem::size_of::<Pair>() <= 72,
            "Pair is {}",
            std::mem::size_of::<Pair>()
        );
        assert!(
            std::mem::size_of::<Source>() <= 104,
            "Source is {}",
            std::mem::size_of::<Source>()
        );
    }
}
