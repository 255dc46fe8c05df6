//! Signature tests: psad's real files, every keyword, errors, each compat
//! quirk, and real corpus lines (including a cross-check against psad).

use super::*;
use crate::packet::{Chain, Header, Icmp, IpFlags, Proto, Tcp, TcpFlags};
use std::collections::HashMap;
use std::net::IpAddr;

const PSAD_SIGS: &str = "/etc/psad/signatures";
const CORPUS: &str = "/work/shared/corpus/dev/syslog.log";
const PSAD_ERRS: &str = "/work/shared/corpus/dev/psad/fwerrorlog.txt";
const PSAD_TAR: &str = "/work/shared/corpus/dev/psad/ipt_analysis.tar.gz";

/// psad.conf's defaults for the variables its signature file uses.
fn psad_vars(name: &str) -> Option<String> {
    Some(
        match name {
            "HOME_NET" | "EXTERNAL_NET" | "HTTP_SERVERS" | "SQL_SERVERS" => "any",
            "HTTP_PORTS" => "80",
            "SHELLCODE_PORTS" => "!80",
            _ => return None,
        }
        .to_string(),
    )
}

fn no_vars(_: &str) -> Option<String> {
    None
}

fn psad_set() -> Option<SignatureSet> {
    let text = std::fs::read_to_string(PSAD_SIGS).ok()?;
    Some(SignatureSet::parse(&text, PSAD_SIGS, &psad_vars).unwrap())
}

fn one(rule: &str) -> SignatureSet {
    SignatureSet::parse(rule, "t", &psad_vars).unwrap_or_else(|e| panic!("{e}"))
}

fn err(rule: &str) -> String {
    SignatureSet::parse(rule, "t", &psad_vars)
        .unwrap_err()
        .to_string()
}

// ---- hand-built packets -------------------------------------------------

fn base(src: &str, dst: &str, proto: Proto) -> Packet<'static> {
    Packet {
        header: Header::default(),
        prefix: "",
        in_if: "eth0",
        out_if: "",
        physin: "",
        physout: "",
        mac: "",
        mac_dst: "",
        chain: Chain::Input,
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        len: 40,
        tos: 0,
        prec: 0,
        ttl: 64,
        ip_id: if src.contains(':') { None } else { Some(1) },
        flow_label: None,
        ip_flags: IpFlags::default(),
        frag: None,
        ip_options: "",
        ipv6_opt_groups: 0,
        proto,
        sport: None,
        dport: None,
        tcp: None,
        udp_len: None,
        icmp: None,
        incomplete: false,
        uid: None,
        gid: None,
        mark: None,
    }
}

fn flags(text: &str) -> TcpFlags {
    let mut f = 0;
    for w in text.split_whitespace() {
        f |= TcpFlags::NAMES
            .iter()
            .find(|(n, _)| *n == w)
            .map_or(0, |x| x.1);
    }
    TcpFlags(f)
}

fn tcp(src: &str, dst: &str, sport: u16, dport: u16, fl: &str) -> Packet<'static> {
    let mut p = base(src, dst, Proto::Tcp);
    p.sport = Some(sport);
    p.dport = Some(dport);
    p.tcp = Some(Tcp {
        window: 1024,
        flags: flags(fl),
        ..Tcp::default()
    });
    p
}

fn udp(src: &str, dst: &str, sport: u16, dport: u16, udp_len: u32) -> Packet<'static> {
    let mut p = base(src, dst, Proto::Udp);
    p.sport = Some(sport);
    p.dport = Some(dport);
    p.udp_len = Some(udp_len);
    p.len = udp_len + 20;
    p
}

fn icmp(
    src: &str,
    dst: &str,
    kind: u8,
    code: u8,
    id: Option<u16>,
    seq: Option<u16>,
) -> Packet<'static> {
    let mut p = base(
        src,
        dst,
        if src.contains(':') {
            Proto::Icmp6
        } else {
            Proto::Icmp
        },
    );
    p.icmp = Some(Icmp {
        kind,
        code,
        id,
        seq,
        ..Icmp::default()
    });
    p.len = 28;
    p
}

/// A rule that never matches; pushing it makes a set's index stale, so the
/// set falls back to testing every rule the slow way.
fn dead_rule() -> Signature {
    let text = "alert ip 0.0.0.0/32 any -> 0.0.0.0/32 any (msg:\"x\"; psad_id:1;)";
    let mut s = SignatureSet::parse(text, "t", &no_vars)
        .unwrap()
        .sigs
        .remove(0);
    s.key = u32::MAX;
    s
}

/// Keys of the rules matching `p` (checked against the slow path).
fn keys(set: &SignatureSet, p: &Packet<'_>, compat: bool) -> Vec<u32> {
    let mut out = Vec::new();
    set.match_packet(p, compat, &mut out);
    let mut stale = set.clone();
    stale.sigs.push(dead_rule());
    let mut slow = Vec::new();
    stale.match_packet(p, compat, &mut slow);
    let mut fast = out.clone();
    fast.sort_unstable();
    slow.sort_unstable();
    assert_eq!(fast, slow, "index and slow path disagree");
    let mut k: Vec<u32> = out.iter().map(|&i| set.sigs[i as usize].key).collect();
    k.sort_unstable();
    k
}

fn hit(set: &SignatureSet, p: &Packet<'_>, compat: bool) -> bool {
    !keys(set, p, compat).is_empty()
}

// ---- corpus lines through the real parser --------------------------------

fn kline(line: &str) -> Option<Packet<'_>> {
    crate::parse::parse_line(line, &crate::parse::ParseOptions::default())
        .ok()
        .flatten()
}

/// The first corpus line containing all of `needles`.
fn corpus_line(lines: &[&'static str], needles: &[&str]) -> &'static str {
    lines
        .iter()
        .find(|l| needles.iter().all(|n| l.contains(n)))
        .unwrap_or_else(|| panic!("no corpus line with {needles:?}"))
}

fn corpus() -> Option<Vec<&'static str>> {
    let text = std::fs::read_to_string(CORPUS).ok()?;
    Some(Box::leak(text.into_boxed_str()).lines().collect())
}

// ---- files --------------------------------------------------------------

#[test]
fn psad_signatures_file_imports_206() {
    let Some(set) = psad_set() else { return };
    assert_eq!(set.sigs.len(), 206);
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    assert_eq!(set.next_rule_id(), 100211);
    let s = &set.sigs[set.find(1421).unwrap() as usize];
    assert_eq!(s.msg, "SNMP AgentX/tcp request");
    assert_eq!(
        (s.psad_id, s.key_is_psad_id, s.proto, s.dl),
        (100001, false, "tcp", 2)
    );
    assert_eq!(s.classtype.as_deref(), Some("attempted-recon"));
    assert_eq!(s.references.len(), 5);
    assert_eq!(s.references[0], ("bugtraq".to_string(), "4088".to_string()));
    let s = &set.sigs[set.find(100002).unwrap() as usize];
    assert!(s.key_is_psad_id && s.sid.is_none());
    assert_eq!(s.derived_sids, ["223", "231", "232"]);
    // Escaped semicolons inside a reference.
    let s = &set.sigs[set.find(1321).unwrap() as usize];
    assert!(s.references[0].1.ends_with("kb;EN-US;q138268"));
    assert_eq!(s.cond.ttl.unwrap().compat, (0, 0));
    // psad's "(SPA)" message with parentheses.
    assert!(set.sigs.iter().any(|s| s.msg.contains("(SPA)")));
    let counts = |p: &str| set.sigs.iter().filter(|s| s.proto == p).count();
    assert_eq!(
        counts("tcp") + counts("udp") + counts("icmp") + counts("ip"),
        206
    );
    // Real snort_rule_dl (all comments) changes nothing.
    if let Ok(t) = std::fs::read_to_string("/etc/psad/snort_rule_dl") {
        let mut set = set.clone();
        assert_eq!(set.apply_rule_dl(&RuleDl::parse(&t)), 0);
    }
}

#[test]
fn psad_file_non_strict_and_classification() {
    let Ok(text) = std::fs::read_to_string(PSAD_SIGS) else {
        return;
    };
    // Re-enable the disabled rules that use `fragbits` (unsupported), with
    // fresh ids: strict mode dies on them, non-strict mode skips them.
    fn renumber(r: &str, key: &str, n: u32) -> String {
        match r.find(key) {
            Some(i) => {
                let end = r[i..].find(';').map_or(r.len(), |e| i + e);
                format!("{}{key}{n}{}", &r[..i], &r[end..])
            }
            None => r.to_string(),
        }
    }
    let mut extra = 0;
    let mut opened = text.clone();
    for l in text
        .lines()
        .filter(|l| l.starts_with("#alert") && l.contains("fragbits:"))
    {
        extra += 1;
        let r = renumber(
            &renumber(&l[1..], "psad_id:", 900_000 + extra),
            "sid:",
            910_000 + extra,
        );
        opened.push_str(&r);
        opened.push('\n');
    }
    assert!(extra >= 2);
    let e = SignatureSet::parse(&opened, PSAD_SIGS, &psad_vars).unwrap_err();
    assert!(
        e.msg.contains("unsupported rule option \"fragbits\""),
        "{e}"
    );
    assert!(e.to_string().starts_with("/etc/psad/signatures:"));
    let opts = SigParseOptions {
        strict: false,
        ..SigParseOptions::default()
    };
    let set = SignatureSet::parse_with(&opened, PSAD_SIGS, &psad_vars, &opts).unwrap();
    assert_eq!(set.sigs.len(), 206);
    assert_eq!(set.warnings.len(), extra as usize);
    // Without psad_dl the classtype decides.
    let cl = Classification::parse("config classification: attempted-admin,Attempted Admin,1\n");
    let opts = SigParseOptions {
        classification: Some(&cl),
        ..SigParseOptions::default()
    };
    let r = "alert tcp any any -> any 1 (msg:\"a\"; classtype:attempted-admin; psad_id:1;)\n\
             alert tcp any any -> any 1 (msg:\"b\"; classtype:other; psad_id:2;)\n\
             alert tcp any any -> any 1 (msg:\"c\"; classtype:attempted-admin; psad_id:3; psad_dl:1;)";
    let set = SignatureSet::parse_with(r, "t", &no_vars, &opts).unwrap();
    assert_eq!(set.sigs.iter().map(|s| s.dl).collect::<Vec<_>>(), [5, 2, 1]);
}

#[test]
fn builtin_set() {
    let set = SignatureSet::builtin();
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    assert_eq!(
        set.sigs.len(),
        BUILTIN_SIGNATURES
            .lines()
            .filter(|l| l.starts_with("alert"))
            .count()
    );
    assert!(set.sigs.len() >= 80);
    for s in &set.sigs {
        assert!((1..=4).contains(&s.dl), "{}", s.msg);
        assert!(s.key_is_psad_id && (300_001..=300_999).contains(&s.key));
    }
    // psad's parser semantics load it too (strict, vars resolved).
    let home = |n: &str| match n {
        "HOME_NET" => Some("192.0.2.0/24".to_string()),
        "EXTERNAL_NET" => Some("any".to_string()),
        _ => None,
    };
    let s = SignatureSet::builtin_with(&home);
    assert_eq!(s.sigs.len(), set.sigs.len());
    assert!(s.sigs[0].cond.dst.nets[0].contains("192.0.2.9".parse().unwrap()));
    // A missing variable gives an empty set with the error as a warning.
    let s = SignatureSet::builtin_with(&no_vars);
    assert!(s.sigs.is_empty() && s.warnings[0].msg.contains("_NET is not defined"));
}

#[test]
fn builtin_matches_crafted_traffic() {
    let set = SignatureSet::builtin();
    let msg = |p: &Packet<'_>, compat: bool| -> Vec<String> {
        let mut out = Vec::new();
        set.match_packet(p, compat, &mut out);
        out.iter()
            .map(|&i| set.sigs[i as usize].msg.clone())
            .collect()
    };
    for compat in [false, true] {
        let x = |s: &str| s.to_string();
        assert_eq!(
            msg(&tcp("203.0.113.5", "192.0.2.1", 4000, 80, "FIN"), compat),
            [x("TRIPLINE-SCAN FIN scan")]
        );
        assert_eq!(
            msg(&tcp("203.0.113.5", "192.0.2.1", 4000, 80, ""), compat),
            [x("TRIPLINE-SCAN NULL scan, no flags set")]
        );
        assert_eq!(
            msg(
                &tcp("203.0.113.5", "192.0.2.1", 4000, 80, "URG PSH FIN"),
                compat
            )
            .len(),
            1
        );
        assert_eq!(
            msg(&tcp("203.0.113.5", "192.0.2.1", 4000, 1433, "SYN"), compat).len(),
            1
        );
        assert_eq!(
            msg(&tcp("203.0.113.5", "192.0.2.1", 4000, 12345, "SYN"), compat)[0],
            "TRIPLINE-BACKDOOR NetBus connection attempt"
        );
        assert!(msg(&tcp("203.0.113.5", "192.0.2.1", 4000, 80, "SYN"), compat).is_empty());
        assert!(msg(&tcp("203.0.113.5", "192.0.2.1", 4000, 22, "SYN"), compat).is_empty());
        let mut slam = udp("203.0.113.5", "192.0.2.1", 4000, 1434, 384);
        assert_eq!(msg(&slam, compat).len(), 2);
        slam.udp_len = Some(100);
        assert_eq!(msg(&slam, compat).len(), 1);
        let land = tcp("192.0.2.1", "192.0.2.1", 80, 80, "SYN");
        assert!(msg(&land, compat).iter().any(|m| m.contains("LAND")));
        let ping = icmp("203.0.113.5", "192.0.2.1", 8, 0, Some(1), Some(1));
        assert!(msg(&ping, compat).contains(&x("TRIPLINE-ICMP ping")));
        let ts = icmp("203.0.113.5", "192.0.2.1", 13, 0, Some(1), Some(1));
        assert_eq!(msg(&ts, compat), [x("TRIPLINE-ICMP timestamp request")]);
    }
    // Port 0 needs the default mode when the other port is 0 too.
    let zero = udp("203.0.113.5", "192.0.2.1", 0, 0, 8);
    assert_eq!(msg(&zero, false).len(), 2);
    assert_eq!(msg(&zero, true).len(), 0);
    // ECN SYN to MS SQL: only the default mode ignores ECN bits.
    let ecn = tcp("203.0.113.5", "192.0.2.1", 4000, 1433, "CWR ECE SYN");
    assert_eq!(msg(&ecn, false).len(), 1);
    assert_eq!(msg(&ecn, true).len(), 0);
    // nmap ping (LEN 28, no payload): psad's ICMP arithmetic sees 4 bytes.
    let ping = icmp("203.0.113.5", "192.0.2.1", 8, 0, Some(1), Some(1));
    assert!(msg(&ping, false)
        .iter()
        .any(|m| m.contains("nmap host discovery")));
    assert!(!msg(&ping, true)
        .iter()
        .any(|m| m.contains("nmap host discovery")));
}

// ---- parsing: every keyword ----------------------------------------------

#[test]
fn every_keyword() {
    let set = one(concat!(
        "alert tcp $EXTERNAL_NET 1024: -> [10.0.0.0/8,192.168.1.0/255.255.255.0] $HTTP_PORTS (",
        "msg:\"all \\\"tcp\\\"; keywords\"; psad_id:7; sid:9; psad_dl:3; classtype:x-y; ",
        "reference:cve,1999-1; reference:bugtraq,2; reference:bad; psad_derived_sids:1, 2,3; ",
        "ttl:>10; id:!5; psad_ip_len:<=100; ipopts:lsrr; sameip; flags:S+,12; flow:to_server,established; ",
        "seq:1:5; ack:<9; window:>=512; dsize:>0; psad_dsize:<800; rev:3; priority:1;)\n",
        "alert icmp any any -> any any (msg:\"i\"; psad_id:8; itype:8; icode:>0; icmp_id:456; icmp_seq:0; dsize:4; ipopts:any;)\n",
        "alert ip any any <- any any (msg:\"p\"; psad_id:10; ip_proto:47;)\n",
        "alert UDP !192.0.2.0/24 !53 <> $HOME_NET :1023 (msg:\"u\"; psad_id:11;)\n",
    ));
    assert_eq!(set.sigs.len(), 4);
    let s = &set.sigs[0];
    assert_eq!(s.msg, "all \"tcp\"; keywords");
    assert_eq!((s.key, s.psad_id, s.sid, s.dl), (9, 7, Some(9), 3));
    assert_eq!(s.classtype.as_deref(), Some("x-y"));
    assert_eq!(s.references.len(), 2);
    assert_eq!(s.derived_sids, ["1", "2", "3"]);
    let c = &s.cond;
    assert!(c.src.any && c.dst.nets.len() == 2);
    assert_eq!(c.sport.compat, (1024, 65535));
    assert_eq!(c.dport.compat, (80, 80));
    assert_eq!(c.ttl.unwrap().compat, (11, 255));
    assert!(c.id.unwrap().negated);
    assert_eq!(c.ip_len.unwrap().compat, (1, 100));
    assert!(matches!(c.ipopts, Some(IpOptsSpec::Values(_))));
    assert!(c.sameip && c.established);
    let f = c.flags.unwrap();
    // psad: exact "SYN" (the "established" inside a list is not seen).
    assert_eq!(f.compat, Some(TcpFlags::SYN));
    assert_eq!(
        (f.bits, f.mask, f.mode),
        (TcpFlags::SYN | TcpFlags::ACK, 0xC0, FlagMode::All)
    );
    assert_eq!(c.seq.unwrap().compat, (1, 5));
    assert_eq!(c.ack.unwrap().compat, (1, 8));
    assert_eq!(c.window.unwrap().compat, (512, 65535));
    assert_eq!(c.dsize.unwrap().compat, (1, 1514));
    assert_eq!(c.psad_dsize.unwrap().fixed, (0, 799));
    let c = &set.sigs[1].cond;
    assert_eq!(c.itype.unwrap().compat, (8, 8));
    assert_eq!(c.icode.unwrap().compat, (1, 255));
    assert_eq!(c.icmp_id.unwrap().compat, (456, 456));
    assert_eq!(c.icmp_seq.unwrap().compat, (0, 0));
    assert_eq!(c.ipopts, Some(IpOptsSpec::Any));
    let s = &set.sigs[2];
    assert_eq!((s.proto, s.cond.dir), ("ip", Direction::Reverse));
    assert_eq!(s.cond.ip_proto.unwrap().fixed, (47, 47));
    assert_eq!(set.warnings.len(), 1); // ip_proto note
    let s = &set.sigs[3];
    assert_eq!((s.proto, s.cond.dir), ("udp", Direction::Both));
    assert_eq!(s.cond.src.negated.len(), 1);
    assert!(s.cond.sport.negated);
    assert_eq!(s.cond.dport.compat, (1, 1023));
    assert_eq!(s.cond.dport.fixed, (0, 1023));
}

#[test]
fn keyword_spellings_and_proto_scope() {
    // Keywords of another protocol are ignored with a warning, as psad ignores them.
    let set = one("alert udp any any -> any any (msg:\"m\"; psad_id:1; flags:S; itype:3;)");
    assert!(set.sigs[0].cond.flags.is_none() && set.sigs[0].cond.itype.is_none());
    assert_eq!(set.warnings.len(), 2);
    // `psad_id:` is not `id:`, `icmp_seq:` is not `seq:`.
    let set = one("alert icmp any any -> any any (msg:\"m\"; psad_id:1; icmp_seq:3;)");
    assert!(set.sigs[0].cond.id.is_none() && set.sigs[0].cond.seq.is_none());
    // Unknown keywords are ignored silently; a trailing ";" after ")" is fine.
    let set = one("alert tcp any any -> any 80 (msg:\"m\"; psad_id:1; rev:2; nocase;);");
    assert!(set.warnings.is_empty());
    // Options without the final ";" still parse.
    assert_eq!(
        one("alert tcp any any -> any 80 (msg:\"m\"; psad_id:1)")
            .sigs
            .len(),
        1
    );
    // NOT_USED and IPv6 networks.
    let set =
        one("alert tcp NOT_USED any -> [2001:db8::/32,192.0.2.1] any (msg:\"m\"; psad_id:1;)");
    assert!(set.sigs[0].cond.src.any && set.sigs[0].cond.dst.nets.len() == 2);
    // Unknown ipopts name: warning, never matches.
    let set = one("alert ip any any -> any any (msg:\"m\"; psad_id:1; ipopts:bogus;)");
    assert_eq!(set.warnings.len(), 1);
    let mut p = tcp("192.0.2.1", "192.0.2.2", 1, 2, "SYN");
    p.ip_options = "94040000";
    assert!(!hit(&set, &p, false) && !hit(&set, &p, true));
}

#[test]
fn errors_name_file_line_and_problem() {
    let cases: &[(&str, &str)] = &[
        ("alert tcp any any -> any any msg", "bad signature"),
        (
            "alert tcp any any -> any (msg:\"m\"; psad_id:1;)",
            "bad rule header",
        ),
        (
            "log tcp any any -> any any (msg:\"m\"; psad_id:1;)",
            "bad rule header",
        ),
        (
            "alert sctp any any -> any any (msg:\"m\"; psad_id:1;)",
            "unsupported protocol",
        ),
        (
            "alert tcp any any => any any (msg:\"m\"; psad_id:1;)",
            "bad direction",
        ),
        (
            "alert tcp $NOPE any -> any any (msg:\"m\"; psad_id:1;)",
            "$NOPE is not defined",
        ),
        (
            "alert tcp $HOME_NET$HOME_NET any -> any any (msg:\"m\"; psad_id:1;)",
            "more than one $",
        ),
        (
            "alert tcp !any any -> any any (msg:\"m\"; psad_id:1;)",
            "negated 'any'",
        ),
        (
            "alert tcp 1.2.3.4/40 any -> any any (msg:\"m\"; psad_id:1;)",
            "invalid address",
        ),
        (
            "alert tcp foo any -> any any (msg:\"m\"; psad_id:1;)",
            "invalid address",
        ),
        (
            "alert tcp any [80,443] -> any any (msg:\"m\"; psad_id:1;)",
            "port lists",
        ),
        (
            "alert tcp any 8x -> any any (msg:\"m\"; psad_id:1;)",
            "port unrecognised",
        ),
        (
            "alert tcp any any -> any any (msg:\"m\"; psad_id:1; content:\"x\";)",
            "unsupported rule option \"content\"",
        ),
        (
            "alert tcp any any -> any any (msg:\"m\";)",
            "missing psad_id",
        ),
        (
            "alert tcp any any -> any any (msg:\"m\"; psad_id:x;)",
            "bad psad_id",
        ),
        (
            "alert tcp any any -> any any (msg:\"m\"; psad_id:1; sid:-1;)",
            "bad sid",
        ),
        ("alert tcp any any -> any any (psad_id:1;)", "missing msg"),
        ("alert tcp any any -> any any (msg:m; psad_id:1;)", "quoted"),
        (
            "alert tcp any any -> any any (msg:\"\"; psad_id:1;)",
            "quoted",
        ),
        (
            "alert tcp any any -> any any (msg:\"m\"; psad_id:1; psad_dl:6;)",
            "psad_dl must be 0..5",
        ),
        (
            "alert tcp any any -> any any (msg:\"m\"; psad_id:1; ttl:abc;)",
            "ttl: unrecognised",
        ),
        (
            "alert tcp any any -> any any (msg:\"m\"; psad_id:1; flags:SX;)",
            "unknown TCP flag",
        ),
        (
            "alert tcp any any -> any any (msg:\"m\"; psad_id:1; dsize:$NOPE;)",
            "$NOPE",
        ),
    ];
    for (rule, want) in cases {
        let text = format!("# comment\n\n{rule}\n");
        let e = err(&text);
        assert!(
            e.starts_with("t:3: ") && e.contains(want),
            "{rule}\n  -> {e}"
        );
    }
    let dup = "alert tcp any any -> any 1 (msg:\"a\"; psad_id:5;)\nalert tcp any any -> any 2 (msg:\"b\"; psad_id:6; sid:5;)";
    assert_eq!(err(dup), "t:2: duplicate sid 5 (first used on line 1)");
    let dup = "alert tcp any any -> any 1 (msg:\"a\"; psad_id:5;)\nalert tcp any any -> any 2 (msg:\"b\"; psad_id:5;)";
    assert!(err(dup).contains("duplicate psad_id 5"));
    let dup = "alert tcp any any -> any 1 (msg:\"a\"; psad_id:5; sid:5;)";
    assert!(err(dup).contains("duplicate sid 5"));
    // Non-strict: unsupported options and missing psad_id skip the rule.
    let opts = SigParseOptions {
        strict: false,
        ..SigParseOptions::default()
    };
    let text = "alert tcp any any -> any any (msg:\"m\"; psad_id:1; pcre:\"/x/\";)\n\
                alert tcp any any -> any any (msg:\"m\";)\n\
                alert tcp any any -> any 80 (msg:\"ok\"; psad_id:2;)";
    let set = SignatureSet::parse_with(text, "t", &no_vars, &opts).unwrap();
    assert_eq!(set.sigs.len(), 1);
    assert_eq!(set.warnings.len(), 2);
    assert_eq!(
        set.warnings[0].to_string(),
        "t:1: unsupported rule option \"pcre\""
    );
    assert_eq!(set.warnings[1].line, 2);
}

#[test]
fn never_panics_on_mangled_input() {
    let mut lines: Vec<String> = BUILTIN_SIGNATURES
        .lines()
        .filter(|l| l.starts_with("alert"))
        .map(String::from)
        .collect();
    if let Ok(t) = std::fs::read_to_string(PSAD_SIGS) {
        lines.extend(t.lines().filter(|l| l.contains("alert")).map(String::from));
    }
    let junk = [
        "(",
        ")",
        ";",
        "\"",
        "\\",
        "!",
        "$",
        ":",
        "[",
        ",",
        "é",
        "\u{0}",
        " ",
        "<",
        ">",
        "-",
        "any",
        "$HOME_NET",
    ];
    let lax = SigParseOptions {
        strict: false,
        ..SigParseOptions::default()
    };
    let mut n = 0u64;
    for (li, line) in lines.iter().enumerate() {
        let cuts: Vec<usize> = line.char_indices().map(|(i, _)| i).step_by(4).collect();
        for (ci, &cut) in cuts.iter().enumerate() {
            let j = junk[(li + ci) % junk.len()];
            let next = line[cut..]
                .chars()
                .next()
                .map_or(cut, |c| cut + c.len_utf8());
            for cand in [
                line[..cut].to_string(),
                format!("{}{}{}", &line[..cut], j, &line[cut..]),
                format!("{}{}", &line[..cut], &line[next..]),
            ] {
                let opts = if n % 2 == 0 {
                    SigParseOptions::default()
                } else {
                    lax
                };
                if let Ok(set) = SignatureSet::parse_with(&cand, "f", &psad_vars, &opts) {
                    let _ = keys(&set, &tcp(A, B, 0, 0, ""), n % 3 == 0);
                }
                n += 1;
            }
        }
    }
    assert!(n > 10_000);
    for s in [
        "",
        "\n\n",
        "alert",
        "alert (",
        "alert ()",
        " (x)",
        "alert tcp a b c d e f ()",
        "alert tcp any any -> any any (;;;:::\"\\)",
    ] {
        let _ = SignatureSet::parse(s, "f", &psad_vars);
    }
}

// ---- matching: every compat quirk -----------------------------------------

const A: &str = "203.0.113.5";
const B: &str = "192.0.2.1";

#[test]
fn quirk_null_flags() {
    let set = one("alert tcp any any -> any any (msg:\"SCAN NULL\"; flags:0; psad_id:1;)\nalert tcp any any -> any any (msg:\"N\"; flags:N; psad_id:2;)");
    let p = tcp(A, B, 1, 2, "");
    assert_eq!(keys(&set, &p, true), [2]);
    assert_eq!(keys(&set, &p, false), [1, 2]);
}

#[test]
fn quirk_exact_flags_and_modifiers() {
    let set = one(concat!(
        "alert tcp any any -> any any (msg:\"S\"; flags:S; psad_id:1;)\n",
        "alert tcp any any -> any any (msg:\"S,12\"; flags:S,12; psad_id:2;)\n",
        "alert tcp any any -> any any (msg:\"S+\"; flags:S+; psad_id:3;)\n",
        "alert tcp any any -> any any (msg:\"*SF\"; flags:*SF; psad_id:4;)\n",
        "alert tcp any any -> any any (msg:\"!A\"; flags:!A; psad_id:5;)\n",
        "alert tcp any any -> any any (msg:\"est\"; flags:S; flow:established; psad_id:6;)\n",
        "alert tcp any any -> any any (msg:\"est2\"; flow:to_server,established; psad_id:7;)\n",
    ));
    let syn = tcp(A, B, 1, 2, "SYN");
    // psad ignores `flow` without `flags`, so rule 7 takes every TCP packet.
    assert_eq!(keys(&set, &syn, true), [1, 2, 3, 7]);
    assert_eq!(keys(&set, &syn, false), [1, 2, 3, 4, 5]);
    let ecn = tcp(A, B, 1, 2, "CWR ECE SYN");
    assert_eq!(keys(&set, &ecn, true), [7]);
    assert_eq!(keys(&set, &ecn, false), [2, 3, 4, 5]);
    let fin = tcp(A, B, 1, 2, "FIN");
    assert_eq!(keys(&set, &fin, false), [4, 5]);
    // flow:established adds ACK (psad only for the exact value).
    let synack = tcp(A, B, 1, 2, "ACK SYN");
    assert_eq!(keys(&set, &synack, true), [6, 7]);
    assert_eq!(keys(&set, &synack, false), [3, 4, 6, 7]);
    let ack = tcp(A, B, 1, 2, "ACK");
    assert_eq!(keys(&set, &ack, true), [5, 7]); // psad drops the "!" of "!A"
    assert_eq!(keys(&set, &ack, false), [7]);
    assert_eq!(keys(&set, &tcp(A, B, 1, 2, "PSH"), false), [5]);
    assert_eq!(keys(&set, &tcp(A, B, 1, 2, "PSH"), true), [7]);
}

#[test]
fn quirk_dsize_arithmetic() {
    let set = one(concat!(
        "alert tcp any any -> any any (msg:\"syn data\"; flags:S; psad_dsize:>20; psad_id:1;)\n",
        "alert tcp any any -> any any (msg:\"ack data\"; dsize:100; psad_id:2;)\n",
        "alert icmp any any -> any any (msg:\"empty ping\"; itype:8; dsize:0; psad_id:3;)\n",
        "alert udp any any -> any any (msg:\"udp\"; dsize:376; psad_id:4;)\n",
        "alert icmp any any -> any any (msg:\"big\"; dsize:>1514; psad_id:5;)\n",
    ));
    // SYN, LEN 100, 20 bytes of logged options: 40 bytes of data.
    let mut p = tcp(A, B, 1, 2, "SYN");
    p.len = 100;
    p.tcp.as_mut().unwrap().options = "020405B40402080A0000000000000000010303070000";
    assert_eq!(keys(&set, &p, true), Vec::<u32>::new()); // 100-84 = 16
    p.tcp.as_mut().unwrap().options = "020405B401030307";
    assert_eq!(keys(&set, &p, false), [1]); // 100-20-28 = 52
                                            // Non-SYN: LEN-40 in both modes when no options are logged.
    let mut p = tcp(A, B, 1, 2, "PSH");
    p.len = 140;
    assert_eq!(keys(&set, &p, true), [2]);
    assert_eq!(keys(&set, &p, false), [2]);
    // IP options count in the default mode only.
    p.ip_options = "94040000";
    assert_eq!(keys(&set, &p, false), Vec::<u32>::new());
    assert_eq!(keys(&set, &p, true), [2]);
    // ICMP: psad assumes a 4-byte header.
    let ping = icmp(A, B, 8, 0, Some(1), Some(1));
    assert_eq!(keys(&set, &ping, true), Vec::<u32>::new());
    assert_eq!(keys(&set, &ping, false), [3]);
    // UDP: LEN-8 in both modes; no 1514 cap in default mode.
    assert_eq!(keys(&set, &udp(A, B, 1, 1434, 384), true), [4]);
    assert_eq!(keys(&set, &udp(A, B, 1, 1434, 384), false), [4]);
    let mut big = icmp(A, B, 8, 0, Some(1), Some(1));
    big.len = 9000;
    assert_eq!(keys(&set, &big, true), Vec::<u32>::new());
    assert_eq!(keys(&set, &big, false), [5]);
}

#[test]
fn quirk_port_zero_and_any() {
    let set = one(concat!(
        "alert tcp any any -> any any (msg:\"any\"; psad_id:1;)\n",
        "alert tcp any any -> any 0 (msg:\"zero\"; psad_id:2;)\n",
        "alert udp any any -> any :1023 (msg:\"low\"; psad_id:3;)\n",
        "alert udp any any -> any !53 (msg:\"not dns\"; psad_id:4;)\n",
        "alert udp any any -> any !any (msg:\"not any\"; psad_id:5;)\n",
    ));
    assert_eq!(keys(&set, &tcp(A, B, 1, 0, "SYN"), true), [2]);
    assert_eq!(keys(&set, &tcp(A, B, 1, 0, "SYN"), false), [1, 2]);
    assert_eq!(keys(&set, &tcp(A, B, 0, 5, "SYN"), true), Vec::<u32>::new());
    assert_eq!(keys(&set, &tcp(A, B, 0, 5, "SYN"), false), [1]);
    assert_eq!(keys(&set, &udp(A, B, 1, 0, 8), true), [4, 5]);
    assert_eq!(keys(&set, &udp(A, B, 1, 0, 8), false), [3, 4]);
    assert_eq!(keys(&set, &udp(A, B, 1, 53, 8), true), [3]);
    assert_eq!(keys(&set, &udp(A, B, 1, 5353, 8), true), [4]);
}

#[test]
fn quirk_direction_operators() {
    let set = one(concat!(
        "alert tcp 192.0.2.0/24 80 <- 203.0.113.0/24 any (msg:\"rev\"; psad_id:1;)\n",
        "alert tcp 192.0.2.0/24 any <> 203.0.113.0/24 8875 (msg:\"both\"; psad_id:2;)\n",
    ));
    // Right-hand side is the source: 203.0.113.5:any -> 192.0.2.1:80.
    let fwd = tcp(A, B, 5000, 80, "SYN");
    assert_eq!(keys(&set, &fwd, false), [1]);
    assert_eq!(keys(&set, &fwd, true), Vec::<u32>::new()); // psad kept sport=80
    let odd = tcp(A, B, 80, 5000, "SYN");
    assert_eq!(keys(&set, &odd, true), [1]);
    assert_eq!(keys(&set, &odd, false), Vec::<u32>::new());
    // <>: psad only the written direction.
    let out = tcp(B, A, 5000, 8875, "SYN");
    assert_eq!(keys(&set, &out, true), [2]);
    assert_eq!(keys(&set, &out, false), [2]);
    let back = tcp(A, B, 8875, 5000, "SYN");
    assert_eq!(keys(&set, &back, true), Vec::<u32>::new());
    assert_eq!(keys(&set, &back, false), [2]);
}

#[test]
fn quirk_address_negation() {
    let set = one(concat!(
        "alert tcp !192.0.2.0/24 any -> any any (msg:\"not mine\"; psad_id:1;)\n",
        "alert tcp [198.51.100.0/24,!198.51.100.7] any -> any any (msg:\"list\"; psad_id:2;)\n",
    ));
    assert_eq!(keys(&set, &tcp("192.0.2.9", A, 1, 2, "SYN"), true), [1]);
    assert_eq!(
        keys(&set, &tcp("192.0.2.9", A, 1, 2, "SYN"), false),
        Vec::<u32>::new()
    );
    assert_eq!(
        keys(&set, &tcp("10.0.0.1", A, 1, 2, "SYN"), true),
        Vec::<u32>::new()
    );
    assert_eq!(keys(&set, &tcp("10.0.0.1", A, 1, 2, "SYN"), false), [1]);
    assert_eq!(keys(&set, &tcp("198.51.100.7", A, 1, 2, "SYN"), true), [2]);
    assert_eq!(keys(&set, &tcp("198.51.100.7", A, 1, 2, "SYN"), false), [1]);
    assert_eq!(
        keys(&set, &tcp("198.51.100.8", A, 1, 2, "SYN"), false),
        [1, 2]
    );
    // `any` covers IPv6 too, a v4 network never does.
    let set = one("alert tcp any any -> 192.0.2.0/24 any (msg:\"v4\"; psad_id:1;)\nalert tcp any any -> any any (msg:\"any\"; psad_id:2;)");
    assert_eq!(
        keys(&set, &tcp("2001:db8::1", "2001:db8::2", 1, 2, "SYN"), true),
        [2]
    );
}

#[test]
fn quirk_ipv6_ip_keywords() {
    let set = one(concat!(
        "alert tcp any any -> any any (msg:\"ttl\"; ttl:>220; flags:S; psad_id:1;)\n",
        "alert udp any any -> any 1434 (msg:\"len\"; psad_ip_len:404; psad_id:2;)\n",
        "alert ip any any -> any any (msg:\"ip ttl\"; ttl:64; psad_id:3;)\n",
        "alert ip any any -> any any (msg:\"same\"; sameip; psad_id:4;)\n",
        "alert tcp any any -> any any (msg:\"opts\"; ipopts:any; flags:S; psad_id:5;)\n",
        "alert tcp any any -> any any (msg:\"id\"; id:0; flags:S; psad_id:6;)\n",
    ));
    let v6 = tcp("2001:db8::13", "2001:db8::1", 1, 2, "SYN");
    // psad: IP keywords skipped, `ip` rules never match IPv6.
    assert_eq!(keys(&set, &v6, true), [1, 5, 6]);
    assert_eq!(keys(&set, &v6, false), [3]);
    let u6 = udp("2001:db8::13", "2001:db8::1", 1, 1434, 30);
    assert_eq!(keys(&set, &u6, true), [2]);
    assert_eq!(keys(&set, &u6, false), [3]);
    let mut v4 = tcp(A, B, 1, 2, "SYN");
    assert_eq!(keys(&set, &v4, true), [3]);
    v4.ip_id = Some(0);
    v4.ttl = 230;
    v4.ip_options = "0102";
    assert_eq!(keys(&set, &v4, true), [1, 5, 6]);
    let mut land = tcp(B, B, 1, 2, "PSH");
    assert_eq!(keys(&set, &land, true), [3, 4]);
    land.in_if = "lo";
    assert_eq!(keys(&set, &land, true), [3]);
    let mut land6 = tcp("2001:db8::1", "2001:db8::1", 1, 2, "PSH");
    assert_eq!(keys(&set, &land6, true), Vec::<u32>::new());
    land6.ttl = 1;
    assert_eq!(keys(&set, &land6, false), [4]);
}

#[test]
fn quirk_icmp_id_seq_capture_shift() {
    let set = one(concat!(
        "alert icmp any any -> any any (msg:\"TFN\"; icmp_id:456; icmp_seq:0; itype:0; psad_id:1;)\n",
        "alert icmp any any -> any any (msg:\"code-as-id\"; icmp_id:0; icmp_seq:456; itype:0; psad_id:2;)\n",
        "alert icmp any any -> any any (msg:\"open id\"; icmp_id:>5; psad_id:3;)\n",
        "alert icmp any any -> any any (msg:\"seq range\"; icmp_seq:>300; psad_id:4;)\n",
    ));
    let reply = icmp(A, B, 0, 0, Some(456), Some(0));
    assert_eq!(keys(&set, &reply, true), [2]);
    assert_eq!(keys(&set, &reply, false), [1, 3]);
    let reply = icmp(A, B, 0, 0, Some(456), Some(1000));
    assert_eq!(keys(&set, &reply, true), [2]); // psad caps icmp_seq at 255: "!>300" unused
    assert_eq!(keys(&set, &reply, false), [3, 4]);
    // Non-echo types have no id/seq (psad: 0).
    let unreach = icmp(A, B, 3, 3, None, None);
    assert_eq!(keys(&set, &unreach, true), Vec::<u32>::new());
    assert_eq!(keys(&set, &unreach, false), Vec::<u32>::new());
}

#[test]
fn quirk_ip_proto_and_missing_fields() {
    let set = one(concat!(
        "alert ip any any -> any any (msg:\"gre\"; ip_proto:47; psad_id:1;)\n",
        "alert tcp any any -> any any (msg:\"seq\"; seq:!5; psad_id:2;)\n",
        "alert tcp any any -> any any (msg:\"ack0\"; ack:0; psad_id:3;)\n",
    ));
    let gre = base(A, B, Proto::Other(47));
    assert_eq!(keys(&set, &gre, true), Vec::<u32>::new());
    assert_eq!(keys(&set, &gre, false), [1]);
    // No SEQ/ACK logged: psad compares 0, we fail the option.
    let p = tcp(A, B, 1, 2, "SYN");
    assert_eq!(keys(&set, &p, true), [2, 3]);
    assert_eq!(keys(&set, &p, false), Vec::<u32>::new());
    let mut p = tcp(A, B, 1, 2, "SYN");
    p.tcp.as_mut().unwrap().seq = Some(7);
    p.tcp.as_mut().unwrap().ack = Some(0);
    assert_eq!(keys(&set, &p, false), [2, 3]);
}

#[test]
fn quirk_ip_options_walk() {
    let set = one(concat!(
        "alert ip any any -> any any (msg:\"rr\"; ipopts:rr; psad_id:1;)\n",
        "alert ip any any -> any any (msg:\"lsrr\"; ipopts:lsrr; psad_id:2;)\n",
        "alert ip any any -> any any (msg:\"ralert\"; ipopts:ralert; psad_id:3;)\n",
        "alert ip any any -> any any (msg:\"any\"; ipopts:any; psad_id:4;)\n",
    ));
    let mut p = tcp(A, B, 1, 2, "SYN");
    assert_eq!(keys(&set, &p, true), Vec::<u32>::new());
    p.ip_options = "0707044400000000";
    assert_eq!(keys(&set, &p, false), [1, 4]);
    assert_eq!(keys(&set, &p, true), [1, 4]);
    // Record route (len 8) whose last data byte is 0x94 (router alert):
    // psad's walk steps onto that byte and reads it as an option.
    p.ip_options = "0708040000000094";
    assert_eq!(keys(&set, &p, true), [1, 3, 4]);
    assert_eq!(keys(&set, &p, false), [1, 4]);
}

#[test]
fn dl_overrides_and_zero() {
    let mut set = one("alert tcp any any -> any 1433 (msg:\"sql\"; psad_id:100205; psad_dl:2;)\nalert ip any any -> any any (msg:\"i\"; sid:7; psad_id:1;)");
    let n = set.apply_rule_dl(&RuleDl::parse("100205 4\n7 0\n99 1\n"));
    assert_eq!(n, 2);
    assert_eq!((set.sigs[0].dl, set.sigs[1].dl), (4, 0));
    // DL-0 rules are still reported; the engine decides what to drop.
    assert_eq!(keys(&set, &tcp(A, B, 1, 1433, "SYN"), true), [7, 100205]);
}

#[test]
fn stale_index_falls_back() {
    let mut set = one("alert tcp any any -> any 80 (msg:\"a\"; psad_id:1;)");
    let extra = one("alert tcp any any -> any 443 (msg:\"b\"; psad_id:2;)")
        .sigs
        .remove(0);
    set.sigs.push(extra);
    assert_eq!(keys(&set, &tcp(A, B, 1, 443, "SYN"), false), [2]);
    set.rebuild_index();
    assert_eq!(keys(&set, &tcp(A, B, 1, 443, "SYN"), false), [2]);
    let set = SignatureSet::from_sigs(set.sigs.clone(), IpOptions::builtin());
    assert_eq!(keys(&set, &tcp(A, B, 1, 80, "SYN"), true), [1]);
}

// ---- real corpus lines ------------------------------------------------------

#[test]
fn corpus_crafted_lines() {
    let (Some(set), Some(lines)) = (psad_set(), corpus()) else {
        return;
    };
    let line = |n: &[&str]| kline(corpus_line(&lines, n)).unwrap();
    let k = |n: &[&str], compat: bool| keys(&set, &line(n), compat);
    // c01 SYN+FIN -> SCAN SYN FIN (624)
    assert_eq!(k(&["SRC=198.51.100.16 ", "SYN FIN URGP"], true), [624]);
    // c02 TTL=0 SYN to 25: "BAD-TRAFFIC 0 ttl" is an ip rule (1321)
    assert_eq!(k(&["SRC=198.51.100.16 ", " TTL=0 "], true), [1321]);
    // c03 TTL=1 ping: ICMP traceroute (385) + ICMP PING (384)
    assert_eq!(
        k(&["SRC=198.51.100.16 ", " TTL=1 ", "TYPE=8"], true),
        [384, 385]
    );
    // c04 myscan (613)
    assert_eq!(k(&["SPT=10101 DPT=21"], true), [613]);
    // c05 LAND on the firewall (527, an ip rule)
    assert_eq!(
        k(&["SPOOF ", "SRC=198.51.100.1 DST=198.51.100.1 "], true),
        [527]
    );
    // c07 SYN with payload (207) to 8080
    assert_eq!(k(&["SRC=198.51.100.16 ", "LEN=160 "], true), [207]);
    assert_eq!(k(&["SRC=198.51.100.16 ", "LEN=160 "], false), [207]);
    // c08 all flags: SCAN XMAS (625) in both modes
    assert_eq!(k(&["URG ACK PSH RST SYN FIN"], true), [625]);
    // c09 NULL: SCAN NULL (623) only in the default mode
    assert_eq!(
        k(&["SRC=198.51.100.16 ", "RES=0x00 URGP"], true),
        Vec::<u32>::new()
    );
    assert_eq!(k(&["SRC=198.51.100.16 ", "RES=0x00 URGP"], false), [623]);
    // c10/c11 port 0
    assert_eq!(
        k(&["SRC=198.51.100.16 ", "PROTO=TCP", "DPT=0 "], true),
        [524]
    );
    assert_eq!(
        k(&["SRC=198.51.100.16 ", "PROTO=UDP", "DPT=0 "], true),
        [525]
    );
    // c12 address mask request (388)
    assert_eq!(k(&["SRC=198.51.100.16 ", "TYPE=17 "], true), [388]);
    // c14 ping with code 5: undefined code (365)
    assert_eq!(k(&["SRC=198.51.100.16 ", "TYPE=8 CODE=5 "], true), [365]);
    // c15 large ping: Large ICMP (499) + PING (384)
    assert_eq!(k(&["SRC=198.51.100.16 ", "LEN=1028 "], true), [384, 499]);
    // c16 echo reply with record route: Echo Reply (408) + traceroute ipopts (475)
    assert_eq!(k(&["IPOPTS ", "TYPE=0 "], true), [408, 475]);
    assert_eq!(k(&["IPOPTS ", "TYPE=0 "], false), [408, 475]);
    // c17 SYN with loose source route: "MISC source route lssr" (500, ip rule)
    assert_eq!(k(&["IPOPTS ", "PROTO=TCP"], true), [500]);
    // c18 TFN-like echo reply (id 456 seq 0): psad misses sid 228
    assert_eq!(k(&["SRC=198.51.100.16 ", "ID=456 SEQ=0"], true), [408]);
    assert_eq!(
        k(&["SRC=198.51.100.16 ", "ID=456 SEQ=0"], false),
        [228, 408]
    );
    // c19 NAPTHA (ip id 413, seq 6060842) to 8000 + JetAdmin (100084)
    assert_eq!(k(&["ID=413 ", "SEQ=6060842"], true), [275, 100084]);
    // c20 ipEye (622)
    assert_eq!(k(&["SEQ=1958810375"], true), [622]);
    // c21 typot window 55808 (2182)
    assert_eq!(k(&["WINDOW=55808"], true), [2182]);
    // c22 Slammer-like (100208), also for IPv6 in compat mode only
    assert_eq!(k(&["LEN=404 ", "DPT=1434"], true), [100208]);
    // IPv6 FIN scan: SCAN FIN (621)
    assert_eq!(k(&["INVALID6 ", " FIN URGP"], true), [621]);
    // nmap ping from a scanner (LEN=28): ICMP PING only; NMAP rule needs default mode
    assert_eq!(k(&["SRC=198.51.100.13 ", "PROTO=ICMP TYPE=8"], true), [384]);
    assert_eq!(
        k(&["SRC=198.51.100.13 ", "PROTO=ICMP TYPE=8"], false),
        [384, 469]
    );
}

#[test]
fn index_agrees_with_linear_scan() {
    let (Some(set), Some(lines)) = (psad_set(), corpus()) else {
        return;
    };
    let mut stale = set.clone();
    stale.sigs.push(dead_rule());
    let builtin = SignatureSet::builtin();
    let mut stale_b = builtin.clone();
    stale_b.sigs.push(stale.sigs.last().unwrap().clone());
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut n = 0;
    for l in lines.iter().step_by(7) {
        let Some(p) = kline(l) else { continue };
        for compat in [true, false] {
            for (s, st) in [(&set, &stale), (&builtin, &stale_b)] {
                s.match_packet(&p, compat, &mut a);
                st.match_packet(&p, compat, &mut b);
                a.sort_unstable();
                b.sort_unstable();
                assert_eq!(a, b, "{l}");
                n += a.len();
            }
        }
    }
    assert!(n > 1000);
}

/// (src, dst, chain, key) -> packets.
type Table = HashMap<(IpAddr, IpAddr, String, u32), u64>;

fn psad_expected() -> Option<Table> {
    let dir = std::env::temp_dir().join(format!("tripline-sig-xcheck-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let ok = std::process::Command::new("tar")
        .args(["xzf", PSAD_TAR, "-C"])
        .arg(&dir)
        .status()
        .ok()?
        .success();
    if !ok {
        return None;
    }
    let mut t = Table::new();
    let root = dir.join("ipt_analysis");
    for src in std::fs::read_dir(&root).ok()? {
        let src = src.ok()?.path();
        let Ok(src_ip) = src.file_name()?.to_str()?.parse::<IpAddr>() else {
            continue;
        };
        for f in std::fs::read_dir(&src).ok()? {
            let f = f.ok()?.path();
            let name = f.file_name()?.to_str()?.to_string();
            let Some(dst) = name.strip_suffix("_signatures") else {
                continue;
            };
            let dst_ip: IpAddr = dst.parse().ok()?;
            for line in std::fs::read_to_string(&f).ok()?.lines() {
                if line.starts_with('#') || line.trim().is_empty() {
                    continue;
                }
                // <time> <sid> <matches> "<msg>" <chain> <proto> <dp> "<flags>" <fwsnort> <psad>
                let mut w = line.splitn(4, ' ');
                let (_, sid, pkts, rest) = (w.next()?, w.next()?, w.next()?, w.next()?);
                let rest = rest.rsplitn(3, ' ').nth(2)?; // drop the two flags
                let rest = &rest[..rest.rfind(" \"")?]; // drop "<flags>"
                let mut r = rest.rsplitn(4, ' ');
                let (_dp, _proto, chain) = (r.next()?, r.next()?, r.next()?);
                *t.entry((src_ip, dst_ip, chain.to_string(), sid.parse().ok()?))
                    .or_default() += pkts.parse::<u64>().ok()?;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Some(t)
}

#[test]
fn cross_check_with_psad_results() {
    let (Some(set), Some(lines), Some(expected)) = (psad_set(), corpus(), psad_expected()) else {
        return;
    };
    let errs = std::fs::read_to_string(PSAD_ERRS).unwrap_or_default();
    let errs: std::collections::HashSet<&str> = errs.lines().map(str::trim_end).collect();
    let mut got = Table::new();
    let mut out = Vec::new();
    let mut accepted = 0;
    for l in &lines {
        if errs.contains(l.trim_end()) {
            continue;
        }
        let Some(p) = kline(l) else { continue };
        // IGNORE_CONNTRACK_BUG_PKTS Y: TCP packets with ACK or RST are dropped.
        if p.proto == Proto::Tcp && p.tcp_flags().0 & (TcpFlags::ACK | TcpFlags::RST) != 0 {
            continue;
        }
        // No fwsnort SIDs in this corpus (they would bypass signatures).
        assert!(fwsnort::fwsnort_tag(l, "SID").is_none());
        accepted += 1;
        set.match_packet(&p, true, &mut out);
        for &i in &out {
            let s = &set.sigs[i as usize];
            // psad's <dst>_signatures files list tcp/udp/icmp hits only.
            if s.kind == SigProto::Ip || s.dl == 0 {
                continue;
            }
            *got.entry((p.src, p.dst, p.chain.as_str().to_string(), s.key))
                .or_default() += 1;
        }
    }
    assert!(accepted > 60_000);
    let mut diffs: Vec<String> = Vec::new();
    for (k, v) in &expected {
        if got.get(k) != Some(v) {
            diffs.push(format!("{k:?}: psad {v}, ours {:?}", got.get(k)));
        }
    }
    for (k, v) in &got {
        if !expected.contains_key(k) {
            diffs.push(format!("{k:?}: psad none, ours {v}"));
        }
    }
    diffs.sort();
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    assert!(expected.len() > 150);
}

/// Rules over every value class the memo keys on: address lists and
/// negations, port ranges both ways, each numeric keyword, flag modifiers.
const CLASS_RULES: &str = concat!(
    "alert tcp $EXTERNAL_NET 1024: -> [10.0.0.0/8,192.168.1.0/24] 80 (msg:\"a\"; psad_id:1; ",
    "ttl:>10; id:!5; psad_ip_len:<=100; flags:S+,12; window:>=512; dsize:>0; psad_dsize:<800;)\n",
    "alert tcp any any -> any 6000:6063 (msg:\"b\"; psad_id:2; flags:S;)\n",
    "alert tcp any !80 <> 10.0.0.0/8 :1023 (msg:\"c\"; psad_id:3; seq:1:5; ack:<9;)\n",
    "alert tcp any any <- any 22 (msg:\"d\"; psad_id:4; flow:established;)\n",
    "alert tcp !10.0.0.0/8 any -> any any (msg:\"e\"; psad_id:5; flags:0;)\n",
    "alert tcp any any -> any 0 (msg:\"f\"; psad_id:6;)\n",
    "alert udp !198.51.100.0/24 !53 <> any :1023 (msg:\"g\"; psad_id:7;)\n",
    "alert udp any any -> 2001:db8::/32 any (msg:\"h\"; psad_id:8; dsize:>100;)\n",
    "alert icmp any any -> any any (msg:\"i\"; psad_id:9; itype:8; icode:>0; icmp_id:456; icmp_seq:0;)\n",
    "alert icmp any any -> any any (msg:\"j\"; psad_id:10; itype:3:5; ttl:<64;)\n",
    "alert icmp any any -> any any (msg:\"k\"; psad_id:11; itype:!0; icmp_seq:<10; dsize:4;)\n",
    "alert ip any any -> any any (msg:\"l\"; psad_id:12; ttl:0;)\n",
    "alert ip any any -> any any (msg:\"m\"; psad_id:13; sameip;)\n",
    "alert ip any any <- any any (msg:\"n\"; psad_id:14; ip_proto:47;)\n",
    "alert ip any any -> any any (msg:\"o\"; psad_id:15; ipopts:lsrr;)\n",
    "alert ip 10.0.0.0/8 any -> any any (msg:\"p\"; psad_id:16; id:<100;)\n",
    "alert tcp any any -> any any (msg:\"q\"; psad_id:17; flags:*FU;)\n",
    "alert tcp any any -> any any (msg:\"r\"; psad_id:18; flags:!A;)\n",
);

/// Packets with values drawn around the rules' edges, and random ones.
fn edge_packets(n: usize) -> Vec<Packet<'static>> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    let ports = [
        0, 1, 21, 22, 23, 53, 79, 80, 81, 1023, 1024, 5999, 6000, 6063, 6064, 65535,
    ];
    let small = [
        0, 1, 4, 5, 8, 9, 10, 11, 63, 64, 99, 100, 101, 255, 456, 511, 512, 799, 800,
    ];
    let v4 = [
        "10.1.2.3",
        "10.0.0.1",
        "192.168.1.5",
        "198.51.100.9",
        "203.0.113.4",
    ];
    let v6 = ["2001:db8::1", "2001:db8::2", "2001:db9::2"];
    let pick = |rnd: &mut dyn FnMut(u64) -> u64, list: &[u32], max: u64| -> u32 {
        if rnd(3) == 0 {
            rnd(max + 1) as u32
        } else {
            list[rnd(list.len() as u64) as usize]
        }
    };
    (0..n)
        .map(|_| {
            let fam: &[&'static str] = if rnd(4) == 0 { &v6 } else { &v4 };
            let src = fam[rnd(fam.len() as u64) as usize];
            let dst = if rnd(8) == 0 {
                src
            } else {
                fam[rnd(fam.len() as u64) as usize]
            };
            let protos = [
                Proto::Tcp,
                Proto::Udp,
                Proto::Icmp,
                Proto::Other(47),
                Proto::UdpLite,
            ];
            let proto = match protos[rnd(5) as usize] {
                Proto::Icmp if src.contains(':') => Proto::Icmp6,
                p => p,
            };
            let mut p = base(src, dst, proto);
            p.ttl = pick(&mut rnd, &small, 255) as u8;
            p.len = pick(&mut rnd, &small, 1500) + 20;
            p.ip_id = (rnd(4) != 0).then(|| pick(&mut rnd, &small, 65535));
            if rnd(10) == 0 {
                p.in_if = "lo";
            }
            if rnd(20) == 0 {
                p.ip_options = "830700";
            }
            if proto.has_ports() {
                p.sport = Some(pick(&mut rnd, &ports, 65535) as u16);
                p.dport = Some(pick(&mut rnd, &ports, 65535) as u16);
            }
            match proto {
                Proto::Tcp if rnd(10) != 0 => {
                    p.tcp = Some(Tcp {
                        window: pick(&mut rnd, &small, 65535) as u16,
                        flags: TcpFlags(rnd(256) as u8),
                        seq: (rnd(2) == 0).then(|| pick(&mut rnd, &small, 1 << 32)),
                        ack: (rnd(2) == 0).then(|| pick(&mut rnd, &small, 1 << 32)),
                        options: if rnd(3) == 0 { "020405b4" } else { "" },
                        ..Tcp::default()
                    })
                }
                Proto::Udp | Proto::UdpLite => p.udp_len = Some(pick(&mut rnd, &small, 1500)),
                Proto::Icmp | Proto::Icmp6 => {
                    p.icmp = Some(Icmp {
                        kind: pick(&mut rnd, &small, 255) as u8,
                        code: pick(&mut rnd, &small, 255) as u8,
                        id: (rnd(2) == 0).then(|| pick(&mut rnd, &small, 65535) as u16),
                        seq: (rnd(2) == 0).then(|| pick(&mut rnd, &small, 65535) as u16),
                        ..Icmp::default()
                    })
                }
                _ => {}
            }
            p
        })
        .collect()
}

/// The memo gives what full matching gives, in the same order, on packets
/// around every rule's edges, with real rule files and corpus lines too;
/// and it does answer from memory.
#[test]
fn memo_agrees_with_full_matching() {
    let mut sets = vec![SignatureSet::builtin(), one(CLASS_RULES)];
    sets.extend(psad_set());
    let mut pkts = edge_packets(30_000);
    let lines = corpus().unwrap_or_default();
    pkts.extend(lines.iter().step_by(3).filter_map(|l| kline(l)));
    let (mut plain, mut memoised) = (Vec::new(), Vec::new());
    for set in &sets {
        for compat in [false, true] {
            let mut memo = MatchMemo::default();
            let (mut hits, mut matched) = (0, 0);
            // Twice over: the second pass meets every key again.
            for p in pkts.iter().chain(&pkts) {
                set.match_packet(p, compat, &mut plain);
                set.match_packet_memo(p, compat, &mut memo, &mut memoised);
                assert_eq!(plain, memoised, "compat {compat}: {p:?}");
                matched += usize::from(!plain.is_empty());
            }
            hits += memo.hits;
            assert!(hits * 2 > pkts.len(), "{hits} memo hits");
            assert!(matched > 500, "only {matched} packets matched");
        }
    }
}
