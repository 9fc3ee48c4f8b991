"""`repwatch demo`: the offline demo's sites served from 127.0.0.1, its config written, its runs made and told."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from analysis import clock, store
from flows.command_runs import EXIT_OK, print_outcome, run_nightly
from flows.demo import data as demo_data, server as demo_server
from flows.demo import review_data


def write_demo_config(data_dir: Path, base_url: str) -> Path:
    """The demo's config, and beside it the demo accounts' credentials (never real ones): it runs from any terminal."""
    template = (Path(__file__).parent / "monitor.yaml").read_text(encoding="utf-8")
    path = data_dir / "monitor.yaml"
    data_dir.mkdir(parents=True, exist_ok=True)
    secrets = data_dir / "demo-credentials.json"
    secrets.touch(mode=0o600)
    os.chmod(secrets, 0o600)  # an existing file keeps its mode otherwise
    # The support group's pushes go to the demo server's webhook (Apprise json://): a chat channel stand-in.
    notify = {"REPWATCH_DEMO_NOTIFY": "json://" + base_url.split("://", 1)[1] + "/webhook"}
    secrets.write_text(json.dumps({**demo_data.DEMO_CREDENTIALS, **notify}, indent=1), encoding="utf-8")
    # The marketing group's week goes out the morning after the demo night, once its incident is over.
    send_at = demo_data.weekly_send_at(clock.now(), ZoneInfo("Europe/London"))
    path.write_text(template.replace("{base_url}", base_url).replace("{data_dir}", str(data_dir))
                    .replace("{weekly_send_at}", send_at), encoding="utf-8")
    return path


def run_demo(data_dir: str | Path, serve: bool = False, port: int = 8765, at: str | None = None) -> int:
    """`repwatch demo`: the nightly and weekly runs on the demo sites, or (`serve`) the sites alone until stopped."""
    started = time.perf_counter()
    data_dir = Path(data_dir).resolve()
    # Seeded by today's date: the same data all day, so a rerun stores nothing twice.
    now, zone = clock.now(), ZoneInfo("Europe/London")
    items, reviews = demo_data.generate(now, zone), review_data.generate_reviews(now, zone)
    until = None
    if at:
        if not serve:
            raise ValueError("--at replays the demo night for watch runs: use it with --serve")
        until = demo_data.replay_time(now, zone, at)
        items, reviews = demo_data.as_of(items, reviews, until)
    print(f"demo: {len(items)} mentions and {len(reviews)} reviews over {demo_data.HISTORY_DAYS} days for "
          f"{demo_data.BRAND} and {demo_data.COMPETITOR}, served from 127.0.0.1")
    if serve:
        return _serve_demo(items, reviews, data_dir, port, until)
    with demo_server.serve(items, reviews) as base_url:
        config_path = write_demo_config(data_dir, base_url)
        code, daily = run_nightly(str(config_path), send_email=False)
        print_outcome(daily)
        # The marketing group's week, up to its send time this morning (the same data: nothing new is fetched).
        weekly_code, weekly = run_nightly(str(config_path), send_email=False, cadence="weekly")
        code = max(code, weekly_code)
    for d in weekly.digests:
        print(f"weekly digest [{d.group}] for {d.period}: {d.describe()}: {d.html_path}")
    with store.connection(daily.database, read_only=True) as con:
        per_source = ", ".join(f"{source} {n}" for source, n in store.count_by_source(con))
        print(f"mentions stored: {store.count_mentions(con)} ({per_source})")
    print(f"demo finished in {time.perf_counter() - started:.1f}s")
    return code


def _serve_demo(items: Any, reviews: Any, data_dir: Path, port: int, at: datetime | None = None) -> int:
    """Keep the demo sites up and say how to run against them, until interrupted."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with demo_server.serve(items, reviews, port=port) as base_url:
        config_path = write_demo_config(data_dir, base_url)
        print(f"demo sites on {base_url}; config written to {config_path}", flush=True)
        print(f"  run once:        .venv/bin/repwatch run --config {config_path} --no-email")
        if at is not None:
            local = at.astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%dT%H:%M")
            print(f"  replaying:       the sites show what was published by {local} (Europe/London)")
            print(f"  watch then:      .venv/bin/repwatch watch --config {config_path} --until {local}")
            print(f"  pushes land:     here, and at {base_url}/webhook")
        print(f"  a past period:   .venv/bin/repwatch run --config {config_path} --since <date> --until <date> --no-email")
        print(f"  deployments:     set config_path={config_path} in a custom run of `rerun` in the Prefect UI")
        print("  a dead source:   stop this command and run again: every source is FAILED, the digest says so")
        print("Ctrl-C to stop.", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return EXIT_OK
