#!/usr/bin/env bash
# bench/compare.sh: tripline analyze vs Debian's psad -A, side by side, in one run.
#
#   bench/compare.sh [LINES] [PSAD_LINES]      (defaults: 1000000 and 100000)
#
# Makes a LINES-line realistic log from the real corpus with ../shared/lab/mkbig.py
# (cached in $BIG_DIR), builds tripline in release mode, then times
#   tripline analyze -j 1 FILE       one core (taskset -c 0): default, --psad-compat, --json
#   tripline analyze -j 2 FILE       sources sharded over two worker threads (all cores)
#   psad -A -m SLICE                 one core; the first PSAD_LINES lines (psad is slow)
# and prints lines/s of each, the ratio, and peak RSS, with the exact commands.
# Tripline's figures are the best of REPS round-robin rounds (default 5); psad's
# the best of PSAD_REPS runs (default 3).
#
# Two builds of tripline run side by side: the plain `cargo build --release`
# and the profile-guided one of dist/build-pgo.sh (PGO=0 skips it; the first
# run of that script takes about ten minutes). Their reports are compared
# byte for byte first. Before timing, the log is written back, evicted from
# the page cache and read once (posix_fadvise), so every run maps it as a log
# read from disk, whatever wrote it: how the kernel holds a file's pages
# (written in small appends, or read back in large folios) moves the time of
# mapping it by about 30 ms.
set -Eeuo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${TRIPLINE_SHARED:-$ROOT/../shared}
N=${1:-1000000}
PN=${2:-100000}
BIG_DIR=${BIG_DIR:-/tmp/tripline-bench}
mkdir -p "$BIG_DIR"
BIG=$BIG_DIR/big-$N.log
SLICE=$BIG_DIR/slice-$PN.log
[[ -s $BIG ]] || python3 "$SHARED/lab/mkbig.py" -n "$N" -o "$BIG" "$SHARED/corpus/dev" >&2
head -n "$PN" "$BIG" > "$SLICE"
(cd "$ROOT" && cargo build --release -q -p tripline)
TL=${CARGO_TARGET_DIR:-$ROOT/target}/release/tripline
if [[ ${PGO:-1} != 0 ]]; then
  TLP=$("$ROOT/dist/build-pgo.sh")
  for args in "-j 1" "-j 2" "--psad-compat" "--json"; do
    # shellcheck disable=SC2086
    cmp <("$TL" analyze --no-progress $args "$BIG") <("$TLP" analyze --no-progress $args "$BIG") \
      || { echo "the PGO build's report differs (analyze $args)" >&2; exit 1; }
  done
else
  TLP=$TL
fi
python3 - "$BIG" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.fsync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
while os.read(fd, 1 << 20):
    pass
os.close(fd)
PY

echo "# $(date -u +%FT%TZ)  $(nproc) vCPU, $(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/^ *//')"
echo "# tripline: $TLP analyze FILE (plain build: $TL)  |  psad: psad -A -m SLICE --no-whois --no-rdns (tests/psad/run-psad.sh)"
TFILE=$(mktemp); PFILE=$(mktemp)
# The Tripline runs go round-robin, REPS rounds (default 5), and each keeps
# its best wall time: these machines are shared, and taking the runs in
# turn spreads a busy neighbour over all of them instead of one.
ALL=0-$(($(nproc) - 1))
{
  printf '%s\t%s\t%s\n' "tripline analyze -j1" 0 "$TLP analyze --no-progress -j 1 $BIG"
  printf '%s\t%s\t%s\n' "tripline analyze -j1 --psad-compat" 0 "$TLP analyze --no-progress --psad-compat $BIG"
  printf '%s\t%s\t%s\n' "tripline analyze -j1 --json" 0 "$TLP analyze --no-progress -j 1 --json $BIG"
  printf '%s\t%s\t%s\n' "tripline analyze -j1 (psad's slice)" 0 "$TLP analyze --no-progress -j 1 $SLICE"
  printf '%s\t%s\t%s\n' "tripline analyze -j$(nproc) (all cores)" "$ALL" "$TLP analyze --no-progress -j $(nproc) $BIG"
  printf '%s\t%s\t%s\n' "plain build: analyze -j1" 0 "$TL analyze --no-progress -j 1 $BIG"
  printf '%s\t%s\t%s\n' "plain build: analyze -j$(nproc)" "$ALL" "$TL analyze --no-progress -j $(nproc) $BIG"
} | python3 "$ROOT/bench/rounds.py" "${REPS:-5}" | python3 -c '
import sys
n, pn = int(sys.argv[1]), int(sys.argv[2])
for row in sys.stdin:
    label, wall, rss = row.rstrip("\n").split("\t")
    lines = pn if "slice" in label else n
    wall, rss = float(wall), int(rss)
    print(f"{label:<34} {lines:>9} lines {wall:>8.3f} s {lines / wall:>12,.0f} lines/s {rss / 1024:>8.1f} MB")
' "$N" "$PN" | tee "$TFILE"
# psad too keeps its best of PSAD_REPS runs (default 3): its rate moves with
# the machine's load as much as Tripline's, and one slow run would flatter the ratio.
PD=$(mktemp -d)
pwall=; prss=
for _ in $(seq "${PSAD_REPS:-3}"); do
  taskset -c 0 "$ROOT/tests/psad/run-psad.sh" "$SLICE" "$PD" > /dev/null
  read -r w r < "$PD/psad-time.txt"
  if [[ -z $pwall ]] || python3 -c "import sys; sys.exit(not float(sys.argv[1]) < float(sys.argv[2]))" "$w" "$pwall"; then
    pwall=$w; prss=$r
  fi
done
python3 - "$PN" "$pwall" "$prss" <<'PY' | tee "$PFILE"
import sys
n, wall, rss = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print(f"{'psad -A (slice, best run)':<34} {n:>9} lines {wall:>8.2f} s {n/wall:>12,.0f} lines/s {rss/1024:>8.1f} MB")
PY
rm -rf "$PD"
python3 - "$TFILE" "$PFILE" <<'PY'
import re, sys
t = open(sys.argv[1]).read().splitlines()
p = open(sys.argv[2]).read()
rate = lambda line: float(re.search(r"([\d,]+) lines/s", line).group(1).replace(",", ""))
psad = rate(p)
print(f"ratio tripline -j1 / psad, one core each: {rate(t[0]) / psad:,.0f}x")
print(f"ratio tripline -j1 / psad on the same slice (start-up included): {rate(t[3]) / psad:,.0f}x")
print(f"ratio tripline all cores / psad: {rate(t[4]) / psad:,.0f}x")
print(f"plain build: -j1 / psad {rate(t[5]) / psad:,.0f}x, all cores / psad {rate(t[6]) / psad:,.0f}x")
PY
rm -f "$TFILE" "$PFILE"
