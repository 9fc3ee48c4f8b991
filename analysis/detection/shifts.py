"""Shifts without (necessarily) more volume: the negative share rising, the mean star rating falling.

The negative share is tested against the past four weeks' share (binomial,
with a weak prior so a new brand starts at 10%); the mean rating against the
usual mean, shrunk towards it so two bad reviews are not a trend.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from analysis.detection.incidents import Detection, episode_starts
from analysis.detection.baseline import DAY, HOUR, window_sums


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
    # A shift is over when its window is back within the ordinary band: no longer above the usual share
    # (or mean) by this significance, or by half the rise the rules ask for.
    band_pvalue: float = 0.05


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
    half = (n >= p.min_n) & (k - expected >= p.min_excess / 2) & (k >= (1 + p.min_share_ratio) / 2 * expected)
    pv = np.ones(len(k))
    if half.any():
        # P(K >= k) for K ~ Binomial(n, p0) = I_{p0}(k, n - k + 1)
        pv[half] = special.betainc(k[half], n[half] - k[half] + 1, p0[half])
    pv_rules = np.where(rules, pv, 1.0)
    anomalous = rules & (pv < p.alpha)
    history = min(len(anomalous), span // 4)  # a few days of history first
    anomalous[:history] = False
    up = half & (pv < p.band_pvalue)
    up[:history] = False
    fired = episode_starts(anomalous, up)
    return Detection(expected=n_all * p0, pvalue=pv_rules, anomalous=anomalous, fired=fired,
                     window=np.full(len(k), width), calm=~(up | anomalous))


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
    judged = (w_n >= p.min_n) & (past_n >= 3 * p.min_n)
    rules = judged & (usual - shrunk >= p.min_drop)
    pv = np.where(judged, special.ndtr(-np.nan_to_num(z)), 1.0)
    anomalous = rules & (pv < p.alpha)
    up = judged & (usual - shrunk >= p.min_drop / 2) & (pv < p.band_pvalue)
    fired = episode_starts(anomalous, up)
    return Detection(expected=np.nan_to_num(usual), pvalue=np.where(rules, pv, 1.0), anomalous=anomalous, fired=fired,
                     window=np.full(len(total), width), calm=~(up | anomalous))
