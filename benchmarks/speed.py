"""Detector speed: two years of hourly counts for 100 series (target: under a second).

    python -m benchmarks.speed [--series 100] [--days 730] [--repeat 5]

Prints the median wall time over the repeats and the rate in buckets per second.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from analysis.spikes import detect_spikes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.speed")
    p.add_argument("--series", type=int, default=100)
    p.add_argument("--days", type=int, default=730)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    rng = np.random.default_rng(7)
    hours = np.arange(args.days * 24)
    shape = 1 + 0.6 * np.sin(2 * np.pi * (hours % 24) / 24) + 0.2 * ((hours // 24) % 7 < 5)
    data = [rng.poisson(rng.uniform(0.5, 50) * shape).astype(float) for _ in range(args.series)]
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        for series in data:
            detect_spikes(series, 3600)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    buckets = args.series * len(hours)
    print(f"{args.series} series x {len(hours)} hourly buckets: median {median:.3f} s over {args.repeat} runs "
          f"({buckets / median / 1e6:.1f} M buckets/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
