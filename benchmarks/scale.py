"""Fetch, store and score at scale: the threads engine against a 2-worker local Dask cluster.

    python -m benchmarks.scale [--brands 50 200] [--latency 0.05] [--hosts 50] [--engines threads dask]

N brands x 4 sources (Hacker News search, a Google Alerts feed, a Google News
feed, a Mastodon tag) are served in the sites' formats by the demo's renderers
from 50 loopback addresses (127.0.0.1 to 127.0.0.50: the whole range is this
machine), each answer 50 ms late, from a process of their own. Each engine
runs the same flow on a fresh database: every target fetched from its cursor,
stored, and every mention scored. Printed per N and engine: wall time (the
Dask cluster's start included), targets per second, seconds per target, rows
stored; then the Dask/threads ratio. No pacing (pace 0): the pace is a
per-host wait that costs both engines alike; this measures the work.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import socket
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")

ITEMS_PER_SOURCE = 30
HISTORY_DAYS = 10


def brand_name(k: int) -> str:
    return f"Acme{k:04d}"  # fixed width: no brand's name is inside another's


def _items(brands: int, now: datetime) -> dict[str, list]:
    from flows.demo.data import NEGATIVE, NEUTRAL, POSITIVE, DemoItem

    rng = random.Random(7)
    out: dict[str, list] = {}
    item_id = 1000
    for k in range(brands):
        name, items = brand_name(k), []
        for source in ("hackernews", "feed", "mastodon"):
            for _ in range(ITEMS_PER_SOURCE * (2 if source == "feed" else 1)):  # the feeds share: alerts and news
                item_id += 1
                text = rng.choice(rng.choice([POSITIVE, NEUTRAL, NEGATIVE])).format(b=name)
                created = now - timedelta(seconds=rng.uniform(60, HISTORY_DAYS * 86400))
                kind = {"hackernews": rng.choice(["story", "comment"]), "feed": "article", "mastodon": "post"}[source]
                items.append(DemoItem(source, name, item_id, created, kind, f"{name} {text[:40]}", text,
                                      f"user{rng.randrange(10_000)}"))
        out[name.lower()] = items
    return out


def _handler(by_brand: dict[str, list], latency: float) -> type[BaseHTTPRequestHandler]:
    from flows.demo import news_pages
    from flows.demo import social_pages

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, body: str, ctype: str, extra: dict[str, str] | None = None) -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            time.sleep(latency)
            parts = urlsplit(self.path)
            params = parse_qs(parts.query)
            base = f"http://{self.headers.get('Host')}"
            if parts.path == "/hn/api/v1/search_by_date":
                items = by_brand.get(params.get("query", [""])[0].lower(), [])
                self._send(json.dumps(news_pages.search_by_date(items, params)), "application/json")
            elif parts.path.startswith("/alerts/feeds/"):
                slug = parts.path.rsplit("/", 1)[1].removesuffix(".xml")
                items = by_brand.get(slug, [])
                brand = items[0].brand if items else slug
                self._send(news_pages.google_alerts_atom(items, brand, base), "application/atom+xml")
            elif parts.path == "/news/rss/search":
                query = params.get("q", [""])[0]
                self._send(news_pages.google_news_rss(by_brand.get(query.lower(), []), query), "application/rss+xml")
            elif parts.path.startswith("/mastodon/api/v1/timelines/tag/"):
                tag = parts.path.rsplit("/", 1)[1]
                statuses, link = social_pages.mastodon_tag(by_brand.get(tag.lower(), []), tag,
                                                           int(params.get("limit", ["20"])[0]),
                                                           params.get("max_id", [None])[0], base, parts.path)
                self._send(json.dumps(statuses), "application/json", {"Link": link} if link else None)
            else:
                self.send_error(404)

    return Handler


def _serve(brands: int, hosts: int, port: int, latency: float, now: datetime, ready: multiprocessing.Event,
           stop: multiprocessing.Event) -> None:
    handler = _handler(_items(brands, now), latency)
    servers = []
    for h in range(1, hosts + 1):
        server = ThreadingHTTPServer((f"127.0.0.{h}", port), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    ready.set()
    stop.wait()
    for server in servers:
        server.shutdown()


def _free_port(hosts: int) -> int:
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            for h in range(2, hosts + 1):
                with socket.socket() as s:
                    s.bind((f"127.0.0.{h}", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no port free on every loopback address")


def write_config(folder: Path, brands: int, hosts: int, port: int, engine: str) -> Path:
    lines = [f"database: {folder}/scale.duckdb", f"outbox: {folder}/outbox", f"backfill_days: {HISTORY_DAYS + 1}",
             "brands:"]
    for k in range(brands):
        name = brand_name(k)

        def base(s: int, path: str) -> str:  # each source of a brand on its own address, brands spread over all
            return f"http://127.0.0.{(4 * k + s) % hosts + 1}:{port}{path}"

        lines += [f"  - name: {name}", "    sources:",
                  f"      - {{source: hackernews, base_url: '{base(0, '/hn/api/v1')}', targets: [{name}]}}",
                  f"      - {{source: feed, base_url: '{base(1, '/')}', targets: [alerts/feeds/{name.lower()}.xml]}}",
                  f"      - {{source: feed, base_url: '{base(2, '/')}', targets: ['news/rss/search?q={name}']}}",
                  f"      - {{source: mastodon, base_url: '{base(3, '/mastodon')}', targets: ['#{name}']}}"]
    lines += ["digest: {sender: bench@example.com, groups: [{name: bench, recipients: [bench@example.com]}]}",
              "http: {pace_seconds: 0, max_retries: 1}"]
    if engine == "dask":
        lines.append("engine: {kind: dask, workers: 2}")
    path = folder / "monitor.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_once(config_path: Path, until: datetime) -> tuple[float, int, int]:
    """(seconds, targets fetched OK, rows stored) for one fetch-store-score pass."""
    from prefect import flow, get_run_logger

    from analysis import store
    from flows.tasks.fetch_run import fetch_all
    from flows.tasks.scoring import score_new_mentions
    from flows.config import load_config

    @flow(name="scale benchmark")
    def fetch_store_score(path: str) -> list:
        config = load_config(path)
        health = fetch_all(config, f"bench-{time.time_ns()}", None, None, until, None, get_run_logger())
        score_new_mentions(config.database, config.sentiment.model, until - timedelta(days=56))
        return health

    started = time.perf_counter()
    health = fetch_store_score(str(config_path))
    seconds = time.perf_counter() - started
    config = load_config(config_path)
    with store.connection(config.database, read_only=True) as con:
        rows = con.execute("SELECT count(*) FROM mentions WHERE compound IS NOT NULL").fetchone()[0]
    return seconds, sum(1 for h in health if h.ok), int(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.splitlines()[0])
    p.add_argument("--brands", type=int, nargs="+", default=[50, 200])
    p.add_argument("--hosts", type=int, default=50)
    p.add_argument("--latency", type=float, default=0.05)
    p.add_argument("--engines", nargs="+", default=["threads", "dask"], choices=["threads", "dask"])
    args = p.parse_args(argv)
    from flows.lifeline import start_temporary_server

    start_temporary_server()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    print(f"{'brands':>6} {'targets':>7} {'engine':>7} {'seconds':>8} {'targets/s':>9} {'s/target':>8} {'rows scored':>11}")
    per_target: dict[tuple[str, int], float] = {}
    for brands in args.brands:
        port = _free_port(args.hosts)
        ready, stop = multiprocessing.Event(), multiprocessing.Event()
        server = multiprocessing.Process(target=_serve, args=(brands, args.hosts, port, args.latency, now, ready, stop),
                                         daemon=True)
        server.start()
        if not ready.wait(120):
            raise RuntimeError("the sites did not start")
        try:
            times = {}
            for engine in args.engines:
                with tempfile.TemporaryDirectory() as tmp:
                    config = write_config(Path(tmp), brands, args.hosts, port, engine)
                    seconds, ok, rows = run_once(config, now + timedelta(minutes=1))
                times[engine] = seconds
                per_target[(engine, brands)] = seconds / (4 * brands)
                print(f"{brands:6d} {4 * brands:7d} {engine:>7} {seconds:8.1f} {ok / seconds:9.1f} "
                      f"{seconds / (4 * brands):8.3f} {rows:11,d}" + ("" if ok == 4 * brands else f"  ({ok} targets OK)"),
                      flush=True)
            if len(times) == 2:
                print(f"{brands:6d} brands: dask is {times['threads'] / times['dask']:.2f}x the threads engine", flush=True)
        finally:
            stop.set()
            server.join(10)
    for engine in args.engines:
        sizes = sorted(b for e, b in per_target if e == engine)
        if len(sizes) > 1:
            ratio = per_target[(engine, sizes[-1])] / per_target[(engine, sizes[0])]
            print(f"{engine}: time per target at {sizes[-1]} brands is {ratio:.2f}x that at {sizes[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
