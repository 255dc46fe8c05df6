//! `tripline.toml` front-end: Tripline's native config, lowered into psad-named variables.
//!
//! Sections `[detection]`, `[alerts]`, `[files]` and `[vars]` (signature variables and any
//! other psad variable by its psad name). Every key is kebab-case and unknown keys are
//! errors (`deny_unknown_fields`). Each typed key maps onto one or more psad variables, so
//! validation and `config dump` are shared with psad.conf; see `examples/tripline.toml`.

use super::alerting;
use super::error::{line_of, ConfigError, ConfigErrorKind, Origin};
use super::psad_conf::Assignment;
use super::vars;
use ::toml::Spanned;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A parsed `tripline.toml`: psad-named assignments plus Tripline-only settings.
///
/// Add it to a [`ConfigBuilder`](super::ConfigBuilder) first (it has the highest
/// precedence), then the psad.conf it names in [`TomlConfig::psad_conf_path`], if any.
#[derive(Debug, Clone, PartialEq)]
pub struct TomlConfig {
    file: String,
    pub(crate) assignments: Vec<Assignment>,
    pub(crate) tripline: TriplineSettings,
    psad_conf: Option<String>,
}

/// Settings that only Tripline has (no psad variable); `None` = not set here.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TriplineSettings {
    pub psad_compat: Option<bool>,
    pub icmp_validation: Option<bool>,
    pub icmp6_validation: Option<bool>,
    pub signatures_enabled: Option<bool>,
    pub trw: Option<crate::engine::TrwConfig>,
    pub max_sources: Option<u64>,
    pub daemon: Option<super::daemon::DaemonConfig>,
    pub alerting: super::alerting::AlertingToml,
    pub blocking: super::blocking::BlockingToml,
}

impl TriplineSettings {
    /// Takes every setting of `other` that is not set yet (first definition wins).
    pub fn fill_from(&mut self, other: &TriplineSettings) {
        self.psad_compat = self.psad_compat.or(other.psad_compat);
        self.icmp_validation = self.icmp_validation.or(other.icmp_validation);
        self.icmp6_validation = self.icmp6_validation.or(other.icmp6_validation);
        self.signatures_enabled = self.signatures_enabled.or(other.signatures_enabled);
        self.max_sources = self.max_sources.or(other.max_sources);
        if self.daemon.is_none() {
            self.daemon = other.daemon.clone();
        }
        if self.trw.is_none() {
            self.trw = other.trw.clone();
        }
        self.alerting.fill_from(&other.alerting);
        self.blocking.fill_from(&other.blocking);
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Root {
    detection: Option<Detection>,
    alerts: Option<Alerts>,
    files: Option<Files>,
    trw: Option<Spanned<Trw>>,
    sources: Option<super::daemon::SourcesSection>,
    daemon: Option<super::daemon::DaemonSection>,
    email: Option<alerting::EmailToml>,
    syslog: Option<alerting::SyslogToml>,
    script: Option<Vec<alerting::ScriptToml>>,
    webhook: Option<Vec<alerting::WebhookToml>>,
    lookups: Option<alerting::LookupsToml>,
    notify: Option<alerting::NotifyToml>,
    blocking: Option<Blocking>,
    vars: Option<BTreeMap<String, Spanned<::toml::Value>>>,
}

/// `[trw]`: the sequential hypothesis test (engine/trw.rs).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Trw {
    enabled: Option<bool>,
    accept_prefixes: Option<Vec<String>>,
    /// `ADDR[/LEN]:tcp/PORT` or `udp/PORT`.
    open_services: Option<Vec<String>>,
    theta0: Option<f64>,
    theta1: Option<f64>,
    detection: Option<f64>,
    false_positive: Option<f64>,
    danger_level: Option<u8>,
}

type S<T> = Option<Spanned<T>>;

/// `[blocking]`: active response (spec §6); see config/blocking.rs.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Blocking {
    enabled: S<bool>,
    danger_level: S<u64>,
    timeout: S<Duration>,
    dl_timeouts: S<[Duration; 5]>,
    regex: S<String>,
    flush_at_init: S<bool>,
    ipt_chains: S<Vec<String>>,
    backend: S<String>,
    safelist: S<Vec<String>>,
    ipv6_prefix: S<Ipv6Prefix>,
    max_per_minute: S<u32>,
    dry_run: S<bool>,
    alerts: S<bool>,
    renew_alerts: S<bool>,
    table: S<String>,
    hooks: S<Vec<String>>,
    check_interval: S<Duration>,
}

/// `true` (per /64), `false` (per address) or a prefix length.
#[derive(Deserialize)]
#[serde(untagged)]
enum Ipv6Prefix {
    On(bool),
    Len(u8),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Detection {
    danger_levels: S<[u64; 5]>,
    unique_hosts: S<[u64; 5]>,
    port_range_scan_threshold: S<u64>,
    port_range_sweep_threshold: S<u64>,
    protocol_scan_threshold: S<u64>,
    min_danger_level: S<u64>,
    home_net: S<Words>,
    external_net: S<Words>,
    ignore_ports: S<Words>,
    ignore_protocols: S<Words>,
    ignore_interfaces: S<Words>,
    ignore_log_prefixes: S<String>,
    ignore_conntrack_bug_pkts: S<bool>,
    fw_search_all: S<bool>,
    fw_msg_search: S<Words>,
    ipv6: S<bool>,
    intf_local_nets: S<bool>,
    persistence: S<bool>,
    scan_timeout: S<Duration>,
    check_interval: S<Duration>,
    max_scan_ip_pairs: S<u64>,
    max_sources: S<u64>,
    expect_tcp_options: S<bool>,
    max_hops: S<u64>,
    snort_sid_str: S<String>,
    psad_compat: S<bool>,
    icmp_validation: S<bool>,
    icmp6_validation: S<bool>,
    signature_matching: S<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Alerts {
    alert_all: S<bool>,
    email_alert_danger_level: S<u64>,
    status_ip_threshold: S<u64>,
    status_ports_threshold: S<u64>,
    status_sigs_threshold: S<u64>,
    email_limit: S<u64>,
    email_limit_per_dst: S<bool>,
    limit_status_msg: S<bool>,
    email_throttle: S<u64>,
    hostname: S<String>,
    alert_prefix: S<String>,
    status_prefix: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Files {
    signatures: S<String>,
    auto_dl: S<String>,
    psad_conf: S<String>,
}

/// A string or number, as list items are written (`"tcp"`, `47`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Word {
    Str(String),
    Int(i64),
}

impl Word {
    fn text(&self) -> String {
        match self {
            Word::Str(s) => s.clone(),
            Word::Int(i) => i.to_string(),
        }
    }
}

/// One word or a list of words: `"any"` or `["10.0.0.0/8", "192.0.2.0/24"]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Words {
    One(Word),
    Many(Vec<Word>),
}

impl Words {
    fn items(&self) -> Vec<String> {
        match self {
            Words::One(w) => vec![w.text()],
            Words::Many(v) => v.iter().map(Word::text).collect(),
        }
    }
    /// The psad form: a comma list; an empty list is `NONE`.
    fn joined(&self) -> String {
        let items = self.items();
        if items.is_empty() {
            "NONE".to_string()
        } else {
            items.join(", ")
        }
    }
}

/// Seconds, or a string such as `"90s"`, `"30m"`, `"1h"`, `"1h30m"`, `"2d"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Duration {
    Secs(u64),
    Text(String),
}

/// Parses `"1h30m"`-style durations (units s, m, h, d, w; a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "invalid duration {s:?}: expected seconds or e.g. \"90s\", \"30m\", \"1h30m\", \"2d\""
        )
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().map_err(|_| bad());
    }
    let mut total: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = rest[digits..].trim_start();
        let unit = rest.chars().next().ok_or_else(bad)?;
        let mult = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        rest = rest[unit.len_utf8()..].trim_start();
        total = n
            .checked_mul(mult)
            .and_then(|x| total.checked_add(x))
            .ok_or_else(bad)?;
    }
    Ok(total)
}

/// Collects assignments with their TOML origins.
struct Lowering<'a> {
    file: &'a str,
    text: &'a str,
    out: Vec<Assignment>,
}

impl Lowering<'_> {
    fn origin(&self, key: &str, span: std::ops::Range<usize>) -> Origin {
        Origin {
            file: self.file.to_string(),
            line: Some(line_of(self.text, span.start)),
            key: key.to_string(),
        }
    }
    fn set(&mut self, key: &str, span: std::ops::Range<usize>, var: &str, value: String) {
        let origin = self.origin(key, span);
        self.out.push(Assignment {
            name: var.to_string(),
            value,
            origin,
        });
    }
    fn num(&mut self, key: &str, v: &S<u64>, var: &str) {
        if let Some(v) = v {
            self.set(key, v.span(), var, v.get_ref().to_string());
        }
    }
    fn flag(&mut self, key: &str, v: &S<bool>, var: &str) {
        if let Some(v) = v {
            let yn = if *v.get_ref() { "Y" } else { "N" };
            self.set(key, v.span(), var, yn.to_string());
        }
    }
    fn text(&mut self, key: &str, v: &S<String>, var: &str) {
        if let Some(v) = v {
            self.set(key, v.span(), var, v.get_ref().clone());
        }
    }
    fn words(&mut self, key: &str, v: &S<Words>, var: &str) {
        if let Some(v) = v {
            self.set(key, v.span(), var, v.get_ref().joined());
        }
    }
    fn duration(&mut self, key: &str, v: &S<Duration>, var: &str) -> Result<(), ConfigError> {
        if let Some(v) = v {
            let secs = match v.get_ref() {
                Duration::Secs(n) => *n,
                Duration::Text(t) => parse_duration(t).map_err(|m| {
                    ConfigError::at(
                        &self.origin(key, v.span()),
                        ConfigErrorKind::InvalidValue,
                        m,
                    )
                })?,
            };
            self.set(key, v.span(), var, secs.to_string());
        }
        Ok(())
    }
    fn levels(&mut self, key: &str, v: &S<[u64; 5]>, var: impl Fn(usize) -> String) {
        if let Some(v) = v {
            for (i, n) in v.get_ref().iter().enumerate() {
                self.set(key, v.span(), &var(i + 1), n.to_string());
            }
        }
    }
}

impl TomlConfig {
    /// Parses `tripline.toml` text. `file` is only used in messages.
    ///
    /// Errors name `file:line`, the key and what is wrong; an unknown key gets the nearest
    /// valid key as a suggestion.
    pub fn parse(file: &str, text: &str) -> Result<TomlConfig, ConfigError> {
        let root: Root = ::toml::from_str(text).map_err(|e| toml_error(file, text, &e))?;
        let mut l = Lowering {
            file,
            text,
            out: Vec::new(),
        };
        let mut tripline = TriplineSettings::default();
        if let Some(d) = &root.detection {
            l.levels("detection.danger-levels", &d.danger_levels, |i| {
                format!("DANGER_LEVEL{i}")
            });
            l.levels("detection.unique-hosts", &d.unique_hosts, |i| {
                format!("DL{i}_UNIQUE_HOSTS")
            });
            l.num(
                "detection.port-range-scan-threshold",
                &d.port_range_scan_threshold,
                "PORT_RANGE_SCAN_THRESHOLD",
            );
            l.num(
                "detection.port-range-sweep-threshold",
                &d.port_range_sweep_threshold,
                "PORT_RANGE_SWEEP_THRESHOLD",
            );
            l.num(
                "detection.protocol-scan-threshold",
                &d.protocol_scan_threshold,
                "PROTOCOL_SCAN_THRESHOLD",
            );
            l.num(
                "detection.min-danger-level",
                &d.min_danger_level,
                "MIN_DANGER_LEVEL",
            );
            l.words("detection.home-net", &d.home_net, "HOME_NET");
            l.words("detection.external-net", &d.external_net, "EXTERNAL_NET");
            l.words("detection.ignore-ports", &d.ignore_ports, "IGNORE_PORTS");
            l.words(
                "detection.ignore-protocols",
                &d.ignore_protocols,
                "IGNORE_PROTOCOLS",
            );
            l.words(
                "detection.ignore-interfaces",
                &d.ignore_interfaces,
                "IGNORE_INTERFACES",
            );
            l.text(
                "detection.ignore-log-prefixes",
                &d.ignore_log_prefixes,
                "IGNORE_LOG_PREFIXES",
            );
            l.flag(
                "detection.ignore-conntrack-bug-pkts",
                &d.ignore_conntrack_bug_pkts,
                "IGNORE_CONNTRACK_BUG_PKTS",
            );
            l.flag("detection.fw-search-all", &d.fw_search_all, "FW_SEARCH_ALL");
            if let Some(v) = &d.fw_msg_search {
                let items = v.get_ref().items();
                if items.is_empty() {
                    return Err(ConfigError::at(
                        &l.origin("detection.fw-msg-search", v.span()),
                        ConfigErrorKind::InvalidValue,
                        "must list at least one pattern",
                    ));
                }
                for item in items {
                    l.set("detection.fw-msg-search", v.span(), "FW_MSG_SEARCH", item);
                }
            }
            l.flag("detection.ipv6", &d.ipv6, "ENABLE_IPV6_DETECTION");
            l.flag(
                "detection.intf-local-nets",
                &d.intf_local_nets,
                "ENABLE_INTF_LOCAL_NETS",
            );
            l.flag(
                "detection.persistence",
                &d.persistence,
                "ENABLE_PERSISTENCE",
            );
            l.duration("detection.scan-timeout", &d.scan_timeout, "SCAN_TIMEOUT")?;
            l.duration(
                "detection.check-interval",
                &d.check_interval,
                "CHECK_INTERVAL",
            )?;
            l.num(
                "detection.max-scan-ip-pairs",
                &d.max_scan_ip_pairs,
                "MAX_SCAN_IP_PAIRS",
            );
            l.flag(
                "detection.expect-tcp-options",
                &d.expect_tcp_options,
                "EXPECT_TCP_OPTIONS",
            );
            l.num("detection.max-hops", &d.max_hops, "MAX_HOPS");
            l.text("detection.snort-sid-str", &d.snort_sid_str, "SNORT_SID_STR");
            let b = |v: &S<bool>| v.as_ref().map(|s| *s.get_ref());
            tripline.psad_compat = b(&d.psad_compat);
            tripline.icmp_validation = b(&d.icmp_validation);
            tripline.icmp6_validation = b(&d.icmp6_validation);
            tripline.signatures_enabled = b(&d.signature_matching);
            tripline.max_sources = d.max_sources.as_ref().map(|s| *s.get_ref());
        }
        if let Some(a) = &root.alerts {
            l.flag("alerts.alert-all", &a.alert_all, "ALERT_ALL");
            l.num(
                "alerts.email-alert-danger-level",
                &a.email_alert_danger_level,
                "EMAIL_ALERT_DANGER_LEVEL",
            );
            l.num(
                "alerts.status-ip-threshold",
                &a.status_ip_threshold,
                "STATUS_IP_THRESHOLD",
            );
            l.num(
                "alerts.status-ports-threshold",
                &a.status_ports_threshold,
                "STATUS_PORTS_THRESHOLD",
            );
            l.num(
                "alerts.status-sigs-threshold",
                &a.status_sigs_threshold,
                "STATUS_SIGS_THRESHOLD",
            );
            l.num("alerts.email-limit", &a.email_limit, "EMAIL_LIMIT");
            l.flag(
                "alerts.email-limit-per-dst",
                &a.email_limit_per_dst,
                "ENABLE_EMAIL_LIMIT_PER_DST",
            );
            l.flag(
                "alerts.limit-status-msg",
                &a.limit_status_msg,
                "EMAIL_LIMIT_STATUS_MSG",
            );
            l.num("alerts.email-throttle", &a.email_throttle, "EMAIL_THROTTLE");
            l.text("alerts.hostname", &a.hostname, "HOSTNAME");
            l.text("alerts.alert-prefix", &a.alert_prefix, "MAIL_ALERT_PREFIX");
            l.text(
                "alerts.status-prefix",
                &a.status_prefix,
                "MAIL_STATUS_PREFIX",
            );
        }
        lower_alerting_sections(&mut l, &root, &mut tripline);
        if let Some(t) = &root.trw {
            let origin = l.origin("trw", t.span());
            tripline.trw = lower_trw(t.get_ref(), &origin)?;
        }
        if root.sources.is_some() || root.daemon.is_some() {
            tripline.daemon = Some(super::daemon::DaemonConfig::from_sections(
                root.sources.as_ref(),
                root.daemon.as_ref(),
            ));
        }
        if let Some(b) = &root.blocking {
            tripline.blocking = lower_blocking(&mut l, b)?;
        }
        let mut psad_conf = None;
        if let Some(f) = &root.files {
            l.text("files.signatures", &f.signatures, "SIGS_FILE");
            l.text("files.auto-dl", &f.auto_dl, "AUTO_DL_FILE");
            psad_conf = f.psad_conf.as_ref().map(|p| p.get_ref().clone());
        }
        if let Some(v) = &root.vars {
            lower_vars(&mut l, v)?;
        }
        Ok(TomlConfig {
            file: file.to_string(),
            assignments: l.out,
            tripline,
            psad_conf,
        })
    }

    /// The file name given to [`TomlConfig::parse`].
    pub fn file(&self) -> &str {
        &self.file
    }

    /// True if this file sets the psad variable `var` (by a typed key or in `[vars]`),
    /// e.g. `sets("SIGS_FILE")` for `[files] signatures`.
    pub fn sets(&self, var: &str) -> bool {
        self.assignments.iter().any(|a| a.name == var)
    }

    /// `[files] psad-conf`: a psad.conf to import below this file's settings.
    pub fn psad_conf_path(&self) -> Option<&str> {
        self.psad_conf.as_deref()
    }
}

/// `[email]`, `[syslog]`, `[[script]]`, `[[webhook]]`, `[lookups]`, `[notify]`: the keys
/// that have a psad variable become assignments; the rest go to `config::alerting`.
fn lower_alerting_sections(l: &mut Lowering<'_>, root: &Root, tripline: &mut TriplineSettings) {
    let mut put = |key: &str, var: &str, value: String| {
        l.out.push(Assignment {
            name: var.to_string(),
            value,
            origin: Origin {
                file: l.file.to_string(),
                line: None,
                key: key.to_string(),
            },
        });
    };
    if let Some(e) = &root.email {
        if let Some(to) = &e.to {
            put("email.to", "EMAIL_ADDRESSES", to.join(", "));
        }
        if let Some(n) = e.min_danger_level {
            put(
                "email.min-danger-level",
                "EMAIL_ALERT_DANGER_LEVEL",
                n.to_string(),
            );
        }
    }
    if let Some(s) = &root.syslog {
        let log = |v: &str| {
            let u = v.trim().to_ascii_uppercase();
            if u.starts_with("LOG_") {
                u
            } else {
                format!("LOG_{u}")
            }
        };
        if let Some(v) = &s.identity {
            put("syslog.identity", "SYSLOG_IDENTITY", v.clone());
        }
        if let Some(v) = &s.facility {
            put("syslog.facility", "SYSLOG_FACILITY", log(v));
        }
        if let Some(v) = &s.priority {
            put("syslog.priority", "SYSLOG_PRIORITY", log(v));
        }
    }
    if let Some(k) = &root.lookups {
        let yn = |b: bool| if b { "Y" } else { "N" }.to_string();
        if let Some(b) = k.dns {
            put("lookups.dns", "ENABLE_DNS_LOOKUPS", yn(b));
        }
        if let Some(b) = k.whois {
            put("lookups.whois", "ENABLE_WHOIS_LOOKUPS", yn(b));
        }
        if let Some(n) = k.whois_timeout {
            put("lookups.whois-timeout", "WHOIS_TIMEOUT", n.to_string());
        }
    }
    tripline.alerting = alerting::AlertingToml {
        file: l.file.to_string(),
        email: root.email.clone(),
        syslog: root.syslog.clone(),
        scripts: root.script.clone(),
        webhooks: root.webhook.clone(),
        lookups: root.lookups.clone(),
        notify: root.notify.clone(),
    };
}

/// `[vars]`: psad variables by their psad names, plus custom signature variables.
///
/// A name that is not a psad variable is accepted as a custom signature variable unless it
/// is a near miss of a psad name (then it is almost certainly a typo: error with a
/// suggestion). A psad variable may not be set both here and by a typed key.
fn lower_vars(
    l: &mut Lowering<'_>,
    vars_table: &BTreeMap<String, Spanned<::toml::Value>>,
) -> Result<(), ConfigError> {
    for (name, v) in vars_table {
        let key = format!("vars.{name}");
        let origin = l.origin(&key, v.span());
        let valid_name = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid_name {
            return Err(ConfigError::at(
                &origin,
                ConfigErrorKind::InvalidValue,
                "variable names hold only letters, digits and '_' (they are used as $NAME)",
            ));
        }
        if !vars::is_known(name) {
            if let Some(s) = vars::suggest(name) {
                let mut e =
                    ConfigError::at(&origin, ConfigErrorKind::UnknownKey, "not a psad variable");
                e.suggestion = Some(s.to_string());
                return Err(e);
            }
        }
        if let Some(prev) = l.out.iter().find(|a| a.name == *name) {
            return Err(ConfigError::at(
                &origin,
                ConfigErrorKind::InvalidValue,
                format!(
                    "already set by {} (line {})",
                    prev.origin.key,
                    prev.origin.line.unwrap_or(0)
                ),
            ));
        }
        let scalar = |val: &::toml::Value| -> Option<String> {
            match val {
                ::toml::Value::String(s) => Some(s.clone()),
                ::toml::Value::Integer(i) => Some(i.to_string()),
                ::toml::Value::Boolean(b) => Some(if *b { "Y" } else { "N" }.to_string()),
                _ => None,
            }
        };
        let bad_type = || {
            ConfigError::at(
                &origin,
                ConfigErrorKind::Syntax,
                "expected a string, integer, boolean or a list of those",
            )
        };
        match v.get_ref() {
            ::toml::Value::Array(items) => {
                let items: Vec<String> = items
                    .iter()
                    .map(scalar)
                    .collect::<Option<_>>()
                    .ok_or_else(bad_type)?;
                if name == "FW_MSG_SEARCH" {
                    for item in items {
                        l.set(&key, v.span(), name, item);
                    }
                } else {
                    l.set(&key, v.span(), name, items.join(", "));
                }
            }
            other => {
                let s = scalar(other).ok_or_else(bad_type)?;
                l.set(&key, v.span(), name, s);
            }
        }
    }
    Ok(())
}

/// Turns a toml/serde error into `file:line: key: message`, with a did-you-mean for
/// unknown keys.
fn toml_error(file: &str, text: &str, e: &::toml::de::Error) -> ConfigError {
    let line = e.span().map(|s| line_of(text, s.start));
    let message = e.message().trim().to_string();
    let mut err = ConfigError {
        file: file.to_string(),
        line,
        key: None,
        kind: ConfigErrorKind::Syntax,
        message: message.clone(),
        suggestion: None,
    };
    // serde: "unknown field `x`, expected one of `a`, `b`" (or "expected `a`").
    if let Some(rest) = message.strip_prefix("unknown field `") {
        err.kind = ConfigErrorKind::UnknownKey;
        if let Some((field, expected)) = rest.split_once('`') {
            err.key = Some(field.to_string());
            err.message = "unknown key".to_string();
            let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
            err.suggestion =
                vars::suggest_from(field, candidates.iter().copied()).map(str::to_string);
            if !candidates.is_empty() {
                err.message = format!("unknown key (valid keys here: {})", candidates.join(", "));
            }
        }
        return err;
    }
    // Otherwise name the key written on that line, if the span points at `key = value`.
    if let Some(span) = e.span() {
        let start = text[..span.start.min(text.len())]
            .rfind('\n')
            .map_or(0, |p| p + 1);
        let line_text = text[start..].split('\n').next().unwrap_or("");
        if let Some((k, _)) = line_text.split_once('=') {
            let k = k.trim();
            if !k.is_empty() && !k.starts_with('#') && !k.starts_with('[') {
                err.key = Some(k.to_string());
            }
        }
    }
    err
}

fn lower_blocking(
    l: &mut Lowering<'_>,
    b: &Blocking,
) -> Result<super::blocking::BlockingToml, ConfigError> {
    use super::blocking::{BackendKind, BlockingToml, Hook};
    l.flag("blocking.enabled", &b.enabled, "ENABLE_AUTO_IDS");
    l.num(
        "blocking.danger-level",
        &b.danger_level,
        "AUTO_IDS_DANGER_LEVEL",
    );
    l.duration("blocking.timeout", &b.timeout, "AUTO_BLOCK_TIMEOUT")?;
    if let Some(v) = &b.dl_timeouts {
        for (i, d) in v.get_ref().iter().enumerate() {
            let secs = match d {
                Duration::Secs(n) => *n,
                Duration::Text(t) => parse_duration(t).map_err(|m| {
                    ConfigError::at(
                        &l.origin("blocking.dl-timeouts", v.span()),
                        ConfigErrorKind::InvalidValue,
                        m,
                    )
                })?,
            };
            let var = format!("AUTO_BLOCK_DL{}_TIMEOUT", i + 1);
            l.set("blocking.dl-timeouts", v.span(), &var, secs.to_string());
        }
    }
    if let Some(v) = &b.regex {
        l.set(
            "blocking.regex",
            v.span(),
            "ENABLE_AUTO_IDS_REGEX",
            "Y".into(),
        );
        l.set(
            "blocking.regex",
            v.span(),
            "AUTO_BLOCK_REGEX",
            v.get_ref().clone(),
        );
    }
    l.flag("blocking.alerts", &b.alerts, "ENABLE_AUTO_IDS_EMAILS");
    l.flag(
        "blocking.renew-alerts",
        &b.renew_alerts,
        "ENABLE_RENEW_BLOCK_EMAILS",
    );
    l.flag(
        "blocking.flush-at-init",
        &b.flush_at_init,
        "FLUSH_IPT_AT_INIT",
    );
    if let Some(v) = &b.ipt_chains {
        for (i, c) in v.get_ref().iter().enumerate() {
            let var = format!("IPT_AUTO_CHAIN{}", i + 1);
            l.set("blocking.ipt-chains", v.span(), &var, c.clone());
        }
    }
    let bad = |l: &Lowering<'_>, key: &str, span: std::ops::Range<usize>, m: String| {
        ConfigError::at(&l.origin(key, span), ConfigErrorKind::InvalidValue, m)
    };
    let mut t = BlockingToml::default();
    if let Some(v) = &b.backend {
        let k = BackendKind::parse(v.get_ref()).ok_or_else(|| {
            bad(
                l,
                "blocking.backend",
                v.span(),
                format!(
                    "invalid value {:?}: expected auto, nftables, iptables or ipset",
                    v.get_ref()
                ),
            )
        })?;
        t.backend = Some((k, l.origin("blocking.backend", v.span())));
    }
    if let Some(v) = &b.safelist {
        let mut nets = Vec::new();
        for item in v.get_ref() {
            nets.push(item.trim().parse::<crate::net::IpNet>().map_err(|_| {
                bad(
                    l,
                    "blocking.safelist",
                    v.span(),
                    format!("{item:?} is not an IPv4/IPv6 address or network"),
                )
            })?);
        }
        t.safelist = Some(nets);
    }
    if let Some(v) = &b.ipv6_prefix {
        t.ipv6_prefix = Some(match v.get_ref() {
            Ipv6Prefix::On(true) => Some(64),
            Ipv6Prefix::On(false) => None,
            Ipv6Prefix::Len(n @ 1..=128) => Some(*n),
            Ipv6Prefix::Len(n) => {
                return Err(bad(
                    l,
                    "blocking.ipv6-prefix",
                    v.span(),
                    format!("prefix length {n} is not 1..128"),
                ))
            }
        });
    }
    t.max_per_minute = b.max_per_minute.as_ref().map(|v| *v.get_ref());
    if let Some(v) = &b.check_interval {
        let secs = match v.get_ref() {
            Duration::Secs(n) => Ok(*n),
            Duration::Text(t) => parse_duration(t),
        }
        .and_then(|n| match n {
            0 => Err("0 would check without pause: use at least 1s".to_string()),
            n => Ok(n),
        })
        .map_err(|m| bad(l, "blocking.check-interval", v.span(), m))?;
        t.check_interval = Some(secs);
    }
    t.dry_run = b.dry_run.as_ref().map(|v| *v.get_ref());
    if let Some(v) = &b.table {
        if !super::blocking::valid_name(v.get_ref(), 24) {
            return Err(bad(
                l,
                "blocking.table",
                v.span(),
                "use 1-24 letters, digits, '_' or '-'".into(),
            ));
        }
        t.table = Some(v.get_ref().clone());
    }
    if let Some(v) = &b.hooks {
        let mut hooks = Vec::new();
        for h in v.get_ref() {
            hooks.push(match h.as_str() {
                "input" => Hook::Input,
                "forward" => Hook::Forward,
                "output" => Hook::Output,
                _ => {
                    return Err(bad(
                        l,
                        "blocking.hooks",
                        v.span(),
                        format!("{h:?} is not input, forward or output"),
                    ))
                }
            });
        }
        t.hooks = Some(hooks);
    }
    Ok(t)
}

/// Checks `[trw]` and builds its parameters (`None` when disabled).
fn lower_trw(
    t: &Trw,
    origin: &super::error::Origin,
) -> Result<Option<crate::engine::TrwConfig>, ConfigError> {
    if t.enabled == Some(false) {
        return Ok(None);
    }
    let bad = |msg: String| ConfigError::at(origin, ConfigErrorKind::InvalidValue, msg);
    let mut cfg = crate::engine::TrwConfig {
        accept_prefixes: t.accept_prefixes.clone().unwrap_or_default(),
        ..crate::engine::TrwConfig::default()
    };
    for svc in t.open_services.iter().flatten() {
        let parsed = svc.rsplit_once(':').and_then(|(net, pp)| {
            let (proto, port) = pp.split_once('/')?;
            let proto = match proto.to_ascii_lowercase().as_str() {
                "tcp" => crate::packet::Proto::Tcp,
                "udp" => crate::packet::Proto::Udp,
                _ => return None,
            };
            let net = net
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .ok()?;
            Some((net, proto, port.parse().ok()?))
        });
        cfg.open_services.push(parsed.ok_or_else(|| {
            bad(format!(
                "open-services: {svc:?} is not ADDR[/LEN]:tcp|udp/PORT"
            ))
        })?);
    }
    let prob = |name: &str, v: Option<f64>, default: f64| -> Result<f64, ConfigError> {
        match v {
            None => Ok(default),
            Some(x) if x > 0.0 && x < 1.0 => Ok(x),
            Some(x) => Err(bad(format!(
                "{name} must lie strictly between 0 and 1, not {x}"
            ))),
        }
    };
    cfg.theta0 = prob("theta0", t.theta0, cfg.theta0)?;
    cfg.theta1 = prob("theta1", t.theta1, cfg.theta1)?;
    cfg.detection = prob("detection", t.detection, cfg.detection)?;
    cfg.false_positive = prob("false-positive", t.false_positive, cfg.false_positive)?;
    if cfg.theta1 >= cfg.theta0 {
        return Err(bad(
            "theta1 (scanners' success rate) must be below theta0 (benign hosts')".into(),
        ));
    }
    if cfg.accept_prefixes.is_empty() && cfg.open_services.is_empty() {
        return Err(bad(
            "TRW needs accept-prefixes or open-services to tell a successful first contact".into(),
        ));
    }
    cfg.danger_level = match t.danger_level {
        None => cfg.danger_level,
        Some(d @ 1..=5) => d,
        Some(d) => return Err(bad(format!("danger-level must be 1..5, not {d}"))),
    };
    Ok(Some(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("1h 30m"), Ok(5400));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999w").is_err());
    }

    #[test]
    fn spans_give_lines() {
        let text = "[detection]\n\ndanger-levels = [1, 2, 3, 4, 5]\nhome-net = \"any\"\nscan-timeout = \"2h\"\n";
        let t = TomlConfig::parse("t.toml", text).unwrap();
        let dl1 = t
            .assignments
            .iter()
            .find(|a| a.name == "DANGER_LEVEL1")
            .unwrap();
        assert_eq!(dl1.origin.line, Some(3));
        let to = t
            .assignments
            .iter()
            .find(|a| a.name == "SCAN_TIMEOUT")
            .unwrap();
        assert_eq!(to.value, "7200");
        assert_eq!(to.origin.line, Some(5));
    }

    #[test]
    fn unknown_key_is_named_with_line() {
        let text = "[detection]\nmin-danger-level = 2\ndanger-level = [1,2,3,4,5]\n";
        let e = TomlConfig::parse("t.toml", text).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::UnknownKey);
        assert_eq!(e.line, Some(3));
        assert_eq!(e.key.as_deref(), Some("danger-level"));
        assert_eq!(e.suggestion.as_deref(), Some("danger-levels"));
        let s = e.to_string();
        assert!(s.starts_with("t.toml:3: danger-level: unknown key"), "{s}");
        assert!(s.ends_with("(did you mean danger-levels?)"), "{s}");
    }

    #[test]
    fn type_errors_name_line_and_key() {
        let e = TomlConfig::parse("t.toml", "[detection]\nmax-hops = \"twenty\"\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(e.key.as_deref(), Some("max-hops"));
        let e = TomlConfig::parse("t.toml", "[detection]\ndanger-levels = [1, 2]\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        let e = TomlConfig::parse("t.toml", "[detektion]\n").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("detection"), "{e}");
    }

    #[test]
    fn vars_table() {
        let text = "[detection]\nhome-net = [\"192.0.2.0/24\"]\n[vars]\nMY_NET = \"10.0.0.0/8\"\nHTTP_PORTS = 8080\n";
        let t = TomlConfig::parse("t.toml", text).unwrap();
        assert!(t
            .assignments
            .iter()
            .any(|a| a.name == "MY_NET" && a.value == "10.0.0.0/8"));
        assert!(t
            .assignments
            .iter()
            .any(|a| a.name == "HTTP_PORTS" && a.value == "8080"));
        let e = TomlConfig::parse("t.toml", "[vars]\nHTTP_SERVER = \"x\"\n").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("HTTP_SERVERS"));
        assert_eq!(e.line, Some(2));
        let dup = "[detection]\nhome-net = \"any\"\n[vars]\nHOME_NET = \"10.0.0.0/8\"\n";
        let e = TomlConfig::parse("t.toml", dup).unwrap_err();
        assert!(
            e.to_string().contains("already set by detection.home-net"),
            "{e}"
        );
    }
}
