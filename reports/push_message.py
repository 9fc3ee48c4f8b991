"""The text of a pushed alert: a title and a few plain lines, short enough for a phone's notification.

Scraped text is cut and stripped of line breaks; links are only http(s)
ones (safe_url); nothing here is HTML.
"""
from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any, Mapping

from reports.wording import METRIC_LABELS, describe_alert, safe_url

MAX_EXAMPLE = 140


def _clock(dt: datetime, tz: tzinfo) -> str:
    return dt.astimezone(tz).strftime("%H:%M")


def _one_line(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def compose(alert: Mapping[str, Any], kind: str, tz: tzinfo, run_url: str | None = None) -> tuple[str, str]:
    """(title, body) for an `opened`, `escalated-<n>` or `ended` push of this alert."""
    severity = str(alert["severity"]).upper()
    brand, metric = alert["brand"], alert["metric"]
    label = METRIC_LABELS.get(metric, metric).lower()
    where = "" if alert["source"] == "all" else f" on {alert['source']}"
    summary = describe_alert(metric, alert["observed"], alert["expected"])
    since = _clock(alert["incident_start"], tz)
    details = alert.get("details") or {}
    if kind == "ended":
        back = alert["last_bucket"] + timedelta(seconds=int(alert["bucket_seconds"]))
        title = f"Back to normal: {brand} {label}{where}"
        lines = [f"Back to normal since {_clock(back, tz)}: {summary} from {since}."]
    else:
        worse = kind.startswith("escalated") or bool(details.get("escalated_from"))
        title = f"[{severity}] {brand}: {label}{where} {'got much worse' if worse else 'rising'}"
        peak = details.get("peak")
        lines = [f"{summary}, since {since}."]
        if details.get("escalated_from") and peak is not None:
            began = _clock(datetime.fromisoformat(str(details["escalated_from"])), tz)
            lines.append(f"Now {peak:.0f} in its busiest hour: a much worse rise inside the incident that began "
                         f"at {began}.")
        elif worse and peak is not None:
            lines.append(f"Now {peak:.0f} in its busiest hour, ten times what it was at the first alert.")
        if details.get("negative") is not None and metric == "mentions":
            lines.append(f"{details['negative']:.0f} of them negative.")
        if details.get("terms"):
            lines.append("What people say: " + ", ".join(details["terms"][:5]) + ".")
        for example in (details.get("examples") or [])[:2]:
            link = safe_url(example.get("url"))
            lines.append(f"- \u201c{_one_line(example.get('text') or '', MAX_EXAMPLE)}\u201d"
                         + (f" {link}" if link else ""))
    if run_url:
        lines.append(f"Run: {run_url}")
    return title, "\n".join(lines)

