"""Benchmark: generating a 360-installment equal-installment schedule, and that plus its APR.

Run from anywhere: ``python bench/schedule.py [--repeats N]``. Prints the median and the
95th percentile of single calls in milliseconds, with the Python version, CPU count and
load average (other work on the machine shows up in the figures), for docs/benchmarks.md.
The garbage collector stays on, as in production.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

# The script lives in bench/ and is run as a file, so the repository root is not on the
# path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from products.engine import (  # noqa: E402
    LoanTerms,
    Method,
    TermUnit,
    compute_apr,
    generate_schedule,
)

TERMS = LoanTerms(
    principal=Decimal("1000000.00"),
    annual_rate=Decimal("0.049"),
    term=360,
    term_unit=TermUnit.MONTHS,
    method=Method.EQUAL_INSTALLMENT,
    start_date=date(2025, 1, 31),
)


def _time_ms(call, repeats: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(repeats):
        started = clock()
        call()
        samples.append((clock() - started) / 1e6)
    return samples


def _summary(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return (
        f"{label:<22} median {statistics.median(ordered):7.3f} ms   p95 {p95:7.3f} ms"
        f"   min {ordered[0]:7.3f} ms   (n={len(ordered)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()

    schedule = generate_schedule(TERMS)
    apr = compute_apr(schedule)
    first, last = schedule.installments[0], schedule.installments[-1]
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {load}"
    )
    print(
        f"1,000,000.00 at 4.9 % over 360 months: payment {first.payment}, last {last.payment}, "
        f"interest {schedule.total_interest}, APR {apr.nominal_percent} % "
        f"(effective {apr.effective_percent} %)"
    )
    print(
        _summary("schedule", _time_ms(lambda: generate_schedule(TERMS), args.repeats, args.warmup))
    )
    print(
        _summary(
            "schedule + APR",
            _time_ms(lambda: compute_apr(generate_schedule(TERMS)), args.repeats, args.warmup),
        )
    )
    print(_summary("APR only", _time_ms(lambda: compute_apr(schedule), args.repeats, args.warmup)))


if __name__ == "__main__":
    main()
