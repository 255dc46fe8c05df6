//! The least any line-by-line analyser of a firewall log does: map the file,
//! find each line, read `SRC`, `DST` and `DPT`, and keep a counter, a port
//! span and a destination count per source. Nothing of psad's rules.
//!
//!     floor FILE [THREADS]      (the file is split in THREADS byte ranges)
use std::collections::HashMap;

/// A dotted IPv4 address at the start of `b`, and its length.
fn ip4(b: &[u8]) -> (u32, usize) {
    let (mut v, mut octet, mut i) = (0u32, 0u32, 0);
    while let Some(&c) = b.get(i) {
        match c {
            b'.' => {
                v = v << 8 | octet;
                octet = 0;
            }
            b'0'..=b'9' => octet = octet * 10 + u32::from(c - b'0'),
            _ => break,
        }
        i += 1;
    }
    (v << 8 | octet, i)
}

fn num(b: &[u8]) -> u32 {
    b.iter()
        .take_while(|c| c.is_ascii_digit())
        .fold(0, |v, &c| v * 10 + u32::from(c - b'0'))
}

#[derive(Default)]
struct Source {
    packets: u64,
    lo: u32,
    hi: u32,
    last_dst: u32,
    dsts: u32,
}

fn count(part: &[u8]) -> u64 {
    let src_key = memchr::memmem::Finder::new(b" SRC=");
    let dpt_key = memchr::memmem::Finder::new(b" DPT=");
    let mut sources: HashMap<u32, Source> = HashMap::new();
    let mut start = 0;
    while start < part.len() {
        let end = memchr::memchr(b'\n', &part[start..]).map_or(part.len(), |i| start + i);
        let line = &part[start..end];
        start = end + 1;
        let Some(i) = src_key.find(line) else {
            continue;
        };
        let (src, n) = ip4(&line[i + 5..]);
        let rest = &line[i + 5 + n..];
        let (dst, m) = rest.strip_prefix(b" DST=").map_or((0, 0), ip4);
        let rest = &rest[m.min(rest.len())..];
        let dpt = dpt_key.find(rest).map_or(0, |p| num(&rest[p + 5..]));
        let s = sources.entry(src).or_default();
        if s.packets == 0 {
            s.lo = dpt;
        }
        s.packets += 1;
        s.lo = s.lo.min(dpt);
        s.hi = s.hi.max(dpt);
        if s.last_dst != dst {
            s.last_dst = dst;
            s.dsts += 1;
        }
    }
    sources
        .values()
        .map(|s| s.packets + u64::from(s.dsts) + u64::from(s.hi - s.lo))
        .sum()
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let file = std::fs::File::open(args.get(1).expect("usage: floor FILE [THREADS]"))?;
    let threads: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    // SAFETY: a read-only map of a file nobody truncates during the run.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::MmapOptions::new().populate().map(&file)? };
    let data: &[u8] = &map;
    let cuts: Vec<usize> = (0..=threads)
        .map(|t| {
            let at = data.len() * t / threads;
            match t {
                0 => 0,
                t if t == threads => data.len(),
                _ => memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |i| at + i + 1),
            }
        })
        .collect();
    let total: u64 = std::thread::scope(|scope| {
        let parts: Vec<_> = cuts
            .windows(2)
            .map(|w| scope.spawn(move || count(&data[w[0]..w[1]])))
            .collect();
        parts.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    println!("{total}");
    Ok(())
}
