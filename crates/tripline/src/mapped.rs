//! Plain input files are read through a read-only memory map: no copy into
//! user space, and every analysis worker walks the same pages.
//!
//! Files are mapped a window at a time, so the mapped pages never dominate
//! the process's memory. A map has one hazard: if the file shrinks while
//! mapped (a copytruncate rotation), touching a page past the new end raises
//! SIGBUS. The length is checked before each window, and the handler here
//! turns the remaining case into a one-line error and exit status 2 instead
//! of a bare "Bus error"; `--no-mmap` reads with read(2) instead.
#![allow(unsafe_code)]

use memmap2::{Mmap, MmapOptions};
use std::fs::File;
use std::io;
use std::sync::Once;

/// Bytes mapped at a time: enough to amortise mmap(2), small enough that
/// the mapped pages (which count in RSS) stay a fraction of the state.
pub const WINDOW: u64 = 8 << 20;

/// The smallest window, at the end of a file (see [`window`]).
const LAST_WINDOW: u64 = 1 << 20;

/// One window of whole lines of a mapped file; unmapped when dropped.
pub struct Window {
    map: Mmap,
    cut: usize,
}

impl std::ops::Deref for Window {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map[..self.cut]
    }
}

/// Call `f` on consecutive windows of whole lines of `file`, from offset 0
/// to the length it has now (the last window may end without a newline).
/// A line longer than a window widens that window.
pub fn for_each_window(file: &File, mut f: impl FnMut(&[u8])) -> io::Result<()> {
    for_each_owned(file, |w| f(&w))
}

/// [`for_each_window`], handing over each window (to share it between
/// threads: it is mapped, and its pages populated, once).
pub fn for_each_owned(file: &File, mut f: impl FnMut(Window)) -> io::Result<()> {
    let len = file.metadata()?.len();
    let mut off = 0u64;
    let mut wider = 1;
    while off < len {
        // A file that shrank since is an error here, not a SIGBUS below.
        if file.metadata()?.len() < len {
            return Err(io::Error::other("the file shrank while it was being read"));
        }
        let end = (off + window(len - off) * wider).min(len);
        let m = map(file, off, (end - off) as usize)?;
        let cut = if end == len {
            m.len()
        } else {
            match memchr::memrchr(b'\n', &m) {
                Some(i) => i + 1,
                None => {
                    wider *= 2;
                    continue;
                }
            }
        };
        f(Window { map: m, cut });
        off += cut as u64;
        wider = 1;
    }
    Ok(())
}

/// The size of the next window with `left` bytes to go: [`WINDOW`], down to
/// [`LAST_WINDOW`] over the file's last few windows. Workers sharing the
/// windows finish one apart at most, so small last windows make them finish
/// together: with 8 MiB to the end, one worker still had 5 ms of lines
/// after the other was done.
fn window(left: u64) -> u64 {
    (left / 4).clamp(LAST_WINDOW, WINDOW)
}

/// Map `len` bytes of `file` from `offset`, read-only, pages populated.
fn map(file: &File, offset: u64, len: usize) -> io::Result<Mmap> {
    install_sigbus_handler();
    // SAFETY: the map is read-only and Tripline never writes its inputs.
    // Another process appending is harmless (the map ends at today's
    // length); one rewriting bytes changes what is read, as with read(2);
    // one shrinking the file is the SIGBUS case handled below.
    let m = unsafe {
        MmapOptions::new()
            .offset(offset)
            .len(len)
            .populate()
            .map(file)?
    };
    // Advice only; reading works without it.
    let _ = m.advise(memmap2::Advice::Sequential);
    Ok(m)
}

extern "C" fn on_sigbus(_: libc::c_int) {
    const MSG: &[u8] = b"tripline: an input file shrank while it was being read \
(rotated by copytruncate?); run again, or pass --no-mmap\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe; MSG is static.
    unsafe {
        libc::write(2, MSG.as_ptr().cast(), MSG.len());
        libc::_exit(2);
    }
}

fn install_sigbus_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a zeroed sigaction is valid (no flags, empty mask once
        // sigemptyset ran); the handler only calls async-signal-safe functions.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigbus as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn windows(path: &std::path::Path) -> io::Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for_each_window(&File::open(path)?, |w| out.push(w.to_vec()))?;
        Ok(out)
    }

    /// Full windows until the last four, then a quarter of what is left,
    /// down to the smallest.
    #[test]
    fn windows_shrink_towards_the_end_of_a_file() {
        assert_eq!(window(100 * WINDOW), WINDOW);
        assert_eq!(window(4 * WINDOW), WINDOW);
        assert_eq!(window(2 * WINDOW), WINDOW / 2);
        assert_eq!(window(5 * LAST_WINDOW), LAST_WINDOW + LAST_WINDOW / 4);
        assert_eq!(window(LAST_WINDOW), LAST_WINDOW);
        assert_eq!(window(10), LAST_WINDOW);
    }

    #[test]
    fn windows_hold_whole_lines_and_cover_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.log");
        let mut data = Vec::new();
        let mut n = 0u64;
        while data.len() < 2 * WINDOW as usize + 100 {
            writeln!(data, "line {n} SRC=198.51.100.{}", n % 250).unwrap();
            n += 1;
        }
        // A line longer than a window, then a last line without a newline.
        data.extend(std::iter::repeat_n(b'x', WINDOW as usize + 10));
        data.extend_from_slice(b"\nlast");
        std::fs::write(&path, &data).unwrap();
        let got = windows(&path).unwrap();
        assert!(got.len() >= 3, "{} windows", got.len());
        for w in &got[..got.len() - 1] {
            assert_eq!(w.last(), Some(&b'\n'));
        }
        assert_eq!(got.concat(), data);
        let empty = dir.path().join("empty.log");
        std::fs::write(&empty, b"").unwrap();
        assert!(windows(&empty).unwrap().is_empty());
    }

    #[test]
    fn a_file_that_shrinks_between_windows_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shrinks.log");
        let line = b"IN=eth0 OUT= SRC=198.51.100.1 DST=203.0.113.1\n";
        let data = line.repeat(2 * WINDOW as usize / line.len() + 1);
        std::fs::write(&path, &data).unwrap();
        let file = File::open(&path).unwrap();
        let mut seen = 0;
        let err = for_each_window(&file, |w| {
            seen += w.len();
            // copytruncate, after the first window was read
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(0)
                .unwrap();
        })
        .unwrap_err();
        assert!(err.to_string().contains("shrank"), "{err}");
        assert!(seen > 0 && seen < data.len());
    }
}
