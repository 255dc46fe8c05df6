//! The per-source detection engine: psad's `check_scan()` and
//! `assign_danger_level()` as a deterministic state machine.
//!
//! # Driving contract
//!
//! * Feed lines with [`Engine::handle_line`] (parse + filter + detect) or
//!   already-parsed packets with [`Engine::handle_packet`]. Time comes with
//!   each call; the engine never reads a clock. Time going backwards is clamped
//!   to the latest time seen and counted in [`Stats::clock_backwards`].
//! * After every `handle_*` call, drain [`Engine::poll_event`] until `None`.
//! * Call [`Engine::end_interval`] at the end of each batch (the whole input
//!   in `analyze`, psad's `-A`): in psad-compat mode danger levels from packet
//!   counts and signatures are assigned there, as psad does once per interval.
//!   In the default mode levels rise as packets arrive and `end_interval` only
//!   closes the interval.
//! * Read results through [`Engine::sources`] and [`Engine::stats`].

mod classify;
mod danger;
mod decoy;
mod snapshot;
mod state;
mod trw;
mod view;

use crate::config::Config;
use crate::fingerprint::{Fingerprints, OsState};
use crate::icmp::{IcmpCheck, IcmpTypes};
use crate::packet::Header;
use crate::packet::{Chain, Packet, Proto, Timestamp};
use crate::parse::{
    decode_journal_json, parse_message, psad_compat_check, psad_view, LineParser, ParseError,
    ParseErrorKind, ParseOptions,
};
use crate::signature::{fwsnort_tag, RuleDl, SignatureSet, SnortRules};
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Arc;

pub use classify::{classify, flag_kind, psad_nmap_hint, Evidence, ScanKind};
pub use decoy::{decoy_groups, DecoyGroup};
pub use snapshot::{EngineSnapshot, SourceSnapshot};
pub use trw::TrwConfig;
pub use view::{IcmpInvalid, PairView, PortRange, SigHit, SourceView};

use state::{secs32, span_index, Combo, NameId, Pair, Source, NO_NAME};

/// The data files the engine matches against (signatures, ICMP type tables,
/// OS fingerprints).
#[derive(Debug, Clone)]
pub struct Rules {
    /// Header signatures.
    pub signatures: SignatureSet,
    /// Valid ICMP types/codes (empty = validation off).
    pub icmp4: IcmpTypes,
    /// Valid ICMPv6 types/codes (empty = validation off).
    pub icmp6: IcmpTypes,
    /// Snort rules that fwsnort SIDs in log prefixes refer to.
    pub fwsnort: SnortRules,
    /// `snort_rule_dl` overrides (also applied to fwsnort SIDs).
    pub rule_dl: RuleDl,
    /// Passive OS fingerprint databases.
    pub fingerprints: Fingerprints,
}

impl Default for Rules {
    /// No rules at all: nothing matches, nothing is guessed.
    fn default() -> Self {
        Rules {
            signatures: SignatureSet::default(),
            icmp4: IcmpTypes::default(),
            icmp6: IcmpTypes::default(),
            fwsnort: SnortRules::default(),
            rule_dl: RuleDl::default(),
            fingerprints: Fingerprints::empty(),
        }
    }
}

/// Signature ids with this bit set are fwsnort SIDs, not indices into the signature set.
pub const FWSNORT_SIG: u32 = 1 << 31;

/// Why the danger level of a source rose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DangerReason {
    /// Packet count of one pair crossed a `DANGER_LEVELn` threshold.
    Packets {
        /// Destination of the pair.
        dst: IpAddr,
        /// Packets of the pair.
        packets: u32,
    },
    /// Number of destinations crossed a `DLn_UNIQUE_HOSTS` threshold.
    Hosts {
        /// Destinations counted.
        destinations: u32,
    },
    /// A signature with this DL matched (index into the signature set).
    Signature {
        /// Signature index.
        sig: u32,
    },
    /// An auto_dl entry assigned the level.
    AutoDl,
    /// An invalid ICMP/ICMPv6 type or code.
    InvalidIcmp,
    /// The TRW sequential test declared the source a scanner.
    Trw {
        /// Failed first contacts so far.
        failures: u32,
    },
}

/// Everything the engine can tell its shell.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The first packet of a new source was accepted.
    SourceSeen {
        /// The source.
        src: IpAddr,
        /// When.
        at: Timestamp,
    },
    /// A source's danger level rose.
    DangerRaised {
        /// The source.
        src: IpAddr,
        /// Level before.
        from: u8,
        /// Level now.
        to: u8,
        /// What raised it.
        reason: DangerReason,
        /// When.
        at: Timestamp,
    },
    /// A new passive OS guess for a source.
    OsGuessed {
        /// Source.
        src: IpAddr,
        /// When.
        at: Timestamp,
    },
    /// A pair's scan state expired (`SCAN_TIMEOUT`, persistence off); the
    /// source keeps its danger level.
    ScanExpired {
        /// Source.
        src: IpAddr,
        /// Destination.
        dst: IpAddr,
        /// When.
        at: Timestamp,
    },
    /// A signature matched a pair for the first time.
    SignatureMatched {
        /// Source.
        src: IpAddr,
        /// Destination.
        dst: IpAddr,
        /// Signature index.
        sig: u32,
        /// When.
        at: Timestamp,
    },
}

/// Why an accepted firewall line was not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IgnoreReason {
    /// `IGNORE_LOG_PREFIXES`.
    LogPrefix,
    /// `IGNORE_INTERFACES`.
    Interface,
    /// `FW_SEARCH_ALL N` and no `FW_MSG_SEARCH` match.
    NoSearchMatch,
    /// IPv6 with `ENABLE_IPV6_DETECTION N`.
    Ipv6Disabled,
    /// `IGNORE_PROTOCOLS`.
    Protocol,
    /// TCP ACK/RST with `IGNORE_CONNTRACK_BUG_PKTS Y`.
    ConntrackAckRst,
    /// `IGNORE_PORTS`.
    Port,
    /// `MAX_SCAN_IP_PAIRS` reached.
    PairLimit,
    /// auto_dl level 0.
    AutoDlIgnore,
    /// A signature with DL 0 matched.
    SignatureDl0,
    /// A logged accepted connection (TRW accept prefix): evidence, not a probe.
    AcceptedConnection,
}

impl IgnoreReason {
    /// Number of reasons.
    pub const COUNT: usize = 11;
}

/// What happened to one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineOutcome {
    /// Not a firewall line.
    NotFirewall,
    /// A firewall line that does not parse.
    Malformed(ParseError),
    /// Parsed but filtered out.
    Ignored(IgnoreReason),
    /// Counted.
    Accepted,
}

/// Global counters (psad's protocol, port, prefix and signature tables).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    #[serde(with = "snapshot::boxed_table")]
    protocols: Box<[u64; 256]>,
    tcp_ports: PortCounts,
    udp_ports: PortCounts,
    ignored: [u64; IgnoreReason::COUNT],
    /// Matches per signature id, and distinct sources.
    pub signatures: HashMap<u32, (u64, u64)>,
    /// Packets accepted into detection.
    pub accepted: u64,
    /// Times a packet's time was earlier than the latest seen.
    pub clock_backwards: u64,
    /// Sources evicted to stay under `MAX_SOURCES`.
    #[serde(default)]
    pub evicted: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            protocols: Box::new([0; 256]),
            tcp_ports: PortCounts::default(),
            udp_ports: PortCounts::default(),
            ignored: [0; IgnoreReason::COUNT],
            signatures: HashMap::new(),
            accepted: 0,
            clock_backwards: 0,
            evicted: 0,
        }
    }
}

/// What OS fingerprints look at in a SYN, but the TTL (scanners vary it).
fn syn_shape(pkt: &Packet<'_>) -> u64 {
    let t = pkt.tcp.unwrap_or_default();
    let opts = t.options.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    opts ^ (u64::from(t.window) << 32) ^ (u64::from(pkt.len) << 16) ^ u64::from(pkt.ip_flags.df)
}

/// SYNs per source the fixed mode fingerprints (posf needs up to a few).
const OS_SAMPLE_SYNS: u16 = 32;

/// Sources whose TRW walk is tracked at most (a walk is ~200 bytes).
const TRW_MAX_SOURCES: usize = 1 << 16;

/// Ports whose packets to an ephemeral port look like the tail of a connection.
const SERVICE_PORTS: [u16; 24] = [
    1080, 1433, 1521, 2049, 3128, 3306, 3389, 5060, 5222, 5432, 5900, 6379, 6667, 8000, 8008, 8080,
    8081, 8443, 8888, 9000, 9090, 9200, 11211, 27017,
];

/// `IGNORE_CONNTRACK_BUG_PKTS`: psad drops every TCP packet with ACK or RST,
/// which hides ACK, Window and Maimon scans. The fixed mode drops resets
/// (RST, RST+ACK) and only those ACK packets that look like the end of a real
/// connection the firewall forgot: from a service port to an ephemeral port.
/// Scanners send from ephemeral ports to the ports they probe, and RST mixed
/// with SYN or FIN is crafted, so both count.
fn is_conntrack_noise(pkt: &Packet<'_>, flags: crate::TcpFlags, compat: bool) -> bool {
    let (ack, rst) = (
        flags.has(crate::TcpFlags::ACK),
        flags.has(crate::TcpFlags::RST),
    );
    if compat {
        return ack || rst;
    }
    let reset = flags.0 & !crate::TcpFlags::ACK == crate::TcpFlags::RST;
    if reset || rst || !ack {
        return reset;
    }
    match (pkt.sport, pkt.dport) {
        (Some(sp), Some(dp)) => (sp < 1024 || SERVICE_PORTS.contains(&sp)) && dp >= 1024,
        _ => true,
    }
}

/// Packets per destination port. Scans hit ports at random, so the hot
/// table is one byte a port (64 KiB, cache resident); every 256th packet
/// of a port carries into a wide table.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "Vec<u32>", into = "Vec<u32>")]
struct PortCounts {
    low: Vec<u8>,
    high: Vec<u32>,
}

impl PortCounts {
    #[inline]
    fn bump(&mut self, port: u16) {
        if self.low.is_empty() {
            self.low.resize(1 << 16, 0);
        }
        let c = &mut self.low[port as usize];
        if *c == u8::MAX {
            *c = 0;
            if self.high.is_empty() {
                self.high.resize(1 << 16, 0);
            }
            let h = &mut self.high[port as usize];
            *h = h.saturating_add(1);
        } else {
            *c += 1;
        }
    }

    fn get(&self, port: usize) -> u64 {
        let low = self.low.get(port).map_or(0, |&c| u64::from(c));
        let high = self.high.get(port).map_or(0, |&c| u64::from(c));
        high * 256 + low
    }

    /// Ports with packets, in port order. Eight ports a step: a table is
    /// mostly zeros, and the report walks each one.
    fn iter(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        // (A table is empty or 65,536 long: whole words.)
        fn busy<T: Copy + Default + PartialEq>(t: &[T], i: usize) -> bool {
            t.get(i..i + 8)
                .is_some_and(|w| w.iter().any(|&c| c != T::default()))
        }
        (0..self.low.len())
            .step_by(8)
            .filter(move |&i| busy(&self.low, i) || busy(&self.high, i))
            .flat_map(|i| i..i + 8)
            .map(|p| (p as u16, self.get(p)))
            .filter(|&(_, c)| c > 0)
    }
}

impl From<Vec<u32>> for PortCounts {
    fn from(v: Vec<u32>) -> Self {
        if v.iter().all(|&c| c == 0) {
            return PortCounts::default();
        }
        let v = &v[..v.len().min(1 << 16)];
        let mut pc = PortCounts {
            low: vec![0; 1 << 16],
            high: vec![0; 1 << 16],
        };
        for (p, &c) in v.iter().enumerate() {
            pc.low[p] = (c % 256) as u8;
            pc.high[p] = c / 256;
        }
        pc
    }
}

impl From<PortCounts> for Vec<u32> {
    fn from(pc: PortCounts) -> Self {
        (0..pc.low.len())
            .map(|p| u32::try_from(pc.get(p)).unwrap_or(u32::MAX))
            .collect()
    }
}

impl Stats {
    /// Packets per protocol (counted before auto_dl/signature drops, as psad).
    pub fn protocols(&self) -> impl Iterator<Item = (Proto, u64)> + '_ {
        self.protocols
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(n, &c)| (Proto::from_number(n as u8), c))
    }
    /// Packets per TCP destination port.
    pub fn tcp_ports(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.tcp_ports.iter()
    }
    /// Packets per UDP and UDP-Lite destination port.
    pub fn udp_ports(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.udp_ports.iter()
    }
    /// Ignored packets for one reason.
    pub fn ignored(&self, why: IgnoreReason) -> u64 {
        self.ignored[why as usize]
    }
    /// All ignored packets.
    pub fn ignored_total(&self) -> u64 {
        self.ignored.iter().sum()
    }
}

/// Error building an engine from a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineError(pub String);

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EngineError {}

/// The detection engine. See the module doc for the driving contract.
pub struct Engine {
    config: Arc<Config>,
    rules: Arc<Rules>,
    ignore_prefix: Option<regex::Regex>,
    msg_search: Vec<regex::Regex>,
    sources: Vec<Source>,
    /// Source address -> index into `sources`; 4 bytes a source (see state.rs).
    index: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    names: Vec<Box<str>>,
    name_ids: HashMap<Box<str>, NameId>,
    /// The names last interned per call site, most recent first: lines
    /// mostly repeat a few (IN_DROP, IN_REJECT, ...) in any order.
    name_cache: [[NameId; NAME_WAYS]; 3],
    /// Remembers the previous line's network fields (parse results unchanged).
    parser: LineParser,
    /// Index of the last packet's source, checked before the hash lookup
    /// (scans come in runs); a stale index just misses.
    last_source: usize,
    prefix_counts: Vec<u64>,
    sig_sources: HashMap<u32, std::collections::HashSet<IpAddr>>,
    stats: Stats,
    events: VecDeque<Event>,
    now: Timestamp,
    tracked_pairs: u64,
    seen_tcp_options: bool,
    interval: Vec<u32>,
    sig_buf: Vec<u32>,
    sig_memo: crate::signature::MatchMemo,
    /// Pair times from the packets' own times (see [`Engine::with_logged_times`]).
    logged_times: bool,
    /// The fwsnort tag of each interned name (see [`Engine::fwsnort_tag`]).
    name_fwsnort: Vec<Option<crate::signature::FwsnortTag>>,
    last_sweep: Option<Timestamp>,
    /// OS fingerprint state by source index, only for sources that sent SYNs
    /// (and, in the default mode, reached DL 1: spoofed one-packet floods cost nothing here).
    os: HashMap<u32, (OsState, u16, u64), foldhash::fast::RandomState>,
    /// TRW walks by source, when `[trw]` is configured (bounded).
    trw: HashMap<IpAddr, trw::TrwState, foldhash::fast::RandomState>,
    /// Sources changed since the last [`Engine::take_changed`], when tracked.
    changes: Option<snapshot::Changes>,
}

impl Engine {
    /// A new engine. Fails only if a regex in the config does not compile.
    pub fn new(config: Arc<Config>, rules: Arc<Rules>) -> Result<Engine, EngineError> {
        // An engine of its own copy: handle_packet clones this Arc per packet,
        // and a count shared by engines on other threads would bounce between cores.
        let config = Arc::new(Config::clone(&config));
        let compile = |what: &str, re: &str| {
            regex::Regex::new(re)
                .map_err(|e| EngineError(format!("{what}: invalid regex {re:?}: {e}")))
        };
        let ignore_prefix = match &config.ignore_log_prefixes {
            Some(re) => Some(compile("IGNORE_LOG_PREFIXES", re)?),
            None => None,
        };
        let msg_search = config
            .fw_msg_search
            .iter()
            .map(|re| compile("FW_MSG_SEARCH", re))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Engine {
            config,
            rules,
            ignore_prefix,
            msg_search,
            sources: Vec::new(),
            index: hashbrown::HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            names: Vec::new(),
            name_ids: HashMap::new(),
            name_cache: [[NO_NAME; NAME_WAYS]; 3],
            parser: LineParser::new(),
            last_source: 0,
            prefix_counts: Vec::new(),
            sig_sources: HashMap::new(),
            stats: Stats::default(),
            events: VecDeque::new(),
            now: Timestamp(i64::MIN),
            tracked_pairs: 0,
            seen_tcp_options: false,
            interval: Vec::new(),
            sig_buf: Vec::new(),
            sig_memo: Default::default(),
            logged_times: false,
            name_fwsnort: Vec::new(),
            last_sweep: None,
            os: HashMap::default(),
            trw: HashMap::default(),
            changes: None,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The rules in use.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The latest time seen (the engine's notion of now).
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Next queued event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Global counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Number of tracked sources.
    pub fn source_count(&self) -> usize {
        self.sources.len()
    }

    /// Parse one line and feed it. `fallback` is the time used when the line
    /// carries none (dmesg, kmsg without boot time).
    pub fn handle_line(
        &mut self,
        line: &str,
        opts: &ParseOptions,
        fallback: Timestamp,
    ) -> LineOutcome {
        let parsed = self.parser.parse(line, opts);
        if let Err(ParseError {
            reason: ParseErrorKind::Encoded,
            ..
        }) = parsed
        {
            // A journal JSON line whose MESSAGE is escaped or a byte array.
            return match decode_journal_json(line) {
                Ok(entry) => self.handle_message(&entry.message, entry.header, fallback),
                Err(e) => LineOutcome::Malformed(e),
            };
        }
        self.handle_parsed(line, parsed, fallback)
    }

    /// Feed a kernel message whose header is already known (journal records).
    pub fn handle_message(
        &mut self,
        msg: &str,
        header: Header<'_>,
        fallback: Timestamp,
    ) -> LineOutcome {
        let parsed = parse_message(msg, header);
        self.handle_parsed(msg, parsed, fallback)
    }

    // Inline, and the packet borrowed where it lies: moving the parse result
    // (a few hundred bytes) was 2% of an analysis.
    #[inline(always)]
    fn handle_parsed(
        &mut self,
        line: &str,
        parsed: Result<Option<Packet<'_>>, ParseError>,
        fallback: Timestamp,
    ) -> LineOutcome {
        let pkt = match parsed {
            Ok(Some(ref p)) => p,
            Ok(None) => return LineOutcome::NotFirewall,
            Err(e) => return LineOutcome::Malformed(e),
        };
        let compat;
        let pkt = if self.config.psad_compat {
            // psad 2.4.6 rejects more lines and reads some fields differently.
            if let Err(e) = psad_compat_check(line, pkt) {
                return LineOutcome::Malformed(e);
            }
            // psad's prefix and DF bit; ICMP id/seq stay as logged because the
            // signature matcher applies psad's capture shift itself in compat mode.
            let view = psad_view(line, pkt);
            let mut p = *pkt;
            p.prefix = view.prefix;
            p.ip_flags = view.ip_flags;
            compat = p;
            &compat
        } else {
            pkt
        };
        if !self.config.fw_search_all && !self.search_matches(line, pkt) {
            return self.ignore(IgnoreReason::NoSearchMatch);
        }
        let now = pkt.header.time.unwrap_or(fallback);
        self.handle_packet(now, pkt)
    }

    fn search_matches(&self, line: &str, pkt: &Packet<'_>) -> bool {
        // psad matches the whole line; only the prefix is the admin's own text,
        // so the fixed mode looks at the prefix alone.
        let hay = if self.config.psad_compat {
            line
        } else {
            pkt.prefix
        };
        (!self.config.snort_sid_str.is_empty()
            && pkt.prefix.contains(self.config.snort_sid_str.as_str()))
            || self.msg_search.iter().any(|re| re.is_match(hay))
    }

    fn ignore(&mut self, why: IgnoreReason) -> LineOutcome {
        self.stats.ignored[why as usize] += 1;
        LineOutcome::Ignored(why)
    }

    /// Feed one parsed packet observed at `now`.
    pub fn handle_packet(&mut self, now: Timestamp, pkt: &Packet<'_>) -> LineOutcome {
        let logged = now;
        let now = if now < self.now {
            self.stats.clock_backwards += 1;
            self.now
        } else {
            self.now = now;
            now
        };
        // The time a pair records (see `with_logged_times`).
        let pair_time = if self.logged_times { logged } else { now };
        // Filters of psad's parse stage (spec §1.2, §2.9).
        if let Some(re) = &self.ignore_prefix {
            if !pkt.prefix.is_empty() && re.is_match(pkt.prefix) {
                return self.ignore(IgnoreReason::LogPrefix);
            }
        }
        let prefix_id = self.intern_at(0, pkt.prefix);
        if !pkt.prefix.is_empty() {
            if let Some(c) = self.prefix_counts.get_mut(prefix_id as usize) {
                *c += 1;
            }
        }
        let intf = pkt.interface();
        let flags = pkt.tcp_flags();
        let fwsnort = self.fwsnort_tag(prefix_id, pkt.prefix);
        if let Some(why) = self.filtered(pkt, flags, fwsnort.is_some()) {
            return self.ignore(why);
        }
        // TRW: first contacts and their outcomes (engine/trw.rs).
        let mut trw_scanner = None;
        if let Some(t) = &self.config.trw {
            let accept = t.is_accept(pkt.prefix);
            let success = accept || t.is_open(pkt.dst, pkt.proto, pkt.dport);
            if self.trw.len() < TRW_MAX_SOURCES || self.trw.contains_key(&pkt.src) {
                let st = self.trw.entry(pkt.src).or_default();
                if st.contact(t, pkt.dst, success) == Some(true) {
                    trw_scanner = Some((t.danger_level, st.failures));
                }
            }
            if accept {
                return self.ignore(IgnoreReason::AcceptedConnection);
            }
        }
        // Masscan marker: sticky once any TCP options were seen (spec §1.6).
        let has_tcp_opts = pkt.tcp.is_some_and(|t| !t.options.is_empty());
        if has_tcp_opts {
            self.seen_tcp_options = true;
        }
        let is_masscan = self.config.expect_tcp_options
            && self.seen_tcp_options
            && !has_tcp_opts
            && pkt.proto == Proto::Tcp
            && flags.0 == crate::TcpFlags::SYN;

        // Global counters, counted even for packets dropped below (spec §2.2 step 2).
        self.stats.protocols[pkt.proto.number() as usize] += 1;
        if let Some(dp) = pkt.dport {
            match pkt.proto {
                Proto::Tcp => self.stats.tcp_ports.bump(dp),
                Proto::Udp | Proto::UdpLite => self.stats.udp_ports.bump(dp),
                _ => {}
            }
        }

        let combo = Combo {
            chain: pkt.chain,
            proto: pkt.proto,
            flags,
            tcp_header: pkt.tcp.is_some(),
            icmp_type: pkt.icmp.map_or(0, |i| i.kind),
            intf: self.intern_at(1, intf),
            prefix: prefix_id,
            host: match pkt.header.host {
                Some(h) => self.intern_at(2, h),
                None => NO_NAME,
            },
        };
        let found = match self.sources.get(self.last_source) {
            Some(s) if s.src == pkt.src => Some(self.last_source),
            _ => self.find_source(pkt.src),
        };
        let pair_pos = found.and_then(|si| self.sources[si].pairs.find(pkt.dst));
        let new_pair = match (found, pair_pos) {
            (Some(si), Some(pi)) => self.sources[si].pairs.as_slice()[pi].absnum == 0,
            _ => true,
        };
        if new_pair
            && self.config.max_scan_ip_pairs > 0
            && self.tracked_pairs >= self.config.max_scan_ip_pairs
        {
            return self.ignore(IgnoreReason::PairLimit);
        }
        let new_source = found.is_none();
        let si = match found {
            Some(si) => si,
            None => {
                self.make_room();
                self.add_source(Source::new(pkt.src, Pair::new(pkt.dst, pair_time, combo)))
            }
        };
        self.last_source = si;
        self.mark_changed(si);
        let src = &mut self.sources[si];
        src.packets = src.packets.saturating_add(1);
        if new_source {
            self.events.push_back(Event::SourceSeen {
                src: pkt.src,
                at: now,
            });
        }

        if let Some((dl, failures)) = trw_scanner {
            self.raise(si, dl, DangerReason::Trw { failures }, now);
        }
        // auto_dl (spec §2.4).
        let cur = self.sources[si].dl;
        match self
            .config
            .auto_dl
            .lookup(pkt.src, pkt.proto, pkt.dport, cur)
        {
            Some(0) => return self.ignore(IgnoreReason::AutoDlIgnore),
            Some(dl) => self.raise(si, dl, DangerReason::AutoDl, now),
            None => {}
        }

        let pi = match pair_pos {
            Some(p) => p,
            None if new_source => 0,
            None => {
                let src = &mut self.sources[si];
                src.pairs.push(Pair::new(pkt.dst, pair_time, combo));
                src.pairs.len() - 1
            }
        };

        // ICMP type/code validation (spec §2.5).
        if let Some(icmp) = pkt.icmp {
            let (table, v6, on) = match pkt.proto {
                Proto::Icmp6 => (&self.rules.icmp6, true, self.config.icmp6_validation),
                _ => (&self.rules.icmp4, false, self.config.icmp_validation),
            };
            if on && matches!(pkt.proto, Proto::Icmp | Proto::Icmp6) {
                let code = match table.check(icmp.kind, icmp.code) {
                    IcmpCheck::Valid => None,
                    IcmpCheck::InvalidType => Some(None),
                    IcmpCheck::InvalidCode => Some(Some(icmp.code)),
                };
                if let Some(code) = code {
                    let d = self.sources[si].pairs.as_mut_slice()[pi].detail_mut();
                    match d.icmp_invalid.iter_mut().find(|x| {
                        x.v6 == v6 && x.kind == icmp.kind && x.code == code && x.chain == pkt.chain
                    }) {
                        Some(x) => x.count += 1,
                        None => d.icmp_invalid.push(IcmpInvalid {
                            v6,
                            kind: icmp.kind,
                            code,
                            chain: pkt.chain,
                            count: 1,
                        }),
                    }
                    self.raise(si, 2, DangerReason::InvalidIcmp, now);
                }
            }
        }

        // fwsnort SIDs replace psad's own signatures (spec §3.5).
        let known_sid = fwsnort.filter(|t| self.rules.fwsnort.get(t.sid).is_some());
        if let Some(tag) = known_sid {
            let dl = self.rules.rule_dl.fwsnort_dl(tag.sid);
            if dl == 0 {
                return self.ignore(IgnoreReason::SignatureDl0);
            }
            self.record_sig(si, pi, FWSNORT_SIG | tag.sid, pkt, now);
            let src = &mut self.sources[si];
            if self.config.psad_compat {
                src.interval_sig_dl = dl;
            } else {
                src.interval_sig_dl = src.interval_sig_dl.max(dl);
                self.raise(
                    si,
                    dl,
                    DangerReason::Signature {
                        sig: FWSNORT_SIG | tag.sid,
                    },
                    now,
                );
            }
        } else if fwsnort.is_none()
            && self.config.signatures_enabled
            && !self.rules.signatures.sigs.is_empty()
        {
            let mut buf = std::mem::take(&mut self.sig_buf);
            self.rules.signatures.match_packet_memo(
                pkt,
                self.config.psad_compat,
                &mut self.sig_memo,
                &mut buf,
            );
            if !buf.is_empty() {
                let mut pkt_dl = 0u8;
                let mut best = buf[0];
                for &s in &buf {
                    let sig = &self.rules.signatures.sigs[s as usize];
                    if sig.dl > pkt_dl {
                        pkt_dl = sig.dl;
                        best = s;
                    }
                    // DL-0 tcp/udp/icmp rules count as matched but are not recorded.
                    if sig.dl == 0 && sig.proto != "ip" {
                        continue;
                    }
                    self.record_sig(si, pi, s, pkt, now);
                }
                if pkt_dl == 0 {
                    self.sig_buf = buf;
                    return self.ignore(IgnoreReason::SignatureDl0);
                }
                let src = &mut self.sources[si];
                if self.config.psad_compat {
                    src.interval_sig_dl = pkt_dl; // psad keeps the last match of the interval
                } else {
                    src.interval_sig_dl = src.interval_sig_dl.max(pkt_dl);
                    self.raise(si, pkt_dl, DangerReason::Signature { sig: best }, now);
                }
            }
            self.sig_buf = buf;
        }

        // Counters of the pair (spec §2.2 step 11-12).
        let compat = self.config.psad_compat;
        let src = &mut self.sources[si];
        if !src.in_interval {
            src.in_interval = true;
            src.interval_dsts = 0;
            self.interval.push(si as u32);
        }
        let pair = &mut src.pairs.as_mut_slice()[pi];
        if !pair.in_interval {
            pair.in_interval = true;
            src.interval_dsts += 1;
        }
        let first_packet = pair.absnum == 0;
        // (With the clock's times, `now` never runs backwards: min and max
        // keep the first packet's time and take the latest.)
        let t = secs32(pair_time);
        if first_packet {
            pair.start = t;
            pair.last = t;
        } else {
            pair.start = pair.start.min(t);
            pair.last = pair.last.max(t);
        }
        let new_proto = !pair.has_proto(pkt.proto);
        if compat {
            // psad bumps tot_protocols unless its per-protocol sub-hash exists,
            // which for ICMP and numeric protocols is only after a signature hit.
            let hit = |p: &Pair| {
                p.detail.as_ref().is_some_and(|d| {
                    d.sigs.iter().any(|h| h.proto == pkt.proto)
                        || (matches!(pkt.proto, Proto::Icmp | Proto::Icmp6)
                            && d.icmp_invalid
                                .iter()
                                .any(|x| x.v6 == (pkt.proto == Proto::Icmp6)))
                })
            };
            let has_subhash = match pkt.proto {
                Proto::Tcp | Proto::Udp | Proto::UdpLite => !new_proto || hit(pair),
                Proto::Icmp | Proto::Icmp6 => hit(pair),
                Proto::Other(_) => false,
            };
            if !has_subhash {
                pair.tot_protocols += 1;
            }
        } else if new_proto {
            pair.tot_protocols += 1;
        }
        pair.count(&combo);
        // Only real fragments: nmap -sO probes are also logged INCOMPLETE, unfragmented.
        if pkt.ip_flags.mf || pkt.frag.is_some_and(|f| f > 0) {
            pair.fragment = true;
        }
        // Markers (spec §1.6); the fixed mode keeps them once set.
        let is_syn = pkt.proto == Proto::Tcp && flags.0 == crate::TcpFlags::SYN;
        let syn23 = is_syn && pkt.dport == Some(23);
        let is_mirai = is_syn
            && pkt.dport == Some(2323)
            && pair.detail.as_ref().is_some_and(|d| d.mirai_syn23 >= 10);
        let is_topera = pkt.is_ipv6() && pkt.proto == Proto::Tcp && pkt.ipv6_opt_groups >= 7;
        let any_marker = syn23 || is_masscan || is_mirai || is_topera;
        if any_marker || (compat && pair.detail.is_some()) {
            let d = pair.detail_mut();
            if syn23 {
                d.mirai_syn23 += 1;
            }
            if compat {
                d.is_masscan = is_masscan;
                d.is_mirai = is_mirai;
                d.is_topera = is_topera;
            } else {
                d.is_masscan |= is_masscan;
                d.is_mirai |= is_mirai;
                d.is_topera |= is_topera;
            }
        }
        if let (Some(i), Some(dp)) = (span_index(pkt.proto), pkt.dport) {
            pair.spans[i].add(dp);
        }
        if first_packet {
            src.dsts += 1;
            self.tracked_pairs += 1;
        }
        let crossed_hosts_gate = !compat
            && first_packet
            && self.config.unique_hosts[0] > 0
            && u64::from(src.dsts) == self.config.unique_hosts[0];
        self.stats.accepted += 1;
        if !compat {
            if crossed_hosts_gate {
                self.assess_source(si, now);
            } else {
                self.assess(si, pi, now);
            }
        }
        // Passive OS fingerprinting (spec §2.2 step 13).
        if pkt.proto == Proto::Tcp && flags.has(crate::TcpFlags::SYN) {
            let pair_packets = u64::from(self.sources[si].pairs.as_slice()[pi].absnum);
            let watch = compat || self.sources[si].dl >= 1 || self.os.contains_key(&(si as u32));
            if watch {
                let (st, seen, last_shape) = self.os.entry(si as u32).or_default();
                // The fixed mode matches a source's first SYNs and then only
                // SYNs that look different (window, length, options): the same
                // stack gives the same guesses (psad matches every SYN).
                let shape = syn_shape(pkt);
                *seen = seen.saturating_add(1);
                let sample = compat || *seen <= OS_SAMPLE_SYNS || shape != *last_shape;
                *last_shape = shape;
                if sample && st.observe(pkt, &self.rules.fingerprints, compat, pair_packets) {
                    self.events.push_back(Event::OsGuessed {
                        src: pkt.src,
                        at: now,
                    });
                }
            }
        }
        LineOutcome::Accepted
    }

    /// The fwsnort rule tag of the interned prefix `id` (text `prefix`):
    /// worked out once per distinct prefix, as searching each packet's
    /// prefix for the SID text was 2.5% of an analysis.
    fn fwsnort_tag(&self, id: NameId, prefix: &str) -> Option<crate::signature::FwsnortTag> {
        match self.name_fwsnort.get(id as usize) {
            Some(tag) => *tag,
            None => self.fwsnort_of(prefix),
        }
    }

    /// The fwsnort rule tag in a log prefix, if any (none when
    /// `SNORT_SID_STR` is empty).
    fn fwsnort_of(&self, prefix: &str) -> Option<crate::signature::FwsnortTag> {
        let sid = &self.config.snort_sid_str;
        if sid.is_empty() {
            return None;
        }
        fwsnort_tag(prefix, sid)
    }

    /// The configured filters after the log prefix one (interface, IPv6,
    /// protocol, conntrack noise, port), in psad's order; no state changes.
    fn filtered(
        &self,
        pkt: &Packet<'_>,
        flags: crate::TcpFlags,
        fwsnort: bool,
    ) -> Option<IgnoreReason> {
        let cfg = &self.config;
        let intf = pkt.interface();
        if cfg.ignore_interfaces.iter().any(|i| i == intf) {
            return Some(IgnoreReason::Interface);
        }
        if pkt.is_ipv6() && !cfg.enable_ipv6_detection {
            return Some(IgnoreReason::Ipv6Disabled);
        }
        if cfg.ignore_protocols.contains(&pkt.proto) {
            return Some(IgnoreReason::Protocol);
        }
        if pkt.proto == Proto::Tcp
            && !fwsnort
            && cfg.ignore_conntrack_bug_pkts
            && is_conntrack_noise(pkt, flags, cfg.psad_compat)
        {
            return Some(IgnoreReason::ConntrackAckRst);
        }
        let dp = pkt.dport?;
        cfg.ignore_ports
            .iter()
            .any(|r| {
                (r.proto == pkt.proto || (r.proto == Proto::Udp && pkt.proto == Proto::UdpLite))
                    && r.lo <= dp
                    && dp <= r.hi
            })
            .then_some(IgnoreReason::Port)
    }

    /// Would this line make the engine note "TCP options seen" (the sticky
    /// state behind the Masscan marker, spec §1.6)? Nothing changes. With
    /// sources sharded over several engines, the line that sets it is in one
    /// shard only: `analyze` asks this of other shards' lines, in log order,
    /// and passes it on with [`Engine::note_tcp_options_seen`], so every
    /// engine marks what one engine over the whole log would.
    pub fn would_see_tcp_options(&self, line: &str, opts: &ParseOptions) -> bool {
        match crate::parse::parse_line(line, opts) {
            Err(ParseError {
                reason: ParseErrorKind::Encoded,
                ..
            }) => decode_journal_json(line)
                .is_ok_and(|e| self.message_would_see_tcp_options(&e.message, e.header)),
            parsed => self.parsed_would_see_tcp_options(line, parsed),
        }
    }

    /// [`Engine::would_see_tcp_options`] for a message with a known header.
    pub fn message_would_see_tcp_options(&self, msg: &str, header: Header<'_>) -> bool {
        self.parsed_would_see_tcp_options(msg, parse_message(msg, header))
    }

    fn parsed_would_see_tcp_options(
        &self,
        line: &str,
        parsed: Result<Option<Packet<'_>>, ParseError>,
    ) -> bool {
        let Ok(Some(mut pkt)) = parsed else {
            return false;
        };
        if pkt.tcp.is_none_or(|t| t.options.is_empty()) {
            return false;
        }
        // The path of handle_parsed and handle_packet up to the options test.
        if self.config.psad_compat {
            if psad_compat_check(line, &pkt).is_err() {
                return false;
            }
            let view = psad_view(line, &pkt);
            pkt.prefix = view.prefix;
            pkt.ip_flags = view.ip_flags;
        }
        if !self.config.fw_search_all && !self.search_matches(line, &pkt) {
            return false;
        }
        if let Some(re) = &self.ignore_prefix {
            if !pkt.prefix.is_empty() && re.is_match(pkt.prefix) {
                return false;
            }
        }
        let fwsnort = self.fwsnort_of(pkt.prefix).is_some();
        if self.filtered(&pkt, pkt.tcp_flags(), fwsnort).is_some() {
            return false;
        }
        !self
            .config
            .trw
            .as_ref()
            .is_some_and(|t| t.is_accept(pkt.prefix))
    }

    /// Another engine saw TCP options earlier in the log (see
    /// [`Engine::would_see_tcp_options`]).
    pub fn note_tcp_options_seen(&mut self) {
        self.seen_tcp_options = true;
    }

    /// TCP options were seen (or noted), so SYNs without them are Masscan's.
    pub fn tcp_options_seen(&self) -> bool {
        self.seen_tcp_options
    }

    fn record_sig(&mut self, si: usize, pi: usize, sig: u32, pkt: &Packet<'_>, now: Timestamp) {
        let src = &mut self.sources[si];
        let pair = &mut src.pairs.as_mut_slice()[pi];
        let dst = pair.dst;
        let hits = &mut pair.detail_mut().sigs;
        let first = !hits.iter().any(|h| h.sig == sig);
        match hits
            .iter_mut()
            .find(|h| h.sig == sig && h.chain == pkt.chain)
        {
            Some(h) => {
                h.count += 1;
                h.dport = pkt.dport;
                h.flags = pkt.tcp.map(|t| t.flags);
            }
            None => hits.push(SigHit {
                sig,
                chain: pkt.chain,
                count: 1,
                dport: pkt.dport,
                flags: pkt.tcp.map(|t| t.flags),
                proto: pkt.proto,
            }),
        }
        let e = self.stats.signatures.entry(sig).or_default();
        e.0 += 1;
        if self.sig_sources.entry(sig).or_default().insert(pkt.src) {
            e.1 += 1;
        }
        if first {
            self.events.push_back(Event::SignatureMatched {
                src: pkt.src,
                dst,
                sig,
                at: now,
            });
        }
    }

    fn find_source(&self, ip: IpAddr) -> Option<usize> {
        let h = self.hasher.hash_one(ip);
        self.index
            .find(h, |&i| self.sources[i as usize].src == ip)
            .map(|&i| i as usize)
    }

    fn add_source(&mut self, source: Source) -> usize {
        let i = self.sources.len();
        let h = self.hasher.hash_one(source.src);
        self.sources.push(source);
        let (sources, hasher) = (&self.sources, &self.hasher);
        self.index
            .insert_unique(h, i as u32, |&j| hasher.hash_one(sources[j as usize].src));
        i
    }

    /// Intern through a small cache per call site, compared by text: no
    /// hashing while a slot keeps to a few names.
    #[inline(always)]
    fn intern_at(&mut self, slot: usize, name: &str) -> NameId {
        let (names, ways) = (&self.names, &mut self.name_cache[slot]);
        for k in 0..NAME_WAYS {
            let id = ways[k];
            if id == NO_NAME {
                break;
            }
            if names
                .get(id as usize)
                .is_some_and(|n| same_name(n.as_bytes(), name.as_bytes()))
            {
                ways[..=k].rotate_right(1);
                return id;
            }
        }
        let id = self.intern(name);
        if id != NO_NAME {
            let ways = &mut self.name_cache[slot];
            ways.rotate_right(1);
            ways[0] = id;
        }
        id
    }

    #[cold]
    fn intern(&mut self, name: &str) -> NameId {
        if let Some(&id) = self.name_ids.get(name) {
            return id;
        }
        // Names come from rules and interfaces, but cap them anyway: forged
        // syslog lines must not grow this table without bound.
        if self.names.len() >= NameId::MAX as usize {
            return NameId::MAX;
        }
        let id = self.names.len() as NameId;
        self.names.push(name.into());
        self.name_ids.insert(name.into(), id);
        self.prefix_counts.push(0);
        self.name_fwsnort.push(self.fwsnort_of(name));
        id
    }

    /// TRW walk of a source: (failed, successful first contacts, likelihood ratio, decision).
    pub fn trw_walk(&self, src: IpAddr) -> Option<(u32, u32, f64, Option<bool>)> {
        self.trw
            .get(&src)
            .map(|t| (t.failures, t.successes, t.ratio(), t.decided))
    }

    pub(crate) fn os_state(&self, idx: u32) -> Option<&OsState> {
        self.os.get(&idx).map(|(st, _, _)| st)
    }

    pub(crate) fn name(&self, id: NameId) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }

    /// Raise a source's DL (never lowers it) and queue the event.
    fn raise(&mut self, si: usize, to: u8, reason: DangerReason, at: Timestamp) {
        let src = &mut self.sources[si];
        if to > src.dl {
            let from = src.dl;
            src.dl = to;
            self.events.push_back(Event::DangerRaised {
                src: src.src,
                from,
                to,
                reason,
                at,
            });
        }
    }

    /// When the shell must next call [`Engine::handle_timeout`], if ever
    /// (`None` with `ENABLE_PERSISTENCE Y`).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.config.enable_persistence {
            return None;
        }
        Some(match self.last_sweep {
            Some(t) => Timestamp(t.0.saturating_add(self.sweep_period().0)),
            None => self.now.max(Timestamp(0)),
        })
    }

    /// psad checks timeouts every `PERSISTENCE_CTR_THRESHOLD` intervals.
    fn sweep_period(&self) -> Timestamp {
        let n = self
            .config
            .var("PERSISTENCE_CTR_THRESHOLD")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(5)
            .max(1);
        Timestamp::from_secs((n * self.config.check_interval_secs.max(1)) as i64)
    }

    /// For an offline analysis, which never expires state: a destination's
    /// first and last times become the earliest and latest of its own
    /// packets instead of the clock's (the latest time seen). They then
    /// depend only on the pair's own packets, not on what other sources
    /// logged in between (another host's lagging clock, an older file read
    /// after a newer one). A live engine keeps the clock's times: a pair
    /// of a host whose clock lags by more than `SCAN_TIMEOUT` would
    /// otherwise look idle and expire at every sweep.
    pub fn with_logged_times(mut self) -> Self {
        self.logged_times = true;
        self
    }

    /// Move the clock forward to `now` (never back), as a packet at `now`
    /// would, without touching any state. Engines that each see a shard of
    /// one log keep their clocks together this way.
    pub fn advance_clock(&mut self, now: Timestamp) {
        self.now = self.now.max(now);
    }

    /// Expire scan state older than `SCAN_TIMEOUT` (spec §2.7). psad counts
    /// the timeout from a pair's first packet, so a long scan restarts from
    /// zero after an hour; the fixed mode counts from the last packet.
    /// Danger levels are kept either way.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.config.enable_persistence {
            return;
        }
        if now < self.now {
            self.stats.clock_backwards += 1;
        }
        let now = now.max(self.now);
        if self.poll_timeout().is_some_and(|t| now < t) {
            return;
        }
        self.last_sweep = Some(now);
        let cutoff = now
            .secs()
            .saturating_sub(self.config.scan_timeout_secs as i64);
        let compat = self.config.psad_compat;
        for src in &mut self.sources {
            let old = |p: &Pair| {
                p.absnum > 0 && i64::from(if compat { p.start } else { p.last }) <= cutoff
            };
            if !src.pairs.as_slice().iter().any(old) {
                continue;
            }
            if let Some(c) = &mut self.changes {
                c.mark(src.src);
            }
            let mut kept = Vec::new();
            for p in src.pairs.as_slice() {
                if old(p) {
                    self.events.push_back(Event::ScanExpired {
                        src: src.src,
                        dst: p.dst,
                        at: now,
                    });
                    self.tracked_pairs = self.tracked_pairs.saturating_sub(1);
                    src.dsts = src.dsts.saturating_sub(1);
                } else {
                    kept.push(p.clone());
                }
            }
            src.pairs.retain_from(kept);
        }
    }

    /// Close the current batch: psad's `assign_danger_level()` for compat mode.
    pub fn end_interval(&mut self, now: Timestamp) {
        let interval = std::mem::take(&mut self.interval);
        for &si in &interval {
            let si = si as usize;
            if self.config.psad_compat {
                let sig_dl = self.sources[si].interval_sig_dl;
                if sig_dl > 0 {
                    self.raise(si, sig_dl, DangerReason::Signature { sig: u32::MAX }, now);
                }
                for pi in 0..self.sources[si].pairs.len() {
                    if self.sources[si].pairs.as_slice()[pi].in_interval {
                        self.assess(si, pi, now);
                    }
                }
            }
            self.mark_changed(si);
            let src = &mut self.sources[si];
            src.in_interval = false;
            src.interval_sig_dl = 0;
            for p in src.pairs.as_mut_slice() {
                p.in_interval = false;
            }
        }
    }

    /// Iterate over tracked sources (unordered).
    pub fn sources(&self) -> impl Iterator<Item = SourceView<'_>> {
        self.sources
            .iter()
            .enumerate()
            .map(move |(i, s)| SourceView {
                engine: self,
                src: s,
                idx: i as u32,
            })
    }

    /// One source, if tracked.
    pub fn source(&self, ip: IpAddr) -> Option<SourceView<'_>> {
        self.find_source(ip).map(|i| SourceView {
            engine: self,
            src: &self.sources[i],
            idx: i as u32,
        })
    }

    /// Packets per log prefix (prefixes counted before later filters, as psad).
    pub fn prefix_counts(&self) -> impl Iterator<Item = (&str, u64)> {
        self.prefix_counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| (self.names[i].as_ref(), c))
    }

    /// The chain name psad would report for a packet (fwsnort chains aside).
    pub fn chain_name(chain: Chain) -> &'static str {
        chain.as_str()
    }
}

/// Names remembered per call site of [`Engine::intern_at`].
const NAME_WAYS: usize = 8;

/// Equality of two short names (prefixes, interfaces, hosts), inline: two
/// overlapping word loads from each end instead of a loop or a call to
/// `memcmp` (this was 3% of an analysis).
#[inline]
fn same_name(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let w8 = |s: &[u8], i: usize| u64::from_ne_bytes(s[i..i + 8].try_into().unwrap_or_default());
    let w4 = |s: &[u8], i: usize| u32::from_ne_bytes(s[i..i + 4].try_into().unwrap_or_default());
    match n {
        0..4 => a.iter().zip(b).all(|(p, q)| p == q),
        4..8 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        8..=16 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod port_count_tests {
    use super::PortCounts;

    #[test]
    fn counts_carry_past_a_byte_and_survive_serde() {
        let mut pc = PortCounts::default();
        for _ in 0..70_000 {
            pc.bump(443);
        }
        pc.bump(0);
        pc.bump(65535);
        let want = vec![(0, 1), (443, 70_000), (65535, 1)];
        assert_eq!(pc.iter().collect::<Vec<_>>(), want);
        let json = serde_json::to_string(&pc).unwrap();
        let back: PortCounts = serde_json::from_str(&json).unwrap();
        assert_eq!(back.iter().collect::<Vec<_>>(), want);
        // The wire form is one count per port, as before the split.
        let wide: Vec<u32> = serde_json::from_str(&json).unwrap();
        assert_eq!((wide.len(), wide[443]), (65536, 70_000));
    }
}
