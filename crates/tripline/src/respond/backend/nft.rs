//! nftables: Tripline's own `inet` table with timeout sets and drop rules in the
//! configured hooks. Single addresses go in the hash sets `v4`/`v6`, networks in the
//! interval sets `net4`/`net6` (`flags interval, timeout`): nft 1.0.6 handles interval
//! sets in user space at a quadratic cost (10 000 hosts: 27 s into an interval set,
//! 0.12 s into a hash set). Every change is one `nft -f -` transaction; elements carry
//! the kernel timeout, so blocks lapse even if Tripline is gone.

use super::{exec, exec_ok, net_text, Backend, Op};
use anyhow::Result;
use std::collections::HashMap;
use std::fmt::Write as _;
use tripline_core::config::blocking::{BackendKind, BlockingConfig, Hook};
use tripline_core::net::IpNet;

/// The nftables backend.
pub struct Nft {
    table: String,
    hooks: Vec<Hook>,
}

impl Nft {
    /// From the settings (table name and hooks).
    pub fn new(cfg: &BlockingConfig) -> Nft {
        Nft {
            table: cfg.table.clone(),
            hooks: cfg.hooks.clone(),
        }
    }

    fn exists(&self) -> bool {
        exec("nft", &["list", "table", "inet", &self.table], None).is_ok_and(|o| o.ok)
    }

    /// The table definition (sets and chains).
    fn definition(&self) -> String {
        let mut s = format!("table inet {} {{\n", self.table);
        s.push_str("  set v4 { type ipv4_addr; flags timeout; }\n");
        s.push_str("  set v6 { type ipv6_addr; flags timeout; }\n");
        s.push_str("  set net4 { type ipv4_addr; flags interval, timeout; }\n");
        s.push_str("  set net6 { type ipv6_addr; flags interval, timeout; }\n");
        for h in &self.hooks {
            let _ = writeln!(
                s,
                "  chain {h} {{ type filter hook {h} priority filter - 10; policy accept;",
                h = h.as_str()
            );
            let dirs: &[&str] = match h {
                Hook::Input => &["saddr"],
                Hook::Output => &["daddr"],
                Hook::Forward => &["saddr", "daddr"],
            };
            for d in dirs {
                for (fam, set) in [("ip", "v4"), ("ip", "net4"), ("ip6", "v6"), ("ip6", "net6")] {
                    let _ = writeln!(s, "    {fam} {d} @{set} drop");
                }
            }
            s.push_str("  }\n");
        }
        s.push_str("}\n");
        s
    }

    /// The set an element belongs in.
    fn set_of(net: IpNet) -> &'static str {
        match (net.addr.is_ipv4(), net.prefix) {
            (true, 32) => "v4",
            (true, _) => "net4",
            (false, 128) => "v6",
            (false, _) => "net6",
        }
    }

    /// An element as nft wants it: hash sets take bare addresses.
    fn elem(net: IpNet) -> String {
        match Nft::set_of(net) {
            "v4" | "v6" => net.addr.to_string(),
            _ => net_text(net),
        }
    }

    /// The batch for `ops` (the last op on a network wins). Deleting an element that is
    /// not there fails a whole nft transaction, so every touched element is first added
    /// (a no-op when present), then deleted, then the blocked ones are added again with
    /// their timeout, which also re-arms a renewal. One command per set and step.
    pub fn script(&self, ops: &[Op]) -> String {
        let mut last: Vec<(IpNet, Option<u64>)> = Vec::with_capacity(ops.len());
        let mut index: HashMap<IpNet, usize> = HashMap::with_capacity(ops.len());
        for op in ops {
            let (net, add) = match *op {
                Op::Add { net, timeout_secs } => (net, Some(timeout_secs)),
                Op::Del { net } => (net, None),
            };
            match index.get(&net) {
                Some(&i) => last[i].1 = add,
                None => {
                    index.insert(net, last.len());
                    last.push((net, add));
                }
            }
        }
        let mut s = String::with_capacity(ops.len() * 60);
        let t = &self.table;
        for set in ["v4", "v6", "net4", "net6"] {
            let mine: Vec<&(IpNet, Option<u64>)> = last
                .iter()
                .filter(|(n, _)| Nft::set_of(*n) == set)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let all = mine
                .iter()
                .map(|(n, _)| Nft::elem(*n))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(s, "add element inet {t} {set} {{ {all} }}");
            let _ = writeln!(s, "delete element inet {t} {set} {{ {all} }}");
            let adds = mine
                .iter()
                .filter_map(|(n, a)| {
                    a.map(|secs| match secs {
                        0 => Nft::elem(*n),
                        _ => format!("{} timeout {secs}s", Nft::elem(*n)),
                    })
                })
                .collect::<Vec<_>>();
            if !adds.is_empty() {
                let _ = writeln!(s, "add element inet {t} {set} {{ {} }}", adds.join(", "));
            }
        }
        s
    }
}

impl Backend for Nft {
    fn kind(&self) -> BackendKind {
        BackendKind::Nftables
    }

    fn setup(&mut self, fresh: bool) -> Result<()> {
        if !fresh && self.exists() {
            return Ok(());
        }
        // `table` then `delete table` makes the delete safe when it does not exist; all
        // in one transaction, so there is no instant without the table when it did.
        let script = format!(
            "table inet {t}\ndelete table inet {t}\n{def}",
            t = self.table,
            def = self.definition()
        );
        exec_ok("nft", &["-f", "-"], Some(&script))?;
        Ok(())
    }

    fn intact(&mut self) -> Result<bool> {
        let out = exec("nft", &["list", "table", "inet", &self.table], None)?;
        let has = |what: &str| out.stdout.lines().any(|l| l.trim_start().starts_with(what));
        Ok(out.ok
            && ["set v4 ", "set v6 ", "set net4 ", "set net6 "]
                .iter()
                .all(|s| has(s))
            && self
                .hooks
                .iter()
                .all(|h| has(&format!("chain {} ", h.as_str()))))
    }

    fn apply(&mut self, ops: &[Op]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        match exec_ok("nft", &["-f", "-"], Some(&self.script(ops))) {
            Ok(_) => Ok(()),
            // One bad element (say, an interval overlapping another) must not cost the
            // others: retry one by one and report what still fails.
            Err(e) if ops.len() > 1 => {
                let mut errors = Vec::new();
                for op in ops {
                    if let Err(e) = exec_ok("nft", &["-f", "-"], Some(&self.script(&[*op]))) {
                        errors.push(format!("{op:?}: {e:#}"));
                    }
                }
                if errors.is_empty() {
                    Ok(())
                } else {
                    anyhow::bail!("{e:#}; one by one: {}", errors.join("; "))
                }
            }
            Err(e) => Err(e),
        }
    }

    fn flush(&mut self) -> Result<()> {
        if self.exists() {
            exec_ok("nft", &["delete", "table", "inet", &self.table], None)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_readds_and_rearms() {
        let n = Nft::new(&BlockingConfig::default());
        let s = n.script(&[
            Op::Add {
                net: "198.51.100.7".parse().unwrap(),
                timeout_secs: 30,
            },
            Op::Add {
                net: "198.51.100.8".parse().unwrap(),
                timeout_secs: 0,
            },
            Op::Add {
                net: "2001:db8::/64".parse().unwrap(),
                timeout_secs: 5,
            },
            Op::Del {
                net: "2001:db8::/64".parse().unwrap(),
            },
        ]);
        assert_eq!(
            s,
            "add element inet tripline v4 { 198.51.100.7, 198.51.100.8 }\n\
             delete element inet tripline v4 { 198.51.100.7, 198.51.100.8 }\n\
             add element inet tripline v4 { 198.51.100.7 timeout 30s, 198.51.100.8 }\n\
             add element inet tripline net6 { 2001:db8::/64 }\n\
             delete element inet tripline net6 { 2001:db8::/64 }\n"
        );
        let d = n.definition();
        assert!(d.contains("chain forward"), "{d}");
        assert!(d.contains("ip6 daddr @net6 drop"), "{d}");
    }
}
