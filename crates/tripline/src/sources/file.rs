//! Following a log file as it grows, through rotation by rename (the path
//! gets a new inode: finish the old file, then read the new one from its
//! start) and by copytruncate (the file shrinks: start again from 0).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where a follower stands: the file's inode and the offset after the last
/// complete line handed out. Saved by the daemon to resume without losing or
/// repeating a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilePos {
    /// Inode of the file the offset belongs to.
    pub inode: u64,
    /// Bytes consumed.
    pub offset: u64,
}

/// Where to start reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The end of the file: only lines written from now on.
    End,
    /// The beginning.
    Beginning,
    /// A saved position; if the file was rotated meanwhile, the rest of the
    /// old file is read first.
    #[allow(dead_code)] // restored from the state store (next commit)
    At(FilePos),
}

/// A followed file.
pub struct Follower {
    path: PathBuf,
    file: Option<File>,
    pos: FilePos,
    /// The start of the line being read, at most [`MAX_LINE`] bytes.
    partial: Vec<u8>,
    /// Bytes of that line beyond `MAX_LINE`, dropped but counted in offsets.
    dropped: u64,
}

/// Bytes of a line kept at most: the kernel's are under 1 KiB, and a local
/// user writing a line without end must not grow the daemon's memory.
pub const MAX_LINE: usize = 64 << 10;

impl Follower {
    /// Follow `path`. A missing file is not an error: it is opened when it appears.
    pub fn new(path: &Path, start: Start) -> io::Result<Follower> {
        if path.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a directory, not a log file",
            ));
        }
        let mut f = Follower {
            path: path.to_path_buf(),
            file: None,
            pos: FilePos {
                inode: 0,
                offset: 0,
            },
            partial: Vec::new(),
            dropped: 0,
        };
        if let Start::At(saved) = start {
            // Rotated while we were down: finish the old file (found by its
            // inode next to the path), then read_new moves on to the new one.
            if let Some(mut old) = find_inode(path, saved.inode)? {
                if f.open_current()?
                    .is_some_and(|(_, ino, _)| ino != saved.inode)
                {
                    old.seek(SeekFrom::Start(saved.offset))?;
                    f.file = Some(old);
                    f.pos = saved;
                    return Ok(f);
                }
            }
        }
        if let Some((mut file, inode, len)) = f.open_current()? {
            let offset = match start {
                Start::End => len,
                Start::Beginning => 0,
                Start::At(p) if p.inode == inode && p.offset <= len => p.offset,
                Start::At(_) => 0,
            };
            file.seek(SeekFrom::Start(offset))?;
            f.file = Some(file);
            f.pos = FilePos { inode, offset };
        }
        Ok(f)
    }

    /// The path followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The position after the last complete line returned.
    #[allow(dead_code)]
    pub fn position(&self) -> FilePos {
        self.pos
    }

    fn open_current(&self) -> io::Result<Option<(File, u64, u64)>> {
        match File::open(&self.path) {
            Ok(file) => {
                let m = file.metadata()?;
                Ok(Some((file, m.ino(), m.len())))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Append every complete new line to `out` (without the newline), each
    /// with the position just after it.
    /// Stops after about `max` lines (at a read boundary); the rest comes
    /// with the next call.
    pub fn read_new(&mut self, out: &mut Vec<(String, FilePos)>, max: usize) -> io::Result<()> {
        // Rotation by rename: finish the old file, then switch.
        let on_disk = match std::fs::metadata(&self.path) {
            Ok(m) => Some((m.ino(), m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        if self.file.is_some() {
            let rotated = on_disk.is_some_and(|(ino, _)| ino != self.pos.inode);
            let truncated =
                on_disk.is_some_and(|(ino, len)| ino == self.pos.inode && len < self.pos.offset);
            if truncated {
                // copytruncate: what was copied away was read already.
                self.partial.clear();
                self.dropped = 0;
                if let Some(f) = self.file.as_mut() {
                    f.seek(SeekFrom::Start(0))?;
                }
                self.pos.offset = 0;
            }
            let eof = self.drain(out, max)?;
            if !eof {
                return Ok(());
            }
            if rotated {
                self.file = None;
                self.partial.clear();
                self.dropped = 0;
            }
        }
        if self.file.is_none() {
            if let Some((file, inode, _)) = self.open_current()? {
                self.file = Some(file);
                self.pos = FilePos { inode, offset: 0 };
                self.drain(out, max)?;
            }
        }
        Ok(())
    }

    /// Read complete lines until the end of the file (returns true) or
    /// until `out` holds `max` lines (returns false).
    fn drain(&mut self, out: &mut Vec<(String, FilePos)>, max: usize) -> io::Result<bool> {
        let Some(file) = self.file.as_mut() else {
            return Ok(true);
        };
        let mut buf = [0u8; 1 << 16];
        loop {
            if out.len() >= max {
                return Ok(false);
            }
            let n = match file.read(&mut buf) {
                Ok(0) => return Ok(true),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let mut start = 0;
            for i in memchr::memchr_iter(b'\n', &buf[..n]) {
                keep(&mut self.partial, &mut self.dropped, &buf[start..i]);
                self.pos.offset += self.partial.len() as u64 + self.dropped + 1;
                let line = self.partial.strip_suffix(b"\r").unwrap_or(&self.partial);
                out.push((String::from_utf8_lossy(line).into_owned(), self.pos));
                self.partial.clear();
                self.dropped = 0;
                start = i + 1;
            }
            keep(&mut self.partial, &mut self.dropped, &buf[start..n]);
        }
    }
}

/// Add `bytes` to the line being read (`partial`), up to [`MAX_LINE`];
/// what does not fit is counted in `dropped`.
fn keep(partial: &mut Vec<u8>, dropped: &mut u64, bytes: &[u8]) {
    let room = MAX_LINE - partial.len();
    let (kept, rest) = bytes.split_at(bytes.len().min(room));
    partial.extend_from_slice(kept);
    *dropped += rest.len() as u64;
}

/// The file in `path`'s directory whose inode is `inode`, if any.
fn find_inode(path: &Path, inode: u64) -> io::Result<Option<File>> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(None);
    };
    for e in entries.flatten() {
        if e.metadata().is_ok_and(|m| m.ino() == inode && m.is_file()) {
            return File::open(e.path()).map(Some);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(p: &Path, s: &str) {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap()
            .write_all(s.as_bytes())
            .unwrap();
    }

    fn read(f: &mut Follower) -> Vec<String> {
        let mut v = Vec::new();
        f.read_new(&mut v, usize::MAX).unwrap();
        v.into_iter().map(|(l, _)| l).collect()
    }

    #[test]
    fn a_line_without_end_is_cut_and_offsets_stay_exact() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("kern.log");
        let mut f = Follower::new(&p, Start::Beginning).unwrap();
        // A line of 3 * MAX_LINE bytes, written in pieces, then a normal one.
        let long = "x".repeat(MAX_LINE);
        for _ in 0..3 {
            append(&p, &long);
            assert!(read(&mut f).is_empty());
            assert!(f.partial.len() <= MAX_LINE);
        }
        append(&p, "\nnext\n");
        assert_eq!(read(&mut f), [long.clone(), "next".to_string()]);
        assert_eq!(f.position().offset, 3 * MAX_LINE as u64 + 6);
    }

    #[test]
    fn follows_appends_and_holds_partial_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("kern.log");
        append(&p, "old\n");
        let mut f = Follower::new(&p, Start::End).unwrap();
        assert!(read(&mut f).is_empty());
        append(&p, "a\nb");
        assert_eq!(read(&mut f), ["a"]);
        append(&p, "c\n");
        assert_eq!(read(&mut f), ["bc"]);
        assert_eq!(f.position().offset, 9);
    }

    #[test]
    fn rotation_by_rename_finishes_the_old_file_first() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("kern.log");
        append(&p, "1\n");
        let mut f = Follower::new(&p, Start::Beginning).unwrap();
        assert_eq!(read(&mut f), ["1"]);
        append(&p, "2\n");
        std::fs::rename(&p, d.path().join("kern.log.1")).unwrap();
        append(&p, "3\n");
        assert_eq!(read(&mut f), ["2", "3"]);
    }

    #[test]
    fn copytruncate_starts_again_from_zero() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("kern.log");
        append(&p, "one\ntwo\n");
        let mut f = Follower::new(&p, Start::Beginning).unwrap();
        assert_eq!(read(&mut f), ["one", "two"]);
        std::fs::copy(&p, d.path().join("kern.log.1")).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&p)
            .unwrap();
        append(&p, "x\n");
        assert_eq!(read(&mut f), ["x"]);
    }

    #[test]
    fn resumes_from_a_saved_position_without_repeating() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("kern.log");
        append(&p, "a\nb\n");
        let mut f = Follower::new(&p, Start::Beginning).unwrap();
        assert_eq!(read(&mut f), ["a", "b"]);
        let saved = f.position();
        append(&p, "c\n");
        let mut g = Follower::new(&p, Start::At(saved)).unwrap();
        assert_eq!(read(&mut g), ["c"]);
        // Rotated while we were down: the rest of the old file, then the new one.
        let saved = g.position();
        append(&p, "d\n");
        std::fs::rename(&p, d.path().join("kern.log.1")).unwrap();
        append(&p, "new\n");
        let mut h = Follower::new(&p, Start::At(saved)).unwrap();
        assert_eq!(read(&mut h), ["d", "new"]);
    }
}
