"""Prefect tasks: each a unit of retry (a source, a batch, a digest), each thin glue.

Scrapers fetch and parse; the store writes; analysis computes; reports render.
Nothing here is per mention.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from prefect import get_run_logger, task
from prefect.runtime import task_run as task_run_info

from analysis import alerts, pushes, sentiment, spikes, store
from flows import credentials
from flows.config import BrandConfig, MonitorConfig, smtp_settings_from_env
from flows.credentials import CredentialsConfig
from reports import digest as digest_report
from reports import mailer, notify, push_message
from scrapers.base import ParseError, merge_mentions, parse_page, scraper_class
from scrapers.http import FatalHTTPError, HttpSettings, PoliteSession, RetriableHTTPError, SourceTimeLimit

# Re-fetch a little before the watermark: APIs index late, and the store de-duplicates.
CURSOR_OVERLAP = timedelta(hours=2)
SCORE_BATCH = 5000


@dataclass(frozen=True)
class FetchJob:
    brand: str
    source: str
    target: str
    base_url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    credentials: CredentialsConfig | None = None  # where the secrets come from; never the secrets

    @property
    def label(self) -> str:
        return f"{self.brand}/{self.source}/{self.target}"


@dataclass
class FetchResult:
    job: FetchJob
    rows: list[dict[str, Any]]
    pages: int
    state: dict[str, Any]
    error: str | None = None  # the source failed for good: why (its health row shows it)


def plan_jobs(config: MonitorConfig, brands: list[str] | None, sources: list[str] | None) -> list[FetchJob]:
    """One job per (brand, source, target), filtered by the run's parameters."""
    known_brands = {b.name for b in config.brands}
    for name in brands or []:
        if name not in known_brands:
            raise ValueError(f"--brand {name!r} is not in the config; brands: {', '.join(sorted(known_brands))}")
    jobs = []
    for brand in config.brands:
        if brands and brand.name not in brands:
            continue
        for src in brand.sources:
            if sources and src.source not in sources:
                continue
            for target in src.targets:
                jobs.append(FetchJob(brand.name, src.source, target, src.base_url, dict(src.options), src.credentials))
    return jobs


def http_settings(config: MonitorConfig) -> HttpSettings:
    h = config.http
    extra = {"user_agent": h.user_agent} if h.user_agent else {}
    return HttpSettings(read_timeout=h.timeout_seconds, pace_seconds=h.pace_seconds, max_retries=h.max_retries,
                        max_bytes=h.max_bytes, **extra)


def fetch_window_start(
    cursor: store.Cursor, until: datetime, since: datetime | None, backfill_days: int,
    waiting_since: datetime | None = None,
) -> datetime:
    """Where a source's fetch starts: the asked `since`, else the cursor less an overlap, else the backfill horizon.

    `waiting_since` is the oldest review of this target still waiting for a
    reply: the fetch reaches back to it, so that a reply posted days later is
    seen and the review leaves the queue.
    """
    if since is not None:
        return since
    start = cursor.watermark - CURSOR_OVERLAP if cursor.watermark is not None else until - timedelta(days=backfill_days)
    return min(start, waiting_since) if waiting_since is not None else start


def fetch_mentions(job: FetchJob, since: datetime, state: dict[str, Any], settings: HttpSettings) -> FetchResult:
    """Fetch and parse one target: its mentions published since `since`, one row per review or post.

    A review shown on two pages of the fetch (the App Store's feed and its
    reviews endpoint) becomes one row, the first sighting filled in by the
    later ones. Nothing newer is dropped (a rerun of a past period too): the
    fetch reached it anyway, and the cursor may advance to it. A page's overall rating
    (a TrustScore, a shop's AggregateRating) goes into the cursor state.
    """
    options = dict(job.options)
    if job.base_url:
        options["base_url"] = job.base_url
    cls = scraper_class(job.source)
    secrets = credentials.resolve(job.source, cls, job.credentials, targets=(job.target,))  # in the task: never a parameter
    if secrets is not None:
        options["credentials"] = secrets
    with PoliteSession(settings) as http:
        scraper = cls(http=http, **options)
        state = dict(state)
        found, pages, overall = [], 0, None
        aggregate = getattr(scraper, "aggregate", None)  # optional: sources whose pages state an overall rating
        try:
            for page in scraper.pages(job.target, since, state):
                pages += 1
                found.extend(parse_page(scraper, page))
                if aggregate is not None and overall is None:
                    overall = aggregate(page)
        except (TypeError, AttributeError, KeyError, IndexError) as exc:  # paging read a value of another shape
            raise ParseError(f"{job.label}: a page is not the shape this source reads "
                             f"({type(exc).__name__}: {exc})") from None
        if overall is not None:
            state["aggregate"] = {**overall, "observed_at": datetime.now(timezone.utc).isoformat()}
        rows = [dataclasses.asdict(m) for m in merge_mentions(found) if m.published_at >= since]
    return FetchResult(job, rows, pages, state)


FETCH_RETRY_DELAYS = [10, 60]


# Every exception the fetch task raises is worth another try: failures for good are returned, not raised.
@task(retries=len(FETCH_RETRY_DELAYS), retry_delay_seconds=FETCH_RETRY_DELAYS, task_run_name="fetch {job.label}")
def fetch_source(job: FetchJob, since: datetime, state: dict[str, Any], settings: HttpSettings) -> FetchResult:
    """One source's fetch, a unit of retry.

    It raises only when another attempt will follow (network trouble, a rate
    limit, with time left in `settings.deadline`); a failure for good is
    returned as the result's `error`, so an expected failure shows as one line
    in the source's health, not as a traceback in the run's log.
    """
    try:
        result = fetch_mentions(job, since, state, settings)
    except RetriableHTTPError as exc:
        out_of_time = settings.deadline is not None and time.time() + FETCH_RETRY_DELAYS[0] >= settings.deadline
        if out_of_time:
            exc = SourceTimeLimit(f"{exc}; the source's time limit leaves no room for another try", exc.url)
        elif task_run_info.get_run_count() <= len(FETCH_RETRY_DELAYS):
            raise
        return FetchResult(job, [], 0, state, error=f"{type(exc).__name__}: {exc}")
    except (FatalHTTPError, ParseError, ValueError) as exc:  # a refused page, an unknown shape, a bad target, no secrets
        return FetchResult(job, [], 0, state, error=f"{type(exc).__name__}: {exc}")
    get_run_logger().info("%s: %d pages, %d mentions", job.label, result.pages, len(result.rows))
    return result


@task(retries=1, retry_delay_seconds=5, task_run_name="store {result.job.label}")
def store_mentions(db_path: str, result: FetchResult, run_id: str) -> store.SaveResult:
    con = store.connect(db_path)
    try:
        return store.save_mentions(
            con, result.job.brand, result.job.source, result.job.target, result.rows, run_id=run_id, state=result.state
        )
    finally:
        con.close()


def fetch_all(config: MonitorConfig, run_id: str, brands: list[str] | None, sources: list[str] | None,
              until: datetime, since: datetime | None, logger: Any) -> list[dict[str, Any]]:
    """Fetch every planned target from its cursor (each a task, in parallel), store what came, record health.

    Shared by the nightly and the watch flows: the same cursors, the same pacing,
    under the caller's run lock. One broken source never stops the others.
    """
    db = config.database
    con = store.connect(db)
    try:
        jobs = plan_jobs(config, brands, sources)
        reply_horizon = until - timedelta(days=config.digest.reply_queue_days)
        planned = [(job, store.get_cursor(con, job.brand, job.source, job.target),
                    store.oldest_awaiting_reply(con, job.brand, job.source, job.target, reply_horizon))
                   for job in jobs]
    finally:
        con.close()

    settings = http_settings(config)
    futures = []
    for job, cursor, waiting_since in planned:
        # Each source's fetch, retries included, ends within http.source_seconds of now.
        bounded = dataclasses.replace(settings, deadline=time.time() + config.http.source_seconds)
        start = fetch_window_start(cursor, until, since, config.backfill_days, waiting_since)
        futures.append((job, fetch_source.submit(job, start, cursor.state, bounded)))

    health = []
    for job, future in futures:
        row = {"brand": job.brand, "source": job.source, "target": job.target, "ok": False, "pages": 0,
               "fetched": 0, "new": 0, "error": None}
        try:
            result = future.result()
            if result.error:  # failed for good, as the fetch task reports it
                row["error"] = result.error
            else:
                saved = store_mentions(db, result, run_id)
                row.update(ok=True, pages=result.pages, fetched=saved.received, new=saved.new)
        except Exception as exc:  # one broken source never stops the others
            row["error"] = f"{type(exc).__name__}: {exc}"
        if row["error"]:
            logger.warning("source %s failed: %s", job.label, row["error"])
        health.append(row)
    record_health(db, run_id, health)
    return health


@task
def record_health(db_path: str, run_id: str, rows: list[dict[str, Any]]) -> None:
    con = store.connect(db_path)
    try:
        store.save_source_health(con, run_id, rows)
    finally:
        con.close()


def score_unscored(con: store.Connection, workers: int | None = None, model: str = sentiment.DEFAULT_MODEL,
                   rescore_since: datetime | None = None, rescore: bool = False) -> int:
    """Score every mention not scored yet, a batch at a time; the stars decide the label where there are stars.

    With `rescore`, mentions another model (or version) scored are scored
    again too: those published since `rescore_since`, or all of them. The
    nightly run rescores the detection history this way, so a new model never
    looks like a shift in sentiment; `repwatch rescore` does the whole store.
    Driver words are not computed here: only the few mentions a digest shows
    need them (see `with_driver_words`).
    """
    total = 0
    with sentiment.ScoringPool(workers, model=model) as pool:
        stale = {"model": pool.model_id, "since": rescore_since} if rescore else {}
        batch = store.fetch_unscored(con, SCORE_BATCH, **stale)
        pending = pool.submit([row[3] for row in batch], [row[5] for row in batch])
        while batch:
            # The workers score the next batch while this process saves the current one.
            upcoming = store.fetch_unscored(con, SCORE_BATCH, skip=len(batch), **stale)
            upcoming_scores = pool.submit([row[3] for row in upcoming], [row[5] for row in upcoming])
            store.save_scores(con, [
                {"source": s, "external_id": e, "brand": b, "compound": sc.compound, "pos": sc.pos,
                 "neu": sc.neu, "neg": sc.neg, "label": sc.label, "rated_label": sentiment.rating_label(rating, sc.label),
                 "model": sc.model, "language": sc.language}
                for (s, e, b, _text, rating, _lang), sc in zip(batch, pending())
            ])
            total += len(batch)
            batch, pending = upcoming, upcoming_scores
    return total


def with_driver_words(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with the words that drove each one's label, by the model that scored it: computed for what is shown."""
    return [{**r, "drivers": sentiment.driver_words(alerts.scored_text(r), model=r.get("sentiment_model") or "vader")
             if r.get("label") else []} for r in rows]


@task(retries=1, retry_delay_seconds=5)
def score_new_mentions(db_path: str, model: str, rescore_since: datetime) -> int:
    """New mentions, and those in the detection history that another model scored (after a change of model)."""
    con = store.connect(db_path)
    try:
        return score_unscored(con, model=model, rescore_since=rescore_since, rescore=True)
    finally:
        con.close()


def detect_brand_alerts(
    con: store.Connection, brand: BrandConfig, period_start: datetime, until: datetime, config: MonitorConfig,
) -> list[dict[str, Any]]:
    """Alerts for one brand whose incident touches [period_start, until); plain dicts ready for the store.

    Volume spikes, negative-mention spikes, negative-share shifts and rating
    drops; a negative burst or share shift inside a volume spike is the same
    incident, folded into it (as its negative count) rather than alerted twice.
    """
    bucket = config.detection.bucket_seconds
    params = spikes.with_sensitivity(config.detection.sensitivity)
    # Buckets on the clock (hours on the hour): a watch round at 22:15 sees the current hour so far, and every
    # round cuts the same buckets, so an incident keeps its start (and its alert) from one round to the next.
    end = datetime.fromtimestamp(-(-until.timestamp() // bucket) * bucket, timezone.utc)
    start = end - timedelta(days=config.detection.history_days)
    series = store.bucket_series(con, brand.name, start, end, bucket)

    def in_period(incs: list[spikes.Incident]) -> list[spikes.Incident]:
        return [i for i in incs if spikes.bucket_start(start, i.end + 1, bucket) > period_start]

    found = {metric: in_period(incs) for metric, incs in spikes.brand_incidents(series, bucket, params).items()}
    found_alerts = [_alert(con, brand, "all", metric, inc, series, start, bucket)
                    for metric, incs in found.items() for inc in incs]
    sources = store.brand_sources(con, brand.name)
    if len(sources) > 1:  # a source-level incident the brand-wide series did not show (drowned in the total)
        brand_wide = [i for incs in found.values() for i in incs]
        for source in sources:
            source_series = store.bucket_series(con, brand.name, start, until, bucket, source=source)
            for metric, incs in spikes.brand_incidents(source_series, bucket, params).items():
                for inc in in_period(incs):
                    if not any(inc.overlaps(b) for b in brand_wide):
                        found_alerts.append(_alert(con, brand, source, metric, inc, source_series, start, bucket))
    return found_alerts


def _alert(con: store.Connection, brand: BrandConfig, source: str, metric: str, inc: spikes.Incident,
           series: dict[str, Any], origin: datetime, bucket: int) -> dict[str, Any]:
    """Read what the incident's window and its baseline hold; analysis.alerts makes the alert of them."""
    window = alerts.incident_window(origin, inc, bucket)
    only = None if source == "all" else source
    return alerts.assemble_alert(
        brand=brand.name, exclude_terms=brand.terms, source=source, metric=metric, incident=inc, series=series,
        origin=origin, bucket_seconds=bucket,
        mentions=store.mentions_between(con, brand.name, window.start, window.end, source=only),
        baseline=store.mentions_between(con, brand.name, window.start - alerts.THEME_BASELINE, window.start,
                                        source=only, sample=alerts.THEME_BASELINE_SAMPLE),
    )


@task
def detect_alerts(db_path: str, brands: list[str], period_start: datetime, until: datetime, config: MonitorConfig, run_id: str) -> list[str]:
    con = store.connect(db_path)
    try:
        found = [a for b in config.brands if b.name in brands
                 for a in detect_brand_alerts(con, b, period_start, until, config)]
        return store.save_alerts(con, found, run_id)
    finally:
        con.close()


def build_digest(
    con: store.Connection, config: MonitorConfig, brand_names: list[str], period_start: datetime, until: datetime, run_id: str
) -> digest_report.RenderedDigest:
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
    context = digest_report.build_context(
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
        pushed=_sent_pushes(con, [a["alert_id"] for a in period_alerts]),
        now=until,
    )
    return digest_report.render_digest(context)


def _sent_pushes(con: store.Connection, alert_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Per alert, the pushes that went out (the watch flow's), oldest first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(store.recorded_pushes(con, alert_ids).values(), key=lambda r: (r["sent_at"] or datetime.min)):
        if row["state"] == "sent":
            out.setdefault(row["alert_id"], []).append({**row, "sent_at": store.from_db_time(row["sent_at"])})
    return out


def _outcome(period_key: str, group: str, html_path: str | None, *, written: bool, **extra: Any) -> dict[str, Any]:
    """What became of one digest in this run; `written`: rendered by this run (not an earlier one's)."""
    return {"group": group, "period": period_key, "skipped": not written, "paths": {"html": html_path},
            "sent": False, "late": False, "error": None, **extra}


def describe_delivery(outcome: dict[str, Any]) -> str:
    """How a digest went, in a few words: for the CLI and the run's artifact."""
    if outcome["error"]:
        return f"NOT SENT: {outcome['error']}"
    if outcome["sent"]:
        return "sent late" if outcome["late"] else "sent"
    return "already written for this period" if outcome["skipped"] else "written to the outbox"


def write_and_send_digests(
    con: store.Connection, config: MonitorConfig, period_key: str, period_start: datetime, until: datetime,
    run_id: str, smtp: mailer.SmtpSettings | None, resend: bool, log: Any,
) -> list[dict[str, Any]]:
    """Per recipient group: write the period's digest once (again with `resend`), then send every pending digest.

    Writing and sending are separate facts. A digest written to be sent stays
    pending until a send succeeds; a failed send is recorded and reported,
    never raised, so the other groups go on. Pending digests of earlier runs
    go out first, once, their subject marked [LATE]. Without SMTP settings
    (or with sending off) digests are written to the outbox only.
    """
    outcomes: dict[tuple[str, str], dict[str, Any]] = {}
    for group in config.digest.groups:
        names = group.brands or [b.name for b in config.brands]
        existing = store.get_digest(con, period_key, group.name)
        if existing and not resend:
            log.info("digest %s/%s already written at %s; not writing it again", period_key, group.name,
                     existing["rendered_at"])
            outcomes[(period_key, group.name)] = _outcome(period_key, group.name, existing["html_path"], written=False)
            continue
        rendered = build_digest(con, config, names, period_start, until, run_id)
        message = mailer.build_message(rendered.subject, config.digest.sender, group.recipients, rendered.html,
                                       rendered.text)
        stem = f"digest-{period_key}-{group.name}".replace(":", "").replace("/", "-")
        paths = mailer.write_outbox(config.outbox, stem, rendered.html, rendered.text, message)
        store.record_digest(con, period_key, group.name, period_start, until, paths, run_id, to_send=smtp is not None)
        outcomes[(period_key, group.name)] = _outcome(period_key, group.name, paths["html"], written=True,
                                                      subject=rendered.subject)
    for stuck in store.take_interrupted_digests(con):
        key = (stuck["period_key"], stuck["recipient_group"])
        error = ("a run was stopped while sending it, so it may or may not have arrived; not sent again "
                 "(repwatch run --resend for that period sends it again)")
        outcomes[key] = _outcome(*key, stuck["html_path"], written=False, error=error)
        log.error("digest %s/%s: %s", *key, error)
    if smtp is not None:
        for pending in store.pending_digests(con):
            key = (pending["period_key"], pending["recipient_group"])
            outcome = outcomes.setdefault(key, _outcome(*key, pending["html_path"], written=False))
            late = pending["run_id"] != run_id  # written by an earlier run that could not send it
            try:
                message = mailer.load_message(pending["eml_path"])
                store.mark_digest_sending(con, *key)
                mailer.send_message(mailer.mark_late(message) if late else message, smtp)
            except mailer.MailError as exc:
                store.mark_digest_unsent(con, *key, str(exc))
                outcome["error"] = f"{exc}; the next run sends it"
                log.error("digest %s/%s written to %s but not sent: %s", *key, pending["html_path"], exc)
                continue
            store.mark_digest_sent(con, *key)
            outcome.update(sent=True, late=late)
    return list(outcomes.values())


@task(task_run_name="write and send digests")
def render_and_send(
    db_path: str, config: MonitorConfig, period_key: str, period_start: datetime, until: datetime,
    run_id: str, send_email: bool, resend: bool,
) -> list[dict[str, Any]]:
    """No task retry: a failed send is kept pending and reported, and the next run sends it."""
    smtp = smtp_settings_from_env() if send_email else None
    con = store.connect(db_path)
    try:
        return write_and_send_digests(con, config, period_key, period_start, until, run_id, smtp, resend,
                                      get_run_logger())
    finally:
        con.close()


# -- pushes (the watch flow) ---------------------------------------------------

INTERRUPTED_NOTE = "(sent again: a run stopped while sending it, so it may have arrived already) "


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
                run_id: str) -> dict[str, Any]:
    """Record the pushes the alerts call for, then send every pending one (this run's and earlier runs' failures).

    A push is recorded before it is sent and marked `sending` just before the
    call: a run killed in between leaves it `sending`, and the next run sends
    it again with a note that it may have arrived already. An alert lost in
    silence is worse than one said twice, said so.
    """
    logger = get_run_logger()
    groups = push_groups(config, logger)
    con = store.connect(db_path)
    try:
        interrupted = store.take_interrupted_pushes(con)
        if interrupted:
            logger.warning("%d push(es) were being sent when a run stopped; sending them again, marked", len(interrupted))
        recent = store.alerts_between(con, brand_names, until - timedelta(days=1), until)
        planned = pushes.plan_pushes(recent, [g for g, _ in groups.values()],
                                     store.recorded_pushes(con, [a["alert_id"] for a in recent]), until, config.tz,
                                     config.watch.escalation_factor,
                                     spikes.with_sensitivity(config.detection.sensitivity).quiet_seconds)
        url = _run_url(run_id)
        for p in planned:
            p["title"], p["body"] = push_message.compose(p["alert"], p["kind"], config.tz, url)
            p["services"] = notify.service_names(groups[p["group"]][1])
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
                store.mark_push(con, row["push_id"], "pending", str(exc))
                failed.append(f"{row['title']} ({row['recipient_group']}: {exc})")
                logger.warning("push to %s not sent, kept for the next run: %s", row["recipient_group"], exc)
                continue
            store.mark_push(con, row["push_id"], "sent")
            sent.append(f"{row['title']} ({row['recipient_group']}: {row['services']})")
    finally:
        con.close()
    return {"recorded": recorded, "sent": sent, "failed": failed}
