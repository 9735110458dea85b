"""How fast this host runs Python right now: a fixed pure-Python workload (dict and str work, some
10 ms on a quiet minute), timed in CPU time, once every ``interval`` seconds, one figure a line.

A benchmark's CPU per request is only comparable between runs on the same host speed: this shared
machine's neighbours slow every process on it by up to half for minutes at a time (the same code
measured 47 and 72 ms a drawdown twenty minutes apart), without that showing as stolen time in
/proc/stat. ``support.HostProbe`` runs this beside a benchmark (about 1 % of one CPU) and reports the
median figure during the measured run next to the idle one before it.

    .venv/bin/python bench/hostprobe.py [interval]
"""

from __future__ import annotations

import sys
import time


def work() -> int:
    counts: dict[int, int] = {}
    total = 0
    for i in range(40_000):
        key = i % 509
        counts[key] = counts.get(key, 0) + i
        total += len(str(i))
    return total + len(counts)


def main() -> None:
    interval = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    while True:
        began = time.process_time()
        work()
        print(f"{(time.process_time() - began) * 1000:.3f}", flush=True)
        time.sleep(interval)


if __name__ == "__main__":
    main()
