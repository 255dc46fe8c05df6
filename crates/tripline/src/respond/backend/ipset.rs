//! ipset: `hash:net` sets `<table>4` (inet) and `<table>6` (inet6) created with
//! `timeout 0` so each element carries its own timeout, matched by one iptables or
//! ip6tables rule per hook. Changes go in with one `ipset restore`.

use super::{exec, exec_ok, net_text, Backend, Op};
use anyhow::Result;
use std::fmt::Write as _;
use tripline_core::config::blocking::{BackendKind, BlockingConfig, Hook};

/// The ipset backend.
pub struct Ipset {
    stem: String,
    hooks: Vec<Hook>,
}

impl Ipset {
    /// From the settings (`table` is the set name stem).
    pub fn new(cfg: &BlockingConfig) -> Ipset {
        Ipset {
            stem: cfg.table.clone(),
            hooks: cfg.hooks.clone(),
        }
    }

    fn set(&self, v6: bool) -> String {
        format!("{}{}", self.stem, if v6 { 6 } else { 4 })
    }

    /// (tool, set, chain, src|dst) for every match rule we own.
    fn rules(&self) -> Vec<(&'static str, String, &'static str, &'static str)> {
        let mut v = Vec::new();
        for (tool, v6) in [("iptables", false), ("ip6tables", true)] {
            for h in &self.hooks {
                let (chain, dirs): (&str, &[&str]) = match h {
                    Hook::Input => ("INPUT", &["src"]),
                    Hook::Output => ("OUTPUT", &["dst"]),
                    Hook::Forward => ("FORWARD", &["src", "dst"]),
                };
                for d in dirs {
                    v.push((tool, self.set(v6), chain, *d));
                }
            }
        }
        v
    }

    /// The `ipset restore` input for `ops`.
    pub fn script(&self, ops: &[Op]) -> String {
        let mut s = String::with_capacity(ops.len() * 48);
        for op in ops {
            match *op {
                // `-exist` on add updates the timeout of an element already there.
                Op::Add { net, timeout_secs } => {
                    let set = self.set(net.addr.is_ipv6());
                    let _ = writeln!(
                        s,
                        "add {set} {} timeout {timeout_secs} -exist",
                        net_text(net)
                    );
                }
                Op::Del { net } => {
                    let set = self.set(net.addr.is_ipv6());
                    let _ = writeln!(s, "del {set} {} -exist", net_text(net));
                }
            }
        }
        s
    }

    fn set_exists(&self, v6: bool) -> bool {
        exec("ipset", &["list", "-n", &self.set(v6)], None).is_ok_and(|o| o.ok)
    }
}

impl Backend for Ipset {
    fn kind(&self) -> BackendKind {
        BackendKind::Ipset
    }

    fn setup(&mut self, fresh: bool) -> Result<()> {
        let mut s = String::new();
        for (v6, family) in [(false, "inet"), (true, "inet6")] {
            let set = self.set(v6);
            let _ = writeln!(
                s,
                "create {set} hash:net family {family} timeout 0 maxelem 1048576 -exist"
            );
            if fresh {
                let _ = writeln!(s, "flush {set}");
            }
        }
        exec_ok("ipset", &["restore"], Some(&s))?;
        for (tool, set, chain, dir) in self.rules() {
            let spec = match_rule(&set, dir);
            let mut check = vec!["-w", "-C", chain];
            check.extend(spec);
            if !exec(tool, &check, None)?.ok {
                let mut ins = vec!["-w", "-I", chain, "1"];
                ins.extend(spec);
                exec_ok(tool, &ins, None)?;
            }
        }
        Ok(())
    }

    fn intact(&mut self) -> Result<bool> {
        let sets = exec("ipset", &["list", "-n"], None)?;
        if !sets.ok
            || ![false, true]
                .iter()
                .all(|&v6| sets.stdout.lines().any(|l| l.trim() == self.set(v6)))
        {
            return Ok(false);
        }
        for (tool, set, chain, dir) in self.rules() {
            let check = [&["-w", "-C", chain][..], &match_rule(&set, dir)].concat();
            if !exec(tool, &check, None)?.ok {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn apply(&mut self, ops: &[Op]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        exec_ok("ipset", &["restore"], Some(&self.script(ops)))?;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if super::tool_exists("iptables") {
            for (tool, set, chain, dir) in self.rules() {
                let del = [&["-w", "-D", chain][..], &match_rule(&set, dir)].concat();
                for _ in 0..100 {
                    if !exec(tool, &del, None)?.ok {
                        break;
                    }
                }
            }
        }
        if super::tool_exists("ipset") {
            for v6 in [false, true] {
                if self.set_exists(v6) {
                    exec_ok("ipset", &["destroy", &self.set(v6)], None)?;
                }
            }
        }
        Ok(())
    }
}

/// The match and target of the rule that drops a set's members (`dir`:
/// `src` or `dst`).
fn match_rule<'a>(set: &'a str, dir: &'a str) -> [&'a str; 7] {
    ["-m", "set", "--match-set", set, dir, "-j", "DROP"]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_lines() {
        let b = Ipset::new(&BlockingConfig::default());
        let s = b.script(&[
            Op::Add {
                net: "2001:db8::/64".parse().unwrap(),
                timeout_secs: 0,
            },
            Op::Del {
                net: "198.51.100.7".parse().unwrap(),
            },
        ]);
        assert_eq!(
            s,
            "add tripline6 2001:db8::/64 timeout 0 -exist\ndel tripline4 198.51.100.7/32 -exist\n"
        );
        assert_eq!(b.rules().len(), 8);
    }
}
