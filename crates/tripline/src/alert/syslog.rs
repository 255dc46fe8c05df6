//! Syslog alerts: psad's "scan detected" and signature lines (spec §5.4) as datagrams to
//! the local syslog socket (`/dev/log`), with the configured facility and priority.
//!
//! The message is `<PRI>IDENT[PID]: TEXT` (RFC 3164 without a timestamp: the syslog
//! daemon stamps it on receipt, in its own time zone).

use super::channel::{Channel, Sink};
use anyhow::{Context, Result};
use std::os::unix::net::UnixDatagram;
use tripline_core::alert::{text, Alert};
use tripline_core::config::alerting::SyslogConfig;

struct Syslog {
    cfg: SyslogConfig,
    sock: Option<UnixDatagram>,
}

/// The datagram for one line.
pub fn datagram(cfg: &SyslogConfig, line: &str) -> String {
    let pri = u16::from(cfg.facility) * 8 + u16::from(cfg.priority);
    // A syslog line is one line: control characters from log text become spaces.
    let clean: String = line
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("<{pri}>{}[{}]: {clean}", cfg.identity, std::process::id())
}

impl Sink for Syslog {
    fn deliver(&mut self, a: &Alert) -> Result<()> {
        let mut lines = vec![text::syslog_line(a)];
        lines.extend(text::syslog_signature_lines(a, self.cfg.signature_lines));
        if self.sock.is_none() {
            self.sock = Some(UnixDatagram::unbound().context("cannot create a socket")?);
        }
        let Some(sock) = &self.sock else {
            return Ok(());
        };
        for l in lines {
            sock.send_to(datagram(&self.cfg, &l).as_bytes(), &self.cfg.socket)
                .with_context(|| format!("cannot send to {}", self.cfg.socket))?;
        }
        Ok(())
    }
}

/// Starts the syslog channel.
pub fn start(cfg: &SyslogConfig) -> Result<Channel> {
    let c = cfg.clone();
    Ok(Channel::spawn(
        "syslog".into(),
        &cfg.limits,
        1,
        false,
        move || {
            Box::new(Syslog {
                cfg: c.clone(),
                sock: None,
            })
        },
    ))
}
