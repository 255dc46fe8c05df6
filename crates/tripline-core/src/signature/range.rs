//! Integer ranges of rule fields: ports and numeric keywords (spec §3.1, §3.2).
//!
//! Forms: `any`, `N`, `N:M`, `N:`, `:M`, `<N`, `<=N`, `>N`, `>=N`, optionally
//! negated by one `!` anywhere in the field, with at most one `$VAR`.
//! A one-sided form takes its missing bound from the keyword's default range,
//! which differs between psad 2.4.6 (compat) and our fixed defaults, so both
//! resolutions are kept and `compat` picks one at match time.

/// A parsed integer range, resolved for both matching modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntRange {
    /// Inclusive bounds with psad 2.4.6's default range filled in.
    pub compat: (i64, i64),
    /// Inclusive bounds with our default range filled in.
    pub fixed: (i64, i64),
    /// `!`: the value must lie outside the range.
    pub negated: bool,
}

impl IntRange {
    /// True when `v` satisfies the range in the selected mode.
    #[inline]
    pub fn matches(&self, v: i64, compat: bool) -> bool {
        let (lo, hi) = if compat { self.compat } else { self.fixed };
        (v >= lo && v <= hi) != self.negated
    }
}

/// Default bounds of one keyword in both modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    pub compat: (i64, i64),
    pub fixed: (i64, i64),
}

const U32: i64 = u32::MAX as i64;

/// Ports: psad's `any` is 1..65535, so port 0 never matches it.
pub(crate) const PORT: Bounds = Bounds {
    compat: (1, 65535),
    fixed: (0, 65535),
};
pub(crate) const TTL: Bounds = Bounds {
    compat: (1, 255),
    fixed: (0, 255),
};
pub(crate) const IP_ID: Bounds = Bounds {
    compat: (1, 65535),
    fixed: (0, U32),
};
pub(crate) const IP_LEN: Bounds = Bounds {
    compat: (1, 65536),
    fixed: (0, U32),
};
pub(crate) const SEQ: Bounds = Bounds {
    compat: (1, 4_294_967_296),
    fixed: (0, U32),
};
pub(crate) const WINDOW: Bounds = Bounds {
    compat: (1, 65535),
    fixed: (0, 65535),
};
pub(crate) const DSIZE: Bounds = Bounds {
    compat: (1, 1514),
    fixed: (0, U32),
};
pub(crate) const ICMP_TYPE: Bounds = Bounds {
    compat: (1, 255),
    fixed: (0, 255),
};
pub(crate) const ICMP_SEQ: Bounds = Bounds {
    compat: (1, 255),
    fixed: (0, 65535),
};
/// psad 2.4.6 passes `icmp_id`'s bounds in the wrong argument slots, so its
/// defaults are the strings `icmp_id_s`/`icmp_id_e`, i.e. 0 and 0 in Perl.
pub(crate) const ICMP_ID: Bounds = Bounds {
    compat: (0, 0),
    fixed: (0, 65535),
};
pub(crate) const IP_PROTO: Bounds = Bounds {
    compat: (1, 255),
    fixed: (0, 255),
};

/// Replace the one `$VAR` in `raw` by its value; more than one `$` is an error.
pub(crate) fn expand_var(
    raw: &str,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let Some(pos) = raw.find('$') else {
        return Ok(raw.to_string());
    };
    if raw[pos + 1..].contains('$') {
        return Err(format!("more than one $ variable in {raw:?}"));
    }
    let rest = &raw[pos + 1..];
    let len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let name = &rest[..len];
    if name.is_empty() {
        return Err(format!("'$' without a variable name in {raw:?}"));
    }
    let value = vars(name).ok_or_else(|| format!("variable ${name} is not defined"))?;
    Ok(format!("{}{}{}", &raw[..pos], value.trim(), &rest[len..]))
}

/// A decimal number, saturating far above any field width so that `+1`
/// and `-1` never overflow.
fn num(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i64 = 0;
    for b in s.bytes() {
        v = v
            .saturating_mul(10)
            .saturating_add(i64::from(b - b'0'))
            .min(1 << 60);
    }
    Some(v)
}

/// Parse a range field (after `$VAR` expansion) with the keyword's bounds.
pub(crate) fn parse_range(raw: &str, b: Bounds) -> Result<IntRange, String> {
    let negated = raw.contains('!');
    let v = raw.replacen('!', "", 1);
    let v = v.trim();
    let bad = || format!("unrecognised value {raw:?}");
    // (lo, hi); None = take the keyword's default.
    let (lo, hi): (Option<i64>, Option<i64>) = if v == "any" {
        (None, None)
    } else if let Some(r) = v.strip_prefix("<=") {
        (None, Some(num(r).ok_or_else(bad)?))
    } else if let Some(r) = v.strip_prefix('<') {
        (None, Some(num(r).ok_or_else(bad)? - 1))
    } else if let Some(r) = v.strip_prefix(">=") {
        (Some(num(r).ok_or_else(bad)?), None)
    } else if let Some(r) = v.strip_prefix('>') {
        (Some(num(r).ok_or_else(bad)? + 1), None)
    } else if let Some((l, r)) = v.split_once(':') {
        let (l, r) = (l.trim(), r.trim());
        match (l.is_empty(), r.is_empty()) {
            (true, true) => return Err(bad()),
            (true, false) => (None, Some(num(r).ok_or_else(bad)?)),
            (false, true) => (Some(num(l).ok_or_else(bad)?), None),
            (false, false) => (Some(num(l).ok_or_else(bad)?), Some(num(r).ok_or_else(bad)?)),
        }
    } else {
        let n = num(v).ok_or_else(bad)?;
        (Some(n), Some(n))
    };
    Ok(IntRange {
        compat: (lo.unwrap_or(b.compat.0), hi.unwrap_or(b.compat.1)),
        fixed: (lo.unwrap_or(b.fixed.0), hi.unwrap_or(b.fixed.1)),
        negated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str, b: Bounds) -> IntRange {
        parse_range(s, b).unwrap()
    }

    #[test]
    fn forms() {
        assert_eq!(r("80", PORT).compat, (80, 80));
        assert_eq!(r("1024:", PORT).compat, (1024, 65535));
        assert_eq!(r(":1023", PORT).compat, (1, 1023));
        assert_eq!(r(":1023", PORT).fixed, (0, 1023));
        assert_eq!(r(" 10 : 20 ", PORT).fixed, (10, 20));
        assert_eq!(r("<5", TTL).compat, (1, 4));
        assert_eq!(r("<=5", TTL).compat, (1, 5));
        assert_eq!(r(">220", TTL).compat, (221, 255));
        assert_eq!(r(">=220", TTL).compat, (220, 255));
        assert_eq!(r("any", PORT).compat, (1, 65535));
        assert_eq!(r("any", PORT).fixed, (0, 65535));
        let n = r("!80", PORT);
        assert!(n.negated && !n.matches(80, true) && n.matches(81, true));
        let n = r("80!", PORT);
        assert!(n.negated);
        assert!(r(">0", ICMP_TYPE).matches(3, true));
        assert!(!r(">0", ICMP_TYPE).matches(0, true));
        // psad's icmp_id default bounds are 0..0.
        assert!(!r(">5", ICMP_ID).matches(6, true));
        assert!(r(">5", ICMP_ID).matches(6, false));
        assert!(r("<0", TTL).compat.0 > r("<0", TTL).compat.1);
    }

    #[test]
    fn rejects() {
        for s in [
            "", "!", "abc", "1:x", ":", "!!80", "[80,443]", "80x", "<", ">=y", "1-2",
        ] {
            assert!(parse_range(s, PORT).is_err(), "{s:?}");
        }
        assert_eq!(r("99999999999999999999999", SEQ).compat.0, 1 << 60);
    }

    #[test]
    fn vars() {
        let v = |n: &str| match n {
            "HTTP_PORTS" => Some("80".to_string()),
            "SHELLCODE_PORTS" => Some("!80".to_string()),
            _ => None,
        };
        assert_eq!(expand_var("$HTTP_PORTS", &v).unwrap(), "80");
        assert_eq!(expand_var("$SHELLCODE_PORTS", &v).unwrap(), "!80");
        assert!(expand_var("$NOPE", &v).is_err());
        assert!(expand_var("$A$B", &v).is_err());
        assert!(expand_var("$", &v).is_err());
        assert_eq!(expand_var("80", &v).unwrap(), "80");
    }
}
