//! The kernel's notice of a ruleset change: nf_tables announces every change
//! (`nft`, iptables-nft, `nft flush ruleset` in a reload) on the
//! `NFNLGRP_NFTABLES` netlink group, as `nft monitor` shows. The daemon checks
//! its objects on each notice instead of waiting for the periodic check, so a
//! reload leaves its blocks out for the time of one `nft list`, not seconds.
//!
//! The messages are not decoded: any one means "something changed", and the
//! check that follows finds out what. Changes nf_tables does not see
//! (iptables-legacy, `ipset flush`) are left to the periodic check.

use anyhow::{Context, Result};
use netlink_sys::{constants::NETLINK_NETFILTER, Socket};

/// `NFNLGRP_NFTABLES` (linux/netfilter/nfnetlink.h).
const NFNLGRP_NFTABLES: u32 = 7;

/// Call `changed` on each batch of ruleset changes, from a thread, until it
/// returns false. Fails when the group cannot be joined (no nf_tables, or no
/// CAP_NET_ADMIN); the periodic check then does the work alone.
pub fn spawn(changed: impl Fn() -> bool + Send + 'static) -> Result<()> {
    let mut sock = Socket::new(NETLINK_NETFILTER).context("netlink socket")?;
    sock.bind_auto().context("netlink bind")?;
    sock.add_membership(NFNLGRP_NFTABLES)
        .context("joining the nf_tables notification group")?;
    std::thread::Builder::new()
        .name("ruleset-watch".into())
        .spawn(move || {
            let mut buf = vec![0u8; 64 << 10];
            loop {
                let notice = match sock.recv(&mut &mut buf[..], 0) {
                    Ok(_) => true,
                    // A full socket buffer lost notices: also a change.
                    Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => true,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => false,
                    Err(_) => return,
                };
                if notice && !changed() {
                    return;
                }
            }
        })
        .context("starting the ruleset watch")?;
    Ok(())
}
