#!/usr/bin/env python3
"""bench/rounds.py: best wall time of commands run in turn, round after round.

    rounds.py REPS < RUNS

RUNS has one run per line: `label<TAB>cpus<TAB>command and arguments` (split on
spaces; cpus is a taskset list). Every round runs each command once, in
order, so a busy neighbour on these shared machines slows all of them
rather than one. Prints `label<TAB>best wall seconds<TAB>peak RSS KiB` per
run, in input order. A command that fails stops the script.
"""
import os
import subprocess
import sys
import time

reps = int(sys.argv[1])
runs = [line.rstrip("\n").split("\t") for line in sys.stdin if line.strip()]
best = [(1e9, 0)] * len(runs)
null = open(os.devnull, "w")
for _ in range(reps):
    for i, (label, cpus, cmd) in enumerate(runs):
        t0 = time.perf_counter()
        p = subprocess.Popen(["taskset", "-c", cpus] + cmd.split(), stdout=null)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        if status != 0:
            sys.exit(f"{label}: `{cmd}` failed")
        if wall < best[i][0]:
            best[i] = (wall, ru.ru_maxrss)
for (label, _, _), (wall, rss) in zip(runs, best):
    print(f"{label}\t{wall:.4f}\t{rss}")
