"""Detector recall, lead time and false alarms on synthetic series with injected incidents.

    python -m benchmarks.synthetic [--series 100] [--days 90] [--seed 1] [--sensitivity medium] [--set NAME=VALUE ...]

Each series: hourly negative-binomial counts (over-dispersion drawn per
series) with a daily rhythm and a weekly one (weekends at 30% to 90% of
weekdays), a base rate drawn per kind, and incidents of a known start, size
and shape:
- burst: x3 to x8 for 2 to 8 hours, after day 30 (an incident brings at
  least 10 extra mentions: at a quiet hour the factor is larger);
- repeated: two bursts (x4 to x10, 2 to 6 hours) two days apart: two incidents;
- near_zero: a brand mentioned 0 to 1 times an hour that suddenly gets 10 to 20
  an hour for 1 to 3 hours;
- first_week: a burst (x4 to x10, 2 to 6 hours) on day 1 to 6 of the history;
- ramp: rising linearly to x3 over 24 to 48 hours, then back;
- share: the negative share goes from 10% to 35% for 12 hours, volume unchanged
  (caught by the share test, not the volume test);
- bump: x1.5 for 3 hours, within normal wobble: not an incident (a firing is a false alarm);
- level_shift: the volume doubles for good: one alert in its first day is fair,
  any later one is a false alarm;
- holiday_dip: a day at 20% of the usual volume: every firing is a false alarm;
- quiet: nothing happens: every firing is a false alarm;
- bursty: nothing happens either, but the counts vary more than the model's
  own noise: each day has its own level (c^2 0.03 to 0.15) and each hour its
  own burst (c^2 0.05 to 0.3), as real mention series do.
An incident counts as caught when its detector fires between its start and 24
hours after its end (or the next incident's start), or up to three hours
before its start opening an incident that runs into it (the rise's first
noisy hour); lead time is hours from the start to that firing. False alarms
are counted per 60 quiet days (days outside any incident's span), per series:
the issue's bar is at most one; and apart for a series' first week, which the
warm-up must keep within the same budget.
A missed volume incident is sized by its biggest hour against the detector's
expectation: those at eight times or more are listed, and how many of them
were 20 mentions or more above it (in a near-empty hour 4 mentions is 10x).
"""
from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass, field

import numpy as np

from analysis.detection.spikes import SpikeParams, detect_share_shift, detect_spikes, incidents
from benchmarks.alarms import BIG_MISS_RATIO, Event, Hours, big_misses_line
from benchmarks.spikes import add_detector_options, detector_params

KINDS = ("burst", "repeated", "near_zero", "first_week", "ramp", "share", "bump", "level_shift", "holiday_dip", "quiet",
         "bursty")
NOT_INCIDENTS = ("bump", "holiday_dip", "quiet", "bursty")
HOURS_AFTER = 24  # a firing this long after an incident's end still counts as catching it
# ... and one this many hours before its start (the longest window tested), if the incident it opened runs into it:
# the count's noise can clear the rules an hour before the injected rise, and the team is told of it all the same.
HOURS_BEFORE = 3


@dataclass
class Synthetic:
    kind: str
    counts: np.ndarray
    negatives: np.ndarray
    incidents: list[tuple[int, int]] = field(default_factory=list)  # (start, end) hours, end exclusive
    excused: list[tuple[int, int]] = field(default_factory=list)  # spans where a firing is neither caught nor false


MIN_EXCESS = 10  # an incident brings at least this many extra mentions: below it nobody calls it one


def inject(mu: np.ndarray, start: int, end: int, factor: float) -> None:
    """Multiply the rate by `factor` over [start, end), with at least MIN_EXCESS extra mentions in all."""
    extra = mu[start:end] * (factor - 1)
    mu[start:end] += extra * max(1.0, MIN_EXCESS / extra.sum())


def make_series(rng: np.random.Generator, kind: str, days: int) -> Synthetic:
    hours = np.arange(days * 24)
    rate = rng.uniform(0.05, 0.5) if kind == "near_zero" else np.exp(rng.uniform(np.log(0.5), np.log(60)))
    weekend = rng.uniform(0.3, 0.9)
    rhythm = (1 + 0.7 * np.sin(2 * np.pi * ((hours % 24) - 8) / 24)) * np.where((hours // 24) % 7 >= 5, weekend, 1.0)
    mu = rate * rhythm
    share = np.full(len(hours), 0.10)
    start = int(rng.integers(30 * 24, (days - 5) * 24))
    spans: list[tuple[int, int]] = []
    excused: list[tuple[int, int]] = []
    if kind == "burst":
        end = start + int(rng.integers(2, 9))
        inject(mu, start, end, rng.uniform(3, 8))
        spans.append((start, end))
    elif kind in ("repeated", "first_week"):
        if kind == "first_week":
            start = int(rng.integers(24, 6 * 24))
        starts = (start, start + 48) if kind == "repeated" else (start,)
        for s in starts:
            e = s + int(rng.integers(2, 7))
            inject(mu, s, e, rng.uniform(4, 10))
            spans.append((s, e))
    elif kind == "near_zero":
        end = start + int(rng.integers(1, 4))
        mu[start:end] = rng.uniform(10, 20)
        spans.append((start, end))
    elif kind == "ramp":
        length = int(rng.integers(24, 49))
        end = start + 2 * length
        mu[start:end] *= np.concatenate([np.linspace(1, 3, length), np.linspace(3, 1, length)])
        spans.append((start, end))
    elif kind == "share":
        end = start + 12
        share[start:end] = 0.35
        spans.append((start, end))
    elif kind == "bump":
        mu[start:start + 3] *= 1.5
    elif kind == "level_shift":
        mu[start:] *= 2.0
        excused.append((start, start + 24))
    elif kind == "holiday_dip":
        day = start // 24 * 24
        mu[day:day + 24] *= 0.2
    if kind == "bursty":  # heavier tails than the detector's model: each day its own level, each hour its burst
        day_c2, hour_c2 = rng.uniform(0.03, 0.15), rng.uniform(0.05, 0.3)
        mu = mu * rng.gamma(1 / day_c2, day_c2, days).repeat(24)
        counts = rng.poisson(rng.gamma(1 / hour_c2, hour_c2 * mu)).astype(float)
    else:
        dispersion = rng.uniform(0.02, 0.15)  # variance = mu + c^2 mu^2
        r = 1 / dispersion
        counts = rng.negative_binomial(r, r / (r + mu)).astype(float)
    negatives = rng.binomial(counts.astype(int), share).astype(float)
    return Synthetic(kind, counts, negatives, spans, excused)


FIRST_WEEK_HOURS = 7 * 24  # a new series' first week: its false alarms are reported apart as well


def per_60_days(count: float, days: float) -> float:
    """A count over `days` quiet days as a rate per 60 (NaN where there were none)."""
    return 60 * count / days if days else float("nan")


def evaluate(series: list[Synthetic], params: SpikeParams | None = None,
             missed: list[Event] | None = None) -> dict[str, dict[str, float]]:
    """Per kind: recall, lead, false alarms. Each missed volume incident is added to `missed`, with its
    biggest hour against the detector's expectation (a share shift has no volume to size)."""
    out: dict[str, dict[str, list]] = {k: {"caught": [], "lead": [], "false": [], "quiet_days": [],
                                           "first_week_false": [], "first_week_quiet_days": []} for k in KINDS}
    for s in series:
        detection = (detect_share_shift(s.negatives, s.counts, 3600) if s.kind == "share"
                     else detect_spikes(s.counts, 3600, params))
        fired = np.flatnonzero(detection.fired)
        measured = s.negatives if s.kind == "share" else s.counts  # what the detector read (as brand_incidents)
        grid = Hours.on_grid(measured, detection.expected, 3600, found=incidents(measured, detection))
        hours = None if s.kind == "share" else grid  # a share shift has no volume to size a miss by
        covered = np.zeros(len(s.counts), dtype=bool)  # hours where a firing is not a false alarm
        for k, (start, end) in enumerate(s.incidents):
            until = min(end + HOURS_AFTER, s.incidents[k + 1][0] if k + 1 < len(s.incidents) else len(s.counts))
            # An alert on the onset, just before the injected start, whose incident runs into it caught it.
            onset = (fired >= start - HOURS_BEFORE) & (fired < start) & (grid.reach[fired] >= start)
            covered[fired[onset]] = True
            hit = onset | ((fired >= start) & (fired < until))
            out[s.kind]["caught"].append(bool(hit.any()))
            if not hit.any() and hours is not None and missed is not None:
                missed.append(hours.biggest("missed", start, end))
            if hit.any():
                out[s.kind]["lead"].append(int(fired[hit][0]) - start)
            covered[start:until] = True
        for start, end in s.excused:
            covered[start:end] = True
        false = fired[~covered[fired]]
        quiet = ~covered
        out[s.kind]["false"].append(len(false))
        out[s.kind]["quiet_days"].append(quiet.sum() / 24)
        out[s.kind]["first_week_false"].append(int((false < FIRST_WEEK_HOURS).sum()))
        out[s.kind]["first_week_quiet_days"].append(quiet[:FIRST_WEEK_HOURS].sum() / 24)
    summary = {}
    for kind, r in out.items():
        quiet_days = sum(r["quiet_days"])
        summary[kind] = {
            "series": len(r["false"]),
            "incidents": len(r["caught"]),
            "recall": statistics.mean(r["caught"]) if r["caught"] else float("nan"),
            "median_lead_h": statistics.median(r["lead"]) if r["lead"] else float("nan"),
            "false_alarms": sum(r["false"]),
            "quiet_days": quiet_days,
            "false_per_60_days": per_60_days(sum(r["false"]), quiet_days),
            "first_week_false_alarms": sum(r["first_week_false"]),
            "first_week_quiet_days": sum(r["first_week_quiet_days"]),
        }
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.synthetic", description=__doc__.splitlines()[0])
    p.add_argument("--series", type=int, default=100, help="series per kind")
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--seed", type=int, default=1)
    add_detector_options(p)
    args = p.parse_args(argv)
    if args.days < 36:
        p.error("--days must be at least 36: incidents are placed after a month of history")
    rng = np.random.default_rng(args.seed)
    series = [make_series(rng, kind, args.days) for kind in KINDS for _ in range(args.series)]
    params = detector_params(args)
    missed: list[Event] = []
    summary = evaluate(series, params, missed)
    print(f"{len(series)} synthetic series of {args.days} days (hourly), seed {args.seed}, sensitivity {args.sensitivity}")
    print(f"{'kind':12s} {'incidents':>9s} {'recall':>7s} {'median lead (h)':>16s} {'false alarms':>13s} "
          f"{'per 60 quiet days':>18s}")
    for kind, r in summary.items():
        print(f"{kind:12s} {r['incidents']:9d} {r['recall']:7.2f} {r['median_lead_h']:16.1f} {r['false_alarms']:13d} "
              f"{r['false_per_60_days']:18.2f}")
    real = [k for k in KINDS if summary[k]["incidents"]]
    caught = sum(summary[k]["recall"] * summary[k]["incidents"] for k in real)
    false = sum(r["false_alarms"] for r in summary.values())
    quiet_days = sum(r["quiet_days"] for r in summary.values())
    early = sum(r["first_week_false_alarms"] for r in summary.values())
    early_days = sum(r["first_week_quiet_days"] for r in summary.values())
    print(f"in a series' first week: false alarms {per_60_days(early, early_days):.2f} per series per 60 quiet days, "
          f"{per_60_days(false - early, quiet_days - early_days):.2f} after it")
    b = summary["bursty"]
    print(f"bursty series alone: first week {per_60_days(b['first_week_false_alarms'], b['first_week_quiet_days']):.2f}, "
          f"after it {per_60_days(b['false_alarms'] - b['first_week_false_alarms'], b['quiet_days'] - b['first_week_quiet_days']):.2f}"
          " per series per 60 quiet days")
    print(f"overall: recall {caught / sum(summary[k]['incidents'] for k in real):.2f} over "
          f"{sum(summary[k]['incidents'] for k in real)} incidents, "
          f"false alarms {per_60_days(false, quiet_days):.2f} per series per 60 quiet days")
    print(big_misses_line(missed))
    # Near-empty hours make big ratios of a handful of mentions (4 against 0.4 is 10x): say how many were more,
    # by the detector's own minimum size of an incident and by the size that alerts whatever the spread.
    for excess in (params.min_excess, params.big_excess):
        sizable = [m for m in missed if m.ratio >= BIG_MISS_RATIO and m.observed - m.expected >= excess]
        print(f"  of which {excess:g} mentions or more above the expectation: {len(sizable)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
