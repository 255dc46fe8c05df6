//! The allocator's settings for a batch run (`analyze`).
#![allow(unsafe_code)]

/// Grow glibc's heaps 64 MiB at a time instead of a page or so: each step
/// is an `mprotect` or `brk` that takes the address space's lock for
/// writing, and while the main thread maps and unmaps file windows and the
/// workers fault in their new pages, those steps made the threads wait on
/// each other (`-j2` 1.1x faster without them). The pad is address space,
/// not memory: only the pages touched count. The daemon keeps the defaults,
/// which give memory back sooner.
pub fn grow_in_big_steps() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tuning value of glibc's allocator (under
    // its own lock); no memory is touched.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}
