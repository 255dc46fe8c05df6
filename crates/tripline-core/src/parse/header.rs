//! Line headers: splits a line into a [`Header`] and the kernel message.
//!
//! Detected per line from the first bytes: RFC 3164 (`Nov 21 23:20:40 fw1
//! kernel: `, also `journalctl -o short` / `short-precise`), ISO 8601
//! (rsyslog, `journalctl -o short-iso`), RFC 5424 (`<4>1 ...`, structured
//! data skipped), raw `/dev/kmsg` records (`4,165017,8085236687,-;`) and
//! bare messages (dmesg: `[ 8085.236687] ...`). Anything unrecognised is
//! returned whole as the message, so the body parser still sees it.

use super::time::{self, Civil};
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
    let month = time::month(&b[..3])?;
    let day = match (b[4], b[5]) {
        (b' ', d @ b'1'..=b'9') => (d - b'0') as u32,
        _ => time::two(b, 4)?,
    };
    let mut c = Civil {
        month,
        day,
        hour: 0,
        min: 0,
        sec: 0,
        us: 0,
    };
    let end = time::hms(b, 7, &mut c)?;
    if b.get(end) != Some(&b' ') {
        return None;
    }
    let t = c.to_ts_yearless(opts.now, opts.utc_offset_secs as i64)?;
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
    let end = memchr(b' ', &b[start..]).map_or(b.len(), |p| start + p);
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
        // One or more `[id k="v" ...]` elements; `\]`, `\"`, `\\` are
        // escapes inside quoted values only.
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
}
