//! NFLOG packets -> the text the kernel's `LOG` target would have written.
//!
//! An NFLOG message carries the raw network-layer bytes and a few facts about
//! the packet (prefix, interfaces, link-layer header, mark, socket owner);
//! [`log_text`] prints them the way `net/netfilter/nf_log_syslog.c` does
//! (`IN=.. OUT=.. MAC=.. SRC=.. ... PROTO=TCP SPT=..`), so the rest of the
//! pipeline treats an NFLOG packet exactly like a LOG line. [`log_line`]
//! adds an ISO 8601 syslog header the line parser accepts.
//!
//! The bytes come from the wire: every read is bounds-checked, nothing
//! panics. A header the kernel itself could not have read (beyond the IP
//! length) prints as the kernel prints it (`INCOMPLETE [n bytes]`,
//! `TRUNCATED`); a header cut off only by the NFLOG copy range is an error,
//! since its fields are unknown.

use crate::packet::Timestamp;
use std::fmt::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

/// One packet as NFLOG delivers it. Interface names are resolved by the caller.
#[derive(Debug, Clone, Copy, Default)]
pub struct NflogPacket<'a> {
    /// The rule's prefix (`--nflog-prefix`, nft `log prefix`), raw bytes.
    pub prefix: &'a [u8],
    /// Input interface, if any.
    pub indev: Option<&'a str>,
    /// Output interface, if any.
    pub outdev: Option<&'a str>,
    /// Bridge port the packet came in on (bridge netfilter), if any.
    pub physindev: Option<&'a str>,
    /// Bridge port it goes out on, if any.
    pub physoutdev: Option<&'a str>,
    /// The link-layer header (`NFULA_HWHEADER`), printed as `MAC=`.
    pub hw_header: Option<&'a [u8]>,
    /// The packet from its network header on (`NFULA_PAYLOAD`).
    pub payload: &'a [u8],
    /// Owner of the local socket (`NFULA_UID`, `NFULA_GID`).
    pub uid_gid: Option<(u32, u32)>,
    /// `NFULA_MARK`.
    pub mark: Option<u32>,
}

/// Which optional fields to print, like the LOG target's `--log-*` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogFlags {
    /// `SEQ=`/`ACK=` (`--log-tcp-sequence`).
    pub tcp_sequence: bool,
    /// TCP `OPT (...)` (`--log-tcp-options`).
    pub tcp_options: bool,
    /// IP options and IPv6 extension headers (`--log-ip-options`).
    pub ip_options: bool,
}

impl Default for LogFlags {
    /// TCP and IP options (what OS fingerprinting needs), no sequence numbers.
    fn default() -> Self {
        LogFlags {
            tcp_sequence: false,
            tcp_options: true,
            ip_options: true,
        }
    }
}

/// Why a packet could not be printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NflogError {
    /// The payload is not IPv4 or IPv6 (the version nibble, or `None` when empty).
    NotIp(Option<u8>),
    /// A header lies inside the packet but beyond the bytes copied to us:
    /// raise the NFLOG copy range.
    Truncated {
        /// The header that was cut (`"IPv4"`, `"TCP"`, `"TCP options"`, ...).
        header: &'static str,
        /// Bytes needed from the network header on.
        need: u32,
        /// Bytes copied.
        have: u32,
    },
}

impl fmt::Display for NflogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NflogError::NotIp(None) => f.write_str("empty payload"),
            NflogError::NotIp(Some(v)) => write!(f, "not an IP packet (version {v})"),
            NflogError::Truncated { header, need, have } => write!(
                f,
                "{header} header truncated: {need} bytes needed, {have} copied (raise the copy range)"
            ),
        }
    }
}

impl std::error::Error for NflogError {}

/// A whole log line: `2026-11-21T23:20:40.281720+00:00 HOST kernel: ` and
/// [`log_text`]. Appends to `out`; on error `out` is left as it was.
pub fn log_line(
    time: Timestamp,
    host: &str,
    pkt: &NflogPacket<'_>,
    flags: LogFlags,
    out: &mut String,
) -> Result<(), NflogError> {
    let start = out.len();
    let us = time.0.rem_euclid(1_000_000);
    let secs = time.secs();
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = super::time::civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{us:06}+00:00 {host} kernel: ",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    log_text(pkt, flags, out).inspect_err(|_| out.truncate(start))
}

/// The LOG target's text for `pkt` (without the syslog header), appended to
/// `out`. Ends with a space, as the kernel's does. On error `out` is left as
/// it was.
pub fn log_text(
    pkt: &NflogPacket<'_>,
    flags: LogFlags,
    out: &mut String,
) -> Result<(), NflogError> {
    let start = out.len();
    let r = write_text(pkt, flags, out);
    if r.is_err() {
        out.truncate(start);
    }
    r
}

fn write_text(pkt: &NflogPacket<'_>, flags: LogFlags, out: &mut String) -> Result<(), NflogError> {
    let version = pkt.payload.first().map(|b| b >> 4);
    if !matches!(version, Some(4 | 6)) {
        return Err(NflogError::NotIp(version));
    }
    let (header, min) = if version == Some(4) {
        ("IPv4", 20)
    } else {
        ("IPv6", 40)
    };
    if pkt.payload.len() < min {
        // Too short to read its own length: cut by the copy range, or junk.
        return Err(NflogError::Truncated {
            header,
            need: min as u32,
            have: pkt.payload.len() as u32,
        });
    }
    push_prefix(pkt.prefix, out);
    let _ = write!(
        out,
        "IN={} OUT={} ",
        pkt.indev.unwrap_or(""),
        pkt.outdev.unwrap_or("")
    );
    if let Some(p) = pkt.physindev.filter(|&p| Some(p) != pkt.indev) {
        let _ = write!(out, "PHYSIN={p} ");
    }
    if let Some(p) = pkt.physoutdev.filter(|&p| Some(p) != pkt.outdev) {
        let _ = write!(out, "PHYSOUT={p} ");
    }
    if pkt.indev.is_some() {
        out.push_str("MAC=");
        for (i, b) in pkt.hw_header.unwrap_or_default().iter().enumerate() {
            let sep = if i == 0 { "" } else { ":" };
            let _ = write!(out, "{sep}{b:02x}");
        }
        out.push(' ');
    }
    let mut w = Writer {
        out,
        flags,
        top: TopFields {
            uid_gid: pkt.uid_gid,
            mark: pkt.mark,
        },
    };
    if version == Some(4) {
        let buf = Buf::new(pkt.payload, 2, 20, 0);
        w.ipv4(&buf, 0)
    } else {
        let buf = Buf::new(pkt.payload, 4, 40, 40);
        w.ipv6(&buf, 0, true)
    }
}

/// The prefix as `/dev/kmsg` shows it: control bytes, backslashes and
/// non-ASCII bytes as `\xNN`, so a prefix can never break the line.
fn push_prefix(prefix: &[u8], out: &mut String) {
    for &b in prefix {
        if (b' '..0x7f).contains(&b) && b != b'\\' {
            out.push(b as char);
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}

/// The packet bytes with the kernel's view of their length (`skb->len`, from
/// the IP header) and what was copied.
struct Buf<'a> {
    data: &'a [u8],
    len: u32,
}

impl<'a> Buf<'a> {
    /// `len_at`: offset of the 16-bit length field; `min`: bytes needed to
    /// read it; `add`: what the field does not count (the IPv6 header).
    fn new(data: &'a [u8], len_at: usize, min: usize, add: u32) -> Buf<'a> {
        let field = data
            .get(len_at..len_at + 2)
            .filter(|_| data.len() >= min)
            .map(|b| u32::from(u16::from_be_bytes([b[0], b[1]])));
        let len = match field {
            // 0: a GSO/jumbo packet; the copy is all we know.
            Some(0) | None => data.len() as u32,
            Some(n) => n + add,
        };
        let data = &data[..data.len().min(len as usize)];
        Buf { data, len }
    }

    /// `skb_header_pointer`: `Ok(None)` when the packet itself is shorter
    /// (the kernel prints that), an error when only the copy is.
    fn get(&self, off: u32, n: u32, header: &'static str) -> Result<Option<&'a [u8]>, NflogError> {
        let end = u64::from(off) + u64::from(n);
        if end > u64::from(self.len) {
            return Ok(None);
        }
        self.data
            .get(off as usize..end as usize)
            .map(Some)
            .ok_or(NflogError::Truncated {
                header,
                need: end as u32,
                have: self.data.len() as u32,
            })
    }

    /// `skb->len - off`, wrapping like the kernel's unsigned arithmetic.
    fn rest(&self, off: u32) -> u32 {
        self.len.wrapping_sub(off)
    }
}

struct TopFields {
    uid_gid: Option<(u32, u32)>,
    mark: Option<u32>,
}

struct Writer<'o> {
    out: &'o mut String,
    flags: LogFlags,
    top: TopFields,
}

fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// ICMP types whose body the kernel checks before printing it, with the
/// bytes it needs (`required_len` in nf_log_syslog.c).
fn icmp_required_len(kind: u8) -> u32 {
    match kind {
        0 | 8 => 4,
        3 | 4 | 5 | 11 | 12 => 28,
        13 | 14 => 20,
        17 | 18 => 12,
        _ => 0,
    }
}

impl Writer<'_> {
    fn s(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn f(&mut self, args: fmt::Arguments<'_>) {
        let _ = self.out.write_fmt(args);
    }

    fn hex_upper(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.f(format_args!("{b:02X}"));
        }
    }

    fn uid_mark(&mut self) {
        if let Some((uid, gid)) = self.top.uid_gid {
            self.f(format_args!("UID={uid} GID={gid} "));
        }
        if let Some(mark) = self.top.mark.filter(|&m| m != 0) {
            self.f(format_args!("MARK=0x{mark:x} "));
        }
    }

    /// `dump_ipv4_packet`; `iphoff` 0 for the packet, else the packet quoted
    /// in an ICMP error (printed once, no deeper).
    fn ipv4(&mut self, b: &Buf<'_>, iphoff: u32) -> Result<(), NflogError> {
        let Some(h) = b.get(iphoff, 20, "IPv4")? else {
            self.s("TRUNCATED");
            return Ok(());
        };
        let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
        let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
        let (tos, ttl, proto) = (h[1], h[8], h[9]);
        let frag_off = be16(h, 6);
        self.f(format_args!(
            "SRC={src} DST={dst} LEN={} TOS=0x{:02X} PREC=0x{:02X} TTL={ttl} ID={} ",
            be16(h, 2),
            tos & 0x1e,
            tos & 0xe0,
            be16(h, 4)
        ));
        for (bit, name) in [(0x8000, "CE "), (0x4000, "DF "), (0x2000, "MF ")] {
            if frag_off & bit != 0 {
                self.s(name);
            }
        }
        let fragment = frag_off & 0x1fff;
        if fragment != 0 {
            self.f(format_args!("FRAG:{fragment} "));
        }
        let ihl = u32::from(h[0] & 0x0f) * 4;
        if self.flags.ip_options && ihl > 20 {
            let Some(op) = b.get(iphoff + 20, ihl - 20, "IPv4 options")? else {
                self.s("TRUNCATED");
                return Ok(());
            };
            self.s("OPT (");
            self.hex_upper(op);
            self.s(") ");
        }
        let l4 = iphoff + ihl;
        let fragment = fragment != 0;
        match proto {
            6 => {
                if self.tcp(b, fragment, l4)? {
                    return Ok(());
                }
            }
            17 | 136 => {
                if self.udp(b, proto, fragment, l4)? {
                    return Ok(());
                }
            }
            1 => self.icmp(b, fragment, iphoff, l4)?,
            51 => {
                if !fragment {
                    self.s("PROTO=AH ");
                    self.spi(b, l4, 4, 12, "AH")?;
                }
            }
            50 => {
                self.s("PROTO=ESP ");
                if !fragment {
                    self.spi(b, l4, 0, 8, "ESP")?;
                }
            }
            p => self.f(format_args!("PROTO={p} ")),
        }
        if iphoff == 0 {
            self.uid_mark();
        }
        Ok(())
    }

    /// `SPI=0x..` of an AH/ESP header of `size` bytes with the SPI at `at`.
    fn spi(
        &mut self,
        b: &Buf<'_>,
        off: u32,
        at: usize,
        size: u32,
        name: &'static str,
    ) -> Result<(), NflogError> {
        match b.get(off, size, name)? {
            Some(h) => self.f(format_args!("SPI=0x{:x} ", be32(h, at))),
            None => self.f(format_args!("INCOMPLETE [{} bytes] ", b.rest(off))),
        }
        Ok(())
    }

    fn icmp(
        &mut self,
        b: &Buf<'_>,
        fragment: bool,
        iphoff: u32,
        off: u32,
    ) -> Result<(), NflogError> {
        self.s("PROTO=ICMP ");
        if fragment {
            return Ok(());
        }
        let Some(ic) = b.get(off, 8, "ICMP")? else {
            self.f(format_args!("INCOMPLETE [{} bytes] ", b.rest(off)));
            return Ok(());
        };
        let (kind, code) = (ic[0], ic[1]);
        self.f(format_args!("TYPE={kind} CODE={code} "));
        let need = icmp_required_len(kind);
        if need != 0 && b.rest(off) < need {
            self.f(format_args!("INCOMPLETE [{} bytes] ", b.rest(off)));
            return Ok(());
        }
        match kind {
            0 | 8 => self.f(format_args!("ID={} SEQ={} ", be16(ic, 4), be16(ic, 6))),
            12 => self.f(format_args!("PARAMETER={} ", ic[4])),
            3 | 4 | 5 | 11 => {
                if kind == 5 {
                    let gw = Ipv4Addr::new(ic[4], ic[5], ic[6], ic[7]);
                    self.f(format_args!("GATEWAY={gw} "));
                }
                if iphoff == 0 {
                    self.s("[");
                    self.ipv4(b, off + 8)?;
                    self.s("] ");
                }
                if kind == 3 && code == 4 {
                    self.f(format_args!("MTU={} ", be16(ic, 6)));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// `nf_log_dump_tcp_header`; true when the kernel stops the line here.
    fn tcp(&mut self, b: &Buf<'_>, fragment: bool, off: u32) -> Result<bool, NflogError> {
        self.s("PROTO=TCP ");
        if fragment {
            return Ok(false);
        }
        let Some(th) = b.get(off, 20, "TCP")? else {
            self.f(format_args!("INCOMPLETE [{} bytes] ", b.rest(off)));
            return Ok(true);
        };
        self.f(format_args!("SPT={} DPT={} ", be16(th, 0), be16(th, 2)));
        if self.flags.tcp_sequence {
            self.f(format_args!("SEQ={} ACK={} ", be32(th, 4), be32(th, 8)));
        }
        self.f(format_args!(
            "WINDOW={} RES=0x{:02x} ",
            be16(th, 14),
            (th[12] & 0x0e) << 2
        ));
        if th[12] & 0x01 != 0 {
            self.s("AE ");
        }
        for (name, bit) in crate::packet::TcpFlags::NAMES {
            if th[13] & bit != 0 {
                self.s(name);
                self.s(" ");
            }
        }
        self.f(format_args!("URGP={} ", be16(th, 18)));
        let doff = u32::from(th[12] >> 4) * 4;
        if self.flags.tcp_options && doff > 20 {
            let Some(op) = b.get(off + 20, doff - 20, "TCP options")? else {
                self.s("OPT (TRUNCATED)");
                return Ok(true);
            };
            self.s("OPT (");
            self.hex_upper(op);
            self.s(") ");
        }
        Ok(false)
    }

    /// `nf_log_dump_udp_header`; true when the kernel stops the line here.
    fn udp(
        &mut self,
        b: &Buf<'_>,
        proto: u8,
        fragment: bool,
        off: u32,
    ) -> Result<bool, NflogError> {
        self.s(if proto == 17 {
            "PROTO=UDP "
        } else {
            "PROTO=UDPLITE "
        });
        if fragment {
            return Ok(false);
        }
        let Some(uh) = b.get(off, 8, "UDP")? else {
            self.f(format_args!("INCOMPLETE [{} bytes] ", b.rest(off)));
            return Ok(true);
        };
        self.f(format_args!(
            "SPT={} DPT={} LEN={} ",
            be16(uh, 0),
            be16(uh, 2),
            be16(uh, 4)
        ));
        Ok(false)
    }

    /// `dump_ipv6_packet`; `recurse` false for the packet quoted in an ICMPv6 error.
    fn ipv6(&mut self, b: &Buf<'_>, off: u32, recurse: bool) -> Result<(), NflogError> {
        let Some(h) = b.get(off, 40, "IPv6")? else {
            self.s("TRUNCATED");
            return Ok(());
        };
        let addr = |i: usize| {
            let mut a = [0u8; 16];
            a.copy_from_slice(&h[i..i + 16]);
            Ipv6Addr::from(a).segments()
        };
        self.s("SRC=");
        self.ipv6_full(addr(8));
        self.s(" DST=");
        self.ipv6_full(addr(24));
        let word = be32(h, 0);
        self.f(format_args!(
            " LEN={} TC={} HOPLIMIT={} FLOWLBL={} ",
            u32::from(be16(h, 4)) + 40,
            (word & 0x0ff0_0000) >> 20,
            h[7],
            word & 0x000f_ffff
        ));
        let ipopt = self.flags.ip_options;
        let mut fragment = false;
        let mut ptr = off + 40;
        let mut cur = h[6];
        while matches!(cur, 0 | 43 | 44 | 50 | 51 | 60) {
            let Some(hp) = b.get(ptr, 2, "IPv6 extension")? else {
                self.s("TRUNCATED");
                return Ok(());
            };
            if ipopt {
                self.s("OPT ( ");
            }
            let hdrlen = match cur {
                44 => {
                    self.s("FRAG:");
                    let Some(fh) = b.get(ptr, 8, "IPv6 fragment")? else {
                        self.s("TRUNCATED ");
                        return Ok(());
                    };
                    let fo = be16(fh, 2);
                    self.f(format_args!("{} ", fo & 0xfff8));
                    if fo & 1 != 0 {
                        self.s("INCOMPLETE ");
                    }
                    self.f(format_args!("ID:{:08x} ", be32(fh, 4)));
                    fragment |= fo & 0xfff8 != 0;
                    8
                }
                0 | 43 | 60 => {
                    if fragment {
                        if ipopt {
                            self.s(")");
                        }
                        return Ok(());
                    }
                    (u32::from(hp[1]) + 1) * 8
                }
                51 => {
                    if ipopt {
                        self.s("AH ");
                        if fragment {
                            self.s(")");
                            return Ok(());
                        }
                        let Some(ah) = b.get(ptr, 12, "AH")? else {
                            self.f(format_args!("INCOMPLETE [{} bytes] )", b.rest(ptr)));
                            return Ok(());
                        };
                        self.f(format_args!("SPI=0x{:x} ", be32(ah, 4)));
                    }
                    (u32::from(hp[1]) + 2) * 4
                }
                _ => {
                    // ESP: nothing after it is readable.
                    if ipopt {
                        self.s("ESP ");
                        if fragment {
                            self.s(")");
                            return Ok(());
                        }
                        let Some(eh) = b.get(ptr, 8, "ESP")? else {
                            self.f(format_args!("INCOMPLETE [{} bytes] )", b.rest(ptr)));
                            return Ok(());
                        };
                        self.f(format_args!("SPI=0x{:x} )", be32(eh, 0)));
                    }
                    return Ok(());
                }
            };
            if ipopt {
                self.s(") ");
            }
            cur = hp[0];
            ptr = ptr.saturating_add(hdrlen);
        }
        match cur {
            6 => {
                if self.tcp(b, fragment, ptr)? {
                    return Ok(());
                }
            }
            17 | 136 => {
                if self.udp(b, cur, fragment, ptr)? {
                    return Ok(());
                }
            }
            58 => {
                self.s("PROTO=ICMPv6 ");
                if !fragment {
                    let Some(ic) = b.get(ptr, 8, "ICMPv6")? else {
                        self.f(format_args!("INCOMPLETE [{} bytes] ", b.rest(ptr)));
                        return Ok(());
                    };
                    let kind = ic[0];
                    self.f(format_args!("TYPE={kind} CODE={} ", ic[1]));
                    match kind {
                        128 | 129 => {
                            self.f(format_args!("ID={} SEQ={} ", be16(ic, 4), be16(ic, 6)))
                        }
                        1..=4 => {
                            if kind == 4 {
                                self.f(format_args!("POINTER={:08x} ", be32(ic, 4)));
                            }
                            if recurse {
                                self.s("[");
                                self.ipv6(b, ptr + 8, false)?;
                                self.s("] ");
                            }
                            if kind == 2 {
                                self.f(format_args!("MTU={} ", be32(ic, 4)));
                            }
                        }
                        _ => {}
                    }
                }
            }
            p => self.f(format_args!("PROTO={p} ")),
        }
        if recurse {
            self.uid_mark();
        }
        Ok(())
    }

    /// `%pI6`: eight groups of four hex digits, never compressed.
    fn ipv6_full(&mut self, seg: [u16; 8]) {
        for (i, s) in seg.iter().enumerate() {
            let sep = if i == 0 { "" } else { ":" };
            self.f(format_args!("{sep}{s:04x}"));
        }
    }
}

#[cfg(test)]
mod tests;
