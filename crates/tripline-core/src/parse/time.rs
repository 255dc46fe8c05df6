//! Calendar arithmetic for header timestamps: proleptic Gregorian days
//! (Howard Hinnant's algorithms), RFC 3164 year inference and ISO 8601
//! parsing. Pure integer math; the caller supplies "now".

use crate::packet::Timestamp;

const US: i64 = 1_000_000;
const DAY_US: i64 = 86_400 * US;

/// Days since 1970-01-01 of a civil date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date of a day count since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Wall-clock fields, validated loosely (the day is checked against 31 only).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Civil {
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
    pub us: u32,
}

impl Civil {
    fn valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && (1..=31).contains(&self.day)
            && self.hour < 24
            && self.min < 60
            && self.sec <= 60
    }

    /// µs since the epoch of this wall time in `year`, minus `offset_secs`.
    pub(crate) fn to_ts(self, year: i64, offset_secs: i64) -> Option<Timestamp> {
        if !self.valid() {
            return None;
        }
        let days = days_from_civil(year, self.month, self.day);
        let secs = self.hour as i64 * 3600 + self.min as i64 * 60 + self.sec as i64;
        Some(Timestamp(
            (days * 86_400 + secs - offset_secs) * US + self.us as i64,
        ))
    }

    /// A year-less RFC 3164 stamp: the year of `now` (local time), or the
    /// year before if that lands more than a day in the future.
    pub(crate) fn to_ts_yearless(self, now: Timestamp, offset_secs: i64) -> Option<Timestamp> {
        let year = year_of(now, offset_secs)?;
        let t = self.to_ts(year, offset_secs)?;
        if t.0 > now.0.saturating_add(DAY_US) {
            self.to_ts(year - 1, offset_secs)
        } else {
            Some(t)
        }
    }
}

thread_local! {
    /// Last (now, offset) -> local year: callers pass the same "now" for a
    /// whole batch, and the calendar math was a tenth of the parse time.
    /// A pure memo: the result depends only on the key.
    static YEAR: std::cell::Cell<(i64, i64, i64)> = const { std::cell::Cell::new((i64::MIN, 0, 0)) };
}

/// The local calendar year at `now`.
fn year_of(now: Timestamp, offset_secs: i64) -> Option<i64> {
    let (k_now, k_off, y) = YEAR.with(|c| c.get());
    if k_now == now.0 && k_off == offset_secs {
        return Some(y);
    }
    let local_now = now.0.checked_add(offset_secs.checked_mul(US)?)?;
    let (year, _, _) = civil_from_days(local_now.div_euclid(DAY_US));
    YEAR.with(|c| c.set((now.0, offset_secs, year)));
    Some(year)
}

/// Key (15 stamp bytes, now, offset) and value of [`STAMP_3164`].
#[derive(Clone, Copy)]
struct Memo3164 {
    key: (u128, i64, i64),
    civil: Civil,
    this_year: i64,
}

thread_local! {
    /// Last RFC 3164 second: its 15 header bytes, `now` and offset, its
    /// whole-second fields and this year's µs. Syslog writes many lines per
    /// second, so most lines skip the field parsing and calendar math. A pure
    /// memo: the result depends only on the key.
    static STAMP_3164: std::cell::Cell<Option<Memo3164>> = const { std::cell::Cell::new(None) };
    /// Last ISO 8601 second: its 19 bytes -> µs at offset zero.
    static STAMP_ISO: std::cell::Cell<Option<(u128, u32, i64)>> =
        const { std::cell::Cell::new(None) };
}

/// Forget the memoised stamps (tests compare memoised and fresh results).
#[cfg(test)]
pub(crate) fn clear_memos() {
    STAMP_3164.set(None);
    STAMP_ISO.set(None);
}

/// The first `n <= 16` bytes of `b` (which must be that long) as a key.
#[inline(always)]
fn key(b: &[u8], n: usize) -> u128 {
    let mut k = [0u8; 16];
    k[..n].copy_from_slice(&b[..n]);
    u128::from_le_bytes(k)
}

/// `.frac` / `,frac` at `b[j..]`: (µs, index after), as [`hms`] reads it.
#[inline(always)]
fn fraction(b: &[u8], mut j: usize) -> Option<(u32, usize)> {
    let mut us = 0u32;
    if b.get(j) == Some(&b'.') || b.get(j) == Some(&b',') {
        j += 1;
        let start = j;
        let mut scale = 100_000;
        while j < b.len() && b[j].is_ascii_digit() {
            us += (b[j] - b'0') as u32 * scale;
            scale /= 10;
            j += 1;
        }
        if j == start {
            return None;
        }
    }
    Some((us, j))
}

/// A year-less RFC 3164 stamp `Mmm dd HH:MM:SS[.frac]` at the start of `b`
/// (at least 16 bytes, spaces at 3 and 6): the time and the index after
/// it. Same result as parsing the fields and calling
/// [`Civil::to_ts_yearless`].
#[inline]
pub(crate) fn rfc3164(b: &[u8], now: Timestamp, offset_secs: i64) -> Option<(Timestamp, usize)> {
    let k = key(b, 15);
    let (c, this_year) = match STAMP_3164.get() {
        Some(m) if m.key == (k, now.0, offset_secs) => (m.civil, m.this_year),
        _ => {
            let month = month(&b[..3])?;
            let day = match (b[4], b[5]) {
                (b' ', d @ b'1'..=b'9') => (d - b'0') as u32,
                _ => two(b, 4)?,
            };
            let mut c = Civil {
                month,
                day,
                hour: 0,
                min: 0,
                sec: 0,
                us: 0,
            };
            hms(&b[..15], 7, &mut c)?;
            let t = c.to_ts(year_of(now, offset_secs)?, offset_secs)?.0;
            STAMP_3164.set(Some(Memo3164 {
                key: (k, now.0, offset_secs),
                civil: c,
                this_year: t,
            }));
            (c, t)
        }
    };
    let (us, end) = fraction(b, 15)?;
    let t = this_year + us as i64;
    if t > now.0.saturating_add(DAY_US) {
        // Last year's date: rare, so not memoised.
        return Some((Civil { us, ..c }.to_ts_yearless(now, offset_secs)?, end));
    }
    Some((Timestamp(t), end))
}

/// Month number of an English three-letter abbreviation.
#[inline]
pub(crate) fn month(b: &[u8]) -> Option<u32> {
    Some(match b {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

#[inline]
pub(crate) fn two(b: &[u8], i: usize) -> Option<u32> {
    let hi = b.get(i)?.wrapping_sub(b'0');
    let lo = b.get(i + 1)?.wrapping_sub(b'0');
    (hi <= 9 && lo <= 9).then_some(hi as u32 * 10 + lo as u32)
}

/// `HH:MM:SS[.frac]` at `b[i..]`: the civil time-of-day fields and the index
/// just past it. Fractions beyond microseconds are truncated.
pub(crate) fn hms(b: &[u8], i: usize, c: &mut Civil) -> Option<usize> {
    c.hour = two(b, i)?;
    (b.get(i + 2) == Some(&b':')).then_some(())?;
    c.min = two(b, i + 3)?;
    (b.get(i + 5) == Some(&b':')).then_some(())?;
    c.sec = two(b, i + 6)?;
    let mut j = i + 8;
    c.us = 0;
    if b.get(j) == Some(&b'.') || b.get(j) == Some(&b',') {
        j += 1;
        let start = j;
        let mut scale = 100_000;
        while j < b.len() && b[j].is_ascii_digit() {
            c.us += (b[j] - b'0') as u32 * scale;
            scale /= 10;
            j += 1;
        }
        if j == start {
            return None;
        }
    }
    Some(j)
}

/// An ISO 8601 / RFC 3339 stamp `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM|±HHMM)`
/// at the start of `b`, as used by rsyslog, RFC 5424 and `journalctl -o
/// short-iso`. Returns the time and the length consumed. A missing zone is
/// read as UTC.
pub(crate) fn iso8601(b: &[u8]) -> Option<(Timestamp, usize)> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    // The whole second is memoised (key: its first 16 bytes and the 3
    // after); the fraction and zone are read per line.
    let k = key(b, 16);
    let k2 = u32::from_le_bytes([b[16], b[17], b[18], 0]);
    let base = match STAMP_ISO.get() {
        Some((mk, mk2, t)) if mk == k && mk2 == k2 => t,
        _ => {
            let year = two(b, 0)? as i64 * 100 + two(b, 2)? as i64;
            let mut c = Civil {
                month: two(b, 5)?,
                day: two(b, 8)?,
                hour: 0,
                min: 0,
                sec: 0,
                us: 0,
            };
            hms(&b[..19], 11, &mut c)?;
            let t = c.to_ts(year, 0)?.0;
            STAMP_ISO.set(Some((k, k2, t)));
            t
        }
    };
    let (us, mut j) = fraction(b, 19)?;
    let offset: i64 = match b.get(j) {
        Some(b'Z' | b'z') => {
            j += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let h = two(b, j + 1)? as i64;
            let (m, len) = if b.get(j + 3) == Some(&b':') {
                (two(b, j + 4)? as i64, 6)
            } else if let Some(m) = two(b, j + 3) {
                (m as i64, 5)
            } else {
                (0, 3)
            };
            j += len;
            let off = h * 3600 + m * 60;
            if sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => 0,
    };
    // Same integer as `Civil::to_ts(year, offset)` with the fraction.
    Some((Timestamp(base - offset * US + us as i64), j))
}

/// `YYYY-MM-DDTHH:MM:SS.uuuuuuZ` rendering of a timestamp (for dumps).
pub(crate) fn format_utc(t: Timestamp) -> String {
    let days = t.0.div_euclid(DAY_US);
    let rem = t.0.rem_euclid(DAY_US);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / US;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        rem % US
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for d in [-800_000i64, -1, 0, 1, 11_016, 20_778, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn iso() {
        let (t, n) = iso8601(b"2026-11-21T23:20:40.281720+00:00 fw1").unwrap();
        assert_eq!(n, 32);
        assert_eq!(format_utc(t), "2026-11-21T23:20:40.281720Z");
        let (t2, n2) = iso8601(b"2026-11-22T00:20:40+0100 fw1").unwrap();
        assert_eq!(n2, 24);
        assert_eq!(t2.0, t.0 - 281_720);
        assert!(iso8601(b"2026-13-21T23:20:40Z").is_none());
    }

    /// RFC 3164 stamps as parsed before the memo.
    fn rfc3164_reference(b: &[u8], now: Timestamp, off: i64) -> Option<(Timestamp, usize)> {
        let month = month(&b[..3])?;
        let day = match (b[4], b[5]) {
            (b' ', d @ b'1'..=b'9') => (d - b'0') as u32,
            _ => two(b, 4)?,
        };
        let mut c = Civil {
            month,
            day,
            hour: 0,
            min: 0,
            sec: 0,
            us: 0,
        };
        let end = hms(b, 7, &mut c)?;
        Some((c.to_ts_yearless(now, off)?, end))
    }

    /// ISO 8601 stamps as parsed before the memo.
    fn iso8601_reference(b: &[u8]) -> Option<(Timestamp, usize)> {
        let year = two(b, 0)? as i64 * 100 + two(b, 2)? as i64;
        let mut c = Civil {
            month: two(b, 5)?,
            day: two(b, 8)?,
            hour: 0,
            min: 0,
            sec: 0,
            us: 0,
        };
        let mut j = hms(b, 11, &mut c)?;
        let offset: i64 = match b.get(j) {
            Some(b'Z' | b'z') => {
                j += 1;
                0
            }
            Some(&sign @ (b'+' | b'-')) => {
                let h = two(b, j + 1)? as i64;
                let (m, len) = if b.get(j + 3) == Some(&b':') {
                    (two(b, j + 4)? as i64, 6)
                } else if let Some(m) = two(b, j + 3) {
                    (m as i64, 5)
                } else {
                    (0, 3)
                };
                j += len;
                let off = h * 3600 + m * 60;
                if sign == b'-' {
                    -off
                } else {
                    off
                }
            }
            _ => 0,
        };
        Some((c.to_ts(year, offset)?, j))
    }

    /// The memoised stamp parsers agree with the plain ones on every pair
    /// of consecutive stamps.
    #[test]
    fn memo_matches_reference() {
        let stamps3164 = [
            "Nov 21 23:20:40 ",
            "Nov 21 23:20:40.5 ",
            "Nov 21 23:20:40,1234567 ",
            "Nov 21 23:20:40. ",
            "Nov 21 23:20:40x",
            "Nov 21 23:20:41 ",
            "Nov  1 03:04:05 ",
            "Nov 01 03:04:05 ",
            "Nov 0x 03:04:05 ",
            "Xyz 21 23:20:40 ",
            "Nov 21 24:00:00 ",
            "Nov 21 23:60:00 ",
            "Nov 21 23:59:60 ",
            "Nov 21 23:59:61 ",
            "Nov 32 00:00:00 ",
            "Feb 30 00:00:00 ",
            "Dec 31 23:59:59.999999 ",
            "Jan  1 00:00:00 ",
            "Nov 22 23:59:59.999999 ",
            "Nov 23 00:00:00 ",
            "Nov 23 00:00:00.000001 ",
            "Nov 23 00:59:59.5 ",
            "Nov 23 01:00:00.5 ",
        ];
        let stamps_iso = [
            "2026-11-21T23:20:40.281720+00:00 ",
            "2026-11-21T23:20:40.281721+01:00 ",
            "2026-11-21T23:20:40Z ",
            "2026-11-21 23:20:40-0130 ",
            "2026-11-21T23:20:40.5-01 ",
            "2026-11-21T23:20:40+1 ",
            "2026-11-21T23:20:40. ",
            "2026-11-21T23:20:41Z ",
            "2026-11-31T23:20:40Z ",
            "2026-13-01T00:00:00Z ",
            "2026-02-29T00:00:00Z ",
            "2024-02-29T00:00:00Z ",
            "0000-03-01T00:00:00Z ",
            "9999-12-31T23:59:60Z ",
            "2026-11-21T23:2x:40Z ",
        ];
        for now in [1_795_305_600i64, 1_795_302_000, 1_795_310_000, 0, -1] {
            let now = Timestamp::from_secs(now);
            for off in [0i64, 3600, -7200, 50_400] {
                for a in stamps3164 {
                    for b in stamps3164 {
                        clear_memos();
                        let _ = rfc3164(a.as_bytes(), now, off);
                        let got = rfc3164(b.as_bytes(), now, off);
                        assert_eq!(got, rfc3164_reference(b.as_bytes(), now, off), "{a}{b}");
                    }
                }
            }
        }
        for a in stamps_iso {
            for b in stamps_iso {
                clear_memos();
                let _ = iso8601(a.as_bytes());
                assert_eq!(
                    iso8601(b.as_bytes()),
                    iso8601_reference(b.as_bytes()),
                    "{a}{b}"
                );
            }
        }
    }

    #[test]
    fn yearless() {
        let c = Civil {
            month: 12,
            day: 31,
            hour: 23,
            min: 0,
            sec: 0,
            us: 0,
        };
        let now = iso8601(b"2027-01-01T00:10:00Z").unwrap().0;
        assert_eq!(
            format_utc(c.to_ts_yearless(now, 0).unwrap()),
            "2026-12-31T23:00:00.000000Z"
        );
        let c = Civil {
            month: 1,
            day: 1,
            hour: 0,
            min: 30,
            sec: 0,
            us: 0,
        };
        assert_eq!(
            format_utc(c.to_ts_yearless(now, 0).unwrap()),
            "2027-01-01T00:30:00.000000Z"
        );
        // One hour east of UTC: local 01:30 is 00:30 UTC.
        let c = Civil {
            month: 1,
            day: 1,
            hour: 1,
            min: 30,
            sec: 0,
            us: 0,
        };
        assert_eq!(
            format_utc(c.to_ts_yearless(now, 3600).unwrap()),
            "2027-01-01T00:30:00.000000Z"
        );
    }
}
