"""The run record (flows.run): one lock, one row per run, its status from its outcome, killed runs said so."""
import os
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from analysis import store
from flows.config import parse_config
from flows.run import DigestOutcome, PushOutcome, RunOutcome, SourceHealth, recorded_run

ROOT = Path(__file__).resolve().parent.parent
T = datetime(2026, 11, 24, 6, tzinfo=timezone.utc)


def config_for(db: Path):
    return parse_config({
        "database": str(db), "outbox": str(db.parent / "outbox"), "lock_wait_seconds": 0,
        "brands": [{"name": "Acme", "sources": [{"source": "feed", "targets": ["https://a.example/f"]}]}],
        "digest": {"subject": "Acme", "sender": "r@acme.example",
                   "groups": [{"name": "support", "recipients": ["lead@acme.example"]}]},
    })


def rows(db: Path) -> dict[str, tuple]:
    with store.connection(str(db), read_only=True) as con:
        return {r["run_id"]: (r["flow"], r["status"], r["message"], r["outcome"]) for r in store.runs(con)}


def test_a_run_row_says_what_the_outcome_was(tmp_path):
    db = tmp_path / "r.duckdb"
    config = config_for(db)
    ok = RunOutcome("nightly", "2026-11-24", str(db), "all good", (SourceHealth("Acme", "feed", "f", ok=True, new=3),),
                    digests=(DigestOutcome("support", "2026-11-24", "/o/d.html", written=True, sent=True),))
    with recorded_run(config, "nightly", {"since": None}, T, T, "run-1") as run:
        run.outcome = ok
    broken = RunOutcome("watch", "2026-11-24T06:15", str(db), "one failed",
                        (SourceHealth("Acme", "feed", "f", ok=False, error="HTTP 500"),),
                        pushed=PushOutcome(1, (), ("[HIGH] Acme (support: HTTP 502)",)))
    with recorded_run(config, "watch", {}, T, T, "run-2") as run:
        run.outcome = broken
    with pytest.raises(ZeroDivisionError):
        with recorded_run(config, "nightly", {}, T, T, "run-3"):
            1 / 0
    got = rows(db)
    assert got["run-1"][:3] == ("nightly", "completed", "all good")
    assert got["run-1"][3]["health"][0] == {"brand": "Acme", "source": "feed", "target": "f", "ok": True, "pages": 0,
                                            "fetched": 0, "new": 3, "error": None, "skipped": 0, "skipped_example": None}
    assert got["run-2"][:2] == ("watch", "partial") and got["run-2"][3]["pushed"]["failed"] == [
        "[HIGH] Acme (support: HTTP 502)"]
    assert got["run-3"][:3] == ("nightly", "failed", "ZeroDivisionError: division by zero")
    assert broken.problems() == ["1 of 1 sources failed: Acme/feed/f.",
                                 "Not sent, kept for the next run: [HIGH] Acme (support: HTTP 502)."]


HOLDER = """
import sys, time
from datetime import datetime, timezone
sys.path.insert(0, {root!r})
from tests.test_run_record import config_for
from flows.run import recorded_run
from pathlib import Path
t = datetime(2026, 11, 24, 6, tzinfo=timezone.utc)
with recorded_run(config_for(Path({db!r})), "nightly", {{}}, t, t, "doomed"):
    print("inside", flush=True)
    time.sleep(60)
"""


def test_a_run_killed_with_sigkill_is_marked_killed_by_the_next(tmp_path):
    db = tmp_path / "r.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER.format(root=str(ROOT), db=str(db))],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ})
    assert proc.stdout.readline().strip() == "inside"
    assert rows(db)["doomed"][1] == "running"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    told = []
    with recorded_run(config_for(db), "nightly", {}, T, T, "next", on_wait=told.append) as run:
        run.outcome = RunOutcome("nightly", "p", str(db), "fine")
    got = rows(db)
    assert got["doomed"][1] == "killed" and "found by run next" in got["doomed"][2]
    assert got["next"][1] == "completed" and told == ["marked 1 run(s) killed: they stopped without finishing (doomed)"]
