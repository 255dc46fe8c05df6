//! Alerter tests: a flood of 10 000 scanners against a real syslog socket and a slow
//! script, to show the rate limit, the bounded queues and the suppression counters.

use super::*;
use std::os::unix::net::UnixDatagram;
use std::time::Instant;
use tripline_core::config::alerting::{ChannelLimits, ScriptCommand, ScriptConfig, SyslogConfig};
use tripline_core::config::Config;
use tripline_core::engine::Rules;
use tripline_core::ParseOptions;

const SYN6: &str = "Nov 21 23:22:48 fw1 kernel: [ 8213.937624] DROP IN=wan0 OUT= MAC=52:54:00:1f:00:01:52:54:00:5c:00:13:86:dd SRC=2001:0db8:0100:0000:0000:0000:0000:0013 DST=2001:0db8:0100:0000:0000:0000:0000:0001 LEN=64 TC=0 HOPLIMIT=255 FLOWLBL=0 PROTO=TCP SPT=61787 DPT=993 WINDOW=1024 RES=0x00 SYN URGP=0 OPT (020405B4) ";

fn syslog_cfg(path: &std::path::Path, per_minute: u32, burst: u32) -> SyslogConfig {
    SyslogConfig {
        identity: "tripline".into(),
        facility: 23,
        priority: 6,
        socket: path.display().to_string(),
        signature_lines: 0,
        limits: ChannelLimits {
            min_dl: 1,
            per_minute,
            burst,
        },
    }
}

/// Feeds `n` scanners of 5 ports each (DL 1) and returns the alerts produced.
fn flood(alerter: &mut Alerter, n: u32) -> usize {
    let mut e = Engine::new(Arc::new(Config::default()), Arc::new(Rules::default())).unwrap();
    let now = Timestamp::from_secs(1_800_000_000);
    let opts = ParseOptions {
        now,
        ..ParseOptions::default()
    };
    let mut alerts = 0;
    for i in 0..n {
        let src = format!(
            "SRC=2001:0db8:0100:0000:0000:0000:{:04x}:{:04x}",
            i >> 16,
            i & 0xffff
        );
        for port in 1..=5 {
            let line = SYN6
                .replace("SRC=2001:0db8:0100:0000:0000:0000:0000:0013", &src)
                .replace("DPT=993", &format!("DPT={port}"));
            let _ = e.handle_line(&line, &opts, now);
            while let Some(ev) = e.poll_event() {
                alerts += alerter.observe(&e, &ev, now).len();
            }
        }
    }
    alerts
}

#[test]
fn a_flood_of_10000_scanners_is_rate_limited_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.sock");
    let server = UnixDatagram::bind(&path).unwrap();
    let cfg = AlertingConfig {
        syslog: Some(syslog_cfg(&path, 60, 20)),
        ..AlertingConfig::default()
    };
    let mut alerter = Alerter::from_config(&cfg).unwrap();
    let started = Instant::now();
    assert_eq!(flood(&mut alerter, 10_000), 10_000);
    let took = started.elapsed();
    let stats = alerter.stats();
    assert_eq!(stats.alerts, 10_000);
    let ch = &stats.channels[0];
    assert_eq!(ch.queued, 20, "{ch:?}");
    assert_eq!(ch.rate_limited, 9_980, "{ch:?}");
    // Exactly the burst reaches the socket.
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 2048];
    for _ in 0..20 {
        let n = server.recv(&mut buf).unwrap();
        let msg = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(msg.starts_with("<190>tripline["), "{msg}");
        assert!(msg.contains("scan detected"), "{msg}");
    }
    let stats = alerter.shutdown(Duration::from_secs(10));
    assert_eq!(stats.channels[0].sent, 20);
    server.set_nonblocking(true).unwrap();
    assert!(
        server.recv(&mut buf).is_err(),
        "more than the burst was sent"
    );
    eprintln!("10000 scanners, 50000 lines through engine + alerter: {took:?}");
}

#[test]
fn a_slow_channel_has_a_bounded_queue_and_never_blocks_detection() {
    // A script that takes seconds per alert, unlimited rate: the queue fills, the rest is
    // dropped and counted, and observe() returns at once for every alert.
    let cfg = AlertingConfig {
        scripts: vec![ScriptConfig {
            name: "slow".into(),
            command: ScriptCommand::Argv(vec!["sleep".into(), "3".into()]),
            env: Default::default(),
            timeout_secs: 5,
            max_running: 1,
            per_alert: true,
            stdin_json: false,
            limits: ChannelLimits {
                min_dl: 1,
                per_minute: 0,
                burst: 1,
            },
        }],
        ..AlertingConfig::default()
    };
    let mut alerter = Alerter::from_config(&cfg).unwrap();
    assert_eq!(flood(&mut alerter, 2_000), 2_000);
    let ch = &alerter.stats().channels[0];
    assert!(ch.queued <= channel::QUEUE as u64 + 1, "{ch:?}");
    assert_eq!(ch.queued + ch.dropped_full, 2_000, "{ch:?}");
    assert!(
        ch.dropped_full >= 2_000 - channel::QUEUE as u64 - 1,
        "{ch:?}"
    );
    // Shutting down does not wait for the backlog beyond the grace period.
    let t = Instant::now();
    let _ = alerter.shutdown(Duration::from_millis(100));
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[test]
fn levels_below_a_channels_minimum_are_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.sock");
    let _server = UnixDatagram::bind(&path).unwrap();
    let mut s = syslog_cfg(&path, 0, 1);
    s.limits.min_dl = 3;
    let cfg = AlertingConfig {
        syslog: Some(s),
        ..AlertingConfig::default()
    };
    let mut alerter = Alerter::from_config(&cfg).unwrap();
    assert_eq!(flood(&mut alerter, 10), 10);
    let ch = &alerter.stats().channels[0];
    assert_eq!((ch.below_level, ch.queued), (10, 0));
}

#[test]
fn reload_switches_channels_and_keeps_each_sources_history() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.sock"), dir.path().join("b.sock"));
    let (sa, sb) = (
        UnixDatagram::bind(&a).unwrap(),
        UnixDatagram::bind(&b).unwrap(),
    );
    let cfg = |p: &std::path::Path| AlertingConfig {
        syslog: Some(syslog_cfg(p, 0, 1)),
        ..AlertingConfig::default()
    };
    let mut alerter = Alerter::from_config(&cfg(&a)).unwrap();
    assert_eq!(flood(&mut alerter, 1), 1);
    alerter.reload(&cfg(&b)).unwrap();
    // The same scanner again (same state in a new engine): no longer its first alert,
    // and the same evidence gives nothing new.
    assert_eq!(flood(&mut alerter, 1), 0);
    // A new scanner goes to the new socket.
    let mut e = Engine::new(Arc::new(Config::default()), Arc::new(Rules::default())).unwrap();
    let now = Timestamp::from_secs(1_800_000_000);
    let opts = ParseOptions {
        now,
        ..ParseOptions::default()
    };
    let mut n = 0;
    for port in 1..=5 {
        let line = SYN6
            .replace("DPT=993", &format!("DPT={port}"))
            .replace("0000:0000:0000:0013 DST", "0000:0000:0000:0099 DST");
        let _ = e.handle_line(&line, &opts, now);
        while let Some(ev) = e.poll_event() {
            n += alerter.observe(&e, &ev, now).len();
        }
    }
    assert_eq!(n, 1);
    let mut buf = [0u8; 2048];
    sa.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    sb.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let got_a = sa.recv(&mut buf).unwrap();
    assert!(std::str::from_utf8(&buf[..got_a])
        .unwrap()
        .contains("2001:db8:100::"));
    let got_b = sb.recv(&mut buf).unwrap();
    assert!(std::str::from_utf8(&buf[..got_b])
        .unwrap()
        .contains("2001:db8:100::99 ->"));
}

fn block(kind: AlertKind, src: &str, dl: u8) -> BlockEvent {
    BlockEvent {
        kind,
        src: src.parse().unwrap(),
        dl,
        details: tripline_core::alert::BlockDetails {
            net: src.to_string(),
            backend: "nftables".into(),
            timeout_secs: 60,
            expires_unix: Some(1_800_000_060),
            dry_run: false,
            max_per_minute: 2,
            skipped: 0,
            restored: 0,
            error: String::new(),
            failures: 0,
        },
    }
}

/// A refused blocking change alerts at once, then at most once an hour, with
/// the failures counted in between; the block alerts switch silences it too.
#[test]
fn refused_blocking_changes_alert_once_an_hour() {
    let cfg = AlertingConfig {
        block_alerts: true,
        ..AlertingConfig::default()
    };
    let mut alerter = Alerter::from_config(&cfg).unwrap();
    let e = Engine::new(Arc::new(Config::default()), Arc::new(Rules::default())).unwrap();
    let fail = |a: &mut Alerter, at: i64| {
        let mut ev = block(AlertKind::BlockFailed, "0.0.0.0", 5);
        ev.details.error = "nftables (1 changes): refused".into();
        ev.details.failures = 1;
        a.notify_block(&e, ev, Timestamp::from_secs(at))
            .map(|a| a.block.unwrap().failures)
    };
    assert_eq!(fail(&mut alerter, 1_800_000_000), Some(1));
    assert_eq!(fail(&mut alerter, 1_800_000_010), None);
    assert_eq!(fail(&mut alerter, 1_800_003_599), None);
    assert_eq!(fail(&mut alerter, 1_800_003_600), Some(3));
    assert_eq!(fail(&mut alerter, 1_800_003_601), None);
    let mut off = Alerter::from_config(&AlertingConfig::default()).unwrap();
    assert_eq!(fail(&mut off, 1_800_000_000), None);
}

/// Block notices through a real syslog socket: the channel's minimum level holds, a
/// psad `EXTERNAL_SCRIPT` never runs for them, renewals need their own switch, cap
/// alerts come at most once a minute, and `alerts = false` silences them all.
#[test]
fn block_notices_honour_levels_switches_and_the_cap_gate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.sock");
    let server = UnixDatagram::bind(&path).unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut syslog = syslog_cfg(&path, 0, 1);
    syslog.limits.min_dl = 4;
    let mut cfg = AlertingConfig {
        syslog: Some(syslog),
        scripts: vec![ScriptConfig {
            name: "psad".into(),
            command: ScriptCommand::PsadTemplate("/bin/true SRCIP".into()),
            env: Default::default(),
            timeout_secs: 5,
            max_running: 1,
            per_alert: true,
            stdin_json: false,
            limits: ChannelLimits {
                min_dl: 1,
                per_minute: 0,
                burst: 1,
            },
        }],
        block_alerts: true,
        renew_block_alerts: false,
        ..AlertingConfig::default()
    };
    let mut alerter = Alerter::from_config(&cfg).unwrap();
    let e = Engine::new(Arc::new(Config::default()), Arc::new(Rules::default())).unwrap();
    let now = Timestamp::from_secs(1_800_000_000);
    let low = alerter.notify_block(&e, block(AlertKind::Blocked, "198.51.100.7", 3), now);
    assert_eq!(low.map(|a| a.kind), Some(AlertKind::Blocked));
    let high = alerter
        .notify_block(&e, block(AlertKind::Blocked, "198.51.100.8", 5), now)
        .unwrap();
    assert_eq!(high.block.as_ref().unwrap().net, "198.51.100.8");
    assert!(alerter
        .notify_block(&e, block(AlertKind::BlockRenewed, "198.51.100.8", 5), now)
        .is_none());
    let cap = |a: &mut Alerter, src: &str, at: i64| {
        a.notify_block(
            &e,
            block(AlertKind::BlockLimitReached, src, 5),
            Timestamp::from_secs(at),
        )
    };
    assert_eq!(
        cap(&mut alerter, "198.51.100.9", 1_800_000_000)
            .unwrap()
            .block
            .unwrap()
            .skipped,
        1
    );
    assert!(cap(&mut alerter, "198.51.100.10", 1_800_000_030).is_none());
    let again = cap(&mut alerter, "198.51.100.11", 1_800_000_061).unwrap();
    assert_eq!(again.block.unwrap().skipped, 2);

    // The socket gets the DL 5 block and the two cap lines, not the DL 3 block.
    let mut buf = [0u8; 2048];
    let mut got = Vec::new();
    for _ in 0..3 {
        let n = server.recv(&mut buf).unwrap();
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(
        got[0].ends_with("]: added nftables auto-block against 198.51.100.8 for 60 seconds"),
        "{got:?}"
    );
    assert!(
        got[1].contains("auto-block limit reached (2 a minute): not blocking 198.51.100.9 (DL 5)")
    );
    assert!(got[2].ends_with(
        "not blocking 198.51.100.11 (DL 5), 2 sources not blocked since the last notice"
    ));
    let stats = alerter.stats();
    assert_eq!(stats.block_notices, 4);
    let sys = stats.channels.iter().find(|c| c.name == "syslog").unwrap();
    assert_eq!(sys.below_level, 1, "{sys:?}");
    let script = stats
        .channels
        .iter()
        .find(|c| c.name == "script:psad")
        .unwrap();
    assert_eq!(script.queued, 0, "EXTERNAL_SCRIPT is for scans: {script:?}");

    // Renewals with their switch on; nothing at all with alerts off.
    cfg.renew_block_alerts = true;
    alerter.reload(&cfg).unwrap();
    assert!(alerter
        .notify_block(&e, block(AlertKind::BlockRenewed, "198.51.100.8", 5), now)
        .is_some());
    cfg.block_alerts = false;
    alerter.reload(&cfg).unwrap();
    assert!(alerter
        .notify_block(&e, block(AlertKind::Blocked, "198.51.100.12", 5), now)
        .is_none());
}
