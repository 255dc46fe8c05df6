//! Signature matching throughput on the parser's checked-in corpus sample
//! (`test_data/parse/bench_sample.log`), with psad's rule file (when
//! installed) and with our built-in rules, in both matching modes.
//! Criterion reports packets per second (`Throughput::Elements`), without
//! and with a `MatchMemo` (the engine's way).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tripline_core::parse::parse_line;
use tripline_core::signature::{MatchMemo, SignatureSet};
use tripline_core::{Packet, ParseOptions};

const SAMPLE: &str = include_str!("../test_data/parse/bench_sample.log");

fn any_net(name: &str) -> Option<String> {
    match name {
        "HOME_NET" | "EXTERNAL_NET" | "HTTP_SERVERS" | "SQL_SERVERS" => Some("any".into()),
        "HTTP_PORTS" => Some("80".into()),
        "SHELLCODE_PORTS" => Some("!80".into()),
        _ => None,
    }
}

fn bench(c: &mut Criterion) {
    let opts = ParseOptions::default();
    let pkts: Vec<Packet<'static>> = SAMPLE
        .lines()
        .filter_map(|l| parse_line(l, &opts).ok().flatten())
        .collect();
    let mut sets = vec![("builtin", SignatureSet::builtin())];
    if let Ok(text) = std::fs::read_to_string("/etc/psad/signatures") {
        if let Ok(s) = SignatureSet::parse(&text, "/etc/psad/signatures", &any_net) {
            sets.push(("psad", s));
        }
    }
    // `SIG_FIXED_WORK=<set>/<mode>`: 100 passes and exit, for `perf stat`
    // instruction counts, which other load on the machine does not disturb.
    if let Ok(w) = std::env::var("SIG_FIXED_WORK") {
        for (name, set) in &sets {
            for compat in [false, true] {
                if w == format!("{name}/{}", if compat { "compat" } else { "fixed" }) {
                    let mut out = Vec::with_capacity(16);
                    let mut n = 0;
                    for _ in 0..100 {
                        for p in &pkts {
                            set.match_packet(black_box(p), compat, &mut out);
                            n += out.len();
                        }
                    }
                    eprintln!("{w}: {} packets, {n} matches", 100 * pkts.len());
                }
            }
        }
        std::process::exit(0);
    }
    // Best-of-runs ns/packet, robust to other load on the machine.
    for (name, set) in &sets {
        for compat in [false, true] {
            let mut out = Vec::with_capacity(16);
            let mut best = f64::MAX;
            for _ in 0..200 {
                let t = std::time::Instant::now();
                for p in &pkts {
                    set.match_packet(black_box(p), compat, &mut out);
                }
                best = best.min(t.elapsed().as_nanos() as f64 / pkts.len() as f64);
            }
            let mut memo = MatchMemo::default();
            let mut best_memo = f64::MAX;
            for _ in 0..200 {
                let t = std::time::Instant::now();
                for p in &pkts {
                    set.match_packet_memo(black_box(p), compat, &mut memo, &mut out);
                }
                best_memo = best_memo.min(t.elapsed().as_nanos() as f64 / pkts.len() as f64);
            }
            eprintln!(
                "signatures/{name}/{}: best {best:.1} ns/packet, {best_memo:.1} with a memo",
                if compat { "compat" } else { "fixed" }
            );
        }
    }
    let mut g = c.benchmark_group("signatures");
    g.throughput(Throughput::Elements(pkts.len() as u64));
    for (name, set) in &sets {
        for compat in [false, true] {
            let id = format!("{name}/{}", if compat { "compat" } else { "fixed" });
            let mut out = Vec::with_capacity(16);
            g.bench_function(&id, |b| {
                b.iter(|| {
                    let mut n = 0;
                    for p in &pkts {
                        set.match_packet(black_box(p), compat, &mut out);
                        n += out.len();
                    }
                    n
                })
            });
            let mut memo = MatchMemo::default();
            g.bench_function(format!("{id}/memo"), |b| {
                b.iter(|| {
                    let mut n = 0;
                    for p in &pkts {
                        set.match_packet_memo(black_box(p), compat, &mut memo, &mut out);
                        n += out.len();
                    }
                    n
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
