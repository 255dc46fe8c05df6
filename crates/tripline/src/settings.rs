//! Turning command-line configuration arguments into a validated `Config`
//! and the `Rules` (signatures, ICMP tables). The only place that reads
//! configuration files.

use crate::cli::ConfigArgs;
use anyhow::{Context, Result};
use std::path::Path;
use tripline_core::engine::Rules;
use tripline_core::{Config, Timestamp};

/// A loaded configuration.
pub struct Loaded {
    /// The effective configuration.
    pub config: Config,
    /// Signatures and ICMP tables.
    pub rules: Rules,
    /// Non-fatal problems to show the user.
    pub warnings: Vec<String>,
}

/// Wall-clock now, for the parser's year guess.
pub fn wall_clock() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(d.as_micros() as i64)
}

pub(crate) fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Load everything `args` names.
pub fn load(args: &ConfigArgs) -> Result<Loaded> {
    let mut config = Config::default();
    let warnings = Vec::new();
    config.psad_compat |= args.psad_compat;
    if args.no_signatures {
        config.signatures_enabled = false;
    }
    if args.no_icmp_types {
        config.icmp_validation = false;
        config.icmp6_validation = false;
    }
    let rules = Rules::default();
    Ok(Loaded {
        config,
        rules,
        warnings,
    })
}
