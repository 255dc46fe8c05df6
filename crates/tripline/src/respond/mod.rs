//! Active response (issue 7): blocks sources that reach `AUTO_IDS_DANGER_LEVEL` in the
//! kernel, keeps them in the state database with their expiry, lifts them on time, and
//! re-applies the rest after a restart.
//!
//! The policy (who, what, how long) is `tripline_core::block`; this module holds the
//! kernel side (`backend/`), the database (`db.rs`), the discovered safelist
//! (`safelist.rs`), the CLI commands (`cli.rs`) and `tripline fw-check` (`fwcheck.rs`).
//! Kernel calls run on a worker thread so a slow `nft` never stalls detection; whatever
//! queued up while it worked goes in as one batch.

pub mod backend;
pub mod cli;
pub mod db;
pub mod fwcheck;
pub mod safelist;
pub mod watch;

use anyhow::{Context, Result};
use backend::{Backend, Op};
use db::{BlockDb, BlockRow};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tripline_core::alert::{AlertKind, BlockDetails, BlockEvent};
use tripline_core::block::{Policy, Safelist, Skip, Verdict};
use tripline_core::config::blocking::BackendKind;
use tripline_core::engine::{Engine, Event};
use tripline_core::net::IpNet;
use tripline_core::{Config, Timestamp};

/// Unix seconds now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// How often the daemon re-reads the table for blocks the CLI added or removed.
const SYNC_PERIOD: Duration = Duration::from_secs(2);
/// Quiet time after the kernel's last notice of a ruleset change before the
/// objects are checked: a reload script of single commands is not fought
/// mid-way, and a burst of notices costs one check.
const NOTICE_QUIET: Duration = Duration::from_secs(1);

/// (When to check, first notice) after a notice at `now`: once notices have
/// been quiet for [`NOTICE_QUIET`], but changes that never pause (a block
/// every second) still get a check within three quiet periods of the first.
fn after_notice(pending: Option<(Instant, Instant)>, now: Instant) -> (Instant, Instant) {
    let first = pending.map_or(now, |(_, first)| first);
    ((now + NOTICE_QUIET).min(first + 3 * NOTICE_QUIET), first)
}

/// The source of an alert about the firewall itself (`blocks_restored`).
const NO_SOURCE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);

/// Something the responder did or refused, for the daemon's output and alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A new block (or, with `dry_run`, one that would have been made).
    Blocked {
        /// The source that triggered it.
        src: IpAddr,
        /// What is blocked.
        net: IpNet,
        /// Its danger level.
        dl: u8,
        /// Seconds, 0 = permanent.
        timeout_secs: u64,
        /// Nothing was changed in the kernel.
        dry_run: bool,
    },
    /// An existing block was re-armed.
    Renewed {
        /// What is blocked.
        net: IpNet,
        /// New timeout in seconds, 0 = permanent.
        timeout_secs: u64,
        /// The block's danger level.
        dl: u8,
    },
    /// A block lapsed and was removed.
    Expired {
        /// What was blocked.
        net: IpNet,
        /// The danger level stored with the block.
        dl: u8,
    },
    /// A source at the blocking level that was not blocked.
    Skipped {
        /// The source.
        src: IpAddr,
        /// Its danger level.
        dl: u8,
        /// Why.
        why: Skip,
    },
    /// Tripline's firewall objects had gone (a ruleset reload) and were
    /// re-created, with every current block.
    Restored {
        /// Blocks applied again.
        blocks: usize,
        /// The highest danger level among them.
        dl: u8,
    },
    /// A kernel or database operation failed.
    Error(String),
}

impl Notice {
    /// The notice as one JSON object (the daemon's event line).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Notice::Blocked {
                src,
                net,
                dl,
                timeout_secs,
                dry_run,
            } => json!({"event": "blocked", "src": src, "net": net.to_string(), "dl": dl,
                        "timeout": timeout_secs, "dry_run": dry_run}),
            Notice::Renewed {
                net, timeout_secs, ..
            } => {
                json!({"event": "block_renewed", "net": net.to_string(), "timeout": timeout_secs})
            }
            Notice::Expired { net, .. } => json!({"event": "unblocked", "net": net.to_string()}),
            Notice::Skipped { src, dl, why } => json!({"event": "block_skipped", "src": src,
                        "dl": dl, "reason": why.as_str(),
                        "alert": *why == Skip::RateLimited}),
            Notice::Restored { blocks, .. } => {
                json!({"event": "blocks_restored", "blocks": blocks})
            }
            Notice::Error(e) => json!({"event": "block_error", "error": e}),
        }
    }

    /// The notice for the alert channels (psad's auto-block status mails): blocks added,
    /// renewed and lifted, the blocks-a-minute cap, repairs and refused changes; `None`
    /// for the others. `backend` names the mechanism, `max_per_minute` is the cap,
    /// `block_dl` the blocking level (a refused change's level), `now_unix` dates the
    /// expiry.
    pub fn block_event(
        &self,
        backend: &str,
        max_per_minute: u32,
        block_dl: u8,
        now_unix: i64,
    ) -> Option<BlockEvent> {
        // A single host reads as psad writes it: the bare address.
        let details = |net: &IpNet, timeout_secs: u64, dry_run: bool| BlockDetails {
            net: if *net == IpNet::host(net.addr) {
                net.addr.to_string()
            } else {
                net.to_string()
            },
            backend: backend.to_string(),
            timeout_secs,
            expires_unix: (timeout_secs > 0).then(|| now_unix + timeout_secs as i64),
            dry_run,
            max_per_minute,
            skipped: 0,
            restored: 0,
            error: String::new(),
            failures: 0,
        };
        let (kind, src, dl, details) = match self {
            Notice::Blocked {
                src,
                net,
                dl,
                timeout_secs,
                dry_run,
            } => (
                AlertKind::Blocked,
                *src,
                *dl,
                details(net, *timeout_secs, *dry_run),
            ),
            Notice::Renewed {
                net,
                timeout_secs,
                dl,
            } => (
                AlertKind::BlockRenewed,
                net.addr,
                *dl,
                details(net, *timeout_secs, false),
            ),
            Notice::Expired { net, dl } => {
                (AlertKind::Unblocked, net.addr, *dl, details(net, 0, false))
            }
            Notice::Skipped {
                src,
                dl,
                why: Skip::RateLimited,
            } => (
                AlertKind::BlockLimitReached,
                *src,
                *dl,
                details(&IpNet::host(*src), 0, false),
            ),
            // Only repairs that put blocks back: an empty one left nothing unenforced.
            Notice::Restored { blocks, dl } if *blocks > 0 => (
                AlertKind::BlocksRestored,
                NO_SOURCE,
                *dl,
                BlockDetails {
                    net: String::new(),
                    restored: *blocks as u64,
                    ..details(&IpNet::host(NO_SOURCE), 0, false)
                },
            ),
            // About the firewall, not a source; the alerter lets one through an hour.
            Notice::Error(e) => (
                AlertKind::BlockFailed,
                NO_SOURCE,
                block_dl,
                BlockDetails {
                    net: String::new(),
                    error: e.clone(),
                    failures: 1,
                    ..details(&IpNet::host(NO_SOURCE), 0, false)
                },
            ),
            Notice::Skipped { .. } | Notice::Restored { .. } => return None,
        };
        Some(BlockEvent {
            kind,
            src,
            dl,
            details,
        })
    }
}

/// What the kernel worker is asked to do.
enum Job {
    /// Apply these changes.
    Apply(Vec<Op>),
    /// Check that Tripline's objects are in place; if a ruleset reload removed
    /// any, re-create them all and add these (every current block) again.
    Heal(Vec<Op>),
}

/// The kernel worker: receives batches, applies what queued up as one.
struct Worker {
    tx: Option<Sender<Job>>,
    errors: Arc<Mutex<Vec<String>>>,
    /// Repairs made (blocks re-applied), for notices.
    healed: Arc<Mutex<Vec<usize>>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    fn start(mut backend: Box<dyn Backend>) -> Worker {
        let (tx, rx): (Sender<Job>, Receiver<Job>) = channel();
        let errors = Arc::new(Mutex::new(Vec::new()));
        let healed = Arc::new(Mutex::new(Vec::new()));
        let (errs, fixed) = (errors.clone(), healed.clone());
        let handle = std::thread::spawn(move || {
            let fail = |msg: String| errs.lock().unwrap_or_else(|p| p.into_inner()).push(msg);
            let mut next = None;
            while let Some(job) = next.take().or_else(|| rx.recv().ok()) {
                let kind = backend.kind().as_str();
                match job {
                    Job::Heal(all) => match backend.intact() {
                        Ok(true) => {}
                        // Fresh: what survived in part is emptied, then every
                        // block goes in again, so nothing counts as present
                        // that a reload took from one chain or set only.
                        Ok(false) => match backend.setup(true).and_then(|()| backend.apply(&all)) {
                            Ok(()) => fixed
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(all.len()),
                            Err(e) => fail(format!("{kind}: re-creating its objects: {e:#}")),
                        },
                        Err(e) => fail(format!("{kind}: checking its objects: {e:#}")),
                    },
                    Job::Apply(mut ops) => {
                        // What queued up meanwhile goes in the same batch.
                        while let Ok(more) = rx.try_recv() {
                            match more {
                                Job::Apply(more) => ops.extend(more),
                                heal => {
                                    next = Some(heal);
                                    break;
                                }
                            }
                        }
                        if let Err(e) = backend.apply(&ops) {
                            fail(format!("{kind} ({} changes): {e:#}", ops.len()));
                        }
                    }
                }
            }
        });
        Worker {
            tx: Some(tx),
            errors,
            healed,
            handle: Some(handle),
        }
    }
    fn send(&self, ops: Vec<Op>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Job::Apply(ops));
        }
    }
    fn heal(&self, all: Vec<Op>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Job::Heal(all));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Let the worker finish what is queued so no block is lost on a clean exit.
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The daemon's blocking state.
pub struct Responder {
    policy: Policy,
    db: BlockDb,
    kind: BackendKind,
    blocks: HashMap<IpNet, BlockRow>,
    worker: Option<Worker>,
    notices: Vec<Notice>,
    last_sync: Instant,
    last_heal: Instant,
    /// `[blocking] check-interval`: the periodic check (and repair).
    check_every: Duration,
    /// When the objects are to be checked after the kernel's notice of a
    /// change, and the first notice since the last check.
    check_at: Option<(Instant, Instant)>,
}

/// A block as shown by `tripline status` / `tripline blocks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInfo {
    /// What is blocked.
    pub net: IpNet,
    /// Unix seconds it lapses, `None` = permanent.
    pub expires: Option<i64>,
    /// Danger level when blocked.
    pub dl: u8,
    /// Why.
    pub reason: String,
}

/// The safelist: configured networks plus what the host depends on.
pub fn build_safelist(config: &Config) -> (Safelist, Vec<String>) {
    let (found, warnings) = safelist::discover();
    let mut s = Safelist::new(config.blocking.safelist.iter().copied());
    for n in found {
        s.add(n);
    }
    (s, warnings)
}

/// auto_dl DL-0 networks: psad's never-block list (`--fw-block-ip` refuses any overlap,
/// whatever the entry's protocol criteria).
pub fn never_block(config: &Config) -> Vec<IpNet> {
    config
        .auto_dl
        .entries
        .iter()
        .filter(|e| e.dl == 0)
        .map(|e| e.net)
        .collect()
}

#[allow(dead_code)] // `backend` and `blocks` are for the status socket (the lead wires it)
impl Responder {
    /// Starts the responder when `ENABLE_AUTO_IDS` is on: sets up the backend (fresh with
    /// `FLUSH_IPT_AT_INIT`), drops lapsed rows and re-applies the others with the time
    /// they have left. `backend` overrides the configured one.
    pub fn new(
        config: &Config,
        state_dir: &Path,
        backend: Option<BackendKind>,
    ) -> Result<Option<Responder>> {
        let cfg = &config.blocking;
        if !cfg.enabled {
            return Ok(None);
        }
        let (safe, warnings) = build_safelist(config);
        for w in warnings {
            eprintln!("tripline: warning: blocking: {w}");
        }
        let policy = Policy::new(cfg, safe, never_block(config)).map_err(anyhow::Error::msg)?;
        let kind = backend::resolve(backend.unwrap_or(cfg.backend));
        let mut db = BlockDb::open(state_dir)?;
        let now = unix_now();
        let mut notices = Vec::new();
        for gone in db.take_expired(now)? {
            notices.push(Notice::Expired {
                net: gone.net,
                dl: gone.dl,
            });
        }
        let mut rows = db.all()?;
        for r in &mut rows {
            r.backend = kind.as_str().to_string();
        }
        db.upsert(&rows)?;
        let worker = if cfg.dry_run {
            None
        } else {
            let mut b = backend::open(kind, cfg);
            b.setup(cfg.flush_at_init)
                .with_context(|| format!("cannot set up the {} backend", kind.as_str()))?;
            let ops: Vec<Op> = rows
                .iter()
                .map(|r| Op::Add {
                    net: r.net,
                    timeout_secs: r.expires.map_or(0, |e| (e - now).max(1) as u64),
                })
                .collect();
            b.apply(&ops).context("cannot re-apply the stored blocks")?;
            Some(Worker::start(b))
        };
        Ok(Some(Responder {
            policy,
            db,
            kind,
            blocks: rows.into_iter().map(|r| (r.net, r)).collect(),
            worker,
            notices,
            last_sync: Instant::now(),
            last_heal: Instant::now(),
            check_every: Duration::from_secs(cfg.check_interval.max(1)),
            check_at: None,
        }))
    }

    /// SIGHUP: new thresholds, timeouts, safelist (re-discovered), regex, cap and
    /// check interval; the backend, its objects and the current blocks stay.
    /// Turning blocking on or off, or changing the backend, takes a restart.
    pub fn reload(&mut self, config: &Config) -> Result<()> {
        let (safe, warnings) = build_safelist(config);
        for w in warnings {
            eprintln!("tripline: warning: blocking: {w}");
        }
        self.policy =
            Policy::new(&config.blocking, safe, never_block(config)).map_err(anyhow::Error::msg)?;
        self.check_every = Duration::from_secs(config.blocking.check_interval.max(1));
        Ok(())
    }

    /// The backend in use.
    pub fn backend(&self) -> BackendKind {
        self.kind
    }

    /// True when blocks go into the kernel (not a dry run).
    pub fn enforcing(&self) -> bool {
        self.worker.is_some()
    }

    /// Feeds one engine event (in order). Never waits for the kernel.
    pub fn observe(&mut self, engine: &Engine, ev: &Event, now: Timestamp) {
        let (src, raised) = match ev {
            Event::DangerRaised { src, .. } => (*src, true),
            Event::SignatureMatched { src, .. } => (*src, false),
            _ => return,
        };
        let Some(view) = engine.source(src) else {
            return;
        };
        let dl = view.danger_level();
        let src = src.to_canonical();
        let net = self.policy.target(src);
        let wall = unix_now();
        if let Some(row) = self.blocks.get(&net) {
            let remaining = row.expires.map(|e| (e - wall).max(0) as u64);
            if let Some(t) = self.policy.renewal(dl, remaining) {
                let mut row = row.clone();
                row.expires = (t > 0).then_some(wall + t as i64);
                row.dl = row.dl.max(dl);
                let dl = row.dl;
                self.store(row, t);
                self.notices.push(Notice::Renewed {
                    net,
                    timeout_secs: t,
                    dl,
                });
            }
            return;
        }
        if !raised {
            return;
        }
        let prefixes: Vec<&str> = view
            .destinations()
            .flat_map(|p| p.prefixes().map(|(_, pfx, _)| pfx).collect::<Vec<_>>())
            .collect();
        match self.policy.decide(now, src, dl, prefixes) {
            Verdict::Skip(Skip::BelowLevel) => {}
            Verdict::Skip(why) => self.notices.push(Notice::Skipped { src, dl, why }),
            Verdict::Block { net, timeout_secs } => {
                let dry_run = self.worker.is_none();
                self.notices.push(Notice::Blocked {
                    src,
                    net,
                    dl,
                    timeout_secs,
                    dry_run,
                });
                if dry_run {
                    return;
                }
                let row = BlockRow {
                    net,
                    added: wall,
                    expires: (timeout_secs > 0).then_some(wall + timeout_secs as i64),
                    dl,
                    reason: format!("auto: {src} reached DL {dl}"),
                    backend: self.kind.as_str().to_string(),
                };
                self.store(row, timeout_secs);
            }
        }
    }

    fn store(&mut self, row: BlockRow, timeout_secs: u64) {
        if let Err(e) = self.db.upsert(std::slice::from_ref(&row)) {
            self.notices.push(Notice::Error(format!("database: {e:#}")));
        }
        if let Some(w) = &self.worker {
            w.send(vec![Op::Add {
                net: row.net,
                timeout_secs,
            }]);
        }
        self.blocks.insert(row.net, row);
    }

    /// When [`Responder::tick`] should run next.
    pub fn next_deadline(&self) -> Option<Instant> {
        let now_wall = unix_now();
        let now = Instant::now();
        let expiry = self
            .blocks
            .values()
            .filter_map(|r| r.expires)
            .min()
            .map(|e| now + Duration::from_secs((e - now_wall).max(0) as u64));
        let sync = self.last_sync + SYNC_PERIOD;
        let next = self.check_at.map_or(sync, |(c, _)| c.min(sync));
        Some(expiry.map_or(next, |e| e.min(next)))
    }

    /// The kernel announced a ruleset change (see `watch.rs`): check the
    /// objects once the notices have been quiet for a moment.
    pub fn ruleset_changed(&mut self) {
        if self.worker.is_some() {
            self.check_at = Some(after_notice(self.check_at, Instant::now()));
        }
    }

    /// Lifts lapsed blocks and picks up blocks the CLI added or removed meanwhile.
    pub fn tick(&mut self) {
        let now = unix_now();
        let lapsed: Vec<IpNet> = self
            .blocks
            .values()
            .filter(|r| r.expires.is_some_and(|e| e <= now))
            .map(|r| r.net)
            .collect();
        if !lapsed.is_empty() {
            for n in &lapsed {
                if let Some(r) = self.blocks.remove(n) {
                    self.notices.push(Notice::Expired { net: *n, dl: r.dl });
                }
            }
            if let Err(e) = self.db.remove(&lapsed) {
                self.notices.push(Notice::Error(format!("database: {e:#}")));
            }
            if let Some(w) = &self.worker {
                w.send(lapsed.iter().map(|&net| Op::Del { net }).collect());
            }
        }
        let mut failed = false;
        if let Some(w) = &self.worker {
            let mut errs = w.errors.lock().unwrap_or_else(|p| p.into_inner());
            failed = !errs.is_empty();
            self.notices.extend(errs.drain(..).map(Notice::Error));
            drop(errs);
            let mut healed = w.healed.lock().unwrap_or_else(|p| p.into_inner());
            let dl = self.blocks.values().map(|r| r.dl).max().unwrap_or(0);
            self.notices.extend(
                healed
                    .drain(..)
                    .map(|blocks| Notice::Restored { blocks, dl }),
            );
        }
        // A failure may mean a reload took the objects: check at once.
        let noticed = self.check_at.is_some_and(|(t, _)| Instant::now() >= t);
        let heal = self.worker.is_some()
            && (failed || noticed || self.last_heal.elapsed() >= self.check_every);
        // A repair puts back what the database holds now, so blocks the CLI
        // has just lifted or flushed stay gone.
        if heal || self.last_sync.elapsed() >= SYNC_PERIOD {
            self.last_sync = Instant::now();
            match self.db.all() {
                Ok(rows) => self.blocks = rows.into_iter().map(|r| (r.net, r)).collect(),
                Err(e) => self.notices.push(Notice::Error(format!("database: {e:#}"))),
            }
        }
        if let (true, Some(w)) = (heal, &self.worker) {
            self.last_heal = Instant::now();
            self.check_at = None;
            w.heal(self.adds(now));
        }
    }

    /// Every current block as an addition, with the time it has left.
    fn adds(&self, now: i64) -> Vec<Op> {
        self.blocks
            .values()
            .map(|r| Op::Add {
                net: r.net,
                timeout_secs: r.expires.map_or(0, |e| (e - now).max(1) as u64),
            })
            .collect()
    }

    /// What happened since the last call.
    pub fn drain_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    /// Current blocks, soonest expiry first, permanent ones last.
    pub fn blocks(&self) -> Vec<BlockInfo> {
        let mut v: Vec<BlockInfo> = self
            .blocks
            .values()
            .map(|r| BlockInfo {
                net: r.net,
                expires: r.expires,
                dl: r.dl,
                reason: r.reason.clone(),
            })
            .collect();
        v.sort_by_key(|b| (b.expires.unwrap_or(i64::MAX), b.net.to_string()));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ConfigArgs;
    use std::sync::Arc as StdArc;

    #[test]
    fn notices_are_checked_after_a_pause_or_three_at_most() {
        let t0 = Instant::now();
        let q = NOTICE_QUIET;
        // One notice: checked a quiet period later.
        assert_eq!(after_notice(None, t0), (t0 + q, t0));
        // A burst: the last notice counts.
        let burst = after_notice(Some(after_notice(None, t0)), t0 + q / 4);
        assert_eq!(burst.0, t0 + q / 4 + q);
        // A notice every half period without end: still checked by 3 periods.
        let mut p = None;
        for i in 0..20 {
            p = Some(after_notice(p, t0 + q * i / 2));
        }
        assert_eq!(p.unwrap(), (t0 + 3 * q, t0));
    }

    /// The daemon path with a real engine, in dry-run (no kernel): the level gate, the
    /// blocks-a-minute cap with its alerting notice, and the IPv6 prefix.
    #[test]
    fn dry_run_decisions_through_the_engine() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("t.toml");
        std::fs::write(
            &conf,
            "[detection]\ndanger-levels = [2, 4, 8, 16, 32]\n[blocking]\nenabled = true\n\
             danger-level = 2\ndry-run = true\nmax-per-minute = 1\nipv6-prefix = 48\n",
        )
        .unwrap();
        let loaded = crate::settings::load(&ConfigArgs {
            config: Some(conf),
            ..ConfigArgs::default()
        })
        .unwrap();
        let mut engine =
            Engine::new(StdArc::new(loaded.config), StdArc::new(loaded.rules)).unwrap();
        let mut r = Responder::new(engine.config(), dir.path(), None)
            .unwrap()
            .expect("enabled");
        let line = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/logs/dev-slice.log"),
        )
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
        let now = crate::settings::wall_clock();
        let opts = tripline_core::ParseOptions {
            now,
            ..Default::default()
        };
        for src in ["198.51.100.77", "198.51.100.78"] {
            for port in 1..6 {
                let l = line
                    .replace("SRC=198.51.100.10 ", &format!("SRC={src} "))
                    .replace("DPT=143 ", &format!("DPT={port} "));
                let _ = engine.handle_line(&l, &opts, now);
                while let Some(ev) = engine.poll_event() {
                    r.observe(&engine, &ev, now);
                }
            }
        }
        let notices = r.drain_notices();
        assert!(
            matches!(
                notices[0],
                Notice::Blocked {
                    dry_run: true,
                    dl: 2,
                    ..
                }
            ),
            "{notices:?}"
        );
        let capped = notices
            .iter()
            .find(|n| {
                matches!(
                    n,
                    Notice::Skipped {
                        why: Skip::RateLimited,
                        ..
                    }
                )
            })
            .expect("the second source hits the cap");
        assert_eq!(capped.to_json()["alert"], true);
        // Both reach the alert channels: the (dry-run) block and the cap.
        let b = notices[0].block_event("nftables", 1, 5, 100).unwrap();
        assert_eq!(b.kind, AlertKind::Blocked);
        assert!(b.details.dry_run);
        assert_eq!(
            b.details.net, "198.51.100.77",
            "a host without /32, as psad says it"
        );
        assert_eq!(
            b.details.expires_unix,
            Some(100 + b.details.timeout_secs as i64)
        );
        let c = capped.block_event("nftables", 1, 5, 100).unwrap();
        assert_eq!(
            (c.kind, c.details.max_per_minute),
            (AlertKind::BlockLimitReached, 1)
        );
        let f = Notice::Error("nftables (1 changes): refused".into())
            .block_event("nftables", 1, 4, 0)
            .unwrap();
        assert_eq!(
            (f.kind, f.src, f.dl, f.details.failures),
            (AlertKind::BlockFailed, NO_SOURCE, 4, 1)
        );
        assert_eq!(f.details.error, "nftables (1 changes): refused");
        assert!(r.blocks().is_empty(), "dry run records nothing");
        assert_eq!(
            r.policy
                .target("2001:db8:1:2::5".parse().unwrap())
                .to_string(),
            "2001:db8:1::/48"
        );
    }
}
