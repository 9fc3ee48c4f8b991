"""A run's fetch: every planned target fetched from its cursor, on threads or a Dask cluster, stored as it comes.

Shared by the nightly and the watch flows. The pieces live beside it: what to
fetch and how one target is fetched (`fetch`), the cluster's host tasks
(`cluster`), and the one writer (`storing`).
"""
from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timedelta
from typing import Any

from prefect.futures import as_completed

from analysis import store
from flows.config import MonitorConfig
from flows.run import SourceHealth
from flows.tasks import staging
from flows.tasks.fetch import failed_fetch, fetch_source, fetch_window_start, http_settings, plan_jobs
from flows.tasks.storing import BatchWriter, record_health


def fetch_all(config: MonitorConfig, run_id: str, brands: list[str] | None, sources: list[str] | None,
              until: datetime, since: datetime | None, logger: Any) -> list[SourceHealth]:
    """Fetch every planned target from its cursor (each a task, in parallel), store what came, record health.

    Shared by the nightly and the watch flows: the same cursors, the same pacing,
    under the caller's run lock. One broken source never stops the others. What
    has come is stored while the rest is fetched.
    """
    db = config.database
    jobs = plan_jobs(config, brands, sources)
    keys = [(job.brand, job.source, job.target) for job in jobs]
    with store.connection(db) as con:
        cursors = store.get_cursors(con, keys)  # one query each for the whole plan, not two per target
        waiting = store.oldest_awaiting_replies(con, keys, until - timedelta(days=config.digest.reply_queue_days))

    settings = http_settings(config)
    windows = [(job, fetch_window_start(cursors[key], until, since, config.backfill_days, waiting[key]),
                cursors[key].state) for job, key in zip(jobs, keys)]
    writer = BatchWriter(db, run_id, jobs)
    folder = None
    if config.engine.kind == "dask":
        from flows.tasks.cluster import fetch_on_cluster  # dask's distributed only when asked for

        folder = staging.run_folder(config.staging_url, run_id)
        for stale in staging.discard_stale(config.staging_url):
            logger.warning("discarded %s: staged by a run that stopped before storing it", stale)
        fetch_on_cluster(config.engine, windows, settings, config.http.source_seconds, config.sentiment.model,
                         folder, writer.take, logger)
    else:
        submitted = {}
        for job, start, state in windows:
            # Each source's fetch, retries included, ends within http.source_seconds of now.
            bounded = dataclasses.replace(settings, deadline=time.time() + config.http.source_seconds)
            submitted[fetch_source.submit(job, start, state, bounded)] = (job, start, state)
        for future in as_completed(list(submitted)):
            try:
                result = future.result()
            except Exception as exc:  # one broken source never stops the others
                job, _, state = submitted[future]
                result = failed_fetch(job, state, exc)
            writer.take(result)
    writer.flush()
    health = writer.rows()
    for row in health:
        if row.error:
            logger.warning("source %s failed: %s", row.name, row.error)
    record_health(db, run_id, health)
    if folder is not None:
        staging.discard_stale(config.staging_url)  # this run's folder, empty now (or holding what failed to load)
    return health
