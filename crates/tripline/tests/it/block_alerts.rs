//! Block notices on the alert channels (issue 7, psad's `[psad-status] added iptables
//! auto-block` mails): a real nmap scan between network namespaces gets the scanner
//! blocked with nftables, and a real SMTP server (aiosmtpd) and HTTP webhook peer in the
//! firewall namespace receive the block and, when it lapses, the unblock; a second
//! (forged) source within the minute trips `max-per-minute` and that is mailed too.

use crate::alerts::{files_with, peers, start_peer, Proc};
use crate::block::{config, daemon, in_kernel, nft_lab, nmap};
use crate::block_lab::{wait_event, wait_until, Lab, FW4, SCAN4};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A peer script from `tests/peers` on the firewall namespace's loopback.
fn peer_in(lab: &Lab, script: &str, out: &Path) -> (Proc, u16) {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &lab.fw, "/usr/bin/python3"])
        .arg(peers().join(script))
        .arg(out);
    let (p, line) = start_peer(cmd);
    let port = line
        .strip_prefix("port ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{script}: {line}"));
    (p, port)
}

/// The unfolded `Subject:` header of a stored message.
fn subject(eml: &Path) -> String {
    let text = std::fs::read_to_string(eml).unwrap();
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or_default()
        .to_string()
}

/// Waits for a message whose subject is `want`; returns its text.
fn mail_with_subject(dir: &Path, want: &str) -> String {
    let mut found: Option<PathBuf> = None;
    wait_until(
        &format!("an email {want:?}"),
        Duration::from_secs(30),
        || {
            found = files_with(dir, ".eml")
                .into_iter()
                .find(|f| subject(f) == want);
            found.is_some()
        },
    );
    std::fs::read_to_string(found.unwrap()).unwrap()
}

/// Waits for a JSON webhook delivery of an alert of `kind`; returns the alert.
fn hook_with_kind(dir: &Path, kind: &str) -> serde_json::Value {
    let mut found = None;
    wait_until(
        &format!("a {kind} webhook"),
        Duration::from_secs(30),
        || {
            found = files_with(dir, ".json").into_iter().find_map(|f| {
                let rec: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(f).ok()?).ok()?;
                let a: serde_json::Value = serde_json::from_str(rec["body"].as_str()?).ok()?;
                (a["kind"] == kind).then_some(a)
            });
            found.is_some()
        },
    );
    found.unwrap()
}

#[test]
fn a_blocked_scanner_is_reported_by_email_and_webhook_and_so_is_its_release() {
    let Some((lab, dir)) = nft_lab() else { return };
    let (mail, http) = (dir.path().join("mail"), dir.path().join("http"));
    std::fs::create_dir(&mail).unwrap();
    std::fs::create_dir(&http).unwrap();
    let (_smtp, smtp_port) = peer_in(&lab, "smtp_sink.py", &mail);
    let (_web, web_port) = peer_in(&lab, "http_sink.py", &http);
    // Blocks of 3 s; block notices are on by default (`[blocking] alerts`).
    let conf = config(dir.path(), "nftables", 3);
    let text = std::fs::read_to_string(&conf).unwrap()
        + &format!(
            "\n[alerts]\nalert-all = false\n[email]\nto = [\"admin@example.test\"]\n\
             host = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\n\
             [lookups]\ndns = false\nwhois = false\n\
             [[webhook]]\nurl = \"http://127.0.0.1:{web_port}/ok/json\"\n"
        );
    std::fs::write(&conf, text).unwrap();
    let d = daemon(&lab, &conf, &dir.path().join("state"));
    nmap(&lab, FW4);
    wait_event(&d.events, "blocked event", |v| {
        v["event"] == "blocked" && v["src"] == SCAN4
    });
    // The block alert is published like any alert (stdout / events socket).
    let published = wait_event(&d.events, "the blocked alert", |v| {
        v["event"] == "alert" && v["alert"]["kind"] == "blocked"
    });
    assert_eq!(published["alert"]["block"]["net"], SCAN4);
    assert!(in_kernel(&lab, "nftables", SCAN4), "blocked for real");

    let added =
        format!("[tripline-status] added nftables auto-block against {SCAN4} for 3 seconds");
    let m = mail_with_subject(&mail, &added);
    assert!(m.contains("X-Rcpt: admin@example.test"), "{m}");
    for want in [
        format!("[+] added nftables auto-block against {SCAN4} for 3 seconds."),
        format!("              Blocked: {SCAN4}"),
        "              Backend: nftables".to_string(),
        format!("               Source: {SCAN4}"),
        "           Scan types: tcp-syn".to_string(),
    ] {
        assert!(m.contains(&want), "missing {want:?} in\n{m}");
    }
    let hook = hook_with_kind(&http, "blocked");
    assert_eq!(hook["src"], SCAN4);
    assert_eq!(hook["block"]["backend"], "nftables");
    assert_eq!(hook["block"]["timeout_secs"], 3);
    assert!(hook["danger_level"].as_u64() >= Some(3));

    // The block lapses: the release is reported too (psad's "removed ... block").
    let removed = format!("[tripline-status] removed nftables block against {SCAN4}");
    let m = mail_with_subject(&mail, &removed);
    assert!(
        m.contains(&format!("            Unblocked: {SCAN4}")),
        "{m}"
    );
    let hook = hook_with_kind(&http, "unblocked");
    assert_eq!(hook["block"]["net"], SCAN4);
    assert!(lab.connects(&lab.scan.clone(), FW4));
}

#[test]
fn the_blocks_a_minute_cap_is_reported_by_email() {
    let Some((lab, dir)) = nft_lab() else { return };
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    let (_smtp, smtp_port) = peer_in(&lab, "smtp_sink.py", &mail);
    let conf = config(dir.path(), "nftables", 60);
    let text = std::fs::read_to_string(&conf).unwrap()
        + &format!(
            "max-per-minute = 1\n\n[alerts]\nalert-all = false\n[email]\n\
             to = [\"admin@example.test\"]\nhost = \"127.0.0.1\"\nport = {smtp_port}\n\
             tls = \"none\"\n[lookups]\ndns = false\nwhois = false\n"
        );
    std::fs::write(&conf, text).unwrap();
    let d = daemon(&lab, &conf, &dir.path().join("state"));
    nmap(&lab, FW4);
    wait_event(&d.events, "blocked event", |v| {
        v["event"] == "blocked" && v["src"] == SCAN4
    });
    // A second source within the minute (forged from the scanner's namespace): refused
    // by the cap, and the administrator hears it.
    let other = "198.51.100.3";
    lab.forge_syns(other, 1000);
    let ev = wait_event(&d.events, "block_skipped", |v| {
        v["event"] == "block_skipped" && v["src"] == other
    });
    assert_eq!(ev["reason"], "blocks-a-minute cap reached", "{ev}");
    let host = lab.must(&lab.fw, "hostname", &[]).trim().to_string();
    let want =
        format!("[tripline-status] auto-block limit reached on {host}: not blocking {other}");
    let m = mail_with_subject(&mail, &want);
    assert!(
        m.contains(&format!("          Not blocked: {other}")),
        "{m}"
    );
    assert!(
        m.contains("          Block limit: 1 blocks a minute"),
        "{m}"
    );
    assert!(!in_kernel(&lab, "nftables", other));
}
