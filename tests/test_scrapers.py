"""Parsers on the project's fixtures (and ../shared's real payloads when present); paging through a real local server."""
import json
from datetime import datetime, timezone

import pytest

from scrapers.base import Mention, Page, ParseError, html_to_text
from scrapers.registry import get_scraper
from scrapers.feeds import FeedScraper, unwrap_redirect
from scrapers.hackernews import HackerNewsScraper
from scrapers.http import HttpSettings, PoliteSession

from conftest import fixture_bytes, shared_dir

UTC = timezone.utc


def page(body: bytes, url: str = "http://test/x", **kw) -> Page:
    return Page(url=url, status=200, body=body, **kw)


def test_hackernews_parses_comments_and_stories_whole():
    m = list(HackerNewsScraper().parse(page(fixture_bytes("hackernews", "search_by_date-page0.json"))))
    raw_comment = json.loads(fixture_bytes("hackernews", "search_by_date-page0.json"))["hits"][0]
    del raw_comment["_highlightResult"]
    assert m[0] == Mention(
        source="hackernews", external_id="41000010",
        published_at=datetime(2026, 11, 23, 22, 15, tzinfo=UTC),
        text="Acme's login has been broken since the update & support is silent.\nSee status page",
        url="https://news.ycombinator.com/item?id=41000010", title="Acme raises prices again", author="mkl",
        kind="comment", raw=raw_comment,
    )
    assert (m[1].kind, m[1].title, m[1].text, m[1].external_id) == ("story", "Acme raises prices again", "", "41000001")


def test_hackernews_story_text_is_plain_text():
    (m,) = HackerNewsScraper().parse(page(fixture_bytes("hackernews", "search_by_date-page1.json")))
    assert m.text == "I'm thinking of switching to Acme.\nAny experience?"
    assert m.full_text.startswith("Ask HN: Is Acme worth it?. I'm")


def test_hackernews_changed_shape_raises():
    with pytest.raises(ParseError, match="no `hits`"):
        list(HackerNewsScraper().parse(page(fixture_bytes("hackernews", "changed-shape.json"))))
    with pytest.raises(ParseError, match="not JSON"):
        list(HackerNewsScraper().parse(page(b"<html>rate limited</html>")))


def test_hackernews_pages_until_nbpages_with_cursor_filter(httpserver):
    base = httpserver.url_for("/api/v1")
    since = datetime(2026, 11, 20, tzinfo=UTC)
    common = {"query": "Acme", "tags": "(story,comment)", "hitsPerPage": "2",
              "numericFilters": f"created_at_i>{int(since.timestamp())}"}
    httpserver.expect_ordered_request("/api/v1/search_by_date", query_string={**common, "page": "0"}).respond_with_data(
        fixture_bytes("hackernews", "search_by_date-page0.json"), content_type="application/json")
    httpserver.expect_ordered_request("/api/v1/search_by_date", query_string={**common, "page": "1"}).respond_with_data(
        fixture_bytes("hackernews", "search_by_date-page1.json"), content_type="application/json")
    scraper = HackerNewsScraper(base_url=base, hits_per_page=2, http=PoliteSession(HttpSettings(pace_seconds=0)))
    pages = list(scraper.pages("Acme", since, {}))
    ids = [m.external_id for p in pages for m in scraper.parse(p)]
    assert ids == ["41000010", "41000001", "40999990"]
    httpserver.check_assertions()


def test_hackernews_continues_past_algolias_paging_cap(httpserver):
    """nbHits above what paging reaches: the next window asks for what is older than the oldest seen."""
    def story(object_id, ts):
        return {"objectID": object_id, "created_at_i": ts, "_tags": ["story"], "title": f"t{object_id}", "author": "a"}
    first = {"hits": [story("100", 1_700_000_100), story("99", 1_700_000_090)], "nbHits": 3, "nbPages": 1, "page": 0}
    oldest = 1_700_000_090
    second = {"hits": [story("50", 1_700_000_050)], "nbHits": 1, "nbPages": 1, "page": 0}
    httpserver.expect_ordered_request("/search_by_date", query_string={"query": "q", "tags": "(story,comment)",
        "hitsPerPage": "2", "page": "0"}).respond_with_json(first)
    httpserver.expect_ordered_request("/search_by_date", query_string={"query": "q", "tags": "(story,comment)",
        "hitsPerPage": "2", "page": "0", "numericFilters": f"created_at_i<={oldest}"}).respond_with_json(second)
    scraper = HackerNewsScraper(base_url=httpserver.url_for("/"), hits_per_page=2,
                                http=PoliteSession(HttpSettings(pace_seconds=0)))
    got = [m.external_id for p in scraper.pages("q", None, {}) for m in scraper.parse(p)]
    assert got == ["100", "99", "50"]
    httpserver.check_assertions()


def test_google_alerts_links_are_unwrapped_and_text_is_plain():
    m = list(FeedScraper().parse(page(fixture_bytes("feeds", "google-alerts.atom"))))
    assert len(m) == 2
    assert m[0].url == "https://www.example-news.com/2026/11/acme-outage/"
    assert m[0].title == "Acme outage leaves customers unable to log in"
    assert m[0].text == "Customers of Acme said the app's login failed overnight ..."
    assert m[0].external_id == "tag:google.com,2013:googlealerts/feed:9000000000000000001"
    assert m[0].published_at == datetime(2026, 11, 24, 5, 10, tzinfo=UTC)


def test_google_news_title_loses_publisher_and_dates_are_utc():
    m = list(FeedScraper().parse(page(fixture_bytes("feeds", "google-news.rss"))))
    assert [x.title for x in m] == ["Acme fixes login bug after night of complaints", "Acme opens 40 new lockers in Lyon"]
    assert [x.author for x in m] == ["The Courier Times", "Retail Daily"]
    assert m[1].published_at == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert m[0].language == "en-US"


def test_a_page_that_is_not_a_feed_raises():
    with pytest.raises(ParseError, match="not a feed"):
        list(FeedScraper().parse(page(fixture_bytes("feeds", "not-a-feed.html"))))


def test_feed_conditional_get_keeps_etag_and_handles_304(httpserver):
    body = fixture_bytes("feeds", "google-alerts.atom")
    httpserver.expect_ordered_request("/alerts.xml").respond_with_data(body, headers={"ETag": '"v1"'})
    httpserver.expect_ordered_request("/alerts.xml", headers={"If-None-Match": '"v1"'}).respond_with_data("", status=304)
    scraper = FeedScraper(base_url=httpserver.url_for("/"), http=PoliteSession(HttpSettings(pace_seconds=0)))
    state = {}
    first = [m for p in scraper.pages("alerts.xml", None, state) for m in scraper.parse(p)]
    assert len(first) == 2 and state == {"etag": '"v1"'}
    assert [m for p in scraper.pages("alerts.xml", None, state) for m in scraper.parse(p)] == []
    httpserver.check_assertions()


def test_unwrap_redirect_leaves_other_links_alone():
    assert unwrap_redirect("https://www.google.com/url?q=https://a.example/x&sa=U") == "https://a.example/x"
    assert unwrap_redirect("https://evil.example/url?url=https://a.example") == "https://evil.example/url?url=https://a.example"
    assert unwrap_redirect("https://www.google.com/url?url=javascript:alert(1)") == "https://www.google.com/url?url=javascript:alert(1)"


def test_html_to_text():
    assert html_to_text("a&nbsp;b<p>c <b>d</b></p>") == "a b\nc d"


def test_registry_knows_the_sources():
    assert isinstance(get_scraper("feed"), FeedScraper)
    with pytest.raises(KeyError, match="known: appstore, bluesky, feed, googleplay, hackernews, mastodon, reddit, schemaorg, trustpilot"):
        get_scraper("myspace")


# -- the real captured payloads, when ../shared is there ----------------------

@pytest.mark.parametrize("name", ["search_by_date-stories.json", "search-stories.json"])
def test_real_hackernews_payloads(name):
    body = (shared_dir("real-payloads", "hackernews") / name).read_bytes()
    mentions = list(HackerNewsScraper().parse(page(body)))
    hits = json.loads(body)["hits"]
    assert len(mentions) == len(hits) > 0
    assert all(m.title and m.published_at.year >= 2007 for m in mentions)
    assert all("<" not in m.text for m in mentions)


def test_real_google_alerts_feed():
    body = (shared_dir("real-payloads", "feeds") / "google-alerts-atom-2019.xml").read_bytes()
    mentions = list(FeedScraper().parse(page(body)))
    assert len(mentions) == 20
    assert not any("google.com/url" in (m.url or "") for m in mentions)
    assert all("<b>" not in (m.title or "") for m in mentions)
