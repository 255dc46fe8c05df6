#!/usr/bin/env bash
# dist/build-pgo.sh: the release binary, built with profile-guided
# optimisation (PGO), as a distribution would ship it.
#
#   dist/build-pgo.sh            -> $CARGO_TARGET_DIR/pgo/tripline (default target/pgo/tripline)
#
# Three steps: build an instrumented binary, run it on real logs (the
# training set below), then build again with the merged profile. The second
# build lays out the hot paths (line parser, engine, signature matcher) from
# what the training saw. It changes speed only: the tests and bench/compare.sh
# check that its reports are byte-identical to the plain release build's.
#
# Training set: examples/logs/dev-slice.log (in the repo) and, when present,
# the lab's dev corpus in all five formats (../shared/corpus/dev), each in the
# analysis modes people use (default, one worker, --json, --summary);
# --psad-compat on the slice only: trained as much as the default mode, its
# branches inside the hot path weighed as much as the default mode's (-j2
# 1.03x slower).
#
# The training runs again only when the instrumented binary changed, and the
# profile is named by its hash, so a rerun with nothing changed rebuilds
# nothing, and a new profile always rebuilds the binary.
#
# Needs llvm-profdata of rustc's LLVM version: the rustup component
# llvm-tools (added here if missing), or Debian's llvm-N of the same major.
set -Eeuo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${TRIPLINE_SHARED:-$ROOT/../shared}
T=${CARGO_TARGET_DIR:-$ROOT/target}
PROFRAW=$T/pgo/profraw
PROFDATA=$T/pgo/merged.profdata
GEN=$T/pgo-gen/release/tripline

profdata_tool() {
  local major bin
  major=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
  bin=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-profdata
  if [[ ! -x $bin ]] && command -v rustup > /dev/null; then
    rustup component add llvm-tools >&2 || true
  fi
  if [[ -x $bin ]]; then
    echo "$bin"
  elif command -v "llvm-profdata-$major" > /dev/null; then
    command -v "llvm-profdata-$major"
  else
    echo "dist/build-pgo.sh: llvm-profdata for LLVM $major not found: rustup component add llvm-tools, or apt-get install llvm-$major" >&2
    exit 2
  fi
}
PD=$(profdata_tool)

echo "dist/build-pgo.sh: 1/3 instrumented build" >&2
mkdir -p "$T/pgo"
(cd "$ROOT" && RUSTFLAGS="-Cprofile-generate=$PROFRAW" CARGO_TARGET_DIR=$T/pgo-gen \
  cargo build --release -q -p tripline)

if [[ ! -s $PROFDATA || $GEN -nt $PROFDATA ]]; then
  echo "dist/build-pgo.sh: 2/3 training" >&2
  rm -rf "$PROFRAW" && mkdir -p "$PROFRAW"
  export LLVM_PROFILE_FILE=$PROFRAW/%p-%m.profraw
  logs=("$ROOT/examples/logs/dev-slice.log")
  for f in syslog.log rsyslog-iso.log dmesg.log rfc5424.log.gz journal.export.gz; do
    [[ -f $SHARED/corpus/dev/$f ]] && logs+=("$SHARED/corpus/dev/$f")
  done
  for log in "${logs[@]}"; do
    for mode in "" "-j 1" "--json" "-j 1 --summary"; do
      # (Word splitting of $mode is wanted: it holds options.)
      # shellcheck disable=SC2086
      "$GEN" analyze --no-progress $mode "$log" > /dev/null
    done
  done
  "$GEN" analyze --no-progress --psad-compat "${logs[0]}" > /dev/null
  unset LLVM_PROFILE_FILE
  "$PD" merge -o "$PROFDATA" "$PROFRAW"
else
  echo "dist/build-pgo.sh: 2/3 training: the profile is up to date" >&2
fi
NAMED=$T/pgo/profile-$(sha256sum "$PROFDATA" | cut -c1-16).profdata
find "$T/pgo" -maxdepth 1 -name 'profile-*.profdata' ! -path "$NAMED" -delete
# (Copied only when new: the build depends on its time stamp.)
[[ -f $NAMED ]] || cp "$PROFDATA" "$NAMED"

echo "dist/build-pgo.sh: 3/3 optimised build" >&2
(cd "$ROOT" && RUSTFLAGS="-Cprofile-use=$NAMED" CARGO_TARGET_DIR=$T/pgo-use \
  cargo build --release -q -p tripline)
cp "$T/pgo-use/release/tripline" "$T/pgo/tripline"
echo "$T/pgo/tripline"
