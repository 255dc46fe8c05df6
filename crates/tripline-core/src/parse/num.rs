//! Hand-rolled number and address parsing for the LOG fields: decimal and
//! hex integers with overflow checks, dotted-quad IPv4 and IPv6 (full form
//! fast path, `std` for the compressed forms). No allocation, no panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Decimal `u64`; `None` on empty input, a non-digit or overflow.
#[inline]
pub(crate) fn dec_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    // Up to 19 digits cannot overflow a u64: only the 20th needs checks.
    let (head, tail) = s.split_at(s.len().min(19));
    for &b in head {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as u64;
    }
    for &b in tail {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(d as u64)?;
    }
    Some(v)
}

/// Decimal `u32`.
#[inline]
pub(crate) fn dec_u32(s: &[u8]) -> Option<u32> {
    if s.len() > 10 {
        return None;
    }
    dec_u64(s).and_then(|v| u32::try_from(v).ok())
}

/// Decimal `u16`.
#[inline]
pub(crate) fn dec_u16(s: &[u8]) -> Option<u16> {
    if s.len() > 5 {
        return None;
    }
    dec_u64(s).and_then(|v| u16::try_from(v).ok())
}

/// Decimal `u8`.
#[inline]
pub(crate) fn dec_u8(s: &[u8]) -> Option<u8> {
    if s.len() > 3 {
        return None;
    }
    dec_u64(s).and_then(|v| u8::try_from(v).ok())
}

#[inline]
fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Hex `u32` without prefix (at most 8 digits).
#[inline]
pub(crate) fn hex_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 8 {
        return None;
    }
    let mut v: u32 = 0;
    for &b in s {
        v = (v << 4) | hex_digit(b)? as u32;
    }
    Some(v)
}

/// Hex `u32` with a mandatory `0x` / `0X` prefix, as the kernel prints TOS, MARK, SPI.
#[inline]
pub(crate) fn hex0x_u32(s: &[u8]) -> Option<u32> {
    match s {
        [b'0', b'x' | b'X', rest @ ..] => hex_u32(rest),
        _ => None,
    }
}

/// Hex `u8` with `0x` prefix.
#[inline]
pub(crate) fn hex0x_u8(s: &[u8]) -> Option<u8> {
    hex0x_u32(s).and_then(|v| u8::try_from(v).ok())
}

/// Dotted-quad IPv4, each octet 0..=255, no leading `+`.
#[inline]
pub(crate) fn ipv4(s: &[u8]) -> Option<Ipv4Addr> {
    let mut oct = [0u8; 4];
    let mut i = 0;
    for (n, o) in oct.iter_mut().enumerate() {
        let start = i;
        let mut v: u32 = 0;
        while i < s.len() && s[i].is_ascii_digit() && i - start < 3 {
            v = v * 10 + (s[i] - b'0') as u32;
            i += 1;
        }
        if i == start || v > 255 {
            return None;
        }
        *o = v as u8;
        if n < 3 {
            if s.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    (i == s.len()).then(|| Ipv4Addr::from(oct))
}

/// IPv6 in the kernel's full `%pI6` form (8 groups of 4 hex digits), or any
/// compressed / mixed form `std` accepts.
#[inline]
pub(crate) fn ipv6(s: &[u8]) -> Option<Ipv6Addr> {
    if s.len() == 39 {
        let mut g = [0u16; 8];
        let mut ok = true;
        for (k, slot) in g.iter_mut().enumerate() {
            let p = k * 5;
            if k < 7 && s[p + 4] != b':' {
                ok = false;
                break;
            }
            match hex_u32(&s[p..p + 4]) {
                Some(v) => *slot = v as u16,
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            return Some(Ipv6Addr::from(g));
        }
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// An address of either family: a `:` means IPv6.
#[inline]
pub(crate) fn ip(s: &[u8]) -> Option<IpAddr> {
    // IPv4 has a `.` within its first four bytes, IPv6 a `:` within five.
    if s.iter().take(5).any(|&c| c == b':') {
        ipv6(s).map(IpAddr::V6)
    } else {
        ipv4(s).map(IpAddr::V4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(dec_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(dec_u32(b"4294967296"), None);
        assert_eq!(dec_u16(b"65536"), None);
        assert_eq!(dec_u8(b"255"), Some(255));
        assert_eq!(dec_u8(b""), None);
        assert_eq!(dec_u8(b"-1"), None);
        assert_eq!(hex0x_u8(b"0xFF"), Some(255));
        assert_eq!(hex0x_u8(b"0x100"), None);
        assert_eq!(hex0x_u32(b"0x"), None);
    }

    #[test]
    fn addresses() {
        assert_eq!(ipv4(b"198.51.100.1"), Some(Ipv4Addr::new(198, 51, 100, 1)));
        assert_eq!(ipv4(b"256.1.1.1"), None);
        assert_eq!(ipv4(b"1.1.1"), None);
        assert_eq!(ipv4(b"1.1.1.1."), None);
        assert_eq!(ipv4(b"0001.1.1.1"), None);
        let full = b"2001:0db8:0100:0000:0000:0000:0000:0014";
        assert_eq!(ipv6(full), "2001:db8:100::14".parse().ok());
        assert_eq!(ipv6(b"2001:db8:100::14"), "2001:db8:100::14".parse().ok());
        assert_eq!(ipv6(b"2001:0db8:0100:0000:0000:0000:0000:001g"), None);
    }
}
