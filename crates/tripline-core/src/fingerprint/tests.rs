//! Fingerprinting on real inputs: Debian psad 2.4.6's `/etc/psad/pf.os` and
//! `/etc/psad/posf` (read by path, never copied), p0f 3's `/etc/p0f/p0f.fp`
//! (Debian package `p0f`; skipped with a note when absent), and the dev corpus
//! with psad's own results (`psad/summary.json`; skipped when absent).

use super::*;
use crate::parse::{parse_line, psad_view};
use crate::ParseOptions;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

const PSAD_PFOS: &str = "/etc/psad/pf.os";
const PSAD_POSF: &str = "/etc/psad/posf";
const P0F_FP: &str = "/etc/p0f/p0f.fp";
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/dev/");

fn read_psad(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("{path}: {e} (install Debian's psad package: apt-get install psad)")
    })
}

fn read_opt(path: &str) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Some(s),
        Err(_) => {
            eprintln!("note: {path} not found, skipping");
            None
        }
    }
}

fn psad_fps() -> Fingerprints {
    Fingerprints {
        pfos: PfOs::parse(&read_psad(PSAD_PFOS), PSAD_PFOS).unwrap(),
        posf: Posf::parse(&read_psad(PSAD_POSF), PSAD_POSF).unwrap(),
        p0f3: None,
        max_hops: DEFAULT_MAX_HOPS,
    }
}

/// Feed every corpus line the way psad 2.4.6 reaches its fingerprinting:
/// TCP with ACK or RST is dropped first (`IGNORE_CONNTRACK_BUG_PKTS`), the
/// packet is psad's view of the line, and the pair counter is psad's absnum.
fn run_corpus(log: &str, fps: &Fingerprints, compat: bool) -> HashMap<IpAddr, OsState> {
    let opts = ParseOptions::default();
    let mut pairs: HashMap<(IpAddr, IpAddr), u64> = HashMap::new();
    let mut states: HashMap<IpAddr, OsState> = HashMap::new();
    for line in log.lines() {
        let Ok(Some(p)) = parse_line(line, &opts) else {
            continue;
        };
        let p = if compat { psad_view(line, &p) } else { p };
        if p.tcp_flags().0 & (TcpFlags::ACK | TcpFlags::RST) != 0 {
            continue;
        }
        let n = pairs.entry((p.src, p.dst)).or_default();
        *n += 1;
        if p.tcp_flags().has(TcpFlags::SYN) {
            states
                .entry(p.src)
                .or_default()
                .observe(&p, fps, compat, *n);
        }
    }
    states
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn psad_databases_load_like_psad() {
    let fps = psad_fps();
    // 239 active lines, 6 with MTU-based (Tnn) windows dropped.
    assert_eq!(fps.pfos.len(), 233);
    assert_eq!(fps.pfos.discarded(), 6);
    // 11 OS blocks; HPUX 10.x, HPUX 11.x and Nokia IPSO 3.4 lack the ';' after
    // OS and overwrite Solaris 8, which ends up with Nokia's WINDOW/LEN/TOS.
    assert_eq!(fps.posf.len(), 8);
    let sol8 = (0..fps.posf.len())
        .find(|&i| fps.posf.os(i) == Some("Solaris 8"))
        .unwrap();
    assert_eq!(
        fps.posf.sig(sol8),
        Some("NUMPKTS 3; TOS 0x10; LEN 68; TTL 64; ID SMALLINCR; WINDOW 16384")
    );
    let skipped: Vec<u32> = fps.posf.warnings().iter().map(|w| w.line).collect();
    assert_eq!(skipped.len(), 4, "{:?}", fps.posf.warnings());
}

#[test]
fn builtin_databases_parse_cleanly() {
    let fps = Fingerprints::builtin();
    assert!(fps.pfos.len() >= 10);
    assert_eq!(fps.pfos.discarded(), 0);
    assert_eq!(fps.posf.len(), 4);
    assert!(fps.posf.warnings().is_empty(), "{:?}", fps.posf.warnings());
}

#[test]
fn os_state_is_small() {
    assert!(
        std::mem::size_of::<OsState>() <= 32,
        "{}",
        std::mem::size_of::<OsState>()
    );
    assert!(std::mem::size_of::<PosfEvidence>() <= 48);
}

/// ACCEPTANCE: with psad's own databases, our guesses equal psad's for every
/// source psad reports (`summary.json` `os_guess`, the "Source OS
/// fingerprint(s)" list of `-A` analysis).
#[test]
fn guesses_equal_psad_on_dev_corpus() {
    let (Some(log), Some(summary)) = (
        read_opt(&format!("{CORPUS}syslog.log")),
        read_opt(&format!("{CORPUS}psad/summary.json")),
    ) else {
        return;
    };
    let fps = psad_fps();
    let states = run_corpus(&log, &fps, true);
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    let sources = summary["sources"].as_object().unwrap();
    let mut with_guess = 0;
    for (src, v) in sources {
        let want: BTreeSet<String> = v["os_guess"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap().to_string())
            .collect();
        let got: BTreeSet<String> = states
            .get(&ip(src))
            .map(|s| {
                s.guesses(&fps)
                    .filter(|g| g.method != Method::P0f3)
                    .map(|g| g.os.to_string())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(got, want, "source {src}");
        with_guess += usize::from(!want.is_empty());
    }
    assert_eq!(sources.len(), 21);
    assert_eq!(with_guess, 1);
    // psad's example from the brief, with the matching pf.os lines.
    let s = &states[&ip("198.51.100.18")];
    let g: BTreeMap<&str, &str> = s.guesses(&fps).map(|g| (g.os, g.matched)).collect();
    assert_eq!(
        g,
        BTreeMap::from([
            (
                "Linux:2.4::Linux 2.4/2.6 <= 2.6.7",
                "S4:64:1:60:M*,S,T,N,W0"
            ),
            (
                "Linux:2.6:.1-7:Linux 2.4/2.6 <= 2.6.7",
                "S4:64:1:60:M*,S,T,N,W0"
            ),
        ])
    );
    // Sources psad does not report (no alert) get what psad would have kept.
    let embedded: Vec<_> = states[&ip("203.0.113.101")]
        .guesses(&fps)
        .map(|g| g.os)
        .collect();
    assert_eq!(embedded.len(), 2, "{embedded:?}");
}

#[test]
fn psad_report_prefers_exact_over_at_guesses() {
    let db = "S4:64:1:60:M*,S,T,N,W0:  Linux:2.4::Linux\n\
              *:64:1:60:M*,S,T,N,W*:  @Linux:2.x::approximate\n\
              *:64:1:*:.:  @Any:x::anything with DF\n";
    let fps = Fingerprints {
        pfos: PfOs::parse(db, "t").unwrap(),
        ..Fingerprints::empty()
    };
    let line = "Nov 21 23:22:07 fw1 kernel: [ 8172.420366] IN_DROP IN=wan0 OUT= MAC=52:54:00:1f:00:01:52:54:00:5c:00:12:08:00 SRC=198.51.100.18 DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=17646 DF PROTO=TCP SPT=45484 DPT=1 WINDOW=5840 RES=0x00 SYN URGP=0 OPT (020405B40402080A2E78921E0000000001030300) ";
    let p = parse_line(line, &ParseOptions::default()).unwrap().unwrap();
    let mut s = OsState::default();
    assert!(s.observe(&p, &fps, true, 1));
    assert!(
        !s.observe(&p, &fps, true, 2),
        "same packet adds nothing new"
    );
    assert_eq!(s.guesses(&fps).count(), 3);
    let r: Vec<_> = s.psad_report(&fps).map(|g| g.os).collect();
    assert_eq!(r, vec!["Linux:2.4::Linux"]);
    let at: Vec<_> = s.guesses(&fps).map(|g| g.quality).collect();
    assert_eq!(at, vec![Quality::Exact, Quality::Generic, Quality::Generic]);
}

#[test]
fn builtin_guesses_on_dev_corpus() {
    let Some(log) = read_opt(&format!("{CORPUS}syslog.log")) else {
        return;
    };
    let fps = Fingerprints::builtin();
    let states = run_corpus(&log, &fps, false);
    let os = |src: &str| -> Vec<&str> {
        states
            .get(&ip(src))
            .map(|s| s.guesses(&fps).map(|g| g.os).collect())
            .unwrap_or_default()
    };
    let linux = "Linux:3.x-6.x::Linux 3.x or newer";
    let nmap = "NMap:SYN scan::nmap SYN scan (-sS)";
    assert_eq!(os("198.51.100.10"), vec![nmap, linux]);
    assert_eq!(os("198.51.100.14"), vec![nmap]);
    assert_eq!(os("203.0.113.21"), vec![nmap]);
    assert_eq!(
        os("198.51.100.18"),
        vec!["Linux:2.6-6.x:rcvbuf:Linux with a 4 x MSS receive window"]
    );
    assert_eq!(os("203.0.113.101"), os("198.51.100.18"));
    assert_eq!(os("198.51.100.200"), vec![linux]);
    assert_eq!(os("203.0.113.100"), vec![linux]);
    assert_eq!(
        os("203.0.113.20"),
        vec![nmap, "NMap:OS detection::nmap OS detection probe (-O)"]
    );
    assert_eq!(os("198.51.100.1"), vec![linux, "hping3 (default SYN)"]);
    assert_eq!(os("198.51.100.16"), vec!["hping3 (default SYN)"]);
    assert_eq!(
        os("203.0.113.23"),
        vec![nmap, "nmap SYN scan (TCP options not logged)"]
    );
}

/// p0f 3's database on the corpus: nmap's raw SYNs, a Linux connect()
/// scanner and the firewall's own Linux SYNs are recognised per packet.
#[test]
fn p0f3_recognises_corpus_syns() {
    let (Some(fp), Some(log)) = (read_opt(P0F_FP), read_opt(&format!("{CORPUS}syslog.log"))) else {
        return;
    };
    let db = P0f3::parse(&fp, P0F_FP).unwrap();
    assert_eq!(db.len(), 91);
    let opts = ParseOptions::default();
    let first = |src: &str, extra: &str| {
        let needle = format!("SRC={src} ");
        let line = log
            .lines()
            .find(|l| l.contains(&needle) && l.contains(" SYN URGP") && l.contains(extra))
            .unwrap();
        let p = parse_line(line, &opts).unwrap().unwrap();
        let (i, q) = db.best_match(&P0fPacket::from_packet(&p).unwrap()).unwrap();
        (db.label(i).unwrap(), db.sig(i).unwrap(), q)
    };
    assert_eq!(
        first("198.51.100.10", "WINDOW=1024"),
        (
            "s:!:NMap:SYN scan",
            "*:64-:0:1460:1024,0:mss::0",
            Quality::Exact
        )
    );
    assert_eq!(
        first("198.51.100.18", "OPT"),
        (
            "s:unix:Linux:2.4.x",
            "*:64:0:*:mss*4,0:mss,sok,ts,nop,ws:df,id+:0",
            Quality::Exact
        )
    );
    assert_eq!(
        first("198.51.100.1", "OUT=wan0"),
        (
            "g:unix:Linux:2.2.x-3.x",
            "*:64:0:*:*,*:mss,sok,ts,nop,ws:df,id+:0",
            Quality::Generic
        )
    );
    // Per source through OsState, IPv6 included outside compat mode.
    let fps = Fingerprints {
        p0f3: Some(db),
        ..Fingerprints::empty()
    };
    let states = run_corpus(&log, &fps, false);
    let label = |src: &str| states[&ip(src)].p0f3(&fps).map(|g| g.os);
    assert_eq!(label("198.51.100.10"), Some("s:!:NMap:SYN scan"));
    assert_eq!(label("198.51.100.18"), Some("s:unix:Linux:2.4.x"));
    assert_eq!(label("198.51.100.14"), Some("s:!:NMap:SYN scan"));
    // nmap's IPv6 SYNs leave with hop limit 255, above p0f's `64-` nmap
    // signature, so p0f itself only offers a fuzzy generic Linux match.
    let v6 = ip("2001:db8:100::13");
    let g = states[&v6].p0f3(&fps).unwrap();
    assert_eq!(
        (g.os, g.matched, g.quality),
        (
            "g:unix:Linux:2.2.x-3.x (barebone)",
            "*:64:0:*:*,0:mss:df,id+:0",
            Quality::Fuzzy
        )
    );
    // psad's compat mode skips IPv6 entirely.
    let compat = run_corpus(&log, &fps, true);
    assert!(compat.get(&v6).is_none_or(|s| s.is_empty()));
}

/// The p0f.fp file parses, and each of its lines, made malformed, is
/// reported at its own line.
#[test]
fn p0f3_errors_name_file_and_line() {
    let Some(fp) = read_opt(P0F_FP) else {
        return;
    };
    let lines: Vec<&str> = fp.lines().collect();
    let idx = lines
        .iter()
        .position(|l| l.starts_with("sig") && l.contains("mss*20,10"))
        .unwrap();
    let mut bad = lines.clone();
    bad[idx] = "sig   = *:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,idd+:0";
    let e = P0f3::parse(&bad.join("\n"), P0F_FP).unwrap_err();
    assert_eq!(e.line as usize, idx + 1);
    assert!(e.to_string().starts_with("/etc/p0f/p0f.fp:"), "{e}");
}

fn db_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9A-Za-z%*:,.@ \t;=\\[\\]+?#-]{0,60}",
        Just("S4:64:1:60:M*,S,T,N,W0:  Linux:2.4::x".to_string()),
        Just("%0:64:0:44:M1460:  x".to_string()),
        Just("OS x;".to_string()),
        Just("NUMPKTS 99999999999999999999999;".to_string()),
        Just("[tcp:request]".to_string()),
        Just("label = s:unix:Linux:3.x".to_string()),
        Just("sig = *:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0".to_string()),
        Just("sig = 4:255+9:0:*:%0,*:eol+300::+".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Malformed databases give an error naming a real line; nothing panics.
    #[test]
    fn parsers_never_panic(lines in proptest::collection::vec(db_line(), 0..12)) {
        let text = lines.join("\n");
        let n = lines.len() as u32;
        for r in [
            PfOs::parse(&text, "f").map(|_| ()),
            Posf::parse(&text, "f").map(|_| ()),
            P0f3::parse(&text, "f").map(|_| ()),
        ] {
            if let Err(e) = r {
                prop_assert!(e.line >= 1 && e.line <= n.max(1), "{e}");
                prop_assert!(e.to_string().starts_with("f:"));
            }
        }
    }

    /// Any option text and any packet fields: options parse and every matcher
    /// runs without panicking.
    #[test]
    fn matchers_never_panic(
        hex in "[0-9A-Fa-f]{0,100}",
        win in any::<u16>(),
        ttl in any::<u8>(),
        len in 0u32..70000,
        id in any::<u16>(),
        df in any::<bool>(),
    ) {
        let _ = TcpOptions::parse_hex(&hex, true);
        let _ = PsadOptions::parse_hex(&hex);
        let fps = Fingerprints::builtin();
        let line = format!(
            "Nov 21 23:22:07 fw1 kernel: IN_DROP IN=wan0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN={len} TOS=0x00 PREC=0x00 TTL={ttl} ID={id} {}PROTO=TCP SPT=1 DPT=2 WINDOW={win} RES=0x00 SYN URGP=0 {}",
            if df { "DF " } else { "" },
            if hex.is_empty() { String::new() } else { format!("OPT ({hex})") },
        );
        if let Ok(Some(p)) = parse_line(&line, &ParseOptions::default()) {
            let mut s = OsState::default();
            let _ = s.observe(&p, &fps, false, 1);
            let _ = s.guesses(&fps).count();
            let _ = P0fPacket::from_packet(&p);
        }
    }
}
