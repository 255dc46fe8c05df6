//! Every subcommand and flag, defined once (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::IpAddr;
use std::path::PathBuf;

/// Tripline: detect port scans and probes in firewall logs (a faster psad).
#[derive(Debug, Parser)]
#[command(name = "tripline", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse firewall log files offline, like `psad -A`.
    Analyze(AnalyzeArgs),
    /// Watch firewall logs live (the daemon): detect, keep state, serve status.
    Run(RunArgs),
    /// Show what the daemon knows (psad -S): from the running daemon, else from its saved state.
    Status(StatusArgs),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    // --- active response (issue 7) ---
    /// Block an address or network in the kernel (and record it).
    Block(BlockArgs),
    /// Lift a block.
    Unblock(UnblockArgs),
    /// List the current blocks with expiry and reason.
    Blocks(BlocksArgs),
    /// Remove every table, chain, set and rule Tripline added, and all recorded blocks.
    Flush(RespondArgs),
    /// Check that the firewall logs the packets it drops (iptables and nftables).
    FwCheck(RespondArgs),
    /// Desktop agent: show the daemon's alerts as pop-ups on this user's session bus.
    Notify(NotifyArgs),
}

/// `tripline notify`.
#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// Configuration sources (for `[notify]`).
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The daemon's event socket (default: `[notify] socket`, /run/tripline/events.sock).
    #[arg(long, value_name = "PATH")]
    pub events_socket: Option<PathBuf>,
    /// URL the "Details" action opens with xdg-open (default: `[notify] dashboard-url`;
    /// without one, details are printed on standard output).
    #[arg(long, value_name = "URL")]
    pub dashboard_url: Option<String>,
    /// Show only alerts at or above this danger level.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=5))]
    pub min_dl: Option<u8>,
}

/// Kernel mechanism for blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// Tripline's own nftables table with timeout sets.
    Nftables,
    /// psad-compatible iptables/ip6tables chains.
    Iptables,
    /// ipset hash:net sets matched by iptables rules.
    Ipset,
}

/// Shared by the blocking commands.
#[derive(Debug, Args)]
pub struct RespondArgs {
    /// Configuration sources.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Backend (default: the configured one; auto = nftables where `nft` exists).
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    /// Directory of the state database (tripline.db) [default: `[daemon] state-dir`, else /var/lib/tripline].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// `tripline block`.
#[derive(Debug, Args)]
pub struct BlockArgs {
    /// Addresses or networks (CIDR); all go in as one batch.
    #[arg(value_name = "ADDR|CIDR", required_unless_present = "file")]
    pub targets: Vec<String>,
    /// Also read targets from this file, one a line (`#` comments).
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// How long (seconds or e.g. 90s, 30m, 1h30m, 2d; 0 = until unblocked).
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: Option<String>,
    /// Backend, configuration and state directory.
    #[command(flatten)]
    pub common: RespondArgs,
}

/// `tripline unblock`.
#[derive(Debug, Args)]
pub struct UnblockArgs {
    /// Address or network (CIDR) as blocked.
    #[arg(value_name = "ADDR|CIDR")]
    pub target: String,
    /// Backend, configuration and state directory.
    #[command(flatten)]
    pub common: RespondArgs,
}

/// `tripline blocks`.
#[derive(Debug, Args)]
pub struct BlocksArgs {
    /// Configuration (for `[daemon] state-dir`).
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Directory of the state database (tripline.db) [default: `[daemon] state-dir`, else /var/lib/tripline].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// One JSON array.
    #[arg(long)]
    pub json: bool,
}

/// `tripline config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration.
    Dump(ConfigArgs),
    /// Load every configured file and report errors and warnings.
    Check(ConfigArgs),
}

/// Where the configuration comes from (shared by every command).
#[derive(Debug, Args, Clone, Default)]
pub struct ConfigArgs {
    /// Tripline's TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A psad.conf to read (psad's `KEY value;` format).
    #[arg(long, value_name = "FILE")]
    pub psad_conf: Option<PathBuf>,
    /// A signatures file in psad's format (default: Tripline's built-in set).
    #[arg(long, value_name = "FILE")]
    pub signatures: Option<PathBuf>,
    /// An auto_dl file in psad's format.
    #[arg(long, value_name = "FILE")]
    pub auto_dl: Option<PathBuf>,
    /// A p0f v3 database for OS guesses (default: /etc/p0f/p0f.fp when present).
    #[arg(long, value_name = "FILE")]
    pub p0f_db: Option<PathBuf>,
    /// Reproduce psad 2.4.6's quirks (see docs/psad-compat.md).
    #[arg(long)]
    pub psad_compat: bool,
    /// Do not match signatures.
    #[arg(long)]
    pub no_signatures: bool,
    /// Do not validate ICMP and ICMPv6 types and codes.
    #[arg(long)]
    pub no_icmp_types: bool,
}

/// `tripline run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Configuration sources.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// A log file to follow (repeatable); rotation by rename and copytruncate is followed.
    #[arg(long, value_name = "PATH")]
    pub file: Vec<PathBuf>,
    /// Read lines from standard input.
    #[arg(long)]
    pub stdin: bool,
    /// Read files from their beginning instead of their end (when no position is saved).
    #[arg(long)]
    pub from_start: bool,
    /// Where the state database lives [default: /var/lib/tripline].
    #[command(flatten)]
    pub daemon: DaemonPaths,
    /// Group allowed to read the alert stream (events socket), e.g. for `tripline notify`.
    #[arg(long, value_name = "GROUP")]
    pub events_group: Option<String>,
    /// Do not print events on standard output.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Read the kernel log ring buffer (/dev/kmsg), from its end.
    #[arg(long)]
    pub kmsg: bool,
    /// Follow journald's kernel messages (`journalctl -k -f`), from now on.
    #[arg(long)]
    pub journal: bool,
    /// Read packets logged to this NFLOG group over netlink (repeatable;
    /// iptables `-j NFLOG --nflog-group N`, nft `log group N`).
    #[arg(long, value_name = "GROUP")]
    pub nflog: Vec<u16>,
    /// Blocking backend (default: the configured one; issue 7).
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
}

/// Where the daemon keeps its state and sockets (shared by `run` and `status`).
#[derive(Debug, Args, Clone, Default)]
pub struct DaemonPaths {
    /// State directory (database; also the sockets' default place when given).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Control socket [default: STATE_DIR/tripline.sock with --state-dir, else /run/tripline/tripline.sock].
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Alert stream socket [default: next to the control socket, events.sock].
    #[arg(long, value_name = "PATH")]
    pub events_socket: Option<PathBuf>,
}

/// `tripline status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Configuration (used to read saved state when no daemon runs).
    #[command(flatten)]
    pub config: ConfigArgs,
    /// State and sockets.
    #[command(flatten)]
    pub daemon: DaemonPaths,
    /// Only these sources (repeatable).
    #[arg(long, value_name = "ADDR")]
    pub ip: Vec<IpAddr>,
    /// Only sources at or above this danger level [default: MIN_DANGER_LEVEL].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=5))]
    pub min_dl: Option<u8>,
    /// Only the summary tables, no per-source detail.
    #[arg(long)]
    pub summary: bool,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Output format of reading commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// psad-style text report.
    Text,
    /// One JSON document.
    Json,
    /// One CSV row per accepted packet.
    Csv,
}

/// When to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `tripline analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Log files to read in order (`-` = stdin; `.gz` is decompressed).
    #[arg(value_name = "FILE", default_value = "-")]
    pub files: Vec<PathBuf>,
    /// Configuration sources.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Shorthand for `--format json`.
    #[arg(long, conflicts_with_all = ["format", "csv"])]
    pub json: bool,
    /// Shorthand for `--format csv`.
    #[arg(long, conflicts_with = "format")]
    pub csv: bool,
    /// CSV columns (psad's packet field names, comma or space separated).
    #[arg(long, value_name = "FIELDS")]
    pub csv_fields: Option<String>,
    /// Report only this source (may be repeated).
    #[arg(long, value_name = "ADDR")]
    pub ip: Vec<IpAddr>,
    /// Report only sources at or above this danger level (default: MIN_DANGER_LEVEL).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=5))]
    pub min_dl: Option<u8>,
    /// Print only the summary sections, not the per-source detail.
    #[arg(long)]
    pub summary: bool,
    /// How many malformed lines to show.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub show_malformed: usize,
    /// Colour.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Worker threads, each tracking its share of the sources (default: one
    /// per CPU, at most 8; psad-compat and CSV runs use one).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Read plain files with read(2) instead of mapping them (a mapped file
    /// that shrinks while it is read, as copytruncate does, stops the run).
    #[arg(long)]
    pub no_mmap: bool,
}

impl AnalyzeArgs {
    /// The effective output format.
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else if self.csv {
            Format::Csv
        } else {
            self.format
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyze_flags_parse() {
        let cli = Cli::try_parse_from([
            "tripline", "analyze", "--json", "--min-dl", "2", "a.log", "b.log.gz",
        ])
        .unwrap();
        let Command::Analyze(a) = cli.command else {
            panic!("not analyze")
        };
        assert_eq!(a.format(), Format::Json);
        assert_eq!(a.min_dl, Some(2));
        assert_eq!(a.files.len(), 2);
        assert!(Cli::try_parse_from(["tripline", "analyze", "--min-dl", "6"]).is_err());
    }

    #[test]
    fn live_source_flags_parse() {
        let cli = Cli::try_parse_from([
            "tripline",
            "run",
            "--kmsg",
            "--journal",
            "--nflog",
            "5",
            "--nflog",
            "6",
        ])
        .unwrap();
        let Command::Run(r) = cli.command else {
            panic!("not run")
        };
        assert!(r.kmsg && r.journal);
        assert_eq!(r.nflog, [5, 6]);
        assert!(Cli::try_parse_from(["tripline", "run", "--nflog", "70000"]).is_err());
    }
}
