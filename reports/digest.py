"""The morning digest: a context from plain data, rendered to email-safe HTML and text.

Everything scraped is untrusted: the HTML template autoescapes, and only
http(s) links are ever rendered as links (reports.templating). How figures
are said in words is in reports.wording; which rows its lists show, and its
language notes, in reports.digest_lists.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Mapping, Sequence

from reports.digest_lists import collapse_repeats, every_language, negative_drivers, read_note, unscored_note
from reports.templating import HTML, TEXT, DigestContext, RenderedDigest, TemplateRow
from reports.wording import METRIC_LABELS, describe_alert, humanize_duration, local_time


def change(now: float | None, before: float | None, *, unit: str, higher_is_good: bool | None) -> TemplateRow:
    """Change against the previous period: unit is 'relative' (%), 'points' (of a share), 'duration' (seconds) or 'plain'."""
    if now is None or before is None:
        return {"display": "no previous data" if now is not None else "", "direction": "flat", "good": None}
    diff = now - before
    if unit == "relative":
        display = ("new" if now else "±0%") if before == 0 else f"{diff / before:+.0%}"
    elif unit == "points":
        display = f"{diff * 100:+.0f} pts"
    elif unit == "duration":
        display = ("+" if diff >= 0 else "-") + humanize_duration(diff)
    else:
        display = f"{diff:+.2f}"
    direction = "up" if diff > 1e-9 else "down" if diff < -1e-9 else "flat"
    good = None if direction == "flat" or higher_is_good is None else (direction == "up") == higher_is_good
    return {"display": display, "direction": direction, "good": good}


def reply_rate(replies: Mapping[str, Any]) -> float | None:
    return replies["answered"] / replies["answerable"] if replies.get("answerable") else None


# Replies are measured over this many days up to the period's end, against the as many days before: a
# day's reviews are mostly too young to have an answer, so the period alone reads low and swings.
REPLY_WINDOW_DAYS = 30


def kpi_tiles(now: Mapping[str, Any], before: Mapping[str, Any], replies_now: Mapping[str, Any] | None = None,
              replies_before: Mapping[str, Any] | None = None,
              replies_period: Mapping[str, Any] | None = None) -> list[TemplateRow]:
    """Mentions, mean sentiment, negative share, mean rating, reply rate and time to reply, each with its change.

    `replies_now` and `replies_before` are the trailing reply windows; `replies_period` the period's own
    reviews, whose count is shown beside the rate."""
    def share(k: Mapping[str, Any]) -> float | None:
        return k["negative"] / k["scored"] if k.get("scored") else None

    tiles = [
        {"name": "Mentions", "value": f"{now['mentions']:,}",
         **change(now["mentions"], before["mentions"], unit="relative", higher_is_good=None)},
        {"name": "Mean sentiment", "value": "–" if now["mean_sentiment"] is None else f"{now['mean_sentiment']:+.2f}",
         **change(now["mean_sentiment"], before["mean_sentiment"], unit="plain", higher_is_good=True)},
        {"name": "Negative share", "value": "–" if share(now) is None else f"{share(now):.0%}",
         **change(share(now), share(before), unit="points", higher_is_good=False)},
    ]
    if now.get("rated"):
        tiles.append({"name": "Mean rating", "value": f"{now['mean_rating']:.1f}★",
                      **change(now["mean_rating"], before.get("mean_rating"), unit="plain", higher_is_good=True)})
    if replies_now and replies_now.get("answerable"):
        before_r = replies_before or {}
        rate = reply_rate(replies_now)
        detail = f"{replies_now['answered']} of {replies_now['answerable']} reviews"
        if replies_period is not None:
            detail += (f" in {REPLY_WINDOW_DAYS} days (this period: {replies_period.get('answered', 0)} of "
                       f"{replies_period.get('answerable', 0)})")
        tiles.append({"name": "Replied", "value": f"{rate:.0%}", "detail": detail,
                      **change(rate, reply_rate(before_r), unit="points", higher_is_good=True)})
        wait = replies_now.get("median_reply_seconds")
        if wait is not None:
            tiles.append({"name": "Time to reply", "value": humanize_duration(wait), "detail": "median",
                          **change(wait, before_r.get("median_reply_seconds"), unit="duration", higher_is_good=False)})
    return [{"detail": None, **tile} for tile in tiles]


def learning_notes(history_starts: Mapping[str, datetime], brands: Sequence[str], now: datetime,
                   full_days: int) -> list[str]:
    """One line per brand whose baseline has less than `full_days` of history: its alerts need a larger rise."""
    notes = []
    for name in brands:
        first = history_starts.get(name)
        days = 0 if first is None else int((now - first).total_seconds() // 86400)
        if days < full_days:
            history = "no history yet" if first is None else f"{days} day{'s' if days != 1 else ''} of history"
            notes.append(f"{name}: baseline still learning, {history}. Until it has {full_days} days, "
                         f"an alert needs a larger rise than usual.")
    return notes


def status_line(alerts: Sequence[Mapping[str, Any]], broken: int, total_sources: int, mentions: int,
                waiting: int = 0) -> dict[str, str]:
    """The one line that says whether anything is on fire (and, on a quiet day, what is waiting for an answer)."""
    if alerts:
        top = alerts[0]
        more = f" (+{len(alerts) - 1} more)" if len(alerts) > 1 else ""
        line = f"{top['severity'].upper()}: {top['brand']}: {top['summary']} since {top['started']}{more}"
        if broken:
            line += f"; {broken} of {total_sources} sources failing"
        return {"level": "alert", "line": line}
    if broken:
        return {"level": "warning",
                "line": f"{broken} of {total_sources} sources failing: their silence is not a quiet day"}
    line = f"All quiet: {mentions:,} mentions, no alerts"
    if waiting:
        line += f"; {waiting} negative review{'s' if waiting != 1 else ''} waiting for a reply"
    return {"level": "ok", "line": line}


def incident_state(alert: Mapping[str, Any], period_end: datetime, tz: tzinfo) -> str:
    """'still going on' while the period's last bucket is still high, else when it came back down.

    An incident is only over after a few quiet hours (the detector's rule), but
    a reader at breakfast wants to know whether it is still happening now.
    """
    back = alert["last_bucket"] + timedelta(seconds=int(alert["bucket_seconds"]))
    return "still going on" if back >= period_end else f"back to normal since {local_time(back, tz)}"


@dataclass(frozen=True)
class DigestInputs:
    """What a daily digest is made of, as the store and the detector gave it: plain values."""

    title: str
    period_start: datetime
    period_end: datetime
    tz: tzinfo
    brands: Sequence[Mapping[str, Any]]
    kpis_now: Mapping[str, Mapping[str, Any]]
    kpis_before: Mapping[str, Mapping[str, Any]]
    alerts: Sequence[Mapping[str, Any]]
    negatives: Sequence[Mapping[str, Any]]
    health: Sequence[Mapping[str, Any]]
    trend: Sequence[Mapping[str, Any]] = ()
    awaiting: Sequence[Mapping[str, Any]] = ()
    awaiting_total: int = 0
    replies_now: Mapping[str, Mapping[str, Any]] | None = None
    replies_before: Mapping[str, Mapping[str, Any]] | None = None
    replies_period: Mapping[str, Mapping[str, Any]] | None = None
    overall_ratings: Sequence[Mapping[str, Any]] = ()
    learning: Sequence[str] = ()
    unscored: Mapping[str, int] | None = None
    read: Mapping[str, int] | None = None  # the period's mentions read for sentiment, by language
    pushed: Mapping[str, Sequence[Mapping[str, Any]]] | None = None
    now: datetime | None = None


def build_context(inputs: DigestInputs) -> DigestContext:
    """Everything the templates show, as plain values, from plain inputs."""
    title, period_start, period_end, tz, brands = (inputs.title, inputs.period_start, inputs.period_end, inputs.tz,
                                                   inputs.brands)
    kpis_now, kpis_before, alerts, negatives, health = (inputs.kpis_now, inputs.kpis_before, inputs.alerts,
                                                        inputs.negatives, inputs.health)
    trend, awaiting, awaiting_total, replies_period = inputs.trend, inputs.awaiting, inputs.awaiting_total, inputs.replies_period
    overall_ratings, learning, unscored, pushed = inputs.overall_ratings, inputs.learning, inputs.unscored, inputs.pushed
    own = [b for b in brands if not b.get("competitor")]
    replies_now, replies_before = inputs.replies_now or {}, inputs.replies_before or {}
    now = inputs.now or period_end
    alert_rows = []
    for a in alerts:
        details = a.get("details") or {}
        alert_rows.append({
            "brand": a["brand"],
            "source": a["source"],
            "metric_label": METRIC_LABELS.get(a["metric"], a["metric"]),
            "summary": describe_alert(a["metric"], a["observed"], a["expected"]),
            "severity": a["severity"],
            "started": local_time(a["incident_start"], tz),
            "observed": a["observed"],
            "expected": a["expected"],
            "state": incident_state(a, period_end, tz),
            "pushed": pushed_line((pushed or {}).get(a.get("alert_id", ""), ()), tz),
            "terms": details.get("terms", []),
            "negative": details.get("negative"),
            "escalated_from": (local_time(datetime.fromisoformat(details["escalated_from"]), tz)
                               if details.get("escalated_from") else None),
            "examples": [
                {**e, "drivers": negative_drivers(e.get("drivers") or []), "when": local_time(e["published_at"], tz)}
                for e in collapse_repeats(details.get("examples", []), 3)
            ],
        })
    broken = sum(1 for h in health if not h["ok"])
    total_mentions = sum(kpis_now[b["name"]]["mentions"] for b in own)
    all_volume = sum(kpis_now[b["name"]]["mentions"] for b in brands) or 1
    comparison = []
    for b in brands:
        k = kpis_now[b["name"]]
        replies = replies_now.get(b["name"], {})
        comparison.append({
            "brand": b["name"],
            "competitor": bool(b.get("competitor")),
            "mentions": k["mentions"],
            "share_of_voice": k["mentions"] / all_volume,
            "mean_sentiment": k["mean_sentiment"],
            "negative_share": (k["negative"] / k["scored"]) if k.get("scored") else None,
            "mean_rating": k["mean_rating"],
            "reply_rate": reply_rate(replies),
            "median_reply": (humanize_duration(replies["median_reply_seconds"])
                             if replies.get("median_reply_seconds") is not None else None),
            "stated": [r for r in overall_ratings if r["brand"] == b["name"]],
        })
    trend_max = max((row["count"] for row in trend), default=0) or 1
    return {
        "title": title,
        "period": {
            "start": local_time(period_start, tz),
            "end": local_time(period_end, tz),
            "zone": str(tz),
        },
        "status": status_line(alert_rows, broken, len(health), total_mentions, awaiting_total),
        "learning": list(learning),
        "unscored_note": " ".join(n for n in (read_note(inputs.read or {}), unscored_note(unscored or {})) if n) or None,
        "tiles": [{"brand": b["name"], "metrics": kpi_tiles(kpis_now[b["name"]], kpis_before[b["name"]],
                                                            replies_now.get(b["name"]), replies_before.get(b["name"]),
                                                            (replies_period or {}).get(b["name"])
                                                            if replies_period is not None else None)}
                  for b in own],
        "awaiting": [{**r, "age": humanize_duration((now - r["published_at"]).total_seconds()),
                      "when": local_time(r["published_at"], tz)} for r in awaiting],
        "awaiting_more": max(0, awaiting_total - len(awaiting)),
        "alerts": alert_rows,
        "negatives": [{"label": None, "rated_label": None, "text_language": None, **n, "drivers": negative_drivers(n.get("drivers") or []),
                       "when": local_time(n["published_at"], tz)}
                      for n in every_language(collapse_repeats(negatives, len(negatives)), 8)],
        "health": list(health),
        "broken": broken,
        "comparison": comparison if len(brands) > 1 else [],
        "trend": [{**row, "width": round(100 * row["count"] / trend_max)} for row in trend],
    }


PUSH_KINDS = {"opened": "the alert", "ended": "back to normal"}


def pushed_line(pushes: Sequence[Mapping[str, Any]], tz: tzinfo) -> str | None:
    """'the alert at Tue 01 Dec 22:15 to support (Slack); back to normal at 03:15 to support (Slack)'."""
    parts = []
    for p in pushes:
        what = PUSH_KINDS.get(p["kind"], "got much worse" if str(p["kind"]).startswith("escalated") else p["kind"])
        parts.append(f"{what} at {local_time(p['sent_at'], tz)} to {p['recipient_group']}"
                     + (f" ({p['services']})" if p.get("services") else ""))
    return "; ".join(parts) or None


def render_digest(context: Mapping[str, Any]) -> RenderedDigest:
    status = context["status"]
    prefix = {"alert": "[ALERT] ", "warning": "[SOURCES FAILING] ", "ok": ""}[status["level"]]
    subject = f"{prefix}{context['title']}: {context['period']['end']}"
    return RenderedDigest(
        subject=" ".join(subject.split()),
        html=HTML.get_template("digest.html.j2").render(**context),
        text=TEXT.get_template("digest.txt.j2").render(**context),
    )
