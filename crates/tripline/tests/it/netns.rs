//! A two-namespace lab for live-source tests: a firewall (`wan0`,
//! 203.0.113.1/24, 2001:db8:113::1/64) and a scanner (`eth0`) joined by a
//! veth pair created inside the namespaces, so the root namespace and its
//! firewall are never touched. Namespaces are unique per test and removed
//! on drop, with every process still inside them.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// The firewall's address.
pub const FW4: &str = "203.0.113.1";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Two namespaces and the link between them.
pub struct Lab {
    /// The firewall namespace.
    pub fw: String,
    /// The scanner namespace.
    pub sc: String,
    /// The scanner's IPv4 address.
    pub sc4: String,
}

/// Run a command, panicking with its stderr on failure.
pub fn must(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ip(args: &[&str]) {
    must(Command::new("ip").args(args));
}

impl Lab {
    /// A firewall and a scanner whose address is `203.0.113.<host>`.
    pub fn new(host: u8) -> Lab {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let base = format!("tl{}-{n}", std::process::id());
        let lab = Lab {
            fw: format!("{base}-fw"),
            sc: format!("{base}-sc"),
            sc4: format!("203.0.113.{host}"),
        };
        for ns in [&lab.fw, &lab.sc] {
            ip(&["netns", "add", ns]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        ip(&[
            "-n", &lab.fw, "link", "add", "wan0", "type", "veth", "peer", "name", "eth0", "netns",
            &lab.sc,
        ]);
        ip(&[
            "-n",
            &lab.fw,
            "addr",
            "add",
            "203.0.113.1/24",
            "dev",
            "wan0",
        ]);
        ip(&[
            "-n",
            &lab.fw,
            "addr",
            "add",
            "2001:db8:113::1/64",
            "dev",
            "wan0",
            "nodad",
        ]);
        let sc4 = format!("{}/24", lab.sc4);
        ip(&["-n", &lab.sc, "addr", "add", &sc4, "dev", "eth0"]);
        let sc6 = format!("2001:db8:113::{host}/64");
        ip(&["-n", &lab.sc, "addr", "add", &sc6, "dev", "eth0", "nodad"]);
        ip(&["-n", &lab.fw, "link", "set", "wan0", "up"]);
        ip(&["-n", &lab.sc, "link", "set", "eth0", "up"]);
        lab
    }

    /// `ip netns exec NS PROGRAM`.
    pub fn exec(ns: &str, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, program]);
        c
    }

    /// Apply an nftables ruleset in the firewall namespace.
    pub fn nft(&self, ruleset: &str) {
        let file = std::env::temp_dir().join(format!("{}.nft", self.fw));
        std::fs::write(&file, ruleset).unwrap();
        must(Self::exec(&self.fw, "nft").arg("-f").arg(&file));
        let _ = std::fs::remove_file(file);
    }

    /// nftables hands the SYNs arriving on wan0 to NFLOG `group` (prefix
    /// "TL_DROP ") and drops them.
    pub fn nflog_syns(&self, group: u16) {
        self.nft(&format!(
            r#"table inet tl {{
                 chain input {{
                   type filter hook input priority 0; policy accept;
                   iifname "wan0" tcp flags & (syn | ack) == syn log group {group} prefix "TL_DROP " drop
                 }}
               }}"#
        ));
    }

    /// One iptables rule in the firewall namespace.
    pub fn iptables(&self, rule: &[&str]) {
        must(Self::exec(&self.fw, "iptables").args(rule));
    }

    /// A SYN scan of `ports` on the firewall from the scanner.
    pub fn syn_scan(&self, ports: &str) {
        must(Self::exec(&self.sc, "nmap").args([
            "-n",
            "-Pn",
            "-sS",
            "-T5",
            "--max-retries",
            "0",
            "-p",
            ports,
            FW4,
        ]));
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.fw, &self.sc] {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// `net.netfilter.nf_log_all_netns=1` (LOG inside a namespace needs it)
/// while any guard lives, across test processes; the first value is
/// restored when the last guard drops.
pub struct LogAllNetns;

const SYSCTL: &str = "/proc/sys/net/netfilter/nf_log_all_netns";
const STATE: &str = "/tmp/tripline-test-nf_log_all_netns";

fn locked<T>(f: impl FnOnce() -> T) -> T {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open("/tmp/tripline-test-nf_log_all_netns.lock")
        .unwrap();
    let _lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .unwrap();
    f()
}

impl LogAllNetns {
    /// Turn it on (counted).
    pub fn enable() -> LogAllNetns {
        locked(|| {
            let (users, old) = match std::fs::read_to_string(STATE) {
                Ok(s) => {
                    let mut it = s.split_whitespace();
                    let users: u32 = it.next().unwrap().parse().unwrap();
                    (users, it.next().unwrap().to_string())
                }
                Err(_) => (
                    0,
                    std::fs::read_to_string(SYSCTL).unwrap().trim().to_string(),
                ),
            };
            std::fs::write(SYSCTL, "1").unwrap();
            std::fs::write(STATE, format!("{} {old}", users + 1)).unwrap();
        });
        LogAllNetns
    }
}

impl Drop for LogAllNetns {
    fn drop(&mut self) {
        locked(|| {
            let Ok(s) = std::fs::read_to_string(STATE) else {
                return;
            };
            let mut it = s.split_whitespace();
            let users: u32 = it.next().and_then(|u| u.parse().ok()).unwrap_or(1);
            let old = it.next().unwrap_or("0").to_string();
            if users <= 1 {
                let _ = std::fs::write(SYSCTL, old);
                let _ = std::fs::remove_file(STATE);
            } else {
                let _ = std::fs::write(STATE, format!("{} {old}", users - 1));
            }
        });
    }
}
