"""A reply posted days after a review reaches the store: the next fetch reaches back to the oldest waiting review."""
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from werkzeug import Response

from analysis import store
from flows.tasks.fetch import FetchJob, fetch_mentions, fetch_window_start
from scrapers.http import HttpSettings

from conftest import fixture_bytes

UTC = timezone.utc
SETTINGS = HttpSettings(pace_seconds=0, max_retries=0)
JOB = FetchJob("Acme", "trustpilot", "acme.example")
_NEXT_DATA = re.compile(r'(<script id="__NEXT_DATA__" type="application/json">)(.*?)(</script>)', re.S)


def later_page(replied: bool) -> bytes:
    """Page 1 on a later night: a newer review came in, and the 1-star review may have the business's answer."""
    html = fixture_bytes("trustpilot", "review-page1.html").decode()
    data = json.loads(_NEXT_DATA.search(html).group(2))
    reviews = data["props"]["pageProps"]["reviews"]
    if replied:
        reviews[0]["reply"] = {"message": "We refunded the second charge.", "publishedDate": "2026-11-26T08:00:00.000Z"}
    newer = json.loads(json.dumps(reviews[1]))
    newer.update(id="68a000000000000000000004", rating=4, reply=None,
                 dates={**newer["dates"], "publishedDate": "2026-11-28T10:00:00.000Z"})
    data["props"]["pageProps"]["reviews"] = [newer] + reviews
    data["props"]["pageProps"]["filters"]["pagination"]["totalPages"] = 1
    return _NEXT_DATA.sub(lambda m: m.group(1) + json.dumps(data) + m.group(3), html).encode()


@pytest.fixture
def site(httpserver):
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    pages = {"body": fixture_bytes("trustpilot", "review-page1.html")}
    pages["body"] = pages["body"].replace(b'"totalPages": 2', b'"totalPages": 1')
    httpserver.expect_request("/review/acme.example").respond_with_handler(
        lambda request: Response(pages["body"], content_type="text/html"))
    return httpserver, pages


def night(con, httpserver, now, revisit: bool) -> None:
    job = FetchJob(JOB.brand, JOB.source, JOB.target, base_url=httpserver.url_for("/"))
    cursor = store.get_cursor(con, job.brand, job.source, job.target)
    waiting = store.oldest_awaiting_reply(con, job.brand, job.source, job.target, now - timedelta(days=30))
    start = fetch_window_start(cursor, now, None, 60, waiting if revisit else None)
    result = fetch_mentions(job, start, cursor.state, SETTINGS)
    store.save_mentions(con, job.brand, job.source, job.target, result.rows, run_id=now.isoformat(), state=result.state)
    # What the scoring task decides for these: the stars.
    store.save_scores(con, [{"source": s, "external_id": e, "brand": b, "compound": -0.5, "pos": 0, "neu": 0.5, "neg": 0.5,
                             "label": "negative", "rated_label": "negative" if r <= 2 else "positive"}
                            for s, e, b, _, r, _language in store.fetch_unscored(con)])


@pytest.mark.parametrize("revisit", [True, False])
def test_a_late_reply_takes_the_review_out_of_the_queue(site, revisit):
    httpserver, pages = site
    con = store.connect(":memory:")
    night(con, httpserver, datetime(2026, 11, 24, 6, tzinfo=UTC), revisit)
    queue, _ = store.awaiting_reply(con, ["Acme"], datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    assert [r["external_id"] for r in queue] == ["68a000000000000000000003"]

    pages["body"] = later_page(replied=False)  # a newer review moves the cursor past the waiting one
    night(con, httpserver, datetime(2026, 11, 28, 12, tzinfo=UTC), revisit)
    pages["body"] = later_page(replied=True)
    night(con, httpserver, datetime(2026, 11, 29, 6, tzinfo=UTC), revisit)
    queue, _ = store.awaiting_reply(con, ["Acme"], datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    state = con.execute("SELECT replied, replied_at FROM mentions WHERE external_id = '68a000000000000000000003'").fetchone()
    assert store.count_mentions(con) == 3
    if revisit:
        assert queue == [] and state == (True, datetime(2026, 11, 26, 8, 0))
    else:  # the control: a window from the cursor alone never sees the reply
        assert len(queue) == 1 and state == (False, None)


def test_window_reaches_back_only_as_far_as_needed():
    cursor = store.Cursor(datetime(2026, 11, 28, tzinfo=UTC), {})
    until = datetime(2026, 11, 29, tzinfo=UTC)
    assert fetch_window_start(cursor, until, None, 60) == datetime(2026, 11, 27, 22, tzinfo=UTC)
    assert fetch_window_start(cursor, until, None, 60, datetime(2026, 11, 20, tzinfo=UTC)) == datetime(2026, 11, 20, tzinfo=UTC)
    assert fetch_window_start(cursor, until, None, 60, datetime(2026, 11, 28, 12, tzinfo=UTC)) == datetime(2026, 11, 27, 22, tzinfo=UTC)
    explicit = datetime(2026, 11, 25, tzinfo=UTC)
    assert fetch_window_start(cursor, until, explicit, 60, datetime(2026, 11, 1, tzinfo=UTC)) == explicit
