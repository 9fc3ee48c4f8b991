"""A loopback HTTP server that answers like the real sites, from the demo data (the pages: news_pages,
social_pages, review_pages).

- /hn/api/v1/search_by_date: Algolia's Hacker News API (query, tags,
  numericFilters on created_at_i, hitsPerPage/page, the 1000-hit paging cap).
- /webhook: a chat's incoming webhook, for Apprise's json:// (POST a push, GET the pushes received).
- /alerts/feeds/<brand>.xml: a Google Alerts Atom feed (google.com/url redirect links).
- /news/rss/search?q=<brand>: a Google News RSS search feed ("Headline - Publisher").
- /trustpilot/review/<domain>, /itunes/<cc>/rss/customerreviews/..., /itunes/WebObjects/MZStore.woa/wa/userReviewsRow,
  POST /play/_/PlayStoreUi/data/batchexecute, /shop/<brand>/product: the review sites (see review_pages).
Feeds and shop pages answer conditional GETs with 304.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator, Sequence
from urllib.parse import parse_qs, urlsplit

from flows.demo import review_pages
from flows.demo import news_pages, social_pages
from flows.demo.data import DemoItem
from flows.demo.review_data import DemoReview

_APPSTORE_FEED = re.compile(r"^/itunes/([a-z]{2})/rss/customerreviews/page=(\d+)/id=(\d+)/sortby=mostrecent/json$")


def _handler(items: Sequence[DemoItem], reviews: Sequence[DemoReview]) -> type[BaseHTTPRequestHandler]:
    by_app = {app: brand for brand, app in review_pages.APP_IDS.items()}
    by_play_id = {app: brand for brand, app in review_pages.PLAY_IDS.items()}
    received: list[dict] = []  # what was pushed to /webhook, in order (GET /webhook lists it)

    class Handler(BaseHTTPRequestHandler):
        server_version = "repwatch-demo/1"

        def log_message(self, format: str, *args: object) -> None:  # keep the demo's output readable
            pass

        def _send(self, status: int, body: bytes, ctype: str, etag: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def _feed(self, text: str, ctype: str) -> None:
            body = text.encode("utf-8")
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self._send(200, body, ctype, etag)

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            params = parse_qs(parts.query)
            base = f"http://{self.headers.get('Host', '127.0.0.1')}"
            try:
                if parts.path == "/robots.txt":
                    self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
                elif parts.path == "/webhook":
                    self._send(200, json.dumps(received).encode(), "application/json")
                elif parts.path == "/hn/api/v1/search_by_date":
                    self._send(200, json.dumps(news_pages.search_by_date(items, params)).encode(), "application/json")
                elif parts.path.startswith("/alerts/feeds/") and parts.path.endswith(".xml"):
                    slug = parts.path.rsplit("/", 1)[1][:-4]
                    brand = next((it.brand for it in items if it.brand.lower() == slug), None)
                    if brand is None:
                        self._send(404, b"no such alert", "text/plain")
                    else:
                        self._feed(news_pages.google_alerts_atom(items, brand, base), "application/atom+xml; charset=utf-8")
                elif parts.path == "/news/rss/search":
                    self._feed(news_pages.google_news_rss(items, params.get("q", [""])[0]), "application/rss+xml; charset=utf-8")
                elif parts.path.startswith("/trustpilot/review/"):
                    brand = review_pages.brand_for_domain(parts.path.rsplit("/", 1)[1])
                    if brand is None:
                        self._send(404, b"<html>Page not found</html>", "text/html")
                    else:
                        page_no = int(params.get("page", ["1"])[0])
                        body = review_pages.trustpilot_page(reviews, brand, page_no).encode()
                        self._send(200, body, "text/html; charset=utf-8")
                elif match := _APPSTORE_FEED.match(parts.path):
                    country, page_no, app = match.group(1), int(match.group(2)), match.group(3)
                    if app not in by_app or not 1 <= page_no <= review_pages.APPSTORE_MAX_PAGES:
                        self._send(400, b'{"error": "invalid request"}', "application/json")
                    else:
                        feed = review_pages.appstore_feed(reviews, by_app[app], app, country, page_no, base + "/itunes")
                        self._send(200, json.dumps(feed).encode(), "text/javascript; charset=utf-8")
                elif parts.path == "/itunes/WebObjects/MZStore.woa/wa/userReviewsRow":
                    brand = by_app.get(params.get("id", [""])[0])
                    if "iTunes" not in self.headers.get("User-Agent", ""):
                        self._send(200, b"<html><body>Connecting to the App Store...</body></html>", "text/html")
                    elif brand is None:
                        self._send(404, b"{}", "application/json")
                    else:
                        start, end = int(params["startIndex"][0]), int(params["endIndex"][0])
                        rows = review_pages.appstore_reviews_row(reviews, brand, params.get("cc", ["us"])[0], start, end)
                        self._send(200, json.dumps(rows).encode(), "application/json; charset=utf-8")
                elif parts.path.startswith("/shop/") and parts.path.endswith("/product"):
                    slug = parts.path.split("/")[2]
                    brand = next((b for b in review_pages.APP_IDS if b.lower() == slug), None)
                    if brand is None:
                        self._send(404, b"<html>no such shop</html>", "text/html")
                    else:
                        self._feed(review_pages.shop_page(reviews, brand), "text/html; charset=utf-8")
                elif parts.path.startswith("/reddit/api/"):
                    if self.headers.get("Authorization") != f"bearer {social_pages.REDDIT_TOKEN}":
                        self._send(401, b'{"message": "Unauthorized", "error": 401}', "application/json")
                        return
                    rest = parts.path[len("/reddit/api"):]
                    query = params.get("q", [""])[0] if rest == "/search" else rest.split("/")[2] if rest.startswith("/r/") else None
                    if query is None:
                        self._send(404, b'{"message": "Not Found", "error": 404}', "application/json")
                        return
                    listing = social_pages.reddit_listing(items, query, int(params.get("limit", ["25"])[0]),
                                                          params.get("after", [None])[0])
                    body = json.dumps(listing).encode()
                    self.send_response(200)
                    for name, value in (("Content-Type", "application/json; charset=UTF-8"),
                                        ("Content-Length", str(len(body))), ("X-Ratelimit-Remaining", "598.0"),
                                        ("X-Ratelimit-Used", "2"), ("X-Ratelimit-Reset", "420")):
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                elif parts.path.startswith("/mastodon/api/v1/timelines/tag/"):
                    tag = parts.path.rsplit("/", 1)[1]
                    statuses, link = social_pages.mastodon_tag(items, tag, int(params.get("limit", ["20"])[0]),
                                                               params.get("max_id", [None])[0], base, parts.path)
                    body = json.dumps(statuses).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    if link:
                        self.send_header("Link", link)
                    self.end_headers()
                    self.wfile.write(body)
                elif parts.path == "/bluesky/xrpc/app.bsky.feed.searchPosts":
                    if self.headers.get("Authorization") != f"Bearer {social_pages.BLUESKY_ACCESS}":
                        self._send(401, b'{"error": "AuthenticationRequired"}', "application/json")
                        return
                    found = social_pages.bluesky_search(items, params.get("q", [""])[0],
                                                        int(params.get("limit", ["25"])[0]), params.get("cursor", [None])[0])
                    self._send(200, json.dumps(found).encode(), "application/json; charset=utf-8")
                elif parts.path == "/hn/item":
                    wanted = params.get("id", [""])[0]
                    it = next((i for i in items if str(i.item_id) == wanted), None)
                    if it is None:
                        self._send(404, b"no such item", "text/plain")
                    else:
                        page = f"<!doctype html><title>{html.escape(it.title)}</title><p>{html.escape(it.text or it.title)}</p>"
                        self._send(200, page.encode(), "text/html; charset=utf-8")
                else:
                    self._send(404, b"not found", "text/plain")
            except ValueError as exc:
                self._send(400, json.dumps({"message": str(exc), "status": 400}).encode(), "application/json")

        def do_POST(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            answers = {
                "/reddit/auth/api/v1/access_token": lambda: social_pages.reddit_token(self.headers.get("Authorization", "")),
                "/bluesky/xrpc/com.atproto.server.createSession": lambda: social_pages.bluesky_session(raw),
            }
            if parts.path == "/webhook":  # the demo's chat: pushed alerts land here (Apprise json://)
                received.append(json.loads(raw or b"{}"))
                print(f"\n>>> pushed to the demo webhook: {received[-1].get('title')}\n{received[-1].get('message')}\n",
                      flush=True)
                self._send(200, b"{}", "application/json")
                return
            if parts.path in answers:
                status, answer = answers[parts.path]()
                self._send(status, json.dumps(answer).encode(), "application/json; charset=utf-8")
                return
            form = parse_qs(raw.decode("utf-8"))
            if parts.path != "/play/_/PlayStoreUi/data/batchexecute":
                self._send(404, b"not found", "text/plain")
                return
            try:
                envelope = json.loads(form["f.req"][0])
                rpc, inner = envelope[0][0][0], json.loads(envelope[0][0][1])
                count, token = inner[2][2][0], inner[2][2][2]
                brand = by_play_id.get(inner[3][0])
            except (KeyError, IndexError, TypeError, ValueError):
                self._send(400, b")]}'\n\n[[\"er\",null,null,null,null,400]]", "application/json; charset=utf-8")
                return
            if rpc != "UsvDTd" or brand is None:
                body = ")]}'\n\n" + json.dumps([["wrb.fr", rpc, None, None, None, [3], "generic"]])
            else:
                body = review_pages.play_batchexecute(reviews, brand, count, token)
            self._send(200, body.encode(), "application/json; charset=utf-8")

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
