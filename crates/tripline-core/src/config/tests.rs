//! Config front-end tests on real files: Debian's psad 2.4.6 `/etc/psad/psad.conf` and
//! `/etc/psad/auto_dl` (installed by `.ci/run`), read by path and never copied, and the
//! shipped `examples/tripline.toml`.

use super::*;
use crate::net::IpNet;
use proptest::prelude::*;

const PSAD_CONF: &str = "/etc/psad/psad.conf";
const PSAD_AUTO_DL: &str = "/etc/psad/auto_dl";
const EXAMPLE_TOML: &str = include_str!("../../../../examples/tripline.toml");

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("{path}: {e} (install Debian's psad package: apt-get install psad)")
    })
}

fn load(text: &str) -> Result<Loaded, ConfigError> {
    Config::from_psad_conf("test.conf", text)
}

fn err(text: &str) -> String {
    load(text).unwrap_err().to_string()
}

#[test]
fn debian_psad_conf_gives_psad_defaults() {
    let loaded = Config::from_psad_conf(PSAD_CONF, &read(PSAD_CONF)).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let mut c = loaded.config;
    // A loaded psad.conf turns psad's alert channels on (config/alerting.rs); the rest agrees.
    assert!(c.alerting.email.is_some() && c.alerting.syslog.is_some());
    c.alerting = Config::default().alerting;
    // The real file and our built-in defaults agree on every field and every variable.
    assert_eq!(c, Config::default());
    assert_eq!(c.danger_levels, [5, 15, 150, 1500, 10000]);
    assert_eq!(c.unique_hosts, [10, 20, 50, 100, 500]);
    assert_eq!(c.fw_msg_search, ["DROP"]);
    assert_eq!(c.home_net, NetList::Any);
    assert_eq!(c.scan_timeout_secs, 3600);
    assert!(!c.enable_persistence);
    assert_eq!(c.var("PSAD_DIR"), Some("/var/log/psad"));
    assert_eq!(c.var("FW_DATA_FILE"), Some("/var/log/psad/fwdata"));
    assert_eq!(c.var("AUTO_BLOCK_DL4_TIMEOUT"), Some("3600"));
    assert_eq!(c.var("iptablesCmd"), Some("/sbin/iptables"));
    assert_eq!(c.var("psadCmd"), Some("/usr/sbin/psad"));
    assert_eq!(c.var("SMTP_SERVERS"), Some("any"));
    assert_eq!(c.sigs_file(), "/etc/psad/signatures");
    assert_eq!(c.auto_dl_file(), "/etc/psad/auto_dl");
    assert_eq!(c.var_bool("ENABLE_AUTO_IDS"), Some(false));
}

#[test]
fn signature_variables_exist_without_psad_conf() {
    let c = Config::default();
    for (k, v) in [
        ("HOME_NET", "any"),
        ("EXTERNAL_NET", "any"),
        ("HTTP_SERVERS", "any"),
        ("SMTP_SERVERS", "any"),
        ("DNS_SERVERS", "any"),
        ("SQL_SERVERS", "any"),
        ("TELNET_SERVERS", "any"),
        ("HTTP_PORTS", "80"),
        ("SHELLCODE_PORTS", "!80"),
        ("ORACLE_PORTS", "1521"),
        ("SNORT_SID_STR", "SID"),
    ] {
        assert_eq!(c.var(k), Some(v), "{k}");
    }
    assert!(c.var("AIM_SERVERS").unwrap().contains("205.188.9.0/24"));
    assert_eq!(ConfigBuilder::new().build().unwrap().config, c);
}

#[test]
fn override_file_wins_over_main_file() {
    let main = read(PSAD_CONF);
    let over = "HOME_NET 198.51.100.0/24, 2001:db8::/32;\n\
                DANGER_LEVEL1 2;\n\
                IGNORE_PORTS tcp/22, UDP/5353-5355;\n\
                IGNORE_PROTOCOLS igmp, 47;\n\
                ENABLE_PERSISTENCE Y;\n\
                FW_MSG_SEARCH REJECT;\n\
                FW_MSG_SEARCH DENY;\n";
    let mut b = ConfigBuilder::new();
    b.add_psad_conf("override.conf", over).unwrap();
    b.add_psad_conf(PSAD_CONF, &main).unwrap();
    let c = b.build().unwrap().config;
    assert_eq!(c.danger_levels, [2, 15, 150, 1500, 10000]);
    assert!(c.enable_persistence);
    assert_eq!(
        c.home_net,
        NetList::Nets(vec![
            "198.51.100.0/24".parse::<IpNet>().unwrap(),
            "2001:db8::/32".parse().unwrap()
        ])
    );
    // $HOME_NET users follow the override.
    assert_eq!(
        c.var("HTTP_SERVERS"),
        Some("198.51.100.0/24, 2001:db8::/32")
    );
    assert_eq!(c.ignore_ports.len(), 2);
    assert_eq!(c.ignore_protocols, [Proto::Other(2), Proto::Other(47)]);
    // FW_MSG_SEARCH: all values of the first file that has any.
    assert_eq!(c.fw_msg_search, ["REJECT", "DENY"]);
}

#[test]
fn first_definition_wins_within_a_file() {
    let c = load("MAX_HOPS 7;\nMAX_HOPS 9;\n").unwrap().config;
    assert_eq!(c.max_hops, 7);
}

#[test]
fn var_expansion() {
    let c = load(
        "INSTALL_ROOT /opt/psad;\n\
         PSAD_DIR $INSTALL_ROOT/var/log/psad;\n\
         MY_DL $AUTO_BLOCK_TIMEOUT;\n",
    );
    // MY_DL is not a psad variable: unknown keys are rejected before expansion.
    assert!(matches!(
        c,
        Err(ConfigError {
            kind: ConfigErrorKind::UnknownKey,
            ..
        })
    ));
    let c = load(
        "INSTALL_ROOT /opt/psad;\n\
         PSAD_DIR $INSTALL_ROOT/var/log/psad;\n\
         HOME_NET 192.0.2.0/24;\n\
         DNS_SERVERS $HOME_NET;\n",
    )
    .unwrap()
    .config;
    assert_eq!(c.var("PSAD_DIR"), Some("/opt/psad/var/log/psad"));
    // Defaults that refer to a variable the file changed follow it.
    assert_eq!(c.var("FW_DATA_FILE"), Some("/opt/psad/var/log/psad/fwdata"));
    assert_eq!(c.var("PSAD_CONF_DIR"), Some("/opt/psad/etc/psad"));
    assert_eq!(c.var("DNS_SERVERS"), Some("192.0.2.0/24"));
    // INSTALL_ROOT "/" is special: no double slash.
    let c = load("PSAD_DIR $INSTALL_ROOT/tmp/psad;\n").unwrap().config;
    assert_eq!(c.var("PSAD_DIR"), Some("/tmp/psad"));
}

#[test]
fn var_expansion_errors_name_file_line_and_key() {
    assert_eq!(
        err("# x\nPSAD_DIR $PSAD_DIR/x;\n"),
        "test.conf:2: PSAD_DIR: refers to itself"
    );
    assert_eq!(
        err("HOME_NET $NOT_DEFINED;\n"),
        "test.conf:1: HOME_NET: $NOT_DEFINED is not defined"
    );
    // A cycle through a default blames the line the user wrote.
    assert_eq!(
        err("\nPSAD_DIR $FW_DATA_FILE;\n"),
        "test.conf:2: PSAD_DIR: circular $VAR reference: PSAD_DIR -> FW_DATA_FILE -> PSAD_DIR"
    );
    assert_eq!(
        err("HTTP_SERVERS $DNS_SERVERS;\nDNS_SERVERS $HTTP_SERVERS;\n"),
        "test.conf:1: HTTP_SERVERS: circular $VAR reference: HTTP_SERVERS -> DNS_SERVERS -> HTTP_SERVERS"
    );
}

#[test]
fn unknown_key_error_has_location_and_suggestion() {
    assert_eq!(
        err("HOME_NET any;\n# comment\nENABLE_PERSISTANCE Y;\n"),
        "test.conf:3: ENABLE_PERSISTANCE: unknown psad 2.4.6 variable (did you mean ENABLE_PERSISTENCE?)"
    );
    assert_eq!(
        err("FOOBAR_WIBBLE_XYZZY 1;\n"),
        "test.conf:1: FOOBAR_WIBBLE_XYZZY: unknown psad 2.4.6 variable"
    );
    // Command paths and extra IPT_AUTO_CHAINn are psad variables.
    load("nftCmd /usr/sbin/nft;\nIPT_AUTO_CHAIN4 DROP, src, filter, INPUT, 1, X, 1;\n").unwrap();
}

#[test]
fn invalid_values_name_the_key() {
    let cases = [
        ("ENABLE_PERSISTENCE maybe;", "test.conf:1: ENABLE_PERSISTENCE: invalid value \"maybe\""),
        ("DANGER_LEVEL3 lots;", "test.conf:1: DANGER_LEVEL3: invalid value \"lots\""),
        ("DL2_UNIQUE_HOSTS -4;", "test.conf:1: DL2_UNIQUE_HOSTS: invalid value \"-4\""),
        ("PORT_RANGE_SCAN_THRESHOLD 70000;", "PORT_RANGE_SCAN_THRESHOLD: invalid value \"70000\": expected an integer from 0 to 65535"),
        ("STATUS_IP_THRESHOLD 10001;", "STATUS_IP_THRESHOLD: invalid value"),
        ("MIN_DANGER_LEVEL 6;", "MIN_DANGER_LEVEL: invalid value \"6\": expected an integer from 0 to 5"),
        ("MAX_HOPS 256;", "MAX_HOPS: invalid value"),
        ("IGNORE_PORTS tcp/22, icmp/8;", "IGNORE_PORTS: invalid value"),
        ("IGNORE_PORTS tcp/80-22;", "backwards"),
        ("IGNORE_PROTOCOLS tcp, bogus;", "IGNORE_PROTOCOLS: invalid value"),
        ("IGNORE_INTERFACES eth0 eth1;", "IGNORE_INTERFACES: invalid value"),
        ("HOME_NET 10.0.0.0/33;", "HOME_NET: invalid value"),
        ("EXTERNAL_NET nowhere;", "EXTERNAL_NET: invalid value"),
        ("FW_SEARCH_ALL perhaps;", "FW_SEARCH_ALL: invalid value"),
        ("SNORT_SID_STR ;", "SNORT_SID_STR: invalid value"),
        ("EMAIL_ADDRESSES nobody;", "EMAIL_ADDRESSES: invalid value"),
        ("SYSLOG_FACILITY LOG_USER;", "SYSLOG_FACILITY: invalid value"),
        ("DSHIELD_ALERT_INTERVAL 0;", "DSHIELD_ALERT_INTERVAL: invalid value"),
        ("ENABLE_AUTO_IDS Y;\nIPTABLES_BLOCK_METHOD N;", "ENABLE_AUTO_IDS: is Y but both"),
        ("IPT_SYSLOG_FILE /var/log/psad/fwdata;", "test.conf:1: IPT_SYSLOG_FILE: IPT_SYSLOG_FILE and FW_DATA_FILE"),
        ("FW_MSG_SEARCH DROP;\nFW_MSG_SEARCH ;", "test.conf:2: FW_MSG_SEARCH: invalid value"),
        ("FW_MSG_SEARCH DROP;\nFW_MSG_SEARCH (REJ;", "test.conf:2: FW_MSG_SEARCH: invalid value \"(REJ\": not a valid regular expression: unclosed group"),
        ("IGNORE_LOG_PREFIXES [x;", "test.conf:1: IGNORE_LOG_PREFIXES: invalid value \"[x\": not a valid regular expression"),
        ("ENABLE_AUTO_IDS_REGEX Y;\nAUTO_BLOCK_REGEX a)b;", "AUTO_BLOCK_REGEX: invalid value"),
    ];
    for (text, want) in cases {
        let got = err(text);
        assert!(got.contains(want), "{text:?}: got {got:?}, want {want:?}");
    }
}

#[test]
fn psad_default_regexes_compile() {
    // psad's own CUSTOM_SYSLOG_TS_RE (Perl syntax, with `\:`) is accepted when enabled.
    let c = load("ENABLE_CUSTOM_SYSLOG_TS_RE Y;\nIGNORE_LOG_PREFIXES ^(ALLOW|ACCEPT);\n")
        .unwrap()
        .config;
    assert_eq!(c.ignore_log_prefixes.as_deref(), Some("^(ALLOW|ACCEPT)"));
}

#[test]
fn lenient_values_become_warnings() {
    let l = load("ENABLE_PERSISTENCE yes;\nHOME_NET CHANGEME;\nMAX_HOPS 5\n").unwrap();
    assert!(l.config.enable_persistence);
    assert_eq!(l.config.var("ENABLE_PERSISTENCE"), Some("Y"));
    assert_eq!(l.config.home_net, NetList::Any);
    let w: Vec<String> = l.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(
        w[0].starts_with("test.conf:3: MAX_HOPS: line ignored"),
        "{w:?}"
    );
    assert!(w
        .iter()
        .any(|w| w.starts_with("test.conf:1: ENABLE_PERSISTENCE:")));
    assert!(w
        .iter()
        .any(|w| w.starts_with("test.conf:2: HOME_NET: contains CHANGEME")));
}

#[test]
fn example_toml_parses() {
    let l = Config::from_toml("examples/tripline.toml", EXAMPLE_TOML).unwrap();
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let c = l.config;
    assert_eq!(c.danger_levels, [5, 15, 150, 1500, 10000]);
    assert_eq!(
        c.home_net,
        NetList::Nets(vec![
            "198.51.100.0/24".parse().unwrap(),
            "2001:db8:100::/48".parse().unwrap()
        ])
    );
    assert_eq!(
        c.var("HTTP_SERVERS"),
        Some("198.51.100.0/24, 2001:db8:100::/48")
    );
    assert_eq!(
        c.ignore_ports,
        [
            PortRange {
                proto: Proto::Tcp,
                lo: 22,
                hi: 22
            },
            PortRange {
                proto: Proto::Udp,
                lo: 5353,
                hi: 5353
            }
        ]
    );
    assert_eq!(c.scan_timeout_secs, 3600);
    assert_eq!(c.sigs_file(), "/etc/psad/signatures");
    assert!(!c.psad_compat);
    assert!(c.alerting.block_alerts);
    assert!(!c.alerting.renew_block_alerts);
}

#[test]
fn block_alert_switches_follow_psad_vars_and_toml() {
    let c = Config::from_toml(
        "t.toml",
        "[blocking]\nalerts = false\nrenew-alerts = true\n",
    )
    .unwrap()
    .config;
    assert!(!c.alerting.block_alerts);
    assert!(c.alerting.renew_block_alerts);
    assert_eq!(c.var("ENABLE_AUTO_IDS_EMAILS"), Some("N"));
    let d = Config::from_toml("t.toml", "").unwrap().config;
    assert!(d.alerting.block_alerts, "on by default, like psad");
    assert!(!d.alerting.renew_block_alerts);
}

#[test]
fn toml_over_psad_conf() {
    let toml = "[detection]\nmin-danger-level = 3\npsad-compat = true\nscan-timeout = \"30m\"\n\
                [files]\npsad-conf = \"/etc/psad/psad.conf\"\n";
    let t = TomlConfig::parse("t.toml", toml).unwrap();
    assert_eq!(t.psad_conf_path(), Some(PSAD_CONF));
    let mut b = ConfigBuilder::new();
    b.add_toml(&t);
    b.add_psad_conf(PSAD_CONF, "MIN_DANGER_LEVEL 2;\nMAX_HOPS 30;\n")
        .unwrap();
    let c = b.build().unwrap().config;
    assert_eq!(c.min_danger_level, 3);
    assert_eq!(c.max_hops, 30);
    assert_eq!(c.scan_timeout_secs, 1800);
    assert!(c.psad_compat);
}

#[test]
fn toml_errors_name_line_and_key() {
    let e = Config::from_toml("t.toml", "[detection]\n\nhome-nett = \"any\"\n").unwrap_err();
    let s = e.to_string();
    assert!(s.starts_with("t.toml:3: home-nett: unknown key"), "{s}");
    assert!(s.ends_with("(did you mean home-net?)"), "{s}");
    let e = Config::from_toml(
        "t.toml",
        "[detection]\nignore-ports = [\"tcp/22\", \"tcp/x\"]\n",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string().split(": invalid").next(),
        Some("t.toml:2: detection.ignore-ports")
    );
    let e = Config::from_toml("t.toml", "[alerts]\n\nstatus-ip-threshold = 20000\n").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("t.toml:3: alerts.status-ip-threshold: invalid value"),
        "{e}"
    );
    let e = Config::from_toml("t.toml", "[detection]\nscan-timeout = \"soon\"\n").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("t.toml:2: detection.scan-timeout: invalid duration"),
        "{e}"
    );
    let e = Config::from_toml("t.toml", "[detection\n").unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::Syntax);
    assert_eq!(e.line, Some(1));
}

#[test]
fn debian_auto_dl_parses() {
    let p = AutoDl::parse(PSAD_AUTO_DL, &read(PSAD_AUTO_DL));
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert!(p.unresolved.is_empty());
    // Debian's file holds only commented examples.
    assert!(p.table.is_empty());
}

#[test]
fn auto_dl_examples_from_the_debian_file_parse_when_uncommented() {
    // The example lines of /etc/psad/auto_dl, uncommented: they must all be valid.
    let text: String = read(PSAD_AUTO_DL)
        .lines()
        .filter_map(|l| l.strip_prefix("#  "))
        .filter(|l| l.contains(';') && !l.starts_with('<'))
        .map(|l| format!("{l}\n"))
        .collect();
    let p = AutoDl::parse("examples", &text);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(p.table.len(), 5, "{text}");
    assert_eq!(
        p.table
            .lookup("10.10.1.9".parse().unwrap(), Proto::Tcp, Some(80), 0),
        Some(0)
    );
}

#[test]
fn dump_reflects_loaded_values() {
    let mut c =
        load("DANGER_LEVEL2 20;\nIGNORE_PORTS udp/53;\nFW_MSG_SEARCH A;\nFW_MSG_SEARCH B;\n")
            .unwrap()
            .config;
    c.auto_dl = AutoDl::parse("a", "192.0.2.0/24 3 tcp/22;\n").table;
    let d = c.dump();
    assert!(d.contains("\nDANGER_LEVEL2                  20\n"), "{d}");
    assert!(d.contains("\nIGNORE_PORTS                   udp/53\n"));
    assert!(d.contains("\nFW_MSG_SEARCH                  A\nFW_MSG_SEARCH                  B\n"));
    assert!(d.contains("\nauto-dl                        192.0.2.0/24 3 tcp/22\n"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn psad_conf_never_panics(text in "\\PC*") {
        let _ = load(&text).map(|l| l.config.dump());
    }

    #[test]
    fn psad_conf_lines_never_panic(lines in proptest::collection::vec(
        (prop::sample::select(vec!["HOME_NET", "IGNORE_PORTS", "IGNORE_PROTOCOLS", "DANGER_LEVEL1",
            "PSAD_DIR", "FW_MSG_SEARCH", "ENABLE_PERSISTENCE", "INSTALL_ROOT", "MAX_HOPS"]),
         "[ -~]{0,30}"), 0..8)) {
        let text: String = lines.iter().map(|(k, v)| format!("{k} {v};\n")).collect();
        let _ = load(&text);
    }

    #[test]
    fn toml_never_panics(text in "\\PC*") {
        let _ = Config::from_toml("t.toml", &text);
    }

    #[test]
    fn auto_dl_never_panics(text in "\\PC*", src in any::<u32>(), port in any::<u16>(), dl in 0u8..6) {
        let p = AutoDl::parse("a", &text);
        let _ = p.table.lookup(std::net::Ipv4Addr::from(src).into(), Proto::Tcp, Some(port), dl);
    }
}

#[test]
fn toml_trw_section_lowers_and_rejects_nonsense() {
    let ok = "[trw]\naccept-prefixes = [\"ACCEPT_NEW\"]\nopen-services = [\"198.51.100.1:tcp/80\", \"2001:db8::/32:udp/53\"]\nfalse-positive = 0.001\n";
    let cfg = Config::from_toml("t.toml", ok).unwrap().config;
    let trw = cfg.trw.expect("trw on");
    assert_eq!(trw.open_services.len(), 2);
    assert!((trw.thresholds().1 - 990.0).abs() < 1e-6);
    let bad = "[trw]\naccept-prefixes = [\"A\"]\ntheta0 = 0.1\ntheta1 = 0.5\n";
    let err = Config::from_toml("t.toml", bad).unwrap_err().to_string();
    assert!(err.contains("t.toml:1") && err.contains("theta1"), "{err}");
    let none = "[trw]\ntheta0 = 0.8\n";
    assert!(Config::from_toml("t.toml", none)
        .unwrap_err()
        .to_string()
        .contains("accept-prefixes"));
}
