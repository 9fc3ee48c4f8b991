"""Hostile and broken input: a stranger's post in a push, a slow webhook, one target twice, fields of the wrong
type, a database file that is not one. Real local servers; nothing mocked."""
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from analysis import store
from flows.config import ConfigError, parse_config
from reports import notify
from reports.push_message import compose, defuse
from scrapers.base import Mention, Page, ParseError, utc_from_epoch
from scrapers.hackernews import HackerNewsScraper
from scrapers.http import HttpSettings, PoliteSession
from scrapers.mastodon import MastodonScraper
from scrapers.parsing import parse_page

from conftest import fixture_bytes

ROOT = Path(__file__).resolve().parents[1]
UTC = timezone.utc
T = datetime(2026, 11, 24, 22, 15, tzinfo=UTC)
HOSTILE = "<!channel> @everyone Parcelly outage… <https://evil.example|click to verify> <@U024BE7LH> <@&1234> " \
          "[verify your account](https://evil.example/login) @here"


def alert(text: str = HOSTILE) -> dict:
    return {"brand": "Parcelly", "metric": "mentions", "source": "all", "severity": "high", "observed": 40.0,
            "expected": 4.0, "incident_start": T - timedelta(hours=1), "last_bucket": T, "bucket_seconds": 3600,
            "details": {"peak": 40.0, "terms": ["@everyone", "<!here>"],
                        "examples": [{"text": text, "url": "https://news.example/a?x=<!channel>"}]}}


def assert_defused(text: str) -> None:
    for live in ("<!channel>", "<!here>", "<https://", "<@U", "<@&", "@everyone", "@here", "](https://"):
        assert live not in text, (live, text)


def test_a_strangers_post_cannot_ping_a_channel_or_disguise_a_link():
    title, body = compose(alert(), "opened", UTC)
    assert_defused(title + body)
    assert "click to verify" in body and "Parcelly outage" in body  # the words still read
    assert defuse("mail me at a@b.example") != "mail me at a@b.example"  # every @name, not a list of known ones
    assert defuse("plain words, 3 < 4") == "plain words, 3 \u2039 4"


class Webhook:
    """A chat's incoming webhook on 127.0.0.1 (Apprise json://), answering after `delay` seconds."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay, self.received = delay, []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                time.sleep(hook.delay)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender stopped waiting (the read-timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_push_a_webhook_receives_is_the_defused_one():
    hook = Webhook()
    try:
        notify.send([hook.url], *compose(alert(), "opened", UTC))
    finally:
        hook.close()
    (got,) = hook.received
    assert got["title"] == "[HIGH] Parcelly: mentions rising"
    assert_defused(got["message"])


def test_a_slow_webhook_is_waited_for_and_gets_the_push_once():
    hook = Webhook(delay=5.0)  # Apprise's own read timeout is 4 s
    try:
        notify.send([hook.url], "[HIGH] Parcelly: mentions rising", "body")
    finally:
        hook.close()
    assert len(hook.received) == 1


def test_a_push_whose_answer_never_came_is_resent_said_so(tmp_path):
    hook = Webhook(delay=3.0)
    try:
        with pytest.raises(notify.DeliveryError) as caught:
            notify.send([hook.url + "?rto=1"], "[HIGH] Parcelly: mentions rising", "body")
    finally:
        hook.close()
    assert caught.value.maybe_delivered and "may have arrived" in str(caught.value)
    assert "127.0.0.1" not in str(caught.value)  # no URL in what is said
    with store.connection(":memory:") as con:
        store.record_pushes(con, [{"push_id": "a|support|opened", "alert_id": "a", "brand": "Parcelly",
                                   "group": "support", "kind": "opened", "severity": "high", "peak": 40.0,
                                   "title": "[HIGH] Parcelly", "body": "b", "services": "JSON"}], "run-1")
        store.mark_push(con, "a|support|opened", "sending")
        store.mark_push(con, "a|support|opened", "interrupted", str(caught.value))
        (row,) = store.pushes_to_send(con)
    assert row["state"] == "interrupted"  # the next round sends it with INTERRUPTED_NOTE before its title


def test_the_same_target_twice_is_a_config_error_naming_both():
    blocks = [{"source": "mastodon", "targets": ["#parcelly"], "base_url": "https://mastodon.social"},
              {"source": "mastodon", "targets": ["#parcelly"], "base_url": "https://fosstodon.org"}]
    with pytest.raises(ConfigError, match=r"brands\[0\].*sources\[1\]: mastodon target '#parcelly' is also in "
                                          r"sources\[0\].*'#parcelly@fosstodon.org'"):
        parse_config({"brands": [{"name": "Parcelly", "sources": blocks}],
                      "digest": {"sender": "a@b.example", "groups": [{"name": "s", "recipients": ["c@d.example"]}]}})
    parse_config({"brands": [{"name": "Parcelly", "sources": [
        {"source": "mastodon", "targets": ["#parcelly", "#parcelly@fosstodon.org"]}]}],
        "digest": {"sender": "a@b.example", "groups": [{"name": "s", "recipients": ["c@d.example"]}]}})


def test_a_hashtag_on_a_named_instance_is_read_there_without_the_base_instances_token(httpserver):
    other = HTTPServer(host="127.0.0.1", port=0)
    other.start()
    try:
        other.expect_request("/api/v1/timelines/tag/acme").respond_with_data(
            fixture_bytes("mastodon", "tag-timeline-page2.json"), content_type="application/json")
        scraper = MastodonScraper(base_url=httpserver.url_for("").rstrip("/"), credentials={"access_token": "sekrit"},
                                  http=PoliteSession(HttpSettings(respect_robots=False, pace_seconds=0)))
        pages = list(scraper.pages(f"#acme@127.0.0.1:{other.port}", None, {}))
        assert pages and all(f":{other.port}/" in p.url for p in pages)
        (request, _), *_ = other.log
        assert "Authorization" not in request.headers
    finally:
        other.clear()
        other.stop()


def test_a_field_of_the_wrong_type_is_a_parse_error_naming_it():
    with pytest.raises(ParseError, match=r"hackernews:1: `author` is int \(5\), not str or None"):
        Mention("hackernews", "1", T, "text", author=5)  # type: ignore[arg-type]
    with pytest.raises(ParseError, match=r"`rating` is bool"):
        Mention("appstore", "1", T, "text", rating=True)
    with pytest.raises(ParseError, match=r"`title` is list"):
        Mention("reddit", "1", T, "text", title=["a"])  # type: ignore[arg-type]
    with pytest.raises(ParseError, match="not a time"):
        utc_from_epoch(10**20)


def hn_page(hits: list[dict]) -> Page:
    return Page("https://hn.example/api/v1/search_by_date?query=acme", 200, json.dumps({"hits": hits}).encode())


def test_one_bad_item_costs_only_itself_and_is_said():
    good, other = json.loads(fixture_bytes("hackernews", "search_by_date-page0.json"))["hits"]
    huge = {**other, "objectID": "9", "created_at_i": 10**20}
    typed = {**other, "objectID": "10", "author": {"name": "x"}}
    parsed = parse_page(HackerNewsScraper(), hn_page([good, huge, typed]))
    assert [m.external_id for m in parsed] == [good["objectID"]]
    assert len(parsed.skipped) == 2 and "is not a time" in parsed.skipped[0] and "`author` is dict" in parsed.skipped[1]
    assert all(s.startswith("https://hn.example/") for s in parsed.skipped)
    with store.connection(":memory:") as con:  # what is left stores: no ArrowTypeError naming nothing
        store.save_mentions(con, "Acme", "hackernews", "acme", [m.__dict__ for m in parsed], run_id="r")
        assert store.count_mentions(con) == 1
    with pytest.raises(ParseError, match=r"is not a time .*and 1 more items like it"):
        parse_page(HackerNewsScraper(), hn_page([huge, typed]))  # nothing readable: a changed site, said so


def test_a_database_file_that_is_not_one_is_one_line_not_a_traceback(tmp_path):
    db = tmp_path / "repwatch.duckdb"
    db.write_bytes(b"not a database, just bytes " * 100)
    config = tmp_path / "monitor.yaml"
    config.write_text(json.dumps({
        "database": str(db), "outbox": str(tmp_path / "outbox"),
        "brands": [{"name": "Acme", "sources": [{"source": "feed", "targets": ["http://127.0.0.1:9/f.xml"]}]}],
        "digest": {"sender": "a@b.example", "groups": [{"name": "s", "recipients": ["c@d.example"]}]}}))
    for command in (["run", "--no-email"], ["watch"]):
        done = subprocess.run([sys.executable, "-m", "flows.cli", command[0], "--config", str(config), *command[1:]],
                              cwd=ROOT, capture_output=True, text=True, timeout=180)
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout, done.stderr
        assert errors == [f"error: cannot open the database {db}: IO Error: The file \"{db}\" exists, but it is "
                          "not a valid DuckDB database file!"], done.stderr


def test_a_temporary_server_that_does_not_start_in_time_is_one_line(tmp_path):
    config = tmp_path / "monitor.yaml"
    config.write_text(json.dumps({
        "database": str(tmp_path / "r.duckdb"), "outbox": str(tmp_path / "outbox"),
        "brands": [{"name": "Acme", "sources": [{"source": "feed", "targets": ["http://127.0.0.1:9/f.xml"]}]}],
        "digest": {"sender": "a@b.example", "groups": [{"name": "s", "recipients": ["c@d.example"]}]}}))
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="1", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    done = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--no-email", "--config", str(config)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout, done.stderr
    assert len(errors) == 1 and "temporary server did not start" in errors[0] and "PREFECT_API_URL" in errors[0]


def test_items_left_out_are_kept_with_the_sources_health_and_shown_in_the_digest():
    from test_digest import context

    from reports.digest import render_digest

    with store.connection(":memory:") as con:
        store.save_source_health(con, "run-1", [
            {"brand": "Acme", "source": "hackernews", "target": "acme", "ok": True, "pages": 2, "fetched": 40,
             "new": 38, "error": None, "skipped": 2,
             "skipped_example": "https://hn.example/?page=1: hackernews:10: `author` is dict"}])
        (row,) = store.source_health(con, "run-1")
    assert (row["skipped"], row["skipped_example"]) == (2, "https://hn.example/?page=1: hackernews:10: `author` is dict")
    digest = render_digest(context(health=[row]))
    assert "2 items left out" in digest.html and "`author` is dict" in digest.html
    assert "40 fetched, 38 new, 2 left out (https://hn.example/?page=1: hackernews:10: `author` is dict)" in digest.text
