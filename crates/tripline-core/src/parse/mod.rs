//! Line -> `Packet`: syslog/journal headers and kernel LOG fields.
//!
//! Owned by the parser work; the public API below is what the rest of the
//! core and the shell rely on. Parsing never panics and never allocates.

use crate::packet::{Packet, Timestamp};
use std::fmt;

/// Context the caller supplies, since the core reads no clock.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// "Now", used to pick the year of year-less RFC 3164 timestamps
    /// (the year of `now`, or the year before when that would lie in the future).
    pub now: Timestamp,
    /// Offset of local time from UTC in seconds, for year-less RFC 3164 stamps.
    pub utc_offset_secs: i32,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            now: Timestamp(0),
            utc_offset_secs: 0,
        }
    }
}

/// Why a firewall line was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    /// The field that was missing or bad (`"SRC"`, `"PROTO"`, `"DPT"`, ...).
    pub field: &'static str,
    /// What was wrong with it.
    pub reason: ParseErrorKind,
}

/// Class of a parse error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// A required field is absent.
    Missing,
    /// A field is present but its value does not parse.
    Invalid,
    /// The protocol is one the kernel logs without ports/fields we can use (AH/ESP SPI lines are fine; this is for unknown words).
    UnknownProtocol,
    /// Neither IN nor OUT names an interface.
    NoInterface,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.reason {
            ParseErrorKind::Missing => "missing",
            ParseErrorKind::Invalid => "invalid",
            ParseErrorKind::UnknownProtocol => "unknown protocol in",
            ParseErrorKind::NoInterface => "no interface in",
        };
        write!(f, "{what} field {}", self.field)
    }
}

impl std::error::Error for ParseError {}

/// Parse one log line. `Ok(None)`: not a firewall line (no `IN=`/`OUT=`).
pub fn parse_line<'a>(
    _line: &'a str,
    _opts: &ParseOptions,
) -> Result<Option<Packet<'a>>, ParseError> {
    Ok(None)
}
