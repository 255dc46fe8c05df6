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
    if !s.chars().any(char::is_control) {
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
pub fn paint(s: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_control_characters() {
        assert_eq!(super::clean("DROP\x1b[2J"), "DROP\\u{1b}[2J");
        assert_eq!(super::clean("plain"), "plain");
    }
}
