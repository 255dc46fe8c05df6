//! Parser checks against the real labelled corpus in `shared/corpus/dev`:
//! psad 2.4.6's rejected lines (`psad/fwerrorlog.txt`), psad's CSV of the
//! accepted ones, and the same kernel lines in all five corpus formats plus
//! kmsg and JSON forms built from them. Skipped (with a note) when the
//! corpus is not present.

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use tripline_core::packet::Header;
use tripline_core::parse::{
    decode_journal_json, parse_line, parse_message, psad_compat_check, JournalExport,
};
use tripline_core::{ParseOptions, Timestamp};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/dev/");

fn read(name: &str) -> Option<String> {
    let path = format!("{CORPUS}{name}");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(_) => {
            eprintln!("note: {path} not found, skipping");
            return None;
        }
    };
    if name.ends_with(".gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .expect("gunzip");
        Some(s)
    } else {
        Some(String::from_utf8(bytes).expect("utf-8"))
    }
}

/// 2026-11-22T00:00:00Z: the corpus was recorded the evening before.
fn opts() -> ParseOptions {
    ParseOptions {
        now: Timestamp::from_secs(1_795_305_600),
        utc_offset_secs: 0,
    }
}

#[test]
fn psad_rejects_exactly_fwerrorlog() {
    let (Some(log), Some(errs)) = (read("syslog.log"), read("psad/fwerrorlog.txt")) else {
        return;
    };
    let o = opts();
    let mut ours: Vec<&str> = Vec::new();
    let mut parse_errors = 0;
    for line in log.lines() {
        match parse_line(line, &o) {
            Err(_) => {
                parse_errors += 1;
                ours.push(line);
            }
            Ok(None) => {}
            Ok(Some(p)) => {
                if psad_compat_check(line, &p).is_err() {
                    ours.push(line);
                }
            }
        }
    }
    let theirs: Vec<&str> = errs.lines().collect();
    let missing: Vec<_> = theirs
        .iter()
        .filter(|l| !ours.contains(l))
        .take(5)
        .collect();
    let extra: Vec<_> = ours
        .iter()
        .filter(|l| !theirs.contains(l))
        .take(5)
        .collect();
    eprintln!(
        "rejected: ours {} (parse errors {parse_errors}), psad {}",
        ours.len(),
        theirs.len()
    );
    assert!(
        missing.is_empty(),
        "psad rejected, we accepted: {missing:#?}"
    );
    assert!(extra.is_empty(), "we rejected, psad accepted: {extra:#?}");
    assert_eq!(ours, theirs);
}

/// psad's IPv6 text is the kernel's full form.
fn addr(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v) => v.to_string(),
        IpAddr::V6(v) => v
            .segments()
            .iter()
            .map(|g| format!("{g:04x}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Nov 21 23:20:40` from a timestamp (UTC), the way psad echoes the stamp.
fn syslog_time(t: Timestamp) -> String {
    let secs = t.secs();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!(
        "{} {:2} {:02}:{:02}:{:02}",
        MONTHS[(m - 1) as usize],
        d,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[test]
fn psad_csv_agrees() {
    let (Some(log), Some(csv)) = (read("syslog.log"), read("psad/csv.txt.gz")) else {
        return;
    };
    let o = opts();
    let mut rows = Vec::new();
    for line in log.lines() {
        let Ok(Some(p)) = parse_line(line, &o) else {
            continue;
        };
        if psad_compat_check(line, &p).is_err() {
            continue;
        }
        let flags = p.tcp_flags();
        // psad IGNOREs TCP with ACK or RST by default (IGNORE_CONNTRACK_BUG_PKTS).
        if p.tcp.is_some() && (flags.0 & 0x14) != 0 {
            continue;
        }
        let (sp, dp) = match p.proto {
            tripline_core::Proto::Icmp | tripline_core::Proto::Icmp6 => ("0".into(), "0".into()),
            _ => (
                p.sport.map_or("-1".into(), |v| v.to_string()),
                p.dport.map_or("-1".into(), |v| v.to_string()),
            ),
        };
        let prefix: String = p
            .prefix
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        rows.push(format!(
            "{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}",
            syslog_time(p.header.time.expect("time")),
            addr(p.src),
            addr(p.dst),
            sp,
            dp,
            p.proto,
            if p.tcp.is_some() {
                flags.to_string()
            } else {
                "-1".into()
            },
            p.len,
            p.interface(),
            p.chain,
            prefix
        ));
    }
    let theirs: Vec<&str> = csv.lines().collect();
    for (i, (a, b)) in rows.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "csv row {i}");
    }
    assert_eq!(rows.len(), theirs.len());
}

/// An owned journal record: time, host, uptime, message.
type JournalRow = (Option<Timestamp>, Option<String>, Option<u64>, String);

/// Everything but the header must be identical across formats.
fn body(p: &tripline_core::Packet<'_>) -> String {
    let mut q = *p;
    q.header = Header::default();
    tripline_core::parse::dump_packet(&q)
}

#[test]
fn all_formats_agree() {
    let (Some(sys), Some(iso), Some(rfc), Some(dmesg), Some(export)) = (
        read("syslog.log"),
        read("rsyslog-iso.log"),
        read("rfc5424.log.gz"),
        read("dmesg.log"),
        read("journal.export.gz"),
    ) else {
        return;
    };
    let o = opts();
    let mut dec = JournalExport::new();
    let mut journal: Vec<JournalRow> = Vec::new();
    let mut take = |e: Option<tripline_core::parse::JournalEntry<'_>>| {
        if let Some(e) = e {
            journal.push((
                e.header.time,
                e.header.host.map(str::to_owned),
                e.header.uptime_us,
                e.message.into_owned(),
            ));
        }
    };
    for line in export.lines() {
        take(dec.push_line(line));
    }
    take(dec.finish());

    let (sys, iso, rfc, dmesg): (Vec<_>, Vec<_>, Vec<_>, Vec<_>) = (
        sys.lines().collect(),
        iso.lines().collect(),
        rfc.lines().collect(),
        dmesg.lines().collect(),
    );
    assert_eq!(sys.len(), 71_695);
    for v in [&iso, &rfc, &dmesg] {
        assert_eq!(v.len(), sys.len());
    }
    assert_eq!(journal.len(), sys.len());
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for i in 0..sys.len() {
        let a = parse_line(sys[i], &o);
        let want = match &a {
            Ok(Some(p)) => body(p),
            other => format!("{other:?}"),
        };
        let (jt, jh, ju, jm) = &journal[i];
        let jheader = Header {
            time: *jt,
            host: jh.as_deref(),
            uptime_us: *ju,
        };
        let uptime = match &a {
            Ok(Some(p)) => p.header.uptime_us,
            _ => None,
        };
        assert_eq!(*ju, uptime, "journal uptime, line {i}");
        let json = serde_json::json!({
            "MESSAGE": jm,
            "_HOSTNAME": jh,
            "__REALTIME_TIMESTAMP": jt.map(|t| t.0.to_string()),
        })
        .to_string();
        let kmsg = format!("4,{},{},-;{}", 165_017 + i, ju.unwrap_or(0), jm);
        let forms: [(&str, Result<Option<tripline_core::Packet<'_>>, _>); 6] = [
            ("iso", parse_line(iso[i], &o)),
            ("rfc5424", parse_line(rfc[i], &o)),
            ("dmesg", parse_line(dmesg[i], &o)),
            ("export", parse_message(jm, jheader)),
            ("json", parse_line(&json, &o)),
            ("kmsg", parse_line(&kmsg, &o)),
        ];
        for (name, r) in forms {
            let got = match &r {
                Ok(Some(p)) => body(p),
                other => format!("{other:?}"),
            };
            assert_eq!(got, want, "{name} line {i}: {}", sys[i]);
            if let Ok(Some(p)) = &r {
                let h = p.header;
                match name {
                    "dmesg" | "kmsg" => assert_eq!(h.uptime_us, uptime, "{name} uptime"),
                    _ => {
                        assert_eq!(h.host, jh.as_deref(), "{name} host line {i}");
                        assert_eq!(h.time, *jt, "{name} time line {i}");
                    }
                }
                *counts.entry(name).or_default() += 1;
            }
        }
        // The syslog stamp has whole seconds only.
        if let (Ok(Some(p)), Some(t)) = (&a, jt) {
            assert_eq!(p.header.time.map(|t| t.secs()), Some(t.secs()));
        }
        let _ = decode_journal_json(&json).expect("json decodes");
    }
    eprintln!("parsed per format: {counts:?}");
}
