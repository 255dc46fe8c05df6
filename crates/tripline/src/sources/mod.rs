//! Where log lines come from. Each source runs on its own thread and sends
//! complete lines to the detection loop; a file source wakes on inotify
//! events (with a one-second safety net), not on a polling interval.
//! `kmsg.rs` reads /dev/kmsg, `journal.rs` follows journalctl, `nflog.rs`
//! reads NFLOG groups over netlink; [`auto_default`] picks a source when
//! none is configured.

pub mod file;
pub mod journal;
pub mod kmsg;
pub mod nflog;

pub use journal::{spawn_journal, JournalHandle};
pub use kmsg::spawn_kmsg;
pub use nflog::spawn_nflog;

use anyhow::{Context, Result};
use notify::Watcher;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::Duration;

/// Where sources send lines: bounded, so a source that reads faster than
/// detection keeps up waits instead of piling lines up in memory.
pub type LineTx = std::sync::mpsc::SyncSender<Line>;

/// Lines queued between the sources and detection at most.
pub const LINE_QUEUE: usize = 4096;

/// The store's name of a file source.
pub fn file_origin(path: &std::path::Path) -> String {
    format!("file:{}", path.display())
}

/// A line from a source.
#[allow(dead_code)] // origin and cursor: read by the state store (next commit)
pub struct Line {
    /// The line, without its newline.
    pub text: String,
    /// Which source sent it: its name in the state store ("file:/var/log/kern.log",
    /// "kmsg", "journal", "nflog:5", "stdin").
    pub origin: std::sync::Arc<str>,
    /// Where the source stands after this line; saved with the state so a
    /// restart resumes after it.
    pub cursor: Cursor,
}

/// A source's resumable position after a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// Not resumable (stdin, NFLOG).
    None,
    /// A followed file.
    File(file::FilePos),
    /// /dev/kmsg: the sequence number of the record.
    Kmsg(u64),
    /// journald: the entry's cursor string.
    Journal(String),
}

/// Follow `path` from `start`, sending each new line; runs until the receiver is gone.
pub fn spawn_file(path: PathBuf, start: file::Start, tx: LineTx) -> Result<()> {
    let origin: Arc<str> = file_origin(&path).into();
    let mut follower = file::Follower::new(&path, start)
        .with_context(|| format!("cannot follow {}", path.display()))?;
    let (wake_tx, wake_rx) = channel();
    let mut watcher = notify::recommended_watcher(move |_res| {
        let _ = wake_tx.send(());
    })
    .context("cannot start inotify")?;
    // Watch the directory: rotation replaces the file itself.
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    watcher
        .watch(&dir, notify::RecursiveMode::NonRecursive)
        .with_context(|| format!("cannot watch {}", dir.display()))?;
    std::thread::spawn(move || {
        let _watcher = watcher;
        let mut lines = Vec::new();
        loop {
            lines.clear();
            if let Err(e) = follower.read_new(&mut lines) {
                eprintln!(
                    "tripline: error: reading {}: {e}",
                    follower.path().display()
                );
            }
            for (text, pos) in lines.drain(..) {
                let line = Line {
                    text,
                    origin: origin.clone(),
                    cursor: Cursor::File(pos),
                };
                if tx.send(line).is_err() {
                    return;
                }
            }
            // Woken by inotify; the timeout only guards against lost events.
            let _ = wake_rx.recv_timeout(Duration::from_secs(1));
            while wake_rx.try_recv().is_ok() {}
        }
    });
    Ok(())
}

/// Read standard input line by line.
pub fn spawn_stdin(tx: LineTx) {
    let origin: Arc<str> = "stdin".into();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(text) = line else { break };
            let line = Line {
                text,
                origin: origin.clone(),
                cursor: Cursor::None,
            };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
}

/// A source to start when the configuration names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// journald's kernel messages ([`spawn_journal`]).
    Journal,
    /// A syslog file ([`spawn_file`]).
    File(PathBuf),
    /// /dev/kmsg ([`spawn_kmsg`]).
    Kmsg,
}

impl std::fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceSpec::Journal => f.write_str("journald (journalctl -k)"),
            SourceSpec::File(p) => write!(f, "{}", p.display()),
            SourceSpec::Kmsg => f.write_str(kmsg::DEV_KMSG),
        }
    }
}

/// The kernel sources `tripline run` started; keep it alive as long as they
/// should run (dropping it stops journalctl).
#[derive(Default)]
pub struct Live {
    /// The journal source's child process.
    pub journal: Option<JournalHandle>,
    /// Records or packets lost by each source (origin, count), for status.
    pub lost: Vec<(String, Arc<std::sync::atomic::AtomicU64>)>,
}

/// Start the kernel sources asked for (`--kmsg`, `--journal`, `--nflog`),
/// resuming from saved cursors; with `auto`, the [`auto_default`] source.
/// A source that cannot start is reported and pushed to `problems`; the
/// others run.
pub fn start_live(
    kmsg: bool,
    journal: bool,
    nflog: &[u16],
    auto: bool,
    cursors: &std::collections::HashMap<String, Cursor>,
    tx: &LineTx,
    problems: &mut Vec<String>,
) -> Live {
    let mut live = Live::default();
    let mut report = |e: anyhow::Error| {
        let msg = format!("{e:#}");
        eprintln!("tripline: error: {}", crate::term::clean(&msg));
        problems.push(msg);
    };
    let auto = auto.then(auto_default);
    if let Some(spec) = &auto {
        eprintln!("tripline: no source given; reading {spec}");
    }
    if let Some(SourceSpec::File(path)) = &auto {
        let start = match cursors.get(&file_origin(path)) {
            Some(Cursor::File(pos)) => file::Start::At(*pos),
            _ => file::Start::End,
        };
        if let Err(e) = spawn_file(path.clone(), start, tx.clone()) {
            report(e);
        }
    }
    if kmsg || auto == Some(SourceSpec::Kmsg) {
        let seq = match cursors.get("kmsg") {
            Some(Cursor::Kmsg(seq)) => Some(*seq),
            _ => None,
        };
        match spawn_kmsg(seq, tx.clone()) {
            Ok(h) => live.lost.push(("kmsg".into(), h.lost)),
            Err(e) => report(e),
        }
    }
    if journal || auto == Some(SourceSpec::Journal) {
        let after = match cursors.get("journal") {
            Some(Cursor::Journal(c)) => Some(c.clone()),
            _ => None,
        };
        match spawn_journal(after, tx.clone()) {
            Ok(h) => live.journal = Some(h),
            Err(e) => report(e),
        }
    }
    for &group in nflog {
        match spawn_nflog(group, tx.clone()) {
            Ok(h) => live.lost.push((nflog::nflog_origin(group), h.lost)),
            Err(e) => report(e),
        }
    }
    live
}

/// Syslog files that hold kernel messages, in order of preference.
pub const SYSLOG_FILES: [&str; 3] = ["/var/log/kern.log", "/var/log/syslog", "/var/log/messages"];

/// The default source: journald when it runs (its socket directory exists
/// and `journalctl` answers), else the first syslog file that exists, else
/// /dev/kmsg.
pub fn auto_default() -> SourceSpec {
    let journald = std::path::Path::new("/run/systemd/journal").is_dir()
        && std::process::Command::new("journalctl")
            .args(["-q", "-k", "-n", "0", "--no-pager"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    choose_default(journald, |p| p.is_file())
}

fn choose_default(journald: bool, exists: impl Fn(&std::path::Path) -> bool) -> SourceSpec {
    if journald {
        return SourceSpec::Journal;
    }
    SYSLOG_FILES
        .iter()
        .map(PathBuf::from)
        .find(|p| exists(p))
        .map_or(SourceSpec::Kmsg, SourceSpec::File)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_default_prefers_journald_then_syslog_files_then_kmsg() {
        assert_eq!(choose_default(true, |_| true), SourceSpec::Journal);
        let only = |name: &'static str| move |p: &Path| p == Path::new(name);
        assert_eq!(
            choose_default(false, only("/var/log/messages")),
            SourceSpec::File("/var/log/messages".into())
        );
        assert_eq!(
            choose_default(false, |p| p != Path::new("/var/log/messages")),
            SourceSpec::File("/var/log/kern.log".into())
        );
        assert_eq!(choose_default(false, |_| false), SourceSpec::Kmsg);
        // This machine: whatever it picks is one of them and exists.
        match auto_default() {
            SourceSpec::File(p) => assert!(p.is_file()),
            SourceSpec::Kmsg => assert!(Path::new(kmsg::DEV_KMSG).exists()),
            SourceSpec::Journal => assert!(Path::new("/run/systemd/journal").is_dir()),
        }
    }
}
