//! ICMP / ICMPv6 type and code validation tables (psad's icmp_types files,
//! spec §2.5), with built-in tables of our own from the IANA registries.

use crate::signature::SigError;

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

/// Leading decimal digits of `s` and the rest, if `s` starts with a digit and
/// the digits are followed by whitespace or the end of the line.
fn leading_num(s: &str) -> Option<(&str, &str)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return None;
    }
    let rest = &s[n..];
    (rest.is_empty() || rest.starts_with(char::is_whitespace)).then(|| (&s[..n], rest.trim()))
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

    /// Parse psad's `icmp_types` / `icmp6_types` format. A line starting in
    /// column 1 with `<type> <text>` opens a type (text containing
    /// "unassigned", any case, makes it invalid); an indented `<code> [text]`
    /// line adds a valid code to the open type (skipped when its text says
    /// "unassigned"). `#` lines and anything else are ignored. As in psad, an
    /// indented type line counts as a code of the previous type (psad's own
    /// icmp6_types indents type 137 that way). Numbers above 255 are errors.
    pub fn parse(text: &str, file: &str) -> Result<IcmpTypes, SigError> {
        let mut types: Vec<Option<(String, [u64; 4])>> = vec![None; 256];
        let mut open: Option<usize> = None;
        for (i, line) in text.lines().enumerate() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            let range = |n: &str, what: &str| -> Result<usize, SigError> {
                n.parse::<u8>().map(usize::from).map_err(|_| {
                    SigError::new(file, i + 1, format!("ICMP {what} {n} is not 0..255"))
                })
            };
            if let Some((n, rest)) = leading_num(line) {
                let t = range(n, "type")?;
                if rest.to_ascii_lowercase().contains("unassigned") {
                    open = None;
                    continue;
                }
                let entry = types[t].get_or_insert_with(|| (String::new(), [0; 4]));
                entry.0 = rest.to_string();
                open = Some(t);
            } else if line.starts_with(char::is_whitespace) {
                let Some((n, rest)) = leading_num(line.trim_start()) else {
                    continue;
                };
                let c = range(n, "code")?;
                let Some(t) = open else { continue };
                if rest.to_ascii_lowercase().contains("unassigned") {
                    continue;
                }
                if let Some((_, codes)) = types[t].as_mut() {
                    codes[c / 64] |= 1 << (c % 64);
                }
            }
        }
        Ok(IcmpTypes { types })
    }

    /// Our built-in ICMP (IPv4) table (`data/icmp_types`).
    pub fn builtin_v4() -> IcmpTypes {
        IcmpTypes::parse(include_str!("../data/icmp_types"), "builtin:icmp_types")
            .unwrap_or_default()
    }

    /// Our built-in ICMPv6 table (`data/icmp6_types`).
    pub fn builtin_v6() -> IcmpTypes {
        IcmpTypes::parse(include_str!("../data/icmp6_types"), "builtin:icmp6_types")
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IcmpCheck::*;

    #[test]
    fn format() {
        let t = IcmpTypes::parse(
            "# c\n0 Echo Reply\n    0\n1   Unassigned\n    0\n3 Dest\n    0 a\n    1 b unassigned\n9 X\n    16 y\n 7 Indented\n",
            "f",
        )
        .unwrap();
        assert_eq!(t.check(0, 0), Valid);
        assert_eq!(t.check(0, 1), InvalidCode);
        assert_eq!(t.check(1, 0), InvalidType);
        assert_eq!(t.check(3, 1), InvalidCode);
        assert_eq!(t.check(9, 16), Valid);
        assert_eq!(t.check(9, 7), Valid); // the indented "7" is a code of 9
        assert_eq!(t.check(7, 0), InvalidType);
        assert_eq!(t.name(3), Some("Dest"));
        assert!(IcmpTypes::parse("300 x", "f")
            .unwrap_err()
            .to_string()
            .starts_with("f:1:"));
        assert!(IcmpTypes::parse("3 x\n  256", "f").is_err());
        assert_eq!(IcmpTypes::default().check(200, 9), Valid);
    }

    #[test]
    fn builtin() {
        let v4 = IcmpTypes::builtin_v4();
        assert_eq!(
            IcmpTypes::parse(include_str!("../data/icmp_types"), "b").unwrap(),
            v4
        );
        assert_eq!(v4.check(8, 0), Valid);
        assert_eq!(v4.check(8, 2), InvalidCode);
        assert_eq!(v4.check(3, 13), Valid);
        assert_eq!(v4.check(3, 16), InvalidCode);
        assert_eq!(v4.check(1, 0), InvalidType);
        assert_eq!(v4.check(44, 0), InvalidType);
        assert_eq!(v4.check(9, 16), Valid);
        assert_eq!(v4.check(25, 0), InvalidCode);
        assert_eq!(v4.name(13), Some("Timestamp Request"));
        let v6 = IcmpTypes::builtin_v6();
        assert_eq!(
            IcmpTypes::parse(include_str!("../data/icmp6_types"), "b").unwrap(),
            v6
        );
        assert_eq!(v6.check(128, 0), Valid);
        assert_eq!(v6.check(137, 0), Valid);
        assert_eq!(v6.check(143, 0), Valid);
        assert_eq!(v6.check(138, 255), Valid);
        assert_eq!(v6.check(0, 0), InvalidType);
        assert_eq!(v6.check(1, 9), InvalidCode);
    }

    #[test]
    fn psad_files() {
        if let Ok(text) = std::fs::read_to_string("/etc/psad/icmp_types") {
            let t = IcmpTypes::parse(&text, "/etc/psad/icmp_types").unwrap();
            assert_eq!(t.check(8, 0), Valid);
            assert_eq!(t.check(8, 2), InvalidCode); // "ICMP PING undefined code" sample
            assert_eq!(t.check(1, 0), InvalidType);
            assert_eq!(t.check(7, 0), InvalidType);
            assert_eq!(t.check(25, 0), InvalidCode);
            assert_eq!(t.check(40, 5), Valid);
            assert_eq!(t.check(41, 0), InvalidType);
            assert_eq!(t.check(9, 16), Valid);
            assert_eq!(t.name(0), Some("Echo Reply"));
            let n = t.types.iter().filter(|x| x.is_some()).count();
            assert_eq!(n, 36); // 0..=40 minus 1, 2, 7 (unassigned) and 37, 38 (absent)
        }
        if let Ok(text) = std::fs::read_to_string("/etc/psad/icmp6_types") {
            let t = IcmpTypes::parse(&text, "/etc/psad/icmp6_types").unwrap();
            assert_eq!(t.check(128, 0), Valid);
            assert_eq!(t.check(1, 7), Valid);
            assert_eq!(t.check(0, 0), InvalidCode);
            assert_eq!(t.check(143, 0), InvalidType);
            // psad's file indents type 137, which thus becomes a code of 136.
            assert_eq!(t.check(137, 0), InvalidType);
            assert_eq!(t.check(136, 137), Valid);
            assert_eq!(t.check(138, 255), Valid);
        }
    }
}
