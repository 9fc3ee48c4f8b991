"""Causal spike detection on count series (mentions, negative mentions per bucket).

Pure functions over numpy arrays. At bucket i only buckets 0..i are read, as a
nightly run would see them, so appending the future never changes a past
decision.

The model, for each test window (the bucket's last hour and last three hours):
- expected: the median of the same window at the same time of day over the
  previous week (and its neighbours), so past incidents do not inflate it;
- spread: negative binomial, with an over-dispersion pooled over the last
  week of the series (robust: the median of the excess relative variance);
- a bucket is anomalous when the window's count is improbable under that
  (tail < alpha), at least `min_ratio` times and `min_excess` above what was
  expected (so 2 reviews instead of 1 is no crisis), and more surprising than
  anything the series did in the previous few days (heavy tails beyond the
  model make routine bursts look improbable; this calibrates to each series);
- anomalous buckets closer than the cooldown are one incident, which fires
  once, at its first bucket.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import special
from scipy.ndimage import maximum_filter1d

HOUR = 3600
DAY = 86400
WEEK = 7 * DAY


@dataclass(frozen=True)
class SpikeParams:
    alpha: float = 1e-6  # tail probability under which a window is improbable
    min_ratio: float = 3.0  # observed / expected at least this
    min_excess: float = 10.0  # observed - expected at least this many mentions
    window_seconds: tuple[int, ...] = (HOUR, 3 * HOUR)  # spans tested, ending at each bucket
    baseline_days: int = 7  # same time of day over this many previous days
    dispersion_days: int = 7  # over-dispersion pooled over this many previous days
    calibration_days: float = 5.0  # must beat the most surprising bucket of these days (0: off)
    cooldown_seconds: int = DAY  # after an incident fires, no new one for this long


SENSITIVITY: dict[str, SpikeParams] = {
    "low": SpikeParams(alpha=1e-9, min_ratio=4.0, min_excess=20.0),
    "medium": SpikeParams(),
    "high": SpikeParams(alpha=1e-4, min_ratio=2.0, min_excess=5.0, calibration_days=2.0),
}


@dataclass
class Detection:
    """Per-bucket results of one causal pass over a series."""

    expected: np.ndarray  # baseline for the bucket alone
    pvalue: np.ndarray  # smallest tail probability over the test windows (Bonferroni-corrected)
    anomalous: np.ndarray  # bucket clears the statistical rules (an incident's extent)
    fired: np.ndarray  # first anomalous bucket of an incident: what alerts
    window: np.ndarray  # buckets in the test window that was most significant


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


def _row_medians(rows: np.ndarray, min_count: int = 1) -> np.ndarray:
    """Median of each row ignoring NaN (NaN where fewer than `min_count` values); sort-based, vectorised."""
    filled = np.where(np.isnan(rows), np.inf, rows)
    ordered = np.sort(filled, axis=1)
    count = np.isfinite(filled).sum(axis=1)
    r = np.arange(len(rows))
    lo, hi = np.maximum(count - 1, 0) // 2, np.maximum(count, 1) // 2
    with np.errstate(invalid="ignore"):
        med = (ordered[r, lo] + ordered[r, hi]) / 2
    return np.where(count >= max(min_count, 1), med, np.nan)


def seasonal_baseline(sums: np.ndarray, period: int, periods: int, neighbour: int) -> np.ndarray:
    """Median of the same slot (and +/- `neighbour` buckets) over the previous `periods` periods."""
    lags = sorted({k * period + d for k in range(1, periods + 1) for d in (-neighbour, 0, neighbour) if k * period + d > 0})
    n, full = len(sums), max(lags)
    # (n, lags), contiguous per bucket, so the median partitions short rows.
    stack = np.full((n, len(lags)), np.nan)
    for j, lag in enumerate(lags):
        if lag < n:
            stack[lag:, j] = sums[: n - lag]
    out = np.full(n, np.nan)
    if n > full:
        body = stack[full:]
        m = len(lags)
        if m % 2:
            out[full:] = np.partition(body, m // 2, axis=1)[:, m // 2]
        else:
            parts = np.partition(body, [m // 2 - 1, m // 2], axis=1)
            out[full:] = (parts[:, m // 2 - 1] + parts[:, m // 2]) / 2
    head = min(full, n)
    out[:head] = _row_medians(stack[:head], min_count=3)  # warm-up: whatever history there is
    return out


def pooled_dispersion(sums: np.ndarray, expected: np.ndarray, step: int, span_steps: int) -> np.ndarray:
    """Over-dispersion c^2 (variance = mu + c^2 mu^2) per bucket, from the previous `span_steps` steps.

    Re-estimated once per step (a day) as the median excess relative
    variance over the previous steps; NaN until there is enough history.
    """
    n = len(sums)
    with np.errstate(all="ignore"):
        # The median of the excess relative variance: robust to past incidents, and on the low side
        # for skewed residuals (an unbiased version needs a looser alpha; measured worse on NAB and
        # noisier on quiet Poisson series, see benchmarks), which the strict default alpha pairs with.
        z = np.where(expected > 0, ((sums - expected) ** 2 - expected) / expected**2, np.nan)
    steps = n // step + 1
    padded = np.full(steps * step, np.nan)
    padded[:n] = z
    per_step = padded.reshape(steps, step)
    c2 = np.full(steps, np.nan)
    for s_ in range(1, min(span_steps, steps)):  # warm-up: the steps there are so far
        c2[s_] = _row_medians(per_step[:s_].reshape(1, -1), min_count=10)[0]
    if steps > span_steps:
        windows = sliding_window_view(per_step, span_steps, axis=0)  # (steps - span + 1, step, span)
        c2[span_steps:] = _row_medians(windows.reshape(windows.shape[0], -1), min_count=10)[: steps - span_steps]
    # A sparse series (expected mostly 0) has nothing to measure over-dispersion on: Poisson,
    # once it has a step of history at all.
    c2[1:] = np.where(np.isnan(c2[1:]), 0.0, c2[1:])
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
    anomalous = np.zeros(n, dtype=bool)
    # The seasonal median is taken once, for the shortest window; a longer window
    # expects the sum of the shorter ones it spans (NaN until they all exist).
    base = widths[0]
    base_expected = seasonal_baseline(window_sums(x, base), period, periods, neighbour=base if period > 1 else 0)
    expected_single = base_expected / base
    for width in widths:
        sums = window_sums(x, width)
        offsets = range(0, width, base)  # the base windows that tile this one, newest first
        expected = sum(_shifted(base_expected, o) for o in offsets) * (width / (base * len(offsets)))
        c2 = pooled_dispersion(sums, expected, step, span_steps)
        mu = np.maximum(np.nan_to_num(expected, nan=np.inf), 0.5)
        rules = (~np.isnan(c2)) & (sums >= p.min_ratio * mu) & (sums - mu >= p.min_excess)
        pv = np.ones(n)
        if rules.any():
            pv[rules] = tail_probability(sums[rules], mu[rules], c2[rules])
        pv = np.minimum(1.0, pv * len(widths))  # Bonferroni over the windows tried
        better = pv < best_p
        best_p[better], best_w[better] = pv[better], width
        anomalous |= rules & (pv < p.alpha)

    if p.calibration_days > 0:
        surprise = -np.log10(np.maximum(best_p, 1e-300))
        span = max(1, int(p.calibration_days * DAY // bucket_seconds))
        reference = _trailing_max(surprise, span)
        reference[:span] = np.inf  # no verdict before a full calibration span
        may_fire = anomalous & (surprise > reference)
    else:
        may_fire = anomalous
    # Calibration gates the firing only: the incident's extent is every anomalous bucket after it.
    fired = _first_of_incidents(may_fire, max(1, p.cooldown_seconds // bucket_seconds))
    return Detection(expected=np.nan_to_num(expected_single, nan=0.0), pvalue=best_p, anomalous=anomalous,
                     fired=fired, window=best_w)


@dataclass(frozen=True)
class ShiftParams:
    alpha: float = 1e-6
    window_seconds: int = 6 * HOUR  # the recent span compared with the past
    baseline_days: int = 28  # the past it is compared with (the window itself excluded)
    min_n: int = 8  # mentions (or ratings) in the window before anything is judged
    min_excess: float = 5.0  # negative mentions above the expected number
    min_share_ratio: float = 2.0  # window share at least this times the usual share
    min_drop: float = 0.75  # stars below the usual mean rating, after shrinkage
    prior_weight: float = 5.0  # pseudo-ratings at the usual mean: small samples move less
    rating_sd: float = 1.3  # spread of single 1-5 star ratings (J-shaped review distributions sit near 1.2-1.5)
    cooldown_seconds: int = DAY


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
    fired = _first_of_incidents(anomalous, max(1, p.cooldown_seconds // bucket_seconds))
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
    fired = _first_of_incidents(anomalous, max(1, p.cooldown_seconds // bucket_seconds))
    return Detection(expected=np.nan_to_num(usual), pvalue=pv, anomalous=anomalous, fired=fired,
                     window=np.full(len(total), width))


def _trailing_max(x: np.ndarray, span: int) -> np.ndarray:
    """out[i] = max(x[i - span .. i - 1]): only earlier buckets, O(n)."""
    # origin shifts the filter left so that it covers x[i - span + 1 .. i]; then move it one bucket on.
    inclusive = maximum_filter1d(x, size=span, origin=(span - 1) // 2, mode="nearest")
    out = np.full(len(x), np.inf)
    out[1:] = inclusive[:-1]
    return out


def _first_of_incidents(anomalous: np.ndarray, cooldown: int) -> np.ndarray:
    fired = np.zeros_like(anomalous)
    last = -cooldown - 1
    for i in np.flatnonzero(anomalous):
        if i - last > cooldown:
            fired[i] = True
            last = i
    return fired


def incidents(counts: np.ndarray, detection: Detection, bucket_seconds: int, params: SpikeParams | None = None) -> list[Incident]:
    """One incident per fired bucket: the chain of anomalous buckets after it, with gaps under a quarter of the cooldown."""
    p = params or SpikeParams()
    gap = max(1, p.cooldown_seconds // bucket_seconds // 4)
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
        first = int(max(0, s - detection.window[s] + 1))  # the window that fired may begin earlier (a ramp)
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
