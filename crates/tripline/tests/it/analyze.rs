//! `tripline analyze` on the real log slice shipped in the repo.

use crate::util::{analyze_json, repo, run_ok, tripline};

fn sample() -> String {
    repo()
        .join("examples/logs/dev-slice.log")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn json_report_has_the_documented_shape() {
    let r = analyze_json(&[&sample()]);
    for key in [
        "sources",
        "totals",
        "top_ports",
        "top_signatures",
        "prefixes",
        "protocols",
    ] {
        assert!(r.get(key).is_some(), "missing {key}");
    }
    let t = &r["totals"];
    for key in ["lines", "firewall_lines", "malformed", "ignored"] {
        assert!(t[key].is_u64(), "totals.{key}");
    }
    let s = &r["sources"][0];
    for key in [
        "src",
        "danger_level",
        "packets",
        "destinations",
        "signatures",
        "os_guess",
        "scan_types",
    ] {
        assert!(s.get(key).is_some(), "source missing {key}");
    }
    let d = &s["destinations"][0];
    for key in ["dst", "packets", "ports", "chains", "interfaces"] {
        assert!(d.get(key).is_some(), "destination missing {key}");
    }
}

#[test]
fn text_report_names_the_scanner() {
    let out = run_ok(
        tripline()
            .args(["analyze", "--color", "never"])
            .arg(sample()),
    );
    assert!(out.contains("[+] IP Status Detail:"), "{out}");
    assert!(out.contains("SRC:  198.51.100.10, DL: "), "{out}");
}
