"""`repwatch backtest`: replay stored history causally and show what each sensitivity would have alerted.

The detectors are causal, so one pass over the stored series gives exactly
the decision each nightly run would have made at each bucket. Nothing is
written: the database is opened read-only.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

from analysis.detection import spikes
from analysis import store
from analysis import clock
from flows.config import load_config
from flows.nightly import parse_when

SENSITIVITIES = ("low", "medium", "high")


def backtest_rows(con: store.Connection, brands: Sequence[str], since: datetime, until: datetime, bucket: int,
                  history_days: int, sensitivities: Sequence[str]) -> list[dict]:
    """Per brand, metric and sensitivity: the incidents whose alert would have fired in [since, until)."""
    origin = since - timedelta(days=history_days)
    rows = []
    for brand in brands:
        series = store.bucket_series(con, brand, origin, until, bucket)
        for sensitivity in sensitivities:
            found = spikes.brand_incidents(series, bucket, spikes.with_sensitivity(sensitivity))
            for metric in spikes.METRICS:
                # An alert is known at the end of the bucket that raised it.
                fired = [spikes.bucket_start(origin, i.fired + 1, bucket) for i in found[metric]]
                fired = [(t, i) for t, i in zip(fired, found[metric]) if since <= t < until]
                rows.append({"brand": brand, "metric": metric, "sensitivity": sensitivity,
                             "alerts": [{"at": t, "severity": i.severity, "observed": i.observed,
                                         "expected": i.expected} for t, i in fired]})
    return rows


def run_backtest(config_path: str, since: str, until: str | None, sensitivities: Sequence[str] | None) -> int:
    config = load_config(config_path)
    tz = config.tz
    start = parse_when(since, tz)
    end = parse_when(until, tz) or clock.now().replace(minute=0, second=0, microsecond=0)
    if start is None or start >= end:
        raise ValueError("--since must be a date before --until")
    bucket = config.detection.bucket_seconds
    with store.connection(config.database, read_only=True) as con:
        rows = backtest_rows(con, [b.name for b in config.brands], start, end, bucket,
                             config.detection.history_days, sensitivities or SENSITIVITIES)
    days = (end - start).total_seconds() / 86400
    print(f"Backtest {start.astimezone(tz):%Y-%m-%d %H:%M} -> {end.astimezone(tz):%Y-%m-%d %H:%M} ({config.timezone}), "
          f"{days:.0f} days, {config.detection.bucket}ly buckets; current setting: {config.detection.sensitivity}")
    print(f"{'brand':20s} {'metric':15s} " + " ".join(f"{s:>7s}" for s in (sensitivities or SENSITIVITIES)))
    by_key: dict[tuple[str, str], dict[str, list]] = {}
    for r in rows:
        by_key.setdefault((r["brand"], r["metric"]), {})[r["sensitivity"]] = r["alerts"]
    for (brand, metric), per in by_key.items():
        print(f"{brand:20s} {metric:15s} " + " ".join(f"{len(per[s]):7d}" for s in per))
    print("\nWhen they would have fired:")
    for r in rows:
        for a in r["alerts"]:
            print(f"  [{r['sensitivity']:6s}] {a['at'].astimezone(tz):%a %Y-%m-%d %H:%M}  {r['brand']} {r['metric']}: "
                  f"{a['observed']:.1f} vs {a['expected']:.1f} expected ({a['severity']})")
    return 0
