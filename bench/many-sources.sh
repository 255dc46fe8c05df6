#!/usr/bin/env bash
# bench/many-sources.sh: `tripline analyze` on a log with many sources, where
# the report is as much work as the analysis.
#
#   bench/many-sources.sh [SOURCES] [LINES_PER_SOURCE]     (defaults: 50000 and 6)
#
# Takes the first SOURCES * LINES_PER_SOURCE lines of bench/compare.sh's 1 M-line
# log (made if missing) and gives each run of LINES_PER_SOURCE lines its own
# source address (10.0.0.0/8, in the file only). Times, best of REPS rounds
# (default 7) taken in turn: `analyze -j1` on one core, `-j1 --summary` (no
# per-source text), `-j1 --json`, and `-j N` on all cores. With TL_BASE=/path/to/
# another/tripline, that binary runs in the same rounds, for side-by-side ratios.
set -Eeuo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${TRIPLINE_SHARED:-$ROOT/../shared}
NSRC=${1:-50000}
PER=${2:-6}
BIG_DIR=${BIG_DIR:-/tmp/tripline-bench}
mkdir -p "$BIG_DIR"
BIG=$BIG_DIR/big-1000000.log
LOG=$BIG_DIR/many-$NSRC-$PER.log
[[ -s $BIG ]] || python3 "$SHARED/lab/mkbig.py" -n 1000000 -o "$BIG" "$SHARED/corpus/dev" >&2
if [[ ! -s $LOG ]]; then
  python3 - "$BIG" "$LOG" "$NSRC" "$PER" <<'PY'
import re, sys
big, out, nsrc, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
src = re.compile(rb" SRC=\S+")
with open(big, "rb") as f, open(out, "wb") as o:
    for i, line in enumerate(f):
        if i >= nsrc * per:
            break
        n = i // per
        a = b" SRC=10.%d.%d.%d" % (n >> 16 & 255, n >> 8 & 255, n & 255)
        o.write(src.sub(a, line, count=1))
PY
fi
(cd "$ROOT" && cargo build --release -q -p tripline)
TL=$ROOT/target/release/tripline
echo "# $(date -u +%FT%TZ)  $(nproc) vCPU; $LOG: $(wc -l < "$LOG") lines, $NSRC sources"
python3 - "${REPS:-7}" "$LOG" "$(nproc)" "$TL" ${TL_BASE:+"$TL_BASE"} <<'PY'
import os, subprocess, sys, time
reps, log, ncpu, bins = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
runs = [
    ("analyze -j1", "0", ["analyze", "--no-progress", "-j", "1", log]),
    ("analyze -j1 --summary", "0", ["analyze", "--no-progress", "-j", "1", "--summary", log]),
    ("analyze -j1 --json", "0", ["analyze", "--no-progress", "-j", "1", "--json", log]),
    (f"analyze -j{ncpu}", f"0-{int(ncpu) - 1}", ["analyze", "--no-progress", "-j", ncpu, log]),
]
best = {}
null = open(os.devnull, "w")
for _ in range(reps):
    for label, cpus, args in runs:
        for b in bins:
            t0 = time.perf_counter()
            p = subprocess.Popen(["taskset", "-c", cpus, b] + args, stdout=null)
            _, status, _ = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
            if status != 0:
                sys.exit(f"{b} {args} failed")
            best[label, b] = min(best.get((label, b), 1e9), wall)
for label, _, _ in runs:
    cells = "  ".join(f"{best[label, b]:7.3f} s" for b in bins)
    ratio = f"  base/this {best[label, bins[1]] / best[label, bins[0]]:.2f}x" if len(bins) > 1 else ""
    print(f"{label:<24} {cells}{ratio}")
if len(bins) > 1:
    print(f"# columns: {bins[0]}  {bins[1]}")
PY
