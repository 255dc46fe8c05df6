//! psad's auto_dl file: per-source danger-level overrides (0 = ignore).
//!
//! Format (spec §2.4), one entry per line up to the first `;`:
//! `<IPv4>|<IPv4>/<len>|<IPv4>/<dotted-mask>|<IPv6>[/len]|<hostname>  <0-5>  [criteria];`
//! where criteria are `icmp`, `tcp`, `udp`, `udplite`, `tcp/N`, `tcp/N-M`, `udp/...`,
//! separated by commas or blanks, case-insensitive. Host names are not resolved here (the
//! core does no IO): they come back as [`UnresolvedHost`]s for the shell to resolve and add.
//! Malformed lines are skipped with a warning, as psad does.

use super::error::ConfigWarning;
use super::lower::{parse_port_item, proto_by_name};
use crate::net::IpNet;
use crate::packet::Proto;
use std::net::IpAddr;

/// One auto_dl entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoDlEntry {
    /// Source network the entry applies to.
    pub net: IpNet,
    /// Danger level 0..=5 (0 = ignore the source).
    pub dl: u8,
    /// Protocol/port criteria; empty = all protocols.
    pub criteria: Vec<AutoDlCriterion>,
}

/// A protocol/port criterion of an auto_dl entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoDlCriterion {
    /// Any packet of this protocol.
    Proto(Proto),
    /// This protocol and a dst port in lo..=hi.
    Ports(Proto, u16, u16),
}

impl AutoDlCriterion {
    fn matches(self, proto: Proto, dport: Option<u16>) -> bool {
        match self {
            AutoDlCriterion::Proto(p) => p == proto,
            AutoDlCriterion::Ports(p, lo, hi) => {
                p == proto && dport.is_some_and(|d| (lo..=hi).contains(&d))
            }
        }
    }
}

impl AutoDlEntry {
    /// True if the entry's criteria accept a packet of `proto` to `dport`.
    pub fn criteria_match(&self, proto: Proto, dport: Option<u16>) -> bool {
        self.criteria.is_empty() || self.criteria.iter().any(|c| c.matches(proto, dport))
    }
}

/// The auto_dl table, in evaluation order (DL 0 first, then longest prefix).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AutoDl {
    /// Entries, in evaluation order: DL-0 entries first, then longer prefixes before
    /// shorter ones, then file order. Build with [`AutoDl::from_entries`] or
    /// [`AutoDl::push`] to keep that order; [`AutoDl::lookup`] relies on it.
    pub entries: Vec<AutoDlEntry>,
}

/// A line whose address is a host name: the shell resolves it and calls
/// [`AutoDl::add_resolved`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnresolvedHost {
    /// The host name as written.
    pub name: String,
    /// The danger level of the line.
    pub dl: u8,
    /// The criteria of the line.
    pub criteria: Vec<AutoDlCriterion>,
    /// File name, for messages.
    pub file: String,
    /// 1-based line number.
    pub line: u32,
}

/// The result of parsing an auto_dl file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AutoDlParsed {
    /// The entries that parsed, in evaluation order.
    pub table: AutoDl,
    /// Malformed lines (skipped), each naming file and line.
    pub warnings: Vec<ConfigWarning>,
    /// Lines naming a host instead of an address.
    pub unresolved: Vec<UnresolvedHost>,
}

impl AutoDl {
    /// A table from entries in file order, sorted into evaluation order.
    pub fn from_entries(entries: Vec<AutoDlEntry>) -> AutoDl {
        let mut t = AutoDl { entries };
        t.sort();
        t
    }

    /// Adds an entry after the existing ones of the same rank (as if appended to the file).
    pub fn push(&mut self, entry: AutoDlEntry) {
        self.entries.push(entry);
        self.sort();
    }

    /// Adds the addresses a host name resolved to (each as a single host), with the
    /// host's DL and criteria.
    pub fn add_resolved(&mut self, host: &UnresolvedHost, addrs: &[IpAddr]) {
        for &a in addrs {
            self.entries.push(AutoDlEntry {
                net: IpNet::host(a),
                dl: host.dl,
                criteria: host.criteria.clone(),
            });
        }
        self.sort();
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if there are no entries (the common case).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The defined evaluation order: DL 0 first, then longest prefix, then file order
    /// (the sort is stable). psad iterates a Perl hash, i.e. in no defined order.
    fn sort(&mut self) {
        self.entries
            .sort_by_key(|e| (e.dl != 0, std::cmp::Reverse(e.net.prefix)));
    }

    /// The decision for a packet: `Some(0)` ignore it, `Some(dl)` raise the source to `dl`,
    /// `None` no entry applies. `current_dl` is the source's DL so far.
    ///
    /// Entries whose network contains `src` are tried in evaluation order: DL 0 stops with
    /// `Some(0)`; an entry with a higher DL than `current_dl` whose criteria match stops
    /// with `Some(dl)`; anything else goes on to the next entry (psad's semantics).
    #[inline]
    pub fn lookup(
        &self,
        src: IpAddr,
        proto: Proto,
        dport: Option<u16>,
        current_dl: u8,
    ) -> Option<u8> {
        // Most installations have no auto_dl entries: one length check per packet.
        if self.entries.is_empty() {
            return None;
        }
        self.lookup_slow(src, proto, dport, current_dl)
    }

    fn lookup_slow(
        &self,
        src: IpAddr,
        proto: Proto,
        dport: Option<u16>,
        current_dl: u8,
    ) -> Option<u8> {
        for e in &self.entries {
            if !e.net.contains(src) {
                continue;
            }
            if e.dl == 0 {
                return Some(0);
            }
            if current_dl < e.dl && e.criteria_match(proto, dport) {
                return Some(e.dl);
            }
        }
        None
    }

    /// Parses auto_dl text. `file` is only used in messages. Never fails: malformed lines
    /// are skipped and reported in [`AutoDlParsed::warnings`], as psad skips them.
    ///
    /// Differences from psad: criteria are read only before the first `;` (psad searches
    /// the whole line, comments included, for `tcp`/`udp`/`icmp`); an unknown criterion
    /// makes the line malformed (psad ignores the word); `tcp/22-22` means port 22;
    /// `icmp6` is accepted as ICMPv6 (psad has no way to name it).
    pub fn parse(file: &str, text: &str) -> AutoDlParsed {
        let mut out = AutoDlParsed::default();
        let mut entries = Vec::new();
        for (idx, line) in text.split('\n').enumerate() {
            let lineno = u32::try_from(idx + 1).unwrap_or(u32::MAX);
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let warn = |msg: String| ConfigWarning {
                file: file.to_string(),
                line: Some(lineno),
                key: None,
                message: msg,
            };
            match parse_line(t) {
                Ok(Parsed::Entry(e)) => entries.push(e),
                Ok(Parsed::Host(name, dl, criteria)) => out.unresolved.push(UnresolvedHost {
                    name,
                    dl,
                    criteria,
                    file: file.to_string(),
                    line: lineno,
                }),
                Err(msg) => out.warnings.push(warn(format!(
                    "improperly formatted auto_dl line, skipped: {msg}"
                ))),
            }
        }
        out.table = AutoDl::from_entries(entries);
        out
    }
}

enum Parsed {
    Entry(AutoDlEntry),
    Host(String, u8, Vec<AutoDlCriterion>),
}

fn parse_line(line: &str) -> Result<Parsed, String> {
    let Some((head, _comment)) = line.split_once(';') else {
        return Err("no ';' at the end of the entry".to_string());
    };
    // psad allows blanks around the `/` of an IPv4 network (`10.0.0.0 / 24`).
    let mut tokens: Vec<&str> = head.split_ascii_whitespace().collect();
    let mut addr = tokens.first().copied().unwrap_or("").to_string();
    let mut used = 1;
    while used < tokens.len() && (addr.ends_with('/') || tokens[used].starts_with('/')) {
        addr.push_str(tokens[used]);
        used += 1;
    }
    tokens.drain(..used.min(tokens.len()));
    if addr.is_empty() {
        return Err("missing address".to_string());
    }
    let dl_tok = tokens
        .first()
        .ok_or_else(|| "missing danger level (0-5)".to_string())?;
    let dl = match dl_tok.as_bytes() {
        [d @ b'0'..=b'5'] => d - b'0',
        _ => return Err(format!("danger level {dl_tok:?} is not 0-5")),
    };
    let criteria = parse_criteria(&tokens[1..].join(" "))?;

    let looks_like_addr = addr.contains(':')
        || addr
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'/');
    if looks_like_addr {
        let net: IpNet = addr
            .parse()
            .map_err(|_| format!("{addr:?} is not an IPv4/IPv6 address or network"))?;
        return Ok(Parsed::Entry(AutoDlEntry { net, dl, criteria }));
    }
    let host_ok = addr.len() <= 253
        && addr
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    if !host_ok {
        return Err(format!("{addr:?} is neither an address nor a host name"));
    }
    Ok(Parsed::Host(addr, dl, criteria))
}

/// Criteria text (after the DL, before `;`) into a list; empty = all protocols.
fn parse_criteria(s: &str) -> Result<Vec<AutoDlCriterion>, String> {
    let mut out: Vec<AutoDlCriterion> = Vec::new();
    let mut add = |c: AutoDlCriterion| {
        if !out.contains(&c) {
            out.push(c);
        }
    };
    let words = s
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    // Join "tcp/1 - 1024" written with blanks back together.
    let mut items: Vec<String> = Vec::new();
    for w in words {
        match items.last_mut() {
            Some(last) if last.ends_with('-') || w.starts_with('-') => last.push_str(w),
            _ => items.push(w.to_string()),
        }
    }
    let ported = [Proto::Tcp, Proto::Udp, Proto::UdpLite];
    for item in &items {
        if item.contains('/') {
            let r = parse_port_item(item, &ported)?;
            add(AutoDlCriterion::Ports(r.proto, r.lo, r.hi));
            continue;
        }
        match proto_by_name(item) {
            Some(p @ (Proto::Tcp | Proto::Udp | Proto::Icmp | Proto::Icmp6)) => {
                add(AutoDlCriterion::Proto(p));
            }
            // psad: "the word udplite also enables udp".
            Some(Proto::UdpLite) => {
                add(AutoDlCriterion::Proto(Proto::UdpLite));
                add(AutoDlCriterion::Proto(Proto::Udp));
            }
            _ => {
                return Err(format!(
                    "unknown criterion {item:?} (expected icmp, tcp, udp, udplite, tcp/N, tcp/N-M)"
                ))
            }
        }
    }
    // psad: a protocol with port criteria matches only those ports, even if the bare
    // protocol word is also present.
    let ported: Vec<Proto> = out
        .iter()
        .filter_map(|c| match c {
            AutoDlCriterion::Ports(p, _, _) => Some(*p),
            AutoDlCriterion::Proto(_) => None,
        })
        .collect();
    out.retain(|c| !matches!(c, AutoDlCriterion::Proto(p) if ported.contains(p)));
    Ok(out)
}

impl std::fmt::Display for AutoDlCriterion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AutoDlCriterion::Proto(p) => write!(f, "{p}"),
            AutoDlCriterion::Ports(p, lo, hi) if lo == hi => write!(f, "{p}/{lo}"),
            AutoDlCriterion::Ports(p, lo, hi) => write!(f, "{p}/{lo}-{hi}"),
        }
    }
}

impl std::fmt::Display for AutoDlEntry {
    /// The entry in auto_dl syntax (without the `;`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.net, self.dl)?;
        for (i, c) in self.criteria.iter().enumerate() {
            write!(f, "{}{c}", if i == 0 { " " } else { "," })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_all_address_forms() {
        let text = "# comment\n\
                    10.111.21.23     5;                # Very bad IP.\n\
                    127.0.0.1        0;\n\
                    10.10.1.0/24     0;\n\
                    192.168.10.4     3    tcp;\n\
                    10.10.1.0 / 255.255.255.0 3 tcp/1-1024;\n\
                    2001:db8::/32    2 udp/53, icmp6;\n\
                    ::1 1;\n\
                    scanner.example.org 4 TCP/22;\n";
        let p = AutoDl::parse("auto_dl", text);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(p.table.len(), 7);
        assert_eq!(p.unresolved.len(), 1);
        assert_eq!(p.unresolved[0].name, "scanner.example.org");
        assert_eq!(p.unresolved[0].line, 9);
        assert_eq!(
            p.unresolved[0].criteria,
            vec![AutoDlCriterion::Ports(Proto::Tcp, 22, 22)]
        );
        // Evaluation order: DL 0 first (longest prefix first), then the rest by prefix.
        let order: Vec<String> = p.table.entries.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            order,
            [
                "127.0.0.1/32 0",
                "10.10.1.0/24 0",
                "::1/128 1",
                "10.111.21.23/32 5",
                "192.168.10.4/32 3 tcp",
                // Prefix lengths are compared across families; harmless, since an
                // address only ever matches entries of its own family.
                "2001:db8::/32 2 udp/53,icmp6",
                "10.10.1.0/24 3 tcp/1-1024",
            ]
        );
    }

    #[test]
    fn malformed_lines_are_reported_with_line_numbers() {
        let text = "10.0.0.1 5;\n10.0.0.2 9;\n10.0.0.3;\nnot an entry\n10.0.0.0/40 2;\n10.0.0.4 2 gre;\n10.0.0.5 2 tcp/99999;\n";
        let p = AutoDl::parse("dl.conf", text);
        assert_eq!(p.table.len(), 1);
        let lines: Vec<Option<u32>> = p.warnings.iter().map(|w| w.line).collect();
        assert_eq!(
            lines,
            [Some(2), Some(3), Some(4), Some(5), Some(6), Some(7)]
        );
        assert!(p.warnings[0]
            .to_string()
            .starts_with("dl.conf:2: improperly formatted auto_dl line"));
    }

    #[test]
    fn criteria_semantics() {
        let p = AutoDl::parse("a", "10.0.0.0/8 3 tcp, tcp/22, udplite;\n");
        let e = &p.table.entries[0];
        assert_eq!(
            e.criteria,
            vec![
                AutoDlCriterion::Ports(Proto::Tcp, 22, 22),
                AutoDlCriterion::Proto(Proto::UdpLite),
                AutoDlCriterion::Proto(Proto::Udp),
            ]
        );
        assert!(e.criteria_match(Proto::Tcp, Some(22)));
        assert!(!e.criteria_match(Proto::Tcp, Some(23)));
        assert!(e.criteria_match(Proto::Udp, Some(1)));
        assert!(!e.criteria_match(Proto::Icmp, None));
    }

    #[test]
    fn lookup_order_and_semantics() {
        // Overlap that is nondeterministic in psad: /24 -> 4 tcp/22 and .7 -> 0.
        let p = AutoDl::parse("a", "198.51.100.0/24 4 tcp/22;\n198.51.100.7 0;\n");
        let t = &p.table;
        assert_eq!(
            t.lookup(ip("198.51.100.7"), Proto::Tcp, Some(22), 0),
            Some(0)
        );
        assert_eq!(
            t.lookup(ip("198.51.100.8"), Proto::Tcp, Some(22), 0),
            Some(4)
        );
        assert_eq!(t.lookup(ip("198.51.100.8"), Proto::Tcp, Some(80), 0), None);
        // Already at or above the DL: no change.
        assert_eq!(t.lookup(ip("198.51.100.8"), Proto::Tcp, Some(22), 4), None);
        assert_eq!(t.lookup(ip("203.0.113.1"), Proto::Tcp, Some(22), 0), None);
        assert_eq!(t.lookup(ip("2001:db8::1"), Proto::Tcp, Some(22), 0), None);

        // Longest prefix first; a non-matching entry falls through to the next one.
        let p = AutoDl::parse("a", "10.0.0.0/8 2;\n10.1.0.0/16 5 udp;\n");
        let t = &p.table;
        assert_eq!(t.lookup(ip("10.1.2.3"), Proto::Udp, Some(53), 0), Some(5));
        assert_eq!(t.lookup(ip("10.1.2.3"), Proto::Tcp, Some(53), 0), Some(2));
        assert_eq!(t.lookup(ip("10.1.2.3"), Proto::Udp, Some(53), 5), None);
        assert_eq!(t.lookup(ip("10.1.2.3"), Proto::Tcp, Some(53), 3), None);

        // Same prefix: file order.
        let p = AutoDl::parse("a", "10.0.0.1 2;\n10.0.0.1 4;\n");
        assert_eq!(
            p.table.lookup(ip("10.0.0.1"), Proto::Icmp, None, 0),
            Some(2)
        );
        assert_eq!(
            p.table.lookup(ip("10.0.0.1"), Proto::Icmp, None, 2),
            Some(4)
        );

        assert_eq!(
            AutoDl::default().lookup(ip("10.0.0.1"), Proto::Tcp, None, 0),
            None
        );
    }

    #[test]
    fn resolved_hosts_join_the_table() {
        let mut p = AutoDl::parse("a", "bad.example 0;\n10.0.0.0/8 3;\n");
        let host = p.unresolved[0].clone();
        p.table.add_resolved(&host, &[ip("10.9.9.9")]);
        assert_eq!(p.table.entries[0].net.to_string(), "10.9.9.9/32");
        assert_eq!(
            p.table.lookup(ip("10.9.9.9"), Proto::Tcp, Some(1), 0),
            Some(0)
        );
        assert_eq!(
            p.table.lookup(ip("10.9.9.8"), Proto::Tcp, Some(1), 0),
            Some(3)
        );
    }
}
