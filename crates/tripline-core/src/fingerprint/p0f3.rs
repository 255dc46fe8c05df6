//! p0f v3 SYN fingerprints (`/etc/p0f/p0f.fp`, `[tcp:request]` section) and a
//! matcher fed from kernel log fields.
//!
//! Signature format `ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass`
//! under a `label = type:class:name:flavor` line. The matcher follows p0f 3's
//! rules: only signatures with the packet's exact option layout are candidates,
//! then quirks (a fuzzy match is allowed when only `df`/`id+` disappeared or
//! `id-`/`ecn` appeared), EOL padding and IP option length must be equal, TTL
//! outside `(ittl − 35, ittl]` makes a match fuzzy (`ittl-` signatures only
//! need TTL ≤ ittl), then MSS, scale, payload class and window. The first
//! exact specific (`s:`) match wins, else the first generic (`g:`) one, else
//! the first fuzzy one (never for userland `!` tools).
//!
//! What the log cannot show: the IPv4 ECN bits (the kernel masks them out of
//! `TOS=`, so `ecn` comes only from CWR/ECE and the NS bit), IP options unless
//! logged with `--log-ip-options` (olen is then taken as 0), IPv6 extension
//! headers (assumed absent), and SEQ/ACK numbers unless `--log-tcp-sequence`.

use super::tcp_options::{self, TcpOptions};
use super::FpError;
use crate::packet::{Packet, TcpFlags};

/// `df`: IPv4 don't-fragment set.
pub const Q_DF: u32 = 1 << 0;
/// `id+`: DF set with a non-zero IP ID.
pub const Q_ID_NZ: u32 = 1 << 1;
/// `id-`: DF clear with a zero IP ID.
pub const Q_ID_ZERO: u32 = 1 << 2;
/// `ecn`: explicit congestion notification in use.
pub const Q_ECN: u32 = 1 << 3;
/// `0+`: the IPv4 must-be-zero bit is set.
pub const Q_MBZ: u32 = 1 << 4;
/// `flow`: non-zero IPv6 flow label.
pub const Q_FLOW: u32 = 1 << 5;
/// `seq-`: sequence number zero.
pub const Q_SEQ_ZERO: u32 = 1 << 6;
/// `ack+`: ACK number non-zero without the ACK flag.
pub const Q_ACK_NZ: u32 = 1 << 7;
/// `ack-`: ACK number zero with the ACK flag.
pub const Q_ACK_ZERO: u32 = 1 << 8;
/// `uptr+`: urgent pointer non-zero without URG.
pub const Q_URG_NZ: u32 = 1 << 9;
/// `urgf+`: URG flag.
pub const Q_URG: u32 = 1 << 10;
/// `pushf+`: PSH flag.
pub const Q_PUSH: u32 = 1 << 11;
/// `ts1-`: own timestamp zero.
pub const Q_TS1_ZERO: u32 = 1 << 12;
/// `ts2+`: peer timestamp non-zero on a SYN.
pub const Q_TS2_NZ: u32 = 1 << 13;
/// `opt+`: non-zero padding after EOL.
pub const Q_EOL_NZ: u32 = 1 << 14;
/// `exws`: window scale above 14.
pub const Q_EXWS: u32 = 1 << 15;
/// `bad`: malformed options.
pub const Q_BAD: u32 = 1 << 16;

const QUIRK_NAMES: [(&str, u32); 17] = [
    ("df", Q_DF),
    ("id+", Q_ID_NZ),
    ("id-", Q_ID_ZERO),
    ("ecn", Q_ECN),
    ("0+", Q_MBZ),
    ("flow", Q_FLOW),
    ("seq-", Q_SEQ_ZERO),
    ("ack+", Q_ACK_NZ),
    ("ack-", Q_ACK_ZERO),
    ("uptr+", Q_URG_NZ),
    ("urgf+", Q_URG),
    ("pushf+", Q_PUSH),
    ("ts1-", Q_TS1_ZERO),
    ("ts2+", Q_TS2_NZ),
    ("opt+", Q_EOL_NZ),
    ("exws", Q_EXWS),
    ("bad", Q_BAD),
];

/// p0f's limit on options in a layout.
const MAX_TCP_OPT: usize = 24;
/// p0f's largest TTL distance for a non-fuzzy match.
const MAX_DIST: i32 = 35;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Win {
    Any,
    Exact(u16),
    Mod(u16),
    Mss(u16),
    Mtu(u16),
}

#[derive(Debug, Clone)]
struct Label {
    text: Box<str>,
    generic: bool,
    userland: bool,
}

#[derive(Debug, Clone)]
struct Sig {
    label: u16,
    /// `None` = `*`; else 4 or 6.
    ver: Option<u8>,
    ittl: u8,
    bad_ttl: bool,
    olen: u8,
    mss: Option<u16>,
    win: Win,
    scale: Option<u8>,
    layout: Box<[u8]>,
    eol_pad: u8,
    quirks: u32,
    /// `None` = `*`; `Some(true)` = `+` (payload present).
    pclass: Option<bool>,
    text: Box<str>,
    line: u32,
}

/// How good a p0f v3 match is (p0f's `generic` / `fuzzy` flags).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Quality {
    /// An exact match of a specific (`s:`) signature.
    Exact,
    /// An exact match of a generic (`g:`) signature, or psad's `@` entries.
    Generic,
    /// Quirks or TTL differ in the ways p0f tolerates.
    Fuzzy,
}

/// A p0f v3 database (`[tcp:request]` signatures only).
#[derive(Debug, Clone, Default)]
pub struct P0f3 {
    labels: Vec<Label>,
    sigs: Vec<Sig>,
}

/// A SYN reduced to what p0f v3 compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct P0fPacket {
    /// 4 or 6.
    pub ver: u8,
    /// Observed TTL / hop limit.
    pub ttl: u8,
    /// IPv4 option bytes (0 when not logged).
    pub olen: u8,
    /// MSS, 0 when absent.
    pub mss: u16,
    /// TCP window.
    pub win: u16,
    /// Window scale, 0 when absent.
    pub wscale: u8,
    layout: [u8; MAX_TCP_OPT],
    layout_len: u8,
    /// Bytes after EOL.
    pub eol_pad: u8,
    /// `Q_*` bits.
    pub quirks: u32,
    /// Payload present (`+`).
    pub payload: bool,
    /// IP + TCP header bytes.
    pub tot_hdr: u32,
    /// TSval, 0 when absent.
    pub ts1: u32,
}

impl P0fPacket {
    /// Reduce a logged SYN (without ACK) to p0f's view. `None` for other
    /// segments, for the flag combinations p0f discards (SYN+FIN, SYN+RST),
    /// and when the option text is not hex.
    pub fn from_packet(pkt: &Packet<'_>) -> Option<P0fPacket> {
        let tcp = pkt.tcp?;
        let f = tcp.flags;
        if !f.has(TcpFlags::SYN) || f.0 & (TcpFlags::ACK | TcpFlags::FIN | TcpFlags::RST) != 0 {
            return None;
        }
        let opts = TcpOptions::parse_hex(tcp.options, true).ok()?;
        let v6 = pkt.is_ipv6();
        let mut q = 0u32;
        if v6 {
            if pkt.flow_label.is_some_and(|l| l != 0) {
                q |= Q_FLOW;
            }
            // IPv6 TC= is the whole traffic class, ECN bits included.
            if pkt.tos & 0x03 != 0 {
                q |= Q_ECN;
            }
        } else {
            let id = pkt.ip_id.unwrap_or(0);
            if pkt.ip_flags.df {
                q |= Q_DF;
                if id != 0 {
                    q |= Q_ID_NZ;
                }
            } else if id == 0 {
                q |= Q_ID_ZERO;
            }
            if pkt.ip_flags.ce {
                q |= Q_MBZ;
            }
        }
        // RES=0x.. prints the four reserved bits shifted so that NS is 0x04.
        if f.0 & (TcpFlags::CWR | TcpFlags::ECE) != 0 || tcp.res & 0x04 != 0 {
            q |= Q_ECN;
        }
        if tcp.seq == Some(0) {
            q |= Q_SEQ_ZERO;
        }
        if tcp.ack.is_some_and(|a| a != 0) {
            q |= Q_ACK_NZ;
        }
        if f.has(TcpFlags::URG) {
            q |= Q_URG;
        } else if tcp.urgp != 0 {
            q |= Q_URG_NZ;
        }
        if f.has(TcpFlags::PSH) {
            q |= Q_PUSH;
        }
        for (from, to) in [
            (tcp_options::QUIRK_TS1_ZERO, Q_TS1_ZERO),
            (tcp_options::QUIRK_TS2_NONZERO, Q_TS2_NZ),
            (tcp_options::QUIRK_EOL_NONZERO, Q_EOL_NZ),
            (tcp_options::QUIRK_EXCESSIVE_WS, Q_EXWS),
            (tcp_options::QUIRK_BAD, Q_BAD),
        ] {
            if opts.quirks & from != 0 {
                q |= to;
            }
        }
        let mut layout = [0u8; MAX_TCP_OPT];
        let mut n = 0;
        for k in opts.layout() {
            if n == MAX_TCP_OPT {
                // p0f stops at 24 options and calls the rest malformed.
                q |= Q_BAD;
                break;
            }
            layout[n] = k;
            n += 1;
        }
        let olen = if v6 {
            0
        } else {
            (pkt.ip_options.len() / 2).min(255) as u8
        };
        let ip_hdr = if v6 { 40 } else { 20 + olen as u32 };
        let tot_hdr = ip_hdr + 20 + opts.bytes as u32;
        Some(P0fPacket {
            ver: if v6 { 6 } else { 4 },
            ttl: pkt.ttl,
            olen,
            mss: opts.mss(),
            win: tcp.window,
            wscale: opts.wscale(),
            layout,
            layout_len: n as u8,
            eol_pad: opts.eol_pad,
            quirks: q,
            payload: pkt.len > tot_hdr,
            tot_hdr,
            ts1: opts.tsval(),
        })
    }

    /// Option kinds in order (`olayout`).
    pub fn layout(&self) -> &[u8] {
        &self.layout[..self.layout_len as usize]
    }

    /// Is the window a multiple of MSS / MTU? p0f's `detect_win_multi()`:
    /// `(multiplier, uses_mtu)`.
    fn win_multi(&self) -> Option<(u16, bool)> {
        let (win, mss) = (self.win as u32, self.mss as u32);
        if win == 0 || mss < 100 {
            return None;
        }
        let v6 = self.ver == 6;
        // (divisor, window is an MTU multiple, test applies), in p0f's order.
        let tries = [
            (mss, false, true),
            (mss - 12, false, self.ts1 != 0),
            (1460, false, true),
            (1448, false, true),
            (1440, false, v6),
            (1428, false, v6),
            (mss + 40, true, true),
            (mss + self.tot_hdr, true, true),
            (mss + 60, true, v6),
            (1500, true, true),
        ];
        tries
            .iter()
            .filter(|t| t.2)
            .find(|t| win % t.0 == 0)
            .map(|t| ((win / t.0) as u16, t.1))
    }
}

fn num<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_sig(v: &str) -> Result<Sig, String> {
    let parts: Vec<&str> = v.split(':').collect();
    if parts.len() != 8 {
        return Err(format!(
            "signature needs 8 ':'-separated fields (ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass), got {}",
            parts.len()
        ));
    }
    let ver = match parts[0] {
        "4" => Some(4),
        "6" => Some(6),
        "*" => None,
        o => return Err(format!("bad IP version {o:?} (want 4, 6 or *)")),
    };
    let t = parts[1];
    let (ittl, bad_ttl) = if let Some(b) = t.strip_suffix('-') {
        (num::<u32>(b), true)
    } else if let Some((a, b)) = t.split_once('+') {
        (num::<u32>(a).zip(num::<u32>(b)).map(|(a, b)| a + b), false)
    } else {
        (num::<u32>(t), false)
    };
    let ittl = ittl
        .filter(|t| (1..=255).contains(t))
        .ok_or_else(|| format!("bad initial TTL {t:?}"))? as u8;
    let olen = num::<u8>(parts[2]).ok_or_else(|| format!("bad IP option length {:?}", parts[2]))?;
    let mss = match parts[3] {
        "*" => None,
        m => Some(num::<u16>(m).ok_or_else(|| format!("bad MSS {m:?}"))?),
    };
    let (w, s) = parts[4]
        .split_once(',')
        .ok_or_else(|| format!("window {:?} lacks ',scale'", parts[4]))?;
    let bad_w = || format!("bad window size {w:?}");
    let win = if w == "*" {
        Win::Any
    } else if let Some(m) = w.strip_prefix('%') {
        Win::Mod(num::<u16>(m).filter(|&m| m >= 2).ok_or_else(bad_w)?)
    } else if let Some(m) = w.strip_prefix("mss*") {
        Win::Mss(
            num::<u16>(m)
                .filter(|m| (1..=1000).contains(m))
                .ok_or_else(bad_w)?,
        )
    } else if let Some(m) = w.strip_prefix("mtu*") {
        Win::Mtu(
            num::<u16>(m)
                .filter(|m| (1..=1000).contains(m))
                .ok_or_else(bad_w)?,
        )
    } else {
        Win::Exact(num::<u16>(w).ok_or_else(bad_w)?)
    };
    let scale = match s {
        "*" => None,
        s => Some(num::<u8>(s).ok_or_else(|| format!("bad window scale {s:?}"))?),
    };
    let mut layout = Vec::new();
    let mut eol_pad = 0u8;
    if !parts[5].is_empty() {
        let items: Vec<&str> = parts[5].split(',').collect();
        for (i, o) in items.iter().enumerate() {
            if layout.len() >= MAX_TCP_OPT {
                return Err("too many TCP options".to_string());
            }
            let k = match *o {
                "nop" => 1,
                "mss" => 2,
                "ws" => 3,
                "sok" => 4,
                "sack" => 5,
                "ts" => 8,
                o => {
                    if let Some(p) = o.strip_prefix("eol+") {
                        if i + 1 != items.len() {
                            return Err("EOL must be the last option".to_string());
                        }
                        eol_pad = num::<u8>(p).ok_or_else(|| format!("bad EOL padding {o:?}"))?;
                        0
                    } else if let Some(n) = o.strip_prefix('?') {
                        num::<u8>(n).ok_or_else(|| format!("bad '?' option {o:?}"))?
                    } else {
                        return Err(format!("unrecognized TCP option {o:?}"));
                    }
                }
            };
            layout.push(k);
        }
    }
    let mut quirks = 0u32;
    if !parts[6].is_empty() {
        for q in parts[6].split(',') {
            let bit = QUIRK_NAMES
                .iter()
                .find(|(n, _)| *n == q)
                .map(|(_, b)| *b)
                .ok_or_else(|| format!("unrecognized quirk {q:?}"))?;
            if ver == Some(6) && bit & (Q_DF | Q_ID_NZ | Q_ID_ZERO | Q_MBZ) != 0 {
                return Err(format!("'{q}' is not valid for IPv6"));
            }
            if ver == Some(4) && bit == Q_FLOW {
                return Err("'flow' is not valid for IPv4".to_string());
            }
            quirks |= bit;
        }
    }
    let pclass = match parts[7] {
        "*" => None,
        "0" => Some(false),
        "+" => Some(true),
        p => return Err(format!("bad payload class {p:?} (want *, 0 or +)")),
    };
    Ok(Sig {
        label: 0,
        ver,
        ittl,
        bad_ttl,
        olen,
        mss,
        win,
        scale,
        layout: layout.into(),
        eol_pad,
        quirks,
        pclass,
        text: v.into(),
        line: 0,
    })
}

impl P0f3 {
    /// Parse a p0f v3 `p0f.fp`. Only `[tcp:request]` signatures are kept; the
    /// other sections are skipped. `file` names it in errors (`file:line: …`).
    pub fn parse(text: &str, file: &str) -> Result<P0f3, FpError> {
        let mut db = P0f3::default();
        let mut classes: Option<Vec<String>> = None;
        let mut in_syn = false;
        let mut label: Option<u16> = None;
        for (idx, raw) in text.split('\n').enumerate() {
            let line_no = idx as u32 + 1;
            let err = |m: String| FpError::new(file, line_no, m);
            let l = raw.trim();
            if l.is_empty() || l.starts_with(';') {
                continue;
            }
            if let Some(sec) = l.strip_prefix('[') {
                let sec = sec
                    .strip_suffix(']')
                    .ok_or_else(|| err("unterminated section header".to_string()))?;
                in_syn = sec == "tcp:request";
                label = None;
                continue;
            }
            let (k, v) = l
                .split_once('=')
                .ok_or_else(|| err("want 'key = value'".to_string()))?;
            let (k, v) = (k.trim(), v.trim());
            if k == "classes" {
                classes = Some(v.split(',').map(|c| c.trim().to_string()).collect());
                continue;
            }
            if !in_syn {
                continue;
            }
            match k {
                "label" => {
                    let p: Vec<&str> = v.splitn(4, ':').collect();
                    if p.len() != 4
                        || !matches!(p[0], "s" | "g")
                        || p[1].is_empty()
                        || p[2].is_empty()
                    {
                        return Err(err(format!("bad label {v:?} (want s|g:class:name:flavor)")));
                    }
                    let userland = p[1] == "!";
                    if !userland
                        && classes
                            .as_ref()
                            .is_some_and(|c| !c.iter().any(|c| c == p[1]))
                    {
                        return Err(err(format!("unknown class {:?}", p[1])));
                    }
                    let id = u16::try_from(db.labels.len())
                        .map_err(|_| err("more than 65535 labels".to_string()))?;
                    db.labels.push(Label {
                        text: v.into(),
                        generic: p[0] == "g",
                        userland,
                    });
                    label = Some(id);
                }
                "sys" => {
                    if label.is_none() {
                        return Err(err("'sys' before any 'label'".to_string()));
                    }
                }
                "sig" => {
                    let Some(lab) = label else {
                        return Err(err("'sig' before any 'label'".to_string()));
                    };
                    let mut s = parse_sig(v).map_err(err)?;
                    s.label = lab;
                    s.line = line_no;
                    if db.sigs.len() >= u16::MAX as usize {
                        return Err(err("more than 65535 signatures".to_string()));
                    }
                    db.sigs.push(s);
                }
                k => return Err(err(format!("unknown key {k:?} in [tcp:request]"))),
            }
        }
        Ok(db)
    }

    /// Number of SYN signatures.
    pub fn len(&self) -> usize {
        self.sigs.len()
    }

    /// True when there are no SYN signatures.
    pub fn is_empty(&self) -> bool {
        self.sigs.is_empty()
    }

    /// The label of signature `i` (`s:unix:Linux:3.11 and newer`).
    pub fn label(&self, i: usize) -> Option<&str> {
        self.sigs
            .get(i)
            .map(|s| &*self.labels[s.label as usize].text)
    }

    /// The text of signature `i` (`*:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0`).
    pub fn sig(&self, i: usize) -> Option<&str> {
        self.sigs.get(i).map(|s| &*s.text)
    }

    /// The file line of signature `i`.
    pub fn line(&self, i: usize) -> Option<u32> {
        self.sigs.get(i).map(|s| s.line)
    }

    /// p0f's best match for a SYN: `(signature index, quality)`.
    pub fn best_match(&self, p: &P0fPacket) -> Option<(usize, Quality)> {
        let mut fuzzy_hit: Option<usize> = None;
        let mut generic_hit: Option<usize> = None;
        let multi = p.win_multi();
        for (i, s) in self.sigs.iter().enumerate() {
            if *s.layout != *p.layout() {
                continue;
            }
            // p0f 3 itself does not compare versions; a 4-only or 6-only
            // signature matching the other family would be plainly wrong.
            if s.ver.is_some_and(|v| v != p.ver) {
                continue;
            }
            let mut fuzzy = false;
            let mut rq = s.quirks;
            if s.ver.is_none() {
                // Family-specific quirks do not apply to the other family.
                rq &= if p.ver == 4 {
                    !Q_FLOW
                } else {
                    !(Q_DF | Q_ID_NZ | Q_ID_ZERO)
                };
            }
            if rq != p.quirks {
                let deleted = (rq ^ p.quirks) & rq;
                let added = (rq ^ p.quirks) & p.quirks;
                if fuzzy_hit.is_some()
                    || deleted & !(Q_DF | Q_ID_NZ) != 0
                    || added & !(Q_ID_ZERO | Q_ECN) != 0
                {
                    continue;
                }
                fuzzy = true;
            }
            if s.eol_pad != p.eol_pad || s.olen != p.olen {
                continue;
            }
            let dist = s.ittl as i32 - p.ttl as i32;
            if s.bad_ttl {
                if dist < 0 {
                    continue;
                }
            } else if !(0..=MAX_DIST).contains(&dist) {
                fuzzy = true;
            }
            if s.mss.is_some_and(|m| m != p.mss)
                || s.scale.is_some_and(|w| w != p.wscale)
                || s.pclass.is_some_and(|c| c != p.payload)
            {
                continue;
            }
            let win_ok = match s.win {
                Win::Any => true,
                Win::Exact(w) => w == p.win,
                Win::Mod(m) => p.win % m == 0,
                Win::Mss(k) => multi == Some((k, false)),
                Win::Mtu(k) => multi == Some((k, true)),
            };
            if !win_ok {
                continue;
            }
            if !fuzzy {
                if !self.labels[s.label as usize].generic {
                    return Some((i, Quality::Exact));
                }
                generic_hit.get_or_insert(i);
            } else {
                fuzzy_hit.get_or_insert(i);
            }
        }
        if let Some(g) = generic_hit {
            return Some((g, Quality::Generic));
        }
        // No fuzzy matching for userland tools.
        let f = fuzzy_hit?;
        if self.labels[self.sigs[f].label as usize].userland {
            return None;
        }
        Some((f, Quality::Fuzzy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DB: &str = "classes = win,unix,other\n[mtu]\nlabel = Ethernet\nsig = 1500\n\
        [tcp:request]\nlabel = s:unix:Linux:3.11 and newer\n\
        sig   = *:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0\n\
        label = g:unix:Linux:2.2.x-3.x\nsig = *:64:0:*:*,*:mss,sok,ts,nop,ws:df,id+:0\n\
        label = s:!:NMap:SYN scan\nsys = @unix,@win\nsig = *:64-:0:1460:1024,0:mss::0\n\
        [tcp:response]\nlabel = s:unix:Linux:x\nsig = *:64:0:*:mss*4,0:mss::0\n";

    fn pkt(layout: &[u8], win: u16, mss: u16, ws: u8, q: u32, ttl: u8) -> P0fPacket {
        let mut l = [0u8; MAX_TCP_OPT];
        l[..layout.len()].copy_from_slice(layout);
        P0fPacket {
            ver: 4,
            ttl,
            olen: 0,
            mss,
            win,
            wscale: ws,
            layout: l,
            layout_len: layout.len() as u8,
            eol_pad: 0,
            quirks: q,
            payload: false,
            tot_hdr: 60,
            ts1: 1,
        }
    }

    #[test]
    fn exact_generic_fuzzy() {
        let db = P0f3::parse(DB, "p0f.fp").unwrap();
        assert_eq!(db.len(), 3);
        let linux = [2, 4, 8, 1, 3];
        let p = pkt(&linux, 29200, 1460, 10, Q_DF | Q_ID_NZ, 64);
        assert_eq!(db.best_match(&p), Some((0, Quality::Exact)));
        let p = pkt(&linux, 64240, 1460, 10, Q_DF | Q_ID_NZ, 64);
        assert_eq!(db.best_match(&p), Some((1, Quality::Generic)));
        // TTL far below the initial TTL: fuzzy.
        let p = pkt(&linux, 29200, 1460, 10, Q_DF | Q_ID_NZ, 20);
        assert_eq!(db.best_match(&p), Some((0, Quality::Fuzzy)));
        // nmap: random TTL allowed (64-), exact.
        let p = pkt(&[2], 1024, 1460, 0, 0, 40);
        assert_eq!(db.best_match(&p), Some((2, Quality::Exact)));
        assert_eq!(db.label(2), Some("s:!:NMap:SYN scan"));
        // Userland tools never match fuzzily.
        let p = pkt(&[2], 1024, 1460, 0, Q_ID_ZERO, 40);
        assert_eq!(db.best_match(&p), None);
    }

    #[test]
    fn errors_name_the_line() {
        let e = P0f3::parse("[tcp:request]\nsig = *:64:0:*:*,*:mss::0\n", "fp").unwrap_err();
        assert_eq!(e.to_string(), "fp:2: 'sig' before any 'label'");
        let e = P0f3::parse(
            "[tcp:request]\nlabel = s:x:Y:z\nsig = *:64:0:*:*,*:mss:zz:0\n",
            "fp",
        )
        .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().contains("quirk"));
        let e = P0f3::parse("classes = a\n[tcp:request]\nlabel = s:b:Y:z\n", "fp").unwrap_err();
        assert!(e.to_string().contains("unknown class"));
        let e = P0f3::parse(
            "[tcp:request]\nlabel = s:a:Y:z\nsig = 4:64:0:*:*,*:eol+1,mss::0\n",
            "fp",
        )
        .unwrap_err();
        assert!(e.to_string().contains("EOL"));
    }
}
