//! `Config::dump`: the effective configuration as `KEY value` lines (`tripline config dump`).
//!
//! psad variables come first, sorted by name, with the typed fields rendered back into
//! psad syntax so the dump shows what the engine uses even if the shell changed a field
//! after loading. Tripline-only settings and the auto_dl table follow.

use super::{Config, NetList, PortRange};
use std::collections::BTreeMap;
use std::fmt::Write as _;

fn yn(b: bool) -> String {
    if b { "Y" } else { "N" }.to_string()
}

fn net_list(n: &NetList) -> String {
    match n {
        NetList::Any => "any".to_string(),
        NetList::Nets(v) => v
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn none_or(items: Vec<String>) -> String {
    if items.is_empty() {
        "NONE".to_string()
    } else {
        items.join(", ")
    }
}

fn port_range(r: &PortRange) -> String {
    if r.lo == r.hi {
        format!("{}/{}", r.proto, r.lo)
    } else {
        format!("{}/{}-{}", r.proto, r.lo, r.hi)
    }
}

/// Keeps one dump line on one line: control characters are shown escaped.
fn clean(v: &str) -> String {
    if v.chars().any(char::is_control) {
        v.escape_debug().to_string()
    } else {
        v.to_string()
    }
}

impl Config {
    /// The effective configuration as text: `KEY value` lines, psad variables sorted by
    /// name (values after `$VAR` expansion), then Tripline-only settings, then the auto_dl
    /// table in evaluation order. `#` lines are section headers.
    pub fn dump(&self) -> String {
        let mut vars: BTreeMap<String, String> = self.vars.clone();
        let mut set = |k: &str, v: String| {
            vars.insert(k.to_string(), v);
        };
        for i in 0..5 {
            set(
                &format!("DANGER_LEVEL{}", i + 1),
                self.danger_levels[i].to_string(),
            );
            set(
                &format!("DL{}_UNIQUE_HOSTS", i + 1),
                self.unique_hosts[i].to_string(),
            );
        }
        set(
            "PORT_RANGE_SCAN_THRESHOLD",
            self.port_range_scan_threshold.to_string(),
        );
        set(
            "PORT_RANGE_SWEEP_THRESHOLD",
            self.port_range_sweep_threshold.to_string(),
        );
        set(
            "PROTOCOL_SCAN_THRESHOLD",
            self.protocol_scan_threshold.to_string(),
        );
        set("MIN_DANGER_LEVEL", self.min_danger_level.to_string());
        set("HOME_NET", net_list(&self.home_net));
        set("EXTERNAL_NET", net_list(&self.external_net));
        set("FW_SEARCH_ALL", yn(self.fw_search_all));
        set("SNORT_SID_STR", self.snort_sid_str.clone());
        set(
            "IGNORE_PORTS",
            none_or(self.ignore_ports.iter().map(port_range).collect()),
        );
        set(
            "IGNORE_PROTOCOLS",
            none_or(
                self.ignore_protocols
                    .iter()
                    .map(|p| p.to_string())
                    .collect(),
            ),
        );
        set("IGNORE_INTERFACES", none_or(self.ignore_interfaces.clone()));
        set(
            "IGNORE_LOG_PREFIXES",
            self.ignore_log_prefixes
                .clone()
                .unwrap_or_else(|| "NONE".to_string()),
        );
        set(
            "IGNORE_CONNTRACK_BUG_PKTS",
            yn(self.ignore_conntrack_bug_pkts),
        );
        set("ENABLE_IPV6_DETECTION", yn(self.enable_ipv6_detection));
        set("ENABLE_PERSISTENCE", yn(self.enable_persistence));
        set("SCAN_TIMEOUT", self.scan_timeout_secs.to_string());
        set("MAX_SCAN_IP_PAIRS", self.max_scan_ip_pairs.to_string());
        set("EXPECT_TCP_OPTIONS", yn(self.expect_tcp_options));
        set("MAX_HOPS", self.max_hops.to_string());
        set("ALERT_ALL", yn(self.alert_all));
        set(
            "EMAIL_ALERT_DANGER_LEVEL",
            self.email_alert_danger_level.to_string(),
        );
        set("STATUS_IP_THRESHOLD", self.status_ip_threshold.to_string());
        set(
            "STATUS_PORTS_THRESHOLD",
            self.status_ports_threshold.to_string(),
        );
        set(
            "STATUS_SIGS_THRESHOLD",
            self.status_sigs_threshold.to_string(),
        );
        set("CHECK_INTERVAL", self.check_interval_secs.to_string());
        set("ENABLE_INTF_LOCAL_NETS", yn(self.enable_intf_local_nets));
        vars.remove("FW_MSG_SEARCH");

        let mut out = String::new();
        out.push_str("# psad variables (effective values)\n");
        for (k, v) in &vars {
            if k.as_str() > "FW_MSG_SEARCH" && !out.contains("\nFW_MSG_SEARCH ") {
                for s in &self.fw_msg_search {
                    let _ = writeln!(out, "{:<30} {}", "FW_MSG_SEARCH", clean(s));
                }
            }
            let _ = writeln!(out, "{:<30} {}", k, clean(v));
        }
        out.push_str("# Tripline settings\n");
        let tripline = [
            ("icmp-validation", self.icmp_validation),
            ("icmp6-validation", self.icmp6_validation),
            ("psad-compat", self.psad_compat),
            ("signature-matching", self.signatures_enabled),
        ];
        for (k, v) in tripline {
            let _ = writeln!(out, "{:<30} {}", k, yn(v));
        }
        let _ = writeln!(out, "{:<30} {}", "max-sources", self.max_sources);
        let d = &self.daemon;
        if d.sources_set {
            for f in &d.files {
                let _ = writeln!(out, "{:<30} file {}", "source", clean(f));
            }
            if d.kmsg {
                let _ = writeln!(out, "{:<30} kmsg", "source");
            }
            if d.journal {
                let _ = writeln!(out, "{:<30} journal", "source");
            }
            for g in &d.nflog {
                let _ = writeln!(out, "{:<30} nflog {g}", "source");
            }
        } else {
            let _ = writeln!(out, "{:<30} automatic", "source");
        }
        for (k, v) in [
            ("state-dir", &d.state_dir),
            ("socket", &d.socket),
            ("events-socket", &d.events_socket),
            ("events-group", &d.events_group),
        ] {
            if let Some(v) = v {
                let _ = writeln!(out, "{:<30} {}", k, clean(v));
            }
        }
        // Active response: the keys psad.conf has no variable for.
        let b = &self.blocking;
        let nets = |v: &[crate::net::IpNet]| {
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let hooks: Vec<&str> = b.hooks.iter().map(|h| h.as_str()).collect();
        for (k, v) in [
            ("blocking.backend", b.backend.as_str().to_string()),
            ("blocking.safelist", nets(&b.safelist)),
            (
                "blocking.ipv6-prefix",
                b.ipv6_prefix
                    .map_or("per address".into(), |p| format!("/{p}")),
            ),
            ("blocking.max-per-minute", b.max_per_minute.to_string()),
            ("blocking.dry-run", yn(b.dry_run).to_string()),
            ("blocking.table", clean(&b.table)),
            ("blocking.hooks", hooks.join(", ")),
            ("blocking.check-interval", format!("{}s", b.check_interval)),
        ] {
            let _ = writeln!(out, "{:<30} {}", k, v);
        }
        let _ = writeln!(
            out,
            "# auto_dl ({} entries, evaluation order)",
            self.auto_dl.len()
        );
        for e in &self.auto_dl.entries {
            let _ = writeln!(out, "{:<30} {}", "auto-dl", e);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_dump_lists_everything_sorted() {
        let d = Config::default().dump();
        let keys: Vec<&str> = d
            .lines()
            .take_while(|l| !l.starts_with("# Tripline"))
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys.len(), 211);
        assert!(d.contains("\nHOME_NET                       any\n"));
        assert!(d.contains("\nFW_MSG_SEARCH                  DROP\n"));
        assert!(d.contains("\nHTTP_SERVERS                   any\n"));
        assert!(d.contains("\nSHELLCODE_PORTS                !80\n"));
        assert!(d.contains("\nPSAD_DIR                       /var/log/psad\n"));
        assert!(d.contains("\npsad-compat                    N\n"));
        assert!(d.contains("# auto_dl (0 entries"));
    }
}
