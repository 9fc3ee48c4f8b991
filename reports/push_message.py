"""The text of a pushed alert: a title and a few plain lines, short enough for a phone's notification.

Scraped text is cut, stripped of line breaks and defused (`defuse`): chat
services read markup in a message (Slack's <!channel> and <url|label>,
Discord's @everyone and [label](url), mentions of users and roles), and a
stranger's post must never ping the team's channel or disguise a link.
Links are only http(s) ones (safe_url); nothing here is HTML.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from typing import Any, Mapping

from reports.wording import METRIC_LABELS, describe_alert, safe_url

MAX_EXAMPLE = 140


def _clock(dt: datetime, tz: tzinfo) -> str:
    return dt.astimezone(tz).strftime("%H:%M")


def _one_line(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_ZWSP = "\u200b"  # a zero-width space: invisible, but it breaks the markup a chat service looks for
_AT_NAME = re.compile(r"@(?=[\w&#!])", re.UNICODE)
_LINK_MARKUP = re.compile(r"\]\s*\(")


def defuse(text: str) -> str:
    """Stranger's text as a chat shows it, with nothing a chat service acts on.

    Angle brackets become look-alikes (‹ ›): no Slack <!channel>, <!here>,
    <@U…>, <#C…> or <url|disguised label>, no Discord <@id> or <@&role>.
    A zero-width space after every @ that starts a name: no @everyone,
    @here, @channel or @user anywhere. And none between ] and (: no markdown
    [label](url) link. The words read the same.
    """
    text = text.replace("<", "\u2039").replace(">", "\u203a")
    text = _AT_NAME.sub("@" + _ZWSP, text)
    return _LINK_MARKUP.sub("]" + _ZWSP + "(", text)


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
        if details.get("terms"):  # words from strangers' posts
            lines.append("What people say: " + defuse(", ".join(str(t) for t in details["terms"][:5])) + ".")
        for example in (details.get("examples") or [])[:2]:
            link = safe_url(example.get("url"))
            lines.append(f"- \u201c{defuse(_one_line(str(example.get('text') or ''), MAX_EXAMPLE))}\u201d"
                         + (f" {defuse(link)}" if link else ""))
    if run_url:
        lines.append(f"Run: {run_url}")
    return title, "\n".join(lines)

