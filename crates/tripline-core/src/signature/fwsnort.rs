//! fwsnort integration (spec §1.2 step 9, §3.5): the SID, rule number and
//! ESTAB flag carried in a log prefix, and the metadata of the snort rules
//! those SIDs refer to.

use super::rule::{quoted, split_options, split_rule, unescape};
use std::collections::HashMap;

/// What a fwsnort log prefix says, e.g. `[1] SID2003 ESTAB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FwsnortTag {
    /// The snort SID.
    pub sid: u32,
    /// The fwsnort rule number from `[N]`, if present.
    pub rule_num: Option<u32>,
    /// The prefix contains `ESTAB` (logged from an `_ESTAB` chain).
    pub estab: bool,
}

/// The first run of digits in `s` starting exactly at byte `at`.
fn digits_at(s: &str, at: usize) -> Option<&str> {
    let rest = &s[at..];
    let n = rest.bytes().take_while(u8::is_ascii_digit).count();
    (n > 0).then(|| &rest[..n])
}

/// Extract the fwsnort SID from a log prefix: `sid_str` (psad's
/// `SNORT_SID_STR`, default `SID`, taken literally here) immediately followed
/// by digits, at its first such occurrence. Returns `None` for no SID or SID 0
/// (psad treats 0 as "no SID"), or a number too large for a u32.
pub fn fwsnort_tag(prefix: &str, sid_str: &str) -> Option<FwsnortTag> {
    let mut sid = None;
    let mut from = 0;
    while from <= prefix.len() {
        let Some(pos) = prefix[from..].find(sid_str) else {
            break;
        };
        let at = from + pos + sid_str.len();
        if let Some(d) = digits_at(prefix, at) {
            sid = Some(d);
            break;
        }
        // Step past this occurrence (at least one char, on a char boundary).
        let step = prefix[from + pos..]
            .chars()
            .next()
            .map_or(1, char::len_utf8);
        from += pos + step;
    }
    let sid: u32 = sid?.parse().ok().filter(|&s| s != 0)?;
    let rule_num = prefix.match_indices('[').find_map(|(i, _)| {
        let d = digits_at(prefix, i + 1)?;
        prefix[i + 1 + d.len()..]
            .starts_with(']')
            .then(|| d.parse().ok())
            .flatten()
    });
    Some(FwsnortTag {
        sid,
        rule_num,
        estab: prefix.contains("ESTAB"),
    })
}

/// Metadata of one snort rule, as psad keeps it for fwsnort alerts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SnortRule {
    /// `msg`, if present.
    pub msg: Option<String>,
    /// Protocol word after `alert`, lower-cased.
    pub proto: String,
    /// `classtype`, if present.
    pub classtype: Option<String>,
    /// `metadata` entries.
    pub metadata: Vec<String>,
    /// `priority` converted to a danger level.
    pub priority_dl: Option<u8>,
    /// Every `content` / `uricontent` string, raw (snort escapes kept).
    pub content: Vec<String>,
    /// `reference:type,value` pairs.
    pub references: Vec<(String, String)>,
}

/// snort `*.rules` metadata keyed by SID.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SnortRules {
    /// Rules by SID.
    pub rules: HashMap<u32, SnortRule>,
}

impl SnortRules {
    /// Parse one `.rules` file.
    pub fn parse(text: &str) -> SnortRules {
        let mut r = SnortRules::default();
        r.add(text);
        r
    }

    /// Add the `alert` rules with a `sid` from one more `.rules` file (a
    /// later definition of a SID replaces an earlier one). Other lines,
    /// including commented-out rules, are ignored.
    pub fn add(&mut self, text: &str) {
        for line in text.lines() {
            let t = line.trim_start();
            let Some(after) = t.strip_prefix("alert") else {
                continue;
            };
            let proto: String = after
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
                .to_ascii_lowercase();
            let Some((_, opts)) = split_rule(t) else {
                continue;
            };
            let options = split_options(opts);
            let get = |k: &str| options.iter().find(|(key, _)| key == k).map(|(_, v)| *v);
            let Some(sid) = get("sid").and_then(|v| v.parse::<u32>().ok()) else {
                continue;
            };
            let rule = SnortRule {
                msg: get("msg").and_then(quoted),
                proto,
                classtype: get("classtype").filter(|v| !v.is_empty()).map(String::from),
                metadata: get("metadata")
                    .map(|v| {
                        v.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                priority_dl: get("priority")
                    .and_then(|v| v.parse::<u32>().ok())
                    .map(super::convert_snort_priority),
                content: options
                    .iter()
                    .filter(|(k, _)| k == "content" || k == "uricontent")
                    .filter_map(|(_, v)| {
                        let inner = v.strip_prefix('"')?.strip_suffix('"')?;
                        Some(inner.to_string())
                    })
                    .collect(),
                references: options
                    .iter()
                    .filter(|(k, _)| k == "reference")
                    .filter_map(|(_, v)| {
                        let (t, val) = v.split_once(',')?;
                        let val = unescape(val.trim());
                        Some((
                            t.trim().to_ascii_lowercase(),
                            val.split_whitespace().next()?.to_string(),
                        ))
                    })
                    .collect(),
            };
            self.rules.insert(sid, rule);
        }
    }

    /// Metadata of a SID.
    pub fn get(&self, sid: u32) -> Option<&SnortRule> {
        self.rules.get(&sid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        let t = fwsnort_tag("[1] SID2003 ESTAB", "SID").unwrap();
        assert_eq!(
            t,
            FwsnortTag {
                sid: 2003,
                rule_num: Some(1),
                estab: true
            }
        );
        let t = fwsnort_tag("SIDX SID12 [x] [7]", "SID").unwrap();
        assert_eq!((t.sid, t.rule_num, t.estab), (12, Some(7), false));
        assert_eq!(fwsnort_tag("IN_DROP", "SID"), None);
        assert_eq!(fwsnort_tag("SID0", "SID"), None);
        assert_eq!(fwsnort_tag("SID99999999999", "SID"), None);
        assert_eq!(fwsnort_tag("SID", "SID"), None);
        assert_eq!(fwsnort_tag("é SIDé SNORT5", "SNORT").unwrap().sid, 5);
        assert_eq!(fwsnort_tag("x 42 y", "").unwrap().sid, 42);
    }

    #[test]
    fn rules() {
        let text = r#"# alert tcp any any -> any any (msg:"off"; sid:1;)
alert tcp $EXTERNAL_NET any -> $HOME_NET 21 (msg:"FTP; odd"; flow:to_server,established; content:"SITE"; nocase; content:"EXEC|3B|"; uricontent:"/x"; classtype:bad-unknown; metadata:policy balanced, service ftp; priority:2; reference:cve,1999-0080; reference:url,a.b/c\;d; sid:2003; rev:3;)
alert udp any any -> any any (msg:"no sid";)
"#;
        let r = SnortRules::parse(text);
        assert_eq!(r.rules.len(), 1);
        let s = r.get(2003).unwrap();
        assert_eq!(s.msg.as_deref(), Some("FTP; odd"));
        assert_eq!(s.proto, "tcp");
        assert_eq!(s.classtype.as_deref(), Some("bad-unknown"));
        assert_eq!(s.content, ["SITE", "EXEC|3B|", "/x"]);
        assert_eq!(s.metadata, ["policy balanced", "service ftp"]);
        assert_eq!(s.priority_dl, Some(4));
        assert_eq!(s.references[1], ("url".to_string(), "a.b/c;d".to_string()));
    }
}
