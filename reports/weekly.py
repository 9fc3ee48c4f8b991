"""The weekly digest, for marketing and leadership: the week against the week before and the competitors,
eight weeks of trend, the week's incidents, what rose and fell among the complaints, the best and worst
reviews, and the sources' health over the week. A context from plain data, rendered to email-safe HTML
(tables and inline styles; the trends are table bars, no script, SVG or image) and text.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, tzinfo
from typing import Any, Mapping, Sequence

from analysis import themes
from analysis.sentiment.language import language_name
from reports.digest import REPLY_WINDOW_DAYS, change, pushed_line, reply_rate
from reports.templating import HTML, TEXT, DigestContext, RenderedDigest, TemplateRow
from reports.wording import METRIC_LABELS, describe_alert, humanize_duration, local_time

TREND_WEEKS = 8
THEME_WEEKS = 4  # themes rise or fall against this many weeks before
FAILING_DAYS_NEWS = 3  # a source failing on this many days of the week is news, said in the headline


def _share(k: Mapping[str, Any]) -> float | None:
    return k["negative"] / k["scored"] if k.get("scored") else None


def scoreboard(brands: Sequence[Mapping[str, Any]], figures: Mapping[str, Sequence[Mapping[str, Any]]],
               replies: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[TemplateRow]:
    """One row per brand (own first): this week's figures, each with its change on the week before.

    `figures[brand]` are weeks oldest first (the last is this week); `replies[brand]` the trailing
    reply windows ending at each of the same weeks' ends."""
    def volume(i: int) -> int:
        return sum(figures[b["name"]][i]["mentions"] for b in brands)

    total_now, total_before = volume(-1), volume(-2)
    rows = []
    for b in sorted(brands, key=lambda b: bool(b.get("competitor"))):
        now, before = figures[b["name"]][-1], figures[b["name"]][-2]
        r_now, r_before = replies[b["name"]][-1], replies[b["name"]][-2]
        sov_now = now["mentions"] / total_now if total_now else None
        sov_before = before["mentions"] / total_before if total_before else None
        wait_now, wait_before = r_now.get("median_reply_seconds"), r_before.get("median_reply_seconds")
        rows.append({
            "brand": b["name"], "competitor": bool(b.get("competitor")),
            "mentions": {"value": f"{now['mentions']:,}",
                         **change(now["mentions"], before["mentions"], unit="relative", higher_is_good=None)},
            "mean_sentiment": {"value": _fmt(now["mean_sentiment"], "{:+.2f}"),
                               **change(now["mean_sentiment"], before["mean_sentiment"], unit="plain",
                                        higher_is_good=True)},
            "negative_share": {"value": _fmt(_share(now), "{:.0%}"),
                               **change(_share(now), _share(before), unit="points", higher_is_good=False)},
            "mean_rating": {"value": _fmt(now["mean_rating"], "{:.2f}★"),
                            **change(now["mean_rating"], before["mean_rating"], unit="plain", higher_is_good=True)},
            "share_of_voice": {"value": _fmt(sov_now, "{:.0%}"),
                               **change(sov_now, sov_before, unit="points", higher_is_good=None)},
            "reply_rate": {"value": _fmt(reply_rate(r_now), "{:.0%}"),
                           "detail": f"{r_now.get('answered', 0)} of {r_now.get('answerable', 0)}",
                           **change(reply_rate(r_now), reply_rate(r_before), unit="points", higher_is_good=True)},
            "median_reply": {"value": humanize_duration(wait_now) if wait_now is not None else "–",
                             **change(wait_now, wait_before, unit="duration", higher_is_good=False)},
        })
    for row in rows:  # every cell may carry a detail line; most have none
        for cell in row.values():
            if isinstance(cell, dict):
                cell.setdefault("detail", None)
    return rows


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else spec.format(value)


def trend_rows(weeks: Sequence[Mapping[str, Any]], replies: Sequence[Mapping[str, Any]], tz: tzinfo) -> list[TemplateRow]:
    """A brand's weeks, oldest first, each metric with a bar width (% of the eight weeks' largest)."""
    shares = [_share(w) for w in weeks]
    rates = [reply_rate(r) for r in replies]
    top_volume = max((w["mentions"] for w in weeks), default=0) or 1
    top_share = max((s for s in shares if s is not None), default=0) or 1

    def bar(value: float | None, top: float) -> int:
        return 0 if value is None else max(1, round(100 * value / top))

    rows = []
    for w, share, rate in zip(weeks, shares, rates):
        rating = w["mean_rating"]
        rows.append({
            "label": w["start"].astimezone(tz).strftime("%d %b"),
            "mentions": w["mentions"], "mentions_bar": bar(w["mentions"], top_volume),
            "negative_share": _fmt(share, "{:.0%}"), "negative_bar": bar(share, top_share),
            "mean_rating": _fmt(rating, "{:.2f}"), "rating_bar": bar(rating, 5.0),
            "reply_rate": _fmt(rate, "{:.0%}"), "reply_bar": bar(rate, 1.0),
        })
    return rows


def language_rows(entries: Sequence[Mapping[str, Any]]) -> list[TemplateRow]:
    """A brand's week by language (most mentions first): mentions and negative share, each against the week
    before, and how many the model could not read. Empty when all of both weeks was in one language."""
    if len(entries) < 2:
        return []
    rows = []
    for e in entries:
        now, before = e["now"], e["before"]
        share_now = now["negative"] / now["judged"] if now["judged"] else None
        share_before = before["negative"] / before["judged"] if before["judged"] else None
        rows.append({
            "language": _language_label(e["language"]),
            "mentions": {"value": f"{now['mentions']:,}",
                         **change(now["mentions"], before["mentions"], unit="relative", higher_is_good=None)},
            "negative_share": {"value": _fmt(share_now, "{:.0%}"),
                               **change(share_now, share_before, unit="points", higher_is_good=False)},
            "count": now["mentions"],
            "unread": now["mentions"] - now["read"],
        })
    return rows


def _language_label(code: str) -> str:
    """A language's name for a table cell: 'Undetermined' for a text no language was found for."""
    name = language_name(code)
    return "Undetermined" if code == "und" or (name == code and code.startswith("und")) else name


def incident_rows(alerts: Sequence[Mapping[str, Any]], pushed: Mapping[str, Sequence[Mapping[str, Any]]],
                  tz: tzinfo) -> list[TemplateRow]:
    """The week's incidents, oldest first: when, how long, how high, and whether anyone was pushed."""
    rows = []
    for a in sorted(alerts, key=lambda a: a["incident_start"]):
        end = a["last_bucket"] + timedelta(seconds=int(a["bucket_seconds"]))
        ratio = a["observed"] / a["expected"] if a["metric"] in ("mentions", "negative") and a["expected"] > 0 else None
        pushes = pushed.get(a.get("alert_id", ""), ())
        rows.append({
            "brand": a["brand"], "source": a["source"], "severity": a["severity"],
            "metric_label": METRIC_LABELS.get(a["metric"], a["metric"]),
            "when": local_time(a["incident_start"], tz),
            "lasted": humanize_duration((end - a["incident_start"]).total_seconds()),
            "height": describe_alert(a["metric"], a["observed"], a["expected"])
            + (f" ({ratio:.0f}×)" if ratio and ratio >= 2 else ""),
            "pushed": pushed_line(pushes, tz) if pushes else None,
            "terms": (a.get("details") or {}).get("terms", []),
        })
    return rows


def theme_lists(complaints_now: Sequence[str], complaints_before: Sequence[str], mentions_now: Sequence[str],
                mentions_before: Sequence[str], exclude: Sequence[str]) -> dict[str, list[str]]:
    """What rose and fell among the complaints against the earlier weeks' complaints (words every complaint
    has do not rise), and what rose among all mentions."""
    def terms(now: Sequence[str], before: Sequence[str]) -> list[str]:
        return [t.term for t in themes.rising_terms(now, before, exclude=exclude)] if now and before else []

    return {"complaints_rising": terms(complaints_now, complaints_before),
            "complaints_falling": terms(complaints_before, complaints_now),
            "topics_rising": terms(mentions_now, mentions_before)}


def health_rows(checks: Sequence[Mapping[str, Any]], tz: tzinfo) -> list[TemplateRow]:
    """Per source and target: on how many days of the week it was checked and on how many it failed, the
    last error; failing ones first. A day counts as failed when any check that day failed."""
    days: dict[tuple[str, str, str], dict[Any, bool]] = defaultdict(dict)
    last_error: dict[tuple[str, str, str], str] = {}
    for c in checks:
        key = (c["brand"], c["source"], c["target"])
        day = c["checked_at"].astimezone(tz).date()
        days[key][day] = days[key].get(day, True) and bool(c["ok"])
        if not c["ok"]:
            last_error[key] = c["error"] or ""
    rows = []
    for key, per_day in days.items():
        failed = sum(1 for ok in per_day.values() if not ok)
        rows.append({"brand": key[0], "source": key[1], "target": key[2], "days": len(per_day),
                     "failed_days": failed, "news": failed >= FAILING_DAYS_NEWS, "error": last_error.get(key)})
    rows.sort(key=lambda r: (-r["failed_days"], r["brand"], r["source"], r["target"]))
    return rows


def review_rows(reviews: Sequence[Mapping[str, Any]], tz: tzinfo) -> list[TemplateRow]:
    return [{**r, "when": local_time(r["published_at"], tz), "stars": int(round(r["rating"]))} for r in reviews]


def headline(board: Sequence[Mapping[str, Any]], incidents: Sequence[Mapping[str, Any]],
             health: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The one line a reader takes away: the own brand's week, its incidents, a source that keeps failing."""
    own = next((r for r in board if not r["competitor"]), None)
    parts = []
    if own is not None:
        parts.append(f"{own['brand']}: {own['mentions']['value']} mentions ({own['mentions']['display'] or 'no earlier week'})"
                     f", {own['negative_share']['value']} negative")
        if own["mean_rating"]["value"] != "–":
            parts.append(f"rating {own['mean_rating']['value']}")
    parts.append(f"{len(incidents)} incident{'s' if len(incidents) != 1 else ''}" if incidents else "no incidents")
    failing = [h for h in health if h["news"]]
    if failing:
        parts.append(f"{len(failing)} source{'s' if len(failing) != 1 else ''} failing on {FAILING_DAYS_NEWS}+ days")
    level = "alert" if any(i["severity"] == "high" for i in incidents) else "warning" if incidents or failing else "ok"
    return {"level": level, "line": "; ".join(parts)}


def build_weekly_context(
    *,
    title: str,
    period_start: datetime,
    period_end: datetime,
    tz: tzinfo,
    brands: Sequence[Mapping[str, Any]],
    figures: Mapping[str, Sequence[Mapping[str, Any]]],
    replies: Mapping[str, Sequence[Mapping[str, Any]]],
    alerts: Sequence[Mapping[str, Any]],
    pushed: Mapping[str, Sequence[Mapping[str, Any]]],
    themes_by_brand: Mapping[str, Mapping[str, Sequence[str]]],
    best: Sequence[Mapping[str, Any]],
    worst: Sequence[Mapping[str, Any]],
    checks: Sequence[Mapping[str, Any]],
    export: Mapping[str, Any] | None = None,
    languages: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> DigestContext:
    """Everything the weekly templates show, as plain values: `figures` and `replies` hold TREND_WEEKS weeks
    per brand, oldest first, the last being this week; `languages` the store's weekly_languages."""
    board = scoreboard(brands, figures, replies)
    incidents = incident_rows(alerts, pushed, tz)
    health = health_rows(checks, tz)
    own = [b["name"] for b in brands if not b.get("competitor")]
    return {
        "title": title,
        "period": {"start": local_time(period_start, tz), "end": local_time(period_end, tz), "zone": str(tz)},
        "status": headline(board, incidents, health),
        "board": board,
        "reply_window_days": REPLY_WINDOW_DAYS,
        "trends": [{"brand": name, "rows": trend_rows(figures[name], replies[name], tz)} for name in own],
        "languages": [{"brand": name, "rows": rows} for name in own
                      if (rows := language_rows((languages or {}).get(name, ())))],
        "incidents": incidents,
        "themes": [{"brand": name, **themes_by_brand[name]} for name in own if name in themes_by_brand],
        "best": review_rows(best, tz),
        "worst": review_rows(worst, tz),
        "health": health,
        "health_ok": sum(1 for h in health if not h["failed_days"]),
        "export": export,
    }


def render_weekly(context: Mapping[str, Any]) -> RenderedDigest:
    prefix = {"alert": "[INCIDENT] ", "warning": "", "ok": ""}[context["status"]["level"]]
    subject = f"{prefix}{context['title']}: week to {context['period']['end']}"
    return RenderedDigest(
        subject=" ".join(subject.split()),
        html=HTML.get_template("weekly.html.j2").render(**context),
        text=TEXT.get_template("weekly.txt.j2").render(**context),
    )
