"""Store round trips on an in-memory database, comparing whole rows."""
from datetime import datetime, timedelta, timezone

import pytest

from analysis import clock, store

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
    assert store.fetch_unscored(con) == [("hackernews", "1", "Acme", "Fixed now, thanks", None, None)]


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
    store.record_digest(con, "2026-11-24", "support", T0, T0 + timedelta(days=1), paths, "r1", to_send=True)
    assert [d["delivery"] for d in store.pending_digests(con)] == ["pending"]
    store.mark_digest_sent(con, "2026-11-24", "support")
    d = store.get_digest(con, "2026-11-24", "support")
    assert (d["html_path"], d["send_count"]) == ("a.html", 1) and d["sent_at"] is not None


# -- reviews and their replies -------------------------------------------------------

def review(external_id, hours=0, rating=1.0, replied=False, **kw):
    return row(external_id, hours * 60, text="Parcel lost, no answer", source="trustpilot", kind="review",
               rating=rating, replied=replied, url=f"https://tp.example/reviews/{external_id}", **kw)


def reply_state(con, external_id):
    return con.execute("SELECT replied, reply_text, replied_at FROM mentions WHERE external_id = ?",
                       [external_id]).fetchone()


def test_a_reply_seen_on_a_later_fetch_updates_the_review_and_dates_it(con):
    store.save_mentions(con, "Acme", "trustpilot", "acme.example", [review("r1"), review("r2")], run_id="run1")
    replied_at = T0 + timedelta(days=2)
    again = store.save_mentions(con, "Acme", "trustpilot", "acme.example", [
        review("r1", replied=True, reply_text="Sorry, we found it.", replied_at=replied_at),
        review("r2", replied=True, reply_text="We are on it."),  # the source gives no reply date
    ], run_id="run2")
    assert again == store.SaveResult(received=2, new=0, updated=2)
    assert store.count_mentions(con) == 2
    assert reply_state(con, "r1") == (True, "Sorry, we found it.", datetime(2026, 11, 25, 22, 0))
    replied2, text2, seen_at = reply_state(con, "r2")
    fetched = clock.now().replace(tzinfo=None)  # the store's clock: REPWATCH_NOW moves it
    assert (replied2, text2) == (True, "We are on it.") and abs(seen_at - fetched) < timedelta(minutes=5)  # by the fetch
    # A later fetch that says nothing about replies (None) keeps what is known; one that shows the reply gone clears it.
    store.save_mentions(con, "Acme", "trustpilot", "acme.example", [review("r1", replied=None)], run_id="run3")
    assert reply_state(con, "r1") == (True, "Sorry, we found it.", datetime(2026, 11, 25, 22, 0))
    store.save_mentions(con, "Acme", "trustpilot", "acme.example", [review("r1", replied=False)], run_id="run4")
    assert reply_state(con, "r1") == (False, None, None)


def test_a_review_first_seen_answered_without_a_date_has_no_reply_time(con):
    store.save_mentions(con, "Acme", "schemaorg", "p", [review("r1", replied=True, reply_text="Thanks")], run_id="run1")
    assert reply_state(con, "r1") == (True, "Thanks", None)  # we never saw it unanswered: the wait is unknown


def test_changed_stars_are_scored_again(con):
    store.save_mentions(con, "Acme", "trustpilot", "t", [review("r1", rating=1.0)], run_id="run1")
    store.save_scores(con, [{"source": "trustpilot", "external_id": "r1", "brand": "Acme", "compound": -0.5,
                             "pos": 0.0, "neu": 0.5, "neg": 0.5, "label": "negative", "rated_label": "negative"}])
    store.save_mentions(con, "Acme", "trustpilot", "t", [review("r1", rating=4.0)], run_id="run2")
    assert [r[1] for r in store.fetch_unscored(con)] == ["r1"]


def _scored(con, labels):
    store.save_scores(con, [{"source": "trustpilot", "external_id": e, "brand": "Acme", "compound": -0.6, "pos": 0.0,
                             "neu": 0.4, "neg": 0.6, "label": "negative", "rated_label": lab} for e, lab in labels])


def test_awaiting_reply_lists_unanswered_negative_reviews_oldest_first(con):
    rows = [review("old", 1), review("newer", 20), review("answered", 2, replied=True, replied_at=T0 + timedelta(hours=5)),
            review("happy", 3, rating=5.0), review("unknown", 4, replied=None), review("newest", 30)]
    store.save_mentions(con, "Acme", "trustpilot", "t", rows, run_id="run1")
    _scored(con, [("old", "negative"), ("newer", "negative"), ("answered", "negative"), ("happy", "positive"),
                  ("unknown", "negative"), ("newest", "negative")])
    end = T0 + timedelta(days=2)
    waiting, total = store.awaiting_reply(con, ["Acme"], T0 - timedelta(days=30), end, limit=2)
    assert [r["external_id"] for r in waiting] == ["old", "newer"] and total == 3
    assert waiting[0]["published_at"] == T0 + timedelta(hours=1) and waiting[0]["rating"] == 1.0
    assert store.awaiting_reply(con, ["Rival"], T0 - timedelta(days=30), end) == ([], 0)


def test_reply_kpis_count_answerable_reviews_and_the_median_wait(con):
    rows = [review("a", 0, replied=True, replied_at=T0 + timedelta(hours=2)),
            review("b", 0, replied=True, replied_at=T0 + timedelta(hours=6)),
            review("c", 1), review("d", 1, replied=None)]
    store.save_mentions(con, "Acme", "trustpilot", "t", rows, run_id="run1")
    kpis = store.reply_kpis(con, ["Acme", "Rival"], T0, T0 + timedelta(days=1))
    assert kpis == {"Acme": {"answerable": 3, "answered": 2, "median_reply_seconds": 4 * 3600.0},
                    "Rival": {"answerable": 0, "answered": 0, "median_reply_seconds": None}}


def test_stated_ratings_come_from_the_cursor_state(con):
    store.save_mentions(con, "Acme", "trustpilot", "acme.example", [review("r1")], run_id="run1",
                        state={"aggregate": {"rating": 4.2, "count": 1234, "best": 5}})
    (stated,) = store.aggregate_ratings(con, ["Acme"])
    assert (stated["source"], stated["target"], stated["rating"], stated["count"]) == ("trustpilot", "acme.example", 4.2, 1234)


def test_history_starts_is_each_brands_earliest_mention(con):
    store.save_mentions(con, "Acme", "hackernews", "Acme", [row("1", 90), row("2", -600), row("3", 30)], run_id="r1")
    store.save_mentions(con, "Rival", "hackernews", "Rival", [row("9", 5)], run_id="r1")
    assert store.history_starts(con, ["Acme", "Rival", "Nobody"]) == {
        "Acme": T0 - timedelta(minutes=600), "Rival": T0 + timedelta(minutes=5)}
    assert store.history_starts(con, []) == {}


WHOLE_ROW = ("SELECT source, external_id, brand, target, kind, published_at, url, title, author, text, rating, "
             "replied, reply_text, replied_at, raw, first_run_id, compound, label FROM mentions ORDER BY ALL")


def _fetches():
    """Two runs of four sources: a new and a known mention, a review answered later, a feed item two targets
    of one brand both carry, a source that brought nothing, and another brand."""
    first = [store.SourceRows("Acme", "hackernews", "Acme", [row("1"), row("2", 5)], {"p": 1}),
             store.SourceRows("Acme", "trustpilot", "acme.example", [review("r1")], {"stated": 4.1}),
             store.SourceRows("Acme", "feed", "a.xml", [row("f1", source="feed")]),
             store.SourceRows("Rival", "hackernews", "Rival", [row("1")])]
    second = [store.SourceRows("Acme", "hackernews", "Acme", [row("2", 5, text="edited"), row("3", 9)], {"p": 2}),
              store.SourceRows("Acme", "trustpilot", "acme.example",
                               [review("r1", replied=True, reply_text="Sorry", replied_at=T0 + timedelta(days=1))]),
              store.SourceRows("Acme", "feed", "a.xml", [row("f1", source="feed"), row("f2", 3, source="feed")]),
              store.SourceRows("Acme", "feed", "b.xml", [row("f2", 3, source="feed")]),
              store.SourceRows("Rival", "hackernews", "Rival", [])]
    return first, second


def test_a_batch_stores_what_source_by_source_stores(con):
    one_by_one = store.connect(":memory:")
    try:
        results = {}
        for run, fetches in zip(("run1", "run2"), _fetches()):
            results[run] = (store.save_mention_batch(con, fetches, run_id=run),
                            [store.save_mentions(one_by_one, f.brand, f.source, f.target, f.rows, run_id=run,
                                                 state=f.state) for f in fetches])
        cursors = "SELECT brand, source, target, watermark, state, run_id FROM cursors ORDER BY ALL"
        assert con.execute(WHOLE_ROW).fetchall() == one_by_one.execute(WHOLE_ROW).fetchall()
        assert con.execute(cursors).fetchall() == one_by_one.execute(cursors).fetchall()
        for run, (batched, single) in results.items():
            assert batched == single, run
        assert results["run2"][0][2:4] == [store.SaveResult(2, 1, 1), store.SaveResult(1, 0, 1)]
    finally:
        one_by_one.close()


def test_a_batch_with_its_scores_is_one_transaction(con):
    score = {"source": "hackernews", "external_id": "1", "brand": "Acme", "compound": -0.5, "pos": 0.0, "neu": 0.5,
             "neg": 0.5, "label": "negative", "rated_label": "negative"}
    store.save_mention_batch(con, [store.SourceRows("Acme", "hackernews", "Acme", [row("1")])], run_id="r1",
                             scores=[score])
    assert con.execute("SELECT label FROM mentions").fetchall() == [("negative",)]
    bad = store.SourceRows("Acme", "hackernews", "Acme", [row("2"), row(None)])  # a key the store refuses
    with pytest.raises(Exception):
        store.save_mention_batch(con, [store.SourceRows("Acme", "feed", "a.xml", [row("f1", source="feed")]), bad],
                                 run_id="r2")
    assert store.count_mentions(con) == 1  # nothing of the failed batch, the good source's rows included
    assert store.get_cursor(con, "Acme", "feed", "a.xml") == store.Cursor(None, {})


def test_a_plan_reads_every_targets_cursor_and_oldest_waiting_review_at_once(con):
    store.save_mentions(con, "Acme", "trustpilot", "t", [review("old", 1), review("newer", 20)], run_id="r1",
                        state={"page": 3})
    store.save_mentions(con, "Acme", "trustpilot", "u", [review("answered", 2, replied=True)], run_id="r1")
    _scored(con, [("old", "negative"), ("newer", "negative"), ("answered", "negative")])
    keys = [("Acme", "trustpilot", "t"), ("Acme", "trustpilot", "u"), ("Rival", "feed", "never fetched")]
    cursors = store.get_cursors(con, keys)
    assert cursors == {keys[0]: store.Cursor(T0 + timedelta(hours=20), {"page": 3}),
                       keys[1]: store.Cursor(T0 + timedelta(hours=2), {}), keys[2]: store.Cursor(None, {})}
    assert store.oldest_awaiting_replies(con, keys, T0 - timedelta(days=30)) == {
        keys[0]: T0 + timedelta(hours=1), keys[1]: None, keys[2]: None}
    assert store.oldest_awaiting_replies(con, keys, T0 + timedelta(hours=5)) == {
        keys[0]: T0 + timedelta(hours=20), keys[1]: None, keys[2]: None}
    assert cursors[keys[0]] == store.get_cursor(con, *keys[0])
