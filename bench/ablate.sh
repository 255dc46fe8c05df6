#!/usr/bin/env bash
# bench/ablate.sh: what each part of `tripline analyze`'s work costs, and how
# far the run is from 1000 times psad.
#
#   bench/ablate.sh [PSAD_LINES]      (default 50000; PSAD_RATE=lines/s skips psad)
#
# On bench/compare.sh's 1 M-line log, best of REPS rounds (default 7) taken in
# turn, one core (`-j1`, taskset -c 0) and all cores (`-jN`):
#   the default run; psad's own rule file (/etc/psad/signatures, 206 rules)
#   instead of the built-in 90; one rule that never matches (the matcher's
#   fixed cost); no signature matching; no signatures and no ICMP checks;
#   and bench/floor, the least any line-by-line analyser does (map the file,
#   find each line, read SRC, DST and DPT, count per source).
# psad -A runs once on the first PSAD_LINES lines for its rate.
set -Eeuo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${TRIPLINE_SHARED:-$ROOT/../shared}
PN=${1:-50000}
BIG_DIR=${BIG_DIR:-/tmp/tripline-bench}
mkdir -p "$BIG_DIR"
BIG=$BIG_DIR/big-1000000.log
[[ -s $BIG ]] || python3 "$SHARED/lab/mkbig.py" -n 1000000 -o "$BIG" "$SHARED/corpus/dev" >&2
(cd "$ROOT" && cargo build --release -q -p tripline)
(cd "$ROOT/bench/floor" && CARGO_TARGET_DIR=target cargo build --release -q)
TL="${CARGO_TARGET_DIR:-$ROOT/target}/release/tripline analyze --no-progress"
FLOOR=$ROOT/bench/floor/target/release/floor
N=$(nproc)
ALL=0-$((N - 1))
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
printf '%s\n' 'alert tcp any any -> any 1 (msg:"never"; flags:SF; ttl:1; psad_id:999999; psad_dl:2;)' \
  > "$WORK/one.sig"

if [[ -z ${PSAD_RATE:-} ]]; then
  head -n "$PN" "$BIG" > "$WORK/slice.log"
  taskset -c 0 "$ROOT/tests/psad/run-psad.sh" "$WORK/slice.log" "$WORK/psad" > /dev/null
  read -r pwall _ < "$WORK/psad/psad-time.txt"
  PSAD_RATE=$(python3 -c "print(round($PN / $pwall))")
fi

{
  printf '%s\t0\t%s\n' "-j1" "$TL -j1 $BIG"
  if [[ -r /etc/psad/signatures ]]; then
    printf '%s\t0\t%s\n' "-j1, psad's rule file" "$TL -j1 --signatures /etc/psad/signatures $BIG"
  fi
  printf '%s\t0\t%s\n' "-j1, one rule, never matching" "$TL -j1 --signatures $WORK/one.sig $BIG"
  printf '%s\t0\t%s\n' "-j1 --no-signatures" "$TL -j1 --no-signatures $BIG"
  printf '%s\t0\t%s\n' "-j1 --no-signatures --no-icmp-types" "$TL -j1 --no-signatures --no-icmp-types $BIG"
  printf '%s\t0\t%s\n' "floor, 1 thread" "$FLOOR $BIG 1"
  printf '%s\t%s\t%s\n' "-j$N" "$ALL" "$TL -j$N $BIG"
  printf '%s\t%s\t%s\n' "-j$N --no-signatures" "$ALL" "$TL -j$N --no-signatures $BIG"
  printf '%s\t%s\t%s\n' "floor, $N threads" "$ALL" "$FLOOR $BIG $N"
} > "$WORK/runs"

echo "# $(date -u +%FT%TZ)  $N vCPU; $BIG; best of ${REPS:-7} rounds; psad: $PSAD_RATE lines/s"
python3 "$ROOT/bench/rounds.py" "${REPS:-7}" < "$WORK/runs" | python3 -c '
import sys
psad = float(sys.argv[1])
lines = 1_000_000
print("%-40s %8s %12s %7s" % ("run", "wall", "lines/s", "x psad"))
for row in sys.stdin:
    label, wall, _ = row.rstrip("\n").split("\t")
    wall = float(wall)
    print(f"{label:<40} {wall:>7.3f}s {lines / wall:>12,.0f} {lines / wall / psad:>6.0f}x")
print(f"1000 x psad is {1000 * psad:,.0f} lines/s: {lines / (1000 * psad):.3f} s for this log")
' "$PSAD_RATE"
