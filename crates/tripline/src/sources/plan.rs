//! Which sources the daemon reads: command-line flags, else `[sources]`,
//! else psad.conf's choice (journald or `IPT_SYSLOG_FILE`), else a default
//! that suits the machine (journald when it runs, else the first kernel log
//! file that exists, else /dev/kmsg).

use crate::cli::RunArgs;
use std::path::{Path, PathBuf};
use tripline_core::config::Config;

/// One source to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A log file, followed.
    File(PathBuf),
    /// /dev/kmsg.
    Kmsg,
    /// journald's kernel messages.
    Journal,
    /// An NFLOG group.
    Nflog(u16),
    /// Standard input.
    Stdin,
}

/// Log files tried, in order, when nothing is configured.
const KERNEL_LOGS: [&str; 3] = ["/var/log/kern.log", "/var/log/syslog", "/var/log/messages"];

/// True when journald runs on this machine.
pub fn journald_running() -> bool {
    Path::new("/run/systemd/journal/socket").exists()
}

/// The sources to start, and a sentence saying why (for the log).
pub fn plan(args: &RunArgs, cfg: &Config) -> (Vec<SourceSpec>, &'static str) {
    let mut flags: Vec<SourceSpec> = args.file.iter().cloned().map(SourceSpec::File).collect();
    if args.kmsg {
        flags.push(SourceSpec::Kmsg);
    }
    if args.journal {
        flags.push(SourceSpec::Journal);
    }
    flags.extend(args.nflog.iter().map(|&g| SourceSpec::Nflog(g)));
    if args.stdin {
        flags.push(SourceSpec::Stdin);
    }
    if !flags.is_empty() {
        return (flags, "from the command line");
    }
    let d = &cfg.daemon;
    if d.sources_set {
        let mut v: Vec<SourceSpec> = d.files.iter().map(|f| SourceSpec::File(f.into())).collect();
        if d.kmsg {
            v.push(SourceSpec::Kmsg);
        }
        if d.journal {
            v.push(SourceSpec::Journal);
        }
        v.extend(d.nflog.iter().map(|&g| SourceSpec::Nflog(g)));
        return (v, "from [sources]");
    }
    if args.config.psad_conf.is_some() {
        let yes = |k: &str| cfg.var_bool(k) == Some(true);
        if yes("ENABLE_FW_MSG_READ_CMD") || (yes("AUTO_DETECT_JOURNALCTL") && journald_running()) {
            return (vec![SourceSpec::Journal], "psad.conf: journalctl");
        }
        if yes("ENABLE_SYSLOG_FILE") {
            if let Some(f) = cfg.var("IPT_SYSLOG_FILE") {
                return (
                    vec![SourceSpec::File(f.into())],
                    "psad.conf: IPT_SYSLOG_FILE",
                );
            }
        }
    }
    if journald_running() {
        return (vec![SourceSpec::Journal], "default: journald runs");
    }
    for f in KERNEL_LOGS {
        if Path::new(f).exists() {
            return (
                vec![SourceSpec::File(f.into())],
                "default: a kernel log file",
            );
        }
    }
    (vec![SourceSpec::Kmsg], "default: /dev/kmsg")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use tripline_core::config::ConfigBuilder;

    fn run_args(argv: &[&str]) -> RunArgs {
        let mut v = vec!["tripline", "run"];
        v.extend_from_slice(argv);
        match Cli::parse_from(v).command {
            Command::Run(a) => a,
            _ => unreachable!(),
        }
    }

    fn toml(text: &str) -> Config {
        let mut b = ConfigBuilder::new();
        b.add_toml(&tripline_core::config::TomlConfig::parse("t.toml", text).unwrap());
        b.build().unwrap().config
    }

    #[test]
    fn flags_win_over_the_configuration() {
        let cfg = toml("[sources]\nkmsg = true\n");
        let (v, _) = plan(&run_args(&["--file", "/x.log", "--nflog", "5"]), &cfg);
        assert_eq!(v, [SourceSpec::File("/x.log".into()), SourceSpec::Nflog(5)]);
        let (v, why) = plan(&run_args(&[]), &cfg);
        assert_eq!(v, [SourceSpec::Kmsg]);
        assert_eq!(why, "from [sources]");
    }

    #[test]
    fn psad_conf_chooses_its_syslog_file() {
        let mut b = ConfigBuilder::new();
        b.add_psad_conf(
            "psad.conf",
            "ENABLE_SYSLOG_FILE Y;\nIPT_SYSLOG_FILE /var/log/fw.log;\nAUTO_DETECT_JOURNALCTL N;\n",
        )
        .unwrap();
        let cfg = b.build().unwrap().config;
        let (v, _) = plan(&run_args(&["--psad-conf", "/etc/psad/psad.conf"]), &cfg);
        assert_eq!(v, [SourceSpec::File("/var/log/fw.log".into())]);
    }

    #[test]
    fn the_default_is_something_that_exists() {
        let (v, _) = plan(&run_args(&[]), &Config::default());
        match &v[..] {
            [SourceSpec::Journal] => assert!(journald_running()),
            [SourceSpec::File(f)] => assert!(f.exists()),
            [SourceSpec::Kmsg] => {}
            other => panic!("{other:?}"),
        }
    }
}
