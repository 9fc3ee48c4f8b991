"""What each false alarm and each missed window was: the evidence a benchmark score is read by.

NAB labels a few incidents per series, and a real series has more bursts than
that: a news story's second day, a launch nobody labelled. A firing outside
every window is scored as a false alarm whatever it was. So the benchmarks say
how big each one was: its last hour against the detector's expectation for
that hour. A false alarm at ten times the usual volume is a question about the
labels; one at twice the usual is a question about the detector. Likewise a
missed window's biggest hour says whether there was a rise to catch at all.

A false alarm is sized by the incident it opened (its biggest hour, from the
firing to the incident's end), as a missed window is by its biggest hour: a
burst that a team is told of in its first minutes and that then grows to ten
times the usual is news, not noise, and a detector that alerts earlier must
not score worse for it. The size at the moment it fired is kept beside it.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import numpy as np

from analysis.detection.spikes import DAY, HOUR, Incident, window_sums
from benchmarks.nab import probation_rows

BIG_RATIO = 5.0  # "at five times the usual or more": what the summaries count apart (news nobody labelled)
BIG_MISS_RATIO = 8.0  # a missed window whose biggest hour was this many times the usual: "missed a big one"
EARLY_DAYS = 14  # "in a series' first two weeks": where a new brand's alarms come from


@dataclass(frozen=True)
class Event:
    kind: str  # "false alarm" or "missed"
    row: int  # where it fired (a false alarm), or where a missed window's biggest hour ends
    day: float  # days since the series began
    observed: float  # mentions in the hour ending there
    expected: float  # what the detector expected of that hour
    fired_ratio: float | None = None  # a false alarm sized by its incident: its hour's ratio when it fired

    @property
    def ratio(self) -> float:
        return self.observed / max(self.expected, 0.5)  # as the detector reads a slot it never saw busy

    @property
    def ratio_when_fired(self) -> float:
        return self.ratio if self.fired_ratio is None else self.fired_ratio


@dataclass(frozen=True)
class Hours:
    """Per row of a series: the hour ending there (observed and expected), how many days in it is, and (where
    known) the last row of the incident that fired there."""
    observed: np.ndarray
    expected: np.ndarray
    day: np.ndarray
    reach: np.ndarray | None = None  # per row that fired: the last row of the incident it opened

    @classmethod
    def on_grid(cls, counts: np.ndarray, expected: np.ndarray, bucket_seconds: int,
                rows: np.ndarray | None = None, found: Sequence[Incident] | None = None) -> "Hours":
        """From a series on its time grid (`rows`: each row's bucket on it, if the rows have gaps), with the
        incidents `found` on it, if given, so that a false alarm is sized by the incident it opened."""
        width = max(1, HOUR // bucket_seconds)  # the bucket itself when it is an hour or more
        at = np.arange(len(counts)) if rows is None else np.asarray(rows)
        observed = window_sums(np.asarray(counts, dtype=np.float64), width)
        usual = window_sums(np.nan_to_num(expected), width)
        reach = None
        if found is not None:
            ends = np.arange(len(counts))
            for incident in found:
                ends[incident.fired] = incident.end
            # One incident ends before the next fires (incidents()), so the furthest end so far is the latest
            # one's, also for a row that reports what fired in a gap before it (benchmarks.spikes.detect_rows).
            reach = np.searchsorted(at, np.maximum.accumulate(ends)[at], side="right") - 1
        return cls(observed[at], usual[at], at * bucket_seconds / DAY, reach)

    def event(self, kind: str, row: int) -> Event:
        return Event(kind, row, float(self.day[row]), float(self.observed[row]), float(self.expected[row]))

    def biggest(self, kind: str, start: int, stop: int) -> Event:
        """The hour of rows start..stop-1 furthest above what was expected of it (a window's size)."""
        ratio = self.observed[start:stop] / np.maximum(self.expected[start:stop], 0.5)
        return self.event(kind, start + int(np.argmax(ratio)))

    def alarm(self, row: int) -> Event:
        """A false alarm at `row`, sized by the incident it opened: its biggest hour up to the incident's end."""
        fired = self.event("false alarm", row)
        if self.reach is None:
            return fired
        peak = self.biggest("false alarm", row, int(self.reach[row]) + 1)
        return replace(fired, observed=peak.observed, expected=peak.expected, fired_ratio=fired.ratio)


def scored_outside(rows: int, windows: Sequence[tuple[int, int]]) -> np.ndarray:
    """The rows where the NAB scorer counts a firing as false: after the probation, outside every window."""
    outside = np.ones(rows, dtype=bool)
    outside[: probation_rows(rows)] = False
    for start, end in windows:
        outside[start: end + 1] = False
    return outside


def false_alarms(fired: np.ndarray, windows: Sequence[tuple[int, int]], hours: Hours) -> list[Event]:
    """Every firing the NAB scorer counts as false (outside every window, after the probation), with its size
    (that of the incident it opened, where `hours` knows the incidents)."""
    at = np.flatnonzero(np.asarray(fired, dtype=bool) & scored_outside(len(fired), windows))
    return [hours.alarm(int(i)) for i in at]


def missed_windows(fired: np.ndarray, windows: Sequence[tuple[int, int]], hours: Hours) -> list[Event]:
    """Every scored window without a firing, with its biggest hour against what was expected of it."""
    probation = probation_rows(len(fired))
    return [hours.biggest("missed", start, end + 1) for start, end in windows
            if end >= probation and not np.any(fired[max(start, probation): end + 1])]


def noise(alarms: Iterable[Event], when_fired: bool = False) -> int:
    """How many false alarms were under BIG_RATIO (noise, what a team would call wrong): each sized by the incident
    it opened, or `when_fired`, by the hour it fired at."""
    return sum((a.ratio_when_fired if when_fired else a.ratio) < BIG_RATIO for a in alarms)


def summary(alarms: Sequence[Event]) -> str:
    """One line: how many false alarms, how many of them big, how many early, and their median size."""
    if not alarms:
        return "false alarms: none"
    big = sum(a.ratio >= BIG_RATIO for a in alarms)
    early = sum(a.day < EARLY_DAYS for a in alarms)
    median = statistics.median(a.ratio for a in alarms)
    return (f"false alarms: {len(alarms)}, of which {big} at {BIG_RATIO:g}x their hour's expectation or more "
            f"and {early} in a series' first {EARLY_DAYS} days; median size {median:.1f}x")


def describe(event: Event) -> str:
    told = (f"{event.kind:11s} day {event.day:5.1f}  its hour {event.observed:.0f} against {event.expected:.1f} "
            f"expected ({event.ratio:.1f}x)")
    if event.fired_ratio is not None and abs(event.fired_ratio - event.ratio) > 0.05:
        told += f", {event.fired_ratio:.1f}x when it fired"
    return told


def series_months(rows: int, windows: Sequence[tuple[int, int]], bucket_seconds: int) -> float:
    """The time the scorer counts false alarms in (after the probation, outside every window), in 30-day months."""
    return float(scored_outside(rows, windows).sum()) * bucket_seconds / (30 * DAY)


def noise_line(alarms: Sequence[Event], months: float) -> str:
    """False alarms per series-month: under BIG_RATIO (noise, what a team would call wrong) apart from bursts."""
    if months <= 0:
        return "false alarms per series-month: no time scored"
    under = noise(alarms)
    return (f"false alarms per series-month: {under / months:.2f} under {BIG_RATIO:g}x (noise), "
            f"{(len(alarms) - under) / months:.2f} at {BIG_RATIO:g}x or more (unlabelled bursts), "
            f"over {months:.1f} series-months; sized by the hour each fired at instead: "
            f"{noise(alarms, when_fired=True) / months:.2f} under {BIG_RATIO:g}x")


def big_misses_line(missed: Sequence[Event]) -> str:
    """The missed windows whose biggest hour was BIG_MISS_RATIO times its expectation or more."""
    big = [m for m in missed if m.ratio >= BIG_MISS_RATIO]
    sizes = ", ".join(f"{m.ratio:.1f}x: {m.observed:.0f} against {m.expected:.1f}"
                      for m in sorted(big, key=lambda m: -m.ratio))
    return (f"missed big ones (biggest hour {BIG_MISS_RATIO:g}x or more): {len(big)} of {len(missed)} missed windows"
            + (f" ({sizes})" if big else ""))
