"""Detector speed: two years of hourly counts for 100 series (target: under a second).

    python -m benchmarks.speed [--series 100] [--days 730] [--repeat 5] [--workers N]

Prints the median wall time over the repeats and the rate in buckets per
second: one series after another on one thread, and all of them through
`detect_spikes_many` (what `brand_incidents` uses) on one thread per core
(or `--workers`). Both runs alternate, so machine noise hits both alike.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

from analysis.detection.spikes import detect_spikes, detect_spikes_many


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.speed")
    p.add_argument("--series", type=int, default=100)
    p.add_argument("--days", type=int, default=730)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--workers", type=int, default=None, help="threads for detect_spikes_many (default: one per core)")
    args = p.parse_args(argv)
    rng = np.random.default_rng(7)
    hours = np.arange(args.days * 24)
    shape = 1 + 0.6 * np.sin(2 * np.pi * (hours % 24) / 24) + 0.2 * ((hours // 24) % 7 < 5)
    data = [rng.poisson(rng.uniform(0.5, 50) * shape).astype(float) for _ in range(args.series)]
    one_thread, threaded = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        for series in data:
            detect_spikes(series, 3600)
        one_thread.append(time.perf_counter() - start)
        start = time.perf_counter()
        detect_spikes_many(data, 3600, workers=args.workers)
        threaded.append(time.perf_counter() - start)
    buckets = args.series * len(hours)
    workers = min(args.series, args.workers or os.cpu_count() or 1)
    for label, times in (("one thread", one_thread), (f"{workers} threads (detect_spikes_many)", threaded)):
        median = statistics.median(times)
        print(f"{args.series} series x {len(hours)} hourly buckets, {label}: median {median:.3f} s over {args.repeat} "
              f"runs ({buckets / median / 1e6:.1f} M buckets/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
