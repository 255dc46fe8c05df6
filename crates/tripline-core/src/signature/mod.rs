//! psad signatures: the file format (snort-1.x-like rules) and packet matching.

use crate::packet::Packet;

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
}

/// A set of signatures ready for matching.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SignatureSet {
    /// The rules, indexed by the `u32` ids `match_packet` returns.
    pub sigs: Vec<Signature>,
}

impl SignatureSet {
    /// Push the indices of every rule matching `pkt` into `out` (cleared first).
    /// `compat` selects psad 2.4.6's quirks (spec §3, Appendix A).
    pub fn match_packet(&self, _pkt: &Packet<'_>, _compat: bool, out: &mut Vec<u32>) {
        out.clear();
    }
}
