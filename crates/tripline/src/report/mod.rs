//! The analysis report: one model built from the engine, rendered as text
//! (psad -A's sections), JSON or CSV. Only this module defines the JSON shape.

pub mod csv;
pub mod text;

use crate::analyze::{LineTotals, Malformed};
use crate::input::Input;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use tripline_core::engine::{
    classify, decoy_groups, psad_nmap_hint, Engine, Evidence, PairView, SourceView, FWSNORT_SIG,
};
use tripline_core::fingerprint::{Method, OsGuess, Quality};
use tripline_core::{Proto, TcpFlags, Timestamp};

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// Tripline version.
    pub version: &'static str,
    /// Inputs in the order read.
    pub inputs: Vec<String>,
    /// Whether psad-compat mode was on.
    pub psad_compat: bool,
    /// Line counters.
    pub totals: Totals,
    /// The first malformed lines.
    pub malformed: Vec<MalformedLine>,
    /// Sources per danger level 1..5 (all tracked sources).
    pub level_counts: [u64; 5],
    /// Sources with a danger level.
    pub tracked_sources: u64,
    /// Reported sources, DL 5 first.
    pub sources: Vec<SourceReport<'a>>,
    /// Most scanned ports per protocol.
    pub top_ports: TopPorts,
    /// Every matched signature, most matched first (the text report shows the
    /// first `STATUS_SIGS_THRESHOLD`).
    pub top_signatures: Vec<TopSignature<'a>>,
    /// How many signatures the text report shows (`STATUS_SIGS_THRESHOLD`).
    #[serde(skip)]
    pub sigs_shown: usize,
    /// Packets per log prefix.
    pub prefixes: Vec<Counted<'a>>,
    /// Packets per protocol.
    pub protocols: Vec<Counted<'a>>,
    /// Distinct destinations of reported sources.
    pub total_destinations: u64,
    /// Decoy sets (`nmap -D`): sources that scanned one destination together.
    pub decoy_groups: Vec<DecoyReport>,
}

/// One decoy set.
#[derive(Debug, Serialize)]
pub struct DecoyReport {
    /// Destination.
    pub dst: IpAddr,
    /// Protocol of the port span.
    pub protocol: Cow<'static, str>,
    /// Port span every member covered.
    pub ports: PortSpan,
    /// Members and their packets.
    pub members: Vec<DecoyMember>,
}

/// A member of a decoy set.
#[derive(Debug, Serialize)]
pub struct DecoyMember {
    /// Source.
    pub src: IpAddr,
    /// Packets to the destination.
    pub packets: u32,
}

/// Line counters.
#[derive(Debug, Serialize)]
pub struct Totals {
    /// Lines read.
    pub lines: u64,
    /// Firewall lines (IN= ... OUT=).
    pub firewall_lines: u64,
    /// Firewall lines that did not parse.
    pub malformed: u64,
    /// Parsed but filtered by configuration.
    pub ignored: u64,
    /// Packets counted.
    pub packets: u64,
}

/// A malformed line.
#[derive(Debug, Serialize)]
pub struct MalformedLine {
    /// Input.
    pub file: String,
    /// Line number.
    pub line: u64,
    /// Field at fault.
    pub field: &'static str,
    /// Reason text.
    pub reason: String,
    /// The line (truncated, control characters kept as is in JSON).
    pub text: String,
}

/// A name and a count.
#[derive(Debug, Serialize)]
pub struct Counted<'a> {
    /// Name.
    pub name: Cow<'a, str>,
    /// Packets.
    pub packets: u64,
}

/// Top ports.
#[derive(Debug, Serialize)]
pub struct TopPorts {
    /// TCP.
    pub tcp: Vec<PortCount>,
    /// UDP and UDP-Lite.
    pub udp: Vec<PortCount>,
}

/// A port and its packets.
#[derive(Debug, Serialize)]
pub struct PortCount {
    /// Port.
    pub port: u16,
    /// Packets.
    pub packets: u64,
}

/// A signature in the top table.
#[derive(Debug, Serialize)]
pub struct TopSignature<'a> {
    /// sid (or psad_id).
    pub sid: u32,
    /// Message.
    pub msg: &'a str,
    /// Rule protocol.
    pub proto: &'static str,
    /// Matches.
    pub count: u64,
    /// Distinct sources.
    pub sources: u64,
}

/// One source.
#[derive(Debug, Serialize)]
pub struct SourceReport<'a> {
    /// Address.
    pub src: IpAddr,
    /// Danger level.
    pub danger_level: u8,
    /// Packets counted (sum over destinations).
    pub packets: u64,
    /// Packets seen before drops (psad's top-attackers count).
    pub packets_seen: u64,
    /// Signature matches.
    pub signature_matches: u64,
    /// Distinct (destination, signature) pairs.
    pub unique_signatures: usize,
    /// Protocols with records.
    pub protocols: usize,
    /// First packet.
    #[serde(serialize_with = "as_rfc3339")]
    pub first_seen: Timestamp,
    /// Last packet.
    #[serde(serialize_with = "as_rfc3339")]
    pub last_seen: Timestamp,
    /// Packets the source had sent when it first reached DL 1 or more (in
    /// psad-compat mode levels are assigned at the end of the input).
    pub packets_before_report: Option<u64>,
    /// The best passive OS guess: p0f v3 when it matched exactly or
    /// generically (default mode), else psad's first pf.os/posf guess.
    pub os_guess: Option<OsGuessReport<'a>>,
    /// Every OS guess with the fingerprint that matched.
    pub os_guesses: Vec<OsGuessReport<'a>>,
    /// Scan kinds seen, from flags and protocols.
    pub scan_types: Vec<ScanType>,
    /// Signatures over all destinations.
    pub signatures: Vec<SigCount<'a>>,
    /// Destinations.
    pub destinations: Vec<DestReport<'a>>,
}

/// An OS guess and its evidence.
#[derive(Debug, Serialize, Clone)]
pub struct OsGuessReport<'a> {
    /// The OS (pf.os OS field, posf name, or p0f v3 label).
    pub os: &'a str,
    /// `pf.os`, `posf` or `p0f3`.
    pub method: &'static str,
    /// The fingerprint that matched.
    pub matched: &'a str,
    /// `exact`, `generic` or `fuzzy`.
    pub quality: &'static str,
}

impl<'a> OsGuessReport<'a> {
    fn new(g: &OsGuess<'a>) -> Self {
        OsGuessReport {
            os: g.os,
            method: match g.method {
                Method::PfOs => "pf.os",
                Method::Posf => "posf",
                Method::P0f3 => "p0f3",
            },
            matched: g.matched,
            quality: match g.quality {
                Quality::Exact => "exact",
                Quality::Generic => "generic",
                Quality::Fuzzy => "fuzzy",
            },
        }
    }
}

/// A scan kind with its evidence.
#[derive(Debug, Serialize, Clone)]
pub struct ScanType {
    /// Kind (`tcp-syn`, `tcp-fin`, `tcp-xmas`, `tcp-null`, `udp`, `ip-protocol`, ...).
    pub kind: &'static str,
    /// Flags or protocol evidence.
    #[serde(serialize_with = "as_text")]
    pub evidence: Evidence,
    /// psad's nmap hint, if any.
    pub nmap: Option<&'static str>,
    /// Packets.
    pub packets: u64,
}

/// A signature and its matches.
#[derive(Debug, Serialize)]
pub struct SigCount<'a> {
    /// sid (or psad_id).
    pub sid: u32,
    /// Message.
    pub msg: &'a str,
    /// Matches.
    pub count: u64,
}

/// One destination of a source.
#[derive(Debug, Serialize)]
pub struct DestReport<'a> {
    /// Address.
    pub dst: IpAddr,
    /// Packets.
    pub packets: u32,
    /// First packet.
    #[serde(serialize_with = "as_rfc3339")]
    pub start: Timestamp,
    /// Port ranges per protocol (`tcp`, `udp`, `udplite`).
    pub ports: Ports,
    /// Packets per chain, interface and protocol.
    pub chains: Vec<ChainReport<'a>>,
    /// Interfaces.
    pub interfaces: Vec<&'a str>,
    /// Packets per chain and log prefix.
    pub prefixes: Vec<PrefixReport<'a>>,
    /// TCP flag combinations.
    pub tcp_flags: Vec<FlagReport>,
    /// Signature hits.
    pub signatures: Vec<SigHitReport<'a>>,
    /// Invalid ICMP types or codes.
    pub icmp_invalid: Vec<IcmpInvalidReport<'a>>,
    /// psad's tot_protocols.
    pub total_protocols: u32,
    /// Syslog hosts that logged it.
    pub hosts: Vec<&'a str>,
}

/// A port range.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PortSpan {
    /// Lowest.
    pub lo: u16,
    /// Highest.
    pub hi: u16,
}

/// Packets per chain/interface/protocol.
#[derive(Debug, Serialize)]
pub struct ChainReport<'a> {
    /// Chain.
    pub chain: &'static str,
    /// Interface.
    pub interface: &'a str,
    /// Protocol.
    pub protocol: Cow<'static, str>,
    /// Packets.
    pub packets: u32,
}

/// Packets per chain and prefix.
#[derive(Debug, Serialize)]
pub struct PrefixReport<'a> {
    /// Chain.
    pub chain: &'static str,
    /// Prefix.
    pub prefix: &'a str,
    /// Packets.
    pub packets: u32,
}

/// A flag combination.
#[derive(Debug, Serialize)]
pub struct FlagReport {
    /// Kernel flag text.
    #[serde(serialize_with = "as_text")]
    pub flags: TcpFlags,
    /// Packets.
    pub packets: u32,
    /// psad's nmap hint.
    pub nmap: Option<&'static str>,
}

/// Signature hits on a destination.
#[derive(Debug, Serialize)]
pub struct SigHitReport<'a> {
    /// sid (or psad_id).
    pub sid: u32,
    /// Message.
    pub msg: &'a str,
    /// Rule protocol.
    pub proto: &'static str,
    /// Chain.
    pub chain: &'static str,
    /// Matches.
    pub count: u32,
    /// Last destination port.
    pub dport: Option<u16>,
    /// Last TCP flags.
    #[serde(serialize_with = "as_text_opt")]
    pub flags: Option<TcpFlags>,
}

/// An invalid ICMP type/code counter.
#[derive(Debug, Serialize)]
pub struct IcmpInvalidReport<'a> {
    /// `icmp` or `icmp6`.
    pub protocol: &'static str,
    /// Type.
    pub kind: u8,
    /// Invalid code, or null when the type is invalid.
    pub code: Option<u8>,
    /// Type name when known.
    pub type_name: Option<&'a str>,
    /// Chain.
    pub chain: &'static str,
    /// Packets.
    pub packets: u32,
}

/// RFC 3339 text of a timestamp (UTC, seconds).
pub fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339()
}

// The model keeps times and flags as values and writes their text only when
// serialized: the text report shows neither times nor most flags' strings,
// and a string each was an allocation per destination.
fn as_rfc3339<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339())
}

fn as_text<S: serde::Serializer>(f: &impl std::fmt::Display, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(f)
}

fn as_text_opt<S: serde::Serializer>(f: &Option<TcpFlags>, s: S) -> Result<S::Ok, S::Error> {
    match f {
        Some(f) => s.collect_str(f),
        None => s.serialize_none(),
    }
}

/// Port ranges of a destination per protocol: in JSON a map from `tcp`,
/// `udp` and `udplite` (in that order, which is the names' order too).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ports([Option<PortSpan>; 3]);

impl Ports {
    const NAMES: [&'static str; 3] = ["tcp", "udp", "udplite"];

    /// The span of the protocol named `proto`.
    pub fn get(&self, proto: &str) -> Option<&PortSpan> {
        let i = Self::NAMES.iter().position(|n| *n == proto)?;
        self.0[i].as_ref()
    }

    fn set(&mut self, proto: Proto, span: PortSpan) {
        let i = match proto {
            Proto::Tcp => 0,
            Proto::Udp => 1,
            Proto::UdpLite => 2,
            _ => return,
        };
        self.0[i] = Some(span);
    }
}

impl Serialize for Ports {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.iter().flatten().count()))?;
        for (name, span) in Self::NAMES.iter().zip(&self.0) {
            if let Some(span) = span {
                m.serialize_entry(name, span)?;
            }
        }
        m.end()
    }
}

fn sig_meta(engine: &Engine, sig: u32) -> (u32, &str, &'static str) {
    let rules = engine.rules();
    if sig & FWSNORT_SIG != 0 {
        let sid = sig & !FWSNORT_SIG;
        let msg = rules
            .fwsnort
            .get(sid)
            .and_then(|r| r.msg.as_deref())
            .unwrap_or_default();
        let proto = match rules.fwsnort.get(sid).map(|r| r.proto.as_str()) {
            Some("tcp") => "tcp",
            Some("udp") => "udp",
            Some("icmp") => "icmp",
            _ => "ip",
        };
        return (sid, msg, proto);
    }
    match rules.signatures.sigs.get(sig as usize) {
        Some(s) => (s.key, s.msg.as_str(), s.proto),
        None => (sig, "", "ip"),
    }
}

impl<'a> Report<'a> {
    /// Build the report from finished engines (one, or one per source shard:
    /// shards hold disjoint sources, so their tables add up).
    pub fn build(
        engines: &'a [Engine],
        totals: &LineTotals,
        malformed: &[Malformed],
        show_malformed: usize,
        min_dl: u8,
        only: &[IpAddr],
        inputs: &[Input],
    ) -> Report<'a> {
        let cfg = engines[0].config();
        let mut picked: Vec<(&Engine, SourceView<'_>)> = engines
            .iter()
            .flat_map(|e| e.sources().map(move |s| (e, s)))
            .filter(|(_, s)| s.danger_level() >= min_dl && s.packets() > 0)
            .filter(|(_, s)| only.is_empty() || only.contains(&s.addr()))
            .collect();
        picked.sort_by(|(_, a), (_, b)| {
            b.danger_level()
                .cmp(&a.danger_level())
                .then(a.addr().cmp(&b.addr()))
        });
        // The engine-wide tables need no source report: this thread builds
        // them while the others start on the sources.
        let (mut sources, tables) = par_map_beside(
            &picked,
            |(e, s)| source_report(e, s),
            || Tables::build(engines),
        );
        // Each member's report found by address: scanning every source for
        // every group was quadratic with thousands of sources.
        let at: HashMap<IpAddr, usize> = sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.src, i))
            .collect();
        for g in &tables.decoy_groups {
            let mut members: Vec<usize> = g
                .members
                .iter()
                .filter_map(|m| at.get(&m.src).copied())
                .collect();
            // In report order, as the scan over the sources gave them.
            members.sort_unstable();
            members.dedup();
            for i in members {
                let s = &mut sources[i];
                // At most DECOY_NAMED others by name: a group of thousands
                // (spoofed sources) must not make each member's evidence
                // list all the others; the group itself lists every member.
                let all = g.members.iter().filter(|m| m.src != s.src);
                let mut others: Vec<String> = all
                    .clone()
                    .take(DECOY_NAMED)
                    .map(|m| m.src.to_string())
                    .collect();
                let more = all.count().saturating_sub(DECOY_NAMED);
                if more > 0 {
                    others.push(format!("and {more} more"));
                }
                s.scan_types.push(ScanType {
                    kind: "decoy-set",
                    evidence: Evidence::Text(format!(
                        "scanned {} {} {}-{} together with {}",
                        g.dst,
                        g.protocol,
                        g.ports.lo,
                        g.ports.hi,
                        others.join(" ")
                    )),
                    nmap: Some("-D"),
                    packets: 0,
                });
            }
        }
        let total_destinations = sources.iter().map(|s| s.destinations.len() as u64).sum();

        Report {
            version: env!("CARGO_PKG_VERSION"),
            inputs: inputs.iter().map(Input::display).collect(),
            psad_compat: cfg.psad_compat,
            totals: Totals {
                lines: totals.lines,
                firewall_lines: totals.firewall_lines,
                malformed: totals.malformed,
                ignored: totals.ignored,
                packets: totals.accepted,
            },
            malformed: malformed
                .iter()
                .take(show_malformed)
                .map(|m| MalformedLine {
                    file: m.file.clone(),
                    line: m.line,
                    field: m.error.field,
                    reason: m.error.to_string(),
                    text: m.text.clone(),
                })
                .collect(),
            level_counts: tables.level_counts,
            tracked_sources: tables.tracked,
            sources,
            top_ports: tables.top_ports,
            top_signatures: tables.top_signatures,
            sigs_shown: cfg.status_sigs_threshold as usize,
            prefixes: tables.prefixes,
            protocols: tables.protocols,
            total_destinations,
            decoy_groups: tables.decoy_groups,
        }
    }
}

/// The report's engine-wide tables: everything but the sources' own reports.
struct Tables<'a> {
    level_counts: [u64; 5],
    tracked: u64,
    decoy_groups: Vec<DecoyReport>,
    top_ports: TopPorts,
    top_signatures: Vec<TopSignature<'a>>,
    prefixes: Vec<Counted<'a>>,
    protocols: Vec<Counted<'a>>,
}

impl<'a> Tables<'a> {
    fn build(engines: &'a [Engine]) -> Tables<'a> {
        let cfg = engines[0].config();
        let mut level_counts = [0u64; 5];
        let mut tracked = 0;
        for s in engines.iter().flat_map(Engine::sources) {
            if s.danger_level() > 0 {
                tracked += 1;
                level_counts[s.danger_level() as usize - 1] += 1;
            }
        }
        let decoy_groups: Vec<DecoyReport> = decoy_groups(engines.iter().flat_map(Engine::sources))
            .into_iter()
            .map(|g| DecoyReport {
                dst: g.dst,
                protocol: g.proto.name(),
                ports: PortSpan { lo: g.lo, hi: g.hi },
                members: g
                    .members
                    .iter()
                    .map(|&(src, packets)| DecoyMember { src, packets })
                    .collect(),
            })
            .collect();
        // (port, packets) of every engine: each in port order.
        let mut tcp: Vec<(u16, u64)> = Vec::new();
        let mut udp: Vec<(u16, u64)> = Vec::new();
        let mut sigs: BTreeMap<u32, TopSignature> = BTreeMap::new();
        let mut prefix_map: BTreeMap<&str, u64> = BTreeMap::new();
        let mut proto_map: BTreeMap<Proto, u64> = BTreeMap::new();
        for e in engines {
            let stats = e.stats();
            tcp.extend(stats.tcp_ports());
            udp.extend(stats.udp_ports());
            for (&sig, &(count, nsrc)) in &stats.signatures {
                let (sid, msg, proto) = sig_meta(e, sig);
                let t = sigs.entry(sid).or_insert(TopSignature {
                    sid,
                    msg,
                    proto,
                    count: 0,
                    sources: 0,
                });
                t.count += count;
                t.sources += nsrc;
            }
            for (p, c) in e.prefix_counts() {
                *prefix_map.entry(p).or_default() += c;
            }
            for (p, c) in stats.protocols() {
                *proto_map.entry(p).or_default() += c;
            }
        }
        let top = |mut m: Vec<(u16, u64)>| {
            // One sorted run per engine: a stable sort merges them.
            m.sort_by_key(|&(port, _)| port);
            let mut v: Vec<PortCount> = Vec::with_capacity(m.len());
            for (port, packets) in m {
                match v.last_mut() {
                    Some(last) if last.port == port => last.packets += packets,
                    _ => v.push(PortCount { port, packets }),
                }
            }
            let order =
                |a: &PortCount, b: &PortCount| b.packets.cmp(&a.packets).then(a.port.cmp(&b.port));
            let n = cfg.status_ports_threshold as usize;
            // The top n only: a scan of every port leaves 65,536 to order.
            if n > 0 && v.len() > n {
                v.select_nth_unstable_by(n - 1, order);
            }
            v.truncate(n);
            v.sort_by(order);
            v
        };
        let top_ports = TopPorts {
            tcp: top(tcp),
            udp: top(udp),
        };
        let mut top_signatures: Vec<TopSignature> = sigs.into_values().collect();
        top_signatures.sort_by(|a, b| b.count.cmp(&a.count).then(a.sid.cmp(&b.sid)));
        let mut prefixes: Vec<Counted> = prefix_map
            .into_iter()
            .map(|(name, packets)| Counted {
                name: name.into(),
                packets,
            })
            .collect();
        prefixes.sort_by(|a, b| b.packets.cmp(&a.packets).then(a.name.cmp(&b.name)));
        let mut protocols: Vec<(Proto, u64)> = proto_map.into_iter().collect();
        protocols.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let protocols = protocols
            .into_iter()
            .map(|(p, c)| Counted {
                name: p.to_string().into(),
                packets: c,
            })
            .collect();
        Tables {
            level_counts,
            tracked,
            decoy_groups,
            top_ports,
            top_signatures,
            prefixes,
            protocols,
        }
    }
}

/// Other members of a decoy group named in each member's evidence.
const DECOY_NAMED: usize = 16;

/// The CPUs this process may use for a report, at most 8.
pub(crate) fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// `(items.iter().map(f), side())`: the items spread over the CPUs this
/// process may use when there is enough to share (a report of thousands of
/// sources), while this thread runs `side` first. Threads take blocks of
/// items as they free up, so uneven items and the side work even out.
pub(crate) fn par_map_beside<T: Sync, R: Send, S>(
    items: &[T],
    f: impl Fn(&T) -> R + Sync,
    side: impl FnOnce() -> S,
) -> (Vec<R>, S) {
    const BLOCK: usize = 32;
    let cpus = cpus();
    if cpus < 2 || items.len() < 512 {
        let side = side();
        return (items.iter().map(f).collect(), side);
    }
    let next = AtomicUsize::new(0);
    let (f, next) = (&f, &next);
    let take = move || {
        let mut done: Vec<(usize, Vec<R>)> = Vec::new();
        loop {
            let b = next.fetch_add(1, Ordering::Relaxed);
            let Some(part) = items.chunks(BLOCK).nth(b) else {
                return done;
            };
            done.push((b, part.iter().map(f).collect()));
        }
    };
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..cpus).map(|_| scope.spawn(take)).collect();
        let side = side();
        let mut done = take();
        for h in helpers {
            done.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        done.sort_unstable_by_key(|&(b, _)| b);
        (done.into_iter().flat_map(|(_, v)| v).collect(), side)
    })
}

fn source_report<'a>(engine: &'a Engine, s: &SourceView<'a>) -> SourceReport<'a> {
    let mut sigs: BTreeMap<u32, u64> = BTreeMap::new();
    // Sized once: a report entry is large, and growing the vector moved them.
    let mut destinations = Vec::with_capacity(s.destinations().count());
    for p in s.destinations() {
        for h in p.signatures() {
            *sigs.entry(h.sig).or_default() += u64::from(h.count);
        }
        destinations.push(dest_report(engine, &p));
    }
    SourceReport {
        src: s.addr(),
        danger_level: s.danger_level(),
        packets: s.packets(),
        packets_seen: s.packets_seen(),
        signature_matches: s.signature_matches(),
        unique_signatures: s.unique_signatures(),
        protocols: s.protocol_count(),
        first_seen: s.first_seen(),
        last_seen: s.last_seen(),
        packets_before_report: None,
        os_guess: {
            let p0f = s
                .os_p0f3()
                .filter(|g| g.quality != Quality::Fuzzy && !engine.config().psad_compat);
            p0f.or_else(|| s.os_psad().into_iter().next())
                .as_ref()
                .map(OsGuessReport::new)
        },
        os_guesses: s.os_guesses().iter().map(OsGuessReport::new).collect(),
        scan_types: classify(s, engine.config().protocol_scan_threshold)
            .into_iter()
            .map(|k| ScanType {
                kind: k.kind,
                evidence: k.evidence,
                nmap: k.nmap,
                packets: k.packets,
            })
            .collect(),
        signatures: sigs
            .into_iter()
            .map(|(sig, count)| {
                let (sid, msg, _) = sig_meta(engine, sig);
                SigCount { sid, msg, count }
            })
            .collect(),
        destinations,
    }
}

fn dest_report<'a>(engine: &'a Engine, p: &PairView<'a>) -> DestReport<'a> {
    let mut interfaces: Vec<&str> = Vec::new();
    let chains = p
        .chains()
        .map(|(chain, intf, proto, n)| {
            if !interfaces.contains(&intf) {
                interfaces.push(intf);
            }
            ChainReport {
                chain: chain.as_str(),
                interface: intf,
                protocol: proto.name(),
                packets: n,
            }
        })
        .collect();
    let rules = engine.rules();
    DestReport {
        dst: p.addr(),
        packets: p.packets(),
        start: p.start(),
        ports: {
            let mut ports = Ports::default();
            for r in p.port_ranges() {
                ports.set(r.proto, PortSpan { lo: r.lo, hi: r.hi });
            }
            ports
        },
        chains,
        interfaces,
        prefixes: p
            .prefixes()
            .map(|(chain, prefix, n)| PrefixReport {
                chain: chain.as_str(),
                prefix,
                packets: n,
            })
            .collect(),
        tcp_flags: p
            .tcp_flags()
            .map(|(f, n)| FlagReport {
                flags: f,
                packets: n,
                nmap: psad_nmap_hint(f),
            })
            .collect(),
        signatures: p
            .signatures()
            .map(|h| {
                let (sid, msg, proto) = sig_meta(engine, h.sig);
                SigHitReport {
                    sid,
                    msg,
                    proto,
                    chain: h.chain.as_str(),
                    count: h.count,
                    dport: h.dport,
                    flags: h.flags,
                }
            })
            .collect(),
        icmp_invalid: p
            .icmp_invalid()
            .map(|x| IcmpInvalidReport {
                protocol: if x.v6 { "icmp6" } else { "icmp" },
                kind: x.kind,
                code: x.code,
                type_name: if x.v6 { &rules.icmp6 } else { &rules.icmp4 }.name(x.kind),
                chain: x.chain.as_str(),
                packets: x.count,
            })
            .collect(),
        total_protocols: p.total_protocols(),
        hosts: p.hosts().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A map in the names' order, with only the protocols that have ports:
    /// the JSON a `BTreeMap` of the names gave.
    #[test]
    fn ports_serialize_as_a_map_by_protocol_name() {
        let mut p = Ports::default();
        assert_eq!(serde_json::to_string(&p).unwrap(), "{}");
        p.set(Proto::UdpLite, PortSpan { lo: 7, hi: 7 });
        p.set(Proto::Tcp, PortSpan { lo: 1, hi: 1024 });
        p.set(Proto::Icmp, PortSpan { lo: 3, hi: 3 });
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"tcp":{"lo":1,"hi":1024},"udplite":{"lo":7,"hi":7}}"#
        );
        assert_eq!(p.get("tcp"), Some(&PortSpan { lo: 1, hi: 1024 }));
        assert_eq!(p.get("udp"), None);
        assert_eq!(p.get("icmp"), None);
    }

    /// Results in the items' order whatever thread took which block, with
    /// the side work's result beside them.
    #[test]
    fn par_map_beside_keeps_the_order_and_runs_the_side_work() {
        for n in [0, 10, 511, 512, 5_000] {
            let items: Vec<u32> = (0..n).collect();
            let (got, side) = par_map_beside(&items, |&i| u64::from(i) * 3, || n + 1);
            assert_eq!(side, n + 1);
            assert_eq!(
                got,
                items.iter().map(|&i| u64::from(i) * 3).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(Timestamp(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(Timestamp::from_secs(1_795_303_240)),
            "2026-11-21T23:20:40Z"
        );
        assert_eq!(
            rfc3339(Timestamp::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }
}
