"""What the weekly digest reads beyond the daily one: weeks of figures, the week's best and worst reviews,
its sources' health run by run, and its mentions for the spreadsheet."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

from analysis.store.scores import LABEL
from analysis.store.shape import Connection, Row, dict_rows, mention_rows, from_db_time, to_db_time

WEEK_SECONDS = 7 * 86400


def weekly_figures(con: Connection, brands: Sequence[str], end: datetime, weeks: int) -> dict[str, list[Row]]:
    """Per brand, per week of the `weeks` before `end` (oldest first): mentions, negative, scored, mean
    sentiment, mean rating and rated count. A week is the 7 days ending at `end` minus a whole number of weeks."""
    start = end - timedelta(weeks=weeks)
    rows = dict_rows(con.execute(
        f"""SELECT brand, CAST(floor((epoch(?::TIMESTAMP) - epoch(published_at)) / {WEEK_SECONDS}) AS INTEGER) AS back,
                   count(*) AS mentions, count(*) FILTER (WHERE {LABEL} = 'negative') AS negative,
                   count(compound) AS scored, avg(compound) AS mean_sentiment,
                   avg(rating) AS mean_rating, count(rating) AS rated
            FROM mentions WHERE list_contains(?, brand) AND published_at >= ? AND published_at < ?
            GROUP BY ALL""",
        [to_db_time(end), list(brands), to_db_time(start), to_db_time(end)],
    ))
    empty = {"mentions": 0, "negative": 0, "scored": 0, "mean_sentiment": None, "mean_rating": None, "rated": 0}
    out = {b: [{"start": end - timedelta(weeks=weeks - i), **empty} for i in range(weeks)] for b in brands}
    for r in rows:
        brand, back = r.pop("brand"), r.pop("back")
        out[brand][weeks - 1 - back].update(r)
    return out


def weekly_languages(con: Connection, brands: Sequence[str], end: datetime) -> dict[str, list[Row]]:
    """Per brand, per language its scored mentions are in: this week's and the week before's mentions, those
    read for sentiment, those judged (read, or rated with stars) and those judged negative. Most first."""
    start, middle = end - timedelta(weeks=2), end - timedelta(weeks=1)
    rows = dict_rows(con.execute(
        f"""SELECT brand, coalesce(text_language, 'und') AS language, published_at >= ? AS this_week,
                   count(*) AS mentions, count(label) AS read, count({LABEL}) AS judged,
                   count(*) FILTER (WHERE {LABEL} = 'negative') AS negative
            FROM mentions WHERE list_contains(?, brand) AND published_at >= ? AND published_at < ?
                  AND scored_at IS NOT NULL
            GROUP BY ALL""",
        [to_db_time(middle), list(brands), to_db_time(start), to_db_time(end)],
    ))
    empty = {"mentions": 0, "read": 0, "judged": 0, "negative": 0}
    table: dict[str, dict[str, Row]] = {b: {} for b in brands}
    for r in rows:
        entry = table[r["brand"]].setdefault(r["language"], {"language": r["language"], "now": dict(empty),
                                                              "before": dict(empty)})
        entry["now" if r["this_week"] else "before"] = {k: int(r[k]) for k in empty}
    return {b: sorted(found.values(), key=lambda e: (-e["now"]["mentions"], -e["before"]["mentions"], e["language"]))
            for b, found in table.items()}


def ranked_reviews(con: Connection, brands: Sequence[str], start: datetime, end: datetime, *, best: bool,
                   limit: int = 3) -> list[Row]:
    """The week's best (or worst) reviews: by stars, then by what the text says; one per text."""
    order = "DESC" if best else "ASC"
    return mention_rows(con.execute(
        f"""SELECT brand, source, external_id, published_at, url, title, text, rating, author, compound, label,
                   rated_label, replied
            FROM mentions
            WHERE list_contains(?, brand) AND kind = 'review' AND rating IS NOT NULL
                  AND published_at >= ? AND published_at < ?
            QUALIFY row_number() OVER (PARTITION BY coalesce(text, title, external_id)
                                       ORDER BY published_at DESC) = 1
            ORDER BY rating {order}, coalesce(compound, 0) {order}, length(coalesce(text, '')) DESC, external_id
            LIMIT ?""",
        [list(brands), to_db_time(start), to_db_time(end), limit],
    ))


def health_checks(con: Connection, brands: Sequence[str], start: datetime, end: datetime) -> list[Row]:
    """Every source check recorded in [start, end): brand, source, target, ok, error, when (oldest first)."""
    rows = dict_rows(con.execute(
        """SELECT brand, source, target, ok, error, checked_at FROM source_health
           WHERE list_contains(?, brand) AND checked_at >= ? AND checked_at < ?
           ORDER BY checked_at, brand, source, target""",
        [list(brands), to_db_time(start), to_db_time(end)],
    ))
    for r in rows:
        r["checked_at"] = from_db_time(r["checked_at"])
    return rows


EXPORT_FIELDS = ("brand", "source", "kind", "published_at", "rating", "sentiment", "score", "replied", "url",
                 "author", "title", "text")


def mentions_for_export(con: Connection, brands: Sequence[str], start: datetime, end: datetime) -> list[Row]:
    """The period's mentions, oldest first, in EXPORT_FIELDS: what the weekly CSV holds."""
    return mention_rows(con.execute(
        f"""SELECT brand, source, kind, published_at, rating, {LABEL} AS sentiment, round(compound, 3) AS score,
                   replied, url, author, title, text
            FROM mentions WHERE list_contains(?, brand) AND published_at >= ? AND published_at < ?
            ORDER BY published_at, brand, source, external_id""",
        [list(brands), to_db_time(start), to_db_time(end)],
    ))
