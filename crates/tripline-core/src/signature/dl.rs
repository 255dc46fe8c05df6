//! Danger-level inputs for signatures (spec §3.4): `snort_rule_dl`
//! overrides, snort `classification.config` priorities and
//! `reference.config` base URLs.

use std::collections::HashMap;

/// psad's mapping of a snort priority to a danger level: 1→5, 2→4, 3→3,
/// 4→2, anything else→1.
pub fn convert_snort_priority(priority: u32) -> u8 {
    match priority {
        1 => 5,
        2 => 4,
        3 => 3,
        4 => 2,
        _ => 1,
    }
}

/// `snort_rule_dl`: `<sid> <dl>` lines overriding a rule's (or a fwsnort
/// SID's) danger level; DL 0 means "ignore packets matching it".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleDl {
    /// Override per key.
    pub map: HashMap<u32, u8>,
    /// Lines that looked like entries but were ignored (1-based), as psad
    /// ignores them silently.
    pub ignored_lines: Vec<usize>,
}

impl RuleDl {
    /// Parse the file. Lines not starting with a digit are comments; an
    /// entry whose DL is not 0..5 is ignored, as by psad. Trailing text
    /// (`2284 3;`) is allowed. Later lines win.
    pub fn parse(text: &str) -> RuleDl {
        let mut r = RuleDl::default();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim_start();
            if !t.starts_with(|c: char| c.is_ascii_digit()) {
                continue;
            }
            let mut w = t
                .split(|c: char| c.is_whitespace() || c == ';')
                .filter(|s| !s.is_empty());
            let sid = w.next().and_then(|s| s.parse::<u32>().ok());
            let dl = w.next().and_then(|s| {
                let d: String = s.chars().take_while(char::is_ascii_digit).collect();
                d.parse::<u32>().ok()
            });
            match (sid, dl) {
                (Some(s), Some(d)) if d <= 5 => {
                    r.map.insert(s, d as u8);
                }
                _ => r.ignored_lines.push(i + 1),
            }
        }
        r
    }

    /// The override for a key.
    pub fn get(&self, key: u32) -> Option<u8> {
        self.map.get(&key).copied()
    }

    /// DL of a fwsnort SID known from the rule files: the override, else 2
    /// (psad ignores the rule's classtype here).
    pub fn fwsnort_dl(&self, sid: u32) -> u8 {
        self.get(sid).unwrap_or(2)
    }
}

/// snort `classification.config`: classtype → priority.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Classification {
    /// Priority per classtype name.
    pub priority: HashMap<String, u32>,
}

impl Classification {
    /// Parse `config classification: <name>,<description>,<priority>` lines;
    /// anything else is ignored.
    pub fn parse(text: &str) -> Classification {
        let mut c = Classification::default();
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix("config") else {
                continue;
            };
            let Some(rest) = rest.trim_start().strip_prefix("classification:") else {
                continue;
            };
            let mut parts = rest.split(',');
            let name = parts.next().map(str::trim).unwrap_or("");
            let Some(prio) = parts.next_back().and_then(|p| p.trim().parse::<u32>().ok()) else {
                continue;
            };
            if !name.is_empty() && !name.contains(char::is_whitespace) {
                c.priority.insert(name.to_string(), prio);
            }
        }
        c
    }

    /// The danger level for a classtype, if the file defines it.
    pub fn dl(&self, classtype: &str) -> Option<u8> {
        self.priority
            .get(classtype)
            .map(|&p| convert_snort_priority(p))
    }
}

/// snort `reference.config`: reference type → base URL (references are
/// shown in alerts only for types defined here).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReferenceConfig {
    /// Base URL per lower-cased type.
    pub base_url: HashMap<String, String>,
}

impl ReferenceConfig {
    /// Parse `config reference: <type> <url>` lines.
    pub fn parse(text: &str) -> ReferenceConfig {
        let mut r = ReferenceConfig::default();
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix("config") else {
                continue;
            };
            let Some(rest) = rest.trim_start().strip_prefix("reference:") else {
                continue;
            };
            let mut w = rest.split_whitespace();
            if let (Some(t), Some(u)) = (w.next(), w.next()) {
                if t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    r.base_url.insert(t.to_ascii_lowercase(), u.to_string());
                }
            }
        }
        r
    }

    /// The full URL of a reference, when its type is known.
    pub fn url(&self, kind: &str, value: &str) -> Option<String> {
        self.base_url
            .get(&kind.to_ascii_lowercase())
            .map(|b| format!("{b}{value}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_dl() {
        let r = RuleDl::parse("# c\n#2284 3;\n2284   3;\n100205 4\n 7 9\n8 x\n100205 0\n");
        assert_eq!(r.get(2284), Some(3));
        assert_eq!(r.get(100205), Some(0));
        assert_eq!(r.get(7), None);
        assert_eq!(r.ignored_lines, vec![5, 6]);
        assert_eq!(r.fwsnort_dl(1), 2);
        assert_eq!(r.fwsnort_dl(2284), 3);
    }

    #[test]
    fn psad_rule_dl_file() {
        let Ok(t) = std::fs::read_to_string("/etc/psad/snort_rule_dl") else {
            return;
        };
        let r = RuleDl::parse(&t);
        assert!(r.map.is_empty() && r.ignored_lines.is_empty());
    }

    #[test]
    fn classification() {
        let c = Classification::parse(
            "# x\nconfig classification: not-suspicious,Not Suspicious Traffic,3\n\
             config classification: attempted-admin,Attempted Administrator Privilege Gain,1\n\
             config classification: odd,Odd,12\nconfig classification: broken\n",
        );
        assert_eq!(c.dl("not-suspicious"), Some(3));
        assert_eq!(c.dl("attempted-admin"), Some(5));
        assert_eq!(c.dl("odd"), Some(1));
        assert_eq!(c.dl("broken"), None);
        assert_eq!(
            (0..7).map(convert_snort_priority).collect::<Vec<_>>(),
            [1, 5, 4, 3, 2, 1, 1]
        );
    }

    #[test]
    fn references() {
        let r = ReferenceConfig::parse(
            "config reference: bugtraq   http://www.securityfocus.com/bid/\n",
        );
        assert_eq!(
            r.url("BUGTRAQ", "4088").as_deref(),
            Some("http://www.securityfocus.com/bid/4088")
        );
        assert_eq!(r.url("cve", "1"), None);
    }
}
