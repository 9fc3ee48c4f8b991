"""A loopback HTTP server that answers like the real sites, from the demo data (the pages: news_pages,
social_pages, review_pages).

- /hn/api/v1/search_by_date: Algolia's Hacker News API (query, tags,
  numericFilters on created_at_i, hitsPerPage/page, the 1000-hit paging cap).
- /webhook: a chat's incoming webhook, for Apprise's json:// (POST a push, GET the pushes received).
- /alerts/feeds/<brand>.xml: a Google Alerts Atom feed (google.com/url redirect links).
- /news/rss/search?q=<brand>: a Google News RSS search feed ("Headline - Publisher").
- /trustpilot/review/<domain>, /itunes/<cc>/rss/customerreviews/..., /itunes/WebObjects/MZStore.woa/wa/userReviewsRow,
  POST /play/_/PlayStoreUi/data/batchexecute, /shop/<brand>/product: the review sites (see review_pages).
Feeds and shop pages answer conditional GETs with 304. Each path is a route (pattern -> handler) in ROUTES.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator, Sequence
from urllib.parse import parse_qs, urlsplit

from flows.demo import news_pages, review_pages, social_pages
from flows.demo.data import DemoItem
from flows.demo.review_data import DemoReview

JSON = "application/json; charset=utf-8"
Params = dict[str, list[str]]


def _first(params: Params, name: str, default: str | None = "") -> str | None:
    return params.get(name, [default])[0]


def _handler(items: Sequence[DemoItem], reviews: Sequence[DemoReview]) -> type[BaseHTTPRequestHandler]:
    by_app = {app: brand for brand, app in review_pages.APP_IDS.items()}
    by_play_id = {app: brand for brand, app in review_pages.PLAY_IDS.items()}
    received: list[dict] = []  # what was pushed to /webhook, in order (GET /webhook lists it)

    class Handler(BaseHTTPRequestHandler):
        server_version = "repwatch-demo/1"

        def log_message(self, format: str, *args: object) -> None:  # keep the demo's output readable
            pass

        def _send(self, status: int, body: bytes, ctype: str, headers: Sequence[tuple[str, str]] = ()) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, value: object, status: int = 200, headers: Sequence[tuple[str, str]] = ()) -> None:
            self._send(status, json.dumps(value).encode(), JSON, headers)

        def _feed(self, text: str, ctype: str) -> None:
            body = text.encode("utf-8")
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self._send(200, body, ctype, [("ETag", etag)])

        # -- GET routes: each takes the path's match, the query and the server's base URL -----------------

        def robots(self, match: re.Match[str], params: Params, base: str) -> None:
            self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")

        def webhook_log(self, match: re.Match[str], params: Params, base: str) -> None:
            self._json(received)

        def hn_search(self, match: re.Match[str], params: Params, base: str) -> None:
            self._json(news_pages.search_by_date(items, params))

        def hn_item(self, match: re.Match[str], params: Params, base: str) -> None:
            it = next((i for i in items if str(i.item_id) == _first(params, "id")), None)
            if it is None:
                self._send(404, b"no such item", "text/plain")
                return
            page = f"<!doctype html><title>{html.escape(it.title)}</title><p>{html.escape(it.text or it.title)}</p>"
            self._send(200, page.encode(), "text/html; charset=utf-8")

        def google_alerts(self, match: re.Match[str], params: Params, base: str) -> None:
            brand = next((it.brand for it in items if it.brand.lower() == match["slug"]), None)
            if brand is None:
                self._send(404, b"no such alert", "text/plain")
            else:
                self._feed(news_pages.google_alerts_atom(items, brand, base), "application/atom+xml; charset=utf-8")

        def google_news(self, match: re.Match[str], params: Params, base: str) -> None:
            self._feed(news_pages.google_news_rss(items, _first(params, "q") or ""), "application/rss+xml; charset=utf-8")

        def trustpilot(self, match: re.Match[str], params: Params, base: str) -> None:
            brand = review_pages.brand_for_domain(match["domain"])
            if brand is None:
                self._send(404, b"<html>Page not found</html>", "text/html")
                return
            body = review_pages.trustpilot_page(reviews, brand, int(_first(params, "page", "1") or 1)).encode()
            self._send(200, body, "text/html; charset=utf-8")

        def appstore_feed(self, match: re.Match[str], params: Params, base: str) -> None:
            country, page_no, app = match["cc"], int(match["page"]), match["app"]
            if app not in by_app or not 1 <= page_no <= review_pages.APPSTORE_MAX_PAGES:
                self._send(400, b'{"error": "invalid request"}', "application/json")
                return
            feed = review_pages.appstore_feed(reviews, by_app[app], app, country, page_no, base + "/itunes")
            self._send(200, json.dumps(feed).encode(), "text/javascript; charset=utf-8")

        def appstore_reviews(self, match: re.Match[str], params: Params, base: str) -> None:
            brand = by_app.get(_first(params, "id") or "")
            if "iTunes" not in self.headers.get("User-Agent", ""):
                self._send(200, b"<html><body>Connecting to the App Store...</body></html>", "text/html")
            elif brand is None:
                self._send(404, b"{}", "application/json")
            else:
                start, end = int(params["startIndex"][0]), int(params["endIndex"][0])
                self._json(review_pages.appstore_reviews_row(reviews, brand, _first(params, "cc", "us"), start, end))

        def shop(self, match: re.Match[str], params: Params, base: str) -> None:
            brand = next((b for b in review_pages.APP_IDS if b.lower() == match["slug"]), None)
            if brand is None:
                self._send(404, b"<html>no such shop</html>", "text/html")
            else:
                self._feed(review_pages.shop_page(reviews, brand), "text/html; charset=utf-8")

        def reddit(self, match: re.Match[str], params: Params, base: str) -> None:
            if self.headers.get("Authorization") != f"bearer {social_pages.REDDIT_TOKEN}":
                self._json({"message": "Unauthorized", "error": 401}, 401)
                return
            rest = match["rest"]
            query = _first(params, "q") if rest == "/search" else rest.split("/")[2] if rest.startswith("/r/") else None
            if query is None:
                self._json({"message": "Not Found", "error": 404}, 404)
                return
            listing = social_pages.reddit_listing(items, query, int(_first(params, "limit", "25") or 25),
                                                  _first(params, "after", None))
            self._json(listing, headers=[("X-Ratelimit-Remaining", "598.0"), ("X-Ratelimit-Used", "2"),
                                         ("X-Ratelimit-Reset", "420")])

        def mastodon(self, match: re.Match[str], params: Params, base: str) -> None:
            statuses, link = social_pages.mastodon_tag(items, match["tag"], int(_first(params, "limit", "20") or 20),
                                                       _first(params, "max_id", None), base, match[0])
            self._json(statuses, headers=[("Link", link)] if link else [])

        def bluesky(self, match: re.Match[str], params: Params, base: str) -> None:
            if self.headers.get("Authorization") != f"Bearer {social_pages.BLUESKY_ACCESS}":
                self._json({"error": "AuthenticationRequired"}, 401)
                return
            self._json(social_pages.bluesky_search(items, _first(params, "q") or "", int(_first(params, "limit", "25") or 25),
                                                   _first(params, "cursor", None)))

        ROUTES: Sequence[tuple[re.Pattern[str], Callable[..., None]]] = [
            (re.compile(r"/robots\.txt"), robots),
            (re.compile(r"/webhook"), webhook_log),
            (re.compile(r"/hn/api/v1/search_by_date"), hn_search),
            (re.compile(r"/hn/item"), hn_item),
            (re.compile(r"/alerts/feeds/(?P<slug>[^/]+)\.xml"), google_alerts),
            (re.compile(r"/news/rss/search"), google_news),
            (re.compile(r"/trustpilot/review/(?:.*/)?(?P<domain>[^/]+)"), trustpilot),
            (re.compile(r"/itunes/(?P<cc>[a-z]{2})/rss/customerreviews/page=(?P<page>\d+)/id=(?P<app>\d+)"
                        r"/sortby=mostrecent/json"), appstore_feed),
            (re.compile(r"/itunes/WebObjects/MZStore\.woa/wa/userReviewsRow"), appstore_reviews),
            (re.compile(r"/shop/(?P<slug>[^/]+)(?:/.*)?/product"), shop),
            (re.compile(r"/reddit/api(?P<rest>/.*)"), reddit),
            (re.compile(r"/mastodon/api/v1/timelines/tag/(?:.*/)?(?P<tag>[^/]*)"), mastodon),
            (re.compile(r"/bluesky/xrpc/app\.bsky\.feed\.searchPosts"), bluesky),
        ]

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            base = f"http://{self.headers.get('Host', '127.0.0.1')}"
            for pattern, route in self.ROUTES:
                match = pattern.fullmatch(parts.path)
                if match:
                    try:
                        route(self, match, parse_qs(parts.query), base)
                    except ValueError as exc:
                        self._json({"message": str(exc), "status": 400}, 400)
                    return
            self._send(404, b"not found", "text/plain")

        # -- POST routes ------------------------------------------------------------------------------------

        def webhook_push(self, raw: bytes) -> None:
            """The demo's chat: pushed alerts land here (Apprise json://)."""
            received.append(json.loads(raw or b"{}"))
            print(f"\n>>> pushed to the demo webhook: {received[-1].get('title')}\n{received[-1].get('message')}\n",
                  flush=True)
            self._send(200, b"{}", "application/json")

        def reddit_token(self, raw: bytes) -> None:
            status, answer = social_pages.reddit_token(self.headers.get("Authorization", ""))
            self._json(answer, status)

        def bluesky_session(self, raw: bytes) -> None:
            status, answer = social_pages.bluesky_session(raw)
            self._json(answer, status)

        def play_batch(self, raw: bytes) -> None:
            form = parse_qs(raw.decode("utf-8"))
            try:
                envelope = json.loads(form["f.req"][0])
                rpc, inner = envelope[0][0][0], json.loads(envelope[0][0][1])
                count, token = inner[2][2][0], inner[2][2][2]
                brand = by_play_id.get(inner[3][0])
            except (KeyError, IndexError, TypeError, ValueError):
                self._send(400, b")]}'\n\n[[\"er\",null,null,null,null,400]]", JSON)
                return
            if rpc != "UsvDTd" or brand is None:
                body = ")]}'\n\n" + json.dumps([["wrb.fr", rpc, None, None, None, [3], "generic"]])
            else:
                body = review_pages.play_batchexecute(reviews, brand, count, token)
            self._send(200, body.encode(), JSON)

        POSTS: dict[str, Callable[..., None]] = {
            "/webhook": webhook_push,
            "/reddit/auth/api/v1/access_token": reddit_token,
            "/bluesky/xrpc/com.atproto.server.createSession": bluesky_session,
            "/play/_/PlayStoreUi/data/batchexecute": play_batch,
        }

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            route = self.POSTS.get(urlsplit(self.path).path)
            if route is None:
                self._send(404, b"not found", "text/plain")
            else:
                route(self, raw)

    return Handler


@contextmanager
def serve(items: Sequence[DemoItem], reviews: Sequence[DemoReview] = (), port: int = 0) -> Iterator[str]:
    """Serve the demo data on 127.0.0.1 (a free port by default); yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(items, reviews))
    thread = threading.Thread(target=server.serve_forever, name="repwatch-demo-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
