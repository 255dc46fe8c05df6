//! `[sources]` and `[daemon]`: what the daemon reads and where it keeps its
//! state. Plain data: the shell opens the sources and the files.

use serde::Deserialize;

/// Where the daemon's lines come from and where it keeps state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaemonConfig {
    /// True when the configuration chose sources (`[sources]`); otherwise the
    /// daemon picks a default (journald, a kernel log file, or /dev/kmsg).
    pub sources_set: bool,
    /// Log files to follow.
    pub files: Vec<String>,
    /// Read /dev/kmsg.
    pub kmsg: bool,
    /// Read journald's kernel messages.
    pub journal: bool,
    /// NFLOG groups to read over netlink.
    pub nflog: Vec<u16>,
    /// State directory.
    pub state_dir: Option<String>,
    /// Control socket path.
    pub socket: Option<String>,
    /// Alert stream socket path.
    pub events_socket: Option<String>,
    /// Group allowed to read the alert stream.
    pub events_group: Option<String>,
}

/// `[sources]` in tripline.toml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct SourcesSection {
    files: Option<Vec<String>>,
    kmsg: Option<bool>,
    journal: Option<bool>,
    nflog: Option<Vec<u16>>,
}

/// `[daemon]` in tripline.toml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct DaemonSection {
    state_dir: Option<String>,
    socket: Option<String>,
    events_socket: Option<String>,
    events_group: Option<String>,
}

impl DaemonConfig {
    pub(crate) fn from_sections(s: Option<&SourcesSection>, d: Option<&DaemonSection>) -> Self {
        let mut c = DaemonConfig::default();
        if let Some(s) = s {
            c.sources_set = true;
            c.files = s.files.clone().unwrap_or_default();
            c.kmsg = s.kmsg.unwrap_or(false);
            c.journal = s.journal.unwrap_or(false);
            c.nflog = s.nflog.clone().unwrap_or_default();
        }
        if let Some(d) = d {
            c.state_dir = d.state_dir.clone();
            c.socket = d.socket.clone();
            c.events_socket = d.events_socket.clone();
            c.events_group = d.events_group.clone();
        }
        c
    }
}
