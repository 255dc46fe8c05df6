//! A channel: a bounded queue in front of worker threads that deliver alerts.
//!
//! `offer` runs on the detection thread and never blocks: level filter, rate limit,
//! once-per-source filter, then `try_send`. Workers report success and failure in
//! shared counters.

use serde::Serialize;
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tripline_core::alert::{Alert, AlertKind, RateLimit};
use tripline_core::config::alerting::ChannelLimits;
use tripline_core::Timestamp;

/// Alerts waiting per channel; beyond this they are dropped and counted.
pub const QUEUE: usize = 256;

/// Delivers one alert (runs on a worker thread; may block).
pub trait Sink: Send {
    /// Deliver, or say why not.
    fn deliver(&mut self, alert: &Alert) -> anyhow::Result<()>;
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
}

/// One channel's counters.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelStats {
    /// `email`, `syslog`, `script:NAME`, `webhook:NAME`.
    pub name: String,
    /// Handed to the workers.
    pub queued: u64,
    /// Delivered.
    pub sent: u64,
    /// Failed after retries.
    pub failed: u64,
    /// Below the channel's minimum danger level.
    pub below_level: u64,
    /// Refused by the rate limit.
    pub rate_limited: u64,
    /// Dropped because the queue was full.
    pub dropped_full: u64,
    /// Skipped: the source already had its once-per-source run.
    pub already_ran: u64,
}

/// A running channel.
pub struct Channel {
    name: String,
    min_dl: u8,
    rate: RateLimit,
    once_per_source: Option<HashSet<IpAddr>>,
    scans_only: bool,
    tx: Option<SyncSender<Arc<Alert>>>,
    counters: Arc<Counters>,
    done: Receiver<()>,
    workers: usize,
    below_level: u64,
    dropped_full: u64,
    already_ran: u64,
}

impl Channel {
    /// Starts `workers` threads, each with its own sink from `make`.
    pub fn spawn(
        name: String,
        limits: &ChannelLimits,
        workers: usize,
        once_per_source: bool,
        make: impl Fn() -> Box<dyn Sink>,
    ) -> Channel {
        let (tx, rx) = sync_channel::<Arc<Alert>>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        let counters = Arc::new(Counters::default());
        let (done_tx, done) = std::sync::mpsc::channel();
        let workers = workers.max(1);
        for i in 0..workers {
            let rx = rx.clone();
            let counters = counters.clone();
            let done_tx = done_tx.clone();
            let mut sink = make();
            let label = name.clone();
            let _ = std::thread::Builder::new()
                .name(format!("alert-{label}-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next alert.
                        let next = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => break,
                        };
                        let Ok(alert) = next else { break };
                        match sink.deliver(&alert) {
                            Ok(()) => {
                                counters.sent.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                counters.failed.fetch_add(1, Ordering::Relaxed);
                                eprintln!(
                                    "tripline: alert {} via {label} failed: {}",
                                    alert.seq,
                                    crate::term::clean(&format!("{e:#}"))
                                );
                            }
                        }
                    }
                    let _ = done_tx.send(());
                });
        }
        Channel {
            name,
            min_dl: limits.min_dl,
            rate: RateLimit::new(limits.per_minute, limits.burst),
            once_per_source: once_per_source.then(HashSet::new),
            scans_only: false,
            tx: Some(tx),
            counters,
            done,
            workers,
            below_level: 0,
            dropped_full: 0,
            already_ran: 0,
        }
    }

    /// This channel takes scan and limit alerts only, no block notices (psad's
    /// `EXTERNAL_SCRIPT` runs for scans alone).
    pub fn scans_only(mut self) -> Channel {
        self.scans_only = true;
        self
    }

    /// Queues `alert` if the channel wants it; never blocks.
    pub fn offer(&mut self, alert: &Arc<Alert>, now: Timestamp) {
        if self.scans_only && alert.kind.is_block() {
            return;
        }
        // The limit-reached message is the last word about a source: always sent.
        if alert.kind != AlertKind::LimitReached && alert.danger_level < self.min_dl {
            self.below_level += 1;
            return;
        }
        // Once per source applies to scan alerts; block notices always pass.
        let once = self
            .once_per_source
            .as_mut()
            .filter(|_| !alert.kind.is_block());
        if let Some(seen) = &once {
            if seen.contains(&alert.src) {
                self.already_ran += 1;
                return;
            }
        }
        if !self.rate.allow(now) {
            return;
        }
        let Some(tx) = &self.tx else { return };
        match tx.try_send(alert.clone()) {
            Ok(()) => {
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
                if let Some(seen) = once {
                    seen.insert(alert.src);
                }
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped_full += 1
            }
        }
    }

    /// Counters now.
    pub fn stats(&self) -> ChannelStats {
        ChannelStats {
            name: self.name.clone(),
            queued: self.counters.queued.load(Ordering::Relaxed),
            sent: self.counters.sent.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
            below_level: self.below_level,
            rate_limited: self.rate.refused,
            dropped_full: self.dropped_full,
            already_ran: self.already_ran,
        }
    }

    /// Closes the queue and waits until `deadline` for the workers to drain it.
    pub fn finish(mut self, deadline: Instant) -> ChannelStats {
        self.tx = None;
        for _ in 0..self.workers {
            let left = deadline.saturating_duration_since(Instant::now());
            if self.done.recv_timeout(left).is_err() {
                break;
            }
        }
        self.stats()
    }
}
