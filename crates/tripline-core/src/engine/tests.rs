//! Engine tests on real corpus lines (../shared/corpus/dev/syslog.log).

use super::trw::TrwConfig;
use super::*;

const SYN: &str = "Nov 21 23:20:40 fw1 kernel: [ 8085.309164] IN_DROP IN=wan0 OUT= MAC=52:54:00:1f:00:01:52:54:00:5c:00:0a:08:00 SRC=198.51.100.10 DST=198.51.100.1 LEN=44 TOS=0x00 PREC=0x00 TTL=52 ID=42853 PROTO=TCP SPT=55018 DPT=143 WINDOW=1024 RES=0x00 SYN URGP=0 OPT (020405B4) ";

fn engine(cfg: Config) -> Engine {
    Engine::new(Arc::new(cfg), Arc::new(Rules::default())).unwrap()
}

fn opts() -> ParseOptions {
    ParseOptions {
        now: Timestamp::from_secs(1_800_000_000),
        ..ParseOptions::default()
    }
}

fn syn_to(port: u16) -> String {
    SYN.replace("DPT=143", &format!("DPT={port}"))
}

#[test]
fn five_ports_reach_dl1_and_raise_an_event() {
    let mut e = engine(Config::default());
    for p in 1..=4 {
        assert_eq!(
            e.handle_line(&syn_to(p), &opts(), Timestamp(0)),
            LineOutcome::Accepted
        );
    }
    let src: IpAddr = "198.51.100.10".parse().unwrap();
    assert_eq!(e.source(src).unwrap().danger_level(), 0);
    let _ = e.handle_line(&syn_to(5), &opts(), Timestamp(0));
    assert_eq!(e.source(src).unwrap().danger_level(), 1);
    let events: Vec<Event> = std::iter::from_fn(|| e.poll_event()).collect();
    assert!(matches!(events[0], Event::SourceSeen { .. }));
    assert!(events
        .iter()
        .any(|ev| matches!(ev, Event::DangerRaised { from: 0, to: 1, .. })));
}

#[test]
fn compat_mode_assigns_levels_at_interval_end() {
    let mut e = engine(Config {
        psad_compat: true,
        ..Config::default()
    });
    for p in 1..=5 {
        let _ = e.handle_line(&syn_to(p), &opts(), Timestamp(0));
    }
    let src: IpAddr = "198.51.100.10".parse().unwrap();
    assert_eq!(e.source(src).unwrap().danger_level(), 0);
    e.end_interval(e.now());
    assert_eq!(e.source(src).unwrap().danger_level(), 1);
}

#[test]
fn journal_json_with_escaped_message_is_decoded() {
    // journalctl -o json writes MESSAGE as a byte array when it holds control characters.
    let msg = "IN_DROP IN=wan0 OUT= MAC=52:54:00:1f:00:01:52:54:00:5c:00:0a:08:00 SRC=198.51.100.10 DST=198.51.100.1 LEN=44 TOS=0x00 PREC=0x00 TTL=52 ID=42853 PROTO=TCP SPT=55018 DPT=143 WINDOW=1024 RES=0x00 SYN URGP=0 \u{1}";
    let bytes: Vec<String> = msg.bytes().map(|b| b.to_string()).collect();
    let line = format!(
        "{{\"_HOSTNAME\":\"fw1\",\"__REALTIME_TIMESTAMP\":\"1795303240354197\",\"MESSAGE\":[{}]}}",
        bytes.join(",")
    );
    let mut e = engine(Config::default());
    assert_eq!(
        e.handle_line(&line, &opts(), Timestamp(0)),
        LineOutcome::Accepted
    );
    assert!(e.source("198.51.100.10".parse().unwrap()).is_some());
}

#[test]
fn time_going_backwards_is_clamped_and_counted() {
    let mut e = engine(Config::default());
    let p1 = crate::parse_line(SYN, &opts()).unwrap().unwrap();
    let _ = e.handle_packet(Timestamp::from_secs(100), &p1);
    let _ = e.handle_packet(Timestamp::from_secs(50), &p1);
    assert_eq!(e.now(), Timestamp::from_secs(100));
    assert_eq!(e.stats().clock_backwards, 1);
}

/// With logged times (offline analysis), a source's first and last times
/// are its own packets' earliest and latest, whatever other sources logged
/// in between; the clock keeps the latest time of all. A live engine
/// records the clock's time.
#[test]
fn a_source_keeps_its_own_packets_times() {
    let mut live = engine(Config::default());
    let mut e = engine(Config::default()).with_logged_times();
    let other = SYN.replace("SRC=198.51.100.10", "SRC=198.51.100.77");
    let p = crate::parse_line(SYN, &opts()).unwrap().unwrap();
    let q = crate::parse_line(&other, &opts()).unwrap().unwrap();
    let secs = Timestamp::from_secs;
    for (t, pkt) in [(100, &p), (40, &q), (70, &p), (130, &p), (45, &q)] {
        assert_eq!(e.handle_packet(secs(t), pkt), LineOutcome::Accepted);
        assert_eq!(live.handle_packet(secs(t), pkt), LineOutcome::Accepted);
    }
    let times = |e: &Engine, ip: &str| {
        let s = e.source(ip.parse().unwrap()).unwrap();
        (s.first_seen(), s.last_seen())
    };
    assert_eq!(times(&e, "198.51.100.10"), (secs(70), secs(130)));
    assert_eq!(times(&e, "198.51.100.77"), (secs(40), secs(45)));
    assert_eq!(times(&live, "198.51.100.10"), (secs(100), secs(130)));
    assert_eq!(times(&live, "198.51.100.77"), (secs(100), secs(130)));
    for x in [&e, &live] {
        assert_eq!(x.now(), secs(130));
        assert_eq!(x.stats().clock_backwards, 3);
    }
}

/// Real lines of the corpus' nmap ACK scan (-sA) from 198.51.100.12.
fn ack_scan() -> Vec<String> {
    let line = "Nov 21 23:21:04 fw1 kernel: [ 8109.718004] IN_DROP IN=wan0 OUT= MAC=52:54:00:1f:00:01:52:54:00:5c:00:0c:08:00 SRC=198.51.100.12 DST=198.51.100.1 LEN=40 TOS=0x00 PREC=0x00 TTL=50 ID=29923 PROTO=TCP SPT=56449 DPT=110 WINDOW=1024 RES=0x00 ACK URGP=0 ";
    [110, 80, 199, 443, 22, 25, 993]
        .iter()
        .map(|p| line.replace("DPT=110", &format!("DPT={p}")))
        .collect()
}

#[test]
fn ack_scans_count_but_stray_acks_and_rsts_do_not() {
    let src: IpAddr = "198.51.100.12".parse().unwrap();
    let mut e = engine(Config::default());
    for l in ack_scan() {
        assert_eq!(
            e.handle_line(&l, &opts(), Timestamp(0)),
            LineOutcome::Accepted
        );
    }
    assert_eq!(e.source(src).unwrap().danger_level(), 1);
    // The tail of a forgotten connection: from a service port to an ephemeral one.
    let stray = ack_scan()[0].replace("SPT=56449 DPT=110", "SPT=443 DPT=51234");
    assert_eq!(
        e.handle_line(&stray, &opts(), Timestamp(0)),
        LineOutcome::Ignored(IgnoreReason::ConntrackAckRst)
    );
    let rst = ack_scan()[0].replace(" ACK URGP", " RST URGP");
    assert_eq!(
        e.handle_line(&rst, &opts(), Timestamp(0)),
        LineOutcome::Ignored(IgnoreReason::ConntrackAckRst)
    );
    // psad drops them all.
    let mut psad = engine(Config {
        psad_compat: true,
        ..Config::default()
    });
    for l in ack_scan() {
        assert_eq!(
            psad.handle_line(&l, &opts(), Timestamp(0)),
            LineOutcome::Ignored(IgnoreReason::ConntrackAckRst)
        );
    }
}

#[test]
fn a_pinging_monitor_is_not_a_scanner_but_fragments_count() {
    // 203.0.113.100 pings the firewall every 3 s (corpus scan b10).
    let ping = "Nov 21 23:20:40 fw1 kernel: [ 8085.236687] IN_DROP IN=wan0 OUT= MAC=52:54:00:1f:00:01:52:54:00:be:00:64:08:00 SRC=203.0.113.100 DST=198.51.100.1 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=1772 DF PROTO=ICMP TYPE=8 CODE=0 ID=6931 SEQ=1 ";
    for compat in [false, true] {
        let mut e = engine(Config {
            psad_compat: compat,
            ..Config::default()
        });
        for i in 1..=30 {
            let _ = e.handle_line(
                &ping.replace("SEQ=1 ", &format!("SEQ={i} ")),
                &opts(),
                Timestamp(0),
            );
        }
        e.end_interval(e.now());
        let dl = e
            .source("203.0.113.100".parse().unwrap())
            .unwrap()
            .danger_level();
        assert_eq!(dl, if compat { 2 } else { 0 }, "compat={compat}");
    }
    // nmap -f logged by nftables: fragments carry no ports, yet they are a scan.
    let frag = "Nov 21 23:21:38 fw2 kernel: [ 8143.812739] NFT_FRAG IN=enp1s0 OUT= MACSRC=52:54:00:5c:00:15 MACDST=52:54:00:1f:00:03 MACPROTO=0800 SRC=203.0.113.21 DST=198.51.100.3 LEN=28 TOS=0x00 PREC=0x00 TTL=48 ID=25409 MF FRAG:1 PROTO=TCP ";
    let mut e = engine(Config::default());
    for i in 0..6 {
        let _ = e.handle_line(
            &frag.replace("ID=25409", &format!("ID={}", 25409 + i)),
            &opts(),
            Timestamp(0),
        );
    }
    assert_eq!(
        e.source("203.0.113.21".parse().unwrap())
            .unwrap()
            .danger_level(),
        1
    );
}

#[test]
fn sweep_gate_rechecks_earlier_pairs() {
    // 20 packets to one port of one host (range 0: no level by count), then
    // nine more hosts: the source crosses DL1_UNIQUE_HOSTS and the first pair,
    // now qualifying, lifts it by its packet count (psad's end-of-interval result).
    let mut e = engine(Config::default());
    for _ in 0..20 {
        let _ = e.handle_line(SYN, &opts(), Timestamp(0));
    }
    for h in 2..=10 {
        let l = SYN.replace("DST=198.51.100.1 ", &format!("DST=198.51.100.{} ", 100 + h));
        let _ = e.handle_line(&l, &opts(), Timestamp(0));
    }
    assert_eq!(
        e.source("198.51.100.10".parse().unwrap())
            .unwrap()
            .danger_level(),
        2
    );
}

fn at(secs: i64, line: &str) -> String {
    // Same real line, written `secs` (< 2400) seconds after 23:20:00.
    assert!(secs < 2400);
    let (m, s) = (20 + secs / 60, secs % 60);
    line.replacen("23:20:40", &format!("23:{m:02}:{s:02}"), 1)
}

#[test]
fn scans_expire_after_scan_timeout_but_keep_their_level() {
    let cfg = Config {
        scan_timeout_secs: 600,
        ..Config::default()
    };
    let mut e = engine(cfg);
    let src: IpAddr = "198.51.100.10".parse().unwrap();
    for p in 1..=5 {
        let _ = e.handle_line(&at(0, &syn_to(p)), &opts(), Timestamp(0));
    }
    assert_eq!(e.source(src).unwrap().danger_level(), 1);
    while e.poll_event().is_some() {}
    // Sweeps happen at the deadline poll_timeout gives; jump straight there.
    let first = e.poll_timeout().expect("persistence is off");
    e.handle_timeout(first);
    assert_eq!(e.source(src).unwrap().packets(), 5, "not yet 600 s old");
    let later = Timestamp(e.now().0 + 601 * 1_000_000);
    e.handle_timeout(later);
    assert_eq!(e.source(src).unwrap().packets(), 0);
    assert_eq!(
        e.source(src).unwrap().danger_level(),
        1,
        "DL survives expiry"
    );
    assert!(matches!(e.poll_event(), Some(Event::ScanExpired { .. })));
    // The source comes back: counting restarts from zero.
    let _ = e.handle_line(&at(30 * 60, &syn_to(9)), &opts(), Timestamp(0));
    assert_eq!(e.source(src).unwrap().packets(), 1);
}

#[test]
fn fixed_mode_times_out_from_the_last_packet_compat_from_the_first() {
    for (compat, expect) in [(false, 2), (true, 0)] {
        let cfg = Config {
            scan_timeout_secs: 600,
            psad_compat: compat,
            ..Config::default()
        };
        let mut e = engine(cfg);
        let _ = e.handle_line(&at(0, &syn_to(1)), &opts(), Timestamp(0));
        let _ = e.handle_line(&at(500, &syn_to(2)), &opts(), Timestamp(0));
        // 700 s after the first packet, 200 s after the last.
        e.handle_timeout(Timestamp(e.now().0 + 200 * 1_000_000));
        let packets = e
            .source("198.51.100.10".parse().unwrap())
            .unwrap()
            .packets();
        assert_eq!(packets, expect, "compat={compat}");
    }
}

#[test]
fn persistence_keeps_everything() {
    let cfg = Config {
        enable_persistence: true,
        scan_timeout_secs: 1,
        ..Config::default()
    };
    let mut e = engine(cfg);
    let _ = e.handle_line(SYN, &opts(), Timestamp(0));
    assert_eq!(e.poll_timeout(), None);
    e.handle_timeout(Timestamp(i64::MAX / 2));
    assert_eq!(
        e.source("198.51.100.10".parse().unwrap())
            .unwrap()
            .packets(),
        1
    );
}

#[test]
fn crafted_rst_combinations_count_but_resets_do_not() {
    // hping3 with every flag set (corpus scan c08) is a probe, not a reset.
    let all = ack_scan()[0].replace(" ACK URGP", " URG ACK PSH RST SYN FIN URGP");
    let reset = ack_scan()[0].replace(" ACK URGP", " ACK RST URGP");
    let mut e = engine(Config::default());
    assert_eq!(
        e.handle_line(&all, &opts(), Timestamp(0)),
        LineOutcome::Accepted
    );
    assert_eq!(
        e.handle_line(&reset, &opts(), Timestamp(0)),
        LineOutcome::Ignored(IgnoreReason::ConntrackAckRst)
    );
}

fn to_host(line: &str, host: u8) -> String {
    line.replace("DST=198.51.100.1 ", &format!("DST=203.0.113.{host} "))
}

#[test]
fn trw_declares_a_scanner_after_four_failed_first_contacts() {
    let trw = TrwConfig {
        accept_prefixes: vec!["ACCEPT_NEW".into()],
        ..TrwConfig::default()
    };
    let mut e = engine(Config {
        trw: Some(trw),
        ..Config::default()
    });
    let src: IpAddr = "198.51.100.10".parse().unwrap();
    // Four dropped first contacts: too few packets for psad's thresholds.
    for h in 1..=4 {
        let _ = e.handle_line(&to_host(SYN, h), &opts(), Timestamp(0));
    }
    assert_eq!(e.source(src).unwrap().danger_level(), 2);
    let (failed, _, ratio, decided) = e.trw_walk(src).unwrap();
    assert_eq!((failed, decided), (4, Some(true)));
    assert!(ratio >= 99.0);

    // A client whose first contacts are logged as accepted is not a scanner.
    let client = "198.51.100.200";
    let mut e = engine(Config {
        trw: Some(TrwConfig {
            accept_prefixes: vec!["ACCEPT_NEW".into()],
            ..TrwConfig::default()
        }),
        ..Config::default()
    });
    for h in 1..=3 {
        let ok = to_host(SYN, h)
            .replace("IN_DROP", "ACCEPT_NEW")
            .replace("198.51.100.10", client);
        assert_eq!(
            e.handle_line(&ok, &opts(), Timestamp(0)),
            LineOutcome::Ignored(IgnoreReason::AcceptedConnection)
        );
    }
    let _ = e.handle_line(
        &to_host(SYN, 9).replace("198.51.100.10", client),
        &opts(),
        Timestamp(0),
    );
    assert_eq!(e.source(client.parse().unwrap()).unwrap().danger_level(), 0);
    let (_, ok, ratio, decided) = e.trw_walk(client.parse().unwrap()).unwrap();
    assert_eq!(ok, 3);
    assert!(ratio < 0.1 && decided != Some(true), "{ratio} {decided:?}");
}

/// `would_see_tcp_options` predicts exactly whether handling a line sets the
/// engine's sticky "TCP options seen" state, under filters that drop lines
/// before that point: `analyze -jN` relies on it to mark what `-j 1` marks.
#[test]
fn tcp_options_prediction_matches_the_engine() {
    let sample = include_str!("../../test_data/parse/bench_sample.log");
    let crafted = [
        SYN.to_string(),
        SYN.replace("IN_DROP", "IN_ACCEPT"),
        SYN.replace("IN=wan0", "IN=lan0"),
        SYN.replace("DPT=143", "DPT=22"),
        SYN.replace("SYN URGP", "ACK RST URGP"),
        SYN.replace("OPT (020405B4) ", ""),
        SYN.replace("PROTO=TCP", "PROTO=UDP"),
        format!("{{\"MESSAGE\":[{}]}}", {
            let msg = SYN.split_once("kernel: ").unwrap().1;
            msg.bytes()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(",")
        }),
    ];
    let configs = [
        Config::default(),
        Config {
            ignore_interfaces: vec!["lan0".into()],
            ignore_ports: vec![crate::config::PortRange {
                proto: Proto::Tcp,
                lo: 20,
                hi: 25,
            }],
            ignore_log_prefixes: Some("ACCEPT".into()),
            ..Config::default()
        },
        Config {
            ignore_protocols: vec![Proto::Tcp],
            ..Config::default()
        },
        Config {
            psad_compat: true,
            ..Config::default()
        },
    ];
    let mut checked = [0usize; 2];
    for cfg in configs {
        let cfg = Arc::new(cfg);
        let lines = sample.lines().map(str::to_string).chain(crafted.clone());
        for line in lines {
            let mut e = Engine::new(cfg.clone(), Arc::new(Rules::default())).unwrap();
            let predicted = e.would_see_tcp_options(&line, &opts());
            let _ = e.handle_line(&line, &opts(), Timestamp(0));
            assert_eq!(predicted, e.seen_tcp_options, "{line}");
            checked[usize::from(predicted)] += 1;
        }
    }
    assert!(checked[0] > 100 && checked[1] > 100, "{checked:?}");
    let mut e = engine(Config::default());
    e.note_tcp_options_seen();
    let _ = e.handle_line(&SYN.replace("OPT (020405B4) ", ""), &opts(), Timestamp(0));
    let src: IpAddr = "198.51.100.10".parse().unwrap();
    let pair = e.source(src).unwrap().destinations().next().unwrap();
    assert!(pair.is_masscan(), "a SYN without options after the note");
}

#[test]
fn same_name_agrees_with_byte_equality() {
    let base: Vec<u8> = (b'a'..=b'z').collect();
    for len in 0..base.len() {
        let a = &base[..len];
        assert!(super::same_name(a, a));
        assert!(!super::same_name(a, &base[..len + 1]));
        for at in 0..len {
            let mut b = a.to_vec();
            b[at] = b'_';
            assert!(!super::same_name(a, &b), "len {len}, byte {at}");
        }
    }
}

#[test]
fn a_fwsnort_prefix_bypasses_signatures_on_every_packet_not_only_the_first() {
    let rules = Rules {
        signatures: crate::signature::SignatureSet::builtin(),
        fwsnort: crate::signature::SnortRules::parse(
            "alert tcp any any -> any 12345 (msg:\"NetBus\"; sid:2003; rev:1;)\n",
        ),
        ..Rules::default()
    };
    let mut e = Engine::new(Arc::new(Config::default()), Arc::new(rules)).unwrap();
    let netbus = |prefix: &str, src: &str| {
        SYN.replace("IN_DROP", prefix)
            .replace("DPT=143", "DPT=12345")
            .replace("SRC=198.51.100.10", &format!("SRC={src}"))
    };
    let sigs = |e: &Engine, src: &str| {
        let v = e.source(src.parse().unwrap()).unwrap();
        (v.signature_matches(), v.unique_signatures())
    };
    // Prefixes in turn, each seen more than once (the tag is worked out once per prefix).
    for _ in 0..3 {
        for (prefix, src) in [
            ("IN_DROP", "198.51.100.10"),
            ("[1] SID2003 ESTAB", "198.51.100.11"),
            ("SID9999", "198.51.100.12"),
        ] {
            let _ = e.handle_line(&netbus(prefix, src), &opts(), Timestamp(0));
        }
    }
    // Tripline's NetBus rule on the plain prefix; the fwsnort SID in place of
    // it on the tagged one; an unknown SID bypasses the signatures all the same.
    assert_eq!(sigs(&e, "198.51.100.10"), (3, 1));
    assert_eq!(sigs(&e, "198.51.100.11"), (3, 1));
    assert_eq!(sigs(&e, "198.51.100.12"), (0, 0));
    let tagged = e.source("198.51.100.11".parse().unwrap()).unwrap();
    let hit = tagged
        .destinations()
        .next()
        .unwrap()
        .signatures()
        .next()
        .unwrap();
    assert_eq!(hit.sig, FWSNORT_SIG | 2003);
}

/// The port counters list every port with packets, in port order, whichever
/// of an eight-port word it sits in, and a count of exactly 256 (narrow byte
/// back at 0, one in the wide table) too.
#[test]
fn port_counts_list_every_port_with_packets_in_order() {
    let mut pc = PortCounts::default();
    let mut want = std::collections::BTreeMap::new();
    for (port, n) in [
        (0u16, 1u64),
        (7, 3),
        (8, 300),
        (1000, 256),
        (1001, 0),
        (65528, 1),
        (65535, 2),
    ] {
        for _ in 0..n {
            pc.bump(port);
        }
        if n > 0 {
            want.insert(port, n);
        }
    }
    let got: Vec<(u16, u64)> = pc.iter().collect();
    assert_eq!(got, want.into_iter().collect::<Vec<_>>());
    assert_eq!(PortCounts::default().iter().count(), 0);
}
