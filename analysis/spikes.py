"""Causal spike detection on count series (mentions, negative mentions per bucket).

Pure functions over numpy arrays. At bucket i only buckets 0..i are read, as a
nightly run would see them, so appending the future never changes a past
decision.

The model: the expected count of bucket i is the median of the same seasonal
slot (and its two neighbours) over the previous few periods, a robust baseline
that past incidents do not inflate. Its spread is the median absolute
deviation of those same values. Counts are over-dispersed, so the tail test is
negative binomial with that mean and variance (Poisson when the spread is
small). The test is run on the bucket alone and on the sums of the last few
buckets, so a slow ramp is caught as well as a burst. A bucket must also clear
a minimum volume and a minimum ratio to its expectation: 2 reviews instead of 1
is no crisis. Anomalous buckets closer together than the cooldown are one
incident, which fires once, at its first bucket.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import special

DAY = 86400
WEEK = 7 * DAY


@dataclass(frozen=True)
class SpikeParams:
    alpha: float = 1e-4  # tail probability under which a bucket is anomalous
    min_count: float = 5.0  # observed count (summed over the test window) below which nothing fires
    min_ratio: float = 2.0  # observed / expected below which nothing fires
    history_periods: int = 4  # seasonal periods the baseline looks back over
    windows: tuple[int, ...] = (1, 3)  # bucket counts summed for the test
    cooldown_seconds: int = DAY  # quiet time after an incident's last anomalous bucket before a new one


SENSITIVITY: dict[str, SpikeParams] = {
    "low": SpikeParams(alpha=1e-6, min_ratio=3.0, min_count=10.0),
    "medium": SpikeParams(),
    "high": SpikeParams(alpha=1e-3, min_ratio=1.5, min_count=3.0),
}


@dataclass
class Detection:
    """Per-bucket results of one causal pass over a series."""

    expected: np.ndarray  # baseline mean for the bucket alone
    pvalue: np.ndarray  # smallest tail probability over the test windows
    anomalous: np.ndarray  # bucket clears alpha, min_count and min_ratio
    fired: np.ndarray  # first anomalous bucket of an incident (what alerts)
    window: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # test window that fired


@dataclass(frozen=True)
class Incident:
    start: int  # first anomalous bucket
    end: int  # last anomalous bucket
    peak: int
    observed: float  # counts over the incident's anomalous buckets
    expected: float
    pvalue: float
    ongoing: bool  # the series' last bucket is still inside the cooldown of this incident

    @property
    def severity(self) -> str:
        return severity_for(self.pvalue, self.observed, self.expected)


def seasonal_period(bucket_seconds: int, length: int) -> int:
    """Buckets per season: a week when there are enough weeks to compare, else a day."""
    if bucket_seconds >= DAY:
        return max(1, WEEK // bucket_seconds)
    per_week = WEEK // bucket_seconds
    if bucket_seconds >= 3600 and length >= 3 * per_week:
        return per_week
    return max(1, DAY // bucket_seconds)


def causal_baseline(counts: np.ndarray, period: int, history: int) -> tuple[np.ndarray, np.ndarray]:
    """Expected count and variance per bucket from the same slot in earlier periods.

    Uses slots i - k*period + {-1, 0, +1} for k = 1..history: all strictly in
    the past. Buckets with no full history fall back to the recent median.
    """
    x = np.asarray(counts, dtype=np.float64)
    n = len(x)
    samples = []
    for k in range(1, history + 1):
        for d in (-1, 0, 1) if period > 1 else (0,):
            lag = k * period - d
            if lag < 1:
                continue
            shifted = np.full(n, np.nan)
            shifted[lag:] = x[: n - lag]
            samples.append(shifted)
    stack = np.vstack(samples)
    with np.errstate(all="ignore"), _quiet_nan_warnings():
        median = np.nanmedian(stack, axis=0)
        mad = np.nanmedian(np.abs(stack - median), axis=0) * 1.4826
        # Where the seasonal history is short, a trailing median of the last day stands in.
        recent = _trailing_median(x, max(3, min(period, 48)))
        have = np.sum(~np.isnan(stack), axis=0)
        thin = have < max(3, stack.shape[0] // 2)
        median = np.where(thin, recent, median)
        mad = np.where(thin | np.isnan(mad), np.sqrt(np.maximum(recent, 1.0)), mad)
    expected = np.nan_to_num(median, nan=0.0)
    variance = np.maximum(expected, np.nan_to_num(mad, nan=0.0) ** 2)
    return expected, variance


def _trailing_median(x: np.ndarray, width: int) -> np.ndarray:
    out = np.full(len(x), np.nan)
    if len(x) <= width:
        for i in range(1, len(x)):
            out[i] = np.median(x[max(0, i - width):i])
        return out
    windows = sliding_window_view(x, width)  # windows[j] = x[j : j+width]
    out[width:] = np.median(windows[:-1], axis=1)
    for i in range(1, min(width, len(x))):
        out[i] = np.median(x[:i])
    return out


class _quiet_nan_warnings:
    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)


def tail_probability(observed: np.ndarray, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """P(X >= observed) under a negative binomial of that mean and variance (Poisson if not over-dispersed)."""
    obs = np.asarray(observed, dtype=np.float64)
    mu = np.maximum(np.asarray(mean, dtype=np.float64), 0.5)  # a slot never seen busy still has some rate
    var = np.maximum(np.asarray(variance, dtype=np.float64), mu)
    k = np.ceil(obs) - 1  # P(X >= obs) = 1 - P(X <= obs - 1)
    p = np.ones_like(obs)
    positive = k >= 0
    over = positive & (var > mu * 1.05)
    pois = positive & ~over
    p[pois] = special.pdtrc(k[pois], mu[pois])
    if over.any():
        r = mu[over] ** 2 / (var[over] - mu[over])
        q = r / (r + mu[over])
        # NB survival P(X > k) = I_{1-q}(k + 1, r), real-valued r allowed.
        p[over] = special.betainc(k[over] + 1, r, 1 - q)
    return np.clip(p, 0.0, 1.0)


def detect_spikes(counts: np.ndarray, bucket_seconds: int, params: SpikeParams | None = None) -> Detection:
    """One causal pass: which buckets are anomalous, and which start an incident."""
    params = params or SpikeParams()
    x = np.asarray(counts, dtype=np.float64)
    n = len(x)
    period = seasonal_period(bucket_seconds, n)
    expected, variance = causal_baseline(x, period, params.history_periods)
    best_p = np.ones(n)
    best_w = np.ones(n, dtype=int)
    anomalous = np.zeros(n, dtype=bool)
    csum_x = np.concatenate([[0.0], np.cumsum(x)])
    csum_e = np.concatenate([[0.0], np.cumsum(expected)])
    csum_v = np.concatenate([[0.0], np.cumsum(variance)])
    for w in params.windows:
        idx = np.arange(n)
        lo = np.maximum(0, idx - w + 1)
        obs = csum_x[idx + 1] - csum_x[lo]
        exp = csum_e[idx + 1] - csum_e[lo]
        var = csum_v[idx + 1] - csum_v[lo]
        # Only buckets that clear the volume rules need a tail probability.
        candidate = (obs >= params.min_count) & (obs >= params.min_ratio * np.maximum(exp, 0.5)) & (x > expected)
        p = np.ones(n)
        if candidate.any():
            p[candidate] = tail_probability(obs[candidate], exp[candidate], var[candidate])
        p = np.minimum(1.0, p * len(params.windows))  # Bonferroni over the windows tried
        better = p < best_p
        best_p[better], best_w[better] = p[better], w
        anomalous |= candidate & (p < params.alpha)
    fired = _apply_cooldown(anomalous, max(1, params.cooldown_seconds // bucket_seconds))
    return Detection(expected=expected, pvalue=best_p, anomalous=anomalous, fired=fired, window=best_w)


def _apply_cooldown(anomalous: np.ndarray, cooldown: int) -> np.ndarray:
    fired = np.zeros_like(anomalous)
    last = -cooldown - 1
    for i in np.flatnonzero(anomalous):
        if i - last > cooldown:
            fired[i] = True
        last = i
    return fired


def incidents(counts: np.ndarray, detection: Detection, bucket_seconds: int, params: SpikeParams | None = None) -> list[Incident]:
    """Group anomalous buckets into incidents (one per fired bucket)."""
    params = params or SpikeParams()
    cooldown = max(1, params.cooldown_seconds // bucket_seconds)
    x = np.asarray(counts, dtype=np.float64)
    n = len(x)
    out: list[Incident] = []
    anomalous_idx = np.flatnonzero(detection.anomalous)
    starts = np.flatnonzero(detection.fired)
    for j, s in enumerate(starts):
        stop = starts[j + 1] if j + 1 < len(starts) else n
        members = anomalous_idx[(anomalous_idx >= s) & (anomalous_idx < stop)]
        # The window that fired may reach back before the first anomalous bucket (a ramp).
        first = int(max(0, s - detection.window[s] + 1)) if len(detection.window) else int(s)
        span = np.arange(first, members[-1] + 1)
        out.append(Incident(
            start=first,
            end=int(members[-1]),
            peak=int(span[np.argmax(x[span] - detection.expected[span])]),
            observed=float(x[span].sum()),
            expected=float(detection.expected[span].sum()),
            pvalue=float(detection.pvalue[members].min()),
            ongoing=bool(n - 1 - members[-1] < cooldown),
        ))
    return out


def severity_for(pvalue: float, observed: float, expected: float) -> str:
    ratio = observed / max(expected, 0.5)
    if pvalue < 1e-9 and ratio >= 4:
        return "high"
    if pvalue < 1e-6 and ratio >= 2.5:
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
