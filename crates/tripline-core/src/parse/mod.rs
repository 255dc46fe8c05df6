//! Line -> `Packet`: syslog/journal headers and kernel LOG fields.
//!
//! [`parse_line`] auto-detects the line header per line (RFC 3164, ISO 8601
//! rsyslog / `journalctl -o short-iso`, RFC 5424, dmesg, raw `/dev/kmsg`,
//! `journalctl -o json`) and then parses the iptables / ip6tables / nftables
//! LOG body. The journal export format is multi-line, so it has its own
//! stateful decoder, [`JournalExport`], feeding [`parse_message`].
//! [`psad_compat_check`] says whether psad 2.4.6 would have accepted a line.
//! [`nflog`] prints NFLOG packets as the kernel's LOG text.
//! Parsing never panics; apart from JSON input it never allocates.

mod compat;
pub(crate) use compat::is_ws as is_perl_space;
mod dump;
mod fields;
mod header;
mod journal;
pub mod nflog;
mod num;
pub(crate) mod time;

pub use compat::{psad_compat_check, psad_view};
pub use dump::dump_packet;
pub use journal::{decode_journal_json, JournalEntry, JournalExport};

use crate::packet::{Header, Packet, Timestamp};
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

impl ParseError {
    pub(crate) const fn missing(field: &'static str) -> Self {
        ParseError {
            field,
            reason: ParseErrorKind::Missing,
        }
    }
    pub(crate) const fn invalid(field: &'static str) -> Self {
        ParseError {
            field,
            reason: ParseErrorKind::Invalid,
        }
    }
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
    /// The line is valid but its message cannot be borrowed from it (a JSON
    /// journal record whose `MESSAGE` is escaped or a byte array): decode it
    /// with [`decode_journal_json`] and call [`parse_message`].
    Encoded,
    /// psad 2.4.6 would reject this line (only from [`psad_compat_check`]).
    PsadRejects,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.reason {
            ParseErrorKind::Missing => "missing",
            ParseErrorKind::Invalid => "invalid",
            ParseErrorKind::UnknownProtocol => "unknown protocol in",
            ParseErrorKind::NoInterface => "no interface in",
            ParseErrorKind::Encoded => "encoded message in",
            ParseErrorKind::PsadRejects => "psad 2.4.6 rejects",
        };
        write!(f, "{what} field {}", self.field)
    }
}

impl std::error::Error for ParseError {}

/// Parse one log line. `Ok(None)`: not a firewall line (no `IN=`/`OUT=`).
///
/// The header format is detected per line; a trailing `\n` / `\r\n` is ignored.
/// JSON lines whose `MESSAGE` is not a plain string give
/// [`ParseErrorKind::Encoded`].
pub fn parse_line<'a>(
    line: &'a str,
    opts: &ParseOptions,
) -> Result<Option<Packet<'a>>, ParseError> {
    parse_with(line, opts, None)
}

fn parse_with<'a>(
    line: &'a str,
    opts: &ParseOptions,
    cache: Option<&mut fields::NetCache>,
) -> Result<Option<Packet<'a>>, ParseError> {
    let line = trim_eol(line);
    if line.as_bytes().first() == Some(&b'{') {
        return journal::parse_json_line(line);
    }
    let (header, msg) = header::split(line, opts);
    fields::parse_body(msg, header, cache)
}

/// [`parse_line`] for a stream of lines: it remembers the network fields
/// (interfaces, MAC, addresses, length, TOS) of the last line and reuses
/// them while the next lines repeat their text, as the lines of one scan
/// do. The results are exactly those of [`parse_line`].
#[derive(Debug, Default, Clone)]
pub struct LineParser {
    net: fields::NetCache,
}

impl LineParser {
    /// A parser that remembers nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse one log line, as [`parse_line`] does.
    pub fn parse<'a>(
        &mut self,
        line: &'a str,
        opts: &ParseOptions,
    ) -> Result<Option<Packet<'a>>, ParseError> {
        parse_with(line, opts, Some(&mut self.net))
    }
}

/// Parse a kernel message whose header is already known (journal records,
/// or a shell that framed the line itself). `msg` may still start with a
/// kernel `[ 1234.567890]` uptime stamp.
pub fn parse_message<'a>(
    msg: &'a str,
    header: Header<'a>,
) -> Result<Option<Packet<'a>>, ParseError> {
    fields::parse_body(trim_eol(msg), header, None)
}

fn trim_eol(s: &str) -> &str {
    let s = s.strip_suffix('\n').unwrap_or(s);
    s.strip_suffix('\r').unwrap_or(s)
}
