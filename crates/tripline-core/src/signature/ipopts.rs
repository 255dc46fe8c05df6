//! IPv4 options for the `ipopts` keyword (spec §1.5): the `ip_options` table
//! and the walk over the logged `OPT (...)` hex text.

use super::SigError;

/// Bitmap of option-type octets (bit `v` set = option value `v`).
pub type OptSet = [u64; 4];

fn set(s: &mut OptSet, v: u8) {
    s[(v >> 6) as usize] |= 1 << (v & 63);
}

fn has(s: &OptSet, v: u8) -> bool {
    s[(v >> 6) as usize] & (1 << (v & 63)) != 0
}

/// One line of an `ip_options` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpOption {
    /// Option-type octet.
    pub value: u8,
    /// Fixed length in bytes, or -1 when the option has a length byte.
    pub len: i32,
    /// `ipopts:` name.
    pub keyword: String,
    /// Free text.
    pub description: String,
}

/// A table of known IPv4 options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpOptions {
    /// The entries in file order (a value may appear under several names).
    pub entries: Vec<IpOption>,
    /// Fixed length per value for the psad walk: 0 unknown, -1 variable.
    lens: [i32; 256],
}

impl Default for IpOptions {
    fn default() -> Self {
        IpOptions::builtin()
    }
}

impl IpOptions {
    /// Our built-in table (`data/ip_options`, from the IANA registry).
    pub fn builtin() -> IpOptions {
        static BUILTIN: std::sync::OnceLock<IpOptions> = std::sync::OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                // The embedded file is tested to parse; fall back to empty rather than panic.
                IpOptions::parse(include_str!("../../data/ip_options"), "builtin:ip_options")
                    .unwrap_or_else(|_| IpOptions::from_entries(Vec::new()))
            })
            .clone()
    }

    /// Parse psad's `ip_options` format: `<value> <len|-1> <name> <text>`,
    /// `#` comments and blank lines skipped.
    pub fn parse(text: &str, file: &str) -> Result<IpOptions, SigError> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let err = |m: &str| SigError::new(file, i + 1, format!("{m}: {t:?}"));
            let mut words = t.split_whitespace();
            let value = words
                .next()
                .and_then(|w| w.parse::<u8>().ok())
                .ok_or_else(|| err("option value must be 0..255"))?;
            let len = words
                .next()
                .and_then(|w| w.parse::<i32>().ok())
                .filter(|&l| l == -1 || (1..=40).contains(&l))
                .ok_or_else(|| err("option length must be 1..40 or -1"))?;
            let keyword = words
                .next()
                .filter(|w| w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .ok_or_else(|| err("missing option name"))?;
            let description = words.collect::<Vec<_>>().join(" ");
            entries.push(IpOption {
                value,
                len,
                keyword: keyword.to_ascii_lowercase(),
                description,
            });
        }
        Ok(IpOptions::from_entries(entries))
    }

    fn from_entries(entries: Vec<IpOption>) -> IpOptions {
        let mut lens = [0i32; 256];
        for e in &entries {
            lens[e.value as usize] = e.len;
        }
        IpOptions { entries, lens }
    }

    /// The option values known under `keyword` (empty if unknown).
    pub fn values_for(&self, keyword: &str) -> OptSet {
        let mut s = [0; 4];
        for e in self.entries.iter().filter(|e| e.keyword == keyword) {
            set(&mut s, e.value);
        }
        s
    }

    /// Option values found in the logged hex text `hex` (`OPT (...)` contents).
    /// `compat` reproduces psad's byte walk (which skips one byte too few or
    /// too many after each option); otherwise options are walked by their own
    /// type/length bytes. Odd-length or non-hex text yields the empty set.
    pub fn scan(&self, hex: &str, compat: bool) -> OptSet {
        let mut found = [0u64; 4];
        let h = hex.as_bytes();
        if h.len() % 2 != 0 || !h.iter().all(u8::is_ascii_hexdigit) {
            return found;
        }
        let n = h.len() / 2;
        let byte = |i: usize| -> u8 {
            let d = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            d(h[2 * i]) << 4 | d(h[2 * i + 1])
        };
        let mut i = 0usize;
        if compat {
            while i < n {
                let v = byte(i);
                let len = self.lens[v as usize];
                if len != 0 {
                    if len > 0 {
                        if len != 1 {
                            i += len as usize;
                        }
                    } else {
                        if i + 1 >= n {
                            return found;
                        }
                        // psad subtracts the type and length bytes but then
                        // also steps once more; a length below 2 would send
                        // it backwards, so stop there instead.
                        let l = i64::from(byte(i + 1)) - 2;
                        if l < 0 || i as i64 + l > n as i64 - 1 {
                            return found;
                        }
                        i += l as usize;
                    }
                    set(&mut found, v);
                }
                i += 1;
            }
        } else {
            while i < n {
                let v = byte(i);
                set(&mut found, v);
                match v {
                    0 => break,
                    1 => i += 1,
                    _ => {
                        if i + 1 >= n {
                            break;
                        }
                        let l = byte(i + 1) as usize;
                        if l < 2 {
                            break;
                        }
                        i += l;
                    }
                }
            }
        }
        found
    }
}

/// True when the two option sets share a value.
#[inline]
pub(crate) fn intersects(a: &OptSet, b: &OptSet) -> bool {
    (a[0] & b[0]) | (a[1] & b[1]) | (a[2] & b[2]) | (a[3] & b[3]) != 0
}

/// Names of the options in `found`, for diagnostics and reports.
pub fn option_names<'a>(table: &'a IpOptions, found: &OptSet) -> Vec<&'a str> {
    let mut v: Vec<&str> = table
        .entries
        .iter()
        .filter(|e| has(found, e.value))
        .map(|e| e.keyword.as_str())
        .collect();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(t: &IpOptions, hex: &str, compat: bool) -> Vec<String> {
        option_names(t, &t.scan(hex, compat))
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn builtin_parses() {
        let t = IpOptions::parse(include_str!("../../data/ip_options"), "b").unwrap();
        assert!(t.entries.len() > 25);
        assert_eq!(IpOptions::builtin(), t);
        assert_ne!(t.values_for("rr"), [0; 4]);
        assert_eq!(t.values_for("nonesuch"), [0; 4]);
        // aliases
        assert_eq!(t.values_for("esec"), t.values_for("extsec"));
    }

    #[test]
    fn psad_file_parses() {
        let Ok(text) = std::fs::read_to_string("/etc/psad/ip_options") else {
            return;
        };
        let t = IpOptions::parse(&text, "/etc/psad/ip_options").unwrap();
        assert_eq!(t.entries.len(), 25);
        assert_eq!(t.lens[130], 11);
        assert_eq!(t.lens[131], -1);
    }

    #[test]
    fn walks() {
        let t = IpOptions::builtin();
        // Record route, length 7 (3 bytes header + one slot), then EOL.
        let rr = "0707040000000000";
        assert_eq!(names(&t, rr, false), ["eol", "rr"]);
        // Loose source route with 2 addresses (len 11) then NOP padding.
        let lsrr = "830B04C0A80001C0A8000201";
        assert_eq!(names(&t, lsrr, false), ["nop", "lsrr"]);
        // Router alert.
        assert_eq!(names(&t, "94040000", false), ["ralert"]);
        assert!(names(&t, "94040000", true).contains(&"ralert".to_string()));
        // Odd, empty, garbage.
        assert!(names(&t, "070", false).is_empty());
        assert!(names(&t, "", true).is_empty());
        assert!(names(&t, "zz", true).is_empty());
        // Length below 2 stops both walks without looping.
        assert_eq!(names(&t, "0700", false), ["rr"]);
        assert!(names(&t, "0700", true).is_empty());
        assert!(names(&t, "0701", true).is_empty());
    }

    #[test]
    fn bad_lines() {
        assert!(IpOptions::parse("300 1 x y", "f").is_err());
        assert!(IpOptions::parse("3 z x y", "f").is_err());
        assert!(IpOptions::parse("3 1", "f").is_err());
        let e = IpOptions::parse("# c\n\n3 1 a-b", "f").unwrap_err();
        assert_eq!(e.line, 3);
    }
}
