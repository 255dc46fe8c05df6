#!/usr/bin/env bash
# bench/blocks.sh: how long Tripline takes to put N blocks into the kernel in one batch,
# with each backend, each in a fresh network namespace (the root namespace's firewall is
# never touched).
#
#   bench/blocks.sh [N]      (default 10000; needs root, nft, iptables, ipset)
#
# Times `tripline block --file ADDRS --for 1h --backend B --state-dir DIR` (one kernel
# batch: `nft -f -`, `iptables-restore`/`ip6tables-restore`, `ipset restore`; plus the
# SQLite transaction and the safelist discovery), then counts what landed in the kernel.
# Addresses: N distinct hosts of 198.18.0.0/15 (RFC 2544 benchmarking range; no packet is
# sent). Set TRIPLINE=path to time another binary; else a release build is made.
set -Eeuo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-10000}
if [[ -z ${TRIPLINE:-} ]]; then
    (cd "$ROOT" && cargo build --release -q -p tripline)
    TRIPLINE=${CARGO_TARGET_DIR:-$ROOT/target}/release/tripline
fi
WORK=$(mktemp -d)
NS=tlbench$$
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

python3 - "$N" > "$WORK/addrs.txt" <<'EOF'
import ipaddress, sys
base = int(ipaddress.IPv4Address("198.18.0.1"))
for i in range(int(sys.argv[1])):
    print(ipaddress.IPv4Address(base + i))
EOF
printf 'backend   run     blocks  seconds  in kernel\n'
for B in nftables ipset iptables; do
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    # First run: N new blocks. Second run: the same N again (re-armed timeouts).
    for RUN in new again; do
        start=$(date +%s.%N)
        ip netns exec "$NS" "$TRIPLINE" block --file "$WORK/addrs.txt" --for 1h \
            --backend "$B" --state-dir "$WORK/state-$B" > /dev/null
        end=$(date +%s.%N)
        case $B in
            nftables) got=$(ip netns exec "$NS" nft list set inet tripline v4 | grep -o '198\.1[89]\.[0-9.]*' | wc -l) ;;
            ipset) got=$(ip netns exec "$NS" ipset list tripline4 | grep -c '^198\.1[89]\.') ;;
            iptables) got=$(ip netns exec "$NS" iptables -S PSAD_BLOCK_INPUT | grep -c -- '-s 198\.1[89]\.') ;;
        esac
        printf '%-9s %-6s %7d  %7.3f  %d\n' "$B" "$RUN" "$N" "$(awk "BEGIN{print $end - $start}")" "$got"
    done
    ip netns del "$NS"
done
echo "command: ip netns exec NS $TRIPLINE block --file ADDRS --for 1h --backend B --state-dir DIR"
