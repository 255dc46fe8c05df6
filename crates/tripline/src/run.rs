//! `tripline run`: the live detector. Sources send lines as they are
//! written; each is parsed and fed to the engine at once (no polling
//! interval), and what the engine says is printed as one JSON object a line.
//!
//! This is the first step of the daemon (issue 5): state in SQLite, the
//! status socket, kmsg, journald and NFLOG sources come next.

use crate::cli::RunArgs;
use crate::settings;
use crate::sources::{self, file::Start};
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::io::Write;
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;
use tripline_core::engine::{DangerReason, Engine, Event};
use tripline_core::ParseOptions;

/// Run until every source has ended.
pub fn run(args: &RunArgs) -> Result<i32> {
    let loaded = settings::load(&args.config)?;
    for w in &loaded.warnings {
        eprintln!("tripline: warning: {}", crate::term::clean(w));
    }
    let mut engine = Engine::new(Arc::new(loaded.config), Arc::new(loaded.rules))
        .context("invalid configuration")?;
    if args.file.is_empty() && !args.stdin {
        bail!("no source: give --file PATH (repeatable) or --stdin");
    }
    let (tx, rx) = channel();
    let start = if args.from_start {
        Start::Beginning
    } else {
        Start::End
    };
    for path in &args.file {
        // A source that cannot start is reported; the others keep running.
        if let Err(e) = sources::spawn_file(path.clone(), start, tx.clone()) {
            eprintln!("tripline: error: {e:#}");
        }
    }
    if args.stdin {
        sources::spawn_stdin(tx.clone());
    }
    drop(tx);
    let stdout = std::io::stdout();
    loop {
        let now = settings::wall_clock();
        let wait = engine
            .poll_timeout()
            .map_or(Duration::from_secs(3600), |t| {
                Duration::from_micros(t.0.saturating_sub(now.0).max(0) as u64)
            });
        match rx.recv_timeout(wait) {
            Ok(line) => {
                let opts = ParseOptions {
                    now: settings::wall_clock(),
                    ..ParseOptions::default()
                };
                let _ = engine.handle_line(&line.text, &opts, opts.now);
            }
            Err(RecvTimeoutError::Timeout) => engine.handle_timeout(settings::wall_clock()),
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let mut out = stdout.lock();
        while let Some(ev) = engine.poll_event() {
            if let Some(v) = event_json(&ev) {
                writeln!(out, "{v}")?;
            }
        }
        out.flush()?;
    }
    Ok(0)
}

fn event_json(ev: &Event) -> Option<serde_json::Value> {
    Some(match ev {
        Event::DangerRaised {
            src,
            from,
            to,
            reason,
            at,
        } => json!({
            "event": "danger_raised", "src": src, "from": from, "to": to,
            "reason": reason_text(reason), "at": at.to_rfc3339(),
        }),
        Event::SignatureMatched { src, dst, sig, at } => json!({
            "event": "signature", "src": src, "dst": dst, "signature": sig, "at": at.to_rfc3339(),
        }),
        Event::OsGuessed { src, at } => {
            json!({ "event": "os_guessed", "src": src, "at": at.to_rfc3339() })
        }
        Event::ScanExpired { src, dst, at } => json!({
            "event": "scan_expired", "src": src, "dst": dst, "at": at.to_rfc3339(),
        }),
        Event::SourceSeen { .. } => return None,
    })
}

fn reason_text(r: &DangerReason) -> String {
    match r {
        DangerReason::Packets { dst, packets } => format!("{packets} packets to {dst}"),
        DangerReason::Hosts { destinations } => format!("{destinations} destinations"),
        DangerReason::Signature { sig } => format!("signature {sig}"),
        DangerReason::AutoDl => "auto_dl".into(),
        DangerReason::InvalidIcmp => "invalid ICMP type or code".into(),
        DangerReason::Trw { failures } => format!("TRW: {failures} failed first contacts"),
    }
}
