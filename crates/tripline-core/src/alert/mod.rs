//! Alerts: when to alert ([`AlertPolicy`], psad's `scan_logr()` rules, spec §5.1), the
//! alert record with all its evidence ([`Alert`], built from the engine by
//! [`build_alert`]), psad-style text ([`text`]), per-channel rate limits
//! ([`RateLimit`]) and the responder's block notices ([`block_alert`]).
//!
//! Pure like the rest of the core: time comes in with every call, delivery (SMTP, syslog,
//! scripts, webhooks, D-Bus) belongs to the shell.

mod block;
mod build;
mod policy;
mod rate;
pub mod text;

pub use block::{block_alert, BlockDetails, BlockEvent, CapGate};
pub use build::{build_alert, BuildInfo};
pub use policy::{
    AlertPolicy, Cause, Evidence, PolicyConfig, PolicySnapshot, PolicyStats, Verdict,
};
pub use rate::RateLimit;

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A scan alert (psad's `[psad-alert]` email).
    Scan,
    /// The `EMAIL_LIMIT` was reached for this source: the last message about it
    /// (psad's `[psad-status] reached email message limit`).
    LimitReached,
    /// The responder blocked the source (psad's `[psad-status] added iptables
    /// auto-block against X for N seconds`).
    Blocked,
    /// An existing block was re-armed (psad's `renewed iptables auto-block`).
    BlockRenewed,
    /// A block lapsed and was lifted (psad's `removed iptables block against X`).
    Unblocked,
    /// The blocks-a-minute cap refused to block a source at the blocking level.
    BlockLimitReached,
    /// Tripline's firewall objects were gone (a ruleset reload) and were re-created
    /// with every current block. About the firewall, not a source: `src` is the
    /// unspecified address and the danger level the highest of the blocks restored.
    BlocksRestored,
    /// A blocking change failed, the kernel or the database refusing it (a block
    /// not put in place, or not lifted): at most one alert an hour, counting the
    /// failures in between.
    /// About the firewall: `src` is the unspecified address, the danger level the
    /// blocking level.
    BlockFailed,
}

impl AlertKind {
    /// The kind as in JSON: `scan`, `limit_reached`, `blocked`, `block_renewed`,
    /// `unblocked`, `block_limit_reached`, `blocks_restored`, `block_failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Scan => "scan",
            AlertKind::LimitReached => "limit_reached",
            AlertKind::Blocked => "blocked",
            AlertKind::BlockRenewed => "block_renewed",
            AlertKind::Unblocked => "unblocked",
            AlertKind::BlockLimitReached => "block_limit_reached",
            AlertKind::BlocksRestored => "blocks_restored",
            AlertKind::BlockFailed => "block_failed",
        }
    }

    /// True for the responder's notices (they carry [`Alert::block`]).
    pub fn is_block(self) -> bool {
        matches!(
            self,
            AlertKind::Blocked
                | AlertKind::BlockRenewed
                | AlertKind::Unblocked
                | AlertKind::BlockLimitReached
                | AlertKind::BlocksRestored
                | AlertKind::BlockFailed
        )
    }
}

/// Why the policy produced the alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The source reached the alert level for the first time.
    First,
    /// Its danger level rose since the last alert.
    DangerRaised,
    /// New ports, destinations or signatures since the last alert (`ALERT_ALL Y`).
    NewEvidence,
    /// `EMAIL_LIMIT` reached.
    LimitReached,
    /// The responder acted (block kinds).
    Response,
}

/// One alert with every piece of evidence psad's email carries (spec §5.2).
///
/// Times are RFC 3339 UTC text plus Unix seconds. `src_dns`, `dst_dns` and `whois` are
/// empty when the alert leaves the policy; the shell's channels fill them in (lookups
/// take time and must not delay detection).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Sequence number, 1 for the first alert of the process.
    pub seq: u64,
    /// Scan alert or limit-reached status.
    pub kind: AlertKind,
    /// Why now.
    pub trigger: Trigger,
    /// When (the time given to the policy).
    pub at: String,
    /// `at` in Unix seconds.
    pub at_unix: i64,
    /// This host's name (psad's `HOSTNAME`), for status messages.
    pub hostname: String,
    /// Scanning source.
    pub src: IpAddr,
    /// The source's danger level now (maximum over its pairs, as psad prints it).
    pub danger_level: u8,
    /// The danger level at the previous alert for this source (0 for the first).
    pub previous_danger_level: u8,
    /// What raised the level or triggered the alert, in words.
    pub reason: String,
    /// Scan kinds with evidence and nmap hints.
    pub scan_types: Vec<ScanTypeInfo>,
    /// Destinations (most packets first, at most [`MAX_DESTINATIONS`]).
    pub destinations: Vec<AlertDest>,
    /// Destinations of the source in total (may exceed `destinations.len()`).
    pub total_destinations: usize,
    /// TCP ports (cumulative range) and packets, if any.
    pub tcp: Option<PortSummary>,
    /// UDP ports and packets, if any.
    pub udp: Option<PortSummary>,
    /// ICMP and ICMPv6 packets.
    pub icmp_packets: u64,
    /// Packets of other IP protocols.
    pub other_packets: u64,
    /// Distinct protocols when the source looks like an IP protocol scan (`nmap -sO`).
    pub protocol_scan: Option<u32>,
    /// psad's ` Multi-Protocol` marker.
    pub multi_protocol: bool,
    /// TCP flag combinations over all destinations.
    pub tcp_flags: Vec<FlagCount>,
    /// Log prefixes and chains over all destinations.
    pub prefixes: Vec<PrefixCount>,
    /// psad's "Global stats" table rows.
    pub chains: Vec<ChainCount>,
    /// Input interfaces seen.
    pub interfaces: Vec<String>,
    /// Signature matches.
    pub signatures: Vec<SigMatch>,
    /// Passive OS guesses, best first.
    pub os_guesses: Vec<String>,
    /// Syslog hostnames that logged the packets.
    pub syslog_hostnames: Vec<String>,
    /// Packets counted for the source.
    pub packets: u64,
    /// Packets since the previous alert for this source.
    pub interval_packets: u64,
    /// First packet of the scan (RFC 3339).
    pub scan_start: String,
    /// `scan_start` in Unix seconds.
    pub scan_start_unix: i64,
    /// Last packet (RFC 3339).
    pub last_seen: String,
    /// Alerts produced for this source so far, this one included (psad's
    /// "Total email alerts").
    pub alerts_for_source: u64,
    /// Reverse DNS name of the source (filled by the shell).
    #[serde(default)]
    pub src_dns: Option<String>,
    /// Reverse DNS names of destinations (filled by the shell).
    #[serde(default)]
    pub dst_dns: Vec<(IpAddr, String)>,
    /// whois text for the source (filled by the shell).
    #[serde(default)]
    pub whois: Option<String>,
    /// What the responder did, for the block kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<BlockDetails>,
}

/// How many destinations an alert lists.
pub const MAX_DESTINATIONS: usize = 32;
/// How many signature matches an alert lists.
pub const MAX_SIGNATURES: usize = 64;

/// One scanned destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertDest {
    /// Address.
    pub dst: IpAddr,
    /// Packets from the source.
    pub packets: u32,
    /// Packets since the previous alert for the source.
    pub interval_packets: u32,
    /// First packet (RFC 3339).
    pub start: String,
    /// Complete port ranges per protocol.
    pub ports: Vec<PortRangeInfo>,
}

/// Lowest and highest destination port of one protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRangeInfo {
    /// `tcp`, `udp`, `udplite`.
    pub proto: String,
    /// Lowest port.
    pub lo: u16,
    /// Highest port.
    pub hi: u16,
}

/// Port range and packets of one protocol over all destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSummary {
    /// Lowest port.
    pub lo: u16,
    /// Highest port.
    pub hi: u16,
    /// Packets.
    pub packets: u64,
}

/// A scan kind (see `engine::classify`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanTypeInfo {
    /// Kind, e.g. `tcp-syn`.
    pub kind: String,
    /// Evidence.
    pub evidence: String,
    /// nmap option, if known.
    pub nmap: Option<String>,
    /// Packets.
    pub packets: u64,
}

/// A TCP flag combination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagCount {
    /// Flags as psad prints them (`SYN`, `URG PSH FIN`).
    pub flags: String,
    /// Packets.
    pub packets: u64,
    /// psad's nmap hint.
    pub nmap: Option<String>,
}

/// Packets per (chain, log prefix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixCount {
    /// Chain.
    pub chain: String,
    /// Log prefix (attacker-independent, but still untrusted text for a shell).
    pub prefix: String,
    /// Packets.
    pub packets: u64,
}

/// Packets per (chain, interface, protocol).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainCount {
    /// Chain.
    pub chain: String,
    /// Input interface.
    pub interface: String,
    /// Protocol name.
    pub protocol: String,
    /// Packets.
    pub packets: u64,
}

/// A signature match on one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigMatch {
    /// Snort SID or psad id.
    pub sid: u32,
    /// Message.
    pub msg: String,
    /// Protocol (`tcp`, `udp`, `icmp`, `ip`, ...).
    pub proto: String,
    /// Destination.
    pub dst: IpAddr,
    /// Destination port of the last match.
    pub dport: Option<u16>,
    /// TCP flags of the last match.
    pub flags: Option<String>,
    /// Chain.
    pub chain: String,
    /// Packets.
    pub packets: u32,
    /// Snort classtype.
    pub classtype: Option<String>,
    /// Signature danger level.
    pub dl: u8,
}

impl Alert {
    /// The most common scan kind, e.g. `tcp-syn` (for short messages).
    pub fn scan_type(&self) -> &str {
        self.scan_types
            .iter()
            .filter(|t| t.packets > 0)
            .max_by_key(|t| t.packets)
            .or(self.scan_types.first())
            .map_or("unknown", |t| t.kind.as_str())
    }

    /// The first (busiest) destination, if any.
    pub fn first_dst(&self) -> Option<IpAddr> {
        self.destinations.first().map(|d| d.dst)
    }

    /// Ports in short form: `tcp 1-1024, udp 53`.
    pub fn ports_text(&self) -> String {
        let mut parts = Vec::new();
        for (name, p) in [("tcp", self.tcp), ("udp", self.udp)] {
            if let Some(p) = p {
                parts.push(if p.lo == p.hi {
                    format!("{name} {}", p.lo)
                } else {
                    format!("{name} {}-{}", p.lo, p.hi)
                });
            }
        }
        if self.icmp_packets > 0 {
            parts.push("icmp".to_string());
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests;
