"""Causal spike detection on count series (mentions, negative mentions per bucket).

This module holds the detector's one pass over a series; its settings are in
`spike_params`, and its other parts live beside it: the expectation in `spike_baseline`, the spread
and the false-alarm budget in `spike_calibration`, incidents (extent, size,
severity) in `incidents`, share and rating shifts in `shifts`. Callers
import all of it from here.

Pure functions over numpy arrays. At bucket i only buckets 0..i are read, as a
nightly run would see them, so appending the future never changes a past
decision.

The model, for each test window (the bucket's last hour and last three hours):
- expected: the mean of the same window at the same time of day over the
  previous week (and its neighbours), its top fifth capped (beyond count
  noise) so that a past incident does not inflate it, each day scaled by how
  busy its day of the week usually is (once two weeks show it: quiet
  weekends; damped where the counts are too few to show it); in the first
  days, before there is a week, whatever days there are, and before a day,
  the recent level;
- spread: negative binomial, with an over-dispersion pooled over the last
  week (the median squared residual, scaled to a mean, less what a baseline
  of only a few days adds to it), widened by the current baseline's own
  error (a prediction from k days: 1 + 1/k); before a day of such residuals,
  the spread of the windows seen so far against the recent level;
- surprise: -log10 of the window's tail probability under that.

Which surprise is an incident comes from principles a user can read, not from
fitting labelled data:
- a minimum size: at least `min_ratio` times and `min_excess` mentions above
  what was expected (2 reviews instead of 1 is no crisis); twice that ratio on
  a new series' first day, the margin shrinking to none once its baseline
  holds a week (an expectation read from a few days is itself rough);
- a size that always alerts: an hour at `big_ratio` (eight) times its
  expectation and `big_excess` mentions above it, however wide the series'
  spread (a bursty series' band must not hide a rise nobody calls ordinary);
- a false-alarm budget: real series have heavier tails than any model, so the
  threshold is what this series' own ordinary days exceed about
  `false_alarms_per_month` times a month (a robust Gumbel fit of its daily
  peaks over four weeks, so a few incidents among them barely move it, and
  trusted in proportion to how many of those weeks there are), never below
  what the model alone would allow for that budget; over the first
  `warmup_days`, with a margin that keeps a new series' first week within the
  same budget;
- one incident, one alert: an incident lasts while its last three hours (the
  longest window tested) are above the series' ordinary band (above half the
  rise that opened it, and more than the series' own spread makes likely, at
  5%), or the last day is (a stretch of days at two or three times the usual
  level is one incident, its quiet nights included); it is over at the first
  hour where they are back within it, and a rise after that is a new incident,
  however soon it comes. So is a rise inside an open incident to
  `escalation_factor` times its first hour or its recent hours' busiest.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import numpy as np

from analysis.detection.incidents import Detection, Incident, Rebursts, bucket_start, episode_starts, incidents, severity_for
from analysis.detection.shifts import ShiftParams, detect_rating_drop, detect_share_shift
from analysis.detection.baseline import (
    DAY, HOUR, WEEK, baseline_days, seasonal_baseline, trailing_level, weekday_factors, window_sums, _shifted,
)
from analysis.detection.calibration import budget_threshold, pooled_dispersion, tail_probability, warmup_dispersion
from analysis.detection.params import SENSITIVITY, SpikeParams, with_sensitivity

# What callers import from here: the detector's whole surface in one place.
__all__ = [
    "DAY", "HOUR", "WEEK", "Detection", "Incident", "METRICS", "SENSITIVITY", "ShiftParams", "SpikeParams",
    "baseline_days", "brand_incidents", "bucket_start", "detect_rating_drop", "detect_share_shift", "detect_spikes",
    "detect_spikes_many", "incidents", "pooled_dispersion", "seasonal_baseline", "severity_for", "tail_probability",
    "window_sums", "with_sensitivity",
]


def _periodicity(bucket_seconds: int) -> tuple[int, int, int]:
    """(buckets per season, seasons of baseline, buckets per dispersion step)."""
    if bucket_seconds >= DAY:
        return max(1, WEEK // bucket_seconds), 4, 1
    return max(1, DAY // bucket_seconds), 0, max(1, DAY // bucket_seconds)


STILL_UP_PVALUE = 0.05  # an incident goes on while its windows stay above half its rise at this significance

WARMUP_DISPERSION = 0.3  # before a day of history: at least this spread (sd 55% of the mean), more if seen


def _tiled(base_expected: np.ndarray, base: int, width: int) -> np.ndarray:
    """A `width`-bucket window's expectation: the sum of the `base`-bucket windows that tile it (NaN until
    they all exist), scaled where they overhang it."""
    offsets = range(0, width, base)  # newest first
    if base == 1 and width > 8:  # many one-bucket tiles (a day of hours): running sums, not a sum of shifts
        tiled = window_sums(np.nan_to_num(base_expected), width)
        gaps = window_sums(np.isnan(base_expected).astype(np.float64), width)
        tiled[(gaps > 0) | (np.arange(len(tiled)) < width - 1)] = np.nan
        return tiled
    return sum(_shifted(base_expected, o) for o in offsets) * (width / (base * len(offsets)))


def _block_peaks(values: np.ndarray, block: int) -> np.ndarray:
    """Where each run of `block` buckets (a day) has its largest value (its first, on a tie)."""
    n = len(values)
    blocks = -(-n // block)
    padded = np.full(blocks * block, -np.inf)
    padded[:n] = values
    peaks = np.zeros(blocks * block, dtype=bool)
    peaks[np.arange(blocks) * block + np.argmax(padded.reshape(blocks, block), axis=1)] = True
    return peaks[:n]


def detect_spikes(counts: np.ndarray, bucket_seconds: int, params: SpikeParams | None = None) -> Detection:
    """One causal pass: which buckets are anomalous, and which start an incident."""
    p = params or SpikeParams()
    x = np.asarray(counts, dtype=np.float64)
    n = len(x)
    period, weekly_periods, step = _periodicity(bucket_seconds)
    periods = weekly_periods or p.baseline_days
    span_steps = 28 if bucket_seconds >= DAY else p.dispersion_days
    widths = sorted({max(1, round(w / bucket_seconds)) for w in p.window_seconds})

    best_p, best_w = np.ones(n), np.full(n, widths[0])
    # The seasonal median is taken once, for the shortest window; a longer window
    # expects the sum of the shorter ones it spans (NaN until they all exist).
    base = widths[0]
    base_sums = window_sums(x, base)
    factor = weekday_factors(x, period) if bucket_seconds < DAY else None  # daily buckets: the baseline is weekly already
    neighbour = base if period > 1 else 0
    base_expected = seasonal_baseline(base_sums, period, periods, neighbour=neighbour, factor=factor)
    days = baseline_days(n, period, periods, neighbour=neighbour)
    # A prediction from `days` days errs by the baseline's own error too: (1 + 1/days) the day-to-day spread.
    baseline_error = 1.0 + 1.0 / days
    short = np.isnan(base_expected)  # only the first buckets: a seasonal baseline needs a day of history
    first_seasonal = int(np.flatnonzero(short)[-1]) + 1 if short.any() else 0
    if short.any():  # the first days: the recent level, without time of day
        level = trailing_level(base_sums[:first_seasonal], base, period)
        base_expected[: len(level)] = np.where(short[: len(level)], level, base_expected[: len(level)])
    expected_single = base_expected / base
    # The size a rise needs: `min_ratio` once the baseline holds all its periods, more before (see params).
    young = np.clip((periods - days) / max(periods - 1, 1), 0.0, 1.0)
    ratio_needed = p.min_ratio * (1.0 + (p.first_day_ratio_factor - 1.0) * young)
    rules_any = np.zeros(n, dtype=bool)
    big = np.zeros(n, dtype=bool)  # the hour is so far above its expectation that it alerts whatever the spread
    best_any = np.ones(n)
    still_up = np.zeros(n, dtype=bool)
    band_up = np.zeros(n, dtype=bool)  # the last few hours (the longest window) above the ordinary band
    above_normal = np.zeros(n, dtype=bool)  # ... above their expectation at all
    half_rise = 1 + (p.min_ratio - 1) / 2  # hysteresis: an incident lasts until back under half the rise
    block = max(1, DAY // bucket_seconds)  # buckets per calibration block (a day, or one daily bucket)
    for width in widths:
        sums = window_sums(x, width)
        offsets = range(0, width, base)  # the base windows that tile this one, newest first
        expected = _tiled(base_expected, base, width)
        # The first day's recent-level expectation ignores time of day: its residuals are not the
        # spread of the seasonal model used afterwards.
        c2 = pooled_dispersion(sums, expected, step, span_steps, first_usable=first_seasonal + offsets[-1],
                               baseline_days=days)
        c2 = c2 * baseline_error
        early = int(np.isnan(c2).sum())  # a prefix, the first day or two: no residuals of the seasonal model yet
        c2[:early] = warmup_dispersion(sums[:early], expected[:early], max(1, HOUR // bucket_seconds),
                                       WARMUP_DISPERSION)
        known = ~np.isnan(expected)
        mu = np.maximum(np.nan_to_num(expected, nan=np.inf), 0.5)
        rules = known & (sums >= ratio_needed * mu) & (sums - mu >= p.min_excess)
        half_up = known & (sums >= half_rise * mu)  # above half the rise the rules ask for
        if width == widths[0]:
            big = known & (sums >= p.big_ratio * mu) & (sums - mu >= p.big_excess)
        # Not only the rises that pass the rules are scored: the calibration reads how surprising this
        # series' ordinary days are (their peaks), where the model's tails are too thin. A day's peak is
        # taken at its rise of most standard deviations (more than one); the rules' rises and those that
        # may keep an incident open are scored too. (The rest stay at p = 1: a tail probability is the
        # detector's costliest step.)
        sd = np.sqrt(mu + c2 * mu**2)
        with np.errstate(invalid="ignore"):
            rise_sd = np.where(known & (sums - mu > sd), (sums - mu) / sd, -np.inf)
        above = (_block_peaks(rise_sd, block) | rules | half_up) & (rise_sd > 1)
        pv = np.ones(n)
        if above.any():
            pv[above] = tail_probability(sums[above], mu[above], c2[above])
        pv = np.minimum(1.0, pv * len(widths))  # Bonferroni over the windows tried
        pv_rules = np.where(rules, pv, 1.0)
        better = pv_rules < best_p
        best_p[better], best_w[better] = pv_rules[better], width
        best_any = np.minimum(best_any, pv)
        rules_any |= rules
        # Hysteresis: an incident lasts until the volume is back under half the rise that opened it.
        up = half_up & (sums - mu >= p.min_excess / 2)
        still_up |= up
        if width == widths[-1]:
            # Above the band: more than the series' usual spread allows (its own over-dispersion, so a bursty
            # series has a wider band), and not by chance; the raw tail probability, not the Bonferroni one.
            band_up = up & (pv / len(widths) < STILL_UP_PVALUE)
            # Clearly above its expectation: by half a standard deviation, and by half the minimum volume.
            above_normal = known & (sums - mu > 0.5 * sd) & (sums - mu >= p.min_excess / 2)

    # A stretch of days at two or three times the usual level is one incident, not one a day: its nights
    # are too few mentions to stay significant hour by hour. It goes on while the last day is up by the same
    # rule (above half the opening rise, and not by chance), counted so that a burst cannot hold it up,
    # and its last three hours are still above normal.
    long_up = np.zeros(n, dtype=bool)
    day = DAY // bucket_seconds
    if bucket_seconds < DAY and day > widths[-1]:
        # Each bucket counts up to twice what was expected of it (and one more): an hour-long burst then
        # cannot hold the day up and keep its incident open through the next one.
        capped = np.minimum(x, np.nan_to_num(p.min_ratio * expected_single, nan=np.inf) + 1.0)
        day_sums = window_sums(capped, day)
        day_expected = _tiled(base_expected, base, day)
        day_known = ~np.isnan(day_expected)
        day_mu = np.maximum(np.nan_to_num(day_expected, nan=np.inf), 0.5)
        day_rise = day_known & (day_sums >= half_rise * day_mu) & (day_sums - day_mu >= p.min_excess / 2)
        day_p = np.ones(n)
        if day_rise.any():  # the longest window's spread: neighbouring hours move together, so it carries over
            day_p[day_rise] = tail_probability(day_sums[day_rise], day_mu[day_rise], c2[day_rise])
        long_up = day_rise & (day_p < STILL_UP_PVALUE) & above_normal  # and the last hours above normal
    surprise = -np.log10(np.maximum(best_p, 1e-300))
    block_days = block * bucket_seconds / DAY
    # The budget, were the model exact: a month holds this many separate shortest windows (overlapping
    # windows ending at each bucket are not separate chances to alert).
    windows_per_month = 30 * block / block_days / widths[0]
    floor = float(np.log10(windows_per_month / p.false_alarms_per_month))
    threshold = budget_threshold(-np.log10(np.maximum(best_any, 1e-300)), block,
                                 blocks_per_alarm=30 / block_days / p.false_alarms_per_month,
                                 calibration_blocks=max(3, int(p.calibration_days / block_days)),
                                 warmup_blocks=max(1, int(p.warmup_days / block_days)), floor=floor)
    hot = (rules_any & (surprise > threshold)) | big
    elevated = hot | (still_up & (surprise > floor)) | long_up
    # Back to normal: the last few hours are within the band, and no longer up by the day rule.
    calm = ~(band_up | long_up | hot)
    fired = episode_starts(hot, ~calm, level=base_sums, escalation=p.escalation_factor,
                           rebursts=Rebursts(base_sums, base_expected, p.reburst_factor, base, widths[-1]))
    return Detection(expected=np.nan_to_num(expected_single, nan=0.0), pvalue=best_p, anomalous=elevated,
                     fired=fired, window=best_w, threshold=threshold, calm=calm)


def detect_spikes_many(series: Sequence[np.ndarray], bucket_seconds: int, params: SpikeParams | None = None,
                       workers: int | None = None) -> list[Detection]:
    """`detect_spikes` over several series, on up to `workers` threads (default: one per core).

    Threads, not processes: numpy's sorts and array arithmetic release the
    GIL, so the series share the cores without copying them to other processes.
    """
    workers = min(len(series), workers or os.cpu_count() or 1)
    if workers <= 1:
        return [detect_spikes(s, bucket_seconds, params) for s in series]
    with ThreadPoolExecutor(workers, thread_name_prefix="detect") as pool:
        return list(pool.map(lambda s: detect_spikes(s, bucket_seconds, params), series))


METRICS = ("mentions", "negative", "negative_share", "rating")


def brand_incidents(series: dict[str, np.ndarray], bucket_seconds: int, params: SpikeParams | None = None,
                    shift: ShiftParams | None = None) -> dict[str, list[Incident]]:
    """Every detector over one brand's series (count, negative, rating_sum, rated), as incidents per metric.

    A negative burst or share shift inside a volume spike is the same incident:
    it is left to the volume spike, so one incident is one alert.
    """
    params = params or SpikeParams()
    volume, negative = detect_spikes_many([series["count"], series["negative"]], bucket_seconds, params)
    share = detect_share_shift(series["negative"], series["count"], bucket_seconds, shift)
    rating = detect_rating_drop(series["rating_sum"], series["rated"], bucket_seconds, shift)
    found = {
        "mentions": incidents(series["count"], volume),
        "negative": incidents(series["negative"], negative),
        "negative_share": incidents(series["negative"], share),
        "rating": incidents(series["rated"], rating),
    }
    for metric in ("negative", "negative_share"):
        found[metric] = [i for i in found[metric] if not any(i.overlaps(v) for v in found["mentions"])]
    return found
