//! Golden tests for the line parser: every `test_data/parse/ok/*.log` line
//! (real lines, see each file's header comment) must parse, and its dump,
//! psad verdict and psad view must match `<name>.expected`; every
//! `test_data/parse/err/*.log` line must be rejected (or be a non-firewall
//! line) with the error recorded in its `.expected`. `ok/*.export` files go
//! through the journal export decoder. `UPDATE_EXPECT=1` rewrites the
//! expected files.

use std::path::{Path, PathBuf};
use tripline_core::parse::{
    decode_journal_json, dump_packet, parse_line, parse_message, psad_compat_check, psad_view,
    JournalExport, ParseErrorKind,
};
use tripline_core::{Packet, ParseOptions, Timestamp};

fn data(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data/parse")
        .join(sub)
}

/// 2026-11-22T00:00:00Z, one hour east of UTC: year-less stamps land in 2026.
fn opts() -> ParseOptions {
    ParseOptions {
        now: Timestamp::from_secs(1_795_305_600),
        utc_offset_secs: 3600,
    }
}

/// Compare `actual` with the file `expected`, or rewrite it when
/// `UPDATE_EXPECT=1`.
fn check(expected: &Path, actual: &str) {
    if std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1") {
        std::fs::write(expected, actual).expect("write expected");
        return;
    }
    let want = std::fs::read_to_string(expected)
        .unwrap_or_else(|_| panic!("{} missing; run with UPDATE_EXPECT=1", expected.display()));
    if want != actual {
        let diff = want
            .lines()
            .zip(actual.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| format!("line {}:\n want: {a}\n  got: {b}", i + 1))
            .unwrap_or_else(|| "length differs".into());
        panic!(
            "{} differs (UPDATE_EXPECT=1 to accept):\n{diff}",
            expected.display()
        );
    }
}

fn render_packet(line: &str, p: &Packet<'_>) -> String {
    let mut out = dump_packet(p);
    let verdict = match psad_compat_check(line, p) {
        Ok(()) => "accepts".to_string(),
        Err(e) => e.to_string(),
    };
    let v = psad_view(line, p);
    out.push_str(&format!(
        "\npsad: {verdict}; view prefix={:?} df={} icmp_id={:?} icmp_seq={:?}",
        v.prefix,
        v.ip_flags.df as u8,
        v.icmp.and_then(|i| i.id),
        v.icmp.and_then(|i| i.seq),
    ));
    out
}

fn inputs(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data(dir))
        .expect("test_data/parse")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no {dir}/*.{ext}");
    v
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

#[test]
fn ok_lines() {
    let o = opts();
    for path in inputs("ok", "log") {
        let text = std::fs::read_to_string(&path).expect("read");
        let mut out = String::new();
        for line in lines(&text) {
            match parse_line(line, &o) {
                Ok(Some(p)) => out.push_str(&format!("> {line}\n{}\n\n", render_packet(line, &p))),
                // A JSON MESSAGE that is not a plain string: decode, then parse.
                Err(e) if e.reason == ParseErrorKind::Encoded => {
                    let entry = decode_journal_json(line).expect("json");
                    let p = parse_message(&entry.message, entry.header)
                        .expect("parses")
                        .expect("firewall line");
                    out.push_str(&format!(
                        "> {line}\n(encoded: decode_journal_json + parse_message)\n{}\n\n",
                        dump_packet(&p)
                    ));
                }
                other => panic!("{}: {line}\n  -> {other:?}", path.display()),
            }
        }
        check(&path.with_extension("expected"), &out);
    }
}

#[test]
fn ok_journal_export() {
    for path in inputs("ok", "export") {
        let text = std::fs::read_to_string(&path).expect("read");
        let mut dec = JournalExport::new();
        let mut out = String::new();
        let mut render = |e: tripline_core::parse::JournalEntry<'_>| {
            let p = parse_message(&e.message, e.header)
                .expect("parses")
                .expect("firewall line");
            out.push_str(&format!("> {}\n{}\n\n", e.message, dump_packet(&p)));
        };
        for line in text.lines() {
            if let Some(e) = dec.push_line(line) {
                render(e);
            }
        }
        if let Some(e) = dec.finish() {
            render(e);
        }
        check(&path.with_extension("expected"), &out);
    }
}

#[test]
fn err_lines() {
    let o = opts();
    for path in inputs("err", "log") {
        let text = std::fs::read_to_string(&path).expect("read");
        let mut out = String::new();
        let mut comment = "";
        for line in text.lines() {
            if let Some(c) = line.strip_prefix("# ") {
                comment = c;
                continue;
            }
            let got = match parse_line(line, &o) {
                Err(e) => format!("error: {e} ({:?})", e.reason),
                Ok(None) => "not a firewall line".to_string(),
                Ok(Some(p)) => panic!("{comment}: accepted {line}\n{}", dump_packet(&p)),
            };
            out.push_str(&format!("# {comment}\n{got}\n"));
        }
        check(&path.with_extension("expected"), &out);
    }
}
