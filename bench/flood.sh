#!/usr/bin/env bash
# Flood benchmark for the daemon (issue 5): LINES log lines, each from a
# different spoofed IPv6 source (2001:db8::/32), with a real SYN scan from
# 198.51.100.10 (one line in every 2000) mixed in. `tripline run --stdin`
# reads them with a source cap and without one, side by side; the script
# reports peak RSS, wall time, evictions, and the scanner's danger level
# from `tripline status` (read back from the saved state).
#
#   bench/flood.sh [LINES] [CAP]      defaults: 1000000 100000
set -Eeuo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-1000000}
CAP=${2:-100000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release -q -p tripline
bin=target/release/tripline

python3 - "$LINES" >"$work/flood.log" <<'EOF'
import sys
n = int(sys.argv[1])
v6 = ("Nov 29 12:00:00 fw1 kernel: [ 8213.937624] DROP IN=wan0 OUT= "
      "MAC=52:54:00:1f:00:01:52:54:00:5c:00:13:86:dd SRC=2001:0db8:{a:04x}:{b:04x}:0000:0000:0000:0001 "
      "DST=2001:0db8:0100:0000:0000:0000:0000:0001 LEN=64 TC=0 HOPLIMIT=255 FLOWLBL=0 PROTO=TCP "
      "SPT=61787 DPT=993 WINDOW=1024 RES=0x00 SYN URGP=0 ")
scan = ("Nov 29 12:00:00 fw1 kernel: [ 8085.309164] IN_DROP IN=wan0 OUT= "
        "MAC=52:54:00:1f:00:01:52:54:00:5c:00:0a:08:00 SRC=198.51.100.10 DST=198.51.100.1 LEN=44 "
        "TOS=0x00 PREC=0x00 TTL=52 ID=42853 PROTO=TCP SPT=55018 DPT={p} WINDOW=1024 RES=0x00 SYN URGP=0 ")
out = sys.stdout
for i in range(n):
    if i % 2000 == 0:
        out.write(scan.format(p=1 + i // 2000) + "\n")
    else:
        out.write(v6.format(a=(i >> 16) & 0xffff, b=i & 0xffff) + "\n")
EOF

run() { # name cap
    local dir="$work/$1"
    mkdir -p "$dir"
    printf '[detection]\npersistence = true\nmax-sources = %s\n' "$2" >"$dir/t.toml"
    /usr/bin/time -f '%M %e' -o "$dir/time" \
        "$bin" run --stdin --quiet --state-dir "$dir/state" --config "$dir/t.toml" \
        <"$work/flood.log" 2>"$dir/stderr"
    read -r rss secs <"$dir/time"
    "$bin" status --json --ip 198.51.100.10 --state-dir "$dir/state" --config "$dir/t.toml" >"$dir/status.json"
    python3 - "$1" "$2" "$rss" "$secs" "$dir/status.json" "$LINES" <<'EOF'
import json, sys
name, cap, rss, secs, path, lines = sys.argv[1:]
s = json.load(open(path))
d = s["daemon"]
src = s["report"]["sources"]
dl = src[0]["danger_level"] if src else 0
print(f"{name:<10} cap {cap:>8}  peak RSS {int(rss)/1024:7.1f} MiB  wall {float(secs):6.2f} s "
      f"({int(lines)/float(secs)/1e6:.2f} M lines/s)  tracked {d['tracked_sources']:>8}  "
      f"evicted {d['evicted_sources']:>8}  scanner DL {dl}")
EOF
}

echo "flood: $LINES lines, $((LINES - LINES / 2000)) spoofed sources, scanner 198.51.100.10"
run capped "$CAP"
run uncapped 0
