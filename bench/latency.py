#!/usr/bin/env python3
"""Latency from a logged packet to tripline's detection event (bench/latency.sh runs it).

Runs inside the scanner namespace. Starts `tripline run` (the command after --), then,
for each trial, sends DANGER_LEVEL1 (5) TCP SYNs from a fresh spoofed source address to
the firewall over a raw socket and times how long after the 5th SYN left the socket the
`danger_raised` event for that source is printed. The firewall's rule logs and drops
the SYNs (NFLOG or LOG); the clock is this process's monotonic clock for both ends,
so the figure includes the veth hop, the kernel's logging, the source, the parser, the
engine and the JSON line. Prints p50/p90/p99/max in ms.
"""
import argparse
import json
import queue
import socket
import struct
import subprocess
import sys
import threading
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def syn(src: str, dst: str, sport: int, dport: int, ident: int) -> bytes:
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    opts = struct.pack("!BBH", 2, 4, 1460)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, (5 + 1) << 4, 0x02, 1024, 0, 0) + opts
    pseudo = s + d + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ident, 0, 64, 6, 0, s, d)
    return ip + tcp


def sources(n: int):
    """Spoofed sources from the documentation ranges, never the firewall (.1)."""
    pool = [f"198.51.100.{i}" for i in range(2, 255)] + [f"203.0.113.{i}" for i in range(3, 255)]
    if n > len(pool):
        sys.exit(f"at most {len(pool)} trials per run (one fresh source each)")
    return pool[:n]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=300, help="trials (fresh source each)")
    ap.add_argument("--dst", default="203.0.113.1")
    ap.add_argument("--packets", type=int, default=5, help="DANGER_LEVEL1")
    ap.add_argument("cmd", nargs=argparse.REMAINDER, help="-- tripline run ...")
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    daemon = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    errors: list = []
    threading.Thread(target=lambda: errors.extend(daemon.stderr), daemon=True).start()
    events: "queue.Queue[tuple[int, dict]]" = queue.Queue()

    def read():
        for line in daemon.stdout:
            t = time.monotonic_ns()
            try:
                events.put((t, json.loads(line)))
            except ValueError:
                pass

    threading.Thread(target=read, daemon=True).start()
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)

    def trial(src: str, k: int):
        pkts = [syn(src, a.dst, 40000 + k, 20000 + p, (k * 7 + p) & 0xFFFF) for p in range(a.packets)]
        for p in pkts[:-1]:
            raw.sendto(p, (a.dst, 0))
        raw.sendto(pkts[-1], (a.dst, 0))
        return time.monotonic_ns()

    def wait_for(src: str, timeout: float):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                t, ev = events.get(timeout=left)
            except queue.Empty:
                return None
            if ev.get("event") == "danger_raised" and ev.get("src") == src:
                return t

    # Warm-up: the daemon is up once a probe source is detected (bounded).
    srcs = sources(a.n + 1)
    warm = srcs.pop()
    for k in range(50):
        trial(warm, 1000 + k)
        if wait_for(warm, 0.5) is not None:
            break
    else:
        daemon.kill()
        sys.stderr.write(b"".join(errors).decode(errors="replace"))
        sys.exit("no detection: is the firewall rule or the daemon wrong?")
    lat = []
    for k, src in enumerate(srcs):
        sent = trial(src, k)
        got = wait_for(src, 2.0)
        if got is None:
            print(f"trial {k} ({src}): no event within 2 s", file=sys.stderr)
            continue
        lat.append((got - sent) / 1e6)
        time.sleep(0.005)  # pacing between trials, not synchronisation
    daemon.terminate()
    daemon.wait()
    if not lat:
        sys.exit("no trial detected")
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))]

    print(
        f"trials {len(lat)}/{a.n}  p50 {pct(50):.2f} ms  p90 {pct(90):.2f} ms  "
        f"p99 {pct(99):.2f} ms  max {lat[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
