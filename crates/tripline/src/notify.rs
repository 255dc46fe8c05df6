//! `tripline notify`: the per-user desktop agent.
//!
//! The daemon runs as root and has no business on a user's display. This agent runs in
//! the user's session (systemd user unit `dist/tripline-notify.service`), reads the
//! daemon's event socket (one JSON object a line, `{"type":"alert","alert":{...}}`) and
//! shows each alert through the freedesktop Notifications D-Bus API on the session bus:
//! title "Firewall Alert", body with source, danger level, scan type and ports, urgency
//! from the danger level, an icon, and a "Details" action. It reconnects with backoff
//! when the daemon restarts.

use crate::cli::NotifyArgs;
use crate::settings;
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tripline_core::alert::{text, Alert};
use zbus::blocking::{Connection, MessageIterator};
use zbus::zvariant::Value;

const DEST: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";

/// Freedesktop urgency: 0 low, 1 normal, 2 critical.
pub fn urgency(dl: u8) -> u8 {
    match dl {
        0..=1 => 0,
        2..=3 => 1,
        _ => 2,
    }
}

fn icon(dl: u8) -> &'static str {
    match dl {
        0..=1 => "security-low",
        2..=3 => "security-medium",
        _ => "security-high",
    }
}

/// Notification servers may read the body as markup: escape it.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The pop-up body.
pub fn body(a: &Alert) -> String {
    // Block notices (blocked, unblocked, cap reached): one sentence says it all.
    if a.kind.is_block() {
        return escape(&text::summary(a));
    }
    let mut lines = vec![format!("Intrusion detected from {}", a.src)];
    lines.push(
        if a.previous_danger_level > 0 && a.previous_danger_level != a.danger_level {
            format!(
                "Danger level: {} (was {})",
                a.danger_level, a.previous_danger_level
            )
        } else {
            format!("Danger level: {}", a.danger_level)
        },
    );
    let nmap = a
        .scan_types
        .iter()
        .find(|t| t.kind == a.scan_type())
        .and_then(|t| t.nmap.as_deref())
        .map_or(String::new(), |n| format!(" (nmap {n})"));
    lines.push(format!("Scan type: {}{nmap}", a.scan_type()));
    let ports = a.ports_text();
    if !ports.is_empty() {
        lines.push(format!("Ports: {ports}"));
    }
    if let Some(d) = a.first_dst() {
        let more = a.total_destinations.saturating_sub(1);
        lines.push(if more > 0 {
            format!("Target: {d} (+{more} more)")
        } else {
            format!("Target: {d}")
        });
    }
    if let Some(s) = a.signatures.first() {
        lines.push(format!("Signature: {}", s.msg));
    }
    escape(&lines.join("\n"))
}

/// Shows one alert; returns the notification id.
fn show(conn: &Connection, a: &Alert) -> Result<u32> {
    let mut hints: HashMap<&str, Value<'_>> = HashMap::new();
    hints.insert("urgency", Value::U8(urgency(a.danger_level)));
    hints.insert("category", Value::from("network"));
    let actions = vec!["default", "Details", "details", "Details"];
    let title = if a.kind.is_block() {
        text::title(a)
    } else {
        "Firewall Alert".to_string()
    };
    let reply = conn.call_method(
        Some(DEST),
        PATH,
        Some(DEST),
        "Notify",
        &(
            "Tripline",
            0u32,
            icon(a.danger_level),
            title.as_str(),
            body(a),
            actions,
            hints,
            -1i32,
        ),
    )?;
    Ok(reply.body().deserialize::<u32>()?)
}

/// Opens the dashboard, or prints the alert's details, when the user clicks.
fn listen_for_actions(
    conn: Connection,
    details: Arc<Mutex<HashMap<u32, String>>>,
    url: Option<String>,
) {
    let rule = match zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(DEST)
        .and_then(|b| b.member("ActionInvoked"))
    {
        Ok(b) => b.build(),
        Err(e) => {
            eprintln!("tripline notify: cannot watch actions: {e}");
            return;
        }
    };
    let Ok(iter) = MessageIterator::for_match_rule(rule, &conn, Some(64)) else {
        return;
    };
    for msg in iter.flatten() {
        let Ok((id, action)) = msg.body().deserialize::<(u32, String)>() else {
            continue;
        };
        if action != "details" && action != "default" {
            continue;
        }
        let text = details.lock().ok().and_then(|d| d.get(&id).cloned());
        match (&url, text) {
            (Some(u), _) => {
                // argv only: the URL comes from the admin's config, still no shell.
                if let Err(e) = Command::new("xdg-open").arg(u).spawn() {
                    eprintln!("tripline notify: xdg-open: {e}");
                }
            }
            (None, Some(t)) => println!("{}", crate::term::clean(&t)),
            (None, None) => {}
        }
    }
}

/// Reads alerts from one connection until it closes.
fn serve(
    stream: UnixStream,
    conn: &Connection,
    min_dl: u8,
    details: &Mutex<HashMap<u32, String>>,
) -> Result<()> {
    for line in BufReader::new(stream).lines() {
        let line = line?;
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            eprintln!("tripline notify: ignoring a line that is not JSON");
            continue;
        };
        if v["type"] != "alert" {
            continue;
        }
        let a: Alert = match serde_json::from_value(v["alert"].clone()) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("tripline notify: bad alert: {e}");
                continue;
            }
        };
        if a.danger_level < min_dl {
            continue;
        }
        match show(conn, &a) {
            Ok(id) => {
                if let Ok(mut d) = details.lock() {
                    if d.len() > 256 {
                        d.clear();
                    }
                    d.insert(id, text::email_body(&a));
                }
            }
            Err(e) => eprintln!("tripline notify: cannot show notification: {e}"),
        }
    }
    Ok(())
}

/// Runs until killed.
pub fn run(args: &NotifyArgs) -> Result<i32> {
    let loaded = settings::load(&args.config)?;
    let n = &loaded.config.alerting.notify;
    let socket = args
        .events_socket
        .clone()
        .unwrap_or_else(|| PathBuf::from(&n.socket));
    let url = args.dashboard_url.clone().or(n.dashboard_url.clone());
    let min_dl = args.min_dl.unwrap_or(n.min_dl);
    let conn = Connection::session().context("cannot connect to the session D-Bus")?;
    let details = Arc::new(Mutex::new(HashMap::new()));
    {
        let (c, d) = (conn.clone(), details.clone());
        std::thread::spawn(move || listen_for_actions(c, d, url));
    }
    let mut backoff = Duration::from_millis(100);
    let mut said = false;
    loop {
        match UnixStream::connect(&socket) {
            Ok(s) => {
                backoff = Duration::from_millis(100);
                said = false;
                if let Err(e) = serve(s, &conn, min_dl, &details) {
                    eprintln!("tripline notify: {e:#}");
                }
            }
            Err(e) => {
                if !said {
                    eprintln!("tripline notify: waiting for {}: {e}", socket.display());
                    said = true;
                }
            }
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}
