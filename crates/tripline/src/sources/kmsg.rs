//! `/dev/kmsg`: the kernel's log ring buffer, one record per `read()`.
//!
//! A record is `prio,seq,usec,flags;text\n` followed by ` KEY=value`
//! continuation lines; the first line is sent as is (the core parser reads
//! the header for the kernel timestamp). Starting fresh seeks to the end;
//! resuming reads the ring from its start and skips records up to the saved
//! sequence number. When the kernel overwrites records before they are read
//! (`EPIPE`) or the ring no longer holds all records after the saved one,
//! the gap in sequence numbers is reported and counted.

use super::{Cursor, Line, LineTx};
use anyhow::{Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The kernel's log device.
pub const DEV_KMSG: &str = "/dev/kmsg";

/// A running kmsg source.
#[derive(Debug, Clone)]
pub struct KmsgHandle {
    /// Records the kernel overwrote before they were read (status shows it).
    pub lost: Arc<AtomicU64>,
}

/// The sequence number and first line of one record, or `None` if `rec` is
/// not a kmsg record.
pub fn parse_record(rec: &[u8]) -> Option<(u64, &[u8])> {
    let first = rec.split(|&b| b == b'\n').next().unwrap_or(rec);
    let semi = first.iter().position(|&b| b == b';')?;
    let mut fields = first[..semi].split(|&b| b == b',');
    fields.next()?;
    let seq = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    Some((seq, first))
}

/// What to do with a record, from its sequence number alone.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// At or before the resume point: handled before.
    Skip,
    /// New; `lost` records between it and the previous one never reached us.
    Deliver { lost: u64 },
}

/// Sequence-number bookkeeping: the resume point, and the gaps the kernel
/// leaves when it overwrites records we had not read.
#[derive(Debug, Default)]
struct Seqs {
    /// Resume point: records up to this sequence number were handled already.
    skip_through: Option<u64>,
    /// The newest record skipped, to detect a saved point from another boot.
    newest_skipped: Option<u64>,
    last: Option<u64>,
}

impl Seqs {
    fn verdict(&mut self, seq: u64) -> Verdict {
        if let Some(saved) = self.skip_through {
            if seq <= saved {
                self.newest_skipped = Some(seq);
                return Verdict::Skip;
            }
            self.skip_through = None;
        }
        let lost = self.last.map_or(0, |last| seq.saturating_sub(last + 1));
        self.last = Some(seq);
        Verdict::Deliver { lost }
    }

    /// At the end of the ring: true when the resume point is newer than
    /// every record (an earlier boot's), so the whole ring must be read again.
    fn other_boot(&mut self) -> bool {
        let Some(saved) = self.skip_through.take() else {
            return false;
        };
        if self.newest_skipped.is_none_or(|s| s < saved) {
            self.last = None;
            return true;
        }
        false
    }
}

/// True for records the kernel wrote (facility 0): processes that write to
/// /dev/kmsg get facility `user` at least, so they cannot pose as netfilter.
pub fn from_kernel(first_line: &str) -> bool {
    first_line
        .split([',', ';'])
        .next()
        .and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|prio| prio >> 3 == 0)
}

/// Reads records; knows where it stands and what was lost.
pub struct Kmsg {
    file: File,
    path: PathBuf,
    seqs: Seqs,
    lost: Arc<AtomicU64>,
    buf: Vec<u8>,
}

impl Kmsg {
    /// Open `path` (normally [`DEV_KMSG`]) at its end, or, given the sequence
    /// number of the last record handled, just after that record.
    pub fn open(path: &Path, resume_after: Option<u64>) -> io::Result<Kmsg> {
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        if resume_after.is_none() {
            file.seek(SeekFrom::End(0))?;
        }
        Ok(Kmsg {
            file,
            path: path.to_path_buf(),
            seqs: Seqs {
                skip_through: resume_after,
                newest_skipped: None,
                last: resume_after,
            },
            lost: Arc::new(AtomicU64::new(0)),
            // The kernel's record limit is 8 KiB (PRINTKRB_RECORD_MAX + prefix).
            buf: vec![0; 16 * 1024],
        })
    }

    /// The lost-records counter.
    pub fn lost(&self) -> Arc<AtomicU64> {
        self.lost.clone()
    }

    /// The next record to hand out as `(seq, first line)`; `None` when no
    /// record is waiting.
    pub fn next(&mut self) -> io::Result<Option<(u64, String)>> {
        loop {
            let n = match self.file.read(&mut self.buf) {
                Ok(n) => n,
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {
                    // Overrun: the next read returns the oldest record left;
                    // its sequence number tells how many were lost.
                    eprintln!(
                        "tripline: warning: {}: the kernel overwrote records before they were read",
                        self.path.display()
                    );
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.restart_if_other_boot()? {
                        continue;
                    }
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            let Some((seq, first)) = parse_record(&self.buf[..n]) else {
                continue;
            };
            let Verdict::Deliver { lost } = self.seqs.verdict(seq) else {
                continue;
            };
            if lost > 0 {
                self.lost.fetch_add(lost, Ordering::Relaxed);
                eprintln!(
                    "tripline: warning: {}: {lost} records lost (sequence {} to {})",
                    self.path.display(),
                    seq - lost,
                    seq - 1
                );
            }
            return Ok(Some((seq, String::from_utf8_lossy(first).into_owned())));
        }
    }

    /// At the end of the ring while still skipping: the saved sequence number
    /// is newer than every record, so it belongs to an earlier boot. Every
    /// record in the ring is new: read it again from its start.
    fn restart_if_other_boot(&mut self) -> io::Result<bool> {
        if !self.seqs.other_boot() {
            return Ok(false);
        }
        eprintln!(
            "tripline: warning: {}: the saved record is newer than the ring (rebooted?); reading the ring from its start",
            self.path.display()
        );
        self.file.seek(SeekFrom::Start(0))?;
        Ok(true)
    }

    /// Block until a record may be waiting (or `timeout_ms` passes).
    pub fn wait(&self, timeout_ms: u16) -> io::Result<()> {
        let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(timeout_ms)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Read `/dev/kmsg` on a thread: from its end, or after the saved sequence
/// number `resume_after`. Origin `kmsg`, cursor [`Cursor::Kmsg`].
pub fn spawn_kmsg(resume_after: Option<u64>, tx: LineTx) -> Result<KmsgHandle> {
    spawn_kmsg_at(Path::new(DEV_KMSG), resume_after, tx)
}

/// [`spawn_kmsg`] on another device path.
pub fn spawn_kmsg_at(path: &Path, resume_after: Option<u64>, tx: LineTx) -> Result<KmsgHandle> {
    let mut kmsg = Kmsg::open(path, resume_after)
        .with_context(|| format!("kmsg source: cannot open {}", path.display()))?;
    let handle = KmsgHandle { lost: kmsg.lost() };
    let origin: Arc<str> = "kmsg".into();
    let mut tx = tx;
    std::thread::spawn(move || loop {
        match kmsg.next() {
            Ok(Some((_, text))) if !from_kernel(&text) => {}
            Ok(Some((seq, text))) => {
                let line = Line {
                    text,
                    origin: origin.clone(),
                    cursor: Cursor::Kmsg(seq),
                };
                if tx.send(line).is_err() {
                    return;
                }
            }
            Ok(None) => {
                if let Err(e) = kmsg.wait(1000) {
                    eprintln!("tripline: error: kmsg source: {e}");
                    return;
                }
            }
            Err(e) => {
                eprintln!(
                    "tripline: error: kmsg source: reading {}: {e}",
                    kmsg.path.display()
                );
                return;
            }
        }
    });
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_give_their_sequence_and_first_line() {
        let rec =
            b"4,165017,8085236687,-;IN_DROP IN=wan0 OUT= \n SUBSYSTEM=net\n DEVICE=+net:wan0\n";
        let (seq, first) = parse_record(rec).unwrap();
        assert_eq!(seq, 165017);
        assert_eq!(first, b"4,165017,8085236687,-;IN_DROP IN=wan0 OUT= ");
        assert_eq!(parse_record(b"6,x,1,-;a"), None);
        assert_eq!(parse_record(b"no header"), None);
        assert!(from_kernel("4,165017,8085236687,-;IN_DROP IN=wan0"));
        assert!(!from_kernel("13,14004,8013435636,-;IN_DROP IN=wan0 forged"));
        assert!(!from_kernel("x;IN="));
    }

    #[test]
    fn gaps_in_sequence_numbers_are_counted_as_lost() {
        // Following from the end: the first record sets the baseline.
        let mut s = Seqs::default();
        assert_eq!(s.verdict(100), Verdict::Deliver { lost: 0 });
        assert_eq!(s.verdict(101), Verdict::Deliver { lost: 0 });
        // EPIPE: the kernel overwrote 102..=109; the next read gives 110.
        assert_eq!(s.verdict(110), Verdict::Deliver { lost: 8 });
        // Resuming after 50: 40..=50 were handled, 51 is next.
        let mut s = Seqs {
            skip_through: Some(50),
            last: Some(50),
            ..Seqs::default()
        };
        assert_eq!(s.verdict(40), Verdict::Skip);
        assert_eq!(s.verdict(50), Verdict::Skip);
        assert_eq!(s.verdict(51), Verdict::Deliver { lost: 0 });
        assert!(!s.other_boot());
        // Resuming after 50 when the ring now starts at 60: 51..=59 are gone.
        let mut s = Seqs {
            skip_through: Some(50),
            last: Some(50),
            ..Seqs::default()
        };
        assert_eq!(s.verdict(60), Verdict::Deliver { lost: 9 });
        // A saved point beyond the ring's newest record: another boot.
        let mut s = Seqs {
            skip_through: Some(5000),
            last: Some(5000),
            ..Seqs::default()
        };
        assert_eq!(s.verdict(1), Verdict::Skip);
        assert_eq!(s.verdict(2), Verdict::Skip);
        assert!(s.other_boot());
        assert_eq!(s.verdict(1), Verdict::Deliver { lost: 0 });
    }

    /// Writes a record to the real /dev/kmsg (root) and reads it back.
    fn write_kmsg(text: &str) {
        use std::io::Write;
        let mut f = OpenOptions::new().write(true).open(DEV_KMSG).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    fn read_until(k: &mut Kmsg, needle: &str) -> (u64, String) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match k.next().unwrap() {
                Some((seq, text)) if text.contains(needle) => return (seq, text),
                Some(_) => {}
                None => {
                    assert!(std::time::Instant::now() < deadline, "{needle} not read");
                    k.wait(100).unwrap();
                }
            }
        }
    }

    #[test]
    fn reads_new_records_and_resumes_after_a_saved_one() {
        let tag = format!("tripline-kmsg-test-{}", std::process::id());
        write_kmsg(&format!("<5>{tag} old\n"));
        let mut k = Kmsg::open(Path::new(DEV_KMSG), None).unwrap();
        write_kmsg(&format!("<5>{tag} one\n"));
        let (seq1, text) = read_until(&mut k, &tag);
        // From the end: the record written before opening is not seen.
        assert!(text.ends_with(&format!("{tag} one")), "{text}");
        // Userspace records get facility user (1): 1 * 8 + 5.
        assert!(text.starts_with("13,"), "{text}");
        write_kmsg(&format!("<5>{tag} two\n"));
        // Resuming after `one` gives `two` and never `old` or `one` again.
        let mut r = Kmsg::open(Path::new(DEV_KMSG), Some(seq1)).unwrap();
        let (seq2, text) = read_until(&mut r, &tag);
        assert!(seq2 > seq1);
        assert!(text.ends_with(&format!("{tag} two")), "{text}");
        // A saved number newer than the ring (another boot): the whole ring is read.
        let mut b = Kmsg::open(Path::new(DEV_KMSG), Some(u64::MAX - 1)).unwrap();
        let (_, text) = read_until(&mut b, &tag);
        assert!(text.ends_with(&format!("{tag} old")), "{text}");
    }
}
