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

/// Call `f(line_number, line)` for every line of `r` (1-based, without the
/// newline). `progress(bytes)` is called after each chunk. Lines that are not
/// UTF-8 are passed through lossily, so nothing is dropped silently.
pub fn for_each_line(
    mut r: impl Read,
    mut progress: impl FnMut(u64),
    mut f: impl FnMut(u64, &str),
) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    let mut start = 0; // bytes of a partial line kept at the front
    let mut line_no = 0u64;
    loop {
        if start == buf.len() {
            // A line longer than the buffer: grow rather than split it.
            buf.resize(buf.len() * 2, 0);
        }
        let n = match r.read(&mut buf[start..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let end = start + n;
        let mut pos = 0;
        let eof = n == 0;
        while let Some(i) = memchr::memchr(b'\n', &buf[pos..end]) {
            line_no += 1;
            emit(&buf[pos..pos + i], line_no, &mut f);
            pos += i + 1;
        }
        if eof {
            if pos < end {
                line_no += 1;
                emit(&buf[pos..end], line_no, &mut f);
            }
            progress(n as u64);
            return Ok(());
        }
        buf.copy_within(pos..end, 0);
        start = end - pos;
        progress(n as u64);
    }
}

fn emit(bytes: &[u8], line_no: u64, f: &mut impl FnMut(u64, &str)) {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => f(line_no, s),
        Err(_) => f(line_no, &String::from_utf8_lossy(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &[u8]) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        for_each_line(data, |_| {}, |n, l| out.push((n, l.to_string()))).unwrap();
        out
    }

    #[test]
    fn splits_lines_and_keeps_last_partial_line() {
        let got = lines(b"a\nb\r\n\nc");
        assert_eq!(
            got,
            vec![
                (1, "a".into()),
                (2, "b".into()),
                (3, "".into()),
                (4, "c".into())
            ]
        );
    }

    #[test]
    fn long_lines_cross_chunks() {
        let long = "x".repeat(CHUNK * 2 + 7);
        let data = format!("{long}\nshort\n");
        let got = lines(data.as_bytes());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1.len(), long.len());
        assert_eq!(got[1].1, "short");
    }

    #[test]
    fn invalid_utf8_is_not_dropped() {
        let got = lines(b"ok\n\xff\xfe bad\n");
        assert_eq!(got.len(), 2);
        assert!(got[1].1.ends_with(" bad"));
    }
}
