//! What the host itself depends on, discovered at start: its own addresses
//! (`ip -j addr`), its gateways (`ip -j route`, both families) and its resolvers
//! (`/etc/resolv.conf`). Blocking any of these could cut the host off, and a spoofed scan
//! (a forged LAND packet has a local source) must never achieve that.

use super::backend::exec;
use std::net::IpAddr;
use tripline_core::net::IpNet;

/// The discovered networks, plus warnings for what could not be read.
pub fn discover() -> (Vec<IpNet>, Vec<String>) {
    let mut nets = Vec::new();
    let mut warnings = Vec::new();
    match exec("ip", &["-j", "addr"], None) {
        Ok(o) if o.ok => nets.extend(addrs_from_json(&o.stdout)),
        _ => warnings.push("cannot list local addresses with `ip -j addr`".to_string()),
    }
    for fam in ["-4", "-6"] {
        match exec("ip", &[fam, "-j", "route", "show", "table", "all"], None) {
            Ok(o) if o.ok => nets.extend(gateways_from_json(&o.stdout)),
            _ => warnings.push(format!("cannot list routes with `ip {fam} -j route`")),
        }
    }
    if let Ok(text) = std::fs::read_to_string("/etc/resolv.conf") {
        nets.extend(resolvers(&text));
    }
    nets.dedup();
    (nets, warnings)
}

fn host(s: &str) -> Option<IpNet> {
    // Link-local gateways come as `fe80::1%eth0` in some outputs.
    let s = s.split('%').next()?;
    s.parse::<IpAddr>()
        .ok()
        .map(|a| IpNet::host(a.to_canonical()))
}

/// `local` of every `addr_info` entry.
pub fn addrs_from_json(text: &str) -> Vec<IpNet> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    v.as_array()
        .into_iter()
        .flatten()
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["local"].as_str().and_then(host))
        .collect()
}

/// `gateway` (and `via.host`) of every route.
pub fn gateways_from_json(text: &str) -> Vec<IpNet> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for r in v.as_array().into_iter().flatten() {
        let hops = r["nexthops"].as_array().cloned().unwrap_or_default();
        for x in std::iter::once(r).chain(hops.iter()) {
            if let Some(g) = x["gateway"].as_str().and_then(host) {
                out.push(g);
            }
            if let Some(g) = x["via"]["host"].as_str().and_then(host) {
                out.push(g);
            }
        }
    }
    out
}

/// `nameserver ADDR` lines.
pub fn resolvers(text: &str) -> Vec<IpNet> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("nameserver"))
                .then(|| w.next().and_then(host))
                .flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ip_json_and_resolv_conf() {
        let addr = r#"[{"ifname":"wan0","addr_info":[{"family":"inet","local":"198.51.100.1","prefixlen":24},{"family":"inet6","local":"2001:db8:100::1","prefixlen":64}]}]"#;
        assert_eq!(
            addrs_from_json(addr),
            vec![
                "198.51.100.1".parse().unwrap(),
                "2001:db8:100::1".parse().unwrap()
            ]
        );
        let route = r#"[{"dst":"default","gateway":"198.51.100.254","dev":"wan0"},{"dst":"203.0.113.0/24","dev":"x"},{"dst":"default","nexthops":[{"gateway":"fe80::1%wan0"}]}]"#;
        assert_eq!(
            gateways_from_json(route),
            vec![
                "198.51.100.254".parse().unwrap(),
                "fe80::1".parse().unwrap()
            ]
        );
        assert_eq!(
            resolvers("# x\nnameserver 203.0.113.53\nsearch lan\nnameserver ::ffff:203.0.113.54\n"),
            vec![
                "203.0.113.53".parse().unwrap(),
                "203.0.113.54".parse().unwrap()
            ]
        );
        assert!(addrs_from_json("not json").is_empty());
    }
}
