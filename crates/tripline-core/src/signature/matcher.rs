//! Matching packets against a [`SignatureSet`] (spec §3.3).
//!
//! Rules are indexed per protocol: tcp and udp rules by destination-port
//! range, icmp rules by `itype` range, `ip` rules in one list. A lookup is a
//! binary search over range boundaries, giving a precomputed slice of
//! candidate rules; only those are tested. Rules whose key can lie anywhere
//! (negated ranges, `<-`/`<>` rules, icmp rules without `itype`) sit in every
//! slice. No allocation happens per packet.

use super::ipopts::intersects;
use super::range::IntRange;
use super::rule::{Direction, IpOptsSpec, SigProto};
use super::{Signature, SignatureSet};
use crate::packet::{Packet, Proto, TcpFlags};
use std::net::IpAddr;

/// Candidate lists for one key (destination port or ICMP type).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct KeyIndex {
    /// Sorted first key of each segment; `starts[0] == 0`.
    starts: Vec<u32>,
    /// `rules[offs[k]..offs[k + 1]]` are the candidates of segment `k`.
    offs: Vec<u32>,
    rules: Vec<u32>,
}

impl KeyIndex {
    /// Build from (rule, key range or `None` = every key) entries over
    /// keys `0..=max`. A rule may have several entries.
    fn build(entries: &[(u32, Option<(i64, i64)>)], max: i64) -> KeyIndex {
        let mut starts = vec![0i64];
        for (_, r) in entries {
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
        let mut idx = KeyIndex::default();
        idx.offs.push(0);
        for &s in &starts {
            let from = idx.rules.len();
            for (rule, r) in entries {
                if r.is_none_or(|(lo, hi)| lo <= s && s <= hi) {
                    idx.rules.push(*rule);
                }
            }
            idx.rules[from..].sort_unstable();
            let mut seg: Vec<u32> = idx.rules.split_off(from);
            seg.dedup();
            idx.rules.extend(seg);
            idx.offs.push(idx.rules.len() as u32);
            idx.starts.push(s as u32);
        }
        idx
    }

    #[inline]
    fn get(&self, key: u32) -> &[u32] {
        let k = self.starts.partition_point(|&s| s <= key);
        if k == 0 {
            return &[];
        }
        &self.rules[self.offs[k - 1] as usize..self.offs[k] as usize]
    }
}

/// The per-protocol candidate index of a signature set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Index {
    /// Number of rules indexed; a mismatch with the set means "stale".
    n: usize,
    tcp: KeyIndex,
    udp: KeyIndex,
    icmp: KeyIndex,
    ip: Vec<u32>,
}

impl Index {
    pub(crate) fn build(sigs: &[Signature]) -> Index {
        let (mut tcp, mut udp, mut icmp, mut ip) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, s) in sigs.iter().enumerate() {
            let i = i as u32;
            let c = &s.cond;
            match s.kind {
                SigProto::Tcp | SigProto::Udp => {
                    let list = if s.kind == SigProto::Tcp {
                        &mut tcp
                    } else {
                        &mut udp
                    };
                    list.push((i, c.dport.superset()));
                    // `<-` and `<>` may test the packet's dport against the left port.
                    if c.dir != Direction::Forward {
                        list.push((i, c.sport.superset()));
                    }
                }
                SigProto::Icmp => icmp.push((i, c.itype.as_ref().and_then(IntRange::superset))),
                SigProto::Ip => ip.push(i),
            }
        }
        Index {
            n: sigs.len(),
            tcp: KeyIndex::build(&tcp, 65535),
            udp: KeyIndex::build(&udp, 65535),
            icmp: KeyIndex::build(&icmp, 255),
            ip,
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
    ip_id: Option<i64>,
    dsize: Option<i64>,
    window: Option<i64>,
    seq: Option<i64>,
    ack: Option<i64>,
    itype: Option<i64>,
    icode: Option<i64>,
    icmp_id: Option<i64>,
    icmp_seq: Option<i64>,
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
        Pkt {
            pkt,
            compat,
            src: pkt.src,
            dst: pkt.dst,
            sport: i64::from(pkt.sport.unwrap_or(0)),
            dport: i64::from(pkt.dport.unwrap_or(0)),
            v6,
            flags,
            ip_id,
            dsize,
            window,
            seq,
            ack,
            itype,
            icode,
            icmp_id,
            icmp_seq,
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
        || !chk(&c.id, p.ip_id, compat)
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
    let dsize =
        |p: &Pkt<'_, '_>| chk(&c.dsize, p.dsize, compat) && chk(&c.psad_dsize, p.dsize, compat);
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
                && chk(&c.window, p.window, compat)
                && chk(&c.seq, p.seq, compat)
                && chk(&c.ack, p.ack, compat)
        }
        SigProto::Udp => dsize(p),
        SigProto::Icmp => {
            dsize(p)
                && chk(&c.itype, p.itype, compat)
                && chk(&c.icode, p.icode, compat)
                && chk(&c.icmp_seq, p.icmp_seq, compat)
                && chk(&c.icmp_id, p.icmp_id, compat)
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

pub(crate) fn match_packet(set: &SignatureSet, pkt: &Packet<'_>, compat: bool, out: &mut Vec<u32>) {
    let p = Pkt::new(pkt, compat);
    // psad never matches `ip` rules on IPv6 packets.
    let ip_rules = !(compat && p.v6);
    let idx = &set.index;
    if idx.n != set.sigs.len() {
        let want = rule_proto(pkt.proto);
        for pass in [want, ip_rules.then_some(SigProto::Ip)] {
            let Some(kind) = pass else { continue };
            for (i, s) in set.sigs.iter().enumerate() {
                if s.kind == kind && rule_matches(s, &p, set) {
                    out.push(i as u32);
                }
            }
        }
        return;
    }
    let cands: &[u32] = match pkt.proto {
        Proto::Tcp => idx.tcp.get(p.dport as u32),
        Proto::Udp => idx.udp.get(p.dport as u32),
        Proto::Icmp => idx.icmp.get(pkt.icmp.map_or(0, |i| u32::from(i.kind))),
        _ => &[],
    };
    for &i in cands {
        if rule_matches(&set.sigs[i as usize], &p, set) {
            out.push(i);
        }
    }
    if ip_rules {
        for &i in &idx.ip {
            if rule_matches(&set.sigs[i as usize], &p, set) {
                out.push(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_index() {
        let e = [
            (0, Some((80, 80))),
            (1, None),
            (2, Some((1, 65535))),
            (3, Some((10, 5))),
            (4, Some((0, 0))),
        ];
        let k = KeyIndex::build(&e, 65535);
        assert_eq!(k.get(80), [0, 1, 2]);
        assert_eq!(k.get(0), [1, 4]);
        assert_eq!(k.get(81), [1, 2]);
        assert_eq!(k.get(65535), [1, 2]);
        let dup = KeyIndex::build(&[(7, Some((1, 100))), (7, Some((50, 60)))], 65535);
        assert_eq!(dup.get(55), [7]);
    }
}
