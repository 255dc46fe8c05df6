//! The daemon's Unix sockets.
//!
//! * The control socket (mode 0600: root only) answers one JSON request per
//!   connection, e.g. `{"cmd":"status","json":true,"min_dl":2}`, with the
//!   rendered answer, then closes. Requests go to the detection loop, which
//!   owns the engine; this module only moves bytes.
//! * The events socket (mode 0660, optionally a configured group) streams
//!   every alert as one JSON object per line to whoever is connected
//!   (`tripline notify`); a subscriber that does not keep up is dropped
//!   rather than slowing detection.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request to the daemon.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Request {
    /// `status` (the only command so far besides `ping`).
    pub cmd: String,
    /// JSON instead of text.
    #[serde(default)]
    pub json: bool,
    /// Only these sources.
    #[serde(default)]
    pub ip: Vec<IpAddr>,
    /// Minimum danger level.
    #[serde(default)]
    pub min_dl: Option<u8>,
    /// Summary only.
    #[serde(default)]
    pub summary: bool,
}

/// A request with the way back to its client.
pub struct Call {
    /// What was asked.
    pub request: Request,
    /// Where the answer goes.
    pub reply: Sender<String>,
}

/// Remove a stale socket file and bind, with `mode`.
fn bind(path: &Path, mode: u32) -> Result<UnixListener> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    if UnixStream::connect(path).is_ok() {
        anyhow::bail!(
            "{}: another tripline daemon is running (its socket answers)",
            path.display()
        );
    }
    let _ = std::fs::remove_file(path);
    let l = UnixListener::bind(path).with_context(|| format!("cannot bind {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    Ok(l)
}

/// Serve the control socket: each request becomes a [`Call`] on `calls`.
pub fn serve_control(path: &Path, calls: Sender<Call>) -> Result<()> {
    let listener = bind(path, 0o600)?;
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let calls = calls.clone();
            std::thread::spawn(move || {
                let _ = answer(conn, &calls);
            });
        }
    });
    Ok(())
}

fn answer(conn: UnixStream, calls: &Sender<Call>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut line = String::new();
    BufReader::new(&conn).take_line(&mut line)?;
    let mut out = &conn;
    let request: Request = match serde_json::from_str(&line) {
        Ok(r) => r,
        Err(e) => {
            return writeln!(
                out,
                "{}",
                serde_json::json!({ "error": format!("bad request: {e}") })
            )
        }
    };
    let (tx, rx) = channel();
    if calls.send(Call { request, reply: tx }).is_err() {
        return Ok(());
    }
    if let Ok(answer) = rx.recv_timeout(Duration::from_secs(30)) {
        out.write_all(answer.as_bytes())?;
    }
    Ok(())
}

trait TakeLine {
    fn take_line(&mut self, s: &mut String) -> std::io::Result<usize>;
}

impl<R: BufRead> TakeLine for R {
    /// One line, at most 64 KiB: a client cannot make the daemon buffer more.
    fn take_line(&mut self, s: &mut String) -> std::io::Result<usize> {
        std::io::Read::take(self, 64 << 10).read_line(s)
    }
}

/// Ask the daemon at `path`; `None` when no daemon answers there.
pub fn ask(path: &Path, request: &Request) -> Result<Option<String>> {
    let mut conn = match UnixStream::connect(path) {
        Ok(c) => c,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e).with_context(|| format!("cannot connect to {}", path.display())),
    };
    writeln!(conn, "{}", serde_json::to_string(request)?)?;
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut conn, &mut answer)
        .with_context(|| format!("reading the answer from {}", path.display()))?;
    Ok(Some(answer))
}

/// Connected alert subscribers.
#[derive(Clone, Default)]
pub struct Subscribers(Arc<Mutex<Vec<UnixStream>>>, Arc<AtomicUsize>);

impl Subscribers {
    /// Whether anyone listens (cheap: no lock), so the loop can skip
    /// building lines nobody reads.
    pub fn any(&self) -> bool {
        self.1.load(Ordering::Relaxed) > 0
    }

    /// Send one line to every subscriber, dropping those that fail or stall.
    pub fn broadcast(&self, line: &str) {
        let mut subs = self.0.lock().unwrap_or_else(|e| e.into_inner());
        subs.retain_mut(|s| {
            s.write_all(line.as_bytes())
                .and_then(|_| s.write_all(b"\n"))
                .is_ok()
        });
        self.1.store(subs.len(), Ordering::Relaxed);
    }

    /// Number connected.
    pub fn len(&self) -> usize {
        self.0.lock().map(|s| s.len()).unwrap_or(0)
    }
}

/// Serve the events socket; `group` may read it besides root.
pub fn serve_events(path: &Path, group: Option<&str>) -> Result<Subscribers> {
    let listener = bind(path, 0o660)?;
    if let Some(name) = group {
        let g = nix::unistd::Group::from_name(name)
            .with_context(|| format!("cannot look up group {name}"))?
            .with_context(|| format!("no such group: {name}"))?;
        nix::unistd::chown(path, None, Some(g.gid))
            .with_context(|| format!("cannot give {} to group {name}", path.display()))?;
    }
    let subs = Subscribers::default();
    let (list, count) = (subs.0.clone(), subs.1.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            // A stalled reader costs at most this per alert, then is dropped.
            let _ = conn.set_write_timeout(Some(Duration::from_millis(200)));
            let mut l = list.lock().unwrap_or_else(|e| e.into_inner());
            l.push(conn);
            count.store(l.len(), Ordering::Relaxed);
        }
    });
    Ok(subs)
}

/// Command-line paths, completed from `[daemon]`: flags win.
pub fn with_config(
    d: &crate::cli::DaemonPaths,
    cfg: &tripline_core::config::DaemonConfig,
) -> crate::cli::DaemonPaths {
    let pick = |flag: &Option<PathBuf>, conf: &Option<String>| {
        flag.clone().or_else(|| conf.as_ref().map(PathBuf::from))
    };
    crate::cli::DaemonPaths {
        state_dir: pick(&d.state_dir, &cfg.state_dir),
        socket: pick(&d.socket, &cfg.socket),
        events_socket: pick(&d.events_socket, &cfg.events_socket),
    }
}

/// The sockets' paths for a daemon.
pub fn socket_paths(d: &crate::cli::DaemonPaths) -> (PathBuf, PathBuf) {
    let control = match (&d.socket, &d.state_dir) {
        (Some(p), _) => p.clone(),
        (None, Some(dir)) => dir.join("tripline.sock"),
        (None, None) => PathBuf::from("/run/tripline/tripline.sock"),
    };
    let events = d.events_socket.clone().unwrap_or_else(|| {
        control
            .parent()
            .unwrap_or(Path::new("."))
            .join("events.sock")
    });
    (control, events)
}
