//! psad's p0f method: the p0f v1 SYN database (`/etc/psad/pf.os`) and psad's
//! matcher for it (spec §4.1).
//!
//! Line format `wwww:ttt:D:ss:OOO:OS-description`. psad's matcher differs from
//! p0f v1's in ways this module keeps on purpose:
//!
//! * options are compared position by position against psad's *recognised*
//!   options (NOP, MSS, WS, SACK, TS; unknown kinds take no position), and the
//!   packet may carry more options than the rule lists;
//! * rule elements other than `N M W S T` (`E`, `?n`, `.`) are not checked but
//!   still take their position;
//! * `Snn` windows take the MSS only from the packet's *first* option;
//! * `Tnn` (MTU multiple) window rules are discarded at load;
//! * TTL must lie in `(ttt − MAX_HOPS, ttt]`; quirks are not supported.

use super::tcp_options::{PsadOpt, PsadOptions};
use super::FpError;

/// A numeric field that may be `*`, `%N` or exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    Any,
    Mod(u64),
    Exact(u64),
}

impl Num {
    fn matches(self, v: u64) -> bool {
        match self {
            Num::Any => true,
            Num::Mod(n) => v % n == 0,
            Num::Exact(n) => v == n,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    Num(Num),
    /// `Snn`: window = nn × MSS of the first option.
    Mss(u64),
}

/// One element of the options list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OptRule {
    Nop,
    Sack,
    /// `T` (any) or `T0` (TSval must be 0).
    Ts {
        zero: bool,
    },
    Mss(Num),
    Ws(Num),
    /// `E`, `?n`, `.`: psad does not check these, but they keep their position.
    Unchecked,
}

#[derive(Debug, Clone)]
struct Entry {
    window: Window,
    ttl: i64,
    /// `None` = `*`.
    df: Option<bool>,
    size: Num,
    opts: std::ops::Range<u32>,
    os: u16,
    sig: Box<str>,
    line: u32,
}

/// A parsed pf.os database.
#[derive(Debug, Clone, Default)]
pub struct PfOs {
    entries: Vec<Entry>,
    rules: Vec<OptRule>,
    /// Distinct OS strings; entries refer to them by index so guesses dedupe
    /// the way psad's `%p0f{src}{os}` hash does.
    os_names: Vec<Box<str>>,
    discarded: u32,
}

/// What the pf.os matcher needs from a packet.
#[derive(Debug, Clone, Copy)]
pub struct PfOsPacket<'a> {
    /// IP `LEN=`.
    pub len: u32,
    /// DF bit as psad sees it (see `parse::psad_view`).
    pub df: bool,
    /// TTL.
    pub ttl: u8,
    /// TCP window.
    pub window: u16,
    /// psad's reading of the TCP options.
    pub opts: &'a PsadOptions,
}

fn parse_num(s: &str, what: &str, allow_any: bool) -> Result<Num, String> {
    if s == "*" && allow_any {
        return Ok(Num::Any);
    }
    if let Some(m) = s.strip_prefix('%') {
        let n = digits(m).ok_or_else(|| format!("bad {what} modulus {s:?}"))?;
        if n == 0 {
            return Err(format!("{what} modulus %0 divides by zero"));
        }
        return Ok(Num::Mod(n));
    }
    digits(s)
        .map(Num::Exact)
        .ok_or_else(|| format!("bad {what} {s:?} (want *, %N or a number)"))
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// psad reads an `M`/`W` element as: `M<digits>` exact, `M%<digits>` modulus,
/// anything else (`M*`) any value.
fn parse_val(rest: &str, elem: &str) -> Result<Num, String> {
    if rest == "*" {
        Ok(Num::Any)
    } else {
        parse_num(rest, "option value", false).map_err(|e| format!("option {elem:?}: {e}"))
    }
}

fn parse_opt(e: &str) -> Result<OptRule, String> {
    Ok(match e {
        "N" => OptRule::Nop,
        "S" => OptRule::Sack,
        "T" => OptRule::Ts { zero: false },
        "T0" => OptRule::Ts { zero: true },
        "E" | "." => OptRule::Unchecked,
        _ => {
            if let Some(r) = e.strip_prefix('M') {
                OptRule::Mss(parse_val(r, e)?)
            } else if let Some(r) = e.strip_prefix('W') {
                OptRule::Ws(parse_val(r, e)?)
            } else if e.strip_prefix('?').is_some_and(|r| digits(r).is_some()) {
                OptRule::Unchecked
            } else {
                return Err(format!(
                    "unknown option {e:?} (want N, S, T, T0, E, ?n, Mnnn, Wnnn or .)"
                ));
            }
        }
    })
}

impl PfOs {
    /// Parse a pf.os file. `file` names it in errors (`file:line: …`).
    ///
    /// Lines are read with psad's pattern `^(\S+?):(\S+?):(\S+?):(\S+?):(\S+?):\s+(.*)`;
    /// a line that does not fit, or a field psad could not use, is an error
    /// (psad would silently skip the former and misbehave on the latter).
    pub fn parse(text: &str, file: &str) -> Result<PfOs, FpError> {
        let mut db = PfOs::default();
        let mut names: std::collections::HashMap<Box<str>, u16> = Default::default();
        for (idx, raw) in text.split('\n').enumerate() {
            let line_no = idx as u32 + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let t = line.trim_start_matches(|c: char| c.is_ascii_whitespace());
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let err = |msg: String| FpError::new(file, line_no, msg);
            // psad's own line pattern (psad_line.rs).
            let Some((fields, os)) = super::psad_line::pfos(line) else {
                return Err(err(
                    "not a pf.os line (want wwww:ttt:D:ss:OOO: OS)".to_string()
                ));
            };
            let f = |i: usize| fields[i - 1];
            let (win, ttl, df, size, opts) = (f(1), f(2), f(3), f(4), f(5));
            // psad drops MTU-based windows (`Tnn`): anything with a T in it.
            if win.contains('T') {
                db.discarded += 1;
                continue;
            }
            let window = if let Some(m) = win.strip_prefix('S') {
                Window::Mss(digits(m).ok_or_else(|| err(format!("bad window {win:?}")))?)
            } else {
                Window::Num(parse_num(win, "window", true).map_err(err)?)
            };
            let ttl = digits(ttl).ok_or_else(|| err(format!("bad TTL {ttl:?}")))? as i64;
            let df = match df {
                "0" => Some(false),
                "1" => Some(true),
                "*" => None,
                _ => return Err(err(format!("bad DF flag {df:?} (want 0, 1 or *)"))),
            };
            let size = parse_num(size, "size", true).map_err(err)?;
            let start = db.rules.len() as u32;
            for e in opts.split(',') {
                db.rules.push(parse_opt(e).map_err(err)?);
            }
            let end = db.rules.len() as u32;
            let os_id = match names.get(os) {
                Some(&id) => id,
                None => {
                    let id = u16::try_from(db.os_names.len())
                        .map_err(|_| err("more than 65535 OS names".to_string()))?;
                    db.os_names.push(os.into());
                    names.insert(os.into(), id);
                    id
                }
            };
            if db.entries.len() >= u16::MAX as usize {
                return Err(err("more than 65535 entries".to_string()));
            }
            db.entries.push(Entry {
                window,
                ttl,
                df,
                size,
                opts: start..end,
                os: os_id,
                sig: format!("{win}:{}:{}:{}:{opts}", f(2), f(3), f(4)).into(),
                line: line_no,
            });
        }
        Ok(db)
    }

    /// Number of usable entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no entry is usable.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries dropped at load because their window is MTU-based (`Tnn`).
    pub fn discarded(&self) -> u32 {
        self.discarded
    }

    /// Indices of every entry matching `pkt`, in file order.
    pub fn matches<'s>(
        &'s self,
        pkt: &'s PfOsPacket<'_>,
        max_hops: u8,
    ) -> impl Iterator<Item = usize> + 's {
        let opts = pkt.opts.as_slice();
        let first_mss = match opts.first() {
            Some(PsadOpt::Mss(v)) => Some(*v),
            _ => None,
        };
        let ttl = pkt.ttl as i64;
        self.entries.iter().enumerate().filter_map(move |(i, e)| {
            let ok = e.size.matches(pkt.len as u64)
                && e.df.is_none_or(|d| d == pkt.df)
                && ttl > e.ttl - max_hops as i64
                && ttl <= e.ttl
                && match e.window {
                    Window::Num(n) => n.matches(pkt.window as u64),
                    Window::Mss(k) => {
                        first_mss.is_some_and(|m| m.checked_mul(k) == Some(pkt.window as u64))
                    }
                }
                && self.rules[e.opts.start as usize..e.opts.end as usize]
                    .iter()
                    .enumerate()
                    .all(|(p, r)| rule_ok(*r, opts.get(p)));
            ok.then_some(i)
        })
    }

    /// The OS id of entry `i` (equal ids = equal OS strings).
    pub fn os_id(&self, i: usize) -> Option<u16> {
        self.entries.get(i).map(|e| e.os)
    }

    /// The OS string of entry `i`, as psad reports it (`Linux:2.4::Linux 2.4/2.6 <= 2.6.7`).
    pub fn os(&self, i: usize) -> Option<&str> {
        self.entries.get(i).map(|e| &*self.os_names[e.os as usize])
    }

    /// The signature text of entry `i` (`S4:64:1:60:M*,S,T,N,W0`).
    pub fn sig(&self, i: usize) -> Option<&str> {
        self.entries.get(i).map(|e| &*e.sig)
    }

    /// The file line of entry `i`.
    pub fn line(&self, i: usize) -> Option<u32> {
        self.entries.get(i).map(|e| e.line)
    }
}

fn rule_ok(rule: OptRule, opt: Option<&PsadOpt>) -> bool {
    match (rule, opt) {
        (OptRule::Unchecked, _) => true,
        (OptRule::Nop, Some(PsadOpt::Nop)) => true,
        (OptRule::Sack, Some(PsadOpt::SackPermitted)) => true,
        (OptRule::Ts { zero }, Some(PsadOpt::Timestamp(v))) => !zero || *v == 0,
        (OptRule::Mss(n), Some(PsadOpt::Mss(v))) => n.matches(*v),
        (OptRule::Ws(n), Some(PsadOpt::WindowScale(v))) => n.matches(*v),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches() {
        let db = PfOs::parse(
            "# c\n\nS4:64:1:60:M*,S,T,N,W0:\tLinux:2.4::Linux 2.4\nT4:64:1:60:M*:  X:1::x\n1024:64:0:44:M1460:  NMap:SYN::nmap\n",
            "t.os",
        )
        .unwrap();
        assert_eq!(db.len(), 2);
        assert_eq!(db.discarded(), 1);
        let o = PsadOptions::parse_hex("020405B40402080A2E78921E0000000001030300");
        let p = PfOsPacket {
            len: 60,
            df: true,
            ttl: 64,
            window: 5840,
            opts: &o,
        };
        let m: Vec<_> = db.matches(&p, 20).collect();
        assert_eq!(m, vec![0]);
        assert_eq!(db.os(0), Some("Linux:2.4::Linux 2.4"));
        assert_eq!(db.sig(0), Some("S4:64:1:60:M*,S,T,N,W0"));
        // TTL window is (44, 64].
        let p2 = PfOsPacket { ttl: 44, ..p };
        assert_eq!(db.matches(&p2, 20).count(), 0);
    }

    #[test]
    fn errors_name_the_line() {
        let e = PfOs::parse("\n1024:64:0:44:M1460:  ok\nbogus line\n", "f.os").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.os:3: not a pf.os line (want wwww:ttt:D:ss:OOO: OS)"
        );
        let e = PfOs::parse("%0:64:0:44:M1460:  x\n", "f.os").unwrap_err();
        assert_eq!(e.line, 1);
        let e = PfOs::parse("1024:64:2:44:M1460:  x\n", "f.os").unwrap_err();
        assert!(e.to_string().contains("DF"));
        let e = PfOs::parse("1024:64:0:44:Q:  x\n", "f.os").unwrap_err();
        assert!(e.to_string().contains("unknown option"));
    }
}
