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
use tripline_core::engine::{
    classify, decoy_groups, psad_nmap_hint, Engine, PairView, SourceView, FWSNORT_SIG,
};
use tripline_core::fingerprint::{Method, OsGuess, Quality};
use tripline_core::{Proto, Timestamp};

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
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
    pub sources: Vec<SourceReport>,
    /// Most scanned ports per protocol.
    pub top_ports: TopPorts,
    /// Every matched signature, most matched first (the text report shows the
    /// first `STATUS_SIGS_THRESHOLD`).
    pub top_signatures: Vec<TopSignature>,
    /// How many signatures the text report shows (`STATUS_SIGS_THRESHOLD`).
    #[serde(skip)]
    pub sigs_shown: usize,
    /// Packets per log prefix.
    pub prefixes: Vec<Counted>,
    /// Packets per protocol.
    pub protocols: Vec<Counted>,
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
pub struct Counted {
    /// Name.
    pub name: String,
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
pub struct TopSignature {
    /// sid (or psad_id).
    pub sid: u32,
    /// Message.
    pub msg: String,
    /// Rule protocol.
    pub proto: &'static str,
    /// Matches.
    pub count: u64,
    /// Distinct sources.
    pub sources: u64,
}

/// One source.
#[derive(Debug, Serialize)]
pub struct SourceReport {
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
    pub first_seen: String,
    /// Last packet.
    pub last_seen: String,
    /// Packets the source had sent when it first reached DL 1 or more (in
    /// psad-compat mode levels are assigned at the end of the input).
    pub packets_before_report: Option<u64>,
    /// The best passive OS guess: p0f v3 when it matched exactly or
    /// generically (default mode), else psad's first pf.os/posf guess.
    pub os_guess: Option<OsGuessReport>,
    /// Every OS guess with the fingerprint that matched.
    pub os_guesses: Vec<OsGuessReport>,
    /// Scan kinds seen, from flags and protocols.
    pub scan_types: Vec<ScanType>,
    /// Signatures over all destinations.
    pub signatures: Vec<SigCount>,
    /// Destinations.
    pub destinations: Vec<DestReport>,
}

/// An OS guess and its evidence.
#[derive(Debug, Serialize, Clone)]
pub struct OsGuessReport {
    /// The OS (pf.os OS field, posf name, or p0f v3 label).
    pub os: String,
    /// `pf.os`, `posf` or `p0f3`.
    pub method: &'static str,
    /// The fingerprint that matched.
    pub matched: String,
    /// `exact`, `generic` or `fuzzy`.
    pub quality: &'static str,
}

impl OsGuessReport {
    fn new(g: &OsGuess<'_>) -> Self {
        OsGuessReport {
            os: g.os.to_string(),
            method: match g.method {
                Method::PfOs => "pf.os",
                Method::Posf => "posf",
                Method::P0f3 => "p0f3",
            },
            matched: g.matched.to_string(),
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
    pub kind: String,
    /// Flags or protocol evidence.
    pub evidence: String,
    /// psad's nmap hint, if any.
    pub nmap: Option<&'static str>,
    /// Packets.
    pub packets: u64,
}

/// A signature and its matches.
#[derive(Debug, Serialize)]
pub struct SigCount {
    /// sid (or psad_id).
    pub sid: u32,
    /// Message.
    pub msg: String,
    /// Matches.
    pub count: u64,
}

/// One destination of a source.
#[derive(Debug, Serialize)]
pub struct DestReport {
    /// Address.
    pub dst: IpAddr,
    /// Packets.
    pub packets: u32,
    /// First packet.
    pub start: String,
    /// Port ranges per protocol (`tcp`, `udp`, `udplite`).
    pub ports: BTreeMap<Cow<'static, str>, PortSpan>,
    /// Packets per chain, interface and protocol.
    pub chains: Vec<ChainReport>,
    /// Interfaces.
    pub interfaces: Vec<String>,
    /// Packets per chain and log prefix.
    pub prefixes: Vec<PrefixReport>,
    /// TCP flag combinations.
    pub tcp_flags: Vec<FlagReport>,
    /// Signature hits.
    pub signatures: Vec<SigHitReport>,
    /// Invalid ICMP types or codes.
    pub icmp_invalid: Vec<IcmpInvalidReport>,
    /// psad's tot_protocols.
    pub total_protocols: u32,
    /// Syslog hosts that logged it.
    pub hosts: Vec<String>,
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
pub struct ChainReport {
    /// Chain.
    pub chain: &'static str,
    /// Interface.
    pub interface: String,
    /// Protocol.
    pub protocol: Cow<'static, str>,
    /// Packets.
    pub packets: u32,
}

/// Packets per chain and prefix.
#[derive(Debug, Serialize)]
pub struct PrefixReport {
    /// Chain.
    pub chain: &'static str,
    /// Prefix.
    pub prefix: String,
    /// Packets.
    pub packets: u32,
}

/// A flag combination.
#[derive(Debug, Serialize)]
pub struct FlagReport {
    /// Kernel flag text.
    pub flags: String,
    /// Packets.
    pub packets: u32,
    /// psad's nmap hint.
    pub nmap: Option<&'static str>,
}

/// Signature hits on a destination.
#[derive(Debug, Serialize)]
pub struct SigHitReport {
    /// sid (or psad_id).
    pub sid: u32,
    /// Message.
    pub msg: String,
    /// Rule protocol.
    pub proto: &'static str,
    /// Chain.
    pub chain: &'static str,
    /// Matches.
    pub count: u32,
    /// Last destination port.
    pub dport: Option<u16>,
    /// Last TCP flags.
    pub flags: Option<String>,
}

/// An invalid ICMP type/code counter.
#[derive(Debug, Serialize)]
pub struct IcmpInvalidReport {
    /// `icmp` or `icmp6`.
    pub protocol: &'static str,
    /// Type.
    pub kind: u8,
    /// Invalid code, or null when the type is invalid.
    pub code: Option<u8>,
    /// Type name when known.
    pub type_name: Option<String>,
    /// Chain.
    pub chain: &'static str,
    /// Packets.
    pub packets: u32,
}

/// RFC 3339 text of a timestamp (UTC, seconds).
pub fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339()
}

fn sig_meta(engine: &Engine, sig: u32) -> (u32, String, &'static str) {
    let rules = engine.rules();
    if sig & FWSNORT_SIG != 0 {
        let sid = sig & !FWSNORT_SIG;
        let msg = rules
            .fwsnort
            .get(sid)
            .and_then(|r| r.msg.clone())
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
        Some(s) => (s.key, s.msg.clone(), s.proto),
        None => (sig, String::new(), "ip"),
    }
}

impl Report {
    /// Build the report from finished engines (one, or one per source shard:
    /// shards hold disjoint sources, so their tables add up).
    pub fn build(
        engines: &[Engine],
        totals: &LineTotals,
        malformed: &[Malformed],
        show_malformed: usize,
        min_dl: u8,
        only: &[IpAddr],
        inputs: &[Input],
    ) -> Report {
        let cfg = engines[0].config();
        let mut level_counts = [0u64; 5];
        let mut tracked = 0;
        for s in engines.iter().flat_map(Engine::sources) {
            if s.danger_level() > 0 {
                tracked += 1;
                level_counts[s.danger_level() as usize - 1] += 1;
            }
        }
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
        let mut sources: Vec<SourceReport> = par_map(&picked, |(e, s)| source_report(e, s));
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
        // Each member's report found by address: scanning every source for
        // every group was quadratic with thousands of sources.
        let at: HashMap<IpAddr, usize> = sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.src, i))
            .collect();
        for g in &decoy_groups {
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
                    kind: "decoy-set".into(),
                    evidence: format!(
                        "scanned {} {} {}-{} together with {}",
                        g.dst,
                        g.protocol,
                        g.ports.lo,
                        g.ports.hi,
                        others.join(" ")
                    ),
                    nmap: Some("-D"),
                    packets: 0,
                });
            }
        }
        let total_destinations = sources.iter().map(|s| s.destinations.len() as u64).sum();

        // (port, packets) of every engine: each in port order.
        let mut tcp: Vec<(u16, u64)> = Vec::new();
        let mut udp: Vec<(u16, u64)> = Vec::new();
        let mut sigs: BTreeMap<u32, TopSignature> = BTreeMap::new();
        let mut prefix_map: BTreeMap<String, u64> = BTreeMap::new();
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
                *prefix_map.entry(p.to_string()).or_default() += c;
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
            .map(|(name, packets)| Counted { name, packets })
            .collect();
        prefixes.sort_by(|a, b| b.packets.cmp(&a.packets).then(a.name.cmp(&b.name)));
        let mut protocols: Vec<(Proto, u64)> = proto_map.into_iter().collect();
        protocols.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let protocols = protocols
            .into_iter()
            .map(|(p, c)| Counted {
                name: p.to_string(),
                packets: c,
            })
            .collect();

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
            level_counts,
            tracked_sources: tracked,
            sources,
            top_ports,
            top_signatures,
            sigs_shown: cfg.status_sigs_threshold as usize,
            prefixes,
            protocols,
            total_destinations,
            decoy_groups,
        }
    }
}

/// Other members of a decoy group named in each member's evidence.
const DECOY_NAMED: usize = 16;

/// The CPUs this process may use for a report, at most 8.
pub(crate) fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// `items.iter().map(f)`, spread over the CPUs this process may use when
/// there is enough to share (a report of thousands of sources).
pub(crate) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let cpus = cpus();
    if cpus < 2 || items.len() < 512 {
        return items.iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(items.len().div_ceil(cpus))
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

fn source_report(engine: &Engine, s: &SourceView<'_>) -> SourceReport {
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
        first_seen: rfc3339(s.first_seen()),
        last_seen: rfc3339(s.last_seen()),
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
                kind: k.kind.to_string(),
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

fn dest_report(engine: &Engine, p: &PairView<'_>) -> DestReport {
    let mut interfaces: Vec<String> = Vec::new();
    let chains = p
        .chains()
        .map(|(chain, intf, proto, n)| {
            if !interfaces.iter().any(|i| i == intf) {
                interfaces.push(intf.to_string());
            }
            ChainReport {
                chain: chain.as_str(),
                interface: intf.to_string(),
                protocol: proto.name(),
                packets: n,
            }
        })
        .collect();
    let rules = engine.rules();
    DestReport {
        dst: p.addr(),
        packets: p.packets(),
        start: rfc3339(p.start()),
        ports: p
            .port_ranges()
            .map(|r| (r.proto.name(), PortSpan { lo: r.lo, hi: r.hi }))
            .collect(),
        chains,
        interfaces,
        prefixes: p
            .prefixes()
            .map(|(chain, prefix, n)| PrefixReport {
                chain: chain.as_str(),
                prefix: prefix.to_string(),
                packets: n,
            })
            .collect(),
        tcp_flags: p
            .tcp_flags()
            .map(|(f, n)| FlagReport {
                flags: f.to_string(),
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
                    flags: h.flags.map(|f| f.to_string()),
                }
            })
            .collect(),
        icmp_invalid: p
            .icmp_invalid()
            .map(|x| IcmpInvalidReport {
                protocol: if x.v6 { "icmp6" } else { "icmp" },
                kind: x.kind,
                code: x.code,
                type_name: if x.v6 { &rules.icmp6 } else { &rules.icmp4 }
                    .name(x.kind)
                    .map(str::to_string),
                chain: x.chain.as_str(),
                packets: x.count,
            })
            .collect(),
        total_protocols: p.total_protocols(),
        hosts: p.hosts().map(str::to_string).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
