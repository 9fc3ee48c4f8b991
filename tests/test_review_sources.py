"""The four review sources: parsers on the project's fixtures, paging and incremental fetches through a real
local HTTP server, changed shapes, and every parser over ../shared's real payloads when present."""
import json
from datetime import datetime, timezone
from urllib.parse import parse_qs

import pytest
from werkzeug import Response

from scrapers.appstore import AppStoreScraper
from scrapers.base import Mention, Page, ParseError, merge_mentions
from scrapers.googleplay import GooglePlayScraper, rpc_form
from scrapers.http import HttpSettings, PoliteSession
from scrapers.http_errors import FatalHTTPError
from scrapers.schemaorg import SchemaOrgScraper
from scrapers.trustpilot import TrustpilotScraper

from conftest import fixture_bytes, shared_dir

UTC = timezone.utc


def page(body: bytes, url: str = "https://site.example/x", status: int = 200, **meta) -> Page:
    return Page(url=url, status=status, body=body, meta=meta)


def http() -> PoliteSession:
    return PoliteSession(HttpSettings(pace_seconds=0, max_retries=0))


def allow_robots(httpserver, ordered: bool = False) -> None:
    """robots.txt allowing all; asked once per session, before the first HTML page."""
    expect = httpserver.expect_ordered_request if ordered else httpserver.expect_request
    expect("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")


# -- Trustpilot ---------------------------------------------------------------------

def test_trustpilot_reads_next_data_whole_with_the_reply():
    mentions = list(TrustpilotScraper(base_url="https://tp.example").parse(page(fixture_bytes("trustpilot", "review-page1.html"))))
    assert len(mentions) == 2  # the teaser card repeating a review is not counted
    replied = mentions[1]
    assert replied == Mention(
        source="trustpilot", external_id="68a000000000000000000002",
        published_at=datetime(2026, 11, 22, 9, 15, 30, tzinfo=UTC),
        text="Quick delivery and the driver was very kind, thank you!",
        title=None,  # "Quick delivery and the driver was…" only repeats the text's opening
        url="https://tp.example/reviews/68a000000000000000000002", author="Jo B.", kind="review", rating=5.0,
        replied=True, language="en", reply_text="Thank you Jo, we passed it on to the driver!",
        replied_at=datetime(2026, 11, 22, 15, 0, tzinfo=UTC), raw=replied.raw,
    )
    first = mentions[0]
    assert (first.title, first.rating, first.replied, first.reply_text, first.replied_at) == (
        "Charged twice and no refund", 1.0, False, None, None)
    assert first.text == "Acme charged me twice & support never answered. <b>Awful</b>."  # as typed; escaped on output


def test_trustpilot_pages_until_the_last_page(httpserver):
    allow_robots(httpserver, ordered=True)
    path = "/review/acme.example"
    httpserver.expect_ordered_request(path, query_string={"sort": "recency", "languages": "all"}).respond_with_data(
        fixture_bytes("trustpilot", "review-page1.html"), content_type="text/html")
    httpserver.expect_ordered_request(path, query_string={"sort": "recency", "languages": "all", "page": "2"}).respond_with_data(
        fixture_bytes("trustpilot", "review-page2.html"), content_type="text/html")
    scraper = TrustpilotScraper(base_url=httpserver.url_for("/"), http=http())
    pages = list(scraper.pages("Acme.example", None, {}))
    ids = [m.external_id for p in pages for m in scraper.parse(p)]
    assert ids == ["68a000000000000000000003", "68a000000000000000000002", "68a000000000000000000001"]
    assert scraper.aggregate(pages[0]) == {"rating": 3.4, "count": 3, "best": 5, "name": "Acme"}
    httpserver.check_assertions()


def test_trustpilot_stops_at_the_cursor(httpserver):
    allow_robots(httpserver)
    httpserver.expect_request("/review/acme.example").respond_with_data(fixture_bytes("trustpilot", "review-page1.html"))
    scraper = TrustpilotScraper(base_url=httpserver.url_for("/"), http=http())
    pages = list(scraper.pages("acme.example", datetime(2026, 11, 23, tzinfo=UTC), {}))
    assert len(pages) == 1  # page 1 already reaches past the cursor: page 2 is not asked for
    assert [r.query_string for r, _ in httpserver.log if r.path.startswith("/review")] == [b"sort=recency&languages=all"]


def test_trustpilot_changed_page_and_robots(httpserver):
    with pytest.raises(ParseError, match="no __NEXT_DATA__"):
        list(TrustpilotScraper().parse(page(fixture_bytes("trustpilot", "block-page.html"))))
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /review/\n")
    scraper = TrustpilotScraper(base_url=httpserver.url_for("/"), http=http())
    with pytest.raises(FatalHTTPError, match="robots.txt disallows"):
        list(scraper.pages("acme.example", None, {}))
    with pytest.raises(ValueError, match="not a domain"):
        list(scraper.pages("https://acme.example/x", None, {}))


# -- App Store ----------------------------------------------------------------------

def test_appstore_feed_entries_with_and_without_dates():
    fetched = "2026-11-24T06:05:00+00:00"
    m = list(AppStoreScraper().parse(page(fixture_bytes("appstore", "feed-page1.json"), kind="feed", app="1234567890",
                                          country="us", fetched_at=fetched)))
    assert [(x.external_id, x.rating, x.app_version, x.kind) for x in m] == [
        ("9000000003", 1.0, "5.2.0", "review"), ("9000000002", 4.0, "5.1.0", "review")]
    assert m[0].published_at == datetime(2026, 11, 24, 5, 10, tzinfo=UTC) and not m[0].date_estimated
    assert m[1].published_at == datetime(2026, 11, 24, 6, 5, tzinfo=UTC) and m[1].date_estimated
    assert m[0].url == "https://apps.apple.com/us/app/id1234567890?see-all=reviews#review-9000000003"
    assert m[0].replied is None  # the feed does not say


def test_appstore_lone_entry_object_and_page_without_entry():
    single = list(AppStoreScraper().parse(page(fixture_bytes("appstore", "feed-page2-single-entry.json"), kind="feed")))
    assert [x.external_id for x in single] == ["9000000001"]
    assert list(AppStoreScraper().parse(page(fixture_bytes("appstore", "feed-empty.json"), kind="feed"))) == []


def test_appstore_reads_replies_then_feed_and_merges_them(httpserver):
    httpserver.expect_ordered_request(
        "/WebObjects/MZStore.woa/wa/userReviewsRow",
        query_string={"id": "1234567890", "displayable-kind": "11", "startIndex": "0", "endIndex": "100", "sort": "0",
                      "cc": "us"},
    ).respond_with_handler(lambda request: Response(
        fixture_bytes("appstore", "user-reviews-row.json") if "iTunes" in request.headers["User-Agent"] else b"<html>",
        content_type="application/json"))
    feed = "/us/rss/customerreviews/page={}/id=1234567890/sortby=mostrecent/json"
    httpserver.expect_ordered_request(feed.format(1)).respond_with_data(fixture_bytes("appstore", "feed-page1.json"))
    httpserver.expect_ordered_request(feed.format(2)).respond_with_data(fixture_bytes("appstore", "feed-page2-single-entry.json"))
    scraper = AppStoreScraper(base_url=httpserver.url_for("/"), http=http())
    pages = list(scraper.pages("1234567890@US", None, {}))
    httpserver.check_assertions()
    merged = {m.external_id: m for m in merge_mentions(m for p in pages for m in scraper.parse(p))}
    assert set(merged) == {"9000000003", "9000000002", "9000000001"}
    crash = merged["9000000003"]
    assert (crash.published_at, crash.app_version, crash.replied) == (datetime(2026, 11, 24, 5, 10, tzinfo=UTC), "5.2.0", False)
    answered = merged["9000000002"]
    assert (answered.published_at, answered.app_version, answered.replied, answered.reply_text, answered.replied_at) == (
        datetime(2026, 11, 20, 12, tzinfo=UTC), "5.1.0", True, "Dark mode ships next month. Thanks!",
        datetime(2026, 11, 21, 9, 30, tzinfo=UTC))
    assert not answered.date_estimated  # the dated sighting wins over the feed's estimate
    assert merged["9000000001"].replied is None  # only in the feed: we do not know


def test_appstore_stops_at_the_cursor_and_refuses_html(httpserver):
    feed = "/gb/rss/customerreviews/page=1/id=1234567890/sortby=mostrecent/json"
    httpserver.expect_request(feed).respond_with_data(fixture_bytes("appstore", "feed-page1.json"))
    scraper = AppStoreScraper(base_url=httpserver.url_for("/"), http=http(), replies=False)
    assert len(list(scraper.pages("1234567890@gb", datetime(2026, 11, 24, 6, tzinfo=UTC), {}))) == 1
    with pytest.raises(ParseError, match="answered HTML"):
        list(scraper.parse(page(fixture_bytes("appstore", "user-reviews-row-not-itunes.html"), kind="replies")))
    with pytest.raises(ParseError, match="no `feed` object"):
        list(scraper.parse(page(b'{"results": []}', kind="feed")))
    with pytest.raises(ValueError, match="app id"):
        list(scraper.pages("com.acme.app", None, {}))


# -- Google Play --------------------------------------------------------------------

def test_googleplay_reads_the_rpc_answer_whole():
    m = list(GooglePlayScraper(base_url="https://play.example").parse(
        page(fixture_bytes("googleplay", "batchexecute-page1.txt"), app="com.acme.app")))
    assert m[1] == Mention(
        source="googleplay", external_id="gp:AOqpTOH2", published_at=datetime(2026, 11, 19, 10, 20, tzinfo=UTC),
        text="Great tracking & quick couriers", url="https://play.example/store/apps/details?id=com.acme.app&reviewId=gp%3AAOqpTOH2",
        author="Lee", kind="review", rating=5.0, replied=True, reply_text="Thanks Lee!",
        replied_at=datetime(2026, 11, 19, 11, 20, tzinfo=UTC), app_version="5.1.0", raw=m[1].raw,
    )
    assert (m[0].rating, m[0].replied, m[0].reply_text, m[0].app_version) == (1.0, False, None, "5.2.0")


def test_googleplay_pages_by_token_until_it_runs_out(httpserver):
    forms = []

    def answer(request):
        form = parse_qs(request.get_data(as_text=True))
        forms.append((request.args.to_dict(), json.loads(json.loads(form["f.req"][0])[0][0][1])))
        name = "batchexecute-page1.txt" if len(forms) == 1 else "batchexecute-page2-last.txt"
        return Response(fixture_bytes("googleplay", name), content_type="application/json; charset=utf-8")

    httpserver.expect_request("/_/PlayStoreUi/data/batchexecute", method="POST").respond_with_handler(answer)
    scraper = GooglePlayScraper(base_url=httpserver.url_for("/"), http=http(), reviews_per_request=2)
    got = [m.external_id for p in scraper.pages("com.acme.app", None, {}) for m in scraper.parse(p)]
    assert got == ["gp:AOqpTOH3", "gp:AOqpTOH2", "gp:AOqpTOH1"]
    assert [f[0] for f in forms] == [{"hl": "en", "gl": "us"}] * 2
    assert forms[0][1] == [None, None, [2, 2, [2, None, None], None, []], ["com.acme.app", 7]]
    assert forms[1][1][2][2] == [2, None, "CpUBCpIBKm0KOfc7msyC_8z6rJielp7Fz8"]  # the token of page 1


def test_googleplay_stops_at_the_cursor(httpserver):
    httpserver.expect_request("/_/PlayStoreUi/data/batchexecute", method="POST").respond_with_data(
        fixture_bytes("googleplay", "batchexecute-page1.txt"))
    scraper = GooglePlayScraper(base_url=httpserver.url_for("/"), http=http())
    assert len(list(scraper.pages("com.acme.app", datetime(2026, 11, 20, tzinfo=UTC), {}))) == 1
    assert len(httpserver.log) == 1


def test_googleplay_empty_and_changed_answers():
    scraper = GooglePlayScraper()
    assert list(scraper.parse(page(fixture_bytes("googleplay", "batchexecute-no-reviews.txt")))) == []
    with pytest.raises(ParseError, match="did not understand"):
        list(scraper.parse(page(fixture_bytes("googleplay", "batchexecute-not-understood.txt"))))
    with pytest.raises(ParseError, match="the RPC changed"):
        list(scraper.parse(page(fixture_bytes("googleplay", "batchexecute-changed-shape.txt"))))
    with pytest.raises(ParseError, match="no review block"):
        list(scraper.parse(page(b"<html><body>Sign in</body></html>")))
    assert rpc_form("com.acme.app", 3, None)["f.req"].startswith('[[["UsvDTd",')


# -- schema.org ---------------------------------------------------------------------

def test_schemaorg_jsonld_reviews_replies_and_aggregate():
    scraper = SchemaOrgScraper()
    p = page(fixture_bytes("schemaorg", "product-jsonld.html"), url="https://shop.example.com/acme")
    bad, good = scraper.parse(p)
    assert (bad.external_id, bad.rating, bad.title, bad.author, bad.replied) == (
        "https://shop.example.com/acme#review-77", 1.8, "Broke after a week", "Dana", False)
    assert bad.text == "The locker app stopped working after a week & nobody answers. Disappointed."
    assert bad.published_at == datetime(2026, 11, 23, tzinfo=UTC)
    assert good.external_id.startswith("h:") and good.rating == 5.0  # 10 of 0..10
    assert (good.replied, good.reply_text, good.replied_at) == (True, "Thanks Robin!", datetime(2026, 11, 21, 10, tzinfo=UTC))
    assert good.published_at == datetime(2026, 11, 20, 7, 30, tzinfo=UTC)
    assert scraper.aggregate(p) == {"rating": 4.36, "count": 212, "best": 5, "name": "Acme locker subscription"}
    # A review without an id keeps the same id on every fetch, and another page's identical review another one.
    assert [m.external_id for m in scraper.parse(p)][1] == good.external_id
    other = page(fixture_bytes("schemaorg", "product-jsonld.html"), url="https://shop.example.com/acme-2")
    assert list(scraper.parse(other))[1].external_id != good.external_id


def test_schemaorg_microdata_and_rdfa():
    scraper = SchemaOrgScraper()
    micro = page(fixture_bytes("schemaorg", "product-microdata.html"))
    (m,) = scraper.parse(micro)
    assert (m.rating, m.author, m.title, m.text, m.replied) == (
        1.0, "Ann", "Too small", "My parcel did not fit in the locker, awful design.", None)
    assert scraper.aggregate(micro) == {"rating": 3.5, "count": 40, "best": 5, "name": "Acme locker"}
    (r,) = scraper.parse(page(fixture_bytes("schemaorg", "business-rdfa.html")))
    assert (r.rating, r.author, r.text, r.published_at) == (4.0, "Luc", "Friendly staff, short queue.",
                                                            datetime(2026, 11, 21, tzinfo=UTC))


def test_schemaorg_page_without_reviews_raises_and_304_is_quiet(httpserver):
    with pytest.raises(ParseError, match="no schema.org Review"):
        list(SchemaOrgScraper().parse(page(fixture_bytes("schemaorg", "no-markup.html"))))
    allow_robots(httpserver, ordered=True)
    body = fixture_bytes("schemaorg", "product-jsonld.html")
    httpserver.expect_ordered_request("/p/acme").respond_with_data(body, headers={"ETag": '"v1"'}, content_type="text/html")
    httpserver.expect_ordered_request("/p/acme", headers={"If-None-Match": '"v1"'}).respond_with_data("", status=304)
    scraper = SchemaOrgScraper(base_url=httpserver.url_for("/"), http=http())
    state: dict = {}
    first = [m for p in scraper.pages("p/acme", None, state) for m in scraper.parse(p)]
    assert len(first) == 2 and state == {"etag": '"v1"'}
    assert [m for p in scraper.pages("p/acme", None, state) for m in scraper.parse(p)] == []
    httpserver.check_assertions()


# -- the merge rule -----------------------------------------------------------------

def test_merge_keeps_the_first_sighting_and_fills_what_it_lacks():
    t = datetime(2026, 11, 24, tzinfo=UTC)
    first = Mention("appstore", "1", t, "text", rating=2.0, replied=False, raw={"a": 1})
    later = Mention("appstore", "1", datetime(2026, 11, 25, tzinfo=UTC), "other", app_version="5.0", replied=True,
                    raw={"a": 9, "b": 2})
    other = Mention("appstore", "2", t, "x")
    merged = merge_mentions([first, later, other])
    assert [m.external_id for m in merged] == ["1", "2"]
    assert (merged[0].published_at, merged[0].text, merged[0].replied, merged[0].app_version, merged[0].raw) == (
        t, "text", False, "5.0", {"a": 1, "b": 2})


def test_a_rating_outside_one_to_five_is_a_parse_error():
    with pytest.raises(ParseError, match="not between 1 and 5"):
        Mention("x", "1", datetime(2026, 11, 24, tzinfo=UTC), "t", rating=7.0)


# -- the real captured payloads, when ../shared is there ------------------------------

def test_real_trustpilot_page():
    body = (shared_dir("real-payloads", "trustpilot") / "review-page-studiosamo-it-2025-07.html").read_bytes()
    scraper = TrustpilotScraper()
    mentions = list(scraper.parse(page(body)))
    assert len(mentions) == 20 == len({m.external_id for m in mentions})  # 20 reviews, teasers not counted
    assert all(m.rating in (1, 2, 3, 4, 5) and m.language == "it" and m.replied is False for m in mentions)
    assert scraper.aggregate(page(body)) == {"rating": 4.6, "count": 43, "best": 5, "name": "Studio Samo"}


def test_real_appstore_feed():
    body = (shared_dir("real-payloads", "appstore") / "customerreviews-xcode-fr-page1-2021-01.json").read_bytes()
    mentions = list(AppStoreScraper().parse(page(body, kind="feed", app="497799835", country="fr")))
    assert len(mentions) == 50
    assert all(m.app_version and 1 <= m.rating <= 5 and m.date_estimated for m in mentions)


def test_real_googleplay_details_page():
    body = (shared_dir("real-payloads", "googleplay") / "details-page-igtv-2019.html").read_bytes()
    mentions = list(GooglePlayScraper().parse(page(body, app="com.instagram.igtv")))
    assert len(mentions) == 40
    assert all(m.external_id.startswith("gp:") and m.published_at.year == 2019 and m.text for m in mentions)


def test_real_schemaorg_product_page():
    body = (shared_dir("real-payloads", "schemaorg") / "etsy-listing-jsonld-2022.html").read_bytes()
    scraper = SchemaOrgScraper()
    mentions = list(scraper.parse(page(body)))
    assert len(mentions) == 4 and all(m.rating == 5.0 and m.author for m in mentions)
    assert all("&quot;" not in m.text for m in mentions)
    assert scraper.aggregate(page(body))["count"] == 1027


def test_a_googleplay_details_page_of_today_reads_every_review():
    """Today's form (data:[...], sideChannel: {}, UUID ids), written for this test after the 2026 pages: the
    block is found by its shape, read to its end whatever follows, beside decoy blocks."""
    mentions = list(GooglePlayScraper().parse(page(fixture_bytes("googleplay", "details-page-2026.html"),
                                                   app="com.acme.app")))
    assert len(mentions) == 20 and len({m.external_id for m in mentions}) == 20
    assert all(len(m.external_id) == 36 and m.external_id.count("-") == 4 for m in mentions)  # UUIDs
    assert all(m.published_at.year == 2026 and 1 <= m.rating <= 5 and m.text for m in mentions)
    replied = [m for m in mentions if m.reply_text]
    assert len(replied) == 7 and all(m.replied_at > m.published_at for m in replied)
