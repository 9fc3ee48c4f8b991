"""Source health, mentions and their cursors: what a fetch writes, in one transaction per source."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Sequence, TypedDict

import pyarrow as pa

from analysis.store.scores import save_scores
from analysis.store.shape import (
    Connection, Row, TargetKey, dict_rows, db_now, registered, registered_targets, transaction, from_db_time, to_db_time,
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


class MentionRow(TypedDict, total=False):
    """A fetched mention as the store takes it (a scrapers.base.Mention as a dict); source, external_id and
    published_at (aware) are required, the rest may be missing or None."""

    source: str
    external_id: str
    published_at: datetime
    text: str
    url: str | None
    title: str | None
    author: str | None
    kind: str
    rating: float | None
    replied: bool | None
    language: str | None
    raw: dict[str, object]
    reply_text: str | None
    replied_at: datetime | None
    app_version: str | None
    date_estimated: bool


# What a source keeps in its cursor between runs: stored as JSON, handed back as it was.
CursorState = dict[str, Any]


@dataclass(frozen=True)
class Cursor:
    watermark: datetime | None
    state: CursorState


@dataclass(frozen=True)
class SaveResult:
    received: int
    new: int
    updated: int


# -- health ---------------------------------------------------------

def save_source_health(con: Connection, run_id: str, rows: Sequence[Row]) -> None:
    if not rows:
        return
    table = pa.Table.from_pylist([
        {
            "run_id": run_id, "brand": r["brand"], "source": r["source"], "target": r["target"],
            "ok": bool(r["ok"]), "pages": int(r.get("pages", 0)), "fetched": int(r.get("fetched", 0)),
            "new": int(r.get("new", 0)), "error": r.get("error"), "checked_at": db_now(),
            "skipped": int(r.get("skipped", 0)), "skipped_example": r.get("skipped_example"),
        }
        for r in rows
    ], schema=pa.schema([
        ("run_id", pa.string()), ("brand", pa.string()), ("source", pa.string()), ("target", pa.string()),
        ("ok", pa.bool_()), ("pages", pa.int64()), ("fetched", pa.int64()), ("new", pa.int64()),
        ("error", pa.string()), ("checked_at", pa.timestamp("us")), ("skipped", pa.int64()),
        ("skipped_example", pa.string()),
    ]))
    with registered(con, "incoming_health", table):
        con.execute(
            """INSERT OR REPLACE INTO source_health (run_id, brand, source, target, ok, pages, fetched, new, error,
                                                     checked_at, skipped, skipped_example)
               SELECT run_id, brand, source, target, ok, pages, fetched, new, error, checked_at, skipped,
                      skipped_example FROM incoming_health"""
        )


def source_health(con: Connection, run_id: str) -> list[Row]:
    return dict_rows(con.execute(
        "SELECT brand, source, target, ok, pages, fetched, new, error, skipped, skipped_example FROM source_health "
        "WHERE run_id = ? "
        "ORDER BY ok, brand, source, target",
        [run_id],
    ))


# -- mentions and cursors ----------------------------------------------------

def get_cursors(con: Connection, keys: Sequence[TargetKey]) -> dict[TargetKey, Cursor]:
    """Each target's cursor (an empty one where it has none yet), in one query: a run plans thousands."""
    with registered_targets(con, keys):
        rows = con.execute(
            """SELECT brand, source, target, watermark, state FROM cursors
               WHERE (brand, source, target) IN (SELECT (brand, source, target) FROM wanted_targets)""").fetchall()
    found = {(b, s, t): Cursor(from_db_time(w), json.loads(st) if st else {}) for b, s, t, w, st in rows}
    return {key: found.get(key, Cursor(None, {})) for key in keys}


def get_cursor(con: Connection, brand: str, source: str, target: str) -> Cursor:
    return get_cursors(con, [(brand, source, target)])[(brand, source, target)]


def _mention_records(brand: str, target: str, rows: Iterable[MentionRow]) -> list[Row]:
    """Rows as the mentions table holds them, each key once (one key twice would make the merge ambiguous)."""
    records: dict[tuple[str, str], Row] = {}
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
    rows: Sequence[MentionRow],
    *,
    run_id: str,
    state: CursorState | None = None,
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
    rows: Sequence[MentionRow]
    state: CursorState | None = None


_CURSOR_SCHEMA = pa.schema([("brand", pa.string()), ("source", pa.string()), ("target", pa.string()),
                            ("watermark", pa.timestamp("us")), ("state", pa.string())])


def save_mention_batch(con: Connection, batch: Sequence[SourceRows], *, run_id: str,
                       scores: Sequence[Row] = ()) -> list[SaveResult]:
    """Many sources' mentions and cursors (and `scores`, rows for save_scores) in one transaction, a statement
    each: what save_mentions does source by source, for a writer storing thousands of sources. A mention
    that two targets of one brand both carry is stored once, as the first one's; nothing is stored if
    anything fails."""
    records: dict[tuple[str, str, str], Row] = {}  # the first target's copy of a shared mention
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
    now = db_now()
    with registered(con, "incoming_mentions", mentions), \
            registered(con, "incoming_cursors", pa.Table.from_pylist(cursors, schema=_CURSOR_SCHEMA)), \
            transaction(con):
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
