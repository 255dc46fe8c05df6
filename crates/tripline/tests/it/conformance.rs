//! Conformance with Debian's psad 2.4.6: with `--psad-compat`, every source
//! psad reports has the same danger level, packet count, port ranges and
//! signature SIDs. psad runs for real (tests/psad/run-psad.sh).

use crate::util::{analyze_json, repo, shared};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

#[derive(Debug, PartialEq, Eq)]
struct Src {
    dl: u64,
    pkts: u64,
    /// dst -> proto -> (lo, hi)
    ports: BTreeMap<IpAddr, BTreeMap<String, (u64, u64)>>,
    /// dst -> sids
    sids: BTreeMap<IpAddr, BTreeSet<u64>>,
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|_| panic!("bad address {s:?}"))
}

fn from_psad(summary: &Value) -> BTreeMap<IpAddr, Src> {
    let mut out = BTreeMap::new();
    for (src, v) in summary["sources"].as_object().expect("sources") {
        let mut ports = BTreeMap::new();
        let mut sids = BTreeMap::new();
        for (dst, d) in v["destinations"].as_object().unwrap() {
            let dst = ip(dst);
            let p: &mut BTreeMap<String, (u64, u64)> = ports.entry(dst).or_default();
            for sp in d["scanned_ports"].as_array().unwrap() {
                p.insert(
                    sp["proto"].as_str().unwrap().to_string(),
                    (sp["start"].as_u64().unwrap(), sp["end"].as_u64().unwrap()),
                );
            }
            let s: &mut BTreeSet<u64> = sids.entry(dst).or_default();
            for sig in d["signatures"].as_array().unwrap() {
                s.insert(sig["sid"].as_u64().unwrap());
            }
        }
        out.insert(
            ip(src),
            Src {
                dl: v["dl"].as_u64().unwrap(),
                pkts: v["pkts"].as_u64().unwrap(),
                ports,
                sids,
            },
        );
    }
    out
}

fn from_tripline(report: &Value) -> BTreeMap<IpAddr, Src> {
    let mut out = BTreeMap::new();
    for s in report["sources"].as_array().expect("sources") {
        let mut ports = BTreeMap::new();
        let mut sids = BTreeMap::new();
        for d in s["destinations"].as_array().unwrap() {
            let dst = ip(d["dst"].as_str().unwrap());
            let p: &mut BTreeMap<String, (u64, u64)> = ports.entry(dst).or_default();
            for (proto, span) in d["ports"].as_object().unwrap() {
                p.insert(
                    proto.clone(),
                    (span["lo"].as_u64().unwrap(), span["hi"].as_u64().unwrap()),
                );
            }
            let set: &mut BTreeSet<u64> = sids.entry(dst).or_default();
            // psad's IP detail lists tcp/udp/icmp rules only; `ip` rules are
            // compared through the top-signature counts below.
            for sig in d["signatures"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["proto"] != "ip")
            {
                set.insert(sig["sid"].as_u64().unwrap());
            }
        }
        out.insert(
            ip(s["src"].as_str().unwrap()),
            Src {
                dl: s["danger_level"].as_u64().unwrap(),
                pkts: s["packets"].as_u64().unwrap(),
                ports,
                sids,
            },
        );
    }
    out
}

/// Run psad and tripline --psad-compat on `log` and compare.
fn check(log: &Path, overrides: Option<&Path>, auto_dl: Option<&Path>) -> usize {
    assert!(
        Path::new("/usr/sbin/psad").exists(),
        "Debian's psad is required (apt-get install psad; .ci/run installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(repo().join("tests/psad/run-psad.sh"));
    cmd.arg(log).arg(dir.path());
    cmd.arg(overrides.map(|p| p.as_os_str()).unwrap_or_default());
    cmd.arg(auto_dl.map(|p| p.as_os_str()).unwrap_or_default());
    cmd.env("TRIPLINE_SHARED", shared());
    let st = cmd.status().expect("run-psad.sh");
    assert!(st.success(), "psad failed on {}", log.display());
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    let psad = from_psad(&summary);
    let conf = dir.path().join("psad.conf");
    let report = analyze_json(&[
        "--psad-compat",
        "--psad-conf",
        conf.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    let ours = from_tripline(&report);
    let mut diffs = Vec::new();
    // Passive OS guesses (pf.os, posf) where psad gives one.
    let mut os_compared = 0;
    for (src, v) in summary["sources"].as_object().unwrap() {
        let theirs: BTreeSet<String> = v["os_guess"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap().to_string())
            .collect();
        if theirs.is_empty() {
            continue;
        }
        let mine: BTreeSet<String> = report["sources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| ip(s["src"].as_str().unwrap()) == ip(src))
            .flat_map(|s| s["os_guesses"].as_array().unwrap().iter())
            .filter(|g| g["method"] == "pf.os" || g["method"] == "posf")
            .map(|g| g["os"].as_str().unwrap().to_string())
            .collect();
        if mine != theirs {
            diffs.push(format!(
                "{src}: OS guesses psad {theirs:?}, tripline {mine:?}"
            ));
        }
        os_compared += 1;
    }
    if log.ends_with("syslog.log") {
        assert!(
            os_compared >= 1,
            "psad guessed no OS on the dev corpus: the comparison ran empty"
        );
    }
    // Signature match counts, `ip` rules included.
    let our_sigs: BTreeMap<u64, u64> = report["top_signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["sid"].as_u64().unwrap(), s["count"].as_u64().unwrap()))
        .collect();
    for s in summary["top_signatures"].as_array().unwrap() {
        let (sid, count) = (s["sid"].as_u64().unwrap(), s["count"].as_u64().unwrap());
        if our_sigs.get(&sid) != Some(&count) {
            diffs.push(format!(
                "signature {sid}: psad {count} matches, tripline {:?}",
                our_sigs.get(&sid)
            ));
        }
    }
    for (src, p) in &psad {
        match ours.get(src) {
            None => diffs.push(format!(
                "{src}: psad DL {} pkts {}, tripline: not reported",
                p.dl, p.pkts
            )),
            Some(o) if o != p => diffs.push(format!("{src}:\n  psad     {p:?}\n  tripline {o:?}")),
            Some(_) => {}
        }
    }
    for (src, o) in &ours {
        if !psad.contains_key(src) {
            diffs.push(format!(
                "{src}: tripline DL {} pkts {}, psad: not reported",
                o.dl, o.pkts
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {} sources differ from psad on {}:\n{}",
        diffs.len(),
        psad.len(),
        log.display(),
        diffs.join("\n")
    );
    psad.len()
}

fn corpus(name: &str) -> std::path::PathBuf {
    shared().join("corpus/dev").join(name)
}

#[test]
fn corpus_syslog_matches_psad() {
    assert!(check(&corpus("syslog.log"), None, None) >= 20);
}

#[test]
fn corpus_rsyslog_iso_matches_psad() {
    assert!(check(&corpus("rsyslog-iso.log"), None, None) >= 20);
}

#[test]
fn corpus_rfc5424_matches_psad() {
    assert!(check(&corpus("rfc5424.log.gz"), None, None) >= 20);
}

#[test]
fn corpus_dmesg_matches_psad() {
    assert!(check(&corpus("dmesg.log"), None, None) >= 20);
}

#[test]
fn corpus_journal_export_matches_psad() {
    assert!(check(&corpus("journal.export.gz"), None, None) >= 20);
}

/// Crafted edge cases (tests/psad/cases/NAME/input.log [+ overrides.conf, auto_dl]):
/// each exercises one rule or quirk of spec §2-§3.
#[test]
fn crafted_cases_match_psad() {
    let cases = repo().join("tests/psad/cases");
    let mut n = 0;
    for entry in std::fs::read_dir(&cases).unwrap() {
        let dir = entry.unwrap().path();
        let ovr = dir.join("overrides.conf");
        let adl = dir.join("auto_dl");
        let _ = check(
            &dir.join("input.log"),
            ovr.exists().then_some(ovr.as_path()),
            adl.exists().then_some(adl.as_path()),
        );
        n += 1;
    }
    assert!(n >= 10, "expected the crafted cases, found {n}");
}
