"""What the digest reads, and the digests written and sent."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence


from analysis.store.scores import AWAITING_REPLY, LABEL
from analysis.store.shape import (
    Connection, Row, TargetKey, dict_rows, mention_rows, db_now, registered_targets, transaction, from_db_time, to_db_time,
)


# -- what the digest reads ---------------------------------------------------

def period_kpis(con: Connection, brands: Sequence[str], start: datetime, end: datetime) -> dict[str, Row]:
    """Per brand: mentions, mean sentiment, negative share, mean rating over [start, end)."""
    rows = dict_rows(con.execute(
        f"""SELECT brand, count(*) AS mentions, avg(compound) AS mean_sentiment,
                  count(*) FILTER (WHERE {LABEL} = 'negative') AS negative,
                  count(compound) AS scored, avg(rating) AS mean_rating, count(rating) AS rated
           FROM mentions WHERE list_contains(?, brand) AND published_at >= ? AND published_at < ?
           GROUP BY brand""",
        [list(brands), to_db_time(start), to_db_time(end)],
    ))
    out = {b: {"mentions": 0, "mean_sentiment": None, "negative": 0, "scored": 0, "mean_rating": None, "rated": 0}
           for b in brands}
    for r in rows:
        out[r.pop("brand")] = r
    return out


def negative_mentions(
    con: Connection, brands: Sequence[str], start: datetime, end: datetime, limit: int = 20
) -> list[Row]:
    """The period's negative mentions, newest first."""
    return mention_rows(con.execute(
        f"""SELECT brand, source, external_id, kind, published_at, url, title, author, text, rating, replied,
                  compound, label, rated_label, sentiment_model, text_language
           FROM mentions
           WHERE list_contains(?, brand) AND published_at >= ? AND published_at < ? AND {LABEL} = 'negative'
           ORDER BY published_at DESC LIMIT ?""",
        [list(brands), to_db_time(start), to_db_time(end), limit],
    ))


def awaiting_reply(
    con: Connection, brands: Sequence[str], start: datetime, end: datetime, limit: int = 10
) -> tuple[list[Row], int]:
    """Negative reviews published in [start, end) that the source shows unanswered, oldest first; and how many in all.

    Negative by the stars where there are stars. A review whose source does
    not say whether it was answered (replied NULL) is never listed.
    """
    where = f"list_contains(?, brand) AND {AWAITING_REPLY} AND published_at >= ? AND published_at < ?"
    params = [list(brands), to_db_time(start), to_db_time(end)]
    rows = mention_rows(con.execute(
        f"""SELECT brand, source, external_id, published_at, url, title, text, rating, author, app_version,
                   compound, label, rated_label
            FROM mentions WHERE {where} ORDER BY published_at, source, external_id LIMIT ?""",
        params + [limit],
    ))
    total = con.execute(f"SELECT count(*) FROM mentions WHERE {where}", params).fetchone()[0]
    return rows, int(total)


def oldest_awaiting_replies(con: Connection, keys: Sequence[TargetKey], horizon: datetime
                            ) -> dict[TargetKey, datetime | None]:
    """Per target, its oldest negative review published since `horizon` that was unanswered when last fetched
    (None where there is none), in one query: a run plans thousands of targets."""
    with registered_targets(con, keys):
        rows = con.execute(
            f"""SELECT brand, source, target, min(published_at) FROM mentions
                WHERE (brand, source, target) IN (SELECT (brand, source, target) FROM wanted_targets)
                  AND {AWAITING_REPLY} AND published_at >= ?
                GROUP BY ALL""", [to_db_time(horizon)]).fetchall()
    found = {(b, s, t): from_db_time(oldest) for b, s, t, oldest in rows}
    return {key: found.get(key) for key in keys}


def oldest_awaiting_reply(con: Connection, brand: str, source: str, target: str, horizon: datetime) -> datetime | None:
    """The oldest negative review of one target, published since `horizon`, that was unanswered when last fetched."""
    return oldest_awaiting_replies(con, [(brand, source, target)], horizon)[(brand, source, target)]


def reply_kpis(con: Connection, brands: Sequence[str], start: datetime, end: datetime) -> dict[str, Row]:
    """Per brand, over the reviews published in [start, end): how many can be answered, how many were, the median wait.

    Only reviews whose source shows replies count; the wait is from the review
    to the reply, over the answered ones with a known reply time.
    """
    rows = dict_rows(con.execute(
        """SELECT brand, count(*) FILTER (WHERE replied IS NOT NULL) AS answerable,
                  count(*) FILTER (WHERE replied) AS answered,
                  median(epoch(replied_at) - epoch(published_at))
                      FILTER (WHERE replied AND replied_at >= published_at) AS median_reply_seconds
           FROM mentions WHERE list_contains(?, brand) AND kind = 'review' AND published_at >= ? AND published_at < ?
           GROUP BY brand""",
        [list(brands), to_db_time(start), to_db_time(end)],
    ))
    out = {b: {"answerable": 0, "answered": 0, "median_reply_seconds": None} for b in brands}
    for r in rows:
        out[r.pop("brand")] = r
    return out


def aggregate_ratings(con: Connection, brands: Sequence[str]) -> list[Row]:
    """The overall rating each page last stated (TrustScore, a shop's AggregateRating), per brand, source and target."""
    rows = dict_rows(con.execute(
        """SELECT brand, source, target, json_extract_string(state, '$.aggregate.rating') AS rating,
                  json_extract_string(state, '$.aggregate.count') AS count, updated_at
           FROM cursors
           WHERE list_contains(?, brand) AND json_extract_string(state, '$.aggregate.rating') IS NOT NULL
           ORDER BY brand, source, target""",
        [list(brands)],
    ))
    for r in rows:
        r["rating"] = float(r["rating"])
        r["count"] = int(float(r["count"])) if r["count"] not in (None, "null") else None
        r["updated_at"] = from_db_time(r["updated_at"])
    return rows


def mentions_between(
    con: Connection, brand: str, start: datetime, end: datetime, source: str | None = None, sample: int | None = None,
) -> list[Row]:
    """The brand's mentions in [start, end), oldest first; at most `sample` of them, drawn at random (seeded)."""
    params: list[Any] = [brand, to_db_time(start), to_db_time(end)]
    extra = ""
    if source is not None:
        extra, params = " AND source = ?", params + [source]
    query = f"""SELECT source, external_id, published_at, url, title, text, compound, label, rated_label, rating,
                       sentiment_model
                FROM mentions WHERE brand = ? AND published_at >= ? AND published_at < ?{extra}"""
    if sample is not None:
        query = f"SELECT * FROM ({query}) USING SAMPLE reservoir({int(sample)} ROWS) REPEATABLE (7)"
    return mention_rows(con.execute(f"SELECT * FROM ({query}) ORDER BY published_at, source, external_id", params))


# -- digests -----------------------------------------------------------------

def get_digest(con: Connection, period_key: str, group: str) -> Row | None:
    rows = dict_rows(con.execute(
        "SELECT * FROM digests WHERE period_key = ? AND recipient_group = ?", [period_key, group]
    ))
    return rows[0] if rows else None


def record_digest(
    con: Connection, period_key: str, group: str, start: datetime, end: datetime, paths: dict[str, str], run_id: str,
    *, to_send: bool,
) -> None:
    """A digest was written to the outbox; `to_send` makes it pending until a run sends it."""
    con.execute(
        """INSERT INTO digests (period_key, recipient_group, period_start, period_end, html_path, text_path,
                                eml_path, rendered_at, run_id, delivery)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (period_key, recipient_group) DO UPDATE SET
               html_path = excluded.html_path, text_path = excluded.text_path, eml_path = excluded.eml_path,
               rendered_at = excluded.rendered_at, run_id = excluded.run_id,
               delivery = CASE WHEN excluded.delivery = 'pending' THEN 'pending' ELSE digests.delivery END,
               last_error = NULL""",
        [period_key, group, to_db_time(start), to_db_time(end), paths["html"], paths["text"], paths["eml"], db_now(),
         run_id, "pending" if to_send else "outbox"],
    )


def pending_digests(con: Connection) -> list[Row]:
    """Digests written to be sent and not sent yet, oldest period first."""
    return dict_rows(con.execute(
        "SELECT * FROM digests WHERE delivery = 'pending' ORDER BY period_start, period_key, recipient_group"))


def mark_digest_sending(con: Connection, period_key: str, group: str) -> None:
    """Just before the SMTP call: a run killed during the send leaves this, so nobody sends it twice blindly."""
    con.execute("UPDATE digests SET delivery = 'sending' WHERE period_key = ? AND recipient_group = ?",
                [period_key, group])


def take_interrupted_digests(con: Connection) -> list[Row]:
    """Digests a killed run was sending: whether they arrived is unknown. Returned once, then marked `interrupted`."""
    with transaction(con):
        rows = dict_rows(con.execute("SELECT * FROM digests WHERE delivery = 'sending' ORDER BY period_key, recipient_group"))
        con.execute("UPDATE digests SET delivery = 'interrupted' WHERE delivery = 'sending'")
    return rows


def mark_digest_sent(con: Connection, period_key: str, group: str) -> None:
    con.execute(
        """UPDATE digests SET sent_at = ?, send_count = send_count + 1, delivery = 'sent', last_error = NULL
           WHERE period_key = ? AND recipient_group = ?""",
        [db_now(), period_key, group],
    )


def mark_digest_unsent(con: Connection, period_key: str, group: str, error: str) -> None:
    """A send failed: the digest stays pending, with the reason."""
    con.execute(
        "UPDATE digests SET delivery = 'pending', last_error = ? WHERE period_key = ? AND recipient_group = ?",
        [error, period_key, group],
    )
