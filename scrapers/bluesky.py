"""Bluesky: `app.bsky.feed.searchPosts`, newest first, with a session from an app password.

A target is a search query. Credentials: BLUESKY_IDENTIFIER (a handle or
email) and BLUESKY_APP_PASSWORD (an app password, not the account's). The
session lives in memory for one fetch: tokens never reach the cursor state,
the raw payloads or a log. An expired or refused access token is refreshed
once (`refreshSession`), then a new session is made; a refused login is
"credentials refused". A thin client on the polite session: the atproto SDK
brings its own HTTP client, retry rules and models for three calls.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar, Iterator
from urllib.parse import quote

from scrapers.base import (
    CursorState, JsonObject, Mention, Page, ParseError, Source, parse_iso_datetime, passed_cursor,
)
from scrapers.http import PoliteSession, RequestParams
from scrapers.http_errors import CredentialsRefused, FatalHTTPError
from scrapers.parsing import ParsedItems, read_items

DEFAULT_BASE_URL = "https://bsky.social"
WEB_URL = "https://bsky.app"


def _json(page: Page, what: str) -> JsonObject:
    try:
        data = json.loads(page.body)
    except ValueError as exc:
        raise ParseError(f"bluesky: {what} from {page.url} is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ParseError(f"bluesky: {what} from {page.url} is not an object")
    return data


class BlueskyScraper(Source):
    name: ClassVar[str] = "bluesky"
    default_base_url = DEFAULT_BASE_URL
    required_credentials: ClassVar[tuple[str, ...]] = ("identifier", "app_password")

    def __init__(self, base_url: str = DEFAULT_BASE_URL, http: PoliteSession | None = None,
                 credentials: dict[str, str] | None = None, limit: int = 100, max_pages: int = 20,
                 web_url: str = WEB_URL) -> None:
        if not credentials:
            raise ValueError("bluesky needs credentials (BLUESKY_IDENTIFIER, BLUESKY_APP_PASSWORD)")
        self.base_url = base_url.rstrip("/")
        self.http = http or PoliteSession()
        self._credentials = credentials
        self.limit = limit
        self.max_pages = max_pages
        self.web_url = web_url.rstrip("/")
        self._session: dict[str, str] | None = None

    def __repr__(self) -> str:  # never the secrets
        return f"BlueskyScraper(base_url={self.base_url!r})"

    # -- the session --------------------------------------------------------------

    def _login(self) -> None:
        try:
            page = self.http.post(f"{self.base_url}/xrpc/com.atproto.server.createSession",
                                  json_body={"identifier": self._credentials["identifier"],
                                             "password": self._credentials["app_password"]})
        except FatalHTTPError as exc:
            if exc.status in (400, 401, 403):
                raise CredentialsRefused(f"credentials refused: Bluesky did not accept BLUESKY_IDENTIFIER / "
                                         f"BLUESKY_APP_PASSWORD (HTTP {exc.status})", exc.url, exc.status) from None
            raise
        self._session = self._tokens(page)

    def _refresh(self) -> bool:
        """A fresh access token from the refresh token; False if that is refused too."""
        if not self._session:
            return False
        try:
            page = self.http.post(f"{self.base_url}/xrpc/com.atproto.server.refreshSession", json_body={},
                                  headers={"Authorization": f"Bearer {self._session['refreshJwt']}"})
        except FatalHTTPError as exc:
            if exc.status in (400, 401):
                return False
            raise
        self._session = self._tokens(page)
        return True

    def _tokens(self, page: Page) -> dict[str, str]:
        data = _json(page, "the session")
        if not data.get("accessJwt") or not data.get("refreshJwt"):
            raise ParseError(f"bluesky: the session answer from {page.url} has no accessJwt/refreshJwt")
        return {"accessJwt": data["accessJwt"], "refreshJwt": data["refreshJwt"]}

    def _search(self, params: RequestParams) -> Page:
        if self._session is None:
            self._login()
        for attempt in range(3):
            try:
                page = self.http.get(f"{self.base_url}/xrpc/app.bsky.feed.searchPosts", params=params,
                                     headers={"Authorization": f"Bearer {self._session['accessJwt']}"},  # type: ignore[index]
                                     meta={"cursor": params.get("cursor")})
                self.http.respect_rate_limit(page, "RateLimit-Remaining", "RateLimit-Reset", "epoch",
                                             "Bluesky's rate limit is used up")
                return page
            except FatalHTTPError as exc:
                # An expired token answers 400 ExpiredToken (or 401): refresh once, then log in anew.
                if exc.status not in (400, 401) or attempt == 2:
                    raise
                if attempt == 1 or not self._refresh():
                    self._login()
        raise AssertionError("unreachable")

    # -- the seam -----------------------------------------------------------------

    def pages(self, target: str, since: datetime | None, state: CursorState) -> Iterator[Page]:
        cursor: str | None = None
        for number in range(self.max_pages):
            params: RequestParams = {"q": target, "sort": "latest", "limit": self.limit}
            if cursor:
                params["cursor"] = cursor
            page = self._search(params)
            yield page
            data = _json(page, "searchPosts")
            mentions = list(self.parse(page))
            cursor = data.get("cursor")
            if not mentions or not cursor or passed_cursor(mentions, since):
                return

    def parse(self, page: Page) -> ParsedItems:
        data = _json(page, "searchPosts")
        if not isinstance(data.get("posts"), list):
            raise ParseError(f"bluesky: {page.url} has no `posts` list; the API answer changed")
        return read_items(page, data["posts"], lambda post: self._mention(post, page))

    def _mention(self, post: Any, page: Page) -> Mention:
        if not isinstance(post, dict):
            raise ParseError(f"bluesky: a post on {page.url} is not an object")
        uri, record, author = post.get("uri"), post.get("record") or {}, post.get("author") or {}
        if not uri or not str(uri).startswith("at://") or "createdAt" not in record:
            raise ParseError(f"bluesky: a post on {page.url} lacks an at:// uri or record.createdAt")
        rkey = str(uri).rsplit("/", 1)[-1]
        handle = author.get("handle") or str(uri).split("/")[2]  # the DID also makes a working profile link
        langs = record.get("langs") or []
        return Mention(
            source=self.name,
            external_id=str(uri),
            published_at=parse_iso_datetime(record["createdAt"], f"bluesky: post {uri}"),
            text=str(record.get("text") or ""),
            url=f"{self.web_url}/profile/{quote(handle, safe=':.')}/post/{quote(rkey)}",
            author=handle,
            kind="post",
            language=langs[0] if langs else None,
            raw={"uri": uri, "cid": post.get("cid"), "author": {"handle": author.get("handle"), "did": author.get("did"),
                                                                 "displayName": author.get("displayName")},
                 "record": {"text": record.get("text"), "createdAt": record.get("createdAt"), "langs": langs},
                 "indexedAt": post.get("indexedAt"), "likeCount": post.get("likeCount"),
                 "repostCount": post.get("repostCount"), "replyCount": post.get("replyCount")},
        )
