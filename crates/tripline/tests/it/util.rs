//! Shared helpers: the binary under test, paths, JSON runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// `../shared` beside the repository (the lab, the corpus).
pub fn shared() -> PathBuf {
    std::env::var_os("TRIPLINE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared"))
}

/// A command for the tripline binary.
pub fn tripline() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
}

/// Run and require success; returns stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out: Output = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// `tripline analyze --json ARGS...` parsed.
pub fn analyze_json(args: &[&str]) -> serde_json::Value {
    let out = run_ok(tripline().arg("analyze").arg("--json").args(args));
    serde_json::from_str(&out).expect("analyze --json gives JSON")
}
