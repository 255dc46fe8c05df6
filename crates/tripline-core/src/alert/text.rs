//! psad-style alert text: the email subject and body (spec §5.2), the syslog line
//! (§5.4) and a one-paragraph summary for pop-ups and chat; for the responder's
//! notices, psad's `[psad-status]` auto-block texts (§6.2, §6.3).
//!
//! Times are printed in UTC (the core has no time zone database), labelled as such.

use super::{Alert, AlertKind};
use crate::packet::Timestamp;
use std::fmt::Write;

/// `Sat Nov 21 23:17:03 2026 UTC` (ctime layout).
pub fn ctime(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (days, rem) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let (y, m, d) = crate::parse::time::civil_from_days(days);
    format!(
        "{} {} {d:2} {:02}:{:02}:{:02} {y} UTC",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m as usize).saturating_sub(1).min(11)],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Email subject: `<prefix> DL<N> src: <src or its name> dst: <dst or its name>`, or the
/// status subject for a limit-reached alert.
pub fn subject(a: &Alert, alert_prefix: &str, status_prefix: &str) -> String {
    if let Some(s) = block_subject(a, status_prefix) {
        return s;
    }
    if a.kind == AlertKind::LimitReached {
        return format!(
            "{status_prefix} reached email message limit for {} on {}",
            a.src, a.hostname
        );
    }
    let src = a.src_dns.clone().unwrap_or_else(|| a.src.to_string());
    let dst = match a.first_dst() {
        Some(d) => a
            .dst_dns
            .iter()
            .find(|(ip, _)| *ip == d)
            .map_or_else(|| d.to_string(), |x| x.1.clone()),
        None => "-".to_string(),
    };
    let mut s = format!("{alert_prefix} DL{} src: {src} dst: {dst}", a.danger_level);
    if a.total_destinations > 1 {
        let _ = write!(s, " (+{} more)", a.total_destinations - 1);
    }
    s
}

/// psad's `printf "%23s"` layout: `label:` right-aligned so values start in column 24;
/// continuation lines (empty label) are indented to the same column.
fn label(out: &mut String, name: &str, value: &str) {
    if name.is_empty() {
        let _ = writeln!(out, "{:23}{value}", "");
    } else {
        let _ = writeln!(out, "{:>22} {value}", format!("{name}:"));
    }
}

/// The email body, psad's sections in psad's order (spec §5.2), with every label
/// right-aligned to 23 columns. Plain text, lines short enough for a phone.
pub fn email_body(a: &Alert) -> String {
    if a.kind.is_block() {
        return block_body(a);
    }
    let mut o = String::new();
    let banner = format!(
        "=-=-=-=-=-=-=-=-=-=-=-= {} =-=-=-=-=-=-=-=-=-=-=-=",
        ctime(a.at_unix)
    );
    let _ = writeln!(o, "{banner}\n\n");
    if a.kind == AlertKind::LimitReached {
        let _ = writeln!(
            o,
            "[+] reached email message limit ({}) for {} on {}; no further alerts for it.\n",
            a.alerts_for_source, a.src, a.hostname
        );
    }
    let mut dl = format!("[{}] (out of 5)", a.danger_level);
    if a.multi_protocol {
        dl.push_str(" Multi-Protocol");
    }
    label(&mut o, "Danger level", &dl);
    label(&mut o, "Alert reason", &a.reason);
    o.push('\n');
    label(
        &mut o,
        "Scanned destinations",
        &a.total_destinations.to_string(),
    );
    if let Some(n) = a.protocol_scan {
        label(
            &mut o,
            "IP Protocol scan",
            &format!("[{n} unique protocols, Nmap -sO]"),
        );
    }
    let range = |lo: u16, hi: u16| {
        if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}-{hi}")
        }
    };
    if let Some(t) = a.tcp {
        label(
            &mut o,
            "Scanned TCP ports",
            &format!("[{}: {} packets]", range(t.lo, t.hi), t.packets),
        );
        for (i, f) in a.tcp_flags.iter().enumerate() {
            let nmap = f
                .nmap
                .as_deref()
                .map_or(String::new(), |n| format!(", Nmap: {n}"));
            let v = format!("[{}: {} packets{nmap}]", f.flags, f.packets);
            label(&mut o, if i == 0 { "TCP flags" } else { "" }, &v);
        }
    }
    if let Some(u) = a.udp {
        label(
            &mut o,
            "Scanned UDP ports",
            &format!("[{}: {} packets, Nmap: -sU]", range(u.lo, u.hi), u.packets),
        );
    }
    if a.icmp_packets > 0 {
        label(&mut o, "icmp packets", &format!("[{}]", a.icmp_packets));
    }
    for p in &a.prefixes {
        let v = if p.prefix.is_empty() {
            format!("{}, {} packets", p.chain, p.packets)
        } else {
            format!(
                "{} (prefix \"{}\"), {} packets",
                p.chain, p.prefix, p.packets
            )
        };
        label(&mut o, "iptables chain", &v);
    }
    o.push('\n');
    label(&mut o, "Source", &a.src.to_string());
    label(
        &mut o,
        "DNS",
        a.src_dns
            .as_deref()
            .unwrap_or("[No reverse dns info available]"),
    );
    for g in &a.os_guesses {
        label(&mut o, "OS guess", g);
    }
    o.push('\n');
    for d in &a.destinations {
        label(&mut o, "Destination", &d.dst.to_string());
        if let Some((_, n)) = a.dst_dns.iter().find(|(ip, _)| *ip == d.dst) {
            label(&mut o, "DNS", n);
        }
        let ports: Vec<String> = d
            .ports
            .iter()
            .map(|p| format!("{} {}", p.proto, range(p.lo, p.hi)))
            .collect();
        let mut v = format!("{} packets ({} new)", d.packets, d.interval_packets);
        if !ports.is_empty() {
            let _ = write!(v, ", {}", ports.join(", "));
        }
        label(&mut o, "", &v);
    }
    if a.total_destinations > a.destinations.len() {
        label(
            &mut o,
            "",
            &format!(
                "... and {} more",
                a.total_destinations - a.destinations.len()
            ),
        );
    }
    o.push('\n');
    label(&mut o, "Overall scan start", &ctime(a.scan_start_unix));
    label(
        &mut o,
        "Current interval",
        &format!("{} new packets, {} in total", a.interval_packets, a.packets),
    );
    label(
        &mut o,
        "Total email alerts",
        &a.alerts_for_source.to_string(),
    );
    if let Some(t) = a.tcp {
        label(
            &mut o,
            "Complete TCP range",
            &format!("[{}-{}]", t.lo, t.hi),
        );
    }
    if let Some(u) = a.udp {
        label(
            &mut o,
            "Complete UDP range",
            &format!("[{}-{}]", u.lo, u.hi),
        );
    }
    match a.syslog_hostnames.len() {
        0 => {}
        1 => label(&mut o, "Syslog hostname", &a.syslog_hostnames[0]),
        _ => label(&mut o, "Syslog hostnames", &a.syslog_hostnames.join(", ")),
    }
    if !a.scan_types.is_empty() {
        o.push('\n');
        for (i, t) in a.scan_types.iter().enumerate() {
            let nmap = t
                .nmap
                .as_deref()
                .map_or(String::new(), |n| format!(" (nmap {n})"));
            let v = format!("{}: {}{nmap}", t.kind, t.evidence);
            label(&mut o, if i == 0 { "Scan types" } else { "" }, &v);
        }
    }
    o.push('\n');
    let _ = writeln!(o, "{:>22} ", "Global stats:");
    let _ = writeln!(
        o,
        "{:23}{:<9}{:<12}{:<11}{:<10}",
        "", "chain:", "interface:", "protocol:", "packets:"
    );
    for c in &a.chains {
        let _ = writeln!(
            o,
            "{:23}{:<9}{:<12}{:<11}{:<10}",
            "", c.chain, c.interface, c.protocol, c.packets
        );
    }
    o.push('\n');
    for proto in ["tcp", "udp", "icmp", "icmp6", "ip"] {
        let sigs: Vec<_> = a
            .signatures
            .iter()
            .filter(|s| s.proto == proto || (proto == "ip" && !is_named(&s.proto)))
            .collect();
        if sigs.is_empty() {
            continue;
        }
        let _ = writeln!(o, "\n[+] {} scan signatures:\n", proto.to_uppercase());
        for s in sigs {
            let _ = writeln!(o, "   \"{}\"", s.msg);
            let _ = writeln!(o, "       dst:       {}", s.dst);
            if let Some(p) = s.dport {
                let _ = writeln!(o, "       dst port:  {p}");
            }
            if let Some(f) = &s.flags {
                let _ = writeln!(o, "       flags:     {f}");
            }
            let _ = writeln!(o, "       sid:       {}", s.sid);
            let _ = writeln!(o, "       chain:     {}", s.chain);
            let _ = writeln!(o, "       packets:   {}", s.packets);
            if let Some(c) = &s.classtype {
                let _ = writeln!(o, "       classtype: {c}");
            }
            o.push('\n');
        }
    }
    if let Some(w) = &a.whois {
        let _ = writeln!(o, "\n[+] Whois Information (source IP):\n");
        o.push_str(w);
        if !w.ends_with('\n') {
            o.push('\n');
        }
    }
    let _ = writeln!(o, "\n{banner}");
    o
}

fn is_named(p: &str) -> bool {
    matches!(p, "tcp" | "udp" | "icmp" | "icmp6")
}

/// psad's syslog line (spec §5.4), without the psad bug that lets the UDP range
/// replace the TCP one:
/// `scan detected (<style>): <src> -> <dst> tcp: [a-b] flags: F udp: [a-b] tcp pkts: N
/// ... DL: N total scan dsts: N`.
pub fn syslog_line(a: &Alert) -> String {
    if let Some(m) = block_message(a) {
        return m;
    }
    if a.kind == AlertKind::LimitReached {
        return format!("email limit reached for src: {}", a.src);
    }
    let mut s = String::from("scan detected ");
    // psad's style: the nmap hint of the busiest TCP flag combination.
    if let Some(style) = a
        .tcp_flags
        .iter()
        .max_by_key(|f| f.packets)
        .and_then(|f| f.nmap.as_deref())
    {
        let _ = write!(s, "(Nmap {style} scan): ");
    }
    let dst = a.first_dst().map_or("-".to_string(), |d| d.to_string());
    let _ = write!(s, "{} -> {dst}", a.src);
    if let Some(t) = a.tcp {
        let _ = write!(s, " tcp: [{}-{}]", t.lo, t.hi);
        if !a.tcp_flags.is_empty() {
            let f: Vec<&str> = a.tcp_flags.iter().map(|f| f.flags.as_str()).collect();
            let _ = write!(s, " flags: {}", f.join(" "));
        }
    }
    if let Some(u) = a.udp {
        let _ = write!(s, " udp: [{}-{}]", u.lo, u.hi);
    }
    if let Some(t) = a.tcp {
        let _ = write!(s, " tcp pkts: {}", t.packets);
    }
    if let Some(u) = a.udp {
        let _ = write!(s, " udp pkts: {}", u.packets);
    }
    if a.icmp_packets > 0 {
        let _ = write!(s, " icmp pkts: {}", a.icmp_packets);
    }
    if a.other_packets > 0 {
        let _ = write!(s, " other proto pkts: {}", a.other_packets);
    }
    let _ = write!(
        s,
        " DL: {} total scan dsts: {}",
        a.danger_level, a.total_destinations
    );
    s
}

/// psad's per-signature syslog lines: `src: X signature match: "msg" (sid: N) tcp port: N`.
pub fn syslog_signature_lines(a: &Alert, max: usize) -> Vec<String> {
    a.signatures
        .iter()
        .take(max)
        .map(|s| {
            let mut l = format!(
                "src: {} signature match: \"{}\" (sid: {}) {}",
                a.src, s.msg, s.sid, s.proto
            );
            if let Some(p) = s.dport {
                let _ = write!(l, " port: {p}");
            }
            l
        })
        .collect()
}

/// A short summary: `Intrusion detected from <src> (DL 3): tcp-syn scan of 198.51.100.1,
/// ports tcp 1-1024`.
pub fn summary(a: &Alert) -> String {
    if let Some(m) = block_summary(a) {
        return m;
    }
    if a.kind == AlertKind::LimitReached {
        return format!(
            "Alert limit reached for {} on {}: no further alerts for it",
            a.src, a.hostname
        );
    }
    let mut s = format!(
        "Intrusion detected from {} (DL {}): {} scan",
        a.src,
        a.danger_level,
        a.scan_type()
    );
    match a.total_destinations {
        0 => {}
        1 => {
            let _ = write!(s, " of {}", a.destinations[0].dst);
        }
        n => {
            let _ = write!(s, " of {n} hosts");
        }
    }
    let ports = a.ports_text();
    if !ports.is_empty() {
        let _ = write!(s, ", ports {ports}");
    }
    if let Some(sig) = a.signatures.first() {
        let _ = write!(s, "; signature \"{}\"", sig.msg);
    }
    s
}

/// The timestamp of an alert.
pub fn at(a: &Alert) -> Timestamp {
    Timestamp::from_secs(a.at_unix)
}

/// A short title for chat and push messages: `Firewall Alert: <src> (DL N)`, or for the
/// responder's notices `Blocked: <net> (DL N)`, `Block renewed: ...`, `Unblocked: ...`,
/// `Block limit reached: <src> not blocked (DL N)`.
pub fn title(a: &Alert) -> String {
    let net = a
        .block
        .as_ref()
        .map_or_else(|| a.src.to_string(), |b| b.net.clone());
    let dl = a.danger_level;
    match a.kind {
        AlertKind::Scan | AlertKind::LimitReached => {
            format!("Firewall Alert: {} (DL {dl})", a.src)
        }
        AlertKind::Blocked => format!("Blocked: {net} (DL {dl})"),
        AlertKind::BlockRenewed => format!("Block renewed: {net} (DL {dl})"),
        AlertKind::Unblocked => format!("Unblocked: {net}"),
        AlertKind::BlockLimitReached => {
            format!("Block limit reached: {} not blocked (DL {dl})", a.src)
        }
        AlertKind::BlocksRestored => {
            let n = a.block.as_ref().map_or(0, |b| b.restored);
            format!("Blocks restored: {n} on {} (DL {dl})", a.hostname)
        }
        AlertKind::BlockFailed => format!("Blocking failed on {}", a.hostname),
    }
}

/// The kernel's answer on one line of printable text, at most 300 characters:
/// nft and iptables answer over several lines, and the text goes into syslog
/// lines and mail subjects.
fn one_line(error: &str) -> String {
    let joined = error.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = joined.chars().filter(|c| !c.is_control());
    let mut s: String = chars.by_ref().take(300).collect();
    // Marked only when something was cut.
    if chars.next().is_some() {
        s.push_str("...");
    }
    s
}

/// psad's `for N seconds` / `(unlimited timeout)`.
fn timeout_text(secs: u64) -> String {
    if secs == 0 {
        "(unlimited timeout)".to_string()
    } else {
        format!("for {secs} seconds")
    }
}

/// psad's auto-block message for the responder's notices (its syslog text, and the
/// email subject after the status prefix): `added iptables auto-block against X for N
/// seconds`, `renewed ...`, `removed iptables auto-block against X`. The mechanism word
/// is the backend in use, so with the iptables backend the text is psad's own. `None`
/// for scan alerts.
pub fn block_message(a: &Alert) -> Option<String> {
    let b = a.block.as_ref()?;
    let (be, net) = (&b.backend, &b.net);
    Some(match a.kind {
        AlertKind::Blocked if b.dry_run => format!(
            "would add {be} auto-block against {net} {} (dry run)",
            timeout_text(b.timeout_secs)
        ),
        AlertKind::Blocked => format!(
            "added {be} auto-block against {net} {}",
            timeout_text(b.timeout_secs)
        ),
        AlertKind::BlockRenewed => format!(
            "renewed {be} auto-block against {net} {}",
            timeout_text(b.timeout_secs)
        ),
        AlertKind::Unblocked => format!("removed {be} auto-block against {net}"),
        AlertKind::BlockLimitReached => {
            let mut m = format!(
                "auto-block limit reached ({} a minute): not blocking {} (DL {})",
                b.max_per_minute, a.src, a.danger_level
            );
            if b.skipped > 1 {
                let _ = write!(
                    m,
                    ", {} sources not blocked since the last notice",
                    b.skipped
                );
            }
            m
        }
        AlertKind::BlocksRestored => format!(
            "{be} objects were gone (a ruleset reload?): re-created them and re-applied {} blocks",
            b.restored
        ),
        AlertKind::BlockFailed => {
            let mut m = format!("{be} blocking failed: {}", one_line(&b.error));
            if b.failures > 1 {
                let _ = write!(m, " ({} failures since the last notice)", b.failures);
            }
            m
        }
        AlertKind::Scan | AlertKind::LimitReached => return None,
    })
}

fn block_subject(a: &Alert, status_prefix: &str) -> Option<String> {
    let b = a.block.as_ref()?;
    Some(match a.kind {
        // psad's removal mail says "block", its syslog line "auto-block".
        AlertKind::Unblocked => {
            format!(
                "{status_prefix} removed {} block against {}",
                b.backend, b.net
            )
        }
        AlertKind::BlockLimitReached => format!(
            "{status_prefix} auto-block limit reached on {}: not blocking {}",
            a.hostname, a.src
        ),
        AlertKind::BlocksRestored => format!(
            "{status_prefix} {} blocks restored on {} after a ruleset reload",
            b.restored, a.hostname
        ),
        AlertKind::BlockFailed => format!(
            "{status_prefix} blocking failed on {}: {}",
            a.hostname, b.backend
        ),
        _ => format!("{status_prefix} {}", block_message(a)?),
    })
}

fn block_summary(a: &Alert) -> Option<String> {
    let m = block_message(a)?;
    let mut s = format!("{}{} on {}", m[..1].to_uppercase(), &m[1..], a.hostname);
    if a.kind == AlertKind::Blocked && a.packets > 0 {
        let _ = write!(s, ": {} scan", a.scan_type());
        let ports = a.ports_text();
        if !ports.is_empty() {
            let _ = write!(s, ", ports {ports}");
        }
    }
    Some(s)
}

/// The body of a responder notice. psad sends these with an empty body; Tripline says
/// what was done, until when, and why (the scan evidence while the engine has it).
fn block_body(a: &Alert) -> String {
    let mut o = String::new();
    let banner = format!(
        "=-=-=-=-=-=-=-=-=-=-=-= {} =-=-=-=-=-=-=-=-=-=-=-=",
        ctime(a.at_unix)
    );
    let _ = writeln!(o, "{banner}\n\n");
    let Some(b) = &a.block else {
        return o;
    };
    let _ = writeln!(o, "[+] {}.\n", block_message(a).unwrap_or_default());
    match a.kind {
        AlertKind::BlockLimitReached => {
            label(&mut o, "Not blocked", &a.src.to_string());
            label(
                &mut o,
                "Danger level",
                &format!("[{}] (out of 5)", a.danger_level),
            );
            label(
                &mut o,
                "Block limit",
                &format!("{} blocks a minute (max-per-minute)", b.max_per_minute),
            );
            label(
                &mut o,
                "Refused",
                &format!("{} sources since the last notice", b.skipped),
            );
        }
        AlertKind::BlocksRestored => {
            label(&mut o, "Backend", &b.backend);
            label(&mut o, "Blocks restored", &b.restored.to_string());
            label(
                &mut o,
                "Highest level",
                &format!("[{}] (out of 5)", a.danger_level),
            );
            let _ = writeln!(
                o,
                "\n    Between the reload and the repair these blocks were not enforced."
            );
        }
        AlertKind::BlockFailed => {
            label(&mut o, "Backend", &b.backend);
            label(&mut o, "Failures", &b.failures.to_string());
            label(&mut o, "Error", &one_line(&b.error));
            let _ = writeln!(
                o,
                "\n    Sources at the blocking level may not be blocked (or not lifted)\n    \
                 until this is fixed: see `tripline status` and the daemon's log."
            );
        }
        _ => {
            let what = if a.kind == AlertKind::Unblocked {
                "Unblocked"
            } else {
                "Blocked"
            };
            label(&mut o, what, &b.net);
            label(&mut o, "Backend", &b.backend);
            if a.kind != AlertKind::Unblocked {
                let t = match (b.timeout_secs, b.expires_unix) {
                    (0, _) => "unlimited".to_string(),
                    (s, Some(e)) => format!("{s} seconds (until {})", ctime(e)),
                    (s, None) => format!("{s} seconds"),
                };
                label(&mut o, "Timeout", &t);
                if b.dry_run {
                    label(&mut o, "Dry run", "nothing was changed in the kernel");
                }
            }
            label(
                &mut o,
                "Danger level",
                &format!("[{}] (out of 5)", a.danger_level),
            );
        }
    }
    if !matches!(a.kind, AlertKind::BlocksRestored | AlertKind::BlockFailed) {
        label(&mut o, "Source", &a.src.to_string());
    }
    if let Some(n) = &a.src_dns {
        label(&mut o, "DNS", n);
    }
    label(&mut o, "Hostname", &a.hostname);
    if a.packets > 0 {
        o.push('\n');
        label(
            &mut o,
            "Scanned destinations",
            &a.total_destinations.to_string(),
        );
        let ports = a.ports_text();
        if !ports.is_empty() {
            label(&mut o, "Scanned ports", &ports);
        }
        for (i, t) in a.scan_types.iter().enumerate() {
            let nmap = t
                .nmap
                .as_deref()
                .map_or(String::new(), |n| format!(" (nmap {n})"));
            let v = format!("{}: {}{nmap}", t.kind, t.evidence);
            label(&mut o, if i == 0 { "Scan types" } else { "" }, &v);
        }
        label(&mut o, "Overall scan start", &ctime(a.scan_start_unix));
        label(&mut o, "Packets", &a.packets.to_string());
    }
    if let Some(w) = &a.whois {
        let _ = writeln!(o, "\n[+] Whois Information (source IP):\n");
        o.push_str(w);
        if !w.ends_with('\n') {
            o.push('\n');
        }
    }
    let _ = writeln!(o, "\n{banner}");
    o
}
