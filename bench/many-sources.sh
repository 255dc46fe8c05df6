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
TL=${CARGO_TARGET_DIR:-$ROOT/target}/release/tripline
N=$(nproc)
echo "# $(date -u +%FT%TZ)  $N vCPU; $LOG: $(wc -l < "$LOG") lines, $NSRC sources"
BINS=("$TL" ${TL_BASE:+"$TL_BASE"})
RUNS=("-j1|0|-j 1" "-j1 --summary|0|-j 1 --summary" "-j1 --json|0|-j 1 --json" "-j$N|0-$((N - 1))|-j $N")
for r in "${RUNS[@]}"; do
  IFS='|' read -r label cpus args <<< "$r"
  for b in "${BINS[@]}"; do
    printf 'analyze %s\t%s\t%s analyze --no-progress %s %s\n' "$label" "$cpus" "$b" "$args" "$LOG"
  done
done | python3 "$ROOT/bench/rounds.py" "${REPS:-7}" | python3 -c '
import sys
bins = sys.argv[1:]
rows = [r.rstrip("\n").split("\t") for r in sys.stdin]
for i in range(0, len(rows), len(bins)):
    walls = [float(r[1]) for r in rows[i:i + len(bins)]]
    cells = "  ".join(f"{w:7.3f} s" for w in walls)
    ratio = f"  base/this {walls[1] / walls[0]:.2f}x" if len(walls) > 1 else ""
    print(f"{rows[i][0]:<24} {cells}{ratio}")
if len(bins) > 1:
    print(f"# columns: {bins[0]}  {bins[1]}")
' "${BINS[@]}"
