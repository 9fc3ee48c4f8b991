"""The spike detector's expectation: what a bucket's window would hold on an ordinary day.

For each window (the bucket's last hour, last three hours...) the baseline
is the mean of the same window at the same time of day over the previous
week (and its neighbours), its top fifth capped beyond what count noise
explains, so that a past incident does not raise the bar while a sparse
brand's ordinary noise is not cut off; each past day is scaled by how busy
its day of the week usually is, once two weeks show the weekly rhythm
(damped where the counts are too few to show it). Before there is a day of
history, the recent level stands in. Pure functions over numpy arrays;
each bucket reads only buckets before it.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

HOUR = 3600
DAY = 86400
WEEK = 7 * DAY


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
    c = np.cumsum(x, dtype=np.float64)
    out = c.copy()
    out[width:] -= c[:-width]
    return out


def row_quantiles(rows: np.ndarray, qs: tuple[float, ...], min_count: int = 1) -> np.ndarray:
    """Quantiles (numpy's default, linear) of each row ignoring NaN, a column per q; NaN under `min_count` values."""
    ordered = np.sort(rows, axis=1)  # NaN sorts last
    count = rows.shape[1] - np.isnan(rows).sum(axis=1, keepdims=True)
    last = np.maximum(count - 1, 0)  # index of each row's largest value
    at = np.asarray(qs) * last
    lo = np.floor(at).astype(int)
    hi = np.minimum(lo + 1, last)
    r = np.arange(len(rows))[:, None]
    with np.errstate(invalid="ignore"):
        q = ordered[r, lo] + (at - lo) * (ordered[r, hi] - ordered[r, lo])
    return np.where(count >= max(min_count, 1), q, np.nan)


def row_medians(rows: np.ndarray, min_count: int = 1, overwrite: bool = False) -> np.ndarray:
    """Median of each row ignoring NaN (NaN where fewer than `min_count` values): one sort of the rows
    (NaN sorts last; in place with `overwrite`, for rows made to be sorted) and the middle of each row's values."""
    count = rows.shape[1] - np.isnan(rows).sum(axis=1)
    if overwrite:
        rows.sort(axis=1)
    return _middle((rows if overwrite else np.sort(rows, axis=1)).T, count, min_count)


def _column_medians(values: np.ndarray, min_count: int = 1) -> np.ndarray:
    """Median down each column of a few rows ignoring NaN: a sorting network across the rows, elementwise
    (much faster than a sort of each short column)."""
    return _middle(_sorted_columns(values), len(values) - np.isnan(values).sum(axis=0), min_count)


def _middle(ordered: np.ndarray, count: np.ndarray, min_count: int) -> np.ndarray:
    """The median of each column of `ordered` (sorted down the columns) from its first `count` values."""
    m = len(ordered)
    out = (ordered[(m - 1) // 2] + ordered[m // 2]) / 2  # the usual case: every value there
    partial = np.flatnonzero(count < m)  # a history's first buckets: the middle of those there are
    if len(partial):
        k = count[partial]
        low = ordered[np.maximum(k - 1, 0) // 2, partial]
        high = ordered[np.minimum(k // 2, m - 1), partial]
        out[partial] = (low + high) / 2
    return np.where(count >= max(min_count, 1), out, np.nan)


def _sorted_columns(values: np.ndarray) -> np.ndarray:
    """`values` (a few rows) sorted down each column, NaN last: odd-even transposition, elementwise."""
    ordered = np.where(np.isnan(values), np.inf, values)
    rows = list(ordered)
    for r in range(len(rows)):
        for i in range(r % 2, len(rows) - 1, 2):
            rows[i], rows[i + 1] = np.minimum(rows[i], rows[i + 1]), np.maximum(rows[i], rows[i + 1])
    for i, row in enumerate(rows):
        ordered[i] = row
    return ordered


def _row_capped_means(rows: np.ndarray, cap_quantile: float, min_count: int) -> np.ndarray:
    """Mean of each row with values above its `cap_quantile` lowered to it, ignoring NaN; NaN under `min_count`."""
    ordered = np.sort(np.where(np.isnan(rows), np.inf, rows), axis=1)
    count = np.isfinite(ordered).sum(axis=1)
    r = np.arange(len(rows))
    cap = _count_cap(ordered[r, np.floor(cap_quantile * np.maximum(count - 1, 0)).astype(int)])
    capped = np.where(np.isfinite(ordered), np.minimum(ordered, cap[:, None]), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = capped.sum(axis=1, dtype=np.float64) / count
    return np.where(count >= max(min_count, 1), out, np.nan)


def _kth_largest(rows: np.ndarray, k: int) -> np.ndarray:
    """The `k`-th largest value down each column of `rows` (no NaN): each row inserted into the k largest so
    far, elementwise (for a few rows over many columns, several times faster than a partition of each column)."""
    top = [rows[0].copy()]  # the largest so far, in descending order
    for row in rows[1:]:
        v = row.copy()
        for t in range(len(top)):
            if t == k - 1:  # the last place kept: only the larger value stays
                np.maximum(top[t], v, out=top[t])
                break
            larger = np.maximum(top[t], v)
            np.minimum(top[t], v, out=v)
            top[t] = larger
        else:
            top.append(v)
    return top[k - 1]


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

    def lagged(lags: list[int], stride: int) -> np.ndarray:  # (lags, buckets from `start`): centred, `lag` back
        return np.stack([centred[reach + start - lag: reach + n - lag: stride] for lag in lags])

    same = _column_medians(lagged([7 * k * period for k in range(1, WEEKDAY_WEEKS + 1)], 1))
    # The usual day moves slowly: taken every quarter of a day (from earlier data only) and held.
    stride = max(1, period // 4)
    usual = np.repeat(row_medians(lagged([d * period for d in range(1, 7 * WEEKDAY_WEEKS + 1)], stride).T),
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
    # A row per lag, filled by contiguous copies; counts: single precision halves the partition's work.
    by_lag = np.full((len(lags), n), np.nan, dtype=np.float32)
    for j, lag in enumerate(lags):
        if lag < n:
            by_lag[j, lag:] = level[: n - lag]
    out = np.full(n, np.nan)
    full = min(n, max(lags))  # from here on every row is complete: a partition finds the cap, no sort
    out[:full] = _row_capped_means(by_lag[:, :full].T, BASELINE_CAP, min_count=3)
    if n > full:
        body = by_lag[:, full:]
        k = int(np.floor(BASELINE_CAP * (len(lags) - 1)))
        cap = _count_cap(_kth_largest(body, len(lags) - k))
        out[full:] = np.minimum(body, cap).sum(axis=0, dtype=np.float64) / len(lags)
    return out if factor is None else out * factor


def trailing_level(sums: np.ndarray, width: int, span: int) -> np.ndarray:
    """The recent level: the windows that ended before the current one, over the last `span` buckets, their
    mean with its top fifth capped (as the seasonal baseline is).

    The short baseline for the first day, before there is a same-time-of-day
    history to compare with. Not a median: a bursty brand's median window is
    well under its mean, and its first day would look like one rise after
    another. NaN with fewer than two earlier windows.
    """
    n = len(sums)
    out = np.full(n, np.nan)
    if n <= width:
        return out
    # Row j holds the `span` sums before window j + width - 1 begins (NaN before the series does).
    before = np.concatenate([np.full(span, np.nan), sums])
    rows = sliding_window_view(before, span)[: n - width + 1]
    out[width - 1:] = _row_capped_means(rows, BASELINE_CAP, min_count=2 * width)
    return out
