"""Runs: one row per run (nightly, weekly, watch, rescore), begun and finished by flows.run, killed ones said so."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from analysis.store.shape import Connection, Row, db_now, dict_rows, from_db_time, to_db_time


def begin_run(con: Connection, run_id: str, flow: str, params: dict[str, Any], period_start: datetime,
              period_end: datetime) -> None:
    con.execute(
        """INSERT INTO runs (run_id, flow, started_at, status, period_start, period_end, params)
           VALUES (?, ?, ?, 'running', ?, ?, ?)
           ON CONFLICT (run_id) DO UPDATE SET status = 'running', finished_at = NULL, outcome = NULL""",
        [run_id, flow, db_now(), to_db_time(period_start), to_db_time(period_end), json.dumps(params, default=str)],
    )


def finish_run(con: Connection, run_id: str, status: str, message: str = "", outcome: str | None = None) -> None:
    """`outcome`: what the run produced, as JSON (flows.run writes it)."""
    con.execute(
        "UPDATE runs SET status = ?, finished_at = ?, message = ?, outcome = ? WHERE run_id = ?",
        [status, db_now(), message, outcome, run_id],
    )


def mark_killed_runs(con: Connection, found_by: str) -> list[str]:
    """Runs still `running` when a new run holds the lock died without finishing (SIGKILL, power cut): say so.

    Only the lock's holder may call this: no other run can be running then."""
    rows = con.execute(
        """UPDATE runs SET status = 'killed', finished_at = ?,
               message = 'stopped before it finished (its process ended while it held the run lock); found by run '
                         || ?
           WHERE status = 'running' AND run_id <> ? RETURNING run_id""",
        [db_now(), found_by, found_by],
    ).fetchall()
    return [r[0] for r in rows]


def runs(con: Connection, limit: int = 20) -> list[Row]:
    """The latest runs, newest first, with what each produced."""
    rows = dict_rows(con.execute(
        """SELECT run_id, flow, started_at, finished_at, status, message, outcome FROM runs
           ORDER BY started_at DESC LIMIT ?""", [limit]))
    for r in rows:
        r["started_at"], r["finished_at"] = from_db_time(r["started_at"]), from_db_time(r["finished_at"])
        r["outcome"] = json.loads(r["outcome"]) if r["outcome"] else None
    return rows
