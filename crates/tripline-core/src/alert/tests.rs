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
