//! Plain input files are read through a read-only memory map: no copy into
//! user space, and every analysis worker walks the same pages.
//!
//! A map has one hazard: if the file shrinks while mapped (a copytruncate
//! rotation), touching a page past the new end raises SIGBUS. The handler
//! here turns that into a one-line error and exit status 2 instead of a bare
//! "Bus error"; `--no-mmap` reads with read(2) instead.
#![allow(unsafe_code)]

use memmap2::{Mmap, MmapOptions};
use std::fs::File;
use std::sync::Once;

/// Map `file` read-only, pages populated up front.
pub fn map(file: &File) -> std::io::Result<Mmap> {
    install_sigbus_handler();
    // SAFETY: the map is read-only and Tripline never writes its inputs.
    // Another process appending is harmless (the map ends at today's
    // length); one rewriting bytes changes what is read, as with read(2);
    // one shrinking the file is the SIGBUS case handled below.
    let m = unsafe { MmapOptions::new().populate().map(file)? };
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
