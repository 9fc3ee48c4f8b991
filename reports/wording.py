"""How the digests and pushes say things: metric names, expectations, waits, moments, safe links and snippets."""
from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit

METRIC_LABELS = {
    "mentions": "Mentions",
    "negative": "Negative mentions",
    "negative_share": "Share of negative mentions",
    "rating": "Mean rating",
}


def about(expected: float) -> str:
    """An expectation as a person says it: 'about 0.4', 'about 2.5', 'about 48', or 'almost none'."""
    if expected < 0.1:
        return "almost none"
    if expected < 10:
        return "about " + f"{expected:.1f}".removesuffix(".0")
    return f"about {expected:.0f}"


def describe_alert(metric: str, observed: float, expected: float) -> str:
    """'48 mentions where about 0.4 were expected', in the metric's own unit."""
    if metric == "rating":
        return f"mean rating {observed:.1f}★ where it is usually {expected:.1f}★"
    if metric == "negative_share":
        return f"{observed:.0f} negative mentions where {about(expected)} were expected at the usual share"
    noun = "mentions" if metric == "mentions" else "negative mentions"
    return f"{observed:.0f} {noun} where {about(expected)} were expected"


def safe_url(value: Any) -> str | None:
    """The URL if it is http(s) with a host; None for javascript:, data:, relative..."""
    if not isinstance(value, str):
        return None
    parts = urlsplit(value.strip())
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return value.strip()
    return None


def snippet(text: str | None, limit: int = 240) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def humanize_duration(seconds: float) -> str:
    """'40 minutes', '5 hours', '3 days': how a person says a wait."""
    seconds = abs(seconds)
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "under a minute"


def local_time(dt: datetime, tz: tzinfo) -> str:
    """'Tue 24 Nov 06:00': a moment as the digests show it, in the reader's zone."""
    return dt.astimezone(tz).strftime("%a %d %b %H:%M")
