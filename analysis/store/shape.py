"""The store's shape and its plumbing: connecting, numbered migrations, times, bulk-write helpers."""
from __future__ import annotations

from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Sequence

import duckdb
import pyarrow as pa

from analysis import clock

Connection = duckdb.DuckDBPyConnection
# A row as the store reads or writes it: column name -> value (times aware UTC on the way out).
Row = dict[str, Any]


class StoreError(RuntimeError):
    """The database cannot be used as it is: the message names the file and says why."""


def to_db_time(value: datetime | None) -> datetime | None:
    """Aware datetime -> naive UTC, the store's convention."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise StoreError(f"naive datetime {value!r}: pass an aware datetime")
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def from_db_time(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=timezone.utc)


def db_now() -> datetime:
    # The run's clock (REPWATCH_NOW shifts it), so a run replayed as if on another day records its times then.
    return clock.now().replace(tzinfo=None)


@contextmanager
def registered(con: Connection, name: str, table: pa.Table) -> Iterator[None]:
    """`table` visible to SQL as `name` for the block: how every bulk write gets its rows in."""
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


TargetKey = tuple[str, str, str]  # (brand, source, target): one configured fetch


def registered_targets(con: Connection, keys: Sequence[TargetKey]) -> AbstractContextManager[None]:
    """`keys` visible to SQL as `wanted_targets` (brand, source, target) for the block: one query for many targets."""
    return registered(con, "wanted_targets", pa.Table.from_pylist(
        [{"brand": b, "source": s, "target": t} for b, s, t in keys],
        schema=pa.schema([("brand", pa.string()), ("source", pa.string()), ("target", pa.string())])))


@contextmanager
def transaction(con: Connection) -> Iterator[None]:
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
        with transaction(con):
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, db_now()])
        applied.append(name)
    return applied


def connect(path: str | Path, read_only: bool = False) -> Connection:
    """Open (creating if needed) the database file and bring it up to shape; StoreError, naming the file,
    when it cannot be opened (not a DuckDB file, truncated, locked by another program, unwritable)."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise StoreError(f"cannot open the database {path}: {' '.join(str(exc).split())}") from None
    if not read_only:
        try:
            ensure_db_shape(con)
        except duckdb.Error as exc:
            con.close()
            raise StoreError(f"cannot bring the database {path} up to shape: {' '.join(str(exc).split())}") from None
    return con


@contextmanager
def connection(path: str | Path, read_only: bool = False) -> Iterator[Connection]:
    """`connect`, closed when the block ends however it ends."""
    con = connect(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def mention_rows(result: duckdb.DuckDBPyConnection) -> list[Row]:
    """Mention rows with aware timestamps."""
    rows = dict_rows(result)
    for r in rows:
        r["published_at"] = from_db_time(r["published_at"])
    return rows


def dict_rows(result: duckdb.DuckDBPyConnection) -> list[Row]:
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]
