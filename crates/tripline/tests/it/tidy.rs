//! Architecture checks that run as tests: the core does no IO and reads no
//! clock, every source file says what it is, and no code builds a shell command.

use crate::util::repo;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn files(under: &str) -> Vec<(PathBuf, String)> {
    let mut v = Vec::new();
    rust_files(&repo().join(under), &mut v);
    v.into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

#[test]
fn every_source_file_starts_with_a_module_doc() {
    for (p, text) in files("crates") {
        assert!(
            text.starts_with("//!"),
            "{} has no //! module doc",
            p.display()
        );
    }
}

#[test]
fn the_core_does_no_io_and_reads_no_clock() {
    let banned = [
        "std::fs",
        "std::net::TcpStream",
        "std::net::UdpSocket",
        "SystemTime::now",
        "Instant::now",
        "thread::spawn",
        "tokio",
        "std::process",
        "std::env",
    ];
    for (p, text) in files("crates/tripline-core/src") {
        if p.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        // Unit tests may read psad's files from /etc/psad.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for b in banned {
            assert!(
                !code.contains(b),
                "{} uses {b}: the core must stay pure",
                p.display()
            );
        }
    }
    let manifest = std::fs::read_to_string(repo().join("crates/tripline-core/Cargo.toml")).unwrap();
    let deps = manifest.split("[dev-dependencies]").next().unwrap();
    for b in ["tokio", "rusqlite", "reqwest", "lettre", "zbus", "nix"] {
        assert!(!deps.contains(b), "tripline-core depends on {b}");
    }
}

#[test]
fn nothing_runs_a_shell() {
    for (p, text) in files("crates") {
        for b in [
            "Command::new(\"sh\")",
            "Command::new(\"/bin/sh\")",
            "Command::new(\"bash\")",
            "\"-c\"",
        ] {
            assert!(
                !text.contains(b),
                "{} contains {b}: pass argv, never a shell string",
                p.display()
            );
        }
    }
}
