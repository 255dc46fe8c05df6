//! Gathers an [`Alert`]'s evidence from the engine's read-only views.

use super::*;
use crate::engine::{classify, psad_nmap_hint, Engine, FWSNORT_SIG};
use crate::fingerprint::Quality;
use crate::packet::{Proto, Timestamp};
use std::collections::BTreeMap;

/// What the caller knows that the engine does not.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    /// Sequence number.
    pub seq: u64,
    /// Kind.
    pub kind: AlertKind,
    /// Trigger.
    pub trigger: Trigger,
    /// Danger level at the previous alert.
    pub previous_danger_level: u8,
    /// Reason text.
    pub reason: String,
    /// Alerts for this source so far, this one included.
    pub alerts_for_source: u64,
    /// Packets of the source at the previous alert (for `interval_packets`).
    pub previous_packets: u64,
    /// Packets per destination at the previous alert.
    pub previous_dst_packets: Vec<(IpAddr, u32)>,
    /// Now.
    pub now: Timestamp,
    /// This host's name.
    pub hostname: String,
}

/// Builds the alert for `src`, or `None` if the engine does not track it.
pub fn build_alert(engine: &Engine, src: IpAddr, info: BuildInfo) -> Option<Alert> {
    let s = engine.source(src)?;
    let cfg = engine.config();
    let mut pairs: Vec<_> = s.destinations().collect();
    pairs.sort_by(|a, b| b.packets().cmp(&a.packets()).then(a.addr().cmp(&b.addr())));

    let mut tcp: Option<PortSummary> = None;
    let mut udp: Option<PortSummary> = None;
    let (mut icmp_packets, mut other_packets) = (0u64, 0u64);
    let mut flags: BTreeMap<String, (u64, Option<&'static str>)> = BTreeMap::new();
    let mut prefixes: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut chains: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    let mut interfaces: Vec<String> = Vec::new();
    let mut hosts: Vec<String> = Vec::new();
    let mut signatures = Vec::new();
    let mut multi_protocol = false;
    let mut max_protocols = 0u32;
    let mut destinations = Vec::new();
    let widen = |slot: &mut Option<PortSummary>, lo: u16, hi: u16| {
        let p = slot.get_or_insert(PortSummary { lo, hi, packets: 0 });
        p.lo = p.lo.min(lo);
        p.hi = p.hi.max(hi);
    };
    for p in &pairs {
        for r in p.port_ranges() {
            match r.proto {
                Proto::Tcp => widen(&mut tcp, r.lo, r.hi),
                Proto::Udp | Proto::UdpLite => widen(&mut udp, r.lo, r.hi),
                _ => {}
            }
        }
        for (chain, intf, proto, n) in p.chains() {
            let n64 = u64::from(n);
            match proto {
                Proto::Tcp => tcp.as_mut().map_or((), |t| t.packets += n64),
                Proto::Udp | Proto::UdpLite => udp.as_mut().map_or((), |t| t.packets += n64),
                Proto::Icmp | Proto::Icmp6 => icmp_packets += n64,
                Proto::Other(_) => other_packets += n64,
            }
            if !interfaces.iter().any(|i| i == intf) {
                interfaces.push(intf.to_string());
            }
            *chains
                .entry((chain.as_str().into(), intf.into(), proto.to_string()))
                .or_default() += n64;
        }
        for (f, n) in p.tcp_flags() {
            let e = flags.entry(f.to_string()).or_insert((0, psad_nmap_hint(f)));
            e.0 += u64::from(n);
        }
        for (chain, prefix, n) in p.prefixes() {
            *prefixes
                .entry((chain.as_str().into(), prefix.into()))
                .or_default() += u64::from(n);
        }
        for h in p.hosts() {
            if !hosts.iter().any(|x| x == h) {
                hosts.push(h.to_string());
            }
        }
        if p.total_protocols() > 1 {
            multi_protocol = true;
        }
        max_protocols = max_protocols.max(p.distinct_protocols());
        for h in p.signatures() {
            if signatures.len() >= MAX_SIGNATURES {
                break;
            }
            signatures.push(sig_match(engine, p.addr(), &h));
        }
        if destinations.len() < MAX_DESTINATIONS {
            let before = info
                .previous_dst_packets
                .iter()
                .find(|(d, _)| *d == p.addr())
                .map_or(0, |x| x.1);
            destinations.push(AlertDest {
                dst: p.addr(),
                packets: p.packets(),
                interval_packets: p.packets().saturating_sub(before),
                start: p.start().to_rfc3339(),
                ports: p
                    .port_ranges()
                    .map(|r| PortRangeInfo {
                        proto: r.proto.to_string(),
                        lo: r.lo,
                        hi: r.hi,
                    })
                    .collect(),
            });
        }
    }

    let mut os_guesses: Vec<String> = Vec::new();
    if let Some(g) = s
        .os_p0f3()
        .filter(|g| g.quality != Quality::Fuzzy && !cfg.psad_compat)
    {
        os_guesses.push(g.os.to_string());
    }
    for g in s.os_psad() {
        if !os_guesses.iter().any(|x| x == g.os) {
            os_guesses.push(g.os.to_string());
        }
    }
    let packets = s.packets();
    Some(Alert {
        seq: info.seq,
        kind: info.kind,
        trigger: info.trigger,
        at: info.now.to_rfc3339(),
        at_unix: info.now.secs(),
        hostname: info.hostname,
        src,
        danger_level: s.danger_level(),
        previous_danger_level: info.previous_danger_level,
        reason: info.reason,
        scan_types: classify(&s, cfg.protocol_scan_threshold)
            .into_iter()
            .map(|k| ScanTypeInfo {
                kind: k.kind.to_string(),
                evidence: k.evidence.to_string(),
                nmap: k.nmap.map(str::to_string),
                packets: k.packets,
            })
            .collect(),
        total_destinations: pairs.len(),
        destinations,
        tcp,
        udp,
        icmp_packets,
        other_packets,
        protocol_scan: (cfg.protocol_scan_threshold > 0
            && max_protocols >= cfg.protocol_scan_threshold)
            .then_some(max_protocols),
        multi_protocol,
        tcp_flags: flags
            .into_iter()
            .map(|(flags, (packets, nmap))| FlagCount {
                flags,
                packets,
                nmap: nmap.map(str::to_string),
            })
            .collect(),
        prefixes: prefixes
            .into_iter()
            .map(|((chain, prefix), packets)| PrefixCount {
                chain,
                prefix,
                packets,
            })
            .collect(),
        chains: chains
            .into_iter()
            .map(|((chain, interface, protocol), packets)| ChainCount {
                chain,
                interface,
                protocol,
                packets,
            })
            .collect(),
        interfaces,
        signatures,
        os_guesses,
        syslog_hostnames: hosts,
        packets,
        interval_packets: packets.saturating_sub(info.previous_packets),
        scan_start: s.first_seen().to_rfc3339(),
        scan_start_unix: s.first_seen().secs(),
        last_seen: s.last_seen().to_rfc3339(),
        alerts_for_source: info.alerts_for_source,
        src_dns: None,
        dst_dns: Vec::new(),
        whois: None,
        block: None,
    })
}

fn sig_match(engine: &Engine, dst: IpAddr, h: &crate::engine::SigHit) -> SigMatch {
    let rules = engine.rules();
    let (sid, msg, proto, classtype, dl) = if h.sig & FWSNORT_SIG != 0 {
        let sid = h.sig & !FWSNORT_SIG;
        let r = rules.fwsnort.get(sid);
        (
            sid,
            r.and_then(|r| r.msg.clone()).unwrap_or_default(),
            r.map_or("ip".to_string(), |r| r.proto.clone()),
            None,
            0,
        )
    } else {
        match rules.signatures.sigs.get(h.sig as usize) {
            Some(s) => (
                s.key,
                s.msg.clone(),
                s.proto.to_string(),
                s.classtype.clone(),
                s.dl,
            ),
            None => (h.sig, String::new(), "ip".to_string(), None, 0),
        }
    };
    SigMatch {
        sid,
        msg,
        proto,
        dst,
        dport: h.dport,
        flags: h.flags.map(|f| f.to_string()),
        chain: h.chain.as_str().to_string(),
        packets: h.count,
        classtype,
        dl,
    }
}
