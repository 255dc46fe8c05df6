//! Network namespaces for tests with real kernels: a firewall namespace `fw` linked by
//! veth pairs to a scanner `scan` and a client `cli`, torn down by `Drop` on every exit
//! path; a `/dev/kmsg` tap that forwards the firewall's log lines (unique prefix) to a
//! pipe; `nf_log_all_netns` switched on while a lab lives (`netns::LogAllNetns`).
//! Addresses: 198.51.100.0/28 and 2001:db8:1::/64 (scanner side), 203.0.113.0/28 and
//! 2001:db8:2::/64 (client side).

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Firewall address on the scanner side.
pub const FW4: &str = "198.51.100.1";
/// Firewall IPv6 address on the scanner side.
pub const FW6: &str = "2001:db8:1::1";
/// Scanner.
pub const SCAN4: &str = "198.51.100.2";
/// Scanner, IPv6.
pub const SCAN6: &str = "2001:db8:1::2";
/// Firewall address on the client side.
pub const FWC4: &str = "203.0.113.1";
/// Firewall IPv6 address on the client side.
pub const FWC6: &str = "2001:db8:2::1";
/// Client (safelisted in the tests' configuration).
pub const CLI4: &str = "203.0.113.2";
/// Client, IPv6.
pub const CLI6: &str = "2001:db8:2::2";
/// The open port in the firewall namespace.
pub const PORT: u16 = 8080;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Runs a command and returns its output (never through a shell).
pub fn cmd(prog: &str, args: &[&str]) -> Output {
    Command::new(prog)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {prog}: {e}"))
}

/// Runs and requires success.
pub fn must(prog: &str, args: &[&str]) -> String {
    let o = cmd(prog, args);
    assert!(
        o.status.success(),
        "{prog} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// True when this process may create namespaces (root with `ip` and `nft`).
pub fn available() -> bool {
    let root = cmd("id", &["-u"]).stdout.starts_with(b"0");
    let ok = root && Command::new("ip").arg("-V").output().is_ok();
    if !ok {
        eprintln!("skipping: needs root and iproute2");
    }
    ok
}

/// Three namespaces; deleted on drop.
pub struct Lab {
    /// Unique tag (also the log prefix stem).
    pub tag: String,
    /// Firewall namespace name.
    pub fw: String,
    /// Scanner namespace name.
    pub scan: String,
    /// Client namespace name.
    pub cli: String,
    children: Vec<Child>,
    _log: crate::netns::LogAllNetns,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in [&self.fw, &self.scan, &self.cli] {
            let _ = cmd("ip", &["netns", "del", n]);
        }
    }
}

impl Lab {
    /// Creates and links the namespaces.
    pub fn new() -> Lab {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let tag = format!("tl{}x{n}", std::process::id() % 100_000);
        let lab = Lab {
            fw: format!("{tag}-fw"),
            scan: format!("{tag}-scan"),
            cli: format!("{tag}-cli"),
            tag,
            children: Vec::new(),
            _log: crate::netns::LogAllNetns::enable(),
        };
        for ns in [&lab.fw, &lab.scan, &lab.cli] {
            must("ip", &["netns", "add", ns]);
            must("ip", &["-n", ns, "link", "set", "lo", "up"]);
        }
        for (peer, ifc, fw4, p4, fw6, p6) in [
            (&lab.scan, "eths", FW4, SCAN4, FW6, SCAN6),
            (&lab.cli, "ethc", FWC4, CLI4, FWC6, CLI6),
        ] {
            must(
                "ip",
                &[
                    "-n", &lab.fw, "link", "add", ifc, "type", "veth", "peer", "name", "eth0",
                    "netns", peer,
                ],
            );
            for (ns, dev, a4, a6) in [(&lab.fw, ifc, fw4, fw6), (peer, "eth0", p4, p6)] {
                must(
                    "ip",
                    &["-n", ns, "addr", "add", &format!("{a4}/28"), "dev", dev],
                );
                must(
                    "ip",
                    &[
                        "-n",
                        ns,
                        "addr",
                        "add",
                        &format!("{a6}/64"),
                        "dev",
                        dev,
                        "nodad",
                    ],
                );
                must("ip", &["-n", ns, "link", "set", dev, "up"]);
            }
        }
        // Spoofed sources arrive on the "wrong" interface: no reverse-path filter.
        for key in [
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0",
            "net.ipv4.conf.ethc.rp_filter=0",
            "net.ipv4.conf.eths.rp_filter=0",
            // Let forged local sources (LAND) reach INPUT instead of dying as martians.
            "net.ipv4.conf.eths.accept_local=1",
        ] {
            must("ip", &["netns", "exec", &lab.fw, "sysctl", "-qw", key]);
        }
        lab
    }

    /// The log prefix of this lab's firewall rules (unique per test).
    pub fn prefix(&self) -> String {
        format!("{}D ", self.tag)
    }

    /// Runs in a namespace.
    pub fn exec(&self, ns: &str, prog: &str, args: &[&str]) -> Output {
        let mut a = vec!["netns", "exec", ns, prog];
        a.extend(args);
        cmd("ip", &a)
    }

    /// 60 SYNs from the scanner namespace to the firewall, forged as coming from
    /// `src`, to ports `first`.. (hping3 exits 1 when nothing answers, as here:
    /// the firewall drops them; what it printed tells they were sent).
    pub fn forge_syns(&self, src: &str, first: u16) {
        let ports = format!("++{first}");
        let o = self.exec(
            &self.scan,
            "hping3",
            &[
                "-q", "-S", "-a", src, "-p", &ports, "--count", "60", "-i", "u2000", FW4,
            ],
        );
        let said = String::from_utf8_lossy(&o.stdout) + String::from_utf8_lossy(&o.stderr);
        assert!(said.contains("60 packets transmitted"), "{said}");
    }

    /// Runs in a namespace and requires success.
    pub fn must(&self, ns: &str, prog: &str, args: &[&str]) -> String {
        let o = self.exec(ns, prog, args);
        assert!(
            o.status.success(),
            "{prog} {args:?} in {ns}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Feeds a tool its input on stdin in a namespace (iptables-restore, nft -f -).
    pub fn feed(&self, ns: &str, prog: &str, args: &[&str], input: &str) {
        let mut a = vec!["netns", "exec", ns, prog];
        a.extend(args);
        let mut c = Command::new("ip")
            .args(&a)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let o = c.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "{prog} {args:?} in {ns}: {}\n{input}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// An nftables policy in the firewall: drop by default, log first, port 8080 open.
    pub fn nft_policy(&self) {
        let rules = format!(
            "table inet filter {{\n chain input {{ type filter hook input priority 0; policy drop;\n\
             iif lo accept\n ct state established,related accept\n meta l4proto ipv6-icmp accept\n\
             tcp dport {PORT} accept\n log prefix \"{}\"\n }}\n}}\n",
            self.prefix()
        );
        self.feed(&self.fw, "nft", &["-f", "-"], &rules);
    }

    /// The same policy with iptables and ip6tables LOG rules.
    pub fn ipt_policy(&self) {
        for (tool, icmp) in [
            ("iptables-restore", "icmp"),
            ("ip6tables-restore", "ipv6-icmp"),
        ] {
            let rules = format!(
                "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n\
                 -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n\
                 -A INPUT -p {icmp} -j ACCEPT\n-A INPUT -p tcp --dport {PORT} -j ACCEPT\n\
                 -A INPUT -j LOG --log-prefix \"{}\"\nCOMMIT\n",
                self.prefix()
            );
            self.feed(&self.fw, tool, &[], &rules);
        }
    }

    /// Starts an HTTP server on both families in the firewall namespace and waits for it.
    pub fn serve(&mut self) {
        let c = Command::new("ip")
            .args(["netns", "exec", &self.fw, "python3", "-m", "http.server"])
            .args([&PORT.to_string(), "--bind", "::"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children.push(c);
        let cli = self.cli.clone();
        wait_until("the HTTP server answers", Duration::from_secs(20), || {
            self.connects(&cli, FWC4)
        });
    }

    /// True if a TCP connection from `ns` to `addr`:8080 succeeds within a second.
    pub fn connects(&self, ns: &str, addr: &str) -> bool {
        let script = std::env::temp_dir().join("tripline-connect.py");
        if !script.exists() {
            let tmp = std::env::temp_dir().join(format!("tripline-connect.{}.py", self.tag));
            std::fs::write(
                &tmp,
                "import socket, sys\nsocket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()\n",
            )
            .unwrap();
            let _ = std::fs::rename(&tmp, &script);
        }
        self.exec(
            ns,
            "python3",
            &[script.to_str().unwrap(), addr, &PORT.to_string()],
        )
        .status
        .success()
    }
}

/// Polls `cond` until true; panics after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Forwards kernel log records holding `prefix` from `/dev/kmsg` to `out` until dropped.
pub struct KmsgTap {
    stop: Arc<AtomicBool>,
}

impl Drop for KmsgTap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl KmsgTap {
    /// Starts at the end of the kernel log.
    pub fn start(prefix: String, mut out: ChildStdin) -> KmsgTap {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let mut f = std::fs::File::open("/dev/kmsg").expect("open /dev/kmsg");
        f.seek(SeekFrom::End(0)).expect("seek /dev/kmsg");
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 8192];
            while !s.load(Ordering::SeqCst) {
                // One record a read; EPIPE when records were overwritten: go on.
                let n = match f.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) if e.raw_os_error() == Some(32) => continue,
                    Err(_) => return,
                };
                let rec = String::from_utf8_lossy(&buf[..n]);
                if rec.contains(&prefix) && out.write_all(rec.as_bytes()).is_err() {
                    return;
                }
            }
        });
        KmsgTap { stop }
    }
}

/// JSON lines of a child's stdout, on a channel.
pub fn json_lines(out: impl Read + Send + 'static) -> Receiver<serde_json::Value> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if let Ok(v) = serde_json::from_str(&line) {
                if tx.send(v).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// Waits for an event for which `pred` holds; returns it.
pub fn wait_event(
    rx: &Receiver<serde_json::Value>,
    what: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(v) if pred(&v) => return v,
            Ok(_) => {}
            Err(_) => panic!("no {what} within 30 s"),
        }
    }
}
