#!/usr/bin/env bash
# The daemon's own throughput beside the offline analysis, in one run: a
# realistic log of LINES lines (../shared/lab/mkbig.py on the dev corpus) read by
# `tripline run --stdin --quiet` (everything a live line costs: parsing,
# detection, history, alerts, SQLite saves) and by `tripline analyze -j1`.
#
#   bench/daemon.sh [LINES]      default 500000
set -Eeuo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-500000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release -q -p tripline
bin=target/release/tripline
python3 ../shared/lab/mkbig.py -n "$LINES" -o "$work/big.log" ../shared/corpus/dev/syslog.log >/dev/null 2>&1
printf '[detection]\npersistence = true\n' >"$work/t.toml"

best() { # label command...: the best of three wall times
    local label=$1 t best=
    shift
    for _ in 1 2 3; do
        rm -rf "$work/state"
        /usr/bin/time -f '%e' -o "$work/time" "$@" >/dev/null 2>/dev/null
        t=$(tail -1 "$work/time")
        best=$(python3 -c "print(min(float('$t'), float('${best:-1e9}')))")
    done
    printf '%-34s %8d lines  %6.2f s  %10.0f lines/s\n' "$label" "$LINES" "$best" \
        "$(python3 -c "print($LINES / max($best, 0.01))")"
    echo "$best" >"$work/$label.t"
}

best "tripline analyze -j1" "$bin" analyze -j1 "$work/big.log"
best "tripline run --stdin --quiet" sh -c "'$bin' run --stdin --quiet --state-dir '$work/state' --config '$work/t.toml' < '$work/big.log'"
python3 -c "
a = float(open('$work/tripline analyze -j1.t').read()); d = float(open('$work/tripline run --stdin --quiet.t').read())
print(f'daemon / analyze throughput: {a / d:.2f}')"
