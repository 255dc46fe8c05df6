//! Passive OS fingerprinting from logged SYNs (spec §4).
//!
//! Three methods, each with its own database:
//!
//! * **pf.os** ([`PfOs`]): psad's p0f method over a p0f v1 SYN database, for
//!   SYNs whose TCP options were logged. Every matching OS is accumulated.
//! * **posf** ([`Posf`]): psad's method for option-less SYNs: LEN, TTL,
//!   WINDOW and the IP ID pattern, until a guess or 100 packets per pair.
//! * **p0f v3** ([`P0f3`]): the `[tcp:request]` signatures of p0f 3's
//!   `p0f.fp`, best match per SYN (exact, then generic, then fuzzy). Not a
//!   psad feature; IPv6 SYNs are fingerprinted here outside compat mode.
//!
//! Databases are parsed from text ([`PfOs::parse`], [`Posf::parse`],
//! [`P0f3::parse`]; errors name `file:line`) or taken from Tripline's own
//! small built-in set ([`Fingerprints::builtin`]).
//!
//! **Driving it.** The engine keeps one [`OsState`] per source that sent a
//! SYN, in a map of its own (OS state is not part of the per-source budget),
//! and calls [`OsState::observe`] for every TCP packet with SYN that passed
//! its filters (psad fingerprints after the `IGNORE_CONNTRACK_BUG_PKTS`
//! ACK/RST drop, auto_dl and signature DL-0 skips). In compat mode pass the
//! `parse::psad_view` packet, so DF is lost when IP options were logged, as
//! psad loses it. [`OsState::guesses`] and [`OsState::psad_report`] read the
//! results back; they need the same [`Fingerprints`] the state was fed with,
//! because the state holds entry indices, not strings (replace both together).

pub mod p0f3;
pub mod pfos;
pub mod posf;
mod psad_line;
pub mod tcp_options;

use std::fmt;

pub use p0f3::{P0f3, P0fPacket, Quality};
pub use pfos::{PfOs, PfOsPacket};
pub use posf::{Posf, PosfEvidence, PosfPacket};
pub use tcp_options::{PsadOpt, PsadOptions, TcpOpt, TcpOptions};

use crate::packet::{Packet, TcpFlags};

/// A database line that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FpError {
    /// The file name given to the parser.
    pub file: String,
    /// 1-based line number.
    pub line: u32,
    /// What is wrong.
    pub msg: String,
}

impl FpError {
    fn new(file: &str, line: u32, msg: impl Into<String>) -> Self {
        FpError {
            file: file.to_string(),
            line,
            msg: msg.into(),
        }
    }
}

impl fmt::Display for FpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.msg)
    }
}

impl std::error::Error for FpError {}

/// A database line psad would skip or an entry it would drop (psad syslogs
/// these); the database is still usable.
pub type FpWarning = FpError;

/// pf.os-format database shipped with Tripline (our own entries).
pub const BUILTIN_PFOS: &str = include_str!("../../data/fingerprints.pf.os");
/// posf-format database shipped with Tripline (our own entries).
pub const BUILTIN_POSF: &str = include_str!("../../data/fingerprints.posf");

/// psad's default `MAX_HOPS`.
pub const DEFAULT_MAX_HOPS: u8 = 20;

/// Most distinct pf.os OS strings kept per source. psad keeps all of them;
/// real stacks match a handful, so the rest are dropped to bound memory.
pub const MAX_PFOS_GUESSES: usize = 8;

/// psad stops posf for a pair after this many packets.
pub const POSF_PAIR_LIMIT: u64 = 100;

/// Every database the fingerprinting methods use.
#[derive(Debug, Clone)]
pub struct Fingerprints {
    /// psad's p0f method (pf.os format).
    pub pfos: PfOs,
    /// psad's posf method.
    pub posf: Posf,
    /// p0f v3 signatures, when a `p0f.fp` was loaded.
    pub p0f3: Option<P0f3>,
    /// `MAX_HOPS` for the pf.os TTL test (posf always uses 20, as psad).
    pub max_hops: u8,
}

impl Fingerprints {
    /// Tripline's own small databases (`data/fingerprints.pf.os`,
    /// `data/fingerprints.posf`); no p0f v3 signatures.
    pub fn builtin() -> Fingerprints {
        Fingerprints {
            pfos: PfOs::parse(BUILTIN_PFOS, "builtin pf.os").expect("built-in pf.os parses"),
            posf: Posf::parse(BUILTIN_POSF, "builtin posf").expect("built-in posf parses"),
            p0f3: None,
            max_hops: DEFAULT_MAX_HOPS,
        }
    }

    /// No databases at all: nothing is ever guessed.
    pub fn empty() -> Fingerprints {
        Fingerprints {
            pfos: PfOs::default(),
            posf: Posf::default(),
            p0f3: None,
            max_hops: DEFAULT_MAX_HOPS,
        }
    }
}

/// Which method produced a guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// psad's p0f method over pf.os.
    PfOs,
    /// psad's posf method.
    Posf,
    /// p0f v3 signatures.
    P0f3,
}

/// One OS guess, borrowing its text from the databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsGuess<'a> {
    /// The method.
    pub method: Method,
    /// pf.os: the OS field as psad prints it (`Linux:2.4::Linux 2.4/2.6 <= 2.6.7`);
    /// posf: the OS name; p0f v3: the label (`s:unix:Linux:3.11 and newer`).
    pub os: &'a str,
    /// The fingerprint that matched: pf.os `S4:64:1:60:M*,S,T,N,W0`, posf
    /// `NUMPKTS 3; TOS 0x10; …`, p0f v3 `*:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0`.
    pub matched: &'a str,
    /// Exact, generic (pf.os `@` entries, p0f `g:` labels) or fuzzy (p0f v3).
    pub quality: Quality,
    /// Database line of the matched entry.
    pub line: u32,
}

/// Per-source fingerprinting state: 32 bytes inline, plus a 48-byte box for
/// posf evidence once an option-less SYN was seen. Bounded: at most
/// [`MAX_PFOS_GUESSES`] pf.os guesses, one posf guess, one p0f v3 match.
///
/// Cost (release build, dev corpus): about 150 ns per SYN with options
/// against psad's 233 pf.os entries, about 130 ns more when a `p0f.fp` is
/// loaded; option-less SYNs only touch the posf evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OsState {
    /// pf.os entry indices, one per distinct OS string, in order of discovery.
    pfos: [u16; MAX_PFOS_GUESSES],
    pfos_len: u8,
    /// Set when a further distinct OS string did not fit.
    pfos_full: bool,
    /// Best p0f v3 match so far: (signature index, quality).
    p0f3: Option<(u16, Quality)>,
    posf: Option<Box<PosfEvidence>>,
}

impl OsState {
    /// Feed one packet. Only TCP segments with SYN count (psad's
    /// `flags =~ /SYN/`); in `compat` mode IPv6 is skipped, as psad's IPv6
    /// fingerprinting is a stub. `pair_packets` is the engine's packet count
    /// for this (src, dst) pair including this packet (psad's `absnum`):
    /// posf stops at [`POSF_PAIR_LIMIT`].
    ///
    /// Returns true when a new guess appeared (a new pf.os OS string, the
    /// posf guess, or a better p0f v3 match).
    pub fn observe(
        &mut self,
        pkt: &Packet<'_>,
        fps: &Fingerprints,
        compat: bool,
        pair_packets: u64,
    ) -> bool {
        let Some(tcp) = pkt.tcp else {
            return false;
        };
        if !tcp.flags.has(TcpFlags::SYN) {
            return false;
        }
        let v6 = pkt.is_ipv6();
        if v6 && compat {
            return false;
        }
        let mut changed = false;
        if !v6 {
            if !tcp.options.is_empty() {
                let opts = PsadOptions::parse_hex(tcp.options);
                let p = PfOsPacket {
                    len: pkt.len,
                    df: pkt.ip_flags.df,
                    ttl: pkt.ttl,
                    window: tcp.window,
                    opts: &opts,
                };
                for i in fps.pfos.matches(&p, fps.max_hops) {
                    changed |= self.add_pfos(i, &fps.pfos);
                }
            } else if pair_packets < POSF_PAIR_LIMIT
                && !fps.posf.is_empty()
                && self.posf.as_ref().is_none_or(|e| e.guess().is_none())
            {
                let ev = self.posf.get_or_insert_with(Default::default);
                let p = PosfPacket {
                    len: pkt.len,
                    ttl: pkt.ttl,
                    id: pkt.ip_id.unwrap_or(0),
                    window: tcp.window,
                };
                changed |= fps.posf.observe(ev, p).is_some();
            }
        }
        if let Some(db) = &fps.p0f3 {
            if let Some(hit) = P0fPacket::from_packet(pkt).and_then(|p| db.best_match(&p)) {
                // Keep the best quality seen; the first among equals.
                if self.p0f3.is_none_or(|(_, q)| hit.1 < q) {
                    self.p0f3 = Some((hit.0 as u16, hit.1));
                    changed = true;
                }
            }
        }
        changed
    }

    fn add_pfos(&mut self, i: usize, db: &PfOs) -> bool {
        let os = db.os_id(i);
        let known = self.pfos[..self.pfos_len as usize]
            .iter()
            .any(|&j| db.os_id(j as usize) == os);
        if known {
            return false;
        }
        if (self.pfos_len as usize) == MAX_PFOS_GUESSES {
            self.pfos_full = true;
            return false;
        }
        self.pfos[self.pfos_len as usize] = i as u16;
        self.pfos_len += 1;
        true
    }

    /// True when no method has guessed anything.
    pub fn is_empty(&self) -> bool {
        self.pfos_len == 0 && self.p0f3.is_none() && self.posf_guess().is_none()
    }

    /// True when more distinct pf.os OS strings matched than
    /// [`MAX_PFOS_GUESSES`] (the rest were dropped).
    pub fn pfos_truncated(&self) -> bool {
        self.pfos_full
    }

    fn posf_guess(&self) -> Option<usize> {
        self.posf.as_ref().and_then(|e| e.guess())
    }

    fn pfos_guesses<'a>(&'a self, fps: &'a Fingerprints) -> impl Iterator<Item = OsGuess<'a>> {
        self.pfos[..self.pfos_len as usize].iter().filter_map(|&i| {
            let i = i as usize;
            let os = fps.pfos.os(i)?;
            Some(OsGuess {
                method: Method::PfOs,
                os,
                matched: fps.pfos.sig(i)?,
                quality: if os.contains('@') {
                    Quality::Generic
                } else {
                    Quality::Exact
                },
                line: fps.pfos.line(i)?,
            })
        })
    }

    fn posf_guess_view<'a>(&'a self, fps: &'a Fingerprints) -> Option<OsGuess<'a>> {
        let i = self.posf_guess()?;
        Some(OsGuess {
            method: Method::Posf,
            os: fps.posf.os(i)?,
            matched: fps.posf.sig(i)?,
            quality: Quality::Exact,
            line: fps.posf.line(i)?,
        })
    }

    /// The p0f v3 match, if any.
    pub fn p0f3<'a>(&'a self, fps: &'a Fingerprints) -> Option<OsGuess<'a>> {
        let (i, quality) = self.p0f3?;
        let db = fps.p0f3.as_ref()?;
        let i = i as usize;
        Some(OsGuess {
            method: Method::P0f3,
            os: db.label(i)?,
            matched: db.sig(i)?,
            quality,
            line: db.line(i)?,
        })
    }

    /// Every guess: pf.os ones in order of discovery, then posf, then p0f v3.
    /// This is what psad's status/analysis report lists (for pf.os and posf).
    pub fn guesses<'a>(&'a self, fps: &'a Fingerprints) -> impl Iterator<Item = OsGuess<'a>> {
        self.pfos_guesses(fps)
            .chain(self.posf_guess_view(fps))
            .chain(self.p0f3(fps))
    }

    /// The guesses psad puts in an alert: pf.os guesses, without the `@`
    /// (approximate) ones when any exact one exists; when there is no pf.os
    /// guess, the posf guess.
    pub fn psad_report<'a>(&'a self, fps: &'a Fingerprints) -> impl Iterator<Item = OsGuess<'a>> {
        let any_exact = self.pfos_guesses(fps).any(|g| !g.os.contains('@'));
        let have_pfos = self.pfos_len > 0;
        self.pfos_guesses(fps)
            .filter(move |g| !any_exact || !g.os.contains('@'))
            .chain(if have_pfos {
                None
            } else {
                self.posf_guess_view(fps)
            })
    }
}

#[cfg(test)]
mod tests;
