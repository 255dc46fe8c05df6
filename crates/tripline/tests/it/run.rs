//! `tripline run`: lines appended to a followed file are detected as they
//! are written, through a rotation by rename.

use crate::util::{repo, tripline};
use std::io::Write;
use std::process::{Child, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

/// Real lines of 198.51.100.10's SYN scan (corpus scan d01), one port each.
fn scan_lines(ports: std::ops::Range<u16>) -> String {
    let line = std::fs::read_to_string(repo().join("examples/logs/dev-slice.log"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    ports
        .map(|p| line.replace("DPT=143 ", &format!("DPT={p} ")) + "\n")
        .collect()
}

struct Run {
    child: Child,
    events: Receiver<serde_json::Value>,
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(file: &std::path::Path) -> Run {
    let state = file.parent().unwrap().join("state");
    let mut child = tripline()
        .args(["run", "--file"])
        .arg(file)
        .arg("--state-dir")
        .arg(state)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let events = crate::block_lab::json_lines(child.stdout.take().unwrap());
    Run { child, events }
}

/// Wait (bounded) for a danger_raised event of `src` reaching `dl`.
fn wait_for(run: &Run, src: &str, dl: u64) -> serde_json::Value {
    loop {
        let ev = run
            .events
            .recv_timeout(Duration::from_secs(20))
            .expect("no detection within 20 s");
        if ev["event"] == "danger_raised" && ev["src"] == src && ev["to"].as_u64() >= Some(dl) {
            return ev;
        }
    }
}

fn append(path: &std::path::Path, text: &str) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

#[test]
fn appended_lines_are_detected_live_and_rotation_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("kern.log");
    // Lines already in the file are history, not live traffic: skipped.
    append(&log, &scan_lines(1..40));
    let run = start(&log);
    // `run` starts at the end of the file; it only reports what comes next.
    // Wait until it has opened the file: the first detection proves it.
    let mut port = 100;
    let ev = loop {
        append(&log, &scan_lines(port..port + 5));
        port += 5;
        if let Ok(ev) = run.events.recv_timeout(Duration::from_millis(500)) {
            break ev;
        }
        assert!(port < 400, "no detection after {port} ports");
    };
    assert_eq!(ev["src"], "198.51.100.10");
    // Rotation by rename: the new file's lines keep the scan going to DL 2.
    std::fs::rename(&log, dir.path().join("kern.log.1")).unwrap();
    append(&log, &scan_lines(1000..1020));
    let ev = wait_for(&run, "198.51.100.10", 2);
    assert_eq!(ev["to"], 2);
}
