"""Alerts (one row per incident, across runs) and the pushes made of them."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Sequence

import pyarrow as pa

from analysis.store.shape import Connection, Row, dict_rows, db_now, registered, transaction, from_db_time, to_db_time


# -- alerts ------------------------------------------------------------------

def save_alerts(con: Connection, alerts: Sequence[Row], run_id: str) -> list[str]:
    """Insert alerts not seen before, refresh the ongoing ones; returns the ids of new alerts.

    An alert's id is its incident (brand, source, metric, first bucket), so a
    rerun, or the next night while the incident goes on, updates it instead of
    reporting it again.
    """
    if not alerts:
        return []
    alerts = _same_incidents(con, alerts)
    now = db_now()
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
    with registered(con, "incoming_alerts", table), transaction(con):
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


def _same_incidents(con: Connection, alerts: Sequence[Row]) -> list[Row]:
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


def alerts_between(con: Connection, brands: Sequence[str], start: datetime, end: datetime) -> list[Row]:
    """Alerts whose incident touched [start, end), most severe first."""
    rows = dict_rows(con.execute(
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

def recorded_pushes(con: Connection, alert_ids: Sequence[str]) -> dict[str, Row]:
    """The pushes recorded for these alerts, by push_id."""
    if not alert_ids:
        return {}
    rows = dict_rows(con.execute("SELECT * FROM pushes WHERE list_contains(?, alert_id)", [list(alert_ids)]))
    return {r["push_id"]: r for r in rows}


def sent_pushes(con: Connection, alert_ids: Sequence[str]) -> dict[str, list[Row]]:
    """Per alert, the pushes that went out (the watch flow's), oldest first."""
    out: dict[str, list[Row]] = {}
    for row in sorted(recorded_pushes(con, alert_ids).values(), key=lambda r: (r["sent_at"] or datetime.min)):
        if row["state"] == "sent":
            out.setdefault(row["alert_id"], []).append({**row, "sent_at": from_db_time(row["sent_at"])})
    return out


def record_pushes(con: Connection, pushes: Sequence[Row], run_id: str) -> int:
    """Record new pushes as pending, in bulk; one already recorded (a rerun) is left as it is. Returns how many are new."""
    if not pushes:
        return 0
    now = db_now()
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
    with registered(con, "incoming_pushes", table), transaction(con):
        new = con.execute("SELECT count(*) FROM incoming_pushes ANTI JOIN pushes USING (push_id)").fetchone()[0]
        con.execute("INSERT INTO pushes SELECT * FROM incoming_pushes ON CONFLICT (push_id) DO NOTHING")
    return int(new)


def take_interrupted_pushes(con: Connection) -> list[str]:
    """Pushes a killed run was sending: whether they arrived is unknown. Marked `interrupted` (to be sent again, said so)."""
    with transaction(con):
        ids = [r[0] for r in con.execute("SELECT push_id FROM pushes WHERE state = 'sending'").fetchall()]
        con.execute("UPDATE pushes SET state = 'interrupted' WHERE state = 'sending'")
    return ids


def pushes_to_send(con: Connection) -> list[Row]:
    """Pending pushes (new, or failed before) and interrupted ones, oldest first."""
    return dict_rows(con.execute(
        "SELECT * FROM pushes WHERE state IN ('pending', 'interrupted') ORDER BY created_at, push_id"))


def mark_push(con: Connection, push_id: str, state: str, error: str | None = None) -> None:
    """sending (just before the call), sent, interrupted (the call failed after the service may have taken it:
    sent again, said so), or pending again with the reason it failed."""
    if state == "interrupted":
        con.execute("UPDATE pushes SET state = 'interrupted', last_error = ? WHERE push_id = ?", [error, push_id])
    elif state == "sending":
        con.execute("UPDATE pushes SET state = 'sending', attempts = attempts + 1 WHERE push_id = ?", [push_id])
    elif state == "sent":
        con.execute("UPDATE pushes SET state = 'sent', sent_at = ?, last_error = NULL WHERE push_id = ?",
                    [db_now(), push_id])
    else:
        con.execute("UPDATE pushes SET state = 'pending', last_error = ? WHERE push_id = ?", [error, push_id])
