"""Runs, source health, mentions and their cursors: what a fetch writes, in one transaction per source."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Sequence

import pyarrow as pa

from analysis.store.scores import save_scores
from analysis.store.shape import (
    Connection, TargetKey, _dicts, _now, _registered, _registered_targets, _transaction, from_db_time, to_db_time,
)


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


@dataclass(frozen=True)
class Cursor:
    watermark: datetime | None
    state: dict[str, Any]


@dataclass(frozen=True)
class SaveResult:
    received: int
    new: int
    updated: int


# -- runs and health ---------------------------------------------------------

def begin_run(con: Connection, run_id: str, flow: str, params: dict[str, Any], period_start: datetime,
              period_end: datetime) -> None:
    con.execute(
        """INSERT INTO runs (run_id, flow, started_at, status, period_start, period_end, params)
           VALUES (?, ?, ?, 'running', ?, ?, ?)
           ON CONFLICT (run_id) DO UPDATE SET status = 'running', finished_at = NULL, outcome = NULL""",
        [run_id, flow, _now(), to_db_time(period_start), to_db_time(period_end), json.dumps(params, default=str)],
    )


def finish_run(con: Connection, run_id: str, status: str, message: str = "", outcome: str | None = None) -> None:
    """`outcome`: what the run produced, as JSON (flows.run writes it)."""
    con.execute(
        "UPDATE runs SET status = ?, finished_at = ?, message = ?, outcome = ? WHERE run_id = ?",
        [status, _now(), message, outcome, run_id],
    )


def mark_killed_runs(con: Connection, found_by: str) -> list[str]:
    """Runs still `running` when a new run holds the lock died without finishing (SIGKILL, power cut): say so.

    Only the lock's holder may call this: no other run can be running then."""
    rows = con.execute(
        """UPDATE runs SET status = 'killed', finished_at = ?,
               message = 'stopped before it finished (its process ended while it held the run lock); found by run '
                         || ?
           WHERE status = 'running' AND run_id <> ? RETURNING run_id""",
        [_now(), found_by, found_by],
    ).fetchall()
    return [r[0] for r in rows]


def runs(con: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The latest runs, newest first, with what each produced."""
    cur = con.execute(
        """SELECT run_id, flow, started_at, finished_at, status, message, outcome FROM runs
           ORDER BY started_at DESC LIMIT ?""", [limit])
    names = [d[0] for d in cur.description]
    out = []
    for row in cur.fetchall():
        r = dict(zip(names, row))
        r["started_at"], r["finished_at"] = from_db_time(r["started_at"]), from_db_time(r["finished_at"])
        r["outcome"] = json.loads(r["outcome"]) if r["outcome"] else None
        out.append(r)
    return out


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

def get_cursors(con: Connection, keys: Sequence[TargetKey]) -> dict[TargetKey, Cursor]:
    """Each target's cursor (an empty one where it has none yet), in one query: a run plans thousands."""
    with _registered_targets(con, keys):
        rows = con.execute(
            """SELECT brand, source, target, watermark, state FROM cursors
               WHERE (brand, source, target) IN (SELECT (brand, source, target) FROM wanted_targets)""").fetchall()
    found = {(b, s, t): Cursor(from_db_time(w), json.loads(st) if st else {}) for b, s, t, w, st in rows}
    return {key: found.get(key, Cursor(None, {})) for key in keys}


def get_cursor(con: Connection, brand: str, source: str, target: str) -> Cursor:
    return get_cursors(con, [(brand, source, target)])[(brand, source, target)]


def _mention_records(brand: str, target: str, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as the mentions table holds them, each key once (one key twice would make the merge ambiguous)."""
    records: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        records.setdefault((r["source"], r["external_id"]), {
            **{f: r.get(f) for f in MENTION_FIELDS},
            "brand": brand,
            "target": target,
            "published_at": to_db_time(r["published_at"]),
            "replied_at": to_db_time(r.get("replied_at")),
            # Kept with the payload, so anyone querying sees which dates are first sightings.
            "raw": json.dumps({**(r.get("raw") or {}), **({"date_estimated": True} if r.get("date_estimated") else {})},
                              default=str, ensure_ascii=False),
        })
    return list(records.values())


# The merge of incoming mentions (a registered table `incoming_mentions`) into the store. A mention seen
# again keeps its first_seen_at and published_at; if its text or its stars changed (an edited review) its
# sentiment is cleared so it is scored again. A business reply that shows up on a later fetch updates the
# review; with no reply date from the source, the reply is dated by that fetch. A source that does not
# say (replied NULL) leaves what is known. Parameters: first_seen_at, last_seen_at, run_id, the fetch time.
_MERGE_MENTIONS = f"""
    INSERT INTO mentions ({", ".join(MENTION_FIELDS)}, first_seen_at, last_seen_at, first_run_id)
    SELECT {", ".join(MENTION_FIELDS)}, ?, ?, ? FROM incoming_mentions
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
                           OR mentions.rating IS DISTINCT FROM excluded.rating THEN NULL ELSE mentions.scored_at END"""

# The cursors' move: the watermark only forward, the state as the source left it.
_MERGE_CURSORS = """
    ON CONFLICT (brand, source, target) DO UPDATE SET
        watermark = greatest(cursors.watermark, excluded.watermark),
        state = excluded.state, updated_at = excluded.updated_at, run_id = excluded.run_id"""


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
    return save_mention_batch(con, [SourceRows(brand, source, target, rows, state)], run_id=run_id)[0]


@dataclass(frozen=True)
class SourceRows:
    """One source's fetch, as a batch save takes it: its mentions and the cursor state to keep."""
    brand: str
    source: str
    target: str
    rows: Sequence[dict[str, Any]]
    state: dict[str, Any] | None = None


_CURSOR_SCHEMA = pa.schema([("brand", pa.string()), ("source", pa.string()), ("target", pa.string()),
                            ("watermark", pa.timestamp("us")), ("state", pa.string())])


def save_mention_batch(con: Connection, batch: Sequence[SourceRows], *, run_id: str,
                       scores: Sequence[dict[str, Any]] = ()) -> list[SaveResult]:
    """Many sources' mentions and cursors (and `scores`, rows for save_scores) in one transaction, a statement
    each: what save_mentions does source by source, for a writer storing thousands of sources. A mention
    that two targets of one brand both carry is stored once, as the first one's; nothing is stored if
    anything fails."""
    records: dict[tuple[str, str, str], dict[str, Any]] = {}  # the first target's copy of a shared mention
    cursors, received = [], []
    for item in batch:
        own = _mention_records(item.brand, item.target, item.rows)
        received.append(len(own))
        for r in own:
            records.setdefault((r["source"], r["external_id"], r["brand"]), r)
        cursors.append({"brand": item.brand, "source": item.source, "target": item.target,
                        "watermark": max((r["published_at"] for r in own if r["published_at"] is not None),
                                         default=None),
                        "state": json.dumps(item.state or {})})
    mentions = pa.Table.from_pylist(list(records.values()), schema=_MENTION_SCHEMA)
    now = _now()
    with _registered(con, "incoming_mentions", mentions), \
            _registered(con, "incoming_cursors", pa.Table.from_pylist(cursors, schema=_CURSOR_SCHEMA)), \
            _transaction(con):
        con.execute(_MERGE_MENTIONS, [now, now, run_id, now])
        new = {(b, s, t): int(n) for b, s, t, n in con.execute(
            "SELECT brand, source, target, count(*) FROM mentions WHERE first_seen_at = ? GROUP BY ALL",
            [now]).fetchall()}
        con.execute(
            """INSERT INTO cursors (brand, source, target, watermark, state, updated_at, run_id)
               SELECT brand, source, target, watermark, state, ?, ? FROM incoming_cursors""" + _MERGE_CURSORS,
            [now, run_id])
        save_scores(con, scores)
    out = []
    for item, count in zip(batch, received):
        fresh = new.pop((item.brand, item.source, item.target), 0)  # a target listed twice: counted once
        out.append(SaveResult(received=count, new=fresh, updated=count - fresh))
    return out


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
