//! psad signatures: the file format (snort-1.x-like rules), danger-level
//! overrides, fwsnort metadata, and packet matching (spec §3).
//!
//! Submodules: [`rule`] (one rule line), [`range`] (integer ranges),
//! [`ipopts`] (the `ipopts` table and walk), [`matcher`] (candidate index and
//! matching), [`dl`] (`snort_rule_dl`, `classification.config`,
//! `reference.config`), [`fwsnort`] (snort `.rules` metadata, log-prefix SIDs).
//!
//! # Matching modes
//!
//! [`SignatureSet::match_packet`] takes `compat`. With `compat = true` it
//! reproduces psad 2.4.6, bugs included; with `compat = false` (our default)
//! these are fixed:
//!
//! * `flags`: psad compares the kernel flag text for exact equality after
//!   translating the letters `UAPRSF` (`N` = NULL) and ignores modifiers,
//!   masks and `C`/`E`/`1`/`2`, so `flags:0` (SCAN NULL) never matches and
//!   `flags:S,12` does not match an ECN SYN. Default mode uses snort
//!   semantics: `0`/`N` = no flags, `+ * !` modifiers, `,mask` bits ignored,
//!   `C E 1 2` = CWR/ECE.
//! * `flow`: psad honours only the exact value `established` (adding ACK to
//!   `flags` when present); we accept it inside a list
//!   (`to_server,established`) and, without `flags`, require ACK.
//! * Ports: psad's `any` and open-ended ranges start at 1, so port 0 never
//!   matches `any`; ours start at 0. Other keyword defaults likewise start
//!   at 0, `dsize` has no 1514 cap, `icmp_id`/`icmp_seq` span 16 bits
//!   (psad's `icmp_id` defaults are 0..0 through an argument mix-up).
//! * `dsize`/`psad_dsize`: psad uses `LEN-40` for TCP minus 44 more when SYN
//!   is set, `LEN-24` for ICMP, and IPv4 arithmetic for IPv6. We subtract the
//!   real IP header (20 + logged IP options, 40 for IPv6), the real TCP
//!   header (20 + logged TCP options; for a SYN without logged options the
//!   40-byte option maximum), and 8 bytes of ICMP header. UDP is `LEN-8` in
//!   both modes.
//! * `icmp_id`/`icmp_seq`: psad compares them with the packet's ICMP CODE and
//!   ICMP ID (a capture shift, only for echo/echo-reply, 0 otherwise); we
//!   compare the ICMP ID and SEQ.
//! * `<-` swaps addresses and ports (psad: addresses only); `<>` matches
//!   either direction (psad: same as `->`).
//! * `!` on addresses negates (psad silently drops the `!`).
//! * IPv6: psad skips the IP-level keywords (`ttl id psad_ip_len ipopts
//!   sameip`) for IPv6 packets, treating them as satisfied, and never matches
//!   `ip` rules on IPv6. We evaluate them (`ttl` = hop limit, `id` = the
//!   fragment ID when logged, `ipopts` never matches IPv6) and match `ip`
//!   rules on IPv6.
//! * `ip_proto`: psad refuses the option (and could not match it); we parse
//!   it and, in default mode, compare it with the packet's protocol number.
//! * Missing fields (`seq`/`ack` without `--log-tcp-sequence`, ICMP ID/SEQ,
//!   IP ID): psad compares 0; we fail the option.
//! * IP options: psad's byte walk steps one byte off after each option; we
//!   walk by the options' own length bytes.
//!
//! Not reproduced in either mode: psad's port-tree search can skip rules when
//! a source-port range lacks entries of the destination-port type being
//! scanned (no effect on the shipped rules); we test every candidate. A rule
//! listing overlapping networks matches once (psad could count it twice).

pub mod dl;
pub mod fwsnort;
pub mod ipopts;
pub mod matcher;
pub mod range;
pub mod rule;

#[cfg(test)]
mod tests;

pub use dl::{convert_snort_priority, Classification, ReferenceConfig, RuleDl};
pub use fwsnort::{fwsnort_tag, FwsnortTag, SnortRule, SnortRules};
pub use ipopts::{IpOption, IpOptions};
pub use matcher::memo::MatchMemo;
pub use range::IntRange;
pub use rule::{AddrSpec, Conditions, Direction, FlagMode, FlagSpec, IpOptsSpec, SigProto};

use crate::packet::Packet;
use std::collections::HashMap;
use std::fmt;

/// A problem in a signature-related file, with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigError {
    /// File name as given by the caller.
    pub file: String,
    /// 1-based line number, 0 when not tied to a line.
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

impl SigError {
    /// A new error.
    pub fn new(file: &str, line: usize, msg: impl Into<String>) -> SigError {
        SigError {
            file: file.to_string(),
            line,
            msg: msg.into(),
        }
    }
}

impl fmt::Display for SigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.msg)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.msg)
        }
    }
}

impl std::error::Error for SigError {}

/// One loaded signature.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    /// `sid`, or `psad_id` when the rule has no sid.
    pub key: u32,
    /// True when `key` is a psad_id.
    pub key_is_psad_id: bool,
    /// `msg`.
    pub msg: String,
    /// Rule protocol word as psad prints it: `tcp`, `udp`, `icmp`, `ip`.
    pub proto: &'static str,
    /// Danger level 0..=5.
    pub dl: u8,
    /// `classtype`, if any.
    pub classtype: Option<String>,
    /// The protocol as an enum.
    pub kind: SigProto,
    /// `sid`, if any.
    pub sid: Option<u32>,
    /// `psad_id`.
    pub psad_id: u32,
    /// `reference:type,value` pairs (type lower-cased), in file order.
    pub references: Vec<(String, String)>,
    /// `psad_derived_sids`, as written.
    pub derived_sids: Vec<String>,
    /// Line in the source file (0 for rules not read from a file).
    pub line: usize,
    /// What the rule tests.
    pub cond: Conditions,
}

/// Options for [`SignatureSet::parse_with`].
#[derive(Debug, Clone, Copy)]
pub struct SigParseOptions<'a> {
    /// psad's `ENABLE_SNORT_SIG_STRICT` (default true): unsupported options and
    /// a missing `psad_id` are errors; when false such rules are skipped with
    /// a warning.
    pub strict: bool,
    /// `classification.config`, for rules with a classtype but no `psad_dl`.
    pub classification: Option<&'a Classification>,
    /// IP option table for `ipopts` (default: the built-in table).
    pub ip_options: Option<&'a IpOptions>,
}

impl Default for SigParseOptions<'_> {
    fn default() -> Self {
        SigParseOptions {
            strict: true,
            classification: None,
            ip_options: None,
        }
    }
}

/// A set of signatures ready for matching.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SignatureSet {
    /// The rules, indexed by the `u32` ids `match_packet` returns.
    pub sigs: Vec<Signature>,
    /// Non-fatal problems found while loading (skipped rules, ignored options).
    pub warnings: Vec<SigError>,
    /// IP option table used by `ipopts` matching.
    pub ip_options: IpOptions,
    index: matcher::Index,
}

impl SignatureSet {
    /// Parse psad's signature format with the default options (strict, no
    /// classification, built-in IP options). `vars` resolves `$VAR`
    /// references (psad.conf variables such as `HOME_NET`).
    pub fn parse(
        text: &str,
        file: &str,
        vars: &dyn Fn(&str) -> Option<String>,
    ) -> Result<SignatureSet, SigError> {
        SignatureSet::parse_with(text, file, vars, &SigParseOptions::default())
    }

    /// Parse psad's signature format.
    pub fn parse_with(
        text: &str,
        file: &str,
        vars: &dyn Fn(&str) -> Option<String>,
        opts: &SigParseOptions<'_>,
    ) -> Result<SignatureSet, SigError> {
        let builtin;
        let ip_options = match opts.ip_options {
            Some(t) => t,
            None => {
                builtin = IpOptions::builtin();
                &builtin
            }
        };
        let cx = rule::LineCtx {
            file,
            strict: opts.strict,
            vars,
            classification: opts.classification,
            ip_options,
        };
        let mut sigs: Vec<Signature> = Vec::new();
        let mut warnings = Vec::new();
        // psad_ids and sids share one namespace: no value may repeat.
        let mut psad_ids: HashMap<u32, usize> = HashMap::new();
        let mut sids: HashMap<u32, usize> = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            match rule::parse_line(line, i + 1, &cx)? {
                rule::LineResult::Skipped(w) => warnings.push(w),
                rule::LineResult::Rule(sig, w) => {
                    let dup = |what: &str, id: u32, at: usize| {
                        SigError::new(
                            file,
                            i + 1,
                            format!("duplicate {what} {id} (first used on line {at})"),
                        )
                    };
                    let p = sig.psad_id;
                    if let Some(&at) = psad_ids.get(&p).or_else(|| sids.get(&p)) {
                        return Err(dup("psad_id", p, at));
                    }
                    psad_ids.insert(p, i + 1);
                    if let Some(s) = sig.sid {
                        if let Some(&at) = sids.get(&s).or_else(|| psad_ids.get(&s)) {
                            return Err(dup("sid", s, at));
                        }
                        sids.insert(s, i + 1);
                    }
                    warnings.extend(w);
                    sigs.push(*sig);
                }
            }
        }
        let mut set = SignatureSet {
            sigs,
            warnings,
            ip_options: ip_options.clone(),
            index: matcher::Index::default(),
        };
        set.rebuild_index();
        Ok(set)
    }

    /// Our built-in default rules (`data/signatures`), with `HOME_NET` and
    /// `EXTERNAL_NET` as `any`.
    pub fn builtin() -> SignatureSet {
        let vars = |name: &str| match name {
            "HOME_NET" | "EXTERNAL_NET" => Some("any".to_string()),
            _ => None,
        };
        SignatureSet::builtin_with(&vars)
    }

    /// The built-in rules with the caller's `$VAR` values. Falls back to an
    /// empty set if a variable makes a rule invalid (the embedded file itself
    /// is tested to load).
    pub fn builtin_with(vars: &dyn Fn(&str) -> Option<String>) -> SignatureSet {
        SignatureSet::parse(BUILTIN_SIGNATURES, "builtin:signatures", vars).unwrap_or_else(|e| {
            let mut s = SignatureSet::default();
            s.warnings.push(e);
            s
        })
    }

    /// A set from rules built elsewhere.
    pub fn from_sigs(sigs: Vec<Signature>, ip_options: IpOptions) -> SignatureSet {
        let mut set = SignatureSet {
            sigs,
            warnings: Vec::new(),
            ip_options,
            index: matcher::Index::default(),
        };
        set.rebuild_index();
        set
    }

    /// Rebuild the candidate index after editing `sigs` by hand. A change in
    /// the number of rules is detected (matching then tests every rule the
    /// slow way until the rebuild); edits that keep the count are not, except
    /// for `dl`, which the index does not use.
    pub fn rebuild_index(&mut self) {
        self.index = matcher::Index::build(&self.sigs);
    }

    /// Apply `snort_rule_dl` overrides (keyed by the rule's key: sid, or
    /// psad_id for rules without one). Returns how many rules changed.
    pub fn apply_rule_dl(&mut self, dl: &RuleDl) -> usize {
        let mut n = 0;
        for s in &mut self.sigs {
            if let Some(d) = dl.get(s.key) {
                s.dl = d;
                n += 1;
            }
        }
        n
    }

    /// Index of the rule with this key.
    pub fn find(&self, key: u32) -> Option<u32> {
        self.sigs
            .iter()
            .position(|s| s.key == key)
            .map(|i| i as u32)
    }

    /// psad's `--get-next-rule-id`: one more than the largest psad_id or sid.
    pub fn next_rule_id(&self) -> u32 {
        self.sigs
            .iter()
            .map(|s| s.psad_id.max(s.sid.unwrap_or(0)))
            .max()
            .unwrap_or(1)
            .saturating_add(1)
    }

    /// Push the indices of every rule matching `pkt` into `out` (cleared first).
    /// `compat` selects psad 2.4.6's quirks (see the module docs).
    ///
    /// DL-0 rules are included: the caller decides (as psad does) that a
    /// packet whose matches all have DL 0 is dropped, and that DL-0
    /// tcp/udp/icmp matches are not recorded. Each matching rule appears
    /// once; rules of the packet's protocol come before `ip` rules, otherwise
    /// the order is unspecified. Callers skip packets that carry a fwsnort
    /// SID. Cost: a lookup in a per-mode candidate index plus cheap
    /// pre-tests per candidate; no allocation once `out` has grown.
    pub fn match_packet(&self, pkt: &Packet<'_>, compat: bool, out: &mut Vec<u32>) {
        out.clear();
        matcher::match_packet(self, pkt, compat, out);
    }

    /// [`SignatureSet::match_packet`], the same result in the same order,
    /// through `memo`: a packet whose tested values fall in the same classes
    /// as a recent packet's (the same flags, ports in the same gap between
    /// the rules' ports, ...) gets that packet's matches without a rule test.
    /// A memo serves one set at a time (it starts over with another).
    pub fn match_packet_memo(
        &self,
        pkt: &Packet<'_>,
        compat: bool,
        memo: &mut MatchMemo,
        out: &mut Vec<u32>,
    ) {
        out.clear();
        matcher::match_packet_memo(self, pkt, compat, memo, out);
    }
}

/// Our default signature file.
pub const BUILTIN_SIGNATURES: &str = include_str!("../../data/signatures");
