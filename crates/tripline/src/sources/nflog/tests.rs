//! NFLOG against the kernel's own LOG target: the same packets, logged by a
//! LOG rule (read back from /dev/kmsg) and an NFLOG rule (read over netlink
//! and printed by the core), must give the same text, byte for byte.

use super::*;
use crate::sources::kmsg::{Kmsg, DEV_KMSG};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

#[allow(dead_code)]
#[path = "../../../tests/it/netns.rs"]
mod netns;
use netns::{must, Lab, LogAllNetns, FW4};

/// Receive NFLOG `group` inside namespace `ns` (a thread of its own joins it).
fn nflog_in(ns: &str, group: u16) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let nsfile = std::fs::File::open(format!("/run/netns/{ns}")).unwrap();
    std::thread::spawn(move || {
        nix::sched::setns(nsfile, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let sock = open(group).unwrap();
        ready_tx.send(()).unwrap();
        let (mut names, mut seq, lost) = (Ifnames::default(), None, AtomicU64::new(0));
        let mut buf = vec![0u8; 1 << 17];
        while let Ok(n) = sock.recv(&mut &mut buf[..], 0) {
            let mut off = 0;
            while off + 16 <= n {
                let len = u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap()) as usize;
                let msg = NetlinkMessage::<NetfilterMessage>::deserialize(&buf[off..off + len]);
                off += (len + 3) & !3;
                if let Ok(NetlinkMessage {
                    payload:
                        NetlinkPayload::InnerMessage(NetfilterMessage {
                            inner: NetfilterMessageInner::ULog(ULogMessage::Packet(nlas)),
                            ..
                        }),
                    ..
                }) = msg
                {
                    let line = packet_line(&nlas, &mut names, "fw", &mut seq, &lost).unwrap();
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            }
        }
    });
    ready.recv().unwrap();
    rx
}

fn count(map: &mut BTreeMap<String, i32>, msg: &str, d: i32) {
    *map.entry(msg.trim_end().to_string()).or_default() += d;
    map.retain(|_, n| *n != 0);
}

#[test]
fn nflog_lines_equal_the_kernels_log_lines_for_the_same_packets() {
    let _log = LogAllNetns::enable();
    let lab = Lab::new(68);
    let prefix = format!("TLC{} ", std::process::id() % 100_000);
    for (tool, proto) in [
        ("iptables", "tcp"),
        ("iptables", "udp"),
        ("iptables", "icmp"),
        ("ip6tables", "tcp"),
        ("ip6tables", "udp"),
        // Echo requests only: neighbour discovery must get through.
        ("ip6tables", "ipv6-icmp --icmpv6-type echo-request"),
    ] {
        let rule = |target: &[&str]| {
            let mut c = Lab::exec(&lab.fw, tool);
            c.args(["-A", "INPUT", "-i", "wan0", "-p"]);
            c.args(proto.split(' ')).arg("-j");
            must(c.args(target));
        };
        rule(&[
            "LOG",
            "--log-prefix",
            &prefix,
            "--log-tcp-options",
            "--log-ip-options",
        ]);
        rule(&["NFLOG", "--nflog-group", "9", "--nflog-prefix", &prefix]);
        rule(&["DROP"]);
    }
    let nflog = nflog_in(&lab.fw, 9);
    let mut kmsg = Kmsg::open(Path::new(DEV_KMSG), None).unwrap();
    let sc = |program: &str, args: &[&str]| {
        must(Lab::exec(&lab.sc, program).args(args));
    };
    let fw6 = "2001:db8:113::1";
    sc(
        "nmap",
        &["-n", "-Pn", "-sS", "--max-retries", "0", "-p", "20-30", FW4],
    );
    sc("nmap", &["-6", "-n", "-sn", "-PE", "--send-ip", fw6]);
    sc(
        "nmap",
        &[
            "-6",
            "-n",
            "-Pn",
            "-sU",
            "--max-retries",
            "0",
            "-p",
            "53",
            fw6,
        ],
    );
    sc(
        "nmap",
        &[
            "-n",
            "-Pn",
            "-sU",
            "--max-retries",
            "0",
            "-p",
            "53,123",
            FW4,
        ],
    );
    sc(
        "nmap",
        &[
            "-6",
            "-n",
            "-Pn",
            "-sS",
            "--max-retries",
            "0",
            "-p",
            "22,80",
            fw6,
        ],
    );
    sc(
        "nmap",
        &["-n", "-Pn", "-sX", "--max-retries", "0", "-p", "25", FW4],
    );
    // Echo with a record-route IP option; an ICMP error quoting a packet.
    // (hping3 exits 1 when nothing answers: the firewall drops everything.)
    for args in [&["-G"][..], &["-C", "3", "-K", "3"]] {
        let mut c = Lab::exec(&lab.sc, "hping3");
        c.args(["-q", "--count", "1", "-1"]).args(args).arg(FW4);
        assert!(c.output().unwrap().status.code().is_some());
    }
    // Every message from one side must show up on the other.
    let mut diff = BTreeMap::new();
    let (mut from_log, mut from_nflog) = (0, 0);
    let mut seen = Vec::new();
    let deadline = Instant::now() + std::time::Duration::from_secs(15);
    loop {
        while let Some((_, rec)) = kmsg.next().unwrap() {
            if let Some(i) = rec.find(&format!(";{prefix}")) {
                count(&mut diff, &rec[i + 1..], 1);
                seen.push(rec[i + 1..].to_string());
                from_log += 1;
            }
        }
        while let Ok(line) = nflog.try_recv() {
            let msg = &line[line.find(" kernel: ").unwrap() + 9..];
            count(&mut diff, msg, -1);
            from_nflog += 1;
        }
        if diff.is_empty() && from_log >= 20 && from_log == from_nflog {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "LOG {from_log} lines, NFLOG {from_nflog}; unmatched (+LOG/-NFLOG): {diff:#?}"
        );
        kmsg.wait(100).unwrap();
    }
    // Every shape sent was compared.
    for shape in [
        "PROTO=TCP SPT=",
        "URG PSH FIN",
        "PROTO=UDP SPT=",
        "OPT (07",
        "PROTO=ICMP TYPE=3 CODE=3 [SRC=",
        "PROTO=ICMPv6 TYPE=128",
        "HOPLIMIT=255 FLOWLBL=0 PROTO=TCP",
        "HOPLIMIT=255 FLOWLBL=0 PROTO=UDP",
    ] {
        assert!(
            seen.iter().any(|l| l.contains(shape)),
            "no {shape} line: {seen:#?}"
        );
    }
}

#[test]
fn a_group_bound_by_another_process_is_an_error_naming_the_source() {
    let lab = Lab::new(69);
    let nsfile = std::fs::File::open(format!("/run/netns/{}", lab.fw)).unwrap();
    let msg = std::thread::spawn(move || {
        nix::sched::setns(nsfile, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let _first = open(11).unwrap();
        format!("{:#}", open(11).err().unwrap())
    })
    .join()
    .unwrap();
    assert!(msg.starts_with("nflog source (group 11): "), "{msg}");
    assert!(msg.contains("already bound"), "{msg}");
}
