//! The daemon's state in SQLite (`<state-dir>/tripline.db`, WAL): per-source
//! engine state, the engine-wide snapshot, source cursors, line counters and
//! the history of detections and alerts.
//!
//! A save is one transaction holding the sources changed since the last save,
//! the engine snapshot, every source's cursor (the position after the last
//! line fed to the engine) and the detections found meanwhile. A crash
//! between saves loses nothing: the lines after the saved cursors are read
//! again into the state saved with them, so no line is counted twice.
//!
//! Other modules may keep their own tables in the same file (the responder's
//! `blocks`); each creates its tables with `CREATE TABLE IF NOT EXISTS`.

use crate::sources::Cursor;
use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use tripline_core::engine::{EngineSnapshot, SourceSnapshot};

/// Version of the snapshot encoding; state of another version is set aside
/// (with a warning), never misread.
const STATE_FORMAT: i64 = 1;

/// Default state directory.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/tripline";

/// The database file in a state directory.
pub fn db_path(state_dir: &Path) -> PathBuf {
    state_dir.join("tripline.db")
}

/// Open (creating if needed) the database with the pragmas every user of it
/// needs: WAL, a busy timeout so the daemon and the CLI can share it.
pub fn open_db(state_dir: &Path) -> Result<Connection> {
    if !state_dir.exists() {
        // Attack data and block lists: readable by root only.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(state_dir)
            .with_context(|| format!("cannot create state directory {}", state_dir.display()))?;
    }
    let path = db_path(state_dir);
    let conn =
        Connection::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Switching to WAL (or recovering a WAL left by a killed process) can
    // answer "busy" without calling the busy handler: retry for a while.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Ok(()) => break,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                // Back-off before the next attempt; another process holds the lock.
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => {
                return Err(e).with_context(|| format!("{}: cannot enable WAL", path.display()))
            }
        }
    }
    // WAL + NORMAL: a committed transaction survives the process being killed.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Open the database to read only (`tripline status` without a daemon): no
/// pragma, no table created, so a reader never competes with a starting daemon
/// for a write lock.
pub fn open_db_read_only(state_dir: &Path) -> Result<Connection> {
    let path = db_path(state_dir);
    let conn = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("cannot open {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// Line counters of the daemon since its state was created.
pub use crate::analyze::LineTotals as Totals;

/// One detection for the history table.
#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    /// When (RFC 3339).
    pub at: String,
    /// Source address.
    pub src: IpAddr,
    /// `danger_raised`, `signature`, `os_guessed`, `scan_expired`.
    pub kind: &'static str,
    /// The event as JSON.
    pub detail: serde_json::Value,
}

/// What a restart resumes from.
#[derive(Default)]
pub struct Saved {
    /// The engine-wide snapshot, if any state was saved.
    pub engine: Option<EngineSnapshot>,
    /// Every saved source.
    pub sources: Vec<SourceSnapshot>,
    /// Cursor per source origin.
    pub cursors: HashMap<String, Cursor>,
    /// Line counters.
    pub totals: Totals,
    /// The alerter's memory (postcard), if saved.
    pub alerter: Option<Vec<u8>>,
}

/// Everything one save writes.
pub struct Batch<'a> {
    /// Changed sources: a snapshot, or `None` when the source is gone
    /// (evicted). Streamed: a flood's worth of snapshots is never held at once.
    pub sources: &'a mut dyn Iterator<Item = (IpAddr, Option<SourceSnapshot>)>,
    /// The engine-wide snapshot.
    pub engine: &'a EngineSnapshot,
    /// Cursors that moved.
    pub cursors: &'a HashMap<String, Cursor>,
    /// Line counters.
    pub totals: &'a Totals,
    /// New detections.
    pub detections: &'a [Detection],
    /// New alerts as JSON, with source and danger level.
    pub alerts: &'a [(IpAddr, u8, String, String)],
    /// The alerter's memory (postcard).
    pub alerter: Vec<u8>,
}

/// The state store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum CursorRow {
    File { inode: u64, offset: u64 },
    Kmsg { seq: u64 },
    Journal { cursor: String },
}

impl Store {
    /// Open the store in `state_dir`, creating its tables.
    pub fn open(state_dir: &Path) -> Result<Store> {
        let conn = open_db(state_dir)?;
        let path = db_path(state_dir);
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
             CREATE TABLE IF NOT EXISTS sources (
                 ip TEXT PRIMARY KEY, dl INTEGER NOT NULL, packets INTEGER NOT NULL,
                 last_seen INTEGER NOT NULL, state BLOB NOT NULL);
             CREATE TABLE IF NOT EXISTS cursors (origin TEXT PRIMARY KEY, cursor TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS detections (
                 id INTEGER PRIMARY KEY, at TEXT NOT NULL, src TEXT NOT NULL,
                 kind TEXT NOT NULL, detail TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS detections_src ON detections (src);
             CREATE TABLE IF NOT EXISTS alerts (
                 id INTEGER PRIMARY KEY, at TEXT NOT NULL, src TEXT NOT NULL,
                 dl INTEGER NOT NULL, alert TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS alerts_src ON alerts (src);",
        )
        .with_context(|| format!("{}: cannot create tables", path.display()))?;
        Ok(Store { conn, path })
    }

    /// Open an existing store to read only (see [`open_db_read_only`]).
    pub fn open_read_only(state_dir: &Path) -> Result<Store> {
        Ok(Store {
            conn: open_db_read_only(state_dir)?,
            path: db_path(state_dir),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Load what was saved. State of another format version, or that does
    /// not decode, is reported in `warnings` and left out (the detection
    /// history stays).
    pub fn load(&self, warnings: &mut Vec<String>) -> Result<Saved> {
        let mut saved = Saved::default();
        let format: Option<i64> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let where_ = self.path.display();
        if let Some(f) = format {
            if f != STATE_FORMAT {
                warnings.push(format!(
                    "{where_}: state format {f} is not {STATE_FORMAT}; starting with empty state"
                ));
                return Ok(saved);
            }
        }
        let blob: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'engine'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(blob) = blob else {
            return Ok(saved);
        };
        match postcard::from_bytes::<EngineSnapshot>(&blob) {
            Ok(e) => saved.engine = Some(e),
            Err(e) => {
                warnings.push(format!(
                    "{where_}: meta 'engine': undecodable ({e}); starting with empty state"
                ));
                return Ok(saved);
            }
        }
        let mut stmt = self.conn.prepare("SELECT ip, state FROM sources")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let ip: String = row.get(0)?;
            let blob: Vec<u8> = row.get(1)?;
            match postcard::from_bytes::<SourceSnapshot>(&blob) {
                Ok(s) => saved.sources.push(s),
                Err(e) => warnings.push(format!(
                    "{where_}: table sources, ip {ip}: undecodable state ({e}); source dropped"
                )),
            }
        }
        let mut stmt = self.conn.prepare("SELECT origin, cursor FROM cursors")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let origin: String = row.get(0)?;
            let text: String = row.get(1)?;
            match serde_json::from_str::<CursorRow>(&text) {
                Ok(c) => {
                    saved.cursors.insert(origin, c.into());
                }
                Err(e) => warnings.push(format!(
                    "{where_}: table cursors, origin {origin}: {e}; the source starts afresh"
                )),
            }
        }
        let totals: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'totals'", [], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(t) = totals {
            saved.totals = serde_json::from_str(&t).unwrap_or_default();
        }
        saved.alerter = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'alerter'", [], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(saved)
    }

    /// Write one save, atomically.
    pub fn save(&mut self, b: Batch<'_>) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO sources (ip, dl, packets, last_seen, state)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut del = tx.prepare_cached("DELETE FROM sources WHERE ip = ?1")?;
            for (ip, snap) in b.sources {
                match snap {
                    Some(s) => {
                        let blob = postcard::to_allocvec(&s)?;
                        put.execute(params![
                            ip.to_string(),
                            s.danger_level(),
                            s.packets(),
                            s.last_seen(),
                            blob
                        ])?;
                    }
                    None => {
                        del.execute(params![ip.to_string()])?;
                    }
                }
            }
            let mut meta =
                tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?;
            meta.execute(params!["format", STATE_FORMAT])?;
            meta.execute(params!["engine", postcard::to_allocvec(b.engine)?])?;
            meta.execute(params!["totals", serde_json::to_string(b.totals)?])?;
            meta.execute(params!["alerter", b.alerter])?;
            let mut cur = tx.prepare_cached(
                "INSERT OR REPLACE INTO cursors (origin, cursor) VALUES (?1, ?2)",
            )?;
            for (origin, c) in b.cursors {
                if let Some(row) = CursorRow::from_cursor(c) {
                    cur.execute(params![origin, serde_json::to_string(&row)?])?;
                }
            }
            let mut det = tx.prepare_cached(
                "INSERT INTO detections (at, src, kind, detail) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for d in b.detections {
                det.execute(params![
                    d.at,
                    d.src.to_string(),
                    d.kind,
                    d.detail.to_string()
                ])?;
            }
            let mut al = tx.prepare_cached(
                "INSERT INTO alerts (at, src, dl, alert) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (src, dl, at, a) in b.alerts {
                al.execute(params![at, src.to_string(), dl, a])?;
            }
        }
        tx.commit()
            .with_context(|| format!("{}: commit failed", self.path.display()))?;
        Ok(())
    }

    /// The latest detections (newest first), optionally of one source.
    pub fn detections(&self, src: Option<IpAddr>, limit: usize) -> Result<Vec<serde_json::Value>> {
        let mut stmt = self.conn.prepare(
            "SELECT at, src, kind, detail FROM detections
             WHERE ?1 IS NULL OR src = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![src.map(|s| s.to_string()), limit as i64], |r| {
            let detail: String = r.get(3)?;
            Ok(serde_json::json!({
                "at": r.get::<_, String>(0)?,
                "src": r.get::<_, String>(1)?,
                "kind": r.get::<_, String>(2)?,
                "detail": serde_json::from_str::<serde_json::Value>(&detail).unwrap_or_default(),
            }))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl CursorRow {
    fn from_cursor(c: &Cursor) -> Option<CursorRow> {
        Some(match c {
            Cursor::None => return None,
            Cursor::File(p) => CursorRow::File {
                inode: p.inode,
                offset: p.offset,
            },
            Cursor::Kmsg(seq) => CursorRow::Kmsg { seq: *seq },
            Cursor::Journal(c) => CursorRow::Journal { cursor: c.clone() },
        })
    }
}

impl From<CursorRow> for Cursor {
    fn from(r: CursorRow) -> Cursor {
        match r {
            CursorRow::File { inode, offset } => {
                Cursor::File(crate::sources::file::FilePos { inode, offset })
            }
            CursorRow::Kmsg { seq } => Cursor::Kmsg(seq),
            CursorRow::Journal { cursor } => Cursor::Journal(cursor),
        }
    }
}
