//! nftables: Tripline's own `inet` table with `v4`/`v6` sets (`flags interval, timeout`)
//! and drop rules in the configured hooks. Every change is one `nft -f -` transaction;
//! elements carry the kernel timeout, so blocks lapse even if Tripline is gone.

use super::{exec, exec_ok, net_text, Backend, Op};
use anyhow::Result;
use std::fmt::Write as _;
use tripline_core::config::blocking::{BackendKind, BlockingConfig, Hook};

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
        s.push_str("  set v4 { type ipv4_addr; flags interval, timeout; }\n");
        s.push_str("  set v6 { type ipv6_addr; flags interval, timeout; }\n");
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
                let _ = writeln!(s, "    ip {d} @v4 drop");
                let _ = writeln!(s, "    ip6 {d} @v6 drop");
            }
            s.push_str("  }\n");
        }
        s.push_str("}\n");
        s
    }

    /// The batch for `ops`. Deleting an element that is not there fails a whole nft
    /// transaction, so each element is first added (a no-op when present), then deleted,
    /// then added again with its timeout: that also re-arms the timeout of a renewal.
    pub fn script(&self, ops: &[Op]) -> String {
        let mut s = String::with_capacity(ops.len() * 120);
        for op in ops {
            let (net, add) = match *op {
                Op::Add { net, timeout_secs } => (net, Some(timeout_secs)),
                Op::Del { net } => (net, None),
            };
            let set = if net.addr.is_ipv4() { "v4" } else { "v6" };
            let n = net_text(net);
            let t = &self.table;
            let _ = writeln!(s, "add element inet {t} {set} {{ {n} }}");
            let _ = writeln!(s, "delete element inet {t} {set} {{ {n} }}");
            match add {
                Some(0) => {
                    let _ = writeln!(s, "add element inet {t} {set} {{ {n} }}");
                }
                Some(secs) => {
                    let _ = writeln!(s, "add element inet {t} {set} {{ {n} timeout {secs}s }}");
                }
                None => {}
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
            Op::Del {
                net: "2001:db8::/64".parse().unwrap(),
            },
        ]);
        assert_eq!(
            s,
            "add element inet tripline v4 { 198.51.100.7/32 }\n\
             delete element inet tripline v4 { 198.51.100.7/32 }\n\
             add element inet tripline v4 { 198.51.100.7/32 timeout 30s }\n\
             add element inet tripline v6 { 2001:db8::/64 }\n\
             delete element inet tripline v6 { 2001:db8::/64 }\n"
        );
        let d = n.definition();
        assert!(d.contains("chain forward"), "{d}");
        assert!(d.contains("ip6 daddr @v6 drop"), "{d}");
    }
}
