//! Alert policy, builder and text tests on real corpus lines.

use super::*;
use crate::config::Config;
use crate::engine::{Engine, Rules};
use crate::packet::Timestamp;
use crate::parse::ParseOptions;
use std::sync::Arc;

const SYN: &str = "Nov 21 23:20:40 fw1 kernel: [ 8085.309164] IN_DROP IN=wan0 OUT= MAC=52:54:00:1f:00:01:52:54:00:5c:00:0a:08:00 SRC=198.51.100.10 DST=198.51.100.1 LEN=44 TOS=0x00 PREC=0x00 TTL=52 ID=42853 PROTO=TCP SPT=55018 DPT=143 WINDOW=1024 RES=0x00 SYN URGP=0 OPT (020405B4) ";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_secs(secs)
}

fn ev(dl: u8, ports: u64) -> Evidence {
    Evidence {
        dl,
        destinations: 1,
        port_span: ports,
        signatures: 0,
        packets: ports,
        dst: Some(ip("198.51.100.1")),
    }
}

#[test]
fn first_alert_then_rise_then_new_evidence_once_per_interval() {
    let mut p = AlertPolicy::new(PolicyConfig::default());
    let src = ip("203.0.113.5");
    assert_eq!(
        p.decide(src, ev(0, 1), Cause::Activity, t(0)),
        Verdict::Quiet
    );
    assert!(matches!(
        p.decide(src, ev(1, 5), Cause::DangerRaised { from: 0 }, t(1)),
        Verdict::Alert {
            trigger: Trigger::First,
            count: 1,
            previous_dl: 0
        }
    ));
    // Same evidence: nothing.
    assert_eq!(
        p.decide(src, ev(1, 5), Cause::Activity, t(10)),
        Verdict::Quiet
    );
    // New ports, but within CHECK_INTERVAL of the last alert: wait.
    assert_eq!(
        p.decide(src, ev(1, 9), Cause::Activity, t(3)),
        Verdict::Quiet
    );
    assert!(matches!(
        p.decide(src, ev(1, 9), Cause::Activity, t(7)),
        Verdict::Alert {
            trigger: Trigger::NewEvidence,
            count: 2,
            ..
        }
    ));
    // A rise alerts at once, whatever the interval.
    assert!(matches!(
        p.decide(src, ev(2, 9), Cause::DangerRaised { from: 1 }, t(7)),
        Verdict::Alert {
            trigger: Trigger::DangerRaised,
            previous_dl: 1,
            count: 3
        }
    ));
}

#[test]
fn alert_all_off_alerts_only_on_first_and_rises() {
    let mut p = AlertPolicy::new(PolicyConfig {
        alert_all: false,
        ..PolicyConfig::default()
    });
    let src = ip("203.0.113.5");
    assert!(matches!(
        p.decide(src, ev(1, 5), Cause::Activity, t(0)),
        Verdict::Alert { .. }
    ));
    assert_eq!(
        p.decide(src, ev(1, 500), Cause::Activity, t(100)),
        Verdict::Quiet
    );
    assert!(matches!(
        p.decide(src, ev(3, 500), Cause::DangerRaised { from: 1 }, t(100)),
        Verdict::Alert { .. }
    ));
}

#[test]
fn email_limit_sends_status_once_then_suppresses() {
    let mut p = AlertPolicy::new(PolicyConfig {
        limit: 2,
        ..PolicyConfig::default()
    });
    let src = ip("203.0.113.5");
    let mut got = Vec::new();
    for (i, dl) in [1u8, 2, 3, 4, 5].iter().enumerate() {
        got.push(p.decide(src, ev(*dl, 5), Cause::Activity, t(i as i64 * 10)));
    }
    assert!(matches!(got[0], Verdict::Alert { count: 1, .. }));
    assert!(matches!(got[1], Verdict::Alert { count: 2, .. }));
    assert_eq!(got[2], Verdict::LimitReached { count: 2 });
    assert_eq!(got[3], Verdict::SuppressedLimit);
    assert_eq!(got[4], Verdict::SuppressedLimit);
    assert_eq!(p.stats().suppressed_limit, 2);
    assert_eq!(p.stats().limit_messages, 1);
    // Another source has its own counter.
    assert!(matches!(
        p.decide(ip("203.0.113.6"), ev(1, 5), Cause::Activity, t(0)),
        Verdict::Alert { .. }
    ));
}

#[test]
fn email_limit_without_status_message_and_per_destination() {
    let mut p = AlertPolicy::new(PolicyConfig {
        limit: 1,
        limit_per_dst: true,
        limit_status_msg: false,
        ..PolicyConfig::default()
    });
    let src = ip("203.0.113.5");
    assert!(matches!(
        p.decide(src, ev(1, 5), Cause::Activity, t(0)),
        Verdict::Alert { .. }
    ));
    assert_eq!(
        p.decide(src, ev(2, 5), Cause::Activity, t(10)),
        Verdict::SuppressedLimit
    );
    let mut other = ev(3, 5);
    other.dst = Some(ip("198.51.100.2"));
    assert!(matches!(
        p.decide(src, other, Cause::Activity, t(20)),
        Verdict::Alert { .. }
    ));
}

#[test]
fn throttle_sends_one_in_n_and_compat_skips_every_nth() {
    let run = |compat: bool| {
        let mut p = AlertPolicy::new(PolicyConfig {
            throttle: 3,
            psad_compat: compat,
            ..PolicyConfig::default()
        });
        let src = ip("203.0.113.5");
        (1..=6u8)
            .map(|i| {
                matches!(
                    p.decide(
                        src,
                        ev(i.min(5), 5 + u64::from(i)),
                        Cause::Activity,
                        t(i64::from(i) * 10)
                    ),
                    Verdict::Alert { .. }
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(false), [true, false, false, true, false, false]);
    // psad 2.4.6: alerts whose counter is a multiple of N are skipped.
    assert_eq!(run(true), [true, true, false, true, true, false]);
}

#[test]
fn compat_alert_all_alerts_on_any_new_packet() {
    let mut p = AlertPolicy::new(PolicyConfig {
        psad_compat: true,
        ..PolicyConfig::default()
    });
    let src = ip("203.0.113.5");
    let mut e = ev(1, 5);
    assert!(matches!(
        p.decide(src, e, Cause::Activity, t(0)),
        Verdict::Alert { .. }
    ));
    e.packets += 1; // same ports, one more packet
    assert!(matches!(
        p.decide(src, e, Cause::Activity, t(5)),
        Verdict::Alert {
            trigger: Trigger::NewEvidence,
            ..
        }
    ));
}

#[test]
fn rate_limit_refills_over_time() {
    let mut r = RateLimit::new(60, 2);
    assert!(r.allow(t(0)));
    assert!(r.allow(t(0)));
    assert!(!r.allow(t(0)));
    assert!(r.allow(t(1)));
    assert_eq!(r.refused, 1);
    let mut u = RateLimit::unlimited();
    assert!((0..1000).all(|_| u.allow(t(0))));
}

fn scanned_engine() -> Engine {
    let mut e = Engine::new(Arc::new(Config::default()), Arc::new(Rules::default())).unwrap();
    let opts = ParseOptions {
        now: t(1_800_000_000),
        ..ParseOptions::default()
    };
    for port in 20..=40u16 {
        let line = SYN.replace("DPT=143", &format!("DPT={port}"));
        let _ = e.handle_line(&line, &opts, opts.now);
    }
    e
}

fn info(now: Timestamp) -> BuildInfo {
    BuildInfo {
        seq: 1,
        kind: AlertKind::Scan,
        trigger: Trigger::First,
        previous_danger_level: 0,
        reason: "danger level 2".into(),
        alerts_for_source: 1,
        previous_packets: 0,
        previous_dst_packets: Vec::new(),
        now,
        hostname: "fw1".into(),
    }
}

#[test]
fn alert_carries_the_evidence_and_round_trips_through_json() {
    let e = scanned_engine();
    let a = build_alert(&e, ip("198.51.100.10"), info(t(1_800_000_100))).unwrap();
    assert_eq!(a.danger_level, 2);
    assert_eq!(a.total_destinations, 1);
    assert_eq!(
        a.tcp,
        Some(PortSummary {
            lo: 20,
            hi: 40,
            packets: 21
        })
    );
    assert_eq!(a.tcp_flags[0].flags, "SYN");
    assert_eq!(a.tcp_flags[0].nmap.as_deref(), Some("-sT or -sS"));
    assert_eq!(a.prefixes[0].prefix, "IN_DROP");
    assert_eq!(a.prefixes[0].chain, "INPUT");
    assert_eq!(a.interfaces, ["wan0"]);
    assert_eq!(a.syslog_hostnames, ["fw1"]);
    assert_eq!(a.interval_packets, 21);
    assert_eq!(a.scan_type(), "tcp-syn");
    let json = serde_json::to_string(&a).unwrap();
    let back: Alert = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a);
    assert!(build_alert(&e, ip("203.0.113.99"), info(t(0))).is_none());
}

#[test]
fn email_body_has_psads_sections_in_order() {
    let e = scanned_engine();
    let mut a = build_alert(&e, ip("198.51.100.10"), info(t(1_800_000_100))).unwrap();
    a.src_dns = Some("scanner.example.test".into());
    a.whois = Some("NetRange: 198.51.100.0 - 198.51.100.255\n".into());
    let body = text::email_body(&a);
    let order = [
        "=-=-=-=-=-=-=-=-=-=-=-= Fri Jan 15 08:01:40 2027 UTC",
        "\n         Danger level: [2] (out of 5)",
        "\n Scanned destinations: 1",
        "    Scanned TCP ports: [20-40: 21 packets]",
        "            TCP flags: [SYN: 21 packets, Nmap: -sT or -sS]",
        "       iptables chain: INPUT (prefix \"IN_DROP\"), 21 packets",
        "               Source: 198.51.100.10",
        "                  DNS: scanner.example.test",
        "          Destination: 198.51.100.1",
        "   Overall scan start: ",
        "   Total email alerts: 1",
        "   Complete TCP range: [20-40]",
        "      Syslog hostname: fw1",
        "         Global stats: ",
        "\n                       INPUT    wan0        tcp        21",
        "[+] Whois Information (source IP):",
        "NetRange: 198.51.100.0",
    ];
    let mut at = 0;
    for want in order {
        let found = body[at..]
            .find(want)
            .unwrap_or_else(|| panic!("missing {want:?} after byte {at} in\n{body}"));
        at += found + want.len();
    }
    assert_eq!(
        text::subject(&a, "[tripline-alert]", "[tripline-status]"),
        "[tripline-alert] DL2 src: scanner.example.test dst: 198.51.100.1"
    );
    assert_eq!(
        text::syslog_line(&a),
        "scan detected (Nmap -sT or -sS scan): 198.51.100.10 -> 198.51.100.1 tcp: [20-40] flags: SYN tcp pkts: 21 DL: 2 total scan dsts: 1"
    );
    assert_eq!(
        text::summary(&a),
        "Intrusion detected from 198.51.100.10 (DL 2): tcp-syn scan of 198.51.100.1, ports tcp 20-40"
    );
}

#[test]
fn ctime_matches_known_instants() {
    assert_eq!(text::ctime(0), "Thu Jan  1 00:00:00 1970 UTC");
    assert_eq!(text::ctime(1_795_821_423), "Fri Nov 27 23:17:03 2026 UTC");
}

fn block_ev(kind: AlertKind, src: &str, timeout_secs: u64) -> BlockEvent {
    BlockEvent {
        kind,
        src: ip(src),
        dl: 3,
        details: BlockDetails {
            net: src.to_string(),
            backend: "iptables".into(),
            timeout_secs,
            expires_unix: (timeout_secs > 0).then_some(1_800_000_100 + timeout_secs as i64),
            dry_run: false,
            max_per_minute: 60,
            skipped: 1,
            restored: 0,
            error: String::new(),
            failures: 0,
        },
    }
}

#[test]
fn restored_blocks_are_a_status_alert_about_the_firewall() {
    let e = scanned_engine();
    let mut ev = block_ev(AlertKind::BlocksRestored, "0.0.0.0", 0);
    ev.details.net = String::new();
    ev.details.backend = "nftables".into();
    ev.details.restored = 4;
    ev.dl = 5;
    let a = block_alert(&e, ev, 3, t(1_800_000_100), "fw1".into());
    assert!(a.kind.is_block());
    assert_eq!(a.kind.as_str(), "blocks_restored");
    let msg =
        "nftables objects were gone (a ruleset reload?): re-created them and re-applied 4 blocks";
    assert_eq!(text::syslog_line(&a), msg);
    assert_eq!(a.reason, msg);
    assert_eq!(
        text::subject(&a, "[tripline-alert]", "[tripline-status]"),
        "[tripline-status] 4 blocks restored on fw1 after a ruleset reload"
    );
    assert_eq!(text::title(&a), "Blocks restored: 4 on fw1 (DL 5)");
    let body = text::email_body(&a);
    for want in [
        "              Backend: nftables",
        "      Blocks restored: 4",
        "        Highest level: [5] (out of 5)",
        "were not enforced",
        "             Hostname: fw1",
    ] {
        assert!(body.contains(want), "missing {want:?} in\n{body}");
    }
    assert!(!body.contains("Source:"), "no source to name:\n{body}");
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(v["kind"], "blocks_restored");
    assert_eq!(v["block"]["restored"], 4);
    // Alerts stored before the field existed still read back.
    let mut old = v.clone();
    old["block"].as_object_mut().unwrap().remove("restored");
    old["kind"] = "blocked".into();
    let back: Alert = serde_json::from_value(old).unwrap();
    assert_eq!(back.block.unwrap().restored, 0);
}

#[test]
fn a_refused_blocking_change_is_a_status_alert_on_one_line() {
    let e = scanned_engine();
    let mut ev = block_ev(AlertKind::BlockFailed, "0.0.0.0", 0);
    ev.details.net = String::new();
    ev.details.backend = "nftables".into();
    // nft answers over several lines, with a caret line under the command.
    ev.details.error = "nftables (1 changes): nft -f - failed: Error: Could not process rule: \
                        Too many open files in system\nadd element inet tripline v4 { \
                        198.51.100.7 timeout 120s }\n\x1b[31m^^^^^^^^^^^^\x1b[0m\n"
        .into();
    ev.details.failures = 3;
    ev.dl = 5;
    let a = block_alert(&e, ev, 4, t(1_800_000_100), "fw1".into());
    assert!(a.kind.is_block());
    assert_eq!(a.kind.as_str(), "block_failed");
    let line = text::syslog_line(&a);
    assert!(
        line.starts_with("nftables blocking failed: nftables (1 changes): nft -f -"),
        "{line}"
    );
    assert!(
        line.ends_with("(3 failures since the last notice)"),
        "{line}"
    );
    assert!(!line.contains('\n') && !line.contains('\x1b'), "{line:?}");
    assert_eq!(
        text::subject(&a, "[tripline-alert]", "[tripline-status]"),
        "[tripline-status] blocking failed on fw1: nftables"
    );
    assert_eq!(text::title(&a), "Blocking failed on fw1");
    let body = text::email_body(&a);
    for want in [
        "              Backend: nftables",
        "             Failures: 3",
        "Too many open files in system add element inet tripline v4",
        "may not be blocked",
        "             Hostname: fw1",
    ] {
        assert!(body.contains(want), "missing {want:?} in\n{body}");
    }
    assert!(!body.contains("Source:"), "no source to name:\n{body}");
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(v["kind"], "block_failed");
    assert_eq!(v["block"]["failures"], 3);
    // Alerts stored before these fields existed still read back.
    let mut old = v.clone();
    let b = old["block"].as_object_mut().unwrap();
    b.remove("error");
    b.remove("failures");
    old["kind"] = "blocked".into();
    let back: Alert = serde_json::from_value(old).unwrap();
    let b = back.block.unwrap();
    assert_eq!((b.error.as_str(), b.failures), ("", 0));
    // A very long answer is cut.
    let mut long = block_ev(AlertKind::BlockFailed, "0.0.0.0", 0);
    long.details.error = "x ".repeat(1000);
    let a = block_alert(&e, long, 5, t(1_800_000_100), "fw1".into());
    assert!(
        text::syslog_line(&a).len() < 400,
        "{}",
        text::syslog_line(&a)
    );
}

#[test]
fn block_notices_use_psads_status_texts() {
    let e = scanned_engine();
    let now = t(1_800_000_100);
    let a = block_alert(
        &e,
        block_ev(AlertKind::Blocked, "198.51.100.10", 3600),
        7,
        now,
        "fw1".into(),
    );
    assert_eq!(a.kind, AlertKind::Blocked);
    assert_eq!(a.trigger, Trigger::Response);
    assert_eq!(a.danger_level, 3, "the level the responder acted on");
    assert_eq!(
        a.tcp.map(|p| (p.lo, p.hi)),
        Some((20, 40)),
        "scan evidence kept"
    );
    assert_eq!(
        text::subject(&a, "[psad-alert]", "[psad-status]"),
        "[psad-status] added iptables auto-block against 198.51.100.10 for 3600 seconds"
    );
    assert_eq!(
        text::syslog_line(&a),
        "added iptables auto-block against 198.51.100.10 for 3600 seconds"
    );
    assert_eq!(a.reason, text::syslog_line(&a));
    assert_eq!(
        text::summary(&a),
        "Added iptables auto-block against 198.51.100.10 for 3600 seconds on fw1: tcp-syn scan, ports tcp 20-40"
    );
    assert_eq!(text::title(&a), "Blocked: 198.51.100.10 (DL 3)");
    let body = text::email_body(&a);
    let mut at = 0;
    for want in [
        "=-=-=-=-=-=-=-=-=-=-=-= Fri Jan 15 08:01:40 2027 UTC",
        "[+] added iptables auto-block against 198.51.100.10 for 3600 seconds.",
        "              Blocked: 198.51.100.10",
        "              Backend: iptables",
        "              Timeout: 3600 seconds (until Fri Jan 15 09:01:40 2027 UTC)",
        "         Danger level: [3] (out of 5)",
        "               Source: 198.51.100.10",
        "             Hostname: fw1",
        "        Scanned ports: tcp 20-40",
        "           Scan types: tcp-syn",
    ] {
        let found = body[at..]
            .find(want)
            .unwrap_or_else(|| panic!("missing {want:?} after byte {at} in\n{body}"));
        at += found + want.len();
    }
    // JSON carries the kind and the block for webhooks and scripts; it round-trips.
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(v["kind"], "blocked");
    assert_eq!(v["block"]["net"], "198.51.100.10");
    assert_eq!(v["block"]["timeout_secs"], 3600);
    let back: Alert = serde_json::from_value(v).unwrap();
    assert_eq!(back, a);
    // Scan alerts carry no `block` key at all.
    let scan = build_alert(&e, ip("198.51.100.10"), info(now)).unwrap();
    assert!(serde_json::to_value(&scan).unwrap().get("block").is_none());

    // Permanent, renewed, dry run.
    let p = block_alert(
        &e,
        block_ev(AlertKind::Blocked, "198.51.100.10", 0),
        8,
        now,
        "fw1".into(),
    );
    assert_eq!(
        text::subject(&p, "", "[tripline-status]"),
        "[tripline-status] added iptables auto-block against 198.51.100.10 (unlimited timeout)"
    );
    assert!(text::email_body(&p).contains("              Timeout: unlimited\n"));
    let r = block_alert(
        &e,
        block_ev(AlertKind::BlockRenewed, "198.51.100.10", 60),
        9,
        now,
        "fw1".into(),
    );
    assert_eq!(
        text::syslog_line(&r),
        "renewed iptables auto-block against 198.51.100.10 for 60 seconds"
    );
    let mut dry = block_ev(AlertKind::Blocked, "198.51.100.10", 60);
    dry.details.dry_run = true;
    let d = block_alert(&e, dry, 10, now, "fw1".into());
    assert_eq!(
        text::syslog_line(&d),
        "would add iptables auto-block against 198.51.100.10 for 60 seconds (dry run)"
    );
    assert!(text::email_body(&d).contains("Dry run: nothing was changed"));
}

#[test]
fn unblock_and_cap_notices_work_without_engine_evidence() {
    let e = scanned_engine();
    let now = t(1_800_000_100);
    // A source the engine no longer tracks: the block details alone.
    let mut ev = block_ev(AlertKind::Unblocked, "2001:db8:1::", 0);
    ev.details.net = "2001:db8:1::/64".into();
    let u = block_alert(&e, ev, 1, now, "fw1".into());
    assert_eq!(u.packets, 0);
    assert_eq!(
        text::subject(&u, "[psad-alert]", "[psad-status]"),
        "[psad-status] removed iptables block against 2001:db8:1::/64"
    );
    assert_eq!(
        text::syslog_line(&u),
        "removed iptables auto-block against 2001:db8:1::/64"
    );
    assert_eq!(text::title(&u), "Unblocked: 2001:db8:1::/64");
    let body = text::email_body(&u);
    assert!(
        body.contains("            Unblocked: 2001:db8:1::/64\n"),
        "{body}"
    );
    assert!(!body.contains("Timeout"), "{body}");

    let mut cap = block_ev(AlertKind::BlockLimitReached, "198.51.100.10", 0);
    cap.details.skipped = 4;
    let c = block_alert(&e, cap, 2, now, "fw1".into());
    assert_eq!(
        text::subject(&c, "[psad-alert]", "[psad-status]"),
        "[psad-status] auto-block limit reached on fw1: not blocking 198.51.100.10"
    );
    assert_eq!(
        text::syslog_line(&c),
        "auto-block limit reached (60 a minute): not blocking 198.51.100.10 (DL 3), 4 sources not blocked since the last notice"
    );
    assert!(text::email_body(&c).contains("          Not blocked: 198.51.100.10\n"));
    assert_eq!(
        text::title(&c),
        "Block limit reached: 198.51.100.10 not blocked (DL 3)"
    );
}

#[test]
fn cap_gate_alerts_once_a_period_and_counts_the_rest() {
    let mut g = CapGate::new();
    assert_eq!(g.refused(100, 60), Some(1));
    assert_eq!(g.refused(110, 60), None);
    assert_eq!(g.refused(159, 60), None);
    assert_eq!(g.refused(160, 60), Some(3), "two held back plus this one");
    assert_eq!(g.refused(161, 60), None);
}
