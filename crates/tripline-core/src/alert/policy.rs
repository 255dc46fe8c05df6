//! When to alert: psad's `scan_logr()` rules (spec §5.1) as a state machine.
//!
//! psad builds an alert for every source with packets in every 5-second interval
//! (`ALERT_ALL Y`), which floods on long scans (mrash/psad#64). The default mode alerts
//! when a source first reaches the alert level, when its level rises, and (with
//! `ALERT_ALL`) at most once per `CHECK_INTERVAL` when new ports, destinations or
//! signatures appeared. `psad_compat` alerts on any new packet instead, and reproduces the
//! `EMAIL_THROTTLE` bug (skips every Nth alert instead of sending one in N).

use super::Trigger;
use crate::packet::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;

/// The policy's settings (psad variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    /// Lowest danger level that produces any alert (`MIN_DANGER_LEVEL`, and at least 1).
    pub min_danger_level: u8,
    /// `ALERT_ALL`.
    pub alert_all: bool,
    /// `EMAIL_LIMIT` (0 = unlimited).
    pub limit: u64,
    /// `ENABLE_EMAIL_LIMIT_PER_DST`: count per (source, destination).
    pub limit_per_dst: bool,
    /// `EMAIL_LIMIT_STATUS_MSG`.
    pub limit_status_msg: bool,
    /// `EMAIL_THROTTLE` (0 or 1 = off).
    pub throttle: u64,
    /// `CHECK_INTERVAL` in seconds: the shortest gap between two new-evidence alerts.
    pub check_interval_secs: u64,
    /// psad 2.4.6 behaviour.
    pub psad_compat: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            min_danger_level: 1,
            alert_all: true,
            limit: 0,
            limit_per_dst: false,
            limit_status_msg: true,
            throttle: 0,
            check_interval_secs: 5,
            psad_compat: false,
        }
    }
}

/// What a source looks like now, as far as the policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Evidence {
    /// Danger level.
    pub dl: u8,
    /// Destinations.
    pub destinations: u64,
    /// Sum over destinations and protocols of the port span widths.
    pub port_span: u64,
    /// Distinct (destination, signature) matches.
    pub signatures: u64,
    /// Packets (only compared in psad-compat mode).
    pub packets: u64,
    /// The destination to count against with `ENABLE_EMAIL_LIMIT_PER_DST`.
    pub dst: Option<IpAddr>,
}

/// What made the shell ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The engine raised the source's danger level.
    DangerRaised {
        /// Level before.
        from: u8,
    },
    /// A signature matched, or the periodic check found the source active.
    Activity,
}

/// The policy's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Alert now.
    Alert {
        /// Why.
        trigger: Trigger,
        /// The source's (or pair's) alert count, this one included.
        count: u64,
        /// Danger level at the previous alert (0 if none).
        previous_dl: u8,
    },
    /// The limit was just reached: send the status message (once).
    LimitReached {
        /// Alerts sent before.
        count: u64,
    },
    /// Nothing to say.
    Quiet,
    /// An alert was due but `EMAIL_LIMIT` suppressed it.
    SuppressedLimit,
    /// An alert was due but `EMAIL_THROTTLE` skipped it.
    SuppressedThrottle,
}

/// Counters for the status output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PolicyStats {
    /// Alerts produced.
    pub alerts: u64,
    /// Alerts suppressed by `EMAIL_LIMIT`.
    pub suppressed_limit: u64,
    /// Alerts skipped by `EMAIL_THROTTLE`.
    pub suppressed_throttle: u64,
    /// Limit-reached status messages.
    pub limit_messages: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SrcState {
    count: u64,
    last_dl: u8,
    last: Evidence,
    last_at: Option<Timestamp>,
    limit_reported: bool,
}

/// psad's when-to-alert rules; one per process (state per source).
#[derive(Debug, Clone, Default)]
pub struct AlertPolicy {
    cfg: PolicyConfig,
    srcs: HashMap<IpAddr, SrcState>,
    pairs: HashMap<(IpAddr, IpAddr), (u64, bool)>,
    stats: PolicyStats,
}

/// The policy's memory (alerts per source and destination, counters), to
/// carry across a restart: a source that alerted before does not alert
/// "for the first time" again, and `EMAIL_LIMIT` keeps counting.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PolicySnapshot {
    srcs: Vec<(IpAddr, SrcState)>,
    pairs: Vec<((IpAddr, IpAddr), (u64, bool))>,
    stats: PolicyStats,
}

impl AlertPolicy {
    /// The memory to save.
    pub fn snapshot(&self) -> PolicySnapshot {
        PolicySnapshot {
            srcs: self.srcs.iter().map(|(k, v)| (*k, v.clone())).collect(),
            pairs: self.pairs.iter().map(|(k, v)| (*k, *v)).collect(),
            stats: self.stats,
        }
    }

    /// Take back saved memory (the settings stay as they are).
    pub fn restore(&mut self, s: PolicySnapshot) {
        self.srcs = s.srcs.into_iter().collect();
        self.pairs = s.pairs.into_iter().collect();
        self.stats = s.stats;
    }

    /// A policy with no history.
    pub fn new(cfg: PolicyConfig) -> AlertPolicy {
        AlertPolicy {
            cfg,
            ..AlertPolicy::default()
        }
    }

    /// New settings (SIGHUP), keeping every source's history and the counters.
    pub fn set_config(&mut self, cfg: PolicyConfig) {
        self.cfg = cfg;
    }

    /// The settings.
    pub fn config(&self) -> &PolicyConfig {
        &self.cfg
    }

    /// Counters so far.
    pub fn stats(&self) -> PolicyStats {
        self.stats
    }

    /// Sources that have alerted (the shell re-checks them each interval for `ALERT_ALL`).
    pub fn alerted_sources(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.srcs.keys().copied()
    }

    /// Decide for `src`, whose state is `ev`, at `now`.
    pub fn decide(&mut self, src: IpAddr, ev: Evidence, cause: Cause, now: Timestamp) -> Verdict {
        let cfg = &self.cfg;
        if ev.dl == 0 || ev.dl < cfg.min_danger_level {
            return Verdict::Quiet;
        }
        let st = self.srcs.get(&src);
        let trigger = match st {
            None => Trigger::First,
            Some(st) if ev.dl > st.last_dl => Trigger::DangerRaised,
            Some(_) if matches!(cause, Cause::DangerRaised { .. }) && !cfg.alert_all => {
                return Verdict::Quiet
            }
            Some(st) => {
                if !cfg.alert_all {
                    return Verdict::Quiet;
                }
                let changed = if cfg.psad_compat {
                    ev.packets != st.last.packets
                } else {
                    ev.destinations > st.last.destinations
                        || ev.port_span > st.last.port_span
                        || ev.signatures > st.last.signatures
                };
                let due = st.last_at.is_none_or(|t| {
                    now.secs().saturating_sub(t.secs()) >= cfg.check_interval_secs as i64
                });
                if !changed || !due {
                    return Verdict::Quiet;
                }
                Trigger::NewEvidence
            }
        };
        let previous_dl = st.map_or(0, |s| s.last_dl);
        let limit = cfg.limit;
        let throttle = cfg.throttle;
        let compat = cfg.psad_compat;
        let status = cfg.limit_status_msg;

        // The counter: per source, or per (source, destination).
        let (count, reported) = if cfg.limit_per_dst {
            let dst = ev.dst.unwrap_or(src);
            let e = self.pairs.entry((src, dst)).or_default();
            (&mut e.0, &mut e.1)
        } else {
            let e = self.srcs.entry(src).or_default();
            (&mut e.count, &mut e.limit_reported)
        };
        if limit > 0 && *count >= limit {
            if !*reported {
                *reported = true;
                if status {
                    self.stats.limit_messages += 1;
                    return Verdict::LimitReached { count: *count };
                }
            }
            self.stats.suppressed_limit += 1;
            return Verdict::SuppressedLimit;
        }
        *count += 1;
        let n = *count;
        let skip = if compat {
            throttle > 1 && n % throttle == 0
        } else {
            throttle > 1 && (n - 1) % throttle != 0
        };
        let st = self.srcs.entry(src).or_default();
        st.last_dl = ev.dl;
        st.last = ev;
        st.last_at = Some(now);
        if skip {
            self.stats.suppressed_throttle += 1;
            return Verdict::SuppressedThrottle;
        }
        self.stats.alerts += 1;
        Verdict::Alert {
            trigger,
            count: n,
            previous_dl,
        }
    }
}
