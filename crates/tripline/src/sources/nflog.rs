//! NFLOG groups over netlink (`netlink-sys` + `netlink-packet-netfilter`):
//! the kernel hands us each logged packet's bytes; the core prints them as
//! the LOG target would ([`tripline_core::parse::nflog`]) behind an ISO 8601
//! header with the wall-clock time, so the parser and engine see an
//! ordinary LOG line. No text is parsed from the kernel and no syslog is
//! involved; only the network namespace the process runs in is seen.

use super::{Cursor, Line, LineTx};
use anyhow::{bail, Context, Result};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_netfilter::nflog::{
    config_request, ConfigCmd, ConfigFlags, ConfigMode, ConfigNla, PacketNla, Timeout, ULogMessage,
};
use netlink_packet_netfilter::{NetfilterMessage, NetfilterMessageInner, NetfilterProtoFamily};
use netlink_sys::{constants::NETLINK_NETFILTER, Socket};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tripline_core::parse::nflog::{log_line, LogFlags, NflogPacket};

/// Bytes of each packet copied to us: IPv6 with extension headers, TCP with
/// full options, or an ICMP error quoting such a packet, all fit.
pub const COPY_RANGE: u32 = 512;

/// A running NFLOG source.
#[derive(Debug, Clone)]
pub struct NflogHandle {
    /// Packets the kernel dropped because we were too slow (gaps in NFLOG's
    /// per-group sequence numbers, or a socket overrun).
    pub lost: Arc<AtomicU64>,
}

/// The store's name of an NFLOG source.
pub fn nflog_origin(group: u16) -> String {
    format!("nflog:{group}")
}

/// Interface index -> name, refreshed when an unknown index shows up.
#[derive(Default)]
struct Ifnames(HashMap<u32, String>);

impl Ifnames {
    fn name(&mut self, index: u32) -> String {
        if !self.0.contains_key(&index) {
            if let Ok(list) = nix::net::if_::if_nameindex() {
                self.0 = list
                    .iter()
                    .map(|i| (i.index(), i.name().to_string_lossy().into_owned()))
                    .collect();
            }
        }
        // An interface gone already: the kernel's index is all we know.
        self.0
            .get(&index)
            .cloned()
            .unwrap_or_else(|| format!("if{index}"))
    }
}

fn request(sock: &Socket, group: u16, nlas: Vec<ConfigNla>) -> Result<()> {
    let mut msg = config_request(NetfilterProtoFamily::Unspec, group, nlas);
    msg.header.sequence_number = 1;
    msg.finalize();
    let mut buf = vec![0; msg.header.length as usize];
    msg.serialize(&mut buf);
    sock.send(&buf, 0).context("cannot send to netlink")?;
    let mut rx = vec![0u8; 8192];
    let n = sock
        .recv(&mut &mut rx[..], 0)
        .context("no answer from netlink")?;
    let reply = NetlinkMessage::<NetfilterMessage>::deserialize(&rx[..n])
        .map_err(|e| anyhow::anyhow!("bad netlink answer: {e}"))?;
    if let NetlinkPayload::Error(e) = reply.payload {
        if let Some(code) = e.code {
            let err = std::io::Error::from_raw_os_error(-code.get());
            // The kernel says EPERM both to a second reader of a group and
            // to a process without CAP_NET_ADMIN.
            if matches!(err.raw_os_error(), Some(libc::EPERM | libc::EBUSY)) {
                bail!(
                    "group {group} is already bound by another process, or CAP_NET_ADMIN is missing: {err}"
                );
            }
            return Err(err).context("the kernel refused the NFLOG configuration");
        }
    }
    Ok(())
}

/// Subscribe to NFLOG group `group` in the current network namespace.
pub fn open(group: u16) -> Result<Socket> {
    let ctx = || format!("nflog source (group {group})");
    let mut sock = Socket::new(NETLINK_NETFILTER)
        .context("cannot open a netfilter netlink socket")
        .with_context(ctx)?;
    sock.bind_auto().context("cannot bind").with_context(ctx)?;
    // A bigger buffer rides out bursts (a fast scan logs thousands a second).
    let _ = sock.set_rx_buf_sz(4 << 20);
    let timeout: Timeout = Duration::from_millis(10).into();
    request(
        &sock,
        group,
        vec![
            ConfigCmd::Bind.into(),
            ConfigMode::new_packet(COPY_RANGE).into(),
            ConfigFlags::SEQ.into(),
            ConfigNla::QThresh(1),
            timeout.into(),
        ],
    )
    .with_context(ctx)?;
    Ok(sock)
}

/// One NFLOG packet message -> its log line, or `None` for other messages.
/// `Err` carries a description of a packet that cannot be printed.
fn packet_line(
    nlas: &[PacketNla],
    names: &mut Ifnames,
    host: &str,
    last_seq: &mut Option<u32>,
    lost: &AtomicU64,
) -> Result<String, String> {
    let (mut indev, mut outdev, mut physin, mut physout) = (None, None, None, None);
    let mut pkt = NflogPacket::default();
    let (mut uid, mut gid) = (None, None);
    for nla in nlas {
        match nla {
            PacketNla::Prefix(p) => pkt.prefix = p.to_bytes(),
            PacketNla::IfIndexInDev(i) => indev = Some(names.name(*i)),
            PacketNla::IfIndexOutDev(i) => outdev = Some(names.name(*i)),
            PacketNla::IfIndexPhysInDev(i) => physin = Some(names.name(*i)),
            PacketNla::IfIndexPhysOutDev(i) => physout = Some(names.name(*i)),
            PacketNla::HwHeader(h) => pkt.hw_header = Some(h),
            PacketNla::Payload(p) => pkt.payload = p,
            PacketNla::Mark(m) => pkt.mark = Some(*m),
            PacketNla::Uid(u) => uid = Some(*u),
            PacketNla::Gid(g) => gid = Some(*g),
            PacketNla::Seq(s) => {
                if let Some(prev) = *last_seq {
                    let gap = s.wrapping_sub(prev).wrapping_sub(1);
                    if gap > 0 && gap < u32::MAX / 2 {
                        lost.fetch_add(u64::from(gap), Ordering::Relaxed);
                        eprintln!("tripline: warning: nflog source: {gap} packets lost");
                    }
                }
                *last_seq = Some(*s);
            }
            _ => {}
        }
    }
    pkt.indev = indev.as_deref();
    pkt.outdev = outdev.as_deref();
    pkt.physindev = physin.as_deref();
    pkt.physoutdev = physout.as_deref();
    pkt.uid_gid = uid.zip(gid);
    let mut out = String::new();
    log_line(
        crate::settings::wall_clock(),
        host,
        &pkt,
        LogFlags::default(),
        &mut out,
    )
    .map_err(|e| e.to_string())?;
    Ok(out)
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty() && !h.contains(char::is_whitespace))
        .unwrap_or_else(|| "localhost".into())
}

/// Read NFLOG group `group` on a thread. Origin `nflog:GROUP`, no cursor.
pub fn spawn_nflog(group: u16, tx: LineTx) -> Result<NflogHandle> {
    let sock = open(group)?;
    let lost = Arc::new(AtomicU64::new(0));
    let handle = NflogHandle { lost: lost.clone() };
    let origin: Arc<str> = nflog_origin(group).into();
    let host = hostname();
    let mut tx = tx;
    std::thread::spawn(move || {
        let mut names = Ifnames::default();
        let mut last_seq = None;
        let mut bad = 0u64;
        let mut buf = vec![0u8; 1 << 17];
        loop {
            let n = match sock.recv(&mut &mut buf[..], 0) {
                Ok(n) => n,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    // The count comes with the next sequence number.
                    eprintln!("tripline: warning: nflog source (group {group}): socket overrun");
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    eprintln!("tripline: error: nflog source (group {group}): {e}");
                    return;
                }
            };
            let mut off = 0;
            while off + 16 <= n {
                let len = u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]])
                    as usize;
                if len < 16 || off + len > n {
                    break;
                }
                let msg = NetlinkMessage::<NetfilterMessage>::deserialize(&buf[off..off + len]);
                off += (len + 3) & !3;
                let nlas = match msg {
                    Ok(NetlinkMessage {
                        payload:
                            NetlinkPayload::InnerMessage(NetfilterMessage {
                                inner: NetfilterMessageInner::ULog(ULogMessage::Packet(nlas)),
                                ..
                            }),
                        ..
                    }) => nlas,
                    Ok(_) => continue,
                    Err(e) => {
                        eprintln!("tripline: warning: nflog source (group {group}): {e}");
                        continue;
                    }
                };
                match packet_line(&nlas, &mut names, &host, &mut last_seq, &lost) {
                    Ok(text) => {
                        let line = Line {
                            text,
                            origin: origin.clone(),
                            cursor: Cursor::None,
                        };
                        if tx.send(line).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        // Packets are attacker-made: never let them flood stderr.
                        bad += 1;
                        if bad <= 10 || bad % 1000 == 0 {
                            eprintln!(
                                "tripline: warning: nflog source (group {group}): packet not printed ({bad} so far): {e}"
                            );
                        }
                    }
                }
            }
        }
    });
    Ok(handle)
}

#[cfg(test)]
mod tests;
