//! Danger levels from packet counts, port spans and destination counts (spec §2.3).

use super::{DangerReason, Engine};
use crate::packet::Timestamp;

/// psad's step function: 1 below `t[1]`, 2 below `t[2]`, ..., 5 at or above `t[4]`.
pub(crate) fn level(value: u64, t: &[u64; 5]) -> u8 {
    t[1..].iter().take_while(|&&x| value >= x).count() as u8 + 1
}

impl Engine {
    /// Re-evaluate one pair, raising its source's DL where the thresholds say so.
    pub(super) fn assess(&mut self, si: usize, pi: usize, now: Timestamp) {
        let cfg = &self.config;
        let src = &self.sources[si];
        let pair = &src.pairs.as_slice()[pi];
        let tot_dsts = u64::from(if cfg.psad_compat {
            src.interval_dsts
        } else {
            src.dsts
        });
        let absnum = u64::from(pair.absnum);
        let (lo, hi) = pair.port_bounds();
        // Without ports psad takes the packet count as the "range", so a host
        // that pings every few seconds becomes a scanner. The fixed mode does
        // that only for pairs that are not plain ICMP: fragments and other
        // port-less protocols still count (spec §2.3; docs/psad-compat.md D11).
        let range = if hi != 0 {
            u64::from(hi - lo)
        } else if !cfg.psad_compat && pair.icmp_only() {
            0
        } else {
            absnum
        };
        let uh1 = cfg.unique_hosts[0];
        // psad: DL1_UNIQUE_HOSTS 0 makes every packet qualify; fixed: 0 disables host counting.
        let hosts_hit = if cfg.psad_compat {
            tot_dsts >= uh1
        } else {
            uh1 > 0 && tot_dsts >= uh1
        };
        if absnum < cfg.danger_levels[0] && !hosts_hit {
            return;
        }
        let qualifies = range >= u64::from(cfg.port_range_scan_threshold)
            || u64::from(pair.tot_protocols) >= u64::from(cfg.protocol_scan_threshold)
            || hosts_hit;
        if !qualifies {
            return;
        }
        let by_packets = level(absnum, &cfg.danger_levels);
        let by_hosts = level(tot_dsts, &cfg.unique_hosts);
        let dst = pair.dst;
        let packets = pair.absnum;
        self.raise(si, by_packets, DangerReason::Packets { dst, packets }, now);
        self.raise(
            si,
            by_hosts,
            DangerReason::Hosts {
                destinations: tot_dsts as u32,
            },
            now,
        );
    }

    /// Re-evaluate every pair of a source (when its destination count crosses the sweep gate).
    pub(super) fn assess_source(&mut self, si: usize, now: Timestamp) {
        for pi in 0..self.sources[si].pairs.len() {
            self.assess(si, pi, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::level;

    #[test]
    fn step_function_matches_psad_defaults() {
        let t = [5, 15, 150, 1500, 10000];
        assert_eq!(level(5, &t), 1);
        assert_eq!(level(14, &t), 1);
        assert_eq!(level(15, &t), 2);
        assert_eq!(level(149, &t), 2);
        assert_eq!(level(150, &t), 3);
        assert_eq!(level(1499, &t), 3);
        assert_eq!(level(1500, &t), 4);
        assert_eq!(level(10000, &t), 5);
        assert_eq!(level(0, &t), 1);
    }
}
