"""Causal spike detection on count series (mentions, negative mentions per bucket).

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
  error (a prediction from k days: 1 + 1/k);
- surprise: -log10 of the window's tail probability under that.

Which surprise is an incident comes from principles a user can read, not from
fitting labelled data:
- a minimum size: at least `min_ratio` times and `min_excess` mentions above
  what was expected (2 reviews instead of 1 is no crisis);
- a false-alarm budget: real series have heavier tails than any model, so the
  threshold is what this series' own ordinary days exceed about
  `false_alarms_per_month` times a month (a robust Gumbel fit of its daily
  peaks over four weeks, so a few incidents among them barely move it, and
  trusted in proportion to how many of those weeks there are), never below
  what the model alone would allow for that budget; over the first
  `warmup_days`, with a margin that keeps a new series' first week within the
  same budget;
- one incident, one alert: an incident lasts while the volume stays up (above
  half the rise that opened it, and not by chance) and ends after
  `quiet_seconds` back down; a new rise after that is a new incident, however
  soon it comes.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import special

HOUR = 3600
DAY = 86400
WEEK = 7 * DAY


@dataclass(frozen=True)
class SpikeParams:
    false_alarms_per_month: float = 0.5  # budget: how often a quiet series may alert, per series
    min_ratio: float = 2.0  # an incident is at least this many times the expected volume ...
    min_excess: float = 5.0  # ... and at least this many mentions above it
    window_seconds: tuple[int, ...] = (HOUR, 3 * HOUR)  # spans tested, ending at each bucket
    baseline_days: int = 7  # same time of day over this many previous days
    dispersion_days: int = 7  # over-dispersion pooled over this many previous days
    calibration_days: int = 28  # the series' own daily surprise peaks, fitted over this many days
    # The first days' threshold carries a margin (x2 on day one, none after this many days) for a
    # calibration read from few days; the baseline's own few days are in the spread already. Three
    # days is the shortest that keeps a new series' first week within the false-alarm budget on
    # both seeds of benchmarks.synthetic (0.72 and 0.61 per 60 quiet days against 1; two days: 1.06).
    warmup_days: int = 3
    quiet_seconds: int = 3 * HOUR  # back to normal this long: the incident is over, a new rise is new


SENSITIVITY: dict[str, SpikeParams] = {
    "low": SpikeParams(false_alarms_per_month=0.2, min_ratio=3.0, min_excess=10.0),
    "medium": SpikeParams(),
    "high": SpikeParams(false_alarms_per_month=2.0, min_ratio=1.5, min_excess=3.0),
}


@dataclass
class Detection:
    """Per-bucket results of one causal pass over a series."""

    expected: np.ndarray  # baseline for the bucket alone
    pvalue: np.ndarray  # smallest tail probability over the test windows (Bonferroni-corrected)
    anomalous: np.ndarray  # bucket clears the statistical rules (an incident's extent)
    fired: np.ndarray  # first anomalous bucket of an incident: what alerts
    window: np.ndarray  # buckets in the test window that was most significant
    threshold: np.ndarray | None = None  # surprise (-log10 p) a bucket had to exceed to start an incident


@dataclass(frozen=True)
class Incident:
    start: int  # first bucket of the window that fired
    end: int  # last anomalous bucket
    peak: int
    observed: float  # mentions over start..end
    expected: float
    pvalue: float
    ongoing: bool  # the incident's last anomalous bucket is among the series' last few
    fired: int = -1  # the bucket whose verdict raised the alert

    @property
    def severity(self) -> str:
        return severity_for(self.pvalue, self.observed, self.expected)

    def overlaps(self, other: "Incident") -> bool:
        return self.start <= other.end and other.start <= self.end


def _shifted(x: np.ndarray, lag: int) -> np.ndarray:
    """x delayed by `lag` buckets (NaN where there is no past); lag 0 is x itself."""
    if lag == 0:
        return x
    out = np.full(len(x), np.nan)
    if lag < len(x):
        out[lag:] = x[: len(x) - lag]
    return out


def window_sums(x: np.ndarray, width: int) -> np.ndarray:
    """Sum of the `width` buckets ending at each bucket (fewer at the start)."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(len(x))
    return c[i + 1] - c[np.maximum(0, i - width + 1)]


def _row_quantiles(rows: np.ndarray, qs: tuple[float, ...], min_count: int = 1) -> np.ndarray:
    """Quantiles (numpy's default, linear) of each row ignoring NaN, a column per q; NaN under `min_count` values."""
    ordered = np.sort(np.where(np.isnan(rows), np.inf, rows), axis=1)
    count = np.isfinite(ordered).sum(axis=1, keepdims=True)
    last = np.maximum(count - 1, 0)  # index of each row's largest value
    at = np.asarray(qs) * last
    lo = np.floor(at).astype(int)
    hi = np.minimum(lo + 1, last)
    r = np.arange(len(rows))[:, None]
    with np.errstate(invalid="ignore"):
        q = ordered[r, lo] + (at - lo) * (ordered[r, hi] - ordered[r, lo])
    return np.where(count >= max(min_count, 1), q, np.nan)


def _row_medians(rows: np.ndarray, min_count: int = 1) -> np.ndarray:
    """Median of each row ignoring NaN (NaN where fewer than `min_count` values), vectorised.

    The rows without a NaN (usually all but a history's first and last ones)
    take a plain sort; the others the general quantile.
    """
    gaps = np.isnan(rows).any(axis=1)
    out = np.full(len(rows), np.nan)
    m = rows.shape[1]
    if m >= max(min_count, 1) and not gaps.all():
        ordered = np.sort(rows[~gaps], axis=1)
        out[~gaps] = (ordered[:, (m - 1) // 2] + ordered[:, m // 2]) / 2
    if gaps.any():
        out[gaps] = _row_quantiles(rows[gaps], (0.5,), min_count)[:, 0]
    return out


def _row_capped_means(rows: np.ndarray, cap_quantile: float, min_count: int) -> np.ndarray:
    """Mean of each row with values above its `cap_quantile` lowered to it, ignoring NaN; NaN under `min_count`."""
    ordered = np.sort(np.where(np.isnan(rows), np.inf, rows), axis=1)
    count = np.isfinite(ordered).sum(axis=1)
    r = np.arange(len(rows))
    cap = _count_cap(ordered[r, np.floor(cap_quantile * np.maximum(count - 1, 0)).astype(int)])
    capped = np.where(np.isfinite(ordered), np.minimum(ordered, cap[:, None]), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = capped.sum(axis=1) / count
    return np.where(count >= max(min_count, 1), out, np.nan)


BASELINE_CAP = 0.8  # same-slot values above this quantile (plus count noise) count as it: a past incident
CAP_NOISE_SD = 2.0  # does not inflate the baseline; the noise is this many Poisson standard deviations


def _count_cap(quantile_value: np.ndarray) -> np.ndarray:
    """Where a same-slot count stops counting in full: its quantile plus `CAP_NOISE_SD` Poisson standard deviations.

    A bare 80th percentile of a sparse count (0, 0, 1, 0, 2, ...) cuts its
    ordinary noise and puts the baseline 20-30% under the real rate, so that
    every ordinary hour looks high; the margin caps only what count noise
    cannot explain.
    """
    return quantile_value + CAP_NOISE_SD * np.sqrt(np.maximum(quantile_value, 0.0) + 1.0)


WEEKDAY_WEEKS = 4  # the weekly rhythm is read from this many past weeks ...
# ... and only once there are this many: two weeks' mean is noisier than a median of more, but one
# week alone takes any odd day for the rhythm (AMZN scores 17 against 66), and waiting for a third
# leaves a new brand's third week expecting its Saturday from a weekday (NAB over start offsets of
# 0-7 days: 74.0 against 72.3 with three, better at 26 of 29; synthetic false alarms 0.60 against 0.58).
WEEKDAY_MIN_WEEKS = 2
WEEKDAY_PRIOR = 30.0  # ... believed as far as the days' mentions show it: this many more, at the usual level


def weekday_factors(x: np.ndarray, period: int) -> np.ndarray:
    """Per bucket, how busy this time of the week usually is relative to an average day (1 until known).

    The day around the same moment (the 24 hours centred on it) in each of the
    past weeks, over the same day-around-this-time in each of the past four
    weeks' days, medians both: weekends at a third of weekdays make a
    same-time-yesterday baseline wrong on Saturday and on Monday. Rolling days,
    so no calendar day boundary is assumed. A brand with a hundred mentions a
    day reads a noisy rhythm from four Saturdays: `WEEKDAY_PRIOR` mentions at
    the usual level on both sides of the ratio keep it to what the counts can
    show (a 0.3 weekend reads 0.34 at 500 mentions a day, 0.46 at 100).
    """
    n = len(x)
    start = WEEKDAY_MIN_WEEKS * 7 * period
    factor = np.ones(n)
    if n <= start:
        return factor
    day = window_sums(x, period)  # the day ending at each bucket
    centred = np.full(n, np.nan)  # the day centred on each bucket (NaN where it is not all in the past yet)
    half = period // 2
    centred[max(0, period - 1 - half): n - half] = day[max(period - 1, half): n]

    reach = 7 * WEEKDAY_WEEKS * period
    centred = np.concatenate([np.full(reach, np.nan), centred])  # so that a lag past the first bucket reads NaN

    def lagged(lags: list[int], stride: int) -> np.ndarray:  # (rows from `start`, lags): centred, `lag` back
        return np.column_stack([centred[reach + start - lag: reach + n - lag: stride] for lag in lags])

    same = _row_medians(lagged([7 * k * period for k in range(1, WEEKDAY_WEEKS + 1)], 1))
    # The usual day moves slowly: taken every quarter of a day (from earlier data only) and held.
    stride = max(1, period // 4)
    usual = np.repeat(_row_medians(lagged([d * period for d in range(1, 7 * WEEKDAY_WEEKS + 1)], stride)),
                      stride)[: n - start]
    with np.errstate(all="ignore"):
        factor[start:] = np.where(usual > 0, np.clip((same + WEEKDAY_PRIOR) / (usual + WEEKDAY_PRIOR), 0.2, 5.0), 1.0)
    return factor


def _baseline_lags(period: int, periods: int, neighbour: int) -> list[int]:
    """The same slot (and +/- `neighbour` buckets) over the previous `periods` periods, as lags."""
    return sorted({k * period + d for k in range(1, periods + 1) for d in (-neighbour, 0, neighbour)
                   if k * period + d > 0})


def baseline_days(n: int, period: int, periods: int, neighbour: int) -> np.ndarray:
    """Per bucket, how many past periods (days) its seasonal baseline averages (at least 1).

    Days, not lags: neighbouring hours move together (their residuals
    correlate 0.6-0.7 an hour apart on real mention series), so the
    baseline's error averages out over days.
    """
    lags = np.array(_baseline_lags(period, periods, neighbour))
    per_period = len({-neighbour, 0, neighbour})  # the slot and its neighbours: lags from one day
    return np.maximum(np.searchsorted(lags, np.arange(n), side="right") / per_period, 1.0)


def seasonal_baseline(sums: np.ndarray, period: int, periods: int, neighbour: int,
                      factor: np.ndarray | None = None) -> np.ndarray:
    """Capped mean of the same slot (and +/- `neighbour` buckets) over the previous `periods` periods.

    A mean with its top fifth capped rather than a median: the median of a
    sparse count is 0 (a brand mentioned every other hour would "expect"
    nothing), while this stays near the real rate and still ignores a past
    incident or two.
    """
    lags = _baseline_lags(period, periods, neighbour)
    n = len(sums)
    level = sums if factor is None else sums / factor  # each past day brought to an average day
    stack = np.full((n, len(lags)), np.nan, dtype=np.float32)  # counts: single precision halves the partition's work
    for j, lag in enumerate(lags):
        if lag < n:
            stack[lag:, j] = level[: n - lag]
    out = np.full(n, np.nan)
    full = min(n, max(lags))  # from here on every row is complete: a partition finds the cap, no sort
    out[:full] = _row_capped_means(stack[:full], BASELINE_CAP, min_count=3)
    if n > full:
        body = stack[full:]
        k = int(np.floor(BASELINE_CAP * (len(lags) - 1)))
        cap = _count_cap(np.partition(body, k, axis=1)[:, k])
        out[full:] = np.minimum(body, cap[:, None]).mean(axis=1, dtype=np.float64)
    return out if factor is None else out * factor


CHI2_1_MEDIAN = 0.4549364231195724


def pooled_dispersion(sums: np.ndarray, expected: np.ndarray, step: int, span_steps: int,
                      first_usable: int = 0, baseline_days: np.ndarray | float = np.inf) -> np.ndarray:
    """Over-dispersion c^2 (variance = mu + c^2 mu^2) per bucket, from the previous `span_steps` steps.

    Re-estimated once per step (a day) as the median excess relative
    variance over the previous steps, from bucket `first_usable` on (the
    first whose expectation came from the model being measured); NaN until
    there is such history. It is the series' own day-to-day spread: a
    residual from a baseline of `baseline_days` days also holds that
    baseline's error, (1 + 1/days) times the spread, which is taken out (else
    the first days' crude baselines would widen the next week's spread).
    """
    n = len(sums)
    expected = np.where(np.arange(n) >= first_usable, expected, np.nan)
    with np.errstate(all="ignore"):
        # The median of the excess relative variance, robust to past incidents. A squared normal
        # residual's median is 0.455 of its mean (chi-square, one degree), hence the factor: without
        # it the spread is half what it is and every ordinary day looks improbable.
        z = np.where(expected > 0, ((sums - expected) ** 2 / CHI2_1_MEDIAN - expected)
                     / (expected**2 * (1.0 + 1.0 / baseline_days)), np.nan)
    steps = n // step + 1
    padded = np.full(steps * step, np.nan)
    padded[:n] = z
    # Each step's c2 from the `span_steps` steps before it (the steps there are, at first): NaN
    # steps in front give every step a full span to take the median of.
    before = np.concatenate([np.full((span_steps, step), np.nan), padded.reshape(steps, step)[:-1]])
    windows = sliding_window_view(before, span_steps, axis=0)  # (steps, step, span)
    c2 = _row_medians(windows.reshape(steps, -1), min_count=10)
    # A sparse series (expected mostly 0) has nothing to measure over-dispersion on: Poisson,
    # once it has a step of usable history at all.
    seen = np.arange(steps) > first_usable // step  # a step after the one holding the first usable bucket
    c2 = np.where(np.isnan(c2) & seen, 0.0, c2)
    c2 = np.maximum(c2, 1e-4)  # NaN (no history yet) stays NaN
    return np.repeat(c2, step)[:n]


def tail_probability(observed: np.ndarray, mean: np.ndarray, c2: np.ndarray | float) -> np.ndarray:
    """P(X >= observed) for a negative binomial with that mean and over-dispersion (Poisson when c2 ~ 0)."""
    obs = np.asarray(observed, dtype=np.float64)
    mu = np.maximum(np.asarray(mean, dtype=np.float64), 0.5)  # a slot never seen busy still has some rate
    c2 = np.broadcast_to(np.asarray(c2, dtype=np.float64), obs.shape)
    k = np.ceil(obs) - 1  # P(X >= obs) = P(X > obs - 1)
    p = np.ones_like(obs)
    pos = k >= 0
    pois = pos & (c2 < 1e-6)
    p[pois] = special.pdtrc(k[pois], mu[pois])
    nb = pos & ~pois
    if nb.any():
        r = 1.0 / c2[nb]
        q = r / (r + mu[nb])
        p[nb] = special.betainc(k[nb] + 1, r, 1 - q)  # NB survival, real-valued size
    return np.clip(p, 0.0, 1.0)


def _periodicity(bucket_seconds: int) -> tuple[int, int, int]:
    """(buckets per season, seasons of baseline, buckets per dispersion step)."""
    if bucket_seconds >= DAY:
        return max(1, WEEK // bucket_seconds), 4, 1
    return max(1, DAY // bucket_seconds), 0, max(1, DAY // bucket_seconds)


STILL_UP_PVALUE = 0.05  # an incident goes on while its windows stay above half its rise at this significance

WARMUP_DISPERSION = 0.3  # before a day of history: a wide prior spread (sd 55% of the mean)


def trailing_level(sums: np.ndarray, width: int, span: int) -> np.ndarray:
    """Median of the window sums that ended before the current window, over the last `span` buckets.

    The short baseline for the first days, before there is a same-time-of-day
    history to compare with. NaN with fewer than two earlier windows.
    """
    n = len(sums)
    out = np.full(n, np.nan)
    for i in range(n):
        hi = i - width + 1  # sums[hi - 1] is the last window that does not overlap the current one
        lo = max(0, hi - span)
        if hi - lo >= 2 * width:
            out[i] = np.median(sums[lo:hi])
    return out


GUMBEL_Q50, GUMBEL_IQR = -np.log(np.log(2.0)), -np.log(-np.log(0.75)) + np.log(-np.log(0.25))


def budget_threshold(surprise: np.ndarray, block: int, blocks_per_alarm: float, calibration_blocks: int,
                     warmup_blocks: int, floor: float) -> np.ndarray:
    """Per bucket, the surprise a quiet stretch of this series exceeds once per `blocks_per_alarm` blocks.

    Each block's (a day's) peak surprise is an extreme of many buckets, so the
    peaks follow a Gumbel law; it is fitted robustly (median and quartiles) on
    the previous blocks, so a few incidents among them barely move it. Never
    below `floor` (the model's own threshold for the budget); with less than
    `warmup_blocks` of history, a margin that shrinks as history grows.
    """
    n = len(surprise)
    blocks = -(-n // block)
    padded = np.zeros(blocks * block)
    padded[:n] = surprise
    peaks = padded.reshape(blocks, block).max(axis=1)
    y = -np.log(-np.log(1.0 - 1.0 / max(blocks_per_alarm, 1.01)))
    # Each block's quartiles from the `calibration_blocks` blocks before it (the blocks there are, at
    # first, and three at least): NaN blocks in front give every block a full span.
    before = np.concatenate([np.full(calibration_blocks, np.nan), peaks[:-1]])
    quartiles = _row_quantiles(sliding_window_view(before, calibration_blocks), (0.25, 0.5, 0.75), min_count=3)
    scale = (quartiles[:, 2] - quartiles[:, 0]) / GUMBEL_IQR
    fitted = quartiles[:, 1] + (y - GUMBEL_Q50) * scale
    # A fit on a few days' peaks is mostly noise (and the first days' peaks are inflated by the
    # cruder warm-up baseline): what the series' own tail adds to the model's threshold counts
    # in proportion to how much of the calibration span there is.
    history = np.arange(blocks)
    fitted = floor + (fitted - floor) * np.minimum(1.0, history / calibration_blocks)
    level = np.where(np.isnan(fitted), floor, np.maximum(floor, fitted))
    margin = 1.0 + np.clip(1.0 - history / max(warmup_blocks, 1), 0.0, 1.0)  # x2 on the first day, x1 after warm-up
    return np.repeat(level * margin, block)[:n]


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
    rules_any = np.zeros(n, dtype=bool)
    best_any = np.ones(n)
    still_up = np.zeros(n, dtype=bool)
    for width in widths:
        sums = window_sums(x, width)
        offsets = range(0, width, base)  # the base windows that tile this one, newest first
        expected = sum(_shifted(base_expected, o) for o in offsets) * (width / (base * len(offsets)))
        # The first day's recent-level expectation ignores time of day: its residuals are not the
        # spread of the seasonal model used afterwards.
        c2 = pooled_dispersion(sums, expected, step, span_steps, first_usable=first_seasonal + offsets[-1],
                               baseline_days=days)
        c2 = np.where(np.isnan(c2), WARMUP_DISPERSION, c2 * baseline_error)
        known = ~np.isnan(expected)
        mu = np.maximum(np.nan_to_num(expected, nan=np.inf), 0.5)
        rules = known & (sums >= p.min_ratio * mu) & (sums - mu >= p.min_excess)
        # Every rise is scored, not only those that pass the rules: the calibration reads how
        # surprising this series' ordinary days are, where the model's tails are too thin.
        # (Only a rise of more than one standard deviation can be a day's peak: the rest stay at p = 1.)
        above = known & (sums - mu > np.sqrt(mu + c2 * mu**2))
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
        still_up |= known & (sums >= (1 + (p.min_ratio - 1) / 2) * mu) & (sums - mu >= p.min_excess / 2)

    surprise = -np.log10(np.maximum(best_p, 1e-300))
    block = max(1, DAY // bucket_seconds)  # buckets per calibration block (a day, or one daily bucket)
    block_days = block * bucket_seconds / DAY
    # The budget, were the model exact: a month holds this many separate shortest windows (overlapping
    # windows ending at each bucket are not separate chances to alert).
    windows_per_month = 30 * block / block_days / widths[0]
    floor = float(np.log10(windows_per_month / p.false_alarms_per_month))
    threshold = budget_threshold(-np.log10(np.maximum(best_any, 1e-300)), block,
                                 blocks_per_alarm=30 / block_days / p.false_alarms_per_month,
                                 calibration_blocks=max(3, int(p.calibration_days / block_days)),
                                 warmup_blocks=max(1, int(p.warmup_days / block_days)), floor=floor)
    hot = rules_any & (surprise > threshold)
    elevated = hot | (still_up & (surprise > floor))
    # Still up, and by more than chance: on a near-zero series a 3-hour window at half the opening rise
    # is two or three stray mentions, which would keep one incident open for a day and swallow the next.
    continuing = (still_up & (best_any < STILL_UP_PVALUE)) | hot
    fired = _incident_starts(hot, continuing, max(1, p.quiet_seconds // bucket_seconds))
    return Detection(expected=np.nan_to_num(expected_single, nan=0.0), pvalue=best_p, anomalous=elevated,
                     fired=fired, window=best_w, threshold=threshold)


@dataclass(frozen=True)
class ShiftParams:
    alpha: float = 1e-5  # a negative share this improbable (quiet series: about 0.01 false shifts per 60 days)
    window_seconds: int = 6 * HOUR  # the recent span compared with the past
    baseline_days: int = 28  # the past it is compared with (the window itself excluded)
    min_n: int = 8  # mentions (or ratings) in the window before anything is judged
    min_excess: float = 5.0  # negative mentions above the expected number
    min_share_ratio: float = 2.0  # window share at least this times the usual share
    min_drop: float = 0.75  # stars below the usual mean rating, after shrinkage
    prior_weight: float = 5.0  # pseudo-ratings at the usual mean: small samples move less
    rating_sd: float = 1.3  # spread of single 1-5 star ratings (J-shaped review distributions sit near 1.2-1.5)
    quiet_seconds: int = 3 * HOUR  # back to normal this long: the shift is over, a new one is new


def _past_totals(x: np.ndarray, width: int, span: int) -> np.ndarray:
    """Sum of x over the `span` buckets that end just before the current window."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(len(x))
    hi = np.maximum(0, i - width + 1)
    return c[hi] - c[np.maximum(0, hi - span)]


def detect_share_shift(
    negatives: np.ndarray, totals: np.ndarray, bucket_seconds: int, params: ShiftParams | None = None
) -> Detection:
    """A rise in the negative share without (necessarily) more volume: a binomial tail test.

    The usual share is the past weeks' (with a weak Beta(1, 9) prior, so a
    new brand with no history starts at 10%), the window's negatives are
    tested against Binomial(window total, usual share).
    """
    p = params or ShiftParams()
    k_all, n_all = np.asarray(negatives, float), np.asarray(totals, float)
    width = max(1, p.window_seconds // bucket_seconds)
    span = max(1, p.baseline_days * DAY // bucket_seconds)
    k, n = window_sums(k_all, width), window_sums(n_all, width)
    p0 = (_past_totals(k_all, width, span) + 1.0) / (_past_totals(n_all, width, span) + 10.0)
    expected = n * p0
    rules = (n >= p.min_n) & (k - expected >= p.min_excess) & (k >= p.min_share_ratio * expected)
    pv = np.ones(len(k))
    if rules.any():
        # P(K >= k) for K ~ Binomial(n, p0) = I_{p0}(k, n - k + 1)
        pv[rules] = special.betainc(k[rules], n[rules] - k[rules] + 1, p0[rules])
    anomalous = rules & (pv < p.alpha)
    anomalous[: min(len(anomalous), span // 4)] = False  # a few days of history first
    fired = _incident_starts(anomalous, anomalous, max(1, p.quiet_seconds // bucket_seconds))
    return Detection(expected=n_all * p0, pvalue=pv, anomalous=anomalous, fired=fired, window=np.full(len(k), width))


def detect_rating_drop(
    rating_sums: np.ndarray, rating_counts: np.ndarray, bucket_seconds: int, params: ShiftParams | None = None
) -> Detection:
    """A fall in the mean star rating, shrunk towards the usual mean so that two bad reviews are not a trend.

    The window's mean is shrunk with `prior_weight` pseudo-ratings at the
    usual mean; the test is one-sided, normal, with the past ratings' spread.
    `expected` carries the usual mean; Detection.pvalue the test's p-value.
    """
    p = params or ShiftParams()
    total, count = np.asarray(rating_sums, float), np.asarray(rating_counts, float)
    width = max(1, p.window_seconds // bucket_seconds)
    span = max(1, p.baseline_days * DAY // bucket_seconds)
    w_sum, w_n = window_sums(total, width), window_sums(count, width)
    past_sum, past_n = _past_totals(total, width, span), _past_totals(count, width, span)
    with np.errstate(all="ignore"):
        usual = np.where(past_n > 0, past_sum / past_n, np.nan)
        shrunk = (w_sum + p.prior_weight * usual) / (w_n + p.prior_weight)
    sd = p.rating_sd
    z = (usual - shrunk) / (sd / np.sqrt(np.maximum(w_n + p.prior_weight, 1.0)))
    rules = (w_n >= p.min_n) & (past_n >= 3 * p.min_n) & (usual - shrunk >= p.min_drop)
    pv = np.where(rules, special.ndtr(-np.nan_to_num(z)), 1.0)
    anomalous = rules & (pv < p.alpha)
    fired = _incident_starts(anomalous, anomalous, max(1, p.quiet_seconds // bucket_seconds))
    return Detection(expected=np.nan_to_num(usual), pvalue=pv, anomalous=anomalous, fired=fired,
                     window=np.full(len(total), width))


def _incident_starts(hot: np.ndarray, elevated: np.ndarray, quiet: int) -> np.ndarray:
    """The first hot bucket of each episode of elevated volume; an episode ends after `quiet` calm buckets.

    One incident fires once, however long it lasts; once it has ended it
    never silences the next rise, however soon that comes.
    """
    fired = np.zeros(len(hot), dtype=bool)
    last_elevated, episode_fired = -quiet - 1, False
    for i in np.flatnonzero(elevated | hot):
        if i - last_elevated > quiet:
            episode_fired = False
        if hot[i] and not episode_fired:
            fired[i] = episode_fired = True
        last_elevated = i
    return fired


def incidents(counts: np.ndarray, detection: Detection, bucket_seconds: int, params: SpikeParams | None = None) -> list[Incident]:
    """One incident per fired bucket: the chain of anomalous buckets after it, with no quiet gap between them."""
    p = params or SpikeParams()
    gap = max(1, p.quiet_seconds // bucket_seconds)
    x = np.asarray(counts, dtype=np.float64)
    n = len(x)
    anomalous_idx = np.flatnonzero(detection.anomalous)
    out: list[Incident] = []
    for s in np.flatnonzero(detection.fired):
        end = int(s)
        for i in anomalous_idx[anomalous_idx > s]:
            if i - end > gap:
                break
            end = int(i)
        first = int(max(0, s - detection.window[s] + 1))  # the window that fired may begin earlier (a ramp) ...
        excess = x[first:s + 1] - detection.expected[first:s + 1]
        first += int(np.argmax(excess >= excess.mean()))  # ... from its first bucket with its share of the rise
        while end > s and x[end] <= detection.expected[end]:
            end -= 1  # a window still up on earlier buckets: the incident's own last bucket is the last one above normal
        span = np.arange(first, end + 1)
        out.append(Incident(
            start=first,
            end=end,
            peak=int(span[np.argmax(x[span] - detection.expected[span])]),
            observed=float(x[span].sum()),
            expected=float(detection.expected[span].sum()),
            pvalue=float(detection.pvalue[s:end + 1].min()),
            ongoing=bool(n - 1 - end <= gap),
            fired=int(s),
        ))
    return out


def severity_for(pvalue: float, observed: float, expected: float) -> str:
    ratio = observed / max(expected, 0.5)
    if pvalue < 1e-12 and ratio >= 5:
        return "high"
    if pvalue < 1e-8 and ratio >= 3:
        return "medium"
    return "low"


def bucket_start(origin: datetime, index: int, bucket_seconds: int) -> datetime:
    return origin + timedelta(seconds=index * bucket_seconds)


def with_sensitivity(name: str, **overrides: object) -> SpikeParams:
    try:
        base = SENSITIVITY[name]
    except KeyError:
        raise ValueError(f"sensitivity must be one of {', '.join(SENSITIVITY)}, not {name!r}") from None
    return replace(base, **overrides) if overrides else base


METRICS = ("mentions", "negative", "negative_share", "rating")


def brand_incidents(series: dict[str, np.ndarray], bucket_seconds: int, params: SpikeParams | None = None,
                    shift: ShiftParams | None = None) -> dict[str, list[Incident]]:
    """Every detector over one brand's series (count, negative, rating_sum, rated), as incidents per metric.

    A negative burst or share shift inside a volume spike is the same incident:
    it is left to the volume spike, so one incident is one alert.
    """
    params = params or SpikeParams()
    found = {
        "mentions": incidents(series["count"], detect_spikes(series["count"], bucket_seconds, params), bucket_seconds, params),
        "negative": incidents(series["negative"], detect_spikes(series["negative"], bucket_seconds, params),
                              bucket_seconds, params),
        "negative_share": incidents(series["negative"], detect_share_shift(series["negative"], series["count"],
                                                                           bucket_seconds, shift), bucket_seconds, params),
        "rating": incidents(series["rated"], detect_rating_drop(series["rating_sum"], series["rated"], bucket_seconds,
                                                                 shift), bucket_seconds, params),
    }
    for metric in ("negative", "negative_share"):
        found[metric] = [i for i in found[metric] if not any(i.overlaps(v) for v in found["mentions"])]
    return found
