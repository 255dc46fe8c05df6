//! Per-source and per-pair scan state, laid out to stay small for the common
//! one-destination source (spoofed floods create a million of those).

use crate::packet::{Chain, Proto, TcpFlags, Timestamp};
use std::net::IpAddr;

/// Interned name id (log prefix or interface).
pub(crate) type NameId = u16;

/// Lowest and highest destination port seen for one protocol; `lo > hi` = none yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// One (chain, interface, protocol) packet counter of a pair (psad's `chain{}{}{}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChainCount {
    pub chain: Chain,
    pub intf: NameId,
    pub proto: Proto,
    pub count: u32,
}

/// One (chain, prefix) counter of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PrefixCount {
    pub chain: Chain,
    pub prefix: NameId,
    pub count: u32,
}

/// Signature hits of one rule for a pair, per chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SigHit {
    pub sig: u32,
    pub chain: Chain,
    pub count: u32,
    pub dport: Option<u16>,
    pub flags: Option<TcpFlags>,
    pub proto: Proto,
}

/// Invalid ICMP type/code counters of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IcmpInvalid {
    pub v6: bool,
    pub kind: u8,
    /// `None`: the type is invalid; `Some(code)`: the code is invalid for the type.
    pub code: Option<u8>,
    pub chain: Chain,
    pub count: u32,
}

/// The rarely needed part of a pair, boxed so that a plain pair stays small.
#[derive(Debug, Clone, Default)]
pub(crate) struct PairDetail {
    pub chains: Vec<ChainCount>,
    pub prefixes: Vec<PrefixCount>,
    pub flags: Vec<(TcpFlags, u32)>,
    pub sigs: Vec<SigHit>,
    pub icmp_invalid: Vec<IcmpInvalid>,
    /// Distinct protocols (bit per protocol number) for the fixed protocol count.
    pub protos: [u64; 4],
    pub hosts: Vec<NameId>,
    pub mirai_syn23: u32,
    pub is_masscan: bool,
    pub is_mirai: bool,
    pub is_topera: bool,
}

/// State of one (source, destination) pair: psad's `%scan{src}{dst}`.
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    pub dst: IpAddr,
    /// Packets since `start` (psad `absnum`).
    pub absnum: u32,
    /// psad's `tot_protocols` (compat: bumped per ICMP/numeric packet; fixed: distinct protocols).
    pub tot_protocols: u32,
    pub start: Timestamp,
    pub last: Timestamp,
    pub spans: [Span; 3],
    /// True when the pair had a packet in the current interval.
    pub in_interval: bool,
    pub detail: Box<PairDetail>,
}

impl Pair {
    pub fn new(dst: IpAddr, now: Timestamp) -> Pair {
        Pair {
            dst,
            absnum: 0,
            tot_protocols: 0,
            start: now,
            last: now,
            spans: [Span::EMPTY; 3],
            in_interval: false,
            detail: Box::default(),
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
}

/// State of one source address.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub src: IpAddr,
    /// Current danger level 0..=5; never lowered by detection.
    pub dl: u8,
    /// psad's per-interval signature DL (compat: last wins; fixed: max).
    pub interval_sig_dl: u8,
    /// Packets counted for the top-attackers table (before auto_dl/signature drops).
    pub packets: u64,
    /// Signature matches recorded for this source.
    pub sig_matches: u64,
    pub first: Timestamp,
    pub last: Timestamp,
    /// True when the source had a packet in the current interval.
    pub in_interval: bool,
    /// Destinations seen in the current interval (psad's `tot_dsts`, compat).
    pub interval_dsts: u32,
    pub pairs: Vec<Pair>,
}

impl Source {
    pub fn new(src: IpAddr, now: Timestamp) -> Source {
        Source {
            src,
            dl: 0,
            interval_sig_dl: 0,
            packets: 0,
            sig_matches: 0,
            first: now,
            last: now,
            in_interval: false,
            interval_dsts: 0,
            pairs: Vec::new(),
        }
    }
}
