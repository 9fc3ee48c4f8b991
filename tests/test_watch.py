"""Alerts within the hour: the watch flow replays the demo's incident night against a real local webhook receiver."""
import json
import logging
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from analysis import pushes, store
from analysis import clock
from flows.demo import data as demo_data, server as demo_server
from flows.demo import review_data
from flows.demo.runner import write_demo_config

TOKEN = "T0KEN-s3cr3t-d0-not-leak"
ZONE = ZoneInfo("Europe/London")


class Receiver:
    """A chat's incoming webhook on 127.0.0.1 (Apprise json://), which can be taken down and brought back."""

    def __init__(self) -> None:
        self.server = HTTPServer(host="127.0.0.1", port=0)
        self.received: list[dict] = []
        self.down = False
        self.server.expect_request("/hook", method="POST").respond_with_handler(self._take)
        self.server.start()
        self.url = f"json://bot:{TOKEN}@127.0.0.1:{self.server.port}/hook"

    def _take(self, request):
        if self.down:
            return Response("down", status=503)
        self.received.append(json.loads(request.get_data(as_text=True)))
        return Response("{}", status=200)


@pytest.fixture(scope="module")
def night():
    now = clock.now()
    return demo_data.generate(now, ZONE), review_data.generate_reviews(now, ZONE), now


def watch_at(config, night, at: str, port: int):
    """One watch round with the demo sites showing only what was published by `at` on the demo night."""
    from flows.run import outcome_of
    from flows.watch import watch

    items, reviews, now = night
    until = demo_data.replay_time(now, ZONE, at)
    shown_items, shown_reviews = demo_data.as_of(items, reviews, until)
    with demo_server.serve(shown_items, shown_reviews, port=port):
        state = watch(config_path=str(config), until=until.isoformat(), return_state=True)
    return state, outcome_of(state)


def test_the_incident_is_pushed_once_when_it_starts_and_once_when_it_ends(prefect_harness, night, tmp_path,
                                                                          monkeypatch, caplog):
    receiver = Receiver()
    monkeypatch.setenv("REPWATCH_DEMO_NOTIFY", receiver.url)  # the environment wins over the demo's file
    with demo_server.serve([], []) as probe:  # a free port for the replayed sites, the same every round
        port = int(probe.rsplit(":", 1)[1])
    config = write_demo_config(tmp_path, f"http://127.0.0.1:{port}")
    caplog.set_level(logging.DEBUG)

    state, data = watch_at(config, night, "21:45", port)  # before the outage: the first round backfills, nothing to say
    assert state.is_completed(), state.message
    assert receiver.received == []
    for at in ("22:15", "22:45", "23:15"):
        state, data = watch_at(config, night, at, port)
        assert state.is_completed(), state.message
    assert len(receiver.received) == 1, [m["title"] for m in receiver.received]  # exactly one, by 23:15 at the latest
    first = receiver.received[0]
    assert first["title"] == "[HIGH] Parcelly: mentions rising", first
    assert "were expected, since 22:00." in first["message"] and "Run: http://127.0.0.1:" in first["message"]
    assert first["message"].count("\n- \u201c") == 2  # two example posts, each with its link

    for at in ("23:45", "23:45"):  # later rounds, and a rerun of one: nothing new
        watch_at(config, night, at, port)
    assert len(receiver.received) == 1

    receiver.down = True  # long after the outage: its "back to normal" is due, and the chat is down
    state, data = watch_at(config, night, "07:30", port)
    assert state.is_failed() and len(data.pushed.failed) == 1
    assert "JSON" in data.pushed.failed[0] and TOKEN not in data.pushed.failed[0]
    receiver.down = False
    state, data = watch_at(config, night, "07:30", port)  # the next round sends it, once
    assert state.is_completed(), state.message
    watch_at(config, night, "07:45", port)
    assert [m["title"].split(":")[0] for m in receiver.received] == ["[HIGH] Parcelly", "Back to normal"], [
        (m["title"], m["message"]) for m in receiver.received]
    assert "Back to normal since 0" in receiver.received[1]["message"]

    con = store.connect(config.parent / "demo.duckdb", read_only=True)
    try:
        rows = con.execute("SELECT kind, state, services, attempts FROM pushes ORDER BY created_at").fetchall()
        assert [(k, s, svc) for k, s, svc, _ in rows] == [("opened", "sent", "JSON"), ("ended", "sent", "JSON")]
        assert [attempts for *_, attempts in rows] == [1, 2]
    finally:
        con.close()
    # The token is nowhere: not in the database, the outbox, the logs, Prefect's records of the runs.
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "demo-credentials.json":
            assert TOKEN.encode() not in path.read_bytes(), path
    assert TOKEN not in caplog.text
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:  # Prefect's own records of the runs: logs, parameters, states
        records, offset = [], 0
        while page := client.read_logs(limit=200, offset=offset):
            records += [log.message for log in page]
            offset += len(page)
        records += [f"{run.parameters} {run.state.message if run.state else ''}" for run in client.read_flow_runs()]
        records += [str(a.data) for a in client.read_artifacts()]
    assert records and not [r for r in records if TOKEN in r]
    receiver.server.stop()


def test_a_push_interrupted_while_sending_is_sent_again_and_says_so(tmp_path):
    from flows.tasks.pushing import INTERRUPTED_NOTE

    con = store.connect(tmp_path / "p.duckdb")
    store.record_pushes(con, [{"push_id": "a|support|opened", "alert_id": "a", "brand": "Acme", "group": "support",
                               "kind": "opened", "severity": "high", "peak": 40.0, "title": "[HIGH] Acme",
                               "body": "40 mentions", "services": "Slack"}], run_id="r1")
    store.mark_push(con, "a|support|opened", "sending")  # ... and the run was killed here
    assert store.take_interrupted_pushes(con) == ["a|support|opened"]
    assert [(r["push_id"], r["state"]) for r in store.pushes_to_send(con)] == [("a|support|opened", "interrupted")]
    assert INTERRUPTED_NOTE.startswith("(sent again")
    # Recording it again (a rerun) changes nothing.
    assert store.record_pushes(con, [{"push_id": "a|support|opened", "alert_id": "a", "brand": "Acme",
                                      "group": "support", "kind": "opened", "severity": "high", "peak": 1.0,
                                      "title": "x", "body": "y"}], run_id="r2") == 0
    con.close()


UTC = timezone.utc
T = datetime(2026, 12, 1, 22, 15, tzinfo=UTC)


def alert(**over):
    base = {"alert_id": "Acme|all|mentions|2026-12-01T22:00:00+00:00", "brand": "Acme", "severity": "high",
            "ongoing": True, "observed": 40.0, "details": {"peak": 20.0}}
    return {**base, **over}


def test_push_planning_one_incident_one_push():
    group = pushes.PushGroup("support", None)
    planned = pushes.plan_pushes([alert()], [group], {}, T, UTC)
    assert [p["kind"] for p in planned] == ["opened"]
    recorded = {planned[0]["push_id"]: {"peak": 20.0, "severity": "high"}}
    assert pushes.plan_pushes([alert(details={"peak": 150.0})], [group], recorded, T, UTC) == []
    worse = pushes.plan_pushes([alert(details={"peak": 200.0})], [group], recorded, T, UTC)
    assert [p["kind"] for p in worse] == ["escalated-1"]
    graver = pushes.plan_pushes([alert(severity="high")], [group], {planned[0]["push_id"]: {"peak": 20.0,
                                                                                           "severity": "medium"}}, T, UTC)
    assert [p["kind"] for p in graver] == ["escalated-1"]
    ended = pushes.plan_pushes([alert(ongoing=False)], [group], recorded, T, UTC)
    assert [p["kind"] for p in ended] == ["ended"]
    assert pushes.plan_pushes([alert(ongoing=False)], [group], {**recorded, ended[0]["push_id"]: {}}, T, UTC) == []
    # A group that does not follow the brand hears nothing; an incident over before anyone pushed it neither.
    assert pushes.plan_pushes([alert()], [pushes.PushGroup("x", frozenset({"Rival"}))], {}, T, UTC) == []
    assert pushes.plan_pushes([alert(ongoing=False)], [group], {}, T, UTC) == []


def test_quiet_hours_hold_all_but_high_alerts():
    quiet = pushes.PushGroup("support", None, pushes.parse_quiet_hours("22:00-07:00"))
    assert pushes.plan_pushes([alert(severity="low")], [quiet], {}, T, UTC) == []
    assert [p["kind"] for p in pushes.plan_pushes([alert()], [quiet], {}, T, UTC)] == ["opened"]
    assert [p["kind"] for p in pushes.plan_pushes([alert(severity="low")], [quiet], {},
                                                  T - timedelta(hours=3), UTC)] == ["opened"]
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        pushes.parse_quiet_hours("late")


def test_delivery_errors_never_carry_the_token():
    from reports import notify

    receiver = Receiver()
    notify.send([receiver.url], "[HIGH] Acme", "body")
    assert receiver.received[-1]["title"] == "[HIGH] Acme"
    receiver.down = True
    with pytest.raises(notify.DeliveryError) as error:
        notify.send([receiver.url], "[HIGH] Acme", "body")
    receiver.server.stop()
    with pytest.raises(notify.DeliveryError) as refused:
        notify.send([receiver.url], "[HIGH] Acme", "body")
    for exc in (error.value, refused.value):
        assert TOKEN not in str(exc) and str(exc).startswith("JSON")
    assert notify.service_names([receiver.url, "slack://a/b/c"]) == "JSON, Slack"


def test_one_outage_is_one_incident_across_its_alerts():
    """Outside quiet hours the negative mentions rise first (LOW), the volume follows (HIGH): one push, one escalation."""
    group = pushes.PushGroup("support", None)
    hour = timedelta(hours=1)
    negative = {"alert_id": "Acme|all|negative|22", "brand": "Acme", "severity": "low", "ongoing": True,
                "observed": 6.0, "details": {"peak": 4.0}, "incident_start": T - 2 * hour,
                "last_bucket": T - hour, "bucket_seconds": 3600}
    first = pushes.plan_pushes([negative], [group], {}, T, UTC)
    assert [(p["kind"], p["severity"]) for p in first] == [("opened", "low")]
    recorded = {first[0]["push_id"]: {"peak": 4.0, "severity": "low"}}
    volume = {**negative, "alert_id": "Acme|all|mentions|22", "severity": "high", "observed": 61.0,
              "details": {"peak": 30.0}, "incident_start": T - hour, "last_bucket": T}
    later = pushes.plan_pushes([negative, volume], [group], recorded, T + hour, UTC)
    assert [(p["push_id"], p["severity"]) for p in later] == [("Acme|all|negative|22|support|escalated-1", "high")]
    assert later[0]["alert"] is volume  # the message is the HIGH alert's
    recorded[later[0]["push_id"]] = {"peak": 30.0, "severity": "high"}
    assert pushes.plan_pushes([negative, volume], [group], recorded, T + hour, UTC) == []
    # The negative alert is over while the volume goes on: no "back to normal" yet; then one, when all is over.
    assert pushes.plan_pushes([{**negative, "ongoing": False}, volume], [group], recorded, T + hour, UTC) == []
    over = pushes.plan_pushes([{**negative, "ongoing": False}, {**volume, "ongoing": False}], [group], recorded,
                              T + 5 * hour, UTC)
    assert [(p["push_id"], p["alert"]["alert_id"]) for p in over] == [
        ("Acme|all|negative|22|support|ended", "Acme|all|mentions|22")]
    # Another brand's alert at the same time is another incident.
    rival = {**volume, "alert_id": "Rival|all|mentions|22", "brand": "Rival"}
    assert [p["push_id"] for p in pushes.plan_pushes([rival], [group], recorded, T + hour, UTC)] == [
        "Rival|all|mentions|22|support|opened"]


def test_a_rise_after_an_incident_ended_is_a_new_incident_and_a_burst_inside_one_is_pushed_once():
    group = pushes.PushGroup("support", None)
    hour = timedelta(hours=1)
    first = {"alert_id": "Acme|all|mentions|22", "brand": "Acme", "severity": "high", "ongoing": False,
             "observed": 60.0, "details": {"peak": 30.0}, "incident_start": T - 6 * hour,
             "last_bucket": T - 4 * hour, "bucket_seconds": 3600}
    recorded = {"Acme|all|mentions|22|support|opened": {"peak": 30.0, "severity": "high"},
                "Acme|all|mentions|22|support|ended": {}}
    # Two hours after the first was over (and said so), a new rise: its own "opened", not folded into the old one.
    second = {**first, "alert_id": "Acme|all|mentions|04", "ongoing": True, "incident_start": T - hour,
              "last_bucket": T}
    assert [p["push_id"] for p in pushes.plan_pushes([first, second], [group], recorded, T, UTC)] == [
        "Acme|all|mentions|04|support|opened"]
    # A much worse rise the detector found inside an open incident: pushed once, as itself, "got much worse".
    opened = {**first, "ongoing": False, "last_bucket": T - 2 * hour}
    burst = {**second, "alert_id": "Acme|all|mentions|burst", "incident_start": T - hour, "details": {
        "peak": 90.0, "escalated_from": (T - 6 * hour).isoformat()}}
    recorded = {"Acme|all|mentions|22|support|opened": {"peak": 30.0, "severity": "high"}}
    planned = pushes.plan_pushes([opened, burst], [group], recorded, T, UTC)
    assert [p["push_id"] for p in planned] == ["Acme|all|mentions|burst|support|escalated-1"]
    recorded[planned[0]["push_id"]] = {"peak": 90.0, "severity": "high"}
    assert pushes.plan_pushes([opened, burst], [group], recorded, T, UTC) == []
    # When the burst is over too, the incident is: one "back to normal", on the incident first pushed.
    assert [p["push_id"] for p in pushes.plan_pushes([opened, {**burst, "ongoing": False}], [group], recorded,
                                                     T + hour, UTC)] == ["Acme|all|mentions|22|support|ended"]
