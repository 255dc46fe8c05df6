//! External commands, never through a shell.
//!
//! Native `[[script]]`: argv as configured. psad's `EXTERNAL_SCRIPT`: the text is split
//! into words by shell quoting rules (`shell-words`), leading `NAME=value` words become
//! environment variables, and `SRCIP`, `DSTIP`, `DANGER_LEVEL`, `SCAN_TYPE` and `PORTS`
//! are replaced inside the words as plain data (psad replaces only the first `SRCIP` and
//! runs the result with `sh -c`). Either way the alert's values are in the environment
//! (`SRCIP`, `DSTIP`, `DL`, `SCAN_TYPE`, ...), and native scripts get the alert as JSON
//! on stdin. Killed after the timeout; at most `max_running` at once.

use super::channel::{Channel, Sink};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tripline_core::alert::Alert;
use tripline_core::config::alerting::{ScriptCommand, ScriptConfig};

/// A command ready to run: environment from the template, then argv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// `NAME=value` words before the command.
    pub env: Vec<(String, String)>,
    /// Program and arguments (may hold placeholders).
    pub argv: Vec<String>,
    /// Replace placeholders inside argv.
    pub substitute: bool,
}

fn is_assignment(w: &str) -> Option<(String, String)> {
    let (name, value) = w.split_once('=')?;
    let mut b = name.bytes();
    let first_ok = b
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_');
    (first_ok && b.all(|c| c.is_ascii_alphanumeric() || c == b'_'))
        .then(|| (name.to_string(), value.to_string()))
}

/// Splits and checks a configured command.
pub fn prepare(cmd: &ScriptCommand) -> Result<Prepared> {
    match cmd {
        ScriptCommand::Argv(argv) => Ok(Prepared {
            env: Vec::new(),
            argv: argv.clone(),
            substitute: false,
        }),
        ScriptCommand::PsadTemplate(text) => {
            let words = shell_words::split(text)
                .with_context(|| format!("cannot split EXTERNAL_SCRIPT {text:?}"))?;
            let mut env = Vec::new();
            let mut rest = words.into_iter().peekable();
            while let Some(kv) = rest.peek().and_then(|w| is_assignment(w)) {
                env.push(kv);
                rest.next();
            }
            let argv: Vec<String> = rest.collect();
            if argv.is_empty() {
                bail!("EXTERNAL_SCRIPT {text:?} names no command");
            }
            Ok(Prepared {
                env,
                argv,
                substitute: true,
            })
        }
    }
}

/// The alert's values as environment variables.
pub fn alert_env(a: &Alert) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.to_string(), v);
    };
    put("SRCIP", a.src.to_string());
    put(
        "DSTIP",
        a.first_dst().map(|d| d.to_string()).unwrap_or_default(),
    );
    put("DL", a.danger_level.to_string());
    put("DANGER_LEVEL", a.danger_level.to_string());
    put("PREV_DL", a.previous_danger_level.to_string());
    put("SCAN_TYPE", a.scan_type().to_string());
    put("PORTS", a.ports_text());
    put("DESTINATIONS", a.total_destinations.to_string());
    put("PACKETS", a.packets.to_string());
    put("REASON", a.reason.clone());
    put("ALERT_KIND", a.kind.as_str().to_string());
    if let Some(b) = &a.block {
        put("BLOCK_NET", b.net.clone());
        put("BLOCK_BACKEND", b.backend.clone());
        put("BLOCK_TIMEOUT", b.timeout_secs.to_string());
        put(
            "BLOCK_DRY_RUN",
            if b.dry_run { "1" } else { "0" }.to_string(),
        );
    }
    put("ALERT_SEQ", a.seq.to_string());
    put(
        "LOG_PREFIX",
        a.prefixes
            .first()
            .map(|p| p.prefix.clone())
            .unwrap_or_default(),
    );
    put("SYSLOG_HOST", a.syslog_hostnames.join(","));
    put(
        "SIGNATURE",
        a.signatures
            .first()
            .map(|s| s.msg.clone())
            .unwrap_or_default(),
    );
    put(
        "OS_GUESS",
        a.os_guesses.first().cloned().unwrap_or_default(),
    );
    put("HOSTNAME", a.hostname.clone());
    m
}

/// Replaces the placeholders in one word (plain text replacement, no quoting games).
pub fn substitute(word: &str, vars: &BTreeMap<String, String>) -> String {
    let mut w = word.to_string();
    // Longest names first, so DANGER_LEVEL is not read as something shorter.
    for name in ["DANGER_LEVEL", "SCAN_TYPE", "SRCIP", "DSTIP", "PORTS"] {
        if w.contains(name) {
            w = w.replace(name, vars.get(name).map_or("", String::as_str));
        }
    }
    w
}

struct Script {
    cfg: ScriptConfig,
    prepared: Prepared,
}

impl Sink for Script {
    fn deliver(&mut self, a: &Alert) -> Result<()> {
        let vars = alert_env(a);
        let p = &self.prepared;
        let argv: Vec<String> = if p.substitute {
            p.argv.iter().map(|w| substitute(w, &vars)).collect()
        } else {
            p.argv.clone()
        };
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .envs(&vars)
            .envs(p.env.iter().map(|(k, v)| (k, v)))
            .envs(&self.cfg.env)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .stdin(if self.cfg.stdin_json {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot run {:?}", argv[0]))?;
        if let Some(mut stdin) = child.stdin.take() {
            let json = serde_json::to_vec(a)?;
            // A thread, so a script that does not read stdin cannot block us.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&json);
                let _ = stdin.write_all(b"\n");
            });
        }
        let deadline = Instant::now() + Duration::from_secs(self.cfg.timeout_secs);
        loop {
            if let Some(status) = child.try_wait()? {
                if status.success() {
                    return Ok(());
                }
                bail!("{:?} exited with {status}", argv[0]);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("{:?} killed after {} s", argv[0], self.cfg.timeout_secs);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Starts a script channel.
pub fn start(cfg: &ScriptConfig) -> Result<Channel> {
    let prepared = prepare(&cfg.command).with_context(|| format!("script {}", cfg.name))?;
    let c = cfg.clone();
    // psad's EXTERNAL_SCRIPT runs for scan alerts only; native scripts get block
    // notices too (ALERT_KIND, BLOCK_NET, ... in the environment).
    let psad_template = matches!(cfg.command, ScriptCommand::PsadTemplate(_));
    let ch = Channel::spawn(
        format!("script:{}", cfg.name),
        &cfg.limits,
        cfg.max_running,
        !cfg.per_alert,
        move || {
            Box::new(Script {
                cfg: c.clone(),
                prepared: prepared.clone(),
            })
        },
    );
    Ok(if psad_template { ch.scans_only() } else { ch })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psad_guide_line_splits_into_env_and_argv() {
        let p = prepare(&ScriptCommand::PsadTemplate(
            "DISPLAY=:0.0 XAUTHORITY=/home/USER/.Xauthority notify-send -t 0 -i ICON -c network \"Firewall Alert\" \"Intrusion detected from SRCIP\"".into(),
        ))
        .unwrap();
        assert_eq!(
            p.env,
            [
                ("DISPLAY".to_string(), ":0.0".to_string()),
                (
                    "XAUTHORITY".to_string(),
                    "/home/USER/.Xauthority".to_string()
                )
            ]
        );
        assert_eq!(p.argv[0], "notify-send");
        assert_eq!(p.argv[7], "Firewall Alert");
        let mut vars = BTreeMap::new();
        vars.insert("SRCIP".to_string(), "$(touch /tmp/x); rm".to_string());
        assert_eq!(
            substitute(&p.argv[8], &vars),
            "Intrusion detected from $(touch /tmp/x); rm"
        );
    }

    #[test]
    fn bad_templates_are_errors() {
        assert!(prepare(&ScriptCommand::PsadTemplate("A=1 B=2".into())).is_err());
        assert!(prepare(&ScriptCommand::PsadTemplate(
            "notify-send \"unclosed".into()
        ))
        .is_err());
    }
}
