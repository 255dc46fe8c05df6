//! Reverse DNS (hickory-resolver) and whois (RFC 3912 over TCP, following referrals to
//! the registry that holds the address), each with a timeout, a cache and an off switch.
//! They run on the channel threads that need them (email), never on the detection thread.

use anyhow::{Context, Result};
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::Resolver;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tripline_core::config::alerting::LookupConfig;

/// Referrals followed at most.
const MAX_REFERRALS: usize = 3;
/// Largest whois answer kept.
const MAX_WHOIS: usize = 64 * 1024;

/// A bounded cache: cleared when full (simple, and an attacker cycling addresses only
/// costs lookups, never memory).
struct Cache(Mutex<HashMap<IpAddr, Option<String>>>, usize);

impl Cache {
    fn get(&self, ip: IpAddr) -> Option<Option<String>> {
        self.0.lock().ok()?.get(&ip).cloned()
    }
    fn put(&self, ip: IpAddr, v: Option<String>) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= self.1 {
                m.clear();
            }
            m.insert(ip, v);
        }
    }
}

/// Lookups shared by the channels.
pub struct Lookups {
    resolver: Option<Resolver>,
    whois: Option<(String, Duration)>,
    dns_cache: Cache,
    whois_cache: Cache,
}

impl Lookups {
    /// Builds the resolver (system configuration, or the configured server).
    pub fn new(cfg: &LookupConfig) -> Result<Lookups> {
        let resolver = if cfg.dns {
            let mut opts = ResolverOpts::default();
            opts.timeout = Duration::from_secs(cfg.dns_timeout_secs);
            opts.attempts = 1;
            let r = match &cfg.dns_server {
                Some(s) => {
                    let addr: SocketAddr = s
                        .parse()
                        .with_context(|| format!("lookups.dns-server {s:?}: expected IP:PORT"))?;
                    let group =
                        NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
                    Resolver::new(ResolverConfig::from_parts(None, vec![], group), opts)
                }
                None => Resolver::from_system_conf()
                    .or_else(|_| Resolver::new(ResolverConfig::default(), opts.clone())),
            };
            Some(r.context("cannot start the DNS resolver")?)
        } else {
            None
        };
        let cap = cfg.cache_size.max(1);
        Ok(Lookups {
            resolver,
            whois: cfg.whois.then(|| {
                (
                    cfg.whois_server.clone(),
                    Duration::from_secs(cfg.whois_timeout_secs),
                )
            }),
            dns_cache: Cache(Mutex::new(HashMap::new()), cap),
            whois_cache: Cache(Mutex::new(HashMap::new()), cap),
        })
    }

    /// The PTR name of `ip` (cached), `None` when off or there is none.
    pub fn reverse(&self, ip: IpAddr) -> Option<String> {
        let r = self.resolver.as_ref()?;
        if let Some(v) = self.dns_cache.get(ip) {
            return v;
        }
        let name = r.reverse_lookup(ip).ok().and_then(|l| {
            l.iter()
                .next()
                .map(|n| n.to_utf8().trim_end_matches('.').to_string())
        });
        let name = name.map(|n| clean(&n));
        self.dns_cache.put(ip, name.clone());
        name
    }

    /// whois text for `ip` (cached), `None` when off; "Whois data not available!" on
    /// failure, as psad prints.
    pub fn whois(&self, ip: IpAddr) -> Option<String> {
        let (server, timeout) = self.whois.as_ref()?;
        if let Some(v) = self.whois_cache.get(ip) {
            return v;
        }
        let text = whois(server, ip, *timeout)
            .unwrap_or_else(|e| format!("Whois data not available! ({e:#})\n"));
        self.whois_cache.put(ip, Some(text.clone()));
        Some(text)
    }
}

/// Keeps text printable: whois and DNS answers come from outside.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

/// One RFC 3912 query: send `query\r\n`, read until the server closes.
fn query(server: &str, q: &str, deadline: Instant) -> Result<String> {
    let addr = if server.parse::<SocketAddr>().is_ok() || server.matches(':').count() == 1 {
        server.to_string()
    } else if let Ok(ip) = server.parse::<IpAddr>() {
        SocketAddr::new(ip, 43).to_string()
    } else {
        format!("{server}:43")
    };
    let left = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    let sa = addr
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve whois server {addr}"))?
        .next()
        .with_context(|| format!("no address for {addr}"))?;
    let mut s = TcpStream::connect_timeout(&sa, left())
        .with_context(|| format!("cannot connect to {addr}"))?;
    s.set_write_timeout(Some(left()))?;
    s.write_all(format!("{q}\r\n").as_bytes())?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        s.set_read_timeout(Some(left()))?;
        let n = s
            .read(&mut buf)
            .with_context(|| format!("reading from {addr}"))?;
        if n == 0 || out.len() >= MAX_WHOIS {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The server a whois answer refers to: IANA's `refer:`/`whois:`, ARIN's
/// `ReferralServer: whois://host[:port]`.
pub fn referral(answer: &str) -> Option<String> {
    for line in answer.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let k = k.trim().to_ascii_lowercase();
        let v = v.trim();
        if matches!(k.as_str(), "refer" | "whois" | "referralserver") && !v.is_empty() {
            let v = v
                .strip_prefix("whois://")
                .unwrap_or(v)
                .trim_end_matches('/');
            if v.starts_with("http") || v.starts_with("rwhois") {
                continue;
            }
            return Some(v.to_string());
        }
    }
    None
}

/// Queries `server` for `ip` and follows referrals; returns the last answer.
pub fn whois(server: &str, ip: IpAddr, timeout: Duration) -> Result<String> {
    let deadline = Instant::now() + timeout;
    let mut server = server.to_string();
    let mut seen = vec![server.clone()];
    let mut answer = query(&server, &ip.to_string(), deadline)?;
    for _ in 0..MAX_REFERRALS {
        let Some(next) = referral(&answer) else { break };
        if seen.contains(&next) {
            break;
        }
        server = next;
        seen.push(server.clone());
        match query(&server, &ip.to_string(), deadline) {
            Ok(a) => answer = a,
            Err(_) => break,
        }
    }
    Ok(format!("[whois {}]\n{}", server, clean(&answer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referral_lines() {
        assert_eq!(
            referral("% IANA\nrefer:        whois.ripe.net\n").as_deref(),
            Some("whois.ripe.net")
        );
        assert_eq!(
            referral("ReferralServer:  whois://whois.apnic.net\n").as_deref(),
            Some("whois.apnic.net")
        );
        assert_eq!(
            referral("ReferralServer: rwhois://rwhois.x.net:4321\n"),
            None
        );
        assert_eq!(referral("NetRange: 1.2.3.0 - 1.2.3.255\n"), None);
    }
}
