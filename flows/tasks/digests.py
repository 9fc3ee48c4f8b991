"""The digest: what it shows, written to the outbox and sent once, late ones marked."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Sequence

from prefect import get_run_logger, task

from analysis.detection import spikes
from analysis import store
from flows.cadence import DigestPlan, weekly_plan
from flows.config import MonitorConfig
from flows.run import DigestOutcome
from flows.smtp_env import smtp_settings_from_env
from reports import digest as digest_report
from reports import mailer
from reports.templating import RenderedDigest
from flows.tasks.scoring import with_driver_words
from flows.tasks.weekly_digest import MAX_ATTACHMENT_BYTES, build_weekly_digest


def build_digest(
    con: store.Connection, config: MonitorConfig, brand_names: list[str], period_start: datetime, until: datetime, run_id: str
) -> RenderedDigest:
    length = until - period_start
    before = period_start - length
    brands = [{"name": b.name, "competitor": b.competitor} for b in config.brands if b.name in brand_names]
    period_alerts = store.alerts_between(con, brand_names, period_start, until)
    # The trend is the first own brand's (the one the digest is about), per day over two weeks.
    days = 14
    name = next((b["name"] for b in brands if not b["competitor"]), brand_names[0])
    trend_start = until - timedelta(days=days)
    daily = store.bucket_series(con, name, trend_start, until, 86400)["count"]
    alert_days = {int((a["last_bucket"] - trend_start).total_seconds() // 86400)
                  for a in period_alerts if a["brand"] == name}
    trend = [{"label": (trend_start + timedelta(days=i + 1)).astimezone(config.tz).strftime("%a %d %b"),
              "count": int(count), "alert": i in alert_days}
             for i, count in enumerate(daily)]
    own = [b["name"] for b in brands if not b["competitor"]]
    reply_window = timedelta(days=digest_report.REPLY_WINDOW_DAYS)
    awaiting, awaiting_total = store.awaiting_reply(
        con, own, until - timedelta(days=config.digest.reply_queue_days), until, limit=config.digest.reply_queue_limit)
    context = digest_report.build_context(digest_report.DigestInputs(
        title=config.digest.subject,
        period_start=period_start,
        period_end=until,
        tz=config.tz,
        brands=brands,
        kpis_now=store.period_kpis(con, brand_names, period_start, until),
        kpis_before=store.period_kpis(con, brand_names, before, period_start),
        alerts=period_alerts,
        negatives=with_driver_words(store.negative_mentions(con, brand_names, period_start, until, limit=80)),
        health=[h for h in store.source_health(con, run_id) if h["brand"] in brand_names],
        trend=trend,
        awaiting=awaiting,
        awaiting_total=awaiting_total,
        replies_now=store.reply_kpis(con, brand_names, until - reply_window, until),
        replies_before=store.reply_kpis(con, brand_names, until - 2 * reply_window, until - reply_window),
        replies_period=store.reply_kpis(con, brand_names, period_start, until),
        overall_ratings=store.aggregate_ratings(con, brand_names),
        learning=digest_report.learning_notes(store.history_starts(con, brand_names), brand_names, until,
                                              spikes.with_sensitivity(config.detection.sensitivity).baseline_days),
        unscored=store.unscored_languages(con, brand_names, period_start, until),
        read=store.scored_languages(con, brand_names, period_start, until),
        pushed=store.sent_pushes(con, [a["alert_id"] for a in period_alerts]),
        now=until,
    ))
    return digest_report.render_digest(context)


def daily_plans(config: MonitorConfig, period_key: str, start: datetime, end: datetime) -> list[DigestPlan]:
    """Every daily group's digest of the run's period."""
    return [DigestPlan(g.name, "daily", period_key, start, end) for g in config.groups("daily")]


def weekly_plans(config: MonitorConfig, now: datetime, until: datetime | None = None,
                 since: datetime | None = None) -> list[DigestPlan]:
    """Every weekly group's week: up to its latest send time (or up to an explicit `until`)."""
    return [weekly_plan(g.name, g.send_at, config.group_tz(g), now, until, since) for g in config.groups("weekly")]


def _write(con: store.Connection, config: MonitorConfig, plan: DigestPlan, run_id: str) -> tuple[Any, dict[str, str]]:
    """Render one plan's digest and write it to the outbox (with its CSV for a weekly one)."""
    group = next(g for g in config.digest.groups if g.name == plan.group)
    names = group.brands or [b.name for b in config.brands]
    stem = f"digest-{plan.key}-{group.name}".replace(":", "").replace("/", "-")
    attachments, extra = [], {}
    if plan.cadence == "weekly":
        rendered, data = build_weekly_digest(con, config, group, names, plan.start, plan.end, f"{stem}.csv")
        extra["csv"] = data
        if len(data) <= MAX_ATTACHMENT_BYTES:
            attachments.append((f"{stem}.csv", data, "text/csv"))
    else:
        rendered = build_digest(con, config, names, plan.start, plan.end, run_id)
    message = mailer.build_message(rendered.subject, config.digest.sender, group.recipients, rendered.html,
                                   rendered.text, attachments)
    return rendered, mailer.write_outbox(config.outbox, stem, rendered.html, rendered.text, message, extra)


def write_and_send_digests(
    con: store.Connection, config: MonitorConfig, plans: Sequence[DigestPlan], run_id: str,
    smtp: mailer.SmtpSettings | None, resend: bool, log: Any,
) -> list[DigestOutcome]:
    """Per planned digest: write it once (again with `resend`), then send every pending digest.

    Writing and sending are separate facts. A digest written to be sent stays
    pending until a send succeeds; a failed send is recorded and reported,
    never raised, so the other groups go on. Pending digests of earlier runs
    go out first, once, their subject marked [LATE]. Without SMTP settings
    (or with sending off) digests are written to the outbox only.
    """
    outcomes: dict[tuple[str, str], DigestOutcome] = {}
    for plan in plans:
        existing = store.get_digest(con, plan.key, plan.group)
        if existing and not resend:
            log.info("digest %s/%s already written at %s; not writing it again", plan.key, plan.group,
                     existing["rendered_at"])
            outcomes[(plan.key, plan.group)] = DigestOutcome(plan.group, plan.key, existing["html_path"], written=False)
            continue
        rendered, paths = _write(con, config, plan, run_id)
        store.record_digest(con, plan.key, plan.group, plan.start, plan.end, paths, run_id, to_send=smtp is not None)
        outcomes[(plan.key, plan.group)] = DigestOutcome(plan.group, plan.key, paths["html"], written=True,
                                                         subject=rendered.subject, cadence=plan.cadence)
    for stuck in store.take_interrupted_digests(con):
        key = (stuck["period_key"], stuck["recipient_group"])
        error = ("a run was stopped while sending it, so it may or may not have arrived; not sent again "
                 "(repwatch run --resend for that period sends it again)")
        outcomes[key] = DigestOutcome(key[1], key[0], stuck["html_path"], written=False, error=error)
        log.error("digest %s/%s: %s", *key, error)
    if smtp is not None:
        for pending in store.pending_digests(con):
            key = (pending["period_key"], pending["recipient_group"])
            outcome = outcomes.setdefault(key, DigestOutcome(key[1], key[0], pending["html_path"], written=False))
            late = pending["run_id"] != run_id  # written by an earlier run that could not send it
            try:
                message = mailer.load_message(pending["eml_path"])
                store.mark_digest_sending(con, *key)
                mailer.send_message(mailer.mark_late(message) if late else message, smtp)
            except mailer.MailError as exc:
                store.mark_digest_unsent(con, *key, str(exc))
                outcomes[key] = replace(outcome, error=f"{exc}; the next run sends it")
                log.error("digest %s/%s written to %s but not sent: %s", *key, pending["html_path"], exc)
                continue
            store.mark_digest_sent(con, *key)
            outcomes[key] = replace(outcome, sent=True, late=late)
    return list(outcomes.values())


@task(task_run_name="write and send digests")
def render_and_send(
    db_path: str, config: MonitorConfig, plans: Sequence[DigestPlan], run_id: str, send_email: bool, resend: bool,
) -> list[DigestOutcome]:
    """No task retry: a failed send is kept pending and reported, and the next run sends it."""
    smtp = smtp_settings_from_env() if send_email else None
    with store.connection(db_path) as con:
        return write_and_send_digests(con, config, plans, run_id, smtp, resend, get_run_logger())
