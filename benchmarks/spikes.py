"""NAB score of the spike detector on a folder of labelled count series.

    python -m benchmarks.spikes DATA_DIR [--dump DIR] [--sensitivity medium]

DATA_DIR holds `*.csv` (timestamp,value), `windows.json` and `profiles.json`
(the format of ../shared/data/nab-realtweets). The detector runs causally over
each series with one parameter set for all; the last line printed is the
standard-profile score.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

from analysis.spikes import detect_spikes, with_sensitivity
from benchmarks.nab import load_profiles, load_series, normalised, score_series


def bucket_seconds(series) -> int:
    gaps = np.diff([t.timestamp() for t in series.timestamps[:200]])
    return int(np.median(gaps)) if len(gaps) else 300


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.spikes", description=__doc__.splitlines()[0])
    p.add_argument("data_dir", type=Path)
    p.add_argument("--dump", type=Path, help="write per-series CSVs of timestamp,detection")
    p.add_argument("--sensitivity", default="medium", choices=["low", "medium", "high"])
    args = p.parse_args(argv)
    if not (args.data_dir / "windows.json").exists():
        print(f"{args.data_dir}: no windows.json: not a labelled series folder", file=sys.stderr)
        return 2
    params = with_sensitivity(args.sensitivity)
    series = load_series(args.data_dir)
    profiles = load_profiles(args.data_dir)
    detections = {}
    started = time.perf_counter()
    for s in series:
        detections[s.name] = detect_spikes(s.values, bucket_seconds(s), params).fired
    elapsed = time.perf_counter() - started
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        for s in series:
            with (args.dump / s.name).open("w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["timestamp", "detection"])
                w.writerows((t.isoformat(sep=" "), int(d)) for t, d in zip(s.timestamps, detections[s.name]))
    print(f"{len(series)} series, {sum(len(s.values) for s in series)} rows, detector {elapsed * 1000:.0f} ms, "
          f"sensitivity {args.sensitivity}")
    for s in series:
        _, _, c = score_series(detections[s.name], s.windows, profiles[0])
        print(f"  {s.name:28s} windows {len(s.windows)}  detected {c['tp']}  missed {c['fn']}  false alarms {c['fp']}")
    lines = []
    for profile in profiles:
        total, windows = 0.0, 0
        for s in series:
            raw, counted, _ = score_series(detections[s.name], s.windows, profile)
            total += raw
            windows += counted
        lines.append(f"NAB {profile.name}: {normalised(total, windows, profile):.1f}")
    for line in lines[1:]:
        print(line)
    print(lines[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
