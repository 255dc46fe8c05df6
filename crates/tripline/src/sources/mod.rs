//! Where log lines come from. Each source runs on its own thread and sends
//! complete lines to the detection loop; a file source wakes on inotify
//! events (with a one-second safety net), not on a polling interval.
//! `kmsg.rs` reads /dev/kmsg, `journal.rs` follows journalctl, `nflog.rs`
//! reads NFLOG groups over netlink; `plan.rs` picks the sources to start.

pub mod file;
pub mod journal;
pub mod kmsg;
pub mod nflog;
pub mod plan;

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

/// Where sources send lines: in batches over a bounded channel, so a source
/// that reads faster than detection keeps up waits instead of piling lines
/// up in memory, and a busy source pays for one channel hop and one
/// allocation per batch, not per line.
pub struct LineTx {
    tx: std::sync::mpsc::SyncSender<LineBatch>,
    buf: Option<LineBatch>,
}

/// The detection loop has gone: the source should stop.
#[derive(Debug)]
pub struct Closed;

/// Lines a batch holds at most.
const BATCH: usize = 256;

/// Bytes of text a batch holds at most (a batch of long lines goes early, so
/// the queue holds at most `LINE_QUEUE` times this).
const BATCH_BYTES: usize = 256 << 10;

/// Batches queued between the sources and detection at most.
pub const LINE_QUEUE: usize = 64;

/// Consecutive lines of one source, their text in one buffer.
#[derive(Debug)]
pub struct LineBatch {
    /// The source's name in the state store (see [`Line::origin`]).
    pub origin: Arc<str>,
    text: String,
    /// End offset in `text` of each line.
    ends: Vec<usize>,
    /// Where the source stands after the last line.
    pub cursor: Cursor,
}

impl LineBatch {
    fn new(origin: Arc<str>) -> LineBatch {
        LineBatch {
            origin,
            text: String::new(),
            ends: Vec::with_capacity(BATCH),
            cursor: Cursor::None,
        }
    }

    /// The lines, in order.
    pub fn lines(&self) -> impl Iterator<Item = &str> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.text[a..b])
    }

    /// How many lines.
    pub fn len(&self) -> usize {
        self.ends.len()
    }
}

impl LineTx {
    /// Wrap the sending half of the loop's channel.
    pub fn new(tx: std::sync::mpsc::SyncSender<LineBatch>) -> LineTx {
        LineTx { tx, buf: None }
    }

    /// Send one line now (sources that get a record at a time).
    pub fn send(&mut self, line: Line) -> Result<(), Closed> {
        self.push(&line.origin, &line.text, line.cursor)?;
        self.flush()
    }

    /// Queue a line of `origin` that leaves the source at `cursor`; a full
    /// batch goes at once. Call [`LineTx::flush`] before waiting for more input.
    pub fn push(&mut self, origin: &Arc<str>, text: &str, cursor: Cursor) -> Result<(), Closed> {
        if self.buf.as_ref().is_some_and(|b| b.origin != *origin) {
            self.flush()?;
        }
        let b = self
            .buf
            .get_or_insert_with(|| LineBatch::new(Arc::clone(origin)));
        b.text.push_str(text);
        b.ends.push(b.text.len());
        b.cursor = cursor;
        if b.ends.len() >= BATCH || b.text.len() >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Send what is queued.
    pub fn flush(&mut self) -> Result<(), Closed> {
        match self.buf.take() {
            Some(batch) => self.tx.send(batch).map_err(|_| Closed),
            None => Ok(()),
        }
    }
}

impl Clone for LineTx {
    /// Another sender on the same channel, with its own (empty) batch.
    fn clone(&self) -> LineTx {
        LineTx::new(self.tx.clone())
    }
}

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

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cursor::None => f.write_str("-"),
            Cursor::File(p) => write!(f, "inode {} offset {}", p.inode, p.offset),
            Cursor::Kmsg(seq) => write!(f, "record {seq}"),
            Cursor::Journal(c) => write!(f, "cursor {}", crate::term::clean(c)),
        }
    }
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
        let mut tx = tx;
        let mut lines = Vec::new();
        loop {
            lines.clear();
            // A backlog (a restart after a long stop) is read a slice at a time.
            if let Err(e) = follower.read_new(&mut lines, READ_SLICE) {
                eprintln!(
                    "tripline: error: reading {}: {e}",
                    follower.path().display()
                );
            }
            let more = lines.len() >= READ_SLICE;
            for (text, pos) in lines.drain(..) {
                if tx.push(&origin, &text, Cursor::File(pos)).is_err() {
                    return;
                }
            }
            if tx.flush().is_err() {
                return;
            }
            if more {
                continue;
            }
            // Woken by inotify; the timeout only guards against lost events.
            let _ = wake_rx.recv_timeout(Duration::from_secs(1));
            while wake_rx.try_recv().is_ok() {}
        }
    });
    Ok(())
}

/// Read standard input line by line.
pub fn spawn_stdin(mut tx: LineTx) {
    let origin: Arc<str> = "stdin".into();
    std::thread::spawn(move || {
        // Our own buffer: its emptiness tells when the next read may block.
        let mut input = std::io::BufReader::with_capacity(1 << 16, std::io::stdin().lock());
        let mut raw = Vec::new();
        loop {
            raw.clear();
            match input.read_until(b'\n', &mut raw) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&raw);
            let text = text.trim_end_matches(['\n', '\r']);
            if tx.push(&origin, text, Cursor::None).is_err() {
                return;
            }
            // Nothing more buffered: the next read may wait, so send now.
            if input.buffer().is_empty() && tx.flush().is_err() {
                return;
            }
        }
        let _ = tx.flush();
    });
}

/// Lines a file source reads at most before handing them on.
const READ_SLICE: usize = 4096;

/// The kernel sources `tripline run` started; keep it alive as long as they
/// should run (dropping it stops journalctl).
#[derive(Default)]
pub struct Live {
    /// The journal source's child process.
    pub journal: Option<JournalHandle>,
    /// Records or packets lost by each source (origin, count), for status.
    pub lost: Vec<(String, Arc<std::sync::atomic::AtomicU64>)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_keep_lines_origins_and_the_last_cursor() {
        let (tx, rx) = std::sync::mpsc::sync_channel(LINE_QUEUE);
        let mut tx = LineTx::new(tx);
        let (a, b): (Arc<str>, Arc<str>) = ("kmsg".into(), "stdin".into());
        tx.push(&a, "one", Cursor::Kmsg(1)).unwrap();
        tx.push(&a, "", Cursor::Kmsg(2)).unwrap();
        tx.push(&a, "three é", Cursor::Kmsg(3)).unwrap();
        // Another origin closes the batch.
        tx.push(&b, "four", Cursor::None).unwrap();
        tx.flush().unwrap();
        let first = rx.try_recv().unwrap();
        assert_eq!(first.lines().collect::<Vec<_>>(), ["one", "", "three é"]);
        assert_eq!((&*first.origin, first.cursor), ("kmsg", Cursor::Kmsg(3)));
        let second = rx.try_recv().unwrap();
        assert_eq!(second.lines().collect::<Vec<_>>(), ["four"]);
        assert!(rx.try_recv().is_err());
        // Full batches go by count and by size, without a flush.
        for i in 0..BATCH {
            tx.push(&a, &i.to_string(), Cursor::None).unwrap();
        }
        assert_eq!(rx.try_recv().unwrap().len(), BATCH);
        tx.push(&a, &"x".repeat(BATCH_BYTES), Cursor::None).unwrap();
        assert_eq!(
            rx.try_recv().unwrap().lines().next().unwrap().len(),
            BATCH_BYTES
        );
        drop(rx);
        assert!(tx
            .send(Line {
                text: "gone".into(),
                origin: a,
                cursor: Cursor::None
            })
            .is_err());
    }
}
