"""Incidents: from per-bucket verdicts to one incident per rise, with its extent, size and severity.

A detector marks the buckets that clear its rules (`anomalous`), the first
of each episode that alerts (`fired`) and the buckets where the volume is
back to normal (`calm`). One incident, one alert, and the rule that ends it:
an incident is over at the first hour whose last three hours, taken together,
are back within the series' ordinary band (not above the expectation by more
than its usual hour-to-hour spread allows), whatever single buckets do; a
rise after that is a new incident with its own alert, however soon it comes.
Inside an open incident, a rise to ten times its first hour, or to five
times both its usual hour and its recent hours' busiest, is a new, much
worse incident. Its start is where the
volume rose, not where the window that fired began, and its end the last
bucket above normal.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

@dataclass
class Detection:
    """Per-bucket results of one causal pass over a series."""

    expected: np.ndarray  # baseline for the bucket alone
    pvalue: np.ndarray  # smallest tail probability over the test windows (Bonferroni-corrected)
    anomalous: np.ndarray  # bucket clears the statistical rules (an incident's extent)
    fired: np.ndarray  # first anomalous bucket of an incident: what alerts
    window: np.ndarray  # buckets in the test window that was most significant
    threshold: np.ndarray | None = None  # surprise (-log10 p) a bucket had to exceed to start an incident
    # The last hours are back within the ordinary band: an open episode is over here (None: wherever not anomalous).
    calm: np.ndarray | None = None


@dataclass(frozen=True)
class Incident:
    start: int  # first bucket of the window that fired
    end: int  # last anomalous bucket
    peak: int
    observed: float  # mentions over start..end
    expected: float
    pvalue: float
    ongoing: bool  # its episode is still open at the series' last bucket
    fired: int = -1  # the bucket whose verdict raised the alert
    escalated_from: int | None = None  # the start of the open incident it rose in, much worse (see episode_starts)

    @property
    def severity(self) -> str:
        return severity_for(self.pvalue, self.observed, self.expected)

    def overlaps(self, other: "Incident") -> bool:
        return self.start <= other.end and other.start <= self.end


@dataclass(frozen=True)
class Rebursts:
    """What makes a rise inside an open episode a new, much worse one: its `level` (a window's count, ending at
    each bucket) at `factor` times both the `usual` level and the busiest level of the `span` buckets before its
    own window (of `width` buckets), and more than `span` + `width` buckets after the episode last fired."""

    level: np.ndarray
    usual: np.ndarray
    factor: float
    width: int
    span: int

    def recent(self, i: int) -> float:
        """The busiest level ending in the `span` buckets before bucket i's own window began (at least 1)."""
        lo, hi = max(0, i - self.width - self.span + 1), max(0, i - self.width + 1)
        return float(max(1.0, self.level[lo:hi].max(initial=0.0)))

    def at(self, i: int, last_fired: int) -> bool:
        return bool(i - last_fired > self.span + self.width
                    and self.level[i] >= self.factor * max(self.recent(i), float(np.nan_to_num(self.usual[i]))))


def episode_close(calm: np.ndarray, start: int, n: int) -> int:
    """The first calm bucket after `start` (`calm`: sorted indices), where its episode is over; n if none yet."""
    at = np.searchsorted(calm, start, side="right")
    return int(calm[at]) if at < len(calm) else n


def episode_starts(hot: np.ndarray, up: np.ndarray, level: np.ndarray | None = None,
                   escalation: float = np.inf, rebursts: Rebursts | None = None) -> np.ndarray:
    """The first hot bucket of each episode, and of each much worse rise inside one.

    An episode opens at a hot bucket and goes on while its last hours are up
    (`up`: above the series' ordinary band) or hot; it is over at the first
    bucket where they are back within the band. One incident fires once,
    however long it lasts; once it is over it never silences the next rise,
    however soon that comes. Inside an open episode, a hot bucket whose
    `level` is `escalation` times the level that opened it, or a reburst (see
    `Rebursts`), is a new, much worse rise and fires as an incident of its own.
    """
    n = len(hot)
    fired = np.zeros(n, dtype=bool)
    calm = np.flatnonzero(~(np.asarray(up, dtype=bool) | hot))
    closes, opened_at, last = -1, np.inf, -n  # where the open episode is over (none open yet); its last firing
    for i in np.flatnonzero(hot):
        if i >= closes:
            closes = episode_close(calm, int(i), n)
        elif not ((level is not None and level[i] >= escalation * opened_at)
                  or (rebursts is not None and rebursts.at(int(i), last))):
            continue
        fired[i], opened_at, last = True, level[i] if level is not None else np.inf, int(i)
    return fired


def incidents(counts: np.ndarray, detection: Detection) -> list[Incident]:
    """One incident per fired bucket, over its episode: from where the volume rose to its last bucket above
    normal, ending where the episode is over or where a much worse rise inside it fired."""
    x = np.asarray(counts, dtype=np.float64)
    n = len(x)
    calm_mask = detection.calm if detection.calm is not None else ~(detection.anomalous | detection.fired)
    calm = np.flatnonzero(calm_mask)
    anomalous_idx = np.flatnonzero(detection.anomalous)
    out: list[Incident] = []
    starts = np.flatnonzero(detection.fired)
    open_since: int | None = None  # the start of an incident still open when the next one fired
    for k, s in enumerate(starts):
        following = int(starts[k + 1]) if k + 1 < len(starts) else n
        closes = episode_close(calm, int(s), n)
        last = min(following, closes) - 1  # a much worse rise inside it ends the incident before that rise
        inside = anomalous_idx[(anomalous_idx > s) & (anomalous_idx <= last)]
        end = int(inside[-1]) if len(inside) else int(s)
        escalated_from, open_since = open_since, None
        first = int(max(0, s - detection.window[s] + 1))  # the window that fired may begin earlier (a ramp) ...
        excess = x[first:s + 1] - detection.expected[first:s + 1]
        first += int(np.argmax(excess >= excess.mean()))  # ... from its first bucket with its share of the rise
        while end > s and x[end] <= detection.expected[end]:
            end -= 1  # a window still up on earlier buckets: the incident's own last bucket is the last one above normal
        if following < closes:  # still open: the next one rose inside it
            open_since = first
        span = np.arange(first, end + 1)
        out.append(Incident(
            start=first,
            end=end,
            peak=int(span[np.argmax(x[span] - detection.expected[span])]),
            observed=float(x[span].sum()),
            expected=float(detection.expected[span].sum()),
            pvalue=float(detection.pvalue[s:end + 1].min()),
            ongoing=bool(closes >= n and following >= n),
            fired=int(s),
            escalated_from=escalated_from,
        ))
    return out


# Size alone makes an incident high: this many times the usual and this many mentions more. A brand
# mentioned about once an hour has counts too coarse to read its spread from (0s and 1s look dispersed),
# so its p-values are loose; 30 mentions in an hour where one is usual is high however they read.
HIGH_RATIO, HIGH_EXCESS = 10.0, 20.0


def severity_for(pvalue: float, observed: float, expected: float) -> str:
    """high: far beyond chance at five times the usual, or ten times the usual and 20 mentions more;
    medium: well beyond chance at three times; low: the rest of what passed the detector's rules."""
    ratio = observed / max(expected, 0.5)
    if (pvalue < 1e-12 and ratio >= 5) or (ratio >= HIGH_RATIO and observed - expected >= HIGH_EXCESS):
        return "high"
    if pvalue < 1e-8 and ratio >= 3:
        return "medium"
    return "low"


def bucket_start(origin: datetime, index: int, bucket_seconds: int) -> datetime:
    return origin + timedelta(seconds=index * bucket_seconds)
