"""NAB score of the spike detector on a folder of labelled count series.

    python -m benchmarks.spikes DATA_DIR [--dump DIR] [--sensitivity medium] [--set NAME=VALUE ...] [--loo] [--offsets]
                                [--explain]

DATA_DIR holds `*.csv` (timestamp,value) and `windows.json`, and may hold
`profiles.json` (NAB's own costs otherwise): the format of
../shared/data/nab-realtweets. Without windows.json, --dump still writes the
detections. The detector runs causally over each series with one parameter
set for all (a series with missing rows is laid on its time grid first). With --loo it also reports leave-one-series-out: for each
series, the setting from a small grid of false-alarm budgets that scores best
on the other series, scored on that one; the mean of those is the figure that
predicts unseen series. With --offsets it also scores every series begun 0 to
3 days later: the early incidents then meet a detector with less history.
Every run also sums up the false alarms (how many opened an incident whose
biggest hour was five times its expectation or more, how many in a series'
first two weeks; see benchmarks.alarms); with
--explain it lists each false alarm and each missed window with its size, so a
run on series we never see still says what went wrong where. The last line
printed is the standard-profile score of the chosen setting (the default one
unless --set) on all series.
"""
from __future__ import annotations

import argparse
import bisect
import csv
import itertools
import statistics
import sys
import time
from dataclasses import fields, replace
from datetime import timedelta
from pathlib import Path

import numpy as np

from analysis.detection.spikes import SpikeParams, detect_spikes, incidents, with_sensitivity
from benchmarks.alarms import (Hours, big_misses_line, describe, false_alarms, missed_windows, noise_line,
                               series_months, summary)
from benchmarks.nab import Profile, Series, load_profiles, load_series, normalised, score_series

# What leave-one-out chooses: how often a quiet series may alert. The rest are fixed principles.
LOO_GRID = {"false_alarms_per_month": (0.5, 1.0, 2.0, 4.0)}


def bucket_seconds(series: Series) -> int:
    gaps = np.diff([t.timestamp() for t in series.timestamps[:200]])
    gaps = gaps[gaps > 0]
    return int(np.median(gaps)) if len(gaps) else 300


def on_grid(series: Series) -> tuple[np.ndarray, np.ndarray]:
    """(counts per bucket of a regular grid from the first row, each row's bucket on it).

    The detector reads a day as so many buckets; a series with missing (or
    doubled) rows would drift off its time of day, so its rows are laid on the
    grid first: a missing bucket takes the level either side (neither a spike
    nor a dip), doubled rows add up. A series without gaps is its own grid.
    """
    offsets = np.array([(t - series.timestamps[0]).total_seconds() for t in series.timestamps])
    if np.any(np.diff(offsets) < 0):
        raise ValueError(f"{series.name}: rows are not in time order")
    at = np.round(offsets / bucket_seconds(series)).astype(np.int64)
    if not len(at) or np.array_equal(at, np.arange(len(at))):
        return series.values, at
    grid = np.arange(at[-1] + 1)
    counts = np.bincount(at, weights=series.values, minlength=len(grid))
    present = np.isin(grid, at)
    counts[~present] = np.interp(grid[~present], grid[present], counts[present])
    print(f"{series.name}: {int((~present).sum())} missing buckets filled, {len(at) - len(np.unique(at))} "
          f"doubled rows added up", file=sys.stderr)
    return counts, at


def detect_rows(s: Series, params: SpikeParams) -> tuple[np.ndarray, Hours]:
    """(a detection, True/False, for each row of the series; each row's hour, observed and expected, and the
    extent of the incident each detection opened).

    A row reports what fired since the row before it, so no detection is lost in a gap.
    """
    counts, at = on_grid(s)
    seconds = bucket_seconds(s)
    found = detect_spikes(counts, seconds, params)
    fired_so_far = np.cumsum(found.fired)[at]
    return (np.diff(fired_so_far, prepend=0) > 0,
            Hours.on_grid(counts, found.expected, seconds, at, incidents(counts, found)))


def detections_for(series: list[Series], params: SpikeParams) -> dict[str, np.ndarray]:
    """Per series, a detection (True/False) for each of its rows."""
    return {s.name: detect_rows(s, params)[0] for s in series}


def nab_score(series: list[Series], detections: dict[str, np.ndarray], profile: Profile) -> float:
    total, windows = 0.0, 0
    for s in series:
        raw, counted, _ = score_series(detections[s.name], s.windows, profile)
        total += raw
        windows += counted
    return normalised(total, windows, profile) if windows else float("nan")


def leave_one_out(series: list[Series], base: SpikeParams, profile: Profile) -> list[tuple[str, float, dict]]:
    """(held-out series, its score, the setting chosen on the others) for each series."""
    names = list(LOO_GRID)
    grid = [dict(zip(names, values)) for values in itertools.product(*LOO_GRID.values())]
    found = [detections_for(series, replace(base, **g)) for g in grid]
    out = []
    for held in series:
        rest = [s for s in series if s is not held]
        scores = [nab_score(rest, d, profile) for d in found]
        best = int(np.argmax(scores))
        out.append((held.name, nab_score([held], found[best], profile), grid[best]))
    return out


START_OFFSETS_DAYS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)


def start_offsets(series: list[Series], params: SpikeParams, profile: Profile,
                  offsets_days: tuple[float, ...] = START_OFFSETS_DAYS) -> list[tuple[float, float]]:
    """(days cut, score) for each offset: every series begun that many days later (windows the cut
    reaches are dropped). The early windows then meet a detector with less history, as on a new
    brand: how far the score moves says how much it owes to where the data happens to start."""
    out = []
    for days in offsets_days:
        cut_series = [begun_later(s, days) for s in series]
        out.append((days, nab_score(cut_series, detections_for(cut_series, params), profile)))
    return out


def begun_later(s: Series, days: float) -> Series:
    """The series from `days` after its first row on (by time: rows may have gaps), without the windows the cut reaches."""
    cut = bisect.bisect_left(s.timestamps, s.timestamps[0] + timedelta(days=days))
    windows = [(a - cut, b - cut) for a, b in s.windows if a >= cut]
    return Series(s.name, s.timestamps[cut:], s.values[cut:], windows)


def parse_setting(text: str) -> tuple[str, object]:
    """NAME=VALUE for one SpikeParams field, as that field's type (a tuple as comma-separated numbers)."""
    name, _, value = text.partition("=")
    defaults = SpikeParams()
    known = {f.name for f in fields(SpikeParams)}
    if name not in known or not value:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE with NAME one of {', '.join(sorted(known))}")
    default = getattr(defaults, name)
    several = isinstance(default, tuple)
    kind = type(default[0] if several else default)
    try:
        return name, tuple(kind(v) for v in value.split(",")) if several else kind(value)
    except ValueError:
        what = "whole number" if kind is int else "number"
        raise argparse.ArgumentTypeError(f"{text!r}: the value must be a {what}"
                                         f"{' (or several, comma-separated)' if several else ''}") from None


def add_detector_options(parser: argparse.ArgumentParser) -> None:
    """--sensitivity and --set, the same in every detection benchmark."""
    parser.add_argument("--sensitivity", default="medium", choices=["low", "medium", "high"])
    parser.add_argument("--set", type=parse_setting, action="append", default=[], metavar="NAME=VALUE",
                        help="override one detector setting (repeatable)")


def detector_params(args: argparse.Namespace) -> SpikeParams:
    return with_sensitivity(args.sensitivity, **dict(args.set))


def is_labelled_folder(folder: Path) -> bool:
    """True if `folder` holds labelled series; if not, says so on stderr."""
    if (folder / "windows.json").exists():
        return True
    print(f"{folder}: no windows.json: not a labelled series folder", file=sys.stderr)
    return False


def readable_series(folder: Path) -> list[Series] | None:
    """The folder's series; None (having said why on stderr) if it has none or a file is malformed."""
    try:
        series = load_series(folder)
    except ValueError as e:  # say which file and where; score nothing rather than part of the folder
        print(f"{folder}: {e}", file=sys.stderr)
        return None
    if not series:
        print(f"{folder}: no *.csv series", file=sys.stderr)
        return None
    return series


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.spikes", description=__doc__.splitlines()[0])
    p.add_argument("data_dir", type=Path)
    p.add_argument("--dump", type=Path, help="write per-series CSVs of timestamp,detection")
    add_detector_options(p)
    p.add_argument("--loo", action="store_true", help="also report leave-one-series-out")
    p.add_argument("--offsets", action="store_true", help="also report the score with each series begun 0 to 3 days later")
    p.add_argument("--explain", action="store_true", help="also list each false alarm and missed window, with its size")
    args = p.parse_args(argv)
    labelled = (args.data_dir / "windows.json").exists()
    if not labelled and not args.dump:
        print(f"{args.data_dir}: no windows.json: nothing to score (--dump DIR writes the detections)", file=sys.stderr)
        return 2
    params = detector_params(args)
    series = readable_series(args.data_dir)
    if series is None:
        return 2
    profiles = load_profiles(args.data_dir)
    started = time.perf_counter()
    found = {s.name: detect_rows(s, params) for s in series}
    elapsed = time.perf_counter() - started
    detections = {name: fired for name, (fired, _) in found.items()}
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        for s in series:
            with (args.dump / s.name).open("w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["timestamp", "detection"])
                w.writerows((t.isoformat(sep=" "), int(d)) for t, d in zip(s.timestamps, detections[s.name]))
    if not labelled:  # detections only: whoever holds the labels scores the dump
        print(f"{len(series)} series, no windows.json: detections written to {args.dump}, nothing scored")
        return 0
    settings = ", ".join(f"{k}={v}" for k, v in dict(args.set).items())
    print(f"{len(series)} series, {sum(len(s.values) for s in series)} rows, detector {elapsed * 1000:.0f} ms, "
          f"sensitivity {args.sensitivity}{', ' + settings if settings else ''}")
    alarms, missed, months = [], [], 0.0
    for s in series:
        _, _, c = score_series(detections[s.name], s.windows, profiles[0])
        print(f"  {s.name:28s} windows {len(s.windows)}  detected {c['tp']}  missed {c['fn']}  false alarms {c['fp']}"
              f"  score {nab_score([s], detections, profiles[0]):6.1f}")
        fired, hours = found[s.name]
        own, own_missed = false_alarms(fired, s.windows, hours), missed_windows(fired, s.windows, hours)
        alarms += own
        missed += own_missed
        months += series_months(len(fired), s.windows, bucket_seconds(s))
        if args.explain:
            for event in sorted(own + own_missed, key=lambda e: e.row):
                print(f"      {describe(event)}")
    print(summary(alarms))
    print(noise_line(alarms, months))
    print(big_misses_line(missed))
    if args.loo:
        folds = leave_one_out(series, params, profiles[0])
        print("leave-one-series-out (standard profile; setting chosen on the other series):")
        for name, score, chosen in folds:
            print(f"  {name:28s} {score:6.1f}  chosen {', '.join(f'{k}={v}' for k, v in chosen.items())}")
        print(f"NAB standard, leave-one-series-out mean: {statistics.mean(f[1] for f in folds):.1f}")
    if args.offsets:
        scores = start_offsets(series, params, profiles[0])
        print("NAB standard with every series begun later (days cut: score):",
              "  ".join(f"{days:g}: {score:.1f}" for days, score in scores))
        print(f"NAB standard, mean over start offsets: {statistics.mean(v for _, v in scores):.1f}")
    lines = [f"NAB {profile.name}: {nab_score(series, detections, profile):.1f}" for profile in profiles]
    for line in lines[1:]:
        print(line)
    print(lines[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
