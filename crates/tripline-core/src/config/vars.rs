//! psad 2.4.6's variables: the names it knows, their defaults and value kinds, `$VAR`
//! expansion, and the typo suggestion for unknown names.
//!
//! The table holds names and default values only (facts about psad 2.4.6, spec §7.11);
//! the order follows psad.conf so `config dump` readers can find their way.

/// Every psad 2.4.6 variable with its default value (before `$VAR` expansion).
///
/// Command paths (`*Cmd`) are included so `config dump` shows them too.
pub(crate) static PSAD_DEFAULTS: &[(&str, &str)] = &[
    ("EMAIL_ADDRESSES", "root@localhost"),
    ("HOSTNAME", "_CHANGEME_"),
    ("HOME_NET", "any"),
    ("EXTERNAL_NET", "any"),
    ("FW_SEARCH_ALL", "Y"),
    ("FW_MSG_SEARCH", "DROP"),
    ("IFCFGTYPE", "ifconfig"),
    ("DANGER_LEVEL1", "5"),
    ("DANGER_LEVEL2", "15"),
    ("DANGER_LEVEL3", "150"),
    ("DANGER_LEVEL4", "1500"),
    ("DANGER_LEVEL5", "10000"),
    ("DL1_UNIQUE_HOSTS", "10"),
    ("DL2_UNIQUE_HOSTS", "20"),
    ("DL3_UNIQUE_HOSTS", "50"),
    ("DL4_UNIQUE_HOSTS", "100"),
    ("DL5_UNIQUE_HOSTS", "500"),
    ("CHECK_INTERVAL", "5"),
    ("SNORT_SID_STR", "SID"),
    ("PORT_RANGE_SCAN_THRESHOLD", "1"),
    ("PORT_RANGE_SWEEP_THRESHOLD", "0"),
    ("PROTOCOL_SCAN_THRESHOLD", "5"),
    ("ENABLE_PERSISTENCE", "N"),
    ("SCAN_TIMEOUT", "3600"),
    ("PERSISTENCE_CTR_THRESHOLD", "5"),
    ("MAX_SCAN_IP_PAIRS", "0"),
    ("SHOW_ALL_SIGNATURES", "N"),
    ("ALERTING_METHODS", "ALL"),
    ("AUTO_DETECT_JOURNALCTL", "Y"),
    ("ENABLE_SYSLOG_FILE", "Y"),
    ("IPT_WRITE_FWDATA", "Y"),
    ("IPT_SYSLOG_FILE", "/var/log/messages"),
    ("SYSLOG_DAEMON", "syslogd"),
    ("ENABLE_FW_MSG_READ_CMD", "N"),
    ("FW_MSG_READ_CMD", "/bin/journalctl"),
    ("FW_MSG_READ_CMD_ARGS", "-f -k"),
    ("USE_FW_MSG_READ_CMD_ARGS", "Y"),
    ("FW_MSG_READ_MIN_PKTS", "30"),
    ("ENABLE_SIG_MSG_SYSLOG", "Y"),
    ("SIG_MSG_SYSLOG_THRESHOLD", "10"),
    ("SIG_SID_SYSLOG_THRESHOLD", "10"),
    ("ENABLE_PSADWATCHD", "N"),
    ("EXPECT_TCP_OPTIONS", "Y"),
    ("MAX_HOPS", "20"),
    ("IGNORE_KERNEL_TIMESTAMP", "Y"),
    ("IGNORE_CONNTRACK_BUG_PKTS", "Y"),
    ("IGNORE_PORTS", "NONE"),
    ("IGNORE_PROTOCOLS", "NONE"),
    ("IGNORE_INTERFACES", "NONE"),
    ("IGNORE_LOG_PREFIXES", "NONE"),
    ("MIN_DANGER_LEVEL", "1"),
    ("EMAIL_ALERT_DANGER_LEVEL", "1"),
    ("ENABLE_IPV6_DETECTION", "Y"),
    ("ENABLE_INTF_LOCAL_NETS", "Y"),
    ("ENABLE_MAC_ADDR_REPORTING", "N"),
    ("ENABLE_FW_LOGGING_CHECK", "Y"),
    ("EMAIL_LIMIT", "0"),
    ("ENABLE_EMAIL_LIMIT_PER_DST", "N"),
    ("EMAIL_LIMIT_STATUS_MSG", "Y"),
    ("EMAIL_THROTTLE", "0"),
    ("EMAIL_APPEND_HEADER", "NONE"),
    ("ALERT_ALL", "Y"),
    ("IMPORT_OLD_SCANS", "N"),
    ("SYSLOG_IDENTITY", "psad"),
    ("SYSLOG_FACILITY", "LOG_LOCAL7"),
    ("SYSLOG_PRIORITY", "LOG_INFO"),
    ("TOP_PORTS_LOG_THRESHOLD", "500"),
    ("STATUS_PORTS_THRESHOLD", "20"),
    ("TOP_SIGS_LOG_THRESHOLD", "500"),
    ("STATUS_SIGS_THRESHOLD", "50"),
    ("TOP_IP_LOG_THRESHOLD", "500"),
    ("STATUS_IP_THRESHOLD", "25"),
    ("TOP_SCANS_CTR_THRESHOLD", "1"),
    ("ENABLE_OVERRIDE_FW_CMD", "N"),
    ("FW_CMD", "NONE"),
    ("FW_CMD_ARGS", "NONE"),
    ("ENABLE_DSHIELD_ALERTS", "N"),
    ("DSHIELD_ALERT_EMAIL", "reports@dshield.org"),
    ("DSHIELD_ALERT_INTERVAL", "6"),
    ("DSHIELD_USER_ID", "0"),
    ("DSHIELD_USER_EMAIL", "NONE"),
    ("DSHIELD_DL_THRESHOLD", "0"),
    ("HTTP_SERVERS", "$HOME_NET"),
    ("SMTP_SERVERS", "$HOME_NET"),
    ("DNS_SERVERS", "$HOME_NET"),
    ("SQL_SERVERS", "$HOME_NET"),
    ("TELNET_SERVERS", "$HOME_NET"),
    ("AIM_SERVERS", "[64.12.24.0/24, 64.12.25.0/24, 64.12.26.14/24, 64.12.28.0/24, 64.12.29.0/24, 64.12.161.0/24, 64.12.163.0/24, 205.188.5.0/24, 205.188.9.0/24]"),
    ("HTTP_PORTS", "80"),
    ("SHELLCODE_PORTS", "!80"),
    ("ORACLE_PORTS", "1521"),
    ("ENABLE_SNORT_SIG_STRICT", "Y"),
    ("ENABLE_AUTO_IDS", "N"),
    ("AUTO_IDS_DANGER_LEVEL", "5"),
    ("AUTO_BLOCK_TIMEOUT", "3600"),
    ("AUTO_BLOCK_DL1_TIMEOUT", "$AUTO_BLOCK_TIMEOUT"),
    ("AUTO_BLOCK_DL2_TIMEOUT", "$AUTO_BLOCK_TIMEOUT"),
    ("AUTO_BLOCK_DL3_TIMEOUT", "$AUTO_BLOCK_TIMEOUT"),
    ("AUTO_BLOCK_DL4_TIMEOUT", "$AUTO_BLOCK_TIMEOUT"),
    ("AUTO_BLOCK_DL5_TIMEOUT", "0"),
    ("ENABLE_AUTO_IDS_REGEX", "N"),
    ("AUTO_BLOCK_REGEX", "ESTAB"),
    ("ENABLE_RENEW_BLOCK_EMAILS", "N"),
    ("ENABLE_AUTO_IDS_EMAILS", "Y"),
    ("IPTABLES_BLOCK_METHOD", "Y"),
    ("IPT_AUTO_CHAIN1", "DROP, src, filter, INPUT, 1, PSAD_BLOCK_INPUT, 1"),
    ("IPT_AUTO_CHAIN2", "DROP, dst, filter, OUTPUT, 1, PSAD_BLOCK_OUTPUT, 1"),
    ("IPT_AUTO_CHAIN3", "DROP, both, filter, FORWARD, 1, PSAD_BLOCK_FORWARD, 1"),
    ("FLUSH_IPT_AT_INIT", "Y"),
    ("IPTABLES_PREREQ_CHECK", "1"),
    ("TCPWRAPPERS_BLOCK_METHOD", "N"),
    ("ENABLE_WHOIS_LOOKUPS", "Y"),
    ("WHOIS_TIMEOUT", "60"),
    ("WHOIS_LOOKUP_THRESHOLD", "20"),
    ("ENABLE_WHOIS_FORCE_ASCII", "N"),
    ("ENABLE_WHOIS_FORCE_SRC_IP", "N"),
    ("ENABLE_DNS_LOOKUPS", "Y"),
    ("DNS_LOOKUP_THRESHOLD", "20"),
    ("ENABLE_EXT_SCRIPT_EXEC", "N"),
    ("EXTERNAL_SCRIPT", "/bin/true"),
    ("EXEC_EXT_SCRIPT_PER_ALERT", "N"),
    ("ENABLE_EXT_BLOCK_SCRIPT_EXEC", "N"),
    ("EXTERNAL_BLOCK_SCRIPT", "/bin/true"),
    ("ENABLE_CUSTOM_SYSLOG_TS_RE", "N"),
    ("CUSTOM_SYSLOG_TS_RE", r"^\s*((?:\S+\s+){2}\S+)\s+(\S+)\s+kernel\:"),
    ("DISK_CHECK_INTERVAL", "300"),
    ("DISK_MAX_PERCENTAGE", "95"),
    ("DISK_MAX_RM_RETRIES", "10"),
    ("ENABLE_SCAN_ARCHIVE", "N"),
    ("TRUNCATE_FWDATA", "Y"),
    ("MIN_ARCHIVE_DANGER_LEVEL", "1"),
    ("MAIL_ALERT_PREFIX", "[psad-alert]"),
    ("MAIL_STATUS_PREFIX", "[psad-status]"),
    ("MAIL_ERROR_PREFIX", "[psad-error]"),
    ("MAIL_FATAL_PREFIX", "[psad-fatal]"),
    ("SIG_UPDATE_URL", "http://www.cipherdyne.org/psad/signatures"),
    ("PSADWATCHD_CHECK_INTERVAL", "5"),
    ("PSADWATCHD_MAX_RETRIES", "10"),
    ("INSTALL_ROOT", "/"),
    ("PSAD_DIR", "$INSTALL_ROOT/var/log/psad"),
    ("PSAD_RUN_DIR", "$INSTALL_ROOT/var/run/psad"),
    ("PSAD_FIFO_DIR", "$INSTALL_ROOT/var/lib/psad"),
    ("PSAD_LIBS_DIR", "$INSTALL_ROOT/usr/lib/psad"),
    ("PSAD_CONF_DIR", "$INSTALL_ROOT/etc/psad"),
    ("PSAD_ERR_DIR", "$PSAD_DIR/errs"),
    ("CONF_ARCHIVE_DIR", "$PSAD_CONF_DIR/archive"),
    ("SCAN_DATA_ARCHIVE_DIR", "$PSAD_DIR/scan_archive"),
    ("ANALYSIS_MODE_DIR", "$PSAD_DIR/ipt_analysis"),
    ("SNORT_RULES_DIR", "$PSAD_CONF_DIR/snort_rules"),
    ("FWSNORT_RULES_DIR", "/etc/fwsnort/snort_rules"),
    ("FW_DATA_FILE", "$PSAD_DIR/fwdata"),
    ("ULOG_DATA_FILE", "$PSAD_DIR/ulogd.log"),
    ("FW_CHECK_FILE", "$PSAD_DIR/fw_check"),
    ("DSHIELD_EMAIL_FILE", "$PSAD_DIR/dshield.email"),
    ("SIGS_FILE", "$PSAD_CONF_DIR/signatures"),
    ("PROTOCOLS_FILE", "$PSAD_CONF_DIR/protocols"),
    ("ICMP_TYPES_FILE", "$PSAD_CONF_DIR/icmp_types"),
    ("ICMP6_TYPES_FILE", "$PSAD_CONF_DIR/icmp6_types"),
    ("AUTO_DL_FILE", "$PSAD_CONF_DIR/auto_dl"),
    ("SNORT_RULE_DL_FILE", "$PSAD_CONF_DIR/snort_rule_dl"),
    ("POSF_FILE", "$PSAD_CONF_DIR/posf"),
    ("P0F_FILE", "$PSAD_CONF_DIR/pf.os"),
    ("IP_OPTS_FILE", "$PSAD_CONF_DIR/ip_options"),
    ("PSAD_FIFO_FILE", "$PSAD_FIFO_DIR/psadfifo"),
    ("ETC_HOSTS_DENY_FILE", "/etc/hosts.deny"),
    ("ETC_SYSLOG_CONF", "/etc/syslog.conf"),
    ("ETC_RSYSLOG_CONF", "/etc/rsyslog.conf"),
    ("ETC_SYSLOGNG_CONF", "/etc/syslog-ng/syslog-ng.conf"),
    ("ETC_METALOG_CONF", "/etc/metalog/metalog.conf"),
    ("STATUS_OUTPUT_FILE", "$PSAD_DIR/status.out"),
    ("ANALYSIS_OUTPUT_FILE", "$PSAD_DIR/analysis.out"),
    ("INSTALL_LOG_FILE", "$PSAD_DIR/install.log"),
    ("PSAD_PID_FILE", "$PSAD_RUN_DIR/psad.pid"),
    ("PSAD_FW_READ_PID_FILE", "$PSAD_RUN_DIR/psad_fw_read.pid"),
    ("PSAD_CMDLINE_FILE", "$PSAD_RUN_DIR/psad.cmd"),
    ("KMSGSD_PID_FILE", "$PSAD_RUN_DIR/kmsgsd.pid"),
    ("PSADWATCHD_PID_FILE", "$PSAD_RUN_DIR/psadwatchd.pid"),
    ("AUTO_BLOCK_IPT_FILE", "$PSAD_DIR/auto_blocked_iptables"),
    ("AUTO_BLOCK_TCPWR_FILE", "$PSAD_DIR/auto_blocked_tcpwr"),
    ("AUTO_IPT_SOCK", "$PSAD_RUN_DIR/auto_ipt.sock"),
    ("FW_ERROR_LOG", "$PSAD_ERR_DIR/fwerrorlog"),
    ("PRINT_SCAN_HASH", "$PSAD_DIR/scan_hash"),
    ("PROC_FORWARD_FILE", "/proc/sys/net/ipv4/ip_forward"),
    ("PACKET_COUNTER_FILE", "$PSAD_DIR/packet_ctr"),
    ("TOP_SCANNED_PORTS_FILE", "$PSAD_DIR/top_ports"),
    ("TOP_SIGS_FILE", "$PSAD_DIR/top_sigs"),
    ("TOP_ATTACKERS_FILE", "$PSAD_DIR/top_attackers"),
    ("DSHIELD_COUNTER_FILE", "$PSAD_DIR/dshield_ctr"),
    ("IPT_PREFIX_COUNTER_FILE", "$PSAD_DIR/ipt_prefix_ctr"),
    ("IPT_OUTPUT_PATTERN", "psad_iptout.XXXXXX"),
    ("IPT_ERROR_PATTERN", "psad_ipterr.XXXXXX"),
    ("iptablesCmd", "/sbin/iptables"),
    ("ip6tablesCmd", "/sbin/ip6tables"),
    ("shCmd", "/bin/sh"),
    ("wgetCmd", "/usr/bin/wget"),
    ("gzipCmd", "/bin/gzip"),
    ("mknodCmd", "/bin/mknod"),
    ("psCmd", "/bin/ps"),
    ("mailCmd", "/bin/mail"),
    ("sendmailCmd", "/usr/sbin/sendmail"),
    ("ifconfigCmd", "/sbin/ifconfig"),
    ("ipCmd", "/sbin/ip"),
    ("killallCmd", "/usr/bin/killall"),
    ("netstatCmd", "/bin/netstat"),
    ("unameCmd", "/bin/uname"),
    ("whoisCmd", "$INSTALL_ROOT/usr/bin/whois_psad"),
    ("dfCmd", "/bin/df"),
    ("fwcheck_psadCmd", "$INSTALL_ROOT/usr/sbin/fwcheck_psad"),
    ("psadwatchdCmd", "$INSTALL_ROOT/usr/sbin/psadwatchd"),
    ("kmsgsdCmd", "$INSTALL_ROOT/usr/sbin/kmsgsd"),
    ("psadCmd", "$INSTALL_ROOT/usr/sbin/psad"),
];

/// What a psad variable's value must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `Y`/`N` (also `YES`/`NO`, any case), normalised to `Y`/`N`.
    Bool,
    /// A decimal integer in `min..=max` (psad's `^\d+$`).
    UInt(u64, u64),
    /// Free text; some names get a dedicated check during lowering.
    Text,
}

/// Y/N variables whose names do not start with `ENABLE_`.
const BOOL_VARS: &[&str] = &[
    "FW_SEARCH_ALL",
    "SHOW_ALL_SIGNATURES",
    "AUTO_DETECT_JOURNALCTL",
    "IPT_WRITE_FWDATA",
    "USE_FW_MSG_READ_CMD_ARGS",
    "EXPECT_TCP_OPTIONS",
    "IGNORE_KERNEL_TIMESTAMP",
    "IGNORE_CONNTRACK_BUG_PKTS",
    "EMAIL_LIMIT_STATUS_MSG",
    "ALERT_ALL",
    "IMPORT_OLD_SCANS",
    "IPTABLES_BLOCK_METHOD",
    "FLUSH_IPT_AT_INIT",
    "TCPWRAPPERS_BLOCK_METHOD",
    "EXEC_EXT_SCRIPT_PER_ALERT",
    "TRUNCATE_FWDATA",
];

/// Numeric variables and their accepted ranges. The ranges psad itself checks
/// (`validate_config()`, spec §7.10) are copied exactly; the others are "any
/// non-negative integer" except danger levels (0..=5) and a few obvious bounds.
const UINT_VARS: &[(&str, u64, u64)] = &[
    ("DANGER_LEVEL1", 0, u64::MAX),
    ("DANGER_LEVEL2", 0, u64::MAX),
    ("DANGER_LEVEL3", 0, u64::MAX),
    ("DANGER_LEVEL4", 0, u64::MAX),
    ("DANGER_LEVEL5", 0, u64::MAX),
    ("DL1_UNIQUE_HOSTS", 0, u64::MAX),
    ("DL2_UNIQUE_HOSTS", 0, u64::MAX),
    ("DL3_UNIQUE_HOSTS", 0, u64::MAX),
    ("DL4_UNIQUE_HOSTS", 0, u64::MAX),
    ("DL5_UNIQUE_HOSTS", 0, u64::MAX),
    ("CHECK_INTERVAL", 1, u64::MAX),
    ("PORT_RANGE_SCAN_THRESHOLD", 0, 65535),
    ("PORT_RANGE_SWEEP_THRESHOLD", 0, 65535),
    ("PROTOCOL_SCAN_THRESHOLD", 0, u32::MAX as u64),
    ("SCAN_TIMEOUT", 0, u64::MAX),
    ("PERSISTENCE_CTR_THRESHOLD", 0, u64::MAX),
    ("MAX_SCAN_IP_PAIRS", 0, u64::MAX),
    ("FW_MSG_READ_MIN_PKTS", 0, u64::MAX),
    ("SIG_MSG_SYSLOG_THRESHOLD", 0, u64::MAX),
    ("SIG_SID_SYSLOG_THRESHOLD", 0, u64::MAX),
    ("MAX_HOPS", 0, 255),
    ("MIN_DANGER_LEVEL", 0, 5),
    ("EMAIL_ALERT_DANGER_LEVEL", 0, 5),
    ("EMAIL_LIMIT", 0, u64::MAX),
    ("EMAIL_THROTTLE", 0, u64::MAX),
    ("TOP_PORTS_LOG_THRESHOLD", 0, 65535),
    ("STATUS_PORTS_THRESHOLD", 0, 65535),
    ("TOP_SIGS_LOG_THRESHOLD", 0, 100_000),
    ("STATUS_SIGS_THRESHOLD", 0, 10_000),
    ("TOP_IP_LOG_THRESHOLD", 0, 10_000),
    ("STATUS_IP_THRESHOLD", 0, 10_000),
    ("TOP_SCANS_CTR_THRESHOLD", 0, 500),
    ("DSHIELD_ALERT_INTERVAL", 1, 24),
    ("DSHIELD_USER_ID", 0, u64::MAX),
    ("DSHIELD_DL_THRESHOLD", 0, 5),
    ("AUTO_IDS_DANGER_LEVEL", 1, 5),
    ("AUTO_BLOCK_TIMEOUT", 0, u64::MAX),
    ("AUTO_BLOCK_DL1_TIMEOUT", 0, u64::MAX),
    ("AUTO_BLOCK_DL2_TIMEOUT", 0, u64::MAX),
    ("AUTO_BLOCK_DL3_TIMEOUT", 0, u64::MAX),
    ("AUTO_BLOCK_DL4_TIMEOUT", 0, u64::MAX),
    ("AUTO_BLOCK_DL5_TIMEOUT", 0, u64::MAX),
    ("IPTABLES_PREREQ_CHECK", 0, u64::MAX),
    ("WHOIS_TIMEOUT", 0, u64::MAX),
    ("WHOIS_LOOKUP_THRESHOLD", 0, u64::MAX),
    ("DNS_LOOKUP_THRESHOLD", 0, u64::MAX),
    ("DISK_CHECK_INTERVAL", 0, u64::MAX),
    ("DISK_MAX_PERCENTAGE", 0, 100),
    ("DISK_MAX_RM_RETRIES", 0, u64::MAX),
    ("MIN_ARCHIVE_DANGER_LEVEL", 0, 5),
    ("PSADWATCHD_CHECK_INTERVAL", 0, u64::MAX),
    ("PSADWATCHD_MAX_RETRIES", 0, u64::MAX),
];

/// The value kind of a variable name.
pub(crate) fn kind_of(name: &str) -> Kind {
    if name.starts_with("ENABLE_") || BOOL_VARS.contains(&name) {
        return Kind::Bool;
    }
    match UINT_VARS.iter().find(|(n, _, _)| *n == name) {
        Some(&(_, lo, hi)) => Kind::UInt(lo, hi),
        None => Kind::Text,
    }
}

/// True if `name` is a psad 2.4.6 variable: in the table, any `*Cmd` command path
/// (psad accepts any name ending in `Cmd`), or `IPT_AUTO_CHAINn` (psad reads
/// `IPT_AUTO_CHAIN1`, `2`, ... until one is missing).
pub(crate) fn is_known(name: &str) -> bool {
    if PSAD_DEFAULTS.iter().any(|(n, _)| *n == name) {
        return true;
    }
    if name.len() > 3 && name.ends_with("Cmd") {
        return true;
    }
    match name.strip_prefix("IPT_AUTO_CHAIN") {
        Some(n) => !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// The nearest known variable name to `name`, if it is close enough to be a typo:
/// a case-insensitive match, or an edit distance of at most a third of the name (min 2).
pub(crate) fn suggest(name: &str) -> Option<&'static str> {
    suggest_from(name, PSAD_DEFAULTS.iter().map(|(n, _)| *n))
}

/// The nearest of `candidates` to `name` (see [`suggest`]).
pub(crate) fn suggest_from<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Bound the work: a fuzzer (or a pasted binary) can hand us a huge "name".
    if name.len() > 64 {
        return None;
    }
    let upper = name.to_ascii_uppercase();
    let limit = (name.chars().count() / 3).max(2);
    let mut best: Option<(usize, &str)> = None;
    for cand in candidates {
        let d = if cand.eq_ignore_ascii_case(name) {
            0
        } else {
            levenshtein(&upper, &cand.to_ascii_uppercase())
        };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}

/// Classic edit distance (insert, delete, substitute), on chars.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// psad's pass limit for `$VAR` resolution (`expand_vars()` dies when the counter reaches 20).
pub(crate) const MAX_EXPANSION_PASSES: usize = 20;

/// Longest value we accept after expansion. psad has no limit, but `A "$B$B"`,
/// `B "$C$C"`, ... doubles per level, so without a cap a small file could ask for gigabytes.
pub(crate) const MAX_EXPANDED_LEN: usize = 64 * 1024;

/// Why `$VAR` expansion failed, for the variable `var`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExpandError {
    /// `$name` refers to a variable that is not defined.
    Undefined { var: String, name: String },
    /// `$name` refers to the variable itself.
    SelfReference { var: String },
    /// Still unresolved after the pass limit: a reference cycle.
    TooDeep { var: String },
    /// The expanded value is longer than [`MAX_EXPANDED_LEN`].
    TooLong { var: String },
}

/// The first `$NAME` reference (`NAME` = ASCII word characters, as Perl's `\w`) in `value`:
/// its byte range including the `$`, and the name.
fn first_ref(value: &str) -> Option<(std::ops::Range<usize>, &str)> {
    let bytes = value.as_bytes();
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'$', &bytes[i..]) {
        let start = i + off;
        let name_len = bytes[start + 1..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        if name_len > 0 {
            let end = start + 1 + name_len;
            return Some((start..end, &value[start + 1..end]));
        }
        i = start + 1;
    }
    None
}

/// Every `$NAME` referenced by `value`, in order.
pub(crate) fn refs(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some((range, name)) = first_ref(rest) {
        out.push(name);
        rest = &rest[range.end..];
    }
    out
}

/// A reference cycle among `vars` (by raw values), as the path `A, B, ..., A`, preferring a
/// cycle through `start_with` order so the caller can blame a variable the user wrote.
pub(crate) fn find_cycle<'a>(
    vars: &'a std::collections::BTreeMap<String, String>,
    start_with: impl IntoIterator<Item = &'a str>,
) -> Option<Vec<&'a str>> {
    use std::collections::HashMap;
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    let mut marks: HashMap<&str, Mark> = HashMap::new();
    for root in start_with {
        if marks.contains_key(root) || !vars.contains_key(root) {
            continue;
        }
        // Iterative DFS: (node, its references, next index); `path` mirrors the stack.
        let mut stack: Vec<(&str, Vec<&str>, usize)> = vec![(root, refs(&vars[root]), 0)];
        marks.insert(root, Mark::Active);
        while let Some((node, edges, i)) = stack.last_mut() {
            let node = *node;
            if *i >= edges.len() {
                marks.insert(node, Mark::Done);
                stack.pop();
                continue;
            }
            let next = edges[*i];
            *i += 1;
            let Some((key, value)) = vars.get_key_value(next) else {
                continue;
            };
            match marks.get(key.as_str()) {
                Some(Mark::Active) => {
                    let from = stack.iter().position(|(n, _, _)| *n == key.as_str())?;
                    let mut cycle: Vec<&str> = stack[from..].iter().map(|(n, _, _)| *n).collect();
                    cycle.push(key.as_str());
                    return Some(cycle);
                }
                Some(Mark::Done) => {}
                None => {
                    marks.insert(key.as_str(), Mark::Active);
                    stack.push((key.as_str(), refs(value), 0));
                }
            }
        }
    }
    None
}

/// Expands `$NAME` references in every value, in place, the way psad's `expand_vars()`
/// does: up to [`MAX_EXPANSION_PASSES`] passes, an undefined or self-referencing name is an
/// error, and `$INSTALL_ROOT` with `INSTALL_ROOT` = `/` expands to the empty string so
/// `$INSTALL_ROOT/var/log/psad` becomes `/var/log/psad`.
///
/// One difference: psad replaces one reference per variable per pass; we replace every
/// reference of a value in each pass, which reaches the same result in fewer passes.
pub(crate) fn expand(
    vars: &mut std::collections::BTreeMap<String, String>,
) -> Result<(), ExpandError> {
    for _pass in 1..MAX_EXPANSION_PASSES {
        // Only the values that still hold a reference need work.
        let pending: Vec<String> = vars
            .iter()
            .filter(|(_, v)| first_ref(v).is_some())
            .map(|(k, _)| k.clone())
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        for var in pending {
            let new = substitute(&vars[&var], &var, vars)?;
            vars.insert(var, new);
        }
    }
    // The passes ran out: whatever still holds a reference is part of a cycle.
    match vars.iter().find(|(_, v)| first_ref(v).is_some()) {
        Some((var, _)) => Err(ExpandError::TooDeep { var: var.clone() }),
        None => Ok(()),
    }
}

/// `value` (of variable `var`) with each `$NAME` replaced by the current value of `NAME`.
pub(crate) fn substitute(
    value: &str,
    var: &str,
    vars: &std::collections::BTreeMap<String, String>,
) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some((range, name)) = first_ref(rest) {
        if name == var {
            return Err(ExpandError::SelfReference {
                var: var.to_string(),
            });
        }
        let Some(sub) = vars.get(name) else {
            return Err(ExpandError::Undefined {
                var: var.to_string(),
                name: name.to_string(),
            });
        };
        let sub = if name == "INSTALL_ROOT" && sub == "/" {
            ""
        } else {
            sub.as_str()
        };
        out.push_str(&rest[..range.start]);
        out.push_str(sub);
        if out.len() > MAX_EXPANDED_LEN {
            return Err(ExpandError::TooLong {
                var: var.to_string(),
            });
        }
        rest = &rest[range.end..];
    }
    out.push_str(rest);
    if out.len() > MAX_EXPANDED_LEN {
        return Err(ExpandError::TooLong {
            var: var.to_string(),
        });
    }
    Ok(out)
}

/// psad's defaults, expanded: the variables a `Config` has without any psad.conf.
///
/// Computed once per process (the table is fixed) and cloned, since every
/// `Config::default()` needs it.
pub(crate) fn default_vars() -> std::collections::BTreeMap<String, String> {
    static DEFAULTS: std::sync::OnceLock<std::collections::BTreeMap<String, String>> =
        std::sync::OnceLock::new();
    DEFAULTS
        .get_or_init(|| {
            let mut vars: std::collections::BTreeMap<String, String> = PSAD_DEFAULTS
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            // The table's references all resolve (tested below); if that ever broke we
            // would rather keep the raw values than panic.
            let raw = vars.clone();
            if expand(&mut vars).is_err() {
                return raw;
            }
            vars
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_all_psad_names_once() {
        let mut names: Vec<&str> = PSAD_DEFAULTS.iter().map(|(n, _)| *n).collect();
        let total = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), total, "duplicate name in PSAD_DEFAULTS");
        assert_eq!(total, 211);
        for (n, _, _) in UINT_VARS {
            assert!(is_known(n), "{n}");
        }
        for n in BOOL_VARS {
            assert!(is_known(n), "{n}");
        }
    }

    #[test]
    fn defaults_expand_cleanly() {
        let mut vars: std::collections::BTreeMap<String, String> = PSAD_DEFAULTS
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        expand(&mut vars).unwrap();
        assert_eq!(vars["PSAD_DIR"], "/var/log/psad");
        assert_eq!(vars["FW_DATA_FILE"], "/var/log/psad/fwdata");
        assert_eq!(vars["FW_ERROR_LOG"], "/var/log/psad/errs/fwerrorlog");
        assert_eq!(vars["AUTO_BLOCK_DL3_TIMEOUT"], "3600");
        assert_eq!(vars["HTTP_SERVERS"], "any");
        assert_eq!(vars["whoisCmd"], "/usr/bin/whois_psad");
        assert_eq!(
            vars["CUSTOM_SYSLOG_TS_RE"],
            r"^\s*((?:\S+\s+){2}\S+)\s+(\S+)\s+kernel\:"
        );
    }

    #[test]
    fn expansion_errors() {
        let mut v = std::collections::BTreeMap::new();
        v.insert("A".to_string(), "x$A".to_string());
        assert_eq!(
            expand(&mut v),
            Err(ExpandError::SelfReference { var: "A".into() })
        );
        let mut v = std::collections::BTreeMap::new();
        v.insert("A".to_string(), "$NOPE/x".to_string());
        assert!(matches!(expand(&mut v), Err(ExpandError::Undefined { .. })));
        let mut v = std::collections::BTreeMap::new();
        v.insert("A".to_string(), "$B".to_string());
        v.insert("B".to_string(), "$A".to_string());
        assert!(expand(&mut v).is_err());
        // `$` not followed by a word character is literal (regex anchors survive).
        let mut v = std::collections::BTreeMap::new();
        v.insert("A".to_string(), "DROP$ 5$".to_string());
        expand(&mut v).unwrap();
        assert_eq!(v["A"], "DROP$ 5$");
        // `$AB` is not `$A` followed by `B`.
        let mut v = std::collections::BTreeMap::new();
        v.insert("A".to_string(), "1".to_string());
        v.insert("AB".to_string(), "2".to_string());
        v.insert("C".to_string(), "$AB-$A".to_string());
        expand(&mut v).unwrap();
        assert_eq!(v["C"], "2-1");
    }

    #[test]
    fn expansion_is_bounded() {
        let mut v = std::collections::BTreeMap::new();
        for i in 0..19 {
            v.insert(format!("V{i}"), format!("$V{n}$V{n}$V{n}", n = i + 1));
        }
        v.insert("V19".to_string(), "x".repeat(100));
        assert!(expand(&mut v).is_err());
    }

    #[test]
    fn cycles_are_found() {
        let mut v = std::collections::BTreeMap::new();
        v.insert("A".to_string(), "$B".to_string());
        v.insert("B".to_string(), "x$C".to_string());
        v.insert("C".to_string(), "$A$D".to_string());
        v.insert("D".to_string(), "d".to_string());
        let c = find_cycle(&v, ["C", "A"]).unwrap();
        assert_eq!(c, ["C", "A", "B", "C"]);
        v.insert("C".to_string(), "$D".to_string());
        assert_eq!(find_cycle(&v, v.keys().map(String::as_str)), None);
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("HOME_NETS"), Some("HOME_NET"));
        assert_eq!(suggest("home_net"), Some("HOME_NET"));
        assert_eq!(suggest("DANGER_LEVL1"), Some("DANGER_LEVEL1"));
        assert_eq!(suggest("COMPLETELY_DIFFERENT_THING"), None);
        assert!(is_known("fooCmd"));
        assert!(is_known("IPT_AUTO_CHAIN7"));
        assert!(!is_known("IPT_AUTO_CHAIN"));
        assert!(!is_known("Cmd"));
    }
}
