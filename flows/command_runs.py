"""A flow run from the command line: its exit code, and what it prints of the outcome (`repwatch run`, the demo)."""
from __future__ import annotations

from typing import Any

EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3


def run_nightly(config_path: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """The nightly flow once, on a temporary Prefect server if none is configured: its exit code and result."""
    from flows.lifeline import start_temporary_server
    from flows.nightly import RunFailed, nightly

    start_temporary_server()  # a temporary server, if any, dies with this command, even a killed one

    state = nightly(config_path=config_path, return_state=True, **params)
    data = state.result(raise_on_failure=False)
    if isinstance(data, RunFailed):
        data = data.result
    elif isinstance(data, BaseException):
        raise data
    return (EXIT_OK if state.is_completed() else EXIT_RUN_FAILED), data


def print_outcome(data: dict[str, Any], message: str | None = None) -> None:
    print(data["summary"])
    for h in data["health"]:
        if not h["ok"]:
            print(f"  FAILED {h['brand']}/{h['source']}/{h['target']}: {h['error']}")
    for d in data["digests"]:
        print(f"digest [{d['group']}] for {d['period']}: {describe_outcome(d)}: {d['paths'].get('html')}")
    print(f"database: {data['database']}")


def describe_outcome(outcome: dict[str, Any]) -> str:
    from flows.tasks import describe_delivery

    hint = " (use --resend to send it again)" if outcome["skipped"] and not (outcome["sent"] or outcome["error"]) else ""
    return describe_delivery(outcome) + hint
