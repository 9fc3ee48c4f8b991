"""Fetching on a Dask cluster (`engine: {kind: dask}`): one task per host, the flow process the only writer.

The HTTP session paces requests per host within a process; worker processes
share no pacer. So every target on one host is fetched by one task, in order,
through one session: the pace holds however many workers there are, with no
shared limiter. A task retries each target's network trouble itself (the
delays of the threads engine), so one rate-limited target does not refetch
its host's others; the task as a whole is retried once (a lost worker), and
Dask reruns a lost worker's tasks elsewhere. Results come back to the flow,
which stores them in bulk as the threads engine does. Each target's rows are
scored on the worker (parse and score are the CPU-bound part) and travel as a
staged Parquet file (`flows/tasks/staging.py`), not through the scheduler.
"""
from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable
from urllib.parse import urlsplit

from prefect import flow, get_run_logger, task
from prefect.futures import as_completed

from analysis import sentiment, store
from flows.config import EngineConfig
from flows.tasks import staging
from flows.tasks.fetch import (
    FATAL_FETCH_ERRORS, FetchJob, FetchResult, after_network_trouble, failed_fetch, fetch_mentions,
)
from scrapers.base import CursorState
from scrapers.registry import scraper_class
from scrapers.http import HttpSettings
from scrapers.http_errors import RetriableHTTPError


@dataclass(frozen=True)
class HostGroup:
    """The targets one host serves, each with where its fetch starts and its cursor state."""
    host: str
    jobs: tuple[tuple[FetchJob, datetime, CursorState], ...]

    @property
    def label(self) -> str:
        first = self.jobs[0][0].label
        more = f" and {len(self.jobs) - 1} more" if len(self.jobs) > 1 else ""
        return f"{self.host}: {first}{more}"


def job_host(job: FetchJob) -> str:
    """The host a job's requests go to: its target when that is a URL, else its base URL or the source's default."""
    if job.target.startswith(("http://", "https://")):
        url = job.target
    else:
        url = job.base_url or scraper_class(job.source).default_base_url or ""
    return urlsplit(url).netloc.lower() or job.source


def host_groups(planned: list[tuple[FetchJob, datetime, CursorState]]) -> list[HostGroup]:
    """The planned fetches grouped by host, in plan order within each group, the largest groups first."""
    by_host: dict[str, list[tuple[FetchJob, datetime, CursorState]]] = {}
    for item in planned:
        by_host.setdefault(job_host(item[0]), []).append(item)
    return sorted((HostGroup(host, tuple(items)) for host, items in by_host.items()), key=lambda g: -len(g.jobs))


def fetch_with_retries(job: FetchJob, since: datetime, state: CursorState, settings: HttpSettings,
                       sleep: Callable[[float], None] = time.sleep) -> FetchResult:
    """One target's fetch, its network trouble retried as the threads engine's task retries it (the same waits,
    within its deadline); a failure for good is the result's `error`, never raised."""
    attempt = 1
    while True:
        try:
            return fetch_mentions(job, since, state, settings)
        except RetriableHTTPError as exc:
            outcome = after_network_trouble(job, state, settings, exc, attempt)
            if isinstance(outcome, FetchResult):
                return outcome
            sleep(outcome)
            attempt += 1
        except FATAL_FETCH_ERRORS as exc:
            return failed_fetch(job, state, exc)


def text_to_score(row: store.MentionRow) -> str:
    """The title and text as the store gives them to the scorer (`store.fetch_unscored`)."""
    title, text = row.get("title"), row.get("text") or ""
    return f"{title}. {text}" if title is not None and title not in text else text


def score_rows(rows: list[store.MentionRow], model: str) -> list[store.Row]:
    """Each row's score, as the writer stores it; the stars decide the label where there are stars."""
    scores = sentiment.score_texts([text_to_score(r) for r in rows], workers=1, model=model) if rows else []
    return [{"compound": sc.compound, "pos": sc.pos, "neu": sc.neu, "neg": sc.neg, "label": sc.label,
             "rated_label": sentiment.rating_label(r.get("rating"), sc.label), "model": sc.model,
             "language": sc.language} for r, sc in zip(rows, scores)]


def fetch_and_stage(group: HostGroup, settings: HttpSettings, source_seconds: float, model: str, folder: str,
                    log: Any) -> list[FetchResult]:
    """Every target of one host, in order, each within `source_seconds` of its own start; each target's
    rows scored here and staged under `folder`, so only paths travel back."""
    results = []
    for job, since, state in group.jobs:
        bounded = dataclasses.replace(settings, deadline=time.time() + source_seconds)
        result = fetch_with_retries(job, since, state, bounded)
        if not result.error:
            log.info("%s: %d pages, %d mentions", job.label, result.pages, len(result.rows))
            path = staging.write_staged(folder, result.rows, score_rows(result.rows, model))
            result = dataclasses.replace(result, rows=[], staged=path)
        results.append(result)
    return results


@task(retries=1, retry_delay_seconds=5, task_run_name="fetch {group.label}")
def fetch_host_group(group: HostGroup, settings: HttpSettings, source_seconds: float, model: str,
                     folder: str) -> list[FetchResult]:
    """One host's targets on a worker: a unit of retry (a lost worker)."""
    return fetch_and_stage(group, settings, source_seconds, model, folder, get_run_logger())


# The plan stays in this process and the subflow gets its key: Prefect records a flow run's parameters
# through its API, which refuses more than 512 KB (1,000 brands' plan is 700 KB), and the subflow runs here.
_PLANS: dict[str, tuple[list[HostGroup], Callable[[FetchResult], None]]] = {}


@flow(name="fetch on the cluster", flow_run_name="fetch {targets} targets from {hosts} hosts")
def fetch_groups(plan: str, hosts: int, targets: int, settings: HttpSettings, source_seconds: float, model: str,
                 folder: str) -> None:
    """Each host's task on the cluster, its results handed on as it ends; a task that failed for good fails
    its targets, not the run."""
    groups, take = _PLANS[plan]
    submitted = {fetch_host_group.submit(group, settings, source_seconds, model, folder): group for group in groups}
    for future in as_completed(list(submitted)):
        try:
            results = future.result()
        except Exception as exc:  # a host's task lost twice: its targets fail, the others go on
            results = [failed_fetch(job, state, exc) for job, _, state in submitted[future].jobs]
        for result in results:
            take(result)


def dask_task_runner(engine: EngineConfig) -> Any:
    """prefect-dask's runner: on the scheduler at `address`, or on a local cluster of `workers` processes."""
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise ValueError("engine kind dask needs prefect-dask: pip install 'repwatch[dask]'") from None
    if engine.address:
        return DaskTaskRunner(address=engine.address)
    # Local workers report to this run's Prefect API: named in their environment, they never try to start
    # a temporary server of their own (several threads of one worker would race to).
    import os

    from prefect.client.orchestration import get_client

    os.environ.setdefault("PREFECT_API_URL", str(get_client().api_url).rstrip("/"))
    # Dask's statistical profiler samples every worker thread a hundred times a second: CPU the parsing needs.
    os.environ.setdefault("DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", "False")
    # Processes get parsing and scoring past the GIL; a few threads in each overlap the network waits.
    return DaskTaskRunner(cluster_kwargs={"n_workers": engine.workers, "threads_per_worker": engine.threads,
                                          "processes": True, "dashboard_address": None})


def fetch_on_cluster(engine: EngineConfig, planned: list[tuple[FetchJob, datetime, CursorState]],
                     settings: HttpSettings, source_seconds: float, model: str, folder: str,
                     take: Callable[[FetchResult], None]) -> None:
    """The planned fetches on the configured Dask cluster, staged under `folder`; each target's result goes to
    `take` (in this process) as its host's task ends, so storing overlaps fetching."""
    groups = host_groups(planned)
    plan = uuid.uuid4().hex
    _PLANS[plan] = (groups, take)
    try:
        fetch_groups.with_options(task_runner=dask_task_runner(engine))(
            plan, len(groups), len(planned), settings, source_seconds, model, folder)
    finally:
        del _PLANS[plan]
