#!/usr/bin/env bash
# bench/latency.sh: time from a logged packet to tripline's detection event (root).
#
#   bench/latency.sh [TRIALS] [MODES]      (defaults: 300 and "nflog kmsg")
#
# Makes two network namespaces (firewall, scanner; veth; 203.0.113.0/24), a firewall
# rule that logs and drops incoming SYNs (nflog: nft `log group 5`; kmsg: iptables
# LOG, with net.netfilter.nf_log_all_netns=1 while it runs), starts
# `tripline run --nflog 5` in the firewall namespace or `tripline run --kmsg`, and
# runs bench/latency.py in the scanner namespace: per trial, 5 SYNs (DANGER_LEVEL1)
# from a fresh spoofed source, timed from the 5th SYN's send to the danger_raised
# line on tripline's stdout. Prints p50/p90/p99/max per mode. Release build.
# Nothing touches the root namespace's firewall; namespaces are removed on exit.
set -Eeuo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-300}
MODES=${2:-nflog kmsg}
(cd "$ROOT" && cargo build --release -q -p tripline)
TL=$(mktemp /tmp/tripline-latency-XXXXXX)
cp "${CARGO_TARGET_DIR:-$ROOT/target}/release/tripline" "$TL"
chmod 755 "$TL"
P=tlbench$$
FW=$P-fw SC=$P-sc
STATE=$(mktemp -d)
OLD_ALL_NETNS=$(cat /proc/sys/net/netfilter/nf_log_all_netns)
cleanup() {
    for ns in "$FW" "$SC"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    echo "$OLD_ALL_NETNS" > /proc/sys/net/netfilter/nf_log_all_netns
    rm -rf "$STATE" "$TL"
}
trap cleanup EXIT

ip netns add "$FW"
ip netns add "$SC"
ip -n "$FW" link set lo up
ip -n "$SC" link set lo up
ip -n "$FW" link add wan0 type veth peer name eth0 netns "$SC"
ip -n "$FW" addr add 203.0.113.1/24 dev wan0
ip -n "$SC" addr add 203.0.113.2/24 dev eth0
ip -n "$FW" link set wan0 up
ip -n "$SC" link set eth0 up
ip netns exec "$FW" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.wan0.rp_filter=0

echo "# $(date -u +%FT%TZ)  $(nproc) vCPU, $(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/^ *//'), $N trials"
for mode in $MODES; do
    ip netns exec "$FW" nft flush ruleset
    ip netns exec "$FW" iptables -F INPUT 2>/dev/null || true
    rm -rf "${STATE:?}"/*
    case $mode in
    nflog)
        ip netns exec "$FW" nft -f - <<'NFT'
table inet bench {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "wan0" tcp flags & (syn | ack) == syn log group 5 prefix "BENCH_DROP " drop
  }
}
NFT
        cmd=(ip netns exec "$FW" "$TL" run --nflog 5 --no-signatures --state-dir "$STATE")
        ;;
    kmsg)
        echo 1 > /proc/sys/net/netfilter/nf_log_all_netns
        ip netns exec "$FW" iptables -A INPUT -i wan0 -p tcp --syn -j LOG --log-prefix "BENCH_DROP " --log-tcp-options
        ip netns exec "$FW" iptables -A INPUT -i wan0 -p tcp --syn -j DROP
        cmd=("$TL" run --kmsg --no-signatures --state-dir "$STATE")
        ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
    esac
    printf '%-6s ' "$mode"
    ip netns exec "$SC" python3 "$ROOT/bench/latency.py" -n "$N" -- "${cmd[@]}"
    echo "$OLD_ALL_NETNS" > /proc/sys/net/netfilter/nf_log_all_netns
done
