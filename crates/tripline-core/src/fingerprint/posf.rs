//! psad's posf method (spec §4.2): OS guesses from option-less SYNs, after
//! Toby Miller's "Passive OS Fingerprinting".
//!
//! The file holds blocks of `OS name;`, `NUMPKTS n;`, `TOS x;`, `LEN n;`,
//! `TTL n;`, `ID SMALLINCR|RANDOM;`, `WINDOW n;` lines. psad keys entries by the
//! OS name and reads each line with its own pattern; a line that does not fit
//! (for example `OS HPUX 10.x` without `;`) is skipped, so the fields below it
//! land in the *previous* entry. The shipped file relies on that by accident
//! (HPUX 10.x, HPUX 11.x and Nokia IPSO 3.4 all overwrite Solaris 8); this
//! module reproduces it and reports each skipped line as a warning.

use super::{FpError, FpWarning};

/// Largest posf database: evidence keeps one bit per entry in a `u128`.
pub const MAX_POSF_ENTRIES: usize = 128;

/// psad's hard-coded hop allowance for posf (it ignores `MAX_HOPS` here).
const POSF_MAX_HOPS: i64 = 20;

/// The IP ID pattern of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdPattern {
    /// Every ID is larger than the previous one by less than 1000.
    SmallIncr,
    /// Anything else.
    Random,
}

#[derive(Debug, Clone)]
struct Entry {
    os: Box<str>,
    numpkts: u64,
    /// `None` when psad's string-keyed lookup could never match (e.g. `060`).
    len: Option<u32>,
    ttl: i64,
    id: IdPattern,
    window: Option<u32>,
    text: Box<str>,
    line: u32,
}

/// A parsed posf database.
#[derive(Debug, Clone, Default)]
pub struct Posf {
    entries: Vec<Entry>,
    warnings: Vec<FpWarning>,
}

#[derive(Default)]
struct Raw {
    os: String,
    line: u32,
    numpkts: Option<String>,
    tos: Option<String>,
    len: Option<String>,
    ttl: Option<String>,
    id: Option<String>,
    win: Option<String>,
}

/// psad compares LEN and WINDOW as hash keys, i.e. as decimal text: only the
/// canonical spelling of a number can ever equal a packet's value.
fn canonical(s: &str) -> Option<u32> {
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

fn saturating(s: &str) -> u64 {
    s.parse().unwrap_or(u64::MAX)
}

const KEYWORDS: [&str; 7] = ["OS", "NUMPKTS", "TOS", "LEN", "TTL", "ID", "WINDOW"];

impl Posf {
    /// Parse a posf file. `file` names it in errors and warnings.
    ///
    /// Errors: a line that starts with none of the keywords, or more than
    /// [`MAX_POSF_ENTRIES`] entries. Lines psad would skip (a keyword line
    /// without its `;`), entries missing a field, and IDs other than
    /// `SMALLINCR`/`RANDOM` become [`Posf::warnings`], as psad syslogs them.
    pub fn parse(text: &str, file: &str) -> Result<Posf, FpError> {
        // psad's patterns, `^\s*KEYWORD\s+(VALUE);` (psad_line.rs).
        let digits: fn(u8) -> bool = |c| c.is_ascii_digit();
        let word: fn(u8) -> bool = |c| c.is_ascii_alphanumeric() || c == b'_';
        let fields = [
            ("NUMPKTS", digits),
            ("TOS", word),
            ("LEN", digits),
            ("TTL", digits),
            ("ID", word),
            ("WINDOW", digits),
        ];
        let mut warnings = Vec::new();
        let mut raws: Vec<Raw> = Vec::new();
        let mut by_name: std::collections::HashMap<String, usize> = Default::default();
        // Fields before any OS line go to the entry named "" (psad's `$os = ''`).
        let mut cur: Option<usize> = None;
        for (idx, raw) in text.split('\n').enumerate() {
            let line_no = idx as u32 + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let t = line.trim_start_matches(|c: char| c.is_ascii_whitespace());
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let mut entry_for = |name: &str, raws: &mut Vec<Raw>| -> usize {
                *by_name.entry(name.to_string()).or_insert_with(|| {
                    raws.push(Raw {
                        os: name.to_string(),
                        line: line_no,
                        ..Raw::default()
                    });
                    raws.len() - 1
                })
            };
            if let Some(os) = super::psad_line::posf(line, "OS", None) {
                cur = Some(entry_for(os, &mut raws));
                continue;
            }
            let mut hit = false;
            for &(kw, value) in &fields {
                if let Some(v) = super::psad_line::posf(line, kw, Some(value)) {
                    let i = match cur {
                        Some(i) => i,
                        None => {
                            let i = entry_for("", &mut raws);
                            cur = Some(i);
                            i
                        }
                    };
                    let r = &mut raws[i];
                    let v = Some(v.to_string());
                    match kw {
                        "NUMPKTS" => r.numpkts = v,
                        "TOS" => r.tos = v,
                        "LEN" => r.len = v,
                        "TTL" => r.ttl = v,
                        "ID" => r.id = v,
                        _ => r.win = v,
                    }
                    hit = true;
                    break;
                }
            }
            if hit {
                continue;
            }
            let word = t
                .split(|c: char| c.is_ascii_whitespace())
                .next()
                .unwrap_or("");
            if KEYWORDS.contains(&word) {
                let what = if word == "OS" {
                    "; the fields below it go to the previous entry"
                } else {
                    ""
                };
                warnings.push(FpWarning::new(
                    file,
                    line_no,
                    format!("{word} line skipped as psad does (missing ';' or bad value){what}"),
                ));
            } else {
                return Err(FpError::new(
                    file,
                    line_no,
                    format!("unknown posf line (want one of {})", KEYWORDS.join(", ")),
                ));
            }
        }
        let mut entries = Vec::new();
        for r in raws {
            let missing = [
                ("NUMPKTS", r.numpkts.is_none()),
                ("TOS", r.tos.is_none()),
                ("LEN", r.len.is_none()),
                ("TTL", r.ttl.is_none()),
                ("ID", r.id.is_none()),
            ]
            .into_iter()
            .find(|(_, m)| *m);
            if let Some((f, _)) = missing {
                warnings.push(FpWarning::new(
                    file,
                    r.line,
                    format!("missing {f} for os: {} (entry dropped)", r.os),
                ));
                continue;
            }
            let id = match r.id.as_deref() {
                Some("SMALLINCR") => IdPattern::SmallIncr,
                Some("RANDOM") => IdPattern::Random,
                other => {
                    warnings.push(FpWarning::new(
                        file,
                        r.line,
                        format!(
                            "ID must be SMALLINCR or RANDOM, not {:?}, for os: {} (entry dropped)",
                            other.unwrap_or(""),
                            r.os
                        ),
                    ));
                    continue;
                }
            };
            // psad never checks WINDOW at load; without one the entry can never match.
            let (Some(np), Some(tos), Some(len), Some(ttl), Some(idt)) =
                (&r.numpkts, &r.tos, &r.len, &r.ttl, &r.id)
            else {
                continue;
            };
            if entries.len() == MAX_POSF_ENTRIES {
                return Err(FpError::new(
                    file,
                    r.line,
                    format!("more than {MAX_POSF_ENTRIES} posf entries"),
                ));
            }
            let win_text = r.win.as_deref().unwrap_or("-");
            entries.push(Entry {
                text: format!(
                    "NUMPKTS {np}; TOS {tos}; LEN {len}; TTL {ttl}; ID {idt}; WINDOW {win_text}"
                )
                .into(),
                os: r.os.into(),
                numpkts: saturating(np),
                len: canonical(len),
                ttl: saturating(ttl).min(i64::MAX as u64) as i64,
                id,
                window: r.win.as_deref().and_then(canonical),
                line: r.line,
            });
        }
        Ok(Posf { entries, warnings })
    }

    /// Lines psad would skip or entries it would drop, with file:line.
    pub fn warnings(&self) -> &[FpWarning] {
        &self.warnings
    }

    /// Number of usable entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no entry is usable.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// OS name of entry `i`.
    pub fn os(&self, i: usize) -> Option<&str> {
        self.entries.get(i).map(|e| &*e.os)
    }

    /// The entry's fields as text (`NUMPKTS 3; TOS 0x10; LEN 60; …`).
    pub fn sig(&self, i: usize) -> Option<&str> {
        self.entries.get(i).map(|e| &*e.text)
    }

    /// The line of the entry's `OS` line.
    pub fn line(&self, i: usize) -> Option<u32> {
        self.entries.get(i).map(|e| e.line)
    }

    /// Record one option-less SYN in `ev` and try every entry; returns the
    /// index of a new guess. psad keeps the first match for good.
    pub fn observe(&self, ev: &mut PosfEvidence, pkt: PosfPacket) -> Option<usize> {
        if ev.guess.is_some() {
            return None;
        }
        if ev.count == 0 {
            ev.min_ttl = pkt.ttl;
            ev.max_ttl = pkt.ttl;
            ev.small_incr = true;
        } else {
            ev.min_ttl = ev.min_ttl.min(pkt.ttl);
            ev.max_ttl = ev.max_ttl.max(pkt.ttl);
            // psad's id_incr() over the whole ID list, kept incrementally.
            ev.small_incr &= ev.last_id < pkt.id && pkt.id - ev.last_id < 1000;
        }
        ev.last_id = pkt.id;
        ev.count = ev.count.saturating_add(1);
        for (i, e) in self.entries.iter().enumerate() {
            let bit = 1u128 << i;
            if e.window == Some(pkt.window as u32) {
                ev.win_seen |= bit;
            }
            if e.len == Some(pkt.len) {
                ev.len_seen |= bit;
            }
        }
        let id = if ev.small_incr {
            IdPattern::SmallIncr
        } else {
            IdPattern::Random
        };
        // TOS is not compared: psad has that test commented out.
        let hit = self.entries.iter().enumerate().position(|(i, e)| {
            let bit = 1u128 << i;
            ev.count as u64 >= e.numpkts
                && ev.win_seen & bit != 0
                && ev.len_seen & bit != 0
                && (ev.min_ttl as i64) > e.ttl - POSF_MAX_HOPS
                && (ev.max_ttl as i64) <= e.ttl
                && id == e.id
        })?;
        ev.guess = Some(hit as u8);
        Some(hit)
    }
}

/// What posf needs from an option-less SYN.
#[derive(Debug, Clone, Copy)]
pub struct PosfPacket {
    /// IP `LEN=`.
    pub len: u32,
    /// TTL.
    pub ttl: u8,
    /// IP ID.
    pub id: u32,
    /// TCP window.
    pub window: u16,
}

/// Per-source posf evidence: psad's `%posf{src}` folded into fixed size
/// (TTL min/max instead of the TTL set, one bit per entry for "its WINDOW /
/// LEN was seen" instead of the value sets, and the ID test kept incrementally
/// instead of the ID list). Exact for databases of up to 128 entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PosfEvidence {
    win_seen: u128,
    len_seen: u128,
    count: u32,
    last_id: u32,
    min_ttl: u8,
    max_ttl: u8,
    small_incr: bool,
    guess: Option<u8>,
}

impl PosfEvidence {
    /// The entry index psad settled on, if any.
    pub fn guess(&self) -> Option<usize> {
        self.guess.map(usize::from)
    }
    /// Option-less SYNs recorded.
    pub fn count(&self) -> u32 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_semicolon_overwrites_previous_entry() {
        let text = "OS A;\nNUMPKTS 3;\nTOS 0x00;\nLEN 48;\nTTL 64;\nID SMALLINCR;\nWINDOW 1;\n\n\
                    OS B\nNUMPKTS 2;\nWINDOW 2;\nTOS 0x10;\nLEN 68;\nTTL 64\nID SMALLINCR;\n";
        let db = Posf::parse(text, "p").unwrap();
        assert_eq!(db.len(), 1);
        assert_eq!(db.os(0), Some("A"));
        assert_eq!(
            db.sig(0),
            Some("NUMPKTS 2; TOS 0x10; LEN 68; TTL 64; ID SMALLINCR; WINDOW 2")
        );
        assert_eq!(db.warnings().len(), 2);
        assert_eq!(db.warnings()[0].line, 9);
        assert_eq!(db.warnings()[1].line, 14);
    }

    #[test]
    fn guesses_after_numpkts() {
        let db = Posf::parse(
            "OS L;\nNUMPKTS 3;\nTOS 0x10;\nLEN 60;\nTTL 64;\nID RANDOM;\nWINDOW 5840;\n",
            "p",
        )
        .unwrap();
        let mut ev = PosfEvidence::default();
        let p = |id| PosfPacket {
            len: 60,
            ttl: 60,
            id,
            window: 5840,
        };
        assert_eq!(db.observe(&mut ev, p(500)), None);
        assert_eq!(db.observe(&mut ev, p(100)), None);
        assert_eq!(db.observe(&mut ev, p(9000)), Some(0));
        assert_eq!(ev.guess(), Some(0));
        // Increasing IDs are SMALLINCR, so a RANDOM entry does not match.
        let mut ev = PosfEvidence::default();
        for id in [1, 2, 3, 4] {
            assert_eq!(db.observe(&mut ev, p(id)), None);
        }
    }

    #[test]
    fn errors_and_warnings() {
        let e = Posf::parse("OS A;\nBOGUS 1;\n", "posf").unwrap_err();
        assert_eq!(
            e.to_string(),
            "posf:2: unknown posf line (want one of OS, NUMPKTS, TOS, LEN, TTL, ID, WINDOW)"
        );
        let db = Posf::parse("OS A;\nNUMPKTS 3;\n", "posf").unwrap();
        assert!(db.is_empty());
        assert!(db.warnings()[0].to_string().contains("missing TOS"));
        let db = Posf::parse(
            "OS A;\nNUMPKTS 3;\nTOS 0;\nLEN 1;\nTTL 1;\nID SOMETIMES;\nWINDOW 1;\n",
            "posf",
        )
        .unwrap();
        assert!(db.is_empty());
        assert!(db.warnings()[0].to_string().contains("SOMETIMES"));
    }
}
