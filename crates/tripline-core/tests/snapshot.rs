//! Saving and restoring the engine: a run cut anywhere, saved through serde
//! and restored into a new engine, ends exactly like an uninterrupted run;
//! and `MAX_SOURCES` bounds a flood without losing the real scanner.
//! Uses the real corpus (skipped with a note when absent).

use std::net::IpAddr;
use std::sync::Arc;
use tripline_core::config::Config;
use tripline_core::engine::{Engine, EngineSnapshot, Rules, SourceSnapshot};
use tripline_core::fingerprint::Fingerprints;
use tripline_core::icmp::IcmpTypes;
use tripline_core::signature::SignatureSet;
use tripline_core::{ParseOptions, Timestamp};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/dev/");

fn corpus() -> Option<String> {
    let path = format!("{CORPUS}syslog.log");
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(_) => {
            eprintln!("note: {path} not found, skipping");
            None
        }
    }
}

fn rules() -> Arc<Rules> {
    Arc::new(Rules {
        signatures: SignatureSet::builtin(),
        icmp4: IcmpTypes::builtin_v4(),
        fingerprints: Fingerprints::builtin(),
        ..Rules::default()
    })
}

fn opts() -> ParseOptions {
    ParseOptions {
        now: Timestamp::from_secs(1_795_305_600),
        utc_offset_secs: 0,
    }
}

fn feed(e: &mut Engine, lines: &[&str]) {
    for l in lines {
        let _ = e.handle_line(l, &opts(), opts().now);
        while e.poll_event().is_some() {}
    }
    e.end_interval(e.now());
}

/// Everything an engine knows, in a comparable form.
fn state(e: &Engine) -> (serde_json::Value, Vec<(IpAddr, serde_json::Value)>) {
    let mut srcs: Vec<(IpAddr, serde_json::Value)> = e
        .sources()
        .map(|v| v.addr())
        .map(|ip| {
            let snap = e.snapshot_source(ip).unwrap();
            (ip, serde_json::to_value(snap).unwrap())
        })
        .collect();
    srcs.sort_by_key(|(ip, _)| *ip);
    (serde_json::to_value(e.snapshot()).unwrap(), srcs)
}

/// Save the way the daemon does: only what changed since the last save.
fn save(e: &mut Engine, store: &mut std::collections::BTreeMap<IpAddr, String>) -> String {
    for ip in e.take_changed() {
        match e.snapshot_source(ip) {
            Some(s) => store.insert(ip, serde_json::to_string(&s).unwrap()),
            None => store.remove(&ip),
        };
    }
    serde_json::to_string(&e.snapshot()).unwrap()
}

fn restore(
    cfg: &Arc<Config>,
    globals: &str,
    store: &std::collections::BTreeMap<IpAddr, String>,
) -> Engine {
    let mut e = Engine::new(cfg.clone(), rules()).unwrap();
    let g: EngineSnapshot = serde_json::from_str(globals).unwrap();
    let s: Vec<SourceSnapshot> = store
        .values()
        .map(|v| serde_json::from_str(v).unwrap())
        .collect();
    e.restore(g, s).unwrap();
    e.track_changes();
    e
}

#[test]
fn a_run_cut_and_restored_equals_an_uninterrupted_run() {
    let Some(log) = corpus() else { return };
    let lines: Vec<&str> = log.lines().collect();
    let cfg = Arc::new(Config::default());
    let mut whole = Engine::new(cfg.clone(), rules()).unwrap();
    feed(&mut whole, &lines);
    let expect = state(&whole);
    assert!(expect.1.len() > 20, "corpus has its sources");

    // Cut three times, saving incrementally each time (as the daemon does).
    let cuts = [lines.len() / 5, lines.len() / 2, lines.len() * 4 / 5];
    let mut store = std::collections::BTreeMap::new();
    let mut e = Engine::new(cfg.clone(), rules()).unwrap();
    e.track_changes();
    let mut from = 0;
    for &cut in &cuts {
        feed(&mut e, &lines[from..cut]);
        let globals = save(&mut e, &mut store);
        e = restore(&cfg, &globals, &store);
        from = cut;
    }
    feed(&mut e, &lines[from..]);
    let got = state(&e);
    assert_eq!(got.1.len(), expect.1.len());
    for (g, x) in got.1.iter().zip(&expect.1) {
        assert_eq!(g, x, "source {} differs after restore", x.0);
    }
    assert_eq!(got.0, expect.0, "engine-wide state differs after restore");
}

#[test]
fn restore_refuses_a_corrupt_snapshot() {
    let Some(log) = corpus() else { return };
    let cfg = Arc::new(Config::default());
    let mut e = Engine::new(cfg.clone(), rules()).unwrap();
    feed(&mut e, &log.lines().take(2000).collect::<Vec<_>>());
    let mut g = serde_json::to_value(e.snapshot()).unwrap();
    g["names"] = serde_json::json!([]);
    g["prefix_counts"] = serde_json::json!([]);
    let srcs: Vec<SourceSnapshot> = e
        .sources()
        .map(|v| e.snapshot_source(v.addr()).unwrap())
        .collect();
    let mut fresh = Engine::new(cfg, rules()).unwrap();
    let err = fresh
        .restore(serde_json::from_value(g).unwrap(), srcs)
        .unwrap_err();
    assert!(err.to_string().contains("unknown name id"), "{err}");
}

#[test]
fn max_sources_evicts_quiet_harmless_sources_and_keeps_the_scanner() {
    const SYN: &str = "Nov 21 23:20:40 fw1 kernel: [ 8085.309164] IN_DROP IN=wan0 OUT= MAC=52:54:00:1f:00:01:52:54:00:5c:00:0a:08:00 SRC=198.51.100.10 DST=198.51.100.1 LEN=44 TOS=0x00 PREC=0x00 TTL=52 ID=42853 PROTO=TCP SPT=55018 DPT=143 WINDOW=1024 RES=0x00 SYN URGP=0 ";
    let cfg = Arc::new(Config {
        max_sources: 1000,
        ..Config::default()
    });
    let mut e = Engine::new(cfg, rules()).unwrap();
    e.track_changes();
    let scanner: IpAddr = "198.51.100.10".parse().unwrap();
    for i in 0..50_000u32 {
        let spoofed = format!("203.0.{}.{}", (i >> 8) & 0xff, i & 0xff);
        let line = SYN.replace("SRC=198.51.100.10", &format!("SRC={spoofed}"));
        let _ = e.handle_line(&line, &opts(), opts().now);
        if i % 100 == 0 {
            let port = 1 + i / 100;
            let _ = e.handle_line(
                &SYN.replace("DPT=143", &format!("DPT={port}")),
                &opts(),
                opts().now,
            );
        }
        while e.poll_event().is_some() {}
        assert!(e.source_count() <= 1000);
    }
    assert!(e.stats().evicted >= 49_000, "evicted {}", e.stats().evicted);
    let s = e.source(scanner).expect("the scanner survives eviction");
    assert_eq!(s.packets(), 500);
    assert!(s.danger_level() >= 2);
    // Evicted sources are reported as changed, with no snapshot left.
    let changed = e.take_changed();
    assert!(changed.iter().any(|ip| e.snapshot_source(*ip).is_none()));
}
