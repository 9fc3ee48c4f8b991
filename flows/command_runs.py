"""A flow run from the command line: its exit code, and what it prints of the outcome (`repwatch run`, watch, the demo)."""
from __future__ import annotations

from typing import Any

from flows.run import RunOutcome, outcome_of

EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3


def run_nightly(config_path: str, **params: Any) -> tuple[int, RunOutcome]:
    """The nightly flow once, on a temporary Prefect server if none is configured: its exit code and outcome."""
    from flows.lifeline import start_temporary_server
    from flows.nightly import nightly

    start_temporary_server()  # a temporary server, if any, dies with this command, even a killed one
    state = nightly(config_path=config_path, return_state=True, **params)
    return (EXIT_OK if state.is_completed() else EXIT_RUN_FAILED), outcome_of(state)


def run_watch(config_path: str, until: str | None) -> tuple[int, RunOutcome]:
    """One watch round, on a temporary Prefect server if none is configured: its exit code and outcome."""
    from flows.lifeline import start_temporary_server
    from flows.watch import watch

    start_temporary_server()
    state = watch(config_path=config_path, until=until, return_state=True)
    return (EXIT_OK if state.is_completed() else EXIT_RUN_FAILED), outcome_of(state)


def print_outcome(outcome: RunOutcome) -> None:
    """The run's summary line, then each failed source, push and digest, then where the database is."""
    print(outcome.summary)
    for line in outcome.pushed.sent:
        print(f"  pushed: {line}")
    for line in outcome.pushed.failed:
        print(f"  NOT SENT (kept for the next run): {line}")
    for h in outcome.failed_sources:
        print(f"  FAILED {h.name}: {h.error}")
    for h in outcome.health:
        if h.skipped:
            print(f"  LEFT OUT {h.skipped} item(s) of {h.name} the parser could not read, e.g. {h.skipped_example}")
    for d in outcome.digests:
        hint = " (use --resend to send it again)" if d.skipped and not (d.sent or d.error) else ""
        print(f"digest [{d.group}] for {d.period}: {d.describe()}{hint}: {d.html_path}")
    if outcome.flow != "watch":
        print(f"database: {outcome.database}")
