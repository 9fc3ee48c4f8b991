"""How surprising a window is, and how surprising it must be: the spread and the false-alarm budget.

The spread: counts are negative binomial around the baseline, with an
over-dispersion pooled over the previous week (the median squared residual,
so past incidents barely move it), less what a baseline of only a few days
adds to it. The surprise of a window is -log10 of its tail probability.

The budget: real series have heavier tails than any model, so the surprise a
bucket must exceed is what this series' own ordinary days exceed about once
per budget period, from a robust Gumbel fit of its daily peak surprises over
the calibration span, never below the model's own threshold, with a margin
while the calibration is read from only a few days.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import special

from analysis.detection.baseline import row_medians, row_quantiles


CHI2_1_MEDIAN = 0.4549364231195724


def _excess_relative_variance(sums: np.ndarray, expected: np.ndarray,
                              baseline_days: np.ndarray | float = np.inf) -> np.ndarray:
    """Per window, what its residual says c^2 is: the squared residual beyond count noise, relative to the
    squared expectation, less what a baseline of `baseline_days` days adds (NaN where nothing was expected).

    Meant for a median: a squared normal residual's median is 0.455 of its mean (chi-square, one degree),
    hence the factor; without it the spread is half what it is and every ordinary day looks improbable.
    """
    with np.errstate(all="ignore"):
        return np.where(expected > 0, ((sums - expected) ** 2 / CHI2_1_MEDIAN - expected)
                        / (expected**2 * (1.0 + 1.0 / baseline_days)), np.nan)


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
    # The median of it, robust to past incidents.
    z = _excess_relative_variance(sums, np.where(np.arange(n) >= first_usable, expected, np.nan), baseline_days)
    steps = n // step + 1
    # Each step's c2 from the `span_steps` steps before it (the steps there are, at first): NaN
    # steps in front give every step a full span to take the median of. Single precision: a median
    # to seven digits, and a faster sort.
    before = np.full((span_steps + steps - 1) * step, np.nan, dtype=np.float32)
    used = min(n, (steps - 1) * step)  # the last step's own values are before no step
    before[span_steps * step: span_steps * step + used] = z[:used]
    windows = sliding_window_view(before.reshape(-1, step), span_steps, axis=0)
    rows = windows.reshape(steps, -1)  # (steps, step, span) -> a row per step: a copy, mostly ...
    if not rows.flags.writeable:  # ... but a view where the windows line up (one bucket a step)
        rows = rows.copy()
    c2 = row_medians(rows, min_count=10, overwrite=True).astype(np.float64)  # sorted where they are
    # A sparse series (expected mostly 0) has nothing to measure over-dispersion on: Poisson,
    # once it has a step of usable history at all.
    seen = np.arange(steps) > first_usable // step  # a step after the one holding the first usable bucket
    c2 = np.where(np.isnan(c2) & seen, 0.0, c2)
    c2 = np.maximum(c2, 1e-4)  # NaN (no history yet) stays NaN
    return np.repeat(c2, step)[:n]


def warmup_dispersion(sums: np.ndarray, expected: np.ndarray, step: int, prior: float) -> np.ndarray:
    """Over-dispersion for a series' first buckets, before it has a day of the model's own residuals.

    The median excess relative variance of every earlier window against the
    expectation it had then (the recent level, at first), re-estimated every
    `step` buckets, and never below `prior`: a new brand whose mentions come in
    bursts is as bursty on its first day as later, and a fixed guess of its
    spread would call its ordinary bursts incidents.
    """
    n = len(sums)
    z = _excess_relative_variance(sums, expected)
    out = np.full(n, prior)
    at = np.arange(step, n, step)
    if len(at):
        seen = np.where(np.arange(n)[None, :] < at[:, None], z[None, :], np.nan)  # a row per re-estimate
        median = row_medians(seen, min_count=5)
        out[step:] = np.repeat(np.fmax(median, prior), step)[: n - step]
    return out


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
    quartiles = row_quantiles(sliding_window_view(before, calibration_blocks), (0.25, 0.5, 0.75), min_count=3)
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
