//! `tripline status`: psad -S's report of what the daemon knows. Asked of
//! the running daemon over its control socket; when none answers, built
//! from the state it saved.

use crate::cli::StatusArgs;
use crate::control::{self, Request};
use crate::input::Input;
use crate::report::{self, Report};
use crate::settings;
use crate::store::{Store, Totals, DEFAULT_STATE_DIR};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use tripline_core::engine::Engine;

/// What the daemon says about itself.
#[derive(Debug, Clone, Serialize)]
pub struct DaemonInfo {
    /// Whether this comes from a running daemon (else from saved state).
    pub running: bool,
    /// Its pid.
    pub pid: Option<u32>,
    /// When it started (RFC 3339).
    pub started: Option<String>,
    /// The state database.
    pub database: String,
    /// Sources of lines and where each stands.
    pub inputs: Vec<InputInfo>,
    /// Line counters since the state was created.
    pub totals: Totals,
    /// Tracked sources, and the cap.
    pub tracked_sources: usize,
    /// `detection.max-sources` (0 = no cap).
    pub max_sources: u64,
    /// Sources evicted to stay under the cap.
    pub evicted_sources: u64,
    /// Alert stream subscribers.
    pub subscribers: usize,
    /// Configuration reloads (SIGHUP) taken.
    pub reloads: u64,
    /// State saves since start.
    pub saves: u64,
    /// Last successful save (RFC 3339).
    pub last_save: Option<String>,
    /// Alert counters since start: produced, suppressed, and per channel
    /// (sent, failed, rate-limited, dropped); `None` from saved state.
    pub alerts: Option<crate::alert::AlerterStats>,
    /// Addresses and networks blocked now (psad -S's auto-blocked IPs).
    pub blocks: Vec<BlockStatus>,
    /// Problems worth the administrator's eye (a source that failed, a save that failed).
    pub problems: Vec<String>,
}

/// One block.
#[derive(Debug, Clone, Serialize)]
pub struct BlockStatus {
    /// What is blocked.
    pub net: String,
    /// When it lapses (RFC 3339), `None` = until unblocked.
    pub expires: Option<String>,
    /// Danger level when blocked.
    pub dl: u8,
    /// Why.
    pub reason: String,
}

impl BlockStatus {
    /// From the responder's or the database's view.
    pub fn new(net: String, expires: Option<i64>, dl: u8, reason: String) -> BlockStatus {
        BlockStatus {
            net,
            expires: expires.map(|t| tripline_core::Timestamp::from_secs(t).to_rfc3339()),
            dl,
            reason,
        }
    }
}

/// One input of the daemon.
#[derive(Debug, Clone, Serialize)]
pub struct InputInfo {
    /// Its name (`file:/var/log/kern.log`, `kmsg`, ...).
    pub origin: String,
    /// Lines read from it since start.
    pub lines: u64,
    /// Records the kernel dropped before they were read (kmsg overruns, NFLOG gaps).
    pub lost: u64,
    /// Its position (saved cursor), as text.
    pub cursor: String,
}

/// The saved detections of the sources `req` asks about (none without `--ip`).
pub fn history(store: &Store, req: &Request) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for ip in &req.ip {
        out.extend(store.detections(Some(*ip), 50).unwrap_or_default());
    }
    out
}

/// Render the status answer for `req`.
pub fn render(
    engine: &Engine,
    info: &DaemonInfo,
    history: &[serde_json::Value],
    req: &Request,
) -> String {
    let inputs: Vec<Input> = info
        .inputs
        .iter()
        .map(|i| Input {
            path: PathBuf::from(&i.origin),
        })
        .collect();
    let min_dl = req.min_dl.unwrap_or(engine.config().min_danger_level);
    let report = Report::build(
        std::slice::from_ref(engine),
        &info.totals,
        &[],
        0,
        min_dl,
        &req.ip,
        &inputs,
    );
    if req.json {
        let mut v = serde_json::json!({ "daemon": info, "report": report, "history": history });
        if req.summary {
            if let Some(r) = v.get_mut("report").and_then(|r| r.as_object_mut()) {
                r.remove("sources");
            }
        }
        return serde_json::to_string_pretty(&v).unwrap_or_default() + "\n";
    }
    let mut out = Vec::new();
    let _ = write_header(&mut out, info);
    let _ = report::text::write(&mut out, &report, req.summary, false);
    if !history.is_empty() {
        let _ = writeln!(
            out,
            "\n[+] Detection history (newest first, saved detections only):"
        );
        for h in history {
            let _ = writeln!(
                out,
                "    {}  {:<13} {}",
                h["at"].as_str().unwrap_or("?"),
                h["kind"].as_str().unwrap_or("?"),
                crate::term::clean(&h["detail"].to_string())
            );
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn write_header(out: &mut impl Write, i: &DaemonInfo) -> std::io::Result<()> {
    match (i.running, i.pid) {
        (true, Some(pid)) => writeln!(out, "[+] tripline (pid: {pid})")?,
        _ => writeln!(out, "[-] tripline is not running; saved state follows")?,
    }
    if let Some(s) = &i.started {
        writeln!(out, "    Running since: {s}")?;
    }
    writeln!(
        out,
        "    State database: {}",
        crate::term::clean(&i.database)
    )?;
    if let Some(s) = &i.last_save {
        writeln!(out, "    Last save: {s}")?;
    }
    for inp in &i.inputs {
        writeln!(
            out,
            "    Input: {} ({} lines, {} lost, at {})",
            crate::term::clean(&inp.origin),
            inp.lines,
            inp.lost,
            inp.cursor
        )?;
    }
    let cap = if i.max_sources == 0 {
        "no cap".to_string()
    } else {
        format!("cap {}", i.max_sources)
    };
    writeln!(
        out,
        "    Tracked sources: {} ({cap}), evicted: {}",
        i.tracked_sources, i.evicted_sources
    )?;
    if i.running {
        writeln!(out, "    Alert subscribers: {}", i.subscribers)?;
    }
    if let Some(a) = &i.alerts {
        writeln!(
            out,
            "    Alerts: {} produced, {} over EMAIL_LIMIT, {} throttled, {} block notices",
            a.alerts, a.suppressed_limit, a.suppressed_throttle, a.block_notices
        )?;
        for c in &a.channels {
            writeln!(
                out,
                "        {}: {} sent, {} failed, {} rate-limited, {} dropped (queue full)",
                crate::term::clean(&c.name),
                c.sent,
                c.failed,
                c.rate_limited,
                c.dropped_full
            )?;
        }
    }
    if !i.blocks.is_empty() {
        writeln!(out, "    Blocked: {}", i.blocks.len())?;
        for b in &i.blocks {
            writeln!(
                out,
                "        {} DL {} until {} ({})",
                b.net,
                b.dl,
                b.expires.as_deref().unwrap_or("unblocked"),
                crate::term::clean(&b.reason)
            )?;
        }
    }
    for p in &i.problems {
        writeln!(out, "    Problem: {}", crate::term::clean(p))?;
    }
    writeln!(out)
}

/// `tripline status`.
pub fn run(args: &StatusArgs) -> Result<i32> {
    let req = Request {
        cmd: "status".into(),
        json: args.json,
        ip: args.ip.clone(),
        min_dl: args.min_dl,
        summary: args.summary,
    };
    // The configuration may name the state directory and sockets; a broken
    // one (being edited while the daemon runs) must not hide the daemon.
    let loaded = settings::load(&args.config);
    let paths = match &loaded {
        Ok(l) => control::with_config(&args.daemon, &l.config.daemon),
        Err(_) => args.daemon.clone(),
    };
    let (socket, _) = control::socket_paths(&paths);
    let answer = match control::ask(&socket, &req)? {
        Some(a) => a,
        None => from_saved_state(loaded?, &paths, &req)?,
    };
    std::io::stdout().write_all(answer.as_bytes())?;
    Ok(0)
}

/// The status from the database when no daemon answers.
fn from_saved_state(
    loaded: settings::Loaded,
    paths: &crate::cli::DaemonPaths,
    req: &Request,
) -> Result<String> {
    let dir = paths
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
    let db = crate::store::db_path(&dir);
    if !db.exists() {
        bail!(
            "no daemon answers and there is no saved state ({} does not exist)",
            db.display()
        );
    }
    let store = Store::open_read_only(&dir)?;
    let mut warnings = Vec::new();
    let saved = store.load(&mut warnings)?;
    for w in &warnings {
        eprintln!("tripline: warning: {}", crate::term::clean(w));
    }
    let mut engine = Engine::new(Arc::new(loaded.config), Arc::new(loaded.rules))
        .context("invalid configuration")?;
    if let Some(snap) = saved.engine {
        engine
            .restore(snap, saved.sources)
            .with_context(|| format!("{}: saved state", db.display()))?;
    }
    let info = DaemonInfo {
        running: false,
        pid: None,
        started: None,
        database: db.display().to_string(),
        inputs: saved
            .cursors
            .iter()
            .map(|(o, c)| InputInfo {
                origin: o.clone(),
                lines: 0,
                lost: 0,
                cursor: c.to_string(),
            })
            .collect(),
        totals: saved.totals,
        tracked_sources: engine.source_count(),
        max_sources: engine.config().max_sources,
        evicted_sources: engine.stats().evicted,
        subscribers: 0,
        alerts: None,
        blocks: crate::respond::db::BlockDb::open_read_only(&dir)
            .and_then(|db| db.all())
            .map(|rows| {
                rows.into_iter()
                    .map(|r| BlockStatus::new(r.net.to_string(), r.expires, r.dl, r.reason))
                    .collect()
            })
            .unwrap_or_default(),
        reloads: 0,
        saves: 0,
        last_save: None,
        problems: warnings,
    };
    let history = history(&store, req);
    Ok(render(&engine, &info, &history, req))
}
