//! Decoy sets: `nmap -D` sends the same probes from several (mostly forged)
//! sources at once. Pairs that hit the same destination over the same port
//! span with the same TCP flag combinations, with about as many packets and
//! starting within a short window, are one scan with several members. (Two
//! different scanners run back to back differ in their flags.)

use super::view::SourceView;
use crate::packet::Proto;
use std::collections::HashMap;
use std::net::IpAddr;

/// Start times of the members may differ by at most this many seconds.
const WINDOW_SECS: u32 = 60;

/// Fewer packets than this per member is too little to tell a set from chance.
const MIN_PACKETS: u32 = 5;

/// One decoy set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoyGroup {
    /// The destination they all scanned.
    pub dst: IpAddr,
    /// Protocol of the port span.
    pub proto: Proto,
    /// Lowest port.
    pub lo: u16,
    /// Highest port.
    pub hi: u16,
    /// Members (sorted), each with its packet count.
    pub members: Vec<(IpAddr, u32)>,
}

/// Find decoy sets among `sources` (all shards' sources together).
pub fn decoy_groups<'a>(sources: impl IntoIterator<Item = SourceView<'a>>) -> Vec<DecoyGroup> {
    type Key = (IpAddr, Proto, u16, u16, Vec<u8>);
    let mut buckets: HashMap<Key, Vec<(u32, IpAddr, u32)>> = HashMap::new();
    for s in sources {
        for p in s.destinations() {
            if p.packets() < MIN_PACKETS {
                continue;
            }
            let mut flags: Vec<u8> = p.tcp_flags().map(|(f, _)| f.0).collect();
            flags.sort_unstable();
            for r in p.port_ranges() {
                if r.hi > r.lo {
                    let start = p.start().secs().clamp(0, i64::from(u32::MAX)) as u32;
                    let key = (p.addr(), r.proto, r.lo, r.hi, flags.clone());
                    buckets
                        .entry(key)
                        .or_default()
                        .push((start, s.addr(), p.packets()));
                }
            }
        }
    }
    let mut groups = Vec::new();
    for ((dst, proto, lo, hi, _), mut v) in buckets {
        if v.len() < 2 {
            continue;
        }
        v.sort_unstable();
        let mut i = 0;
        while i < v.len() {
            let (t0, _, n0) = v[i];
            let mut members: Vec<(IpAddr, u32)> = vec![(v[i].1, n0)];
            let mut j = i + 1;
            while j < v.len() && v[j].0 - t0 <= WINDOW_SECS {
                let n = v[j].2;
                // Within 20 % of the first member's packet count.
                if n.abs_diff(n0) * 5 <= n0.max(n) {
                    members.push((v[j].1, n));
                }
                j += 1;
            }
            if members.len() >= 2 {
                members.sort_unstable();
                groups.push(DecoyGroup {
                    dst,
                    proto,
                    lo,
                    hi,
                    members,
                });
            }
            i = j;
        }
    }
    groups.sort_by(|a, b| (a.dst, a.lo, a.hi, &a.members).cmp(&(b.dst, b.lo, b.hi, &b.members)));
    groups
}
