//! Where log lines come from. Each source runs on its own thread and sends
//! complete lines to the detection loop; a file source wakes on inotify
//! events (with a one-second safety net), not on a polling interval.

pub mod file;

use anyhow::{Context, Result};
use notify::Watcher;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Sender};
use std::time::Duration;

/// A line from a source.
pub struct Line {
    /// The line, without its newline.
    pub text: String,
}

/// Follow `path` from `start`, sending each new line; runs until the receiver is gone.
pub fn spawn_file(path: PathBuf, start: file::Start, tx: Sender<Line>) -> Result<()> {
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
            for text in lines.drain(..) {
                if tx.send(Line { text }).is_err() {
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
pub fn spawn_stdin(tx: Sender<Line>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(text) = line else { break };
            if tx.send(Line { text }).is_err() {
                return;
            }
        }
    });
}
