//! psad.conf front-end: `NAME<ws>VALUE;` lines into an ordered list of assignments.
//!
//! Syntax as psad 2.4.6 reads it (spec §7.10): the value runs up to the first `;`, lines
//! whose first non-blank character is `#` are comments, lines without `;` are ignored.
//! Unknown names are errors here (psad silently keeps them), with a did-you-mean. Values are
//! kept raw except that trailing blanks before the `;` are dropped (psad keeps them, so
//! `MAX_HOPS 20 ;` fails its own checks); `$VAR` expansion and validation happen in
//! [`ConfigBuilder::build`].
//!
//! [`ConfigBuilder::build`]: super::ConfigBuilder::build

use super::error::{ConfigError, ConfigErrorKind, ConfigWarning, Origin};
use super::vars;

/// One `NAME VALUE;` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assignment {
    /// psad variable name.
    pub name: String,
    /// Raw value (before `$VAR` expansion), trailing blanks trimmed.
    pub value: String,
    /// Where it was written.
    pub origin: Origin,
}

/// A parsed psad.conf file: its assignments in file order, not yet expanded or validated.
///
/// Add it to a [`ConfigBuilder`](super::ConfigBuilder) to get a [`Config`](super::Config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PsadConf {
    file: String,
    pub(crate) assignments: Vec<Assignment>,
    pub(crate) warnings: Vec<ConfigWarning>,
}

/// psad's `\s` on bytes: ASCII blanks only (a config file read by Perl is bytes).
fn is_blank(c: char) -> bool {
    c.is_ascii_whitespace() || c == '\x0b'
}

impl PsadConf {
    /// Parses psad.conf text. `file` is only used in messages.
    ///
    /// Errors: an unknown variable name (with the nearest known name as a suggestion).
    /// Lines psad would skip silently are skipped; the suspicious ones (a known name with
    /// no `;`, or a `;` with no value) produce a warning.
    pub fn parse(file: &str, text: &str) -> Result<PsadConf, ConfigError> {
        let mut assignments = Vec::new();
        let mut warnings = Vec::new();
        for (idx, line) in text.split('\n').enumerate() {
            let lineno = u32::try_from(idx + 1).unwrap_or(u32::MAX);
            let trimmed = line.trim_start_matches(is_blank);
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            // `^\s*(\S+)\s+(.*?);`: the name is the first token, then at least one blank,
            // then the value up to the first `;` after the blanks.
            let name_end = trimmed.find(is_blank).unwrap_or(trimmed.len());
            let name = &trimmed[..name_end];
            let after = &trimmed[name_end..];
            let rest = after.trim_start_matches(is_blank);
            let origin = Origin {
                file: file.to_string(),
                line: Some(lineno),
                key: name.to_string(),
            };
            let value = match (after.is_empty(), rest.find(';')) {
                (false, Some(semi)) => rest[..semi].trim_end_matches(is_blank),
                _ => {
                    // psad ignores the line. Say so when it looks like a forgotten `;`.
                    let bare = name.trim_end_matches(';');
                    if vars::is_known(bare) {
                        let why = if name.ends_with(';') {
                            "line ignored (as psad does): no value before ';'"
                        } else {
                            "line ignored (as psad does): no ';' after the value"
                        };
                        let mut o = origin.clone();
                        o.key = bare.to_string();
                        warnings.push(ConfigWarning::at(&o, why));
                    }
                    continue;
                }
            };
            if !vars::is_known(name) {
                let mut e = ConfigError::at(
                    &origin,
                    ConfigErrorKind::UnknownKey,
                    "unknown psad 2.4.6 variable",
                );
                e.suggestion = vars::suggest(name).map(str::to_string);
                return Err(e);
            }
            assignments.push(Assignment {
                name: name.to_string(),
                value: value.to_string(),
                origin,
            });
        }
        Ok(PsadConf {
            file: file.to_string(),
            assignments,
            warnings,
        })
    }

    /// The file name given to [`PsadConf::parse`].
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The raw (unexpanded) value of the first definition of `name` in this file.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.assignments
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }

    /// True if this file defines `name`.
    pub fn sets(&self, name: &str) -> bool {
        self.assignments.iter().any(|a| a.name == name)
    }

    /// Every `(name, raw value, line)` in file order, duplicates included.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str, u32)> {
        self.assignments.iter().map(|a| {
            (
                a.name.as_str(),
                a.value.as_str(),
                a.origin.line.unwrap_or(0),
            )
        })
    }

    /// Lines psad would skip silently but that look like mistakes.
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_like_psad() {
        let text = "  # comment\n\
                    HOME_NET   10.0.0.0/8 ;  trailing comment; more\n\
                    DANGER_LEVEL1\t7;### note\n\
                    DANGER_LEVEL1 9;\n\
                    just prose without semicolon\n\
                    SCAN_TIMEOUT 99\n\
                    MAX_HOPS;\n\
                    iptablesCmd /usr/sbin/iptables;\n\
                    FW_MSG_SEARCH DROP;\nFW_MSG_SEARCH REJECT;\n";
        let c = PsadConf::parse("t.conf", text).unwrap();
        assert_eq!(c.get("HOME_NET"), Some("10.0.0.0/8"));
        assert_eq!(c.get("DANGER_LEVEL1"), Some("7"));
        assert_eq!(c.get("SCAN_TIMEOUT"), None);
        assert_eq!(c.get("iptablesCmd"), Some("/usr/sbin/iptables"));
        assert_eq!(c.entries().filter(|e| e.0 == "FW_MSG_SEARCH").count(), 2);
        let w: Vec<String> = c.warnings().iter().map(|w| w.to_string()).collect();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].starts_with("t.conf:6: SCAN_TIMEOUT: line ignored"),
            "{w:?}"
        );
        assert!(
            w[1].starts_with("t.conf:7: MAX_HOPS: line ignored"),
            "{w:?}"
        );
    }

    #[test]
    fn unknown_key_names_line_and_suggests() {
        let e = PsadConf::parse("x.conf", "HOME_NET any;\n\nDANGER_LEVL2 4;\n").unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::UnknownKey);
        assert_eq!(
            e.to_string(),
            "x.conf:3: DANGER_LEVL2: unknown psad 2.4.6 variable (did you mean DANGER_LEVEL2?)"
        );
    }

    #[test]
    fn crlf_and_empty_values() {
        let c = PsadConf::parse("w.conf", "HOME_NET any;\r\nEMAIL_APPEND_HEADER  ;\r\n").unwrap();
        assert_eq!(c.get("HOME_NET"), Some("any"));
        assert_eq!(c.get("EMAIL_APPEND_HEADER"), Some(""));
    }
}
