//! systemd journal inputs: `journalctl -o json` lines and the multi-line
//! export format (`journalctl -o export`).
//!
//! Both yield a [`JournalEntry`]: a [`Header`] built from `_HOSTNAME`,
//! `__REALTIME_TIMESTAMP` and `_SOURCE_MONOTONIC_TIMESTAMP`, and the
//! `MESSAGE` text to hand to [`parse_message`](super::parse_message). JSON
//! borrows where it can and allocates only for escaped or byte-array
//! messages; the export decoder reuses its own buffers.

use super::{ParseError, ParseErrorKind};
use crate::packet::{Header, Packet, Timestamp};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// One journal record: its header and its `MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry<'a> {
    /// Time, host and kernel uptime from the journal fields.
    pub header: Header<'a>,
    /// The kernel message, without any syslog header.
    pub message: Cow<'a, str>,
}

/// A JSON string (borrowed when unescaped) or a byte array (journald's form
/// for non-UTF-8 or control-character values).
enum Text<'a> {
    Borrowed(&'a str),
    Owned(String),
}

impl<'a> Text<'a> {
    fn into_cow(self) -> Cow<'a, str> {
        match self {
            Text::Borrowed(s) => Cow::Borrowed(s),
            Text::Owned(s) => Cow::Owned(s),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of bytes")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text::Owned(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text::Owned(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut bytes = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    bytes.push(b);
                }
                Ok(Text::Owned(String::from_utf8_lossy(&bytes).into_owned()))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct JsonRecord<'a> {
    #[serde(rename = "MESSAGE", borrow, default)]
    message: Option<Text<'a>>,
    #[serde(rename = "_HOSTNAME", borrow, default)]
    hostname: Option<Text<'a>>,
    #[serde(rename = "__REALTIME_TIMESTAMP", borrow, default)]
    realtime: Option<Text<'a>>,
    #[serde(rename = "_SOURCE_MONOTONIC_TIMESTAMP", borrow, default)]
    monotonic: Option<Text<'a>>,
}

fn text_u64(t: &Option<Text<'_>>) -> Option<u64> {
    match t {
        Some(Text::Borrowed(s)) => super::num::dec_u64(s.as_bytes()),
        Some(Text::Owned(s)) => super::num::dec_u64(s.as_bytes()),
        None => None,
    }
}

/// Decode one `journalctl -o json` line. Records without `MESSAGE` give an
/// error naming `MESSAGE`; malformed JSON names `JSON`.
pub fn decode_journal_json(line: &str) -> Result<JournalEntry<'_>, ParseError> {
    let rec: JsonRecord<'_> =
        serde_json::from_str(line).map_err(|_| ParseError::invalid("JSON"))?;
    let header = Header {
        time: text_u64(&rec.realtime).and_then(|us| i64::try_from(us).ok().map(Timestamp)),
        host: match rec.hostname {
            Some(Text::Borrowed(h)) => Some(h),
            _ => None,
        },
        uptime_us: text_u64(&rec.monotonic),
    };
    let message = rec
        .message
        .ok_or(ParseError::missing("MESSAGE"))?
        .into_cow();
    Ok(JournalEntry { header, message })
}

/// `parse_line` for a JSON line: borrowed messages only.
pub(crate) fn parse_json_line(line: &str) -> Result<Option<Packet<'_>>, ParseError> {
    let e = decode_journal_json(line)?;
    match e.message {
        Cow::Borrowed(m) => super::parse_message(m, e.header),
        Cow::Owned(_) => Err(ParseError {
            field: "MESSAGE",
            reason: ParseErrorKind::Encoded,
        }),
    }
}

/// Stateful decoder for the journal export format: `KEY=VALUE` lines, one
/// record per blank-line-separated block.
///
/// Feed it lines (without their newline) with [`push_line`](Self::push_line);
/// when a blank line completes a record that has a `MESSAGE`, the record is
/// returned, borrowing the decoder's buffers until the next call. Binary
/// fields (a bare `KEY` line followed by a length and raw bytes) cannot be
/// read line by line: a binary `MESSAGE` drops its record, other binary
/// fields are skipped.
#[derive(Debug, Default)]
pub struct JournalExport {
    host: String,
    message: String,
    realtime: Option<i64>,
    monotonic: Option<u64>,
    has_host: bool,
    has_message: bool,
    started: bool,
    /// The previous call returned a record; clear before the next field.
    done: bool,
}

impl JournalExport {
    /// A decoder with no partial record.
    pub fn new() -> Self {
        Self::default()
    }

    fn reset(&mut self) {
        self.host.clear();
        self.message.clear();
        self.realtime = None;
        self.monotonic = None;
        self.has_host = false;
        self.has_message = false;
        self.started = false;
        self.done = false;
    }

    /// Feed one line; returns the record a blank line completes.
    pub fn push_line(&mut self, line: &str) -> Option<JournalEntry<'_>> {
        if self.done {
            self.reset();
        }
        let line = line.strip_suffix('\n').unwrap_or(line);
        if line.is_empty() {
            return self.finish();
        }
        self.started = true;
        let Some(eq) = line.find('=') else {
            // Binary field: its value follows as raw bytes we cannot frame.
            if line == "MESSAGE" {
                self.has_message = false;
                self.message.clear();
            }
            return None;
        };
        let (key, value) = (&line[..eq], &line[eq + 1..]);
        match key {
            "MESSAGE" => {
                self.message.clear();
                self.message.push_str(value);
                self.has_message = true;
            }
            "_HOSTNAME" => {
                self.host.clear();
                self.host.push_str(value);
                self.has_host = true;
            }
            "__REALTIME_TIMESTAMP" => {
                self.realtime =
                    super::num::dec_u64(value.as_bytes()).and_then(|v| i64::try_from(v).ok());
            }
            "_SOURCE_MONOTONIC_TIMESTAMP" => {
                self.monotonic = super::num::dec_u64(value.as_bytes());
            }
            _ => {}
        }
        None
    }

    /// End of input: return the last record if it was not followed by a
    /// blank line.
    pub fn finish(&mut self) -> Option<JournalEntry<'_>> {
        if self.done {
            self.reset();
        }
        if !self.started {
            return None;
        }
        self.done = true;
        if !self.has_message {
            return None;
        }
        Some(JournalEntry {
            header: Header {
                time: self.realtime.map(Timestamp),
                host: self.has_host.then_some(self.host.as_str()),
                uptime_us: self.monotonic,
            },
            message: Cow::Borrowed(self.message.as_str()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_records() {
        let mut d = JournalExport::new();
        assert!(d
            .push_line("__REALTIME_TIMESTAMP=1795303240281720")
            .is_none());
        assert!(d.push_line("_HOSTNAME=fw1").is_none());
        assert!(d.push_line("MESSAGE=hello IN=a OUT=").is_none());
        let e = d.push_line("").unwrap();
        assert_eq!(e.header.host, Some("fw1"));
        assert_eq!(e.header.time, Some(Timestamp(1_795_303_240_281_720)));
        assert_eq!(e.message, "hello IN=a OUT=");
        assert!(d.push_line("").is_none());
        assert!(d.push_line("_HOSTNAME=fw2").is_none());
        assert!(d.finish().is_none());
        assert!(d.push_line("MESSAGE=x").is_none());
        assert_eq!(d.finish().unwrap().message, "x");
        assert!(d.finish().is_none());
    }

    #[test]
    fn json_forms() {
        let e = decode_journal_json(
            r#"{"MESSAGE":"a IN=x","_HOSTNAME":"fw1","__REALTIME_TIMESTAMP":"5"}"#,
        )
        .unwrap();
        assert!(matches!(e.message, Cow::Borrowed("a IN=x")));
        assert_eq!(e.header.time, Some(Timestamp(5)));
        let e = decode_journal_json(r#"{"MESSAGE":[97,32,73]}"#).unwrap();
        assert_eq!(e.message, "a I");
        let e = decode_journal_json(r#"{"MESSAGE":"a\tb"}"#).unwrap();
        assert!(matches!(e.message, Cow::Owned(_)));
        assert!(decode_journal_json("{").is_err());
        assert!(decode_journal_json("{}").is_err());
    }
}
