"""Store round trips on an in-memory database, comparing whole rows."""
from datetime import datetime, timedelta, timezone

import pytest

from analysis import store

UTC = timezone.utc
T0 = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)


@pytest.fixture
def con():
    c = store.connect(":memory:")
    yield c
    c.close()


def row(external_id, minutes=0, text="Acme app is broken", **kw):
    base = {"source": "hackernews", "external_id": external_id, "published_at": T0 + timedelta(minutes=minutes),
            "text": text, "url": f"https://news.ycombinator.com/item?id={external_id}", "title": None,
            "author": "a", "kind": "comment", "rating": None, "replied": None, "language": None, "raw": {"id": external_id}}
    return {**base, **kw}


def test_migrations_are_idempotent(con):
    assert store.ensure_db_shape(con) == []
    assert con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 1


def test_save_then_read_whole_row(con):
    result = store.save_mentions(con, "Acme", "hackernews", "Acme", [row("1")], run_id="r1", state={"p": 1})
    assert result == store.SaveResult(received=1, new=1, updated=0)
    got = con.execute(
        "SELECT source, external_id, brand, target, kind, published_at, url, title, author, text, rating, replied, "
        "raw, first_run_id, compound FROM mentions").fetchall()
    assert got == [("hackernews", "1", "Acme", "Acme", "comment", datetime(2026, 11, 23, 22, 0),
                    "https://news.ycombinator.com/item?id=1", None, "a", "Acme app is broken", None, None,
                    '{"id": "1"}', "r1", None)]
    cursor = store.get_cursor(con, "Acme", "hackernews", "Acme")
    assert cursor == store.Cursor(T0, {"p": 1})


def test_rerun_adds_no_duplicates_and_keeps_first_seen(con):
    store.save_mentions(con, "Acme", "hackernews", "Acme", [row("1"), row("2", 5)], run_id="r1")
    first_seen = con.execute("SELECT first_seen_at FROM mentions WHERE external_id = '1'").fetchone()[0]
    again = store.save_mentions(con, "Acme", "hackernews", "Acme", [row("1"), row("2", 5), row("2", 5)], run_id="r2")
    assert again == store.SaveResult(received=2, new=0, updated=2)
    assert store.count_mentions(con) == 2
    assert con.execute("SELECT first_seen_at, first_run_id FROM mentions WHERE external_id = '1'").fetchone() == (first_seen, "r1")


def test_same_item_for_two_brands_is_two_mentions(con):
    store.save_mentions(con, "Acme", "hackernews", "Acme", [row("1")], run_id="r1")
    store.save_mentions(con, "Rival", "hackernews", "Rival", [row("1")], run_id="r1")
    assert store.count_mentions(con) == 2


def test_edited_text_is_scored_again(con):
    store.save_mentions(con, "Acme", "hackernews", "Acme", [row("1")], run_id="r1")
    store.save_scores(con, [{"source": "hackernews", "external_id": "1", "brand": "Acme", "compound": -0.5,
                             "pos": 0.0, "neu": 0.5, "neg": 0.5, "label": "negative"}])
    assert store.fetch_unscored(con) == []
    store.save_mentions(con, "Acme", "hackernews", "Acme", [row("1")], run_id="r2")
    assert store.fetch_unscored(con) == []  # same text: score kept
    store.save_mentions(con, "Acme", "hackernews", "Acme", [row("1", text="Fixed now, thanks")], run_id="r3")
    assert store.fetch_unscored(con) == [("hackernews", "1", "Acme", "Fixed now, thanks", None)]


def test_cursor_never_moves_past_uncommitted_rows(con):
    store.save_mentions(con, "Acme", "hackernews", "Acme", [row("1")], run_id="r1", state={"etag": "a"})
    bad = [row("2", 60), row("3", 120, published_at=None)]  # NOT NULL violation inside the transaction
    with pytest.raises(Exception):
        store.save_mentions(con, "Acme", "hackernews", "Acme", bad, run_id="r2", state={"etag": "b"})
    assert store.get_cursor(con, "Acme", "hackernews", "Acme") == store.Cursor(T0, {"etag": "a"})
    assert store.count_mentions(con) == 1


def test_cursor_never_goes_backwards(con):
    store.save_mentions(con, "Acme", "feed", "u", [row("1", 60)], run_id="r1")
    store.save_mentions(con, "Acme", "feed", "u", [row("0", 0)], run_id="r2")
    assert store.get_cursor(con, "Acme", "feed", "u").watermark == T0 + timedelta(minutes=60)


def test_alerts_are_stored_once_per_incident(con):
    alert = {"alert_id": "Acme|all|mentions|x", "brand": "Acme", "source": "all", "metric": "mentions",
             "bucket_seconds": 3600, "incident_start": T0, "last_bucket": T0, "observed": 30, "expected": 3,
             "significance": 12.0, "severity": "high", "ongoing": True, "details": {"terms": ["login"]}}
    assert store.save_alerts(con, [alert], "r1") == ["Acme|all|mentions|x"]
    later = {**alert, "last_bucket": T0 + timedelta(hours=2), "observed": 45, "ongoing": False}
    assert store.save_alerts(con, [later], "r2") == []
    (saved,) = store.alerts_between(con, ["Acme"], T0, T0 + timedelta(days=1))
    assert (saved["observed"], saved["ongoing"], saved["first_run_id"], saved["details"]) == (45, False, "r1", {"terms": ["login"]})


def test_bucket_series_counts_per_bucket(con):
    store.save_mentions(con, "Acme", "hackernews", "Acme", [row("1", 0), row("2", 30), row("3", 90)], run_id="r1")
    series = store.bucket_series(con, "Acme", T0, T0 + timedelta(hours=3), 3600)
    assert series["count"].tolist() == [2.0, 1.0, 0.0]


def test_digest_recorded_once_per_period(con):
    paths = {"html": "a.html", "text": "a.txt", "eml": "a.eml"}
    assert store.get_digest(con, "2026-11-24", "support") is None
    store.record_digest(con, "2026-11-24", "support", T0, T0 + timedelta(days=1), paths, "r1")
    store.mark_digest_sent(con, "2026-11-24", "support")
    d = store.get_digest(con, "2026-11-24", "support")
    assert (d["html_path"], d["send_count"]) == ("a.html", 1) and d["sent_at"] is not None
