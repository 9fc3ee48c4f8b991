"""No process outlives a killed run: a `repwatch demo` killed with SIGKILL leaves no Prefect server behind."""
import os
import subprocess
import sys
import time
from pathlib import Path

from flows.lifeline import alive, server_children

ROOT = Path(__file__).resolve().parents[1]


def test_a_killed_command_takes_its_temporary_server_with_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}  # no server: a temporary one
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "demo", "--data-dir", str(tmp_path)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, servers = time.monotonic() + 90, set()
    while not servers and time.monotonic() < deadline and proc.poll() is None:
        servers = server_children(proc.pid)
        time.sleep(0.2)
    assert servers, "the demo never started a temporary server"
    time.sleep(1.0)  # mid-start: the server is still coming up, the watcher already watching
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in servers) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in servers if alive(pid)]
    for pid in left:  # never leave one behind for the next test, even when this one fails
        os.kill(pid, 9)
    assert left == []
