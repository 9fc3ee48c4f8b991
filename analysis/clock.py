"""The time a run takes as "now" (the flows, the demo, the store's records): the wall clock, or shifted to REPWATCH_NOW.

REPWATCH_NOW (an ISO datetime, e.g. 2026-10-25T12:00:00+00:00) runs the flows,
the demo and the test suite as if that were the time now, the clock still
ticking from there: CI runs the whole suite on a fixed date besides today, so
a result that holds only on some days fails before it lands. Unset, this is
datetime.now(UTC).
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

ENV = "REPWATCH_NOW"


def _offset() -> timedelta:
    value = os.environ.get(ENV, "").strip()
    if not value:
        return timedelta(0)
    try:
        start = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{ENV}={value!r} is not an ISO datetime (2026-10-25T12:00:00+00:00)") from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=timezone.utc)
    return start - datetime.now(timezone.utc)


_OFFSET = _offset()


def now() -> datetime:
    """The current time, timezone-aware UTC (shifted by REPWATCH_NOW when set)."""
    return datetime.now(timezone.utc) + _OFFSET
