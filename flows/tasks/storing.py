"""Storing what was fetched: the run's one writer, a batch of sources a transaction, while the rest is fetched."""
from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from prefect import task

from analysis import store
from flows.tasks import staging
from flows.run import SourceHealth
from flows.tasks.fetch import FetchJob, FetchResult


STORE_BATCH = 100  # sources stored per task and connection


@task(retries=1, retry_delay_seconds=5, task_run_name="store {label}")
def store_batch(db_path: str, results: list[FetchResult], run_id: str,
                label: str) -> list[tuple[store.SaveResult | None, str | None]]:
    """The batch's rows and cursors (scores too, for a cluster's staged rows) in one transaction; should that
    fail, each source in a transaction of its own, so that one source's bad rows never stop the others. Per
    source, what was saved or why it was not. A rerun of the batch stores nothing twice."""
    loaded: list[tuple[int, FetchResult, list[store.MentionRow], list[store.Row] | None]] = []
    out: list[tuple[store.SaveResult | None, str | None]] = [(None, None)] * len(results)
    for i, result in enumerate(results):
        try:
            rows, scores = staging.read_staged(result.staged) if result.staged else (result.rows, None)
            loaded.append((i, result, rows, scores))
        except Exception as exc:  # an unreadable staged file fails its source only
            out[i] = (None, f"{type(exc).__name__}: {exc}")

    def save(con: store.Connection, part: list[tuple[int, FetchResult, list[store.MentionRow], Any]]) -> None:
        saved = store.save_mention_batch(
            con, [store.SourceRows(r.job.brand, r.job.source, r.job.target, rows, r.state) for _, r, rows, _ in part],
            run_id=run_id, scores=[score for _, r, rows, scores in part for score in _score_rows(r, rows, scores)])
        for (i, _, _, _), one in zip(part, saved):
            out[i] = (one, None)

    with store.connection(db_path) as con:
        try:
            save(con, loaded)
        except Exception:  # something in the batch is bad: find which, source by source
            for item in loaded:
                try:
                    save(con, [item])
                except Exception as exc:
                    out[item[0]] = (None, f"{type(exc).__name__}: {exc}")
    for i, result, _, _ in loaded:
        if result.staged and out[i][1] is None:
            staging.remove(result.staged)  # committed: the file has done its work
    return out


def _score_rows(result: FetchResult, rows: list[store.MentionRow],
                scores: list[store.Row] | None) -> list[store.Row]:
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
        # Not fetched yet reads as failed with no error: every planned target has its row.
        self.health = {job.label: SourceHealth(job.brand, job.source, job.target, ok=False) for job in jobs}
        self.pending: list[FetchResult] = []

    def take(self, result: FetchResult) -> None:
        """One source's outcome: a failure is its health row now; fetched rows wait for a full batch."""
        if result.error:  # failed for good, as the fetch task reports it
            self.health[result.job.label] = replace(self.health[result.job.label], error=result.error)
            return
        self.pending.append(result)
        if len(self.pending) >= STORE_BATCH:
            self.flush()

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
            if error or saved is None:
                self.health[result.job.label] = replace(row, error=error)
            else:
                self.health[result.job.label] = replace(
                    row, ok=True, pages=result.pages, fetched=saved.received, new=saved.new,
                    skipped=len(result.skipped), skipped_example=result.skipped[0] if result.skipped else None)

    def rows(self) -> list[SourceHealth]:
        """Every source's health, in plan order."""
        return list(self.health.values())


@task
def record_health(db_path: str, run_id: str, rows: list[SourceHealth]) -> None:
    with store.connection(db_path) as con:
        store.save_source_health(con, run_id, [asdict(r) for r in rows])  # the store keeps the columns it has
