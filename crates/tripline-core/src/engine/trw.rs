//! Threshold Random Walk (Jung, Paxson, Berger, Balakrishnan, IEEE S&P 2004):
//! a sequential hypothesis test on a source's *first contacts* with hosts.
//! A benign host's first contacts mostly succeed; a scanner's mostly fail.
//! Each outcome multiplies a likelihood ratio; crossing the upper threshold
//! declares a scanner after a handful of failures, with chosen detection
//! and false-positive probabilities.
//!
//! It needs to know which first contacts succeeded. Either the firewall logs
//! accepted new connections with their own prefix (a rate-limited
//! `ct state new log prefix "ACCEPT_NEW "` before the accept rule), or the
//! configuration lists the open services (`host:proto/port`).

use crate::net::IpNet;
use crate::packet::Proto;
use std::net::IpAddr;

/// TRW parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct TrwConfig {
    /// Log prefixes of lines that record accepted new connections.
    pub accept_prefixes: Vec<String>,
    /// Services known to be open: a first contact to one succeeds.
    pub open_services: Vec<(IpNet, Proto, u16)>,
    /// P(first contact succeeds | benign), θ0 (paper: 0.8).
    pub theta0: f64,
    /// P(first contact succeeds | scanner), θ1 (paper: 0.2).
    pub theta1: f64,
    /// Wanted detection probability P_D (paper: 0.99).
    pub detection: f64,
    /// Tolerated false-positive probability P_F (paper: 0.01).
    pub false_positive: f64,
    /// Danger level given to a source TRW declares a scanner.
    pub danger_level: u8,
}

impl Default for TrwConfig {
    fn default() -> Self {
        TrwConfig {
            accept_prefixes: Vec::new(),
            open_services: Vec::new(),
            theta0: 0.8,
            theta1: 0.2,
            detection: 0.99,
            false_positive: 0.01,
            danger_level: 2,
        }
    }
}

impl TrwConfig {
    /// (η0, η1): below η0 the source is benign, above η1 a scanner.
    pub fn thresholds(&self) -> (f64, f64) {
        (
            (1.0 - self.detection) / (1.0 - self.false_positive),
            self.detection / self.false_positive,
        )
    }

    /// Whether `prefix` marks an accepted new connection.
    pub fn is_accept(&self, prefix: &str) -> bool {
        self.accept_prefixes.iter().any(|p| p == prefix)
    }

    /// Whether a first contact to `dst` would have succeeded by configuration.
    pub fn is_open(&self, dst: IpAddr, proto: Proto, dport: Option<u16>) -> bool {
        dport.is_some_and(|p| {
            self.open_services
                .iter()
                .any(|(n, pr, port)| n.contains(dst) && *pr == proto && *port == p)
        })
    }
}

/// How many distinct first contacts a source's walk remembers.
const MAX_CONTACTS: usize = 32;

/// The walk of one source.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct TrwState {
    /// ln of the likelihood ratio.
    log_ratio: f64,
    pub failures: u32,
    pub successes: u32,
    /// Set once a threshold was crossed: `Some(true)` scanner, `Some(false)` benign.
    pub decided: Option<bool>,
    contacted: Vec<IpAddr>,
}

impl TrwState {
    /// Record a contact; returns `Some(true)` when this makes the source a scanner.
    pub fn contact(&mut self, cfg: &TrwConfig, dst: IpAddr, success: bool) -> Option<bool> {
        if self.decided.is_some() || self.contacted.contains(&dst) {
            return None;
        }
        if self.contacted.len() < MAX_CONTACTS {
            self.contacted.push(dst);
        }
        if success {
            self.successes += 1;
            self.log_ratio += (cfg.theta1 / cfg.theta0).ln();
        } else {
            self.failures += 1;
            self.log_ratio += ((1.0 - cfg.theta1) / (1.0 - cfg.theta0)).ln();
        }
        let (eta0, eta1) = cfg.thresholds();
        if self.log_ratio >= eta1.ln() {
            self.decided = Some(true);
        } else if self.log_ratio <= eta0.ln() {
            self.decided = Some(false);
        }
        self.decided
    }

    /// The likelihood ratio.
    pub fn ratio(&self) -> f64 {
        self.log_ratio.exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(i: u8) -> IpAddr {
        IpAddr::from([203, 0, 113, i])
    }

    #[test]
    fn four_failed_first_contacts_make_a_scanner_with_the_paper_parameters() {
        let cfg = TrwConfig::default();
        let mut s = TrwState::default();
        for i in 1..=3 {
            assert_eq!(s.contact(&cfg, ip(i), false), None);
        }
        assert_eq!(
            s.contact(&cfg, ip(3), false),
            None,
            "the same host again is not a first contact"
        );
        assert_eq!(s.contact(&cfg, ip(4), false), Some(true));
        assert!(s.ratio() >= 99.0);
    }

    #[test]
    fn mostly_successful_contacts_are_benign() {
        let cfg = TrwConfig::default();
        let mut s = TrwState::default();
        let outcomes = [true, false, true, true, true, true];
        let mut last = None;
        for (i, ok) in outcomes.iter().enumerate() {
            last = s.contact(&cfg, ip(i as u8 + 1), *ok).or(last);
        }
        assert_eq!(s.decided, Some(false));
        assert_ne!(last, Some(true));
    }
}
