//! Fast path for the common line shapes: the kernel's exact field order for
//! IPv4 and IPv6 with TCP, UDP, UDP-Lite, ICMP or ICMPv6 (iptables `MAC=`,
//! nftables `MACSRC=`/`MACDST=`/`MACPROTO=`, or no MAC at all). One forward
//! pass: each expected key is one prefix compare and its value is parsed in
//! the same pass, words are found eight bytes at a time. Any surprise
//! (another order, doubled spaces, fragments, IP options, IPv6 extension
//! headers, an unknown token, a value the general parser would reject)
//! returns `None` and the general token parser starts over, so this only
//! ever changes speed (the `fast_path_agrees` test checks that on real and
//! edge-case lines).

use super::{chain_of, find2, Header, IpFlags, Packet, Proto, Tcp, TcpFlags};
use crate::packet::Icmp;
use std::net::{IpAddr, Ipv4Addr};

/// The run of decimal digits at `b[i..]` read eight bytes at once, without
/// a branch per digit (values have random lengths, and a mispredicted loop
/// exit per field was a large part of the parse): (value, digit count).
/// Only the first eight bytes are looked at: a count of 8 means "8 or more"
/// and its value is that of the first eight. `None` when fewer than eight
/// bytes remain.
#[inline(always)]
pub(super) fn digits8(b: &[u8], i: usize) -> Option<(u64, usize)> {
    let w = b.get(i..i + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(w);
    let x = u64::from_le_bytes(a).wrapping_sub(0x3030_3030_3030_3030);
    // High bit of each byte that is not a digit; the lowest one is exact
    // (borrows and carries only move upwards, past digits).
    let nd = (x | x.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080;
    let n = (nd.trailing_zeros() / 8) as usize;
    if n == 0 {
        return Some((0, 0));
    }
    // Digits to the high end (leading zeros below), then pairs, quads and
    // the octet are combined by multiplication.
    let mut v = x << (64 - 8 * n);
    v = (v.wrapping_mul(10 << 8 | 1) >> 8) & 0x00ff_00ff_00ff_00ff;
    v = (v.wrapping_mul(100 << 16 | 1) >> 16) & 0x0000_ffff_0000_ffff;
    v = v.wrapping_mul(10000 << 32 | 1) >> 32;
    Some((v, n))
}

/// A forward cursor over the message.
struct Seq<'a> {
    s: &'a str,
    i: usize,
}

/// Value of a hex digit, or 16 and more for anything else.
#[inline(always)]
fn hexval(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => (c - b'0') as u32,
        b'a'..=b'f' => (c - b'a' + 10) as u32,
        b'A'..=b'F' => (c - b'A' + 10) as u32,
        _ => 16,
    }
}

impl<'a> Seq<'a> {
    #[inline(always)]
    fn bytes(&self) -> &'a [u8] {
        self.s.as_bytes()
    }

    /// Consume the literal `k` if the text continues with it.
    #[inline(always)]
    fn lit(&mut self, k: &[u8]) -> bool {
        let hit = self.bytes()[self.i..].starts_with(k);
        if hit {
            self.i += k.len();
        }
        hit
    }

    /// Consume `k` or give up.
    #[inline(always)]
    fn key(&mut self, k: &[u8]) -> Option<()> {
        self.lit(k).then_some(())
    }

    /// A value ends at a space (consumed) or at the end of the line.
    #[inline(always)]
    fn end_value(&mut self, i: usize) -> Option<()> {
        match self.bytes().get(i) {
            None => self.i = i,
            Some(b' ') => self.i = i + 1,
            Some(_) => return None,
        }
        Some(())
    }

    /// Up to the next space, consuming that space. Eight bytes at a time:
    /// MAC addresses are 17 to 41 bytes long.
    #[inline(always)]
    fn word(&mut self) -> &'a str {
        let b = self.bytes();
        let st = self.i;
        let end = find2(b, st, b' ', b' ');
        self.i = if end < b.len() { end + 1 } else { end };
        &self.s[st..end]
    }

    /// A decimal value of at most `digits` digits (the general parser's
    /// length limit for the type) and at most `max`.
    #[inline(always)]
    fn dec(&mut self, digits: usize, max: u64) -> Option<u64> {
        let b = self.bytes();
        let st = self.i;
        if let Some((v, n)) = digits8(b, st) {
            if n < 8 {
                if n == 0 || n > digits || v > max {
                    return None;
                }
                self.end_value(st + n)?;
                return Some(v);
            }
        }
        let mut i = st;
        let mut v: u64 = 0;
        while i < b.len() && i - st < digits {
            let d = b[i].wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v * 10 + d as u64;
            i += 1;
        }
        if i == st || v > max {
            return None;
        }
        self.end_value(i)?;
        Some(v)
    }

    #[inline(always)]
    fn u8(&mut self) -> Option<u8> {
        self.dec(3, u8::MAX as u64).map(|v| v as u8)
    }

    #[inline(always)]
    fn u16(&mut self) -> Option<u16> {
        self.dec(5, u16::MAX as u64).map(|v| v as u16)
    }

    #[inline(always)]
    fn u32(&mut self) -> Option<u32> {
        self.dec(10, u32::MAX as u64).map(|v| v as u32)
    }

    /// `0x` and at most eight hex digits, at most `max`.
    #[inline(always)]
    fn hex(&mut self, max: u32) -> Option<u32> {
        if !self.lit(b"0x") {
            return None;
        }
        let b = self.bytes();
        let st = self.i;
        // Two digits and a space: TOS, PREC and RES as the kernel prints them.
        if let Some(&[h, l, b' ']) = b.get(st..st + 3) {
            let (h, l) = (hexval(h), hexval(l));
            if h < 16 && l < 16 {
                let v = h << 4 | l;
                self.i = st + 3;
                return (v <= max).then_some(v);
            }
        }
        let mut i = st;
        let mut v: u32 = 0;
        while i < b.len() && i - st < 8 {
            let d = hexval(b[i]);
            if d > 15 {
                break;
            }
            v = (v << 4) | d;
            i += 1;
        }
        if i == st || v > max {
            return None;
        }
        self.end_value(i)?;
        Some(v)
    }

    /// Dotted quad, each octet one to three digits and at most 255.
    #[inline(always)]
    fn ipv4(&mut self) -> Option<Ipv4Addr> {
        let b = self.bytes();
        let mut i = self.i;
        let mut oct = [0u8; 4];
        for (n, o) in oct.iter_mut().enumerate() {
            let st = i;
            let mut v: u32 = 0;
            while i < b.len() && i - st < 3 {
                let d = b[i].wrapping_sub(b'0');
                if d > 9 {
                    break;
                }
                v = v * 10 + d as u32;
                i += 1;
            }
            if i == st || v > 255 {
                return None;
            }
            *o = v as u8;
            if n < 3 {
                if b.get(i) != Some(&b'.') {
                    return None;
                }
                i += 1;
            }
        }
        self.end_value(i)?;
        Some(Ipv4Addr::from(oct))
    }

    /// An address as the general parser reads it (`num::ip`): IPv6 when a
    /// `:` is among the first five bytes, else IPv4.
    #[inline(always)]
    fn addr(&mut self) -> Option<IpAddr> {
        let st = self.i;
        if let Some(a) = self.ipv4() {
            return Some(IpAddr::V4(a));
        }
        self.i = st;
        let w = self.word().as_bytes();
        if w.iter().take(5).any(|&c| c == b':') {
            crate::parse::num::ipv6(w).map(IpAddr::V6)
        } else {
            None
        }
    }

    /// A `[...]` group (nesting aware) at the cursor, followed by a space or
    /// the end: its inner text trimmed of spaces, as the general parser
    /// keeps it. `None` when unterminated.
    fn bracket(&mut self) -> Option<&'a str> {
        let b = self.bytes();
        let open = self.i;
        let mut depth = 0usize;
        let mut j = open;
        while j < b.len() {
            match b[j] {
                b'[' => depth += 1,
                b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.end_value(j + 1)?;
                        return Some(self.s[open + 1..j].trim_matches(' '));
                    }
                }
                _ => {}
            }
            j += 1;
        }
        None
    }

    fn at_end(&self) -> bool {
        self.bytes()[self.i..].iter().all(|&c| c == b' ')
    }
}

/// What follows `PROTO=`: the transport fields.
#[derive(Default)]
struct L4<'a> {
    sport: Option<u16>,
    dport: Option<u16>,
    tcp: Option<Tcp<'a>>,
    udp_len: Option<u32>,
    icmp: Option<Icmp<'a>>,
}

/// The network fields before `TTL=` (IPv4) or `HOPLIMIT=` (IPv6), with
/// the text they were read from. In a scan, line after line repeats that
/// text (interfaces, MAC, addresses, length, TOS): when the next line starts
/// with the same bytes the values are reused instead of parsed again. Every
/// decision of the parse up to there depends only on those bytes (each value
/// ends at a space inside them), so reuse never changes a result.
#[derive(Debug, Default, Clone)]
pub(crate) struct NetCache {
    text: Vec<u8>,
    net: Option<Net>,
}

/// A span of the message, relative to its `IN=`.
type Span = (u32, u32);

#[derive(Debug, Clone, Copy)]
struct Net {
    in_if: Span,
    out_if: Span,
    physin: Span,
    physout: Span,
    mac: Span,
    mac_dst: Span,
    chain: super::Chain,
    src: IpAddr,
    dst: IpAddr,
    len: u32,
    tos: u8,
    prec: u8,
}

impl NetCache {
    /// Reuse the remembered fields if `msg[in_pos..]` starts with their text.
    #[inline(always)]
    fn hit(&self, b: &[u8], in_pos: usize) -> Option<Net> {
        let net = self.net?;
        b[in_pos..].starts_with(&self.text).then_some(net)
    }

    fn keep(&mut self, b: &[u8], in_pos: usize, end: usize, net: Net) {
        self.text.clear();
        self.text.extend_from_slice(&b[in_pos..end]);
        self.net = Some(net);
    }
}

/// Parse the network fields up to `TTL=` / `HOPLIMIT=`.
#[inline(always)]
fn net(q: &mut Seq<'_>, in_pos: usize) -> Option<Net> {
    let span = |q: &Seq<'_>, w: &str| {
        let st = w.as_ptr() as usize - q.s.as_ptr() as usize - in_pos;
        (st as u32, w.len() as u32)
    };
    q.key(b"IN=")?;
    let in_if = q.word();
    q.key(b"OUT=")?;
    let out_if = q.word();
    let chain = chain_of(in_if, out_if)?;
    let (in_if, out_if) = (span(q, in_if), span(q, out_if));
    let (mut physin, mut physout) = ((0, 0), (0, 0));
    if q.lit(b"PHYSIN=") {
        let w = q.word();
        physin = span(q, w);
    }
    if q.lit(b"PHYSOUT=") {
        let w = q.word();
        physout = span(q, w);
    }
    let (mut mac, mut mac_dst) = ((0, 0), (0, 0));
    if q.lit(b"MAC=") {
        let w = q.word();
        mac = span(q, w);
    } else if q.lit(b"MACSRC=") {
        let w = q.word();
        mac = span(q, w);
        q.key(b"MACDST=")?;
        let w = q.word();
        mac_dst = span(q, w);
        q.key(b"MACPROTO=")?;
        q.word();
    }
    q.key(b"SRC=")?;
    let src = q.addr()?;
    q.key(b"DST=")?;
    let dst = q.addr()?;
    q.key(b"LEN=")?;
    let len = q.u32()?;
    let (tos, prec);
    match (src, dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => {
            q.key(b"TOS=")?;
            tos = q.hex(0xff)? as u8;
            q.key(b"PREC=")?;
            prec = q.hex(0xff)? as u8;
        }
        (IpAddr::V6(_), IpAddr::V6(_)) => {
            q.key(b"TC=")?;
            tos = q.u8()?;
            prec = 0;
        }
        _ => return None,
    }
    Some(Net {
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
    })
}

/// Parse `msg` from `in_pos` (its `IN=`) if it has one of the common shapes.
/// Inlined so the packet is built in the caller's return slot: a `Packet`
/// is ~400 bytes, and copying it was a tenth of the parse time.
#[inline(always)]
pub(super) fn line<'a>(
    msg: &'a str,
    in_pos: usize,
    header: Header<'a>,
    prefix: &'a str,
    cache: Option<&mut NetCache>,
) -> Option<Packet<'a>> {
    let b = msg.as_bytes();
    let mut q = Seq { s: msg, i: in_pos };
    let n = match cache {
        Some(c) => match c.hit(b, in_pos) {
            Some(n) => {
                q.i = in_pos + c.text.len();
                n
            }
            None => {
                let n = net(&mut q, in_pos)?;
                c.keep(b, in_pos, q.i, n);
                n
            }
        },
        None => net(&mut q, in_pos)?,
    };
    let text = |(st, len): Span| -> Option<&'a str> {
        if len == 0 {
            return Some("");
        }
        let st = in_pos + st as usize;
        msg.get(st..st + len as usize)
    };
    let (in_if, out_if) = (text(n.in_if)?, text(n.out_if)?);
    let (physin, physout) = (text(n.physin)?, text(n.physout)?);
    let (mac, mac_dst) = (text(n.mac)?, text(n.mac_dst)?);
    let (chain, src, dst, len, tos, prec) = (n.chain, n.src, n.dst, n.len, n.tos, n.prec);
    let (ttl, ip_id, flow_label, ip_flags);
    if src.is_ipv4() {
        q.key(b"TTL=")?;
        ttl = q.u8()?;
        q.key(b"ID=")?;
        ip_id = Some(q.u32()?);
        flow_label = None;
        ip_flags = IpFlags {
            ce: q.lit(b"CE "),
            df: q.lit(b"DF "),
            mf: q.lit(b"MF "),
        };
    } else {
        q.key(b"HOPLIMIT=")?;
        ttl = q.u8()?;
        q.key(b"FLOWLBL=")?;
        flow_label = Some(q.u32()?);
        ip_id = None;
        ip_flags = IpFlags::default();
    }
    q.key(b"PROTO=")?;
    let (proto, l4) = match q.word().as_bytes() {
        b"TCP" => (Proto::Tcp, tcp(&mut q)?),
        b"UDP" => (Proto::Udp, udp(&mut q)?),
        b"UDPLITE" => (Proto::UdpLite, udp(&mut q)?),
        b"ICMP" => (Proto::Icmp, icmp(&mut q)?),
        b"ICMPv6" => (Proto::Icmp6, icmp(&mut q)?),
        _ => return None,
    };
    let (mut uid, mut gid, mut mark) = (None, None, None);
    if q.lit(b"UID=") {
        uid = Some(q.u32()?);
        q.key(b"GID=")?;
        gid = Some(q.u32()?);
    }
    if q.lit(b"MARK=") {
        mark = Some(q.hex(u32::MAX)?);
    }
    if !q.at_end() {
        return None;
    }
    Some(Packet {
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
        frag: None,
        ip_options: "",
        ipv6_opt_groups: 0,
        proto,
        sport: l4.sport,
        dport: l4.dport,
        tcp: l4.tcp,
        udp_len: l4.udp_len,
        icmp: l4.icmp,
        incomplete: false,
        uid,
        gid,
        mark,
    })
}

/// `SPT= DPT= [SEQ= ACK=] WINDOW= RES= flags URGP= [OPT (..)]`.
#[inline(always)]
fn tcp<'a>(q: &mut Seq<'a>) -> Option<L4<'a>> {
    q.key(b"SPT=")?;
    let sport = Some(q.u16()?);
    q.key(b"DPT=")?;
    let dport = Some(q.u16()?);
    let mut tcp = Tcp::default();
    if q.lit(b"SEQ=") {
        tcp.seq = Some(q.u32()?);
        q.key(b"ACK=")?;
        tcp.ack = Some(q.u32()?);
    }
    q.key(b"WINDOW=")?;
    tcp.window = q.u16()?;
    q.key(b"RES=")?;
    tcp.res = q.hex(0xff)? as u8;
    // Flag words, read four bytes at a time (the name and its space). Any
    // order and repeats set the bits as the general parser does.
    while let Some(w) = q.bytes().get(q.i..q.i + 4) {
        let bit = match u32::from_le_bytes([w[0], w[1], w[2], w[3]]) {
            x if x == u32::from_le_bytes(*b"CWR ") => TcpFlags::CWR,
            x if x == u32::from_le_bytes(*b"ECE ") => TcpFlags::ECE,
            x if x == u32::from_le_bytes(*b"URG ") => TcpFlags::URG,
            x if x == u32::from_le_bytes(*b"ACK ") => TcpFlags::ACK,
            x if x == u32::from_le_bytes(*b"PSH ") => TcpFlags::PSH,
            x if x == u32::from_le_bytes(*b"RST ") => TcpFlags::RST,
            x if x == u32::from_le_bytes(*b"SYN ") => TcpFlags::SYN,
            x if x == u32::from_le_bytes(*b"FIN ") => TcpFlags::FIN,
            _ => break,
        };
        tcp.flags.0 |= bit;
        q.i += 4;
    }
    q.key(b"URGP=")?;
    tcp.urgp = q.u16()?;
    if q.lit(b"OPT (") {
        // The general parser ends the options at the first `)`.
        let w = q.word();
        let inner = w.strip_suffix(')')?;
        if inner.contains(')') {
            return None;
        }
        tcp.options = inner;
    }
    Some(L4 {
        sport,
        dport,
        tcp: Some(tcp),
        ..L4::default()
    })
}

/// `SPT= DPT= LEN=`.
#[inline(always)]
fn udp<'a>(q: &mut Seq<'a>) -> Option<L4<'a>> {
    q.key(b"SPT=")?;
    let sport = Some(q.u16()?);
    q.key(b"DPT=")?;
    let dport = Some(q.u16()?);
    q.key(b"LEN=")?;
    let udp_len = Some(q.u32()?);
    Some(L4 {
        sport,
        dport,
        udp_len,
        ..L4::default()
    })
}

/// `TYPE= CODE=`, then the per-type fields and the quoted packet of
/// errors. Later fields override earlier ones, as in the general parser.
#[inline]
fn icmp<'a>(q: &mut Seq<'a>) -> Option<L4<'a>> {
    let mut icmp = Icmp::default();
    q.key(b"TYPE=")?;
    icmp.kind = q.u8()?;
    q.key(b"CODE=")?;
    icmp.code = q.u8()?;
    loop {
        if q.lit(b"ID=") {
            icmp.id = Some(q.u16()?);
        } else if q.lit(b"SEQ=") {
            icmp.seq = Some(q.u16()?);
        } else if q.lit(b"MTU=") {
            icmp.mtu = Some(q.u32()?);
        } else if q.lit(b"PARAMETER=") {
            icmp.parameter = Some(q.u32()?);
        } else if q.lit(b"GATEWAY=") {
            icmp.gateway = q.word();
        } else if q.bytes().get(q.i) == Some(&b'[') {
            icmp.embedded = q.bracket()?;
        } else {
            break;
        }
    }
    Some(L4 {
        icmp: Some(icmp),
        ..L4::default()
    })
}
