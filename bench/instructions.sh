#!/usr/bin/env bash
# bench/instructions.sh: instructions `tripline analyze -j 1` executes on a
# slice of the benchmark log, counted by valgrind's callgrind, for each binary
# given (default: this tree's release build).
#
#   bench/instructions.sh [BIN ...]          (LINES=100000 by default)
#
# Unlike wall time on these shared machines, the count is the same from run to
# run (to about 0.1%), so it tells two builds apart where a 2-4% change in time
# drowns in the neighbours' noise. It is not time: cache misses do not show.
set -Eeuo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${TRIPLINE_SHARED:-$ROOT/../shared}
N=${LINES:-100000}
BIG_DIR=${BIG_DIR:-/tmp/tripline-bench}
mkdir -p "$BIG_DIR"
BIG=$BIG_DIR/big-1000000.log
SLICE=$BIG_DIR/slice-$N.log
command -v valgrind > /dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
[[ -s $BIG ]] || python3 "$SHARED/lab/mkbig.py" -n 1000000 -o "$BIG" "$SHARED/corpus/dev" >&2
[[ -s $SLICE ]] || head -n "$N" "$BIG" > "$SLICE"
if [[ $# -eq 0 ]]; then
  (cd "$ROOT" && cargo build --release -q -p tripline)
  set -- "${CARGO_TARGET_DIR:-$ROOT/target}/release/tripline"
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for bin in "$@"; do
  valgrind --tool=callgrind --callgrind-out-file="$OUT/cg" "$bin" analyze --no-progress -j 1 "$SLICE" \
    2> "$OUT/err" > /dev/null
  ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$OUT/err")
  python3 -c 'import sys; ir, n = int(sys.argv[1]), int(sys.argv[2]); print(f"{sys.argv[3]:<50} {ir:>14,} instructions {ir / n:>8,.0f} a line")' "$ir" "$N" "$bin"
done
