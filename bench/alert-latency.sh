#!/usr/bin/env bash
# Alert dispatch latency (issue 6): how long from a scan line written to a followed
# log file until (a) `tripline run` prints the alert, (b) a webhook POST reaches a
# local HTTP server, (c) the email is in a local SMTP server's spool. Peers are the
# test peers (crates/tripline/tests/peers), on 127.0.0.1; rDNS and whois are off
# (their cost is the network's). N scanners (203.0.113.1..N), 5 SYNs each (DL 1).
#
#   bench/alert-latency.sh [N] [BIN]      defaults: 50, target/release/tripline
set -Eeuo pipefail
cd "$(dirname "$0")/.."
N=${1:-50}
BIN=${2:-}
if [[ -z $BIN ]]; then
    cargo build --release -q -p tripline
    BIN=${CARGO_TARGET_DIR:-target}/release/tripline
fi
exec /usr/bin/python3 - "$N" "$BIN" <<'EOF_PY'
import json, os, statistics, subprocess, sys, tempfile, threading, time
n, binary = int(sys.argv[1]), sys.argv[2]
peers = "crates/tripline/tests/peers"
work = tempfile.mkdtemp()
mail, http = os.path.join(work, "mail"), os.path.join(work, "http")
os.mkdir(mail); os.mkdir(http)
procs = []
def peer(script, arg):
    p = subprocess.Popen(["/usr/bin/python3", f"{peers}/{script}", arg], stdout=subprocess.PIPE, text=True)
    procs.append(p)
    return int(p.stdout.readline().split()[1])
try:
    sp, hp = peer("smtp_sink.py", mail), peer("http_sink.py", http)
    cfg = os.path.join(work, "t.toml")
    open(cfg, "w").write(f"""
[alerts]
alert-all = false
[email]
to = ["admin@example.test"]
host = "127.0.0.1"
port = {sp}
tls = "none"
[lookups]
dns = false
whois = false
[[webhook]]
url = "http://127.0.0.1:{hp}/ok/json"
""")
    log = os.path.join(work, "kern.log"); open(log, "w").close()
    run = subprocess.Popen([binary, "run", "--state-dir", os.path.join(work, "state"), "--config", cfg,
                            "--file", log], stdout=subprocess.PIPE, text=True)
    procs.append(run)
    seen = {}
    def reader():
        for line in run.stdout:
            v = json.loads(line)
            if v.get("event") == "alert":
                seen[v["alert"]["src"]] = time.monotonic()
    threading.Thread(target=reader, daemon=True).start()
    tmpl = ("Nov 29 12:00:00 fw1 kernel: [ 8085.309164] IN_DROP IN=wan0 OUT= "
            "MAC=52:54:00:1f:00:01:52:54:00:5c:00:0a:08:00 SRC={src} DST=198.51.100.1 LEN=44 "
            "TOS=0x00 PREC=0x00 TTL=52 ID=42853 PROTO=TCP SPT=55018 DPT={p} WINDOW=1024 RES=0x00 SYN URGP=0 \n")
    def scan(src):
        text = "".join(tmpl.format(src=src, p=p) for p in range(1, 6))
        t0, w0 = time.monotonic(), time.time()
        with open(log, "a") as f:
            f.write(text)
        return t0, w0
    # Warm up until the follower reads.
    while "198.51.100.99" not in seen:
        scan("198.51.100.99"); time.sleep(0.2)
    def files(d):
        return {f: os.stat(os.path.join(d, f)).st_mtime for f in os.listdir(d) if not f.startswith(".")}
    lat = {"stdout": [], "webhook": [], "email": []}
    for i in range(1, n + 1):
        src = f"203.0.113.{i}"
        m0, h0 = len(files(mail)), len(files(http))
        t0, w0 = scan(src)
        deadline = t0 + 20
        while time.monotonic() < deadline and (src not in seen or len(files(mail)) <= m0 or len(files(http)) <= h0):
            time.sleep(0.001)
        lat["stdout"].append(seen[src] - t0)
        lat["email"].append(max(files(mail).values()) - w0)
        lat["webhook"].append(max(files(http).values()) - w0)
    for k, v in lat.items():
        v = sorted(x * 1000 for x in v)
        print(f"{k:8} n={len(v)} median={statistics.median(v):.1f} ms p95={v[int(len(v)*0.95)-1]:.1f} ms max={v[-1]:.1f} ms")
finally:
    for p in procs:
        p.kill()
EOF_PY
