"""Sentiment scores, written in bulk, and the per-bucket series detection reads."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from analysis.store.shape import Connection, Row, db_now, registered, to_db_time


# -- sentiment ---------------------------------------------------------------

# The label the signals use: the stars where a review has them, the sentiment model's text label otherwise.
LABEL = "coalesce(rated_label, label)"
# A negative review its site shows unanswered: what the digest lists and what the nightly fetch reaches back for.
AWAITING_REPLY = f"kind = 'review' AND replied = false AND {LABEL} = 'negative'"


def fetch_unscored(
    con: Connection, limit: int = 5000, skip: int = 0, *, model: str | None = None, since: datetime | None = None,
) -> list[tuple[str, str, str, str, float | None, str | None]]:
    """(source, external_id, brand, text to score, rating, language the source gives) to score, in a fixed order.

    What to score: mentions not scored yet; and, with `model` (a model id),
    those published since `since` (all, without it) that another model scored.
    `skip` passes over the first rows of that order: a batch still being scored, not yet saved.
    """
    where, params = "scored_at IS NULL", []
    if model is not None:
        where += " OR (sentiment_model IS DISTINCT FROM ?" + (" AND published_at >= ?)" if since else ")")
        params += [model] + ([to_db_time(since)] if since else [])
    return con.execute(
        f"""SELECT source, external_id, brand,
                  CASE WHEN title IS NOT NULL AND coalesce(text, '') NOT LIKE '%' || title || '%'
                       THEN title || '. ' || coalesce(text, '') ELSE coalesce(text, '') END,
                  rating, language
           FROM mentions WHERE {where} ORDER BY published_at, source, external_id, brand LIMIT ? OFFSET ?""",
        params + [limit, skip],
    ).fetchall()


_SCORE_SCHEMA = pa.schema([
    ("source", pa.string()), ("external_id", pa.string()), ("brand", pa.string()), ("compound", pa.float64()),
    ("pos", pa.float64()), ("neu", pa.float64()), ("neg", pa.float64()), ("label", pa.string()),
    ("rated_label", pa.string()), ("sentiment_model", pa.string()), ("text_language", pa.string()),
    ("scored_at", pa.timestamp("us")),
])


def save_scores(con: Connection, rows: Sequence[Row]) -> int:
    """Write scores in bulk. A row without a label (text in a language the model does not read) keeps the
    stars' verdict as its rated label, and its language says why it has no score."""
    if not rows:
        return 0
    now = db_now()
    table = pa.Table.from_pylist([
        {"source": r["source"], "external_id": r["external_id"], "brand": r["brand"], "compound": r["compound"],
         "pos": r["pos"], "neu": r["neu"], "neg": r["neg"], "label": r["label"],
         "rated_label": r.get("rated_label", r["label"]), "sentiment_model": r.get("model", "vader"),
         "text_language": r.get("language", "en"), "scored_at": now}
        for r in rows
    ], schema=_SCORE_SCHEMA)
    with registered(con, "incoming_scores", table):
        con.execute(
            """UPDATE mentions SET compound = s.compound, pos = s.pos, neu = s.neu, neg = s.neg,
                      label = s.label, rated_label = s.rated_label, scored_at = s.scored_at,
                      sentiment_model = s.sentiment_model, text_language = s.text_language
               FROM incoming_scores s
               WHERE mentions.source = s.source AND mentions.external_id = s.external_id AND mentions.brand = s.brand"""
        )
    return table.num_rows


def clear_scores(con: Connection, since: datetime | None = None) -> None:
    """Forget the scores of mentions published since `since` (all without it), so they are scored again."""
    con.execute(
        "UPDATE mentions SET scored_at = NULL" + (" WHERE published_at >= ?" if since else ""),
        [to_db_time(since)] if since else [])


def _languages(con: Connection, brands: Sequence[str], start: datetime, end: datetime, read: bool) -> dict[str, int]:
    """The period's scored mentions by the language they are in, most first: those read (a label) or those left
    unread (scored, no label)."""
    rows = con.execute(
        f"""SELECT text_language, count(*) FROM mentions
           WHERE list_contains(?, brand) AND published_at >= ? AND published_at < ?
             AND scored_at IS NOT NULL AND label IS {'NOT NULL' if read else 'NULL'}
           GROUP BY 1 ORDER BY 2 DESC, 1""",
        [list(brands), to_db_time(start), to_db_time(end)],
    ).fetchall()
    return {language or "und": int(n) for language, n in rows}


def unscored_languages(con: Connection, brands: Sequence[str], start: datetime, end: datetime) -> dict[str, int]:
    """How many of the period's mentions were left unscored, by the language they are in, most first."""
    return _languages(con, brands, start, end, read=False)


def scored_languages(con: Connection, brands: Sequence[str], start: datetime, end: datetime) -> dict[str, int]:
    """How many of the period's mentions were read for sentiment, by the language they are in, most first."""
    return _languages(con, brands, start, end, read=True)


def sentiment_models(con: Connection) -> dict[str, int]:
    """How many stored mentions each model scored (None: not scored yet)."""
    return {model: int(n) for model, n in con.execute(
        "SELECT sentiment_model, count(*) FROM mentions GROUP BY 1 ORDER BY 2 DESC").fetchall()}


# -- series for detection ----------------------------------------------------

def bucket_series(
    con: Connection, brand: str, start: datetime, end: datetime, bucket_seconds: int, source: str | None = None
) -> dict[str, np.ndarray]:
    """Per-bucket counts over [start, end): mentions, negatives, sentiment and rating sums.

    Buckets are anchored at `start`, so the last one ends exactly at `end`.
    """
    n = int((end - start).total_seconds() // bucket_seconds)
    params: list[Any] = [to_db_time(start), bucket_seconds, brand, to_db_time(start), to_db_time(end)]
    where = "brand = ? AND published_at >= ? AND published_at < ?"
    if source is not None:
        where += " AND source = ?"
        params.append(source)
    rows = con.execute(
        f"""SELECT CAST(floor(epoch(published_at - CAST(? AS TIMESTAMP)) / ?) AS BIGINT) AS b,
                   count(*), count(*) FILTER (WHERE {LABEL} = 'negative'),
                   coalesce(sum(compound), 0), count(compound),
                   coalesce(sum(rating), 0), count(rating)
            FROM mentions WHERE {where} GROUP BY b""",
        params,
    ).fetchall()
    names = ("count", "negative", "compound_sum", "scored", "rating_sum", "rated")
    out = {k: np.zeros(n, dtype=np.float64) for k in names}
    for row in rows:
        if 0 <= row[0] < n:
            for k, v in zip(names, row[1:]):
                out[k][row[0]] = v
    return out


def brand_sources(con: Connection, brand: str) -> list[str]:
    return [r[0] for r in con.execute("SELECT DISTINCT source FROM mentions WHERE brand = ? ORDER BY 1", [brand]).fetchall()]
