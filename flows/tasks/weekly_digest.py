"""The weekly digest's reading: the store's figures for eight weeks, the week's incidents and themes, its best
and worst reviews, its sources' health, and its mentions as a CSV."""
from __future__ import annotations

from datetime import datetime, timedelta

from analysis import store
from analysis.detection.alerts import THEME_BASELINE_SAMPLE
from analysis.sentiment import scored_text
from analysis import clock
from flows.config import MonitorConfig
from flows.config_digest import RecipientGroup
from reports import digest as digest_report
from reports import weekly as weekly_report
from reports.mention_csv import mentions_csv
from reports.templating import RenderedDigest

# Larger than this, the CSV stays in the outbox and the email says where, rather than riding along.
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024


def _texts(rows: list[store.Row], negative: bool) -> list[str]:
    return [scored_text(m) for m in rows if not negative or (m["rated_label"] or m["label"]) == "negative"]


def build_weekly_digest(
    con: store.Connection, config: MonitorConfig, group: RecipientGroup, brand_names: list[str], start: datetime,
    end: datetime, csv_name: str,
) -> tuple[RenderedDigest, bytes]:
    """The rendered weekly digest of [start, end) for these brands, and the CSV of its mentions."""
    tz = config.group_tz(group)
    brands = [{"name": b.name, "competitor": b.competitor} for b in config.brands if b.name in brand_names]
    weeks = weekly_report.TREND_WEEKS
    figures = store.weekly_figures(con, brand_names, end, weeks)
    window = timedelta(days=digest_report.REPLY_WINDOW_DAYS)
    # The trailing reply window at each week's end, oldest first: the rate the tiles show, week by week.
    by_week = [store.reply_kpis(con, brand_names, e - window, e)
               for e in (end - timedelta(weeks=weeks - 1 - i) for i in range(weeks))]
    replies = {name: [w[name] for w in by_week] for name in brand_names}
    alerts = store.alerts_between(con, brand_names, start, end)
    themes_by_brand = {}
    before = start - timedelta(weeks=weekly_report.THEME_WEEKS)
    for b in config.brands:
        if b.name not in brand_names or b.competitor:
            continue
        now_rows = store.mentions_between(con, b.name, start, end, sample=THEME_BASELINE_SAMPLE)
        before_rows = store.mentions_between(con, b.name, before, start, sample=THEME_BASELINE_SAMPLE)
        themes_by_brand[b.name] = weekly_report.theme_lists(
            _texts(now_rows, True), _texts(before_rows, True), _texts(now_rows, False), _texts(before_rows, False),
            exclude=[b.name, *b.terms])
    own = [b["name"] for b in brands if not b["competitor"]]
    rows = store.mentions_for_export(con, brand_names, start, end)
    data = mentions_csv(rows, store.EXPORT_FIELDS, tz)
    context = weekly_report.build_weekly_context(
        title=f"{config.digest.subject} · weekly",
        period_start=start, period_end=end, tz=tz, brands=brands, figures=figures, replies=replies,
        alerts=alerts, pushed=store.sent_pushes(con, [a["alert_id"] for a in alerts]),
        themes_by_brand=themes_by_brand,
        best=store.ranked_reviews(con, own, start, end, best=True),
        worst=store.ranked_reviews(con, own, start, end, best=False),
        # Sources are checked when runs fetch, the last one just before this digest is written: the week's
        # checks run up to now, or up to a day after its end for a rerun of a past week.
        checks=store.health_checks(con, brand_names, start,
                                   max(end, min(clock.now(), end + timedelta(days=1)))),
        export={"name": csv_name, "rows": len(rows), "attached": len(data) <= MAX_ATTACHMENT_BYTES},
        languages=store.weekly_languages(con, own, end),
    )
    return weekly_report.render_weekly(context), data
