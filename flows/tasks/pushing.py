"""Pushes (the watch flow): which alerts go to which group's chat now, recorded, then sent."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from prefect import get_run_logger, task

from analysis import pushes, store
from analysis.detection import spikes
from flows import credentials
from flows.config import MonitorConfig
from flows.run import PushOutcome
from reports import notify, push_message


# -- pushes (the watch flow) ---------------------------------------------------

# Said before a push sent again whose last attempt may have arrived (a run stopped mid-send, or the service
# did not answer in time).
INTERRUPTED_NOTE = "(sent again: the last attempt may have arrived already) "


def push_groups(config: MonitorConfig, logger: Any) -> dict[str, tuple[pushes.PushGroup, list[str]]]:
    """The groups that receive pushes, each with its Apprise URLs; a group whose URLs cannot be read is said and skipped."""
    out = {}
    for group in config.digest.groups:
        if group.notify is None:
            continue
        try:
            urls = credentials.notify_urls(group.notify.env, group.notify.block, group.notify.file)
        except credentials.MissingCredentials as exc:
            logger.warning("group %s gets no pushes: %s", group.name, exc)
            continue
        out[group.name] = (pushes.PushGroup(group.name, frozenset(group.brands) if group.brands else None,
                                            pushes.parse_quiet_hours(group.quiet_hours)), urls)
    return out


def _run_url(run_id: str) -> str | None:
    """The run in the Prefect UI, when a server is configured (a temporary one is gone by the time anyone looks)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

    if not PREFECT_API_URL.value() or not PREFECT_UI_URL.value():
        return None
    return f"{PREFECT_UI_URL.value().rstrip('/')}/runs/flow-run/{run_id}"


@task(name="push alerts")
def push_alerts(db_path: str, config: MonitorConfig, brand_names: list[str], until: datetime,
                run_id: str) -> PushOutcome:
    """Record the pushes the alerts call for, then send every pending one (this run's and earlier runs' failures).

    A push is recorded before it is sent and marked `sending` just before the
    call: a run killed in between leaves it `sending`, and the next run sends
    it again with a note that it may have arrived already. An alert lost in
    silence is worse than one said twice, said so.
    """
    logger = get_run_logger()
    groups = push_groups(config, logger)
    with store.connection(db_path) as con:
        interrupted = store.take_interrupted_pushes(con)
        if interrupted:
            logger.warning("%d push(es) were being sent when a run stopped; sending them again, marked", len(interrupted))
        recent = store.alerts_between(con, brand_names, until - timedelta(days=1), until)
        planned = pushes.plan_pushes(recent, [g for g, _ in groups.values()],
                                     store.recorded_pushes(con, [a["alert_id"] for a in recent]), until, config.tz,
                                     config.watch.escalation_factor,
                                     spikes.with_sensitivity(config.detection.sensitivity).quiet_seconds)
        url = _run_url(run_id)
        services = {name: notify.service_names(urls) for name, (_, urls) in groups.items()}
        for p in planned:
            p["title"], p["body"] = push_message.compose(p["alert"], p["kind"], config.tz, url)
            p["services"] = services[p["group"]]
        recorded = store.record_pushes(con, planned, run_id)
        sent, failed = [], []
        for row in store.pushes_to_send(con):
            if row["recipient_group"] not in groups:
                store.mark_push(con, row["push_id"], "pending", "the group has no notify URLs now")
                failed.append(f"{row['title']} ({row['recipient_group']}: no notify URLs)")
                continue
            title = (INTERRUPTED_NOTE if row["state"] == "interrupted" else "") + row["title"]
            store.mark_push(con, row["push_id"], "sending")
            try:
                notify.send(groups[row["recipient_group"]][1], title, row["body"])
            except notify.DeliveryError as exc:
                store.mark_push(con, row["push_id"], "interrupted" if exc.maybe_delivered else "pending", str(exc))
                failed.append(f"{row['title']} ({row['recipient_group']}: {exc})")
                logger.warning("push to %s not sent, kept for the next run: %s", row["recipient_group"], exc)
                continue
            store.mark_push(con, row["push_id"], "sent")
            sent.append(f"{row['title']} ({row['recipient_group']}: {row['services']})")
    return PushOutcome(recorded, tuple(sent), tuple(failed))
