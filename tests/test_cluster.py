"""The Dask engine: one task per host, retries within it, and the same rows as the threads engine on real
`dask scheduler` and `dask worker` processes."""
import os
from contextlib import contextmanager
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from analysis import store
from analysis import clock
from flows.config import ConfigError, parse_config
from flows.tasks.cluster import fetch_with_retries, host_groups, job_host
from flows.tasks.fetch import FetchJob
from scrapers.http import HttpSettings

ROOT = Path(__file__).resolve().parents[1]
SINCE = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_a_job_goes_to_its_target_url_host_its_base_url_or_the_source_default():
    assert job_host(FetchJob("A", "feed", "https://News.Example.com/rss?q=a")) == "news.example.com"
    assert job_host(FetchJob("A", "trustpilot", "acme.com")) == "www.trustpilot.com"
    assert job_host(FetchJob("A", "trustpilot", "acme.com", base_url="http://127.0.0.1:9/tp")) == "127.0.0.1:9"
    assert job_host(FetchJob("A", "feed", "alerts/a.xml", base_url="http://127.0.0.2:9/")) == "127.0.0.2:9"


def test_every_target_of_a_host_is_one_group_in_plan_order():
    jobs = [FetchJob("A", "trustpilot", "a.com"), FetchJob("A", "feed", "https://f.example/a"),
            FetchJob("B", "trustpilot", "b.com"), FetchJob("B", "appstore", "1@us")]
    groups = host_groups([(job, SINCE, {}) for job in jobs])
    assert [(g.host, [j.target for j, _, _ in g.jobs]) for g in groups] == [
        ("www.trustpilot.com", ["a.com", "b.com"]), ("f.example", ["https://f.example/a"]),
        ("itunes.apple.com", ["1@us"])]
    assert groups[0].label == "www.trustpilot.com: A/trustpilot/a.com and 1 more"


def _feed(n: int) -> bytes:
    items = "".join(f"<item><title>post {i}</title><link>https://x.example/{i}</link><guid>g{i}</guid>"
                    f"<pubDate>Mon, 0{i + 1} Jun 2026 10:00:00 GMT</pubDate></item>" for i in range(n))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


def test_network_trouble_is_retried_in_the_task_and_a_refusal_is_not(httpserver):
    calls = []
    httpserver.expect_ordered_request("/flaky.xml").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/flaky.xml").respond_with_data(_feed(2), content_type="application/rss+xml")
    httpserver.expect_request("/gone.xml").respond_with_data("no", status=404)
    settings = HttpSettings(max_retries=0, pace_seconds=0)
    flaky = FetchJob("A", "feed", httpserver.url_for("/flaky.xml"))
    result = fetch_with_retries(flaky, SINCE, {}, settings, sleep=calls.append)
    assert result.error is None and len(result.rows) == 2 and calls == [10]
    gone = fetch_with_retries(FetchJob("A", "feed", httpserver.url_for("/gone.xml")), SINCE, {}, settings,
                              sleep=calls.append)
    assert gone.error.startswith("FatalHTTPError") and calls == [10]


def test_a_deadline_too_close_for_another_try_ends_the_target(httpserver):
    httpserver.expect_request("/busy.xml").respond_with_data("busy", status=503)
    settings = HttpSettings(max_retries=0, pace_seconds=0, deadline=time.time() + 5)
    result = fetch_with_retries(FetchJob("A", "feed", httpserver.url_for("/busy.xml")), SINCE, {}, settings,
                                sleep=lambda s: pytest.fail("slept past the deadline"))
    assert result.error.startswith("SourceTimeLimit") and "no room for another try" in result.error


def test_the_engine_is_chosen_in_config():
    base = {"brands": [{"name": "A", "sources": [{"source": "feed", "targets": ["https://a.example/f"]}]}],
            "digest": {"sender": "r@a.example", "groups": [{"name": "s", "recipients": ["s@a.example"]}]}}
    assert parse_config(base).engine.kind == "threads"
    assert parse_config({**base, "engine": {"kind": "dask", "address": "tcp://10.0.0.5:8786"}}).engine.address
    with pytest.raises(ConfigError, match="address is for kind: dask"):
        parse_config({**base, "engine": {"address": "tcp://10.0.0.5:8786"}})
    with pytest.raises(ConfigError, match="engine.address"):
        parse_config({**base, "engine": {"kind": "dask", "address": "10.0.0.5:8786"}})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def started_cluster(env: dict, threads: int, logs: list | None = None):
    """A scheduler and two workers, each started as its own command, as on real machines; yields the address
    and the processes, and stops them after."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).with_name("dask"))
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    for log in logs or [None, None]:
        procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", str(threads), "--no-dashboard"],
                                      cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                      stderr=log.open("w") if log else subprocess.DEVNULL))
    try:
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def dask_cluster():
    with started_cluster({**os.environ, "PYTHONPATH": str(ROOT)}, threads=1) as (address, _):
        yield address


def _kill_a_busy_worker(address: str, killed: list[int]) -> None:
    """Once a worker is running a task, SIGKILL its process."""
    from distributed import Client

    with Client(address, timeout=30) as client:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            busy = [worker for worker, keys in client.processing().items() if keys]
            if busy:
                time.sleep(1.0)  # well into its host's targets
                pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.1)


def _stored(db: str) -> tuple[list, list, list]:
    con = store.connect(db, read_only=True)
    try:
        mentions = con.execute(
            """SELECT brand, source, external_id, published_at, title, text, rating, replied, replied_at, compound
               FROM mentions ORDER BY ALL""").fetchall()
        cursors = con.execute("SELECT brand, source, target, watermark FROM cursors ORDER BY ALL").fetchall()
        alerts = con.execute("SELECT alert_id, observed, expected, severity FROM alerts ORDER BY ALL").fetchall()
    finally:
        con.close()
    return mentions, cursors, alerts


def test_a_dask_cluster_stores_what_the_threads_engine_stores(prefect_harness, dask_cluster, tmp_path):
    from flows.demo.runner import write_demo_config
    from flows.demo import data as demo_data, server as demo_server
    from flows.demo import review_data
    from flows.nightly import nightly

    now, zone = clock.now(), ZoneInfo("Europe/London")
    until = demo_data.demo_anchor(now, zone) - timedelta(hours=1)  # one period for both engines
    with demo_server.serve(demo_data.generate(now, zone), review_data.generate_reviews(now, zone)) as base_url:
        runs = {}
        for engine in ("threads", "dask"):
            config = write_demo_config(tmp_path / engine, base_url)
            if engine == "dask":
                config.write_text(config.read_text() + f"engine: {{kind: dask, address: '{dask_cluster}'}}\n")
            state = nightly(config_path=str(config), until=until.isoformat(), send_email=False, return_state=True)
            assert state.is_completed(), state.message
            runs[engine] = state.result()
        again = nightly(config_path=str(tmp_path / "dask" / "monitor.yaml"), until=until.isoformat(),
                        send_email=False, return_state=True).result()
        # A worker killed mid-run: its task reruns (on the other worker, or the same one restarted by its nanny).
        config = write_demo_config(tmp_path / "killed", base_url)
        config.write_text(config.read_text().replace("pace_seconds: 0", "pace_seconds: 0.3")
                          + f"engine: {{kind: dask, address: '{dask_cluster}'}}\n")
        killed = []
        killer = threading.Thread(target=_kill_a_busy_worker, args=(dask_cluster, killed), daemon=True)
        killer.start()
        state = nightly(config_path=str(config), until=until.isoformat(), send_email=False, return_state=True)
        killer.join(timeout=5)
        assert state.is_completed(), state.message
        runs["killed"] = state.result()
    assert killed, "no worker was busy long enough to be killed"
    staged = Path(runs["dask"].database).parent / "staging"
    assert not [p for p in staged.rglob("*") if p.is_file()]  # every staged file loaded and removed
    threads, dask = _stored(runs["threads"].database), _stored(runs["dask"].database)
    assert _stored(runs["killed"].database) == threads  # nothing lost or doubled
    assert len(threads[0]) > 1500 and threads[0] == dask[0]  # every row, its text, stars, replies and score
    assert threads[1] == dask[1] and len(dask[1]) == 20  # every cursor
    assert threads[2] == dask[2] and dask[2]  # the same alerts
    assert sum(h.new for h in again.health) == 0 and all(h.ok for h in again.health)
    assert _stored(again.database)[0] == dask[0]  # a rerun adds nothing


def test_a_cluster_task_scores_and_stages_what_it_fetched(httpserver, tmp_path):
    from analysis import sentiment
    from flows.tasks import staging
    import logging

    from flows.tasks.cluster import HostGroup, fetch_and_stage

    httpserver.expect_request("/a.xml").respond_with_data(_feed(3), content_type="application/rss+xml")
    job = FetchJob("A", "feed", httpserver.url_for("/a.xml"))
    folder = staging.run_folder(str(tmp_path / "staging"), "r1")
    (result,) = fetch_and_stage(HostGroup("h", ((job, SINCE, {}),)), HttpSettings(pace_seconds=0), 60,
                                "learned", folder, logging.getLogger("test"))
    assert result.rows == [] and result.staged.startswith(folder)
    rows, scores = staging.read_staged(result.staged)
    assert [r["title"] for r in rows] == ["post 0", "post 1", "post 2"]
    expected = sentiment.score_texts(["post 0", "post 1", "post 2"], workers=1, model="learned")
    assert [s["compound"] for s in scores] == [e.compound for e in expected]
    assert all(s["model"] == sentiment.model_id("learned") for s in scores)
    # A run killed before its writer committed leaves its folder: the next run discards it, unread.
    assert staging.discard_stale(str(tmp_path / "staging")) == [folder]
    assert not (tmp_path / "staging" / "run-r1").exists()


def test_two_workers_never_hit_one_host_faster_than_the_pace(prefect_harness, dask_cluster, httpserver, tmp_path):
    from flows.nightly import nightly
    from werkzeug.wrappers import Response

    hits: list[float] = []

    def feed(request):
        hits.append(time.monotonic())
        return Response(_feed(2), content_type="application/rss+xml")

    for name in ("a", "b", "c", "d"):
        httpserver.expect_request(f"/{name}.xml").respond_with_handler(feed)
    brands = "\n".join(f"  - name: Brand{name.upper()}\n    sources: [{{source: feed, targets: ['{httpserver.url_for(f'/{name}.xml')}']}}]"
                       for name in ("a", "b", "c", "d"))
    config = tmp_path / "monitor.yaml"
    config.write_text(f"database: {tmp_path}/db.duckdb\noutbox: {tmp_path}/outbox\nbackfill_days: 3650\nbrands:\n{brands}\n"
                      "digest: {sender: r@a.example, groups: [{name: s, recipients: [s@a.example]}]}\n"
                      f"http: {{pace_seconds: 0.5, max_retries: 0}}\nengine: {{kind: dask, address: '{dask_cluster}'}}\n")
    state = nightly(config_path=str(config), send_email=False, return_state=True)
    assert state.is_completed(), state.message
    assert len(hits) == 4
    gaps = [b - a for a, b in zip(hits, hits[1:])]
    assert min(gaps) >= 0.45, gaps  # one task for the host, one paced session: never two workers at once


def test_a_plan_past_the_api_parameter_limit_runs(prefect_harness, dask_cluster, httpserver, tmp_path):
    """Prefect refuses flow-run parameters over 512 KB; 1,000 brands' plan is 700 KB and must still run."""
    from flows.config import EngineConfig
    from flows.tasks import staging
    from flows.tasks.cluster import fetch_on_cluster

    httpserver.expect_request("/f.xml").respond_with_data(_feed(1), content_type="application/rss+xml")
    padding = "x" * 1500  # long targets stand in for many: 400 of them serialize to over 600 KB
    planned = [(FetchJob(f"Brand{i:03d}", "feed", httpserver.url_for(f"/f.xml?q={padding}&n={i}")), SINCE, {})
               for i in range(400)]
    folder = staging.run_folder(str(tmp_path / "staging"), "big-plan")
    results = []
    fetch_on_cluster(EngineConfig(kind="dask", address=dask_cluster), planned,
                     HttpSettings(max_retries=0, pace_seconds=0, respect_robots=False), 60, "learned", folder,
                     results.append)
    assert sorted(r.job.brand for r in results) == [job.brand for job, _, _ in planned]
    assert all(r.error is None and r.staged for r in results), [r.error for r in results if r.error][:3]
    rows, scores = staging.read_staged(results[-1].staged)
    assert len(rows) == len(scores) == 1


def test_a_batch_with_a_bad_source_stores_the_others(tmp_path):
    from flows.tasks.fetch import FetchResult
    from flows.tasks.storing import store_batch

    def hn(external_id):
        return {"source": "hackernews", "external_id": external_id, "published_at": SINCE, "text": "Acme",
                "url": None, "title": None, "author": "a", "kind": "comment", "rating": None, "replied": None,
                "language": None, "raw": {}}

    good = FetchResult(FetchJob("Acme", "hackernews", "Acme"), [hn("1"), hn("2")], 1, {"p": 1})
    bad = FetchResult(FetchJob("Rival", "hackernews", "Rival"), [hn("3"), hn(None)], 1, {})
    db = str(tmp_path / "db.duckdb")
    store.connect(db).close()
    saved = store_batch.fn(db, [good, bad], "r1", "a batch")
    assert saved[0] == (store.SaveResult(2, 2, 0), None)
    assert saved[1][0] is None and saved[1][1]  # said why
    con = store.connect(db, read_only=True)
    try:
        assert con.execute("SELECT brand, external_id FROM mentions ORDER BY ALL").fetchall() == [("Acme", "1"),
                                                                                                 ("Acme", "2")]
        assert store.get_cursor(con, "Acme", "hackernews", "Acme").state == {"p": 1}
    finally:
        con.close()


def test_both_engines_wait_the_same_and_stop_when_the_wait_would_pass_the_time_limit():
    from flows.tasks.fetch import FETCH_RETRY_DELAYS, after_network_trouble
    from scrapers.http_errors import RetriableHTTPError

    job, trouble = FetchJob("A", "feed", "https://x.example/f"), RetriableHTTPError("HTTP 503", "https://x.example/f")
    assert [after_network_trouble(job, {}, HttpSettings(), trouble, n) for n in (1, 2)] == FETCH_RETRY_DELAYS
    assert after_network_trouble(job, {}, HttpSettings(), trouble, 3).error == "RetriableHTTPError: HTTP 503"
    # The second wait is a minute: thirty seconds left is no room for it, though it was for the first.
    soon = HttpSettings(deadline=time.time() + 30)
    assert after_network_trouble(job, {}, soon, trouble, 1) == 10
    assert after_network_trouble(job, {}, soon, trouble, 2).error.startswith("SourceTimeLimit")


@pytest.fixture
def bare_dask_cluster(tmp_path):
    """A scheduler and two 2-thread workers started by hand with nothing of Prefect in their environment, their
    logs kept: what README's 'Many targets' tells a user to start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PYTHONPATH=str(ROOT), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    logs = [tmp_path / f"worker-{i}.log" for i in range(2)]
    with started_cluster(env, threads=2, logs=logs) as (address, procs):
        yield address, procs, logs


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:200]
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    from flows.lifeline import alive

    return alive(pid)


def _descendants(pid: int) -> list[int]:
    from flows.lifeline import _children

    out, todo = [], [pid]
    while todo:
        for child in _children(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


def test_workers_started_by_hand_run_five_nights_and_start_nothing(prefect_harness, bare_dask_cluster, tmp_path):
    """No temporary Prefect server on a worker, nothing left behind when the workers stop (SIGTERM)."""
    from analysis import clock
    from flows.demo import data as demo_data, server as demo_server
    from flows.demo import review_data
    from flows.demo.runner import write_demo_config
    from flows.nightly import nightly
    from flows.run import outcome_of

    address, procs, logs = bare_dask_cluster
    now, zone = clock.now(), ZoneInfo("Europe/London")
    with demo_server.serve(demo_data.generate(now, zone), review_data.generate_reviews(now, zone)) as base_url:
        config = write_demo_config(tmp_path, base_url)
        config.write_text(config.read_text() + f"engine: {{kind: dask, address: '{address}'}}\n")
        for night in range(5):
            until = demo_data.demo_anchor(now, zone) - timedelta(days=4 - night)
            state = nightly(config_path=str(config), until=until.isoformat(), send_email=False, return_state=True)
            outcome = outcome_of(state)
            assert state.is_completed(), state.message
            assert len(outcome.health) == 20 and all(h.ok for h in outcome.health)
    workers = [p.pid for p in procs[1:]]
    started = {pid: _descendants(pid) for pid in workers}
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=30)
    text = "".join(log.read_text() for log in logs)
    assert "temporary server" not in text and "uvicorn" not in text, text[-2000:]
    deadline = time.monotonic() + 20  # a worker's own children (Dask's worker process under its nanny) end after it
    while time.monotonic() < deadline:
        left = {pid: _cmdline(pid) for pids in started.values() for pid in pids if _alive(pid)}
        if not left:
            break
        time.sleep(0.5)
    assert left == {}, f"processes outlived their worker: {left}"


def test_check_says_whether_the_cluster_can_run_a_night(bare_dask_cluster, tmp_path, capsys, monkeypatch):
    from flows.cli import main

    address, _, _ = bare_dask_cluster
    config = tmp_path / "monitor.yaml"
    base = ("database: r.duckdb\nbrands:\n  - name: Acme\n    sources:\n"
            "      - source: reddit\n        targets: [r/acme]\n"
            "digest:\n  sender: r@acme.example\n  groups:\n    - name: s\n      recipients: [s@acme.example]\n")
    monkeypatch.setenv("REDDIT_CLIENT_ID", "here")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "here")
    config.write_text(base + f"engine: {{kind: dask, address: '{address}'}}\n")
    assert main(["check", "--config", str(config)]) == 1  # the workers lack the Reddit secrets this machine has
    out, err = capsys.readouterr()
    assert f"{address}: the scheduler answers, 2 workers" in out
    assert err.count("lacks the environment variables REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET") == 2
    assert "here" not in err  # names, never values
    config.write_text(base + f"engine: {{kind: dask, address: 'tcp://127.0.0.1:{_free_port()}'}}\n")
    assert main(["check", "--config", str(config)]) == 1
    assert "no Dask scheduler answers within 5 s" in capsys.readouterr().err


def test_a_prefect_block_for_secrets_is_refused_on_a_cluster():
    from flows.cluster_check import cluster_report

    config = parse_config({
        "brands": [{"name": "Acme", "sources": [{"source": "reddit", "targets": ["r/acme"],
                                                 "credentials": {"block": "reddit-prod"}}]}],
        "digest": {"sender": "a@b.example", "groups": [{"name": "s", "recipients": ["c@d.example"]}]},
        "engine": {"kind": "dask", "workers": 2}})
    good, bad = cluster_report(config)
    assert good == [] and len(bad) == 1
    assert "brands[0] (Acme).sources[0] (reddit) reads its secrets from the Prefect block 'reddit-prod'" in bad[0]
    threads = config.model_copy(update={"engine": config.engine.model_copy(update={"kind": "threads"})})
    assert cluster_report(threads) == ([], [])  # on threads the flow's own process reads the block


def test_a_worker_scores_as_the_threads_engine_does_the_sources_language_included():
    # A worker scores each target's rows before staging them; the store's scoring step (threads engine) reads the
    # title with the text and lets the source's own language win. Both must give the same rows.
    from analysis import sentiment
    from flows.tasks.cluster import score_rows

    rows = [{"title": "Refund please", "text": "They charged me twice and nobody answers.", "rating": None,
             "language": None},
            {"title": None, "text": "This is a text the source says is Russian.", "rating": 5.0, "language": "ru"}]
    threads = sentiment.ScoringPool(workers=1).score([sentiment.scored_text(r) for r in rows],
                                                     [r["language"] for r in rows])
    assert score_rows(rows, sentiment.DEFAULT_MODEL) == [sentiment.score_fields(sc, r["rating"])
                                                         for r, sc in zip(rows, threads)]
    english, russian = score_rows(rows, sentiment.DEFAULT_MODEL)
    assert english["label"] == "negative" and english["language"] == "en"
    assert russian["label"] is None and russian["language"] == "ru" and russian["rated_label"] == "positive"
