"""The nightly flow: fetch -> store -> score -> detect -> report -> send. Thin orchestration."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.context import get_run_context

from analysis import clock, store
from flows.cadence import DigestPlan
from flows.config import MonitorConfig, load_config
from flows.run import DigestOutcome, RunOutcome, REFUSALS, prefect_state, recorded_run, refused_state, sources_ok
from flows.tasks.detection import detect_alerts
from flows.tasks.digests import daily_plans, render_and_send, weekly_plans
from flows.tasks.fetch_run import fetch_all
from flows.tasks.scoring import score_new_mentions


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    key: str
    explicit_since: bool


def parse_when(value: str | datetime | date | None, tz: Any) -> datetime | None:
    """A date (midnight in the config's zone) or an ISO datetime (naive means the config's zone)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time())
    else:
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) or an ISO datetime") from None
    return dt.replace(tzinfo=tz) if dt.tzinfo is None else dt


def reporting_period(config: MonitorConfig, since: Any, until: Any, now: datetime | None = None) -> Period:
    """By default the 24 hours up to the last full hour; the key names the period so a digest goes out once."""
    tz = config.tz
    end = parse_when(until, tz)
    if end is None:
        now = now or clock.now()
        end = now.replace(minute=0, second=0, microsecond=0)
    start = parse_when(since, tz)
    explicit = start is not None
    start = start or end - timedelta(days=1)
    if start >= end:
        raise ValueError(f"since ({start.isoformat()}) must be before until ({end.isoformat()})")
    if explicit or until:
        key = f"{start.astimezone(tz):%Y-%m-%dT%H%M}_{end.astimezone(tz):%Y-%m-%dT%H%M}"
    else:
        key = f"{end.astimezone(tz):%Y-%m-%d}"
    return Period(start.astimezone(timezone.utc), end.astimezone(timezone.utc), key, explicit)


def _run_id() -> str:
    ctx = get_run_context()
    return str(ctx.flow_run.id)  # type: ignore[union-attr]


@flow(name="nightly", log_prints=True)
def nightly(
    config_path: str = "monitor.yaml",
    since: str | None = None,
    until: str | None = None,
    brands: list[str] | None = None,
    sources: list[str] | None = None,
    send_email: bool = True,
    resend: bool = False,
    cadence: Literal["daily", "weekly"] = "daily",
) -> Any:
    """Fetch every source, store, score, detect spikes, write and send the digests of this cadence.

    daily: every daily group's digest of the period. weekly: every weekly
    group's week up to its latest send time (up to `until` when given), once;
    when each is written already the run fetches nothing and says so.
    A failing source does not stop the run: it is recorded, shown in the
    digest, and the run ends Failed with a message naming it, after the
    digest has gone out.
    """
    logger = get_run_logger()
    config = load_config(config_path)
    period = reporting_period(config, since, until)
    if cadence == "weekly":
        if not config.groups("weekly"):
            raise ValueError(f"{config_path}: no digest group has cadence: weekly")
        plans = weekly_plans(config, clock.now(), parse_when(until, config.tz), parse_when(since, config.tz))
    elif cadence == "daily":
        plans = daily_plans(config, period.key, period.start, period.end)
    else:
        raise ValueError(f"cadence must be daily or weekly, not {cadence!r}")
    params = {"config_path": config_path, "since": since, "until": until, "brands": brands, "sources": sources,
              "send_email": send_email, "resend": resend, "cadence": cadence}
    flow_name = "weekly" if cadence == "weekly" else "nightly"
    try:
        # One run per database at a time; a second one waits (bounded), then says so.
        with recorded_run(config, flow_name, params, period.start, period.end, _run_id(), logger.info) as run:
            written = _written_already(config.database, plans) if cadence == "weekly" and not resend else None
            if written:
                run.outcome = _nothing_due(plans, written, config.database, logger)
            else:
                run.outcome = _run(config, period, plans, run.run_id, flow_name, params, logger)
    except REFUSALS as exc:
        logger.error("%s", exc)
        return refused_state(exc)
    return prefect_state(run.outcome)


def _written_already(db: str, plans: list[DigestPlan]) -> list[store.Row] | None:
    """Each planned digest as the store has it, if every one is written and none waits to be sent;
    None when there is something to do."""
    with store.connection(db) as con:
        found = [store.get_digest(con, p.key, p.group) for p in plans]
        pending = store.pending_digests(con)
    return None if pending or not all(found) else found  # type: ignore[return-value]


def _nothing_due(plans: list[DigestPlan], written: list[store.Row], db: str, logger: Any) -> RunOutcome:
    summary = "no weekly digest due: " + ", ".join(f"{p.group} for {p.key} is written already" for p in plans)
    logger.info("%s", summary)
    digests = tuple(DigestOutcome(p.group, p.key, w["html_path"], written=False) for p, w in zip(plans, written))
    return RunOutcome("weekly", ", ".join(p.key for p in plans), db, summary, digests=digests)


def _run(config: MonitorConfig, period: Period, plans: list[DigestPlan], run_id: str, flow_name: str,
         params: dict[str, Any], logger: Any) -> RunOutcome:
    """The run's steps, under the database's run lock."""
    db = config.database
    brands, sources, weekly = params["brands"], params["sources"], flow_name == "weekly"
    # Alerts are detected over every planned period (a weekly group's whole week), up to the run's end.
    detect_from = min([period.start, *(p.start for p in plans)])
    health = fetch_all(config, run_id, brands, sources, period.end,
                       period.start if period.explicit_since else None, logger)
    scored = score_new_mentions(db, config.sentiment.model, period.end - timedelta(days=config.detection.history_days))
    brand_names = [b.name for b in config.brands if not brands or b.name in brands]
    new_alerts = detect_alerts(db, brand_names, detect_from, period.end, config, run_id)
    digests = render_and_send(db, config, plans, run_id, params["send_email"], params["resend"])
    key = ", ".join(p.key for p in plans) if weekly else period.key
    summary = (f"period {key}: {sum(h.fetched for h in health)} fetched, "
               f"{sum(h.new for h in health)} new, {scored} scored, {len(new_alerts)} new alerts; {sources_ok(health)}")
    outcome = RunOutcome(flow_name, key, db, summary, tuple(health), tuple(new_alerts), tuple(digests))
    _publish_artifact(outcome)
    return outcome


def _publish_artifact(outcome: RunOutcome) -> None:
    """What the run did, as a table in the Prefect UI."""
    lines = [f"## repwatch {outcome.period}", "", outcome.summary, "",
             "| brand | source | target | health | fetched | new |", "|---|---|---|---|---|---|"]
    for h in outcome.health:
        status = "OK" if h.ok else f"FAILED: {(h.error or '')[:120]}".replace("|", "/")
        lines.append(f"| {h.brand} | {h.source} | {h.target[:60].replace('|', '/')} | {status} | "
                     f"{h.fetched} | {h.new} |")
    lines += ["", f"New alerts: {len(outcome.alerts)}", ""]
    for d in outcome.digests:
        lines.append(f"- digest `{d.group}` ({d.period}): {d.html_path} ({d.describe()})")
    create_markdown_artifact("\n".join(lines), key="repwatch-run", description="repwatch nightly summary")


if __name__ == "__main__":
    nightly()
