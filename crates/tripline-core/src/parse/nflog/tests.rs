//! The decoder against real kernel LOG lines: each line of the shipped dev
//! corpus slice is turned back into the packet bytes it describes, and
//! printing those bytes must give the kernel's line again, byte for byte.

use super::*;
use crate::packet::Packet;
use crate::parse::{parse_line, ParseOptions};
use proptest::prelude::*;
use std::net::IpAddr;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// The bytes of the packet a LOG line describes, `LEN` long (zero padding
/// where the line says nothing), or `None` for shapes this encoder skips.
fn encode(p: &Packet<'_>) -> Option<Vec<u8>> {
    let ip_opts = hex(p.ip_options);
    let mut l4 = Vec::new();
    if p.frag.unwrap_or(0) == 0 && !p.incomplete {
        if let Some(t) = p.tcp {
            let opts = hex(t.options);
            l4.extend_from_slice(&p.sport?.to_be_bytes());
            l4.extend_from_slice(&p.dport?.to_be_bytes());
            l4.extend_from_slice(&t.seq.unwrap_or(0).to_be_bytes());
            l4.extend_from_slice(&t.ack.unwrap_or(0).to_be_bytes());
            let doff = ((20 + opts.len()) / 4) as u8;
            l4.push(doff << 4 | (t.res >> 2));
            l4.push(t.flags.0);
            l4.extend_from_slice(&t.window.to_be_bytes());
            l4.extend_from_slice(&[0, 0]);
            l4.extend_from_slice(&t.urgp.to_be_bytes());
            l4.extend_from_slice(&opts);
        } else if let Some(len) = p.udp_len {
            l4.extend_from_slice(&p.sport?.to_be_bytes());
            l4.extend_from_slice(&p.dport?.to_be_bytes());
            l4.extend_from_slice(&(len as u16).to_be_bytes());
            l4.extend_from_slice(&[0, 0]);
        } else if let Some(i) = p.icmp {
            if !i.embedded.is_empty() {
                return None;
            }
            l4.extend_from_slice(&[i.kind, i.code, 0, 0]);
            l4.extend_from_slice(&i.id.unwrap_or(0).to_be_bytes());
            l4.extend_from_slice(&i.seq.unwrap_or(0).to_be_bytes());
        }
    }
    let mut b = Vec::new();
    match (p.src, p.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            b.push(0x40 | (5 + ip_opts.len() / 4) as u8);
            b.push(p.tos | p.prec);
            b.extend_from_slice(&(p.len as u16).to_be_bytes());
            b.extend_from_slice(&(p.ip_id? as u16).to_be_bytes());
            let f = &p.ip_flags;
            let bits = u16::from(f.ce) << 15 | u16::from(f.df) << 14 | u16::from(f.mf) << 13;
            b.extend_from_slice(&(bits | p.frag.unwrap_or(0)).to_be_bytes());
            b.push(p.ttl);
            b.push(p.proto.number());
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice(&s.octets());
            b.extend_from_slice(&d.octets());
            b.extend_from_slice(&ip_opts);
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            if p.ipv6_opt_groups > 0 {
                return None;
            }
            let word = 6 << 28 | u32::from(p.tos) << 20 | p.flow_label?;
            b.extend_from_slice(&word.to_be_bytes());
            b.extend_from_slice(&((p.len - 40) as u16).to_be_bytes());
            b.push(p.proto.number());
            b.push(p.ttl);
            b.extend_from_slice(&s.octets());
            b.extend_from_slice(&d.octets());
        }
        _ => return None,
    }
    b.extend_from_slice(&l4);
    b.resize(p.len as usize, 0);
    Some(b)
}

fn corpus() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/logs/dev-slice.log"
    );
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn every_corpus_line_is_printed_back_byte_for_byte() {
    let text = corpus();
    let (mut same, mut skipped) = (0, 0);
    for (n, line) in text.lines().enumerate() {
        let p = parse_line(line, &ParseOptions::default()).unwrap().unwrap();
        let Some(bytes) = encode(&p) else {
            skipped += 1;
            continue;
        };
        // The message after the kernel's `[uptime] ` stamp.
        let msg = &line[line.find("] ").unwrap() + 2..];
        let prefix = &msg[..msg.find("IN=").unwrap()];
        let mac = p.mac.split(':').filter(|h| !h.is_empty());
        let mac: Vec<u8> = mac.map(|h| u8::from_str_radix(h, 16).unwrap()).collect();
        let nft = msg.contains(" MACSRC=");
        let pkt = NflogPacket {
            prefix: prefix.as_bytes(),
            indev: Some(p.in_if).filter(|s| !s.is_empty()),
            outdev: Some(p.out_if).filter(|s| !s.is_empty()),
            hw_header: Some(&mac[..]).filter(|_| !nft),
            payload: &bytes,
            uid_gid: p.uid.zip(p.gid),
            mark: p.mark,
            ..NflogPacket::default()
        };
        let flags = LogFlags {
            tcp_sequence: p.tcp.is_some_and(|t| t.seq.is_some()),
            ..LogFlags::default()
        };
        let mut out = String::new();
        log_text(&pkt, flags, &mut out).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        let (want, got) = if nft {
            // nftables `flags all` decodes the MAC header: compare from SRC= on.
            (
                &msg[msg.find(" SRC=").unwrap()..],
                &out[out.find(" SRC=").unwrap()..],
            )
        } else {
            (msg, &out[..])
        };
        assert_eq!(got.trim_end(), want.trim_end(), "line {}", n + 1);
        same += 1;
    }
    // The slice has no ICMP errors; everything else must round-trip.
    assert_eq!(skipped, 0);
    assert!(same > 6000, "{same}");
}

#[test]
fn icmp_errors_quote_the_packet_once() {
    // Outer: ICMP type 3 code 3, quoting a 28-byte UDP probe.
    let mut b = vec![0x45, 0xc0, 0, 56, 0xab, 0xcd, 0, 0, 64, 1, 0, 0];
    b.extend_from_slice(&[198, 51, 100, 1, 198, 51, 100, 13]);
    b.extend_from_slice(&[3, 3, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&[0x45, 0, 0, 28, 0x2a, 0x1b, 0, 0, 52, 17, 0, 0]);
    b.extend_from_slice(&[198, 51, 100, 13, 198, 51, 100, 1]);
    b.extend_from_slice(&[0xd7, 0x5c, 0, 53, 0, 8, 0, 0]);
    let pkt = NflogPacket {
        outdev: Some("wan0"),
        payload: &b,
        ..NflogPacket::default()
    };
    let mut out = String::new();
    log_text(&pkt, LogFlags::default(), &mut out).unwrap();
    assert_eq!(
        out,
        "IN= OUT=wan0 SRC=198.51.100.1 DST=198.51.100.13 LEN=56 TOS=0x00 PREC=0xC0 TTL=64 ID=43981 \
         PROTO=ICMP TYPE=3 CODE=3 [SRC=198.51.100.13 DST=198.51.100.1 LEN=28 TOS=0x00 PREC=0x00 \
         TTL=52 ID=10779 PROTO=UDP SPT=55132 DPT=53 LEN=8 ] "
    );
    // What the kernel prints for what it parses: round trip through the parser.
    let line = format!("[ 1.000000] {out}");
    let p = parse_line(&line, &ParseOptions::default())
        .unwrap()
        .unwrap();
    assert_eq!(p.icmp.unwrap().kind, 3);
}

fn syn_v4() -> Vec<u8> {
    // 198.51.100.10 -> 198.51.100.1 SYN with MSS, as in the corpus.
    let mut b = vec![0x45, 0, 0, 44, 0xa7, 0x65, 0x40, 0, 52, 6, 0, 0];
    b.extend_from_slice(&[198, 51, 100, 10, 198, 51, 100, 1]);
    b.extend_from_slice(&[0xd6, 0xea, 0, 143, 0, 0, 0, 1, 0, 0, 0, 0]);
    b.extend_from_slice(&[0x60, 0x02, 4, 0, 0, 0, 0, 0, 2, 4, 5, 0xb4]);
    b
}

#[test]
fn a_copy_cut_inside_a_header_is_an_error_naming_it() {
    let b = syn_v4();
    let mut out = String::from("kept");
    for (cut, header) in [(10, "IPv4"), (30, "TCP"), (42, "TCP options")] {
        let pkt = NflogPacket {
            payload: &b[..cut],
            ..NflogPacket::default()
        };
        let err = log_text(&pkt, LogFlags::default(), &mut out).unwrap_err();
        assert!(
            matches!(err, NflogError::Truncated { header: h, .. } if h == header),
            "{err}"
        );
        assert_eq!(out, "kept");
    }
    let pkt = NflogPacket {
        payload: &[],
        ..NflogPacket::default()
    };
    assert_eq!(
        log_text(&pkt, LogFlags::default(), &mut out),
        Err(NflogError::NotIp(None))
    );
}

#[test]
fn mark_uid_flags_and_hostile_prefixes() {
    let mut b = syn_v4();
    b[33] = 0x10 | 0x01; // ACK FIN
    b[32] |= 0x0f; // three reserved bits and AE
    let pkt = NflogPacket {
        prefix: b"x\n\x1b[31m\xff ",
        outdev: Some("eth0"),
        payload: &b,
        uid_gid: Some((1000, 100)),
        mark: Some(0x2a),
        ..NflogPacket::default()
    };
    let flags = LogFlags {
        tcp_sequence: true,
        ..LogFlags::default()
    };
    let mut out = String::new();
    log_text(&pkt, flags, &mut out).unwrap();
    assert_eq!(
        out,
        "x\\x0a\\x1b[31m\\xff IN= OUT=eth0 SRC=198.51.100.10 DST=198.51.100.1 LEN=44 TOS=0x00 PREC=0x00 \
         TTL=52 ID=42853 DF PROTO=TCP SPT=55018 DPT=143 SEQ=1 ACK=0 WINDOW=1024 RES=0x38 AE ACK FIN URGP=0 \
         OPT (020405B4) UID=1000 GID=100 MARK=0x2a "
    );
}

#[test]
fn ipv6_extension_headers_and_icmpv6_errors() {
    let a = |last: u8| {
        let mut v = vec![
            0x20, 0x01, 0x0d, 0xb8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        v[15] = last;
        v
    };
    // A first fragment (offset 0, more to come) of a UDP datagram.
    let mut b = vec![0x60, 0x00, 0x00, 0x05, 0, 24, 44, 64];
    b.extend(a(0x13));
    b.extend(a(0x01));
    b.extend_from_slice(&[17, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef]);
    b.extend_from_slice(&[0x30, 0x39, 0, 53, 0, 16, 0, 0]);
    b.resize(64, 0);
    let pkt = NflogPacket {
        indev: Some("wan0"),
        hw_header: Some(&[0x52, 0x54, 0, 0x1f, 0, 1]),
        payload: &b,
        ..NflogPacket::default()
    };
    let mut out = String::new();
    log_text(&pkt, LogFlags::default(), &mut out).unwrap();
    let src = "2001:0db8:0100:0000:0000:0000:0000:0013";
    let dst = "2001:0db8:0100:0000:0000:0000:0000:0001";
    assert_eq!(
        out,
        format!(
            "IN=wan0 OUT= MAC=52:54:00:1f:00:01 SRC={src} DST={dst} LEN=64 TC=0 HOPLIMIT=64 \
             FLOWLBL=5 OPT ( FRAG:0 INCOMPLETE ID:deadbeef ) PROTO=UDP SPT=12345 DPT=53 LEN=16 "
        )
    );
    // Packet too big from the firewall, quoting an echo request.
    let mut b = vec![0x60, 0, 0, 0, 0, 56, 58, 64];
    b.extend(a(0x01));
    b.extend(a(0x13));
    b.extend_from_slice(&[2, 0, 0, 0, 0, 0, 5, 0xdc]);
    b.extend_from_slice(&[0x60, 0, 0, 0, 0, 8, 58, 63]);
    b.extend(a(0x13));
    b.extend(a(0x01));
    b.extend_from_slice(&[128, 0, 0, 0, 0, 7, 0, 1]);
    let pkt = NflogPacket {
        outdev: Some("wan0"),
        payload: &b,
        ..NflogPacket::default()
    };
    let mut out = String::new();
    log_text(&pkt, LogFlags::default(), &mut out).unwrap();
    assert_eq!(
        out,
        format!(
            "IN= OUT=wan0 SRC={dst} DST={src} LEN=96 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 \
             TYPE=2 CODE=0 [SRC={src} DST={dst} LEN=48 TC=0 HOPLIMIT=63 FLOWLBL=0 PROTO=ICMPv6 \
             TYPE=128 CODE=0 ID=7 SEQ=1 ] MTU=1500 "
        )
    );
}

#[test]
fn the_whole_line_parses_with_its_time_and_host() {
    let b = syn_v4();
    let pkt = NflogPacket {
        prefix: b"NFLOG_DROP ",
        indev: Some("wan0"),
        payload: &b,
        ..NflogPacket::default()
    };
    let mut out = String::new();
    let t = Timestamp(1_763_767_240_281_720);
    log_line(t, "fw1", &pkt, LogFlags::default(), &mut out).unwrap();
    assert!(
        out.starts_with(
            "2025-11-21T23:20:40.281720+00:00 fw1 kernel: NFLOG_DROP IN=wan0 OUT= MAC= SRC="
        ),
        "{out}"
    );
    let p = parse_line(&out, &ParseOptions::default()).unwrap().unwrap();
    assert_eq!(p.header.time, Some(t));
    assert_eq!(p.header.host, Some("fw1"));
    assert_eq!(p.prefix, "NFLOG_DROP");
    assert_eq!(p.dport, Some(143));
    assert!(p.tcp_flags().has(crate::packet::TcpFlags::SYN));
}

proptest! {
    #[test]
    fn hostile_bytes_never_panic(mut b in proptest::collection::vec(any::<u8>(), 0..200), v6 in any::<bool>()) {
        if let Some(x) = b.first_mut() {
            *x = (*x & 0x0f) | if v6 { 0x60 } else { 0x40 };
        }
        let pkt = NflogPacket { indev: Some("x"), payload: &b, ..NflogPacket::default() };
        let mut out = String::new();
        let flags = LogFlags { tcp_sequence: true, tcp_options: true, ip_options: true };
        if log_text(&pkt, flags, &mut out).is_ok() {
            prop_assert!(!out.contains('\n'));
        }
    }

    #[test]
    fn every_cut_of_a_real_packet_is_text_or_an_error(cut in 0usize..44) {
        let b = syn_v4();
        let pkt = NflogPacket { payload: &b[..cut], ..NflogPacket::default() };
        let mut out = String::new();
        prop_assert!(log_text(&pkt, LogFlags::default(), &mut out).is_err());
        prop_assert!(out.is_empty());
    }
}
