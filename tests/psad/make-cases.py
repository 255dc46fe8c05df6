#!/usr/bin/env python3
"""Writes tests/psad/cases/*: small logs built from real corpus lines (only
addresses, ports, flags and ICMP fields changed), one per rule or quirk of
psad 2.4.6 (spec §2-§3). Each case: input.log [overrides.conf] [auto_dl] [snort_rule_dl].
In overrides.conf, @CASE@ stands for the case directory."""
import os, shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cases")
HDR = "Nov 21 23:20:{s:02d} fw1 kernel: [ 8085.{u:06d}] "
MAC = "MAC=52:54:00:1f:00:01:52:54:00:5c:00:0a:08:00"
TCP = ("IN_DROP IN=wan0 OUT= " + MAC + " SRC={src} DST={dst} LEN=44 TOS=0x00 PREC=0x00 TTL=52 ID={id} "
       "PROTO=TCP SPT=55018 DPT={dp} WINDOW=1024 RES=0x00 {flags} URGP=0 OPT (020405B4) ")
UDP = ("IN_DROP IN=wan0 OUT= " + MAC + " SRC={src} DST={dst} LEN=40 TOS=0x00 PREC=0x00 TTL=52 ID={id} "
       "PROTO={proto} SPT=55132 DPT={dp} LEN=20 ")
ICMP = ("IN_DROP IN=wan0 OUT= " + MAC + " SRC={src} DST={dst} LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID={id} DF "
        "PROTO=ICMP TYPE={t} CODE={c} ID=6931 SEQ={seq} ")
RAW = ("IN_DROP IN=wan0 OUT= " + MAC + " SRC={src} DST={dst} LEN=20 TOS=0x00 PREC=0x00 TTL=39 ID={id} PROTO={p} ")
V6 = ("DROP IN=wan0 OUT= MAC=52:54:00:1f:00:01:52:54:00:5c:00:13:86:dd SRC={src} DST={dst} LEN=64 TC=0 "
      "HOPLIMIT=255 FLOWLBL=0 PROTO=TCP SPT=61787 DPT={dp} WINDOW=1024 RES=0x00 SYN URGP=0 OPT (020405B4) ")
S = "198.51.100.10"
D = "198.51.100.1"
n = 0


def line(tmpl, **kw):
    global n
    n += 1
    kw.setdefault("src", S)
    kw.setdefault("dst", D)
    kw.setdefault("id", 1000 + n)
    return HDR.format(s=n % 60, u=n) + tmpl.format(**kw)


def syn(dp, **kw):
    return line(TCP, dp=dp, flags=kw.pop("flags", "SYN"), **kw)


def case(name, lines, overrides=None, auto_dl=None, snort_rule_dl=None):
    d = os.path.join(OUT, name)
    os.makedirs(d)
    with open(os.path.join(d, "input.log"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for fname, text in (("overrides.conf", overrides), ("auto_dl", auto_dl), ("snort_rule_dl", snort_rule_dl)):
        if text:
            with open(os.path.join(d, fname), "w") as f:
                f.write(text)


shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
case("four_packets_no_dl", [syn(p) for p in (1001, 1002, 1003, 1004)])
case("five_packets_dl1", [syn(p) for p in range(2001, 2006)])
case("fifteen_packets_dl2", [syn(p) for p in range(3001, 3016)])
case("one_port_repeated_no_dl", [syn(3002) for _ in range(20)])
case("two_ports_alternating_dl1", [syn(2000 + (i % 2)) for i in range(5)])
case("port_span_not_count", [syn(1), syn(65535), syn(1), syn(65535), syn(1)])
case("gre_multi_protocol", [line(RAW, p=47) for _ in range(5)])
case("icmp_invalid_code_dl2", [line(ICMP, t=8, c=2, seq=i) for i in range(5)])
case("icmp_invalid_type", [line(ICMP, t=99, c=0, seq=i).replace(" ID=6931 SEQ=%d" % i, "") for i in range(2)])
case("sweep_11_destinations", [syn(1083, dst="198.51.100.%d" % (20 + (i % 11))) for i in range(12)])
case("sig_mssql_then_ping", [syn(1433), line(ICMP, t=8, c=0, seq=1)],
     overrides="SNORT_RULE_DL_FILE @CASE@/snort_rule_dl;\n", snort_rule_dl="100205 4\n")
case("sig_ping_then_mssql", [line(ICMP, t=8, c=0, seq=1), syn(1433)],
     overrides="SNORT_RULE_DL_FILE @CASE@/snort_rule_dl;\n", snort_rule_dl="100205 4\n")
case("sig_dl0_drops_packet", [syn(1433) for _ in range(6)] + [syn(p) for p in (10, 11)],
     overrides="SNORT_RULE_DL_FILE @CASE@/snort_rule_dl;\n", snort_rule_dl="100205 0\n")
case("auto_dl_ignore", [syn(p) for p in range(4001, 4011)] + [syn(p, src="198.51.100.11") for p in range(4001, 4011)],
     auto_dl="198.51.100.10    0;\n")
case("auto_dl_port_criteria", [syn(22, src="198.51.100.12"), syn(23, src="198.51.100.13")],
     auto_dl="198.51.100.0/24    3    tcp/22;\n")
case("ignore_ports", [syn(p) for p in range(10, 20)], overrides="IGNORE_PORTS tcp/10-14;\n")
case("ignore_protocols_icmp", [line(ICMP, t=8, c=2, seq=i) for i in range(5)] + [syn(p) for p in range(5, 10)],
     overrides="IGNORE_PROTOCOLS icmp;\n")
case("dl1_unique_hosts_zero", [syn(80), syn(80, src="198.51.100.11")], overrides="DL1_UNIQUE_HOSTS 0;\n")
case("conntrack_ack_rst_ignored", [syn(p, flags="ACK") for p in range(100, 110)]
     + [syn(p, flags="RST") for p in range(100, 110)] + [syn(p, flags="FIN") for p in range(100, 106)])
case("flag_scans_signatures", [syn(p, flags="FIN") for p in range(20, 26)] + [syn(p, flags="URG PSH FIN", src="198.51.100.11") for p in range(20, 26)]
     + [syn(p, flags="SYN FIN", src="198.51.100.12") for p in range(20, 26)] + [syn(p, flags="", src="198.51.100.13").replace("0x00  URGP", "0x00 URGP") for p in range(20, 26)])
case("udp_scan", [line(UDP, dp=p, proto="UDP") for p in (53, 67, 123, 137, 161, 1434)])
case("udplite_ipv4_is_error", [line(UDP, dp=p, proto="UDPLITE") for p in range(1, 8)])
case("ipv6_full_form", [line(V6, src="2001:0db8:0100:0000:0000:0000:0000:0013", dst="2001:0db8:0100:0000:0000:0000:0000:0001", dp=p) for p in range(1, 21)])
case("ipv6_detection_off", [line(V6, src="2001:0db8:0100:0000:0000:0000:0000:0013", dst="2001:0db8:0100:0000:0000:0000:0000:0001", dp=p) for p in range(1, 21)],
     overrides="ENABLE_IPV6_DETECTION N;\n")
case("fw_search_all_no", [syn(p) for p in range(30, 40)] + [syn(p, src="198.51.100.11").replace("IN_DROP ", "ACCEPTED ") for p in range(30, 40)],
     overrides="FW_SEARCH_ALL N;\n")
case("ignore_log_prefixes", [syn(p) for p in range(30, 40)] + [syn(p, src="198.51.100.11").replace("IN_DROP ", "NOISE ") for p in range(30, 40)],
     overrides="IGNORE_LOG_PREFIXES NOISE;\n")
case("ignore_interfaces", [syn(p) for p in range(30, 40)], overrides="IGNORE_INTERFACES wan0;\n")
case("danger_level_thresholds", [syn(p) for p in range(1, 8)], overrides="DANGER_LEVEL1 2;\nDANGER_LEVEL2 4;\nDANGER_LEVEL3 6;\n")
print("cases written to", OUT)
