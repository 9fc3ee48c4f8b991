"""Which digest each recipient group gets in a run, and for which period.

A daily group gets the nightly digest: the run's period (by default the 24
hours up to the last full hour). A weekly group gets the seven days before its
send time ("monday 08:00" in the group's time zone): a weekly run writes the
digest of each group's latest send time that has passed, once, so a deployment
that runs every hour sends each group's week at its own hour and never twice.
An explicit `until` asks for the week up to that moment instead (a rerun).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class DigestPlan:
    """One group's digest in this run: its period [start, end) and the key that makes it go out once."""
    group: str
    cadence: str
    key: str
    start: datetime
    end: datetime


def parse_send_at(value: str) -> tuple[int, time]:
    """'monday 08:00' -> (0, 08:00); a clear error otherwise."""
    parts = value.strip().lower().split()
    if len(parts) != 2 or parts[0] not in WEEKDAYS:
        raise ValueError(f"send_at must be a weekday and a time, such as 'monday 08:00', not {value!r}")
    try:
        at = time.fromisoformat(parts[1])
    except ValueError:
        raise ValueError(f"send_at {value!r}: {parts[1]!r} is not a time (HH:MM)") from None
    return WEEKDAYS.index(parts[0]), at.replace(second=0, microsecond=0)


def latest_send_time(send_at: str, tz: tzinfo, now: datetime) -> datetime:
    """The most recent send time at or before `now` (UTC), read on the group's local calendar."""
    weekday, at = parse_send_at(send_at)
    local = now.astimezone(tz)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    slot = datetime.combine(day, at, tzinfo=tz)
    if slot > local:
        slot = datetime.combine(day - WEEK, at, tzinfo=tz)
    return slot.astimezone(timezone.utc)


def weekly_plan(group: str, send_at: str, tz: tzinfo, now: datetime, until: datetime | None = None,
                since: datetime | None = None) -> DigestPlan:
    """The week a weekly group's digest covers: up to its latest send time, or up to an explicit `until`."""
    end = until if until is not None else latest_send_time(send_at, tz, now)
    start = since if since is not None else end - WEEK
    if start >= end:
        raise ValueError(f"since ({start.isoformat()}) must be before until ({end.isoformat()})")
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    key = f"week-{local_end:%Y-%m-%dT%H%M}"
    if since is not None:
        key = f"week-{local_start:%Y-%m-%dT%H%M}_{local_end:%Y-%m-%dT%H%M}"
    return DigestPlan(group, "weekly", key, start.astimezone(timezone.utc), end.astimezone(timezone.utc))
