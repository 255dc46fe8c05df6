//! psad's auto_dl file: per-source danger-level overrides (0 = ignore).

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

/// The auto_dl table, in evaluation order (DL 0 first, then longest prefix).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AutoDl {
    /// Entries.
    pub entries: Vec<AutoDlEntry>,
}

impl AutoDl {
    /// The decision for a packet: `Some(0)` ignore it, `Some(dl)` raise the source to `dl`,
    /// `None` no entry applies. `current_dl` is the source's DL so far.
    pub fn lookup(
        &self,
        _src: IpAddr,
        _proto: Proto,
        _dport: Option<u16>,
        _current_dl: u8,
    ) -> Option<u8> {
        None
    }
}
