"""Detector precision, recall and lead time on synthetic series with injected incidents.

    python -m benchmarks.synthetic [--series 200] [--days 90] [--seed 1]

Each series: hourly negative-binomial counts with a daily and weekly rhythm,
a base rate drawn from 0.3 to 60 mentions an hour, and at most one incident
after day 30 of a known start, size and shape:
- burst: x3 to x8 for 2 to 8 hours;
- ramp: rising linearly to x3 over 24 to 48 hours, then back;
- bump: x1.5 for 3 hours (should mostly NOT fire: it is within normal wobble);
- share: the negative share goes from 10% to 35% for 12 hours, volume unchanged
  (caught by the share test, not the volume test);
- none: no incident (every firing is a false alarm).
An incident counts as caught when its detector fires between its start and 24
hours after its end; lead time is hours from the start to that firing. Every
other firing is a false alarm.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass

import numpy as np

from analysis.spikes import detect_share_shift, detect_spikes

KINDS = ("burst", "ramp", "bump", "share", "none")


@dataclass
class Synthetic:
    kind: str
    counts: np.ndarray
    negatives: np.ndarray
    start: int
    end: int


def make_series(rng: np.random.Generator, kind: str, days: int) -> Synthetic:
    hours = np.arange(days * 24)
    rate = rng.uniform(0.3, 60)
    rhythm = (1 + 0.7 * np.sin(2 * np.pi * ((hours % 24) - 8) / 24)) * np.where((hours // 24) % 7 >= 5, 0.7, 1.1)
    mu = rate * rhythm
    share = np.full(len(hours), 0.10)
    start = int(rng.integers(30 * 24, (days - 3) * 24))
    end = start
    if kind == "burst":
        end = start + int(rng.integers(2, 9))
        mu[start:end] *= rng.uniform(3, 8)
    elif kind == "ramp":
        length = int(rng.integers(24, 49))
        end = start + 2 * length
        factor = np.concatenate([np.linspace(1, 3, length), np.linspace(3, 1, length)])
        mu[start:end] *= factor
    elif kind == "bump":
        end = start + 3
        mu[start:end] *= 1.5
    elif kind == "share":
        end = start + 12
        share[start:end] = 0.35
    dispersion = 0.05  # variance = mu + 0.05 mu^2
    r = 1 / dispersion
    counts = rng.negative_binomial(r, r / (r + mu)).astype(float)
    negatives = rng.binomial(counts.astype(int), share).astype(float)
    return Synthetic(kind, counts, negatives, start, end)


def evaluate(series: list[Synthetic]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, list]] = {k: {"caught": [], "lead": [], "false": [], "fires": []} for k in KINDS}
    for s in series:
        if s.kind == "share":
            fired = detect_share_shift(s.negatives, s.counts, 3600).fired
        else:
            fired = detect_spikes(s.counts, 3600).fired
        idx = np.flatnonzero(fired)
        hit = [i for i in idx if s.start <= i <= s.end + 24] if s.kind != "none" else []
        out[s.kind]["caught"].append(bool(hit))
        if hit:
            out[s.kind]["lead"].append(hit[0] - s.start)
        out[s.kind]["false"].append(len(idx) - (1 if hit else 0))
        out[s.kind]["fires"].append(len(idx))
    summary = {}
    for kind, r in out.items():
        fires = sum(r["fires"])
        true_fires = sum(r["caught"]) if kind != "none" else 0
        summary[kind] = {
            "series": len(r["caught"]),
            "recall": statistics.mean(r["caught"]) if kind != "none" and r["caught"] else float("nan"),
            "precision": true_fires / fires if fires else float("nan"),
            "median_lead_h": statistics.median(r["lead"]) if r["lead"] else float("nan"),
            "false_alarms": sum(r["false"]),
        }
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.synthetic")
    p.add_argument("--series", type=int, default=200, help="series per kind")
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    series = [make_series(rng, kind, args.days) for kind in KINDS for _ in range(args.series)]
    summary = evaluate(series)
    series_months = len(series) * args.days / 30
    print(f"{len(series)} synthetic series of {args.days} days (hourly), seed {args.seed}")
    print(f"{'kind':8s} {'recall':>7s} {'precision':>10s} {'median lead (h)':>16s} {'false alarms':>13s}")
    for kind, r in summary.items():
        print(f"{kind:8s} {r['recall']:7.2f} {r['precision']:10.2f} {r['median_lead_h']:16.1f} {r['false_alarms']:13d}")
    real = [k for k in KINDS if k not in ("bump", "none")]
    caught = sum(summary[k]["recall"] * summary[k]["series"] for k in real)
    fires = caught + sum(summary[k]["false_alarms"] for k in KINDS) + summary["bump"]["recall"] * summary["bump"]["series"]
    print(f"overall (burst, ramp, share): recall {caught / sum(summary[k]['series'] for k in real):.2f}, "
          f"precision {caught / fires if fires else float('nan'):.2f}, "
          f"false alarms per series-month {sum(summary[k]['false_alarms'] for k in KINDS) / series_months:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
