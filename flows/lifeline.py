"""A temporary Prefect server dies with the command that started it, even one killed with SIGKILL.

Prefect starts a temporary API server (a uvicorn child process) for a run
when no server is configured, and stops it when the command ends. A command
killed with SIGKILL cannot stop it: the child lives on, about 220 MB each
time. So, before that server starts, the command starts a small watcher
(`python -m flows.lifeline PARENT`) in a session of its own. The watcher
notes the parent's server children as they appear and, once the parent is
gone, ends them. It polls: it needs no signal from a parent that can no
longer send one, and no pid that does not exist yet (the server takes
seconds to start, and a kill may come in those seconds).
"""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

POLL_SECONDS = 0.25
GRACE_SECONDS = 5.0
SERVER_MARK = "prefect.server.api.server:create_app"  # in the command line of Prefect's temporary server


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(parent: int) -> list[int]:
    """The parent's child pids: from /proc/PID/task/*/children (a few reads), else by scanning /proc."""
    tasks = Path(f"/proc/{parent}/task")
    try:
        return [int(pid) for t in tasks.iterdir() for pid in (t / "children").read_text().split()]
    except (OSError, ValueError):
        pass
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
                if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def server_children(parent: int) -> set[int]:
    """The parent's children that are Prefect's temporary server."""
    found = set()
    for pid in _children(parent):
        try:
            if SERVER_MARK in Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace"):
                found.add(pid)
        except OSError:
            continue
    return found


class ServerDidNotStart(RuntimeError):
    """Prefect's temporary server did not answer in time: said in one line, with what to do."""


def start_temporary_server() -> None:
    """When no server is configured: watch this process, then start Prefect's temporary server now.

    The flow then finds it running (Prefect keeps one per process) and uses it.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    if PREFECT_API_URL.value():
        return  # a real server: nothing of ours to clean up
    from prefect.server.api.server import SubprocessASGIServer

    watch_this_process()
    try:
        with _one_start_at_a_time():
            SubprocessASGIServer().start()
    except RuntimeError as exc:
        raise ServerDidNotStart(
            f"Prefect's temporary server did not start ({' '.join(str(exc).split())[:200]}); allow it longer with "
            f"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS (now "
            f"{PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()} s), or run `prefect server start` and set "
            "PREFECT_API_URL") from None


@contextmanager
def _one_start_at_a_time() -> Iterator[None]:
    """Temporary servers of two commands start one after the other.

    They share Prefect's one SQLite database (in PREFECT_HOME), and each
    migrates it as it starts: two starting at once on a new database race
    ("no such table") and one command fails. Once one has started, the
    next finds the database ready. The lock is the kernel's, gone with its holder.
    """
    from prefect.settings import PREFECT_HOME

    home = Path(PREFECT_HOME.value()).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "repwatch-server-start.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def watch_this_process() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "flows.lifeline", str(os.getpid())],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # a Ctrl-C to the command's group is not the watcher's


def main(parent: int) -> int:
    servers: set[int] = set()
    while alive(parent):
        servers |= server_children(parent)
        time.sleep(POLL_SECONDS)
    servers = {pid for pid in servers if alive(pid)}
    for pid in servers:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while any(alive(pid) for pid in servers) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in servers:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
