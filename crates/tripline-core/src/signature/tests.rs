//! Signature tests (filled below).
