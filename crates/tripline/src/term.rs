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
    if printable_ascii(s.as_bytes()) || !s.chars().any(char::is_control) {
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

/// Whether every byte is printable ASCII (space to `~`), eight at a time:
/// a report checks every name and message it shows.
fn printable_ascii(b: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_ne_bytes(w.try_into().unwrap_or_default());
        // A byte below 0x20, or at 0x7f and above, sets its high bit here
        // (the borrow and carry tricks of "Bit Twiddling Hacks").
        let below = w.wrapping_sub(ONES * 0x20) & !w;
        let above = w.wrapping_add(ONES) | w;
        if (below | above) & HIGH != 0 {
            return false;
        }
    }
    words.remainder().iter().all(|c| (b' '..=b'~').contains(c))
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

    /// The word-wide test agrees with the byte test on every byte at every
    /// place of a word, and on every length.
    #[test]
    fn printable_ascii_agrees_with_a_byte_test() {
        let slow = |b: &[u8]| b.iter().all(|c| (b' '..=b'~').contains(c));
        for len in 0..20 {
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut b = vec![b'a'; len];
                    b[at] = byte;
                    assert_eq!(
                        super::printable_ascii(&b),
                        slow(&b),
                        "{byte:#x} at {at} of {len}"
                    );
                }
            }
        }
        // Two edge bytes in one word: a borrow or carry must not hide one.
        let edges = [0x00, 0x01, 0x1f, 0x20, 0x21, 0x7e, 0x7f, 0x80, 0xfe, 0xff];
        for (i, j) in (0..8).flat_map(|i| (0..8).map(move |j| (i, j))) {
            for (&x, &y) in edges.iter().flat_map(|x| edges.iter().map(move |y| (x, y))) {
                let mut b = [b'a'; 8];
                b[i] = x;
                b[j] = y;
                assert_eq!(super::printable_ascii(&b), slow(&b), "{b:?}");
            }
        }
    }
}
