//! The daemon's state: `tripline status` live and from the database,
//! SIGKILL in the middle of a scan, a rotation while the daemon is down,
//! SIGHUP reloads, and a source that cannot be read. Real corpus lines,
//! real processes, real signals; every wait is bounded.

use crate::util::{repo, run_ok, tripline};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// No SCAN_TIMEOUT expiry: the corpus lines are days old, and the
/// comparison with `analyze` is about counting, not about time.
const CONFIG: &str = "[detection]\npersistence = true\n";

struct Daemon {
    child: Child,
    dir: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(dir: &Path) -> PathBuf {
    let p = dir.join("tripline.toml");
    if !p.exists() {
        std::fs::write(&p, CONFIG).unwrap();
    }
    p
}

fn start(dir: &Path, files: &[&Path]) -> Daemon {
    let mut cmd = tripline();
    cmd.args(["run", "--quiet", "--from-start", "--state-dir"])
        .arg(dir.join("state"))
        .arg("--config")
        .arg(config(dir));
    for f in files {
        cmd.arg("--file").arg(f);
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let d = Daemon {
        child,
        dir: dir.to_path_buf(),
    };
    wait_until("the daemon answers", || try_status(&d.dir).is_some());
    d
}

fn status_cmd(dir: &Path) -> std::process::Command {
    let mut cmd = tripline();
    cmd.args(["status", "--json", "--min-dl", "0", "--state-dir"])
        .arg(dir.join("state"))
        .arg("--config")
        .arg(config(dir));
    cmd
}

/// `tripline status --json`, from the daemon or the database.
fn status(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&run_ok(&mut status_cmd(dir))).unwrap()
}

/// The daemon's own answer (None while it is not up).
fn try_status(dir: &Path) -> Option<serde_json::Value> {
    let out = status_cmd(dir).stderr(Stdio::null()).output().ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    (v["daemon"]["running"] == true).then_some(v)
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20)); // polling interval, not synchronisation
    }
}

fn lines_read(dir: &Path) -> u64 {
    try_status(dir).map_or(0, |v| v["daemon"]["totals"]["lines"].as_u64().unwrap())
}

fn append(path: &Path, lines: &[&str]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

/// (source, danger level, packets) of every source in a report.
fn levels(report: &serde_json::Value) -> Vec<(String, u64, u64)> {
    let mut v: Vec<_> = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["src"].as_str().unwrap().to_string(),
                s["danger_level"].as_u64().unwrap(),
                s["packets"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The same lines analysed in one uninterrupted pass.
fn uninterrupted(dir: &Path, files: &[&Path]) -> Vec<(String, u64, u64)> {
    let mut cmd = tripline();
    cmd.args(["analyze", "--json", "--min-dl", "0", "--config"])
        .arg(config(dir));
    for f in files {
        cmd.arg(f);
    }
    levels(&serde_json::from_str(&run_ok(&mut cmd)).unwrap())
}

fn corpus() -> String {
    std::fs::read_to_string(repo().join("examples/logs/dev-slice.log")).unwrap()
}

#[test]
fn sigkill_mid_scan_loses_nothing_and_counts_nothing_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let log = dir.join("kern.log");
    let text = corpus();
    let lines: Vec<&str> = text.lines().collect();
    let (a, b) = (lines.len() / 3, lines.len() * 2 / 3);
    append(&log, &[]);
    let mut d = start(dir, &[&log]);
    append(&log, &lines[..a]);
    wait_until("the first third is read", || lines_read(dir) == a as u64);
    let saves = |dir: &Path| try_status(dir).map_or(0, |v| v["daemon"]["saves"].as_u64().unwrap());
    let s0 = saves(dir);
    wait_until("it is saved", || saves(dir) > s0);
    // The second third arrives and the daemon dies while reading it.
    append(&log, &lines[a..b]);
    wait_until("reading has begun", || lines_read(dir) > a as u64);
    d.child.kill().unwrap(); // SIGKILL
    d.child.wait().unwrap();
    let saved = status(dir);
    assert_eq!(saved["daemon"]["running"], false);
    assert!(saved["daemon"]["totals"]["lines"].as_u64().unwrap() >= a as u64);

    let _d = start(dir, &[&log]);
    append(&log, &lines[b..]);
    wait_until("every line is read once", || {
        lines_read(dir) >= lines.len() as u64
    });
    let live = try_status(dir).unwrap();
    assert_eq!(
        live["daemon"]["totals"]["lines"].as_u64(),
        Some(lines.len() as u64),
        "a line was lost or counted twice"
    );
    let got = levels(&live["report"]);
    assert!(got.iter().any(|(_, dl, _)| *dl >= 2), "{got:?}");
    assert_eq!(got, uninterrupted(dir, &[&log]));
}

#[test]
fn a_log_rotated_while_the_daemon_is_down_is_caught_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let log = dir.join("kern.log");
    let old = dir.join("kern.log.1");
    let text = corpus();
    let lines: Vec<&str> = text.lines().collect();
    let (a, b) = (lines.len() / 2, lines.len() * 3 / 4);
    append(&log, &lines[..a]);
    let mut d = start(dir, &[&log]);
    wait_until("the first half is read", || lines_read(dir) == a as u64);
    // SIGTERM: a clean stop saves and exits 0.
    nix_kill(d.child.id(), "TERM");
    assert!(d.child.wait().unwrap().success());
    // While down: more lines, then logrotate renames the file and a new one starts.
    append(&log, &lines[a..b]);
    std::fs::rename(&log, &old).unwrap();
    append(&log, &lines[b..]);
    let _d = start(dir, &[&log]);
    wait_until("both files are read", || {
        lines_read(dir) >= lines.len() as u64
    });
    let live = try_status(dir).unwrap();
    assert_eq!(
        live["daemon"]["totals"]["lines"].as_u64(),
        Some(lines.len() as u64)
    );
    assert_eq!(levels(&live["report"]), uninterrupted(dir, &[&old, &log]));
}

#[test]
fn status_filters_and_sighup_reload_keep_state() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let log = dir.join("kern.log");
    let text = corpus();
    let lines: Vec<&str> = text.lines().collect();
    append(&log, &lines);
    let d = start(dir, &[&log]);
    wait_until("the log is read", || lines_read(dir) == lines.len() as u64);
    let live = try_status(dir).unwrap();
    let before = levels(&live["report"]);
    // The alert counters are part of status (the corpus has scanners above DL 1).
    assert!(
        live["daemon"]["alerts"]["alerts"].as_u64() >= Some(1),
        "{}",
        live["daemon"]
    );
    let top = before.iter().max_by_key(|s| (s.1, s.2)).unwrap().clone();

    // --ip and --min-dl filter; text output has psad -S's sections.
    let one = run_ok(
        tripline()
            .args(["status", "--json", "--ip", &top.0, "--state-dir"])
            .arg(dir.join("state")),
    );
    let one: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(levels(&one["report"]), vec![top.clone()]);
    assert!(!one["history"].as_array().unwrap().is_empty() || top.1 == 0);
    let text = run_ok(
        tripline()
            .args(["status", "--min-dl", "2", "--state-dir"])
            .arg(dir.join("state")),
    );
    assert!(text.contains("[+] tripline (pid: "), "{text}");
    assert!(text.contains("Top attackers"), "{text}");
    assert!(text.contains("    Alerts: "), "{text}");
    assert!(
        text.contains(&format!("SRC:  {}", top.0)) || top.1 < 2,
        "{text}"
    );

    // A broken config on SIGHUP is refused; the daemon keeps its state.
    std::fs::write(config(dir), "[detection]\nno-such-key = 1\n").unwrap();
    nix_kill(d.child.id(), "HUP");
    wait_until("the bad reload is reported", || {
        try_status(dir).is_some_and(|v| {
            v["daemon"]["problems"]
                .to_string()
                .contains("reload refused")
        })
    });
    // A good one is taken; every source keeps its level and count.
    std::fs::write(config(dir), CONFIG).unwrap();
    nix_kill(d.child.id(), "HUP");
    wait_until("the reload is taken", || {
        try_status(dir).is_some_and(|v| v["daemon"]["reloads"] == 1)
    });
    let after = levels(&try_status(dir).unwrap()["report"]);
    assert_eq!(after, before);
}

#[test]
fn an_unreadable_source_is_named_and_the_others_keep_running() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let log = dir.join("kern.log");
    let bad = dir.join("a-directory.log");
    std::fs::create_dir(&bad).unwrap();
    append(&log, &[]);
    let d = start(dir, &[&bad, &log]);
    let text = corpus();
    let lines: Vec<&str> = text.lines().take(200).collect();
    append(&log, &lines);
    wait_until("the good source is read", || lines_read(dir) == 200);
    let v = try_status(dir).unwrap();
    assert!(
        v["daemon"]["problems"]
            .to_string()
            .contains("a-directory.log"),
        "{}",
        v["daemon"]
    );
    drop(d);
}

/// Send a signal by name with kill(1): tests stay free of unsafe code.
fn nix_kill(pid: u32, sig: &str) {
    run_ok(std::process::Command::new("kill").args([&format!("-{sig}"), &pid.to_string()]));
}

#[test]
fn tells_systemd_it_is_ready_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let sock_path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let log = dir.join("kern.log");
    append(&log, &[]);
    let child = tripline()
        .args(["run", "--quiet", "--state-dir"])
        .arg(dir.join("state"))
        .arg("--file")
        .arg(&log)
        .env("NOTIFY_SOCKET", &sock_path)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut d = Daemon {
        child,
        dir: dir.to_path_buf(),
    };
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).expect("READY=1 within 30 s");
    assert_eq!(buf[..n].trim_ascii(), b"READY=1");
    // Ready means serving: status answers at once.
    assert!(try_status(dir).is_some());
    nix_kill(d.child.id(), "TERM");
    let n = sock.recv(&mut buf).expect("STOPPING=1");
    assert_eq!(buf[..n].trim_ascii(), b"STOPPING=1");
    assert!(d.child.wait().unwrap().success());
}

#[test]
fn the_systemd_unit_verifies() {
    let unit = std::fs::read_to_string(repo().join("dist/tripline.service")).unwrap();
    let Ok(out) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        eprintln!("note: systemd-analyze not installed, skipping");
        return;
    };
    assert!(out.status.success());
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("tripline.service");
    std::fs::write(
        &path,
        unit.replace("/usr/bin/tripline", env!("CARGO_BIN_EXE_tripline")),
    )
    .unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{err}");
    assert!(unit.contains("Type=notify"));
}

#[test]
fn the_events_socket_streams_detections_as_json_lines() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let log = dir.join("kern.log");
    append(&log, &[]);
    let _d = start(dir, &[&log]);
    let sock = std::os::unix::net::UnixStream::connect(dir.join("state/events.sock")).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // Subscribed: now the scan comes.
    let text = corpus();
    append(&log, &text.lines().collect::<Vec<_>>());
    let mut lines = std::io::BufReader::new(sock).lines();
    let ev = loop {
        let l = lines.next().expect("an event within 30 s").unwrap();
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        if v["type"] == "event" && v["event"]["event"] == "danger_raised" {
            break v;
        }
    };
    assert!(ev["event"]["src"].is_string(), "{ev}");
    assert!(ev["event"]["to"].as_u64() >= Some(1), "{ev}");
}
