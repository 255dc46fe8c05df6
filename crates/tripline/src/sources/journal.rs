//! journald's kernel messages: `journalctl -k -f -o json` as a child process
//! (argv, no shell), from the end (`-n 0`) or after a saved cursor.
//!
//! Each entry is passed on as a compact JSON line holding only what the core
//! parser reads (`MESSAGE`, `_HOSTNAME`, `__REALTIME_TIMESTAMP`,
//! `_SOURCE_MONOTONIC_TIMESTAMP`); its `__CURSOR` becomes the line's cursor.
//! `-k` keeps to `_TRANSPORT=kernel`: local users cannot forge these entries.

use super::{Cursor, Line, LineTx};
use anyhow::{anyhow, Context, Result};
use serde_json::{Map, Value};
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The fields of an entry the core parser uses.
const KEEP: [&str; 4] = [
    "MESSAGE",
    "_HOSTNAME",
    "__REALTIME_TIMESTAMP",
    "_SOURCE_MONOTONIC_TIMESTAMP",
];

/// A running journal source; dropping it stops `journalctl`.
pub struct JournalHandle {
    child: Arc<(Mutex<Child>, AtomicBool)>,
}

impl Drop for JournalHandle {
    fn drop(&mut self) {
        self.child.1.store(true, Ordering::SeqCst);
        if let Ok(mut c) = self.child.0.lock() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One `journalctl -o json` line -> (the line for the parser, the entry's cursor).
pub fn entry_line(json: &str) -> Result<(String, String)> {
    let mut entry: Map<String, Value> =
        serde_json::from_str(json).context("journal entry is not a JSON object")?;
    let cursor = match entry.remove("__CURSOR") {
        Some(Value::String(c)) => c,
        _ => return Err(anyhow!("journal entry has no __CURSOR")),
    };
    let mut keep = Map::new();
    for k in KEEP {
        if let Some(v) = entry.remove(k) {
            keep.insert(k.to_string(), v);
        }
    }
    Ok((Value::Object(keep).to_string(), cursor))
}

/// The argv after `journalctl`.
fn args(after_cursor: Option<&str>, extra: &[OsString]) -> Vec<OsString> {
    let mut a: Vec<OsString> = ["-k", "-f", "-o", "json", "--no-pager"]
        .iter()
        .map(Into::into)
        .collect();
    match after_cursor {
        // `-f` alone shows only the last 10 entries, even after a cursor.
        Some(c) => a.extend([
            format!("--after-cursor={c}").into(),
            "-n".into(),
            "all".into(),
        ]),
        None => a.extend(["-n".into(), "0".into()]),
    }
    a.extend(extra.iter().cloned());
    a
}

/// Follow journald's kernel messages, from now on or after `after_cursor`.
/// Origin `journal`, cursor [`Cursor::Journal`].
pub fn spawn_journal(after_cursor: Option<String>, tx: LineTx) -> Result<JournalHandle> {
    spawn_journal_with("journalctl", &[], after_cursor, tx)
}

/// [`spawn_journal`] with another program and extra arguments (e.g.
/// `--directory DIR` to read a journal that is not the system's).
pub fn spawn_journal_with(
    program: &str,
    extra: &[OsString],
    after_cursor: Option<String>,
    tx: LineTx,
) -> Result<JournalHandle> {
    let mut child = Command::new(program)
        .args(args(after_cursor.as_deref(), extra))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("journal source: cannot run {program}"))?;
    let stdout = child.stdout.take().context("journal source: no stdout")?;
    let stderr = child.stderr.take().context("journal source: no stderr")?;
    let child = Arc::new((Mutex::new(child), AtomicBool::new(false)));
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!(
                "tripline: journal source: journalctl: {}",
                crate::term::clean(&l)
            );
        }
    });
    let waiter = child.clone();
    let program = program.to_string();
    let mut tx = tx;
    std::thread::spawn(move || {
        let origin: Arc<str> = "journal".into();
        for l in BufReader::new(stdout).lines() {
            let l = match l {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("tripline: error: journal source: reading {program}: {e}");
                    break;
                }
            };
            match entry_line(&l) {
                Ok((text, cursor)) => {
                    let line = Line {
                        text,
                        origin: origin.clone(),
                        cursor: Cursor::Journal(cursor),
                    };
                    if tx.send(line).is_err() {
                        return;
                    }
                }
                Err(e) => eprintln!("tripline: warning: journal source: {e:#}"),
            }
        }
        // Ended by itself (not by the handle's kill): say why.
        if waiter.1.load(Ordering::SeqCst) {
            return;
        }
        if let Ok(mut c) = waiter.0.lock() {
            match c.wait() {
                Ok(st) if st.success() => {
                    eprintln!("tripline: error: journal source: {program} ended")
                }
                Ok(st) => eprintln!("tripline: error: journal source: {program} exited with {st}"),
                Err(e) => eprintln!("tripline: error: journal source: {program}: {e}"),
            }
        }
    });
    Ok(JournalHandle { child })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_message_host_time_and_cursor() {
        let json = r#"{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1763767240281720","_HOSTNAME":"fw1","_TRANSPORT":"kernel","MESSAGE":"IN_DROP IN=wan0 OUT= MAC= SRC=198.51.100.10 DST=198.51.100.1 LEN=44 TOS=0x00 PREC=0x00 TTL=52 ID=1 PROTO=TCP SPT=1 DPT=2 WINDOW=1024 RES=0x00 SYN URGP=0 ","PRIORITY":"4"}"#;
        let (text, cursor) = entry_line(json).unwrap();
        assert_eq!(cursor, "s=1;i=2");
        assert!(!text.contains("PRIORITY") && !text.contains("__CURSOR"));
        let opts = tripline_core::ParseOptions::default();
        let p = tripline_core::parse_line(&text, &opts).unwrap().unwrap();
        assert_eq!(p.header.host, Some("fw1"));
        assert_eq!(
            p.header.time,
            Some(tripline_core::Timestamp(1_763_767_240_281_720))
        );
        assert_eq!(p.dport, Some(2));
        assert!(entry_line(r#"{"MESSAGE":"x"}"#).is_err());
        assert!(entry_line("not json").is_err());
    }

    #[test]
    fn argv_starts_at_the_end_or_after_the_cursor() {
        let a = args(None, &[]);
        assert!(a.windows(2).any(|w| w[0] == "-n" && w[1] == "0"));
        let a = args(Some("s=1;i=2"), &[]);
        assert!(a.contains(&"--after-cursor=s=1;i=2".into()));
        assert!(a.windows(2).any(|w| w[0] == "-n" && w[1] == "all"));
    }

    #[test]
    fn a_missing_journalctl_is_an_error_naming_the_source() {
        let (tx, _rx) = std::sync::mpsc::sync_channel(16);
        let err = spawn_journal_with("/nonexistent/journalctl", &[], None, LineTx::new(tx))
            .err()
            .unwrap();
        assert!(
            format!("{err:#}").starts_with("journal source: cannot run"),
            "{err:#}"
        );
    }

    /// Real journal records: the corpus's export file, written into journal
    /// files by systemd-journal-remote (journald itself is not running here).
    fn corpus_records(n: usize) -> Vec<String> {
        use std::io::Read;
        let shared = std::env::var_os("TRIPLINE_SHARED").map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
            std::path::PathBuf::from,
        );
        let gz = std::fs::File::open(shared.join("corpus/dev/journal.export.gz")).unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(gz)
            .take(2_000_000)
            .read_to_string(&mut text)
            .unwrap();
        text.split("\n\n")
            .take(n)
            .map(|r| format!("{r}\n\n"))
            .collect()
    }

    fn journal_remote(dir: &std::path::Path, records: &[String]) {
        let export = dir.join("batch.export");
        std::fs::write(&export, records.concat()).unwrap();
        let out = Command::new("/usr/lib/systemd/systemd-journal-remote")
            .arg("-o")
            .arg(dir.join("j/remote.journal"))
            .arg(&export)
            .output()
            .expect("systemd-journal-remote (Debian package systemd-journal-remote)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn real_journalctl_resumes_after_a_cursor_and_follows_new_entries() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("j")).unwrap();
        let recs = corpus_records(120);
        journal_remote(dir.path(), &recs[..60]);
        let jdir: Vec<OsString> = vec!["--directory".into(), dir.path().join("j").into()];
        // The cursor of the 40th entry, as journalctl gives it.
        let out = Command::new("journalctl")
            .args(["-k", "-o", "json", "--no-pager", "-n", "21"])
            .args(&jdir)
            .output()
            .unwrap();
        let listed = String::from_utf8(out.stdout).unwrap();
        let (_, cursor40) = entry_line(listed.lines().next().unwrap()).unwrap();
        let (tx, rx) = std::sync::mpsc::sync_channel(1024);
        let handle =
            spawn_journal_with("journalctl", &jdir, Some(cursor40.clone()), LineTx::new(tx))
                .unwrap();
        // The journal source sends each entry as it comes: one line a batch.
        let next = || {
            let batch: super::super::LineBatch = rx
                .recv_timeout(std::time::Duration::from_secs(10))
                .expect("a journal line within 10 s");
            assert_eq!(batch.len(), 1);
            let text = batch.lines().next().unwrap().to_string();
            Line {
                text,
                origin: batch.origin.clone(),
                cursor: batch.cursor,
            }
        };
        let opts = tripline_core::ParseOptions::default();
        let mut cursors = vec![cursor40];
        // Entries 41..=60, then the 60 appended while following.
        for _ in 0..20 {
            let l = next();
            assert_eq!(&*l.origin, "journal");
            let Cursor::Journal(c) = l.cursor else {
                panic!("no cursor")
            };
            assert!(!cursors.contains(&c), "entry repeated");
            cursors.push(c);
            let p = tripline_core::parse_line(&l.text, &opts).unwrap().unwrap();
            assert_eq!(p.header.host, Some("fw1"));
            assert!(p.header.time.is_some());
        }
        journal_remote(dir.path(), &recs[60..]);
        for _ in 0..60 {
            let l = next();
            assert!(tripline_core::parse_line(&l.text, &opts).unwrap().is_some());
        }
        // Stopping the source ends journalctl: the channel closes.
        drop(handle);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while rx.recv_timeout(std::time::Duration::from_secs(10)).is_ok() {
            assert!(std::time::Instant::now() < deadline);
        }
    }
}
