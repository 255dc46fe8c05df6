//! Parser throughput on a checked-in slice of real corpus lines
//! (`test_data/parse/bench_sample.log`: every 40th line of the dev corpus
//! plus up to 20 lines of each line shape). The other header formats are
//! derived from the same lines so every bench parses identical bodies.
//! Criterion reports lines per second (`Throughput::Elements`).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tripline_core::parse::{parse_line, psad_compat_check, LineParser};
use tripline_core::{ParseOptions, Timestamp};

const SAMPLE: &str = include_str!("../test_data/parse/bench_sample.log");

/// The message after `kernel: `, i.e. the dmesg form.
fn body(line: &str) -> &str {
    line.split_once("kernel: ").map_or(line, |(_, m)| m)
}

fn formats() -> Vec<(&'static str, Vec<String>)> {
    let sys: Vec<String> = SAMPLE.lines().map(str::to_owned).collect();
    let dmesg: Vec<String> = sys.iter().map(|l| body(l).to_owned()).collect();
    let msg = |l: &str| {
        let b = body(l);
        b.split_once("] ").map_or(b, |(_, m)| m).to_owned()
    };
    let iso = sys
        .iter()
        .map(|l| {
            format!(
                "2026-11-21T{}.281720+00:00 fw1 kernel: {}",
                &l[7..15],
                body(l)
            )
        })
        .collect();
    let rfc = sys
        .iter()
        .enumerate()
        .map(|(i, l)| {
            format!(
                "<4>1 2026-11-21T{}.281720Z fw1 kernel - - [meta sequenceId=\"{i}\"][kmsg@32473 seq=\"{i}\" ts=\"8085.236687\"] {}",
                &l[7..15],
                msg(l)
            )
        })
        .collect();
    let kmsg = sys
        .iter()
        .enumerate()
        .map(|(i, l)| format!("4,{i},8085236687,-;{}", msg(l)))
        .collect();
    let json = sys
        .iter()
        .map(|l| {
            serde_json::json!({
                "MESSAGE": msg(l),
                "_HOSTNAME": "fw1",
                "__REALTIME_TIMESTAMP": "1795303240281720",
                "_SOURCE_MONOTONIC_TIMESTAMP": "8085236687",
            })
            .to_string()
        })
        .collect();
    vec![
        ("iptables_syslog", sys),
        ("rsyslog_iso", iso),
        ("rfc5424", rfc),
        ("dmesg", dmesg),
        ("kmsg", kmsg),
        ("journal_json", json),
    ]
}

fn bench(c: &mut Criterion) {
    let opts = ParseOptions {
        now: Timestamp::from_secs(1_795_305_600),
        utc_offset_secs: 0,
    };
    let mut g = c.benchmark_group("parse");
    for (name, lines) in formats() {
        g.throughput(Throughput::Elements(lines.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut ok = 0usize;
                for l in &lines {
                    if let Ok(Some(p)) = parse_line(black_box(l), &opts) {
                        ok += p.len as usize & 1;
                    }
                }
                ok
            })
        });
    }
    let sys: Vec<&str> = SAMPLE.lines().collect();
    g.throughput(Throughput::Elements(sys.len() as u64));
    g.bench_function("psad_compat_check", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for l in &sys {
                if let Ok(Some(p)) = parse_line(black_box(l), &opts) {
                    ok += psad_compat_check(l, &p).is_ok() as usize;
                }
            }
            ok
        })
    });
    g.finish();

    // Consecutive lines as a log has them (scans come in runs), when the
    // shared corpus is there: `parse_line` against the `LineParser` that
    // reuses the previous line's network fields.
    let corpus = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/dev/syslog.log"
    );
    let Ok(text) = std::fs::read_to_string(corpus) else {
        eprintln!("{corpus} not found: the stream benches are skipped");
        return;
    };
    let lines: Vec<&str> = text.lines().take(20_000).collect();
    let mut g = c.benchmark_group("parse_stream");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("parse_line", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for l in &lines {
                if let Ok(Some(p)) = parse_line(black_box(l), &opts) {
                    ok += p.len as usize & 1;
                }
            }
            ok
        })
    });
    g.bench_function("line_parser", |b| {
        b.iter(|| {
            let mut parser = LineParser::new();
            let mut ok = 0usize;
            for l in &lines {
                if let Ok(Some(p)) = parser.parse(black_box(l), &opts) {
                    ok += p.len as usize & 1;
                }
            }
            ok
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
