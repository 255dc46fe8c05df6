//! Active-response settings (spec §6): psad's `ENABLE_AUTO_IDS`, `AUTO_IDS_DANGER_LEVEL`,
//! `AUTO_BLOCK_*TIMEOUT`, `ENABLE_AUTO_IDS_REGEX`/`AUTO_BLOCK_REGEX`, `IPT_AUTO_CHAINn`,
//! `FLUSH_IPT_AT_INIT`, plus Tripline's own `[blocking]` TOML keys (backend, safelist,
//! IPv6 prefix, rate cap, dry run, nftables hooks).

use super::error::{ConfigError, ConfigErrorKind, Origin};
use crate::net::IpNet;
use std::collections::BTreeMap;

/// Which kernel mechanism holds the blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendKind {
    /// nftables where `nft` exists, else iptables (chosen by the shell).
    #[default]
    Auto,
    /// Tripline's own `inet` table with timeout sets.
    Nftables,
    /// psad-compatible `IPT_AUTO_CHAINn` chains (iptables and ip6tables).
    Iptables,
    /// `hash:net` sets with timeouts, matched by one iptables rule per hook.
    Ipset,
}

impl BackendKind {
    /// Parses `auto`, `nftables`, `iptables`, `ipset`.
    pub fn parse(s: &str) -> Option<BackendKind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "auto" => BackendKind::Auto,
            "nftables" | "nft" => BackendKind::Nftables,
            "iptables" => BackendKind::Iptables,
            "ipset" => BackendKind::Ipset,
            _ => return None,
        })
    }
    /// The name used in config, CLI and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Auto => "auto",
            BackendKind::Nftables => "nftables",
            BackendKind::Iptables => "iptables",
            BackendKind::Ipset => "ipset",
        }
    }
}

/// Which address of a packet a block rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The source address.
    Src,
    /// The destination address.
    Dst,
    /// Both (two rules).
    Both,
}

/// One `IPT_AUTO_CHAINn`: `target, direction, table, from_chain, jump_pos, to_chain, rule_pos`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IptChain {
    /// Rule target, e.g. `DROP`.
    pub target: String,
    /// Which address the rules match.
    pub direction: Direction,
    /// iptables table, e.g. `filter`.
    pub table: String,
    /// Built-in chain that jumps to `to_chain`, e.g. `INPUT`.
    pub from_chain: String,
    /// 1-based position of the jump rule.
    pub jump_position: u32,
    /// Tripline's chain, e.g. `PSAD_BLOCK_INPUT`.
    pub to_chain: String,
    /// 1-based position of block rules in `to_chain`.
    pub rule_position: u32,
}

/// A netfilter hook the nftables and ipset backends drop in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// Packets to this host (matched on source address).
    Input,
    /// Routed packets (matched on source and destination).
    Forward,
    /// Packets from this host (matched on destination address).
    Output,
}

impl Hook {
    /// `input`, `forward`, `output`.
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
        }
    }
}

/// Everything the responder needs, with psad's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockingConfig {
    /// `ENABLE_AUTO_IDS`.
    pub enabled: bool,
    /// `AUTO_IDS_DANGER_LEVEL` (1..=5).
    pub danger_level: u8,
    /// `AUTO_BLOCK_DL1..5_TIMEOUT` in seconds; 0 = permanent.
    pub timeouts: [u64; 5],
    /// `AUTO_BLOCK_REGEX` when `ENABLE_AUTO_IDS_REGEX` is Y (and it is not `NONE`).
    pub prefix_regex: Option<String>,
    /// `FLUSH_IPT_AT_INIT`: start from empty chains/sets/table, then re-apply stored blocks.
    pub flush_at_init: bool,
    /// `[blocking] backend`.
    pub backend: BackendKind,
    /// `[blocking] safelist`: never blocked, whatever the evidence.
    pub safelist: Vec<IpNet>,
    /// `[blocking] ipv6-prefix`: block IPv6 sources per prefix of this length (None: per address).
    pub ipv6_prefix: Option<u8>,
    /// `[blocking] max-per-minute`: automatic blocks allowed in any 60 s (0 = no cap).
    pub max_per_minute: u32,
    /// `[blocking] dry-run`: decide and log, change nothing in the kernel.
    pub dry_run: bool,
    /// `[blocking] table`: the nftables table (family inet) and ipset name stem.
    pub table: String,
    /// `[blocking] hooks`: where the nftables and ipset backends drop.
    pub hooks: Vec<Hook>,
    /// `IPT_AUTO_CHAIN1..`: the iptables backend's chains.
    pub ipt_chains: Vec<IptChain>,
    /// `[blocking] check-interval`, seconds: how often the daemon checks that
    /// its firewall objects survive. A change the kernel announces (nftables,
    /// and iptables on nf_tables) is checked at once; this catches the rest
    /// (iptables-legacy, a flushed ipset).
    pub check_interval: u64,
}

impl Default for BlockingConfig {
    fn default() -> Self {
        BlockingConfig {
            enabled: false,
            danger_level: 5,
            timeouts: [3600, 3600, 3600, 3600, 0],
            prefix_regex: None,
            flush_at_init: true,
            backend: BackendKind::Auto,
            safelist: Vec::new(),
            ipv6_prefix: None,
            max_per_minute: 60,
            dry_run: false,
            table: "tripline".to_string(),
            hooks: vec![Hook::Input, Hook::Forward, Hook::Output],
            ipt_chains: vec![
                chain("DROP", Direction::Src, "INPUT", "PSAD_BLOCK_INPUT"),
                chain("DROP", Direction::Dst, "OUTPUT", "PSAD_BLOCK_OUTPUT"),
                chain("DROP", Direction::Both, "FORWARD", "PSAD_BLOCK_FORWARD"),
            ],
            check_interval: 10,
        }
    }
}

fn chain(target: &str, direction: Direction, from: &str, to: &str) -> IptChain {
    IptChain {
        target: target.into(),
        direction,
        table: "filter".into(),
        from_chain: from.into(),
        jump_position: 1,
        to_chain: to.into(),
        rule_position: 1,
    }
}

/// `[blocking]` keys that have no psad variable; `None` = not set in this file.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BlockingToml {
    pub backend: Option<(BackendKind, Origin)>,
    pub safelist: Option<Vec<IpNet>>,
    pub ipv6_prefix: Option<Option<u8>>,
    pub max_per_minute: Option<u32>,
    pub dry_run: Option<bool>,
    pub table: Option<String>,
    pub hooks: Option<Vec<Hook>>,
    pub check_interval: Option<u64>,
}

impl BlockingToml {
    /// Takes every setting of `other` not set yet (first definition wins).
    pub fn fill_from(&mut self, other: &BlockingToml) {
        macro_rules! fill {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = other.$f.clone(); } )* };
        }
        fill!(
            backend,
            safelist,
            ipv6_prefix,
            max_per_minute,
            dry_run,
            table,
            hooks,
            check_interval
        );
    }
}

/// Builds the blocking settings from the expanded, validated psad variables and the
/// Tripline-only TOML keys.
pub(crate) fn lower(
    vars: &BTreeMap<String, String>,
    origin_of: &dyn Fn(&str) -> Origin,
    t: &BlockingToml,
) -> Result<BlockingConfig, ConfigError> {
    let get = |name: &str| vars.get(name).map(String::as_str).unwrap_or("");
    let num = |name: &str| get(name).parse::<u64>().unwrap_or(0);
    let mut b = BlockingConfig {
        enabled: get("ENABLE_AUTO_IDS") == "Y",
        danger_level: u8::try_from(num("AUTO_IDS_DANGER_LEVEL")).unwrap_or(5),
        flush_at_init: get("FLUSH_IPT_AT_INIT") != "N",
        ..BlockingConfig::default()
    };
    for i in 0..5 {
        b.timeouts[i] = num(&format!("AUTO_BLOCK_DL{}_TIMEOUT", i + 1));
    }
    let re = get("AUTO_BLOCK_REGEX");
    if get("ENABLE_AUTO_IDS_REGEX") == "Y" && !re.is_empty() && !re.eq_ignore_ascii_case("NONE") {
        b.prefix_regex = Some(re.to_string());
    }
    // IPT_AUTO_CHAIN1, 2, ...: the first gap ends the list (psad).
    let mut chains = Vec::new();
    for n in 1.. {
        let name = format!("IPT_AUTO_CHAIN{n}");
        let Some(v) = vars.get(&name) else { break };
        chains.push(parse_ipt_chain(v).map_err(|m| {
            ConfigError::at(
                &origin_of(&name),
                ConfigErrorKind::InvalidValue,
                format!("invalid value {v:?}: {m}"),
            )
        })?);
    }
    b.ipt_chains = chains;
    if let Some((k, _)) = &t.backend {
        b.backend = *k;
    }
    if let Some(s) = &t.safelist {
        b.safelist = s.clone();
    }
    if let Some(p) = t.ipv6_prefix {
        b.ipv6_prefix = p;
    }
    if let Some(m) = t.max_per_minute {
        b.max_per_minute = m;
    }
    if let Some(d) = t.dry_run {
        b.dry_run = d;
    }
    if let Some(tab) = &t.table {
        b.table = tab.clone();
    }
    if let Some(c) = t.check_interval {
        b.check_interval = c;
    }
    if let Some(h) = &t.hooks {
        b.hooks = h.clone();
    }
    Ok(b)
}

/// A chain or table name we pass to iptables/nft/ipset: letters, digits, `_`, `-`.
pub fn valid_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// One `IPT_AUTO_CHAINn` value (7 fields, or psad's old 5-field form with positions 1).
pub fn parse_ipt_chain(v: &str) -> Result<IptChain, String> {
    let f: Vec<&str> = v.split(',').map(str::trim).collect();
    let (target, dir, table, from, jpos, to, rpos) = match f.as_slice() {
        [t, d, tb, fr, jp, to, rp] => (*t, *d, *tb, *fr, *jp, *to, *rp),
        [t, d, tb, fr, to] => (*t, *d, *tb, *fr, "1", *to, "1"),
        _ => return Err(
            "expected target, direction, table, from_chain, jump_position, to_chain, rule_position"
                .into(),
        ),
    };
    let direction = match dir.to_ascii_lowercase().as_str() {
        "src" => Direction::Src,
        "dst" => Direction::Dst,
        "both" => Direction::Both,
        _ => return Err(format!("direction {dir:?} is not src, dst or both")),
    };
    for (what, name) in [
        ("target", target),
        ("table", table),
        ("from_chain", from),
        ("to_chain", to),
    ] {
        if !valid_name(name, 28) {
            return Err(format!("{what} {name:?} is not a valid name"));
        }
    }
    if from == to {
        return Err("from_chain and to_chain must differ".into());
    }
    let pos = |s: &str| -> Result<u32, String> {
        s.parse::<u32>()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| format!("position {s:?} is not a number >= 1"))
    };
    Ok(IptChain {
        target: target.to_string(),
        direction,
        table: table.to_string(),
        from_chain: from.to_string(),
        jump_position: pos(jpos)?,
        to_chain: to.to_string(),
        rule_position: pos(rpos)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ConfigBuilder};

    #[test]
    fn psad_keys_lower() {
        let conf = "ENABLE_AUTO_IDS Y;\nAUTO_IDS_DANGER_LEVEL 3;\nAUTO_BLOCK_TIMEOUT 60;\n\
                    AUTO_BLOCK_DL4_TIMEOUT 0;\nENABLE_AUTO_IDS_REGEX Y;\nAUTO_BLOCK_REGEX ESTAB;\n\
                    IPT_AUTO_CHAIN1 REJECT, both, filter, INPUT, MY_BLOCK;\n\
                    IPT_AUTO_CHAIN5 DROP, src, filter, INPUT, 1, UNUSED, 1;\n";
        let b = Config::from_psad_conf("p.conf", conf)
            .unwrap()
            .config
            .blocking;
        assert!(b.enabled);
        assert_eq!(b.danger_level, 3);
        assert_eq!(b.timeouts, [60, 60, 60, 0, 0]);
        assert_eq!(b.prefix_regex.as_deref(), Some("ESTAB"));
        assert_eq!(b.ipt_chains.len(), 3, "the first gap ends the list");
        assert_eq!(b.ipt_chains[0].to_chain, "MY_BLOCK");
        assert_eq!(b.ipt_chains[0].direction, Direction::Both);
        assert_eq!(b.ipt_chains[0].rule_position, 1);
        let d = Config::default().blocking;
        assert!(!d.enabled);
        assert_eq!(d.timeouts, [3600, 3600, 3600, 3600, 0]);
    }

    #[test]
    fn bad_chain_names_line() {
        let e = Config::from_psad_conf(
            "p.conf",
            "\nIPT_AUTO_CHAIN1 DROP, up, filter, INPUT, 1, X, 1;\n",
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("p.conf:2: IPT_AUTO_CHAIN1:"), "{s}");
        assert!(s.contains("direction"), "{s}");
        assert!(parse_ipt_chain("DROP, src, filter, INPUT, 1, INPUT, 1").is_err());
        assert!(parse_ipt_chain("DROP, src, filter, INPUT, 1, A;B, 1").is_err());
    }

    #[test]
    fn toml_section() {
        let text = "[blocking]\nenabled = true\ndanger-level = 2\ntimeout = \"3s\"\n\
                    dl-timeouts = [3, 3, 3, 3, 3]\nbackend = \"ipset\"\n\
                    safelist = [\"198.51.100.50\", \"2001:db8:1::/48\"]\nipv6-prefix = true\n\
                    max-per-minute = 5\ndry-run = true\nhooks = [\"input\"]\n";
        let mut builder = ConfigBuilder::new();
        builder.add_toml(&crate::config::TomlConfig::parse("t.toml", text).unwrap());
        let b = builder.build().unwrap().config.blocking;
        assert!(b.enabled && b.dry_run);
        assert_eq!(b.danger_level, 2);
        assert_eq!(b.timeouts, [3; 5]);
        assert_eq!(b.backend, BackendKind::Ipset);
        assert_eq!(b.safelist.len(), 2);
        assert_eq!(b.ipv6_prefix, Some(64));
        assert_eq!(b.max_per_minute, 5);
        assert_eq!(b.hooks, vec![Hook::Input]);
        assert_eq!(b.check_interval, 10, "the default");
        let interval = |v: &str| {
            let text = format!("[blocking]\ncheck-interval = {v}\n");
            let t = crate::config::TomlConfig::parse("t.toml", &text)?;
            let mut builder = ConfigBuilder::new();
            builder.add_toml(&t);
            builder.build().map(|b| b.config.blocking.check_interval)
        };
        assert_eq!(interval("\"1h\"").unwrap(), 3600);
        assert_eq!(interval("30").unwrap(), 30);
        for bad in ["0", "\"0s\"", "\"soon\""] {
            let e = interval(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("t.toml:2: blocking.check-interval"),
                "{bad}: {e}"
            );
        }
        let e = crate::config::TomlConfig::parse("t.toml", "[blocking]\n\nbackend = \"pf\"\n")
            .unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = crate::config::TomlConfig::parse("t.toml", "[blocking]\nsafelist = [\"x\"]\n")
            .unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }
}
