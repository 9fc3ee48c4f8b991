"""Fetching: which targets to fetch, from where each source's cursor stands, and storing what came."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from prefect import get_run_logger, task
from prefect.futures import as_completed
from prefect.runtime import task_run as task_run_info

from analysis import store
from flows import credentials
from flows.config import MonitorConfig
from flows.credentials import CredentialsConfig
from flows.tasks import staging
from scrapers.base import ParseError, merge_mentions, parse_page, scraper_class
from scrapers.http import FatalHTTPError, HttpSettings, PoliteSession, RetriableHTTPError, SourceTimeLimit


# Re-fetch a little before the watermark: APIs index late, and the store de-duplicates.
CURSOR_OVERLAP = timedelta(hours=2)


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
    staged: str | None = None  # on a cluster: the rows (scored) are in this staged file, not in `rows`


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


STORE_BATCH = 100  # sources stored per task and connection


@task(retries=1, retry_delay_seconds=5, task_run_name="store {label}")
def store_batch(db_path: str, results: list[FetchResult], run_id: str,
                label: str) -> list[tuple[store.SaveResult | None, str | None]]:
    """The batch's rows and cursors (scores too, for a cluster's staged rows) in one transaction; should that
    fail, each source in a transaction of its own, so that one source's bad rows never stop the others. Per
    source, what was saved or why it was not. A rerun of the batch stores nothing twice."""
    loaded: list[tuple[int, FetchResult, list[dict[str, Any]], list[dict[str, Any]] | None]] = []
    out: list[tuple[store.SaveResult | None, str | None]] = [(None, None)] * len(results)
    for i, result in enumerate(results):
        try:
            rows, scores = staging.read_staged(result.staged) if result.staged else (result.rows, None)
            loaded.append((i, result, rows, scores))
        except Exception as exc:  # an unreadable staged file fails its source only
            out[i] = (None, f"{type(exc).__name__}: {exc}")
    con = store.connect(db_path)
    try:
        try:
            saved = store.save_mention_batch(
                con, [store.SourceRows(r.job.brand, r.job.source, r.job.target, rows, r.state)
                      for _, r, rows, _ in loaded],
                run_id=run_id, scores=[score for _, r, rows, scores in loaded for score in _score_rows(r, rows, scores)])
            for (i, _, _, _), one in zip(loaded, saved):
                out[i] = (one, None)
        except Exception:  # something in the batch is bad: find which, source by source
            for i, result, rows, scores in loaded:
                try:
                    one = store.save_mentions(con, result.job.brand, result.job.source, result.job.target, rows,
                                              run_id=run_id, state=result.state)
                    store.save_scores(con, _score_rows(result, rows, scores))
                    out[i] = (one, None)
                except Exception as exc:
                    out[i] = (None, f"{type(exc).__name__}: {exc}")
    finally:
        con.close()
    for i, result, _, _ in loaded:
        if result.staged and out[i][1] is None:
            staging.remove(result.staged)  # committed: the file has done its work
    return out


def _score_rows(result: FetchResult, rows: list[dict[str, Any]],
                scores: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """A staged source's scores, keyed as save_scores takes them."""
    return [{"source": row["source"], "external_id": row["external_id"], "brand": result.job.brand, **score}
            for row, score in zip(rows, scores or [])]


class BatchWriter:
    """Stores fetched sources as they arrive, a batch of STORE_BATCH at a time, while the rest are still fetched.

    This process alone writes the database (DuckDB allows one writer): a batch of
    sources a task and a connection, each source's rows and cursor in one
    transaction. Each source's health row is filled in as it is stored or fails.
    """

    def __init__(self, db: str, run_id: str, jobs: list[FetchJob]) -> None:
        self.db, self.run_id = db, run_id
        self.health = {job.label: {"brand": job.brand, "source": job.source, "target": job.target, "ok": False,
                                   "pages": 0, "fetched": 0, "new": 0, "error": None} for job in jobs}
        self.order = [job.label for job in jobs]
        self.pending: list[FetchResult] = []

    def take(self, result: FetchResult) -> None:
        """One source's outcome: a failure is its health row now; fetched rows wait for a full batch."""
        if result.error:  # failed for good, as the fetch task reports it
            self.health[result.job.label]["error"] = result.error
            return
        self.pending.append(result)
        if len(self.pending) >= STORE_BATCH:
            self.flush()

    def fail(self, job: FetchJob, exc: BaseException) -> None:
        self.health[job.label]["error"] = f"{type(exc).__name__}: {exc}"

    def flush(self) -> None:
        chunk, self.pending = self.pending, []
        if not chunk:
            return
        label = chunk[0].job.label + (f" and {len(chunk) - 1} more" if len(chunk) > 1 else "")
        try:
            saved_or_errors = store_batch(self.db, chunk, self.run_id, label)
        except Exception as exc:  # the batch failed twice: its sources are FAILED, the rest go on
            saved_or_errors = [(None, f"{type(exc).__name__}: {exc}")] * len(chunk)
        for result, (saved, error) in zip(chunk, saved_or_errors):
            row = self.health[result.job.label]
            if error:
                row["error"] = error
            else:
                row.update(ok=True, pages=result.pages, fetched=saved.received, new=saved.new)

    def rows(self) -> list[dict[str, Any]]:
        """Every source's health row, in plan order."""
        return [self.health[label] for label in self.order]


def fetch_all(config: MonitorConfig, run_id: str, brands: list[str] | None, sources: list[str] | None,
              until: datetime, since: datetime | None, logger: Any) -> list[dict[str, Any]]:
    """Fetch every planned target from its cursor (each a task, in parallel), store what came, record health.

    Shared by the nightly and the watch flows: the same cursors, the same pacing,
    under the caller's run lock. One broken source never stops the others. What
    has come is stored while the rest is fetched.
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
    windows = [(job, fetch_window_start(cursor, until, since, config.backfill_days, waiting_since), cursor.state)
               for job, cursor, waiting_since in planned]
    writer = BatchWriter(db, run_id, jobs)
    folder = None
    if config.engine.kind == "dask":
        from flows.tasks.cluster import fetch_on_cluster

        folder = staging.run_folder(config.staging_url, run_id)
        for stale in staging.discard_stale(config.staging_url):
            logger.warning("discarded %s: staged by a run that stopped before storing it", stale)
        fetch_on_cluster(config.engine, windows, settings, config.http.source_seconds, config.sentiment.model,
                         folder, writer.take)
    else:
        submitted = {}
        for job, start, state in windows:
            # Each source's fetch, retries included, ends within http.source_seconds of now.
            bounded = dataclasses.replace(settings, deadline=time.time() + config.http.source_seconds)
            submitted[fetch_source.submit(job, start, state, bounded)] = job
        for future in as_completed(list(submitted)):
            try:
                result = future.result()
            except Exception as exc:  # one broken source never stops the others
                writer.fail(submitted[future], exc)
                continue
            writer.take(result)
    writer.flush()
    health = writer.rows()
    for row in health:
        if row["error"]:
            logger.warning("source %s/%s/%s failed: %s", row["brand"], row["source"], row["target"], row["error"])
    record_health(db, run_id, health)
    if folder is not None:
        staging.discard_stale(config.staging_url)  # this run's folder, empty now (or holding what failed to load)
    return health


@task
def record_health(db_path: str, run_id: str, rows: list[dict[str, Any]]) -> None:
    con = store.connect(db_path)
    try:
        store.save_source_health(con, run_id, rows)
    finally:
        con.close()
