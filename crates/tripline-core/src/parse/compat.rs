//! psad 2.4.6 compatibility: would psad accept this line, and what would it
//! have read from it?
//!
//! psad decides with Perl regexes over the whole line (§1.2, §1.3 of the
//! behaviour spec). Rather than port the Perl, each of its patterns is
//! written below as a short list of atoms for a tiny backtracking matcher
//! with Perl's greedy semantics and a step budget, so the quirks (compressed
//! IPv6, IPv4 UDPLITE, AH/ESP, echo without ID/SEQ, IPv6 TCP with fields
//! between DPT and WINDOW, ...) fall out of the same text psad matched.
//! Not on the hot path.

use super::{ParseError, ParseErrorKind};
use crate::packet::Packet;
use memchr::memmem;

/// One element of a psad pattern.
#[derive(Clone, Copy, Debug)]
enum A {
    /// Literal text.
    L(&'static str),
    /// Literal text, optional (`(?:LITE)?`).
    OptL(&'static str),
    /// Exactly one whitespace character (`\s`).
    W,
    /// `\s+`.
    W1,
    /// `\s*`.
    W0,
    /// `\d+`.
    D,
    /// `\S+`.
    S,
    /// psad's `$ipv4_re`: `(?:[0-2]?\d{1,2}\.){3}[0-2]?\d{1,2}`.
    V4,
    /// psad's `$ipv6_re`: `(?:[a-f0-9]{4}:){7}[a-f0-9]{4}`, case-insensitive.
    V6,
    /// `.*`, greedy.
    Any,
    /// Capture group `k` starts here.
    C(usize),
    /// Capture group `k` ends here.
    E(usize),
}
use A::*;

const BUDGET: u32 = 200_000;

struct M<'h> {
    h: &'h [u8],
    caps: [(usize, usize); 3],
    steps: u32,
}

/// Perl's `\s` as psad's patterns see it: ASCII whitespace and vertical tab.
#[inline]
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

impl M<'_> {
    fn run(&mut self, p: &[A], i: usize) -> bool {
        self.steps += 1;
        if self.steps > BUDGET {
            return false;
        }
        let Some((&a, rest)) = p.split_first() else {
            return true;
        };
        let h = self.h;
        let n = h.len();
        let count = |f: fn(u8) -> bool| h[i..].iter().take_while(|&&c| f(c)).count();
        match a {
            L(l) => h[i..].starts_with(l.as_bytes()) && self.run(rest, i + l.len()),
            OptL(l) => {
                (h[i..].starts_with(l.as_bytes()) && self.run(rest, i + l.len()))
                    || self.run(rest, i)
            }
            W => i < n && is_ws(h[i]) && self.run(rest, i + 1),
            W1 | W0 | D | S => {
                let k = match a {
                    D => count(|c| c.is_ascii_digit()),
                    S => count(|c| !is_ws(c)),
                    _ => count(is_ws),
                };
                let min = usize::from(!matches!(a, W0));
                (min..=k).rev().any(|j| self.run(rest, i + j))
            }
            V4 => self.v4(rest, i, 0),
            V6 => {
                let ok = h.len() >= i + 39
                    && (0..39).all(|k| {
                        let c = h[i + k];
                        if k % 5 == 4 {
                            c == b':'
                        } else {
                            c.is_ascii_hexdigit()
                        }
                    });
                ok && self.run(rest, i + 39)
            }
            Any => {
                // Greedy: try the longest first. When a literal follows,
                // only its occurrences can match.
                if let Some(L(l)) = rest.first() {
                    let mut end = n;
                    while let Some(p) = memmem::rfind(&h[i..end], l.as_bytes()) {
                        if self.run(rest, i + p) {
                            return true;
                        }
                        if self.steps > BUDGET {
                            return false;
                        }
                        end = i + p + l.len() - 1;
                    }
                    false
                } else {
                    (i..=n).rev().any(|j| self.run(rest, j))
                }
            }
            C(k) => {
                self.caps[k].0 = i;
                self.run(rest, i)
            }
            E(k) => {
                self.caps[k].1 = i;
                self.run(rest, i)
            }
        }
    }

    /// `[0-2]?\d{1,2}` octets joined by dots, with backtracking over lengths.
    fn v4(&mut self, rest: &[A], i: usize, octet: usize) -> bool {
        let h = self.h;
        let digits = h[i..]
            .iter()
            .take(3)
            .take_while(|c| c.is_ascii_digit())
            .count();
        for len in (1..=digits).rev() {
            if len == 3 && h[i] > b'2' {
                continue;
            }
            let j = i + len;
            let ok = if octet == 3 {
                self.run(rest, j)
            } else {
                h.get(j) == Some(&b'.') && self.v4(rest, j + 1, octet + 1)
            };
            if ok {
                return true;
            }
        }
        false
    }
}

/// Unanchored search, leftmost start first, like Perl's `=~`.
fn search(h: &str, p: &[A]) -> Option<[(usize, usize); 3]> {
    let mut m = M {
        h: h.as_bytes(),
        caps: [(0, 0); 3],
        steps: 0,
    };
    let found = match p.first() {
        Some(L(l)) => memmem::find_iter(h.as_bytes(), l.as_bytes()).any(|s| m.run(p, s)),
        _ => (0..=h.len()).any(|s| m.run(p, s)),
    };
    found.then_some(m.caps)
}

fn cap(h: &str, c: (usize, usize)) -> &str {
    h.get(c.0..c.1).unwrap_or("")
}

/// NetAddr::IP->new() rejects octets above 255 that `$ipv4_re` lets through.
fn v4_ok(s: &str) -> bool {
    s.split('.')
        .all(|o| o.parse::<u32>().is_ok_and(|v| v <= 255))
}

const V6_TCP: &[A] = &[
    L("SRC="),
    C(1),
    V6,
    E(1),
    W1,
    L("DST="),
    V6,
    W1,
    L("LEN="),
    D,
    W1,
    L("TC="),
    D,
    W1,
    L("HOPLIMIT="),
    D,
    W1,
    L("FLOWLBL="),
    D,
    W1,
    Any,
    L("PROTO=TCP"),
    W1,
    L("SPT="),
    D,
    W1,
    L("DPT="),
    D,
    W1,
    L("WINDOW="),
    D,
    W1,
    C(0),
    Any,
    E(0),
    W1,
    L("URGP="),
];
const V4_TCP: &[A] = &[
    L("SRC="),
    C(1),
    V4,
    E(1),
    W1,
    L("DST="),
    C(2),
    V4,
    E(2),
    W1,
    L("LEN="),
    D,
    W1,
    L("TOS="),
    S,
    W0,
    Any,
    W1,
    L("TTL="),
    D,
    W1,
    L("ID="),
    D,
    W0,
    Any,
    W1,
    L("PROTO=TCP"),
    W1,
    L("SPT="),
    D,
    W1,
    L("DPT="),
    D,
    W,
    Any,
    W0,
    L("WINDOW="),
    D,
    W1,
    C(0),
    Any,
    E(0),
    W1,
    L("URGP="),
];
const V6_UDP: &[A] = &[
    L("SRC="),
    V6,
    W1,
    L("DST="),
    V6,
    W1,
    L("LEN="),
    D,
    W1,
    L("TC="),
    D,
    W1,
    L("HOPLIMIT="),
    D,
    W1,
    L("FLOWLBL="),
    D,
    W1,
    L("PROTO=UDP"),
    OptL("LITE"),
    W1,
    L("SPT="),
    D,
    W1,
    L("DPT="),
    D,
    W1,
    L("LEN="),
    D,
];
const V4_UDP: &[A] = &[
    L("SRC="),
    C(1),
    V4,
    E(1),
    W1,
    L("DST="),
    C(2),
    V4,
    E(2),
    W1,
    L("LEN="),
    D,
    W1,
    L("TOS="),
    S,
    W,
    Any,
    L("TTL="),
    D,
    W1,
    L("ID="),
    D,
    W0,
    Any,
    W1,
    L("PROTO=UDP"),
    W1,
    L("SPT="),
    D,
    W1,
    L("DPT="),
    D,
    W1,
    L("LEN="),
    D,
];
const V6_ICMP: &[A] = &[
    L("SRC="),
    V6,
    W1,
    L("DST="),
    V6,
    W1,
    L("LEN="),
    D,
    W1,
    L("TC="),
    D,
    W1,
    L("HOPLIMIT="),
    D,
    W1,
    L("FLOWLBL="),
    D,
    W1,
    L("PROTO=ICMPv6"),
    W1,
    L("TYPE="),
    D,
    W1,
    L("CODE="),
    D,
];
const V4_ICMP: &[A] = &[
    L("SRC="),
    C(1),
    V4,
    E(1),
    W1,
    L("DST="),
    C(2),
    V4,
    E(2),
    W1,
    L("LEN="),
    D,
    Any,
    L("TTL="),
    D,
    W1,
    L("ID="),
    D,
    Any,
    L("PROTO=ICMP"),
    W1,
    L("TYPE="),
    C(0),
    D,
    E(0),
    W1,
    L("CODE="),
    D,
];
const ECHO_ID_SEQ: &[A] = &[L("CODE="), D, W1, L("ID="), D, W1, L("SEQ="), D];
const V6_NUM: &[A] = &[L("SRC="), V6, W1, L("DST="), V6, W1];
const V4_NUM: &[A] = &[
    L("SRC="),
    C(1),
    V4,
    E(1),
    W1,
    L("DST="),
    C(2),
    V4,
    E(2),
    W1,
    L("LEN="),
    D,
    Any,
    L("TTL="),
    D,
    W1,
    L("ID="),
    D,
    Any,
    L("PROTO="),
];
const IS_V6: &[A] = &[L("HOPLIMIT="), D, W1, L("FLOWLBL="), D];
const DF_PROTO: &[A] = &[W, L("DF"), W1, L("PROTO")];
const CHAIN_IN_FWD: &[A] = &[L("IN="), S, Any, W, L("OUT=")];
const CHAIN_OUT: &[A] = &[L("IN="), W1, Any, L("OUT="), S];

fn reject(field: &'static str) -> ParseError {
    ParseError {
        field,
        reason: ParseErrorKind::PsadRejects,
    }
}

/// Whether psad 2.4.6 (default `psad.conf`) would accept `line`, which
/// [`parse_line`](super::parse_line) parsed into `pkt`. `Err` names the
/// field psad stumbled on, with [`ParseErrorKind::PsadRejects`]. Lines psad
/// merely IGNOREs (for instance TCP with ACK or RST) count as accepted.
pub fn psad_compat_check(line: &str, pkt: &Packet<'_>) -> Result<(), ParseError> {
    let line = line.trim_end_matches(['\n', '\r']);
    // Interface and chain: `IN=x ... OUT=` or `IN= ... OUT=y` (§1.2 step 3).
    if search(line, CHAIN_IN_FWD).is_none() && search(line, CHAIN_OUT).is_none() {
        return Err(reject("IN"));
    }
    let is_v6 = search(line, IS_V6).is_some();
    let has = |p: &'static str| {
        memmem::find_iter(line.as_bytes(), p.as_bytes())
            .any(|i| line.as_bytes().get(i + p.len()).is_some_and(|&c| is_ws(c)))
    };
    // Protocol, in psad's order (§1.2 step 14).
    let addr_field = |pkt: &Packet<'_>| if pkt.is_ipv6() { "SRC" } else { "PROTO" };
    if is_v6 && has("PROTO=ICMPv6") {
        return search(line, V6_ICMP)
            .map(|_| ())
            .ok_or_else(|| reject(addr_field(pkt)));
    }
    if has("PROTO=ICMP") {
        if is_v6 {
            return Err(reject("PROTO"));
        }
        let c = search(line, V4_ICMP).ok_or(reject("SRC"))?;
        if !v4_ok(cap(line, c[1])) || !v4_ok(cap(line, c[2])) {
            return Err(reject("SRC"));
        }
        let t = cap(line, c[0]).parse::<u64>().unwrap_or(u64::MAX);
        if (t == 0 || t == 8) && search(line, ECHO_ID_SEQ).is_none() {
            return Err(reject("ID"));
        }
        return Ok(());
    }
    if has("PROTO=TCP") {
        let c = if is_v6 {
            search(line, V6_TCP)
        } else {
            search(line, V4_TCP).filter(|c| v4_ok(cap(line, c[1])) && v4_ok(cap(line, c[2])))
        };
        let Some(c) = c else {
            let field = match pkt.dport {
                None => "DPT",
                Some(_) if search(line, &[L("SRC="), V6, W1, L("DST="), V6]).is_none() && is_v6 => {
                    "SRC"
                }
                Some(_) => "WINDOW",
            };
            return Err(reject(field));
        };
        // Flags: the text between WINDOW= and URGP= less `RES=..` (§1.3).
        let raw = cap(line, c[0]);
        let flags = strip_res(raw);
        let flags = if flags.is_empty() { "NULL" } else { flags };
        let ignored = flags.contains("ACK") || flags.contains("RST");
        let known = ["SYN", "RST", "URG", "PSH", "FIN"]
            .iter()
            .any(|f| flags.contains(f))
            || (!flags.contains("WIN") && flags.contains("ACK"))
            || flags == "NULL";
        if !ignored && !known {
            return Err(reject("FLAGS"));
        }
        return Ok(());
    }
    if has("PROTO=UDPLITE") || has("PROTO=UDP") {
        let ok = if is_v6 {
            search(line, V6_UDP).is_some()
        } else {
            search(line, V4_UDP).is_some_and(|c| v4_ok(cap(line, c[1])) && v4_ok(cap(line, c[2])))
        };
        return if ok {
            Ok(())
        } else if pkt.dport.is_none() && !pkt.incomplete {
            Err(reject("DPT"))
        } else {
            Err(reject(addr_field(pkt)))
        };
    }
    let numeric = [L("PROTO="), D, W];
    if search(line, &numeric).is_some() {
        let ok = if is_v6 {
            search(line, V6_NUM).is_some()
        } else {
            search(line, V4_NUM).is_some_and(|c| v4_ok(cap(line, c[1])) && v4_ok(cap(line, c[2])))
        };
        return if ok {
            Ok(())
        } else {
            Err(reject(addr_field(pkt)))
        };
    }
    Err(reject("PROTO"))
}

/// psad's `s/\s*RES=\S+\s*//` on the flag text (first occurrence).
fn strip_res(raw: &str) -> &str {
    let Some(p) = raw.find("RES=") else {
        return raw;
    };
    let before = raw[..p].trim_end_matches(|c: char| c.is_ascii_whitespace());
    let after = &raw[p + 4..];
    let after = after.trim_start_matches(|c: char| !c.is_ascii_whitespace());
    let after = after.trim_start_matches(|c: char| c.is_ascii_whitespace());
    // Both sides cannot be returned as one borrowed slice; psad's flag text
    // has RES first, so `before` is empty in every kernel line.
    if before.is_empty() {
        after
    } else if after.is_empty() {
        before
    } else {
        raw
    }
}

/// `pkt` as psad 2.4.6 reads the same line (Appendix A items 6 and 10):
///
/// * `ip_flags.df` only when ` DF` is directly followed by `PROTO` (so the
///   DF bit is lost when IP options are logged);
/// * for IPv4 echo request/reply, `icmp.id` holds the CODE and `icmp.seq`
///   the ICMP ID (psad's shifted captures);
/// * `prefix` is the text between the last `kernel:` and `IN=` (empty when
///   the line has no `kernel:`), less a leading uptime stamp.
pub fn psad_view<'a>(line: &'a str, pkt: &Packet<'a>) -> Packet<'a> {
    let mut p = *pkt;
    if !pkt.is_ipv6() {
        p.ip_flags.df = search(line, DF_PROTO).is_some();
    }
    if let Some(icmp) = p.icmp.as_mut() {
        if !pkt.is_ipv6() && (icmp.kind == 0 || icmp.kind == 8) {
            icmp.seq = icmp.id;
            icmp.id = Some(icmp.code as u16);
        }
    }
    p.prefix = psad_prefix(line);
    p
}

/// `/.*kernel:\s+(.*?)\s*IN=/` then `s/\[\s*\d+\.\d+\s*\]\s*//` at its start.
fn psad_prefix(line: &str) -> &str {
    let b = line.as_bytes();
    for k in memmem::rfind_iter(b, b"kernel:") {
        let mut i = k + 7;
        if !b.get(i).is_some_and(|&c| is_ws(c)) {
            continue;
        }
        while b.get(i).is_some_and(|&c| is_ws(c)) {
            i += 1;
        }
        let Some(p) = memmem::find(&b[i..], b"IN=") else {
            continue;
        };
        let mut pre = line[i..i + p].trim_end_matches(|c: char| c.is_ascii_whitespace());
        if pre.starts_with('[') {
            if let Some(close) = pre.find(']') {
                let inner = pre[1..close].trim_matches(|c: char| c.is_ascii_whitespace());
                let (a, c) = inner.split_once('.').unwrap_or(("", ""));
                let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
                if digits(a) && digits(c) {
                    pre = pre[close + 1..].trim_start_matches(|c: char| c.is_ascii_whitespace());
                }
            }
        }
        return pre;
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matcher_basics() {
        assert!(search("x DF PROTO=TCP", DF_PROTO).is_some());
        assert!(search("x DF OPT (00) PROTO=TCP", DF_PROTO).is_none());
        assert!(search("SRC=1.2.3.4 DST=5.6.7.8 ", V6_NUM).is_none());
        let c = search(
            "WINDOW=5 RES=0x00 SYN URGP=0",
            &[L("WINDOW="), D, W1, C(0), Any, E(0), W1, L("URGP=")],
        )
        .unwrap();
        assert_eq!(cap("WINDOW=5 RES=0x00 SYN URGP=0", c[0]), "RES=0x00 SYN");
        assert_eq!(strip_res("RES=0x00 SYN"), "SYN");
        assert_eq!(strip_res("RES=0x00"), "");
    }

    #[test]
    fn prefix() {
        assert_eq!(psad_prefix("Nov 1 h kernel: [ 1.5] DROP IN=a OUT="), "DROP");
        assert_eq!(psad_prefix("[ 1.5] DROP IN=a OUT="), "");
        assert_eq!(psad_prefix("a kernel: x kernel: Y IN=a"), "Y");
    }
}
