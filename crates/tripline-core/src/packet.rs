//! `Packet`: one firewall log record, typed, borrowing its text from the line.
//!
//! The parser fills a `Packet` without allocating: every text field is a slice
//! of the input line. Absent numeric fields are `None`.

use std::fmt;
use std::net::IpAddr;

/// Microseconds since the Unix epoch, UTC. The core never reads a clock:
/// every `Timestamp` comes from a log line or from the caller.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// A timestamp from whole seconds since the epoch.
    pub const fn from_secs(secs: i64) -> Self {
        Timestamp(secs * 1_000_000)
    }
    /// Whole seconds since the epoch (floor).
    pub const fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }
    /// RFC 3339 text, UTC, whole seconds (`2026-11-21T23:20:40Z`).
    pub fn to_rfc3339(self) -> String {
        let secs = self.secs();
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (y, m, d) = crate::parse::time::civil_from_days(days);
        let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
        if !(0..=9999).contains(&y) {
            return format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z");
        }
        // Digits written in place: a report formats three of these per
        // destination, and `format!` was a fifth of building it.
        let mut b = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, v: i64, width: usize| {
            let mut v = v;
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, y, 4);
        put(5, i64::from(m), 2);
        put(8, i64::from(d), 2);
        put(11, hh, 2);
        put(14, mm, 2);
        put(17, ss, 2);
        // (ASCII: one copy, not a push per character.)
        String::from_utf8_lossy(&b).into_owned()
    }
}

/// The IP protocol of a packet, as psad names it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Proto {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// UDP-Lite (136).
    UdpLite,
    /// ICMP (1).
    Icmp,
    /// ICMPv6 (58).
    Icmp6,
    /// Any other protocol, logged by number (or by a name the parser mapped to a number).
    Other(u8),
}

impl Proto {
    /// The IANA protocol number.
    pub fn number(self) -> u8 {
        match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
            Proto::UdpLite => 136,
            Proto::Icmp => 1,
            Proto::Icmp6 => 58,
            Proto::Other(n) => n,
        }
    }
    /// The protocol for an IANA number.
    pub fn from_number(n: u8) -> Proto {
        match n {
            6 => Proto::Tcp,
            17 => Proto::Udp,
            136 => Proto::UdpLite,
            1 => Proto::Icmp,
            58 => Proto::Icmp6,
            n => Proto::Other(n),
        }
    }
    /// Whether dst ports of this protocol count towards port ranges (tcp, udp, udplite).
    pub fn has_ports(self) -> bool {
        matches!(self, Proto::Tcp | Proto::Udp | Proto::UdpLite)
    }
    /// The name [`Display`](fmt::Display) prints, without an allocation
    /// for the named protocols.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self {
            Proto::Tcp => "tcp".into(),
            Proto::Udp => "udp".into(),
            Proto::UdpLite => "udplite".into(),
            Proto::Icmp => "icmp".into(),
            Proto::Icmp6 => "icmp6".into(),
            Proto::Other(n) => n.to_string().into(),
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proto::Other(n) => write!(f, "{n}"),
            named => f.write_str(&named.name()),
        }
    }
}

/// The netfilter hook a line was logged in, derived from `IN=`/`OUT=` as psad does.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Chain {
    /// `IN=x OUT=` (empty OUT).
    Input,
    /// `IN=x OUT=y`.
    Forward,
    /// `IN= OUT=y` (empty IN).
    Output,
}

impl Chain {
    /// psad's upper-case chain name.
    pub fn as_str(self) -> &'static str {
        match self {
            Chain::Input => "INPUT",
            Chain::Forward => "FORWARD",
            Chain::Output => "OUTPUT",
        }
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// TCP flags as a bit set. Bit order follows the kernel's print order
/// (`CWR ECE URG ACK PSH RST SYN FIN`), i.e. the on-wire flag bits.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
    /// ECE.
    pub const ECE: u8 = 0x40;
    /// CWR.
    pub const CWR: u8 = 0x80;
    /// Names in the kernel's print order, with their bits.
    pub const NAMES: [(&'static str, u8); 8] = [
        ("CWR", Self::CWR),
        ("ECE", Self::ECE),
        ("URG", Self::URG),
        ("ACK", Self::ACK),
        ("PSH", Self::PSH),
        ("RST", Self::RST),
        ("SYN", Self::SYN),
        ("FIN", Self::FIN),
    ];
    /// True when every bit of `bits` is set.
    pub fn has(self, bits: u8) -> bool {
        self.0 & bits == bits
    }
    /// True when no flag is set (psad's `NULL`).
    pub fn is_null(self) -> bool {
        self.0 == 0
    }
}

impl TcpFlags {
    /// The kernel's flag names in its order (`URG`, `PSH`, `FIN`), or `NULL`
    /// alone when no flag is set, as psad keeps it.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        let null = self.is_null().then_some("NULL");
        let set = Self::NAMES
            .into_iter()
            .filter(move |&(_, bit)| self.0 & bit != 0);
        null.into_iter().chain(set.map(|(name, _)| name))
    }
}

impl fmt::Display for TcpFlags {
    /// The [`TcpFlags::names`], space-separated (`URG PSH FIN`, `NULL`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.names().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

/// Where a line's header came from, and what it said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header<'a> {
    /// Wall-clock time of the record, when the header carries one.
    pub time: Option<Timestamp>,
    /// Syslog hostname (`fw1`), journal `_HOSTNAME`, or `None`.
    pub host: Option<&'a str>,
    /// Kernel uptime stamp `[ 8085.236687]` in microseconds, when present.
    pub uptime_us: Option<u64>,
}

/// TCP header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tcp<'a> {
    /// `SEQ=` (with `--log-tcp-sequence` / nft `flags all`).
    pub seq: Option<u32>,
    /// `ACK=` number.
    pub ack: Option<u32>,
    /// `WINDOW=`.
    pub window: u16,
    /// `RES=0x..` reserved bits.
    pub res: u8,
    /// The flag words between `RES=` and `URGP=`.
    pub flags: TcpFlags,
    /// `URGP=`.
    pub urgp: u16,
    /// Hex text inside the TCP `OPT (...)` after `URGP=`, empty if absent.
    pub options: &'a str,
}

/// ICMP / ICMPv6 header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Icmp<'a> {
    /// `TYPE=`.
    pub kind: u8,
    /// `CODE=`.
    pub code: u8,
    /// `ID=` (echo, timestamp, ...).
    pub id: Option<u16>,
    /// `SEQ=`.
    pub seq: Option<u16>,
    /// `MTU=` (frag needed / packet too big).
    pub mtu: Option<u32>,
    /// `PARAMETER=` (parameter problem).
    pub parameter: Option<u32>,
    /// `GATEWAY=` (redirect), raw text.
    pub gateway: &'a str,
    /// The quoted packet inside `[...]` of ICMP errors, raw text without brackets.
    pub embedded: &'a str,
}

/// IPv4 header flag bits printed by the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpFlags {
    /// `CE` (congestion experienced / evil bit slot).
    pub ce: bool,
    /// `DF`.
    pub df: bool,
    /// `MF`.
    pub mf: bool,
}

/// One firewall log record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Line header (time, host).
    pub header: Header<'a>,
    /// Log prefix, trimmed; empty when the rule set none.
    pub prefix: &'a str,
    /// `IN=` interface (may be empty).
    pub in_if: &'a str,
    /// `OUT=` interface (may be empty).
    pub out_if: &'a str,
    /// `PHYSIN=` (bridges), empty if absent.
    pub physin: &'a str,
    /// `PHYSOUT=`, empty if absent.
    pub physout: &'a str,
    /// `MAC=` raw value (iptables), or `MACSRC=` for nftables; empty if absent.
    pub mac: &'a str,
    /// `MACDST=` (nftables), empty if absent.
    pub mac_dst: &'a str,
    /// Chain derived from IN/OUT.
    pub chain: Chain,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP `LEN=` (IPv4 total length, IPv6 payload+header as the kernel prints).
    pub len: u32,
    /// IPv4 `TOS=`, or IPv6 `TC=`.
    pub tos: u8,
    /// IPv4 `PREC=`.
    pub prec: u8,
    /// IPv4 `TTL=` or IPv6 `HOPLIMIT=`.
    pub ttl: u8,
    /// IPv4 `ID=` (IPv6: fragment header id when logged).
    pub ip_id: Option<u32>,
    /// IPv6 `FLOWLBL=`.
    pub flow_label: Option<u32>,
    /// IPv4 flag bits.
    pub ip_flags: IpFlags,
    /// `FRAG:n` fragment offset (in 8-byte units), when logged.
    pub frag: Option<u16>,
    /// Hex text of IP options `OPT (...)` before `PROTO=`, empty if absent.
    pub ip_options: &'a str,
    /// Count of consecutive IPv6 extension-header `OPT ( )` groups (Topera marker).
    pub ipv6_opt_groups: u8,
    /// Protocol.
    pub proto: Proto,
    /// `SPT=`.
    pub sport: Option<u16>,
    /// `DPT=`.
    pub dport: Option<u16>,
    /// TCP fields, for TCP lines that carry them.
    pub tcp: Option<Tcp<'a>>,
    /// UDP `LEN=`.
    pub udp_len: Option<u32>,
    /// ICMP / ICMPv6 fields.
    pub icmp: Option<Icmp<'a>>,
    /// `INCOMPLETE [n bytes]`: the kernel could not print the L4 header (fragments).
    pub incomplete: bool,
    /// `UID=` (`--log-uid`).
    pub uid: Option<u32>,
    /// `GID=`.
    pub gid: Option<u32>,
    /// `MARK=0x..`.
    pub mark: Option<u32>,
}

impl Packet<'_> {
    /// True for IPv6 packets.
    pub fn is_ipv6(&self) -> bool {
        self.src.is_ipv6()
    }
    /// The interface psad attributes the packet to: IN, or OUT for OUTPUT lines.
    pub fn interface(&self) -> &str {
        match self.chain {
            Chain::Output => self.out_if,
            _ => self.in_if,
        }
    }
    /// TCP flags, empty for non-TCP packets.
    pub fn tcp_flags(&self) -> TcpFlags {
        self.tcp.map(|t| t.flags).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::{Proto, TcpFlags, Timestamp};

    /// The kernel's order whatever the bits' order, and NULL only alone.
    #[test]
    fn flag_names_in_the_kernels_order() {
        let names = |f: u8| TcpFlags(f).names().collect::<Vec<_>>().join(" ");
        assert_eq!(names(0), "NULL");
        assert_eq!(
            names(TcpFlags::FIN | TcpFlags::URG | TcpFlags::PSH),
            "URG PSH FIN"
        );
        assert_eq!(names(0xff), "CWR ECE URG ACK PSH RST SYN FIN");
        assert_eq!(
            TcpFlags(TcpFlags::SYN | TcpFlags::ACK).to_string(),
            "ACK SYN"
        );
    }

    /// The in-place digits agree with `format!` on every field boundary,
    /// and years outside 0..=9999 keep `format!`'s text.
    #[test]
    fn rfc3339_digits_agree_with_format() {
        let reference = |t: Timestamp| {
            let secs = t.secs();
            let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
            let (y, m, d) = crate::parse::time::civil_from_days(days);
            format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
                rem / 3600,
                rem % 3600 / 60,
                rem % 60
            )
        };
        let mut secs: Vec<i64> = vec![
            0,
            -1,
            59,
            3599,
            86_399,
            951_782_400,
            1_795_303_240,
            253_402_300_799, // 9999-12-31T23:59:59Z
            253_402_300_800, // 10000-01-01
            -62_167_219_200, // 0000-01-01
            -62_167_219_201, // year -1
            i64::MAX / 1_000_000,
            i64::MIN / 1_000_000,
        ];
        secs.extend((0..2000).map(|i| i * 7_919_993 - 3_000_000_000));
        for s in secs {
            let t = Timestamp::from_secs(s);
            assert_eq!(t.to_rfc3339(), reference(t), "{s}");
        }
        assert_eq!(
            Timestamp::from_secs(1_795_303_240).to_rfc3339(),
            "2026-11-21T23:20:40Z"
        );
    }

    #[test]
    fn proto_names_are_what_display_prints() {
        for n in 0..=255u8 {
            let p = Proto::from_number(n);
            assert_eq!(p.name(), p.to_string(), "{n}");
        }
    }
}
