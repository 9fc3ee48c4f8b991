"""One writer per database: a run holds an exclusive lock on `<database>.lock` from start to end.

DuckDB locks its file only while a connection is open, and a run opens and
closes connections between its steps; two runs would interleave. The lock is
an OS file lock (released by the kernel if the process dies), and its file
says who holds it, for the message the waiting run gives.
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator


class DatabaseBusy(RuntimeError):
    """Another run held the database for longer than this one would wait."""


def lock_path(database: str | Path) -> Path:
    return Path(f"{database}.lock")


@contextmanager
def exclusive_run(
    database: str | Path, wait_seconds: float, *, poll_seconds: float = 0.5, owner: str = "",
    sleep: Callable[[float], None] = time.sleep, on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the database's run lock for the block, waiting up to `wait_seconds` for another run to finish.

    `on_wait` is told once, when the wait begins, who holds the lock (for the run's log and the UI).
    """
    if str(database) == ":memory:":
        yield
        return
    path = lock_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DatabaseBusy(_busy_message(path, database, wait_seconds)) from None
                if on_wait is not None:
                    on_wait(f"waiting up to {wait_seconds:.0f} s for {_holder(path)} to finish with {database}")
                    on_wait = None
                sleep(poll_seconds)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                 "run": owner}))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


def _holder(path: Path) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        holder = {}
    who = f" (pid {holder['pid']}, running since {holder['since']})" if holder.get("pid") else ""
    return f"another repwatch run{who}"


def _busy_message(path: Path, database: str | Path, waited: float) -> str:
    return f"{database} is in use by {_holder(path)}; waited {waited:.0f} s. Try again when it has finished."
