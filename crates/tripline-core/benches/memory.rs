//! State per tracked source with 1 M spoofed sources (one SYN each), counted
//! by an instrumented allocator: heap bytes held by the engine / sources.
//!
//! `cargo bench -p tripline-core --bench memory`

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::sync::Arc;
use tripline_core::engine::{Engine, Rules};
use tripline_core::fingerprint::Fingerprints;
use tripline_core::icmp::IcmpTypes;
use tripline_core::signature::SignatureSet;
use tripline_core::{Config, ParseOptions, Timestamp};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

// A real corpus line (198.51.100.10's SYN scan); the source is replaced.
const LINE: &str = "Nov 21 23:20:40 fw1 kernel: [ 8085.309164] IN_DROP IN=wan0 OUT= MAC=52:54:00:1f:00:01:52:54:00:5c:00:0a:08:00 SRC=198.51.100.10 DST=198.51.100.1 LEN=44 TOS=0x00 PREC=0x00 TTL=52 ID=42853 PROTO=TCP SPT=55018 DPT=143 WINDOW=1024 RES=0x00 SYN URGP=0 OPT (020405B4) ";

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    // The rules `tripline analyze` uses without configuration.
    let rules = Arc::new(Rules {
        signatures: SignatureSet::builtin(),
        icmp4: IcmpTypes::builtin_v4(),
        icmp6: IcmpTypes::builtin_v6(),
        fingerprints: Fingerprints::builtin(),
        ..Rules::default()
    });
    let opts = ParseOptions {
        now: Timestamp::from_secs(1_800_000_000),
        ..ParseOptions::default()
    };
    // Addresses from 100.64.0.0/10 (file only, as the lab's mkbig.py does), one SYN each.
    let lines: Vec<String> = (0..n)
        .map(|i| {
            let a = 0x6440_0000u32 + i;
            let src = format!(
                "{}.{}.{}.{}",
                a >> 24,
                (a >> 16) & 255,
                (a >> 8) & 255,
                a & 255
            );
            LINE.replace("SRC=198.51.100.10", &format!("SRC={src}"))
        })
        .collect();
    // Everything the engine allocates from here on counts, including its
    // fixed tables (port counters, ...), which it allocates on first use.
    let region = Region::new(GLOBAL);
    // Measures the state itself: no cap.
    let cfg = Config {
        max_sources: 0,
        ..Config::default()
    };
    let mut engine = Engine::new(Arc::new(cfg), rules).expect("engine");
    let t = std::time::Instant::now();
    for l in &lines {
        let _ = engine.handle_line(l, &opts, Timestamp(0));
        // A shell drains events after every line.
        while engine.poll_event().is_some() {}
    }
    let elapsed = t.elapsed();
    let stats = region.change();
    // stats_alloc already folds realloc growth into bytes_allocated/deallocated.
    let held = stats.bytes_allocated as i64 - stats.bytes_deallocated as i64;
    println!("sources tracked: {}", engine.source_count());
    println!(
        "heap held by the engine: {:.1} MiB",
        held as f64 / (1 << 20) as f64
    );
    println!(
        "bytes per tracked source: {:.1}",
        held as f64 / engine.source_count() as f64
    );
    println!(
        "engine throughput on these lines: {:.0} lines/s",
        f64::from(n) / elapsed.as_secs_f64()
    );
}
