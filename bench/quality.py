#!/usr/bin/env python3
"""bench/quality: detection quality of Tripline (default mode) and Debian's psad
on a labelled lab corpus, side by side.

usage: bench/quality [CORPUS_DIR] [--json OUT] [--work DIR]
                     [--tripline BIN] [--tripline-json FILE]
                     [--psad-dir DIR] [--no-psad-replay]

CORPUS_DIR (default /work/shared/corpus/dev) is a directory made by the lab's
mkcorpus.sh: syslog.log (or syslog.log.gz), labels.tsv, line_labels.tsv,
sources.tsv.  What is run:

  tripline analyze --json --min-dl 0 CORPUS/syslog.log          (default mode)
  shared/lab/psad-oracle.sh CORPUS/syslog.log WORK/psad          (psad -A, root)
  tests/psad/run-psad.sh PREFIX WORK/replay/...                  (--psad-replay)

--tripline-json / --psad-dir reuse earlier output instead of running the tool
(--psad-dir takes a psad-oracle.sh output directory, e.g. CORPUS/psad).

Stdlib only.  Exits 2 with "quality: FILE: what is wrong" on malformed input.
See bench/README.md for what each column means.
"""
import argparse
import collections
import csv
import gzip
import ipaddress
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.environ.get("TRIPLINE_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
DEFAULT_CORPUS = os.path.join(SHARED, "corpus", "dev")

# --------------------------------------------------------------------------
# Labelled scan_type text -> Tripline scan_types[].kind expected for it.
# First matching rule wins (case-insensitive regex on labels.tsv `scan_type`).
# The value is a tuple of accepted kinds (any one of them counts as right).
# A scan whose text matches no rule is shown as "unmapped" and not judged:
# add a rule here when a new profile brings a new kind of scan.
KIND_RULES = [
    # nmap -D: the real scanner and every decoy send the same SYN scan
    (r"decoy", ("tcp-syn",), "nmap -sS -D"),
    # nmap -sS -f: on the nft host only IP fragments are logged (no TCP flags
    # visible in the first 8 bytes): a SYN scan, or `fragments` if the tool
    # says it only saw fragments (calling them tcp-null would be wrong)
    (r"\bfrag", ("tcp-syn", "fragments"), "nmap -sS -f: SYN, or fragments when only those are logged"),
    (r"SYN\s*\+\s*FIN|SYN[ /]FIN", ("tcp-syn-fin",), "SYN and FIN set"),
    (r"all TCP flags|SFRPAU", ("tcp-other",), "URG ACK PSH RST SYN FIN: no nmap scan type"),
    (r"\bNULL\b", ("tcp-null",), "nmap -sN / no flags"),
    (r"\bXMAS\b", ("tcp-xmas",), "nmap -sX"),
    (r"Maimon", ("tcp-maimon",), "nmap -sM (FIN/ACK)"),
    (r"Window scan", ("tcp-ack",), "nmap -sW sends the same bare ACKs as -sA"),
    (r"\bACK scan", ("tcp-ack",), "nmap -sA"),
    (r"\bFIN scan", ("tcp-fin",), "nmap -sF"),
    (r"IP protocol scan", ("ip-protocol",), "nmap -sO"),  # + see ALSO_EXPLAINS
    (r"OS detection", ("tcp-os-probe",), "nmap -O (its URG PSH SYN FIN probe)"),
    (r"version detection", ("tcp-syn",), "nmap -sV: connects to open ports"),
    (r"\bUDP\b|Slammer", ("udp",), "nmap -sU / crafted UDP"),
    (r"ICMPv6|ICMP|\bping\b|\becho\b", ("icmp",), "ICMP / ICMPv6"),
    (r"connect", ("tcp-syn",), "nmap -sT / connect(): SYNs in the log"),
    (r"\bSYN\b", ("tcp-syn",), "nmap -sS / SYN"),
    (r"\bLAND\b", ("tcp-syn",), "hping3 -S -a DST"),
    (r"TCP dport 0", ("tcp-syn",), "hping3 -S -p 0"),
    (r"'myscan'", ("tcp-syn",), "hping3 -S -s 10101"),
]

# Other kinds a scan legitimately produces besides the expected one (only used
# for the "kinds no labelled scan explains" list, not for right/wrong):
# nmap -O sends T2 NULL, T3 URG PSH SYN FIN, T4/T6 ACK, T5 SYN, T7 URG PSH FIN,
# an ECN SYN, a UDP probe and two ICMP echoes; nmap -sO sends a real ICMP echo,
# UDP datagram and TCP ACK for protocols 1, 17 and 6.
ALSO_EXPLAINS = {
    "tcp-os-probe": ("tcp-null", "tcp-xmas", "tcp-ack", "tcp-syn", "tcp-other", "udp", "icmp"),
    "ip-protocol": ("icmp", "udp", "tcp-ack"),
}

# TCP flag set -> kind: the same table as Tripline's report (report/mod.rs),
# used to read psad's "TCP flags: [FLAGS: N packets, hint]" alert lines.
FLAG_KIND = {
    frozenset(["SYN"]): "tcp-syn",
    frozenset(["FIN"]): "tcp-fin",
    frozenset(["URG", "PSH", "FIN"]): "tcp-xmas",
    frozenset(): "tcp-null",
    frozenset(["URG", "PSH", "SYN", "FIN"]): "tcp-os-probe",
    frozenset(["SYN", "FIN"]): "tcp-syn-fin",
    frozenset(["ACK"]): "tcp-ack",
    frozenset(["ACK", "FIN"]): "tcp-maimon",
}


class InputError(Exception):
    def __init__(self, path, msg):
        super().__init__("%s: %s" % (path, msg))


def norm(a):
    try:
        return ipaddress.ip_address(a.strip()).compressed
    except ValueError:
        return a.strip()


def expected_kinds(scan_type):
    for rx, kinds, why in KIND_RULES:
        if re.search(rx, scan_type, re.I):
            return kinds, why
    return None, "unmapped"


# ------------------------------------------------------------------ inputs
def read_tsv(path, required):
    if not os.path.exists(path):
        raise InputError(path, "missing")
    try:
        with open(path, encoding="utf-8", newline="") as f:
            r = csv.DictReader(f, delimiter="\t")
            if r.fieldnames is None:
                raise InputError(path, "empty file (no header)")
            miss = [c for c in required if c not in r.fieldnames]
            if miss:
                raise InputError(path, "header lacks column(s) %s (has %s)" % (
                    ", ".join(miss), ", ".join(r.fieldnames)))
            rows = []
            for i, row in enumerate(r, 2):
                if None in row or any(row.get(c) is None for c in required):
                    raise InputError(path, "line %d: %d fields, header has %d" % (
                        i, sum(1 for k, v in row.items() if k is not None and v is not None)
                        + len(row.get(None) or []), len(r.fieldnames)))
                rows.append(row)
    except UnicodeDecodeError as e:
        raise InputError(path, "not UTF-8 text (%s)" % e)
    return rows


def to_int(path, what, v):
    try:
        return int(v)
    except (TypeError, ValueError):
        raise InputError(path, "%s: not an integer: %r" % (what, v))


def load_corpus(cdir):
    if not os.path.isdir(cdir):
        raise InputError(cdir, "not a directory")
    log = os.path.join(cdir, "syslog.log")
    if not os.path.exists(log):
        if os.path.exists(log + ".gz"):
            log += ".gz"
        else:
            raise InputError(log, "missing (nor syslog.log.gz)")
    lp = os.path.join(cdir, "labels.tsv")
    sp = os.path.join(cdir, "sources.tsv")
    llp = os.path.join(cdir, "line_labels.tsv")
    labels = read_tsv(lp, ["scan_id", "src", "expected", "role", "scan_type", "lines"])
    sources = read_tsv(sp, ["src", "expected", "scan_ids", "lines"])
    line_labels = read_tsv(llp, ["line", "src", "scan_id", "expected"])
    if not sources:
        raise InputError(sp, "no sources")
    for i, L in enumerate(labels, 2):
        L["lines"] = to_int(lp, "line %d column lines" % i, L["lines"])
        L["src"] = norm(L["src"])
    for i, s in enumerate(sources, 2):
        s["lines"] = to_int(sp, "line %d column lines" % i, s["lines"])
        s["src"] = norm(s["src"])
        if not s["expected"]:
            raise InputError(sp, "line %d: empty expected class" % i)
    for L in line_labels:
        L["src"] = norm(L["src"])
    return log, labels, sources, line_labels


def read_log_lines(log):
    op = gzip.open if log.endswith(".gz") else open
    try:
        with op(log, "rt", encoding="utf-8", errors="replace") as f:
            return f.readlines()
    except (OSError, EOFError) as e:
        raise InputError(log, "cannot read: %s" % e)


def load_json(path):
    if not os.path.exists(path):
        raise InputError(path, "missing")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(path, "not valid JSON: %s" % e)


# ------------------------------------------------------------------ running
def run(cmd, log_cmds, stdout=None, env=None):
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=stdout if stdout is not None else subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env)
    dt = time.monotonic() - t0
    log_cmds.append({"cmd": " ".join(shlex.quote(c) for c in cmd), "wall_s": round(dt, 3),
                     "rc": p.returncode})
    if p.returncode != 0:
        err = p.stderr.decode(errors="replace").strip().splitlines()[-5:]
        sys.exit("quality: command failed (rc %d): %s\n  %s" % (
            p.returncode, log_cmds[-1]["cmd"], "\n  ".join(err)))
    return p, dt


def tripline_bin(arg):
    if arg:
        return arg
    b = os.path.join(ROOT, "target", "release", "tripline")
    if not os.path.exists(b):
        sys.exit("quality: %s missing: run `cargo build --release -p tripline` (or pass --tripline BIN)" % b)
    return b


# ------------------------------------------------------------------ Tripline
def tripline_view(doc, path):
    if not isinstance(doc, dict) or not isinstance(doc.get("sources"), list):
        raise InputError(path, "no `sources` list: not `tripline analyze --json` output")
    out = {}
    for i, s in enumerate(doc["sources"]):
        if not isinstance(s, dict) or "src" not in s or "danger_level" not in s:
            raise InputError(path, "sources[%d] lacks src/danger_level" % i)
        kinds = {}
        for t in s.get("scan_types") or []:
            if not isinstance(t, dict) or "kind" not in t:
                raise InputError(path, "sources[%d].scan_types: entry without kind" % i)
            kinds[t["kind"]] = t.get("packets")
        out[norm(s["src"])] = {
            "dl": s["danger_level"], "pkts": s.get("packets"),
            "pbr": s.get("packets_before_report"), "kinds": kinds,
            "os": (s.get("os_guess") or {}).get("os") if isinstance(s.get("os_guess"), dict) else s.get("os_guess"),
        }
    groups = doc.get("decoy_groups")
    return out, groups


# ------------------------------------------------------------------ psad
def psad_flag_kind(flags):
    fl = frozenset(flags.split()) - {"NULL"}
    return FLAG_KIND.get(fl, "tcp-other")


def psad_view(summ, path):
    if not isinstance(summ, dict) or not isinstance(summ.get("sources"), dict):
        raise InputError(path, "no `sources` object: not parse_psad_report.py output")
    out = {}
    for k, v in summ["sources"].items():
        if not isinstance(v, dict) or "dl" not in v:
            raise InputError(path, "sources[%s] lacks dl" % k)
        out[norm(k)] = {"dl": v["dl"], "pkts": v.get("pkts"), "kinds": {}, "hints": [],
                        "os": "; ".join(v.get("os_guess") or []) or None}
    alerts = summ.get("alerts")
    if alerts is None:
        return out, False
    for a in alerts:
        src = norm(a.get("source", ""))
        e = out.setdefault(src, {"dl": a.get("danger_level", 0), "pkts": None, "kinds": {},
                                 "hints": [], "os": None})
        for tf in a.get("tcp_flags") or []:
            m = re.match(r"\[([A-Z ]+): (\d+) packets(?:, (.*))?\]$", tf.strip())
            if not m:
                raise InputError(path, "alert %s: unreadable tcp_flags entry %r" % (a.get("file"), tf))
            k = psad_flag_kind(m.group(1))
            e["kinds"][k] = e["kinds"].get(k, 0) + int(m.group(2))
            hint = m.group(3) or ""
            if hint.startswith("Masscan"):
                e["kinds"]["masscan"] = e["kinds"].get("masscan", 0) + int(m.group(2))
            if hint:
                e["hints"].append("%s: %s" % (m.group(1), hint))
        for proto, txt in (a.get("scanned_ports") or {}).items():
            if proto == "udp":
                m = re.search(r"(\d+) packets", txt)
                e["kinds"]["udp"] = e["kinds"].get("udp", 0) + (int(m.group(1)) if m else 0)
                if "Nmap: -sU" in txt:
                    e["hints"].append("udp: Nmap: -sU")
        if a.get("ip_protocol_scan"):
            e["kinds"]["ip-protocol"] = 0
            e["hints"].append("ip_protocol_scan: Nmap -sO")
        if a.get("icmp_packets"):
            m = re.search(r"(\d+)", a["icmp_packets"])
            e["kinds"]["icmp"] = e["kinds"].get("icmp", 0) + (int(m.group(1)) if m else 0)
    # psad's report proper (analysis.out) also lists UDP port ranges and
    # ICMP signature matches that the alert files can leave out
    for k, v in summ["sources"].items():
        e = out[norm(k)]
        for d in (v.get("destinations") or {}).values():
            for sp in d.get("scanned_ports") or []:
                if sp.get("proto") == "udp" and "udp" not in e["kinds"]:
                    e["kinds"]["udp"] = sp.get("pkts", 0)
            for sg in d.get("signatures") or []:
                if sg.get("proto") in ("icmp", "icmp6") and "icmp" not in e["kinds"]:
                    e["kinds"]["icmp"] = 0
    for e in out.values():
        e["hints"] = sorted(set(e["hints"]))
    return out, True


def psad_replay(src, lines, workdir, log_cmds, cap=None):
    """Smallest k such that psad -A on the first k log lines of SRC alone
    reports SRC at DL >= 1 (exponential then binary search; psad's danger
    level of a source depends only on that source's packets).  Returns
    (k lines, psad's packet count at k) or (None, None)."""
    script = os.path.join(ROOT, "tests", "psad", "run-psad.sh")
    cache = {}

    def dl_at(k):
        if k in cache:
            return cache[k]
        d = os.path.join(workdir, "%s-%d" % (src.replace(":", "_"), k))
        os.makedirs(d, exist_ok=True)
        inp = os.path.join(d, "prefix.log")
        with open(inp, "w") as f:
            f.writelines(lines[:k])
        run(["bash", script, inp, os.path.join(d, "out")], log_cmds)
        summ = load_json(os.path.join(d, "out", "summary.json"))
        ps = {norm(a): v for a, v in (summ.get("sources") or {}).items()}
        e = ps.get(src)
        cache[k] = (e["dl"], e.get("pkts")) if e else (0, 0)
        return cache[k]

    n = len(lines)
    if n == 0:
        return None, None
    lo, hi = 0, None
    k = 1
    while True:
        k = min(k, n)
        if dl_at(k)[0] >= 1:
            hi = k
            break
        lo = k
        if k == n:
            return None, None
        k *= 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if dl_at(mid)[0] >= 1:
            hi = mid
        else:
            lo = mid
    return hi, dl_at(hi)[1]


# ------------------------------------------------------------------ report
def fmt_table(rows, header):
    w = [len(h) for h in header]
    for r in rows:
        for i, c in enumerate(r):
            w[i] = max(w[i], len(str(c)))
    out = ["  ".join(str(h).ljust(w[i]) for i, h in enumerate(header)).rstrip(),
           "  ".join("-" * w[i] for i in range(len(header)))]
    for r in rows:
        out.append("  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)).rstrip())
    return "\n".join(out)


def pct(a, b):
    return "%d/%d (%.0f%%)" % (a, b, 100.0 * a / b) if b else "0/0"


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser(description="Tripline vs psad detection quality on a labelled lab corpus")
    ap.add_argument("corpus", nargs="?", default=DEFAULT_CORPUS)
    ap.add_argument("--json", metavar="OUT", help="write the numbers as JSON to OUT")
    ap.add_argument("--work", metavar="DIR", help="where tool output goes (default: a new /tmp/tripline-quality.* dir, kept)")
    ap.add_argument("--tripline", metavar="BIN", help="tripline binary (default target/release/tripline)")
    ap.add_argument("--tripline-json", metavar="FILE", help="use this `tripline analyze --json --min-dl 0` output instead of running tripline")
    ap.add_argument("--psad-dir", metavar="DIR", help="use this psad-oracle.sh output dir (summary.json with alerts) instead of running psad")
    ap.add_argument("--no-psad-replay", action="store_true", help="skip the per-scanner psad prefix replay (psad's packets-before-report)")
    a = ap.parse_args()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)

    try:
        return report(a)
    except InputError as e:
        print("quality: %s" % e, file=sys.stderr)
        return 2


def report(a):
    cdir = os.path.abspath(a.corpus)
    log, labels, sources, line_labels = load_corpus(cdir)
    log_lines = read_log_lines(log)
    if len(log_lines) != len(line_labels):
        raise InputError(os.path.join(cdir, "line_labels.tsv"),
                         "%d rows but %s has %d lines" % (len(line_labels), log, len(log_lines)))
    work = a.work or tempfile.mkdtemp(prefix="tripline-quality.")
    os.makedirs(work, exist_ok=True)
    cmds = []
    timing = {}

    # ---- Tripline
    if a.tripline_json:
        tpath = a.tripline_json
        timing["tripline_s"] = None
    else:
        tpath = os.path.join(work, "tripline.json")
        with open(tpath, "wb") as f:
            _, dt = run([tripline_bin(a.tripline), "analyze", "--json", "--min-dl", "0", log], cmds, stdout=f)
        timing["tripline_s"] = round(dt, 3)
    tdoc = load_json(tpath)
    tl, decoy_groups = tripline_view(tdoc, tpath)
    tinfo = {"json": tpath, "version": tdoc.get("version")}
    if not a.tripline_json:
        b = tripline_bin(a.tripline)
        tinfo["binary"] = b
        tinfo["binary_mtime"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.path.getmtime(b)))
        g = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True, text=True)
        tinfo["git"] = g.stdout.strip() or None

    # ---- psad
    if a.psad_dir:
        pdir = a.psad_dir
        timing["psad_s"] = None
    else:
        pdir = os.path.join(work, "psad")
        _, dt = run(["bash", os.path.join(SHARED, "lab", "psad-oracle.sh"), log, pdir], cmds)
        timing["psad_s"] = round(dt, 3)
    spath = os.path.join(pdir, "summary.json")
    ps, have_alerts = psad_view(load_json(spath), spath)
    rj = os.path.join(pdir, "run.json")
    if os.path.exists(rj):
        timing["psad_own"] = {k: v.get("wall_s") for k, v in (load_json(rj).get("runs") or {}).items()}

    cls = {s["src"]: s["expected"] for s in sources}
    src_lines = {s["src"]: s["lines"] for s in sources}
    scanners = [s["src"] for s in sources if s["expected"] == "scanner"]
    benign = [s["src"] for s in sources if s["expected"] == "benign"]
    spoofed = [s["src"] for s in sources if "spoofed" in s["expected"]]

    def dl(view, src):
        e = view.get(src)
        return e["dl"] if e else 0

    # ---- psad replay (packets before report)
    replay = {}
    if not a.no_psad_replay:
        by_src = collections.defaultdict(list)
        for L, ln in zip(line_labels, log_lines):
            by_src[L["src"]].append(ln)
        rdir = os.path.join(work, "replay")
        t0 = time.monotonic()
        for src in scanners:
            if dl(ps, src) >= 1:
                k, pk = psad_replay(src, by_src.get(src, []), rdir, cmds)
                replay[src] = {"lines": k, "pkts": pk}
            else:
                replay[src] = {"lines": None, "pkts": None}
        timing["psad_replay_s"] = round(time.monotonic() - t0, 3)
        timing["psad_replay_runs"] = sum(1 for c in cmds if "run-psad.sh" in c["cmd"])

    res = {"corpus": cdir, "log": log, "log_lines": len(log_lines), "work": work, "tripline": tinfo,
           "commands": cmds, "timing": timing, "tools": {}}
    out = []
    P = out.append
    P("# bench/quality: %s (%d lines, %d labelled scans in %d label rows, %d sources: %d scanner, %d benign, %d spoofed)" % (
        cdir, len(log_lines), len({L["scan_id"] for L in labels}), len(labels), len(sources),
        len(scanners), len(benign), len(spoofed)))
    P("# Tripline %s: default mode (`analyze --json --min-dl 0`)%s; psad: Debian psad -A on the whole file" % (
        tinfo.get("version") or "?",
        " [binary %s, tree %s]" % (tinfo["binary_mtime"], tinfo.get("git") or "?") if "binary" in tinfo else
        " [reused %s]" % tpath))
    P("")

    # ---- per source
    rows = []
    for s in sources:
        src = s["src"]
        t, p = tl.get(src), ps.get(src)
        rows.append([src, s["expected"], s["lines"],
                     t["dl"] if t else "-", t["pkts"] if t else "-",
                     (t["pbr"] if t["pbr"] is not None else "never") if t else "-",
                     ",".join(sorted(t["kinds"])) if t and t["kinds"] else "-",
                     p["dl"] if p else "-", p["pkts"] if p and p["pkts"] is not None else "-",
                     (replay[src]["pkts"] if replay[src]["pkts"] is not None else "never") if src in replay else
                     ("n/a" if s["expected"] == "scanner" else ""),
                     ",".join(sorted(p["kinds"])) if p and p["kinds"] else "-"])
    P("## Per source  (`-` = absent from that tool's output)")
    P(fmt_table(rows, ["src", "class", "lines", "TL DL", "TL pkts", "TL pkts<rep",
                       "TL kinds", "psad DL", "psad pkts", "psad pkts<rep*", "psad kinds"]))
    P("")

    summary = {}
    for name, view in (("tripline", tl), ("psad", ps)):
        det = [x for x in scanners if dl(view, x) >= 1]
        missed = [x for x in scanners if dl(view, x) < 1]
        fp2 = [x for x in benign if dl(view, x) >= 2]
        fp1 = [x for x in benign if dl(view, x) >= 1]
        sp = {x: dl(view, x) for x in spoofed}
        mal = scanners + spoofed
        lab = {"TP": sum(1 for x in mal if dl(view, x) >= 1), "FN": sum(1 for x in mal if dl(view, x) < 1),
               "FP": sum(1 for x in cls if x not in mal and dl(view, x) >= 1),
               "TN": sum(1 for x in cls if x not in mal and dl(view, x) < 1)}
        unlabelled = sorted(x for x in view if x not in cls)
        summary[name] = {"scanners_detected": len(det), "scanners": len(scanners), "missed": missed,
                         "benign_dl2": fp2, "benign_dl1": fp1, "benign": len(benign),
                         "spoofed_dl": sp, "lab_verdicts_dl1": lab, "unlabelled_sources": unlabelled}

    # ---- headline
    T, S = summary["tripline"], summary["psad"]

    def dl_list(view, xs):
        return ", ".join("%s (DL%d)" % (x, dl(view, x)) for x in xs) or "none"

    P("## Detection")
    rows = [
        ["scanners detected (DL>=1)", pct(T["scanners_detected"], T["scanners"]), pct(S["scanners_detected"], S["scanners"])],
        ["  missed scanners", ", ".join(T["missed"]) or "none", ", ".join(S["missed"]) or "none"],
        ["benign at DL>=2", "%d/%d" % (len(T["benign_dl2"]), T["benign"]), "%d/%d" % (len(S["benign_dl2"]), S["benign"])],
        ["  which", dl_list(tl, T["benign_dl2"]), dl_list(ps, S["benign_dl2"])],
        ["benign at DL>=1", "%d/%d" % (len(T["benign_dl1"]), T["benign"]), "%d/%d" % (len(S["benign_dl1"]), S["benign"])],
        ["lab verdicts (DL>=1; scanner+spoofed = malicious)",
         " ".join("%s %d" % kv for kv in T["lab_verdicts_dl1"].items()),
         " ".join("%s %d" % kv for kv in S["lab_verdicts_dl1"].items())],
        ["sources not in sources.tsv", ", ".join(T["unlabelled_sources"]) or "none",
         ", ".join(S["unlabelled_sources"]) or "none"],
    ]
    P(fmt_table(rows, ["", "Tripline", "psad"]))
    P("")

    # ---- spoofed
    decoy_sets = collections.defaultdict(set)
    for L in labels:
        if "decoy" in L["scan_type"].lower() or L["role"] == "spoofed" and "-D" in L.get("command", ""):
            decoy_sets[L["scan_id"]].add(L["src"])
    P("## Spoofed sources (forged: decoys, LAND)")
    rows = []
    for x in spoofed:
        scans = [L for L in labels if L["src"] == x and L["role"] == "spoofed"]
        what = "; ".join(sorted({L["scan_type"] for L in scans})) or "-"
        t, p = tl.get(x), ps.get(x)
        rows.append([x, cls[x], what[:60],
                     "DL%d %s" % (t["dl"], ",".join(sorted(t["kinds"]))) if t else "absent",
                     "DL%d %s" % (p["dl"], ",".join(sorted(p["kinds"]))) if p else "absent (below DL1)"])
    P(fmt_table(rows, ["src", "class", "labelled as", "Tripline", "psad"]))
    P("Both tools treat a forged source as a source of its own: it is reported like the scan it appears in.")
    P("")

    # ---- decoy groups
    P("## Decoy sets grouped")
    exp_groups = {sid: sorted(m) for sid, m in decoy_sets.items()}
    tl_groups = None
    if decoy_groups is None:
        tl_txt = "not reported (no `decoy_groups` in Tripline's JSON)"
    else:
        tl_groups = []
        for g in decoy_groups:
            mem = g if isinstance(g, list) else next((g[k] for k in ("members", "sources", "srcs", "addresses")
                                                        if isinstance(g, dict) and k in g), [])
            tl_groups.append(sorted(norm(m.get("src", "") if isinstance(m, dict) else m) for m in mem))  # members: "ip" or {"src": "ip", ...}
        found = sum(1 for m in exp_groups.values() if any(set(m) <= set(g) for g in tl_groups))
        tl_txt = "%d group(s) reported; %s labelled decoy sets found whole" % (len(tl_groups), pct(found, len(exp_groups)))
    rows = [["labelled decoy sets", "; ".join("%s: %s" % (k, " ".join(v)) for k, v in sorted(exp_groups.items())) or "none", ""],
            ["grouped", tl_txt, "never (psad has no decoy grouping)"]]
    P(fmt_table(rows, ["", "Tripline", "psad"]))
    P("")

    # ---- scan types
    P("## Scan type per labelled scan")
    P("Tripline: right when the source's scan_types[].kind contains the expected kind (KIND_RULES in bench/quality.py).")
    P("psad: right when psad's alert files for the source show it: each 'TCP flags: [FLAGS: n packets, hint]'" )
    P("  group gives the kind of its flag set (psad's Nmap hint is a function of it: SYN '-sT or -sS', FIN '-sF',")
    P("  URG PSH FIN '-sX', NULL '-sN', URG PSH SYN FIN '-O'; Masscan/port-sweep groups keep the flag set),")
    P("  a UDP port range ('Nmap: -sU', or 'Scanned ports: UDP' in the report) gives udp, 'Nmap -sO' gives")
    P("  ip-protocol, ICMP packets in the alert or an ICMP signature match in the report give icmp.")
    P("  A source psad did not report (below DL1) has no alert, so none of its scans is right.")
    P("Judged: scanner and spoofed rows with logged lines and a mapped scan type; per source, not per scan")
    P("(a source that ran two scans of the same kind gets both right from either).")
    if not have_alerts:
        P("NOTE: %s has no `alerts` (psad run without --analysis-write-data): psad's column is n/a." % spath)
    rows, per_scan = [], []
    judged = tl_ok = ps_ok = 0
    for L in labels:
        if L["role"] == "benign":
            continue
        kinds, why = expected_kinds(L["scan_type"])
        src = L["src"]
        t, p = tl.get(src), ps.get(src)
        if L["lines"] == 0:
            tv = pv = "nothing logged"
        elif kinds is None:
            tv = pv = "unmapped"
        else:
            judged += 1
            t_has = bool(t and set(kinds) & set(t["kinds"]))
            p_has = bool(p and set(kinds) & set(p["kinds"]))
            tl_ok += t_has
            ps_ok += p_has
            tv = "ok" if t_has else ("WRONG: %s" % (",".join(sorted(t["kinds"])) or "none") if t else "WRONG: absent")
            if not have_alerts:
                pv = "n/a"
            else:
                pv = "ok" if p_has else ("WRONG: %s" % (",".join(sorted(p["kinds"])) or "no hint") if p else "WRONG: not reported")
        rows.append([L["scan_id"], src, L["role"], L["scan_type"][:48], L["lines"],
                     "/".join(kinds) if kinds else "?", tv, pv])
        per_scan.append({"scan_id": L["scan_id"], "src": src, "role": L["role"], "scan_type": L["scan_type"],
                         "lines": L["lines"], "expected": list(kinds) if kinds else None, "rule": why,
                         "tripline": tv, "psad": pv})
    P(fmt_table(rows, ["scan", "src", "role", "scan_type", "lines", "expected", "Tripline", "psad"]))
    P("")
    P(fmt_table([["scan type right", pct(tl_ok, judged), pct(ps_ok, judged) if have_alerts else "n/a"]],
                ["", "Tripline", "psad"]))
    summary["tripline"]["scan_types_right"] = [tl_ok, judged]

    # kinds a tool reports for a scanner source that none of its labelled scans explains
    P("")
    P("Kinds reported for scanner sources that none of the source's labelled scans explains")
    P("(the per-source rule above cannot see these: e.g. fragments classified as another kind):")
    rows = []
    for x in scanners:
        exp = set()
        for L in labels:
            if L["src"] == x and L["lines"] > 0:
                k, _ = expected_kinds(L["scan_type"])
                exp |= set(k or ())
                for kk in k or ():
                    exp |= set(ALSO_EXPLAINS.get(kk, ()))
        cells = []
        for view in (tl, ps):
            e = view.get(x)
            extra = sorted(k for k in (e["kinds"] if e else {}) if k not in exp)
            cells.append(", ".join("%s (%s pkts)" % (k, e["kinds"][k]) if e["kinds"][k] else k for k in extra) or "-")
        if cells != ["-", "-"]:
            rows.append([x] + cells)
        summary["tripline"].setdefault("extra_kinds", {})[x] = cells[0]
        summary["psad"].setdefault("extra_kinds", {})[x] = cells[1]
    P(fmt_table(rows, ["scanner", "Tripline", "psad"]) if rows else "  none")
    summary["psad"]["scan_types_right"] = [ps_ok, judged] if have_alerts else None
    P("")

    # ---- packets before report
    P("## Packets each scanner sent before it was first reported (DL>=1)")
    P("Tripline: packets_before_report (streaming engine, exact).")
    if replay:
        P("psad: -A is batch (one verdict for the whole file): n/a (batch).  psad pkts<rep* = replay: the smallest")
        P("  k such that psad -A on the first k log lines of that source alone reports it (DL>=1), shown as the")
        P("  packets psad had counted at k.  A lower bound for the psad daemon, which only looks every")
        P("  CHECK_INTERVAL (5 s) and so may see many more packets first.")
    else:
        P("psad: n/a (batch; -A gives one verdict for the whole file; replay skipped: --no-psad-replay).")
    rows = []
    for x in scanners:
        t = tl.get(x)
        rows.append([x, src_lines.get(x, 0),
                     (t["pbr"] if t["pbr"] is not None else "never") if t else "absent",
                     "n/a (batch)",
                     (replay[x]["pkts"] if replay[x]["pkts"] is not None else "never") if x in replay else "-",
                     (replay[x]["lines"] if replay[x]["lines"] is not None else "-") if x in replay else "-"])
    P(fmt_table(rows, ["scanner", "lines", "Tripline", "psad", "psad replay (pkts)", "replay lines"]))
    tmed = median([tl[x]["pbr"] for x in scanners if x in tl])
    pmed = median([replay[x]["pkts"] for x in replay])
    P("")
    P(fmt_table([["median (reported scanners)", tmed if tmed is not None else "-",
                  "n/a (batch)" + ("; replay %s" % pmed if pmed is not None else "")]],
                ["", "Tripline", "psad"]))
    summary["tripline"]["packets_before_report"] = {x: tl[x]["pbr"] if x in tl else None for x in scanners}
    summary["tripline"]["packets_before_report_median"] = tmed
    summary["psad"]["packets_before_report"] = "n/a (batch)"
    summary["psad"]["replay"] = replay or None
    summary["psad"]["replay_median_pkts"] = pmed
    summary["tripline"]["decoy_groups"] = tl_groups if tl_groups is not None else "not reported"
    summary["psad"]["decoy_groups"] = "never"
    P("")

    # ---- commands
    P("## Commands and timings  (work dir %s)" % work)
    if a.tripline_json:
        P("  tripline: reused %s" % a.tripline_json)
    if a.psad_dir:
        P("  psad: reused %s" % a.psad_dir)
    for c in cmds:
        if "run-psad.sh" in c["cmd"]:
            continue
        P("  %8.2f s  %s" % (c["wall_s"], c["cmd"]))
    if replay:
        P("  %8.2f s  psad replay: %d x tests/psad/run-psad.sh PREFIX OUT (e.g. %s)" % (
            timing["psad_replay_s"], timing["psad_replay_runs"],
            next((c["cmd"] for c in cmds if "run-psad.sh" in c["cmd"]), "-")))
    if timing.get("psad_own"):
        P("  psad-oracle.sh's own timings: %s" % ", ".join("%s %.2f s" % kv for kv in timing["psad_own"].items()
                                                           if kv[1] is not None))
    print("\n".join(out))

    res["tools"] = summary
    res["per_scan"] = per_scan
    res["kind_rules"] = [{"regex": r, "kinds": list(k), "why": w} for r, k, w in KIND_RULES]
    res["per_source"] = {s["src"]: {"class": s["expected"], "lines": s["lines"],
                                    "tripline": tl.get(s["src"]), "psad": ps.get(s["src"])} for s in sources}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2, sort_keys=False, default=list)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
