//! Alerts about the responder's own actions (spec §6.2, §6.3): a block added, renewed or
//! lifted, and the blocks-a-minute cap tripping. psad mails these as `[psad-status]`
//! messages (`added iptables auto-block against X for N seconds`) and logs the same text
//! to syslog; here they are [`Alert`]s of the block kinds, so every channel (email,
//! syslog, scripts, webhooks) can carry them with its own level and rate limits.

use super::{build_alert, Alert, AlertKind, BuildInfo, Trigger};
use crate::engine::Engine;
use crate::packet::Timestamp;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// What the responder did, as carried by a block alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockDetails {
    /// What is (or was) blocked: an address, or a network for per-prefix IPv6 blocks.
    pub net: String,
    /// Kernel mechanism: `nftables`, `iptables` or `ipset`.
    pub backend: String,
    /// Block duration in seconds; 0 = permanent (and for lifted blocks and the cap).
    pub timeout_secs: u64,
    /// Unix seconds the block lapses, if it does.
    pub expires_unix: Option<i64>,
    /// Dry run: nothing was changed in the kernel.
    pub dry_run: bool,
    /// The cap (`[blocking] max-per-minute`), for [`AlertKind::BlockLimitReached`].
    pub max_per_minute: u32,
    /// Sources left unblocked by the cap since the previous cap alert, this one included.
    pub skipped: u64,
    /// Blocks applied again, for [`AlertKind::BlocksRestored`].
    #[serde(default)]
    pub restored: u64,
    /// What the kernel (or the database) answered, for [`AlertKind::BlockFailed`].
    #[serde(default)]
    pub error: String,
    /// Failures since the previous [`AlertKind::BlockFailed`] alert, this one included.
    #[serde(default)]
    pub failures: u64,
}

/// One responder action to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEvent {
    /// [`AlertKind::Blocked`], [`AlertKind::BlockRenewed`], [`AlertKind::Unblocked`] or
    /// [`AlertKind::BlockLimitReached`].
    pub kind: AlertKind,
    /// The source that triggered it (for a lifted block: the blocked address).
    pub src: IpAddr,
    /// Its danger level (the level stored with the block for a lifted one).
    pub dl: u8,
    /// The details.
    pub details: BlockDetails,
}

/// Builds the alert for a responder action at `now`. The scan evidence (ports, scan
/// types, destinations) comes from the engine while it still tracks the source; a
/// source it has forgotten gives an alert with the block details alone.
pub fn block_alert(
    engine: &Engine,
    ev: BlockEvent,
    seq: u64,
    now: Timestamp,
    hostname: String,
) -> Alert {
    let info = BuildInfo {
        seq,
        kind: ev.kind,
        trigger: Trigger::Response,
        previous_danger_level: 0,
        reason: String::new(),
        alerts_for_source: 0,
        previous_packets: 0,
        previous_dst_packets: Vec::new(),
        now,
        hostname: hostname.clone(),
    };
    let mut a = build_alert(engine, ev.src, info).unwrap_or_else(|| bare(&ev, seq, now, hostname));
    a.danger_level = ev.dl;
    a.block = Some(ev.details);
    a.reason = super::text::block_message(&a).unwrap_or_default();
    a
}

fn bare(ev: &BlockEvent, seq: u64, now: Timestamp, hostname: String) -> Alert {
    Alert {
        seq,
        kind: ev.kind,
        trigger: Trigger::Response,
        at: now.to_rfc3339(),
        at_unix: now.secs(),
        hostname,
        src: ev.src,
        danger_level: ev.dl,
        previous_danger_level: 0,
        reason: String::new(),
        scan_types: Vec::new(),
        destinations: Vec::new(),
        total_destinations: 0,
        tcp: None,
        udp: None,
        icmp_packets: 0,
        other_packets: 0,
        protocol_scan: None,
        multi_protocol: false,
        tcp_flags: Vec::new(),
        prefixes: Vec::new(),
        chains: Vec::new(),
        interfaces: Vec::new(),
        signatures: Vec::new(),
        os_guesses: Vec::new(),
        syslog_hostnames: Vec::new(),
        packets: 0,
        interval_packets: 0,
        scan_start: now.to_rfc3339(),
        scan_start_unix: now.secs(),
        last_seen: now.to_rfc3339(),
        alerts_for_source: 0,
        src_dns: None,
        dst_dns: Vec::new(),
        whois: None,
        block: None,
    }
}

/// Spaces out cap alerts: while the blocks-a-minute cap holds, every new source at the
/// blocking level is refused, and a spoofed flood must not become a mail flood. The
/// first refusal alerts; later ones within `period_secs` are counted and reported with
/// the next alert after the period.
#[derive(Debug, Clone, Default)]
pub struct CapGate {
    last: Option<i64>,
    skipped: u64,
}

impl CapGate {
    /// A gate with no history.
    pub fn new() -> CapGate {
        CapGate::default()
    }

    /// One refused source at `now_secs`: `Some(n)` if it should alert now, with `n` the
    /// sources refused since the previous alert (this one included).
    pub fn refused(&mut self, now_secs: i64, period_secs: i64) -> Option<u64> {
        self.skipped += 1;
        if self.last.is_some_and(|l| now_secs - l < period_secs) {
            return None;
        }
        self.last = Some(now_secs);
        Some(std::mem::take(&mut self.skipped))
    }
}
