"""The demo night replayed without HTTP or Prefect: what each watch round detects and pushes, on any day's data.

README's replay (`repwatch demo --serve --at …` and `repwatch watch`) goes
through the sites, the scrapers and a Prefect run per round; the test suite
does that on one night. This does the rounds' own work on the store: the
demo's mentions and reviews as published by each round's time (as the
scrapers would store them), scored, the watch's detection, its alerts saved,
its pushes planned and recorded as sent. It is fast enough to run on dozens
of demo nights, so that a rule holding only on some nights' data shows up.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Sequence

from analysis import pushes, store
from analysis.detection import spikes
from flows.config import MonitorConfig
from flows.demo import data as demo_data
from flows.demo import review_data
from flows.tasks.detection import detect_brand_alerts
from flows.tasks.scoring import score_unscored

# README's rounds: before the outage, through it, a rerun of one, the morning after and a rerun of that.
ROUNDS = ("21:45", "22:15", "22:45", "23:15", "23:45", "23:45", "07:30", "07:30", "07:45")


@dataclass(frozen=True)
class Push:
    at: str  # the round's clock time
    kind: str  # opened, escalated-<n>, ended
    brand: str
    metric: str
    severity: str
    title: str


@dataclass(frozen=True)
class Round:
    at: str
    pushes: list[Push]
    ongoing: list[store.Row]  # the alerts still going on after the round, as the store holds them


def _rows(items: Sequence[demo_data.DemoItem], reviews: Sequence[review_data.DemoReview]
          ) -> dict[tuple[str, str], list[store.Row]]:
    """The demo's items as the scrapers store them, per brand and source."""
    out: dict[tuple[str, str], list[store.Row]] = {}
    for it in items:
        story = it.kind == "story"
        out.setdefault((it.brand, it.source), []).append({
            "source": it.source, "external_id": str(it.item_id), "published_at": it.created, "kind": it.kind,
            "title": it.title or None, "text": it.title if story else it.text, "author": it.author})
    for r in reviews:
        out.setdefault((r.brand, r.source), []).append({
            "source": r.source, "external_id": r.review_id, "published_at": r.created, "kind": "review",
            "title": r.title, "text": r.text, "rating": float(r.rating), "author": r.author,
            "replied": r.reply_text is not None, "reply_text": r.reply_text, "replied_at": r.replied_at})
    return out


def replay_night(config: MonitorConfig, now: datetime, tz: tzinfo, rounds: Sequence[str] = ROUNDS,
                 database: str | Path = ":memory:") -> list[Round]:
    """Each round of the demo night whose morning `now` falls on (see demo_data.demo_anchor), in order."""
    items, reviews = demo_data.generate(now, tz), review_data.generate_reviews(now, tz)
    names = [b.name for b in config.brands]
    groups = [pushes.PushGroup(g.name, frozenset(g.brands) if g.brands else None,
                               pushes.parse_quiet_hours(g.quiet_hours)) for g in config.digest.groups if g.notify]
    params = spikes.with_sensitivity(config.detection.sensitivity)
    out = []
    with store.connection(database) as con:
        for n, at in enumerate(rounds):
            until = demo_data.replay_time(now, tz, at)
            shown_items, shown_reviews = demo_data.as_of(items, reviews, until)
            run_id = f"replay-{n}-{at}"
            store.save_mention_batch(con, [store.SourceRows(brand, source, source, rows) for (brand, source), rows
                                           in _rows(shown_items, shown_reviews).items()], run_id=run_id)
            score_unscored(con, workers=1, model=config.sentiment.model)
            found = [a for b in config.brands for a in detect_brand_alerts(con, b, until - timedelta(days=1), until,
                                                                          config)]
            store.save_alerts(con, found, run_id)
            recent = store.alerts_between(con, names, until - timedelta(days=1), until)
            planned = pushes.plan_pushes(recent, groups, store.recorded_pushes(con, [a["alert_id"] for a in recent]),
                                         until, config.tz, config.watch.escalation_factor, params.quiet_seconds)
            for p in planned:
                p["title"], p["body"] = f"{p['kind']} {p['alert']['alert_id']}", ""
            store.record_pushes(con, planned, run_id)
            for p in planned:
                store.mark_push(con, p["push_id"], "sent")
            after = store.alerts_between(con, names, until - timedelta(days=1), until)
            out.append(Round(at, [Push(at, p["kind"], p["brand"], p["alert"]["metric"], p["severity"], p["title"])
                                  for p in planned],
                             [a for a in after if pushes.going_on(a, until, params.quiet_seconds)]))
    return out
