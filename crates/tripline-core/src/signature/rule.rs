//! Parsing one line of psad's signature format (spec §3.1, §3.2).

use super::ipopts::{IpOptions, OptSet};
use super::range::{self, expand_var, parse_range, Bounds, IntRange};
use super::{Classification, SigError, Signature};
use crate::net::IpNet;
use crate::packet::TcpFlags;
use std::net::IpAddr;

/// The protocol word of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigProto {
    /// `tcp`.
    Tcp,
    /// `udp`.
    Udp,
    /// `icmp`.
    Icmp,
    /// `ip`: matches any protocol on IP-level keywords only.
    Ip,
}

impl SigProto {
    /// The word as psad prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            SigProto::Tcp => "tcp",
            SigProto::Udp => "udp",
            SigProto::Icmp => "icmp",
            SigProto::Ip => "ip",
        }
    }
}

/// The direction operator of a rule header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `->`.
    Forward,
    /// `<-`: the right-hand side is the source.
    Reverse,
    /// `<>`: either way (psad treats it as `->`).
    Both,
}

/// An address field: `any`, a network, a list, with optional `!` negation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddrSpec {
    /// `any` (or `NOT_USED`) appeared: every IPv4 and IPv6 address.
    pub any: bool,
    /// Positive networks.
    pub nets: Vec<IpNet>,
    /// Negated networks (`!net`, or every element of `![...]`). psad 2.4.6
    /// ignores the `!` and treats these as positive.
    pub negated: Vec<IpNet>,
}

impl AddrSpec {
    /// True when `ip` satisfies the field in the selected mode.
    #[inline]
    pub fn matches(&self, ip: IpAddr, compat: bool) -> bool {
        if compat {
            return self.any
                || self.nets.iter().any(|n| n.contains(ip))
                || self.negated.iter().any(|n| n.contains(ip));
        }
        let pos = self.any
            || (self.nets.is_empty() && !self.negated.is_empty())
            || self.nets.iter().any(|n| n.contains(ip));
        pos && !self.negated.iter().any(|n| n.contains(ip))
    }
}

/// The snort flag modifier of a `flags:` option (default mode only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagMode {
    /// No modifier: exactly these flags (outside the mask).
    Exact,
    /// `+`: these flags and possibly others.
    All,
    /// `*`: at least one of these flags.
    Any,
    /// `!`: none of these flags.
    Not,
}

/// A parsed `flags:` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagSpec {
    /// psad 2.4.6's reading: the exact flag set the kernel text must equal,
    /// or `None` when the rule's flag text came out empty (e.g. `flags:0`),
    /// which never equals any packet.
    pub compat: Option<u8>,
    /// Our reading: flag bits (`TcpFlags` layout), ACK added by `flow:established`.
    pub bits: u8,
    /// Bits after the `,` that are ignored when comparing.
    pub mask: u8,
    /// Modifier.
    pub mode: FlagMode,
}

impl FlagSpec {
    /// True when packet flags `f` satisfy the option in the selected mode.
    #[inline]
    pub fn matches(&self, f: u8, compat: bool) -> bool {
        if compat {
            return self.compat == Some(f);
        }
        let f = f & !self.mask;
        let b = self.bits & !self.mask;
        match self.mode {
            FlagMode::Exact => f == b,
            FlagMode::All => f & b == b,
            FlagMode::Any => f & b != 0,
            FlagMode::Not => f & b == 0,
        }
    }
}

/// An `ipopts:` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpOptsSpec {
    /// `ipopts:any`: any logged IP option.
    Any,
    /// The option values known under the given name.
    Values(OptSet),
}

/// Everything a rule tests, as parsed. Ports and addresses are kept in
/// header order; [`Direction`] says how they apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conditions {
    /// Left-hand address.
    pub src: AddrSpec,
    /// Left-hand port.
    pub sport: IntRange,
    /// Direction operator.
    pub dir: Direction,
    /// Right-hand address.
    pub dst: AddrSpec,
    /// Right-hand port.
    pub dport: IntRange,
    /// `ttl:`.
    pub ttl: Option<IntRange>,
    /// `id:` (IP ID).
    pub id: Option<IntRange>,
    /// `psad_ip_len:`.
    pub ip_len: Option<IntRange>,
    /// `ipopts:`.
    pub ipopts: Option<IpOptsSpec>,
    /// `sameip`.
    pub sameip: bool,
    /// `ip_proto:` (never matches in compat mode).
    pub ip_proto: Option<IntRange>,
    /// `flags:`.
    pub flags: Option<FlagSpec>,
    /// `flow:` lists `established` (default mode: requires ACK when `flags` is absent).
    pub established: bool,
    /// `seq:`.
    pub seq: Option<IntRange>,
    /// `ack:`.
    pub ack: Option<IntRange>,
    /// `window:`.
    pub window: Option<IntRange>,
    /// `dsize:`.
    pub dsize: Option<IntRange>,
    /// `psad_dsize:` (same meaning as `dsize`).
    pub psad_dsize: Option<IntRange>,
    /// `itype:`.
    pub itype: Option<IntRange>,
    /// `icode:`.
    pub icode: Option<IntRange>,
    /// `icmp_id:`.
    pub icmp_id: Option<IntRange>,
    /// `icmp_seq:`.
    pub icmp_seq: Option<IntRange>,
}

/// Options psad 2.4.6 refuses (`@unsupported_snort_opts`, minus `ip_proto`,
/// which we parse).
pub const UNSUPPORTED: &[&str] = &[
    "pcre",
    "fragbits",
    "content-list",
    "rpc",
    "byte_test",
    "byte_jump",
    "distance",
    "within",
    "flowbits",
    "rawbytes",
    "regex",
    "isdataat",
    "uricontent",
    "content",
    "offset",
    "replace",
    "resp",
];

/// Context shared by every line of one file.
pub(crate) struct LineCtx<'a> {
    pub file: &'a str,
    pub strict: bool,
    pub vars: &'a dyn Fn(&str) -> Option<String>,
    pub classification: Option<&'a Classification>,
    pub ip_options: &'a IpOptions,
}

/// What one line turned into.
pub(crate) enum LineResult {
    /// A rule (with any warnings about it).
    Rule(Box<Signature>, Vec<SigError>),
    /// A rule skipped in non-strict mode, with the reason.
    Skipped(SigError),
}

/// `key`, `value` (raw, trimmed), from the option text split at unquoted,
/// unescaped `;`.
pub(crate) fn split_options<'t>(text: &'t str) -> Vec<(String, &'t str)> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0usize, false, false);
    let mut push = |tok: &'t str| {
        let tok = tok.trim();
        if tok.is_empty() {
            return;
        }
        match tok.split_once(':') {
            Some((k, v)) => out.push((k.trim().to_ascii_lowercase(), v.trim())),
            None => out.push((tok.to_ascii_lowercase(), "")),
        }
    };
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    push(&text[start..]);
    out
}

/// Remove backslash escapes.
pub(crate) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut esc = false;
    for c in s.chars() {
        if esc || c != '\\' {
            out.push(c);
            esc = false;
        } else {
            esc = true;
        }
    }
    out
}

/// A `"quoted"` value without its quotes, unescaped.
pub(crate) fn quoted(v: &str) -> Option<String> {
    let inner = v.strip_prefix('"')?.strip_suffix('"')?;
    Some(unescape(inner))
}

/// Split a rule line into header and option text: the header ends at the
/// first whitespace followed by `(`, the options run to the last `)`.
pub(crate) fn split_rule(line: &str) -> Option<(&str, &str)> {
    let b = line.as_bytes();
    let open = (1..b.len()).find(|&i| b[i] == b'(' && b[i - 1].is_ascii_whitespace())?;
    let close = line.rfind(')')?;
    if close <= open {
        return None;
    }
    Some((line[..open].trim_end(), &line[open + 1..close]))
}

fn parse_addr(field: &str, vars: &dyn Fn(&str) -> Option<String>) -> Result<AddrSpec, String> {
    let s = expand_var(field, vars)?;
    let s = s.trim();
    let (neg_all, body) = match s.strip_prefix('!') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let body: String = body.chars().filter(|&c| c != '[' && c != ']').collect();
    let mut spec = AddrSpec::default();
    let mut n = 0;
    for e in body.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        n += 1;
        let (neg, e) = match e.strip_prefix('!') {
            Some(x) => (!neg_all, x.trim()),
            None => (neg_all, e),
        };
        let upper = e.to_ascii_uppercase();
        if e == "any" || upper == "NOT_USED" || upper == "NOTUSED" {
            if neg {
                return Err(format!("negated 'any' in {field:?} can never match"));
            }
            spec.any = true;
        } else {
            let net: IpNet = e
                .parse()
                .map_err(|_| format!("invalid address {e:?} in {field:?}"))?;
            if neg {
                spec.negated.push(net);
            } else {
                spec.nets.push(net);
            }
        }
    }
    if n == 0 {
        return Err(format!("empty address field {field:?}"));
    }
    Ok(spec)
}

fn flag_bit(c: char) -> Option<u8> {
    Some(match c {
        'F' => TcpFlags::FIN,
        'S' => TcpFlags::SYN,
        'R' => TcpFlags::RST,
        'P' => TcpFlags::PSH,
        'A' => TcpFlags::ACK,
        'U' => TcpFlags::URG,
        'C' | '1' => TcpFlags::CWR,
        'E' | '2' => TcpFlags::ECE,
        _ => return None,
    })
}

/// Parse `flags:` both ways; `est_compat` / `est` say whether `flow:`
/// asked for an established connection in psad's / our reading.
fn parse_flags(v: &str, est_compat: bool, est: bool) -> Result<FlagSpec, String> {
    // psad: the letters U A P R S F anywhere (case-sensitive), N = NULL.
    let mut c = 0u8;
    for (ch, bit) in [
        ('U', TcpFlags::URG),
        ('P', TcpFlags::PSH),
        ('R', TcpFlags::RST),
        ('S', TcpFlags::SYN),
        ('F', TcpFlags::FIN),
    ] {
        if v.contains(ch) {
            c |= bit;
        }
    }
    if v.contains('A') || est_compat {
        c |= TcpFlags::ACK;
    }
    let compat = if v.contains('N') {
        Some(0)
    } else if c == 0 {
        None
    } else {
        Some(c)
    };

    let (main, mask_txt) = v.split_once(',').unwrap_or((v, ""));
    let (mut bits, mut mask, mut mode) = (0u8, 0u8, FlagMode::Exact);
    for ch in main.chars() {
        match ch {
            '+' => mode = FlagMode::All,
            '*' => mode = FlagMode::Any,
            '!' => mode = FlagMode::Not,
            '0' | 'N' => {}
            c if c.is_whitespace() => {}
            c => bits |= flag_bit(c).ok_or_else(|| format!("unknown TCP flag {c:?} in {v:?}"))?,
        }
    }
    for ch in mask_txt.chars().filter(|c| !c.is_whitespace()) {
        mask |= flag_bit(ch).ok_or_else(|| format!("unknown TCP flag {ch:?} in mask of {v:?}"))?;
    }
    if est {
        bits |= TcpFlags::ACK;
    }
    Ok(FlagSpec {
        compat,
        bits,
        mask,
        mode,
    })
}

fn num_u32(v: &str) -> Option<u32> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// Parse one non-comment line. Hard errors are returned as `Err`; rules that
/// non-strict mode skips come back as `Skipped`.
pub(crate) fn parse_line(
    line: &str,
    lineno: usize,
    cx: &LineCtx<'_>,
) -> Result<LineResult, SigError> {
    let err = |m: String| SigError::new(cx.file, lineno, m);
    let (hdr, opts) = split_rule(line)
        .ok_or_else(|| err("bad signature: expected `<header> (<options>)`".into()))?;
    let f: Vec<&str> = hdr.split_whitespace().collect();
    if f.len() < 7 || f[0] != "alert" {
        return Err(err(format!(
            "bad rule header {hdr:?}: expected `alert <proto> <src> <sport> <dir> <dst> <dport>`"
        )));
    }
    let kind = match f[1].to_ascii_lowercase().as_str() {
        "tcp" => SigProto::Tcp,
        "udp" => SigProto::Udp,
        "icmp" => SigProto::Icmp,
        "ip" => SigProto::Ip,
        p => return Err(err(format!("unsupported protocol {p:?}"))),
    };
    let dir = match f[4] {
        "->" => Direction::Forward,
        "<-" => Direction::Reverse,
        "<>" => Direction::Both,
        d => return Err(err(format!("bad direction {d:?} (expected ->, <- or <>)"))),
    };
    let vars = cx.vars;
    let src = parse_addr(f[2], vars).map_err(&err)?;
    let dst = parse_addr(f[5], vars).map_err(&err)?;
    let port = |p: &str| -> Result<IntRange, SigError> {
        let e = expand_var(p, vars).map_err(&err)?;
        if e.contains('[') || e.contains(',') {
            return Err(err(format!("port lists are not supported: {p:?}")));
        }
        parse_range(&e, range::PORT).map_err(|m| err(format!("port {m}")))
    };
    let sport = port(f[3])?;
    let dport = port(f[6])?;

    let options = split_options(opts);
    let get = |k: &str| options.iter().find(|(key, _)| key == k).map(|(_, v)| *v);

    if let Some((k, _)) = options
        .iter()
        .find(|(k, _)| UNSUPPORTED.contains(&k.as_str()))
    {
        let e = err(format!("unsupported rule option {k:?}"));
        return if cx.strict {
            Err(e)
        } else {
            Ok(LineResult::Skipped(e))
        };
    }
    let psad_id = match get("psad_id") {
        Some(v) => num_u32(v).ok_or_else(|| err(format!("bad psad_id {v:?}")))?,
        None => {
            let e = err("missing psad_id".into());
            return if cx.strict {
                Err(e)
            } else {
                Ok(LineResult::Skipped(e))
            };
        }
    };
    let sid = match get("sid") {
        Some(v) => Some(num_u32(v).ok_or_else(|| err(format!("bad sid {v:?}")))?),
        None => None,
    };
    let msg = match get("msg") {
        Some(v) => quoted(v)
            .filter(|m| !m.is_empty())
            .ok_or_else(|| err(format!("msg must be a non-empty quoted string, got {v:?}")))?,
        None => return Err(err("missing msg".into())),
    };
    let classtype = get("classtype")
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let references = options
        .iter()
        .filter(|(k, _)| k == "reference")
        .filter_map(|(_, v)| {
            let (t, val) = v.split_once(',')?;
            let t = t.trim();
            let val = unescape(val.trim());
            let val = val.split_whitespace().next()?.to_string();
            (!t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .then(|| (t.to_ascii_lowercase(), val))
        })
        .collect();
    let dl = match get("psad_dl") {
        Some(v) => match num_u32(v) {
            Some(d) if d <= 5 => d as u8,
            _ => return Err(err(format!("psad_dl must be 0..5, got {v:?}"))),
        },
        None => classtype
            .as_deref()
            .and_then(|c| cx.classification.and_then(|cl| cl.dl(c)))
            .unwrap_or(2),
    };
    let derived_sids = get("psad_derived_sids")
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();

    let mut warnings = Vec::new();
    let applies = |k: &str| -> bool {
        match k {
            "flags" | "flow" | "seq" | "ack" | "window" => kind == SigProto::Tcp,
            "itype" | "icode" | "icmp_id" | "icmp_seq" => kind == SigProto::Icmp,
            "dsize" | "psad_dsize" => kind != SigProto::Ip,
            "ip_proto" => kind == SigProto::Ip,
            _ => true,
        }
    };
    for (k, _) in &options {
        let known = matches!(
            k.as_str(),
            "flags"
                | "flow"
                | "seq"
                | "ack"
                | "window"
                | "itype"
                | "icode"
                | "icmp_id"
                | "icmp_seq"
                | "dsize"
                | "psad_dsize"
                | "ip_proto"
        );
        if known && !applies(k) {
            warnings.push(err(format!("{k} ignored in a {} rule", kind.as_str())));
        }
    }
    let int = |k: &str, b: Bounds| -> Result<Option<IntRange>, SigError> {
        if !applies(k) {
            return Ok(None);
        }
        let Some(v) = get(k) else { return Ok(None) };
        let e = expand_var(v, vars).map_err(&err)?;
        parse_range(&e, b)
            .map(Some)
            .map_err(|m| err(format!("{k}: {m}")))
    };

    let ipopts = match get("ipopts") {
        None => None,
        Some(v) => {
            let name = v.to_ascii_lowercase();
            if name == "any" {
                Some(IpOptsSpec::Any)
            } else {
                let set = cx.ip_options.values_for(&name);
                if set == [0; 4] {
                    warnings.push(err(format!(
                        "unknown IP option {name:?}: the rule can never match"
                    )));
                }
                Some(IpOptsSpec::Values(set))
            }
        }
    };
    let flow = if kind == SigProto::Tcp {
        get("flow")
    } else {
        None
    };
    let est_compat = flow.is_some_and(|v| v.trim().eq_ignore_ascii_case("established"));
    let established = flow.is_some_and(|v| {
        v.split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("established"))
    });
    let flags = match get("flags").filter(|_| kind == SigProto::Tcp) {
        Some(v) => Some(parse_flags(v, est_compat, established).map_err(&err)?),
        None => None,
    };
    let ip_proto = int("ip_proto", range::IP_PROTO)?;
    if ip_proto.is_some() {
        warnings.push(err(
            "ip_proto: psad 2.4.6 refuses this option; the rule never matches in compat mode"
                .into(),
        ));
    }

    let cond = Conditions {
        src,
        sport,
        dir,
        dst,
        dport,
        ttl: int("ttl", range::TTL)?,
        id: int("id", range::IP_ID)?,
        ip_len: int("psad_ip_len", range::IP_LEN)?,
        ipopts,
        sameip: get("sameip").is_some(),
        ip_proto,
        flags,
        established,
        seq: int("seq", range::SEQ)?,
        ack: int("ack", range::SEQ)?,
        window: int("window", range::WINDOW)?,
        dsize: int("dsize", range::DSIZE)?,
        psad_dsize: int("psad_dsize", range::DSIZE)?,
        itype: int("itype", range::ICMP_TYPE)?,
        icode: int("icode", range::ICMP_TYPE)?,
        icmp_id: int("icmp_id", range::ICMP_ID)?,
        icmp_seq: int("icmp_seq", range::ICMP_SEQ)?,
    };
    let sig = Signature {
        key: sid.unwrap_or(psad_id),
        key_is_psad_id: sid.is_none(),
        msg,
        proto: kind.as_str(),
        dl,
        classtype,
        kind,
        sid,
        psad_id,
        references,
        derived_sids,
        line: lineno,
        cond,
    };
    Ok(LineResult::Rule(Box::new(sig), warnings))
}
