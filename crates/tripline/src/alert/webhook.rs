//! Webhooks: the alert as JSON, or ready-made ntfy, Slack, Matrix and Discord messages.
//! A failed delivery (connection error, 5xx, 429) is retried with exponential backoff on
//! the webhook's own thread, so it never delays another channel.

use super::channel::{Channel, Sink};
use anyhow::{anyhow, bail, Result};
use std::time::Duration;
use tripline_core::alert::{text, Alert};
use tripline_core::config::alerting::{AlertingConfig, WebhookConfig, WebhookFormat};

/// The longest backoff between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

struct Webhook {
    cfg: WebhookConfig,
    agent: ureq::Agent,
}

/// ntfy priority (1 min .. 5 max) from the danger level.
fn ntfy_priority(dl: u8) -> &'static str {
    match dl {
        0..=1 => "2",
        2..=3 => "3",
        4 => "4",
        _ => "5",
    }
}

/// One HTTP request: method, URL, content type, extra headers, body.
pub type Request = (
    &'static str,
    String,
    &'static str,
    Vec<(String, String)>,
    Vec<u8>,
);

/// The request that delivers `a` in the webhook's format.
pub fn request(cfg: &WebhookConfig, a: &Alert) -> Result<Request> {
    let summary = text::summary(a);
    let title = text::title(a);
    let json = "application/json";
    Ok(match cfg.format {
        WebhookFormat::Json => (
            "POST",
            cfg.url.clone(),
            json,
            vec![],
            serde_json::to_vec(a)?,
        ),
        WebhookFormat::Ntfy => (
            "POST",
            cfg.url.clone(),
            "text/plain; charset=utf-8",
            vec![
                ("Title".into(), title),
                ("Priority".into(), ntfy_priority(a.danger_level).into()),
                ("Tags".into(), "rotating_light".into()),
            ],
            summary.into_bytes(),
        ),
        WebhookFormat::Slack => (
            "POST",
            cfg.url.clone(),
            json,
            vec![],
            serde_json::to_vec(&serde_json::json!({ "text": format!("*{title}*\n{summary}") }))?,
        ),
        WebhookFormat::Discord => {
            let mut content = format!("**{title}**\n{summary}");
            if content.len() > 1900 {
                let mut cut = 1900;
                while !content.is_char_boundary(cut) {
                    cut -= 1;
                }
                content.truncate(cut);
            }
            (
                "POST",
                cfg.url.clone(),
                json,
                vec![],
                serde_json::to_vec(&serde_json::json!({ "content": content }))?,
            )
        }
        WebhookFormat::Matrix => {
            // Client-server API: PUT .../rooms/{room}/send/m.room.message/{txnId}.
            let url = format!(
                "{}/tripline-{}-{}-{}",
                cfg.url.trim_end_matches('/'),
                std::process::id(),
                a.at_unix,
                a.seq
            );
            (
                "PUT",
                url,
                json,
                vec![],
                serde_json::to_vec(&serde_json::json!({
                    "msgtype": "m.text",
                    "body": format!("{title}\n{summary}"),
                }))?,
            )
        }
    })
}

impl Webhook {
    fn attempt(&self, a: &Alert) -> Result<(), (bool, anyhow::Error)> {
        let (method, url, ctype, headers, body) = request(&self.cfg, a).map_err(|e| (false, e))?;
        let mut req = self
            .agent
            .request(method, &url)
            .set("Content-Type", ctype)
            .set(
                "User-Agent",
                concat!("tripline/", env!("CARGO_PKG_VERSION")),
            );
        for (k, v) in &headers {
            req = req.set(k, v);
        }
        for (k, v) in &self.cfg.headers {
            req = req.set(k, v);
        }
        match req.send_bytes(&body) {
            Ok(_) => Ok(()),
            Err(ureq::Error::Status(code, _)) => {
                let retry = code >= 500 || code == 429;
                Err((retry, anyhow!("{} answered HTTP {code}", self.cfg.name)))
            }
            Err(e) => Err((true, anyhow!("{}: {e}", self.cfg.name))),
        }
    }
}

impl Sink for Webhook {
    fn deliver(&mut self, a: &Alert) -> Result<()> {
        let mut wait = Duration::from_millis(self.cfg.backoff_ms);
        let mut tries = 0;
        loop {
            match self.attempt(a) {
                Ok(()) => return Ok(()),
                Err((retry, e)) => {
                    if !retry || tries >= self.cfg.retries {
                        bail!("{e:#} (after {} attempts)", tries + 1);
                    }
                    tries += 1;
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// Starts a webhook channel.
pub fn start(cfg: &WebhookConfig, _all: &AlertingConfig) -> Result<Channel> {
    let c = cfg.clone();
    Ok(Channel::spawn(
        format!("webhook:{}", cfg.name),
        &cfg.limits,
        1,
        false,
        move || {
            let agent = ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(c.timeout_secs))
                .build();
            Box::new(Webhook {
                cfg: c.clone(),
                agent,
            })
        },
    ))
}
