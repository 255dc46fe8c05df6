//! iptables/ip6tables: psad-compatible chains (`IPT_AUTO_CHAINn`, by default
//! PSAD_BLOCK_INPUT/OUTPUT/FORWARD jumped to from INPUT/OUTPUT/FORWARD). Rules go in with
//! one `iptables-restore --noflush` per family; expiry is the daemon's job.

use super::{exec, exec_ok, net_text, Backend, Op};
use anyhow::{bail, Result};
use std::collections::HashSet;
use std::fmt::Write as _;
use tripline_core::config::blocking::{BackendKind, BlockingConfig, Direction, IptChain};
use tripline_core::net::IpNet;

/// The iptables backend.
pub struct Iptables {
    chains: Vec<IptChain>,
    /// Networks with rules in our chains (read back at setup).
    present: HashSet<IpNet>,
}

/// The two families: (tool, restore tool, IPv6?).
const FAMILIES: [(&str, &str, bool); 2] = [
    ("iptables", "iptables-restore", false),
    ("ip6tables", "ip6tables-restore", true),
];

impl Iptables {
    /// From `IPT_AUTO_CHAINn`.
    pub fn new(cfg: &BlockingConfig) -> Iptables {
        Iptables {
            chains: cfg.ipt_chains.clone(),
            present: HashSet::new(),
        }
    }

    /// The rule specs (after the chain name) that block `net` for one chain config.
    fn specs(c: &IptChain, net: IpNet) -> Vec<String> {
        let n = net_text(net);
        let mut v = Vec::new();
        if matches!(c.direction, Direction::Src | Direction::Both) {
            v.push(format!("-s {n} -j {}", c.target));
        }
        if matches!(c.direction, Direction::Dst | Direction::Both) {
            v.push(format!("-d {n} -j {}", c.target));
        }
        v
    }

    /// The `iptables-restore --noflush` input for one family.
    pub fn script(&self, ops: &[Op], v6: bool, present: &mut HashSet<IpNet>) -> String {
        let mut tables: Vec<&str> = self.chains.iter().map(|c| c.table.as_str()).collect();
        tables.dedup();
        let mut s = String::new();
        for table in tables {
            let mut body = String::new();
            for op in ops {
                let (net, add) = match *op {
                    Op::Add { net, .. } => (net, true),
                    Op::Del { net } => (net, false),
                };
                if net.addr.is_ipv6() != v6 {
                    continue;
                }
                // iptables would add a duplicate rule, and fail on deleting a missing one.
                if add == present.contains(&net) {
                    continue;
                }
                for c in self.chains.iter().filter(|c| c.table == table) {
                    for spec in Iptables::specs(c, net) {
                        if add {
                            let _ = writeln!(body, "-I {} {} {spec}", c.to_chain, c.rule_position);
                        } else {
                            let _ = writeln!(body, "-D {} {spec}", c.to_chain);
                        }
                    }
                }
            }
            if !body.is_empty() {
                let _ = write!(s, "*{table}\n{body}COMMIT\n");
            }
        }
        for op in ops {
            match *op {
                Op::Add { net, .. } if net.addr.is_ipv6() == v6 => {
                    present.insert(net);
                }
                Op::Del { net } if net.addr.is_ipv6() == v6 => {
                    present.remove(&net);
                }
                _ => {}
            }
        }
        s
    }

    fn in_kernel(&self, net: IpNet) -> bool {
        let tool = if net.addr.is_ipv6() {
            "ip6tables"
        } else {
            "iptables"
        };
        self.chains.iter().any(|c| {
            Iptables::specs(c, net).iter().any(|spec| {
                let mut args = vec!["-w", "-t", &c.table, "-C", &c.to_chain];
                args.extend(spec.split(' '));
                exec(tool, &args, None).is_ok_and(|o| o.ok)
            })
        })
    }

    fn chain_exists(tool: &str, table: &str, chain: &str) -> bool {
        exec(tool, &["-w", "-t", table, "-S", chain], None).is_ok_and(|o| o.ok)
    }

    /// Reads back the networks our chains already block (`-A CHAIN -s X/len -j ...`).
    fn read_present(&mut self, tool: &str, c: &IptChain) {
        let Ok(out) = exec(tool, &["-w", "-t", &c.table, "-S", &c.to_chain], None) else {
            return;
        };
        for line in out.stdout.lines() {
            let mut w = line.split_whitespace();
            while let Some(t) = w.next() {
                if t == "-s" || t == "-d" {
                    if let Some(n) = w.next().and_then(|x| x.parse().ok()) {
                        self.present.insert(n);
                    }
                }
            }
        }
    }
}

impl Backend for Iptables {
    fn kind(&self) -> BackendKind {
        BackendKind::Iptables
    }

    fn intact(&mut self) -> Result<bool> {
        for (tool, _, v6) in FAMILIES {
            if v6 && !super::tool_exists(tool) {
                continue;
            }
            for c in &self.chains {
                // A chain setup skipped (its parent is missing) is not expected.
                if !Iptables::chain_exists(tool, &c.table, &c.from_chain) {
                    continue;
                }
                let jump = ["-w", "-t", &c.table, "-C", &c.from_chain, "-j", &c.to_chain];
                if !Iptables::chain_exists(tool, &c.table, &c.to_chain)
                    || !exec(tool, &jump, None)?.ok
                {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    fn setup(&mut self, fresh: bool) -> Result<()> {
        self.present.clear();
        let mut made = 0;
        for (tool, _, v6) in FAMILIES {
            if v6 && !super::tool_exists(tool) {
                continue;
            }
            for c in &self.chains.clone() {
                if !Iptables::chain_exists(tool, &c.table, &c.from_chain) {
                    // psad skips such an entry too (mrash/psad#70).
                    eprintln!(
                        "tripline: warning: {tool}: chain {} does not exist in table {}, skipping {}",
                        c.from_chain, c.table, c.to_chain
                    );
                    continue;
                }
                if !Iptables::chain_exists(tool, &c.table, &c.to_chain) {
                    exec_ok(tool, &["-w", "-t", &c.table, "-N", &c.to_chain], None)?;
                } else if fresh {
                    exec_ok(tool, &["-w", "-t", &c.table, "-F", &c.to_chain], None)?;
                } else {
                    self.read_present(tool, c);
                }
                let jump = ["-w", "-t", &c.table, "-C", &c.from_chain, "-j", &c.to_chain];
                if !exec(tool, &jump, None)?.ok {
                    let pos = c.jump_position.to_string();
                    exec_ok(
                        tool,
                        &[
                            "-w",
                            "-t",
                            &c.table,
                            "-I",
                            &c.from_chain,
                            &pos,
                            "-j",
                            &c.to_chain,
                        ],
                        None,
                    )?;
                }
                made += 1;
            }
        }
        if made == 0 {
            bail!("no IPT_AUTO_CHAIN entry could be set up");
        }
        Ok(())
    }

    fn apply(&mut self, ops: &[Op]) -> Result<()> {
        // A removal of a block this process did not add (the CLI's, or one left by a
        // previous run): ask the kernel whether its rule is there.
        for op in ops {
            if let Op::Del { net } = *op {
                if !self.present.contains(&net) && self.in_kernel(net) {
                    self.present.insert(net);
                }
            }
        }
        for (tool, restore, v6) in FAMILIES {
            let mut present = std::mem::take(&mut self.present);
            let script = self.script(ops, v6, &mut present);
            self.present = present;
            if script.is_empty() {
                continue;
            }
            exec_ok(restore, &["-w", "--noflush"], Some(&script))
                .map_err(|e| e.context(format!("{tool} block rules")))?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        for (tool, _, v6) in FAMILIES {
            if !super::tool_exists(tool) || (v6 && !super::tool_exists("ip6tables")) {
                continue;
            }
            for c in &self.chains {
                let t = c.table.as_str();
                let jump = ["-w", "-t", t, "-D", &c.from_chain, "-j", &c.to_chain];
                // Remove every jump we (or psad) inserted, however many.
                for _ in 0..100 {
                    if !exec(tool, &jump, None)?.ok {
                        break;
                    }
                }
                if Iptables::chain_exists(tool, t, &c.to_chain) {
                    exec_ok(tool, &["-w", "-t", t, "-F", &c.to_chain], None)?;
                    exec_ok(tool, &["-w", "-t", t, "-X", &c.to_chain], None)?;
                }
            }
        }
        self.present.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_script_per_family_without_duplicates() {
        let b = Iptables::new(&BlockingConfig::default());
        let mut present = HashSet::new();
        let a: IpNet = "198.51.100.7".parse().unwrap();
        let ops = [
            Op::Add {
                net: a,
                timeout_secs: 5,
            },
            Op::Add {
                net: "2001:db8::1".parse().unwrap(),
                timeout_secs: 5,
            },
        ];
        let s = b.script(&ops, false, &mut present);
        assert_eq!(
            s,
            "*filter\n-I PSAD_BLOCK_INPUT 1 -s 198.51.100.7/32 -j DROP\n\
             -I PSAD_BLOCK_OUTPUT 1 -d 198.51.100.7/32 -j DROP\n\
             -I PSAD_BLOCK_FORWARD 1 -s 198.51.100.7/32 -j DROP\n\
             -I PSAD_BLOCK_FORWARD 1 -d 198.51.100.7/32 -j DROP\nCOMMIT\n"
        );
        assert_eq!(
            b.script(&ops[..1], false, &mut present),
            "",
            "already there"
        );
        let d = b.script(&[Op::Del { net: a }], false, &mut present);
        assert!(d.starts_with("*filter\n-D PSAD_BLOCK_INPUT -s 198.51.100.7/32 -j DROP\n"));
        assert_eq!(b.script(&[Op::Del { net: a }], false, &mut present), "");
    }
}
