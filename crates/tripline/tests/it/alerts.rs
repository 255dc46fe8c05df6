//! Alerts end to end with real peers on loopback: an SMTP server (aiosmtpd), dnsmasq
//! for reverse DNS, a whois root and registry, an HTTP server for webhooks, a syslog
//! datagram socket, a D-Bus session bus with a notification server, and scripts that
//! record what they were given. Everything is driven by `tripline run` on real corpus
//! scan lines appended to a followed file.

use crate::util::{repo, tripline};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

const PY: &str = "/usr/bin/python3";

/// A child process killed on drop (every exit path).
pub(crate) struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn peers() -> PathBuf {
    repo().join("crates/tripline/tests/peers")
}

/// Starts a peer and waits (bounded) for its first stdout line.
pub(crate) fn start_peer(mut cmd: Command) -> (Proc, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let out = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(out).lines();
        if let Some(Ok(l)) = lines.next() {
            let _ = tx.send(l);
        }
        for _ in lines {}
    });
    let proc = Proc(child);
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{cmd:?} did not start"));
    (proc, line)
}

fn py_peer(script: &str, arg: &Path) -> (Proc, u16) {
    let mut cmd = Command::new(PY);
    cmd.arg(peers().join(script)).arg(arg);
    let (p, line) = start_peer(cmd);
    let port = line
        .strip_prefix("port ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{script}: {line}"));
    (p, port)
}

/// dnsmasq on 127.0.0.1:PORT answering PTR queries for the scanner and the firewall.
fn dnsmasq() -> (Proc, u16) {
    for _ in 0..20 {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("dnsmasq")
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
                "--pid-file=",
                "--user=root",
                "--log-facility=-",
            ])
            .arg(format!("--port={port}"))
            .arg("--ptr-record=10.100.51.198.in-addr.arpa,scanner.example.test")
            .arg("--ptr-record=1.100.51.198.in-addr.arpa,fw.example.test")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dnsmasq (Debian package dnsmasq-base)");
        // Ready once it holds the port.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break; // lost the port race: try another
            }
            if std::net::UdpSocket::bind(("127.0.0.1", port)).is_err() {
                return (Proc(child), port);
            }
            assert!(Instant::now() < deadline, "dnsmasq did not bind");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("dnsmasq could not start");
}

/// `tripline run` with its JSON event lines on a channel.
struct Run {
    _child: Proc,
    events: Receiver<serde_json::Value>,
    /// The daemon's state directory (database, control and events sockets).
    state: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

fn run(args: &[&str], env: &[(&str, String)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut r = run_in(dir.path().to_path_buf(), args, env);
    r._dir = Some(dir);
    r
}

/// `tripline run` with its state (and sockets) in `state`.
fn run_in(state: PathBuf, args: &[&str], env: &[(&str, String)]) -> Run {
    let mut cmd = tripline();
    cmd.arg("run").arg("--state-dir").arg(&state).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let events = crate::block_lab::json_lines(child.stdout.take().unwrap());
    Run {
        _child: Proc(child),
        events,
        state,
        _dir: None,
    }
}

/// Real lines of 198.51.100.10's SYN scan of 198.51.100.1 (corpus scan d01).
fn scan_lines() -> Vec<String> {
    std::fs::read_to_string(repo().join("examples/logs/dev-slice.log"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("SRC=198.51.100.10 "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Real lines of another scanner (203.0.113.22), to see that the follower is reading.
fn warmup_lines() -> Vec<String> {
    std::fs::read_to_string(repo().join("examples/logs/dev-slice.log"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("SRC=203.0.113.22 "))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn append(path: &Path, text: &str) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

/// Appends scan lines in batches until the first alert event, which it returns.
fn feed_until_alert(r: &Run, log: &Path, lines: &[String]) -> serde_json::Value {
    let mut i = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Lines written before the follower opened the file are skipped: start over
        // when all are written, until the first alert shows the follower is reading.
        if i >= lines.len() {
            i = 0;
        }
        let end = (i + 50).min(lines.len());
        append(log, &lines[i..end].concat());
        i = end;
        while let Ok(ev) = r.events.recv_timeout(Duration::from_millis(200)) {
            if ev["event"] == "alert" {
                return ev["alert"].clone();
            }
        }
        assert!(Instant::now() < deadline, "no alert within 30 s");
    }
}

/// Polls (bounded) until `f` returns something.
fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Waits until the daemon in `state` reports an alert-stream subscriber.
fn wait_subscribed(state: &Path) {
    wait_for("the agent to subscribe", 30, || {
        let out = tripline()
            .args(["status", "--json", "--state-dir"])
            .arg(state)
            .output()
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let n = v["daemon"]["subscribers"]
            .as_u64()
            .or_else(|| v["subscribers"].as_u64())?;
        (n >= 1).then_some(())
    });
}

/// Accepts one connection, waiting at most 30 s.
fn accept(l: &UnixListener) -> std::os::unix::net::UnixStream {
    l.set_nonblocking(true).unwrap();
    let (s, _) = wait_for("the agent to connect", 30, || l.accept().ok());
    s.set_nonblocking(false).unwrap();
    s
}

pub(crate) fn files_with(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(suffix) && !name.starts_with('.')
        })
        .collect();
    v.sort();
    v
}

#[test]
fn email_alert_over_smtp_has_every_section_with_rdns_and_whois() {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    let (_smtp, smtp_port) = py_peer("smtp_sink.py", &mail);
    let (_whois, whois_port) = py_peer("whois_server.py", dir.path());
    let (_dns, dns_port) = dnsmasq();
    let cfg = dir.path().join("tripline.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[alerts]
alert-all = false
hostname = "fw-test"
[email]
to = ["admin@example.test"]
from = "tripline@example.test"
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
min-danger-level = 3
[lookups]
dns-server = "127.0.0.1:{dns_port}"
whois-server = "127.0.0.1:{whois_port}"
whois-timeout = 10
"#
        ),
    )
    .unwrap();
    let log = dir.path().join("kern.log");
    append(&log, "");
    let r = run(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--file",
            log.to_str().unwrap(),
        ],
        &[],
    );
    let sent = Instant::now();
    // Another scanner first, until the follower is seen reading (its alerts stay below
    // the email's DL 3); then the whole scan, so the counts below are exact.
    let first = feed_until_alert(&r, &log, &warmup_lines());
    assert_eq!(first["src"], "203.0.113.22");
    append(&log, &scan_lines().concat());
    let eml = wait_for("the email", 30, || {
        files_with(&mail, ".eml").into_iter().next()
    });
    eprintln!(
        "first alert to email in the SMTP server's spool: {:?}",
        sent.elapsed()
    );
    let text = std::fs::read_to_string(eml).unwrap();
    // Headers.
    assert!(text.contains("X-Rcpt: admin@example.test"), "{text}");
    assert!(text.contains("From: tripline@example.test"), "{text}");
    assert!(
        text.contains(
            "Subject: [tripline-alert] DL3 src: scanner.example.test dst: fw.example.test"
        ),
        "{text}"
    );
    // psad's sections, in order.
    let order = [
        "=-=-=-=-=-=-=-=-=-=-=-= ",
        "         Danger level: [3] (out of 5)",
        "         Alert reason: danger level 2 -> 3: 150 packets to 198.51.100.1",
        " Scanned destinations: 1",
        "    Scanned TCP ports: [",
        "            TCP flags: [SYN: 150 packets, Nmap: -sT or -sS]",
        "       iptables chain: INPUT (prefix \"IN_DROP\"), 148 packets",
        "       iptables chain: INPUT (prefix \"IN_REJECT\"), 2 packets",
        "               Source: 198.51.100.10",
        "                  DNS: scanner.example.test",
        "          Destination: 198.51.100.1",
        "                  DNS: fw.example.test",
        "   Overall scan start: ",
        "     Current interval: ",
        "   Total email alerts: 2",
        "   Complete TCP range: [",
        "      Syslog hostname: fw1",
        "           Scan types: tcp-syn",
        "         Global stats: ",
        "INPUT    wan0        tcp        150",
        "[+] Whois Information (source IP):",
        "[whois 127.0.0.1:",
        "inetnum:        198.51.100.10 - 198.51.100.10",
        "netname:        TEST-NET-2",
    ];
    let mut at = 0;
    for want in order {
        let found = text[at..]
            .find(want)
            .unwrap_or_else(|| panic!("missing {want:?} after byte {at} in\n{text}"));
        at += found + want.len();
    }
    // whois followed the root's referral to the registry.
    let q = std::fs::read_to_string(dir.path().join("queries.log")).unwrap();
    assert!(
        q.contains("root 198.51.100.10") && q.contains("registry 198.51.100.10"),
        "{q}"
    );
}

#[test]
fn syslog_alert_reaches_the_socket_in_psads_format() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("log.sock");
    let server = UnixDatagram::bind(&sock).unwrap();
    // A psad.conf as psad users have it, plus the socket path from TOML.
    let psad = dir.path().join("psad.conf");
    std::fs::write(
        &psad,
        "ALERTING_METHODS noemail;\nSYSLOG_IDENTITY psad;\nSYSLOG_FACILITY LOG_LOCAL5;\n\
         SYSLOG_PRIORITY LOG_NOTICE;\nALERT_ALL N;\n",
    )
    .unwrap();
    let cfg = dir.path().join("tripline.toml");
    std::fs::write(
        &cfg,
        format!("[syslog]\nsocket = {:?}\n", sock.display().to_string()),
    )
    .unwrap();
    let log = dir.path().join("kern.log");
    append(&log, "");
    let r = run(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--psad-conf",
            psad.to_str().unwrap(),
            // The file starts empty: read it all, so the alert's counts do not
            // depend on when the follower opened it.
            "--from-start",
            "--file",
            log.to_str().unwrap(),
        ],
        &[],
    );
    feed_until_alert(&r, &log, &scan_lines());
    server
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = server.recv(&mut buf).unwrap();
    let msg = String::from_utf8_lossy(&buf[..n]).to_string();
    // local5 (21) * 8 + notice (5) = 173.
    let re_head = "<173>psad[";
    assert!(msg.starts_with(re_head), "{msg}");
    let body = msg.split_once("]: ").unwrap().1;
    assert!(
        body.starts_with(
            "scan detected (Nmap -sT or -sS scan): 198.51.100.10 -> 198.51.100.1 tcp: ["
        ),
        "{body}"
    );
    assert!(
        body.contains(" flags: SYN tcp pkts: 5 DL: 1 total scan dsts: 1"),
        "{body}"
    );
}

const NOTIFY_SEND_LINE: &str = "DISPLAY=:0.0 XAUTHORITY=/home/USER/.Xauthority notify-send -t 0 -i ICON -c network \"Firewall Alert\" \"Intrusion detected from SRCIP\"";

/// A fake program that records argv, environment and stdin, one file each.
fn recorder(bin: &Path, name: &str, out: &Path) {
    let body = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > {o}/argv.tmp\nenv > {o}/env.tmp\ncat > {o}/stdin.tmp\n\
         mv {o}/env.tmp {o}/env; mv {o}/stdin.tmp {o}/stdin; mv {o}/argv.tmp {o}/argv\n",
        o = out.display()
    );
    write_script(&bin.join(name), &body);
}

/// An executable script at `p`.
fn write_script(p: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(p, body).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `DIR/bin` (for fake programs, put first in PATH) and `DIR/out` (what they record).
fn bin_and_out(dir: &Path) -> (PathBuf, PathBuf) {
    let (bin, out) = (dir.join("bin"), dir.join("out"));
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    (bin, out)
}

#[test]
fn psad_external_script_notify_send_line_runs_without_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let (bin, out) = bin_and_out(dir.path());
    recorder(&bin, "notify-send", &out);
    let psad = dir.path().join("psad.conf");
    std::fs::write(
        &psad,
        format!(
            "ALERTING_METHODS noemail nosyslog;\nENABLE_EXT_SCRIPT_EXEC Y;\n\
             EXEC_EXT_SCRIPT_PER_ALERT N;\nEXTERNAL_SCRIPT {NOTIFY_SEND_LINE};\n"
        ),
    )
    .unwrap();
    let log = dir.path().join("kern.log");
    append(&log, "");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let r = run(
        &[
            "--psad-conf",
            psad.to_str().unwrap(),
            "--file",
            log.to_str().unwrap(),
        ],
        &[("PATH", path)],
    );
    feed_until_alert(&r, &log, &scan_lines());
    let argv = wait_for("notify-send to run", 20, || {
        std::fs::read_to_string(out.join("argv")).ok()
    });
    // One argument a line, exactly as the guide's line splits (no shell, no globbing).
    assert_eq!(
        argv,
        "-t\n0\n-i\nICON\n-c\nnetwork\nFirewall Alert\nIntrusion detected from 198.51.100.10\n"
    );
    let env = std::fs::read_to_string(out.join("env")).unwrap();
    assert!(env.lines().any(|l| l == "DISPLAY=:0.0"), "{env}");
    assert!(
        env.lines()
            .any(|l| l == "XAUTHORITY=/home/USER/.Xauthority"),
        "{env}"
    );
    assert!(env.lines().any(|l| l == "SRCIP=198.51.100.10"), "{env}");
}

#[test]
fn native_script_gets_argv_env_and_json_and_hostile_text_stays_data() {
    let dir = tempfile::tempdir().unwrap();
    let (bin, out) = bin_and_out(dir.path());
    recorder(&bin, "on-alert", &out);
    let pwned = dir.path().join("pwned");
    let cfg = dir.path().join("tripline.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[alerts]
alert-all = false
[[script]]
command = [{exe:?}, "--src", "$(touch {p})", "`touch {p}`", "; rm -rf {p}"]
env = {{ TEAM = "ops" }}
per = "source"
timeout = "10s"
"#,
            exe = bin.join("on-alert").display().to_string(),
            p = pwned.display()
        ),
    )
    .unwrap();
    // Real scan lines whose log prefix and syslog hostname carry shell syntax.
    let host = format!("fw$(touch${{IFS}}{})", pwned.display());
    let prefix = format!(
        "DROP;`touch {}`;$(touch {})",
        pwned.display(),
        pwned.display()
    );
    let lines: Vec<String> = scan_lines()
        .into_iter()
        .map(|l| {
            l.replacen(" fw1 ", &format!(" {host} "), 1)
                .replacen("IN_DROP", &prefix, 1)
        })
        .collect();
    let log = dir.path().join("kern.log");
    append(&log, "");
    let r = run(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--file",
            log.to_str().unwrap(),
        ],
        &[],
    );
    let alert = feed_until_alert(&r, &log, &lines);
    assert_eq!(alert["prefixes"][0]["prefix"], prefix.as_str());
    let argv = wait_for("the script to run", 20, || {
        std::fs::read_to_string(out.join("argv")).ok()
    });
    assert_eq!(
        argv.lines().collect::<Vec<_>>(),
        [
            "--src".to_string(),
            format!("$(touch {})", pwned.display()),
            format!("`touch {}`", pwned.display()),
            format!("; rm -rf {}", pwned.display()),
        ]
    );
    let env = std::fs::read_to_string(out.join("env")).unwrap();
    for want in [
        "SRCIP=198.51.100.10".to_string(),
        "DSTIP=198.51.100.1".to_string(),
        "DL=1".to_string(),
        "SCAN_TYPE=tcp-syn".to_string(),
        "TEAM=ops".to_string(),
        format!("LOG_PREFIX={prefix}"),
        format!("SYSLOG_HOST={host}"),
    ] {
        assert!(env.lines().any(|l| l == want), "missing {want} in\n{env}");
    }
    let stdin: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("stdin")).unwrap()).unwrap();
    assert_eq!(stdin["src"], "198.51.100.10");
    assert_eq!(stdin["syslog_hostnames"][0], host.as_str());
    assert!(!pwned.exists(), "a shell ran attacker text");
}

#[test]
fn webhooks_json_ntfy_slack_and_a_failing_endpoint_does_not_delay_email() {
    let dir = tempfile::tempdir().unwrap();
    let http = dir.path().join("http");
    let mail = dir.path().join("mail");
    std::fs::create_dir_all(&http).unwrap();
    std::fs::create_dir_all(&mail).unwrap();
    let (_web, wp) = py_peer("http_sink.py", &http);
    let (_smtp, sp) = py_peer("smtp_sink.py", &mail);
    let cfg = dir.path().join("tripline.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[alerts]
alert-all = false
[email]
to = ["admin@example.test"]
host = "127.0.0.1"
port = {sp}
tls = "none"
[lookups]
dns = false
whois = false
[[webhook]]
name = "hang"
url = "http://127.0.0.1:{wp}/hang"
timeout = 60
[[webhook]]
name = "fail"
url = "http://127.0.0.1:{wp}/fail"
retries = 2
backoff = "100ms"
[[webhook]]
url = "http://127.0.0.1:{wp}/ok/json"
[[webhook]]
url = "http://127.0.0.1:{wp}/ok/ntfy"
format = "ntfy"
[[webhook]]
url = "http://127.0.0.1:{wp}/ok/slack"
format = "slack"
[[webhook]]
url = "http://127.0.0.1:{wp}/ok/discord"
format = "discord"
[[webhook]]
url = "http://127.0.0.1:{wp}/ok/matrix/send/m.room.message"
format = "matrix"
"#
        ),
    )
    .unwrap();
    let log = dir.path().join("kern.log");
    append(&log, "");
    let r = run(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--file",
            log.to_str().unwrap(),
        ],
        &[],
    );
    // Only the first 5 lines: one alert (DL 1).
    let alert = feed_until_alert(&r, &log, &scan_lines()[..5]);
    let dl = alert["danger_level"].as_u64().unwrap();
    assert!(dl >= 1);
    // The hanging endpoint holds its request; email and the other hooks still arrive.
    wait_for("the hanging request", 20, || {
        dir.path().join("http/hang.started").exists().then_some(())
    });
    wait_for("the email", 20, || {
        files_with(&mail, ".eml").into_iter().next()
    });
    let one = |name: &str| -> serde_json::Value {
        let f = wait_for(name, 20, || {
            files_with(&http, ".json").into_iter().find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("{name}."))
            })
        });
        serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap()
    };
    let json = one("json");
    let a: serde_json::Value = serde_json::from_str(json["body"].as_str().unwrap()).unwrap();
    assert_eq!(a["src"], "198.51.100.10");
    assert_eq!(a["destinations"][0]["dst"], "198.51.100.1");
    let ntfy = one("ntfy");
    assert_eq!(
        ntfy["headers"]["Title"],
        format!("Firewall Alert: 198.51.100.10 (DL {dl})").as_str()
    );
    assert_eq!(ntfy["headers"]["Priority"], if dl == 1 { "2" } else { "3" });
    assert!(ntfy["body"].as_str().unwrap().starts_with(&format!(
        "Intrusion detected from 198.51.100.10 (DL {dl}): tcp-syn scan of 198.51.100.1"
    )));
    let slack = one("slack");
    let s: serde_json::Value = serde_json::from_str(slack["body"].as_str().unwrap()).unwrap();
    assert!(s["text"].as_str().unwrap().starts_with(&format!(
        "*Firewall Alert: 198.51.100.10 (DL {dl})*\nIntrusion"
    )));
    let discord = one("discord");
    let d: serde_json::Value = serde_json::from_str(discord["body"].as_str().unwrap()).unwrap();
    assert!(d["content"].as_str().unwrap().contains("198.51.100.10"));
    let matrix = one("matrix");
    assert_eq!(matrix["method"], "PUT");
    let m: serde_json::Value = serde_json::from_str(matrix["body"].as_str().unwrap()).unwrap();
    assert_eq!(m["msgtype"], "m.text");
    // The failing endpoint: first attempt plus 2 retries.
    let attempts = wait_for("3 attempts", 20, || {
        let t = std::fs::read_to_string(http.join("fail.log")).unwrap_or_default();
        (t.lines().count() >= 3).then_some(t)
    });
    let times: Vec<f64> = attempts.lines().map(|l| l.parse().unwrap()).collect();
    assert!(
        times[2] - times[1] >= times[1] - times[0],
        "backoff grows: {times:?}"
    );
}

/// A private session bus (a real `dbus-daemon --session`) with a notification
/// server that records each Notify call as a JSON line: (processes, bus address,
/// calls file).
fn session_bus(dir: &Path) -> ((Proc, Proc), String, PathBuf) {
    let bus = format!("unix:path={}", dir.join("bus").display());
    let mut dbus = Command::new("dbus-daemon");
    dbus.args(["--session", "--nofork", "--print-address=1"])
        .arg(format!("--address={bus}"));
    let (dbus, addr) = start_peer(dbus);
    let calls = dir.join("calls.jsonl");
    let mut srv = Command::new(PY);
    srv.arg(peers().join("notify_server.py"))
        .arg(&calls)
        .env("DBUS_SESSION_BUS_ADDRESS", &addr);
    let (srv, ready) = start_peer(srv);
    assert_eq!(ready, "ready");
    ((dbus, srv), addr, calls)
}

#[test]
fn notify_agent_shows_a_real_alert_on_the_session_bus_and_reconnects() {
    let dir = tempfile::tempdir().unwrap();
    let (_bus, addr, calls) = session_bus(dir.path());

    // The daemon, and the agent on its events socket.
    let log = dir.path().join("kern.log");
    append(&log, "");
    let cfg = dir.path().join("tripline.toml");
    std::fs::write(&cfg, "[alerts]\nalert-all = false\n").unwrap();
    let state = dir.path().join("state");
    let args = [
        "--config",
        cfg.to_str().unwrap(),
        "--file",
        log.to_str().unwrap(),
    ];
    let r = run_in(state.clone(), &args, &[]);
    let sock = r.state.join("events.sock");
    wait_for("the events socket", 20, || sock.exists().then_some(()));
    let _agent = Proc(
        tripline()
            .args(["notify", "--events-socket"])
            .arg(&sock)
            .env("DBUS_SESSION_BUS_ADDRESS", &addr)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_subscribed(&r.state);
    // Real scan lines: the first alert of 198.51.100.10 becomes a pop-up.
    let alert = feed_until_alert(&r, &log, &scan_lines());
    let rec = wait_for("the Notify call", 20, || {
        let t = std::fs::read_to_string(&calls).ok()?;
        t.lines()
            .next()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
    });
    assert_eq!(rec["summary"], "Firewall Alert");
    assert_eq!(rec["app"], "Tripline");
    let dl = alert["danger_level"].as_u64().unwrap();
    let (urgency, icon) = match dl {
        1 => (0, "security-low"),
        2 | 3 => (1, "security-medium"),
        _ => (2, "security-high"),
    };
    assert_eq!(rec["urgency"], urgency, "urgency from DL {dl}");
    assert_eq!(rec["icon"], icon);
    assert_eq!(rec["category"], "network");
    assert_eq!(
        rec["actions"],
        serde_json::json!(["default", "Details", "details", "Details"])
    );
    let body = rec["body"].as_str().unwrap();
    assert!(body.starts_with(&format!("Intrusion detected from 198.51.100.10\nDanger level: {dl}\nScan type: tcp-syn (nmap -sS or -sT)\nPorts: tcp ")), "{body}");
    assert!(body.contains("Target: 198.51.100.1"), "{body}");

    // The daemon restarts: the agent reconnects and shows the next scanner's alert.
    drop(r);
    let r = run_in(state, &args, &[]);
    wait_subscribed(&r.state);
    let second = feed_until_alert(&r, &log, &warmup_lines());
    assert_eq!(second["src"], "203.0.113.22");
    let rec = wait_for("the Notify call after the restart", 40, || {
        let t = std::fs::read_to_string(&calls).ok()?;
        t.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|r| r["body"].as_str().unwrap().contains("203.0.113.22"))
    });
    assert_eq!(rec["summary"], "Firewall Alert");

    // And a test server of our own proves urgency for DL 5 (critical).
    let own = dir.path().join("own.sock");
    let listener = UnixListener::bind(&own).unwrap();
    let _agent2 = Proc(
        tripline()
            .args(["notify", "--events-socket"])
            .arg(&own)
            .env("DBUS_SESSION_BUS_ADDRESS", &addr)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut conn = accept(&listener);
    let mut high = alert.clone();
    high["danger_level"] = 5.into();
    high["previous_danger_level"] = 3.into();
    writeln!(
        conn,
        "{}",
        serde_json::json!({"type": "event", "event": {}})
    )
    .unwrap();
    writeln!(
        conn,
        "{}",
        serde_json::json!({"type": "alert", "alert": high})
    )
    .unwrap();
    let rec = wait_for("the DL 5 Notify call", 30, || {
        let t = std::fs::read_to_string(&calls).ok()?;
        t.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|r| r["urgency"] == 2)
    });
    assert_eq!(rec["icon"], "security-high");
    assert!(rec["body"]
        .as_str()
        .unwrap()
        .contains("Danger level: 5 (was 3)"));
}

/// A fake program that appends each run's argv (then a `--END--` line) and stdin to
/// `argv.log` and `stdin.log`.
fn appending_recorder(bin: &Path, name: &str, out: &Path) {
    let body = format!(
        "#!/bin/sh\ncat >> {o}/stdin.log\nprintf '%s\\n' \"$@\" --END-- >> {o}/argv.log\n",
        o = out.display()
    );
    write_script(&bin.join(name), &body);
}

#[test]
fn psad_mail_command_gets_subject_addresses_and_body_and_the_limit_message() {
    // psad.conf's own way: `mailCmd -s SUBJECT ADDRESSES`, body on stdin; EMAIL_LIMIT 1
    // turns the second alert into the "limit reached" status message.
    let dir = tempfile::tempdir().unwrap();
    let (bin, out) = bin_and_out(dir.path());
    appending_recorder(&bin, "mail", &out);
    let psad = dir.path().join("psad.conf");
    std::fs::write(
        &psad,
        format!(
            "EMAIL_ADDRESSES admin@example.test, ops@example.test;\nALERTING_METHODS nosyslog;\n\
             EMAIL_LIMIT 1;\nALERT_ALL N;\nHOSTNAME fw-test;\nENABLE_DNS_LOOKUPS N;\n\
             ENABLE_WHOIS_LOOKUPS N;\nmailCmd {};\n",
            bin.join("mail").display()
        ),
    )
    .unwrap();
    let log = dir.path().join("kern.log");
    append(&log, "");
    let r = run(
        &[
            "--psad-conf",
            psad.to_str().unwrap(),
            "--file",
            log.to_str().unwrap(),
        ],
        &[],
    );
    feed_until_alert(&r, &log, &scan_lines());
    // The rest of the scan raises the level: the limit message replaces the next alert.
    append(&log, &scan_lines().concat());
    let log_text = wait_for("two mail runs", 20, || {
        let t = std::fs::read_to_string(out.join("argv.log")).ok()?;
        (t.matches("--END--").count() >= 2).then_some(t)
    });
    let runs: Vec<Vec<&str>> = log_text
        .split("--END--\n")
        .filter(|r| !r.is_empty())
        .map(|r| r.lines().collect())
        .collect();
    let args = &runs[0];
    assert_eq!(args[0], "-s");
    assert!(args[1].starts_with("[psad-alert] DL"), "{log_text}");
    assert!(
        args[1].contains(" src: 198.51.100.10 dst: 198.51.100.1"),
        "{log_text}"
    );
    assert_eq!(&args[2..], ["admin@example.test", "ops@example.test"]);
    let body = std::fs::read_to_string(out.join("stdin.log")).unwrap();
    assert!(
        body.contains("               Source: 198.51.100.10"),
        "{body}"
    );
    assert_eq!(
        runs[1][1],
        "[psad-status] reached email message limit for 198.51.100.10 on fw-test"
    );
    // Suppressed after that: exactly two mails for the whole scan.
    drop(r);
    let t = std::fs::read_to_string(out.join("argv.log")).unwrap();
    assert_eq!(t.matches("--END--").count(), 2, "{t}");
}

/// Starts `cmd` and waits (bounded) until its stderr says `ready`.
fn start_until_stderr(mut cmd: Command, ready: &'static str) -> Proc {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let err = child.stderr.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            if l.contains(ready) {
                let _ = tx.send(());
            }
        }
    });
    let p = Proc(child);
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{cmd:?} did not say {ready:?}"));
    p
}

#[test]
fn a_real_nmap_scan_between_namespaces_gives_an_email_with_rdns_and_whois() {
    use crate::netns::Lab;
    // Scanner 203.0.113.69 -> firewall 203.0.113.1 (nftables logs SYNs to NFLOG group
    // 8); the daemon, the SMTP server, dnsmasq and the whois servers all run inside the
    // firewall's namespace, on its own loopback.
    let lab = Lab::new(69);
    lab.nflog_syns(8);
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    let in_fw = |script: &str, arg: &Path| {
        let mut cmd = Lab::exec(&lab.fw, PY);
        cmd.arg(peers().join(script)).arg(arg);
        let (p, line) = start_peer(cmd);
        let port: u16 = line.strip_prefix("port ").unwrap().parse().unwrap();
        (p, port)
    };
    let (_smtp, smtp_port) = in_fw("smtp_sink.py", &mail);
    let (_whois, whois_port) = in_fw("whois_server.py", dir.path());
    let mut dns = Lab::exec(&lab.fw, "dnsmasq");
    dns.args([
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--listen-address=127.0.0.1",
        "--pid-file=",
        "--user=root",
        "--log-facility=-",
        "--port=5353",
        "--ptr-record=69.113.0.203.in-addr.arpa,nmap-box.example.test",
    ]);
    let _dns = start_until_stderr(dns, "started");
    let cfg = dir.path().join("tripline.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[alerts]
alert-all = false
[email]
to = ["admin@example.test"]
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
min-danger-level = 2
[lookups]
dns-server = "127.0.0.1:5353"
whois-server = "127.0.0.1:{whois_port}"
whois-timeout = 10
"#
        ),
    )
    .unwrap();
    let mut cmd = Lab::exec(&lab.fw, env!("CARGO_BIN_EXE_tripline"));
    cmd.args(["run", "--nflog", "8", "--state-dir"])
        .arg(dir.path().join("state"))
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::null());
    let _daemon = Proc(cmd.spawn().unwrap());
    // Rounds of 40 ports until the email is there (the daemon may still be starting
    // when the first probes are logged).
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut round = 0u16;
    let eml = loop {
        if let Some(f) = files_with(&mail, ".eml").into_iter().next() {
            break f;
        }
        assert!(
            Instant::now() < deadline,
            "no email for a real scan within 60 s"
        );
        let first = 1000 + round * 40;
        lab.syn_scan(&format!("{first}-{}", first + 39));
        round += 1;
        // Give this round up to 3 s to produce the email before scanning again.
        let round_end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < round_end && files_with(&mail, ".eml").is_empty() {
            std::thread::sleep(Duration::from_millis(25));
        }
    };
    let text = std::fs::read_to_string(eml).unwrap();
    // DL 2 or more (packets, or a signature on one of the ports).
    let subject = text
        .lines()
        .find(|l| l.starts_with("Subject: "))
        .unwrap()
        .to_string();
    let dl = subject
        .strip_prefix("Subject: [tripline-alert] DL")
        .and_then(|r| r.split(' ').next())
        .and_then(|d| d.parse::<u8>().ok())
        .unwrap_or_else(|| panic!("{subject}"));
    assert!(dl >= 2, "{subject}");
    assert!(
        subject.ends_with(" src: nmap-box.example.test dst: 203.0.113.1"),
        "{subject}"
    );
    let level = format!("         Danger level: [{dl}] (out of 5)");
    for want in [
        level.as_str(),
        "    Scanned TCP ports: [",
        "            TCP flags: [SYN: ",
        "Nmap: -sT or -sS]",
        "       iptables chain: INPUT (prefix \"TL_DROP\")",
        "               Source: 203.0.113.69",
        "                  DNS: nmap-box.example.test",
        "          Destination: 203.0.113.1",
        "   Total email alerts: ",
        "   Complete TCP range: [",
        "INPUT    wan0        tcp",
        "[+] Whois Information (source IP):",
        "inetnum:        203.0.113.69 - 203.0.113.69",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

/// The desktop acceptance with a real scan: nmap between namespaces, logged by
/// nftables to NFLOG, detected by the daemon inside the firewall namespace;
/// `tripline notify` (outside, on the daemon's events socket) shows the pop-up
/// on a private session bus whose notification server records the call.
#[test]
fn a_real_nmap_scan_between_namespaces_pops_up_on_the_session_bus() {
    use crate::netns::Lab;
    let lab = Lab::new(70);
    lab.nflog_syns(9);
    let dir = tempfile::tempdir().unwrap();
    let (_bus, addr, calls) = session_bus(dir.path());

    let cfg = dir.path().join("tripline.toml");
    std::fs::write(&cfg, "[alerts]\nalert-all = false\n").unwrap();
    let state = dir.path().join("state");
    let mut cmd = Lab::exec(&lab.fw, env!("CARGO_BIN_EXE_tripline"));
    cmd.args(["run", "--quiet", "--nflog", "9", "--state-dir"])
        .arg(&state)
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::null());
    let _daemon = Proc(cmd.spawn().unwrap());
    let sock = state.join("events.sock");
    wait_for("the events socket", 20, || sock.exists().then_some(()));
    let _agent = Proc(
        tripline()
            .args(["notify", "--events-socket"])
            .arg(&sock)
            .env("DBUS_SESSION_BUS_ADDRESS", &addr)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_subscribed(&state);
    // Rounds of 40 ports until the pop-up is there.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut round = 0u16;
    let shown = || {
        std::fs::read_to_string(&calls).ok().and_then(|t| {
            t.lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .find(|r| r["body"].as_str().unwrap_or("").contains("203.0.113.70"))
        })
    };
    let rec = loop {
        if let Some(rec) = shown() {
            break rec;
        }
        assert!(Instant::now() < deadline, "no pop-up within 60 s");
        let first = 1000 + round * 40;
        lab.syn_scan(&format!("{first}-{}", first + 39));
        round += 1;
        // Give this round up to 3 s to produce the pop-up before scanning again.
        let round_end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < round_end && shown().is_none() {
            std::thread::sleep(Duration::from_millis(25));
        }
    };
    assert_eq!(rec["summary"], "Firewall Alert");
    let body = rec["body"].as_str().unwrap();
    assert!(
        body.starts_with("Intrusion detected from 203.0.113.70\nDanger level: "),
        "{body}"
    );
    assert!(body.contains("Target: 203.0.113.1"), "{body}");
    assert!(rec["urgency"].as_u64().is_some_and(|u| u <= 2), "{rec}");
}

/// The alert history survives a restart: a source that alerted before is not
/// "new" again, and its alert count goes on (EMAIL_LIMIT keeps counting).
#[test]
fn a_restart_keeps_each_sources_alert_history() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let cfg = dir.path().join("tripline.toml");
    std::fs::write(&cfg, "[alerts]\nalert-all = false\n").unwrap();
    let log = dir.path().join("kern.log");
    append(&log, "");
    let args = [
        "--config",
        cfg.to_str().unwrap(),
        "--from-start",
        "--file",
        log.to_str().unwrap(),
    ];
    let lines = scan_lines();
    let r = run_in(state.clone(), &args, &[]);
    // The first alerts of 198.51.100.10, from the first lines of its scan.
    let mut fed = 0;
    let first = loop {
        assert!(fed < lines.len(), "no alert from the whole scan");
        append(&log, &lines[fed]);
        fed += 1;
        if let Ok(ev) = r.events.recv_timeout(Duration::from_millis(50)) {
            if ev["event"] == "alert" {
                break ev["alert"].clone();
            }
        }
    };
    assert_eq!(first["trigger"], "first", "{first}");
    let count = first["alerts_for_source"].as_u64().unwrap();
    // A clean stop saves the state, the alert history with it.
    let pid = r._child.0.id();
    crate::util::run_ok(Command::new("kill").args(["-TERM", &pid.to_string()]));
    wait_for("the daemon to stop", 20, || {
        r.events
            .recv_timeout(Duration::from_millis(100))
            .is_err_and(|e| e == std::sync::mpsc::RecvTimeoutError::Disconnected)
            .then_some(())
    });
    drop(r);
    let r = run_in(state, &args, &[]);
    append(&log, &lines[fed..].concat());
    let next = loop {
        let ev = r
            .events
            .recv_timeout(Duration::from_secs(20))
            .expect("an alert after the restart");
        if ev["event"] == "alert" {
            break ev["alert"].clone();
        }
    };
    assert_ne!(next["trigger"], "first", "{next}");
    assert!(
        next["alerts_for_source"].as_u64().unwrap() > count,
        "{next}"
    );
}

/// A CA and a certificate it signed for `localhost` and 127.0.0.1: (CA, cert, key) as PEM.
fn test_ca() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

/// SMTP with STARTTLS and with TLS from the first byte, to a relay whose certificate
/// an internal CA signed: delivered when `ca-file` names that CA, refused and counted
/// as failed when it does not (the certificate is really checked).
#[test]
fn email_over_starttls_and_tls_trusts_the_configured_ca_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_ca();
    let (ca_file, cert_file, key_file) = (
        dir.path().join("ca.pem"),
        dir.path().join("relay.pem"),
        dir.path().join("relay.key"),
    );
    std::fs::write(&ca_file, ca).unwrap();
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    for (mode, trusted) in [("starttls", true), ("tls", true), ("starttls", false)] {
        let case = dir.path().join(format!("{mode}-{trusted}"));
        let mail = case.join("mail");
        std::fs::create_dir_all(&mail).unwrap();
        let mut cmd = Command::new(PY);
        cmd.arg(peers().join("smtp_sink.py"))
            .arg(&mail)
            .arg(mode)
            .arg(&cert_file)
            .arg(&key_file);
        let (_smtp, line) = start_peer(cmd);
        let port: u16 = line.strip_prefix("port ").unwrap().parse().unwrap();
        let ca_line = if trusted {
            format!("ca-file = {:?}", ca_file.to_str().unwrap())
        } else {
            String::new()
        };
        let cfg = case.join("tripline.toml");
        std::fs::write(
            &cfg,
            format!(
                "[email]\nto = [\"admin@example.test\"]\nfrom = \"tripline@example.test\"\n\
                 host = \"localhost\"\nport = {port}\ntls = \"{mode}\"\nmin-danger-level = 1\n\
                 {ca_line}\n[lookups]\ndns = false\nwhois = false\n"
            ),
        )
        .unwrap();
        let log = case.join("kern.log");
        append(&log, "");
        let state = case.join("state");
        let r = run_in(
            state.clone(),
            &[
                "--config",
                cfg.to_str().unwrap(),
                "--file",
                log.to_str().unwrap(),
            ],
            &[],
        );
        feed_until_alert(&r, &log, &warmup_lines());
        if trusted {
            let eml = wait_for("the email over TLS", 30, || {
                files_with(&mail, ".eml").into_iter().next()
            });
            let text = std::fs::read_to_string(eml).unwrap();
            assert!(text.contains("Subject: [tripline-alert]"), "{mode}: {text}");
        } else {
            let failed = wait_for("the failed delivery to be counted", 30, || {
                let out = tripline()
                    .args(["status", "--json", "--state-dir"])
                    .arg(&state)
                    .output()
                    .ok()?;
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
                let email = v["daemon"]["alerts"]["channels"]
                    .as_array()?
                    .iter()
                    .find(|c| c["name"] == "email")?
                    .clone();
                (email["failed"].as_u64()? >= 1).then_some(email)
            });
            assert_eq!(failed["sent"], 0, "{failed}");
            assert!(files_with(&mail, ".eml").is_empty());
        }
    }
}
