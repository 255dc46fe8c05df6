//! Fuzz the NFLOG packet printer: no bytes may panic it; a packet that
//! prints gives one line (no newline, whatever the prefix) that the line
//! parser then reads without panicking either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_core::parse::nflog::{log_line, LogFlags, NflogPacket};
use tripline_core::parse::parse_line;
use tripline_core::{ParseOptions, Timestamp};

fuzz_target!(|data: &[u8]| {
    // First byte: flags and which optional parts are present; then a
    // prefix length, the prefix, and the packet.
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (plen, rest) = rest.split_first().map_or((0, rest), |(l, r)| (*l as usize % 32, r));
    let (prefix, payload) = rest.split_at(plen.min(rest.len()));
    let pkt = NflogPacket {
        prefix,
        indev: (sel & 1 != 0).then_some("wan0"),
        outdev: (sel & 2 != 0).then_some("dmz0"),
        hw_header: (sel & 4 != 0).then_some(&payload[..payload.len().min(14)]),
        payload,
        uid_gid: (sel & 8 != 0).then_some((0, 0)),
        mark: (sel & 16 != 0).then_some(7),
        ..NflogPacket::default()
    };
    let flags = LogFlags {
        tcp_sequence: sel & 32 != 0,
        tcp_options: sel & 64 != 0,
        ip_options: sel & 128 != 0,
    };
    let mut out = String::new();
    if log_line(Timestamp::from_secs(1_795_305_600), "fw", &pkt, flags, &mut out).is_ok() {
        assert!(!out.contains('\n') && !out.contains('\r'));
        let _ = parse_line(&out, &ParseOptions::default());
    } else {
        assert!(out.is_empty());
    }
});
