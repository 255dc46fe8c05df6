//! A stable, human-readable text rendering of a [`Packet`], one `key=value`
//! list per line group, used by golden tests, the fuzz target and debugging.
//! Every field is printed, so two packets dump equal iff they are equal.

use super::time::format_utc;
use crate::packet::Packet;
use std::fmt::Write;
use std::net::IpAddr;

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// IPv6 addresses in the kernel's full form, so dumps match the log text.
fn addr(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v) => v.to_string(),
        IpAddr::V6(v) => {
            let s = v.segments();
            let mut out = String::with_capacity(39);
            for (i, g) in s.iter().enumerate() {
                if i > 0 {
                    out.push(':');
                }
                let _ = write!(out, "{g:04x}");
            }
            out
        }
    }
}

/// Render every field of `p`, header included, as a few stable text lines
/// (no trailing newline).
pub fn dump_packet(p: &Packet<'_>) -> String {
    let mut s = String::with_capacity(512);
    let h = &p.header;
    let _ = writeln!(
        s,
        "header: time={} host={} uptime_us={}",
        h.time.map_or_else(|| "-".to_string(), format_utc),
        h.host.unwrap_or("-"),
        opt(h.uptime_us),
    );
    let _ = writeln!(
        s,
        "if: prefix={:?} chain={} in={:?} out={:?} physin={:?} physout={:?} mac={:?} mac_dst={:?}",
        p.prefix, p.chain, p.in_if, p.out_if, p.physin, p.physout, p.mac, p.mac_dst
    );
    let _ = writeln!(
        s,
        "ip: src={} dst={} len={} tos=0x{:02x} prec=0x{:02x} ttl={} id={} flowlbl={} ce={} df={} mf={} frag={} opt={:?} v6opt_groups={}",
        addr(p.src),
        addr(p.dst),
        p.len,
        p.tos,
        p.prec,
        p.ttl,
        opt(p.ip_id),
        opt(p.flow_label),
        p.ip_flags.ce as u8,
        p.ip_flags.df as u8,
        p.ip_flags.mf as u8,
        opt(p.frag),
        p.ip_options,
        p.ipv6_opt_groups,
    );
    let _ = write!(
        s,
        "l4: proto={} spt={} dpt={} udp_len={} incomplete={} uid={} gid={} mark={}",
        p.proto,
        opt(p.sport),
        opt(p.dport),
        opt(p.udp_len),
        p.incomplete as u8,
        opt(p.uid),
        opt(p.gid),
        opt(p.mark.map(|m| format!("0x{m:x}"))),
    );
    if let Some(t) = &p.tcp {
        let _ = write!(
            s,
            "\ntcp: seq={} ack={} window={} res=0x{:02x} flags={} urgp={} opt={:?}",
            opt(t.seq),
            opt(t.ack),
            t.window,
            t.res,
            t.flags,
            t.urgp,
            t.options
        );
    }
    if let Some(i) = &p.icmp {
        let _ = write!(
            s,
            "\nicmp: type={} code={} id={} seq={} mtu={} parameter={} gateway={:?} embedded={:?}",
            i.kind,
            i.code,
            opt(i.id),
            opt(i.seq),
            opt(i.mtu),
            opt(i.parameter),
            i.gateway,
            i.embedded
        );
    }
    s
}
