"""Fetching on a Dask cluster (`engine: {kind: dask}`): one task per host, the flow process the only writer.

What runs on a worker is plain Python submitted through Dask (`run_host_group`): no Prefect task, no
Prefect API, so a worker never starts a temporary Prefect server of its own (prefect-dask's runner made
each worker process start one, unseen, when it could not reach the flow's API, and such servers outlived
their workers). The flow keeps Prefect's side: its own tasks, states and log, where each host's work is
recorded as it comes back.

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
import logging
import os
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit


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


def score_rows(rows: list[store.MentionRow], model: str) -> list[store.Row]:
    """Each row's score, as the writer stores it: the text and the source's own language read as the threads
    engine's scoring step reads them (`store.fetch_unscored`), the stars deciding the label where there are stars."""
    if not rows:
        return []
    with sentiment.ScoringPool(workers=1, model=model) as pool:
        scores = pool.score([sentiment.scored_text(r) for r in rows], [r.get("language") for r in rows])
    return [sentiment.score_fields(sc, r.get("rating")) for r, sc in zip(rows, scores)]


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


def run_host_group(group: HostGroup, settings: HttpSettings, source_seconds: float, model: str,
                   folder: str) -> list[FetchResult]:
    """One host's targets on a worker, as Dask runs it: plain Python, logging to the worker's own log."""
    return fetch_and_stage(group, settings, source_seconds, model, folder, logging.getLogger("repwatch.cluster"))


# Dask retries a host's task once more when its worker is lost (the flow then fails only that host's targets).
LOST_WORKER_RETRIES = 1
CONNECT_SECONDS = 30


@contextmanager
def dask_client(engine: EngineConfig) -> Iterator[Any]:
    """A client of the scheduler at `address`, or of a local cluster of `workers` processes (closed after)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError("engine kind dask needs dask's distributed: pip install 'repwatch[dask]'") from None
    if engine.address:
        try:
            client = Client(engine.address, timeout=CONNECT_SECONDS)
        except OSError as exc:
            raise ValueError(f"engine.address {engine.address}: no Dask scheduler answers ({exc})") from None
        with client:
            yield client
        return
    # Dask's statistical profiler samples every worker thread a hundred times a second: CPU the parsing needs.
    os.environ.setdefault("DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", "False")
    # Processes get parsing and scoring past the GIL; a few threads in each overlap the network waits.
    with LocalCluster(n_workers=engine.workers, threads_per_worker=engine.threads, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def fetch_on_cluster(engine: EngineConfig, planned: list[tuple[FetchJob, datetime, CursorState]],
                     settings: HttpSettings, source_seconds: float, model: str, folder: str,
                     take: Callable[[FetchResult], None], log: Any = None) -> None:
    """The planned fetches on the configured Dask cluster, staged under `folder`; each target's result goes to
    `take` (in this process) as its host's task ends, so storing overlaps fetching. A host's task lost twice
    fails its targets, not the run."""
    log = log or logging.getLogger("repwatch.cluster")
    groups = host_groups(planned)
    run = uuid.uuid4().hex[:8]
    with dask_client(engine) as client:
        from distributed import as_completed as dask_completed

        submitted = {client.submit(run_host_group, group, settings, source_seconds, model, folder,
                                   key=f"repwatch-{run}-{i}-{group.host}", retries=LOST_WORKER_RETRIES,
                                   pure=False): group for i, group in enumerate(groups)}
        for future in dask_completed(list(submitted)):
            group = submitted[future]
            try:
                results = future.result()
            except Exception as exc:  # a host's task lost twice (or broken): its targets fail, the others go on
                results = [failed_fetch(job, state, exc) for job, _, state in group.jobs]
            log.info("host %s: %d targets, %d failed", group.host, len(results), sum(1 for r in results if r.error))
            for result in results:
                take(result)
