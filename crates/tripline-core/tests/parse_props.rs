//! Property tests for the line parser: it never panics on arbitrary text or
//! on mutations of real corpus lines, parsing is deterministic, and a parsed
//! line re-rendered in another header format parses to the same body.

use proptest::prelude::*;
use tripline_core::packet::Header;
use tripline_core::parse::{dump_packet, parse_line, psad_compat_check, JournalExport};
use tripline_core::{ParseOptions, Timestamp};

const SAMPLE: &str = include_str!("../test_data/parse/bench_sample.log");

fn real_lines() -> Vec<&'static str> {
    SAMPLE.lines().step_by(7).collect()
}

fn opts() -> ParseOptions {
    ParseOptions {
        now: Timestamp::from_secs(1_795_305_600),
        utc_offset_secs: 0,
    }
}

fn exercise(line: &str) {
    let o = opts();
    let a = parse_line(line, &o);
    assert_eq!(a, parse_line(line, &o));
    if let Ok(Some(p)) = a {
        let _ = dump_packet(&p);
        let _ = psad_compat_check(line, &p);
    }
}

/// Bytes the LOG format is made of, so mutations hit parser branches.
const ALPHABET: &[u8] =
    b" =[]():.,;-0123456789abcdefxINOUTSRCDSTPROTOTCPUDPICMPv6SPTDPTOPTFRAGkernel\\\"{}<>";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        exercise(&s);
        let mut d = JournalExport::new();
        for l in s.split('\n') {
            let _ = d.push_line(l);
        }
    }

    #[test]
    fn firewall_shaped_text_never_panics(parts in proptest::collection::vec(
        prop_oneof![
            Just("IN=eth0 "), Just("OUT= "), Just("SRC=1.2.3.4 "), Just("DST=2001:db8::1 "),
            Just("PROTO=TCP "), Just("PROTO=ICMP "), Just("PROTO=ICMPv6 "), Just("[SRC="), Just("] "),
            Just("OPT ( "), Just(") "), Just("OPT (0102) "), Just("INCOMPLETE [8 bytes] "),
            Just("FRAG:3 "), Just("TYPE=3 "), Just("CODE=1 "), Just("SPT=1 "), Just("DPT=2 "),
            Just("WINDOW=5 "), Just("SYN "), Just("[ 1.5] "), Just("kernel: "), Just("<4>1 "),
            Just("Nov 21 23:20:40 h k: "), Just("4,1,2,-;"), Just("{\"MESSAGE\":\""), Just("\"}"),
        ],
        0..40,
    )) {
        exercise(&parts.concat());
    }

    #[test]
    fn mutated_real_lines_never_panic(
        idx in 0usize..1000,
        edits in proptest::collection::vec((0usize..400, 0usize..ALPHABET.len(), 0u8..3), 1..8),
    ) {
        let lines = real_lines();
        let mut b = lines[idx % lines.len()].as_bytes().to_vec();
        for (pos, ch, op) in edits {
            let pos = pos % (b.len() + 1);
            match op {
                0 => b.insert(pos, ALPHABET[ch]),
                1 if pos < b.len() => { b.remove(pos); }
                _ if pos < b.len() => b[pos] = ALPHABET[ch],
                _ => {}
            }
        }
        exercise(&String::from_utf8_lossy(&b));
    }

    #[test]
    fn truncated_real_lines_never_panic(idx in 0usize..1000, cut in 0usize..400) {
        let lines = real_lines();
        let l = lines[idx % lines.len()];
        let mut cut = cut.min(l.len());
        while !l.is_char_boundary(cut) {
            cut -= 1;
        }
        exercise(&l[..cut]);
    }

    /// Round trip: the message of a parsed syslog line, re-framed as dmesg,
    /// kmsg and RFC 5424, parses to the same packet body.
    #[test]
    fn reframed_lines_parse_the_same(idx in 0usize..1000) {
        let lines = real_lines();
        let l = lines[idx % lines.len()];
        let o = opts();
        let p = parse_line(l, &o).unwrap().unwrap();
        let msg = l.split_once("kernel: ").unwrap().1;
        let bare = msg.split_once("] ").unwrap().1;
        let body = |q: &tripline_core::Packet<'_>| {
            let mut q = *q;
            q.header = Header::default();
            dump_packet(&q)
        };
        for framed in [
            msg.to_string(),
            format!("6,99,{},-;{bare}", p.header.uptime_us.unwrap()),
            format!("<4>1 2026-11-21T23:20:40Z fw1 kernel - - - {bare}"),
            format!("<4>{l}"),
        ] {
            let q = parse_line(&framed, &o).unwrap().unwrap();
            prop_assert_eq!(body(&q), body(&p));
        }
    }
}
