//! `tripline run`: the daemon. Sources send lines as they are written; each
//! is parsed and fed to the engine at once (no polling interval). What the
//! engine says goes to the detection history, the alert stream and (unless
//! `--quiet`) standard output as JSON lines. State is saved to SQLite at
//! least every second and on shutdown, and restored at start.
//!
//! One thread owns the engine; sources, sockets and signals talk to it
//! through one channel of [`Msg`].

use crate::cli::RunArgs;
use crate::control::{self, Call, Subscribers};
use crate::settings;
use crate::sources::plan::{plan, SourceSpec};
use crate::sources::{self, file::Start, Cursor, LineBatch};
use crate::status::{self, DaemonInfo, InputInfo};
use crate::store::{Batch, Detection, Store, Totals, DEFAULT_STATE_DIR};
use anyhow::{Context, Result};
use serde_json::json;
use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tripline_core::engine::{DangerReason, Engine, Event};
use tripline_core::{ParseOptions, Timestamp};

/// Problems `tripline status` lists at most (the latest).
const MAX_PROBLEMS: usize = 50;

/// State is saved at least this often while lines arrive.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// Changed sources that trigger a save before the second is up.
const MAX_PENDING_CHANGES: usize = 50_000;

/// Lines handled before the loop looks at time, saves and control requests.
const BATCH: usize = 4096;

/// What reaches the detection loop.
enum Msg {
    Lines(LineBatch),
    Call(Call),
    Reload,
    Stop,
    /// Every line source has ended (stdin closed).
    SourcesEnded,
    /// The kernel announced a firewall ruleset change (respond/watch.rs).
    Ruleset,
}

/// The daemon's own state besides the engine.
struct Daemon {
    /// Kernel sources' handles (journalctl child, lost-record counters).
    live: sources::Live,
    engine: Engine,
    store: Store,
    totals: Totals,
    cursors: HashMap<String, Cursor>,
    /// Lines per origin since start.
    lines: HashMap<Arc<str>, u64>,
    detections: Vec<Detection>,
    alerts: Vec<(IpAddr, u8, String, String)>,
    subscribers: Subscribers,
    /// Alert policy and channels (issue 6).
    alerter: crate::alert::Alerter,
    started: Timestamp,
    last_save: Option<Timestamp>,
    problems: Vec<String>,
    reloads: u64,
    saves: u64,
    dirty: bool,
    quiet: bool,
    /// Active response (issue 7), when `ENABLE_AUTO_IDS` is on.
    responder: Option<crate::respond::Responder>,
    /// A [`Msg::Ruleset`] is in the queue.
    ruleset_queued: Arc<AtomicBool>,
}

/// Run until SIGTERM/SIGINT, or until every source has ended.
pub fn run(args: &RunArgs) -> Result<i32> {
    let loaded = settings::load(&args.config)?;
    for w in &loaded.warnings {
        eprintln!("tripline: warning: {}", crate::term::clean(w));
    }
    let paths = control::with_config(&args.daemon, &loaded.config.daemon);
    let events_group = args
        .events_group
        .clone()
        .or_else(|| loaded.config.daemon.events_group.clone())
        .or_else(|| loaded.config.alerting.notify.group.clone());
    let state_dir = paths
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
    let store = Store::open(&state_dir)?;
    let mut problems = Vec::new();
    let saved = store.load(&mut problems)?;
    let mut engine = Engine::new(Arc::new(loaded.config), Arc::new(loaded.rules))
        .context("invalid configuration")?;
    if let Some(snap) = saved.engine {
        let n = saved.sources.len();
        if let Err(e) = engine.restore(snap, saved.sources) {
            problems.push(format!(
                "{}: saved state not restored: {e}",
                store.path().display()
            ));
            engine = Engine::new(
                Arc::new(engine.config().clone()),
                Arc::new(engine.rules().clone()),
            )?;
        } else {
            eprintln!(
                "tripline: restored {n} sources from {}",
                store.path().display()
            );
        }
    }
    engine.track_changes();
    for p in &problems {
        eprintln!("tripline: warning: {}", crate::term::clean(p));
    }

    // Alert channels start before detection (issue 6).
    let mut alerter =
        crate::alert::Alerter::new(&loaded_alerting(&engine)).context("alert channels")?;
    // Sources that alerted before the restart are not "new" again.
    if let Some(blob) = &saved.alerter {
        match postcard::from_bytes(blob) {
            Ok(m) => alerter.restore_memory(m),
            Err(e) => problems.push(format!(
                "{}: alert history not restored: {e}",
                store.path().display()
            )),
        }
    }
    let (tx, rx) = sync_channel::<Msg>(sources::LINE_QUEUE);
    let (control_path, events_path) = control::socket_paths(&paths);
    let (call_tx, call_rx) = channel::<Call>();
    control::serve_control(&control_path, call_tx)?;
    forward(call_rx, tx.clone(), Msg::Call, None);
    let subscribers = control::serve_events(&events_path, events_group.as_deref())?;
    spawn_signals(tx.clone())?;

    let (specs, why) = plan(args, engine.config());
    eprintln!("tripline: sources ({why}): {specs:?}");
    let (line_tx, line_rx) = sync_channel::<LineBatch>(sources::LINE_QUEUE);
    let line_tx = sources::LineTx::new(line_tx);
    let live = start_sources(
        &specs,
        args.from_start,
        &saved.cursors,
        &line_tx,
        &mut problems,
    );
    drop(line_tx);
    forward(line_rx, tx.clone(), Msg::Lines, Some(Msg::SourcesEnded));

    // --- active response (issue 7) ---
    let responder = crate::respond::Responder::new(
        engine.config(),
        &state_dir,
        args.backend.map(crate::respond::cli::backend_kind),
    )?;
    let ruleset_queued = Arc::new(AtomicBool::new(false));
    if responder.as_ref().is_some_and(|r| r.enforcing()) {
        let queued = ruleset_queued.clone();
        let tx = tx.clone();
        // One notice in the queue at a time: a burst of changes is one check.
        let watched = crate::respond::watch::spawn(move || {
            queued.swap(true, Ordering::AcqRel) || tx.send(Msg::Ruleset).is_ok()
        });
        if let Err(e) = watched {
            eprintln!(
                "tripline: warning: blocking: no ruleset change notices ({e:#}); \
                 the firewall objects are checked every {} s",
                engine.config().blocking.check_interval
            );
        }
    }
    drop(tx);
    // --- end active response ---
    let mut d = Daemon {
        live,
        engine,
        store,
        totals: saved.totals,
        cursors: saved.cursors,
        lines: HashMap::new(),
        detections: Vec::new(),
        alerts: Vec::new(),
        subscribers,
        alerter,
        started: settings::wall_clock(),
        last_save: None,
        problems,
        reloads: 0,
        saves: 0,
        dirty: false,
        quiet: args.quiet,
        responder,
        ruleset_queued,
    };
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    let code = d.run_loop(&rx, args);
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    // Alerts (issue 6): let channels finish what is queued, report what was suppressed.
    let memory = d.alerter.memory();
    let stats = std::mem::replace(&mut d.alerter, crate::alert::Alerter::none())
        .shutdown(Duration::from_secs(10));
    // The placeholder keeps the memory for the final save.
    d.alerter.restore_memory(memory);
    if !d.quiet {
        println!("{}", json!({ "event": "alert_stats", "stats": stats }));
    }
    d.save()?;
    let _ = std::fs::remove_file(&control_path);
    let _ = std::fs::remove_file(&events_path);
    Ok(code)
}

/// Start every configured source; one that fails is reported and the others run.
fn start_sources(
    specs: &[SourceSpec],
    from_start: bool,
    cursors: &HashMap<String, Cursor>,
    tx: &sources::LineTx,
    problems: &mut Vec<String>,
) -> sources::Live {
    let mut live = sources::Live::default();
    for spec in specs {
        let started = match spec {
            SourceSpec::File(path) => {
                let start = match cursors.get(&sources::file_origin(path)) {
                    Some(Cursor::File(pos)) => Start::At(*pos),
                    _ if from_start => Start::Beginning,
                    _ => Start::End,
                };
                sources::spawn_file(path.clone(), start, tx.clone())
            }
            SourceSpec::Stdin => {
                sources::spawn_stdin(tx.clone());
                Ok(())
            }
            SourceSpec::Kmsg => {
                let seq = match cursors.get("kmsg") {
                    Some(Cursor::Kmsg(seq)) => Some(*seq),
                    _ => None,
                };
                sources::spawn_kmsg(seq, tx.clone())
                    .map(|h| live.lost.push(("kmsg".into(), h.lost)))
            }
            SourceSpec::Journal => {
                let after = match cursors.get("journal") {
                    Some(Cursor::Journal(c)) => Some(c.clone()),
                    _ => None,
                };
                sources::spawn_journal(after, tx.clone()).map(|h| live.journal = Some(h))
            }
            SourceSpec::Nflog(group) => sources::spawn_nflog(*group, tx.clone()).map(|h| {
                live.lost
                    .push((sources::nflog::nflog_origin(*group), h.lost))
            }),
        };
        if let Err(e) = started {
            let msg = format!("{e:#}");
            eprintln!("tripline: error: {}", crate::term::clean(&msg));
            problems.push(msg);
        }
    }
    live
}

/// Move messages of one channel into the loop's channel; `end` is sent when
/// the source channel closes.
fn forward<T: Send + 'static>(
    rx: Receiver<T>,
    tx: SyncSender<Msg>,
    wrap: fn(T) -> Msg,
    end: Option<Msg>,
) {
    std::thread::spawn(move || {
        for m in rx {
            if tx.send(wrap(m)).is_err() {
                return;
            }
        }
        if let Some(end) = end {
            let _ = tx.send(end);
        }
    });
}

fn spawn_signals(tx: SyncSender<Msg>) -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGHUP, SIGINT, SIGTERM])
        .context("cannot install signal handlers")?;
    std::thread::spawn(move || {
        for sig in signals.forever() {
            let msg = if sig == SIGHUP {
                Msg::Reload
            } else {
                Msg::Stop
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    });
    Ok(())
}

impl Daemon {
    fn run_loop(&mut self, rx: &Receiver<Msg>, args: &RunArgs) -> i32 {
        let mut next_save = Instant::now() + SAVE_EVERY;
        loop {
            let wait = self.wait_time(next_save);
            let first = match rx.recv_timeout(wait) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return 0,
            };
            let mut next = first;
            let mut handled = 0;
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Lines(batch) => {
                        handled += batch.len();
                        self.handle_batch(batch);
                    }
                    Msg::Call(call) => {
                        let answer = self.answer(&call.request);
                        let _ = call.reply.send(answer);
                    }
                    Msg::Reload => self.reload(args),
                    Msg::Ruleset => {
                        self.ruleset_queued.store(false, Ordering::Release);
                        if let Some(r) = &mut self.responder {
                            r.ruleset_changed();
                        }
                    }
                    Msg::Stop => {
                        self.finish_batch();
                        return 0;
                    }
                    Msg::SourcesEnded => {
                        self.finish_batch();
                        return 0;
                    }
                }
                handled += 1;
                if handled < BATCH {
                    next = rx.try_recv().ok();
                }
            }
            let now = settings::wall_clock();
            if self.engine.poll_timeout().is_some_and(|t| t <= now) {
                self.engine.handle_timeout(now);
            }
            self.alert_tick(now);
            self.finish_batch();
            self.respond_tick();
            // A flood changes sources faster than the clock ticks: save early
            // so the list of changes stays small.
            if Instant::now() >= next_save || self.engine.changed_count() > MAX_PENDING_CHANGES {
                if self.dirty {
                    if let Err(e) = self.save() {
                        self.problem(format!("saving state: {e:#}"));
                    }
                }
                next_save = Instant::now() + SAVE_EVERY;
            }
        }
    }

    fn wait_time(&self, next_save: Instant) -> Duration {
        let now = settings::wall_clock();
        let to_timeout = self
            .engine
            .poll_timeout()
            .into_iter()
            .chain(self.alerter.poll_timeout())
            .min()
            .map_or(Duration::MAX, |t| {
                Duration::from_micros(t.0.saturating_sub(now.0).max(0) as u64)
            });
        let to_save = if self.dirty {
            next_save.saturating_duration_since(Instant::now())
        } else {
            Duration::from_secs(3600)
        };
        let to_respond = self
            .responder
            .as_ref()
            .and_then(|r| r.next_deadline())
            .map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
        to_timeout.min(to_save).min(to_respond)
    }

    /// Blocks that lapsed, and what the responder did since the last call, as events;
    /// blocks added, renewed and lifted and the cap tripping also go out as alerts on
    /// the alert channels (psad's `[psad-status] added iptables auto-block ...`).
    fn respond_tick(&mut self) {
        let Some(r) = &mut self.responder else {
            return;
        };
        r.tick();
        let notices = r.drain_notices();
        if notices.is_empty() {
            return;
        }
        let backend = r.backend().as_str();
        let (cap, block_dl) = {
            let b = &self.engine.config().blocking;
            (b.max_per_minute, b.danger_level)
        };
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let mut alerts = Vec::new();
        let now = settings::wall_clock();
        for n in notices {
            // A block the kernel refused, or blocks a ruleset reload took away
            // for a while, must not pass unseen under --quiet.
            match &n {
                crate::respond::Notice::Error(e) => self.problem(format!("blocking: {e}")),
                crate::respond::Notice::Restored { blocks, .. } => self.problem(format!(
                    "blocking: {backend}: Tripline's firewall objects were gone (a ruleset \
                     reload?); re-created them and re-applied {blocks} blocks"
                )),
                _ => {}
            }
            let v = n.to_json();
            if !self.quiet {
                let _ = writeln!(out, "{v}");
            }
            self.subscribers
                .broadcast(&json!({ "type": "event", "event": v }).to_string());
            if let Some(ev) = n.block_event(backend, cap, block_dl, now.secs()) {
                alerts.extend(self.alerter.notify_block(&self.engine, ev, now));
            }
        }
        self.publish_alerts(alerts, &mut out);
        let _ = out.flush();
    }

    /// Report a problem on stderr (the journal under systemd) and in status,
    /// which keeps the latest [`MAX_PROBLEMS`].
    fn problem(&mut self, msg: String) {
        eprintln!("tripline: error: {}", crate::term::clean(&msg));
        if self.problems.len() >= MAX_PROBLEMS {
            self.problems.remove(0);
        }
        self.problems.push(msg);
    }

    fn handle_batch(&mut self, batch: LineBatch) {
        let now = settings::wall_clock();
        let opts = ParseOptions {
            now,
            ..ParseOptions::default()
        };
        for text in batch.lines() {
            self.totals.lines += 1;
            let outcome = self.engine.handle_line(text, &opts, now);
            self.totals.count(&outcome);
            self.drain_events();
        }
        *self.lines.entry(batch.origin.clone()).or_default() += batch.len() as u64;
        if batch.cursor != Cursor::None {
            match self.cursors.get_mut(&*batch.origin) {
                Some(c) => *c = batch.cursor,
                None => {
                    self.cursors.insert(batch.origin.to_string(), batch.cursor);
                }
            }
        }
        self.dirty = true;
    }

    /// Close the interval and hand out what the engine found.
    fn finish_batch(&mut self) {
        self.engine.end_interval(self.engine.now());
        self.drain_events();
    }

    fn drain_events(&mut self) {
        let Some(first) = self.engine.poll_event() else {
            return;
        };
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let mut next = Some(first);
        while let Some(ev) = next.take() {
            next = self.engine.poll_event();
            if let Some(r) = &mut self.responder {
                r.observe(&self.engine, &ev, self.engine.now());
            }
            let Some(v) = event_json(&ev) else { continue };
            self.dirty = true;
            if !self.quiet {
                let _ = writeln!(out, "{v}");
            }
            if self.subscribers.any() {
                let line = format!("{{\"type\":\"event\",\"event\":{v}}}");
                self.subscribers.broadcast(&line);
            }
            if let Some((src, kind)) = event_src(&ev) {
                self.detections.push(Detection {
                    at: v["at"].as_str().unwrap_or_default().to_string(),
                    src,
                    kind,
                    detail: v,
                });
            }
            // Alerts (issue 6): the policy decides, channels deliver in the background.
            let now = settings::wall_clock();
            let alerts = self.alerter.observe(&self.engine, &ev, now);
            self.publish_alerts(alerts, &mut out);
        }
        let _ = out.flush();
    }

    /// `ALERT_ALL`: sources that alerted before are re-checked once per interval.
    fn alert_tick(&mut self, now: Timestamp) {
        let alerts = self.alerter.tick(&self.engine, now);
        if !alerts.is_empty() {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            self.publish_alerts(alerts, &mut out);
            let _ = out.flush();
        }
    }

    /// Stores, prints and broadcasts alerts (`{"type":"alert","alert":{...}}`).
    fn publish_alerts(&mut self, alerts: Vec<tripline_core::alert::Alert>, out: &mut impl Write) {
        for a in alerts {
            // Serialized once, for stdout, subscribers and the store alike.
            let v = serde_json::to_string(&a).unwrap_or_else(|_| "null".into());
            if !self.quiet {
                let _ = writeln!(out, "{{\"event\":\"alert\",\"alert\":{v}}}");
            }
            if self.subscribers.any() {
                self.subscribers
                    .broadcast(&format!("{{\"type\":\"alert\",\"alert\":{v}}}"));
            }
            self.alerts.push((a.src, a.danger_level, a.at.clone(), v));
            self.dirty = true;
        }
    }

    fn save(&mut self) -> Result<()> {
        let changed = self.engine.take_changed();
        let engine = &self.engine;
        let mut sources = changed
            .into_iter()
            .map(|ip| (ip, engine.snapshot_source(ip)));
        let snap = engine.snapshot();
        let alerter = postcard::to_allocvec(&self.alerter.memory())?;
        self.store.save(Batch {
            alerter,
            sources: &mut sources,
            engine: &snap,
            cursors: &self.cursors,
            totals: &self.totals,
            detections: &self.detections,
            alerts: &self.alerts,
        })?;
        self.detections.clear();
        self.alerts.clear();
        self.dirty = false;
        self.saves += 1;
        self.last_save = Some(settings::wall_clock());
        Ok(())
    }

    /// SIGHUP: reload configuration and rules, keeping every source's state.
    /// A configuration that does not load leaves the running one in place.
    fn reload(&mut self, args: &RunArgs) {
        let loaded = match settings::load(&args.config) {
            Ok(l) => l,
            Err(e) => {
                self.problem(format!(
                    "reload refused, keeping the running configuration: {e:#}"
                ));
                return;
            }
        };
        self.finish_batch();
        let mut fresh = match Engine::new(Arc::new(loaded.config), Arc::new(loaded.rules)) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("tripline: error: reload refused: {e}");
                return;
            }
        };
        let snaps: Vec<_> = self
            .engine
            .sources()
            .filter_map(|s| self.engine.snapshot_source(s.addr()))
            .collect();
        if let Err(e) = fresh.restore(self.engine.snapshot(), snaps) {
            eprintln!("tripline: error: reload refused: {e}");
            return;
        }
        fresh.track_changes();
        // Every source is saved again: signature indices may have moved.
        fresh.mark_all_changed();
        // Alerts (issue 6): new channels, the same per-source alert history.
        if let Err(e) = self.alerter.reload(&fresh.config().alerting) {
            self.problem(format!(
                "alert channels not reloaded, keeping the running ones: {e:#}"
            ));
        }
        self.engine = fresh;
        // --- active response (issue 7) ---
        if let Some(r) = &mut self.responder {
            if let Err(e) = r.reload(self.engine.config()) {
                eprintln!("tripline: error: blocking settings not reloaded: {e:#}");
            }
        }
        self.dirty = true;
        self.reloads += 1;
        eprintln!("tripline: configuration reloaded");
    }

    fn answer(&mut self, req: &control::Request) -> String {
        match req.cmd.as_str() {
            "ping" => "{\"pong\":true}\n".to_string(),
            "status" => {
                self.finish_batch();
                // Detections not saved yet come first (newest first).
                let mut history: Vec<serde_json::Value> = self
                    .detections
                    .iter()
                    .rev()
                    .filter(|d| req.ip.contains(&d.src))
                    .map(
                        |d| json!({ "at": d.at, "src": d.src, "kind": d.kind, "detail": d.detail }),
                    )
                    .collect();
                history.extend(status::history(&self.store, req));
                status::render(&self.engine, &self.info(), &history, req)
            }
            other => format!(
                "{}\n",
                json!({ "error": format!("unknown command {other:?}") })
            ),
        }
    }

    fn inputs(&self) -> Vec<InputInfo> {
        let mut names: Vec<String> = self.lines.keys().map(|o| o.to_string()).collect();
        for (o, _) in &self.live.lost {
            if !names.contains(o) {
                names.push(o.clone());
            }
        }
        names.sort();
        names
            .into_iter()
            .map(|o| InputInfo {
                lines: self.lines.get(o.as_str()).copied().unwrap_or(0),
                lost: self
                    .live
                    .lost
                    .iter()
                    .filter(|(name, _)| *name == o)
                    .map(|(_, n)| n.load(std::sync::atomic::Ordering::Relaxed))
                    .sum(),
                cursor: self
                    .cursors
                    .get(&o)
                    .map_or_else(|| "-".into(), |c| c.to_string()),
                origin: o,
            })
            .collect()
    }

    fn info(&self) -> DaemonInfo {
        DaemonInfo {
            running: true,
            pid: Some(std::process::id()),
            started: Some(self.started.to_rfc3339()),
            database: self.store.path().display().to_string(),
            inputs: self.inputs(),
            totals: self.totals.clone(),
            tracked_sources: self.engine.source_count(),
            max_sources: self.engine.config().max_sources,
            evicted_sources: self.engine.stats().evicted,
            subscribers: self.subscribers.len(),
            alerts: Some(self.alerter.stats()),
            blocks: self
                .responder
                .as_ref()
                .map(|r| {
                    r.blocks()
                        .into_iter()
                        .map(|b| {
                            status::BlockStatus::new(b.net.to_string(), b.expires, b.dl, b.reason)
                        })
                        .collect()
                })
                .unwrap_or_default(),
            reloads: self.reloads,
            saves: self.saves,
            last_save: self.last_save.map(|t| t.to_rfc3339()),
            problems: self.problems.clone(),
        }
    }
}

/// The alerting part of the configuration, as `Alerter::new` takes it.
fn loaded_alerting(engine: &Engine) -> tripline_core::config::alerting::AlertingConfig {
    engine.config().alerting.clone()
}

fn event_src(ev: &Event) -> Option<(IpAddr, &'static str)> {
    match ev {
        Event::DangerRaised { src, .. } => Some((*src, "danger_raised")),
        Event::SignatureMatched { src, .. } => Some((*src, "signature")),
        Event::OsGuessed { src, .. } => Some((*src, "os_guessed")),
        Event::ScanExpired { src, .. } => Some((*src, "scan_expired")),
        Event::SourceSeen { .. } => None,
    }
}

fn event_json(ev: &Event) -> Option<serde_json::Value> {
    Some(match ev {
        Event::DangerRaised {
            src,
            from,
            to,
            reason,
            at,
        } => json!({
            "event": "danger_raised", "src": src, "from": from, "to": to,
            "reason": reason_text(reason), "at": at.to_rfc3339(),
        }),
        Event::SignatureMatched { src, dst, sig, at } => json!({
            "event": "signature", "src": src, "dst": dst, "signature": sig, "at": at.to_rfc3339(),
        }),
        Event::OsGuessed { src, at } => {
            json!({ "event": "os_guessed", "src": src, "at": at.to_rfc3339() })
        }
        Event::ScanExpired { src, dst, at } => json!({
            "event": "scan_expired", "src": src, "dst": dst, "at": at.to_rfc3339(),
        }),
        Event::SourceSeen { .. } => return None,
    })
}

fn reason_text(r: &DangerReason) -> String {
    match r {
        DangerReason::Packets { dst, packets } => format!("{packets} packets to {dst}"),
        DangerReason::Hosts { destinations } => format!("{destinations} destinations"),
        DangerReason::Signature { sig } => format!("signature {sig}"),
        DangerReason::AutoDl => "auto_dl".into(),
        DangerReason::InvalidIcmp => "invalid ICMP type or code".into(),
        DangerReason::Trw { failures } => format!("TRW: {failures} failed first contacts"),
    }
}
