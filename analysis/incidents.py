"""Incidents: from per-bucket verdicts to one incident per rise, with its extent, size and severity.

A detector marks the buckets that clear its rules (`anomalous`) and the
first of each episode that alerts (`fired`). One incident, one alert: an
incident lasts while its volume stays up, and ends after `quiet_seconds`
back to normal; a new rise after that is a new incident, however soon it
comes. Its start is where the volume rose, not where the window that fired
began, and its end the last bucket above normal.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

# Back to normal this long: the incident is over, a new rise is new (SpikeParams.quiet_seconds by default).
QUIET_SECONDS = 3 * 3600


class HasQuietSeconds(Protocol):
    quiet_seconds: int


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
    escalated_from: int | None = None  # the start of the open incident it rose in, tenfold (see detect_spikes)

    @property
    def severity(self) -> str:
        return severity_for(self.pvalue, self.observed, self.expected)

    def overlaps(self, other: "Incident") -> bool:
        return self.start <= other.end and other.start <= self.end


def _incident_starts(hot: np.ndarray, elevated: np.ndarray, quiet: int, level: np.ndarray | None = None,
                     escalation: float = np.inf) -> np.ndarray:
    """The first hot bucket of each episode of elevated volume; an episode ends after `quiet` calm buckets.

    One incident fires once, however long it lasts; once it has ended it
    never silences the next rise, however soon that comes. Inside an open
    episode, a hot bucket at `escalation` times the `level` that opened it
    (a new, much larger rise) fires as an incident of its own.
    """
    fired = np.zeros(len(hot), dtype=bool)
    last_elevated, episode_fired, opened_at = -quiet - 1, False, np.inf
    for i in np.flatnonzero(elevated | hot):
        if i - last_elevated > quiet:
            episode_fired = False
        if hot[i] and (not episode_fired or (level is not None and level[i] >= escalation * opened_at)):
            fired[i] = episode_fired = True
            opened_at = level[i] if level is not None else np.inf
        last_elevated = i
    return fired


def incidents(counts: np.ndarray, detection: Detection, bucket_seconds: int,
              params: HasQuietSeconds | None = None) -> list[Incident]:
    """One incident per fired bucket: the chain of anomalous buckets after it, with no quiet gap between them."""
    gap = max(1, (params.quiet_seconds if params is not None else QUIET_SECONDS) // bucket_seconds)
    x = np.asarray(counts, dtype=np.float64)
    n = len(x)
    anomalous_idx = np.flatnonzero(detection.anomalous)
    out: list[Incident] = []
    starts = np.flatnonzero(detection.fired)
    open_since: int | None = None  # the start of an incident still open when the next one fired
    for k, s in enumerate(starts):
        last = int(starts[k + 1]) - 1 if k + 1 < len(starts) else n - 1  # an escalation ends the incident before it
        end = int(s)
        for i in anomalous_idx[(anomalous_idx > s) & (anomalous_idx <= last)]:
            if i - end > gap:
                break
            end = int(i)
        escalated_from, open_since = open_since, None
        first = int(max(0, s - detection.window[s] + 1))  # the window that fired may begin earlier (a ramp) ...
        excess = x[first:s + 1] - detection.expected[first:s + 1]
        first += int(np.argmax(excess >= excess.mean()))  # ... from its first bucket with its share of the rise
        while end > s and x[end] <= detection.expected[end]:
            end -= 1  # a window still up on earlier buckets: the incident's own last bucket is the last one above normal
        if k + 1 < len(starts) and starts[k + 1] - end <= gap:  # still open: the next one rose inside it
            open_since = first
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
