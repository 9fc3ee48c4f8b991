"""One writer per database: a second run waits for the first, then says so in one line."""
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from analysis.runlock import DatabaseBusy, exclusive_run

ROOT = Path(__file__).resolve().parents[1]


def test_a_second_run_waits_then_gives_up_naming_the_holder(tmp_path):
    db = tmp_path / "r.duckdb"
    with exclusive_run(db, 0, owner="first"):
        started = time.monotonic()
        with pytest.raises(DatabaseBusy, match=rf"in use by another repwatch run \(pid {os.getpid()}, running since "):
            with exclusive_run(db, 0.3, poll_seconds=0.05):
                pass
        assert time.monotonic() - started >= 0.3
    with exclusive_run(db, 0):  # released at the end of the first run
        pass


def test_a_second_run_proceeds_when_the_first_finishes_within_the_wait(tmp_path):
    db = tmp_path / "r.duckdb"
    order = []
    held = threading.Event()

    def first():
        with exclusive_run(db, 0):
            order.append("first in")
            held.set()
            time.sleep(0.3)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(5)
    told = []
    with exclusive_run(db, 5, poll_seconds=0.05, on_wait=told.append):
        order.append("second in")
    assert len(told) == 1 and told[0].startswith("waiting up to 5 s for another repwatch run (pid ")
    thread.join()
    assert order == ["first in", "first out", "second in"]


def test_cli_exits_3_with_one_line_when_the_database_stays_busy(tmp_path):
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "database: r.duckdb\nlock_wait_seconds: 1\nbrands:\n  - name: Acme\n    sources:\n"
        "      - source: feed\n        targets: [http://127.0.0.1:9/f.xml]\n"
        "digest:\n  sender: r@acme.example\n  groups:\n    - name: s\n      recipients: [s@acme.example]\n")
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    with exclusive_run(tmp_path / "r.duckdb", 0):
        done = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--config", str(config), "--no-email"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 3, done.stderr[-2000:]
    busy = [line for line in done.stderr.splitlines() if line.startswith("busy: ")]
    assert len(busy) == 1 and "in use by another repwatch run" in busy[0] and "waited 1 s" in busy[0]
    assert "Traceback" not in done.stderr + done.stdout


def test_cli_reports_a_dead_source_in_one_line_without_a_traceback(tmp_path):
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "database: r.duckdb\nbrands:\n  - name: Acme\n    sources:\n"
        "      - source: feed\n        targets: [http://127.0.0.1:9/f.xml]\n"
        "digest:\n  sender: r@acme.example\n  groups:\n    - name: s\n      recipients: [s@acme.example]\n"
        "http:\n  source_seconds: 3\n  max_retries: 1\n")
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    done = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--config", str(config), "--no-email"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 1
    failed = [line for line in done.stdout.splitlines() if line.strip().startswith("FAILED")]
    assert len(failed) == 1 and "Acme/feed/http://127.0.0.1:9/f.xml" in failed[0] and "SourceTimeLimit" in failed[0]
    assert "Traceback" not in done.stderr + done.stdout


def test_two_concurrent_runs_both_end_cleanly_one_waiting(tmp_path):
    from analysis import clock
    from zoneinfo import ZoneInfo

    from flows.demo import data as demo_data, server as demo_server
    from flows.demo import review_data
    from flows.demo.runner import write_demo_config

    now, zone = clock.now(), ZoneInfo("Europe/London")
    # What README's "in another terminal" command has: nothing exported (the demo's credentials sit beside its config).
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPWATCH_DEMO_")}
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    # A new machine's Prefect home: both temporary servers start on a database not yet made (they raced there once).
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    with demo_server.serve(demo_data.generate(now, zone), review_data.generate_reviews(now, zone)) as base_url:
        config = write_demo_config(tmp_path, base_url)
        command = [sys.executable, "-m", "flows.cli", "run", "--config", str(config), "--no-email"]
        runs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
        outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-1500:] for _, err in outputs]
    summaries = [out for out, _ in outputs]
    # The one that waited found everything stored: "fetched, 0 new," (not "10 new," nor "0 new alerts").
    assert sum(re.search(r"fetched, 0 new,", out) is not None for out in summaries) == 1, summaries
    assert all("Traceback" not in out + err for out, err in outputs)
