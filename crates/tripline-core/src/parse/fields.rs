//! The kernel LOG body: everything from the log prefix on, as printed by
//! `nf_log_syslog` for iptables, ip6tables and nftables (`MAC=` or
//! `MACSRC=`/`MACDST=`), plus ulogd's identical LOGEMU text.
//!
//! One left-to-right pass over space-separated tokens in two phases: the
//! network phase (interfaces, MAC, IP header, IP options / IPv6 extension
//! groups) until `PROTO=`, then a per-protocol transport phase. ICMP error
//! quotes (`[SRC=... ]`) are skipped as a unit so their inner SRC/DST/PROTO
//! never reach the outer packet. Unknown tokens are ignored; known fields
//! with bad values are errors naming the field. No allocation.

use super::num::{dec_u16, dec_u32, dec_u8, hex0x_u32, hex0x_u8, hex_u32, ip};
use super::ParseError;
use super::ParseErrorKind;
use crate::packet::{Chain, Header, Icmp, IpFlags, Packet, Proto, Tcp, TcpFlags};
use memchr::{memchr, memmem};
use std::net::IpAddr;

/// Space-token cursor over the message.
struct Cur<'a> {
    s: &'a str,
    i: usize,
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Bytes of `w` equal to `c` get their high bit set; the lowest set bit is
/// exact (higher ones may be false positives, which we never look at).
#[inline]
fn eq_mask(w: u64, c: u8) -> u64 {
    let x = w ^ (LO * c as u64);
    x.wrapping_sub(LO) & !x & HI
}

/// The first index at or after `i` holding `c1` or `c2`, or `b.len()`;
/// eight bytes at a time (the tokens and values of a line are short, so
/// this beats a `memchr` call). The lowest bit of the two masks' union is
/// exact, as each mask's lowest bit is.
#[inline(always)]
pub(super) fn find2(b: &[u8], mut i: usize, c1: u8, c2: u8) -> usize {
    while i + 8 <= b.len() {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[i..i + 8]);
        let w = u64::from_le_bytes(a);
        let m = eq_mask(w, c1) | eq_mask(w, c2);
        if m != 0 {
            return i + m.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    while i < b.len() && b[i] != c1 && b[i] != c2 {
        i += 1;
    }
    i
}

impl<'a> Cur<'a> {
    /// Next token as (start, offset of its first `=` if any, end). Scans
    /// eight bytes at a time for the space and the `=` together: this loop
    /// is most of the parser's time.
    #[inline]
    fn next(&mut self) -> Option<(usize, Option<usize>, usize)> {
        let b = self.s.as_bytes();
        let mut i = self.i;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i >= b.len() {
            self.i = i;
            return None;
        }
        let mut j = i;
        let mut eq = None;
        while j + 8 <= b.len() {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[j..j + 8]);
            let w = u64::from_le_bytes(a);
            let sp = eq_mask(w, b' ');
            let sp_at = if sp == 0 {
                8
            } else {
                sp.trailing_zeros() as usize / 8
            };
            if eq.is_none() {
                let e = eq_mask(w, b'=');
                if e != 0 {
                    let k = e.trailing_zeros() as usize / 8;
                    if k < sp_at {
                        eq = Some(j + k - i);
                    }
                }
            }
            if sp_at < 8 {
                self.i = j + sp_at;
                return Some((i, eq, j + sp_at));
            }
            j += 8;
        }
        while j < b.len() && b[j] != b' ' {
            if b[j] == b'=' && eq.is_none() {
                eq = Some(j - i);
            }
            j += 1;
        }
        self.i = j;
        Some((i, eq, j))
    }

    /// Skip a `[...]` group starting at byte `open`, nesting aware; returns
    /// the inner text. An unterminated group runs to the end of the line.
    fn bracket(&mut self, open: usize) -> &'a str {
        let b = self.s.as_bytes();
        let mut depth = 0usize;
        let mut j = open;
        while j < b.len() {
            match b[j] {
                b'[' => depth += 1,
                b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.i = j + 1;
                        return &self.s[open + 1..j];
                    }
                }
                _ => {}
            }
            j += 1;
        }
        self.i = b.len();
        &self.s[(open + 1).min(b.len())..]
    }

    /// After `INCOMPLETE`: skip a following `[n bytes]`, if any.
    fn skip_incomplete_len(&mut self) {
        let b = self.s.as_bytes();
        let mut j = self.i;
        while j < b.len() && b[j] == b' ' {
            j += 1;
        }
        if b.get(j) == Some(&b'[') {
            if let Some(p) = memchr(b']', &b[j..]) {
                self.i = j + p + 1;
            }
        }
    }
}

#[inline]
fn num<T>(v: Option<T>, field: &'static str) -> Result<T, ParseError> {
    v.ok_or(ParseError::invalid(field))
}

/// Kernel `[ 8085.236687]` stamp at the start of `s`: (µs, rest).
#[inline]
fn uptime_stamp(s: &str) -> Option<(u64, &str)> {
    let b = s.as_bytes();
    if b.first() != Some(&b'[') {
        return None;
    }
    // The kernel's form, `[` spaces, 1-19 digits, `.`, 1-9 digits, spaces,
    // `]`, in one pass; the general reading below gives the same for it.
    let mut i = 1;
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    let st = i;
    let secs;
    (secs, i) = digit_run(b, i, 19);
    if i > st && b.get(i) == Some(&b'.') {
        i += 1;
        let fs = i;
        let mut us;
        (us, i) = digit_run(b, i, 9);
        let n = i - fs;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if n > 0 && b.get(i) == Some(&b']') {
            for _ in n..6 {
                us *= 10;
            }
            for _ in 6..n {
                us /= 10;
            }
            return Some((secs.checked_mul(1_000_000)?.checked_add(us)?, &s[i + 1..]));
        }
    }
    uptime_stamp_general(s)
}

/// The value of the run of at most `max` decimal digits at `b[i..]`, and
/// where it ends. Runs shorter than eight digits (most uptimes, every
/// fraction) are read eight bytes at once; longer ones digit by digit.
#[inline(always)]
fn digit_run(b: &[u8], i: usize, max: usize) -> (u64, usize) {
    if let Some((v, n)) = fast::digits8(b, i).filter(|&(_, n)| n < 8) {
        return (v, i + n);
    }
    let (mut v, mut j) = (0u64, i);
    while j < b.len() && j - i < max && b[j].is_ascii_digit() {
        v = v * 10 + (b[j] - b'0') as u64;
        j += 1;
    }
    (v, j)
}

/// [`uptime_stamp`] for any text: `[`, then up to the first `]` a decimal
/// seconds value and a 1-9 digit fraction, trimmed of spaces.
#[inline(never)]
fn uptime_stamp_general(s: &str) -> Option<(u64, &str)> {
    let b = s.as_bytes();
    let close = memchr(b']', b)?;
    let inner = s[1..close].trim_matches(' ').as_bytes();
    let dot = memchr(b'.', inner)?;
    let secs = super::num::dec_u64(&inner[..dot])?;
    let frac = &inner[dot + 1..];
    if frac.is_empty() || frac.len() > 9 {
        return None;
    }
    let mut us = super::num::dec_u64(frac)?;
    for _ in frac.len()..6 {
        us *= 10;
    }
    for _ in 6..frac.len() {
        us /= 10;
    }
    Some((
        secs.checked_mul(1_000_000)?.checked_add(us)?,
        &s[close + 1..],
    ))
}

/// Protocol named by `PROTO=`.
fn proto(v: &[u8]) -> Result<Proto, ParseError> {
    Ok(match v {
        b"TCP" => Proto::Tcp,
        b"UDP" => Proto::Udp,
        b"UDPLITE" => Proto::UdpLite,
        b"ICMP" => Proto::Icmp,
        b"ICMPv6" => Proto::Icmp6,
        b"AH" => Proto::Other(51),
        b"ESP" => Proto::Other(50),
        b"SCTP" => Proto::Other(132),
        b"GRE" => Proto::Other(47),
        b"IGMP" => Proto::Other(2),
        b"DCCP" => Proto::Other(33),
        b"" => return Err(ParseError::invalid("PROTO")),
        // A number means the logger did not know the protocol for this
        // family (IPv4 `PROTO=58`), so it is never mapped back to a name.
        _ => match dec_u8(v) {
            Some(n) => Proto::Other(n),
            None if v[0].is_ascii_digit() => return Err(ParseError::invalid("PROTO")),
            None => {
                return Err(ParseError {
                    field: "PROTO",
                    reason: ParseErrorKind::UnknownProtocol,
                })
            }
        },
    })
}

/// Parse the message body (prefix + LOG fields).
#[inline]
pub(crate) fn parse_body<'a>(
    msg: &'a str,
    header: Header<'a>,
    cache: Option<&mut NetCache>,
) -> Result<Option<Packet<'a>>, ParseError> {
    let b = msg.as_bytes();
    let Some(in_pos) = find_in(b) else {
        return Ok(None);
    };
    let (header, prefix) = lead(msg, header, in_pos);
    #[cfg(test)]
    let fast_on = !SLOW.with(|s| s.get());
    #[cfg(not(test))]
    let fast_on = true;
    if fast_on {
        if let Some(p) = fast::line(msg, in_pos, header, prefix, cache) {
            return Ok(Some(p));
        }
    }
    match parse_fields(msg, header, prefix, in_pos) {
        Ok(p) => Ok(Some(p)),
        // Only a line with `OUT=` after `IN=` is a firewall line; checking
        // that here keeps a second search off the happy path.
        Err(_) if memmem::find(&b[in_pos..], b"OUT=").is_none() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Offset of the first `IN=`. Scanning for `=` is faster than a substring
/// search: in a LOG line the first `=` is usually that of `IN=` itself.
#[inline]
fn find_in(b: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'=', b)
        .find(|&i| i >= 2 && &b[i - 2..i] == b"IN")
        .map(|i| i - 2)
}

/// The text before `IN=`: a kernel uptime stamp (into the header unless it
/// has one) and the trimmed log prefix.
#[inline]
fn lead<'a>(msg: &'a str, mut header: Header<'a>, in_pos: usize) -> (Header<'a>, &'a str) {
    let lead = msg[..in_pos].bytes().take_while(|&c| c == b' ').count();
    let mut prefix = &msg[lead..in_pos];
    if let Some((us, rest)) = uptime_stamp(prefix) {
        header.uptime_us = header.uptime_us.or(Some(us));
        prefix = rest;
    }
    (header, trim_blank(prefix))
}

/// `s` without leading and trailing spaces and tabs (bytewise: neither can
/// be part of a multi-byte character).
#[inline]
fn trim_blank(s: &str) -> &str {
    let b = s.as_bytes();
    let mut st = 0;
    let mut end = b.len();
    while st < end && (b[st] == b' ' || b[st] == b'\t') {
        st += 1;
    }
    while end > st && (b[end - 1] == b' ' || b[end - 1] == b'\t') {
        end -= 1;
    }
    &s[st..end]
}

/// The general parser, from `IN=` on.
#[inline(never)]
fn parse_fields<'a>(
    msg: &'a str,
    header: Header<'a>,
    prefix: &'a str,
    in_pos: usize,
) -> Result<Packet<'a>, ParseError> {
    let b = msg.as_bytes();
    let mut cur = Cur { s: msg, i: in_pos };
    let mut in_if = "";
    let mut out_if: Option<&str> = None;
    let (mut physin, mut physout, mut mac, mut mac_dst) = ("", "", "", "");
    let (mut src, mut dst): (Option<IpAddr>, Option<IpAddr>) = (None, None);
    let mut len: Option<u32> = None;
    let (mut tos, mut prec, mut ttl) = (0u8, 0u8, 0u8);
    let mut ip_id: Option<u32> = None;
    let mut flow_label: Option<u32> = None;
    let mut ip_flags = IpFlags::default();
    let mut frag: Option<u16> = None;
    let mut ip_options = "";
    let mut ipv6_opt_groups = 0u8;
    let mut proto_v: Option<Proto> = None;

    // Network phase.
    while let Some((s, eq, e)) = cur.next() {
        let tok = &b[s..e];
        if let Some(eq) = eq {
            let key = &tok[..eq];
            let vs = &msg[s + eq + 1..e];
            let v = vs.as_bytes();
            match key {
                b"IN" => in_if = vs,
                b"OUT" => out_if = Some(vs),
                b"PHYSIN" => physin = vs,
                b"PHYSOUT" => physout = vs,
                b"MAC" | b"MACSRC" => mac = vs,
                b"MACDST" => mac_dst = vs,
                b"SRC" => src = Some(num(ip(v), "SRC")?),
                b"DST" => dst = Some(num(ip(v), "DST")?),
                b"LEN" => len = Some(num(dec_u32(v), "LEN")?),
                b"TOS" => tos = num(hex0x_u8(v), "TOS")?,
                b"PREC" => prec = num(hex0x_u8(v), "PREC")?,
                b"TTL" => ttl = num(dec_u8(v), "TTL")?,
                b"ID" => ip_id = Some(num(dec_u32(v), "ID")?),
                b"TC" => tos = num(dec_u8(v), "TC")?,
                b"HOPLIMIT" => ttl = num(dec_u8(v), "HOPLIMIT")?,
                b"FLOWLBL" => flow_label = Some(num(dec_u32(v), "FLOWLBL")?),
                b"FRAG" => frag = Some(num(dec_u16(v), "FRAG")?),
                b"PROTO" => {
                    proto_v = Some(proto(v)?);
                    break;
                }
                _ => {}
            }
        } else {
            match tok {
                b"CE" => ip_flags.ce = true,
                b"DF" => ip_flags.df = true,
                b"MF" => ip_flags.mf = true,
                // IPv6 fragment header: INCOMPLETE here means "more fragments".
                b"INCOMPLETE" => ip_flags.mf = true,
                b"OPT" => {
                    let save = cur.i;
                    match cur.next() {
                        Some((s2, _, e2)) if &b[s2..e2] == b"(" => {
                            ipv6_opt_groups = ipv6_opt_groups.saturating_add(1);
                        }
                        Some((s2, _, _)) if b[s2] == b'(' => {
                            let close = memchr(b')', &b[s2..]).map_or(b.len(), |p| s2 + p);
                            ip_options = &msg[s2 + 1..close];
                            cur.i = (close + 1).min(b.len());
                        }
                        _ => cur.i = save,
                    }
                }
                _ if tok.starts_with(b"FRAG:") => {
                    frag = Some(num(dec_u16(&tok[5..]), "FRAG")?);
                }
                _ if tok.starts_with(b"ID:") => {
                    ip_id = Some(num(hex_u32(&tok[3..]), "ID")?);
                }
                _ => {}
            }
        }
    }

    let chain = match (in_if.is_empty(), out_if) {
        (_, None) => return Err(ParseError::missing("OUT")),
        (true, Some("")) => {
            return Err(ParseError {
                field: "IN",
                reason: ParseErrorKind::NoInterface,
            })
        }
        (false, Some("")) => Chain::Input,
        (false, Some(_)) => Chain::Forward,
        (true, Some(_)) => Chain::Output,
    };
    let out_if = out_if.unwrap_or("");
    let src = src.ok_or(ParseError::missing("SRC"))?;
    let dst = dst.ok_or(ParseError::missing("DST"))?;
    if src.is_ipv4() != dst.is_ipv4() {
        return Err(ParseError::invalid("DST"));
    }
    let proto = proto_v.ok_or(ParseError::missing("PROTO"))?;
    let len = len.ok_or(ParseError::missing("LEN"))?;
    if src.is_ipv6() {
        // ip6tables prints the fragment offset in bytes; keep 8-byte units.
        frag = frag.map(|f| f / 8);
    }

    // Transport phase.
    let mut sport: Option<u16> = None;
    let mut dport: Option<u16> = None;
    let mut udp_len: Option<u32> = None;
    let mut incomplete = false;
    let (mut uid, mut gid, mut mark) = (None, None, None);
    let mut tcp = Tcp::default();
    let mut window: Option<u16> = None;
    let mut icmp = Icmp::default();
    let mut icmp_type: Option<u8> = None;
    let mut icmp_code: Option<u8> = None;
    let is_tcp = proto == Proto::Tcp;
    let is_icmp = matches!(proto, Proto::Icmp | Proto::Icmp6);

    while let Some((s, eq, e)) = cur.next() {
        let tok = &b[s..e];
        if tok[0] == b'[' {
            if is_icmp {
                icmp.embedded = cur.bracket(s).trim_matches(' ');
            } else {
                cur.bracket(s);
            }
            continue;
        }
        if let Some(eq) = eq {
            let key = &tok[..eq];
            let vs = &msg[s + eq + 1..e];
            let v = vs.as_bytes();
            match key {
                b"SPT" => sport = Some(num(dec_u16(v), "SPT")?),
                b"DPT" => dport = Some(num(dec_u16(v), "DPT")?),
                b"UID" => uid = Some(num(dec_u32(v), "UID")?),
                b"GID" => gid = Some(num(dec_u32(v), "GID")?),
                b"MARK" => mark = Some(num(hex0x_u32(v), "MARK")?),
                _ if is_tcp => match key {
                    b"SEQ" => tcp.seq = Some(num(dec_u32(v), "SEQ")?),
                    b"ACK" => tcp.ack = Some(num(dec_u32(v), "ACK")?),
                    b"WINDOW" => window = Some(num(dec_u16(v), "WINDOW")?),
                    b"RES" => tcp.res = num(hex0x_u8(v), "RES")?,
                    b"URGP" => tcp.urgp = num(dec_u16(v), "URGP")?,
                    _ => {}
                },
                _ if is_icmp => match key {
                    b"TYPE" => icmp_type = Some(num(dec_u8(v), "TYPE")?),
                    b"CODE" => icmp_code = Some(num(dec_u8(v), "CODE")?),
                    b"ID" => icmp.id = Some(num(dec_u16(v), "ID")?),
                    b"SEQ" => icmp.seq = Some(num(dec_u16(v), "SEQ")?),
                    b"MTU" => icmp.mtu = Some(num(dec_u32(v), "MTU")?),
                    b"PARAMETER" => icmp.parameter = Some(num(dec_u32(v), "PARAMETER")?),
                    b"POINTER" => icmp.parameter = Some(num(hex_u32(v), "POINTER")?),
                    b"GATEWAY" => icmp.gateway = vs,
                    _ => {}
                },
                b"LEN" if matches!(proto, Proto::Udp | Proto::UdpLite) => {
                    udp_len = Some(num(dec_u32(v), "LEN")?)
                }
                _ => {}
            }
        } else if tok == b"INCOMPLETE" {
            incomplete = true;
            cur.skip_incomplete_len();
        } else if is_tcp {
            match tok {
                b"CWR" => tcp.flags.0 |= TcpFlags::CWR,
                b"ECE" => tcp.flags.0 |= TcpFlags::ECE,
                b"URG" => tcp.flags.0 |= TcpFlags::URG,
                b"ACK" => tcp.flags.0 |= TcpFlags::ACK,
                b"PSH" => tcp.flags.0 |= TcpFlags::PSH,
                b"RST" => tcp.flags.0 |= TcpFlags::RST,
                b"SYN" => tcp.flags.0 |= TcpFlags::SYN,
                b"FIN" => tcp.flags.0 |= TcpFlags::FIN,
                b"OPT" => {
                    let save = cur.i;
                    match cur.next() {
                        Some((s2, _, _)) if b[s2] == b'(' => {
                            let close = memchr(b')', &b[s2..]).map_or(b.len(), |p| s2 + p);
                            tcp.options = &msg[s2 + 1..close];
                            cur.i = (close + 1).min(b.len());
                        }
                        _ => cur.i = save,
                    }
                }
                _ => {}
            }
        }
    }

    // The kernel prints no transport header for non-first fragments or when
    // the header is cut short (INCOMPLETE); both are valid packets.
    let headerless = incomplete || frag.unwrap_or(0) != 0;
    let mut tcp_out = None;
    let mut icmp_out = None;
    match proto {
        Proto::Tcp | Proto::Udp | Proto::UdpLite if !headerless => {
            dport.ok_or(ParseError::missing("DPT"))?;
            sport.ok_or(ParseError::missing("SPT"))?;
            if is_tcp {
                tcp.window = window.ok_or(ParseError::missing("WINDOW"))?;
                tcp_out = Some(tcp);
            }
        }
        Proto::Tcp if window.is_some() => {
            tcp.window = window.unwrap_or(0);
            tcp_out = Some(tcp);
        }
        Proto::Icmp | Proto::Icmp6 => match icmp_type {
            Some(t) => {
                icmp.kind = t;
                icmp.code = icmp_code.ok_or(ParseError::missing("CODE"))?;
                icmp_out = Some(icmp);
            }
            None if !headerless => return Err(ParseError::missing("TYPE")),
            None => {}
        },
        _ => {}
    }

    Ok(Packet {
        header,
        prefix,
        in_if,
        out_if,
        physin,
        physout,
        mac,
        mac_dst,
        chain,
        src,
        dst,
        len,
        tos,
        prec,
        ttl,
        ip_id,
        flow_label,
        ip_flags,
        frag,
        ip_options,
        ipv6_opt_groups,
        proto,
        sport,
        dport,
        tcp: tcp_out,
        udp_len,
        icmp: icmp_out,
        incomplete,
        uid,
        gid,
        mark,
    })
}

mod fast;
pub(crate) use fast::NetCache;

/// Chain from the IN/OUT values (§1.2 step 3); `None` when both are empty.
fn chain_of(in_if: &str, out_if: &str) -> Option<Chain> {
    match (in_if.is_empty(), out_if.is_empty()) {
        (true, true) => None,
        (false, true) => Some(Chain::Input),
        (false, false) => Some(Chain::Forward),
        (true, false) => Some(Chain::Output),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse `msg` with and without the fast path: the results must be
    /// identical. Returns the protocol when the fast path took the line.
    fn agree(msg: &str) -> Option<Proto> {
        let header = Header {
            time: Some(crate::packet::Timestamp(7)),
            host: Some("h"),
            uptime_us: None,
        };
        let fast = parse_body(msg, header, None);
        SLOW.with(|s| s.set(true));
        let slow = parse_body(msg, header, None);
        SLOW.with(|s| s.set(false));
        assert_eq!(fast, slow, "{msg}");
        let in_pos = find_in(msg.as_bytes())?;
        let hit = fast::line(msg, in_pos, header, "", None).map(|p| p.proto);
        if hit.is_some() {
            assert!(matches!(fast, Ok(Some(_))), "{msg}");
        }
        hit
    }

    /// Parse `msg` right after `prev` with the network-field cache warmed
    /// by `prev`: the result must be that of the general parser.
    fn agree_after(prev: &str, msg: &str) {
        let header = Header {
            time: None,
            host: None,
            uptime_us: None,
        };
        let mut cache = NetCache::default();
        let _ = parse_body(prev, header, Some(&mut cache));
        let warm = parse_body(msg, header, Some(&mut cache));
        SLOW.with(|s| s.set(true));
        let slow = parse_body(msg, header, None);
        SLOW.with(|s| s.set(false));
        assert_eq!(warm, slow, "after {prev}\n{msg}");
    }

    /// The cache of the previous line's network fields, line after line
    /// over the sample, gives what the general parser gives.
    #[test]
    fn network_cache_agrees_in_sequence() {
        let sample = include_str!("../../test_data/parse/bench_sample.log");
        let mut cache = NetCache::default();
        let (mut lines, mut prev) = (0, "");
        for line in sample.lines() {
            let (header, msg) = super::super::header::split(line, &Default::default());
            let warm = parse_body(msg, header, Some(&mut cache));
            SLOW.with(|s| s.set(true));
            let slow = parse_body(msg, header, None);
            SLOW.with(|s| s.set(false));
            assert_eq!(warm, slow, "after {prev}\n{msg}");
            lines += usize::from(warm.is_ok_and(|p| p.is_some()));
            prev = msg;
        }
        assert!(lines > 1000, "{lines}");
    }

    /// The one-pass uptime stamp reads what the general reading reads.
    #[test]
    fn uptime_stamp_agrees() {
        for s in [
            "[ 8085.236687] X",
            "[8085.236687]X",
            "[   0.000001]",
            "[ 1.5 ] X",
            "[1.123456789]",
            "[1.1234567890]",
            "[1.]",
            "[.5]",
            "[ 1 .5]",
            "[1.5",
            "[1.5]]",
            "[x1.5]",
            "[99999999999999999.5]",
            "[9999999999999999999.5]",
            "[18446744073709.551615]",
            "[18446744073709.551616]",
            "[18446744073709551615.5]",
            "[99999999999999999999.5]",
            "[1.5 x]",
            "[ 1.5\t]",
            "[1.5]é",
            "[259693.286539] IN=eth0 OUT=",
            "[259693.286539]",
            "[1234567.1234567] IN=eth0",
            "[12345678.12345678] IN=eth0",
            "[123456789.123456789] IN=eth0",
            "[1234567.1234567890] IN=eth0",
            "[0000000.0000001] IN=eth0",
            "[1234567x.5] IN=eth0 OUT=",
            "[1.1234567] IN=eth0 OUT=",
            "[]",
            "[",
        ] {
            assert_eq!(uptime_stamp(s), uptime_stamp_general(s), "{s}");
        }
        for s in [" a\t ", "\t", "", "é ", " \u{a0}x\u{a0} "] {
            assert_eq!(
                trim_blank(s),
                s.trim_matches(|c| c == ' ' || c == '\t'),
                "{s:?}"
            );
        }
    }

    /// Numbers and addresses of every length around the eight-byte reads of
    /// the fast path (`digits8`): each field, each value, at the end of the
    /// line and before more text, must parse as the general parser parses it.
    #[test]
    fn fast_path_numbers_agree() {
        let values = [
            "",
            "0",
            "00",
            "007",
            "1",
            "25",
            "255",
            "256",
            "0255",
            "999",
            "1000",
            "65535",
            "65536",
            "065535",
            "99999",
            "100000",
            "1234567",
            "12345678",
            "123456789",
            "4294967295",
            "4294967296",
            "04294967295",
            "12345678901",
            "1a",
            "a1",
            "1.",
            "-1",
            "+1",
            "1 ",
            "9/",
            "0:",
        ];
        let fields = [
            "LEN", "TTL", "ID", "SPT", "DPT", "SEQ", "ACK", "WINDOW", "URGP", "UID",
        ];
        let line = |f: &str, v: &str, tail: &str| {
            let mut l = String::from(
                "IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=10.0.0.1 \
                 DST=10.0.0.2 LEN=44 TOS=0x00 PREC=0x00 TTL=52 ID=1 PROTO=TCP SPT=1 DPT=2 \
                 SEQ=3 ACK=4 WINDOW=5 RES=0x00 SYN URGP=0 UID=0 GID=0",
            );
            let key = format!(" {f}=");
            let at = l.find(&key).unwrap() + key.len();
            let end = l[at..].find(' ').map_or(l.len(), |e| at + e);
            l.replace_range(at..end, v);
            l + tail
        };
        let mut fast = 0;
        for f in fields {
            for v in values {
                for tail in ["", " ", " MARK=0x1"] {
                    fast += usize::from(agree(&line(f, v, tail)).is_some());
                }
            }
        }
        let octets = [
            "0", "1", "12", "123", "255", "256", "1234", "", "01", "1a", "001", "0255", "0001",
        ];
        for a in octets {
            for b in octets {
                for tail in ["", " "] {
                    let src = format!("{a}.{b}.{a}.{b}");
                    let l = line("LEN", "44", tail).replacen("10.0.0.1", &src, 1);
                    fast += usize::from(agree(&l).is_some());
                    let l = line("LEN", "44", tail).replacen("10.0.0.2", &src, 1);
                    fast += usize::from(agree(&l).is_some());
                }
            }
        }
        assert!(fast > 300, "the fast path took only {fast} lines");
    }

    /// The fast path must give exactly what the general parser gives.
    #[test]
    fn fast_path_agrees() {
        let sample = include_str!("../../test_data/parse/bench_sample.log");
        let mut hits = std::collections::BTreeMap::new();
        let mut lines = 0;
        for line in sample.lines() {
            let (_, msg) = super::super::header::split(line, &Default::default());
            lines += 1;
            if let Some(proto) = agree(msg) {
                *hits.entry(proto.to_string()).or_insert(0) += 1;
            }
        }
        let total: usize = hits.values().sum();
        assert!(
            total * 100 > lines * 95,
            "fast path used for {hits:?} of {lines}"
        );
        for proto in ["tcp", "udp", "icmp", "icmp6"] {
            assert!(
                hits.get(proto).copied().unwrap_or(0) >= 10,
                "{proto}: {hits:?}"
            );
        }
    }

    /// Edge cases around the fast path's shortcuts: each must parse exactly
    /// as the general parser parses it (accepted or not).
    #[test]
    fn fast_path_edges() {
        let m = "IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 ";
        let v4 = "SRC=10.0.0.1 DST=10.0.0.2 LEN=44 TOS=0x00 PREC=0x00 TTL=52 ID=1 ";
        let v6 = "SRC=2001:0db8:0100:0000:0000:0000:0000:0013 DST=2001:db8::1 \
                  LEN=64 TC=0 HOPLIMIT=255 FLOWLBL=0 ";
        let tcp = "PROTO=TCP SPT=1 DPT=2 WINDOW=1024 RES=0x00 SYN URGP=0 ";
        let cases = [
            format!("{m}{v4}{tcp}"),
            format!("{m}{v4}{tcp}OPT (0204))"),
            format!("{m}{v4}{tcp}OPT ()"),
            format!("{m}{v4}{tcp}OPT (02 04)"),
            format!("{m}{v4}{tcp}OPT ( )"),
            format!("{m}{v4}{tcp}OPT (0204) UID=0 GID=0 MARK=0x1f"),
            format!("{m}{v4}{tcp}UID=0 MARK=0x1f"),
            format!("{m}{v4}{tcp}MARK=0X1f"),
            format!("{m}{v4}{tcp}  "),
            format!("{m}{v4}{tcp} X"),
            format!("{m}SRC=10.0.0.1 DST=10.0.0.2 LEN=44 TOS=0x00 PREC=0x00 TTL=0064 ID=1 {tcp}"),
            format!("{m}SRC=10.0.0.1 DST=10.0.0.2 LEN=44 TOS=0x00 PREC=0x00 TTL=256 ID=1 {tcp}"),
            format!("{m}SRC=10.0.0.1 DST=10.0.0.2 LEN=44 TOS=0x000000100 PREC=0x00 TTL=1 ID=1 {tcp}"),
            format!("{m}SRC=10.0.0.1 DST=10.0.0.2 LEN=44 TOS=0x0f PREC=0X00 TTL=1 ID=1 {tcp}"),
            format!("{m}SRC=10.0.0.1 DST=10.0.0.2 LEN=04294967295 TOS=0x00 PREC=0x00 TTL=1 ID=1 {tcp}"),
            format!("{m}SRC=10.0.0.1 DST=10.0.0.2 LEN=4294967296 TOS=0x00 PREC=0x00 TTL=1 ID=1 {tcp}"),
            format!("{m}SRC=10.0.0.1 DST=10.0.0.2 LEN= TOS=0x00 PREC=0x00 TTL=1 ID=1 {tcp}"),
            format!("{m}SRC=10.0.0.1 DST=2001:db8::1 LEN=44 TOS=0x00 PREC=0x00 TTL=1 ID=1 {tcp}"),
            format!("{m}SRC=10.0.0.1. DST=10.0.0.2 {v4}{tcp}"),
            format!("{m}SRC=010.0.0.1 DST=10.0.0.2 LEN=1 TOS=0x00 PREC=0x00 TTL=1 ID=1 {tcp}"),
            format!("{m}SRC=0010.0.0.1 DST=10.0.0.2 LEN=1 TOS=0x00 PREC=0x00 TTL=1 ID=1 {tcp}"),
            format!("{m}SRC=1:2::3 DST=::1 LEN=1 TC=0 HOPLIMIT=1 FLOWLBL=0 {tcp}"),
            format!("{m}SRC=::ffff:1.2.3.4 DST=::1 LEN=1 TC=0 HOPLIMIT=1 FLOWLBL=0 {tcp}"),
            format!("{m}{v4}CE DF MF {tcp}"),
            format!("{m}{v4}DF CE {tcp}"),
            format!("{m}{v4}DF FRAG:0 {tcp}"),
            format!("{m}{v4}PROTO=TCP SPT=1 DPT=065535 WINDOW=1 RES=0x00 URGP=0 "),
            format!("{m}{v4}PROTO=TCP SPT=1 DPT=65536 WINDOW=1 RES=0x00 URGP=0 "),
            format!("{m}{v4}PROTO=TCP SPT=1 DPT=2 SEQ=1 ACK=2 WINDOW=1 RES=0x00 ACK PSH URGP=0 "),
            format!("{m}{v4}PROTO=TCP SPT=1 DPT=2 WINDOW=1 RES=0x00 CWR ECE URG ACK PSH RST SYN FIN URGP=0 "),
            format!("{m}{v4}PROTO=TCP SPT=1 DPT=2 WINDOW=1 RES=0x00 SYN SYN URGP=0 "),
            format!("{m}{v4}PROTO=TCP SPT=1 DPT=2 WINDOW=1 RES=0x00 FIN SYN URGP=0 "),
            format!("{m}{v4}PROTO=UDP SPT=53 DPT=53 LEN=20 "),
            format!("{m}{v4}PROTO=UDPLITE SPT=53 DPT=53 LEN=20"),
            format!("{m}{v4}PROTO=UDP SPT=53 DPT=53 "),
            format!("{m}{v4}PROTO=ICMP TYPE=8 CODE=0 ID=1 SEQ=2 "),
            format!("{m}{v4}PROTO=ICMP TYPE=8 CODE=0 SEQ=2 ID=1 ID=3 "),
            format!("{m}{v4}PROTO=ICMP TYPE=8 "),
            format!("{m}{v4}PROTO=ICMP TYPE=3 CODE=4 MTU=1400 [SRC=1.1.1.1 DST=2.2.2.2 LEN=1 PROTO=TCP SPT=1 DPT=2 ] "),
            format!("{m}{v4}PROTO=ICMP TYPE=3 CODE=3 [SRC=1.1.1.1 [x] ] [y] "),
            format!("{m}{v4}PROTO=ICMP TYPE=3 CODE=3 [SRC=1.1.1.1 "),
            format!("{m}{v4}PROTO=ICMP TYPE=3 CODE=3 [SRC=1.1.1.1]X=1 "),
            format!("{m}{v4}PROTO=ICMP TYPE=5 CODE=1 GATEWAY=10.0.0.9 [ a ] UID=1 GID=2 "),
            format!("{m}{v4}PROTO=ICMP TYPE=12 CODE=0 PARAMETER=20 POINTER=14 "),
            format!("{m}{v6}PROTO=ICMPv6 TYPE=128 CODE=0 ID=1 SEQ=2 "),
            format!("{m}{v6}PROTO=ICMPv6 TYPE=2 CODE=0 MTU=1280 [SRC=::1 DST=::2 ] "),
            format!("{m}{v6}{tcp}"),
            format!("{m}{v6}PROTO=UDP SPT=1 DPT=2 LEN=8 "),
            format!("{m}{v6}OPT ( ) PROTO=UDP SPT=1 DPT=2 LEN=8 "),
            format!("{m}SRC=::1 DST=::2 LEN=1 TC=256 HOPLIMIT=1 FLOWLBL=0 {tcp}"),
            format!("{m}{v4}PROTO=47 "),
            format!("{m}{v4}PROTO=TCP SPT=1 DPT=2 SPT=3 WINDOW=1 RES=0x00 URGP=0 "),
            format!("IN= OUT= {v4}{tcp}"),
            format!("IN= OUT=eth1 {v4}{tcp}"),
            format!("IN=eth0 OUT=eth1 PHYSIN=a PHYSOUT=b {v4}{tcp}"),
            format!("IN=eth0 OUT= MACSRC=00:11:22:33:44:55 MACDST=00:11:22:33:44:66 MACPROTO=0800 {v4}{tcp}"),
            format!("IN=eth0 OUT= MACSRC=00:11:22:33:44:55 MACPROTO=0800 {v4}{tcp}"),
            format!("IN=eth0  OUT= {v4}{tcp}"),
            format!("IN=eth0 OUT= MAC= {v4}{tcp}"),
            format!("IN=eth0 OUT= MAC=a=b {v4}{tcp}"),
            format!("IN=eth0 OUT= {v4}PROTO=TCP INCOMPLETE [8 bytes] "),
        ];
        let mut hits = 0;
        for c in &cases {
            hits += agree(c).is_some() as usize;
        }
        assert!(hits > 20, "{hits}");
    }

    /// Mutations of real lines (a byte deleted, doubled or replaced): the
    /// fast path must still agree with the general parser on every one.
    #[test]
    fn fast_path_agrees_on_mutations() {
        let sample = include_str!("../../test_data/parse/bench_sample.log");
        let mut seen = std::collections::HashSet::new();
        for line in sample.lines() {
            let (_, msg) = super::super::header::split(line, &Default::default());
            let Some(in_pos) = find_in(msg.as_bytes()) else {
                continue;
            };
            // One line per distinct shape (the words before their values).
            let shape: String = msg[in_pos..]
                .split(' ')
                .map(|w| w.split_once('=').map_or(w, |(k, _)| k))
                .collect();
            if !seen.insert(shape) {
                continue;
            }
            let b = msg.as_bytes();
            for k in in_pos..b.len() {
                let mut muts: Vec<Vec<u8>> = Vec::new();
                muts.push([&b[..k], &b[k + 1..]].concat());
                muts.push([&b[..=k], &b[k..]].concat());
                for r in [
                    b' ', b'0', b'9', b')', b'[', b']', b'=', b':', b'.', b'x', b'A',
                ] {
                    let mut v = b.to_vec();
                    v[k] = r;
                    muts.push(v);
                }
                for v in muts {
                    if let Ok(s) = std::str::from_utf8(&v) {
                        agree(s);
                        // The line, then its mutation, reuse what the first left.
                        agree_after(msg, s);
                    }
                }
            }
        }
        assert!(seen.len() > 10, "{}", seen.len());
    }
}

#[cfg(test)]
thread_local! {
    /// Test-only switch that turns the fast path off.
    static SLOW: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}
