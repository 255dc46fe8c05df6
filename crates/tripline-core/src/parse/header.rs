//! Line headers: splits a line into a [`Header`] and the kernel message.
//!
//! Detected per line from the first bytes: RFC 3164 (`Nov 21 23:20:40 fw1
//! kernel: `, also `journalctl -o short` / `short-precise`), ISO 8601
//! (rsyslog, `journalctl -o short-iso`), RFC 5424 (`<4>1 ...`, structured
//! data skipped), raw `/dev/kmsg` records (`4,165017,8085236687,-;`) and
//! bare messages (dmesg: `[ 8085.236687] ...`). Anything unrecognised is
//! returned whole as the message, so the body parser still sees it.

use super::time;
use super::ParseOptions;
use crate::packet::Header;
use memchr::memchr;

/// Split `line` into its header and message.
pub(crate) fn split<'a>(line: &'a str, opts: &ParseOptions) -> (Header<'a>, &'a str) {
    let b = line.as_bytes();
    let r = match b.first() {
        Some(b'A'..=b'Z') => rfc3164(line, 0, opts),
        Some(b'0'..=b'9') => iso(line, 0).or_else(|| kmsg(line)),
        Some(b'<') => pri(line, opts),
        _ => None,
    };
    r.unwrap_or((Header::default(), line))
}

/// `Mmm dd HH:MM:SS[.frac] host tag: msg` starting at `i`.
fn rfc3164<'a>(line: &'a str, i: usize, opts: &ParseOptions) -> Option<(Header<'a>, &'a str)> {
    let b = &line.as_bytes()[i..];
    if b.len() < 16 || b[3] != b' ' || b[6] != b' ' {
        return None;
    }
    let (t, end) = time::rfc3164(b, opts.now, opts.utc_offset_secs as i64)?;
    if b.get(end) != Some(&b' ') {
        return None;
    }
    Some(host_and_tag(line, i + end, Some(t)))
}

/// ISO 8601 stamp, then host and tag.
fn iso(line: &str, i: usize) -> Option<(Header<'_>, &str)> {
    let (t, n) = time::iso8601(&line.as_bytes()[i..])?;
    if line.as_bytes().get(i + n) != Some(&b' ') {
        return None;
    }
    Some(host_and_tag(line, i + n, Some(t)))
}

/// The last `host tag: ` run (from the space after the stamp through the
/// space after the tag), as 32 masked bytes, and where its host lies in it.
#[derive(Clone, Copy)]
struct HostTag {
    bytes: [u128; 2],
    mask: [u128; 2],
    len: usize,
    host: (usize, usize),
}

thread_local! {
    /// Consecutive lines mostly come from one host and tag. A pure memo:
    /// when a line has the same bytes there, the split is the same.
    static HOST_TAG: std::cell::Cell<Option<HostTag>> = const { std::cell::Cell::new(None) };
}

/// Bytes `b[i..i + 32]` as two little-endian words.
#[inline(always)]
fn words32(b: &[u8], i: usize) -> Option<[u128; 2]> {
    let w = b.get(i..i + 32)?;
    let mut lo = [0u8; 16];
    let mut hi = [0u8; 16];
    lo.copy_from_slice(&w[..16]);
    hi.copy_from_slice(&w[16..]);
    Some([u128::from_le_bytes(lo), u128::from_le_bytes(hi)])
}

/// After the stamp: `host tag: msg`. A first token ending in `:` is a tag
/// without a host; a second token not ending in `:` starts the message
/// (ulogd-style lines carry no tag).
fn host_and_tag<'a>(
    line: &'a str,
    i: usize,
    time: Option<crate::packet::Timestamp>,
) -> (Header<'a>, &'a str) {
    let mut h = Header {
        time,
        host: None,
        uptime_us: None,
    };
    let w = words32(line.as_bytes(), i);
    if let (Some(w), Some(m)) = (w, HOST_TAG.get()) {
        if w[0] & m.mask[0] == m.bytes[0] && w[1] & m.mask[1] == m.bytes[1] {
            h.host = Some(&line[i + m.host.0..i + m.host.1]);
            return (h, &line[i + m.len..]);
        }
    }
    let (tok, next) = token(line, i);
    if tok.is_empty() {
        return (h, &line[next..]);
    }
    if tok.ends_with(':') {
        return (h, &line[next..]);
    }
    h.host = Some(tok);
    let (tag, after) = token(line, next);
    if tag.ends_with(':') {
        // The split depends only on `line[i..after]` when the tag ended at
        // a space: memoise it if that fits in 32 bytes.
        let len = after - i;
        if let (Some(w), true) = (w, len <= 32 && line.as_bytes()[after - 1] == b' ') {
            let mask = |k: usize| -> u128 {
                let n = len.saturating_sub(16 * k).min(16);
                if n == 16 {
                    u128::MAX
                } else {
                    (1u128 << (8 * n)) - 1
                }
            };
            let mask = [mask(0), mask(1)];
            let start = tok.as_ptr() as usize - line.as_ptr() as usize - i;
            HOST_TAG.set(Some(HostTag {
                bytes: [w[0] & mask[0], w[1] & mask[1]],
                mask,
                len,
                host: (start, start + tok.len()),
            }));
        }
        (h, &line[after..])
    } else {
        (h, &line[skip_spaces(line, next)..])
    }
}

fn skip_spaces(line: &str, mut i: usize) -> usize {
    let b = line.as_bytes();
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    i
}

/// The space-delimited token at or after `i`, and the index after it and
/// one following space.
fn token(line: &str, i: usize) -> (&str, usize) {
    let b = line.as_bytes();
    let start = skip_spaces(line, i);
    let end = super::fields::find2(b, start, b' ', b' ');
    let next = if end < b.len() { end + 1 } else { end };
    (&line[start..end], next)
}

/// `/dev/kmsg`: `prio,seq,usec,flags[,more];msg`.
fn kmsg(line: &str) -> Option<(Header<'_>, &str)> {
    let b = line.as_bytes();
    let semi = memchr(b';', b)?;
    let mut parts = b[..semi].split(|&c| c == b',');
    super::num::dec_u64(parts.next()?)?;
    super::num::dec_u64(parts.next()?)?;
    let usec = super::num::dec_u64(parts.next()?)?;
    parts.next()?;
    let h = Header {
        time: None,
        host: None,
        uptime_us: Some(usec),
    };
    Some((h, &line[semi + 1..]))
}

/// `<PRI>`: RFC 5424 when a version digit follows, else RFC 3164 or a bare
/// message.
fn pri<'a>(line: &'a str, opts: &ParseOptions) -> Option<(Header<'a>, &'a str)> {
    let b = line.as_bytes();
    let close = memchr(b'>', &b[..b.len().min(6)])?;
    super::num::dec_u8(&b[1..close])?;
    let i = close + 1;
    match (b.get(i), b.get(i + 1)) {
        (Some(b'1'..=b'9'), Some(b' ')) => rfc5424(line, i + 2),
        _ => Some(
            rfc3164(line, i, opts)
                .or_else(|| iso(line, i))
                .unwrap_or((Header::default(), &line[i..])),
        ),
    }
}

/// `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG` after `<PRI>VERSION `.
fn rfc5424(line: &str, i: usize) -> Option<(Header<'_>, &str)> {
    let b = line.as_bytes();
    let (ts, next) = token(line, i);
    let time = if ts == "-" {
        None
    } else {
        let (t, n) = time::iso8601(ts.as_bytes())?;
        (n == ts.len()).then_some(t)?;
        Some(t)
    };
    let (host, next) = token(line, next);
    let (_app, next) = token(line, next);
    let (_procid, next) = token(line, next);
    let (_msgid, next) = token(line, next);
    let mut j = skip_spaces(line, next);
    if b.get(j) == Some(&b'-') {
        j += 1;
    } else {
        j = sd_end(b, j)?;
    }
    let j = j.min(b.len());
    let mut msg = &line[j..];
    msg = msg.strip_prefix(' ').unwrap_or(msg);
    msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    let host = (host != "-" && !host.is_empty()).then_some(host);
    Some((
        Header {
            time,
            host,
            uptime_us: None,
        },
        msg,
    ))
}

/// After RFC 5424 structured data starting at `j`: one or more `[id k="v"
/// ...]` elements, where `\]`, `\"`, `\\` are escapes inside quoted values
/// only. `None` when unterminated.
#[inline]
fn sd_end(b: &[u8], mut j: usize) -> Option<usize> {
    while b.get(j) == Some(&b'[') {
        j += 1;
        let mut quoted = false;
        loop {
            // Skip to the next byte that matters in this state.
            j = if quoted {
                super::fields::find2(b, j.min(b.len()), b'\\', b'"')
            } else {
                super::fields::find2(b, j, b'"', b']')
            };
            match b.get(j) {
                None => return None,
                Some(b'\\') if quoted => j += 2,
                Some(b'"') => {
                    quoted = !quoted;
                    j += 1;
                }
                Some(b']') if !quoted => {
                    j += 1;
                    break;
                }
                Some(_) => j += 1,
            }
        }
    }
    Some(j)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::Timestamp;

    fn opts() -> ParseOptions {
        ParseOptions {
            now: Timestamp::from_secs(1_795_310_000),
            utc_offset_secs: 0,
        }
    }

    #[test]
    fn formats() {
        let o = opts();
        let (h, m) = split("Nov 21 23:20:40 fw1 kernel: [ 8085.236687] X IN=", &o);
        assert_eq!((h.host, m), (Some("fw1"), "[ 8085.236687] X IN="));
        assert_eq!(h.time, Some(Timestamp(1_795_303_240_000_000)));
        let (h, m) = split("2026-11-21T23:20:40.281720+00:00 fw1 kernel: X IN=", &o);
        assert_eq!((h.host, m), (Some("fw1"), "X IN="));
        assert_eq!(h.time, Some(Timestamp(1_795_303_240_281_720)));
        let (h, m) = split(
            r#"<4>1 2026-11-21T23:20:40.281720Z fw1 kernel - - [a b="x\]y"][c] X IN="#,
            &o,
        );
        assert_eq!((h.host, m), (Some("fw1"), "X IN="));
        let (h, m) = split("4,165017,8085236687,-;X IN=", &o);
        assert_eq!((h.uptime_us, m), (Some(8_085_236_687), "X IN="));
        let (h, m) = split("[ 8085.236687] X IN=", &o);
        assert_eq!((h, m), (Header::default(), "[ 8085.236687] X IN="));
        let (h, m) = split("Nov  1 03:20:40 fw1 kernel: X", &o);
        assert_eq!((h.host, m), (Some("fw1"), "X"));
    }

    /// The structured-data scan as it was, a byte at a time.
    fn sd_end_reference(b: &[u8], mut j: usize) -> Option<usize> {
        while b.get(j) == Some(&b'[') {
            j += 1;
            let mut quoted = false;
            loop {
                match b.get(j) {
                    None => return None,
                    Some(b'\\') if quoted => j += 2,
                    Some(b'"') => {
                        quoted = !quoted;
                        j += 1;
                    }
                    Some(b']') if !quoted => {
                        j += 1;
                        break;
                    }
                    Some(_) => j += 1,
                }
            }
        }
        Some(j)
    }

    #[test]
    fn sd_scan_agrees() {
        let cases = [
            r#"[a b="x\]y"][c] X"#,
            r#"[meta sequenceId="1"][kmsg@32473 seq="1" ts="8085.236687"] IN="#,
            r#"[a b="\""] X"#,
            r#"[a b="\\"] X"#,
            r#"[a b="x\"#,
            r#"[a b="x\""#,
            r#"[a b="x"#,
            r#"[a b=x\] y"#,
            r#"[a b="]]]]]]]]]]]]]]]]]]"] y"#,
            r#"[a b="\\\\\\\\\\\\\\\"]"] y"#,
            r#"[a b="""""""""""""""""""]"#,
            "[",
            "[]",
            "[][][][][][][][][][]x",
            "x",
            "",
        ];
        for c in cases {
            let b = c.as_bytes();
            for j in 0..=b.len() {
                assert_eq!(sd_end(b, j), sd_end_reference(b, j), "{c} at {j}");
            }
        }
    }

    fn fresh<'a>(line: &'a str, o: &ParseOptions) -> (Header<'a>, &'a str) {
        HOST_TAG.set(None);
        time::clear_memos();
        split(line, o)
    }

    /// The memoised stamps and host/tag runs give what a fresh parse gives,
    /// whatever line came before.
    #[test]
    fn memos_are_transparent() {
        let body = " [ 8085.236687] IN_DROP IN=wan0 OUT= MAC=52:54:00:1f:00:01 SRC=1.2.3.4";
        let heads = [
            "Nov 21 23:20:40 fw1 kernel:",
            "Nov 21 23:20:40 fw2 kernel:",
            "Nov 21 23:20:41 fw1 kernel:",
            "Nov 21 23:20:40.5 fw1 kernel:",
            "Nov 21 23:20:40,123456789 fw1 kernel:",
            "Nov 21 23:20:40. fw1 kernel:",
            "Nov 21 23:20:40  fw1 kernel:",
            "Nov 21 23:20:40 fw1  kernel:",
            "Nov 21 23:20:40 fw1 kernel",
            "Nov 21 23:20:40 fw1 kernel: ",
            "Nov 21 23:20:40 fw1: kernel:",
            "Nov 21 23:20:40 kernel:",
            "Nov 21 23:20:40 fw1 kernel[12]:",
            "Nov 21 23:20:40 a-very-long-host-name.example.org kernel:",
            "Nov 21 23:20:40 fw1 kernel:X",
            "Nov  1 23:20:40 fw1 kernel:",
            "Nov 01 23:20:40 fw1 kernel:",
            "Nov 21 24:20:40 fw1 kernel:",
            "Nov 31 23:20:40 fw1 kernel:",
            "Dec 31 23:59:59 fw1 kernel:",
            "Jan  1 00:00:00 fw1 kernel:",
            "Nov 22 23:20:40 fw1 kernel:",
            "Nov 22 23:20:40.999999 fw1 kernel:",
            "Nov 23 00:00:00 fw1 kernel:",
            "Nov 23 00:00:00.000001 fw1 kernel:",
            "Nov 22 00:00:00.5 fw1 kernel:",
            "<4>Nov 21 23:20:40 fw1 kernel:",
            "2026-11-21T23:20:40.281720+00:00 fw1 kernel:",
            "2026-11-21T23:20:40.281721+01:00 fw1 kernel:",
            "2026-11-21T23:20:40Z fw1 kernel:",
            "2026-11-21 23:20:40-0130 fw1 kernel:",
            "2026-11-21T23:20:40.5-01 fw1 kernel:",
            "2026-11-21T23:20:41.281720+00:00 fw1 kernel:",
            "2026-11-31T23:20:40Z fw1 kernel:",
            "<4>1 2026-11-21T23:20:40.281720Z fw1 kernel - - - X",
            "<4>2026-11-21T23:20:40.281720Z fw1 kernel:",
        ];
        let lines: Vec<String> = heads.iter().map(|h| format!("{h}{body}")).collect();
        let nows = [
            Timestamp::from_secs(1_795_310_000),
            // 2026-11-22T00:00:00Z: a day later is exactly Nov 23 00:00.
            Timestamp::from_secs(1_795_305_600),
            Timestamp::from_secs(1_795_305_600 - 3600),
        ];
        for now in nows {
            for off in [0, 3600, -7200] {
                let o = ParseOptions {
                    now,
                    utc_offset_secs: off,
                };
                for a in &lines {
                    for b in &lines {
                        fresh(a, &o);
                        let memo = split(b, &o);
                        assert_eq!(memo, fresh(b, &o), "{a} then {b}");
                    }
                }
            }
        }
    }
}
