//! psad's line patterns for its fingerprint files, matched by hand: compiling
//! them with the `regex` crate was an eighth of start-up. The tests check
//! them against those regexes.

use crate::parse::is_perl_space as is_space;

/// pf.os: `^(\S+?):(\S+?):(\S+?):(\S+?):(\S+?):\s+(.*)`, the five fields and
/// the OS text, or `None` when the line does not match.
pub(super) fn pfos(line: &str) -> Option<([&str; 5], &str)> {
    let b = line.as_bytes();
    // Every field and colon lies in the leading run of non-space bytes, and
    // the fifth field's colon ends it (spaces must follow).
    let run = b.iter().position(|&c| is_space(c))?;
    let last = run.checked_sub(1).filter(|&i| b[i] == b':')?;
    let mut fields = [""; 5];
    let mut start = 0;
    for f in &mut fields[..4] {
        // Shortest first: at least one byte, then the first colon.
        let from = start + 1;
        let colon = from + memchr::memchr(b':', b.get(from..last)?)?;
        *f = &line[start..colon];
        start = colon + 1;
    }
    if start >= last {
        return None;
    }
    fields[4] = &line[start..last];
    let os = b[run..]
        .iter()
        .position(|&c| !is_space(c))
        .map_or(b.len(), |i| run + i);
    Some((fields, &line[os..]))
}

/// posf: `^\s*KEYWORD\s+(VALUE);` where VALUE is `value` bytes, or `.*` when
/// `value` is `None`: the value, or `None` when the line does not match.
pub(super) fn posf<'a>(
    line: &'a str,
    keyword: &str,
    value: Option<fn(u8) -> bool>,
) -> Option<&'a str> {
    let b = line.as_bytes();
    let skip = |from: usize| {
        b[from..]
            .iter()
            .position(|&c| !is_space(c))
            .map_or(b.len(), |i| from + i)
    };
    let at = skip(0);
    let after = at + keyword.len();
    if b.get(at..after) != Some(keyword.as_bytes()) {
        return None;
    }
    let start = skip(after);
    if start == after {
        return None;
    }
    let end = match value {
        // `.*` then `;`: up to the last semicolon.
        None => start + memchr::memrchr(b';', &b[start..])?,
        Some(ok) => {
            let end = b[start..]
                .iter()
                .position(|&c| !ok(c))
                .map_or(b.len(), |i| start + i);
            (end > start && b.get(end) == Some(&b';')).then_some(end)?
        }
    };
    Some(&line[start..end])
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    const WS: &str = r"[ \t\n\r\x0B\x0C]";

    /// Lines of the characters that matter, many of them.
    fn lines() -> impl Iterator<Item = String> {
        let pieces = [
            ":",
            ":",
            "::",
            " ",
            "\t",
            "\x0b",
            "\x0c",
            "\r",
            ";",
            "S4",
            "64",
            "*",
            "M1460,N",
            "a",
            "OS",
            "TOS",
            "NUMPKTS",
            "0x10",
            "_",
            "é",
            "Linux 2.4",
            "#",
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..40_000).map(move |_| {
            let mut s = String::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = (x % 14) as usize;
            for k in 0..n {
                s.push_str(pieces[((x >> (4 * k + 8)) as usize ^ k) % pieces.len()]);
            }
            s
        })
    }

    #[test]
    fn pfos_lines_split_as_psads_regex_does() {
        let re = Regex::new(
            r"^([^ \t\n\r\x0B\x0C]+?):([^ \t\n\r\x0B\x0C]+?):([^ \t\n\r\x0B\x0C]+?):([^ \t\n\r\x0B\x0C]+?):([^ \t\n\r\x0B\x0C]+?):[ \t\n\r\x0B\x0C]+(.*)",
        )
        .unwrap();
        let mut matched = 0;
        let known = [
            "S4:64:1:60:M*,S,T,N,W0:\tLinux:2.4::Linux 2.4".to_string(),
            "::::::: x".into(),
            "a:b:c:d:e:f: g".into(),
            "a:b:c:d:e:".into(),
            "a:b:c:d:e:  ".into(),
        ];
        // Also pf.os-shaped lines: segments of any count, some empty, some
        // with spaces, then a separator and a text.
        let segments = ["S4", "", "64", ":", " ", "M*,N", "é", "1"];
        let seps = [":\t", ": ", ":", " ", ":\x0b ", "::  "];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let shaped = (0..40_000).map(move |_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = 3 + (x % 6) as usize;
            let segs: Vec<&str> = (0..n)
                .map(|k| segments[((x >> (3 * k + 8)) as usize) % segments.len()])
                .collect();
            let sep = seps[((x >> 40) as usize) % seps.len()];
            format!("{}{sep}Linux:2.4 x", segs.join(":"))
        });
        for line in known.into_iter().chain(lines()).chain(shaped) {
            let want = re.captures(&line).map(|c| {
                let f = |i: usize| c.get(i).map_or("", |m| m.as_str());
                ([f(1), f(2), f(3), f(4), f(5)], f(6))
            });
            matched += usize::from(want.is_some());
            assert_eq!(super::pfos(&line), want, "{line:?}");
        }
        assert!(matched > 5_000, "{matched} lines matched");
    }

    #[test]
    fn posf_lines_split_as_psads_regexes_do() {
        let digits: fn(u8) -> bool = |c| c.is_ascii_digit();
        let word: fn(u8) -> bool = |c| c.is_ascii_alphanumeric() || c == b'_';
        let kinds = [
            ("OS", ".*", None),
            ("NUMPKTS", "[0-9]+", Some(digits)),
            ("TOS", "[A-Za-z0-9_]+", Some(word)),
        ];
        let mut matched = 0;
        for (kw, val, class) in kinds {
            let re = Regex::new(&format!(r"^{WS}*{kw}{WS}+({val});")).unwrap();
            let known = [
                format!("{kw} 3;"),
                format!(" \t{kw}\x0b x;y; "),
                format!("{kw};"),
            ];
            for line in known.into_iter().chain(lines()) {
                let want = re
                    .captures(&line)
                    .map(|c| c.get(1).map_or("", |m| m.as_str()));
                matched += usize::from(want.is_some());
                assert_eq!(super::posf(&line, kw, class), want, "{kw} {line:?}");
            }
        }
        assert!(matched > 100, "{matched} lines matched");
    }
}
