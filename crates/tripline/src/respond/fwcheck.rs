//! `tripline fw-check` (psad's `--fw-analyze`, spec §7.6, for nftables too): reads the
//! live ruleset (`iptables-save`, `ip6tables-save`, `nft -j list ruleset`) and says
//! whether the packets the INPUT path drops are logged where Tripline can read them,
//! with the exact command to add when they are not.

use super::backend::{exec, tool_exists};
use serde_json::Value;

/// The verdict on one input chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Drops by default and logs before dropping.
    Logged,
    /// Drops by default without a log rule before the drop; the command to fix it.
    NotLogged(String),
    /// Does not drop by default (policy accept, no catch-all drop): nothing to log here.
    NoDefaultDrop,
}

/// One checked chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `iptables filter INPUT`, `nftables inet filter input`...
    pub what: String,
    /// Its verdict.
    pub verdict: Verdict,
}

/// A rule reduced to what matters here.
struct Rule {
    logs: bool,
    drops: bool,
    conditional: bool,
    /// nft handle, or 1-based iptables position.
    pos: u64,
}

/// Walks a chain: a log rule must come before the first catch-all drop (or the policy).
fn walk(rules: &[Rule], policy_drop: bool) -> Result<bool, Option<u64>> {
    let mut logged = false;
    for r in rules {
        if r.logs {
            logged = true;
        }
        if r.drops && !r.conditional {
            return if logged { Ok(true) } else { Err(Some(r.pos)) };
        }
    }
    if policy_drop {
        if logged {
            Ok(true)
        } else {
            Err(None)
        }
    } else {
        Ok(false)
    }
}

/// Checks `iptables-save` output of one family (`tool` = iptables or ip6tables).
pub fn check_iptables_save(tool: &str, text: &str) -> Vec<Check> {
    let mut in_filter = false;
    let mut policy_drop = false;
    let mut seen = false;
    let mut rules = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(t) = line.strip_prefix('*') {
            in_filter = t == "filter";
            continue;
        }
        if !in_filter {
            continue;
        }
        if let Some(rest) = line.strip_prefix(":INPUT ") {
            seen = true;
            policy_drop = rest.starts_with("DROP");
        } else if let Some(rest) = line.strip_prefix("-A INPUT ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            let j = words.iter().position(|w| *w == "-j");
            let target = j.and_then(|i| words.get(i + 1)).copied().unwrap_or("");
            rules.push(Rule {
                logs: matches!(target, "LOG" | "NFLOG" | "ULOG"),
                drops: matches!(target, "DROP" | "REJECT"),
                conditional: j != Some(0),
                pos: rules.len() as u64 + 1,
            });
        }
    }
    if !seen {
        return Vec::new();
    }
    let verdict = match walk(&rules, policy_drop) {
        Ok(true) => Verdict::Logged,
        Ok(false) => Verdict::NoDefaultDrop,
        Err(Some(pos)) => Verdict::NotLogged(format!(
            "{tool} -I INPUT {pos} -j LOG --log-prefix \"DROP \""
        )),
        Err(None) => Verdict::NotLogged(format!("{tool} -A INPUT -j LOG --log-prefix \"DROP \"")),
    };
    vec![Check {
        what: format!(
            "{tool} filter INPUT (policy {})",
            if policy_drop { "DROP" } else { "ACCEPT" }
        ),
        verdict,
    }]
}

fn expr_keys(expr: &Value) -> Vec<(&str, &Value)> {
    expr.as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_object())
        .flat_map(|o| o.iter().map(|(k, v)| (k.as_str(), v)))
        .collect()
}

/// Checks `nft -j list ruleset` output: every base chain on the input hook, except the
/// table Tripline owns (`skip_table`, family inet).
pub fn check_nft_json(text: &str, skip_table: &str) -> Vec<Check> {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let items = v["nftables"].as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for c in items.iter().filter_map(|i| i.get("chain")) {
        let (fam, table, name) = (
            c["family"].as_str().unwrap_or(""),
            c["table"].as_str().unwrap_or(""),
            c["name"].as_str().unwrap_or(""),
        );
        if c["hook"].as_str() != Some("input") || (fam == "inet" && table == skip_table) {
            continue;
        }
        if !matches!(fam, "ip" | "ip6" | "inet") {
            continue;
        }
        let policy_drop = c["policy"].as_str() == Some("drop");
        let rules: Vec<Rule> = items
            .iter()
            .filter_map(|i| i.get("rule"))
            .filter(|r| r["family"] == fam && r["table"] == table && r["chain"] == name)
            .map(|r| {
                let keys = expr_keys(&r["expr"]);
                let xt = |want: &[&str]| {
                    keys.iter().any(|(k, v)| {
                        *k == "xt" && v["type"] == "target" && want.iter().any(|w| v["name"] == *w)
                    })
                };
                Rule {
                    logs: keys.iter().any(|(k, _)| *k == "log") || xt(&["LOG", "NFLOG"]),
                    drops: keys.iter().any(|(k, _)| matches!(*k, "drop" | "reject"))
                        || xt(&["DROP", "REJECT"]),
                    conditional: keys.iter().any(|(k, v)| {
                        !matches!(*k, "counter" | "log" | "drop" | "reject" | "xt")
                            || (*k == "xt" && v["type"] != "target")
                    }),
                    pos: r["handle"].as_u64().unwrap_or(0),
                }
            })
            .collect();
        let verdict = match walk(&rules, policy_drop) {
            Ok(true) => Verdict::Logged,
            Ok(false) => Verdict::NoDefaultDrop,
            Err(Some(h)) => Verdict::NotLogged(format!(
                "nft insert rule {fam} {table} {name} position {h} log prefix \\\"DROP \\\""
            )),
            Err(None) => Verdict::NotLogged(format!(
                "nft add rule {fam} {table} {name} log prefix \\\"DROP \\\""
            )),
        };
        out.push(Check {
            what: format!(
                "nftables {fam} {table} {name} (hook input, policy {})",
                if policy_drop { "drop" } else { "accept" }
            ),
            verdict,
        });
    }
    out
}

/// Reads the live rules of this network namespace.
pub fn check_live(skip_table: &str) -> Vec<Check> {
    let mut checks = Vec::new();
    for (tool, save) in [
        ("iptables", "iptables-save"),
        ("ip6tables", "ip6tables-save"),
    ] {
        if tool_exists(save) {
            if let Ok(o) = exec(save, &["-t", "filter"], None) {
                if o.ok {
                    checks.extend(check_iptables_save(tool, &o.stdout));
                }
            }
        }
    }
    if tool_exists("nft") {
        if let Ok(o) = exec("nft", &["-j", "list", "ruleset"], None) {
            if o.ok {
                checks.extend(check_nft_json(&o.stdout, skip_table));
            }
        }
    }
    checks
}

/// Good when some input chain logs its drops and none drops without logging.
pub fn looks_good(checks: &[Check]) -> bool {
    checks.iter().any(|c| c.verdict == Verdict::Logged)
        && !checks
            .iter()
            .any(|c| matches!(c.verdict, Verdict::NotLogged(_)))
}

/// The report text, psad-style.
pub fn report(checks: &[Check]) -> String {
    let mut s = String::new();
    if checks.is_empty() {
        s.push_str("[-] No INPUT chain found in iptables, ip6tables or nftables rules.\n");
    }
    for c in checks {
        s.push_str(&format!("[+] Parsing {} rules.\n", c.what));
        match &c.verdict {
            Verdict::Logged => s.push_str("    dropped packets are logged.\n"),
            Verdict::NotLogged(cmd) => {
                s.push_str("    dropped packets are NOT logged; Tripline cannot see scans. Add:\n");
                s.push_str(&format!("        {cmd}\n"));
            }
            Verdict::NoDefaultDrop => {
                s.push_str("    no default drop here: packets that pass are not logged.\n")
            }
        }
    }
    if looks_good(checks) {
        s.push_str("[+] Firewall config looks good.\n");
    } else {
        s.push_str("[-] Errors found in firewall config.\n");
        if !checks.iter().any(|c| c.verdict == Verdict::Logged)
            && !checks
                .iter()
                .any(|c| matches!(c.verdict, Verdict::NotLogged(_)))
        {
            s.push_str(
                "    Nothing drops by default. A logging default-drop policy, e.g.:\n        \
                 iptables -A INPUT -j LOG --log-prefix \"DROP \"\n        iptables -A INPUT -j DROP\n",
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iptables_verdicts() {
        let good = "*filter\n:INPUT DROP [0:0]\n-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n-A INPUT -j LOG --log-prefix \"DROP \"\nCOMMIT\n";
        assert_eq!(
            check_iptables_save("iptables", good)[0].verdict,
            Verdict::Logged
        );
        let bad = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n";
        assert_eq!(
            check_iptables_save("iptables", bad)[0].verdict,
            Verdict::NotLogged("iptables -I INPUT 2 -j LOG --log-prefix \"DROP \"".into())
        );
        let open = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 23 -j DROP\nCOMMIT\n";
        let c = check_iptables_save("iptables", open);
        assert_eq!(c[0].verdict, Verdict::NoDefaultDrop);
        assert!(!looks_good(&c));
        assert!(check_iptables_save("iptables", "*nat\n:INPUT ACCEPT\nCOMMIT\n").is_empty());
    }

    #[test]
    fn nft_verdicts() {
        let j = r#"{"nftables":[{"chain":{"family":"inet","table":"filter","name":"input","hook":"input","policy":"drop"}},
            {"rule":{"family":"inet","table":"filter","chain":"input","handle":4,"expr":[{"match":{"op":"==","left":{"ct":{"key":"state"}},"right":"established"}},{"accept":null}]}},
            {"chain":{"family":"inet","table":"tripline","name":"input","hook":"input","policy":"accept"}},
            {"chain":{"family":"ip","table":"filter","name":"INPUT","hook":"input","policy":"accept"}},
            {"rule":{"family":"ip","table":"filter","chain":"INPUT","handle":2,"expr":[{"counter":null},{"xt":{"type":"target","name":"LOG"}}]}},
            {"rule":{"family":"ip","table":"filter","chain":"INPUT","handle":3,"expr":[{"counter":null},{"drop":null}]}}]}"#;
        let c = check_nft_json(j, "tripline");
        assert_eq!(c.len(), 2, "our own table is skipped: {c:?}");
        assert_eq!(
            c[0].verdict,
            Verdict::NotLogged("nft add rule inet filter input log prefix \\\"DROP \\\"".into())
        );
        assert_eq!(c[1].verdict, Verdict::Logged);
        assert!(!looks_good(&c));
        assert!(report(&c).contains("[-] Errors found"));
    }
}
