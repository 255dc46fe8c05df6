//! Fuzz `parse_line`: no input may panic it, and a line that parses must
//! parse to the same `Packet` every time (its dump is stable). The psad
//! compatibility check and the journal export decoder get the same bytes.
//! A `LineParser` fed the lines in order (reusing each line's network
//! fields for the next) must give exactly what `parse_line` gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_core::parse::{
    dump_packet, parse_line, parse_message, psad_compat_check, JournalExport, LineParser,
};
use tripline_core::{ParseOptions, Timestamp};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let opts = ParseOptions {
        now: Timestamp::from_secs(1_795_305_600),
        utc_offset_secs: 3600,
    };
    let mut stream = LineParser::new();
    for line in std::iter::once(text.as_ref()).chain(text.lines()) {
        let first = parse_line(line, &opts);
        assert_eq!(stream.parse(line, &opts), first);
        let again = parse_line(line, &opts);
        assert_eq!(first, again);
        if let Ok(Some(p)) = first {
            assert_eq!(dump_packet(&p), dump_packet(&again.unwrap().unwrap()));
            let _ = psad_compat_check(line, &p);
            let _ = tripline_core::parse::psad_view(line, &p);
            let _ = parse_message(line, p.header);
        }
    }
    let mut dec = JournalExport::new();
    for line in text.split('\n') {
        if let Some(e) = dec.push_line(line) {
            let _ = parse_message(&e.message, e.header);
        }
    }
    let _ = dec.finish();
});
