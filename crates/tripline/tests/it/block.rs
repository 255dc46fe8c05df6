//! Active response against real kernels (issue 7): a scanner namespace runs nmap against
//! a firewall namespace whose LOG / `log` rules feed `tripline run` (through a
//! `/dev/kmsg` tap); the responder blocks the scanner with each backend, lifts the block
//! on time, never blocks a safelisted (spoofed) source, and restores blocks after
//! `kill -9` with the time they have left. `fw-check` judges logging and silent policies.

use crate::block_lab::{
    self as netns, wait_event, wait_until, KmsgTap, Lab, CLI4, CLI6, FW4, FW6, SCAN4, SCAN6,
};
use std::process::{Child, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

pub(crate) struct Daemon {
    child: Child,
    pub(crate) events: Receiver<serde_json::Value>,
    _tap: KmsgTap,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn config(dir: &std::path::Path, backend: &str, timeout: u64) -> std::path::PathBuf {
    let path = dir.join("tripline.toml");
    let text = format!(
        "[detection]\ndanger-levels = [2, 4, 8, 16, 32]\n\n[blocking]\nenabled = true\n\
         danger-level = 3\ndl-timeouts = [{timeout}, {timeout}, {timeout}, {timeout}, {timeout}]\n\
         backend = \"{backend}\"\nsafelist = [\"{CLI4}\", \"{CLI6}\"]\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `tripline run --stdin` in the firewall namespace, fed the lab's kernel log lines.
pub(crate) fn daemon(lab: &Lab, conf: &std::path::Path, state: &std::path::Path) -> Daemon {
    let mut child = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.fw,
            env!("CARGO_BIN_EXE_tripline"),
            "run",
            "--stdin",
        ])
        .arg("--config")
        .arg(conf)
        .arg("--state-dir")
        .arg(state)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let tap = KmsgTap::start(lab.prefix(), child.stdin.take().unwrap());
    let events = netns::json_lines(child.stdout.take().unwrap());
    Daemon {
        child,
        events,
        _tap: tap,
    }
}

/// A lab whose firewall logs and drops with nftables and serves the client, and a
/// scratch directory; `None` where network namespaces cannot be made.
pub(crate) fn nft_lab() -> Option<(Lab, tempfile::TempDir)> {
    backend_lab("nftables")
}

/// [`nft_lab`] with the firewall policy written for `backend`'s tool
/// (nftables, or iptables for the iptables and ipset backends).
fn backend_lab(backend: &str) -> Option<(Lab, tempfile::TempDir)> {
    if !netns::available() {
        return None;
    }
    let mut lab = Lab::new();
    if backend == "nftables" {
        lab.nft_policy();
    } else {
        lab.ipt_policy();
    }
    lab.serve();
    Some((lab, tempfile::tempdir().unwrap()))
}

pub(crate) fn nmap(lab: &Lab, target: &str) {
    let mut args = vec![
        "-Pn",
        "-n",
        "-sS",
        "-p",
        "1-150",
        "-T5",
        "--max-retries",
        "0",
    ];
    if target.contains(':') {
        args.push("-6");
    }
    args.push(target);
    lab.must(&lab.scan, "nmap", &args);
}

/// Is `addr` in the kernel block list of `backend` in the firewall namespace?
pub(crate) fn in_kernel(lab: &Lab, backend: &str, addr: &str) -> bool {
    let v6 = addr.contains(':');
    let out = match backend {
        "nftables" => lab.exec(
            &lab.fw,
            "nft",
            &[
                "list",
                "set",
                "inet",
                "tripline",
                if v6 { "v6" } else { "v4" },
            ],
        ),
        "iptables" => lab.exec(
            &lab.fw,
            if v6 { "ip6tables" } else { "iptables" },
            &["-S", "PSAD_BLOCK_INPUT"],
        ),
        _ => lab.exec(
            &lab.fw,
            "ipset",
            &["list", if v6 { "tripline6" } else { "tripline4" }],
        ),
    };
    String::from_utf8_lossy(&out.stdout)
        .split(|c: char| c.is_whitespace() || c == ',' || c == '{' || c == '}')
        .any(|w| w.split('/').next() == Some(addr))
}

/// The acceptance scenario for one backend and family.
fn scan_is_blocked_then_released(backend: &str, v6: bool) {
    let Some((lab, dir)) = backend_lab(backend) else {
        return;
    };
    let (fw, scan, fwc) = if v6 {
        (FW6, SCAN6, netns::FWC6)
    } else {
        (FW4, SCAN4, netns::FWC4)
    };
    let (scan_ns, cli_ns) = (lab.scan.clone(), lab.cli.clone());
    assert!(lab.connects(&scan_ns, fw), "the scanner connects before");
    let d = daemon(
        &lab,
        &config(dir.path(), backend, 3),
        &dir.path().join("state"),
    );
    nmap(&lab, fw);
    let ev = wait_event(&d.events, "blocked event", |v| {
        v["event"] == "blocked" && v["src"] == scan
    });
    assert_eq!(ev["timeout"], 3);
    assert_eq!(ev["dry_run"], false);
    wait_until(
        "the block is in the kernel",
        Duration::from_secs(10),
        || in_kernel(&lab, backend, scan),
    );
    assert!(
        !lab.connects(&scan_ns, fw),
        "the blocked scanner still connects"
    );
    assert!(lab.connects(&cli_ns, fwc), "the client is cut off too");
    // The block lapses after 3 s (by the kernel or by the daemon's expiry).
    wait_until(
        "the scanner connects again",
        Duration::from_secs(20),
        || lab.connects(&scan_ns, fw),
    );
    assert!(!in_kernel(&lab, backend, scan));
}

#[test]
fn nftables_blocks_an_ipv4_scanner_and_releases_it() {
    scan_is_blocked_then_released("nftables", false);
}

#[test]
fn nftables_blocks_an_ipv6_scanner_and_releases_it() {
    scan_is_blocked_then_released("nftables", true);
}

#[test]
fn iptables_blocks_an_ipv4_scanner_and_releases_it() {
    scan_is_blocked_then_released("iptables", false);
}

#[test]
fn iptables_blocks_an_ipv6_scanner_and_releases_it() {
    scan_is_blocked_then_released("iptables", true);
}

#[test]
fn ipset_blocks_an_ipv4_scanner_and_releases_it() {
    scan_is_blocked_then_released("ipset", false);
}

#[test]
fn ipset_blocks_an_ipv6_scanner_and_releases_it() {
    scan_is_blocked_then_released("ipset", true);
}

#[test]
fn a_scan_spoofed_from_a_safelisted_address_is_detected_but_never_blocked() {
    let Some((lab, dir)) = nft_lab() else { return };
    let d = daemon(
        &lab,
        &config(dir.path(), "nftables", 60),
        &dir.path().join("state"),
    );
    // SYNs to 60 ports from the scanner, forged as coming from the safelisted client.
    lab.forge_syns(CLI4, 1000);
    wait_event(&d.events, "detection of the spoofed source", |v| {
        v["event"] == "danger_raised" && v["src"] == CLI4 && v["to"].as_u64() >= Some(3)
    });
    let ev = wait_event(&d.events, "block_skipped", |v| {
        v["event"] == "block_skipped"
    });
    assert_eq!(ev["src"], CLI4);
    assert_eq!(ev["reason"], "safelisted");
    assert!(!in_kernel(&lab, "nftables", CLI4));
    assert!(lab.connects(&lab.cli.clone(), netns::FWC4));
    let out = lab.must(
        &lab.fw,
        env!("CARGO_BIN_EXE_tripline"),
        &[
            "blocks",
            "--json",
            "--state-dir",
            dir.path().join("state").to_str().unwrap(),
        ],
    );
    assert_eq!(out.trim(), "[]");
    // A LAND-style forgery from the firewall's own (not configured) address: the
    // discovered safelist protects it.
    let own = netns::FWC4;
    lab.forge_syns(own, 2000);
    let ev = wait_event(&d.events, "block_skipped", |v| {
        v["event"] == "block_skipped" && v["src"] == own
    });
    assert_eq!(ev["reason"], "safelisted");
    assert!(!in_kernel(&lab, "nftables", own));
}

#[test]
fn dry_run_reports_the_block_and_changes_nothing() {
    let Some((lab, dir)) = nft_lab() else { return };
    let conf = config(dir.path(), "nftables", 60);
    let text = std::fs::read_to_string(&conf).unwrap() + "dry-run = true\n";
    std::fs::write(&conf, text).unwrap();
    let d = daemon(&lab, &conf, &dir.path().join("state"));
    nmap(&lab, FW4);
    let ev = wait_event(&d.events, "blocked event", |v| {
        v["event"] == "blocked" && v["src"] == SCAN4
    });
    assert_eq!(ev["dry_run"], true);
    assert!(!lab
        .exec(&lab.fw, "nft", &["list", "table", "inet", "tripline"])
        .status
        .success());
    assert!(lab.connects(&lab.scan.clone(), FW4));
}

fn nft_timeout_of(lab: &Lab, addr: &str) -> Option<(u64, u64)> {
    let out = lab.must(
        &lab.fw,
        "nft",
        &["-j", "list", "set", "inet", "tripline", "v4"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let elems = v["nftables"][1]["set"]["elem"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    elems.iter().find_map(|e| {
        let e = &e["elem"];
        (e["val"] == addr).then(|| {
            (
                e["timeout"].as_u64().unwrap(),
                e["expires"].as_u64().unwrap(),
            )
        })
    })
}

#[test]
fn blocks_survive_kill_9_with_their_remaining_time_and_lapsed_ones_are_not_restored() {
    let Some((lab, dir)) = nft_lab() else { return };
    let state = dir.path().join("state");
    let conf = config(dir.path(), "nftables", 120);
    let mut d = daemon(&lab, &conf, &state);
    nmap(&lab, FW4);
    wait_event(&d.events, "blocked event", |v| {
        v["event"] == "blocked" && v["src"] == SCAN4
    });
    // A manual block beside it that lapses in 2 s.
    let tl = env!("CARGO_BIN_EXE_tripline");
    let st = state.to_str().unwrap();
    let conf_s = conf.to_str().unwrap();
    lab.must(
        &lab.fw,
        tl,
        &[
            "block",
            "198.51.100.9",
            "--for",
            "2s",
            "--config",
            conf_s,
            "--state-dir",
            st,
        ],
    );
    wait_until(
        "both blocks are in the kernel",
        Duration::from_secs(10),
        || in_kernel(&lab, "nftables", SCAN4) && in_kernel(&lab, "nftables", "198.51.100.9"),
    );
    let out = lab.must(&lab.fw, tl, &["blocks", "--json", "--state-dir", st]);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
    d.child.kill().unwrap(); // SIGKILL
    d.child.wait().unwrap();
    drop(d);
    // The manual block lapses while the daemon is down; then a "reboot" empties the kernel.
    wait_until("the short block lapses", Duration::from_secs(10), || {
        !in_kernel(&lab, "nftables", "198.51.100.9")
    });
    lab.must(&lab.fw, "nft", &["delete", "table", "inet", "tripline"]);
    let d = daemon(&lab, &conf, &state);
    wait_until(
        "the scanner's block is restored",
        Duration::from_secs(10),
        || {
            lab.exec(&lab.fw, "nft", &["list", "table", "inet", "tripline"])
                .status
                .success()
                && in_kernel(&lab, "nftables", SCAN4)
        },
    );
    let (timeout, expires) = nft_timeout_of(&lab, SCAN4).expect("scanner in the set");
    // Re-applied with the time left (< 120 s: seconds passed), not a fresh 120 s.
    assert!((90..120).contains(&timeout), "timeout {timeout}");
    assert!(expires <= timeout, "expires {expires} timeout {timeout}");
    assert!(
        !in_kernel(&lab, "nftables", "198.51.100.9"),
        "a lapsed block came back"
    );
    assert!(!lab.connects(&lab.scan.clone(), FW4));
    let out = lab.must(&lab.fw, tl, &["blocks", "--json", "--state-dir", st]);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["net"], "198.51.100.2/32");
    // By hand: the host's own address is refused; unblock lifts at once.
    let o = lab.exec(
        &lab.fw,
        tl,
        &["block", FW4, "--config", conf_s, "--state-dir", st],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("refusing to block 198.51.100.1/32: safelisted"));
    lab.must(
        &lab.fw,
        tl,
        &["unblock", SCAN4, "--config", conf_s, "--state-dir", st],
    );
    assert!(!in_kernel(&lab, "nftables", SCAN4));
    lab.must(
        &lab.fw,
        tl,
        &[
            "block",
            SCAN4,
            "--for",
            "1h",
            "--config",
            conf_s,
            "--state-dir",
            st,
        ],
    );
    assert!(in_kernel(&lab, "nftables", SCAN4));
    drop(d);
    // flush removes our table and the rows, and leaves the admin's table alone.
    lab.must(
        &lab.fw,
        tl,
        &["flush", "--config", conf_s, "--state-dir", st],
    );
    assert!(!lab
        .exec(&lab.fw, "nft", &["list", "table", "inet", "tripline"])
        .status
        .success());
    assert!(lab
        .exec(&lab.fw, "nft", &["list", "table", "inet", "filter"])
        .status
        .success());
    let out = lab.must(&lab.fw, tl, &["blocks", "--json", "--state-dir", st]);
    assert_eq!(out.trim(), "[]");
}

fn fw_check(lab: &Lab) -> (bool, String) {
    let o = lab.exec(&lab.fw, env!("CARGO_BIN_EXE_tripline"), &["fw-check"]);
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn fw_check_tells_a_logging_policy_from_a_silent_one() {
    if !netns::available() {
        return;
    }
    // nftables: logging, then the same chain without its log rule.
    let lab = Lab::new();
    lab.nft_policy();
    let (ok, out) = fw_check(&lab);
    assert!(ok, "{out}");
    assert!(
        out.contains("nftables inet filter input (hook input, policy drop)"),
        "{out}"
    );
    assert!(out.contains("[+] Firewall config looks good."), "{out}");
    lab.must(
        &lab.fw,
        "nft",
        &["flush", "chain", "inet", "filter", "input"],
    );
    lab.must(
        &lab.fw,
        "nft",
        &[
            "add", "rule", "inet", "filter", "input", "tcp", "dport", "22", "accept",
        ],
    );
    let (ok, out) = fw_check(&lab);
    assert!(!ok, "{out}");
    assert!(
        out.contains("nft add rule inet filter input log prefix"),
        "{out}"
    );
    assert!(out.contains("[-] Errors found"), "{out}");
    drop(lab);
    // iptables: logging, then silent.
    let lab = Lab::new();
    lab.ipt_policy();
    let (ok, out) = fw_check(&lab);
    assert!(ok, "{out}");
    assert!(out.contains("iptables filter INPUT (policy DROP)"), "{out}");
    lab.feed(
        &lab.fw,
        "iptables-restore",
        &[],
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
    );
    let (ok, out) = fw_check(&lab);
    assert!(!ok, "{out}");
    assert!(
        out.contains("iptables -A INPUT -j LOG --log-prefix \"DROP \""),
        "{out}"
    );
}

/// An admin's firewall reload (`nft flush ruleset`) deletes Tripline's table: the next
/// block fails in the kernel, and that failure reaches the alert channels (a
/// `block_failed` alert) and `tripline status` (and stderr), not only the event
/// stream the systemd unit's `--quiet` hides.
#[test]
fn a_block_the_kernel_refuses_is_reported_in_status() {
    let Some((lab, dir)) = nft_lab() else { return };
    let state = dir.path().join("state");
    let d = daemon(&lab, &config(dir.path(), "nftables", 60), &state);
    let table = |lab: &Lab| {
        lab.exec(&lab.fw, "nft", &["list", "table", "inet", "tripline"])
            .status
            .success()
    };
    wait_until("the blocking table", Duration::from_secs(10), || {
        table(&lab)
    });
    assert!(lab
        .exec(&lab.fw, "nft", &["delete", "table", "inet", "tripline"])
        .status
        .success());
    nmap(&lab, FW4);
    let ev = wait_event(&d.events, "block_error event", |v| {
        v["event"] == "block_error"
    });
    assert!(ev["error"].as_str().unwrap().contains("nftables"), "{ev}");
    // And an alert on the channels: about the firewall, its error on one line.
    let alert = wait_event(&d.events, "block_failed alert", |v| {
        v["event"] == "alert" && v["alert"]["kind"] == "block_failed"
    });
    let a = &alert["alert"];
    assert_eq!(a["src"], "0.0.0.0", "{alert}");
    assert_eq!(a["danger_level"], 3, "the blocking level: {alert}");
    assert_eq!(a["block"]["failures"], 1, "{alert}");
    let reason = a["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("nftables blocking failed: nftables (") && !reason.contains('\n'),
        "{alert}"
    );
    let problems = || -> Option<String> {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tripline"))
            .args(["status", "--json", "--state-dir"])
            .arg(&state)
            .output()
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let p = v["daemon"]["problems"].to_string();
        p.contains("blocking: nftables").then_some(p)
    };
    let mut found = None;
    wait_until("the problem in status", Duration::from_secs(10), || {
        found = problems();
        found.is_some()
    });
    assert!(found.unwrap().contains("blocking"));
    // The failure makes the daemon check its objects at once: the table is
    // re-created and the block goes in after all.
    wait_event(&d.events, "blocks_restored event", |v| {
        v["event"] == "blocks_restored"
    });
    wait_until("the block in the kernel", Duration::from_secs(10), || {
        in_kernel(&lab, "nftables", SCAN4)
    });
}

/// A ruleset reload after a block (Debian's nftables.conf starts with `flush
/// ruleset`; `iptables-restore` replaces the filter table) takes Tripline's
/// objects and the blocks in them. The daemon re-creates its objects, puts
/// every current block back, and says so in status, so the scanner is cut off
/// again without a restart. The periodic check is an hour away here: on
/// nf_tables (nft, iptables-nft) the kernel's notice of the change alone
/// brings the repair.
fn a_ruleset_reload_is_healed(backend: &str) {
    let Some((lab, dir)) = backend_lab(backend) else {
        return;
    };
    let scan_ns = lab.scan.clone();
    let state = dir.path().join("state");
    let conf = config(dir.path(), backend, 120);
    let nf_tables = backend == "nftables"
        || String::from_utf8_lossy(&lab.exec(&lab.fw, "iptables", &["--version"]).stdout)
            .contains("nf_tables");
    if nf_tables {
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str("check-interval = \"1h\"\n");
        std::fs::write(&conf, text).unwrap();
    }
    let d = daemon(&lab, &conf, &state);
    nmap(&lab, FW4);
    wait_event(&d.events, "blocked event", |v| {
        v["event"] == "blocked" && v["src"] == SCAN4
    });
    wait_until("the block in the kernel", Duration::from_secs(10), || {
        in_kernel(&lab, backend, SCAN4)
    });
    if backend == "nftables" {
        lab.must(&lab.fw, "nft", &["flush", "ruleset"]);
    } else if backend == "ipset" {
        // The set first: ipset changes come with no notice.
        lab.must(&lab.fw, "ipset", &["flush", "tripline4"]);
        let rule = ["-m", "set", "--match-set", "tripline4", "src", "-j", "DROP"];
        lab.must(&lab.fw, "iptables", &[&["-D", "INPUT"][..], &rule].concat());
    } else {
        // One transaction, as a reload is.
        lab.feed(
            &lab.fw,
            "iptables-restore",
            &["--noflush"],
            "*filter\n-D INPUT -j PSAD_BLOCK_INPUT\n-F PSAD_BLOCK_INPUT\n\
             -X PSAD_BLOCK_INPUT\nCOMMIT\n",
        );
    }
    assert!(
        !in_kernel(&lab, backend, SCAN4),
        "the reload kept the block"
    );
    let ev = wait_event(&d.events, "blocks_restored event", |v| {
        v["event"] == "blocks_restored"
    });
    assert_eq!(ev["blocks"], 1, "{ev}");
    // And an alert on the channels, as psad-style status mail, syslog, webhooks.
    let alert = wait_event(&d.events, "blocks_restored alert", |v| {
        v["event"] == "alert" && v["alert"]["kind"] == "blocks_restored"
    });
    assert_eq!(alert["alert"]["block"]["restored"], 1, "{alert}");
    assert!(
        alert["alert"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("re-applied 1 blocks")),
        "{alert}"
    );
    wait_until(
        "the block back in the kernel",
        Duration::from_secs(10),
        || in_kernel(&lab, backend, SCAN4),
    );
    assert!(
        !lab.connects(&scan_ns, FW4),
        "the scanner connects after the reload"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tripline"))
        .args(["status", "--json", "--state-dir"])
        .arg(&state)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems = v["daemon"]["problems"].to_string();
    assert!(problems.contains("re-created"), "{problems}");
    // `tripline flush` beside the running daemon: the next repair puts back
    // what the database holds, which is nothing.
    let tl = env!("CARGO_BIN_EXE_tripline");
    let (conf_s, st) = (conf.to_str().unwrap(), state.to_str().unwrap());
    lab.must(
        &lab.fw,
        tl,
        &["flush", "--config", conf_s, "--state-dir", st],
    );
    wait_event(&d.events, "the empty repair after flush", |v| {
        v["event"] == "blocks_restored" && v["blocks"] == 0
    });
    assert!(!in_kernel(&lab, backend, SCAN4), "flush was undone");
    assert!(lab.connects(&scan_ns, FW4), "the scanner is still cut off");
}

#[test]
fn nftables_blocks_come_back_after_a_ruleset_reload() {
    a_ruleset_reload_is_healed("nftables");
}

#[test]
fn iptables_blocks_come_back_after_a_ruleset_reload() {
    a_ruleset_reload_is_healed("iptables");
}

#[test]
fn ipset_blocks_come_back_after_a_ruleset_reload() {
    a_ruleset_reload_is_healed("ipset");
}
