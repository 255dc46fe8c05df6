//! The alerting model: the when-to-alert policy and every channel (email, syslog,
//! scripts, webhooks, lookups, the desktop agent), lowered from psad's variables and
//! `tripline.toml`'s `[email]`, `[syslog]`, `[[script]]`, `[[webhook]]`, `[lookups]` and
//! `[notify]` sections.
//!
//! psad semantics (spec §5.3, §5.5): `ALERTING_METHODS` turns email (`noemail`) and syslog
//! (`nosyslog`) off; email goes to `EMAIL_ADDRESSES` through `mailCmd` for
//! DL >= `EMAIL_ALERT_DANGER_LEVEL`; syslog uses `SYSLOG_IDENTITY`/`FACILITY`/`PRIORITY`;
//! `EXTERNAL_SCRIPT` runs when `ENABLE_EXT_SCRIPT_EXEC Y`, per alert or once per source
//! (`EXEC_EXT_SCRIPT_PER_ALERT`). Those psad channels are on only when a psad.conf was
//! loaded: without one, Tripline sends nothing it was not told to.

use super::error::{ConfigError, ConfigErrorKind, Origin};
use super::toml::parse_duration;
use crate::alert::PolicyConfig;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Per-channel minimum danger level and rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelLimits {
    /// Alerts below this danger level are not sent on the channel.
    pub min_dl: u8,
    /// Messages a minute on average (0 = unlimited).
    pub per_minute: u32,
    /// Burst size.
    pub burst: u32,
}

impl ChannelLimits {
    fn new(min_dl: u8) -> ChannelLimits {
        ChannelLimits {
            min_dl,
            per_minute: 0,
            burst: 10,
        }
    }
}

/// Everything about alerts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertingConfig {
    /// When to alert.
    pub policy: PolicyConfig,
    /// This host's name in status messages (`HOSTNAME`; `_CHANGEME_` = ask the system).
    pub hostname: Option<String>,
    /// Subject prefix of alerts (`MAIL_ALERT_PREFIX`).
    pub alert_prefix: String,
    /// Subject prefix of status messages (`MAIL_STATUS_PREFIX`).
    pub status_prefix: String,
    /// Email, when on.
    pub email: Option<EmailConfig>,
    /// Syslog, when on.
    pub syslog: Option<SyslogConfig>,
    /// External commands.
    pub scripts: Vec<ScriptConfig>,
    /// Webhooks.
    pub webhooks: Vec<WebhookConfig>,
    /// Reverse DNS and whois.
    pub lookups: LookupConfig,
    /// The desktop agent (`tripline notify`).
    pub notify: NotifyConfig,
    /// `ENABLE_AUTO_IDS_EMAILS` (TOML `[blocking] alerts`): report blocks added and
    /// lifted and the blocks-a-minute cap on every alert channel.
    pub block_alerts: bool,
    /// `ENABLE_RENEW_BLOCK_EMAILS` (TOML `[blocking] renew-alerts`): report renewed
    /// blocks too.
    pub renew_block_alerts: bool,
}

/// Email.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailConfig {
    /// Recipients.
    pub to: Vec<String>,
    /// Sender (`root@<hostname>` when empty).
    pub from: String,
    /// How mail leaves.
    pub transport: EmailTransport,
    /// Level and rate.
    pub limits: ChannelLimits,
}

/// SMTP connection security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SmtpTls {
    /// Plain text (loopback relays only).
    None,
    /// STARTTLS, required.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// How email is delivered.
#[derive(Debug, Clone, PartialEq)]
pub enum EmailTransport {
    /// SMTP (lettre).
    Smtp {
        /// Server.
        host: String,
        /// Port.
        port: u16,
        /// Security.
        tls: SmtpTls,
        /// Login.
        user: Option<String>,
        /// Password (prefer `password_file`).
        password: Option<String>,
        /// File holding the password.
        password_file: Option<String>,
        /// PEM file of extra certificate authorities to trust for TLS (an
        /// internal relay's own CA), besides the built-in web roots.
        ca_file: Option<String>,
        /// Timeout in seconds.
        timeout_secs: u64,
    },
    /// A sendmail-compatible binary (`sendmail -i -- to...`, message on stdin).
    Sendmail {
        /// Path.
        path: String,
    },
    /// psad's way: `<mailCmd> [EMAIL_APPEND_HEADER] -s <subject> <to...>`, body on stdin.
    MailCmd {
        /// `mailCmd`.
        path: String,
        /// `EMAIL_APPEND_HEADER` words, inserted as arguments.
        append_header: Vec<String>,
    },
}

/// Syslog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogConfig {
    /// `SYSLOG_IDENTITY`.
    pub identity: String,
    /// Facility number (local7 = 23).
    pub facility: u8,
    /// Severity number (info = 6).
    pub priority: u8,
    /// The local syslog socket (`/dev/log`).
    pub socket: String,
    /// `ENABLE_SIG_MSG_SYSLOG`: also log signature matches, at most this many per alert.
    pub signature_lines: usize,
    /// Level and rate.
    pub limits: ChannelLimits,
}

/// How a script's command is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptCommand {
    /// Native: argv, run as is (no shell), with variables in the environment.
    Argv(Vec<String>),
    /// psad's `EXTERNAL_SCRIPT` text: split by shell quoting rules (never run by a shell),
    /// leading `NAME=value` words become environment variables, and `SRCIP`, `DSTIP`,
    /// `DANGER_LEVEL` ... are replaced inside the words as plain data.
    PsadTemplate(String),
}

/// An external command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptConfig {
    /// Name for logs.
    pub name: String,
    /// The command.
    pub command: ScriptCommand,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// Killed after this many seconds.
    pub timeout_secs: u64,
    /// At most this many running at once (others wait in a bounded queue).
    pub max_running: usize,
    /// Every alert (true) or once per source (false; psad `EXEC_EXT_SCRIPT_PER_ALERT N`).
    pub per_alert: bool,
    /// Write the alert as JSON to stdin.
    pub stdin_json: bool,
    /// Level and rate.
    pub limits: ChannelLimits,
}

/// Webhook payload format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WebhookFormat {
    /// The alert record as JSON.
    Json,
    /// ntfy: text body, Title/Priority/Tags headers.
    Ntfy,
    /// Slack incoming webhook (`{"text": ...}`).
    Slack,
    /// Matrix client-server API `m.room.message` (PUT-able body; POST here).
    Matrix,
    /// Discord webhook (`{"content": ...}`).
    Discord,
}

/// A webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    /// Name for logs.
    pub name: String,
    /// URL.
    pub url: String,
    /// Payload.
    pub format: WebhookFormat,
    /// Extra headers (e.g. `Authorization`).
    pub headers: BTreeMap<String, String>,
    /// Retries after the first attempt.
    pub retries: u32,
    /// First retry delay in milliseconds (doubles each retry).
    pub backoff_ms: u64,
    /// Per-request timeout in seconds.
    pub timeout_secs: u64,
    /// Level and rate.
    pub limits: ChannelLimits,
}

/// Reverse DNS and whois.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupConfig {
    /// Reverse DNS (`ENABLE_DNS_LOOKUPS`).
    pub dns: bool,
    /// A nameserver `ip:port` instead of the system's.
    pub dns_server: Option<String>,
    /// Seconds.
    pub dns_timeout_secs: u64,
    /// whois (`ENABLE_WHOIS_LOOKUPS`).
    pub whois: bool,
    /// First whois server `host:port` (referrals are followed from there).
    pub whois_server: String,
    /// Seconds (`WHOIS_TIMEOUT`).
    pub whois_timeout_secs: u64,
    /// Cached answers kept.
    pub cache_size: usize,
}

impl Default for LookupConfig {
    fn default() -> Self {
        LookupConfig {
            dns: true,
            dns_server: None,
            dns_timeout_secs: 3,
            whois: true,
            whois_server: "whois.iana.org:43".into(),
            whois_timeout_secs: 60,
            cache_size: 4096,
        }
    }
}

/// The desktop agent and the daemon's event socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// Event socket path.
    pub socket: String,
    /// Group allowed to read the socket.
    pub group: Option<String>,
    /// URL opened by the pop-up's "Details" action.
    pub dashboard_url: Option<String>,
    /// Alerts below this level make no pop-up.
    pub min_dl: u8,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            socket: "/run/tripline/events.sock".into(),
            group: None,
            dashboard_url: None,
            min_dl: 1,
        }
    }
}

// ---- tripline.toml sections (deserialised by toml.rs) ----

/// `[email]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct EmailToml {
    pub enabled: Option<bool>,
    /// -> `EMAIL_ADDRESSES`.
    pub to: Option<Vec<String>>,
    /// -> `EMAIL_ALERT_DANGER_LEVEL`.
    pub min_danger_level: Option<u8>,
    pub from: Option<String>,
    pub transport: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<SmtpTls>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<String>,
    pub ca_file: Option<String>,
    pub timeout: Option<DurationToml>,
    pub sendmail: Option<String>,
    pub rate_per_minute: Option<u32>,
    pub burst: Option<u32>,
}

/// `[syslog]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct SyslogToml {
    pub enabled: Option<bool>,
    /// -> `SYSLOG_IDENTITY`, `SYSLOG_FACILITY`, `SYSLOG_PRIORITY`.
    pub identity: Option<String>,
    pub facility: Option<String>,
    pub priority: Option<String>,
    pub socket: Option<String>,
    pub min_danger_level: Option<u8>,
    pub rate_per_minute: Option<u32>,
    pub burst: Option<u32>,
}

/// `[[script]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ScriptToml {
    pub name: Option<String>,
    pub command: Option<Vec<String>>,
    pub psad_command: Option<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub timeout: Option<DurationToml>,
    pub max_running: Option<usize>,
    pub per: Option<String>,
    pub stdin_json: Option<bool>,
    pub min_danger_level: Option<u8>,
    pub rate_per_minute: Option<u32>,
    pub burst: Option<u32>,
}

/// `[[webhook]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct WebhookToml {
    pub name: Option<String>,
    pub url: String,
    pub format: Option<WebhookFormat>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub retries: Option<u32>,
    pub backoff: Option<DurationToml>,
    pub timeout: Option<DurationToml>,
    pub min_danger_level: Option<u8>,
    pub rate_per_minute: Option<u32>,
    pub burst: Option<u32>,
}

/// `[lookups]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct LookupsToml {
    /// -> `ENABLE_DNS_LOOKUPS`, `ENABLE_WHOIS_LOOKUPS`, `WHOIS_TIMEOUT`.
    pub dns: Option<bool>,
    pub whois: Option<bool>,
    pub whois_timeout: Option<u64>,
    pub dns_server: Option<String>,
    pub dns_timeout: Option<DurationToml>,
    pub whois_server: Option<String>,
    pub cache_size: Option<usize>,
}

/// `[notify]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct NotifyToml {
    pub socket: Option<String>,
    pub group: Option<String>,
    pub dashboard_url: Option<String>,
    pub min_danger_level: Option<u8>,
}

/// Seconds or `"90s"`; milliseconds with `"500ms"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum DurationToml {
    Secs(u64),
    Text(String),
}

impl DurationToml {
    fn millis(&self, key: &str, file: &str) -> Result<u64, ConfigError> {
        match self {
            DurationToml::Secs(n) => Ok(n.saturating_mul(1000)),
            DurationToml::Text(t) => {
                if let Some(ms) = t.trim().strip_suffix("ms") {
                    return ms
                        .trim()
                        .parse()
                        .map_err(|_| bad(file, key, "bad milliseconds"));
                }
                parse_duration(t)
                    .map(|s| s.saturating_mul(1000))
                    .map_err(|m| bad(file, key, &m))
            }
        }
    }
}

/// The TOML alerting sections of one file (first definition wins across files).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AlertingToml {
    pub file: String,
    pub email: Option<EmailToml>,
    pub syslog: Option<SyslogToml>,
    pub scripts: Option<Vec<ScriptToml>>,
    pub webhooks: Option<Vec<WebhookToml>>,
    pub lookups: Option<LookupsToml>,
    pub notify: Option<NotifyToml>,
}

impl AlertingToml {
    /// Takes every section of `other` that is not set yet.
    pub fn fill_from(&mut self, other: &AlertingToml) {
        if self.file.is_empty() {
            self.file = other.file.clone();
        }
        macro_rules! fill {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = other.$f.clone(); } )* };
        }
        fill!(email, syslog, scripts, webhooks, lookups, notify);
    }
}

fn bad(file: &str, key: &str, msg: &str) -> ConfigError {
    ConfigError::at(
        &Origin {
            file: file.to_string(),
            line: None,
            key: key.to_string(),
        },
        ConfigErrorKind::InvalidValue,
        msg.to_string(),
    )
}

/// psad's syslog facility name (`LOG_LOCAL7`, `local7`) as a number.
pub fn facility_number(name: &str) -> Option<u8> {
    let n = name.trim().to_ascii_uppercase();
    let n = n.strip_prefix("LOG_").unwrap_or(&n);
    (0..8u8)
        .find(|i| n == format!("LOCAL{i}"))
        .map(|i| 16 + i)
        .or(match n {
            "USER" => Some(1),
            "DAEMON" => Some(3),
            "AUTH" => Some(4),
            "AUTHPRIV" => Some(10),
            _ => None,
        })
}

/// Syslog severity name (`LOG_INFO`, `warning`) as a number.
pub fn priority_number(name: &str) -> Option<u8> {
    let n = name.trim().to_ascii_uppercase();
    let n = n.strip_prefix("LOG_").unwrap_or(&n);
    [
        "EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG",
    ]
    .iter()
    .position(|p| *p == n)
    .map(|i| i as u8)
}

/// Lowers the alerting settings. `vars` are the validated psad variables; `psad_conf`
/// says whether a psad.conf was loaded (psad's email/syslog/script channels follow it).
pub(crate) fn lower(
    vars: &BTreeMap<String, String>,
    t: &AlertingToml,
    psad_conf: bool,
    psad_compat: bool,
) -> Result<AlertingConfig, ConfigError> {
    let get = |n: &str| vars.get(n).map(String::as_str).unwrap_or("");
    let num = |n: &str| get(n).parse::<u64>().unwrap_or(0);
    let flag = |n: &str| get(n) == "Y";
    let file = t.file.as_str();
    let methods = get("ALERTING_METHODS").to_ascii_lowercase();
    let no_email = matches_no(&methods, "mail");
    let no_syslog = matches_no(&methods, "syslog");
    let email_dl = u8::try_from(num("EMAIL_ALERT_DANGER_LEVEL")).unwrap_or(5);
    let min_dl = u8::try_from(num("MIN_DANGER_LEVEL")).unwrap_or(1).max(1);

    let mut a = AlertingConfig {
        policy: PolicyConfig {
            min_danger_level: min_dl,
            alert_all: flag("ALERT_ALL"),
            limit: num("EMAIL_LIMIT"),
            limit_per_dst: flag("ENABLE_EMAIL_LIMIT_PER_DST"),
            limit_status_msg: flag("EMAIL_LIMIT_STATUS_MSG"),
            throttle: num("EMAIL_THROTTLE"),
            check_interval_secs: num("CHECK_INTERVAL").max(1),
            psad_compat,
        },
        block_alerts: flag("ENABLE_AUTO_IDS_EMAILS"),
        renew_block_alerts: flag("ENABLE_RENEW_BLOCK_EMAILS"),
        hostname: match get("HOSTNAME") {
            "" | "_CHANGEME_" => None,
            h => Some(h.to_string()),
        },
        // Our own prefixes unless a psad.conf (whose users may filter on psad's) is loaded.
        alert_prefix: match get("MAIL_ALERT_PREFIX") {
            "[psad-alert]" if !psad_conf => "[tripline-alert]".to_string(),
            p => p.to_string(),
        },
        status_prefix: match get("MAIL_STATUS_PREFIX") {
            "[psad-status]" if !psad_conf => "[tripline-status]".to_string(),
            p => p.to_string(),
        },
        ..AlertingConfig::default()
    };
    let to: Vec<String> = get("EMAIL_ADDRESSES")
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();

    // Email: psad's mailCmd when psad.conf is loaded, or TOML [email].
    let te = t.email.as_ref();
    let email_on = match te.and_then(|e| e.enabled) {
        Some(on) => on,
        None => te.is_some() || (psad_conf && !no_email),
    };
    if email_on {
        let e = te.cloned().unwrap_or_default();
        let transport = match e.transport.as_deref() {
            None if e.host.is_none() => "mail",
            None => "smtp",
            Some(x) => x,
        };
        let transport = match transport {
            "smtp" => EmailTransport::Smtp {
                host: e.host.clone().unwrap_or_else(|| "localhost".into()),
                port: e.port.unwrap_or(match e.tls {
                    Some(SmtpTls::Tls) => 465,
                    Some(SmtpTls::Starttls) => 587,
                    _ => 25,
                }),
                tls: e.tls.unwrap_or(SmtpTls::Starttls),
                user: e.user.clone(),
                password: e.password.clone(),
                password_file: e.password_file.clone(),
                ca_file: e.ca_file.clone(),
                timeout_secs: match &e.timeout {
                    Some(d) => d.millis("email.timeout", file)? / 1000,
                    None => 30,
                }
                .max(1),
            },
            "sendmail" => EmailTransport::Sendmail {
                path: e
                    .sendmail
                    .clone()
                    .unwrap_or_else(|| get("sendmailCmd").to_string()),
            },
            "mail" => EmailTransport::MailCmd {
                path: get("mailCmd").to_string(),
                append_header: match get("EMAIL_APPEND_HEADER") {
                    "" | "NONE" => Vec::new(),
                    h => h.split_ascii_whitespace().map(str::to_string).collect(),
                },
            },
            other => {
                return Err(bad(
                    file,
                    "email.transport",
                    &format!("unknown transport {other:?}: expected smtp, sendmail or mail"),
                ))
            }
        };
        let mut limits = ChannelLimits::new(email_dl);
        limits.per_minute = e.rate_per_minute.unwrap_or(0);
        limits.burst = e.burst.unwrap_or(limits.burst);
        a.email = Some(EmailConfig {
            to: to.clone(),
            from: e.from.clone().unwrap_or_default(),
            transport,
            limits,
        });
    }

    // Syslog.
    let ts = t.syslog.as_ref();
    let syslog_on = match ts.and_then(|s| s.enabled) {
        Some(on) => on,
        None => ts.is_some() || (psad_conf && !no_syslog),
    };
    if syslog_on {
        let s = ts.cloned().unwrap_or_default();
        let mut limits = ChannelLimits::new(s.min_danger_level.unwrap_or(min_dl));
        limits.per_minute = s.rate_per_minute.unwrap_or(0);
        limits.burst = s.burst.unwrap_or(limits.burst);
        a.syslog = Some(SyslogConfig {
            identity: get("SYSLOG_IDENTITY").to_string(),
            facility: facility_number(get("SYSLOG_FACILITY")).unwrap_or(23),
            priority: priority_number(get("SYSLOG_PRIORITY")).unwrap_or(6),
            socket: s.socket.clone().unwrap_or_else(|| "/dev/log".into()),
            signature_lines: if flag("ENABLE_SIG_MSG_SYSLOG") {
                usize::try_from(num("SIG_MSG_SYSLOG_THRESHOLD")).unwrap_or(10)
            } else {
                0
            },
            limits,
        });
    }

    // psad's EXTERNAL_SCRIPT (inside the email branch: DL >= EMAIL_ALERT_DANGER_LEVEL).
    if flag("ENABLE_EXT_SCRIPT_EXEC") {
        a.scripts.push(ScriptConfig {
            name: "EXTERNAL_SCRIPT".into(),
            command: ScriptCommand::PsadTemplate(get("EXTERNAL_SCRIPT").to_string()),
            env: BTreeMap::new(),
            timeout_secs: 30,
            max_running: 4,
            per_alert: flag("EXEC_EXT_SCRIPT_PER_ALERT"),
            stdin_json: false,
            limits: ChannelLimits::new(email_dl),
        });
    }
    for (i, s) in t.scripts.iter().flatten().enumerate() {
        let key = format!("script[{i}]");
        let command = match (&s.command, &s.psad_command) {
            (Some(argv), None) if !argv.is_empty() => ScriptCommand::Argv(argv.clone()),
            (None, Some(text)) if !text.trim().is_empty() => {
                ScriptCommand::PsadTemplate(text.clone())
            }
            _ => {
                return Err(bad(
                    file,
                    &key,
                    "give exactly one of command = [argv...] or psad-command = \"...\"",
                ))
            }
        };
        let per_alert = match s.per.as_deref() {
            None | Some("alert") => true,
            Some("source") => false,
            Some(x) => {
                return Err(bad(
                    file,
                    &format!("{key}.per"),
                    &format!("{x:?}: expected \"alert\" or \"source\""),
                ))
            }
        };
        let mut limits = ChannelLimits::new(s.min_danger_level.unwrap_or(email_dl));
        limits.per_minute = s.rate_per_minute.unwrap_or(0);
        limits.burst = s.burst.unwrap_or(limits.burst);
        a.scripts.push(ScriptConfig {
            name: s.name.clone().unwrap_or_else(|| key.clone()),
            command,
            env: s.env.clone(),
            timeout_secs: match &s.timeout {
                Some(d) => (d.millis(&format!("{key}.timeout"), file)? / 1000).max(1),
                None => 30,
            },
            max_running: s.max_running.unwrap_or(4).max(1),
            per_alert,
            stdin_json: s.stdin_json.unwrap_or(true),
            limits,
        });
    }

    for (i, w) in t.webhooks.iter().flatten().enumerate() {
        let key = format!("webhook[{i}]");
        if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
            return Err(bad(
                file,
                &format!("{key}.url"),
                "expected an http:// or https:// URL",
            ));
        }
        let mut limits = ChannelLimits::new(w.min_danger_level.unwrap_or(email_dl));
        limits.per_minute = w.rate_per_minute.unwrap_or(0);
        limits.burst = w.burst.unwrap_or(limits.burst);
        a.webhooks.push(WebhookConfig {
            name: w.name.clone().unwrap_or_else(|| key.clone()),
            url: w.url.clone(),
            format: w.format.unwrap_or(WebhookFormat::Json),
            headers: w.headers.clone(),
            retries: w.retries.unwrap_or(3),
            backoff_ms: match &w.backoff {
                Some(d) => d.millis(&format!("{key}.backoff"), file)?,
                None => 1000,
            },
            timeout_secs: match &w.timeout {
                Some(d) => (d.millis(&format!("{key}.timeout"), file)? / 1000).max(1),
                None => 10,
            },
            limits,
        });
    }

    let l = t.lookups.clone().unwrap_or_default();
    a.lookups = LookupConfig {
        dns: flag("ENABLE_DNS_LOOKUPS"),
        dns_server: l.dns_server.clone(),
        dns_timeout_secs: match &l.dns_timeout {
            Some(d) => (d.millis("lookups.dns-timeout", file)? / 1000).max(1),
            None => 3,
        },
        whois: flag("ENABLE_WHOIS_LOOKUPS"),
        whois_server: l
            .whois_server
            .clone()
            .unwrap_or_else(|| LookupConfig::default().whois_server),
        whois_timeout_secs: num("WHOIS_TIMEOUT").max(1),
        cache_size: l.cache_size.unwrap_or(4096),
    };
    if let Some(n) = &t.notify {
        let d = NotifyConfig::default();
        a.notify = NotifyConfig {
            socket: n.socket.clone().unwrap_or(d.socket),
            group: n.group.clone(),
            dashboard_url: n.dashboard_url.clone(),
            min_dl: n.min_danger_level.unwrap_or(d.min_dl),
        };
    }
    Ok(a)
}

/// psad's `no.?e?mail` / `no.?syslog` regexes, on lowercase text. Matched by
/// hand: compiling the regexes was a tenth of every start-up.
fn matches_no(methods: &str, what: &str) -> bool {
    let (word, e) = if what == "mail" {
        ("mail", true)
    } else {
        ("syslog", false)
    };
    let ends = |s: &str| {
        s.starts_with(word) || (e && s.strip_prefix('e').is_some_and(|t| t.starts_with(word)))
    };
    methods.match_indices("no").any(|(i, _)| {
        let rest = &methods[i + 2..];
        ends(rest)
            || rest
                .chars()
                .next()
                .is_some_and(|c| c != '\n' && ends(&rest[c.len_utf8()..]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigBuilder, TomlConfig};

    #[test]
    fn alerting_methods_like_psad() {
        assert!(matches_no("noemail", "mail"));
        assert!(matches_no("no_email", "mail"));
        assert!(matches_no("nomail", "mail"));
        assert!(!matches_no("all", "mail"));
        assert!(matches_no("noemail nosyslog", "syslog"));
        assert!(matches_no("no-syslog", "syslog"));
        assert!(!matches_no("noemail", "syslog"));
    }

    #[test]
    fn matches_no_agrees_with_psads_regexes() {
        let mail = regex::Regex::new(r"no.?e?mail").unwrap();
        let syslog = regex::Regex::new(r"no.?syslog").unwrap();
        // Pieces, so that matches are common.
        let pieces = [
            "no", "n", "o", "e", "mail", "syslog", "_", "\n", "é", "ai", "x",
        ];
        let mut hits = 0;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 6) as usize;
            let s: String = (0..len)
                .map(|k| pieces[((x >> (4 * k + 3)) % pieces.len() as u64) as usize])
                .collect();
            assert_eq!(matches_no(&s, "mail"), mail.is_match(&s), "{s:?}");
            assert_eq!(matches_no(&s, "syslog"), syslog.is_match(&s), "{s:?}");
            hits += usize::from(mail.is_match(&s)) + usize::from(syslog.is_match(&s));
        }
        assert!(hits > 1000, "{hits} matches");
    }

    #[test]
    fn psad_conf_turns_on_psads_channels() {
        let mut b = ConfigBuilder::new();
        b.add_psad_conf(
            "psad.conf",
            "EMAIL_ADDRESSES a@example.test, b@example.test;\n\
             EMAIL_ALERT_DANGER_LEVEL 3;\nEMAIL_LIMIT 7;\nEMAIL_THROTTLE 2;\nALERT_ALL N;\n\
             SYSLOG_FACILITY LOG_LOCAL3;\nSYSLOG_PRIORITY LOG_WARNING;\nSYSLOG_IDENTITY fw;\n\
             ENABLE_EXT_SCRIPT_EXEC Y;\nEXEC_EXT_SCRIPT_PER_ALERT Y;\n\
             EXTERNAL_SCRIPT DISPLAY=:0.0 notify-send \"Firewall Alert\" \"from SRCIP\";\n\
             mailCmd /usr/bin/mail;\n",
        )
        .unwrap();
        let a = b.build().unwrap().config.alerting;
        assert_eq!(a.policy.limit, 7);
        assert_eq!(a.policy.throttle, 2);
        assert!(!a.policy.alert_all);
        let e = a.email.unwrap();
        assert_eq!(e.to, ["a@example.test", "b@example.test"]);
        assert_eq!(e.limits.min_dl, 3);
        assert!(
            matches!(e.transport, EmailTransport::MailCmd { ref path, .. } if path == "/usr/bin/mail")
        );
        let s = a.syslog.unwrap();
        assert_eq!((s.facility, s.priority, s.identity.as_str()), (19, 4, "fw"));
        assert_eq!(a.scripts.len(), 1);
        assert!(a.scripts[0].per_alert);
        assert_eq!(
            a.scripts[0].command,
            ScriptCommand::PsadTemplate(
                "DISPLAY=:0.0 notify-send \"Firewall Alert\" \"from SRCIP\"".into()
            )
        );
    }

    #[test]
    fn noemail_nosyslog_and_no_psad_conf_mean_silence() {
        let quiet = ConfigBuilder::new().build().unwrap().config.alerting;
        assert!(quiet.email.is_none() && quiet.syslog.is_none() && quiet.scripts.is_empty());
        let mut b = ConfigBuilder::new();
        b.add_psad_conf("p", "ALERTING_METHODS noemail,nosyslog;\n")
            .unwrap();
        let a = b.build().unwrap().config.alerting;
        assert!(a.email.is_none() && a.syslog.is_none());
    }

    #[test]
    fn toml_sections_lower() {
        let t = TomlConfig::parse(
            "t.toml",
            r#"
[alerts]
email-limit = 3
email-throttle = 2
[email]
to = ["ops@example.test"]
from = "tripline@example.test"
host = "127.0.0.1"
port = 2525
tls = "none"
min-danger-level = 2
[syslog]
socket = "/tmp/log.sock"
facility = "local5"
priority = "notice"
[[script]]
command = ["/usr/local/bin/on-alert", "--src"]
per = "source"
timeout = "5s"
[[webhook]]
url = "http://127.0.0.1:9/hook"
format = "ntfy"
backoff = "200ms"
[lookups]
dns-server = "127.0.0.1:5300"
whois-server = "127.0.0.1:4300"
[notify]
dashboard-url = "http://localhost:8080/"
"#,
        )
        .unwrap();
        let a = ConfigBuilder::new()
            .add_toml(&t)
            .build()
            .unwrap()
            .config
            .alerting;
        assert_eq!(a.policy.limit, 3);
        let e = a.email.unwrap();
        assert_eq!(e.to, ["ops@example.test"]);
        assert_eq!(e.limits.min_dl, 2);
        assert!(matches!(
            e.transport,
            EmailTransport::Smtp {
                port: 2525,
                tls: SmtpTls::None,
                ..
            }
        ));
        let s = a.syslog.unwrap();
        assert_eq!((s.facility, s.priority), (21, 5));
        assert_eq!(s.socket, "/tmp/log.sock");
        assert!(!a.scripts[0].per_alert);
        assert_eq!(a.scripts[0].timeout_secs, 5);
        assert_eq!(a.webhooks[0].format, WebhookFormat::Ntfy);
        assert_eq!(a.webhooks[0].backoff_ms, 200);
        assert_eq!(a.lookups.dns_server.as_deref(), Some("127.0.0.1:5300"));
        assert_eq!(
            a.notify.dashboard_url.as_deref(),
            Some("http://localhost:8080/")
        );
    }

    #[test]
    fn bad_webhook_url_names_the_key() {
        let t = TomlConfig::parse("t.toml", "[[webhook]]\nurl = \"ftp://x\"\n").unwrap();
        let e = ConfigBuilder::new().add_toml(&t).build().unwrap_err();
        assert!(e.to_string().contains("webhook[0].url"), "{e}");
    }
}
