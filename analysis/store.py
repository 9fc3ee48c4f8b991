"""The DuckDB store: the only module that speaks SQL.

Functions take and return plain data (dicts, tuples, numpy arrays). Writes
are bulk (an Arrow table registered and merged with INSERT ... SELECT), and
every write that must be atomic with another runs in one transaction: a
source's mentions and its cursor, for example, so that a run killed at any
point leaves a cursor that never points past what was committed.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import duckdb
import numpy as np
import pyarrow as pa

Connection = duckdb.DuckDBPyConnection

MENTION_FIELDS = (
    "source", "external_id", "brand", "target", "kind", "published_at", "url", "title",
    "author", "text", "rating", "replied", "language", "raw", "reply_text", "replied_at", "app_version",
)
_MENTION_SCHEMA = pa.schema([
    ("source", pa.string()), ("external_id", pa.string()), ("brand", pa.string()), ("target", pa.string()),
    ("kind", pa.string()), ("published_at", pa.timestamp("us")), ("url", pa.string()), ("title", pa.string()),
    ("author", pa.string()), ("text", pa.string()), ("rating", pa.float64()), ("replied", pa.bool_()),
    ("language", pa.string()), ("raw", pa.string()), ("reply_text", pa.string()), ("replied_at", pa.timestamp("us")),
    ("app_version", pa.string()),
])


class StoreError(RuntimeError):
    pass


@dataclass(frozen=True)
class Cursor:
    watermark: datetime | None
    state: dict[str, Any]


@dataclass(frozen=True)
class SaveResult:
    received: int
    new: int
    updated: int


def to_db_time(value: datetime | None) -> datetime | None:
    """Aware datetime -> naive UTC, the store's convention."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise StoreError(f"naive datetime {value!r}: pass an aware datetime")
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def from_db_time(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=timezone.utc)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@contextmanager
def _registered(con: Connection, name: str, table: pa.Table) -> Iterator[None]:
    """`table` visible to SQL as `name` for the block: how every bulk write gets its rows in."""
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


@contextmanager
def _transaction(con: Connection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


# -- shape -------------------------------------------------------------------

def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("analysis") / "schema"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def ensure_db_shape(con: Connection) -> list[str]:
    """Apply the numbered migrations not applied yet; returns their names."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, sql in _migrations():
        if version in done:
            continue
        with _transaction(con):
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, _now()])
        applied.append(name)
    return applied


def connect(path: str | Path, read_only: bool = False) -> Connection:
    """Open (creating if needed) the database file and bring it up to shape."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    if not read_only:
        ensure_db_shape(con)
    return con


# -- runs and health ---------------------------------------------------------

def begin_run(con: Connection, run_id: str, params: dict[str, Any], period_start: datetime, period_end: datetime) -> None:
    con.execute(
        """INSERT INTO runs (run_id, started_at, status, period_start, period_end, params)
           VALUES (?, ?, 'running', ?, ?, ?)
           ON CONFLICT (run_id) DO UPDATE SET status = 'running', finished_at = NULL""",
        [run_id, _now(), to_db_time(period_start), to_db_time(period_end), json.dumps(params, default=str)],
    )


def finish_run(con: Connection, run_id: str, status: str, message: str = "") -> None:
    con.execute(
        "UPDATE runs SET status = ?, finished_at = ?, message = ? WHERE run_id = ?", [status, _now(), message, run_id]
    )


def save_source_health(con: Connection, run_id: str, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    table = pa.Table.from_pylist([
        {
            "run_id": run_id, "brand": r["brand"], "source": r["source"], "target": r["target"],
            "ok": bool(r["ok"]), "pages": int(r.get("pages", 0)), "fetched": int(r.get("fetched", 0)),
            "new": int(r.get("new", 0)), "error": r.get("error"), "checked_at": _now(),
        }
        for r in rows
    ])
    with _registered(con, "incoming_health", table):
        con.execute(
            """INSERT OR REPLACE INTO source_health
               SELECT run_id, brand, source, target, ok, pages, fetched, new, error, checked_at FROM incoming_health"""
        )


def source_health(con: Connection, run_id: str) -> list[dict[str, Any]]:
    return _dicts(con.execute(
        "SELECT brand, source, target, ok, pages, fetched, new, error FROM source_health WHERE run_id = ? "
        "ORDER BY ok, brand, source, target",
        [run_id],
    ))


# -- mentions and cursors ----------------------------------------------------

def get_cursor(con: Connection, brand: str, source: str, target: str) -> Cursor:
    row = con.execute(
        "SELECT watermark, state FROM cursors WHERE brand = ? AND source = ? AND target = ?", [brand, source, target]
    ).fetchone()
    if row is None:
        return Cursor(None, {})
    return Cursor(from_db_time(row[0]), json.loads(row[1]) if row[1] else {})


def _mention_table(brand: str, target: str, rows: Iterable[dict[str, Any]]) -> pa.Table:
    records, seen = [], set()
    for r in rows:
        key = (r["source"], r["external_id"])
        if key in seen:  # one key twice in a batch would make the merge ambiguous
            continue
        seen.add(key)
        records.append({
            **{f: r.get(f) for f in MENTION_FIELDS},
            "brand": brand,
            "target": target,
            "published_at": to_db_time(r["published_at"]),
            "replied_at": to_db_time(r.get("replied_at")),
            # Kept with the payload, so anyone querying sees which dates are first sightings.
            "raw": json.dumps({**(r.get("raw") or {}), **({"date_estimated": True} if r.get("date_estimated") else {})},
                              default=str, ensure_ascii=False),
        })
    return pa.Table.from_pylist(records, schema=_MENTION_SCHEMA)


def save_mentions(
    con: Connection,
    brand: str,
    source: str,
    target: str,
    rows: Sequence[dict[str, Any]],
    *,
    run_id: str,
    state: dict[str, Any] | None = None,
) -> SaveResult:
    """Upsert one source's mentions and advance its cursor, in one transaction.

    A mention seen again keeps its first_seen_at and published_at; if its text
    or its stars changed (an edited review) its sentiment is cleared so it is
    scored again. A business reply that shows up on a later fetch updates the
    review; with no reply date from the source, the reply is dated by that
    fetch. A source that does not say (replied NULL) leaves what is known.
    """
    table = _mention_table(brand, target, rows)
    cols = ", ".join(MENTION_FIELDS)
    now = _now()
    with _registered(con, "incoming_mentions", table), _transaction(con):
        con.execute(
            f"""INSERT INTO mentions ({cols}, first_seen_at, last_seen_at, first_run_id)
                SELECT {cols}, ?, ?, ? FROM incoming_mentions
                ON CONFLICT (source, external_id, brand) DO UPDATE SET
                    url = excluded.url, title = excluded.title, author = excluded.author,
                    text = excluded.text, rating = excluded.rating,
                    replied = coalesce(excluded.replied, mentions.replied),
                    reply_text = CASE WHEN excluded.replied IS NULL THEN mentions.reply_text ELSE excluded.reply_text END,
                    replied_at = CASE
                        WHEN excluded.replied IS NULL THEN mentions.replied_at
                        WHEN NOT excluded.replied THEN NULL
                        WHEN excluded.replied_at IS NOT NULL THEN excluded.replied_at
                        WHEN mentions.replied_at IS NOT NULL THEN mentions.replied_at
                        WHEN mentions.replied = false THEN CAST(? AS TIMESTAMP)
                        ELSE NULL END,
                    app_version = coalesce(excluded.app_version, mentions.app_version),
                    language = excluded.language, raw = excluded.raw, kind = excluded.kind,
                    last_seen_at = excluded.last_seen_at,
                    compound = CASE WHEN mentions.text IS DISTINCT FROM excluded.text
                                      OR mentions.rating IS DISTINCT FROM excluded.rating THEN NULL ELSE mentions.compound END,
                    scored_at = CASE WHEN mentions.text IS DISTINCT FROM excluded.text
                                       OR mentions.rating IS DISTINCT FROM excluded.rating THEN NULL ELSE mentions.scored_at END""",
            [now, now, run_id, now],
        )
        # New rows carry this call's timestamp: counting them reads one column of the recent rows, where an
        # anti-join against the whole table would grow with the database.
        new = con.execute(
            "SELECT count(*) FROM mentions WHERE first_seen_at = ? AND brand = ? AND source = ?", [now, brand, source]
        ).fetchone()[0]
        con.execute(
            """INSERT INTO cursors (brand, source, target, watermark, state, updated_at, run_id)
               SELECT ?, ?, ?, max(published_at), ?, ?, ? FROM incoming_mentions
               ON CONFLICT (brand, source, target) DO UPDATE SET
                   watermark = greatest(cursors.watermark, excluded.watermark),
                   state = excluded.state, updated_at = excluded.updated_at, run_id = excluded.run_id""",
            [brand, source, target, json.dumps(state or {}), now, run_id],
        )
    return SaveResult(received=table.num_rows, new=int(new), updated=table.num_rows - int(new))


def count_mentions(con: Connection, brand: str | None = None) -> int:
    if brand is None:
        return con.execute("SELECT count(*) FROM mentions").fetchone()[0]
    return con.execute("SELECT count(*) FROM mentions WHERE brand = ?", [brand]).fetchone()[0]


def history_starts(con: Connection, brands: Sequence[str]) -> dict[str, datetime]:
    """The earliest mention stored for each brand: how much history its baseline has."""
    if not brands:
        return {}
    rows = con.execute(
        f"SELECT brand, min(published_at) FROM mentions WHERE brand IN ({', '.join('?' * len(brands))}) GROUP BY brand",
        list(brands)).fetchall()
    return {brand: from_db_time(first) for brand, first in rows if first is not None}


def count_by_source(con: Connection) -> list[tuple[str, int]]:
    return [(r[0], int(r[1])) for r in con.execute(
        "SELECT source, count(*) FROM mentions GROUP BY source ORDER BY count(*) DESC, source").fetchall()]


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


def save_scores(con: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Write scores in bulk. A row without a label (text in a language the model does not read) keeps the
    stars' verdict as its rated label, and its language says why it has no score."""
    if not rows:
        return 0
    now = _now()
    table = pa.Table.from_pylist([
        {"source": r["source"], "external_id": r["external_id"], "brand": r["brand"], "compound": r["compound"],
         "pos": r["pos"], "neu": r["neu"], "neg": r["neg"], "label": r["label"],
         "rated_label": r.get("rated_label", r["label"]), "sentiment_model": r.get("model", "vader"),
         "text_language": r.get("language", "en"), "scored_at": now}
        for r in rows
    ], schema=_SCORE_SCHEMA)
    with _registered(con, "incoming_scores", table):
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


def unscored_languages(con: Connection, brands: Sequence[str], start: datetime, end: datetime) -> dict[str, int]:
    """How many of the period's mentions were left unscored, by the language they are in, most first."""
    rows = con.execute(
        """SELECT text_language, count(*) FROM mentions
           WHERE list_contains(?, brand) AND published_at >= ? AND published_at < ?
             AND scored_at IS NOT NULL AND label IS NULL
           GROUP BY 1 ORDER BY 2 DESC, 1""",
        [list(brands), to_db_time(start), to_db_time(end)],
    ).fetchall()
    return {language or "und": int(n) for language, n in rows}


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


# -- alerts ------------------------------------------------------------------

def save_alerts(con: Connection, alerts: Sequence[dict[str, Any]], run_id: str) -> list[str]:
    """Insert alerts not seen before, refresh the ongoing ones; returns the ids of new alerts.

    An alert's id is its incident (brand, source, metric, first bucket), so a
    rerun, or the next night while the incident goes on, updates it instead of
    reporting it again.
    """
    if not alerts:
        return []
    alerts = _same_incidents(con, alerts)
    now = _now()
    table = pa.Table.from_pylist([
        {
            "alert_id": a["alert_id"], "brand": a["brand"], "source": a["source"], "metric": a["metric"],
            "bucket_seconds": int(a["bucket_seconds"]), "incident_start": to_db_time(a["incident_start"]),
            "last_bucket": to_db_time(a["last_bucket"]), "observed": float(a["observed"]),
            "expected": float(a["expected"]), "significance": float(a["significance"]), "severity": a["severity"],
            "ongoing": bool(a["ongoing"]), "details": json.dumps(a.get("details") or {}, default=str),
            "first_run_id": run_id, "created_at": now, "updated_at": now,
        }
        for a in alerts
    ])
    with _registered(con, "incoming_alerts", table), _transaction(con):
        new = [r[0] for r in con.execute(
            "SELECT alert_id FROM incoming_alerts ANTI JOIN alerts USING (alert_id)"
        ).fetchall()]
        con.execute(
            """INSERT INTO alerts SELECT * FROM incoming_alerts
               ON CONFLICT (alert_id) DO UPDATE SET
                   incident_start = least(alerts.incident_start, excluded.incident_start),
                   last_bucket = greatest(alerts.last_bucket, excluded.last_bucket),
                   observed = greatest(alerts.observed, excluded.observed),
                   significance = greatest(alerts.significance, excluded.significance),
                   severity = excluded.severity, ongoing = excluded.ongoing,
                   details = excluded.details, updated_at = excluded.updated_at"""
        )
    return new


def _same_incidents(con: Connection, alerts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alerts that continue a stored incident take its id: runs that end at other minutes (a watch round at
    22:15, another at 22:45, the nightly at 06:00) cut their hourly buckets elsewhere, so the same incident
    starts a bucket apart; it is the same incident when the two overlap or touch, of one brand, source and metric."""
    earliest = min(to_db_time(a["incident_start"]) for a in alerts)
    stored = con.execute(
        """SELECT alert_id, brand, source, metric, bucket_seconds, incident_start, last_bucket FROM alerts
           WHERE last_bucket >= ? - INTERVAL 2 DAY""", [earliest]).fetchall()
    out = []
    for a in alerts:
        start, last = to_db_time(a["incident_start"]), to_db_time(a["last_bucket"])
        step = timedelta(seconds=int(a["bucket_seconds"]))
        match = next((row for row in stored if row[0] != a["alert_id"] and row[1:5] == (
            a["brand"], a["source"], a["metric"], int(a["bucket_seconds"]))
            and row[5] <= last + step and start <= row[6] + step), None)
        out.append(a if match is None else {**a, "alert_id": match[0]})
    # Two incoming alerts may now share an id (both continue one incident): one row each, the later one wins.
    return list({a["alert_id"]: a for a in out}.values())


def alerts_between(con: Connection, brands: Sequence[str], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Alerts whose incident touched [start, end), most severe first."""
    rows = _dicts(con.execute(
        """SELECT * FROM alerts
           WHERE list_contains(?, brand) AND last_bucket >= ? AND incident_start < ?
           ORDER BY CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, significance DESC""",
        [list(brands), to_db_time(start), to_db_time(end)],
    ))
    for r in rows:
        r["details"] = json.loads(r["details"]) if r["details"] else {}
        for example in r["details"].get("examples", []):
            example["published_at"] = datetime.fromisoformat(example["published_at"])
        for k in ("incident_start", "last_bucket", "created_at", "updated_at"):
            r[k] = from_db_time(r[k])
    return rows


# -- pushes ------------------------------------------------------------------

def recorded_pushes(con: Connection, alert_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The pushes recorded for these alerts, by push_id."""
    if not alert_ids:
        return {}
    rows = _dicts(con.execute("SELECT * FROM pushes WHERE list_contains(?, alert_id)", [list(alert_ids)]))
    return {r["push_id"]: r for r in rows}


def record_pushes(con: Connection, pushes: Sequence[dict[str, Any]], run_id: str) -> int:
    """Record new pushes as pending, in bulk; one already recorded (a rerun) is left as it is. Returns how many are new."""
    if not pushes:
        return 0
    now = _now()
    table = pa.Table.from_pylist([
        {"push_id": p["push_id"], "alert_id": p["alert_id"], "brand": p["brand"], "recipient_group": p["group"],
         "kind": p["kind"], "severity": p["severity"], "peak": float(p["peak"]), "title": p["title"],
         "body": p["body"], "services": p.get("services"), "state": "pending", "attempts": 0, "last_error": None,
         "created_at": now, "sent_at": None, "run_id": run_id}
        for p in pushes
    ], schema=pa.schema([
        ("push_id", pa.string()), ("alert_id", pa.string()), ("brand", pa.string()), ("recipient_group", pa.string()),
        ("kind", pa.string()), ("severity", pa.string()), ("peak", pa.float64()), ("title", pa.string()),
        ("body", pa.string()), ("services", pa.string()), ("state", pa.string()), ("attempts", pa.int32()),
        ("last_error", pa.string()), ("created_at", pa.timestamp("us")), ("sent_at", pa.timestamp("us")),
        ("run_id", pa.string()),
    ]))
    with _registered(con, "incoming_pushes", table), _transaction(con):
        new = con.execute("SELECT count(*) FROM incoming_pushes ANTI JOIN pushes USING (push_id)").fetchone()[0]
        con.execute("INSERT INTO pushes SELECT * FROM incoming_pushes ON CONFLICT (push_id) DO NOTHING")
    return int(new)


def take_interrupted_pushes(con: Connection) -> list[str]:
    """Pushes a killed run was sending: whether they arrived is unknown. Marked `interrupted` (to be sent again, said so)."""
    with _transaction(con):
        ids = [r[0] for r in con.execute("SELECT push_id FROM pushes WHERE state = 'sending'").fetchall()]
        con.execute("UPDATE pushes SET state = 'interrupted' WHERE state = 'sending'")
    return ids


def pushes_to_send(con: Connection) -> list[dict[str, Any]]:
    """Pending pushes (new, or failed before) and interrupted ones, oldest first."""
    return _dicts(con.execute(
        "SELECT * FROM pushes WHERE state IN ('pending', 'interrupted') ORDER BY created_at, push_id"))


def mark_push(con: Connection, push_id: str, state: str, error: str | None = None) -> None:
    """sending (just before the call), sent, or pending again with the reason it failed."""
    if state == "sending":
        con.execute("UPDATE pushes SET state = 'sending', attempts = attempts + 1 WHERE push_id = ?", [push_id])
    elif state == "sent":
        con.execute("UPDATE pushes SET state = 'sent', sent_at = ?, last_error = NULL WHERE push_id = ?",
                    [_now(), push_id])
    else:
        con.execute("UPDATE pushes SET state = 'pending', last_error = ? WHERE push_id = ?", [error, push_id])


# -- what the digest reads ---------------------------------------------------

def period_kpis(con: Connection, brands: Sequence[str], start: datetime, end: datetime) -> dict[str, dict[str, Any]]:
    """Per brand: mentions, mean sentiment, negative share, mean rating over [start, end)."""
    rows = _dicts(con.execute(
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
) -> list[dict[str, Any]]:
    """The period's negative mentions, newest first."""
    return _mention_dicts(con.execute(
        f"""SELECT brand, source, external_id, kind, published_at, url, title, author, text, rating, replied,
                  compound, label, rated_label, sentiment_model, text_language
           FROM mentions
           WHERE list_contains(?, brand) AND published_at >= ? AND published_at < ? AND {LABEL} = 'negative'
           ORDER BY published_at DESC LIMIT ?""",
        [list(brands), to_db_time(start), to_db_time(end), limit],
    ))


def awaiting_reply(
    con: Connection, brands: Sequence[str], start: datetime, end: datetime, limit: int = 10
) -> tuple[list[dict[str, Any]], int]:
    """Negative reviews published in [start, end) that the source shows unanswered, oldest first; and how many in all.

    Negative by the stars where there are stars. A review whose source does
    not say whether it was answered (replied NULL) is never listed.
    """
    where = f"list_contains(?, brand) AND {AWAITING_REPLY} AND published_at >= ? AND published_at < ?"
    params = [list(brands), to_db_time(start), to_db_time(end)]
    rows = _mention_dicts(con.execute(
        f"""SELECT brand, source, external_id, published_at, url, title, text, rating, author, app_version,
                   compound, label, rated_label
            FROM mentions WHERE {where} ORDER BY published_at, source, external_id LIMIT ?""",
        params + [limit],
    ))
    total = con.execute(f"SELECT count(*) FROM mentions WHERE {where}", params).fetchone()[0]
    return rows, int(total)


def oldest_awaiting_reply(con: Connection, brand: str, source: str, target: str, horizon: datetime) -> datetime | None:
    """The oldest negative review of one target, published since `horizon`, that was unanswered when last fetched."""
    value = con.execute(
        f"""SELECT min(published_at) FROM mentions
            WHERE brand = ? AND source = ? AND target = ? AND {AWAITING_REPLY} AND published_at >= ?""",
        [brand, source, target, to_db_time(horizon)],
    ).fetchone()[0]
    return from_db_time(value)


def reply_kpis(con: Connection, brands: Sequence[str], start: datetime, end: datetime) -> dict[str, dict[str, Any]]:
    """Per brand, over the reviews published in [start, end): how many can be answered, how many were, the median wait.

    Only reviews whose source shows replies count; the wait is from the review
    to the reply, over the answered ones with a known reply time.
    """
    rows = _dicts(con.execute(
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


def aggregate_ratings(con: Connection, brands: Sequence[str]) -> list[dict[str, Any]]:
    """The overall rating each page last stated (TrustScore, a shop's AggregateRating), per brand, source and target."""
    rows = _dicts(con.execute(
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
) -> list[dict[str, Any]]:
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
    return _mention_dicts(con.execute(f"SELECT * FROM ({query}) ORDER BY published_at, source, external_id", params))


# -- digests -----------------------------------------------------------------

def get_digest(con: Connection, period_key: str, group: str) -> dict[str, Any] | None:
    rows = _dicts(con.execute(
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
        [period_key, group, to_db_time(start), to_db_time(end), paths["html"], paths["text"], paths["eml"], _now(),
         run_id, "pending" if to_send else "outbox"],
    )


def pending_digests(con: Connection) -> list[dict[str, Any]]:
    """Digests written to be sent and not sent yet, oldest period first."""
    return _dicts(con.execute(
        "SELECT * FROM digests WHERE delivery = 'pending' ORDER BY period_start, period_key, recipient_group"))


def mark_digest_sending(con: Connection, period_key: str, group: str) -> None:
    """Just before the SMTP call: a run killed during the send leaves this, so nobody sends it twice blindly."""
    con.execute("UPDATE digests SET delivery = 'sending' WHERE period_key = ? AND recipient_group = ?",
                [period_key, group])


def take_interrupted_digests(con: Connection) -> list[dict[str, Any]]:
    """Digests a killed run was sending: whether they arrived is unknown. Returned once, then marked `interrupted`."""
    with _transaction(con):
        rows = _dicts(con.execute("SELECT * FROM digests WHERE delivery = 'sending' ORDER BY period_key, recipient_group"))
        con.execute("UPDATE digests SET delivery = 'interrupted' WHERE delivery = 'sending'")
    return rows


def mark_digest_sent(con: Connection, period_key: str, group: str) -> None:
    con.execute(
        """UPDATE digests SET sent_at = ?, send_count = send_count + 1, delivery = 'sent', last_error = NULL
           WHERE period_key = ? AND recipient_group = ?""",
        [_now(), period_key, group],
    )


def mark_digest_unsent(con: Connection, period_key: str, group: str, error: str) -> None:
    """A send failed: the digest stays pending, with the reason."""
    con.execute(
        "UPDATE digests SET delivery = 'pending', last_error = ? WHERE period_key = ? AND recipient_group = ?",
        [error, period_key, group],
    )


def _mention_dicts(result: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Mention rows with aware timestamps."""
    rows = _dicts(result)
    for r in rows:
        r["published_at"] = from_db_time(r["published_at"])
    return rows


def _dicts(result: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]
