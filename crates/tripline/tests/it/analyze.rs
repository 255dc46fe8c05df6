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

fn corpus(name: &str) -> String {
    crate::util::shared()
        .join("corpus/dev")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn ip_and_min_dl_filter_sources() {
    let r = analyze_json(&["--ip", "198.51.100.10", &sample()]);
    let srcs = r["sources"].as_array().unwrap();
    assert_eq!(srcs.len(), 1);
    assert_eq!(srcs[0]["src"], "198.51.100.10");
    let all = analyze_json(&["--min-dl", "0", &sample()]);
    let high = analyze_json(&["--min-dl", "3", &sample()]);
    let n_all = all["sources"].as_array().unwrap().len();
    let n_high = high["sources"].as_array().unwrap().len();
    assert!(n_high < n_all, "{n_high} vs {n_all}");
    assert!(high["sources"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["danger_level"].as_u64().unwrap() >= 3));
}

#[test]
fn summary_omits_the_detail_section() {
    let out = run_ok(
        tripline()
            .args(["analyze", "--summary", "--color", "never"])
            .arg(sample()),
    );
    assert!(out.contains("[+] Top attackers:"), "{out}");
    assert!(!out.contains("[+] IP Status Detail:"), "{out}");
}

#[test]
fn csv_rows_use_psad_field_names() {
    let out = run_ok(
        tripline()
            .args([
                "analyze",
                "--csv",
                "--csv-fields",
                "src,dp,proto,flags,chain,log_prefix",
            ])
            .arg(sample()),
    );
    let first = out.lines().next().unwrap();
    assert_eq!(first.split(", ").count(), 6, "{first}");
    assert!(
        out.lines()
            .any(|l| l == "198.51.100.10, 143, tcp, SYN, INPUT, IN_DROP"),
        "{}",
        &out[..500]
    );
    let bad = tripline()
        .args(["analyze", "--csv", "--csv-fields", "src,nope"])
        .arg(sample())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("\"nope\""));
}

#[test]
fn every_corpus_format_gives_the_same_sources() {
    let key = |r: &serde_json::Value| -> Vec<(String, u64, u64)> {
        let mut v: Vec<_> = r["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["src"].as_str().unwrap().to_string(),
                    s["danger_level"].as_u64().unwrap(),
                    s["packets"].as_u64().unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let reference = key(&analyze_json(&[&corpus("syslog.log")]));
    assert!(reference.len() >= 20);
    for f in [
        "rsyslog-iso.log",
        "rfc5424.log.gz",
        "dmesg.log",
        "journal.export.gz",
    ] {
        assert_eq!(key(&analyze_json(&[&corpus(f)])), reference, "{f}");
    }
}

#[test]
fn stdin_and_several_files_in_order() {
    let sample = std::fs::read(sample()).unwrap();
    let mut child = tripline()
        .args(["analyze", "--json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&sample).unwrap();
    let out = child.wait_with_output().unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let two = analyze_json(&[&crate::analyze::sample(), &crate::analyze::sample()]);
    assert_eq!(
        two["totals"]["lines"].as_u64().unwrap(),
        2 * r["totals"]["lines"].as_u64().unwrap()
    );
}

/// /proc files claim a length of 0: they must be read, not mapped.
#[test]
fn files_that_claim_no_length_are_still_read() {
    let r = analyze_json(&["/proc/self/mountinfo"]);
    assert!(
        r["totals"]["lines"].as_u64().unwrap() > 0,
        "{}",
        r["totals"]
    );
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").unwrap();
    let both = analyze_json(&[empty.to_str().unwrap(), &sample()]);
    let one = analyze_json(&[&sample()]);
    assert_eq!(both["totals"], one["totals"]);
}

#[test]
fn malformed_lines_are_counted_and_shown_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("bad.log");
    let good = std::fs::read_to_string(sample())
        .unwrap()
        .lines()
        .take(3)
        .collect::<Vec<_>>()
        .join("\n");
    // Real lines with one field broken each.
    let bad_src = good
        .lines()
        .next()
        .unwrap()
        .replace("SRC=203.0.113.100", "SRC=203.0.113.999");
    let no_proto = good.lines().nth(1).unwrap().replace("PROTO=TCP ", "");
    std::fs::write(&log, format!("{good}\n{bad_src}\n{no_proto}\n")).unwrap();
    let r = analyze_json(&[log.to_str().unwrap()]);
    assert_eq!(r["totals"]["malformed"], 2);
    assert_eq!(r["malformed"][0]["line"], 4);
    assert_eq!(r["malformed"][0]["field"], "SRC");
    assert_eq!(r["malformed"][1]["line"], 5);
    let text = run_ok(tripline().args(["analyze", "--color", "never"]).arg(&log));
    assert!(text.contains("bad.log:4: invalid field SRC"), "{text}");
}

#[test]
fn config_dump_and_errors_name_file_and_line() {
    let out = run_ok(tripline().args(["config", "dump", "--psad-conf", "/etc/psad/psad.conf"]));
    assert!(out.contains("DANGER_LEVEL3"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("psad.conf");
    std::fs::write(&conf, "HOME_NET any;\nDANGER_LEVL1 5;\n").unwrap();
    let bad = tripline()
        .args(["config", "check", "--psad-conf"])
        .arg(&conf)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("psad.conf:2") && err.contains("DANGER_LEVEL1"),
        "{err}"
    );
}

#[test]
fn sharded_workers_mapped_or_read_give_the_serial_report() {
    let strip = without_inputs;
    let log = corpus("syslog.log");
    // The reference: one worker reading with read(2).
    let read = analyze_json(&["--no-mmap", "-j", "1", "--min-dl", "0", &log]);
    let mapped = analyze_json(&["-j", "1", "--min-dl", "0", &log]);
    assert!(read == mapped, "the mapped file gives another report");
    assert!(read["totals"]["lines"].as_u64().unwrap() > 70_000);
    let one = strip(read);
    // gzip is streamed to the shards by a reader thread; plain files are mapped.
    let dir = tempfile::tempdir().unwrap();
    let gz = gzip(log.as_ref(), &dir.path().join("syslog.log.gz"));
    for (j, extra, file) in [
        ("2", None, log.as_str()),
        ("3", None, log.as_str()),
        ("2", Some("--no-mmap"), log.as_str()),
        ("2", None, gz.to_str().unwrap()),
    ] {
        let mut args = vec!["-j", j, "--min-dl", "0", file];
        args.extend(extra);
        let many = strip(analyze_json(&args));
        assert!(one == many, "{args:?} differs from -j 1");
    }
}

/// `src` compressed to `dst`; returns `dst`.
fn gzip(src: &std::path::Path, dst: &std::path::Path) -> std::path::PathBuf {
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(dst).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(src).unwrap(), &mut enc).unwrap();
    enc.finish().unwrap();
    dst.to_path_buf()
}

/// A report without the parts that name inputs (which differ in order).
fn without_inputs(mut r: serde_json::Value) -> serde_json::Value {
    r.as_object_mut().unwrap().remove("malformed");
    r.as_object_mut().unwrap().remove("inputs");
    r
}

/// Several files, an older rotated log after a newer one and an undated
/// dmesg file among them: one engine enters each file with the latest time
/// before it, so the shards' engines must too, and the report is the
/// serial one, mapped or streamed, with 2 or 3 workers.
#[test]
fn shards_enter_each_file_at_the_time_one_engine_does() {
    let dir = tempfile::tempdir().unwrap();
    let log = corpus("syslog.log");
    let text = std::fs::read_to_string(&log).unwrap();
    let older = dir.path().join("syslog.log.1");
    std::fs::write(
        &older,
        text.replace("\nNov 21 ", "\nNov 20 ")
            .replacen("Nov 21 ", "Nov 20 ", 1),
    )
    .unwrap();
    let gz = gzip(&older, &dir.path().join("syslog.log.1.gz"));
    let (older, gz, dmesg) = (
        older.to_str().unwrap(),
        gz.to_str().unwrap(),
        corpus("dmesg.log"),
    );
    for files in [[log.as_str(), older, &dmesg], [&dmesg, log.as_str(), gz]] {
        let mut args = vec!["--min-dl", "0", "-j", "1"];
        args.extend(files);
        let one = without_inputs(analyze_json(&args));
        assert!(one["sources"].as_array().unwrap().len() > 20);
        for j in ["2", "3"] {
            args[3] = j;
            let many = without_inputs(analyze_json(&args));
            assert!(one == many, "{args:?} differs from -j 1");
        }
    }
}

/// `kern.log kern.log.1` (newest first, as a shell glob gives them) and
/// the other way round give every source the same first and last times,
/// packets and level: a source's times are its own packets' earliest and
/// latest, whatever the order of the files.
#[test]
fn rotated_logs_in_either_order_give_each_source_its_own_times() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample();
    let older = dir.path().join("kern.log.1");
    let text = std::fs::read_to_string(&log).unwrap();
    let first = text
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let day: u32 = first[4..].parse().unwrap();
    let earlier = format!("{} {:2}", &first[..3], day - 1);
    let shifted: String = text
        .lines()
        .map(|l| l.replacen(&first, &earlier, 1) + "\n")
        .collect();
    assert_ne!(shifted, text);
    std::fs::write(&older, shifted).unwrap();
    let older = older.to_str().unwrap();
    let key = |r: &serde_json::Value| -> Vec<String> {
        let mut v: Vec<String> = r["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let f = ["src", "first_seen", "last_seen", "packets", "danger_level"];
                f.map(|k| s[k].to_string()).join(" ")
            })
            .collect();
        v.sort();
        v
    };
    let oldest_first = key(&analyze_json(&["--min-dl", "0", older, &log]));
    assert!(oldest_first.len() > 5);
    assert!(oldest_first
        .iter()
        .all(|s| s.contains(&format!("-{:02}T", day - 1))));
    for j in ["1", "2"] {
        let newest_first = key(&analyze_json(&["--min-dl", "0", "-j", j, &log, older]));
        assert_eq!(newest_first, oldest_first, "-j {j}");
    }
}

/// Lines of a second host whose clock lags two seconds, mixed into one
/// file: one engine and the shards give the same report.
#[test]
fn a_lagging_clock_within_a_file_gives_the_serial_report() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(corpus("syslog.log")).unwrap();
    let mut out = String::new();
    for (i, l) in text.lines().enumerate() {
        let (stamp, rest) = l.split_at(15);
        let secs = |s: &str| -> u32 {
            s.split(':')
                .fold(0, |t, x| t * 60 + x.parse::<u32>().unwrap())
        };
        let t = if i % 10 == 3 {
            secs(&stamp[7..]) - 2
        } else {
            secs(&stamp[7..])
        };
        out += &format!(
            "{}{:02}:{:02}:{:02}{rest}\n",
            &stamp[..7],
            t / 3600,
            t / 60 % 60,
            t % 60
        );
    }
    let log = dir.path().join("two-hosts.log");
    std::fs::write(&log, out).unwrap();
    let log = log.to_str().unwrap();
    let one = without_inputs(analyze_json(&["--min-dl", "0", "-j", "1", log]));
    for j in ["2", "3"] {
        let many = without_inputs(analyze_json(&["--min-dl", "0", "-j", j, log]));
        assert!(one == many, "-j {j} differs from -j 1");
    }
}

/// A journal export record spans many lines, so every worker decodes it and
/// keeps the records of its shard: a source seen in the journal and in a
/// syslog file is one source, whatever the number of workers.
#[test]
fn a_journal_export_beside_a_syslog_file_is_sharded_like_the_rest() {
    let key = |r: &serde_json::Value| without_inputs(r.clone());
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("journal.export");
    let mut dec =
        flate2::read::GzDecoder::new(std::fs::File::open(corpus("journal.export.gz")).unwrap());
    std::io::copy(&mut dec, &mut std::fs::File::create(&plain).unwrap()).unwrap();
    let (gz, plain, log) = (
        corpus("journal.export.gz"),
        plain.to_str().unwrap().to_string(),
        corpus("syslog.log"),
    );
    let one = analyze_json(&["-j", "1", "--min-dl", "0", &plain, &log]);
    assert!(one["sources"].as_array().unwrap().len() > 20);
    for args in [
        ["-j", "2", &plain, &log],
        ["-j", "3", &plain, &log],
        ["-j", "2", &gz, &log],
        ["-j", "2", &log, &gz],
    ] {
        let mut all = vec!["--min-dl", "0"];
        all.extend(args);
        let r = analyze_json(&all);
        if args[2] == log {
            let first = analyze_json(&["-j", "1", "--min-dl", "0", &log, &gz]);
            assert!(key(&first) == key(&r), "{all:?} differs from -j 1");
        } else {
            assert!(key(&one) == key(&r), "{all:?} differs from -j 1");
        }
    }
}

#[test]
fn lines_that_are_not_utf8_are_counted_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("bytes.log");
    let line = std::fs::read_to_string(sample())
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let mut data = line.replace("IN_DROP", "IN_\u{1}DROP").into_bytes();
    data.extend_from_slice(b"\n");
    data.extend(line.bytes().map(|b| if b == b'_' { 0xff } else { b }));
    data.extend_from_slice(b"\n");
    std::fs::write(&log, data).unwrap();
    let r = analyze_json(&[log.to_str().unwrap()]);
    assert_eq!(r["totals"]["lines"], 2);
    assert_eq!(r["totals"]["firewall_lines"], 2);
}

/// Lines that are not UTF-8 amid tens of kilobytes of good ones (and CRLF
/// endings) cost none of their neighbours, and one engine reports what the
/// shards report.
#[test]
fn a_line_that_is_not_utf8_amid_a_block_keeps_its_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mixed.log");
    let text = std::fs::read_to_string(sample()).unwrap();
    let lines: Vec<&str> = text.lines().take(400).collect();
    let mut data = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if i % 150 == 75 {
            data.extend(l.bytes().map(|b| if b == b'_' { 0xff } else { b }));
        } else {
            data.extend_from_slice(l.as_bytes());
        }
        data.extend_from_slice(if i % 7 == 0 { b"\r\n" } else { b"\n" });
    }
    assert!(data.len() > 3 * (16 << 10), "{} bytes", data.len());
    std::fs::write(&log, data).unwrap();
    let log = log.to_str().unwrap();
    let one = analyze_json(&["-j", "1", "--min-dl", "0", log]);
    let good = analyze_json(&["-j", "1", "--min-dl", "0", &sample_head(&dir, &lines)]);
    assert_eq!(one["totals"]["lines"], 400);
    assert_eq!(
        one["totals"]["firewall_lines"],
        good["totals"]["firewall_lines"]
    );
    assert_eq!(one["totals"]["packets"], good["totals"]["packets"]);
    let two = analyze_json(&["-j", "2", "--min-dl", "0", log]);
    assert_eq!(one["sources"], two["sources"]);
    assert_eq!(one["totals"], two["totals"]);
}

/// `lines` written to a file of their own in `dir`.
fn sample_head(dir: &tempfile::TempDir, lines: &[&str]) -> String {
    let p = dir.path().join("good.log");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn toml_config_loads_and_a_typo_names_file_line_and_suggestion() {
    let example = repo().join("examples/tripline.toml");
    let out = run_ok(
        tripline()
            .args(["config", "check", "--config"])
            .arg(&example),
    );
    assert!(out.contains("configuration OK"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("t.toml");
    std::fs::write(&bad, "[detection]\nhome-nett = [\"198.51.100.0/24\"]\n").unwrap();
    let res = tripline()
        .args(["analyze", "--config"])
        .arg(&bad)
        .arg(sample())
        .output()
        .unwrap();
    assert!(!res.status.success());
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(
        err.contains("t.toml:2") && err.contains("did you mean home-net?"),
        "{err}"
    );
}

/// Forty forged sources sending the same probes at once are one decoy set
/// listing all forty; each member's evidence names 16 others and counts the
/// rest (so a group of thousands cannot make the report quadratic).
#[test]
fn a_large_decoy_set_is_one_group_and_each_evidence_stays_short() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("decoys.log");
    let mut text = String::new();
    for port in 1..=20 {
        for k in 0..40 {
            text.push_str(&format!(
                "Nov 21 10:00:00 fw1 kernel: [100.{k:06}] DROP IN=eth0 OUT= \
                 SRC=198.51.100.{} DST=203.0.113.1 LEN=44 TOS=0x00 PREC=0x00 TTL=50 \
                 ID=1 PROTO=TCP SPT=40000 DPT={port} WINDOW=1024 RES=0x00 SYN URGP=0\n",
                10 + k
            ));
        }
    }
    std::fs::write(&log, text).unwrap();
    let r = analyze_json(&["--min-dl", "0", log.to_str().unwrap()]);
    let groups = r["decoy_groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0]["members"].as_array().unwrap().len(), 40);
    let sources = r["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 40);
    for s in sources {
        let decoy: Vec<&str> = s["scan_types"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["kind"] == "decoy-set")
            .map(|t| t["evidence"].as_str().unwrap())
            .collect();
        assert_eq!(decoy.len(), 1, "{s}");
        let named = decoy[0].matches("198.51.100.").count();
        assert_eq!(named, 16, "{}", decoy[0]);
        assert!(decoy[0].ends_with(" and 23 more"), "{}", decoy[0]);
        assert!(!decoy[0].contains(&format!("{} ", s["src"].as_str().unwrap())));
    }
}

/// Issue 4: the decoy scan (`nmap -D`, corpus scan d15) is one set of four sources;
/// the ACK/Window/Maimon scanner and the fragment scanner are detected.
#[test]
fn corpus_decoys_grouped_and_scans_psad_misses_are_found() {
    let r = analyze_json(&["--min-dl", "0", &corpus("syslog.log")]);
    let groups = r["decoy_groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    let members: Vec<&str> = groups[0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["src"].as_str().unwrap())
        .collect();
    assert_eq!(
        members,
        [
            "198.51.100.14",
            "198.51.100.66",
            "198.51.100.67",
            "203.0.113.66"
        ]
    );
    let src = |ip: &str| {
        r["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["src"] == ip)
            .unwrap()
            .clone()
    };
    let ack = src("198.51.100.12");
    assert!(ack["danger_level"].as_u64().unwrap() >= 1);
    let kinds: Vec<&str> = ack["scan_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"tcp-ack") && kinds.contains(&"tcp-maimon"),
        "{kinds:?}"
    );
    let frag = src("203.0.113.21");
    assert!(frag["scan_types"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kind"] == "fragments"));
    // Benign hosts (corpus sources.tsv) stay below DL 2.
    for benign in [
        "198.51.100.200",
        "203.0.113.100",
        "203.0.113.101",
        "2001:db8:100::200",
        "2001:db8:100::201",
    ] {
        assert!(
            src(benign)["danger_level"].as_u64().unwrap() < 2,
            "{benign}"
        );
    }
}

/// Issue 4: scan kinds on the dev corpus, per labelled scan (labels.tsv).
#[test]
fn corpus_scan_kinds_match_the_labels() {
    let r = analyze_json(&["--min-dl", "0", &corpus("syslog.log")]);
    let kinds = |ip: &str| -> Vec<String> {
        let s = r["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["src"] == ip)
            .unwrap();
        s["scan_types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let expect = [
        ("198.51.100.10", &["tcp-syn", "tcp-connect", "vertical"][..]), // d01 -sS, d02 -sT
        ("198.51.100.11", &["tcp-fin", "tcp-xmas", "tcp-null"]),        // d03-d05
        ("198.51.100.12", &["tcp-ack", "tcp-maimon"]),                  // d06-d08 (-sA, -sW, -sM)
        ("198.51.100.13", &["udp", "ip-protocol"]),                     // d09 -sU, d10 -sO
        ("198.51.100.15", &["icmp-echo", "icmp-timestamp", "sweep"]),   // d18-d20 sweeps
        ("198.51.100.18", &["tcp-connect"]),                            // d31 python connect()
        ("203.0.113.20", &["os-detection"]),                            // d11 -O
        ("203.0.113.21", &["fragments", "tcp-syn"]),                    // d13/d14 -f
        ("2001:db8:100::14", &["tcp-ack", "icmp-echo", "sweep"]),       // d28-d30
    ];
    for (ip, want) in expect {
        let got = kinds(ip);
        for w in want {
            assert!(got.iter().any(|g| g == w), "{ip}: want {w}, got {got:?}");
        }
    }
    // nmap's raw SYN scan over IPv6 is not a connect() scan.
    assert!(!kinds("2001:db8:100::13").contains(&"tcp-connect".to_string()));
}

/// The Masscan marker flags SYNs without TCP options once options were seen
/// anywhere earlier in the log. With sources sharded over workers the line
/// that shows options lies in one shard; every other shard must still mark
/// the bare SYNs after it, and only those, as `-j 1` does.
#[test]
fn the_masscan_marker_is_the_same_whatever_the_jobs() {
    let syn = |src: &str, port: u16, opt: bool| {
        format!(
            "Nov 21 23:20:40 fw1 kernel: [ 8085.309164] IN_DROP IN=wan0 OUT= \
             MAC=52:54:00:1f:00:01:52:54:00:5c:00:0a:08:00 SRC={src} DST=203.0.113.1 LEN=44 \
             TOS=0x00 PREC=0x00 TTL=52 ID=42853 PROTO=TCP SPT=55018 DPT={port} WINDOW=1024 \
             RES=0x00 SYN URGP=0 {}\n",
            if opt { "OPT (020405B4) " } else { "" }
        )
    };
    let mut log = String::new();
    for i in 0..24 {
        if i == 12 {
            log += &syn("203.0.113.77", 80, true);
        }
        for port in 1..=3 {
            log += &syn(&format!("198.51.100.{}", 10 + i), port, false);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("scan.log");
    std::fs::write(&plain, &log).unwrap();
    let gz = dir.path().join("scan.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::Write::write_all(&mut enc, log.as_bytes()).unwrap();
    enc.finish().unwrap();
    let masscan = |r: &serde_json::Value| -> Vec<String> {
        let mut v: Vec<String> = r["sources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| {
                s["scan_types"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"] == "masscan")
            })
            .map(|s| s["src"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    // The same messages as a journal export, which every worker decodes whole.
    let export = dir.path().join("scan.export");
    let records: Vec<String> = log
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let msg = l.split_once("] ").unwrap().1;
            format!(
                "__CURSOR=s=1;i={i}\n__REALTIME_TIMESTAMP={}\n_HOSTNAME=fw1\n\
                 _TRANSPORT=kernel\nSYSLOG_IDENTIFIER=kernel\nMESSAGE={msg}\n\n",
                1_795_303_240_000_000u64 + i as u64
            )
        })
        .collect();
    std::fs::write(&export, records.concat()).unwrap();
    let (plain, gz) = (plain.to_str().unwrap(), gz.to_str().unwrap());
    let export = export.to_str().unwrap();
    let one = masscan(&analyze_json(&["-j", "1", "--min-dl", "0", plain]));
    let want: Vec<String> = {
        let mut v: Vec<String> = (22..34).map(|i| format!("198.51.100.{i}")).collect();
        v.sort();
        v
    };
    assert_eq!(one, want, "-j 1 marks the sources after the options, only");
    for args in [
        ["-j", "2", plain],
        ["-j", "3", plain],
        ["-j", "5", plain],
        ["-j", "2", gz],
        ["-j", "3", gz],
        ["-j", "1", export],
        ["-j", "2", export],
        ["-j", "3", export],
    ] {
        let mut all = vec!["--min-dl", "0"];
        all.extend(args);
        assert_eq!(masscan(&analyze_json(&all)), one, "{all:?}");
    }
}
