"""Fetching: which targets to fetch, from where each source's cursor stands, and storing what came."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from prefect import get_run_logger, task
from prefect.runtime import task_run as task_run_info

from analysis import store
from flows import credentials
from flows.config import MonitorConfig
from flows.credentials import CredentialsConfig
from scrapers.base import CursorState, ParseError, merge_mentions
from scrapers.parsing import parse_page
from scrapers.registry import scraper_class
from scrapers.http import HttpSettings, PoliteSession
from scrapers.http_errors import FatalHTTPError, RetriableHTTPError, SourceTimeLimit


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
    rows: list[store.MentionRow]
    pages: int
    state: CursorState
    error: str | None = None  # the source failed for good: why (its health row shows it)
    staged: str | None = None  # on a cluster: the rows (scored) are in this staged file, not in `rows`
    skipped: list[str] = field(default_factory=list)  # items left out, a line each (read_items says why)


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


def fetch_mentions(job: FetchJob, since: datetime, state: CursorState, settings: HttpSettings) -> FetchResult:
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
        found, skipped, pages, overall = [], [], 0, None
        try:
            for page in scraper.pages(job.target, since, state):
                pages += 1
                parsed = parse_page(scraper, page)
                found.extend(parsed)
                skipped.extend(parsed.skipped)
                if overall is None:
                    overall = scraper.aggregate(page)  # sources whose pages state an overall rating
        except (TypeError, AttributeError, KeyError, IndexError) as exc:  # paging read a value of another shape
            raise ParseError(f"{job.label}: a page is not the shape this source reads "
                             f"({type(exc).__name__}: {exc})") from None
        if overall is not None:
            state["aggregate"] = {**overall, "observed_at": datetime.now(timezone.utc).isoformat()}
        rows = [dataclasses.asdict(m) for m in merge_mentions(found) if m.published_at >= since]
    return FetchResult(job, rows, pages, state, skipped=skipped)


FETCH_RETRY_DELAYS = [10, 60]
# A refused page, an unknown shape, a bad target, no secrets: another try would fail the same way.
FATAL_FETCH_ERRORS = (FatalHTTPError, ParseError, ValueError)


def failed_fetch(job: FetchJob, state: CursorState, exc: Exception) -> FetchResult:
    """A failure for good, as the source's health row shows it."""
    return FetchResult(job, [], 0, state, error=f"{type(exc).__name__}: {exc}")


def after_network_trouble(job: FetchJob, state: CursorState, settings: HttpSettings, exc: RetriableHTTPError,
                          attempt: int) -> float | FetchResult:
    """After failed attempt `attempt` (1 for the first): the wait before the next try, or, when the tries are
    used up or the source's time limit leaves no room for the wait, the failure. Both engines ask this."""
    if attempt > len(FETCH_RETRY_DELAYS):
        return failed_fetch(job, state, exc)
    delay = FETCH_RETRY_DELAYS[attempt - 1]
    if settings.deadline is not None and time.time() + delay >= settings.deadline:
        return failed_fetch(job, state, SourceTimeLimit(
            f"{exc}; the source's time limit leaves no room for another try", exc.url))
    return delay


# Every exception the fetch task raises is worth another try: failures for good are returned, not raised.
@task(retries=len(FETCH_RETRY_DELAYS), retry_delay_seconds=FETCH_RETRY_DELAYS, task_run_name="fetch {job.label}")
def fetch_source(job: FetchJob, since: datetime, state: CursorState, settings: HttpSettings) -> FetchResult:
    """One source's fetch, a unit of retry.

    It raises only when another attempt will follow (network trouble, a rate
    limit, with time left in `settings.deadline`); a failure for good is
    returned as the result's `error`, so an expected failure shows as one line
    in the source's health, not as a traceback in the run's log.
    """
    try:
        result = fetch_mentions(job, since, state, settings)
    except RetriableHTTPError as exc:
        outcome = after_network_trouble(job, state, settings, exc, task_run_info.get_run_count())
        if isinstance(outcome, FetchResult):
            return outcome
        raise  # Prefect waits FETCH_RETRY_DELAYS[attempt - 1], the same wait
    except FATAL_FETCH_ERRORS as exc:
        return failed_fetch(job, state, exc)
    get_run_logger().info("%s: %d pages, %d mentions", job.label, result.pages, len(result.rows))
    for line in result.skipped[:5]:
        get_run_logger().warning("%s: an item left out: %s", job.label, line)
    return result
