"""The watch flow, every 15 minutes: fetch what is new, score it, detect, push alerts as they happen. Thin orchestration.

It shares the nightly run's cursors, store, run lock and pacing, and its
alerts: an incident the watch pushed at 22:15 is the same alert the digest
shows at 06:00 (with when it was pushed), never a second one.
"""
from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

from prefect import flow, get_run_logger
from prefect.context import get_run_context
from prefect.states import Completed, Failed

from analysis import clock, runlock, store
from flows import tasks
from flows.config import load_config
from flows.nightly import RunFailed, parse_when


@flow(name="watch", log_prints=True)
def watch(config_path: str = "monitor.yaml", until: str | None = None) -> Any:
    """One watch round up to `until` (default: now)."""
    logger = get_run_logger()
    config = load_config(config_path)
    end = parse_when(until, config.tz) or clock.now().replace(second=0, microsecond=0)
    end = end.astimezone(timezone.utc)
    run_id = str(get_run_context().flow_run.id)  # type: ignore[union-attr]
    db = config.database
    brand_names = [b.name for b in config.brands]
    try:
        with runlock.exclusive_run(db, config.lock_wait_seconds, owner=run_id, on_wait=logger.info):
            con = store.connect(db)
            try:
                store.begin_run(con, run_id, {"flow": "watch", "config_path": config_path, "until": until},
                                end - timedelta(days=1), end)
            finally:
                con.close()
            health = tasks.fetch_all(config, run_id, None, None, end, None, logger)
            scored = tasks.score_new_mentions(db, config.sentiment.model,
                                              end - timedelta(days=config.detection.history_days))
            new_alerts = tasks.detect_alerts(db, brand_names, end - timedelta(days=1), end, config, run_id)
            pushed = tasks.push_alerts(db, config, brand_names, end, run_id)
            failed = [h for h in health if not h["ok"]]
            summary = (f"watch {end.astimezone(config.tz):%Y-%m-%d %H:%M}: "
                       f"{sum(h['new'] for h in health)} new, {scored} scored, {len(new_alerts)} new alerts, "
                       f"{len(pushed['sent'])} pushed, {len(pushed['failed'])} not sent; "
                       f"{len(health) - len(failed)}/{len(health)} sources OK")
            con = store.connect(db)
            try:
                store.finish_run(con, run_id, "partial" if failed or pushed["failed"] else "completed", summary)
            finally:
                con.close()
    except runlock.DatabaseBusy as exc:
        logger.error("%s", exc)
        return Failed(message=str(exc), data=exc)
    result = {"until": end, "health": health, "alerts": new_alerts, "pushed": pushed, "database": db,
              "summary": summary}
    problems = [f"{len(failed)} of {len(health)} sources failed: "
                + ", ".join(f"{h['brand']}/{h['source']}/{h['target']}" for h in failed) + "."] if failed else []
    problems += [f"Not sent, kept for the next run: {f}." for f in pushed["failed"]]
    if problems:
        message = " ".join(problems + [summary])
        return Failed(message=message, data=RunFailed(message, result))
    return Completed(message=summary, data=result)


if __name__ == "__main__":
    watch()
