//! Live kernel sources end to end: a real nmap SYN scan between two network
//! namespaces, logged by the firewall namespace's rules, reaches `tripline
//! run` through NFLOG (netlink) or /dev/kmsg, and the scanner is detected.

use crate::netns::{Lab, LogAllNetns};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// `tripline run ARGS` with its JSON event lines on a channel; killed on drop.
struct Daemon {
    child: Child,
    events: Receiver<serde_json::Value>,
    _state: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn daemon(mut cmd: Command) -> Daemon {
    let state = tempfile::tempdir().unwrap();
    let mut child = cmd
        .arg("--state-dir")
        .arg(state.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, events) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                if tx.send(v).is_err() {
                    return;
                }
            }
        }
    });
    Daemon {
        child,
        events,
        _state: state,
    }
}

/// Scan rounds of 40 ports until `src` reaches danger level 2 (bounded):
/// the daemon may still be starting when the first probes are logged.
fn scan_until_detected(lab: &Lab, d: &Daemon) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    for round in 0u16.. {
        assert!(Instant::now() < deadline, "{} not detected", lab.sc4);
        let first = 1000 + round * 40;
        lab.syn_scan(&format!("{first}-{}", first + 39));
        let wait_until = Instant::now() + Duration::from_secs(3);
        while let Ok(ev) = d
            .events
            .recv_timeout(wait_until.saturating_duration_since(Instant::now()))
        {
            if ev["event"] == "danger_raised"
                && ev["src"] == lab.sc4
                && ev["to"].as_u64() >= Some(2)
            {
                return ev;
            }
        }
    }
    unreachable!()
}

/// `tripline status --json` from the running daemon: the scanner's danger
/// level and packets, and the inputs the lines came from.
fn status_of(d: &Daemon, src: &str) -> (u64, u64, Vec<String>) {
    let out = crate::util::run_ok(
        Command::new(env!("CARGO_BIN_EXE_tripline"))
            .args(["status", "--json", "--min-dl", "0", "--state-dir"])
            .arg(d._state.path()),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["daemon"]["running"], true, "{v}");
    let s = v["report"]["sources"]
        .as_array()
        .unwrap_or_else(|| panic!("no sources in status: {v}"))
        .iter()
        .find(|s| s["src"] == src)
        .unwrap_or_else(|| panic!("{src} not in status: {v}"));
    let inputs = v["daemon"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["origin"].as_str().unwrap().to_string())
        .collect();
    (
        s["danger_level"].as_u64().unwrap(),
        s["packets"].as_u64().unwrap(),
        inputs,
    )
}

#[test]
fn nflog_group_detects_a_real_syn_scan() {
    let lab = Lab::new(66);
    lab.nflog_syns(7);
    let mut cmd = Lab::exec(&lab.fw, env!("CARGO_BIN_EXE_tripline"));
    cmd.args(["run", "--nflog", "7"]);
    let d = daemon(cmd);
    let ev = scan_until_detected(&lab, &d);
    assert_eq!(ev["src"], "203.0.113.66");
    // Packets to 203.0.113.1, or a backdoor-port signature among the ports.
    assert!(!ev["reason"].as_str().unwrap().is_empty(), "{ev}");
    let (dl, packets, inputs) = status_of(&d, "203.0.113.66");
    assert!(dl >= 2 && packets >= 15, "DL {dl}, {packets} packets");
    assert_eq!(inputs, ["nflog:7"]);
}

/// nftables `log` rules (no group) write to the kernel log; a syslog daemon
/// would copy them to a file. The test plays that syslog daemon: it reads
/// /dev/kmsg and appends this lab's lines, RFC 3339 stamped, to a file that
/// `tripline run --file` follows.
#[test]
fn a_followed_file_fed_by_nftables_log_rules_detects_a_real_syn_scan() {
    use std::io::{Read, Seek, Write};
    let _log = LogAllNetns::enable();
    let lab = Lab::new(68);
    lab.nft(
        r#"table inet tl {
             chain input {
               type filter hook input priority 0; policy accept;
               iifname "wan0" tcp flags & (syn | ack) == syn log prefix "TLF_DROP " flags all drop
             }
           }"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kern.log");
    std::fs::write(&path, "").unwrap();
    let mut kmsg = std::fs::File::open("/dev/kmsg").unwrap();
    kmsg.seek(std::io::SeekFrom::End(0)).unwrap();
    let file = path.clone();
    std::thread::spawn(move || {
        let mut out = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .unwrap();
        let mut buf = vec![0u8; 8192];
        loop {
            let n = match kmsg.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.raw_os_error() == Some(32) => continue, // EPIPE: overrun
                Err(_) => return,
            };
            let rec = String::from_utf8_lossy(&buf[..n]);
            let Some((_, msg)) = rec.split_once(';') else {
                continue;
            };
            let msg = msg.lines().next().unwrap_or_default();
            if msg.contains("TLF_DROP ") && msg.contains("SRC=203.0.113.68 ") {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap();
                let ts = tripline_core::Timestamp(now.as_micros() as i64).to_rfc3339();
                if writeln!(out, "{ts} fw kernel: {msg}").is_err() {
                    return;
                }
            }
        }
    });
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tripline"));
    cmd.args(["run", "--file"]).arg(&path);
    let d = daemon(cmd);
    let ev = scan_until_detected(&lab, &d);
    assert_eq!(ev["src"], "203.0.113.68");
    let (dl, packets, inputs) = status_of(&d, "203.0.113.68");
    assert!(dl >= 2 && packets >= 15, "DL {dl}, {packets} packets");
    assert_eq!(inputs, [format!("file:{}", path.display())]);
}

#[test]
fn kmsg_detects_a_real_syn_scan_logged_by_iptables() {
    let _log = LogAllNetns::enable();
    let lab = Lab::new(67);
    lab.iptables(&[
        "-A",
        "INPUT",
        "-i",
        "wan0",
        "-p",
        "tcp",
        "--syn",
        "-j",
        "LOG",
        "--log-prefix",
        "TLK_DROP ",
        "--log-tcp-options",
    ]);
    lab.iptables(&[
        "-A", "INPUT", "-i", "wan0", "-p", "tcp", "--syn", "-j", "DROP",
    ]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tripline"));
    cmd.args(["run", "--kmsg"]);
    let d = daemon(cmd);
    let ev = scan_until_detected(&lab, &d);
    assert_eq!(ev["src"], "203.0.113.67");
    let (dl, packets, inputs) = status_of(&d, "203.0.113.67");
    assert!(dl >= 2 && packets >= 15, "DL {dl}, {packets} packets");
    assert_eq!(inputs, ["kmsg"]);
}
