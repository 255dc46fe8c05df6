//! Blocking policy (spec §6), pure: which source to block, what to block (the address or
//! its IPv6 prefix), for how long, when to renew, and the blocks-a-minute cap. The shell
//! applies the decisions to the kernel; time comes in with every call.

use crate::config::blocking::BlockingConfig;
use crate::net::IpNet;
use crate::packet::Timestamp;
use std::collections::VecDeque;
use std::net::IpAddr;

/// Why a source reaching the blocking level is not blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Its danger level is below `AUTO_IDS_DANGER_LEVEL`.
    BelowLevel,
    /// The network to block overlaps the safelist (configured, own addresses, gateways,
    /// resolvers, loopback, link-local...).
    Safelisted,
    /// An auto_dl DL-0 entry covers it (psad's whitelist).
    AutoDlIgnored,
    /// `ENABLE_AUTO_IDS_REGEX`: none of its log prefixes matched `AUTO_BLOCK_REGEX`.
    PrefixMismatch,
    /// The blocks-a-minute cap was reached.
    RateLimited,
}

impl Skip {
    /// A short reason for logs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::BelowLevel => "below auto-block danger level",
            Skip::Safelisted => "safelisted",
            Skip::AutoDlIgnored => "auto_dl DL 0",
            Skip::PrefixMismatch => "no log prefix matches AUTO_BLOCK_REGEX",
            Skip::RateLimited => "blocks-a-minute cap reached",
        }
    }
}

/// What to do about a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Block `net`; `timeout_secs` 0 = permanent.
    Block {
        /// The network to block (the address, or its IPv6 prefix).
        net: IpNet,
        /// Seconds, 0 = until unblocked by hand.
        timeout_secs: u64,
    },
    /// Leave it alone.
    Skip(Skip),
}

/// The set of networks that must never be blocked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Safelist {
    nets: Vec<IpNet>,
}

impl Safelist {
    /// A safelist of `nets` plus the built-in ranges (see [`Safelist::is_builtin`]).
    pub fn new(nets: impl IntoIterator<Item = IpNet>) -> Safelist {
        let mut s = Safelist { nets: Vec::new() };
        for n in nets {
            s.add(n);
        }
        s
    }
    /// Adds a network.
    pub fn add(&mut self, net: IpNet) {
        if !self.nets.contains(&net) {
            self.nets.push(net);
        }
    }
    /// The configured and discovered networks (without built-ins).
    pub fn nets(&self) -> &[IpNet] {
        &self.nets
    }
    /// Loopback, unspecified, link-local, multicast and broadcast: never a real attacker
    /// we could usefully block, and blocking them breaks the host.
    pub fn is_builtin(ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => {
                a.is_loopback()
                    || a.is_unspecified()
                    || a.is_link_local()
                    || a.is_multicast()
                    || a.is_broadcast()
            }
            IpAddr::V6(a) => {
                a.is_loopback()
                    || a.is_unspecified()
                    || a.is_multicast()
                    || (a.segments()[0] & 0xffc0) == 0xfe80
                    || a.to_ipv4_mapped()
                        .is_some_and(|v4| Safelist::is_builtin(IpAddr::V4(v4)))
            }
        }
    }
    /// True if blocking `net` would touch a safelisted address: either network contains
    /// the other, or `net` holds a built-in address or is a whole built-in range.
    pub fn protects(&self, net: IpNet) -> bool {
        if Safelist::is_builtin(net.addr) || net.prefix == 0 {
            return true;
        }
        let last = last_addr(net);
        if Safelist::is_builtin(last) {
            return true;
        }
        self.nets
            .iter()
            .any(|s| s.contains(net.addr) || net.contains(s.addr))
    }
}

fn last_addr(net: IpNet) -> IpAddr {
    match net.addr {
        IpAddr::V4(a) => {
            let host = if net.prefix >= 32 {
                0
            } else {
                u32::MAX >> net.prefix
            };
            IpAddr::V4((u32::from(a) | host).into())
        }
        IpAddr::V6(a) => {
            let host = if net.prefix >= 128 {
                0
            } else {
                u128::MAX >> net.prefix
            };
            IpAddr::V6((u128::from(a) | host).into())
        }
    }
}

/// The blocking decisions of one daemon.
#[derive(Debug, Clone)]
pub struct Policy {
    cfg: BlockingConfig,
    regex: Option<regex::Regex>,
    safelist: Safelist,
    never: Vec<IpNet>,
    recent: VecDeque<Timestamp>,
}

impl Policy {
    /// A policy; `safelist` holds the configured and discovered networks, `never` the
    /// auto_dl DL-0 networks. Fails if `AUTO_BLOCK_REGEX` does not compile.
    pub fn new(
        cfg: &BlockingConfig,
        safelist: Safelist,
        never: Vec<IpNet>,
    ) -> Result<Policy, String> {
        let regex = match &cfg.prefix_regex {
            Some(r) => {
                Some(regex::Regex::new(r).map_err(|e| format!("AUTO_BLOCK_REGEX {r:?}: {e}"))?)
            }
            None => None,
        };
        Ok(Policy {
            cfg: cfg.clone(),
            regex,
            safelist,
            never,
            recent: VecDeque::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &BlockingConfig {
        &self.cfg
    }

    /// The safelist in force.
    pub fn safelist(&self) -> &Safelist {
        &self.safelist
    }

    /// What a block of `src` covers: the address, or its IPv6 prefix when configured.
    pub fn target(&self, src: IpAddr) -> IpNet {
        match (src, self.cfg.ipv6_prefix) {
            (IpAddr::V6(_), Some(p)) if src.to_canonical().is_ipv6() => {
                IpNet::new(src, p).unwrap_or_else(|| IpNet::host(src))
            }
            _ => IpNet::host(src),
        }
    }

    /// `AUTO_BLOCK_DLn_TIMEOUT` for a danger level (0 = permanent).
    pub fn timeout_for(&self, dl: u8) -> u64 {
        let i = usize::from(dl.clamp(1, 5)) - 1;
        self.cfg.timeouts[i]
    }

    /// Why `net` may not be blocked at all (safelist, auto_dl DL 0), for manual blocks too.
    pub fn refuse(&self, net: IpNet) -> Option<Skip> {
        if self.safelist.protects(net) {
            return Some(Skip::Safelisted);
        }
        if self
            .never
            .iter()
            .any(|n| n.contains(net.addr) || net.contains(n.addr))
        {
            return Some(Skip::AutoDlIgnored);
        }
        None
    }

    /// The decision for `src` at danger level `dl` whose log prefixes are `prefixes`.
    /// A `Block` verdict counts against the blocks-a-minute cap; call it only for sources
    /// not blocked yet (renewals use [`Policy::renewal`]).
    pub fn decide<'p>(
        &mut self,
        now: Timestamp,
        src: IpAddr,
        dl: u8,
        prefixes: impl IntoIterator<Item = &'p str>,
    ) -> Verdict {
        if dl == 0 || dl < self.cfg.danger_level {
            return Verdict::Skip(Skip::BelowLevel);
        }
        let net = self.target(src);
        if let Some(why) = self.refuse(net) {
            return Verdict::Skip(why);
        }
        if let Some(re) = &self.regex {
            if !prefixes.into_iter().any(|p| re.is_match(p)) {
                return Verdict::Skip(Skip::PrefixMismatch);
            }
        }
        if !self.admit(now) {
            return Verdict::Skip(Skip::RateLimited);
        }
        Verdict::Block {
            net,
            timeout_secs: self.timeout_for(dl),
        }
    }

    /// Rate cap: true (and counted) if another block fits in the last 60 s.
    fn admit(&mut self, now: Timestamp) -> bool {
        if self.cfg.max_per_minute == 0 {
            return true;
        }
        let minute = Timestamp::from_secs(60);
        while self
            .recent
            .front()
            .is_some_and(|t| t.0.saturating_add(minute.0) <= now.0)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= self.cfg.max_per_minute as usize {
            return false;
        }
        self.recent.push_back(now);
        true
    }

    /// Renewal of an existing block of a source now at `dl` that was seen again:
    /// `Some(new timeout)` when the block should be re-armed from `now` (the timeout of the
    /// current DL, psad §6.3), `None` to leave it. `remaining_secs` is `None` for a
    /// permanent block. Re-arming only once half the time has passed keeps a busy source
    /// from rewriting the kernel set on every event.
    pub fn renewal(&self, dl: u8, remaining_secs: Option<u64>) -> Option<u64> {
        let remaining = remaining_secs?;
        let t = self.timeout_for(dl);
        if t == 0 {
            return Some(0);
        }
        (remaining < t / 2 + 1).then_some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }
    fn cfg() -> BlockingConfig {
        BlockingConfig {
            enabled: true,
            danger_level: 3,
            timeouts: [10, 20, 30, 40, 0],
            max_per_minute: 2,
            ..BlockingConfig::default()
        }
    }

    #[test]
    fn level_timeout_and_cap() {
        let mut p = Policy::new(&cfg(), Safelist::default(), vec![]).unwrap();
        let t0 = Timestamp::from_secs(1000);
        assert_eq!(
            p.decide(t0, ip("198.51.100.7"), 2, []),
            Verdict::Skip(Skip::BelowLevel)
        );
        assert_eq!(
            p.decide(t0, ip("198.51.100.7"), 4, []),
            Verdict::Block {
                net: net("198.51.100.7/32"),
                timeout_secs: 40
            }
        );
        assert!(matches!(
            p.decide(t0, ip("198.51.100.8"), 5, []),
            Verdict::Block {
                timeout_secs: 0,
                ..
            }
        ));
        assert_eq!(
            p.decide(t0, ip("198.51.100.9"), 5, []),
            Verdict::Skip(Skip::RateLimited)
        );
        let later = Timestamp::from_secs(1060);
        assert!(matches!(
            p.decide(later, ip("198.51.100.9"), 5, []),
            Verdict::Block { .. }
        ));
    }

    #[test]
    fn safelist_always_wins() {
        let mut c = cfg();
        c.ipv6_prefix = Some(64);
        let safe = Safelist::new([net("198.51.100.1"), net("2001:db8:5::1")]);
        let mut p = Policy::new(&c, safe, vec![net("203.0.113.0/24")]).unwrap();
        let t = Timestamp::from_secs(5);
        for (src, why) in [
            ("198.51.100.1", Skip::Safelisted),
            ("127.0.0.1", Skip::Safelisted),
            ("169.254.3.4", Skip::Safelisted),
            ("fe80::1", Skip::Safelisted),
            ("::1", Skip::Safelisted),
            ("0.0.0.0", Skip::Safelisted),
            ("224.0.0.1", Skip::Safelisted),
            // The /64 of this address holds a safelisted one.
            ("2001:db8:5::99", Skip::Safelisted),
            ("203.0.113.77", Skip::AutoDlIgnored),
        ] {
            assert_eq!(p.decide(t, ip(src), 5, []), Verdict::Skip(why), "{src}");
        }
        assert_eq!(
            p.decide(t, ip("2001:db8:6::99"), 5, []),
            Verdict::Block {
                net: net("2001:db8:6::/64"),
                timeout_secs: 0
            }
        );
        assert_eq!(p.refuse(net("198.51.100.0/24")), Some(Skip::Safelisted));
        assert_eq!(p.refuse(net("0.0.0.0/0")), Some(Skip::Safelisted));
        assert_eq!(p.refuse(net("198.51.100.64/26")), None);
    }

    #[test]
    fn prefix_regex_and_renewal() {
        let mut c = cfg();
        c.prefix_regex = Some("ESTAB".into());
        c.max_per_minute = 0;
        let mut p = Policy::new(&c, Safelist::default(), vec![]).unwrap();
        let t = Timestamp::from_secs(5);
        assert_eq!(
            p.decide(t, ip("198.51.100.7"), 5, ["DROP "]),
            Verdict::Skip(Skip::PrefixMismatch)
        );
        assert!(matches!(
            p.decide(t, ip("198.51.100.7"), 5, ["DROP ", "[1] SID2003 ESTAB"]),
            Verdict::Block { .. }
        ));
        assert_eq!(p.renewal(3, Some(29)), None);
        assert_eq!(p.renewal(3, Some(10)), Some(30));
        assert_eq!(p.renewal(5, Some(10)), Some(0), "DL 5 blocks are permanent");
        assert_eq!(p.renewal(3, None), None);
        c.prefix_regex = Some("(".into());
        assert!(Policy::new(&c, Safelist::default(), vec![]).is_err());
    }
}
