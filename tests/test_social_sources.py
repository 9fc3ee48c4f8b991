"""Social sources: parsers on the project's fixtures, Link-header paging and the cursor through a real local server,
changed shapes, and the real captured payloads when ../shared is present."""
import json
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
    assert len(list(scraper.pages("#acme", datetime(2026, 11, 23, 21, tzinfo=UTC), {}))) == 1
    assert len(httpserver.log) == 1


def test_mastodon_changed_answers_and_targets():
    with pytest.raises(ParseError, match="not a list of statuses"):
        list(MastodonScraper().parse(page(fixture_bytes("mastodon", "not-found.json"))))
    with pytest.raises(ParseError, match="lacks uri"):
        list(MastodonScraper().parse(page(b'[{"id": "1"}]')))
    with pytest.raises(ValueError, match="not a hashtag"):
        MastodonScraper.check_target("#acme app")
    assert MastodonScraper.check_target("#Acme") == "Acme"


def test_real_mastodon_tag_timeline():
    body = (shared_dir("real-payloads", "mastodon") / "tag-timeline-page1.json").read_bytes()
    mentions = list(MastodonScraper().parse(page(body)))
    assert len(mentions) == 10 and len({m.external_id for m in mentions}) == 10
    assert all(m.text.startswith("Toot number") and "<" not in m.text and m.author for m in mentions)


# -- Bluesky ------------------------------------------------------------------------

from werkzeug import Response  # noqa: E402

from scrapers.bluesky import BlueskyScraper, CredentialsRefused  # noqa: E402

CREDS = {"identifier": "acme-monitor.bsky.social", "app_password": "abcd-efgh-ijkl-mnop"}


def bluesky(httpserver, **kw):
    return BlueskyScraper(base_url=httpserver.url_for("/"), http=PoliteSession(HttpSettings(pace_seconds=0, max_retries=0)),
                          credentials=CREDS, **kw)


def test_bluesky_post_whole():
    (first, second) = BlueskyScraper(credentials=CREDS).parse(page(fixture_bytes("bluesky", "search-page1.json")))
    assert first == Mention(
        source="bluesky", external_id="at://did:plc:aaa111/app.bsky.feed.post/3mabc2",
        published_at=datetime(2026, 11, 23, 22, 41, 5, 120000, tzinfo=UTC),
        text="Acme app down for anyone else? Can't log in", url="https://bsky.app/profile/kim.bsky.social/post/3mabc2",
        author="kim.bsky.social", kind="post", language="en", raw=first.raw,
    )
    assert second.published_at == datetime(2026, 11, 23, 21, 0, 0, 123456, tzinfo=UTC)  # "+00:00" with microseconds


def test_bluesky_logs_in_pages_by_cursor_and_keeps_no_secret(httpserver):
    seen = []

    def search(request):
        seen.append((request.headers.get("Authorization"), request.args.get("cursor"), request.args.get("sort")))
        name = "search-page2.json" if request.args.get("cursor") else "search-page1.json"
        return Response(fixture_bytes("bluesky", name), content_type="application/json")

    httpserver.expect_request("/xrpc/com.atproto.server.createSession", method="POST",
                              json={"identifier": CREDS["identifier"], "password": CREDS["app_password"]}).respond_with_data(
        fixture_bytes("bluesky", "session.json"), content_type="application/json")
    httpserver.expect_request("/xrpc/app.bsky.feed.searchPosts").respond_with_handler(search)
    scraper = bluesky(httpserver)
    state: dict = {}
    pages = list(scraper.pages("Acme", None, state))
    mentions = [m for p in pages for m in scraper.parse(p)]
    assert [m.author for m in mentions] == ["kim.bsky.social", "lee.example.com", "max.bsky.social"]
    assert seen == [("Bearer access-1", None, "latest"), ("Bearer access-1", "eyJzIjpbMTc5NTQ2Nzk5MDAwMF19", "latest")]
    kept = repr(state) + repr(scraper) + "".join(p.url for p in pages) + "".join(repr(m.raw) for m in mentions)
    assert "access-1" not in kept and CREDS["app_password"] not in kept


def test_bluesky_refreshes_an_expired_token_once(httpserver):
    tokens = []

    def search(request):
        tokens.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") == "Bearer access-1":
            return Response(json.dumps({"error": "ExpiredToken", "message": "Token has expired"}), status=400,
                            content_type="application/json")
        return Response(fixture_bytes("bluesky", "search-page2.json"), content_type="application/json")

    httpserver.expect_request("/xrpc/com.atproto.server.createSession", method="POST").respond_with_data(
        fixture_bytes("bluesky", "session.json"), content_type="application/json")
    httpserver.expect_request("/xrpc/com.atproto.server.refreshSession", method="POST",
                              headers={"Authorization": "Bearer refresh-1"}).respond_with_json(
        {"accessJwt": "access-2", "refreshJwt": "refresh-2", "did": "did:plc:me", "handle": "acme-monitor.bsky.social"})
    httpserver.expect_request("/xrpc/app.bsky.feed.searchPosts").respond_with_handler(search)
    scraper = bluesky(httpserver)
    assert len([m for p in scraper.pages("Acme", None, {}) for m in scraper.parse(p)]) == 1
    assert tokens == ["Bearer access-1", "Bearer access-2"]


def test_bluesky_refused_credentials_say_so(httpserver):
    httpserver.expect_request("/xrpc/com.atproto.server.createSession", method="POST").respond_with_json(
        {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, status=401)
    with pytest.raises(CredentialsRefused, match="credentials refused"):
        list(bluesky(httpserver).pages("Acme", None, {}))
    with pytest.raises(ValueError, match="needs credentials"):
        BlueskyScraper()


def test_bluesky_stops_at_the_cursor_and_rejects_changed_shapes(httpserver):
    httpserver.expect_request("/xrpc/com.atproto.server.createSession", method="POST").respond_with_data(
        fixture_bytes("bluesky", "session.json"), content_type="application/json")
    httpserver.expect_request("/xrpc/app.bsky.feed.searchPosts").respond_with_data(
        fixture_bytes("bluesky", "search-page1.json"), content_type="application/json")
    scraper = bluesky(httpserver)
    assert len(list(scraper.pages("Acme", datetime(2026, 11, 23, 21, 30, tzinfo=UTC), {}))) == 1
    with pytest.raises(ParseError, match="no `posts` list"):
        list(scraper.parse(page(b'{"feed": []}')))
    with pytest.raises(ParseError, match="at:// uri"):
        list(scraper.parse(page(b'{"posts": [{"uri": "x", "record": {}}]}')))


def test_real_bluesky_search():
    body = (shared_dir("real-payloads", "bluesky") / "searchPosts-limit3-2026-08.json").read_bytes()
    mentions = list(BlueskyScraper(credentials=CREDS).parse(page(body)))
    assert len(mentions) == 3 and all(m.url.startswith("https://bsky.app/profile/") for m in mentions)
    assert [m.published_at.year for m in mentions] == [2026] * 3


# -- Reddit -------------------------------------------------------------------------

import base64  # noqa: E402

from scrapers.http_errors import CredentialsRefused as Refused, RetriableHTTPError  # noqa: E402
from scrapers.reddit import RedditScraper, parse_target  # noqa: E402

REDDIT = {"client_id": "cid", "client_secret": "csecret"}
BASIC = "Basic " + base64.b64encode(b"cid:csecret").decode()


def reddit(httpserver, sleeps=None, **kw):
    http = PoliteSession(HttpSettings(pace_seconds=0, max_retries=0), sleep=(sleeps.append if sleeps is not None else None) or (lambda s: None))
    return RedditScraper(base_url=httpserver.url_for("/api"), auth_url=httpserver.url_for("/auth"), http=http,
                         credentials=REDDIT, **kw)


def token_endpoint(httpserver, body="token.json"):
    httpserver.expect_request("/auth/api/v1/access_token", method="POST", headers={"Authorization": BASIC},
                              data="grant_type=client_credentials").respond_with_data(
        fixture_bytes("reddit", body), content_type="application/json")


def test_reddit_post_whole_and_targets():
    (first, _) = RedditScraper(credentials=REDDIT).parse(page(fixture_bytes("reddit", "new-page1.json")))
    assert first == Mention(
        source="reddit", external_id="t3_1x03", published_at=datetime(2026, 11, 23, 21, 0, tzinfo=UTC),
        text="Can't log in since last night & no reply from support.", title="Acme app down?",
        url="https://www.reddit.com/r/acme/comments/1x03/slug/", author="kim", kind="post", raw=first.raw)
    (comment,) = RedditScraper(credentials=REDDIT).parse(page(fixture_bytes("reddit", "comments.json")))
    assert (comment.kind, comment.title, comment.text) == ("comment", "Acme outage megathread", "Same here, refund still pending")
    assert parse_target("r/acme") == ("acme", None) and parse_target("r/acme: login down") == ("acme", "login down")
    assert parse_target("acme outage") == (None, "acme outage")
    with pytest.raises(ValueError):
        parse_target("r/")


def test_reddit_token_then_pages_by_after_with_comments(httpserver):
    token_endpoint(httpserver)
    seen = []

    def listing(request):
        seen.append((request.path, request.args.get("after"), request.headers.get("Authorization")))
        if request.path.endswith("/comments"):
            return Response(fixture_bytes("reddit", "comments.json"), content_type="application/json")
        name = "new-page2.json" if request.args.get("after") else "new-page1.json"
        return Response(fixture_bytes("reddit", name), content_type="application/json",
                        headers={"X-Ratelimit-Remaining": "598.0", "X-Ratelimit-Reset": "300"})

    httpserver.expect_request("/api/r/acme/new").respond_with_handler(listing)
    httpserver.expect_request("/api/r/acme/comments").respond_with_handler(listing)
    scraper = reddit(httpserver, comments=True)
    got = [m.external_id for p in scraper.pages("r/acme", None, {}) for m in scraper.parse(p)]
    assert got == ["t3_1x03", "t3_1x02", "t3_1x01", "t1_c9"]
    assert seen == [("/api/r/acme/new", None, "bearer tok-1"), ("/api/r/acme/new", "t3_1x02", "bearer tok-1"),
                    ("/api/r/acme/comments", None, "bearer tok-1")]
    assert "tok-1" not in repr(scraper) and "csecret" not in repr(scraper)


def test_reddit_asks_for_a_new_token_once_on_401(httpserver):
    tokens = iter(["tok-1", "tok-2"])
    httpserver.expect_request("/auth/api/v1/access_token", method="POST").respond_with_handler(
        lambda r: Response(json.dumps({"access_token": next(tokens)}), content_type="application/json"))
    httpserver.expect_request("/api/search", headers={"Authorization": "bearer tok-1"}).respond_with_data("", status=401)
    httpserver.expect_request("/api/search", headers={"Authorization": "bearer tok-2"}).respond_with_data(
        fixture_bytes("reddit", "new-page2.json"), content_type="application/json")
    scraper = reddit(httpserver)
    assert [m.external_id for p in scraper.pages("acme outage", None, {}) for m in scraper.parse(p)] == ["t3_1x01"]


def test_reddit_waits_for_the_rate_limit_reset_or_leaves_it_to_the_retry(httpserver):
    token_endpoint(httpserver)
    resets = iter(["7", "900"])
    httpserver.expect_request("/api/r/acme/new").respond_with_handler(
        lambda r: Response(fixture_bytes("reddit", "new-page2.json"), content_type="application/json",
                           headers={"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": next(resets)}))
    sleeps = []
    scraper = reddit(httpserver, sleeps=sleeps)
    assert len(list(scraper.pages("r/acme", None, {}))) == 1 and sleeps == [7.0]
    with pytest.raises(RetriableHTTPError, match="asks to wait 900 s"):
        list(scraper.pages("r/acme", None, {}))


def test_reddit_refused_credentials_and_changed_shape(httpserver):
    httpserver.expect_request("/auth/api/v1/access_token", method="POST").respond_with_data("", status=401)
    with pytest.raises(Refused, match="credentials refused"):
        list(reddit(httpserver).pages("r/acme", None, {}))
    with pytest.raises(ParseError, match="not a Listing"):
        list(RedditScraper(credentials=REDDIT).parse(page(b'{"message": "Forbidden", "error": 403}')))


def test_reddit_stops_at_the_cursor(httpserver):
    token_endpoint(httpserver)
    httpserver.expect_request("/api/r/acme/new").respond_with_data(fixture_bytes("reddit", "new-page1.json"))
    scraper = reddit(httpserver)
    assert len(list(scraper.pages("r/acme", datetime(2026, 11, 23, 20, tzinfo=UTC), {}))) == 1


def test_real_reddit_listing():
    body = (shared_dir("real-payloads", "reddit") / "askreddit-new-limit100-2016.json").read_bytes()
    mentions = list(RedditScraper(credentials=REDDIT).parse(page(body)))
    assert len(mentions) == 100 and all(m.external_id.startswith("t3_") and m.title for m in mentions)
    assert all(m.url.startswith("https://www.reddit.com/r/AskReddit/comments/") for m in mentions)


def test_mastodon_search_uses_the_token_and_pages_by_max_id(httpserver):
    seen = []

    def search(request):
        seen.append((request.headers.get("Authorization"), request.args.get("q"), request.args.get("max_id")))
        body = fixture_bytes("mastodon", "tag-timeline-page2.json" if request.args.get("max_id") else "tag-timeline-page1.json")
        return Response(json.dumps({"accounts": [], "hashtags": [], "statuses": json.loads(body)}),
                        content_type="application/json")

    httpserver.expect_request("/api/v2/search").respond_with_handler(search)
    scraper = MastodonScraper(base_url=httpserver.url_for("/"), http=PoliteSession(HttpSettings(pace_seconds=0)), limit=3,
                              credentials={"access_token": "tok-m"})
    got = [m for p in scraper.pages("acme outage", None, {}) for m in scraper.parse(p)]
    assert len(got) == 4 and "tok-m" not in repr(scraper)
    assert seen == [("Bearer tok-m", "acme outage", None), ("Bearer tok-m", "acme outage", "113000000000000002")]
    with pytest.raises(ValueError, match="needs MASTODON_ACCESS_TOKEN"):
        list(MastodonScraper(base_url=httpserver.url_for("/")).pages("acme outage", None, {}))
    assert MastodonScraper.credentials_for(["#acme"]) == () and MastodonScraper.credentials_for(["#acme", "q"]) == ("access_token",)


def test_mastodon_and_bluesky_wait_for_their_rate_limit_reset(httpserver):
    import time
    from datetime import timedelta

    sleeps = []
    http = PoliteSession(HttpSettings(pace_seconds=0, max_retries=0), sleep=sleeps.append)
    reset = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    httpserver.expect_request("/api/v1/timelines/tag/acme").respond_with_data(
        fixture_bytes("mastodon", "tag-timeline-page2.json"),
        headers={"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
    list(MastodonScraper(base_url=httpserver.url_for("/"), http=http).pages("#acme", None, {}))
    assert len(sleeps) == 1 and 25 < sleeps[0] <= 30

    httpserver.expect_request("/xrpc/com.atproto.server.createSession", method="POST").respond_with_data(
        fixture_bytes("bluesky", "session.json"), content_type="application/json")
    httpserver.expect_request("/xrpc/app.bsky.feed.searchPosts").respond_with_data(
        fixture_bytes("bluesky", "search-page2.json"), content_type="application/json",
        headers={"RateLimit-Limit": "3000", "RateLimit-Remaining": "0", "RateLimit-Reset": str(int(time.time()) + 20)})
    scraper = BlueskyScraper(base_url=httpserver.url_for("/"), http=http, credentials=CREDS)
    list(scraper.pages("Acme", None, {}))
    assert len(sleeps) == 2 and 15 < sleeps[1] <= 20


def test_credentials_from_a_prefect_secret_block(prefect_harness):
    import json as json_

    from prefect.blocks.system import Secret

    from flows.credentials import CredentialsConfig, MissingCredentials, resolve

    Secret(value=json_.dumps({"client_id": "cid", "client_secret": "csecret"})).save("reddit-test", overwrite=True)
    assert resolve("reddit", RedditScraper, CredentialsConfig(block="reddit-test")) == REDDIT
    Secret(value=json_.dumps({"client_id": "cid"})).save("reddit-half", overwrite=True)
    with pytest.raises(MissingCredentials, match="'reddit-half' lacks client_secret"):
        resolve("reddit", RedditScraper, CredentialsConfig(block="reddit-half"))
    with pytest.raises(MissingCredentials, match="'nope' could not be read"):
        resolve("reddit", RedditScraper, CredentialsConfig(block="nope"))
