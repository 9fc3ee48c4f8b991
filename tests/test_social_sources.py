"""Social sources: parsers on the project's fixtures, Link-header paging and the cursor through a real local server,
changed shapes, and the real captured payloads when ../shared is present."""
from datetime import datetime, timezone

import pytest

from scrapers.base import Mention, Page, ParseError, merge_mentions
from scrapers.http import HttpSettings, PoliteSession
from scrapers.mastodon import MastodonScraper, next_link

from conftest import fixture_bytes, shared_dir

UTC = timezone.utc


def page(body: bytes, url: str = "https://social.example/api/v1/timelines/tag/acme", **headers) -> Page:
    return Page(url=url, status=200, body=body, headers=headers)


def test_mastodon_status_whole_and_boosts_are_the_boosted_status():
    mentions = list(MastodonScraper().parse(page(fixture_bytes("mastodon", "tag-timeline-page1.json"))))
    boosted, original, warned = mentions
    assert original == Mention(
        source="mastodon", external_id="https://social.example/users/user2/statuses/113000000000000003",
        published_at=datetime(2026, 11, 23, 22, 41, 5, 120000, tzinfo=UTC),
        text="The #acme app is down again & support is silent.\nSecond night in a row.",
        title=None, url="https://social.example/@user2/113000000000000003", author="user2@social.example",
        kind="post", language="en", raw=original.raw,
    )
    assert boosted.external_id == original.external_id and boosted.raw["boosted_by"] == "user3@social.example"
    assert len(merge_mentions(mentions)) == 2  # a boost is not a second mention
    assert (warned.title, warned.text) == ("acme rant", "Lost parcel rant, long")


def test_mastodon_pages_by_link_header_until_the_end(httpserver):
    older = httpserver.url_for("/api/v1/timelines/tag/acme") + "?limit=3&max_id=113000000000000002"
    httpserver.expect_ordered_request("/api/v1/timelines/tag/acme", query_string={"limit": "3"}).respond_with_data(
        fixture_bytes("mastodon", "tag-timeline-page1.json"), content_type="application/json",
        headers={"Link": f'<{older}>; rel="next", <{httpserver.url_for("/x")}?min_id=4>; rel="prev"'})
    httpserver.expect_ordered_request("/api/v1/timelines/tag/acme",
                                      query_string={"limit": "3", "max_id": "113000000000000002"}).respond_with_data(
        fixture_bytes("mastodon", "tag-timeline-page2.json"), content_type="application/json")
    scraper = MastodonScraper(base_url=httpserver.url_for("/"), http=PoliteSession(HttpSettings(pace_seconds=0)), limit=3)
    pages = list(scraper.pages("#acme", None, {}))
    httpserver.check_assertions()
    assert [len(list(scraper.parse(p))) for p in pages] == [3, 1]
    assert next_link(pages[0]) == older and next_link(pages[1]) is None


def test_mastodon_stops_at_the_cursor(httpserver):
    httpserver.expect_request("/api/v1/timelines/tag/acme").respond_with_data(
        fixture_bytes("mastodon", "tag-timeline-page1.json"),
        headers={"Link": f'<{httpserver.url_for("/api/v1/timelines/tag/acme")}?max_id=1>; rel="next"'})
    scraper = MastodonScraper(base_url=httpserver.url_for("/"), http=PoliteSession(HttpSettings(pace_seconds=0)))
    assert len(list(scraper.pages("acme", datetime(2026, 11, 23, 21, tzinfo=UTC), {}))) == 1
    assert len(httpserver.log) == 1


def test_mastodon_changed_answers_and_targets():
    with pytest.raises(ParseError, match="not a list of statuses"):
        list(MastodonScraper().parse(page(fixture_bytes("mastodon", "not-found.json"))))
    with pytest.raises(ParseError, match="lacks uri"):
        list(MastodonScraper().parse(page(b'[{"id": "1"}]')))
    with pytest.raises(ValueError, match="not a hashtag"):
        MastodonScraper.check_target("acme app")
    assert MastodonScraper.check_target("#Acme") == "Acme"


def test_real_mastodon_tag_timeline():
    body = (shared_dir("real-payloads", "mastodon") / "tag-timeline-page1.json").read_bytes()
    mentions = list(MastodonScraper().parse(page(body)))
    assert len(mentions) == 10 and len({m.external_id for m in mentions}) == 10
    assert all(m.text.startswith("Toot number") and "<" not in m.text and m.author for m in mentions)
