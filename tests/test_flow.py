"""The nightly flow under Prefect's test harness, against the demo's loopback HTTP server."""
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from analysis import store
from analysis import clock
from flows.demo import data as demo_data, server as demo_server
from flows.demo import review_data
from flows.demo.runner import write_demo_config


@pytest.fixture(scope="module")
def demo_site():
    # No REPWATCH_DEMO_* in the environment: the demo config reads its credentials file, as from any terminal.
    now, zone = clock.now(), ZoneInfo("Europe/London")
    items = demo_data.generate(now, zone)
    with demo_server.serve(items, review_data.generate_reviews(now, zone)) as base_url:
        yield base_url, items


def run(config_path, **params):
    from flows.nightly import nightly

    from flows.run import outcome_of

    state = nightly(config_path=str(config_path), send_email=False, return_state=True, **params)
    return state, outcome_of(state)


def test_nightly_end_to_end_then_rerun_is_idempotent(prefect_harness, demo_site, tmp_path):
    base_url, items = demo_site
    config = write_demo_config(tmp_path, base_url)
    state, data = run(config)
    assert state.is_completed(), state.message
    assert all(h.ok for h in data.health) and len(data.health) == 20
    con = store.connect(data.database)
    stored = store.count_mentions(con)
    reviews = con.execute(
        """SELECT source, count(*), count(rating), count(*) FILTER (WHERE replied),
                  count(*) FILTER (WHERE NOT replied), count(replied_at)
           FROM mentions WHERE kind = 'review' GROUP BY source ORDER BY source""").fetchall()
    sources = {r[0] for r in con.execute("SELECT DISTINCT source FROM mentions").fetchall()}
    unscored = len(store.fetch_unscored(con))
    con.close()
    assert sources == {"hackernews", "feed", "trustpilot", "appstore", "googleplay", "schemaorg", "reddit", "mastodon",
                       "bluesky"} and unscored == 0
    assert stored > 1500
    for source, n, rated, replied, waiting, dated_replies in reviews:
        assert n > 20 and rated == n, source
        assert replied > 0 and dated_replies == replied, source  # every demo reply carries its date
        assert waiting > 0 or source == "schemaorg", source  # ShipSwift's microdata shop does not say
    assert data.alerts, "the demo incident should raise an alert"
    (digest,) = data.digests
    html = open(digest.html_path, encoding="utf-8").read()
    assert "[ALERT]" in digest.subject and "Parcelly" in html and "FAILED" not in html
    assert "hackernews" in html and "feed" in html
    # The night's posts in other languages are read, and the complaints among them listed with their language.
    assert "Read in 6 languages" in html and "· in Spanish" in html and "· in German" in html, html
    assert "What people say" in html and "login" in html and "outage" in html  # themes of the incident
    assert "Why negative" in html  # driver words
    queue = html[html.index(">Waiting for a reply"):html.index(">Negative mentions</h2>")]
    ages = [int(a) for a in re.findall(r"<b style=\"color:#b42318;\">(\d+) days?</b>", queue)]
    assert len(ages) >= 5 and ages == sorted(ages, reverse=True), ages  # oldest first
    assert "and " in queue and "more" in queue and "Reply</a>" in queue

    state2, data2 = run(config)
    assert state2.is_completed()
    con = store.connect(data2.database)
    assert store.count_mentions(con) == stored
    con.close()
    assert sum(h.new for h in data2.health) == 0
    assert data2.alerts == () and data2.digests[0].skipped is True


def test_the_weekly_digest_says_what_the_store_holds(prefect_harness, demo_site, tmp_path):
    """`repwatch run --cadence weekly` on the demo: every figure is recomputed here in SQL over the stored mentions."""
    import csv
    import email
    import io
    from email import policy

    base_url, _ = demo_site
    config = write_demo_config(tmp_path, base_url)
    state, data = run(config, cadence="weekly")
    assert state.is_completed(), state.message
    (digest,) = data.digests
    assert digest.group == "marketing" and digest.period.startswith("week-")
    html_path = digest.html_path
    html = open(html_path, encoding="utf-8").read()
    text = open(html_path[:-4] + "txt", encoding="utf-8").read()
    assert len(html.encode("utf-8")) < 102 * 1024  # Gmail clips larger messages
    con = store.connect(data.database)
    start, end = con.execute("SELECT period_start, period_end FROM digests WHERE recipient_group = 'marketing'").fetchone()
    assert end - start == timedelta(days=7)
    week = {b: r for b, *r in con.execute(
        """SELECT brand, count(*), count(*) FILTER (WHERE coalesce(rated_label, label) = 'negative'), count(compound),
                  avg(rating)
           FROM mentions WHERE published_at >= ? AND published_at < ? GROUP BY brand""", [start, end]).fetchall()}
    replies = {b: r for b, *r in con.execute(
        """SELECT brand, count(*) FILTER (WHERE replied), count(replied) FROM mentions
           WHERE kind = 'review' AND published_at >= ? AND published_at < ? GROUP BY brand""",
        [end - timedelta(days=30), end]).fetchall()}
    weekly_counts = [n for (n,) in con.execute(
        """SELECT count(*) FROM range(8) AS w(i) LEFT JOIN mentions m ON m.brand = 'Parcelly'
               AND m.published_at >= ?::TIMESTAMP - to_days(CAST(7 * (8 - i) AS INTEGER))
               AND m.published_at < ?::TIMESTAMP - to_days(CAST(7 * (7 - i) AS INTEGER))
           GROUP BY i ORDER BY i""", [end, end]).fetchall()]
    csv_rows = con.execute("SELECT count(*) FROM mentions WHERE published_at >= ? AND published_at < ?",
                           [start, end]).fetchone()[0]
    con.close()
    total = sum(r[0] for r in week.values())
    for brand, (mentions, negative, scored, rating) in week.items():
        answered, answerable = replies[brand]
        block = text[text.index(f"\n{brand}"):]
        found = re.search(r"mentions ([\d,]+) .*share of voice (\d+)%.*\n.*negative (\d+)% .*rating ([\d.]+)★.*\n"
                          r".*replied \(30 days\) (\d+)% \((\d+) of (\d+);", block)
        assert found, block[:400]
        assert int(found[1].replace(",", "")) == mentions
        assert int(found[2]) == round(100 * mentions / total)
        assert int(found[3]) == round(100 * negative / scored)
        assert float(found[4]) == round(rating, 2)
        assert (int(found[5]), int(found[6]), int(found[7])) == (round(100 * answered / answerable), answered, answerable)
    assert "ShipSwift (competitor)" in text and "competitor</div>" in html
    trend = text[text.index("PARCELLY: EIGHT WEEKS"):text.index("INCIDENTS THIS WEEK")]
    assert [int(n) for n in re.findall(r"\n  \d\d \w{3}: (\d+),", trend)] == weekly_counts
    assert sum(weekly_counts) > 8 * 100
    incidents = text[text.index("INCIDENTS THIS WEEK"):]
    assert "HIGH Parcelly Mentions" in incidents and "reported in the digest only" in incidents
    talked = text[text.index("WHAT PEOPLE TALKED ABOUT"):]
    rising = talked[talked.index("complaints rising: "):].splitlines()[0]
    # The outage's words (which of them rank first varies with the demo's random night).
    assert {"outage", "login", "log", "refund", "charged", "down", "error"} & set(re.findall(r"[a-z]+", rising))
    assert "20 of 20 sources worked on every day" in text
    message = email.message_from_bytes(open(html_path[:-4] + "eml", "rb").read(), policy=policy.SMTP)
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename().endswith(".csv")
    exported = list(csv.DictReader(io.StringIO(attachment.get_payload(decode=True).decode("utf-8-sig"))))
    assert len(exported) == csv_rows and {r["brand"] for r in exported} == {"Parcelly", "ShipSwift"}

    # Due once: the next weekly run (an hourly deployment's) finds it written and fetches nothing.
    state2, data2 = run(config, cadence="weekly")
    assert state2.is_completed() and data2.health == () and data2.digests[0].skipped is True
    assert "no weekly digest due" in data2.summary


def test_a_broken_source_is_reported_and_the_run_goes_on(prefect_harness, demo_site, tmp_path):
    base_url, _ = demo_site
    config = write_demo_config(tmp_path, base_url)
    config.write_text(config.read_text().replace("alerts/feeds/parcelly.xml", "alerts/feeds/gone.xml"))
    state, data = run(config, brands=["Parcelly"])
    assert state.is_failed()
    assert "1 of 10 sources failed: Parcelly/feed/alerts/feeds/gone.xml" in state.message
    broken = [h for h in data.health if not h.ok]
    assert [(h.source, h.error.split(":")[0]) for h in broken] == [("feed", "FatalHTTPError")]
    html = open(data.digests[0].html_path, encoding="utf-8").read()
    assert "FAILED" in html and "HTTP 404" in html


def test_smtp_down_fails_the_run_and_the_next_run_delivers_once(prefect_harness, demo_site, tmp_path, monkeypatch):
    import email
    import socket
    from email import policy

    from aiosmtpd.controller import Controller

    base_url, _ = demo_site
    config = write_demo_config(tmp_path, base_url)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("SMTP_SECURITY", "none")
    from flows.nightly import nightly

    state = nightly(config_path=str(config), brands=["ShipSwift"], send_email=True, return_state=True)
    assert state.is_failed()
    assert "NOT SENT" in state.message and "digest-" in state.message and "the next run sends it" in state.message

    received = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):
            received.append(email.message_from_bytes(envelope.content, policy=policy.SMTP)["Subject"])
            return "250 OK"

    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        for _ in range(2):
            state = nightly(config_path=str(config), brands=["ShipSwift"], send_email=True, return_state=True)
            assert state.is_completed(), state.message
    finally:
        controller.stop()
    assert len(received) == 1 and received[0].startswith("[LATE] ")


def test_demo_serve_keeps_the_sites_up_and_writes_a_config(tmp_path):
    import json
    import os
    import signal
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "demo", "--serve", "--port", "0", "--data-dir", str(tmp_path)],
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    try:
        line = ""
        while "demo sites on" not in line:
            line = proc.stdout.readline()
            assert line, "demo --serve ended early"
        base_url = line.split("demo sites on ", 1)[1].split(";")[0]
        with urllib.request.urlopen(f"{base_url}/hn/api/v1/search_by_date?query=Parcelly&hitsPerPage=5", timeout=10) as r:
            assert len(json.load(r)["hits"]) == 5
        with urllib.request.urlopen(f"{base_url}/trustpilot/review/parcelly.app", timeout=10) as r:
            assert b"__NEXT_DATA__" in r.read()
        assert base_url in (tmp_path / "monitor.yaml").read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_refused_credentials_fail_that_source_only(prefect_harness, demo_site, tmp_path, monkeypatch):
    base_url, _ = demo_site
    config = write_demo_config(tmp_path, base_url)
    monkeypatch.setenv("REPWATCH_DEMO_REDDIT_CLIENT_SECRET", "not-the-secret")
    state, data = run(config, brands=["ShipSwift"])
    assert state.is_failed()
    (broken,) = [h for h in data.health if not h.ok]
    assert broken.source == "reddit" and "credentials refused" in broken.error
    assert "not-the-secret" not in state.message + broken.error
    assert sum(h.ok for h in data.health) == 9
