//! Email alerts: psad's text (spec §5.2) over SMTP (lettre: plain, STARTTLS or TLS,
//! with optional login), through a sendmail binary, or through psad's `mailCmd`
//! (`mail -s SUBJECT ADDRESSES`, body on stdin). Reverse DNS and whois are looked up
//! here, on the email thread.

use super::channel::{Channel, Sink};
use super::lookup::Lookups;
use anyhow::{bail, Context, Result};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::Body;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SendmailTransport, SmtpTransport, Transport};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tripline_core::alert::{text, Alert};
use tripline_core::config::alerting::{AlertingConfig, EmailConfig, EmailTransport, SmtpTls};

enum Out {
    Smtp(SmtpTransport),
    Sendmail(SendmailTransport),
    Mail { path: String, header: Vec<String> },
}

struct Email {
    to: Vec<String>,
    from: String,
    alert_prefix: String,
    status_prefix: String,
    out: Out,
    lookups: Arc<Lookups>,
}

fn smtp(t: &EmailTransport) -> Result<Option<SmtpTransport>> {
    let EmailTransport::Smtp {
        host,
        port,
        tls,
        user,
        password,
        password_file,
        ca_file,
        timeout_secs,
    } = t
    else {
        return Ok(None);
    };
    // The certificate must name `host`; the built-in web roots are trusted,
    // plus the authorities of `ca-file` (an internal relay's own CA).
    let params = || -> Result<TlsParameters> {
        let mut p = TlsParameters::builder(host.clone());
        if let Some(f) = ca_file {
            let pem =
                std::fs::read(f).with_context(|| format!("email: cannot read ca-file {f}"))?;
            let cert = Certificate::from_pem(&pem)
                .with_context(|| format!("email: ca-file {f} holds no PEM certificate"))?;
            p = p.add_root_certificate(cert);
        }
        p.build()
            .with_context(|| format!("email: TLS setup for {host:?}"))
    };
    let b = SmtpTransport::builder_dangerous(host);
    let mut b = match tls {
        SmtpTls::None => b,
        SmtpTls::Starttls => b.tls(Tls::Required(params()?)),
        SmtpTls::Tls => b.tls(Tls::Wrapper(params()?)),
    };
    b = b
        .port(*port)
        .timeout(Some(Duration::from_secs(*timeout_secs)));
    if let Some(user) = user {
        let pass = match (password, password_file) {
            (_, Some(f)) => std::fs::read_to_string(f)
                .with_context(|| format!("email: cannot read password file {f}"))?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
            (Some(p), None) => p.clone(),
            (None, None) => bail!("email: user {user:?} given without password or password-file"),
        };
        b = b.credentials(Credentials::new(user.clone(), pass));
    }
    Ok(Some(b.build()))
}

/// The body as sent: 7bit (or 8bit for non-ASCII whois text) with CRLF line ends, not
/// quoted-printable, so it reads as written in any mail client. RFC 5322 allows lines up
/// to 998 bytes; lettre's chooser would encode anything over 76.
fn plain_body(text: &str) -> Body {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let fits = crlf.split("\r\n").all(|l| l.len() <= 998) && !crlf.contains('\0');
    if !fits {
        return Body::new(text.to_string());
    }
    let enc = if crlf.is_ascii() {
        ContentTransferEncoding::SevenBit
    } else {
        ContentTransferEncoding::EightBit
    };
    Body::dangerous_pre_encoded(crlf.into_bytes(), enc)
}

impl Email {
    fn enrich(&self, a: &Alert) -> Alert {
        let mut a = a.clone();
        a.src_dns = self.lookups.reverse(a.src);
        a.dst_dns = a
            .destinations
            .iter()
            .take(4)
            .filter_map(|d| self.lookups.reverse(d.dst).map(|n| (d.dst, n)))
            .collect();
        a.whois = self.lookups.whois(a.src);
        a
    }
}

impl Sink for Email {
    fn deliver(&mut self, alert: &Alert) -> Result<()> {
        let a = self.enrich(alert);
        let subject = text::subject(&a, &self.alert_prefix, &self.status_prefix);
        let body = text::email_body(&a);
        match &self.out {
            Out::Mail { path, header } => {
                let mut child = Command::new(path)
                    .args(header)
                    .arg("-s")
                    .arg(&subject)
                    .args(&self.to)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .with_context(|| format!("cannot run {path}"))?;
                if let Some(mut i) = child.stdin.take() {
                    i.write_all(body.as_bytes())?;
                }
                let st = child.wait()?;
                if !st.success() {
                    bail!("{path} exited with {st}");
                }
                Ok(())
            }
            out => {
                let mut m = Message::builder()
                    .from(
                        self.from
                            .parse()
                            .with_context(|| format!("bad from {:?}", self.from))?,
                    )
                    .subject(subject)
                    .header(ContentType::TEXT_PLAIN);
                for t in &self.to {
                    m = m.to(t.parse().with_context(|| format!("bad address {t:?}"))?);
                }
                let msg = m.body(plain_body(&body))?;
                match out {
                    Out::Smtp(s) => s.send(&msg).map(|_| ()).context("SMTP")?,
                    Out::Sendmail(s) => s.send(&msg).context("sendmail")?,
                    Out::Mail { .. } => {}
                }
                Ok(())
            }
        }
    }
}

/// Starts the email channel.
pub fn start(
    e: &EmailConfig,
    all: &AlertingConfig,
    host: &str,
    lookups: Arc<Lookups>,
) -> Result<Channel> {
    let from = if e.from.is_empty() {
        format!("root@{host}")
    } else {
        e.from.clone()
    };
    // Check addresses and build the SMTP transport now: errors belong at start-up.
    for t in &e.to {
        t.parse::<lettre::Address>()
            .with_context(|| format!("email: bad recipient {t:?}"))?;
    }
    let smtp = smtp(&e.transport)?;
    let e2 = e.clone();
    let (ap, sp) = (all.alert_prefix.clone(), all.status_prefix.clone());
    Ok(Channel::spawn(
        "email".into(),
        &e.limits,
        1,
        false,
        move || {
            let out = match (&e2.transport, &smtp) {
                (_, Some(s)) => Out::Smtp(s.clone()),
                (EmailTransport::Sendmail { path }, _) => {
                    Out::Sendmail(SendmailTransport::new_with_command(path))
                }
                (
                    EmailTransport::MailCmd {
                        path,
                        append_header,
                    },
                    _,
                ) => Out::Mail {
                    path: path.clone(),
                    header: append_header.clone(),
                },
                (EmailTransport::Smtp { .. }, None) => Out::Mail {
                    path: "/usr/bin/mail".into(),
                    header: Vec::new(),
                },
            };
            Box::new(Email {
                to: e2.to.clone(),
                from: from.clone(),
                alert_prefix: ap.clone(),
                status_prefix: sp.clone(),
                out,
                lookups: lookups.clone(),
            })
        },
    ))
}
