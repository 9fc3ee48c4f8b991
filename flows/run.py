"""How a run is recorded: what it produced (typed), and the one way every run takes the lock and keeps its row.

`recorded_run` is the run skeleton for nightly, weekly, watch and rescore:
it takes the database's run lock, marks runs that died holding it as
`killed`, writes the run's row, and finishes it with the outcome's status
(completed / partial) and JSON, or `failed` if the work raised. The flows
only do their steps and hand back a `RunOutcome`; `prefect_state` maps it to
the flow's final state the same way for all of them.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator

from analysis import runlock, store


@dataclass(frozen=True)
class SourceHealth:
    """One configured target's fetch in this run."""

    brand: str
    source: str
    target: str
    ok: bool
    pages: int = 0
    fetched: int = 0
    new: int = 0
    error: str | None = None
    skipped: int = 0  # items of a fetched page the parser could not read, left out
    skipped_example: str | None = None  # the first of them, and why

    @property
    def name(self) -> str:
        return f"{self.brand}/{self.source}/{self.target}"


@dataclass(frozen=True)
class DigestOutcome:
    """What became of one digest in this run. `written`: rendered by this run (not an earlier one's)."""

    group: str
    period: str
    html_path: str | None
    written: bool
    sent: bool = False
    late: bool = False
    error: str | None = None
    subject: str | None = None
    cadence: str | None = None

    @property
    def skipped(self) -> bool:
        return not self.written

    def describe(self) -> str:
        """How the digest went, in a few words: for the CLI and the run's artifact."""
        if self.error:
            return f"NOT SENT: {self.error}"
        if self.sent:
            return "sent late" if self.late else "sent"
        return "already written for this period" if self.skipped else "written to the outbox"


@dataclass(frozen=True)
class PushOutcome:
    """The watch round's pushes: how many were recorded now, and each sent or failed one, said in a line."""

    recorded: int = 0
    sent: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunOutcome:
    """What a run produced; its status and problems follow from it."""

    flow: str
    period: str
    database: str
    summary: str
    health: tuple[SourceHealth, ...] = ()
    alerts: tuple[str, ...] = ()
    digests: tuple[DigestOutcome, ...] = ()
    pushed: PushOutcome = field(default_factory=PushOutcome)

    @property
    def failed_sources(self) -> list[SourceHealth]:
        return [h for h in self.health if not h.ok]

    @property
    def unsent_digests(self) -> list[DigestOutcome]:
        return [d for d in self.digests if d.error]

    @property
    def partial(self) -> bool:
        """Something went wrong but the run went on: a source failed, a digest or a push was not sent."""
        return bool(self.failed_sources or self.unsent_digests or self.pushed.failed)

    @property
    def status(self) -> str:
        return "partial" if self.partial else "completed"

    def problems(self) -> list[str]:
        """Each thing that went wrong, in a sentence, for the run's final message."""
        out = []
        failed = self.failed_sources
        if failed:
            out.append(f"{len(failed)} of {len(self.health)} sources failed: {', '.join(h.name for h in failed)}.")
        for d in self.unsent_digests:
            out.append(f"Digest {d.group} for {d.period} is written to {d.html_path} but NOT SENT: {d.error}.")
        out += [f"Not sent, kept for the next run: {f}." for f in self.pushed.failed]
        return out

    def message(self) -> str:
        return " ".join(self.problems() + [self.summary])

    def to_json(self) -> str:
        """The runs table's record of the outcome."""
        return json.dumps(asdict(self), default=str)


def sources_ok(health: Iterable[SourceHealth]) -> str:
    """'19/20 sources OK': the end of every run's summary line."""
    checks = [h.ok for h in health]
    return f"{sum(checks)}/{len(checks)} sources OK"


class RunFailed(RuntimeError):
    """A run's outcome when something went wrong (a source failed, a digest or a push was not sent).

    A failed Prefect state carries an exception; the outcome rides on it."""

    def __init__(self, outcome: RunOutcome) -> None:
        super().__init__(outcome.message())
        self.outcome = outcome


class Run:
    """The run in progress: its id, and the outcome the work hands back."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.outcome: RunOutcome | None = None


@contextmanager
def recorded_run(config: Any, flow: str, params: dict[str, Any], period_start: datetime, period_end: datetime,
                 run_id: str, on_wait: Callable[[str], None] | None = None) -> Iterator[Run]:
    """The block is the run: under the database's run lock, between its `running` row and its finished one.

    Raises runlock.DatabaseBusy when another run holds the database longer than
    `config.lock_wait_seconds`, store.StoreError when the database cannot be opened. The block sets `run.outcome`; a block that
    raises (or sets none) leaves the run `failed` with the error as its message.
    """
    db = config.database
    with runlock.exclusive_run(db, config.lock_wait_seconds, owner=run_id, on_wait=on_wait):
        with store.connection(db) as con:
            killed = store.mark_killed_runs(con, run_id)
            store.begin_run(con, run_id, flow, params, period_start, period_end)
        if killed and on_wait is not None:
            on_wait(f"marked {len(killed)} run(s) killed: they stopped without finishing ({', '.join(killed)})")
        run = Run(run_id)
        try:
            yield run
        except BaseException as exc:
            with store.connection(db) as con:
                store.finish_run(con, run_id, "failed", f"{type(exc).__name__}: {exc}")
            raise
        with store.connection(db) as con:
            if run.outcome is None:
                store.finish_run(con, run_id, "failed", "the run ended without an outcome")
            else:
                store.finish_run(con, run_id, run.outcome.status, run.outcome.summary, run.outcome.to_json())


def prefect_state(outcome: RunOutcome) -> Any:
    """Completed when all went well; Failed with the problems named (the outcome on its RunFailed) otherwise."""
    from prefect.states import Completed, Failed

    if outcome.partial:
        return Failed(message=outcome.message(), data=RunFailed(outcome))
    return Completed(message=outcome.summary, data=outcome)


# What stops a run before its first step, expected and said in one line: another run holds the database
# longer than the run would wait, or the database file cannot be opened (not a DuckDB file, unwritable).
REFUSALS = (runlock.DatabaseBusy, store.StoreError)


def refused_state(exc: Exception) -> Any:
    """The run could not start (one of REFUSALS): a state, not a raise, so an expected failure gives no
    traceback; the command line says the exception's message in one line."""
    from prefect.states import Failed

    return Failed(message=str(exc), data=exc)


def outcome_of(state: Any) -> RunOutcome:
    """A finished flow state's outcome (raising what the run raised, if it did not produce one)."""
    data = state.result(raise_on_failure=False)
    if isinstance(data, RunFailed):
        return data.outcome
    if isinstance(data, BaseException):
        raise data
    return data
