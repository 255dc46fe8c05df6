//! Reading log files line by line, fast: plain, gzip (by magic bytes) or stdin.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// One input named on the command line.
#[derive(Debug, Clone)]
pub struct Input {
    /// The path (`-` for stdin).
    pub path: PathBuf,
}

impl Input {
    /// How the input is named in messages.
    pub fn display(&self) -> String {
        if self.is_stdin() {
            "<stdin>".to_string()
        } else {
            self.path.display().to_string()
        }
    }
    fn is_stdin(&self) -> bool {
        self.path == Path::new("-")
    }
    /// Size in bytes when known (for the progress bar).
    pub fn len(&self) -> Option<u64> {
        if self.is_stdin() {
            return None;
        }
        std::fs::metadata(&self.path).ok().map(|m| m.len())
    }
    /// A non-empty regular file that is not gzip: cheap to map. (Files of
    /// /proc and /sys claim a length of 0 and are only readable by read(2).)
    pub fn is_plain_file(&self) -> bool {
        if self.is_stdin() {
            return false;
        }
        let Ok(mut f) = File::open(&self.path) else {
            return false;
        };
        let mut magic = [0u8; 2];
        f.metadata().is_ok_and(|m| m.is_file() && m.len() > 0)
            && read_full(&mut f, &mut magic).is_ok_and(|n| n < 2 || magic != [0x1f, 0x8b])
    }

    /// Call `f` on consecutive windows of whole lines of a plain file (see
    /// [`Input::is_plain_file`]), memory-mapped.
    pub fn for_each_window(&self, f: impl FnMut(&[u8])) -> Result<()> {
        let file =
            File::open(&self.path).with_context(|| format!("cannot open {}", self.display()))?;
        crate::mapped::for_each_window(&file, f)
            .with_context(|| format!("error reading {}", self.display()))
    }

    /// [`Input::for_each_window`], handing over each mapped window.
    pub fn for_each_owned_window(&self, f: impl FnMut(crate::mapped::Window)) -> Result<()> {
        let file =
            File::open(&self.path).with_context(|| format!("cannot open {}", self.display()))?;
        crate::mapped::for_each_owned(&file, f)
            .with_context(|| format!("error reading {}", self.display()))
    }

    /// Open for reading, decompressing gzip transparently.
    pub fn open(&self) -> Result<Box<dyn Read>> {
        let mut raw: Box<dyn Read> = if self.is_stdin() {
            Box::new(io::stdin().lock())
        } else {
            Box::new(
                File::open(&self.path)
                    .with_context(|| format!("cannot open {}", self.display()))?,
            )
        };
        let mut magic = [0u8; 2];
        let n = read_full(&mut raw, &mut magic)
            .with_context(|| format!("cannot read {}", self.display()))?;
        let head = io::Cursor::new(magic[..n].to_vec());
        let chained = head.chain(raw);
        if n == 2 && magic == [0x1f, 0x8b] {
            Ok(Box::new(flate2::read::MultiGzDecoder::new(chained)))
        } else {
            Ok(Box::new(chained))
        }
    }
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

const CHUNK: usize = 1 << 20;

/// Call `f(block)` for consecutive blocks of whole lines of `r` (each ends
/// with `\n`, except possibly the last block of the input). Lines longer
/// than the buffer grow it rather than being split.
pub fn for_each_chunk(
    mut r: impl Read,
    mut progress: impl FnMut(u64),
    mut f: impl FnMut(&[u8]),
) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    let mut start = 0;
    loop {
        if start == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = match r.read(&mut buf[start..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        progress(n as u64);
        let end = start + n;
        if n == 0 {
            if end > 0 {
                f(&buf[..end]);
            }
            return Ok(());
        }
        match memchr::memrchr(b'\n', &buf[..end]) {
            Some(i) => {
                f(&buf[..=i]);
                buf.copy_within(i + 1..end, 0);
                start = end - i - 1;
            }
            None => start = end,
        }
    }
}

/// Call `f` on consecutive slices of `data` of about [`CHUNK`] bytes, each
/// ending after a newline (or at the end of `data`).
pub fn for_each_slice(data: &[u8], mut f: impl FnMut(&[u8])) {
    let mut start = 0;
    while start < data.len() {
        let want = (start + CHUNK).min(data.len());
        let end = match memchr::memchr(b'\n', &data[want - 1..]) {
            Some(i) => want + i,
            None => data.len(),
        };
        f(&data[start..end]);
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(data: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for_each_chunk(data, |_| {}, |c| out.push(c.to_vec())).unwrap();
        out
    }

    #[test]
    fn last_partial_line_is_kept() {
        assert_eq!(chunks(b"a\nb\r\n\nc").concat(), b"a\nb\r\n\nc");
    }

    #[test]
    fn long_lines_are_never_split() {
        let long = "x".repeat(CHUNK * 2 + 7);
        let data = format!("{long}\nshort\n");
        let got = chunks(data.as_bytes());
        assert!(got
            .iter()
            .any(|c| c.windows(long.len()).any(|w| w == long.as_bytes())));
        assert_eq!(got.concat(), data.as_bytes());
    }

    #[test]
    fn chunks_hold_whole_lines() {
        let data = format!("{}\nend", "line\n".repeat(400_000));
        let mut chunks = Vec::new();
        for_each_chunk(data.as_bytes(), |_| {}, |c| chunks.push(c.to_vec())).unwrap();
        assert!(chunks.len() >= 2, "{}", chunks.len());
        for c in &chunks[..chunks.len() - 1] {
            assert_eq!(c.last(), Some(&b'\n'));
        }
        assert_eq!(chunks.concat(), data.as_bytes());
    }

    #[test]
    fn slices_hold_whole_lines_and_cover_everything() {
        let long = "x".repeat(CHUNK * 2 + 7);
        for data in [
            format!("{}\nend", "line\n".repeat(400_000)),
            format!("{long}\nshort\n"),
            "\n".repeat(CHUNK + 1),
            "no newline".to_string(),
            String::new(),
        ] {
            let mut slices = Vec::new();
            for_each_slice(data.as_bytes(), |c| slices.push(c.to_vec()));
            assert_eq!(slices.concat(), data.as_bytes());
            assert!(slices.iter().all(|c| !c.is_empty()));
            for c in &slices[..slices.len().saturating_sub(1)] {
                assert_eq!(c.last(), Some(&b'\n'));
            }
        }
    }
}
