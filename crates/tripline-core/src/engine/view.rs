//! Read-only views of engine state, for reports, status and the store.

use super::state::{Pair, Source};
use super::Engine;
use crate::fingerprint::OsGuess;
use crate::packet::{Chain, Proto, TcpFlags, Timestamp};
use std::net::IpAddr;

/// A tracked source.
#[derive(Clone, Copy)]
pub struct SourceView<'a> {
    pub(super) engine: &'a Engine,
    pub(super) src: &'a Source,
    pub(super) idx: u32,
}

/// A (source, destination) pair.
#[derive(Clone, Copy)]
pub struct PairView<'a> {
    engine: &'a Engine,
    pair: &'a Pair,
}

/// Lowest and highest destination port of one protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// Protocol (tcp, udp, udplite).
    pub proto: Proto,
    /// Lowest port.
    pub lo: u16,
    /// Highest port.
    pub hi: u16,
}

/// Hits of one signature on a pair in one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SigHit {
    /// Index into the engine's signature set.
    pub sig: u32,
    /// Chain of the packets.
    pub chain: Chain,
    /// Packets that matched.
    pub count: u32,
    /// Destination port of the last matching packet.
    pub dport: Option<u16>,
    /// TCP flags of the last matching packet.
    pub flags: Option<TcpFlags>,
    /// Protocol of the packets.
    pub proto: Proto,
}

/// An invalid ICMP type (code `None`) or code seen on a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IcmpInvalid {
    /// ICMPv6 rather than ICMP.
    pub v6: bool,
    /// ICMP type.
    pub kind: u8,
    /// The invalid code, or `None` when the type itself is invalid.
    pub code: Option<u8>,
    /// Chain.
    pub chain: Chain,
    /// Packets.
    pub count: u32,
}

impl<'a> SourceView<'a> {
    /// Source address.
    pub fn addr(&self) -> IpAddr {
        self.src.src
    }
    /// Danger level 0..=5 (0: seen, no level yet).
    pub fn danger_level(&self) -> u8 {
        self.src.dl
    }
    fn pairs(&self) -> &'a [Pair] {
        self.src.pairs.as_slice()
    }
    /// Packets counted in detection (psad's `Pkts`: sum over pairs).
    pub fn packets(&self) -> u64 {
        self.pairs().iter().map(|p| u64::from(p.absnum)).sum()
    }
    /// Packets seen from the source before auto_dl/signature drops (top-attackers count).
    pub fn packets_seen(&self) -> u64 {
        u64::from(self.src.packets)
    }
    /// Signature matches recorded.
    pub fn signature_matches(&self) -> u64 {
        self.pairs()
            .iter()
            .filter_map(|p| p.detail.as_ref())
            .flat_map(|d| d.sigs.iter())
            .map(|h| u64::from(h.count))
            .sum()
    }
    /// Distinct (destination, signature) pairs.
    pub fn unique_signatures(&self) -> usize {
        self.pairs()
            .iter()
            .filter_map(|p| p.detail.as_ref())
            .map(|d| {
                let mut s: Vec<u32> = d.sigs.iter().map(|h| h.sig).collect();
                s.sort_unstable();
                s.dedup();
                s.len()
            })
            .sum()
    }
    /// First packet time (whole seconds).
    pub fn first_seen(&self) -> Timestamp {
        let s = self
            .pairs()
            .iter()
            .filter(|p| p.absnum > 0)
            .map(|p| p.start)
            .min()
            .unwrap_or(0);
        Timestamp::from_secs(i64::from(s))
    }
    /// Last packet time (whole seconds).
    pub fn last_seen(&self) -> Timestamp {
        let s = self
            .pairs()
            .iter()
            .filter(|p| p.absnum > 0)
            .map(|p| p.last)
            .max()
            .unwrap_or(0);
        Timestamp::from_secs(i64::from(s))
    }
    /// Destinations, in first-seen order.
    pub fn destinations(&self) -> impl Iterator<Item = PairView<'a>> + 'a {
        let engine = self.engine;
        self.pairs()
            .iter()
            .filter(|p| p.absnum > 0)
            .map(move |pair| PairView { engine, pair })
    }
    /// The TRW walk, when `[trw]` is on: (failed, successful first contacts,
    /// likelihood ratio, decision: `Some(true)` scanner).
    pub fn trw_walk(&self) -> Option<(u32, u32, f64, Option<bool>)> {
        self.engine.trw_walk(self.src.src)
    }
    /// Every passive OS guess (pf.os, then posf, then p0f v3).
    pub fn os_guesses(&self) -> Vec<OsGuess<'a>> {
        let fps = &self.engine.rules().fingerprints;
        self.engine
            .os_state(self.idx)
            .map(|st| st.guesses(fps).collect())
            .unwrap_or_default()
    }
    /// The guesses psad would print: exact pf.os guesses over `@` ones, posf
    /// only when pf.os gave none.
    pub fn os_psad(&self) -> Vec<OsGuess<'a>> {
        let fps = &self.engine.rules().fingerprints;
        self.engine
            .os_state(self.idx)
            .map(|st| st.psad_report(fps).collect())
            .unwrap_or_default()
    }
    /// The p0f v3 match, when a p0f database is loaded.
    pub fn os_p0f3(&self) -> Option<OsGuess<'a>> {
        let fps = &self.engine.rules().fingerprints;
        self.engine.os_state(self.idx).and_then(|st| st.p0f3(fps))
    }
    /// Protocols with a per-protocol record on some pair (psad's `Total protocols`).
    pub fn protocol_count(&self) -> usize {
        let mut seen: Vec<Proto> = Vec::new();
        for p in self.pairs() {
            for c in p.chain_counts() {
                let counted = match c.proto {
                    Proto::Tcp | Proto::Udp | Proto::UdpLite => true,
                    Proto::Icmp | Proto::Icmp6 => p.detail.as_ref().is_some_and(|d| {
                        d.sigs.iter().any(|h| h.proto == c.proto)
                            || d.icmp_invalid
                                .iter()
                                .any(|x| x.v6 == (c.proto == Proto::Icmp6))
                    }),
                    Proto::Other(_) => false,
                };
                if counted && !seen.contains(&c.proto) {
                    seen.push(c.proto);
                }
            }
        }
        seen.len()
    }
}

impl<'a> PairView<'a> {
    /// Destination address.
    pub fn addr(&self) -> IpAddr {
        self.pair.dst
    }
    /// Packets (psad `absnum`).
    pub fn packets(&self) -> u32 {
        self.pair.absnum
    }
    /// psad's `tot_protocols` for the pair.
    pub fn total_protocols(&self) -> u32 {
        self.pair.tot_protocols
    }
    /// Distinct protocol numbers seen.
    pub fn distinct_protocols(&self) -> u32 {
        self.pair.distinct_protocols()
    }
    /// Time of the first packet (whole seconds).
    pub fn start(&self) -> Timestamp {
        Timestamp::from_secs(i64::from(self.pair.start))
    }
    /// Time of the last packet (whole seconds).
    pub fn last(&self) -> Timestamp {
        Timestamp::from_secs(i64::from(self.pair.last))
    }
    /// Destination port ranges per protocol (tcp, udp, udplite order).
    pub fn port_ranges(&self) -> impl Iterator<Item = PortRange> + 'a {
        let protos = [Proto::Tcp, Proto::Udp, Proto::UdpLite];
        self.pair
            .spans
            .iter()
            .zip(protos)
            .filter(|(s, _)| !s.is_empty())
            .map(|(s, proto)| PortRange {
                proto,
                lo: s.lo,
                hi: s.hi,
            })
    }
    /// (chain, interface, protocol, packets) counters.
    pub fn chains(&self) -> impl Iterator<Item = (Chain, &'a str, Proto, u32)> + 'a {
        let e = self.engine;
        self.pair
            .chain_counts()
            .map(move |c| (c.chain, e.name(c.intf), c.proto, c.count))
    }
    /// (chain, log prefix, packets) counters.
    pub fn prefixes(&self) -> impl Iterator<Item = (Chain, &'a str, u32)> + 'a {
        let e = self.engine;
        self.pair
            .prefix_counts()
            .map(move |c| (c.chain, e.name(c.prefix), c.count))
    }
    /// TCP flag combinations and their packet counts.
    pub fn tcp_flags(&self) -> impl Iterator<Item = (TcpFlags, u32)> + 'a {
        self.pair.flag_counts()
    }
    /// ICMP/ICMPv6 (protocol, type, packets).
    pub fn icmp_types(&self) -> impl Iterator<Item = (Proto, u8, u32)> + 'a {
        self.pair.icmp_type_counts()
    }
    /// Signature hits.
    pub fn signatures(&self) -> impl Iterator<Item = SigHit> + 'a {
        self.pair.detail.iter().flat_map(|d| d.sigs.iter().copied())
    }
    /// Invalid ICMP types/codes.
    pub fn icmp_invalid(&self) -> impl Iterator<Item = IcmpInvalid> + 'a {
        self.pair
            .detail
            .iter()
            .flat_map(|d| d.icmp_invalid.iter().copied())
    }
    /// Syslog hostnames that logged the pair.
    pub fn hosts(&self) -> impl Iterator<Item = &'a str> + 'a {
        let e = self.engine;
        self.pair.host_ids().map(move |h| e.name(h))
    }
    fn marker(&self, f: impl Fn(&super::state::PairDetail) -> bool) -> bool {
        self.pair.detail.as_deref().is_some_and(f)
    }
    /// Fragments (or packets the kernel could not decode past IP) were seen.
    pub fn is_fragmented(&self) -> bool {
        self.pair.fragment
    }
    /// Masscan marker (SYN without options after options were seen).
    pub fn is_masscan(&self) -> bool {
        self.marker(|d| d.is_masscan)
    }
    /// Mirai marker (SYN to 2323 after >= 10 SYNs to 23).
    pub fn is_mirai(&self) -> bool {
        self.marker(|d| d.is_mirai)
    }
    /// Topera marker (IPv6 TCP with >= 7 extension-header groups).
    pub fn is_topera(&self) -> bool {
        self.marker(|d| d.is_topera)
    }
}
