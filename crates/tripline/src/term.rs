//! Terminal helpers: colour choice and escaping of untrusted text.

use crate::cli::ColorChoice;
use std::io::IsTerminal;

/// Whether to colour stdout.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

/// Text from logs can carry attacker-chosen bytes: escape control characters
/// so nothing reaches the terminal as an escape sequence.
pub fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    // Printable ASCII, nearly every text, without decoding characters.
    if s.bytes().all(|b| (b' '..=b'~').contains(&b)) || !s.chars().any(char::is_control) {
        return s.into();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// Wrap `s` in an ANSI style when colour is on.
pub fn paint<'a>(s: &'a str, code: &str, color: bool) -> std::borrow::Cow<'a, str> {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m").into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_control_characters() {
        assert_eq!(super::clean("DROP\x1b[2J"), "DROP\\u{1b}[2J");
        assert_eq!(super::clean("plain"), "plain");
        assert_eq!(super::clean("tab\there"), "tab\\there");
        assert_eq!(super::clean("del\x7f"), "del\\u{7f}");
        assert_eq!(super::clean("c1\u{85}"), "c1\\u{85}");
        assert_eq!(super::clean("café"), "café");
    }
}
