//! ICMP / ICMPv6 type and code validation tables (psad's icmp_types files).

/// Result of checking an ICMP type/code pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpCheck {
    /// Known type, known code.
    Valid,
    /// Unknown or unassigned type.
    InvalidType,
    /// Known type, unknown code.
    InvalidCode,
}

/// A table of valid ICMP types and codes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IcmpTypes {
    /// `types[t]` = Some((name, valid codes bitmap)) for assigned types.
    pub types: Vec<Option<(String, [u64; 4])>>,
}

impl IcmpTypes {
    /// Check a type/code pair; an empty table accepts everything.
    pub fn check(&self, kind: u8, code: u8) -> IcmpCheck {
        if self.types.is_empty() {
            return IcmpCheck::Valid;
        }
        match self.types.get(kind as usize).and_then(|t| t.as_ref()) {
            None => IcmpCheck::InvalidType,
            Some((_, codes)) if codes[(code / 64) as usize] & (1u64 << (code % 64)) == 0 => {
                IcmpCheck::InvalidCode
            }
            Some(_) => IcmpCheck::Valid,
        }
    }
    /// The name of a type, if known.
    pub fn name(&self, kind: u8) -> Option<&str> {
        self.types
            .get(kind as usize)
            .and_then(|t| t.as_ref())
            .map(|(n, _)| n.as_str())
    }
}
