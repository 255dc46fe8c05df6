//! Config errors and warnings: every one names the file, the line and the key.
//!
//! Messages follow the `file:line: KEY: what is wrong` shape so an editor can jump to them;
//! the text is lowercase with no trailing period, as it may be embedded in other messages.

use std::fmt;

/// What kind of problem a [`ConfigError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The text is not valid for the file format (TOML syntax, a key of the wrong type).
    Syntax,
    /// A key that psad 2.4.6 (or Tripline's TOML schema) does not know.
    UnknownKey,
    /// A known key with a value that does not parse or is out of range.
    InvalidValue,
    /// `$VAR` expansion failed (undefined or self-referencing name, cycle).
    Expansion,
}

/// A configuration error that stops loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file name as given by the caller (`<default>` for built-in defaults).
    pub file: String,
    /// 1-based line number, if known.
    pub line: Option<u32>,
    /// The key as the user wrote it (`HOME_NET`, `detection.ignore-ports`), if any.
    pub key: Option<String>,
    /// What kind of problem it is.
    pub kind: ConfigErrorKind,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
    /// For an unknown key: the nearest known key.
    pub suggestion: Option<String>,
}

impl ConfigError {
    /// An error at `file:line` about `key`.
    pub(crate) fn at(
        origin: &Origin,
        kind: ConfigErrorKind,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: origin.file.clone(),
            line: origin.line,
            key: Some(origin.key.clone()),
            kind,
            message: message.into(),
            suggestion: None,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean {s}?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A problem that does not stop loading (psad would syslog it and carry on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The file name as given by the caller.
    pub file: String,
    /// 1-based line number, if known.
    pub line: Option<u32>,
    /// The key concerned, if any.
    pub key: Option<String>,
    /// What happened, lowercase, no trailing period.
    pub message: String,
}

impl ConfigWarning {
    /// A warning at `origin`.
    pub(crate) fn at(origin: &Origin, message: impl Into<String>) -> ConfigWarning {
        ConfigWarning {
            file: origin.file.clone(),
            line: origin.line,
            key: Some(origin.key.clone()),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Where a value came from: file, line and the key as written there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    /// File name as given by the caller.
    pub file: String,
    /// 1-based line number (`None` for built-in defaults).
    pub line: Option<u32>,
    /// Key as the user wrote it.
    pub key: String,
}

impl Origin {
    /// The origin of a built-in default.
    pub(crate) fn default_for(key: &str) -> Origin {
        Origin {
            file: "<default>".to_string(),
            line: None,
            key: key.to_string(),
        }
    }
}

/// 1-based line number of byte offset `pos` in `text` (clamped to the text).
pub(crate) fn line_of(text: &str, pos: usize) -> u32 {
    let pos = pos.min(text.len());
    let n = memchr::memchr_iter(b'\n', &text.as_bytes()[..pos]).count() + 1;
    u32::try_from(n).unwrap_or(u32::MAX)
}
