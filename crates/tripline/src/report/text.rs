//! psad -A's report layout, readable in a terminal.

use super::{ChainReport, Report, SourceReport};
use crate::term::{clean, paint};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::IpAddr;
use tripline_core::engine::Evidence;
use tripline_core::TcpFlags;

/// psad prints IPv6 as `<full> (<COMPRESSED-UPPERCASE>)`.
fn ip(a: IpAddr) -> String {
    Ip(a).to_string()
}

/// [`ip`] without the allocation, for the per-source lines.
struct Ip(IpAddr);

impl std::fmt::Display for Ip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => v4.fmt(f),
            IpAddr::V6(v6) => {
                let mut buf = [0u8; V6_TEXT];
                f.write_str(v6_text(v6, &mut buf))
            }
        }
    }
}

/// The longest [`v6_text`]: 39 bytes in full, 45 compressed, and 3 more.
const V6_TEXT: usize = 87;

/// An IPv6 address as psad prints it, `<full> (<COMPRESSED-UPPERCASE>)`,
/// written in `buf` without `core::fmt` but for the compressed form.
fn v6_text(v6: std::net::Ipv6Addr, buf: &mut [u8; V6_TEXT]) -> &str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut n = 0;
    for (i, seg) in v6.segments().into_iter().enumerate() {
        if i > 0 {
            buf[n] = b':';
            n += 1;
        }
        for shift in [12, 8, 4, 0] {
            buf[n] = HEX[usize::from(seg >> shift & 0xf)];
            n += 1;
        }
    }
    buf[n..n + 2].copy_from_slice(b" (");
    n += 2;
    // The compressed form is std's (RFC 5952, and ::ffff:a.b.c.d).
    let mut w = Cursor {
        buf: &mut buf[n..V6_TEXT - 1],
        len: 0,
    };
    let _ = write!(w, "{v6}");
    let len = w.len;
    buf[n..n + len].make_ascii_uppercase();
    n += len;
    buf[n] = b')';
    std::str::from_utf8(&buf[..=n]).unwrap_or_default()
}

/// `fmt::Write` into a fixed buffer.
struct Cursor<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl std::fmt::Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(std::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Protocol names in capitals without an allocation for the usual ones.
fn upper(p: &str) -> std::borrow::Cow<'_, str> {
    match p {
        "tcp" => "TCP".into(),
        "udp" => "UDP".into(),
        "icmp" => "ICMP".into(),
        "icmp6" => "ICMP6".into(),
        "ip" => "IP".into(),
        _ => p.to_uppercase().into(),
    }
}

/// Writing without `core::fmt`: a `write!` per field was most of the cost of
/// the per-source text on logs of many sources.
trait Put: Write {
    fn s(&mut self, s: &str) -> io::Result<&mut Self> {
        self.write_all(s.as_bytes())?;
        Ok(self)
    }

    fn n(&mut self, n: impl itoa::Integer) -> io::Result<&mut Self> {
        self.s(itoa::Buffer::new().format(n))
    }

    /// An address as [`Ip`] shows it.
    fn ip(&mut self, a: IpAddr) -> io::Result<&mut Self> {
        match a {
            IpAddr::V4(v4) => {
                let [a, b, c, d] = v4.octets();
                self.n(a)?.s(".")?.n(b)?.s(".")?.n(c)?.s(".")?.n(d)
            }
            IpAddr::V6(v6) => self.s(v6_text(v6, &mut [0; V6_TEXT])),
        }
    }

    /// TCP flags as the kernel names them (`URG PSH FIN`, `NULL`).
    fn flags(&mut self, f: TcpFlags) -> io::Result<&mut Self> {
        // Made once for all 256: a report writes flags for every destination.
        static TEXT: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        let text = TEXT.get_or_init(|| (0..=255).map(|b| TcpFlags(b).to_string()).collect());
        self.s(&text[usize::from(f.0)])
    }

    /// Scan evidence as its `Display` writes it; the usual kinds without
    /// `core::fmt`.
    fn evidence(&mut self, e: &Evidence) -> io::Result<&mut Self> {
        match e {
            Evidence::Fixed(s) => self.s(s),
            Evidence::Flags(f) => self.flags(*f),
            Evidence::Ports {
                proto,
                lo,
                hi,
                dst: dst @ IpAddr::V4(_),
            } => self
                .s(&proto.name())?
                .s(" ")?
                .n(*lo)?
                .s("-")?
                .n(*hi)?
                .s(" on ")?
                .ip(*dst),
            // (Text names attacker-chosen things: OS labels.)
            _ => self.s(&clean(&e.to_string())),
        }
    }

    /// A port range as psad prints it: `N` or `LO-HI`.
    fn range(&mut self, lo: u16, hi: u16) -> io::Result<&mut Self> {
        if lo == hi {
            self.n(lo)
        } else {
            self.n(lo)?.s("-")?.n(hi)
        }
    }
}

impl<W: Write + ?Sized> Put for W {}

fn dl_color(dl: u8) -> &'static str {
    match dl {
        5 | 4 => "1;31",
        3 => "31",
        2 => "33",
        _ => "0",
    }
}

/// Write the report.
pub fn write(out: &mut impl Write, r: &Report, summary: bool, color: bool) -> io::Result<()> {
    let h = |s: &str| paint(s, "1", color).into_owned();
    writeln!(
        out,
        "[+] Found {} firewall log messages out of {} total lines ({} malformed, {} ignored).",
        r.totals.firewall_lines, r.totals.lines, r.totals.malformed, r.totals.ignored
    )?;
    if !r.malformed.is_empty() {
        writeln!(out, "{}", h("[-] Malformed lines (first ones):"))?;
        for m in &r.malformed {
            writeln!(out, "      {}:{}: {}", clean(&m.file), m.line, m.reason)?;
            writeln!(out, "          {}", clean(&m.text))?;
        }
    }
    writeln!(out, "[+] Assigning scan danger levels...")?;
    for (i, n) in r.level_counts.iter().enumerate() {
        writeln!(out, "    Level {}: {} IP addresses", i + 1, n)?;
    }
    writeln!(
        out,
        "\n    Tracking {} total IP addresses",
        r.tracked_sources
    )?;
    writeln!(
        out,
        "{}\n",
        h(&format!(
            "[+] Version: tripline v{}{}",
            r.version,
            if r.psad_compat { " (psad-compat)" } else { "" }
        ))
    )?;

    let sigs = &r.top_signatures[..r.top_signatures.len().min(r.sigs_shown)];
    writeln!(
        out,
        "{}",
        h(&format!("[+] Top {} signature matches:", r.sigs_shown))
    )?;
    if sigs.is_empty() {
        writeln!(out, "        [NONE]")?;
    }
    for s in sigs {
        writeln!(
            out,
            "      \"{}\" ({}),  Count: {},  Unique sources: {},  Sid: {}",
            clean(s.msg),
            s.proto,
            s.count,
            s.sources,
            s.sid
        )?;
    }
    writeln!(out)?;

    writeln!(out, "{}", h("[+] Top attackers:"))?;
    if r.sources.is_empty() {
        writeln!(out, "        [NONE]")?;
    }
    let mut a = Vec::with_capacity(V6_TEXT);
    for s in &r.sources {
        if color {
            writeln!(
                out,
                "      {:<15} DL: {}, Packets: {}, Sig count: {}",
                ip(s.src),
                paint(&s.danger_level.to_string(), dl_color(s.danger_level), color),
                s.packets_seen,
                s.signature_matches
            )?;
            continue;
        }
        // (One line per source, on this thread: without `core::fmt`.)
        a.clear();
        a.ip(s.src)?;
        let pad = 15usize.saturating_sub(a.len());
        out.s("      ")?
            .s(std::str::from_utf8(&a).unwrap_or_default())?;
        out.s(&"               "[..pad])?
            .s(" DL: ")?
            .n(s.danger_level)?
            .s(", Packets: ")?
            .n(s.packets_seen)?
            .s(", Sig count: ")?
            .n(s.signature_matches)?
            .s("\n")?;
    }
    writeln!(out)?;

    writeln!(out, "{}", h("[+] Top scanned ports:"))?;
    if r.top_ports.tcp.is_empty() && r.top_ports.udp.is_empty() {
        writeln!(out, "        [NONE]")?;
    }
    for p in &r.top_ports.tcp {
        writeln!(out, "      tcp {:<5} {} packets", p.port, p.packets)?;
    }
    if !r.top_ports.tcp.is_empty() && !r.top_ports.udp.is_empty() {
        writeln!(out)?;
    }
    for p in &r.top_ports.udp {
        writeln!(out, "      udp {:<5} {} packets", p.port, p.packets)?;
    }
    writeln!(out)?;

    writeln!(out, "{}", h("[+] iptables log prefix counters:"))?;
    if r.prefixes.is_empty() {
        writeln!(out, "        [NONE]")?;
    }
    for p in &r.prefixes {
        writeln!(out, "      \"{}\": {}", clean(&p.name), p.packets)?;
    }
    writeln!(out, "\n    Total protocol packet counters:")?;
    for p in &r.protocols {
        writeln!(out, "      {:>6}: {} pkts", p.name, p.packets)?;
    }
    writeln!(out)?;
    if summary {
        return Ok(());
    }
    writeln!(out, "{}\n", h("[+] IP Status Detail:"))?;
    sources(out, &r.sources, color)?;
    if !r.decoy_groups.is_empty() {
        writeln!(
            out,
            "{}",
            h("[+] Decoy sets (nmap -D: one scan, several sources):")
        )?;
        for g in &r.decoy_groups {
            let members: Vec<String> = g
                .members
                .iter()
                .map(|m| format!("{} ({} pkts)", ip(m.src), m.packets))
                .collect();
            writeln!(
                out,
                "      {} {} {}-{}: {}",
                ip(g.dst),
                g.protocol,
                g.ports.lo,
                g.ports.hi,
                members.join(", ")
            )?;
        }
        writeln!(out)?;
    }
    writeln!(out, "    Total scan sources: {}", r.sources.len())?;
    writeln!(out, "    Total scan destinations: {}", r.total_destinations)?;
    Ok(())
}

/// Sources rendered on every allowed CPU a round at a time, written in
/// order. Each CPU keeps one buffer for all rounds: a buffer per source was
/// fresh memory for every source, and its page faults were a third of the
/// text of a 50,000-source report.
fn sources(out: &mut impl Write, all: &[SourceReport], color: bool) -> io::Result<()> {
    let cpus = super::cpus();
    if cpus < 2 || all.len() < 512 {
        return all.iter().try_for_each(|s| source(out, s, color));
    }
    rounds(out, all, color, cpus, 4096)
}

/// [`sources`] on `cpus` threads, `round` sources at a time.
fn rounds(
    out: &mut impl Write,
    all: &[SourceReport],
    color: bool,
    cpus: usize,
    round: usize,
) -> io::Result<()> {
    let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); cpus];
    for round in all.chunks(round) {
        // (A short last round may leave some buffers out.)
        bufs.iter_mut().for_each(Vec::clear);
        std::thread::scope(|scope| {
            let parts: Vec<_> = round
                .chunks(round.len().div_ceil(cpus))
                .zip(bufs.iter_mut())
                .map(|(part, buf)| {
                    scope.spawn(move || part.iter().try_for_each(|s| source(buf, s, color)))
                })
                .collect();
            parts
                .into_iter()
                .try_for_each(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        })?;
        for buf in &bufs {
            out.write_all(buf)?;
        }
    }
    Ok(())
}

fn source(out: &mut impl Write, s: &SourceReport, color: bool) -> io::Result<()> {
    if color {
        write!(
            out,
            "SRC:  {}, DL: {}",
            paint(&ip(s.src), "1", color),
            paint(&s.danger_level.to_string(), dl_color(s.danger_level), color)
        )?;
    } else {
        out.s("SRC:  ")?.ip(s.src)?.s(", DL: ")?.n(s.danger_level)?;
    }
    out.s(", Dsts: ")?
        .n(s.destinations.len())?
        .s(", Pkts: ")?
        .n(s.packets)?
        .s(", Total protocols: ")?
        .n(s.protocols)?
        .s(", Unique sigs: ")?
        .n(s.unique_signatures)?
        .s("\n")?;
    // psad's layout: pf.os guesses as a list, else the posf guess; then p0f v3.
    let pfos: Vec<_> = s
        .os_guesses
        .iter()
        .filter(|g| g.method == "pf.os")
        .collect();
    let exact: Vec<_> = pfos.iter().filter(|g| !g.os.contains('@')).collect();
    let shown: Vec<_> = if exact.is_empty() {
        pfos.clone()
    } else {
        exact.into_iter().copied().collect()
    };
    if !shown.is_empty() {
        out.s("    Source OS fingerprint(s):\n")?;
        for g in shown {
            out.s("        ")?.s(&clean(g.os))?.s("\n")?;
        }
    } else if let Some(g) = s.os_guesses.iter().find(|g| g.method == "posf") {
        out.s("    Source OS fingerprint: ")?
            .s(&clean(g.os))?
            .s("\n")?;
    }
    if let Some(g) = s.os_guesses.iter().find(|g| g.method == "p0f3") {
        writeln!(
            out,
            "    p0f v3: {} ({}, {})",
            clean(g.os),
            g.quality,
            clean(g.matched)
        )?;
    }
    if !s.scan_types.is_empty() {
        out.s("    Scan types: ")?;
        for (i, k) in s.scan_types.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            out.s(sep)?.s(k.kind)?.s(" (")?;
            match (k.nmap, k.packets) {
                (_, 0) => out.evidence(&k.evidence)?,
                (Some(n), p) => out.n(p)?.s(" pkts, nmap ")?.s(n)?,
                (None, p) => out.n(p)?.s(" pkts")?,
            };
            out.s(")")?;
        }
        out.s("\n")?;
    }
    out.s("\n")?;
    for d in &s.destinations {
        out.s("    DST: ")?.ip(d.dst)?.s("\n")?;
        for c in &d.chains {
            if let Some(span) = d.ports.get(&c.protocol) {
                out.s("        Scanned ports: ")?
                    .s(&upper(&c.protocol))?
                    .s(" ")?
                    .range(span.lo, span.hi)?
                    .s(", Pkts: ")?
                    .n(c.packets)?
                    .s(", Chain: ")?
                    .s(c.chain)?
                    .s(", Intf: ")?
                    .s(&clean(c.interface))?
                    .s("\n")?;
            }
        }
        // Per (chain, interface), in order of first appearance; a handful
        // of entries, counted in place rather than gathered in a list.
        for (i, c) in d.chains.iter().enumerate() {
            let same = |x: &&ChainReport<'_>| x.chain == c.chain && x.interface == c.interface;
            if d.chains[..i].iter().any(|x| same(&x)) {
                continue;
            }
            let n = d.chains[i..].iter().filter(same).count();
            out.s("        Total scanned IP protocols: ")?
                .n(n)?
                .s(", Chain: ")?
                .s(c.chain)?
                .s(", Intf: ")?
                .s(&clean(c.interface))?
                .s("\n")?;
        }
        for f in &d.tcp_flags {
            out.s("        TCP flags: [")?
                .flags(f.flags)?
                .s(": ")?
                .n(f.packets)?
                .s(" packets")?;
            if let Some(n) = f.nmap {
                out.s(", Nmap: ")?.s(n)?;
            }
            out.s("]\n")?;
        }
        for p in &d.prefixes {
            out.s("        Log prefix: \"")?
                .s(&clean(p.prefix))?
                .s("\" (")?
                .s(p.chain)?
                .s("), ")?
                .n(p.packets)?
                .s(" packets\n")?;
        }
        for g in &d.signatures {
            out.s("        Signature match: \"")?
                .s(&clean(g.msg))?
                .s("\"\n            ")?
                .s(&upper(g.proto))?
                .s(", Chain: ")?
                .s(g.chain)?
                .s(", Count: ")?
                .n(g.count)?;
            if let Some(p) = g.dport {
                out.s(", DP: ")?.n(p)?;
            }
            if let Some(f) = &g.flags {
                out.s(", ")?.flags(*f)?;
            }
            out.s(", Sid: ")?.n(g.sid)?.s("\n")?;
        }
        for x in &d.icmp_invalid {
            let p = if x.protocol == "icmp6" {
                "ICMP6"
            } else {
                "ICMP"
            };
            match x.code {
                None => writeln!(out, "        Invalid {p} type: \"{}\" Chain: {}, Packets: {}", x.kind, x.chain, x.packets)?,
                Some(c) => writeln!(
                    out,
                    "        Invalid {p} code: \"{c}\" for {p} \"{}\" packet Chain: {}, Packets: {}",
                    x.type_name.unwrap_or("?"),
                    x.chain,
                    x.packets
                )?,
            }
        }
    }
    out.s("\n").map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::LineTotals;
    use crate::report::Report;
    use std::sync::Arc;
    use tripline_core::engine::{Engine, Rules};
    use tripline_core::{Config, ParseOptions};

    /// psad's two forms, whatever the address: the longest, IPv4-mapped,
    /// all zeros, one zero run among several.
    #[test]
    fn ipv6_reads_as_psad_prints_it() {
        for a in [
            "::",
            "::1",
            "2001:db8::1",
            "2001:db8:0:0:1:0:0:1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "::ffff:255.255.255.255",
            "fe80::abcd:ef01",
        ] {
            let v6: std::net::Ipv6Addr = a.parse().unwrap();
            let full: Vec<String> = v6.segments().iter().map(|s| format!("{s:04x}")).collect();
            let want = format!("{} ({})", full.join(":"), v6.to_string().to_uppercase());
            assert_eq!(v6_text(v6, &mut [0; V6_TEXT]), want);
            assert_eq!(ip(IpAddr::V6(v6)), want);
            let mut put = Vec::new();
            put.ip(IpAddr::V6(v6)).unwrap();
            assert_eq!(String::from_utf8(put).unwrap(), want);
        }
    }

    /// Sources rendered in rounds on several threads read as one thread's
    /// text, whatever the round and thread counts (a short last round too).
    #[test]
    fn rounds_of_sources_render_as_one_pass() {
        let mut e = Engine::new(Arc::new(Config::default()), Arc::new(Rules::default())).unwrap();
        for i in 0..150u32 {
            for port in [22, 80, 443 + i] {
                let line = format!(
                    "Nov 21 23:20:40 fw1 kernel: [ 8085.3] IN_DROP IN=wan0 OUT= \
                     SRC=198.51.100.{} DST=203.0.113.{} LEN=44 TOS=0x00 PREC=0x00 TTL=52 \
                     ID=42853 PROTO=TCP SPT=55018 DPT={port} WINDOW=1024 RES=0x00 SYN URGP=0",
                    i % 250,
                    i / 250 + 1 + i % 3,
                );
                e.handle_line(&line, &ParseOptions::default(), tripline_core::Timestamp(0));
            }
        }
        let engines = [e];
        let r = Report::build(&engines, &LineTotals::default(), &[], 0, 0, &[], &[]);
        assert!(r.sources.len() >= 150, "{}", r.sources.len());
        let mut one = Vec::new();
        for s in &r.sources {
            source(&mut one, s, false).unwrap();
        }
        for (cpus, round) in [(2, 7), (3, 64), (3, 1), (8, 1000)] {
            let mut many = Vec::new();
            rounds(&mut many, &r.sources, false, cpus, round).unwrap();
            assert!(one == many, "{cpus} threads, rounds of {round}");
        }
    }
}
