"""The issue-7 failure classes, built from real labelled series: first-week, repeated and near-zero incidents.

    python -m benchmarks.real_stress DATA_DIR [--sensitivity medium] [--set NAME=VALUE ...] [--explain]

DATA_DIR is a folder of labelled count series (the format of
../shared/data/nab-realtweets). The synthetic suite has the model's own
noise; these cases keep the real series' noise and incident shapes:
- first_week: for each labelled window, the series cut to begin 3, 4, 5 and 6
  days before it (NAB's probation rows still apply), and scored on it alone;
- repeated: each window's rise over the median of the day before it, added
  again 1, 2 and 3 days after the window ends: the copy is a second incident
  and must alert on its own;
- near_zero: each series whose median is above one mention per bucket,
  thinned at random (three draws) to a median of 0.3 and of 1 mention per
  bucket: the same incidents on a brand a hundred times smaller.
For each class: windows caught of those targeted, the NAB standard score of
those cases, and false alarms outside every window per series-month, with
how many of them opened an incident whose biggest hour was five times its
expectation or more (bursts nobody labelled, mostly: see benchmarks.alarms),
and the noise as it reads when each is sized by the hour it fired at. With --explain, each missed
window and each false alarm, with its case (series, and how it was made) and
its hour against the expectation: what a run on series you cannot share shows.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from analysis.detection.spikes import HOUR, SpikeParams, detect_spikes, incidents
from benchmarks.alarms import (BIG_MISS_RATIO, BIG_RATIO, Event, Hours, big_misses_line, describe, false_alarms,
                               missed_windows, noise, scored_outside)
from benchmarks.nab import Profile, Series, load_profiles, normalised, score_series
from benchmarks.spikes import (add_detector_options, bucket_seconds, detector_params, is_labelled_folder, on_grid,
                               readable_series)

FIRST_WEEK_DAYS = (3, 4, 5, 6)
REPEAT_GAP_DAYS = (1, 2, 3)
THIN_MEDIANS = (0.3, 1.0)
THIN_DRAWS = 3


@dataclass
class Case:
    values: np.ndarray
    windows: list[tuple[int, int]]  # every labelled window of the case (inclusive rows)
    targets: list[tuple[int, int]]  # the windows this class is about
    begins: int = 0  # the series' row where the case's first row is (a case cut from it) ...
    series: str = ""  # ... and that series' name
    made: str = ""  # how the case was made from it, for --explain


def first_week_cases(s: Series, per_day: int) -> Iterator[Case]:
    for start, end in s.windows:
        for days in FIRST_WEEK_DAYS:
            cut = start - days * per_day
            if cut < 0:
                continue
            stop = min(len(s.values), end + 2 * per_day)  # two days after it, for the false alarms it brings
            window = (start - cut, end - cut)
            yield Case(s.values[cut:stop], [window], [window], begins=cut, series=s.name,
                       made=f"cut to begin {days} days before its window")


def added_by_short_history(s: Series, alarms: Iterable[tuple[Case, Event]], params: SpikeParams) -> int:
    """Of these false alarms of first-week cases cut from `s`, how many the series' full history does not raise.

    The first-week cases are days next to a labelled incident, and real bursts
    cluster there: a false alarm the detector also raises with the series'
    whole history is the same unlabelled burst, not a cost of starting late.
    The rest are what a short history adds: these say whether a new brand's
    first week alarms more than later weeks.
    """
    seconds = bucket_seconds(s)
    known = incidents(s.values, detect_spikes(s.values, seconds, params))
    slack = max(1, HOUR // seconds)  # within an hour of one of the full history's incidents: the same rise
    return sum(not any(i.start - slack <= case.begins + alarm.row <= i.end + slack for i in known)
               for case, alarm in alarms)


def repeated_cases(s: Series, per_day: int) -> Iterator[Case]:
    for start, end in s.windows:
        rise = np.maximum(s.values[start:end + 1] - np.median(s.values[max(0, start - per_day):start]), 0.0)
        for gap in REPEAT_GAP_DAYS:
            copy = (end + gap * per_day, end + gap * per_day + len(rise) - 1)
            clear = all(copy[0] > e + per_day or copy[1] < s_ for s_, e in s.windows if (s_, e) != (start, end))
            if copy[1] >= len(s.values) or not clear:
                continue  # off the end, or onto another labelled incident
            values = s.values.copy()
            values[copy[0]:copy[1] + 1] += rise
            yield Case(values, sorted(s.windows + [copy]), [copy], series=s.name,
                       made=f"the window at day {start / per_day:.1f} copied {gap} days after it")


def near_zero_cases(s: Series) -> Iterator[Case]:
    median = float(np.median(s.values))
    if median <= 1.0:
        return
    for target in THIN_MEDIANS:
        for draw in range(THIN_DRAWS):
            thinned = np.random.default_rng(draw).binomial(s.values.astype(np.int64), target / median)
            yield Case(thinned.astype(float), list(s.windows), list(s.windows), series=s.name,
                       made=f"thinned to a median of {target:g} (draw {draw})")


def gridded(s: Series) -> Series:
    """The series on its regular time grid (its windows moved with it): the cases cut and copy by bucket."""
    counts, at = on_grid(s)
    if np.array_equal(at, np.arange(len(at))):
        return s
    start = s.timestamps[0]
    step = timedelta(seconds=bucket_seconds(s))
    return Series(s.name, [start + i * step for i in range(len(counts))], counts,
                  [(int(at[a]), int(at[b])) for a, b in s.windows])


@dataclass
class ClassResult:
    raw: float = 0.0  # NAB raw score over the class's own windows
    windows: int = 0  # those scored (not inside a probation)
    caught: int = 0
    months: float = 0.0  # time outside every labelled window
    alarms: list[tuple[Case, Event]] = field(default_factory=list)  # firings outside every labelled window
    missed: list[tuple[Case, Event]] = field(default_factory=list)  # targeted windows without a firing, sized

    def noise(self, when_fired: bool = False) -> int:
        """False alarms under BIG_RATIO: sized by the incident each opened (the rest are mostly bursts nobody
        labelled), or `when_fired`, by the hour each fired at (see benchmarks.alarms)."""
        return noise((alarm for _, alarm in self.alarms), when_fired)


def evaluate(cases: Iterable[tuple[Case, int]], params: SpikeParams, profile: Profile) -> ClassResult:
    """Score (case, bucket seconds) pairs: a firing on another labelled incident is neither caught nor false."""
    out = ClassResult()
    for case, seconds in cases:
        found = detect_spikes(case.values, seconds, params)
        opened = incidents(case.values, found)  # before the other windows' firings are cleared
        fired = found.fired.copy()
        for start, end in case.windows:
            if (start, end) not in case.targets:
                fired[start:end + 1] = False
        raw, counted, counts = score_series(fired, case.targets, profile)
        out.raw += raw
        out.windows += counted
        out.caught += counts["tp"]
        # The scorer's false alarms (those outside the targets; the other windows' firings are cleared), sized.
        hours = Hours.on_grid(case.values, found.expected, seconds, found=opened)
        out.alarms += [(case, alarm) for alarm in false_alarms(fired, case.windows, hours)]
        out.missed += [(case, event) for event in missed_windows(fired, case.targets, hours)]
        out.months += scored_outside(len(fired), case.windows).sum() * seconds / (30 * 86400)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.real_stress", description=__doc__.splitlines()[0])
    p.add_argument("data_dir", type=Path)
    add_detector_options(p)
    p.add_argument("--explain", action="store_true", help="also list each missed window and false alarm, with its case")
    args = p.parse_args(argv)
    if not is_labelled_folder(args.data_dir):
        return 2
    params = detector_params(args)
    loaded = readable_series(args.data_dir)
    if loaded is None:
        return 2
    series = [gridded(s) for s in loaded]
    profile = load_profiles(args.data_dir)[0]
    print(f"{len(series)} real series, sensitivity {args.sensitivity}; the windows scored are the class's own")
    print(f"{'class':11s} {'windows':>8s} {'caught':>7s} {'NAB standard':>13s} {'false alarms per series-month':>30s}"
          f"  {f'under {BIG_RATIO:g}x (noise)':>18s}  {f'{BIG_RATIO:g}x or more (bursts)':>20s}"
          f"  {f'missed at {BIG_MISS_RATIO:g}x+':>15s}")
    classes = {"first_week": first_week_cases, "repeated": repeated_cases,
               "near_zero": lambda s, per_day: near_zero_cases(s)}
    for name, make in classes.items():
        total = evaluate(((case, bucket_seconds(s)) for s in series for case in make(s, 86400 // bucket_seconds(s))),
                         params, profile)
        score = normalised(total.raw, total.windows, profile) if total.windows else float("nan")
        months = total.months or float("nan")  # no time scored: rates are NaN
        under = total.noise()
        missed = [event for _, event in total.missed]
        big_misses = sum(m.ratio >= BIG_MISS_RATIO for m in missed)
        print(f"{name:11s} {total.windows:8d} {total.caught:7d} {score:13.1f} {len(total.alarms) / months:30.2f}"
              f"  {under / months:18.2f}  {(len(total.alarms) - under) / months:20.2f}  {big_misses:15d}")
        if total.months:
            print(f"{'':11s} noise sized by the hour each fired at, not by its incident's biggest hour: "
                  f"{total.noise(when_fired=True) / total.months:.2f} per series-month")
        if name == "first_week" and total.months:
            added = sum(added_by_short_history(s, [(c, a) for c, a in total.alarms if c.series == s.name], params)
                        for s in series)
            print(f"{'':11s} of its {len(total.alarms)} false alarms, {len(total.alarms) - added} are bursts the "
                  f"series' full history also alerts on; the {added} a short history adds: "
                  f"{added / total.months:.2f} per series-month")
        if missed:
            print(f"{'':11s} {big_misses_line(missed)}")
        if args.explain:
            for case, event in total.missed + total.alarms:
                print(f"{'':11s}   {describe(event)}  {case.series}, {case.made}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
