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


def _children(parent: int, mark: str) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if ppid == parent and mark in (entry / "cmdline").read_bytes().decode("utf-8", "replace"):
                    found.add(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def test_a_run_killed_on_a_local_dask_cluster_leaves_no_worker_or_server(tmp_path):
    from analysis import clock
    from zoneinfo import ZoneInfo

    from flows.demo.runner import write_demo_config
    from flows.demo import data as demo_data, server as demo_server
    from flows.demo import review_data

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    now, zone = clock.now(), ZoneInfo("Europe/London")
    with demo_server.serve(demo_data.generate(now, zone), review_data.generate_reviews(now, zone)) as base_url:
        config = write_demo_config(tmp_path, base_url)
        config.write_text(config.read_text() + "engine: {kind: dask, workers: 2}\n")
        proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "run", "--config", str(config), "--no-email"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline, workers = time.monotonic() + 120, set()
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            workers = _children(proc.pid, "multiprocessing.spawn")
            time.sleep(0.2)
        servers = server_children(proc.pid)
        assert len(workers) == 2 and servers, "the run never started its Dask workers"
        proc.kill()
        proc.wait(timeout=10)
        everything = workers | servers
        deadline = time.monotonic() + 20
        while any(alive(pid) for pid in everything) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [pid for pid in everything if alive(pid)]
        for pid in left:
            os.kill(pid, 9)
    assert left == []
