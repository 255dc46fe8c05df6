#!/usr/bin/env bash
# run-psad.sh LOG OUTDIR [OVERRIDES] [AUTO_DL]
#
# Runs Debian's psad 2.4.6 in offline analysis mode (psad -A) on LOG with a
# private copy of /etc/psad/psad.conf (state under OUTDIR, whois/rDNS off),
# inside an empty network namespace so no local address leaks in, and writes
# OUTDIR/analysis.out and OUTDIR/summary.json (psad's report parsed by the
# lab's parse_psad_report.py). OVERRIDES: a file of `KEY value;` lines that
# replace the same keys in psad.conf. AUTO_DL: an auto_dl file to use.
set -Eeuo pipefail
LOG=${1:?usage: run-psad.sh LOG OUTDIR [OVERRIDES] [AUTO_DL]}
OUT=${2:?usage: run-psad.sh LOG OUTDIR [OVERRIDES] [AUTO_DL]}
OVR=${3:-}
ADL=${4:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SHARED=${TRIPLINE_SHARED:-$HERE/../../../shared}
mkdir -p "$OUT/log" "$OUT/run" "$OUT/lib"
OUT=$(cd "$OUT" && pwd)
case $LOG in
    *.gz) zcat -- "$LOG" > "$OUT/input.log" ;;
    *) cp -- "$LOG" "$OUT/input.log" ;;
esac
conf=$OUT/psad.conf
sed -e "s|^PSAD_DIR .*|PSAD_DIR $OUT/log;|" \
    -e "s|^PSAD_RUN_DIR .*|PSAD_RUN_DIR $OUT/run;|" \
    -e "s|^PSAD_FIFO_DIR .*|PSAD_FIFO_DIR $OUT/lib;|" \
    -e "s|^ENABLE_WHOIS_LOOKUPS .*|ENABLE_WHOIS_LOOKUPS N;|" \
    -e "s|^ENABLE_DNS_LOOKUPS .*|ENABLE_DNS_LOOKUPS N;|" \
    /etc/psad/psad.conf > "$conf"
if [[ -n $OVR ]]; then
    while read -r key rest; do
        [[ -z $key || $key == \#* ]] && continue
        rest=${rest//@CASE@/$(cd "$(dirname "$OVR")" && pwd)}
        sed -i "s|^$key .*|$key $rest|" "$conf"
    done < "$OVR"
fi
if [[ -n $ADL ]]; then
    sed -i "s|^AUTO_DL_FILE .*|AUTO_DL_FILE $ADL;|" "$conf"
fi
# psad-time.txt: wall seconds and peak RSS (KB) of psad alone, for bench/compare.sh.
PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0 /usr/bin/time -f '%e %M' -o "$OUT/psad-time.txt" unshare -n /usr/sbin/psad -c "$conf" -A -m "$OUT/input.log" \
    --no-whois --no-rdns > "$OUT/stdout.txt" 2> "$OUT/stderr.txt"
python3 "$SHARED/lab/lib/parse_psad_report.py" "$OUT/log/analysis.out" "$OUT/stdout.txt" > "$OUT/summary.json"
