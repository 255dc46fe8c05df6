//! psad.conf front-end: any bytes, parsed and lowered into a `Config`, must never panic,
//! and expansion must stay bounded (`$A` -> `$B$B` -> ... chains are capped).
//!
//! The input is also split at its first NUL into an override file and a main file, to
//! exercise the multi-file precedence path; the result is dumped to cover `Config::dump`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_core::config::{Config, ConfigBuilder};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(loaded) = Config::from_psad_conf("fuzz.conf", &text) {
        let _ = loaded.config.dump();
    }
    if let Some((over, main)) = text.split_once('\0') {
        let mut b = ConfigBuilder::new();
        if b.add_psad_conf("override.conf", over).is_ok()
            && b.add_psad_conf("psad.conf", main).is_ok()
        {
            if let Ok(loaded) = b.build() {
                let _ = loaded.config.dump();
            }
        }
    }
});
