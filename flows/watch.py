"""The watch flow, every 15 minutes: fetch what is new, score it, detect, push alerts as they happen. Thin orchestration.

It shares the nightly run's cursors, store, run lock and pacing, and its
alerts: an incident the watch pushed at 22:15 is the same alert the digest
shows at 06:00 (with when it was pushed), never a second one.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from prefect import flow, get_run_logger
from prefect.context import get_run_context

from analysis import clock
from flows.config import MonitorConfig, load_config
from flows.nightly import parse_when
from flows.run import RunOutcome, REFUSALS, prefect_state, recorded_run, refused_state, sources_ok
from flows.tasks.detection import detect_alerts
from flows.tasks.fetch_run import fetch_all
from flows.tasks.pushing import push_alerts
from flows.tasks.scoring import score_new_mentions


@flow(name="watch", log_prints=True)
def watch(config_path: str = "monitor.yaml", until: str | None = None) -> Any:
    """One watch round up to `until` (default: now)."""
    logger = get_run_logger()
    config = load_config(config_path)
    end = parse_when(until, config.tz) or clock.now().replace(second=0, microsecond=0)
    end = end.astimezone(timezone.utc)
    run_id = str(get_run_context().flow_run.id)  # type: ignore[union-attr]
    params = {"config_path": config_path, "until": until}
    try:
        with recorded_run(config, "watch", params, end - timedelta(days=1), end, run_id, logger.info) as run:
            run.outcome = _round(config, end, run_id, logger)
    except REFUSALS as exc:
        logger.error("%s", exc)
        return refused_state(exc)
    return prefect_state(run.outcome)


def _round(config: MonitorConfig, end: datetime, run_id: str, logger: Any) -> RunOutcome:
    """The round's steps, under the database's run lock."""
    db = config.database
    brand_names = [b.name for b in config.brands]
    health = fetch_all(config, run_id, None, None, end, None, logger)
    scored = score_new_mentions(db, config.sentiment.model, end - timedelta(days=config.detection.history_days))
    new_alerts = detect_alerts(db, brand_names, end - timedelta(days=1), end, config, run_id)
    pushed = push_alerts(db, config, brand_names, end, run_id)
    summary = (f"watch {end.astimezone(config.tz):%Y-%m-%d %H:%M}: "
               f"{sum(h.new for h in health)} new, {scored} scored, {len(new_alerts)} new alerts, "
               f"{len(pushed.sent)} pushed, {len(pushed.failed)} not sent; {sources_ok(health)}")
    return RunOutcome("watch", f"{end.astimezone(config.tz):%Y-%m-%dT%H:%M}", db, summary, tuple(health),
                      tuple(new_alerts), pushed=pushed)


if __name__ == "__main__":
    watch()
