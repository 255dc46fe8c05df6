//! What kind of scan a source ran, with the evidence: flag combinations,
//! protocols, ICMP types, fingerprints, and the shape across destinations
//! (a horizontal sweep of one port over many hosts, or a vertical scan of
//! many ports on one host).

use super::view::{PairView, SourceView};
use crate::fingerprint::{Method, Quality};
use crate::packet::{Proto, TcpFlags};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// Destinations from which a one-port pattern is a sweep.
const SWEEP_HOSTS: usize = 5;
/// Port span and packets from which one destination's scan is vertical.
const VERTICAL_PORTS: u16 = 10;

/// One kind of scan seen from a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanKind {
    /// `tcp-syn`, `tcp-connect`, `tcp-fin`, `tcp-xmas`, `tcp-null`, `tcp-ack`,
    /// `tcp-maimon`, `tcp-syn-fin`, `tcp-os-probe`, `tcp-other`, `udp`,
    /// `ip-protocol`, `icmp`, `icmp-echo`, `icmp-timestamp`, `icmp-addrmask`,
    /// `icmp-other`, `os-detection`, `fragments`, `sweep`, `vertical`,
    /// `masscan`, `mirai`, `topera`.
    pub kind: &'static str,
    /// What was seen (flags, protocols, hosts, ports).
    pub evidence: Evidence,
    /// The nmap option that produces it, when there is one.
    pub nmap: Option<&'static str>,
    /// Packets of this kind (0 for markers and shapes).
    pub packets: u64,
}

/// What was seen, kept as data: most evidence is never shown (the text
/// report shows only markers' and shapes'), so its text is written only
/// when displayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// Fixed text.
    Fixed(&'static str),
    /// A TCP flag combination as the kernel logs it (`URG PSH FIN`).
    Flags(TcpFlags),
    /// `icmp type 8`.
    IcmpType(Proto, u8),
    /// `N protocols`.
    Protocols(u32),
    /// A port span on one destination: `tcp 12-65522 on 203.0.113.1`.
    Ports {
        /// Protocol.
        proto: Proto,
        /// Lowest port.
        lo: u16,
        /// Highest port.
        hi: u16,
        /// Destination.
        dst: IpAddr,
    },
    /// Any other text.
    Text(String),
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::Fixed(s) => f.write_str(s),
            Evidence::Flags(flags) => flags.fmt(f),
            Evidence::IcmpType(proto, t) => write!(f, "{proto} type {t}"),
            Evidence::Protocols(n) => write!(f, "{n} protocols"),
            Evidence::Ports { proto, lo, hi, dst } => write!(f, "{proto} {lo}-{hi} on {dst}"),
            Evidence::Text(s) => f.write_str(s),
        }
    }
}

/// psad's nmap hint for an exact flag string (spec §2.6).
pub fn psad_nmap_hint(flags: TcpFlags) -> Option<&'static str> {
    use TcpFlags as F;
    match flags.0 {
        F::SYN => Some("-sT or -sS"),
        F::FIN => Some("-sF"),
        x if x == F::URG | F::PSH | F::FIN => Some("-sX"),
        0 => Some("-sN"),
        x if x == F::URG | F::PSH | F::SYN | F::FIN => Some("-O"),
        _ => None,
    }
}

/// The scan kind of one TCP flag combination, and the nmap option behind it.
pub fn flag_kind(flags: TcpFlags) -> (&'static str, Option<&'static str>) {
    use TcpFlags as F;
    // ECN bits (CWR, ECE) do not change what a probe is.
    let f = flags.0 & !(F::CWR | F::ECE);
    match f {
        F::SYN => ("tcp-syn", Some("-sS or -sT")),
        F::FIN => ("tcp-fin", Some("-sF")),
        x if x == F::URG | F::PSH | F::FIN => ("tcp-xmas", Some("-sX")),
        0 if flags.0 == 0 => ("tcp-null", Some("-sN")),
        x if x == F::URG | F::PSH | F::SYN | F::FIN => ("tcp-os-probe", Some("-O")),
        x if x == F::SYN | F::FIN => ("tcp-syn-fin", None),
        F::ACK => ("tcp-ack", Some("-sA or -sW")),
        x if x == F::ACK | F::FIN => ("tcp-maimon", Some("-sM")),
        _ => ("tcp-other", None),
    }
}

fn icmp_kind(proto: Proto, kind: u8) -> (&'static str, &'static str) {
    match (proto, kind) {
        (Proto::Icmp, 8) | (Proto::Icmp6, 128) => ("icmp-echo", "-PE"),
        (Proto::Icmp, 13) => ("icmp-timestamp", "-PP"),
        (Proto::Icmp, 17) => ("icmp-addrmask", "-PM"),
        _ => ("icmp-other", ""),
    }
}

/// Classify everything a source did. `protocol_scan_threshold` is psad's
/// `PROTOCOL_SCAN_THRESHOLD`.
pub fn classify(s: &SourceView<'_>, protocol_scan_threshold: u32) -> Vec<ScanKind> {
    // A handful of kinds at most: a vector beats a map. The evidence is the
    // first occurrence's, built only then (most calls add packets to a kind
    // already seen).
    let mut kinds: Vec<ScanKind> = Vec::new();
    fn put(
        kinds: &mut Vec<ScanKind>,
        kind: &'static str,
        evidence: impl FnOnce() -> Evidence,
        nmap: Option<&'static str>,
        n: u64,
    ) {
        match kinds.iter_mut().find(|k| k.kind == kind) {
            Some(k) => k.packets += n,
            None => kinds.push(ScanKind {
                kind,
                evidence: evidence(),
                nmap,
                packets: n,
            }),
        }
    }
    macro_rules! add {
        ($kind:expr, $evidence:expr, $($a:expr),*) => { put(&mut kinds, $kind, || $evidence, $($a),*) };
    }
    let has = |kinds: &[ScanKind], kind: &str| kinds.iter().any(|k| k.kind == kind);
    let pairs: Vec<PairView<'_>> = s.destinations().collect();
    for p in &pairs {
        for (flags, n) in p.tcp_flags() {
            let (kind, nmap) = flag_kind(flags);
            add!(kind, Evidence::Flags(flags), nmap, u64::from(n));
        }
        let mut udp = 0;
        for (_, _, proto, n) in p.chains() {
            if matches!(proto, Proto::Udp | Proto::UdpLite) {
                udp += u64::from(n);
            }
        }
        if udp > 0 {
            add!("udp", Evidence::Fixed("UDP datagrams"), Some("-sU"), udp);
        }
        for (proto, t, n) in p.icmp_types() {
            let (kind, opt) = icmp_kind(proto, t);
            add!(
                "icmp",
                Evidence::Fixed("ICMP/ICMPv6 packets"),
                None,
                u64::from(n)
            );
            add!(
                kind,
                Evidence::IcmpType(proto, t),
                (!opt.is_empty()).then_some(opt),
                u64::from(n)
            );
        }
        let nprot = p.distinct_protocols();
        if nprot >= protocol_scan_threshold {
            add!(
                "ip-protocol",
                Evidence::Protocols(nprot),
                Some("-sO"),
                u64::from(p.packets())
            );
        }
        if p.is_fragmented() {
            add!(
                "fragments",
                Evidence::Fixed("IP fragments without ports"),
                Some("-f"),
                0
            );
        }
        if p.is_masscan() {
            add!(
                "masscan",
                Evidence::Fixed("SYN without TCP options after options were seen"),
                None,
                0
            );
        }
        if p.is_mirai() {
            add!("mirai", Evidence::Fixed("SYNs to 23, then 2323"), None, 0);
        }
        if p.is_topera() {
            add!(
                "topera",
                Evidence::Fixed("IPv6 extension-header padding"),
                None,
                0
            );
        }
        if let Some(r) = p.port_ranges().find(|r| r.hi - r.lo >= VERTICAL_PORTS) {
            if p.packets() >= u32::from(VERTICAL_PORTS) {
                add!(
                    "vertical",
                    Evidence::Ports {
                        proto: r.proto,
                        lo: r.lo,
                        hi: r.hi,
                        dst: p.addr(),
                    },
                    None,
                    0
                );
            }
        }
    }
    if has(&kinds, "tcp-os-probe") {
        add!(
            "os-detection",
            Evidence::Fixed("nmap OS probes (URG PSH SYN FIN)"),
            Some("-O"),
            0
        );
    }
    // A raw-socket SYN scan and connect() differ in their SYNs: fingerprints tell.
    if has(&kinds, "tcp-syn") {
        let guesses = s.os_guesses();
        let nmap = guesses.iter().any(|g| has_word(g.os, "nmap"));
        let stack = guesses.iter().find(|g| {
            !has_word(g.os, "nmap")
                && !has_word(g.os, "hping")
                && g.method != Method::Posf
                && g.quality != Quality::Fuzzy
        });
        if let Some(g) = stack.filter(|_| pairs.len() <= SWEEP_HOSTS || nmap) {
            add!(
                "tcp-connect",
                Evidence::Text(format!("SYNs of a full TCP stack ({})", g.os)),
                Some("-sT"),
                0
            );
        }
    }
    // Horizontal: the same one port (or plain ICMP) on many hosts.
    if pairs.len() >= SWEEP_HOSTS {
        let mut by_port: BTreeMap<String, usize> = BTreeMap::new();
        for p in &pairs {
            let ranges: Vec<_> = p.port_ranges().collect();
            if ranges.len() == 1 && ranges[0].lo == ranges[0].hi {
                *by_port
                    .entry(format!("{}/{}", ranges[0].proto, ranges[0].lo))
                    .or_default() += 1;
            } else if ranges.is_empty() && p.icmp_types().next().is_some() {
                *by_port.entry("ICMP".to_string()).or_default() += 1;
            }
        }
        for (what, hosts) in by_port {
            if hosts >= SWEEP_HOSTS {
                add!(
                    "sweep",
                    Evidence::Text(format!("{what} on {hosts} hosts")),
                    Some("-sn / -p PORT over a range"),
                    0
                );
            }
        }
    }
    if let Some((failed, ok, ratio, Some(true))) = s.trw_walk() {
        add!(
            "trw",
            Evidence::Text(format!(
                "{failed} failed and {ok} successful first contacts, likelihood ratio {ratio:.0}"
            )),
            None,
            0
        );
    }
    kinds.sort_by(|a, b| b.packets.cmp(&a.packets).then(a.kind.cmp(b.kind)));
    kinds
}

/// Whether `text` contains `word` (lowercase ASCII), ignoring ASCII case.
fn has_word(text: &str, word: &str) -> bool {
    text.as_bytes()
        .windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nmap_hints_follow_psad() {
        assert_eq!(psad_nmap_hint(TcpFlags(TcpFlags::SYN)), Some("-sT or -sS"));
        assert_eq!(psad_nmap_hint(TcpFlags(0)), Some("-sN"));
        assert_eq!(
            psad_nmap_hint(TcpFlags(TcpFlags::URG | TcpFlags::PSH | TcpFlags::FIN)),
            Some("-sX")
        );
        assert_eq!(psad_nmap_hint(TcpFlags(TcpFlags::ACK)), None);
    }

    #[test]
    fn words_are_found_whatever_their_case() {
        assert!(has_word("Nmap SYN scan", "nmap"));
        assert!(has_word("hping3 (HPING)", "hping"));
        assert!(!has_word("Linux 2.6", "nmap"));
        assert!(!has_word("nma", "nmap"));
    }

    #[test]
    fn evidence_reads_as_before() {
        let e = |e: Evidence| e.to_string();
        assert_eq!(
            e(Evidence::Flags(TcpFlags(TcpFlags::SYN | TcpFlags::FIN))),
            "SYN FIN"
        );
        assert_eq!(e(Evidence::IcmpType(Proto::Icmp6, 128)), "icmp6 type 128");
        assert_eq!(e(Evidence::Protocols(9)), "9 protocols");
        let dst = "203.0.113.1".parse().unwrap();
        let ports = Evidence::Ports {
            proto: Proto::Tcp,
            lo: 12,
            hi: 65522,
            dst,
        };
        assert_eq!(e(ports), "tcp 12-65522 on 203.0.113.1");
        assert_eq!(e(Evidence::Fixed("UDP datagrams")), "UDP datagrams");
    }

    #[test]
    fn flag_kinds_name_the_nmap_scans() {
        let k = |f: u8| flag_kind(TcpFlags(f)).0;
        assert_eq!(k(TcpFlags::ACK), "tcp-ack");
        assert_eq!(k(TcpFlags::ACK | TcpFlags::FIN), "tcp-maimon");
        assert_eq!(k(TcpFlags::CWR | TcpFlags::ECE | TcpFlags::SYN), "tcp-syn");
        assert_eq!(k(0), "tcp-null");
        assert_eq!(k(TcpFlags::CWR), "tcp-other");
    }
}
