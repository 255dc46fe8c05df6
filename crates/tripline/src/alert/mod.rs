//! Alert delivery: the [`Alerter`] asks the core's `AlertPolicy` whether an engine event
//! deserves an alert, builds the `Alert` record and hands it to every channel (email,
//! syslog, scripts, webhooks) without waiting for any of them.
//!
//! Each channel runs on its own thread behind a bounded queue, with its own minimum
//! danger level and rate limit: a slow or failing channel never delays another channel
//! or detection. When a queue is full the alert is dropped for that channel and counted.

mod channel;
mod email;
mod lookup;
mod script;
mod syslog;
mod webhook;

pub use channel::ChannelStats;

use anyhow::Result;
use channel::Channel;
use serde::Serialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tripline_core::alert::{
    block_alert, build_alert, Alert, AlertKind, AlertPolicy, BlockEvent, BuildInfo, CapGate, Cause,
    Evidence, PolicyStats, Verdict,
};
use tripline_core::config::alerting::AlertingConfig;
use tripline_core::engine::{DangerReason, Engine, Event, SourceView};
use tripline_core::Timestamp;

/// What the policy remembers to compute interval counts.
struct Previous {
    packets: u64,
    dsts: Vec<(IpAddr, u32)>,
}

/// What the alerter remembers across a restart (saved with the state).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct AlerterMemory {
    policy: tripline_core::alert::PolicySnapshot,
    seq: u64,
}

/// Decides and dispatches alerts. One per daemon.
pub struct Alerter {
    policy: AlertPolicy,
    channels: Vec<Channel>,
    seq: u64,
    hostname: String,
    previous: HashMap<IpAddr, Previous>,
    next_tick: Option<Timestamp>,
    interval: i64,
    /// `ENABLE_AUTO_IDS_EMAILS` / `ENABLE_RENEW_BLOCK_EMAILS`.
    block_alerts: (bool, bool),
    cap_gate: CapGate,
    /// The same gate for refused blocking changes.
    fail_gate: CapGate,
    block_notices: u64,
}

/// Cap alerts are at most one per this many seconds (the cap's own window).
const CAP_ALERT_PERIOD: i64 = 60;
/// At most one `block_failed` alert in this many seconds.
const FAIL_ALERT_PERIOD: i64 = 3600;

/// Counters for status output.
#[derive(Debug, Clone, Serialize)]
pub struct AlerterStats {
    /// Alerts produced.
    pub alerts: u64,
    /// Suppressed by `EMAIL_LIMIT`.
    pub suppressed_limit: u64,
    /// Skipped by `EMAIL_THROTTLE`.
    pub suppressed_throttle: u64,
    /// Limit-reached messages.
    pub limit_messages: u64,
    /// Block notices (blocked, renewed, unblocked, cap reached) handed to the channels.
    pub block_notices: u64,
    /// Per channel.
    pub channels: Vec<ChannelStats>,
}

/// This host's name: `HOSTNAME` from the configuration, else the kernel's.
pub fn hostname(cfg: &AlertingConfig) -> String {
    cfg.hostname.clone().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into())
    })
}

impl Alerter {
    /// Starts every configured channel (`config.alerting` of the loaded settings).
    pub fn new(cfg: &AlertingConfig) -> Result<Alerter> {
        Alerter::from_config(cfg)
    }

    /// An alerter with no channels and the default policy (a placeholder).
    pub fn none() -> Alerter {
        Alerter {
            policy: AlertPolicy::new(Default::default()),
            channels: Vec::new(),
            seq: 0,
            hostname: String::new(),
            previous: HashMap::new(),
            next_tick: None,
            interval: 5,
            block_alerts: (false, false),
            cap_gate: CapGate::new(),
            fail_gate: CapGate::new(),
            block_notices: 0,
        }
    }

    /// Starts the channels of `cfg`.
    pub fn from_config(cfg: &AlertingConfig) -> Result<Alerter> {
        let (channels, host) = start_channels(cfg)?;
        Ok(Alerter {
            policy: AlertPolicy::new(cfg.policy.clone()),
            channels,
            seq: 0,
            hostname: host,
            previous: HashMap::new(),
            next_tick: None,
            interval: cfg.policy.check_interval_secs.max(1) as i64,
            block_alerts: (cfg.block_alerts, cfg.renew_block_alerts),
            cap_gate: CapGate::new(),
            fail_gate: CapGate::new(),
            block_notices: 0,
        })
    }

    /// SIGHUP: new channels and policy settings, the same per-source history (alert
    /// counts, `EMAIL_LIMIT`). On error the running channels stay. Alerts queued on the
    /// old channels are still delivered by their threads.
    /// Its memory, to save.
    pub fn memory(&self) -> AlerterMemory {
        AlerterMemory {
            policy: self.policy.snapshot(),
            seq: self.seq,
        }
    }

    /// Take back saved memory after a restart.
    pub fn restore_memory(&mut self, m: AlerterMemory) {
        self.policy.restore(m.policy);
        self.seq = self.seq.max(m.seq);
    }

    pub fn reload(&mut self, cfg: &AlertingConfig) -> Result<()> {
        let (channels, host) = start_channels(cfg)?;
        self.channels = channels;
        self.hostname = host;
        self.policy.set_config(cfg.policy.clone());
        self.interval = cfg.policy.check_interval_secs.max(1) as i64;
        self.block_alerts = (cfg.block_alerts, cfg.renew_block_alerts);
        Ok(())
    }

    /// Reports a responder action (psad's `[psad-status] added iptables auto-block ...`)
    /// on every channel, each with its own minimum danger level and rate limit. Returns
    /// the alert handed out, or `None` when block notices are off (`[blocking] alerts`,
    /// `renew-alerts` for renewals) or a cap alert was sent less than a minute ago (the
    /// refusals are counted into the next one).
    pub fn notify_block(
        &mut self,
        engine: &Engine,
        mut ev: BlockEvent,
        now: Timestamp,
    ) -> Option<Alert> {
        let (on, renewals) = self.block_alerts;
        if !on || (ev.kind == AlertKind::BlockRenewed && !renewals) {
            return None;
        }
        match ev.kind {
            AlertKind::BlockLimitReached => {
                ev.details.skipped = self.cap_gate.refused(now.secs(), CAP_ALERT_PERIOD)?;
            }
            // A refused change may repeat every few seconds while the cause
            // lasts: one alert an hour, counting the failures in between.
            AlertKind::BlockFailed => {
                ev.details.failures = self.fail_gate.refused(now.secs(), FAIL_ALERT_PERIOD)?;
            }
            _ => {}
        }
        self.seq += 1;
        self.block_notices += 1;
        let alert = block_alert(engine, ev, self.seq, now, self.hostname.clone());
        let shared = Arc::new(alert.clone());
        for ch in &mut self.channels {
            ch.offer(&shared, now);
        }
        Some(alert)
    }

    /// Considers one engine event; returns the alerts it produced (already handed to
    /// the channels, which deliver them in the background).
    pub fn observe(&mut self, engine: &Engine, ev: &Event, now: Timestamp) -> Vec<Alert> {
        let (src, cause, reason) = match ev {
            Event::DangerRaised {
                src,
                from,
                to,
                reason,
                ..
            } => (
                *src,
                Cause::DangerRaised { from: *from },
                format!(
                    "danger level {from} -> {to}: {}",
                    reason_text(engine, reason)
                ),
            ),
            Event::SignatureMatched { src, sig, .. } => (
                *src,
                Cause::Activity,
                format!("signature match: {}", sig_name(engine, *sig)),
            ),
            _ => return Vec::new(),
        };
        self.consider(engine, src, cause, reason, now)
            .into_iter()
            .collect()
    }

    /// When [`Alerter::tick`] should run next (for `ALERT_ALL`'s new-evidence alerts).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if !self.policy.config().alert_all {
            return None;
        }
        self.next_tick
    }

    /// Re-checks the sources that alerted before for new evidence (`ALERT_ALL Y`).
    /// Call it at [`Alerter::poll_timeout`]; calling it more often is harmless.
    pub fn tick(&mut self, engine: &Engine, now: Timestamp) -> Vec<Alert> {
        if self.next_tick.is_some_and(|t| now < t) || !self.policy.config().alert_all {
            return Vec::new();
        }
        self.next_tick = None;
        let srcs: Vec<IpAddr> = self.policy.alerted_sources().collect();
        let mut out = Vec::new();
        for src in srcs {
            let why = "new ports, destinations or signatures".to_string();
            out.extend(self.consider(engine, src, Cause::Activity, why, now));
        }
        // Sources that alerted may show new evidence later: keep checking each interval.
        if self.policy.alerted_sources().next().is_some() {
            self.next_tick = Some(Timestamp::from_secs(now.secs() + self.interval));
        }
        out
    }

    /// Counters.
    pub fn stats(&self) -> AlerterStats {
        let PolicyStats {
            alerts,
            suppressed_limit,
            suppressed_throttle,
            limit_messages,
        } = self.policy.stats();
        AlerterStats {
            alerts,
            suppressed_limit,
            suppressed_throttle,
            limit_messages,
            block_notices: self.block_notices,
            channels: self.channels.iter().map(Channel::stats).collect(),
        }
    }

    /// Stops taking alerts and waits up to `grace` for the channels to finish what is
    /// queued.
    pub fn shutdown(self, grace: Duration) -> AlerterStats {
        let stats_before = self.stats();
        let deadline = std::time::Instant::now() + grace;
        let mut stats = Vec::new();
        for ch in self.channels {
            stats.push(ch.finish(deadline));
        }
        AlerterStats {
            channels: stats,
            ..stats_before
        }
    }

    fn consider(
        &mut self,
        engine: &Engine,
        src: IpAddr,
        cause: Cause,
        reason: String,
        now: Timestamp,
    ) -> Option<Alert> {
        let view = engine.source(src)?;
        let ev = evidence(&view);
        let verdict = self.policy.decide(src, ev, cause, now);
        let (kind, trigger, count, prev_dl) = match verdict {
            Verdict::Alert {
                trigger,
                count,
                previous_dl,
            } => (AlertKind::Scan, trigger, count, previous_dl),
            Verdict::LimitReached { count } => (
                AlertKind::LimitReached,
                tripline_core::alert::Trigger::LimitReached,
                count,
                view.danger_level(),
            ),
            _ => return None,
        };
        if self.policy.config().alert_all && self.next_tick.is_none() {
            self.next_tick = Some(Timestamp::from_secs(now.secs() + self.interval));
        }
        self.seq += 1;
        let prev = self.previous.get(&src);
        let alert = build_alert(
            engine,
            src,
            BuildInfo {
                seq: self.seq,
                kind,
                trigger,
                previous_danger_level: prev_dl,
                reason,
                alerts_for_source: count,
                previous_packets: prev.map_or(0, |p| p.packets),
                previous_dst_packets: prev.map(|p| p.dsts.clone()).unwrap_or_default(),
                now,
                hostname: self.hostname.clone(),
            },
        )?;
        self.previous.insert(
            src,
            Previous {
                packets: alert.packets,
                dsts: alert
                    .destinations
                    .iter()
                    .map(|d| (d.dst, d.packets))
                    .collect(),
            },
        );
        let shared = Arc::new(alert.clone());
        for ch in &mut self.channels {
            ch.offer(&shared, now);
        }
        Some(alert)
    }
}

/// Starts every configured channel; returns them with this host's name.
fn start_channels(cfg: &AlertingConfig) -> Result<(Vec<Channel>, String)> {
    let host = hostname(cfg);
    let lookups = Arc::new(lookup::Lookups::new(&cfg.lookups)?);
    let mut channels = Vec::new();
    if let Some(e) = &cfg.email {
        channels.push(email::start(e, cfg, &host, lookups.clone())?);
    }
    if let Some(s) = &cfg.syslog {
        channels.push(syslog::start(s)?);
    }
    for s in &cfg.scripts {
        channels.push(script::start(s)?);
    }
    for w in &cfg.webhooks {
        channels.push(webhook::start(w, cfg)?);
    }
    Ok((channels, host))
}

fn evidence(s: &SourceView<'_>) -> Evidence {
    let mut e = Evidence {
        dl: s.danger_level(),
        signatures: s.unique_signatures() as u64,
        packets: s.packets(),
        ..Evidence::default()
    };
    let mut best: Option<(u64, IpAddr)> = None;
    for p in s.destinations() {
        e.destinations += 1;
        for r in p.port_ranges() {
            e.port_span += u64::from(r.hi - r.lo) + 1;
        }
        let last = p.last().secs() as u64;
        if best.is_none_or(|b| last >= b.0) {
            best = Some((last, p.addr()));
        }
    }
    e.dst = best.map(|b| b.1);
    e
}

fn sig_name(engine: &Engine, sig: u32) -> String {
    use tripline_core::engine::FWSNORT_SIG;
    let rules = engine.rules();
    if sig & FWSNORT_SIG != 0 {
        let sid = sig & !FWSNORT_SIG;
        return rules
            .fwsnort
            .get(sid)
            .and_then(|r| r.msg.clone())
            .unwrap_or_else(|| format!("fwsnort sid {sid}"));
    }
    rules.signatures.sigs.get(sig as usize).map_or_else(
        || format!("signature {sig}"),
        |s| format!("\"{}\" (sid {})", s.msg, s.key),
    )
}

fn reason_text(engine: &Engine, r: &DangerReason) -> String {
    match r {
        DangerReason::Packets { dst, packets } => format!("{packets} packets to {dst}"),
        DangerReason::Hosts { destinations } => format!("{destinations} destinations"),
        DangerReason::Signature { sig } if *sig == u32::MAX => "signatures".into(),
        DangerReason::Signature { sig } => sig_name(engine, *sig),
        DangerReason::AutoDl => "auto_dl".into(),
        DangerReason::InvalidIcmp => "invalid ICMP type or code".into(),
        DangerReason::Trw { failures } => format!("TRW: {failures} failed first contacts"),
    }
}

#[cfg(test)]
mod tests;
