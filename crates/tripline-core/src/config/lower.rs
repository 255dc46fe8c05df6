//! `ConfigBuilder`: merges front-ends (first definition wins), fills psad's defaults,
//! expands `$VAR`s, validates every value and lowers the result into a [`Config`].
//!
//! Validation is by variable name, so psad.conf and tripline.toml share it: the TOML
//! front-end hands over psad-named values with TOML origins.

use super::error::{ConfigError, ConfigErrorKind, ConfigWarning, Origin};
use super::psad_conf::{Assignment, PsadConf};
use super::toml::{TomlConfig, TriplineSettings};
use super::vars::{self, ExpandError, Kind};
use super::{Config, NetList, PortRange};
use crate::net::IpNet;
use crate::packet::Proto;
use std::collections::BTreeMap;

/// A loaded configuration plus the problems that did not stop loading.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The validated configuration (auto_dl still empty; see [`super::AutoDl::parse`]).
    pub config: Config,
    /// Warnings, in the order found.
    pub warnings: Vec<ConfigWarning>,
}

/// Collects configuration sources and builds one [`Config`].
///
/// Add sources **highest precedence first**: the first definition of a variable wins,
/// as in psad, where override files (`-O a,b`) are read before the main file. The usual
/// order is: `tripline.toml`, then psad.conf overrides in command-line order, then the
/// main psad.conf (the one TOML `files.psad-conf` names, or `-c`).
///
/// Exceptions: `FW_MSG_SEARCH` may appear many times; all values of the first source that
/// has any are used. Unlike psad (main file only), overrides may set `FW_MSG_SEARCH` and
/// `FW_SEARCH_ALL` like any other variable.
///
/// Mandatory variables are **not** required: psad dies when one of its ~200 required
/// variables is missing; we fill in psad 2.4.6's default instead, so a psad.conf holding
/// only the lines that differ from the defaults is valid.
#[derive(Debug, Clone, Default)]
pub struct ConfigBuilder {
    vars: BTreeMap<String, (String, Origin)>,
    fw_msg_search: Option<Vec<(String, Origin)>>,
    tripline: TriplineSettings,
    warnings: Vec<ConfigWarning>,
    psad_conf: bool,
}

impl ConfigBuilder {
    /// An empty builder: building it gives psad's defaults.
    pub fn new() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Parses psad.conf text (see [`PsadConf::parse`]) and adds it.
    pub fn add_psad_conf(&mut self, file: &str, text: &str) -> Result<&mut Self, ConfigError> {
        let conf = PsadConf::parse(file, text)?;
        Ok(self.add_parsed_psad_conf(&conf))
    }

    /// Adds an already parsed psad.conf.
    pub fn add_parsed_psad_conf(&mut self, conf: &PsadConf) -> &mut Self {
        self.warnings.extend(conf.warnings.iter().cloned());
        self.add_assignments(&conf.assignments);
        self.psad_conf = true;
        self
    }

    /// Adds a parsed `tripline.toml` (its `[files] psad-conf` is not read here: the shell
    /// reads that file and adds it afterwards with [`ConfigBuilder::add_psad_conf`]).
    pub fn add_toml(&mut self, conf: &TomlConfig) -> &mut Self {
        self.add_assignments(&conf.assignments);
        self.tripline.fill_from(&conf.tripline);
        self
    }

    fn add_assignments(&mut self, assignments: &[Assignment]) {
        let mut msg_search: Vec<(String, Origin)> = Vec::new();
        for a in assignments {
            if a.name == "FW_MSG_SEARCH" {
                msg_search.push((a.value.clone(), a.origin.clone()));
            }
            self.vars
                .entry(a.name.clone())
                .or_insert_with(|| (a.value.clone(), a.origin.clone()));
        }
        if self.fw_msg_search.is_none() && !msg_search.is_empty() {
            self.fw_msg_search = Some(msg_search);
        }
    }

    /// Fills defaults, expands `$VAR`s, validates and lowers into a [`Config`].
    pub fn build(&self) -> Result<Loaded, ConfigError> {
        let mut warnings = self.warnings.clone();
        let mut origins: BTreeMap<String, Origin> = BTreeMap::new();
        let mut raw: BTreeMap<String, String> = BTreeMap::new();
        for (name, (value, origin)) in &self.vars {
            let mut value = value.clone();
            // psad turns a HOME_NET containing CHANGEME into `any` (spec §2.8). It does so
            // after signatures took the raw text; we do it before expansion so `$HOME_NET`
            // users (HTTP_SERVERS...) see `any` too.
            if (name == "HOME_NET" || name == "EXTERNAL_NET") && value.contains("CHANGEME") {
                warnings.push(ConfigWarning::at(
                    origin,
                    "contains CHANGEME, using \"any\" (as psad does)",
                ));
                value = "any".to_string();
            }
            raw.insert(name.clone(), value);
            origins.insert(name.clone(), origin.clone());
        }
        for (name, value) in vars::PSAD_DEFAULTS {
            if !raw.contains_key(*name) {
                raw.insert(name.to_string(), value.to_string());
                origins.insert(name.to_string(), Origin::default_for(name));
            }
        }
        let origin_of = |name: &str| {
            origins
                .get(name)
                .cloned()
                .unwrap_or_else(|| Origin::default_for(name))
        };

        check_refs(&raw, &self.vars, &origin_of)?;
        let mut vars = raw;
        vars::expand(&mut vars).map_err(|e| expand_error(e, &origin_of))?;

        // Per-kind validation; Y/N values are normalised.
        for (name, value) in vars.iter_mut() {
            let origin = origin_of(name);
            match vars::kind_of(name) {
                Kind::Bool => {
                    let b = parse_bool(value).ok_or_else(|| {
                        invalid(&origin, value, "expected Y or N (YES/NO also accepted)")
                    })?;
                    if !matches!(value.as_str(), "Y" | "N") {
                        warnings.push(ConfigWarning::at(
                            &origin,
                            format!(
                                "{value:?} read as {} (psad itself only compares with Y or N)",
                                yn(b)
                            ),
                        ));
                    }
                    *value = yn(b).to_string();
                }
                Kind::UInt(lo, hi) => {
                    parse_uint(value, lo, hi).map_err(|m| invalid(&origin, value, &m))?;
                }
                Kind::Text => {}
            }
        }

        let mut cfg = Config::default();
        let get = |name: &str| vars.get(name).map(String::as_str).unwrap_or("");
        let num = |name: &str| -> u64 {
            // Validated above (every numeric name has a default, so it is present).
            get(name).parse().unwrap_or(0)
        };
        let flag = |name: &str| get(name) == "Y";
        let narrow = |name: &str| -> u32 { u32::try_from(num(name)).unwrap_or(u32::MAX) };
        let small = |name: &str| -> u8 { u8::try_from(num(name)).unwrap_or(u8::MAX) };

        for i in 0..5 {
            cfg.danger_levels[i] = num(&format!("DANGER_LEVEL{}", i + 1));
            cfg.unique_hosts[i] = num(&format!("DL{}_UNIQUE_HOSTS", i + 1));
        }
        cfg.port_range_scan_threshold = narrow("PORT_RANGE_SCAN_THRESHOLD");
        cfg.port_range_sweep_threshold = narrow("PORT_RANGE_SWEEP_THRESHOLD");
        cfg.protocol_scan_threshold = narrow("PROTOCOL_SCAN_THRESHOLD");
        cfg.min_danger_level = small("MIN_DANGER_LEVEL");
        cfg.home_net = parse_net_list(get("HOME_NET"))
            .map_err(|m| invalid(&origin_of("HOME_NET"), get("HOME_NET"), &m))?;
        cfg.external_net = parse_net_list(get("EXTERNAL_NET"))
            .map_err(|m| invalid(&origin_of("EXTERNAL_NET"), get("EXTERNAL_NET"), &m))?;
        cfg.fw_search_all = flag("FW_SEARCH_ALL");
        cfg.snort_sid_str = get("SNORT_SID_STR").to_string();
        if cfg.snort_sid_str.is_empty() {
            return Err(invalid(
                &origin_of("SNORT_SID_STR"),
                "",
                "must not be empty",
            ));
        }
        cfg.ignore_ports = parse_ignore_ports(get("IGNORE_PORTS"))
            .map_err(|m| invalid(&origin_of("IGNORE_PORTS"), get("IGNORE_PORTS"), &m))?;
        cfg.ignore_protocols = parse_ignore_protocols(get("IGNORE_PROTOCOLS"))
            .map_err(|m| invalid(&origin_of("IGNORE_PROTOCOLS"), get("IGNORE_PROTOCOLS"), &m))?;
        cfg.ignore_interfaces = parse_interfaces(get("IGNORE_INTERFACES")).map_err(|m| {
            invalid(
                &origin_of("IGNORE_INTERFACES"),
                get("IGNORE_INTERFACES"),
                &m,
            )
        })?;
        let prefixes = get("IGNORE_LOG_PREFIXES");
        cfg.ignore_log_prefixes = if prefixes.is_empty() || prefixes.eq_ignore_ascii_case("NONE") {
            None
        } else {
            Some(prefixes.to_string())
        };
        cfg.ignore_conntrack_bug_pkts = flag("IGNORE_CONNTRACK_BUG_PKTS");
        cfg.enable_ipv6_detection = flag("ENABLE_IPV6_DETECTION");
        cfg.enable_persistence = flag("ENABLE_PERSISTENCE");
        cfg.scan_timeout_secs = num("SCAN_TIMEOUT");
        cfg.max_scan_ip_pairs = num("MAX_SCAN_IP_PAIRS");
        cfg.expect_tcp_options = flag("EXPECT_TCP_OPTIONS");
        cfg.max_hops = small("MAX_HOPS");
        cfg.alert_all = flag("ALERT_ALL");
        cfg.email_alert_danger_level = small("EMAIL_ALERT_DANGER_LEVEL");
        cfg.status_ip_threshold = narrow("STATUS_IP_THRESHOLD");
        cfg.status_ports_threshold = narrow("STATUS_PORTS_THRESHOLD");
        cfg.status_sigs_threshold = narrow("STATUS_SIGS_THRESHOLD");
        cfg.check_interval_secs = num("CHECK_INTERVAL");
        cfg.enable_intf_local_nets = flag("ENABLE_INTF_LOCAL_NETS");

        // FW_MSG_SEARCH: every value of the winning source, expanded against the final table.
        cfg.fw_msg_search = match &self.fw_msg_search {
            Some(list) => {
                let mut out = Vec::with_capacity(list.len());
                for (value, origin) in list {
                    out.push(expand_one(value, &vars).map_err(|name| {
                        ConfigError::at(
                            origin,
                            ConfigErrorKind::Expansion,
                            format!("${name} is not defined"),
                        )
                    })?);
                }
                out
            }
            None => vec![get("FW_MSG_SEARCH").to_string()],
        };
        if let Some(empty) = cfg.fw_msg_search.iter().position(String::is_empty) {
            let origin = match &self.fw_msg_search {
                Some(list) => list[empty].1.clone(),
                None => origin_of("FW_MSG_SEARCH"),
            };
            return Err(invalid(
                &origin,
                "",
                "must not be empty (it would match every line)",
            ));
        }

        // The engine compiles these with the `regex` crate; fail here, with file and line,
        // rather than at engine start. psad's Perl syntax mostly carries over.
        if let Some(re) = &cfg.ignore_log_prefixes {
            check_regex(&origin_of("IGNORE_LOG_PREFIXES"), re)?;
        }
        for (i, re) in cfg.fw_msg_search.iter().enumerate() {
            let origin = match &self.fw_msg_search {
                Some(list) => list[i].1.clone(),
                None => origin_of("FW_MSG_SEARCH"),
            };
            check_regex(&origin, re)?;
        }
        for (enable, var) in [
            ("ENABLE_CUSTOM_SYSLOG_TS_RE", "CUSTOM_SYSLOG_TS_RE"),
            ("ENABLE_AUTO_IDS_REGEX", "AUTO_BLOCK_REGEX"),
        ] {
            if get(enable) == "Y" {
                check_regex(&origin_of(var), get(var))?;
            }
        }

        cross_checks(&vars, &origin_of)?;

        let t = &self.tripline;
        cfg.psad_compat = t.psad_compat.unwrap_or(cfg.psad_compat);
        cfg.icmp_validation = t.icmp_validation.unwrap_or(cfg.icmp_validation);
        cfg.icmp6_validation = t.icmp6_validation.unwrap_or(cfg.icmp6_validation);
        cfg.signatures_enabled = t.signatures_enabled.unwrap_or(cfg.signatures_enabled);
        cfg.trw = t.trw.clone();
        cfg.max_sources = t.max_sources.unwrap_or(cfg.max_sources);
        if let Some(d) = &t.daemon {
            cfg.daemon = d.clone();
        }
        cfg.alerting = super::alerting::lower(&vars, &t.alerting, self.psad_conf, cfg.psad_compat)?;
        cfg.blocking = super::blocking::lower(&vars, &origin_of, &t.blocking)?;

        cfg.vars = vars;
        Ok(Loaded {
            config: cfg,
            warnings,
        })
    }
}

impl Config {
    /// Loads a single psad.conf (no overrides). See [`ConfigBuilder`] for several files.
    pub fn from_psad_conf(file: &str, text: &str) -> Result<Loaded, ConfigError> {
        ConfigBuilder::new().add_psad_conf(file, text)?.build()
    }

    /// Loads a `tripline.toml` without importing a psad.conf. When its `[files] psad-conf`
    /// is set, use [`ConfigBuilder`]: `add_toml`, then `add_psad_conf` with that file's text.
    pub fn from_toml(file: &str, text: &str) -> Result<Loaded, ConfigError> {
        let t = TomlConfig::parse(file, text)?;
        ConfigBuilder::new().add_toml(&t).build()
    }
}

/// psad's checks that involve several variables (`validate_config()`, spec §7.10).
fn cross_checks(
    vars: &BTreeMap<String, String>,
    origin_of: &dyn Fn(&str) -> Origin,
) -> Result<(), ConfigError> {
    let get = |name: &str| vars.get(name).map(String::as_str).unwrap_or("");
    let user_set = |a: &str, b: &str| {
        let oa = origin_of(a);
        if oa.line.is_some() {
            oa
        } else {
            origin_of(b)
        }
    };
    if !get("EMAIL_ADDRESSES")
        .split_ascii_whitespace()
        .any(|w| w.contains('@'))
    {
        return Err(invalid(
            &origin_of("EMAIL_ADDRESSES"),
            get("EMAIL_ADDRESSES"),
            "expected at least one address of the form user@host",
        ));
    }
    if get("ENABLE_AUTO_IDS") == "Y"
        && get("IPTABLES_BLOCK_METHOD") == "N"
        && get("TCPWRAPPERS_BLOCK_METHOD") == "N"
    {
        return Err(ConfigError::at(
            &origin_of("ENABLE_AUTO_IDS"),
            ConfigErrorKind::InvalidValue,
            "is Y but both IPTABLES_BLOCK_METHOD and TCPWRAPPERS_BLOCK_METHOD are N",
        ));
    }
    if get("ENABLE_SYSLOG_FILE") == "Y" && get("IPT_SYSLOG_FILE") == get("FW_DATA_FILE") {
        return Err(ConfigError::at(
            &user_set("IPT_SYSLOG_FILE", "FW_DATA_FILE"),
            ConfigErrorKind::InvalidValue,
            "IPT_SYSLOG_FILE and FW_DATA_FILE must not name the same file",
        ));
    }
    if get("ENABLE_OVERRIDE_FW_CMD") == "Y" && matches!(get("FW_CMD"), "" | "NONE") {
        return Err(ConfigError::at(
            &user_set("FW_CMD", "ENABLE_OVERRIDE_FW_CMD"),
            ConfigErrorKind::InvalidValue,
            "ENABLE_OVERRIDE_FW_CMD is Y but FW_CMD is not set",
        ));
    }
    // psad matches these case-insensitively anywhere in the value.
    let facility = get("SYSLOG_FACILITY").to_ascii_uppercase();
    if !(0..8).any(|n| facility.contains(&format!("LOG_LOCAL{n}"))) {
        return Err(invalid(
            &origin_of("SYSLOG_FACILITY"),
            get("SYSLOG_FACILITY"),
            "expected LOG_LOCAL0 .. LOG_LOCAL7",
        ));
    }
    let priority = get("SYSLOG_PRIORITY").to_ascii_uppercase();
    let prios = [
        "LOG_INFO",
        "LOG_DEBUG",
        "LOG_NOTICE",
        "LOG_WARNING",
        "LOG_ERR",
        "LOG_CRIT",
        "LOG_ALERT",
        "LOG_EMERG",
    ];
    if !prios.iter().any(|p| priority.contains(p)) {
        return Err(invalid(
            &origin_of("SYSLOG_PRIORITY"),
            get("SYSLOG_PRIORITY"),
            "expected one of LOG_INFO, LOG_DEBUG, LOG_NOTICE, LOG_WARNING, LOG_ERR, LOG_CRIT, LOG_ALERT, LOG_EMERG",
        ));
    }
    Ok(())
}

/// Reports bad `$VAR` references before expanding, so the message names the line the user
/// wrote (a cycle through a default, e.g. `PSAD_DIR $FW_DATA_FILE`, blames `PSAD_DIR`).
fn check_refs(
    raw: &BTreeMap<String, String>,
    user: &BTreeMap<String, (String, Origin)>,
    origin_of: &dyn Fn(&str) -> Origin,
) -> Result<(), ConfigError> {
    // User-written variables in file order first, so errors point at the earliest line.
    let mut order: Vec<(&String, &Origin)> = user.iter().map(|(k, (_, o))| (k, o)).collect();
    order.sort_by(|a, b| (&a.1.file, a.1.line).cmp(&(&b.1.file, b.1.line)));
    for (name, _) in &order {
        let value = &raw[name.as_str()];
        for r in vars::refs(value) {
            if r == name.as_str() {
                return Err(expand_error(
                    ExpandError::SelfReference {
                        var: name.to_string(),
                    },
                    origin_of,
                ));
            }
            if !raw.contains_key(r) {
                return Err(expand_error(
                    ExpandError::Undefined {
                        var: name.to_string(),
                        name: r.to_string(),
                    },
                    origin_of,
                ));
            }
        }
    }
    let starts = order
        .iter()
        .map(|(k, _)| k.as_str())
        .chain(raw.keys().map(String::as_str));
    if let Some(cycle) = vars::find_cycle(raw, starts) {
        return Err(ConfigError::at(
            &origin_of(cycle[0]),
            ConfigErrorKind::Expansion,
            format!("circular $VAR reference: {}", cycle.join(" -> ")),
        ));
    }
    Ok(())
}

fn expand_error(e: ExpandError, origin_of: &dyn Fn(&str) -> Origin) -> ConfigError {
    let (var, msg) = match e {
        ExpandError::Undefined { var, name } => (var, format!("${name} is not defined")),
        ExpandError::SelfReference { var } => (var, "refers to itself".to_string()),
        ExpandError::TooDeep { var } => (
            var,
            format!(
                "$VAR references still unresolved after {} passes (circular reference?)",
                vars::MAX_EXPANSION_PASSES
            ),
        ),
        ExpandError::TooLong { var } => (
            var,
            format!(
                "value longer than {} bytes after $VAR expansion",
                vars::MAX_EXPANDED_LEN
            ),
        ),
    };
    ConfigError::at(&origin_of(&var), ConfigErrorKind::Expansion, msg)
}

/// One-shot `$NAME` substitution against an already expanded table (whose values hold no
/// references any more, so one pass is enough); `Err(name)` if a name is undefined.
fn expand_one(value: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    vars::substitute(value, "FW_MSG_SEARCH", vars).map_err(|e| match e {
        ExpandError::Undefined { name, .. } => name,
        _ => "FW_MSG_SEARCH".to_string(),
    })
}

/// A regex the engine will compile with the `regex` crate.
fn check_regex(origin: &Origin, re: &str) -> Result<(), ConfigError> {
    // The usual values (`DROP`, `ESTAB`) are plain words: nothing to compile.
    if re
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'_' | b'-' | b':' | b'=' | b'/'))
    {
        return Ok(());
    }
    match regex::Regex::new(re) {
        Ok(_) => Ok(()),
        Err(e) => {
            // regex's message draws a caret diagram over several lines; keep the reason.
            let text = e.to_string();
            let why = text
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or("does not compile")
                .to_string();
            Err(invalid(
                origin,
                re,
                &format!("not a valid regular expression: {why}"),
            ))
        }
    }
}

fn invalid(origin: &Origin, value: &str, why: &str) -> ConfigError {
    ConfigError::at(
        origin,
        ConfigErrorKind::InvalidValue,
        format!("invalid value {value:?}: {why}"),
    )
}

fn yn(b: bool) -> &'static str {
    if b {
        "Y"
    } else {
        "N"
    }
}

/// `Y`/`N`/`YES`/`NO` in any case.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_uppercase().as_str() {
        "Y" | "YES" => Some(true),
        "N" | "NO" => Some(false),
        _ => None,
    }
}

/// psad's `^\d+$` plus a range check.
pub(crate) fn parse_uint(s: &str, lo: u64, hi: u64) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("expected a non-negative integer".to_string());
    }
    match s.parse::<u64>() {
        Ok(n) if n >= lo && n <= hi => Ok(n),
        _ if hi == u64::MAX => Err(format!("expected an integer >= {lo}")),
        _ => Err(format!("expected an integer from {lo} to {hi}")),
    }
}

/// `any`, or a comma list of IPv4/IPv6 networks (`a.b.c.d`, `/len`, `/dotted.mask`),
/// optionally in `[...]` as signature variables are written.
pub(crate) fn parse_net_list(s: &str) -> Result<NetList, String> {
    let s = s.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    if s.trim().eq_ignore_ascii_case("any") {
        return Ok(NetList::Any);
    }
    let mut nets = Vec::new();
    for item in s.split(',') {
        let item = item.trim();
        if item.eq_ignore_ascii_case("any") {
            return Ok(NetList::Any);
        }
        if item.is_empty() {
            return Err("empty entry in the network list".to_string());
        }
        if item.starts_with('!') {
            return Err(format!(
                "{item:?}: negation is not supported (psad ignores the '!')"
            ));
        }
        let net: IpNet = item
            .parse()
            .map_err(|_| format!("{item:?} is not an IPv4/IPv6 address or network"))?;
        if !nets.contains(&net) {
            nets.push(net);
        }
    }
    Ok(NetList::Nets(nets))
}

/// True for `NONE` (any case) or an empty value: "nothing to ignore".
fn is_none(s: &str) -> bool {
    let s = s.trim();
    s.is_empty() || s.eq_ignore_ascii_case("NONE")
}

/// One `proto/N` or `proto/N-M` item (case-insensitive, blanks around `-` allowed);
/// `protos` lists the protocol names accepted before the `/`.
pub(crate) fn parse_port_item(item: &str, protos: &[Proto]) -> Result<PortRange, String> {
    let bad = || format!("{item:?}: expected proto/N or proto/N-M (e.g. tcp/22, udp/1-1024)");
    let (p, ports) = item.split_once('/').ok_or_else(bad)?;
    let proto = proto_by_name(p.trim())
        .filter(|pr| protos.contains(pr))
        .ok_or_else(bad)?;
    let port = |t: &str| -> Result<u16, String> {
        let t = t.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        t.parse::<u16>()
            .map_err(|_| format!("{item:?}: port out of range (0-65535)"))
    };
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => {
            let n = port(ports)?;
            (n, n)
        }
    };
    if lo > hi {
        return Err(format!("{item:?}: the range is backwards"));
    }
    Ok(PortRange { proto, lo, hi })
}

/// `IGNORE_PORTS`: `NONE` or a comma list of `tcp/N`, `udp/N-M`.
///
/// Differences from psad (documented in the reference): `tcp/22-22` means port 22 (psad
/// silently ignores a range whose ends are equal), and a malformed item is an error (psad
/// skips it).
pub(crate) fn parse_ignore_ports(s: &str) -> Result<Vec<PortRange>, String> {
    if is_none(s) {
        return Ok(Vec::new());
    }
    let mut out: Vec<PortRange> = Vec::new();
    for item in s.split(',') {
        let r = parse_port_item(item.trim(), &[Proto::Tcp, Proto::Udp])?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

/// `IGNORE_PROTOCOLS`: `NONE` or a comma list of protocol names or numbers.
pub(crate) fn parse_ignore_protocols(s: &str) -> Result<Vec<Proto>, String> {
    if is_none(s) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for item in s.split(',') {
        let item = item.trim();
        let p = if !item.is_empty() && item.bytes().all(|b| b.is_ascii_digit()) {
            item.parse::<u8>()
                .map(proto_by_number)
                .map_err(|_| format!("{item:?}: protocol numbers go from 0 to 255"))?
        } else {
            proto_by_name(item)
                .ok_or_else(|| format!("{item:?} is not a known protocol name or number"))?
        };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// `IGNORE_INTERFACES`: `NONE` or a comma list of interface names.
///
/// psad only accepts `[\w.:]+` and syslogs anything else; Linux names may also hold `-`
/// and `@`, so we accept any name without blanks, commas or `/`, at most 15 bytes
/// (`IFNAMSIZ - 1`).
pub(crate) fn parse_interfaces(s: &str) -> Result<Vec<String>, String> {
    if is_none(s) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for item in s.split(',') {
        let item = item.trim();
        if item.is_empty()
            || item.len() > 15
            || item.contains(|c: char| c.is_whitespace() || c == '/' || c.is_control())
        {
            return Err(format!("{item:?} is not an interface name"));
        }
        if !out.iter().any(|i| i == item) {
            out.push(item.to_string());
        }
    }
    Ok(out)
}

/// A protocol number as a [`Proto`], using the named variants for the ones psad names.
///
/// 58 is ICMPv6 here; psad maps it to `ipv6-icmp`, which never matches its internal name
/// `icmp6`, so `IGNORE_PROTOCOLS 58` does nothing there (spec §2.9). We fix that.
pub(crate) fn proto_by_number(n: u8) -> Proto {
    match n {
        1 => Proto::Icmp,
        6 => Proto::Tcp,
        17 => Proto::Udp,
        58 => Proto::Icmp6,
        136 => Proto::UdpLite,
        n => Proto::Other(n),
    }
}

/// IANA protocol keywords (the names `/etc/protocols` uses) and their numbers.
const PROTOCOL_NAMES: &[(&str, u8)] = &[
    ("hopopt", 0),
    ("icmp", 1),
    ("igmp", 2),
    ("ggp", 3),
    ("ipencap", 4),
    ("ipv4", 4),
    ("st", 5),
    ("tcp", 6),
    ("egp", 8),
    ("igp", 9),
    ("pup", 12),
    ("udp", 17),
    ("hmp", 20),
    ("xns-idp", 22),
    ("rdp", 27),
    ("iso-tp4", 29),
    ("dccp", 33),
    ("xtp", 36),
    ("ddp", 37),
    ("idpr-cmtp", 38),
    ("ipv6", 41),
    ("ipv6-route", 43),
    ("ipv6-frag", 44),
    ("idrp", 45),
    ("rsvp", 46),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("skip", 57),
    ("icmp6", 58),
    ("icmpv6", 58),
    ("ipv6-icmp", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("rspf", 73),
    ("vmtp", 81),
    ("eigrp", 88),
    ("ospf", 89),
    ("ospfigp", 89),
    ("ax.25", 93),
    ("ipip", 94),
    ("etherip", 97),
    ("encap", 98),
    ("pim", 103),
    ("ipcomp", 108),
    ("vrrp", 112),
    ("l2tp", 115),
    ("isis", 124),
    ("sctp", 132),
    ("fc", 133),
    ("mobility-header", 135),
    ("udplite", 136),
    ("mpls-in-ip", 137),
    ("manet", 138),
    ("hip", 139),
    ("shim6", 140),
    ("wesp", 141),
    ("rohc", 142),
];

/// A protocol keyword (case-insensitive) as a [`Proto`].
pub(crate) fn proto_by_name(name: &str) -> Option<Proto> {
    PROTOCOL_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, num)| proto_by_number(num))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_parsers() {
        assert_eq!(parse_bool("yes"), Some(true));
        assert_eq!(parse_bool("n"), Some(false));
        assert_eq!(parse_bool("1"), None);
        assert_eq!(parse_uint("12", 0, 20), Ok(12));
        assert!(parse_uint("-1", 0, 20).is_err());
        assert!(parse_uint("21", 0, 20).is_err());
        assert!(parse_uint("99999999999999999999999", 0, u64::MAX).is_err());
        assert_eq!(
            parse_ignore_ports("TCP/22, udp/1-1024,tcp/22-22, udp/53 - 55").unwrap(),
            vec![
                PortRange {
                    proto: Proto::Tcp,
                    lo: 22,
                    hi: 22
                },
                PortRange {
                    proto: Proto::Udp,
                    lo: 1,
                    hi: 1024
                },
                PortRange {
                    proto: Proto::Udp,
                    lo: 53,
                    hi: 55
                },
            ]
        );
        assert!(parse_ignore_ports("tcp/22,icmp/1").is_err());
        assert!(parse_ignore_ports("tcp/99999").is_err());
        assert!(parse_ignore_ports("tcp/30-20").is_err());
        assert_eq!(parse_ignore_ports("none").unwrap(), vec![]);
        assert_eq!(
            parse_ignore_protocols("tcp, 17, ICMP6, 58, gre, 136, ipv6-icmp").unwrap(),
            vec![
                Proto::Tcp,
                Proto::Udp,
                Proto::Icmp6,
                Proto::Other(47),
                Proto::UdpLite
            ]
        );
        assert!(parse_ignore_protocols("tcp,nosuch").is_err());
        assert!(parse_ignore_protocols("300").is_err());
        assert_eq!(
            parse_interfaces("eth0, wg-0,br0.10").unwrap(),
            ["eth0", "wg-0", "br0.10"]
        );
        assert!(parse_interfaces("eth0,,eth1").is_err());
        assert_eq!(parse_net_list(" ANY ").unwrap(), NetList::Any);
        match parse_net_list("[10.0.0.0/255.0.0.0, 2001:db8::/32 ,192.0.2.7]").unwrap() {
            NetList::Nets(n) => {
                assert_eq!(n.len(), 3);
                assert_eq!(n[0].to_string(), "10.0.0.0/8");
                assert_eq!(n[2].to_string(), "192.0.2.7/32");
            }
            NetList::Any => panic!("expected networks"),
        }
        assert!(parse_net_list("10.0.0.0/8, bogus").is_err());
        assert!(parse_net_list("!10.0.0.0/8").is_err());
    }
}
