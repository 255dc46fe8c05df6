//! The configuration model: one validated `Config`, lowered from psad.conf or tripline.toml.
//!
//! The shell reads files; this module only turns text into values. Two front-ends feed one
//! variable table keyed by psad's names ([`ConfigBuilder`]): [`psad_conf`] (psad's own
//! `NAME VALUE;` syntax) and [`toml`] (Tripline's `tripline.toml`). The table is expanded
//! (`$VAR`), validated and lowered into a [`Config`]; the auto_dl file is parsed separately
//! ([`AutoDl::parse`]) because its host names need the shell's resolver.
//!
//! ```
//! use tripline_core::config::ConfigBuilder;
//! let mut b = ConfigBuilder::new();
//! b.add_psad_conf("psad.conf", "HOME_NET 198.51.100.0/24;\nDANGER_LEVEL1 3;\n")?;
//! let loaded = b.build()?;
//! assert_eq!(loaded.config.danger_levels[0], 3);
//! assert_eq!(loaded.config.vars["HTTP_SERVERS"], "198.51.100.0/24");
//! # Ok::<(), tripline_core::config::ConfigError>(())
//! ```

pub mod alerting;
pub mod auto_dl;
pub mod blocking;
mod daemon;
mod dump;
mod error;
mod lower;
pub mod psad_conf;
pub mod toml;
mod vars;

use crate::net::IpNet;
use crate::packet::Proto;
use std::collections::BTreeMap;

pub use auto_dl::{AutoDl, AutoDlParsed, UnresolvedHost};
pub use daemon::DaemonConfig;
pub use error::{ConfigError, ConfigErrorKind, ConfigWarning};
pub use lower::{ConfigBuilder, Loaded};
pub use psad_conf::PsadConf;
pub use toml::TomlConfig;

/// Default cap on tracked sources: about 200 MB of state at worst.
pub const DEFAULT_MAX_SOURCES: u64 = 1_000_000;

/// A `tcp/N-M` / `udp/N` port range from `IGNORE_PORTS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// Protocol the range applies to (tcp or udp).
    pub proto: Proto,
    /// Low port, inclusive.
    pub lo: u16,
    /// High port, inclusive.
    pub hi: u16,
}

/// `HOME_NET` / `EXTERNAL_NET`: `any` or a list of networks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NetList {
    /// Every address.
    #[default]
    Any,
    /// These networks.
    Nets(Vec<IpNet>),
}

/// Everything the detection engine needs, with psad 2.4.6's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Reproduce psad 2.4.6's bugs (spec Appendix A) instead of the fixed behaviour.
    pub psad_compat: bool,
    /// `DANGER_LEVEL1..5`: packets per pair for DL 1..5.
    pub danger_levels: [u64; 5],
    /// `DL1..5_UNIQUE_HOSTS`: destinations per source for DL 1..5.
    pub unique_hosts: [u64; 5],
    /// `PORT_RANGE_SCAN_THRESHOLD`.
    pub port_range_scan_threshold: u32,
    /// `PORT_RANGE_SWEEP_THRESHOLD`.
    pub port_range_sweep_threshold: u32,
    /// `PROTOCOL_SCAN_THRESHOLD`.
    pub protocol_scan_threshold: u32,
    /// `MIN_DANGER_LEVEL`.
    pub min_danger_level: u8,
    /// `HOME_NET`.
    pub home_net: NetList,
    /// `EXTERNAL_NET`.
    pub external_net: NetList,
    /// `FW_SEARCH_ALL`.
    pub fw_search_all: bool,
    /// `FW_MSG_SEARCH` (every occurrence), regexes matched against the whole line.
    pub fw_msg_search: Vec<String>,
    /// `SNORT_SID_STR`.
    pub snort_sid_str: String,
    /// `IGNORE_PORTS`.
    pub ignore_ports: Vec<PortRange>,
    /// `IGNORE_PROTOCOLS`.
    pub ignore_protocols: Vec<Proto>,
    /// `IGNORE_INTERFACES`.
    pub ignore_interfaces: Vec<String>,
    /// `IGNORE_LOG_PREFIXES` as a regex, `None` for `NONE`.
    pub ignore_log_prefixes: Option<String>,
    /// `IGNORE_CONNTRACK_BUG_PKTS`.
    pub ignore_conntrack_bug_pkts: bool,
    /// `ENABLE_IPV6_DETECTION`.
    pub enable_ipv6_detection: bool,
    /// `ENABLE_PERSISTENCE`.
    pub enable_persistence: bool,
    /// `SCAN_TIMEOUT` in seconds.
    pub scan_timeout_secs: u64,
    /// `MAX_SCAN_IP_PAIRS` (0 = unlimited).
    pub max_scan_ip_pairs: u64,
    /// `detection.max-sources` (Tripline): sources tracked at most (0 = unlimited);
    /// beyond it the least dangerous, longest-quiet sources are evicted.
    pub max_sources: u64,
    /// `[sources]` and `[daemon]` (Tripline).
    pub daemon: DaemonConfig,
    /// `EXPECT_TCP_OPTIONS` (Masscan marker).
    pub expect_tcp_options: bool,
    /// `MAX_HOPS` for TTL matching in fingerprints.
    pub max_hops: u8,
    /// ICMP type/code validation (`--no-icmp-types` turns it off).
    pub icmp_validation: bool,
    /// ICMPv6 type/code validation.
    pub icmp6_validation: bool,
    /// Signature matching (`--no-signatures` turns it off).
    pub signatures_enabled: bool,
    /// The optional TRW detector (TOML `[trw]`), `None` when off.
    pub trw: Option<crate::engine::TrwConfig>,
    /// `ALERT_ALL`.
    pub alert_all: bool,
    /// `EMAIL_ALERT_DANGER_LEVEL`.
    pub email_alert_danger_level: u8,
    /// `CHECK_INTERVAL` in seconds (psad's main-loop interval).
    pub check_interval_secs: u64,
    /// `ENABLE_INTF_LOCAL_NETS`: the shell replaces `home_net` with the connected subnets
    /// (psad does this outside `-A` mode, spec §2.8).
    pub enable_intf_local_nets: bool,
    /// `STATUS_IP_THRESHOLD`, `STATUS_PORTS_THRESHOLD`, `STATUS_SIGS_THRESHOLD` (report sizes).
    pub status_ip_threshold: u32,
    /// See `status_ip_threshold`.
    pub status_ports_threshold: u32,
    /// See `status_ip_threshold`.
    pub status_sigs_threshold: u32,
    /// Every variable after `$VAR` expansion (psad.conf names), for signature `$VAR`s,
    /// later subsystems and `config dump`.
    pub vars: BTreeMap<String, String>,
    /// The auto_dl table.
    pub auto_dl: AutoDl,
    /// Alerts: policy and channels (`config::alerting`).
    pub alerting: alerting::AlertingConfig,
    /// Active response (`ENABLE_AUTO_IDS`..., TOML `[blocking]`).
    pub blocking: blocking::BlockingConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            psad_compat: false,
            danger_levels: [5, 15, 150, 1500, 10000],
            unique_hosts: [10, 20, 50, 100, 500],
            port_range_scan_threshold: 1,
            port_range_sweep_threshold: 0,
            protocol_scan_threshold: 5,
            min_danger_level: 1,
            home_net: NetList::Any,
            external_net: NetList::Any,
            fw_search_all: true,
            fw_msg_search: vec!["DROP".to_string()],
            snort_sid_str: "SID".to_string(),
            ignore_ports: Vec::new(),
            ignore_protocols: Vec::new(),
            ignore_interfaces: Vec::new(),
            ignore_log_prefixes: None,
            ignore_conntrack_bug_pkts: true,
            enable_ipv6_detection: true,
            enable_persistence: false,
            scan_timeout_secs: 3600,
            max_scan_ip_pairs: 0,
            max_sources: DEFAULT_MAX_SOURCES,
            daemon: DaemonConfig::default(),
            expect_tcp_options: true,
            max_hops: 20,
            icmp_validation: true,
            icmp6_validation: true,
            signatures_enabled: true,
            trw: None,
            alert_all: true,
            email_alert_danger_level: 1,
            status_ip_threshold: 25,
            status_ports_threshold: 20,
            status_sigs_threshold: 50,
            check_interval_secs: 5,
            enable_intf_local_nets: true,
            // psad's defaults (spec §7.11), expanded, so signatures find `$HOME_NET` etc.
            // and `config dump` shows the full effective configuration.
            vars: vars::default_vars(),
            auto_dl: AutoDl::default(),
            alerting: alerting::lower(
                &vars::default_vars(),
                &alerting::AlertingToml::default(),
                false,
                false,
            )
            .unwrap_or_default(),
            blocking: blocking::BlockingConfig::default(),
        }
    }
}

impl Config {
    /// The value of a psad variable (after `$VAR` expansion), e.g. `var("SIGS_FILE")`.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// A Y/N variable as a bool (`None` if unset or not Y/N).
    pub fn var_bool(&self, name: &str) -> Option<bool> {
        match self.var(name)? {
            "Y" => Some(true),
            "N" => Some(false),
            _ => None,
        }
    }

    /// Path of the signatures file (`SIGS_FILE`, TOML `files.signatures`).
    pub fn sigs_file(&self) -> &str {
        self.var("SIGS_FILE").unwrap_or("/etc/psad/signatures")
    }

    /// Path of the auto_dl file (`AUTO_DL_FILE`, TOML `files.auto-dl`).
    pub fn auto_dl_file(&self) -> &str {
        self.var("AUTO_DL_FILE").unwrap_or("/etc/psad/auto_dl")
    }
}

#[cfg(test)]
mod tests;
